//! Statistics: counts of requests by mechanism and state from the store, as a server-rendered SVG chart, a table,
//! and CSV.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html as m;

use super::i18n::{self, Lang, t};
use super::{Shared, UiError, User, html};
use crate::access::Action;
use crate::api::AppState;

/// Requests counted at most (a bound on the scan, far above any node's year).
const MAX_COUNTED: usize = 1_000_000;
const PAGE: u32 = 1000;

/// Requests by (mechanism, state).
pub(super) async fn counts(
    state: &AppState,
) -> Result<BTreeMap<(String, String), u64>, comity_store::StoreError> {
    let store = state.service.store();
    let mut counts = BTreeMap::new();
    let mut after: Option<String> = None;
    let mut seen = 0usize;
    while seen < MAX_COUNTED {
        let page = store.requests_by_id(after.as_deref(), PAGE).await?;
        for r in &page {
            *counts
                .entry((r.mechanism.clone(), r.state.clone()))
                .or_insert(0) += 1;
        }
        seen += page.len();
        if page.len() < PAGE as usize {
            break;
        }
        after = page.last().map(|r| r.id.clone());
    }
    Ok(counts)
}

fn by_mechanism(counts: &BTreeMap<(String, String), u64>) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for ((mechanism, _), n) in counts {
        *out.entry(mechanism.as_str()).or_insert(0) += n;
    }
    out
}

/// A horizontal bar chart in SVG, one bar per mechanism; text is placed by the language's direction.
fn chart(lang: Lang, totals: &BTreeMap<&str, u64>) -> maud::Markup {
    let max = totals.values().copied().max().unwrap_or(1).max(1);
    let (row, label_w, bar_w) = (28u64, 330u64, 300u64);
    let height = row * totals.len().max(1) as u64 + 10;
    let rtl = lang.dir() == "rtl";
    m! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="chart-title"
            viewBox={ "0 0 " (label_w + bar_w + 60) " " (height) } width="100%" {
            title id="chart-title" { (t(lang, "stats-chart-title")) }
            @for (i, (mechanism, n)) in totals.iter().enumerate() {
                @let y = row * i as u64 + 5;
                @let w = (bar_w * n / max).max(2);
                @let name = i18n::t_opt(lang, &format!("mechanism-{mechanism}")).unwrap_or_else(|| (*mechanism).to_owned());
                @if rtl {
                    text x=(label_w + bar_w + 55) y=(y + 17) text-anchor="start" direction="rtl" class="chart-label" { (name) }
                    rect x=(bar_w - w + 40) y=(y) width=(w) height="20" class="chart-bar" {}
                    text x=(bar_w - w + 35) y=(y + 15) text-anchor="end" class="chart-value" { (i18n::number(lang, *n)) }
                } @else {
                    text x="0" y=(y + 17) class="chart-label" { (name) }
                    rect x=(label_w) y=(y) width=(w) height="20" class="chart-bar" {}
                    text x=(label_w + w + 5) y=(y + 15) class="chart-value" { (i18n::number(lang, *n)) }
                }
            }
        }
    }
}

/// `GET /statistics`.
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    let lang = user.lang;
    user.require(&shared, Action::Statistics)?;
    let counts = counts(&state).await.map_err(|e| {
        tracing::error!(error = %e, "statistics read failed");
        UiError::Internal(lang)
    })?;
    let totals = by_mechanism(&counts);
    let label = |prefix: &str, name: &str| {
        i18n::t_opt(lang, &format!("{prefix}-{name}")).unwrap_or_else(|| name.to_owned())
    };
    let body = m! {
        h1 { (t(lang, "stats-title")) }
        p { a href="/statistics.csv" download="comity-statistics.csv" { (t(lang, "stats-csv")) } }
        @if totals.is_empty() { p class="empty" { (t(lang, "none")) } } @else { (chart(lang, &totals)) }
        table {
            caption { (t(lang, "stats-table")) }
            thead { tr { th scope="col" { (t(lang, "col-request")) } th scope="col" { (t(lang, "col-state")) } th scope="col" { (t(lang, "stats-count")) } } }
            tbody {
                @for ((mechanism, st), n) in &counts {
                    tr { td { (label("mechanism", mechanism)) } td { (label("state", st)) } td class="num" { (i18n::number(lang, *n)) } }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        super::pages::layout_for(lang, &t(lang, "stats-title"), &user, &shared, body),
    ))
}

/// `GET /statistics.csv`: `mechanism,state,count`, one row per pair, names as in the catalogue.
pub(super) async fn csv(
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    user: User,
) -> Result<Response, UiError> {
    user.require(&shared, Action::Statistics)?;
    let counts = counts(&state).await.map_err(|e| {
        tracing::error!(error = %e, "statistics read failed");
        UiError::Internal(user.lang)
    })?;
    let mut out = String::from("mechanism,state,count\r\n");
    for ((mechanism, st), n) in &counts {
        // Catalogue names are kebab-case: no field needs quoting.
        out.push_str(&format!("{mechanism},{st},{n}\r\n"));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"comity-statistics.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
