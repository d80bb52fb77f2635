//! Safeguards: every request checked against the treaties and each State's own declarations, before it leaves and
//! when it arrives.

mod citations;
mod outgoing;
mod profile;
mod rules;

pub use outgoing::IssuerRole;
pub use profile::{
    AuthorisationRule, CollectionLimit, Declaration, DeclarationKind, DualCriminalityRequirement,
    EXAMPLE_PROFILES, NationalLaw, NationalOffence, Profile, ProfileError, example_profiles,
};
pub use rules::{
    ChannelRule, ChecklistRule, Conduct, DataThreshold, DualCriminalityRule, EMBEDDED, IssuingRule,
    LegalRule, LegalRules, Route, SafeguardRules, SafeguardRulesError, ScopeRule, SpeechRule,
    ValidationWindow,
};
