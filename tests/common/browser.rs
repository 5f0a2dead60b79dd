//! A real headless Chromium driven through chromedriver (WebDriver), for tests of the
//! server-rendered pages: what a person sees at a phone's or a desk's width, whether
//! forms work, and what axe-core finds about accessibility.
//!
//! One `Browser` serves one test function from start to end: its fantoccini client
//! lives on the runtime of the `#[tokio::test]` that started it, so it cannot be
//! shared between test functions. Every helper panics with a message saying what it
//! tried, like an assertion. End with [`Browser::close`]; a test that panics before
//! still kills chromedriver and its browser when the `Browser` is dropped.
//!
//! Needs the `chromium` and `chromedriver` commands (Debian's `chromium` and
//! `chromium-driver`) and `node_modules/axe-core` (`npm ci`); `.ci/run` installs them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const INSTALL_HINT: &str = "install chromium and chromium-driver (apt-get), see .ci/run";

/// How long chromedriver may take to answer `/status` after it is spawned.
const DRIVER_START: Duration = Duration::from_secs(10);

/// A headless Chromium session and the chromedriver that runs it.
pub struct Browser {
    client: Client,
    // Dropped after `client`: kills chromedriver's process group, then removes the
    // browser's profile and temporary files.
    driver: Driver,
}

/// Runs chromedriver (`$1`) on port `$2` in this shell's process group, and kills the
/// group once the test process (`$3`) is gone: a test run stopped by a signal (Ctrl-C,
/// a timeout), where no `Drop` runs, leaves no browser behind either.
const WATCHDOG: &str = r#""$1" --port="$2" &
while kill -0 "$3" 2>/dev/null; do sleep 1; done
kill -KILL -$$"#;

/// Kills every process of the group `pgid` (`sh`'s own `kill`: no other command needed).
fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .args(["-c", "kill -KILL -\"$0\"", &pgid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The watchdog shell and its chromedriver, leaders of their own process group
/// (every Chromium process chromedriver starts joins it). Dropping it kills the whole
/// group, so a panicking test leaves no browser behind.
struct Driver {
    child: Child,
    port: u16,
    _scratch: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chrome DevTools Protocol command sent through chromedriver's
/// `POST /session/{id}/goog/cdp/execute`; its answer is the CDP result object.
#[derive(Debug)]
pub struct Cdp {
    pub cmd: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("a WebDriver session for a CDP command");
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

/// The first executable named `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|file| {
            std::fs::metadata(file)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port for chromedriver")
        .port()
}

/// An XPath string literal for `text`, whatever quotes it holds.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// A CSS attribute selector for `[name="…"]`.
fn by_name(name: &str) -> String {
    format!(
        "[name=\"{}\"]",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

impl Browser {
    /// Spawns chromedriver on a free port and opens a headless Chromium session.
    pub async fn start() -> Browser {
        let chromium = on_path("chromium")
            .unwrap_or_else(|| panic!("browser tests need the `chromium` command: {INSTALL_HINT}"));
        let chromedriver = on_path("chromedriver").unwrap_or_else(|| {
            panic!("browser tests need the `chromedriver` command: {INSTALL_HINT}")
        });
        // The browser's profile and its temporary files, in one folder removed with
        // the `Browser`: a killed Chromium leaves nothing in /tmp.
        let scratch = tempfile::tempdir().expect("a temporary folder for Chromium");
        let profile = scratch.path().join("profile");
        let tmp = scratch.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("Chromium's temporary folder");

        let port = free_port();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("sh")
                .args(["-c", WATCHDOG, "chromedriver"])
                .arg(&chromedriver)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .env("TMPDIR", &tmp)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()))
        };
        let driver = Driver {
            child,
            port,
            _scratch: scratch,
        };
        driver.wait_ready().await;

        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not open a Chromium session: {e}"));
        Browser { client, driver }
    }

    /// The fantoccini client, for whatever the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the WebDriver session (Chromium quits), then kills chromedriver's group.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the WebDriver session: {e}");
        }
        drop(driver);
    }

    /// Sends a Chrome DevTools Protocol command; answers its result object.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// Shows pages in a `width`×`height` CSS-pixel viewport, at scale 1, as a phone
    /// when narrower than 600 px (the page's `<meta name=viewport>` then applies).
    /// Exact, unlike a window size (headless Chromium keeps windows ≥ 500 px wide).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            }),
        )
        .await;
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        self.client.title().await.expect("the page title")
    }

    /// The text a person sees in the page's body.
    pub async fn text(&self) -> String {
        self.find("body").await.text().await.expect("the page text")
    }

    /// The first element `css` selects; panics when there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element `{css}` on {}: {e}", self.url_for_errors().await),
        }
    }

    /// Every element `css` selects (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    /// Waits (up to fantoccini's default 30 s) until `css` selects an element.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for `{css}`: {e}"))
    }

    /// Fills the field named `name` with `value`, replacing what it held: typed as a
    /// person would into text fields and text areas; for a `<select>`, the option whose
    /// visible text is `value`. Date, time, month, week, colour and range inputs take
    /// `value` in HTML's own format (`2026-03-10`, `18:30`, `2026-03-10T18:30`), set
    /// directly: typing into them depends on the browser's locale (en-US here, whatever
    /// the machine's).
    pub async fn fill(&self, name: &str, value: &str) {
        let field = self.find(&by_name(name)).await;
        let tag = field.tag_name().await.expect("a field's tag name");
        let kind = field
            .attr("type")
            .await
            .expect("a field's type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let done = if tag.eq_ignore_ascii_case("select") {
            field.select_by_label(value).await
        } else if matches!(
            kind.as_str(),
            "date" | "time" | "datetime-local" | "month" | "week" | "color" | "range"
        ) {
            let element = serde_json::to_value(&field).expect("an element reference");
            self.client
                .execute(
                    "const [field, value] = arguments;\
                     field.value = value;\
                     field.dispatchEvent(new Event('input', {bubbles: true}));\
                     field.dispatchEvent(new Event('change', {bubbles: true}));\
                     return field.value;",
                    vec![element, json!(value)],
                )
                .await
                .map(|now| {
                    assert_eq!(now, json!(value), "`{name}` ({kind}) refused {value:?}");
                })
        } else {
            match field.clear().await {
                Ok(()) => field.send_keys(value).await,
                Err(e) => Err(e),
            }
        };
        done.unwrap_or_else(|e| panic!("fill `{name}` with {value:?}: {e}"));
    }

    /// Ticks (or unticks) the checkbox or radio button named `name` whose value is
    /// `value`.
    pub async fn check(&self, name: &str, value: &str, checked: bool) {
        let css = format!(
            "{}[value=\"{}\"]",
            by_name(name),
            value.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let input = self.find(&css).await;
        let now = input.is_selected().await.expect("a checkbox's state");
        if now != checked {
            input
                .click()
                .await
                .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
        }
    }

    /// Clicks the element `css` selects (a link, a button…).
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Clicks the button whose visible text (or value, for an `<input>` button) is
    /// `text`, spaces trimmed: how a person submits a form.
    pub async fn click_button(&self, text: &str) {
        let literal = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={literal}] | \
             //input[(@type='submit' or @type='button') and normalize-space(@value)={literal}]"
        );
        let button = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(button) => button,
            Err(e) => panic!("no button {text:?} on {}: {e}", self.url_for_errors().await),
        };
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("click button {text:?}: {e}"));
    }

    /// Clicks the link whose visible text is `text`.
    pub async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click link {text:?}: {e}"));
    }

    /// Runs `script` in the page (`arguments[i]` are `args`); answers what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs axe-core on the page shown; answers its violations (axe's result objects:
    /// `id`, `impact`, `help`, `helpUrl`, `nodes` with their `target`s). A failure of
    /// axe itself comes back as one violation with the id `axe-error`.
    pub async fn axe(&self) -> Vec<Value> {
        let loaded = self
            .execute("return typeof window.axe !== 'undefined';", vec![])
            .await;
        if loaded != Value::Bool(true) {
            let source = axe_source();
            self.client
                .execute(&source, vec![])
                .await
                .unwrap_or_else(|e| panic!("inject axe-core: {e}"));
        }
        let answer = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {resultTypes: ['violations']})\
                   .then(r => done(r.violations))\
                   .catch(e => done([{id: 'axe-error', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core: {e}"));
        match answer {
            Value::Array(violations) => violations,
            other => panic!("axe-core answered no list of violations: {other}"),
        }
    }

    /// Panics, listing every violation, when axe-core finds any on the page shown.
    /// `label` names the page and state in the message.
    pub async fn assert_accessible(&self, label: &str) {
        let violations = self.axe().await;
        if !violations.is_empty() {
            panic!(
                "{label}: {} accessibility violation(s) on {}:\n{}",
                violations.len(),
                self.url_for_errors().await,
                describe_violations(&violations)
            );
        }
    }

    /// Saves a PNG of the whole page (beyond the viewport too) to `path`, creating
    /// its folders. Answers the PNG's bytes.
    /// The page printed to PDF on A4, as "Print" in Chromium would (print CSS applied).
    pub async fn print_pdf(&self) -> Vec<u8> {
        let printed = self
            .cdp(
                "Page.printToPDF",
                json!({"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": true}),
            )
            .await;
        let data = printed["data"].as_str().expect("a PDF");
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("a base64 PDF")
    }

    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Vec<u8> {
        let path = path.as_ref();
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = if metrics["cssContentSize"].is_object() {
            &metrics["cssContentSize"]
        } else {
            &metrics["contentSize"]
        };
        let width = size["width"].as_f64().unwrap_or(0.0).ceil();
        let height = size["height"].as_f64().unwrap_or(0.0).ceil();
        let mut params = json!({"format": "png", "captureBeyondViewport": true});
        if width >= 1.0 && height >= 1.0 {
            params["clip"] = json!({"x": 0, "y": 0, "width": width, "height": height, "scale": 1});
        }
        let shot = self.cdp("Page.captureScreenshot", params).await;
        let data = shot["data"]
            .as_str()
            .unwrap_or_else(|| panic!("Page.captureScreenshot answered no data: {shot}"));
        let png = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("a base64 screenshot")
        };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .unwrap_or_else(|e| panic!("create {}: {e}", folder.display()));
        }
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        png
    }

    /// The page's URL, for failure messages.
    async fn url_for_errors(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "the current page".into())
    }
}

impl Driver {
    /// Polls chromedriver's `/status` until it is ready to open sessions.
    async fn wait_ready(&self) {
        let status = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Ok(answer) = http.get(&status).send().await {
                if let Ok(body) = answer.json::<Value>().await {
                    if body["value"]["ready"] == Value::Bool(true) {
                        return;
                    }
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver did not answer {status} within {DRIVER_START:?}; {INSTALL_HINT}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// axe-core's script, as `npm ci` installs it (run here when it is missing, so a plain
/// `cargo test` sets itself up where npm is installed).
fn axe_source() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("node_modules/axe-core/axe.min.js");
    if !path.is_file() {
        let _ = std::process::Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(root)
            .status();
    }
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `npm ci` at the repository root (see .ci/run)",
            path.display()
        )
    })
}

/// One line per violation (id, impact, help) and one per element it names.
pub fn describe_violations(violations: &[Value]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "- {} [{}]: {}\n",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("-"),
            v["help"].as_str().unwrap_or(""),
        ));
        for node in v["nodes"].as_array().into_iter().flatten() {
            out.push_str(&format!("    at {}\n", node["target"]));
        }
    }
    out
}
