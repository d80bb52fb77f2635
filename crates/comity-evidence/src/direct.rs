//! Writing a large output file durably without the page cache: aligned buffers, a hashing stage and a writing
//! stage.
//!
//! On Linux the package is opened with `O_DIRECT`, so its blocks go from these buffers to the disk without being
//! copied into the page cache first (on this class of machine that copy costs more CPU than the encryption). Direct
//! writes need the memory address, length and file offset aligned; every block but the last is, and the last one's
//! unaligned tail goes through an ordinary handle. File systems that refuse `O_DIRECT` get ordinary writes. Either
//! way the file is fsynced once at the end, before anyone is told it exists.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

use sha2::{Digest, Sha256};

use crate::digest::Sha256Digest;

/// Alignment of direct writes (memory, length and offset); covers 512-byte and 4 KiB logical blocks.
pub const ALIGN: usize = 4096;

/// A heap buffer whose usable part starts on an [`ALIGN`] boundary.
pub struct AlignedBuf {
    storage: Vec<u8>,
    offset: usize,
    capacity: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `capacity` usable bytes.
    pub fn new(capacity: usize) -> Self {
        let storage = vec![0u8; capacity + ALIGN];
        let offset = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self {
            storage,
            offset,
            capacity,
        }
    }

    /// Usable bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.offset..self.offset + self.capacity]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.offset..self.offset + self.capacity]
    }
}

/// The first `len` bytes of `buf` are the next part of the output.
pub struct Block {
    pub buf: AlignedBuf,
    pub len: usize,
}

/// Hashes and counts every block on its way from `blocks` to `next`.
pub fn hash_stage(blocks: Receiver<Block>, next: SyncSender<Block>) -> (Sha256Digest, u64) {
    let mut hasher = Sha256::new();
    let mut count = 0u64;
    while let Ok(block) = blocks.recv() {
        hasher.update(&block.buf.as_slice()[..block.len]);
        count += block.len as u64;
        if next.send(block).is_err() {
            break;
        }
    }
    (hasher.finalize().into(), count)
}

/// Creates `path` (which must not exist, mode `mode` on Unix): direct when the file system allows it.
pub fn create_new(path: &Path, mode: u32) -> io::Result<PositionalWriter> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(mode);
    #[cfg(target_os = "linux")]
    {
        match options.clone().custom_flags(libc::O_DIRECT).open(path) {
            Ok(file) => {
                return Ok(PositionalWriter {
                    file,
                    direct: true,
                    opened_direct: true,
                    path: path.into(),
                    ordinary: None,
                    offset: 0,
                });
            }
            // tmpfs and some network file systems refuse O_DIRECT; anything else is a real error.
            Err(e) if !refused_direct(&e) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(PositionalWriter {
        file: options.open(path)?,
        direct: false,
        opened_direct: false,
        path: path.into(),
        ordinary: None,
        offset: 0,
    })
}

/// Appends to a file made by [`create_new`]: aligned parts directly, anything else through an ordinary handle.
pub struct PositionalWriter {
    file: File,
    /// Direct writes are still being made.
    direct: bool,
    /// `file` was opened with `O_DIRECT`, so unaligned writes need the ordinary handle.
    opened_direct: bool,
    path: PathBuf,
    /// An ordinary handle on the same file, opened for the first unaligned write (or for everything, should the
    /// file system refuse a direct write after all).
    ordinary: Option<File>,
    offset: u64,
}

impl PositionalWriter {
    /// Appends `bytes`. Only their aligned prefix can go directly, and only while everything before was aligned.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut done = 0;
        if self.direct && self.offset.is_multiple_of(ALIGN as u64) {
            let aligned = bytes.len() - bytes.len() % ALIGN;
            match self.file.write_all_at(&bytes[..aligned], self.offset) {
                Ok(()) => done = aligned,
                Err(e) if refused_direct(&e) => self.direct = false,
                Err(e) => return Err(e),
            }
        }
        if done < bytes.len() {
            let handle = match &mut self.ordinary {
                Some(handle) => handle,
                None if !self.opened_direct => &mut self.file,
                None => self
                    .ordinary
                    .insert(std::fs::OpenOptions::new().write(true).open(&self.path)?),
            };
            handle.write_all_at(&bytes[done..], self.offset + done as u64)?;
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Makes everything appended durable: one fsync covers the whole file, whichever handle wrote each part.
    pub fn sync(self) -> io::Result<()> {
        drop(self.ordinary);
        self.file.sync_all()
    }
}

/// Writes every block from `blocks` in order, returns each buffer to `spare`, and makes the file durable once the
/// stream ends.
pub fn store_stage(
    mut file: PositionalWriter,
    blocks: Receiver<Block>,
    spare: SyncSender<AlignedBuf>,
) -> io::Result<()> {
    while let Ok(block) = blocks.recv() {
        file.append(&block.buf.as_slice()[..block.len])?;
        // The encrypting side may have stopped; then the buffer is simply dropped.
        let _ = spare.send(block.buf);
    }
    file.sync()
}

/// Buffers that a [`StagedWriter`] keeps in circulation once it writes in the background.
const STAGED_BUFFERS: usize = 3;

/// The thread that writes a large file's full buffers while more are being filled.
struct Background {
    blocks: SyncSender<Block>,
    spare: Receiver<AlignedBuf>,
    /// Buffers made so far (at most [`STAGED_BUFFERS`]).
    made: usize,
    writing: std::thread::JoinHandle<io::Result<PositionalWriter>>,
}

/// A buffered writer for [`PositionalWriter`]: collects writes into aligned buffers, so that all but the tail of a
/// file goes directly. A file larger than one buffer gets a thread that writes full buffers while the caller fills
/// the next one, so that the caller does not wait for the disk; small files never start one.
pub struct StagedWriter {
    /// `None` once the background thread owns the file.
    file: Option<PositionalWriter>,
    background: Option<Background>,
    buf: AlignedBuf,
    filled: usize,
}

fn writer_stopped() -> io::Error {
    io::Error::other("the writing thread stopped")
}

impl StagedWriter {
    pub fn new(file: PositionalWriter, capacity: usize) -> Self {
        Self {
            file: Some(file),
            background: None,
            buf: AlignedBuf::new(capacity),
            filled: 0,
        }
    }

    /// Hands the full buffer to the background thread (starting it if needed) and takes an empty one.
    fn hand_off(&mut self) -> io::Result<()> {
        let capacity = self.buf.capacity();
        let background = match &mut self.background {
            Some(background) => background,
            None => {
                let file = self.file.take().ok_or_else(writer_stopped)?;
                let (block_tx, block_rx) = std::sync::mpsc::sync_channel::<Block>(STAGED_BUFFERS);
                let (spare_tx, spare_rx) = std::sync::mpsc::sync_channel(STAGED_BUFFERS);
                let writing = std::thread::spawn(move || -> io::Result<PositionalWriter> {
                    let mut file = file;
                    while let Ok(block) = block_rx.recv() {
                        file.append(&block.buf.as_slice()[..block.len])?;
                        let _ = spare_tx.send(block.buf);
                    }
                    Ok(file)
                });
                self.background.insert(Background {
                    blocks: block_tx,
                    spare: spare_rx,
                    made: 1,
                    writing,
                })
            }
        };
        let next = match background.spare.try_recv() {
            Ok(buf) => buf,
            Err(_) if background.made < STAGED_BUFFERS => {
                background.made += 1;
                AlignedBuf::new(capacity)
            }
            Err(_) => background.spare.recv().map_err(|_| writer_stopped())?,
        };
        let full = std::mem::replace(&mut self.buf, next);
        let len = std::mem::take(&mut self.filled);
        if background.blocks.send(Block { buf: full, len }).is_err() {
            // The thread stopped on an error: report it.
            return Err(self.join().err().unwrap_or_else(writer_stopped));
        }
        Ok(())
    }

    /// Waits for the background thread, if any, and takes the file back.
    fn join(&mut self) -> io::Result<PositionalWriter> {
        match self.background.take() {
            Some(background) => {
                drop(background.blocks);
                background
                    .writing
                    .join()
                    .unwrap_or_else(|_| Err(writer_stopped()))
            }
            None => self.file.take().ok_or_else(writer_stopped),
        }
    }

    /// Writes what is staged, waits for every write, and makes the file durable.
    pub fn finish(mut self) -> io::Result<()> {
        let mut file = self.join()?;
        file.append(&self.buf.as_slice()[..self.filled])?;
        file.sync()
    }
}

impl Drop for StagedWriter {
    /// A file abandoned half-way (the caller failed) is not written to after this returns.
    fn drop(&mut self) {
        if let Some(background) = self.background.take() {
            drop(background.blocks);
            let _ = background.writing.join();
        }
    }
}

impl Write for StagedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.filled == self.buf.capacity() {
            self.hand_off()?;
        }
        let n = bytes.len().min(self.buf.capacity() - self.filled);
        self.buf.as_mut_slice()[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
        self.filled += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads a file from start to end, directly where the file system allows it, so that reading a large package
/// neither fills the page cache nor pays for it.
pub struct DirectReader {
    file: File,
    /// `file` was opened with `O_DIRECT` and reads through it still work.
    direct: bool,
    path: PathBuf,
    buf: AlignedBuf,
    start: usize,
    end: usize,
    offset: u64,
}

impl DirectReader {
    pub fn open(path: &Path, capacity: usize) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT)
                .open(path)
            {
                Ok(file) => return Ok(Self::new(file, true, path, capacity)),
                Err(e) if !refused_direct(&e) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(Self::new(File::open(path)?, false, path, capacity))
    }

    fn new(file: File, direct: bool, path: &Path, capacity: usize) -> Self {
        Self {
            file,
            direct,
            path: path.into(),
            buf: AlignedBuf::new(capacity.next_multiple_of(ALIGN)),
            start: 0,
            end: 0,
            offset: 0,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.file.read_at(self.buf.as_mut_slice(), self.offset) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.direct && refused_direct(&e) => {
                    self.file = File::open(&self.path)?;
                    self.direct = false;
                }
                Err(e) => return Err(e),
            }
        };
        // A short direct read leaves the next offset unaligned; the ordinary handle takes over from there.
        if self.direct && !n.is_multiple_of(ALIGN) && n > 0 {
            self.file = File::open(&self.path)?;
            self.direct = false;
        }
        self.start = 0;
        self.end = n;
        self.offset += n as u64;
        Ok(())
    }
}

impl Read for DirectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            self.refill()?;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf.as_slice()[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

fn refused_direct(error: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        error.raw_os_error() == Some(libc::EINVAL)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = error;
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 253) as u8).collect()
    }

    #[test]
    fn aligned_buffers_are_aligned() {
        for capacity in [ALIGN, 3 * ALIGN, 1 << 20] {
            let mut buf = AlignedBuf::new(capacity);
            assert_eq!(buf.as_slice().as_ptr() as usize % ALIGN, 0);
            assert_eq!(buf.as_mut_slice().len(), capacity);
        }
    }

    #[test]
    fn appends_of_any_length_make_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(5 * ALIGN + 77);
        // Direct writes need aligned memory; a plain vector (usually unaligned) exercises the fallback.
        let mut aligned = AlignedBuf::new(bytes.len().next_multiple_of(ALIGN));
        aligned.as_mut_slice()[..bytes.len()].copy_from_slice(&bytes);
        for (source, expected) in [&aligned.as_slice()[..bytes.len()], &bytes[..]]
            .into_iter()
            .enumerate()
        {
            // Aligned pieces, an unaligned one in the middle (the rest then goes through the ordinary handle), and
            // an unaligned tail.
            for (n, pieces) in [
                vec![2 * ALIGN, 3 * ALIGN, 77],
                vec![ALIGN, 100, 4 * ALIGN - 100, 77],
                vec![5 * ALIGN + 77],
                vec![1, 2, 3, 5 * ALIGN + 71],
            ]
            .into_iter()
            .enumerate()
            {
                let path = dir.path().join(format!("out{n}-{source}"));
                let mut writer = create_new(&path, 0o600).unwrap();
                let mut at = 0;
                for piece in pieces {
                    writer.append(&expected[at..at + piece]).unwrap();
                    at += piece;
                }
                assert_eq!(at, expected.len());
                writer.sync().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), expected);
            }
        }
        // The name must be new.
        assert!(create_new(&dir.path().join("out0-0"), 0o600).is_err());
    }

    #[test]
    fn staged_writes_make_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        // Up to one buffer stays in this thread; more start the writing thread and cycle its buffers.
        for len in [0, 1, ALIGN, 3 * ALIGN + 5, 10 * ALIGN, 37 * ALIGN + 3] {
            let expected = data(len);
            let path = dir.path().join(format!("staged{len}"));
            let mut writer = StagedWriter::new(create_new(&path, 0o600).unwrap(), 2 * ALIGN);
            for piece in expected.chunks(1000) {
                writer.write_all(piece).unwrap();
            }
            writer.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expected);
        }
    }

    #[test]
    fn the_reader_returns_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1, ALIGN, 3 * ALIGN + 5, 10 * ALIGN + 1] {
            let expected = data(len);
            let path = dir.path().join(format!("in{len}"));
            std::fs::write(&path, &expected).unwrap();
            let mut reader = DirectReader::open(&path, 2 * ALIGN).unwrap();
            let mut got = Vec::new();
            let mut piece = vec![0u8; 3000];
            loop {
                let n = reader.read(&mut piece).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&piece[..n]);
            }
            assert_eq!(got, expected);
        }
        assert!(DirectReader::open(&dir.path().join("missing"), ALIGN).is_err());
    }
}
