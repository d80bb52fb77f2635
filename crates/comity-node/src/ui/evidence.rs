//! Evidence on the request page: the packages held against the request with their seal and receipt status, and
//! downloads of a package and its seal statement, authorised exactly like the request page.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html as m};

use super::i18n::{self, Lang, t};
use super::{Shared, UiError, User};
use crate::access::Action;
use crate::api::AppState;
use crate::evidence::EvidenceView;

/// The evidence of a request, or none if it cannot be read (the page still shows the request).
pub(super) async fn of_request(state: &AppState, request_id: &str) -> Vec<EvidenceView> {
    match state.service.evidence_list(request_id).await {
        Ok(list) => list.evidence,
        Err(e) => {
            tracing::warn!(error = %e, "evidence list unavailable on the request page");
            Vec::new()
        }
    }
}

/// The evidence section of the request page.
pub(super) fn section(lang: Lang, request_id: &str, evidence: &[EvidenceView]) -> Markup {
    m! {
        section aria-labelledby="evidence" {
            h2 id="evidence" { (t(lang, "evidence")) }
            @if evidence.is_empty() { p class="empty" { (t(lang, "evidence-none")) } }
            ul class="evidence" {
                @for e in evidence {
                    li {
                        code { (e.package_sha256.get(..19).unwrap_or(&e.package_sha256)) "…" } " · "
                        (e.size_bytes) " B · "
                        (if e.direction == "incoming" { t(lang, "evidence-from") } else { t(lang, "evidence-to") })
                        " " (e.counterpart)
                        @if let Some(sealed) = &e.sealed_at { " · " (i18n::datetime_text(lang, sealed)) }
                        br;
                        (t(lang, "evidence-seal")) ": "
                        (if e.seal_status == "bag" { t(lang, "evidence-seal-bag") } else { t(lang, "evidence-seal-statement") })
                        " · " (t(lang, "evidence-receipt")) ": "
                        (match e.receipt.as_str() {
                            "received" => t(lang, "evidence-receipt-received"),
                            "issued" => t(lang, "evidence-receipt-issued"),
                            _ => t(lang, "evidence-receipt-none"),
                        })
                        br;
                        a href={ "/requests/" (request_id) "/evidence/" (e.id) } download { (t(lang, "evidence-download")) }
                        " · "
                        a href={ "/requests/" (request_id) "/evidence/" (e.id) "/statement" } download { (t(lang, "evidence-statement")) }
                    }
                }
            }
        }
    }
}

/// Reads the request as the request page does and refuses unless the user may read it.
async fn authorised(
    state: &AppState,
    shared: &Shared,
    user: &User,
    request_id: &str,
) -> Result<(), UiError> {
    let lang = user.lang;
    state
        .service
        .request(request_id)
        .await
        .map_err(|e| match e {
            crate::service::ServiceError::NotFound { .. } => UiError::NotFound(lang),
            other => other.into(),
        })?;
    let own = state.service.identity().authority.to_string();
    if shared.policy.decide(user.principal(), Action::Read, &own) {
        Ok(())
    } else {
        Err(UiError::Forbidden(lang))
    }
}

fn not_found(lang: Lang, e: crate::evidence::EvidenceError) -> UiError {
    if e.status == axum::http::StatusCode::NOT_FOUND {
        UiError::NotFound(lang)
    } else {
        UiError::Internal(lang)
    }
}

/// `GET /requests/{id}/evidence/{evidence_id}`: the package.
pub(super) async fn package(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path((id, evidence_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    authorised(&state, &shared, &user, &id).await?;
    let (record, body) = state
        .service
        .evidence_package_body(&id, &evidence_id)
        .await
        .map_err(|e| not_found(user.lang, e))?;
    Ok(crate::evidence::api::package_response(&record, body))
}

/// `GET /requests/{id}/evidence/{evidence_id}/statement`: its seal statement.
pub(super) async fn statement(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path((id, evidence_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    authorised(&state, &shared, &user, &id).await?;
    let record = state
        .service
        .evidence_record(&id, &evidence_id)
        .await
        .map_err(|e| not_found(user.lang, e))?;
    Ok(crate::evidence::api::statement_response(&record))
}
