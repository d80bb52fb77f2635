//! The pages: login, dashboard, drafting wizard, request page with its decision forms, directory and audit view.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;
use maud::{DOCTYPE, Markup, html as m};

use super::forms::{self, FormData, IDENTIFIER_KINDS};
use super::i18n::{self, Lang, t, t_args};
use super::safeguards::{self, FindingView};
use super::{Shared, UiError, User, cookie_value, html, visitor_lang};
use crate::access::Action;
use crate::accounts::LoginError;
use crate::api::AppState;
use crate::service::ListQuery;
use crate::wire::{CaseInput, NewRequestInput, RequestView, TransitionInput};

/// States after which nothing more is asked of anyone.
const FINISHED: [&str; 7] = [
    "closed",
    "withdrawn",
    "refused",
    "released",
    "expired",
    "superseded",
    "declined",
];
/// Steps that form the decision on an incoming request.
const DECISIONS: [&str; 8] = [
    "execute",
    "execute-partially",
    "preserve",
    "accept",
    "postpone",
    "refuse",
    "decline",
    "consult",
];

/// Label of a catalogue or lifecycle name: its translation if there is one, else the name.
fn label(lang: Lang, prefix: &str, name: &str) -> String {
    i18n::t_opt(lang, &format!("{prefix}-{name}")).unwrap_or_else(|| name.to_owned())
}

/// The page frame: language, direction, navigation, the user's menu.
fn layout(
    lang: Lang,
    title: &str,
    user: Option<&User>,
    shared: Option<&Shared>,
    body: Markup,
) -> Markup {
    let may = |a: Action| match (user, shared) {
        (Some(u), Some(s)) => s.policy.may(u.principal(), a),
        _ => false,
    };
    m! {
        (DOCTYPE)
        html lang=(lang.tag()) dir=(lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · comity" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { (t(lang, "skip-to-content")) }
                header class="top" {
                    span class="brand" { "comity" }
                    @if let Some(u) = user {
                        nav aria-label=(t(lang, "nav-label")) {
                            ul {
                                li { a href="/" { (t(lang, "nav-dashboard")) } }
                                @if may(Action::Draft) { li { a href="/requests/new" { (t(lang, "nav-new-request")) } } }
                                @if may(Action::Directory) { li { a href="/directory" { (t(lang, "nav-directory")) } } }
                                @if may(Action::Statistics) { li { a href="/statistics" { (t(lang, "nav-statistics")) } } }
                                @if may(Action::Audit) { li { a href="/audit" { (t(lang, "nav-audit")) } } }
                                @if may(Action::ManageUsers) { li { a href="/users" { (t(lang, "nav-users")) } } }
                            }
                        }
                        div class="who" {
                            span { (u.signed_in.user.display_name) " · " (t(lang, &format!("role-{}", u.signed_in.role))) }
                            form method="post" action="/language" class="inline" {
                                input type="hidden" name="csrf" value=(u.csrf());
                                label for="lang-select" class="visually-hidden" { (t(lang, "language")) }
                                select id="lang-select" name="lang" {
                                    @for l in Lang::ALL {
                                        option value=(l.tag()) lang=(l.tag()) selected[l == lang] { (l.endonym()) }
                                    }
                                }
                                button type="submit" { (t(lang, "language-apply")) }
                            }
                            form method="post" action="/logout" class="inline" {
                                input type="hidden" name="csrf" value=(u.csrf());
                                button type="submit" { (t(lang, "logout")) }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// The page frame for a signed-in user.
pub(super) fn layout_for(
    lang: Lang,
    title: &str,
    user: &User,
    shared: &Shared,
    body: Markup,
) -> Markup {
    layout(lang, title, Some(user), Some(shared), body)
}

/// A page that says what went wrong.
pub(super) fn error_page(lang: Lang, key: &str) -> Markup {
    layout(
        lang,
        &t(lang, key),
        None,
        None,
        m! {
            h1 { (t(lang, key)) }
            p { a href="/" { (t(lang, "back-to-dashboard")) } }
        },
    )
}

fn countdown(lang: Lang, due: &str) -> Markup {
    m! {
        time class="countdown" datetime=(due) data-due=(due) { (i18n::datetime_text(lang, due)) }
    }
}

/// How urgent a deadline is, for its colour: overdue, under a day, under three days, later.
fn urgency_class(now: time::OffsetDateTime, due: &str) -> &'static str {
    match time::OffsetDateTime::parse(due, &time::format_description::well_known::Rfc3339) {
        Ok(d) if d <= now => "due-overdue",
        Ok(d) if d - now <= time::Duration::hours(24) => "due-day",
        Ok(d) if d - now <= time::Duration::hours(72) => "due-soon",
        Ok(_) => "due-later",
        Err(_) => "due-later",
    }
}

fn request_table(
    lang: Lang,
    now: time::OffsetDateTime,
    caption: &str,
    id: &str,
    rows: &[&RequestView],
) -> Markup {
    m! {
        section aria-labelledby=(id) {
            h2 id=(id) { (caption) " " span class="count" { "(" (i18n::number(lang, rows.len() as u64)) ")" } }
            @if rows.is_empty() {
                p class="empty" { (t(lang, "none")) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (t(lang, "col-request")) }
                        th scope="col" { (t(lang, "col-state")) }
                        th scope="col" { (t(lang, "col-urgency")) }
                        th scope="col" { (t(lang, "col-requested-state")) }
                        th scope="col" { (t(lang, "col-next-due")) }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/requests/" (r.id) } { (label(lang, "mechanism", &r.mechanism)) } }
                                td { span class={ "state state-" (r.state) } { (label(lang, "state", &r.state)) } }
                                td { span class={ "urgency urgency-" (r.urgency) } { (label(lang, "urgency", &r.urgency)) } }
                                td { (r.document.requested_state) }
                                td class=(r.next_due.as_deref().map_or("", |d| urgency_class(now, d))) {
                                    @if let Some(due) = &r.next_due { (countdown(lang, due)) } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The authority a request on this node belongs to, for the access policy: the node's own, whether the request was
/// drafted here or received from another node (a node holds the cases of one authority).
fn owner(_r: &RequestView, own: &str) -> String {
    own.to_owned()
}

/// Whether a request came from another authority.
fn is_incoming(r: &RequestView, own: &str) -> bool {
    r.document
        .requesting_authority
        .as_deref()
        .is_some_and(|a| a != own)
}

/// `GET /`: the urgent queue, incoming, outgoing, and deadlines.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    let lang = user.lang;
    user.require(&shared, Action::Read)?;
    let own = state.service.identity().authority.to_string();
    let all = state
        .service
        .requests(&ListQuery {
            limit: Some(500),
            ..ListQuery::default()
        })
        .await?;
    let visible: Vec<RequestView> = all
        .into_iter()
        .filter(|r| {
            shared
                .policy
                .decide(user.principal(), Action::Read, &owner(r, &own))
        })
        .collect();
    let open: Vec<&RequestView> = visible
        .iter()
        .filter(|r| !FINISHED.contains(&r.state.as_str()))
        .collect();
    let urgent: Vec<&RequestView> = open
        .iter()
        .copied()
        .filter(|r| r.urgency == "emergency" || r.urgency == "urgent")
        .collect();
    let incoming: Vec<&RequestView> = open
        .iter()
        .copied()
        .filter(|r| is_incoming(r, &own))
        .collect();
    let outgoing: Vec<&RequestView> = open
        .iter()
        .copied()
        .filter(|r| !incoming.iter().any(|i| i.id == r.id))
        .collect();
    let mut due: Vec<&RequestView> = open
        .iter()
        .copied()
        .filter(|r| r.next_due.is_some())
        .collect();
    due.sort_by(|a, b| a.next_due.cmp(&b.next_due));
    let now = state.service.now();
    let body = m! {
        h1 { (t(lang, "dashboard-title")) }
        p class="node" { (state.service.identity().name) " · " (own) }
        (request_table(lang, now, &t(lang, "queue-urgent"), "queue-urgent", &urgent))
        (request_table(lang, now, &t(lang, "queue-incoming"), "queue-incoming", &incoming))
        (request_table(lang, now, &t(lang, "queue-outgoing"), "queue-outgoing", &outgoing))
        (request_table(lang, now, &t(lang, "queue-deadlines"), "queue-deadlines", &due))
    };
    Ok(html(
        StatusCode::OK,
        layout(
            lang,
            &t(lang, "dashboard-title"),
            Some(&user),
            Some(&shared),
            body,
        ),
    ))
}

fn login_page(lang: Lang, token: &str, error: Option<String>) -> Markup {
    layout(
        lang,
        &t(lang, "login-title"),
        None,
        None,
        m! {
            h1 { (t(lang, "login-title")) }
            @if let Some(e) = error { p class="error" role="alert" { (e) } }
            form method="post" action="/login" class="login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="lang" value=(lang.tag());
                label for="username" { (t(lang, "login-username")) }
                input id="username" name="username" autocomplete="username" required;
                label for="password" { (t(lang, "login-password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                label for="code" { (t(lang, "login-code")) }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required;
                button type="submit" { (t(lang, "login-submit")) }
            }
            nav aria-label=(t(lang, "language")) class="langs" {
                ul { @for l in Lang::ALL { li { a href={ "/login?lang=" (l.tag()) } lang=(l.tag()) { (l.endonym()) } } } }
            }
        },
    )
}

fn random_token() -> String {
    let mut buf = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut buf);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, buf)
}

/// `GET /login`: the form, with a fresh pre-session CSRF token in a cookie and in the form.
pub(super) async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = visitor_lang(&headers, query.as_deref());
    let token = random_token();
    let mut res = html(StatusCode::OK, login_page(lang, &token, None));
    res.headers_mut().append(
        header::SET_COOKIE,
        state.ui.cookie(state.ui.login_cookie(), &token, 1800),
    );
    res
}

/// `POST /login`: password and TOTP code; on success the session cookie.
pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormData(form);
    let lang = Lang::from_tag(form.value("lang"));
    let fresh = random_token();
    let retry = |status: StatusCode, message: String| {
        let mut res = html(status, login_page(lang, &fresh, Some(message)));
        res.headers_mut().append(
            header::SET_COOKIE,
            state.ui.cookie(state.ui.login_cookie(), &fresh, 1800),
        );
        res
    };
    let expected = cookie_value(&headers, state.ui.login_cookie());
    let csrf_ok = match (expected, form.get("csrf")) {
        (Some(a), Some(b)) => bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes())),
        _ => false,
    };
    if !csrf_ok {
        return retry(StatusCode::FORBIDDEN, t(lang, "error-csrf"));
    }
    let (username, password, code) = (
        form.value("username"),
        form.value("password"),
        form.value("code"),
    );
    match state
        .service
        .accounts()
        .login(username, password, code)
        .await
    {
        Ok((value, _)) => {
            let mut res = Redirect::to("/").into_response();
            let lifetime = crate::accounts::SESSION_LIFETIME.whole_seconds();
            res.headers_mut().append(
                header::SET_COOKIE,
                state.ui.cookie(state.ui.session_cookie(), &value, lifetime),
            );
            res.headers_mut().append(
                header::SET_COOKIE,
                state.ui.cookie(state.ui.login_cookie(), "", 0),
            );
            res
        }
        Err(LoginError::Refused) => retry(StatusCode::UNAUTHORIZED, t(lang, "login-refused")),
        Err(LoginError::Locked { until }) => retry(
            StatusCode::TOO_MANY_REQUESTS,
            t_args(
                lang,
                "login-locked",
                &[("until", FluentValue::from(i18n::datetime(lang, until)))],
            ),
        ),
        Err(LoginError::Store(e)) => {
            tracing::error!(error = %e, "login failed in the store");
            retry(StatusCode::INTERNAL_SERVER_ERROR, t(lang, "error-internal"))
        }
    }
}

/// `POST /logout`.
pub(super) async fn logout(
    State(state): State<AppState>,
    user: User,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    if let Err(e) = state
        .service
        .accounts()
        .logout(&user.signed_in.session_hash)
        .await
    {
        tracing::error!(error = %e, "logout failed");
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        state.ui.cookie(state.ui.session_cookie(), "", 0),
    );
    Ok(res)
}

/// `POST /language`: the user's language choice, kept on their account.
pub(super) async fn language(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: User,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    let lang = Lang::from_tag(form.value("lang"));
    state
        .service
        .accounts()
        .set_language(&user.signed_in.user, lang.tag())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "language change failed");
            UiError::Internal(user.lang)
        })?;
    // Back to the page the choice was made on, if it is one of ours.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    Ok(Redirect::to(&back).into_response())
}

/// `GET /requests/new`: every mechanism of the catalogue.
pub(super) async fn choose_mechanism(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    let lang = user.lang;
    user.require(&shared, Action::Draft)?;
    let list = state.service.mechanisms();
    let body = m! {
        h1 { (t(lang, "wizard-choose")) }
        ul class="mechanisms" {
            @for mech in &list.mechanisms {
                li {
                    a href={ "/requests/new/" (mech.id) } { (label(lang, "mechanism", &mech.id)) }
                    " "
                    @if mech.authorisation_required { span class="tag" { (t(lang, "needs-authorisation")) } }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout(
            lang,
            &t(lang, "wizard-choose"),
            Some(&user),
            Some(&shared),
            body,
        ),
    ))
}

fn findings_block(lang: Lang, findings: &[FindingView]) -> Markup {
    let blocking = findings.iter().filter(|f| f.blocks()).count();
    m! {
        div id="findings" class="findings" aria-live="polite" {
            h2 { (t(lang, "findings-title")) }
            @if blocking > 0 {
                p class="blocking-summary" { (t_args(lang, "findings-blocking", &[("count", FluentValue::from(blocking))])) }
            } @else {
                p class="clear-summary" { (t(lang, "findings-clear")) }
            }
            ul {
                @for f in findings {
                    li class={ "finding finding-" (f.severity) } data-code=(f.code) {
                        strong { (t(lang, &format!("severity-{}", f.severity))) } " "
                        span lang="en" { (f.message) }
                        @if !f.citations.is_empty() { " " small { (f.citations.join("; ")) } }
                    }
                }
            }
        }
    }
}

struct Choice<'a> {
    name: &'a str,
    options: Vec<(String, String)>,
}

fn text_field(lang: Lang, form: &FormData, name: &str, required: bool, long: bool) -> Markup {
    let id = format!("f-{name}");
    m! {
        div class="field" {
            label for=(id) { (label(lang, "field", name)) @if required { " " span class="req" { (t(lang, "required")) } } }
            @if long {
                textarea id=(id) name=(name) rows="3" { (form.value(name)) }
            } @else {
                input id=(id) name=(name) value=(form.value(name));
            }
        }
    }
}

fn select_field(lang: Lang, form: &FormData, key: &str, choice: Choice<'_>) -> Markup {
    let id = format!("f-{}", choice.name);
    m! {
        div class="field" {
            label for=(id) { (t(lang, key)) }
            select id=(id) name=(choice.name) {
                @for (value, text) in &choice.options {
                    option value=(value) selected[form.value(choice.name) == value] { (text) }
                }
            }
        }
    }
}

fn wizard_page(
    state: &AppState,
    shared: &Shared,
    user: &User,
    mechanism: &str,
    form: &FormData,
    findings: &[FindingView],
    notice: Option<String>,
) -> Result<Markup, UiError> {
    let lang = user.lang;
    let mech = state
        .service
        .mechanism(mechanism)
        .map_err(|_| UiError::NotFound(lang))?;
    let catalogue = state.service.catalogue();
    let required = |f: &str| mech.required_fields.iter().any(|r| r == f);
    let long_fields = [
        "summary_of_facts",
        "relation_to_offence",
        "necessity",
        "assistance_sought",
        "purpose",
        "persons_concerned",
        "emergency_justification",
        "conditions",
        "domestic_legal_basis",
    ];
    let short_fields = [
        "addressee",
        "custodian_or_location",
        "preservation_reference",
    ];
    let title = label(lang, "mechanism", mechanism);
    let body = m! {
        h1 { (t(lang, "wizard-title")) ": " (title) }
        @if let Some(n) = notice { p class="error" role="alert" { (n) } }
        form method="post" id="wizard" data-findings="/findings" data-mechanism=(mechanism) {
            input type="hidden" name="csrf" value=(user.csrf());
            fieldset {
                legend { (t(lang, "wizard-case")) }
                (text_field(lang, form, "case_reference", true, false))
                (text_field(lang, form, "case_title", false, false))
            }
            fieldset {
                legend { (t(lang, "wizard-basics")) }
                div class="field" {
                    label for="f-requested_state" { (label(lang, "field", "requested_state")) " " span class="req" { (t(lang, "required")) } }
                    input id="f-requested_state" name="requested_state" value=(form.value("requested_state")) maxlength="2" size="3" autocomplete="off";
                }
                (select_field(lang, form, "field-instrument", Choice { name: "instrument", options: catalogue.instruments.iter().map(|i| (i.code.clone(), format!("{} — {}", i.code, i.title))).collect() }))
                (select_field(lang, form, "field-urgency", Choice { name: "urgency", options: ["normal", "urgent", "emergency"].iter().map(|u| ((*u).to_owned(), label(lang, "urgency", u))).collect() }))
                div class="field" {
                    label for="f-language" { (label(lang, "field", "language")) }
                    input id="f-language" name="language" value=(if form.value("language").is_empty() { "en" } else { form.value("language") }) maxlength="2" size="3";
                }
            }
            fieldset {
                legend { (label(lang, "field", "offences")) @if required("offences") { " " span class="req" { (t(lang, "required")) } } }
                (select_field(lang, form, "field-offence-entry", Choice { name: "offence_entry", options: std::iter::once((String::new(), "—".to_owned())).chain(catalogue.offences.iter().map(|o| (o.id.clone(), o.title.clone()))).collect() }))
                div class="field" { label for="f-offence_provision" { (t(lang, "field-offence-provision")) } input id="f-offence_provision" name="offence_provision" value=(form.value("offence_provision")); }
                div class="field" { label for="f-offence_penalty_months" { (t(lang, "field-offence-penalty")) } input id="f-offence_penalty_months" name="offence_penalty_months" inputmode="numeric" value=(form.value("offence_penalty_months")); }
            }
            fieldset {
                legend { (label(lang, "field", "data_sought")) @if required("data_sought") { " " span class="req" { (t(lang, "required")) } } }
                (select_field(lang, form, "field-data-category", Choice { name: "data_category", options: std::iter::once((String::new(), "—".to_owned())).chain(mech.data_categories.iter().map(|c| (c.clone(), label(lang, "category", c)))).collect() }))
                div class="field" { label for="f-data_description" { (t(lang, "field-data-description")) } input id="f-data_description" name="data_description" value=(form.value("data_description")); }
                (select_field(lang, form, "field-identifier-kind", Choice { name: "identifier_kind", options: IDENTIFIER_KINDS.iter().map(|k| ((*k).to_owned(), label(lang, "identifier", k))).collect() }))
                div class="field" { label for="f-identifier_value" { (t(lang, "field-identifier-value")) } input id="f-identifier_value" name="identifier_value" value=(form.value("identifier_value")); }
                div class="field" { label for="f-identifier_observed_at" { (t(lang, "field-identifier-observed")) } input id="f-identifier_observed_at" name="identifier_observed_at" placeholder="2026-11-21T02:14:00+01:00" value=(form.value("identifier_observed_at")); }
            }
            fieldset {
                legend { (t(lang, "wizard-details")) }
                @for f in long_fields {
                    @if required(f) || f == "emergency_justification" || f == "necessity" || f == "conditions" { (text_field(lang, form, f, required(f), true)) }
                }
                @for f in short_fields {
                    @if required(f) || f == "addressee" { (text_field(lang, form, f, required(f), false)) }
                }
                div class="field check" {
                    input type="checkbox" id="f-follow_up_mla_intent" name="follow_up_mla_intent" value="yes" checked[form.checked("follow_up_mla_intent")];
                    label for="f-follow_up_mla_intent" { (label(lang, "field", "follow_up_mla_intent")) }
                }
                div class="field check" {
                    input type="checkbox" id="f-confidentiality_requested" name="confidentiality_requested" value="yes" checked[form.checked("confidentiality_requested")];
                    label for="f-confidentiality_requested" { (t(lang, "field-confidentiality")) }
                }
                @if required("collection_period") {
                    div class="field" { label for="f-collection_days" { (t(lang, "field-collection-days")) } input id="f-collection_days" name="collection_days" inputmode="numeric" value=(form.value("collection_days")); }
                    (text_field(lang, form, "collection_justification", true, true))
                }
                @if required("assets") {
                    (text_field(lang, form, "assets_description", true, true))
                    (text_field(lang, form, "assets_location", false, false))
                }
                @if required("joint_investigation") {
                    (text_field(lang, form, "jit_members", true, false))
                    (text_field(lang, form, "jit_duration_days", true, false))
                    (text_field(lang, form, "jit_evidence_arrangements", true, true))
                }
            }
            (findings_block(lang, findings))
            div class="actions" {
                button type="submit" name="intent" value="check" { (t(lang, "wizard-check")) }
                button type="submit" name="intent" value="save" class="primary" { (t(lang, "wizard-save")) }
            }
        }
    };
    Ok(layout(
        lang,
        &t(lang, "wizard-title"),
        Some(user),
        Some(shared),
        body,
    ))
}

/// `GET /requests/new/{mechanism}`: the wizard, with the findings of the empty draft.
pub(super) async fn draft_form(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(mechanism): Path<String>,
) -> Result<Response, UiError> {
    user.require(&shared, Action::Draft)?;
    // The usual channel of a 24/7 node: point of contact to point of contact, issued by a prosecutor.
    let form = FormData(
        [
            ("issuer", "prosecutor"),
            ("language", "en"),
            ("urgency", "normal"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    let (input, _) = forms::request_input(&mechanism, &form);
    let findings = if state.service.mechanism(&mechanism).is_ok() {
        safeguards::check_draft(&state.service, &input)
    } else {
        Vec::new()
    };
    let page = wizard_page(&state, &shared, &user, &mechanism, &form, &findings, None)?;
    Ok(html(StatusCode::OK, page))
}

fn check_form(
    state: &AppState,
    mechanism: &str,
    form: &FormData,
) -> (crate::wire::RequestInput, Vec<FindingView>) {
    let (input, problems) = forms::request_input(mechanism, form);
    let mut findings: Vec<FindingView> = problems
        .into_iter()
        .map(|p| FindingView {
            severity: "block".into(),
            code: "form.unreadable".into(),
            message: format!("{}: {}", p.field, p.message),
            citations: Vec::new(),
        })
        .collect();
    findings.extend(safeguards::check_draft(&state.service, &input));
    (input, findings)
}

/// `POST /requests/new/{mechanism}`: check again, or save the draft (opening the case if its reference is new).
pub(super) async fn draft_submit(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(mechanism): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let lang = user.lang;
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    user.require(&shared, Action::Draft)?;
    state
        .service
        .mechanism(&mechanism)
        .map_err(|_| UiError::NotFound(lang))?;
    let (input, findings) = check_form(&state, &mechanism, &form);
    if form.get("intent") != Some("save") {
        return Ok(html(
            StatusCode::OK,
            wizard_page(&state, &shared, &user, &mechanism, &form, &findings, None)?,
        ));
    }
    let Some(reference) = form.get("case_reference") else {
        let page = wizard_page(
            &state,
            &shared,
            &user,
            &mechanism,
            &form,
            &findings,
            Some(t(lang, "wizard-need-case")),
        )?;
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
    };
    let actor = user.signed_in.user.username.clone();
    let existing = state
        .service
        .cases(1000)
        .await?
        .into_iter()
        .find(|c| c.reference == reference);
    let case = match existing {
        Some(c) => c,
        None => {
            let title = form.get("case_title").unwrap_or(reference).to_owned();
            match state
                .service
                .create_case(
                    CaseInput {
                        reference: reference.to_owned(),
                        title,
                    },
                    &actor,
                )
                .await
            {
                Ok(c) => c,
                Err(crate::service::ServiceError::Invalid(problems)) => {
                    let msg = problems
                        .iter()
                        .map(|p| format!("{}: {}", p.pointer, p.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Ok(html(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        wizard_page(
                            &state,
                            &shared,
                            &user,
                            &mechanism,
                            &form,
                            &findings,
                            Some(msg),
                        )?,
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match state
        .service
        .create_request(
            NewRequestInput {
                case_id: case.id,
                document: input,
            },
            &actor,
        )
        .await
    {
        Ok(view) => Ok(Redirect::to(&format!("/requests/{}", view.id)).into_response()),
        Err(crate::service::ServiceError::Invalid(problems)) => {
            let msg = problems
                .iter()
                .map(|p| format!("{}: {}", p.pointer, p.message))
                .collect::<Vec<_>>()
                .join("; ");
            Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                wizard_page(
                    &state,
                    &shared,
                    &user,
                    &mechanism,
                    &form,
                    &findings,
                    Some(msg),
                )?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /findings`: the findings block for a draft, for the wizard's live checks.
pub(super) async fn live_findings(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    user.require(&shared, Action::Draft)?;
    let mechanism = form.value("mechanism").to_owned();
    state
        .service
        .mechanism(&mechanism)
        .map_err(|_| UiError::NotFound(user.lang))?;
    let (_, findings) = check_form(&state, &mechanism, &form);
    Ok(html(StatusCode::OK, findings_block(user.lang, &findings)))
}

fn step_form(
    lang: Lang,
    user: &User,
    id: &str,
    version: u64,
    step: &str,
    grounds: &[(String, String)],
    checklist: &[crate::safeguards::ChecklistItemView],
) -> Markup {
    let needs_reason = matches!(
        step,
        "refuse"
            | "postpone"
            | "execute-partially"
            | "consult"
            | "decline-authorisation"
            | "withdraw"
    );
    m! {
        form method="post" action={ "/requests/" (id) "/step" } class={ "step step-" (step) } {
            input type="hidden" name="csrf" value=(user.csrf());
            input type="hidden" name="action" value=(step);
            input type="hidden" name="version" value=(version);
            @if step == "refuse" {
                fieldset {
                    legend { (t(lang, "decision-grounds")) }
                    @for (gid, title) in grounds {
                        div class="field check" {
                            input type="checkbox" id={ "g-" (gid) } name="grounds" value=(gid);
                            label for={ "g-" (gid) } lang="en" { (title) }
                        }
                    }
                }
            }
            (super::records::checklist_fields(lang, step, checklist))
            @if step == "authorise" {
                label for="judge-password" { (t(lang, "judge-password")) }
                input type="password" id="judge-password" name="password" autocomplete="current-password" required;
            }
            @if needs_reason {
                label for={ "reason-" (step) } { (t(lang, "decision-reason")) }
                textarea id={ "reason-" (step) } name="reason" rows="2" required[step == "refuse"] {}
            }
            button type="submit" class=(if step == "send" || step == "execute" { "primary" } else { "" }) { (label(lang, "action", step)) }
        }
    }
}

/// What the request page shows besides the request itself.
struct Extras {
    /// Evidence held against it.
    evidence: Vec<crate::evidence::EvidenceView>,
    /// The requested side's checklist, for the decision forms.
    checklist: Vec<crate::safeguards::ChecklistItemView>,
}

impl Extras {
    /// Reads them; the checklist only when a decision form is shown (`decides`).
    async fn of(state: &AppState, view: &RequestView, decides: bool) -> Self {
        Self {
            evidence: super::evidence::of_request(state, &view.id).await,
            checklist: if decides {
                super::records::checklist(state, view).await
            } else {
                Vec::new()
            },
        }
    }
}

fn request_page_markup(
    state: &AppState,
    shared: &Shared,
    user: &User,
    view: &RequestView,
    findings: Option<Vec<FindingView>>,
    notice: Option<String>,
    extras: &Extras,
) -> Markup {
    let (evidence, checklist) = (&extras.evidence, &extras.checklist);
    let lang = user.lang;
    let own = state.service.identity().authority.to_string();
    let authority = owner(view, &own);
    let now = state.service.now();
    let permitted: Vec<&String> = view
        .allowed_actions
        .iter()
        .filter(|a| {
            shared
                .policy
                .lifecycle_action(a)
                .is_some_and(|act| shared.policy.decide(user.principal(), act, &authority))
        })
        .collect();
    let grounds: Vec<(String, String)> = state
        .service
        .mechanism(&view.mechanism)
        .map(|m| {
            m.refusal_grounds
                .iter()
                .filter(|g| g.permitted)
                .map(|g| (g.id.clone(), g.title.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (decisions, others): (Vec<&String>, Vec<&String>) = permitted
        .iter()
        .copied()
        .partition(|a| DECISIONS.contains(&a.as_str()));
    m! {
        h1 { (label(lang, "mechanism", &view.mechanism)) }
        p {
            span class={ "state state-" (view.state) } { (label(lang, "state", &view.state)) } " "
            span class={ "urgency urgency-" (view.urgency) } { (label(lang, "urgency", &view.urgency)) }
        }
        @if let Some(n) = notice { p class="error" role="alert" { (n) } }
        dl class="facts" {
            dt { (t(lang, "col-request")) } dd { code { (view.id) } }
            dt { (label(lang, "field", "requested_state")) } dd { (view.document.requested_state) }
            dt { (t(lang, "field-instrument")) } dd { (view.document.instrument) }
            dt { (t(lang, "created")) } dd { (i18n::datetime_text(lang, &view.created_at)) }
            @if let Some(s) = &view.document.summary_of_facts { dt { (label(lang, "field", "summary_of_facts")) } dd { (s) } }
            dt { (label(lang, "field", "conditions")) } dd { (view.document.conditions.as_deref().unwrap_or("—")) }
        }
        @if !view.missing_fields.is_empty() {
            section aria-labelledby="missing" {
                h2 id="missing" { (t(lang, "missing-fields")) }
                ul { @for f in &view.missing_fields { li { (label(lang, "field", f)) } } }
            }
        }
        @if let Some(f) = &findings { (findings_block(lang, f)) }
        section aria-labelledby="clocks" {
            h2 id="clocks" { (t(lang, "clocks")) }
            @if view.clocks.is_empty() { p class="empty" { (t(lang, "none")) } }
            ul class="clocks" {
                @for c in &view.clocks {
                    li class=(if c.stopped_at.is_some() { "stopped" } else { urgency_class(now, &c.due_at) }) {
                        span lang="en" { (c.title) } " — "
                        @if c.stopped_at.is_some() { (t(lang, "clock-stopped")) } @else { (countdown(lang, &c.due_at)) }
                    }
                }
            }
        }
        (super::records::records_section(lang, view))
        @if !decisions.is_empty() {
            section aria-labelledby="decision" class="decision" {
                h2 id="decision" { (t(lang, "decision-title")) }
                @for a in &decisions { (step_form(lang, user, &view.id, view.version, a, &grounds, checklist)) }
            }
        }
        @if !others.is_empty() {
            section aria-labelledby="steps" {
                h2 id="steps" { (t(lang, "steps-title")) }
                @for a in &others { (step_form(lang, user, &view.id, view.version, a, &grounds, &[])) }
            }
        }
        (super::evidence::section(lang, &view.id, evidence))
        (super::records::exchange_section(lang, view))
        section aria-labelledby="timeline" {
            h2 id="timeline" { (t(lang, "timeline")) }
            ol class="timeline" {
                li { (i18n::datetime_text(lang, &view.created_at)) " — " (label(lang, "state", "draft")) }
                @for e in &view.events {
                    li {
                        (i18n::datetime_text(lang, &e.at)) " — " strong { (label(lang, "action", &e.action)) } " "
                        "(" (label(lang, "state", &e.from)) " → " (label(lang, "state", &e.to)) ") · " (e.actor)
                        @if let Some(r) = &e.reason { br; q { (r) } }
                        @if !e.grounds.is_empty() { br; small { (e.grounds.join(", ")) } }
                    }
                }
            }
        }
    }
}

/// The outgoing findings shown on a request that has not left yet.
async fn page_findings(state: &AppState, view: &RequestView) -> Option<Vec<FindingView>> {
    if matches!(
        view.state.as_str(),
        "draft" | "authorised" | "awaiting-authorisation"
    ) {
        Some(safeguards::check_request(&state.service, &view.id).await)
    } else {
        None
    }
}

/// `GET /requests/{id}`.
pub(super) async fn request_page(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let lang = user.lang;
    let view = state.service.request(&id).await.map_err(|e| match e {
        crate::service::ServiceError::NotFound { .. } => UiError::NotFound(lang),
        other => other.into(),
    })?;
    let own = state.service.identity().authority.to_string();
    if !shared
        .policy
        .decide(user.principal(), Action::Read, &owner(&view, &own))
    {
        return Err(UiError::Forbidden(lang));
    }
    let findings = page_findings(&state, &view).await;
    let decides = view
        .allowed_actions
        .iter()
        .any(|a| DECISIONS.contains(&a.as_str()));
    let extras = Extras::of(&state, &view, decides).await;
    let body = request_page_markup(&state, &shared, &user, &view, findings, None, &extras);
    Ok(html(
        StatusCode::OK,
        layout(
            lang,
            &label(lang, "mechanism", &view.mechanism),
            Some(&user),
            Some(&shared),
            body,
        ),
    ))
}

/// `POST /requests/{id}/step`: one lifecycle step, if the policy permits it; sending also needs no blocking finding.
pub(super) async fn request_step(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let lang = user.lang;
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    let view = state.service.request(&id).await.map_err(|e| match e {
        crate::service::ServiceError::NotFound { .. } => UiError::NotFound(lang),
        other => other.into(),
    })?;
    let own = state.service.identity().authority.to_string();
    let step = form.value("action").to_owned();
    let Some(needed) = shared.policy.lifecycle_action(&step) else {
        return Err(UiError::NotFound(lang));
    };
    if !shared
        .policy
        .decide(user.principal(), needed, &owner(&view, &own))
    {
        return Err(UiError::Forbidden(lang));
    }
    let findings = page_findings(&state, &view).await;
    let extras = Extras::of(&state, &view, DECISIONS.contains(&step.as_str())).await;
    let again = |notice: String, findings: Option<Vec<FindingView>>| -> Response {
        let body = request_page_markup(
            &state,
            &shared,
            &user,
            &view,
            findings,
            Some(notice),
            &extras,
        );
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(
                lang,
                &label(lang, "mechanism", &view.mechanism),
                Some(&user),
                Some(&shared),
                body,
            ),
        )
    };
    // A judge signs an authorisation with their own key, which only their password opens.
    let signed = if step == "authorise" {
        state
            .service
            .sign_judicial_decision(
                &id,
                "authorise",
                &user.signed_in.user.username,
                form.get("password").unwrap_or_default(),
            )
            .await
            .map(Some)
    } else {
        Ok(None)
    };
    let outcome = match signed {
        Ok(authorisation) => {
            let input = TransitionInput {
                action: step,
                reason: form.text_owned("reason"),
                grounds: form.all("grounds"),
                expected_version: form.get("version").and_then(|v| v.parse().ok()),
                issuer: None,
                checklist: super::records::checklist_answers(&extras.checklist, |k| {
                    form.get(k).map(str::to_owned)
                }),
                recipient: None,
                authorisation,
            };
            state
                .service
                .transition(&id, input, &user.signed_in.user.username)
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(crate::service::ServiceError::Invalid(problems)) => Ok(again(
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            findings,
        )),
        Err(crate::service::ServiceError::Blocked(blocking)) => {
            let shown: Vec<FindingView> = blocking.iter().map(FindingView::from).collect();
            let notice = t_args(
                lang,
                "findings-blocking",
                &[("count", FluentValue::from(shown.len()))],
            );
            Ok(again(notice, Some(shown)))
        }
        Err(
            crate::service::ServiceError::NotAllowed { message, .. }
            | crate::service::ServiceError::Conflict(message),
        ) => Ok(again(message, findings)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /directory`: this node and the national profiles it knows, until the signed directory arrives.
pub(super) async fn directory(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    let lang = user.lang;
    user.require(&shared, Action::Directory)?;
    let node = state.service.node();
    let profiles = state.service.safeguards().profiles.as_slice();
    let body = m! {
        h1 { (t(lang, "directory-title")) }
        p class="note" { (t(lang, "directory-placeholder")) }
        h2 { (t(lang, "directory-this-node")) }
        dl class="facts" {
            dt { (t(lang, "directory-authority")) } dd { code { (node.authority) } }
            dt { (t(lang, "directory-name")) } dd { (node.name) }
            dt { (t(lang, "directory-state")) } dd { (node.state) }
            dt { (t(lang, "directory-kind")) } dd { (label(lang, "kind", &node.kind)) }
            dt { (t(lang, "directory-signing-key")) } dd { code class="key" { (node.signing_public_key) } }
            dt { (t(lang, "directory-age")) } dd { code class="key" { (node.age_recipient) } }
        }
        h2 { (t(lang, "directory-profiles")) }
        table {
            thead { tr { th scope="col" { (t(lang, "directory-state")) } th scope="col" { (t(lang, "directory-name")) } th scope="col" { (t(lang, "field-instrument")) } th scope="col" { (t(lang, "language")) } } }
            tbody {
                @for p in profiles {
                    tr { td { (p.state) } td { (p.name) @if p.example { " " span class="tag" { (t(lang, "example")) } } } td { (p.instruments.join(", ")) } td { (p.languages.join(", ")) } }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout(
            lang,
            &t(lang, "directory-title"),
            Some(&user),
            Some(&shared),
            body,
        ),
    ))
}

/// `GET /audit`: the newest lifecycle events of the node, for supervisors, administrators and auditors.
pub(super) async fn audit(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    let lang = user.lang;
    user.require(&shared, Action::Audit)?;
    let store = state.service.store();
    let mut events = Vec::new();
    let mut after: Option<(String, u64)> = None;
    // Bounded: at most 20 pages of 1000 events.
    for _ in 0..20 {
        let page = store
            .events_by_key(after.as_ref().map(|(r, s)| (r.as_str(), *s)), 1000)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "audit read failed");
                UiError::Internal(lang)
            })?;
        let done = page.len() < 1000;
        after = page.last().map(|e| (e.request_id.clone(), e.seq));
        events.extend(page);
        if done {
            break;
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(300);
    let body = m! {
        h1 { (t(lang, "audit-title")) }
        table {
            thead { tr {
                th scope="col" { (t(lang, "audit-when")) }
                th scope="col" { (t(lang, "audit-who")) }
                th scope="col" { (t(lang, "col-request")) }
                th scope="col" { (t(lang, "audit-step")) }
                th scope="col" { (t(lang, "col-state")) }
            } }
            tbody {
                @for e in &events {
                    tr {
                        td { (i18n::datetime(lang, e.at)) }
                        td { (e.actor) }
                        td { a href={ "/requests/" (e.request_id) } { code { (e.request_id) } } }
                        td { (label(lang, "action", &e.action)) }
                        td { (label(lang, "state", &e.from_state)) " → " (label(lang, "state", &e.to_state)) }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout(
            lang,
            &t(lang, "audit-title"),
            Some(&user),
            Some(&shared),
            body,
        ),
    ))
}
