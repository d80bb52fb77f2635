//! The evidence routes: attach, list and download under `/api/v1/requests/{id}/evidence` (bearer token), and the
//! transfer between nodes under `/federation/v1/evidence` (signed offers; chunks checked against signed digests).

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use utoipa::OpenApi;

use super::protocol::{MAX_CHUNK_BYTES, OfferAnswer};
use super::{EvidenceError, EvidenceList, EvidenceView};
use crate::api::AppState;
use crate::problem::Problem;

/// The header carrying the seal statement of a package attached over the API: the statement file's bytes, base64.
pub const STATEMENT_HEADER: &str = "comity-seal-statement";

fn actor(headers: &HeaderMap) -> String {
    headers
        .get("x-comity-actor")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| "api".to_owned(), |v| format!("api:{v}"))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/evidence", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "A request received from or sent to another authority"),
        ("Comity-Seal-Statement" = String, Header, description = "The seal statement (`FILE.seal.json`), base64")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The sealed package (`FILE`, an age file), sealed with this node's key to the counterpart"),
    responses((status = 201, body = EvidenceView, description = "Stored; its transfer is queued"),
        (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Attached already"),
        (status = 413, body = Problem, description = "Larger than the statement says"),
        (status = 422, body = Problem, description = "Not this node's seal, another request, not addressed to the \
            counterpart, or not matching its statement; nothing was stored")))]
async fn attach(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EvidenceView>), EvidenceError> {
    use base64::Engine;
    let statement = headers
        .get(STATEMENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
        .ok_or_else(|| {
            EvidenceError::refused(
                StatusCode::BAD_REQUEST,
                "missing-statement",
                "The seal statement is missing",
                "send the package's seal statement (`FILE.seal.json`) base64-encoded in the `Comity-Seal-Statement` \
                 header",
            )
        })?;
    let view = s
        .service
        .attach_evidence_body(&id, &statement, body, &actor(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/evidence", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = EvidenceList), (status = 404, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EvidenceList>, EvidenceError> {
    Ok(Json(s.service.evidence_list(&id).await?))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/evidence/{evidence_id}", tag = "evidence", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"), ("evidence_id" = String, Path, description = "Evidence id")),
    responses((status = 200, content_type = "application/octet-stream",
        description = "The sealed package (age), streamed and checked against its digest as it goes: a damaged \
            package ends the body with an error"), (status = 404, body = Problem)))]
async fn package(
    State(s): State<AppState>,
    Path((id, evidence_id)): Path<(String, String)>,
) -> Result<Response, EvidenceError> {
    let (record, body) = s.service.evidence_package_body(&id, &evidence_id).await?;
    Ok(package_response(&record, body))
}

/// The download of a package: an attachment named after its digest.
pub(crate) fn package_response(record: &comity_store::EvidenceRecord, body: Body) -> Response {
    let name = format!(
        "attachment; filename=\"evidence-{}.age\"",
        &record.package_sha256[..16.min(record.package_sha256.len())]
    );
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CONTENT_LENGTH, record.size_bytes.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The download of a seal statement.
pub(crate) fn statement_response(record: &comity_store::EvidenceRecord) -> Response {
    let name = format!(
        "attachment; filename=\"evidence-{}.age.seal.json\"",
        &record.package_sha256[..16.min(record.package_sha256.len())]
    );
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        record.statement.clone(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/evidence/{evidence_id}/statement", tag = "evidence",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"), ("evidence_id" = String, Path, description = "Evidence id")),
    responses((status = 200, content_type = "application/json", description = "The seal statement (DSSE envelope)"),
        (status = 404, body = Problem)))]
async fn statement(
    State(s): State<AppState>,
    Path((id, evidence_id)): Path<(String, String)>,
) -> Result<Response, EvidenceError> {
    let record = s.service.evidence_record(&id, &evidence_id).await?;
    Ok(statement_response(&record))
}

#[utoipa::path(post, path = "/federation/v1/evidence/offers", tag = "federation",
    request_body(content = String, content_type = "application/json",
        description = "An evidence offer (DSSE envelope signed by the sending authority)"),
    responses((status = 200, body = OfferAnswer, description = "The upload to fill, and the chunks held already"),
        (status = 400, body = Problem), (status = 403, body = Problem, description = "Unknown sender, bad signature, \
            or a seal statement not signed by the sender's key in the directory"),
        (status = 422, body = Problem, description = "Another recipient, another request, an old offer, or sizes \
            that do not add up; nothing was stored")))]
async fn offer(State(s): State<AppState>, body: Bytes) -> Result<Json<OfferAnswer>, EvidenceError> {
    Ok(Json(s.service.receive_evidence_offer(&body).await?))
}

#[utoipa::path(put, path = "/federation/v1/evidence/uploads/{upload_id}/chunks/{index}", tag = "federation",
    params(("upload_id" = String, Path, description = "From the answer to the offer"),
        ("index" = u64, Path, description = "Chunk number, from 0")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk"),
    responses((status = 204, description = "Written durably"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The upload is complete"),
        (status = 422, body = Problem, description = "The chunk does not match its signed digest; nothing was written")))]
async fn chunk(
    State(s): State<AppState>,
    Path((upload_id, index)): Path<(String, u64)>,
    body: Bytes,
) -> Result<StatusCode, EvidenceError> {
    s.service
        .receive_evidence_chunk(&upload_id, index, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/federation/v1/evidence/uploads/{upload_id}/complete", tag = "federation",
    params(("upload_id" = String, Path, description = "From the answer to the offer")),
    responses((status = 200, content_type = "application/json",
        description = "Stored and recorded: the receiver's signed receipt (DSSE)"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "Chunks are missing"),
        (status = 422, body = Problem, description = "The package does not match its statement or does not verify; \
            nothing was stored")))]
async fn complete(
    State(s): State<AppState>,
    Path(upload_id): Path<String>,
) -> Result<Response, EvidenceError> {
    let receipt = s.service.complete_evidence_upload(&upload_id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], receipt).into_response())
}

/// The OpenAPI description of the evidence routes, merged into the node's document.
#[derive(OpenApi)]
#[openapi(
    paths(attach, list, package, statement, offer, chunk, complete),
    components(schemas(EvidenceView, EvidenceList, OfferAnswer, Problem))
)]
pub struct EvidenceApiDoc;

/// The evidence routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let private = Router::new()
        .route("/api/v1/requests/{id}/evidence", post(attach).get(list))
        .route("/api/v1/requests/{id}/evidence/{evidence_id}", get(package))
        .route(
            "/api/v1/requests/{id}/evidence/{evidence_id}/statement",
            get(statement),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::api::require_token,
        ));
    let federation = Router::new()
        .route("/federation/v1/evidence/offers", post(offer))
        .route(
            "/federation/v1/evidence/uploads/{upload_id}/chunks/{index}",
            put(chunk),
        )
        .route(
            "/federation/v1/evidence/uploads/{upload_id}/complete",
            post(complete),
        )
        .layer(DefaultBodyLimit::max(
            usize::try_from(MAX_CHUNK_BYTES).unwrap_or(usize::MAX) + 64 * 1024,
        ));
    private.merge(federation)
}
