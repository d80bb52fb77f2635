//! The receiving side of an evidence transfer: it checks an offer against the directory, the seal statement and the
//! thread before it opens an upload; writes each chunk durably only if it matches its signed digest; and on
//! completion checks the whole ciphertext, decrypts and checks the bag, stores the package and records it against the
//! request before it signs a receipt. Every refusal is a problem document and a security event; nothing refused
//! leaves anything stored.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use comity_core::AuthorityId;
use comity_seal::dsse::Envelope;
use comity_store::evidence::INCOMING;
use comity_store::{EvidenceRecord, UploadRecord};
use time::OffsetDateTime;

use super::attach::check_statement;
use super::protocol::{
    self, EvidenceReceipt, MAX_CHUNK_BYTES, MAX_CHUNKS, OFFER_TYPE, Offer, OfferAnswer,
};
use super::{EvidenceError, EvidenceSide};
use crate::federation::directory::Standing;
use crate::federation::{ALLOWED_SKEW, security};
use crate::service::NodeService;

fn refused(
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
) -> EvidenceError {
    EvidenceError::refused(status, slug, title, detail)
}

fn forbidden(slug: &'static str, detail: String) -> EvidenceError {
    refused(
        StatusCode::FORBIDDEN,
        slug,
        "The offer is not from a known authority",
        detail,
    )
}

fn unprocessable(slug: &'static str, title: &'static str, detail: String) -> EvidenceError {
    refused(StatusCode::UNPROCESSABLE_ENTITY, slug, title, detail)
}

/// Whether `id` is an upload id this node hands out (`up-` and 32 lower-case hex digits), so that it is safe as a
/// directory name.
fn valid_upload_id(id: &str) -> bool {
    id.strip_prefix("up-").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn upload_dir(side: &EvidenceSide, upload_id: &str) -> PathBuf {
    side.uploads_dir().join(upload_id)
}

/// Writes `bytes` to `dir/name` through a temporary file, fsync, rename and fsync of the directory.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!("{name}.part"));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Why assembling an upload failed.
enum Assembly {
    /// A chunk on disk no longer matches its digest (the disk was damaged or tampered with).
    Damaged(u64),
    Io(std::io::Error),
}

/// Concatenates the chunks of an upload into `dir/package`, checking each again, and returns the whole digest.
fn assemble(dir: &Path, digests: &[String]) -> Result<(PathBuf, String, u64), Assembly> {
    use sha2::Digest;
    use std::io::Write;
    let package = dir.join("package");
    let mut out = std::fs::File::create(&package).map_err(Assembly::Io)?;
    let mut whole = sha2::Sha256::new();
    let mut size = 0u64;
    for (i, digest) in digests.iter().enumerate() {
        let bytes = std::fs::read(dir.join(i.to_string())).map_err(Assembly::Io)?;
        if protocol::sha256_hex(&bytes) != *digest {
            return Err(Assembly::Damaged(i as u64));
        }
        whole.update(&bytes);
        size += bytes.len() as u64;
        out.write_all(&bytes).map_err(Assembly::Io)?;
    }
    out.sync_all().map_err(Assembly::Io)?;
    Ok((package, protocol::hex(&whole.finalize()), size))
}

impl NodeService {
    /// Records a refusal of what a sender sent (not a missing upload or a race) as a security event and passes it
    /// on.
    async fn evidence_refusal(&self, sender: Option<&str>, e: EvidenceError) -> EvidenceError {
        if matches!(
            e.status,
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
        ) {
            tracing::warn!(
                code = e.slug,
                sender = sender.unwrap_or("?"),
                "evidence refused"
            );
            let event = security(
                self.clock.now(),
                &format!("evidence:{}", e.slug),
                sender,
                None,
                e.detail.clone(),
            );
            if let Err(err) = self.store.security_event(event).await {
                tracing::warn!(error = %err, "cannot record a security event");
            }
        }
        e
    }

    /// Answers a signed offer: opens (or resumes) an upload, or refuses.
    #[tracing::instrument(skip_all)]
    pub async fn receive_evidence_offer(&self, body: &[u8]) -> Result<OfferAnswer, EvidenceError> {
        let claimed = Envelope::from_json(body)
            .ok()
            .and_then(|env| Offer::unverified(&env).map(|o| o.sender));
        match self.try_offer(body).await {
            Ok(answer) => Ok(answer),
            Err(e) => Err(self.evidence_refusal(claimed.as_deref(), e).await),
        }
    }

    async fn try_offer(&self, body: &[u8]) -> Result<OfferAnswer, EvidenceError> {
        let side = self.evidence_or_refuse()?.clone();
        let now = self.clock.now();
        let malformed = |detail: &str| {
            refused(
                StatusCode::BAD_REQUEST,
                "malformed-offer",
                "The offer is malformed",
                detail.to_owned(),
            )
        };
        let env = Envelope::from_json(body).map_err(|_| malformed("not a DSSE envelope"))?;
        if env.payload_type != OFFER_TYPE {
            return Err(malformed(&format!(
                "the payload type must be `{OFFER_TYPE}`"
            )));
        }
        let claimed = Offer::unverified(&env)
            .ok_or_else(|| malformed("the payload is not an evidence offer"))?;
        let directory = self.federation.directory().ok_or_else(|| {
            forbidden(
                "no-directory",
                "this node holds no directory of authorities to check the sender against".into(),
            )
        })?;
        let sender = directory.authority(&claimed.sender).ok_or_else(|| {
            forbidden(
                "unknown-sender",
                format!(
                    "`{}` is not in directory version {}",
                    claimed.sender, directory.version
                ),
            )
        })?;
        if sender.standing(now) != Standing::Valid {
            return Err(forbidden(
                "revoked-key",
                format!("`{}`'s key is revoked or not valid now", claimed.sender),
            ));
        }
        let payload = env.verify(OFFER_TYPE, &sender.signing_key).map_err(|_| {
            forbidden(
                "bad-signature",
                format!(
                    "the offer's signature does not verify with `{}`'s key in the directory",
                    claimed.sender
                ),
            )
        })?;
        let offer: Offer =
            serde_json::from_slice(&payload).map_err(|_| malformed("unreadable offer"))?;
        if offer.recipient != self.identity.authority.as_str() {
            return Err(unprocessable(
                "wrong-recipient",
                "The offer is for another authority",
                format!(
                    "this node is `{}`, not `{}`",
                    self.identity.authority, offer.recipient
                ),
            ));
        }
        let created = OffsetDateTime::parse(
            &offer.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| malformed("created_at is not RFC 3339"))?;
        if (created - now).abs() > ALLOWED_SKEW {
            return Err(unprocessable(
                "clock-skew",
                "The offer is too old or too new",
                format!(
                    "signed at {}, more than 5 minutes from {}; an old offer is not replayed",
                    offer.created_at,
                    crate::wire::rfc3339(now)
                ),
            ));
        }
        let link = self
            .store
            .link_by_thread(&offer.thread, &offer.sender)
            .await?
            .ok_or_else(|| {
                unprocessable(
                    "unknown-thread",
                    "No request here belongs to this thread",
                    format!(
                        "no request here belongs to thread `{}` with `{}`",
                        offer.thread, offer.sender
                    ),
                )
            })?;
        let statement = check_statement(offer.statement.as_bytes(), &sender.signing_key)
            .ok_or_else(|| {
                forbidden(
                    "statement-signature",
                    format!(
                        "the seal statement is not signed by `{}`'s key in directory version {}",
                        offer.sender, directory.version
                    ),
                )
            })?;
        if statement.request_id.as_deref() != Some(offer.thread.as_str()) {
            return Err(unprocessable(
                "other-request",
                "The package belongs to another request",
                format!(
                    "the package was sealed for request `{}`, but the offer is on thread `{}`",
                    statement.request_id.as_deref().unwrap_or("(none)"),
                    offer.thread
                ),
            ));
        }
        if !statement.recipients.contains(&self.identity.age_recipient) {
            return Err(unprocessable(
                "not-addressed",
                "The package is not addressed to this node",
                format!(
                    "this node's age recipient {} is not among the package's recipients",
                    self.identity.age_recipient
                ),
            ));
        }
        let count = protocol::chunk_count(offer.size_bytes, offer.chunk_bytes);
        if offer.size_bytes != statement.package.size_bytes
            || offer.size_bytes == 0
            || offer.chunk_bytes == 0
            || offer.chunk_bytes > MAX_CHUNK_BYTES
            || count > MAX_CHUNKS
            || offer.chunk_sha256.len() as u64 != count
            || !offer
                .chunk_sha256
                .iter()
                .all(|d| protocol::is_sha256_hex(d))
            || !protocol::is_sha256_hex(&statement.package.sha256)
        {
            return Err(unprocessable(
                "bad-chunking",
                "The offer's sizes do not add up",
                format!(
                    "the offer gives {} bytes in chunks of {} with {} digests; the statement gives {} bytes; chunks \
                     are 1 byte to {MAX_CHUNK_BYTES} bytes, at most {MAX_CHUNKS}",
                    offer.size_bytes,
                    offer.chunk_bytes,
                    offer.chunk_sha256.len(),
                    statement.package.size_bytes
                ),
            ));
        }
        let upload = UploadRecord {
            upload_id: format!("up-{}", uuid::Uuid::new_v4().simple()),
            sender: offer.sender.clone(),
            thread: offer.thread.clone(),
            request_id: link.request_id.clone(),
            package_sha256: statement.package.sha256.clone(),
            size_bytes: offer.size_bytes,
            statement: offer.statement.clone(),
            chunk_bytes: offer.chunk_bytes,
            chunk_digests: offer.chunk_sha256.join("\n"),
            created_at: now,
            chunk_writes: 0,
            evidence_id: None,
        };
        let mut open = self.store.open_upload(upload.clone()).await?;
        if open.evidence_id.is_none()
            && (open.chunk_digests != upload.chunk_digests
                || open.chunk_bytes != upload.chunk_bytes)
        {
            // The same package offered in other chunks: start again with the new list.
            self.discard(&side, &open.upload_id).await?;
            open = self.store.open_upload(upload).await?;
        }
        if let Some(evidence_id) = &open.evidence_id {
            let receipt = self
                .store
                .evidence(evidence_id)
                .await?
                .and_then(|e| e.receipt);
            return Ok(OfferAnswer {
                upload_id: open.upload_id,
                received: (0..count).collect(),
                receipt,
            });
        }
        let received = self.store.upload_chunks(&open.upload_id).await?;
        tracing::info!(upload = %open.upload_id, sender = %offer.sender, chunks = count, held = received.len(), "evidence upload open");
        Ok(OfferAnswer {
            upload_id: open.upload_id,
            received,
            receipt: None,
        })
    }

    async fn open_upload_record(&self, upload_id: &str) -> Result<UploadRecord, EvidenceError> {
        let unknown = || {
            refused(
                StatusCode::NOT_FOUND,
                "unknown-upload",
                "No such upload",
                format!("no upload `{upload_id}` is open here; send the offer again"),
            )
        };
        if !valid_upload_id(upload_id) {
            return Err(unknown());
        }
        self.store.upload(upload_id).await?.ok_or_else(unknown)
    }

    /// Writes one chunk of an upload durably, if it matches its digest in the signed offer.
    #[tracing::instrument(skip_all, fields(upload = %upload_id, index = index))]
    pub async fn receive_evidence_chunk(
        &self,
        upload_id: &str,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), EvidenceError> {
        let upload = self.open_upload_record(upload_id).await?;
        match self.try_chunk(&upload, index, bytes).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.evidence_refusal(Some(&upload.sender), e).await),
        }
    }

    async fn try_chunk(
        &self,
        upload: &UploadRecord,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), EvidenceError> {
        let side = self.evidence_or_refuse()?.clone();
        if upload.evidence_id.is_some() {
            return Err(refused(
                StatusCode::CONFLICT,
                "upload-complete",
                "The upload is complete",
                format!(
                    "upload `{}` is complete; ask for the receipt with .../complete",
                    upload.upload_id
                ),
            ));
        }
        let digests: Vec<&str> = upload.chunk_digests.split('\n').collect();
        let Some(expected) = usize::try_from(index).ok().and_then(|i| digests.get(i)) else {
            return Err(unprocessable(
                "chunk-index",
                "No such chunk",
                format!(
                    "the package has {} chunks, numbered from 0; there is no chunk {index}",
                    digests.len()
                ),
            ));
        };
        let len = protocol::chunk_len(upload.size_bytes, upload.chunk_bytes, index);
        if bytes.len() as u64 != len || protocol::sha256_hex(bytes) != *expected {
            return Err(unprocessable(
                "chunk-digest",
                "The chunk does not match its digest",
                format!(
                    "chunk {index} has {} bytes and does not match its {len}-byte SHA-256 in the signed offer; \
                     nothing was written; send the chunk again from the sealed package",
                    bytes.len()
                ),
            ));
        }
        let dir = upload_dir(&side, &upload.upload_id);
        let owned = bytes.to_vec();
        tokio::task::spawn_blocking(move || write_durably(&dir, &index.to_string(), &owned))
            .await
            .map_err(|e| EvidenceError::internal("the chunk writer failed", e))?
            .map_err(|e| EvidenceError::internal("cannot write a chunk", e))?;
        self.store
            .record_upload_chunk(&upload.upload_id, index, self.clock.now())
            .await?;
        Ok(())
    }

    /// Completes an upload: checks the package whole, stores and records it, and answers with the signed receipt
    /// (the same receipt again for an upload completed before).
    #[tracing::instrument(skip_all, fields(upload = %upload_id))]
    pub async fn complete_evidence_upload(&self, upload_id: &str) -> Result<String, EvidenceError> {
        let upload = self.open_upload_record(upload_id).await?;
        match self.try_complete(&upload).await {
            Ok(receipt) => Ok(receipt),
            Err(e) => Err(self.evidence_refusal(Some(&upload.sender), e).await),
        }
    }

    async fn stored_receipt(&self, evidence_id: &str) -> Result<String, EvidenceError> {
        self.store
            .evidence(evidence_id)
            .await?
            .and_then(|e| e.receipt)
            .ok_or_else(|| {
                EvidenceError::internal("a completed upload has no receipt", evidence_id)
            })
    }

    /// Forgets a refused upload: its chunks on disk, then its rows.
    async fn discard(&self, side: &EvidenceSide, upload_id: &str) -> Result<(), EvidenceError> {
        let dir = upload_dir(side, upload_id);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EvidenceError::internal("cannot remove a refused upload", e)),
        }
        self.store.discard_upload(upload_id).await?;
        Ok(())
    }

    async fn try_complete(&self, upload: &UploadRecord) -> Result<String, EvidenceError> {
        let side = self.evidence_or_refuse()?.clone();
        if let Some(evidence_id) = &upload.evidence_id {
            return self.stored_receipt(evidence_id).await;
        }
        let digests: Vec<String> = upload
            .chunk_digests
            .split('\n')
            .map(str::to_owned)
            .collect();
        let held = self.store.upload_chunks(&upload.upload_id).await?;
        if held.len() != digests.len() {
            return Err(refused(
                StatusCode::CONFLICT,
                "upload-incomplete",
                "The upload is incomplete",
                format!(
                    "{} of {} chunks received; send the offer again to learn which are missing",
                    held.len(),
                    digests.len()
                ),
            ));
        }
        let directory = self.federation.directory().ok_or_else(|| {
            forbidden(
                "no-directory",
                "this node holds no directory of authorities to check the sender against".into(),
            )
        })?;
        let sender_key = directory
            .authority(&upload.sender)
            .filter(|a| a.standing(self.clock.now()) == Standing::Valid)
            .map(|a| a.signing_key)
            .ok_or_else(|| {
                forbidden(
                    "unknown-sender",
                    format!(
                        "`{}` is no longer valid in directory version {}",
                        upload.sender, directory.version
                    ),
                )
            })?;
        let dir = upload_dir(&side, &upload.upload_id);
        let assembled = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || assemble(&dir, &digests))
                .await
                .map_err(|e| EvidenceError::internal("the assembler failed", e))?
        };
        let (package, sha256, size) = match assembled {
            Ok(done) => done,
            Err(Assembly::Damaged(i)) => {
                self.discard(&side, &upload.upload_id).await?;
                return Err(EvidenceError::internal(
                    "a received chunk was damaged on disk; the upload was dropped and will be sent again",
                    format!("chunk {i} of {}", upload.upload_id),
                ));
            }
            Err(Assembly::Io(e)) => {
                return Err(EvidenceError::internal("cannot assemble an upload", e));
            }
        };
        if sha256 != upload.package_sha256 || size != upload.size_bytes {
            self.discard(&side, &upload.upload_id).await?;
            return Err(unprocessable(
                "package-digest",
                "The package does not match its seal statement",
                format!(
                    "the chunks add up to {size} bytes with SHA-256 {sha256}; the seal statement says {} bytes with \
                     {}; nothing was stored",
                    upload.size_bytes, upload.package_sha256
                ),
            ));
        }
        // The bag itself: decrypted with this node's age identity, every file, the tag manifest and the producer's
        // signature checked, before anything is acknowledged.
        let statement_file = comity_evidence::statement_path(&package);
        tokio::fs::write(&statement_file, upload.statement.as_bytes())
            .await
            .map_err(|e| EvidenceError::internal("cannot write the seal statement", e))?;
        let identity_file = side.age_identity_file.clone();
        let checked_package = package.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let identity = comity_seal::keys::read_age_identity(&identity_file)
                .map_err(|e| EvidenceError::internal("cannot read this node's age identity", e))?;
            let options = comity_evidence::UnsealOptions {
                producer: Some(&sender_key),
                limits: comity_evidence::Limits::default(),
                progress: None,
            };
            Ok::<_, EvidenceError>(
                comity_evidence::verify_with(&checked_package, Some(&identity), &options)
                    .map_err(|e| e.to_string()),
            )
        })
        .await
        .map_err(|e| EvidenceError::internal("the verifier failed", e))??;
        let report = match verified {
            Ok(report) if report.bag_checked => report,
            Ok(_) | Err(_) => {
                let why = verified
                    .err()
                    .unwrap_or_else(|| "the bag was not checked".into());
                self.discard(&side, &upload.upload_id).await?;
                return Err(unprocessable(
                    "seal-invalid",
                    "The sealed package does not verify",
                    format!("the package does not verify: {why}; nothing was stored"),
                ));
            }
        };
        let blob = side
            .blobs()
            .await?
            .put_file(&package)
            .await
            .map_err(|e| EvidenceError::internal("cannot store an evidence package", e))?;
        if blob.hex() != upload.package_sha256 {
            return Err(EvidenceError::internal(
                "the stored package differs from the one checked",
                &upload.upload_id,
            ));
        }
        let now = self.clock.now();
        let receipt = EvidenceReceipt {
            upload_id: upload.upload_id.clone(),
            sender: upload.sender.clone(),
            receiver: self.identity.authority.to_string(),
            thread: upload.thread.clone(),
            package_sha256: upload.package_sha256.clone(),
            size_bytes: upload.size_bytes,
            statement_sha256: protocol::sha256_hex(upload.statement.as_bytes()),
            checked: "bag".into(),
            received_at: crate::wire::rfc3339(now),
        }
        .sign(self.federation.key());
        let record = EvidenceRecord {
            id: format!("ev-{}", uuid::Uuid::now_v7()),
            request_id: upload.request_id.clone(),
            direction: INCOMING.into(),
            counterpart: upload.sender.clone(),
            thread: upload.thread.clone(),
            package_sha256: upload.package_sha256.clone(),
            size_bytes: upload.size_bytes,
            statement: upload.statement.clone(),
            producer: AuthorityId::parse(&upload.sender)
                .map(|a| a.to_string())
                .unwrap_or_else(|_| upload.sender.clone()),
            seal_status: "bag".into(),
            chunk_bytes: upload.chunk_bytes,
            chunk_digests: upload.chunk_digests.clone(),
            created_at: now,
            transfer: None,
            receipt: Some(receipt.clone()),
            receipt_at: Some(now),
        };
        match self
            .store
            .complete_upload(&upload.upload_id, record.clone())
            .await
        {
            Ok(()) => {}
            Err(comity_store::StoreError::Duplicate { .. }) => {
                // Completed meanwhile by a concurrent call: its receipt is the answer.
                if let Some(done) = self.store.upload(&upload.upload_id).await?
                    && let Some(evidence_id) = done.evidence_id
                {
                    return self.stored_receipt(&evidence_id).await;
                }
                return Err(EvidenceError::internal(
                    "an upload was completed twice",
                    &upload.upload_id,
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let _ = tokio::fs::remove_dir_all(&dir).await;
        tracing::info!(evidence = %record.id, upload = %upload.upload_id, files = report.payload_files.unwrap_or(0), "evidence received");
        Ok(receipt)
    }
}
