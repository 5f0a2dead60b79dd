//! Email delivery through a real SMTP server and a real database: retries while the
//! relay refuses, no second copy after a killed process, permanent rejections (dead,
//! the social worker told), the hourly limit per address, `.eml` files without a relay,
//! the admin outbox, and two instances sharing a PostgreSQL database.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::mail::parse;
use common::smtp::{Mode, Received, SmtpServer};
use common::*;
use mailparse::{MailHeaderMap, ParsedMail};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);
/// MAIL_FROM is left at its default (`no-reply@localhost`) everywhere here.
const MAIL_DOMAIN: &str = "localhost";

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

struct World {
    app: TestApp,
    club: String,
    manager: String,
    worker: String,
    worker_email: String,
}

async fn world(options: TestOptions) -> World {
    let app = spawn_with(options).await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let me = app.get("/api/v1/me", &worker).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    let worker_email = me.body["email"].as_str().expect("email").to_lowercase();
    World {
        app,
        club,
        manager,
        worker,
        worker_email,
    }
}

/// A weekly session whose reminders never get in the way (0 h before: due only at the
/// start, when they are skipped).
async fn session(w: &World, extra: Value) -> String {
    let mut body = json!({"reminder_hours_before": 0});
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    w.app.weekly_session(&w.club, &w.manager, body).await
}

/// A participant of the world's social worker: (id, code).
async fn participant(w: &World, first: &str, email: &str, situation: &str) -> (String, String) {
    let answer = w
        .app
        .post(
            "/api/v1/participants",
            &w.worker,
            json!({
                "first_name": first,
                "last_name": "Diallo",
                "email": email,
                "language": "fr",
                "situation": situation,
                "consent": true,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let code = answer.body["code"].as_str().expect("a code").to_owned();
    (answer.id(), code)
}

async fn enrol(w: &World, participant: &str, session: &str) -> String {
    let answer = w
        .app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": participant, "session_id": session}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["status"], "confirmed", "{answer:?}");
    answer.id()
}

/// Polls `probe` (every 50 ms) until it gives a value; panics after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The admin outbox (newest first), optionally by status.
async fn outbox(app: &TestApp, status: Option<&str>) -> Vec<Value> {
    let path = match status {
        Some(status) => format!("/api/v1/admin/outbox?status={status}&limit=500"),
        None => "/api/v1/admin/outbox?limit=500".to_owned(),
    };
    let answer = app.get(&path, &app.admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().expect("items").clone()
}

/// The outbox item of `kind` for `enrollment` and `audience`, if any.
async fn item(app: &TestApp, kind: &str, enrollment: &str, audience: &str) -> Option<Value> {
    outbox(app, None).await.into_iter().find(|i| {
        i["kind"] == kind && i["enrollment_id"] == enrollment && i["audience"] == audience
    })
}

fn outcomes(item: &Value) -> Vec<String> {
    item["delivery_attempts"]
        .as_array()
        .expect("delivery_attempts")
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn message_id(message: &Received) -> String {
    parse(message)
        .headers
        .get_first_value("Message-ID")
        .expect("a Message-ID")
}

/// Subject and every decoded text part (plain, html, calendar) of a message.
fn readable(message: &Received) -> String {
    fn walk(part: &ParsedMail<'_>, out: &mut String) {
        if part.subparts.is_empty() && part.ctype.mimetype.starts_with("text/") {
            out.push_str(&part.get_body().expect("decodable part"));
            out.push('\n');
        }
        for sub in &part.subparts {
            walk(sub, out);
        }
    }
    let parsed = parse(message);
    let mut out = parsed
        .headers
        .get_first_value("Subject")
        .unwrap_or_default();
    out.push('\n');
    walk(&parsed, &mut out);
    out
}

fn uuid_of(value: &Value) -> uuid::Uuid {
    value.as_str().expect("a uuid").parse().expect("a uuid")
}

fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .expect("a time")
        .parse()
        .expect("an RFC 3339 time")
}

// ---------------------------------------------------------------------------------
// 1. Transient refusals: retried, then delivered once
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn delivery_is_retried_while_the_server_refuses_then_done_once() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::RefuseTemporarily);
    let w = world(TestOptions {
        smtp_url: Some(smtp.url()),
        // Room for the retries seen while the test watches (200, 400, 800 ms … apart).
        max_attempts: Some(8),
        ..Default::default()
    })
    .await;
    let session = session(&w, json!({})).await;
    let (amina, _) = participant(&w, "Amina", "amina.retry@example.net", "shelter").await;
    let enrollment = enrol(&w, &amina, &session).await;

    let refused = eventually("two retries logged", WAIT, || async {
        let found = item(&w.app, "invitation", &enrollment, "participant").await?;
        let retries = outcomes(&found).iter().filter(|o| *o == "retry").count();
        (retries >= 2).then_some(found)
    })
    .await;
    // Waiting for its next attempt, or already being tried again: never given up.
    assert!(
        refused["status"] == "pending" || refused["status"] == "sending",
        "{refused}"
    );
    assert!(refused["last_error"].is_string(), "{refused}");
    assert!(
        smtp.attempts() >= 2,
        "the server refused {}",
        smtp.attempts()
    );
    assert_eq!(smtp.count(), 0, "nothing accepted while refusing");

    smtp.set_mode(Mode::Accept);
    let sent = eventually("the invitation sent", WAIT, || async {
        let found = item(&w.app, "invitation", &enrollment, "participant").await?;
        (found["status"] == "sent").then_some(found)
    })
    .await;

    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "exactly one message: {got:?}");
    let message = &got[0];
    assert_eq!(message.to, vec!["amina.retry@example.net".to_owned()]);

    // Attempts numbered 1..n: retries, then the one that went through.
    let logged = outcomes(&sent);
    let n = logged.len();
    assert!(n >= 3, "{sent}");
    assert!(
        logged[..n - 1].iter().all(|o| o == "retry") && logged[n - 1] == "sent",
        "{logged:?}"
    );
    let numbers: Vec<i64> = sent["delivery_attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=n as i64).collect::<Vec<_>>(), "{sent}");
    assert_eq!(sent["attempts"], n as i64, "{sent}");
    assert!(sent["sent_at"].is_string(), "{sent}");
    for a in &sent["delivery_attempts"].as_array().unwrap()[..n - 1] {
        assert!(a["error"].is_string(), "a retry says why: {a}");
    }

    // The Message-ID comes from the outbox row: the same on every attempt.
    let id = message_id(message);
    assert_eq!(
        id,
        format!("<{}@{MAIL_DOMAIN}>", sent["id"].as_str().unwrap()),
        "{id}"
    );
    assert!(id.ends_with(&format!("@{MAIL_DOMAIN}>")), "{id}");

    // Nothing else turns up afterwards (no late copy of a refused attempt).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let all = smtp.received();
    assert_eq!(all.len(), 1, "{all:?}");
    let ids: BTreeSet<String> = all.iter().map(message_id).collect();
    assert_eq!(ids.len(), all.len(), "Message-IDs unique");
    w.app.stop().await;
}

// ---------------------------------------------------------------------------------
// 2. The process killed in the middle of DATA: one copy only
// ---------------------------------------------------------------------------------

/// A TCP relay between the service and the SMTP server that counts how many times the
/// service finished sending a message body (the "\r\n.\r\n" that ends DATA). When either
/// side closes, both are closed, so the server sees a killed client go.
struct Tap {
    port: u16,
    ends_of_data: Arc<AtomicUsize>,
}

fn tap(upstream: SocketAddr) -> Tap {
    let listener = TcpListener::bind("127.0.0.1:0").expect("tap port");
    let port = listener.local_addr().unwrap().port();
    let ends_of_data = Arc::new(AtomicUsize::new(0));
    let counter = ends_of_data.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let counter = counter.clone();
            std::thread::spawn(move || pipe(client, server, Some(counter)));
            std::thread::spawn(move || pipe(server2, client2, None));
        }
    });
    Tap { port, ends_of_data }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, ends: Option<Arc<AtomicUsize>>) {
    const END: &[u8] = b"\r\n.\r\n";
    let mut buf = [0u8; 16 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some(ends) = &ends {
            tail.extend_from_slice(&buf[..n]);
            let found = tail.windows(END.len()).filter(|w| *w == END).count();
            ends.fetch_add(found, Ordering::SeqCst);
            let keep = tail.len().saturating_sub(END.len() - 1);
            tail.drain(..keep);
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// no service behind.
struct Service {
    child: std::process::Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Binary {
    database_url: String,
    smtp_url: String,
    data_dir: PathBuf,
    log: PathBuf,
}

impl Binary {
    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_entourage-sport"));
        command
            .env_clear()
            .env("DATABASE_URL", &self.database_url)
            .env("SMTP_URL", &self.smtp_url)
            .env("DATA_DIR", &self.data_dir)
            .env("SECRET_KEY", TEST_SECRET_KEY)
            .env("PUBLIC_URL", "http://sport.test")
            .env("MAIL_LEASE_SECONDS", "2")
            .env("MAIL_POLL_MILLIS", "100")
            .env(
                "TEMPLATES_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/email-templates"),
            )
            .env("RUST_LOG", "info");
        command
    }

    /// `users create --role admin`: the token printed on the last line.
    fn create_admin(&self) -> String {
        let output = self
            .command()
            .args([
                "users",
                "create",
                "--role",
                "admin",
                "--name",
                "Programme Staff",
                "--email",
                "staff@example.org",
            ])
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "users create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .expect("a token line")
            .trim()
            .to_owned()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn serve(&self) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = self
            .command()
            .env("BIND", format!("127.0.0.1:{port}"))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the binary starts");
        let mut service = Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!("the service exited ({status}): {}", self.log_text());
            }
            let health = client.get(format!("{}/healthz", service.base)).send().await;
            if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                return service;
            }
            assert!(
                Instant::now() < deadline,
                "service not up: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn call(base: &str, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_not_sent_twice_when_the_service_is_killed_mid_delivery() {
    let temp = tempfile::tempdir().expect("temporary folder");
    let smtp = SmtpServer::start();
    let relay = tap(smtp.addr());
    let binary = Binary {
        database_url: database_url(temp.path()).await,
        smtp_url: format!("smtp://127.0.0.1:{}", relay.port),
        data_dir: temp.path().join("data"),
        log: temp.path().join("service.log"),
    };
    let admin = binary.create_admin();
    let first = binary.serve().await;
    let base = first.base.clone();

    let club = call(
        &base,
        Method::POST,
        "/api/v1/clubs",
        &admin,
        Some(json!({
            "name": "AS Bondy", "sports": ["football"], "address": "12 rue de la Paix",
            "postal_code": "93140", "city": "Bondy", "latitude": 48.9, "longitude": 2.48,
            "contact_email": "contact@club.example.org", "contact_phone": "+33 1 23 45 67 89",
            "partnership": {"status": "active", "since": "2026-01-01"}
        })),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let structure = call(
        &base,
        Method::POST,
        "/api/v1/structures",
        &admin,
        Some(json!({"name": "Abri", "kind": "shelter", "city": "Paris",
            "contact_email": "contact@shelter.example.org"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let manager = call(
        &base,
        Method::POST,
        "/api/v1/users",
        &admin,
        Some(
            json!({"role": "club_manager", "name": "Manager", "email": "manager@example.org",
            "club_id": club}),
        ),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let worker = call(
        &base,
        Method::POST,
        "/api/v1/users",
        &admin,
        Some(
            json!({"role": "social_worker", "name": "Worker", "email": "worker@example.org",
            "structure_id": structure}),
        ),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The accounts' sign-in links go first; the kill is for the invitation.
    eventually(
        "the sign-in links sent",
        Duration::from_secs(30),
        || async {
            let page = call(&base, Method::GET, "/api/v1/admin/outbox", &admin, None).await;
            let items = page["items"].as_array().unwrap().clone();
            let links: Vec<_> = items.iter().filter(|i| i["kind"] == "sign_in").collect();
            (links.len() >= 2 && links.iter().all(|i| i["status"] == "sent")).then_some(())
        },
    )
    .await;
    let links_delivered = relay.ends_of_data.load(Ordering::SeqCst);
    // From now on the relay takes its time: the invitation is still in flight when the
    // service is killed.
    smtp.set_data_delay(Duration::from_secs(3));
    let participant = call(
        &base,
        Method::POST,
        "/api/v1/participants",
        &worker,
        Some(json!({"first_name": "Amina", "last_name": "Diallo",
            "email": "amina.killed@example.net", "language": "fr", "situation": "shelter",
            "consent": true})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = call(
        &base,
        Method::POST,
        &format!("/api/v1/clubs/{club}/sessions"),
        &manager,
        Some(json!({"title": "Football loisir", "sport": "football",
            "start": "2026-03-10T18:30:00", "timezone": "Europe/Paris", "duration_minutes": 90,
            "rrule": "FREQ=WEEKLY;BYDAY=TU", "capacity": 6, "reminder_hours_before": 0})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrollment = call(
        &base,
        Method::POST,
        "/api/v1/enrollments",
        &worker,
        Some(json!({"participant_id": participant, "session_id": session})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The service has written the whole message and waits for the server's 250.
    eventually("the end of DATA", WAIT, || async {
        (relay.ends_of_data.load(Ordering::SeqCst) > links_delivered).then_some(())
    })
    .await;
    let listed = call(
        &base,
        Method::GET,
        "/api/v1/admin/outbox?status=sending",
        &admin,
        None,
    )
    .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["enrollment_id"] == enrollment.as_str()),
        "in flight: {listed}"
    );
    drop(first); // SIGKILL, reaped
    let killed_at = Instant::now();
    smtp.set_data_delay(Duration::ZERO);

    let second = binary.serve().await;
    let base = second.base.clone();
    let sent = eventually("the invitation sent after the restart", WAIT, || async {
        let page = call(
            &base,
            Method::GET,
            "/api/v1/admin/outbox?status=sent",
            &admin,
            None,
        )
        .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["enrollment_id"] == enrollment.as_str() && i["kind"] == "invitation")
            .cloned()
    })
    .await;
    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    let first_arrival = Instant::now();
    // The killed attempt's server thread has settled (3 s delay) and any lease
    // (2 s) has run out well before this.
    let settle = (killed_at + Duration::from_secs(4)).max(first_arrival + Duration::from_secs(3));
    tokio::time::sleep_until(settle.into()).await;
    let all = smtp.received();
    assert_eq!(all.len(), 1, "one copy only: {all:?}");
    assert_eq!(all[0].to, vec!["amina.killed@example.net".to_owned()]);
    assert_eq!(
        message_id(&all[0]),
        format!("<{}@{MAIL_DOMAIN}>", sent["id"].as_str().unwrap())
    );
    let page = call(&base, Method::GET, "/api/v1/admin/outbox", &admin, None).await;
    let mine: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["enrollment_id"] == enrollment.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{page}");
    assert_eq!(mine[0]["status"], "sent", "{page}");
    assert_eq!(outcomes(mine[0]), ["sent"], "{page}");
    drop(second);
}

// ---------------------------------------------------------------------------------
// 3. A permanent rejection
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_rejection_goes_dead_and_reaches_the_social_worker() {
    let smtp = SmtpServer::start();
    let port = smtp.port();
    let address = "amina.gone@example.net";
    smtp.reject_recipient(address);
    let w = world(TestOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let session = session(&w, json!({})).await;
    let (amina, code) = participant(&w, "Amina", address, "migrant").await;
    let enrollment = enrol(&w, &amina, &session).await;

    let dead = eventually("the invitation dead", WAIT, || async {
        let found = item(&w.app, "invitation", &enrollment, "participant").await?;
        (found["status"] == "dead").then_some(found)
    })
    .await;
    assert_eq!(dead["attempts"], 1, "no retry after a 5xx: {dead}");
    assert_eq!(outcomes(&dead), ["dead"], "{dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("550"),
        "{dead}"
    );

    // The social worker is told, with what they need to pass on.
    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    let notice = &got[0];
    assert_eq!(notice.to, vec![w.worker_email.clone()]);
    let text = readable(notice);
    assert!(text.contains("Message non remis"), "{text}");
    assert!(text.contains("l'invitation"), "what: {text}");
    assert!(text.contains("Quand : mardi"), "when: {text}");
    assert!(text.contains("à 18 h 30"), "when: {text}");
    assert!(text.contains("12 rue de la Paix"), "where: {text}");
    assert!(
        text.contains("contact@club.example.org") || text.contains("+33 1 23 45 67 89"),
        "club contact: {text}"
    );
    assert!(text.contains(&code), "participant code {code}: {text}");
    let lower = text.to_lowercase();
    for word in ["migrant", "situation", "précarité", "exil"] {
        assert!(!lower.contains(word), "{word} in the notice: {text}");
    }
    let failure = eventually("the notice recorded", WAIT, || async {
        let found = item(&w.app, "delivery_failed", &enrollment, "referrer").await?;
        (found["status"] == "sent").then_some(found)
    })
    .await;
    assert_eq!(
        message_id(notice),
        format!("<{}@{MAIL_DOMAIN}>", failure["id"].as_str().unwrap())
    );
    let rejected = smtp.attempts();
    assert_eq!(rejected, 1, "one RCPT refused, no retry");

    // Only a dead message can be retried.
    let conflict = w
        .app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                failure["id"].as_str().unwrap()
            ),
            &w.app.admin,
            json!({}),
        )
        .await;
    assert_problem(&conflict, 409, None);
    let unknown = w
        .app
        .post(
            &format!("/api/v1/admin/outbox/{}/retry", uuid::Uuid::new_v4()),
            &w.app.admin,
            json!({}),
        )
        .await;
    assert_problem(&unknown, 404, None);
    let not_admin = w
        .app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                dead["id"].as_str().unwrap()
            ),
            &w.worker,
            json!({}),
        )
        .await;
    assert_problem(&not_admin, 403, None);

    // The address works again (a new server on the same port, without the rejection):
    // the admin sends the dead message again.
    drop(smtp);
    let smtp = SmtpServer::start_on(port);
    let retry_at = Utc::now();
    let retried = w
        .app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                dead["id"].as_str().unwrap()
            ),
            &w.app.admin,
            json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{retried:?}");
    // Queued again (a worker may already hold it: the answer is read after the change).
    assert!(
        retried.body["status"] == "pending" || retried.body["status"] == "sending",
        "{retried:?}"
    );
    assert_eq!(retried.body["attempts"], 0, "{retried:?}");

    let resent = eventually("the retried invitation sent", WAIT, || async {
        let found = item(&w.app, "invitation", &enrollment, "participant").await?;
        (found["status"] == "sent").then_some(found)
    })
    .await;
    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to, vec![address.to_owned()]);
    assert_eq!(message_id(&got[0]), message_id_of(&dead));
    // The delivery log keeps the first death and shows the attempt that succeeded.
    let log = resent["delivery_attempts"].as_array().unwrap();
    let last = log.last().expect("attempts logged");
    assert_eq!(
        outcomes(&resent),
        ["dead", "sent"],
        "the retried attempt is missing from the log: {resent}"
    );
    // Times in the API are whole seconds.
    assert!(
        time_of(&last["at"]) >= retry_at - chrono::Duration::seconds(1),
        "{resent}"
    );
    w.app.stop().await;
}

fn message_id_of(item: &Value) -> String {
    format!("<{}@{MAIL_DOMAIN}>", uuid_of(&item["id"]))
}

// ---------------------------------------------------------------------------------
// 4. The hourly limit per address
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_address_gets_no_more_than_the_hourly_limit_and_the_rest_waits() {
    let smtp = SmtpServer::start();
    let w = world(TestOptions {
        smtp_url: Some(smtp.url()),
        hourly_limit: Some(2),
        ..Default::default()
    })
    .await;
    let mut sessions = Vec::new();
    for title in ["Football", "Futsal", "Basket", "Course"] {
        sessions.push(session(&w, json!({"title": title})).await);
    }
    // Someone else's invitation keeps the worker busy (a slow server) while Amina's
    // four are written, so that the worker then takes all four in one go.
    smtp.set_data_delay(Duration::from_millis(700));
    let (binta, _) = participant(&w, "Binta", "binta.other@example.net", "shelter").await;
    let other = enrol(&w, &binta, &sessions[0]).await;
    eventually("the other invitation in flight", WAIT, || async {
        let found = item(&w.app, "invitation", &other, "participant").await?;
        (found["status"] == "sending").then_some(())
    })
    .await;
    let (amina, _) = participant(&w, "Amina", "amina.busy@example.net", "shelter").await;
    let mut enrollments = Vec::new();
    for session in &sessions {
        enrollments.push(enrol(&w, &amina, session).await);
    }
    smtp.set_data_delay(Duration::ZERO);

    // Sent ones, and pending ones put off by the worker (a later available_at).
    let started = Utc::now();
    let (sent, waiting) = eventually("2 sent and 2 put off", WAIT, || async {
        let items: Vec<Value> = outbox(&w.app, None)
            .await
            .into_iter()
            .filter(|i| i["kind"] == "invitation" && i["enrollment_id"] != other.as_str())
            .collect();
        let sent: Vec<Value> = items
            .iter()
            .filter(|i| i["status"] == "sent")
            .cloned()
            .collect();
        let waiting: Vec<Value> = items
            .iter()
            .filter(|i| {
                i["status"] == "pending"
                    && time_of(&i["available_at"]) > started + chrono::Duration::seconds(30)
            })
            .cloned()
            .collect();
        (sent.len() == 2 && waiting.len() == 2).then_some((sent, waiting))
    })
    .await;
    assert_eq!(sent.len(), 2);
    let got = smtp.wait_for(3, WAIT);
    let to_amina = got
        .iter()
        .filter(|m| m.to == vec!["amina.busy@example.net".to_owned()])
        .count();
    assert_eq!((got.len(), to_amina), (3, 2), "{got:?}");

    let first_sent = sent
        .iter()
        .map(|i| time_of(&i["sent_at"]))
        .min()
        .expect("sent_at");
    for item in &waiting {
        assert_eq!(item["attempts"], 0, "a delay is not an attempt: {item}");
        assert!(
            !outcomes(item).iter().any(|o| o == "dead" || o == "skipped"),
            "{item}"
        );
        let at = time_of(&item["available_at"]);
        let after = at - first_sent;
        assert!(
            after >= chrono::Duration::minutes(59) && after <= chrono::Duration::minutes(61),
            "about an hour after the first one ({first_sent}): {item}"
        );
    }
    assert!(enrollments.iter().all(|e| sent
        .iter()
        .chain(&waiting)
        .any(|i| i["enrollment_id"] == e.as_str())));
    // Several polls later, still two.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.count(), 3);
    let pending = outbox(&w.app, Some("pending")).await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    w.app.stop().await;
}

// ---------------------------------------------------------------------------------
// 5. No relay: .eml files
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_url_messages_are_written_as_eml_files() {
    let w = world(TestOptions::default()).await;
    let session = session(&w, json!({})).await;
    let (amina, _) = participant(&w, "Amina", "amina.files@example.net", "shelter").await;
    enrol(&w, &amina, &session).await;
    let folder = w.app.data_dir.join("outbox");
    let eml = eventually("an .eml file", WAIT, || async {
        let entries = std::fs::read_dir(&folder).ok()?;
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .find(|text| text.contains("amina.files@example.net"))
    })
    .await;
    assert!(eml.contains("method=REQUEST"), "{eml}");
    // The world's accounts may have sign-in emails of their own in the outbox.
    eventually("the invitation's outbox row sent", WAIT, || async {
        let items = outbox(&w.app, Some("sent")).await;
        items
            .iter()
            .any(|i| i["kind"] == "invitation")
            .then_some(())
    })
    .await;
    w.app.stop().await;
}

// ---------------------------------------------------------------------------------
// 6. The admin outbox
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_outbox_is_for_admins_only() {
    let w = world(TestOptions::default()).await;
    let session = session(&w, json!({})).await;
    let (amina, _) = participant(&w, "Amina", "amina.admin@example.net", "shelter").await;
    let enrollment = enrol(&w, &amina, &session).await;
    let sent = eventually("a sent invitation", WAIT, || async {
        let items = outbox(&w.app, Some("sent")).await;
        items
            .iter()
            .any(|i| i["kind"] == "invitation")
            .then_some(items)
    })
    .await;
    assert!(sent.iter().all(|i| i["status"] == "sent"), "{sent:?}");
    let ours = sent
        .iter()
        .find(|i| i["kind"] == "invitation")
        .expect("the invitation");
    assert_eq!(ours["enrollment_id"], enrollment.as_str());
    assert_eq!(ours["recipient"], "a***@example.net", "masked: {ours}");
    assert!(outbox(&w.app, Some("dead")).await.is_empty());

    let path = "/api/v1/admin/outbox?status=sent";
    for token in [&w.worker, &w.manager] {
        let answer = w.app.get(path, token).await;
        assert_problem(&answer, 403, None);
    }
    let anonymous = w.app.call(Method::GET, path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{anonymous:?}");
    let unknown = w
        .app
        .get("/api/v1/admin/outbox?status=lost", &w.app.admin)
        .await;
    assert_problem(&unknown, 422, Some("status"));
    w.app.stop().await;
}

// ---------------------------------------------------------------------------------
// 7. Two instances, one PostgreSQL database, 1,000+ reminders at once
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_postgresql_send_each_reminder_exactly_once() {
    // Two instances on one SQLite file are not a supported deployment (the single
    // writer lives in each process); the claim with SKIP LOCKED is PostgreSQL's.
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        return;
    }
    const PEOPLE: usize = 75; // × 14 occurrences in the reminder window = 1,050
    let began = Instant::now();
    let smtp = SmtpServer::start();
    let w = world(TestOptions {
        smtp_url: Some(smtp.url()),
        hourly_limit: Some(100),
        ..Default::default()
    })
    .await;
    let second = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        database_url: Some(w.app.database_url.clone()),
        data_dir: Some(w.app.data_dir.clone()),
        hourly_limit: Some(100),
        no_admin: true,
        ..Default::default()
    })
    .await;

    // Daily, first occurrence in 30 minutes; no reminder due while people enrol.
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let start = (Utc::now() + chrono::Duration::minutes(30))
        .with_timezone(&paris)
        .naive_local()
        .format("%Y-%m-%dT%H:%M:00")
        .to_string();
    let session = w
        .app
        .weekly_session(
            &w.club,
            &w.manager,
            json!({"start": start, "rrule": "FREQ=DAILY", "capacity": PEOPLE + 5,
                "reminder_hours_before": 0, "enrollment_closes_hours_before": 0}),
        )
        .await;

    let bases = [w.app.base.clone(), second.base.clone()];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PEOPLE {
        let (client, base) = (w.app.client.clone(), bases[i % 2].clone());
        let (worker, session) = (w.worker.clone(), session.clone());
        tasks.spawn(async move {
            let created: Value = client
                .post(format!("{base}/api/v1/participants"))
                .bearer_auth(&worker)
                .json(
                    &json!({"first_name": format!("Person{i}"), "last_name": "Martin",
                    "email": format!("person{i}@example.net"), "language": "fr",
                    "situation": "shelter", "consent": true}),
                )
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("json");
            let answer = client
                .post(format!("{base}/api/v1/enrollments"))
                .bearer_auth(&worker)
                .json(&json!({"participant_id": created["id"], "session_id": session}))
                .send()
                .await
                .expect("sent");
            assert_eq!(answer.status(), StatusCode::CREATED);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("enrolment task");
    }

    // Two weeks of reminders fall due at once (late, but before each occurrence).
    let patched = w
        .app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"reminder_hours_before": 336}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    let queued_at = Instant::now();

    let store = &w.app.store;
    eventually("the outbox drained", Duration::from_secs(60), || async {
        let counts: BTreeMap<String, i64> = store.outbox_counts().await.ok()?.into_iter().collect();
        let busy = counts.get("pending").copied().unwrap_or(0)
            + counts.get("sending").copied().unwrap_or(0);
        let sent = counts.get("sent").copied().unwrap_or(0);
        (busy == 0 && sent >= (PEOPLE * 15) as i64).then_some(())
    })
    .await;
    let drained_in = queued_at.elapsed();

    let rows = store.messages(None, None, 10_000).await.expect("rows");
    let sent_rows: BTreeMap<uuid::Uuid, _> = rows
        .iter()
        .filter(|m| m.status.as_str() == "sent")
        .filter(|m| m.kind != entourage_sport::domain::messages::MessageKind::SignIn)
        .map(|m| (m.id, m))
        .collect();
    let received = smtp.received();
    assert_eq!(received.len(), sent_rows.len(), "received = sent rows");
    // The accounts' sign-in links, filed apart by the test server, went once each too.
    let links_sent = rows
        .iter()
        .filter(|m| m.kind == entourage_sport::domain::messages::MessageKind::SignIn)
        .filter(|m| m.status.as_str() == "sent")
        .count();
    assert_eq!(smtp.sign_ins().len(), links_sent, "sign-in links sent once");
    let mut seen = BTreeSet::new();
    let mut reminders = BTreeSet::new();
    for message in &received {
        let id = message_id(message);
        assert!(seen.insert(id.clone()), "{id} received twice");
        let row_id: uuid::Uuid = id
            .trim_start_matches('<')
            .trim_end_matches(&format!("@{MAIL_DOMAIN}>")[..])
            .parse()
            .expect("a Message-ID from an outbox id");
        let row = sent_rows.get(&row_id).expect("a sent row");
        if row.kind.as_str() == "reminder" {
            let pair = (row.enrollment_id, row.occurrence_key.clone());
            assert!(reminders.insert(pair), "a reminder twice: {row:?}");
        }
    }
    assert!(reminders.len() >= 1_000, "{} reminders", reminders.len());
    let others: Vec<_> = rows
        .iter()
        .filter(|m| m.status.as_str() != "sent")
        .map(|m| (m.kind, m.status, m.last_error.clone()))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    eprintln!(
        "two instances: {} messages ({} reminders) drained in {:.1?}, test {:.1?}",
        received.len(),
        reminders.len(),
        drained_in,
        began.elapsed()
    );
    second.stop().await;
    w.app.stop().await;
}

// ---------------------------------------------------------------------------------
// Metrics: what the worker and the requests count, and nothing personal in it
// ---------------------------------------------------------------------------------

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123";

/// Every sample of a Prometheus text exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = app.client.get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scraped");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_enrolments_and_emails_without_personal_data() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::RefuseTemporarily);
    let w = world(TestOptions {
        smtp_url: Some(smtp.url()),
        max_attempts: Some(8),
        metrics_token: Some(METRICS_TOKEN.into()),
        ..Default::default()
    })
    .await;
    for token in [None, Some("metrics-token-for-the-tests-0124"), Some("")] {
        let (status, _, body) = scrape(&w.app, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
        assert!(!body.contains("entourage_"), "{body}");
    }

    // One invitation refused for a while, then delivered.
    let session = session(&w, json!({})).await;
    let (awa, awa_code) = participant(&w, "Awa", "awa.metrics@example.net", "shelter").await;
    let delivered = enrol(&w, &awa, &session).await;
    eventually("a refused attempt", WAIT, || async {
        let found = item(&w.app, "invitation", &delivered, "participant").await?;
        outcomes(&found).contains(&"retry".to_owned()).then_some(())
    })
    .await;
    smtp.set_mode(Mode::Accept);
    let sent = eventually("the invitation sent", WAIT, || async {
        let found = item(&w.app, "invitation", &delivered, "participant").await?;
        (found["status"] == "sent").then_some(found)
    })
    .await;
    let retries = outcomes(&sent).iter().filter(|o| *o == "retry").count();
    // One refused for good: dead, and the social worker told.
    smtp.reject_recipient("bintou.metrics@example.net");
    let (bintou, bintou_code) =
        participant(&w, "Bintou", "bintou.metrics@example.net", "street").await;
    let dead = enrol(&w, &bintou, &session).await;
    eventually(
        "the refused invitation dead, its notice sent",
        WAIT,
        || async {
            let found = item(&w.app, "invitation", &dead, "participant").await?;
            let notice = item(&w.app, "delivery_failed", &dead, "referrer").await?;
            (found["status"] == "dead" && notice["status"] == "sent").then_some(())
        },
    )
    .await;
    // Refused: already enrolled in this session.
    let again = w
        .app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": awa, "session_id": session}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    // Pages and files count by their route pattern (a page asked for without signing
    // in by the pages' `/app` guard, which answers first), an unknown path as `other`.
    for path in [
        format!("/app/sessions/{session}"),
        "/static/app.css".to_owned(),
        format!("/no/such/{awa}/{awa_code}"),
    ] {
        w.app
            .client
            .get(format!("{}{path}", w.app.base))
            .send()
            .await
            .unwrap();
    }

    let (status, content_type, text) = scrape(&w.app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let m = samples(&text);
    let value = |series: &str| -> f64 {
        *m.get(series)
            .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
    };
    assert_eq!(
        value(r#"entourage_emails_total{kind="invitation",outcome="sent"}"#),
        1.0
    );
    assert_eq!(
        value(r#"entourage_emails_total{kind="invitation",outcome="failed"}"#),
        retries as f64,
        "one failed attempt per logged retry"
    );
    assert_eq!(
        value(r#"entourage_emails_total{kind="invitation",outcome="dead"}"#),
        1.0
    );
    assert_eq!(
        value(r#"entourage_emails_total{kind="delivery_failed",outcome="sent"}"#),
        1.0
    );
    assert_eq!(
        value(r#"entourage_enrollments_total{outcome="confirmed"}"#),
        2.0
    );
    assert_eq!(
        value(r#"entourage_enrollments_total{outcome="waitlisted"}"#),
        0.0
    );
    assert_eq!(
        value(r#"entourage_enrollments_total{outcome="refused"}"#),
        1.0
    );
    assert_eq!(
        value(r#"entourage_http_requests_total{operation="create_enrollment",status="201"}"#),
        2.0
    );
    assert_eq!(
        value(r#"entourage_http_requests_total{operation="create_enrollment",status="409"}"#),
        1.0
    );
    assert_eq!(
        value(r#"entourage_http_request_duration_seconds_count{operation="create_enrollment"}"#),
        3.0
    );
    assert_eq!(
        value(
            r#"entourage_http_request_duration_seconds_bucket{operation="create_enrollment",le="+Inf"}"#
        ),
        3.0
    );
    assert!(m.contains_key(
        r#"entourage_http_request_duration_seconds_bucket{operation="create_enrollment",le="0.005"}"#
    ));
    for series in [
        r#"entourage_http_requests_total{operation="/app",status="303"}"#,
        r#"entourage_http_requests_total{operation="/login",status="200"}"#,
        r#"entourage_http_requests_total{operation="/static/:file",status="200"}"#,
        r#"entourage_http_requests_total{operation="other",status="404"}"#,
    ] {
        assert_eq!(value(series), 1.0, "{series}");
    }
    // Every state of the outbox, read from the database.
    let sent_rows = outbox(&w.app, Some("sent")).await.len();
    assert_eq!(
        value(r#"entourage_outbox_messages{state="sent"}"#),
        sent_rows as f64
    );
    assert_eq!(value(r#"entourage_outbox_messages{state="dead"}"#), 1.0);
    for state in ["pending", "sending", "skipped"] {
        value(&format!(r#"entourage_outbox_messages{{state="{state}"}}"#));
    }
    assert!(value("entourage_outbox_oldest_pending_age_seconds") >= 0.0);
    let max = value("entourage_db_pool_max_connections");
    assert!(max == 8.0 || max == 16.0, "{max}");
    let in_use = value(r#"entourage_db_pool_connections{state="in_use"}"#);
    let idle = value(r#"entourage_db_pool_connections{state="idle"}"#);
    assert!(in_use >= 1.0 && in_use + idle <= max, "{in_use} + {idle}");
    assert!(value("entourage_db_pool_waiting") >= 0.0);
    assert!(value("entourage_reminders_written_total") >= 0.0);
    let last_run = value("entourage_mail_worker_last_run_timestamp_seconds");
    let now = Utc::now().timestamp() as f64;
    assert!((now - 60.0..=now + 1.0).contains(&last_run), "{last_run}");

    // Nothing about a person, no identifier in an operation label.
    for personal in [
        "awa",
        "Awa",
        "bintou",
        "Bintou",
        "Diallo",
        "example.net",
        &awa_code,
        &bintou_code,
        &awa,
        &bintou,
        &session,
        &delivered,
        &dead,
    ] {
        assert!(!text.contains(personal), "{personal:?} in\n{text}");
    }
    for series in m.keys() {
        if let Some((_, rest)) = series.split_once("operation=\"") {
            let operation = rest.split('"').next().unwrap();
            assert!(
                !operation
                    .split(['/', '.', '-', ':'])
                    .any(|part| part.len() >= 8 && part.chars().all(|c| c.is_ascii_hexdigit())),
                "an identifier in {series}"
            );
            assert!(uuid::Uuid::parse_str(operation).is_err(), "{series}");
        }
    }
}
