//! Evidence on a node: sealed packages attached to a request, kept in the blob store, and carried to the other side
//! of the request's thread by a chunked, resumable upload that ends with the receiver's signed receipt.
//!
//! - [`attach`]: the producing node takes a package sealed with its own key, addressed to the counterpart's age
//!   recipient and naming the request's thread; it checks the ciphertext against the seal statement, stores it and
//!   queues its transfer, durably, in one step.
//! - [`transfer`]: the sending side's delivery loop (beside the outbox's): offer, missing chunks, complete, receipt;
//!   retried with the outbox's backoff, resumed where the receiver stands after any interruption or restart.
//! - [`receive`]: the receiving side checks everything before it stores anything, and acknowledges only what it has
//!   stored.
//! - [`protocol`]: the signed offer, the answer and the signed receipt; [`api`]: the routes.
//!
//! Content never reaches logs or spans: only ids, digests, sizes and counts.

pub mod api;
pub mod attach;
pub mod protocol;
pub mod receive;
pub mod transfer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use comity_blob::{BlobId, BlobStore};
use comity_store::EvidenceRecord;
use comity_store::evidence::{OUTGOING, TRANSFER_DELIVERED};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;
use crate::service::NodeService;

/// The node directory's subdirectory for evidence: blobs (`sha256/`, `tmp/`), uploads being received (`uploads/`)
/// and packages being attached (`staging/`).
pub const EVIDENCE_DIR: &str = "evidence";
/// Default size of a transfer chunk.
pub const DEFAULT_CHUNK_BYTES: u64 = 1 << 20;
/// Default number of chunks one delivery pass sends before it lets other transfers go first.
pub const DEFAULT_CHUNKS_PER_ATTEMPT: u64 = 256;

/// Where a node keeps evidence and how it transfers it.
pub struct EvidenceSide {
    root: PathBuf,
    age_identity_file: PathBuf,
    blobs: tokio::sync::OnceCell<Arc<dyn BlobStore>>,
    /// S3-compatible storage to open (and whose bucket to create) on first use, instead of the local directory.
    s3: Option<Arc<comity_blob::s3::S3BlobStore>>,
    chunk_bytes: AtomicU64,
    chunks_per_attempt: AtomicU64,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for EvidenceSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvidenceSide({})", self.root.display())
    }
}

impl EvidenceSide {
    /// Evidence kept under `<node_dir>/evidence` on the local file system.
    pub fn new(node_dir: &Path) -> Self {
        Self {
            root: node_dir.join(EVIDENCE_DIR),
            age_identity_file: node_dir.join(crate::config::AGE_IDENTITY_FILE),
            blobs: tokio::sync::OnceCell::new(),
            s3: None,
            chunk_bytes: AtomicU64::new(DEFAULT_CHUNK_BYTES),
            chunks_per_attempt: AtomicU64::new(DEFAULT_CHUNKS_PER_ATTEMPT),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Packages kept in `blobs` (for example S3-compatible storage) instead of the local directory; uploads are
    /// still assembled under `<node_dir>/evidence`.
    pub fn with_blob_store(node_dir: &Path, blobs: Arc<dyn BlobStore>) -> Self {
        let side = Self::new(node_dir);
        let _ = side.blobs.set(blobs);
        side
    }

    /// Packages kept in S3-compatible storage, shared by every process serving the node; the bucket is created on
    /// first use if missing.
    pub fn with_s3(node_dir: &Path, s3: comity_blob::s3::S3BlobStore) -> Self {
        Self {
            s3: Some(Arc::new(s3)),
            ..Self::new(node_dir)
        }
    }

    /// Sets the chunk size of packages attached from now on (at least 1 byte, at most 16 MiB).
    pub fn set_chunk_bytes(&self, bytes: u64) {
        self.chunk_bytes
            .store(bytes.clamp(1, protocol::MAX_CHUNK_BYTES), Ordering::Relaxed);
    }

    /// Sets how many chunks one delivery pass sends for one package before the next pass continues it.
    pub fn set_chunks_per_attempt(&self, chunks: u64) {
        self.chunks_per_attempt
            .store(chunks.max(1), Ordering::Relaxed);
    }

    fn chunk_bytes(&self) -> u64 {
        self.chunk_bytes.load(Ordering::Relaxed)
    }

    fn chunks_per_attempt(&self) -> u64 {
        self.chunks_per_attempt.load(Ordering::Relaxed)
    }

    /// The blob store, opened on first use.
    pub async fn blobs(&self) -> Result<&Arc<dyn BlobStore>, EvidenceError> {
        self.blobs
            .get_or_try_init(|| async {
                if let Some(s3) = &self.s3 {
                    s3.ensure_bucket().await.map_err(|e| {
                        EvidenceError::internal("cannot open the evidence bucket", e)
                    })?;
                    return Ok(s3.clone() as Arc<dyn BlobStore>);
                }
                let store = comity_blob::local::LocalBlobStore::open(&self.root)
                    .await
                    .map_err(|e| EvidenceError::internal("cannot open the evidence store", e))?;
                Ok(Arc::new(store) as Arc<dyn BlobStore>)
            })
            .await
    }

    /// Where uploads being received are assembled.
    pub fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }

    /// Wakes the transfer loop (a package was attached).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Waits until woken or until `timeout`.
    pub async fn wait(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }
}

/// A refusal or failure of an evidence operation; becomes an RFC 9457 problem document.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct EvidenceError {
    /// HTTP status.
    pub status: StatusCode,
    /// Problem slug (`urn:comity:problem:<slug>`).
    pub slug: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What happened and what to do.
    pub detail: String,
}

impl EvidenceError {
    /// A refusal of the input.
    pub fn refused(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
        }
    }

    /// A failure inside the node: logged with its cause; the answer over HTTP says only that it failed.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            slug: "internal",
            title: "Internal error",
            detail: format!("{context}: {cause}"),
        }
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::refused(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }
}

impl From<comity_store::StoreError> for EvidenceError {
    fn from(e: comity_store::StoreError) -> Self {
        match e {
            comity_store::StoreError::NotFound { .. } => Self::not_found(e.to_string()),
            comity_store::StoreError::Duplicate { .. } => Self::refused(
                StatusCode::CONFLICT,
                "duplicate-evidence",
                "This package is attached already",
                format!("{e}; see GET /api/v1/requests/{{id}}/evidence"),
            ),
            other => Self::internal("the store failed", other),
        }
    }
}

impl From<EvidenceError> for Problem {
    fn from(e: EvidenceError) -> Self {
        if e.status == StatusCode::INTERNAL_SERVER_ERROR {
            return Problem::internal();
        }
        Problem::new(e.status, e.slug, e.title, e.detail)
    }
}

impl axum::response::IntoResponse for EvidenceError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// A package held against a request, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceView {
    /// Id.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// `outgoing` (sent from here) or `incoming` (received here).
    pub direction: String,
    /// The other authority.
    pub counterpart: String,
    /// The producing authority.
    pub producer: String,
    /// `sha256:<hex>` of the ciphertext.
    pub package_sha256: String,
    /// Size of the ciphertext.
    pub size_bytes: u64,
    /// What was checked here: `statement` (signature by the producer's key in the directory, ciphertext digest) or
    /// `bag` (also decrypted with this node's age identity and every file checked).
    pub seal_status: String,
    /// When it was sealed, as the statement says (RFC 3339).
    pub sealed_at: Option<String>,
    /// Outgoing only: `pending`, `delivered` or `refused`.
    pub transfer: Option<String>,
    /// Outgoing only: chunks sent so far, over every attempt.
    pub chunks_sent: Option<u64>,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Outgoing only: why the last attempt failed or why the receiver refused.
    pub last_error: Option<String>,
    /// `none`, `received` (the receiver's signed receipt, verified) or `issued` (this node's receipt to the sender).
    pub receipt: String,
    /// When the receipt was given (RFC 3339).
    pub receipt_at: Option<String>,
    /// When it was attached or received (RFC 3339).
    pub created_at: String,
    /// Where to download the package; its seal statement is at the same path with `/statement`.
    pub package_url: String,
}

/// The evidence of a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvidenceList {
    /// Oldest first.
    pub evidence: Vec<EvidenceView>,
}

impl EvidenceView {
    /// The view of a record.
    pub fn of(record: &EvidenceRecord) -> Self {
        let sealed_at = comity_seal::dsse::Envelope::from_json(record.statement.as_bytes())
            .ok()
            .and_then(|env| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(&env.payload)
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice::<comity_evidence::SealStatement>(&bytes).ok())
            .map(|s| s.sealed_at);
        let receipt = match (&record.receipt, record.direction.as_str()) {
            (None, _) => "none",
            (Some(_), OUTGOING) => "received",
            (Some(_), _) => "issued",
        };
        Self {
            id: record.id.clone(),
            request_id: record.request_id.clone(),
            direction: record.direction.clone(),
            counterpart: record.counterpart.clone(),
            producer: record.producer.clone(),
            package_sha256: format!("sha256:{}", record.package_sha256),
            size_bytes: record.size_bytes,
            seal_status: record.seal_status.clone(),
            sealed_at,
            transfer: record.transfer.as_ref().map(|t| t.state.clone()),
            chunks_sent: record.transfer.as_ref().map(|t| t.chunks_sent),
            chunk_count: protocol::chunk_count(record.size_bytes, record.chunk_bytes),
            last_error: record.transfer.as_ref().and_then(|t| t.last_error.clone()),
            receipt: receipt.to_owned(),
            receipt_at: record.receipt_at.map(crate::wire::rfc3339),
            created_at: crate::wire::rfc3339(record.created_at),
            package_url: format!(
                "/api/v1/requests/{}/evidence/{}",
                record.request_id, record.id
            ),
        }
    }

    /// Whether the other side acknowledged it (outgoing) or this side did (incoming).
    pub fn acknowledged(&self) -> bool {
        self.receipt != "none" || self.transfer.as_deref() == Some(TRANSFER_DELIVERED)
    }
}

impl NodeService {
    /// The evidence side, or a refusal when this node keeps no evidence.
    pub(crate) fn evidence_or_refuse(&self) -> Result<&Arc<EvidenceSide>, EvidenceError> {
        self.evidence.as_ref().ok_or_else(|| {
            EvidenceError::refused(
                StatusCode::NOT_FOUND,
                "no-evidence-store",
                "This node keeps no evidence",
                "this node was opened without an evidence store",
            )
        })
    }

    /// The evidence held against a request, oldest first.
    pub async fn evidence_list(&self, request_id: &str) -> Result<EvidenceList, EvidenceError> {
        if self.store.request(request_id).await?.is_none() {
            return Err(EvidenceError::not_found(format!(
                "request `{request_id}` does not exist"
            )));
        }
        let records = self.store.evidence_of_request(request_id).await?;
        Ok(EvidenceList {
            evidence: records.iter().map(EvidenceView::of).collect(),
        })
    }

    /// Refuses to release evidence received under a quarantined request (an emergency order not validated in time).
    async fn refuse_if_quarantined(&self, request_id: &str) -> Result<(), EvidenceError> {
        let events = self.store.events(request_id).await?;
        if crate::records::quarantined(&events) {
            return Err(EvidenceError::refused(
                StatusCode::LOCKED,
                "quarantined",
                "The evidence is quarantined",
                "the emergency order was not validated in time: data received under it may not be used or released",
            ));
        }
        Ok(())
    }

    /// One evidence record of a request.
    pub async fn evidence_record(
        &self,
        request_id: &str,
        evidence_id: &str,
    ) -> Result<EvidenceRecord, EvidenceError> {
        self.store
            .evidence(evidence_id)
            .await?
            .filter(|e| e.request_id == request_id)
            .ok_or_else(|| {
                EvidenceError::not_found(format!(
                    "request `{request_id}` holds no evidence `{evidence_id}`"
                ))
            })
    }

    /// The ciphertext of a package as a body streamed from the blob store in 1 MiB parts, memory bounded whatever
    /// its size. The digest is checked as it goes: a stored package that no longer matches its digest ends the body
    /// with an error, so the download fails instead of completing with damaged content.
    pub async fn evidence_package_body(
        &self,
        request_id: &str,
        evidence_id: &str,
    ) -> Result<(EvidenceRecord, axum::body::Body), EvidenceError> {
        use sha2::Digest;
        const PART: u64 = 1 << 20;
        self.refuse_if_quarantined(request_id).await?;
        let record = self.evidence_record(request_id, evidence_id).await?;
        let id = blob_id(&record.package_sha256)?;
        let blobs = self.evidence_or_refuse()?.blobs().await?.clone();
        if !blobs
            .contains(&id)
            .await
            .map_err(|e| EvidenceError::internal("cannot read an evidence package", e))?
        {
            return Err(EvidenceError::internal(
                "an evidence package is missing from the blob store",
                &record.id,
            ));
        }
        let size = record.size_bytes;
        let expected = record.package_sha256.clone();
        let evidence = record.id.clone();
        let parts = futures_util::stream::unfold(Some((0u64, sha2::Sha256::new())), move |state| {
            let (blobs, id, expected, evidence) = (
                blobs.clone(),
                id.clone(),
                expected.clone(),
                evidence.clone(),
            );
            async move {
                let (offset, mut hasher) = state?;
                let damaged = || {
                    tracing::error!(%evidence, "stored evidence package does not match its digest");
                    std::io::Error::other("the stored package does not match its digest")
                };
                if offset >= size {
                    return None;
                }
                let part = match blobs.get_range(&id, offset, PART).await {
                    Ok(Some(part)) if !part.is_empty() => part,
                    _ => return Some((Err(damaged()), None)),
                };
                hasher.update(&part);
                let next = offset + part.len() as u64;
                if next >= size && protocol::hex(&hasher.clone().finalize()) != expected {
                    return Some((Err(damaged()), None));
                }
                Some((Ok(axum::body::Bytes::from(part)), Some((next, hasher))))
            }
        });
        Ok((record, axum::body::Body::from_stream(parts)))
    }

    /// The ciphertext of a package, checked against its digest on the way out of the blob store.
    pub async fn evidence_package(
        &self,
        request_id: &str,
        evidence_id: &str,
    ) -> Result<(EvidenceRecord, Vec<u8>), EvidenceError> {
        self.refuse_if_quarantined(request_id).await?;
        let record = self.evidence_record(request_id, evidence_id).await?;
        let id = blob_id(&record.package_sha256)?;
        let blobs = self.evidence_or_refuse()?.blobs().await?;
        let bytes = blobs
            .get(&id)
            .await
            .map_err(|e| EvidenceError::internal("cannot read an evidence package", e))?
            .ok_or_else(|| {
                EvidenceError::internal(
                    "an evidence package is missing from the blob store",
                    &record.id,
                )
            })?;
        Ok((record, bytes))
    }
}

/// The blob id of a stored digest.
fn blob_id(sha256_hex: &str) -> Result<BlobId, EvidenceError> {
    BlobId::parse(&format!("sha256:{sha256_hex}"))
        .map_err(|e| EvidenceError::internal("a stored package digest is malformed", e))
}
