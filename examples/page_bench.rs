//! Load generator for the busiest web pages, signed in as a social worker.
//!
//! Starts the real service in-process on 127.0.0.1 (as `tests/common/mod.rs` does),
//! seeds clubs and published weekly sessions through the HTTP API (as
//! `examples/occurrence_search_bench.rs` does), then a shelter whose social worker
//! follows participants enrolled in a session or two (so "this week" on the home page
//! has rows) and a few places freed from a waitlist (so "what needs you" has rows too).
//! The social worker signs in as a browser does: the sign-in link's token, `GET
//! /login/{token}` (the `es_pre` cookie and the form's `csrf_token`), `POST
//! /login/{token}`, and the `es_session` cookie of the 303 answer.
//!
//! Then it measures sequential requests on one keep-alive connection, each answer
//! checked (200, HTML, and a word the page shows only when it worked):
//!
//! * `GET /healthz` (the floor: HTTP round trip + `SELECT 1`),
//! * `GET /app` (home: this week's occurrences of the people followed, what needs them),
//! * `GET /app/occurrences?with_places=true` (the search's first page),
//! * `GET /app/occurrences?sport=football&city=Montreuil&with_places=true`,
//! * `GET /app/occurrences?weekday=2&time_of_day=evening` (only the hours asked for,
//!   slice by slice through the index), and the same for tomorrow's weekday,
//!
//! and, in-process without HTTP, the store reads behind each page, to tell which query
//! costs what.
//!
//! ```text
//! cargo run --release --example page_bench -- --sessions 20000
//! ```
//!
//! Options: `--sessions N` (20000), `--clubs N` (200), `--requests N` per page (300),
//! `--followed N` participants (40), `--clients N` concurrent seeding clients (4),
//! `--database-url URL` (else `BENCH_DATABASE_URL`, else a temporary SQLite file).
//! Every loop is bounded; the process stops by itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::domain::rsvp::Signer;
use entourage_sport::domain::tokens::hash_token;
use entourage_sport::domain::window::{slices, TimeOfDay, Window};
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::store::pages::Whose;
use entourage_sport::store::sessions::OccurrenceSearch;
use entourage_sport::store::Store;
use entourage_sport::Service;

#[path = "support/sign_in.rs"]
mod support;
use support::sign_in;

/// Warm-up requests before each measured series.
const WARM_UP: usize = 20;
/// The goal for every page's median.
const TARGET_MS: f64 = 20.0;
/// Results on the search page (`src/web/search.rs`).
const PAGE_SIZE: usize = 30;
/// Sessions whose waitlist gets a freed place, for "what needs you".
const PROMOTIONS: usize = 3;

const SPORTS: [&str; 10] = [
    "football",
    "basketball",
    "natation",
    "boxe",
    "yoga",
    "course a pied",
    "escalade",
    "judo",
    "tennis de table",
    "badminton",
];

const CITIES: [(&str, &str); 12] = [
    ("Montreuil", "93100"),
    ("Saint-Denis", "93200"),
    ("Paris", "75011"),
    ("Bobigny", "93000"),
    ("Aubervilliers", "93300"),
    ("Pantin", "93500"),
    ("Bagnolet", "93170"),
    ("Noisy-le-Sec", "93130"),
    ("Bondy", "93140"),
    ("Aulnay-sous-Bois", "93600"),
    ("Sevran", "93270"),
    ("Clichy-sous-Bois", "93390"),
];

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// Where each result of the search page links to: one per result, none elsewhere.
const RESULT_LINK: &str = "href=\"/app/sessions/";
/// A card of the home page or of the search results.
const CARD: &str = "<li class=\"card\">";
/// Last names of the followed participants start with it.
const FOLLOWED_NAME: &str = "Suivie";

struct Options {
    clubs: usize,
    sessions: usize,
    requests: usize,
    followed: usize,
    clients: usize,
    database_url: Option<String>,
}

const USAGE: &str = "usage: page_bench [--sessions N] [--clubs N] [--requests N] \
[--followed N] [--clients N] [--database-url URL]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        clubs: 200,
        sessions: 20_000,
        requests: 300,
        followed: 40,
        clients: 4,
        database_url: std::env::var("BENCH_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(USAGE.into());
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        let count = || -> Result<usize, String> {
            value
                .trim()
                .replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("{name}: {value:?} is not a whole number"))
        };
        match name.as_str() {
            "--clubs" => options.clubs = count()?,
            "--sessions" => options.sessions = count()?,
            "--requests" => options.requests = count()?,
            "--followed" => options.followed = count()?,
            "--clients" => options.clients = count()?,
            "--database-url" => options.database_url = Some(value),
            _ => return Err(format!("unknown option {name}\n{USAGE}")),
        }
    }
    if options.clubs == 0 || options.clients == 0 || options.requests == 0 {
        return Err("--clubs, --clients and --requests must be at least 1".into());
    }
    if options.sessions < options.clubs {
        return Err("--sessions must be at least --clubs (every club has sessions)".into());
    }
    if options.followed < 3 * PROMOTIONS {
        return Err(format!("--followed must be at least {}", 3 * PROMOTIONS));
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("page_bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A deterministic spread of values from an index (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

struct Row {
    label: String,
    samples: Vec<Duration>,
    note: String,
    /// Whether the row is a page held to the target.
    page: bool,
}

impl Row {
    fn new(label: impl Into<String>, mut samples: Vec<Duration>, note: impl Into<String>) -> Self {
        samples.sort();
        Self {
            label: label.into(),
            samples,
            note: note.into(),
            page: false,
        }
    }

    fn median(&self) -> Duration {
        percentile(&self.samples, 0.5)
    }

    fn print(&self) {
        println!(
            "| {:<68} | {:>5} | {:>9.3} | {:>9.3} | {:>9.3} | {} |",
            self.label,
            self.samples.len(),
            ms(self.median()),
            ms(percentile(&self.samples, 0.99)),
            ms(self.samples.last().copied().unwrap_or_default()),
            self.note
        );
    }
}

/// A received answer.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("answer is not JSON: {e}"))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request: the answer, and the time until the whole body was received.
async fn timed(request: reqwest::RequestBuilder) -> Result<(Answer, Duration), String> {
    let started = Instant::now();
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?;
    let took = started.elapsed();
    Ok((
        Answer {
            status,
            content_type,
            body: body.to_vec(),
        },
        took,
    ))
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // Only ever the in-process service on 127.0.0.1: never a proxy from the environment.
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(4)
        // A page that sends to /login (session lost) must show as a 303, not be followed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> Result<Value, String> {
    let (answer, _) = timed(client.post(&url).bearer_auth(token).json(&body)).await?;
    if answer.status != StatusCode::CREATED {
        return Err(format!("POST {url}: {}: {}", answer.status, answer.text()));
    }
    answer.json()
}

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    }
}

async fn run(options: Options) -> Result<(), String> {
    let data = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let database_url = match &options.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", data.path().join("bench.sqlite").display()),
    };
    let settings = Settings {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        data_dir: PathBuf::from(data.path()),
        ..Settings::default()
    };
    let config = Config::from_settings(&settings).map_err(|e| e.to_string())?;
    let service = Service::build(config)
        .await
        .map_err(|e| format!("service: {e}"))?;
    let store = service.state.store.clone();
    let signer = service.state.mailer.signer.clone();
    let (_, admin) = create_user(
        &store,
        &signer,
        Actor::System,
        NewUser {
            role: Role::Admin,
            name: "Bench Admin".into(),
            email: "bench-admin@example.org".into(),
            club_id: None,
            structure_id: None,
        },
    )
    .await
    .map_err(|e| format!("first admin: {e:?}"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, serving) = service
        .bind(async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| format!("bind: {e}"))?;
    if !address.ip().is_loopback() {
        return Err(format!(
            "the service bound {address}, not a loopback address"
        ));
    }
    let server = tokio::spawn(serving);
    let base = format!("http://{address}");
    let backend = backend_of(&database_url);
    eprintln!(
        "service on {base} ({backend}); seeding {} clubs and {} sessions…",
        options.clubs, options.sessions
    );

    let outcome = bench(&options, &base, &admin, &store, &signer, backend).await;

    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("server stopped with an error: {e}"),
        Ok(Err(e)) => eprintln!("server task failed: {e}"),
        Err(_) => eprintln!("server did not stop within 30 s"),
    }
    outcome
}

/// A measured page: its label, its path and query, and what a good answer shows.
struct Page {
    label: String,
    path: String,
    /// A word only the working page shows (never the error or sign-in page).
    expect: String,
    /// Results must be listed (else the page worked but found nothing).
    results_expected: bool,
}

async fn bench(
    options: &Options,
    base: &str,
    admin: &str,
    store: &Store,
    signer: &Signer,
    backend: &str,
) -> Result<(), String> {
    // ---- Seeding, through the API, with a few concurrent clients. ----
    let seeding = Instant::now();
    let club_ids = seed_clubs(options, base, admin).await?;
    let clubs_took = seeding.elapsed();
    let sessions_started = Instant::now();
    let sessions = seed_sessions(options, base, admin, &club_ids).await?;
    let sessions_took = sessions_started.elapsed();

    let people_started = Instant::now();
    let client = client()?;
    let structure = post(
        &client,
        format!("{base}/api/v1/structures"),
        admin,
        json!({"name": "Bench shelter", "kind": "shelter", "city": "Paris", "contact_email": "shelter@example.org"}),
    )
    .await?;
    // Created now, after the sessions: its sign-in link lasts 15 minutes.
    let user = post(
        &client,
        format!("{base}/api/v1/users"),
        admin,
        json!({
            "role": "social_worker",
            "name": "Bench social worker",
            "email": "bench-worker@example.org",
            "structure_id": structure["id"],
        }),
    )
    .await?;
    let token = user["token"]
        .as_str()
        .ok_or("no token for the social worker")?
        .to_owned();
    let user_id = user["user"]["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or("no id for the social worker")?;
    let (enrolled, promoted) = seed_followed(options, base, &token, &sessions).await?;
    let people_took = people_started.elapsed();
    let seeding_took = seeding.elapsed();

    // ---- Signing in as a browser does. ----
    let cookie = sign_in(base, store, signer, user_id).await?;
    let session_cookie = format!("es_session={cookie}");

    // ---- The pages. ----
    let (city, _) = CITIES[0];
    let paris = chrono_tz::Europe::Paris;
    let now_paris = Utc::now().with_timezone(&paris);
    let tomorrow = now_paris.weekday().succ().number_from_monday();
    let pages = vec![
        Page {
            label: "GET /app (home: this week + needs)".into(),
            path: "/app".into(),
            expect: FOLLOWED_NAME.into(),
            results_expected: true,
        },
        Page {
            label: "GET /app/occurrences?with_places=true".into(),
            path: "/app/occurrences?with_places=true".into(),
            expect: "id=\"results\"".into(),
            results_expected: true,
        },
        Page {
            label: format!("GET /app/occurrences?sport=football&city={city}&with_places=true"),
            path: format!("/app/occurrences?sport=football&city={city}&with_places=true"),
            expect: "id=\"results\"".into(),
            results_expected: true,
        },
        Page {
            label: "GET /app/occurrences?weekday=2&time_of_day=evening".into(),
            path: "/app/occurrences?weekday=2&time_of_day=evening".into(),
            expect: "id=\"results\"".into(),
            results_expected: true,
        },
        Page {
            label: format!("GET /app/occurrences?weekday={tomorrow}&time_of_day=evening"),
            path: format!("/app/occurrences?weekday={tomorrow}&time_of_day=evening"),
            expect: "id=\"results\"".into(),
            results_expected: true,
        },
    ];

    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let load_before = load_average();

    // GET /healthz: the floor.
    let mut samples = Vec::with_capacity(options.requests);
    for i in 0..WARM_UP + options.requests {
        let (answer, took) = timed(client.get(format!("{base}/healthz"))).await?;
        if answer.status != StatusCode::OK || !answer.text().contains("\"ok\"") {
            return Err(format!("healthz: {}: {}", answer.status, answer.text()));
        }
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    rows.push(Row::new("GET /healthz (floor)", samples, ""));

    for page in &pages {
        let url = format!("{base}{}", page.path);
        let mut samples = Vec::with_capacity(options.requests);
        let mut note = String::new();
        for i in 0..WARM_UP + options.requests {
            let (answer, took) = timed(client.get(&url).header(COOKIE, &session_cookie)).await?;
            let text = answer.text();
            if answer.status != StatusCode::OK {
                return Err(format!(
                    "{}: {} (expected 200): {}",
                    page.path,
                    answer.status,
                    excerpt(&text)
                ));
            }
            if !answer.content_type.starts_with("text/html") {
                return Err(format!(
                    "{}: content type {:?}, not HTML",
                    page.path, answer.content_type
                ));
            }
            if !text.contains(&page.expect) {
                return Err(format!(
                    "{}: the answer lacks {:?}: {}",
                    page.path,
                    page.expect,
                    excerpt(&text)
                ));
            }
            if i >= WARM_UP {
                samples.push(took);
            }
            if i + 1 == WARM_UP + options.requests {
                note = describe(page, &text, answer.body.len());
                if page.results_expected && shown(page, &text) == 0 {
                    warnings.push(format!("{}: 200 but nothing listed", page.path));
                }
            }
        }
        let mut row = Row::new(page.label.clone(), samples, note);
        row.page = true;
        rows.push(row);
    }

    // ---- In-process, without HTTP: the store reads behind each page. ----
    let measured = tokio::spawn(in_process(
        store.clone(),
        hash_token(&cookie),
        user_id,
        city.to_owned(),
        tomorrow,
        options.requests,
    ))
    .await
    .map_err(|e| format!("in-process task: {e}"))??;
    let load_after = load_average();

    // ---- Report. ----
    let materialised = count(store, "SELECT COUNT(*) FROM occurrences")
        .await
        .unwrap_or(-1);
    let outbox = count(store, "SELECT COUNT(*) FROM outbox")
        .await
        .unwrap_or(-1);
    println!();
    println!(
        "## busiest pages: {backend}, {} clubs, {} published weekly sessions, a social worker following {} participants, {} (Paris)",
        options.clubs,
        options.sessions,
        options.followed,
        now_paris.format("%a %Y-%m-%d %H:%M"),
    );
    println!();
    println!(
        "seeding through the API ({} clients): {} clubs in {:.1} s, {} sessions in {:.1} s ({:.0} sessions/s), \
shelter + {} participants + {enrolled} enrollments + {promoted} waitlist promotions in {:.1} s; \
total {:.1} s; {materialised} materialised occurrence rows, {outbox} outbox rows",
        options.clients,
        options.clubs,
        clubs_took.as_secs_f64(),
        options.sessions,
        sessions_took.as_secs_f64(),
        options.sessions as f64 / sessions_took.as_secs_f64().max(1e-9),
        options.followed,
        people_took.as_secs_f64(),
        seeding_took.as_secs_f64(),
    );
    println!();
    println!(
        "| {:<68} | {:>5} | {:>9} | {:>9} | {:>9} | notes |",
        "page (sequential, one keep-alive connection)", "n", "median ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<70}|{:->7}|{:->11}|{:->11}|{:->11}|{:-<7}|",
        "", "", "", "", "", ""
    );
    for row in &rows {
        row.print();
    }
    println!();
    println!(
        "| {:<68} | {:>5} | {:>9} | {:>9} | {:>9} | notes |",
        "in-process store reads (no HTTP, no template)", "n", "median ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<70}|{:->7}|{:->11}|{:->11}|{:->11}|{:-<7}|",
        "", "", "", "", "", ""
    );
    for row in &measured {
        row.print();
    }
    println!();
    println!(
        "machine: {} cores; load average before/after measuring: {load_before} / {load_after}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for warning in &warnings {
        println!("warning: {warning}");
    }
    for row in rows.iter().filter(|r| r.page) {
        let median = ms(row.median());
        println!(
            "target: median under {TARGET_MS:.0} ms: {median:.3} ms {} — {}",
            if median < TARGET_MS { "MET" } else { "NOT MET" },
            row.label
        );
    }
    Ok(())
}

/// The start of a page, for an error message.
fn excerpt(text: &str) -> String {
    text.chars().take(600).collect()
}

/// How many lines a page lists: home cards, or search results.
fn shown(page: &Page, text: &str) -> usize {
    if page.path == "/app" {
        text.matches(CARD).count()
    } else {
        text.matches(RESULT_LINK).count()
    }
}

/// What one answer of a page held, for the notes column.
fn describe(page: &Page, text: &str, bytes: usize) -> String {
    if page.path == "/app" {
        let (needs, week) = match (text.find("id=\"needs\""), text.find("id=\"week\"")) {
            (Some(n), Some(w)) if n < w => (
                text[n..w].matches(CARD).count(),
                text[w..].matches(CARD).count(),
            ),
            _ => (0, 0),
        };
        format!("{week} lines this week, {needs} needs; {bytes} B")
    } else {
        let next = if text.contains("class=\"pager\"") {
            ", next page"
        } else {
            ", no next page"
        };
        format!("{} results{next}; {bytes} B", shown(page, text))
    }
}

/// The store reads behind each page, timed alone.
async fn in_process(
    store: Store,
    session_hash: String,
    user_id: Uuid,
    city: String,
    tomorrow: u32,
    n: usize,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let structure_id = store
        .user(user_id)
        .await
        .map_err(|e| format!("the social worker: {e}"))?
        .structure_id;

    // Every page: the session behind the cookie.
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let started = Instant::now();
        let found = store
            .web_session(&session_hash, Utc::now() - chrono::Duration::days(14))
            .await
            .map_err(|e| e.to_string())?;
        if found.is_none() {
            return Err("the web session lookup found nothing".into());
        }
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
    }
    rows.push(Row::new(
        "every page: web_session (cookie lookup)",
        samples,
        "",
    ));

    // /app: this week, and what needs the social worker (as src/web/home.rs asks).
    let mut samples = Vec::with_capacity(n);
    let mut lines = 0;
    for i in 0..WARM_UP + n {
        let now = Utc::now();
        let started = Instant::now();
        let found = store
            .coming(
                Whose::Structure(structure_id),
                now - chrono::Duration::hours(2),
                now + chrono::Duration::days(7),
                300,
            )
            .await
            .map_err(|e| e.to_string())?;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
        lines = found.len();
    }
    rows.push(Row::new(
        "/app: coming (this week)",
        samples,
        format!("{lines} rows"),
    ));
    let mut samples = Vec::with_capacity(n);
    let mut needs = 0;
    for i in 0..WARM_UP + n {
        let since = Utc::now() - chrono::Duration::days(14);
        let started = Instant::now();
        let found = store
            .needs_attention(structure_id, since, 50)
            .await
            .map_err(|e| e.to_string())?;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
        needs = found.len();
    }
    rows.push(Row::new(
        "/app: needs_attention",
        samples,
        format!("{needs} rows"),
    ));

    // The search: its slices, as src/web/search.rs reads them.
    let probes = [
        Probe {
            label: "search: with_places (slices through the index)".into(),
            sport: None,
            city: None,
            with_places: true,
            weekday: None,
        },
        Probe {
            label: format!("search: football+{city}+with_places (slices through the index)"),
            sport: Some("football".into()),
            city: Some(city.clone()),
            with_places: true,
            weekday: None,
        },
        Probe {
            label: "search: weekday=2 evening (slices through the index)".into(),
            sport: None,
            city: None,
            with_places: false,
            weekday: Some(2),
        },
        Probe {
            label: format!("search: weekday={tomorrow} evening (slices through the index)"),
            sport: None,
            city: None,
            with_places: false,
            weekday: Some(tomorrow),
        },
    ];
    for probe in probes {
        let mut samples = Vec::with_capacity(n);
        let mut outcome = (0, 0, 0);
        for i in 0..WARM_UP + n {
            let started = Instant::now();
            outcome = search_rounds(&store, &probe).await?;
            if i >= WARM_UP {
                samples.push(started.elapsed());
            }
        }
        let (rounds, read, kept) = outcome;
        rows.push(Row::new(
            probe.label,
            samples,
            format!("{rounds} queries, {read} rows read, {kept} kept"),
        ));
    }
    Ok(rows)
}

/// A search as the page makes it, for [`search_rounds`].
struct Probe {
    label: String,
    sport: Option<String>,
    city: Option<String>,
    with_places: bool,
    /// With the evening filter (from 6 pm) too.
    weekday: Option<u32>,
}

/// What the search page asks the store for its first page (`src/web/search.rs`): the
/// window's slices that fall on the weekday in the evening (`domain::window::slices`),
/// each read through the index until [`PAGE_SIZE`] + 1 rows are found.
/// Answers (queries, rows read, rows kept).
async fn search_rounds(store: &Store, probe: &Probe) -> Result<(usize, usize, usize), String> {
    let paris = chrono_tz::Europe::Paris;
    let now = Utc::now();
    let window = Window {
        from: now,
        to: now + chrono::Duration::days(31),
    };
    let evening = probe.weekday.map(|_| TimeOfDay::Evening);
    let mut search = OccurrenceSearch {
        from: window.from,
        to: window.to,
        sport: probe.sport.clone(),
        city: probe.city.clone(),
        club_id: None,
        with_places: probe.with_places,
        after: None,
        limit: 0,
    };
    let (mut queries, mut read, mut kept) = (0, 0, 0);
    for (from, to) in slices(window, probe.weekday, evening, paris) {
        search.from = from;
        search.to = to;
        search.limit = (PAGE_SIZE + 1 - kept) as i64;
        let rows = store
            .search_occurrences(&search)
            .await
            .map_err(|e| e.to_string())?;
        queries += 1;
        read += rows.len();
        for row in &rows {
            let tz: Tz = row.timezone.parse().unwrap_or(paris);
            let at = row.start_at.with_timezone(&tz);
            let fits = probe
                .weekday
                .is_none_or(|d| at.weekday().number_from_monday() == d && at.hour() >= 18);
            if fits {
                kept += 1;
            }
        }
        if kept > PAGE_SIZE {
            return Ok((queries, read, kept - 1));
        }
    }
    Ok((queries, read, kept))
}

async fn seed_clubs(options: &Options, base: &str, admin: &str) -> Result<Vec<String>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..options.clients.min(options.clubs) {
        let (next, base, admin, total) = (
            next.clone(),
            base.to_owned(),
            admin.to_owned(),
            options.clubs,
        );
        tasks.push(tokio::spawn(async move {
            let client = client()?;
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(made);
                }
                let (city, postal_code) = CITIES[i % CITIES.len()];
                let h = mix(i as u64);
                let sports = club_sports(i);
                let club = post(
                    &client,
                    format!("{base}/api/v1/clubs"),
                    &admin,
                    json!({
                        "name": format!("Club sportif {i:04} de {city}"),
                        "sports": sports,
                        "address": format!("{} rue de la République", 1 + h % 200),
                        "postal_code": postal_code,
                        "city": city,
                        "latitude": 48.85 + (h % 100) as f64 / 1000.0,
                        "longitude": 2.35 + (h % 97) as f64 / 1000.0,
                        "contact_email": format!("club{i}@example.org"),
                        "contact_phone": "+33 1 23 45 67 89",
                        "partnership": {"status": "active", "since": "2026-01-01"}
                    }),
                )
                .await?;
                let id = club["id"].as_str().ok_or("club without id")?.to_owned();
                made.push((i, id));
            }
        }));
    }
    let mut clubs = Vec::with_capacity(options.clubs);
    for task in tasks {
        clubs.extend(task.await.map_err(|e| format!("seeding task: {e}"))??);
    }
    clubs.sort_by_key(|(i, _)| *i);
    Ok(clubs.into_iter().map(|(_, id)| id).collect())
}

/// Sports of club `i`, as [`seed_clubs`] gave them.
fn club_sports(i: usize) -> [&'static str; 2] {
    let h = mix(i as u64);
    [
        SPORTS[i % SPORTS.len()],
        SPORTS[(i + 3 + (h % 5) as usize) % SPORTS.len()],
    ]
}

/// A seeded session: its id and its capacity.
#[derive(Clone)]
struct Seeded {
    id: String,
    capacity: u64,
}

async fn seed_sessions(
    options: &Options,
    base: &str,
    admin: &str,
    clubs: &[String],
) -> Result<Vec<Seeded>, String> {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let monday = today - chrono::Duration::days(today.weekday().num_days_from_monday().into());
    let next = Arc::new(AtomicUsize::new(0));
    let clubs = Arc::new(clubs.to_vec());
    let progress_every = (options.sessions / 10).max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.clients.min(options.sessions.max(1)) {
        let (next, base, admin, clubs, total) = (
            next.clone(),
            base.to_owned(),
            admin.to_owned(),
            clubs.clone(),
            options.sessions,
        );
        tasks.push(tokio::spawn(async move {
            let client = client()?;
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(made);
                }
                let club = i % clubs.len();
                let h = mix(1_000_003 + i as u64);
                let weekday = (h % 7) as usize;
                let hour = 8 + (h >> 8) % 13;
                let minute = [0, 15, 30, 45][((h >> 16) % 4) as usize];
                let weeks_back = 1 + (h >> 20) % 5;
                let duration = [60, 90, 120][((h >> 24) % 3) as usize];
                let capacity = 2 + (h >> 28) % 11;
                let sport = club_sports(club)[((h >> 32) % 2) as usize];
                let date: NaiveDate =
                    monday - chrono::Duration::weeks(weeks_back as i64) + chrono::Duration::days(weekday as i64);
                let start = format!("{date}T{hour:02}:{minute:02}:00");
                let session = post(
                    &client,
                    format!("{base}/api/v1/clubs/{}/sessions", clubs[club]),
                    &admin,
                    json!({
                        "title": format!("{sport} loisir {}", ["débutants", "tous niveaux", "confirmés"][((h >> 36) % 3) as usize]),
                        "sport": sport,
                        "start": start,
                        "timezone": "Europe/Paris",
                        "duration_minutes": duration,
                        "rrule": format!("FREQ=WEEKLY;BYDAY={}", WEEKDAYS[weekday]),
                        "capacity": capacity,
                        "status": "published"
                    }),
                )
                .await?;
                let id = session["id"].as_str().ok_or("session without id")?.to_owned();
                made.push((i, Seeded { id, capacity }));
                if (i + 1) % progress_every == 0 {
                    eprintln!("  {} sessions seeded ({:.1} s)", i + 1, started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    let mut sessions = Vec::with_capacity(options.sessions);
    for task in tasks {
        sessions.extend(task.await.map_err(|e| format!("seeding task: {e}"))??);
    }
    sessions.sort_by_key(|(i, _)| *i);
    Ok(sessions.into_iter().map(|(_, s)| s).collect())
}

/// The social worker's people: `--followed` participants, each enrolled (by the social
/// worker, bearer token) in the whole series of one session, every third in two; then,
/// in [`PROMOTIONS`] sessions of two places, two enrolled and a third waitlisted, and
/// the first cancelled, so the third is promoted (a "what needs you" line). Answers the
/// enrollments made and the promotions.
async fn seed_followed(
    options: &Options,
    base: &str,
    worker: &str,
    sessions: &[Seeded],
) -> Result<(usize, usize), String> {
    let client = client()?;
    let mut participants = Vec::with_capacity(options.followed);
    for i in 0..options.followed {
        let situation = ["shelter", "street", "migrant", "single_parent"][i % 4];
        let participant = post(
            &client,
            format!("{base}/api/v1/participants"),
            worker,
            json!({
                "first_name": format!("Personne{i:02}"),
                "last_name": format!("{FOLLOWED_NAME}{i:02}"),
                "situation": situation,
                "consent": true,
            }),
        )
        .await?;
        participants.push(
            participant["id"]
                .as_str()
                .ok_or("participant without id")?
                .to_owned(),
        );
    }
    let small: Vec<usize> = (0..sessions.len())
        .filter(|&s| sessions[s].capacity == 2)
        .take(PROMOTIONS)
        .collect();
    if small.len() < PROMOTIONS {
        return Err("too few sessions of two places for the waitlist promotions".into());
    }
    let enrol = |participant: &str, session: usize| {
        let client = client.clone();
        let body = json!({"participant_id": participant, "session_id": sessions[session].id});
        let url = format!("{base}/api/v1/enrollments");
        async move { post(&client, url, worker, body).await }
    };
    let mut enrolled = 0;
    for (i, participant) in participants.iter().enumerate() {
        let picks = if i % 3 == 0 { 2 } else { 1 };
        for k in 0..picks {
            let mut session =
                (mix(7_000_000 + (i * 2 + k) as u64) % sessions.len() as u64) as usize;
            while small.contains(&session) {
                session = (session + 1) % sessions.len();
            }
            enrol(participant, session).await?;
            enrolled += 1;
        }
    }
    let mut promoted = 0;
    for (k, &session) in small.iter().enumerate() {
        let first = enrol(&participants[3 * k], session).await?;
        enrol(&participants[3 * k + 1], session).await?;
        let third = enrol(&participants[3 * k + 2], session).await?;
        enrolled += 3;
        if third["status"] != "waitlisted" {
            return Err(format!("expected a waitlisted enrollment, got {third}"));
        }
        let first_id = first["id"].as_str().ok_or("enrollment without id")?;
        let (answer, _) = timed(
            client
                .delete(format!("{base}/api/v1/enrollments/{first_id}"))
                .bearer_auth(worker),
        )
        .await?;
        if answer.status != StatusCode::OK {
            return Err(format!("cancelling: {}: {}", answer.status, answer.text()));
        }
        promoted += 1;
    }
    Ok((enrolled, promoted))
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

async fn count(store: &Store, query: &'static str) -> Result<i64, sqlx::Error> {
    match store {
        Store::Sqlite { pool, .. } => sqlx::query_scalar(query).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
    }
}
