//! User accounts and sessions of the web UI in PostgreSQL.

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{PostgresStore, backend, from_ms, is, to_ms};
use crate::{AccountStore, SessionRecord, StoreError, UserRecord};

const USER_COLUMNS: &str = "id, username, display_name, role, authority, language, password_hash, totp_secret, \
     disabled, failed_logins, locked_until_ms, last_totp_step, created_ms";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(backend)
}

fn user_row(r: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: get(r, 0)?,
        username: get(r, 1)?,
        display_name: get(r, 2)?,
        role: get(r, 3)?,
        authority: get(r, 4)?,
        language: get(r, 5)?,
        password_hash: get(r, 6)?,
        totp_secret: get(r, 7)?,
        disabled: get::<i64>(r, 8)? != 0,
        failed_logins: u32::try_from(get::<i64>(r, 9)?).unwrap_or(u32::MAX),
        locked_until: get::<Option<i64>>(r, 10)?.map(from_ms).transpose()?,
        last_totp_step: u64::try_from(get::<i64>(r, 11)?).unwrap_or(0),
        created_at: from_ms(get(r, 12)?)?,
    })
}

fn session_row(r: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id_hash: get(r, 0)?,
        user_id: get(r, 1)?,
        csrf_token: get(r, 2)?,
        created_at: from_ms(get(r, 3)?)?,
        expires_at: from_ms(get(r, 4)?)?,
    })
}

fn step(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, user: UserRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ),
                &[
                    &user.id,
                    &user.username,
                    &user.display_name,
                    &user.role,
                    &user.authority,
                    &user.language,
                    &user.password_hash,
                    &user.totp_secret,
                    &i64::from(user.disabled),
                    &i64::from(user.failed_logins),
                    &user.locked_until.map(to_ms),
                    &step(user.last_totp_step),
                    &to_ms(user.created_at),
                ],
            )
            .await
            .map(|_| ())
            .map_err(|e| {
                if is(&e, &SqlState::UNIQUE_VIOLATION) {
                    StoreError::Duplicate {
                        what: "user",
                        id: user.username.clone(),
                    }
                } else {
                    backend(e)
                }
            })
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
                &[&username],
            )
            .await
            .map_err(backend)?
            .map(|r| user_row(&r))
            .transpose()
    }

    async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(backend)?
            .map(|r| user_row(&r))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"),
                &[],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(user_row)
            .collect()
    }

    async fn update_user(&self, user: UserRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE users SET username = $2, display_name = $3, role = $4, authority = $5, language = $6, \
                 password_hash = $7, totp_secret = $8, disabled = $9, failed_logins = $10, locked_until_ms = $11, \
                 last_totp_step = $12 WHERE id = $1",
                &[
                    &user.id,
                    &user.username,
                    &user.display_name,
                    &user.role,
                    &user.authority,
                    &user.language,
                    &user.password_hash,
                    &user.totp_secret,
                    &i64::from(user.disabled),
                    &i64::from(user.failed_logins),
                    &user.locked_until.map(to_ms),
                    &step(user.last_totp_step),
                ],
            )
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                id: user.id,
            });
        }
        Ok(())
    }

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &session.id_hash,
                    &session.user_id,
                    &session.csrf_token,
                    &to_ms(session.created_at),
                    &to_ms(session.expires_at),
                ],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT id_hash, user_id, csrf_token, created_ms, expires_ms FROM sessions WHERE id_hash = $1",
                &[&id_hash],
            )
            .await
            .map_err(backend)?
            .map(|r| session_row(&r))
            .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn delete_sessions_of(&self, user_id: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
