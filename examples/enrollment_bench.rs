//! Enrollment throughput: 64 concurrent clients enrol distinct participants into
//! sessions with few places, over HTTP, against the real service started in-process;
//! `GET /healthz` throughput in the same run is the floor. Afterwards, every
//! materialised occurrence is checked against its capacity, recounted from the
//! enrollments themselves.
//!
//! cargo run --release --example enrollment_bench -- [--enrollments 20000] [--sessions 200] [--clients 64]
//! DATABASE_URL=postgres://… selects PostgreSQL (a fresh, empty database); default: a
//! temporary SQLite file.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::store::Store;
use entourage_sport::Service;

struct Args {
    enrollments: usize,
    sessions: usize,
    clients: usize,
}

fn args() -> Args {
    let mut parsed = Args {
        enrollments: 20_000,
        sessions: 200,
        clients: 64,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--enrollments", Some(v)) => parsed.enrollments = v,
            ("--sessions", Some(v)) => parsed.sessions = v,
            ("--clients", Some(v)) => parsed.clients = v,
            (flag, _) => panic!("unknown or incomplete flag {flag}"),
        }
    }
    parsed
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs `total` requests from `clients` concurrent clients; returns (per second, latencies).
async fn load<F, Fut>(clients: usize, total: usize, request: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let next = next.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let sent = Instant::now();
                    assert!(request(i).await, "request {i} failed");
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.expect("client task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    (total as f64 / elapsed, latencies)
}

#[tokio::main]
async fn main() {
    let args = args();
    // BENCH_LOG=sqlx=debug shows each statement with its duration.
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let data = tempfile::tempdir().expect("temporary folder");
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", data.path().join("bench.sqlite").display()));
    let settings = Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        data_dir: data.path().to_path_buf(),
        ..Settings::default()
    };
    let service = Service::build(Config::from_settings(&settings).expect("configuration"))
        .await
        .expect("service");
    let store = service.state.store.clone();
    let (_, admin) = create_user(
        &store,
        &service.state.mailer.signer,
        Actor::System,
        NewUser {
            role: Role::Admin,
            name: "Bench".into(),
            email: "bench@example.org".into(),
            club_id: None,
            structure_id: None,
        },
    )
    .await
    .expect("admin");
    let (address, serving) = service.bind(std::future::pending()).await.expect("bind");
    tokio::spawn(serving);
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let (post_client, post_base) = (client.clone(), base.clone());
    let post = move |path: String, token: String, body: serde_json::Value| {
        let client = post_client.clone();
        let base = post_base.clone();
        async move {
            let response = client
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(status.is_success(), "{path}: {status} {body}");
            body
        }
    };

    let seeding = Instant::now();
    let structure = post(
        "/api/v1/structures".into(),
        admin.clone(),
        json!({"name": "Foyer", "kind": "shelter", "city": "Paris"}),
    )
    .await;
    let worker = post(
        "/api/v1/users".into(),
        admin.clone(),
        json!({"role": "social_worker", "name": "Worker", "email": "worker@example.org", "structure_id": structure["id"]}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut sessions = Vec::new();
    for c in 0..(args.sessions / 10).max(1) {
        let club = post(
            "/api/v1/clubs".into(),
            admin.clone(),
            json!({"name": format!("Club {c}"), "sports": ["football"], "address": "1 rue", "postal_code": "75001", "city": "Paris"}),
        )
        .await;
        for s in 0..10 {
            let day = ["MO", "TU", "WE", "TH", "FR"][s % 5];
            let start = [
                "2026-11-30",
                "2026-12-01",
                "2026-12-02",
                "2026-12-03",
                "2026-12-04",
            ][s % 5];
            let session = post(
                format!("/api/v1/clubs/{}/sessions", club["id"].as_str().unwrap()),
                admin.clone(),
                json!({"title": "Foot", "sport": "football", "start": format!("{start}T18:30:00"),
                       "duration_minutes": 90, "rrule": format!("FREQ=WEEKLY;BYDAY={day}"),
                       "capacity": 5 + (s % 4) * 5}),
            )
            .await;
            sessions.push(session["id"].as_str().unwrap().to_owned());
        }
    }
    let participants = Arc::new(std::sync::Mutex::new(Vec::with_capacity(args.enrollments)));
    {
        let participants = participants.clone();
        let post = post.clone();
        let worker = worker.clone();
        load(16, args.enrollments, move |i| {
            let participants = participants.clone();
            let body = json!({"first_name": format!("P{i}"), "last_name": "Bench", "situation": "shelter", "consent": true});
            let request = post("/api/v1/participants".into(), worker.clone(), body);
            async move {
                let created = request.await;
                participants.lock().unwrap().push(created["id"].as_str().unwrap().to_owned());
                true
            }
        })
        .await;
    }
    let participants = Arc::new(participants.lock().unwrap().clone());
    let seeded = seeding.elapsed();

    let health_client = client.clone();
    let health_base = base.clone();
    let (health_rate, health) = load(args.clients, args.enrollments, move |_| {
        let request = health_client.get(format!("{health_base}/healthz")).send();
        async move {
            request
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;

    let sessions = Arc::new(sessions);
    let confirmed = Arc::new(AtomicUsize::new(0));
    let (enrol_rate, enrol) = {
        let confirmed = confirmed.clone();
        let post = post.clone();
        load(args.clients, args.enrollments, move |i| {
            let body = json!({"participant_id": participants[i], "session_id": sessions[i % sessions.len()]});
            let request = post("/api/v1/enrollments".into(), worker.clone(), body);
            let confirmed = confirmed.clone();
            async move {
                let answer = request.await;
                if answer["status"] == "confirmed" {
                    confirmed.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
        })
        .await
    };

    let overbooked = overbooked_occurrences(&store).await;
    println!("database: {}", store.backend());
    println!(
        "seeding: {} sessions, {} participants in {:.1} s",
        args.sessions,
        args.enrollments,
        seeded.as_secs_f64()
    );
    println!(
        "| what ({} concurrent clients) | requests | per second | p50 ms | p99 ms |",
        args.clients
    );
    println!("| --- | --- | --- | --- | --- |");
    for (name, rate, latencies) in [
        ("GET /healthz", health_rate, &health),
        ("POST /api/v1/enrollments", enrol_rate, &enrol),
    ] {
        println!(
            "| {name} | {} | {rate:.0} | {:.2} | {:.2} |",
            latencies.len(),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        );
    }
    println!("ratio enrollments/healthz: {:.2}", enrol_rate / health_rate);
    println!(
        "confirmed: {}, waitlisted: {}",
        confirmed.load(Ordering::Relaxed),
        args.enrollments - confirmed.load(Ordering::Relaxed)
    );
    println!("occurrences over capacity (recounted from enrollments): {overbooked}");
    assert_eq!(overbooked, 0, "places invariant broken");
}

/// Occurrences whose confirmed enrollments, counted afresh, exceed their capacity.
async fn overbooked_occurrences(store: &Store) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM occurrences o WHERE o.capacity < (
        SELECT COUNT(*) FROM enrollments e
        WHERE e.session_id = o.session_id AND e.status = 'confirmed'
          AND ((e.scope = 'series' AND e.from_key <= o.occurrence_key)
            OR (e.scope = 'occurrence' AND e.occurrence_key = o.occurrence_key)))";
    match store {
        Store::Sqlite { pool, .. } => sqlx::query_scalar(SQL).fetch_one(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await.unwrap(),
    }
}
