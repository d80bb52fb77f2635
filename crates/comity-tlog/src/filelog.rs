//! A durable transparency log on a directory, laid out as C2SP tlog-tiles.
//!
//! `append_batch` writes the entry bundles, then the hash tiles, then publishes the signed
//! checkpoint, each file as temp file, fsync, rename, fsync of the directory. The published
//! checkpoint is the commit point: files for sizes beyond it are orphans of an interrupted append
//! and are removed when the log is opened, after which the state is re-derived from the
//! checkpoint and its tiles and checked against the checkpoint's root.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::{CompactRange, Hash, leaf_hash};
use crate::note::{Ed25519Signer, NoteSigner};
use crate::proof::{self, HashReader, ProveError};
use crate::tiles::{
    TILE_HEIGHT, TILE_WIDTH, TileError, TileHashReader, TileId, TileKind, TileReadError, TileStore,
    changed_tiles, check_entries, decode_bundle, decode_hash_tile, encode_bundle, encode_hash_tile,
    entry_bundle_at, hash_tile_at, tile_levels,
};

/// Name of the published checkpoint file in the log directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";

const LOCK_FILE: &str = "lock";
const TEMP_SUFFIX: &str = ".tmp";

/// Where an injected fault interrupts the next append, to test crash recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// After the entry bundles are durable, before any hash tile is written.
    AfterEntryBundles,
    /// After all tiles are durable, before the checkpoint is written.
    BeforeCheckpoint,
    /// After the new checkpoint's temp file is durable, before it replaces the published one.
    BeforeCheckpointRename,
}

/// Errors of the file-backed log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file system operation failed.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Another process holds the log's lock.
    #[error("log directory `{0}` is in use by another process")]
    Locked(PathBuf),
    /// `create` found an existing log.
    #[error("log directory `{0}` already holds a log; open it instead")]
    AlreadyExists(PathBuf),
    /// `open` found no published checkpoint.
    #[error("log directory `{0}` has no checkpoint; create the log first")]
    NotALog(PathBuf),
    /// The published checkpoint is malformed, for another origin, or not signed by this key.
    #[error("published checkpoint is not valid for this log")]
    Checkpoint(#[from] CheckpointError),
    /// An entry or tile is malformed.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// Tiles on disk do not match the published checkpoint.
    #[error("log state is corrupt: {0}")]
    Corrupt(String),
    /// An earlier append failed part way; the in-memory state may be behind the disk.
    #[error("an earlier append failed; reopen the log to recover")]
    Poisoned,
    /// A fault injected with [`FileLog::inject_fault`].
    #[error("injected fault at {0:?}")]
    InjectedFault(FaultPoint),
    /// An entry index beyond the published tree.
    #[error("entry index {index} is not below the published tree size {size}")]
    IndexBeyondSize {
        /// Requested index.
        index: u64,
        /// Published size.
        size: u64,
    },
    /// A tree size beyond the published one, or sizes out of order.
    #[error("no proof between sizes {size1} and {size2} in a log of published size {published}")]
    BadProofSizes {
        /// First size.
        size1: u64,
        /// Second size.
        size2: u64,
        /// Published size.
        published: u64,
    },
    /// A proof hash could not be read from the tiles.
    #[error("cannot read proof hashes from tiles")]
    ProofHashes(#[source] TileReadError<io::Error>),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LogError {
    let path = path.to_path_buf();
    move |source| LogError::Io {
        action,
        path,
        source,
    }
}

/// Reads tiles from a log directory.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store over the log directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl TileStore for DirStore {
    type Error = io::Error;

    fn read_tile(&self, tile: &TileId) -> Result<Vec<u8>, io::Error> {
        fs::read(self.root.join(tile.path()))
    }
}

/// What opening the log found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Files removed: temp files, and tiles or bundles that do not belong to the published tree.
    pub removed_files: Vec<String>,
}

/// A transparency log stored as tiles in a directory, with a signed checkpoint.
///
/// One process at a time: the directory is locked while a `FileLog` is open.
#[derive(Debug)]
pub struct FileLog {
    dir: PathBuf,
    signer: Ed25519Signer,
    checkpoint: Checkpoint,
    signed_checkpoint: Vec<u8>,
    range: CompactRange,
    // INVARIANT: `partial_tiles[l]` holds the hashes of the rightmost, incomplete tile of level
    // `l` (empty when that level ends on a tile boundary), and `partial_bundle` the entries of the
    // rightmost incomplete bundle, both for the tree of `range.size()` leaves, which is the
    // published checkpoint's size.
    partial_tiles: Vec<Vec<Hash>>,
    partial_bundle: Vec<Vec<u8>>,
    known_dirs: BTreeSet<PathBuf>,
    fault: Option<FaultPoint>,
    poisoned: bool,
    recovery: Recovery,
    _lock: File,
}

impl FileLog {
    /// Creates a new, empty log in `dir` (created if missing) and publishes its size-0 checkpoint.
    /// The checkpoint origin is the signer's key name.
    pub fn create(dir: &Path, signer: Ed25519Signer) -> Result<Self, LogError> {
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        let lock = lock_dir(dir)?;
        if dir.join(CHECKPOINT_FILE).exists() {
            return Err(LogError::AlreadyExists(dir.to_path_buf()));
        }
        let checkpoint = Checkpoint::new(signer.name(), 0, crate::hash::empty_root());
        let signed = checkpoint.sign(&signer)?.to_bytes();
        let path = dir.join(CHECKPOINT_FILE);
        write_temp(&path, &signed)?;
        publish_temp(&path)?;
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            signer,
            checkpoint,
            signed_checkpoint: signed,
            range: CompactRange::new(),
            partial_tiles: Vec::new(),
            partial_bundle: Vec::new(),
            known_dirs: BTreeSet::new(),
            fault: None,
            poisoned: false,
            recovery: Recovery::default(),
            _lock: lock,
        })
    }

    /// Opens an existing log, removes what an interrupted append left behind, and re-derives the
    /// state from the published checkpoint, checking the tiles against its root.
    pub fn open(dir: &Path, signer: Ed25519Signer) -> Result<Self, LogError> {
        let lock = lock_dir(dir)?;
        let path = dir.join(CHECKPOINT_FILE);
        let signed = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LogError::NotALog(dir.to_path_buf()));
            }
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        let (checkpoint, _) = Checkpoint::open(&signed, signer.name(), &signer.verifier())?;
        let size = checkpoint.size;
        let mut log = Self {
            dir: dir.to_path_buf(),
            signer,
            checkpoint,
            signed_checkpoint: signed,
            range: CompactRange::new(),
            partial_tiles: Vec::new(),
            partial_bundle: Vec::new(),
            known_dirs: BTreeSet::new(),
            fault: None,
            poisoned: false,
            recovery: Recovery::default(),
            _lock: lock,
        };
        log.remove_orphans(size)?;
        log.load_state(size)?;
        Ok(log)
    }

    /// Opens the log in `dir`, creating it if it has no checkpoint yet.
    pub fn open_or_create(dir: &Path, signer: Ed25519Signer) -> Result<Self, LogError> {
        if dir.join(CHECKPOINT_FILE).exists() {
            Self::open(dir, signer)
        } else {
            Self::create(dir, signer)
        }
    }

    /// The published checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The published checkpoint as a signed note.
    pub fn signed_checkpoint(&self) -> &[u8] {
        &self.signed_checkpoint
    }

    /// Number of entries in the published tree.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// What the last `open` removed.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes the next append fail at `point`, as a crash there would. For crash tests.
    pub fn inject_fault(&mut self, point: FaultPoint) {
        self.fault = Some(point);
    }

    fn fault_at(&mut self, point: FaultPoint) -> Result<(), LogError> {
        if self.fault == Some(point) {
            self.fault = None;
            return Err(LogError::InjectedFault(point));
        }
        Ok(())
    }

    /// Appends a batch of entries durably and publishes a new signed checkpoint.
    ///
    /// Returns the index of the first entry. An empty batch publishes nothing and returns the
    /// current size. After an error the log refuses further appends until it is reopened.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<u64, LogError> {
        if self.poisoned {
            return Err(LogError::Poisoned);
        }
        check_entries(entries)?;
        let first = self.range.size();
        if entries.is_empty() {
            return Ok(first);
        }
        self.poisoned = true;
        self.append_inner(entries)?;
        self.poisoned = false;
        Ok(first)
    }

    fn append_inner<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<(), LogError> {
        let old_size = self.range.size();
        let mut range = self.range.clone();
        let mut tiles = self.partial_tiles.clone();
        let mut bundle = self.partial_bundle.clone();
        let mut bundle_writes: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut tile_writes: Vec<(TileId, Vec<u8>)> = Vec::new();

        for entry in entries {
            let entry = entry.as_ref();
            let index = range.size();
            bundle.push(entry.to_vec());
            if bundle.len() as u64 == TILE_WIDTH {
                bundle_writes.push((
                    TileId::entries(index / TILE_WIDTH, TILE_WIDTH as u16),
                    encode_bundle(&bundle)?,
                ));
                bundle.clear();
            }
            range.push(leaf_hash(entry), |level, node, hash| {
                if level % TILE_HEIGHT != 0 {
                    return;
                }
                let tile_level = usize::from(level / TILE_HEIGHT);
                if tiles.len() <= tile_level {
                    tiles.resize(tile_level + 1, Vec::new());
                }
                let tile = &mut tiles[tile_level];
                debug_assert_eq!(tile.len() as u64, node % TILE_WIDTH);
                tile.push(*hash);
                if tile.len() as u64 == TILE_WIDTH {
                    tile_writes.push((
                        TileId::hashes(level / TILE_HEIGHT, node / TILE_WIDTH, TILE_WIDTH as u16),
                        encode_hash_tile(tile),
                    ));
                    tile.clear();
                }
            });
        }
        let new_size = range.size();
        if !bundle.is_empty() {
            let tile = TileId::entries(new_size / TILE_WIDTH, bundle.len() as u16);
            bundle_writes.push((tile, encode_bundle(&bundle)?));
        }
        for (level, hashes) in tiles.iter().enumerate() {
            let Ok(level) = u8::try_from(level) else {
                continue;
            };
            let Some(tile) = hash_tile_at(level, new_size >> (u32::from(level) * 8) >> 8, new_size)
            else {
                continue;
            };
            let changed = hash_tile_at(level, tile.index, old_size) != Some(tile);
            if !hashes.is_empty() && changed {
                debug_assert_eq!(usize::from(tile.width), hashes.len());
                tile_writes.push((tile, encode_hash_tile(hashes)));
            }
        }
        // INVARIANT: exactly the tiles that differ between the two trees are written.
        debug_assert_eq!(
            bundle_writes
                .iter()
                .chain(&tile_writes)
                .map(|(t, _)| *t)
                .collect::<BTreeSet<_>>(),
            changed_tiles(old_size, new_size)
                .into_iter()
                .collect::<BTreeSet<_>>()
        );

        self.write_group(&bundle_writes)?;
        self.fault_at(FaultPoint::AfterEntryBundles)?;
        self.write_group(&tile_writes)?;
        self.fault_at(FaultPoint::BeforeCheckpoint)?;

        let checkpoint = Checkpoint::new(self.signer.name(), new_size, range.root());
        let signed = checkpoint.sign(&self.signer)?.to_bytes();
        let path = self.dir.join(CHECKPOINT_FILE);
        write_temp(&path, &signed)?;
        self.fault_at(FaultPoint::BeforeCheckpointRename)?;
        publish_temp(&path)?;
        sync_dir(&self.dir)?;

        // Published: adopt the new state, then drop the partial tiles it supersedes. A failed
        // removal leaves garbage that the next `open` removes.
        self.range = range;
        self.partial_tiles = tiles;
        self.partial_bundle = bundle;
        self.checkpoint = checkpoint;
        self.signed_checkpoint = signed;
        for (tile, _) in bundle_writes.iter().chain(&tile_writes) {
            let old = match tile.kind {
                TileKind::Entries => entry_bundle_at(tile.index, old_size),
                TileKind::Hashes { level } => hash_tile_at(level, tile.index, old_size),
            };
            if let Some(old) = old.filter(|o| o.is_partial() && o != tile) {
                let old_path = self.dir.join(old.path());
                let _ = fs::remove_file(&old_path);
                if !tile.is_partial()
                    && let Some(partial_dir) = old_path.parent()
                {
                    let _ = fs::remove_dir(partial_dir);
                }
            }
        }
        Ok(())
    }

    /// Writes files durably as a group: all temp files written and synced, then renamed, then
    /// their directories synced.
    fn write_group(&mut self, writes: &[(TileId, Vec<u8>)]) -> Result<(), LogError> {
        let mut dirs = BTreeSet::new();
        for (tile, bytes) in writes {
            let path = self.dir.join(tile.path());
            if let Some(parent) = path.parent() {
                self.ensure_dir(parent)?;
                dirs.insert(parent.to_path_buf());
            }
            write_temp(&path, bytes)?;
        }
        for (tile, _) in writes {
            publish_temp(&self.dir.join(tile.path()))?;
        }
        for dir in dirs {
            sync_dir(&dir)?;
        }
        Ok(())
    }

    /// Creates `dir` and its missing ancestors, syncing each parent so the new entries persist.
    fn ensure_dir(&mut self, dir: &Path) -> Result<(), LogError> {
        if self.known_dirs.contains(dir) {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut cursor = Some(dir);
        while let Some(d) = cursor {
            if d.exists() {
                break;
            }
            missing.push(d.to_path_buf());
            cursor = d.parent();
        }
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        for created in missing.iter().rev() {
            if let Some(parent) = created.parent() {
                sync_dir(parent)?;
            }
        }
        self.known_dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// Removes temp files and every tile or bundle that is not part of the tree of `size`.
    fn remove_orphans(&mut self, size: u64) -> Result<(), LogError> {
        let tile_root = self.dir.join("tile");
        if !tile_root.exists() {
            return Ok(());
        }
        let mut files = Vec::new();
        collect_files(&tile_root, &mut files)?;
        let lock_path = self.dir.join(LOCK_FILE);
        for path in files {
            let Ok(rel) = path.strip_prefix(&self.dir) else {
                continue;
            };
            let rel_text = rel.to_string_lossy().replace('\\', "/");
            let keep = if rel_text.ends_with(TEMP_SUFFIX) {
                false
            } else {
                match TileId::parse_path(&rel_text) {
                    Ok(tile) => {
                        let expected = match tile.kind {
                            TileKind::Entries => entry_bundle_at(tile.index, size),
                            TileKind::Hashes { level } => hash_tile_at(level, tile.index, size),
                        };
                        expected == Some(tile)
                    }
                    // Not ours: leave it alone.
                    Err(_) => true,
                }
            };
            if !keep && path != lock_path {
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
                self.recovery.removed_files.push(rel_text);
            }
        }
        let checkpoint_temp = self.dir.join(format!("{CHECKPOINT_FILE}{TEMP_SUFFIX}"));
        if checkpoint_temp.exists() {
            fs::remove_file(&checkpoint_temp).map_err(io_error("remove", &checkpoint_temp))?;
            self.recovery
                .removed_files
                .push(format!("{CHECKPOINT_FILE}{TEMP_SUFFIX}"));
        }
        self.recovery.removed_files.sort();
        Ok(())
    }

    /// Loads the partial tiles and bundle of the tree of `size` and rebuilds the compact range,
    /// checking it against the published root.
    fn load_state(&mut self, size: u64) -> Result<(), LogError> {
        let store = DirStore::new(&self.dir);
        let mut tiles = Vec::new();
        for level in 0..tile_levels(size) {
            let count = size >> (u32::from(level) * 8);
            let hashes = if count.is_multiple_of(TILE_WIDTH) {
                Vec::new()
            } else {
                let tile = hash_tile_at(level, count / TILE_WIDTH, size)
                    .ok_or_else(|| LogError::Corrupt(format!("no tile at level {level}")))?;
                let bytes = store
                    .read_tile(&tile)
                    .map_err(io_error("read", &self.dir.join(tile.path())))?;
                decode_hash_tile(&tile, &bytes)?
            };
            tiles.push(hashes);
        }
        let bundle = if size.is_multiple_of(TILE_WIDTH) {
            Vec::new()
        } else {
            let tile = TileId::entries(size / TILE_WIDTH, (size % TILE_WIDTH) as u16);
            let bytes = store
                .read_tile(&tile)
                .map_err(io_error("read", &self.dir.join(tile.path())))?;
            decode_bundle(&bytes, tile.width)?
        };
        let leaves: Vec<Hash> = bundle.iter().map(|e| leaf_hash(e)).collect();
        if tiles.first().map_or(&[][..], |t| &t[..]) != &leaves[..] {
            return Err(LogError::Corrupt(
                "the partial entry bundle does not match the partial level 0 tile".into(),
            ));
        }
        let reader = TileHashReader::new(size, store);
        let nodes = CompactRange::frontier_coordinates(size)
            .into_iter()
            .map(|(level, index)| reader.read_hash(level, index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(LogError::ProofHashes)?;
        // The newest full tile of each level, the one most recent appends wrote, must hash to
        // its entry in the level above.
        for level in 0..tile_levels(size).saturating_sub(1) {
            let full_tiles = (size >> (u32::from(level) * 8)) / TILE_WIDTH;
            let Some(last) = full_tiles.checked_sub(1) else {
                continue;
            };
            let tile = TileId::hashes(level, last, TILE_WIDTH as u16);
            let bytes = read_tile_file(&self.dir, &tile)?;
            let computed = crate::hash::root_from_leaf_hashes(&decode_hash_tile(&tile, &bytes)?);
            let above = reader
                .read_hash((level + 1) * TILE_HEIGHT, last)
                .map_err(LogError::ProofHashes)?;
            if computed != above {
                return Err(LogError::Corrupt(format!(
                    "tile `{}` does not match its hash in level {}",
                    tile.path(),
                    level + 1
                )));
            }
        }
        let range =
            CompactRange::from_parts(size, nodes).map_err(|e| LogError::Corrupt(e.to_string()))?;
        if range.root() != self.checkpoint.root {
            return Err(LogError::Corrupt(format!(
                "tiles give root {} for size {size}, the checkpoint says {}",
                range.root(),
                self.checkpoint.root
            )));
        }
        self.range = range;
        self.partial_tiles = tiles;
        self.partial_bundle = bundle;
        Ok(())
    }

    /// A hash reader over the published tree; serves proofs for every size up to it.
    pub fn hash_reader(&self) -> TileHashReader<DirStore> {
        TileHashReader::new(self.size(), DirStore::new(&self.dir))
    }

    /// Reads entry `index` from its bundle.
    pub fn read_entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        let size = self.size();
        let tile = entry_bundle_at(index / TILE_WIDTH, size)
            .filter(|_| index < size)
            .ok_or(LogError::IndexBeyondSize { index, size })?;
        let path = self.dir.join(tile.path());
        let bytes = fs::read(&path).map_err(io_error("read", &path))?;
        let mut entries = decode_bundle(&bytes, tile.width)?;
        let position = (index % TILE_WIDTH) as usize;
        if position >= entries.len() {
            return Err(LogError::IndexBeyondSize { index, size });
        }
        Ok(entries.swap_remove(position))
    }

    /// Inclusion proof for entry `index` in the tree of `size` entries (at most the published size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if size > self.size() {
            return Err(LogError::BadProofSizes {
                size1: index,
                size2: size,
                published: self.size(),
            });
        }
        proof::inclusion_proof(&self.hash_reader(), index, size).map_err(|e| match e {
            ProveError::Read(e) => LogError::ProofHashes(e),
            ProveError::IndexBeyondSize { index, size } => {
                LogError::IndexBeyondSize { index, size }
            }
            ProveError::SizesOutOfOrder { size1, size2 } => LogError::BadProofSizes {
                size1,
                size2,
                published: self.size(),
            },
        })
    }

    /// Consistency proof from the tree of `size1` entries to the tree of `size2` entries.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, LogError> {
        let bad = LogError::BadProofSizes {
            size1,
            size2,
            published: self.size(),
        };
        if size2 > self.size() {
            return Err(bad);
        }
        proof::consistency_proof(&self.hash_reader(), size1, size2).map_err(|e| match e {
            ProveError::Read(e) => LogError::ProofHashes(e),
            _ => bad,
        })
    }

    /// Root of the tree of `size` entries (at most the published size).
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size() {
            return Err(LogError::BadProofSizes {
                size1: size,
                size2: size,
                published: self.size(),
            });
        }
        proof::tree_root(&self.hash_reader(), size).map_err(LogError::ProofHashes)
    }
}

fn lock_dir(dir: &Path) -> Result<File, LogError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("open lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(LogError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(io_error("lock", &path)(e)),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Writes `bytes` to the temp file beside `path` and syncs it.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(io_error("create", &temp))?;
    file.write_all(bytes).map_err(io_error("write", &temp))?;
    file.sync_all().map_err(io_error("sync", &temp))?;
    Ok(())
}

/// Renames the temp file beside `path` over `path`.
fn publish_temp(path: &Path) -> Result<(), LogError> {
    let temp = temp_path(path);
    fs::rename(&temp, path).map_err(io_error("rename", &temp))
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync directory", dir))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LogError> {
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_error("inspect", &path))?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn read_tile_file(dir: &Path, tile: &TileId) -> Result<Vec<u8>, LogError> {
    let path = dir.join(tile.path());
    fs::read(&path).map_err(io_error("read", &path))
}
