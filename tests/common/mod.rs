//! Black-box harness: each test starts the real service on a free port with a fresh
//! database (SQLite in a temporary folder, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set) and talks HTTP to it.
#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;

use entourage_sport::accounts::{create_user, NewUser};
use entourage_sport::config::{Config, Settings};
use entourage_sport::Service;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Token of the admin created at start.
    pub admin: String,
    _data: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

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

async fn database_url(data: &std::path::Path) -> String {
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
    let data = tempfile::tempdir().expect("temporary folder");
    let settings = Settings {
        database_url: database_url(data.path()).await,
        bind: "127.0.0.1:0".into(),
        data_dir: PathBuf::from(data.path()),
        ..Settings::default()
    };
    let config = Config::from_settings(&settings).expect("test configuration");
    let service = Service::build(config).await.expect("service starts");
    let (_, admin) = create_user(
        &service.state.store,
        NewUser {
            role: "admin".into(),
            name: "Programme Staff".into(),
            email: "staff@example.org".into(),
            club_id: None,
            structure_id: None,
        },
    )
    .await
    .expect("first admin");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, serving) = service
        .bind(async move {
            let _ = stopped.await;
        })
        .await
        .expect("bind a free port");
    tokio::spawn(serving);
    TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        admin,
        _data: data,
        _shutdown: stop,
    }
}

impl TestApp {
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
