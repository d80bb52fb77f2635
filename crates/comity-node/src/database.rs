//! Where a node keeps its records: the SQLite file in its directory, or a PostgreSQL database that several `comity
//! serve` processes of the same authority share.
//!
//! A database address may carry a password, so it is never printed or logged as given: [`Database::describe`] and
//! [`redact`] show it without.

use std::path::PathBuf;
use std::sync::Arc;

use comity_store::postgres::PostgresStore;
use comity_store::sqlite::SqliteStore;
use comity_store::{Store, StoreError};

/// Where a node's records live, parsed from `--database` or `database = "..."` in `config.toml`.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server, as a `postgres://` URL (which may hold a password).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.describe())
    }
}

/// A database address that is neither `postgres://...` nor `sqlite:PATH`. The address itself is left out: it may
/// hold a password.
#[derive(Debug, thiserror::Error)]
#[error(
    "the database address is not valid ({0}); use `postgres://user@host:port/dbname` or `sqlite:PATH`"
)]
pub struct BadDatabase(&'static str);

impl Database {
    /// Parses `postgres://...`, `postgresql://...` or `sqlite:PATH`.
    pub fn parse(address: &str) -> Result<Self, BadDatabase> {
        let address = address.trim();
        if address.starts_with("postgres://") || address.starts_with("postgresql://") {
            // Checked here so a typo is reported before anything connects.
            address
                .parse::<comity_store::postgres::Config>()
                .map_err(|_| BadDatabase("the PostgreSQL URL does not parse"))?;
            return Ok(Self::Postgres(address.to_owned()));
        }
        if let Some(path) = address.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(BadDatabase("`sqlite:` needs a file path"));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(BadDatabase("unknown scheme"))
    }

    /// The address without any password, for messages and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => redact(url, "****"),
        }
    }

    /// Opens the store (for PostgreSQL: connects and applies migrations).
    pub async fn open(&self) -> Result<NodeStore, StoreError> {
        match self {
            Self::Sqlite(path) => {
                let path = path.clone();
                // Opening runs migrations: keep that off the async threads.
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                    .await
                    .map_err(|e| StoreError::Backend(format!("opening the database: {e}")))??;
                Ok(NodeStore::Sqlite(store))
            }
            Self::Postgres(url) => Ok(NodeStore::Postgres(PostgresStore::connect(url).await?)),
        }
    }
}

/// `url` with the password (in the user part, or a `password=` parameter) replaced by `mask`.
pub fn redact(url: &str, mask: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = rest_start..rest_start + at;
            if let Some(colon) = out[userinfo.clone()].find(':') {
                out.replace_range(userinfo.start + colon + 1..userinfo.end, mask);
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (head, query) = out.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={mask}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

/// The store a node runs on.
#[derive(Clone, Debug)]
pub enum NodeStore {
    /// The SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl NodeStore {
    /// The store behind the trait, for the service.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// Lets queued writes finish (SQLite) or closes the connections (PostgreSQL).
    pub fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close(),
            Self::Postgres(s) => s.close(),
        }
    }

    /// What it is and where, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(s) => format!("SQLite {}", s.path().display()),
            Self::Postgres(s) => format!("PostgreSQL {}", s.target()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://comity:s3cr%40t@db.example:5432/comity", "****"),
            "postgres://comity:****@db.example:5432/comity"
        );
        assert_eq!(
            redact(
                "postgres://comity@db/x?password=s3cret&sslmode=disable",
                "****"
            ),
            "postgres://comity@db/x?password=****&sslmode=disable"
        );
        assert_eq!(
            redact("postgres://db:5432/x", "****"),
            "postgres://db:5432/x"
        );
        let parsed = Database::parse("postgres://u:hunter2@127.0.0.1/x").map_err(|e| e.to_string());
        let Ok(db) = parsed else {
            panic!("a valid URL was refused: {parsed:?}")
        };
        assert!(!db.describe().contains("hunter2"));
        assert!(!format!("{db:?}").contains("hunter2"));
    }

    #[test]
    fn addresses_parse_once() {
        assert!(matches!(
            Database::parse("sqlite:/srv/node/node.db"),
            Ok(Database::Sqlite(p)) if p == std::path::Path::new("/srv/node/node.db")
        ));
        assert!(matches!(
            Database::parse("postgresql://u@h/db"),
            Ok(Database::Postgres(_))
        ));
        for bad in ["mysql://u@h/db", "sqlite:", "node.db", ""] {
            assert!(Database::parse(bad).is_err(), "`{bad}` was accepted");
        }
        // The message never repeats the address.
        let e = Database::parse("postgres://u:hunter2@h:notaport/db").map(|_| ());
        assert!(e.is_err());
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
