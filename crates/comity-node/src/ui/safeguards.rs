//! Safeguard findings for the drafting wizard and the send step: the core's outgoing checks run on a draft, with
//! the node's example national profiles.

use comity_core::authority::AuthorityKind;
use comity_core::catalogue::Catalogue;
use comity_core::safeguards::{
    self, Finding, IssuerRole, Profile, SafeguardRules, Sending, Severity,
};

use crate::service::NodeService;
use crate::wire::RequestInput;

/// A finding as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    /// block, warn or info.
    pub severity: &'static str,
    /// Stable code.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Where the rule comes from.
    pub citations: Vec<String>,
}

impl FindingView {
    /// Whether this finding stops sending.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Block.as_str()
    }
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            severity: f.severity.as_str(),
            code: f.code.to_owned(),
            message: f.message.clone(),
            citations: f
                .citations
                .iter()
                .map(|c| {
                    format!(
                        "{} Art. {} [{}]",
                        c.instrument,
                        c.article,
                        c.verification.tag()
                    )
                })
                .collect(),
        }
    }
}

/// The rules and profiles the checks run with.
pub struct Safeguards {
    loaded: Option<(SafeguardRules, Vec<Profile>)>,
}

/// Who sends, to whom, issued by whom: the facts of sending that the document does not hold.
#[derive(Debug, Clone, Copy)]
pub struct SendingFacts {
    /// The addressee's kind.
    pub to_kind: AuthorityKind,
    /// The issuer's role.
    pub issuer: IssuerRole,
    /// A judge authorised the request.
    pub judicial_authorisation: bool,
}

impl Safeguards {
    /// Loads the embedded rules and example profiles; on failure the checks report that they could not run.
    pub fn load(catalogue: &Catalogue) -> Self {
        let loaded = SafeguardRules::embedded(catalogue)
            .map_err(|e| e.to_string())
            .and_then(|rules| {
                safeguards::example_profiles(catalogue, &rules)
                    .map(|profiles| (rules, profiles))
                    .map_err(|e| format!("{e:?}"))
            });
        match loaded {
            Ok(l) => Self { loaded: Some(l) },
            Err(e) => {
                tracing::error!(error = %e, "safeguard rules do not load; drafts are checked for fields only");
                Self { loaded: None }
            }
        }
    }

    /// Every finding on `input` sent by this node; malformed input comes back as blocking findings by field.
    pub fn check(
        &self,
        service: &NodeService,
        input: &RequestInput,
        facts: SendingFacts,
    ) -> Vec<FindingView> {
        let identity = service.identity();
        let doc = match input.into_document(&identity.authority, service.catalogue()) {
            Ok(doc) => doc,
            Err(problems) => {
                return problems
                    .into_iter()
                    .map(|p| FindingView {
                        severity: "block",
                        code: "document.invalid".into(),
                        message: format!("{}: {}", p.pointer.trim_start_matches('/'), p.message),
                        citations: Vec::new(),
                    })
                    .collect();
            }
        };
        let Some((rules, profiles)) = &self.loaded else {
            return vec![FindingView {
                severity: "warn",
                code: "safeguards.unavailable".into(),
                message: "the safeguard rules did not load on this node; only required fields were checked".into(),
                citations: Vec::new(),
            }];
        };
        let from = profiles.iter().find(|p| p.state == identity.state);
        let to = profiles.iter().find(|p| p.state == doc.requested_state);
        let (Some(from), Some(to)) = (from, to) else {
            let missing = if from.is_none() {
                identity.state.to_string()
            } else {
                doc.requested_state.to_string()
            };
            let mut out: Vec<FindingView> = service
                .catalogue()
                .mechanism(&doc.mechanism)
                .map(|m| {
                    comity_core::request::missing_fields(&doc, m)
                        .into_iter()
                        .map(|f| FindingView {
                            severity: "block",
                            code: "fields.missing".into(),
                            message: format!(
                                "fill in `{f}`: {} requires it",
                                m.title.to_lowercase()
                            ),
                            citations: Vec::new(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(FindingView {
                severity: "warn",
                code: "profile.unknown".into(),
                message: format!("no national profile for `{missing}` on this node; declarations and reservations were not checked"),
                citations: Vec::new(),
            });
            return out;
        };
        let sending = Sending {
            from_kind: identity.kind,
            to_kind: facts.to_kind,
            issuer: facts.issuer,
            validated_by: None,
            judicial_authorisation: facts.judicial_authorisation,
        };
        let mut findings: Vec<FindingView> =
            safeguards::check_outgoing(&doc, service.catalogue(), rules, from, to, &sending)
                .iter()
                .map(FindingView::from)
                .collect();
        findings.sort_by_key(|f| match f.severity {
            "block" => 0,
            "warn" => 1,
            _ => 2,
        });
        findings
    }
}
