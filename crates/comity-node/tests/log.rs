//! The event log through the node: every transition logged after the store commit, catch-up after a crash, offline
//! proofs, the public tile routes, statistics, and witnessing between nodes over real listeners.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::eventlog::leaf::{self, Leaf, Side};
use comity_node::eventlog::proof::{self, Opening, ProofError};
use comity_node::eventlog::witness::{Refusal, add_checkpoint_body};
use comity_node::eventlog::{LogReader, read_keys};
use comity_node::server::Node;
use comity_node::service::ManualClock;
use comity_node::wire::{CaseInput, NewRequestInput, TransitionInput};
use comity_tlog::{Checkpoint, FileLog, Note};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-23 03:00 UTC);

async fn init(root: &Path, name: &str, kind: AuthorityKind) -> PathBuf {
    let dir = root.join(name);
    let params = InitParams {
        authority: AuthorityId::parse(name).unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind,
        name: name.into(),
    };
    config::init(&dir, &params, NOW).await.unwrap();
    dir
}

fn open(dir: &Path) -> Node {
    Node::open_with_clock(dir, Arc::new(ManualClock::new(NOW))).unwrap()
}

/// A preservation request walked to `expired`; returns its id and the number of events.
async fn walk(node: &Node) -> (String, u64) {
    let s = &node.service;
    let case = s
        .create_case(
            serde_json::from_value::<CaseInput>(
                json!({"reference": format!("R-{}", uuid()), "title": "t"}),
            )
            .unwrap(),
            "test",
        )
        .await
        .unwrap();
    let doc = json!({
        "mechanism": "expedited-preservation", "requested_state": "BR", "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs",
            "identifiers": [{"type": "ip-address", "address": "2001:db8::1", "observed_at": "2026-11-20T03:14:00-03:00"}]}],
        "relation_to_offence": "origin", "custodian_or_location": "Example Hosting", "necessity": "logs expire",
        "follow_up_mla_intent": true, "language": "en"
    });
    let req = s
        .create_request(
            serde_json::from_value::<NewRequestInput>(json!({"case_id": case.id, "document": doc}))
                .unwrap(),
            "test",
        )
        .await
        .unwrap();
    let actions = ["send", "receive", "preserve", "expire"];
    for action in actions {
        s.transition(
            &req.id,
            serde_json::from_value::<TransitionInput>(json!({"action": action})).unwrap(),
            "test",
        )
        .await
        .unwrap();
    }
    (req.id, actions.len() as u64)
}

fn uuid() -> String {
    format!("{:x}", rand_id())
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn reader(dir: &Path) -> LogReader {
    LogReader::new(dir, config::open(dir).unwrap().log_verifier().unwrap())
}

#[tokio::test]
async fn every_transition_is_logged_as_a_commitment_without_content() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    let node = open(&dir);
    let (id, n) = walk(&node).await;
    let log = node.service.log().unwrap();
    for seq in 1..=n {
        assert!(log.index_of(&id, seq).is_some(), "event {seq} not logged");
    }
    let r = reader(&dir);
    let (checkpoint, _) = r.checkpoint().unwrap();
    assert_eq!(checkpoint.size, n);
    assert_eq!(checkpoint.origin, "comity.example/fr-247");
    for bytes in r.leaves(n).unwrap() {
        let text = String::from_utf8(bytes.clone()).unwrap();
        // INVARIANT under test: no request id, case reference, actor or free text in a leaf.
        for secret in [
            id.as_str(),
            "test",
            "Intrusion",
            "Example Hosting",
            "2001:db8::1",
        ] {
            assert!(!text.contains(secret), "leaf carries `{secret}`: {text}");
        }
        let leaf = Leaf::parse(&bytes).unwrap();
        assert_eq!(
            (
                leaf.side,
                leaf.sending_state.as_str(),
                leaf.receiving_state.as_str()
            ),
            (Side::Sent, "FR", "BR")
        );
    }
    for (name, mode) in [
        ("log.key", 0o600),
        ("log.salt", 0o600),
        ("witness.key", 0o600),
    ] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            mode,
            "{name}"
        );
    }
}

#[tokio::test]
async fn events_committed_but_not_logged_are_appended_on_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    let holder = open(&dir);
    let (first, n1) = walk(&holder).await;
    // A second process finds the log held: its transitions reach the store only, as after a crash between the
    // store commit and the append.
    let other = open(&dir);
    assert!(other.service.log().is_none());
    let (second, n2) = walk(&other).await;
    drop(other);
    assert_eq!(reader(&dir).checkpoint().unwrap().0.size, n1);
    drop(holder);

    let node = open(&dir);
    assert_eq!(node.catch_up_log().await.unwrap(), n2 as usize);
    assert_eq!(
        node.catch_up_log().await.unwrap(),
        0,
        "catch-up appends each event once"
    );
    let log = node.service.log().unwrap();
    for (id, n) in [(&first, n1), (&second, n2)] {
        for seq in 1..=n {
            assert!(log.index_of(id, seq).is_some());
        }
    }
    assert_eq!(reader(&dir).checkpoint().unwrap().0.size, n1 + n2);
}

#[tokio::test]
async fn an_old_node_directory_gets_its_log_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    for f in ["log.key", "log.salt", "witness.key"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with("log_") && !l.starts_with("witness_"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("config.toml"), old).unwrap();
    let node = open(&dir);
    walk(&node).await;
    let config = config::open(&dir).unwrap();
    assert_eq!(
        config.config.log_origin.as_deref(),
        Some("comity.example/fr-247")
    );
    assert_eq!(reader(&dir).checkpoint().unwrap().0.size, 4);
}

async fn make_proof(dir: &Path, id: &str, seq: u64) -> Vec<u8> {
    let keys = read_keys(dir).unwrap();
    let r = reader(dir);
    let index = r.index_of(id, seq).unwrap().unwrap();
    let inclusion = r.inclusion(index).unwrap();
    let store = config::open(dir).unwrap().store().unwrap();
    let event = comity_store::Store::events(&store, id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.seq == seq)
        .unwrap();
    let opening = Opening {
        request_id: id.into(),
        seq,
        action: event.action.clone(),
        from_state: event.from_state.clone(),
        to_state: event.to_state.clone(),
        at_ms: (event.at.unix_timestamp_nanos() / 1_000_000) as i64,
        event_salt: leaf::salt_to_base64(&leaf::event_salt(&keys.salt, id, seq)),
    };
    let verifier = config::open(dir).unwrap().log_verifier().unwrap();
    serde_json::to_vec(&proof::build(&verifier, &inclusion, opening)).unwrap()
}

#[tokio::test]
async fn offline_proofs_check_and_every_forgery_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    let other = init(tmp.path(), "de-247", AuthorityKind::ContactPoint).await;
    let node = open(&dir);
    let (id, _) = walk(&node).await;
    let bytes = make_proof(&dir, &id, 2).await;
    let key = config::open(&dir).unwrap().config.log_public_key.unwrap();
    let checked = proof::check(&bytes, Some(&key)).unwrap();
    assert_eq!(checked.leaf.kind.to_string(), "receive");
    assert_eq!(checked.checkpoint.size, 4);

    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut w = v.clone();
        f(&mut w);
        serde_json::to_vec(&w).unwrap()
    };
    let foreign = config::open(&other).unwrap().config.log_public_key.unwrap();
    assert!(matches!(
        proof::check(&bytes, Some(&foreign)),
        Err(ProofError::Checkpoint(_))
    ));
    let moved = edit(&|w| w["index"] = json!(3));
    assert!(matches!(
        proof::check(&moved, Some(&key)),
        Err(ProofError::NotIncluded { .. })
    ));
    let other_leaf = edit(&|w| {
        let l = w["leaf"].as_str().unwrap().replace(" BR ", " US ");
        w["leaf"] = json!(l)
    });
    assert!(matches!(
        proof::check(&other_leaf, Some(&key)),
        Err(ProofError::NotIncluded { .. })
    ));
    let lie = edit(&|w| w["opening"]["at_ms"] = json!(0));
    assert!(matches!(
        proof::check(&lie, Some(&key)),
        Err(ProofError::Opening)
    ));
    let forged_size = edit(&|w| {
        let c = w["checkpoint"]
            .as_str()
            .unwrap()
            .replacen("\n4\n", "\n5\n", 1);
        w["checkpoint"] = json!(c)
    });
    assert!(matches!(
        proof::check(&forged_size, Some(&key)),
        Err(ProofError::Checkpoint(_))
    ));
    v["format"] = json!("other");
    assert!(matches!(
        proof::check(&serde_json::to_vec(&v).unwrap(), None),
        Err(ProofError::Malformed(_))
    ));
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (
        status,
        headers,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn tiles_checkpoint_and_statistics_are_public() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    let node = open(&dir);
    walk(&node).await;
    walk(&node).await;
    let app = node.router();
    let (s, h, body) = get(&app, "/log/checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert!(
        String::from_utf8(body)
            .unwrap()
            .starts_with("comity.example/fr-247\n8\n")
    );
    let (s, h, body) = get(&app, "/log/tile/entries/000.p/8").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=60");
    assert_eq!(
        comity_tlog::tiles::decode_bundle(&body, 8).unwrap().len(),
        8
    );
    let (s, _, _) = get(&app, "/log/tile/0/000.p/8").await;
    assert_eq!(s, StatusCode::OK);
    for bad in [
        "/log/tile/entries/000.p/9",
        "/log/tile/../../config.toml",
        "/log/tile/entries/%2e%2e/api.token",
    ] {
        let (s, _, _) = get(&app, bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
    let (s, _, body) = get(&app, "/api/v1/statistics?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["counts"]["requests"], 2);
    assert_eq!(v["counts"]["by_state_pair"]["FR→BR"], 2);
    assert_eq!(v["counts"]["preservation_expiries"], 2);
    assert_eq!(v["log_size"], 8);
    assert!(
        v["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("comity.example/fr-247\n8\n")
    );
    let (s, _, body) = get(&app, "/api/v1/statistics?from=2026-13-01").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["errors"][0]["pointer"], "/from");
    let (_, _, body) = get(&app, "/openapi.json").await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for path in [
        "/log/checkpoint",
        "/log/tile/{path}",
        "/log/witness/add-checkpoint",
        "/api/v1/statistics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

fn add_witness(dir: &Path, witness_url: &str, witness_dir: &Path) {
    let w = config::open(witness_dir)
        .unwrap()
        .config
        .witness_public_key
        .unwrap();
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("{text}\n[[log_witnesses]]\nurl = \"{witness_url}\"\nkey = \"{w}\"\n"),
    )
    .unwrap();
}

fn follow(witness_dir: &Path, log_dir: &Path) {
    let c = config::open(log_dir).unwrap().config;
    let text = std::fs::read_to_string(witness_dir.join("config.toml")).unwrap();
    std::fs::write(
        witness_dir.join("config.toml"),
        format!(
            "{text}\n[[witness_follows]]\norigin = \"{}\"\nkey = \"{}\"\n",
            c.log_origin.unwrap(),
            c.log_public_key.unwrap()
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn witnesses_cosign_over_http_and_refuse_rewritten_history() {
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = init(tmp.path(), "fr-247", AuthorityKind::ContactPoint).await;
    let oversight = init(tmp.path(), "fr-cnil", AuthorityKind::Oversight).await;
    follow(&oversight, &log_dir);
    let witness_node = open(&oversight);
    let listener = witness_node.bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let witness = witness_node.witness().unwrap().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(witness_node.serve(listener, async {
        let _ = stopped.await;
    }));

    add_witness(&log_dir, &url, &oversight);
    let node = open(&log_dir);
    walk(&node).await;
    let first = node.collect_cosignatures().await.unwrap();
    assert_eq!(
        (first.size, first.cosigned_by.len(), first.failed.len()),
        (4, 1, 0),
        "{first:?}"
    );
    walk(&node).await;
    // The witness now needs a consistency proof from 4 to 8.
    let second = node.collect_cosignatures().await.unwrap();
    assert_eq!(
        (second.size, second.cosigned_by.len()),
        (8, 1),
        "{second:?}"
    );
    let (_, cosigned) = reader(&log_dir).checkpoint().unwrap();
    let note = Note::parse(&cosigned).unwrap();
    note.verify(&[&witness.verifier()]).unwrap();
    assert_eq!(witness.latest("comity.example/fr-247").unwrap().size, 8);

    // The operator rewrites history with the log key: a different tree of 9 leaves.
    let keys = read_keys(&log_dir).unwrap();
    let forged_dir = tmp.path().join("forged");
    let mut forged = FileLog::create(&forged_dir, keys.signer.clone()).unwrap();
    let leaves: Vec<Vec<u8>> = reader(&log_dir).leaves(8).unwrap();
    let mut rewritten = leaves.clone();
    rewritten[2] = rewritten[3].clone();
    rewritten.push(leaves[0].clone());
    forged.append_batch(&rewritten).unwrap();
    let proof = forged.consistency_proof(8, 9).unwrap();
    let body = add_checkpoint_body(8, &proof, forged.signed_checkpoint());
    let refused = witness.add_checkpoint(&body, 1).unwrap_err();
    assert!(matches!(refused, Refusal::BadProof(_)), "{refused:?}");
    // Same size, other root: a split view.
    let mut split = FileLog::create(&tmp.path().join("split"), keys.signer.clone()).unwrap();
    split.append_batch(&rewritten[..8]).unwrap();
    let refused = witness
        .add_checkpoint(&add_checkpoint_body(8, &[], split.signed_checkpoint()), 1)
        .unwrap_err();
    assert!(matches!(refused, Refusal::SplitView(_)), "{refused:?}");
    // A rollback to the old size 4 is answered with the cosigned size.
    let small = Checkpoint::new("comity.example/fr-247", 4, forged.root_at(4).unwrap())
        .sign(&keys.signer)
        .unwrap();
    let refused = witness
        .add_checkpoint(&add_checkpoint_body(4, &[], &small.to_bytes()), 1)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Refusal::SizeMismatch {
                cosigned_size: 8,
                ..
            }
        ),
        "{refused:?}"
    );
    // A checkpoint signed by another key is refused; over HTTP with 403.
    let stranger =
        comity_tlog::Ed25519Signer::generate("comity.example/fr-247", &mut rand_core::OsRng)
            .unwrap();
    let fake = Checkpoint::new("comity.example/fr-247", 9, forged.root_at(9).unwrap())
        .sign(&stranger)
        .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{url}/log/witness/add-checkpoint"))
        .body(add_checkpoint_body(8, &proof, &fake.to_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The refusals left the witness where it was, across a restart too.
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let again = open(&oversight);
    assert_eq!(
        again
            .witness()
            .unwrap()
            .latest("comity.example/fr-247")
            .unwrap()
            .size,
        8
    );
}
