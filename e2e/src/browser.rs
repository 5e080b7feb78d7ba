//! Chromium over WebDriver, with helpers that reach into the widget's shadow root and wait on
//! DOM conditions evaluated in the page (never on fixed sleeps).

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ElementRef};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The W3C WebDriver key under which a script's returned element is referenced.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The window of [`Driver::browser`]: a desktop's, wider than the widget's mobile layout.
const DESKTOP_WINDOW: (u32, u32) = (1280, 900);
/// How long any single DOM condition may take before the test fails.
const CONDITION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("cannot start chromedriver ({path}): {source}")]
    Spawn { path: String, source: std::io::Error },
    #[error("chromedriver did not start listening within {0:?}")]
    DriverTimeout(Duration),
    #[error("cannot open a browser session: {0}")]
    Session(#[from] fantoccini::error::NewSessionError),
    #[error("WebDriver command failed: {0}")]
    Command(#[from] fantoccini::error::CmdError),
    #[error("the page never satisfied `{condition}` within {timeout:?}; widget state: {state}")]
    ConditionTimeout { condition: String, timeout: Duration, state: String },
    #[error("no element for `{0}` in the widget")]
    Missing(String),
}

/// A chromedriver process; every [`Browser`] is one Chromium session on it.
pub struct Driver {
    child: Child,
    url: String,
    _profiles: tempfile::TempDir,
    profiles: std::path::PathBuf,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Drop for Driver {
    // chromedriver runs in a process group of its own, with every Chromium it started; ending
    // the whole group leaves no browser behind when a test fails before closing its sessions.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Driver {
    pub fn start() -> Result<Self, BrowserError> {
        let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port().map_err(|source| BrowserError::Spawn { path: path.clone(), source })?;
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| BrowserError::Spawn { path: path.clone(), source })?;
        let profiles = tempfile::tempdir().map_err(|source| BrowserError::Spawn { path: path.clone(), source })?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: profiles.path().to_owned(),
            _profiles: profiles,
        };
        let started = Instant::now();
        let limit = Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > limit {
                return Err(BrowserError::DriverTimeout(limit));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }

    /// A new headless Chromium with its own empty profile (so sessions share nothing).
    pub async fn browser(&self, name: &str) -> Result<Browser, BrowserError> {
        self.session(name, DESKTOP_WINDOW, None).await
    }

    /// A browser that lays pages out as a phone `width` CSS pixels wide would (a touch screen,
    /// in Chromium's mobile emulation) while the height follows the window's, so that making
    /// the window shorter narrows the visual viewport as an on-screen keyboard does. Headless
    /// windows are never narrower than 500 pixels, hence the emulation.
    pub async fn phone(&self, name: &str, width: u32, height: u32) -> Result<Browser, BrowserError> {
        // A height of 0 leaves the height to the window.
        let metrics = json!({ "deviceMetrics": { "width": width, "height": 0, "pixelRatio": 2.0, "touch": true, "mobile": true } });
        self.session(name, (DESKTOP_WINDOW.0, height), Some(metrics)).await
    }

    async fn session(
        &self,
        name: &str,
        (width, height): (u32, u32),
        mobile_emulation: Option<Value>,
    ) -> Result<Browser, BrowserError> {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = self.profiles.join(name);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        // The chat server's certificate is the self-signed development one.
        capabilities.insert("acceptInsecureCerts".into(), json!(true));
        let mut options = json!({
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--disable-quic", format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if let Some(emulation) = mobile_emulation {
            options["mobileEmulation"] = emulation;
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(HttpConnector::new()).capabilities(capabilities).connect(&self.url).await?;
        client
            .update_timeouts(TimeoutConfiguration::new(Some(CONDITION_TIMEOUT + Duration::from_secs(5)), None, None))
            .await?;
        Ok(Browser { client })
    }
}

/// One browser window, with helpers for the widget inside its (open) shadow root.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
}

/// JavaScript prelude giving `q(selector)` and `qa(selector)` inside the widget's shadow root.
const PRELUDE: &str = "const root = document.getElementById('palisade-widget')?.shadowRoot; \
    const q = (s) => root ? root.querySelector(s) : null; \
    const qa = (s) => root ? Array.from(root.querySelectorAll(s)) : [];";

/// A selector for an element by its `data-testid`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl Browser {
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        Ok(self.client.goto(url).await?)
    }

    /// Evaluates a JavaScript expression (with `q`/`qa` available) and returns its value.
    pub async fn eval(&self, expression: &str) -> Result<Value, BrowserError> {
        Ok(self.client.execute(&format!("{PRELUDE} return ({expression});"), vec![]).await?)
    }

    /// Resolves once `condition` (a JavaScript expression) is true in the page; checked on
    /// every animation frame, so it returns as soon as the DOM gets there.
    pub async fn wait_until(&self, condition: &str) -> Result<(), BrowserError> {
        let script = format!(
            "const done = arguments[arguments.length - 1]; \
             const deadline = Date.now() + {ms}; \
             const check = () => {{ {PRELUDE} try {{ return !!({condition}); }} catch (e) {{ return false; }} }}; \
             const tick = () => {{ if (check()) {{ done(true); }} else if (Date.now() > deadline) {{ done(false); }} \
               else {{ requestAnimationFrame(tick); }} }}; \
             tick();",
            ms = CONDITION_TIMEOUT.as_millis()
        );
        if self.client.execute_async(&script, vec![]).await? == Value::Bool(true) {
            return Ok(());
        }
        let state = self
            .eval(
                "JSON.stringify({ widget: root ? root.innerHTML.slice(0, 2000) : 'no widget host element', \
                 notice: document.getElementById('palisade-demo-notice-text')?.textContent ?? null, \
                 csp_violations: document.documentElement.dataset.cspViolations ?? null })",
            )
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        Err(BrowserError::ConditionTimeout { condition: condition.to_owned(), timeout: CONDITION_TIMEOUT, state })
    }

    /// Resolves once no animation of the widget's is running (an opening panel moves and
    /// scales its boxes); endless ones, such as a typing indicator, do not count.
    pub async fn wait_for_animations(&self) -> Result<(), BrowserError> {
        self.wait_until("root.getAnimations().every((a) => a.effect.getComputedTiming().iterations === Infinity)").await
    }

    /// The widget element matching `selector`, as a WebDriver element for real input.
    pub async fn element(&self, selector: &str) -> Result<Element, BrowserError> {
        let found = self.eval(&format!("q({})", json!(selector))).await?;
        let id =
            found.get(ELEMENT_KEY).and_then(Value::as_str).ok_or_else(|| BrowserError::Missing(selector.to_owned()))?;
        Ok(Element::from_element_id(self.client.clone(), ElementRef::from(id.to_owned())))
    }

    /// Reloads the page, as a person pressing F5 would.
    pub async fn reload(&self) -> Result<(), BrowserError> {
        Ok(self.client.refresh().await?)
    }

    /// The text content of the widget element matching `selector`, or `None` when there is none.
    pub async fn text(&self, selector: &str) -> Result<Option<String>, BrowserError> {
        let text = self.eval(&format!("q({})?.textContent ?? null", json!(selector))).await?;
        Ok(text.as_str().map(str::to_owned))
    }

    /// Empties an input.
    pub async fn clear(&self, selector: &str) -> Result<(), BrowserError> {
        Ok(self.element(selector).await?.clear().await?)
    }

    pub async fn click(&self, selector: &str) -> Result<(), BrowserError> {
        Ok(self.element(selector).await?.click().await?)
    }

    /// Types `text` into the element with real key events.
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<(), BrowserError> {
        Ok(self.element(selector).await?.send_keys(text).await?)
    }

    pub async fn close(self) -> Result<(), BrowserError> {
        Ok(self.client.close().await?)
    }
}
