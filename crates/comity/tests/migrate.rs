//! `comity migrate` end to end against the real PostgreSQL: a node moves from its SQLite file with ids, events and
//! accounts intact, a second run is refused in one line, and the node then runs on PostgreSQL from its config, its
//! log carrying on where it was.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("USER", "tester")
        .env_remove("COMITY_LOG")
        .env_remove("COMITY_DATABASE")
        .env_remove("COMITY_MIGRATE_TO")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The test server: `COMITY_TEST_POSTGRES_URL`, or the local default if something listens on 5432.
fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var("COMITY_TEST_POSTGRES_URL") {
        return Some(url);
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
        .ok()
        .map(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema on the server, dropped at the end; its URL points into it as a user would write it.
struct Schema {
    url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Schema {
    fn new(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!(
            "comity_cli_migrate_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .await
                .unwrap();
            client
        });
        let sep = if url.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{url}{sep}options=-csearch_path%3D{name}"),
            name,
            runtime,
            client,
        }
    }

    fn count(&self, sql: &str) -> i64 {
        let sql = sql.replace("SCHEMA", &self.name);
        self.runtime
            .block_on(self.client.query_one(&sql, &[]))
            .unwrap()
            .get(0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if self
            .runtime
            .block_on(self.client.batch_execute(&sql))
            .is_err()
        {
            eprintln!("could not drop test schema `{}`", self.name);
        }
    }
}

#[test]
fn migrate_moves_a_node_to_postgresql_once_and_the_node_runs_there() {
    let Some(url) = postgres_url() else {
        println!("skipped: no PostgreSQL (set COMITY_TEST_POSTGRES_URL)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let d = dir.to_str().unwrap();
    ok(&comity(&[
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
        "Test 24/7",
    ]));
    let case = ok(&comity(&[
        "case",
        "new",
        "--dir",
        d,
        "--reference",
        "FR-2026-0042",
        "--title",
        "Ransomware",
    ]));
    let case_id = case.split_whitespace().next().unwrap().to_owned();
    let created: Value = serde_json::from_str(&ok(&comity(&[
        "request",
        "new",
        "--dir",
        d,
        "--json",
        "--case",
        &case_id,
        "--file",
        data("preservation.json").to_str().unwrap(),
    ])))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    ok(&comity(&["request", "transition", "--dir", d, &id, "send"]));
    let before: Value = serde_json::from_str(&ok(&comity(&[
        "request", "show", "--dir", d, "--json", &id,
    ])))
    .unwrap();

    ok(&comity_with_input(
        &["user", "add", "--dir", d, "amira", "--role", "caseworker"],
        "a long enough password\n",
    ));
    // The SQLite node logged its event.
    assert_eq!(log_size(&dir), 1);

    let schema = Schema::new(&url);
    let out = ok(&comity(&["migrate", "--dir", d, "--to", &schema.url]));
    assert!(
        out.contains("copied 1 case(s), 1 request(s), 1 event(s), 1 other record(s)")
            && out.contains("and 1 setting(s)"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("database = "))
        .unwrap_or_else(|| panic!("no config line in: {out}"))
        .trim()
        .to_owned();
    assert_eq!(schema.count("SELECT count(*) FROM SCHEMA.events"), 1);

    // A second run into the same database is refused, in one line that says what to do.
    let err = failed(&comity(&["migrate", "--dir", d, "--to", &schema.url]));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the target store is not empty") && err.contains("config.toml"),
        "{err}"
    );
    assert_eq!(schema.count("SELECT count(*) FROM SCHEMA.events"), 1);

    // With the printed line in its config, the node runs on PostgreSQL: same request, same events, and new steps
    // land there.
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}{line}\n")).unwrap();
    let after: Value = serde_json::from_str(&ok(&comity(&[
        "request", "show", "--dir", d, "--json", &id,
    ])))
    .unwrap();
    assert_eq!(after, before, "the request changed on the way");
    ok(&comity(&[
        "request",
        "transition",
        "--dir",
        d,
        &id,
        "receive",
    ]));
    assert_eq!(schema.count("SELECT count(*) FROM SCHEMA.events"), 2);
    let version = version_in_sqlite(&dir.join("node.db"));
    assert_eq!(version, 1, "the SQLite file is left as it was");
    assert_eq!(schema.count("SELECT count(*) FROM SCHEMA.users"), 1);
    assert_eq!(
        ok(&comity(&["user", "list", "--dir", d])),
        "amira\tcaseworker\tfr-247\ten\tenabled\n"
    );

    // The log carries on from the new store: a serving process appends the new event, and only that one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serving = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args([
            "serve",
            "--dir",
            d,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--insecure-http",
        ])
        .env_remove("COMITY_DATABASE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while log_size(&dir) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = serving.kill();
    let _ = serving.wait();
    assert_eq!(log_size(&dir), 2);
    let index = std::fs::read_to_string(dir.join("log/events.idx")).unwrap();
    assert_eq!(index, format!("0 {id} 1\n1 {id} 2\n"));
}

/// The size of the node's published log.
fn log_size(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("log/checkpoint"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn comity_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("USER", "tester")
        .env_remove("COMITY_DATABASE")
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

fn version_in_sqlite(path: &Path) -> i64 {
    // The CLI is the only SQLite client this crate has: read through it by pointing `--database` at the file.
    let out = comity(&[
        "request",
        "list",
        "--dir",
        path.parent().unwrap().to_str().unwrap(),
        "--json",
        "--database",
        &format!("sqlite:{}", path.display()),
    ]);
    let listed: Value = serde_json::from_str(&ok(&out)).unwrap();
    let first = &listed.as_array().unwrap()[0];
    first["version"].as_i64().unwrap()
}

#[test]
fn migrate_refuses_wrong_targets_without_showing_a_password() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let d = dir.to_str().unwrap();
    ok(&comity(&[
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
        "Test 24/7",
    ]));
    let err = failed(&comity(&[
        "migrate",
        "--dir",
        d,
        "--to",
        "sqlite:/tmp/other.db",
    ]));
    assert!(
        err.contains("`--to` must be a PostgreSQL database"),
        "{err}"
    );
    let err = failed(&comity(&["migrate", "--dir", d, "--to", "mysql://x"]));
    assert!(err.contains("postgres://user@host:port/dbname"), "{err}");
    // Nothing listens on port 1: the connection fails, and the message names the server but not the password.
    let err = failed(&comity(&[
        "migrate",
        "--dir",
        d,
        "--to",
        "postgres://comity:hunter2@127.0.0.1:1/comity",
    ]));
    assert!(err.contains("127.0.0.1:1/comity"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    let err = failed(&comity(&[
        "migrate",
        "--dir",
        tmp.path().join("none").to_str().unwrap(),
        "--to",
        "postgres://comity@127.0.0.1:1/comity",
    ]));
    assert!(err.contains("comity init"), "{err}");
}
