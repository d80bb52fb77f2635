//! C2SP tlog-tiles layout: tile coordinates and paths, hash tiles, entry bundles, and reading
//! proof hashes from tiles.
//!
//! A hash tile at level `L` holds up to 256 consecutive hashes of tree level `8 * L`; tile `N`
//! starts at node index `256 * N`. The rightmost tile of each level is partial while the tree
//! grows, and its path carries its width: `tile/<L>/<N>.p/<W>`. Entry bundles hold the entries
//! themselves, 256 per full bundle, each prefixed with its big-endian `u16` length.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use crate::hash::{HASH_SIZE, Hash, root_from_leaf_hashes};
use crate::proof::HashReader;

/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Hashes of tree level `8 * level`.
    Hashes {
        /// Tile level.
        level: u8,
    },
    /// Entries (the data tiles, `tile/entries/...`).
    Entries,
}

/// A tile: its kind, its index within the level and its width (1 to 256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hash tile level or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries, 1 to 256; less than 256 for a partial tile.
    pub width: u16,
}

/// A malformed tile path, tile or bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The path does not follow the tlog-tiles layout.
    #[error("tile path `{0}` is not a canonical tlog-tiles path")]
    BadPath(String),
    /// A hash tile does not have `width * 32` bytes.
    #[error("tile `{path}` has {actual} bytes, expected {expected}")]
    BadTileLength {
        /// Tile path.
        path: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// An entry is longer than an entry bundle allows.
    #[error("entry {index} has {size_bytes} bytes; entries are limited to {MAX_ENTRY_SIZE} bytes")]
    EntryTooLarge {
        /// Position of the entry in the batch.
        index: usize,
        /// Its size.
        size_bytes: usize,
    },
    /// An entry bundle is truncated or has trailing bytes or the wrong number of entries.
    #[error("entry bundle is malformed: {0}")]
    BadBundle(&'static str),
}

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Hashes { level },
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// Whether the tile holds fewer than 256 items.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// The path of this tile below the log prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if self.is_partial() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a canonical tile path; the inverse of [`TileId::path`].
    pub fn parse_path(path: &str) -> Result<Self, TileError> {
        let bad = || TileError::BadPath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let level: u8 = parse_canonical(level).ok_or_else(bad)?;
            if level >= 64 / TILE_HEIGHT {
                return Err(bad());
            }
            TileKind::Hashes { level }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width)) => {
                let width: u16 = parse_canonical(width).ok_or_else(bad)?;
                if width == 0 || u64::from(width) >= TILE_WIDTH {
                    return Err(bad());
                }
                (index_part, width)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let mut index: u64 = 0;
        let segments: Vec<&str> = index_part.split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let digits = if last {
                *segment
            } else {
                segment.strip_prefix('x').ok_or_else(bad)?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let value: u64 = digits.parse().map_err(|_| bad())?;
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(value))
                .ok_or_else(bad)?;
        }
        let tile = Self { kind, index, width };
        // Reject non-canonical spellings such as a leading `x000/` segment.
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn parse_canonical<T: std::str::FromStr + ToString>(text: &str) -> Option<T> {
    let value: T = text.parse().ok()?;
    (value.to_string() == text).then_some(value)
}

/// Encodes a tile index as 3-digit path segments, all but the last prefixed with `x`.
fn encode_index(mut index: u64) -> String {
    let mut groups = vec![index % 1000];
    index /= 1000;
    while index > 0 {
        groups.push(index % 1000);
        index /= 1000;
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Number of complete nodes at tree level `8 * tile_level` in a tree of `size` leaves.
fn nodes_at(tile_level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(tile_level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// Width of tile `index` of a level holding `count` items, if the tile exists.
fn width_of(index: u64, count: u64) -> Option<u16> {
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= count {
        return None;
    }
    u16::try_from((count - start).min(TILE_WIDTH)).ok()
}

/// The hash tile at `(level, index)` as it is in a tree of `size` leaves, if it exists.
pub fn hash_tile_at(level: u8, index: u64, size: u64) -> Option<TileId> {
    width_of(index, nodes_at(level, size)).map(|w| TileId::hashes(level, index, w))
}

/// The entry bundle `index` as it is in a tree of `size` leaves, if it exists.
pub fn entry_bundle_at(index: u64, size: u64) -> Option<TileId> {
    width_of(index, size).map(|w| TileId::entries(index, w))
}

/// Number of hash tile levels in a tree of `size` leaves.
pub fn tile_levels(size: u64) -> u8 {
    (0..64 / TILE_HEIGHT)
        .take_while(|&l| nodes_at(l, size) > 0)
        .count() as u8
}

/// Every hash tile and entry bundle of a tree of `size` leaves.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    changed_tiles(0, size)
}

/// The tiles and bundles of the tree of `new_size` leaves that differ from those of the tree of
/// `old_size` leaves: new tiles and grown partial tiles. Empty if `new_size <= old_size`.
pub fn changed_tiles(old_size: u64, new_size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    if new_size <= old_size {
        return out;
    }
    let mut push_level = |make: &dyn Fn(u64, u16) -> TileId, old_count: u64, new_count: u64| {
        let first = old_count / TILE_WIDTH;
        let end = new_count.div_ceil(TILE_WIDTH);
        for index in first..end {
            let new_width = width_of(index, new_count);
            if new_width != width_of(index, old_count)
                && let Some(w) = new_width
            {
                out.push(make(index, w));
            }
        }
    };
    push_level(&TileId::entries, old_size, new_size);
    for level in 0..tile_levels(new_size) {
        push_level(
            &|index, width| TileId::hashes(level, index, width),
            nodes_at(level, old_size),
            nodes_at(level, new_size),
        );
    }
    out
}

/// Serializes hashes as a hash tile.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// Parses a hash tile of the given tile's width.
pub fn decode_hash_tile(tile: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    let expected = usize::from(tile.width) * HASH_SIZE;
    if bytes.len() != expected {
        return Err(TileError::BadTileLength {
            path: tile.path(),
            expected,
            actual: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            Hash(h)
        })
        .collect())
}

/// Checks that every entry fits in a bundle.
pub fn check_entries<E: AsRef<[u8]>>(entries: &[E]) -> Result<(), TileError> {
    for (index, entry) in entries.iter().enumerate() {
        let size_bytes = entry.as_ref().len();
        if size_bytes > MAX_ENTRY_SIZE {
            return Err(TileError::EntryTooLarge { index, size_bytes });
        }
    }
    Ok(())
}

/// Serializes entries as an entry bundle: each is its big-endian `u16` length then its bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    check_entries(entries)?;
    let total: usize = entries.iter().map(|e| 2 + e.as_ref().len()).sum();
    let mut out = Vec::with_capacity(total);
    for (index, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            size_bytes: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Parses an entry bundle that must hold exactly `width` entries.
pub fn decode_bundle(bytes: &[u8], width: u16) -> Result<Vec<Vec<u8>>, TileError> {
    let mut entries = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == usize::from(width) {
            return Err(TileError::BadBundle("more entries than the bundle width"));
        }
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(TileError::BadBundle("truncated length prefix"));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::BadBundle("truncated entry"));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry.to_vec());
        rest = tail;
    }
    if entries.len() != usize::from(width) {
        return Err(TileError::BadBundle("fewer entries than the bundle width"));
    }
    Ok(entries)
}

/// Reads tiles by coordinates.
pub trait TileStore {
    /// Error returned by the store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the bytes of the tile (exactly this width).
    fn read_tile(&self, tile: &TileId) -> Result<Vec<u8>, Self::Error>;
}

/// A hash could not be read from tiles.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError<E: std::error::Error + 'static> {
    /// The requested node is not complete in the tree the reader serves.
    #[error("node at level {level} index {index} is not complete in a tree of size {size}")]
    NotInTree {
        /// Node level.
        level: u8,
        /// Node index.
        index: u64,
        /// Tree size of the reader.
        size: u64,
    },
    /// The store failed.
    #[error("cannot read tile `{path}`")]
    Store {
        /// Tile path.
        path: String,
        /// Store error.
        #[source]
        source: E,
    },
    /// The tile has the wrong length.
    #[error(transparent)]
    Malformed(TileError),
}

/// Most tiles a [`TileHashReader`] keeps in memory before it starts over.
const READER_CACHE_TILES: usize = 64;

/// A [`HashReader`] over the hash tiles of a tree of a given size.
///
/// Nodes at tree levels that are not multiples of 8 are computed from the tile below. Because
/// complete nodes never change, a reader for the current size serves proofs for every older size
/// too. Tiles read are cached (up to 64).
pub struct TileHashReader<S> {
    size: u64,
    store: S,
    cache: RefCell<BTreeMap<TileId, Vec<Hash>>>,
}

impl<S: TileStore> TileHashReader<S> {
    /// A reader for the tree of `size` leaves stored in `store`.
    pub fn new(size: u64, store: S) -> Self {
        Self {
            size,
            store,
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// The tree size this reader serves.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn tile_hashes(&self, tile: TileId) -> Result<Vec<Hash>, TileReadError<S::Error>> {
        if let Some(hashes) = self.cache.borrow().get(&tile) {
            return Ok(hashes.clone());
        }
        let bytes = self
            .store
            .read_tile(&tile)
            .map_err(|source| TileReadError::Store {
                path: tile.path(),
                source,
            })?;
        let hashes = decode_hash_tile(&tile, &bytes).map_err(TileReadError::Malformed)?;
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= READER_CACHE_TILES {
            cache.clear();
        }
        cache.insert(tile, hashes.clone());
        Ok(hashes)
    }
}

impl<S: TileStore> HashReader for TileHashReader<S> {
    type Error = TileReadError<S::Error>;

    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let not_in_tree = TileReadError::NotInTree {
            level,
            index,
            size: self.size,
        };
        let complete = level < 64
            && index
                .checked_add(1)
                .and_then(|end| end.checked_shl(u32::from(level)))
                .is_some_and(|end| end >> level == index + 1 && end <= self.size);
        if !complete {
            return Err(not_in_tree);
        }
        let tile_level = level / TILE_HEIGHT;
        let below = level % TILE_HEIGHT;
        // The node is the root of 2^below consecutive hashes of the tile level.
        let first = index << below;
        let count = 1u64 << below;
        let tile_index = first / TILE_WIDTH;
        let offset = (first % TILE_WIDTH) as usize;
        let Some(tile) = hash_tile_at(tile_level, tile_index, self.size) else {
            return Err(not_in_tree);
        };
        let hashes = self.tile_hashes(tile)?;
        let span = hashes
            .get(offset..offset + count as usize)
            .ok_or(not_in_tree)?;
        Ok(root_from_leaf_hashes(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{CompactRange, leaf_hash};
    use crate::proof::{MemoryHashes, inclusion_proof, tree_root};

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(TileId::hashes(0, 0, 256).path(), "tile/0/000");
        assert_eq!(
            TileId::hashes(0, 1_234_067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(TileId::hashes(1, 1234, 5).path(), "tile/1/x001/234.p/5");
        assert_eq!(TileId::entries(0, 255).path(), "tile/entries/000.p/255");
        for tile in [
            TileId::hashes(0, 0, 256),
            TileId::hashes(3, 1_234_067, 17),
            TileId::entries(999, 1),
            TileId::entries(1000, 256),
            TileId::hashes(7, u64::MAX, 256),
        ] {
            assert_eq!(TileId::parse_path(&tile.path()), Ok(tile));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for path in [
            "tile/0/x000/001",
            "tile/0/01",
            "tile/0/0001",
            "tile/00/001",
            "tile/8/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/05",
            "tile/0/001/",
            "tile/0/001x",
            "tile/0/x001",
            "tile/data/001",
            "tiles/0/001",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(TileId::parse_path(path).is_err(), "{path}");
        }
    }

    #[test]
    fn tiles_for_sizes() {
        assert!(tiles_for_size(0).is_empty());
        assert_eq!(
            tiles_for_size(1),
            vec![TileId::entries(0, 1), TileId::hashes(0, 0, 1)]
        );
        assert_eq!(
            tiles_for_size(256),
            vec![
                TileId::entries(0, 256),
                TileId::hashes(0, 0, 256),
                TileId::hashes(1, 0, 1)
            ]
        );
        let t = tiles_for_size(70_000);
        assert!(t.contains(&TileId::hashes(0, 273, 112)));
        assert!(t.contains(&TileId::hashes(1, 1, 17)));
        assert!(t.contains(&TileId::hashes(2, 0, 1)));
        assert_eq!(tile_levels(70_000), 3);
        assert_eq!(
            changed_tiles(300, 520),
            vec![
                TileId::entries(1, 256),
                TileId::entries(2, 8),
                TileId::hashes(0, 1, 256),
                TileId::hashes(0, 2, 8),
                TileId::hashes(1, 0, 2),
            ]
        );
        assert!(changed_tiles(5, 5).is_empty());
    }

    #[test]
    fn bundles_round_trip_and_refuse_damage() {
        let entries = vec![b"".to_vec(), b"a".to_vec(), vec![7u8; 300]];
        let bytes = encode_bundle(&entries).unwrap();
        assert_eq!(&bytes[..3], &[0, 0, 0]);
        assert_eq!(decode_bundle(&bytes, 3).unwrap(), entries);
        assert!(decode_bundle(&bytes, 2).is_err());
        assert!(decode_bundle(&bytes, 4).is_err());
        assert!(decode_bundle(&bytes[..bytes.len() - 1], 3).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_bundle(&trailing, 3).is_err());
        assert_eq!(
            encode_bundle(&[vec![0u8; MAX_ENTRY_SIZE + 1]]),
            Err(TileError::EntryTooLarge {
                index: 0,
                size_bytes: MAX_ENTRY_SIZE + 1
            })
        );
        assert!(encode_bundle(&[vec![0u8; MAX_ENTRY_SIZE]]).is_ok());
    }

    /// Tiles of a tree built in memory, keyed by tile.
    struct MapStore(BTreeMap<TileId, Vec<u8>>);

    impl TileStore for MapStore {
        type Error = std::io::Error;

        fn read_tile(&self, tile: &TileId) -> Result<Vec<u8>, std::io::Error> {
            self.0
                .get(tile)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    fn tiles_of(size: u64) -> (MemoryHashes, MapStore) {
        let mut mem = MemoryHashes::default();
        let mut levels: BTreeMap<u8, Vec<Hash>> = BTreeMap::new();
        let mut range = CompactRange::new();
        for i in 0..size {
            let leaf = leaf_hash(&i.to_le_bytes());
            mem.push(leaf);
            range.push(leaf, |level, _, h| {
                if level % TILE_HEIGHT == 0 {
                    levels.entry(level / TILE_HEIGHT).or_default().push(*h);
                }
            });
        }
        let mut map = BTreeMap::new();
        for tile in tiles_for_size(size) {
            if let TileKind::Hashes { level } = tile.kind {
                let start = (tile.index * TILE_WIDTH) as usize;
                let hashes = &levels[&level][start..start + usize::from(tile.width)];
                map.insert(tile, encode_hash_tile(hashes));
            }
        }
        (mem, MapStore(map))
    }

    #[test]
    fn tile_reader_matches_memory_reader() {
        for size in [1u64, 255, 256, 257, 1000, 65_536, 70_001] {
            let (mem, store) = tiles_of(size);
            let reader = TileHashReader::new(size, store);
            assert_eq!(
                tree_root(&reader, size).unwrap(),
                tree_root(&mem, size).unwrap()
            );
            for index in [0, size / 3, size - 1] {
                assert_eq!(
                    inclusion_proof(&reader, index, size).unwrap(),
                    inclusion_proof(&mem, index, size).unwrap()
                );
            }
            assert!(matches!(
                reader.read_hash(0, size),
                Err(TileReadError::NotInTree { .. })
            ));
        }
    }

    #[test]
    fn tile_reader_reports_short_tiles() {
        let (_, mut store) = tiles_of(10);
        let tile = TileId::hashes(0, 0, 10);
        store.0.insert(tile, vec![0u8; 32 * 9]);
        let reader = TileHashReader::new(10, store);
        assert!(matches!(
            reader.read_hash(0, 3),
            Err(TileReadError::Malformed(TileError::BadTileLength { .. }))
        ));
    }
}
