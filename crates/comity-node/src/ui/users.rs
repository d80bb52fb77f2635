//! Account management for administrators: the accounts of their authority, adding one (the TOTP secret is shown
//! once), disabling one, and resetting one (new password and TOTP secret; a judge also gets a new signing key).
//! The same operations as `comity user add|disable|reset`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html as m};

use super::forms::FormData;
use super::i18n::{Lang, t};
use super::pages::layout_for;
use super::{Shared, UiError, User, html};
use crate::access::{Action, Role};
use crate::accounts::{AccountError, NewUser, TotpEnrolment};
use crate::api::AppState;

fn page(
    lang: Lang,
    user: &User,
    shared: &Shared,
    status: StatusCode,
    notice: Option<Markup>,
    accounts: &[comity_store::UserRecord],
) -> Response {
    let body = m! {
        h1 { (t(lang, "users-title")) }
        @if let Some(n) = notice { (n) }
        table {
            thead { tr {
                th scope="col" { (t(lang, "users-username")) }
                th scope="col" { (t(lang, "users-name")) }
                th scope="col" { (t(lang, "users-role")) }
                th scope="col" { (t(lang, "users-status")) }
                th scope="col" { (t(lang, "users-actions")) }
            } }
            tbody {
                @for a in accounts {
                    tr {
                        td { code { (a.username) } }
                        td { (a.display_name) }
                        td { (t(lang, &format!("role-{}", a.role))) }
                        td { (if a.disabled { t(lang, "users-disabled") } else { t(lang, "users-active") }) }
                        td {
                            @if !a.disabled && a.username != user.signed_in.user.username {
                                form method="post" action={ "/users/" (a.username) "/disable" } class="inline" {
                                    input type="hidden" name="csrf" value=(user.csrf());
                                    button type="submit" { (t(lang, "users-disable")) }
                                }
                            }
                            form method="post" action={ "/users/" (a.username) "/reset" } class="inline" {
                                input type="hidden" name="csrf" value=(user.csrf());
                                label for={ "pw-" (a.username) } class="visually-hidden" { (t(lang, "users-new-password")) }
                                input type="password" id={ "pw-" (a.username) } name="password" autocomplete="new-password" minlength="12" required;
                                button type="submit" { (t(lang, "users-reset")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="add-user" {
            h2 id="add-user" { (t(lang, "users-add")) }
            form method="post" action="/users" {
                input type="hidden" name="csrf" value=(user.csrf());
                label for="u-name" { (t(lang, "users-username")) }
                input id="u-name" name="username" required autocomplete="off";
                label for="u-display" { (t(lang, "users-name")) }
                input id="u-display" name="display_name" required;
                label for="u-role" { (t(lang, "users-role")) }
                select id="u-role" name="role" {
                    @for r in Role::ALL { option value=(r.to_string()) { (t(lang, &format!("role-{r}"))) } }
                }
                label for="u-lang" { (t(lang, "language")) }
                select id="u-lang" name="language" {
                    @for l in Lang::ALL { option value=(l.tag()) lang=(l.tag()) selected[l == lang] { (l.endonym()) } }
                }
                label for="u-password" { (t(lang, "users-new-password")) }
                input type="password" id="u-password" name="password" autocomplete="new-password" minlength="12" required;
                button type="submit" class="primary" { (t(lang, "users-add")) }
            }
        }
    };
    html(
        status,
        layout_for(lang, &t(lang, "users-title"), user, shared, body),
    )
}

/// The accounts of the administrator's own authority.
async fn accounts_of(
    state: &AppState,
    user: &User,
) -> Result<Vec<comity_store::UserRecord>, UiError> {
    let all = state.service.accounts().list().await.map_err(|e| {
        tracing::error!(error = %e, "accounts unreadable");
        UiError::Internal(user.lang)
    })?;
    Ok(all
        .into_iter()
        .filter(|a| a.authority == user.signed_in.user.authority)
        .collect())
}

fn enrolled(lang: Lang, username: &str, e: &TotpEnrolment) -> Markup {
    m! {
        div class="notice" role="status" {
            p { (t(lang, "users-enrolled")) " " code { (username) } }
            p { (t(lang, "users-totp-once")) " " code { (e.secret_base32) } }
        }
    }
}

fn failed(e: &AccountError) -> Markup {
    m! { p class="error" role="alert" { (e.to_string()) } }
}

/// The page after a change: with what to tell the administrator, or why the change was refused.
async fn after(
    state: &AppState,
    user: &User,
    shared: &Shared,
    outcome: Result<Option<Markup>, AccountError>,
) -> Result<Response, UiError> {
    let accounts = accounts_of(state, user).await?;
    Ok(match outcome {
        Ok(notice) => page(user.lang, user, shared, StatusCode::OK, notice, &accounts),
        Err(e) => page(
            user.lang,
            user,
            shared,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(failed(&e)),
            &accounts,
        ),
    })
}

/// `GET /users`.
pub(super) async fn list(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    user.require(&shared, Action::ManageUsers)?;
    let accounts = accounts_of(&state, &user).await?;
    Ok(page(
        user.lang,
        &user,
        &shared,
        StatusCode::OK,
        None,
        &accounts,
    ))
}

/// `POST /users`: adds an account of the administrator's own authority.
pub(super) async fn add(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    user.require(&shared, Action::ManageUsers)?;
    let lang = user.lang;
    let outcome = match form.value("role").parse::<Role>() {
        Ok(role) => {
            state
                .service
                .accounts()
                .add(NewUser {
                    username: form.value("username").trim().to_owned(),
                    display_name: form.value("display_name").to_owned(),
                    role,
                    authority: user.signed_in.user.authority.clone(),
                    language: form.value("language").to_owned(),
                    password: form.value("password").to_owned(),
                })
                .await
        }
        Err(e) => Err(AccountError::Invalid(e.to_string())),
    };
    if outcome.is_ok() {
        tracing::info!(by = %user.signed_in.user.username, "account added in the web UI");
    }
    let outcome = outcome.map(|e| Some(enrolled(lang, form.value("username").trim(), &e)));
    after(&state, &user, &shared, outcome).await
}

/// The account named in the path, if it belongs to the administrator's authority.
async fn own_account(state: &AppState, user: &User, name: &str) -> Result<(), UiError> {
    let accounts = accounts_of(state, user).await?;
    if accounts.iter().any(|a| a.username == name) {
        Ok(())
    } else {
        Err(UiError::NotFound(user.lang))
    }
}

/// `POST /users/{name}/disable`.
pub(super) async fn disable(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    user.require(&shared, Action::ManageUsers)?;
    own_account(&state, &user, &name).await?;
    let outcome = state.service.accounts().disable(&name).await;
    after(&state, &user, &shared, outcome.map(|()| None)).await
}

/// `POST /users/{name}/reset`.
pub(super) async fn reset(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData(form);
    user.check_csrf(form.get("csrf"))?;
    user.require(&shared, Action::ManageUsers)?;
    own_account(&state, &user, &name).await?;
    let outcome = state
        .service
        .accounts()
        .reset(&name, form.value("password").to_owned())
        .await;
    let outcome = outcome.map(|e| Some(enrolled(user.lang, &name, &e)));
    after(&state, &user, &shared, outcome).await
}
