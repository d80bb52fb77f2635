//! The node's use of the safeguards engine: the rules and national profiles in force, the `Sending` facts a node
//! knows about a request, and the wire views of findings and assessments.

use comity_core::catalogue::Catalogue;
use comity_core::lifecycle::Action;
use comity_core::request::RequestDocument;
use comity_core::safeguards::{
    self, Finding, IncomingAssessment, IssuerRole, Profile, SafeguardRules, Sending, Severity,
};
use comity_core::{AuthorityKind, IsoCountry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::CitationView;

/// Safeguard rules and the national profiles known to this node.
#[derive(Debug)]
pub struct Safeguards {
    /// Thresholds, channels, checklist and their citations.
    pub rules: SafeguardRules,
    /// One profile per State.
    pub profiles: Vec<Profile>,
}

impl Safeguards {
    /// The shipped rules and example profiles, checked against `catalogue`.
    pub fn embedded(catalogue: &Catalogue) -> Result<Self, String> {
        let rules = SafeguardRules::embedded(catalogue).map_err(|e| e.to_string())?;
        let profiles =
            safeguards::example_profiles(catalogue, &rules).map_err(|e| e.to_string())?;
        Ok(Self { rules, profiles })
    }

    /// The profile of a State.
    pub fn profile(&self, state: IsoCountry) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.state == state)
    }

    /// Findings before a request leaves `own_state`; a missing profile is a warning, never a silent pass.
    pub fn outgoing(
        &self,
        doc: &RequestDocument,
        catalogue: &Catalogue,
        own_state: IsoCountry,
        sending: &Sending,
    ) -> Vec<Finding> {
        match (self.profile(own_state), self.profile(doc.requested_state)) {
            (Some(from), Some(to)) => {
                safeguards::check_outgoing(doc, catalogue, &self.rules, from, to, sending)
            }
            (from, to) => vec![missing_profile(
                if from.is_none() {
                    own_state
                } else {
                    doc.requested_state
                },
                to.is_none(),
            )],
        }
    }

    /// The requested side's assessment, when both States have a profile.
    pub fn incoming(
        &self,
        doc: &RequestDocument,
        catalogue: &Catalogue,
        from_state: IsoCountry,
        to_state: IsoCountry,
    ) -> Option<IncomingAssessment> {
        let from = self.profile(from_state)?;
        let to = self.profile(to_state)?;
        Some(safeguards::check_incoming(
            doc,
            catalogue,
            &self.rules,
            from,
            to,
        ))
    }
}

fn missing_profile(state: IsoCountry, _either: bool) -> Finding {
    Finding {
        severity: Severity::Warn,
        code: "profile.missing",
        message: format!(
            "no national profile for {state} is loaded: its declarations, languages and dual-criminality rules were not checked; add a profile before relying on this result"
        ),
        citations: Vec::new(),
    }
}

/// What the node knows about how a request is sent: from the node's kind, the addressee, and the recorded events.
///
/// `to_kind` is the kind of the authority the request goes to when the directory names it (a provider addressed
/// directly under the EEV Regulation, for example); otherwise the catalogue's usual addressee of the mechanism.
pub fn sending(
    own_kind: AuthorityKind,
    mechanism: &comity_core::catalogue::Mechanism,
    to_kind: Option<AuthorityKind>,
    issuer: Option<IssuerRole>,
    actions: &[Action],
) -> Sending {
    let authorised = actions.contains(&Action::Authorise);
    let default_issuer = if own_kind == AuthorityKind::Judicial {
        IssuerRole::Judge
    } else {
        IssuerRole::InvestigatingAuthority
    };
    Sending {
        from_kind: own_kind,
        to_kind: to_kind.unwrap_or(mechanism.addressed_to),
        issuer: issuer.unwrap_or(default_issuer),
        validated_by: authorised.then_some(IssuerRole::Judge),
        judicial_authorisation: authorised,
    }
}

/// A finding as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    /// `block`, `warn` or `info`.
    pub severity: String,
    /// Stable code, for example `scope.offence-outside-catalogue`.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Where the rule comes from.
    pub citations: Vec<CitationView>,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            severity: f.severity.as_str().to_owned(),
            code: f.code.to_owned(),
            message: f.message.clone(),
            citations: f.citations.iter().map(CitationView::from).collect(),
        }
    }
}

/// A refusal ground open or barred on the requested side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroundView {
    /// Catalogue id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Why it is barred (barred grounds only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where it comes from.
    pub citations: Vec<CitationView>,
}

/// A question the requested authority answers before deciding.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChecklistItemView {
    /// Id to answer with.
    pub id: String,
    /// The question.
    pub question: String,
    /// Where it comes from.
    pub citations: Vec<CitationView>,
}

/// The requested side's assessment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssessmentView {
    /// Findings on the request.
    pub findings: Vec<FindingView>,
    /// Refusal grounds open.
    pub open_grounds: Vec<GroundView>,
    /// Grounds that may not be used.
    pub barred_grounds: Vec<GroundView>,
    /// Whether dual criminality is required and met, judged on the conduct.
    pub dual_criminality_required: bool,
    /// Met.
    pub dual_criminality_met: bool,
    /// The reasoning, one line per step.
    pub dual_criminality_reasoning: Vec<String>,
    /// Questions to answer with `checklist` on the decision.
    pub checklist: Vec<ChecklistItemView>,
}

impl From<&IncomingAssessment> for AssessmentView {
    fn from(a: &IncomingAssessment) -> Self {
        let cites =
            |c: &[comity_core::catalogue::Citation]| c.iter().map(CitationView::from).collect();
        Self {
            findings: a.findings.iter().map(FindingView::from).collect(),
            open_grounds: a
                .open_grounds
                .iter()
                .map(|g| GroundView {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    reason: None,
                    citations: cites(&g.citations),
                })
                .collect(),
            barred_grounds: a
                .barred_grounds
                .iter()
                .map(|g| GroundView {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    reason: Some(g.reason.clone()),
                    citations: cites(&g.citations),
                })
                .collect(),
            dual_criminality_required: a.dual_criminality.required,
            dual_criminality_met: a.dual_criminality.met,
            dual_criminality_reasoning: a.dual_criminality.reasoning.clone(),
            checklist: a
                .checklist
                .iter()
                .map(|c| ChecklistItemView {
                    id: c.id.clone(),
                    question: c.question.clone(),
                    citations: cites(&c.citations),
                })
                .collect(),
        }
    }
}

/// The safeguards view of one request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingsView {
    /// Request id.
    pub request_id: String,
    /// Whether any outgoing finding blocks sending.
    pub blocks_sending: bool,
    /// Findings on the requesting side.
    pub outgoing: Vec<FindingView>,
    /// The requested side's assessment, when both States have a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<AssessmentView>,
}

/// An answer to a checklist item, given with a decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistAnswerInput {
    /// The item's id.
    pub id: String,
    /// The concern the item asks about is present.
    pub concern: bool,
    /// What was considered.
    #[serde(default)]
    pub note: String,
}
