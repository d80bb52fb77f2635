//! Writing a large output file durably without the page cache: aligned buffers, a hashing stage and a writing
//! stage.
//!
//! On Linux the package is opened with `O_DIRECT`, so its blocks go from these buffers to the disk without being
//! copied into the page cache first (on this class of machine that copy costs more CPU than the encryption). Direct
//! writes need the memory address, length and file offset aligned; every block but the last is, and the last one's
//! unaligned tail goes through an ordinary handle. File systems that refuse `O_DIRECT` get ordinary writes. Either
//! way the file is fsynced once at the end, before anyone is told it exists.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
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

/// Creates `path` (which must not exist) for [`store_stage`]: direct when the file system allows it.
pub fn create_new(path: &Path) -> io::Result<(File, bool)> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(file) => return Ok((file, true)),
            // tmpfs and some network file systems refuse O_DIRECT; anything else is a real error.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    Ok((file, false))
}

/// Writes every block from `blocks` to `file` in order, returns each buffer to `spare`, and fsyncs the file once the
/// stream ends. `direct` says `file` was opened by [`create_new`] with `O_DIRECT`; `path` names the same file, for
/// the unaligned tail.
pub fn store_stage(
    file: File,
    direct: bool,
    path: &Path,
    blocks: Receiver<Block>,
    spare: SyncSender<AlignedBuf>,
) -> io::Result<()> {
    let mut direct = direct;
    let mut offset = 0u64;
    // An ordinary handle on the same file: for everything when it is not direct, else for the unaligned tail (or
    // for the rest, should the file system refuse a direct write after all).
    let mut ordinary = if direct { None } else { Some(file.try_clone()?) };
    while let Ok(block) = blocks.recv() {
        let bytes = &block.buf.as_slice()[..block.len];
        let mut done = 0;
        if direct {
            let aligned = bytes.len() - bytes.len() % ALIGN;
            match file.write_all_at(&bytes[..aligned], offset) {
                Ok(()) => done = aligned,
                Err(e) if refused_direct(&e) => direct = false,
                Err(e) => return Err(e),
            }
        }
        if done < bytes.len() {
            let handle = match &mut ordinary {
                Some(handle) => handle,
                None => ordinary.insert(std::fs::OpenOptions::new().write(true).open(path)?),
            };
            handle.write_all_at(&bytes[done..], offset + done as u64)?;
        }
        offset += bytes.len() as u64;
        // The encrypting side may have stopped; then the buffer is simply dropped.
        let _ = spare.send(block.buf);
    }
    if let Some(mut handle) = ordinary {
        handle.flush()?;
    }
    // One fsync covers the whole file, whichever handle wrote each part.
    file.sync_all()
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
