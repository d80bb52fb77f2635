//! Safeguard findings as the UI shows them: the service's outgoing checks on a draft being written or on a stored
//! request, with malformed draft values turned into blocking findings by field.

use crate::service::{NodeService, ServiceError};
use crate::wire::RequestInput;

/// A finding as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    /// block, warn or info.
    pub severity: String,
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
        self.severity == "block"
    }
}

impl From<&crate::safeguards::FindingView> for FindingView {
    fn from(f: &crate::safeguards::FindingView) -> Self {
        Self {
            severity: f.severity.clone(),
            code: f.code.clone(),
            message: f.message.clone(),
            citations: f
                .citations
                .iter()
                .map(|c| format!("{} Art. {} [{}]", c.instrument, c.article, c.verification))
                .collect(),
        }
    }
}

fn sorted(mut findings: Vec<FindingView>) -> Vec<FindingView> {
    findings.sort_by_key(|f| match f.severity.as_str() {
        "block" => 0,
        "warn" => 1,
        _ => 2,
    });
    findings
}

fn failed(e: &ServiceError) -> FindingView {
    tracing::error!(error = %e, "safeguard checks failed");
    FindingView {
        severity: "warn".into(),
        code: "safeguards.unavailable".into(),
        message: "the safeguard checks could not run on this node; try again, or ask the node's administrator".into(),
        citations: Vec::new(),
    }
}

/// Every outgoing finding on a draft being written.
pub fn check_draft(service: &NodeService, input: &RequestInput) -> Vec<FindingView> {
    match service.check_document(input) {
        Ok(view) => sorted(view.outgoing.iter().map(FindingView::from).collect()),
        Err(ServiceError::Invalid(problems)) => problems
            .into_iter()
            .map(|p| FindingView {
                severity: "block".into(),
                code: "document.invalid".into(),
                message: format!("{}: {}", p.pointer.trim_start_matches('/'), p.message),
                citations: Vec::new(),
            })
            .collect(),
        Err(e) => vec![failed(&e)],
    }
}

/// Every outgoing finding on a stored request.
pub async fn check_request(service: &NodeService, id: &str) -> Vec<FindingView> {
    match service.findings(id).await {
        Ok(view) => sorted(view.outgoing.iter().map(FindingView::from).collect()),
        Err(e) => vec![failed(&e)],
    }
}
