//! The log leaf of one lifecycle event: a salted commitment to the event plus the coarse facts statistics need.
//!
//! A leaf is one line of ASCII text, fields separated by one space:
//!
//! ```text
//! comity-event/v1 <commitment> <side> <kind> <mechanism> <instrument> <sending State> <receiving State> <urgency> <day> <grounds> <message>
//! ```
//!
//! `commitment` is base64 SHA-256 over a per-event salt and the event (request id, position, action, states, time);
//! `side` is `sent` (the request went out from this node) or `received`; `kind` is the lifecycle action; `day` is the
//! UTC date; `grounds` lists refusal grounds separated by commas, or `-`; `message` is base64 SHA-256 of the signed
//! envelope both nodes exchanged, or `-` for a step that crossed no node boundary.
//!
//! INVARIANT: a leaf never carries case content, names, references or free text: every field is a digest, a
//! catalogue id, a State code, an enum name or a date.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use comity_core::IsoCountry;
use comity_core::lifecycle::Action;
use comity_core::request::Urgency;
use comity_tlog::Hash;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::Date;
use time::macros::format_description;

/// The first field of every leaf.
pub const LEAF_FORMAT: &str = "comity-event/v1";

/// Which side of an exchange logged the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The request left this node (this node's State is the sending State).
    Sent,
    /// The request came to this node (this node's State is the receiving State).
    Received,
}

impl Side {
    /// The name in the leaf.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
        }
    }
}

/// The event a leaf commits to. Only its digest enters the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts<'a> {
    /// Request id.
    pub request_id: &'a str,
    /// Position of the event, from 1.
    pub seq: u64,
    /// Action name.
    pub action: &'a str,
    /// State before.
    pub from_state: &'a str,
    /// State after.
    pub to_state: &'a str,
    /// Time of the event, milliseconds since the epoch.
    pub at_ms: i64,
}

/// The per-event salt: HMAC-SHA-256 of the request id and position under the node's secret salt. Revealing it (in
/// an offline proof) opens one commitment and nothing else.
pub fn event_salt(node_salt: &[u8; 32], request_id: &str, seq: u64) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(node_salt).unwrap_or_else(|_| {
        // INVARIANT: HMAC accepts keys of any length.
        unreachable!("hmac takes any key length")
    });
    mac.update(b"comity-event-salt/v1\0");
    mac.update(&(request_id.len() as u64).to_be_bytes());
    mac.update(request_id.as_bytes());
    mac.update(&seq.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The commitment to an event under its per-event salt.
pub fn commitment(event_salt: &[u8; 32], event: &EventFacts<'_>) -> Hash {
    let mut h = Sha256::new();
    h.update(b"comity-event-commitment/v1\0");
    h.update(event_salt);
    for field in [
        event.request_id.as_bytes(),
        &event.seq.to_be_bytes(),
        event.action.as_bytes(),
        event.from_state.as_bytes(),
        event.to_state.as_bytes(),
        &event.at_ms.to_be_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    Hash(h.finalize().into())
}

/// One leaf of a node's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Salted commitment to the event.
    pub commitment: Hash,
    /// Which side logged it.
    pub side: Side,
    /// The lifecycle action.
    pub kind: Action,
    /// Catalogue mechanism id.
    pub mechanism: String,
    /// Catalogue instrument code the request rests on (`BC`, `EEV`, ...).
    pub instrument: String,
    /// The State the request comes from.
    pub sending_state: IsoCountry,
    /// The State the request is addressed to.
    pub receiving_state: IsoCountry,
    /// Urgency of the request.
    pub urgency: Urgency,
    /// UTC day of the event.
    pub day: Date,
    /// Refusal grounds (catalogue ids), only on `refuse`.
    pub grounds: Vec<String>,
    /// Digest of the envelope exchanged between nodes, when the step crossed a node boundary.
    pub message: Option<Hash>,
}

/// Why bytes are not a leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {LEAF_FORMAT} leaf: {0}")]
pub struct BadLeaf(pub String);

/// A catalogue id as leaves carry it: lower-case ASCII letters, digits and dashes.
fn is_catalogue_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Leaf {
    /// Checks what the type cannot: ids are catalogue ids.
    pub fn check(&self) -> Result<(), BadLeaf> {
        if !is_catalogue_id(&self.mechanism) {
            return Err(BadLeaf("mechanism is not a catalogue id".into()));
        }
        if self.instrument.is_empty()
            || self.instrument.len() > 16
            || !self
                .instrument
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(BadLeaf("instrument is not a catalogue code".into()));
        }
        if self.grounds.iter().any(|g| !is_catalogue_id(g)) {
            return Err(BadLeaf("a ground is not a catalogue id".into()));
        }
        Ok(())
    }

    /// The leaf as it is appended to the log.
    pub fn to_bytes(&self) -> Vec<u8> {
        let day = self
            .day
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default();
        let grounds = if self.grounds.is_empty() {
            "-".to_owned()
        } else {
            self.grounds.join(",")
        };
        let message = self
            .message
            .map_or_else(|| "-".to_owned(), |m| m.to_base64());
        format!(
            "{LEAF_FORMAT} {} {} {} {} {} {} {} {} {day} {grounds} {message}",
            self.commitment.to_base64(),
            self.side.as_str(),
            self.kind,
            self.mechanism,
            self.instrument,
            self.sending_state.as_str(),
            self.receiving_state.as_str(),
            self.urgency,
        )
        .into_bytes()
    }

    /// Parses a leaf; the bytes must be exactly what [`Leaf::to_bytes`] writes.
    pub fn parse(bytes: &[u8]) -> Result<Self, BadLeaf> {
        let bad = |what: &str| BadLeaf(what.to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let fields: Vec<&str> = text.split(' ').collect();
        let [
            format,
            commitment,
            side,
            kind,
            mechanism,
            instrument,
            sending,
            receiving,
            urgency,
            day,
            grounds,
            message,
        ] = fields[..]
        else {
            return Err(bad("expected 12 fields"));
        };
        if format != LEAF_FORMAT {
            return Err(bad("unknown format"));
        }
        let leaf = Self {
            commitment: Hash::from_base64(commitment).map_err(|_| bad("bad commitment"))?,
            side: match side {
                "sent" => Side::Sent,
                "received" => Side::Received,
                _ => return Err(bad("bad side")),
            },
            kind: kind.parse().map_err(|_| bad("unknown kind"))?,
            mechanism: mechanism.to_owned(),
            instrument: instrument.to_owned(),
            sending_state: IsoCountry::parse(sending).map_err(|_| bad("bad sending State"))?,
            receiving_state: IsoCountry::parse(receiving)
                .map_err(|_| bad("bad receiving State"))?,
            urgency: urgency.parse().map_err(|_| bad("unknown urgency"))?,
            day: Date::parse(day, format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad("bad day"))?,
            grounds: if grounds == "-" {
                Vec::new()
            } else {
                grounds.split(',').map(str::to_owned).collect()
            },
            message: if message == "-" {
                None
            } else {
                Some(Hash::from_base64(message).map_err(|_| bad("bad message digest"))?)
            },
        };
        leaf.check()?;
        // INVARIANT: one leaf has one encoding, so equal events give equal bytes.
        if leaf.to_bytes() != bytes {
            return Err(bad("not in canonical form"));
        }
        Ok(leaf)
    }

    /// The State pair, `FR→US`.
    pub fn state_pair(&self) -> String {
        format!(
            "{}→{}",
            self.sending_state.as_str(),
            self.receiving_state.as_str()
        )
    }
}

/// The base64 text of a 32-byte salt.
pub fn salt_to_base64(salt: &[u8; 32]) -> String {
    BASE64.encode(salt)
}

/// Parses a base64 salt.
pub fn salt_from_base64(text: &str) -> Option<[u8; 32]> {
    BASE64.decode(text.trim()).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

    use super::*;

    fn leaf() -> Leaf {
        Leaf {
            commitment: Hash([7; 32]),
            side: Side::Sent,
            kind: Action::Refuse,
            mechanism: "production-order".into(),
            instrument: "EEV".into(),
            sending_state: IsoCountry::parse("FR").unwrap(),
            receiving_state: IsoCountry::parse("US").unwrap(),
            urgency: Urgency::Emergency,
            day: time::macros::date!(2026 - 11 - 23),
            grounds: vec!["dual-criminality".into(), "ne-bis-in-idem".into()],
            message: None,
        }
    }

    #[test]
    fn leaves_round_trip_and_refuse_other_encodings() {
        let l = leaf();
        let bytes = l.to_bytes();
        assert_eq!(Leaf::parse(&bytes).unwrap(), l);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("comity-event/v1 BwcH"));
        assert!(text.ends_with(" refuse production-order EEV FR US emergency 2026-11-23 dual-criminality,ne-bis-in-idem -"));
        for bad in [
            text.replace("sent", "SENT"),
            text.replace(" FR ", " XX "),
            text.replace("2026-11-23", "2026-11-31"),
            format!("{text} "),
            text.replace("production-order", "Production order"),
            text.replace("refuse", "shred"),
            text.replace("EEV", "eev"),
            text.replace("comity-event/v1", "comity-event/v2"),
        ] {
            assert!(Leaf::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn commitments_depend_on_salt_and_every_field() {
        let salt = event_salt(&[1; 32], "req-1", 1);
        assert_ne!(salt, event_salt(&[2; 32], "req-1", 1));
        assert_ne!(salt, event_salt(&[1; 32], "req-1", 2));
        let e = EventFacts {
            request_id: "req-1",
            seq: 1,
            action: "send",
            from_state: "draft",
            to_state: "sent",
            at_ms: 1,
        };
        let c = commitment(&salt, &e);
        assert_eq!(c, commitment(&salt, &e.clone()));
        assert_ne!(
            c,
            commitment(
                &salt,
                &EventFacts {
                    at_ms: 2,
                    ..e.clone()
                }
            )
        );
        assert_ne!(
            c,
            commitment(
                &salt,
                &EventFacts {
                    to_state: "sentx",
                    ..e.clone()
                }
            )
        );
        assert_ne!(c, commitment(&[0; 32], &e));
    }
}
