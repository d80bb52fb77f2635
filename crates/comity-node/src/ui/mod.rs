//! The caseworker's web UI: server-rendered HTML (maud), mounted at `/` next to the API.
//!
//! Every page works without JavaScript; `assets/app.js` only adds live countdowns and live safeguard findings in
//! the drafting wizard. Sessions live in `HttpOnly; SameSite=Strict` cookies (`Secure` and `__Host-` unless the node
//! was told to serve plain HTTP on loopback), every form carries the session's CSRF token, and every page and action
//! is decided by the access policy ([`crate::access`]).

mod evidence;
mod forms;
pub mod i18n;
mod pages;
mod records;
mod safeguards;
mod statistics;
mod users;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::Markup;

use crate::access::{Action, Policy, Principal};
use crate::accounts::SignedIn;
use crate::api::AppState;
use i18n::Lang;

/// How the UI sets its cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UiOptions {
    /// Leave out `Secure` (and the `__Host-` prefix) so that a browser keeps the cookies over plain HTTP. Only for a
    /// node listening on loopback, for tests and local demonstrations; [`UiOptions::plain_http_on_loopback`] refuses
    /// any other address.
    pub insecure_cookies: bool,
}

/// A listen address that is not loopback was given for plain-HTTP cookies.
#[derive(Debug, thiserror::Error)]
#[error(
    "plain-HTTP cookies are allowed only on a loopback address, not `{0}`; serve behind TLS instead"
)]
pub struct NotLoopback(pub String);

impl UiOptions {
    /// Cookies without `Secure`, allowed only when `addr` is a loopback address.
    pub fn plain_http_on_loopback(addr: &std::net::SocketAddr) -> Result<Self, NotLoopback> {
        if addr.ip().is_loopback() {
            Ok(Self {
                insecure_cookies: true,
            })
        } else {
            Err(NotLoopback(addr.to_string()))
        }
    }

    fn session_cookie(self) -> &'static str {
        if self.insecure_cookies {
            "comity-session"
        } else {
            "__Host-comity-session"
        }
    }

    fn login_cookie(self) -> &'static str {
        if self.insecure_cookies {
            "comity-login"
        } else {
            "__Host-comity-login"
        }
    }

    fn cookie(self, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
        let secure = if self.insecure_cookies {
            ""
        } else {
            "; Secure"
        };
        let text = format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
    }
}

/// What the UI handlers share besides [`AppState`].
pub(crate) struct Shared {
    pub policy: Policy,
}

/// The UI routes, merged into the node's router.
pub fn router(_state: &AppState) -> Router<AppState> {
    let policy = Policy::embedded().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the access policy does not load; every UI action is forbidden");
        Policy::deny_all()
    });
    let shared = Arc::new(Shared { policy });
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/language", post(pages::language))
        .route("/requests/new", get(pages::choose_mechanism))
        .route(
            "/requests/new/{mechanism}",
            get(pages::draft_form).post(pages::draft_submit),
        )
        .route("/findings", post(pages::live_findings))
        .route("/requests/{id}", get(pages::request_page))
        .route("/requests/{id}/step", post(pages::request_step))
        .route(
            "/requests/{id}/evidence/{evidence_id}",
            get(evidence::package),
        )
        .route(
            "/requests/{id}/evidence/{evidence_id}/statement",
            get(evidence::statement),
        )
        .route("/directory", get(pages::directory))
        .route("/statistics", get(statistics::page))
        .route("/statistics.csv", get(statistics::csv))
        .route("/audit", get(pages::audit))
        .route("/users", get(users::list).post(users::add))
        .route("/users/{name}/disable", post(users::disable))
        .route("/users/{name}/reset", post(users::reset))
        .route("/assets/app.css", get(asset_css))
        .route("/assets/app.js", get(asset_js))
        .layer(middleware::from_fn(security_headers))
        .layer(Extension(shared))
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");

async fn asset_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}

async fn asset_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_JS,
    )
        .into_response()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in user, from the session cookie; anyone else is sent to the login page.
pub(crate) struct User {
    pub signed_in: SignedIn,
    pub lang: Lang,
}

impl User {
    pub fn principal(&self) -> Principal<'_> {
        Principal {
            role: self.signed_in.role,
            authority: &self.signed_in.user.authority,
        }
    }

    pub fn csrf(&self) -> &str {
        &self.signed_in.csrf_token
    }

    /// Checks a form's CSRF token against the session's, in constant time.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), UiError> {
        let expected = self.signed_in.csrf_token.as_bytes();
        let ok =
            token.is_some_and(|t| subtle::ConstantTimeEq::ct_eq(t.as_bytes(), expected).into());
        if ok {
            Ok(())
        } else {
            tracing::info!(user = %self.signed_in.user.username, "form refused: CSRF token missing or wrong");
            Err(UiError::Csrf(self.lang))
        }
    }

    /// Refuses unless the policy permits `action` on the user's own authority.
    pub fn require(&self, shared: &Shared, action: Action) -> Result<(), UiError> {
        if shared.policy.may(self.principal(), action) {
            Ok(())
        } else {
            Err(UiError::Forbidden(self.lang))
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = cookie_value(&parts.headers, state.ui.session_cookie()) else {
            return Err(UiError::SignIn);
        };
        match state.service.accounts().signed_in(value).await {
            Ok(Some(signed_in)) => {
                let lang = Lang::from_tag(&signed_in.user.language);
                Ok(Self { signed_in, lang })
            }
            Ok(None) => Err(UiError::SignIn),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err(UiError::Internal(Lang::En))
            }
        }
    }
}

/// The language of a visitor who is not signed in: `?lang=` if given, else `Accept-Language`.
pub(crate) fn visitor_lang(headers: &HeaderMap, query: Option<&str>) -> Lang {
    if let Some(tag) = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
    {
        return Lang::from_tag(tag);
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, Lang::negotiate)
}

/// Why a page was not served.
#[derive(Debug)]
pub(crate) enum UiError {
    /// Not signed in.
    SignIn,
    /// The role may not do this.
    Forbidden(Lang),
    /// The form lacked a valid CSRF token.
    Csrf(Lang),
    /// No such thing.
    NotFound(Lang),
    /// Something failed inside.
    Internal(Lang),
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, lang, key) = match self {
            Self::SignIn => return Redirect::to("/login").into_response(),
            Self::Forbidden(l) => (StatusCode::FORBIDDEN, l, "error-forbidden"),
            Self::Csrf(l) => (StatusCode::FORBIDDEN, l, "error-csrf"),
            Self::NotFound(l) => (StatusCode::NOT_FOUND, l, "error-not-found"),
            Self::Internal(l) => (StatusCode::INTERNAL_SERVER_ERROR, l, "error-internal"),
        };
        html(status, pages::error_page(lang, key))
    }
}

impl From<crate::service::ServiceError> for UiError {
    fn from(e: crate::service::ServiceError) -> Self {
        match e {
            crate::service::ServiceError::NotFound { .. } => Self::NotFound(Lang::En),
            other => {
                tracing::error!(error = %other, "UI request failed");
                Self::Internal(Lang::En)
            }
        }
    }
}

/// An HTML page response.
pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}
