//! `comity case` and `comity request`: the same operations as the API, on a node directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use comity_node::records::{
    ConsentInput, NoticeInput, OnwardUseInput, RecipientInput, ValidationInput,
};
use comity_node::safeguards::ChecklistAnswerInput;
use comity_node::service::{ListQuery, ServiceError};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput, RequestView, TransitionInput};
use serde::de::DeserializeOwned;

/// The node to act on and who acts.
#[derive(Debug, Args)]
pub struct On {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// Who acts (recorded in the event), default the login name.
    #[arg(long, env = "USER", default_value = "operator")]
    actor: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The node's database, if not the one its config names: `postgres://user@host:port/dbname` or `sqlite:PATH`.
    #[arg(long, env = "COMITY_DATABASE", hide_env_values = true)]
    database: Option<String>,
}

/// `comity case` subcommands.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case.
    New {
        #[command(flatten)]
        on: On,
        /// The authority's own case reference (unique).
        #[arg(long)]
        reference: String,
        /// Title.
        #[arg(long)]
        title: String,
    },
    /// List cases, newest first.
    List {
        #[command(flatten)]
        on: On,
    },
}

/// `comity request` subcommands.
#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Create a request in draft from a JSON document (see GET /openapi.json, schema RequestInput).
    New {
        #[command(flatten)]
        on: On,
        /// The case it belongs to.
        #[arg(long)]
        case: String,
        /// The request document, JSON.
        #[arg(long)]
        file: PathBuf,
    },
    /// Show a request with its events and clocks.
    Show {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
    },
    /// List requests.
    List {
        #[command(flatten)]
        on: On,
        /// Soonest running clock first (only requests with one).
        #[arg(long)]
        due: bool,
        /// Only this state.
        #[arg(long)]
        state: Option<String>,
        /// Only this mechanism.
        #[arg(long)]
        mechanism: Option<String>,
        /// Only this case.
        #[arg(long)]
        case: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Take a lifecycle step: send, receive, execute, refuse, postpone, ...
    Transition {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
        /// The action, for example `send`.
        action: String,
        /// Why (required to refuse, postpone, consult, withdraw, ...).
        #[arg(long)]
        reason: Option<String>,
        /// A refusal ground id (repeat for several).
        #[arg(long = "ground")]
        grounds: Vec<String>,
        /// With `send`: the issuer's role (judge, court, prosecutor, investigating-authority, other).
        #[arg(long)]
        issuer: Option<String>,
        /// With `send`: the authority to send to (default: routed through the directory).
        #[arg(long)]
        to: Option<String>,
        /// With a decision: a checklist answer `ID=no` or `ID=yes`, optionally `:NOTE` (repeat for several).
        #[arg(long = "answer", value_parser = parse_answer)]
        answers: Vec<ChecklistAnswerInput>,
        /// With `authorise`: the judge who signs with their own key (password on standard input).
        #[arg(long)]
        judge: Option<String>,
    },
    /// A judge validates an emergency order sent without prior validation (password on standard input).
    Validate {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
        /// The judge's login name.
        #[arg(long)]
        judge: String,
    },
    /// Record the providing State's consent to a further use of the evidence.
    Consent {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
        /// The providing State's reference for its consent.
        #[arg(long)]
        reference: String,
        /// The purpose it covers (default: any).
        #[arg(long)]
        purpose: Option<String>,
        /// The recipient it covers (default: any): requesting-authority, other-authority:ID, third-state:CC, public.
        #[arg(long, value_parser = parse_recipient)]
        recipient: Option<RecipientInput>,
    },
    /// Record a further use of the evidence; refused unless the conditions allow it or a consent covers it.
    OnwardUse {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
        /// For what.
        #[arg(long)]
        purpose: String,
        /// For whom: requesting-authority, other-authority:ID, third-state:CC, public.
        #[arg(long, value_parser = parse_recipient)]
        recipient: RecipientInput,
    },
    /// Record notice to the person concerned: given, or deferred with reasons and a review date.
    Notice {
        #[command(flatten)]
        on: On,
        /// Request id.
        id: String,
        /// Notice was given.
        #[arg(long, conflicts_with_all = ["defer_until", "reason"])]
        given: bool,
        /// Defer notice until this review date (RFC 3339).
        #[arg(long, requires = "reason")]
        defer_until: Option<String>,
        /// Why notice is deferred.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Notice reviews that are due or overdue.
    Reminders {
        #[command(flatten)]
        on: On,
    },
}

fn parse_recipient(text: &str) -> Result<RecipientInput, String> {
    let (kind, value) = match text.split_once(':') {
        Some((k, v)) => (k, Some(v.to_owned())),
        None => (text, None),
    };
    let mut r = RecipientInput {
        kind: kind.to_owned(),
        authority: None,
        state: None,
    };
    match kind {
        "requesting-authority" | "public" if value.is_none() => {}
        "other-authority" if value.is_some() => r.authority = value,
        "third-state" if value.is_some() => r.state = value,
        _ => {
            return Err(
                "use requesting-authority, other-authority:AUTHORITY, third-state:CC or public"
                    .into(),
            );
        }
    }
    Ok(r)
}

fn parse_answer(text: &str) -> Result<ChecklistAnswerInput, String> {
    let (id, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: write ID=no or ID=yes, optionally followed by :NOTE"))?;
    let (concern, note) = rest.split_once(':').unwrap_or((rest, ""));
    let concern = match concern {
        "yes" => true,
        "no" => false,
        other => {
            return Err(format!(
                "`{other}`: answer `yes` (the concern is present) or `no`"
            ));
        }
    };
    Ok(ChecklistAnswerInput {
        id: id.to_owned(),
        concern,
        note: note.to_owned(),
    })
}

/// Turns a service refusal into lines that say what to do.
fn explain(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Invalid(problems) => anyhow::anyhow!(
            "{}",
            problems
                .iter()
                .map(|p| format!(
                    "{}: {}",
                    if p.pointer.is_empty() {
                        "/"
                    } else {
                        &p.pointer
                    },
                    p.message
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        ServiceError::NotAllowed { message, .. } => anyhow::anyhow!("{message}"),
        ServiceError::Blocked(findings) => anyhow::anyhow!(
            "{}",
            findings
                .iter()
                .map(|f| format!("blocked by {}: {}", f.code, f.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("`{}` is not UTF-8 text; save it as UTF-8", path.display()))?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path_text = e.path().to_string();
        anyhow::anyhow!("`{}` at `{path_text}`: {}", path.display(), e.into_inner())
    })?;
    de.end().map_err(|e| {
        anyhow::anyhow!(
            "`{}`: trailing characters after the JSON value: {e}",
            path.display()
        )
    })?;
    Ok(value)
}

fn actor(on: &On) -> String {
    format!("cli:{}", on.actor)
}

pub async fn run_case(command: CaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        CaseCommand::New {
            on,
            reference,
            title,
        } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let case = node
                .service
                .create_case(CaseInput { reference, title }, &actor(&on))
                .await
                .map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&case)?);
            } else {
                println!("{}  {}  {}", case.id, case.reference, case.title);
            }
        }
        CaseCommand::List { on } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let cases = node.service.cases(1000).await.map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
            } else {
                for c in cases {
                    println!("{}  {}  {}  {}", c.id, c.created_at, c.reference, c.title);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_request(r: &RequestView) {
    println!("{}  {}  {}  ({})", r.id, r.mechanism, r.state, r.urgency);
    println!("  case        {}", r.case_id);
    println!(
        "  to          {} under {}",
        r.document.requested_state, r.document.instrument
    );
    if !r.missing_fields.is_empty() {
        println!(
            "  missing     {} (sending is refused until filled)",
            r.missing_fields.join(", ")
        );
    }
    println!(
        "  next steps  {}",
        if r.allowed_actions.is_empty() {
            "none".to_owned()
        } else {
            r.allowed_actions.join(", ")
        }
    );
    for c in &r.clocks {
        let status = match (&c.stopped_at, c.overdue) {
            (Some(at), _) => format!("stopped {at}"),
            (None, true) => "OVERDUE".to_owned(),
            (None, false) => "running".to_owned(),
        };
        println!(
            "  clock       {} due {} ({status}): {}",
            c.kind, c.due_at, c.title
        );
    }
    for e in &r.events {
        let why = e
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let grounds = if e.grounds.is_empty() {
            String::new()
        } else {
            format!(" [{}]", e.grounds.join(", "))
        };
        println!(
            "  {:>3}. {}  {} -> {}  by {}{grounds}{why}",
            e.seq, e.at, e.from, e.to, e.actor
        );
    }
}

pub async fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    match command {
        RequestCommand::New { on, case, file } => {
            let document: RequestInput = read_json(&file)?;
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let view = node
                .service
                .create_request(
                    NewRequestInput {
                        case_id: case,
                        document,
                    },
                    &actor(&on),
                )
                .await
                .map_err(explain)
                .with_context(|| {
                    format!("`{}` was not accepted; nothing was written", file.display())
                })?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_request(&view);
            }
        }
        RequestCommand::Show { on, id } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let view = node.service.request(&id).await.map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_request(&view);
            }
        }
        RequestCommand::List {
            on,
            due,
            state,
            mechanism,
            case,
            limit,
        } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let query = ListQuery {
                case_id: case,
                state,
                mechanism,
                urgency: None,
                due,
                limit: Some(limit),
            };
            let list = node.service.requests(&query).await.map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in list {
                    let due = r.next_due.as_deref().unwrap_or("-");
                    println!(
                        "{}  {:<28} {:<22} {:<9} due {due}",
                        r.id, r.mechanism, r.state, r.urgency
                    );
                }
            }
        }
        RequestCommand::Transition {
            on,
            id,
            action,
            reason,
            grounds,
            issuer,
            answers,
            to,
            judge,
        } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let authorisation = match judge {
                Some(judge) => {
                    let password = super::user::read_password()?;
                    Some(
                        node.service
                            .sign_judicial_decision(&id, &action, &judge, &password)
                            .await
                            .map_err(explain)?,
                    )
                }
                None => None,
            };
            let input = TransitionInput {
                authorisation,
                action,
                reason,
                grounds,
                issuer,
                checklist: answers,
                recipient: to,
                expected_version: None,
            };
            let view = node
                .service
                .transition(&id, input, &actor(&on))
                .await
                .map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_request(&view);
            }
        }
        RequestCommand::Validate { on, id, judge } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let password = super::user::read_password()?;
            let authorisation = node
                .service
                .sign_judicial_decision(&id, "validate", &judge, &password)
                .await
                .map_err(explain)?;
            let view = node
                .service
                .validate(&id, ValidationInput { authorisation })
                .await
                .map_err(explain)?;
            print_view(&on, &view)?;
        }
        RequestCommand::Consent {
            on,
            id,
            reference,
            purpose,
            recipient,
        } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let input = ConsentInput {
                reference,
                purpose,
                recipient,
            };
            let view = node
                .service
                .record_consent(&id, input, &actor(&on))
                .await
                .map_err(explain)?;
            print_view(&on, &view)?;
        }
        RequestCommand::OnwardUse {
            on,
            id,
            purpose,
            recipient,
        } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let input = OnwardUseInput { purpose, recipient };
            let view = node
                .service
                .record_onward_use(&id, input, &actor(&on))
                .await
                .map_err(explain)?;
            print_view(&on, &view)?;
        }
        RequestCommand::Notice {
            on,
            id,
            given,
            defer_until,
            reason,
        } => {
            if !given && defer_until.is_none() {
                anyhow::bail!("say `--given`, or `--defer-until DATE --reason TEXT`");
            }
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let input = NoticeInput {
                status: if given { "given" } else { "deferred" }.to_owned(),
                reason,
                review_on: defer_until,
            };
            let view = node
                .service
                .record_notice(&id, input, &actor(&on))
                .await
                .map_err(explain)?;
            print_view(&on, &view)?;
        }
        RequestCommand::Reminders { on } => {
            let node = super::open_node(&on.dir, on.database.as_deref()).await?;
            let list = node.service.notice_reminders().await.map_err(explain)?;
            if on.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no notice review is due");
            } else {
                for r in list {
                    let when = if r.overdue { "overdue since" } else { "due" };
                    println!("{}  {when} {}  {}", r.request_id, r.due, r.finding.message);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_view(on: &On, view: &RequestView) -> anyhow::Result<()> {
    if on.json {
        println!("{}", serde_json::to_string_pretty(view)?);
    } else {
        print_request(view);
    }
    Ok(())
}
