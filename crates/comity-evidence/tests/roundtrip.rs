//! Sealing and opening: contents come back byte for byte, and sealing refuses what it cannot represent faithfully.

mod common;

use std::path::Path;

use comity_evidence::{EvidenceError, SealOptions, open, seal, verify};
use common::Fixture;

fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the opened tree") {
            let path = entry.expect("read the opened tree").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("read the opened tree")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).expect("read the opened tree")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn many_files_in_nested_directories_come_back_identical() {
    let fx = Fixture::new();
    let mut expected = Vec::new();
    for i in 0..150u32 {
        let name = format!("case/dir{}/sub{}/file-{i}.bin", i % 7, i % 3);
        let content: Vec<u8> = (0..(i * 37 % 5000)).map(|b| (b * 31 + i) as u8).collect();
        expected.push((name, content));
    }
    // Awkward names: spaces, percent signs, non-ASCII, a newline, an empty file, a very long path.
    let long = format!(
        "case/{}/deep.txt",
        ["segment-with-a-long-name"; 12].join("/")
    );
    for (name, content) in [
        ("case/with space.txt".to_owned(), b"s".to_vec()),
        ("case/100% sure.txt".to_owned(), b"p".to_vec()),
        ("case/literal %0A and %25.txt".to_owned(), b"l".to_vec()),
        ("case/ünïcødé-証拠.txt".to_owned(), b"u".to_vec()),
        ("case/line\nbreak.txt".to_owned(), b"n".to_vec()),
        ("case/empty".to_owned(), Vec::new()),
        (long, b"long path".to_vec()),
    ] {
        expected.push((name, content));
    }
    let refs: Vec<(&str, &[u8])> = expected
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    fx.write_files(&refs);
    fx.write_files(&[("loose.txt", b"a file given directly")]);

    let report = fx.seal(&["case", "loose.txt"], "evidence.age");
    assert_eq!(
        report.statement.bag.payload_files,
        expected.len() as u64 + 1
    );

    let out = fx.path("opened");
    let opened = open(&fx.path("evidence.age"), &fx.identity, &out).unwrap();
    assert_eq!(
        opened.verification.payload_files,
        Some(expected.len() as u64 + 1)
    );

    let mut want: Vec<(String, Vec<u8>)> = expected
        .iter()
        .map(|(n, c)| (format!("data/{n}"), c.clone()))
        .collect();
    want.push(("data/loose.txt".into(), b"a file given directly".to_vec()));
    let got: Vec<(String, Vec<u8>)> = read_tree(&out)
        .into_iter()
        .filter(|(n, _)| n.starts_with("data/"))
        .collect();
    want.sort();
    assert_eq!(got, want);
    for tag in [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
        "custody-record.jsonld",
        comity_evidence::SIGNATURE_NAME,
    ] {
        assert!(out.join(tag).is_file(), "{tag} missing from the opened bag");
    }
    let info = std::fs::read_to_string(out.join("bag-info.txt")).unwrap();
    assert!(info.contains("External-Identifier: REQ-2026-0042\n"));
    assert!(info.contains("Source-Organization: Polícia Judiciária\n"));
    assert!(info.contains(&format!(
        "Payload-Oxum: {}.{}\n",
        report.statement.bag.payload_bytes,
        want.len()
    )));
    let manifest = std::fs::read_to_string(out.join("manifest-sha256.txt")).unwrap();
    assert!(manifest.contains("data/case/line%0Abreak.txt\n"));
    assert!(manifest.contains("data/case/100% sure.txt\n"));
    assert!(manifest.contains("data/case/literal %250A and %2525.txt\n"));
}

#[test]
fn verification_reports_what_it_checked() {
    let fx = Fixture::new();
    fx.write_files(&[("in/a.txt", b"alpha"), ("in/b.txt", b"beta")]);
    let sealed = fx.seal(&["in"], "p.age");

    let light = verify(&fx.path("p.age"), None, None).unwrap();
    assert!(!light.bag_checked);
    assert!(!light.producer_pinned);
    assert_eq!(light.producer, fx.key.public_key().to_string());
    assert_eq!(light.statement, sealed.statement);

    let pinned = fx.key.public_key();
    let full = verify(&fx.path("p.age"), Some(&fx.identity), Some(&pinned)).unwrap();
    assert!(full.bag_checked && full.producer_pinned);
    assert_eq!((full.payload_files, full.payload_bytes), (Some(2), Some(9)));
}

#[test]
fn every_recipient_can_open_and_nobody_else() {
    let fx = Fixture::new();
    let second = age::x25519::Identity::generate();
    let stranger = age::x25519::Identity::generate();
    fx.write_files(&[("doc.txt", b"for two authorities")]);
    let mut options = fx.options(&["doc.txt"]);
    options.recipients.push(second.to_public());
    seal(options, &fx.path("p.age")).unwrap();

    verify(&fx.path("p.age"), Some(&fx.identity), None).unwrap();
    open(&fx.path("p.age"), &second, &fx.path("out2")).unwrap();
    assert_eq!(
        std::fs::read(fx.path("out2/data/doc.txt")).unwrap(),
        b"for two authorities"
    );

    let err = open(&fx.path("p.age"), &stranger, &fx.path("out3")).unwrap_err();
    assert!(matches!(err, EvidenceError::Decrypt { .. }), "{err}");
    assert!(!fx.path("out3").exists());
}

#[test]
fn a_pinned_producer_key_must_have_signed() {
    let fx = Fixture::new();
    fx.write_files(&[("doc.txt", b"x")]);
    fx.seal(&["doc.txt"], "p.age");
    let other = comity_seal::NodeSigningKey::from_seed([1; 32]).public_key();
    for identity in [None, Some(&fx.identity)] {
        let err = verify(&fx.path("p.age"), identity, Some(&other)).unwrap_err();
        assert!(
            matches!(err, EvidenceError::StatementSignature { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(&other.to_string()));
    }
}

#[test]
fn sealing_refuses_unfaithful_or_dangerous_requests() {
    let fx = Fixture::new();
    fx.write_files(&[
        ("in/a.txt", b"a"),
        ("other/a.txt", b"other a"),
        ("x.txt", b"x"),
    ]);

    // Two inputs that would both become `data/a.txt`.
    let err = seal(fx.options(&["in/a.txt", "other/a.txt"]), &fx.path("p.age")).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::DuplicateInput { name } if name == "data/a.txt"),
        "{err}"
    );

    // The output inside a directory being sealed would be read while it is written.
    let err = seal(fx.options(&["in"]), &fx.path("in/p.age")).unwrap_err();
    assert!(
        matches!(err, EvidenceError::OutputInsideInput { .. }),
        "{err}"
    );

    // Symbolic links are refused, not followed.
    std::os::unix::fs::symlink(fx.path("x.txt"), fx.path("in/link")).unwrap();
    let err = seal(fx.options(&["in"]), &fx.path("p.age")).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::UnsupportedInput { path, .. } if path.ends_with("in/link")),
        "{err}"
    );
    std::fs::remove_file(fx.path("in/link")).unwrap();

    // Metadata that would break bag-info.txt.
    let mut options = fx.options(&["x.txt"]);
    options.source_organization = "Evil\nPayload-Oxum: 0.0".into();
    assert!(matches!(
        seal(options, &fx.path("p.age")),
        Err(EvidenceError::InvalidField { .. })
    ));

    let mut options = fx.options(&["x.txt"]);
    options.recipients.clear();
    assert!(matches!(
        seal(options, &fx.path("p.age")),
        Err(EvidenceError::NoRecipients)
    ));

    let err = seal(fx.options(&["missing.txt"]), &fx.path("p.age")).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::Read { path, .. } if path.ends_with("missing.txt")),
        "{err}"
    );
    assert!(err.to_string().contains("missing.txt"));

    // None of the failures left anything behind.
    let leftovers: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("p.age"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!fx.path("in/p.age").exists());

    // An existing output (or statement) is never overwritten.
    fx.seal(&["x.txt"], "p.age");
    let before = std::fs::read(fx.path("p.age")).unwrap();
    let err = seal(fx.options(&["x.txt"]), &fx.path("p.age")).unwrap_err();
    assert!(matches!(err, EvidenceError::OutputExists { .. }), "{err}");
    assert_eq!(std::fs::read(fx.path("p.age")).unwrap(), before);
}

#[test]
fn a_failed_open_leaves_no_output_and_no_temporary_directory() {
    let fx = Fixture::new();
    fx.write_files(&[("in/a.txt", b"first file"), ("in/z.txt", b"last file")]);
    fx.seal(&["in"], "p.age");
    // Break the last payload file so that extraction has already written earlier ones when the check fails.
    fx.tamper_inside(&fx.path("p.age"), |tar| {
        common::flip_in_entry(tar, "data/in/z.txt", 0)
    });
    let err = open(&fx.path("p.age"), &fx.identity, &fx.path("out")).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::Bag { file, .. } if file == "data/in/z.txt"),
        "{err}"
    );
    assert!(!fx.path("out").exists());
    let partial: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");

    // And an existing output directory is refused before anything is decrypted.
    std::fs::create_dir(fx.path("exists")).unwrap();
    let err = open(&fx.path("p.age"), &fx.identity, &fx.path("exists")).unwrap_err();
    assert!(matches!(err, EvidenceError::OutputExists { .. }), "{err}");
}

#[test]
fn options_without_optional_facts_still_make_a_valid_package() {
    let fx = Fixture::new();
    fx.write_files(&[("doc.txt", b"plain")]);
    let options = SealOptions {
        recipients: vec![fx.recipient()],
        signing_key: &fx.key,
        request_id: None,
        source_organization: "Authority".into(),
        legal_basis: None,
        confidentiality: None,
        speciality: None,
        inputs: vec![fx.path("doc.txt")],
        progress: None,
    };
    let report = seal(options, &fx.path("p.age")).unwrap();
    assert_eq!(report.statement.request_id, None);
    let full = verify(&fx.path("p.age"), Some(&fx.identity), None).unwrap();
    assert_eq!(full.payload_files, Some(1));
}
