//! Load benchmark against running `comity serve` processes: closed-loop throughput of durable request creation,
//! spread round-robin over the given URLs, which serve one node (one PostgreSQL database) with one token.
//!
//! Run with `bench/scale/run.sh`. Arguments: `SECONDS CONCURRENCY TOKEN URL...`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark aborts on any failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(args.len() >= 4, "usage: SECONDS CONCURRENCY TOKEN URL...");
    let seconds: u64 = args[0].parse().expect("seconds");
    let concurrency: usize = args[1].parse().expect("concurrency");
    let token = args[2].clone();
    let bases: Vec<String> = args[3..].to_vec();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let reference = format!("BENCH-{}", uuid::Uuid::now_v7().simple());
    let case: serde_json::Value = client
        .post(format!("{}/api/v1/cases", bases[0]))
        .bearer_auth(&token)
        .json(&json!({"reference": reference, "title": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body =
        bytes::Bytes::from(json!({"case_id": case["id"], "document": document()}).to_string());

    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        // Each client sticks to one process, so the processes share the clients evenly.
        let url = format!("{}/api/v1/requests", bases[i % bases.len()]);
        let (client, token, body, done) =
            (client.clone(), token.clone(), body.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = done.load(Ordering::Relaxed);
    println!(
        "processes={} creates={total} creates_per_s={:.0}",
        bases.len(),
        total as f64 / started.elapsed().as_secs_f64()
    );
}
