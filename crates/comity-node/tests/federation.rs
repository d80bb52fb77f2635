//! Several nodes in one process on real loopback listeners: signed exchange, receipts, exactly-once effects,
//! every refusal at the door, and delivery that survives a partition, driven by an injected clock.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry, Revocation};
use comity_node::federation::message::{MessagePayload, ReceiptPayload};
use comity_node::server::Node;
use comity_node::service::{ListQuery, ManualClock};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput, TransitionInput};
use comity_seal::dsse::Envelope;
use comity_seal::keys::NodeSigningKey;
use serde_json::json;
use time::OffsetDateTime;

const T0: OffsetDateTime = time::macros::datetime!(2026-11-23 03:00 UTC);

struct Peer {
    id: &'static str,
    dir: PathBuf,
    node: Option<Node>,
    service: comity_node::service::NodeService,
    endpoint: String,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Federation {
    _tmp: tempfile::TempDir,
    clock: Arc<ManualClock>,
    operator: NodeSigningKey,
    peers: Vec<Peer>,
    version: u64,
    tls: bool,
}

impl Federation {
    async fn new(specs: &[(&'static str, &str, AuthorityKind)]) -> Self {
        Self::with_transport(specs, false).await
    }

    /// Nodes serving HTTPS, each pinned in the directory by its certificate's fingerprint.
    async fn new_tls(specs: &[(&'static str, &str, AuthorityKind)]) -> Self {
        Self::with_transport(specs, true).await
    }

    async fn with_transport(specs: &[(&'static str, &str, AuthorityKind)], tls: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let operator = NodeSigningKey::from_seed([42; 32]);
        let mut peers = Vec::new();
        for (id, state, kind) in specs {
            let dir = tmp.path().join(id);
            let params = InitParams {
                authority: AuthorityId::parse(id).unwrap(),
                state: IsoCountry::parse(state).unwrap(),
                kind: *kind,
                name: id.to_string(),
            };
            let mut node_dir = config::init(&dir, &params, T0).await.unwrap();
            node_dir
                .pin_directory_operator(&operator.public_key())
                .unwrap();
            let node = Node::open_with_clock(&dir, clock.clone())
                .unwrap()
                .without_background_delivery();
            let listener = node.bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            drop(listener);
            let service = node.service.clone();
            peers.push(Peer {
                id,
                dir,
                node: Some(node),
                service,
                endpoint: format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" }),
                port,
                stop: None,
            });
        }
        let mut f = Self {
            _tmp: tmp,
            clock,
            operator,
            peers,
            version: 0,
            tls,
        };
        f.publish(|_| {});
        f
    }

    fn peer(&self, id: &str) -> &Peer {
        self.peers.iter().find(|p| p.id == id).unwrap()
    }

    /// Publishes a new directory version to every node, after `edit`.
    fn publish(&mut self, edit: impl Fn(&mut DirectoryEntry)) {
        self.version += 1;
        let authorities = self
            .peers
            .iter()
            .map(|p| {
                let dir = config::open(&p.dir).unwrap();
                let mut e = DirectoryEntry {
                    id: p.id.into(),
                    state: dir.identity.state.to_string(),
                    kind: dir.identity.kind.to_string(),
                    name: p.id.into(),
                    languages: vec!["en".into()],
                    hours: "24/7".into(),
                    on_call: String::new(),
                    endpoint: p.endpoint.clone(),
                    signing_key: dir.identity.signing_public_key.clone(),
                    age_recipient: dir.identity.age_recipient.clone(),
                    tls_cert_sha256: if self.tls {
                        dir.config.tls_cert_sha256.clone()
                    } else {
                        None
                    },
                    declarations: String::new(),
                    valid_from: "2026-01-01T00:00:00Z".into(),
                    valid_until: "2027-12-31T00:00:00Z".into(),
                    revoked: None,
                    log_key: dir.config.log_public_key.clone(),
                };
                edit(&mut e);
                e
            })
            .collect();
        let doc = DirectoryDocument {
            version: self.version,
            issued_at: "2026-11-23T00:00:00Z".into(),
            operator: "test".into(),
            authorities,
        };
        let env = doc.sign(&self.operator);
        for p in &self.peers {
            p.service.federation().install_directory(&env).unwrap();
        }
    }

    async fn start(&mut self, id: &str) {
        let p = self.peers.iter_mut().find(|p| p.id == id).unwrap();
        let node = p.node.take().unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", p.port))
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        if self.tls {
            tokio::spawn(node.serve_tls(listener, stopped));
        } else {
            tokio::spawn(node.serve(listener, stopped));
        }
        p.stop = Some(stop);
    }

    async fn draft(&self, id: &str, doc: serde_json::Value) -> String {
        let s = &self.peer(id).service;
        let case = s
            .create_case(
                CaseInput {
                    reference: format!("C-{}", uuid()),
                    title: "t".into(),
                },
                "alice",
            )
            .await
            .unwrap();
        let document: RequestInput = serde_json::from_value(doc).unwrap();
        s.create_request(
            NewRequestInput {
                case_id: case.id,
                document,
            },
            "alice",
        )
        .await
        .unwrap()
        .id
    }

    async fn step(&self, id: &str, request: &str, action: &str) -> comity_node::wire::RequestView {
        let input = TransitionInput {
            action: action.into(),
            reason: Some("because".into()),
            grounds: vec![],
            expected_version: None,
            issuer: None,
            checklist: vec![],
            recipient: None,
            authorisation: None,
        };
        self.peer(id)
            .service
            .transition(request, input, "alice")
            .await
            .unwrap()
    }

    async fn deliver(&self, id: &str) {
        self.peer(id).service.deliver_due().await.unwrap();
    }

    async fn requests(&self, id: &str) -> Vec<comity_node::wire::RequestView> {
        self.peer(id)
            .service
            .requests(&ListQuery::default())
            .await
            .unwrap()
    }
}

fn uuid() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    h.finish()
}

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

fn pair() -> [(&'static str, &'static str, AuthorityKind); 2] {
    [
        ("fr-247", "FR", AuthorityKind::ContactPoint),
        ("br-247", "BR", AuthorityKind::ContactPoint),
    ]
}

#[tokio::test]
async fn a_request_and_its_answers_cross_exactly_once() {
    let mut f = Federation::new(&pair()).await;
    f.start("br-247").await;
    f.start("fr-247").await;
    let id = f.draft("fr-247", preservation()).await;
    let sent = f.step("fr-247", &id, "send").await;
    assert_eq!(sent.exchange.as_ref().unwrap().counterpart, "br-247");
    assert_eq!(sent.exchange.as_ref().unwrap().sent[0].status, "pending");
    f.deliver("fr-247").await;

    let mine = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(
        mine.state, "received",
        "the signed receipt moves the local copy"
    );
    let receipt = mine.exchange.as_ref().unwrap().sent[0]
        .receipt
        .clone()
        .unwrap();
    let br_key = config::open(&f.peer("br-247").dir)
        .unwrap()
        .identity
        .signing_public_key
        .parse()
        .unwrap();
    let r =
        ReceiptPayload::verify(&Envelope::from_json(receipt.as_bytes()).unwrap(), &br_key).unwrap();
    assert!(r.accepted);

    let theirs = f.requests("br-247").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].state, "received");
    assert_eq!(
        theirs[0].document.requesting_authority.as_deref(),
        Some("fr-247")
    );
    f.step("br-247", &theirs[0].id, "preserve").await;
    f.deliver("br-247").await;
    let mine = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(mine.state, "active");
    assert!(
        mine.events
            .iter()
            .any(|e| e.action == "preserve" && e.actor == "remote:br-247")
    );

    // The acknowledgement was lost: the sender tries again. Same receipt, one request, one effect.
    let db = rusqlite_envelope(&f.peer("fr-247").dir);
    let again = f.peer("br-247").service.receive(db.as_bytes()).await;
    assert!(again.accepted);
    assert_eq!(String::from_utf8(again.receipt).unwrap(), receipt);
    assert_eq!(f.requests("br-247").await.len(), 1);
}

/// The first envelope fr-247 queued, read straight from its outbox.
fn rusqlite_envelope(dir: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(dir.join("node.db")).unwrap();
    conn.query_row(
        "SELECT envelope FROM outbox ORDER BY seq LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn message(
    sender: &str,
    recipient: &str,
    kind: &str,
    thread: &str,
    prev: &str,
    at: OffsetDateTime,
    body: serde_json::Value,
) -> MessagePayload {
    MessagePayload {
        message_id: format!("msg-{}", uuid()),
        thread: thread.into(),
        kind: kind.into(),
        sender: sender.into(),
        recipient: recipient.into(),
        created_at: comity_node::wire::rfc3339(at),
        prev: prev.into(),
        body,
    }
}

fn request_body() -> serde_json::Value {
    let mut doc = preservation();
    doc["requesting_authority"] = json!("fr-247");
    json!({"document": doc, "requesting_state": "FR", "case_reference": "C-1"})
}

#[tokio::test]
async fn every_forgery_and_mistake_is_refused_with_a_signed_reason_and_leaves_nothing() {
    let mut f = Federation::new(&pair()).await;
    f.start("br-247").await;
    let fr_key = NodeSigningKey::read(&f.peer("fr-247").dir.join("signing.key")).unwrap();
    let thief = NodeSigningKey::from_seed([7; 32]);
    let br = f.peer("br-247").service.clone();
    let br_key = config::open(&f.peer("br-247").dir)
        .unwrap()
        .identity
        .signing_public_key
        .parse()
        .unwrap();

    let good = message(
        "fr-247",
        "br-247",
        "request",
        "req-1",
        "",
        T0,
        request_body(),
    );
    let accepted = br.receive(&good.seal(&fr_key).1).await;
    assert!(accepted.accepted);
    assert_eq!(f.requests("br-247").await.len(), 1);

    let mut tampered = good.seal(&fr_key).0;
    // One word of the signed payload changed, the JSON still valid: only the signature can tell.
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &tampered.payload,
    )
    .unwrap();
    let changed = String::from_utf8(payload)
        .unwrap()
        .replacen("Intrusion", "Intrusiom", 1);
    assert!(changed.contains("Intrusiom"));
    tampered.payload = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, changed);
    let mut reused = good.clone();
    reused.body["case_reference"] = json!("C-2");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "unknown-sender",
            message(
                "xx-nobody",
                "br-247",
                "request",
                "req-2",
                "",
                T0,
                request_body(),
            )
            .seal(&thief)
            .1,
        ),
        (
            "bad-signature",
            message(
                "fr-247",
                "br-247",
                "request",
                "req-3",
                "",
                T0,
                request_body(),
            )
            .seal(&thief)
            .1,
        ),
        ("bad-signature", tampered.to_json()),
        (
            "wrong-recipient",
            message(
                "fr-247",
                "br-central",
                "request",
                "req-4",
                "",
                T0,
                request_body(),
            )
            .seal(&fr_key)
            .1,
        ),
        (
            "clock-skew",
            message(
                "fr-247",
                "br-247",
                "request",
                "req-5",
                "",
                T0 - time::Duration::hours(1),
                request_body(),
            )
            .seal(&fr_key)
            .1,
        ),
        (
            "broken-thread",
            message(
                "fr-247",
                "br-247",
                "status",
                "req-1",
                "00ff",
                T0,
                json!({"action": "withdraw", "reason": "x"}),
            )
            .seal(&fr_key)
            .1,
        ),
        (
            "broken-thread",
            message(
                "fr-247",
                "br-247",
                "status",
                "req-unknown",
                "",
                T0,
                json!({"action": "withdraw", "reason": "x"}),
            )
            .seal(&fr_key)
            .1,
        ),
        ("reused-id", reused.seal(&fr_key).1),
        ("malformed", b"{\"payload\": 1}".to_vec()),
    ];
    for (want, bytes) in &cases {
        let answer = br.receive(bytes).await;
        assert!(!answer.accepted, "{want} accepted");
        let r = ReceiptPayload::verify(&Envelope::from_json(&answer.receipt).unwrap(), &br_key)
            .unwrap();
        assert!(!r.accepted);
        assert_eq!(r.reason_code.as_deref(), Some(*want), "{r:?}");
    }
    let list = f.requests("br-247").await;
    assert_eq!(list.len(), 1, "nothing entered the case");
    assert_eq!(list[0].version, 2, "the accepted request was not touched");
    let events = br.security_events(100).await.unwrap();
    assert_eq!(events.len(), cases.len());

    // A revoked key, and a key outside its validity, are refused too.
    f.publish(|e| {
        if e.id == "fr-247" {
            e.revoked = Some(Revocation {
                at: "2026-11-01T00:00:00Z".into(),
                reason: "mailbox stolen".into(),
            });
        }
    });
    let answer = br
        .receive(
            &message(
                "fr-247",
                "br-247",
                "request",
                "req-6",
                "",
                T0,
                request_body(),
            )
            .seal(&fr_key)
            .1,
        )
        .await;
    let r =
        ReceiptPayload::verify(&Envelope::from_json(&answer.receipt).unwrap(), &br_key).unwrap();
    assert_eq!(r.reason_code.as_deref(), Some("revoked-key"));
    f.publish(|e| {
        if e.id == "fr-247" {
            e.valid_until = "2026-11-22T00:00:00Z".into();
        }
    });
    let answer = br
        .receive(
            &message(
                "fr-247",
                "br-247",
                "request",
                "req-7",
                "",
                T0,
                request_body(),
            )
            .seal(&fr_key)
            .1,
        )
        .await;
    let r =
        ReceiptPayload::verify(&Envelope::from_json(&answer.receipt).unwrap(), &br_key).unwrap();
    assert_eq!(r.reason_code.as_deref(), Some("expired-key"));
    assert_eq!(f.requests("br-247").await.len(), 1);
}

#[tokio::test]
async fn a_partition_heals_and_every_message_arrives_once_in_order() {
    let mut f = Federation::new(&pair()).await;
    f.start("fr-247").await;
    let id = f.draft("fr-247", preservation()).await;
    f.step("fr-247", &id, "send").await;
    // br-247 is down: the attempt fails and a retry is scheduled on the injected clock.
    f.deliver("fr-247").await;
    let view = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(view.state, "sent");
    assert_eq!(view.exchange.as_ref().unwrap().sent[0].attempts, 1);
    f.step("fr-247", &id, "withdraw").await;
    f.deliver("fr-247").await;
    let view = f.peer("fr-247").service.request(&id).await.unwrap();
    let sent = &view.exchange.as_ref().unwrap().sent;
    assert_eq!(
        (sent[0].attempts, sent[1].attempts),
        (1, 0),
        "nothing tried before its backoff, nor out of order"
    );

    f.start("br-247").await;
    for _ in 0..12 {
        f.clock.advance(time::Duration::seconds(61));
        f.deliver("fr-247").await;
    }
    let view = f.peer("fr-247").service.request(&id).await.unwrap();
    assert!(
        view.exchange
            .as_ref()
            .unwrap()
            .sent
            .iter()
            .all(|m| m.status == "delivered"),
        "{view:?}"
    );
    let theirs = f.requests("br-247").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        theirs[0].state, "withdrawn",
        "the withdrawal arrived after the request"
    );
}

#[tokio::test]
async fn the_directory_never_goes_back_and_only_the_operator_can_sign_it() {
    let mut f = Federation::new(&pair()).await;
    f.publish(|_| {});
    let fed = f.peer("fr-247").service.federation();
    assert_eq!(fed.directory().unwrap().version, 2);
    let old = DirectoryDocument {
        version: 1,
        issued_at: "x".into(),
        operator: "t".into(),
        authorities: vec![],
    };
    assert!(
        fed.install_directory(&old.sign(&f.operator))
            .unwrap_err()
            .to_string()
            .contains("not newer")
    );
    let forged = DirectoryDocument {
        version: 9,
        issued_at: "x".into(),
        operator: "t".into(),
        authorities: vec![],
    };
    let err = fed
        .install_directory(&forged.sign(&NodeSigningKey::from_seed([1; 32])))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not signed by the pinned operator key")
    );
    assert_eq!(
        fed.directory().unwrap().version,
        2,
        "the old directory stays in force"
    );
    // It survives a restart.
    let reopened = Node::open(&f.peer("fr-247").dir).unwrap();
    assert_eq!(
        reopened.service.federation().directory().unwrap().version,
        2
    );
}

#[tokio::test]
async fn two_nodes_exchange_a_request_over_pinned_tls() {
    let mut f = Federation::new_tls(&pair()).await;
    assert!(f.peer("br-247").endpoint.starts_with("https://"));
    f.start("br-247").await;
    f.start("fr-247").await;
    let id = f.draft("fr-247", preservation()).await;
    f.step("fr-247", &id, "send").await;
    f.deliver("fr-247").await;
    let mine = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(mine.state, "received", "{mine:?}");
    assert_eq!(mine.exchange.as_ref().unwrap().sent[0].status, "delivered");
    let theirs = f.requests("br-247").await;
    assert_eq!(theirs.len(), 1);
    f.step("br-247", &theirs[0].id, "preserve").await;
    f.deliver("br-247").await;
    let mine = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(mine.state, "active", "the answer came back over TLS too");
}

#[tokio::test]
async fn a_certificate_that_is_not_the_pinned_one_is_refused_and_delivery_retried() {
    let mut f = Federation::new_tls(&pair()).await;
    // The directory pins, for br-247, the fingerprint of fr-247's certificate: whoever answers at br-247's address
    // presents a certificate that does not match.
    let wrong = config::open(&f.peer("fr-247").dir)
        .unwrap()
        .config
        .tls_cert_sha256
        .unwrap();
    f.publish(|e| {
        if e.id == "br-247" {
            e.tls_cert_sha256 = Some(wrong.clone());
        }
    });
    f.start("br-247").await;
    f.start("fr-247").await;
    let id = f.draft("fr-247", preservation()).await;
    f.step("fr-247", &id, "send").await;
    f.deliver("fr-247").await;
    f.clock.advance(time::Duration::seconds(61));
    f.deliver("fr-247").await;
    let view = f.peer("fr-247").service.request(&id).await.unwrap();
    let sent = &view.exchange.as_ref().unwrap().sent[0];
    assert_eq!(view.state, "sent");
    assert_eq!((sent.status.as_str(), sent.attempts), ("pending", 2));
    assert!(sent.receipt.is_none());
    assert!(
        f.requests("br-247").await.is_empty(),
        "nothing crossed to a server that is not the pinned one"
    );
    let error = last_outbox_error(&f.peer("fr-247").dir);
    assert!(error.contains("certificate"), "{error}");

    // An HTTPS endpoint with no fingerprint at all is not contacted either: no fallback to the web PKI.
    f.publish(|e| {
        if e.id == "br-247" {
            e.tls_cert_sha256 = None;
        }
    });
    f.clock.advance(time::Duration::seconds(61));
    f.deliver("fr-247").await;
    assert!(last_outbox_error(&f.peer("fr-247").dir).contains("no tls_cert_sha256"));
    assert!(f.requests("br-247").await.is_empty());

    // The right pin in a newer directory: the retry goes through, once.
    f.publish(|_| {});
    f.clock.advance(time::Duration::seconds(61));
    f.deliver("fr-247").await;
    let view = f.peer("fr-247").service.request(&id).await.unwrap();
    assert_eq!(view.state, "received");
    assert_eq!(f.requests("br-247").await.len(), 1);
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let mut f = Federation::new(&pair()).await;
    // A plain-HTTP endpoint that is not loopback is never contacted.
    f.publish(|e| {
        if e.id == "br-247" {
            e.endpoint = "http://192.0.2.7:7410".into();
        }
    });
    let id = f.draft("fr-247", preservation()).await;
    f.step("fr-247", &id, "send").await;
    f.deliver("fr-247").await;
    assert!(last_outbox_error(&f.peer("fr-247").dir).contains("not loopback"));

    // A node serves plain HTTP only on a loopback address.
    let node = f.peers[1].node.take().unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = node.serve(listener, async {}).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("--insecure-http"), "{err}");
}

/// The last delivery error recorded in a node's outbox.
fn last_outbox_error(dir: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(dir.join(config::DATABASE_FILE)).unwrap();
    db.query_row(
        "SELECT last_error FROM outbox ORDER BY seq DESC LIMIT 1",
        [],
        |r| r.get::<_, Option<String>>(0),
    )
    .unwrap()
    .unwrap_or_default()
}

#[tokio::test]
async fn an_older_node_without_a_certificate_gets_one_on_open_and_a_swapped_one_is_noticed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    let params = InitParams {
        authority: AuthorityId::parse("fr-247").unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind: AuthorityKind::ContactPoint,
        name: "old".into(),
    };
    config::init(&dir, &params, T0).await.unwrap();
    // As a node made before TLS: no certificate, no key, no fingerprint in the config.
    std::fs::remove_file(dir.join(comity_node::tls::TLS_CERT_FILE)).unwrap();
    std::fs::remove_file(dir.join(comity_node::tls::TLS_KEY_FILE)).unwrap();
    let path = dir.join(config::CONFIG_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("tls_cert_sha256"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();

    let opened = config::open(&dir).unwrap();
    let pinned = opened.config.tls_cert_sha256.clone().unwrap();
    let cert = comity_node::tls::read_cert(&dir).unwrap();
    assert_eq!(pinned, comity_node::tls::fingerprint(cert.as_ref()));
    assert_eq!(
        config::open(&dir).unwrap().config.tls_cert_sha256,
        Some(pinned.clone()),
        "recorded once, stable afterwards"
    );

    // Another certificate put in place of the pinned one is refused, not silently re-pinned.
    let other = tempfile::tempdir().unwrap();
    comity_node::tls::generate(other.path()).unwrap();
    std::fs::copy(
        other.path().join(comity_node::tls::TLS_CERT_FILE),
        dir.join(comity_node::tls::TLS_CERT_FILE),
    )
    .unwrap();
    let err = config::open(&dir).unwrap_err().to_string();
    assert!(err.contains("does not match"), "{err}");
}

#[tokio::test]
async fn each_side_proves_the_other_logged_the_message_and_the_logs_reconcile() {
    use comity_node::eventlog::leaf::Leaf;
    use comity_node::eventlog::proof::{self, ProofError};
    use comity_node::statistics::{self, Mismatch, Period};

    let mut f = Federation::new(&pair()).await;
    f.start("br-247").await;
    f.start("fr-247").await;
    let id = f.draft("fr-247", preservation()).await;
    f.step("fr-247", &id, "send").await;
    f.deliver("fr-247").await;
    let fr = &f.peer("fr-247").service;

    // The receiver's log sequences the entry a moment after its receipt; the sender fetches the proof then.
    let mut proof = None;
    for _ in 0..100 {
        fr.collect_receiver_proofs().await.unwrap();
        let view = fr.request(&id).await.unwrap();
        proof = view.exchange.unwrap().sent[0].receiver_log_proof.clone();
        if proof.is_some() {
            break;
        }

        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let proof = proof.expect("br-247's log proof arrives");
    let bytes = serde_json::to_vec(&proof).unwrap();
    let br_dir = config::open(&f.peer("br-247").dir).unwrap();
    let br_key = br_dir.config.log_public_key.clone().unwrap();
    let digest = proof["message_sha256"].as_str().unwrap().to_owned();
    let checked = proof::check_message(&bytes, Some(&br_key), Some(&digest)).unwrap();
    assert_eq!(checked.leaf.kind.to_string(), "receive");
    assert_eq!(checked.leaf.sending_state.as_str(), "FR");
    assert_eq!(checked.leaf.receiving_state.as_str(), "BR");

    // Another message's digest, another log's key, a moved leaf: each is refused.
    let other = "00".repeat(32);
    assert_eq!(
        proof::check_message(&bytes, Some(&br_key), Some(&other)).unwrap_err(),
        ProofError::OtherMessage
    );
    let fr_key = config::open(&f.peer("fr-247").dir)
        .unwrap()
        .config
        .log_public_key
        .unwrap();
    assert!(matches!(
        proof::check_message(&bytes, Some(&fr_key), Some(&digest)),
        Err(ProofError::Checkpoint(_))
    ));
    let mut moved = proof.clone();
    moved["index"] = json!(proof["index"].as_u64().unwrap() + 1);
    assert!(matches!(
        proof::check_message(&serde_json::to_vec(&moved).unwrap(), Some(&br_key), None),
        Err(ProofError::NotIncluded { .. })
    ));
    // The receiver serves the proof only to whoever holds the digest.
    let message_id = fr.request(&id).await.unwrap().exchange.unwrap().sent[0]
        .message_id
        .clone();
    let br = &f.peer("br-247").service;
    assert!(br.message_proof(&message_id, &other).await.is_err());
    assert!(br.message_proof(&message_id, &digest).await.is_ok());

    // Both real logs, reconciled: what fr-247 logged as sent is what br-247 logged as received.
    let leaves = |p: &Peer| {
        let reader = p.service.log_reader().unwrap();
        let (checkpoint, _) = reader.checkpoint().unwrap();
        reader
            .leaves(checkpoint.size)
            .unwrap()
            .iter()
            .map(|l| Leaf::parse(l).unwrap())
            .collect::<Vec<_>>()
    };
    let mut fr_leaves = Vec::new();
    for _ in 0..100 {
        fr_leaves = leaves(f.peer("fr-247"));
        if fr_leaves.iter().any(|l| l.message.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let br_leaves = leaves(f.peer("br-247"));
    let year = Period {
        from: time::macros::date!(2026 - 01 - 01),
        to: time::macros::date!(2026 - 12 - 31),
    };
    let (fr_state, br_state) = (
        IsoCountry::parse("FR").unwrap(),
        IsoCountry::parse("BR").unwrap(),
    );
    let r = statistics::reconcile(&fr_leaves, fr_state, &br_leaves, br_state, year);
    assert_eq!(r.matched, 1, "{r:?}");
    assert!(r.mismatches.is_empty(), "{r:?}");
    // A receiver that left the message out of its log is caught.
    let hidden: Vec<Leaf> = br_leaves
        .iter()
        .filter(|l| l.message.is_none())
        .cloned()
        .collect();
    let r = statistics::reconcile(&fr_leaves, fr_state, &hidden, br_state, year);
    assert!(
        matches!(r.mismatches.as_slice(), [Mismatch::NotReceived(_)]),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_costs_one_timeout_per_round_of_proofs() {
    let mut f = Federation::new(&pair()).await;
    f.start("br-247").await;
    f.start("fr-247").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = f.draft("fr-247", preservation()).await;
        f.step("fr-247", &id, "send").await;
        ids.push(id);
    }
    f.deliver("fr-247").await;
    for id in &ids {
        let view = f.peer("fr-247").service.request(id).await.unwrap();
        assert_eq!(view.exchange.unwrap().sent[0].status, "delivered");
    }

    // br-247 stops and something takes its port that accepts connections and never answers (a hung process).
    let br = f.peers.iter_mut().find(|p| p.id == "br-247").unwrap();
    let _ = br.stop.take().unwrap().send(());
    let _hung = common::hung_peer(br.port).await;

    // Three proofs are wanted from it; the round gives up on it after the first silent answer.
    let started = std::time::Instant::now();
    let got = f
        .peer("fr-247")
        .service
        .collect_receiver_proofs()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(got, 0);
    assert!(
        took < comity_node::tls::PEER_TIMEOUT * 3 / 2,
        "one timeout per round, not one per message: {took:?}"
    );
}
