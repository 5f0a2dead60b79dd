//! Sessions and their occurrences, end to end over HTTP.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn keys(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect()
}

fn starts(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_session_gets_sensible_defaults() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let answer = app
        .post(
            &format!("/api/v1/clubs/{club}/sessions"),
            &app.admin,
            json!({"title": "Football loisir", "sport": "Football", "start": "2026-03-10T18:30:00",
                   "duration_minutes": 90, "rrule": "FREQ=WEEKLY;BYDAY=TU", "capacity": 6}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let session = &answer.body;
    assert_eq!(session["timezone"], "Europe/Paris");
    assert_eq!(session["status"], "published");
    assert_eq!(session["sport"], "football");
    assert_eq!(session["reminder_hours_before"], 24);
    assert_eq!(session["enrollment_closes_hours_before"], 2);
    assert_eq!(session["location"], "12 rue de la Paix, 93140 Bondy");
    assert_eq!(session["start"], "2026-03-10T18:30:00");

    let fetched = app
        .get(&format!("/api/v1/sessions/{}", answer.id()), &app.admin)
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body["rrule"], "FREQ=WEEKLY;BYDAY=TU");
}

#[tokio::test]
async fn invalid_sessions_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let base = json!({"title": "Yoga", "sport": "yoga", "start": "2026-03-10T18:30:00",
                      "duration_minutes": 60, "capacity": 6});
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"timezone": "Mars/Olympus"}), 422, "timezone"),
        (json!({"rrule": "FREQ=SOMETIMES"}), 422, "rrule"),
        (json!({"rrule": "FREQ=HOURLY;BYMINUTE=0"}), 422, "rrule"),
        (
            json!({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}),
            422,
            "rrule",
        ),
        (json!({"rrule": "FREQ=WEEKLY;BYDAY=WE"}), 422, "start"),
        (json!({"capacity": 0}), 422, "capacity"),
        (json!({"capacity": 501}), 422, "capacity"),
        (json!({"duration_minutes": 14}), 422, "duration_minutes"),
        (json!({"duration_minutes": 601}), 422, "duration_minutes"),
        (json!({"start": "2032-06-01T18:30:00"}), 422, "start"),
        (json!({"title": "   "}), 422, "title"),
        (json!({"capacity": "six"}), 422, "capacity"),
        (json!({"start": "tomorrow"}), 422, "start"),
        (json!({"status": "maybe"}), 422, "status"),
        (
            json!({"reminder_hours_before": -1}),
            422,
            "reminder_hours_before",
        ),
    ];
    for (change, status, field) in cases {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let answer = app
            .post(&format!("/api/v1/clubs/{club}/sessions"), &app.admin, body)
            .await;
        assert_problem(&answer, status, Some(field));
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("sport");
    let answer = app
        .post(
            &format!("/api/v1/clubs/{club}/sessions"),
            &app.admin,
            missing,
        )
        .await;
    assert_problem(&answer, 422, Some("sport"));

    let unknown_club = app
        .post(
            "/api/v1/clubs/00000000-0000-0000-0000-000000000000/sessions",
            &app.admin,
            base,
        )
        .await;
    assert_problem(&unknown_club, 404, None);
}

#[tokio::test]
async fn weekly_occurrences_keep_local_time_across_daylight_saving() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let session = app.weekly_session(&club, &app.admin, json!({})).await;
    let spring = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=2026-03-20&to=2026-04-05"),
            &app.admin,
        )
        .await;
    assert_eq!(spring.status, StatusCode::OK, "{spring:?}");
    assert_eq!(keys(&spring), ["20260324T173000Z", "20260331T163000Z"]);
    assert_eq!(
        starts(&spring),
        ["2026-03-24T18:30:00+01:00", "2026-03-31T18:30:00+02:00"]
    );
    assert_eq!(spring.body["items"][1]["end"], "2026-03-31T20:00:00+02:00");

    let autumn = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=2026-10-19&to=2026-10-28"),
            &app.admin,
        )
        .await;
    assert_eq!(keys(&autumn), ["20261020T163000Z", "20261027T173000Z"]);
    assert_eq!(
        starts(&autumn),
        ["2026-10-20T18:30:00+02:00", "2026-10-27T18:30:00+01:00"]
    );
    for occurrence in autumn.body["items"].as_array().unwrap() {
        assert_eq!(occurrence["status"], "scheduled");
        assert_eq!(occurrence["capacity"], 6);
        assert_eq!(occurrence["places_left"], 6);
        assert_eq!(occurrence["session_id"], session.as_str());
        assert_eq!(occurrence["club_id"], club.as_str());
    }

    let too_wide = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=2026-01-01&to=2027-06-01"),
            &app.admin,
        )
        .await;
    assert_problem(&too_wide, 422, Some("to"));
    let garbled = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=soon"),
            &app.admin,
        )
        .await;
    assert_problem(&garbled, 422, Some("from"));
}

#[tokio::test]
async fn a_start_in_the_spring_forward_gap_moves_forward_by_the_gap() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["yoga"]).await;
    let session = app
        .weekly_session(
            &club,
            &app.admin,
            json!({"start": "2026-03-29T02:30:00", "rrule": "FREQ=DAILY;COUNT=2", "sport": "yoga"}),
        )
        .await;
    let list = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=2026-03-28&to=2026-04-01"),
            &app.admin,
        )
        .await;
    assert_eq!(
        starts(&list),
        ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]
    );
    assert_eq!(keys(&list), ["20260329T013000Z", "20260330T003000Z"]);
}

#[tokio::test]
async fn one_occurrence_can_be_cancelled_moved_resized_and_restored() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let session = app.weekly_session(&club, &app.admin, json!({})).await;
    let path = format!("/api/v1/sessions/{session}/occurrences");

    let cancelled = app
        .patch(
            &format!("{path}/20260317T173000Z"),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["places_left"], 0);

    let moved = app
        .patch(
            &format!("{path}/20260324T173000Z"),
            &app.admin,
            json!({"start": "2026-03-25T19:00:00", "duration_minutes": 60, "capacity": 3}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["key"], "20260324T173000Z");
    assert_eq!(moved.body["status"], "moved");
    assert_eq!(moved.body["start"], "2026-03-25T19:00:00+01:00");
    assert_eq!(moved.body["end"], "2026-03-25T20:00:00+01:00");
    assert_eq!(moved.body["capacity"], 3);

    let list = app
        .get(&format!("{path}?from=2026-03-16&to=2026-03-31"), &app.admin)
        .await;
    assert_eq!(
        keys(&list),
        ["20260317T173000Z", "20260324T173000Z", "20260331T163000Z"]
    );
    let statuses: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled", "moved", "scheduled"]);

    // Moved out of a window, it leaves that window; its key still names it.
    let only_24th = app
        .get(&format!("{path}?from=2026-03-24&to=2026-03-24"), &app.admin)
        .await;
    assert!(keys(&only_24th).is_empty(), "{only_24th:?}");

    let restored = app
        .patch(
            &format!("{path}/20260324T173000Z"),
            &app.admin,
            json!({"start": null, "duration_minutes": null, "capacity": null}),
        )
        .await;
    assert_eq!(restored.body["status"], "scheduled", "{restored:?}");
    assert_eq!(restored.body["start"], "2026-03-24T18:30:00+01:00");
    let uncancelled = app
        .patch(
            &format!("{path}/20260317T173000Z"),
            &app.admin,
            json!({"status": "scheduled"}),
        )
        .await;
    assert_eq!(uncancelled.body["status"], "scheduled");
    assert_eq!(uncancelled.body["places_left"], 6);

    let not_an_occurrence = app
        .patch(
            &format!("{path}/20260318T173000Z"),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_problem(&not_an_occurrence, 404, None);
    let malformed = app
        .patch(
            &format!("{path}/yesterday"),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_problem(&malformed, 404, None);
    let bad_capacity = app
        .patch(
            &format!("{path}/20260317T173000Z"),
            &app.admin,
            json!({"capacity": 0}),
        )
        .await;
    assert_problem(&bad_capacity, 422, Some("capacity"));
}

#[tokio::test]
async fn keys_survive_unrelated_edits_and_orphaned_overrides_are_reported() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let session = app.weekly_session(&club, &app.admin, json!({})).await;
    let path = format!("/api/v1/sessions/{session}");
    let cancelled = app
        .patch(
            &format!("{path}/occurrences/20260317T173000Z"),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);

    let renamed = app
        .patch(
            &path,
            &app.admin,
            json!({"title": "Foot du mardi", "capacity": 8, "location": "Stade Léo Lagrange"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
    assert!(
        renamed.body.get("dropped_overrides").is_none(),
        "{renamed:?}"
    );
    assert_eq!(renamed.body["sequence"], 2);
    let list = app
        .get(
            &format!("{path}/occurrences?from=2026-03-16&to=2026-03-25"),
            &app.admin,
        )
        .await;
    assert_eq!(keys(&list), ["20260317T173000Z", "20260324T173000Z"]);
    assert_eq!(list.body["items"][0]["status"], "cancelled");
    assert_eq!(list.body["items"][1]["capacity"], 8);
    assert_eq!(list.body["items"][1]["location"], "Stade Léo Lagrange");

    // Moving the series to Wednesdays: the cancelled Tuesday no longer exists.
    let moved = app
        .patch(
            &path,
            &app.admin,
            json!({"start": "2026-03-11T18:30:00", "rrule": "FREQ=WEEKLY;BYDAY=WE"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["dropped_overrides"], json!(["20260317T173000Z"]));
    let list = app
        .get(
            &format!("{path}/occurrences?from=2026-03-16&to=2026-03-25"),
            &app.admin,
        )
        .await;
    assert_eq!(keys(&list), ["20260318T173000Z", "20260325T173000Z"]);

    let bad = app
        .patch(&path, &app.admin, json!({"rrule": "FREQ=MINUTELY"}))
        .await;
    assert_problem(&bad, 422, Some("rrule"));
}

#[tokio::test]
async fn cross_club_search_filters_sorts_and_pages() {
    let app = spawn_app().await;
    let bondy = app.club("AS Bondy", "Bondy", &["football", "boxe"]).await;
    let lyon = app.club("Lyon Yoga", "Lyon", &["yoga"]).await;
    let football = app.weekly_session(&bondy, &app.admin, json!({})).await;
    let boxing = app
        .weekly_session(&bondy, &app.admin, json!({"sport": "boxe", "title": "Boxe", "start": "2026-03-12T19:00:00", "rrule": "FREQ=WEEKLY;BYDAY=TH"}))
        .await;
    let yoga = app
        .weekly_session(
            &lyon,
            &app.admin,
            json!({"sport": "yoga", "title": "Yoga", "start": "2026-03-10T10:00:00"}),
        )
        .await;
    let draft = app
        .weekly_session(
            &lyon,
            &app.admin,
            json!({"sport": "yoga", "status": "draft"}),
        )
        .await;
    let window = "from=2026-12-01&to=2026-12-31";

    let all = app
        .get(&format!("/api/v1/occurrences?{window}"), &app.admin)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5 + 5 + 5, "{all:?}");
    let instants: Vec<chrono::DateTime<chrono::FixedOffset>> = items
        .iter()
        .map(|o| chrono::DateTime::parse_from_rfc3339(o["start"].as_str().unwrap()).unwrap())
        .collect();
    assert!(instants.windows(2).all(|w| w[0] <= w[1]), "sorted by start");
    assert!(
        items.iter().all(|o| o["session_id"] != draft.as_str()),
        "drafts are hidden"
    );

    let only = |answer: &Answer| -> Vec<String> {
        let mut ids: Vec<String> = answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["session_id"].as_str().unwrap().to_owned())
            .collect();
        ids.dedup();
        ids.sort();
        ids.dedup();
        ids
    };
    let by_sport = app
        .get(
            &format!("/api/v1/occurrences?{window}&sport=Boxe"),
            &app.admin,
        )
        .await;
    assert_eq!(only(&by_sport), vec![boxing.clone()]);
    let by_city = app
        .get(
            &format!("/api/v1/occurrences?{window}&city=lyon"),
            &app.admin,
        )
        .await;
    assert_eq!(only(&by_city), vec![yoga.clone()]);
    let by_club = app
        .get(
            &format!("/api/v1/occurrences?{window}&club_id={bondy}"),
            &app.admin,
        )
        .await;
    let mut bondy_sessions = vec![football.clone(), boxing.clone()];
    bondy_sessions.sort();
    assert_eq!(only(&by_club), bondy_sessions);

    // Page by page, the walk yields every occurrence once, in order.
    let mut walked: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page_path = match &cursor {
            Some(c) => format!("/api/v1/occurrences?{window}&limit=4&cursor={c}"),
            None => format!("/api/v1/occurrences?{window}&limit=4"),
        };
        let page = app.get(&page_path, &app.admin).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        assert!(page.body["items"].as_array().unwrap().len() <= 4);
        for o in page.body["items"].as_array().unwrap() {
            walked.push((
                o["session_id"].as_str().unwrap().into(),
                o["key"].as_str().unwrap().into(),
            ));
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let expected: Vec<(String, String)> = items
        .iter()
        .map(|o| {
            (
                o["session_id"].as_str().unwrap().into(),
                o["key"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(walked, expected);

    // A cancelled occurrence has no places; a cancelled session leaves the search.
    let cancel = app
        .patch(
            &format!("/api/v1/sessions/{yoga}/occurrences/20261201T090000Z"),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{cancel:?}");
    let with_places = app
        .get(
            &format!("/api/v1/occurrences?{window}&city=Lyon&with_places=true"),
            &app.admin,
        )
        .await;
    assert_eq!(
        with_places.body["items"].as_array().unwrap().len(),
        4,
        "{with_places:?}"
    );
    let deleted = app
        .delete(&format!("/api/v1/sessions/{boxing}"), &app.admin)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["status"], "cancelled");
    let after = app
        .get(
            &format!("/api/v1/occurrences?{window}&sport=boxe"),
            &app.admin,
        )
        .await;
    assert!(
        after.body["items"].as_array().unwrap().is_empty(),
        "{after:?}"
    );
    let edit_cancelled = app
        .patch(
            &format!("/api/v1/sessions/{boxing}"),
            &app.admin,
            json!({"title": "x"}),
        )
        .await;
    assert_problem(&edit_cancelled, 409, None);

    assert_problem(
        &app.get(
            "/api/v1/occurrences?from=2026-01-01&to=2027-03-01",
            &app.admin,
        )
        .await,
        422,
        Some("to"),
    );
    assert_problem(
        &app.get(
            &format!("/api/v1/occurrences?{window}&cursor=nope"),
            &app.admin,
        )
        .await,
        422,
        Some("cursor"),
    );
    assert_problem(
        &app.get(&format!("/api/v1/occurrences?{window}&limit=0"), &app.admin)
            .await,
        422,
        Some("limit"),
    );
    assert_problem(
        &app.get(
            &format!("/api/v1/occurrences?{window}&with_places=perhaps"),
            &app.admin,
        )
        .await,
        400,
        None,
    );
}

#[tokio::test]
async fn zones_without_daylight_saving_keep_their_offset() {
    let app = spawn_app().await;
    let club = app
        .club("Club de Saint-Denis", "Saint-Denis", &["natation"])
        .await;
    let session = app
        .weekly_session(&club, &app.admin, json!({"timezone": "Indian/Reunion", "sport": "natation", "start": "2026-03-10T17:00:00"}))
        .await;
    let list = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from=2026-03-20&to=2026-04-05"),
            &app.admin,
        )
        .await;
    assert_eq!(
        starts(&list),
        ["2026-03-24T17:00:00+04:00", "2026-03-31T17:00:00+04:00"]
    );
    assert_eq!(keys(&list), ["20260324T130000Z", "20260331T130000Z"]);
}
