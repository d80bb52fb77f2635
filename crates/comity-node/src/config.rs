//! A node's directory on disk: its config file, keys, API token and database, and how `init` creates them.
//!
//! Layout of a node directory:
//! - `config.toml`: authority id, State, kind, name, public keys, optional catalogue override
//! - `signing.key` (0600): the Ed25519 signing key
//! - `age.key` (0600): the age X25519 identity evidence is sealed to
//! - `api.token` (0600): the bearer token of the HTTP API
//! - `node.db`: the SQLite database, unless `database = "postgres://..."` in `config.toml` names a PostgreSQL one
//! - `log.key`, `log.salt`, `witness.key` (0600) and `log/`: the transparency log of the node's events
//!   ([`crate::eventlog`])
//! - `tls.crt` and `tls.key` (0600): the node's self-signed TLS certificate, pinned by its SHA-256 in the directory
//!   ([`crate::tls`])

use std::path::{Path, PathBuf};

use base64::Engine;
use comity_core::{AuthorityId, AuthorityKind, Catalogue, IsoCountry};
use comity_seal::keys::{self, NodeSigningKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::database::Database;

/// File names inside a node directory.
pub const CONFIG_FILE: &str = "config.toml";
/// The signing key.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// The age identity.
pub const AGE_IDENTITY_FILE: &str = "age.key";
/// The API token.
pub const API_TOKEN_FILE: &str = "api.token";
/// The database.
pub const DATABASE_FILE: &str = "node.db";
/// The signed directory of authorities in force.
pub const DIRECTORY_FILE: &str = "directory.json";

/// What can go wrong with a node directory.
#[derive(Debug, thiserror::Error)]
pub enum NodeDirError {
    #[error("`{0}` already holds a comity node; choose an empty directory (nothing was changed)")]
    AlreadyInitialised(PathBuf),
    #[error("`{0}` is not empty; choose an empty or new directory (nothing was changed)")]
    NotEmpty(PathBuf),
    #[error(
        "`{0}` is not a comity node directory (no config.toml); create one with `comity init --dir {0}`"
    )]
    NotANode(PathBuf),
    #[error("cannot use `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid node config: {message}")]
    BadConfig { path: PathBuf, message: String },
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("catalogue override `{path}`: {message}")]
    Catalogue { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] comity_store::StoreError),
    #[error(
        "{database} holds the records of node `{found}`, not `{expected}`; point `database` at this node's own database"
    )]
    ForeignDatabase {
        database: String,
        found: String,
        expected: String,
    },
    #[error(
        "the records of this node are in {0}, which only an async caller can reach; open it with `Node::connect`"
    )]
    NeedsConnect(String),
    #[error(transparent)]
    Log(#[from] crate::eventlog::EventLogError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeDirError + '_ {
    move |source| NodeDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The authority this node speaks for.
    pub authority: String,
    /// Its State (ISO 3166-1 alpha-2).
    pub state: String,
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The public signing key, `ed25519:...`.
    pub signing_public_key: String,
    /// The age recipient evidence is sealed to.
    pub age_recipient: String,
    /// When the node was created.
    pub created_at: String,
    /// Hex SHA-256 of the node's TLS certificate (DER), as the directory of authorities pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_sha256: Option<String>,
    /// Default listen address of `comity serve`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// A rules catalogue replacing the shipped one (path relative to the node directory, or absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<String>,
    /// Where the records live when not in `node.db`: `postgres://user@host:port/dbname` (see [`Database`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The directory operator's public key (`ed25519:...`) this node trusts to sign the directory of authorities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_operator_key: Option<String>,
    /// Checkpoint origin of the node's event log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_origin: Option<String>,
    /// Verifier key of the node's event log (C2SP signed-note vkey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_public_key: Option<String>,
    /// Cosignature/v1 verifier key of this node as a witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_public_key: Option<String>,
    /// Logs this node witnesses: `[{ origin = "...", key = "<vkey>" }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witness_follows: Vec<FollowedLogConfig>,
    /// Witnesses asked to cosign this node's log:
    /// `[{ url = "https://...", key = "<cosignature vkey>", tls_cert_sha256 = "<hex>" }]` (`http://` only on loopback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_witnesses: Vec<LogWitnessConfig>,
    /// Where evidence packages are kept, when not under `evidence/` in the node directory: S3-compatible storage
    /// shared by every process serving the node. The secret key comes from `s3_secret_access_key_file` or
    /// `COMITY_S3_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_store: Option<EvidenceStoreConfig>,
}

/// The environment variable holding the object store's secret key (never written to `config.toml`).
pub const S3_SECRET_ENV: &str = "COMITY_S3_SECRET_ACCESS_KEY";

/// S3-compatible storage for evidence packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceStoreConfig {
    /// `http://host:port` or `https://host` (path-style requests).
    pub s3_endpoint: String,
    /// The region the server expects in signatures.
    pub s3_region: String,
    /// The bucket (created if missing).
    pub s3_bucket: String,
    /// The access key id.
    pub s3_access_key_id: String,
    /// A file holding the secret key (relative to the node directory), instead of the environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_secret_access_key_file: Option<String>,
}

impl EvidenceStoreConfig {
    /// The blob store it names, with the secret key from its file or the environment.
    pub fn open(&self, node_dir: &Path) -> Result<comity_blob::s3::S3BlobStore, NodeDirError> {
        let bad = |message: String| NodeDirError::BadConfig {
            path: PathBuf::from(CONFIG_FILE),
            message,
        };
        let secret = match &self.s3_secret_access_key_file {
            Some(file) => {
                let path = node_dir.join(file);
                std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_owned())
                    .map_err(|source| NodeDirError::Io { path, source })?
            }
            None => std::env::var(S3_SECRET_ENV).map_err(|_| {
                bad(format!(
                    "`evidence_store` names S3 storage; give its secret key in the environment variable {S3_SECRET_ENV} or in `s3_secret_access_key_file`"
                ))
            })?,
        };
        comity_blob::s3::S3BlobStore::new(comity_blob::s3::S3Config {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            bucket: self.s3_bucket.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: secret,
        })
        .map_err(|e| bad(format!("evidence_store: {e}")))
    }
}

/// A log this node witnesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowedLogConfig {
    /// Checkpoint origin.
    pub origin: String,
    /// The log's verifier key.
    pub key: String,
}

/// A witness asked to cosign this node's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogWitnessConfig {
    /// Base URL of the witness node.
    pub url: String,
    /// Its cosignature/v1 verifier key.
    pub key: String,
    /// The witness's certificate fingerprint (its `tls_cert_sha256`), required for an `https://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_sha256: Option<String>,
}

fn default_listen() -> String {
    "127.0.0.1:7410".to_owned()
}

/// The checked identity of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Authority id.
    pub authority: AuthorityId,
    /// State.
    pub state: IsoCountry,
    /// Kind.
    pub kind: AuthorityKind,
    /// Name.
    pub name: String,
    /// Public signing key.
    pub signing_public_key: String,
    /// age recipient.
    pub age_recipient: String,
}

/// What `comity init` needs.
#[derive(Debug, Clone)]
pub struct InitParams {
    /// Authority id.
    pub authority: AuthorityId,
    /// State.
    pub state: IsoCountry,
    /// Kind.
    pub kind: AuthorityKind,
    /// Name.
    pub name: String,
}

/// A node directory that has been opened and checked.
#[derive(Debug)]
pub struct NodeDir {
    /// Where it is.
    pub path: PathBuf,
    /// The config.
    pub config: NodeConfig,
    /// The identity, parsed from the config.
    pub identity: NodeIdentity,
}

/// Creates a new node in `dir` (which must be absent or empty): keys, config, API token, database.
///
/// Everything is first written into a fresh sibling directory, then moved into place, so a failure half-way leaves
/// `dir` exactly as it was.
pub async fn init(
    dir: &Path,
    params: &InitParams,
    now: OffsetDateTime,
) -> Result<NodeDir, NodeDirError> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(NodeDirError::AlreadyInitialised(dir.to_owned()));
    }
    let existed = dir.exists();
    if existed && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(NodeDirError::NotEmpty(dir.to_owned()));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = parent.join(format!(".comity-init-{}", uuid::Uuid::now_v7().simple()));
    let result = write_node(&staging, params, now).await;
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let moved = if existed {
        // Move the files one by one into the existing empty directory.
        move_contents(&staging, dir).and_then(|()| std::fs::remove_dir(&staging))
    } else {
        std::fs::rename(&staging, dir)
    };
    if let Err(source) = moved {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(NodeDirError::Io {
            path: dir.to_owned(),
            source,
        });
    }
    open(dir)
}

fn move_contents(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::rename(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

async fn write_node(
    dir: &Path,
    params: &InitParams,
    now: OffsetDateTime,
) -> Result<(), NodeDirError> {
    std::fs::create_dir(dir).map_err(io(dir))?;
    let created_at = now.format(&Rfc3339).unwrap_or_default();
    let signing = NodeSigningKey::generate();
    signing.write_new(&dir.join(SIGNING_KEY_FILE))?;
    let (age_text, age_recipient) = keys::generate_age_identity(&created_at);
    keys::write_secret_file(&dir.join(AGE_IDENTITY_FILE), age_text.as_bytes())?;
    let mut token = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut token);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    keys::write_secret_file(&dir.join(API_TOKEN_FILE), format!("{token}\n").as_bytes())?;
    let log_keys = crate::eventlog::ensure_keys(dir, &params.authority)?;
    let tls_cert_sha256 = crate::tls::generate(dir)?;
    let config = NodeConfig {
        authority: params.authority.to_string(),
        state: params.state.to_string(),
        kind: params.kind.to_string(),
        name: params.name.clone(),
        signing_public_key: signing.public_key().to_string(),
        age_recipient,
        created_at,
        tls_cert_sha256: Some(tls_cert_sha256),
        listen: default_listen(),
        catalogue: None,
        database: None,
        directory_operator_key: None,
        log_origin: Some(comity_tlog::note::NoteSigner::name(&log_keys.signer).to_owned()),
        log_public_key: Some(log_keys.signer.verifier().to_string()),
        witness_public_key: Some(log_keys.witness.verifier().to_key_string()),
        witness_follows: Vec::new(),
        log_witnesses: Vec::new(),
        evidence_store: None,
    };
    let text = toml::to_string_pretty(&config).map_err(|e| NodeDirError::BadConfig {
        path: dir.join(CONFIG_FILE),
        message: e.to_string(),
    })?;
    let header = "# comity node configuration. Keys live beside this file; never share signing.key, age.key or api.token.\n";
    std::fs::write(dir.join(CONFIG_FILE), format!("{header}{text}")).map_err(io(dir))?;
    let store = comity_store::sqlite::SqliteStore::open(&dir.join(DATABASE_FILE))?;
    comity_store::Store::set_meta(&store, "authority", params.authority.as_str()).await?;
    store.close();
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Opens and checks an existing node directory.
pub fn open(dir: &Path) -> Result<NodeDir, NodeDirError> {
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.exists() {
        return Err(NodeDirError::NotANode(dir.to_owned()));
    }
    let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
    let bad = |message: String| NodeDirError::BadConfig {
        path: config_path.clone(),
        message,
    };
    let mut config: NodeConfig =
        toml::from_str(&text).map_err(|e| bad(e.to_string().trim().replace('\n', " ")))?;
    if config.log_public_key.is_none() {
        // A node made before the event log: create its log keys and record them in the config.
        let authority = AuthorityId::parse(&config.authority).map_err(|e| bad(e.to_string()))?;
        let log_keys = crate::eventlog::ensure_keys(dir, &authority)?;
        let origin = comity_tlog::note::NoteSigner::name(&log_keys.signer).to_owned();
        let public = log_keys.signer.verifier().to_string();
        let witness = log_keys.witness.verifier().to_key_string();
        // Top-level keys go before the first line that is not a comment, so no table can capture them.
        let insert = format!(
            "log_origin = \"{origin}\"\nlog_public_key = \"{public}\"\nwitness_public_key = \"{witness}\"\n"
        );
        let split = text
            .lines()
            .take_while(|l| l.trim_start().starts_with('#'))
            .map(|l| l.len() + 1)
            .sum::<usize>()
            .min(text.len());
        let updated = format!("{}{insert}{}", &text[..split], &text[split..]);
        crate::eventlog::write_atomic(&config_path, updated.as_bytes())?;
        config.log_origin = Some(origin);
        config.log_public_key = Some(public);
        config.witness_public_key = Some(witness);
    }
    let tls_fingerprint = if dir.join(crate::tls::TLS_CERT_FILE).exists() {
        crate::tls::fingerprint(crate::tls::read_cert(dir)?.as_ref())
    } else if dir.join(crate::tls::TLS_KEY_FILE).exists() {
        return Err(bad(format!(
            "`{}` exists without `{}`; restore the certificate or remove the key to have a new pair made",
            crate::tls::TLS_KEY_FILE,
            crate::tls::TLS_CERT_FILE
        )));
    } else {
        // A node made before TLS: create its certificate now.
        crate::tls::generate(dir)?
    };
    match &config.tls_cert_sha256 {
        Some(pinned) if pinned.trim().eq_ignore_ascii_case(&tls_fingerprint) => {}
        Some(pinned) => {
            return Err(bad(format!(
                "tls_cert_sha256 {pinned} does not match `{}` ({tls_fingerprint}); put the right certificate back or correct the config",
                crate::tls::TLS_CERT_FILE
            )));
        }
        None => {
            let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
            let split = text
                .lines()
                .take_while(|l| l.trim_start().starts_with('#'))
                .map(|l| l.len() + 1)
                .sum::<usize>()
                .min(text.len());
            let updated = format!(
                "{}tls_cert_sha256 = \"{tls_fingerprint}\"\n{}",
                &text[..split],
                &text[split..]
            );
            crate::eventlog::write_atomic(&config_path, updated.as_bytes())?;
            config.tls_cert_sha256 = Some(tls_fingerprint);
        }
    }
    let identity = NodeIdentity {
        authority: AuthorityId::parse(&config.authority).map_err(|e| bad(e.to_string()))?,
        state: IsoCountry::parse(&config.state).map_err(|e| bad(e.to_string()))?,
        kind: config
            .kind
            .parse()
            .map_err(|e: comity_core::authority::BadAuthorityKind| bad(e.to_string()))?,
        name: config.name.clone(),
        signing_public_key: config.signing_public_key.clone(),
        age_recipient: config.age_recipient.clone(),
    };
    if let Some(address) = &config.database {
        Database::parse(address).map_err(|e| bad(format!("`database`: {e}")))?;
    }
    Ok(NodeDir {
        path: dir.to_owned(),
        config,
        identity,
    })
}

impl NodeDir {
    /// The rules catalogue this node uses: its override if configured, else the shipped one.
    pub fn catalogue(&self) -> Result<Catalogue, NodeDirError> {
        match &self.config.catalogue {
            None => Catalogue::embedded().map_err(|e| NodeDirError::Catalogue {
                path: PathBuf::from("(embedded)"),
                message: e.to_string(),
            }),
            Some(p) => {
                let path = self.path.join(p);
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                Catalogue::parse(&text).map_err(|e| NodeDirError::Catalogue {
                    path,
                    message: e.to_string(),
                })
            }
        }
    }

    /// The API bearer token.
    pub fn api_token(&self) -> Result<String, NodeDirError> {
        let path = self.path.join(API_TOKEN_FILE);
        Ok(std::fs::read_to_string(&path)
            .map_err(io(&path))?
            .trim()
            .to_owned())
    }

    /// The signing key.
    pub fn signing_key(&self) -> Result<NodeSigningKey, NodeDirError> {
        Ok(NodeSigningKey::read(&self.path.join(SIGNING_KEY_FILE))?)
    }

    /// Where this node's records live: `database` from the config, else `node.db` in the directory.
    pub fn database(&self) -> Result<Database, NodeDirError> {
        match &self.config.database {
            None => Ok(Database::Sqlite(self.path.join(DATABASE_FILE))),
            Some(address) => Database::parse(address).map_err(|e| NodeDirError::BadConfig {
                path: self.path.join(CONFIG_FILE),
                message: format!("`database`: {e}"),
            }),
        }
    }

    /// Opens the SQLite database in the directory (`node.db`), whatever the config names.
    /// The pinned directory operator key, if configured.
    pub fn directory_operator_key(
        &self,
    ) -> Result<Option<comity_seal::keys::PublicKey>, NodeDirError> {
        self.config
            .directory_operator_key
            .as_deref()
            .map(|k| {
                k.parse()
                    .map_err(|e: keys::KeyError| NodeDirError::BadConfig {
                        path: self.path.join(CONFIG_FILE),
                        message: format!("directory_operator_key: {e}"),
                    })
            })
            .transpose()
    }

    /// Pins a directory operator key in config.toml (appends the line; refuses to replace a different pin).
    pub fn pin_directory_operator(
        &mut self,
        key: &comity_seal::keys::PublicKey,
    ) -> Result<(), NodeDirError> {
        let path = self.path.join(CONFIG_FILE);
        match &self.config.directory_operator_key {
            Some(k) if *k == key.to_string() => return Ok(()),
            Some(k) => {
                return Err(NodeDirError::BadConfig {
                    path,
                    message: format!(
                        "the node already pins operator key {k}; edit config.toml to change it"
                    ),
                });
            }
            None => {}
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        // Top-level keys go before any table, so that a table later in the file does not swallow the line.
        let line = format!("directory_operator_key = \"{key}\"\n");
        let at = text
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .find(|&i| !text[i..].starts_with('#'))
            .unwrap_or(text.len());
        let text = format!("{}{line}{}", &text[..at], &text[at..]);
        let config: NodeConfig = toml::from_str(&text).map_err(|e| NodeDirError::BadConfig {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, &text).map_err(io(&path))?;
        self.config = config;
        Ok(())
    }

    /// The log keys (log signer, salt, witness key).
    pub fn log_keys(&self) -> Result<crate::eventlog::LogKeys, NodeDirError> {
        Ok(crate::eventlog::read_keys(&self.path)?)
    }

    /// The verifier key of the node's log, from the config.
    pub fn log_verifier(&self) -> Result<comity_tlog::Ed25519Verifier, NodeDirError> {
        let text = self.config.log_public_key.as_deref().unwrap_or_default();
        comity_tlog::Ed25519Verifier::parse(text).map_err(|e| NodeDirError::BadConfig {
            path: self.path.join(CONFIG_FILE),
            message: format!("log_public_key: {e}"),
        })
    }

    /// Opens the database.
    pub fn store(&self) -> Result<comity_store::sqlite::SqliteStore, NodeDirError> {
        Ok(comity_store::sqlite::SqliteStore::open(
            &self.path.join(DATABASE_FILE),
        )?)
    }
}
