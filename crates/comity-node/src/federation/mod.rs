//! Federation: the directory of authorities, signed messages between nodes, signed receipts, and delivery.
//!
//! - Sending is a lifecycle step: `send` on a request routes it through the directory and writes the signed message
//!   into the outbox **in the same transaction** as the event; later steps on a linked request write a `status`
//!   message the same way. Nothing is sent that is not recorded, and nothing recorded is lost.
//! - [`Federation::deliver_due`] delivers the head of each thread, in order, with exponential backoff and jitter, and
//!   checks the receiver's signed receipt before it marks a message delivered. Several processes serving one node
//!   claim messages before sending ([`CLAIM_TTL`]), so each is sent by one; a claim left by a dead process runs out.
//! - [`Federation::receive`] checks a message against the directory (sender known, key valid, signature, recipient,
//!   clock skew, thread chain, id reuse) and stores it with its effect and its receipt in one transaction before it
//!   answers; a duplicate gets the stored receipt again, so the effect happens exactly once. A refusal is answered
//!   with a signed negative receipt and recorded as a security event; nothing enters the case.

pub mod directory;
pub mod exchange;
pub mod message;
pub mod proofs;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};
use comity_store::SecurityEvent;
use time::OffsetDateTime;

pub use directory::{Directory, DirectoryError};

/// How far a message's creation time may be from this node's clock.
pub const ALLOWED_SKEW: time::Duration = time::Duration::minutes(5);
/// The longest wait between delivery attempts.
pub const MAX_BACKOFF: time::Duration = time::Duration::seconds(60);
/// The first wait after a failed attempt.
pub const FIRST_BACKOFF: time::Duration = time::Duration::milliseconds(200);
/// How long a delivering process keeps the messages it claimed: well beyond one attempt (bounded by the client's
/// 10 s timeout), so a live process always marks its messages first.
pub const CLAIM_TTL: time::Duration = time::Duration::seconds(30);
/// Most messages claimed (and sent at once) per delivery round.
pub const CLAIM_BATCH: u32 = 16;

/// The federation side of a node.
pub struct Federation {
    key: Arc<NodeSigningKey>,
    operator: Option<PublicKey>,
    directory: RwLock<Option<Arc<Directory>>>,
    directory_file: Option<PathBuf>,
    loopback: reqwest::Client,
    pinned: Mutex<HashMap<String, reqwest::Client>>,
    wake: tokio::sync::Notify,
    deliverer: String,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Federation({})", self.key.public_key())
    }
}

impl Federation {
    /// A federation side with the node's key, the pinned directory operator key, and where the directory is kept.
    pub fn new(
        key: NodeSigningKey,
        operator: Option<PublicKey>,
        directory_file: Option<PathBuf>,
    ) -> Self {
        let loopback = crate::tls::loopback_client().unwrap_or_default();
        let federation = Self {
            key: Arc::new(key),
            operator,
            directory: RwLock::new(None),
            directory_file,
            loopback,
            pinned: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            deliverer: format!(
                "deliver-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ),
        };
        federation.load_saved_directory();
        federation
    }

    fn load_saved_directory(&self) {
        let (Some(path), Some(operator)) = (&self.directory_file, &self.operator) else {
            return;
        };
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        match Envelope::from_json(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|env| Directory::verify(&env, operator).map_err(|e| e.to_string()))
        {
            Ok(dir) => {
                if let Ok(mut slot) = self.directory.write() {
                    *slot = Some(Arc::new(dir));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the saved directory does not verify; running without one")
            }
        }
    }

    /// Who this process is when it claims outbox messages (unique per process).
    pub fn deliverer(&self) -> &str {
        &self.deliverer
    }

    /// The node's signing key.
    pub fn key(&self) -> &NodeSigningKey {
        &self.key
    }

    /// The directory in force.
    pub fn directory(&self) -> Option<Arc<Directory>> {
        self.directory.read().ok().and_then(|d| d.clone())
    }

    /// Installs a signed directory: it must verify against the pinned operator key and be newer than the one in force.
    /// It is written durably before it takes effect.
    pub fn install_directory(&self, envelope: &Envelope) -> Result<u64, DirectoryError> {
        let operator = self.operator.as_ref().ok_or_else(|| {
            DirectoryError::Malformed(
                "this node pins no directory operator key; set `directory_operator_key` in config.toml".into(),
            )
        })?;
        let dir = Directory::verify(envelope, operator)?;
        let mut slot = self
            .directory
            .write()
            .map_err(|_| DirectoryError::Malformed("lock poisoned".into()))?;
        if let Some(current) = slot.as_ref()
            && dir.version <= current.version
        {
            return Err(DirectoryError::NotNewer {
                offered: dir.version,
                current: current.version,
            });
        }
        if let Some(path) = &self.directory_file {
            write_durably(path, &envelope.to_json())
                .map_err(|e| DirectoryError::Malformed(e.to_string()))?;
        }
        let version = dir.version;
        *slot = Some(Arc::new(dir));
        Ok(version)
    }

    /// Wakes the delivery loop (a message was queued).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Waits until woken or until `timeout`.
    pub async fn wait(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    /// The client that may reach `to`: HTTPS pinned to the certificate fingerprint its directory entry lists, or
    /// plain HTTP if its endpoint is on loopback. Anything else is refused with the reason.
    pub(crate) fn client_for(&self, to: &directory::Authority) -> Result<reqwest::Client, String> {
        match crate::tls::route(&to.endpoint, to.entry.tls_cert_sha256.as_deref())? {
            crate::tls::Route::Loopback => Ok(self.loopback.clone()),
            crate::tls::Route::Pinned(fp) => {
                let mut cache = self
                    .pinned
                    .lock()
                    .map_err(|_| "the client cache is poisoned".to_owned())?;
                if let Some(client) = cache.get(&fp) {
                    return Ok(client.clone());
                }
                let client = crate::tls::pinned_client(&[&fp]).map_err(|e| e.to_string())?;
                cache.insert(fp, client.clone());
                Ok(client)
            }
        }
    }
}

/// Writes a file via a temporary sibling, fsync and rename.
fn write_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The delay before attempt `attempts + 1`: doubling from 200 ms up to 60 s, with ±50 % jitter.
pub fn backoff(attempts: u32, jitter: f64) -> time::Duration {
    let doubled = FIRST_BACKOFF * 2_f64.powi(attempts.min(20) as i32);
    let capped = if doubled > MAX_BACKOFF {
        MAX_BACKOFF
    } else {
        doubled
    };
    capped * (0.5 + jitter.clamp(0.0, 1.0))
}

/// A security event now.
pub(crate) fn security(
    at: OffsetDateTime,
    code: &str,
    sender: Option<&str>,
    message_id: Option<&str>,
    detail: String,
) -> SecurityEvent {
    SecurityEvent {
        at,
        code: code.to_owned(),
        sender: sender.map(str::to_owned),
        message_id: message_id.map(str::to_owned),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        assert_eq!(backoff(0, 0.5), time::Duration::milliseconds(200));
        assert_eq!(backoff(3, 0.5), time::Duration::milliseconds(1600));
        assert_eq!(backoff(30, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(0, 0.0), time::Duration::milliseconds(100));
        assert_eq!(backoff(0, 1.0), time::Duration::milliseconds(300));
    }
}
