//! Safeguard records through the API: a judge's authorisation signed with their own key, the 48-hour validation of
//! an emergency order and the quarantine when it lapses, consent before onward use, and data-subject notice with its
//! reminder. Driven by a manual clock; failure paths change nothing.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::access::Role;
use comity_node::accounts::NewUser;
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::ManualClock;
use comity_node::sweeper::ClockSweeper;
use comity_seal::NodeSigningKey;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::Duration;
use tower::ServiceExt;

static CASES: AtomicU64 = AtomicU64::new(1);

const JUDGE_PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    _dir: tempfile::TempDir,
    node: Node,
    clock: Arc<ManualClock>,
}

async fn fixture(id: &str, state: &str, kind: AuthorityKind) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let params = InitParams {
        authority: AuthorityId::parse(id).unwrap(),
        state: IsoCountry::parse(state).unwrap(),
        kind,
        name: "Test authority".into(),
    };
    let now = time::macros::datetime!(2026-11-23 03:00 UTC);
    let mut node_dir = config::init(&dir, &params, now).await.unwrap();
    let operator = NodeSigningKey::generate();
    node_dir
        .pin_directory_operator(&operator.public_key())
        .unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let node = Node::open_with_clock(&dir, clock.clone()).unwrap();
    // A provider that takes orders directly (an EEV designated establishment), for the send gate's channel rules.
    let provider = DirectoryEntry {
        id: "de-hosting".into(),
        state: "DE".into(),
        kind: AuthorityKind::Provider.to_string(),
        name: "Example Hosting GmbH".into(),
        languages: vec!["de".into(), "en".into()],
        hours: "24/7".into(),
        on_call: String::new(),
        endpoint: "https://127.0.0.1:9".into(),
        signing_key: NodeSigningKey::generate().public_key().to_string(),
        age_recipient: comity_seal::keys::generate_age_identity("2026-11-23T00:00:00Z").1,
        tls_cert_sha256: None,
        declarations: String::new(),
        valid_from: "2026-01-01T00:00:00Z".into(),
        valid_until: "2027-12-31T00:00:00Z".into(),
        revoked: None,
        log_key: None,
    };
    let directory = DirectoryDocument {
        version: 1,
        issued_at: "2026-11-23T00:00:00Z".into(),
        operator: "test".into(),
        authorities: vec![
            DirectoryEntry {
                id: "br-central".into(),
                state: "BR".into(),
                kind: AuthorityKind::CentralAuthority.to_string(),
                name: "Brazil central authority".into(),
                ..provider.clone()
            },
            provider,
        ],
    };
    node.service
        .federation()
        .install_directory(&directory.sign(&operator))
        .unwrap();
    Fixture {
        _dir: tmp,
        node,
        clock,
    }
}

impl Fixture {
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.node.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(
                body.map(|b| Body::from(b.to_string()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        let resp = self.node.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, Some(body)).await
    }

    async fn get(&self, uri: &str) -> Value {
        let (s, v) = self.call("GET", uri, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    async fn user(&self, name: &str, role: Role, authority: &str) {
        self.node
            .service
            .accounts()
            .add(NewUser {
                username: name.into(),
                display_name: name.into(),
                role,
                authority: authority.into(),
                language: "en".into(),
                password: JUDGE_PASSWORD.into(),
            })
            .await
            .unwrap();
    }

    async fn draft(&self, doc: Value) -> String {
        let (s, c) = self
            .post(
                "/api/v1/cases",
                json!({"reference": format!("R-{}", CASES.fetch_add(1, Ordering::Relaxed)), "title": "t"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let (s, r) = self
            .post(
                "/api/v1/requests",
                json!({"case_id": c["id"], "document": doc}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        r["id"].as_str().unwrap().to_owned()
    }

    async fn step(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v1/requests/{id}/transitions"), body)
            .await
    }

    async fn version(&self, id: &str) -> u64 {
        self.get(&format!("/api/v1/requests/{id}")).await["version"]
            .as_u64()
            .unwrap()
    }

    async fn sign(&self, id: &str, decision: &str, judge: &str) -> String {
        self.node
            .service
            .sign_judicial_decision(id, decision, judge, JUDGE_PASSWORD)
            .await
            .unwrap()
    }
}

fn mla() -> Value {
    json!({
        "mechanism": "mla-stored-data",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "child-sexual-abuse-material", "national_provision": "Code pénal art. 227-23", "max_penalty_months": 84}],
        "summary_of_facts": "A child was extorted for images by an account hosted in Brazil.",
        "data_sought": [{"category": "content", "description": "Stored messages of the account",
                          "identifiers": [{"type": "account", "service": "Example Hosting", "account": "cust-4411"}]}],
        "relation_to_offence": "The messages are the extortion itself.",
        "necessity": "Only the host holds the messages.",
        "assistance_sought": "Search and seizure of the stored data.",
        "purpose": "Prosecution of the extortion.",
        "urgency": "urgent",
        "language": "en"
    })
}

/// An EEV emergency order for subscriber data, which an investigating authority may issue first and have a judge
/// validate afterwards.
fn eev_emergency() -> Value {
    json!({
        "mechanism": "emergency-disclosure",
        "requested_state": "DE",
        "addressee": "de-hosting",
        "instrument": "EEV",
        "offences": [{"catalogue_entry": "child-sexual-abuse-material", "national_provision": "CP 227-23", "max_penalty_months": 84}],
        "summary_of_facts": "A child is threatened by the holder of an account.",
        "data_sought": [{"category": "subscriber", "description": "Subscriber of the account",
                          "identifiers": [{"type": "account", "service": "Example Hosting", "account": "cust-9"}]}],
        "relation_to_offence": "The account sends the threats.",
        "necessity": "Only the provider knows who holds the account.",
        "urgency": "emergency",
        "emergency_justification": "Imminent threat to the life of a child.",
        "language": "de"
    })
}

#[tokio::test]
async fn only_a_judges_own_signature_authorises_and_only_for_this_document() {
    let f = fixture("fr-central", "FR", AuthorityKind::CentralAuthority).await;
    f.user("juge", Role::Judge, "fr-central").await;
    f.user("claire", Role::Caseworker, "fr-central").await;
    let id = f.draft(mla()).await;
    let other = f.draft(mla()).await;
    for r in [&id, &other] {
        let (s, v) = f
            .step(r, json!({"action": "submit-for-authorisation"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let before = f.version(&id).await;

    // No signature: refused with the way to get one.
    let (s, v) = f.step(&id, json!({"action": "authorise"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["pointer"], "/authorisation", "{v}");
    // The wrong password does not open the judge's key.
    let wrong = f
        .node
        .service
        .sign_judicial_decision(&id, "authorise", "juge", "not the password at all")
        .await;
    assert!(wrong.is_err());
    // A caseworker has no judicial key.
    let caseworker = f
        .node
        .service
        .sign_judicial_decision(&id, "authorise", "claire", JUDGE_PASSWORD)
        .await;
    assert!(format!("{:?}", caseworker.unwrap_err()).contains("not an active judge"));
    // A decision signed for another request is not reused here.
    let for_other = f.sign(&other, "authorise", "juge").await;
    let (s, v) = f
        .step(
            &id,
            json!({"action": "authorise", "authorisation": for_other}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A forged envelope: the payload swapped for this request keeps the other request's signature.
    let mut forged: Value = serde_json::from_str(&for_other).unwrap();
    let payload = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            forged["payload"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
    .replace(&other, &id);
    forged["payload"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        payload
    ));
    let (s, v) = f
        .step(
            &id,
            json!({"action": "authorise", "authorisation": forged.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("not the signature"), "{v}");
    // A signature made long ago is stale.
    let old = f.sign(&id, "authorise", "juge").await;
    f.clock.advance(Duration::hours(25));
    let (s, v) = f
        .step(&id, json!({"action": "authorise", "authorisation": old}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("sign it again"), "{v}");
    // A disabled judge no longer signs.
    f.node.service.accounts().disable("juge").await.unwrap();
    assert!(
        f.node
            .service
            .sign_judicial_decision(&id, "authorise", "juge", JUDGE_PASSWORD)
            .await
            .is_err()
    );
    assert_eq!(f.version(&id).await, before, "nothing was written");

    // Reset gives the judge a new key; the current one signs and the step records the judge and the decision.
    f.node
        .service
        .accounts()
        .reset("juge", JUDGE_PASSWORD.into())
        .await
        .unwrap();
    let signed = f.sign(&id, "authorise", "juge").await;
    let (s, v) = f
        .step(&id, json!({"action": "authorise", "authorisation": signed}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "authorise");
    assert_eq!(last["actor"], "juge", "the judge who signed is the actor");
}

#[tokio::test]
async fn an_emergency_order_not_validated_in_48_hours_is_quarantined() {
    let f = fixture("fr-judge", "FR", AuthorityKind::Judicial).await;
    f.user("juge", Role::Judge, "fr-judge").await;
    let lapsing = f.draft(eev_emergency()).await;
    let kept = f.draft(eev_emergency()).await;
    for id in [&lapsing, &kept] {
        let (s, v) = f
            .step(
                id,
                json!({"action": "send", "issuer": "investigating-authority"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["records"]["validation"]["status"], "pending", "{v}");
    }
    // Validation cannot go through the lifecycle route, nor without a judge's signature.
    let (s, _) = f.step(&kept, json!({"action": "validate"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let authorise_sig = f.sign(&kept, "authorise", "juge").await;
    let (s, v) = f
        .post(
            &format!("/api/v1/requests/{kept}/validations"),
            json!({"authorisation": authorise_sig}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an authorisation is not a validation: {v}"
    );

    f.clock.advance(Duration::hours(20));
    let signed = f.sign(&kept, "validate", "juge").await;
    let (s, v) = f
        .post(
            &format!("/api/v1/requests/{kept}/validations"),
            json!({"authorisation": signed}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"]["validation"]["status"], "valid", "{v}");
    assert_eq!(v["records"]["validation"]["validated_by"], "juge");
    assert_eq!(v["state"], "sent", "a record leaves the state as it is");

    let sweeper = ClockSweeper::new(
        f.node.service.clone(),
        "p1",
        std::time::Duration::from_secs(30),
    );
    let round = sweeper.round().await.unwrap();
    assert!(round.quarantined.is_empty(), "still within 48 hours");

    f.clock.advance(Duration::hours(29));
    let round = sweeper.round().await.unwrap();
    assert_eq!(round.quarantined, vec![lapsing.clone()]);
    let again = sweeper.round().await.unwrap();
    assert!(again.quarantined.is_empty(), "quarantined once");

    let v = f.get(&format!("/api/v1/requests/{lapsing}")).await;
    assert_eq!(v["records"]["validation"]["status"], "lapsed", "{v}");
    assert_eq!(
        v["records"]["quarantine"]["finding"]["code"],
        "validation.lapsed"
    );
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "quarantine");
    assert_eq!(last["actor"], comity_node::service::CLOCK_ACTOR);
    // A late validation does not lift it, and evidence under it may not be used further.
    let late = f.sign(&lapsing, "validate", "juge").await;
    let (s, _) = f
        .post(
            &format!("/api/v1/requests/{lapsing}/validations"),
            json!({"authorisation": late}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "recorded, too late");
    let v = f.get(&format!("/api/v1/requests/{lapsing}")).await;
    assert_eq!(v["records"]["validation"]["status"], "lapsed", "{v}");
    let (s, v) = f
        .post(
            &format!("/api/v1/requests/{lapsing}/onward-uses"),
            json!({"purpose": "Prosecution", "recipient": {"kind": "requesting-authority"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["findings"][0]["code"], "validation.lapsed", "{v}");

    // Nothing received under it is released.
    let (s, v) = f
        .call(
            "GET",
            &format!("/api/v1/requests/{lapsing}/evidence/ev-any"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::LOCKED, "{v}");

    let v = f.get(&format!("/api/v1/requests/{kept}")).await;
    assert!(v["records"]["quarantine"].is_null(), "{v}");
}

#[tokio::test]
async fn onward_use_needs_the_providing_states_consent() {
    let f = fixture("fr-central", "FR", AuthorityKind::CentralAuthority).await;
    f.user("juge", Role::Judge, "fr-central").await;
    let id = f.draft(mla()).await;
    f.step(&id, json!({"action": "submit-for-authorisation"}))
        .await;
    let signed = f.sign(&id, "authorise", "juge").await;
    let (s, v) = f
        .step(&id, json!({"action": "authorise", "authorisation": signed}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = f.step(&id, json!({"action": "send"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["records"]["conditions"]["speciality"],
        json!(["Prosecution of the extortion."])
    );
    let uses = format!("/api/v1/requests/{id}/onward-uses");

    // The stated purpose, by the requesting authority: allowed.
    let (s, v) = f
        .post(
            &uses,
            json!({"purpose": "Prosecution of the extortion.", "recipient": {"kind": "requesting-authority"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let before = f.version(&id).await;
    // Another purpose, another authority, a third State, publication: each refused with the reason, nothing written.
    for (body, why) in [
        (
            json!({"purpose": "Tax inspection", "recipient": {"kind": "requesting-authority"}}),
            "supplied only for",
        ),
        (
            json!({"purpose": "Prosecution of the extortion.", "recipient": {"kind": "other-authority", "authority": "fr-douane"}}),
            "needs consent",
        ),
        (
            json!({"purpose": "Prosecution of the extortion.", "recipient": {"kind": "third-state", "state": "US"}}),
            "always needs prior consent",
        ),
    ] {
        let (s, v) = f.post(&uses, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["findings"][0]["code"], "onward.consent-required", "{v}");
        assert!(
            v["findings"][0]["message"].as_str().unwrap().contains(why),
            "{v}"
        );
        assert!(!v["findings"][0]["citations"].as_array().unwrap().is_empty());
    }
    let (s, v) = f
        .post(
            &uses,
            json!({"purpose": "x", "recipient": {"kind": "third-state", "state": "Atlantis"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["pointer"], "/recipient/state", "{v}");
    assert_eq!(f.version(&id).await, before, "refusals write nothing");

    // Brazil consents to forwarding to the customs authority for the same proceedings.
    let (s, v) = f
        .post(
            &format!("/api/v1/requests/{id}/consents"),
            json!({"reference": "BR-DRCI-2026-118", "recipient": {"kind": "other-authority", "authority": "fr-douane"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = f
        .post(
            &uses,
            json!({"purpose": "Prosecution of the extortion.", "recipient": {"kind": "other-authority", "authority": "fr-douane"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"]["consents"][0]["reference"], "BR-DRCI-2026-118");
    assert_eq!(v["records"]["onward_uses"].as_array().unwrap().len(), 2);
    // The consent covers that recipient only.
    let (s, _) = f
        .post(
            &uses,
            json!({"purpose": "Prosecution of the extortion.", "recipient": {"kind": "other-authority", "authority": "fr-other"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn notice_deferred_with_a_review_date_is_reminded_before_it() {
    let f = fixture("fr-central", "FR", AuthorityKind::CentralAuthority).await;
    f.user("juge", Role::Judge, "fr-central").await;
    let id = f.draft(mla()).await;
    let notice = format!("/api/v1/requests/{id}/notice");
    // A draft holds no data: no notice to record yet.
    let (s, v) = f.post(&notice, json!({"status": "given"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    f.step(&id, json!({"action": "submit-for-authorisation"}))
        .await;
    let signed = f.sign(&id, "authorise", "juge").await;
    f.step(&id, json!({"action": "authorise", "authorisation": signed}))
        .await;
    let (s, _) = f.step(&id, json!({"action": "send"})).await;
    assert_eq!(s, StatusCode::OK);
    let before = f.version(&id).await;

    // A deferral needs reasons and a review date after today.
    for (body, pointer) in [
        (
            json!({"status": "deferred", "review_on": "2027-03-01T00:00:00Z"}),
            "/reason",
        ),
        (
            json!({"status": "deferred", "reason": "would alert the suspect"}),
            "/review_on",
        ),
        (
            json!({"status": "deferred", "reason": "would alert the suspect", "review_on": "2025-01-01T00:00:00Z"}),
            "/review_on",
        ),
        (
            json!({"status": "deferred", "reason": "x", "review_on": "next spring"}),
            "/review_on",
        ),
        (json!({"status": "forgotten"}), "/status"),
    ] {
        let (s, v) = f.post(&notice, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["errors"][0]["pointer"], pointer, "{v}");
    }
    assert_eq!(f.version(&id).await, before, "nothing written");

    let (s, v) = f
        .post(
            &notice,
            json!({"status": "deferred", "reason": "Notice would alert the suspect.", "review_on": "2027-02-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"]["notice"]["status"], "deferred");
    assert!(v["records"]["notice"]["reminder"].is_null(), "{v}");
    assert_eq!(f.get("/api/v1/reminders").await, json!([]));

    // Into the reminder's lead time before the review date: the request and the reminders list say so.
    f.clock.advance(Duration::days(58));
    assert_eq!(f.get("/api/v1/reminders").await, json!([]), "not yet");
    f.clock.advance(Duration::days(7));
    let reminders = f.get("/api/v1/reminders").await;
    assert_eq!(reminders.as_array().unwrap().len(), 1, "{reminders}");
    assert_eq!(reminders[0]["request_id"], id.as_str());
    assert_eq!(reminders[0]["overdue"], false);
    assert_eq!(reminders[0]["finding"]["code"], "notice.review-due");
    f.clock.advance(Duration::days(30));
    let reminders = f.get("/api/v1/reminders").await;
    assert_eq!(reminders[0]["finding"]["code"], "notice.review-overdue");

    // Notice given: no more reminder.
    let (s, v) = f.post(&notice, json!({"status": "given"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"]["notice"]["status"], "given");
    assert_eq!(f.get("/api/v1/reminders").await, json!([]));
}
