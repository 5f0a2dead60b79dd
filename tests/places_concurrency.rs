//! Places hold under concurrent requests, on SQLite and on PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Programme {
    app: TestApp,
    worker: String,
    manager: String,
    session: String,
}

async fn programme(capacity: i32) -> Arc<Programme> {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let structure = app.structure("Foyer Saint-Martin").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let session = app
        .weekly_session(&club, &manager, json!({"capacity": capacity}))
        .await;
    Arc::new(Programme {
        app,
        worker,
        manager,
        session,
    })
}

async fn participants(p: &Programme, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let answer = p
            .app
            .post(
                "/api/v1/participants",
                &p.worker,
                json!({"first_name": format!("Person{i}"), "last_name": "Martin", "situation": "shelter", "consent": true}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        ids.push(answer.id());
    }
    ids
}

/// Sends one enrollment per participant, all at once.
async fn enrol_all(
    p: &Arc<Programme>,
    people: &[String],
    occurrence_key: Option<&str>,
) -> Vec<Answer> {
    let tasks: Vec<_> = people
        .iter()
        .map(|participant| {
            let p = p.clone();
            let mut body = json!({"participant_id": participant, "session_id": p.session});
            if let Some(key) = occurrence_key {
                body["occurrence_key"] = json!(key);
            }
            tokio::spawn(async move { p.app.post("/api/v1/enrollments", &p.worker, body).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// The next `weeks` occurrence keys of the session, from the API.
async fn upcoming_keys(p: &Programme, weeks: usize) -> Vec<String> {
    let list = p
        .app
        .get(
            &format!(
                "/api/v1/sessions/{}/occurrences?from=2026-11-28&to=2027-06-01",
                p.session
            ),
            &p.manager,
        )
        .await;
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(weeks)
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks, occurrence by occurrence, confirmed ≤ capacity on the roster and that the
/// search's places_left agrees with the roster.
async fn assert_places_hold(p: &Programme, keys: &[String]) {
    let search = p
        .app
        .get(
            &format!(
                "/api/v1/sessions/{}/occurrences?from=2026-11-28&to=2027-06-01",
                p.session
            ),
            &p.manager,
        )
        .await;
    let places: BTreeMap<String, (i64, i64)> = search.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["key"].as_str().unwrap().to_owned(),
                (
                    o["capacity"].as_i64().unwrap(),
                    o["places_left"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    for key in keys {
        let roster = p
            .app
            .get(
                &format!("/api/v1/sessions/{}/occurrences/{key}/roster", p.session),
                &p.manager,
            )
            .await;
        assert_eq!(roster.status, StatusCode::OK, "{roster:?}");
        let confirmed = roster.body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|line| line["status"] == "confirmed")
            .count() as i64;
        let (capacity, places_left) = places[key];
        assert!(
            confirmed <= capacity,
            "{key}: {confirmed} confirmed for {capacity} places"
        );
        assert_eq!(places_left, capacity - confirmed, "{key}: places_left");
        assert_eq!(roster.body["confirmed"], confirmed);
    }
}

#[tokio::test]
async fn fifty_concurrent_enrollments_for_five_places() {
    let p = programme(5).await;
    let people = participants(&p, 50).await;
    let answers = enrol_all(&p, &people, None).await;
    let mut confirmed = 0;
    let mut positions = BTreeSet::new();
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        match answer.body["status"].as_str().unwrap() {
            "confirmed" => {
                confirmed += 1;
                assert!(answer.body["waitlist_position"].is_null());
            }
            "waitlisted" => {
                positions.insert(answer.body["waitlist_position"].as_i64().unwrap());
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(confirmed, 5);
    assert_eq!(positions, (1..=45).collect::<BTreeSet<i64>>());

    // Positions read back agree with the queue.
    let listed = p
        .app
        .get(
            &format!("/api/v1/enrollments?session_id={}", p.session),
            &p.worker,
        )
        .await;
    let mut read_positions: Vec<i64> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["waitlist_position"].as_i64())
        .collect();
    read_positions.sort();
    assert_eq!(read_positions, (1..=45).collect::<Vec<i64>>());

    let keys = upcoming_keys(&p, 26).await;
    assert_places_hold(&p, &keys).await;
}

#[tokio::test]
async fn cancellations_racing_enrollments_keep_every_occurrence_within_capacity() {
    let p = programme(5).await;
    let people = participants(&p, 40).await;
    let keys = upcoming_keys(&p, 8).await;

    // Ten series enrollments: five confirmed, five waiting.
    let first: Vec<Value> = enrol_all(&p, &people[..10], None)
        .await
        .into_iter()
        .map(|a| a.body)
        .collect();
    let confirmed_ids: Vec<String> = first
        .iter()
        .filter(|e| e["status"] == "confirmed")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(confirmed_ids.len(), 5);

    // Concurrently: cancel three confirmed places, enrol 15 more in the series and 15
    // others into single occurrences.
    let mut tasks: Vec<tokio::task::JoinHandle<Answer>> = Vec::new();
    let app = p;
    for id in confirmed_ids.iter().take(3) {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            app.app
                .delete(&format!("/api/v1/enrollments/{id}"), &app.worker)
                .await
        }));
    }
    for (i, participant) in people[10..40].iter().enumerate() {
        let app = app.clone();
        let mut body = json!({"participant_id": participant, "session_id": app.session});
        if i % 2 == 1 {
            body["occurrence_key"] = json!(keys[i % keys.len()]);
        }
        tasks.push(tokio::spawn(async move {
            app.app.post("/api/v1/enrollments", &app.worker, body).await
        }));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert!(answer.status.is_success(), "{answer:?}");
    }
    assert_places_hold(&app, &keys).await;

    // The waitlist is first come, first served: the earliest waiting series
    // enrollments took the three freed places.
    let listed = app
        .app
        .get(
            &format!("/api/v1/enrollments?session_id={}", app.session),
            &app.worker,
        )
        .await;
    let positions: Vec<i64> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["waitlist_position"].as_i64())
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (1..=positions.len() as i64).collect::<Vec<i64>>(),
        "positions stay 1..=n"
    );
}
