//! Evidence between two nodes in one process on real loopback listeners: a package sealed by the provider to the
//! requesting node travels in chunks and comes back with a signed receipt; an interrupted transfer and a restarted
//! sender resume without sending a completed chunk twice; a tampered chunk, a tampered package, a statement signed by
//! a key outside the directory, a package for another request and an old offer are refused and leave nothing stored.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::evidence::protocol::{self, EvidenceReceipt, Offer, OfferAnswer};
use comity_node::evidence::{EvidenceList, EvidenceView};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::{Clock, ListQuery, ManualClock};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput, TransitionInput};
use comity_seal::keys::NodeSigningKey;

use serde_json::json;
use time::OffsetDateTime;

const T0: OffsetDateTime = time::macros::datetime!(2026-11-23 03:00 UTC);
/// Small chunks, so that a package of a few kilobytes has dozens of them.
const CHUNK: u64 = 512;

struct Peer {
    id: &'static str,
    dir: PathBuf,
    node: Option<Node>,
    service: comity_node::service::NodeService,
    endpoint: String,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

struct Two {
    tmp: tempfile::TempDir,
    clock: Arc<ManualClock>,
    peers: Vec<Peer>,
}

fn open(dir: &Path, clock: &Arc<ManualClock>) -> Node {
    let node = Node::open_with_clock(dir, clock.clone())
        .unwrap()
        .without_background_delivery();
    node.service.evidence_side().unwrap().set_chunk_bytes(CHUNK);
    node
}

impl Two {
    /// fr-247 (requesting) and br-247 (requested), serving, with one signed directory.
    async fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let operator = NodeSigningKey::from_seed([42; 32]);
        let mut peers = Vec::new();
        for (id, state) in [("fr-247", "FR"), ("br-247", "BR")] {
            let dir = tmp.path().join(id);
            let params = InitParams {
                authority: AuthorityId::parse(id).unwrap(),
                state: IsoCountry::parse(state).unwrap(),
                kind: AuthorityKind::ContactPoint,
                name: id.to_string(),
            };
            let mut node_dir = config::init(&dir, &params, T0).await.unwrap();
            node_dir
                .pin_directory_operator(&operator.public_key())
                .unwrap();
            let node = open(&dir, &clock);
            let listener = node.bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            drop(listener);
            peers.push(Peer {
                id,
                dir,
                service: node.service.clone(),
                node: Some(node),
                endpoint: format!("http://127.0.0.1:{port}"),
                port,
                stop: None,
                serving: None,
            });
        }
        let authorities = peers
            .iter()
            .map(|p| {
                let dir = config::open(&p.dir).unwrap();
                DirectoryEntry {
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
                    tls_cert_sha256: None,
                    declarations: String::new(),
                    valid_from: "2026-01-01T00:00:00Z".into(),
                    valid_until: "2027-12-31T00:00:00Z".into(),
                    revoked: None,
                    log_key: dir.config.log_public_key.clone(),
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
        for p in &peers {
            p.service.federation().install_directory(&env).unwrap();
        }
        let mut two = Self { tmp, clock, peers };
        two.start("fr-247").await;
        two.start("br-247").await;
        two
    }

    fn peer(&self, id: &str) -> &Peer {
        self.peers.iter().find(|p| p.id == id).unwrap()
    }

    fn service(&self, id: &str) -> &comity_node::service::NodeService {
        &self.peer(id).service
    }

    async fn start(&mut self, id: &str) {
        let p = self.peers.iter_mut().find(|p| p.id == id).unwrap();
        let node = p.node.take().unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", p.port))
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        p.serving = Some(tokio::spawn(node.serve(listener, async {
            let _ = stopped.await;
        })));
        p.stop = Some(stop);
    }

    /// Stops a node's server and waits until it has let go of its store.
    async fn stop(&mut self, id: &str) {
        let p = self.peers.iter_mut().find(|p| p.id == id).unwrap();
        let _ = p.stop.take().unwrap().send(());
        p.serving.take().unwrap().await.unwrap().unwrap();
    }

    /// A restart: the node is opened again from its directory, as after a crash or an upgrade.
    async fn restart(&mut self, id: &str) {
        self.stop(id).await;
        self.reopen(id).await;
    }

    /// A stopped node opened again from its directory and serving.
    async fn reopen(&mut self, id: &str) {
        let clock = self.clock.clone();
        let p = self.peers.iter_mut().find(|p| p.id == id).unwrap();
        let node = open(&p.dir, &clock);
        p.service = node.service.clone();
        p.node = Some(node);
        self.start(id).await;
    }

    /// A preservation request from fr-247, delivered to br-247: (fr's id = the thread, br's id).
    async fn linked_request(&self) -> (String, String) {
        let fr = self.service("fr-247");
        let case = fr
            .create_case(
                CaseInput {
                    reference: format!("FR-{}", uuid::Uuid::now_v7()),
                    title: "t".into(),
                },
                "alice",
            )
            .await
            .unwrap();
        let document: RequestInput = serde_json::from_value(preservation()).unwrap();
        let id = fr
            .create_request(
                NewRequestInput {
                    case_id: case.id,
                    document,
                },
                "alice",
            )
            .await
            .unwrap()
            .id;
        let input = TransitionInput {
            action: "send".into(),
            reason: None,
            grounds: vec![],
            expected_version: None,
            issuer: None,
            checklist: vec![],
            recipient: None,
            authorisation: None,
        };
        fr.transition(&id, input, "alice").await.unwrap();
        fr.deliver_due().await.unwrap();
        let theirs = self
            .service("br-247")
            .requests(&ListQuery::default())
            .await
            .unwrap();
        let br_id = theirs
            .iter()
            .find(|r| r.exchange.as_ref().is_some_and(|x| x.thread == id))
            .map(|r| r.id.clone())
            .unwrap_or_else(|| theirs[0].id.clone());
        (id, br_id)
    }

    /// A package sealed by `signer` to `to`'s age recipient for `request`; returns the package and statement paths.
    fn seal(&self, signer: &NodeSigningKey, to: &str, request: &str, name: &str) -> PathBuf {
        self.seal_sized(signer, to, request, name, 20_000)
    }

    /// The same with a payload of `payload_bytes`.
    fn seal_sized(
        &self,
        signer: &NodeSigningKey,
        to: &str,
        request: &str,
        name: &str,
        payload_bytes: u32,
    ) -> PathBuf {
        let recipient = config::open(&self.peer(to).dir)
            .unwrap()
            .identity
            .age_recipient;
        let input = self.tmp.path().join(format!("{name}-input"));
        std::fs::create_dir_all(&input).unwrap();
        let payload: Vec<u8> = (0..payload_bytes).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(input.join("subscriber.csv"), &payload).unwrap();
        std::fs::write(
            input.join("logs.txt"),
            b"2026-11-20 login from 203.0.113.9\n",
        )
        .unwrap();
        let out = self.tmp.path().join(format!("{name}.age"));
        comity_evidence::seal(
            comity_evidence::SealOptions {
                recipients: vec![age::x25519::Recipient::from_str(&recipient).unwrap()],
                signing_key: signer,
                request_id: Some(request.to_owned()),
                source_organization: "br-247".into(),
                legal_basis: Some("Budapest Convention Art 29".into()),
                confidentiality: None,
                speciality: None,
                inputs: vec![input],
                progress: None,
            },
            &out,
        )
        .unwrap();
        out
    }

    fn key(&self, id: &str) -> NodeSigningKey {
        NodeSigningKey::read(&self.peer(id).dir.join("signing.key")).unwrap()
    }

    fn token(&self, id: &str) -> String {
        std::fs::read_to_string(self.peer(id).dir.join("api.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    async fn evidence(&self, id: &str, request: &str) -> Vec<EvidenceView> {
        self.service(id)
            .evidence_list(request)
            .await
            .unwrap()
            .evidence
    }

    /// Files in the blob store of a node.
    fn blobs(&self, id: &str) -> usize {
        let root = self.peer(id).dir.join("evidence").join("sha256");
        let Ok(dirs) = std::fs::read_dir(root) else {
            return 0;
        };
        dirs.map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
            .sum()
    }

    async fn deliver_evidence(&self, id: &str) {
        self.service(id).deliver_evidence_due().await.unwrap();
    }
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

fn statement_of(package: &Path) -> Vec<u8> {
    std::fs::read(comity_evidence::statement_path(package)).unwrap()
}

/// Attaches over the HTTP API, as an operator's tool would.
async fn attach_over_api(two: &Two, id: &str, request: &str, package: &Path) -> reqwest::Response {
    use base64::Engine;
    reqwest::Client::new()
        .post(format!(
            "{}/api/v1/requests/{request}/evidence",
            two.peer(id).endpoint
        ))
        .bearer_auth(two.token(id))
        .header(
            "comity-seal-statement",
            base64::engine::general_purpose::STANDARD.encode(statement_of(package)),
        )
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(package).unwrap())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sealed_package_travels_in_chunks_and_comes_back_with_a_signed_receipt() {
    let two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, "answer");
    let bytes = std::fs::read(&package).unwrap();

    // Without the statement the API says what is missing; with it the package is stored and queued.
    let missing = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/requests/{br_id}/evidence",
            two.peer("br-247").endpoint
        ))
        .bearer_auth(two.token("br-247"))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let response = attach_over_api(&two, "br-247", &br_id, &package).await;
    assert_eq!(response.status(), 201);
    let attached: EvidenceView = response.json().await.unwrap();
    assert_eq!(attached.transfer.as_deref(), Some("pending"));
    let chunks = bytes.len().div_ceil(CHUNK as usize) as u64;
    assert!(chunks > 20, "{chunks} chunks");
    assert_eq!(attached.chunk_count, chunks);
    let again = attach_over_api(&two, "br-247", &br_id, &package).await;
    assert_eq!(again.status(), 409, "the same package is attached once");

    two.deliver_evidence("br-247").await;

    let sent = two.evidence("br-247", &br_id).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].transfer.as_deref(), Some("delivered"));
    assert_eq!(sent[0].receipt, "received");
    assert_eq!(sent[0].chunks_sent, Some(chunks));
    // The receipt is fr-247's signature over this package.
    let record = two
        .service("br-247")
        .store()
        .evidence(&sent[0].id)
        .await
        .unwrap()
        .unwrap();
    let fr_key = config::open(&two.peer("fr-247").dir)
        .unwrap()
        .identity
        .signing_public_key
        .parse()
        .unwrap();
    let receipt = EvidenceReceipt::verify(record.receipt.as_deref().unwrap(), &fr_key).unwrap();
    assert_eq!(receipt.package_sha256, protocol::sha256_hex(&bytes));
    assert_eq!(
        (receipt.receiver.as_str(), receipt.sender.as_str()),
        ("fr-247", "br-247")
    );
    assert_eq!(receipt.checked, "bag");
    assert!(
        EvidenceReceipt::verify(
            record.receipt.as_deref().unwrap(),
            &two.key("br-247").public_key()
        )
        .is_none(),
        "only the receiver's key verifies it"
    );

    // The requesting side holds it against its own request, checked down to the bag, and serves it back unchanged.
    let received = two.evidence("fr-247", &fr_id).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        (
            received[0].direction.as_str(),
            received[0].seal_status.as_str(),
            received[0].receipt.as_str()
        ),
        ("incoming", "bag", "issued")
    );
    assert_eq!(received[0].producer, "br-247");
    let client = reqwest::Client::new();
    let base = &two.peer("fr-247").endpoint;
    let list: EvidenceList = client
        .get(format!("{base}/api/v1/requests/{fr_id}/evidence"))
        .bearer_auth(two.token("fr-247"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.evidence, received);
    let download = client
        .get(format!("{base}{}", received[0].package_url))
        .bearer_auth(two.token("fr-247"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), &bytes[..]);
    let statement = client
        .get(format!("{base}{}/statement", received[0].package_url))
        .bearer_auth(two.token("fr-247"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(statement.as_ref(), &statement_of(&package)[..]);
    let anonymous = client
        .get(format!("{base}/api/v1/requests/{fr_id}/evidence"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "evidence is not public");

    // Exactly one write per chunk on the receiving side.
    let db = rusqlite::Connection::open(two.peer("fr-247").dir.join("node.db")).unwrap();
    let writes: i64 = db
        .query_row("SELECT chunk_writes FROM evidence_uploads", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(writes as u64, chunks);

    // A package damaged on disk is not served as if it were whole: the download fails.
    let hex = received[0]
        .package_sha256
        .trim_start_matches("sha256:")
        .to_owned();
    let blob = two
        .peer("fr-247")
        .dir
        .join("evidence/sha256")
        .join(&hex[..2])
        .join(&hex);
    let mut damaged = std::fs::read(&blob).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(&blob, &damaged).unwrap();
    let download = async {
        client
            .get(format!("{base}{}", received[0].package_url))
            .bearer_auth(two.token("fr-247"))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(download.is_err(), "a damaged package downloaded whole");

    // The routes are in the OpenAPI document.
    let doc: serde_json::Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/requests/{id}/evidence",
        "/api/v1/requests/{id}/evidence/{evidence_id}",
        "/federation/v1/evidence/offers",
        "/federation/v1/evidence/uploads/{upload_id}/chunks/{index}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
}

/// The receiver's count of chunk writes for the one upload it holds.
fn chunk_writes(dir: &Path) -> u64 {
    let db = rusqlite::Connection::open(dir.join("node.db")).unwrap();
    db.query_row("SELECT chunk_writes FROM evidence_uploads", [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

#[tokio::test]
async fn an_interrupted_transfer_resumes_without_resending_completed_chunks() {
    let mut two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, "answer");
    let chunks = std::fs::metadata(&package).unwrap().len().div_ceil(CHUNK);
    two.service("br-247")
        .attach_evidence(&br_id, &package, &statement_of(&package), "cli:test")
        .await
        .unwrap();

    // Seven chunks get through, then the receiving node goes down.
    two.service("br-247")
        .evidence_side()
        .unwrap()
        .set_chunks_per_attempt(7);
    two.deliver_evidence("br-247").await;
    assert_eq!(chunk_writes(&two.peer("fr-247").dir), 7);
    two.stop("fr-247").await;
    two.deliver_evidence("br-247").await;
    let view = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(view.transfer.as_deref(), Some("pending"));
    assert!(
        view.last_error.as_deref().unwrap().contains("cannot reach"),
        "{view:?}"
    );
    assert_eq!(view.chunks_sent, Some(7));

    // It comes back (opened again from disk); after the backoff the transfer resumes at chunk 7.
    two.reopen("fr-247").await;
    two.service("br-247")
        .evidence_side()
        .unwrap()
        .set_chunks_per_attempt(1000);
    two.deliver_evidence("br-247").await;
    assert_eq!(
        two.evidence("br-247", &br_id).await[0].transfer.as_deref(),
        Some("pending"),
        "not due before the backoff ends"
    );
    two.clock.advance(time::Duration::seconds(2));
    two.deliver_evidence("br-247").await;

    let view = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(view.transfer.as_deref(), Some("delivered"), "{view:?}");
    assert_eq!(view.chunks_sent, Some(chunks), "no chunk sent twice");
    assert_eq!(
        chunk_writes(&two.peer("fr-247").dir),
        chunks,
        "no chunk written twice"
    );
    assert_eq!(two.evidence("fr-247", &fr_id).await.len(), 1);
}

#[tokio::test]
async fn a_restarted_sender_resumes_where_the_receiver_stands() {
    let mut two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, "answer");
    let chunks = std::fs::metadata(&package).unwrap().len().div_ceil(CHUNK);
    two.service("br-247")
        .attach_evidence(&br_id, &package, &statement_of(&package), "cli:test")
        .await
        .unwrap();
    two.service("br-247")
        .evidence_side()
        .unwrap()
        .set_chunks_per_attempt(5);
    two.deliver_evidence("br-247").await;
    two.deliver_evidence("br-247").await;
    assert_eq!(chunk_writes(&two.peer("fr-247").dir), 10);

    // The sender stops mid-transfer and starts again from its directory: the job is still there.
    two.restart("br-247").await;
    let view = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(
        (view.transfer.as_deref(), view.chunks_sent),
        (Some("pending"), Some(10))
    );
    two.deliver_evidence("br-247").await;

    let view = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(view.transfer.as_deref(), Some("delivered"));
    assert_eq!(view.chunks_sent, Some(chunks));
    assert_eq!(chunk_writes(&two.peer("fr-247").dir), chunks);
    // A package the receiver holds already is answered with the stored receipt, and nothing is sent.
    let offer_again = Offer {
        sender: "br-247".into(),
        recipient: "fr-247".into(),
        thread: fr_id.clone(),
        created_at: comity_node::wire::rfc3339(two.clock.now()),
        statement: String::from_utf8(statement_of(&package)).unwrap(),
        size_bytes: std::fs::metadata(&package).unwrap().len(),
        chunk_bytes: CHUNK,
        chunk_sha256: chunk_digests(&std::fs::read(&package).unwrap()),
    };
    let answer = post_offer(&two, &offer_again.sign(&two.key("br-247"))).await;
    assert_eq!(answer.status(), 200);
    let answer: OfferAnswer = answer.json().await.unwrap();
    assert!(answer.receipt.is_some());
    assert_eq!(chunk_writes(&two.peer("fr-247").dir), chunks);
}

fn chunk_digests(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(CHUNK as usize)
        .map(protocol::sha256_hex)
        .collect()
}

async fn post_offer(two: &Two, envelope: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{}/federation/v1/evidence/offers",
            two.peer("fr-247").endpoint
        ))
        .header("content-type", "application/json")
        .body(envelope.to_vec())
        .send()
        .await
        .unwrap()
}

async fn problem(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let p: serde_json::Value = response.json().await.unwrap();
    (
        status,
        p["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("urn:comity:problem:")
            .to_owned(),
    )
}

#[tokio::test]
async fn refusals_at_the_receiver_leave_nothing_stored() {
    let two = Two::new().await;
    let (fr_id, _) = two.linked_request().await;
    let (other_fr_id, _) = two.linked_request().await;
    let br = two.key("br-247");
    let package = two.seal(&br, "fr-247", &fr_id, "answer");
    let bytes = std::fs::read(&package).unwrap();
    let statement = String::from_utf8(statement_of(&package)).unwrap();
    let offer = |thread: &str, statement: &str, bytes: &[u8]| Offer {
        sender: "br-247".into(),
        recipient: "fr-247".into(),
        thread: thread.to_owned(),
        created_at: comity_node::wire::rfc3339(two.clock.now()),
        statement: statement.to_owned(),
        size_bytes: bytes.len() as u64,
        chunk_bytes: CHUNK,
        chunk_sha256: chunk_digests(bytes),
    };
    let client = reqwest::Client::new();
    let base = two.peer("fr-247").endpoint.clone();

    // A chunk that does not match its signed digest is not written.
    let answer: OfferAnswer = post_offer(&two, &offer(&fr_id, &statement, &bytes).sign(&br))
        .await
        .json()
        .await
        .unwrap();
    assert!(answer.received.is_empty());
    let mut bad = bytes[..CHUNK as usize].to_vec();
    bad[10] ^= 1;
    let put = client
        .put(format!(
            "{base}/federation/v1/evidence/uploads/{}/chunks/0",
            answer.upload_id
        ))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(put).await, (422, "chunk-digest".into()));
    let fr_store = two.service("fr-247").store();
    assert!(
        fr_store
            .upload_chunks(&answer.upload_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !two.peer("fr-247")
            .dir
            .join("evidence/uploads")
            .join(&answer.upload_id)
            .join("0")
            .exists()
    );
    let unknown_upload = client
        .put(format!(
            "{base}/federation/v1/evidence/uploads/up-{}/chunks/0",
            "0".repeat(32)
        ))
        .body(bytes[..CHUNK as usize].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(unknown_upload).await,
        (404, "unknown-upload".into())
    );

    // A package changed after sealing: every chunk matches the offer, the whole does not match the statement.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    let answer: OfferAnswer = post_offer(&two, &offer(&fr_id, &statement, &tampered).sign(&br))
        .await
        .json()
        .await
        .unwrap();
    for (i, chunk) in tampered.chunks(CHUNK as usize).enumerate() {
        let put = client
            .put(format!(
                "{base}/federation/v1/evidence/uploads/{}/chunks/{i}",
                answer.upload_id
            ))
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 204);
    }
    let complete = client
        .post(format!(
            "{base}/federation/v1/evidence/uploads/{}/complete",
            answer.upload_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(complete).await, (422, "package-digest".into()));
    assert!(
        fr_store.upload(&answer.upload_id).await.unwrap().is_none(),
        "the upload is dropped"
    );
    assert!(
        !two.peer("fr-247")
            .dir
            .join("evidence/uploads")
            .join(&answer.upload_id)
            .exists()
    );

    // A statement signed by a key the directory does not hold for the sender.
    let stranger = NodeSigningKey::from_seed([9; 32]);
    let forged = two.seal(&stranger, "fr-247", &fr_id, "forged");
    let forged_bytes = std::fs::read(&forged).unwrap();
    let forged_statement = String::from_utf8(statement_of(&forged)).unwrap();
    let refused = post_offer(
        &two,
        &offer(&fr_id, &forged_statement, &forged_bytes).sign(&br),
    )
    .await;
    assert_eq!(problem(refused).await, (403, "statement-signature".into()));
    // An offer signed by that key in br-247's name, and one from an authority the directory does not know.
    let refused = post_offer(&two, &offer(&fr_id, &statement, &bytes).sign(&stranger)).await;
    assert_eq!(problem(refused).await, (403, "bad-signature".into()));
    let unknown = Offer {
        sender: "xx-nobody".into(),
        ..offer(&fr_id, &statement, &bytes)
    };
    let refused = post_offer(&two, &unknown.sign(&stranger)).await;
    assert_eq!(problem(refused).await, (403, "unknown-sender".into()));

    // A package sealed for one request, offered on another request's thread.
    let refused = post_offer(&two, &offer(&other_fr_id, &statement, &bytes).sign(&br)).await;
    assert_eq!(problem(refused).await, (422, "other-request".into()));
    // A package addressed to someone else.
    let to_self = two.seal(&br, "br-247", &fr_id, "misaddressed");
    let refused = post_offer(
        &two,
        &offer(
            &fr_id,
            &String::from_utf8(statement_of(&to_self)).unwrap(),
            &std::fs::read(&to_self).unwrap(),
        )
        .sign(&br),
    )
    .await;
    assert_eq!(problem(refused).await, (422, "not-addressed".into()));
    // An offer recorded and replayed later.
    let old = offer(&fr_id, &statement, &bytes).sign(&br);
    two.clock.advance(time::Duration::minutes(10));
    assert_eq!(
        problem(post_offer(&two, &old).await).await,
        (422, "clock-skew".into())
    );
    // A thread the sender has no request on here.
    let refused = post_offer(&two, &offer("req-nowhere", &statement, &bytes).sign(&br)).await;
    assert_eq!(problem(refused).await, (422, "unknown-thread".into()));

    // Nothing was stored: no evidence on either request, no blob, and each refusal is a security event.
    assert!(two.evidence("fr-247", &fr_id).await.is_empty());
    assert!(two.evidence("fr-247", &other_fr_id).await.is_empty());
    assert_eq!(two.blobs("fr-247"), 0);
    let codes: Vec<String> = fr_store
        .security_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.code)
        .collect();
    for code in [
        "evidence:chunk-digest",
        "evidence:package-digest",
        "evidence:statement-signature",
        "evidence:bad-signature",
        "evidence:unknown-sender",
        "evidence:other-request",
        "evidence:not-addressed",
        "evidence:clock-skew",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code} not in {codes:?}");
    }
}

#[tokio::test]
async fn the_sender_refuses_to_attach_what_the_receiver_would_refuse() {
    let two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    let br = two.key("br-247");
    let attach = |package: PathBuf, statement: Vec<u8>| {
        let service = two.service("br-247").clone();
        let br_id = br_id.clone();
        async move {
            service
                .attach_evidence(&br_id, &package, &statement, "cli:test")
                .await
                .unwrap_err()
                .slug
        }
    };
    // Changed after sealing.
    let package = two.seal(&br, "fr-247", &fr_id, "answer");
    let mut bytes = std::fs::read(&package).unwrap();
    bytes[100] ^= 1;
    let changed = two.tmp.path().join("changed.age");
    std::fs::write(&changed, &bytes).unwrap();
    assert_eq!(
        attach(changed, statement_of(&package)).await,
        "package-digest"
    );
    // Sealed for another request.
    let other = two.seal(&br, "fr-247", "req-other", "other");
    assert_eq!(
        attach(other.clone(), statement_of(&other)).await,
        "other-request"
    );
    // Sealed with another key than this node's.
    let foreign = two.seal(
        &NodeSigningKey::from_seed([9; 32]),
        "fr-247",
        &fr_id,
        "foreign",
    );
    assert_eq!(
        attach(foreign.clone(), statement_of(&foreign)).await,
        "statement-signature"
    );
    // Not openable by the counterpart.
    let to_self = two.seal(&br, "br-247", &fr_id, "self");
    assert_eq!(
        attach(to_self.clone(), statement_of(&to_self)).await,
        "not-addressed"
    );
    // A request that was never sent anywhere.
    let case = two
        .service("br-247")
        .create_case(
            CaseInput {
                reference: "BR-local".into(),
                title: "t".into(),
            },
            "bob",
        )
        .await
        .unwrap();
    let mut doc = preservation();
    doc["requested_state"] = json!("FR");
    let local = two
        .service("br-247")
        .create_request(
            NewRequestInput {
                case_id: case.id,
                document: serde_json::from_value(doc).unwrap(),
            },
            "bob",
        )
        .await
        .unwrap();
    let err = two
        .service("br-247")
        .attach_evidence(&local.id, &package, &statement_of(&package), "cli:test")
        .await
        .unwrap_err();
    assert_eq!(err.slug, "request-not-linked");
    assert!(two.evidence("br-247", &br_id).await.is_empty());
    assert_eq!(
        two.blobs("br-247"),
        0,
        "nothing refused reaches the blob store"
    );
}

/// The value of the first hidden input named `name`.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// The cookies a response sets, as one `Cookie` header value.
fn cookies(response: &reqwest::Response, jar: &mut Vec<String>) {
    for c in response.headers().get_all("set-cookie") {
        let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
        let name = pair.split('=').next().unwrap().to_owned();
        jar.retain(|p| !p.starts_with(&format!("{name}=")));
        jar.push(pair);
    }
}

#[tokio::test]
async fn the_request_page_lists_evidence_with_its_seal_and_receipt_and_a_download() {
    use comity_node::access::Role;
    use comity_node::accounts::NewUser;
    let two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, "answer");
    two.service("br-247")
        .attach_evidence(&br_id, &package, &statement_of(&package), "cli:test")
        .await
        .unwrap();
    two.deliver_evidence("br-247").await;

    let secret = two
        .service("fr-247")
        .accounts()
        .add(NewUser {
            username: "amira".into(),
            display_name: "Amira".into(),
            role: Role::Caseworker,
            authority: "fr-247".into(),
            language: "en".into(),
            password: "correct horse battery staple".into(),
        })
        .await
        .unwrap()
        .secret_base32;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = two.peer("fr-247").endpoint.clone();
    let mut jar = Vec::new();
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    cookies(&page, &mut jar);
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let code = comity_node::totp::code_at(
        &comity_node::totp::base32_decode(&secret).unwrap(),
        two.clock.now().unix_timestamp(),
    );
    let login = client
        .post(format!("{base}/login"))
        .header("cookie", jar.join("; "))
        .form(&[
            ("csrf", csrf.as_str()),
            ("lang", "en"),
            ("username", "amira"),
            ("password", "correct horse battery staple"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    cookies(&login, &mut jar);

    let page = client
        .get(format!("{base}/requests/{fr_id}"))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2 id=\"evidence\">Evidence</h2>"), "{page}");
    assert!(page.contains("verified: every file checked"), "{page}");
    assert!(page.contains("signed receipt sent"), "{page}");
    assert!(page.contains("from br-247"), "{page}");
    let evidence_id = &two.evidence("fr-247", &fr_id).await[0].id;
    let link = format!("/requests/{fr_id}/evidence/{evidence_id}");
    assert!(page.contains(&format!("href=\"{link}\"")), "{page}");
    let download = client
        .get(format!("{base}{link}"))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        &std::fs::read(&package).unwrap()[..]
    );
    // Without a session, the download goes to the login page.
    let anonymous = client.get(format!("{base}{link}")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    // The sending side's page shows the receipt it received.
    let sent = two.evidence("br-247", &br_id).await;
    assert_eq!(sent[0].receipt, "received");
}

#[tokio::test]
async fn full_size_chunks_pass_the_body_limit_of_the_api() {
    let two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    // 1 MiB chunks, four times the API's ordinary body limit.
    two.service("br-247")
        .evidence_side()
        .unwrap()
        .set_chunk_bytes(comity_node::evidence::DEFAULT_CHUNK_BYTES);
    let package = two.seal_sized(&two.key("br-247"), "fr-247", &fr_id, "large", 2_500_000);
    let response = attach_over_api(&two, "br-247", &br_id, &package).await;
    assert_eq!(response.status(), 201);
    two.deliver_evidence("br-247").await;
    let sent = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(sent.transfer.as_deref(), Some("delivered"), "{sent:?}");
    assert_eq!((sent.chunk_count, sent.chunks_sent), (3, Some(3)));
    let received = &two.evidence("fr-247", &fr_id).await[0];
    assert_eq!(
        received.size_bytes,
        std::fs::metadata(&package).unwrap().len()
    );
    // Served back in parts, whole.
    let download = reqwest::Client::new()
        .get(format!(
            "{}{}",
            two.peer("fr-247").endpoint,
            received.package_url
        ))
        .bearer_auth(two.token("fr-247"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(download.as_ref(), &std::fs::read(&package).unwrap()[..]);
}

/// moto's S3 server on a free loopback port, stopped on drop (installed by
/// `crates/comity-blob/tests/install-s3-server.sh`, which `.ci/run` calls).
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3_server() -> Result<S3Server, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start moto_server ({e}); install it with crates/comity-blob/tests/install-s3-server.sh")
        })?;
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err("moto_server did not listen within 30 s".into())
}

#[tokio::test]
async fn received_packages_go_to_the_object_store_the_node_is_configured_with() {
    let server = match start_s3_server() {
        Ok(s) => s,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let mut two = Two::new().await;
    let (fr_id, br_id) = two.linked_request().await;
    // fr-247 keeps its evidence in S3-compatible storage, the secret key in a file of its own.
    two.stop("fr-247").await;
    let dir = two.peer("fr-247").dir.clone();
    std::fs::write(dir.join("s3.secret"), "comity-test-secret").unwrap();
    let mut config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    config.push_str(&format!(
        "\n[evidence_store]\ns3_endpoint = \"{}\"\ns3_region = \"us-east-1\"\ns3_bucket = \"fr-evidence\"\ns3_access_key_id = \"comity-test\"\ns3_secret_access_key_file = \"s3.secret\"\n",
        server.endpoint
    ));
    std::fs::write(dir.join("config.toml"), config).unwrap();
    two.reopen("fr-247").await;

    let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, "answer");
    two.service("br-247")
        .attach_evidence(&br_id, &package, &statement_of(&package), "cli:test")
        .await
        .unwrap();
    two.deliver_evidence("br-247").await;
    let view = &two.evidence("br-247", &br_id).await[0];
    assert_eq!(view.transfer.as_deref(), Some("delivered"), "{view:?}");

    // The package is in the bucket, not on fr-247's disk, and downloads intact.
    assert_eq!(
        two.blobs("fr-247"),
        0,
        "nothing in the local evidence directory"
    );
    let bytes = std::fs::read(&package).unwrap();
    let s3 = comity_blob::s3::S3BlobStore::new(comity_blob::s3::S3Config {
        endpoint: server.endpoint.clone(),
        region: "us-east-1".into(),
        bucket: "fr-evidence".into(),
        access_key_id: "comity-test".into(),
        secret_access_key: "comity-test-secret".into(),
    })
    .unwrap();
    use comity_blob::BlobStore;
    assert!(
        s3.contains(&comity_blob::BlobId::of(&bytes)).await.unwrap(),
        "the package is in the bucket"
    );
    let received = &two.evidence("fr-247", &fr_id).await[0];
    let (_, downloaded) = two
        .service("fr-247")
        .evidence_package(&fr_id, &received.id)
        .await
        .unwrap();
    assert_eq!(downloaded, bytes);

    // A node whose S3 secret is missing does not open, and says how to fix it.
    std::fs::remove_file(dir.join("s3.secret")).unwrap();
    let err = Node::open_with_clock(&dir, two.clock.clone())
        .err()
        .unwrap();
    assert!(err.to_string().contains("s3.secret"), "{err}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_costs_one_timeout_per_round_and_then_gets_everything() {
    let mut two = Two::new().await;
    let mut attached = Vec::new();
    for name in ["first", "second", "third"] {
        let (fr_id, br_id) = two.linked_request().await;
        let package = two.seal(&two.key("br-247"), "fr-247", &fr_id, name);
        two.service("br-247")
            .attach_evidence(&br_id, &package, &statement_of(&package), "cli:test")
            .await
            .unwrap();
        attached.push(br_id);
    }

    // fr-247 hangs: its port accepts connections and nothing ever answers.
    two.stop("fr-247").await;
    let port = two.peer("fr-247").port;
    let holding = common::hung_peer(port).await;
    let started = std::time::Instant::now();
    two.deliver_evidence("br-247").await;
    let took = started.elapsed();
    assert!(
        took < comity_node::tls::PEER_TIMEOUT * 3 / 2,
        "one timeout per round, not one per package: {took:?}"
    );
    let mut errors = Vec::new();
    for br_id in &attached {
        let view = &two.evidence("br-247", br_id).await[0];
        assert_eq!(view.transfer.as_deref(), Some("pending"), "{view:?}");
        errors.push(view.last_error.clone().unwrap_or_default());
    }
    assert_eq!(
        errors.iter().filter(|e| e.contains("cannot reach")).count(),
        1,
        "{errors:?}"
    );
    assert_eq!(
        errors
            .iter()
            .filter(|e| e.contains("did not answer earlier in this round"))
            .count(),
        2,
        "{errors:?}"
    );

    // It comes back: after the backoff every package goes through.
    holding.abort();
    let _ = holding.await;
    two.reopen("fr-247").await;
    two.clock.advance(time::Duration::seconds(2));
    two.deliver_evidence("br-247").await;
    for br_id in &attached {
        let view = &two.evidence("br-247", br_id).await[0];
        assert_eq!(view.transfer.as_deref(), Some("delivered"), "{view:?}");
    }
}
