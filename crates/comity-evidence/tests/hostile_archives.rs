//! Hostile archives, crafted by hand and properly encrypted and stated: `open` and `verify` refuse them with a
//! clear message, and `open` never writes outside its temporary directory nor leaves anything behind.

mod common;

use comity_evidence::{EvidenceError, Limits, UnsealOptions, open, open_with, verify_with};
use common::{Fixture, RawEntry, raw_tar};

/// Seals `tar` as `p.age` (with a matching statement) and tries to open it into `out`.
fn try_open(fx: &Fixture, tar: &[u8], limits: Limits) -> EvidenceError {
    let package = fx.path("p.age");
    fx.reseal_tar(&package, tar, &fx.key, |_| {});
    let options = UnsealOptions {
        limits,
        ..UnsealOptions::default()
    };
    let err = open_with(&package, &fx.identity, &fx.path("work/out"), &options)
        .expect_err("open must refuse");
    assert!(
        !fx.path("work/out").exists(),
        "output left behind after: {err}"
    );
    let left: Vec<_> = std::fs::read_dir(fx.path("work"))
        .expect("test setup")
        .collect();
    assert!(
        left.is_empty(),
        "temporary directory left behind after: {err}"
    );
    // verify sees the same problem.
    let verify_err =
        verify_with(&package, Some(&fx.identity), &options).expect_err("verify must refuse");
    assert_eq!(
        std::mem::discriminant(&verify_err),
        std::mem::discriminant(&err),
        "verify: {verify_err}; open: {err}"
    );
    err
}

/// A fixture with a genuine package `p.age` whose statement serves as the template for crafted ones.
fn fixture() -> Fixture {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("work")).expect("test setup");
    fx.write_files(&[("genuine.txt", b"genuine")]);
    fx.seal(&["genuine.txt"], "p.age");
    fx
}

fn refused(err: &EvidenceError) -> (&str, &str) {
    match err {
        EvidenceError::UnsafeEntry { entry, reason } => (entry, reason),
        other => panic!("expected an unsafe entry, got: {other}"),
    }
}

#[test]
fn path_traversal_is_refused() {
    let fx = fixture();
    for name in [
        "../escaped.txt",
        "data/../../escaped.txt",
        "data/a/../../../escaped.txt",
        "..",
    ] {
        let err = try_open(
            &fx,
            &raw_tar(&[RawEntry::file(name, b"gotcha")]),
            Limits::default(),
        );
        let (entry, reason) = refused(&err);
        assert_eq!(entry, name);
        assert!(reason.contains(".."), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    assert!(!fx.path("escaped.txt").exists());
    assert!(!fx.dir.path().parent().unwrap().join("escaped.txt").exists());
}

#[test]
fn absolute_paths_are_refused() {
    let fx = fixture();
    let target = fx.path("absolute-target.txt");
    let name = target.to_str().unwrap().to_owned();
    let err = try_open(
        &fx,
        &raw_tar(&[RawEntry::file(&name, b"gotcha")]),
        Limits::default(),
    );
    assert!(refused(&err).1.contains("absolute"), "{err}");
    assert!(!target.exists());
}

#[test]
fn links_of_any_kind_are_refused() {
    let fx = fixture();
    for (kind, target) in [
        (tar::EntryType::Symlink, &b"/etc"[..]),
        (tar::EntryType::Symlink, &b"inside.txt"[..]),
        (tar::EntryType::Link, &b"data/a.txt"[..]),
    ] {
        let tar = raw_tar(&[
            RawEntry::file("data/a.txt", b"a"),
            RawEntry {
                name: b"data/link",
                kind,
                content: b"",
                link: target,
                claimed_size: None,
            },
            RawEntry::file("data/link/passwd", b"write through the link"),
        ]);
        let err = try_open(&fx, &tar, Limits::default());
        let (entry, reason) = refused(&err);
        assert_eq!(entry, "data/link");
        assert!(reason.contains("link"), "{err}");
        assert!(
            reason.contains(std::str::from_utf8(target).unwrap()),
            "{err}"
        );
    }
}

#[test]
fn device_and_fifo_entries_are_refused() {
    let fx = fixture();
    for kind in [
        tar::EntryType::Char,
        tar::EntryType::Block,
        tar::EntryType::Fifo,
    ] {
        let tar = raw_tar(&[RawEntry {
            name: b"data/dev",
            kind,
            content: b"",
            link: b"",
            claimed_size: None,
        }]);
        let err = try_open(&fx, &tar, Limits::default());
        assert!(refused(&err).1.contains("not allowed"), "{err}");
    }
}

#[test]
fn duplicate_names_are_refused() {
    let fx = fixture();
    let cases: [&[RawEntry<'_>]; 3] = [
        &[
            RawEntry::file("data/a.txt", b"first"),
            RawEntry::file("data/a.txt", b"second"),
        ],
        // The same name spelled differently.
        &[
            RawEntry::file("data/a.txt", b"first"),
            RawEntry::file("./data//a.txt", b"second"),
        ],
        // A name used as a file and then as a directory.
        &[
            RawEntry::file("data/a", b"file"),
            RawEntry::file("data/a/b.txt", b"inside a file?"),
        ],
    ];
    for entries in cases {
        let err = try_open(&fx, &raw_tar(entries), Limits::default());
        assert!(refused(&err).1.contains("duplicate"), "{err}");
    }
}

#[test]
fn absurd_sizes_are_refused_before_anything_is_written() {
    let fx = fixture();
    // A header claiming far more than the whole package holds.
    let tar = raw_tar(&[RawEntry {
        claimed_size: Some(1 << 40),
        ..RawEntry::file("data/huge.bin", b"tiny")
    }]);
    let err = try_open(&fx, &tar, Limits::default());
    assert!(
        matches!(&err, EvidenceError::TooLarge { entry, why: "remain in the package", .. } if entry == "data/huge.bin"),
        "{err}"
    );

    // An honest entry over the configured cap.
    let content = vec![1u8; 10_000];
    let tar = raw_tar(&[
        RawEntry::file("data/a.bin", &content),
        RawEntry::file("data/b.bin", &content),
    ]);
    let limits = Limits {
        max_payload_bytes: 15_000,
        ..Limits::default()
    };
    let err = try_open(&fx, &tar, limits);
    assert!(
        matches!(&err, EvidenceError::TooLarge { entry, limit_bytes: 5_000, .. } if entry == "data/b.bin"),
        "{err}"
    );
    assert!(err.to_string().contains("size limit"), "{err}");

    // Too many entries.
    let tar = raw_tar(&[
        RawEntry::file("data/1", b"1"),
        RawEntry::file("data/2", b"2"),
        RawEntry::file("data/3", b"3"),
    ]);
    let limits = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let err = try_open(&fx, &tar, limits);
    assert!(refused(&err).1.contains("more than 2 entries"), "{err}");
}

#[test]
fn a_well_formed_archive_that_is_not_our_bag_is_named_precisely() {
    let fx = fixture();
    let tar = raw_tar(&[RawEntry::file("data/a.txt", b"a")]);
    let err = try_open(&fx, &tar, Limits::default());
    assert!(
        matches!(&err, EvidenceError::Bag { file, .. } if file == "bagit.txt"),
        "{err}"
    );
}

#[test]
fn plain_open_uses_the_default_limits() {
    let fx = fixture();
    let tar = raw_tar(&[RawEntry::file("../x", b"x")]);
    fx.reseal_tar(&fx.path("p.age"), &tar, &fx.key, |_| {});
    let err = open(&fx.path("p.age"), &fx.identity, &fx.path("work/out")).unwrap_err();
    assert!(matches!(err, EvidenceError::UnsafeEntry { .. }), "{err}");
}
