//! Encounter statistics (`GET /api/v1/stats/encounters`) over a seeded past season.
//!
//! Each test builds the same small programme: three clubs in two cities, two partner
//! structures, twelve participants, four weekly sessions that started at the beginning
//! of the month two months ago (one of them in Nouméa, where the local date is a day
//! ahead of UTC). Enrollments are made through the store as of past dates, attendance
//! is PUT over HTTP as admin with a deterministic pattern, and the test keeps its own
//! ledger of every record and walk-in it sent. Expected figures are computed from that
//! ledger following the contract's definitions, for every grouping, several periods and
//! every role's scope, and compared with the service's answers (JSON and CSV).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc, Weekday};
use common::*;
use entourage_sport::domain::places::Scope;
use entourage_sport::domain::rsvp::Answer as RsvpAnswer;
use entourage_sport::domain::schedule::OccurrenceKey;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::ops::rsvp::{answer_rsvp, RsvpOutcome};
use entourage_sport::store::enrollments::NewEnrollment;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const GROUPINGS: [&str; 5] = ["club", "sport", "month", "situation", "structure"];

const SITUATIONS: [&str; 8] = [
    "street",
    "shelter",
    "single_parent",
    "student",
    "young_care_leaver",
    "migrant",
    "isolated_senior",
    "other",
];

const CSV_HEADER: [&str; 11] = [
    "key",
    "label",
    "encounters",
    "participant_encounters",
    "walk_ins",
    "unique_participants",
    "occurrences_held",
    "confirmed_places",
    "attended_places",
    "attendance_rate",
    "first_encounters",
];

/// A club whose name needs quoting in CSV (a comma and double quotes).
const QUOTED_CLUB: &str = "Les \"Aigles\", Paris 20e";

// Sessions of the programme, by index.
const FOOT_BONDY: usize = 0;
const BASKET: usize = 1;
const FOOT_SATURDAY: usize = 2;
const YOGA: usize = 3;

/// Deterministic pseudo-random numbers (SplitMix64) with a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Present,
    Absent,
    Excused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Absent => "absent",
            Status::Excused => "excused",
        }
    }
}

/// One attendance record as the service should hold it.
#[derive(Clone, Debug)]
struct Record {
    participant: usize,
    /// (session index, occurrence index)
    occurrence: (usize, usize),
    start: DateTime<Utc>,
    local_date: NaiveDate,
    club: String,
    sport: String,
    structure: String,
    situation: String,
    status: Status,
    held: bool,
}

#[derive(Clone, Debug)]
struct WalkIn {
    occurrence: (usize, usize),
    local_date: NaiveDate,
    club: String,
    sport: String,
    situation: String,
    count: i64,
}

/// What was recorded for one occurrence (the last submission replaces the earlier).
#[derive(Clone, Debug)]
struct Sheet {
    occurrence: (usize, usize),
    local_date: NaiveDate,
    club: String,
    sport: String,
    records: Vec<Record>,
    walk_ins: Vec<WalkIn>,
}

struct Club {
    id: String,
    name: String,
    manager: String,
}

struct Structure {
    id: String,
    uuid: Uuid,
    name: String,
    worker: String,
    worker_id: Uuid,
}

struct Person {
    id: String,
    uuid: Uuid,
    code: String,
    structure: usize,
    /// The situation now (PATCHes are followed).
    situation: String,
}

struct Occ {
    key: String,
    start: DateTime<Utc>,
    local_date: NaiveDate,
}

struct Session {
    id: String,
    uuid: Uuid,
    club: usize,
    sport: String,
    /// Past occurrences, oldest first.
    occurrences: Vec<Occ>,
    /// Index of the first occurrence in the second month.
    m2: usize,
}

struct Enrollment {
    id: Uuid,
    session: usize,
    person: usize,
    from: usize,
    series: bool,
    confirmed: bool,
}

impl Enrollment {
    fn covers(&self, occurrence: usize) -> bool {
        if self.series {
            occurrence >= self.from
        } else {
            occurrence == self.from
        }
    }
}

struct Programme {
    clubs: Vec<Club>,
    structures: Vec<Structure>,
    people: Vec<Person>,
    sessions: Vec<Session>,
    enrollments: Vec<Enrollment>,
    /// (session, occurrence, person) who answered "I can't come".
    declined: HashSet<(usize, usize, usize)>,
    sheets: BTreeMap<(usize, usize), Sheet>,
    /// First day of the first, second and current month.
    m1: NaiveDate,
    m2: NaiveDate,
    m3: NaiveDate,
    today: NaiveDate,
}

impl Programme {
    fn m2_last(&self) -> NaiveDate {
        self.m3 - Duration::days(1)
    }

    /// A period covering the whole season.
    fn all(&self) -> (NaiveDate, NaiveDate) {
        (self.m1, self.today + Duration::days(2))
    }

    fn records(&self) -> impl Iterator<Item = &Record> {
        self.sheets.values().flat_map(|s| s.records.iter())
    }

    fn walk_ins(&self) -> impl Iterator<Item = &WalkIn> {
        self.sheets.values().flat_map(|s| s.walk_ins.iter())
    }

    fn club_view(&self, club: usize) -> View {
        View::Club(self.clubs[club].id.clone())
    }

    fn structure_view(&self, structure: usize) -> View {
        View::Structure(self.structures[structure].id.clone())
    }
}

/// Whose figures: the caller's scope.
#[derive(Clone, Debug)]
enum View {
    Admin,
    Club(String),
    Structure(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Figures {
    encounters: i64,
    participant_encounters: i64,
    walk_ins: i64,
    unique_participants: i64,
    occurrences_held: i64,
    confirmed_places: i64,
    attended_places: i64,
    first_encounters: i64,
}

struct Expected {
    /// key → (label when the contract fixes it, figures)
    groups: BTreeMap<String, (Option<String>, Figures)>,
    total: Figures,
}

#[derive(Default)]
struct Acc {
    label: Option<String>,
    participant_encounters: i64,
    walk_ins: i64,
    unique: BTreeSet<usize>,
    rows_occurrences: BTreeSet<(usize, usize)>,
    sheet_occurrences: BTreeSet<(usize, usize)>,
    confirmed: i64,
    attended: i64,
    first: i64,
}

impl Acc {
    fn figures(&self, from_sheets: bool) -> Figures {
        Figures {
            encounters: self.participant_encounters + self.walk_ins,
            participant_encounters: self.participant_encounters,
            walk_ins: self.walk_ins,
            unique_participants: self.unique.len() as i64,
            occurrences_held: if from_sheets {
                self.sheet_occurrences.len()
            } else {
                self.rows_occurrences.len()
            } as i64,
            confirmed_places: self.confirmed,
            attended_places: self.attended,
            first_encounters: self.first,
        }
    }
}

fn month_key(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The figures the contract defines, computed from the ledger.
fn expected(
    p: &Programme,
    view: &View,
    group_by: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Expected {
    let in_period = |d: NaiveDate| from <= d && d <= to;
    let record_visible = |r: &Record| match view {
        View::Admin => true,
        View::Club(club) => &r.club == club,
        View::Structure(structure) => &r.structure == structure,
    };
    let anonymous_visible = |club: &str| match view {
        View::Admin => true,
        View::Club(c) => c == club,
        View::Structure(_) => false,
    };
    let club_label = |id: &str| {
        p.clubs
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .expect("a club of the programme")
    };
    let structure_label = |id: &str| {
        p.structures
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .expect("a structure of the programme")
    };
    let record_key = |r: &Record| -> (String, Option<String>) {
        match group_by {
            "club" => (r.club.clone(), Some(club_label(&r.club))),
            "sport" => (r.sport.clone(), Some(r.sport.clone())),
            "month" => (month_key(r.local_date), None),
            "situation" => (r.situation.clone(), None),
            "structure" => (r.structure.clone(), Some(structure_label(&r.structure))),
            other => panic!("grouping {other}"),
        }
    };
    let anonymous_key =
        |club: &str, sport: &str, date: NaiveDate, situation: Option<&str>| match group_by {
            "club" => (club.to_owned(), Some(club_label(club))),
            "sport" => (sport.to_owned(), Some(sport.to_owned())),
            "month" => (month_key(date), None),
            "situation" => (situation.expect("a walk-in").to_owned(), None),
            "structure" => ("walk_in".to_owned(), None),
            other => panic!("grouping {other}"),
        };
    // Club, sport and month count every recorded occurrence, except for a social worker.
    let from_sheets =
        matches!(group_by, "club" | "sport" | "month") && !matches!(view, View::Structure(_));

    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    fn touch<'g>(
        groups: &'g mut BTreeMap<String, Acc>,
        key: &(String, Option<String>),
    ) -> &'g mut Acc {
        let acc = groups.entry(key.0.clone()).or_default();
        acc.label = key.1.clone();
        acc
    }
    for sheet in p.sheets.values() {
        if !in_period(sheet.local_date) {
            continue;
        }
        if anonymous_visible(&sheet.club) {
            total.sheet_occurrences.insert(sheet.occurrence);
            if from_sheets {
                let key = anonymous_key(&sheet.club, &sheet.sport, sheet.local_date, None);
                touch(&mut groups, &key)
                    .sheet_occurrences
                    .insert(sheet.occurrence);
            }
        }
        for r in sheet.records.iter().filter(|r| record_visible(r)) {
            let key = record_key(r);
            for acc in [touch(&mut groups, &key), &mut total] {
                acc.rows_occurrences.insert(r.occurrence);
                if r.status == Status::Present {
                    acc.participant_encounters += 1;
                    acc.unique.insert(r.participant);
                }
                if r.held {
                    acc.confirmed += 1;
                    if r.status == Status::Present {
                        acc.attended += 1;
                    }
                }
            }
        }
        if anonymous_visible(&sheet.club) {
            for w in &sheet.walk_ins {
                let key = anonymous_key(&w.club, &w.sport, w.local_date, Some(&w.situation));
                for acc in [touch(&mut groups, &key), &mut total] {
                    acc.rows_occurrences.insert(w.occurrence);
                    acc.walk_ins += w.count;
                }
            }
        }
    }
    // First encounters: the earliest present record in the whole programme.
    for first in first_encounters(p).values() {
        if in_period(first.local_date) && record_visible(first) {
            let key = record_key(first);
            groups
                .get_mut(&key.0)
                .expect("the first encounter's group has its record")
                .first += 1;
            total.first += 1;
        }
    }
    let total_from_sheets = !matches!(view, View::Structure(_));
    Expected {
        groups: groups
            .into_iter()
            .map(|(k, acc)| {
                let figures = acc.figures(from_sheets);
                (k, (acc.label, figures))
            })
            .collect(),
        total: total.figures(total_from_sheets),
    }
}

/// Each participant's earliest present record (by occurrence start).
fn first_encounters(p: &Programme) -> BTreeMap<usize, &Record> {
    let mut first: BTreeMap<usize, &Record> = BTreeMap::new();
    for r in p.records().filter(|r| r.status == Status::Present) {
        let earlier = first
            .get(&r.participant)
            .is_none_or(|known| r.start < known.start);
        if earlier {
            first.insert(r.participant, r);
        }
    }
    first
}

fn figures_of(v: &Value, context: &str) -> Figures {
    let n = |field: &str| {
        v[field]
            .as_i64()
            .unwrap_or_else(|| panic!("{context}: `{field}` is not an integer in {v}"))
    };
    Figures {
        encounters: n("encounters"),
        participant_encounters: n("participant_encounters"),
        walk_ins: n("walk_ins"),
        unique_participants: n("unique_participants"),
        occurrences_held: n("occurrences_held"),
        confirmed_places: n("confirmed_places"),
        attended_places: n("attended_places"),
        first_encounters: n("first_encounters"),
    }
}

/// `attendance_rate` is attended/confirmed (rounding to 4 decimals tolerated), null at 0.
fn check_rate(v: &Value, figures: &Figures, context: &str) {
    let rate = &v["attendance_rate"];
    if figures.confirmed_places == 0 {
        assert!(rate.is_null(), "{context}: rate should be null: {v}");
    } else {
        let want = figures.attended_places as f64 / figures.confirmed_places as f64;
        let got = rate
            .as_f64()
            .unwrap_or_else(|| panic!("{context}: rate is not a number: {v}"));
        assert!(
            (got - want).abs() <= 5e-5 + 1e-12,
            "{context}: rate {got}, expected {want}: {v}"
        );
    }
}

fn describe_differences(
    got: &BTreeMap<String, Figures>,
    want: &BTreeMap<String, Figures>,
) -> String {
    let keys: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let mut out = String::new();
    for key in keys {
        let (g, w) = (got.get(key), want.get(key));
        if g != w {
            out.push_str(&format!(
                "\n  {key}:\n    expected {w:?}\n    got      {g:?}"
            ));
        }
    }
    out
}

fn stats_path(group_by: &str, from: NaiveDate, to: NaiveDate) -> String {
    format!("/api/v1/stats/encounters?from={from}&to={to}&group_by={group_by}")
}

/// Asks the service and compares its JSON with the ledger's figures.
async fn check(
    app: &TestApp,
    p: &Programme,
    token: &str,
    view: &View,
    group_by: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Value {
    let context = format!("{view:?} group_by={group_by} from={from} to={to}");
    let answer = app.get(&stats_path(group_by, from, to), token).await;
    assert_eq!(answer.status, StatusCode::OK, "{context}: {answer:?}");
    assert!(
        answer.content_type.starts_with("application/json"),
        "{context}: {answer:?}"
    );
    let body = answer.body;
    compare(p, &body, view, group_by, (from, to), &context);
    body
}

fn compare(
    p: &Programme,
    body: &Value,
    view: &View,
    group_by: &str,
    (from, to): (NaiveDate, NaiveDate),
    context: &str,
) {
    let want = expected(p, view, group_by, from, to);
    assert_eq!(body["from"], from.to_string(), "{context}");
    assert_eq!(body["to"], to.to_string(), "{context}");
    assert_eq!(body["group_by"], group_by, "{context}");
    let groups = body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no groups array: {body}"));
    let mut got: BTreeMap<String, Figures> = BTreeMap::new();
    for g in groups {
        let key = g["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{context}: a group without key: {g}"))
            .to_owned();
        let figures = figures_of(g, context);
        assert!(
            got.insert(key.clone(), figures).is_none(),
            "{context}: group {key} twice"
        );
    }
    let want_groups: BTreeMap<String, Figures> = want
        .groups
        .iter()
        .map(|(k, (_, f))| (k.clone(), f.clone()))
        .collect();
    assert!(
        got == want_groups,
        "{context}: groups differ from the ledger:{}",
        describe_differences(&got, &want_groups)
    );
    for g in groups {
        let key = g["key"].as_str().unwrap();
        let label = g["label"]
            .as_str()
            .unwrap_or_else(|| panic!("{context}: a group without label: {g}"));
        assert!(!label.is_empty(), "{context}: empty label: {g}");
        if let Some(want_label) = &want.groups[key].0 {
            assert_eq!(label, want_label, "{context}: label of {key}");
        }
        check_rate(g, &want.groups[key].1, &format!("{context} group {key}"));
    }
    // Order: months ascending; otherwise encounters descending, then label.
    for pair in groups.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if group_by == "month" {
            assert!(
                a["key"].as_str() < b["key"].as_str(),
                "{context}: months out of order: {a} then {b}"
            );
        } else {
            let (ea, eb) = (a["encounters"].as_i64(), b["encounters"].as_i64());
            assert!(
                ea > eb || (ea == eb && a["label"].as_str() <= b["label"].as_str()),
                "{context}: groups out of order: {a} then {b}"
            );
        }
    }
    let total = &body["total"];
    assert_eq!(total["key"], "total", "{context}: {total}");
    assert_eq!(total["label"], "Total", "{context}: {total}");
    let got_total = figures_of(total, context);
    assert_eq!(
        got_total, want.total,
        "{context}: total differs from the ledger (left: service, right: ledger)"
    );
    check_rate(total, &want.total, &format!("{context} total"));
}

/// The JSON of one stats query, for comparisons before and after a change.
async fn snapshot(
    app: &TestApp,
    token: &str,
    group_by: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Value {
    let answer = app.get(&stats_path(group_by, from, to), token).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

async fn user_id(app: &TestApp, token: &str) -> Uuid {
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    me.body["id"].as_str().unwrap().parse().unwrap()
}

/// The first `weekday` on or after `date`.
fn on_or_after(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let shift = (7 + weekday.num_days_from_monday() as i64
        - date.weekday().num_days_from_monday() as i64)
        % 7;
    date + Duration::days(shift)
}

async fn enroll(
    app: &TestApp,
    p: &mut Programme,
    session: usize,
    person: usize,
    from: usize,
    series: bool,
    want_status: &str,
) {
    let s = &p.sessions[session];
    let key: OccurrenceKey = s.occurrences[from].key.parse().expect("a key");
    let now = key.original_start() - Duration::days(2);
    let who = &p.people[person];
    let structure = &p.structures[who.structure];
    let new = NewEnrollment {
        id: Uuid::new_v4(),
        participant_id: who.uuid,
        session_id: s.uuid,
        structure_id: structure.uuid,
        scope: if series {
            Scope::Series
        } else {
            Scope::Occurrence
        },
        from_key: key,
        created_by: structure.worker_id,
        now,
    };
    let placed = import_enrollment(&app.store, &new)
        .await
        .unwrap_or_else(|e| panic!("enrollment of {person} in {session}: {e}"));
    assert_eq!(
        placed.enrollment.status.as_str(),
        want_status,
        "enrollment of {person} in {session}"
    );
    p.enrollments.push(Enrollment {
        id: placed.enrollment.id,
        session,
        person,
        from,
        series,
        confirmed: want_status == "confirmed",
    });
}

async fn decline(
    app: &TestApp,
    p: &mut Programme,
    session: usize,
    occurrence: usize,
    person: usize,
) {
    let enrollment = p
        .enrollments
        .iter()
        .find(|e| e.session == session && e.person == person)
        .expect("an enrollment")
        .id;
    let occ = &p.sessions[session].occurrences[occurrence];
    let key: OccurrenceKey = occ.key.parse().unwrap();
    let outcome = answer_rsvp(
        &app.store,
        enrollment,
        key,
        RsvpAnswer::NotComing,
        occ.start - Duration::days(1),
    )
    .await
    .expect("answer stored");
    assert_eq!(outcome, RsvpOutcome::Recorded);
    p.declined.insert((session, occurrence, person));
}

async fn patch_situation(app: &TestApp, p: &mut Programme, person: usize, situation: &str) {
    let who = &p.people[person];
    let worker = &p.structures[who.structure].worker;
    let answer = app
        .patch(
            &format!("/api/v1/participants/{}", who.id),
            worker,
            json!({"situation": situation}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["situation"], situation, "{answer:?}");
    p.people[person].situation = situation.to_owned();
}

/// How one participant is named in a submission: by id or by door code.
fn named(rng: &mut Rng, who: &Person, status: Status) -> Value {
    if rng.below(3) == 0 {
        json!({"code": who.code, "status": status.as_str()})
    } else {
        json!({"participant_id": who.id, "status": status.as_str()})
    }
}

/// Builds, sends and writes down the attendance of one occurrence.
async fn record(
    app: &TestApp,
    p: &mut Programme,
    rng: &mut Rng,
    forced: &HashMap<(usize, usize, usize), Status>,
    (session, occurrence): (usize, usize),
) {
    let s = &p.sessions[session];
    let occ = &s.occurrences[occurrence];
    let club = p.clubs[s.club].id.clone();
    let mut listed: Vec<Value> = Vec::new();
    // (person, status, held)
    let mut outcome: Vec<(usize, Status, bool)> = Vec::new();
    let mut enrolled: Vec<&Enrollment> = p
        .enrollments
        .iter()
        .filter(|e| e.session == session)
        .collect();
    enrolled.sort_by_key(|e| e.person);
    for e in enrolled {
        let who = &p.people[e.person];
        let force = forced.get(&(session, occurrence, e.person)).copied();
        let on_roster = e.confirmed && e.covers(occurrence);
        if on_roster && p.declined.contains(&(session, occurrence, e.person)) {
            // Answered "I can't come": excused when not listed, and no place held.
            match force {
                Some(status) => {
                    listed.push(named(rng, who, status));
                    outcome.push((e.person, status, false));
                }
                None => outcome.push((e.person, Status::Excused, false)),
            }
        } else if on_roster {
            let status = force.map(Some).unwrap_or_else(|| match rng.below(100) {
                0..55 => Some(Status::Present),
                55..72 => Some(Status::Absent),
                72..84 => Some(Status::Excused),
                _ => None,
            });
            match status {
                Some(status) => {
                    listed.push(named(rng, who, status));
                    outcome.push((e.person, status, true));
                }
                // Not listed: recorded absent.
                None => outcome.push((e.person, Status::Absent, true)),
            }
        } else {
            // Enrolled but holding no place here (waitlisted, or a series starting
            // later): recorded only when listed.
            let status = if force.is_some() {
                force
            } else if !e.confirmed {
                match rng.below(100) {
                    0..50 => Some(Status::Present),
                    50..65 => Some(Status::Absent),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(status) = status {
                listed.push(named(rng, who, status));
                outcome.push((e.person, status, false));
            }
        }
    }
    // Walk-ins: forced on the first football evening, a seeded pattern elsewhere.
    let mut walk_ins: Vec<Value> = Vec::new();
    let mut by_situation: BTreeMap<String, i64> = BTreeMap::new();
    if (session, occurrence) == (FOOT_BONDY, 0) {
        walk_ins = vec![
            json!({"count": 2}),
            json!({"count": 1, "situation": "street"}),
            json!({"count": 2, "situation": "street"}),
            json!({"count": 0, "situation": "migrant"}),
        ];
        by_situation.insert("unknown".into(), 2);
        by_situation.insert("street".into(), 3);
    } else if (session, occurrence) != (YOGA, 0) && rng.below(100) < 45 {
        for _ in 0..1 + rng.below(2) {
            let count = 1 + rng.below(3) as i64;
            let situation = match rng.below(9) {
                8 => None,
                i => Some(SITUATIONS[i as usize]),
            };
            let name = situation.unwrap_or("unknown").to_owned();
            match situation {
                Some(situation) => walk_ins.push(json!({"count": count, "situation": situation})),
                None => walk_ins.push(json!({"count": count})),
            }
            *by_situation.entry(name.clone()).or_default() += count;
            if rng.below(4) == 0 {
                // The same situation again: summed.
                match situation {
                    Some(situation) => walk_ins.push(json!({"count": 1, "situation": situation})),
                    None => walk_ins.push(json!({"count": 1})),
                }
                *by_situation.entry(name).or_default() += 1;
            }
        }
        if rng.below(5) == 0 {
            walk_ins.push(json!({"count": 0, "situation": "student"}));
        }
    }
    let body = if listed.is_empty() && walk_ins.is_empty() {
        json!({})
    } else {
        json!({"participants": listed, "walk_ins": walk_ins})
    };
    let path = format!(
        "/api/v1/sessions/{}/occurrences/{}/attendance",
        s.id, occ.key
    );
    let answer = app
        .call(Method::PUT, &path, Some(&app.admin), Some(body.clone()))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "PUT {path} {body}: {answer:?}"
    );
    // The answer is the roster as recorded: it agrees with what we wrote down.
    let total_walk_ins: i64 = by_situation.values().sum();
    assert_eq!(
        answer.body["walk_ins_total"], total_walk_ins,
        "PUT {path} {body}: {answer:?}"
    );
    if let Some(lines) = answer.body["participants"].as_array() {
        for line in lines {
            let Some(person) = p
                .people
                .iter()
                .position(|who| line["participant_id"] == who.id.as_str())
            else {
                continue;
            };
            if let Some((_, status, _)) = outcome.iter().find(|(q, _, _)| *q == person) {
                assert_eq!(
                    line["attendance"],
                    status.as_str(),
                    "PUT {path} {body}: line {line}"
                );
            }
        }
    }
    let sport = s.sport.clone();
    let records = outcome
        .into_iter()
        .map(|(person, status, held)| {
            let who = &p.people[person];
            Record {
                participant: person,
                occurrence: (session, occurrence),
                start: occ.start,
                local_date: occ.local_date,
                club: club.clone(),
                sport: sport.clone(),
                structure: p.structures[who.structure].id.clone(),
                situation: who.situation.clone(),
                status,
                held,
            }
        })
        .collect();
    let walk_ins = by_situation
        .into_iter()
        .map(|(situation, count)| WalkIn {
            occurrence: (session, occurrence),
            local_date: occ.local_date,
            club: club.clone(),
            sport: sport.clone(),
            situation,
            count,
        })
        .collect();
    let sheet = Sheet {
        occurrence: (session, occurrence),
        local_date: occ.local_date,
        club,
        sport,
        records,
        walk_ins,
    };
    p.sheets.insert((session, occurrence), sheet);
}

/// A first submission for the first football evening that the real one replaces:
/// everyone on the roster present, a participant not yet holding a place, walk-ins.
async fn record_decoy(app: &TestApp, p: &Programme) {
    let s = &p.sessions[FOOT_BONDY];
    let mut listed: Vec<Value> = p
        .enrollments
        .iter()
        .filter(|e| e.session == FOOT_BONDY && e.confirmed && e.covers(0))
        .map(|e| json!({"participant_id": p.people[e.person].id, "status": "present"}))
        .collect();
    listed.push(json!({"participant_id": p.people[8].id, "status": "present"}));
    let body = json!({"participants": listed, "walk_ins": [{"count": 7, "situation": "student"}]});
    let path = format!(
        "/api/v1/sessions/{}/occurrences/{}/attendance",
        s.id, s.occurrences[0].key
    );
    let answer = app
        .call(Method::PUT, &path, Some(&app.admin), Some(body.clone()))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "PUT {path} {body}: {answer:?}"
    );
}

/// Builds the programme and its past season.
async fn seed(app: &TestApp) -> Programme {
    let now = Utc::now();
    let today = now.date_naive();
    let m3 = today.with_day(1).unwrap();
    let m1 = m3 - Months::new(2);
    let m2 = m3 - Months::new(1);

    // Two partner structures, each with a social worker.
    let mut structures = Vec::new();
    for name in ["Abri Saint-Denis", "Foyer Montreuil"] {
        let id = app.structure(name).await;
        let worker = app.user("social_worker", None, Some(&id)).await;
        let worker_id = user_id(app, &worker).await;
        structures.push(Structure {
            uuid: id.parse().unwrap(),
            id,
            name: name.to_owned(),
            worker,
            worker_id,
        });
    }
    // Three clubs in two cities, each with its manager.
    let mut clubs = Vec::new();
    for (name, city, sports) in [
        ("AS Bondy", "Bondy", vec!["football"]),
        (QUOTED_CLUB, "Paris", vec!["basketball", "football"]),
        ("Yoga du Canal", "Bondy", vec!["yoga"]),
    ] {
        let id = app.club(name, city, &sports).await;
        let manager = app.user("club_manager", Some(&id), None).await;
        clubs.push(Club {
            id,
            name: name.to_owned(),
            manager,
        });
    }
    // Twelve participants of several situations.
    let mut people = Vec::new();
    for (first, last, structure, situation) in [
        ("Amina", "Diallo", 0, "street"),
        ("Bilal", "Haddad", 0, "shelter"),
        ("Chloé", "Martin", 0, "migrant"),
        ("David", "Petit", 0, "student"),
        ("Emma", "Roux", 0, "single_parent"),
        ("Farid", "Benali", 0, "street"),
        ("Gaby", "Morel", 1, "isolated_senior"),
        ("Hugo", "Lefèvre", 1, "young_care_leaver"),
        ("Inès", "Traoré", 1, "migrant"),
        ("Jules", "Garnier", 1, "other"),
        ("Karim", "Ziani", 1, "shelter"),
        ("Léa", "Fontaine", 1, "street"),
    ] {
        let answer = app
            .post(
                "/api/v1/participants",
                &structures[structure].worker,
                json!({
                    "first_name": first,
                    "last_name": last,
                    "email": format!("{}@example.org", Uuid::new_v4().simple()),
                    "language": "fr",
                    "situation": situation,
                    "notify_referrer": false,
                    "consent": true
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        let id = answer.id();
        people.push(Person {
            uuid: id.parse().unwrap(),
            id,
            code: answer.body["code"].as_str().unwrap().to_owned(),
            structure,
            situation: situation.to_owned(),
        });
    }
    // Four weekly sessions from the start of the first month; the Nouméa one falls on
    // the first day of the second month (the day before, in UTC).
    let mut noumea = m2;
    while noumea - Duration::days(7) >= m1 {
        noumea -= Duration::days(7);
    }
    let specs = [
        (
            0,
            "Football loisir",
            "football",
            on_or_after(m1, Weekday::Tue),
            "18:30:00",
            "Europe/Paris",
            6,
        ),
        (
            1,
            "Basket du jeudi",
            "basketball",
            on_or_after(m1, Weekday::Thu),
            "19:00:00",
            "Europe/Paris",
            3,
        ),
        (
            1,
            "Foot du samedi",
            "football",
            on_or_after(m1, Weekday::Sat),
            "10:00:00",
            "Europe/Paris",
            6,
        ),
        (
            2,
            "Yoga du matin",
            "yoga",
            noumea,
            "07:00:00",
            "Pacific/Noumea",
            5,
        ),
    ];
    let mut sessions = Vec::new();
    for (club, title, sport, date, time, timezone, capacity) in specs {
        let id = app
            .weekly_session(
                &clubs[club].id,
                &app.admin,
                json!({
                    "title": title,
                    "sport": sport,
                    "start": format!("{date}T{time}"),
                    "timezone": timezone,
                    "rrule": "FREQ=WEEKLY",
                    "capacity": capacity
                }),
            )
            .await;
        let list = app
            .get(
                &format!(
                    "/api/v1/sessions/{id}/occurrences?from={}&to={}",
                    m1 - Duration::days(1),
                    today + Duration::days(1)
                ),
                &app.admin,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        let occurrences: Vec<Occ> = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|o| o["status"] != "cancelled")
            .map(|o| {
                let start = DateTime::parse_from_rfc3339(o["start"].as_str().unwrap()).unwrap();
                Occ {
                    key: o["key"].as_str().unwrap().to_owned(),
                    start: start.with_timezone(&Utc),
                    local_date: start.date_naive(),
                }
            })
            .filter(|o| o.start + Duration::minutes(2) < now)
            .collect();
        assert_eq!(occurrences[0].local_date, date, "{title}: {list:?}");
        let m2_index = occurrences
            .iter()
            .position(|o| o.local_date >= m2)
            .expect("an occurrence in the second month");
        assert!(
            occurrences.len() >= m2_index + 4 && m2_index >= 4,
            "{title}: {} past occurrences",
            occurrences.len()
        );
        sessions.push(Session {
            uuid: id.parse().unwrap(),
            id,
            club,
            sport: sport.to_owned(),
            occurrences,
            m2: m2_index,
        });
    }
    let yoga_first_of_month = &sessions[YOGA].occurrences[sessions[YOGA].m2];
    assert_eq!(yoga_first_of_month.local_date, m2);
    assert_eq!(
        yoga_first_of_month.start.date_naive(),
        m2 - Duration::days(1),
        "the Nouméa occurrence is on the previous day in UTC"
    );

    let mut p = Programme {
        clubs,
        structures,
        people,
        sessions,
        enrollments: Vec::new(),
        declined: HashSet::new(),
        sheets: BTreeMap::new(),
        m1,
        m2,
        m3,
        today,
    };

    // Enrollments as of past dates.
    for person in [0, 1, 6, 7] {
        enroll(app, &mut p, FOOT_BONDY, person, 0, true, "confirmed").await;
    }
    let foot_m2 = p.sessions[FOOT_BONDY].m2;
    enroll(app, &mut p, FOOT_BONDY, 8, foot_m2, true, "confirmed").await;
    enroll(app, &mut p, FOOT_BONDY, 11, foot_m2 + 1, false, "confirmed").await;
    for person in [2, 3, 7] {
        enroll(app, &mut p, BASKET, person, 0, true, "confirmed").await;
    }
    // The basketball evening is full: Karim waits, and comes anyway.
    enroll(app, &mut p, BASKET, 10, 0, true, "waitlisted").await;
    for person in [4, 5, 0] {
        enroll(app, &mut p, FOOT_SATURDAY, person, 0, true, "confirmed").await;
    }
    let saturday_m2 = p.sessions[FOOT_SATURDAY].m2;
    enroll(
        app,
        &mut p,
        FOOT_SATURDAY,
        9,
        saturday_m2,
        true,
        "confirmed",
    )
    .await;
    enroll(app, &mut p, FOOT_SATURDAY, 1, 2, false, "confirmed").await;
    // Yoga: nobody at the first class (held with no one), a trial on the 1st.
    for person in [6, 11, 3] {
        enroll(app, &mut p, YOGA, person, 1, true, "confirmed").await;
    }
    let yoga_m2 = p.sessions[YOGA].m2;
    enroll(app, &mut p, YOGA, 8, yoga_m2, false, "confirmed").await;

    // "I can't come": Gaby stays away (excused), Léa comes anyway (no place held).
    decline(app, &mut p, YOGA, 2, 6).await;
    decline(app, &mut p, YOGA, 4, 11).await;

    let forced: HashMap<(usize, usize, usize), Status> = HashMap::from([
        // Amina: present in the replaced submission, absent in the real one.
        ((FOOT_BONDY, 0, 0), Status::Absent),
        // Inès comes before her series starts (no place held): her first encounter.
        ((FOOT_BONDY, 1, 8), Status::Present),
        // Emma: first encounter in the first month, present again in the second.
        ((FOOT_SATURDAY, 0, 4), Status::Present),
        ((FOOT_SATURDAY, saturday_m2, 4), Status::Present),
        // Jules: first encounter in the second month.
        ((FOOT_SATURDAY, saturday_m2, 9), Status::Present),
        // Chloé: present at the basketball evening recorded last.
        ((BASKET, 0, 2), Status::Present),
        ((YOGA, yoga_m2, 8), Status::Present),
        ((YOGA, 4, 11), Status::Present),
    ]);

    // Record in date order, except the first basketball evening, recorded last (it
    // becomes Chloé's first encounter then); the fourth yoga class is never recorded.
    let mut order: Vec<(usize, usize)> = (0..p.sessions.len())
        .flat_map(|s| (0..p.sessions[s].occurrences.len()).map(move |i| (s, i)))
        .filter(|&o| o != (YOGA, 3) && o != (BASKET, 0))
        .collect();
    order.sort_by_key(|&(s, i)| p.sessions[s].occurrences[i].start);
    order.push((BASKET, 0));
    let mut rng = Rng(0x5EED_2026);
    let mut patched = false;
    for occurrence in order {
        let local_date = p.sessions[occurrence.0].occurrences[occurrence.1].local_date;
        if !patched && local_date >= m2 {
            // Situations change between the months: records keep the one at the time.
            patch_situation(app, &mut p, 5, "shelter").await;
            patch_situation(app, &mut p, 2, "student").await;
            patched = true;
        }
        if occurrence == (FOOT_BONDY, 0) {
            record_decoy(app, &p).await;
        }
        record(app, &mut p, &mut rng, &forced, occurrence).await;
    }
    assert!(patched);
    p
}

fn views(p: &Programme) -> Vec<(String, View)> {
    let mut views = Vec::new();
    for (club, c) in p.clubs.iter().enumerate() {
        views.push((c.manager.clone(), p.club_view(club)));
    }
    for (structure, s) in p.structures.iter().enumerate() {
        views.push((s.worker.clone(), p.structure_view(structure)));
    }
    views
}

#[tokio::test]
async fn figures_match_an_independent_ledger_for_every_grouping_and_period() {
    let app = spawn_app().await;
    let p = seed(&app).await;

    // The season exercises what the figures distinguish.
    let records: Vec<&Record> = p.records().collect();
    assert!(records
        .iter()
        .any(|r| r.status == Status::Present && !r.held));
    assert!(records
        .iter()
        .any(|r| r.status == Status::Excused && !r.held));
    assert!(records.iter().any(|r| r.status == Status::Absent && r.held));
    assert!(p.walk_ins().any(|w| w.situation == "unknown"));
    assert!(p.sheets[&(YOGA, 0)].records.is_empty() && p.sheets[&(YOGA, 0)].walk_ins.is_empty());
    assert!(!p.sheets.contains_key(&(YOGA, 3)));
    let second_month = (p.m2, p.m2_last());
    let in_m2 = expected(&p, &View::Admin, "month", second_month.0, second_month.1);
    assert!(
        in_m2.total.first_encounters >= 1,
        "a first encounter in the second month"
    );
    assert!(
        in_m2.total.first_encounters < in_m2.total.unique_participants,
        "participants of the second month met earlier"
    );

    let periods = [
        p.all(),
        second_month,
        // Ends the last day of the first month: the Nouméa class on the 1st (the
        // previous day in UTC) is outside; starts mid-month on a class day.
        (
            p.sessions[BASKET].occurrences[1].local_date,
            p.m2 - Duration::days(1),
        ),
        // Starts on the 1st: the Nouméa class is inside.
        (p.m2, p.m2 + Duration::days(10)),
        // Nothing recorded.
        (p.m1 - Months::new(6), p.m1 - Duration::days(1)),
    ];
    for period in periods {
        for group_by in GROUPINGS {
            check(&app, &p, &app.admin, &View::Admin, group_by, period).await;
        }
    }
    // The total does not depend on the grouping.
    let mut totals = Vec::new();
    for group_by in GROUPINGS {
        let body = snapshot(&app, &app.admin, group_by, p.all()).await;
        totals.push(body["total"].clone());
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]), "{totals:?}");

    // The empty period: no group, a zero total with no rate.
    let empty = snapshot(&app, &app.admin, "club", periods[4]).await;
    assert_eq!(empty["groups"], json!([]), "{empty}");
    assert!(empty["total"]["attendance_rate"].is_null(), "{empty}");

    // Month grouping: the Nouméa class on the 1st counts in the second month.
    let months = snapshot(&app, &app.admin, "month", p.all()).await;
    let keys: Vec<&str> = months["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys[..2], [month_key(p.m1), month_key(p.m2)], "{months}");

    // An RFC 3339 bound counts by its date.
    let by_time = snapshot(&app, &app.admin, "club", (p.m2, p.m2_last())).await;
    let answer = app
        .get(
            &format!(
                "/api/v1/stats/encounters?from={}T12:00:00Z&to={}T08:00:00Z&group_by=club",
                p.m2,
                p.m2_last()
            ),
            &app.admin,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body, by_time);

    // The daily figures kept sheet by sheet (corrections included) are those computed
    // again from the records, as a bulk import and the migration that made them do.
    let mut before = Vec::new();
    for group_by in GROUPINGS {
        before.push(snapshot(&app, &app.admin, group_by, p.all()).await);
    }
    app.store
        .rebuild_attendance_rollups()
        .await
        .expect("figures rebuilt");
    for (group_by, was) in GROUPINGS.into_iter().zip(&before) {
        let now = snapshot(&app, &app.admin, group_by, p.all()).await;
        assert_eq!(&now, was, "rebuilt: group_by={group_by}");
    }
    for (token, view) in views(&p) {
        for group_by in GROUPINGS {
            check(&app, &p, &token, &view, group_by, p.all()).await;
        }
    }
}

#[tokio::test]
async fn each_role_sees_its_own_scope() {
    let app = spawn_app().await;
    let p = seed(&app).await;
    let periods = [p.all(), (p.m2, p.m2_last())];
    for (token, view) in views(&p) {
        for period in periods {
            for group_by in GROUPINGS {
                check(&app, &p, &token, &view, group_by, period).await;
            }
        }
    }
    // A social worker never sees walk-ins, nor another structure's participants.
    let worker = &p.structures[0].worker;
    let theirs = snapshot(&app, worker, "structure", p.all()).await;
    let keys: Vec<&str> = theirs["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [p.structures[0].id.as_str()], "{theirs}");
    assert_eq!(theirs["total"]["walk_ins"], 0, "{theirs}");
    // A club manager sees only their club.
    let manager = &p.clubs[1].manager;
    let theirs = snapshot(&app, manager, "club", p.all()).await;
    let keys: Vec<&str> = theirs["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [p.clubs[1].id.as_str()], "{theirs}");
    // The admin sees everything: the scoped views add up to it.
    let all = expected(&p, &View::Admin, "club", p.all().0, p.all().1);
    let clubs: i64 = (0..3)
        .map(|c| {
            expected(&p, &p.club_view(c), "club", p.all().0, p.all().1)
                .total
                .encounters
        })
        .sum();
    assert_eq!(clubs, all.total.encounters);
    check(&app, &p, &app.admin, &View::Admin, "structure", p.all()).await;
}

#[tokio::test]
async fn erasure_and_later_edits_change_no_figure() {
    let app = spawn_app().await;
    let p = seed(&app).await;
    let worker_a = p.structures[0].worker.clone();
    let manager = p.clubs[1].manager.clone();
    let mut queries: Vec<(String, &str, (NaiveDate, NaiveDate))> = Vec::new();
    for group_by in GROUPINGS {
        queries.push((app.admin.clone(), group_by, p.all()));
        queries.push((app.admin.clone(), group_by, (p.m2, p.m2_last())));
    }
    queries.push((worker_a.clone(), "situation", p.all()));
    queries.push((worker_a.clone(), "structure", p.all()));
    queries.push((manager.clone(), "club", p.all()));
    queries.push((manager.clone(), "situation", p.all()));
    let mut before = Vec::new();
    for (token, group_by, period) in &queries {
        before.push(snapshot(&app, token, group_by, *period).await);
    }
    // The figures before are the ledger's.
    check(&app, &p, &app.admin, &View::Admin, "situation", p.all()).await;

    // Amina (structure A, football twice a week) and Hugo (structure B, football and
    // basketball: his place goes to Karim, who waited) are erased.
    for person in [0, 7] {
        let who = &p.people[person];
        let worker = &p.structures[who.structure].worker;
        let erased = app
            .delete(&format!("/api/v1/participants/{}", who.id), worker)
            .await;
        assert_eq!(erased.status, StatusCode::NO_CONTENT, "{erased:?}");
    }
    for ((token, group_by, period), was) in queries.iter().zip(&before) {
        let now = snapshot(&app, token, group_by, *period).await;
        assert_eq!(&now, was, "after erasure: group_by={group_by} {period:?}");
    }

    // A later change of situation does not move recorded figures either.
    let bilal = &p.people[1];
    let changed = app
        .patch(
            &format!("/api/v1/participants/{}", bilal.id),
            &worker_a,
            json!({"situation": "isolated_senior"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    for ((token, group_by, period), was) in queries.iter().zip(&before) {
        let now = snapshot(&app, token, group_by, *period).await;
        assert_eq!(
            &now, was,
            "after a change of situation: group_by={group_by} {period:?}"
        );
    }
    // Still the ledger's, for every scope.
    for (token, view) in views(&p) {
        check(&app, &p, &token, &view, "situation", p.all()).await;
    }
}

/// The CSV form of one query: status, content type and text.
async fn csv_text(
    app: &TestApp,
    path: &str,
    token: &str,
    accept: &str,
) -> (StatusCode, String, String) {
    let response = app
        .client
        .get(format!("{}{}", app.base, path))
        .bearer_auth(token)
        .header("Accept", accept)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// The CSV answer says what the JSON one says.
async fn check_csv(
    app: &TestApp,
    token: &str,
    group_by: &str,
    period: (NaiveDate, NaiveDate),
    accept: &str,
) -> String {
    let path = stats_path(group_by, period.0, period.1);
    let json = snapshot(app, token, group_by, period).await;
    let (status, content_type, text) = csv_text(app, &path, token, accept).await;
    let context = format!("{path} Accept: {accept}");
    assert_eq!(status, StatusCode::OK, "{context}: {text}");
    let lowered = content_type.to_ascii_lowercase().replace(' ', "");
    assert!(
        lowered.starts_with("text/csv") && lowered.contains("charset=utf-8"),
        "{context}: {content_type}"
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_HEADER, "{context}");
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{context}: {e}: {text}"));
    let mut lines: Vec<Value> = json["groups"].as_array().unwrap().clone();
    lines.push(json["total"].clone());
    assert_eq!(rows.len(), lines.len(), "{context}: {text}\n{json}");
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(row.len(), CSV_HEADER.len(), "{context}: {row:?}");
        assert_eq!(&row[0], line["key"].as_str().unwrap(), "{context}: {row:?}");
        assert_eq!(
            &row[1],
            line["label"].as_str().unwrap(),
            "{context}: {row:?}"
        );
        for (i, field) in CSV_HEADER.iter().enumerate().skip(2) {
            if *field == "attendance_rate" {
                let cell = &row[i];
                match line[field].as_f64() {
                    None => assert_eq!(cell, "", "{context}: {row:?}"),
                    Some(rate) => {
                        let (whole, decimals) = cell
                            .split_once('.')
                            .unwrap_or_else(|| panic!("{context}: rate {cell:?}"));
                        assert!(
                            !whole.is_empty()
                                && whole.chars().all(|c| c.is_ascii_digit())
                                && decimals.len() == 4
                                && decimals.chars().all(|c| c.is_ascii_digit()),
                            "{context}: rate {cell:?} is not like 0.6250"
                        );
                        let value: f64 = cell.parse().unwrap();
                        assert!(
                            (value - rate).abs() <= 5e-5 + 1e-12,
                            "{context}: {row:?} vs {line}"
                        );
                    }
                }
            } else {
                let value: i64 = row[i]
                    .parse()
                    .unwrap_or_else(|_| panic!("{context}: {field} {:?}", &row[i]));
                assert_eq!(
                    Some(value),
                    line[field].as_i64(),
                    "{context}: {field} in {row:?} vs {line}"
                );
            }
        }
    }
    let last = rows.last().unwrap();
    assert_eq!((&last[0], &last[1]), ("total", "Total"), "{context}");
    text
}

#[tokio::test]
async fn csv_says_what_json_says() {
    let app = spawn_app().await;
    let p = seed(&app).await;
    for group_by in GROUPINGS {
        let text = check_csv(&app, &app.admin, group_by, p.all(), "text/csv").await;
        if group_by == "club" {
            // RFC 4180: the label with a comma and quotes is quoted, quotes doubled.
            assert!(text.contains("\"Les \"\"Aigles\"\", Paris 20e\""), "{text}");
        }
        if group_by == "structure" {
            // Walk-ins hold no place: an empty rate.
            assert!(text.lines().any(|l| l.starts_with("walk_in,")), "{text}");
        }
    }
    // Scoped views, another period, an Accept listing several types.
    check_csv(
        &app,
        &p.structures[1].worker,
        "situation",
        (p.m2, p.m2_last()),
        "text/csv",
    )
    .await;
    check_csv(
        &app,
        &p.clubs[1].manager,
        "club",
        p.all(),
        "text/csv, application/json;q=0.5",
    )
    .await;
    // Nothing in the period: the header and the total.
    let text = check_csv(
        &app,
        &app.admin,
        "month",
        (p.m1 - Months::new(6), p.m1 - Duration::days(1)),
        "text/csv",
    )
    .await;
    assert_eq!(text.lines().filter(|l| !l.is_empty()).count(), 2, "{text}");
    // Without it, JSON.
    let answer = app
        .get(&stats_path("club", p.all().0, p.all().1), &app.admin)
        .await;
    assert!(
        answer.content_type.starts_with("application/json"),
        "{answer:?}"
    );
    check(&app, &p, &app.admin, &View::Admin, "club", p.all()).await;
}

#[tokio::test]
async fn invalid_queries_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let base = "/api/v1/stats/encounters";
    for (query, field) in [
        ("group_by=weekday", "group_by"),
        ("from=2026-13-01", "from"),
        ("from=2026-02-30", "from"),
        ("to=soon", "to"),
        ("from=2026-05-10&to=2026-05-09", "to"),
    ] {
        let answer = app.get(&format!("{base}?{query}"), &app.admin).await;
        assert_problem(&answer, 422, Some(field));
    }
    let anonymous = app.call(Method::GET, base, None, None).await;
    assert_problem(&anonymous, 401, None);
    let wrong = app.get(base, "not-a-token").await;
    assert_problem(&wrong, 401, None);

    // Defaults: this year so far, by month; every role may ask.
    let answer = app.get(base, &app.admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let now = Utc::now();
    assert_eq!(
        answer.body["from"],
        format!("{}-01-01", now.year()),
        "{answer:?}"
    );
    let paris = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let to = answer.body["to"].as_str().unwrap_or_default();
    assert!(
        to == now.date_naive().to_string() || to == paris.to_string(),
        "{answer:?}"
    );
    assert_eq!(answer.body["group_by"], "month", "{answer:?}");
    assert_eq!(answer.body["groups"], json!([]), "{answer:?}");
    assert_eq!(answer.body["total"]["encounters"], 0, "{answer:?}");
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    for token in [&worker, &manager] {
        let answer = app.get(&format!("{base}?group_by=club"), token).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
    // A one-day period is fine (both bounds inclusive).
    let answer = app
        .get(
            &format!("{base}?from=2026-05-10&to=2026-05-10&group_by=sport"),
            &app.admin,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
}
