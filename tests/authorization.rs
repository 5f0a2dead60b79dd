//! Who may call what: every endpoint, for every kind of caller.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A key of the harness's weekly session (Tuesday 2026-03-17 18:30 Paris).
const KEY: &str = "20260317T173000Z";
/// A window in which the weekly sessions have occurrences.
const DECEMBER: &str = "from=2026-12-01&to=2026-12-31";

/// An app with two clubs, a structure and one user of each role.
struct World {
    app: TestApp,
    club: String,
    other_club: String,
    structure: String,
    /// Manager of `club`.
    manager: String,
    /// Manager of `other_club`.
    other_manager: String,
    /// Social worker of `structure`.
    worker: String,
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let club = app.club("AS Bondy", "Bondy", &["football"]).await;
        let other_club = app
            .club("Boxe Club Montreuil", "Montreuil", &["boxe"])
            .await;
        let structure = app.structure("Abri de nuit").await;
        let manager = app.user("club_manager", Some(&club), None).await;
        let other_manager = app.user("club_manager", Some(&other_club), None).await;
        let worker = app.user("social_worker", None, Some(&structure)).await;
        Self {
            app,
            club,
            other_club,
            structure,
            manager,
            other_manager,
            worker,
        }
    }

    fn admin(&self) -> &str {
        &self.app.admin
    }

    /// Every authenticated role, named for the failure messages.
    fn everyone(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("admin", self.admin()),
            ("manager", &self.manager),
            ("other manager", &self.other_manager),
            ("social worker", &self.worker),
        ]
    }

    /// The callers who are neither admin nor the manager of `club`.
    fn outsiders(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("other manager", &self.other_manager),
            ("social worker", &self.worker),
        ]
    }

    /// Non-admin roles.
    fn non_admins(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("manager", &self.manager),
            ("other manager", &self.other_manager),
            ("social worker", &self.worker),
        ]
    }

    async fn user_id(&self, token: &str) -> String {
        let me = self.app.get("/api/v1/me", token).await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        me.id()
    }
}

fn new_club_body() -> Value {
    json!({
        "name": "Judo Club Pantin",
        "sports": ["judo"],
        "address": "1 avenue Jean Lolive",
        "postal_code": "93500",
        "city": "Pantin"
    })
}

fn new_user_body(club: &str) -> Value {
    json!({
        "role": "club_manager",
        "name": "Another manager",
        "email": "another.manager@example.org",
        "club_id": club,
    })
}

fn new_session_body() -> Value {
    json!({
        "title": "Boxe éducative",
        "sport": "boxe",
        "start": "2026-03-12T19:00:00",
        "duration_minutes": 60,
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "capacity": 4
    })
}

/// Asserts 401 problem answers for no token, a wrong token and a malformed one.
async fn assert_needs_token(app: &TestApp, method: Method, path: &str, body: Option<Value>) {
    let answer = app.call(method.clone(), path, None, body.clone()).await;
    assert_problem(&answer, 401, None);
    for wrong in [
        "es_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not-a-token",
    ] {
        let answer = app
            .call(method.clone(), path, Some(wrong), body.clone())
            .await;
        assert_problem(&answer, 401, None);
    }
}

/// Asserts a problem answer with `status`, naming the caller on failure.
fn refused(who: &str, answer: &Answer, status: u16) {
    assert_eq!(answer.status.as_u16(), status, "{who}: {answer:?}");
    assert_problem(answer, status, None);
}

fn session_ids(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["session_id"].as_str().expect("session_id").to_owned())
        .collect()
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let app = spawn_app().await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    assert_eq!(health.body["status"], "ok", "{health:?}");
    let spec = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK, "{spec:?}");
    assert!(spec.body["paths"]["/api/v1/clubs"].is_object(), "{spec:?}");
}

#[tokio::test]
async fn every_api_endpoint_refuses_missing_and_wrong_tokens() {
    let w = World::new().await;
    let session = w.app.weekly_session(&w.club, w.admin(), json!({})).await;
    let me_id = w.user_id(&w.manager).await;
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/structures".into(), None),
        (
            Method::POST,
            "/api/v1/structures".into(),
            Some(json!({"name": "X", "kind": "shelter", "city": "Paris"})),
        ),
        (
            Method::GET,
            format!("/api/v1/structures/{}", w.structure),
            None,
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(new_user_body(&w.club)),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{me_id}"),
            Some(json!({"disabled": true})),
        ),
        (Method::GET, "/api/v1/me".into(), None),
        (Method::POST, "/api/v1/me/token".into(), None),
        (Method::GET, "/api/v1/clubs".into(), None),
        (Method::POST, "/api/v1/clubs".into(), Some(new_club_body())),
        (Method::GET, format!("/api/v1/clubs/{}", w.club), None),
        (
            Method::PATCH,
            format!("/api/v1/clubs/{}", w.club),
            Some(json!({"name": "Hacked"})),
        ),
        (
            Method::POST,
            format!("/api/v1/clubs/{}/sessions", w.club),
            Some(new_session_body()),
        ),
        (Method::GET, format!("/api/v1/sessions/{session}"), None),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session}"),
            Some(json!({"capacity": 3})),
        ),
        (Method::DELETE, format!("/api/v1/sessions/{session}"), None),
        (
            Method::GET,
            format!("/api/v1/sessions/{session}/occurrences"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session}/occurrences/{KEY}"),
            Some(json!({"status": "cancelled"})),
        ),
        (Method::GET, format!("/api/v1/occurrences?{DECEMBER}"), None),
    ];
    for (method, path, body) in cases {
        assert_needs_token(&w.app, method, &path, body).await;
    }
    // Nothing changed on the way.
    let club = w
        .app
        .get(&format!("/api/v1/clubs/{}", w.club), w.admin())
        .await;
    assert_eq!(club.body["name"], "AS Bondy", "{club:?}");
    let got = w
        .app
        .get(&format!("/api/v1/sessions/{session}"), w.admin())
        .await;
    assert_eq!(got.body["status"], "published", "{got:?}");
    assert_eq!(got.body["capacity"], 6, "{got:?}");
    assert_eq!(got.body["sequence"], 0, "{got:?}");
    let me = w.app.get("/api/v1/me", &w.manager).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
}

#[tokio::test]
async fn structures_are_for_admins_only() {
    let w = World::new().await;
    let body = json!({"name": "Accueil de jour", "kind": "association", "city": "Paris"});
    for (who, token) in w.non_admins() {
        let answer = w.app.post("/api/v1/structures", token, body.clone()).await;
        refused(who, &answer, 403);
        let answer = w.app.get("/api/v1/structures", token).await;
        refused(who, &answer, 403);
    }
    let created = w.app.post("/api/v1/structures", w.admin(), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let list = w.app.get("/api/v1/structures", w.admin()).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body.as_array().expect("a list").len(), 2, "{list:?}");

    // One structure: admins and its own social workers; others do not learn it exists.
    let own = format!("/api/v1/structures/{}", w.structure);
    assert_eq!(w.app.get(&own, w.admin()).await.status, StatusCode::OK);
    assert_eq!(w.app.get(&own, &w.worker).await.status, StatusCode::OK);
    assert_problem(&w.app.get(&own, &w.manager).await, 404, None);
    let other = format!("/api/v1/structures/{}", created.id());
    assert_problem(&w.app.get(&other, &w.worker).await, 404, None);
}

#[tokio::test]
async fn users_are_for_admins_only_and_me_works_for_everyone() {
    let w = World::new().await;
    let victim = w.user_id(&w.worker).await;
    for (who, token) in w.non_admins() {
        let answer = w
            .app
            .post("/api/v1/users", token, new_user_body(&w.club))
            .await;
        refused(who, &answer, 403);
        let answer = w.app.get("/api/v1/users", token).await;
        refused(who, &answer, 403);
        let answer = w
            .app
            .patch(
                &format!("/api/v1/users/{victim}"),
                token,
                json!({"disabled": true}),
            )
            .await;
        refused(who, &answer, 403);
    }
    // The social worker was not disabled by those attempts.
    assert_eq!(
        w.app.get("/api/v1/me", &w.worker).await.status,
        StatusCode::OK
    );

    let created = w
        .app
        .post("/api/v1/users", w.admin(), new_user_body(&w.club))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let list = w.app.get("/api/v1/users", w.admin()).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    // Admin, two managers, the social worker and the new manager.
    assert_eq!(list.body.as_array().expect("a list").len(), 5, "{list:?}");

    let me = w.app.get("/api/v1/me", w.admin()).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["club_id"], Value::Null);
    assert_eq!(me.body["structure_id"], Value::Null);

    let me = w.app.get("/api/v1/me", &w.manager).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["role"], "club_manager");
    assert_eq!(me.body["club_id"], w.club.as_str());
    assert_eq!(me.body["structure_id"], Value::Null);

    let me = w.app.get("/api/v1/me", &w.other_manager).await;
    assert_eq!(me.body["role"], "club_manager");
    assert_eq!(me.body["club_id"], w.other_club.as_str());

    let me = w.app.get("/api/v1/me", &w.worker).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["role"], "social_worker");
    assert_eq!(me.body["club_id"], Value::Null);
    assert_eq!(me.body["structure_id"], w.structure.as_str());
}

#[tokio::test]
async fn a_rotated_token_replaces_the_old_one() {
    let w = World::new().await;
    for (who, old) in w.everyone() {
        let id = w.user_id(old).await;
        let rotated = w.app.post("/api/v1/me/token", old, json!({})).await;
        assert_eq!(rotated.status, StatusCode::OK, "{who}: {rotated:?}");
        let new = rotated.body["token"].as_str().expect("a token").to_owned();
        assert_ne!(new, old, "{who}");
        assert_problem(&w.app.get("/api/v1/me", old).await, 401, None);
        assert_problem(&w.app.get("/api/v1/clubs", old).await, 401, None);
        let me = w.app.get("/api/v1/me", &new).await;
        assert_eq!(me.status, StatusCode::OK, "{who}: {me:?}");
        assert_eq!(me.id(), id, "{who}");
        // The old token cannot rotate again either.
        assert_problem(
            &w.app.post("/api/v1/me/token", old, json!({})).await,
            401,
            None,
        );
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_until_enabled_again() {
    let w = World::new().await;
    for (who, token) in w.non_admins() {
        let id = w.user_id(token).await;
        let path = format!("/api/v1/users/{id}");
        let disabled = w
            .app
            .patch(&path, w.admin(), json!({"disabled": true}))
            .await;
        assert_eq!(disabled.status, StatusCode::OK, "{who}: {disabled:?}");
        assert_eq!(disabled.body["disabled"], true, "{who}");
        assert_problem(&w.app.get("/api/v1/me", token).await, 401, None);
        assert_problem(&w.app.get("/api/v1/clubs", token).await, 401, None);
        assert_problem(
            &w.app.post("/api/v1/me/token", token, json!({})).await,
            401,
            None,
        );
        let answer = w
            .app
            .get(&format!("/api/v1/occurrences?{DECEMBER}"), token)
            .await;
        assert_problem(&answer, 401, None);

        let enabled = w
            .app
            .patch(&path, w.admin(), json!({"disabled": false}))
            .await;
        assert_eq!(enabled.status, StatusCode::OK, "{who}: {enabled:?}");
        assert_eq!(
            w.app.get("/api/v1/me", token).await.status,
            StatusCode::OK,
            "{who}"
        );
    }
    // A disabled manager can no longer change their club.
    let id = w.user_id(&w.manager).await;
    w.app
        .patch(
            &format!("/api/v1/users/{id}"),
            w.admin(),
            json!({"disabled": true}),
        )
        .await;
    let answer = w
        .app
        .patch(
            &format!("/api/v1/clubs/{}", w.club),
            &w.manager,
            json!({"name": "Hacked"}),
        )
        .await;
    assert_problem(&answer, 401, None);

    // An admin cannot lock themselves out.
    let admin_id = w.user_id(w.admin()).await;
    let answer = w
        .app
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            w.admin(),
            json!({"disabled": true}),
        )
        .await;
    assert_problem(&answer, 422, Some("disabled"));
    assert_eq!(
        w.app.get("/api/v1/me", w.admin()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn clubs_are_signed_by_admins_read_by_all_changed_by_their_manager() {
    let w = World::new().await;
    for (_, token) in w.non_admins() {
        assert_problem(
            &w.app.post("/api/v1/clubs", token, new_club_body()).await,
            403,
            None,
        );
    }
    let created = w
        .app
        .post("/api/v1/clubs", w.admin(), new_club_body())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");

    for (who, token) in w.everyone() {
        let list = w.app.get("/api/v1/clubs", token).await;
        assert_eq!(list.status, StatusCode::OK, "{who}: {list:?}");
        assert_eq!(
            list.body["items"].as_array().expect("items").len(),
            3,
            "{who}: {list:?}"
        );
        let one = w.app.get(&format!("/api/v1/clubs/{}", w.club), token).await;
        assert_eq!(one.status, StatusCode::OK, "{who}: {one:?}");
        assert_eq!(one.body["name"], "AS Bondy", "{who}");
    }

    let path = format!("/api/v1/clubs/{}", w.club);
    for (who, token) in w.outsiders() {
        let answer = w.app.patch(&path, token, json!({"name": "Hacked"})).await;
        refused(who, &answer, 403);
    }
    let answer = w
        .app
        .patch(
            &path,
            &w.manager,
            json!({"partnership": {"status": "ended"}}),
        )
        .await;
    assert_problem(&answer, 403, None);
    let answer = w
        .app
        .patch(
            &path,
            &w.manager,
            json!({"name": "AS Bondy 93", "partnership": {"status": "ended"}}),
        )
        .await;
    assert_problem(&answer, 403, None);
    let unchanged = w.app.get(&path, w.admin()).await;
    assert_eq!(unchanged.body["name"], "AS Bondy", "{unchanged:?}");
    assert_eq!(
        unchanged.body["partnership"]["status"], "active",
        "{unchanged:?}"
    );

    let changed = w
        .app
        .patch(&path, &w.manager, json!({"name": "AS Bondy 93"}))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["name"], "AS Bondy 93");
    let changed = w
        .app
        .patch(
            &path,
            w.admin(),
            json!({"partnership": {"status": "paused", "since": "2026-01-01"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["partnership"]["status"], "paused");

    // Each manager changes their own club only.
    let other = format!("/api/v1/clubs/{}", w.other_club);
    assert_problem(
        &w.app
            .patch(&other, &w.manager, json!({"name": "Mine"}))
            .await,
        403,
        None,
    );
    let changed = w
        .app
        .patch(&other, &w.other_manager, json!({"name": "BCM"}))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
}

#[tokio::test]
async fn sessions_are_added_by_admins_and_the_club_manager() {
    let w = World::new().await;
    let path = format!("/api/v1/clubs/{}/sessions", w.club);
    for (_, token) in w.outsiders() {
        assert_problem(
            &w.app.post(&path, token, new_session_body()).await,
            403,
            None,
        );
    }
    let by_manager = w.app.post(&path, &w.manager, new_session_body()).await;
    assert_eq!(by_manager.status, StatusCode::CREATED, "{by_manager:?}");
    assert_eq!(by_manager.body["club_id"], w.club.as_str());
    let by_admin = w.app.post(&path, w.admin(), new_session_body()).await;
    assert_eq!(by_admin.status, StatusCode::CREATED, "{by_admin:?}");

    // Only the two sessions exist for this club.
    let found = w
        .app
        .get(
            &format!("/api/v1/occurrences?{DECEMBER}&club_id={}", w.club),
            w.admin(),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    let mut ids = session_ids(&found);
    ids.sort();
    ids.dedup();
    let mut expected = vec![by_manager.id(), by_admin.id()];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn drafts_are_seen_by_their_club_only() {
    let w = World::new().await;
    let draft = w
        .app
        .weekly_session(&w.club, &w.manager, json!({"status": "draft"}))
        .await;
    let published = w.app.weekly_session(&w.club, &w.manager, json!({})).await;

    for (who, token) in w.everyone() {
        let answer = w
            .app
            .get(&format!("/api/v1/sessions/{published}"), token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        assert_eq!(answer.body["status"], "published", "{who}");
    }
    for (who, token) in [("admin", w.admin()), ("manager", &w.manager)] {
        let answer = w.app.get(&format!("/api/v1/sessions/{draft}"), token).await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        assert_eq!(answer.body["status"], "draft", "{who}");
        let answer = w
            .app
            .get(
                &format!("/api/v1/sessions/{draft}/occurrences?{DECEMBER}"),
                token,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
    }
    for (_, token) in w.outsiders() {
        assert_problem(
            &w.app.get(&format!("/api/v1/sessions/{draft}"), token).await,
            404,
            None,
        );
        let answer = w
            .app
            .get(
                &format!("/api/v1/sessions/{draft}/occurrences?{DECEMBER}"),
                token,
            )
            .await;
        assert_problem(&answer, 404, None);
        // Changing a draft one cannot see: it stays unknown.
        let answer = w
            .app
            .patch(
                &format!("/api/v1/sessions/{draft}"),
                token,
                json!({"capacity": 3}),
            )
            .await;
        assert_problem(&answer, 404, None);
        assert_problem(
            &w.app
                .delete(&format!("/api/v1/sessions/{draft}"), token)
                .await,
            404,
            None,
        );
    }
}

#[tokio::test]
async fn sessions_are_changed_by_admins_and_the_club_manager_only() {
    let w = World::new().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let path = format!("/api/v1/sessions/{session}");
    let occurrence = format!("{path}/occurrences/{KEY}");

    for (who, token) in w.outsiders() {
        refused(
            who,
            &w.app.patch(&path, token, json!({"capacity": 3})).await,
            403,
        );
        let answer = w
            .app
            .patch(&occurrence, token, json!({"status": "cancelled"}))
            .await;
        refused(who, &answer, 403);
        refused(who, &w.app.delete(&path, token).await, 403);
    }
    let unchanged = w.app.get(&path, w.admin()).await;
    assert_eq!(unchanged.body["status"], "published", "{unchanged:?}");
    assert_eq!(unchanged.body["capacity"], 6, "{unchanged:?}");
    assert_eq!(unchanged.body["sequence"], 0, "{unchanged:?}");

    for (who, token, capacity) in [("manager", w.manager.as_str(), 5), ("admin", w.admin(), 4)] {
        let answer = w
            .app
            .patch(&path, token, json!({"capacity": capacity}))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        assert_eq!(answer.body["capacity"], capacity, "{who}");
        let answer = w
            .app
            .patch(&occurrence, token, json!({"capacity": capacity - 1}))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        assert_eq!(answer.body["key"], KEY, "{who}");
        assert_eq!(answer.body["capacity"], capacity - 1, "{who}");
    }

    // The manager cancels their session; another one is cancelled by an admin.
    let cancelled = w.app.delete(&path, &w.manager).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["status"], "cancelled");
    let second = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let cancelled = w
        .app
        .delete(&format!("/api/v1/sessions/{second}"), w.admin())
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["status"], "cancelled");

    // A manager of another club cannot touch it from their side either.
    let theirs = w
        .app
        .weekly_session(&w.other_club, &w.other_manager, json!({}))
        .await;
    let theirs = format!("/api/v1/sessions/{theirs}");
    assert_problem(
        &w.app
            .patch(&theirs, &w.manager, json!({"capacity": 3}))
            .await,
        403,
        None,
    );
    assert_problem(&w.app.delete(&theirs, &w.manager).await, 403, None);
}

#[tokio::test]
async fn occurrences_are_listed_for_everyone_without_drafts() {
    let w = World::new().await;
    let published = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let draft = w
        .app
        .weekly_session(&w.club, &w.manager, json!({"status": "draft"}))
        .await;
    let other_draft = w
        .app
        .weekly_session(&w.other_club, w.admin(), json!({"status": "draft"}))
        .await;

    for (who, token) in w.everyone() {
        let answer = w
            .app
            .get(
                &format!("/api/v1/sessions/{published}/occurrences?{DECEMBER}"),
                token,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        // Tuesdays of December 2026: 1, 8, 15, 22, 29.
        assert_eq!(
            answer.body["items"].as_array().expect("items").len(),
            5,
            "{who}: {answer:?}"
        );

        let answer = w
            .app
            .get(&format!("/api/v1/occurrences?{DECEMBER}"), token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        let ids = session_ids(&answer);
        assert_eq!(ids.len(), 5, "{who}: {answer:?}");
        assert!(ids.iter().all(|id| *id == published), "{who}: {answer:?}");
        assert!(
            !ids.contains(&draft) && !ids.contains(&other_draft),
            "{who}"
        );

        let answer = w
            .app
            .get(
                &format!("/api/v1/occurrences?{DECEMBER}&club_id={}", w.club),
                token,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{who}: {answer:?}");
        assert!(!session_ids(&answer).contains(&draft), "{who}: {answer:?}");
    }
}
