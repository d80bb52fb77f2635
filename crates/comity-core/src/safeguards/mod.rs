//! Safeguards: every request checked against the treaties and each State's own declarations, before it leaves and
//! when it arrives.
//!
//! The engine is data-driven. [`SafeguardRules`] (`rules/safeguards.toml`) holds the scope thresholds, channels,
//! issuing rules, dual-criminality rules, the decision checklist and the citation of every fixed check; a
//! [`Profile`] (`rules/profiles/*.toml`) holds one State's instruments, declarations, languages, judicial
//! authorisations, collection limits and offences. Nothing here does IO or reads the clock: times are arguments.
//!
//! - Requesting side: [`check_outgoing`] returns [`Finding`]s; any [`Severity::Block`] stops sending ([`blocks`]).
//! - Requested side: [`check_incoming`] returns an [`IncomingAssessment`] (open and barred refusal grounds, dual
//!   criminality judged on the conduct, the decision checklist), and [`check_decision`] judges a decision against it.
//! - [`authorisation_required`] and [`validation_status`]: judicial authorisation, and the validation window of an
//!   emergency order issued without prior validation.
//! - [`check_onward_use`]: conditions that travel with the evidence.
//! - [`notice_due`]: data-subject notice given, or deferred with a reason and a review date.

mod authorisation;
mod citations;
mod conditions;
mod finding;
mod incoming;
mod notice;
mod outgoing;
mod profile;
mod rules;
mod scope;

pub use authorisation::{ValidationStatus, authorisation_required, validation_status};
pub use conditions::{Conditions, Consent, ProposedUse, UseRecipient, check_onward_use};
pub use finding::{Finding, Severity, blocks};
pub use incoming::{
    BarredGround, ChecklistAnswer, ChecklistItem, Decision, DualCriminality, IncomingAssessment,
    OpenGround, check_decision, check_incoming,
};
pub use notice::{NoticeError, NoticeReminder, NoticeStatus, notice_due};
pub use outgoing::{IssuerRole, Sending, check_outgoing};
pub use profile::{
    AuthorisationRule, CollectionLimit, Declaration, DeclarationKind, DualCriminalityRequirement,
    EXAMPLE_PROFILES, NationalLaw, NationalOffence, Profile, ProfileError, example_profiles,
};
pub use rules::{
    ChannelRule, ChecklistRule, Conduct, DataThreshold, DualCriminalityRule, EMBEDDED, IssuingRule,
    LegalRule, LegalRules, Route, SafeguardRules, SafeguardRulesError, ScopeRule, SpeechRule,
    ValidationWindow,
};
