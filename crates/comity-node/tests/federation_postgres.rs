//! The cross-border exchange with both nodes on PostgreSQL: a request and its answer cross exactly once, a lost
//! acknowledgement is answered with the same receipt, a forged message is refused and recorded, and with a second
//! process of the sending node delivering at the same time each message is marked delivered once and arrives once.
//! Driven by a manual clock.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::database::NodeStore;
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::{ListQuery, ManualClock, NodeService};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput, TransitionInput};
use comity_seal::keys::NodeSigningKey;
use common::TestSchema;
use serde_json::json;
use time::OffsetDateTime;

const T0: OffsetDateTime = time::macros::datetime!(2026-11-23 03:00 UTC);

fn preservation() -> serde_json::Value {
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

/// A new node that pins the test's directory operator.
async fn init(parent: &Path, id: &str, state: &str) -> PathBuf {
    let dir = parent.join(id);
    let mut node = config::init(
        &dir,
        &InitParams {
            authority: AuthorityId::parse(id).unwrap(),
            state: IsoCountry::parse(state).unwrap(),
            kind: AuthorityKind::ContactPoint,
            name: id.into(),
        },
        T0,
    )
    .await
    .unwrap();
    node.pin_directory_operator(&NodeSigningKey::from_seed([42; 32]).public_key())
        .unwrap();
    dir
}

/// Signs a directory of both nodes at their ports and installs it in every service given.
fn publish(nodes: &[(&Path, &str, u16)], services: &[&NodeService]) {
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
                valid_until: "2027-12-31T00:00:00Z".into(),
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
        std::fs::write(dir.join(config::DIRECTORY_FILE), env.to_json()).unwrap();
    }
    for s in services {
        s.federation().install_directory(&env).unwrap();
    }
}

fn step(action: &str) -> TransitionInput {
    serde_json::from_value(json!({"action": action})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_and_its_answer_cross_exactly_once_between_postgres_nodes() {
    let (Some(fr_db), Some(br_db)) = (TestSchema::new(), TestSchema::new()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let fr_dir = init(tmp.path(), "fr-247", "FR").await;
    let br_dir = init(tmp.path(), "br-247", "BR").await;
    let fr_store = NodeStore::Postgres(fr_db.store().await);
    let fr = Node::open_with_store(&fr_dir, fr_store.clone(), clock.clone())
        .unwrap()
        .without_background_delivery();
    // A second process of fr-247 on the same database.
    let fr_other = Node::open_with_store(&fr_dir, fr_store, clock.clone())
        .unwrap()
        .without_background_delivery();
    let br = Node::open_with_store(
        &br_dir,
        NodeStore::Postgres(br_db.store().await),
        clock.clone(),
    )
    .unwrap()
    .without_background_delivery();
    let fr_listener = fr.bind("127.0.0.1:0").await.unwrap();
    let br_listener = br.bind("127.0.0.1:0").await.unwrap();
    let (fr_port, br_port) = (
        fr_listener.local_addr().unwrap().port(),
        br_listener.local_addr().unwrap().port(),
    );
    let (fr_s, fr_other_s, br_s) = (
        fr.service.clone(),
        fr_other.service.clone(),
        br.service.clone(),
    );
    publish(
        &[(&fr_dir, "fr-247", fr_port), (&br_dir, "br-247", br_port)],
        &[&fr_s, &fr_other_s, &br_s],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_br, stopped_br) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(fr.serve(fr_listener, async {
        let _ = stopped.await;
    }));
    tokio::spawn(br.serve(br_listener, async {
        let _ = stopped_br.await;
    }));

    // fr-247 sends ten requests; both of its processes deliver at once.
    let mut ids = Vec::new();
    for n in 0..10 {
        let case = fr_s
            .create_case(
                CaseInput {
                    reference: format!("FR-{n}"),
                    title: "t".into(),
                },
                "alice",
            )
            .await
            .unwrap();
        let document: RequestInput = serde_json::from_value(preservation()).unwrap();
        let r = fr_s
            .create_request(
                NewRequestInput {
                    case_id: case.id,
                    document,
                },
                "alice",
            )
            .await
            .unwrap();
        fr_s.transition(&r.id, step("send"), "alice").await.unwrap();
        ids.push(r.id);
    }
    let (a, b) = tokio::join!(fr_s.deliver_due(), fr_other_s.deliver_due());
    a.unwrap();
    b.unwrap();
    for id in &ids {
        let mine = fr_s.request(id).await.unwrap();
        assert_eq!(mine.state, "received", "{id}");
        let sent = &mine.exchange.as_ref().unwrap().sent;
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].status.as_str(), sent[0].attempts),
            ("delivered", 1)
        );
    }
    let theirs = br_s.requests(&ListQuery::default()).await.unwrap();
    assert_eq!(theirs.len(), 10, "each request arrived once");

    // br-247 answers one; the answer moves fr-247's copy.
    let answered = &theirs[0];
    br_s.transition(&answered.id, step("preserve"), "bob")
        .await
        .unwrap();
    br_s.deliver_due().await.unwrap();
    let thread = br_s
        .request(&answered.id)
        .await
        .unwrap()
        .exchange
        .unwrap()
        .thread;
    let mine = fr_s.request(&thread).await.unwrap();
    assert_eq!(mine.state, "active");

    // The acknowledgement was lost: fr-247 sends the first message again. Same receipt, nothing new.
    let first = fr_db
        .raw()
        .await
        .query_one(
            "SELECT envelope, receipt FROM outbox ORDER BY seq LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (envelope, receipt): (String, String) = (first.get(0), first.get(1));
    let again = br_s.receive(envelope.as_bytes()).await;
    assert!(again.accepted);
    assert_eq!(String::from_utf8(again.receipt).unwrap(), receipt);
    assert_eq!(
        br_s.requests(&ListQuery::default()).await.unwrap().len(),
        10
    );

    // A forgery is refused with a signed reason and recorded, and changes nothing.
    let forged = envelope.replacen("\"sig\":\"", "\"sig\":\"AAAA", 1);
    assert_ne!(forged, envelope);
    let refused = br_s.receive(forged.as_bytes()).await;
    assert!(!refused.accepted);
    assert!(!br_s.security_events(10).await.unwrap().is_empty());
    assert_eq!(
        br_s.requests(&ListQuery::default()).await.unwrap().len(),
        10
    );

    let _ = stop.send(());
    let _ = stop_br.send(());
}
