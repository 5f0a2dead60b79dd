//! Property test of the place invariant (issue 10, item 7).
//!
//! Each case turns a seed into a random sequence of operations against one or two weekly
//! sessions with 1 to 3 places, driven over HTTP against the real service (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` is set): series and single-occurrence enrollments,
//! cancellations, capacity changes of the session and of one occurrence, cancelling,
//! moving and restoring one occurrence, "I can't come" / "I'm coming" answers through
//! RSVP links, changes of the rule and of the start time, erasures, the cancellation of
//! a session, and steps where 2 to 4 clients act at once. Every answer must be a 2xx or
//! a 4xx problem+json, within 30 s.
//!
//! After every step the database is read directly and checked against a brute-force
//! count, and at the end of the sequence the API listings and the outbox too:
//!
//! a. every occurrence's stored `taken` (and the API's `places_left`, the roster's
//!    `confirmed`) equals the confirmed series enrollments covering it + the confirmed
//!    enrollments for it − the "I can't come" answers of those for it;
//! b. taken ≤ capacity in every occurrence that is not cancelled, unless a lowered
//!    capacity overbooked it — then nobody covering it was confirmed after the lowering
//!    (bringing back a cancelled occurrence, and an occurrence that a changed rule or
//!    start replaces without its capacity override, count as lowerings);
//! c. nobody waits while every upcoming occurrence they need has a place, and nobody
//!    later in a session's queue was confirmed while an earlier one who would have fit
//!    that place still waits;
//! d. an enrollment ever confirmed has exactly one invitation in the outbox, a cancelled
//!    one exactly one cancellation (none needed once the participant is erased);
//! e. an erased participant holds no active enrollment.
//!
//! Environment: `PROPERTY_CASES` (default 6), `PROPERTY_SEED` (first case's seed; case i
//! runs seed + i), `PROPERTY_STEPS` (replay only these step indices, e.g. `0,4,7`),
//! `PROPERTY_SHRINK_SECS` (time for shrinking failures, default 6; 0: no shrinking),
//! `PROPERTY_VERBOSE=1` (print every failing case's steps, not only one per kind).
//! `scripts/property.sh` runs many cases on both databases.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use common::*;
use entourage_sport::domain::rsvp::{Answer as Reply, Rsvp, Signer};
use entourage_sport::domain::schedule::OccurrenceKey;
use entourage_sport::store::Store;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;
use uuid::Uuid;

const DEFAULT_CASES: usize = 6;
const DEFAULT_SEED: u64 = 20_261_210;
const PEOPLE: usize = 6;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const PUBLIC_URL: &str = "http://sport.test";
const KEY_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Rules a session may be changed to: (RRULE, local start of the first occurrence).
const RULES: [(&str, &str); 5] = [
    ("FREQ=WEEKLY;BYDAY=TU", "2026-03-10T18:30:00"),
    ("FREQ=WEEKLY;BYDAY=TU", "2026-03-10T19:00:00"),
    ("FREQ=WEEKLY;BYDAY=TU,TH", "2026-03-10T18:30:00"),
    ("FREQ=WEEKLY;BYDAY=WE", "2026-03-11T18:30:00"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "2026-03-10T18:30:00"),
];

// ---------------------------------------------------------------------------------
// Seeded generation
// ---------------------------------------------------------------------------------

/// splitmix64: small, seeded, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = (self.next() % u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        weights.len() - 1
    }

    /// `k` distinct indices below `n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k.min(n));
        all
    }
}

/// Which occurrences an operation aims at: the next few, some 30 to 50 weeks ahead
/// (past the 26 weeks a series is checked over, within the materialised horizon), or
/// beyond the horizon of materialised occurrences (548 days).
#[derive(Clone, Copy, Debug)]
enum Reach {
    Near,
    Mid,
    Beyond,
}

#[derive(Clone, Copy, Debug)]
struct KeyPick {
    reach: Reach,
    index: usize,
}

impl std::fmt::Display for KeyPick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reach {
            Reach::Near => write!(f, "upcoming occurrence #{}", self.index),
            Reach::Mid => write!(f, "occurrence ~30-50 weeks ahead #{}", self.index),
            Reach::Beyond => write!(f, "occurrence beyond the horizon #{}", self.index),
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Series {
        who: usize,
        s: usize,
        from_weeks: Option<i64>,
    },
    Single {
        who: usize,
        s: usize,
        key: KeyPick,
    },
    Cancel {
        pick: usize,
    },
    Capacity {
        s: usize,
        places: i32,
    },
    OccurrenceCapacity {
        s: usize,
        key: KeyPick,
        places: i32,
    },
    CancelOccurrence {
        s: usize,
        key: KeyPick,
    },
    MoveOccurrence {
        s: usize,
        key: KeyPick,
        hours: i64,
    },
    RestoreOccurrence {
        s: usize,
        pick: usize,
    },
    NotComing {
        pick: usize,
        key: KeyPick,
    },
    Coming {
        pick: usize,
    },
    Rule {
        s: usize,
        rule: usize,
    },
    Erase {
        who: usize,
    },
    /// 2 to 4 enrollments at once, into the same occurrence or series.
    Crowd {
        s: usize,
        who: Vec<usize>,
        key: Option<KeyPick>,
    },
    /// An enrollment and the erasure of its participant at once.
    EraseRace {
        who: usize,
        s: usize,
        key: Option<KeyPick>,
    },
    /// A cancellation and new enrollments in the same session at once.
    CancelRace {
        pick: usize,
        s: usize,
        who: Vec<usize>,
    },
    CancelSession {
        s: usize,
    },
}

impl Op {
    fn concurrent(&self) -> bool {
        matches!(
            self,
            Op::Crowd { .. } | Op::EraseRace { .. } | Op::CancelRace { .. }
        )
    }
}

fn people(who: &[usize]) -> String {
    who.iter()
        .map(|w| format!("P{w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_text(key: &Option<KeyPick>) -> String {
    match key {
        Some(k) => format!("the {k}"),
        None => "the series".into(),
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Series {
                who,
                s,
                from_weeks: None,
            } => write!(f, "enrol P{who} in S{s}, series"),
            Op::Series {
                who,
                s,
                from_weeks: Some(w),
            } => write!(f, "enrol P{who} in S{s}, series from {w} weeks ahead"),
            Op::Single { who, s, key } => write!(f, "enrol P{who} in S{s}, the {key}"),
            Op::Cancel { pick } => write!(f, "cancel active enrollment #{pick}"),
            Op::Capacity { s, places } => write!(f, "S{s}: capacity {places}"),
            Op::OccurrenceCapacity { s, key, places } => {
                write!(f, "S{s}: capacity {places} for the {key}")
            }
            Op::CancelOccurrence { s, key } => write!(f, "S{s}: cancel the {key}"),
            Op::MoveOccurrence { s, key, hours } => {
                write!(f, "S{s}: move the {key} by {hours} h")
            }
            Op::RestoreOccurrence { s, pick } => {
                write!(f, "S{s}: restore changed occurrence #{pick}")
            }
            Op::NotComing { pick, key } => write!(
                f,
                "\"I can't come\" for confirmed enrollment #{pick} (series: the {key})"
            ),
            Op::Coming { pick } => write!(f, "\"I'm coming\" again for declined answer #{pick}"),
            Op::Rule { s, rule } => {
                let (rrule, start) = RULES[*rule];
                write!(f, "S{s}: rule {rrule}, start {start}")
            }
            Op::Erase { who } => write!(f, "erase P{who}"),
            Op::Crowd { s, who, key } => write!(
                f,
                "at once: enrol {} in S{s}, {}",
                people(who),
                scope_text(key)
            ),
            Op::EraseRace { who, s, key } => write!(
                f,
                "at once: enrol P{who} in S{s} ({}) and erase P{who}",
                scope_text(key)
            ),
            Op::CancelRace { pick, s, who } => write!(
                f,
                "at once: cancel S{s}'s confirmed enrollment #{pick} and enrol {} in S{s}, series",
                people(who)
            ),
            Op::CancelSession { s } => write!(f, "cancel session S{s}"),
        }
    }
}

#[derive(Clone, Debug)]
struct Plan {
    seed: u64,
    capacities: Vec<i32>,
    steps: Vec<Op>,
}

fn key_pick(r: &mut Rng) -> KeyPick {
    let reach = match r.below(10) {
        0..=5 => Reach::Near,
        6..=7 => Reach::Mid,
        _ => Reach::Beyond,
    };
    KeyPick {
        reach,
        index: r.below(4),
    }
}

fn maybe_key(r: &mut Rng) -> Option<KeyPick> {
    (r.below(2) == 0).then(|| key_pick(r))
}

fn random_op(r: &mut Rng, sessions: usize) -> Op {
    let s = r.below(sessions);
    let who = r.below(PEOPLE);
    let weights = [
        16, // series
        16, // single
        10, // cancel
        7,  // capacity
        3,  // occurrence capacity
        5,  // cancel occurrence
        3,  // move occurrence
        4,  // restore occurrence
        8,  // I can't come
        3,  // I'm coming
        4,  // rule
        3,  // erase
        8,  // crowd
        3,  // erase race
        4,  // cancel race
        u32::from(sessions > 1),
    ];
    match r.weighted(&weights) {
        0 => Op::Series {
            who,
            s,
            from_weeks: match r.below(4) {
                0 => Some(r.between(1, 4)),
                1 => Some(r.between(28, 40)),
                _ => None,
            },
        },
        1 => Op::Single {
            who,
            s,
            key: key_pick(r),
        },
        2 => Op::Cancel { pick: r.below(64) },
        3 => Op::Capacity {
            s,
            places: r.between(1, 3) as i32,
        },
        4 => Op::OccurrenceCapacity {
            s,
            key: key_pick(r),
            places: r.between(1, 3) as i32,
        },
        5 => Op::CancelOccurrence {
            s,
            key: key_pick(r),
        },
        6 => Op::MoveOccurrence {
            s,
            key: key_pick(r),
            hours: [1, -1, 24, 26][r.below(4)],
        },
        7 => Op::RestoreOccurrence {
            s,
            pick: r.below(64),
        },
        8 => Op::NotComing {
            pick: r.below(64),
            key: key_pick(r),
        },
        9 => Op::Coming { pick: r.below(64) },
        10 => Op::Rule {
            s,
            rule: r.below(RULES.len()),
        },
        11 => Op::Erase { who },
        12 => {
            let k = 2 + r.below(3);
            Op::Crowd {
                s,
                who: r.distinct(k, PEOPLE),
                key: maybe_key(r),
            }
        }
        13 => Op::EraseRace {
            who,
            s,
            key: maybe_key(r),
        },
        14 => {
            let k = 1 + r.below(2);
            Op::CancelRace {
                pick: r.below(64),
                s,
                who: r.distinct(k, PEOPLE),
            }
        }
        _ => Op::CancelSession { s },
    }
}

fn plan(seed: u64) -> Plan {
    let mut r = Rng(seed);
    let sessions = 1 + r.below(2);
    let capacities = (0..sessions).map(|_| r.between(1, 3) as i32).collect();
    let count = r.between(15, 40) as usize;
    let steps = (0..count).map(|_| random_op(&mut r, sessions)).collect();
    Plan {
        seed,
        capacities,
        steps,
    }
}

// ---------------------------------------------------------------------------------
// The service under test
// ---------------------------------------------------------------------------------

struct World {
    app: TestApp,
    club: String,
    worker: String,
    manager: String,
    sessions: Vec<String>,
    people: Vec<String>,
    signer: Signer,
    /// Answers that break the contract (5xx, a 4xx without problem+json, no answer).
    faults: Mutex<Vec<String>>,
}

impl World {
    async fn setup(plan: &Plan) -> World {
        let app = spawn_app().await;
        let club = app.club("AS Bondy", "Bondy", &["football"]).await;
        let structure = app.structure("Foyer Saint-Martin").await;
        let worker = app.user("social_worker", None, Some(&structure)).await;
        let manager = app.user("club_manager", Some(&club), None).await;
        let mut sessions = Vec::new();
        for (i, capacity) in plan.capacities.iter().enumerate() {
            sessions.push(
                app.weekly_session(
                    &club,
                    &manager,
                    json!({"capacity": capacity, "title": format!("Football S{i}")}),
                )
                .await,
            );
        }
        let mut ids = Vec::new();
        for i in 0..PEOPLE {
            let answer = app
                .post(
                    "/api/v1/participants",
                    &worker,
                    json!({
                        "first_name": format!("P{i}"),
                        "last_name": "Martin",
                        "email": format!("p{i}-{}@example.org", Uuid::new_v4().simple()),
                        "situation": "shelter",
                        "consent": true
                    }),
                )
                .await;
            assert_eq!(answer.status.as_u16(), 201, "{answer:?}");
            ids.push(answer.id());
        }
        World {
            app,
            club,
            worker,
            manager,
            sessions,
            people: ids,
            signer: Signer::new(TEST_SECRET_KEY.as_bytes()),
            faults: Mutex::new(Vec::new()),
        }
    }

    fn fault(&self, text: String) {
        self.faults.lock().unwrap().push(text);
    }

    /// One request; an answer outside the contract is recorded as a fault.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Option<Answer> {
        let what = format!("{method} {path}");
        match tokio::time::timeout(REQUEST_TIMEOUT, self.app.call(method, path, token, body)).await
        {
            Err(_) => {
                self.fault(format!("{what}: no answer within {REQUEST_TIMEOUT:?}"));
                None
            }
            Ok(answer) => {
                let status = answer.status.as_u16();
                let problem = answer.content_type.starts_with("application/problem+json");
                let fine =
                    (200..300).contains(&status) || ((400..500).contains(&status) && problem);
                if !fine {
                    self.fault(format!(
                        "{what}: {status} {} {}",
                        answer.content_type, answer.body
                    ));
                }
                Some(answer)
            }
        }
    }

    fn session_id(&self, s: usize) -> &str {
        &self.sessions[s]
    }

    /// Occurrence keys of session `s` within `reach`, from the API.
    async fn keys(&self, s: usize, reach: Reach) -> Vec<String> {
        let now = Utc::now();
        let (from, to) = match reach {
            Reach::Near => (now, now + chrono::Duration::days(31)),
            Reach::Mid => (
                now + chrono::Duration::days(210),
                now + chrono::Duration::days(350),
            ),
            Reach::Beyond => (
                now + chrono::Duration::days(560),
                now + chrono::Duration::days(640),
            ),
        };
        let path = format!(
            "/api/v1/sessions/{}/occurrences?from={}&to={}",
            self.session_id(s),
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let Some(answer) = self
            .call(Method::GET, &path, Some(&self.manager), None)
            .await
        else {
            return Vec::new();
        };
        answer.body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|o| o["key"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn key(&self, s: usize, pick: KeyPick) -> Option<String> {
        let keys = self.keys(s, pick.reach).await;
        (!keys.is_empty()).then(|| keys[pick.index % keys.len()].clone())
    }

    async fn enrol(&self, who: usize, s: usize, key: Option<String>, from: Option<String>) -> Said {
        let mut body =
            json!({"participant_id": self.people[who], "session_id": self.session_id(s)});
        if let Some(key) = &key {
            body["occurrence_key"] = json!(key);
        }
        if let Some(from) = from {
            body["from"] = json!(from);
        }
        let answer = self
            .call(
                Method::POST,
                "/api/v1/enrollments",
                Some(&self.worker),
                Some(body),
            )
            .await;
        let mut said = Said::of(&answer);
        if let Some(a) = &answer {
            if a.body["status"] == "confirmed" {
                if let Some(id) = a.body["id"].as_str().and_then(|id| id.parse().ok()) {
                    said.confirmed.push(id);
                }
            }
        }
        said.text = format!(
            "P{who}{}: {}",
            key.map(|k| format!(" {k}")).unwrap_or_default(),
            said.text
        );
        said
    }

    async fn erase(&self, who: usize) -> Said {
        let path = format!("/api/v1/participants/{}", self.people[who]);
        let answer = self
            .call(Method::DELETE, &path, Some(&self.worker), None)
            .await;
        let mut said = Said::of(&answer);
        said.text = format!("erase P{who}: {}", said.text);
        said
    }

    async fn cancel(&self, enrollment: Uuid) -> Said {
        let path = format!("/api/v1/enrollments/{enrollment}");
        Said::of(
            &self
                .call(Method::DELETE, &path, Some(&self.worker), None)
                .await,
        )
    }

    async fn patch_occurrence(&self, s: usize, key: &str, body: Value) -> Said {
        let path = format!("/api/v1/sessions/{}/occurrences/{key}", self.session_id(s));
        let mut said = Said::of(
            &self
                .call(Method::PATCH, &path, Some(&self.manager), Some(body))
                .await,
        );
        said.text = format!("{key}: {}", said.text);
        said
    }

    async fn rsvp(&self, enrollment: Uuid, key: &str, reply: Reply) -> Said {
        let Ok(occurrence) = key.parse::<OccurrenceKey>() else {
            return Said::text(format!("unreadable key {key}"));
        };
        let token = self.signer.sign(&Rsvp {
            enrollment_id: enrollment,
            occurrence,
            answer: reply,
        });
        let mut said = Said::of(
            &self
                .call(Method::POST, &format!("/rsvp/{token}"), None, None)
                .await,
        );
        said.text = format!("{key}: {}", said.text);
        said
    }
}

/// What a step said back: a line for the log, and the enrollments answered confirmed.
#[derive(Default)]
struct Said {
    text: String,
    confirmed: Vec<Uuid>,
}

impl Said {
    fn text(text: String) -> Self {
        Self {
            text,
            confirmed: Vec::new(),
        }
    }

    fn of(answer: &Option<Answer>) -> Self {
        let text = match answer {
            None => "no answer".into(),
            Some(a) if a.status.is_success() => match a.body["status"].as_str() {
                Some(status) if a.body["scope"].is_string() => {
                    match a.body["waitlist_position"].as_i64() {
                        Some(p) => format!("{} {status} (position {p})", a.status.as_u16()),
                        None => format!("{} {status}", a.status.as_u16()),
                    }
                }
                _ => a.status.as_u16().to_string(),
            },
            Some(a) => {
                let detail: String = a.body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(70)
                    .collect();
                format!("{} {detail}", a.status.as_u16())
            }
        };
        Self::text(text)
    }

    fn join(saids: Vec<Said>) -> Self {
        let mut all = Said::default();
        let mut texts = Vec::new();
        for said in saids {
            texts.push(said.text);
            all.confirmed.extend(said.confirmed);
        }
        all.text = texts.join("; ");
        all
    }
}

/// A request to run on its own task, next to others.
type Job = Box<dyn FnOnce(Arc<World>) -> tokio::task::JoinHandle<Said> + Send>;

/// Runs requests at once, each on its own task; answers in the order given.
async fn at_once(w: &Arc<World>, jobs: Vec<Job>) -> Said {
    let handles: Vec<_> = jobs.into_iter().map(|job| job(w.clone())).collect();
    let mut saids = Vec::new();
    for handle in handles {
        saids.push(match handle.await {
            Ok(said) => said,
            Err(error) => Said::text(format!("task failed: {error}")),
        });
    }
    Said::join(saids)
}

fn enrol_job(who: usize, s: usize, key: Option<String>) -> Job {
    Box::new(move |w: Arc<World>| tokio::spawn(async move { w.enrol(who, s, key, None).await }))
}

/// Local start `hours` after the occurrence's original start, in Paris.
fn moved_start(key: &str, hours: i64) -> Option<String> {
    let at = NaiveDateTime::parse_from_str(key, KEY_FORMAT)
        .ok()?
        .and_utc();
    let local =
        at.with_timezone(&chrono_tz::Europe::Paris).naive_local() + chrono::Duration::hours(hours);
    Some(local.format("%Y-%m-%dT%H:%M:%S").to_string())
}

fn session_index(w: &World, session: Uuid) -> usize {
    w.sessions
        .iter()
        .position(|s| *s == session.to_string())
        .unwrap_or(usize::MAX)
}

/// Enrollments in session and queue order (not by their random ids), so that a seed
/// replays the same choices.
fn in_order<'a>(w: &World, enrollments: impl Iterator<Item = &'a Enr>) -> Vec<&'a Enr> {
    let mut all: Vec<&Enr> = enrollments.collect();
    all.sort_by_key(|e| (session_index(w, e.session), e.queue_seq));
    all
}

async fn apply(w: &Arc<World>, op: &Op, snap: &Snap) -> Said {
    match op {
        Op::Series { who, s, from_weeks } => {
            let from = from_weeks.map(|weeks| {
                (Utc::now().with_timezone(&chrono_tz::Europe::Paris)
                    + chrono::Duration::weeks(weeks))
                .format("%Y-%m-%d")
                .to_string()
            });
            w.enrol(*who, *s, None, from).await
        }
        Op::Single { who, s, key } => match w.key(*s, *key).await {
            Some(key) => w.enrol(*who, *s, Some(key), None).await,
            None => Said::text("skipped: no such occurrence".into()),
        },
        Op::Cancel { pick } => {
            let active = in_order(w, snap.active());
            if active.is_empty() {
                return Said::text("skipped: no active enrollment".into());
            }
            let e = active[pick % active.len()];
            let mut said = w.cancel(e.id).await;
            said.text = format!("{}: {}", snap.label(w, e), said.text);
            said
        }
        Op::Capacity { s, places } => {
            let path = format!("/api/v1/sessions/{}", w.session_id(*s));
            Said::of(
                &w.call(
                    Method::PATCH,
                    &path,
                    Some(&w.manager),
                    Some(json!({"capacity": places})),
                )
                .await,
            )
        }
        Op::OccurrenceCapacity { s, key, places } => match w.key(*s, *key).await {
            Some(key) => {
                w.patch_occurrence(*s, &key, json!({"capacity": places}))
                    .await
            }
            None => Said::text("skipped: no such occurrence".into()),
        },
        Op::CancelOccurrence { s, key } => match w.key(*s, *key).await {
            Some(key) => {
                w.patch_occurrence(*s, &key, json!({"status": "cancelled"}))
                    .await
            }
            None => Said::text("skipped: no such occurrence".into()),
        },
        Op::MoveOccurrence { s, key, hours } => match w.key(*s, *key).await {
            Some(key) => match moved_start(&key, *hours) {
                Some(start) => w.patch_occurrence(*s, &key, json!({"start": start})).await,
                None => Said::text(format!("skipped: unreadable key {key}")),
            },
            None => Said::text("skipped: no such occurrence".into()),
        },
        Op::RestoreOccurrence { s, pick } => {
            let session: Uuid = w.session_id(*s).parse().unwrap();
            let changed: Vec<&String> = snap
                .overrides
                .keys()
                .filter(|(id, _)| *id == session)
                .map(|(_, key)| key)
                .collect();
            if changed.is_empty() {
                return Said::text("skipped: no changed occurrence".into());
            }
            let key = changed[pick % changed.len()].clone();
            w.patch_occurrence(
                *s,
                &key,
                json!({"status": "scheduled", "start": null, "capacity": null}),
            )
            .await
        }
        Op::NotComing { pick, key } => {
            let confirmed = in_order(
                w,
                snap.enrollments.iter().filter(|e| e.status == "confirmed"),
            );
            if confirmed.is_empty() {
                return Said::text("skipped: no confirmed enrollment".into());
            }
            let e = confirmed[pick % confirmed.len()];
            let occurrence = if e.scope == "occurrence" {
                Some(e.from_key.clone())
            } else {
                let s = w
                    .sessions
                    .iter()
                    .position(|id| *id == e.session.to_string());
                match s {
                    Some(s) => {
                        let keys: Vec<String> = w
                            .keys(s, key.reach)
                            .await
                            .into_iter()
                            .filter(|k| *k >= e.from_key)
                            .collect();
                        (!keys.is_empty()).then(|| keys[key.index % keys.len()].clone())
                    }
                    None => None,
                }
            };
            match occurrence {
                Some(occurrence) => {
                    let mut said = w.rsvp(e.id, &occurrence, Reply::NotComing).await;
                    said.text = format!("{}, {}", snap.label(w, e), said.text);
                    said
                }
                None => Said::text("skipped: no occurrence to decline".into()),
            }
        }
        Op::Coming { pick } => {
            let mut declined: Vec<&(Uuid, String)> = snap.declined.iter().collect();
            declined.sort_by_key(|(id, key)| {
                let e = snap.enrollments.iter().find(|e| e.id == *id);
                (
                    e.map(|e| (session_index(w, e.session), e.queue_seq)),
                    key.clone(),
                )
            });
            if declined.is_empty() {
                return Said::text("skipped: nobody declined".into());
            }
            let (enrollment, key) = declined[pick % declined.len()];
            w.rsvp(*enrollment, key, Reply::Coming).await
        }
        Op::Rule { s, rule } => {
            let (rrule, start) = RULES[*rule];
            let path = format!("/api/v1/sessions/{}", w.session_id(*s));
            Said::of(
                &w.call(
                    Method::PATCH,
                    &path,
                    Some(&w.manager),
                    Some(json!({"rrule": rrule, "start": start})),
                )
                .await,
            )
        }
        Op::Erase { who } => w.erase(*who).await,
        Op::Crowd { s, who, key } => {
            let key = match key {
                Some(pick) => match w.key(*s, *pick).await {
                    Some(key) => Some(key),
                    None => return Said::text("skipped: no such occurrence".into()),
                },
                None => None,
            };
            let jobs = who
                .iter()
                .map(|who| enrol_job(*who, *s, key.clone()))
                .collect();
            at_once(w, jobs).await
        }
        Op::EraseRace { who, s, key } => {
            let key = match key {
                Some(pick) => w.key(*s, *pick).await,
                None => None,
            };
            let who = *who;
            let jobs: Vec<Job> = vec![
                enrol_job(who, *s, key),
                Box::new(move |w: Arc<World>| tokio::spawn(async move { w.erase(who).await })),
            ];
            at_once(w, jobs).await
        }
        Op::CancelRace { pick, s, who } => {
            let session: Uuid = w.session_id(*s).parse().unwrap();
            let confirmed = in_order(
                w,
                snap.enrollments
                    .iter()
                    .filter(|e| e.session == session && e.status == "confirmed"),
            );
            let mut jobs: Vec<Job> = Vec::new();
            let mut text = String::new();
            if !confirmed.is_empty() {
                let e = confirmed[pick % confirmed.len()];
                text = format!("cancel {}; ", snap.label(w, e));
                let id = e.id;
                jobs.push(Box::new(move |w: Arc<World>| {
                    tokio::spawn(async move { w.cancel(id).await })
                }));
            }
            for who in who {
                jobs.push(enrol_job(*who, *s, None));
            }
            let mut said = at_once(w, jobs).await;
            said.text = format!("{text}{}", said.text);
            said
        }
        Op::CancelSession { s } => {
            let path = format!("/api/v1/sessions/{}", w.session_id(*s));
            Said::of(&w.call(Method::DELETE, &path, Some(&w.manager), None).await)
        }
    }
}

// ---------------------------------------------------------------------------------
// What the database holds
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Enr {
    id: Uuid,
    participant: Uuid,
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

#[derive(Clone, Debug)]
struct Row {
    status: String,
    capacity: i32,
    taken: i32,
}

/// One occurrence as the brute force sees it.
#[derive(Clone, Debug)]
struct Occ {
    capacity: i32,
    cancelled: bool,
    count: i64,
    row: Option<Row>,
}

type OccId = (Uuid, String);

#[derive(Clone, Debug, Default)]
struct Snap {
    /// Capacity and status of each session.
    sessions: HashMap<Uuid, (i32, String)>,
    rows: BTreeMap<OccId, Row>,
    /// Overrides: cancelled, capacity.
    overrides: BTreeMap<OccId, (bool, Option<i32>)>,
    /// In session and queue order.
    enrollments: Vec<Enr>,
    /// "I can't come" answers: (enrollment, key).
    declined: BTreeSet<(Uuid, String)>,
    erased: HashSet<Uuid>,
}

macro_rules! select {
    ($store:expr, $sql:literal => $ty:ty) => {{
        let rows: Vec<$ty> = match $store {
            Store::Sqlite { pool, .. } => sqlx::query_as::<_, $ty>($sql).fetch_all(pool).await,
            Store::Postgres(pool) => sqlx::query_as::<_, $ty>($sql).fetch_all(pool).await,
        }
        .expect($sql);
        rows
    }};
}

async fn snapshot(store: &Store) -> Snap {
    let sessions =
        select!(store, "SELECT id, capacity, status FROM sessions" => (Uuid, i32, String));
    let rows = select!(store,
        "SELECT session_id, occurrence_key, status, capacity, taken FROM occurrences"
        => (Uuid, String, String, i32, i32));
    let overrides = select!(store,
        "SELECT session_id, occurrence_key, cancelled, capacity FROM occurrence_overrides"
        => (Uuid, String, bool, Option<i32>));
    let enrollments = select!(store,
        "SELECT id, participant_id, session_id, scope, from_key, status, queue_seq
         FROM enrollments ORDER BY session_id, queue_seq"
        => (Uuid, Uuid, Uuid, String, String, String, i64));
    let declined = select!(store,
        "SELECT enrollment_id, occurrence_key FROM rsvps WHERE answer = 'not_coming'"
        => (Uuid, String));
    let erased = select!(store,
        "SELECT id FROM participants WHERE erased_at IS NOT NULL" => (Uuid,));
    Snap {
        sessions: sessions
            .into_iter()
            .map(|(id, capacity, status)| (id, (capacity, status)))
            .collect(),
        rows: rows
            .into_iter()
            .map(|(s, key, status, capacity, taken)| {
                (
                    (s, key),
                    Row {
                        status,
                        capacity,
                        taken,
                    },
                )
            })
            .collect(),
        overrides: overrides
            .into_iter()
            .map(|(s, key, cancelled, capacity)| ((s, key), (cancelled, capacity)))
            .collect(),
        enrollments: enrollments
            .into_iter()
            .map(
                |(id, participant, session, scope, from_key, status, queue_seq)| Enr {
                    id,
                    participant,
                    session,
                    scope,
                    from_key,
                    status,
                    queue_seq,
                },
            )
            .collect(),
        declined: declined.into_iter().collect(),
        erased: erased.into_iter().map(|(id,)| id).collect(),
    }
}

impl Snap {
    fn active(&self) -> impl Iterator<Item = &Enr> {
        self.enrollments.iter().filter(|e| e.status != "cancelled")
    }

    fn published(&self, session: Uuid) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|(_, status)| status == "published")
    }

    fn declined(&self, enrollment: Uuid, key: &str) -> bool {
        self.declined.contains(&(enrollment, key.to_owned()))
    }

    /// Brute force: confirmed series covering the occurrence + confirmed enrollments for
    /// it − those of them who said they can't come.
    fn count(&self, session: Uuid, key: &str) -> i64 {
        self.enrollments
            .iter()
            .filter(|e| {
                e.session == session
                    && e.status == "confirmed"
                    && e.covers(key)
                    && !self.declined(e.id, key)
            })
            .count() as i64
    }

    fn capacity(&self, session: Uuid, key: &str) -> i32 {
        self.overrides
            .get(&(session, key.to_owned()))
            .and_then(|(_, capacity)| *capacity)
            .unwrap_or_else(|| self.sessions.get(&session).map_or(0, |(c, _)| *c))
    }

    fn cancelled(&self, session: Uuid, key: &str) -> bool {
        let id = (session, key.to_owned());
        match self.rows.get(&id) {
            Some(row) => row.status == "cancelled",
            None => self.overrides.get(&id).is_some_and(|(c, _)| *c),
        }
    }

    /// Every materialised occurrence, and those beyond the horizon that an enrollment
    /// names.
    fn occurrences(&self) -> BTreeMap<OccId, Occ> {
        let mut ids: BTreeSet<OccId> = self.rows.keys().cloned().collect();
        for e in self.active().filter(|e| e.scope == "occurrence") {
            ids.insert((e.session, e.from_key.clone()));
        }
        ids.into_iter()
            .map(|(session, key)| {
                let occ = Occ {
                    capacity: self.capacity(session, &key),
                    cancelled: self.cancelled(session, &key),
                    count: self.count(session, &key),
                    row: self.rows.get(&(session, key.clone())).cloned(),
                };
                ((session, key), occ)
            })
            .collect()
    }

    fn label(&self, w: &World, e: &Enr) -> String {
        label(w, e)
    }
}

fn label(w: &World, e: &Enr) -> String {
    let who = w
        .people
        .iter()
        .position(|p| *p == e.participant.to_string())
        .map_or("P?".into(), |i| format!("P{i}"));
    let session = w
        .sessions
        .iter()
        .position(|s| *s == e.session.to_string())
        .map_or("S?".into(), |i| format!("S{i}"));
    if e.scope == "series" {
        format!("{who}@{session} series from {}", e.from_key)
    } else {
        format!("{who}@{session} occurrence {}", e.from_key)
    }
}

fn session_name(w: &World, session: Uuid) -> String {
    w.sessions
        .iter()
        .position(|s| *s == session.to_string())
        .map_or("S?".into(), |i| format!("S{i}"))
}

/// Whether `waiting` would get a place: every occurrence it needs (a series: every
/// upcoming one it covers, cancelled ones aside; one occurrence: that one, not
/// cancelled, not started) has one, `without` not counted.
fn fits(
    snap: &Snap,
    occs: &BTreeMap<OccId, Occ>,
    waiting: &Enr,
    without: Option<&Enr>,
    now_key: &str,
) -> bool {
    let single = waiting.scope == "occurrence";
    if single && waiting.from_key.as_str() <= now_key {
        return false;
    }
    let mut seen = false;
    for ((session, key), occ) in occs.range((waiting.session, waiting.from_key.clone())..) {
        if *session != waiting.session || (single && *key != waiting.from_key) {
            break;
        }
        seen = true;
        if occ.cancelled {
            if single {
                return false;
            }
            continue;
        }
        let mut count = occ.count;
        if let Some(other) = without {
            if other.status == "confirmed" && other.covers(key) && !snap.declined(other.id, key) {
                count -= 1;
            }
        }
        if count >= i64::from(occ.capacity) {
            return false;
        }
    }
    seen || !single
}

// ---------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------

/// How far ahead the service checks a series (`SERIES_CHECK_WEEKS` in src/domain/places.rs).
const SERIES_CHECK_WEEKS: i64 = 26;

fn key_instant(key: &str) -> Option<chrono::DateTime<Utc>> {
    NaiveDateTime::parse_from_str(key, KEY_FORMAT)
        .ok()
        .map(|at| at.and_utc())
}

/// The likely cause of an overbooked occurrence, so that each distinct violation gets
/// its own (shrunk) example.
fn overbooking_kind(
    prev: Option<&Snap>,
    snap: &Snap,
    session: Uuid,
    key: &str,
    occ: &Occ,
    late: &[(Uuid, String)],
) -> &'static str {
    if occ.row.is_none() {
        return "b: overbooked beyond the materialised horizon";
    }
    let beyond_check = late.iter().any(|(id, _)| {
        snap.enrollments.iter().any(|e| {
            e.id == *id
                && e.scope == "series"
                && key_instant(&e.from_key)
                    .zip(key_instant(key))
                    .is_some_and(|(from, at)| {
                        at >= from.max(Utc::now()) + chrono::Duration::weeks(SERIES_CHECK_WEEKS)
                    })
        })
    });
    if beyond_check {
        return "b: overbooked past a series' 26-week check";
    }
    if let Some(prev) = prev {
        let id = (session, key.to_owned());
        if prev.rows.contains_key(&id) && prev.cancelled(session, key) {
            return "b: overbooked when a cancelled occurrence came back";
        }
        if !prev.rows.contains_key(&id) {
            return "b: overbooked after a change of rule or start";
        }
        if prev.count(session, key) < occ.count
            && late.iter().all(|(id, _)| {
                prev.enrollments
                    .iter()
                    .any(|e| e.id == *id && e.status == "confirmed")
            })
        {
            return "b: overbooked by a place taken back";
        }
    }
    "b: more places taken than the capacity"
}

#[derive(Clone, Debug)]
struct Violation {
    kind: &'static str,
    /// Position of the step after which it was seen (1-based); 0: the final checks.
    step: usize,
    text: String,
}

/// What the checks remember from step to step.
#[derive(Default)]
struct Track {
    /// The step an enrollment was first seen confirmed.
    confirmed_at: HashMap<Uuid, usize>,
    erased_at: HashMap<Uuid, usize>,
    cancelled_at: HashMap<Uuid, usize>,
    /// Per occurrence: its capacity and the last step that lowered it.
    capacity: HashMap<OccId, (i32, Option<usize>)>,
    /// Per session: its capacity and the last step that lowered it.
    session_capacity: HashMap<Uuid, (i32, Option<usize>)>,
    /// The occurrences of the last state seen.
    present: HashSet<OccId>,
    /// Those of them that were cancelled.
    cancelled: HashSet<OccId>,
    /// Violations already reported (each is reported once).
    reported: HashSet<String>,
    violations: Vec<Violation>,
}

impl Track {
    fn report(&mut self, kind: &'static str, step: usize, signature: String, text: String) {
        let check = kind.split(':').next().unwrap_or(kind);
        if self.reported.insert(format!("{check}|{signature}")) {
            self.violations.push(Violation { kind, step, text });
        }
    }

    /// Takes in the state after `step` (0: the initial state).
    fn observe(&mut self, step: usize, snap: &Snap, occs: &BTreeMap<OccId, Occ>, said: &[Uuid]) {
        for e in &snap.enrollments {
            if e.status == "confirmed" || said.contains(&e.id) {
                self.confirmed_at.entry(e.id).or_insert(step);
            }
            if e.status == "cancelled" {
                self.cancelled_at.entry(e.id).or_insert(step);
            }
        }
        for id in said {
            self.confirmed_at.entry(*id).or_insert(step);
        }
        for p in &snap.erased {
            self.erased_at.entry(*p).or_insert(step);
        }
        for (session, (capacity, _)) in &snap.sessions {
            let entry = self
                .session_capacity
                .entry(*session)
                .or_insert((*capacity, None));
            if *capacity < entry.0 {
                entry.1 = Some(step);
            }
            entry.0 = *capacity;
        }
        for (id, occ) in occs {
            let session_lowered = self.session_capacity.get(&id.0).and_then(|(_, l)| *l);
            match self.capacity.get_mut(id) {
                Some(entry) if self.present.contains(id) => {
                    // A cancelled occurrence needs no place; brought back, it holds
                    // whoever was confirmed meanwhile, like a lowered capacity.
                    let restored = self.cancelled.contains(id) && !occ.cancelled;
                    if occ.capacity < entry.0 || restored {
                        entry.1 = Some(step);
                    }
                    entry.0 = occ.capacity;
                }
                // An occurrence that appears with a changed rule or start takes the
                // enrollments of the one it replaces, but not that one's capacity
                // override (dropped, and said so in `dropped_overrides`): a lowering.
                _ if step > 0 => {
                    self.capacity.insert(id.clone(), (occ.capacity, Some(step)));
                }
                // The initial state: the session's capacity, lowered when the
                // session's was.
                _ => {
                    let before = self.capacity.get(id).and_then(|(_, l)| *l);
                    self.capacity
                        .insert(id.clone(), (occ.capacity, before.max(session_lowered)));
                }
            }
        }
        self.present = occs.keys().cloned().collect();
        self.cancelled = occs
            .iter()
            .filter(|(_, o)| o.cancelled)
            .map(|(id, _)| id.clone())
            .collect();
    }
}

/// Checks a, b, c and e on the state after `step`.
fn check_state(
    w: &World,
    step: usize,
    prev: Option<&Snap>,
    snap: &Snap,
    track: &mut Track,
    said: &[Uuid],
) {
    let occs = snap.occurrences();
    track.observe(step, snap, &occs, said);
    let now_key = Utc::now().format(KEY_FORMAT).to_string();

    // Occurrences over capacity, by session and likely cause: (key, count, capacity,
    // lowered, late).
    type Over = (String, i64, i32, Option<usize>, Vec<(Uuid, String)>);
    let mut over: BTreeMap<(Uuid, &'static str), Vec<Over>> = BTreeMap::new();
    for ((session, key), occ) in &occs {
        let s = session_name(w, *session);
        // a. The stored count is the brute-force count.
        if let Some(row) = &occ.row {
            if i64::from(row.taken) != occ.count {
                track.report(
                    "a: stored taken differs from the count",
                    step,
                    format!("{session}{key}{}{}", row.taken, occ.count),
                    format!(
                        "{s} {key}: occurrences.taken = {}, brute-force count = {}",
                        row.taken, occ.count
                    ),
                );
            }
            if row.capacity != occ.capacity {
                track.report(
                    "a: stored capacity differs from the session's",
                    step,
                    format!("{session}{key}"),
                    format!(
                        "{s} {key}: occurrences.capacity = {}, session/override says {}",
                        row.capacity, occ.capacity
                    ),
                );
            }
        }
        // b. Within capacity, unless a lowering overbooked it before its people came.
        if occ.cancelled || !snap.published(*session) || occ.count <= i64::from(occ.capacity) {
            continue;
        }
        let lowered = track
            .capacity
            .get(&(*session, key.clone()))
            .and_then(|(_, l)| *l);
        let late: Vec<(Uuid, String)> = snap
            .enrollments
            .iter()
            .filter(|e| {
                e.session == *session
                    && e.status == "confirmed"
                    && e.covers(key)
                    && !snap.declined(e.id, key)
            })
            .filter_map(|e| {
                let at = track.confirmed_at.get(&e.id).copied().unwrap_or(step);
                let late = lowered.is_none_or(|l| at >= l);
                late.then(|| (e.id, format!("{} (confirmed at step {at})", label(w, e))))
            })
            .collect();
        if !late.is_empty() {
            let kind = overbooking_kind(prev, snap, *session, key, occ, &late);
            over.entry((*session, kind)).or_default().push((
                key.clone(),
                occ.count,
                occ.capacity,
                lowered,
                late,
            ));
        }
    }
    for ((session, kind), list) in over {
        let (key, count, capacity, lowered, late) = &list[0];
        let mut ids: Vec<String> = list
            .iter()
            .flat_map(|(_, _, _, _, late)| late.iter().map(|(id, _)| id.to_string()))
            .collect();
        ids.sort();
        ids.dedup();
        let more = match list.len() {
            1 => String::new(),
            n => format!(" (and {} more occurrences, up to {})", n - 1, list[n - 1].0),
        };
        track.report(
            kind,
            step,
            format!("{session}{}", ids.join(",")),
            format!(
                "{} {key}: {count} taken for {capacity} places{more}; {}; confirmed since: {}",
                session_name(w, session),
                match lowered {
                    Some(l) => format!("capacity last lowered at step {l}"),
                    None => "capacity never lowered".into(),
                },
                late.iter()
                    .map(|(_, text)| text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }

    // c. Nobody waits who fits; the queue is served in order.
    let waiting: Vec<&Enr> = snap
        .enrollments
        .iter()
        .filter(|e| e.status == "waitlisted" && snap.published(e.session))
        .collect();
    for wait in &waiting {
        if fits(snap, &occs, wait, None, &now_key) {
            track.report(
                "c: waits while a place it fits is free",
                step,
                wait.id.to_string(),
                format!(
                    "{} (queue {}) still waits though every occurrence it needs has a place",
                    label(w, wait),
                    wait.queue_seq
                ),
            );
        }
    }
    let newly: Vec<&Enr> = snap
        .enrollments
        .iter()
        .filter(|e| e.status == "confirmed" && track.confirmed_at.get(&e.id) == Some(&step))
        .collect();
    for e in &newly {
        for wait in waiting
            .iter()
            .filter(|x| x.session == e.session && x.queue_seq < e.queue_seq)
        {
            if fits(snap, &occs, wait, Some(e), &now_key) {
                track.report(
                    "c: served out of queue order",
                    step,
                    format!("{}{}", e.id, wait.id),
                    format!(
                        "{} (queue {}) was confirmed while {} (queue {}), earlier, would have fit its place",
                        label(w, e),
                        e.queue_seq,
                        label(w, wait),
                        wait.queue_seq
                    ),
                );
            }
        }
    }

    // e. Erased people hold nothing.
    for e in snap.active() {
        if snap.erased.contains(&e.participant) {
            track.report(
                "e: an erased participant is still enrolled",
                step,
                e.id.to_string(),
                format!(
                    "{} is {} after its participant's erasure",
                    label(w, e),
                    e.status
                ),
            );
        }
    }
}

/// d. One invitation per enrollment ever confirmed, one cancellation per cancelled one.
async fn check_outbox(w: &World, snap: &Snap, track: &mut Track) {
    let rows = select!(&w.app.store,
        "SELECT enrollment_id, kind FROM outbox
         WHERE enrollment_id IS NOT NULL AND audience = 'participant'
           AND kind IN ('invitation', 'cancellation')"
        => (Uuid, String));
    let mut counts: HashMap<(Uuid, &str), usize> = HashMap::new();
    for (id, kind) in &rows {
        *counts.entry((*id, kind.as_str())).or_default() += 1;
    }
    for e in &snap.enrollments {
        let invitations = counts.get(&(e.id, "invitation")).copied().unwrap_or(0);
        let cancellations = counts.get(&(e.id, "cancellation")).copied().unwrap_or(0);
        let erased = track.erased_at.get(&e.participant).copied();
        let confirmed = track.confirmed_at.get(&e.id).copied();
        let invitation_due = confirmed.is_some_and(|c| erased.is_none_or(|x| x > c));
        let ok = if invitation_due {
            invitations == 1
        } else {
            invitations <= 1
        };
        if !ok {
            track.report(
                "d: invitations in the outbox",
                0,
                e.id.to_string(),
                format!(
                    "{} ({}, {}): {invitations} invitation(s)",
                    label(w, e),
                    e.status,
                    match confirmed {
                        Some(c) => format!("confirmed at step {c}"),
                        None => "never seen confirmed".into(),
                    }
                ),
            );
        }
        let expected = if e.status != "cancelled" {
            Some(0)
        } else {
            let cancelled = track.cancelled_at.get(&e.id).copied();
            // Nothing more is sent about a person who asked to be forgotten.
            match (erased, cancelled) {
                (Some(x), Some(c)) if x <= c => None,
                _ => Some(1),
            }
        };
        let ok = match expected {
            Some(n) => cancellations == n,
            None => cancellations <= 1,
        };
        if !ok {
            track.report(
                "d: cancellations in the outbox",
                0,
                e.id.to_string(),
                format!(
                    "{} ({}): {cancellations} cancellation(s)",
                    label(w, e),
                    e.status
                ),
            );
        }
    }
}

/// a, on the API side: each session's occurrence listing (up to a year ahead, and beyond
/// the horizon), the cross-club search, and the rosters of the occurrences enrolled in.
async fn check_api(w: &World, snap: &Snap, track: &mut Track) {
    let now = Utc::now();
    let at = |days: i64| {
        (now + chrono::Duration::days(days))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut listed: Vec<(String, Value)> = Vec::new();
    for s in 0..w.sessions.len() {
        for (from, to) in [(0, 365), (540, 640)] {
            let path = format!(
                "/api/v1/sessions/{}/occurrences?from={}&to={}",
                w.sessions[s],
                at(from),
                at(to)
            );
            if let Some(answer) = w.call(Method::GET, &path, Some(&w.manager), None).await {
                for item in answer.body["items"].as_array().into_iter().flatten() {
                    listed.push((format!("S{s} listing"), item.clone()));
                }
            }
        }
    }
    let path = format!(
        "/api/v1/occurrences?club_id={}&from={}&to={}&limit=500",
        w.club,
        at(0),
        at(365)
    );
    if let Some(answer) = w.call(Method::GET, &path, Some(&w.worker), None).await {
        for item in answer.body["items"].as_array().into_iter().flatten() {
            listed.push(("search".into(), item.clone()));
        }
    }
    for (source, item) in &listed {
        let (Some(session), Some(key)) = (
            item["session_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok()),
            item["key"].as_str(),
        ) else {
            continue;
        };
        let capacity = snap.capacity(session, key);
        let count = snap.count(session, key);
        let expected = if item["status"] == "cancelled" {
            0
        } else {
            (i64::from(capacity) - count).max(0)
        };
        let shown = item["places_left"].as_i64().unwrap_or(-1);
        if shown != expected || item["capacity"].as_i64() != Some(i64::from(capacity)) {
            let materialised = snap.rows.contains_key(&(session, key.to_owned()));
            track.report(
                if materialised {
                    "a: API places_left differs from the count"
                } else {
                    "a: API places_left wrong beyond the materialised horizon"
                },
                0,
                format!("{source}{session}{key}"),
                format!(
                    "{source}: {} {key} shows capacity {} and {shown} places left; expected capacity {capacity}, {count} taken, {expected} left",
                    session_name(w, session),
                    item["capacity"]
                ),
            );
        }
    }
    // Rosters of the occurrences enrolled in one by one, and of the next ones.
    let mut keys: BTreeSet<(Uuid, String)> = snap
        .active()
        .filter(|e| e.scope == "occurrence")
        .map(|e| (e.session, e.from_key.clone()))
        .collect();
    for (_, item) in listed
        .iter()
        .filter(|(source, _)| source.ends_with("listing"))
        .take(3)
    {
        if let (Some(session), Some(key)) = (
            item["session_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok()),
            item["key"].as_str(),
        ) {
            keys.insert((session, key.to_owned()));
        }
    }
    for (session, key) in keys.iter().take(10) {
        let path = format!("/api/v1/sessions/{session}/occurrences/{key}/roster");
        if let Some(answer) = w.call(Method::GET, &path, Some(&w.manager), None).await {
            if !answer.status.is_success() {
                continue;
            }
            let count = snap.count(*session, key);
            if answer.body["confirmed"].as_i64() != Some(count) {
                track.report(
                    "a: roster count differs from the count",
                    0,
                    format!("{session}{key}"),
                    format!(
                        "{} {key}: roster says {} confirmed, brute-force count {count}",
                        session_name(w, *session),
                        answer.body["confirmed"]
                    ),
                );
            }
        }
    }
}

/// The RSVP links the test builds are the service's own: every link found in the
/// messages written so far reads back, and signs to the same token.
async fn check_emailed_links(w: &World, snap: &Snap, track: &mut Track) -> usize {
    let invited = snap.enrollments.iter().any(|e| e.status == "confirmed");
    let deadline = Instant::now() + Duration::from_secs(if invited { 3 } else { 0 });
    loop {
        let tokens = emailed_tokens(&w.app.data_dir.join("outbox"));
        if !tokens.is_empty() || Instant::now() >= deadline {
            for token in &tokens {
                let same = w
                    .signer
                    .verify(token)
                    .is_some_and(|rsvp| w.signer.sign(&rsvp) == *token);
                if !same {
                    track.report(
                        "rsvp: emailed link unlike the built ones",
                        0,
                        token.clone(),
                        format!("the emailed RSVP token {token} does not re-sign to itself"),
                    );
                }
            }
            return tokens.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn emailed_tokens(folder: &std::path::Path) -> Vec<String> {
    let prefix = format!("{PUBLIC_URL}/rsvp/");
    let mut tokens = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return tokens;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let Ok(parsed) = mailparse::parse_mail(&raw) else {
            continue;
        };
        let mut parts = Vec::new();
        common::mail::leaves(&parsed, &mut parts);
        for part in parts {
            let Ok(text) = part.get_body() else { continue };
            // Calendar lines are folded at 75 octets.
            let text = text.replace("\r\n ", "").replace("\n ", "");
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&prefix) {
                let tail = &rest[at + prefix.len()..];
                let token: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                rest = &tail[token.len()..];
                tokens.push(token);
            }
        }
    }
    tokens
}

// ---------------------------------------------------------------------------------
// Running cases
// ---------------------------------------------------------------------------------

struct CaseRun {
    /// The plan's step indices that ran, in order.
    steps: Vec<usize>,
    log: Vec<String>,
    violations: Vec<Violation>,
}

impl CaseRun {
    fn kinds(&self) -> BTreeSet<&'static str> {
        self.violations.iter().map(|v| v.kind).collect()
    }
}

async fn drop_database(url: &str) {
    let Some(server) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return;
    };
    let name = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default();
    if !name.starts_with("es_test_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return;
    }
    if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

async fn run_steps(plan: Plan, steps: Vec<usize>) -> CaseRun {
    let world = Arc::new(World::setup(&plan).await);
    let mut track = Track::default();
    let mut log = Vec::new();
    let mut snap = snapshot(&world.app.store).await;
    check_state(&world, 0, None, &snap, &mut track, &[]);
    for (pos, index) in steps.iter().enumerate() {
        let op = &plan.steps[*index];
        let said = apply(&world, op, &snap).await;
        log.push(format!("{:>3}. [{index}] {op} -> {}", pos + 1, said.text));
        for fault in std::mem::take(&mut *world.faults.lock().unwrap()) {
            track.report(
                "http: an answer outside the contract",
                pos + 1,
                fault.clone(),
                fault,
            );
        }
        let next = snapshot(&world.app.store).await;
        check_state(
            &world,
            pos + 1,
            Some(&snap),
            &next,
            &mut track,
            &said.confirmed,
        );
        snap = next;
    }
    check_outbox(&world, &snap, &mut track).await;
    check_api(&world, &snap, &mut track).await;
    let links = check_emailed_links(&world, &snap, &mut track).await;
    log.push(format!("     ({links} emailed RSVP links checked)"));
    for fault in std::mem::take(&mut *world.faults.lock().unwrap()) {
        track.report(
            "http: an answer outside the contract",
            0,
            fault.clone(),
            fault,
        );
    }
    let database_url = world.app.database_url.clone();
    if let Ok(world) = Arc::try_unwrap(world) {
        let _data = world.app.stop().await;
    }
    drop_database(&database_url).await;
    CaseRun {
        steps,
        log,
        violations: track.violations,
    }
}

/// Runs a case on its own task, so a panic (a broken harness call) is a failure of the
/// case rather than of the whole run.
async fn run_case(plan: &Plan, steps: Vec<usize>) -> CaseRun {
    let task = tokio::spawn(run_steps(plan.clone(), steps.clone()));
    match task.await {
        Ok(run) => run,
        Err(error) => CaseRun {
            steps,
            log: Vec::new(),
            violations: vec![Violation {
                kind: "panic",
                step: 0,
                text: format!("the case panicked: {error}"),
            }],
        },
    }
}

fn describe(plan: &Plan, run: &CaseRun, out: &mut String) {
    let capacities: Vec<String> = plan
        .capacities
        .iter()
        .enumerate()
        .map(|(i, c)| format!("S{i} weekly Tuesday 18:30 Paris, capacity {c}"))
        .collect();
    let _ = writeln!(
        out,
        "    setup: {}; participants P0..P{}",
        capacities.join("; "),
        PEOPLE - 1
    );
    for line in &run.log {
        let _ = writeln!(out, "    {line}");
    }
    for v in &run.violations {
        let when = if v.step == 0 {
            "at the end".to_owned()
        } else {
            format!("after step {}", v.step)
        };
        let _ = writeln!(out, "    !! {when}: {}: {}", v.kind, v.text);
    }
}

fn replay(plan: &Plan, steps: Option<&[usize]>) -> String {
    let mut line = format!("PROPERTY_SEED={} PROPERTY_CASES=1", plan.seed);
    if let Some(steps) = steps {
        let list: Vec<String> = steps.iter().map(ToString::to_string).collect();
        let _ = write!(line, " PROPERTY_STEPS={}", list.join(","));
    }
    line
}

/// Drops steps while the case still shows `kind`, within `budget`.
async fn shrink(
    plan: &Plan,
    run: &CaseRun,
    kind: &'static str,
    budget: Instant,
) -> Option<CaseRun> {
    let first = run.violations.iter().find(|v| v.kind == kind)?;
    let mut steps = run.steps.clone();
    if first.step > 0 {
        steps.truncate(first.step);
    }
    let mut best: Option<CaseRun> = None;
    let mut i = 0;
    loop {
        if Instant::now() >= budget {
            break;
        }
        if i >= steps.len() {
            break;
        }
        let mut candidate = steps.clone();
        candidate.remove(i);
        // A race shows only now and then: give such candidates a few tries.
        let tries = if candidate.iter().any(|s| plan.steps[*s].concurrent()) {
            3
        } else {
            1
        };
        let mut kept = false;
        for _ in 0..tries {
            let tried = run_case(plan, candidate.clone()).await;
            if tried.kinds().contains(kind) {
                steps = candidate.clone();
                best = Some(tried);
                kept = true;
                break;
            }
        }
        if !kept {
            i += 1;
        }
    }
    match best {
        Some(best) => Some(best),
        None if steps.len() < run.steps.len() => {
            let tried = run_case(plan, steps).await;
            tried.kinds().contains(kind).then_some(tried)
        }
        None => None,
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn places_hold_under_random_sequences() {
    let cases = env_number("PROPERTY_CASES").unwrap_or(DEFAULT_CASES as u64) as usize;
    let base = env_number("PROPERTY_SEED").unwrap_or(DEFAULT_SEED);
    let only: Option<Vec<usize>> = std::env::var("PROPERTY_STEPS").ok().map(|list| {
        list.split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    });
    let shrink_secs = env_number("PROPERTY_SHRINK_SECS").unwrap_or(6);
    let verbose = env_number("PROPERTY_VERBOSE").is_some_and(|v| v > 0);
    let backend = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => "postgres",
        _ => "sqlite",
    };

    let started = Instant::now();
    let mut failed: Vec<(Plan, CaseRun)> = Vec::new();
    for case in 0..cases {
        let plan = plan(base.wrapping_add(case as u64));
        let steps = match &only {
            Some(only) => only
                .iter()
                .copied()
                .filter(|i| *i < plan.steps.len())
                .collect(),
            None => (0..plan.steps.len()).collect(),
        };
        let run = run_case(&plan, steps).await;
        if !run.violations.is_empty() {
            println!(
                "places_property: seed {} failed: {}",
                plan.seed,
                run.kinds().into_iter().collect::<Vec<_>>().join(" | ")
            );
            if verbose {
                let mut out = String::new();
                describe(&plan, &run, &mut out);
                println!("{out}");
            }
            failed.push((plan, run));
        }
    }
    let ran_for = started.elapsed();

    let mut report = String::new();
    if !failed.is_empty() {
        // One replayable, shrunk example per kind of violation.
        let budget = Instant::now() + Duration::from_secs(shrink_secs);
        let mut kinds: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for (plan, run) in &failed {
            for kind in run.kinds() {
                kinds.entry(kind).or_default().push(plan.seed);
            }
        }
        for (kind, seeds) in &kinds {
            let (plan, run) = failed
                .iter()
                .filter(|(_, run)| run.kinds().contains(kind))
                .min_by_key(|(_, run)| run.steps.len())
                .unwrap();
            let _ = writeln!(
                report,
                "\n== {kind}: {} case(s), seeds {:?}\n  example seed {} ({} steps), replay: {} cargo test --test places_property",
                seeds.len(),
                seeds,
                plan.seed,
                run.steps.len(),
                replay(plan, only.as_deref())
            );
            let shrunk = if shrink_secs > 0 && only.is_none() {
                shrink(plan, run, kind, budget).await
            } else {
                None
            };
            match shrunk {
                Some(small) => {
                    let _ = writeln!(
                        report,
                        "  shrunk to {} steps, replay: {} cargo test --test places_property",
                        small.steps.len(),
                        replay(plan, Some(&small.steps))
                    );
                    describe(plan, &small, &mut report);
                }
                None => describe(plan, run, &mut report),
            }
        }
    }
    println!(
        "places_property: {backend}: {cases} cases, {} failed, {:.1} s (seeds {base}..{})",
        failed.len(),
        ran_for.as_secs_f64(),
        base.wrapping_add(cases as u64).wrapping_sub(1)
    );
    assert!(
        failed.is_empty(),
        "the place invariant broke in {} of {cases} cases on {backend}:{report}",
        failed.len()
    );
}
