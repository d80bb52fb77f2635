//! The command line end to end: real processes, real files, real exit codes.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("USER", "tester")
        .env_remove("COMITY_LOG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn init(dir: &Path) {
    let out = comity(&[
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--authority",
        "fr-247",
        "--state",
        "fr",
        "--kind",
        "contact-point",
        "--name",
        "Test 24/7",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
}

/// Every file below `dir` with its contents, to prove that nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    all.sort();
    all
}

#[test]
fn init_creates_a_node_with_private_keys_and_refuses_to_run_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    for f in [
        "config.toml",
        "signing.key",
        "age.key",
        "api.token",
        "node.db",
        "tls.crt",
        "tls.key",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    #[cfg(unix)]
    for f in ["signing.key", "age.key", "api.token", "tls.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        config.contains("state = \"FR\"") && config.contains("kind = \"contact-point\""),
        "{config}"
    );
    let pinned = comity_node::config::open(&dir)
        .unwrap()
        .config
        .tls_cert_sha256
        .unwrap();
    let cert = comity_node::tls::read_cert(&dir).unwrap();
    assert_eq!(pinned, comity_node::tls::fingerprint(cert.as_ref()));

    let before = snapshot(&dir);
    let out = comity(&[
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--authority",
        "fr-999",
        "--state",
        "FR",
        "--kind",
        "judicial",
        "--name",
        "Other",
    ]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("already holds a comity node") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before, "a refused init changed the node");
}

#[test]
fn init_rejects_bad_values_with_the_fix_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    for (flag, value, needle) in [
        ("--state", "XX", "is not an ISO 3166-1 alpha-2 country code"),
        ("--state", "FRA", "for example `FR`"),
        (
            "--kind",
            "police",
            "use one of central-authority, contact-point",
        ),
        ("--authority", "FR 247", "is not an authority id"),
    ] {
        let mut args = vec![
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--authority",
            "fr-247",
            "--state",
            "FR",
            "--kind",
            "provider",
            "--name",
            "N",
        ];
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = value;
        let out = comity(&args);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{flag} {value}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{flag} {value}: {err}"
        );
        assert!(!dir.exists(), "{flag} {value} left a directory behind");
    }
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let out = comity(&[
        "init",
        "--dir",
        busy.to_str().unwrap(),
        "--authority",
        "fr-247",
        "--state",
        "FR",
        "--kind",
        "provider",
        "--name",
        "N",
    ]);
    assert!(text(&out).1.contains("is not empty"), "{:?}", text(&out));
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);
}

#[test]
fn requests_from_files_through_their_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let d = dir.to_str().unwrap();
    let out = comity(&[
        "case",
        "new",
        "--dir",
        d,
        "--reference",
        "FR-1",
        "--title",
        "Hospital",
        "--json",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let case: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let case_id = case["id"].as_str().unwrap();

    let bad = data("bad-request.json");
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case_id,
        "--file",
        bad.to_str().unwrap(),
    ]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("/document/requested_state: `ZZ` is not an ISO 3166-1"),
        "{err}"
    );
    assert!(
        err.contains(
            "/document/offences/0/catalogue_entry: `blasphemy` is not in the offence catalogue"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        comity(&["request", "list", "--dir", d, "--json"]).stdout,
        b"[]\n"
    );

    let not_json = tmp.path().join("x.json");
    std::fs::write(&not_json, b"{\"mechanism\": 12}").unwrap();
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case_id,
        "--file",
        not_json.to_str().unwrap(),
    ]);
    assert!(text(&out).1.contains("at `mechanism`"), "{:?}", text(&out));
    std::fs::write(&not_json, b"\xff\xfe").unwrap();
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case_id,
        "--file",
        not_json.to_str().unwrap(),
    ]);
    assert!(text(&out).1.contains("is not UTF-8"), "{:?}", text(&out));

    let good = data("preservation.json");
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case_id,
        "--file",
        good.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = r["id"].as_str().unwrap();

    let out = comity(&["request", "transition", "--dir", d, id, "execute"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.trim(),
        "error: cannot `execute`: the request is `draft`; allowed next steps: submit-for-authorisation, send, withdraw"
    );

    for action in ["send", "receive", "preserve"] {
        let out = comity(&["request", "transition", "--dir", d, id, action]);
        assert!(out.status.success(), "{action}: {:?}", text(&out));
    }
    let out = comity(&["request", "transition", "--dir", d, id, "release"]);
    assert!(
        out.status.success(),
        "release needs no reason: {:?}",
        text(&out)
    );
    let out = comity(&["request", "show", "--dir", d, id]);
    let (shown, _) = text(&out);
    assert!(
        shown.contains("expedited-preservation  released"),
        "{shown}"
    );
    assert!(shown.contains("by cli:tester"), "{shown}");

    let out = comity(&["request", "list", "--dir", d, "--due"]);
    assert!(out.status.success());
    let out = comity(&["request", "list", "--dir", d, "--state", "pending"]);
    assert!(
        text(&out).1.contains("`pending` is not a known state"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn rules_list_shows_every_mechanism_and_follows_the_data() {
    let out = comity(&["rules", "list"]);
    let (list, _) = text(&out);
    assert!(out.status.success());
    for id in [
        "expedited-preservation",
        "emergency-disclosure",
        "interception",
        "asset-return",
        "joint-investigation",
    ] {
        assert!(list.contains(id), "{id} missing");
    }
    assert!(list.contains("BC Art 29(7) [V]"), "clock citation missing");

    let tmp = tempfile::tempdir().unwrap();
    let changed = tmp.path().join("catalogue.toml");
    let text_in = comity_core::catalogue::EMBEDDED.replace(
        "article = \"29(7)\", tag = \"V\"",
        "article = \"29(7)(a)\", tag = \"U\"",
    );
    assert_ne!(text_in, comity_core::catalogue::EMBEDDED);
    std::fs::write(&changed, text_in).unwrap();
    let out = comity(&[
        "rules",
        "show",
        "expedited-preservation",
        "--catalogue",
        changed.to_str().unwrap(),
    ]);
    let (shown, _) = text(&out);
    assert!(
        shown.contains("BC Art 29(7)(a) [U]") && !shown.contains("BC Art 29(7) [V]"),
        "{shown}"
    );

    std::fs::write(&changed, "schema = 1\n").unwrap();
    let out = comity(&["rules", "list", "--catalogue", changed.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("missing field"), "{:?}", text(&out));
    let out = comity(&["rules", "show", "teleportation"]);
    assert!(
        text(&out).1.contains("is not a mechanism; use one of:"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn the_demo_runs_once_and_every_step_checks_out() {
    let out = comity(&["demo", "--once"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn log_prove_check_proof_and_verify_catch_a_tampered_tile() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let d = dir.to_str().unwrap();
    let out = comity(&[
        "case",
        "new",
        "--dir",
        d,
        "--reference",
        "R-9",
        "--title",
        "t",
        "--json",
    ]);
    let case: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let good = data("preservation.json");
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case["id"].as_str().unwrap(),
        "--file",
        good.to_str().unwrap(),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = r["id"].as_str().unwrap().to_owned();
    for action in ["send", "receive"] {
        assert!(
            comity(&["request", "transition", "--dir", d, &id, action])
                .status
                .success()
        );
    }
    let proof_file = tmp.path().join("proof.json");
    let event = format!("{id}:2");
    let out = comity(&[
        "log",
        "prove",
        "--dir",
        d,
        "--event",
        &event,
        "--out",
        proof_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let key = config
        .lines()
        .find_map(|l| l.strip_prefix("log_public_key = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let out = comity(&[
        "log",
        "check-proof",
        proof_file.to_str().unwrap(),
        "--log-key",
        &key,
    ]);
    assert!(
        text(&out)
            .0
            .starts_with("proof ok: leaf 1 of `comity.example/fr-247` at size 2"),
        "{:?}",
        text(&out)
    );
    let out = comity(&[
        "log",
        "check-proof",
        proof_file.to_str().unwrap(),
        "--log-key",
        "nonsense",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out).1.lines().count(), 1, "{:?}", text(&out));
    let out = comity(&[
        "log", "prove", "--dir", d, "--event", "no-seq", "--out", "x",
    ]);
    assert!(
        text(&out).1.contains("give it as REQUEST_ID:SEQ"),
        "{:?}",
        text(&out)
    );

    let mut server = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["serve", "--dir", d, "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    // Keep the pipe open while the node runs: it prints more lines.
    let mut server_out = std::io::BufReader::new(server.stdout.take().unwrap());
    server_out.read_line(&mut first).unwrap();
    let url = first
        .split("https://")
        .nth(1)
        .map(|u| format!("https://{}", u.trim()))
        .unwrap();
    // The node serves HTTPS; the verifier trusts exactly the certificate the node's config pins.
    let fp = comity_node::config::open(&dir)
        .unwrap()
        .config
        .tls_cert_sha256
        .unwrap();
    let out = comity(&["log", "verify", "--url", &url, "--log-key", &key]);
    assert!(
        !out.status.success() && text(&out).1.contains("--tls-cert-sha256"),
        "{:?}",
        text(&out)
    );
    let wrong = "00".repeat(32);
    let out = comity(&[
        "log",
        "verify",
        "--url",
        &url,
        "--tls-cert-sha256",
        &wrong,
        "--log-key",
        &key,
    ]);
    assert!(
        !out.status.success() && text(&out).1.contains("certificate"),
        "a wrong pin is refused: {:?}",
        text(&out)
    );
    let state = tmp.path().join("verifier.state");
    let s = state.to_str().unwrap();
    let out = comity(&[
        "log",
        "verify",
        "--url",
        &url,
        "--tls-cert-sha256",
        &fp,
        "--log-key",
        &key,
        "--state-file",
        s,
    ]);
    assert!(
        text(&out)
            .0
            .starts_with("log `comity.example/fr-247` ok: size 2"),
        "{:?}",
        text(&out)
    );
    let out = comity(&[
        "log",
        "verify",
        "--url",
        &url,
        "--tls-cert-sha256",
        &fp,
        "--state-file",
        s,
    ]);
    assert!(
        text(&out).0.contains("consistent with size 2 seen before"),
        "{:?}",
        text(&out)
    );
    let out = comity(&[
        "log",
        "verify",
        "--url",
        &url,
        "--tls-cert-sha256",
        &fp,
        "--state-file",
        s,
        "--witness-key",
        "nobody",
    ]);
    assert_eq!(out.status.code(), Some(1));

    // Tamper with an entry while the node serves it.
    let bundle = dir.join("log/tile/entries/000.p/2");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bundle, &bytes).unwrap();
    let out = comity(&[
        "log",
        "verify",
        "--url",
        &url,
        "--tls-cert-sha256",
        &fp,
        "--state-file",
        s,
    ]);
    let (_, err) = text(&out);
    server.kill().unwrap();
    let _ = server.wait();
    drop(server_out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("inconsistent log") || err.contains("not a comity leaf"),
        "{err}"
    );
}

#[test]
fn rules_check_shows_findings_and_fails_when_sending_would_be_refused() {
    let good = data("preservation.json");
    let out = comity(&[
        "rules",
        "check",
        good.to_str().unwrap(),
        "--to",
        "BR",
        "--from",
        "FR",
        "--from-kind",
        "contact-point",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("may be sent"), "{stdout}");

    let out = comity(&[
        "rules",
        "check",
        good.to_str().unwrap(),
        "--to",
        "VN",
        "--from",
        "FR",
        "--from-kind",
        "contact-point",
    ]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("block language.not-accepted"), "{stdout}");
    assert!(stdout.contains("block instrument.not-party"), "{stdout}");
    assert!(
        stdout.contains("blocked: sending would be refused"),
        "{stdout}"
    );

    let out = comity(&["rules", "check", good.to_str().unwrap(), "--to", "BR"]);
    assert!(text(&out).1.contains("--from CC"), "{:?}", text(&out));
}

#[test]
fn the_directory_is_drafted_signed_verified_and_loaded_and_forgeries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let node = tmp.path().join("node");
    init(&node);
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let out = comity(&["directory", "operator-key", "--out", &p("operator.key")]);
    let (stdout, _) = text(&out);
    let operator = stdout
        .lines()
        .find_map(|l| l.split(": ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert!(operator.starts_with("ed25519:"), "{stdout}");
    let ok = |args: &[&str]| {
        let out = comity(args);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        text(&out).0
    };
    ok(&[
        "directory",
        "add",
        "--draft",
        &p("draft.json"),
        "--node",
        node.to_str().unwrap(),
        "--endpoint",
        "https://127.0.0.1:7410",
    ]);
    let draft = std::fs::read_to_string(p("draft.json")).unwrap();
    let fingerprint = comity_node::config::open(&node)
        .unwrap()
        .config
        .tls_cert_sha256
        .unwrap();
    assert!(
        draft.contains(&format!("\"tls_cert_sha256\": \"{fingerprint}\"")),
        "{draft}"
    );
    ok(&[
        "directory",
        "publish",
        "--draft",
        &p("draft.json"),
        "--operator-key",
        &p("operator.key"),
        "--out",
        &p("v1.json"),
    ]);
    let verified = ok(&[
        "directory",
        "verify",
        &p("v1.json"),
        "--operator",
        &operator,
    ]);
    assert!(verified.contains("version 1"), "{verified}");
    let loaded = ok(&[
        "directory",
        "load",
        "--dir",
        node.to_str().unwrap(),
        "--pin",
        &operator,
        &p("v1.json"),
    ]);
    assert!(loaded.contains("version 1"), "{loaded}");

    // The same version again, and a directory signed by someone else, are refused; version 1 stays in force.
    let out = comity(&[
        "directory",
        "load",
        "--dir",
        node.to_str().unwrap(),
        &p("v1.json"),
    ]);
    assert!(text(&out).1.contains("not newer"), "{:?}", text(&out));
    ok(&["directory", "operator-key", "--out", &p("thief.key")]);
    ok(&[
        "directory",
        "revoke",
        "--draft",
        &p("draft.json"),
        "--authority",
        "fr-247",
        "--reason",
        "key stolen",
    ]);
    ok(&[
        "directory",
        "publish",
        "--draft",
        &p("draft.json"),
        "--operator-key",
        &p("thief.key"),
        "--out",
        &p("v2.json"),
    ]);
    let out = comity(&[
        "directory",
        "load",
        "--dir",
        node.to_str().unwrap(),
        &p("v2.json"),
    ]);
    assert!(
        text(&out)
            .1
            .contains("not signed by the pinned operator key"),
        "{:?}",
        text(&out)
    );
    let out = comity(&[
        "directory",
        "verify",
        &p("v2.json"),
        "--operator",
        &operator,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let shown = ok(&["directory", "show", &p("v2.json")]);
    assert!(shown.contains("REVOKED"), "{shown}");
}

#[test]
fn insecure_http_is_refused_off_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let out = comity(&[
        "serve",
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
        "--insecure-http",
    ]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("plain HTTP is served only on loopback")
            && err.contains("listen on 127.0.0.1 or drop --insecure-http"),
        "{err}"
    );
}

#[test]
fn evidence_is_sealed_inside_a_node_to_an_authority_of_its_directory_and_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let ok = |args: &[&str]| {
        let out = comity(args);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        text(&out).0
    };
    let fr = tmp.path().join("fr");
    init(&fr);
    ok(&[
        "init",
        "--dir",
        &p("br"),
        "--authority",
        "br-247",
        "--state",
        "br",
        "--kind",
        "contact-point",
        "--name",
        "Brazil 24/7",
    ]);
    let stdout = ok(&["directory", "operator-key", "--out", &p("operator.key")]);
    let operator = stdout
        .lines()
        .find_map(|l| l.split(": ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    for (node, port) in [(p("fr"), "7411"), (p("br"), "7412")] {
        ok(&[
            "directory",
            "add",
            "--draft",
            &p("draft.json"),
            "--node",
            &node,
            "--endpoint",
            &format!("https://127.0.0.1:{port}"),
        ]);
    }
    ok(&[
        "directory",
        "publish",
        "--draft",
        &p("draft.json"),
        "--operator-key",
        &p("operator.key"),
        "--out",
        &p("v1.json"),
    ]);
    for node in [p("fr"), p("br")] {
        ok(&[
            "directory",
            "load",
            "--dir",
            &node,
            "--pin",
            &operator,
            &p("v1.json"),
        ]);
    }
    let fr_dir = p("fr");
    let case: serde_json::Value = serde_json::from_str(&ok(&[
        "case",
        "new",
        "--dir",
        &fr_dir,
        "--reference",
        "FR-9",
        "--title",
        "t",
        "--json",
    ]))
    .unwrap();
    let new = |file: &str| {
        let r: serde_json::Value = serde_json::from_str(&ok(&[
            "request",
            "new",
            "--dir",
            &fr_dir,
            "--case",
            case["id"].as_str().unwrap(),
            "--file",
            data(file).to_str().unwrap(),
            "--json",
        ]))
        .unwrap();
        r["id"].as_str().unwrap().to_owned()
    };
    let sent = new("preservation.json");
    let local = new("preservation.json");
    // Sending links the request to br-247 through the directory (delivery happens once a node serves).
    ok(&["request", "transition", "--dir", &fr_dir, &sent, "send"]);
    std::fs::create_dir_all(p("data")).unwrap();
    std::fs::write(
        tmp.path().join("data/logs.txt"),
        b"203.0.113.9 2026-11-20\n",
    )
    .unwrap();

    // br-247's age key comes from the directory; fr's own key signs; the request's thread is recorded.
    let out = ok(&[
        "evidence",
        "seal",
        "--dir",
        &fr_dir,
        "--to",
        "br-247",
        "--request",
        &sent,
        "--out",
        &p("pkg.age"),
        &p("data"),
    ]);
    assert!(out.contains("sealed 1 file(s)"), "{out}");
    let fr_key = comity_node::config::open(&fr)
        .unwrap()
        .identity
        .signing_public_key;
    let verified = ok(&[
        "evidence",
        "verify",
        &p("pkg.age"),
        "--identity",
        &format!("{}/age.key", p("br")),
        "--producer-key",
        &fr_key,
    ]);
    assert!(verified.contains("bag checked"), "{verified}");
    assert!(tmp.path().join("pkg.age.seal.json").exists());

    // Refusals name the fix: an authority not in the directory, a request that is not linked, a key and a node.
    for (args, needle) in [
        (
            vec!["--to", "xx-nobody", "--request", sent.as_str()],
            "`xx-nobody` is not in directory version 1",
        ),
        (
            vec!["--to", "br-247", "--request", local.as_str()],
            "was neither received from nor sent to",
        ),
    ] {
        let mut all = vec!["evidence", "seal", "--dir", fr_dir.as_str()];
        all.extend(args);
        let out_file = p("other.age");
        all.extend(["--out", out_file.as_str(), "--"]);
        let data_dir = p("data");
        all.push(data_dir.as_str());
        let out = comity(&all);
        assert!(!out.status.success());
        assert!(text(&out).1.contains(needle), "{:?}", text(&out));
        assert!(!tmp.path().join("other.age").exists());
    }
    let out = comity(&[
        "evidence",
        "seal",
        "--to",
        "br-247",
        "--out",
        &p("x.age"),
        &p("data"),
    ]);
    assert!(!out.status.success(), "--to needs --dir");

    // Attached and queued; listed with its status.
    let out = ok(&[
        "evidence",
        "send",
        "--dir",
        &fr_dir,
        "--request",
        &sent,
        &p("pkg.age"),
    ]);
    assert!(
        out.contains("outgoing to br-247 (pending, 0/1 chunks)"),
        "{out}"
    );
    assert!(out.contains("queued"), "{out}");
    let listed = ok(&[
        "evidence",
        "list",
        "--dir",
        &fr_dir,
        "--request",
        &sent,
        "--json",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["evidence"][0]["transfer"], "pending");
    assert_eq!(listed["evidence"][0]["seal_status"], "statement");
    let out = comity(&[
        "evidence",
        "send",
        "--dir",
        &fr_dir,
        "--request",
        &sent,
        &p("pkg.age"),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("exists already"), "{:?}", text(&out));
    let out = comity(&[
        "evidence",
        "send",
        "--dir",
        &fr_dir,
        "--request",
        &local,
        &p("pkg.age"),
    ]);
    assert!(
        text(&out).1.contains("nothing was stored"),
        "{:?}",
        text(&out)
    );
}

fn comity_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("USER", "tester")
        .env_remove("COMITY_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_judge_signs_with_their_own_key_and_records_keep_the_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let out = comity(&[
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--authority",
        "fr-central",
        "--state",
        "fr",
        "--kind",
        "central-authority",
        "--name",
        "Central authority",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let d = dir.to_str().unwrap();
    let password = "the judge's own passphrase\n";
    let out = comity_with_stdin(
        &["user", "add", "--dir", d, "jeanne", "--role", "judge"],
        password,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = comity(&[
        "case",
        "new",
        "--dir",
        d,
        "--reference",
        "FR-9",
        "--title",
        "t",
        "--json",
    ]);
    let case: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = tmp.path().join("mla.json");
    std::fs::write(
        &doc,
        serde_json::json!({
            "mechanism": "mla-stored-data",
            "requested_state": "BR",
            "instrument": "BC",
            "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
            "summary_of_facts": "Intrusion",
            "data_sought": [{"category": "content", "description": "messages"}],
            "relation_to_offence": "origin",
            "necessity": "only the host holds them",
            "assistance_sought": "search and seizure",
            "purpose": "Prosecution",
            "language": "en"
        })
        .to_string(),
    )
    .unwrap();
    let out = comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--case",
        case["id"].as_str().unwrap(),
        "--file",
        doc.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let request: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = request["id"].as_str().unwrap();
    let step = |action: &str| comity(&["request", "transition", "--dir", d, id, action]);
    assert!(step("submit-for-authorisation").status.success());

    // Without the judge's signature, and with a wrong password: refused with the way out, exit 1.
    let out = step("authorise");
    assert!(!out.status.success());
    assert!(text(&out).1.contains("/authorisation"), "{:?}", text(&out));
    let out = comity_with_stdin(
        &[
            "request",
            "transition",
            "--dir",
            d,
            id,
            "authorise",
            "--judge",
            "jeanne",
        ],
        "not the password\n",
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("does not open"), "{:?}", text(&out));
    let out = comity_with_stdin(
        &[
            "request",
            "transition",
            "--dir",
            d,
            id,
            "authorise",
            "--judge",
            "jeanne",
            "--json",
        ],
        password,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "authorised");
    assert!(step("send").status.success());

    // Onward use beyond the stated purpose needs a recorded consent.
    let onward = || {
        comity(&[
            "request",
            "onward-use",
            "--dir",
            d,
            id,
            "--purpose",
            "Tax inspection",
            "--recipient",
            "requesting-authority",
        ])
    };
    let out = onward();
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("onward.consent-required"),
        "{:?}",
        text(&out)
    );
    let out = comity(&[
        "request",
        "consent",
        "--dir",
        d,
        id,
        "--reference",
        "BR-2026-7",
        "--purpose",
        "Tax inspection",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(onward().status.success());

    // Notice: a review date in the past is refused; a deferral is recorded and not yet due.
    let out = comity(&[
        "request",
        "notice",
        "--dir",
        d,
        id,
        "--defer-until",
        "2020-01-01T00:00:00Z",
        "--reason",
        "would alert the suspect",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("/review_on"), "{:?}", text(&out));
    let out = comity(&[
        "request",
        "notice",
        "--dir",
        d,
        id,
        "--defer-until",
        "2099-01-01T00:00:00Z",
        "--reason",
        "would alert the suspect",
        "--json",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "sent", "records keep the state");
    assert_eq!(v["records"]["notice"]["status"], "deferred");
    let out = comity(&["request", "reminders", "--dir", d]);
    assert!(out.status.success());
    assert!(text(&out).0.contains("no notice review is due"));
}

#[test]
fn log_reconcile_explains_bad_keys_states_and_unreachable_nodes() {
    let run = |a_key: &str, a_state: &str, a_url: &str| {
        comity(&[
            "log",
            "reconcile",
            "--a-url",
            a_url,
            "--a-log-key",
            a_key,
            "--a-state",
            a_state,
            "--b-url",
            "http://127.0.0.1:9",
            "--b-log-key",
            a_key,
            "--b-state",
            "BR",
        ])
    };
    let out = run("not-a-key", "FR", "http://127.0.0.1:9");
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("is not a verifier key"),
        "{:?}",
        text(&out)
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let key = config
        .lines()
        .find_map(|l| l.strip_prefix("log_public_key = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let key = key.as_str();
    let out = run(key, "Atlantis", "http://127.0.0.1:9");
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--a-state"), "{:?}", text(&out));
    let out = run(key, "FR", "http://127.0.0.1:9");
    assert!(!out.status.success());
    assert!(text(&out).1.contains("does not verify"), "{:?}", text(&out));
}
