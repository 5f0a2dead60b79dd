//! Reminder delivery throughput: N reminders (default 10,000) go through the outbox —
//! written by the reminder job, claimed, composed from the database (templates, MIME),
//! sent over pooled SMTP, recorded — to a local SMTP sink. In the same run, lettre alone
//! sends a rendered reminder of the same size to the same sink with the same pool and
//! concurrency: the floor the outbox is measured against.
//!
//! cargo run --release --example reminder_bench -- [--reminders 10000]
//! DATABASE_URL=postgres://… selects PostgreSQL (a fresh, empty database, SECRET_KEY is
//! set by the benchmark); default: a temporary SQLite file.

#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use chrono_tz::Europe::Paris;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use tokio::sync::Semaphore;

use entourage_sport::config::{Config, Settings};
use entourage_sport::domain::access::Role;
use entourage_sport::mail::context::{MailContext, MessageKind};
use entourage_sport::mail::lang::Lang;
use entourage_sport::mail::templates::Templates;
use entourage_sport::mail::transport::SMTP_CONNECTIONS;
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::Service;

/// Occurrences of a daily session from tomorrow on inside a 336-hour (two-week)
/// reminder window: at least 13.
const OCCURRENCES_IN_WINDOW: usize = 13;
const PLACES: usize = 500;

fn reminders_wanted() -> usize {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match raw.as_slice() {
        [] => 10_000,
        [flag, value] if flag == "--reminders" => value.parse().expect("a number"),
        _ => panic!("usage: reminder_bench [--reminders N]"),
    }
}

/// CPU time used by this process so far (all threads: service, sink, lettre), from
/// /proc, in seconds; 0 where /proc is missing.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// lettre alone: `total` copies of a rendered reminder, as many in flight as the worker.
async fn raw_rate(sink_url: &str, total: usize) -> f64 {
    let templates = Templates::load(None).expect("templates");
    let rendered = templates
        .render(
            Lang::Fr,
            &MailContext::sample(MessageKind::Reminder, Lang::Fr),
        )
        .expect("render");
    let from = "Séances sport <no-reply@example.org>".parse().unwrap();
    let to = "Amina <amina@example.net>".parse().unwrap();
    let transport = Arc::new(
        AsyncSmtpTransport::<Tokio1Executor>::from_url(sink_url)
            .unwrap()
            .pool_config(PoolConfig::new().max_size(SMTP_CONNECTIONS))
            .build(),
    );
    let permits = Arc::new(Semaphore::new(SMTP_CONNECTIONS as usize));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let message = entourage_sport::mail::mime::build(
            &from,
            &to,
            &format!("<raw-{i}@example.org>"),
            &rendered,
            None,
        )
        .expect("message");
        let (transport, permit) = (transport.clone(), permits.clone().acquire_owned().await);
        tasks.spawn(async move {
            let _permit = permit;
            transport.send(message).await.expect("raw send");
        });
    }
    while tasks.join_next().await.is_some() {}
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let wanted = reminders_wanted();
    let participants = wanted.div_ceil(OCCURRENCES_IN_WINDOW);
    let sink = smtp::SmtpServer::start_counting();
    let data = tempfile::tempdir().expect("temporary folder");
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", data.path().join("bench.sqlite").display()));
    let settings = Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        data_dir: data.path().to_path_buf(),
        smtp_url: Some(sink.url()),
        secret_key: Some("bench-secret-key-0123456789abcdef0123456789".into()),
        mail_hourly_limit: 1000,
        ..Settings::default()
    };
    let mut config = Config::from_settings(&settings).expect("configuration");
    config.jobs.mail_poll = Duration::from_millis(20);
    // The benchmark writes the reminders itself, at a known instant.
    config.jobs.reminder_scan = Duration::from_secs(3600);
    let timing = config.jobs.clone();
    let service = Service::build(config).await.expect("service");
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
    let client = reqwest::Client::new();
    let post = |path: &str, token: &str, body: serde_json::Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await.expect("request");
            assert!(
                response.status().is_success(),
                "{:?}",
                response.text().await
            );
            response.json::<serde_json::Value>().await.expect("json")
        }
    };
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    let club = id(&post(
        "/api/v1/clubs",
        &admin,
        json!({"name": "AS Bondy", "sports": ["football"], "address": "12 rue de la Paix",
               "postal_code": "93140", "city": "Bondy", "latitude": 48.9, "longitude": 2.48,
               "contact_phone": "+33 1 23 45 67 89", "partnership": {"status": "active"}}),
    )
    .await);
    let structure = id(&post(
        "/api/v1/structures",
        &admin,
        json!({"name": "Abri", "kind": "shelter", "city": "Paris"}),
    )
    .await);
    let worker = post(
        "/api/v1/users",
        &admin,
        json!({"role": "social_worker", "name": "Worker", "email": "worker@example.org",
               "structure_id": structure}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tomorrow = (Utc::now().with_timezone(&Paris) + Span::days(1)).date_naive();
    let mut sessions = Vec::new();
    for _ in 0..participants.div_ceil(PLACES) {
        sessions.push(id(&post(
            &format!("/api/v1/clubs/{club}/sessions"),
            &admin,
            json!({"title": "Football loisir", "sport": "football",
                   "start": format!("{tomorrow}T18:30:00"), "timezone": "Europe/Paris",
                   "duration_minutes": 90, "rrule": "FREQ=DAILY", "capacity": PLACES,
                   "reminder_hours_before": 336, "what_to_bring": "Baskets"}),
        )
        .await));
    }
    let setup = Instant::now();
    for i in 0..participants {
        let participant = id(&post(
            "/api/v1/participants",
            &worker,
            json!({"first_name": format!("P{i}"), "last_name": "Bench",
                   "email": format!("p{i}@example.net"), "language": "fr",
                   "situation": "other", "consent": true}),
        )
        .await);
        post(
            "/api/v1/enrollments",
            &worker,
            json!({"participant_id": participant, "session_id": sessions[i / PLACES]}),
        )
        .await;
    }
    let invitations = wait_until_drained(&store).await;
    eprintln!(
        "setup: {participants} participants enrolled, {invitations} invitations delivered ({:.1} s)",
        setup.elapsed().as_secs_f64()
    );

    // BENCH_OUTBOX_ONLY=1 leaves lettre alone out (for profiling the outbox).
    let raw_too = std::env::var("BENCH_OUTBOX_ONLY").is_err();
    let cpu = cpu_seconds();
    let raw_before = if raw_too {
        raw_rate(&sink.url(), wanted).await
    } else {
        0.0
    };
    let raw_cpu = (cpu_seconds() - cpu) / wanted as f64;

    if let Some(pause) = std::env::var("BENCH_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // Lets a profiler attach after the setup (perf record --delay).
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let before = sink.count();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let written = entourage_sport::jobs::reminders::enqueue_due(&store, &timing)
        .await
        .expect("reminders written");
    let enqueue = started.elapsed();
    wait_until_drained(&store).await;
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = sink.count() - before;
    let outbox_cpu = (cpu_seconds() - cpu) / delivered.max(1) as f64;
    let outbox_rate = delivered as f64 / elapsed;

    let raw_after = if raw_too {
        raw_rate(&sink.url(), wanted).await
    } else {
        0.0
    };
    let raw = (raw_before + raw_after) / 2.0;
    let backend = store.backend();
    println!("backend: {backend}");
    println!(
        "reminders written: {written} in {:.0} ms; delivered through the outbox: {delivered} in {elapsed:.2} s",
        enqueue.as_secs_f64() * 1000.0
    );
    println!("outbox: {outbox_rate:.0} messages/s");
    println!("lettre alone: {raw_before:.0} and {raw_after:.0} messages/s (mean {raw:.0})");
    println!("ratio outbox / lettre alone: {:.2}", outbox_rate / raw);
    println!(
        "CPU per message (all threads): outbox {:.0} µs, lettre alone {:.0} µs",
        outbox_cpu * 1e6,
        raw_cpu * 1e6
    );
    let counts = store.outbox_counts().await.expect("counts");
    println!("outbox rows by status: {counts:?}");
}

/// Waits until nothing is pending or being sent; returns how many were sent in all.
async fn wait_until_drained(store: &entourage_sport::store::Store) -> i64 {
    loop {
        let counts = store.outbox_counts().await.expect("counts");
        let busy = counts
            .iter()
            .any(|(status, n)| (status == "pending" || status == "sending") && *n > 0);
        if !busy {
            return counts
                .iter()
                .filter(|(status, _)| status == "sent")
                .map(|(_, n)| *n)
                .sum();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
