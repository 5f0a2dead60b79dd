//! Enrollments, places, waitlists and rosters, over HTTP.

mod common;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Enrollment in an occurrence closes this long before it starts (the default).
const CLOSES_HOURS_BEFORE: i64 = 2;

/// The next Tuesday 18:30 Paris still open for enrollment: its date (Paris) and key.
fn next_tuesday() -> (NaiveDate, String) {
    let now = Utc::now();
    let mut day = now.with_timezone(&Paris).date_naive();
    loop {
        if day.format("%a").to_string() == "Tue" {
            let start: DateTime<Utc> = Paris
                .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(18, 30, 0).unwrap()))
                .single()
                .expect("18:30 exists")
                .with_timezone(&Utc);
            if now < start - Duration::hours(CLOSES_HOURS_BEFORE) {
                return (day, key(start));
            }
        }
        day = day.succ_opt().unwrap();
    }
}

fn key(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The key `weeks` weeks after `k` (same UTC time: no daylight-saving change in winter).
fn weeks_after(k: &str, weeks: i64) -> String {
    let at = chrono::NaiveDateTime::parse_from_str(k, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    key(at + Duration::weeks(weeks))
}

struct World {
    app: TestApp,
    club: String,
    manager: String,
    worker: String,
    other_worker: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_structure = app.structure("Foyer").await;
    let other_worker = app
        .user("social_worker", None, Some(&other_structure))
        .await;
    World {
        app,
        club,
        manager,
        worker,
        other_worker,
    }
}

async fn participant(app: &TestApp, token: &str, first_name: &str, last_name: &str) -> Answer {
    let answer = app
        .post(
            "/api/v1/participants",
            token,
            json!({
                "first_name": first_name,
                "last_name": last_name,
                "email": format!("{}@private.example.net", uuid::Uuid::new_v4().simple()),
                "phone": "+33 6 98 76 54 32",
                "language": "fr",
                "birth_year": 1985,
                "situation": "migrant",
                "consent": true,
                "notes": "Confidential note about housing"
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer
}

async fn enrol(app: &TestApp, token: &str, participant_id: &str, session_id: &str) -> Answer {
    app.post(
        "/api/v1/enrollments",
        token,
        json!({"participant_id": participant_id, "session_id": session_id}),
    )
    .await
}

async fn enrolled(app: &TestApp, token: &str, participant_id: &str, session_id: &str) -> Answer {
    let answer = enrol(app, token, participant_id, session_id).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer
}

async fn enrollment(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app.get(&format!("/api/v1/enrollments/{id}"), token).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

fn items(answer: &Answer) -> &Vec<Value> {
    answer.body["items"].as_array().expect("items")
}

/// The search across clubs for one club, over the month from the next Tuesday.
async fn search(app: &TestApp, token: &str, club: &str, extra: &str) -> Answer {
    let (from, _) = next_tuesday();
    let to = from + Duration::days(30);
    let answer = app
        .get(
            &format!("/api/v1/occurrences?from={from}&to={to}&club_id={club}{extra}"),
            token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer
}

async fn session_occurrences(app: &TestApp, token: &str, session: &str, from: NaiveDate) -> Answer {
    let to = from + Duration::days(30);
    let answer = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={from}&to={to}"),
            token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer
}

/// The answer's raw text, for what must not appear at all.
async fn raw_get(app: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(format!("{}{}", app.base, path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn post_with_key(app: &TestApp, token: &str, key: &str, body: Value) -> Answer {
    let response = app
        .client
        .post(format!("{}/api/v1/enrollments", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
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
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn keys_anywhere(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                found.push(k.clone());
                keys_anywhere(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_anywhere(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn a_series_enrollment_takes_a_place_in_every_coming_occurrence() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let untouched = app
        .weekly_session(&w.club, &w.manager, json!({"title": "Futsal"}))
        .await;
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let (date, next_key) = next_tuesday();

    let answer = enrol(app, &w.worker, &amina, &session).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let e = &answer.body;
    assert_eq!(e["status"], "confirmed");
    assert_eq!(e["scope"], "series");
    assert_eq!(e["from_key"], next_key.as_str());
    assert!(e["occurrence_key"].is_null(), "{e}");
    assert!(e["waitlist_position"].is_null(), "{e}");
    assert!(e["cancelled_at"].is_null(), "{e}");
    assert_eq!(e["participant_id"], amina.as_str());
    assert_eq!(e["session_id"], session.as_str());
    assert_eq!(
        enrollment(app, &w.worker, &answer.id()).await["status"],
        "confirmed"
    );

    let found = search(app, &w.worker, &w.club, "").await;
    let mine: Vec<&Value> = items(&found)
        .iter()
        .filter(|o| o["session_id"] == session.as_str())
        .collect();
    assert!(mine.len() >= 4, "{found:?}");
    assert_eq!(mine[0]["key"], next_key.as_str());
    for o in &mine {
        assert_eq!(o["capacity"], 6, "{o}");
        assert_eq!(o["places_left"], 5, "{o}");
    }
    let others: Vec<&Value> = items(&found)
        .iter()
        .filter(|o| o["session_id"] == untouched.as_str())
        .collect();
    assert!(!others.is_empty(), "{found:?}");
    assert!(others.iter().all(|o| o["places_left"] == 6), "{found:?}");

    // The session's own listing agrees; occurrences before the series keep every place.
    let listed = session_occurrences(app, &w.manager, &session, date - Duration::days(14)).await;
    let listed = items(&listed);
    assert!(listed.len() >= 5, "{listed:?}");
    for o in listed {
        let expected = if o["key"].as_str().unwrap() >= next_key.as_str() {
            5
        } else {
            6
        };
        assert_eq!(o["places_left"], expected, "{o}");
    }
    assert!(listed.iter().any(|o| o["places_left"] == 6), "{listed:?}");
    assert!(
        listed.iter().any(|o| o["key"] == next_key.as_str()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn a_full_session_waitlists_and_promotes_in_order() {
    let w = world().await;
    let app = &w.app;
    let session = app
        .weekly_session(&w.club, &w.manager, json!({"capacity": 2}))
        .await;
    let mut people = Vec::new();
    for (first, last) in [
        ("Amina", "Diallo"),
        ("Jo", "Martin"),
        ("Lina", "Bernard"),
        ("Paul", "Roux"),
    ] {
        people.push(participant(app, &w.worker, first, last).await.id());
    }
    let first = enrolled(app, &w.worker, &people[0], &session).await;
    let second = enrolled(app, &w.worker, &people[1], &session).await;
    assert_eq!(first.body["status"], "confirmed");
    assert_eq!(second.body["status"], "confirmed");
    let third = enrolled(app, &w.worker, &people[2], &session).await;
    assert_eq!(third.body["status"], "waitlisted", "{third:?}");
    assert_eq!(third.body["waitlist_position"], 1, "{third:?}");
    let fourth = enrolled(app, &w.worker, &people[3], &session).await;
    assert_eq!(fourth.body["status"], "waitlisted", "{fourth:?}");
    assert_eq!(fourth.body["waitlist_position"], 2, "{fourth:?}");

    // Full occurrences: no place left, and hidden when asking for places.
    let all = search(app, &w.worker, &w.club, "").await;
    assert!(!items(&all).is_empty(), "{all:?}");
    assert!(items(&all).iter().all(|o| o["places_left"] == 0), "{all:?}");
    let with_places = search(app, &w.worker, &w.club, "&with_places=true").await;
    assert_eq!(items(&with_places).len(), 0, "{with_places:?}");

    let cancelled = app
        .delete(&format!("/api/v1/enrollments/{}", first.id()), &w.worker)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["status"], "cancelled");
    assert!(cancelled.body["cancelled_at"].is_string(), "{cancelled:?}");

    let promoted = enrollment(app, &w.worker, &third.id()).await;
    assert_eq!(promoted["status"], "confirmed", "{promoted}");
    assert!(promoted["waitlist_position"].is_null(), "{promoted}");
    let next = enrollment(app, &w.worker, &fourth.id()).await;
    assert_eq!(next["status"], "waitlisted", "{next}");
    assert_eq!(next["waitlist_position"], 1, "{next}");
    assert_eq!(
        enrollment(app, &w.worker, &second.id()).await["status"],
        "confirmed"
    );

    // Still full: the freed place went to the waitlist.
    let with_places = search(app, &w.worker, &w.club, "&with_places=true").await;
    assert_eq!(items(&with_places).len(), 0, "{with_places:?}");

    // A cancelled waitlisted enrollment frees nothing; one more cancellation opens a place.
    let gone = app
        .delete(&format!("/api/v1/enrollments/{}", fourth.id()), &w.worker)
        .await;
    assert_eq!(gone.body["status"], "cancelled", "{gone:?}");
    let with_places = search(app, &w.worker, &w.club, "&with_places=true").await;
    assert_eq!(items(&with_places).len(), 0, "{with_places:?}");
    app.delete(&format!("/api/v1/enrollments/{}", second.id()), &w.worker)
        .await;
    let with_places = search(app, &w.worker, &w.club, "&with_places=true").await;
    assert!(!items(&with_places).is_empty(), "{with_places:?}");
    assert!(
        items(&with_places).iter().all(|o| o["places_left"] == 1),
        "{with_places:?}"
    );
}

#[tokio::test]
async fn one_occurrence_can_be_booked_alone() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let (date, next_key) = next_tuesday();
    let later = weeks_after(&next_key, 1);
    let cancelled_key = weeks_after(&next_key, 2);
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let jo = participant(app, &w.worker, "Jo", "Martin").await.id();

    let answer = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "occurrence_key": later}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["status"], "confirmed");
    assert_eq!(answer.body["scope"], "occurrence");
    assert_eq!(answer.body["occurrence_key"], later.as_str());
    assert_eq!(answer.body["from_key"], later.as_str());

    // Only that occurrence lost a place.
    let listed = session_occurrences(app, &w.worker, &session, date).await;
    for o in items(&listed) {
        let expected = if o["key"] == later.as_str() { 5 } else { 6 };
        assert_eq!(o["places_left"], expected, "{o}");
    }
    assert!(items(&listed).iter().any(|o| o["key"] == later.as_str()));

    let cancel = app
        .patch(
            &format!("/api/v1/sessions/{session}/occurrences/{cancelled_key}"),
            &w.manager,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{cancel:?}");
    let book = |key: String| {
        let session = session.clone();
        let jo = jo.clone();
        let worker = w.worker.clone();
        async move {
            app.post(
                "/api/v1/enrollments",
                &worker,
                json!({"participant_id": jo, "session_id": session, "occurrence_key": key}),
            )
            .await
        }
    };
    assert_problem(
        &book(cancelled_key.clone()).await,
        422,
        Some("occurrence_key"),
    );
    // A Wednesday: no occurrence has this key.
    let wednesday = chrono::NaiveDateTime::parse_from_str(&next_key, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
        + Duration::days(1);
    assert_problem(&book(key(wednesday)).await, 422, Some("occurrence_key"));
    // A past occurrence is closed.
    assert_problem(
        &book(weeks_after(&next_key, -1)).await,
        422,
        Some("occurrence_key"),
    );
    assert_problem(&book("tomorrow".into()).await, 422, Some("occurrence_key"));
    assert_problem(
        &book("20261301T173000Z".into()).await,
        422,
        Some("occurrence_key"),
    );
    // None of the refusals took a place or left an enrollment.
    let jos = app
        .get(
            &format!("/api/v1/enrollments?participant_id={jo}"),
            &w.worker,
        )
        .await;
    assert_eq!(jos.status, StatusCode::OK, "{jos:?}");
    assert_eq!(jos.body, json!([]), "{jos:?}");
    // The next occurrence is still bookable on its own.
    let ok = book(next_key.clone()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    assert_eq!(ok.body["occurrence_key"], next_key.as_str());
}

#[tokio::test]
async fn a_participant_holds_one_active_enrollment_per_session() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let other_session = app
        .weekly_session(&w.club, &w.manager, json!({"title": "Futsal"}))
        .await;
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let (_, next_key) = next_tuesday();

    let first = enrolled(app, &w.worker, &amina, &session).await;
    assert_problem(&enrol(app, &w.worker, &amina, &session).await, 409, None);
    let one_off = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "occurrence_key": weeks_after(&next_key, 1)}),
        )
        .await;
    assert_problem(&one_off, 409, None);
    // Another session is fine.
    enrolled(app, &w.worker, &amina, &other_session).await;

    let list = app
        .get(
            &format!("/api/v1/enrollments?participant_id={amina}&session_id={session}"),
            &w.worker,
        )
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1), "{list:?}");

    let cancelled = app
        .delete(&format!("/api/v1/enrollments/{}", first.id()), &w.worker)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = enrolled(app, &w.worker, &amina, &session).await;
    assert_eq!(again.body["status"], "confirmed");
    assert_ne!(again.id(), first.id());
    assert_problem(&enrol(app, &w.worker, &amina, &session).await, 409, None);

    // One place taken, not two.
    let found = search(app, &w.worker, &w.club, "").await;
    let mine: Vec<&Value> = items(&found)
        .iter()
        .filter(|o| o["session_id"] == session.as_str())
        .collect();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|o| o["places_left"] == 5), "{found:?}");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_answer() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let other_session = app
        .weekly_session(&w.club, &w.manager, json!({"title": "Futsal"}))
        .await;
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let body = json!({"participant_id": amina, "session_id": session});

    let first = post_with_key(app, &w.worker, "retry-7f3a", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let second = post_with_key(app, &w.worker, "retry-7f3a", body.clone()).await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    assert_eq!(second.id(), first.id());
    assert_eq!(second.body["status"], first.body["status"]);
    assert_eq!(second.body["from_key"], first.body["from_key"]);

    let list = app
        .get(
            &format!("/api/v1/enrollments?participant_id={amina}"),
            &w.worker,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let list = list.body.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], first.body["id"]);

    let changed = post_with_key(
        app,
        &w.worker,
        "retry-7f3a",
        json!({"participant_id": amina, "session_id": other_session}),
    )
    .await;
    assert_problem(&changed, 422, Some("Idempotency-Key"));
    let list = app
        .get(
            &format!("/api/v1/enrollments?participant_id={amina}"),
            &w.worker,
        )
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1), "{list:?}");

    // Without the key, a retry is a second request.
    assert_problem(&enrol(app, &w.worker, &amina, &session).await, 409, None);
}

#[tokio::test]
async fn enrollments_need_a_published_session_and_a_followed_participant() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let draft = app
        .weekly_session(&w.club, &w.manager, json!({"status": "draft"}))
        .await;
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let theirs = participant(app, &w.other_worker, "Lina", "Bernard")
        .await
        .id();

    assert_problem(
        &enrol(app, &w.worker, &amina, &draft).await,
        422,
        Some("session_id"),
    );
    assert_problem(
        &enrol(
            app,
            &w.worker,
            &amina,
            "00000000-0000-0000-0000-000000000000",
        )
        .await,
        422,
        Some("session_id"),
    );
    let foreign = enrol(app, &w.worker, &theirs, &session).await;
    assert_problem(&foreign, 422, Some("participant_id"));
    // The same answer as for a participant that does not exist.
    let unknown = enrol(
        app,
        &w.worker,
        "00000000-0000-0000-0000-000000000000",
        &session,
    )
    .await;
    assert_problem(&unknown, 422, Some("participant_id"));
    assert_eq!(foreign.body["detail"], unknown.body["detail"]);
    assert!(!foreign.body.to_string().contains("Lina"), "{foreign:?}");
    assert!(!foreign.body.to_string().contains(&theirs), "{foreign:?}");

    assert_problem(&enrol(app, &w.manager, &amina, &session).await, 403, None);

    // Nothing was enrolled.
    let mine = app.get("/api/v1/enrollments", &w.worker).await;
    assert_eq!(mine.body, json!([]), "{mine:?}");
    let all = app.get("/api/v1/enrollments", &app.admin).await;
    assert_eq!(all.body, json!([]), "{all:?}");
}

#[tokio::test]
async fn a_lowered_capacity_drops_nobody() {
    let w = world().await;
    let app = &w.app;
    let session = app
        .weekly_session(&w.club, &w.manager, json!({"capacity": 2}))
        .await;
    let (date, next_key) = next_tuesday();
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let jo = participant(app, &w.worker, "Jo", "Martin").await.id();
    let lina = participant(app, &w.worker, "Lina", "Bernard").await.id();
    let a = enrolled(app, &w.worker, &amina, &session).await;
    let b = enrolled(app, &w.worker, &jo, &session).await;

    let lowered = app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"capacity": 1}),
        )
        .await;
    assert_eq!(lowered.status, StatusCode::OK, "{lowered:?}");
    assert_eq!(lowered.body["capacity"], 1);

    let roster_path = format!("/api/v1/sessions/{session}/occurrences/{next_key}/roster");
    let roster = app.get(&roster_path, &w.manager).await;
    assert_eq!(roster.status, StatusCode::OK, "{roster:?}");
    assert_eq!(roster.body["capacity"], 1);
    assert_eq!(roster.body["confirmed"], 2);
    assert_eq!(roster.body["overbooked"], true);
    let lines = roster.body["participants"]
        .as_array()
        .expect("participants");
    assert_eq!(lines.len(), 2, "{roster:?}");
    assert!(
        lines.iter().all(|l| l["status"] == "confirmed"),
        "{roster:?}"
    );
    assert_eq!(
        enrollment(app, &w.worker, &a.id()).await["status"],
        "confirmed"
    );
    assert_eq!(
        enrollment(app, &w.worker, &b.id()).await["status"],
        "confirmed"
    );

    // No negative places.
    let listed = session_occurrences(app, &w.worker, &session, date).await;
    assert!(!items(&listed).is_empty());
    assert!(
        items(&listed).iter().all(|o| o["places_left"] == 0),
        "{listed:?}"
    );

    let c = enrolled(app, &w.worker, &lina, &session).await;
    assert_eq!(c.body["status"], "waitlisted", "{c:?}");
    assert_eq!(c.body["waitlist_position"], 1);

    // Back to 2: still full, nobody promoted.
    let back = app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"capacity": 2}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    assert_eq!(
        enrollment(app, &w.worker, &c.id()).await["status"],
        "waitlisted"
    );

    let raised = app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"capacity": 3}),
        )
        .await;
    assert_eq!(raised.status, StatusCode::OK, "{raised:?}");
    let promoted = enrollment(app, &w.worker, &c.id()).await;
    assert_eq!(promoted["status"], "confirmed", "{promoted}");
    assert!(promoted["waitlist_position"].is_null(), "{promoted}");

    let roster = app.get(&roster_path, &w.manager).await;
    assert_eq!(roster.body["capacity"], 3);
    assert_eq!(roster.body["confirmed"], 3);
    assert_eq!(roster.body["overbooked"], false);
    let listed = session_occurrences(app, &w.worker, &session, date).await;
    assert!(
        items(&listed).iter().all(|o| o["places_left"] == 0),
        "{listed:?}"
    );
}

#[tokio::test]
async fn a_roster_shows_clubs_no_private_data() {
    let w = world().await;
    let app = &w.app;
    let other_club = app.club("RC Pantin", "Pantin", &["football"]).await;
    let other_manager = app.user("club_manager", Some(&other_club), None).await;
    let session = app
        .weekly_session(&w.club, &w.manager, json!({"capacity": 1}))
        .await;
    let (_, next_key) = next_tuesday();
    let amina = participant(app, &w.worker, "Amina", "diallo").await;
    let jo = participant(app, &w.worker, "Jo", "Martin").await;
    let first = enrolled(app, &w.worker, &amina.id(), &session).await;
    let second = enrolled(app, &w.worker, &jo.id(), &session).await;
    assert_eq!(second.body["status"], "waitlisted");

    let path = format!("/api/v1/sessions/{session}/occurrences/{next_key}/roster");
    let roster = app.get(&path, &w.manager).await;
    assert_eq!(roster.status, StatusCode::OK, "{roster:?}");
    assert_eq!(roster.body["key"], next_key.as_str());
    assert_eq!(roster.body["session_id"], session.as_str());
    assert_eq!(roster.body["overbooked"], false);
    assert_eq!(roster.body["confirmed"], 1);
    let lines = roster.body["participants"]
        .as_array()
        .expect("participants");
    assert_eq!(lines.len(), 2, "{roster:?}");
    assert_eq!(lines[0]["first_name"], "Amina");
    assert_eq!(lines[0]["last_name_initial"], "D.");
    assert_eq!(lines[0]["code"], amina.body["code"]);
    assert_eq!(lines[0]["status"], "confirmed");
    assert_eq!(lines[0]["scope"], "series");
    assert_eq!(lines[0]["enrollment_id"], first.body["id"]);
    assert_eq!(lines[1]["first_name"], "Jo");
    assert_eq!(lines[1]["last_name_initial"], "M.");
    assert_eq!(lines[1]["status"], "waitlisted");

    let mut keys = Vec::new();
    keys_anywhere(&roster.body, &mut keys);
    for forbidden in [
        "email",
        "phone",
        "situation",
        "notes",
        "last_name",
        "birth_year",
    ] {
        assert!(
            !keys.iter().any(|k| k == forbidden),
            "{forbidden} in {keys:?}"
        );
    }
    let (status, text) = raw_get(app, &path, &w.manager).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    for forbidden in [
        "\"email\"",
        "\"phone\"",
        "\"situation\"",
        "\"notes\"",
        "\"last_name\"",
        "diallo",
        "Martin",
        "private.example.net",
        "98 76 54 32",
        "migrant",
        "Confidential",
    ] {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }
    assert!(text.contains("\"last_name_initial\""), "{text}");

    assert_problem(&app.get(&path, &w.worker).await, 403, None);
    assert_problem(&app.get(&path, &other_manager).await, 403, None);
    let admin = app.get(&path, &app.admin).await;
    assert_eq!(admin.status, StatusCode::OK, "{admin:?}");
    // An occurrence that does not exist.
    let wednesday = format!("/api/v1/sessions/{session}/occurrences/20261202T173000Z/roster");
    assert_problem(&app.get(&wednesday, &w.manager).await, 404, None);
}

#[tokio::test]
async fn another_structure_cannot_see_or_cancel_enrollments() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let lina = participant(app, &w.other_worker, "Lina", "Bernard")
        .await
        .id();
    let mine = enrolled(app, &w.worker, &amina, &session).await;
    let theirs = enrolled(app, &w.other_worker, &lina, &session).await;

    let own_list = app.get("/api/v1/enrollments", &w.worker).await;
    assert_eq!(own_list.status, StatusCode::OK, "{own_list:?}");
    let own_ids: Vec<&Value> = own_list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(own_ids, vec![&mine.body["id"]]);

    for path in [
        "/api/v1/enrollments".to_owned(),
        format!("/api/v1/enrollments?session_id={session}"),
        format!("/api/v1/enrollments?participant_id={amina}"),
    ] {
        let seen = app.get(&path, &w.other_worker).await;
        assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
        let seen = seen.body.as_array().expect("a list");
        assert!(
            seen.iter().all(|e| e["id"] != mine.body["id"]),
            "{path}: {seen:?}"
        );
        assert!(
            seen.iter().all(|e| e["participant_id"] != amina.as_str()),
            "{path}: {seen:?}"
        );
    }
    let theirs_list = app.get("/api/v1/enrollments", &w.other_worker).await;
    assert_eq!(
        theirs_list.body.as_array().map(Vec::len),
        Some(1),
        "{theirs_list:?}"
    );
    assert_eq!(theirs_list.body[0]["id"], theirs.body["id"]);

    let path = format!("/api/v1/enrollments/{}", mine.id());
    assert_problem(&app.get(&path, &w.other_worker).await, 404, None);
    assert_problem(&app.delete(&path, &w.other_worker).await, 404, None);
    assert_problem(&app.get("/api/v1/enrollments", &w.manager).await, 403, None);
    assert_problem(&app.delete(&path, &w.manager).await, 403, None);
    // Still confirmed.
    assert_eq!(
        enrollment(app, &w.worker, &mine.id()).await["status"],
        "confirmed"
    );
    assert_eq!(
        enrollment(app, &app.admin, &mine.id()).await["status"],
        "confirmed"
    );
}

#[tokio::test]
async fn a_place_opens_365_days_ahead_and_the_refusal_says_when() {
    let w = world().await;
    let app = &w.app;
    let session = app.weekly_session(&w.club, &w.manager, json!({})).await;
    let (_, next_key) = next_tuesday();
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    // 60 weeks ahead: stored (548 days are), but not open yet.
    let far = weeks_after(&next_key, 60);
    let refused = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "occurrence_key": far}),
        )
        .await;
    assert_problem(&refused, 422, Some("occurrence_key"));
    let far_start = chrono::NaiveDateTime::parse_from_str(&far, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    let opens = (far_start - Duration::days(365))
        .with_timezone(&Paris)
        .date_naive()
        .to_string();
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&opens), "{detail} names {opens}");
    // A series from that far ahead is refused the same way, on `from`.
    let from = far_start.with_timezone(&Paris).date_naive().to_string();
    let series = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "from": from}),
        )
        .await;
    assert_problem(&series, 422, Some("from"));
    // 50 weeks ahead is open, and counted in the listing like any other place.
    let near = weeks_after(&next_key, 50);
    let ok = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "occurrence_key": near}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    assert_eq!(ok.body["status"], "confirmed");
    let day = chrono::NaiveDateTime::parse_from_str(&near, "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc()
        .with_timezone(&Paris)
        .date_naive();
    let listed = session_occurrences(app, &w.worker, &session, day).await;
    let that = items(&listed)
        .iter()
        .find(|o| o["key"] == near.as_str())
        .expect("the occurrence listed");
    assert_eq!(that["places_left"], 5, "{that}");
}

#[tokio::test]
async fn cancelling_the_occurrence_that_was_full_promotes_the_waitlist() {
    let w = world().await;
    let app = &w.app;
    let session = app
        .weekly_session(&w.club, &w.manager, json!({"capacity": 1}))
        .await;
    let (_, next_key) = next_tuesday();
    let later = weeks_after(&next_key, 3);
    let amina = participant(app, &w.worker, "Amina", "Diallo").await.id();
    let jo = participant(app, &w.worker, "Jo", "Martin").await.id();
    // Amina takes the one place of one occurrence; Jo's series needs it too: he waits.
    let one = app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": amina, "session_id": session, "occurrence_key": later}),
        )
        .await;
    assert_eq!(one.body["status"], "confirmed", "{one:?}");
    let series = enrolled(app, &w.worker, &jo, &session).await;
    assert_eq!(series.body["status"], "waitlisted", "{series:?}");
    // The club cancels that occurrence: nothing stands in Jo's way any more.
    let cancel = app
        .patch(
            &format!("/api/v1/sessions/{session}/occurrences/{later}"),
            &w.manager,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{cancel:?}");
    let jo_now = enrollment(app, &w.worker, &series.id()).await;
    assert_eq!(jo_now["status"], "confirmed", "{jo_now}");
    // Restoring it overbooks nobody new: Amina and Jo both hold it, over capacity 1,
    // and a third person waits.
    let restore = app
        .patch(
            &format!("/api/v1/sessions/{session}/occurrences/{later}"),
            &w.manager,
            json!({"status": "scheduled"}),
        )
        .await;
    assert_eq!(restore.status, StatusCode::OK, "{restore:?}");
    assert_eq!(restore.body["places_left"], 0, "{restore:?}");
    let lea = participant(app, &w.worker, "Léa", "Petit").await.id();
    let third = enrolled(app, &w.worker, &lea, &session).await;
    assert_eq!(third.body["status"], "waitlisted", "{third:?}");
}
