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

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
    Json(ApiDoc::openapi())
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
        request, transition),
    components(schemas(Problem)),
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
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .nest("/api/v1", api)
        .merge(crate::ui::router(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            Problem::internal().into_response()
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
