//! Attendance, black-box: the club records who came to an occurrence, the social worker
//! follows a participant's history and is told by email after two absences in a row.
//!
//! History is seeded as the contract describes: a weekly session created over HTTP with
//! a start some weeks in the past, enrollments written through the store as of a past
//! date, "I can't come" answers through the store, then attendance over HTTP.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, SubsecRound, Utc};
use chrono_tz::Europe::Paris;
use common::french;
use common::mail::{leaves, parse, subject};
use common::smtp::{Received, SmtpServer};
use common::*;
use entourage_sport::domain::places::Scope;
use entourage_sport::domain::rsvp::Answer as Rsvp;
use entourage_sport::domain::schedule::OccurrenceKey;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::ops::rsvp::{answer_rsvp, RsvpOutcome};
use entourage_sport::store::enrollments::NewEnrollment;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const WAIT: StdDuration = StdDuration::from_secs(10);
const ALERT_SUBJECT: &str = "Deux absences de suite";

// ---------------------------------------------------------------------------------
// Helpers

struct World {
    app: TestApp,
    smtp: Option<SmtpServer>,
    club: String,
    manager: String,
    worker: String,
    worker_email: String,
}

async fn world_with(smtp: Option<SmtpServer>) -> World {
    let options = TestOptions {
        smtp_url: smtp.as_ref().map(SmtpServer::url),
        ..TestOptions::default()
    };
    let app = spawn_with(options).await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker_email = format!("worker-{}@asso.example.org", Uuid::new_v4().simple());
    let worker = user_with_email(&app, "social_worker", &structure, &worker_email).await;
    World {
        app,
        smtp,
        club,
        manager,
        worker,
        worker_email,
    }
}

async fn world() -> World {
    world_with(None).await
}

async fn user_with_email(app: &TestApp, role: &str, structure: &str, email: &str) -> String {
    let answer = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"role": role, "name": "Sophie Travail", "email": email,
                   "club_id": null, "structure_id": structure}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body["token"].as_str().expect("token").to_owned()
}

/// One occurrence as the API lists it.
#[derive(Debug, Clone)]
struct Occ {
    key: String,
    /// RFC 3339 with the local offset, as the API wrote it.
    start_text: String,
    start: DateTime<FixedOffset>,
}

fn today_in_paris() -> NaiveDate {
    Utc::now().with_timezone(&Paris).date_naive()
}

/// A weekly 18:30 (Paris) session of `club` whose first occurrence was `days_ago` days
/// ago, created by `token`; with its occurrences up to ten days ahead, oldest first.
async fn past_weekly(
    app: &TestApp,
    club: &str,
    token: &str,
    days_ago: i64,
    extra: Value,
) -> (String, Vec<Occ>) {
    let today = today_in_paris();
    let first = today - Duration::days(days_ago);
    let byday =
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][first.weekday().num_days_from_monday() as usize];
    let mut body = json!({
        "start": format!("{first}T18:30:00"),
        "rrule": format!("FREQ=WEEKLY;BYDAY={byday}"),
    });
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    let session = app.weekly_session(club, token, body).await;
    let until = today + Duration::days(10);
    let occurrences = occurrences_between(app, &session, token, first, until).await;
    let expected = (days_ago + 10) / 7 + 1;
    assert_eq!(
        occurrences.len() as i64,
        expected,
        "weekly occurrences from {first} to {until}: {occurrences:#?}"
    );
    (session, occurrences)
}

/// A daily session (Paris time `at`) of `club` whose first occurrence was `days_ago` days
/// ago, created by `token`; with its occurrences up to tomorrow, oldest first.
async fn past_daily(
    app: &TestApp,
    club: &str,
    token: &str,
    days_ago: i64,
    at: &str,
    extra: Value,
) -> (String, Vec<Occ>) {
    let today = today_in_paris();
    let first = today - Duration::days(days_ago);
    let mut body = json!({"start": format!("{first}T{at}"), "rrule": "FREQ=DAILY",
                          "title": "Footing du soir", "sport": "course"});
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    let session = app.weekly_session(club, token, body).await;
    let until = today + Duration::days(1);
    let occurrences = occurrences_between(app, &session, token, first, until).await;
    assert_eq!(occurrences.len() as i64, days_ago + 2, "{occurrences:#?}");
    (session, occurrences)
}

/// A session's occurrences from `first` to `until` (local dates), oldest first.
async fn occurrences_between(
    app: &TestApp,
    session: &str,
    token: &str,
    first: NaiveDate,
    until: NaiveDate,
) -> Vec<Occ> {
    let list = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={first}&to={until}"),
            token,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            let start_text = o["start"].as_str().expect("a start").to_owned();
            Occ {
                key: o["key"].as_str().expect("a key").to_owned(),
                start: DateTime::parse_from_rfc3339(&start_text).expect("RFC 3339"),
                start_text,
            }
        })
        .collect()
}

/// The occurrences that already started, oldest first.
fn started(occurrences: &[Occ]) -> Vec<Occ> {
    let now = Utc::now();
    occurrences
        .iter()
        .filter(|o| o.start < now)
        .cloned()
        .collect()
}

/// The first occurrence still ahead.
fn upcoming(occurrences: &[Occ]) -> Occ {
    let now = Utc::now();
    occurrences
        .iter()
        .find(|o| o.start > now)
        .cloned()
        .expect("an upcoming occurrence")
}

/// A participant of the world's social worker; returns the created resource.
async fn participant(w: &World, first: &str, extra: Value) -> Value {
    participant_of(&w.app, &w.worker, first, extra).await
}

async fn participant_of(app: &TestApp, worker: &str, first: &str, extra: Value) -> Value {
    let mut body = json!({
        "first_name": first,
        "last_name": "Diallo",
        "email": format!("{}.{}@example.net", first.to_lowercase(), Uuid::new_v4().simple()),
        "language": "fr",
        "situation": "migrant",
        "consent": true,
    });
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    let answer = app.post("/api/v1/participants", worker, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

fn code(v: &Value) -> &str {
    v["code"].as_str().expect("a code")
}

fn uuid(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().expect("a uuid string")).expect("a uuid")
}

/// Enrols `participant` in the whole series of `session` from `from_key` on, as of two
/// days before that occurrence (the store: the API only enrols for upcoming dates).
/// Returns the enrollment id and its status.
async fn enrol(
    app: &TestApp,
    session: &str,
    participant: &Value,
    from_key: &str,
) -> (String, String) {
    let key: OccurrenceKey = from_key.parse().expect("an occurrence key");
    let now = key.original_start() - Duration::days(2);
    let new = NewEnrollment {
        id: Uuid::new_v4(),
        participant_id: uuid(&participant["id"]),
        session_id: Uuid::parse_str(session).expect("a session id"),
        structure_id: uuid(&participant["structure_id"]),
        scope: Scope::Series,
        from_key: key,
        created_by: uuid(&participant["referrer_id"]),
        now,
    };
    let placed = import_enrollment(&app.store, &new)
        .await
        .expect("enrolled through the store");
    (
        placed.enrollment.id.to_string(),
        placed.enrollment.status.as_str().to_owned(),
    )
}

/// Enrols and checks the place is confirmed.
async fn enrol_confirmed(
    app: &TestApp,
    session: &str,
    participant: &Value,
    from_key: &str,
) -> String {
    let (enrollment, status) = enrol(app, session, participant, from_key).await;
    assert_eq!(status, "confirmed");
    enrollment
}

/// "I can't come" for one occurrence, answered three hours before it.
async fn cant_come(app: &TestApp, enrollment: &str, key: &str) {
    let key: OccurrenceKey = key.parse().expect("an occurrence key");
    let outcome = answer_rsvp(
        &app.store,
        Uuid::parse_str(enrollment).unwrap(),
        key,
        Rsvp::NotComing,
        key.original_start() - Duration::hours(3),
    )
    .await
    .expect("answer recorded");
    assert_eq!(outcome, RsvpOutcome::Recorded);
}

fn attendance_path(session: &str, key: &str) -> String {
    format!("/api/v1/sessions/{session}/occurrences/{key}/attendance")
}

async fn put_attendance(
    app: &TestApp,
    token: Option<&str>,
    session: &str,
    key: &str,
    body: Value,
) -> Answer {
    app.call(
        Method::PUT,
        &attendance_path(session, key),
        token,
        Some(body),
    )
    .await
}

/// PUTs attendance and expects 200; returns the answered roster.
async fn record(app: &TestApp, token: &str, session: &str, key: &str, body: Value) -> Value {
    let answer = put_attendance(app, Some(token), session, key, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(
        answer.content_type.starts_with("application/json"),
        "{answer:?}"
    );
    answer.body
}

async fn roster(app: &TestApp, token: &str, session: &str, key: &str) -> Value {
    let answer = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences/{key}/roster"),
            token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

fn line<'a>(roster: &'a Value, participant: &Value) -> &'a Value {
    roster["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|l| l["participant_id"] == participant["id"])
        .unwrap_or_else(|| {
            panic!(
                "{} not on the roster: {roster:#}",
                participant["first_name"]
            )
        })
}

fn has_line(roster: &Value, participant: &Value) -> bool {
    roster["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .any(|l| l["participant_id"] == participant["id"])
}

/// Each listed participant's `attendance` on the roster, checked in one go.
fn assert_attendance(roster: &Value, expected: &[(&Value, Value)]) {
    for (who, status) in expected {
        assert_eq!(
            line(roster, who)["attendance"],
            *status,
            "attendance of {}: {roster:#}",
            who["first_name"]
        );
    }
}

/// Walk-ins by situation.
fn walk_ins(roster: &Value) -> BTreeMap<String, i64> {
    roster["walk_ins"]
        .as_array()
        .unwrap_or_else(|| panic!("walk_ins is a list: {roster:#}"))
        .iter()
        .map(|w| {
            (
                w["situation"].as_str().expect("a situation").to_owned(),
                w["count"].as_i64().expect("a count"),
            )
        })
        .collect()
}

/// A roster with its lists in a fixed order, to compare two answers for the same data.
fn normalised(roster: &Value) -> Value {
    let mut roster = roster.clone();
    if let Some(lines) = roster["participants"].as_array_mut() {
        lines.sort_by_key(|l| l["participant_id"].as_str().unwrap_or_default().to_owned());
    }
    if let Some(walk_ins) = roster["walk_ins"].as_array_mut() {
        walk_ins.sort_by_key(|w| w["situation"].as_str().unwrap_or_default().to_owned());
    }
    roster
}

fn recorded_at(roster: &Value) -> DateTime<FixedOffset> {
    let text = roster["attendance_recorded_at"]
        .as_str()
        .unwrap_or_else(|| panic!("attendance_recorded_at: {roster:#}"));
    DateTime::parse_from_rfc3339(text).expect("RFC 3339")
}

fn history_path(participant: &Value) -> String {
    format!("/api/v1/participants/{}/attendance", id(participant))
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let answer = app.get("/api/v1/admin/outbox?limit=200", &app.admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().expect("items").clone()
}

async fn alerts_in_outbox(app: &TestApp) -> Vec<Value> {
    outbox(app)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "absence_alert")
        .collect()
}

fn to(message: &Received) -> &str {
    message.to.first().map(String::as_str).unwrap_or_default()
}

fn body_of(message: &Received, mimetype: &str) -> Option<String> {
    let parsed = parse(message);
    let mut found = Vec::new();
    leaves(&parsed, &mut found);
    found
        .iter()
        .find(|p| p.ctype.mimetype.eq_ignore_ascii_case(mimetype))
        .map(|p| p.get_body().expect("a decodable part"))
}

fn alerts_received(smtp: &SmtpServer) -> Vec<Received> {
    smtp.received()
        .into_iter()
        .filter(|m| subject(m).starts_with(ALERT_SUBJECT))
        .collect()
}

/// Polls until `n` follow-up emails arrived, or fails after `WAIT`.
async fn wait_for_alerts(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = alerts_received(smtp);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} follow-up emails, got {}",
            got.len()
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// Polls until nothing in the outbox is waiting to be sent, or fails after `WAIT`.
async fn outbox_drained(app: &TestApp) {
    let deadline = Instant::now() + WAIT;
    loop {
        let items = outbox(app).await;
        if items
            .iter()
            .all(|m| m["status"] != "pending" && m["status"] != "sending")
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox never drained: {items:#?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------
// Recording: replace semantics and defaults

#[tokio::test]
async fn a_submission_replaces_the_previous_one_and_the_same_one_changes_nothing() {
    let w = world().await;
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 45, json!({})).await;
    let past = started(&occurrences);
    let first = &past[0];
    let target = past.last().unwrap().clone();
    let amina = participant(&w, "Amina", json!({})).await;
    let bakary = participant(&w, "Bakary", json!({})).await;
    let chaka = participant(&w, "Chaka", json!({})).await;
    let djeneba = participant(&w, "Djeneba", json!({})).await;
    let emma = participant(&w, "Emma", json!({})).await;
    for p in [&amina, &bakary, &chaka, &djeneba] {
        enrol_confirmed(&w.app, &session, p, &first.key).await;
    }
    let emma_enrollment = enrol_confirmed(&w.app, &session, &emma, &first.key).await;
    // Emma said she could not come, but came anyway.
    cant_come(&w.app, &emma_enrollment, &target.key).await;

    let first_body = json!({
        "participants": [
            {"participant_id": id(&amina), "status": "present"},
            {"code": code(&bakary), "status": "absent"},
            {"participant_id": id(&chaka), "status": "excused"},
            {"code": code(&emma), "status": "present"},
        ],
        "walk_ins": [
            {"count": 2, "situation": "street"},
            {"count": 1},
            {"count": 1, "situation": "street"},
            {"count": 0, "situation": "student"},
        ]
    });
    let answered = record(&w.app, &w.manager, &session, &target.key, first_body).await;
    assert_eq!(answered["key"], target.key.as_str(), "{answered:#}");
    assert_eq!(answered["session_id"], session.as_str());
    assert_attendance(
        &answered,
        &[
            (&amina, json!("present")),
            (&bakary, json!("absent")),
            (&chaka, json!("excused")),
            // Not listed, confirmed: absent.
            (&djeneba, json!("absent")),
            (&emma, json!("present")),
        ],
    );
    assert_eq!(line(&answered, &emma)["rsvp"], "not_coming");
    // The same situation twice is summed, no situation is `unknown`, 0 is dropped.
    assert_eq!(
        walk_ins(&answered),
        BTreeMap::from([("street".to_owned(), 3), ("unknown".to_owned(), 1)]),
        "{answered:#}"
    );
    assert_eq!(answered["walk_ins_total"], 4);
    let first_recorded = recorded_at(&answered);
    assert!(
        first_recorded >= target.start && first_recorded <= Utc::now() + Duration::seconds(5),
        "{first_recorded}"
    );
    let fetched = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_eq!(normalised(&fetched), normalised(&answered));

    // Another submission replaces the whole sheet: whoever is no longer listed goes back
    // to the default (absent; excused for who said they could not come), walk-ins too.
    let second_body = json!({
        "participants": [
            {"participant_id": id(&bakary), "status": "present"},
            {"code": code(&djeneba), "status": "excused"},
        ]
    });
    let second = record(
        &w.app,
        &w.manager,
        &session,
        &target.key,
        second_body.clone(),
    )
    .await;
    assert_attendance(
        &second,
        &[
            (&amina, json!("absent")),
            (&bakary, json!("present")),
            (&chaka, json!("absent")),
            (&djeneba, json!("excused")),
            (&emma, json!("excused")),
        ],
    );
    assert_eq!(walk_ins(&second), BTreeMap::new(), "{second:#}");
    assert_eq!(second["walk_ins_total"], 0);
    assert!(recorded_at(&second) >= first_recorded);
    let fetched = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_eq!(normalised(&fetched), normalised(&second));

    // The same body again: nothing changes, not even the recording time.
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    let third = record(&w.app, &w.manager, &session, &target.key, second_body).await;
    assert_eq!(
        third["attendance_recorded_at"], second["attendance_recorded_at"],
        "{third:#}"
    );
    assert_eq!(third, second);
    let fetched = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_eq!(normalised(&fetched), normalised(&second));

    // Other occurrences were not touched.
    let other = roster(&w.app, &w.manager, &session, &first.key).await;
    assert_eq!(other["attendance_recorded_at"], Value::Null, "{other:#}");
    assert_attendance(&other, &[(&amina, Value::Null), (&emma, Value::Null)]);
}

#[tokio::test]
async fn who_is_not_listed_is_absent_or_excused_after_i_cant_come() {
    let w = world().await;
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 24, json!({})).await;
    let past = started(&occurrences);
    let (first, target) = (past[0].clone(), past.last().unwrap().clone());
    let earlier = past[past.len() - 2].clone();
    let amina = participant(&w, "Amina", json!({})).await;
    let bakary = participant(&w, "Bakary", json!({})).await;
    let chaka = participant(&w, "Chaka", json!({})).await;
    let djeneba = participant(&w, "Djeneba", json!({})).await;
    let amina_enrollment = enrol_confirmed(&w.app, &session, &amina, &first.key).await;
    let bakary_enrollment = enrol_confirmed(&w.app, &session, &bakary, &first.key).await;
    let chaka_enrollment = enrol_confirmed(&w.app, &session, &chaka, &first.key).await;
    let djeneba_enrollment = enrol_confirmed(&w.app, &session, &djeneba, &first.key).await;
    cant_come(&w.app, &bakary_enrollment, &target.key).await;
    cant_come(&w.app, &chaka_enrollment, &target.key).await;
    // Djeneba's answer was for another week.
    cant_come(&w.app, &djeneba_enrollment, &earlier.key).await;

    // Before anything is recorded: excused for "I can't come", else nothing.
    let before = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_eq!(before["attendance_recorded_at"], Value::Null, "{before:#}");
    assert_eq!(walk_ins(&before), BTreeMap::new());
    assert_eq!(before["walk_ins_total"], 0);
    assert_attendance(
        &before,
        &[
            (&amina, Value::Null),
            (&bakary, json!("excused")),
            (&chaka, json!("excused")),
            (&djeneba, Value::Null),
        ],
    );

    // Chaka came after all; the others are not listed.
    let answered = record(
        &w.app,
        &w.manager,
        &session,
        &target.key,
        json!({"participants": [{"participant_id": id(&chaka), "status": "present"}]}),
    )
    .await;
    let expected = [
        (&amina, json!("absent")),
        (&bakary, json!("excused")),
        (&chaka, json!("present")),
        (&djeneba, json!("absent")),
    ];
    assert_attendance(&answered, &expected);
    let fetched = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_attendance(&fetched, &expected);
    assert!(fetched["attendance_recorded_at"].is_string(), "{fetched:#}");

    // An empty body is a valid sheet: nobody came.
    let nobody = record(&w.app, &w.app.admin, &session, &target.key, json!({})).await;
    assert_attendance(
        &nobody,
        &[
            (&amina, json!("absent")),
            (&bakary, json!("excused")),
            (&chaka, json!("excused")),
            (&djeneba, json!("absent")),
        ],
    );

    // A recorded participant whose enrollment was cancelled since stays on the roster,
    // with a cancelled status and the recorded attendance; they may still be listed.
    let cancelled = w
        .app
        .delete(
            &format!("/api/v1/enrollments/{amina_enrollment}"),
            &w.worker,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    let after_cancel = roster(&w.app, &w.manager, &session, &target.key).await;
    assert_eq!(line(&after_cancel, &amina)["status"], "cancelled");
    assert_eq!(line(&after_cancel, &amina)["attendance"], "absent");
    let relisted = record(
        &w.app,
        &w.manager,
        &session,
        &target.key,
        json!({"participants": [{"code": code(&amina), "status": "present"}]}),
    )
    .await;
    assert_eq!(line(&relisted, &amina)["status"], "cancelled");
    assert_eq!(line(&relisted, &amina)["attendance"], "present");
    assert_attendance(
        &relisted,
        &[
            (&bakary, json!("excused")),
            (&chaka, json!("excused")),
            (&djeneba, json!("absent")),
        ],
    );
    // Replaced again without her: she holds no place, so she is no longer recorded and
    // no longer on the roster.
    let without = record(&w.app, &w.manager, &session, &target.key, json!({})).await;
    assert!(!has_line(&without, &amina), "{without:#}");

    // Waitlisted people are not defaulted to absent, but may be recorded when they came.
    let (small, small_occurrences) = past_weekly(
        &w.app,
        &w.club,
        &w.manager,
        10,
        json!({"capacity": 1, "title": "Petit groupe"}),
    )
    .await;
    let small_past = started(&small_occurrences);
    let key = small_past.last().unwrap().key.clone();
    let emma = participant(&w, "Emma", json!({})).await;
    let farid = participant(&w, "Farid", json!({})).await;
    enrol_confirmed(&w.app, &small, &emma, &small_past[0].key).await;
    let (_, status) = enrol(&w.app, &small, &farid, &small_past[0].key).await;
    assert_eq!(status, "waitlisted");
    let sheet = record(&w.app, &w.manager, &small, &key, json!({})).await;
    assert_eq!(line(&sheet, &emma)["attendance"], "absent", "{sheet:#}");
    assert_eq!(line(&sheet, &farid)["status"], "waitlisted");
    assert_eq!(line(&sheet, &farid)["attendance"], Value::Null, "{sheet:#}");
    let sheet = record(
        &w.app,
        &w.manager,
        &small,
        &key,
        json!({"participants": [{"participant_id": id(&farid), "status": "present"}]}),
    )
    .await;
    assert_eq!(line(&sheet, &farid)["attendance"], "present", "{sheet:#}");
    assert_eq!(line(&sheet, &emma)["attendance"], "absent", "{sheet:#}");
}

// ---------------------------------------------------------------------------------
// When attendance may be recorded

#[tokio::test]
async fn attendance_opens_at_the_start_and_closes_for_the_club_after_thirty_days() {
    let w = world().await;
    // Occurrences 45, 38, 31, 24, 17, 10 and 3 days ago, then in 4 days.
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 45, json!({})).await;
    let past = started(&occurrences);
    assert_eq!(past.len(), 7, "{past:#?}");
    let amina = participant(&w, "Amina", json!({})).await;
    enrol_confirmed(&w.app, &session, &amina, &past[0].key).await;
    let present = json!({"participants": [{"participant_id": id(&amina), "status": "present"}]});

    // Not before the start, not even for admin.
    let next = upcoming(&occurrences);
    for token in [&w.manager, &w.app.admin] {
        let early = put_attendance(&w.app, Some(token), &session, &next.key, present.clone()).await;
        assert_problem(&early, 409, None);
    }
    let untouched = roster(&w.app, &w.manager, &session, &next.key).await;
    assert_eq!(untouched["attendance_recorded_at"], Value::Null);

    // It opens at the start itself: a one-off session starting in a few seconds.
    let start = (Utc::now() + Duration::seconds(3)).trunc_subsecs(0);
    let soon = w
        .app
        .weekly_session(
            &w.club,
            &w.manager,
            json!({
                "start": start.with_timezone(&Paris).naive_local().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "rrule": null,
                "title": "Séance d'essai",
            }),
        )
        .await;
    let soon_key = start.format("%Y%m%dT%H%M%SZ").to_string();
    let early = put_attendance(&w.app, Some(&w.manager), &soon, &soon_key, json!({})).await;
    assert_problem(&early, 409, None);
    let wait = (start - Utc::now() + Duration::milliseconds(1100))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    let opened = record(&w.app, &w.manager, &soon, &soon_key, json!({})).await;
    assert!(opened["attendance_recorded_at"].is_string(), "{opened:#}");

    // The club's manager, from the start up to 30 days after it.
    for occurrence in &past[3..] {
        let sheet = record(
            &w.app,
            &w.manager,
            &session,
            &occurrence.key,
            present.clone(),
        )
        .await;
        assert_eq!(line(&sheet, &amina)["attendance"], "present");
    }

    // Beyond 30 days: programme staff only.
    for occurrence in &past[..3] {
        let late = put_attendance(
            &w.app,
            Some(&w.manager),
            &session,
            &occurrence.key,
            present.clone(),
        )
        .await;
        assert_problem(&late, 403, None);
        let still = roster(&w.app, &w.manager, &session, &occurrence.key).await;
        assert_eq!(still["attendance_recorded_at"], Value::Null, "{still:#}");
        let sheet = record(
            &w.app,
            &w.app.admin,
            &session,
            &occurrence.key,
            present.clone(),
        )
        .await;
        assert_eq!(line(&sheet, &amina)["attendance"], "present");
    }
    // Correcting an old sheet is staff's too.
    let correction =
        put_attendance(&w.app, Some(&w.manager), &session, &past[0].key, json!({})).await;
    assert_problem(&correction, 403, None);
    let kept = roster(&w.app, &w.manager, &session, &past[0].key).await;
    assert_eq!(line(&kept, &amina)["attendance"], "present");

    // A cancelled occurrence has no attendance.
    let (other, other_occurrences) = past_weekly(&w.app, &w.club, &w.manager, 10, json!({})).await;
    let other_past = started(&other_occurrences);
    let cancelled_key = other_past[0].key.clone();
    let cancel = w
        .app
        .patch(
            &format!("/api/v1/sessions/{other}/occurrences/{cancelled_key}"),
            &w.manager,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{cancel:?}");
    for token in [&w.manager, &w.app.admin] {
        let refused = put_attendance(&w.app, Some(token), &other, &cancelled_key, json!({})).await;
        assert_problem(&refused, 409, None);
    }
    let cancelled_roster = roster(&w.app, &w.manager, &other, &cancelled_key).await;
    assert_eq!(cancelled_roster["attendance_recorded_at"], Value::Null);

    // A moved occurrence opens at its new start: the next one moved to yesterday is
    // open, the one of 3 days ago moved to tomorrow is not.
    let other_next = upcoming(&other_occurrences);
    let yesterday = today_in_paris() - Duration::days(1);
    let tomorrow = today_in_paris() + Duration::days(1);
    for (key, day) in [
        (&other_next.key, yesterday),
        (&other_past.last().unwrap().key, tomorrow),
    ] {
        let moved = w
            .app
            .patch(
                &format!("/api/v1/sessions/{other}/occurrences/{key}"),
                &w.manager,
                json!({"start": format!("{day}T18:30:00")}),
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
        assert_eq!(moved.body["status"], "moved", "{moved:?}");
    }
    let moved_earlier = record(&w.app, &w.manager, &other, &other_next.key, json!({})).await;
    assert!(moved_earlier["attendance_recorded_at"].is_string());
    let moved_later = put_attendance(
        &w.app,
        Some(&w.manager),
        &other,
        &other_past.last().unwrap().key,
        json!({}),
    )
    .await;
    assert_problem(&moved_later, 409, None);
}

// ---------------------------------------------------------------------------------
// Who may record

#[tokio::test]
async fn only_the_clubs_manager_or_staff_record_attendance() {
    let w = world().await;
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 10, json!({})).await;
    let past = started(&occurrences);
    let key = past.last().unwrap().key.clone();
    let amina = participant(&w, "Amina", json!({})).await;
    enrol_confirmed(&w.app, &session, &amina, &past[0].key).await;
    let body = json!({"participants": [{"participant_id": id(&amina), "status": "present"}]});

    let elsewhere = w.app.club("Boxe Club Pantin", "Pantin", &["boxe"]).await;
    let other_manager = w.app.user("club_manager", Some(&elsewhere), None).await;
    assert_problem(
        &put_attendance(&w.app, Some(&other_manager), &session, &key, body.clone()).await,
        403,
        None,
    );
    assert_problem(
        &put_attendance(&w.app, Some(&w.worker), &session, &key, body.clone()).await,
        403,
        None,
    );
    let anonymous = put_attendance(&w.app, None, &session, &key, body.clone()).await;
    assert_problem(&anonymous, 401, None);
    let unknown_session = Uuid::new_v4().to_string();
    assert_problem(
        &put_attendance(
            &w.app,
            Some(&w.app.admin),
            &unknown_session,
            &key,
            body.clone(),
        )
        .await,
        404,
        None,
    );
    // A key an hour off the rule, another session's key, and no key at all.
    let off_rule: OccurrenceKey = key.parse().unwrap();
    let off_rule = OccurrenceKey::new(off_rule.original_start() - Duration::hours(1)).to_string();
    for bad_key in [off_rule.as_str(), "20200101T000000Z", "yesterday"] {
        assert_problem(
            &put_attendance(&w.app, Some(&w.app.admin), &session, bad_key, body.clone()).await,
            404,
            None,
        );
    }
    let nothing = roster(&w.app, &w.manager, &session, &key).await;
    assert_eq!(
        nothing["attendance_recorded_at"],
        Value::Null,
        "{nothing:#}"
    );
    assert_eq!(line(&nothing, &amina)["attendance"], Value::Null);

    // The club's manager and staff may.
    let sheet = record(&w.app, &w.manager, &session, &key, body.clone()).await;
    assert_eq!(line(&sheet, &amina)["attendance"], "present");
    let sheet = record(
        &w.app,
        &w.app.admin,
        &session,
        &key,
        json!({"participants": [{"participant_id": id(&amina), "status": "absent"}]}),
    )
    .await;
    assert_eq!(line(&sheet, &amina)["attendance"], "absent");
}

// ---------------------------------------------------------------------------------
// Bad input

#[tokio::test]
async fn bad_sheets_are_refused_naming_the_field_and_change_nothing() {
    let w = world().await;
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 10, json!({})).await;
    let past = started(&occurrences);
    let key = past.last().unwrap().key.clone();
    let amina = participant(&w, "Amina", json!({})).await;
    let bakary = participant(&w, "Bakary", json!({})).await;
    let erased = participant(&w, "Chaka", json!({})).await;
    for p in [&amina, &bakary, &erased] {
        enrol_confirmed(&w.app, &session, p, &past[0].key).await;
    }
    // Enrolled in another session only.
    let (other_session, other_occurrences) = past_weekly(
        &w.app,
        &w.club,
        &w.manager,
        10,
        json!({"title": "Autre séance"}),
    )
    .await;
    let stranger = participant(&w, "Djeneba", json!({})).await;
    enrol_confirmed(
        &w.app,
        &other_session,
        &stranger,
        &started(&other_occurrences)[0].key,
    )
    .await;
    // Enrolled here, then erased at their request.
    let gone = w
        .app
        .delete(&format!("/api/v1/participants/{}", id(&erased)), &w.worker)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{gone:?}");

    let answered = record(
        &w.app,
        &w.manager,
        &session,
        &key,
        json!({
            "participants": [
                {"participant_id": id(&amina), "status": "present"},
                {"participant_id": id(&bakary), "status": "excused"},
            ],
            "walk_ins": [{"count": 2, "situation": "street"}]
        }),
    )
    .await;
    let baseline = normalised(&roster(&w.app, &w.manager, &session, &key).await);
    assert_eq!(baseline, normalised(&answered));
    assert_eq!(line(&baseline, &amina)["attendance"], "present");

    // Each bad sheet also carries valid changes, which must not be half-written.
    let amina_absent = json!({"participant_id": id(&amina), "status": "absent"});
    let walk_in = json!({"count": 5, "situation": "student"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"participants": [{"participant_id": id(&stranger), "status": "present"}]}),
            "participants[0].participant_id",
        ),
        (
            json!({"participants": [{"code": code(&stranger), "status": "present"}]}),
            "participants[0].code",
        ),
        (
            json!({"participants": [amina_absent, {"code": code(&stranger), "status": "present"}],
                   "walk_ins": [walk_in]}),
            "participants[1].code",
        ),
        (
            json!({"participants": [amina_absent,
                                    {"participant_id": Uuid::new_v4(), "status": "present"}]}),
            "participants[1].participant_id",
        ),
        (
            json!({"participants": [{"code": "ZZZZZZ", "status": "present"}]}),
            "participants[0].code",
        ),
        (
            json!({"participants": [{"participant_id": id(&erased), "status": "present"}]}),
            "participants[0].participant_id",
        ),
        (
            json!({"participants": [{"code": code(&erased), "status": "present"}]}),
            "participants[0].code",
        ),
        (
            json!({"participants": [amina_absent, {"participant_id": id(&amina), "status": "present"}]}),
            "participants[1]",
        ),
        (
            json!({"participants": [amina_absent, {"code": code(&amina), "status": "absent"}]}),
            "participants[1]",
        ),
        (
            json!({"participants": [{"status": "present"}], "walk_ins": [walk_in]}),
            "participants[0]",
        ),
        (
            json!({"participants": [{"participant_id": id(&amina), "code": code(&amina), "status": "absent"}]}),
            "participants[0]",
        ),
        (
            json!({"participants": [amina_absent, {"participant_id": id(&bakary), "status": "late"}]}),
            "participants[1].status",
        ),
        (
            json!({"participants": [{"participant_id": id(&bakary)}]}),
            "participants[0].status",
        ),
        (
            json!({"participants": [amina_absent], "walk_ins": [{"count": 1, "situation": "rich"}]}),
            "walk_ins[0].situation",
        ),
        (
            json!({"participants": [amina_absent],
                   "walk_ins": [walk_in, {"count": 1, "situation": "homeless"}]}),
            "walk_ins[1].situation",
        ),
        (
            json!({"participants": [amina_absent], "walk_ins": [{"count": -1}]}),
            "walk_ins[0].count",
        ),
        (
            json!({"walk_ins": [walk_in, {"count": 201, "situation": "street"}]}),
            "walk_ins[1].count",
        ),
        (
            json!({"walk_ins": [{"count": 1_000_000_000_000_i64}]}),
            "walk_ins[0].count",
        ),
    ];
    for (body, field) in cases {
        let refused = put_attendance(&w.app, Some(&w.manager), &session, &key, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {refused:?}"
        );
        assert_problem(&refused, 422, Some(field));
        let after = normalised(&roster(&w.app, &w.manager, &session, &key).await);
        assert_eq!(after, baseline, "{body} changed the recorded attendance");
    }
    // The bounds themselves are fine.
    let edge = record(
        &w.app,
        &w.manager,
        &session,
        &key,
        json!({"walk_ins": [{"count": 200, "situation": "other"}, {"count": 0}]}),
    )
    .await;
    assert_eq!(
        walk_ins(&edge),
        BTreeMap::from([("other".to_owned(), 200)]),
        "{edge:#}"
    );
    assert_eq!(edge["walk_ins_total"], 200);
}

// ---------------------------------------------------------------------------------
// Privacy

#[tokio::test]
async fn the_roster_and_the_sheet_show_no_contact_details_nor_situation() {
    let w = world().await;
    let (session, occurrences) = past_weekly(&w.app, &w.club, &w.manager, 10, json!({})).await;
    let past = started(&occurrences);
    let key = past.last().unwrap().key.clone();
    let email = format!("amina.{}@example.net", Uuid::new_v4().simple());
    let amina = participant(
        &w,
        "Amina",
        json!({"last_name": "Konaté", "email": email, "phone": "+33 6 98 76 54 32",
               "situation": "isolated_senior", "notes": "Suivi médical en cours"}),
    )
    .await;
    let bakary = participant(
        &w,
        "Bakary",
        json!({"last_name": "Traoré", "email": null, "phone": "+33 7 11 22 33 44",
               "situation": "young_care_leaver"}),
    )
    .await;
    for p in [&amina, &bakary] {
        enrol_confirmed(&w.app, &session, p, &past[0].key).await;
    }
    let before = roster(&w.app, &w.manager, &session, &key).await;
    let sheet = record(
        &w.app,
        &w.manager,
        &session,
        &key,
        json!({"participants": [{"code": code(&amina), "status": "present"}],
               "walk_ins": [{"count": 1, "situation": "street"}]}),
    )
    .await;
    let after = roster(&w.app, &w.app.admin, &session, &key).await;
    for roster in [&before, &sheet, &after] {
        let text = roster.to_string();
        for secret in [
            email.as_str(),
            "+33 6 98 76 54 32",
            "98 76 54 32",
            "+33 7 11 22 33 44",
            "isolated_senior",
            "young_care_leaver",
            "Konaté",
            "Traoré",
            "Suivi médical",
        ] {
            assert!(!text.contains(secret), "{secret} on a roster: {text}");
        }
        for line in roster["participants"].as_array().expect("participants") {
            for field in ["email", "phone", "situation", "notes", "last_name"] {
                assert!(
                    line.get(field).is_none(),
                    "{field} on a roster line: {line}"
                );
            }
        }
    }
    assert_eq!(line(&sheet, &amina)["first_name"], "Amina");
    assert_eq!(line(&sheet, &amina)["last_name_initial"], "K.");
    assert_eq!(line(&sheet, &amina)["code"], code(&amina));
}

// ---------------------------------------------------------------------------------
// A participant's history, for the social worker

#[tokio::test]
async fn the_social_worker_follows_a_participants_attendance() {
    let w = world().await;
    let pantin = w.app.club("Boxe Club Pantin", "Pantin", &["boxe"]).await;
    // Football 45, 38, 31, 24, 17, 10 and 3 days ago; boxing 47, 40, …, 12 and 5 days ago.
    let (football, football_dates) =
        past_weekly(&w.app, &w.club, &w.app.admin, 45, json!({})).await;
    let (boxing, boxing_dates) = past_weekly(
        &w.app,
        &pantin,
        &w.app.admin,
        47,
        json!({"title": "Boxe éducative", "sport": "boxe"}),
    )
    .await;
    let football_dates = started(&football_dates);
    let boxing_dates = started(&boxing_dates);
    let amina = participant(&w, "Amina", json!({})).await;
    enrol_confirmed(&w.app, &football, &amina, &football_dates[0].key).await;
    enrol_confirmed(&w.app, &boxing, &amina, &boxing_dates[0].key).await;

    let sheet =
        |status: &str| json!({"participants": [{"participant_id": id(&amina), "status": status}]});
    // Recorded out of order: the history is ordered by occurrence, not by recording.
    let plan = [
        (&football, &football_dates[5], "absent"),  // 10 days ago
        (&boxing, &boxing_dates[4], "excused"),     // 19 days ago
        (&football, &football_dates[3], "present"), // 24 days ago
        (&boxing, &boxing_dates[5], "absent"),      // 12 days ago
        (&football, &football_dates[4], "present"), // 17 days ago
    ];
    for (session, occurrence, status) in plan {
        record(
            &w.app,
            &w.app.admin,
            session,
            &occurrence.key,
            sheet(status),
        )
        .await;
    }

    let answer = w.app.get(&history_path(&amina), &w.worker).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let history = &answer.body;
    assert_eq!(history["participant_id"], id(&amina));
    assert_eq!(history["present"], 2, "{history:#}");
    assert_eq!(history["absent"], 2);
    assert_eq!(history["excused"], 1);
    assert_eq!(history["unexcused_absence_streak"], 2);
    let records = history["records"].as_array().expect("records");
    let expected = [
        (
            &football,
            &football_dates[5],
            "absent",
            &w.club,
            "AS Bondy",
            "football",
            "Football loisir",
        ),
        (
            &boxing,
            &boxing_dates[5],
            "absent",
            &pantin,
            "Boxe Club Pantin",
            "boxe",
            "Boxe éducative",
        ),
        (
            &football,
            &football_dates[4],
            "present",
            &w.club,
            "AS Bondy",
            "football",
            "Football loisir",
        ),
        (
            &boxing,
            &boxing_dates[4],
            "excused",
            &pantin,
            "Boxe Club Pantin",
            "boxe",
            "Boxe éducative",
        ),
        (
            &football,
            &football_dates[3],
            "present",
            &w.club,
            "AS Bondy",
            "football",
            "Football loisir",
        ),
    ];
    assert_eq!(records.len(), expected.len(), "{history:#}");
    for (got, (session, occurrence, status, club, club_name, sport, title)) in
        records.iter().zip(expected)
    {
        assert_eq!(got["session_id"], session.as_str(), "{history:#}");
        assert_eq!(
            got["occurrence_key"],
            occurrence.key.as_str(),
            "{history:#}"
        );
        let start = got["start"].as_str().expect("a start");
        assert_eq!(
            DateTime::parse_from_rfc3339(start).expect("RFC 3339 with offset"),
            occurrence.start
        );
        assert_eq!(start, occurrence.start_text, "local time with its offset");
        assert_eq!(got["status"], status);
        assert_eq!(got["club_id"], club.as_str());
        assert_eq!(got["club_name"], club_name);
        assert_eq!(got["sport"], sport);
        assert_eq!(got["session_title"], title);
        let recorded = got["recorded_at"].as_str().expect("recorded_at");
        DateTime::parse_from_rfc3339(recorded).expect("RFC 3339");
    }

    // A present ends the streak; an excused one too.
    record(
        &w.app,
        &w.app.admin,
        &football,
        &football_dates[6].key,
        sheet("present"),
    )
    .await;
    let history = w.app.get(&history_path(&amina), &w.worker).await.body;
    assert_eq!(history["present"], 3, "{history:#}");
    assert_eq!(history["unexcused_absence_streak"], 0);
    assert_eq!(
        history["records"][0]["occurrence_key"],
        football_dates[6].key.as_str()
    );
    record(
        &w.app,
        &w.app.admin,
        &boxing,
        &boxing_dates[6].key,
        sheet("absent"),
    )
    .await;
    let history = w.app.get(&history_path(&amina), &w.worker).await.body;
    // Boxing 5 days ago comes before football 3 days ago: the streak is 0.
    assert_eq!(
        history["records"][0]["occurrence_key"],
        football_dates[6].key.as_str()
    );
    assert_eq!(
        history["records"][1]["occurrence_key"],
        boxing_dates[6].key.as_str()
    );
    assert_eq!(history["unexcused_absence_streak"], 0, "{history:#}");
    assert_eq!(history["absent"], 3);

    // Someone never recorded has an empty history.
    let bakary = participant(&w, "Bakary", json!({})).await;
    let empty = w.app.get(&history_path(&bakary), &w.worker).await;
    assert_eq!(empty.status, StatusCode::OK, "{empty:?}");
    assert_eq!(empty.body["present"], 0);
    assert_eq!(empty.body["absent"], 0);
    assert_eq!(empty.body["excused"], 0);
    assert_eq!(empty.body["unexcused_absence_streak"], 0);
    assert_eq!(empty.body["records"], json!([]));

    // Who may read it.
    let elsewhere = w.app.structure("Foyer Bobigny").await;
    let stranger = w.app.user("social_worker", None, Some(&elsewhere)).await;
    assert_problem(
        &w.app.get(&history_path(&amina), &stranger).await,
        404,
        None,
    );
    let manager = w.app.get(&history_path(&amina), &w.manager).await;
    assert_problem(&manager, 403, None);
    let anonymous = w
        .app
        .call(Method::GET, &history_path(&amina), None, None)
        .await;
    assert_problem(&anonymous, 401, None);
    let admin = w.app.get(&history_path(&amina), &w.app.admin).await;
    assert_eq!(admin.status, StatusCode::OK, "{admin:?}");
    assert_eq!(admin.body["records"].as_array().unwrap().len(), 7);
    let unknown = w
        .app
        .get(
            &format!("/api/v1/participants/{}/attendance", Uuid::new_v4()),
            &w.app.admin,
        )
        .await;
    assert_problem(&unknown, 404, None);
}

// ---------------------------------------------------------------------------------
// Follow-up email after two absences in a row

#[tokio::test(flavor = "multi_thread")]
async fn two_clubs_recording_at_once_still_alert_the_social_worker() {
    let w = world().await;
    let pantin = w.app.club("Boxe Club Pantin", "Pantin", &["boxe"]).await;
    // Every day: boxing at 10:00 in Pantin, running at 18:30 in Bondy.
    let (running, running_dates) = past_daily(
        &w.app,
        &w.club,
        &w.app.admin,
        25,
        "18:30:00",
        json!({"capacity": 40}),
    )
    .await;
    let (boxing, boxing_dates) = past_daily(
        &w.app,
        &pantin,
        &w.app.admin,
        25,
        "10:00:00",
        json!({"capacity": 40, "title": "Boxe éducative", "sport": "boxe"}),
    )
    .await;
    let running_dates = started(&running_dates);
    let boxing_dates = started(&boxing_dates);
    let mut people = Vec::new();
    for i in 0..20 {
        let p = participant(&w, &format!("Personne{i}"), json!({})).await;
        enrol_confirmed(&w.app, &running, &p, &running_dates[0].key).await;
        enrol_confirmed(&w.app, &boxing, &p, &boxing_dates[0].key).await;
        people.push(p);
    }
    let everyone = |status: &str| {
        json!({"participants": people.iter()
            .map(|p| json!({"participant_id": id(p), "status": status}))
            .collect::<Vec<_>>()})
    };
    // Round after round: everyone comes running (no streak), then misses both sessions
    // of a later day, whose sheets the two clubs send at the same moment.
    let rounds = 8;
    for round in 0..rounds {
        let day = 3 * round;
        record(
            &w.app,
            &w.app.admin,
            &running,
            &running_dates[day].key,
            everyone("present"),
        )
        .await;
        let (a, b) = tokio::join!(
            put_attendance(
                &w.app,
                Some(&w.app.admin),
                &boxing,
                &boxing_dates[day + 1].key,
                json!({})
            ),
            put_attendance(
                &w.app,
                Some(&w.app.admin),
                &running,
                &running_dates[day + 1].key,
                json!({})
            ),
        );
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert_eq!(b.status, StatusCode::OK, "{b:?}");
        let history = w.app.get(&history_path(&people[0]), &w.worker).await.body;
        assert_eq!(history["unexcused_absence_streak"], 2, "{history:#}");
        let alerts = alerts_in_outbox(&w.app).await;
        assert_eq!(
            alerts.len(),
            people.len() * (round + 1),
            "round {round}: everyone is two absences in a row again, but only {} alerts were \
             written in all (two sheets recorded at the same moment did not see each other)",
            alerts.len()
        );
    }
}

#[tokio::test]
async fn an_absence_recorded_late_into_an_alerted_streak_sends_nothing_more() {
    let w = world().await;
    let (session, occurrences) =
        past_daily(&w.app, &w.club, &w.manager, 10, "18:30:00", json!({})).await;
    let past = started(&occurrences);
    let amina = participant(&w, "Amina", json!({})).await;
    enrol_confirmed(&w.app, &session, &amina, &past[0].key).await;
    let absent = json!({"participants": [{"participant_id": id(&amina), "status": "absent"}]});
    let n = past.len();
    // Present a week ago, then absent the last two days: one alert.
    record(
        &w.app,
        &w.manager,
        &session,
        &past[n - 8].key,
        json!({"participants": [{"participant_id": id(&amina), "status": "present"}]}),
    )
    .await;
    record(
        &w.app,
        &w.manager,
        &session,
        &past[n - 2].key,
        absent.clone(),
    )
    .await;
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 0);
    record(
        &w.app,
        &w.manager,
        &session,
        &past[n - 1].key,
        absent.clone(),
    )
    .await;
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 1);
    // The sheets of the days before are entered late: the same streak, only longer.
    for back in 3..=5 {
        record(
            &w.app,
            &w.manager,
            &session,
            &past[n - back].key,
            absent.clone(),
        )
        .await;
        let history = w.app.get(&history_path(&amina), &w.worker).await.body;
        assert_eq!(
            history["unexcused_absence_streak"], back as i64,
            "{history:#}"
        );
        let alerts = alerts_in_outbox(&w.app).await;
        assert_eq!(
            alerts.len(),
            1,
            "a second alert for the same streak (now {back} absences long): {alerts:#?}"
        );
    }
}

#[tokio::test]
async fn a_long_streak_sends_one_alert_only() {
    let w = world().await;
    let (session, occurrences) =
        past_daily(&w.app, &w.club, &w.manager, 26, "18:30:00", json!({})).await;
    let past = started(&occurrences);
    assert!(past.len() >= 25, "{past:#?}");
    let amina = participant(&w, "Amina", json!({})).await;
    enrol_confirmed(&w.app, &session, &amina, &past[0].key).await;
    let absent = json!({"participants": [{"participant_id": id(&amina), "status": "absent"}]});
    // Absent day after day, recorded day after day.
    for (day, occurrence) in past.iter().take(25).enumerate() {
        record(
            &w.app,
            &w.manager,
            &session,
            &occurrence.key,
            absent.clone(),
        )
        .await;
        let alerts = alerts_in_outbox(&w.app).await;
        let expected = usize::from(day >= 1);
        assert_eq!(
            alerts.len(),
            expected,
            "after {} absences in a row: {alerts:#?}",
            day + 1
        );
    }
    let history = w.app.get(&history_path(&amina), &w.worker).await.body;
    assert_eq!(history["unexcused_absence_streak"], 25, "{history:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_absences_in_a_row_alert_the_social_worker_once_per_streak() {
    let w = world_with(Some(SmtpServer::start())).await;
    let smtp = w.smtp.as_ref().unwrap();
    let pantin = w.app.club("Boxe Club Pantin", "Pantin", &["boxe"]).await;
    let (football, football_dates) = past_weekly(&w.app, &w.club, &w.manager, 45, json!({})).await;
    let (boxing, boxing_dates) = past_weekly(
        &w.app,
        &pantin,
        &w.app.admin,
        47,
        json!({"title": "Boxe éducative", "sport": "boxe"}),
    )
    .await;
    let football_dates = started(&football_dates);
    let boxing_dates = started(&boxing_dates);
    let amina = participant(
        &w,
        "Amina",
        json!({"situation": "migrant", "last_name": "Diallo"}),
    )
    .await;
    let bakary = participant(&w, "Bakary", json!({"situation": "street"})).await;
    enrol_confirmed(&w.app, &football, &amina, &football_dates[0].key).await;
    enrol_confirmed(&w.app, &football, &bakary, &football_dates[0].key).await;
    enrol_confirmed(&w.app, &boxing, &amina, &boxing_dates[0].key).await;

    let football_sheet = |amina_status: &str| {
        json!({"participants": [
            {"participant_id": id(&amina), "status": amina_status},
            {"participant_id": id(&bakary), "status": "present"},
        ]})
    };
    let boxing_sheet =
        |status: &str| json!({"participants": [{"participant_id": id(&amina), "status": status}]});

    // One absence: nothing.
    record(
        &w.app,
        &w.app.admin,
        &football,
        &football_dates[3].key,
        football_sheet("absent"),
    )
    .await; // 24 days ago
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 0);
    // A second one in a row, at another club: one alert.
    record(
        &w.app,
        &w.app.admin,
        &boxing,
        &boxing_dates[4].key,
        boxing_sheet("absent"),
    )
    .await; // 19 days ago
    let alerts = alerts_in_outbox(&w.app).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["audience"], "referrer", "{alerts:#?}");
    // A third in the same streak, and the same sheet again: nothing more.
    let third = record(
        &w.app,
        &w.manager,
        &football,
        &football_dates[4].key,
        football_sheet("absent"),
    )
    .await; // 17 days ago
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 1);
    let again = record(
        &w.app,
        &w.manager,
        &football,
        &football_dates[4].key,
        football_sheet("absent"),
    )
    .await;
    assert_eq!(again, third);
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 1);
    let first_alert = wait_for_alerts(smtp, 1).await;
    assert_eq!(first_alert.len(), 1);

    // A present ends the streak; two new absences make a new one.
    record(
        &w.app,
        &w.app.admin,
        &boxing,
        &boxing_dates[5].key,
        boxing_sheet("present"),
    )
    .await; // 12 days ago
    record(
        &w.app,
        &w.manager,
        &football,
        &football_dates[5].key,
        football_sheet("absent"),
    )
    .await; // 10 days ago
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 1);
    record(
        &w.app,
        &w.manager,
        &football,
        &football_dates[6].key,
        football_sheet("absent"),
    )
    .await; // 3 days ago
    let alerts = alerts_in_outbox(&w.app).await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert!(alerts.iter().all(|a| a["audience"] == "referrer"));
    // Re-sending the last sheet sends nothing more.
    record(
        &w.app,
        &w.manager,
        &football,
        &football_dates[6].key,
        football_sheet("absent"),
    )
    .await;
    assert_eq!(alerts_in_outbox(&w.app).await.len(), 2);

    let got = wait_for_alerts(smtp, 2).await;
    outbox_drained(&w.app).await;
    let got_after = alerts_received(smtp);
    assert_eq!(got_after.len(), 2, "exactly two follow-up emails");
    assert_eq!(got.len(), 2);
    let all = smtp.received();
    for message in &got {
        assert_eq!(to(message), w.worker_email);
        assert_eq!(message.to.len(), 1);
        let subject = subject(message);
        assert!(subject.contains("Amina D."), "{subject}");
    }
    // Bakary, always present, caused none; Amina's own address got none.
    assert!(all
        .iter()
        .filter(|m| to(m) != w.worker_email)
        .all(|m| !subject(m).starts_with(ALERT_SUBJECT)));
    // Each names the two missed dates of its streak, in local time.
    let missed = [
        [&football_dates[3], &boxing_dates[4]],
        [&football_dates[5], &football_dates[6]],
    ];
    for (message, missed) in got.iter().zip(missed) {
        let text = body_of(message, "text/plain").expect("a text/plain part");
        for occurrence in missed {
            let date = french::date_time(occurrence.start.naive_local());
            assert!(text.contains(&date), "{date} not in {text}");
        }
    }
    for message in &got {
        let text = body_of(message, "text/plain").expect("a text/plain part");
        assert!(text.contains("Amina D."), "{text}");
        assert!(text.contains(code(&amina)), "{text}");
        assert!(
            text.contains("contact@club.example.org") || text.contains("+33 1 23 45 67 89"),
            "the club's contact: {text}"
        );
        assert!(body_of(message, "text/html").is_some(), "an HTML part");
        let lower = message.data.to_lowercase();
        // Neither the situation nor the last name.
        for word in ["migrant", "diallo"] {
            assert!(!lower.contains(word), "{word} in a follow-up email: {text}");
        }
    }
    let outbox_alerts = alerts_in_outbox(&w.app).await;
    assert_eq!(outbox_alerts.len(), 2);
    assert!(
        outbox_alerts.iter().all(|a| a["status"] == "sent"),
        "{outbox_alerts:#?}"
    );
    // Last, so that every other check ran: the subject, sport and club as every message writes them.
    assert_eq!(
        subject(&got[1]),
        "Deux absences de suite : Amina D. — Football — AS Bondy"
    );
}
