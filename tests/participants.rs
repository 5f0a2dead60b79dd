//! Participants: registration, listing, access, export and erasure, over HTTP.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CODE_ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXY34679";

fn person(first_name: &str, last_name: &str) -> Value {
    json!({
        "first_name": first_name,
        "last_name": last_name,
        "email": format!("{}.{}@example.org", first_name.to_lowercase(), uuid::Uuid::new_v4().simple()),
        "phone": "+33 6 12 34 56 78",
        "language": "en",
        "birth_year": 1990,
        "situation": "shelter",
        "notify_referrer": false,
        "consent": true,
        "notes": "Prefers evening sessions"
    })
}

fn with(mut body: Value, change: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(change.as_object().unwrap().clone());
    body
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

async fn register(app: &TestApp, token: &str, body: Value) -> String {
    let answer = app.post("/api/v1/participants", token, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.id()
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `id` of the user behind `token`, as `/me` reports it.
async fn me(app: &TestApp, token: &str) -> Value {
    let answer = app.get("/api/v1/me", token).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["id"].clone()
}

#[tokio::test]
async fn a_social_worker_registers_a_participant() {
    let app = spawn_app().await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let body = person("Amina", "Diallo");
    let answer = app
        .post("/api/v1/participants", &worker, body.clone())
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let p = &answer.body;
    let code = p["code"].as_str().expect("code");
    assert_eq!(code.chars().count(), 6, "{code}");
    assert!(code.chars().all(|c| CODE_ALPHABET.contains(c)), "{code}");
    assert_eq!(p["structure_id"], structure.as_str());
    assert!(p["referrer_id"].is_string(), "{p}");
    assert_eq!(p["first_name"], "Amina");
    assert_eq!(p["last_name"], "Diallo");
    assert_eq!(p["email"], body["email"]);
    assert_eq!(p["phone"], "+33 6 12 34 56 78");
    assert_eq!(p["language"], "en");
    assert_eq!(p["birth_year"], 1990);
    assert_eq!(p["situation"], "shelter");
    assert_eq!(p["notify_referrer"], false);
    assert_eq!(p["notes"], "Prefers evening sessions");
    assert!(p["consent_at"].is_string(), "{p}");

    // The referrer is the worker who registered the person.
    let second_worker = app.user("social_worker", None, Some(&structure)).await;
    let other = app
        .post(
            "/api/v1/participants",
            &second_worker,
            person("Jo", "Martin"),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{other:?}");
    assert_ne!(other.body["referrer_id"], p["referrer_id"], "{other:?}");
    assert_ne!(other.body["code"], p["code"]);

    // Read back: the same record.
    let fetched = app
        .get(&format!("/api/v1/participants/{}", answer.id()), &worker)
        .await;
    assert_eq!(fetched.status, StatusCode::OK, "{fetched:?}");
    assert_eq!(fetched.body["code"], p["code"]);
    assert_eq!(fetched.body["referrer_id"], p["referrer_id"]);
    assert_eq!(fetched.body["structure_id"], structure.as_str());
}

#[tokio::test]
async fn the_referrer_is_the_registering_user() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let answer = app
        .post("/api/v1/participants", &worker, person("Amina", "Diallo"))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let worker_id = me(&app, &worker).await;
    assert!(worker_id.is_string(), "{worker_id}");
    assert_eq!(answer.body["referrer_id"], worker_id);
}

#[tokio::test]
async fn invalid_participants_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let base = person("Amina", "Diallo");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"consent": false}), "consent"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"situation": "rich"}), "situation"),
        (json!({"language": "de"}), "language"),
    ];
    for (change, field) in cases {
        let answer = app
            .post("/api/v1/participants", &worker, with(base.clone(), change))
            .await;
        assert_problem(&answer, 422, Some(field));
    }
    // Nothing was registered.
    let list = app.get("/api/v1/participants", &worker).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body["items"], json!([]), "{list:?}");
}

#[tokio::test]
async fn without_email_the_referrer_is_notified_by_default() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let no_email = without(
        without(person("Amina", "Diallo"), "email"),
        "notify_referrer",
    );
    let answer = app.post("/api/v1/participants", &worker, no_email).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["notify_referrer"], true);
    assert!(answer.body["email"].is_null(), "{answer:?}");

    let with_email = without(person("Jo", "Martin"), "notify_referrer");
    let answer = app.post("/api/v1/participants", &worker, with_email).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["notify_referrer"], false);
}

#[tokio::test]
async fn a_structure_lists_only_its_own_participants() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let other_structure = app.structure("Foyer").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&other_structure))
        .await;
    let amina = register(&app, &worker, person("Amina", "Diallo")).await;
    let jo = register(&app, &worker, person("Jo", "Martin")).await;
    let theirs = register(&app, &other_worker, person("Lina", "Bernard")).await;

    let mine = app.get("/api/v1/participants", &worker).await;
    assert_eq!(mine.status, StatusCode::OK, "{mine:?}");
    let mine: HashSet<String> = ids(&mine).into_iter().collect();
    assert_eq!(mine, HashSet::from([amina.clone(), jo.clone()]));

    let seen = app.get("/api/v1/participants", &other_worker).await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
    assert_eq!(ids(&seen), vec![theirs.clone()]);

    // An admin sees everyone.
    let all = app.get("/api/v1/participants", &app.admin).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    let all: HashSet<String> = ids(&all).into_iter().collect();
    assert_eq!(all, HashSet::from([amina, jo, theirs]));
}

#[tokio::test]
async fn name_search_matches_first_or_last_name_ignoring_case() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let other_structure = app.structure("Foyer").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&other_structure))
        .await;
    let amina = register(&app, &worker, person("Amina", "Diallo")).await;
    let jo = register(&app, &worker, person("Jo", "Martin")).await;
    let marta = register(&app, &worker, person("Marta", "Lopez")).await;
    register(&app, &other_worker, person("Amin", "Ali")).await;

    let search = |name: &'static str| {
        let app = &app;
        let worker = worker.clone();
        async move {
            let answer = app
                .get(&format!("/api/v1/participants?name={name}"), &worker)
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
            ids(&answer).into_iter().collect::<HashSet<String>>()
        }
    };
    assert_eq!(search("amin").await, HashSet::from([amina.clone()]));
    assert_eq!(search("DIALLO").await, HashSet::from([amina.clone()]));
    assert_eq!(search("dIaL").await, HashSet::from([amina.clone()]));
    assert_eq!(
        search("mart").await,
        HashSet::from([jo.clone(), marta.clone()])
    );
    assert_eq!(search("LOPEZ").await, HashSet::from([marta.clone()]));
    assert_eq!(search("nobody").await, HashSet::new());
    // Blank: everyone.
    assert_eq!(search("").await, HashSet::from([amina, jo, marta]));
}

#[tokio::test]
async fn pagination_walks_every_participant_once() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let mut expected = HashSet::new();
    // Two people share a full name: the id breaks the tie.
    for (first, last) in [
        ("Amina", "Diallo"),
        ("Jo", "Martin"),
        ("Marta", "Lopez"),
        ("Lina", "Bernard"),
        ("Jo", "Martin"),
        ("Zoé", "Abadie"),
        ("Paul", "Zidane"),
    ] {
        expected.insert(register(&app, &worker, person(first, last)).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/participants?limit=2&cursor={c}"),
            None => "/api/v1/participants?limit=2".to_owned(),
        };
        let page = app.get(&path, &worker).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let items = ids(&page);
        assert!(items.len() <= 2, "{page:?}");
        seen.extend(items);
        pages += 1;
        assert!(pages <= 10, "pagination does not end");
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);

    // The whole list, unpaged, is sorted by last name then first name.
    let all = app.get("/api/v1/participants", &worker).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(ids(&all), seen);
    assert!(all.body["next_cursor"].is_null(), "{all:?}");
    let last_names: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        last_names,
        vec!["Abadie", "Bernard", "Diallo", "Lopez", "Martin", "Martin", "Zidane"]
    );

    let bad = app.get("/api/v1/participants?limit=0", &worker).await;
    assert_problem(&bad, 422, Some("limit"));
}

#[tokio::test]
async fn only_the_participants_structure_reads_and_changes_them() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let structure = app.structure("Abri").await;
    let other_structure = app.structure("Foyer").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let colleague = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&other_structure))
        .await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let id = register(&app, &worker, person("Amina", "Diallo")).await;
    let path = format!("/api/v1/participants/{id}");

    let read = app.get(&path, &colleague).await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(read.body["id"], id.as_str());
    assert_eq!(read.body["first_name"], "Amina");

    let changed = app
        .patch(
            &path,
            &colleague,
            json!({"first_name": "Aminata", "situation": "student"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["first_name"], "Aminata");
    assert_eq!(changed.body["situation"], "student");
    assert_eq!(changed.body["last_name"], "Diallo");
    assert_eq!(changed.body["code"], read.body["code"]);
    let reread = app.get(&path, &worker).await;
    assert_eq!(reread.body["first_name"], "Aminata");
    assert_eq!(reread.body["situation"], "student");

    assert_problem(&app.get(&path, &other_worker).await, 404, None);
    assert_problem(
        &app.patch(&path, &other_worker, json!({"first_name": "X"}))
            .await,
        404,
        None,
    );
    assert_problem(&app.get(&path, &manager).await, 403, None);
    assert_problem(&app.get("/api/v1/participants", &manager).await, 403, None);
    assert_problem(
        &app.post("/api/v1/participants", &manager, person("Jo", "Martin"))
            .await,
        403,
        None,
    );
    assert_problem(
        &app.patch(&path, &manager, json!({"first_name": "X"})).await,
        403,
        None,
    );
    // The refused changes did not happen.
    let unchanged = app.get(&path, &worker).await;
    assert_eq!(unchanged.body["first_name"], "Aminata");

    // An unknown id is a 404 too.
    assert_problem(
        &app.get(
            "/api/v1/participants/00000000-0000-0000-0000-000000000000",
            &worker,
        )
        .await,
        404,
        None,
    );
}

#[tokio::test]
async fn patching_email_to_null_clears_it() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let id = register(&app, &worker, person("Amina", "Diallo")).await;
    let path = format!("/api/v1/participants/{id}");

    // An absent field stays.
    let kept = app
        .patch(&path, &worker, json!({"notes": "Knee injury"}))
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{kept:?}");
    assert!(kept.body["email"].is_string(), "{kept:?}");
    assert_eq!(kept.body["notes"], "Knee injury");

    let bad = app.patch(&path, &worker, json!({"email": "nope"})).await;
    assert_problem(&bad, 422, Some("email"));

    let cleared = app.patch(&path, &worker, json!({"email": null})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{cleared:?}");
    assert!(cleared.body["email"].is_null(), "{cleared:?}");
    let fetched = app.get(&path, &worker).await;
    assert!(fetched.body["email"].is_null(), "{fetched:?}");
    assert_eq!(fetched.body["phone"], "+33 6 12 34 56 78");
}

#[tokio::test]
async fn an_export_holds_the_participant_and_their_enrollments() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let session = app.weekly_session(&club, &manager, json!({})).await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&app.structure("Foyer").await))
        .await;
    let id = register(&app, &worker, person("Amina", "Diallo")).await;
    let other = register(&app, &worker, person("Jo", "Martin")).await;
    let enrollment = app
        .post(
            "/api/v1/enrollments",
            &worker,
            json!({"participant_id": id, "session_id": session}),
        )
        .await;
    assert_eq!(enrollment.status, StatusCode::CREATED, "{enrollment:?}");
    let other_enrollment = app
        .post(
            "/api/v1/enrollments",
            &worker,
            json!({"participant_id": other, "session_id": session}),
        )
        .await;
    assert_eq!(other_enrollment.status, StatusCode::CREATED);

    let export = app
        .get(&format!("/api/v1/participants/{id}/export"), &worker)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{export:?}");
    let participant = &export.body["participant"];
    assert_eq!(participant["id"], id.as_str());
    assert_eq!(participant["first_name"], "Amina");
    assert_eq!(participant["last_name"], "Diallo");
    assert_eq!(participant["notes"], "Prefers evening sessions");
    assert!(participant["email"].is_string());
    let enrollments = export.body["enrollments"].as_array().expect("enrollments");
    assert_eq!(enrollments.len(), 1, "{export:?}");
    assert_eq!(enrollments[0]["id"], enrollment.body["id"]);
    assert_eq!(enrollments[0]["session_id"], session.as_str());
    assert_eq!(enrollments[0]["participant_id"], id.as_str());
    assert_eq!(enrollments[0]["status"], "confirmed");
    assert!(export.body["exported_at"].is_string());

    assert_problem(
        &app.get(&format!("/api/v1/participants/{id}/export"), &other_worker)
            .await,
        404,
        None,
    );
    assert_problem(
        &app.get(&format!("/api/v1/participants/{id}/export"), &manager)
            .await,
        403,
        None,
    );
}

#[tokio::test]
async fn erasure_hides_the_person_and_frees_their_places() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let session = app
        .weekly_session(&club, &manager, json!({"capacity": 1}))
        .await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&app.structure("Foyer").await))
        .await;
    let amina = register(&app, &worker, person("Amina", "Diallo")).await;
    let jo = register(&app, &worker, person("Jo", "Martin")).await;
    let lina = register(&app, &other_worker, person("Lina", "Bernard")).await;

    let enrol = |participant: String, token: String| {
        let app = &app;
        let session = session.clone();
        async move {
            let answer = app
                .post(
                    "/api/v1/enrollments",
                    &token,
                    json!({"participant_id": participant, "session_id": session}),
                )
                .await;
            assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
            answer
        }
    };
    let confirmed = enrol(amina.clone(), worker.clone()).await;
    assert_eq!(confirmed.body["status"], "confirmed");
    let waiting = enrol(lina.clone(), other_worker.clone()).await;
    assert_eq!(waiting.body["status"], "waitlisted", "{waiting:?}");
    assert_eq!(waiting.body["waitlist_position"], 1);
    let also_waiting = enrol(jo.clone(), worker.clone()).await;
    assert_eq!(also_waiting.body["waitlist_position"], 2);

    // Another structure cannot erase.
    let path = format!("/api/v1/participants/{amina}");
    assert_problem(&app.delete(&path, &other_worker).await, 404, None);
    assert_problem(&app.delete(&path, &manager).await, 403, None);
    assert_eq!(app.get(&path, &worker).await.status, StatusCode::OK);

    let erased = app.delete(&path, &worker).await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{erased:?}");
    assert_problem(&app.get(&path, &worker).await, 404, None);
    assert_problem(
        &app.get(&format!("{path}/export"), &worker).await,
        404,
        None,
    );
    assert_problem(&app.get(&path, &app.admin).await, 404, None);
    assert_problem(
        &app.patch(&path, &worker, json!({"first_name": "Back"}))
            .await,
        404,
        None,
    );
    // Erasing twice: gone already.
    assert_problem(&app.delete(&path, &worker).await, 404, None);

    // Their enrollment is cancelled; the place goes to the first in line.
    let mine = app
        .get(&format!("/api/v1/enrollments/{}", confirmed.id()), &worker)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{mine:?}");
    assert_eq!(mine.body["status"], "cancelled");
    assert!(mine.body["cancelled_at"].is_string(), "{mine:?}");
    let promoted = app
        .get(
            &format!("/api/v1/enrollments/{}", waiting.id()),
            &other_worker,
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{promoted:?}");
    assert_eq!(promoted.body["status"], "confirmed", "{promoted:?}");
    assert!(promoted.body["waitlist_position"].is_null(), "{promoted:?}");
    let next = app
        .get(
            &format!("/api/v1/enrollments/{}", also_waiting.id()),
            &worker,
        )
        .await;
    assert_eq!(next.body["status"], "waitlisted", "{next:?}");
    assert_eq!(next.body["waitlist_position"], 1, "{next:?}");

    // The list no longer shows the erased person, even by name.
    let list = app.get("/api/v1/participants", &worker).await;
    assert_eq!(ids(&list), vec![jo.clone()]);
    let by_name = app.get("/api/v1/participants?name=amina", &worker).await;
    assert_eq!(by_name.body["items"], json!([]), "{by_name:?}");
    let admin_list = app.get("/api/v1/participants", &app.admin).await;
    let all: HashSet<String> = ids(&admin_list).into_iter().collect();
    assert_eq!(all, HashSet::from([jo, lina]));

    // Their name is gone from the club's roster too.
    let key = promoted.body["from_key"].as_str().unwrap().to_owned();
    let roster = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences/{key}/roster"),
            &manager,
        )
        .await;
    assert_eq!(roster.status, StatusCode::OK, "{roster:?}");
    let text = roster.body.to_string();
    assert!(!text.contains("Amina"), "{text}");
}

#[tokio::test]
async fn erasure_needs_the_participants_structure() {
    let app = spawn_app().await;
    let structure = app.structure("Abri").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let id = register(&app, &worker, person("Amina", "Diallo")).await;
    let unknown = app
        .delete(
            "/api/v1/participants/00000000-0000-0000-0000-000000000000",
            &worker,
        )
        .await;
    assert_problem(&unknown, 404, None);
    let erased = app
        .delete(&format!("/api/v1/participants/{id}"), &app.admin)
        .await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{erased:?}");
    assert_problem(
        &app.get(&format!("/api/v1/participants/{id}"), &worker)
            .await,
        404,
        None,
    );
}
