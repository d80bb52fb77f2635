//! `comity demo`: a federation of five authorities on loopback and a scripted case across two States, over the real
//! HTTP API and the real signed exchange, with every answer, receipt and signature checked.
//!
//! France's 24/7 point asks Brazil's 24/7 point to preserve data in an emergency; Brazil forwards to the hosting
//! provider, which preserves; the confirmation travels back. France's central authority then sends a mutual legal
//! assistance request, authorised by a judge; Brazil's central authority executes it and the provider's data come back
//! as a sealed evidence package, sealed inside br-central's node, carried to fr-central in chunks and acknowledged
//! with a signed receipt. A forged message is refused with a signed negative receipt. `--once` exits non-zero
//! if any check failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::{Node, shutdown_signal};
use comity_seal::keys::NodeSigningKey;
use serde_json::{Value, json};

/// Arguments of `comity demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the scenario once and exit: 0 only if every step, receipt and signature checked out.
    #[arg(long)]
    once: bool,
    /// Keep the demo nodes in this directory (absent or empty) instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
}

/// The French investigating judge's login in the demo.
const DEMO_JUDGE: &str = "juge-demo";

/// Their password (the demo's nodes live in a temporary directory and are gone when it ends).
const DEMO_JUDGE_PASSWORD: &str = "demo judge passphrase 2026";

/// A demo node serving on loopback.
struct DemoNode {
    id: &'static str,
    base: String,
    token: String,
    tls_cert_sha256: String,
    log_key: String,
    service: comity_node::service::NodeService,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The walk-through: calls nodes, checks answers, keeps score.
struct Walk {
    http: reqwest::Client,
    failures: Vec<String>,
    steps: usize,
}

impl Walk {
    /// Calls `node` and checks the status; returns the JSON answer (or Null after a failure).
    async fn call(
        &mut self,
        node: &DemoNode,
        title: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        self.steps += 1;
        let started = Instant::now();
        let mut req = self
            .http
            .request(method, format!("{}{path}", node.base))
            .bearer_auth(&node.token)
            .header("x-comity-actor", "demo");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let outcome: anyhow::Result<Value> = async {
            let resp = req.send().await.context("the node did not answer")?;
            let status = resp.status().as_u16();
            let value: Value = resp.json().await.context("the answer is not JSON")?;
            anyhow::ensure!(status == want, "HTTP {status}: {value}");
            Ok(value)
        }
        .await;
        self.report(node.id, title, started, outcome)
    }

    fn report(
        &mut self,
        who: &str,
        title: &str,
        started: Instant,
        outcome: anyhow::Result<Value>,
    ) -> Value {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(v) => {
                println!("  ok   {who:<11} {title}  ({ms:.1} ms)");
                v
            }
            Err(e) => {
                println!("  FAIL {who:<11} {title}: {e:#}");
                self.failures.push(format!("{who}: {title}"));
                Value::Null
            }
        }
    }

    fn check(&mut self, who: &str, title: &str, ok: bool) {
        self.steps += 1;
        if ok {
            println!("  ok   {who:<11} {title}");
        } else {
            println!("  FAIL {who:<11} {title}");
            self.failures.push(format!("{who}: {title}"));
        }
    }

    /// Waits until `path` on `node` answers with `field == value` (delivery is asynchronous).
    async fn until(
        &mut self,
        node: &DemoNode,
        title: &str,
        path: &str,
        pick: impl Fn(&Value) -> bool,
    ) -> Value {
        self.steps += 1;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(10);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(resp) = self
                .http
                .get(format!("{}{path}", node.base))
                .bearer_auth(&node.token)
                .send()
                .await
                && let Ok(v) = resp.json::<Value>().await
            {
                if pick(&v) {
                    return self.report(node.id, title, started, Ok(v));
                }
                last = v;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.report(
            node.id,
            title,
            started,
            Err(anyhow::anyhow!("not seen within 10 s; last answer: {last}")),
        )
    }
}

fn preservation() -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "child-sexual-abuse-material", "national_provision": "Code pénal art. 227-23", "max_penalty_months": 84}],
        "summary_of_facts": "A child is being extorted for images by an account hosted in Brazil; the last contact was an hour ago.",
        "data_sought": [{
            "category": "traffic",
            "description": "Connection logs of the account",
            "identifiers": [
                {"type": "account", "service": "Example Hosting", "account": "cust-4411"},
                {"type": "ip-address", "address": "198.51.100.23", "port": 443, "observed_at": "2026-11-23T02:14:00+01:00"}
            ]
        }],
        "relation_to_offence": "The logs show where the extortion messages were sent from.",
        "custodian_or_location": "Example Hosting Ltda, São Paulo",
        "necessity": "The host deletes connection logs after 7 days; the child is at risk now.",
        "follow_up_mla_intent": true,
        "urgency": "emergency",
        "emergency_justification": "Significant and imminent risk to the life and safety of a child: threats of self-harm.",
        "confidentiality_requested": true,
        "language": "en"
    })
}

fn mla() -> Value {
    json!({
        "mechanism": "mla-stored-data",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "child-sexual-abuse-material", "national_provision": "Code pénal art. 227-23", "max_penalty_months": 84}],
        "summary_of_facts": "A child was extorted for images by an account hosted in Brazil.",
        "data_sought": [{"category": "content", "description": "Stored messages of the account",
                          "identifiers": [{"type": "account", "service": "Example Hosting", "account": "cust-4411"}]}],
        "relation_to_offence": "The messages are the extortion itself.",
        "necessity": "Only the host holds the messages; they prove the offence and identify the offender.",
        "assistance_sought": "Search and seizure of the stored data, produced as sealed evidence.",
        "purpose": "Prosecution of the extortion.",
        "urgency": "urgent",
        "language": "en"
    })
}

struct Spec {
    id: &'static str,
    state: &'static str,
    kind: AuthorityKind,
    name: &'static str,
}

const AUTHORITIES: [Spec; 5] = [
    Spec {
        id: "fr-247",
        state: "FR",
        kind: AuthorityKind::ContactPoint,
        name: "France, 24/7 point of contact",
    },
    Spec {
        id: "fr-central",
        state: "FR",
        kind: AuthorityKind::CentralAuthority,
        name: "France, central authority",
    },
    Spec {
        id: "br-247",
        state: "BR",
        kind: AuthorityKind::ContactPoint,
        name: "Brazil, 24/7 point of contact",
    },
    Spec {
        id: "br-central",
        state: "BR",
        kind: AuthorityKind::CentralAuthority,
        name: "Brazil, central authority",
    },
    Spec {
        id: "br-hosting",
        state: "BR",
        kind: AuthorityKind::Provider,
        name: "Example Hosting Ltda (Brazil)",
    },
];

async fn federation(root: &Path, operator: &NodeSigningKey) -> anyhow::Result<Vec<DemoNode>> {
    let now = time::OffsetDateTime::now_utc();
    let mut opened = Vec::new();
    let mut entries = Vec::new();
    for spec in &AUTHORITIES {
        let dir = root.join(spec.id);
        let params = InitParams {
            authority: AuthorityId::parse(spec.id)?,
            state: IsoCountry::parse(spec.state)?,
            kind: spec.kind,
            name: spec.name.into(),
        };
        let mut node_dir = config::init(&dir, &params, now).await?;
        node_dir.pin_directory_operator(&operator.public_key())?;
        let node = Node::open(&dir)?;
        let listener = node
            .bind("127.0.0.1:0")
            .await
            .context("cannot listen on loopback")?;
        let endpoint = format!("https://{}", listener.local_addr()?);
        entries.push(DirectoryEntry {
            id: spec.id.into(),
            state: spec.state.into(),
            kind: spec.kind.to_string(),
            name: spec.name.into(),
            languages: vec!["en".into()],
            hours: if spec.kind == AuthorityKind::ContactPoint {
                "24/7".into()
            } else {
                "office hours".into()
            },
            on_call: String::new(),
            endpoint: endpoint.clone(),
            signing_key: node_dir.identity.signing_public_key.clone(),
            age_recipient: node_dir.identity.age_recipient.clone(),
            tls_cert_sha256: Some(node.tls_cert_sha256.clone()),
            declarations: format!("profile:{}", spec.state),
            valid_from: comity_node::wire::rfc3339(now - time::Duration::days(1)),
            valid_until: comity_node::wire::rfc3339(now + time::Duration::days(365)),
            revoked: None,
            log_key: node_dir.config.log_public_key.clone(),
        });
        let log_key = node_dir.config.log_public_key.clone().unwrap_or_default();
        opened.push((spec, node, listener, endpoint, log_key));
    }
    let directory = DirectoryDocument {
        version: 1,
        issued_at: comity_node::wire::rfc3339(now),
        operator: "comity demo directory".into(),
        authorities: entries,
    }
    .sign(operator);
    let mut nodes = Vec::new();
    for (spec, node, listener, endpoint, log_key) in opened {
        node.service.federation().install_directory(&directory)?;
        let token = node.token.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let tls_cert_sha256 = node.tls_cert_sha256.clone();
        let service = node.service.clone();
        if spec.id == "fr-central" {
            // The investigating judge of the French side, with a signing key of their own.
            service
                .accounts()
                .add(comity_node::accounts::NewUser {
                    username: DEMO_JUDGE.into(),
                    display_name: "Juge d'instruction (demo)".into(),
                    role: comity_node::access::Role::Judge,
                    authority: spec.id.into(),
                    language: "fr".into(),
                    password: DEMO_JUDGE_PASSWORD.into(),
                })
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the demo judge: {e}"))?;
        }
        let server = tokio::spawn(node.serve_tls(listener, async {
            let _ = stopped.await;
        }));
        println!("  {:<11} {:<32} {endpoint}", spec.id, spec.name);
        nodes.push(DemoNode {
            id: spec.id,
            base: endpoint,
            token,
            tls_cert_sha256,
            log_key,
            service,
            stop,
            server,
        });
    }
    Ok(nodes)
}

fn find<'a>(nodes: &'a [DemoNode], id: &str) -> &'a DemoNode {
    nodes.iter().find(|n| n.id == id).unwrap_or(&nodes[0])
}

/// The id of the first listed request of a mechanism.
fn first_of(list: &Value, mechanism: &str) -> Option<String> {
    list["requests"]
        .as_array()?
        .iter()
        .find(|r| r["mechanism"] == mechanism)
        .and_then(|r| r["id"].as_str().map(str::to_owned))
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
    println!("comity demo: five authorities in two States, one signed directory, on loopback\n");
    let operator = NodeSigningKey::generate();
    let nodes = federation(&root, &operator).await?;
    println!(
        "  directory v1 signed by operator {}; every node serves HTTPS with the certificate it pins\n",
        operator.public_key()
    );
    let pins = nodes
        .iter()
        .map(|n| n.tls_cert_sha256.as_str())
        .collect::<Vec<_>>();
    let mut walk = Walk {
        http: comity_node::tls::pinned_client(&pins)?,
        failures: Vec::new(),
        steps: 0,
    };
    use reqwest::Method as M;
    let (fr247, frc, br247, brc, host) = (
        find(&nodes, "fr-247"),
        find(&nodes, "fr-central"),
        find(&nodes, "br-247"),
        find(&nodes, "br-central"),
        find(&nodes, "br-hosting"),
    );

    println!("1. Emergency preservation, France 24/7 -> Brazil 24/7 -> provider");
    let case = walk
        .call(
            fr247,
            "open case FR-2026-0042",
            M::POST,
            "/api/v1/cases",
            Some(json!({"reference": "FR-2026-0042", "title": "Extortion of a child"})),
            201,
        )
        .await;
    let mut bad = preservation();
    bad["language"] = json!("xx");
    let check = walk
        .call(
            fr247,
            "the draft is checked before it leaves",
            M::POST,
            "/api/v1/checks",
            Some(bad),
            200,
        )
        .await;
    walk.check(
        "fr-247",
        "  ...a language Brazil does not accept blocks sending",
        check["blocks_sending"] == true,
    );
    let req = walk
        .call(
            fr247,
            "draft the emergency preservation request",
            M::POST,
            "/api/v1/requests",
            Some(json!({"case_id": case["id"], "document": preservation()})),
            201,
        )
        .await;
    let fr_id = req["id"].as_str().unwrap_or_default().to_owned();
    let sent = walk
        .call(
            fr247,
            "send: routed to Brazil's 24/7 point, signed, queued with the event",
            M::POST,
            &format!("/api/v1/requests/{fr_id}/transitions"),
            Some(json!({"action": "send"})),
            200,
        )
        .await;
    walk.check(
        "fr-247",
        "  ...addressed to br-247 through the directory",
        sent["exchange"]["counterpart"] == "br-247",
    );
    let received = walk
        .until(
            fr247,
            "br-247's signed receipt verified; the request is `received`",
            &format!("/api/v1/requests/{fr_id}"),
            |v| v["state"] == "received",
        )
        .await;
    walk.check(
        "fr-247",
        "  ...the receipt is kept with the message",
        received["exchange"]["sent"][0]["status"] == "delivered",
    );
    let inbox = walk
        .call(
            br247,
            "the request is in Brazil's 24/7 queue",
            M::GET,
            "/api/v1/requests?urgency=emergency",
            None,
            200,
        )
        .await;
    let br_in = first_of(&inbox, "expedited-preservation").unwrap_or_default();
    let fwd = walk
        .call(
            br247,
            "forward it to the hosting provider",
            M::POST,
            &format!("/api/v1/requests/{br_in}/forward"),
            Some(json!({"recipient": "br-hosting"})),
            200,
        )
        .await;
    let fwd_id = fwd["id"].as_str().unwrap_or_default().to_owned();
    walk.until(
        br247,
        "the provider's receipt verified",
        &format!("/api/v1/requests/{fwd_id}"),
        |v| v["state"] == "received",
    )
    .await;
    let at_host = walk
        .call(
            host,
            "the order is in the provider's queue",
            M::GET,
            "/api/v1/requests?state=received",
            None,
            200,
        )
        .await;
    let host_id = first_of(&at_host, "expedited-preservation").unwrap_or_default();
    let shown = walk
        .call(
            host,
            "the provider sees who sent it, signed and receipted",
            M::GET,
            &format!("/api/v1/requests/{host_id}"),
            None,
            200,
        )
        .await;
    walk.check(
        "br-hosting",
        "  ...sent by br-247, on behalf of fr-247",
        shown["exchange"]["counterpart"] == "br-247"
            && shown["document"]["requesting_authority"] == "fr-247",
    );
    walk.call(
        host,
        "the provider preserves the data",
        M::POST,
        &format!("/api/v1/requests/{host_id}/transitions"),
        Some(json!({"action": "preserve"})),
        200,
    )
    .await;
    walk.until(
        br247,
        "the provider's confirmation arrives on the forwarded order",
        &format!("/api/v1/requests/{fwd_id}"),
        |v| v["state"] == "active",
    )
    .await;
    walk.call(
        br247,
        "Brazil confirms preservation to France",
        M::POST,
        &format!("/api/v1/requests/{br_in}/transitions"),
        Some(json!({"action": "preserve"})),
        200,
    )
    .await;
    let done = walk
        .until(
            fr247,
            "France sees the data preserved, with the 60-day clock",
            &format!("/api/v1/requests/{fr_id}"),
            |v| v["state"] == "active",
        )
        .await;
    walk.check(
        "fr-247",
        &format!(
            "  ...preserved at least until {}",
            done["clocks"][0]["due_at"].as_str().unwrap_or("?")
        ),
        done["clocks"][0]["id"] == "preservation-minimum",
    );

    println!("\n2. Mutual legal assistance, France central authority -> Brazil central authority");
    let case = walk
        .call(
            frc,
            "open the case at the central authority",
            M::POST,
            "/api/v1/cases",
            Some(json!({"reference": "FR-2026-0042", "title": "Extortion of a child"})),
            201,
        )
        .await;
    let req = walk
        .call(
            frc,
            "draft the MLA request for the stored data",
            M::POST,
            "/api/v1/requests",
            Some(json!({"case_id": case["id"], "document": mla()})),
            201,
        )
        .await;
    let mla_id = req["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/requests/{mla_id}/transitions");
    walk.call(
        frc,
        "sending without a judge's authorisation is refused",
        M::POST,
        &path,
        Some(json!({"action": "send"})),
        409,
    )
    .await;
    walk.call(
        frc,
        "submit it to the judge",
        M::POST,
        &path,
        Some(json!({"action": "submit-for-authorisation"})),
        200,
    )
    .await;
    walk.call(
        frc,
        "an authorisation without the judge's own signature is refused",
        M::POST,
        &path,
        Some(json!({"action": "authorise"})),
        422,
    )
    .await;
    let wrong = frc
        .service
        .sign_judicial_decision(&mla_id, "authorise", DEMO_JUDGE, "not the judge's password")
        .await;
    walk.check(
        "fr-central",
        "the judge's key does not open without the judge's password",
        wrong.is_err(),
    );
    let signed = frc
        .service
        .sign_judicial_decision(&mla_id, "authorise", DEMO_JUDGE, DEMO_JUDGE_PASSWORD)
        .await
        .unwrap_or_default();
    walk.call(
        frc,
        "the judge authorises it, signing with their own key",
        M::POST,
        &path,
        Some(json!({"action": "authorise", "authorisation": signed})),
        200,
    )
    .await;
    walk.call(
        frc,
        "send: routed to Brazil's central authority",
        M::POST,
        &path,
        Some(json!({"action": "send"})),
        200,
    )
    .await;
    walk.until(
        frc,
        "br-central's signed receipt verified",
        &format!("/api/v1/requests/{mla_id}"),
        |v| v["state"] == "received",
    )
    .await;
    let at_brc = walk
        .call(
            brc,
            "the request is in Brazil's incoming list",
            M::GET,
            "/api/v1/requests?state=received",
            None,
            200,
        )
        .await;
    let brc_id = first_of(&at_brc, "mla-stored-data").unwrap_or_default();
    let findings = walk
        .call(
            brc,
            "Brazil sees the open and barred refusal grounds",
            M::GET,
            &format!("/api/v1/requests/{brc_id}/findings"),
            None,
            200,
        )
        .await;
    walk.check(
        "br-central",
        "  ...fiscal nature and bank secrecy are barred; non-discrimination must be answered",
        findings["incoming"]["barred_grounds"]
            .as_array()
            .is_some_and(|g| g.iter().any(|x| x["id"] == "fiscal-nature"))
            && findings["incoming"]["checklist"]
                .as_array()
                .is_some_and(|c| c.iter().any(|x| x["id"] == "non-discrimination")),
    );
    let brc_path = format!("/api/v1/requests/{brc_id}/transitions");
    walk.call(
        brc,
        "begin the review",
        M::POST,
        &brc_path,
        Some(json!({"action": "begin-review"})),
        200,
    )
    .await;
    walk.call(
        brc,
        "a refusal for bank secrecy is itself refused",
        M::POST,
        &brc_path,
        Some(json!({"action": "refuse", "reason": "bank secrecy", "grounds": ["bank-secrecy"]})),
        422,
    )
    .await;
    walk.call(
        brc,
        "execute, answering the non-discrimination question",
        M::POST,
        &brc_path,
        Some(json!({"action": "execute", "checklist": [{"id": "non-discrimination", "concern": false, "note": "ordinary criminal case"}]})),
        200,
    )
    .await;
    let executed = walk
        .until(
            frc,
            "France sees the request executed",
            &format!("/api/v1/requests/{mla_id}"),
            |v| v["state"] == "executed",
        )
        .await;
    walk.check(
        "fr-central",
        "  ...both sides hold the same history (receive, review, execute signed by br-central)",
        executed["events"].as_array().is_some_and(|e| {
            e.iter()
                .any(|x| x["action"] == "execute" && x["actor"] == "remote:br-central")
        }),
    );
    let proved = walk
        .until(
            frc,
            "br-central's log proof of the request arrives with its receipt",
            &format!("/api/v1/requests/{mla_id}"),
            |v| v["exchange"]["sent"][0]["receiver_log_proof"].is_object(),
        )
        .await;
    let proof = serde_json::to_vec(&proved["exchange"]["sent"][0]["receiver_log_proof"])
        .unwrap_or_default();
    let brc = find(&nodes, "br-central");
    walk.check(
        "fr-central",
        "  ...it checks against br-central's log key: Brazil cannot deny it logged the request",
        comity_node::eventlog::proof::check_message(&proof, Some(&brc.log_key), None).is_ok(),
    );
    let reconciled = reconcile_logs(&walk.http, frc, brc).await;
    walk.check(
        "fr-central",
        "France's and Brazil's published logs reconcile: what France logged as sent, Brazil logged as received",
        reconciled.as_ref().is_ok_and(|r| r.matched >= 1 && r.mismatches.is_empty()),
    );
    if let Err(e) = &reconciled {
        println!("       {e:#}");
    }

    println!("\n3. The data come back as sealed evidence, acknowledged with a signed receipt");
    let executed_id = brc_id.clone();
    let order_id = mla_id.clone();
    let sealed = seal_for_requester(&root, &order_id, operator.public_key()).await;
    walk.check(
        "br-central",
        "the provider's data sealed with br-central's node key to fr-central's age key from the directory",
        sealed.is_ok(),
    );
    match sealed {
        Ok((package, statement)) => {
            let attached = attach(&walk.http, brc, &executed_id, &package, &statement).await;
            let attached_ok = attached.is_ok();
            walk.check(
                "br-central",
                "attached to the executed request (BagIt + CASE/UCO + DSSE in age); its transfer is queued",
                attached_ok,
            );
            if let Err(e) = attached {
                println!("       {e:#}");
            }
            let received = walk
                .until(
                    frc,
                    "the package arrived, checked down to every file",
                    &format!("/api/v1/requests/{order_id}/evidence"),
                    |v| v["evidence"][0]["seal_status"] == "bag",
                )
                .await;
            walk.until(
                brc,
                "fr-central's signed receipt for the package verified",
                &format!("/api/v1/requests/{executed_id}/evidence"),
                |v| v["evidence"][0]["receipt"] == "received",
            )
            .await;
            let opened = open_received(&walk.http, frc, &root, &received["evidence"][0]).await;
            walk.check(
                "fr-central",
                "  ...downloaded, opened and verified against br-central's key",
                opened.is_ok(),
            );
            if let Err(e) = opened {
                println!("       {e:#}");
            }
        }
        Err(e) => println!("       {e:#}"),
    }

    println!("\n4. A forged emergency request is refused");
    let forged = forged_message();
    let resp = walk
        .http
        .post(format!("{}/federation/v1/messages", br247.base))
        .header("content-type", "application/json")
        .body(forged)
        .send()
        .await;
    let refused = match resp {
        Ok(r) => r.status().as_u16() == 422 && r.json::<Value>().await.is_ok(),
        Err(_) => false,
    };
    walk.check(
        "br-247",
        "a request signed with a stolen mailbox's key, not fr-247's, gets a signed refusal",
        refused,
    );
    let events = walk
        .call(
            br247,
            "the attempt is recorded as a security event",
            M::GET,
            "/api/v1/security-events",
            None,
            200,
        )
        .await;
    walk.check(
        "br-247",
        "  ...code bad-signature, nothing entered the case",
        events
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x["code"] == "bad-signature")),
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
            "\nThe nodes keep running with the demo data; press Ctrl-C to stop. Web UI at each address (add a user with\n`comity user add --dir DIR`); API tokens in each node's api.token:"
        );
        for n in &nodes {
            println!(
                "  {:<11} {}/  ({})",
                n.id,
                n.base,
                root.join(n.id).join(config::API_TOKEN_FILE).display()
            );
        }
        shutdown_signal().await;
    }
    for node in nodes {
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

/// Fetches and verifies both nodes' published logs and reconciles what `a` sent to `b` this year.
async fn reconcile_logs(
    http: &reqwest::Client,
    a: &DemoNode,
    b: &DemoNode,
) -> anyhow::Result<comity_node::statistics::Reconciliation> {
    let key = |k: &str| {
        comity_tlog::Ed25519Verifier::parse(k).map_err(|e| anyhow::anyhow!("log key: {e}"))
    };
    let a_log = super::log::fetch_log(http, &a.base, &key(&a.log_key)?).await?;
    let b_log = super::log::fetch_log(http, &b.base, &key(&b.log_key)?).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let year = comity_node::statistics::Period {
        from: time::Date::from_calendar_date(today.year(), time::Month::January, 1)?,
        to: today,
    };
    Ok(comity_node::statistics::reconcile(
        &a_log.leaves,
        IsoCountry::parse("FR")?,
        &b_log.leaves,
        IsoCountry::parse("BR")?,
        year,
    ))
}

/// The provider's data, sealed by the central authority that executed the request, inside its node: its own key
/// signs, the recipient's age key comes from the directory, and the package names the request's thread (`thread`,
/// fr-central's request id). Returns the package and its seal statement.
async fn seal_for_requester(
    root: &Path,
    thread: &str,
    operator: comity_seal::PublicKey,
) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let root = root.to_owned();
    let thread = thread.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(PathBuf, Vec<u8>)> {
        let data = root.join("br-hosting").join("production");
        std::fs::create_dir_all(&data)?;
        std::fs::write(
            data.join("messages.jsonl"),
            b"{\"from\":\"cust-4411\",\"text\":\"...\"}\n",
        )?;
        std::fs::write(
            data.join("subscriber.json"),
            b"{\"account\":\"cust-4411\",\"created\":\"2025-03-02\"}\n",
        )?;
        let host = root.join("br-central");
        let producer = NodeSigningKey::read(&host.join(config::SIGNING_KEY_FILE))?;
        let envelope =
            comity_seal::Envelope::from_json(&std::fs::read(host.join(config::DIRECTORY_FILE))?)?;
        let directory =
            comity_node::federation::directory::Directory::verify(&envelope, &operator)?;
        let recipient = directory
            .authority("fr-central")
            .context("fr-central is not in br-central's directory")?
            .entry
            .age_recipient
            .parse()
            .map_err(|_| anyhow::anyhow!("fr-central's age recipient is malformed"))?;
        let package = host.join("answer.age");
        comity_evidence::seal(
            comity_evidence::SealOptions {
                recipients: vec![recipient],
                signing_key: &producer,
                request_id: Some(thread),
                source_organization:
                    "Brazil, central authority (br-central), data produced by Example Hosting Ltda"
                        .into(),
                legal_basis: Some(
                    "BC Art 31; mutual legal assistance request executed by br-central".into(),
                ),
                confidentiality: Some("confidential: criminal investigation".into()),
                speciality: Some("use only in the proceedings named in the request".into()),
                inputs: vec![data],
                progress: None,
            },
            &package,
        )?;
        let statement = std::fs::read(comity_evidence::statement_path(&package))?;
        Ok((package, statement))
    })
    .await?
}

/// Attaches a sealed package to a request over the API, as `comity evidence send` does on the node directory.
async fn attach(
    http: &reqwest::Client,
    node: &DemoNode,
    request: &str,
    package: &Path,
    statement: &[u8],
) -> anyhow::Result<()> {
    use base64::Engine;
    let response = http
        .post(format!("{}/api/v1/requests/{request}/evidence", node.base))
        .bearer_auth(&node.token)
        .header(
            "comity-seal-statement",
            base64::engine::general_purpose::STANDARD.encode(statement),
        )
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(package)?)
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status == 201, "HTTP {status}: {}", response.text().await?);
    Ok(())
}

/// France downloads the package and its statement, then opens and verifies it with its age identity against the
/// provider's key.
async fn open_received(
    http: &reqwest::Client,
    node: &DemoNode,
    root: &Path,
    evidence: &Value,
) -> anyhow::Result<()> {
    let url = format!(
        "{}{}",
        node.base,
        evidence["package_url"].as_str().context("no package_url")?
    );
    let get = |url: String| async move {
        let response = http.get(url).bearer_auth(&node.token).send().await?;
        anyhow::ensure!(response.status() == 200, "HTTP {}", response.status());
        Ok::<_, anyhow::Error>(response.bytes().await?)
    };
    let package = root.join("fr-central").join("received.age");
    std::fs::write(&package, get(url.clone()).await?)?;
    std::fs::write(
        comity_evidence::statement_path(&package),
        get(format!("{url}/statement")).await?,
    )?;
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let identity = comity_seal::keys::read_age_identity(
            &root.join("fr-central").join(config::AGE_IDENTITY_FILE),
        )?;
        let producer =
            NodeSigningKey::read(&root.join("br-central").join(config::SIGNING_KEY_FILE))?;
        comity_evidence::open(
            &package,
            &identity,
            &root.join("fr-central").join("received-evidence"),
        )?;
        comity_evidence::verify(&package, Some(&identity), Some(&producer.public_key()))?;
        Ok(())
    })
    .await?
}

/// An emergency request claiming to come from fr-247 but signed with another key.
fn forged_message() -> Vec<u8> {
    let thief = NodeSigningKey::generate();
    let payload = comity_node::federation::message::MessagePayload {
        message_id: "msg-forged".into(),
        thread: "req-forged".into(),
        kind: "request".into(),
        sender: "fr-247".into(),
        recipient: "br-247".into(),
        created_at: comity_node::wire::rfc3339(time::OffsetDateTime::now_utc()),
        prev: String::new(),
        body: json!({"document": preservation(), "requesting_state": "FR", "case_reference": "X"}),
    };
    payload.seal(&thief).1
}
