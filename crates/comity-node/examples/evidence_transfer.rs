//! Evidence transfer benchmark over pinned TLS on loopback: br-247 sends a sealed package of the given size to fr-247
//! on the thread of a request, in 1 MiB chunks; fr-247 writes each chunk durably, checks the whole ciphertext,
//! decrypts and checks the bag, stores the package and signs a receipt, which br-247 verifies. Reports the time from
//! the first offer to the verified receipt, and the time to seal and to attach for comparison.
//!
//! Run in release: `cargo run --release -p comity-node --example evidence_transfer -- [MiB]` (default 64).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark aborts on any failure"
)]

use std::str::FromStr;
use std::time::Instant;

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::ListQuery;
use comity_node::wire::{CaseInput, NewRequestInput, TransitionInput};
use comity_seal::keys::NodeSigningKey;
use serde_json::json;

#[tokio::main]
async fn main() {
    let mib: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("a size in MiB"))
        .unwrap_or(64);
    let tmp = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let operator = NodeSigningKey::generate();
    let mut nodes = Vec::new();
    let mut entries = Vec::new();
    for (id, state) in [("fr-247", "FR"), ("br-247", "BR")] {
        let dir = tmp.path().join(id);
        let params = InitParams {
            authority: AuthorityId::parse(id).unwrap(),
            state: IsoCountry::parse(state).unwrap(),
            kind: AuthorityKind::ContactPoint,
            name: id.into(),
        };
        let mut node_dir = config::init(&dir, &params, now).await.unwrap();
        node_dir
            .pin_directory_operator(&operator.public_key())
            .unwrap();
        let node = Node::open(&dir).unwrap().without_background_delivery();
        let listener = node.bind("127.0.0.1:0").await.unwrap();
        entries.push(DirectoryEntry {
            id: id.into(),
            state: state.into(),
            kind: "contact-point".into(),
            name: id.into(),
            languages: vec!["en".into()],
            hours: "24/7".into(),
            on_call: String::new(),
            endpoint: format!("https://{}", listener.local_addr().unwrap()),
            signing_key: node_dir.identity.signing_public_key.clone(),
            age_recipient: node_dir.identity.age_recipient.clone(),
            tls_cert_sha256: Some(node.tls_cert_sha256.clone()),
            declarations: String::new(),
            valid_from: comity_node::wire::rfc3339(now - time::Duration::days(1)),
            valid_until: comity_node::wire::rfc3339(now + time::Duration::days(1)),
            revoked: None,
            log_key: None,
        });
        nodes.push((dir, node, listener));
    }
    let directory = DirectoryDocument {
        version: 1,
        issued_at: comity_node::wire::rfc3339(now),
        operator: "bench".into(),
        authorities: entries,
    }
    .sign(&operator);
    let mut services = Vec::new();
    let mut dirs = Vec::new();
    for (dir, node, listener) in nodes {
        node.service
            .federation()
            .install_directory(&directory)
            .unwrap();
        services.push(node.service.clone());
        dirs.push(dir);
        tokio::spawn(node.serve_tls(listener, std::future::pending()));
    }
    let (fr, br) = (&services[0], &services[1]);

    let case = fr
        .create_case(
            CaseInput {
                reference: "FR-BENCH".into(),
                title: "bench".into(),
            },
            "bench",
        )
        .await
        .unwrap();
    let document = serde_json::from_value(json!({
        "mechanism": "expedited-preservation", "requested_state": "BR", "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion", "data_sought": [{"category": "traffic", "description": "logs"}],
        "relation_to_offence": "origin", "custodian_or_location": "Example Hosting", "necessity": "logs expire",
        "follow_up_mla_intent": true, "urgency": "urgent", "language": "en"
    }))
    .unwrap();
    let thread = fr
        .create_request(
            NewRequestInput {
                case_id: case.id,
                document,
            },
            "bench",
        )
        .await
        .unwrap()
        .id;
    let send = TransitionInput {
        action: "send".into(),
        reason: None,
        grounds: vec![],
        expected_version: None,
        issuer: None,
        checklist: vec![],
        recipient: None,
        authorisation: None,
    };
    fr.transition(&thread, send, "bench").await.unwrap();
    fr.deliver_due().await.unwrap();
    let br_id = br.requests(&ListQuery::default()).await.unwrap()[0]
        .id
        .clone();

    // A payload that does not compress, sealed inside br-247 to fr-247.
    let input = tmp.path().join("production");
    std::fs::create_dir_all(&input).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let payload: Vec<u8> = (0..mib << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(input.join("image.bin"), &payload).unwrap();
    drop(payload);
    let key = NodeSigningKey::read(&dirs[1].join(config::SIGNING_KEY_FILE)).unwrap();
    let recipient = config::open(&dirs[0]).unwrap().identity.age_recipient;
    let package = tmp.path().join("answer.age");
    let started = Instant::now();
    comity_evidence::seal(
        comity_evidence::SealOptions {
            recipients: vec![age::x25519::Recipient::from_str(&recipient).unwrap()],
            signing_key: &key,
            request_id: Some(thread.clone()),
            source_organization: "br-247".into(),
            legal_basis: None,
            confidentiality: None,
            speciality: None,
            inputs: vec![input],
            progress: None,
        },
        &package,
    )
    .unwrap();
    let seal_s = started.elapsed().as_secs_f64();
    let statement = std::fs::read(comity_evidence::statement_path(&package)).unwrap();
    let started = Instant::now();
    let view = br
        .attach_evidence(&br_id, &package, &statement, "bench")
        .await
        .unwrap();
    let attach_s = started.elapsed().as_secs_f64();
    // One pass sends at most 256 chunks; the loop runs passes as the serving node's transfer loop would.
    let started = Instant::now();
    let mut passes = 0;
    let sent = loop {
        br.deliver_evidence_due().await.unwrap();
        passes += 1;
        let sent = br.evidence_list(&br_id).await.unwrap().evidence;
        if sent[0].transfer.as_deref() != Some("pending") || passes > 1000 {
            break sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let transfer_s = started.elapsed().as_secs_f64();
    assert_eq!(sent[0].transfer.as_deref(), Some("delivered"), "{sent:?}");
    assert_eq!(
        sent[0].chunks_sent,
        Some(view.chunk_count),
        "no chunk sent twice"
    );
    let size = view.size_bytes as f64 / f64::from(1 << 20);
    println!(
        "package {size:.1} MiB in {} chunks of 1 MiB over pinned TLS on loopback, {passes} pass(es)",
        view.chunk_count
    );
    println!(
        "seal (sender, not part of the transfer): {seal_s:.2} s ({:.0} MiB/s)",
        size / seal_s
    );
    println!(
        "attach (hash, chunk digests, blob store): {attach_s:.2} s ({:.0} MiB/s)",
        size / attach_s
    );
    println!(
        "transfer to the verified receipt (offer, chunks written durably, whole digest, decrypt and check the bag, \
         blob store, receipt): {transfer_s:.2} s ({:.0} MiB/s)",
        size / transfer_s
    );
}
