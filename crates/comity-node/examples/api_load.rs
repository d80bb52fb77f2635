//! Load benchmark of the request API on the embedded store: closed-loop throughput of durable request creation, and
//! open-loop latency at a fixed rate, with `GET /healthz` on the same stack measured in the same run as the floor.
//!
//! Run with `bench/api/run.sh` (release build). Arguments: `[seconds per phase] [concurrency] [rate per second]`.
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
use comity_node::server::Node;
use serde_json::json;

fn document() -> serde_json::Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion into a hospital network",
        "data_sought": [{"category": "traffic", "description": "connection logs",
            "identifiers": [{"type": "ip-address", "address": "198.51.100.23", "observed_at": "2026-11-21T02:14:00+01:00"}]}],
        "relation_to_offence": "origin of the intrusion",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire after 7 days",
        "follow_up_mla_intent": true,
        "urgency": "urgent",
        "language": "en"
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Option<bytes::Bytes>,
    concurrency: usize,
    seconds: u64,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token, body, done) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            body.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let req = match &body {
                    Some(b) => client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(b.clone()),
                    None => client.get(&url),
                };
                let resp = req.send().await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.unwrap();
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
    token: &str,
    body: bytes::Bytes,
    rate: u64,
    seconds: u64,
) -> Vec<f64> {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..rate * seconds {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, url, token, body) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            resp.bytes().await.unwrap();
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

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let seconds = args.first().copied().unwrap_or(10);
    let concurrency = args.get(1).copied().unwrap_or(64) as usize;
    let rate = args.get(2).copied().unwrap_or(200);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let params = InitParams {
        authority: AuthorityId::parse("fr-247").unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind: AuthorityKind::ContactPoint,
        name: "bench".into(),
    };
    config::init(&dir, &params, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let node = Node::open(&dir).unwrap();
    let token = node.token.clone();
    let listener = node.bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(node.serve(listener, std::future::pending()));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let case: serde_json::Value = client
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(&token)
        .json(&json!({"reference": "BENCH-1", "title": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body =
        bytes::Bytes::from(json!({"case_id": case["id"], "document": document()}).to_string());
    let url = format!("{base}/api/v1/requests");

    let floor = closed_loop(
        &client,
        &format!("{base}/healthz"),
        &token,
        None,
        concurrency,
        seconds,
    )
    .await;
    let creates = closed_loop(
        &client,
        &url,
        &token,
        Some(body.clone()),
        concurrency,
        seconds,
    )
    .await;
    let latencies = open_loop(&client, &url, &token, body, rate, seconds).await;

    println!("healthz_per_s={floor:.0}");
    println!("creates_per_s={creates:.0}");
    println!("create_vs_healthz_ratio={:.3}", creates / floor);
    println!(
        "open_loop_rate={rate} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} n={}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len()
    );
    server.abort();
}
