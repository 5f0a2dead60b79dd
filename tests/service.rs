//! The service as a whole: command line, configuration, errors, accounts and clubs.

mod common;

use std::process::Command;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;

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

// ---------------------------------------------------------------------------------
// Operator commands: check, backup; instances starting together on PostgreSQL
// ---------------------------------------------------------------------------------

/// How many migrations the binary carries (one file each, the same on both backends).
fn migrations() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("the migrations folder")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count()
}

/// The binary with only `vars` from the settings' variables (none inherited from the
/// shell running the tests); stdout, stderr and the exit code.
fn operator(args: &[&str], vars: &[(&str, &str)]) -> (String, String, Option<i32>) {
    let mut command = Command::new(BINARY);
    command.args(args);
    for name in [
        "DATABASE_URL",
        "BIND",
        "PUBLIC_URL",
        "SMTP_URL",
        "MAIL_FROM",
        "MAIL_ORGANIZER",
        "SECRET_KEY",
        "TEMPLATES_DIR",
        "DATA_DIR",
        "LOG_FORMAT",
    ] {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    let output = command.output().expect("the binary runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code(),
    )
}

/// The line of check `name`, whatever its outcome.
fn check_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| {
            line.get(5..).is_some_and(|rest| {
                rest.starts_with(&format!("{name} ")) || rest.starts_with(&format!("{name}:"))
            })
        })
        .unwrap_or_else(|| panic!("no line for {name} in:\n{stdout}"))
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn check_prints_a_line_per_check_and_fails_naming_the_check() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let url = format!("sqlite://{}", data.path().join("check.sqlite").display());
    let smtp = common::smtp::SmtpServer::start();
    let smtp_url = smtp.url();

    // A database not created yet: reported, not created, every migration pending.
    let (stdout, stderr, code) = operator(
        &["check"],
        &[
            ("DATABASE_URL", &url),
            ("DATA_DIR", &dir),
            ("SMTP_URL", &smtp_url),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        check_line(&stdout, "database").contains("not created yet"),
        "{stdout}"
    );
    assert!(
        check_line(&stdout, "migrations").starts_with(&format!(
            "ok   migrations (0 applied, {} pending: 0001_",
            migrations()
        )),
        "{stdout}"
    );
    assert!(
        !data.path().join("check.sqlite").exists(),
        "check created the database"
    );
    assert!(
        !data.path().join("secret_key").exists(),
        "check generated a key"
    );

    // A good configuration, migrated: every line ok, exit 0, nothing sent.
    let (_, _, migrated) = operator(&["migrate"], &[("DATABASE_URL", &url), ("DATA_DIR", &dir)]);
    assert_eq!(migrated, Some(0));
    let (stdout, stderr, code) = operator(
        &["check"],
        &[
            ("DATABASE_URL", &url),
            ("DATA_DIR", &dir),
            ("SMTP_URL", &smtp_url),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for name in [
        "configuration",
        "secret key",
        "database",
        "migrations",
        "smtp",
        "email templates",
        "page templates",
    ] {
        assert!(check_line(&stdout, name).starts_with("ok   "), "{stdout}");
    }
    assert!(
        check_line(&stdout, "database").contains(&format!(
            "sqlite, {}",
            data.path().join("check.sqlite").display()
        )),
        "{stdout}"
    );
    assert!(
        check_line(&stdout, "migrations")
            .contains(&format!("{} applied, none pending", migrations())),
        "{stdout}"
    );
    assert!(check_line(&stdout, "smtp").contains(&smtp_url), "{stdout}");
    assert_eq!(smtp.count(), 0, "check sent a message");

    // No SMTP_URL: the outbox folder is checked instead.
    let (stdout, _, code) = operator(&["check"], &[("DATABASE_URL", &url), ("DATA_DIR", &dir)]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        check_line(&stdout, "outbox folder").starts_with("ok   outbox folder"),
        "{stdout}"
    );

    // A relay that does not answer: its line fails, naming it without the password;
    // the other checks still run; the exit status says it failed.
    let port = closed_port();
    let broken = format!("smtp://mailer:hunter2-secret@127.0.0.1:{port}");
    let (stdout, stderr, code) = operator(
        &["check"],
        &[
            ("DATABASE_URL", &url),
            ("DATA_DIR", &dir),
            ("SMTP_URL", &broken),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let line = check_line(&stdout, "smtp");
    assert!(line.starts_with("FAIL smtp: "), "{stdout}");
    assert!(
        line.contains(&format!("smtp://mailer:***@127.0.0.1:{port}")),
        "{stdout}"
    );
    assert!(
        !format!("{stdout}{stderr}").contains("hunter2"),
        "{stdout}{stderr}"
    );
    for name in [
        "database",
        "migrations",
        "email templates",
        "page templates",
    ] {
        assert!(check_line(&stdout, name).starts_with("ok   "), "{stdout}");
    }

    // An unreachable database: it fails, the migrations are skipped, the rest runs.
    let database = format!(
        "postgres://sport:hunter2-secret@127.0.0.1:{}/sport",
        closed_port()
    );
    let (stdout, stderr, code) = operator(
        &["check"],
        &[
            ("DATABASE_URL", &database),
            ("DATA_DIR", &dir),
            ("SECRET_KEY", TEST_SECRET_KEY),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let line = check_line(&stdout, "database");
    assert!(line.starts_with("FAIL database: "), "{stdout}");
    assert!(line.contains("postgres://sport:***@127.0.0.1:"), "{stdout}");
    assert!(
        check_line(&stdout, "migrations").starts_with("skip migrations"),
        "{stdout}"
    );
    assert!(
        check_line(&stdout, "email templates").starts_with("ok   "),
        "{stdout}"
    );
    assert!(
        !format!("{stdout}{stderr}").contains("hunter2"),
        "{stdout}{stderr}"
    );

    // An invalid setting: the configuration line names it, exit 2.
    let (stdout, _, code) = operator(&["check"], &[("DATABASE_URL", &url), ("BIND", "here")]);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.starts_with("FAIL configuration: BIND"), "{stdout}");
}

/// Clients register participants over HTTP while the binary takes a backup. Every
/// participant whose creation had been answered (so committed) before the backup
/// began is in the copy, the copy passes integrity_check, and a service started on
/// a copy of it serves them: the restore in docs/backup.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_holds_every_committed_write() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let data = tempfile::tempdir().unwrap();
    let database = data.path().join("live.sqlite");
    let url = format!("sqlite://{}", database.display());
    // Backups are SQLite's: this test runs on SQLite whatever TEST_DATABASE_URL says.
    let app = spawn_with(TestOptions {
        database_url: Some(url.clone()),
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let structure = app.structure("Foyer Load").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let app = Arc::new(app);

    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..4 {
        let (app, worker, answered, stop) =
            (app.clone(), worker.clone(), answered.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let created = app
                    .post(
                        "/api/v1/participants",
                        &worker,
                        json!({
                            "first_name": format!("Load{client}x{n}"),
                            "last_name": "Test",
                            "language": "fr",
                            "situation": "shelter",
                            "notify_referrer": false,
                            "consent": true
                        }),
                    )
                    .await;
                assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
                answered.lock().unwrap().push(created.id());
            }
        }));
    }
    while answered.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let out = data.path().join("backups/backup.sqlite");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let committed_before: Vec<String> = answered.lock().unwrap().clone();
    let backup = {
        let (url, out) = (url.clone(), out.display().to_string());
        tokio::task::spawn_blocking(move || {
            operator(&["backup", "--out", &out], &[("DATABASE_URL", &url)])
        })
    };
    let (stdout, stderr, code) = backup.await.unwrap();
    let answered_during = answered.lock().unwrap().len();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("wrote {}", out.display())),
        "{stdout}"
    );
    assert!(stdout.contains("integrity_check ok"), "{stdout}");
    assert!(stdout.contains("participants"), "{stdout}");
    let total = answered.lock().unwrap().len();
    assert!(
        answered_during > committed_before.len() && total > answered_during,
        "the writes went on while the backup ran: {} before, {answered_during} by its end, {total} in all",
        committed_before.len()
    );

    // The copy, read directly: whole, with every write answered before it began.
    let mut copy = sqlx::SqliteConnection::connect(&format!("sqlite://{}", out.display()))
        .await
        .unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let held: std::collections::HashSet<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM participants")
            .fetch_all(&mut copy)
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.to_string())
            .collect();
    copy.close().await.unwrap();
    let missing: Vec<&String> = committed_before
        .iter()
        .filter(|id| !held.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "committed before the backup, not in it: {missing:?}"
    );
    assert!(held.len() <= total);

    // Never overwritten.
    let size = std::fs::metadata(&out).unwrap().len();
    let again = {
        let (url, out) = (url.clone(), out.display().to_string());
        tokio::task::spawn_blocking(move || {
            operator(&["backup", "--out", &out], &[("DATABASE_URL", &url)])
        })
    };
    let (stdout, stderr, code) = again.await.unwrap();
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("already exists: not overwritten"),
        "{stderr}"
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len(), size);

    // Restore: the service stopped, the backup in the database's place, started again.
    let app = Arc::into_inner(app).expect("clients finished");
    let _data_guard = app.stop().await;
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("restored.sqlite");
    std::fs::copy(&out, &restored).unwrap();
    let app = spawn_with(TestOptions {
        database_url: Some(format!("sqlite://{}", restored.display())),
        data_dir: Some(restored_dir.path().to_path_buf()),
        no_admin: true,
        ..Default::default()
    })
    .await;
    for id in [&committed_before[0], committed_before.last().unwrap()] {
        let found = app
            .get(&format!("/api/v1/participants/{id}"), &worker)
            .await;
        assert_eq!(found.status, StatusCode::OK, "{found:?}");
    }
    app.stop().await;
}

#[test]
fn backup_on_postgresql_points_to_pg_dump() {
    let (stdout, stderr, code) = operator(
        &["backup", "--out", "entourage.dump"],
        &[(
            "DATABASE_URL",
            "postgres://sport:hunter2-secret@db.example.org:5432/sport",
        )],
    );
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "pg_dump --format=custom --file=entourage.dump 'postgres://sport:***@db.example.org:5432/sport'"
        ),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("hunter2"), "{stderr}");
}

/// Three instances start at once on one fresh PostgreSQL database: sqlx's migrator
/// holds an advisory lock, so one applies the migrations while the others wait; each
/// is built (so migrated) before it can bind, and each serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_postgresql_migrate_once() {
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("skipped: instances_starting_together_on_postgresql_migrate_once needs TEST_DATABASE_URL");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let url = database_url(data.path()).await;
    let builds: Vec<_> = (0..3)
        .map(|_| {
            let settings = entourage_sport::config::Settings {
                database_url: url.clone(),
                bind: "127.0.0.1:0".into(),
                data_dir: data.path().to_path_buf(),
                secret_key: Some(TEST_SECRET_KEY.into()),
                ..Default::default()
            };
            let config = entourage_sport::config::Config::from_settings(&settings).unwrap();
            tokio::spawn(async move {
                let service = entourage_sport::Service::build(config).await?;
                // Built means migrated: the schema is current before anything binds.
                let status = service.state.store.migration_status().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((service, status))
            })
        })
        .collect();
    let expected = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    let mut stops = Vec::new();
    for build in builds {
        let (service, status) = build.await.unwrap().expect("every instance starts");
        assert!(status.pending.is_empty(), "{status:?}");
        assert_eq!(status.applied, expected, "{status:?}");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (address, serving) = service
            .bind(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        let served = tokio::spawn(serving);
        let health = reqwest::get(format!("http://{address}/healthz"))
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        stops.push((stop, served));
    }
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT version, count(*), bool_and(success) FROM _sqlx_migrations GROUP BY version ORDER BY version",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    assert_eq!(rows.len(), expected, "{rows:?}");
    assert!(
        rows.iter().all(|(_, count, ok)| *count == 1 && *ok),
        "{rows:?}"
    );
    for (stop, served) in stops {
        let _ = stop.send(());
        served.await.unwrap().unwrap();
    }
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
