//! The web UI through the router: login with password and TOTP, lockout, CSRF, roles, the drafting wizard with its
//! safeguard findings, the request page and its steps, statistics, audit, and the Arabic layout.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::access::Role;
use comity_node::accounts::NewUser;
use comity_node::config::{self, InitParams};
use comity_node::server::Node;
use comity_node::service::ManualClock;
use comity_node::totp;
use http_body_util::BodyExt;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    _dir: tempfile::TempDir,
    node: Node,
    clock: Arc<ManualClock>,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let params = InitParams {
        authority: AuthorityId::parse("fr-247").unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind: AuthorityKind::ContactPoint,
        name: "Test 24/7".into(),
    };
    let now = time::macros::datetime!(2026-11-23 03:00 UTC);
    config::init(&dir, &params, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let node = Node::open_with_clock(&dir, clock.clone()).unwrap();
    Fixture {
        _dir: tmp,
        node,
        clock,
    }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

/// A visitor with a cookie jar, talking to the router directly.
struct Visitor<'a> {
    f: &'a Fixture,
    jar: Vec<(String, String)>,
}

impl<'a> Visitor<'a> {
    fn new(f: &'a Fixture) -> Self {
        Self { f, jar: Vec::new() }
    }

    async fn send(&mut self, method: &str, uri: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if !self.jar.is_empty() {
            let cookie = self
                .jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(header::COOKIE, cookie);
        }
        let body = match form {
            Some(pairs) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(pairs).unwrap())
            }
            None => Body::empty(),
        };
        let resp = self
            .f
            .node
            .router()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let cookies: Vec<String> = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &cookies {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.jar.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.jar.push((k.to_owned(), v.to_owned()));
            }
        }
        let body = String::from_utf8(
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        Reply {
            status,
            location,
            cookies,
            body,
        }
    }

    async fn get(&mut self, uri: &str) -> Reply {
        self.send("GET", uri, None).await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
        self.send("POST", uri, Some(form)).await
    }

    /// Logs in with a code computed for the fixture's clock.
    async fn login(&mut self, username: &str, password: &str, secret: &str) -> Reply {
        let page = self.get("/login").await;
        let csrf = hidden(&page.body, "csrf");
        let code = totp::code_at(&totp::base32_decode(secret).unwrap(), self.f.clock_now());
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("username", username),
                ("password", password),
                ("code", &code),
            ],
        )
        .await
    }

    async fn csrf(&mut self) -> String {
        let page = self.get("/").await;
        hidden(&page.body, "csrf")
    }
}

impl Fixture {
    fn clock_now(&self) -> i64 {
        self.node.service.now().unix_timestamp()
    }

    async fn user(&self, username: &str, role: Role, language: &str) -> String {
        self.node
            .service
            .accounts()
            .add(NewUser {
                username: username.into(),
                display_name: format!("{username} name"),
                role,
                authority: "fr-247".into(),
                language: language.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .secret_base32
    }
}

/// The value of the first hidden input named `name`.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no `{name}` in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_with_password_and_totp_sets_a_strict_http_only_secure_cookie() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    let first = v.get("/").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location.as_deref(), Some("/login"));
    let r = v.login("alice", PASSWORD, &secret).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = r
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-comity-session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    let page = v.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Urgent 24/7 queue"));
    assert!(page.body.contains("alice name"));
    let csp = f
        .node
        .router()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        csp.headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );

    // Logging out ends the session on the server, not only in the browser.
    let csrf = hidden(&page.body, "csrf");
    let stolen = v.jar.clone();
    assert_eq!(
        v.post("/logout", &[("csrf", &csrf)]).await.status,
        StatusCode::SEE_OTHER
    );
    let mut replay = Visitor { f: &f, jar: stolen };
    assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_password_wrong_code_and_replayed_code_are_refused_alike() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    let wrong_password = v.login("alice", "not the password at all", &secret).await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    let wrong_code = v
        .login("alice", PASSWORD, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(wrong_code.status, StatusCode::UNAUTHORIZED);
    let nobody = v.login("nobody", PASSWORD, &secret).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    // The same message whichever factor was wrong or whether the user exists.
    let message = |r: &Reply| {
        r.body
            .split("role=\"alert\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(message(&wrong_password), message(&wrong_code));
    assert_eq!(message(&wrong_password), message(&nobody));
    assert!(v.jar.iter().all(|(k, _)| !k.contains("session")));

    assert_eq!(
        v.login("alice", PASSWORD, &secret).await.status,
        StatusCode::SEE_OTHER
    );
    let mut again = Visitor::new(&f);
    assert_eq!(
        again.login("alice", PASSWORD, &secret).await.status,
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    for _ in 0..4 {
        assert_eq!(
            v.login("alice", "wrong password 123", &secret).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let fifth = v.login("alice", "wrong password 123", &secret).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth.body.contains("locked"));
    assert_eq!(
        v.login("alice", PASSWORD, &secret).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    f.clock.advance(time::Duration::minutes(16));
    assert_eq!(
        v.login("alice", PASSWORD, &secret).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn disabled_and_reset_accounts() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    assert_eq!(
        v.login("alice", PASSWORD, &secret).await.status,
        StatusCode::SEE_OTHER
    );
    let accounts = f.node.service.accounts();
    accounts.disable("alice").await.unwrap();
    assert_eq!(
        v.get("/").await.status,
        StatusCode::SEE_OTHER,
        "disabling ends the session"
    );
    f.clock.advance(time::Duration::seconds(60));
    assert_eq!(
        Visitor::new(&f)
            .login("alice", PASSWORD, &secret)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let fresh = accounts
        .reset("alice", "another long password".into())
        .await
        .unwrap();
    assert_ne!(fresh.secret_base32, secret);
    assert!(fresh.uri.starts_with("otpauth://totp/"));
    f.clock.advance(time::Duration::seconds(60));
    assert_eq!(
        Visitor::new(&f)
            .login("alice", "another long password", &secret)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "old TOTP secret"
    );
    assert_eq!(
        Visitor::new(&f)
            .login("alice", "another long password", &fresh.secret_base32)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(accounts.reset("alice", "short".into()).await.is_err());
    assert!(accounts.disable("nobody").await.is_err());
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    // The login form itself needs its token.
    let page = v.get("/login").await;
    let _ = hidden(&page.body, "csrf");
    let code = totp::code_at(&totp::base32_decode(&secret).unwrap(), f.clock_now());
    let r = v
        .post(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    f.clock.advance(time::Duration::seconds(60));
    assert_eq!(
        v.login("alice", PASSWORD, &secret).await.status,
        StatusCode::SEE_OTHER
    );
    let form = [
        ("intent", "save"),
        ("case_reference", "FR-1"),
        ("requested_state", "BR"),
        ("instrument", "BC"),
    ];
    let r = v.post("/requests/new/expedited-preservation", &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut with_wrong = form.to_vec();
    with_wrong.push(("csrf", "forged"));
    assert_eq!(
        v.post("/requests/new/expedited-preservation", &with_wrong)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(f.node.service.cases(10).await.unwrap().is_empty());
    assert_eq!(v.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
}

/// An emergency preservation as the browser test fills it, `necessity` left out unless given.
fn preservation(csrf: &str, necessity: Option<&str>, intent: &str) -> Vec<(String, String)> {
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("intent", intent),
        ("case_reference", "FR-2026-0042"),
        ("case_title", "Ransomware against a hospital"),
        ("requested_state", "BR"),
        ("instrument", "BC"),
        ("urgency", "emergency"),
        ("addressee_kind", "contact-point"),
        ("issuer", "prosecutor"),
        ("language", "en"),
        ("offence_entry", "illegal-access"),
        ("offence_provision", "Code pénal art. 323-1"),
        ("offence_penalty_months", "36"),
        ("data_category", "traffic"),
        ("data_description", "Connection logs"),
        ("identifier_kind", "ip-address"),
        ("identifier_value", "198.51.100.23"),
        ("identifier_observed_at", "2026-11-21T02:14:00+01:00"),
        ("summary_of_facts", "Intrusion into a hospital network"),
        (
            "relation_to_offence",
            "The logs show where the intruder connected from",
        ),
        ("custodian_or_location", "Example Hosting Ltda"),
        (
            "emergency_justification",
            "Patients' records are being encrypted now",
        ),
        ("follow_up_mla_intent", "yes"),
    ];
    if let Some(n) = necessity {
        form.push(("necessity", n));
    }
    form.into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn wizard_shows_a_blocking_finding_until_fixed_and_send_refuses_a_blocked_draft() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    v.login("alice", PASSWORD, &secret).await;
    let csrf = v.csrf().await;

    let chooser = v.get("/requests/new").await;
    for mechanism in f.node.service.mechanisms().mechanisms {
        assert!(
            chooser
                .body
                .contains(&format!("/requests/new/{}", mechanism.id)),
            "{}",
            mechanism.id
        );
        let form = v.get(&format!("/requests/new/{}", mechanism.id)).await;
        assert_eq!(form.status, StatusCode::OK, "{}", mechanism.id);
    }

    // Live findings: necessity missing blocks; once given, nothing blocks.
    let mut live = preservation(&csrf, None, "check");
    live.push(("mechanism".into(), "expedited-preservation".into()));
    let blocked = v.post("/findings", &pairs(&live)).await;
    assert_eq!(blocked.status, StatusCode::OK);
    assert!(
        blocked
            .body
            .contains("data-code=\"safeguard.necessity-not-stated\""),
        "{}",
        blocked.body
    );
    assert!(blocked.body.contains("finding-block"));
    let mut live = preservation(&csrf, Some("Logs are deleted after 7 days"), "check");
    live.push(("mechanism".into(), "expedited-preservation".into()));
    let clear = v.post("/findings", &pairs(&live)).await;
    assert!(!clear.body.contains("finding-block"), "{}", clear.body);
    assert!(clear.body.contains("No finding blocks sending."));

    // Without JavaScript: the Check button shows the same findings on the page.
    let checked = v
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(&csrf, None, "check")),
        )
        .await;
    assert!(
        checked
            .body
            .contains("data-code=\"safeguard.necessity-not-stated\"")
    );

    // A draft saved with the block cannot be sent.
    let saved = v
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(&csrf, None, "save")),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let blocked_url = saved.location.unwrap();
    let blocked_id = blocked_url.trim_start_matches("/requests/").to_owned();
    let send = v
        .post(
            &format!("{blocked_url}/step"),
            &[("csrf", &csrf), ("action", "send"), ("version", "0")],
        )
        .await;
    assert_eq!(send.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        send.body.contains("block sending") || send.body.contains("blocks sending"),
        "{}",
        send.body
    );
    assert_eq!(
        f.node.service.request(&blocked_id).await.unwrap().state,
        "draft"
    );

    // The fixed draft goes out.
    let saved = v
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(
                &csrf,
                Some("Logs are deleted after 7 days"),
                "save",
            )),
        )
        .await;
    let url = saved.location.unwrap();
    let page = v.get(&url).await;
    assert!(page.body.contains("Emergency"));
    let send = v
        .post(
            &format!("{url}/step"),
            &[("csrf", &csrf), ("action", "send"), ("version", "0")],
        )
        .await;
    assert_eq!(send.status, StatusCode::SEE_OTHER, "{}", send.body);
    let page = v.get(&url).await;
    assert!(page.body.contains("state-sent"), "{}", page.body);
    assert!(page.body.contains("class=\"timeline\""));
    let dashboard = v.get("/").await;
    let urgent = dashboard
        .body
        .split("id=\"queue-urgent\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        urgent.contains(&url),
        "the emergency is in the urgent queue"
    );
}

#[tokio::test]
async fn roles_decide_what_each_user_may_see_and_do() {
    let f = fixture().await;
    let alice = f.user("alice", Role::Caseworker, "en").await;
    let olga = f.user("olga", Role::Auditor, "en").await;
    let jean = f.user("jean", Role::Judge, "en").await;
    let mut caseworker = Visitor::new(&f);
    caseworker.login("alice", PASSWORD, &alice).await;
    let csrf = caseworker.csrf().await;
    let saved = caseworker
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(
                &csrf,
                Some("Logs are deleted after 7 days"),
                "save",
            )),
        )
        .await;
    let url = saved.location.unwrap();
    assert_eq!(caseworker.get("/audit").await.status, StatusCode::FORBIDDEN);

    let mut auditor = Visitor::new(&f);
    auditor.login("olga", PASSWORD, &olga).await;
    let csrf_a = auditor.csrf().await;
    assert_eq!(
        auditor.get(&url).await.status,
        StatusCode::OK,
        "auditors read"
    );
    assert!(
        !auditor
            .get(&url)
            .await
            .body
            .contains("action\" value=\"send\""),
        "no step offered to an auditor"
    );
    assert_eq!(
        auditor.get("/requests/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        auditor
            .post(
                &format!("{url}/step"),
                &[("csrf", &csrf_a), ("action", "send")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(auditor.get("/audit").await.status, StatusCode::OK);
    assert_eq!(auditor.get("/statistics").await.status, StatusCode::OK);

    let mut judge = Visitor::new(&f);
    judge.login("jean", PASSWORD, &jean).await;
    let csrf_j = judge.csrf().await;
    assert_eq!(
        judge
            .post(
                &format!("{url}/step"),
                &[("csrf", &csrf_j), ("action", "send")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN,
        "a judge does not send"
    );
    assert_eq!(
        caseworker
            .post(
                &format!("{url}/step"),
                &[("csrf", &csrf), ("action", "authorise")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN,
        "only a judge authorises"
    );
}

#[tokio::test]
async fn statistics_chart_csv_and_audit() {
    let f = fixture().await;
    let secret = f.user("sam", Role::Supervisor, "en").await;
    let mut v = Visitor::new(&f);
    v.login("sam", PASSWORD, &secret).await;
    let csrf = v.csrf().await;
    for _ in 0..2 {
        v.post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(
                &csrf,
                Some("Logs are deleted after 7 days"),
                "save",
            )),
        )
        .await;
    }
    let page = v.get("/statistics").await;
    assert!(page.body.contains("<svg"));
    assert!(page.body.contains("class=\"chart-bar\""));
    let csv = v.get("/statistics.csv").await;
    assert_eq!(
        csv.body,
        "mechanism,state,count\r\nexpedited-preservation,draft,2\r\n"
    );
    let saved = v
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(
                &csrf,
                Some("Logs are deleted after 7 days"),
                "save",
            )),
        )
        .await;
    let url = saved.location.unwrap();
    v.post(
        &format!("{url}/step"),
        &[("csrf", &csrf), ("action", "send"), ("version", "0")],
    )
    .await;
    let audit = v.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains(&url));
    assert!(audit.body.contains(">sam<"));
    assert_eq!(v.get("/directory").await.status, StatusCode::OK);
}

#[tokio::test]
async fn arabic_pages_are_right_to_left_and_the_language_choice_is_kept() {
    let f = fixture().await;
    let secret = f.user("layla", Role::Caseworker, "ar").await;
    let mut v = Visitor::new(&f);
    v.login("layla", PASSWORD, &secret).await;
    let page = v.get("/").await;
    assert!(
        page.body.contains("<html lang=\"ar\" dir=\"rtl\">"),
        "{}",
        &page.body[..200]
    );
    let csrf = hidden(&page.body, "csrf");
    assert_eq!(
        v.post("/language", &[("csrf", &csrf), ("lang", "fr")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = v.get("/").await;
    assert!(page.body.contains("<html lang=\"fr\" dir=\"ltr\">"));
    let login = Visitor::new(&f).get("/login?lang=zh").await;
    assert!(login.body.contains("<html lang=\"zh\" dir=\"ltr\">"));
}

#[tokio::test]
async fn plain_http_cookies_only_on_loopback() {
    use comity_node::ui::UiOptions;
    assert!(UiOptions::plain_http_on_loopback(&"127.0.0.1:0".parse().unwrap()).is_ok());
    assert!(UiOptions::plain_http_on_loopback(&"[::1]:0".parse().unwrap()).is_ok());
    assert!(UiOptions::plain_http_on_loopback(&"0.0.0.0:7410".parse().unwrap()).is_err());
    assert!(UiOptions::plain_http_on_loopback(&"192.0.2.1:80".parse().unwrap()).is_err());
}

#[tokio::test]
async fn decision_form_consults_then_refuses_with_a_ground_and_reasons() {
    let f = fixture().await;
    let secret = f.user("alice", Role::Caseworker, "en").await;
    let mut v = Visitor::new(&f);
    v.login("alice", PASSWORD, &secret).await;
    let csrf = v.csrf().await;
    let saved = v
        .post(
            "/requests/new/expedited-preservation",
            &pairs(&preservation(
                &csrf,
                Some("Logs are deleted after 7 days"),
                "save",
            )),
        )
        .await;
    let url = saved.location.unwrap();
    let step = |action: &'static str| vec![("csrf", csrf.clone()), ("action", action.to_owned())];
    for action in ["send", "receive", "begin-review"] {
        let form = step(action);
        let r = v
            .post(
                &format!("{url}/step"),
                &form
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.body);
    }
    let page = v.get(&url).await;
    let decision = page.body.split("id=\"decision\"").nth(1).unwrap();
    for offered in [
        "value=\"consult\"",
        "value=\"refuse\"",
        "name=\"grounds\" value=\"political-offence\"",
    ] {
        assert!(decision.contains(offered), "{offered}");
    }
    let consult = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "consult"),
                ("reason", "Which account is meant?"),
            ],
        )
        .await;
    assert_eq!(consult.status, StatusCode::SEE_OTHER);
    let no_ground = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "refuse"),
                ("reason", "Political"),
            ],
        )
        .await;
    assert_eq!(
        no_ground.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refusal needs a ground"
    );
    let barred = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "refuse"),
                ("grounds", "bank-secrecy"),
                ("reason", "Secrecy"),
            ],
        )
        .await;
    assert_eq!(
        barred.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an excluded ground is refused"
    );
    let refused = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "refuse"),
                ("grounds", "political-offence"),
                ("reason", "The conduct is a political offence"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    let page = v.get(&url).await;
    assert!(page.body.contains("state-refused"));
    assert!(
        page.body
            .contains("<q>The conduct is a political offence</q>")
    );
    assert!(page.body.contains("political-offence"));
    let stale = v
        .post(
            &format!("{url}/step"),
            &[("csrf", &csrf), ("action", "close"), ("version", "1")],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a stale version is a conflict, not an overwrite"
    );
}

#[tokio::test]
async fn an_administrator_manages_the_accounts_of_their_authority() {
    let f = fixture().await;
    let admin = f.user("ada", Role::Admin, "en").await;
    let worker = f.user("alice", Role::Caseworker, "en").await;
    let mut caseworker = Visitor::new(&f);
    caseworker.login("alice", PASSWORD, &worker).await;
    assert_eq!(
        caseworker.get("/users").await.status,
        StatusCode::FORBIDDEN,
        "only an administrator manages accounts"
    );

    let mut v = Visitor::new(&f);
    v.login("ada", PASSWORD, &admin).await;
    let page = v.get("/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("alice"), "{}", page.body);
    let csrf = v.csrf().await;
    // A password too short is refused with the reason, and no account is made.
    let short = v
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "jeanne"),
                ("display_name", "Jeanne"),
                ("role", "judge"),
                ("language", "fr"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("role=\"alert\""), "{}", short.body);
    let added = v
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "jeanne"),
                ("display_name", "Jeanne"),
                ("role", "judge"),
                ("language", "fr"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(added.body.contains("TOTP"), "the secret is shown once");
    // The new judge has a signing key of their own.
    assert!(
        comity_node::judicial::public_key(f.node.service.store(), "jeanne")
            .await
            .unwrap()
            .is_some()
    );
    // Disabling needs the CSRF token, then works.
    assert_eq!(
        v.post("/users/alice/disable", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let disabled = v.post("/users/alice/disable", &[("csrf", &csrf)]).await;
    assert_eq!(disabled.status, StatusCode::OK);
    let mut again = Visitor::new(&f);
    assert_ne!(
        again.login("alice", PASSWORD, &worker).await.status,
        StatusCode::SEE_OTHER,
        "a disabled account cannot sign in"
    );
}

#[tokio::test]
async fn a_judge_authorises_in_the_browser_by_signing_with_their_password() {
    let f = fixture().await;
    let judge = f.user("jean", Role::Judge, "fr").await;
    let case = f
        .node
        .service
        .create_case(
            serde_json::from_value(serde_json::json!({"reference": "J-1", "title": "t"})).unwrap(),
            "alice",
        )
        .await
        .unwrap();
    let doc = serde_json::json!({
        "mechanism": "mla-stored-data",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "content", "description": "messages"}],
        "relation_to_offence": "origin",
        "necessity": "only the host holds them",
        "assistance_sought": "search and seizure",
        "purpose": "prosecution",
        "language": "en"
    });
    let r = f
        .node
        .service
        .create_request(
            comity_node::wire::NewRequestInput {
                case_id: case.id,
                document: serde_json::from_value(doc).unwrap(),
            },
            "alice",
        )
        .await
        .unwrap();
    f.node
        .service
        .transition(
            &r.id,
            serde_json::from_value(serde_json::json!({"action": "submit-for-authorisation"}))
                .unwrap(),
            "alice",
        )
        .await
        .unwrap();
    let mut v = Visitor::new(&f);
    v.login("jean", PASSWORD, &judge).await;
    let url = format!("/requests/{}", r.id);
    let page = v.get(&url).await;
    assert!(
        page.body.contains("name=\"password\""),
        "the authorise form asks for the judge's password"
    );
    let csrf = v.csrf().await;
    let wrong = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "authorise"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("does not open"), "{}", wrong.body);
    let ok = v
        .post(
            &format!("{url}/step"),
            &[
                ("csrf", &csrf),
                ("action", "authorise"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let view = f.node.service.request(&r.id).await.unwrap();
    assert_eq!(view.state, "authorised");
    let last = view.events.last().unwrap();
    assert_eq!(last.actor, "jean");
    // The request page shows the safeguards on record: the purpose the evidence may serve.
    let page = v.get(&url).await;
    let records = page.body.split("id=\"records\"").nth(1).unwrap();
    assert!(records.contains("prosecution"), "{}", page.body);
}
