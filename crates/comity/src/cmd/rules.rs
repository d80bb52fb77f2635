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
    /// Check a request document against the treaties and both States' profiles, as `send` would.
    Check {
        /// The request document, JSON (the RequestInput schema).
        file: PathBuf,
        /// The requested State (overrides the document's `requested_state`).
        #[arg(long)]
        to: String,
        /// The requesting State (default: the node's, with --dir).
        #[arg(long)]
        from: Option<String>,
        /// Kind of the sending authority.
        #[arg(long, default_value = "central-authority")]
        from_kind: String,
        /// Kind of the addressee (default: the usual one for the mechanism).
        #[arg(long)]
        to_kind: Option<String>,
        /// Role of the issuer (judge, court, prosecutor, investigating-authority, other).
        #[arg(long, default_value = "investigating-authority")]
        issuer: String,
        /// A judicial authorisation is recorded.
        #[arg(long)]
        authorised: bool,
        #[command(flatten)]
        source: Source,
    },
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
            let all = MechanismList::new(&load(&source)?);
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
        RulesCommand::Check {
            file,
            to,
            from,
            from_kind,
            to_kind,
            issuer,
            authorised,
            source,
        } => {
            return check(
                &file, &to, from, &from_kind, to_kind, &issuer, authorised, &source,
            );
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

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per command-line flag"
)]
fn check(
    file: &std::path::Path,
    to: &str,
    from: Option<String>,
    from_kind: &str,
    to_kind: Option<String>,
    issuer: &str,
    authorised: bool,
    source: &Source,
) -> anyhow::Result<ExitCode> {
    use comity_core::safeguards::{self, Sending};
    use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
    let catalogue = load(source)?;
    let rules =
        comity_node::safeguards::Safeguards::embedded(&catalogue).map_err(anyhow::Error::msg)?;
    let from = match (from, &source.dir) {
        (Some(f), _) => IsoCountry::parse(&f)?,
        (None, Some(dir)) => comity_node::config::open(dir)?.identity.state,
        (None, None) => {
            anyhow::bail!("say which State sends the request with --from CC (or --dir NODE)")
        }
    };
    let to = IsoCountry::parse(to)?;
    let mut input: comity_node::wire::RequestInput = super::request::read_json(file)?;
    input.requested_state = to.to_string();
    let own = match &input.requesting_authority {
        Some(a) => AuthorityId::parse(a)?,
        None => AuthorityId::parse("requesting-authority")?,
    };
    let doc = input.into_document(&own, &catalogue).map_err(|problems| {
        anyhow::anyhow!(
            "{}",
            problems
                .iter()
                .map(|p| format!("{}: {}", p.pointer, p.message))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let from_kind: AuthorityKind = from_kind.parse()?;
    let to_kind: AuthorityKind = match to_kind {
        Some(k) => k.parse()?,
        None => catalogue
            .mechanism(&doc.mechanism)
            .map_or(AuthorityKind::CentralAuthority, |m| m.addressed_to),
    };
    let issuer = issuer.parse()?;
    let sending = Sending {
        from_kind,
        to_kind,
        issuer,
        validated_by: authorised.then_some(safeguards::IssuerRole::Judge),
        judicial_authorisation: authorised,
    };
    let findings = rules.outgoing(&doc, &catalogue, from, &sending);
    let blocked = safeguards::blocks(&findings);
    if source.json {
        let views: Vec<_> = findings
            .iter()
            .map(comity_node::safeguards::FindingView::from)
            .collect();
        println!("{}", serde_json::to_string_pretty(&views)?);
    } else {
        println!(
            "{} from {from} to {to} ({from_kind} -> {to_kind}):",
            doc.mechanism
        );
        for f in &findings {
            println!("  {f}");
        }
        if findings.is_empty() {
            println!("  no findings");
        }
        println!(
            "{}",
            if blocked {
                "blocked: sending would be refused"
            } else {
                "may be sent"
            }
        );
    }
    Ok(if blocked {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
