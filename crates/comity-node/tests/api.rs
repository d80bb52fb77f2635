//! The HTTP API at two depths: the router called directly, and a real listener on port 0.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_node::server::Node;
use comity_node::service::ManualClock;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    node: Node,
    clock: Arc<ManualClock>,
}

async fn fixture() -> Fixture {
    fixture_as("fr-247", AuthorityKind::ContactPoint).await
}

async fn fixture_as(id: &str, kind: AuthorityKind) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let params = InitParams {
        authority: AuthorityId::parse(id).unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind,
        name: "Test authority".into(),
    };
    let now = time::macros::datetime!(2026-11-23 03:00 UTC);
    config::init(&dir, &params, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let node = Node::open_with_clock(&dir, clock.clone()).unwrap();
    Fixture {
        _dir: tmp,
        dir,
        node,
        clock,
    }
}

impl Fixture {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> (StatusCode, Value, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.node.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, content_type);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.node.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, ctype)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.send("GET", uri, None, "").await;
        (s, v)
    }

    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .send(
                "POST",
                uri,
                Some(body.to_string().into_bytes()),
                "application/json",
            )
            .await;
        (s, v)
    }

    async fn case(&self) -> String {
        let (s, v) = self
            .post(
                "/api/v1/cases",
                json!({"reference": "R-1", "title": "Test case"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    async fn request_count(&self) -> usize {
        let (_, v) = self.get("/api/v1/requests").await;
        v["requests"].as_array().unwrap().len()
    }
}

fn preservation() -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs",
            "identifiers": [{"type": "ip-address", "address": "2001:db8::1", "observed_at": "2026-11-20T03:14:00-03:00"},
                            {"type": "phone", "number": "+5511987654321"}]}],
        "relation_to_offence": "origin of the intrusion",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire",
        "follow_up_mla_intent": true,
        "language": "en"
    })
}

#[tokio::test]
async fn health_and_openapi_are_public_and_describe_every_route() {
    let f = fixture().await;
    let req = Request::get("/healthz").body(Body::empty()).unwrap();
    assert_eq!(
        f.node.router().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    let req = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let resp = f.node.router().oneshot(req).await.unwrap();
    let doc: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/openapi.json",
        "/api/v1/node",
        "/api/v1/mechanisms",
        "/api/v1/mechanisms/{id}",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/requests",
        "/api/v1/requests/{id}",
        "/api/v1/requests/{id}/transitions",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
    }
    assert!(doc["components"]["schemas"]["RequestInput"].is_object());
}

#[tokio::test]
async fn the_api_needs_the_token() {
    let f = fixture().await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = Request::get("/api/v1/mechanisms");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = f
            .node
            .router()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn mechanisms_carry_citations_with_their_verification_tags() {
    let f = fixture().await;
    let (s, v) = f.get("/api/v1/mechanisms").await;
    assert_eq!(s, StatusCode::OK);
    let preservation = v["mechanisms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "expedited-preservation")
        .unwrap();
    let bc = preservation["citations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["instrument"] == "BC")
        .unwrap();
    assert_eq!(
        (bc["article"].as_str(), bc["verification"].as_str()),
        (Some("29"), Some("V"))
    );
    let uncc = preservation["citations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["instrument"] == "UNCC")
        .unwrap();
    assert_eq!(uncc["verification_meaning"], "unverified");
    assert_eq!(v["excluded_grounds"].as_array().unwrap().len(), 2);
    let (s, _) = f.get("/api/v1/mechanisms/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_request_goes_from_draft_to_closed_and_state_follows_the_events() {
    let f = fixture().await;
    let case = f.case().await;
    let (s, r) = f
        .post(
            "/api/v1/requests",
            json!({"case_id": case, "document": preservation()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "draft");
    assert_eq!(r["document"]["requesting_authority"], "fr-247");
    assert_eq!(
        r["document"]["data_sought"][0]["identifiers"][0]["observed_at"],
        "2026-11-20T03:14:00-03:00"
    );
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/transitions");
    for action in ["send", "receive", "preserve", "extend"] {
        f.clock.advance(time::Duration::hours(1));
        let (s, v) = f.post(&path, json!({"action": action})).await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
    }
    let (_, shown) = f.get(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(shown["state"], "extended");
    assert_eq!(shown["version"], 4);
    assert_eq!(shown["events"].as_array().unwrap().len(), 4);
    assert_eq!(shown["clocks"][0]["id"], "preservation-minimum");
    assert_eq!(shown["clocks"][0]["due_at"], "2027-01-22T06:00:00Z");
    assert_eq!(
        shown["allowed_actions"],
        json!(["release", "expire", "supersede", "withdraw"])
    );
    let (s, v) = f
        .post(&path, json!({"action": "release", "expected_version": 4}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = f.post(&path, json!({"action": "close"})).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("closed")));
    assert_eq!(v["allowed_actions"], json!([]));
}

#[tokio::test]
async fn due_list_orders_by_the_soonest_clock() {
    let f = fixture_as("fr-judge", AuthorityKind::Judicial).await;
    let case = f.case().await;
    let password = "the judge's own passphrase";
    f.node
        .service
        .accounts()
        .add(comity_node::accounts::NewUser {
            username: "juge".into(),
            display_name: "Juge".into(),
            role: comity_node::access::Role::Judge,
            authority: "fr-judge".into(),
            language: "fr".into(),
            password: password.into(),
        })
        .await
        .unwrap();
    let mut order = Vec::new();
    for (instrument, urgency) in [("EEV", "normal"), ("EEV", "emergency")] {
        let mut doc = preservation();
        doc["mechanism"] = json!("production-order");
        doc["instrument"] = json!(instrument);
        doc["urgency"] = json!(urgency);
        doc["addressee"] = json!("Example Hosting GmbH");
        doc["requested_state"] = json!("DE");
        doc["language"] = json!("de");
        if urgency == "emergency" {
            doc["emergency_justification"] = json!("a child is missing");
        }
        let (s, r) = f
            .post(
                "/api/v1/requests",
                json!({"case_id": case, "document": doc}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let id = r["id"].as_str().unwrap().to_owned();
        for action in ["submit-for-authorisation", "authorise", "send", "receive"] {
            let mut body = json!({"action": action});
            if action == "authorise" {
                body["authorisation"] = json!(
                    f.node
                        .service
                        .sign_judicial_decision(&id, action, "juge", password)
                        .await
                        .unwrap()
                );
            }
            let (s, v) = f
                .post(&format!("/api/v1/requests/{id}/transitions"), body)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        order.push(id);
    }
    let (_, due) = f.get("/api/v1/requests?due=true").await;
    let ids: Vec<_> = due["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        vec![order[1].clone(), order[0].clone()],
        "the 8-hour emergency order comes first"
    );
    assert_eq!(due["requests"][0]["next_due"], "2026-11-23T11:00:00Z");
}

#[tokio::test]
async fn bad_bodies_get_problem_documents_and_write_nothing() {
    let f = fixture().await;
    let case = f.case().await;
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            "unknown field",
            json!({"case_id": case, "document": {"colour": "red"}})
                .to_string()
                .into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/document/colour",
        ),
        (
            "wrong type",
            {
                let mut d = preservation();
                d["offences"][0]["max_penalty_months"] = json!("five years");
                json!({"case_id": case, "document": d})
                    .to_string()
                    .into_bytes()
            },
            "application/json",
            StatusCode::BAD_REQUEST,
            "/document/offences/0/max_penalty_months",
        ),
        (
            "not utf-8",
            b"{\"case_id\": \"\xff\xfe\"}".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "not json",
            b"case_id=1".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "trailing garbage",
            format!(
                "{} {{}}",
                json!({"case_id": case, "document": preservation()})
            )
            .into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "wrong media type",
            json!({"case_id": case, "document": preservation()})
                .to_string()
                .into_bytes(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "",
        ),
        (
            "too large",
            {
                let mut d = preservation();
                d["summary_of_facts"] = json!("x".repeat(300 * 1024));
                json!({"case_id": case, "document": d})
                    .to_string()
                    .into_bytes()
            },
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
    ];
    for (what, body, ctype, want, pointer) in cases {
        let (s, v, ct) = f.send("POST", "/api/v1/requests", Some(body), ctype).await;
        assert_eq!(s, want, "{what}: {v}");
        assert_eq!(ct, "application/problem+json", "{what}");
        assert_eq!(v["status"], want.as_u16(), "{what}");
        assert!(
            v["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:comity:problem:"),
            "{what}"
        );
        if !pointer.is_empty() {
            assert_eq!(v["errors"][0]["pointer"], pointer, "{what}: {v}");
        }
    }
    assert_eq!(f.request_count().await, 0);
}

#[tokio::test]
async fn every_bad_field_is_listed_at_once() {
    let f = fixture().await;
    let case = f.case().await;
    let mut d = preservation();
    d["requested_state"] = json!("XX");
    d["offences"][0]["catalogue_entry"] = json!("insulting-the-head-of-state");
    d["data_sought"][0]["identifiers"][0]["address"] = json!("300.1.1.1");
    d["data_sought"][0]["identifiers"][0]["observed_at"] = json!("yesterday");
    d["data_sought"][0]["identifiers"][1]["number"] = json!("0612");
    d["data_sought"][0]["category"] = json!("thoughts");
    d["language"] = json!("English");
    d["urgency"] = json!("asap");
    let (s, v) = f
        .post("/api/v1/requests", json!({"case_id": case, "document": d}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let pointers: Vec<_> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/document/data_sought/0/category",
            "/document/data_sought/0/identifiers/0/address",
            "/document/data_sought/0/identifiers/0/observed_at",
            "/document/data_sought/0/identifiers/1/number",
            "/document/language",
            "/document/offences/0/catalogue_entry",
            "/document/requested_state",
            "/document/urgency",
        ]
    );
    let (s, v) = f
        .post(
            "/api/v1/requests",
            json!({"case_id": "case-none", "document": preservation()}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/case_id"))
    );
    assert_eq!(f.request_count().await, 0);
}

#[tokio::test]
async fn refused_steps_explain_themselves_and_change_nothing() {
    let f = fixture().await;
    let case = f.case().await;
    let mut incomplete = preservation();
    incomplete["necessity"] = Value::Null;
    incomplete["follow_up_mla_intent"] = json!(false);
    let (_, r) = f
        .post(
            "/api/v1/requests",
            json!({"case_id": case, "document": incomplete}),
        )
        .await;
    assert_eq!(
        r["missing_fields"],
        json!(["necessity", "follow_up_mla_intent"])
    );
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/transitions");

    let (s, v) = f.post(&path, json!({"action": "send"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["pointer"], "/document/necessity");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("BC Art 29 [V]"),
        "{v}"
    );

    let (s, v) = f.post(&path, json!({"action": "execute"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["state"], "draft");
    assert_eq!(
        v["allowed_actions"],
        json!(["submit-for-authorisation", "send", "withdraw"])
    );
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("the request is `draft`")
    );

    let (s, v) = f.post(&path, json!({"action": "approve"})).await;
    assert_eq!(
        (s, v["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/action"))
    );
    let (s, v) = f.post(&path, json!({"action": "withdraw"})).await;
    assert_eq!(
        (s, v["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/reason"))
    );
    let (s, _) = f
        .post(
            &path,
            json!({"action": "withdraw", "reason": "x", "expected_version": 7}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (_, shown) = f.get(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(
        (shown["state"].as_str(), shown["version"].as_u64()),
        (Some("draft"), Some(0))
    );
}

#[tokio::test]
async fn refusals_need_open_grounds_and_never_fiscal_or_bank_secrecy() {
    let f = fixture_as("fr-central", AuthorityKind::CentralAuthority).await;
    let case = f.case().await;
    let mut doc = preservation();
    doc["mechanism"] = json!("mla-general");
    doc["assistance_sought"] = json!("hearing of a witness");
    doc["purpose"] = json!("trial");
    let (_, r) = f
        .post(
            "/api/v1/requests",
            json!({"case_id": case, "document": doc}),
        )
        .await;
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/transitions");
    for action in ["send", "receive", "begin-review"] {
        let (s, v) = f.post(&path, json!({"action": action})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for (grounds, why) in [
        (json!([]), "a refusal needs at least one ground"),
        (json!(["fiscal-nature"]), "may not be a ground"),
        (json!(["bank-secrecy"]), "may not be a ground"),
        (
            json!(["fundamental-rights"]),
            "is not open against mla-general",
        ),
        (json!(["whim"]), "is not a refusal ground"),
    ] {
        let (s, v) = f
            .post(
                &path,
                json!({"action": "refuse", "reason": "no", "grounds": grounds}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{grounds}: {v}");
        assert!(v.to_string().contains(why), "{grounds}: {v}");
    }
    let refusal = json!({"action": "refuse", "reason": "prejudice to sovereignty", "grounds": ["essential-interests"]});
    let (s, v) = f.post(&path, refusal.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let codes: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "decision.checklist-incomplete",
            "decision.consultation-missing"
        ],
        "{v}"
    );
    for (action, reason) in [
        ("consult", "could the request be narrowed?"),
        ("resume-review", "answer received"),
    ] {
        let (s, v) = f
            .post(&path, json!({"action": action, "reason": reason}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let mut answered = refusal;
    answered["checklist"] =
        json!([{"id": "non-discrimination", "concern": false, "note": "none found"}]);
    let (s, v) = f.post(&path, answered).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["events"][5]["grounds"], json!(["essential-interests"]));
}

#[tokio::test]
async fn the_safeguards_gate_sending_and_explain_themselves() {
    let f = fixture().await;
    let case = f.case().await;
    let mut doc = preservation();
    doc["language"] = json!("xx");
    let (s, v) = f.post("/api/v1/checks", doc.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["blocks_sending"], true, "{v}");
    assert!(
        v["outgoing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "language.not-accepted"),
        "{v}"
    );
    assert_eq!(f.request_count().await, 0, "a check stores nothing");

    let (_, r) = f
        .post(
            "/api/v1/requests",
            json!({"case_id": case, "document": doc}),
        )
        .await;
    let id = r["id"].as_str().unwrap();
    let (s, v) = f
        .post(
            &format!("/api/v1/requests/{id}/transitions"),
            json!({"action": "send"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["type"], "urn:comity:problem:blocked-by-safeguards");
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "language.not-accepted")
        .unwrap();
    assert!(
        !finding["citations"].as_array().unwrap().is_empty(),
        "{finding}"
    );
    let (_, shown) = f.get(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(shown["state"], "draft");

    let (s, v) = f.get(&format!("/api/v1/requests/{id}/findings")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["blocks_sending"], true);
    let incoming = &v["incoming"];
    assert!(
        incoming["barred_grounds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == "fiscal-nature"),
        "{v}"
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_queries_get_problems() {
    let f = fixture().await;
    let (s, _, ct) = f.send("GET", "/api/v2/anything", None, "").await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let (s, _, ct) = f.send("DELETE", "/api/v1/cases", None, "").await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "application/problem+json")
    );
    let (s, _) = f.get("/api/v1/requests?limit=lots").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = f.get("/api/v1/requests?sort=desc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = f.get("/api/v1/requests?state=pending").await;
    assert_eq!(
        (s, v["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/state"))
    );
    let (s, _) = f.get("/api/v1/requests/req-none").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_mutation_of_a_valid_body_makes_the_server_fail() {
    let f = fixture().await;
    let case = f.case().await;
    let valid = json!({"case_id": case, "document": preservation()})
        .to_string()
        .into_bytes();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut created = 0;
    for _ in 0..400 {
        let mut body = valid.clone();
        for _ in 0..(1 + next() % 4) {
            let i = (next() as usize) % body.len();
            match next() % 3 {
                0 => body[i] = (next() % 256) as u8,
                1 => {
                    body.remove(i);
                }
                _ => body.insert(i, b"{}[]\",:0-9eE\\"[(next() % 13) as usize]),
            }
        }
        let (s, v, _) = f
            .send("POST", "/api/v1/requests", Some(body), "application/json")
            .await;
        assert!(s.as_u16() < 500, "server failed on a mutated body: {s} {v}");
        if s == StatusCode::CREATED {
            created += 1;
        }
    }
    assert_eq!(f.request_count().await, created);
}

#[tokio::test]
async fn a_catalogue_override_changes_the_answer_without_code() {
    let f = fixture().await;
    let text = comity_core::catalogue::EMBEDDED.replace(
        "{ instrument = \"BC\", article = \"29\", tag = \"V\", note = \"domestic measure Art 16\" }",
        "{ instrument = \"BC\", article = \"29bis\", tag = \"U\", note = \"domestic measure Art 16\" }",
    );
    assert_ne!(text, comity_core::catalogue::EMBEDDED);
    std::fs::write(f.dir.join("catalogue.toml"), text).unwrap();
    let config = std::fs::read_to_string(f.dir.join("config.toml")).unwrap();
    std::fs::write(
        f.dir.join("config.toml"),
        format!("{config}catalogue = \"catalogue.toml\"\n"),
    )
    .unwrap();
    let node = Node::open(&f.dir).unwrap();
    let resp = node
        .router()
        .oneshot(
            Request::get("/api/v1/mechanisms/expedited-preservation")
                .header(header::AUTHORIZATION, format!("Bearer {}", node.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let bc = v["citations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["instrument"] == "BC")
        .unwrap();
    assert_eq!(
        (bc["article"].as_str(), bc["verification"].as_str()),
        (Some("29bis"), Some("U"))
    );
}

#[tokio::test]
async fn a_real_listener_serves_the_same_api() {
    let f = fixture().await;
    let token = f.node.token.clone();
    let listener = f.node.bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let Fixture { node, _dir, .. } = f;
    let server = tokio::spawn(node.serve(listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let case: Value = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(&token)
        .json(&json!({"reference": "R-9", "title": "Over the wire"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = http
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(&token)
        .header("x-comity-actor", "alice")
        .json(&json!({"case_id": case["id"], "document": preservation()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let r: Value = resp.json().await.unwrap();
    let resp = http
        .post(format!(
            "{base}/api/v1/requests/{}/transitions",
            r["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .header("x-comity-actor", "alice")
        .json(&json!({"action": "send"}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["events"][0]["actor"], "api:alice");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    _dir.close().unwrap();
}
