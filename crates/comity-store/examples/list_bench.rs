//! Latency of listing and searching requests with a million stored, on SQLite or PostgreSQL (see `bench/store/`).
//!
//! Usage: `list_bench sqlite PATH [rows] [queries]` or `list_bench postgres URL [rows] [queries]` (PostgreSQL tables
//! go in schema `comity_bench`). The first run loads `rows` requests (default 1,000,000) spread over cases, states,
//! mechanisms and urgencies roughly as a busy authority would have them; later runs reuse them. Each query kind then
//! runs `queries` times (default 300) with random parameters, one at a time, and the percentiles are printed as
//! Markdown table rows. With `queries` 0 it only loads.

use std::time::{Duration, Instant};

use comity_store::postgres::PostgresStore;
use comity_store::sqlite::SqliteStore;
use comity_store::{CaseRecord, Import, RequestFilter, RequestOrder, RequestRecord, Store};
use time::OffsetDateTime;

const CASES_PER_REQUEST: u64 = 10;
const BATCH: u64 = 5000;
/// The page a list shows.
const PAGE: u32 = 100;

const MECHANISMS: &[(&str, u32)] = &[
    ("mlat", 35),
    ("expedited-preservation", 25),
    ("e-evidence-production", 20),
    ("e-evidence-preservation", 10),
    ("budapest-art-29", 7),
    ("joint-investigation", 3),
];
const STATES: &[(&str, u32)] = &[
    ("closed", 55),
    ("answered", 15),
    ("in-progress", 10),
    ("sent", 8),
    ("acknowledged", 5),
    ("refused", 3),
    ("withdrawn", 2),
    ("draft", 2),
];
const URGENCIES: &[(&str, u32)] = &[("normal", 85), ("urgent", 12), ("emergency", 3)];

/// A small deterministic generator (xorshift64*), so every run loads the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn weighted(&mut self, table: &[(&'static str, u32)]) -> &'static str {
        let total: u32 = table.iter().map(|t| t.1).sum();
        let mut pick = u32::try_from(self.below(u64::from(total))).unwrap_or(0);
        for (name, weight) in table {
            if pick < *weight {
                return name;
            }
            pick -= weight;
        }
        table[0].0
    }
    fn any(&mut self, table: &[(&'static str, u32)]) -> &'static str {
        table[usize::try_from(self.below(table.len() as u64)).unwrap_or(0)].0
    }
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Three years of requests, the first on 2024-01-01.
const START_MS: i64 = 1_704_067_200_000;
const SPAN_MS: i64 = 3 * 365 * 24 * 3600 * 1000;

async fn load(store: &dyn Store, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let cases = rows.div_ceil(CASES_PER_REQUEST);
    let started = Instant::now();
    let mut rng = Rng(0x5eed_c0de);
    let step = SPAN_MS / i64::try_from(rows.max(1))?;
    for first in (0..cases).step_by(usize::try_from(BATCH)?) {
        let batch = (first..(first + BATCH).min(cases))
            .map(|i| {
                Ok(CaseRecord {
                    id: format!("case-{i:07}"),
                    reference: format!("FR-{}-{i:07}", 2024 + i * 3 / cases.max(1)),
                    title: format!("Investigation {i}"),
                    created_by: "investigator".into(),
                    created_at: at(START_MS + i64::try_from(i)? * step * 10),
                })
            })
            .collect::<Result<Vec<_>, std::num::TryFromIntError>>()?;
        store
            .import(Import {
                cases: batch,
                ..Import::default()
            })
            .await?;
    }
    let padding = "x".repeat(500);
    for first in (0..rows).step_by(usize::try_from(BATCH)?) {
        let mut batch = Vec::new();
        for i in first..(first + BATCH).min(rows) {
            let created = START_MS + i64::try_from(i)? * step;
            let state = rng.weighted(STATES);
            let running = matches!(state, "sent" | "acknowledged" | "in-progress");
            let version = match state {
                "draft" => 0,
                "sent" => 1,
                "acknowledged" => 2,
                "in-progress" => 3,
                _ => 4,
            };
            // Requests of one case are created close together.
            let case = (i / CASES_PER_REQUEST + rng.below(3)).min(cases - 1);
            batch.push(RequestRecord {
                id: format!("req-{i:07}"),
                case_id: format!("case-{case:07}"),
                mechanism: rng.weighted(MECHANISMS).into(),
                state: state.into(),
                document: format!(
                    "{{\"request\":{i},\"subject\":\"account data\",\"notes\":\"{padding}\"}}"
                ),
                urgency: rng.weighted(URGENCIES).into(),
                created_by: "investigator".into(),
                created_at: at(created),
                updated_at: at(created + 3_600_000 * version),
                next_due: running.then(|| {
                    at(created + 86_400_000 * (10 + i64::try_from(rng.below(80)).unwrap_or(0)))
                }),
                version: u64::try_from(version)?,
            });
        }
        store
            .import(Import {
                requests: batch,
                ..Import::default()
            })
            .await?;
        if (first / BATCH) % 20 == 19 {
            eprintln!(
                "loaded {} requests in {:.0?}",
                first + BATCH,
                started.elapsed()
            );
        }
    }
    store.set_meta("bench-rows", &rows.to_string()).await?;
    eprintln!("loaded {rows} requests in {:.1?}", started.elapsed());
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

type Query = fn(&mut Rng, u64) -> RequestFilter;

fn queries() -> Vec<(&'static str, Query)> {
    vec![
        ("list: newest", |_, _| RequestFilter {
            limit: PAGE,
            ..Default::default()
        }),
        ("list: one case", |rng, rows| RequestFilter {
            case_id: Some(format!(
                "case-{:07}",
                rng.below(rows.div_ceil(CASES_PER_REQUEST))
            )),
            limit: PAGE,
            ..Default::default()
        }),
        ("list: one state (any of 8)", |rng, _| RequestFilter {
            state: Some(rng.any(STATES).into()),
            limit: PAGE,
            ..Default::default()
        }),
        ("list: clocks due soonest", |_, _| RequestFilter {
            order: RequestOrder::Due,
            limit: PAGE,
            ..Default::default()
        }),
        ("search: urgency, by due clock", |rng, _| RequestFilter {
            urgency: Some(rng.any(URGENCIES).into()),
            order: RequestOrder::Due,
            limit: PAGE,
            ..Default::default()
        }),
        ("search: state + mechanism", |rng, _| RequestFilter {
            state: Some(rng.any(STATES).into()),
            mechanism: Some(rng.any(MECHANISMS).into()),
            limit: PAGE,
            ..Default::default()
        }),
        ("search: mechanism + urgency", |rng, _| RequestFilter {
            mechanism: Some(rng.any(MECHANISMS).into()),
            urgency: Some(rng.any(URGENCIES).into()),
            limit: PAGE,
            ..Default::default()
        }),
        ("search: state + mechanism + urgency", |rng, _| {
            RequestFilter {
                state: Some(rng.any(STATES).into()),
                mechanism: Some(rng.any(MECHANISMS).into()),
                urgency: Some(rng.any(URGENCIES).into()),
                limit: PAGE,
                ..Default::default()
            }
        }),
        ("search: state + mechanism, by due clock", |rng, _| {
            RequestFilter {
                state: Some(rng.any(STATES).into()),
                mechanism: Some(rng.any(MECHANISMS).into()),
                order: RequestOrder::Due,
                limit: PAGE,
                ..Default::default()
            }
        }),
        ("search: case + state", |rng, rows| RequestFilter {
            case_id: Some(format!(
                "case-{:07}",
                rng.below(rows.div_ceil(CASES_PER_REQUEST))
            )),
            state: Some(rng.any(STATES).into()),
            limit: PAGE,
            ..Default::default()
        }),
    ]
}

async fn measure(
    backend: &str,
    store: &dyn Store,
    rows: u64,
    runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(42);
    for (name, make) in queries() {
        for _ in 0..20 {
            store.requests(&make(&mut rng, rows)).await?;
        }
        let mut times = Vec::with_capacity(runs);
        let mut returned = 0usize;
        for _ in 0..runs {
            let filter = make(&mut rng, rows);
            let t = Instant::now();
            returned += store.requests(&filter).await?.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "| {backend} | {name} | {} | {} | {} | {} | {:.0} |",
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.95)),
            ms(percentile(&times, 0.99)),
            ms(percentile(&times, 1.0)),
            returned as f64 / runs as f64,
        );
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = format!("req-{:07}", rng.below(rows));
        let t = Instant::now();
        store.request(&id).await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "| {backend} | get one request by id | {} | {} | {} | {} | 1 |",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0)),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(backend), Some(location)) = (args.first(), args.get(1)) else {
        return Err("usage: list_bench sqlite PATH | postgres URL [rows] [queries]".into());
    };
    let rows: u64 = args.get(2).map_or(Ok(1_000_000), |r| r.parse())?;
    let runs: usize = args.get(3).map_or(Ok(300), |r| r.parse())?;
    let store: Box<dyn Store> = match backend.as_str() {
        "sqlite" => Box::new(SqliteStore::open(std::path::Path::new(location))?),
        "postgres" => Box::new(PostgresStore::connect_in_schema(location, "comity_bench").await?),
        other => return Err(format!("unknown backend `{other}`; use sqlite or postgres").into()),
    };
    match store.meta("bench-rows").await? {
        Some(n) if n == rows.to_string() => eprintln!("reusing {rows} stored requests"),
        Some(n) => {
            return Err(format!(
                "the bench store holds {n} requests, not {rows}; remove it and run again"
            )
            .into());
        }
        None => load(store.as_ref(), rows).await?,
    }
    if runs == 0 {
        return Ok(());
    }
    measure(backend, store.as_ref(), rows, runs).await
}
