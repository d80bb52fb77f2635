//! The node on PostgreSQL: the API story through the router, with the records where they should be, and a
//! database of another node refused.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_node::config::NodeDirError;
use comity_node::database::{Database, NodeStore};
use comity_node::server::Node;
use comity_node::service::ManualClock;
use common::{TestSchema, init_node};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::macros::datetime;
use tower::ServiceExt;

async fn call(node: &Node, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", node.token));
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = node.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn preservation() -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs",
            "identifiers": [{"type": "ip-address", "address": "2001:db8::1", "observed_at": "2026-11-20T03:14:00-03:00"}]}],
        "relation_to_offence": "origin of the intrusion",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire",
        "follow_up_mla_intent": true,
        "language": "en"
    })
}

#[tokio::test]
async fn the_api_story_runs_on_postgresql() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let now = datetime!(2026-11-23 03:00 UTC);
    let dir = init_node(tmp.path(), "fr-247", now).await;
    let clock = Arc::new(ManualClock::new(now));
    let node = Node::open_with_store(
        &dir,
        NodeStore::Postgres(schema.store().await),
        clock.clone(),
    )
    .unwrap();
    assert!(node.store().describe().starts_with("PostgreSQL "));

    let (s, case) = call(
        &node,
        "POST",
        "/api/v1/cases",
        Some(json!({"reference": "FR-2026-0042", "title": "Ransomware"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let case_id = case["id"].as_str().unwrap();
    let (s, again) = call(
        &node,
        "POST",
        "/api/v1/cases",
        Some(json!({"reference": "FR-2026-0042", "title": "Twice"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");

    let (s, r) = call(
        &node,
        "POST",
        "/api/v1/requests",
        Some(json!({"case_id": case_id, "document": preservation()})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    let (s, v) = call(
        &node,
        "POST",
        "/api/v1/requests",
        Some(json!({"case_id": "case-none", "document": preservation()})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["pointer"], "/case_id");

    let path = format!("/api/v1/requests/{id}/transitions");
    for action in ["send", "receive", "preserve", "extend"] {
        clock.advance(time::Duration::hours(1));
        let (s, v) = call(&node, "POST", &path, Some(json!({"action": action}))).await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
    }
    let (s, v) = call(
        &node,
        "POST",
        &path,
        Some(json!({"action": "release", "expected_version": 3})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a stale version is refused: {v}");
    let (s, v) = call(&node, "POST", &path, Some(json!({"action": "send"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "not allowed in `extended`: {v}");

    let (s, shown) = call(&node, "GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(shown["state"], "extended");
    assert_eq!(shown["version"], 4);
    assert_eq!(shown["clocks"][0]["due_at"], "2027-01-22T06:00:00Z");
    let (_, listed) = call(&node, "GET", "/api/v1/requests?state=extended", None).await;
    assert_eq!(listed["requests"].as_array().unwrap().len(), 1);

    for action in ["release", "close"] {
        let (s, v) = call(&node, "POST", &path, Some(json!({"action": action}))).await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
    }

    // The records are in PostgreSQL, not in the node's SQLite file.
    let raw = schema.raw().await;
    let events: i64 = raw
        .query_one("SELECT count(*) FROM events WHERE request_id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 6);
    let state: String = raw
        .query_one("SELECT state FROM requests WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "closed");
    let sqlite = comity_node::config::open(&dir).unwrap().store().unwrap();
    assert!(
        comity_store::Store::request(&sqlite, &id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn connect_marks_an_empty_database_and_refuses_another_nodes() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let now = datetime!(2026-11-23 03:00 UTC);
    let fr = init_node(tmp.path(), "fr-247", now).await;
    let de = init_node(tmp.path(), "de-247", now).await;
    // The schema must exist before a URL can point into it.
    schema.store().await.close();
    let database = Database::parse(&schema.url_in_schema()).unwrap();

    let node = Node::connect(&fr, Some(&database), Arc::new(ManualClock::new(now)))
        .await
        .unwrap();
    let (s, _) = call(
        &node,
        "POST",
        "/api/v1/cases",
        Some(json!({"reference": "FR-1", "title": "t"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    node.store().close();

    let raw = schema.raw().await;
    let owner: String = raw
        .query_one("SELECT value FROM node_meta WHERE key = 'authority'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, "fr-247");

    let refused = Node::connect(&de, Some(&database), Arc::new(ManualClock::new(now))).await;
    match refused {
        Err(e @ NodeDirError::ForeignDatabase { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("`fr-247`") && message.contains("`de-247`"),
                "{message}"
            );
        }
        Err(other) => panic!("wrong refusal: {other}"),
        Ok(_) => panic!("a database of another node was accepted"),
    }

    // The synchronous opener names the way out rather than falling back to the SQLite file.
    std::fs::write(
        fr.join("config.toml"),
        format!(
            "{}database = \"{}\"\n",
            std::fs::read_to_string(fr.join("config.toml")).unwrap(),
            schema.url_in_schema()
        ),
    )
    .unwrap();
    assert!(matches!(
        Node::open(&fr),
        Err(NodeDirError::NeedsConnect(_))
    ));
    let node = Node::connect(&fr, None, Arc::new(ManualClock::new(now)))
        .await
        .unwrap();
    let (_, cases) = call(&node, "GET", "/api/v1/cases", None).await;
    assert_eq!(cases["cases"].as_array().map(Vec::len), Some(1), "{cases}");
}
