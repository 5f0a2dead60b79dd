//! Black-box harness: each test starts the real service on a free port with a fresh
//! database (SQLite in a temporary folder, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set) and talks HTTP to it.
#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::Service;

pub mod browser;
pub mod french;
pub mod mail;
pub mod smtp;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Token of the admin created at start.
    pub admin: String,
    pub store: entourage_sport::store::Store,
    pub database_url: String,
    pub data_dir: PathBuf,
    _data: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// How a test wants its service: by default a fresh database, emails as files.
#[derive(Clone, Default)]
pub struct TestOptions {
    pub smtp_url: Option<String>,
    /// Share a database (and data folder) with another instance.
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub hourly_limit: Option<u32>,
    pub max_attempts: Option<i32>,
    /// Skip creating the first admin (a second instance on the same database).
    pub no_admin: bool,
    /// Opens /metrics with this bearer token.
    pub metrics_token: Option<String>,
}

/// The key every test instance signs RSVP links with (instances share it).
pub const TEST_SECRET_KEY: &str = "test-secret-key-0123456789abcdef0123456789";

/// An answer: status, content type and JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .expect("an id in the answer")
            .to_owned()
    }
}

/// A fresh database for one test (or one spawned binary): a new PostgreSQL database
/// when `TEST_DATABASE_URL` is set, else a SQLite file in `data`.
pub async fn database_url(data: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(server) => {
            let name = format!("es_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .expect("TEST_DATABASE_URL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let (base, query) = match server.split_once('?') {
                Some((base, query)) => (base.to_owned(), format!("?{query}")),
                None => (server.clone(), String::new()),
            };
            let (root, _) = base.rsplit_once('/').expect("database URL with a path");
            format!("{root}/{name}{query}")
        }
        None => format!("sqlite://{}", data.join("test.sqlite").display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(TestOptions::default()).await
}

pub async fn spawn_with(options: TestOptions) -> TestApp {
    let (temp, data_dir) = match &options.data_dir {
        Some(dir) => (None, dir.clone()),
        None => {
            let temp = tempfile::tempdir().expect("temporary folder");
            let dir = PathBuf::from(temp.path());
            (Some(temp), dir)
        }
    };
    let database_url = match &options.database_url {
        Some(url) => url.clone(),
        None => database_url(&data_dir).await,
    };
    let settings = Settings {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        smtp_url: options.smtp_url.clone(),
        secret_key: Some(TEST_SECRET_KEY.into()),
        mail_hourly_limit: options.hourly_limit.unwrap_or(20),
        public_url: Some("http://sport.test".into()),
        metrics_token: options.metrics_token.clone(),
        ..Settings::default()
    };
    let mut config = Config::from_settings(&settings).expect("test configuration");
    config.jobs.mail_poll = std::time::Duration::from_millis(100);
    config.jobs.reminder_scan = std::time::Duration::from_millis(300);
    config.jobs.retry_base = std::time::Duration::from_millis(200);
    config.jobs.lease = std::time::Duration::from_secs(3);
    config.jobs.max_attempts = options.max_attempts.unwrap_or(5);
    let service = Service::build(config).await.expect("service starts");
    let store = service.state.store.clone();
    if options.no_admin {
        return finish(service, String::new(), store, database_url, data_dir, temp).await;
    }
    let (_, admin) = create_user(
        &service.state.store,
        &service.state.mailer.signer,
        Actor::System,
        NewUser {
            role: Role::Admin,
            name: "Programme Staff".into(),
            email: "staff@example.org".into(),
            club_id: None,
            structure_id: None,
        },
    )
    .await
    .expect("first admin");
    finish(service, admin, store, database_url, data_dir, temp).await
}

async fn finish(
    service: Service,
    admin: String,
    store: entourage_sport::store::Store,
    database_url: String,
    data_dir: PathBuf,
    temp: Option<tempfile::TempDir>,
) -> TestApp {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, serving) = service
        .bind(async move {
            let _ = stopped.await;
        })
        .await
        .expect("bind a free port");
    let served = tokio::spawn(serving);
    TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        admin,
        store,
        database_url,
        data_dir,
        _data: temp,
        shutdown: Some(stop),
        served: Some(served),
    }
}

impl TestApp {
    /// Stops the service gracefully (in-flight email finished or handed back) and
    /// waits until it has. The returned guard keeps a temporary data folder (and its
    /// SQLite database) until it is dropped.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        self._data.take()
    }

    /// Stops the service abruptly, like a killed process: in-flight work is dropped
    /// where it stands.
    pub fn kill(mut self) {
        if let Some(served) = self.served.take() {
            served.abort();
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
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

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A club signed by the admin, with `name` in `city`.
    pub async fn club(&self, name: &str, city: &str, sports: &[&str]) -> String {
        let answer = self
            .post(
                "/api/v1/clubs",
                &self.admin,
                json!({
                    "name": name,
                    "sports": sports,
                    "address": "12 rue de la Paix",
                    "postal_code": "93140",
                    "city": city,
                    "latitude": 48.9,
                    "longitude": 2.48,
                    "contact_email": "contact@club.example.org",
                    "contact_phone": "+33 1 23 45 67 89",
                    "partnership": {"status": "active", "since": "2026-01-01"}
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.id()
    }

    pub async fn structure(&self, name: &str) -> String {
        let answer = self
            .post(
                "/api/v1/structures",
                &self.admin,
                json!({"name": name, "kind": "shelter", "city": "Paris", "contact_email": "contact@shelter.example.org"}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.id()
    }

    /// A new user's token.
    pub async fn user(
        &self,
        role: &str,
        club_id: Option<&str>,
        structure_id: Option<&str>,
    ) -> String {
        let answer = self
            .post(
                "/api/v1/users",
                &self.admin,
                json!({
                    "role": role,
                    "name": format!("{role} user"),
                    "email": format!("{}@example.org", uuid::Uuid::new_v4().simple()),
                    "club_id": club_id,
                    "structure_id": structure_id,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.body["token"].as_str().expect("token").to_owned()
    }

    /// A weekly Tuesday 18:30 Paris session of `club_id`, created by `token`.
    pub async fn weekly_session(&self, club_id: &str, token: &str, extra: Value) -> String {
        let mut body = json!({
            "title": "Football loisir",
            "sport": "football",
            "start": "2026-03-10T18:30:00",
            "timezone": "Europe/Paris",
            "duration_minutes": 90,
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "capacity": 6
        });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        let answer = self
            .post(&format!("/api/v1/clubs/{club_id}/sessions"), token, body)
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.id()
    }
}

/// Asserts a problem+json answer with `status`, naming `field` when given.
pub fn assert_problem(answer: &Answer, status: u16, field: Option<&str>) {
    assert_eq!(answer.status.as_u16(), status, "{answer:?}");
    assert!(
        answer.content_type.starts_with("application/problem+json"),
        "{answer:?}"
    );
    assert_eq!(answer.body["status"], status, "{answer:?}");
    assert!(answer.body["detail"].is_string(), "{answer:?}");
    if let Some(field) = field {
        assert_eq!(answer.body["field"], field, "{answer:?}");
    }
}
