//! The node's transparency log of lifecycle events: keys and salt, the sequencer that appends leaves in batches, the
//! index from events to leaves, and read-only access to the published tree for proofs and tiles.
//!
//! Files, beside the node's other keys (0600, created once, never overwritten):
//! - `log.key`: the log's signed-note key (`PRIVATE+KEY+<origin>+...`); its name is the checkpoint origin
//! - `log.salt`: the secret the per-event salts are derived from
//! - `witness.key`: the cosignature/v1 key this node witnesses other logs with
//!
//! and `log/`: the tiles and `checkpoint` (C2SP tlog-tiles, written by [`comity_tlog::FileLog`]),
//! `checkpoint.cosigned` (the checkpoint with the witnesses' cosignatures) and `events.idx` (one line per leaf:
//! `<index> <request id> <seq>`).
//!
//! The store holds the truth and the log follows it: a transition is committed to the store first, then its leaf is
//! appended; whatever a crash leaves out is appended by [`crate::service::NodeService::catch_up_log`]. When several
//! processes serve one node from PostgreSQL, one of them sequences the log at a time ([`sequencer`]).

pub mod leaf;
pub mod proof;
pub mod sequencer;
pub mod witness;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use comity_core::AuthorityId;
use comity_seal::keys;
use comity_tlog::filelog::DirStore;
use comity_tlog::proof::{self as tproof, ProveError};
use comity_tlog::tiles::TileHashReader;
use comity_tlog::{
    Checkpoint, CosignatureSigner, Ed25519Signer, Ed25519Verifier, FileLog, Hash, LogError, Note,
};
use tokio::sync::{mpsc, oneshot, watch};

use self::leaf::Leaf;

/// The log directory inside a node directory.
pub const LOG_DIR: &str = "log";
/// The log signing key.
pub const LOG_KEY_FILE: &str = "log.key";
/// The secret salt of the commitments.
pub const LOG_SALT_FILE: &str = "log.salt";
/// The witness cosigning key.
pub const WITNESS_KEY_FILE: &str = "witness.key";
/// The event index inside the log directory.
pub const INDEX_FILE: &str = "events.idx";
/// The cosigned checkpoint inside the log directory.
pub const COSIGNED_FILE: &str = "checkpoint.cosigned";

/// Most leaves in one append.
const MAX_BATCH: usize = 4096;
/// Most appends waiting for the sequencer.
const QUEUE_DEPTH: usize = 16 * 1024;

/// The checkpoint origin of an authority's log.
pub fn default_origin(authority: &AuthorityId) -> String {
    format!("comity.example/{authority}")
}

/// The name of an authority's witness key.
pub fn default_witness_name(authority: &AuthorityId) -> String {
    format!("comity.example/{authority}/witness")
}

/// What can go wrong with the event log.
#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    /// A key file could not be written.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// A key or salt file holds something else.
    #[error(
        "`{0}` is not a valid key file; restore it from backup (a node cannot change its log key)"
    )]
    BadKeyFile(PathBuf),
    /// A file could not be read or written.
    #[error("cannot use `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The log itself failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The sequencer has stopped.
    #[error("the log sequencer has stopped; restart the node")]
    Stopped,
    /// An append failed; the event stays in the store and is appended on the next catch-up.
    #[error("log append failed: {0}")]
    Append(String),
    /// The published checkpoint does not verify under the node's log key.
    #[error("the published checkpoint of `{0}` does not verify under the log key")]
    BadCheckpoint(String),
    /// The event has no leaf (yet).
    #[error(
        "event `{request_id}:{seq}` is not in the log yet; run `comity serve` (or, on SQLite, any command on the node) so the log catches up"
    )]
    NotLogged {
        /// Request.
        request_id: String,
        /// Position.
        seq: u64,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EventLogError + '_ {
    move |source| EventLogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The secrets of a node's log.
#[derive(Clone)]
pub struct LogKeys {
    /// Signs checkpoints.
    pub signer: Ed25519Signer,
    /// Derives the per-event salts.
    pub salt: [u8; 32],
    /// Cosigns other logs' checkpoints.
    pub witness: CosignatureSigner,
}

impl std::fmt::Debug for LogKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKeys")
            .field("signer", &self.signer)
            .field("witness", &self.witness)
            .finish_non_exhaustive()
    }
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    seed
}

/// Reads the log keys of the node in `node_dir`, creating the missing ones (0600, never overwritten).
pub fn ensure_keys(node_dir: &Path, authority: &AuthorityId) -> Result<LogKeys, EventLogError> {
    let key_path = node_dir.join(LOG_KEY_FILE);
    if !key_path.exists() {
        let signer = Ed25519Signer::new(
            &default_origin(authority),
            ed25519_dalek::SigningKey::from_bytes(&random_seed()),
        )
        .map_err(|_| EventLogError::BadKeyFile(key_path.clone()))?;
        keys::write_secret_file(
            &key_path,
            format!("{}\n", signer.to_private_key_string()).as_bytes(),
        )?;
    }
    let salt_path = node_dir.join(LOG_SALT_FILE);
    if !salt_path.exists() {
        keys::write_secret_file(
            &salt_path,
            format!("{}\n", leaf::salt_to_base64(&random_seed())).as_bytes(),
        )?;
    }
    let witness_path = node_dir.join(WITNESS_KEY_FILE);
    if !witness_path.exists() {
        let witness = CosignatureSigner::new(
            &default_witness_name(authority),
            ed25519_dalek::SigningKey::from_bytes(&random_seed()),
        )
        .map_err(|_| EventLogError::BadKeyFile(witness_path.clone()))?;
        keys::write_secret_file(
            &witness_path,
            format!("{}\n", witness.to_private_key_string()).as_bytes(),
        )?;
    }
    read_keys(node_dir)
}

/// Reads the log keys of the node in `node_dir`.
pub fn read_keys(node_dir: &Path) -> Result<LogKeys, EventLogError> {
    let read = |name: &str| {
        let path = node_dir.join(name);
        fs::read_to_string(&path)
            .map_err(io_err(&path))
            .map(|t| (t.trim().to_owned(), path))
    };
    let (text, path) = read(LOG_KEY_FILE)?;
    let signer = Ed25519Signer::from_private_key_string(&text)
        .map_err(|_| EventLogError::BadKeyFile(path))?;
    let (text, path) = read(LOG_SALT_FILE)?;
    let salt = leaf::salt_from_base64(&text).ok_or(EventLogError::BadKeyFile(path))?;
    let (text, path) = read(WITNESS_KEY_FILE)?;
    let witness = CosignatureSigner::from_private_key_string(&text)
        .map_err(|_| EventLogError::BadKeyFile(path))?;
    Ok(LogKeys {
        signer,
        salt,
        witness,
    })
}

/// What the log has published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Tree size.
    pub size: u64,
    /// The signed checkpoint note.
    pub signed: Vec<u8>,
    /// The same checkpoint with the witnesses' cosignatures, once collected.
    pub cosigned: Option<Vec<u8>>,
}

impl Published {
    /// What `GET /log/checkpoint` serves: the cosigned note when it is for the current tree, else the signed one.
    pub fn best(&self) -> &[u8] {
        self.cosigned.as_deref().unwrap_or(&self.signed)
    }
}

type EventKey = (String, u64);

struct Job {
    key: EventKey,
    leaf: Vec<u8>,
    reply: oneshot::Sender<Result<u64, String>>,
}

struct Inner {
    dir: PathBuf,
    verifier: Ed25519Verifier,
    salt: [u8; 32],
    jobs: mpsc::Sender<Job>,
    index: Mutex<HashMap<EventKey, u64>>,
    published: RwLock<Published>,
    changes: watch::Sender<u64>,
}

/// A node's open event log: appends go through one sequencer thread, reads go to the files.
#[derive(Clone)]
pub struct NodeLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeLog({})", self.inner.verifier)
    }
}

impl NodeLog {
    /// Opens (or creates) the log of the node in `node_dir` and starts its sequencer.
    ///
    /// Fails with [`LogError::Locked`] when another process has the log open.
    pub fn open(node_dir: &Path, keys: &LogKeys) -> Result<Self, EventLogError> {
        let dir = node_dir.join(LOG_DIR);
        let log = FileLog::open_or_create(&dir, keys.signer.clone())?;
        if !log.recovery().removed_files.is_empty() {
            tracing::warn!(
                removed = log.recovery().removed_files.len(),
                "event log recovered from an interrupted append"
            );
        }
        let size = log.size();
        let index = load_index(&dir, size)?;
        let published = Published {
            size,
            signed: log.signed_checkpoint().to_vec(),
            cosigned: read_cosigned(&dir, log.signed_checkpoint()),
        };
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        let (changes, _) = watch::channel(size);
        let inner = Arc::new(Inner {
            dir: dir.clone(),
            verifier: keys.signer.verifier(),
            salt: keys.salt,
            jobs,
            index: Mutex::new(index),
            published: RwLock::new(published),
            changes,
        });
        let weak = Arc::downgrade(&inner);
        let signer = keys.signer.clone();
        std::thread::Builder::new()
            .name("comity-log-sequencer".into())
            .spawn(move || sequence(log, signer, rx, weak))
            .map_err(io_err(&dir))?;
        Ok(Self { inner })
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &Ed25519Verifier {
        &self.inner.verifier
    }

    /// The checkpoint origin.
    pub fn origin(&self) -> &str {
        comity_tlog::note::NoteVerifier::name(&self.inner.verifier)
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The node's secret salt (for commitments).
    pub(crate) fn salt(&self) -> &[u8; 32] {
        &self.inner.salt
    }

    /// Appends a leaf for an event and waits until a checkpoint covering it is published. Returns the leaf index;
    /// an event logged before keeps its index.
    pub async fn append(
        &self,
        request_id: &str,
        seq: u64,
        leaf: &Leaf,
    ) -> Result<u64, EventLogError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .jobs
            .send(Job {
                key: (request_id.to_owned(), seq),
                leaf: leaf.to_bytes(),
                reply,
            })
            .await
            .map_err(|_| EventLogError::Stopped)?;
        answer
            .await
            .map_err(|_| EventLogError::Stopped)?
            .map_err(EventLogError::Append)
    }

    /// The leaf index of an event, if logged.
    pub fn index_of(&self, request_id: &str, seq: u64) -> Option<u64> {
        lock(&self.inner.index)
            .get(&(request_id.to_owned(), seq))
            .copied()
    }

    /// Which of these events are logged.
    pub(crate) fn logged(&self, keys: &[EventKey]) -> Vec<bool> {
        let index = lock(&self.inner.index);
        keys.iter().map(|k| index.contains_key(k)).collect()
    }

    /// What is published now.
    pub fn published(&self) -> Published {
        self.inner
            .published
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Notified with the new size after every publication.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Records the cosigned form of the checkpoint of `size`, if it is still the published one.
    pub(crate) fn set_cosigned(
        &self,
        signed: &[u8],
        cosigned: Vec<u8>,
    ) -> Result<(), EventLogError> {
        let mut published = self
            .inner
            .published
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if published.signed != signed {
            return Ok(());
        }
        let path = self.inner.dir.join(COSIGNED_FILE);
        write_atomic(&path, &cosigned)?;
        published.cosigned = Some(cosigned);
        Ok(())
    }

    /// A read-only view of the published tree.
    pub fn reader(&self) -> LogReader {
        LogReader {
            dir: self.inner.dir.clone(),
            verifier: self.inner.verifier.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sequencer: takes every waiting append, writes the index lines, appends the leaves as one batch, publishes.
fn sequence(
    mut log: FileLog,
    signer: Ed25519Signer,
    mut rx: mpsc::Receiver<Job>,
    inner: std::sync::Weak<Inner>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        // Events logged before, or twice in this batch, keep their first index.
        let mut fresh: Vec<Job> = Vec::with_capacity(jobs.len());
        let mut known: Vec<(Job, u64)> = Vec::new();
        {
            let index = lock(&inner.index);
            let mut in_batch: HashMap<EventKey, u64> = HashMap::new();
            let next = log.size();
            for job in jobs {
                if let Some(&i) = index.get(&job.key).or(in_batch.get(&job.key)) {
                    known.push((job, i));
                } else {
                    in_batch.insert(job.key.clone(), next + fresh.len() as u64);
                    fresh.push(job);
                }
            }
        }
        for (job, i) in known {
            let _ = job.reply.send(Ok(i));
        }
        if fresh.is_empty() {
            continue;
        }
        let first = log.size();
        let result = append_with_index(&mut log, &inner.dir, first, &fresh);
        match result {
            Ok(()) => {
                {
                    let mut index = lock(&inner.index);
                    for (i, job) in fresh.iter().enumerate() {
                        index.insert(job.key.clone(), first + i as u64);
                    }
                }
                {
                    let mut published = inner.published.write().unwrap_or_else(|e| e.into_inner());
                    *published = Published {
                        size: log.size(),
                        signed: log.signed_checkpoint().to_vec(),
                        cosigned: None,
                    };
                }
                inner.changes.send_replace(log.size());
                for (i, job) in fresh.into_iter().enumerate() {
                    let _ = job.reply.send(Ok(first + i as u64));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = fresh.len(), "event log append failed");
                for job in fresh {
                    let _ = job.reply.send(Err(e.to_string()));
                }
                // Reopen to recover a consistent state; the store keeps the events for the next catch-up.
                let dir = log.dir().to_path_buf();
                drop(log);
                match FileLog::open(&dir, signer.clone()) {
                    Ok(reopened) => {
                        log = reopened;
                        if let Ok(index) = load_index(&dir, log.size()) {
                            *lock(&inner.index) = index;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "event log cannot be reopened; appends stop");
                        return;
                    }
                }
            }
        }
    }
}

/// Writes the index lines of a batch durably, then appends it. The index lines come first so that every published
/// leaf has its line; lines beyond the published size are dropped on the next open.
fn append_with_index(
    log: &mut FileLog,
    dir: &Path,
    first: u64,
    jobs: &[Job],
) -> Result<(), EventLogError> {
    let path = dir.join(INDEX_FILE);
    let mut text = String::new();
    for (i, job) in jobs.iter().enumerate() {
        text.push_str(&format!(
            "{} {} {}\n",
            first + i as u64,
            job.key.0,
            job.key.1
        ));
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    file.write_all(text.as_bytes()).map_err(io_err(&path))?;
    file.sync_data().map_err(io_err(&path))?;
    let leaves: Vec<&[u8]> = jobs.iter().map(|j| j.leaf.as_slice()).collect();
    let at = log.append_batch(&leaves)?;
    // INVARIANT: the sequencer is the only writer, so the batch lands where its index lines say.
    debug_assert_eq!(at, first);
    Ok(())
}

/// Reads `events.idx`, keeping the lines for leaves below `size`, and rewrites it if it dropped any.
fn load_index(dir: &Path, size: u64) -> Result<HashMap<EventKey, u64>, EventLogError> {
    let path = dir.join(INDEX_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let mut index = HashMap::new();
    let mut by_leaf: HashMap<u64, EventKey> = HashMap::new();
    let mut dropped = false;
    for line in text.lines() {
        let mut parts = line.split(' ');
        let parsed = (|| {
            let i: u64 = parts.next()?.parse().ok()?;
            let id = parts.next()?.to_owned();
            let seq: u64 = parts.next()?.parse().ok()?;
            parts.next().is_none().then_some((i, id, seq))
        })();
        match parsed {
            Some((i, id, seq)) if i < size && !by_leaf.contains_key(&i) => {
                by_leaf.insert(i, (id.clone(), seq));
                index.entry((id, seq)).or_insert(i);
            }
            _ => dropped = true,
        }
    }
    if by_leaf.len() as u64 != size {
        return Err(EventLogError::Log(LogError::Corrupt(format!(
            "`{}` names {} of the {size} leaves; the index must be restored with the log",
            path.display(),
            by_leaf.len()
        ))));
    }
    if dropped {
        let mut lines: Vec<(u64, EventKey)> = by_leaf.into_iter().collect();
        lines.sort();
        let text: String = lines
            .iter()
            .map(|(i, (id, seq))| format!("{i} {id} {seq}\n"))
            .collect();
        write_atomic(&path, text.as_bytes())?;
    }
    Ok(index)
}

fn read_cosigned(dir: &Path, signed: &[u8]) -> Option<Vec<u8>> {
    let bytes = fs::read(dir.join(COSIGNED_FILE)).ok()?;
    let note = Note::parse(&bytes).ok()?;
    let signed_note = Note::parse(signed).ok()?;
    (note.text() == signed_note.text()).then_some(bytes)
}

/// Writes a file as temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EventLogError> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = File::create(&temp).map_err(io_err(&temp))?;
    file.write_all(bytes).map_err(io_err(&temp))?;
    file.sync_all().map_err(io_err(&temp))?;
    fs::rename(&temp, path).map_err(io_err(path))?;
    if let Some(parent) = path.parent() {
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io_err(parent))?;
    }
    Ok(())
}

/// Read-only access to a published log on disk; works while another process appends.
#[derive(Debug, Clone)]
pub struct LogReader {
    dir: PathBuf,
    verifier: Ed25519Verifier,
}

/// An inclusion proof of one leaf, as read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The leaf bytes.
    pub leaf: Vec<u8>,
    /// Its index.
    pub index: u64,
    /// The proof hashes, up to the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The checkpoint the proof leads to, with any cosignatures.
    pub checkpoint: Vec<u8>,
}

impl LogReader {
    /// A reader of the log in `node_dir/log` signed by `verifier`.
    pub fn new(node_dir: &Path, verifier: Ed25519Verifier) -> Self {
        Self {
            dir: node_dir.join(LOG_DIR),
            verifier,
        }
    }

    /// The published checkpoint, checked against the log key; the cosigned form when current.
    pub fn checkpoint(&self) -> Result<(Checkpoint, Vec<u8>), EventLogError> {
        let path = self.dir.join(comity_tlog::filelog::CHECKPOINT_FILE);
        let signed = fs::read(&path).map_err(io_err(&path))?;
        let origin = comity_tlog::note::NoteVerifier::name(&self.verifier).to_owned();
        let (checkpoint, _) = Checkpoint::open(&signed, &origin, &self.verifier)
            .map_err(|_| EventLogError::BadCheckpoint(origin))?;
        let best = read_cosigned(&self.dir, &signed).unwrap_or(signed);
        Ok((checkpoint, best))
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &Ed25519Verifier {
        &self.verifier
    }

    /// The leaf index of an event, from `events.idx`.
    pub fn index_of(&self, request_id: &str, seq: u64) -> Result<Option<u64>, EventLogError> {
        let (checkpoint, _) = self.checkpoint()?;
        let index = load_index_readonly(&self.dir, checkpoint.size)?;
        Ok(index.get(&(request_id.to_owned(), seq)).copied())
    }

    /// The leaf at `index` with its inclusion proof in the published tree.
    pub fn inclusion(&self, index: u64) -> Result<Inclusion, EventLogError> {
        // A concurrent append may remove a partial tile between reading the checkpoint and the tiles: retry once.
        match self.inclusion_once(index) {
            Err(EventLogError::Log(LogError::ProofHashes(_))) => self.inclusion_once(index),
            other => other,
        }
    }

    fn inclusion_once(&self, index: u64) -> Result<Inclusion, EventLogError> {
        let (checkpoint, bytes) = self.checkpoint()?;
        let size = checkpoint.size;
        let reader = TileHashReader::new(size, DirStore::new(&self.dir));
        let proof = tproof::inclusion_proof(&reader, index, size).map_err(|e| match e {
            ProveError::Read(e) => EventLogError::Log(LogError::ProofHashes(e)),
            _ => EventLogError::Log(LogError::IndexBeyondSize { index, size }),
        })?;
        let leaf = read_entry(&self.dir, index, size)?;
        Ok(Inclusion {
            leaf,
            index,
            proof,
            checkpoint: bytes,
        })
    }

    /// Consistency proof between two sizes of the published tree.
    pub fn consistency(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, EventLogError> {
        let reader = TileHashReader::new(size2, DirStore::new(&self.dir));
        tproof::consistency_proof(&reader, size1, size2).map_err(|e| match e {
            ProveError::Read(e) => EventLogError::Log(LogError::ProofHashes(e)),
            _ => EventLogError::Log(LogError::BadProofSizes {
                size1,
                size2,
                published: size2,
            }),
        })
    }

    /// Every leaf of the tree of `size`, in order.
    pub fn leaves(&self, size: u64) -> Result<Vec<Vec<u8>>, EventLogError> {
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let width = comity_tlog::tiles::TILE_WIDTH;
        let mut n = 0;
        while n * width < size {
            let tile = comity_tlog::tiles::entry_bundle_at(n, size).ok_or(EventLogError::Log(
                LogError::IndexBeyondSize {
                    index: n * width,
                    size,
                },
            ))?;
            let path = self.dir.join(tile.path());
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            out.extend(
                comity_tlog::tiles::decode_bundle(&bytes, tile.width)
                    .map_err(|e| EventLogError::Log(LogError::Tile(e)))?,
            );
            n += 1;
        }
        Ok(out)
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn read_entry(dir: &Path, index: u64, size: u64) -> Result<Vec<u8>, EventLogError> {
    let width = comity_tlog::tiles::TILE_WIDTH;
    let tile = comity_tlog::tiles::entry_bundle_at(index / width, size)
        .filter(|_| index < size)
        .ok_or(EventLogError::Log(LogError::IndexBeyondSize {
            index,
            size,
        }))?;
    let path = dir.join(tile.path());
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    let mut entries = comity_tlog::tiles::decode_bundle(&bytes, tile.width)
        .map_err(|e| EventLogError::Log(LogError::Tile(e)))?;
    let position = (index % width) as usize;
    if position >= entries.len() {
        return Err(EventLogError::Log(LogError::IndexBeyondSize {
            index,
            size,
        }));
    }
    Ok(entries.swap_remove(position))
}

fn load_index_readonly(dir: &Path, size: u64) -> Result<HashMap<EventKey, u64>, EventLogError> {
    let path = dir.join(INDEX_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let mut index = HashMap::new();
    for line in text.lines() {
        let mut parts = line.split(' ');
        if let (Some(Ok(i)), Some(id), Some(Ok(seq))) = (
            parts.next().map(str::parse::<u64>),
            parts.next(),
            parts.next().map(str::parse::<u64>),
        ) && i < size
        {
            index.entry((id.to_owned(), seq)).or_insert(i);
        }
    }
    Ok(index)
}
