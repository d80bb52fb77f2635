//! Receipts backed by the receiver's log: each side can prove the other logged a message.
//!
//! Both nodes log the SHA-256 of every envelope they exchange (the `message` field of the leaf). The receiver
//! answers at once with its signed receipt; its log sequences the entry a moment later. It then serves, for each
//! message it received, a proof that its log holds a leaf carrying that message's digest
//! (`GET /log/messages/{message_id}?sha256=HEX`: public, since only the two parties know the digest). After a
//! delivery the sender fetches that proof, checks it against the receiver's log key from the directory, and keeps it
//! beside the receipt; the request's exchange view shows it, and `comity log check-proof` checks it offline.

use comity_store::OutboxRecord;

use crate::eventlog::proof::{self, MessageProof};
use crate::service::{NodeService, ServiceError};

/// Where the sender keeps what it still has to fetch (`<prefix><message id>`), and what it fetched.
const PENDING: &str = "pending/log-proof/";

fn pending_key(message_id: &str) -> String {
    format!("{PENDING}{message_id}")
}

fn proof_key(message_id: &str) -> String {
    format!("log-proof/{message_id}")
}

impl NodeService {
    /// The proof that this node logged a message it received, for the sender (or anyone holding the digest).
    pub async fn message_proof(
        &self,
        message_id: &str,
        sha256: &str,
    ) -> Result<MessageProof, ServiceError> {
        let not_found = || ServiceError::NotFound {
            what: "logged message",
            id: message_id.to_owned(),
        };
        let reader = self.log_reader().ok_or_else(not_found)?.clone();
        let inbox = self
            .store
            .inbox(message_id)
            .await?
            .filter(|i| i.envelope_sha256.eq_ignore_ascii_case(sha256))
            .ok_or_else(not_found)?;
        let link = self
            .store
            .link_by_thread(&inbox.thread, &inbox.sender)
            .await?
            .ok_or_else(not_found)?;
        let events = self.store.events(&link.request_id).await?;
        let event = events
            .iter()
            .find(|e| {
                crate::service::event_message(e)
                    .is_some_and(|h| comity_evidence::digest::hex(&h.0) == inbox.envelope_sha256)
            })
            .ok_or_else(not_found)?;
        let (request_id, seq) = (event.request_id.clone(), event.seq);
        let digest = inbox.envelope_sha256.clone();
        tokio::task::spawn_blocking(move || {
            let index = reader
                .index_of(&request_id, seq)
                .map_err(|e| ServiceError::Internal(e.to_string()))?
                .ok_or(ServiceError::NotFound {
                    what: "logged message (not yet sequenced; ask again shortly)",
                    id: request_id.clone(),
                })?;
            let inclusion = reader
                .inclusion(index)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok(proof::build_message(reader.verifier(), &inclusion, &digest))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Notes, after a delivery, that the receiver's log proof is to be fetched.
    pub(crate) async fn want_receiver_proof(&self, m: &OutboxRecord) -> Result<(), ServiceError> {
        Ok(self
            .store
            .set_meta(
                &pending_key(&m.message_id),
                &format!(
                    "{} {}",
                    m.recipient,
                    super::message::envelope_hash(m.envelope.as_bytes())
                ),
            )
            .await?)
    }

    /// Fetches the receiver proofs still wanted; returns how many arrived and checked.
    ///
    /// A receiver that cannot be reached (or does not answer within the client's timeout) is skipped for the rest of
    /// the round, so one silent receiver costs one timeout per round, not one per message.
    pub async fn collect_receiver_proofs(&self) -> Result<usize, ServiceError> {
        let Some(directory) = self.federation.directory() else {
            return Ok(0);
        };
        let mut got = 0;
        let mut unreachable = std::collections::HashSet::new();
        for (key, value) in self.store.meta_with_prefix(PENDING).await? {
            let Some(message_id) = key.strip_prefix(PENDING) else {
                continue;
            };
            let Some((recipient, digest)) = value.split_once(' ') else {
                continue;
            };
            if unreachable.contains(recipient) {
                continue;
            }
            let Some(to) = directory.authority(recipient) else {
                continue;
            };
            let Ok(client) = self.federation.client_for(to) else {
                continue;
            };
            let url = format!("{}/log/messages/{message_id}?sha256={digest}", to.endpoint);
            let Ok(response) = client.get(&url).send().await else {
                unreachable.insert(recipient.to_owned());
                continue;
            };
            if !response.status().is_success() {
                continue;
            }
            let Ok(bytes) = response.bytes().await else {
                continue;
            };
            // Checked against the receiver's log key as the directory publishes it, else only for consistency.
            let trusted = to.entry.log_key.as_deref();
            match proof::check_message(&bytes, trusted, Some(digest)) {
                Ok(_) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.store.set_meta(&proof_key(message_id), &text).await?;
                    self.store.delete_meta(&key).await?;
                    got += 1;
                }
                Err(e) => {
                    tracing::warn!(message = %message_id, recipient, error = %e, "receiver's log proof does not check");
                }
            }
        }
        Ok(got)
    }

    /// The receiver's log proof kept for a message this node sent, if it arrived.
    pub async fn receiver_proof(
        &self,
        message_id: &str,
    ) -> Result<Option<MessageProof>, ServiceError> {
        Ok(self
            .store
            .meta(&proof_key(message_id))
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }
}
