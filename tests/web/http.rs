//! The pages over plain HTTP, as a browser without JavaScript uses them: sign-in by
//! emailed link (through a real SMTP server), sessions and their end, CSRF on every
//! form, the rate limits of the sign-in form, what each role may see, and a
//! participant form with errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::mail::{leaves, parse};
use crate::common::smtp::{Received, SmtpServer};
use crate::common::{spawn_with, TestApp, TestOptions};
use entourage_sport::store::Store;

/// How long an email may take through the outbox.
const WAIT: Duration = Duration::from_secs(15);
/// How long to watch for a message that must not come.
const QUIET: Duration = Duration::from_secs(2);
/// The service's PUBLIC_URL in tests: emailed links start with it.
const PUBLIC_URL: &str = "http://sport.test";
const ADMIN_NAME: &str = "Programme Staff";
pub(crate) const ADMIN_EMAIL: &str = "staff@example.org";

// ---------------------------------------------------------------------------------
// A browser without JavaScript: cookies kept, redirects not followed
// ---------------------------------------------------------------------------------

/// One answer, as the browser got it.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) location: Option<String>,
    disposition: Option<String>,
    set_cookies: Vec<String>,
    pub(crate) body: String,
}

impl Page {
    fn is_html(&self) -> bool {
        self.content_type.starts_with("text/html")
    }

    /// The value of the form's hidden `csrf_token` input.
    pub(crate) fn csrf(&self) -> String {
        self.csrf_token()
            .unwrap_or_else(|| panic!("a csrf_token field in the page: {self:?}"))
    }

    fn csrf_token(&self) -> Option<String> {
        let at = self.body.find("name=\"csrf_token\"")?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        attribute(&self.body[start..end], "value")
    }

    /// The text inside the element with this `id` (tags dropped).
    pub(crate) fn element_text(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!("id=\"{id}\""))?;
        let open = self.body[..at].rfind('<')?;
        let name: String = self.body[open + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let inside = at + self.body[at..].find('>')? + 1;
        let rest = &self.body[inside..];
        let end = rest.find(&format!("</{name}>")).unwrap_or(rest.len());
        Some(strip_tags(&rest[..end]).trim().to_owned())
    }

    /// Where the page's forms post to (entities decoded).
    fn form_actions(&self) -> Vec<String> {
        self.body
            .match_indices("<form")
            .filter_map(|(at, _)| {
                let end = at + self.body[at..].find('>')?;
                attribute(&self.body[at..end], "action")
            })
            .collect()
    }

    /// The page after its search form (`role="search"`), or all of it without one.
    fn after_search_form(&self) -> &str {
        self.body
            .find("role=\"search\"")
            .and_then(|at| self.body[at..].find("</form>").map(|end| at + end))
            .map_or(self.body.as_str(), |end| &self.body[end..])
    }

    /// The id in a redirect to `{prefix}{id}` (a query string dropped).
    pub(crate) fn redirect_id(&self, prefix: &str) -> String {
        let target = self.redirect_path();
        let path = target.split('?').next().unwrap_or_default();
        path.strip_prefix(prefix)
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .unwrap_or_else(|| panic!("a redirect to {prefix}{{id}}: {self:?}"))
            .to_owned()
    }

    /// Whether a form of the page posts to `path`.
    pub(crate) fn posts_to(&self, path: &str) -> bool {
        self.form_actions().iter().any(|a| a == path)
    }

    /// The `Set-Cookie` header for `name`, when the answer set it to a value.
    fn cookie_set(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().map(String::as_str).find(|c| {
            cookie_pair(c).is_some_and(|(n, v)| n == name && !v.is_empty() && !is_removal(c))
        })
    }

    /// The path a redirect points to (an absolute URL's scheme and host dropped).
    fn redirect_path(&self) -> String {
        let location = self
            .location
            .clone()
            .unwrap_or_else(|| panic!("a Location header: {self:?}"));
        match location.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/".into(), |i| rest[i..].to_owned()),
            None => location,
        }
    }

    /// A redirect (303) to `path`, a query string allowed.
    pub(crate) fn assert_redirect_to(&self, path: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{self:?}");
        let target = self.redirect_path();
        let bare = target.split('?').next().unwrap_or_default();
        assert_eq!(bare, path, "{self:?}");
    }

    /// An HTML page with `status`, never problem+json.
    pub(crate) fn assert_html(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.is_html(), "an HTML page: {self:?}");
        assert!(!self.body.trim_start().starts_with('{'), "{self:?}");
    }
}

pub(crate) fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&key) {
        let at = from + i;
        // A whole attribute name, not the end of a longer one (`data-value=`).
        if at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace() {
            let start = at + key.len();
            let end = start + tag[start..].find('"')?;
            return Some(unescape(&tag[start..end]));
        }
        from = at + key.len();
    }
    None
}

pub(crate) fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

fn cookie_pair(header: &str) -> Option<(&str, &str)> {
    let pair = header.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    Some((name.trim(), value.trim().trim_matches('"')))
}

/// A `Set-Cookie` that deletes the cookie (`Max-Age=0` or an expiry in the past).
fn is_removal(header: &str) -> bool {
    header.split(';').skip(1).any(|attr| {
        let attr = attr.trim().to_ascii_lowercase();
        attr == "max-age=0"
            || attr.starts_with("max-age=-")
            || (attr.starts_with("expires=") && attr.contains("1970"))
    })
}

/// A browser: its own cookie jar, redirects not followed.
pub(crate) struct Agent {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    cookies: BTreeMap<String, String>,
}

impl Agent {
    pub(crate) fn new(app: &TestApp) -> Agent {
        Agent {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.send(request).await
    }

    pub(crate) async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header("cookie", jar.join("; "));
        }
        let response = request.send().await.expect("request sent");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status();
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let disposition = header("content-disposition");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for set in &set_cookies {
            if let Some((name, value)) = cookie_pair(set) {
                if value.is_empty() || is_removal(set) {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            content_type,
            location,
            disposition,
            set_cookies,
            body,
        }
    }
}

// ---------------------------------------------------------------------------------
// Accounts, emailed links, the database
// ---------------------------------------------------------------------------------

pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) token: String,
}

/// A service whose email goes to `smtp`.
pub(crate) async fn app_mailing_to(smtp: &SmtpServer) -> TestApp {
    spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        ..TestOptions::default()
    })
    .await
}

/// An account created by the admin through the API; returns once its welcome
/// sign-in email has arrived.
pub(crate) async fn account(
    app: &TestApp,
    smtp: &SmtpServer,
    role: &str,
    name: &str,
    club_id: Option<&str>,
    structure_id: Option<&str>,
) -> Account {
    let email = format!("{}@example.org", Uuid::new_v4().simple());
    let answer = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"role": role, "name": name, "email": email,
                   "club_id": club_id, "structure_id": structure_id}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let welcome = messages_to(smtp, &email, 1).await;
    assert_eq!(welcome.len(), 1, "one sign-in email on creation");
    Account {
        id: answer.body["user"]["id"]
            .as_str()
            .expect("the user's id")
            .to_owned(),
        name: name.to_owned(),
        email,
        token: answer.body["token"].as_str().expect("a token").to_owned(),
    }
}

/// Sign-in messages to `email` received so far (the server files them apart from
/// the others, such as invitations copied to a referrer).
fn to(smtp: &SmtpServer, email: &str) -> Vec<Received> {
    smtp.sign_ins()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(email)))
        .collect()
}

/// Waits until at least `n` messages to `email` arrived; returns them all.
async fn messages_to(smtp: &SmtpServer, email: &str, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = to(smtp, email);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} message(s) to {email}: {} so far",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The sign-in link in a message's text, as a path on the test server (`/login/…`).
fn link_in(message: &Received) -> String {
    let parsed = parse(message);
    let mut parts = Vec::new();
    leaves(&parsed, &mut parts);
    let prefix = format!("{PUBLIC_URL}/login/");
    for part in parts {
        if part.ctype.mimetype != "text/plain" {
            continue;
        }
        let text = part.get_body().expect("a decodable text part");
        if let Some(at) = text.find(&prefix) {
            let token: String = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.~%".contains(*c))
                .collect();
            assert!(!token.is_empty(), "a token after {prefix}: {text}");
            return format!("/login/{token}");
        }
    }
    panic!("no {prefix}… link in the text part of {message:?}");
}

/// Asks for a link through the sign-in form; returns the newly emailed link.
async fn request_link(agent: &mut Agent, smtp: &SmtpServer, email: &str) -> String {
    let before = to(smtp, email).len();
    let form = agent.get("/login").await;
    form.assert_html(StatusCode::OK);
    assert!(form.posts_to("/login"), "{form:?}");
    assert!(form.body.contains("name=\"email\""), "{form:?}");
    assert!(agent.cookie("es_pre").is_some(), "GET /login sets es_pre");
    let sent = agent
        .post("/login", &[("email", email), ("csrf_token", &form.csrf())])
        .await;
    sent.assert_html(StatusCode::OK);
    let got = messages_to(smtp, email, before + 1).await;
    link_in(got.last().expect("a message"))
}

/// Opens an emailed link and confirms it: the browser is then signed in.
async fn follow_link(agent: &mut Agent, link: &str) {
    let confirm = agent.get(link).await;
    confirm.assert_html(StatusCode::OK);
    let signed_in = agent.post(link, &[("csrf_token", &confirm.csrf())]).await;
    signed_in.assert_redirect_to("/app");
    assert!(
        signed_in.cookie_set("es_session").is_some(),
        "{signed_in:?}"
    );
}

/// A browser signed in as `email` through the sign-in form and the emailed link.
pub(crate) async fn sign_in(app: &TestApp, smtp: &SmtpServer, email: &str) -> Agent {
    let mut agent = Agent::new(app);
    let link = request_link(&mut agent, smtp, email).await;
    follow_link(&mut agent, &link).await;
    agent
}

/// Runs one UPDATE binding a time then a user id, on either database.
async fn set_time(app: &TestApp, sql: &'static str, at: DateTime<Utc>, user_id: &str) -> u64 {
    let user_id: Uuid = user_id.parse().expect("a user id");
    let done = match &app.store {
        Store::Sqlite { pool, .. } => sqlx::query(sql)
            .bind(at)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        Store::Postgres(pool) => sqlx::query(sql)
            .bind(at)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    done.expect("the update runs")
}

/// When the user's first sign-in link was made, and until when it is valid.
async fn link_times(app: &TestApp, user_id: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let user_id: Uuid = user_id.parse().expect("a user id");
    let sql = "SELECT created_at, expires_at FROM login_links WHERE user_id = $1 \
               ORDER BY created_at LIMIT 1";
    let times = match &app.store {
        Store::Sqlite { pool, .. } => sqlx::query_as(sql).bind(user_id).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_as(sql).bind(user_id).fetch_one(pool).await,
    };
    times.expect("a sign-in link of the user")
}

/// The latest `last_seen` of the user's browser sessions.
async fn last_seen(app: &TestApp, user_id: &str) -> DateTime<Utc> {
    let user_id: Uuid = user_id.parse().expect("a user id");
    let sql = "SELECT last_seen FROM web_sessions WHERE user_id = $1 \
               ORDER BY last_seen DESC LIMIT 1";
    let seen = match &app.store {
        Store::Sqlite { pool, .. } => sqlx::query_scalar(sql).bind(user_id).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_scalar(sql).bind(user_id).fetch_one(pool).await,
    };
    seen.expect("a session of the user")
}

/// A participant registered through the API by `token`: (id, code).
async fn participant(app: &TestApp, token: &str, first: &str, last: &str) -> (String, String) {
    let answer = app
        .post(
            "/api/v1/participants",
            token,
            json!({"first_name": first, "last_name": last, "language": "fr",
                   "situation": "shelter", "consent": true}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let code = answer.body["code"].as_str().expect("a code").to_owned();
    (answer.id(), code)
}

async fn participant_count(app: &TestApp, token: &str) -> usize {
    let list = app.get("/api/v1/participants?limit=100", token).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body["items"].as_array().expect("items").len()
}

/// The message part of the API's answer to `body` (its `detail` without the
/// `field: ` prefix).
async fn api_message(app: &TestApp, token: &str, body: Value, field: &str) -> String {
    let answer = app.post("/api/v1/participants", token, body).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{answer:?}"
    );
    assert_eq!(answer.body["field"], field, "{answer:?}");
    let detail = answer.body["detail"].as_str().expect("a detail");
    detail
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(detail)
        .to_owned()
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// A new account gets a sign-in link by email; opening it (even twice) changes nothing,
/// confirming it signs in with a proper cookie; the link then fails (410) in another
/// browser, as does an expired one and an unknown one.
#[tokio::test]
async fn an_emailed_link_signs_in_once_and_only_while_fresh() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker = account(
        &app,
        &smtp,
        "social_worker",
        "Claire Worker",
        None,
        Some(&structure),
    )
    .await;

    // Creating the account emailed a sign-in link.
    let welcome = to(&smtp, &worker.email);
    let link = link_in(&welcome[0]);

    // Valid 15 minutes.
    let (created, expires) = link_times(&app, &worker.id).await;
    assert_eq!(expires - created, chrono::Duration::minutes(15));

    // Opening the link shows a form posting to the same address; twice, nothing moves.
    let mut browser = Agent::new(&app);
    for _ in 0..2 {
        let confirm = browser.get(&link).await;
        confirm.assert_html(StatusCode::OK);
        let lower = confirm.body.to_ascii_lowercase();
        assert!(lower.contains("method=\"post\""), "{confirm:?}");
        assert!(
            lower.contains("<button") || lower.contains("type=\"submit\""),
            "{confirm:?}"
        );
        assert!(
            confirm.form_actions().contains(&link),
            "the form posts to the link itself: {confirm:?}"
        );
        assert!(confirm.cookie_set("es_session").is_none(), "{confirm:?}");
        assert!(browser.cookie("es_pre").is_some(), "{confirm:?}");
    }
    browser.get("/app").await.assert_redirect_to("/login");

    // Confirming signs in: a session cookie, HttpOnly, SameSite=Lax, not Secure on http.
    let confirm = browser.get(&link).await;
    let signed_in = browser
        .post(&link, &[("csrf_token", &confirm.csrf())])
        .await;
    signed_in.assert_redirect_to("/app");
    let cookie = signed_in
        .cookie_set("es_session")
        .unwrap_or_else(|| panic!("a session cookie: {signed_in:?}"))
        .to_ascii_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=lax"), "{cookie}");
    assert!(cookie.contains("path=/"), "{cookie}");
    assert!(!cookie.contains("secure"), "{cookie}");
    let home = browser.get("/app").await;
    home.assert_html(StatusCode::OK);
    assert!(
        home.body.contains(&worker.name),
        "the user's name: {home:?}"
    );
    assert!(home.posts_to("/logout"), "{home:?}");
    // The bearer token still works.
    assert_eq!(
        app.get("/api/v1/me", &worker.token).await.status,
        StatusCode::OK
    );

    // Used: another browser gets 410 and no session.
    let mut stranger = Agent::new(&app);
    let csrf = stranger.get("/login").await.csrf();
    let reused = stranger.post(&link, &[("csrf_token", &csrf)]).await;
    reused.assert_html(StatusCode::GONE);
    assert!(reused.body.contains("href=\"/login\""), "{reused:?}");
    assert!(reused.cookie_set("es_session").is_none(), "{reused:?}");
    assert!(stranger.cookie("es_session").is_none());
    stranger.get("/app").await.assert_redirect_to("/login");

    // A new link, expired before use: 410, no session.
    let fresh = request_link(&mut stranger, &smtp, &worker.email).await;
    assert_ne!(fresh, link, "a new link each time");
    let expired = set_time(
        &app,
        "UPDATE login_links SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        Utc::now() - chrono::Duration::minutes(1),
        &worker.id,
    )
    .await;
    assert!(expired >= 1, "the new link is in login_links");
    let csrf = stranger.get("/login").await.csrf();
    let late = stranger.post(&fresh, &[("csrf_token", &csrf)]).await;
    late.assert_html(StatusCode::GONE);
    assert!(late.body.contains("href=\"/login\""), "{late:?}");
    assert!(late.cookie_set("es_session").is_none(), "{late:?}");
    stranger.get("/app").await.assert_redirect_to("/login");

    // An unknown token: 410 as well.
    let csrf = stranger.get("/login").await.csrf();
    let unknown = stranger
        .post("/login/not-a-real-token", &[("csrf_token", &csrf)])
        .await;
    unknown.assert_html(StatusCode::GONE);
    assert!(unknown.cookie_set("es_session").is_none(), "{unknown:?}");

    // The first browser is still signed in.
    browser.get("/app").await.assert_html(StatusCode::OK);
    app.stop().await;
}

/// Posts the sign-in form for `email` with the latest CSRF token the browser got.
async fn ask(browser: &mut Agent, csrf: &mut String, email: &str) -> Page {
    let page = browser
        .post("/login", &[("email", email), ("csrf_token", csrf.as_str())])
        .await;
    page.assert_html(StatusCode::OK);
    if let Some(next) = page.csrf_token() {
        *csrf = next;
    }
    page
}

/// A page's body with the address asked for and the CSRF token blanked out.
fn neutral(page: &Page, email: &str) -> String {
    let mut body = page.body.replace(email, "ADDRESS");
    if let Some(token) = page.csrf_token() {
        body = body.replace(&token, "CSRF");
    }
    body
}

/// The sign-in form answers the same for a known and an unknown address, and stops
/// sending after 5 requests for one address, or 20 from one client, in 10 minutes.
/// (Two services, one SMTP server: each limit is seen on its own.)
#[tokio::test]
async fn the_sign_in_form_gives_nothing_away_and_limits_requests() {
    let smtp = SmtpServer::start();

    // Per address.
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri").await;
    let ana = account(&app, &smtp, "social_worker", "Ana", None, Some(&structure)).await;
    let mut browser = Agent::new(&app);
    let mut csrf = browser.get("/login").await.csrf();
    let known = ask(&mut browser, &mut csrf, &ana.email).await;
    let stranger = format!("{}@example.org", Uuid::new_v4().simple());
    let unknown = ask(&mut browser, &mut csrf, &stranger).await;
    assert_eq!(
        neutral(&known, &ana.email),
        neutral(&unknown, &stranger),
        "the same page for a known and an unknown address"
    );
    messages_to(&smtp, &ana.email, 1 + 1).await;
    for _ in 0..4 {
        ask(&mut browser, &mut csrf, &ana.email).await;
    }
    messages_to(&smtp, &ana.email, 1 + 5).await;
    let sixth = ask(&mut browser, &mut csrf, &ana.email).await;
    assert_eq!(
        neutral(&sixth, &ana.email),
        neutral(&known, &ana.email),
        "the same page over the limit"
    );
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        to(&smtp, &ana.email).len(),
        1 + 5,
        "the welcome, then 5 links: none for the 6th request"
    );
    assert!(
        to(&smtp, &stranger).is_empty(),
        "nothing to an unknown address"
    );
    app.stop().await;

    // Per client: 20 requests (4 addresses, 5 each) send 20 links, the 21st nothing.
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri").await;
    let mut people = Vec::new();
    for name in ["Ben", "Chloé", "Dan", "Eva", "Fatou"] {
        people.push(account(&app, &smtp, "social_worker", name, None, Some(&structure)).await);
    }
    let mut browser = Agent::new(&app);
    let mut csrf = browser.get("/login").await.csrf();
    let mut first = None;
    for person in &people[..4] {
        for _ in 0..5 {
            let page = ask(&mut browser, &mut csrf, &person.email).await;
            first.get_or_insert(neutral(&page, &person.email));
        }
    }
    for person in &people[..4] {
        messages_to(&smtp, &person.email, 1 + 5).await;
    }
    let last = &people[4];
    let over = ask(&mut browser, &mut csrf, &last.email).await;
    assert_eq!(
        Some(neutral(&over, &last.email)),
        first,
        "the same page over the limit"
    );
    tokio::time::sleep(QUIET).await;
    let counts: Vec<usize> = people.iter().map(|p| to(&smtp, &p.email).len()).collect();
    assert_eq!(
        counts,
        vec![1 + 5, 1 + 5, 1 + 5, 1 + 5, 1],
        "emails per address (a welcome each, then 5 links; none for the 21st request)"
    );
    app.stop().await;
}

/// Every form refuses a POST without its CSRF token (or with another's) with a 403
/// page and changes nothing; with the right token the same form works.
#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri").await;
    let worker = account(
        &app,
        &smtp,
        "social_worker",
        "Claire",
        None,
        Some(&structure),
    )
    .await;
    let colleague = account(&app, &smtp, "social_worker", "Paul", None, Some(&structure)).await;

    // Anonymous: the sign-in form.
    let mut browser = Agent::new(&app);
    browser.get("/login").await.assert_html(StatusCode::OK);
    let mut elsewhere = Agent::new(&app);
    let foreign = elsewhere.get("/login").await.csrf();
    for csrf in [None, Some("forged"), Some(foreign.as_str())] {
        let mut fields = vec![("email", worker.email.as_str())];
        fields.extend(csrf.map(|c| ("csrf_token", c)));
        let refused = browser.post("/login", &fields).await;
        refused.assert_html(StatusCode::FORBIDDEN);
    }
    // The confirmation of a link: refused without the token, the link not used up.
    let link = request_link(&mut browser, &smtp, &worker.email).await;
    let confirm = browser.get(&link).await.csrf();
    for csrf in [None, Some("forged"), Some(foreign.as_str())] {
        let fields: Vec<(&str, &str)> = csrf.map(|c| ("csrf_token", c)).into_iter().collect();
        let refused = browser.post(&link, &fields).await;
        refused.assert_html(StatusCode::FORBIDDEN);
        assert!(refused.cookie_set("es_session").is_none(), "{refused:?}");
    }
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        to(&smtp, &worker.email).len(),
        2,
        "the welcome and the one valid request only"
    );
    let signed_in = browser.post(&link, &[("csrf_token", &confirm)]).await;
    signed_in.assert_redirect_to("/app");

    // The language form: refused without a token; with one, only a path of this site
    // to go back to.
    let mut visitor = Agent::new(&app);
    let csrf = visitor.get("/login").await.csrf();
    let refused = visitor
        .post("/lang", &[("lang", "en"), ("back", "/login")])
        .await;
    refused.assert_html(StatusCode::FORBIDDEN);
    assert!(refused.cookie_set("es_lang").is_none(), "{refused:?}");
    let chosen = visitor
        .post(
            "/lang",
            &[("lang", "en"), ("back", "/login"), ("csrf_token", &csrf)],
        )
        .await;
    chosen.assert_redirect_to("/login");
    assert!(
        visitor.cookie("es_lang").is_some_and(|l| l == "en"),
        "{chosen:?}"
    );
    let english = visitor.get("/login").await;
    assert!(english.body.contains("lang=\"en\""), "{english:?}");
    // (Checked at the end, so the rest runs whatever this gives.)
    let mut off_site = Vec::new();
    for elsewhere in [
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
    ] {
        let sent = visitor
            .post(
                "/lang",
                &[("lang", "fr"), ("back", elsewhere), ("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{sent:?}");
        let location = sent.location.clone().unwrap_or_default();
        // Browsers read `\` as `/` in an http URL: `/\host` is `//host`.
        if !location.starts_with('/') || location.starts_with("//") || location.starts_with("/\\") {
            off_site.push(format!("back={elsewhere:?} → Location {location:?}"));
        }
    }

    // Signed in: another session's token is no better than none.
    let mut other = sign_in(&app, &smtp, &colleague.email).await;
    let theirs = other.get("/app/participants/new").await.csrf();
    let wrong = [None, Some("forged"), Some(theirs.as_str())];

    // Sign out.
    for csrf in wrong {
        let fields: Vec<(&str, &str)> = csrf.map(|c| ("csrf_token", c)).into_iter().collect();
        browser
            .post("/logout", &fields)
            .await
            .assert_html(StatusCode::FORBIDDEN);
    }
    browser.get("/app").await.assert_html(StatusCode::OK);

    // A new participant.
    let (kept, _) = participant(&app, &worker.token, "Amina", "Diallo").await;
    let new = browser.get("/app/participants/new").await;
    new.assert_html(StatusCode::OK);
    let person = [
        ("first_name", "Jo"),
        ("last_name", "Martin"),
        ("language", "fr"),
        ("situation", "shelter"),
        ("consent", "true"),
    ];
    for csrf in wrong {
        let mut fields = person.to_vec();
        fields.extend(csrf.map(|c| ("csrf_token", c)));
        browser
            .post("/app/participants/new", &fields)
            .await
            .assert_html(StatusCode::FORBIDDEN);
    }
    assert_eq!(participant_count(&app, &worker.token).await, 1);

    // Erasure.
    let erase = format!("/app/participants/{kept}/erase");
    let confirm_erase = browser.get(&erase).await;
    confirm_erase.assert_html(StatusCode::OK);
    for csrf in wrong {
        let fields: Vec<(&str, &str)> = csrf.map(|c| ("csrf_token", c)).into_iter().collect();
        browser
            .post(&erase, &fields)
            .await
            .assert_html(StatusCode::FORBIDDEN);
    }
    let still = app
        .get(&format!("/api/v1/participants/{kept}"), &worker.token)
        .await;
    assert_eq!(still.status, StatusCode::OK, "{still:?}");

    // With the right token, the same forms work.
    let mut fields = person.to_vec();
    let token = new.csrf();
    fields.push(("csrf_token", &token));
    let created = browser.post("/app/participants/new", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{created:?}");
    let id = created.redirect_id("/app/participants/");
    let fetched = app
        .get(&format!("/api/v1/participants/{id}"), &worker.token)
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{fetched:?}");
    assert_eq!(fetched.body["first_name"], "Jo");
    assert_eq!(participant_count(&app, &worker.token).await, 2);

    let erased = browser
        .post(&erase, &[("csrf_token", &confirm_erase.csrf())])
        .await;
    erased.assert_redirect_to("/app/participants");
    let gone = app
        .get(&format!("/api/v1/participants/{kept}"), &worker.token)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");

    let home = browser.get("/app").await;
    let out = browser
        .post("/logout", &[("csrf_token", &home.csrf())])
        .await;
    out.assert_redirect_to("/login");
    other.get("/app").await.assert_html(StatusCode::OK);
    assert!(
        off_site.is_empty(),
        "POST /lang must only go back to a path of this site: {off_site:?}"
    );
    app.stop().await;
}

/// A browser session ends after 14 days unused, on sign-out (the old cookie is
/// worthless) and at once when the user is disabled; bearer tokens are unaffected.
#[tokio::test]
async fn browser_sessions_end_unused_signed_out_or_disabled() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri").await;
    let mut people = Vec::new();
    for name in ["Idle", "Recent", "Leaving", "Disabled"] {
        people.push(account(&app, &smtp, "social_worker", name, None, Some(&structure)).await);
    }
    let [idle, recent, leaving, disabled] = &people[..] else {
        unreachable!()
    };

    // 15 days unused: over; 13 days: still on.
    let mut idle_browser = sign_in(&app, &smtp, &idle.email).await;
    let mut recent_browser = sign_in(&app, &smtp, &recent.email).await;
    let sql = "UPDATE web_sessions SET last_seen = $1 WHERE user_id = $2";
    let aged = set_time(&app, sql, Utc::now() - chrono::Duration::days(15), &idle.id).await;
    assert_eq!(aged, 1, "one session for the idle user");
    set_time(
        &app,
        sql,
        Utc::now() - chrono::Duration::days(13),
        &recent.id,
    )
    .await;
    idle_browser.get("/app").await.assert_redirect_to("/login");
    idle_browser
        .get("/app/participants")
        .await
        .assert_redirect_to("/login");
    recent_browser.get("/app").await.assert_html(StatusCode::OK);
    let seen = last_seen(&app, &recent.id).await;
    assert!(
        seen > Utc::now() - chrono::Duration::minutes(1),
        "using a session keeps it alive: last_seen {seen}"
    );
    let me = app.get("/api/v1/me", &idle.token).await;
    assert_eq!(me.status, StatusCode::OK, "the token still works: {me:?}");

    // Signing out: to /login, and the old cookie no longer opens anything.
    let mut leaving_browser = sign_in(&app, &smtp, &leaving.email).await;
    let old = leaving_browser.cookie("es_session").expect("a session");
    let home = leaving_browser.get("/app").await;
    home.assert_html(StatusCode::OK);
    let out = leaving_browser
        .post("/logout", &[("csrf_token", &home.csrf())])
        .await;
    out.assert_redirect_to("/login");
    leaving_browser
        .get("/app")
        .await
        .assert_redirect_to("/login");
    let mut replay = Agent::new(&app);
    replay.cookies.insert("es_session".into(), old);
    replay.get("/app").await.assert_redirect_to("/login");
    let me = app.get("/api/v1/me", &leaving.token).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");

    // Disabled: every browser of theirs is out at once, a link not yet used no longer
    // signs in, the form sends none; the others stay.
    let mut first = sign_in(&app, &smtp, &disabled.email).await;
    let mut second = sign_in(&app, &smtp, &disabled.email).await;
    first.get("/app").await.assert_html(StatusCode::OK);
    let mut third = Agent::new(&app);
    let pending = request_link(&mut third, &smtp, &disabled.email).await;
    let patched = app
        .patch(
            &format!("/api/v1/users/{}", disabled.id),
            &app.admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    first.get("/app").await.assert_redirect_to("/login");
    second
        .get("/app/participants")
        .await
        .assert_redirect_to("/login");
    let csrf = third.get(&pending).await.csrf();
    let refused = third.post(&pending, &[("csrf_token", &csrf)]).await;
    refused.assert_html(StatusCode::GONE);
    assert!(refused.cookie_set("es_session").is_none(), "{refused:?}");
    let before = to(&smtp, &disabled.email).len();
    let csrf = third.get("/login").await.csrf();
    third
        .post(
            "/login",
            &[("email", &disabled.email), ("csrf_token", &csrf)],
        )
        .await
        .assert_html(StatusCode::OK);
    recent_browser.get("/app").await.assert_html(StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me", &recent.token).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        to(&smtp, &disabled.email).len(),
        before,
        "no link for a disabled account"
    );
    app.stop().await;
}

/// What each role gets on the participant pages: a social worker their structure's
/// people only (another's are 404 everywhere, never listed or found), a club manager
/// 403 pages, an admin everyone; all as HTML; anonymous visitors are sent to /login.
#[tokio::test]
async fn each_role_sees_only_its_pages() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;

    let mut anonymous = Agent::new(&app);
    for path in ["/app", "/app/participants", "/app/participants/new"] {
        anonymous.get(path).await.assert_redirect_to("/login");
    }

    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let mine = app.structure("Abri Saint-Denis").await;
    let theirs = app.structure("Foyer Montreuil").await;
    let worker = account(
        &app,
        &smtp,
        "social_worker",
        "Claire Worker",
        None,
        Some(&mine),
    )
    .await;
    let other = account(
        &app,
        &smtp,
        "social_worker",
        "Other Worker",
        None,
        Some(&theirs),
    )
    .await;
    let manager = account(
        &app,
        &smtp,
        "club_manager",
        "Marc Manager",
        Some(&club),
        None,
    )
    .await;

    let (amina, _) = participant(&app, &worker.token, "Amina", "Diallo").await;
    let (lina, lina_code) = participant(&app, &other.token, "Lina", "Bernardeau").await;
    // Both go to a daily session: each structure's home has something this week.
    let session = app
        .weekly_session(
            &club,
            &manager.token,
            json!({"rrule": "FREQ=DAILY", "capacity": 10, "reminder_hours_before": 0}),
        )
        .await;
    let mut enrollments = Vec::new();
    for (person, token) in [(&amina, &worker.token), (&lina, &other.token)] {
        let enrolled = app
            .post(
                "/api/v1/enrollments",
                token,
                json!({"participant_id": person, "session_id": session}),
            )
            .await;
        assert_eq!(enrolled.status, StatusCode::CREATED, "{enrolled:?}");
        enrollments.push(enrolled.id());
    }
    let lina_enrollment = enrollments[1].clone();
    let hidden = ["Lina", "Bernardeau", lina_code.as_str(), lina.as_str()];
    // Nothing of theirs shows (on a search page: after the search form, which repeats
    // what was asked).
    let assert_hidden = |page: &Page| {
        let shown = page.after_search_form();
        for word in hidden {
            assert!(!shown.contains(word), "{word} shown: {page:?}");
        }
    };

    // The social worker.
    let mut browser = sign_in(&app, &smtp, &worker.email).await;
    let home = browser.get("/app").await;
    home.assert_html(StatusCode::OK);
    assert!(home.body.contains(&worker.name), "{home:?}");
    assert!(home.posts_to("/logout"), "{home:?}");
    assert!(
        home.body.contains("Amina"),
        "their person this week: {home:?}"
    );
    assert_hidden(&home);
    let list = browser.get("/app/participants").await;
    list.assert_html(StatusCode::OK);
    assert!(list.body.contains("Amina"), "{list:?}");
    assert!(list.body.contains(&worker.name), "{list:?}");
    assert_hidden(&list);
    for q in ["Lina", "bernardeau", lina_code.as_str(), "a"] {
        let found = browser.get(&format!("/app/participants?q={q}")).await;
        found.assert_html(StatusCode::OK);
        assert_hidden(&found);
    }
    let found = browser.get("/app/participants?q=amina").await;
    assert!(found.body.contains("Diallo"), "{found:?}");
    // Pages lacking the user's name or the sign-out form (checked at the end).
    let mut unframed = Vec::new();
    for page in ["", "/edit", "/erase", "/schedule"] {
        let path = format!("/app/participants/{amina}{page}");
        let own = browser.get(&path).await;
        own.assert_html(StatusCode::OK);
        assert!(own.body.contains("Amina"), "{own:?}");
        if !own.posts_to("/logout") || !own.body.contains(&worker.name) {
            unframed.push(path);
        }
        let foreign = browser
            .get(&format!("/app/participants/{lina}{page}"))
            .await;
        foreign.assert_html(StatusCode::NOT_FOUND);
        assert_hidden(&foreign);
    }
    let export = browser
        .get(&format!("/app/participants/{amina}/export"))
        .await;
    assert_eq!(export.status, StatusCode::OK, "{export:?}");
    assert!(
        export
            .disposition
            .as_deref()
            .is_some_and(|d| d.starts_with("attachment")),
        "{export:?}"
    );
    assert!(export.content_type.contains("json"), "{export:?}");
    let data: Value = serde_json::from_str(&export.body).expect("JSON data");
    assert!(data.to_string().contains("Amina"), "{data}");
    let foreign = browser
        .get(&format!("/app/participants/{lina}/export"))
        .await;
    foreign.assert_html(StatusCode::NOT_FOUND);
    assert!(foreign.disposition.is_none(), "{foreign:?}");
    assert_hidden(&foreign);
    for path in [
        format!("/app/participants/{}", Uuid::new_v4()),
        "/app/participants/not-an-id".to_owned(),
        "/app/no-such-page".to_owned(),
    ] {
        browser.get(&path).await.assert_html(StatusCode::NOT_FOUND);
    }
    // Nor can the forms reach another structure's person, even with a valid token.
    let csrf = browser.get("/app").await.csrf();
    let lina_path = format!("/app/participants/{lina}");
    for path in [
        format!("{lina_path}/erase"),
        format!("{lina_path}/feed"),
        format!("/app/enrollments/{lina_enrollment}/cancel"),
    ] {
        let refused = browser.post(&path, &[("csrf_token", &csrf)]).await;
        refused.assert_html(StatusCode::NOT_FOUND);
        assert_hidden(&refused);
    }
    let refused = browser
        .post(
            &format!("{lina_path}/edit"),
            &[
                ("first_name", "Changed"),
                ("last_name", "Changed"),
                ("language", "fr"),
                ("situation", "shelter"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    refused.assert_html(StatusCode::NOT_FOUND);
    let still = app
        .get(&format!("/api/v1/participants/{lina}"), &other.token)
        .await;
    assert_eq!(still.status, StatusCode::OK, "{still:?}");
    assert_eq!(still.body["first_name"], "Lina", "{still:?}");
    let kept = app
        .get(
            &format!("/api/v1/enrollments/{lina_enrollment}"),
            &other.token,
        )
        .await;
    assert_eq!(kept.body["status"], "confirmed", "{kept:?}");

    // The club manager: 403 pages.
    let mut browser = sign_in(&app, &smtp, &manager.email).await;
    let home = browser.get("/app").await;
    home.assert_html(StatusCode::OK);
    assert!(home.body.contains(&manager.name), "{home:?}");
    assert!(home.posts_to("/logout"), "{home:?}");
    for path in [
        "/app/participants".to_owned(),
        "/app/participants/new".to_owned(),
        format!("/app/participants/{amina}"),
        format!("/app/participants/{amina}/export"),
    ] {
        let refused = browser.get(&path).await;
        refused.assert_html(StatusCode::FORBIDDEN);
        assert!(!refused.body.contains("Diallo"), "{refused:?}");
    }
    let csrf = home.csrf();
    let refused = browser
        .post(
            "/app/participants/new",
            &[
                ("first_name", "Jo"),
                ("last_name", "Martin"),
                ("language", "fr"),
                ("situation", "shelter"),
                ("consent", "true"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    refused.assert_html(StatusCode::FORBIDDEN);
    let refused = browser
        .post(
            &format!("/app/participants/{amina}/erase"),
            &[("csrf_token", &csrf)],
        )
        .await;
    refused.assert_html(StatusCode::FORBIDDEN);
    assert_eq!(participant_count(&app, &worker.token).await, 1);

    // The admin: everyone.
    let mut browser = sign_in(&app, &smtp, ADMIN_EMAIL).await;
    let list = browser.get("/app/participants").await;
    list.assert_html(StatusCode::OK);
    assert!(list.body.contains(ADMIN_NAME), "{list:?}");
    assert!(list.body.contains("Amina"), "{list:?}");
    assert!(list.body.contains("Lina"), "{list:?}");
    let page = browser.get(&format!("/app/participants/{lina}")).await;
    page.assert_html(StatusCode::OK);
    assert!(
        unframed.is_empty(),
        "every /app page shows the user's name and a sign-out form; not {unframed:?}"
    );
    app.stop().await;
}

/// A participant form with errors comes back (422) with what was typed and each
/// message beside its field (the API's words); corrected, it saves. Same for edits.
#[tokio::test]
async fn a_participant_form_with_errors_keeps_what_was_typed() {
    let smtp = SmtpServer::start();
    let app = app_mailing_to(&smtp).await;
    let structure = app.structure("Abri").await;
    let worker = account(
        &app,
        &smtp,
        "social_worker",
        "Claire",
        None,
        Some(&structure),
    )
    .await;
    let mut browser = sign_in(&app, &smtp, &worker.email).await;

    let valid = json!({"first_name": "Amina", "last_name": "Diallo", "language": "en",
                       "situation": "shelter", "consent": true});
    let with = |change: Value| {
        let mut body = valid.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        body
    };
    let empty_name = api_message(
        &app,
        &worker.token,
        with(json!({"first_name": ""})),
        "first_name",
    )
    .await;
    let no_consent = api_message(
        &app,
        &worker.token,
        with(json!({"consent": false})),
        "consent",
    )
    .await;
    let bad_email = api_message(
        &app,
        &worker.token,
        with(json!({"email": "not-an-email"})),
        "email",
    )
    .await;

    let form = browser.get("/app/participants/new").await;
    form.assert_html(StatusCode::OK);
    for field in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "language",
        "birth_year",
        "situation",
        "notify_referrer",
        "consent",
        "notes",
    ] {
        assert!(
            form.body.contains(&format!("name=\"{field}\"")),
            "a {field} field: {form:?}"
        );
    }
    // Each rule broken in turn (the rest as typed): 422, the typed values kept, the
    // API's message beside the field, in French.
    let csrf = form.csrf();
    let typed = [
        ("first_name", "Amina"),
        ("last_name", "Diallo"),
        ("email", "amina.diallo@example.org"),
        ("phone", "+33 6 12 34 56 78"),
        ("language", "en"),
        ("birth_year", "1990"),
        ("situation", "shelter"),
        ("notes", "Aime le football du mardi soir"),
        ("consent", "true"),
        ("csrf_token", csrf.as_str()),
    ];
    let cases = [
        ("first_name", "", &empty_name),
        ("consent", "", &no_consent),
        ("email", "not-an-email", &bad_email),
    ];
    for (field, value, message) in cases {
        let fields: Vec<(&str, &str)> = typed
            .iter()
            // An unticked box is not sent at all.
            .filter(|(k, _)| !(field == "consent" && *k == "consent"))
            .map(|&(k, v)| if k == field { (k, value) } else { (k, v) })
            .collect();
        let refused = browser.post("/app/participants/new", &fields).await;
        refused.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
        for (name, kept) in &fields {
            if ["first_name", "last_name", "email", "phone", "birth_year"].contains(name) {
                assert!(
                    refused.body.contains(&format!("value=\"{kept}\"")),
                    "{name} kept as typed ({kept:?}): {refused:?}"
                );
            }
        }
        assert!(
            refused.body.contains("Aime le football du mardi soir"),
            "{refused:?}"
        );
        let shown = refused
            .element_text(&format!("error-{field}"))
            .unwrap_or_else(|| panic!("id=\"error-{field}\": {refused:?}"));
        // The API's message, in the page's language (French here).
        let french = entourage_sport::web::said_in(entourage_sport::web::Lang::Fr, message);
        assert_ne!(&french, message, "no French for {message:?}");
        assert!(shown.contains(french.as_str()), "{shown:?} vs {french:?}");
        for other in ["first_name", "last_name", "email", "consent"] {
            if other != field {
                assert!(
                    refused.element_text(&format!("error-{other}")).is_none(),
                    "no error for {other}: {refused:?}"
                );
            }
        }
        assert_eq!(participant_count(&app, &worker.token).await, 0);
    }

    // With nothing wrong: saved, to the participant's page.
    let created = browser.post("/app/participants/new", &typed).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{created:?}");
    let id = created.redirect_id("/app/participants/");
    let saved = app
        .get(&format!("/api/v1/participants/{id}"), &worker.token)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{saved:?}");
    assert_eq!(saved.body["first_name"], "Amina");
    assert_eq!(saved.body["email"], "amina.diallo@example.org");
    assert_eq!(saved.body["birth_year"], 1990);
    assert_eq!(saved.body["language"], "en");
    assert_eq!(saved.body["notes"], "Aime le football du mardi soir");

    // Editing: an empty last name comes back with the typed values; fixed, it saves.
    let edit_path = format!("/app/participants/{id}/edit");
    let edit = browser.get(&edit_path).await;
    edit.assert_html(StatusCode::OK);
    assert!(edit.body.contains("value=\"Amina\""), "{edit:?}");
    let csrf = edit.csrf();
    let mut changes = vec![
        ("first_name", "Aminata"),
        ("last_name", ""),
        ("email", "amina.diallo@example.org"),
        ("phone", "+33 6 12 34 56 78"),
        ("language", "en"),
        ("birth_year", "1990"),
        ("situation", "shelter"),
        ("notes", "Aime le football du mardi soir"),
        ("csrf_token", &csrf),
    ];
    let refused = browser.post(&edit_path, &changes).await;
    refused.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("value=\"Aminata\""), "{refused:?}");
    assert!(
        refused.element_text("error-last_name").is_some(),
        "{refused:?}"
    );
    let unchanged = app
        .get(&format!("/api/v1/participants/{id}"), &worker.token)
        .await;
    assert_eq!(unchanged.body["first_name"], "Amina");
    changes[1] = ("last_name", "Diallo");
    let saved = browser.post(&edit_path, &changes).await;
    saved.assert_redirect_to(&format!("/app/participants/{id}"));
    let changed = app
        .get(&format!("/api/v1/participants/{id}"), &worker.token)
        .await;
    assert_eq!(changed.body["first_name"], "Aminata");
    app.stop().await;
}
