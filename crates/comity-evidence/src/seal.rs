//! Sealing: payload files become a BagIt bag inside a tar stream inside age encryption, in one pass.
//!
//! One thread reads each payload file straight into the tar stream's chunks and hashes it; a second encrypts the
//! stream as age v1 ([`crate::age_writer`]), a third hashes the ciphertext and a fourth writes it to disk
//! ([`crate::direct`]). Payload files come first in the tar; the tag files that describe them (manifest, bag-info,
//! custody record, tag manifest, signature) follow at the end, once every digest is known. The package is written
//! under a temporary name and linked into place only when complete.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use comity_seal::{Envelope, NodeSigningKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::age_writer::{self, SEGMENT_BYTES, TAG_BYTES};
use crate::bagit::{
    self, BAG_INFO_NAME, BAGIT_TXT, BAGIT_TXT_NAME, MANIFEST_NAME, PAYLOAD_PREFIX, PayloadOxum,
    TAGMANIFEST_NAME,
};
use crate::custody::{CUSTODY_RECORD_NAME, CustodyFacts, CustodyFile, custody_record};
use crate::digest::{Sha256Digest, hex};
use crate::direct::{self, ALIGN, AlignedBuf, Block};
use crate::error::{EvidenceError, Result};
use crate::pipeline::{CHUNK_BYTES, CopyError, DEPTH, PipeWriter, pipe};
use crate::statement::{
    BagFacts, PackageFacts, SEAL_STATEMENT_VERSION, SealStatement, statement_path,
};
use crate::{
    NoProgress, ProgressSink, SIGNATURE_NAME, TAGMANIFEST_SIGNATURE_TYPE, TOOL_NAME, TOOL_VERSION,
};

/// What to seal and how.
pub struct SealOptions<'a> {
    /// Who can open the package (at least one).
    pub recipients: Vec<age::x25519::Recipient>,
    /// The producing authority's key: signs the tag manifest and the seal statement.
    pub signing_key: &'a NodeSigningKey,
    /// The request this evidence answers; becomes `External-Identifier`.
    pub request_id: Option<String>,
    /// The producing authority; becomes `Source-Organization`.
    pub source_organization: String,
    /// The legal basis for the transfer, stated in the custody record.
    pub legal_basis: Option<String>,
    /// Confidentiality condition that travels with the evidence.
    pub confidentiality: Option<String>,
    /// Speciality condition (use only for the stated purpose) that travels with the evidence.
    pub speciality: Option<String>,
    /// Files and directories to seal; each becomes `data/<its name>`.
    pub inputs: Vec<PathBuf>,
    /// Told how many payload bytes have been sealed.
    pub progress: Option<&'a dyn ProgressSink>,
}

/// What sealing produced.
#[derive(Debug, Clone, Serialize)]
pub struct SealReport {
    /// The encrypted package.
    pub package: PathBuf,
    /// Its detached seal statement.
    pub statement_path: PathBuf,
    /// The signed statement.
    pub statement: SealStatement,
}

/// Ciphertext buffers between encryption, hashing and writing: each holds about 32 sealed age chunks.
const CIPHER_BYTES: usize = 2 << 20;
/// Ciphertext buffers in existence (in flight or waiting for reuse).
const CIPHER_BUFFERS: usize = 6;
/// Ciphertext blocks queued between two stages.
const CIPHER_DEPTH: usize = 2;

// Every plaintext chunk but the last is whole age chunks, so that the encrypting stage never has to join two; a
// ciphertext buffer holds at least one sealed chunk after an unaligned carry.
const _: () = assert!(CHUNK_BYTES.is_multiple_of(SEGMENT_BYTES));
const _: () = assert!(
    CIPHER_BYTES.is_multiple_of(ALIGN) && CIPHER_BYTES >= ALIGN + SEGMENT_BYTES + TAG_BYTES
);

/// One payload file to seal.
struct PlannedFile {
    source: PathBuf,
    bag_path: String,
    size_bytes: u64,
    mtime: u64,
}

/// A sealed payload file.
struct SealedFile {
    bag_path: String,
    size_bytes: u64,
    sha256: Sha256Digest,
}

/// A temporary name, removed on drop: no partial package is ever left behind, and once the finished file is linked
/// to its real name only the temporary name goes.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn single_line(field: &'static str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(EvidenceError::InvalidField { field });
    }
    Ok(())
}

fn now_rfc3339() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let stamp = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let date = stamp.get(..10).unwrap_or_default().to_owned();
    (stamp, date)
}

fn utf8_name(path: &Path, name: &std::ffi::OsStr) -> Result<String> {
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| EvidenceError::NameNotUtf8 { path: path.into() })
}

fn file_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_symlink() {
        Some("a symbolic link")
    } else if file_type.is_file() || file_type.is_dir() {
        None
    } else {
        Some("a special file (device, socket or pipe)")
    }
}

fn mtime_of(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Lists every payload file, sorted, with its place in the bag. Memory grows with the number of files, not their size.
fn plan_payload(inputs: &[PathBuf], output: &Path) -> Result<Vec<PlannedFile>> {
    let output_dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let output_dir = std::fs::canonicalize(output_dir).map_err(EvidenceError::read(output_dir))?;

    let mut planned = Vec::new();
    let mut top_names = std::collections::HashSet::new();
    for input in inputs {
        let meta = std::fs::symlink_metadata(input).map_err(EvidenceError::read(input))?;
        if let Some(kind) = file_kind(meta.file_type()) {
            return Err(EvidenceError::UnsupportedInput {
                path: input.clone(),
                kind,
            });
        }
        let canonical = std::fs::canonicalize(input).map_err(EvidenceError::read(input))?;
        let name = canonical
            .file_name()
            .ok_or_else(|| EvidenceError::UnsupportedInput {
                path: input.clone(),
                kind: "the file system root",
            })?;
        let name = utf8_name(input, name)?;
        if !top_names.insert(name.clone()) {
            return Err(EvidenceError::DuplicateInput {
                name: format!("{PAYLOAD_PREFIX}{name}"),
            });
        }
        if meta.is_file() {
            planned.push(PlannedFile {
                source: input.clone(),
                bag_path: format!("{PAYLOAD_PREFIX}{name}"),
                size_bytes: meta.len(),
                mtime: mtime_of(&meta),
            });
            continue;
        }
        if output_dir.starts_with(&canonical) {
            return Err(EvidenceError::OutputInsideInput {
                output: output.into(),
                input: input.clone(),
            });
        }
        // Depth-first walk with an explicit stack, children sorted by name so that bags are reproducible.
        let mut stack = vec![(input.clone(), format!("{PAYLOAD_PREFIX}{name}"))];
        while let Some((dir, bag_dir)) = stack.pop() {
            let mut children = Vec::new();
            for entry in std::fs::read_dir(&dir).map_err(EvidenceError::read(&dir))? {
                let entry = entry.map_err(EvidenceError::read(&dir))?;
                children.push(entry.path());
            }
            children.sort();
            let mut subdirs = Vec::new();
            for child in children {
                let meta =
                    std::fs::symlink_metadata(&child).map_err(EvidenceError::read(&child))?;
                if let Some(kind) = file_kind(meta.file_type()) {
                    return Err(EvidenceError::UnsupportedInput { path: child, kind });
                }
                let child_name = child.file_name().unwrap_or_default();
                let bag_path = format!("{bag_dir}/{}", utf8_name(&child, child_name)?);
                if meta.is_dir() {
                    subdirs.push((child, bag_path));
                } else {
                    planned.push(PlannedFile {
                        source: child,
                        bag_path,
                        size_bytes: meta.len(),
                        mtime: mtime_of(&meta),
                    });
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
    }
    Ok(planned)
}

/// Reads exactly the announced number of bytes of a payload file, hashing them.
struct PayloadReader<'a, R> {
    inner: R,
    remaining: u64,
    hasher: Sha256,
    progress: &'a dyn ProgressSink,
}

impl<R: Read> Read for PayloadReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being sealed",
                ));
            }
            Ok(n) => n,
            Err(e) => return Err(e),
        };
        self.hasher.update(&buf[..n]);
        self.remaining -= n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// The tar block size: every entry's contents are padded to a multiple of it.
const TAR_BLOCK: u64 = 512;

fn closed_pipe() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the other end of the pipeline stopped",
    )
}

fn tar_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Seals `options.inputs` into the age file `out`, and writes the seal statement beside it (`out.seal.json`).
#[tracing::instrument(skip_all)]
pub fn seal(options: SealOptions<'_>, out: &Path) -> Result<SealReport> {
    if options.inputs.is_empty() {
        return Err(EvidenceError::NoInputs);
    }
    if options.recipients.is_empty() {
        return Err(EvidenceError::NoRecipients);
    }
    single_line("the source organization", &options.source_organization)?;
    if options.source_organization.trim().is_empty() {
        return Err(EvidenceError::InvalidField {
            field: "the source organization",
        });
    }
    for (field, value) in [
        ("the request id", &options.request_id),
        ("the legal basis", &options.legal_basis),
        ("the confidentiality condition", &options.confidentiality),
        ("the speciality condition", &options.speciality),
    ] {
        if let Some(value) = value {
            single_line(field, value)?;
        }
    }
    let statement_file = statement_path(out);
    for path in [out, statement_file.as_path()] {
        if path.symlink_metadata().is_ok() {
            return Err(EvidenceError::OutputExists { path: path.into() });
        }
    }

    let planned = plan_payload(&options.inputs, out)?;
    let progress = options.progress.unwrap_or(&NoProgress);
    progress.set_total(planned.iter().map(|f| f.size_bytes).sum());
    let (started_at, bagging_date) = now_rfc3339();
    tracing::info!(files = planned.len(), "sealing evidence");

    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp_path = out_dir.join(format!(
        ".{out_name}.partial-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let temp = TempFile(temp_path.clone());
    let temp_path = temp_path.as_path();
    let file = direct::create_new(temp_path, 0o666).map_err(EvidenceError::write(out))?;
    let age_start = age_writer::start(&options.recipients).map_err(|e| EvidenceError::Encrypt {
        reason: e.to_string(),
    })?;

    // Four stages, so that the two SHA-256 passes, the encryption and the disk writes overlap on two cores: tar and
    // payload hashing here, encryption in a second thread, ciphertext hashing in a third, writing in a fourth.
    let (writer, plaintext) = pipe(CHUNK_BYTES, DEPTH);
    let (sealed_tx, sealed_rx) = sync_channel::<Block>(CIPHER_DEPTH);
    let (hashed_tx, hashed_rx) = sync_channel::<Block>(CIPHER_DEPTH);
    let (spare_tx, spare_rx) = sync_channel::<AlignedBuf>(CIPHER_BUFFERS);
    for _ in 0..CIPHER_BUFFERS {
        let _ = spare_tx.send(AlignedBuf::new(CIPHER_BYTES));
    }
    let (bag, ciphertext) = std::thread::scope(|scope| {
        let encrypting = scope
            .spawn(move || age_writer::encrypt_stage(plaintext, age_start, sealed_tx, spare_rx));
        let hashing = scope.spawn(move || direct::hash_stage(sealed_rx, hashed_tx));
        let storing = scope.spawn(move || {
            direct::store_stage(file, hashed_rx, spare_tx).map_err(EvidenceError::write(out))
        });
        let bag = write_bag(
            &options,
            &planned,
            writer,
            progress,
            &started_at,
            &bagging_date,
        );
        let encrypted = encrypting.join();
        let hashed = hashing.join();
        let stored = storing.join().unwrap_or_else(|_| {
            Err(EvidenceError::Write {
                path: out.into(),
                source: io::Error::other("writing stopped unexpectedly"),
            })
        });
        // A storage failure explains an encryption failure (its pipe closed), which explains a tar failure.
        let ciphertext = match (stored, encrypted, hashed) {
            (Err(e), _, _) => Err(e),
            (Ok(()), Err(_), _) | (Ok(()), _, Err(_)) => Err(EvidenceError::Write {
                path: out.into(),
                source: io::Error::other("encryption stopped unexpectedly"),
            }),
            (Ok(()), Ok(Err(source)), _) => Err(EvidenceError::Write {
                path: out.into(),
                source,
            }),
            (Ok(()), Ok(Ok(())), Ok(hashed)) => Ok(hashed),
        };
        (bag, ciphertext)
    });
    // A failure to encrypt or write explains a broken pipe on the tar side, so it is reported first, unless the
    // tar side failed on its own input (then the encrypting side merely saw the stream end early).
    let (bag, (ciphertext_sha256, ciphertext_size)) = match (bag, ciphertext) {
        (Err(e @ (EvidenceError::Read { .. } | EvidenceError::InputChanged { .. })), _) => {
            return Err(e);
        }
        (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
        (Ok(bag), Ok(ciphertext)) => (bag, ciphertext),
    };

    let (sealed_at, _) = now_rfc3339();
    let statement = SealStatement {
        statement: SEAL_STATEMENT_VERSION.to_owned(),
        package: PackageFacts {
            file_name: out_name.clone(),
            sha256: hex(&ciphertext_sha256),
            size_bytes: ciphertext_size,
        },
        bag: BagFacts {
            tagmanifest_sha256: hex(&bag.tagmanifest_sha256),
            payload_files: bag.oxum.files,
            payload_bytes: bag.oxum.octets,
        },
        producer: options.signing_key.public_key().to_string(),
        source_organization: options.source_organization.clone(),
        request_id: options.request_id.clone(),
        recipients: options.recipients.iter().map(ToString::to_string).collect(),
        sealed_at,
    };
    let envelope = statement.sign(options.signing_key);

    let temp_statement_path = out_dir.join(format!(
        ".{out_name}.seal.json.partial-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let temp_statement = TempFile(temp_statement_path.clone());
    let mut json = envelope.to_json();
    json.push(b'\n');
    write_new_file(&temp_statement_path, &json).map_err(EvidenceError::write(&statement_file))?;

    // Linking refuses to replace an existing file, so a concurrent writer is never clobbered.
    std::fs::hard_link(temp_path, out).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => EvidenceError::OutputExists { path: out.into() },
        _ => EvidenceError::Write {
            path: out.into(),
            source: e,
        },
    })?;
    if let Err(e) = std::fs::hard_link(&temp_statement_path, &statement_file) {
        let _ = std::fs::remove_file(out);
        return Err(match e.kind() {
            io::ErrorKind::AlreadyExists => EvidenceError::OutputExists {
                path: statement_file,
            },
            _ => EvidenceError::Write {
                path: statement_file,
                source: e,
            },
        });
    }
    // The temporary names go; the linked names stay.
    drop(temp);
    drop(temp_statement);
    tracing::info!("evidence sealed");
    Ok(SealReport {
        package: out.into(),
        statement_path: statement_file,
        statement,
    })
}

fn write_new_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What the tar side learned.
struct BagSummary {
    tagmanifest_sha256: Sha256Digest,
    oxum: PayloadOxum,
}

/// Streams the bag as a tar into `writer`.
fn write_bag(
    options: &SealOptions<'_>,
    planned: &[PlannedFile],
    writer: PipeWriter,
    progress: &dyn ProgressSink,
    started_at: &str,
    bagging_date: &str,
) -> Result<BagSummary> {
    // Any write error here means the encrypting side stopped; the caller reports its reason.
    let broken = |source: io::Error| EvidenceError::Write {
        path: PathBuf::from("<encryption pipeline>"),
        source,
    };
    let mtime = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .max(0)
        .unsigned_abs();
    let mut builder = tar::Builder::new(writer);
    let append_tag = |builder: &mut tar::Builder<PipeWriter>, name: &str, bytes: &[u8]| {
        builder
            .append_data(&mut tar_header(bytes.len() as u64, mtime), name, bytes)
            .map_err(broken)
    };
    append_tag(&mut builder, BAGIT_TXT_NAME, BAGIT_TXT.as_bytes())?;

    let mut sealed = Vec::with_capacity(planned.len());
    let mut octets = 0u64;
    for file in planned {
        let opened = File::open(&file.source).map_err(EvidenceError::read(&file.source))?;
        let mut reader = PayloadReader {
            inner: opened,
            remaining: file.size_bytes,
            hasher: Sha256::new(),
            progress,
        };
        // The tar crate writes the header (and a long-name entry if the path needs one); the contents are then
        // read straight into the pipe's chunks, and padded to the tar block size here.
        let mut header = tar_header(file.size_bytes, file.mtime);
        builder
            .append_data(&mut header, &file.bag_path, io::empty())
            .map_err(broken)?;
        match builder.get_mut().copy_from(&mut reader) {
            Ok(_) => {}
            Err(CopyError::Closed) => return Err(broken(closed_pipe())),
            Err(CopyError::Read(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(EvidenceError::InputChanged {
                    path: file.source.clone(),
                });
            }
            Err(CopyError::Read(e)) => {
                return Err(EvidenceError::Read {
                    path: file.source.clone(),
                    source: e,
                });
            }
        }
        let padding = (TAR_BLOCK - file.size_bytes % TAR_BLOCK) % TAR_BLOCK;
        builder
            .get_mut()
            .write_all(&[0u8; TAR_BLOCK as usize][..padding as usize])
            .map_err(broken)?;
        // The tar header announced the size; a file that grew meanwhile would be silently cut.
        let mut probe = [0u8; 1];
        match reader.inner.read(&mut probe) {
            Ok(0) => {}
            Ok(_) => {
                return Err(EvidenceError::InputChanged {
                    path: file.source.clone(),
                });
            }
            Err(e) => return Err(EvidenceError::read(&file.source)(e)),
        }
        octets += file.size_bytes;
        sealed.push(SealedFile {
            bag_path: file.bag_path.clone(),
            size_bytes: file.size_bytes,
            sha256: reader.hasher.finalize().into(),
        });
    }
    let oxum = PayloadOxum {
        octets,
        files: sealed.len() as u64,
    };

    let mut manifest = String::new();
    for file in &sealed {
        manifest.push_str(&bagit::manifest_line(&file.sha256, &file.bag_path));
    }
    let oxum_text = oxum.to_string();
    let mut info: Vec<(&str, &str)> = vec![("Source-Organization", &options.source_organization)];
    info.push(("Bagging-Date", bagging_date));
    if let Some(request) = &options.request_id {
        info.push(("External-Identifier", request));
    }
    info.push(("Payload-Oxum", &oxum_text));
    let agent = format!("{TOOL_NAME} {TOOL_VERSION}");
    info.push(("Bag-Software-Agent", &agent));
    let bag_info = bagit::write_bag_info(&info);

    let (ended_at, _) = now_rfc3339();
    let producer_key = options.signing_key.public_key().to_string();
    let custody = custody_record(
        &CustodyFacts {
            source_organization: &options.source_organization,
            producer_key: &producer_key,
            request_id: options.request_id.as_deref(),
            legal_basis: options.legal_basis.as_deref(),
            confidentiality: options.confidentiality.as_deref(),
            speciality: options.speciality.as_deref(),
            started_at,
            ended_at: &ended_at,
            tool_name: TOOL_NAME,
            tool_version: TOOL_VERSION,
        },
        sealed.iter().map(|f| CustodyFile {
            bag_path: &f.bag_path,
            size_bytes: f.size_bytes,
            sha256: f.sha256,
        }),
    );

    let mut tagmanifest = String::new();
    for (name, bytes) in [
        (BAGIT_TXT_NAME, BAGIT_TXT.as_bytes()),
        (BAG_INFO_NAME, bag_info.as_bytes()),
        (MANIFEST_NAME, manifest.as_bytes()),
        (CUSTODY_RECORD_NAME, custody.as_slice()),
    ] {
        tagmanifest.push_str(&bagit::manifest_line(&crate::digest::sha256(bytes), name));
    }
    let signature = Envelope::sign(
        TAGMANIFEST_SIGNATURE_TYPE,
        tagmanifest.as_bytes(),
        options.signing_key,
    );
    let mut signature_json = signature.to_json();
    signature_json.push(b'\n');

    append_tag(&mut builder, BAG_INFO_NAME, bag_info.as_bytes())?;
    append_tag(&mut builder, MANIFEST_NAME, manifest.as_bytes())?;
    append_tag(&mut builder, CUSTODY_RECORD_NAME, &custody)?;
    append_tag(&mut builder, TAGMANIFEST_NAME, tagmanifest.as_bytes())?;
    append_tag(&mut builder, SIGNATURE_NAME, &signature_json)?;
    let writer = builder.into_inner().map_err(broken)?;
    writer.finish().map_err(broken)?;
    Ok(BagSummary {
        tagmanifest_sha256: crate::digest::sha256(tagmanifest.as_bytes()),
        oxum,
    })
}
