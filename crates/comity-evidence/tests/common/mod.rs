//! Shared fixtures for the integration tests: keys, sealing, and rewriting a package the way an attacker (or a
//! careless copy) would.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use comity_evidence::digest::{hex, sha256};
use comity_evidence::{SealOptions, SealReport, SealStatement, seal, statement_path};
use comity_seal::{Envelope, NodeSigningKey};
use secrecy::ExposeSecret;

/// A producer, a recipient and a scratch directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub key: NodeSigningKey,
    pub identity: age::x25519::Identity,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
            key: NodeSigningKey::from_seed([9; 32]),
            identity: age::x25519::Identity::generate(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// Writes `files` (path relative to the scratch directory → content).
    pub fn write_files(&self, files: &[(&str, &[u8])]) {
        for (name, content) in files {
            let path = self.path(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
    }

    pub fn options(&self, inputs: &[&str]) -> SealOptions<'_> {
        SealOptions {
            recipients: vec![self.recipient()],
            signing_key: &self.key,
            request_id: Some("REQ-2026-0042".into()),
            source_organization: "Polícia Judiciária".into(),
            legal_basis: Some("Budapest Convention, article 31".into()),
            confidentiality: Some("restricted to the requesting authority".into()),
            speciality: Some("only for request REQ-2026-0042".into()),
            inputs: inputs.iter().map(|i| self.path(i)).collect(),
            progress: None,
        }
    }

    /// Seals `inputs` into `out`.
    pub fn seal(&self, inputs: &[&str], out: &str) -> SealReport {
        seal(self.options(inputs), &self.path(out)).expect("seal")
    }

    /// Writes the identity as an age identity file and returns its path.
    pub fn identity_file(&self) -> PathBuf {
        let path = self.path("identity.txt");
        if !path.exists() {
            let text = format!(
                "# public key: {}\n{}\n",
                self.recipient(),
                self.identity.to_string().expose_secret()
            );
            std::fs::write(&path, text).expect("identity file");
        }
        path
    }

    /// Writes the signing key file and returns its path.
    pub fn key_file(&self) -> PathBuf {
        let path = self.path("signing.key");
        if !path.exists() {
            self.key.write_new(&path).expect("key file");
        }
        path
    }

    /// Decrypts a package into its tar bytes.
    pub fn decrypt(&self, package: &Path) -> Vec<u8> {
        let bytes = std::fs::read(package).expect("read package");
        let decryptor = age::Decryptor::new(&bytes[..]).expect("age header");
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .expect("decrypt");
        let mut tar = Vec::new();
        reader.read_to_end(&mut tar).expect("plaintext");
        tar
    }

    /// Encrypts `tar` as `package` and issues a seal statement for it, signed by `key`, that matches the new
    /// ciphertext (as a forger holding the producer's key could). `adjust` may change the statement first.
    pub fn reseal_tar(
        &self,
        package: &Path,
        tar: &[u8],
        key: &NodeSigningKey,
        adjust: impl FnOnce(&mut SealStatement),
    ) {
        let recipient = self.recipient();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .expect("encryptor");
        let mut ciphertext = Vec::new();
        let mut writer = encryptor.wrap_output(&mut ciphertext).expect("wrap");
        writer.write_all(tar).expect("encrypt");
        writer.finish().expect("finish");
        std::fs::write(package, &ciphertext).expect("write package");
        self.restate(package, key, adjust);
    }

    /// Rewrites the seal statement of `package` to match its current bytes, signed by `key`.
    pub fn restate(
        &self,
        package: &Path,
        key: &NodeSigningKey,
        adjust: impl FnOnce(&mut SealStatement),
    ) {
        let ciphertext = std::fs::read(package).expect("read package");
        let mut statement = read_statement_unverified(package);
        statement.package.sha256 = hex(&sha256(&ciphertext));
        statement.package.size_bytes = ciphertext.len() as u64;
        statement.producer = key.public_key().to_string();
        adjust(&mut statement);
        let mut json = statement.sign(key).to_json();
        json.push(b'\n');
        std::fs::write(statement_path(package), json).expect("write statement");
    }

    /// Decrypts, lets `edit` change the tar bytes, and re-encrypts with a matching statement by the producer.
    pub fn tamper_inside(&self, package: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut tar = self.decrypt(package);
        edit(&mut tar);
        self.reseal_tar(package, &tar, &self.key, |_| {});
    }
}

/// The statement's payload, without checking anything.
pub fn read_statement_unverified(package: &Path) -> SealStatement {
    use base64::Engine;
    let envelope = Envelope::from_json(&std::fs::read(statement_path(package)).expect("statement"))
        .expect("envelope");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope.payload)
        .expect("base64");
    serde_json::from_slice(&payload).expect("statement json")
}

/// Where the data of `entry` lies in `tar`: (offset, size).
pub fn entry_span(tar: &[u8], entry: &str) -> (usize, usize) {
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().expect("entries") {
        let e = e.expect("entry");
        if e.path_bytes().as_ref() == entry.as_bytes() {
            return (
                usize::try_from(e.raw_file_position()).expect("offset"),
                usize::try_from(e.size()).expect("size"),
            );
        }
    }
    panic!("no entry `{entry}` in the archive");
}

/// The bytes of `entry` in `tar`.
pub fn entry_bytes(tar: &[u8], entry: &str) -> Vec<u8> {
    let (offset, size) = entry_span(tar, entry);
    tar[offset..offset + size].to_vec()
}

/// Replaces the content of `entry` with `content` of the same length.
pub fn overwrite_entry(tar: &mut [u8], entry: &str, content: &[u8]) {
    let (offset, size) = entry_span(tar, entry);
    assert_eq!(size, content.len(), "same-length rewrite only");
    tar[offset..offset + size].copy_from_slice(content);
}

/// Flips one bit of the byte at `at` of `entry`'s data.
pub fn flip_in_entry(tar: &mut [u8], entry: &str, at: usize) {
    let (offset, size) = entry_span(tar, entry);
    assert!(at < size);
    tar[offset + at] ^= 0x01;
}

/// Builds a tar archive from raw entries, without any of the tar crate's path checks, so that hostile archives
/// can be made: (name bytes, entry type, content, link target, claimed size override).
pub struct RawEntry<'a> {
    pub name: &'a [u8],
    pub kind: tar::EntryType,
    pub content: &'a [u8],
    pub link: &'a [u8],
    pub claimed_size: Option<u64>,
}

impl<'a> RawEntry<'a> {
    pub fn file(name: &'a str, content: &'a [u8]) -> Self {
        Self {
            name: name.as_bytes(),
            kind: tar::EntryType::Regular,
            content,
            link: b"",
            claimed_size: None,
        }
    }
}

pub fn raw_tar(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(entry.kind);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_size(entry.claimed_size.unwrap_or(entry.content.len() as u64));
        let bytes = header.as_mut_bytes();
        assert!(entry.name.len() < 100 && entry.link.len() < 100);
        bytes[..100].fill(0);
        bytes[..entry.name.len()].copy_from_slice(entry.name);
        bytes[157..257].fill(0);
        bytes[157..157 + entry.link.len()].copy_from_slice(entry.link);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(entry.content);
        let pad = (512 - entry.content.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

/// Recomputes `tagmanifest-sha256.txt` and the producer's signature after tag files were edited, as a forger
/// holding `key` could.
pub fn resign_bag(tar: &[u8], key: &NodeSigningKey) -> Vec<u8> {
    let names = [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "custody-record.jsonld",
    ];
    let mut tagmanifest = String::new();
    for name in names {
        tagmanifest.push_str(&format!(
            "{}  {name}\n",
            hex(&sha256(&entry_bytes(tar, name)))
        ));
    }
    let mut signature = Envelope::sign(
        comity_evidence::TAGMANIFEST_SIGNATURE_TYPE,
        tagmanifest.as_bytes(),
        key,
    )
    .to_json();
    signature.push(b'\n');
    // Rebuild the archive with the new tag manifest and signature (sizes may differ).
    let mut archive = tar::Archive::new(tar);
    let mut builder = tar::Builder::new(Vec::new());
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = String::from_utf8(e.path_bytes().into_owned()).expect("utf8");
        let mut content = Vec::new();
        e.read_to_end(&mut content).expect("read");
        let content = match path.as_str() {
            "tagmanifest-sha256.txt" => tagmanifest.clone().into_bytes(),
            comity_evidence::SIGNATURE_NAME => signature.clone(),
            _ => content,
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, &path, &content[..])
            .expect("append");
    }
    builder.into_inner().expect("tar")
}

/// Parses an age recipient string.
pub fn recipient(text: &str) -> age::x25519::Recipient {
    age::x25519::Recipient::from_str(text).expect("recipient")
}
