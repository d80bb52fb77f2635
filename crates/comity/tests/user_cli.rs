//! `comity user add|disable|reset|list` end to end: the password comes from standard input, the TOTP secret is
//! printed once, and bad input is refused with a line saying what to do.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn comity(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env_remove("COMITY_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn init(dir: &Path) {
    let d = dir.to_str().unwrap();
    let o = comity(
        &[
            "init",
            "--dir",
            d,
            "--authority",
            "fr-247",
            "--state",
            "FR",
            "--kind",
            "contact-point",
            "--name",
            "Test",
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
}

#[test]
fn add_list_disable_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let d = dir.to_str().unwrap();

    let added = comity(
        &[
            "user",
            "add",
            "--dir",
            d,
            "amira",
            "--role",
            "caseworker",
            "--language",
            "ar",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success(), "{}", out(&added));
    let text = out(&added);
    assert!(text.contains("TOTP secret (shown once"), "{text}");
    assert!(
        text.contains("otpauth://totp/comity%20fr-247:amira?secret="),
        "{text}"
    );
    assert!(
        !text.contains("a long enough password"),
        "the password is never echoed"
    );

    let listed = comity(&["user", "list", "--dir", d], "");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "amira\tcaseworker\tfr-247\tar\tenabled\n"
    );

    let again = comity(
        &["user", "add", "--dir", d, "amira", "--role", "judge"],
        "another long password\n",
    );
    assert!(!again.status.success());
    assert!(
        out(&again).contains("user `amira` exists already"),
        "{}",
        out(&again)
    );

    let short = comity(
        &["user", "add", "--dir", d, "bob", "--role", "judge"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(
        out(&short).contains("at least 12 characters"),
        "{}",
        out(&short)
    );

    let bad_role = comity(
        &["user", "add", "--dir", d, "bob", "--role", "sheriff"],
        "a long enough password\n",
    );
    assert!(!bad_role.status.success());
    assert!(
        out(&bad_role).contains("unknown role `sheriff`"),
        "{}",
        out(&bad_role)
    );

    let no_password = comity(&["user", "add", "--dir", d, "bob", "--role", "judge"], "");
    assert!(!no_password.status.success());
    assert!(
        out(&no_password).contains("no password on standard input"),
        "{}",
        out(&no_password)
    );

    let disabled = comity(&["user", "disable", "--dir", d, "amira"], "");
    assert!(disabled.status.success(), "{}", out(&disabled));
    let listed = comity(&["user", "list", "--dir", d], "");
    assert!(String::from_utf8_lossy(&listed.stdout).ends_with("disabled\n"));

    let reset = comity(
        &["user", "reset", "--dir", d, "amira"],
        "a brand new password\n",
    );
    assert!(reset.status.success(), "{}", out(&reset));
    assert!(out(&reset).contains("TOTP secret"));
    let listed = comity(&["user", "list", "--dir", d], "");
    assert!(String::from_utf8_lossy(&listed.stdout).ends_with("enabled\n"));

    let missing = comity(&["user", "disable", "--dir", d, "nobody"], "");
    assert!(!missing.status.success());
    assert!(
        out(&missing).contains("user `nobody` does not exist"),
        "{}",
        out(&missing)
    );
}
