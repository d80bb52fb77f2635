//! A small W3C WebDriver client over HTTP, enough to drive chromedriver: sessions, navigation, elements, keys,
//! scripts and screenshots.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// A WebDriver call failed.
#[derive(Debug)]
pub struct WebDriverError(pub String);

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, WebDriverError>;

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value> {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| WebDriverError(format!("{url}: {e}")))?;
    let value: Value = resp
        .json()
        .await
        .map_err(|e| WebDriverError(format!("{url}: {e}")))?;
    let inner = value.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = inner.get("error").and_then(Value::as_str) {
        let message = inner
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(WebDriverError(format!("{url}: {error}: {message}")));
    }
    Ok(inner)
}

impl Session {
    /// Opens a session on the driver at `driver` with these Chrome options.
    pub async fn new(driver: &str, chrome_options: Value) -> Result<Self> {
        let http = reqwest::Client::new();
        let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": chrome_options } } });
        let value = call(
            &http,
            reqwest::Method::POST,
            &format!("{driver}/session"),
            Some(caps),
        )
        .await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| WebDriverError(format!("no session id in {value}")))?;
        Ok(Self {
            http,
            base: format!("{driver}/session/{id}"),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.base),
            None,
        )
        .await
    }

    /// Goes to `url`.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(|_| ())
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String> {
        Ok(self
            .get("/url")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<String> {
        let value = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await?;
        value
            .get(ELEMENT)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| WebDriverError(format!("no element for `{css}`: {value}")))
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await
            .map(|_| ())
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.post(&format!("/element/{id}/click"), json!({}))
            .await
            .map(|_| ())
    }

    /// Runs a script synchronously and returns its value.
    pub async fn run(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs a script that calls its last argument when done.
    pub async fn run_async(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// Chooses `value` in the select named `name`, as a user would, firing `change`.
    pub async fn choose(&self, name: &str, value: &str) -> Result<()> {
        let script = "const el = document.querySelector(`[name=\"${arguments[0]}\"]`); el.value = arguments[1]; \
                      el.dispatchEvent(new Event('change', { bubbles: true })); return el.value;";
        let chosen = self.run(script, json!([name, value])).await?;
        if chosen.as_str() == Some(value) {
            Ok(())
        } else {
            Err(WebDriverError(format!("`{name}` has no option `{value}`")))
        }
    }

    /// Waits until `script` returns true, for at most `limit`.
    pub async fn wait_for(&self, what: &str, script: &str, limit: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.run(script, json!([])).await?.as_bool() == Some(true) {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(WebDriverError(format!("timed out waiting for {what}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let b64 = self.get("/screenshot").await?;
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            b64.as_str().unwrap_or_default(),
        )
        .map_err(|e| WebDriverError(format!("screenshot: {e}")))
    }

    /// Removes every cookie.
    pub async fn clear_cookies(&self) -> Result<()> {
        call(
            &self.http,
            reqwest::Method::DELETE,
            &format!("{}/cookie", self.base),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Ends the session and closes the browser.
    pub async fn quit(self) -> Result<()> {
        call(&self.http, reqwest::Method::DELETE, &self.base, None)
            .await
            .map(|_| ())
    }
}
