//! Federation benchmark over TLS on loopback: signed messages POSTed to a node's federation endpoint through the
//! pinned HTTPS client, each verified, stored durably and answered with a signed receipt that the sender verifies;
//! a bare HTTPS POST to a trivial endpoint on the same TLS stack is measured in the same run as the floor.
//!
//! Run with `bench/federation/run.sh` (release build). Arguments: `[seconds per phase] [concurrency] [rate per second]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark aborts on any failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::federation::message::{MessagePayload, ReceiptPayload};
use comity_node::server::Node;
use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};
use serde_json::json;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// What one call posts: a freshly signed request message (a new thread each time), or the floor's fixed body.
#[derive(Clone)]
enum Call {
    Deliver {
        key: Arc<NodeSigningKey>,
        receiver: PublicKey,
    },
    Floor,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn signed_request(key: &NodeSigningKey) -> (String, Vec<u8>) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let id = format!("bench-{}-{n}", std::process::id());
    let document = json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion into a hospital network",
        "data_sought": [{"category": "traffic", "description": "connection logs"}],
        "relation_to_offence": "origin of the intrusion",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire after 7 days",
        "follow_up_mla_intent": true,
        "urgency": "urgent",
        "language": "en",
        "requesting_authority": "fr-247"
    });
    let payload = MessagePayload {
        message_id: format!("msg-{id}"),
        thread: format!("req-{id}"),
        kind: "request".into(),
        sender: "fr-247".into(),
        recipient: "br-247".into(),
        created_at: comity_node::wire::rfc3339(time::OffsetDateTime::now_utc()),
        prev: String::new(),
        body: json!({"document": document, "requesting_state": "FR", "case_reference": id}),
    };
    (payload.message_id.clone(), payload.seal(key).1)
}

async fn call(client: &reqwest::Client, url: &str, what: &Call) {
    match what {
        Call::Floor => {
            let resp = client
                .post(url)
                .header("content-type", "application/json")
                .body(r#"{"ping":true}"#)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            resp.bytes().await.unwrap();
        }
        Call::Deliver { key, receiver } => {
            let (id, body) = signed_request(key);
            let resp = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let bytes = resp.bytes().await.unwrap();
            let receipt = ReceiptPayload::verify(&Envelope::from_json(&bytes).unwrap(), receiver)
                .expect("a receipt signed by the receiver");
            assert!(receipt.accepted && receipt.message_id == id, "{receipt:?}");
        }
    }
}

async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    what: &Call,
    concurrency: usize,
    seconds: u64,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, what, done) =
            (client.clone(), url.to_owned(), what.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                call(&client, &url, &what).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Sends at a fixed rate; latency counts from the scheduled start, so a stall is not hidden.
async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    what: &Call,
    rate: u64,
    seconds: u64,
) -> Vec<f64> {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..rate * seconds {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, url, what) = (client.clone(), url.to_owned(), what.clone());
        tasks.push(tokio::spawn(async move {
            call(&client, &url, &what).await;
            scheduled.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.push(t.await.unwrap());
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

async fn init(
    root: &std::path::Path,
    id: &str,
    state: &str,
    operator: &NodeSigningKey,
) -> std::path::PathBuf {
    let dir = root.join(id);
    let params = InitParams {
        authority: AuthorityId::parse(id).unwrap(),
        state: IsoCountry::parse(state).unwrap(),
        kind: AuthorityKind::ContactPoint,
        name: id.into(),
    };
    let mut node_dir = config::init(&dir, &params, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    node_dir
        .pin_directory_operator(&operator.public_key())
        .unwrap();
    dir
}

fn entry(dir: &std::path::Path, endpoint: &str) -> DirectoryEntry {
    let d = config::open(dir).unwrap();
    let now = time::OffsetDateTime::now_utc();
    DirectoryEntry {
        id: d.identity.authority.to_string(),
        state: d.identity.state.to_string(),
        kind: d.identity.kind.to_string(),
        name: d.identity.name.clone(),
        languages: vec!["en".into()],
        hours: "24/7".into(),
        on_call: String::new(),
        endpoint: endpoint.into(),
        signing_key: d.identity.signing_public_key.clone(),
        age_recipient: d.identity.age_recipient.clone(),
        tls_cert_sha256: d.config.tls_cert_sha256.clone(),
        declarations: String::new(),
        valid_from: comity_node::wire::rfc3339(now - time::Duration::days(1)),
        valid_until: comity_node::wire::rfc3339(now + time::Duration::days(30)),
        revoked: None,
        log_key: None,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let seconds = args.first().copied().unwrap_or(10);
    let concurrency = args.get(1).copied().unwrap_or(32) as usize;
    let rate = args.get(2).copied().unwrap_or(100);

    let tmp = tempfile::tempdir().unwrap();
    let operator = NodeSigningKey::generate();
    let fr = init(tmp.path(), "fr-247", "FR", &operator).await;
    let br = init(tmp.path(), "br-247", "BR", &operator).await;

    let node = Node::open(&br).unwrap();
    let listener = node.bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let directory = DirectoryDocument {
        version: 1,
        issued_at: comity_node::wire::rfc3339(time::OffsetDateTime::now_utc()),
        operator: "bench".into(),
        authorities: vec![entry(&fr, "https://127.0.0.1:9"), entry(&br, &base)],
    }
    .sign(&operator);
    node.service
        .federation()
        .install_directory(&directory)
        .unwrap();
    let pin = node.tls_cert_sha256.clone();
    let receiver: PublicKey = config::open(&br)
        .unwrap()
        .identity
        .signing_public_key
        .parse()
        .unwrap();
    let server = tokio::spawn(node.serve_tls(listener, std::future::pending()));

    // The floor: a trivial POST handler behind the same TLS listener, certificate and client.
    let floor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let floor_url = format!("https://{}/ping", floor_listener.local_addr().unwrap());
    let floor_app = axum::Router::new().route(
        "/ping",
        axum::routing::post(|body: bytes::Bytes| async move { body }),
    );
    let tls = comity_node::tls::server_config(&br).unwrap();
    let floor_server = tokio::spawn(comity_node::server::serve_router_tls(
        floor_listener,
        floor_app,
        tls,
        std::future::pending(),
    ));

    let client = comity_node::tls::pinned_client(&[&pin]).unwrap();
    let deliver = Call::Deliver {
        key: Arc::new(NodeSigningKey::read(&fr.join(config::SIGNING_KEY_FILE)).unwrap()),
        receiver,
    };
    let url = format!("{base}/federation/v1/messages");
    // Warm up connections and caches.
    closed_loop(&client, &floor_url, &Call::Floor, concurrency, 1).await;
    closed_loop(&client, &url, &deliver, concurrency, 1).await;

    let floor = closed_loop(&client, &floor_url, &Call::Floor, concurrency, seconds).await;
    let deliveries = closed_loop(&client, &url, &deliver, concurrency, seconds).await;
    let floor_lat = open_loop(&client, &floor_url, &Call::Floor, rate, seconds).await;
    let latencies = open_loop(&client, &url, &deliver, rate, seconds).await;

    println!("floor_posts_per_s={floor:.0}");
    println!("deliveries_per_s={deliveries:.0}");
    println!("delivery_vs_floor_ratio={:.3}", deliveries / floor);
    println!(
        "floor_p50_ms={:.2} floor_p99_ms={:.2}",
        percentile(&floor_lat, 0.50),
        percentile(&floor_lat, 0.99)
    );
    println!(
        "delivery_p50_ms={:.2} delivery_p99_ms={:.2} delivery_max_ms={:.2} n={}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    server.abort();
    floor_server.abort();
}
