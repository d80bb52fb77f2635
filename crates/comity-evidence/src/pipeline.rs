//! A bounded byte pipe between two threads, so that hashing and tar work on one core while age encryption or
//! decryption runs on another. At most `depth + 2` chunks exist at a time: memory stays constant whatever the size.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Chunk size used by the sealing and opening pipelines.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between the two threads.
pub const DEPTH: usize = 4;

/// The writing end: fills chunks and sends them when full.
pub struct PipeWriter {
    full: SyncSender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
    // INVARIANT: `current.len() == chunk_bytes`; `filled` bytes of it are data.
    current: Vec<u8>,
    filled: usize,
    chunk_bytes: usize,
}

/// Why [`PipeWriter::copy_from`] stopped.
#[derive(Debug)]
pub enum CopyError {
    /// The source failed.
    Read(io::Error),
    /// The reading end is gone.
    Closed,
}

/// The reading end: hands out the bytes of each chunk, then returns the chunk for reuse.
pub struct PipeReader {
    full: Receiver<Vec<u8>>,
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
}

/// A new pipe.
pub fn pipe(chunk_bytes: usize, depth: usize) -> (PipeWriter, PipeReader) {
    let (full_tx, full_rx) = sync_channel(depth);
    let (spare_tx, spare_rx) = sync_channel(depth + 2);
    (
        PipeWriter {
            full: full_tx,
            spare: spare_rx,
            current: vec![0; chunk_bytes],
            filled: 0,
            chunk_bytes,
        },
        PipeReader {
            full: full_rx,
            spare: spare_tx,
            current: Vec::new(),
            position: 0,
        },
    )
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the other end of the pipeline stopped",
    )
}

impl PipeWriter {
    fn send_current(&mut self) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let mut next = self.spare.try_recv().unwrap_or_default();
        // Only the part a short chunk lacked is zeroed again.
        next.resize(self.chunk_bytes, 0);
        let mut full = std::mem::replace(&mut self.current, next);
        full.truncate(self.filled);
        self.filled = 0;
        self.full.send(full).map_err(|_| closed())
    }

    /// Reads `source` to its end straight into the pipe's chunks (no intermediate buffer); returns the byte count.
    pub fn copy_from(&mut self, source: &mut dyn Read) -> Result<u64, CopyError> {
        let mut total = 0u64;
        loop {
            if self.filled == self.chunk_bytes {
                self.send_current().map_err(|_| CopyError::Closed)?;
            }
            let n = match source.read(&mut self.current[self.filled..]) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            self.filled += n;
            total += n as u64;
        }
    }

    /// Sends what is buffered and closes the pipe; the reader then sees the end of the stream.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_current()
    }
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.filled == self.chunk_bytes {
            self.send_current()?;
        }
        let n = (self.chunk_bytes - self.filled).min(buf.len());
        self.current[self.filled..self.filled + n].copy_from_slice(&buf[..n]);
        self.filled += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PipeReader {
    /// Hands each chunk whole to `consume` until the writer finishes; stops at the first error.
    pub fn for_each_chunk(
        &mut self,
        mut consume: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.position < self.current.len() {
            consume(&self.current[self.position..])?;
            self.position = self.current.len();
        }
        while let Ok(chunk) = self.full.recv() {
            consume(&chunk)?;
            let _ = self.spare.try_send(chunk);
        }
        Ok(())
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.position == self.current.len() {
            match self.full.recv() {
                Ok(chunk) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    self.position = 0;
                    // The writer may have gone; then the chunk is simply dropped.
                    let _ = self.spare.try_send(used);
                }
                // The writer finished (or stopped); its thread reports why when joined.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_across_threads() {
        let (mut writer, mut reader) = pipe(7, 2);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let producer = std::thread::spawn(move || {
            for piece in sent.chunks(13) {
                writer.write_all(piece).unwrap();
            }
            writer.finish().unwrap();
        });
        let mut received = Vec::new();
        reader.read_to_end(&mut received).unwrap();
        producer.join().unwrap();
        assert_eq!(received, data);
    }

    #[test]
    fn copy_from_fills_chunks_directly() {
        let (mut writer, mut reader) = pipe(5, 2);
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8).collect();
        let sent = data.clone();
        let producer = std::thread::spawn(move || {
            let copied = writer.copy_from(&mut sent.as_slice()).unwrap();
            writer.write_all(b"tail").unwrap();
            writer.finish().unwrap();
            copied
        });
        let mut received = Vec::new();
        reader.read_to_end(&mut received).unwrap();
        assert_eq!(producer.join().unwrap(), 1000);
        assert_eq!(&received[..1000], &data[..]);
        assert_eq!(&received[1000..], b"tail");
    }

    #[test]
    fn chunks_can_be_consumed_whole() {
        let (mut writer, mut reader) = pipe(4, 2);
        let producer = std::thread::spawn(move || {
            writer.write_all(b"0123456789").unwrap();
            writer.finish().unwrap();
        });
        let mut first = [0u8; 3];
        reader.read_exact(&mut first).unwrap();
        let mut rest = Vec::new();
        reader
            .for_each_chunk(|c| {
                rest.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
        producer.join().unwrap();
        assert_eq!(&first, b"012");
        assert_eq!(rest, b"3456789");
    }

    #[test]
    fn writer_fails_once_the_reader_is_gone() {
        let (mut writer, reader) = pipe(4, 1);
        drop(reader);
        let err = writer.write_all(&[0; 64]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
