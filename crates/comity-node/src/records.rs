//! Safeguard records: facts about a request that leave its state as it is, each an append-only event of its own.
//!
//! - `validate`: a judge's signed validation of an emergency order issued without prior validation.
//! - `quarantine`: written by the clock when that validation did not come in time; data received under the order
//!   may then not be used, and the request says so to everyone who opens it.
//! - `record-consent` and `record-onward-use`: consent of the providing State to a further use, and the uses made.
//!   A use that the conditions attached to the request do not allow, and no consent covers, is refused.
//! - `record-notice`: notice to the person concerned given, or deferred with reasons and a review date; the request
//!   carries the reminder from the lead time before that date.
//!
//! The rules themselves are the pure functions of `comity_core::safeguards`; this module reads the request's
//! events, calls them, and writes the outcome as an event (logged like any other).

use comity_core::IsoCountry;
use comity_core::lifecycle::{self, Action, State};
use comity_core::safeguards::{
    self, Conditions, Consent, NoticeStatus, ProposedUse, UseRecipient, ValidationStatus,
};
use comity_store::{EventRecord, RequestRecord, Transition};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::judicial;
use crate::safeguards::FindingView;
use crate::service::{CLOCK_ACTOR, NodeService, ServiceError, internal, invalid};
use crate::wire::{self, RequestView};

/// The purpose stated when a request names none: evidence may serve the proceedings the request describes.
pub const STATED_PROCEEDINGS: &str = "the proceedings stated in the request";

/// Who would receive evidence in a proposed use or a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// `requesting-authority`, `other-authority`, `third-state` or `public`.
    pub kind: String,
    /// With `other-authority`: which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// With `third-state`: the ISO 3166 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl RecipientInput {
    fn parse(&self, at: &str) -> Result<UseRecipient, ServiceError> {
        match self.kind.as_str() {
            "requesting-authority" => Ok(UseRecipient::RequestingAuthority),
            "other-authority" => match self.authority.as_deref().map(str::trim) {
                Some(a) if !a.is_empty() => Ok(UseRecipient::OtherAuthority {
                    authority: a.to_owned(),
                }),
                _ => Err(invalid(
                    &format!("{at}/authority"),
                    "name the authority that would receive the evidence",
                )),
            },
            "third-state" => {
                let code = self.state.as_deref().unwrap_or_default();
                IsoCountry::parse(code)
                    .map(|state| UseRecipient::ThirdState { state })
                    .map_err(|e| invalid(&format!("{at}/state"), e.to_string()))
            }
            "public" => Ok(UseRecipient::Public),
            other => Err(invalid(
                &format!("{at}/kind"),
                format!(
                    "`{other}` is not a recipient kind; use requesting-authority, other-authority, third-state or public"
                ),
            )),
        }
    }
}

/// A consent of the providing State, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The providing State's reference for its consent (letter, message id).
    pub reference: String,
    /// The purpose it covers; absent: any purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The recipient it covers; absent: any recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInput>,
}

/// A use somebody wants to make of the evidence received under a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnwardUseInput {
    /// For what.
    pub purpose: String,
    /// For whom.
    pub recipient: RecipientInput,
}

/// Notice to the person concerned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    /// `given` or `deferred`.
    pub status: String,
    /// With `deferred`: why (recorded in the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `deferred`: when to review the deferral (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_on: Option<String>,
}

/// A judge's validation of an emergency order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationInput {
    /// The judge's signed decision (a DSSE envelope, JSON), decision `validate`.
    pub authorisation: String,
}

/// The safeguard records of a request, as the API shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SafeguardRecordsView {
    /// The validation of an emergency order issued without prior validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationView>,
    /// Set when data received under the request may not be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<QuarantineView>,
    /// Conditions that bind evidence received under the request (requests this node sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<ConditionsView>,
    /// Consents of the providing State.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<RecordedView>,
    /// Onward uses made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub onward_uses: Vec<RecordedView>,
    /// Notice to the person concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeView>,
}

/// Where a validation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidationView {
    /// `pending`, `valid` or `lapsed`.
    pub status: String,
    /// The window closes at.
    pub due: String,
    /// When a judge validated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_at: Option<String>,
    /// Which judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_by: Option<String>,
}

/// A quarantine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuarantineView {
    /// Since.
    pub at: String,
    /// Why, with its legal basis.
    pub finding: FindingView,
}

/// Conditions that travel with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConditionsView {
    /// The evidence is confidential.
    pub confidentiality: bool,
    /// The only purposes it may serve.
    pub speciality: Vec<String>,
    /// Forwarding it needs the providing State's consent.
    pub onward_transfer_needs_consent: bool,
}

/// A recorded consent or use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordedView {
    /// Position in the request's events.
    pub seq: u64,
    /// When.
    pub at: String,
    /// Who recorded it.
    pub by: String,
    /// Purpose, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Recipient, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInput>,
    /// The providing State's reference (consents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Where notice to the person concerned stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoticeView {
    /// `pending`, `given` or `deferred`.
    pub status: String,
    /// Given at, or pending since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Why deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When to review the deferral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_on: Option<String>,
    /// The reminder due now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<FindingView>,
}

/// A notice reminder across requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReminderView {
    /// The request.
    pub request_id: String,
    /// When the action is due.
    pub due: String,
    /// Already past due.
    pub overdue: bool,
    /// What to do.
    pub finding: FindingView,
}

fn parse_time(pointer: &str, text: &str) -> Result<OffsetDateTime, ServiceError> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid(pointer, format!("`{text}` is not an RFC 3339 time")))
}

fn detail_of(e: &EventRecord) -> serde_json::Value {
    serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null)
}

fn action_of(e: &EventRecord) -> Option<Action> {
    e.action.parse().ok()
}

/// Where the clock finds requests sent as emergency orders awaiting validation (`<prefix><request id>`).
const VALIDATION_INDEX: &str = "pending/validation/";

/// Where the reminders find requests whose notice was deferred.
const NOTICE_INDEX: &str = "pending/notice/";

/// Whether evidence received under the request may be used: not while it is quarantined.
pub fn quarantined(events: &[EventRecord]) -> bool {
    events
        .iter()
        .any(|e| action_of(e) == Some(Action::Quarantine))
}

/// When the request was sent with a validation pending: the `send` event says so.
fn validation_issued_at(events: &[EventRecord]) -> Option<OffsetDateTime> {
    events
        .iter()
        .find(|e| {
            action_of(e) == Some(Action::Send)
                && detail_of(e)["validation_pending"].as_bool() == Some(true)
        })
        .map(|e| e.at)
}

fn validated(events: &[EventRecord]) -> Option<&EventRecord> {
    events
        .iter()
        .find(|e| action_of(e) == Some(Action::Validate))
}

/// The conditions that bind evidence received under a request this node sent: speciality by default (the
/// evidence serves the proceedings stated in the request), confidentiality when asked for or when conditions were
/// attached, and consent needed for any onward transfer.
pub fn conditions(doc: &comity_core::request::RequestDocument) -> Conditions {
    Conditions {
        confidentiality: doc.confidentiality_requested || doc.conditions.is_some(),
        speciality: vec![
            doc.purpose
                .clone()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| STATED_PROCEEDINGS.to_owned()),
        ],
        onward_transfer_needs_consent: true,
    }
}

/// States in which data are held under the request: notice to the person concerned becomes due.
fn data_held(state: State) -> bool {
    matches!(
        state,
        State::Executed | State::PartiallyExecuted | State::Active | State::Accepted
    )
}

impl NodeService {
    /// Whether this node sent the request (it holds what comes back, bound by its conditions).
    fn sent_here(&self, doc: &comity_core::request::RequestDocument) -> bool {
        doc.requesting_authority == self.identity.authority
    }

    /// The safeguard records of a request, from its events, at the service's clock.
    pub(crate) fn records_view(
        &self,
        doc: &comity_core::request::RequestDocument,
        events: &[EventRecord],
    ) -> SafeguardRecordsView {
        let now = self.clock.now();
        let window = &self.safeguards.rules.emergency_validation;
        let validation = validation_issued_at(events).map(|issued| {
            let done = validated(events);
            let status = safeguards::validation_status(window, issued, done.map(|e| e.at), now);
            let (name, due) = match status {
                ValidationStatus::Valid { .. } => ("valid", window.duration.after(issued)),
                ValidationStatus::Pending { due } => ("pending", due),
                ValidationStatus::Lapsed { due } => ("lapsed", due),
            };
            ValidationView {
                status: name.into(),
                due: wire::rfc3339(due),
                validated_at: done.map(|e| wire::rfc3339(e.at)),
                validated_by: done.map(|e| e.actor.clone()),
            }
        });
        let quarantine = events
            .iter()
            .find(|e| action_of(e) == Some(Action::Quarantine))
            .map(|e| QuarantineView {
                at: wire::rfc3339(e.at),
                finding: serde_json::from_value(detail_of(e)["finding"].clone()).unwrap_or(
                    FindingView {
                        severity: "block".into(),
                        code: "validation.lapsed".into(),
                        message: e.reason.clone().unwrap_or_default(),
                        citations: Vec::new(),
                    },
                ),
            });
        let recorded = |action: Action| -> Vec<RecordedView> {
            events
                .iter()
                .filter(|e| action_of(e) == Some(action))
                .map(|e| {
                    let d = detail_of(e);
                    RecordedView {
                        seq: e.seq,
                        at: wire::rfc3339(e.at),
                        by: e.actor.clone(),
                        purpose: d["purpose"].as_str().map(str::to_owned),
                        recipient: serde_json::from_value(d["recipient"].clone()).ok(),
                        reference: d["reference"].as_str().map(str::to_owned),
                    }
                })
                .collect()
        };
        let conditions = self.sent_here(doc).then(|| {
            let c = conditions(doc);
            ConditionsView {
                confidentiality: c.confidentiality,
                speciality: c.speciality,
                onward_transfer_needs_consent: c.onward_transfer_needs_consent,
            }
        });
        SafeguardRecordsView {
            validation,
            quarantine,
            conditions,
            consents: recorded(Action::RecordConsent),
            onward_uses: recorded(Action::RecordOnwardUse),
            notice: self.notice_view(events, now),
        }
    }

    fn notice_status(&self, events: &[EventRecord]) -> Option<NoticeStatus> {
        let last = events
            .iter()
            .rev()
            .find(|e| action_of(e) == Some(Action::RecordNotice));
        if let Some(e) = last {
            let d = detail_of(e);
            return match d["status"].as_str() {
                Some("given") => Some(NoticeStatus::Given { at: e.at }),
                Some("deferred") => {
                    let review_on = d["review_on"].as_str().and_then(|t| {
                        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                            .ok()
                    })?;
                    Some(NoticeStatus::Deferred {
                        reason: d["reason"].as_str().unwrap_or_default().to_owned(),
                        review_on,
                    })
                }
                _ => None,
            };
        }
        events
            .iter()
            .find(|e| e.to_state.parse().is_ok_and(data_held))
            .map(|e| NoticeStatus::Pending { since: e.at })
    }

    fn notice_view(&self, events: &[EventRecord], now: OffsetDateTime) -> Option<NoticeView> {
        let status = self.notice_status(events)?;
        let reminder = safeguards::notice_due(&status, &self.safeguards.rules, now)
            .map(|r| FindingView::from(&r.finding));
        Some(match status {
            NoticeStatus::Pending { since } => NoticeView {
                status: "pending".into(),
                at: Some(wire::rfc3339(since)),
                reason: None,
                review_on: None,
                reminder,
            },
            NoticeStatus::Given { at } => NoticeView {
                status: "given".into(),
                at: Some(wire::rfc3339(at)),
                reason: None,
                review_on: None,
                reminder,
            },
            NoticeStatus::Deferred { reason, review_on } => NoticeView {
                status: "deferred".into(),
                at: None,
                reason: Some(reason),
                review_on: Some(wire::rfc3339(review_on)),
                reminder,
            },
        })
    }

    /// Signs a judicial decision (`authorise` or `validate`) on the current version of a request with the judge's
    /// own key, opened by their password. Returns the signed decision to pass as `authorisation`.
    pub async fn sign_judicial_decision(
        &self,
        id: &str,
        decision: &str,
        judge: &str,
        password: &str,
    ) -> Result<String, ServiceError> {
        if !matches!(decision, "authorise" | "validate") {
            return Err(invalid(
                "/decision",
                format!("`{decision}` is not a judicial decision; use authorise or validate"),
            ));
        }
        let (record, _, _) = self.load(id).await?;
        let statement = judicial::Decision {
            v: 1,
            decision: decision.to_owned(),
            request: record.id.clone(),
            mechanism: record.mechanism.clone(),
            document_sha256: judicial::document_digest(&record.document),
            judge: judge.to_owned(),
            signed_at: wire::rfc3339(self.clock.now()),
        };
        judicial::sign(&self.store, &statement, password)
            .await
            .map_err(|e| invalid("/authorisation", e.to_string()))
    }

    /// Checks a judge's signed decision on a request; returns the judge and the envelope to keep with the event.
    pub(crate) async fn check_judicial(
        &self,
        record: &RequestRecord,
        decision: &str,
        envelope: Option<&str>,
    ) -> Result<(String, serde_json::Value), ServiceError> {
        let envelope = envelope.map(str::trim).filter(|e| !e.is_empty()).ok_or_else(|| {
            invalid(
                "/authorisation",
                format!(
                    "`{decision}` needs the judge's signed decision: sign it in the web UI, or with `comity request transition {} {decision} --judge USERNAME` (password on standard input)",
                    record.id
                ),
            )
        })?;
        let statement = judicial::verify(
            &self.store,
            envelope,
            &judicial::Expected {
                decision,
                request: &record.id,
                mechanism: &record.mechanism,
                document: &record.document,
            },
            self.clock.now(),
        )
        .await
        .map_err(|e| invalid("/authorisation", e.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(envelope).map_err(internal)?;
        Ok((statement.judge, value))
    }

    /// Appends a record event (its state unchanged) and logs it; returns the request as it now stands.
    async fn append_record(
        &self,
        record: &RequestRecord,
        action: Action,
        reason: Option<String>,
        detail: serde_json::Value,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let mechanism = self
            .catalogue
            .mechanism(&record.mechanism)
            .ok_or_else(|| internal(format!("unknown mechanism `{}`", record.mechanism)))?;
        let state: State = record
            .state
            .parse()
            .map_err(|e: lifecycle::UnknownName| internal(e))?;
        lifecycle::apply(
            mechanism.lifecycle_rules(),
            state,
            action,
            reason.as_deref(),
        )
        .map_err(crate::service::step_refused)?;
        let now = self.clock.now().max(record.updated_at);
        let updated = self
            .store
            .transition(Transition {
                event: EventRecord {
                    request_id: record.id.clone(),
                    seq: record.version + 1,
                    action: action.to_string(),
                    from_state: state.to_string(),
                    to_state: state.to_string(),
                    actor: actor.to_owned(),
                    at: now,
                    reason,
                    detail: detail.to_string(),
                },
                expected_version: record.version,
                next_due: record.next_due,
                document: None,
                outbox: None,
                link: None,
            })
            .await?;
        tracing::info!(request = %record.id, %action, "safeguard record");
        self.log_latest(&updated).await
    }

    /// A judge validates an emergency order that was issued without prior validation.
    pub async fn validate(
        &self,
        id: &str,
        input: ValidationInput,
    ) -> Result<RequestView, ServiceError> {
        let (record, events, _) = self.load(id).await?;
        if validation_issued_at(&events).is_none() {
            return Err(invalid(
                "/authorisation",
                format!(
                    "request `{id}` was not sent as an emergency order awaiting validation; nothing to validate"
                ),
            ));
        }
        if validated(&events).is_some() {
            return Err(ServiceError::Conflict(format!(
                "request `{id}` is already validated"
            )));
        }
        let (judge, envelope) = self
            .check_judicial(&record, "validate", Some(&input.authorisation))
            .await?;
        let view = self
            .append_record(
                &record,
                Action::Validate,
                None,
                serde_json::json!({ "judicial_decision": envelope }),
                &judge,
            )
            .await?;
        self.store
            .delete_meta(&format!("{VALIDATION_INDEX}{id}"))
            .await?;
        Ok(view)
    }

    /// Records a consent of the providing State to a further use of the evidence.
    pub async fn record_consent(
        &self,
        id: &str,
        input: ConsentInput,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let (record, _, _) = self.load(id).await?;
        let doc = self.document(&record)?;
        if !self.sent_here(&doc) {
            return Err(invalid(
                "/reference",
                format!(
                    "request `{id}` was received here; consents are recorded by the requesting side"
                ),
            ));
        }
        let reference = input.reference.trim();
        if reference.is_empty() || reference.chars().count() > wire::MAX_TEXT_CHARS {
            return Err(invalid(
                "/reference",
                "give the providing State's reference for its consent",
            ));
        }
        if let Some(r) = &input.recipient {
            r.parse("/recipient")?;
        }
        let purpose = input
            .purpose
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        self.append_record(
            &record,
            Action::RecordConsent,
            None,
            serde_json::json!({
                "reference": reference,
                "purpose": purpose,
                "recipient": input.recipient,
            }),
            actor,
        )
        .await
    }

    /// Records a further use of the evidence if the conditions allow it or a consent covers it; otherwise refuses,
    /// with the finding, and records nothing.
    pub async fn record_onward_use(
        &self,
        id: &str,
        input: OnwardUseInput,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let (record, events, _) = self.load(id).await?;
        let doc = self.document(&record)?;
        if !self.sent_here(&doc) {
            return Err(invalid(
                "/purpose",
                format!(
                    "request `{id}` was received here; the conditions bind the requesting side"
                ),
            ));
        }
        if quarantined(&events) {
            return Err(ServiceError::Blocked(
                self.records_view(&doc, &events)
                    .quarantine
                    .map(|q| vec![q.finding])
                    .unwrap_or_default(),
            ));
        }
        let purpose = input.purpose.trim();
        if purpose.is_empty() || purpose.chars().count() > wire::MAX_TEXT_CHARS {
            return Err(invalid(
                "/purpose",
                "say for what the evidence would be used",
            ));
        }
        let recipient = input.recipient.parse("/recipient")?;
        let consents: Vec<Consent> = events
            .iter()
            .filter(|e| action_of(e) == Some(Action::RecordConsent))
            .map(|e| {
                let d = detail_of(e);
                Consent {
                    purpose: d["purpose"].as_str().map(str::to_owned),
                    recipient: serde_json::from_value::<RecipientInput>(d["recipient"].clone())
                        .ok()
                        .and_then(|r| r.parse("").ok()),
                    reference: d["reference"].as_str().unwrap_or_default().to_owned(),
                    given_at: e.at,
                }
            })
            .collect();
        let proposed = ProposedUse {
            purpose: purpose.to_owned(),
            recipient,
        };
        safeguards::check_onward_use(
            &conditions(&doc),
            &proposed,
            &consents,
            &self.safeguards.rules,
        )
        .map_err(|finding| ServiceError::Blocked(vec![FindingView::from(&finding)]))?;
        self.append_record(
            &record,
            Action::RecordOnwardUse,
            None,
            serde_json::json!({ "purpose": purpose, "recipient": input.recipient }),
            actor,
        )
        .await
    }

    /// Records notice given, or deferred with reasons and a review date.
    pub async fn record_notice(
        &self,
        id: &str,
        input: NoticeInput,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let (record, _, _) = self.load(id).await?;
        let now = self.clock.now();
        let detail = match input.status.as_str() {
            "given" => serde_json::json!({ "status": "given" }),
            "deferred" => {
                let review_text = input.review_on.as_deref().ok_or_else(|| {
                    invalid("/review_on", "a deferral needs a review date (RFC 3339)")
                })?;
                let review_on = parse_time("/review_on", review_text)?;
                let reason = input.reason.as_deref().unwrap_or_default();
                if reason.chars().count() > wire::MAX_TEXT_CHARS {
                    return Err(invalid(
                        "/reason",
                        format!("is longer than {} characters", wire::MAX_TEXT_CHARS),
                    ));
                }
                let status = NoticeStatus::deferred(reason, review_on, now).map_err(|e| {
                    let at = match e {
                        safeguards::NoticeError::NoReason => "/reason",
                        safeguards::NoticeError::ReviewNotAfterDecision { .. } => "/review_on",
                    };
                    invalid(at, e.to_string())
                })?;
                let NoticeStatus::Deferred { reason, review_on } = status else {
                    return Err(internal("a deferral is not deferred"));
                };
                serde_json::json!({
                    "status": "deferred",
                    "reason": reason,
                    "review_on": wire::rfc3339(review_on),
                })
            }
            other => {
                return Err(invalid(
                    "/status",
                    format!("`{other}` is not a notice status; use given or deferred"),
                ));
            }
        };
        // A deferral is indexed before its event, and a notice given unindexed after it: a crash in between leaves a
        // hint the reminders re-check against the events, never a deferral without its reminder.
        let index = format!("{NOTICE_INDEX}{id}");
        let review_on = detail["review_on"].as_str().map(str::to_owned);
        if let Some(review_on) = &review_on {
            self.store.set_meta(&index, review_on).await?;
        }
        let view = self
            .append_record(&record, Action::RecordNotice, None, detail, actor)
            .await?;
        if review_on.is_none() {
            self.store.delete_meta(&index).await?;
        }
        Ok(view)
    }

    /// Notice reviews that are due (from the lead time before their date) or overdue, soonest first.
    pub async fn notice_reminders(&self) -> Result<Vec<ReminderView>, ServiceError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for (key, _) in self.store.meta_with_prefix(NOTICE_INDEX).await? {
            let Some(id) = key.strip_prefix(NOTICE_INDEX) else {
                continue;
            };
            let Some((_, events)) = self.store.request_with_events(id).await? else {
                continue;
            };
            if let Some(status) = self.notice_status(&events)
                && let Some(r) = safeguards::notice_due(&status, &self.safeguards.rules, now)
            {
                out.push((
                    r.due,
                    ReminderView {
                        request_id: id.to_owned(),
                        due: wire::rfc3339(r.due),
                        overdue: r.overdue,
                        finding: FindingView::from(&r.finding),
                    },
                ));
            }
        }
        out.sort_by_key(|r| r.0);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Indexes a request sent as an emergency order awaiting validation, for the clock.
    pub(crate) async fn index_validation(
        &self,
        id: &str,
        due: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        Ok(self
            .store
            .set_meta(&format!("{VALIDATION_INDEX}{id}"), &wire::rfc3339(due))
            .await?)
    }

    /// Quarantines the requests whose emergency validation window closed without a validation. Returns their ids.
    pub async fn quarantine_lapsed(&self) -> Result<Vec<String>, ServiceError> {
        let now = self.clock.now();
        let window = self.safeguards.rules.emergency_validation.clone();
        let mut done = Vec::new();
        for (key, _) in self.store.meta_with_prefix(VALIDATION_INDEX).await? {
            let Some(id) = key.strip_prefix(VALIDATION_INDEX) else {
                continue;
            };
            let (record, events, _) = self.load(id).await?;
            let Some(issued) = validation_issued_at(&events) else {
                self.store.delete_meta(&key).await?;
                continue;
            };
            let status = safeguards::validation_status(
                &window,
                issued,
                validated(&events).map(|e| e.at),
                now,
            );
            if quarantined(&events) || matches!(status, ValidationStatus::Valid { .. }) {
                self.store.delete_meta(&key).await?;
                continue;
            }
            let Some(finding) = status.finding(&window) else {
                continue;
            };
            let view = FindingView::from(&finding);
            match self
                .append_record(
                    &record,
                    Action::Quarantine,
                    Some(finding.message.clone()),
                    serde_json::json!({ "finding": view }),
                    CLOCK_ACTOR,
                )
                .await
            {
                Ok(_) => {
                    self.store.delete_meta(&key).await?;
                    tracing::warn!(request = %id, "emergency order not validated in time: quarantined");
                    done.push(id.to_owned());
                }
                Err(ServiceError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}
