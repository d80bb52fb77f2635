//! age v1 encryption (age-encryption.org/v1) for X25519 recipients, with `ring`'s assembly ChaCha20-Poly1305.
//!
//! The `age` crate wraps the file key for each recipient (X25519 key agreement and the stanza); this module writes
//! the header around those stanzas (HMAC-SHA256 under HKDF(file key, "header")), the 16-byte payload nonce, and the
//! STREAM payload: 64 KiB plaintext chunks sealed under HKDF-SHA256(ikm = file key, salt = nonce, info = "payload")
//! with 12-byte nonces (11-byte big-endian counter, then 1 on the last chunk and 0 before). Any age implementation
//! decrypts the result. Chunks are sealed in place, so the stage that encrypts copies each plaintext chunk exactly
//! once, into the buffer that goes to disk.

use std::io;
use std::sync::mpsc::{Receiver, SyncSender};

use age::Recipient as _;
use age_core::format::FileKey;
use age_core::secrecy::ExposeSecret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac};

use crate::direct::{ALIGN, AlignedBuf, Block};
use crate::pipeline::PipeReader;

/// Plaintext bytes per STREAM chunk, fixed by the format.
pub const SEGMENT_BYTES: usize = 64 * 1024;
/// Authentication tag after each chunk.
pub const TAG_BYTES: usize = 16;
const VERSION_LINE: &[u8] = b"age-encryption.org/v1\n";
const PAYLOAD_NONCE_BYTES: usize = 16;
/// Base64 columns of a stanza body line.
const BODY_COLUMNS: usize = 64;

/// An HKDF output length, as `ring` wants it.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

pub(crate) fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8]) -> io::Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(&[info], Len(out.len()))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| io::Error::other("key derivation failed"))?;
    Ok(out)
}

fn random(bytes: &mut [u8]) -> io::Result<()> {
    SystemRandom::new()
        .fill(bytes)
        .map_err(|_| io::Error::other("the system random number generator failed"))
}

/// The start of an age file (header and payload nonce) and the key that seals its payload.
pub struct AgeStart {
    /// Header, MAC line and payload nonce: the first bytes of the file.
    pub prefix: Vec<u8>,
    /// Seals the payload chunks that follow.
    pub sealer: ChunkSealer,
}

/// Starts an age file for `recipients` (at least one) under a fresh random file key.
pub fn start(recipients: &[age::x25519::Recipient]) -> io::Result<AgeStart> {
    if recipients.is_empty() {
        return Err(io::Error::other("an age file needs at least one recipient"));
    }
    let mut key_bytes = Box::new([0u8; 16]);
    random(key_bytes.as_mut_slice())?;
    let file_key = FileKey::new(key_bytes);

    let mut header = VERSION_LINE.to_vec();
    for recipient in recipients {
        let (stanzas, _labels) = recipient
            .wrap_file_key(&file_key)
            .map_err(|e| io::Error::other(e.to_string()))?;
        for stanza in stanzas {
            header.extend_from_slice(b"-> ");
            header.extend_from_slice(stanza.tag.as_bytes());
            for arg in &stanza.args {
                header.push(b' ');
                header.extend_from_slice(arg.as_bytes());
            }
            header.push(b'\n');
            let body = STANDARD_NO_PAD.encode(&stanza.body);
            // Full 64-column lines, then a final shorter one, empty when the body fills its last line.
            let mut rest = body.as_bytes();
            loop {
                let line = rest.len().min(BODY_COLUMNS);
                header.extend_from_slice(&rest[..line]);
                header.push(b'\n');
                rest = &rest[line..];
                if line < BODY_COLUMNS {
                    break;
                }
            }
        }
    }
    header.extend_from_slice(b"---");
    let secret = file_key.expose_secret();
    let mac_key = hkdf_sha256(secret, &[], b"header")?;
    let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac_key), &header);
    header.push(b' ');
    header.extend_from_slice(STANDARD_NO_PAD.encode(mac.as_ref()).as_bytes());
    header.push(b'\n');

    let mut nonce = [0u8; PAYLOAD_NONCE_BYTES];
    random(&mut nonce)?;
    header.extend_from_slice(&nonce);
    let payload_key = hkdf_sha256(secret, &nonce, b"payload")?;
    let key = UnboundKey::new(&CHACHA20_POLY1305, &payload_key)
        .map_err(|_| io::Error::other("invalid payload key"))?;
    Ok(AgeStart {
        prefix: header,
        sealer: ChunkSealer {
            key: LessSafeKey::new(key),
            counter: 0,
            finished: false,
        },
    })
}

/// Seals STREAM chunks in order.
pub struct ChunkSealer {
    key: LessSafeKey,
    counter: u128,
    finished: bool,
}

impl ChunkSealer {
    /// Seals the next chunk in place: `chunk` holds the plaintext followed by [`TAG_BYTES`] bytes for the tag.
    /// Every chunk but the last holds exactly [`SEGMENT_BYTES`] of plaintext.
    pub fn seal(&mut self, chunk: &mut [u8], last: bool) -> io::Result<()> {
        let plain = chunk
            .len()
            .checked_sub(TAG_BYTES)
            .filter(|&n| n <= SEGMENT_BYTES && (last || n == SEGMENT_BYTES))
            .ok_or_else(|| io::Error::other("malformed age payload chunk"))?;
        // The counter has 88 bits; 2^88 chunks of 64 KiB cannot be reached.
        if self.finished || self.counter >> 88 != 0 {
            return Err(io::Error::other("age payload already finished"));
        }
        let mut nonce = [0u8; 12];
        nonce[..11].copy_from_slice(&self.counter.to_be_bytes()[5..]);
        nonce[11] = u8::from(last);
        let (data, tag_space) = chunk.split_at_mut(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), data)
            .map_err(|_| io::Error::other("encryption failed"))?;
        tag_space.copy_from_slice(tag.as_ref());
        self.counter += 1;
        self.finished = last;
        Ok(())
    }
}

/// Where ciphertext accumulates before it is handed on in aligned blocks.
struct Output {
    sealer: ChunkSealer,
    blocks: SyncSender<Block>,
    spare: Receiver<AlignedBuf>,
    current: AlignedBuf,
    position: usize,
    /// A chunk whose plaintext is in `current` at this offset, with this length, waiting to learn whether it is the
    /// last one before it is sealed.
    held: Option<(usize, usize)>,
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the other end of the pipeline stopped",
    )
}

impl Output {
    fn seal_held(&mut self, last: bool) -> io::Result<()> {
        if let Some((start, len)) = self.held.take() {
            let chunk = &mut self.current.as_mut_slice()[start..start + len + TAG_BYTES];
            self.sealer.seal(chunk, last)?;
        }
        Ok(())
    }

    /// Hands on the aligned part of what is buffered and starts the next buffer with the rest.
    fn send(&mut self) -> io::Result<()> {
        let aligned = self.position - self.position % ALIGN;
        let mut next = self.spare.recv().map_err(|_| closed())?;
        let carry = self.position - aligned;
        next.as_mut_slice()[..carry]
            .copy_from_slice(&self.current.as_slice()[aligned..self.position]);
        let full = std::mem::replace(&mut self.current, next);
        self.position = carry;
        self.blocks
            .send(Block {
                buf: full,
                len: aligned,
            })
            .map_err(|_| closed())
    }

    fn push(&mut self, plain: &[u8]) -> io::Result<()> {
        // Another chunk follows the held one, so the held one is not the last.
        self.seal_held(false)?;
        if self.position + plain.len() + TAG_BYTES > self.current.capacity() {
            self.send()?;
        }
        let start = self.position;
        self.current.as_mut_slice()[start..start + plain.len()].copy_from_slice(plain);
        self.held = Some((start, plain.len()));
        self.position += plain.len() + TAG_BYTES;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        if self.held.is_none() {
            // An empty payload is one empty last chunk.
            self.push(&[])?;
        }
        self.seal_held(true)?;
        let len = self.position;
        self.blocks
            .send(Block {
                buf: self.current,
                len,
            })
            .map_err(|_| closed())
    }
}

/// Encrypts the plaintext stream into blocks of age file: `prefix` first, then the sealed payload chunks. Blocks
/// come from `spare` (whose capacity must exceed [`ALIGN`] + one sealed chunk) and go to `blocks`; every block
/// but the last has a length that is a multiple of [`ALIGN`]. The stream ends when the plaintext writer finishes.
pub fn encrypt_stage(
    mut plaintext: PipeReader,
    start: AgeStart,
    blocks: SyncSender<Block>,
    spare: Receiver<AlignedBuf>,
) -> io::Result<()> {
    let mut current = spare.recv().map_err(|_| closed())?;
    if current.capacity() < ALIGN + start.prefix.len().max(SEGMENT_BYTES + TAG_BYTES) {
        return Err(io::Error::other("ciphertext buffers are too small"));
    }
    current.as_mut_slice()[..start.prefix.len()].copy_from_slice(&start.prefix);
    let mut output = Output {
        sealer: start.sealer,
        blocks,
        spare,
        current,
        position: start.prefix.len(),
        held: None,
    };
    plaintext.for_each_chunk(|chunk| {
        chunk
            .chunks(SEGMENT_BYTES)
            .try_for_each(|segment| output.push(segment))
    })?;
    output.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::io::{Read, Write};
    use std::str::FromStr;
    use std::sync::mpsc::sync_channel;

    use age::secrecy::ExposeSecret as _;

    use super::*;
    use crate::pipeline::pipe;

    /// Runs the real encrypting stage over `data`, written in pieces of `piece` bytes through a pipe of `chunk`
    /// bytes, and returns the whole age file.
    fn encrypt(recipients: &[age::x25519::Recipient], data: &[u8], chunk: usize) -> Vec<u8> {
        let (mut writer, reader) = pipe(chunk, 2);
        let (block_tx, block_rx) = sync_channel(2);
        let (spare_tx, spare_rx) = sync_channel(4);
        for _ in 0..4 {
            spare_tx
                .send(AlignedBuf::new(SEGMENT_BYTES * 2 + ALIGN))
                .unwrap();
        }
        let start = start(recipients).unwrap();
        std::thread::scope(|scope| {
            let encrypting = scope.spawn(move || encrypt_stage(reader, start, block_tx, spare_rx));
            let collecting = scope.spawn(move || {
                let mut out = Vec::new();
                while let Ok(block) = block_rx.recv() {
                    out.extend_from_slice(&block.buf.as_slice()[..block.len]);
                    // Every block but the last is aligned.
                    let _ = spare_tx.send(block.buf);
                }
                out
            });
            for piece in data.chunks(7777) {
                writer.write_all(piece).unwrap();
            }
            writer.finish().unwrap();
            encrypting.join().unwrap().unwrap();
            collecting.join().unwrap()
        })
    }

    fn decrypt(file: &[u8], identity: &age::x25519::Identity) -> Result<Vec<u8>, String> {
        let decryptor = age::Decryptor::new(file).map_err(|e| e.to_string())?;
        let mut reader = decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn the_age_crate_decrypts_every_length() {
        let identity = age::x25519::Identity::generate();
        let recipients = [identity.to_public()];
        for len in [
            0,
            1,
            SEGMENT_BYTES - 1,
            SEGMENT_BYTES,
            SEGMENT_BYTES + 1,
            3 * SEGMENT_BYTES,
            5 * SEGMENT_BYTES + 123,
        ] {
            let plain = data(len);
            for chunk in [SEGMENT_BYTES, 2 * SEGMENT_BYTES] {
                let file = encrypt(&recipients, &plain, chunk);
                let expected_len = start(&recipients).unwrap().prefix.len()
                    + len
                    + TAG_BYTES * len.div_ceil(SEGMENT_BYTES).max(1);
                assert_eq!(file.len(), expected_len, "length {len}");
                assert_eq!(decrypt(&file, &identity).unwrap(), plain, "length {len}");
            }
        }
    }

    #[test]
    fn every_recipient_decrypts_and_others_do_not() {
        let identities: Vec<_> = (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let recipients: Vec<_> = identities.iter().map(|i| i.to_public()).collect();
        let plain = data(2 * SEGMENT_BYTES + 5);
        let file = encrypt(&recipients, &plain, SEGMENT_BYTES);
        for identity in &identities {
            assert_eq!(decrypt(&file, identity).unwrap(), plain);
        }
        let stranger = age::x25519::Identity::generate();
        assert!(decrypt(&file, &stranger).is_err());
    }

    #[test]
    fn header_is_canonical_and_its_mac_binds_it() {
        let identity = age::x25519::Identity::from_str(
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret(),
        )
        .unwrap();
        let file = encrypt(&[identity.to_public()], b"hello", SEGMENT_BYTES);
        let text = String::from_utf8_lossy(&file);
        assert!(text.starts_with("age-encryption.org/v1\n-> X25519 "));
        // Changing one character of the recipient stanza breaks the header MAC (or the unwrap).
        let mut forged = file.clone();
        forged[30] ^= 0x01;
        assert!(decrypt(&forged, &identity).is_err());
    }

    #[test]
    fn tampered_or_truncated_ciphertext_is_rejected() {
        let identity = age::x25519::Identity::generate();
        let plain = data(3 * SEGMENT_BYTES + 10);
        let file = encrypt(&[identity.to_public()], &plain, SEGMENT_BYTES);
        let mut flipped = file.clone();
        let middle = file.len() - SEGMENT_BYTES;
        flipped[middle] ^= 0x80;
        assert!(decrypt(&flipped, &identity).is_err());
        // Cut at a chunk boundary: the remaining last chunk was not sealed as the last one.
        let cut = file.len() - (10 + TAG_BYTES);
        assert!(decrypt(&file[..cut], &identity).is_err());
        assert!(decrypt(&file[..file.len() - 1], &identity).is_err());
    }

    #[test]
    fn the_sealer_refuses_short_middle_chunks_and_chunks_after_the_last() {
        let mut sealer = start(&[age::x25519::Identity::generate().to_public()])
            .unwrap()
            .sealer;
        let mut short = vec![0u8; 100 + TAG_BYTES];
        assert!(sealer.seal(&mut short, false).is_err());
        sealer.seal(&mut short, true).unwrap();
        assert!(sealer.seal(&mut short, true).is_err());
    }
}
