//! Verifying and opening a sealed package.
//!
//! Without an identity only the seal statement is checked: its signature, and the SHA-256 and size of the
//! ciphertext. With one, a second thread reads the package (hashing the ciphertext), a third decrypts it
//! ([`crate::age_reader`]) while this thread walks the tar stream, refuses unsafe entries as soon as their header
//! arrives, hashes every file and, for `open`, writes it into a private temporary directory. Once the stream has ended the bag is checked in full and,
//! only if everything holds, the temporary directory is renamed into place.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use comity_seal::{Envelope, PublicKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::age_reader::{self, DecryptFailure};
use crate::bagit::{
    self, BAG_INFO_NAME, BAGIT_TXT_NAME, MANIFEST_NAME, PAYLOAD_PREFIX, PayloadOxum,
    TAGMANIFEST_NAME,
};
use crate::digest::{HashingReader, Sha256Digest, hex, parse_sha256_hex};
use crate::direct::{self, DirectReader, StagedWriter};
use crate::error::{EvidenceError, Result};
use crate::pipeline::{CHUNK_BYTES, CopyError, DEPTH, PipeReader, PipeWriter, pipe};
use crate::statement::{SealStatement, statement_path};
use crate::{NoProgress, ProgressSink, SIGNATURE_NAME, TAGMANIFEST_SIGNATURE_TYPE};

/// Staging buffer of each file being extracted: what goes to disk in one write.
const EXTRACT_BUFFER_BYTES: usize = 4 << 20;

/// Bounds on what a package may make this machine do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total payload bytes accepted.
    pub max_payload_bytes: u64,
    /// Entries (files and directories) accepted.
    pub max_entries: u64,
    /// Size of one tag file (tag files are read into memory).
    pub max_tag_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1 << 40,
            max_entries: 10_000_000,
            max_tag_file_bytes: 256 << 20,
        }
    }
}

/// How to verify or open.
#[derive(Default, Clone, Copy)]
pub struct UnsealOptions<'a> {
    /// The producer's key. Without it, the key named in the seal statement is used and reported as not pinned.
    pub producer: Option<&'a PublicKey>,
    pub limits: Limits,
    /// Told how many ciphertext bytes have been read.
    pub progress: Option<&'a dyn ProgressSink>,
}

/// What verification established.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub package: PathBuf,
    pub statement_path: PathBuf,
    /// The verified seal statement.
    pub statement: SealStatement,
    /// The key whose signatures were checked.
    pub producer: String,
    /// Whether that key was given by the caller (otherwise it was taken from the statement itself).
    pub producer_pinned: bool,
    /// Whether the package was decrypted and the bag inside checked file by file.
    pub bag_checked: bool,
    /// Payload files checked against the manifest (when the bag was checked).
    pub payload_files: Option<u64>,
    /// Payload bytes checked (when the bag was checked).
    pub payload_bytes: Option<u64>,
}

/// What opening produced.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    /// The extracted bag.
    pub out_dir: PathBuf,
    pub verification: VerifyReport,
}

/// Verifies `file` against its seal statement; with an identity, also decrypts it and checks the bag inside.
pub fn verify(
    file: &Path,
    identity: Option<&age::x25519::Identity>,
    producer: Option<&PublicKey>,
) -> Result<VerifyReport> {
    verify_with(
        file,
        identity,
        &UnsealOptions {
            producer,
            ..UnsealOptions::default()
        },
    )
}

/// [`verify`] with limits and progress.
#[tracing::instrument(skip_all)]
pub fn verify_with(
    file: &Path,
    identity: Option<&age::x25519::Identity>,
    options: &UnsealOptions<'_>,
) -> Result<VerifyReport> {
    match identity {
        None => verify_statement_only(file, options),
        Some(identity) => unseal(file, identity, options, &mut Discard),
    }
}

/// Decrypts, verifies and extracts `file` into the new directory `out_dir`.
pub fn open(file: &Path, identity: &age::x25519::Identity, out_dir: &Path) -> Result<OpenReport> {
    open_with(file, identity, out_dir, &UnsealOptions::default())
}

/// [`open`] with a pinned producer key, limits and progress.
#[tracing::instrument(skip_all)]
pub fn open_with(
    file: &Path,
    identity: &age::x25519::Identity,
    out_dir: &Path,
    options: &UnsealOptions<'_>,
) -> Result<OpenReport> {
    if out_dir.symlink_metadata().is_ok() {
        return Err(EvidenceError::OutputExists {
            path: out_dir.into(),
        });
    }
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| EvidenceError::Write {
            path: out_dir.into(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the output needs a directory name",
            ),
        })?;
    let temp = TempDir(parent.join(format!(".{name}.partial-{}", uuid::Uuid::new_v4().simple())));
    private_dir_builder(false)
        .create(&temp.0)
        .map_err(EvidenceError::write(out_dir))?;
    let mut extract = Extract {
        root: temp.0.clone(),
    };
    let verification = unseal(file, identity, options, &mut extract)?;
    if out_dir.symlink_metadata().is_ok() {
        return Err(EvidenceError::OutputExists {
            path: out_dir.into(),
        });
    }
    std::fs::rename(&temp.0, out_dir).map_err(EvidenceError::write(out_dir))?;
    std::mem::forget(temp);
    Ok(OpenReport {
        out_dir: out_dir.into(),
        verification,
    })
}

/// A temporary directory, removed with everything in it unless forgotten after the final rename.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn private_dir_builder(recursive: bool) -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// Where verified entries go.
trait Sink {
    fn directory(&mut self, path: &str) -> Result<()>;
    /// A writer for the file at `path`, or `None` to only hash it.
    fn file(&mut self, path: &str) -> Result<Option<(PathBuf, StagedWriter)>>;
}

/// Verification only: nothing is written.
struct Discard;

impl Sink for Discard {
    fn directory(&mut self, _: &str) -> Result<()> {
        Ok(())
    }

    fn file(&mut self, _: &str) -> Result<Option<(PathBuf, StagedWriter)>> {
        Ok(None)
    }
}

/// Extraction below `root`; paths arrive already checked (relative, no `..`, never through a link, which this
/// directory cannot contain since links are refused).
struct Extract {
    root: PathBuf,
}

impl Sink for Extract {
    fn directory(&mut self, path: &str) -> Result<()> {
        let full = self.root.join(path);
        private_dir_builder(true)
            .create(&full)
            .map_err(EvidenceError::write(full))
    }

    fn file(&mut self, path: &str) -> Result<Option<(PathBuf, StagedWriter)>> {
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            private_dir_builder(true)
                .create(parent)
                .map_err(EvidenceError::write(parent))?;
        }
        // Extracted files bypass the page cache where the file system allows it (see `direct`).
        let file = direct::create_new(&full, 0o600).map_err(EvidenceError::write(&full))?;
        Ok(Some((full, StagedWriter::new(file, EXTRACT_BUFFER_BYTES))))
    }
}

fn verify_statement_only(package: &Path, options: &UnsealOptions<'_>) -> Result<VerifyReport> {
    let statement_file = statement_path(package);
    let (statement, signer) = SealStatement::read_verified(&statement_file, options.producer)?;
    check_size(package, &statement)?;
    let progress = options.progress.unwrap_or(&NoProgress);
    // One thread waits for the disk while this one hashes.
    let (writer, mut reader) = pipe(CHUNK_BYTES, DEPTH);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let read = std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_ciphertext(package, progress, writer));
        let _ = reader.for_each_chunk(|chunk| {
            hasher.update(chunk);
            size += chunk.len() as u64;
            Ok(())
        });
        reading.join().unwrap_or_else(|_| {
            Err(EvidenceError::Read {
                path: package.into(),
                source: io::Error::other("reading stopped unexpectedly"),
            })
        })
    });
    if !read? {
        return Err(EvidenceError::Read {
            path: package.into(),
            source: io::Error::other("reading stopped unexpectedly"),
        });
    }
    let digest: Sha256Digest = hasher.finalize().into();
    check_ciphertext(package, &statement, &digest, size)?;
    Ok(VerifyReport {
        package: package.into(),
        statement_path: statement_file,
        statement,
        producer: signer.to_string(),
        producer_pinned: options.producer.is_some(),
        bag_checked: false,
        payload_files: None,
        payload_bytes: None,
    })
}

fn check_size(package: &Path, statement: &SealStatement) -> Result<u64> {
    let size = std::fs::metadata(package)
        .map_err(EvidenceError::read(package))?
        .len();
    if size != statement.package.size_bytes {
        return Err(EvidenceError::CiphertextMismatch {
            path: package.into(),
            what: "the size",
        });
    }
    Ok(size)
}

fn check_ciphertext(
    package: &Path,
    statement: &SealStatement,
    digest: &Sha256Digest,
    size: u64,
) -> Result<()> {
    if size != statement.package.size_bytes {
        return Err(EvidenceError::CiphertextMismatch {
            path: package.into(),
            what: "the size",
        });
    }
    if parse_sha256_hex(&statement.package.sha256).as_ref() != Some(digest) {
        return Err(EvidenceError::CiphertextMismatch {
            path: package.into(),
            what: "the SHA-256 of the ciphertext",
        });
    }
    Ok(())
}

/// Counts bytes into a progress sink as they are read.
struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a dyn ProgressSink,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Reads the whole ciphertext file into a pipe; `false` if the other side stopped first. This thread mostly waits
/// for the disk, so the hashing happens on the decrypting side.
fn read_ciphertext(
    package: &Path,
    progress: &dyn ProgressSink,
    mut sink: PipeWriter,
) -> Result<bool> {
    let file = DirectReader::open(package, CHUNK_BYTES).map_err(EvidenceError::read(package))?;
    let mut source = ProgressReader {
        inner: file,
        progress,
    };
    match sink.copy_from(&mut source) {
        Ok(_) => {}
        Err(CopyError::Closed) => return Ok(false),
        Err(CopyError::Read(e)) => return Err(EvidenceError::read(package)(e)),
    }
    Ok(sink.finish().is_ok())
}

/// Hashes and decrypts the ciphertext stream into a pipe; returns the ciphertext's SHA-256 and size, or `None` if
/// the reading side stopped first (it reports why).
fn decrypt_stream(
    package: &Path,
    identity: &age::x25519::Identity,
    ciphertext: PipeReader,
    mut sink: PipeWriter,
) -> Result<Option<(Sha256Digest, u64)>> {
    let mut ciphertext = HashingReader::new(ciphertext);
    match age_reader::decrypt(identity, &mut ciphertext, &mut sink) {
        Ok(()) if sink.finish().is_ok() => {
            let (_, digest, size) = ciphertext.finish();
            Ok(Some((digest, size)))
        }
        Ok(()) | Err(DecryptFailure::Closed) => Ok(None),
        Err(DecryptFailure::Header) => Err(EvidenceError::Decrypt {
            path: package.into(),
        }),
        Err(DecryptFailure::Damaged) => Err(EvidenceError::Damaged {
            path: package.into(),
        }),
        Err(DecryptFailure::Read(source)) => Err(EvidenceError::Read {
            path: package.into(),
            source,
        }),
    }
}

/// Everything learned from the tar stream.
#[derive(Default)]
struct Contents {
    /// Payload files: path → (digest, size).
    payload: HashMap<String, (Sha256Digest, u64)>,
    /// Tag files: path → digest.
    tags: HashMap<String, Sha256Digest>,
    /// The tag files that are parsed, kept whole.
    parsed: HashMap<String, Vec<u8>>,
}

fn unseal(
    package: &Path,
    identity: &age::x25519::Identity,
    options: &UnsealOptions<'_>,
    sink: &mut dyn Sink,
) -> Result<VerifyReport> {
    let statement_file = statement_path(package);
    let (statement, signer) = SealStatement::read_verified(&statement_file, options.producer)?;
    let ciphertext_size = check_size(package, &statement)?;
    let progress = options.progress.unwrap_or(&NoProgress);
    progress.set_total(ciphertext_size);

    // Three stages: reading the ciphertext, hashing and decrypting it, and (here) checking and extracting the tar.
    let (raw_writer, raw_reader) = pipe(CHUNK_BYTES, DEPTH);
    let (plain_writer, plain_reader) = pipe(CHUNK_BYTES, DEPTH);
    let (read, decrypted, contents) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_ciphertext(package, progress, raw_writer));
        let decrypting =
            scope.spawn(move || decrypt_stream(package, identity, raw_reader, plain_writer));
        let contents = read_archive(
            package,
            plain_reader,
            ciphertext_size,
            &options.limits,
            sink,
        );
        let stopped = || EvidenceError::Damaged {
            path: package.into(),
        };
        let decrypted = decrypting.join().unwrap_or_else(|_| Err(stopped()));
        let read = reading.join().unwrap_or_else(|_| Err(stopped()));
        (read, decrypted, contents)
    });
    // Failing to read explains failing to decrypt, which explains whatever the tar side saw.
    let contents = match (read, decrypted, contents) {
        (Err(e), _, _) | (Ok(_), Err(e), _) | (Ok(_), Ok(_), Err(e)) => return Err(e),
        (Ok(false), _, _) | (_, Ok(None), _) => {
            return Err(EvidenceError::Damaged {
                path: package.into(),
            });
        }
        (Ok(true), Ok(Some((digest, size))), Ok(contents)) => {
            check_ciphertext(package, &statement, &digest, size)?;
            contents
        }
    };
    let (files, bytes) = check_bag(&contents, &statement, &signer)?;
    Ok(VerifyReport {
        package: package.into(),
        statement_path: statement_file,
        statement,
        producer: signer.to_string(),
        producer_pinned: options.producer.is_some(),
        bag_checked: true,
        payload_files: Some(files),
        payload_bytes: Some(bytes),
    })
}

/// Checks an entry path and returns it normalised (`a/b/c`): relative, UTF-8, no `..`, nothing empty.
fn safe_path(raw: &[u8]) -> std::result::Result<String, &'static str> {
    let text = std::str::from_utf8(raw).map_err(|_| "its name is not valid UTF-8")?;
    if text.starts_with('/') {
        return Err("absolute paths are not allowed");
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("the path leaves the package (`..`)"),
            part if part.contains('\\') => return Err("backslashes are not allowed in paths"),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("the path is empty");
    }
    Ok(parts.join("/"))
}

fn entry_kind_name(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Char => "character device".into(),
        tar::EntryType::Block => "block device".into(),
        tar::EntryType::Fifo => "named pipe".into(),
        tar::EntryType::GNUSparse => "sparse file".into(),
        other => format!("type `{}`", char::from(other.as_byte()).escape_default()),
    }
}

/// Names already used in the archive, to refuse duplicates and file/directory clashes.
#[derive(Default)]
struct Names {
    files: HashSet<String>,
    dirs: HashSet<String>,
}

impl Names {
    fn ancestors(path: &str) -> impl Iterator<Item = &str> {
        path.match_indices('/').map(move |(i, _)| &path[..i])
    }

    fn add_file(&mut self, path: &str) -> std::result::Result<(), String> {
        if self.files.contains(path) || self.dirs.contains(path) {
            return Err("duplicate name: the package holds this name twice".into());
        }
        self.add_parents(path)?;
        self.files.insert(path.to_owned());
        Ok(())
    }

    fn add_dir(&mut self, path: &str) -> std::result::Result<(), String> {
        if self.files.contains(path) {
            return Err(
                "duplicate name: the package holds this name as a file and as a directory".into(),
            );
        }
        self.add_parents(path)?;
        self.dirs.insert(path.to_owned());
        Ok(())
    }

    fn add_parents(&mut self, path: &str) -> std::result::Result<(), String> {
        for parent in Self::ancestors(path) {
            if self.files.contains(parent) {
                return Err(format!(
                    "duplicate name: `{parent}` is both a file and a directory"
                ));
            }
            self.dirs.insert(parent.to_owned());
        }
        Ok(())
    }
}

/// Tag files that are parsed and so kept whole in memory.
fn is_parsed_tag(path: &str) -> bool {
    [
        BAGIT_TXT_NAME,
        BAG_INFO_NAME,
        MANIFEST_NAME,
        TAGMANIFEST_NAME,
        SIGNATURE_NAME,
    ]
    .contains(&path)
}

/// Walks the tar stream: refuses unsafe entries from their header, hashes every file, hands files to `sink`.
fn read_archive(
    package: &Path,
    reader: PipeReader,
    ciphertext_size: u64,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Result<Contents> {
    let archive_error = |e: io::Error| EvidenceError::Archive {
        path: package.into(),
        reason: e.to_string(),
    };
    let mut archive = tar::Archive::new(reader);
    let mut contents = Contents::default();
    let mut names = Names::default();
    let mut entry_count = 0u64;
    let mut payload_total = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |reason: String| EvidenceError::UnsafeEntry {
            entry: shown.clone(),
            reason,
        };
        entry_count += 1;
        if entry_count > limits.max_entries {
            return Err(refuse(format!(
                "the package holds more than {} entries",
                limits.max_entries
            )));
        }
        let kind = entry.header().entry_type();
        let is_dir = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => false,
            tar::EntryType::Directory => true,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let what = if kind == tar::EntryType::Symlink {
                    "symbolic"
                } else {
                    "hard"
                };
                return Err(refuse(format!(
                    "{what} link to `{target}`: links are not allowed in an evidence package"
                )));
            }
            other => {
                return Err(refuse(format!(
                    "{} entries are not allowed in an evidence package",
                    entry_kind_name(other)
                )));
            }
        };
        let path = safe_path(&entry.path_bytes()).map_err(|r| refuse(r.into()))?;
        if is_dir {
            names.add_dir(&path).map_err(refuse)?;
            sink.directory(&path)?;
            continue;
        }
        names.add_file(&path).map_err(refuse)?;

        let size = entry.size();
        let remaining = ciphertext_size.saturating_sub(entry.raw_file_position());
        let too_large = |limit_bytes: u64, why: &'static str| EvidenceError::TooLarge {
            entry: path.clone(),
            size_bytes: size,
            limit_bytes,
            why,
        };
        if size > remaining {
            return Err(too_large(remaining, "remain in the package"));
        }
        let is_payload = path.starts_with(PAYLOAD_PREFIX);
        if is_payload {
            let allowed = limits.max_payload_bytes.saturating_sub(payload_total);
            if size > allowed {
                return Err(too_large(allowed, "allowed by the payload size limit"));
            }
            payload_total += size;
        } else if size > limits.max_tag_file_bytes {
            return Err(too_large(
                limits.max_tag_file_bytes,
                "allowed for a tag file",
            ));
        }

        let keep = !is_payload && is_parsed_tag(&path);
        let mut kept = Vec::new();
        let mut hasher = Sha256::new();
        let mut output = sink.file(&path)?;
        let mut copied = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(archive_error(e)),
            };
            let bytes = &buf[..n];
            hasher.update(bytes);
            if keep {
                kept.extend_from_slice(bytes);
            }
            if let Some((full, file)) = output.as_mut() {
                file.write_all(bytes)
                    .map_err(EvidenceError::write(full.as_path()))?;
            }
            copied += n as u64;
        }
        if copied != size {
            return Err(EvidenceError::Archive {
                path: package.into(),
                reason: format!("entry `{path}` is truncated"),
            });
        }
        if let Some((full, file)) = output {
            file.finish().map_err(EvidenceError::write(full))?;
        }
        let digest: Sha256Digest = hasher.finalize().into();
        if is_payload {
            contents.payload.insert(path, (digest, size));
        } else {
            if keep {
                contents.parsed.insert(path.clone(), kept);
            }
            contents.tags.insert(path, digest);
        }
    }
    // Only zero padding may follow the end-of-archive marker: anything else would be hidden content.
    let mut rest = archive.into_inner();
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(archive_error(e)),
        };
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(EvidenceError::Archive {
                path: package.into(),
                reason: "data follows the end of the archive".into(),
            });
        }
    }
    Ok(contents)
}

fn text_of<'a>(contents: &'a Contents, name: &str) -> Result<&'a str> {
    let bytes = contents
        .parsed
        .get(name)
        .ok_or_else(|| EvidenceError::bag(name, "is missing from the bag"))?;
    std::str::from_utf8(bytes).map_err(|_| EvidenceError::bag(name, "is not UTF-8 text"))
}

/// Checks the bag: declaration, tag manifest, signature, payload manifest, Payload-Oxum, and agreement with the
/// seal statement. Returns the payload file count and bytes.
fn check_bag(
    contents: &Contents,
    statement: &SealStatement,
    signer: &PublicKey,
) -> Result<(u64, u64)> {
    // The declaration.
    let declaration = bagit::parse_bag_info(text_of(contents, BAGIT_TXT_NAME)?)
        .ok_or_else(|| EvidenceError::bag(BAGIT_TXT_NAME, "is not a BagIt declaration"))?;
    if bagit::bag_info_value(&declaration, "BagIt-Version") != Some("1.0")
        || !bagit::bag_info_value(&declaration, "Tag-File-Character-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("UTF-8"))
    {
        return Err(EvidenceError::bag(
            BAGIT_TXT_NAME,
            "does not declare BagIt 1.0 with UTF-8 tag files",
        ));
    }

    // The tag manifest, and every tag file against it.
    let tagmanifest_text = text_of(contents, TAGMANIFEST_NAME)?;
    let tagmanifest = bagit::parse_manifest(tagmanifest_text)
        .map_err(|p| EvidenceError::bag(TAGMANIFEST_NAME, format!("cannot be read: {p:?}")))?;
    let listed: HashSet<&str> = tagmanifest.iter().map(|(p, _)| p.as_str()).collect();
    for (path, digest) in &tagmanifest {
        match contents.tags.get(path) {
            None => {
                return Err(EvidenceError::bag(
                    path.as_str(),
                    format!("is listed in {TAGMANIFEST_NAME} but missing from the bag"),
                ));
            }
            Some(actual) if actual != digest => {
                return Err(EvidenceError::bag(
                    path.as_str(),
                    format!("does not match its SHA-256 in {TAGMANIFEST_NAME}"),
                ));
            }
            Some(_) => {}
        }
    }
    let mut unlisted: Vec<&str> = contents
        .tags
        .keys()
        .map(String::as_str)
        .filter(|p| *p != TAGMANIFEST_NAME && *p != SIGNATURE_NAME && !listed.contains(p))
        .collect();
    unlisted.sort_unstable();
    if let Some(path) = unlisted.first() {
        return Err(EvidenceError::bag(
            *path,
            format!("is not listed in {TAGMANIFEST_NAME}"),
        ));
    }

    // The producer's signature over the tag manifest, and its agreement with the seal statement.
    let signature_text = contents
        .parsed
        .get(SIGNATURE_NAME)
        .ok_or_else(|| EvidenceError::bag(SIGNATURE_NAME, "is missing from the bag"))?;
    let bad_signature = || EvidenceError::BagSignature {
        file: SIGNATURE_NAME.into(),
        producer: signer.to_string(),
    };
    let envelope =
        Envelope::from_json(signature_text.trim_ascii_end()).map_err(|_| bad_signature())?;
    let signed = envelope
        .verify(TAGMANIFEST_SIGNATURE_TYPE, signer)
        .map_err(|_| bad_signature())?;
    if signed != tagmanifest_text.as_bytes() {
        return Err(bad_signature());
    }
    let tagmanifest_digest = contents.tags.get(TAGMANIFEST_NAME).map(|d| hex(d));
    if tagmanifest_digest.as_deref() != Some(statement.bag.tagmanifest_sha256.as_str()) {
        return Err(EvidenceError::bag(
            TAGMANIFEST_NAME,
            "does not match the tag manifest digest in the seal statement",
        ));
    }

    // The payload against its manifest, both ways.
    let manifest = bagit::parse_manifest(text_of(contents, MANIFEST_NAME)?)
        .map_err(|p| EvidenceError::bag(MANIFEST_NAME, format!("cannot be read: {p:?}")))?;
    let mut octets = 0u64;
    for (path, digest) in &manifest {
        match contents.payload.get(path) {
            None => {
                return Err(EvidenceError::bag(
                    path.as_str(),
                    format!("is listed in {MANIFEST_NAME} but missing from the payload"),
                ));
            }
            Some((actual, _)) if actual != digest => {
                return Err(EvidenceError::bag(
                    path.as_str(),
                    format!("does not match its SHA-256 in {MANIFEST_NAME}"),
                ));
            }
            Some((_, size)) => octets += size,
        }
    }
    if manifest.len() != contents.payload.len() {
        let listed: HashSet<&str> = manifest.iter().map(|(p, _)| p.as_str()).collect();
        let mut extra: Vec<&str> = contents
            .payload
            .keys()
            .map(String::as_str)
            .filter(|p| !listed.contains(p))
            .collect();
        extra.sort_unstable();
        if let Some(path) = extra.first() {
            return Err(EvidenceError::bag(
                *path,
                format!("is not listed in {MANIFEST_NAME}"),
            ));
        }
    }

    // bag-info.txt: Payload-Oxum and the request id.
    let info = bagit::parse_bag_info(text_of(contents, BAG_INFO_NAME)?).ok_or_else(|| {
        EvidenceError::bag(BAG_INFO_NAME, "is not a list of `Label: value` lines")
    })?;
    let actual = PayloadOxum {
        octets,
        files: manifest.len() as u64,
    };
    match bagit::bag_info_value(&info, "Payload-Oxum").map(PayloadOxum::parse) {
        None => return Err(EvidenceError::bag(BAG_INFO_NAME, "has no Payload-Oxum")),
        Some(None) => {
            return Err(EvidenceError::bag(
                BAG_INFO_NAME,
                "has a malformed Payload-Oxum",
            ));
        }
        Some(Some(stated)) if stated != actual => {
            return Err(EvidenceError::bag(
                BAG_INFO_NAME,
                format!("states Payload-Oxum {stated} but the payload holds {actual}"),
            ));
        }
        Some(Some(_)) => {}
    }
    if bagit::bag_info_value(&info, "External-Identifier") != statement.request_id.as_deref() {
        return Err(EvidenceError::bag(
            BAG_INFO_NAME,
            "names a different External-Identifier than the seal statement's request id",
        ));
    }
    if actual.files != statement.bag.payload_files || actual.octets != statement.bag.payload_bytes {
        return Err(EvidenceError::bag(
            BAG_INFO_NAME,
            "describes a different payload size than the seal statement",
        ));
    }
    Ok((actual.files, actual.octets))
}
