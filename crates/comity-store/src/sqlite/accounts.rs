//! User accounts and sessions of the web UI in SQLite.

use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, backend, from_ms, is_unique_violation, to_ms, to_u64};
use crate::{AccountStore, SessionRecord, StoreError, UserRecord};

const USER_COLUMNS: &str = "id, username, display_name, role, authority, language, password_hash, totp_secret, \
     disabled, failed_logins, locked_until_ms, last_totp_step, created_ms";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
        authority: r.get(4)?,
        language: r.get(5)?,
        password_hash: r.get(6)?,
        totp_secret: r.get(7)?,
        disabled: r.get::<_, i64>(8)? != 0,
        failed_logins: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
        locked_until: r.get::<_, Option<i64>>(10)?.map(from_ms).transpose()?,
        last_totp_step: to_u64(r.get(11)?),
        created_at: from_ms(r.get(12)?)?,
    })
}

fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: r.get(0)?,
        user_id: r.get(1)?,
        csrf_token: r.get(2)?,
        created_at: from_ms(r.get(3)?)?,
        expires_at: from_ms(r.get(4)?)?,
    })
}

fn step(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: UserRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
                params![
                    user.id,
                    user.username,
                    user.display_name,
                    user.role,
                    user.authority,
                    user.language,
                    user.password_hash,
                    user.totp_secret,
                    i64::from(user.disabled),
                    i64::from(user.failed_logins),
                    user.locked_until.map(to_ms),
                    step(user.last_totp_step),
                    to_ms(user.created_at)
                ],
            )
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate { what: "user", id: user.username.clone() }
                } else {
                    backend(e)
                }
            })
        })
        .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY username"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], user_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn update_user(&self, user: UserRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE users SET username = ?2, display_name = ?3, role = ?4, authority = ?5, language = ?6, \
                     password_hash = ?7, totp_secret = ?8, disabled = ?9, failed_logins = ?10, locked_until_ms = ?11, \
                     last_totp_step = ?12 WHERE id = ?1",
                    params![
                        user.id,
                        user.username,
                        user.display_name,
                        user.role,
                        user.authority,
                        user.language,
                        user.password_hash,
                        user.totp_secret,
                        i64::from(user.disabled),
                        i64::from(user.failed_logins),
                        user.locked_until.map(to_ms),
                        step(user.last_totp_step)
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "user", id: user.id.clone() });
            }
            Ok(())
        })
        .await
    }

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.id_hash,
                    session.user_id,
                    session.csrf_token,
                    to_ms(session.created_at),
                    to_ms(session.expires_at)
                ],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let id_hash = id_hash.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id_hash, user_id, csrf_token, created_ms, expires_ms FROM sessions WHERE id_hash = ?1",
                [id_hash],
                session_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let id_hash = id_hash.to_owned();
        self.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
                .map(|_| ())
                .map_err(backend)
        })
        .await
    }

    async fn delete_sessions_of(&self, user_id: &str) -> Result<(), StoreError> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                .map(|_| ())
                .map_err(backend)
        })
        .await
    }
}
