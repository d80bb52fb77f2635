//! The one place where failures become HTTP answers: RFC 9457 problem documents that name every bad field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_core::request::FieldProblem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::ServiceError;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemField {
    /// JSON pointer to the field in the request body (RFC 6901), or the query parameter as `/name`.
    pub pointer: String,
    /// What is wrong and how to fix it.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened here, and what to do.
    pub detail: String,
    /// Every bad field, when the input was at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For a refused lifecycle step: the current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// For a refused lifecycle step: the actions allowed now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
    /// For a step the safeguards engine blocked: the blocking findings, with citations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::safeguards::FindingView>,
}

impl Problem {
    /// A problem of a kind (a slug under `urn:comity:problem:`).
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:comity:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            state: None,
            allowed_actions: None,
            findings: Vec::new(),
        }
    }

    /// The input was malformed at `pointer`.
    pub fn bad_body(pointer: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-body",
            "The request body is malformed",
            detail.clone(),
        );
        p.errors.push(ProblemField {
            pointer: pointer.to_owned(),
            detail,
        });
        p
    }

    /// Fields are invalid.
    pub fn invalid(problems: Vec<FieldProblem>) -> Self {
        let detail = match problems.as_slice() {
            [one] => format!("{}: {}", one.pointer, one.message),
            many => format!("{} fields are invalid; see `errors`", many.len()),
        };
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "Some fields are invalid",
            detail,
        );
        p.errors = problems
            .into_iter()
            .map(|f| ProblemField {
                pointer: f.pointer,
                detail: f.message,
            })
            .collect();
        p
    }

    /// Nothing at this address.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// Something failed inside; the detail is logged, not shown.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the node failed to handle this request; nothing was acknowledged; the operator can find the cause in the node log",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(problems) => Self::invalid(problems),
            ServiceError::NotFound { .. } => Self::not_found(e.to_string()),
            ServiceError::NotAllowed {
                message,
                state,
                allowed,
            } => {
                let mut p = Self::new(
                    StatusCode::CONFLICT,
                    "transition-not-allowed",
                    "This step is not allowed now",
                    message,
                );
                p.state = Some(state);
                p.allowed_actions = Some(allowed);
                p
            }
            ServiceError::Conflict(detail) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            ServiceError::Blocked(findings) => {
                let detail = findings
                    .iter()
                    .map(|f| format!("{}: {}", f.code, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut p = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "blocked-by-safeguards",
                    "The safeguards block this step",
                    detail,
                );
                p.findings = findings;
                p
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::internal()
            }
        }
    }
}
