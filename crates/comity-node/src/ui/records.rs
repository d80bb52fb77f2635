//! The request page's accountability sections: messages exchanged with their signed receipts and the receiver's log
//! proof, the safeguards on record (validation, quarantine, conditions, consents, onward uses, notice), and the
//! requested side's checklist in the decision forms.

use maud::{Markup, html as m};

use super::i18n::{self, Lang, t, t_args};
use crate::api::AppState;
use crate::safeguards::{ChecklistAnswerInput, ChecklistItemView};
use crate::wire::RequestView;
use fluent_bundle::FluentValue;

/// The questions the requested side answers with a decision (shown only with the decision forms).
pub(super) async fn checklist(state: &AppState, view: &RequestView) -> Vec<ChecklistItemView> {
    match state.service.findings(&view.id).await {
        Ok(f) => f.incoming.map(|a| a.checklist).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "checklist unavailable on the request page");
            Vec::new()
        }
    }
}

/// The checklist fields of one decision form; `step` keeps the ids of several forms apart.
pub(super) fn checklist_fields(lang: Lang, step: &str, items: &[ChecklistItemView]) -> Markup {
    m! {
        @for item in items {
            fieldset class="checklist" {
                legend lang="en" { (item.question) }
                div class="field check" {
                    input type="radio" id={ "c-" (step) "-" (item.id) "-no" } name={ "check-" (item.id) } value="no" required;
                    label for={ "c-" (step) "-" (item.id) "-no" } { (t(lang, "checklist-no-concern")) }
                }
                div class="field check" {
                    input type="radio" id={ "c-" (step) "-" (item.id) "-yes" } name={ "check-" (item.id) } value="yes";
                    label for={ "c-" (step) "-" (item.id) "-yes" } { (t(lang, "checklist-concern")) }
                }
                label for={ "c-" (step) "-" (item.id) "-note" } { (t(lang, "checklist-note")) }
                textarea id={ "c-" (step) "-" (item.id) "-note" } name={ "check-note-" (item.id) } rows="1" {}
            }
        }
    }
}

/// The answers a decision form carries.
pub(super) fn checklist_answers(
    items: &[ChecklistItemView],
    get: impl Fn(&str) -> Option<String>,
) -> Vec<ChecklistAnswerInput> {
    items
        .iter()
        .filter_map(|item| {
            let answer = get(&format!("check-{}", item.id))?;
            Some(ChecklistAnswerInput {
                id: item.id.clone(),
                concern: answer == "yes",
                note: get(&format!("check-note-{}", item.id)).unwrap_or_default(),
            })
        })
        .collect()
}

/// Messages this node sent on the request, with the receiver's signed receipt and its log proof.
pub(super) fn exchange_section(lang: Lang, view: &RequestView) -> Markup {
    let Some(x) = &view.exchange else {
        return m! {};
    };
    if x.sent.is_empty() {
        return m! {};
    }
    m! {
        section aria-labelledby="exchange" {
            h2 id="exchange" { (t(lang, "exchange-title")) }
            ul class="exchange" {
                @for s in &x.sent {
                    li {
                        code { (s.message_id) } " → " (s.recipient) " · " (s.status)
                        @if s.receipt.is_some() {
                            br; (t_args(lang, "exchange-receipt", &[("who", FluentValue::from(s.recipient.as_str()))]))
                        }
                        @if let Some(p) = &s.receiver_log_proof {
                            br;
                            (t_args(lang, "exchange-logged", &[
                                ("who", FluentValue::from(s.recipient.as_str())),
                                ("index", FluentValue::from(p["index"].as_u64().unwrap_or_default())),
                            ]))
                            details {
                                summary { (t(lang, "exchange-proof")) }
                                pre { code { (serde_json::to_string_pretty(p).unwrap_or_default()) } }
                            }
                        } @else if s.receipt.is_some() {
                            br; small { (t(lang, "exchange-proof-pending")) }
                        }
                    }
                }
            }
        }
    }
}

/// The safeguards on record for the request.
pub(super) fn records_section(lang: Lang, view: &RequestView) -> Markup {
    let r = &view.records;
    m! {
        @if let Some(q) = &r.quarantine {
            p class="error" role="alert" {
                strong { (t(lang, "quarantined")) } " " span lang="en" { (q.finding.message) }
            }
        }
        section aria-labelledby="records" {
            h2 id="records" { (t(lang, "records-title")) }
            dl class="facts" {
                @if let Some(v) = &r.validation {
                    dt { (t(lang, "validation")) }
                    dd { (v.status) " · " (i18n::datetime_text(lang, &v.due))
                        @if let Some(by) = &v.validated_by { " · " (by) } }
                }
                @if let Some(c) = &r.conditions {
                    dt { (t(lang, "speciality")) }
                    dd lang="en" { (c.speciality.join("; ")) }
                }
                @if !r.consents.is_empty() {
                    dt { (t(lang, "consents")) }
                    dd { @for c in &r.consents { (c.reference.as_deref().unwrap_or("—")) " (" (i18n::datetime_text(lang, &c.at)) ") " } }
                }
                @if !r.onward_uses.is_empty() {
                    dt { (t(lang, "onward-uses")) }
                    dd lang="en" { @for u in &r.onward_uses { (u.purpose.as_deref().unwrap_or("—")) "; " } }
                }
                @if let Some(n) = &r.notice {
                    dt { (t(lang, "notice")) }
                    dd {
                        (n.status)
                        @if let Some(on) = &n.review_on { " · " (i18n::datetime_text(lang, on)) }
                        @if let Some(rem) = &n.reminder { br; strong lang="en" { (rem.message) } }
                    }
                }
            }
        }
    }
}
