//! Three `comity serve` processes on one PostgreSQL database and one node directory behave as one node: under load,
//! with the process that sequences the log killed (SIGKILL) mid-way while it holds claimed messages for a peer that
//! has stopped answering, every acknowledged request is kept, the peer receives each message exactly once, the log
//! verifies and holds each event once, and expiry clocks fire once.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use comity_node::config;
use comity_node::database::Database;
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::{CLOCK_ACTOR, ManualClock};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput};
use comity_seal::keys::NodeSigningKey;
use comity_store::{EventRecord, Transition};
use serde_json::{Value, json};

/// After this many acknowledged requests in all, the sequencing process is killed.
const KILL_AFTER: usize = 30;
/// Acknowledged requests the survivors must add after the kill before the load stops.
const AFTER_KILL: usize = 30;
/// Backdated preservations whose expiry clock ran out long ago.
const EXPIRED: usize = 4;

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("USER", "tester")
        .env_remove("COMITY_DATABASE")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn init(dir: &Path, authority: &str, state: &str) {
    ok(&comity(&[
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--authority",
        authority,
        "--state",
        state,
        "--kind",
        "contact-point",
        "--name",
        authority,
    ]));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var("COMITY_TEST_POSTGRES_URL") {
        return Some(url);
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .ok()
        .map(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema, dropped at the end; `url` points into it.
struct Schema {
    url: String,
    name: String,
    client: tokio_postgres::Client,
}

impl Schema {
    async fn new(base: &str) -> Self {
        let name = format!(
            "comity_scale_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{base}{sep}options=-csearch_path%3D{name}"),
            name,
            client,
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        let sql = sql.replace("SCHEMA", &self.name);
        self.client.query_one(&sql, &[]).await.unwrap().get(0)
    }

    async fn drop_schema(&self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if self.client.batch_execute(&sql).await.is_err() {
            eprintln!("could not drop test schema `{}`", self.name);
        }
    }
}

/// Serving processes, killed when the test ends whatever happens.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn serve(dir: &Path, port: u16, database: Option<&str>, log: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_comity"));
    command
        .args([
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--insecure-http",
        ])
        .env_remove("COMITY_DATABASE")
        .env("COMITY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    command.spawn().unwrap()
}

fn preservation() -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs"}],
        "relation_to_offence": "origin",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire",
        "follow_up_mla_intent": true,
        "urgency": "urgent",
        "language": "en"
    })
}

/// A European preservation order: its preservation ends by an expiry clock, 60 days after `preserve`.
fn eev_preservation() -> Value {
    let mut doc = preservation();
    doc["instrument"] = json!("EEV");
    doc["requested_state"] = json!("DE");
    doc
}

/// Signs a directory with both nodes and writes it into each node directory, pinning the operator.
fn publish_directory(nodes: &[(&Path, &str, u16)]) {
    let operator = NodeSigningKey::from_seed([42; 32]);
    let authorities = nodes
        .iter()
        .map(|(dir, id, port)| {
            let node = config::open(dir).unwrap();
            DirectoryEntry {
                id: (*id).into(),
                state: node.identity.state.to_string(),
                kind: node.identity.kind.to_string(),
                name: (*id).into(),
                languages: vec!["en".into()],
                hours: "24/7".into(),
                on_call: String::new(),
                endpoint: format!("http://127.0.0.1:{port}"),
                signing_key: node.identity.signing_public_key.clone(),
                age_recipient: node.identity.age_recipient.clone(),
                tls_cert_sha256: None,
                declarations: String::new(),
                valid_from: "2026-01-01T00:00:00Z".into(),
                valid_until: "2036-12-31T00:00:00Z".into(),
                revoked: None,
                log_key: None,
            }
        })
        .collect();
    let env = DirectoryDocument {
        version: 1,
        issued_at: "2026-11-23T00:00:00Z".into(),
        operator: "test".into(),
        authorities,
    }
    .sign(&operator);
    for (dir, _, _) in nodes {
        let mut node = config::open(dir).unwrap();
        node.pin_directory_operator(&operator.public_key()).unwrap();
        std::fs::write(dir.join(config::DIRECTORY_FILE), env.to_json()).unwrap();
    }
}

/// Preservations preserved 200 days ago, before the node had a directory (so nothing is sent): their expiry clock
/// has run out, and the serving processes' sweepers must expire each exactly once.
async fn backdated_preservations(dir: &Path, url: &str) -> Vec<String> {
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(200);
    let database = Database::parse(url).unwrap();
    let node = Node::connect(dir, Some(&database), Arc::new(ManualClock::new(then)))
        .await
        .unwrap();
    let service = &node.service;
    let case = service
        .create_case(
            CaseInput {
                reference: "FR-OLD".into(),
                title: "old preservations".into(),
            },
            "alice",
        )
        .await
        .unwrap();
    let store = node.store().shared();
    let mut ids = Vec::new();
    for _ in 0..EXPIRED {
        let document: RequestInput = serde_json::from_value(eev_preservation()).unwrap();
        let r = service
            .create_request(
                NewRequestInput {
                    case_id: case.id.clone(),
                    document,
                },
                "alice",
            )
            .await
            .unwrap();
        for (seq, (action, from, to)) in [
            ("send", "draft", "sent"),
            ("receive", "sent", "received"),
            ("preserve", "received", "active"),
        ]
        .into_iter()
        .enumerate()
        {
            let seq = seq as u64 + 1;
            store
                .transition(Transition {
                    event: EventRecord {
                        request_id: r.id.clone(),
                        seq,
                        action: action.into(),
                        from_state: from.into(),
                        to_state: to.into(),
                        actor: "alice".into(),
                        at: then,
                        reason: None,
                        detail: json!({"grounds": []}).to_string(),
                    },
                    expected_version: seq - 1,
                    next_due: (to == "active").then(|| then + time::Duration::days(60)),
                    document: None,
                    link: None,
                    outbox: None,
                })
                .await
                .unwrap();
        }
        ids.push(r.id);
    }
    node.store().close();
    ids
}

async fn wait_healthy(http: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return;
        }
        assert!(Instant::now() < deadline, "port {port} never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a case and a request and sends it, through the process on `port`. Returns the request id once the send
/// is acknowledged, or `None` when the process did not answer (it was killed).
async fn one_request(http: &reqwest::Client, port: u16, token: &str, n: usize) -> Option<String> {
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let case: Value = http
        .post(format!("{base}/cases"))
        .bearer_auth(token)
        .json(&json!({"reference": format!("FR-{port}-{n}"), "title": "load"}))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    let request: Value = http
        .post(format!("{base}/requests"))
        .bearer_auth(token)
        .json(&json!({"case_id": case["id"], "document": preservation()}))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    let id = request["id"].as_str()?.to_owned();
    let sent = http
        .post(format!("{base}/requests/{id}/transitions"))
        .bearer_auth(token)
        .json(&json!({"action": "send", "recipient": "br-247"}))
        .send()
        .await
        .ok()?;
    assert!(
        sent.status().is_success(),
        "send refused: {}",
        sent.text().await.unwrap_or_default()
    );
    Some(id)
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn signal(which: &str, pid: &str) {
    let status = Command::new("kill").args([which, pid]).status().unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

/// What the serving processes said about clocks, leases and the log, for a failure message.
fn process_logs(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines().filter(|l| {
            l.contains("WARN")
                || l.contains("ERROR")
                || l.contains("expire")
                || l.contains("sequenc")
        }) {
            out.push_str(&format!("{}: {line}\n", path.display()));
        }
    }
    out
}

fn log_size(checkpoint: &str) -> u64 {
    checkpoint.lines().nth(1).unwrap().parse().unwrap()
}

fn pid_of(holder: &str) -> u32 {
    holder.split('-').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_serve_one_node_through_a_kill() {
    let Some(base) = postgres_url() else {
        println!("skipped: no PostgreSQL (set COMITY_TEST_POSTGRES_URL)");
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let fr = tmp.path().join("fr");
    let br = tmp.path().join("br");
    init(&fr, "fr-247", "FR");
    init(&br, "br-247", "BR");
    let schema = Schema::new(&base).await;
    let expired = backdated_preservations(&fr, &schema.url).await;

    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let br_port = free_port();
    publish_directory(&[(&fr, "fr-247", ports[0]), (&br, "br-247", br_port)]);
    let logs: PathBuf = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut processes = Processes(vec![serve(&br, br_port, None, &logs.join("br.log"))]);
    for (i, port) in ports.iter().enumerate() {
        processes.0.push(serve(
            &fr,
            *port,
            Some(&schema.url),
            &logs.join(format!("fr-{i}.log")),
        ));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for port in ports.iter().chain([&br_port]) {
        wait_healthy(&http, *port).await;
    }
    let token = std::fs::read_to_string(fr.join(config::API_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned();
    let br_token = std::fs::read_to_string(br.join(config::API_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned();

    // Which process sequences the log: that is the one to kill.
    let mut sequencer_pid = 0;
    wait_for("a log sequencer", Duration::from_secs(10), async || {
        let rows = schema
            .client
            .query(
                &format!(
                    "SELECT holder FROM {}.leases WHERE name = 'log-sequencer'",
                    schema.name
                ),
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            sequencer_pid = pid_of(row.get::<_, &str>(0));
        }
        sequencer_pid != 0
    })
    .await;
    let victim = processes
        .0
        .iter()
        .position(|c| c.id() == sequencer_pid)
        .unwrap();
    let victim_port = ports[victim - 1];

    // Load: one client per process, creating and sending requests; the sequencing process is killed mid-way.
    // Each client runs until told to stop, or until its process stops answering (then it says so).
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for port in ports.clone() {
        let (http, token, acknowledged, stop) = (
            http.clone(),
            token.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        clients.spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match one_request(&http, port, &token, n).await {
                    Some(id) => acknowledged.lock().unwrap().push(id),
                    None => return (port, false),
                }
                n += 1;
            }
            (port, true)
        });
    }
    wait_for(
        "load before the kill",
        Duration::from_secs(60),
        async || acknowledged.lock().unwrap().len() >= KILL_AFTER,
    )
    .await;
    // The peer stops answering (SIGSTOP): deliveries hang with their messages claimed. Once the victim holds some,
    // it is killed; its claims outlive it, and the survivors must send those messages once the claims run out.
    let peer_pid = processes.0[0].id().to_string();
    signal("-STOP", &peer_pid);
    let claimed_by_victim = format!(
        "SELECT message_id FROM {}.outbox WHERE delivered_ms IS NULL AND claimed_by LIKE 'deliver-{sequencer_pid}-%'",
        schema.name
    );
    let mut orphaned = Vec::new();
    wait_for(
        "the victim to claim messages",
        Duration::from_secs(20),
        async || {
            orphaned = schema
                .client
                .query(&claimed_by_victim, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect();
            !orphaned.is_empty()
        },
    )
    .await;
    // Let it claim the rest of its round too, then take the final list just before the kill.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    orphaned = schema
        .client
        .query(&claimed_by_victim, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    processes.0[victim].kill().unwrap();
    processes.0[victim].wait().unwrap();
    signal("-CONT", &peer_pid);
    let at_kill = acknowledged.lock().unwrap().len();
    wait_for(
        "the survivors to carry on",
        Duration::from_secs(60),
        async || acknowledged.lock().unwrap().len() >= at_kill + AFTER_KILL,
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(joined) = clients.join_next().await {
        let (port, finished) = joined.unwrap();
        assert_eq!(
            finished,
            port != victim_port,
            "only the killed process's client was cut off (port {port})"
        );
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let survivors: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|p| *p != victim_port)
        .collect();

    // Every message is delivered, those the killed process had claimed too, once their claim ran out.
    wait_for(
        "every message delivered",
        Duration::from_secs(60),
        async || {
            schema
                .count("SELECT count(*) FROM SCHEMA.outbox WHERE delivered_ms IS NULL")
                .await
                == 0
        },
    )
    .await;
    assert_eq!(
        schema
            .count("SELECT count(*) FROM SCHEMA.outbox WHERE failed IS NOT NULL")
            .await,
        0
    );
    for message in &orphaned {
        let by_survivor = schema
            .count(&format!(
                "SELECT count(*) FROM SCHEMA.outbox WHERE message_id = '{message}' AND receipt IS NOT NULL"
            ))
            .await;
        assert_eq!(by_survivor, 1, "{message}, claimed by the killed process");
    }

    // Every acknowledged request exists, was sent once, and its message went out once.
    let sent = schema
        .client
        .query(
            &format!(
                "SELECT r.id, r.state, (SELECT count(*) FROM {0}.outbox o WHERE o.thread = r.id)
                 FROM {0}.requests r JOIN {0}.request_links l ON l.request_id = r.id",
                schema.name
            ),
            &[],
        )
        .await
        .unwrap();
    let sent: HashMap<String, (String, i64)> = sent
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    for id in &acknowledged {
        let (state, messages) = sent
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged request {id} is missing"));
        assert_eq!(*messages, 1, "{id}");
        assert!(state == "sent" || state == "received", "{id} is {state}");
    }

    // The peer holds exactly one incoming request per message sent: none lost, none twice.
    let base_br = format!("http://127.0.0.1:{br_port}/api/v1");
    let listed: Value = http
        .get(format!("{base_br}/requests?limit=1000"))
        .bearer_auth(&br_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut threads = Vec::new();
    for r in listed["requests"].as_array().unwrap() {
        let view: Value = http
            .get(format!("{base_br}/requests/{}", r["id"].as_str().unwrap()))
            .bearer_auth(&br_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        threads.push(view["exchange"]["thread"].as_str().unwrap().to_owned());
    }
    let distinct: HashSet<&String> = threads.iter().collect();
    assert_eq!(distinct.len(), threads.len(), "a message arrived twice");
    let expected: HashSet<&String> = sent.keys().collect();
    assert_eq!(distinct, expected, "the peer's requests are the ones sent");

    // Clocks fired once: each backdated preservation expired by the sweeper exactly once.
    for id in &expired {
        let fired = schema
            .count(&format!(
                "SELECT count(*) FROM SCHEMA.events WHERE request_id = '{id}' AND action = 'expire' AND actor = '{CLOCK_ACTOR}'"
            ))
            .await;
        assert_eq!(fired, 1, "{id}: {}", process_logs(&logs));
    }

    // The log: a survivor took over sequencing and caught up, each event once; the log verifies.
    let events = schema.count("SELECT count(*) FROM SCHEMA.events").await;
    let checkpoint_url = format!("http://127.0.0.1:{}/log/checkpoint", survivors[0]);
    wait_for("the log to catch up", Duration::from_secs(30), async || {
        let Ok(r) = http.get(&checkpoint_url).send().await else {
            return false;
        };
        log_size(&r.text().await.unwrap_or_default()) == u64::try_from(events).unwrap()
    })
    .await;
    wait_for(
        "the log notes to be cleared",
        Duration::from_secs(10),
        async || {
            schema
                .count("SELECT count(*) FROM SCHEMA.log_pending")
                .await
                == 0
        },
    )
    .await;
    let index = std::fs::read_to_string(fr.join("log").join("events.idx")).unwrap();
    let mut leaves = HashSet::new();
    let mut logged = HashSet::new();
    for line in index.lines() {
        let mut parts = line.split(' ');
        let leaf: u64 = parts.next().unwrap().parse().unwrap();
        let key = (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        );
        assert!(leaves.insert(leaf), "leaf {leaf} indexed twice");
        assert!(logged.insert(key.clone()), "event {key:?} logged twice");
    }
    assert_eq!(logged.len() as i64, events, "each event once");
    let fr_config = config::open(&fr).unwrap();
    let log_key = fr_config.config.log_public_key.clone().unwrap();
    let verified = ok(&comity(&[
        "log",
        "verify",
        "--url",
        &format!("http://127.0.0.1:{}", survivors[1]),
        "--log-key",
        &log_key,
        "--state-file",
        tmp.path().join("verify.state").to_str().unwrap(),
    ]));
    assert!(verified.contains(&events.to_string()), "{verified}");

    drop(processes);
    schema.drop_schema().await;
    println!(
        "{} requests acknowledged, {} messages re-sent after the kill, {} events logged, in {:?}",
        acknowledged.len(),
        orphaned.len(),
        events,
        started.elapsed()
    );
}
