//! `comity demo`: a throwaway node on loopback and a scripted walk-through over its real HTTP API, from draft to
//! closed, including the refusals a caseworker meets when something is wrong.
//!
//! Every step checks the node's answer; `--once` exits non-zero if any check failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::server::{Node, shutdown_signal};
use serde_json::{Value, json};

/// Arguments of `comity demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the walk-through once and exit: 0 only if every step checked out.
    #[arg(long)]
    once: bool,
    /// Keep the demo node in this directory (absent or empty) instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Address for the demo node.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

/// A minimal API client that keeps score.
struct Walk {
    http: reqwest::Client,
    base: String,
    token: String,
    failures: Vec<String>,
    steps: usize,
}

/// What a step expects back.
enum Expect {
    Status(u16),
    Problem { status: u16, pointer: &'static str },
}

impl Walk {
    async fn call(
        &mut self,
        title: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: Expect,
    ) -> Value {
        self.steps += 1;
        let started = Instant::now();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-comity-actor", "demo-caseworker");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let outcome = async {
            let resp = req.send().await.context("the node did not answer")?;
            let status = resp.status().as_u16();
            let value: Value = resp
                .json()
                .await
                .context("the node answered something that is not JSON")?;
            match expect {
                Expect::Status(want) if status == want => Ok(value),
                Expect::Problem {
                    status: want,
                    pointer,
                } if status == want
                    && value["errors"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|f| f["pointer"] == pointer)) =>
                {
                    Ok(value)
                }
                Expect::Problem {
                    status: want,
                    pointer: "",
                } if status == want && value["type"].is_string() => Ok(value),
                _ => bail!("unexpected answer {status}: {value}"),
            }
        }
        .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(value) => {
                println!("  ok   {title}  ({ms:.1} ms)");
                value
            }
            Err(e) => {
                println!("  FAIL {title}: {e:#}");
                self.failures.push(title.to_owned());
                Value::Null
            }
        }
    }

    fn check(&mut self, title: &str, ok: bool) {
        self.steps += 1;
        if ok {
            println!("  ok   {title}");
        } else {
            println!("  FAIL {title}");
            self.failures.push(title.to_owned());
        }
    }
}

fn preservation(requested_state: &str, offence: &str) -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": requested_state,
        "instrument": "BC",
        "offences": [{
            "catalogue_entry": offence,
            "national_provision": "Code pénal art. 323-1",
            "max_penalty_months": 60
        }],
        "summary_of_facts": "Ransomware encrypted the records of a regional hospital on 21 November 2026.",
        "data_sought": [{
            "category": "traffic",
            "description": "Connection logs of the server that hosted the ransom negotiation page",
            "identifiers": [
                {"type": "ip-address", "address": "198.51.100.23", "port": 443, "observed_at": "2026-11-21T02:14:00+01:00"},
                {"type": "domain", "name": "pay-now.example"}
            ],
            "time_range": {"from": "2026-11-20T00:00:00Z", "to": "2026-11-22T00:00:00Z"}
        }],
        "relation_to_offence": "The logs identify who controlled the negotiation server.",
        "custodian_or_location": "Example Hosting Ltda, São Paulo",
        "necessity": "The host deletes connection logs after 7 days.",
        "follow_up_mla_intent": true,
        "urgency": "urgent",
        "confidentiality_requested": true,
        "language": "en"
    })
}

fn mla() -> Value {
    json!({
        "mechanism": "mla-stored-data",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "data-interference", "national_provision": "Code pénal art. 323-3", "max_penalty_months": 84}],
        "summary_of_facts": "Ransomware encrypted the records of a regional hospital on 21 November 2026.",
        "data_sought": [{"category": "content", "description": "Contents of the negotiation server's database",
                          "identifiers": [{"type": "account", "service": "Example Hosting", "account": "cust-4411"}]}],
        "relation_to_offence": "The database holds the ransom notes and payment addresses.",
        "assistance_sought": "Search and seizure of the stored data, produced as sealed evidence.",
        "necessity": "Only the hosting company holds the database; the ransom notes name the payment addresses.",
        "purpose": "Prosecution of the intrusion and extortion.",
        "urgency": "normal",
        "language": "en"
    })
}

/// A demo node serving on loopback.
struct DemoNode {
    base: String,
    token: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_node(
    dir: &std::path::Path,
    id: &str,
    kind: AuthorityKind,
    name: &str,
    listen: &str,
) -> anyhow::Result<DemoNode> {
    let params = InitParams {
        authority: AuthorityId::parse(id)?,
        state: IsoCountry::parse("FR")?,
        kind,
        name: name.into(),
    };
    let started = Instant::now();
    config::init(dir, &params, time::OffsetDateTime::now_utc()).await?;
    let node = Node::open(dir)?;
    let token = node.token.clone();
    let listener = node
        .bind(listen)
        .await
        .with_context(|| format!("cannot listen on `{listen}`"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node.serve(listener, async {
        let _ = stopped.await;
    }));
    println!(
        "  node `{id}` (FR {kind}) at {base}, created in {:.0} ms; token in {}",
        started.elapsed().as_secs_f64() * 1000.0,
        dir.join(config::API_TOKEN_FILE).display()
    );
    Ok(DemoNode {
        base,
        token,
        stop,
        server,
    })
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let temp;
    let root = match &args.keep {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_owned()
        }
    };
    let started = Instant::now();
    println!("comity demo: two French authorities on loopback");
    let contact = start_node(
        &root.join("fr-247"),
        "fr-247",
        AuthorityKind::ContactPoint,
        "French 24/7 point of contact (demo)",
        &args.listen,
    )
    .await?;
    let central = start_node(
        &root.join("fr-central"),
        "fr-central",
        AuthorityKind::CentralAuthority,
        "French central authority (demo)",
        &args.listen,
    )
    .await?;
    println!();
    let base = contact.base.clone();
    let token = contact.token.clone();

    let mut walk = Walk {
        http: reqwest::Client::new(),
        base: base.clone(),
        token,
        failures: Vec::new(),
        steps: 0,
    };
    use reqwest::Method as M;

    println!("The catalogue");
    let cat = walk
        .call(
            "list the cooperation mechanisms",
            M::GET,
            "/api/v1/mechanisms",
            None,
            Expect::Status(200),
        )
        .await;
    let count = cat["mechanisms"].as_array().map_or(0, Vec::len);
    walk.check(
        &format!("{count} mechanisms with citations, clocks and refusal grounds"),
        count >= 16,
    );

    println!("\nA case and an urgent preservation request to Brazil");
    let case = walk
        .call("open case FR-2026-0042", M::POST, "/api/v1/cases", Some(json!({"reference": "FR-2026-0042", "title": "Ransomware against a regional hospital"})), Expect::Status(201))
        .await;
    let case_id = case["id"].as_str().unwrap_or_default().to_owned();
    let bad = walk
        .call(
            "a request to `XB` for `blasphemy` is refused, naming both fields",
            M::POST,
            "/api/v1/requests",
            Some(json!({"case_id": case_id, "document": preservation("XB", "blasphemy")})),
            Expect::Problem {
                status: 422,
                pointer: "/document/requested_state",
            },
        )
        .await;
    walk.check(
        "  ...and the offence outside the catalogue is named too",
        bad["errors"].as_array().is_some_and(|e| {
            e.iter()
                .any(|f| f["pointer"] == "/document/offences/0/catalogue_entry")
        }),
    );
    let list_before = walk
        .call(
            "nothing was written",
            M::GET,
            "/api/v1/requests",
            None,
            Expect::Status(200),
        )
        .await;
    walk.check(
        "  ...the request list is still empty",
        list_before["requests"]
            .as_array()
            .is_some_and(Vec::is_empty),
    );
    let req = walk
        .call(
            "draft the preservation request",
            M::POST,
            "/api/v1/requests",
            Some(json!({"case_id": case_id, "document": preservation("BR", "illegal-access")})),
            Expect::Status(201),
        )
        .await;
    let id = req["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/requests/{id}/transitions");
    walk.call(
        "executing a draft is refused, listing the allowed steps",
        M::POST,
        &path,
        Some(json!({"action": "execute"})),
        Expect::Problem {
            status: 409,
            pointer: "",
        },
    )
    .await;
    for (title, action) in [
        (
            "send it (BC Art 29: no judicial authorisation needed)",
            "send",
        ),
        ("Brazil's 24/7 point receives it", "receive"),
        (
            "the data are preserved: the 60-day clock starts",
            "preserve",
        ),
    ] {
        walk.call(
            title,
            M::POST,
            &path,
            Some(json!({"action": action})),
            Expect::Status(200),
        )
        .await;
    }
    let shown = walk
        .call(
            "show the request with its clock",
            M::GET,
            &format!("/api/v1/requests/{id}"),
            None,
            Expect::Status(200),
        )
        .await;
    walk.check(
        &format!(
            "  ...preservation-minimum clock due {}",
            shown["clocks"][0]["due_at"].as_str().unwrap_or("?")
        ),
        shown["clocks"][0]["id"] == "preservation-minimum" && shown["state"] == "active",
    );
    walk.call(
        "the follow-up MLA request supersedes the preservation",
        M::POST,
        &path,
        Some(json!({"action": "supersede", "reason": "MLA request for the stored data received"})),
        Expect::Status(200),
    )
    .await;
    let closed = walk
        .call(
            "close it",
            M::POST,
            &path,
            Some(json!({"action": "close"})),
            Expect::Status(200),
        )
        .await;
    walk.check(
        "  ...5 events, replayed to `closed`",
        closed["state"] == "closed" && closed["events"].as_array().map_or(0, Vec::len) == 5,
    );

    println!("\nThe MLA request for the stored data, from the central authority");
    walk.base = central.base.clone();
    walk.token = central.token.clone();
    let case = walk
        .call(
            "open the case at the central authority",
            M::POST,
            "/api/v1/cases",
            Some(json!({"reference": "FR-2026-0042", "title": "Ransomware against a regional hospital"})),
            Expect::Status(201),
        )
        .await;
    let case_id = case["id"].as_str().unwrap_or_default().to_owned();
    let mla = walk
        .call(
            "draft the MLA request",
            M::POST,
            "/api/v1/requests",
            Some(json!({"case_id": case_id, "document": mla()})),
            Expect::Status(201),
        )
        .await;
    let mla_id = mla["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/requests/{mla_id}/transitions");
    walk.call(
        "sending without judicial authorisation is refused",
        M::POST,
        &path,
        Some(json!({"action": "send"})),
        Expect::Problem {
            status: 409,
            pointer: "",
        },
    )
    .await;
    for (title, action) in [
        (
            "submit it to the investigating judge",
            "submit-for-authorisation",
        ),
        ("the judge authorises it", "authorise"),
        ("send it to Brazil's central authority", "send"),
        ("Brazil receives it", "receive"),
        ("Brazil reviews it", "begin-review"),
    ] {
        walk.call(
            title,
            M::POST,
            &path,
            Some(json!({"action": action})),
            Expect::Status(200),
        )
        .await;
    }
    walk.call(
        "a refusal for fiscal nature is itself refused (BC Art 25(4))",
        M::POST,
        &path,
        Some(json!({"action": "refuse", "reason": "tax matter", "grounds": ["fiscal-nature"]})),
        Expect::Problem {
            status: 422,
            pointer: "/grounds/0",
        },
    )
    .await;
    walk.call(
        "Brazil consults France before deciding",
        M::POST,
        &path,
        Some(json!({"action": "consult", "reason": "Which accounts exactly?"})),
        Expect::Status(200),
    )
    .await;
    walk.call(
        "Brazil executes the request, answering the non-discrimination question",
        M::POST,
        &path,
        Some(json!({"action": "execute", "checklist": [{"id": "non-discrimination", "concern": false, "note": "ordinary criminal case"}]})),
        Expect::Status(200),
    )
    .await;
    let done = walk
        .call(
            "close it",
            M::POST,
            &path,
            Some(json!({"action": "close"})),
            Expect::Status(200),
        )
        .await;
    walk.check(
        "  ...8 events, replayed to `closed`",
        done["state"] == "closed" && done["events"].as_array().map_or(0, Vec::len) == 8,
    );

    let failed = walk.failures.len();
    println!(
        "\n{} checks, {} passed, {failed} failed ({:.0} ms in all)",
        walk.steps,
        walk.steps - failed,
        started.elapsed().as_secs_f64() * 1000.0
    );

    if !args.once && failed == 0 {
        println!(
            "\nThe nodes keep running at {} and {} with the demo data; press Ctrl-C to stop.",
            contact.base, central.base
        );
        shutdown_signal().await;
    }
    for node in [contact, central] {
        let _ = node.stop.send(());
        node.server.await.context("a demo server failed")??;
    }
    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("failed: {}", walk.failures.join("; "));
        Ok(ExitCode::FAILURE)
    }
}
