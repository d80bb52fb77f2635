//! Every blob store through the same story: the local directory always, the S3 path against a real S3-compatible
//! server that the test starts on loopback.
//!
//! The S3 server is not Garage: Garage (crates.io `garage` 2.5.0, about 350 crates) did not build within the CI
//! limits here. `cargo install garage` on two shared cores was stopped after 15 minutes with 242 crates compiled and
//! the Garage crates themselves still ahead. The tests start moto's S3 server instead (PyPI `moto[server]`,
//! installed by `tests/install-s3-server.sh`, which `.ci/run` calls): it speaks the S3 REST protocol (buckets, PUT,
//! GET, HEAD, DELETE, error documents) but does not verify signatures, so the signing code is checked separately
//! against the published Signature Version 4 example (`s3.rs`).
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comity_blob::local::LocalBlobStore;
use comity_blob::s3::{S3BlobStore, S3Config, SigningInput, authorization};
use comity_blob::{BlobError, BlobId, BlobStore};

/// The story every store must tell.
async fn story(store: &dyn BlobStore, scratch: &std::path::Path) {
    let content = b"custody record: item 1, SHA-256 follows".to_vec();
    let id = store.put(&content).await.unwrap();
    assert_eq!(id, BlobId::of(&content));
    assert_eq!(store.get(&id).await.unwrap(), Some(content.clone()));
    assert!(store.contains(&id).await.unwrap());
    assert_eq!(
        store.put(&content).await.unwrap(),
        id,
        "same content, same id"
    );

    let empty = store.put(b"").await.unwrap();
    assert_eq!(store.get(&empty).await.unwrap(), Some(Vec::new()));

    let missing = BlobId::of(b"never stored");
    assert_eq!(store.get(&missing).await.unwrap(), None);
    assert!(!store.contains(&missing).await.unwrap());

    // A file larger than one read buffer goes through without being held whole.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let path = scratch.join("image.bin");
    std::fs::write(&path, &big).unwrap();
    let big_id = store.put_file(&path).await.unwrap();
    assert_eq!(big_id, BlobId::of(&big));
    assert_eq!(store.get(&big_id).await.unwrap().as_deref(), Some(&big[..]));
    // Parts, as a transfer reads them chunk by chunk: inside, across the end, past the end.
    let part = store.get_range(&big_id, 1_000_000, 4096).await.unwrap();
    assert_eq!(part.as_deref(), Some(&big[1_000_000..1_004_096]));
    let tail = store
        .get_range(&big_id, big.len() as u64 - 10, 4096)
        .await
        .unwrap();
    assert_eq!(tail.as_deref(), Some(&big[big.len() - 10..]));
    let past = store
        .get_range(&big_id, big.len() as u64 + 5, 10)
        .await
        .unwrap();
    assert_eq!(past, Some(Vec::new()));
    assert_eq!(store.get_range(&missing, 0, 10).await.unwrap(), None);
    assert!(matches!(
        store.put_file(&scratch.join("absent")).await,
        Err(BlobError::Io { .. })
    ));

    store.delete(&big_id).await.unwrap();
    assert_eq!(store.get(&big_id).await.unwrap(), None);
    store.delete(&big_id).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), Some(content), "others stay");
}

#[tokio::test]
async fn local_store_tells_the_story_and_refuses_damaged_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("blobs");
    let store = LocalBlobStore::open(&root).await.unwrap();
    story(&store, tmp.path()).await;

    let id = store.put(b"original").await.unwrap();
    let path = store.path_of(&id);
    assert!(path.starts_with(root.join("sha256").join(&id.hex()[..2])));
    std::fs::write(&path, b"tampered").unwrap();
    assert!(matches!(store.get(&id).await, Err(BlobError::Corrupt(c)) if c == id));
    // Nothing half-written is left behind.
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

/// An S3 server on a loopback port, stopped when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts moto's S3 server, or says why not.
fn start_s3_server() -> Result<S3Server, String> {
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start moto_server ({e}); install it with crates/comity-blob/tests/install-s3-server.sh"
            )
        })?;
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("moto_server did not listen within 30 s".into())
}

fn config(endpoint: &str) -> S3Config {
    S3Config {
        endpoint: endpoint.to_owned(),
        region: "us-east-1".into(),
        bucket: "comity-evidence".into(),
        access_key_id: "comity-test".into(),
        secret_access_key: "comity-test-secret".into(),
    }
}

#[tokio::test]
async fn s3_store_tells_the_story_against_a_real_server_and_refuses_damaged_blobs() {
    let server = match start_s3_server() {
        Ok(s) => s,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let store = S3BlobStore::new(config(&server.endpoint)).unwrap();
    store.ensure_bucket().await.unwrap();
    store.ensure_bucket().await.unwrap();
    story(&store, tmp.path()).await;

    // Another writer replaces an object behind the store's back: the read is refused, not served.
    let id = store.put(b"original").await.unwrap();
    let path = format!("/comity-evidence/sha256/{}", id.hex());
    let body = b"tampered";
    let body_sha = BlobId::of(body).hex();
    let host = server.endpoint.trim_start_matches("http://").to_owned();
    let date = "20261123T030000Z";
    let auth = authorization(&SigningInput {
        method: "PUT",
        path: &path,
        headers: &[
            ("host", &host),
            ("x-amz-content-sha256", &body_sha),
            ("x-amz-date", date),
        ],
        payload_sha256: &body_sha,
        amz_date: date,
        region: "us-east-1",
        access_key_id: "other-writer",
        secret_access_key: "other-secret",
    });
    let put = reqwest::Client::new()
        .put(format!("{}{path}", server.endpoint))
        .header("x-amz-content-sha256", &body_sha)
        .header("x-amz-date", date)
        .header("authorization", auth)
        .body(&body[..])
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    assert!(matches!(store.get(&id).await, Err(BlobError::Corrupt(c)) if c == id));

    // A missing bucket and a stopped server are errors that say what failed, not panics.
    let other = S3BlobStore::new(S3Config {
        bucket: "no-such-bucket".into(),
        ..config(&server.endpoint)
    })
    .unwrap();
    assert!(matches!(
        other.put(b"x").await,
        Err(BlobError::Remote {
            operation: "upload",
            ..
        })
    ));
    drop(server);
    let err = store.get(&id).await.unwrap_err();
    assert!(
        matches!(
            err,
            BlobError::Remote {
                operation: "download",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("comity-test-secret"));
}
