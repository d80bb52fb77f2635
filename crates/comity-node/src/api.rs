//! The HTTP API: routes, the JSON body reader, bearer-token authentication, and the OpenAPI document generated
//! from the handlers' annotations.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::Problem;
use crate::service::{ListQuery, NodeService};
use crate::wire::{
    CaseInput, CaseList, CaseView, MechanismList, MechanismView, NewRequestInput, NodeView,
    RequestList, RequestView, TransitionInput,
};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The request service.
    pub service: NodeService,
    /// The API bearer token.
    pub token: Arc<str>,
    /// How the web UI sets its cookies.
    pub ui: crate::ui::UiOptions,
    /// This node's witness, when it witnesses other logs.
    pub witness: Option<Arc<crate::eventlog::witness::NodeWitness>>,
}

/// A JSON body read strictly: `application/json`, UTF-8, within the size limit, every field known.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The body must be JSON",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    "The body is too large",
                    format!("the body exceeds {MAX_BODY_BYTES} bytes; attach large material as evidence instead"),
                )
            } else {
                Problem::bad_body("", format!("the body could not be read: {rejection}"))
            }
        })?;
        if std::str::from_utf8(&bytes).is_err() {
            return Err(Problem::bad_body(
                "",
                "the body is not valid UTF-8; send JSON encoded as UTF-8",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let pointer = pointer_of(e.path());
            let inner = e.into_inner();
            Problem::bad_body(&pointer, inner.to_string())
        })?;
        de.end().map_err(|e| {
            Problem::bad_body("", format!("trailing characters after the JSON value: {e}"))
        })?;
        Ok(Self(value))
    }
}

/// Turns a serde path (`offences[0].max_penalty_months`) into a JSON pointer (`/offences/0/max_penalty_months`).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

#[expect(
    clippy::result_large_err,
    reason = "a problem is built only on the error path"
)]
fn query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, Problem> {
    let raw = raw.unwrap_or_default();
    serde_urlencoded::from_str(&raw).map_err(|e| {
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "The query string is invalid",
            e.to_string(),
        );
        p.errors.push(crate::problem::ProblemField {
            pointer: String::new(),
            detail: e.to_string(),
        });
        p
    })
}

/// The acting person, from the `X-Comity-Actor` header, prefixed with the channel.
#[expect(
    clippy::result_large_err,
    reason = "a problem is built only on the error path"
)]
fn actor(headers: &HeaderMap) -> Result<String, Problem> {
    match headers.get("x-comity-actor") {
        None => Ok("api".to_owned()),
        Some(v) => {
            let name = v.to_str().unwrap_or("");
            if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_graphic()) {
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad-header",
                    "A header is invalid",
                    "X-Comity-Actor must be 1 to 64 visible ASCII characters",
                );
                p.errors.push(crate::problem::ProblemField {
                    pointer: "/headers/x-comity-actor".into(),
                    detail: "1 to 64 visible ASCII characters".into(),
                });
                Err(p)
            } else {
                Ok(format!("api:{name}"))
            }
        }
    }
}

pub(crate) async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok: bool =
        subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), state.token.as_bytes()).into();
    if ok && !presented.is_empty() {
        next.run(req).await
    } else {
        let mut response = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            "send `Authorization: Bearer <token>` with the token from the node's api.token file",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        response
    }
}

/// Health of the node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the node answers.
    pub status: String,
}

#[utoipa::path(get, path = "/healthz", tag = "node", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

#[utoipa::path(get, path = "/openapi.json", tag = "node", responses((status = 200, description = "This OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::evidence::api::EvidenceApiDoc::openapi());
    Json(doc)
}

#[utoipa::path(get, path = "/api/v1/node", tag = "node", security(("bearer" = [])),
    responses((status = 200, body = NodeView), (status = 401, body = Problem)))]
async fn node(State(s): State<AppState>) -> Json<NodeView> {
    Json(s.service.node())
}

#[utoipa::path(get, path = "/api/v1/mechanisms", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = MechanismList), (status = 401, body = Problem)))]
async fn mechanisms(State(s): State<AppState>) -> Json<MechanismList> {
    Json(s.service.mechanisms())
}

#[utoipa::path(get, path = "/api/v1/mechanisms/{id}", tag = "catalogue", security(("bearer" = [])),
    params(("id" = String, Path, description = "Mechanism id")),
    responses((status = 200, body = MechanismView), (status = 404, body = Problem)))]
async fn mechanism(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MechanismView>, Problem> {
    Ok(Json(s.service.mechanism(&id)?))
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), request_body = CaseInput,
    responses((status = 201, body = CaseView), (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_case(
    State(s): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<CaseInput>,
) -> Result<(StatusCode, Json<CaseView>), Problem> {
    let actor = actor(&headers)?;
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_case(input, &actor).await?),
    ))
}

/// Paging of lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])), params(LimitParams),
    responses((status = 200, body = CaseList)))]
async fn cases(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<CaseList>, Problem> {
    let params: LimitParams = query(raw)?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(CaseList {
        cases: s.service.cases(limit).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
async fn case(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    Ok(Json(s.service.case(&id).await?))
}

#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", security(("bearer" = [])), request_body = NewRequestInput,
    responses((status = 201, body = RequestView), (status = 400, body = Problem), (status = 413, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn create_request(
    State(s): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NewRequestInput>,
) -> Result<(StatusCode, Json<RequestView>), Problem> {
    let actor = actor(&headers)?;
    Ok((
        StatusCode::CREATED,
        Json(s.service.create_request(input, &actor).await?),
    ))
}

/// Filters of the request list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestListParams {
    /// Only this case.
    pub case_id: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this mechanism.
    pub mechanism: Option<String>,
    /// Only this urgency.
    pub urgency: Option<String>,
    /// Soonest running clock first (only requests with one).
    pub due: Option<bool>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", security(("bearer" = [])), params(RequestListParams),
    responses((status = 200, body = RequestList), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn requests(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RequestList>, Problem> {
    let p: RequestListParams = query(raw)?;
    let q = ListQuery {
        case_id: p.case_id,
        state: p.state,
        mechanism: p.mechanism,
        urgency: p.urgency,
        due: p.due.unwrap_or(false),
        limit: p.limit,
    };
    Ok(Json(RequestList {
        requests: s.service.requests(&q).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 404, body = Problem)))]
async fn request(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, Problem> {
    Ok(Json(s.service.request(&id).await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/transitions", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")), request_body = TransitionInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Not allowed in the current state, or a stale version"),
        (status = 422, body = Problem)))]
async fn transition(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<TransitionInput>,
) -> Result<Json<RequestView>, Problem> {
    let actor = actor(&headers)?;
    Ok(Json(s.service.transition(&id, input, &actor).await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/validations", tag = "safeguards", security(("bearer" = [])),
    params(("id" = String, Path, description = "An emergency order sent without prior validation")),
    request_body = crate::records::ValidationInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn validate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<crate::records::ValidationInput>,
) -> Result<Json<RequestView>, Problem> {
    Ok(Json(s.service.validate(&id, input).await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/consents", tag = "safeguards", security(("bearer" = [])),
    params(("id" = String, Path, description = "A request this node sent")),
    request_body = crate::records::ConsentInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn record_consent(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<crate::records::ConsentInput>,
) -> Result<Json<RequestView>, Problem> {
    let actor = actor(&headers)?;
    Ok(Json(s.service.record_consent(&id, input, &actor).await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/onward-uses", tag = "safeguards", security(("bearer" = [])),
    params(("id" = String, Path, description = "A request this node sent")),
    request_body = crate::records::OnwardUseInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "Refused: the conditions do not allow it and no consent covers it")))]
async fn record_onward_use(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<crate::records::OnwardUseInput>,
) -> Result<Json<RequestView>, Problem> {
    let actor = actor(&headers)?;
    Ok(Json(s.service.record_onward_use(&id, input, &actor).await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/notice", tag = "safeguards", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")), request_body = crate::records::NoticeInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn record_notice(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<crate::records::NoticeInput>,
) -> Result<Json<RequestView>, Problem> {
    let actor = actor(&headers)?;
    Ok(Json(s.service.record_notice(&id, input, &actor).await?))
}

#[utoipa::path(get, path = "/api/v1/reminders", tag = "safeguards", security(("bearer" = [])),
    responses((status = 200, body = [crate::records::ReminderView])))]
async fn reminders(
    State(s): State<AppState>,
) -> Result<Json<Vec<crate::records::ReminderView>>, Problem> {
    Ok(Json(s.service.notice_reminders().await?))
}

/// The period of the statistics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatisticsParams {
    /// First day (UTC), `YYYY-MM-DD`, included; default 1 January of this year.
    pub from: Option<String>,
    /// Last day (UTC), `YYYY-MM-DD`, included; default today.
    pub to: Option<String>,
}

#[expect(
    clippy::result_large_err,
    reason = "a problem is built only on the error path"
)]
fn parse_day(value: Option<&str>, name: &str, default: time::Date) -> Result<time::Date, Problem> {
    let Some(text) = value else {
        return Ok(default);
    };
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "The query string is invalid",
            format!("`{name}` must be a date as YYYY-MM-DD"),
        );
        p.errors.push(crate::problem::ProblemField {
            pointer: format!("/{name}"),
            detail: format!("`{text}` is not a date as YYYY-MM-DD"),
        });
        p
    })
}

#[utoipa::path(get, path = "/api/v1/statistics", tag = "log", params(StatisticsParams),
    responses((status = 200, body = crate::statistics::StatisticsView,
        description = "Counts from the log's leaves, with the checkpoint they were computed against; public"),
        (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn statistics(
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<crate::statistics::StatisticsView>, Problem> {
    let p: StatisticsParams = query(raw)?;
    let today = time::OffsetDateTime::now_utc().date();
    let start =
        time::Date::from_calendar_date(today.year(), time::Month::January, 1).unwrap_or(today);
    let period = crate::statistics::Period {
        from: parse_day(p.from.as_deref(), "from", start)?,
        to: parse_day(p.to.as_deref(), "to", today)?,
    };
    Ok(Json(s.service.statistics(period).await?))
}

const CHECKPOINT_TYPE: &str = "text/plain; charset=utf-8";

#[expect(
    clippy::result_large_err,
    reason = "a problem is built only on the error path"
)]
fn log_reader(s: &AppState) -> Result<&crate::eventlog::LogReader, Problem> {
    s.service
        .log_reader()
        .ok_or_else(|| Problem::not_found("this node publishes no event log"))
}

/// Which message.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageProofParams {
    /// SHA-256 of the signed envelope, hex: only the two parties to a message know it.
    pub sha256: String,
}

#[utoipa::path(get, path = "/log/messages/{message_id}", tag = "log",
    params(("message_id" = String, Path, description = "A message this node received"), MessageProofParams),
    responses((status = 200, description = "A comity-message-proof/v1: this node's log holds a leaf carrying the \
        message's digest"), (status = 404, body = Problem, description = "Unknown, or not yet sequenced")))]
async fn log_message_proof(
    State(s): State<AppState>,
    Path(message_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let params: MessageProofParams = query(raw)?;
    let proof = s.service.message_proof(&message_id, &params.sha256).await?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], Json(proof)).into_response())
}

#[utoipa::path(get, path = "/log/checkpoint", tag = "log",
    responses((status = 200, content_type = "text/plain", description = "The latest checkpoint (C2SP tlog-checkpoint \
        signed note) with the witnesses' cosignatures once collected")))]
async fn log_checkpoint(State(s): State<AppState>) -> Result<Response, Problem> {
    let reader = log_reader(&s)?.clone();
    let (_, note) = tokio::task::spawn_blocking(move || reader.checkpoint())
        .await
        .map_err(|_| Problem::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "checkpoint unreadable");
            Problem::internal()
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, CHECKPOINT_TYPE),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    )
        .into_response())
}

#[utoipa::path(get, path = "/log/tile/{path}", tag = "log",
    params(("path" = String, Path, description = "Tile path per C2SP tlog-tiles: `<L>/<N>[.p/<W>]` or \
        `entries/<N>[.p/<W>]`")),
    responses((status = 200, content_type = "application/octet-stream",
        description = "A hash tile or entry bundle; full tiles are immutable"), (status = 404, body = Problem)))]
async fn log_tile(
    State(s): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, Problem> {
    let tile = comity_tlog::tiles::TileId::parse_path(&format!("tile/{path}"))
        .map_err(|_| Problem::not_found("not a tile path of C2SP tlog-tiles"))?;
    let file = log_reader(&s)?.dir().join(tile.path());
    let bytes = tokio::fs::read(&file)
        .await
        .map_err(|_| Problem::not_found("no such tile; fetch the checkpoint again and retry"))?;
    let cache = if tile.is_partial() {
        "public, max-age=60"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(post, path = "/log/witness/add-checkpoint", tag = "log",
    request_body(content = String, content_type = "text/plain",
        description = "C2SP tlog-witness: `old <size>`, consistency proof lines, a blank line, the signed checkpoint"),
    responses((status = 200, content_type = "text/plain", description = "The cosignature line"),
        (status = 400, body = Problem), (status = 403, body = Problem, description = "Checkpoint not signed by the log"),
        (status = 404, body = Problem, description = "Unknown log, or this node witnesses no log"),
        (status = 409, content_type = "text/x.tlog.size", description = "Old size is not the last cosigned size; the \
            body is that size"),
        (status = 422, body = Problem, description = "The consistency proof does not verify")))]
async fn witness_add_checkpoint(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Response, Problem> {
    use crate::eventlog::witness::Refusal;
    let witness = s
        .witness
        .clone()
        .ok_or_else(|| Problem::not_found("this node witnesses no log"))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now))
        .await
        .map_err(|_| Problem::internal())?;
    match result {
        Ok(line) => Ok(([(header::CONTENT_TYPE, CHECKPOINT_TYPE)], line).into_response()),
        Err(Refusal::SizeMismatch { cosigned_size, .. }) => Ok((
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{cosigned_size}\n"),
        )
            .into_response()),
        Err(Refusal::Internal) => Err(Problem::internal()),
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let slug = match status {
                StatusCode::FORBIDDEN => "checkpoint-signature",
                StatusCode::NOT_FOUND => "unknown-log",
                StatusCode::CONFLICT => "split-view",
                StatusCode::UNPROCESSABLE_ENTITY => "inconsistent-checkpoint",
                _ => "bad-add-checkpoint",
            };
            Err(Problem::new(
                status,
                slug,
                "Checkpoint not cosigned",
                refusal.to_string(),
            ))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/findings", tag = "safeguards", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = crate::safeguards::FindingsView), (status = 404, body = Problem)))]
async fn findings(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<crate::safeguards::FindingsView>, Problem> {
    Ok(Json(s.service.findings(&id).await?))
}

#[utoipa::path(post, path = "/api/v1/checks", tag = "safeguards", security(("bearer" = [])),
    request_body = crate::wire::RequestInput,
    responses((status = 200, body = crate::safeguards::FindingsView, description = "Findings on a draft; nothing is stored"),
        (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn check(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<crate::wire::RequestInput>,
) -> Result<Json<crate::safeguards::FindingsView>, Problem> {
    Ok(Json(s.service.check_document(&input)?))
}

#[utoipa::path(post, path = "/federation/v1/messages", tag = "federation",
    request_body(content = String, description = "A DSSE envelope signed by the sending authority", content_type = "application/json"),
    responses((status = 200, description = "Stored durably: the receiver's signed receipt (DSSE)"),
        (status = 422, description = "Refused: a signed negative receipt with a reason code; nothing was stored")))]
async fn federation_message(State(s): State<AppState>, body: Bytes) -> Response {
    let answer = s.service.receive(&body).await;
    let status = if answer.accepted {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = (status, answer.receipt).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The directory in force.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DirectoryView {
    /// Version in force, if any.
    pub version: Option<u64>,
    /// The document, if any.
    pub document: Option<crate::federation::directory::DirectoryDocument>,
}

#[utoipa::path(get, path = "/api/v1/directory", tag = "federation", security(("bearer" = [])),
    responses((status = 200, body = DirectoryView)))]
async fn directory(State(s): State<AppState>) -> Json<DirectoryView> {
    let d = s.service.federation().directory();
    Json(DirectoryView {
        version: d.as_ref().map(|d| d.version),
        document: d.map(|d| d.document.clone()),
    })
}

#[utoipa::path(put, path = "/api/v1/directory", tag = "federation", security(("bearer" = [])),
    request_body(content = String, description = "The signed directory (DSSE envelope)", content_type = "application/json"),
    responses((status = 200, body = DirectoryView), (status = 422, body = Problem)))]
async fn install_directory(
    State(s): State<AppState>,
    JsonBody(envelope): JsonBody<comity_seal::dsse::Envelope>,
) -> Result<Json<DirectoryView>, Problem> {
    s.service
        .federation()
        .install_directory(&envelope)
        .map_err(|e| {
            Problem::invalid(vec![comity_core::request::FieldProblem::new(
                "",
                e.to_string(),
            )])
        })?;
    Ok(directory(State(s)).await)
}

/// Where to forward a received request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardInput {
    /// The authority to forward to (for example a domestic provider).
    pub recipient: String,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/forward", tag = "federation", security(("bearer" = [])),
    params(("id" = String, Path, description = "A received request")), request_body = ForwardInput,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn forward(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ForwardInput>,
) -> Result<Json<RequestView>, Problem> {
    let actor = actor(&headers)?;
    Ok(Json(
        s.service.forward(&id, &input.recipient, &actor).await?,
    ))
}

/// A message refused at the door.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventView {
    /// When.
    pub at: String,
    /// Reason code.
    pub code: String,
    /// Claimed sender.
    pub sender: Option<String>,
    /// Claimed message id.
    pub message_id: Option<String>,
    /// What happened.
    pub detail: String,
}

#[utoipa::path(get, path = "/api/v1/security-events", tag = "federation", security(("bearer" = [])),
    responses((status = 200, body = [SecurityEventView])))]
async fn security_events(
    State(s): State<AppState>,
) -> Result<Json<Vec<SecurityEventView>>, Problem> {
    let events = s.service.security_events(200).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| SecurityEventView {
                at: crate::wire::rfc3339(e.at),
                code: e.code,
                sender: e.sender,
                message_id: e.message_id,
                detail: e.detail,
            })
            .collect(),
    ))
}

async fn not_found() -> Problem {
    Problem::not_found("no such route; see GET /openapi.json for the routes this node serves")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not take that method; see GET /openapi.json",
    )
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI description of every route.
#[derive(OpenApi)]
#[openapi(
    info(title = "comity node API", description = "Requests, cases and the rules catalogue of one comity node"),
    paths(healthz, openapi_json, node, mechanisms, mechanism, create_case, cases, case, create_request, requests,
        request, transition, findings, check, federation_message, directory, install_directory, forward,
        security_events, statistics, log_checkpoint, log_tile, witness_add_checkpoint, validate, record_consent,
        record_onward_use, record_notice, reminders, log_message_proof),
    components(schemas(Problem, crate::statistics::StatisticsView, crate::statistics::Counts)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The whole router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/node", get(node))
        .route("/mechanisms", get(mechanisms))
        .route("/mechanisms/{id}", get(mechanism))
        .route("/cases", post(create_case).get(cases))
        .route("/cases/{id}", get(case))
        .route("/requests", post(create_request).get(requests))
        .route("/requests/{id}", get(request))
        .route("/requests/{id}/transitions", post(transition))
        .route("/requests/{id}/findings", get(findings))
        .route("/requests/{id}/validations", post(validate))
        .route("/requests/{id}/consents", post(record_consent))
        .route("/requests/{id}/onward-uses", post(record_onward_use))
        .route("/requests/{id}/notice", post(record_notice))
        .route("/reminders", get(reminders))
        .route("/checks", post(check))
        .route("/directory", get(directory).put(install_directory))
        .route("/requests/{id}/forward", post(forward))
        .route("/security-events", get(security_events))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    // The log is public and read-only; the witness endpoint checks signatures, not tokens.
    let log = Router::new()
        .route("/checkpoint", get(log_checkpoint))
        .route("/tile/{*path}", get(log_tile))
        .route("/messages/{message_id}", get(log_message_proof))
        .route("/witness/add-checkpoint", post(witness_add_checkpoint));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/statistics", get(statistics))
        .nest("/log", log)
        .route("/openapi.json", get(openapi_json))
        .nest("/api/v1", api)
        .merge(crate::ui::router(&state))
        .merge(crate::evidence::api::router(&state))
        .route("/federation/v1/messages", post(federation_message))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            Problem::internal().into_response()
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
