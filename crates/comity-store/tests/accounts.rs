//! User accounts and sessions of the web UI, the same story against every backend: SQLite always, PostgreSQL when
//! one is reachable.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use comity_store::sqlite::SqliteStore;
use comity_store::{SessionRecord, Store, StoreError, UserRecord};
use time::macros::datetime;

fn user(id: &str, username: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        username: username.into(),
        display_name: format!("{username} name"),
        role: "caseworker".into(),
        authority: "fr-247".into(),
        language: "fr".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        totp_secret: "JBSWY3DPEHPK3PXP".into(),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        last_totp_step: 0,
        created_at: datetime!(2026-11-23 03:00 UTC),
    }
}

async fn story(store: &dyn Store) {
    let alice = user("u1", "alice");
    store.create_user(alice.clone()).await.unwrap();
    store.create_user(user("u2", "bob")).await.unwrap();
    assert!(matches!(
        store.create_user(user("u3", "alice")).await,
        Err(StoreError::Duplicate { what: "user", .. })
    ));
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user("u1").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    let mut locked = alice.clone();
    locked.failed_logins = 4;
    locked.locked_until = Some(datetime!(2026-11-23 03:15 UTC));
    locked.last_totp_step = 59_000_000;
    locked.disabled = true;
    store.update_user(locked.clone()).await.unwrap();
    assert_eq!(store.user("u1").await.unwrap(), Some(locked));
    assert!(matches!(
        store.update_user(user("u9", "ghost")).await,
        Err(StoreError::NotFound { what: "user", .. })
    ));

    let session = |hash: &str, user_id: &str| SessionRecord {
        id_hash: hash.into(),
        user_id: user_id.into(),
        csrf_token: format!("csrf-{hash}"),
        created_at: datetime!(2026-11-23 03:00 UTC),
        expires_at: datetime!(2026-11-23 11:00 UTC),
    };
    store.create_session(session("h1", "u1")).await.unwrap();
    store.create_session(session("h2", "u1")).await.unwrap();
    store.create_session(session("h3", "u2")).await.unwrap();
    assert_eq!(
        store.session("h1").await.unwrap(),
        Some(session("h1", "u1"))
    );
    store.delete_session("h1").await.unwrap();
    assert_eq!(store.session("h1").await.unwrap(), None);
    store.delete_sessions_of("u1").await.unwrap();
    assert_eq!(store.session("h2").await.unwrap(), None);
    assert_eq!(
        store.session("h3").await.unwrap(),
        Some(session("h3", "u2"))
    );
    assert!(
        store.create_session(session("h4", "nobody")).await.is_err(),
        "a session needs its user"
    );
}

#[tokio::test]
async fn sqlite_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    story(&store).await;
}

#[tokio::test]
async fn postgres_accounts() {
    let Some(schema) = common::TestSchema::new() else {
        return;
    };
    let store = schema.store().await;
    story(&store).await;
}
