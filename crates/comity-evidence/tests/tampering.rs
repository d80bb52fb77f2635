//! Every tampering is detected, and the error names the file at fault: one byte of the ciphertext, of a payload
//! file, of a manifest, of the signature or of the seal statement, and forgeries that recompute what they can.

mod common;

use comity_evidence::{EvidenceError, SIGNATURE_NAME, open, statement_path, verify};
use common::{Fixture, entry_bytes, flip_in_entry, overwrite_entry, resign_bag};

fn sealed() -> Fixture {
    let fx = Fixture::new();
    fx.write_files(&[
        ("in/report.txt", b"subscriber information for the account"),
        ("in/logs/2026-01-01.log", &[7u8; 200_000]),
    ]);
    fx.seal(&["in"], "p.age");
    fx
}

fn bag_error_file(err: &EvidenceError) -> Option<&str> {
    match err {
        EvidenceError::Bag { file, .. } => Some(file),
        _ => None,
    }
}

#[test]
fn untouched_package_verifies() {
    let fx = sealed();
    verify(
        &fx.path("p.age"),
        Some(&fx.identity),
        Some(&fx.key.public_key()),
    )
    .unwrap();
}

#[test]
fn one_flipped_ciphertext_byte_is_detected_with_and_without_identity() {
    for at in [100usize, 70_000, 150_000] {
        let fx = sealed();
        let package = fx.path("p.age");
        let mut bytes = std::fs::read(&package).unwrap();
        let at = at.min(bytes.len() - 1);
        bytes[at] ^= 0x80;
        std::fs::write(&package, &bytes).unwrap();

        let err = verify(&package, None, None).unwrap_err();
        assert!(
            matches!(err, EvidenceError::CiphertextMismatch { .. }),
            "byte {at}: {err}"
        );
        assert!(err.to_string().contains("p.age"));

        // Even with a statement re-issued for the modified bytes, the age stream does not authenticate.
        fx.restate(&package, &fx.key, |_| {});
        verify(&package, None, None).unwrap();
        let err = verify(&package, Some(&fx.identity), None).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::Damaged { .. } | EvidenceError::Decrypt { .. }
            ),
            "byte {at}: {err}"
        );
        let err = open(&package, &fx.identity, &fx.path("out")).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::Damaged { .. } | EvidenceError::Decrypt { .. }
            ),
            "{err}"
        );
        assert!(!fx.path("out").exists());
    }
}

#[test]
fn truncated_or_extended_ciphertext_is_detected() {
    let fx = sealed();
    let package = fx.path("p.age");
    let bytes = std::fs::read(&package).unwrap();

    std::fs::write(&package, &bytes[..bytes.len() - 1]).unwrap();
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::CiphertextMismatch {
                what: "the size",
                ..
            }
        ),
        "{err}"
    );
    fx.restate(&package, &fx.key, |_| {});
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(matches!(err, EvidenceError::Damaged { .. }), "{err}");

    let mut longer = bytes.clone();
    longer.extend_from_slice(b"appended");
    std::fs::write(&package, &longer).unwrap();
    fx.restate(&package, &fx.key, |_| {});
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(matches!(err, EvidenceError::Damaged { .. }), "{err}");
}

#[test]
fn one_changed_payload_byte_names_the_payload_file() {
    let fx = sealed();
    let package = fx.path("p.age");
    // A forger with the producer's key re-encrypts and re-issues the statement; the manifest still catches it.
    fx.tamper_inside(&package, |tar| {
        flip_in_entry(tar, "data/in/logs/2026-01-01.log", 123_456)
    });
    verify(&package, None, None).unwrap();
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(
        bag_error_file(&err),
        Some("data/in/logs/2026-01-01.log"),
        "{err}"
    );
    assert!(err.to_string().contains("manifest-sha256.txt"), "{err}");
}

#[test]
fn one_changed_manifest_byte_names_the_manifest() {
    let fx = sealed();
    let package = fx.path("p.age");
    fx.tamper_inside(&package, |tar| {
        let mut manifest = entry_bytes(tar, "manifest-sha256.txt");
        manifest[0] = if manifest[0] == b'0' { b'1' } else { b'0' };
        overwrite_entry(tar, "manifest-sha256.txt", &manifest);
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("manifest-sha256.txt"), "{err}");
    assert!(err.to_string().contains("tagmanifest-sha256.txt"), "{err}");
}

#[test]
fn a_consistently_rewritten_manifest_fails_on_the_signature() {
    let fx = sealed();
    let package = fx.path("p.age");
    let forger = comity_seal::NodeSigningKey::from_seed([66; 32]);
    // Change a payload file and update the manifest and tag manifest to match; only the signature is left.
    fx.tamper_inside(&package, |tar| {
        flip_in_entry(tar, "data/in/report.txt", 0);
        let new_digest = comity_evidence::digest::hex(&comity_evidence::digest::sha256(
            &entry_bytes(tar, "data/in/report.txt"),
        ));
        let manifest = String::from_utf8(entry_bytes(tar, "manifest-sha256.txt")).unwrap();
        let rewritten: String = manifest
            .lines()
            .map(|l| {
                if l.ends_with("data/in/report.txt") {
                    format!("{new_digest}  data/in/report.txt\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        overwrite_entry(tar, "manifest-sha256.txt", rewritten.as_bytes());
        *tar = resign_bag(tar, &forger);
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::BagSignature { file, .. } if file == SIGNATURE_NAME),
        "{err}"
    );
}

#[test]
fn one_changed_signature_byte_is_detected() {
    let fx = sealed();
    let package = fx.path("p.age");
    fx.tamper_inside(&package, |tar| {
        let mut signature = entry_bytes(tar, SIGNATURE_NAME);
        let text = String::from_utf8(signature.clone()).unwrap();
        // Change one character of the base64 signature value.
        let at = text.find("\"sig\":\"").unwrap() + 10;
        signature[at] = if signature[at] == b'A' { b'B' } else { b'A' };
        overwrite_entry(tar, SIGNATURE_NAME, &signature);
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::BagSignature { file, .. } if file == SIGNATURE_NAME),
        "{err}"
    );
}

#[test]
fn bag_info_changes_are_caught_even_when_the_tag_manifest_is_re_signed() {
    let fx = sealed();
    let package = fx.path("p.age");
    // The producer's own key re-signs a bag whose Payload-Oxum lies: the oxum check still fails.
    fx.tamper_inside(&package, |tar| {
        let info = String::from_utf8(entry_bytes(tar, "bag-info.txt")).unwrap();
        let oxum_line = info
            .lines()
            .find(|l| l.starts_with("Payload-Oxum"))
            .unwrap()
            .to_owned();
        let lying = oxum_line.replace(".2", ".3");
        assert_ne!(lying, oxum_line);
        overwrite_entry(
            tar,
            "bag-info.txt",
            info.replace(&oxum_line, &lying).as_bytes(),
        );
        *tar = resign_bag(tar, &fx.key);
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    // The statement recorded the original tag manifest, so that is what fails first.
    assert_eq!(
        bag_error_file(&err),
        Some("tagmanifest-sha256.txt"),
        "{err}"
    );

    // With the statement's digest also updated, the lie inside bag-info.txt itself is named.
    let tar = fx.decrypt(&package);
    let digest = comity_evidence::digest::hex(&comity_evidence::digest::sha256(&entry_bytes(
        &tar,
        "tagmanifest-sha256.txt",
    )));
    fx.restate(&package, &fx.key, |s| s.bag.tagmanifest_sha256 = digest);
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("bag-info.txt"), "{err}");
    assert!(err.to_string().contains("Payload-Oxum"), "{err}");
}

#[test]
fn one_changed_seal_statement_byte_is_detected() {
    let fx = sealed();
    let package = fx.path("p.age");
    let statement = statement_path(&package);
    let original = std::fs::read(&statement).unwrap();

    // Flip a byte inside the signed payload (base64 text): the signature no longer holds, or the JSON breaks.
    for at in [20usize, 200, original.len() - 30] {
        let mut bytes = original.clone();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&statement, &bytes).unwrap();
        let err = verify(&package, None, None).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::StatementSignature { .. } | EvidenceError::StatementMalformed { .. }
            ),
            "byte {at}: {err}"
        );
        assert!(err.to_string().contains("p.age.seal.json"), "{err}");
    }

    // Re-signed by someone else: accepted as self-consistent only when no key is pinned, and then it names the
    // forger's key, which differs from the one inside the bag.
    std::fs::write(&statement, &original).unwrap();
    let forger = comity_seal::NodeSigningKey::from_seed([66; 32]);
    fx.restate(&package, &forger, |_| {});
    let err = verify(&package, None, Some(&fx.key.public_key())).unwrap_err();
    assert!(
        matches!(err, EvidenceError::StatementSignature { .. }),
        "{err}"
    );
    let light = verify(&package, None, None).unwrap();
    assert_eq!(light.producer, forger.public_key().to_string());
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(matches!(err, EvidenceError::BagSignature { .. }), "{err}");

    std::fs::remove_file(&statement).unwrap();
    let err = verify(&package, None, None).unwrap_err();
    assert!(
        matches!(err, EvidenceError::StatementMissing { .. }),
        "{err}"
    );
}

#[test]
fn the_statement_must_describe_this_bag() {
    let fx = sealed();
    let package = fx.path("p.age");
    fx.restate(&package, &fx.key, |s| {
        s.request_id = Some("REQ-OTHER".into())
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("bag-info.txt"), "{err}");
    assert!(err.to_string().contains("External-Identifier"), "{err}");

    fx.restate(&package, &fx.key, |s| {
        s.request_id = Some("REQ-2026-0042".into());
        s.bag.payload_bytes += 1;
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("bag-info.txt"), "{err}");
}

#[test]
fn removed_or_added_files_are_named() {
    let fx = sealed();
    let package = fx.path("p.age");
    let tar = fx.decrypt(&package);

    // Rebuild the archive without one payload file.
    let without = rebuild(&tar, |path| path != "data/in/report.txt", &[]);
    fx.reseal_tar(&package, &without, &fx.key, |_| {});
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("data/in/report.txt"), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");

    // Add a payload file the manifest does not list.
    let with = rebuild(&tar, |_| true, &[("data/in/planted.txt", b"planted")]);
    fx.reseal_tar(&package, &with, &fx.key, |_| {});
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("data/in/planted.txt"), "{err}");
    assert!(err.to_string().contains("not listed"), "{err}");

    // Add a tag file the tag manifest does not list.
    let with_tag = rebuild(&tar, |_| true, &[("notes.txt", b"unlisted")]);
    fx.reseal_tar(&package, &with_tag, &fx.key, |_| {});
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert_eq!(bag_error_file(&err), Some("notes.txt"), "{err}");
}

#[test]
fn data_hidden_after_the_end_of_the_archive_is_refused() {
    let fx = sealed();
    let package = fx.path("p.age");
    fx.tamper_inside(&package, |tar| {
        tar.extend_from_slice(b"hidden after the end-of-archive marker")
    });
    let err = verify(&package, Some(&fx.identity), None).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::Archive { reason, .. } if reason.contains("end of the archive")),
        "{err}"
    );
}

fn rebuild(tar: &[u8], keep: impl Fn(&str) -> bool, extra: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    let mut builder = tar::Builder::new(Vec::new());
    let append = |builder: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, content)
            .expect("test setup");
    };
    for (path, content) in extra {
        append(&mut builder, path, content);
    }
    for entry in archive.entries().expect("test setup") {
        let mut entry = entry.expect("test setup");
        let path = String::from_utf8(entry.path_bytes().into_owned()).expect("test setup");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("test setup");
        if keep(&path) {
            append(&mut builder, &path, &content);
        }
    }
    builder.into_inner().expect("test setup")
}
