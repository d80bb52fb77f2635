//! age v1 decryption (age-encryption.org/v1) for an X25519 identity, with `ring`'s assembly ChaCha20-Poly1305.
//!
//! The header is parsed strictly (version line, `-> ` stanzas with canonical base64 bodies of 64-column lines, then
//! `--- ` and the MAC), bounded in size, and the `age` crate unwraps the file key from the stanzas. The header MAC is
//! checked before any payload is decrypted; then every 64 KiB STREAM chunk must authenticate under its counter, the
//! last one with the last-chunk flag, and nothing may follow it. The counterpart of [`crate::age_writer`].

use std::io::{self, BufRead, BufReader, Read, Write};

use age::Identity as _;
use age_core::format::Stanza;
use age_core::secrecy::ExposeSecret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;

use crate::age_writer::{SEGMENT_BYTES, TAG_BYTES, hkdf_sha256};

const VERSION_LINE: &[u8] = b"age-encryption.org/v1\n";
/// A header larger than this is refused (one X25519 recipient takes about 100 bytes).
const MAX_HEADER_BYTES: usize = 1 << 20;
const BODY_COLUMNS: usize = 64;
const MAC_BYTES: usize = 32;

/// Why decryption stopped.
#[derive(Debug)]
pub enum DecryptFailure {
    /// Not an age v1 header, no stanza for this identity, or a header MAC that does not match.
    Header,
    /// The payload does not authenticate, is truncated, or has bytes after its last chunk.
    Damaged,
    /// Reading the ciphertext failed.
    Read(io::Error),
    /// The plaintext side stopped taking data.
    Closed,
}

fn read_line(
    reader: &mut impl BufRead,
    header: &mut Vec<u8>,
) -> Result<std::ops::Range<usize>, DecryptFailure> {
    let start = header.len();
    let room = MAX_HEADER_BYTES.saturating_sub(start) as u64;
    reader
        .by_ref()
        .take(room)
        .read_until(b'\n', header)
        .map_err(DecryptFailure::Read)?;
    if header.last() != Some(&b'\n') || header.len() == start {
        return Err(DecryptFailure::Header);
    }
    Ok(start..header.len() - 1)
}

fn is_argument(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| (33..=126).contains(&b))
}

/// A parsed header.
struct Header {
    stanzas: Vec<Stanza>,
    /// The bytes the MAC covers.
    covered: Vec<u8>,
    mac: [u8; MAC_BYTES],
}

/// Reads the header up to and including its MAC line.
fn read_header(reader: &mut impl BufRead) -> Result<Header, DecryptFailure> {
    let mut header = Vec::new();
    let first = read_line(reader, &mut header)?;
    if header[first.start..=first.end] != *VERSION_LINE {
        return Err(DecryptFailure::Header);
    }
    let mut stanzas = Vec::new();
    loop {
        let line = read_line(reader, &mut header)?;
        let text =
            std::str::from_utf8(&header[line.clone()]).map_err(|_| DecryptFailure::Header)?;
        if let Some(encoded) = text.strip_prefix("--- ") {
            let mut mac = [0u8; MAC_BYTES];
            let decoded = STANDARD_NO_PAD
                .decode(encoded)
                .map_err(|_| DecryptFailure::Header)?;
            if decoded.len() != MAC_BYTES || stanzas.is_empty() {
                return Err(DecryptFailure::Header);
            }
            mac.copy_from_slice(&decoded);
            // The MAC covers everything up to and including `---`, not the space after it.
            header.truncate(line.start + 3);
            return Ok(Header {
                stanzas,
                covered: header,
                mac,
            });
        }
        let fields = text.strip_prefix("-> ").ok_or(DecryptFailure::Header)?;
        let mut args: Vec<String> = Vec::new();
        for field in fields.split(' ') {
            if !is_argument(field) {
                return Err(DecryptFailure::Header);
            }
            args.push(field.to_owned());
        }
        let tag = args.remove(0);
        let mut body = String::new();
        loop {
            let line = read_line(reader, &mut header)?;
            let text =
                std::str::from_utf8(&header[line.clone()]).map_err(|_| DecryptFailure::Header)?;
            if text.len() > BODY_COLUMNS {
                return Err(DecryptFailure::Header);
            }
            body.push_str(text);
            if text.len() < BODY_COLUMNS {
                break;
            }
        }
        let body = STANDARD_NO_PAD
            .decode(&body)
            .map_err(|_| DecryptFailure::Header)?;
        stanzas.push(Stanza { tag, args, body });
    }
}

/// Fills `buf` from `reader` as far as the stream allows; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, DecryptFailure> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DecryptFailure::Read(e)),
        }
    }
    Ok(filled)
}

/// Decrypts the age file read from `ciphertext` with `identity`, writing the plaintext to `plaintext`. Plaintext
/// is written chunk by chunk as each one authenticates: a caller must not trust it until this returns `Ok`.
pub fn decrypt(
    identity: &age::x25519::Identity,
    ciphertext: impl Read,
    plaintext: &mut impl Write,
) -> Result<(), DecryptFailure> {
    let mut reader = BufReader::with_capacity(64 << 10, ciphertext);
    let header = read_header(&mut reader)?;
    let file_key = match identity.unwrap_stanzas(&header.stanzas) {
        Some(Ok(key)) => key,
        Some(Err(_)) | None => return Err(DecryptFailure::Header),
    };
    let secret = file_key.expose_secret();
    let mac_key = hkdf_sha256(secret, &[], b"header").map_err(|_| DecryptFailure::Header)?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, &mac_key),
        &header.covered,
        &header.mac,
    )
    .map_err(|_| DecryptFailure::Header)?;

    let mut nonce = [0u8; 16];
    if read_full(&mut reader, &mut nonce)? != nonce.len() {
        return Err(DecryptFailure::Damaged);
    }
    let payload_key =
        hkdf_sha256(secret, &nonce, b"payload").map_err(|_| DecryptFailure::Header)?;
    let key = LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &payload_key).map_err(|_| DecryptFailure::Header)?,
    );

    let mut chunk = vec![0u8; SEGMENT_BYTES + TAG_BYTES];
    let mut counter = 0u128;
    loop {
        let n = read_full(&mut reader, &mut chunk)?;
        // A full chunk is the last one only if nothing follows it.
        let last = n < chunk.len() || reader.fill_buf().map_err(DecryptFailure::Read)?.is_empty();
        // An empty last chunk is allowed only as the whole (empty) payload.
        if n < TAG_BYTES || (n == TAG_BYTES && counter > 0) || counter >> 88 != 0 {
            return Err(DecryptFailure::Damaged);
        }
        let mut chunk_nonce = [0u8; 12];
        chunk_nonce[..11].copy_from_slice(&counter.to_be_bytes()[5..]);
        chunk_nonce[11] = u8::from(last);
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(chunk_nonce),
                Aad::empty(),
                &mut chunk[..n],
            )
            .map_err(|_| DecryptFailure::Damaged)?;
        plaintext
            .write_all(plain)
            .map_err(|_| DecryptFailure::Closed)?;
        counter += 1;
        if last {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn age_crate_encrypt(recipients: &[age::x25519::Recipient], data: &[u8]) -> Vec<u8> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .unwrap();
        let mut out = Vec::new();
        let mut writer = encryptor.wrap_output(&mut out).unwrap();
        writer.write_all(data).unwrap();
        writer.finish().unwrap();
        out
    }

    fn open(file: &[u8], identity: &age::x25519::Identity) -> Result<Vec<u8>, DecryptFailure> {
        let mut out = Vec::new();
        decrypt(identity, file, &mut out)?;
        Ok(out)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 % 241) as u8).collect()
    }

    #[test]
    fn decrypts_what_the_age_crate_writes() {
        let identities: Vec<_> = (0..2).map(|_| age::x25519::Identity::generate()).collect();
        let recipients: Vec<_> = identities.iter().map(|i| i.to_public()).collect();
        for len in [
            0,
            1,
            SEGMENT_BYTES,
            SEGMENT_BYTES + 1,
            3 * SEGMENT_BYTES + 7,
        ] {
            let plain = data(len);
            let file = age_crate_encrypt(&recipients, &plain);
            for identity in &identities {
                assert_eq!(open(&file, identity).unwrap(), plain, "length {len}");
            }
        }
    }

    #[test]
    fn a_stranger_or_a_modified_header_is_refused() {
        let identity = age::x25519::Identity::generate();
        let file = age_crate_encrypt(&[identity.to_public()], b"evidence");
        let stranger = age::x25519::Identity::generate();
        assert!(matches!(
            open(&file, &stranger),
            Err(DecryptFailure::Header)
        ));
        let header_end = file.windows(4).position(|w| w == b"--- ").unwrap();
        for at in [0, 25, header_end - 2, header_end + 6] {
            let mut forged = file.clone();
            forged[at] ^= 0x01;
            assert!(
                matches!(open(&forged, &identity), Err(DecryptFailure::Header)),
                "byte {at}"
            );
        }
        assert!(matches!(
            open(b"not an age file\n", &identity),
            Err(DecryptFailure::Header)
        ));
        // A header that never ends is refused once it passes the bound.
        let body_line = [&[b'A'; BODY_COLUMNS][..], b"\n"].concat();
        let endless = [
            VERSION_LINE,
            b"-> X25519 a\n",
            &body_line.repeat(MAX_HEADER_BYTES / BODY_COLUMNS + 1),
        ]
        .concat();
        assert!(matches!(
            open(&endless, &identity),
            Err(DecryptFailure::Header)
        ));
    }

    #[test]
    fn flipped_truncated_or_extended_payloads_are_refused() {
        let identity = age::x25519::Identity::generate();
        let plain = data(2 * SEGMENT_BYTES + 100);
        let file = age_crate_encrypt(&[identity.to_public()], &plain);
        assert_eq!(open(&file, &identity).unwrap(), plain);
        let damaged = |bytes: &[u8]| matches!(open(bytes, &identity), Err(DecryptFailure::Damaged));

        let mut flipped = file.clone();
        let at = file.len() - 200;
        flipped[at] ^= 0x40;
        assert!(damaged(&flipped));
        // Every truncation: inside the last chunk, at a chunk boundary (the previous chunk is not flagged last),
        // inside the nonce.
        for cut in [
            1,
            100 + TAG_BYTES,
            100 + TAG_BYTES + 1,
            100 + TAG_BYTES + SEGMENT_BYTES + TAG_BYTES,
        ] {
            assert!(damaged(&file[..file.len() - cut]), "cut {cut}");
        }
        let nonce_start = file.len() - plain.len() - 3 * TAG_BYTES - 16;
        assert!(damaged(&file[..nonce_start + 5]));
        let mut longer = file.clone();
        longer.extend_from_slice(b"x");
        assert!(damaged(&longer));
        // A full empty chunk appended after the real last chunk.
        let mut extra = file.clone();
        extra.extend_from_slice(&[0u8; TAG_BYTES]);
        assert!(damaged(&extra));
    }

    #[test]
    fn round_trips_with_the_writer() {
        let identity = age::x25519::Identity::generate();
        let start = crate::age_writer::start(&[identity.to_public()]).unwrap();
        let mut file = start.prefix;
        let mut sealer = start.sealer;
        let plain = data(SEGMENT_BYTES + 9);
        for (i, piece) in plain.chunks(SEGMENT_BYTES).enumerate() {
            let mut chunk = piece.to_vec();
            chunk.extend_from_slice(&[0u8; TAG_BYTES]);
            sealer.seal(&mut chunk, i == 1).unwrap();
            file.extend_from_slice(&chunk);
        }
        assert_eq!(open(&file, &identity).unwrap(), plain);
    }

    #[test]
    fn a_full_sized_last_chunk_must_carry_the_last_flag() {
        let identity = age::x25519::Identity::generate();
        let plain = data(2 * SEGMENT_BYTES);
        let file = age_crate_encrypt(&[identity.to_public()], &plain);
        assert_eq!(open(&file, &identity).unwrap(), plain);
        // Dropping the last (full) chunk leaves a full chunk sealed as not-last at the end.
        let cut = &file[..file.len() - SEGMENT_BYTES - TAG_BYTES];
        assert!(matches!(open(cut, &identity), Err(DecryptFailure::Damaged)));
    }
}
