//! The web UI in a real headless Chromium, driven over WebDriver: log in with password and TOTP, draft an emergency
//! preservation request, watch a blocking safeguard finding appear live and go away once fixed, send the request;
//! the same in Arabic with its right-to-left layout; and axe-core on the main pages.
//!
//! Needs `chromium` and `chromedriver` (Debian `chromium`, `chromium-driver`) and axe-core in
//! `tests/browser/node_modules`: run `crates/comity-node/tests/browser/install.sh`. Without chromium the test says
//! so and passes. Screenshots go to `target/browser-artefacts/`.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::access::Role;
use comity_node::accounts::NewUser;
use comity_node::config::{self, InitParams};
use comity_node::federation::directory::{DirectoryDocument, DirectoryEntry};
use comity_node::server::Node;
use comity_node::service::{ListQuery, NodeService};
use comity_node::totp;
use comity_node::ui::UiOptions;
use comity_seal::keys::NodeSigningKey;
use serde_json::{Value, json};
use webdriver::Session;

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(15);

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn artefacts() -> PathBuf {
    let target = option_env!("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver(chromedriver: &Path) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"].as_bool() == Some(true)
        {
            return (driver, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not become ready on port {port}");
}

async fn browser(driver: &str, chromium: &Path, profile: &Path) -> Session {
    let options = json!({
        "binary": chromium.to_string_lossy(),
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            format!("--user-data-dir={}", profile.display()), "--window-size=1280,1500", "--lang=en-GB"
        ]
    });
    Session::new(driver, options).await.unwrap()
}

async fn shot(s: &Session, name: &str) {
    let png = s.screenshot().await.unwrap();
    std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
}

/// Serious and critical axe-core violations on the current page.
async fn axe(s: &Session, source: &str) -> Vec<String> {
    s.run(source, json!([])).await.unwrap();
    let script = "const done = arguments[arguments.length - 1]; \
        axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations \
          .filter(v => v.impact === 'serious' || v.impact === 'critical') \
          .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))) \
          .catch(e => done(['axe failed: ' + e]));";
    let value = s.run_async(script, json!([])).await.unwrap();
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn login(s: &Session, base: &str, username: &str, secret: &str) {
    s.goto(&format!("{base}/login")).await.unwrap();
    s.type_into("#username", username).await.unwrap();
    s.type_into("#password", PASSWORD).await.unwrap();
    let code = totp::code_at(
        &totp::base32_decode(secret).unwrap(),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    s.type_into("#code", &code).await.unwrap();
    s.click("form.login button[type=submit]").await.unwrap();
    s.wait_for(
        "the dashboard",
        "return !!document.getElementById('queue-urgent');",
        WAIT,
    )
    .await
    .unwrap();
}

/// Drafts an emergency preservation with `necessity` left out, checks the live block, fixes it, saves and sends.
/// Returns the request page's URL.
async fn draft_and_send(s: &Session, base: &str, prefix: &str, case: &str) -> String {
    s.goto(&format!("{base}/requests/new")).await.unwrap();
    s.click("a[href='/requests/new/expedited-preservation']")
        .await
        .unwrap();
    s.wait_for(
        "the wizard",
        "return !!document.getElementById('wizard');",
        WAIT,
    )
    .await
    .unwrap();
    s.type_into("#f-case_reference", case).await.unwrap();
    s.type_into("#f-case_title", "Ransomware against a hospital")
        .await
        .unwrap();
    s.type_into("#f-requested_state", "BR").await.unwrap();
    s.choose("instrument", "BC").await.unwrap();
    s.choose("urgency", "emergency").await.unwrap();
    s.choose("offence_entry", "illegal-access").await.unwrap();
    s.type_into("#f-offence_provision", "Code pénal art. 323-1")
        .await
        .unwrap();
    s.type_into("#f-offence_penalty_months", "36")
        .await
        .unwrap();
    s.choose("data_category", "traffic").await.unwrap();
    s.type_into("#f-data_description", "Connection logs")
        .await
        .unwrap();
    s.choose("identifier_kind", "ip-address").await.unwrap();
    s.type_into("#f-identifier_value", "198.51.100.23")
        .await
        .unwrap();
    s.type_into("#f-identifier_observed_at", "2026-11-21T02:14:00+01:00")
        .await
        .unwrap();
    s.type_into("#f-summary_of_facts", "Intrusion into a hospital network")
        .await
        .unwrap();
    s.type_into(
        "#f-relation_to_offence",
        "The logs show where the intruder connected from",
    )
    .await
    .unwrap();
    s.type_into("#f-custodian_or_location", "Example Hosting Ltda")
        .await
        .unwrap();
    s.type_into(
        "#f-emergency_justification",
        "The life of patients in intensive care is at imminent risk: their records are being encrypted now",
    )
    .await
    .unwrap();
    s.click("#f-follow_up_mla_intent").await.unwrap();

    // The live check shows that the missing necessity blocks sending.
    s.wait_for(
        "the blocking finding",
        "return !!document.querySelector('#findings .finding-block[data-code=\"safeguard.necessity-not-stated\"]');",
        WAIT,
    )
    .await
    .unwrap();
    shot(s, &format!("{prefix}-1-blocking-finding")).await;

    s.type_into("#f-necessity", "Logs are deleted after 7 days")
        .await
        .unwrap();
    s.wait_for(
        "no blocking finding",
        "return !!document.querySelector('#findings .clear-summary');",
        WAIT,
    )
    .await
    .unwrap();
    shot(s, &format!("{prefix}-2-fixed")).await;

    s.click("button[name=intent][value=save]").await.unwrap();
    s.wait_for(
        "the request page",
        "return location.pathname.startsWith('/requests/req-');",
        WAIT,
    )
    .await
    .unwrap();
    s.click("form.step-send button[type=submit]").await.unwrap();
    // Sent; with another node listening, its receipt may already have moved the request on.
    s.wait_for(
        "the sent state",
        "return !!document.querySelector('.state-sent, .state-received');",
        WAIT,
    )
    .await
    .unwrap();
    shot(s, &format!("{prefix}-3-sent")).await;
    s.url().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caseworker_drafts_fixes_and_sends_an_emergency_preservation_in_english_and_arabic() {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        println!(
            "skipped: chromium not installed (run crates/comity-node/tests/browser/install.sh)"
        );
        return;
    };
    let axe_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    let axe_source = std::fs::read_to_string(&axe_path).ok();
    if axe_source.is_none() {
        println!(
            "accessibility checks skipped: axe-core not installed (run crates/comity-node/tests/browser/install.sh)"
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let params = InitParams {
        authority: AuthorityId::parse("fr-247").unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind: AuthorityKind::ContactPoint,
        name: "Point de contact 24/7".into(),
    };
    config::init(&dir, &params, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let mut node = Node::open(&dir).unwrap();
    let accounts = node.service.accounts();
    let mut secrets = Vec::new();
    for (username, language) in [("amira", "en"), ("layla", "ar")] {
        let enrolment = accounts
            .add(NewUser {
                username: username.into(),
                display_name: format!("{username} (24/7)"),
                role: Role::Caseworker,
                authority: "fr-247".into(),
                language: language.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        secrets.push(enrolment.secret_base32);
    }
    let listener = node.bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    node.ui = UiOptions::plain_http_on_loopback(&addr).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node.serve(listener, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");

    let (_driver, driver_url) = start_driver(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let s = browser(&driver_url, &chromium, profile.path()).await;
    let mut violations = Vec::new();

    // English.
    login(&s, &base, "amira", &secrets[0]).await;
    shot(&s, "en-0-dashboard").await;
    if let Some(src) = &axe_source {
        violations.extend(
            axe(&s, src)
                .await
                .into_iter()
                .map(|v| format!("dashboard: {v}")),
        );
    }
    let url = draft_and_send(&s, &base, "en", "FR-2026-0042").await;
    if let Some(src) = &axe_source {
        violations.extend(
            axe(&s, src)
                .await
                .into_iter()
                .map(|v| format!("request page: {v}")),
        );
        for page in [
            "/requests/new",
            "/requests/new/expedited-preservation",
            "/statistics",
            "/directory",
        ] {
            s.goto(&format!("{base}{page}")).await.unwrap();
            violations.extend(
                axe(&s, src)
                    .await
                    .into_iter()
                    .map(|v| format!("{page}: {v}")),
            );
        }
    }
    s.goto(&format!("{base}/")).await.unwrap();
    let in_urgent_queue = s
        .run("return !!document.querySelector(`section[aria-labelledby=queue-urgent] a[href=\"${arguments[0]}\"]`);", json!([url.trim_start_matches(&base)]))
        .await
        .unwrap();
    assert_eq!(
        in_urgent_queue,
        json!(true),
        "the sent emergency is in the urgent queue"
    );
    let countdown = s
        .run(
            "return document.querySelectorAll('time[data-due]').length;",
            json!([]),
        )
        .await
        .unwrap();
    assert!(countdown.as_u64().is_some(), "countdowns are rendered");
    shot(&s, "en-4-dashboard-after").await;

    // Arabic: right to left, same flow.
    s.clear_cookies().await.unwrap();
    login(&s, &base, "layla", &secrets[1]).await;
    let layout = s
        .run(
            "const brand = document.querySelector('.brand').getBoundingClientRect(); \
             return { dir: document.documentElement.dir, lang: document.documentElement.lang, \
                      direction: getComputedStyle(document.body).direction, \
                      brandOnTheRight: brand.left > window.innerWidth / 2, \
                      heading: document.querySelector('h1').textContent };",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(layout["dir"], "rtl", "{layout}");
    assert_eq!(layout["lang"], "ar");
    assert_eq!(layout["direction"], "rtl");
    assert_eq!(
        layout["brandOnTheRight"], true,
        "the header starts on the right: {layout}"
    );
    assert_eq!(layout["heading"], "لوحة المتابعة");
    shot(&s, "ar-0-dashboard").await;
    if let Some(src) = &axe_source {
        violations.extend(
            axe(&s, src)
                .await
                .into_iter()
                .map(|v| format!("ar dashboard: {v}")),
        );
    }
    draft_and_send(&s, &base, "ar", "FR-2026-0043").await;
    let sent_label = s
        .run(
            "return document.querySelector('.state-sent').textContent;",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(sent_label, "مُرسَل");
    if let Some(src) = &axe_source {
        violations.extend(
            axe(&s, src)
                .await
                .into_iter()
                .map(|v| format!("ar request page: {v}")),
        );
    }

    s.quit().await.unwrap();
    let _ = stop.send(());
    let _ = server.await;
    if axe_source.is_some() {
        println!("accessibility: axe-core ran on 9 pages (English and Arabic)");
    }
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// A node of the test federation, serving its API and UI on loopback.
struct Member {
    service: NodeService,
    base: String,
    secret: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Two 24/7 nodes, France and Brazil, under one directory, each with one caseworker.
async fn federation(tmp: &Path) -> Vec<Member> {
    let operator = NodeSigningKey::from_seed([7; 32]);
    let specs = [("fr-247", "FR", "amira"), ("br-247", "BR", "bruno")];
    let mut opened = Vec::new();
    for (id, state, user) in specs {
        let dir = tmp.join(id);
        let params = InitParams {
            authority: AuthorityId::parse(id).unwrap(),
            state: IsoCountry::parse(state).unwrap(),
            kind: AuthorityKind::ContactPoint,
            name: format!("{state} 24/7"),
        };
        let mut node_dir = config::init(&dir, &params, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        node_dir
            .pin_directory_operator(&operator.public_key())
            .unwrap();
        let mut node = Node::open(&dir).unwrap();
        let listener = node.bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        node.ui = UiOptions::plain_http_on_loopback(&addr).unwrap();
        let secret = node
            .service
            .accounts()
            .add(NewUser {
                username: user.into(),
                display_name: format!("{user} ({id})"),
                role: Role::Caseworker,
                authority: id.into(),
                language: "en".into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .secret_base32;
        opened.push((id, dir, node, listener, secret));
    }
    let authorities = opened
        .iter()
        .map(|(id, dir, _, listener, _)| {
            let identity = config::open(dir).unwrap().identity;
            DirectoryEntry {
                id: (*id).into(),
                state: identity.state.to_string(),
                kind: identity.kind.to_string(),
                name: identity.name.clone(),
                languages: vec!["en".into()],
                hours: "24/7".into(),
                on_call: String::new(),
                endpoint: format!("http://{}", listener.local_addr().unwrap()),
                signing_key: identity.signing_public_key.clone(),
                age_recipient: identity.age_recipient.clone(),
                tls_cert_sha256: None,
                declarations: String::new(),
                valid_from: "2026-01-01T00:00:00Z".into(),
                valid_until: "2099-12-31T00:00:00Z".into(),
                revoked: None,
                log_key: None,
            }
        })
        .collect();
    let directory = DirectoryDocument {
        version: 1,
        issued_at: "2026-01-01T00:00:00Z".into(),
        operator: "test".into(),
        authorities,
    }
    .sign(&operator);
    let mut members = Vec::new();
    for (_, _, node, listener, secret) in opened {
        node.service
            .federation()
            .install_directory(&directory)
            .unwrap();
        let service = node.service.clone();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(node.serve(listener, async {
            let _ = stopped.await;
        }));
        members.push(Member {
            service,
            base,
            secret,
            stop: Some(stop),
        });
    }
    members
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_preservation_crosses_to_brazil_whose_caseworker_preserves_it() {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        println!(
            "skipped: chromium not installed (run crates/comity-node/tests/browser/install.sh)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut members = federation(tmp.path()).await;
    let (_driver, driver_url) = start_driver(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let s = browser(&driver_url, &chromium, profile.path()).await;

    // France drafts, fixes and sends.
    login(&s, &members[0].base, "amira", &members[0].secret).await;
    draft_and_send(&s, &members[0].base, "fed-fr", "FR-2026-0099").await;
    members[0].service.deliver_due().await.unwrap();
    let brazil = members[1].service.clone();
    eventually("the request to reach Brazil", || {
        let brazil = brazil.clone();
        async move {
            !brazil
                .requests(&ListQuery::default())
                .await
                .unwrap()
                .is_empty()
        }
    })
    .await;

    // Brazil's caseworker finds it in the urgent queue and preserves the data.
    s.clear_cookies().await.unwrap();
    login(&s, &members[1].base, "bruno", &members[1].secret).await;
    let incoming = brazil
        .requests(&ListQuery::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        incoming.document.requesting_authority.as_deref(),
        Some("fr-247")
    );
    let link = format!("/requests/{}", incoming.id);
    for queue in ["queue-urgent", "queue-incoming"] {
        let listed = s
            .run(
                "return !!document.querySelector(`section[aria-labelledby=${arguments[0]}] a[href=\"${arguments[1]}\"]`);",
                json!([queue, link]),
            )
            .await
            .unwrap();
        assert_eq!(listed, json!(true), "the incoming emergency is in {queue}");
    }
    shot(&s, "fed-br-0-urgent-queue").await;
    s.click(&format!(
        "section[aria-labelledby=queue-urgent] a[href=\"{link}\"]"
    ))
    .await
    .unwrap();
    s.wait_for(
        "the decision form",
        "return !!document.querySelector('form.step-preserve');",
        WAIT,
    )
    .await
    .unwrap();
    shot(&s, "fed-br-1-decision").await;
    // The requested side answers its checklist (non-discrimination) before deciding, where it applies.
    let questions = s
        .run(
            "return document.querySelectorAll('form.step-preserve input[type=radio][value=no]').length;",
            serde_json::json!([]),
        )
        .await
        .unwrap();
    for i in 0..questions.as_u64().unwrap_or(0) {
        s.click(&format!(
            "form.step-preserve fieldset.checklist:nth-of-type({}) input[value=no]",
            i + 1
        ))
        .await
        .unwrap();
    }
    s.click("form.step-preserve button[type=submit]")
        .await
        .unwrap();
    s.wait_for(
        "the active state",
        "return !!document.querySelector('.state-active');",
        WAIT,
    )
    .await
    .unwrap();
    shot(&s, "fed-br-2-preserved").await;

    // France sees the answer.
    brazil.deliver_due().await.unwrap();
    let france = members[0].service.clone();
    eventually("the answer to reach France", || {
        let france = france.clone();
        async move {
            france
                .requests(&ListQuery::default())
                .await
                .unwrap()
                .iter()
                .any(|r| r.state == "active")
        }
    })
    .await;

    s.quit().await.unwrap();
    for m in &mut members {
        if let Some(stop) = m.stop.take() {
            let _ = stop.send(());
        }
    }
}
