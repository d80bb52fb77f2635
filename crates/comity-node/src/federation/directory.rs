//! The signed directory of authorities: who is who, where they listen, which keys they sign and receive with, and
//! which authority of a State handles which mechanism.
//!
//! A directory is a JSON document inside a DSSE envelope (`application/vnd.comity.directory+json`) signed by the
//! directory operator, whose public key every node pins in its config. A node never installs a directory that is
//! older than or as old as the one it has, or that is not signed by the pinned key.

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// Payload type of a signed directory.
pub const DIRECTORY_TYPE: &str = "application/vnd.comity.directory+json";

/// One authority in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryEntry {
    /// Authority id.
    pub id: String,
    /// State, ISO 3166-1 alpha-2.
    pub state: String,
    /// central-authority, contact-point, judicial, provider or oversight.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Languages accepted (ISO 639-1).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Hours of service, for example `24/7`.
    #[serde(default)]
    pub hours: String,
    /// On-call contact.
    #[serde(default)]
    pub on_call: String,
    /// Base URL of the node.
    pub endpoint: String,
    /// Ed25519 signing key, `ed25519:...`.
    pub signing_key: String,
    /// age recipient for sealed evidence.
    pub age_recipient: String,
    /// SHA-256 of the node's TLS certificate (hex), when it serves HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_sha256: Option<String>,
    /// Where the State's declarations and reservations are (for example `profile:FR`).
    #[serde(default)]
    pub declarations: String,
    /// Valid from (RFC 3339).
    pub valid_from: String,
    /// Valid until (RFC 3339).
    pub valid_until: String,
    /// Set when the authority's key was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// The verifier key of the authority's transparency log (signed-note form), so that others can check the proofs
    /// it serves that it logged their messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub reason: String,
}

/// The directory document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDocument {
    /// Increases with every publication; a node never goes back.
    pub version: u64,
    /// When it was published (RFC 3339).
    pub issued_at: String,
    /// Who operates it.
    pub operator: String,
    /// The authorities.
    pub authorities: Vec<DirectoryEntry>,
}

/// Why a directory or an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory is not a signed directory document: {0}")]
    Malformed(String),
    #[error(
        "the directory is not signed by the pinned operator key {0}; the directory in force stays in force"
    )]
    BadSignature(String),
    #[error(
        "the directory is version {offered}, not newer than version {current} in force; nothing changed"
    )]
    NotNewer { offered: u64, current: u64 },
    #[error("directory entry `{id}`: {message}")]
    BadEntry { id: String, message: String },
}

/// A checked entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Id.
    pub id: AuthorityId,
    /// State.
    pub state: IsoCountry,
    /// Kind.
    pub kind: AuthorityKind,
    /// Endpoint base URL.
    pub endpoint: String,
    /// Signing key.
    pub signing_key: PublicKey,
    /// The entry as published.
    pub entry: DirectoryEntry,
    valid_from: OffsetDateTime,
    valid_until: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
}

/// Why an authority may not be trusted at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Valid.
    Valid,
    /// Its key was revoked.
    Revoked,
    /// Outside its validity period.
    Expired,
}

impl Authority {
    /// Whether the authority's key may be trusted at `now`.
    pub fn standing(&self, now: OffsetDateTime) -> Standing {
        if self.revoked_at.is_some_and(|at| at <= now) {
            Standing::Revoked
        } else if now < self.valid_from || now > self.valid_until {
            Standing::Expired
        } else {
            Standing::Valid
        }
    }
}

/// A verified directory.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Version.
    pub version: u64,
    /// The checked entries.
    pub authorities: Vec<Authority>,
    /// The signed envelope, as installed.
    pub envelope: Envelope,
    /// The document.
    pub document: DirectoryDocument,
}

fn time(id: &str, field: &str, text: &str) -> Result<OffsetDateTime, DirectoryError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| DirectoryError::BadEntry {
        id: id.to_owned(),
        message: format!("{field} `{text}` is not an RFC 3339 time"),
    })
}

fn check_entry(e: &DirectoryEntry) -> Result<Authority, DirectoryError> {
    let bad = |message: String| DirectoryError::BadEntry {
        id: e.id.clone(),
        message,
    };
    let id = AuthorityId::parse(&e.id).map_err(|err| bad(err.to_string()))?;
    let state = IsoCountry::parse(&e.state).map_err(|err| bad(err.to_string()))?;
    let kind: AuthorityKind = e
        .kind
        .parse()
        .map_err(|err: comity_core::authority::BadAuthorityKind| bad(err.to_string()))?;
    let signing_key: PublicKey = e
        .signing_key
        .parse()
        .map_err(|err: comity_seal::keys::KeyError| bad(err.to_string()))?;
    if !(e.endpoint.starts_with("https://") || e.endpoint.starts_with("http://")) {
        return Err(bad(format!(
            "endpoint `{}` is not an http(s) URL",
            e.endpoint
        )));
    }
    if let Some(fp) = &e.tls_cert_sha256 {
        crate::tls::parse_fingerprint(fp).map_err(|err| bad(err.to_string()))?;
    }
    if !e.age_recipient.starts_with("age1") {
        return Err(bad(format!(
            "`{}` is not an age recipient",
            e.age_recipient
        )));
    }
    let valid_from = time(&e.id, "valid_from", &e.valid_from)?;
    let valid_until = time(&e.id, "valid_until", &e.valid_until)?;
    let revoked_at = e
        .revoked
        .as_ref()
        .map(|r| time(&e.id, "revoked.at", &r.at))
        .transpose()?;
    Ok(Authority {
        id,
        state,
        kind,
        endpoint: e.endpoint.trim_end_matches('/').to_owned(),
        signing_key,
        entry: e.clone(),
        valid_from,
        valid_until,
        revoked_at,
    })
}

impl DirectoryDocument {
    /// Checks every entry.
    pub fn check(&self) -> Result<Vec<Authority>, DirectoryError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for e in &self.authorities {
            if !seen.insert(e.id.clone()) {
                return Err(DirectoryError::BadEntry {
                    id: e.id.clone(),
                    message: "listed twice".into(),
                });
            }
            out.push(check_entry(e)?);
        }
        Ok(out)
    }

    /// Signs the document with the operator key.
    pub fn sign(&self, operator: &NodeSigningKey) -> Envelope {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        Envelope::sign(DIRECTORY_TYPE, &payload, operator)
    }
}

impl Directory {
    /// Verifies a signed directory against the pinned operator key.
    pub fn verify(envelope: &Envelope, operator: &PublicKey) -> Result<Self, DirectoryError> {
        let payload = envelope
            .verify(DIRECTORY_TYPE, operator)
            .map_err(|_| DirectoryError::BadSignature(operator.to_string()))?;
        let document: DirectoryDocument = serde_json::from_slice(&payload)
            .map_err(|e| DirectoryError::Malformed(e.to_string()))?;
        let authorities = document.check()?;
        Ok(Self {
            version: document.version,
            authorities,
            envelope: envelope.clone(),
            document,
        })
    }

    /// An authority by id.
    pub fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.id.as_str() == id)
    }

    /// The authorities of a State of a kind that may be trusted now.
    pub fn of(
        &self,
        state: IsoCountry,
        kind: AuthorityKind,
        now: OffsetDateTime,
    ) -> Option<&Authority> {
        self.authorities
            .iter()
            .find(|a| a.state == state && a.kind == kind && a.standing(now) == Standing::Valid)
    }
}

/// Chooses the competent authority of `state` for a mechanism: emergencies and preservation go to the 24/7 point
/// (BC Art 35), orders to a provider go to the named provider, everything else to the central authority. A State's
/// declaration that urgent requests go through its central authority (BC Art 27(9)(e)) concerns urgent mutual
/// assistance requests, which already go there; it does not divert the 24/7 network.
pub fn route<'a>(
    directory: &'a Directory,
    state: IsoCountry,
    mechanism: &comity_core::catalogue::Mechanism,
    addressee: Option<&str>,
    now: OffsetDateTime,
) -> Option<&'a Authority> {
    if let Some(named) = addressee.and_then(|a| directory.authority(a))
        && named.state == state
        && named.standing(now) == Standing::Valid
    {
        return Some(named);
    }
    directory.of(state, mechanism.addressed_to, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, state: &str, kind: &str, key: &NodeSigningKey) -> DirectoryEntry {
        DirectoryEntry {
            id: id.into(),
            state: state.into(),
            kind: kind.into(),
            name: id.into(),
            languages: vec!["en".into()],
            hours: "24/7".into(),
            on_call: String::new(),
            endpoint: "http://127.0.0.1:1".into(),
            signing_key: key.public_key().to_string(),
            age_recipient: "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq".into(),
            tls_cert_sha256: None,
            declarations: String::new(),
            valid_from: "2026-01-01T00:00:00Z".into(),
            valid_until: "2027-01-01T00:00:00Z".into(),
            revoked: None,
            log_key: None,
        }
    }

    #[test]
    fn verification_pins_the_operator_and_routing_follows_the_mechanism() {
        let operator = NodeSigningKey::from_seed([9; 32]);
        let k = NodeSigningKey::from_seed([1; 32]);
        let doc = DirectoryDocument {
            version: 1,
            issued_at: "2026-11-23T00:00:00Z".into(),
            operator: "test".into(),
            authorities: vec![
                entry("br-247", "BR", "contact-point", &k),
                entry("br-central", "BR", "central-authority", &k),
                entry("br-hosting", "BR", "provider", &k),
            ],
        };
        let env = doc.sign(&operator);
        let dir = Directory::verify(&env, &operator.public_key()).unwrap();
        let now = time::macros::datetime!(2026-11-23 00:00 UTC);
        let br = IsoCountry::parse("BR").unwrap();
        let catalogue = comity_core::Catalogue::embedded().unwrap();
        let to = |m: &str, addressee| {
            route(&dir, br, catalogue.mechanism(m).unwrap(), addressee, now)
                .map(|a| a.id.to_string())
        };
        assert_eq!(
            to("expedited-preservation", None).as_deref(),
            Some("br-247")
        );
        assert_eq!(to("emergency-disclosure", None).as_deref(), Some("br-247"));
        assert_eq!(to("mla-stored-data", None).as_deref(), Some("br-central"));
        assert_eq!(
            to("production-order", Some("br-hosting")).as_deref(),
            Some("br-hosting")
        );
        assert_eq!(
            to("production-order", Some("fr-nobody")).as_deref(),
            Some("br-hosting")
        );

        let other = NodeSigningKey::from_seed([8; 32]);
        assert!(matches!(
            Directory::verify(&env, &other.public_key()),
            Err(DirectoryError::BadSignature(_))
        ));
        let mut tampered = env.clone();
        tampered.payload = tampered.payload.replacen('e', "f", 1);
        assert!(Directory::verify(&tampered, &operator.public_key()).is_err());
    }

    #[test]
    fn revoked_and_expired_keys_lose_their_standing() {
        let k = NodeSigningKey::from_seed([1; 32]);
        let mut e = entry("br-247", "BR", "contact-point", &k);
        let a = check_entry(&e).unwrap();
        assert_eq!(
            a.standing(time::macros::datetime!(2026-06-01 00:00 UTC)),
            Standing::Valid
        );
        assert_eq!(
            a.standing(time::macros::datetime!(2027-06-01 00:00 UTC)),
            Standing::Expired
        );
        e.revoked = Some(Revocation {
            at: "2026-05-01T00:00:00Z".into(),
            reason: "key stolen".into(),
        });
        let a = check_entry(&e).unwrap();
        assert_eq!(
            a.standing(time::macros::datetime!(2026-06-01 00:00 UTC)),
            Standing::Revoked
        );
        e.kind = "police".into();
        assert!(check_entry(&e).is_err());
    }
}
