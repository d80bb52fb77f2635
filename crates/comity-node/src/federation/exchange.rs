//! The node's side of the exchange: the message a lifecycle step sends, accepting a message from another node, and
//! delivering the outbox.

use base64::Engine;
use comity_core::lifecycle::{self, Action, State};
use comity_seal::dsse::Envelope;
use comity_store::{
    Accepted, CaseRecord, EventRecord, InboxRecord, MessageEffect, OutboxRecord, RequestLink,
    RequestRecord, Transition,
};
use time::OffsetDateTime;

use super::directory::{self, Standing};
use super::message::{
    self, KIND_REQUEST, KIND_STATUS, MessagePayload, ReceiptPayload, Refusal, RequestBody,
    StatusBody,
};
use super::{ALLOWED_SKEW, backoff, security};
use crate::service::{NodeService, ServiceError, internal, invalid};
use crate::wire::{self, RequestInput};

/// Outgoing or incoming.
pub const OUTGOING: &str = "outgoing";
/// Incoming.
pub const INCOMING: &str = "incoming";

/// The answer to a message: whether it was stored, and the signed receipt to return.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Stored (now or before).
    pub accepted: bool,
    /// The signed receipt, JSON.
    pub receipt: Vec<u8>,
}

impl NodeService {
    fn build_message(
        &self,
        thread: &str,
        recipient: &str,
        kind: &str,
        prev: String,
        body: serde_json::Value,
        now: OffsetDateTime,
    ) -> (OutboxRecord, MessagePayload) {
        let payload = MessagePayload {
            message_id: format!("msg-{}", uuid::Uuid::now_v7()),
            thread: thread.to_owned(),
            kind: kind.to_owned(),
            sender: self.identity.authority.to_string(),
            recipient: recipient.to_owned(),
            created_at: wire::rfc3339(now),
            prev: prev.clone(),
            body,
        };
        let (_, bytes) = payload.seal(self.federation.key());
        let record = OutboxRecord {
            seq: 0,
            message_id: payload.message_id.clone(),
            recipient: recipient.to_owned(),
            thread: thread.to_owned(),
            envelope: String::from_utf8_lossy(&bytes).into_owned(),
            prev_hash: prev,
            envelope_hash: message::envelope_hash(&bytes),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            receipt: None,
            failed: None,
        };
        (record, payload)
    }

    /// The message a local step sends, and the link it creates: `send` routes the request through the directory;
    /// later steps on a linked request tell the other side. Without a directory, steps stay local.
    #[expect(clippy::too_many_arguments, reason = "the parts of one step")]
    pub(crate) async fn outgoing_message(
        &self,
        record: &RequestRecord,
        doc: &comity_core::request::RequestDocument,
        action: Action,
        reason: Option<&str>,
        grounds: &[String],
        recipient: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(Option<OutboxRecord>, Option<RequestLink>), ServiceError> {
        let Some(directory) = self.federation.directory() else {
            if recipient.is_some() {
                return Err(invalid(
                    "/recipient",
                    "this node holds no directory of authorities; load one first",
                ));
            }
            return Ok((None, None));
        };
        let link = self.store.link(&record.id).await?;
        let mechanism = self
            .catalogue
            .mechanism(&doc.mechanism)
            .ok_or_else(|| internal(format!("unknown mechanism `{}`", doc.mechanism)))?;
        match (action, link) {
            (Action::Send, None) => {
                let to = match recipient {
                    Some(id) => {
                        let a = directory.authority(id).ok_or_else(|| {
                            invalid("/recipient", format!("`{id}` is not in the directory (version {})", directory.version))
                        })?;
                        if a.standing(now) != Standing::Valid {
                            return Err(invalid("/recipient", format!("`{id}`'s key is revoked or expired in the directory")));
                        }
                        a
                    }
                    None => {
                        directory::route(&directory, doc.requested_state, mechanism, doc.addressee.as_deref(), now)
                            .ok_or_else(|| {
                                invalid(
                                    "/recipient",
                                    format!(
                                        "no authority of {} in the directory handles {}; name one with `recipient`",
                                        doc.requested_state, doc.mechanism
                                    ),
                                )
                            })?
                    }
                };
                let recipient = to.id.to_string();
                let case = self.store.case(&record.case_id).await?;
                let document: RequestInput =
                    serde_json::from_str(&record.document).map_err(internal)?;
                let body = RequestBody {
                    document,
                    requesting_state: self.identity.state.to_string(),
                    case_reference: case.map(|c| c.reference).unwrap_or_default(),
                };
                let prev = self.store.thread_head(&record.id, &recipient).await?;
                let (outbox, _) = self.build_message(
                    &record.id,
                    &recipient,
                    KIND_REQUEST,
                    prev,
                    serde_json::to_value(body).map_err(internal)?,
                    now,
                );
                let link = RequestLink {
                    request_id: record.id.clone(),
                    direction: OUTGOING.into(),
                    counterpart: recipient,
                    thread: record.id.clone(),
                    upstream: None,
                };
                Ok((Some(outbox), Some(link)))
            }
            (Action::Receive | Action::Close, _) | (_, None) => Ok((None, None)),
            (_, Some(link)) => {
                let body = StatusBody {
                    action: action.to_string(),
                    reason: reason.map(str::to_owned),
                    grounds: grounds.to_vec(),
                };
                let prev = self
                    .store
                    .thread_head(&link.thread, &link.counterpart)
                    .await?;
                let (outbox, _) = self.build_message(
                    &link.thread,
                    &link.counterpart,
                    KIND_STATUS,
                    prev,
                    serde_json::to_value(body).map_err(internal)?,
                    now,
                );
                Ok((Some(outbox), None))
            }
        }
    }

    /// Accepts (or refuses) a message from another node. The answer carries a signed receipt in both cases.
    pub async fn receive(&self, body: &[u8]) -> Answer {
        let now = self.clock.now();
        let hash = message::envelope_hash(body);
        match self.try_receive(body, &hash, now).await {
            Ok(answer) => answer,
            Err((refusal, claimed, detail)) => {
                let (sender, message_id) =
                    claimed.map_or((None, None), |(s, m)| (Some(s), Some(m)));
                tracing::warn!(
                    code = refusal.code(),
                    sender = sender.as_deref().unwrap_or("?"),
                    "message refused"
                );
                if let Err(e) = self
                    .store
                    .security_event(security(
                        now,
                        refusal.code(),
                        sender.as_deref(),
                        message_id.as_deref(),
                        detail.clone(),
                    ))
                    .await
                {
                    tracing::error!(error = %e, "cannot record a security event");
                }
                let receipt = ReceiptPayload {
                    message_id: message_id.unwrap_or_default(),
                    envelope_sha256: hash,
                    receiver: self.identity.authority.to_string(),
                    received_at: wire::rfc3339(now),
                    accepted: false,
                    reason_code: Some(refusal.code().to_owned()),
                    detail: Some(detail),
                };
                Answer {
                    accepted: false,
                    receipt: receipt.sign(self.federation.key()).to_json(),
                }
            }
        }
    }

    async fn try_receive(
        &self,
        body: &[u8],
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Answer, (Refusal, Option<(String, String)>, String)> {
        let env = Envelope::from_json(body)
            .map_err(|_| (Refusal::Malformed, None, "not a DSSE envelope".to_owned()))?;
        let claimed = message::unverified_payload(&env).ok_or((
            Refusal::Malformed,
            None,
            "the payload is not a comity message".to_owned(),
        ))?;
        let who = Some((claimed.sender.clone(), claimed.message_id.clone()));
        let refuse = |r: Refusal, detail: String| (r, who.clone(), detail);
        let directory = self.federation.directory().ok_or_else(|| {
            refuse(
                Refusal::NoDirectory,
                "this node holds no directory of authorities".into(),
            )
        })?;
        if claimed.recipient != self.identity.authority.as_str() {
            return Err(refuse(
                Refusal::WrongRecipient,
                format!(
                    "this node is `{}`, not `{}`",
                    self.identity.authority, claimed.recipient
                ),
            ));
        }
        let sender = directory.authority(&claimed.sender).ok_or_else(|| {
            refuse(
                Refusal::UnknownSender,
                format!(
                    "`{}` is not in directory version {}",
                    claimed.sender, directory.version
                ),
            )
        })?;
        match sender.standing(now) {
            Standing::Valid => {}
            Standing::Revoked => {
                return Err(refuse(
                    Refusal::RevokedKey,
                    format!("`{}`'s key is revoked", claimed.sender),
                ));
            }
            Standing::Expired => {
                return Err(refuse(
                    Refusal::ExpiredKey,
                    format!("`{}`'s key is not valid now", claimed.sender),
                ));
            }
        }
        let payload = env
            .verify(&message::payload_type(&claimed.kind), &sender.signing_key)
            .map_err(|_| {
                refuse(
                    Refusal::BadSignature,
                    "the signature does not verify with the sender's key".into(),
                )
            })?;
        let msg: MessagePayload = serde_json::from_slice(&payload)
            .map_err(|_| refuse(Refusal::Malformed, "unreadable payload".into()))?;
        let created = OffsetDateTime::parse(
            &msg.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| refuse(Refusal::Malformed, "created_at is not RFC 3339".into()))?;
        if (created - now).abs() > ALLOWED_SKEW {
            return Err(refuse(
                Refusal::ClockSkew,
                format!(
                    "created at {}, more than 5 minutes from {}",
                    msg.created_at,
                    wire::rfc3339(now)
                ),
            ));
        }
        if let Some(seen) = self
            .store
            .inbox(&msg.message_id)
            .await
            .map_err(|e| refuse(Refusal::Malformed, e.to_string()))?
        {
            if seen.envelope_sha256 == hash {
                return Ok(Answer {
                    accepted: true,
                    receipt: seen.receipt.into_bytes(),
                });
            }
            return Err(refuse(
                Refusal::ReusedId,
                format!(
                    "message id `{}` was used before for other content",
                    msg.message_id
                ),
            ));
        }
        let effect = self
            .effect_of(&msg, hash, now)
            .await
            .map_err(|(r, d)| refuse(r, d))?;
        let receipt = ReceiptPayload {
            message_id: msg.message_id.clone(),
            envelope_sha256: hash.to_owned(),
            receiver: self.identity.authority.to_string(),
            received_at: wire::rfc3339(now),
            accepted: true,
            reason_code: None,
            detail: None,
        };
        let receipt =
            String::from_utf8_lossy(&receipt.sign(self.federation.key()).to_json()).into_owned();
        let inbox = InboxRecord {
            message_id: msg.message_id.clone(),
            sender: msg.sender.clone(),
            thread: msg.thread.clone(),
            envelope_sha256: hash.to_owned(),
            prev_hash: msg.prev.clone(),
            receipt: receipt.clone(),
            received_at: now,
        };
        match self.store.accept_message(inbox, effect).await {
            Ok(Accepted::New) => {
                tracing::info!(kind = %msg.kind, sender = %msg.sender, thread = %msg.thread, "message accepted");
                // Stored and acknowledged whatever happens here; a failed append is made good by the next catch-up.
                if let Ok(Some(link)) = self.store.link_by_thread(&msg.thread, &msg.sender).await
                    && let Err(e) = self.log_unlogged_of(&link.request_id).await
                {
                    tracing::warn!(request = %link.request_id, error = %e, "received events not yet logged");
                }
                Ok(Answer {
                    accepted: true,
                    receipt: receipt.into_bytes(),
                })
            }
            Ok(Accepted::Duplicate(seen)) if seen.envelope_sha256 == hash => Ok(Answer {
                accepted: true,
                receipt: seen.receipt.into_bytes(),
            }),
            Ok(Accepted::Duplicate(_)) => Err(refuse(
                Refusal::ReusedId,
                "message id used before for other content".into(),
            )),
            Err(comity_store::StoreError::Conflict { .. }) => Err(refuse(
                Refusal::BrokenThread,
                "the previous-message hash is not the head of this thread here".into(),
            )),
            Err(e) => Err(refuse(
                Refusal::InvalidStep,
                format!("cannot apply the message: {e}"),
            )),
        }
    }

    async fn effect_of(
        &self,
        msg: &MessagePayload,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<MessageEffect, (Refusal, String)> {
        match msg.kind.as_str() {
            KIND_REQUEST => {
                if !msg.prev.is_empty() {
                    return Err((
                        Refusal::BrokenThread,
                        "a request opens a thread; it cannot follow another message".into(),
                    ));
                }
                let body: RequestBody = serde_json::from_value(msg.body.clone())
                    .map_err(|e| (Refusal::Malformed, format!("request body: {e}")))?;
                let author = body
                    .document
                    .requesting_authority
                    .as_deref()
                    .and_then(|a| comity_core::AuthorityId::parse(a).ok())
                    .ok_or((
                        Refusal::Malformed,
                        "the document names no requesting authority".into(),
                    ))?;
                let doc = body
                    .document
                    .into_document(&author, &self.catalogue)
                    .map_err(|problems| {
                        (
                            Refusal::Malformed,
                            problems
                                .iter()
                                .map(|p| format!("{} {}", p.pointer, p.message))
                                .collect::<Vec<_>>()
                                .join("; "),
                        )
                    })?;
                let mechanism = self
                    .catalogue
                    .mechanism(&doc.mechanism)
                    .ok_or((Refusal::Malformed, "unknown mechanism".into()))?;
                let case_key = message::envelope_hash(
                    format!("{}\n{}", msg.sender, body.case_reference).as_bytes(),
                );
                let case = CaseRecord {
                    id: format!("case-in-{}", &case_key[..24]),
                    reference: format!("{}/{}", msg.sender, body.case_reference),
                    title: format!("Incoming from {}: {}", msg.sender, body.case_reference),
                    created_by: format!("remote:{}", msg.sender),
                    created_at: now,
                };
                let id = format!("req-{}", uuid::Uuid::now_v7());
                let stored = serde_json::to_string(&wire::document_to_input(&doc))
                    .map_err(|e| (Refusal::Malformed, e.to_string()))?;
                let sent_at = OffsetDateTime::parse(
                    &msg.created_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap_or(now);
                let event = |seq: u64,
                             action: Action,
                             from: State,
                             to: State,
                             actor: String,
                             at: OffsetDateTime| EventRecord {
                    request_id: id.clone(),
                    seq,
                    action: action.to_string(),
                    from_state: from.to_string(),
                    to_state: to.to_string(),
                    actor,
                    at,
                    reason: None,
                    detail: "{}".into(),
                };
                let rules = mechanism.lifecycle_rules();
                // The requester's own authorisation and sending happened there; here the request arrives as sent.
                let mut events = Vec::new();
                let mut state = State::Draft;
                let mut steps = vec![(
                    Action::Send,
                    format!("remote:{}", msg.sender),
                    sent_at.min(now),
                )];
                if rules.authorisation_required {
                    steps.splice(
                        0..0,
                        [
                            (
                                Action::SubmitForAuthorisation,
                                format!("remote:{}", msg.sender),
                                sent_at.min(now),
                            ),
                            (
                                Action::Authorise,
                                format!("remote:{}", msg.sender),
                                sent_at.min(now),
                            ),
                        ],
                    );
                }
                steps.push((
                    Action::Receive,
                    format!("node:{}", self.identity.authority),
                    now,
                ));
                for (i, (action, actor, at)) in steps.into_iter().enumerate() {
                    let to = lifecycle::next(rules, state, action)
                        .ok_or((Refusal::InvalidStep, format!("`{action}` from `{state}`")))?;
                    events.push(event(i as u64 + 1, action, state, to, actor, at));
                    state = to;
                }
                if let Some(received) = events.last_mut() {
                    // The receiver logs the digest of the envelope, as the sender does: the two logs reconcile.
                    received.detail = serde_json::json!({ "message": hash }).to_string();
                }
                let entered = crate::service::entered_states(&events);
                let next_due = crate::service::next_due(mechanism, &doc, &entered);
                Ok(MessageEffect::NewRequest {
                    case: Some(case.clone()),
                    request: RequestRecord {
                        id: id.clone(),
                        case_id: case.id,
                        mechanism: doc.mechanism.clone(),
                        state: State::Draft.to_string(),
                        document: stored,
                        urgency: doc.urgency.to_string(),
                        created_by: format!("remote:{}", msg.sender),
                        created_at: now,
                        updated_at: now,
                        next_due: None,
                        version: 0,
                    },
                    link: RequestLink {
                        request_id: id,
                        direction: INCOMING.into(),
                        counterpart: msg.sender.clone(),
                        thread: msg.thread.clone(),
                        upstream: None,
                    },
                    events,
                    next_due,
                })
            }
            KIND_STATUS => {
                let body: StatusBody = serde_json::from_value(msg.body.clone())
                    .map_err(|e| (Refusal::Malformed, format!("status body: {e}")))?;
                let link = self
                    .store
                    .link_by_thread(&msg.thread, &msg.sender)
                    .await
                    .map_err(|e| (Refusal::Malformed, e.to_string()))?
                    .ok_or((
                        Refusal::BrokenThread,
                        format!(
                            "no request here belongs to thread `{}` with `{}`",
                            msg.thread, msg.sender
                        ),
                    ))?;
                let action: Action = body
                    .action
                    .parse()
                    .map_err(|e: lifecycle::UnknownName| (Refusal::Malformed, e.to_string()))?;
                let change = self
                    .remote_step(
                        &link.request_id,
                        action,
                        body.reason,
                        body.grounds,
                        &msg.sender,
                        now,
                    )
                    .await
                    .map_err(|e| (Refusal::InvalidStep, e.to_string()))?;
                Ok(MessageEffect::Step(Box::new(change)))
            }
            other => Err((
                Refusal::Malformed,
                format!("unknown message kind `{other}`"),
            )),
        }
    }

    /// A step taken by the other side, mirrored here: checked against the lifecycle, never sent back.
    async fn remote_step(
        &self,
        request_id: &str,
        action: Action,
        reason: Option<String>,
        grounds: Vec<String>,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Transition, ServiceError> {
        let (record, events, mechanism) = self.load(request_id).await?;
        let state: State = record
            .state
            .parse()
            .map_err(|e: lifecycle::UnknownName| internal(e))?;
        let to = lifecycle::apply(
            mechanism.lifecycle_rules(),
            state,
            action,
            reason.as_deref(),
        )
        .map_err(internal)?;
        let doc = self.document(&record)?;
        let at = now.max(record.updated_at);
        let mut entered = crate::service::entered_states(&events);
        entered.push((to, at));
        let next_due = crate::service::next_due(mechanism, &doc, &entered);
        Ok(Transition {
            event: EventRecord {
                request_id: record.id.clone(),
                seq: record.version + 1,
                action: action.to_string(),
                from_state: state.to_string(),
                to_state: to.to_string(),
                actor: format!("remote:{by}"),
                at,
                reason,
                detail: serde_json::json!({ "grounds": grounds }).to_string(),
            },
            expected_version: record.version,
            next_due,
            document: None,
            outbox: None,
            link: None,
        })
    }

    /// Delivers messages due now; returns when the next attempt is due.
    ///
    /// The messages are claimed first ([`comity_store::Store::claim_outbox`]), so that of several processes serving
    /// this node each message goes to one. A claim lasts [`super::CLAIM_TTL`], longer than one delivery may take
    /// (the messages of a claim go out at once, each bounded by the client's timeout); if this process dies holding
    /// it, another claims the message once it runs out and sends it again, and the receiver answers that duplicate
    /// with the receipt it stored the first time.
    pub async fn deliver_due(&self) -> Result<Option<OffsetDateTime>, ServiceError> {
        let now = self.clock.now();
        let ttl_ms = u64::try_from(super::CLAIM_TTL.whole_milliseconds()).unwrap_or(u64::MAX);
        let due = self
            .store
            .claim_outbox(now, self.federation.deliverer(), ttl_ms, super::CLAIM_BATCH)
            .await?;
        // Claimed messages are heads of distinct threads: sending them at once keeps each thread in order.
        let mut sends = tokio::task::JoinSet::new();
        for m in due {
            let service = self.clone();
            sends.spawn(async move { service.deliver(m, now).await });
        }
        let mut failed = None;
        while let Some(sent) = sends.join_next().await {
            match sent {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed = Some(e),
                Err(e) => failed = Some(internal(e)),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(self.store.next_outbox_attempt().await?)
    }

    async fn deliver(&self, m: OutboxRecord, now: OffsetDateTime) -> Result<(), ServiceError> {
        let Some(directory) = self.federation.directory() else {
            self.retry(&m, now, "no directory".into()).await?;
            return Ok(());
        };
        let Some(to) = directory.authority(&m.recipient) else {
            self.retry(
                &m,
                now,
                format!("`{}` is not in the directory", m.recipient),
            )
            .await?;
            return Ok(());
        };
        let url = format!("{}/federation/v1/messages", to.endpoint);
        let client = match self.federation.client_for(to) {
            Ok(c) => c,
            Err(e) => {
                self.retry(&m, now, e).await?;
                return Ok(());
            }
        };
        let sent = client
            .post(&url)
            .header("content-type", "application/json")
            .body(m.envelope.clone())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.retry(&m, now, format!("cannot reach {url}: {}", error_chain(&e)))
                    .await?;
                return Ok(());
            }
        };
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let receipt = Envelope::from_json(&bytes)
            .ok()
            .and_then(|env| ReceiptPayload::verify(&env, &to.signing_key));
        let expected_hash = message::envelope_hash(m.envelope.as_bytes());
        match receipt {
            Some(r)
                if r.accepted
                    && r.message_id == m.message_id
                    && r.envelope_sha256 == expected_hash =>
            {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.store.outbox_delivered(m.seq, &text, now).await?;
                tracing::info!(message = %m.message_id, recipient = %m.recipient, "delivered");
                if let Err(e) = self.want_receiver_proof(&m).await {
                    tracing::warn!(message = %m.message_id, error = %e, "cannot note the receiver's log proof as wanted");
                }
                self.after_delivery(&m, &r).await;
            }
            Some(r) if !r.accepted && r.envelope_sha256 == expected_hash => {
                let code = r.reason_code.clone().unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.store
                    .outbox_failed(
                        m.seq,
                        &format!("{code}: {}", r.detail.unwrap_or_default()),
                        &text,
                    )
                    .await?;
                self.store
                    .security_event(security(
                        now,
                        &format!("refused-by-recipient:{code}"),
                        Some(&m.recipient),
                        Some(&m.message_id),
                        "the recipient refused our message with a signed receipt".into(),
                    ))
                    .await?;
            }
            _ => {
                self.retry(
                    &m,
                    now,
                    format!(
                        "no valid signed receipt from `{}` (HTTP {status})",
                        m.recipient
                    ),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn retry(
        &self,
        m: &OutboxRecord,
        now: OffsetDateTime,
        error: String,
    ) -> Result<(), comity_store::StoreError> {
        let jitter =
            f64::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng)) / f64::from(u32::MAX);
        let next = now + backoff(m.attempts, jitter);
        tracing::warn!(message = %m.message_id, recipient = %m.recipient, attempt = m.attempts + 1, %error, "delivery failed; will retry");
        self.store.outbox_retry(m.seq, &error, next).await
    }

    /// A delivered request is received there: the signed receipt is the proof, and the local copy moves on.
    async fn after_delivery(&self, m: &OutboxRecord, receipt: &ReceiptPayload) {
        let Ok(env) = Envelope::from_json(m.envelope.as_bytes()) else {
            return;
        };
        let Some(payload) = message::unverified_payload(&env) else {
            return;
        };
        if payload.kind != KIND_REQUEST {
            return;
        }
        let Ok(Some(link)) = self.store.link_by_thread(&m.thread, &m.recipient).await else {
            return;
        };
        let now = OffsetDateTime::parse(
            &receipt.received_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| self.clock.now());
        match self
            .remote_step(
                &link.request_id,
                Action::Receive,
                None,
                Vec::new(),
                &m.recipient,
                now,
            )
            .await
        {
            Ok(change) => {
                if let Err(e) = self.store.transition(change).await {
                    tracing::warn!(error = %e, request = %link.request_id, "cannot record the receipt as received");
                } else if let Err(e) = self.log_unlogged_of(&link.request_id).await {
                    tracing::warn!(error = %e, request = %link.request_id, "receipt event not yet logged");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, request = %link.request_id, "receipt does not fit the request's state")
            }
        }
    }

    /// Forwards an incoming request to another authority (a 24/7 point to a domestic provider): a new outgoing request
    /// in the same case, carrying the same document, sent at once; its replies arrive on that request.
    pub async fn forward(
        &self,
        id: &str,
        recipient: &str,
        actor: &str,
    ) -> Result<crate::wire::RequestView, ServiceError> {
        let (record, _, mechanism) = self.load(id).await?;
        let link = self.store.link(id).await?.filter(|l| l.direction == INCOMING).ok_or_else(|| {
            invalid("/id", format!("request `{id}` was not received from another authority; only received requests are forwarded"))
        })?;
        if mechanism.authorisation_required {
            return Err(invalid(
                "/id",
                format!(
                    "{} needs a judicial authorisation here; open a domestic request instead of forwarding",
                    mechanism.id
                ),
            ));
        }
        let now = self.clock.now();
        let copy = RequestRecord {
            id: format!("req-{}", uuid::Uuid::now_v7()),
            created_by: actor.to_owned(),
            created_at: now,
            updated_at: now,
            state: State::Draft.to_string(),
            next_due: None,
            version: 0,
            ..record.clone()
        };
        self.store.create_request(copy.clone()).await?;
        let doc = self.document(&copy)?;
        let (outbox, mut new_link) = self
            .outgoing_message(&copy, &doc, Action::Send, None, &[], Some(recipient), now)
            .await?;
        if let Some(l) = new_link.as_mut() {
            l.upstream = Some(link.request_id.clone());
        }
        let to = lifecycle::apply(
            mechanism.lifecycle_rules(),
            State::Draft,
            Action::Send,
            None,
        )
        .map_err(internal)?;
        self.store
            .transition(Transition {
                event: EventRecord {
                    request_id: copy.id.clone(),
                    seq: 1,
                    action: Action::Send.to_string(),
                    from_state: State::Draft.to_string(),
                    to_state: to.to_string(),
                    actor: actor.to_owned(),
                    at: now,
                    reason: Some(format!(
                        "forwarded from request {id} of {}",
                        link.counterpart
                    )),
                    detail: "{}".into(),
                },
                expected_version: 0,
                next_due: None,
                document: None,
                outbox,
                link: new_link,
            })
            .await?;
        self.federation.notify();
        self.request(&copy.id).await
    }
}

/// Decodes an envelope's payload for display, without trusting it.
pub fn payload_text(envelope: &str) -> Option<String> {
    let env = Envelope::from_json(envelope.as_bytes()).ok()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env.payload)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// An error with its causes, so that a refused certificate says so rather than "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
