//! Impact figures benchmark (`GET /api/v1/stats/encounters`): a year of attendance —
//! 1,000,000 records by default — over 300 clubs, then the year's figures grouped by
//! month and by club, measured over HTTP on one keep-alive connection.
//!
//! Starts the real service in-process on 127.0.0.1 (as `tests/common/mod.rs` does) on a
//! fresh database and seeds, through the HTTP API, what is cheap: structures with a
//! social worker each, clubs with a manager each, two published weekly sessions per club
//! that started 52 weeks ago (their occurrence keys and starts are read back from
//! `GET /api/v1/sessions/{id}/occurrences`). What would take hours through the API goes
//! in with SQL, in batched multi-row INSERTs inside transactions, in the order a real
//! deployment writes it (occurrence by occurrence, oldest first): participants, their
//! enrollments, one attendance sheet per occurrence, the attendance records (about 75 %
//! present, 18 % absent, 7 % excused; the participant's structure and situation copied
//! into each row), anonymous walk-ins; then what the service derives when a sheet is
//! recorded (`Store::rebuild_attendance_rollups`: counts per sheet, presence masks,
//! first encounters).
//! After `ANALYZE` (and `PRAGMA optimize` on SQLite) the service is restarted on the same
//! database, as a deployment would be, and measured:
//!
//! * admin, the year by month, club, sport, situation and structure, and by month as
//!   CSV; a club manager (their club) by month; a social worker (their structure) by
//!   every grouping: the target is a median under 300 ms for each,
//! * the dashboard page `/app/stats` for the year, signed in as a browser is (admin by
//!   month, situation and structure; a social worker by month): under 400 ms.
//!
//! Every answer is checked against what was inserted (total encounters = present records
//! + walk-ins), so an error page cannot be measured.
//!
//! ```text
//! cargo run --release --example stats_bench -- [--records 1000000] [--clubs 300]
//! ```
//!
//! Options: `--records N` attendance rows (1,000,000), `--clubs N` (300),
//! `--sessions-per-club N` (2), `--structures N` (20), `--participants N` (25,000),
//! `--requests N` timed requests per query (15), `--warm-up N` (3), `--clients N`
//! concurrent seeding clients (4), `--no-analyze`, `--database-url URL` (else
//! `BENCH_DATABASE_URL`, else a temporary SQLite file; PostgreSQL wants a fresh, empty
//! database), `--sqlite-file PATH` (seed a new SQLite file there and keep it, to read
//! query plans with `sqlite3` afterwards). Every loop is bounded; the process stops by
//! itself.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::QueryBuilder;
use uuid::Uuid;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::domain::participants::{CODE_ALPHABET, CODE_LENGTH, ERASED_NAME};
use entourage_sport::domain::rsvp::Signer;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::store::Store;
use entourage_sport::Service;

#[path = "support/sign_in.rs"]
mod support;

/// Bound parameters per statement: SQLite's limit (PostgreSQL allows 65,535).
const MAX_PARAMETERS: usize = 32_766;
/// Rows per transaction when inserting the attendance records.
const ROWS_PER_TRANSACTION: usize = 100_000;
/// Weeks of history: every weekly session has exactly this many occurrences in the year.
const WEEKS: usize = 52;
/// Places per occurrence: rosters of about 32 with a long tail.
const CAPACITY: i64 = 60;
const SECRET_KEY: &str = "stats-bench-secret-key-0123456789abcdef0123456789";
/// The median asked of every grouping and scope.
const TARGET_MS: f64 = 300.0;
/// The median asked of the dashboard page.
const PAGE_TARGET_MS: f64 = 400.0;

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

/// Situations with their share in thousandths (sums to 1000).
const SITUATIONS: [(&str, u64); 8] = [
    ("street", 200),
    ("shelter", 250),
    ("single_parent", 100),
    ("student", 80),
    ("young_care_leaver", 70),
    ("migrant", 180),
    ("isolated_senior", 70),
    ("other", 50),
];

/// Walk-ins' situations: often not said.
const WALK_IN_SITUATIONS: [&str; 9] = [
    "unknown",
    "unknown",
    "unknown",
    "street",
    "shelter",
    "migrant",
    "student",
    "other",
    "isolated_senior",
];

const FIRST_NAMES: [&str; 24] = [
    "Amina", "Moussa", "Fatou", "Karim", "Léa", "Yacine", "Inès", "Mamadou", "Sarah", "Ibrahim",
    "Chloé", "Omar", "Aïcha", "Lucas", "Nadia", "Samir", "Julie", "Bilal", "Awa", "Thomas",
    "Mariam", "Youssef", "Emma", "Hugo",
];

const LAST_NAMES: [&str; 20] = [
    "Diallo", "Martin", "Traoré", "Benali", "Dubois", "Koné", "Haddad", "Petit", "Cissé", "Moreau",
    "Bensaïd", "Laurent", "Camara", "Garcia", "Mendy", "Lefebvre", "Ndiaye", "Roux", "Kaci",
    "Fontaine",
];

const STRUCTURE_KINDS: [&str; 3] = ["shelter", "association", "public_service"];

struct Options {
    records: usize,
    clubs: usize,
    sessions_per_club: usize,
    structures: usize,
    participants: usize,
    requests: usize,
    warm_up: usize,
    clients: usize,
    analyze: bool,
    database_url: Option<String>,
    sqlite_file: Option<PathBuf>,
}

const USAGE: &str = "usage: stats_bench [--records N] [--clubs N] [--sessions-per-club N] \
[--structures N] [--participants N] [--requests N] [--warm-up N] [--clients N] [--no-analyze] \
[--database-url URL] [--sqlite-file PATH]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        records: 1_000_000,
        clubs: 300,
        sessions_per_club: 2,
        structures: 20,
        participants: 25_000,
        requests: 15,
        warm_up: 3,
        clients: 4,
        analyze: true,
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
        match name.as_str() {
            "--help" | "-h" => return Err(USAGE.into()),
            "--no-analyze" => {
                options.analyze = false;
                continue;
            }
            _ => {}
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
                .replace(['_', ','], "")
                .parse::<usize>()
                .map_err(|_| format!("{name}: {value:?} is not a whole number"))
        };
        match name.as_str() {
            "--records" => options.records = count()?,
            "--clubs" => options.clubs = count()?,
            "--sessions-per-club" => options.sessions_per_club = count()?,
            "--structures" => options.structures = count()?,
            "--participants" => options.participants = count()?,
            "--requests" => options.requests = count()?,
            "--warm-up" => options.warm_up = count()?,
            "--clients" => options.clients = count()?,
            "--database-url" => options.database_url = Some(value),
            "--sqlite-file" => options.sqlite_file = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {name}\n{USAGE}")),
        }
    }
    if options.clubs < 2
        || options.sessions_per_club == 0
        || options.sessions_per_club > 7
        || options.structures == 0
        || options.participants == 0
        || options.requests == 0
        || options.clients == 0
    {
        return Err(
            "--clubs must be at least 2, --sessions-per-club 1 to 7, and --structures, \
             --participants, --requests, --clients at least 1"
                .into(),
        );
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
            eprintln!("stats_bench: {message}");
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

/// A deterministic value in `0..n` for `(salt, a, b)`.
fn pick(salt: u64, a: u64, b: u64, n: u64) -> u64 {
    mix(mix(salt ^ a.wrapping_mul(0x100_0000_01B3)) ^ b) % n.max(1)
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

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    }
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // Only ever the in-process service on 127.0.0.1: never a proxy from the environment.
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(4)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One request: status, content type, body, and the time until the whole body was
/// received (parsing is not included).
async fn timed(
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, String, Vec<u8>, Duration), String> {
    let started = Instant::now();
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?;
    Ok((status, content_type, body.to_vec(), started.elapsed()))
}

async fn send_json(
    request: reqwest::RequestBuilder,
    expect: StatusCode,
    what: &str,
) -> Result<Value, String> {
    let (status, _, body, _) = timed(request).await?;
    if status != expect {
        return Err(format!(
            "{what}: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{what}: answer is not JSON: {e}"))
}

fn uuid_of(value: &Value, what: &str) -> Result<Uuid, String> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{what}: no id in the answer"))
}

/// Runs `make(client, i)` for `i` in `0..count` on `clients` concurrent keep-alive
/// clients; answers in index order.
async fn fan_out<T, F, Fut>(count: usize, clients: usize, make: F) -> Result<Vec<T>, String>
where
    T: Send + 'static,
    F: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let mut tasks = Vec::new();
    for _ in 0..clients.min(count.max(1)) {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let client = client()?;
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(made);
                }
                made.push((i, make(client.clone(), i).await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.map_err(|e| format!("seeding task: {e}"))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// The service serving on a loopback port until stopped.
struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(service: Service) -> Result<Self, String> {
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
        Ok(Self {
            base: format!("http://{address}"),
            stop,
            server: tokio::spawn(serving),
        })
    }

    /// Stops serving; the service closes its pool on the way out.
    async fn stop(self) {
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(60), self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("server stopped with an error: {e}"),
            Ok(Err(e)) => eprintln!("server task failed: {e}"),
            Err(_) => eprintln!("server did not stop within 60 s"),
        }
    }
}

fn config(settings: &Settings) -> Result<Config, String> {
    let mut config = Config::from_settings(settings).map_err(|e| e.to_string())?;
    // Enrollments are written straight into the tables: no reminder scan while measuring.
    config.jobs.reminder_scan = Duration::from_secs(24 * 3600);
    Ok(config)
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
    let backend = backend_of(&database_url);
    let settings = Settings {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        data_dir: PathBuf::from(data.path()),
        secret_key: Some(SECRET_KEY.into()),
        ..Settings::default()
    };

    // ---- First start: seeding. ----
    let service = Service::build(config(&settings)?)
        .await
        .map_err(|e| format!("service: {e}"))?;
    let store = service.state.store.clone();
    let (admin_user, admin) = create_user(
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
    let running = Running::start(service).await?;
    eprintln!(
        "service on {} ({backend}); seeding {} clubs, {} sessions, {} participants, {} attendance records…",
        running.base,
        options.clubs,
        options.clubs * options.sessions_per_club,
        options.participants,
        options.records
    );
    let seeded = seed(&options, &running.base, &admin, &store).await;
    running.stop().await;
    let seeded = seeded?;

    // ---- Second start on the same database, as after a deployment: fresh connections
    // that read the planner statistics. ----
    let service = Service::build(config(&settings)?)
        .await
        .map_err(|e| format!("service (restart): {e}"))?;
    let store = service.state.store.clone();
    let signer = service.state.mailer.signer.clone();
    let running = Running::start(service).await?;
    let who = Who {
        admin: &admin,
        admin_id: admin_user.id,
        signer: &signer,
    };
    let outcome = measure(&options, &running.base, &who, &seeded, &store, backend).await;
    running.stop().await;
    if let Some(path) = &options.sqlite_file {
        eprintln!("seeded database kept at {}", path.display());
    }
    outcome
}

// ------------------------------------------------------------------------------------
// Seeding
// ------------------------------------------------------------------------------------

struct Structure {
    id: Uuid,
    worker_id: Uuid,
    worker_token: String,
}

struct Club {
    id: Uuid,
    manager_id: Uuid,
    manager_token: String,
}

struct Occurrence {
    key: String,
    start_at: DateTime<Utc>,
    local_date: String,
}

struct Session {
    id: Uuid,
    club: usize,
    sport: &'static str,
    duration_minutes: i64,
    occurrences: Vec<Occurrence>,
}

struct Participant {
    id: Uuid,
    structure: usize,
    situation: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    code: String,
    erased: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The participant's session at their club.
    Main,
    /// The club's other session, too.
    Both,
    /// A spell at another club.
    Visit,
}

/// A series enrollment, attended from occurrence `start` to `end` (exclusive).
struct Enrollment {
    id: Uuid,
    participant: usize,
    session: usize,
    start: usize,
    end: usize,
    waitlisted: bool,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Present,
    Absent,
    Excused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Excused => "excused",
        }
    }
}

/// One attendance row: occurrence `week` of `session`.
struct Record {
    session: u32,
    week: u8,
    enrollment: u32,
    status: Status,
    held_place: bool,
}

/// Figures the answer must show, as seeded.
#[derive(Default, Clone, Debug, PartialEq)]
struct Expected {
    participant_encounters: i64,
    walk_ins: i64,
    unique_participants: i64,
    occurrences_held: i64,
    confirmed_places: i64,
    attended_places: i64,
    first_encounters: i64,
}

impl Expected {
    fn encounters(&self) -> i64 {
        self.participant_encounters + self.walk_ins
    }
}

struct Plan {
    participants: Vec<Participant>,
    enrollments: Vec<Enrollment>,
    /// Occurrences `(session, week)` oldest first (ties by session id).
    order: Vec<(u32, u8)>,
    /// Attendance rows in `order`.
    records: Vec<Record>,
    /// Walk-ins per occurrence (`session * WEEKS + week`): (situation, count).
    walk_ins: Vec<Vec<(&'static str, i64)>>,
    present: i64,
    absent: i64,
    excused: i64,
    held: i64,
    walk_in_rows: i64,
    /// Participants with at least one present record: their first encounters.
    first_encounters: i64,
    admin: Expected,
    manager: Expected,
    worker: Expected,
}

struct Seeded {
    year_from: NaiveDate,
    year_to: NaiveDate,
    clubs: Vec<Club>,
    structures: Vec<Structure>,
    sessions: usize,
    plan: Plan,
    http_seconds: f64,
    sql_steps: Vec<(String, f64)>,
    sql_seconds: f64,
}

async fn seed(options: &Options, base: &str, admin: &str, store: &Store) -> Result<Seeded, String> {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    // 52 whole weeks ending yesterday: each weekly session has exactly 52 occurrences.
    let year_from = today - chrono::Duration::days(7 * WEEKS as i64);
    let year_to = today - chrono::Duration::days(1);

    let http_started = Instant::now();
    let structures = seed_structures(options, base, admin).await?;
    let clubs = seed_clubs(options, base, admin).await?;
    eprintln!(
        "  {} structures and {} clubs with their staff ({:.1} s)",
        structures.len(),
        clubs.len(),
        http_started.elapsed().as_secs_f64()
    );
    let sessions = seed_sessions(options, base, admin, &clubs, year_from, year_to).await?;
    let http_seconds = http_started.elapsed().as_secs_f64();
    eprintln!(
        "  {} sessions and their {} occurrences read back ({http_seconds:.1} s through HTTP)",
        sessions.len(),
        sessions.len() * WEEKS
    );

    let planning = Instant::now();
    let plan = plan(options, &sessions, &clubs, &structures)?;
    eprintln!(
        "  planned {} participants, {} enrollments, {} attendance records, {} walk-in rows ({:.1} s)",
        plan.participants.len(),
        plan.enrollments.len(),
        plan.records.len(),
        plan.walk_in_rows,
        planning.elapsed().as_secs_f64()
    );

    let sql_started = Instant::now();
    let sql_steps = insert_all(
        options,
        store,
        &sessions,
        &clubs,
        &structures,
        &plan,
        year_from,
    )
    .await?;
    let sql_seconds = sql_started.elapsed().as_secs_f64();
    verify_seeded(store, &plan).await?;

    Ok(Seeded {
        year_from,
        year_to,
        clubs,
        structures,
        sessions: sessions.len(),
        plan,
        http_seconds,
        sql_steps,
        sql_seconds,
    })
}

async fn seed_structures(
    options: &Options,
    base: &str,
    admin: &str,
) -> Result<Vec<Structure>, String> {
    let (base, admin) = (base.to_owned(), admin.to_owned());
    fan_out(options.structures, options.clients, move |client, i| {
        let (base, admin) = (base.clone(), admin.clone());
        async move {
            let (city, _) = CITIES[i % CITIES.len()];
            let structure = send_json(
                client
                    .post(format!("{base}/api/v1/structures"))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "name": format!("Accueil solidaire {i:02} de {city}"),
                        "kind": STRUCTURE_KINDS[i % STRUCTURE_KINDS.len()],
                        "city": city,
                        "contact_email": format!("structure{i}@example.org"),
                    })),
                StatusCode::CREATED,
                "POST /structures",
            )
            .await?;
            let id = uuid_of(&structure["id"], "structure")?;
            let user = send_json(
                client
                    .post(format!("{base}/api/v1/users"))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "role": "social_worker",
                        "name": format!("Travailleur social {i:02}"),
                        "email": format!("worker{i}@example.org"),
                        "structure_id": id,
                    })),
                StatusCode::CREATED,
                "POST /users (social worker)",
            )
            .await?;
            Ok(Structure {
                id,
                worker_id: uuid_of(&user["user"]["id"], "social worker")?,
                worker_token: user["token"]
                    .as_str()
                    .ok_or("no token for the social worker")?
                    .to_owned(),
            })
        }
    })
    .await
}

/// Sports of club `i`.
fn club_sports(i: usize) -> [&'static str; 2] {
    let h = mix(i as u64);
    [
        SPORTS[i % SPORTS.len()],
        SPORTS[(i + 3 + (h % 5) as usize) % SPORTS.len()],
    ]
}

async fn seed_clubs(options: &Options, base: &str, admin: &str) -> Result<Vec<Club>, String> {
    let (base, admin) = (base.to_owned(), admin.to_owned());
    fan_out(options.clubs, options.clients, move |client, i| {
        let (base, admin) = (base.clone(), admin.clone());
        async move {
            let (city, postal_code) = CITIES[i % CITIES.len()];
            let h = mix(i as u64);
            let club = send_json(
                client
                    .post(format!("{base}/api/v1/clubs"))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "name": format!("Club sportif {i:04} de {city}"),
                        "sports": club_sports(i),
                        "address": format!("{} rue de la République", 1 + h % 200),
                        "postal_code": postal_code,
                        "city": city,
                        "latitude": 48.85 + (h % 100) as f64 / 1000.0,
                        "longitude": 2.35 + (h % 97) as f64 / 1000.0,
                        "contact_email": format!("club{i}@example.org"),
                        "contact_phone": "+33 1 23 45 67 89",
                        "partnership": {"status": "active", "since": "2024-09-01"}
                    })),
                StatusCode::CREATED,
                "POST /clubs",
            )
            .await?;
            let id = uuid_of(&club["id"], "club")?;
            let user = send_json(
                client
                    .post(format!("{base}/api/v1/users"))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "role": "club_manager",
                        "name": format!("Responsable club {i:04}"),
                        "email": format!("manager{i}@example.org"),
                        "club_id": id,
                    })),
                StatusCode::CREATED,
                "POST /users (club manager)",
            )
            .await?;
            Ok(Club {
                id,
                manager_id: uuid_of(&user["user"]["id"], "club manager")?,
                manager_token: user["token"]
                    .as_str()
                    .ok_or("no token for the club manager")?
                    .to_owned(),
            })
        }
    })
    .await
}

async fn seed_sessions(
    options: &Options,
    base: &str,
    admin: &str,
    clubs: &[Club],
    year_from: NaiveDate,
    year_to: NaiveDate,
) -> Result<Vec<Session>, String> {
    let (base, admin) = (base.to_owned(), admin.to_owned());
    let club_ids: Arc<Vec<Uuid>> = Arc::new(clubs.iter().map(|c| c.id).collect());
    let per_club = options.sessions_per_club;
    let count = clubs.len() * per_club;
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    fan_out(count, options.clients, move |client, i| {
        let (base, admin, club_ids, done) =
            (base.clone(), admin.clone(), club_ids.clone(), done.clone());
        async move {
            let (club, j) = (i / per_club, i % per_club);
            let h = mix(1_000_003 + i as u64);
            // The club's sessions fall on different days (3 days apart, modulo 7).
            let weekday = ((mix(club as u64) % 7) as usize + 3 * j) % 7;
            let hour = 9 + (h >> 8) % 12;
            let minute = [0, 15, 30, 45][((h >> 16) % 4) as usize];
            let duration = [60i64, 90, 120][((h >> 24) % 3) as usize];
            let sport = club_sports(club)[j % 2];
            // First occurrence: the first such weekday of the year.
            let shift =
                (weekday as i64 - year_from.weekday().num_days_from_monday() as i64).rem_euclid(7);
            let first = year_from + chrono::Duration::days(shift);
            let level = ["débutants", "tous niveaux", "confirmés"][((h >> 36) % 3) as usize];
            let session = send_json(
                client
                    .post(format!("{base}/api/v1/clubs/{}/sessions", club_ids[club]))
                    .bearer_auth(&admin)
                    .json(&json!({
                        "title": format!("{sport} {level}"),
                        "sport": sport,
                        "start": format!("{first}T{hour:02}:{minute:02}:00"),
                        "timezone": "Europe/Paris",
                        "duration_minutes": duration,
                        "rrule": format!("FREQ=WEEKLY;BYDAY={}", WEEKDAYS[weekday]),
                        "capacity": CAPACITY,
                        "status": "published"
                    })),
                StatusCode::CREATED,
                "POST /clubs/{id}/sessions",
            )
            .await?;
            let id = uuid_of(&session["id"], "session")?;
            let list = send_json(
                client
                    .get(format!("{base}/api/v1/sessions/{id}/occurrences"))
                    .bearer_auth(&admin)
                    .query(&[("from", year_from.to_string()), ("to", year_to.to_string())]),
                StatusCode::OK,
                "GET /sessions/{id}/occurrences",
            )
            .await?;
            let mut occurrences = Vec::new();
            for item in list["items"].as_array().ok_or("occurrences: no items")? {
                let key = item["key"].as_str().ok_or("occurrence without key")?;
                let start = item["start"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .ok_or("occurrence without a readable start")?;
                occurrences.push(Occurrence {
                    key: key.to_owned(),
                    start_at: start.with_timezone(&Utc),
                    local_date: start.date_naive().to_string(),
                });
            }
            if occurrences.len() != WEEKS {
                return Err(format!(
                    "session {id} has {} occurrences from {year_from} to {year_to}, not {WEEKS}",
                    occurrences.len()
                ));
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % (count / 5).max(1) == 0 {
                eprintln!("  {n} sessions ({:.1} s)", started.elapsed().as_secs_f64());
            }
            Ok(Session {
                id,
                club,
                sport,
                duration_minutes: duration,
                occurrences,
            })
        }
    })
    .await
}

/// A door code for participant `i`: a bijection of `i` onto the codes.
fn code_of(i: usize) -> String {
    let alphabet = CODE_ALPHABET.len() as u64;
    let space = alphabet.pow(CODE_LENGTH as u32);
    // 7,368,787 is prime to 25^6: distinct indexes give distinct codes.
    let mut n = (i as u64 * 7_368_787 + 1_234_567) % space;
    let mut code = String::with_capacity(CODE_LENGTH);
    for _ in 0..CODE_LENGTH {
        code.push(CODE_ALPHABET[(n % alphabet) as usize] as char);
        n /= alphabet;
    }
    code
}

fn situation_of(p: usize) -> &'static str {
    let mut x = pick(11, p as u64, 0, 1000);
    for (situation, share) in SITUATIONS {
        if x < share {
            return situation;
        }
        x -= share;
    }
    "other"
}

/// A tenure of `length` weeks starting anywhere from `length - 1` weeks before the year
/// to its last week, clipped to the year: as many people on the roster each week.
fn tenure(length: usize, h: u64) -> (usize, usize) {
    let positions = (WEEKS + length - 1) as u64;
    let start = (h % positions) as i64 - (length as i64 - 1);
    let end = (start + length as i64).min(WEEKS as i64);
    (start.max(0) as usize, end as usize)
}

/// Present about 75 %, absent 18 %, excused 7 %; some people come more than others.
fn status_of(p: usize, session: usize, week: usize) -> (Status, u64) {
    let u = pick(23, ((p as u64) << 24) | session as u64, week as u64, 1000);
    let bias = pick(29, p as u64, 0, 301) as i64 - 150;
    let status = if u >= 930 {
        Status::Excused
    } else if (u as i64) < 750 + bias {
        Status::Present
    } else {
        Status::Absent
    };
    (status, u)
}

fn plan(
    options: &Options,
    sessions: &[Session],
    clubs: &[Club],
    structures: &[Structure],
) -> Result<Plan, String> {
    let per_club = options.sessions_per_club;
    let n_clubs = clubs.len();
    let n = options.participants;
    let mut participants = Vec::with_capacity(n);
    let mut enrollments: Vec<Enrollment> = Vec::with_capacity(n * 2);
    for p in 0..n {
        let h = mix(p as u64 ^ 0x5EED);
        // Structures differ in size: a few big ones, a tail of small ones.
        let x = pick(3, p as u64, 0, 1_000_000) as f64 / 1_000_000.0;
        let structure =
            ((x.powf(1.6) * structures.len() as f64) as usize).min(structures.len() - 1);
        let club = p % n_clubs;
        let main = club * per_club + (p / n_clubs) % per_club;
        let length = 20 + (h % 81) as usize; // 20 to 100 weeks
        let (start, end) = tenure(length, h >> 8);
        enrollments.push(Enrollment {
            id: Uuid::new_v4(),
            participant: p,
            session: main,
            start,
            end,
            waitlisted: false,
            kind: Kind::Main,
        });
        // 40 % come to both of their club's sessions, from a little later on.
        if per_club > 1 && (h >> 24) % 100 < 40 {
            let other = club * per_club + (main - club * per_club + 1) % per_club;
            let later = start + ((h >> 32) % 9) as usize;
            if later < end {
                enrollments.push(Enrollment {
                    id: Uuid::new_v4(),
                    participant: p,
                    session: other,
                    start: later,
                    end,
                    waitlisted: false,
                    kind: Kind::Both,
                });
            }
        }
        // 20 % spend a few weeks at another club; some of them on its waiting list.
        if (h >> 40) % 100 < 20 {
            let g = mix(h);
            let other_club = (club + 1 + (g % (n_clubs as u64 - 1)) as usize) % n_clubs;
            let session = other_club * per_club + ((g >> 16) % per_club as u64) as usize;
            let length = 3 + ((g >> 24) % 14) as usize;
            let (start, end) = tenure(length, g >> 32);
            enrollments.push(Enrollment {
                id: Uuid::new_v4(),
                participant: p,
                session,
                start,
                end,
                waitlisted: (g >> 56) % 100 < 15,
                kind: Kind::Visit,
            });
        }
        participants.push(Participant {
            id: Uuid::new_v4(),
            structure,
            situation: situation_of(p),
            first_name: FIRST_NAMES[pick(5, p as u64, 0, FIRST_NAMES.len() as u64) as usize],
            last_name: LAST_NAMES[pick(7, p as u64, 0, LAST_NAMES.len() as u64) as usize],
            code: code_of(p),
            erased: false,
        });
    }

    // Exactly `records` rows (as far as spells allow): shorten visits, then the spells
    // in the club's other session, from their end; or lengthen main spells; one week at
    // a time, round robin. A spell in both sessions stays within the main one.
    let mut total: usize = enrollments.iter().map(|e| e.end - e.start).sum();
    let target = options.records;
    for kind in [Kind::Visit, Kind::Both] {
        while total > target {
            let before = total;
            for e in enrollments.iter_mut().filter(|e| e.kind == kind) {
                if total == target {
                    break;
                }
                if e.end - e.start > 1 {
                    e.end -= 1;
                    total -= 1;
                }
            }
            if total == before {
                break;
            }
        }
    }
    while total < target {
        let before = total;
        for e in enrollments.iter_mut().filter(|e| e.kind == Kind::Main) {
            if total == target {
                break;
            }
            if e.end < WEEKS {
                e.end += 1;
                total += 1;
            } else if e.start > 0 {
                e.start -= 1;
                total += 1;
            }
        }
        if total == before {
            break;
        }
    }
    enrollments.retain(|e| e.end > e.start);

    // 1 % of those gone before the last two months asked to be forgotten.
    let mut last_week = vec![0usize; n];
    for e in &enrollments {
        last_week[e.participant] = last_week[e.participant].max(e.end);
    }
    for (p, participant) in participants.iter_mut().enumerate() {
        participant.erased = last_week[p] < WEEKS - 8 && pick(31, p as u64, 0, 100) == 0;
    }

    // Occurrences oldest first; ties by session id (as `ORDER BY start_at, session_id`).
    let mut order: Vec<(u32, u8)> = (0..sessions.len())
        .flat_map(|s| (0..WEEKS).map(move |w| (s as u32, w as u8)))
        .collect();
    order.sort_by(|a, b| {
        let (sa, sb) = (&sessions[a.0 as usize], &sessions[b.0 as usize]);
        sa.occurrences[a.1 as usize]
            .start_at
            .cmp(&sb.occurrences[b.1 as usize].start_at)
            .then_with(|| sa.id.cmp(&sb.id))
    });

    let mut roster: Vec<Vec<u32>> = vec![Vec::new(); sessions.len()];
    for (i, e) in enrollments.iter().enumerate() {
        roster[e.session].push(i as u32);
    }

    let manager_club = 0usize;
    let worker_structure = 0usize;
    let mut plan = Plan {
        participants,
        enrollments: Vec::new(),
        order: Vec::new(),
        records: Vec::with_capacity(target),
        walk_ins: vec![Vec::new(); sessions.len() * WEEKS],
        present: 0,
        absent: 0,
        excused: 0,
        held: 0,
        walk_in_rows: 0,
        first_encounters: 0,
        admin: Expected::default(),
        manager: Expected::default(),
        worker: Expected::default(),
    };
    // First present record of each participant: its session (records come oldest first).
    let mut first_at: Vec<Option<usize>> = vec![None; n];
    let mut seen_admin = HashSet::new();
    let mut seen_manager = HashSet::new();
    let mut seen_worker = HashSet::new();
    for &(s, w) in &order {
        let (session, week) = (s as usize, w as usize);
        let at_managers_club = sessions[session].club == manager_club;
        let mut worker_here = false;
        for &e in &roster[session] {
            let enrollment = &enrollments[e as usize];
            if week < enrollment.start || week >= enrollment.end {
                continue;
            }
            let p = enrollment.participant;
            let (status, u) = status_of(p, session, week);
            let held_place = !enrollment.waitlisted && (status != Status::Excused || u % 5 == 0);
            let present = status == Status::Present;
            match status {
                Status::Present => plan.present += 1,
                Status::Absent => plan.absent += 1,
                Status::Excused => plan.excused += 1,
            }
            plan.held += held_place as i64;
            let of_worker = plan.participants[p].structure == worker_structure;
            let mut scopes: Vec<(&mut Expected, &mut HashSet<usize>)> =
                vec![(&mut plan.admin, &mut seen_admin)];
            if at_managers_club {
                scopes.push((&mut plan.manager, &mut seen_manager));
            }
            if of_worker {
                worker_here = true;
                scopes.push((&mut plan.worker, &mut seen_worker));
            }
            for (expected, seen) in scopes {
                if present {
                    expected.participant_encounters += 1;
                    if seen.insert(p) {
                        expected.unique_participants += 1;
                    }
                }
                if held_place {
                    expected.confirmed_places += 1;
                    if present {
                        expected.attended_places += 1;
                    }
                }
            }
            if present && first_at[p].is_none() {
                first_at[p] = Some(session);
            }
            plan.records.push(Record {
                session: s,
                week: w,
                enrollment: e,
                status,
                held_place,
            });
        }
        // Walk-ins in 40 % of occurrences, one or two situations, one to three people.
        let h = pick(37, s as u64, w as u64, 1 << 40);
        let mut walk_ins: Vec<(&'static str, i64)> = Vec::new();
        if h % 100 < 40 {
            for k in 0..1 + (h >> 8) % 2 {
                let situation = WALK_IN_SITUATIONS
                    [((h >> (12 + 8 * k)) % WALK_IN_SITUATIONS.len() as u64) as usize];
                let count = 1 + ((h >> (16 + 8 * k)) % 3) as i64;
                match walk_ins.iter_mut().find(|(sit, _)| *sit == situation) {
                    Some((_, c)) => *c += count,
                    None => walk_ins.push((situation, count)),
                }
            }
        }
        let walked: i64 = walk_ins.iter().map(|(_, c)| c).sum();
        plan.walk_in_rows += walk_ins.len() as i64;
        plan.admin.walk_ins += walked;
        plan.admin.occurrences_held += 1;
        if at_managers_club {
            plan.manager.walk_ins += walked;
            plan.manager.occurrences_held += 1;
        }
        if worker_here {
            plan.worker.occurrences_held += 1;
        }
        plan.walk_ins[session * WEEKS + week] = walk_ins;
    }
    for (p, first) in first_at.iter().enumerate() {
        let Some(session) = first else { continue };
        plan.first_encounters += 1;
        plan.admin.first_encounters += 1;
        if sessions[*session].club == manager_club {
            plan.manager.first_encounters += 1;
        }
        if plan.participants[p].structure == worker_structure {
            plan.worker.first_encounters += 1;
        }
    }
    plan.enrollments = enrollments;
    plan.order = order;
    Ok(plan)
}

/// Runs `$body` with `$pool` bound to the backend's pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            Store::Sqlite { pool: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Multi-row INSERTs of `$rows` into `$head` (`INSERT INTO t (a, b) `), at most
/// [`MAX_PARAMETERS`] bound values per statement, on `$tx`; `$push` binds one row.
macro_rules! insert_rows {
    ($tx:expr, $head:expr, $columns:expr, $rows:expr, |$b:ident, $row:ident| $push:block) => {{
        let per_statement = MAX_PARAMETERS / $columns;
        for chunk in $rows.chunks(per_statement) {
            let mut query = QueryBuilder::new($head);
            query.push_values(chunk, |mut $b, $row| $push);
            query.build().persistent(false).execute(&mut *$tx).await?;
        }
    }};
}

#[allow(clippy::too_many_arguments)]
async fn insert_all(
    options: &Options,
    store: &Store,
    sessions: &[Session],
    clubs: &[Club],
    structures: &[Structure],
    plan: &Plan,
    year_from: NaiveDate,
) -> Result<Vec<(String, f64)>, String> {
    // SQLite has one writer: hold the service's writer lock so its jobs queue behind.
    let writing = match store {
        Store::Sqlite { writer, .. } => Some(writer.clone().lock_owned().await),
        Store::Postgres(_) => None,
    };
    let now = Utc::now();
    let mut steps = Vec::new();
    let mut step = |name: &str, started: Instant| {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("  {name}: {seconds:.1} s");
        steps.push((name.to_owned(), seconds));
    };
    let sql = |e: sqlx::Error| format!("seeding with SQL: {e}");
    // A year ago, when the programme's clubs and sessions were set up.
    let set_up = year_from
        .and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now)
        - chrono::Duration::days(21);
    let occurrence = |s: usize, w: usize| &sessions[s].occurrences[w];

    // Enrollment and participant dates.
    let enrolled_at: Vec<DateTime<Utc>> = plan
        .enrollments
        .iter()
        .map(|e| {
            occurrence(e.session, e.start).start_at
                - chrono::Duration::hours(
                    24 + pick(41, e.participant as u64, e.session as u64, 200) as i64,
                )
        })
        .collect();
    let mut created_at = vec![now; plan.participants.len()];
    for (e, at) in plan.enrollments.iter().zip(&enrolled_at) {
        created_at[e.participant] = created_at[e.participant].min(*at);
    }
    for (p, at) in created_at.iter_mut().enumerate() {
        *at -= chrono::Duration::days(1 + pick(43, p as u64, 0, 14) as i64);
    }
    let mut last_end = vec![0usize; plan.participants.len()];
    let mut last_session = vec![0usize; plan.participants.len()];
    for e in &plan.enrollments {
        if e.end >= last_end[e.participant] {
            last_end[e.participant] = e.end;
            last_session[e.participant] = e.session;
        }
    }
    let ended_at = |s: usize, end: usize| -> DateTime<Utc> {
        // Left the day before the first occurrence they no longer came to.
        match sessions[s].occurrences.get(end) {
            Some(o) => o.start_at - chrono::Duration::days(1),
            None => now,
        }
    };

    let started = Instant::now();
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await.map_err(sql)?;
        let rows: Vec<usize> = (0..plan.participants.len()).collect();
        let seeded: Result<(), sqlx::Error> = async {
            insert_rows!(
                tx,
                "INSERT INTO participants (id, structure_id, referrer_id, code, first_name, \
                 last_name, search_name, email, phone, language, birth_year, situation, \
                 notify_referrer, consent_at, notes, erased_at, created_at, updated_at) ",
                18,
                rows,
                |b, p| {
                    let p = *p;
                    let participant = &plan.participants[p];
                    let structure = &structures[participant.structure];
                    let h = mix(p as u64 ^ 0xFACE);
                    let erased_at = participant.erased.then(|| {
                        ended_at(last_session[p], last_end[p]) + chrono::Duration::days(30)
                    });
                    let (first, last) = if participant.erased {
                        (ERASED_NAME, ERASED_NAME)
                    } else {
                        (participant.first_name, participant.last_name)
                    };
                    let search_name = if participant.erased {
                        String::new()
                    } else {
                        format!("{first} {last}").to_lowercase()
                    };
                    let email = (!participant.erased && h % 10 < 6)
                        .then(|| format!("{}.{}{p}@example.net", first, last).to_lowercase());
                    let phone = (!participant.erased && (h >> 8) % 2 == 0).then(|| {
                        format!(
                            "+33 6 {:02} {:02} {:02} {:02}",
                            h % 100,
                            (h >> 8) % 100,
                            (h >> 16) % 100,
                            (h >> 24) % 100
                        )
                    });
                    let birth_year =
                        (!participant.erased).then_some(1950 + ((h >> 32) % 58) as i32);
                    b.push_bind(participant.id)
                        .push_bind(structure.id)
                        .push_bind(structure.worker_id)
                        .push_bind(participant.code.clone())
                        .push_bind(first)
                        .push_bind(last)
                        .push_bind(search_name)
                        .push_bind(email)
                        .push_bind(phone)
                        .push_bind(if (h >> 40) % 10 == 0 { "en" } else { "fr" })
                        .push_bind(birth_year)
                        .push_bind(participant.situation)
                        .push_bind((h >> 44) % 10 < 7)
                        .push_bind(created_at[p])
                        .push_bind(None::<String>)
                        .push_bind(erased_at)
                        .push_bind(created_at[p])
                        .push_bind(erased_at.unwrap_or(created_at[p]));
                }
            );
            Ok(())
        }
        .await;
        seeded.map_err(sql)?;
        tx.commit().await.map_err(sql)?;
    });
    step("participants", started);

    let started = Instant::now();
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await.map_err(sql)?;
        let rows: Vec<usize> = (0..plan.enrollments.len()).collect();
        let mut queue = vec![0i64; sessions.len()];
        let mut queue_seq = vec![0i64; plan.enrollments.len()];
        let mut by_date: Vec<usize> = rows.clone();
        by_date.sort_by_key(|&i| enrolled_at[i]);
        for i in by_date {
            let s = plan.enrollments[i].session;
            queue[s] += 1;
            queue_seq[i] = queue[s];
        }
        let seeded: Result<(), sqlx::Error> = async {
            insert_rows!(
                tx,
                "INSERT INTO enrollments (id, participant_id, session_id, structure_id, scope, \
                 from_key, occurrence_key, status, queue_seq, created_by, created_at, \
                 updated_at, cancelled_at) ",
                13,
                rows,
                |b, i| {
                    let e = &plan.enrollments[*i];
                    let participant = &plan.participants[e.participant];
                    let structure = &structures[participant.structure];
                    let ended = e.end < WEEKS || participant.erased;
                    let cancelled_at = ended.then(|| ended_at(e.session, e.end));
                    let status = match (ended, e.waitlisted) {
                        (true, _) => "cancelled",
                        (false, true) => "waitlisted",
                        (false, false) => "confirmed",
                    };
                    b.push_bind(e.id)
                        .push_bind(participant.id)
                        .push_bind(sessions[e.session].id)
                        .push_bind(structure.id)
                        .push_bind("series")
                        .push_bind(occurrence(e.session, e.start).key.clone())
                        .push_bind(None::<String>)
                        .push_bind(status)
                        .push_bind(queue_seq[*i])
                        .push_bind(structure.worker_id)
                        .push_bind(enrolled_at[*i])
                        .push_bind(cancelled_at.unwrap_or(enrolled_at[*i]))
                        .push_bind(cancelled_at);
                }
            );
            Ok(())
        }
        .await;
        seeded.map_err(sql)?;
        tx.commit().await.map_err(sql)?;
    });
    step("enrollments", started);

    // One sheet per occurrence, recorded by the club's manager after the session.
    let recorded_at = |s: usize, w: usize| -> DateTime<Utc> {
        let o = occurrence(s, w);
        let after =
            sessions[s].duration_minutes + 10 + pick(47, s as u64, w as u64, 2 * 24 * 60) as i64;
        (o.start_at + chrono::Duration::minutes(after)).min(now - chrono::Duration::minutes(1))
    };
    let started = Instant::now();
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await.map_err(sql)?;
        let seeded: Result<(), sqlx::Error> = async {
            insert_rows!(
                tx,
                "INSERT INTO attendance_sheets (session_id, occurrence_key, club_id, sport, \
                 start_at, local_date, walk_ins, recorded_by, recorded_at) ",
                9,
                plan.order,
                |b, sw| {
                    let (s, w) = (sw.0 as usize, sw.1 as usize);
                    let session = &sessions[s];
                    let o = occurrence(s, w);
                    let walked: i64 = plan.walk_ins[s * WEEKS + w].iter().map(|(_, c)| c).sum();
                    b.push_bind(session.id)
                        .push_bind(o.key.clone())
                        .push_bind(clubs[session.club].id)
                        .push_bind(session.sport)
                        .push_bind(o.start_at)
                        .push_bind(o.local_date.clone())
                        .push_bind(walked as i32)
                        .push_bind(clubs[session.club].manager_id)
                        .push_bind(recorded_at(s, w));
                }
            );
            Ok(())
        }
        .await;
        seeded.map_err(sql)?;
        tx.commit().await.map_err(sql)?;
    });
    step("attendance sheets", started);

    let started = Instant::now();
    let mut inserted = 0usize;
    for batch in plan.records.chunks(ROWS_PER_TRANSACTION) {
        on_pool!(store, |pool| {
            let mut tx = pool.begin().await.map_err(sql)?;
            let seeded: Result<(), sqlx::Error> = async {
                insert_rows!(
                    tx,
                    "INSERT INTO attendance (session_id, occurrence_key, participant_id, \
                     enrollment_id, status, held_place, club_id, sport, start_at, local_date, \
                     structure_id, situation) ",
                    12,
                    batch,
                    |b, r| {
                        let (s, w) = (r.session as usize, r.week as usize);
                        let session = &sessions[s];
                        let o = occurrence(s, w);
                        let e = &plan.enrollments[r.enrollment as usize];
                        let participant = &plan.participants[e.participant];
                        b.push_bind(session.id)
                            .push_bind(o.key.clone())
                            .push_bind(participant.id)
                            .push_bind(Some(e.id))
                            .push_bind(r.status.as_str())
                            .push_bind(r.held_place)
                            .push_bind(clubs[session.club].id)
                            .push_bind(session.sport)
                            .push_bind(o.start_at)
                            .push_bind(o.local_date.clone())
                            .push_bind(structures[participant.structure].id)
                            .push_bind(participant.situation);
                    }
                );
                Ok(())
            }
            .await;
            seeded.map_err(sql)?;
            tx.commit().await.map_err(sql)?;
        });
        inserted += batch.len();
        if inserted % (ROWS_PER_TRANSACTION * 2) == 0 || inserted == plan.records.len() {
            eprintln!(
                "    {inserted} attendance records ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    step("attendance records", started);

    let started = Instant::now();
    let walk_in_rows: Vec<(usize, usize, &'static str, i64)> = plan
        .order
        .iter()
        .flat_map(|&(s, w)| {
            let (s, w) = (s as usize, w as usize);
            plan.walk_ins[s * WEEKS + w]
                .iter()
                .map(move |&(situation, count)| (s, w, situation, count))
        })
        .collect();
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await.map_err(sql)?;
        let seeded: Result<(), sqlx::Error> = async {
            insert_rows!(
                tx,
                "INSERT INTO walk_ins (session_id, occurrence_key, situation, count, club_id, \
                 sport, local_date) ",
                7,
                walk_in_rows,
                |b, row| {
                    let (s, w, situation, count) = *row;
                    let session = &sessions[s];
                    let o = occurrence(s, w);
                    b.push_bind(session.id)
                        .push_bind(o.key.clone())
                        .push_bind(situation)
                        .push_bind(count as i32)
                        .push_bind(clubs[session.club].id)
                        .push_bind(session.sport)
                        .push_bind(o.local_date.clone());
                }
            );
            Ok(())
        }
        .await;
        seeded.map_err(sql)?;
        tx.commit().await.map_err(sql)?;
    });
    step("walk-ins", started);

    // What the service keeps with every change: places taken in the materialised
    // occurrences, each participant's first encounter. And the clubs and sessions date
    // from a year ago.
    let started = Instant::now();
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await.map_err(sql)?;
        sqlx::query(
            "UPDATE occurrences SET taken = (
                SELECT COUNT(*) FROM enrollments e
                WHERE e.session_id = occurrences.session_id AND e.status = 'confirmed'
                  AND ((e.scope = 'series' AND e.from_key <= occurrences.occurrence_key)
                    OR (e.scope = 'occurrence' AND e.occurrence_key = occurrences.occurrence_key)))",
        )
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
        for statement in [
            "UPDATE clubs SET created_at = $1, updated_at = $1",
            "UPDATE sessions SET created_at = $1, updated_at = $1",
        ] {
            sqlx::query(statement)
                .bind(set_up)
                .execute(&mut *tx)
                .await
                .map_err(sql)?;
        }
        tx.commit().await.map_err(sql)?;
    });
    step("places taken, set-up dates", started);

    // What the service derives from records when a sheet is recorded (counts per sheet,
    // presence masks, first encounters), derived once for the bulk-written records.
    let started = Instant::now();
    // The rebuild takes the writer itself.
    drop(writing);
    store
        .rebuild_attendance_rollups()
        .await
        .map_err(|e| format!("rebuilding the rollups: {e}"))?;
    step("sheet counts, presence masks, first encounters", started);

    if options.analyze {
        let started = Instant::now();
        match store {
            Store::Sqlite { pool, .. } => {
                for statement in [
                    "ANALYZE",
                    "PRAGMA optimize",
                    "PRAGMA wal_checkpoint(TRUNCATE)",
                ] {
                    sqlx::query(statement).execute(pool).await.map_err(sql)?;
                }
            }
            Store::Postgres(pool) => {
                // What autovacuum does after a bulk insert (PostgreSQL 13+): statistics,
                // and the visibility map that lets index-only scans skip the table.
                sqlx::query("VACUUM ANALYZE")
                    .execute(pool)
                    .await
                    .map_err(sql)?;
            }
        }
        step("ANALYZE", started);
    } else if let Store::Sqlite { pool, .. } = store {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .map_err(sql)?;
    }
    Ok(steps)
}

/// The tables hold what was planned.
async fn verify_seeded(store: &Store, plan: &Plan) -> Result<(), String> {
    let sql = |e: sqlx::Error| format!("counting: {e}");
    let (present, walk_ins, firsts, sheets): (i64, i64, i64, i64) = on_pool!(store, |pool| {
        let present: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM attendance WHERE status = 'present'")
                .fetch_one(pool)
                .await
                .map_err(sql)?;
        let walk_ins: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM walk_ins")
                .fetch_one(pool)
                .await
                .map_err(sql)?;
        let firsts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM first_encounters")
            .fetch_one(pool)
            .await
            .map_err(sql)?;
        let sheets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attendance_sheets")
            .fetch_one(pool)
            .await
            .map_err(sql)?;
        (present, walk_ins, firsts, sheets)
    });
    let expected = (
        plan.present,
        plan.admin.walk_ins,
        plan.first_encounters,
        plan.order.len() as i64,
    );
    if (present, walk_ins, firsts, sheets) != expected {
        return Err(format!(
            "the tables hold (present, walk-ins, first encounters, sheets) = {:?}, planned {expected:?}",
            (present, walk_ins, firsts, sheets)
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------
// Measuring
// ------------------------------------------------------------------------------------

struct Row {
    label: String,
    samples: Vec<Duration>,
    note: String,
}

impl Row {
    fn median(&self) -> Duration {
        percentile(&self.samples, 0.5)
    }

    fn print(&self) {
        println!(
            "| {:<40} | {:>3} | {:>10.1} | {:>10.1} | {:>10.1} | {:>10.1} | {} |",
            self.label,
            self.samples.len(),
            ms(self.median()),
            ms(self.samples.first().copied().unwrap_or_default()),
            ms(percentile(&self.samples, 0.9)),
            ms(self.samples.last().copied().unwrap_or_default()),
            self.note
        );
    }
}

struct Query<'a> {
    label: &'a str,
    token: &'a str,
    group_by: &'a str,
    csv: bool,
    /// The figures the total must show (encounters is checked strictly).
    expected: Option<&'a Expected>,
}

fn figure(total: &Value, name: &str) -> i64 {
    total[name].as_i64().unwrap_or(-1)
}

/// Compares the answer's total with what was seeded; the first element says whether
/// encounters match (the benchmark refuses to measure anything else).
fn compare(answer: &Value, expected: &Expected) -> (bool, Vec<String>) {
    let total = &answer["total"];
    let mut differences = Vec::new();
    let encounters_match = figure(total, "encounters") == expected.encounters();
    for (name, want) in [
        ("encounters", expected.encounters()),
        ("participant_encounters", expected.participant_encounters),
        ("walk_ins", expected.walk_ins),
        ("unique_participants", expected.unique_participants),
        ("occurrences_held", expected.occurrences_held),
        ("confirmed_places", expected.confirmed_places),
        ("attended_places", expected.attended_places),
        ("first_encounters", expected.first_encounters),
    ] {
        let got = figure(total, name);
        if got != want {
            differences.push(format!("{name}: answered {got}, seeded {want}"));
        }
    }
    // Additive figures: the groups add up to the total (not unique participants).
    if let Some(groups) = answer["groups"].as_array() {
        for name in [
            "encounters",
            "participant_encounters",
            "walk_ins",
            "confirmed_places",
        ] {
            let sum: i64 = groups.iter().map(|g| figure(g, name)).sum();
            if sum != figure(total, name) {
                differences.push(format!(
                    "{name}: groups add up to {sum}, total says {}",
                    figure(total, name)
                ));
            }
        }
    }
    (encounters_match, differences)
}

async fn series(
    client: &reqwest::Client,
    options: &Options,
    url: &str,
    period: &[(&str, String)],
    query: &Query<'_>,
    warnings: &mut Vec<String>,
) -> Result<Row, String> {
    let mut samples = Vec::with_capacity(options.requests);
    let mut note = String::new();
    let mut first = Duration::ZERO;
    for i in 0..options.warm_up + options.requests {
        let mut request = client
            .get(url)
            .bearer_auth(query.token)
            .query(period)
            .query(&[("group_by", query.group_by)]);
        if query.csv {
            request = request.header(reqwest::header::ACCEPT, "text/csv");
        }
        let (status, content_type, body, took) = timed(request).await?;
        if status != StatusCode::OK {
            return Err(format!(
                "{}: {status}: {}",
                query.label,
                String::from_utf8_lossy(&body)
            ));
        }
        if query.csv {
            let text = String::from_utf8_lossy(&body);
            let total_line = text.lines().rev().find(|l| !l.trim().is_empty());
            if !content_type.starts_with("text/csv")
                || !total_line.is_some_and(|l| l.starts_with("total,"))
            {
                return Err(format!(
                    "{}: not the CSV expected ({content_type}): {}",
                    query.label,
                    text.chars().take(300).collect::<String>()
                ));
            }
            if let (Some(expected), Some(line)) = (query.expected, total_line) {
                let encounters = line.split(',').nth(2).and_then(|v| v.parse::<i64>().ok());
                if encounters != Some(expected.encounters()) {
                    return Err(format!(
                        "{}: CSV total encounters {encounters:?}, seeded {}",
                        query.label,
                        expected.encounters()
                    ));
                }
            }
            note = format!("{} lines, {} B", text.lines().count(), body.len());
        } else {
            let answer: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("{}: answer is not JSON: {e}", query.label))?;
            let groups = answer["groups"].as_array().map_or(0, Vec::len);
            if let Some(expected) = query.expected {
                let (encounters_match, differences) = compare(&answer, expected);
                if !encounters_match {
                    return Err(format!(
                        "{}: total encounters {}, seeded {} (present records + walk-ins); answer total: {}",
                        query.label,
                        figure(&answer["total"], "encounters"),
                        expected.encounters(),
                        answer["total"]
                    ));
                }
                if i == 0 {
                    for difference in differences {
                        warnings.push(format!("{}: {difference}", query.label));
                    }
                }
            }
            note = format!(
                "{groups} groups, {} B, encounters {}",
                body.len(),
                figure(&answer["total"], "encounters")
            );
        }
        if i == 0 {
            first = took;
        }
        if i >= options.warm_up {
            samples.push(took);
        }
    }
    samples.sort();
    Ok(Row {
        label: query.label.to_owned(),
        samples,
        note: format!("{note}; first request {:.1} ms", ms(first)),
    })
}

/// The admin, and what signing the staff in as browsers takes.
struct Who<'a> {
    admin: &'a str,
    admin_id: Uuid,
    signer: &'a Signer,
}

/// `GET /app/stats` for the year, signed in, `n` times after the warm-up; each answer
/// must be the dashboard (200, its table and chart).
async fn page_series(
    options: &Options,
    base: &str,
    cookie: &str,
    label: &str,
    query: &[(&str, String)],
) -> Result<Row, String> {
    let client = client()?;
    let mut samples = Vec::with_capacity(options.requests);
    let mut note = String::new();
    for i in 0..options.warm_up + options.requests {
        let request = client
            .get(format!("{base}/app/stats"))
            .header(reqwest::header::COOKIE, format!("es_session={cookie}"))
            .query(query);
        let (status, _, body, took) = timed(request).await?;
        let text = String::from_utf8_lossy(&body);
        if status != StatusCode::OK || !text.contains("<table") || !text.contains("<svg") {
            return Err(format!(
                "{label}: {status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        note = format!("{} B", body.len());
        if i >= options.warm_up {
            samples.push(took);
        }
    }
    samples.sort();
    Ok(Row {
        label: label.to_owned(),
        samples,
        note,
    })
}

async fn measure(
    options: &Options,
    base: &str,
    who: &Who<'_>,
    seeded: &Seeded,
    store: &Store,
    backend: &str,
) -> Result<(), String> {
    let admin = who.admin;
    let client = client()?;
    let plan = &seeded.plan;
    let period = [
        ("from", seeded.year_from.to_string()),
        ("to", seeded.year_to.to_string()),
    ];
    let url = format!("{base}/api/v1/stats/encounters");
    let manager = &seeded.clubs[0].manager_token;
    let worker = &seeded.structures[0].worker_token;
    let queries = [
        Query {
            label: "admin, group_by=month",
            token: admin,
            group_by: "month",
            csv: false,
            expected: Some(&plan.admin),
        },
        Query {
            label: "admin, group_by=club",
            token: admin,
            group_by: "club",
            csv: false,
            expected: Some(&plan.admin),
        },
        Query {
            label: "club manager, group_by=month",
            token: manager,
            group_by: "month",
            csv: false,
            expected: Some(&plan.manager),
        },
        Query {
            label: "social worker, group_by=month",
            token: worker,
            group_by: "month",
            csv: false,
            expected: Some(&plan.worker),
        },
        Query {
            label: "social worker, group_by=club",
            token: worker,
            group_by: "club",
            csv: false,
            expected: Some(&plan.worker),
        },
        Query {
            label: "social worker, group_by=sport",
            token: worker,
            group_by: "sport",
            csv: false,
            expected: Some(&plan.worker),
        },
        Query {
            label: "social worker, group_by=situation",
            token: worker,
            group_by: "situation",
            csv: false,
            expected: Some(&plan.worker),
        },
        Query {
            label: "social worker, group_by=structure",
            token: worker,
            group_by: "structure",
            csv: false,
            expected: Some(&plan.worker),
        },
        Query {
            label: "admin, group_by=sport",
            token: admin,
            group_by: "sport",
            csv: false,
            expected: Some(&plan.admin),
        },
        Query {
            label: "admin, group_by=situation",
            token: admin,
            group_by: "situation",
            csv: false,
            expected: Some(&plan.admin),
        },
        Query {
            label: "admin, group_by=structure",
            token: admin,
            group_by: "structure",
            csv: false,
            expected: Some(&plan.admin),
        },
        Query {
            label: "admin, group_by=month, CSV",
            token: admin,
            group_by: "month",
            csv: true,
            expected: Some(&plan.admin),
        },
    ];

    let load_before = load_average();
    let mut rows = Vec::new();
    // The floor: an HTTP round trip and `SELECT 1`.
    let mut floor = Vec::new();
    for i in 0..options.warm_up + 50 {
        let (status, _, _, took) = timed(client.get(format!("{base}/healthz"))).await?;
        if status != StatusCode::OK {
            return Err(format!("healthz: {status}"));
        }
        if i >= options.warm_up {
            floor.push(took);
        }
    }
    floor.sort();
    rows.push(Row {
        label: "GET /healthz (floor)".into(),
        samples: floor,
        note: String::new(),
    });
    let mut warnings = Vec::new();
    for query in &queries {
        let row = series(&client, options, &url, &period, query, &mut warnings).await?;
        eprintln!("  {}: median {:.1} ms", row.label, ms(row.median()));
        rows.push(row);
    }
    // The dashboard, signed in as a browser is.
    let pages = [
        ("page /app/stats, admin, month", who.admin_id, "month"),
        (
            "page /app/stats, admin, situation",
            who.admin_id,
            "situation",
        ),
        (
            "page /app/stats, admin, structure",
            who.admin_id,
            "structure",
        ),
        (
            "page /app/stats, social worker, month",
            seeded.structures[0].worker_id,
            "month",
        ),
    ];
    // A sign-in link opens one session: each account signs in once.
    let mut cookies: std::collections::HashMap<Uuid, String> = Default::default();
    for (label, user_id, group_by) in pages {
        let cookie = match cookies.get(&user_id) {
            Some(cookie) => cookie.clone(),
            None => {
                let cookie = support::sign_in(base, store, who.signer, user_id).await?;
                cookies.insert(user_id, cookie.clone());
                cookie
            }
        };
        let query = [
            ("period", "custom".to_owned()),
            ("from", seeded.year_from.to_string()),
            ("to", seeded.year_to.to_string()),
            ("group_by", group_by.to_owned()),
        ];
        let row = page_series(options, base, &cookie, label, &query).await?;
        eprintln!("  {}: median {:.1} ms", row.label, ms(row.median()));
        rows.push(row);
    }
    let load_after = load_average();
    let (size, attendance_size) = database_size(store).await;

    // ---- Report. ----
    let records = plan.records.len() as i64;
    let share = |n: i64| 100.0 * n as f64 / records.max(1) as f64;
    println!();
    println!(
        "## stats/encounters: {backend}, {} clubs, {} sessions, {} participants, {} structures, year {}..{}",
        seeded.clubs.len(),
        seeded.sessions,
        plan.participants.len(),
        seeded.structures.len(),
        seeded.year_from,
        seeded.year_to
    );
    println!();
    println!(
        "seeded: {} occurrences with a sheet; {records} attendance records (present {:.1} %, absent {:.1} %, excused {:.1} %, held_place {:.1} %); {} walk-in rows ({} people); {} enrollments; {} first encounters; {} participants erased",
        plan.order.len(),
        share(plan.present),
        share(plan.absent),
        share(plan.excused),
        share(plan.held),
        plan.walk_in_rows,
        plan.admin.walk_ins,
        plan.enrollments.len(),
        plan.first_encounters,
        plan.participants.iter().filter(|p| p.erased).count(),
    );
    println!(
        "seeding: {:.1} s through HTTP (clubs, staff, sessions), {:.1} s with SQL ({})",
        seeded.http_seconds,
        seeded.sql_seconds,
        seeded
            .sql_steps
            .iter()
            .map(|(name, s)| format!("{name} {s:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "database size: {}; attendance table with its indexes: {}",
        size.map_or("?".into(), mebibytes),
        attendance_size.map_or("?".into(), mebibytes)
    );
    println!(
        "expected totals: admin {:?}; club manager (club 0) {:?}; social worker (structure 0) {:?}",
        plan.admin, plan.manager, plan.worker
    );
    println!();
    println!(
        "| {:<40} | {:>3} | {:>10} | {:>10} | {:>10} | {:>10} | notes |",
        "GET /api/v1/stats/encounters, the year", "n", "median ms", "min ms", "p90 ms", "max ms"
    );
    println!(
        "|{:-<42}|{:->5}|{:->12}|{:->12}|{:->12}|{:->12}|{:-<7}|",
        "", "", "", "", "", "", ""
    );
    for row in &rows {
        row.print();
    }
    println!();
    if warnings.is_empty() {
        println!("answers: every total matches what was seeded");
    } else {
        println!("answers: encounters match; other figures differ from what was seeded:");
        for warning in &warnings {
            println!("  - {warning}");
        }
    }
    println!(
        "machine: {} cores; load average before/after measuring: {load_before} / {load_after}; ANALYZE {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if options.analyze { "run" } else { "not run" }
    );
    for row in rows.iter().filter(|r| !r.label.starts_with("GET /healthz")) {
        let target = if row.label.starts_with("page ") {
            PAGE_TARGET_MS
        } else {
            TARGET_MS
        };
        let median = ms(row.median());
        println!(
            "target: {} median under {target} ms: {median:.1} ms, {}",
            row.label,
            if median < target { "MET" } else { "NOT MET" }
        );
    }
    Ok(())
}

fn mebibytes(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The whole database, and the attendance table with its indexes where the backend
/// tells (PostgreSQL; SQLite's dbstat table is not always compiled in).
async fn database_size(store: &Store) -> (Option<i64>, Option<i64>) {
    match store {
        Store::Sqlite { pool, .. } => {
            let pages: Option<i64> = sqlx::query_scalar("PRAGMA page_count")
                .fetch_one(pool)
                .await
                .ok();
            let page_size: Option<i64> = sqlx::query_scalar("PRAGMA page_size")
                .fetch_one(pool)
                .await
                .ok();
            let attendance: Option<i64> = sqlx::query_scalar(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('attendance', \
                 'sqlite_autoindex_attendance_1', 'attendance_by_participant', 'attendance_by_date')",
            )
            .fetch_one(pool)
            .await
            .ok()
            .flatten();
            (pages.zip(page_size).map(|(n, size)| n * size), attendance)
        }
        Store::Postgres(pool) => {
            let size: Option<i64> =
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await
                    .ok();
            let attendance: Option<i64> =
                sqlx::query_scalar("SELECT pg_total_relation_size('attendance')")
                    .fetch_one(pool)
                    .await
                    .ok();
            (size, attendance)
        }
    }
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
