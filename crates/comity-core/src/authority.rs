//! Authorities: who runs a node, identified by a stable id, and of which kind.

use std::fmt;
use std::str::FromStr;

/// A stable authority identifier such as `fr-247` or `br-central`: 3 to 64 characters, lower-case ASCII letters,
/// digits, `-` and `.`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorityId(String);

/// The input is not a valid authority id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an authority id: use 3 to 64 lower-case letters, digits, `-` or `.`, starting with a letter (for example `fr-247`)"
)]
pub struct BadAuthorityId(pub String);

impl AuthorityId {
    /// Parses an authority id.
    pub fn parse(input: &str) -> Result<Self, BadAuthorityId> {
        let ok = (3..=64).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(BadAuthorityId(input.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuthorityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an authority is, which decides what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorityKind {
    /// A State's central authority for mutual legal assistance.
    CentralAuthority,
    /// A State's 24/7 point of contact.
    ContactPoint,
    /// A judge, court or prosecutor that issues or authorises measures.
    Judicial,
    /// A service provider (or its designated establishment or legal representative).
    Provider,
    /// An oversight body.
    Oversight,
}

impl AuthorityKind {
    /// Every kind, in a stable order.
    pub const ALL: [AuthorityKind; 5] = [
        Self::CentralAuthority,
        Self::ContactPoint,
        Self::Judicial,
        Self::Provider,
        Self::Oversight,
    ];

    /// The kebab-case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CentralAuthority => "central-authority",
            Self::ContactPoint => "contact-point",
            Self::Judicial => "judicial",
            Self::Provider => "provider",
            Self::Oversight => "oversight",
        }
    }
}

/// The input names no authority kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an authority kind: use one of central-authority, contact-point, judicial, provider, oversight"
)]
pub struct BadAuthorityKind(pub String);

impl FromStr for AuthorityKind {
    type Err = BadAuthorityKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| BadAuthorityKind(s.to_owned()))
    }
}

impl fmt::Display for AuthorityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_documented_shape() {
        for ok in ["fr-247", "br.central", "abc", "a1-b2"] {
            assert!(AuthorityId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "Fr-247",
            "1fr",
            "fr 247",
            "fr_247",
            &"a".repeat(65),
            "fr/247",
        ] {
            assert!(AuthorityId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in AuthorityKind::ALL {
            assert_eq!(kind.as_str().parse::<AuthorityKind>().unwrap(), kind);
        }
        assert!("police".parse::<AuthorityKind>().is_err());
    }
}
