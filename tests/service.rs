//! The service as a whole: command line, configuration, errors, accounts and clubs.

mod common;

use std::process::Command;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_entourage-sport");

#[tokio::test]
async fn users_create_prints_a_working_token_on_its_last_line() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("cli.sqlite").display());
    let migrate = Command::new(BINARY)
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let created = Command::new(BINARY)
        .args([
            "users",
            "create",
            "--role",
            "admin",
            "--name",
            "Ada Staff",
            "--email",
            "ada@example.org",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let stdout = String::from_utf8(created.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("es_") && token.len() >= 40, "{stdout}");

    let settings = entourage_sport::config::Settings {
        database_url: url.clone(),
        bind: "127.0.0.1:0".into(),
        ..Default::default()
    };
    let config = entourage_sport::config::Config::from_settings(&settings).unwrap();
    let service = entourage_sport::Service::build(config).await.unwrap();
    let (address, serving) = service.bind(std::future::pending()).await.unwrap();
    tokio::spawn(serving);
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{address}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], "ada@example.org");

    let duplicate = Command::new(BINARY)
        .args([
            "users",
            "create",
            "--role",
            "admin",
            "--name",
            "Ada",
            "--email",
            "ada@example.org",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    let manager_without_club = Command::new(BINARY)
        .args([
            "users",
            "create",
            "--role",
            "club_manager",
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!manager_without_club.status.success());
    assert!(String::from_utf8_lossy(&manager_without_club.stderr).contains("club_id"));
}

#[test]
fn users_create_says_what_failed_and_why() {
    let create = |url: &str, role: &str| {
        let output = Command::new(BINARY)
            .args(["users", "create", "--role", role, "--name", "Ada"])
            .args(["--email", "ada@example.org"])
            .env("DATABASE_URL", url)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{output:?}");
        assert!(output.stdout.is_empty(), "no token: {output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();

    // A database that cannot be opened: the message names it and the cause.
    let unusable = format!("sqlite://{}", file.join("cli.sqlite").display());
    let stderr = create(&unusable, "admin");
    assert!(
        stderr.contains("cannot create the user: cannot open the database"),
        "{stderr}"
    );
    assert!(stderr.contains(&unusable), "names the database: {stderr}");
    assert!(stderr.contains("cannot create the data folder"), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");

    // A file that is no database: the database's own complaint.
    let garbage = data.path().join("garbage.sqlite");
    std::fs::write(&garbage, "x".repeat(4096)).unwrap();
    let stderr = create(&format!("sqlite://{}", garbage.display()), "admin");
    assert!(stderr.contains("database error"), "{stderr}");
    assert!(stderr.contains("not a database"), "{stderr}");

    // On PostgreSQL, a database that does not exist on a reachable server.
    if let Some(server) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let (root, _) = server.split('?').next().unwrap().rsplit_once('/').unwrap();
        let missing = format!("{root}/es_missing_{}", uuid::Uuid::new_v4().simple());
        let stderr = create(&missing, "admin");
        assert!(stderr.contains("cannot open the database"), "{stderr}");
        assert!(stderr.contains("does not exist"), "{stderr}");
    }

    // A role that is not one: the message names the flag and the choices.
    let usable = format!("sqlite://{}", data.path().join("cli.sqlite").display());
    let stderr = create(&usable, "coach");
    assert!(stderr.contains("--role"), "{stderr}");
    assert!(
        stderr.contains("must be admin, club_manager or social_worker"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_variable() {
    for (variable, value) in [
        ("BIND", "everywhere"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("LOG_FORMAT", "xml"),
        ("PUBLIC_URL", "localhost"),
        ("SMTP_URL", "http://mail"),
    ] {
        let output = Command::new(BINARY)
            .arg("migrate")
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}: {stderr}");
    }
}

#[test]
fn secrets_from_the_environment_stay_out_of_help_and_errors() {
    let password = "pg-pa55-word";
    let key = "help-secret-key-0123456789abcdef0123456789";
    let secrets = [
        (
            "DATABASE_URL",
            format!("postgres://sport:{password}@db.invalid/sport"),
        ),
        ("SMTP_URL", format!("smtp://mailer:{password}@smtp.invalid")),
        ("SECRET_KEY", key.to_owned()),
        ("METRICS_TOKEN", format!("metrics-{key}")),
    ];
    let help = Command::new(BINARY)
        .arg("--help")
        .envs(secrets.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(help.status.success(), "{help:?}");
    let shown = String::from_utf8_lossy(&help.stdout);
    assert!(shown.contains("DATABASE_URL"), "{shown}");
    assert!(shown.contains("METRICS_TOKEN"), "{shown}");
    assert!(!shown.contains(password) && !shown.contains(key), "{shown}");

    let invalid = Command::new(BINARY)
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("mysql://sport:{password}@db.invalid/x"),
        )
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(2), "{invalid:?}");
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains(password), "{stderr}");
}

#[tokio::test]
async fn health_documentation_and_error_shapes() {
    let app = spawn_app().await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");

    let spec = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    for path in [
        "/api/v1/clubs",
        "/api/v1/occurrences",
        "/api/v1/sessions/{session_id}/occurrences/{key}",
    ] {
        assert!(spec.body["paths"].get(path).is_some(), "{path} documented");
    }
    let schemas = &spec.body["components"]["schemas"];
    assert_eq!(
        schemas["Role"]["enum"],
        json!(["admin", "club_manager", "social_worker"]),
        "roles are listed"
    );
    for object in ["UserView", "CreateUser"] {
        assert!(
            schemas[object]["properties"]["role"]
                .to_string()
                .contains("#/components/schemas/Role"),
            "{object}.role is the Role enum: {}",
            schemas[object]["properties"]["role"]
        );
    }
    let docs = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);

    assert_problem(
        &app.call(Method::GET, "/no/such/route", None, None).await,
        404,
        None,
    );
    assert_problem(
        &app.call(Method::DELETE, "/healthz", None, None).await,
        405,
        None,
    );
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", None, None).await,
        401,
        None,
    );
    assert_problem(
        &app.call(Method::GET, "/api/v1/me", Some("es_forged"), None)
            .await,
        401,
        None,
    );
    assert_problem(
        &app.get("/api/v1/clubs/not-a-uuid", &app.admin).await,
        400,
        None,
    );

    let huge = "x".repeat(1024 * 1024 + 1);
    let too_large = app
        .client
        .post(format!("{}/api/v1/clubs", app.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_large.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));

    let malformed = app
        .client
        .post(format!("{}/api/v1/clubs", app.base))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(malformed.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn accounts_follow_their_roles() {
    let app = spawn_app().await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let structure = app.structure("Foyer Saint-Martin").await;
    let cases = [
        (
            json!({"role": "club_manager", "name": "M", "email": "m@example.org"}),
            "club_id",
        ),
        (
            json!({"role": "social_worker", "name": "S", "email": "s@example.org"}),
            "structure_id",
        ),
        (
            json!({"role": "social_worker", "name": "S", "email": "s@example.org", "structure_id": structure, "club_id": club}),
            "club_id",
        ),
        (
            json!({"role": "admin", "name": "A", "email": "a@example.org", "club_id": club}),
            "club_id",
        ),
        (
            json!({"role": "club_manager", "name": "M", "email": "m@example.org", "club_id": structure}),
            "club_id",
        ),
        (
            json!({"role": "club_manager", "name": "M", "email": "not-an-email", "club_id": club}),
            "email",
        ),
        (
            json!({"role": "coach", "name": "M", "email": "m@example.org"}),
            "role",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/api/v1/users", &app.admin, body).await;
        assert_problem(&answer, 422, Some(field));
    }
    let created = app
        .post("/api/v1/users", &app.admin, json!({"role": "club_manager", "name": "Mo", "email": "mo@example.org", "club_id": club}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["user"]["club_id"], club.as_str());
    let token = created.body["token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits, base64");
    let again = app
        .post("/api/v1/users", &app.admin, json!({"role": "club_manager", "name": "Mo", "email": "MO@example.org", "club_id": club}))
        .await;
    assert_problem(&again, 409, None);
    let listed = app.get("/api/v1/users", &app.admin).await;
    assert!(listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get("token").is_none()));
}

#[tokio::test]
async fn clubs_are_listed_filtered_paged_and_patched() {
    let app = spawn_app().await;
    let names = [
        "Aviron Club",
        "Boxe Bondy",
        "Club Yoga",
        "Dojo Lyon",
        "Escrime 93",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let city = if i % 2 == 0 { "Bondy" } else { "Lyon" };
        let sports: &[&str] = if i < 2 {
            &["boxe", "football"]
        } else {
            &["yoga"]
        };
        ids.push(app.club(name, city, sports).await);
    }
    let boxe = app.get("/api/v1/clubs?sport=BOXE", &app.admin).await;
    let found: Vec<&str> = boxe.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["Aviron Club", "Boxe Bondy"]);
    let lyon = app.get("/api/v1/clubs?city=lyon", &app.admin).await;
    assert_eq!(lyon.body["items"].as_array().unwrap().len(), 2);

    let first = app.get("/api/v1/clubs?limit=2", &app.admin).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/clubs?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    let second_names: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(second_names, ["Club Yoga", "Dojo Lyon"]);
    let cursor = second.body["next_cursor"].as_str().unwrap();
    let last = app
        .get(
            &format!("/api/v1/clubs?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 1);
    assert!(last.body["next_cursor"].is_null());

    let path = format!("/api/v1/clubs/{}", ids[0]);
    let patched = app
        .patch(&path, &app.admin, json!({"contact_phone": null, "sports": ["Aviron"], "partnership": {"status": "paused", "since": "2026-01-01", "notes": "hiver"}}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert!(patched.body["contact_phone"].is_null());
    assert_eq!(patched.body["contact_email"], "contact@club.example.org");
    assert_eq!(patched.body["sports"], json!(["aviron"]));
    assert_eq!(patched.body["partnership"]["status"], "paused");
    let by_new_sport = app.get("/api/v1/clubs?sport=aviron", &app.admin).await;
    assert_eq!(by_new_sport.body["items"].as_array().unwrap().len(), 1);

    assert_problem(
        &app.patch(&path, &app.admin, json!({"sports": []})).await,
        422,
        Some("sports"),
    );
    assert_problem(
        &app.patch(&path, &app.admin, json!({"latitude": 95.0}))
            .await,
        422,
        Some("latitude"),
    );
    assert_problem(
        &app.patch(&path, &app.admin, json!({"contact_email": "nope"}))
            .await,
        422,
        Some("contact_email"),
    );
    assert_problem(
        &app.patch(
            &path,
            &app.admin,
            json!({"partnership": {"status": "dormant"}}),
        )
        .await,
        422,
        Some("partnership.status"),
    );
    assert_problem(
        &app.get(
            "/api/v1/clubs/00000000-0000-0000-0000-000000000000",
            &app.admin,
        )
        .await,
        404,
        None,
    );
}

#[test]
fn settings_flags_work_before_and_after_the_subcommand() {
    let data = tempfile::tempdir().unwrap();
    let after = data.path().join("after.sqlite");
    let before = data.path().join("before.sqlite");
    let run = |args: Vec<String>| {
        Command::new(BINARY)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("DATA_DIR")
            .output()
            .unwrap()
    };
    let url = |path: &std::path::Path| format!("sqlite://{}", path.display());
    let migrated = run(vec![
        "migrate".into(),
        "--database-url".into(),
        url(&after),
        "--data-dir".into(),
        data.path().display().to_string(),
    ]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(
        after.exists(),
        "the flag after `migrate` chose the database"
    );
    let migrated = run(vec![
        "--database-url".into(),
        url(&before),
        "migrate".into(),
    ]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(
        before.exists(),
        "the flag before `migrate` chose the database"
    );
}

/// Copied alone to another folder, the binary has everything it needs: its migrations
/// and its email templates are built in (TEMPLATES_DIR only overrides them).
#[test]
fn the_binary_works_alone_in_another_folder() {
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("entourage-sport");
    std::fs::copy(BINARY, &copy).unwrap();
    let run = |args: &[&str]| {
        Command::new(&copy)
            .args(args)
            .current_dir(elsewhere.path())
            .env_remove("TEMPLATES_DIR")
            .env_remove("DATABASE_URL")
            .env_remove("DATA_DIR")
            .output()
            .unwrap()
    };
    let migrated = run(&["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(elsewhere
        .path()
        .join("data/entourage-sport.sqlite")
        .exists());
    let preview = run(&["mail", "preview", "--out", "preview"]);
    assert!(preview.status.success(), "{preview:?}");
    let written = std::fs::read_dir(elsewhere.path().join("preview"))
        .unwrap()
        .count();
    assert!(
        written >= 36,
        "every message in both languages: {written} files"
    );
}

#[tokio::test]
async fn metrics_do_not_exist_without_a_token() {
    let app = spawn_app().await;
    for token in [None, Some("anything-at-all-0123456789")] {
        let answer = app.call(Method::GET, "/metrics", token, None).await;
        assert_problem(&answer, 404, None);
    }
}

async fn readyz(app: &TestApp) -> Answer {
    app.call(Method::GET, "/readyz", None, None).await
}

#[tokio::test]
async fn readiness_names_a_pending_migration() {
    let app = spawn_app().await;
    // The worker's first look at the outbox comes right after start.
    let mut ready = readyz(&app).await;
    for _ in 0..50 {
        if ready.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ready = readyz(&app).await;
    }
    assert_eq!(ready.status, StatusCode::OK, "{ready:?}");
    assert_eq!(
        ready.body,
        json!({"status": "ok", "checks": {"database": "ok", "migrations": "ok", "mail_worker": "ok"}})
    );
    let spec = app.call(Method::GET, "/openapi.json", None, None).await;
    assert!(spec.body["paths"].get("/readyz").is_some(), "documented");

    // As if this binary were newer than the database: its last migration not applied.
    let forget =
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    match &app.store {
        entourage_sport::store::Store::Sqlite { pool, .. } => {
            sqlx::query(forget).execute(pool).await.unwrap();
        }
        entourage_sport::store::Store::Postgres(pool) => {
            sqlx::query(forget).execute(pool).await.unwrap();
        }
    }
    let pending = readyz(&app).await;
    assert_eq!(
        pending.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{pending:?}"
    );
    assert_eq!(
        pending.body,
        json!({"status": "unavailable", "checks": {"database": "ok", "migrations": "1 pending", "mail_worker": "ok"}})
    );
}

#[tokio::test]
async fn readiness_names_a_mail_worker_that_does_not_run() {
    // The real application on a real database, served without its background jobs:
    // what an instance whose worker died answers.
    let data = tempfile::tempdir().unwrap();
    let settings = entourage_sport::config::Settings {
        database_url: database_url(data.path()).await,
        data_dir: data.path().to_owned(),
        secret_key: Some(TEST_SECRET_KEY.into()),
        ..Default::default()
    };
    let config = entourage_sport::config::Config::from_settings(&settings).unwrap();
    let service = entourage_sport::Service::build(config).await.unwrap();
    let app = entourage_sport::api::app(service.state.clone(), entourage_sport::web::mount);
    let client = poem::test::TestClient::new(app);
    let answer = client.get("/readyz").send().await;
    answer.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value =
        serde_json::from_str(&answer.0.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"status": "unavailable", "checks": {"database": "ok", "migrations": "ok", "mail_worker": "not running"}})
    );
    service.state.store.close().await;
}

/// Takes `n` connections of the pool, waiting for each as long as needed.
async fn hold<DB: sqlx::Database>(
    pool: &entourage_sport::store::pool::CountedPool<DB>,
    n: usize,
) -> Vec<sqlx::pool::PoolConnection<DB>> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(pool.acquire().await.expect("a connection"));
    }
    held
}

#[tokio::test]
async fn the_pool_counts_the_tasks_waiting_for_a_connection() {
    use entourage_sport::store::Store;
    let app = spawn_app().await;
    let max = app.store.pool_state().max;
    // Every connection taken: the next query waits, and is counted while it does.
    let (sqlite, postgres) = match &app.store {
        Store::Sqlite { pool, .. } => (hold(pool, max).await, Vec::new()),
        Store::Postgres(pool) => (Vec::new(), hold(pool, max).await),
    };
    assert_eq!(app.store.pool_state().in_use, max);
    let store = app.store.clone();
    let query = tokio::spawn(async move { store.ping().await });
    let mut waiting = 0;
    for _ in 0..100 {
        waiting = app.store.pool_state().waiting;
        if waiting >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(waiting >= 1, "the query waits for a connection");
    drop((sqlite, postgres));
    query
        .await
        .unwrap()
        .expect("the query ran once a connection was free");
    for _ in 0..100 {
        waiting = app.store.pool_state().waiting;
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(waiting, 0, "nobody waits once connections are free");
}
