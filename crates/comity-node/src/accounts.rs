//! Local user accounts of the web UI: Argon2id passwords, a TOTP second factor, lockout after repeated failures,
//! and sessions found by the hash of their cookie value.
//!
//! Nothing here logs a password, a TOTP secret or code, or a session value: spans carry user names and outcomes.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use comity_store::{SessionRecord, Store, StoreError, UserRecord};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::access::Role;
use crate::service::Clock;
use crate::totp;

/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Languages of the UI, as tags.
pub const LANGUAGES: [&str; 6] = ["en", "fr", "es", "ru", "zh", "ar"];

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No such user.
    #[error("user `{0}` does not exist; list users with `comity user list`")]
    NoSuchUser(String),
    /// The user name is taken.
    #[error("user `{0}` exists already; pick another name or reset the account")]
    Exists(String),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(StoreError),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { id, .. } => Self::Exists(id),
            other => Self::Store(other),
        }
    }
}

/// Why a login was refused. Deliberately coarse: it does not say which factor was wrong or whether the user exists.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong user name, password or code, or a disabled account.
    #[error("the user name, password or code is wrong")]
    Refused,
    /// Too many failures; wait.
    #[error("the account is locked after repeated failures; try again after {until}")]
    Locked {
        /// When it opens again.
        until: OffsetDateTime,
    },
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// A new account.
#[derive(Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Authority they work for.
    pub authority: String,
    /// Language tag.
    pub language: String,
    /// Password.
    pub password: String,
}

/// A TOTP secret, shown once when an account is made or reset.
pub struct TotpEnrolment {
    /// Base32.
    pub secret_base32: String,
    /// The `otpauth://` URI.
    pub uri: String,
}

/// A signed-in user as the UI sees them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: UserRecord,
    /// The role, parsed.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// The hash of the session value.
    pub session_hash: String,
}

/// Accounts over a store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    issuer: String,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, buf)
}

/// SHA-256 (hex) of a session value: what the store keeps.
pub fn session_hash(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password is too short; use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.chars().count() > 1024 {
        return Err(AccountError::Invalid(
            "the password is longer than 1024 characters".into(),
        ));
    }
    Ok(())
}

async fn hash_password(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| AccountError::Hash)
    })
    .await
    .map_err(|_| AccountError::Hash)?
}

async fn password_matches(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A password hash that verifies nothing, so that an unknown user name costs the same time as a known one.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$uD1X2jdpuwmDwA4Pc1k7iG2bA0u9RzXGz8ZQ7wq3K1Q";

fn new_totp() -> (String, Vec<u8>) {
    let mut secret = vec![0u8; 20];
    OsRng.fill_bytes(&mut secret);
    (totp::base32_encode(&secret), secret)
}

fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "user name `{name}` is not valid; use 1 to 64 letters, digits, `-`, `_`, `.` or `@`"
        )))
    }
}

impl Accounts {
    /// Accounts over `store`; `issuer` names the node in authenticator apps.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, issuer: impl Into<String>) -> Self {
        Self {
            store,
            clock,
            issuer: issuer.into(),
        }
    }

    /// The time now.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Creates an account; returns the TOTP enrolment, to be shown once.
    #[tracing::instrument(skip_all, fields(username = %user.username, role = %user.role))]
    pub async fn add(&self, user: NewUser) -> Result<TotpEnrolment, AccountError> {
        check_username(&user.username)?;
        check_password(&user.password)?;
        if !LANGUAGES.contains(&user.language.as_str()) {
            return Err(AccountError::Invalid(format!(
                "language `{}` is not offered; use one of {}",
                user.language,
                LANGUAGES.join(", ")
            )));
        }
        let display_name = user.display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 200 {
            return Err(AccountError::Invalid(
                "give a display name of 1 to 200 characters".into(),
            ));
        }
        let (secret_base32, _) = new_totp();
        let record = UserRecord {
            id: format!("user-{}", uuid::Uuid::now_v7()),
            username: user.username.clone(),
            display_name: display_name.to_owned(),
            role: user.role.to_string(),
            authority: user.authority,
            language: user.language,
            password_hash: hash_password(user.password.clone()).await?,
            totp_secret: secret_base32.clone(),
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            last_totp_step: 0,
            created_at: self.clock.now(),
        };
        let judge = user.role == Role::Judge;
        let password = user.password;
        self.store.create_user(record).await?;
        if judge {
            self.enrol_judge(&user.username, &password).await?;
        }
        tracing::info!("user added");
        Ok(self.enrolment(&user.username, secret_base32))
    }

    fn enrolment(&self, username: &str, secret_base32: String) -> TotpEnrolment {
        TotpEnrolment {
            uri: totp::otpauth_uri(&self.issuer, username, &secret_base32),
            secret_base32,
        }
    }

    async fn existing(&self, username: &str) -> Result<UserRecord, AccountError> {
        self.store
            .user_by_name(username)
            .await?
            .ok_or_else(|| AccountError::NoSuchUser(username.to_owned()))
    }

    /// Disables an account and ends its sessions.
    #[tracing::instrument(skip_all, fields(username))]
    pub async fn disable(&self, username: &str) -> Result<(), AccountError> {
        let mut user = self.existing(username).await?;
        user.disabled = true;
        self.store.update_user(user.clone()).await?;
        self.store.delete_sessions_of(&user.id).await?;
        tracing::info!("user disabled");
        Ok(())
    }

    /// Gives an account a new password and a new TOTP secret, unlocks and re-enables it, and ends its sessions.
    #[tracing::instrument(skip_all, fields(username))]
    pub async fn reset(
        &self,
        username: &str,
        password: String,
    ) -> Result<TotpEnrolment, AccountError> {
        check_password(&password)?;
        let mut user = self.existing(username).await?;
        let (secret_base32, _) = new_totp();
        user.password_hash = hash_password(password.clone()).await?;
        user.totp_secret = secret_base32.clone();
        user.disabled = false;
        user.failed_logins = 0;
        user.locked_until = None;
        user.last_totp_step = 0;
        let judge = user.role == Role::Judge.to_string();
        self.store.update_user(user.clone()).await?;
        self.store.delete_sessions_of(&user.id).await?;
        if judge {
            self.enrol_judge(username, &password).await?;
        }
        tracing::info!("user reset");
        Ok(self.enrolment(username, secret_base32))
    }

    /// Gives a judge a new signing key of their own, sealed under their password.
    async fn enrol_judge(&self, username: &str, password: &str) -> Result<(), AccountError> {
        crate::judicial::enrol(&self.store, username, password, self.clock.now())
            .await
            .map(drop)
            .map_err(|e| AccountError::Invalid(e.to_string()))
    }

    /// Every account.
    pub async fn list(&self) -> Result<Vec<UserRecord>, AccountError> {
        Ok(self.store.users().await?)
    }

    /// Checks password and code; on success opens a session and returns its cookie value.
    #[tracing::instrument(skip_all, fields(username))]
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: &str,
    ) -> Result<(String, SignedIn), LoginError> {
        let now = self.clock.now();
        let Some(mut user) = self.store.user_by_name(username).await? else {
            // Spend the same effort as for a real account.
            let _ = password_matches(password.to_owned(), DUMMY_PHC.to_owned()).await;
            tracing::info!(outcome = "refused", "login");
            return Err(LoginError::Refused);
        };
        if let Some(until) = user.locked_until
            && until > now
        {
            tracing::info!(outcome = "locked", "login");
            return Err(LoginError::Locked { until });
        }
        let password_ok = password_matches(password.to_owned(), user.password_hash.clone()).await;
        let step = totp::base32_decode(&user.totp_secret).and_then(|secret| {
            totp::verify(&secret, code, now.unix_timestamp(), user.last_totp_step)
        });
        let role = user.role.parse::<Role>().ok();
        match (password_ok, step, role) {
            (true, Some(step), Some(role)) if !user.disabled => {
                user.failed_logins = 0;
                user.locked_until = None;
                user.last_totp_step = step;
                self.store.update_user(user.clone()).await?;
                let value = random_token(32);
                let csrf_token = random_token(32);
                let session = SessionRecord {
                    id_hash: session_hash(&value),
                    user_id: user.id.clone(),
                    csrf_token: csrf_token.clone(),
                    created_at: now,
                    expires_at: now + SESSION_LIFETIME,
                };
                self.store.create_session(session.clone()).await?;
                tracing::info!(outcome = "ok", "login");
                Ok((
                    value,
                    SignedIn {
                        user,
                        role,
                        csrf_token,
                        session_hash: session.id_hash,
                    },
                ))
            }
            _ => {
                user.failed_logins = user.failed_logins.saturating_add(1);
                let locked = user.failed_logins >= MAX_FAILED_LOGINS;
                if locked {
                    user.locked_until = Some(now + LOCKOUT);
                    user.failed_logins = 0;
                }
                self.store.update_user(user.clone()).await?;
                tracing::info!(outcome = "refused", locked, "login");
                match user.locked_until {
                    Some(until) if locked => Err(LoginError::Locked { until }),
                    _ => Err(LoginError::Refused),
                }
            }
        }
    }

    /// The signed-in user of a session cookie value, if the session is live and the account enabled.
    pub async fn signed_in(&self, value: &str) -> Result<Option<SignedIn>, StoreError> {
        let hash = session_hash(value);
        let Some(session) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        if session.expires_at <= self.clock.now() {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        }
        let Some(user) = self.store.user(&session.user_id).await? else {
            return Ok(None);
        };
        let Ok(role) = user.role.parse::<Role>() else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(SignedIn {
            user,
            role,
            csrf_token: session.csrf_token,
            session_hash: hash,
        }))
    }

    /// Ends a session.
    pub async fn logout(&self, session_hash: &str) -> Result<(), StoreError> {
        self.store.delete_session(session_hash).await
    }

    /// Sets a user's language.
    pub async fn set_language(
        &self,
        user: &UserRecord,
        language: &str,
    ) -> Result<(), AccountError> {
        if !LANGUAGES.contains(&language) {
            return Err(AccountError::Invalid(format!(
                "language `{language}` is not offered"
            )));
        }
        let mut updated = user.clone();
        updated.language = language.to_owned();
        Ok(self.store.update_user(updated).await?)
    }
}
