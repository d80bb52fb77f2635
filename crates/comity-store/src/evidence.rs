//! Evidence records: sealed packages held against a request, the sending side's durable transfer job, and the
//! receiving side's resumable uploads.
//!
//! The package itself lives in the blob store, named by its SHA-256; the store keeps its digest, size, the signed seal
//! statement, the digests of its chunks, and the signed receipt once the other side acknowledged it. Chunk digests
//! are opaque text here (one lower-case hex digest per line).

use time::OffsetDateTime;

use crate::StoreError;

/// The package was sent from here.
pub const OUTGOING: &str = "outgoing";
/// The package was received here.
pub const INCOMING: &str = "incoming";
/// A transfer still to be made or finished.
pub const TRANSFER_PENDING: &str = "pending";
/// A transfer acknowledged with a signed receipt.
pub const TRANSFER_DELIVERED: &str = "delivered";
/// A transfer the receiver refused; it is not retried.
pub const TRANSFER_REFUSED: &str = "refused";

/// A sealed package held against a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Id, `ev-<uuid>`.
    pub id: String,
    /// The local request it belongs to.
    pub request_id: String,
    /// [`OUTGOING`] or [`INCOMING`].
    pub direction: String,
    /// The other authority: the receiver of an outgoing package, the sender of an incoming one.
    pub counterpart: String,
    /// The thread of the request shared by both sides.
    pub thread: String,
    /// SHA-256 of the ciphertext, lower-case hex (the blob id without `sha256:`).
    pub package_sha256: String,
    /// Size of the ciphertext.
    pub size_bytes: u64,
    /// The signed seal statement (DSSE envelope JSON).
    pub statement: String,
    /// The producing authority.
    pub producer: String,
    /// How far the seal was checked here (for example `statement` or `bag`).
    pub seal_status: String,
    /// Size of a transfer chunk (the last may be shorter).
    pub chunk_bytes: u64,
    /// SHA-256 of each chunk, lower-case hex, one per line.
    pub chunk_digests: String,
    /// When it was attached or received.
    pub created_at: OffsetDateTime,
    /// The transfer of an outgoing package.
    pub transfer: Option<TransferState>,
    /// The receiver's signed receipt (DSSE envelope JSON), on both sides once given.
    pub receipt: Option<String>,
    /// When the receipt was given.
    pub receipt_at: Option<OffsetDateTime>,
}

/// Where the transfer of an outgoing package stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferState {
    /// [`TRANSFER_PENDING`], [`TRANSFER_DELIVERED`] or [`TRANSFER_REFUSED`].
    pub state: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Why the last attempt failed, or why the receiver refused.
    pub last_error: Option<String>,
    /// The receiver's upload id, once it opened one.
    pub upload_id: Option<String>,
    /// Chunks sent so far, over every attempt.
    pub chunks_sent: u64,
}

/// An upload being received: opened by a signed offer, filled chunk by chunk, completed into an evidence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// Id, random; only the sender learns it.
    pub upload_id: String,
    /// The sending authority.
    pub sender: String,
    /// The thread named in the offer.
    pub thread: String,
    /// The local request of that thread.
    pub request_id: String,
    /// SHA-256 of the whole ciphertext, lower-case hex, as the seal statement says.
    pub package_sha256: String,
    /// Size of the ciphertext.
    pub size_bytes: u64,
    /// The signed seal statement (DSSE envelope JSON).
    pub statement: String,
    /// Size of a chunk.
    pub chunk_bytes: u64,
    /// SHA-256 of each chunk, one per line, as the signed offer lists them.
    pub chunk_digests: String,
    /// When it was opened.
    pub created_at: OffsetDateTime,
    /// Chunks written, counting any chunk written again.
    pub chunk_writes: u64,
    /// The evidence record it became, once complete.
    pub evidence_id: Option<String>,
}

/// Evidence records and uploads, implemented by every backend.
#[async_trait::async_trait]
pub trait EvidenceStore: Send + Sync + 'static {
    /// Stores a new evidence record; a package already held against the request is a duplicate.
    async fn add_evidence(&self, record: EvidenceRecord) -> Result<(), StoreError>;
    /// An evidence record by id.
    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError>;
    /// The evidence held against a request, oldest first.
    async fn evidence_of_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<EvidenceRecord>, StoreError>;
    /// Pending outgoing transfers due at `now`, oldest first, at most `limit`.
    async fn due_evidence_transfers(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<EvidenceRecord>, StoreError>;
    /// When the next pending transfer is due.
    async fn next_evidence_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError>;
    /// Records the receiver's upload id of a pending transfer.
    async fn evidence_upload_opened(&self, id: &str, upload_id: &str) -> Result<(), StoreError>;
    /// Counts one more chunk sent.
    async fn evidence_chunk_sent(&self, id: &str) -> Result<(), StoreError>;
    /// A failed attempt: counts it and sets when to try again.
    async fn evidence_transfer_retry(
        &self,
        id: &str,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The receiver refused the package: no more attempts.
    async fn evidence_transfer_refused(&self, id: &str, error: &str) -> Result<(), StoreError>;
    /// The receiver acknowledged the package with a signed receipt.
    async fn evidence_delivered(
        &self,
        id: &str,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Opens an upload, or returns the one already open for the same sender, thread and package (so that a sender
    /// that lost its upload id resumes rather than starts again).
    async fn open_upload(&self, upload: UploadRecord) -> Result<UploadRecord, StoreError>;
    /// An upload by id.
    async fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, StoreError>;
    /// The chunk indices written so far, ascending.
    async fn upload_chunks(&self, upload_id: &str) -> Result<Vec<u64>, StoreError>;
    /// Records a chunk as written durably (again, if it was) and counts the write.
    async fn record_upload_chunk(
        &self,
        upload_id: &str,
        index: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Completes an upload: stores the evidence record (with its receipt) and links the upload to it, in one
    /// transaction. An upload completed already is a conflict.
    async fn complete_upload(
        &self,
        upload_id: &str,
        record: EvidenceRecord,
    ) -> Result<(), StoreError>;
    /// Forgets an upload and its chunks (it was refused); a completed upload is kept.
    async fn discard_upload(&self, upload_id: &str) -> Result<(), StoreError>;
}
