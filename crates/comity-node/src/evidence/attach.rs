//! Attaching a sealed package to a request on the producing node, and queueing its transfer.
//!
//! A package is accepted only if its seal statement is signed by this node's own key, names the request's thread
//! as its request, lists the counterpart's age recipient (from the directory) among its recipients, and matches the
//! ciphertext byte for byte. Then it is stored in the blob store and recorded with a pending transfer, and only then
//! acknowledged.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use comity_evidence::SealStatement;
use comity_seal::dsse::Envelope;
use comity_seal::keys::PublicKey;
use comity_store::evidence::{OUTGOING, TRANSFER_PENDING};
use comity_store::{EvidenceRecord, TransferState};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::protocol::{self, hex};
use super::{EvidenceError, EvidenceView};
use crate::service::NodeService;

/// What reading a package established: its digest and size, and the digest of each chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// SHA-256 of the whole file, lower-case hex.
    pub sha256: String,
    /// Its size.
    pub size_bytes: u64,
    /// SHA-256 of each chunk, lower-case hex.
    pub chunks: Vec<String>,
}

/// Reads `path` once, in chunks of `chunk_bytes`, and hashes the whole and each chunk.
pub async fn digest_file(path: &Path, chunk_bytes: u64) -> std::io::Result<Digests> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut whole = sha2::Sha256::new();
    let mut chunks = Vec::new();
    let mut size_bytes = 0u64;
    let mut buf = vec![0u8; usize::try_from(chunk_bytes).unwrap_or(1 << 20).max(1)];
    loop {
        // Fill one chunk (reads may return less).
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        whole.update(&buf[..filled]);
        chunks.push(protocol::sha256_hex(&buf[..filled]));
        size_bytes += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    Ok(Digests {
        sha256: hex(&whole.finalize()),
        size_bytes,
        chunks,
    })
}

/// Checks a seal statement's signature by `producer` and returns what it says; `None` if it is not a statement
/// signed by that key.
pub fn check_statement(text: &[u8], producer: &PublicKey) -> Option<SealStatement> {
    let env = Envelope::from_json(text).ok()?;
    let payload = env
        .verify(comity_evidence::SEAL_STATEMENT_TYPE, producer)
        .ok()?;
    let statement: SealStatement = serde_json::from_slice(&payload).ok()?;
    (statement.statement == comity_evidence::statement::SEAL_STATEMENT_VERSION
        && statement.producer == producer.to_string())
    .then_some(statement)
}

fn invalid(slug: &'static str, title: &'static str, detail: String) -> EvidenceError {
    EvidenceError::refused(StatusCode::UNPROCESSABLE_ENTITY, slug, title, detail)
}

impl NodeService {
    /// Attaches the package at `package` with its seal statement to a request, and queues its transfer to the other
    /// side of the request's thread. Nothing is stored unless every check passes.
    #[tracing::instrument(skip_all, fields(request = %request_id))]
    pub async fn attach_evidence(
        &self,
        request_id: &str,
        package: &Path,
        statement: &[u8],
        actor: &str,
    ) -> Result<EvidenceView, EvidenceError> {
        let side = self.evidence_or_refuse()?.clone();
        if self.store.request(request_id).await?.is_none() {
            return Err(EvidenceError::not_found(format!(
                "request `{request_id}` does not exist"
            )));
        }
        let link = self.store.link(request_id).await?.ok_or_else(|| {
            invalid(
                "request-not-linked",
                "The request has no counterpart",
                format!(
                    "request `{request_id}` was neither received from nor sent to another authority; evidence travels \
                     only on such a request"
                ),
            )
        })?;
        let own = self.federation.key().public_key();
        let sealed = check_statement(statement, &own).ok_or_else(|| {
            invalid(
                "statement-signature",
                "The seal statement is not this node's",
                format!(
                    "the seal statement is not signed by this node's key {own}; seal the package inside the node: \
                     `comity evidence seal --dir NODE --to {} --request {request_id} ...`",
                    link.counterpart
                ),
            )
        })?;
        if sealed.request_id.as_deref() != Some(link.thread.as_str()) {
            return Err(invalid(
                "other-request",
                "The package belongs to another request",
                format!(
                    "the package was sealed for request `{}`, but this request's thread is `{}`; seal it again with \
                     `--request {request_id}`",
                    sealed.request_id.as_deref().unwrap_or("(none)"),
                    link.thread
                ),
            ));
        }
        let directory = self.federation.directory().ok_or_else(|| {
            invalid(
                "no-directory",
                "No directory",
                "this node holds no directory of authorities; load one with `comity directory load`".into(),
            )
        })?;
        let to = directory.authority(&link.counterpart).ok_or_else(|| {
            invalid(
                "unknown-recipient",
                "The counterpart is not in the directory",
                format!(
                    "`{}` is not in directory version {}",
                    link.counterpart, directory.version
                ),
            )
        })?;
        if !sealed.recipients.contains(&to.entry.age_recipient) {
            return Err(invalid(
                "not-addressed",
                "The package is not addressed to the counterpart",
                format!(
                    "`{}` cannot open this package: its age recipient {} is not among the package's recipients; seal \
                     it again with `--to {}`",
                    link.counterpart, to.entry.age_recipient, link.counterpart
                ),
            ));
        }
        let chunk_bytes = side.chunk_bytes();
        let digests = digest_file(package, chunk_bytes).await.map_err(|e| {
            invalid(
                "unreadable-package",
                "The package cannot be read",
                format!("cannot read `{}`: {e}", package.display()),
            )
        })?;
        if digests.sha256 != sealed.package.sha256
            || digests.size_bytes != sealed.package.size_bytes
        {
            return Err(invalid(
                "package-digest",
                "The package does not match its seal statement",
                format!(
                    "the package has SHA-256 {} and {} bytes; its seal statement says {} and {} bytes: it was changed \
                     after sealing, or the statement belongs to another package",
                    digests.sha256,
                    digests.size_bytes,
                    sealed.package.sha256,
                    sealed.package.size_bytes
                ),
            ));
        }
        let blob = side
            .blobs()
            .await?
            .put_file(package)
            .await
            .map_err(|e| EvidenceError::internal("cannot store an evidence package", e))?;
        if blob.hex() != digests.sha256 {
            return Err(invalid(
                "package-changed",
                "The package changed while it was read",
                format!(
                    "`{}` changed while it was being attached; attach it again once nothing writes to it",
                    package.display()
                ),
            ));
        }
        let now = self.clock.now();
        let record = EvidenceRecord {
            id: format!("ev-{}", uuid::Uuid::now_v7()),
            request_id: request_id.to_owned(),
            direction: OUTGOING.into(),
            counterpart: link.counterpart.clone(),
            thread: link.thread.clone(),
            package_sha256: digests.sha256,
            size_bytes: digests.size_bytes,
            statement: String::from_utf8_lossy(statement).into_owned(),
            producer: self.identity.authority.to_string(),
            seal_status: "statement".into(),
            chunk_bytes,
            chunk_digests: digests.chunks.join("\n"),
            created_at: now,
            transfer: Some(TransferState {
                state: TRANSFER_PENDING.into(),
                attempts: 0,
                next_attempt_at: Some(now),
                last_error: None,
                upload_id: None,
                chunks_sent: 0,
            }),
            receipt: None,
            receipt_at: None,
        };
        self.store.add_evidence(record.clone()).await?;
        tracing::info!(evidence = %record.id, %actor, size_bytes = record.size_bytes, "evidence attached");
        side.notify();
        Ok(EvidenceView::of(&record))
    }

    /// Attaches a package arriving as a body: it is written to a staging file (at most the size its statement
    /// gives), attached from there, and the staging file is removed whatever happens.
    pub async fn attach_evidence_body(
        &self,
        request_id: &str,
        statement: &[u8],
        body: axum::body::Body,
        actor: &str,
    ) -> Result<EvidenceView, EvidenceError> {
        let side = self.evidence_or_refuse()?.clone();
        let own = self.federation.key().public_key();
        let Some(limit) = check_statement(statement, &own).map(|s| s.package.size_bytes) else {
            // Refused on the statement before any byte is read (or for a missing request, first).
            return self
                .attach_evidence(request_id, Path::new(""), statement, actor)
                .await;
        };
        let staging = side.staging_dir();
        tokio::fs::create_dir_all(&staging)
            .await
            .map_err(|e| EvidenceError::internal("cannot create the staging directory", e))?;
        let path = staging.join(format!("{}.age", uuid::Uuid::now_v7().simple()));
        let result = async {
            stage(body, &path, limit).await?;
            self.attach_evidence(request_id, &path, statement, actor)
                .await
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        result
    }
}

/// Writes a body to `path`, refusing more than `limit` bytes.
async fn stage(body: axum::body::Body, path: &PathBuf, limit: u64) -> Result<(), EvidenceError> {
    use http_body_util::BodyExt;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| EvidenceError::internal("cannot create a staging file", e))?;
    let mut body = body;
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            EvidenceError::refused(
                StatusCode::BAD_REQUEST,
                "malformed-body",
                "The body could not be read",
                format!("the package body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > limit {
            return Err(EvidenceError::refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "The package is larger than its statement says",
                format!(
                    "the body exceeds the {limit} bytes the seal statement gives; send the package the statement \
                     belongs to"
                ),
            ));
        }
        file.write_all(&data)
            .await
            .map_err(|e| EvidenceError::internal("cannot write a staging file", e))?;
    }
    file.flush()
        .await
        .map_err(|e| EvidenceError::internal("cannot write a staging file", e))?;
    Ok(())
}
