//! The `comity-evidence` command end to end: exit codes, one-line errors, `--json`, and quiet output when piped.

mod common;

use std::process::{Command, Output};

use common::Fixture;

fn run(fx: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity-evidence"))
        .current_dir(fx.dir.path())
        .args(args)
        .output()
        .expect("run comity-evidence")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn sealed(fx: &Fixture) -> serde_json::Value {
    fx.write_files(&[("in/a.txt", b"alpha"), ("in/sub/b.txt", b"beta")]);
    let key = fx.key_file();
    let recipient = fx.recipient().to_string();
    let out = run(
        fx,
        &[
            "seal",
            "--recipient",
            &recipient,
            "--signing-key",
            key.to_str().expect("utf-8 path"),
            "--request",
            "REQ-9",
            "--source-organization",
            "Bundeskriminalamt",
            "--legal-basis",
            "MLA treaty, article 4",
            "--out",
            "p.age",
            "--json",
            "in",
        ],
    );
    assert!(out.status.success(), "seal failed: {}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "",
        "nothing on stderr when it is not a terminal"
    );
    json(&out)
}

#[test]
fn seal_verify_open_with_json_output() {
    let fx = Fixture::new();
    let sealed = sealed(&fx);
    assert_eq!(sealed["statement"]["request_id"], "REQ-9");
    assert_eq!(sealed["statement"]["bag"]["payload_files"], 2);
    let digest = sealed["statement"]["package"]["sha256"]
        .as_str()
        .expect("digest")
        .to_owned();

    let out = run(&fx, &["verify", "p.age", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["bag_checked"], false);
    assert_eq!(report["producer_pinned"], false);
    assert_eq!(report["statement"]["package"]["sha256"], digest.as_str());

    let identity = fx.identity_file();
    let producer = fx.key.public_key().to_string();
    let identity = identity.to_str().expect("utf-8 path");
    let out = run(
        &fx,
        &[
            "verify",
            "p.age",
            "--identity",
            identity,
            "--producer-key",
            &producer,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["bag_checked"], true);
    assert_eq!(report["producer_pinned"], true);
    assert_eq!(report["payload_files"], 2);

    let out = run(
        &fx,
        &[
            "open",
            "p.age",
            "--identity",
            identity,
            "--out",
            "opened",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["verification"]["payload_bytes"], 9);
    assert_eq!(
        std::fs::read(fx.path("opened/data/in/sub/b.txt")).expect("extracted"),
        b"beta"
    );

    // Human output says what was checked.
    let out = run(&fx, &["verify", "p.age"]);
    assert!(stdout(&out).contains("bag not checked"), "{}", stdout(&out));
    assert!(stdout(&out).contains("--producer-key"), "{}", stdout(&out));
}

#[test]
fn failures_exit_1_with_one_line_naming_the_problem() {
    let fx = Fixture::new();
    sealed(&fx);
    let identity = fx.identity_file();
    let identity = identity.to_str().expect("utf-8 path");
    fx.tamper_inside(&fx.path("p.age"), |tar| {
        common::flip_in_entry(tar, "data/in/a.txt", 2)
    });

    let out = run(&fx, &["verify", "p.age", "--identity", identity]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: bag check failed: `data/in/a.txt`"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");

    let out = run(
        &fx,
        &["open", "p.age", "--identity", identity, "--out", "opened"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("data/in/a.txt"), "{}", stderr(&out));
    assert!(!fx.path("opened").exists());

    let out = run(
        &fx,
        &["verify", "p.age", "--producer-key", "ed25519:nonsense"],
    );
    assert_eq!(out.status.code(), Some(2), "clap rejects a malformed key");

    let key = fx.key_file();
    let out = run(
        &fx,
        &[
            "seal",
            "-r",
            "age1notarecipient",
            "--signing-key",
            key.to_str().expect("utf-8"),
            "--out",
            "q.age",
            "in",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`age1notarecipient` is not an age X25519 recipient"),
        "{}",
        stderr(&out)
    );

    let out = run(&fx, &["verify", "missing.age"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("missing.age.seal.json"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &fx,
        &[
            "open",
            "p.age",
            "--identity",
            "no-such-identity.txt",
            "--out",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no-such-identity.txt"),
        "{}",
        stderr(&out)
    );
}
