//! `comity rules`: show the rules catalogue in force.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use comity_core::Catalogue;
use comity_node::wire::{MechanismList, MechanismView};

/// Where the catalogue comes from.
#[derive(Debug, Args)]
pub struct Source {
    /// Read the catalogue in force on this node (its override, or the shipped one).
    #[arg(long, conflicts_with = "catalogue")]
    dir: Option<PathBuf>,
    /// Read this catalogue file instead of the shipped one.
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// Print JSON (the same as GET /api/v1/mechanisms).
    #[arg(long)]
    json: bool,
}

/// `comity rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every mechanism with its fields, clocks, refusal grounds and citations.
    List(Source),
    /// One mechanism.
    Show {
        /// Mechanism id, for example `expedited-preservation`.
        mechanism: String,
        #[command(flatten)]
        source: Source,
    },
}

fn load(source: &Source) -> anyhow::Result<Catalogue> {
    if let Some(dir) = &source.dir {
        return Ok(comity_node::config::open(dir)?.catalogue()?);
    }
    match &source.catalogue {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read catalogue `{}`", path.display()))?;
            Catalogue::parse(&text).with_context(|| format!("catalogue `{}`", path.display()))
        }
        None => Ok(Catalogue::embedded()?),
    }
}

fn list(catalogue: &Catalogue) -> MechanismList {
    MechanismList {
        catalogue_version: catalogue.version.clone(),
        source: catalogue.source.clone(),
        mechanisms: catalogue
            .mechanisms
            .iter()
            .map(|m| MechanismView::new(m, catalogue))
            .collect(),
        excluded_grounds: catalogue
            .refusal_grounds
            .iter()
            .filter(|g| !g.permitted)
            .map(comity_node::wire::RefusalGroundView::from)
            .collect(),
    }
}

fn cites(list: &[comity_node::wire::CitationView]) -> String {
    list.iter()
        .map(|c| format!("{} Art {} [{}]", c.instrument, c.article, c.verification))
        .collect::<Vec<_>>()
        .join("; ")
}

fn print(m: &MechanismView) {
    println!("{}  {}", m.id, m.title);
    println!("  basis       {}", cites(&m.citations));
    println!(
        "  lifecycle   {}{}",
        m.lifecycle,
        if m.authorisation_required {
            ", judicial authorisation required before sending"
        } else {
            ""
        }
    );
    println!("  fields      {}", m.required_fields.join(", "));
    if !m.data_categories.is_empty() {
        println!("  data        {}", m.data_categories.join(", "));
    }
    for c in &m.clocks {
        println!(
            "  clock       {} {} ({}, under {}): {} [{}]",
            c.kind,
            c.duration,
            c.urgency,
            c.instruments.join("/"),
            c.title,
            cites(&c.citations)
        );
    }
    for g in &m.refusal_grounds {
        println!(
            "  refusal     {}: {} [{}]",
            g.id,
            g.title,
            cites(&g.citations)
        );
    }
}

pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List(source) => {
            let all = list(&load(&source)?);
            if source.json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                println!("rules catalogue {} ({})", all.catalogue_version, all.source);
                println!(
                    "tags: V verified in the authentic text, S secondary source, T modelled on UNTOC Art 18, U unverified\n"
                );
                for m in &all.mechanisms {
                    print(m);
                    println!();
                }
                for g in &all.excluded_grounds {
                    println!(
                        "never a ground for refusal: {} [{}]",
                        g.title,
                        cites(&g.citations)
                    );
                }
            }
        }
        RulesCommand::Show { mechanism, source } => {
            let catalogue = load(&source)?;
            let Some(m) = catalogue.mechanism(&mechanism) else {
                let known: Vec<_> = catalogue.mechanisms.iter().map(|m| m.id.as_str()).collect();
                anyhow::bail!(
                    "`{mechanism}` is not a mechanism; use one of: {}",
                    known.join(", ")
                );
            };
            let view = MechanismView::new(m, &catalogue);
            if source.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print(&view);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
