//! Load generator for the cross-club occurrence search (`GET /api/v1/occurrences`).
//!
//! Starts the real service in-process on 127.0.0.1 (as `tests/common/mod.rs` does),
//! seeds clubs and published weekly sessions through the HTTP API, then measures
//! sequential requests on one keep-alive connection:
//!
//! * `GET /healthz` (the floor: HTTP round trip + `SELECT 1`),
//! * the first page of 100 of a 31-day window (what a social worker's search does),
//! * the same with `limit=1` and with `city`/`sport` filters (to split fixed from
//!   per-item cost and to see how selective filters behave),
//! * whole walks of the window, following `next_cursor`,
//!
//! and, in-process without HTTP, the token lookup and the search query alone.
//!
//! ```text
//! cargo run --release --example occurrence_search_bench -- --clubs 200 --sessions 2000
//! ```
//!
//! Options: `--clubs N` (200), `--sessions N` (2000), `--clients N` concurrent seeding
//! clients (4), `--healthz N` (500), `--first-pages N` (300), `--filtered N` (100),
//! `--walks N` (20), `--database-url URL` (else `BENCH_DATABASE_URL`, else a temporary
//! SQLite file), `--sqlite-file PATH` (seed a new SQLite file there and keep it, e.g. to
//! inspect query plans with `sqlite3`). Every loop is bounded; the process stops by
//! itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::domain::schedule::resolve_local;
use entourage_sport::domain::tokens::hash_token;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::store::sessions::OccurrenceSearch;
use entourage_sport::store::Store;
use entourage_sport::Service;

/// Whole walks stop after this many pages, whatever the service answers.
const MAX_PAGES_PER_WALK: usize = 100_000;
/// Warm-up requests before each measured series.
const WARM_UP: usize = 20;

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

struct Options {
    clubs: usize,
    sessions: usize,
    clients: usize,
    healthz: usize,
    first_pages: usize,
    filtered: usize,
    walks: usize,
    database_url: Option<String>,
    sqlite_file: Option<PathBuf>,
}

const USAGE: &str = "usage: occurrence_search_bench [--clubs N] [--sessions N] [--clients N] \
[--healthz N] [--first-pages N] [--filtered N] [--walks N] [--database-url URL] [--sqlite-file PATH]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        clubs: 200,
        sessions: 2000,
        clients: 4,
        healthz: 500,
        first_pages: 300,
        filtered: 100,
        walks: 20,
        database_url: std::env::var("BENCH_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty()),
        sqlite_file: None,
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
            "--clients" => options.clients = count()?,
            "--healthz" => options.healthz = count()?,
            "--first-pages" => options.first_pages = count()?,
            "--filtered" => options.filtered = count()?,
            "--walks" => options.walks = count()?,
            "--database-url" => options.database_url = Some(value),
            "--sqlite-file" => options.sqlite_file = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {name}\n{USAGE}")),
        }
    }
    if options.clubs == 0 || options.clients == 0 {
        return Err("--clubs and --clients must be at least 1".into());
    }
    if options.database_url.is_some() && options.sqlite_file.is_some() {
        return Err("give either --database-url (or BENCH_DATABASE_URL) or --sqlite-file".into());
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
            eprintln!("occurrence_search_bench: {message}");
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
}

impl Row {
    fn new(label: impl Into<String>, mut samples: Vec<Duration>, note: impl Into<String>) -> Self {
        samples.sort();
        Self {
            label: label.into(),
            samples,
            note: note.into(),
        }
    }

    fn median(&self) -> Duration {
        percentile(&self.samples, 0.5)
    }

    fn print(&self) {
        println!(
            "| {:<44} | {:>6} | {:>10.3} | {:>10.3} | {:>10.3} | {} |",
            self.label,
            self.samples.len(),
            ms(self.median()),
            ms(percentile(&self.samples, 0.99)),
            ms(self.samples.last().copied().unwrap_or_default()),
            self.note
        );
    }
}

/// One request on the shared keep-alive client: status, body, and the time until the
/// whole body was received (JSON parsing is not included).
async fn timed(request: reqwest::RequestBuilder) -> Result<(StatusCode, Body, Duration), String> {
    let started = Instant::now();
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?;
    Ok((status, Body(body.to_vec()), started.elapsed()))
}

/// A received body.
struct Body(Vec<u8>);

impl Body {
    fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.0).map_err(|e| format!("answer is not JSON: {e}"))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // Only ever the in-process service on 127.0.0.1: never a proxy from the environment.
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(4)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> Result<Value, String> {
    let (status, body, _) = timed(client.post(&url).bearer_auth(token).json(&body)).await?;
    if status != StatusCode::CREATED {
        return Err(format!("POST {url}: {status}: {}", body.text()));
    }
    body.json()
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
    let database_url = match (&options.database_url, &options.sqlite_file) {
        (Some(url), _) => url.clone(),
        (None, Some(path)) => {
            if path.exists() {
                return Err(format!(
                    "{} exists; give a new file to seed",
                    path.display()
                ));
            }
            format!("sqlite://{}", path.display())
        }
        (None, None) => format!("sqlite://{}", data.path().join("bench.sqlite").display()),
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
    let (_, admin) = create_user(
        &store,
        &service.state.mailer.signer,
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

    let outcome = bench(&options, &base, &admin, &store, backend).await;

    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => eprintln!("server stopped with an error: {e}"),
        Ok(Err(e)) => eprintln!("server task failed: {e}"),
        Err(_) => eprintln!("server did not stop within 30 s"),
    }
    if let Some(path) = &options.sqlite_file {
        eprintln!("seeded database kept at {}", path.display());
    }
    outcome
}

async fn bench(
    options: &Options,
    base: &str,
    admin: &str,
    store: &Store,
    backend: &str,
) -> Result<(), String> {
    // ---- Seeding, through the API, with a few concurrent clients. ----
    let seeding = Instant::now();
    let club_ids = seed_clubs(options, base, admin).await?;
    let clubs_took = seeding.elapsed();
    let sessions_started = Instant::now();
    seed_sessions(options, base, admin, &club_ids).await?;
    let sessions_took = sessions_started.elapsed();

    let client = client()?;
    let structure = post(
        &client,
        format!("{base}/api/v1/structures"),
        admin,
        json!({"name": "Bench shelter", "kind": "shelter", "city": "Paris", "contact_email": "shelter@example.org"}),
    )
    .await?;
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

    // The search window: dates read in Paris time, `to` inclusive (as the API reads them).
    let paris = chrono_tz::Europe::Paris;
    let today = Utc::now().with_timezone(&paris).date_naive();
    let from_date = today + chrono::Duration::days(7);
    let to_date = today + chrono::Duration::days(38);
    let window_from = resolve_local(paris, from_date.and_time(NaiveTime::MIN));
    let window_to = resolve_local(
        paris,
        (to_date + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
    );
    let search_url = format!("{base}/api/v1/occurrences");
    let window = [("from", from_date.to_string()), ("to", to_date.to_string())];

    let mut rows = Vec::new();
    let load_before = load_average();

    // ---- GET /healthz: the floor. ----
    let mut samples = Vec::with_capacity(options.healthz);
    for i in 0..WARM_UP + options.healthz {
        let (status, body, took) = timed(client.get(format!("{base}/healthz"))).await?;
        if status != StatusCode::OK {
            return Err(format!("healthz: {status}: {}", body.text()));
        }
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    rows.push(Row::new("GET /healthz (floor)", samples, ""));

    // ---- First page of 100, no filter: the social worker's search. ----
    let (first, bytes, parse) = first_pages(
        &client,
        &search_url,
        &token,
        &window,
        &[("limit", "100")],
        options.first_pages,
        Some(100),
    )
    .await?;
    let first_median = first.median();
    rows.push(Row::new(
        "first page limit=100",
        first.samples,
        format!("{bytes} B body, client JSON parse {:.3} ms", ms(parse)),
    ));
    let (one, bytes, _) = first_pages(
        &client,
        &search_url,
        &token,
        &window,
        &[("limit", "1")],
        options.first_pages,
        Some(1),
    )
    .await?;
    rows.push(Row::new(
        "first page limit=1",
        one.samples,
        format!("{bytes} B body"),
    ));

    // ---- Filtered first pages: one city (1/12 of clubs), one sport in one city. ----
    let city = CITIES[0].0;
    let (by_city, _, _) = first_pages(
        &client,
        &search_url,
        &token,
        &window,
        &[("limit", "100"), ("city", city)],
        options.filtered,
        None,
    )
    .await?;
    let found = by_city.note.clone();
    rows.push(Row::new(
        format!("first page city={city}"),
        by_city.samples,
        found,
    ));
    // A sport of a club in that city: few occurrences match, so more rows are read per page.
    let sport = club_sports(0)[1];
    let (by_both, _, _) = first_pages(
        &client,
        &search_url,
        &token,
        &window,
        &[("limit", "100"), ("city", city), ("sport", sport)],
        options.filtered,
        None,
    )
    .await?;
    let found = by_both.note.clone();
    rows.push(Row::new(
        format!("first page city={city}&sport={sport}"),
        by_both.samples,
        found,
    ));
    // A sport nobody offers: nothing matches, the whole window is read.
    let (nothing, _, _) = first_pages(
        &client,
        &search_url,
        &token,
        &window,
        &[("limit", "100"), ("sport", "escrime")],
        options.filtered,
        None,
    )
    .await?;
    let found = nothing.note.clone();
    rows.push(Row::new(
        "first page sport=escrime (no match)",
        nothing.samples,
        found,
    ));

    // ---- Whole walks of the window, page by page. ----
    let mut walk_samples = Vec::with_capacity(options.walks);
    let mut page_samples = Vec::new();
    let mut last_page_samples = Vec::new();
    let mut pages_per_walk = 0;
    let mut items_per_walk = 0;
    // One uncounted warm-up walk first; none at all with `--walks 0`.
    let total_walks = if options.walks == 0 {
        0
    } else {
        options.walks + 1
    };
    for walk in 0..total_walks {
        let started = Instant::now();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        let mut items = 0;
        loop {
            if pages >= MAX_PAGES_PER_WALK {
                return Err(format!("a walk went past {MAX_PAGES_PER_WALK} pages"));
            }
            let mut request = client
                .get(&search_url)
                .bearer_auth(&token)
                .query(&window)
                .query(&[("limit", "100")]);
            if let Some(cursor) = &cursor {
                request = request.query(&[("cursor", cursor.as_str())]);
            }
            let (status, body, took) = timed(request).await?;
            if status != StatusCode::OK {
                return Err(format!("walk page {pages}: {status}: {}", body.text()));
            }
            let page = body.json()?;
            pages += 1;
            items += page["items"].as_array().map_or(0, Vec::len);
            if walk > 0 {
                page_samples.push(took);
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => {
                    if walk > 0 {
                        last_page_samples.push(took);
                    }
                    break;
                }
            }
        }
        // The first walk warms caches and is not counted.
        if walk > 0 {
            walk_samples.push(started.elapsed());
        }
        pages_per_walk = pages;
        items_per_walk = items;
    }
    if options.walks > 0 {
        rows.push(Row::new("walk: each page (limit=100)", page_samples, ""));
        rows.push(Row::new(
            "walk: last page (deepest cursor)",
            last_page_samples,
            "",
        ));
        rows.push(Row::new(
            format!("full walk ({pages_per_walk} pages)"),
            walk_samples,
            format!("{items_per_walk} occurrences in the window"),
        ));
    }

    // ---- In-process, without HTTP: what the handler asks the database. ----
    // Run where the handler runs (a runtime worker), not on the main thread.
    let measured = tokio::spawn(in_process(
        store.clone(),
        hash_token(&token),
        window_from,
        window_to,
        options.first_pages,
    ))
    .await
    .map_err(|e| format!("in-process task: {e}"))??;
    rows.extend(measured);

    // ---- Report. ----
    let load_after = load_average();
    let materialised = count_rows(store).await.unwrap_or(-1);
    println!();
    println!(
        "## occurrence search: {backend}, {} clubs, {} published weekly sessions, window {from_date}..{to_date} (Paris)",
        options.clubs, options.sessions
    );
    println!();
    println!(
        "seeding through the API ({} clients): {} clubs in {:.1} s, {} sessions in {:.1} s ({:.0} sessions/s); {materialised} materialised occurrence rows",
        options.clients,
        options.clubs,
        clubs_took.as_secs_f64(),
        options.sessions,
        sessions_took.as_secs_f64(),
        options.sessions as f64 / sessions_took.as_secs_f64().max(1e-9),
    );
    println!();
    println!(
        "| {:<44} | {:>6} | {:>10} | {:>10} | {:>10} | notes |",
        "what (sequential, one keep-alive conn)", "n", "median ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<40}|{:->8}|{:->12}|{:->12}|{:->12}|{:-<7}|",
        "", "", "", "", "", ""
    );
    for row in &rows {
        row.print();
    }
    println!();
    println!(
        "machine: {} cores; load average before/after measuring: {load_before} / {load_after}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let target = match options.sessions {
        2000 => Some(10.0),
        20000 => Some(50.0),
        _ => None,
    };
    if let Some(target) = target {
        let median = ms(first_median);
        println!(
            "target: first page median under {target} ms at {} sessions: {median:.3} ms, {}",
            options.sessions,
            if median < target { "MET" } else { "NOT MET" }
        );
    }
    Ok(())
}

/// The token lookup and the search query alone, straight on the store: what the handler
/// asks the database for a first page, without HTTP, views or JSON.
async fn in_process(
    store: Store,
    hash: String,
    window_from: DateTime<Utc>,
    window_to: DateTime<Utc>,
    n: usize,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let started = Instant::now();
        let user = store
            .user_by_token_hash(&hash)
            .await
            .map_err(|e| e.to_string())?;
        if user.is_none() {
            return Err("token lookup found nobody".into());
        }
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
    }
    rows.push(Row::new("in-process: token lookup (auth)", samples, ""));
    for (label, limit) in [
        ("in-process: search query, 101 rows", 101),
        ("in-process: search query, 2 rows", 2),
    ] {
        let search = OccurrenceSearch {
            from: window_from,
            to: window_to,
            sport: None,
            city: None,
            club_id: None,
            with_places: false,
            after: None,
            limit,
        };
        let mut samples = Vec::with_capacity(n);
        for i in 0..WARM_UP + n {
            let started = Instant::now();
            let found = store
                .search_occurrences(&search)
                .await
                .map_err(|e| e.to_string())?;
            if found.len() as i64 != limit {
                return Err(format!(
                    "the search query found {} rows, not {limit}",
                    found.len()
                ));
            }
            if i >= WARM_UP {
                samples.push(started.elapsed());
            }
        }
        rows.push(Row::new(label, samples, ""));
    }

    Ok(rows)
}

/// `n` measured first pages (after a warm-up) of the window with `extra` parameters;
/// checks the page size when `expect` is given. Returns the samples (with the number of
/// items found in `note`), the body size and the median client-side JSON parse time.
async fn first_pages(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    window: &[(&str, String)],
    extra: &[(&str, &str)],
    n: usize,
    expect: Option<usize>,
) -> Result<(Row, usize, Duration), String> {
    let mut samples = Vec::with_capacity(n);
    let mut parses = Vec::with_capacity(n);
    let mut size = 0;
    let mut found = 0;
    for i in 0..WARM_UP + n {
        let (status, body, took) = timed(
            client
                .get(url)
                .bearer_auth(token)
                .query(window)
                .query(extra),
        )
        .await?;
        if status != StatusCode::OK {
            return Err(format!("search {extra:?}: {status}: {}", body.text()));
        }
        let parsing = Instant::now();
        let page = body.json()?;
        let parse = parsing.elapsed();
        found = page["items"].as_array().map_or(0, Vec::len);
        if let Some(expect) = expect {
            if found != expect || page["next_cursor"].as_str().is_none() {
                return Err(format!(
                    "search {extra:?}: {found} items, expected {expect} and a next page"
                ));
            }
        }
        size = body.0.len();
        if i >= WARM_UP {
            samples.push(took);
            parses.push(parse);
        }
    }
    parses.sort();
    Ok((
        Row::new("", samples, format!("{found} items")),
        size,
        percentile(&parses, 0.5),
    ))
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

async fn seed_sessions(
    options: &Options,
    base: &str,
    admin: &str,
    clubs: &[String],
) -> Result<(), String> {
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
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(());
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
                post(
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
                if (i + 1) % progress_every == 0 {
                    eprintln!("  {} sessions seeded ({:.1} s)", i + 1, started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("seeding task: {e}"))??;
    }
    Ok(())
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

async fn count_rows(store: &Store) -> Result<i64, sqlx::Error> {
    let query = "SELECT COUNT(*) FROM occurrences";
    match store {
        Store::Sqlite { pool, .. } => sqlx::query_scalar(query).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
    }
}
