//! The sending side of an evidence transfer, driven like the outbox: every pending transfer due now is offered to
//! its receiver, the chunks it lacks are sent, and the upload is completed; the receipt is kept only if it verifies
//! with the receiver's key and names the package. Any failure is retried with the outbox's backoff; because the
//! receiver says which chunks it holds, a retry (or a restart of this node) never sends a completed chunk again.

use axum::http::StatusCode;
use comity_blob::BlobId;
use comity_store::EvidenceRecord;
use time::OffsetDateTime;

use super::protocol::{self, EvidenceReceipt, Offer, OfferAnswer};
use super::{EvidenceError, blob_id};
use crate::federation::backoff;
use crate::federation::directory::Authority;
use crate::service::NodeService;

/// How one pass over a transfer ended.
#[derive(Debug)]
enum Pass {
    /// Acknowledged with a verified receipt.
    Delivered,
    /// Sent as many chunks as one pass may; the next pass continues at once.
    Continue,
    /// Failed; to be tried again later.
    Retry(String),
    /// No answer came (cannot connect, or the receiver's time ran out); to be tried again later.
    Unreachable(String),
    /// The receiver refused the package: not retried.
    Refused(String),
}

/// Reads a problem document's slug and detail, for the sender's record.
async fn problem_text(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<crate::problem::Problem>(&body) {
        Ok(p) => format!(
            "{}: {}",
            p.kind.trim_start_matches("urn:comity:problem:"),
            p.detail
        ),
        Err(_) => format!("HTTP {status}"),
    }
}

/// A refusal (the receiver will not take the package as it is) rather than a failure worth retrying.
fn is_refusal(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
    )
}

/// Sends one request of a transfer: the receiver's successful answer, or how the pass ends (given up on a refusal,
/// tried again later on anything else; `unreachable` says what failed when no answer came).
async fn answer_of(
    request: reqwest::RequestBuilder,
    unreachable: impl FnOnce(reqwest::Error) -> String,
) -> Result<reqwest::Response, Pass> {
    let response = request
        .send()
        .await
        .map_err(|e| Pass::Unreachable(unreachable(e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = problem_text(response).await;
    Err(if is_refusal(status) {
        Pass::Refused(text)
    } else {
        Pass::Retry(text)
    })
}

impl NodeService {
    /// Works on every evidence transfer due now; returns when the next one is due.
    pub async fn deliver_evidence_due(&self) -> Result<Option<OffsetDateTime>, EvidenceError> {
        let Some(side) = self.evidence.clone() else {
            return Ok(None);
        };
        let now = self.clock.now();
        let due = self.store.due_evidence_transfers(now, 16).await?;
        // A receiver that did not answer is not tried again in this round: one silent receiver costs one client
        // timeout per round, not one per package, and the packages to the others go on.
        let mut silent = std::collections::HashSet::new();
        for record in due {
            if silent.contains(&record.counterpart) {
                let error = format!(
                    "not tried: `{}` did not answer earlier in this round",
                    record.counterpart
                );
                self.transfer_retry(&record, now, &error).await?;
                continue;
            }
            let pass = self.transfer_pass(&side, &record).await;
            match pass {
                Ok(Pass::Delivered) | Ok(Pass::Continue) => {}
                Ok(Pass::Retry(error)) => self.transfer_retry(&record, now, &error).await?,
                Ok(Pass::Unreachable(error)) => {
                    silent.insert(record.counterpart.clone());
                    self.transfer_retry(&record, now, &error).await?;
                }
                Ok(Pass::Refused(error)) => {
                    tracing::warn!(evidence = %record.id, recipient = %record.counterpart, "evidence refused by the recipient");
                    self.store
                        .evidence_transfer_refused(&record.id, &error)
                        .await?;
                    let event = crate::federation::security(
                        now,
                        "evidence-refused-by-recipient",
                        Some(&record.counterpart),
                        None,
                        error,
                    );
                    if let Err(e) = self.store.security_event(event).await {
                        tracing::warn!(error = %e, "cannot record a security event");
                    }
                }
                Err(e) => self.transfer_retry(&record, now, &e.detail).await?,
            }
        }
        Ok(self.store.next_evidence_attempt().await?)
    }

    async fn transfer_retry(
        &self,
        record: &EvidenceRecord,
        now: OffsetDateTime,
        error: &str,
    ) -> Result<(), EvidenceError> {
        let attempts = record.transfer.as_ref().map_or(0, |t| t.attempts);
        let jitter =
            f64::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng)) / f64::from(u32::MAX);
        let next = now + backoff(attempts, jitter);
        tracing::warn!(evidence = %record.id, recipient = %record.counterpart, attempt = attempts + 1, %error, "evidence transfer failed; will retry");
        self.store
            .evidence_transfer_retry(&record.id, error, next)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(evidence = %record.id))]
    async fn transfer_pass(
        &self,
        side: &super::EvidenceSide,
        record: &EvidenceRecord,
    ) -> Result<Pass, EvidenceError> {
        let Some(directory) = self.federation.directory() else {
            return Ok(Pass::Retry("no directory".into()));
        };
        let Some(to) = directory.authority(&record.counterpart) else {
            return Ok(Pass::Retry(format!(
                "`{}` is not in the directory",
                record.counterpart
            )));
        };
        let client = match self.federation.client_for(to) {
            Ok(c) => c,
            Err(e) => return Ok(Pass::Retry(e)),
        };
        let digests: Vec<String> = record
            .chunk_digests
            .split('\n')
            .map(str::to_owned)
            .collect();
        let offer = Offer {
            sender: self.identity.authority.to_string(),
            recipient: record.counterpart.clone(),
            thread: record.thread.clone(),
            created_at: crate::wire::rfc3339(self.clock.now()),
            statement: record.statement.clone(),
            size_bytes: record.size_bytes,
            chunk_bytes: record.chunk_bytes,
            chunk_sha256: digests.clone(),
        };
        let base = format!("{}/federation/v1/evidence", to.endpoint);
        let offered = client
            .post(format!("{base}/offers"))
            .header("content-type", "application/json")
            .body(offer.sign(self.federation.key()));
        let response = match answer_of(offered, |e| format!("cannot reach {base}: {e}")).await {
            Ok(r) => r,
            Err(pass) => return Ok(pass),
        };
        let answer: OfferAnswer = match response.json().await {
            Ok(a) => a,
            Err(e) => return Ok(Pass::Retry(format!("unreadable answer to the offer: {e}"))),
        };
        if let Some(receipt) = answer.receipt {
            return self
                .accept_receipt(record, to, &answer.upload_id, &receipt)
                .await;
        }
        if record
            .transfer
            .as_ref()
            .and_then(|t| t.upload_id.as_deref())
            != Some(answer.upload_id.as_str())
        {
            self.store
                .evidence_upload_opened(&record.id, &answer.upload_id)
                .await?;
        }
        let blob = blob_id(&record.package_sha256)?;
        let blobs = side.blobs().await?.clone();
        let mut sent_now = 0u64;
        let budget = side.chunks_per_attempt();
        let held: std::collections::BTreeSet<u64> = answer.received.into_iter().collect();
        for (index, digest) in (0u64..).zip(&digests) {
            if held.contains(&index) {
                continue;
            }
            if sent_now >= budget {
                tracing::info!(
                    sent = sent_now,
                    "evidence transfer continues in the next pass"
                );
                return Ok(Pass::Continue);
            }
            let chunk = self
                .read_chunk(&blobs, &blob, record, index, digest)
                .await?;
            let url = format!("{base}/uploads/{}/chunks/{index}", answer.upload_id);
            let put = client
                .put(&url)
                .header("content-type", "application/octet-stream")
                .body(chunk);
            if let Err(pass) = answer_of(put, |e| format!("cannot send chunk {index}: {e}")).await {
                return Ok(pass);
            }
            self.store.evidence_chunk_sent(&record.id).await?;
            sent_now += 1;
        }
        let complete = client.post(format!("{base}/uploads/{}/complete", answer.upload_id));
        let response =
            match answer_of(complete, |e| format!("cannot complete the upload: {e}")).await {
                Ok(r) => r,
                Err(pass) => return Ok(pass),
            };
        let receipt = response.text().await.unwrap_or_default();
        self.accept_receipt(record, to, &answer.upload_id, &receipt)
            .await
    }

    /// Reads chunk `index` of a stored package and checks it against the digest recorded when it was attached.
    async fn read_chunk(
        &self,
        blobs: &std::sync::Arc<dyn comity_blob::BlobStore>,
        blob: &BlobId,
        record: &EvidenceRecord,
        index: u64,
        digest: &str,
    ) -> Result<Vec<u8>, EvidenceError> {
        let offset = index.saturating_mul(record.chunk_bytes);
        let len = protocol::chunk_len(record.size_bytes, record.chunk_bytes, index);
        let chunk = blobs
            .get_range(blob, offset, len)
            .await
            .map_err(|e| EvidenceError::internal("cannot read an evidence package", e))?
            .ok_or_else(|| {
                EvidenceError::internal(
                    "an evidence package is missing from the blob store",
                    &record.id,
                )
            })?;
        if protocol::sha256_hex(&chunk) != digest {
            return Err(EvidenceError::internal(
                "a stored evidence package is damaged; restore it from a copy",
                format!("chunk {index} of {}", record.id),
            ));
        }
        Ok(chunk)
    }

    /// Keeps a receipt only if the receiver signed it and it names this package, this sender and this thread.
    async fn accept_receipt(
        &self,
        record: &EvidenceRecord,
        to: &Authority,
        upload_id: &str,
        text: &str,
    ) -> Result<Pass, EvidenceError> {
        let Some(receipt) = EvidenceReceipt::verify(text, &to.signing_key) else {
            return Ok(Pass::Retry(format!(
                "the receipt from `{}` does not verify with its key",
                record.counterpart
            )));
        };
        let expected_statement = protocol::sha256_hex(record.statement.as_bytes());
        if receipt.package_sha256 != record.package_sha256
            || receipt.size_bytes != record.size_bytes
            || receipt.statement_sha256 != expected_statement
            || receipt.receiver != record.counterpart
            || receipt.sender != self.identity.authority.as_str()
            || receipt.thread != record.thread
            || receipt.upload_id != upload_id
        {
            return Ok(Pass::Retry(format!(
                "the receipt from `{}` does not name this package",
                record.counterpart
            )));
        }
        let at = OffsetDateTime::parse(
            &receipt.received_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| self.clock.now());
        self.store.evidence_delivered(&record.id, text, at).await?;
        tracing::info!(recipient = %record.counterpart, "evidence delivered with a signed receipt");
        Ok(Pass::Delivered)
    }
}

/// Delivers evidence until aborted: whenever a package is attached, and when the next retry falls due.
///
/// Of several processes serving one node, only the holder of the `evidence-transfer` lease sends, so a package is
/// offered and uploaded by one process at a time; another takes over when the holder stops renewing.
pub async fn deliver_forever(service: NodeService, holder: String) {
    const LEASE: &str = "evidence-transfer";
    const LEASE_MS: u64 = 15_000;
    let Some(side) = service.evidence_side().cloned() else {
        return;
    };
    loop {
        match service.try_acquire_lease(LEASE, &holder, LEASE_MS).await {
            Ok(true) => {}
            Ok(false) => {
                side.wait(std::time::Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot take the evidence transfer lease");
                side.wait(std::time::Duration::from_secs(1)).await;
                continue;
            }
        }
        let wait = match service.deliver_evidence_due().await {
            Ok(Some(next)) => {
                let ms = (next - service.now()).whole_milliseconds().clamp(10, 1000);
                std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(1000))
            }
            Ok(None) => std::time::Duration::from_secs(1),
            Err(e) => {
                tracing::error!(error = %e, "evidence delivery failed");
                std::time::Duration::from_secs(1)
            }
        };
        side.wait(wait).await;
    }
}
