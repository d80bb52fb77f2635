//! TLS between nodes: each node's self-signed certificate, the rustls server config that presents it, and a client
//! that trusts a server only when its certificate's SHA-256 is the one the directory of authorities lists.
//!
//! There is no fallback to the web PKI: an `https://` peer without a pinned fingerprint is not contacted. Plain
//! `http://` is accepted only towards loopback hosts (tests, the demo, a node behind a local proxy).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The node's certificate (PEM).
pub const TLS_CERT_FILE: &str = "tls.crt";
/// The node's TLS private key (PEM, 0600).
pub const TLS_KEY_FILE: &str = "tls.key";
/// Names the self-signed certificate is valid for.
pub const SUBJECT_ALT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// What can go wrong with TLS material or a pinned client.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot create the TLS certificate: {0}")]
    Generate(String),
    #[error("cannot read `{path}`: {message}")]
    Read { path: PathBuf, message: String },
    #[error(transparent)]
    Key(#[from] comity_seal::keys::KeyError),
    #[error("`{0}` is not a SHA-256 fingerprint (64 hex digits)")]
    BadFingerprint(String),
    #[error("the TLS configuration is refused: {0}")]
    Config(String),
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
}

/// The crypto provider every TLS endpoint of a node uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Hex SHA-256 of a DER certificate: what the directory lists as `tls_cert_sha256`.
pub fn fingerprint(der: &[u8]) -> String {
    hex(&Sha256::digest(der))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a `tls_cert_sha256` value.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsError> {
    let bad = || TlsError::BadFingerprint(text.to_owned());
    let t = text.trim();
    if t.len() != 64 || !t.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Creates a self-signed certificate and key in `dir` and returns the certificate's fingerprint.
/// The key is written 0600 and never overwritten.
pub fn generate(dir: &Path) -> Result<String, TlsError> {
    let names = SUBJECT_ALT_NAMES
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>();
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    comity_seal::keys::write_secret_file(
        &dir.join(TLS_KEY_FILE),
        certified.signing_key.serialize_pem().as_bytes(),
    )?;
    let cert_path = dir.join(TLS_CERT_FILE);
    std::fs::write(&cert_path, certified.cert.pem()).map_err(|e| TlsError::Read {
        path: cert_path,
        message: e.to_string(),
    })?;
    Ok(fingerprint(certified.cert.der()))
}

/// The DER certificate stored in `dir`.
pub fn read_cert(dir: &Path) -> Result<CertificateDer<'static>, TlsError> {
    let path = dir.join(TLS_CERT_FILE);
    CertificateDer::from_pem_file(&path).map_err(|e| TlsError::Read {
        path,
        message: e.to_string(),
    })
}

/// The rustls server configuration presenting the node's certificate.
pub fn server_config(dir: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert = read_cert(dir)?;
    let key_path = dir.join(TLS_KEY_FILE);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Read {
        path: key_path,
        message: e.to_string(),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts a server only if its end-entity certificate hashes to one of the pinned fingerprints; the handshake
/// signatures are still verified with that certificate's key. Names and validity dates are not consulted: the pin is
/// the identity, and it changes only through a new signed directory.
#[derive(Debug)]
pub struct PinnedVerifier {
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    /// A verifier accepting the certificates with these fingerprints.
    pub fn new(pins: &[&str]) -> Result<Self, TlsError> {
        Ok(Self {
            pins: pins
                .iter()
                .map(|p| parse_fingerprint(p))
                .collect::<Result<_, _>>()?,
            provider: provider(),
        })
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if self.pins.contains(&got) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How long a client talking to another node waits for its answer, in all.
pub const PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a client talking to another node waits for the connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// An HTTPS client that trusts only servers presenting a certificate with one of these fingerprints.
pub fn pinned_client(pins: &[&str]) -> Result<reqwest::Client, TlsError> {
    let verifier = PinnedVerifier::new(pins)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .https_only(true)
        .timeout(PEER_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// A client for plain `http://` on loopback only.
pub fn loopback_client() -> Result<reqwest::Client, TlsError> {
    reqwest::Client::builder()
        .timeout(PEER_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// Whether `host` (from a URL) names this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Plain HTTP is served only on a loopback address.
pub fn check_plain_http_listener(addr: SocketAddr) -> std::io::Result<()> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "plain HTTP is served only on loopback, not on {addr}; listen on 127.0.0.1 or drop --insecure-http to serve HTTPS"
            ),
        ))
    }
}

/// How a node reaches a peer's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// HTTPS, pinned to this fingerprint.
    Pinned(String),
    /// Plain HTTP on loopback.
    Loopback,
}

/// Decides how `endpoint` may be reached given the fingerprint the directory lists, or why it may not.
pub fn route(endpoint: &str, tls_cert_sha256: Option<&str>) -> Result<Route, String> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| format!("endpoint `{endpoint}`: {e}"))?;
    match url.scheme() {
        "https" => match tls_cert_sha256 {
            Some(fp) => {
                parse_fingerprint(fp).map_err(|e| e.to_string())?;
                Ok(Route::Pinned(fp.trim().to_ascii_lowercase()))
            }
            None => Err(format!(
                "`{endpoint}` has no tls_cert_sha256 in the directory; an unpinned HTTPS peer is not contacted"
            )),
        },
        "http" if url.host_str().is_some_and(is_loopback_host) => Ok(Route::Loopback),
        "http" => Err(format!(
            "`{endpoint}` is plain HTTP to a host that is not loopback; the directory must list an https:// endpoint"
        )),
        other => Err(format!("`{endpoint}`: scheme `{other}` is not supported")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]
    use super::*;

    #[test]
    fn routes_are_pinned_or_loopback_only() {
        let fp = "ab".repeat(32);
        assert_eq!(
            route("https://node.example:7410", Some(&fp)),
            Ok(Route::Pinned(fp.clone()))
        );
        assert!(route("https://node.example:7410", None).is_err());
        assert!(route("https://node.example:7410", Some("abc")).is_err());
        assert_eq!(route("http://127.0.0.1:1", None), Ok(Route::Loopback));
        assert_eq!(route("http://localhost:1", None), Ok(Route::Loopback));
        assert_eq!(route("http://[::1]:1", None), Ok(Route::Loopback));
        assert!(route("http://10.0.0.1:1", Some(&fp)).is_err());
        assert!(route("http://node.example", None).is_err());
        assert!(route("ftp://127.0.0.1", None).is_err());
    }

    #[test]
    fn a_generated_certificate_is_fingerprinted_and_its_key_private() {
        let tmp = tempfile::tempdir().unwrap();
        let fp = generate(tmp.path()).unwrap();
        assert_eq!(fingerprint(read_cert(tmp.path()).unwrap().as_ref()), fp);
        assert_eq!(parse_fingerprint(&fp).unwrap().len(), 32);
        server_config(tmp.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tmp.path().join(TLS_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(generate(tmp.path()).is_err(), "a key is never overwritten");
    }

    #[test]
    fn plain_http_listens_only_on_loopback() {
        assert!(check_plain_http_listener("127.0.0.1:7410".parse().unwrap()).is_ok());
        assert!(check_plain_http_listener("[::1]:7410".parse().unwrap()).is_ok());
        assert!(check_plain_http_listener("0.0.0.0:7410".parse().unwrap()).is_err());
        assert!(check_plain_http_listener("192.0.2.1:7410".parse().unwrap()).is_err());
    }
}
