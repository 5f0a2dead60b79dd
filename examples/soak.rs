//! Soak test (issue 14, item 6): three instances of the real binary under mixed traffic
//! for DURATION seconds, one of them killed and restarted, the SMTP relay refusing for
//! a while; then the invariants are checked in the databases and against every message
//! the relay received. Run it with `scripts/soak.sh` (which builds the binary first).
//!
//! - two instances on one fresh PostgreSQL database (shared SECRET_KEY), one on its own
//!   SQLite file; each with its own port, all sending to one in-process SMTP server
//!   (the tests' own, `tests/common/smtp.rs`) that keeps every message;
//! - seeding through the HTTP API (the first admin through `users create`);
//! - CLIENTS concurrent clients per deployment: searches, enrollments, cancellations,
//!   RSVP answers (the signed links found in the emails), rosters, attendance sheets;
//! - at 40 % the first PostgreSQL instance gets SIGKILL and is started again a few
//!   seconds later; at 60 % the relay answers 4xx for min(60 s, DURATION/10);
//! - then: outboxes drained (bounded wait), the place invariant, every accepted
//!   enrollment stored, every sent message received exactly once, no 5xx outside the
//!   kill window, peak RSS (VmHWM) under 256 MiB; a Markdown report on stdout and in
//!   SOAK_REPORT. Exit status 1 when a check fails, with the reasons.
//!
//! Settings (environment): DURATION (seconds, 600), CLIENTS (per deployment, 8),
//! SOAK_BIN (the release binary), PG_URL (a PostgreSQL server's URL with a database
//! to connect to for CREATE/DROP DATABASE), DRAIN_SECONDS (300), SOAK_REPORT (file),
//! SOAK_LOAD (the machine's load, written in the report).

#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::Connection;
use uuid::Uuid;

use entourage_sport::config::DatabaseUrl;
use entourage_sport::store::Store;

/// The goal for each instance's peak resident memory.
const RSS_LIMIT_KIB: u64 = 256 * 1024;
/// A worker's hold on a claimed email: short, so that the messages the killed
/// instance held are taken over within the run.
const LEASE_SECONDS: u64 = 10;
const SECRET_KEY: &str = "soak-secret-key-0123456789abcdef0123456789";

// ---------------------------------------------------------------------------------
// Settings, time, random numbers
// ---------------------------------------------------------------------------------

struct Options {
    duration: Duration,
    clients: usize,
    bin: PathBuf,
    pg_url: String,
    drain: Duration,
    report: Option<PathBuf>,
    load: String,
}

fn env_u64(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| format!("{name} must be a whole number, not {v:?}")),
        _ => Ok(default),
    }
}

fn options() -> Result<Options, String> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Ok(Options {
        duration: Duration::from_secs(env_u64("DURATION", 600)?.max(30)),
        clients: env_u64("CLIENTS", 8)?.max(1) as usize,
        bin: std::env::var("SOAK_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(&target).join("release/entourage-sport")),
        pg_url: std::env::var("PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        drain: Duration::from_secs(env_u64("DRAIN_SECONDS", 300)?),
        report: std::env::var("SOAK_REPORT").ok().map(PathBuf::from),
        load: std::env::var("SOAK_LOAD").unwrap_or_else(|_| load_average()),
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// xorshift64*: reproducible enough, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Paris local time `offset` from now, as a session's `start`.
fn local_start(offset: chrono::Duration) -> String {
    let at = (Utc::now() + offset).with_timezone(&chrono_tz::Europe::Paris);
    at.naive_local().format("%Y-%m-%dT%H:%M:00").to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------
// Instances of the real binary
// ---------------------------------------------------------------------------------

struct Instance {
    name: &'static str,
    deployment: &'static str,
    database_url: String,
    port: u16,
    data_dir: PathBuf,
    smtp_url: String,
    bin: PathBuf,
    child: Mutex<Option<Child>>,
    /// Highest VmHWM seen over every life of this instance, KiB.
    peak_rss: AtomicU64,
    starts: AtomicU64,
}

impl Instance {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("DATABASE_URL", &self.database_url)
            .env("BIND", format!("127.0.0.1:{}", self.port))
            .env("PUBLIC_URL", self.base())
            .env("SMTP_URL", &self.smtp_url)
            .env("SECRET_KEY", SECRET_KEY)
            .env("DATA_DIR", &self.data_dir)
            // Participants get many messages in a soak; none should wait an hour.
            .env("MAIL_HOURLY_LIMIT", "100000")
            .env("MAIL_POLL_MILLIS", "200")
            .env("MAIL_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("RUST_LOG", "info");
        c
    }

    fn start(&self) -> Result<(), String> {
        let n = self.starts.fetch_add(1, Ordering::SeqCst);
        let log = self.data_dir.join(format!("{}-{n}.log", self.name));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("{}: cannot start {}: {e}", self.name, self.bin.display()))?;
        *self.child.lock().unwrap() = Some(child);
        Ok(())
    }

    async fn wait_ready(&self, http: &reqwest::Client) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base())).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(child) = self.child.lock().unwrap().as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "{} exited at start ({status}); see its log in {}",
                        self.name,
                        self.data_dir.display()
                    ));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{} not ready after 60 s", self.name));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    /// Reads VmHWM of the running process and keeps the highest.
    fn sample_rss(&self) {
        let Some(pid) = self.pid() else { return };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return;
        };
        if let Some(kib) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
        {
            self.peak_rss.fetch_max(kib, Ordering::SeqCst);
        }
    }

    /// SIGKILL (std's `Child::kill` on Unix), and reap.
    fn kill(&self) {
        self.sample_rss();
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait (the service finishes what it holds), SIGKILL after 20 s.
    async fn stop(&self) {
        self.sample_rss();
        let Some(mut child) = self.child.lock().unwrap().take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// `entourage-sport users create`: the token on the last line.
    fn create_admin(&self) -> Result<String, String> {
        let out = self
            .command()
            .args(["users", "create", "--role", "admin", "--name", "Soak Staff"])
            .args(["--email", &format!("staff@{}.soak.test", self.deployment)])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "users create: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(|l| l.trim().to_owned())
            .filter(|t| t.starts_with("es_"))
            .ok_or_else(|| "users create printed no token".into())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------
// HTTP, measured
// ---------------------------------------------------------------------------------

/// One request as seen by a client.
#[derive(Clone)]
struct Sample {
    op: &'static str,
    deployment: &'static str,
    instance: &'static str,
    /// 0: no answer (connection refused or reset, timeout).
    status: u16,
    started: Instant,
    latency: Duration,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
) -> (Reply, Duration) {
    let started = Instant::now();
    let mut request = http
        .request(method, url)
        .header("accept", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let reply = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(bytes) => Reply {
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                },
                Err(_) => Reply {
                    status: 0,
                    body: Value::Null,
                },
            }
        }
        Err(_) => Reply {
            status: 0,
            body: Value::Null,
        },
    };
    (reply, started.elapsed())
}

/// A seeding call that must succeed.
async fn must(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let (reply, _) = call(
        http,
        method.clone(),
        url.clone(),
        Some(token),
        body.as_ref(),
    )
    .await;
    if reply.ok() {
        Ok(reply.body)
    } else {
        Err(format!("{method} {url}: {} {}", reply.status, reply.body))
    }
}

// ---------------------------------------------------------------------------------
// The world of one deployment
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Daily, first occurrence one to six hours ahead: enrollments, waitlists, reminders.
    Upcoming,
    /// Daily, first occurrence starts during the run: its sheet can be recorded late on.
    Soon,
    /// Daily, started a week ago (today's started half an hour ago): sheets.
    Past,
}

struct SessionInfo {
    id: String,
    club: usize,
    kind: Kind,
    /// (key, start) of the occurrences from eight days back to three ahead.
    occurrences: Vec<(String, DateTime<Utc>)>,
}

struct Worker {
    token: String,
    participants: Vec<String>,
}

struct World {
    deployment: &'static str,
    instances: Vec<Arc<Instance>>,
    managers: Vec<String>,
    workers: Vec<Worker>,
    sessions: Vec<SessionInfo>,
    /// Every enrollment id the API accepted (2xx with an id).
    accepted: Mutex<Vec<String>>,
    /// Accepted and not cancelled by a client: (worker, id).
    active: Mutex<Vec<(usize, String)>>,
    /// RSVP tokens found in emails to this deployment's addresses.
    rsvp_tokens: Mutex<Vec<String>>,
}

async fn seed(
    deployment: &'static str,
    instances: Vec<Arc<Instance>>,
    http: &reqwest::Client,
    options: &Options,
) -> Result<World, String> {
    let first = &instances[0];
    let admin = first.create_admin()?;
    let api = format!("{}/api/v1", first.base());
    let post = reqwest::Method::POST;
    let domain = format!("{deployment}.soak.test");

    let mut managers = Vec::new();
    let mut clubs = Vec::new();
    let places = [("Bondy", "93140", "football"), ("Lyon", "69001", "boxe")];
    for (c, (city, postal, sport)) in places.iter().enumerate() {
        let club = must(
            http,
            post.clone(),
            format!("{api}/clubs"),
            &admin,
            Some(json!({
            "name": format!("Club {city}"), "sports": [sport, "yoga"], "address": "1 rue du Stade",
            "postal_code": postal, "city": city, "latitude": 48.9, "longitude": 2.48,
            "contact_phone": "+33 1 23 45 67 89",
            "partnership": {"status": "active", "since": "2026-01-01"}})),
        )
        .await?;
        let club_id = club["id"].as_str().unwrap_or_default().to_owned();
        let manager = must(
            http,
            post.clone(),
            format!("{api}/users"),
            &admin,
            Some(json!({
            "role": "club_manager", "name": format!("Manager {c}"),
            "email": format!("manager{c}@{domain}"), "club_id": club_id})),
        )
        .await?;
        managers.push(manager["token"].as_str().unwrap_or_default().to_owned());
        clubs.push((club_id, *sport));
    }

    // Offsets are chosen so that something happens within the run whatever DURATION.
    let soon = chrono::Duration::seconds(30 + options.duration.as_secs() as i64 / 4);
    let mut sessions = Vec::new();
    for (c, (club_id, sport)) in clubs.iter().enumerate() {
        let plan = [
            (Kind::Upcoming, chrono::Duration::hours(1 + c as i64), 2),
            (Kind::Upcoming, chrono::Duration::hours(3 + c as i64), 3),
            (Kind::Upcoming, chrono::Duration::hours(5 + c as i64), 4),
            (Kind::Soon, soon, 3),
            (
                Kind::Past,
                chrono::Duration::days(-7) - chrono::Duration::minutes(30),
                4,
            ),
        ];
        for (i, (kind, offset, capacity)) in plan.into_iter().enumerate() {
            let session = must(
                http,
                post.clone(),
                format!("{api}/clubs/{club_id}/sessions"),
                &managers[c],
                Some(json!({
                    "title": format!("{sport} {i}"), "sport": sport, "start": local_start(offset),
                    "timezone": "Europe/Paris", "duration_minutes": 120, "rrule": "FREQ=DAILY",
                    "capacity": capacity, "enrollment_closes_hours_before": 0,
                    "what_to_bring": "baskets"})),
            )
            .await?;
            let id = session["id"].as_str().unwrap_or_default().to_owned();
            let from = (Utc::now() - chrono::Duration::days(8)).date_naive();
            let to = (Utc::now() + chrono::Duration::days(3)).date_naive();
            let listed = must(
                http,
                reqwest::Method::GET,
                format!("{api}/sessions/{id}/occurrences?from={from}&to={to}"),
                &admin,
                None,
            )
            .await?;
            let occurrences = listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| {
                    let key = o["key"].as_str()?.to_owned();
                    let start = DateTime::parse_from_rfc3339(o["start"].as_str()?).ok()?;
                    Some((key, start.with_timezone(&Utc)))
                })
                .collect();
            sessions.push(SessionInfo {
                id,
                club: c,
                kind,
                occurrences,
            });
        }
    }

    let situations = ["street", "shelter", "single_parent", "student", "migrant"];
    let mut workers = Vec::new();
    for s in 0..2 {
        let structure = must(
            http,
            post.clone(),
            format!("{api}/structures"),
            &admin,
            Some(json!({"name": format!("Structure {s}"), "kind": "shelter", "city": "Paris"})),
        )
        .await?;
        for w in 0..2 {
            let n = s * 2 + w;
            let worker = must(
                http,
                post.clone(),
                format!("{api}/users"),
                &admin,
                Some(json!({
                "role": "social_worker", "name": format!("Worker {n}"),
                "email": format!("worker{n}@{domain}"), "structure_id": structure["id"]})),
            )
            .await?;
            let token = worker["token"].as_str().unwrap_or_default().to_owned();
            let mut participants = Vec::new();
            for p in 0..12 {
                // One in six has no email: the social worker gets the copies.
                let email = (p % 6 != 5).then(|| format!("p{n}-{p}@{domain}"));
                let body = json!({"first_name": format!("P{p}"), "last_name": format!("Soak{n}"),
                    "email": email, "situation": situations[p % situations.len()],
                    "language": if p % 4 == 0 { "en" } else { "fr" }, "consent": true});
                let participant = must(
                    http,
                    post.clone(),
                    format!("{api}/participants"),
                    &token,
                    Some(body),
                )
                .await?;
                participants.push(participant["id"].as_str().unwrap_or_default().to_owned());
            }
            workers.push(Worker {
                token,
                participants,
            });
        }
    }
    Ok(World {
        deployment,
        instances,
        managers,
        workers,
        sessions,
        accepted: Mutex::new(Vec::new()),
        active: Mutex::new(Vec::new()),
        rsvp_tokens: Mutex::new(Vec::new()),
    })
}

// ---------------------------------------------------------------------------------
// Traffic
// ---------------------------------------------------------------------------------

async fn client(world: Arc<World>, index: usize, until: Instant, seed: u64) -> Vec<Sample> {
    let instance = Arc::clone(&world.instances[index % world.instances.len()]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("http client");
    let base = instance.base();
    let api = format!("{base}/api/v1");
    let worker_index = index % world.workers.len();
    let worker = &world.workers[worker_index];
    let manager_index = index % world.managers.len();
    let manager = &world.managers[manager_index];
    let mut rng = Rng::new(seed);
    let mut samples = Vec::new();
    let sports = ["football", "boxe", "yoga"];

    while Instant::now() < until {
        let started = Instant::now();
        let roll = rng.below(100);
        let (op, reply, latency) = if roll < 30 {
            let url = match rng.below(3) {
                0 => format!("{api}/occurrences?with_places=true"),
                1 => format!("{api}/occurrences?sport={}", sports[rng.below(3)]),
                _ => format!("{api}/occurrences?city=Lyon&limit=20"),
            };
            let (r, l) = call(&http, reqwest::Method::GET, url, Some(&worker.token), None).await;
            ("search", r, l)
        } else if roll < 55 {
            let session = &world.sessions[rng.below(world.sessions.len())];
            let participant = &worker.participants[rng.below(worker.participants.len())];
            let now = Utc::now() + chrono::Duration::seconds(5);
            let open: Vec<&String> = session
                .occurrences
                .iter()
                .filter(|(_, start)| *start > now)
                .map(|(key, _)| key)
                .collect();
            let mut body = json!({"participant_id": participant, "session_id": session.id});
            if rng.chance(50) && !open.is_empty() {
                body["occurrence_key"] = json!(open[rng.below(open.len().min(3))]);
            }
            let (r, l) = call(
                &http,
                reqwest::Method::POST,
                format!("{api}/enrollments"),
                Some(&worker.token),
                Some(&body),
            )
            .await;
            if r.ok() {
                if let Some(id) = r.body["id"].as_str() {
                    world.accepted.lock().unwrap().push(id.to_owned());
                    world
                        .active
                        .lock()
                        .unwrap()
                        .push((worker_index, id.to_owned()));
                }
            }
            ("enrol", r, l)
        } else if roll < 65 {
            let picked = {
                let mut active = world.active.lock().unwrap();
                let mine: Vec<usize> = (0..active.len())
                    .filter(|&i| active[i].0 == worker_index)
                    .collect();
                (!mine.is_empty()).then(|| active.swap_remove(mine[rng.below(mine.len())]).1)
            };
            let Some(id) = picked else { continue };
            let (r, l) = call(
                &http,
                reqwest::Method::DELETE,
                format!("{api}/enrollments/{id}"),
                Some(&worker.token),
                None,
            )
            .await;
            ("cancel", r, l)
        } else if roll < 80 {
            let token = {
                let tokens = world.rsvp_tokens.lock().unwrap();
                (!tokens.is_empty()).then(|| tokens[rng.below(tokens.len())].clone())
            };
            let Some(token) = token else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let (r, l) = call(
                &http,
                reqwest::Method::POST,
                format!("{base}/rsvp/{token}"),
                None,
                None,
            )
            .await;
            ("rsvp", r, l)
        } else if roll < 88 {
            let own: Vec<&SessionInfo> = world
                .sessions
                .iter()
                .filter(|s| s.club == manager_index)
                .collect();
            let session = own[rng.below(own.len())];
            let now = Utc::now();
            let next: Vec<&String> = session
                .occurrences
                .iter()
                .filter(|(_, start)| *start > now - chrono::Duration::days(1))
                .map(|(k, _)| k)
                .take(3)
                .collect();
            let Some(key) = next.get(rng.below(next.len().max(1))) else {
                continue;
            };
            let url = format!("{api}/sessions/{}/occurrences/{key}/roster", session.id);
            let (r, l) = call(&http, reqwest::Method::GET, url, Some(manager), None).await;
            ("roster", r, l)
        } else if roll < 96 {
            // A sheet for an occurrence of the manager's club that has started.
            let now = Utc::now();
            let started_ones: Vec<(&SessionInfo, &String)> = world
                .sessions
                .iter()
                .filter(|s| s.club == manager_index && s.kind != Kind::Upcoming)
                .flat_map(|s| {
                    s.occurrences
                        .iter()
                        .filter(move |(_, start)| {
                            *start < now && *start > now - chrono::Duration::days(7)
                        })
                        .map(move |(key, _)| (s, key))
                })
                .collect();
            if started_ones.is_empty() {
                continue;
            }
            let (session, key) = started_ones[rng.below(started_ones.len())];
            let url = format!("{api}/sessions/{}/occurrences/{key}/roster", session.id);
            let (roster, l1) = call(&http, reqwest::Method::GET, url, Some(manager), None).await;
            samples.push(Sample {
                op: "roster",
                deployment: world.deployment,
                instance: instance.name,
                status: roster.status,
                started,
                latency: l1,
            });
            if !roster.ok() {
                continue;
            }
            let marks = ["present", "present", "absent", "excused"];
            let lines: Vec<Value> = roster.body["participants"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["status"] == "confirmed")
                .map(|p| json!({"participant_id": p["participant_id"], "status": marks[rng.below(4)]}))
                .collect();
            let sheet = json!({"participants": lines,
                "walk_ins": [{"count": 1 + rng.below(3), "situation": "street"}]});
            let url = format!("{api}/sessions/{}/occurrences/{key}/attendance", session.id);
            let started = Instant::now();
            let (r, l) = call(
                &http,
                reqwest::Method::PUT,
                url,
                Some(manager),
                Some(&sheet),
            )
            .await;
            samples.push(Sample {
                op: "attendance",
                deployment: world.deployment,
                instance: instance.name,
                status: r.status,
                started,
                latency: l,
            });
            continue;
        } else {
            let participant = &worker.participants[rng.below(worker.participants.len())];
            let url = format!("{api}/enrollments?participant_id={participant}");
            let (r, l) = call(&http, reqwest::Method::GET, url, Some(&worker.token), None).await;
            ("list enrollments", r, l)
        };
        samples.push(Sample {
            op,
            deployment: world.deployment,
            instance: instance.name,
            status: reply.status,
            started,
            latency,
        });
        if reply.status == 0 {
            // The instance is down (killed): do not spin.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    samples
}

// ---------------------------------------------------------------------------------
// Mail as received
// ---------------------------------------------------------------------------------

/// A message the relay accepted: the outbox id in its Message-ID, when it was seen.
struct Got {
    id: String,
    seen: Instant,
}

fn message_id(data: &str) -> Option<String> {
    let line = data
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let value = line.split_once(':')?.1.trim().trim_start_matches('<');
    let value = value.strip_prefix("sign-in.").unwrap_or(value);
    Some(value.split('@').next()?.to_owned())
}

/// Every `/rsvp/{token}` in the message's decoded text parts.
fn rsvp_tokens(data: &str) -> Vec<String> {
    let Ok(parsed) = mailparse::parse_mail(data.as_bytes()) else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    let mut stack = vec![&parsed];
    while let Some(part) = stack.pop() {
        if part.ctype.mimetype == "text/plain" {
            if let Ok(body) = part.get_body() {
                texts.push(body);
            }
        }
        stack.extend(part.subparts.iter());
    }
    let mut tokens = BTreeSet::new();
    for text in texts {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("/rsvp/") {
            rest = &rest[at + 6..];
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if token.len() > 20 {
                tokens.insert(token);
            }
        }
    }
    tokens.into_iter().collect()
}

/// Reads new mail every 200 ms: records each message's id and arrival, hands the RSVP
/// links to the deployment it was sent for (by the recipient's domain).
async fn watch_mail(
    server: Arc<smtp::SmtpServer>,
    worlds: Vec<Arc<World>>,
    got: Arc<Mutex<Vec<Got>>>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = 0;
    loop {
        let new = server.received_from(seen);
        let now = Instant::now();
        seen += new.len();
        for message in new {
            let id = message_id(&message.data).unwrap_or_default();
            got.lock().unwrap().push(Got { id, seen: now });
            let tokens = rsvp_tokens(&message.data);
            if tokens.is_empty() {
                continue;
            }
            if let Some(world) = worlds.iter().find(|w| {
                let domain = format!("@{}.soak.test", w.deployment);
                message.to.iter().any(|t| t.ends_with(&domain))
            }) {
                world.rsvp_tokens.lock().unwrap().extend(tokens);
            }
        }
        if *stop.borrow() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------
// Checks in the database
// ---------------------------------------------------------------------------------

macro_rules! select {
    ($store:expr, $sql:literal => $ty:ty) => {{
        let rows: Result<Vec<$ty>, sqlx::Error> = match $store {
            Store::Sqlite { pool, .. } => sqlx::query_as::<_, $ty>($sql).fetch_all(pool).await,
            Store::Postgres(pool) => sqlx::query_as::<_, $ty>($sql).fetch_all(pool).await,
        };
        rows.map_err(|e| format!("{}: {e}", $sql))?
    }};
}

struct Enr {
    id: Uuid,
    session: Uuid,
    scope: String,
    from_key: String,
    status: String,
    queue_seq: i64,
}

impl Enr {
    fn covers(&self, key: &str) -> bool {
        if self.scope == "series" {
            self.from_key.as_str() <= key
        } else {
            self.from_key == key
        }
    }
}

struct Occ {
    capacity: i32,
    cancelled: bool,
    taken: i32,
    count: i64,
}

/// What one deployment's database says after the run.
struct Findings {
    occurrences: usize,
    confirmed: usize,
    waitlisted: usize,
    cancelled: usize,
    promoted_or_waiting_checked: usize,
    outbox: BTreeMap<String, usize>,
    failures: Vec<String>,
    notes: Vec<String>,
}

async fn outbox_due(store: &Store) -> Result<usize, String> {
    let now = Utc::now();
    let rows = select!(store,
        "SELECT status, available_at FROM outbox WHERE status IN ('pending', 'sending')"
        => (String, DateTime<Utc>));
    Ok(rows.iter().filter(|(_, at)| *at <= now).count())
}

/// The place invariant (as tests/places_property.rs states it): per occurrence, the
/// confirmed enrollments covering it minus its "I can't come" answers fit its
/// capacity and equal the stored count; nobody waits who fits; the queue is served in
/// order among enrollments that need the same places.
async fn check_places(store: &Store, f: &mut Findings) -> Result<(), String> {
    let sessions =
        select!(store, "SELECT id, capacity, status FROM sessions" => (Uuid, i32, String));
    let rows = select!(store,
        "SELECT session_id, occurrence_key, status, capacity, taken FROM occurrences"
        => (Uuid, String, String, i32, i32));
    let enrollments = select!(store,
        "SELECT id, session_id, scope, from_key, status, queue_seq
         FROM enrollments ORDER BY session_id, queue_seq"
        => (Uuid, Uuid, String, String, String, i64));
    let declined: BTreeSet<(Uuid, String)> = select!(store,
        "SELECT enrollment_id, occurrence_key FROM rsvps WHERE answer = 'not_coming'"
        => (Uuid, String))
    .into_iter()
    .collect();
    let published: HashMap<Uuid, bool> = sessions
        .iter()
        .map(|(id, _, status)| (*id, status == "published"))
        .collect();
    let enrollments: Vec<Enr> = enrollments
        .into_iter()
        .map(|(id, session, scope, from_key, status, queue_seq)| Enr {
            id,
            session,
            scope,
            from_key,
            status,
            queue_seq,
        })
        .collect();
    let mut by_session: HashMap<Uuid, Vec<&Enr>> = HashMap::new();
    for e in &enrollments {
        by_session.entry(e.session).or_default().push(e);
        match e.status.as_str() {
            "confirmed" => f.confirmed += 1,
            "waitlisted" => f.waitlisted += 1,
            _ => f.cancelled += 1,
        }
    }
    let count = |session: Uuid, key: &str, without: Option<Uuid>| -> i64 {
        by_session.get(&session).map_or(0, |list| {
            list.iter()
                .filter(|e| {
                    e.status == "confirmed"
                        && Some(e.id) != without
                        && e.covers(key)
                        && !declined.contains(&(e.id, key.to_owned()))
                })
                .count() as i64
        })
    };
    let mut occs: BTreeMap<(Uuid, String), Occ> = BTreeMap::new();
    for (session, key, status, capacity, taken) in rows {
        let n = count(session, &key, None);
        occs.insert(
            (session, key),
            Occ {
                capacity,
                cancelled: status == "cancelled",
                taken,
                count: n,
            },
        );
    }
    f.occurrences = occs.len();
    for ((session, key), occ) in &occs {
        if i64::from(occ.taken) != occ.count {
            f.failures.push(format!(
                "occurrence {session} {key}: stored taken {} but {} confirmed places counted",
                occ.taken, occ.count
            ));
        }
        if !occ.cancelled && published[session] && occ.count > i64::from(occ.capacity) {
            f.failures.push(format!(
                "occurrence {session} {key}: {} confirmed for {} places",
                occ.count, occ.capacity
            ));
        }
    }
    // Whether `wait` would get a place, `without` not counted.
    let now_key = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let fits = |wait: &Enr, without: Option<&Enr>| -> bool {
        let single = wait.scope == "occurrence";
        if single && wait.from_key <= now_key {
            return false;
        }
        let from = if single {
            wait.from_key.clone()
        } else {
            wait.from_key.clone().max(now_key.clone())
        };
        let mut seen = false;
        for ((session, key), occ) in occs.range((wait.session, from)..) {
            if *session != wait.session || (single && *key != wait.from_key) {
                break;
            }
            seen = true;
            if occ.cancelled {
                if single {
                    return false;
                }
                continue;
            }
            let mut n = occ.count;
            if let Some(other) = without {
                if other.covers(key) && !declined.contains(&(other.id, key.clone())) {
                    n -= 1;
                }
            }
            if n >= i64::from(occ.capacity) {
                return false;
            }
        }
        seen || !single
    };
    for list in by_session.values() {
        if !published.get(&list[0].session).copied().unwrap_or(false) {
            continue;
        }
        for wait in list.iter().filter(|e| e.status == "waitlisted") {
            f.promoted_or_waiting_checked += 1;
            if fits(wait, None) {
                f.failures.push(format!(
                    "enrollment {} ({} from {}, queue {}) waits though every occurrence it needs has a place",
                    wait.id, wait.scope, wait.from_key, wait.queue_seq
                ));
            }
            // Later in the queue, needing exactly the same places, and holding one.
            for later in list.iter().filter(|e| {
                e.status == "confirmed"
                    && e.queue_seq > wait.queue_seq
                    && e.scope == wait.scope
                    && e.from_key == wait.from_key
            }) {
                if fits(wait, Some(later)) {
                    f.failures.push(format!(
                        "enrollment {} (queue {}) holds the place that {} (queue {}, earlier) waits for",
                        later.id, later.queue_seq, wait.id, wait.queue_seq
                    ));
                }
            }
        }
    }
    Ok(())
}

struct OutboxRow {
    id: Uuid,
    kind: String,
    status: String,
    available_at: DateTime<Utc>,
    last_error: Option<String>,
}

async fn outbox_rows(store: &Store) -> Result<Vec<OutboxRow>, String> {
    let rows = select!(store,
        "SELECT id, kind, status, available_at, last_error FROM outbox"
        => (Uuid, String, String, DateTime<Utc>, Option<String>));
    Ok(rows
        .into_iter()
        .map(|(id, kind, status, available_at, last_error)| OutboxRow {
            id,
            kind,
            status,
            available_at,
            last_error,
        })
        .collect())
}

// ---------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------

/// When the PostgreSQL instance was down: from the kill until it answered again.
#[derive(Clone, Copy)]
struct KillWindow {
    killed: Instant,
    back: Instant,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    let pg_name = format!("es_soak_{}", Uuid::new_v4().simple());
    let result = run(&options, &pg_name).await;
    // The database goes whatever happened.
    if let Err(e) = drop_database(&options.pg_url, &pg_name).await {
        eprintln!("soak: could not drop {pg_name}: {e}");
    }
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

fn with_database(server: &str, name: &str) -> Result<String, String> {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (server.to_owned(), String::new()),
    };
    let root = match base.split_once("://") {
        Some((_, rest)) if rest.contains('/') => base.rsplit_once('/').map(|(r, _)| r.to_owned()),
        Some(_) => Some(base.clone()),
        None => None,
    }
    .ok_or_else(|| format!("PG_URL is not a URL: {server}"))?;
    Ok(format!("{root}/{name}{query}"))
}

async fn drop_database(server: &str, name: &str) -> Result<(), String> {
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

async fn run(options: &Options, pg_name: &str) -> Result<bool, String> {
    let started_at = Utc::now();
    if !options.bin.exists() {
        return Err(format!(
            "no binary at {} (build it, or set SOAK_BIN)",
            options.bin.display()
        ));
    }
    let temp = tempfile::Builder::new()
        .prefix("soak-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut admin = sqlx::PgConnection::connect(&options.pg_url)
        .await
        .map_err(|e| format!("PostgreSQL at PG_URL: {e}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {pg_name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("CREATE DATABASE: {e}"))?;
    drop(admin);
    let pg_url = with_database(&options.pg_url, pg_name)?;
    let sqlite_path = temp.path().join("sqlite/entourage-sport.sqlite");

    let server = Arc::new(smtp::SmtpServer::start());
    let instance = |name: &'static str, deployment: &'static str, url: &str, dir: &str| {
        let data_dir = temp.path().join(dir);
        std::fs::create_dir_all(&data_dir).expect("data folder");
        Arc::new(Instance {
            name,
            deployment,
            database_url: url.to_owned(),
            port: free_port(),
            data_dir,
            smtp_url: server.url(),
            bin: options.bin.clone(),
            child: Mutex::new(None),
            peak_rss: AtomicU64::new(0),
            starts: AtomicU64::new(0),
        })
    };
    let pg_a = instance("pg-a", "pg", &pg_url, "pg-a");
    let pg_b = instance("pg-b", "pg", &pg_url, "pg-b");
    let lite = instance(
        "sqlite",
        "sqlite",
        &format!("sqlite://{}", sqlite_path.display()),
        "sqlite",
    );
    let all = [Arc::clone(&pg_a), Arc::clone(&pg_b), Arc::clone(&lite)];
    let http = reqwest::Client::new();
    // pg-a alone first: it runs the migrations; then the others.
    pg_a.start()?;
    pg_a.wait_ready(&http).await?;
    pg_b.start()?;
    lite.start()?;
    pg_b.wait_ready(&http).await?;
    lite.wait_ready(&http).await?;
    eprintln!(
        "soak: instances up (pg-a :{}, pg-b :{}, sqlite :{}), SMTP {}, logs under {}",
        pg_a.port,
        pg_b.port,
        lite.port,
        server.url(),
        temp.path().display()
    );

    let pg = Arc::new(
        seed(
            "pg",
            vec![Arc::clone(&pg_a), Arc::clone(&pg_b)],
            &http,
            options,
        )
        .await?,
    );
    let sq = Arc::new(seed("sqlite", vec![Arc::clone(&lite)], &http, options).await?);
    let worlds = vec![Arc::clone(&pg), Arc::clone(&sq)];
    eprintln!(
        "soak: seeded; {} s of traffic, {} clients per deployment",
        options.duration.as_secs(),
        options.clients
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let got = Arc::new(Mutex::new(Vec::new()));
    let mail = tokio::spawn(watch_mail(
        Arc::clone(&server),
        worlds.clone(),
        Arc::clone(&got),
        stop_rx.clone(),
    ));
    let sampler = {
        let all = all.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            while !*stop.borrow() {
                for i in &all {
                    i.sample_rss();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    let t0 = Instant::now();
    let until = t0 + options.duration;
    let mut clients = Vec::new();
    for world in &worlds {
        for c in 0..options.clients {
            let seed = (c as u64 + 1) * 7919 + world.deployment.len() as u64;
            clients.push(tokio::spawn(client(Arc::clone(world), c, until, seed)));
        }
    }

    // The faults.
    let refuse_for = Duration::from_secs((options.duration.as_secs() / 10).min(60));
    let chaos = {
        let victim = Arc::clone(&pg_a);
        let server = Arc::clone(&server);
        let duration = options.duration;
        let http = http.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until((t0 + duration.mul_f64(0.4)).into()).await;
            let killed = Instant::now();
            victim.kill();
            eprintln!(
                "soak: pg-a killed (SIGKILL) at {:.0} s",
                ms(killed - t0) / 1000.0
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
            let restart = victim.start().and(Ok(()));
            let ready = match restart {
                Ok(()) => victim.wait_ready(&http).await,
                Err(e) => Err(e),
            };
            let back = Instant::now();
            eprintln!(
                "soak: pg-a back at {:.0} s ({ready:?})",
                ms(back - t0) / 1000.0
            );
            tokio::time::sleep_until((t0 + duration.mul_f64(0.6)).into()).await;
            let refused = Instant::now();
            server.set_mode(smtp::Mode::RefuseTemporarily);
            eprintln!(
                "soak: SMTP refusing (4xx) at {:.0} s for {} s",
                ms(refused - t0) / 1000.0,
                refuse_for.as_secs()
            );
            tokio::time::sleep(refuse_for).await;
            server.set_mode(smtp::Mode::Accept);
            eprintln!("soak: SMTP accepting again");
            (KillWindow { killed, back }, ready, refused)
        })
    };

    let mut samples = Vec::new();
    for c in clients {
        samples.extend(c.await.map_err(|e| e.to_string())?);
    }
    let (window, restarted, refused_at) = chaos.await.map_err(|e| e.to_string())?;
    eprintln!("soak: traffic over, {} requests; draining", samples.len());

    // Outboxes: wait until nothing due is left (bounded).
    let stores = [
        (
            "pg",
            Store::connect(&DatabaseUrl::Postgres(pg_url.clone()))
                .await
                .map_err(|e| e.to_string())?,
        ),
        (
            "sqlite",
            Store::connect(&DatabaseUrl::Sqlite(sqlite_path.clone()))
                .await
                .map_err(|e| e.to_string())?,
        ),
    ];
    let drain_start = Instant::now();
    let mut drained = false;
    while drain_start.elapsed() < options.drain {
        let mut due = 0;
        for (_, store) in &stores {
            due += outbox_due(store).await?;
        }
        if due == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let drain_time = drain_start.elapsed();
    // The last messages recorded sent are on the relay already; give the watcher a turn.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in &all {
        i.stop().await;
    }
    let _ = stop_tx.send(true);
    let _ = mail.await;
    let _ = sampler.await;

    // ---- checks ----
    let mut failures: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if let Err(e) = restarted {
        failures.push(format!("pg-a did not come back after the kill: {e}"));
    }
    if !drained {
        failures.push(format!(
            "outboxes not drained after {} s",
            options.drain.as_secs()
        ));
    }
    let got = std::mem::take(&mut *got.lock().unwrap());
    let mut receipts: HashMap<&str, Vec<Instant>> = HashMap::new();
    for g in &got {
        receipts.entry(g.id.as_str()).or_default().push(g.seen);
    }
    let sign_ins = server.sign_ins();
    let sign_in_ids: HashMap<String, usize> = sign_ins
        .iter()
        .filter_map(|m| message_id(&m.data))
        .fold(HashMap::new(), |mut map, id| {
            *map.entry(id).or_default() += 1;
            map
        });
    let lease = Duration::from_secs(LEASE_SECONDS);
    // A message handed to the relay by pg-a just before it died is sent again once its
    // lease ends (at least once delivery: the same Message-ID lets a mailbox drop it).
    let around_kill = |at: Instant| at + lease >= window.killed && at <= window.back;

    let mut findings = Vec::new();
    let mut all_sent: BTreeSet<String> = BTreeSet::new();
    for (deployment, store) in &stores {
        let world = worlds.iter().find(|w| w.deployment == *deployment).unwrap();
        let mut f = Findings {
            occurrences: 0,
            confirmed: 0,
            waitlisted: 0,
            cancelled: 0,
            promoted_or_waiting_checked: 0,
            outbox: BTreeMap::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        };
        check_places(store, &mut f).await?;
        // Every accepted enrollment is stored.
        let stored: BTreeSet<String> = select!(store, "SELECT id FROM enrollments" => (Uuid,))
            .into_iter()
            .map(|(id,)| id.to_string())
            .collect();
        let accepted = world.accepted.lock().unwrap().clone();
        let missing: Vec<&String> = accepted.iter().filter(|id| !stored.contains(*id)).collect();
        if !missing.is_empty() {
            f.failures.push(format!(
                "{} accepted enrollments are not stored, e.g. {}",
                missing.len(),
                missing[0]
            ));
        }
        f.notes.push(format!(
            "{} enrollments accepted by the API, all stored: {}",
            accepted.len(),
            missing.is_empty()
        ));
        // The outbox against the relay.
        let now = Utc::now();
        let rows = outbox_rows(store).await?;
        let mut duplicates_explained = 0;
        for row in &rows {
            *f.outbox.entry(row.status.clone()).or_default() += 1;
            let id = row.id.to_string();
            match row.status.as_str() {
                "sent" => {
                    all_sent.insert(id.clone());
                    let times = receipts.get(id.as_str()).cloned().unwrap_or_default();
                    let n = times.len() + sign_in_ids.get(&id).copied().unwrap_or(0);
                    if n == 0 {
                        f.failures
                            .push(format!("{} {id} marked sent, never received", row.kind));
                    } else if n > 1 {
                        if *deployment == "pg" && times.iter().take(n - 1).all(|t| around_kill(*t))
                        {
                            duplicates_explained += 1;
                        } else {
                            f.failures
                                .push(format!("{} {id} received {n} times", row.kind));
                        }
                    }
                }
                "pending" | "sending" if row.available_at <= now => f.failures.push(format!(
                    "{} {id} due since {} still {} ({})",
                    row.kind,
                    row.available_at,
                    row.status,
                    row.last_error.as_deref().unwrap_or("no error")
                )),
                "dead" => f.failures.push(format!(
                    "{} {id} dead: {}",
                    row.kind,
                    row.last_error.as_deref().unwrap_or("?")
                )),
                _ => {}
            }
        }
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.status == "sent") {
            *kinds.entry(row.kind.as_str()).or_default() += 1;
        }
        f.notes.push(format!(
            "sent by kind: {}",
            kinds
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if duplicates_explained > 0 {
            f.notes.push(format!(
                "{duplicates_explained} messages received twice, the first copy sent by pg-a within the lease before its SIGKILL (at-least-once delivery, same Message-ID)"
            ));
        }
        findings.push((*deployment, f));
    }
    // Received, but no outbox says sent.
    let stray: Vec<&Got> = got.iter().filter(|g| !all_sent.contains(&g.id)).collect();
    let (stray_ok, stray_bad): (Vec<&Got>, Vec<&Got>) =
        stray.into_iter().partition(|g| around_kill(g.seen));
    if !stray_bad.is_empty() {
        failures.push(format!(
            "{} messages received that no outbox marks sent, e.g. {}",
            stray_bad.len(),
            stray_bad[0].id
        ));
    }
    if !stray_ok.is_empty() {
        notes.push(format!(
            "{} messages received around the kill and not (yet) marked sent",
            stray_ok.len()
        ));
    }

    // Status codes: no 5xx, and no failed connection outside pg-a's kill window.
    let in_window = |s: &Sample| {
        s.instance == "pg-a"
            && s.started <= window.back + Duration::from_secs(1)
            && s.started + s.latency >= window.killed
    };
    let mut expected_errors = 0;
    let mut by_status: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for s in &samples {
        *by_status.entry((s.op, s.status)).or_default() += 1;
        if s.status == 0 || s.status >= 500 {
            if in_window(s) {
                expected_errors += 1;
            } else {
                failures.push(format!(
                    "{} on {} answered {} outside the kill window ({:.1} s into the run)",
                    s.op,
                    s.instance,
                    if s.status == 0 {
                        "no connection".to_owned()
                    } else {
                        s.status.to_string()
                    },
                    (s.started - t0).as_secs_f64()
                ));
            }
        }
    }
    for i in &all {
        let peak = i.peak_rss.load(Ordering::SeqCst);
        if peak >= RSS_LIMIT_KIB {
            failures.push(format!(
                "{}: peak RSS {:.1} MiB ≥ 256 MiB",
                i.name,
                peak as f64 / 1024.0
            ));
        }
    }

    // ---- report ----
    let mut r = String::new();
    use std::fmt::Write;
    let _ = writeln!(
        r,
        "# Soak run {}\n",
        started_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        r,
        "{} s of traffic, {} clients per deployment (PostgreSQL: two instances, clients split between them; SQLite: one), {} requests. Load average before the run: {}; {} CPU cores; other agents' work shares the machine, so the figures are noisy.\n",
        options.duration.as_secs(),
        options.clients,
        samples.len(),
        options.load,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        r,
        "Faults: pg-a SIGKILLed at {:.0} s, answering again at {:.0} s ({} requests failed or got 5xx during that window, expected); SMTP answering 4xx from {:.0} s for {} s. Outboxes drained {} s after the traffic stopped{}.\n",
        (window.killed - t0).as_secs_f64(),
        (window.back - t0).as_secs_f64(),
        expected_errors,
        (refused_at - t0).as_secs_f64(),
        refuse_for.as_secs(),
        drain_time.as_secs(),
        if drained { "" } else { " (NOT drained)" },
    );
    let _ = writeln!(r, "## Latency per operation\n");
    let _ = writeln!(
        r,
        "| deployment | operation | requests | 2xx | 4xx | 5xx | no answer | p50 ms | p99 ms |"
    );
    let _ = writeln!(r, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut groups: BTreeMap<(&str, &str), Vec<&Sample>> = BTreeMap::new();
    for s in &samples {
        groups.entry((s.deployment, s.op)).or_default().push(s);
    }
    for ((deployment, op), list) in &groups {
        let mut answered: Vec<Duration> = list
            .iter()
            .filter(|s| s.status != 0)
            .map(|s| s.latency)
            .collect();
        answered.sort();
        let n = |f: &dyn Fn(u16) -> bool| list.iter().filter(|s| f(s.status)).count();
        let _ = writeln!(
            r,
            "| {deployment} | {op} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            list.len(),
            n(&|s| (200..300).contains(&s)),
            n(&|s| (400..500).contains(&s)),
            n(&|s| s >= 500),
            n(&|s| s == 0),
            ms(percentile(&answered, 0.5)),
            ms(percentile(&answered, 0.99)),
        );
    }
    let _ = writeln!(r, "\n4xx by operation and status (expected refusals: already enrolled, RSVP for a started occurrence or a lost place, sheet before the start…):\n");
    for ((op, status), n) in &by_status {
        if (400..500).contains(status) {
            let _ = write!(r, "{op} {status}: {n}; ");
        }
    }
    let _ = writeln!(r, "\n\n## Memory\n");
    let _ = writeln!(r, "| instance | peak RSS (VmHWM) | starts |");
    let _ = writeln!(r, "| --- | --- | --- |");
    for i in &all {
        let _ = writeln!(
            r,
            "| {} | {:.1} MiB | {} |",
            i.name,
            i.peak_rss.load(Ordering::SeqCst) as f64 / 1024.0,
            i.starts.load(Ordering::SeqCst)
        );
    }
    let _ = writeln!(r, "\n## Invariants\n");
    let received = got.len() + sign_ins.len();
    let _ = writeln!(
        r,
        "SMTP server: {received} messages received ({} sign-in links), {} refusals answered; outbox rows marked sent, both deployments: {}.\n",
        sign_ins.len(),
        server.attempts(),
        all_sent.len()
    );
    for (deployment, f) in &findings {
        let _ = writeln!(
            r,
            "- **{deployment}**: {} stored occurrences checked, enrollments {} confirmed / {} waitlisted / {} cancelled ({} waiting ones checked for a free place and queue order); outbox {}; {}",
            f.occurrences,
            f.confirmed,
            f.waitlisted,
            f.cancelled,
            f.promoted_or_waiting_checked,
            f.outbox
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
            if f.failures.is_empty() {
                "all checks pass".to_owned()
            } else {
                format!("{} failures", f.failures.len())
            }
        );
        for note in &f.notes {
            let _ = writeln!(r, "  - {note}");
        }
        failures.extend(f.failures.iter().map(|x| format!("{deployment}: {x}")));
    }
    for note in &notes {
        let _ = writeln!(r, "- {note}");
    }
    let ok = failures.is_empty();
    let _ = writeln!(r, "\n**Result: {}**", if ok { "pass" } else { "FAIL" });
    // Three examples of each kind of failure (the text without its ids and numbers),
    // so that a thousand of one kind do not hide another.
    let mut kinds: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for failure in &failures {
        let kind: String = failure.chars().filter(|c| !c.is_ascii_hexdigit()).collect();
        kinds.entry(kind).or_default().push(failure);
    }
    for list in kinds.values() {
        for failure in list.iter().take(3) {
            let _ = writeln!(r, "- {failure}");
        }
        if list.len() > 3 {
            let _ = writeln!(r, "- … and {} more like this", list.len() - 3);
        }
    }
    print!("{r}");
    if let Some(path) = &options.report {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, &r).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("soak: report written to {}", path.display());
    }
    if !ok {
        // Keep the instances' logs for a look.
        let kept = temp.keep();
        eprintln!("soak: logs kept in {}", kept.display());
    }
    Ok(ok)
}
