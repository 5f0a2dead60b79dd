//! Reminders, RSVP links, copies to the social worker and the printable schedule,
//! black-box: the real service, a real SMTP server, a real database. Sessions that
//! start within minutes are single occurrences whose start is computed from now.

mod common;

use std::time::{Duration as StdDuration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};
use chrono_tz::Europe::Paris;
use common::french;
use common::mail::{leaves, parse, subject};
use common::smtp::{Mode, Received, SmtpServer};
use common::*;
use mailparse::MailHeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WAIT: StdDuration = StdDuration::from_secs(10);
/// The reminder scan period of test instances.
const SCAN: StdDuration = StdDuration::from_millis(300);
const PUBLIC_URL: &str = "http://sport.test";

struct World {
    app: TestApp,
    smtp: SmtpServer,
    club: String,
    manager: String,
    worker: String,
    worker_email: String,
}

async fn world_with(smtp: SmtpServer, mut options: TestOptions) -> World {
    options.smtp_url = Some(smtp.url());
    let app = spawn_with(options).await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker_email = format!("worker-{}@asso.example.org", uuid::Uuid::new_v4().simple());
    let worker = user_with_email(&app, "social_worker", &structure, &worker_email).await;
    World {
        app,
        smtp,
        club,
        manager,
        worker,
        worker_email,
    }
}

async fn world() -> World {
    world_with(SmtpServer::start(), TestOptions::default()).await
}

async fn user_with_email(app: &TestApp, role: &str, structure: &str, email: &str) -> String {
    let answer = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"role": role, "name": "Sophie Travail", "email": email,
                   "club_id": null, "structure_id": structure}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body["token"].as_str().expect("token").to_owned()
}

/// Now plus `seconds`, to the whole second (the service keeps whole seconds).
fn in_seconds(seconds: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::seconds(seconds)).trunc_subsecs(0)
}

fn paris(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&Paris).naive_local()
}

fn key_of(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn key_instant(key: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(key, "%Y%m%dT%H%M%SZ")
        .expect("an occurrence key")
        .and_utc()
}

/// A one-off session of the world's club starting at `start`, open for enrollment up
/// to its start, with its reminder `hours` before.
async fn single_session(w: &World, start: DateTime<Utc>, hours: i32, extra: Value) -> String {
    let mut body = json!({
        "title": "Football loisir",
        "sport": "football",
        "start": paris(start).format("%Y-%m-%dT%H:%M:%S").to_string(),
        "timezone": "Europe/Paris",
        "duration_minutes": 60,
        "capacity": 6,
        "reminder_hours_before": hours,
        "enrollment_closes_hours_before": 0,
        "what_to_bring": "Baskets, gourde",
    });
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    let answer = w
        .app
        .post(
            &format!("/api/v1/clubs/{}/sessions", w.club),
            &w.manager,
            body,
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.id()
}

/// A participant of the world's social worker; returns the created resource.
async fn participant(w: &World, first: &str, email: Option<&str>, extra: Value) -> Value {
    let mut body = json!({
        "first_name": first,
        "last_name": "Diallo",
        "email": email,
        "language": "fr",
        "situation": "migrant",
        "consent": true,
    });
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    let answer = w.app.post("/api/v1/participants", &w.worker, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

async fn enrol(w: &World, participant: &Value, session: &str, key: Option<&str>) -> Value {
    let answer = w
        .app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": participant["id"], "session_id": session, "occurrence_key": key}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

fn wait_for(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    let got = smtp.wait_for(n, WAIT);
    assert!(got.len() >= n, "expected {n} messages, got {}", got.len());
    got
}

fn is_reminder(message: &Received) -> bool {
    subject(message).starts_with("Rappel")
}

fn to(message: &Received) -> &str {
    message.to.first().map(String::as_str).unwrap_or_default()
}

/// The decoded body of the first part of this MIME type.
fn body_of(message: &Received, mimetype: &str) -> Option<String> {
    let parsed = parse(message);
    let mut found = Vec::new();
    leaves(&parsed, &mut found);
    found
        .iter()
        .find(|p| p.ctype.mimetype.eq_ignore_ascii_case(mimetype))
        .map(|p| p.get_body().expect("a decodable part"))
}

fn plain(message: &Received) -> String {
    body_of(message, "text/plain").expect("a text/plain part")
}

/// Every RSVP link in `text`, in order (tokens are URL-safe base64).
fn rsvp_links(text: &str) -> Vec<String> {
    let prefix = format!("{PUBLIC_URL}/rsvp/");
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let tail = &rest[at + prefix.len()..];
        let token: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        links.push(format!("{prefix}{token}"));
        rest = &tail[token.len()..];
    }
    links
}

/// The ("I'm coming", "I can't come") links of an invitation's calendar DESCRIPTION.
fn invitation_links(message: &Received) -> (String, String) {
    let ics = body_of(message, "text/calendar").expect("a calendar part");
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let calendar = parser
        .next()
        .expect("a calendar")
        .expect("a valid calendar");
    let description = calendar.events[0]
        .properties
        .iter()
        .find(|p| p.name == "DESCRIPTION")
        .and_then(|p| p.value.clone())
        .expect("a DESCRIPTION");
    let yes = description
        .find("Je viens :")
        .expect("an \"I'm coming\" line");
    let no = description
        .find("Je ne peux pas venir :")
        .expect("an \"I can't come\" line");
    assert!(yes < no, "\"I'm coming\" first: {description}");
    let yes_links = rsvp_links(&description[yes..no]);
    let no_links = rsvp_links(&description[no..]);
    (yes_links[0].clone(), no_links[0].clone())
}

/// The one message to `address` whose subject starts with `prefix`.
fn one_to<'a>(got: &'a [Received], address: &str, prefix: &str) -> &'a Received {
    let found: Vec<&Received> = got
        .iter()
        .filter(|m| to(m) == address && subject(m).starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "one \"{prefix}\" message to {address}");
    found[0]
}

/// Follows an RSVP link on the test service: status, content type, body text.
async fn follow(
    app: &TestApp,
    link: &str,
    method: Method,
    html: bool,
) -> (StatusCode, String, String) {
    let url = link.replace(PUBLIC_URL, &app.base);
    let mut request = app.client.request(method, url);
    if html {
        request = request.header("accept", "text/html,application/xhtml+xml");
    }
    let response = request.send().await.expect("request sent");
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

fn assert_problem_text(answer: &(StatusCode, String, String), status: u16) {
    assert_eq!(answer.0.as_u16(), status, "{answer:?}");
    assert!(
        answer.1.starts_with("application/problem+json"),
        "{answer:?}"
    );
    let body: Value = serde_json::from_str(&answer.2).expect("a JSON problem");
    assert_eq!(body["status"], status, "{answer:?}");
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let answer = app.get("/api/v1/admin/outbox?limit=200", &app.admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().expect("items").clone()
}

/// The reminder rows written for one enrollment.
async fn reminders_of(app: &TestApp, enrollment: &str) -> Vec<Value> {
    outbox(app)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "reminder" && m["enrollment_id"] == enrollment)
        .collect()
}

async fn roster(w: &World, session: &str, key: &str) -> Value {
    let answer = w
        .app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences/{key}/roster"),
            &w.manager,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

fn line<'a>(roster: &'a Value, enrollment: &str) -> &'a Value {
    roster["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|l| l["enrollment_id"] == enrollment)
        .expect("the enrollment on the roster")
}

/// Sleeps until `at` (used only to check that nothing happens before an instant).
async fn sleep_until(at: DateTime<Utc>) {
    let left = at - Utc::now();
    if let Ok(left) = left.to_std() {
        tokio::time::sleep(left).await;
    }
}

/// Polls the admin outbox until `check` holds for its items, or fails after `WAIT`.
async fn outbox_until(app: &TestApp, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let items = outbox(app).await;
        if check(&items) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "outbox never showed {what}: {items:#?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------
// Reminders

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_arrives_on_time_not_before() {
    let w = world().await;
    let start = in_seconds(3600 + 4);
    let due = start - Duration::hours(1);
    let session = single_session(&w, start, 1, json!({})).await;
    let amina = participant(&w, "Amina", Some("amina@example.net"), json!({})).await;
    let enrollment = enrol(&w, &amina, &session, None).await;
    let got = wait_for(&w.smtp, 1);
    assert!(
        subject(&got[0]).starts_with("Invitation"),
        "{}",
        subject(&got[0])
    );

    // Nothing but the invitation until just before the due instant.
    let before_due = (due - Utc::now() - Duration::milliseconds(300))
        .to_std()
        .expect("the due instant is still ahead");
    let early = w.smtp.wait_for(2, before_due);
    assert_eq!(early.len(), 1, "a reminder arrived before {due}");

    // Then it arrives, shortly after its due instant.
    let got = w.smtp.wait_for(2, StdDuration::from_secs(6));
    let arrived = Utc::now();
    assert_eq!(got.len(), 2, "no reminder within 5 s of its due time");
    assert!(arrived >= due, "reminder at {arrived}, due {due}");
    assert!(
        arrived <= due + Duration::seconds(3),
        "reminder at {arrived}, due {due}: too late"
    );

    // Exactly once, whatever the scans that follow.
    tokio::time::sleep(SCAN * 5).await;
    assert_eq!(w.smtp.count(), 2, "a reminder went out twice");
    let rows = reminders_of(&w.app, id(&enrollment)).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["status"], "sent");
    assert_eq!(rows[0]["occurrence_key"], key_of(start));
    assert_eq!(rows[0]["attempts"], 1);

    let reminder = &got[1];
    assert_eq!(to(reminder), "amina@example.net");
    let when = french::date_time(paris(start));
    let subject = subject(reminder);
    assert!(subject.starts_with("Rappel"), "{subject}");
    assert!(subject.contains(&when), "{subject} / {when}");
    let text = plain(reminder);
    let html = body_of(reminder, "text/html").expect("an HTML part");
    for body in [&text, &html] {
        assert!(
            body.contains(&when),
            "written-out time {when} missing:\n{body}"
        );
        assert!(body.contains("12 rue de la Paix, 93140 Bondy"), "{body}");
        assert!(body.contains("Baskets, gourde"), "{body}");
        assert!(body.contains("+33 1 23 45 67 89"), "{body}");
        assert!(body.contains("contact@club.example.org"), "{body}");
    }
    assert!(
        text.contains("https://www.openstreetmap.org/?mlat=48.900000&mlon=2.480000"),
        "{text}"
    );
    assert!(
        html.contains("https://www.openstreetmap.org/?mlat=48.900000&amp;mlon=2.480000"),
        "{html}"
    );
    let links = rsvp_links(&text);
    assert_eq!(links.len(), 2, "two RSVP links: {text}");
    assert_ne!(links[0], links[1]);
    let yes = text.find("Oui, je viens").expect("the \"coming\" line");
    let no = text
        .find("je ne peux pas venir")
        .expect("the \"not coming\" line");
    assert!(yes < no, "\"I'm coming\" comes first");
    assert!(text[yes..no].contains(&links[0]) && text[no..].contains(&links[1]));
    // The HTML part carries the same two links.
    assert_eq!(rsvp_links(&html), links, "{html}");
    assert!(
        body_of(reminder, "text/calendar").is_none(),
        "no calendar in a reminder"
    );
    for word in ["migrant", "situation"] {
        assert!(!reminder.data.to_lowercase().contains(word), "{word}");
    }
    // The links answer for this very occurrence.
    let page = follow(&w.app, &links[0], Method::GET, true).await;
    assert_eq!(page.0, StatusCode::OK, "{page:?}");
    assert!(page.2.contains(&when), "{}", page.2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_due_while_down_goes_out_late_only_before_the_start() {
    // The data folder outlives the first instance (SQLite keeps its database there).
    let data = tempfile::tempdir().unwrap();
    let first = world_with(
        SmtpServer::start(),
        TestOptions {
            data_dir: Some(data.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await;
    // An occurrence already under way cannot be joined at all: the API refuses.
    let started = single_session(&first, in_seconds(-5 * 60), 24, json!({})).await;
    let late = participant(&first, "Late", Some("late@example.net"), json!({})).await;
    let refused = first
        .app
        .post(
            "/api/v1/enrollments",
            &first.worker,
            json!({"participant_id": late["id"], "session_id": started}),
        )
        .await;
    assert_problem(&refused, 422, None);

    // Due 24 h before a start two minutes away: overdue, so it goes out at once.
    let soon_start = in_seconds(120);
    let soon = single_session(&first, soon_start, 24, json!({})).await;
    let amina = participant(&first, "Amina", Some("amina@example.net"), json!({})).await;
    // Due at its start, a few seconds from now; the service is stopped before that.
    let brief_start = in_seconds(5);
    let brief = single_session(&first, brief_start, 0, json!({})).await;
    let bakary = participant(&first, "Bakary", Some("bakary@example.net"), json!({})).await;
    let enrolled_at = Utc::now();
    enrol(&first, &amina, &soon, None).await;
    let bakary_enrollment = enrol(&first, &bakary, &brief, None).await;
    let got = wait_for(&first.smtp, 3);
    let sent_by = Utc::now();
    let reminder = one_to(&got, "amina@example.net", "Rappel");
    assert!(
        sent_by - enrolled_at < Duration::seconds(4),
        "an overdue reminder waited {}",
        sent_by - enrolled_at
    );
    assert!(plain(reminder).contains(&french::date_time(paris(soon_start))));
    one_to(&got, "bakary@example.net", "Invitation");
    assert!(
        Utc::now() < brief_start - Duration::seconds(1),
        "too slow: the first instance must stop before the reminder falls due"
    );

    // Down while Bakary's reminder falls due and the session starts.
    let World {
        app,
        smtp,
        club,
        manager,
        worker,
        ..
    } = first;
    let (database_url, first_admin) = (app.database_url.clone(), app.admin.clone());
    app.stop().await;
    let stopped_with = smtp.count();
    sleep_until(brief_start + Duration::seconds(1)).await;

    let second = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        database_url: Some(database_url),
        data_dir: Some(data.path().to_path_buf()),
        no_admin: true,
        ..Default::default()
    })
    .await;
    // A probe: a reminder due now, written by the same scans that would write Bakary's.
    let probe_session = second
        .post(
            &format!("/api/v1/clubs/{club}/sessions"),
            &manager,
            json!({
                "title": "Football loisir", "sport": "football",
                "start": paris(in_seconds(120)).format("%Y-%m-%dT%H:%M:%S").to_string(),
                "timezone": "Europe/Paris", "duration_minutes": 60, "capacity": 6,
                "reminder_hours_before": 24, "enrollment_closes_hours_before": 0,
            }),
        )
        .await;
    assert_eq!(
        probe_session.status,
        StatusCode::CREATED,
        "{probe_session:?}"
    );
    let probe = second
        .post(
            "/api/v1/participants",
            &worker,
            json!({"first_name": "Probe", "last_name": "Diallo", "email": "probe@example.net",
                   "language": "fr", "situation": "migrant", "consent": true}),
        )
        .await;
    assert_eq!(probe.status, StatusCode::CREATED, "{probe:?}");
    let enrolled = second
        .post(
            "/api/v1/enrollments",
            &worker,
            json!({"participant_id": probe.body["id"], "session_id": probe_session.id()}),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{enrolled:?}");
    let got = smtp.wait_for(stopped_with + 2, WAIT);
    one_to(&got, "probe@example.net", "Rappel");
    tokio::time::sleep(SCAN * 3).await;
    let got = smtp.received();
    assert!(
        !got.iter()
            .any(|m| to(m) == "bakary@example.net" && is_reminder(m)),
        "a reminder for an occurrence that had started"
    );
    let admin = second
        .get("/api/v1/admin/outbox?limit=200", &first_admin)
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{admin:?}");
    let rows: Vec<&Value> = admin.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reminder" && m["enrollment_id"] == id(&bakary_enrollment))
        .collect();
    assert!(rows.iter().all(|r| r["status"] == "skipped"), "{rows:#?}");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_reminder_for_a_cancelled_occurrence_or_enrollment_or_a_no() {
    let w = world().await;
    let start = in_seconds(3600 + 5);
    let due = start - Duration::hours(1);
    let near = single_session(&w, start, 1, json!({})).await;
    let other = single_session(&w, start, 1, json!({"title": "Autre séance"})).await;
    let going = participant(&w, "Awa", Some("awa@example.net"), json!({})).await;
    let leaving = participant(&w, "Bintou", Some("bintou@example.net"), json!({})).await;
    let declining = participant(&w, "Chaka", Some("chaka@example.net"), json!({})).await;
    let called_off = participant(&w, "Dembo", Some("dembo@example.net"), json!({})).await;
    let going_e = enrol(&w, &going, &near, None).await;
    let leaving_e = enrol(&w, &leaving, &near, None).await;
    let declining_e = enrol(&w, &declining, &near, None).await;
    let called_off_e = enrol(&w, &called_off, &other, None).await;
    let got = wait_for(&w.smtp, 4);

    let cancelled = w
        .app
        .delete(
            &format!("/api/v1/enrollments/{}", id(&leaving_e)),
            &w.worker,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    let (_, no) = invitation_links(one_to(&got, "chaka@example.net", "Invitation"));
    let answered = follow(&w.app, &no, Method::POST, false).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    let occurrence = w
        .app
        .patch(
            &format!("/api/v1/sessions/{other}/occurrences/{}", key_of(start)),
            &w.manager,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(occurrence.status, StatusCode::OK, "{occurrence:?}");
    assert!(
        Utc::now() < due - Duration::seconds(1),
        "too slow: the changes must come before the reminders are written"
    );

    // Awa's reminder comes; wait a few scans more for anything else.
    let deadline = Instant::now() + WAIT + StdDuration::from_secs(6);
    while !w.smtp.received().iter().any(is_reminder) {
        assert!(Instant::now() < deadline, "Awa's reminder never came");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    tokio::time::sleep(SCAN * 4).await;
    let got = w.smtp.received();
    let reminded: Vec<&str> = got.iter().filter(|m| is_reminder(m)).map(to).collect();
    assert_eq!(reminded, ["awa@example.net"]);
    assert_eq!(
        reminders_of(&w.app, id(&going_e)).await[0]["status"],
        "sent"
    );
    for enrollment in [&leaving_e, &declining_e, &called_off_e] {
        let rows = reminders_of(&w.app, id(enrollment)).await;
        assert!(rows.iter().all(|r| r["status"] == "skipped"), "{rows:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_written_before_a_change_is_skipped_at_send_time() {
    let w = world_with(
        SmtpServer::start(),
        TestOptions {
            max_attempts: Some(30),
            ..Default::default()
        },
    )
    .await;
    let start = in_seconds(3600 + 3);
    let session = single_session(&w, start, 1, json!({})).await;
    let going = participant(&w, "Awa", Some("awa@example.net"), json!({})).await;
    let leaving = participant(&w, "Bintou", Some("bintou@example.net"), json!({})).await;
    let declining = participant(&w, "Chaka", Some("chaka@example.net"), json!({})).await;
    let going_e = enrol(&w, &going, &session, None).await;
    let leaving_e = enrol(&w, &leaving, &session, None).await;
    let declining_e = enrol(&w, &declining, &session, None).await;
    let got = wait_for(&w.smtp, 3);
    let (_, no) = invitation_links(one_to(&got, "chaka@example.net", "Invitation"));

    // The mail server is down when the reminders fall due: they wait, written.
    w.smtp.set_mode(Mode::RefuseTemporarily);
    let ids = [id(&going_e), id(&leaving_e), id(&declining_e)];
    outbox_until(&w.app, "three reminders tried once", |items| {
        ids.iter().all(|e| {
            items.iter().any(|m| {
                m["kind"] == "reminder"
                    && m["enrollment_id"] == *e
                    && m["status"] == "pending"
                    && m["attempts"].as_i64().unwrap_or(0) >= 1
            })
        })
    })
    .await;
    let cancelled = w
        .app
        .delete(
            &format!("/api/v1/enrollments/{}", id(&leaving_e)),
            &w.worker,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    let answered = follow(&w.app, &no, Method::POST, false).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    w.smtp.set_mode(Mode::Accept);

    let items = outbox_until(&w.app, "the reminders settled", |items| {
        ids.iter().all(|e| {
            items.iter().any(|m| {
                m["kind"] == "reminder"
                    && m["enrollment_id"] == *e
                    && (m["status"] == "sent" || m["status"] == "skipped")
            })
        })
    })
    .await;
    let status = |e: &str| {
        items
            .iter()
            .find(|m| m["kind"] == "reminder" && m["enrollment_id"] == e)
            .cloned()
            .unwrap()
    };
    assert_eq!(status(ids[0])["status"], "sent");
    for (e, reason) in [(ids[1], "not confirmed"), (ids[2], "cannot come")] {
        let row = status(e);
        assert_eq!(row["status"], "skipped", "{row:#?}");
        assert!(
            row["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains(reason),
            "{row:#?}"
        );
        let outcomes: Vec<&Value> = row["delivery_attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["outcome"])
            .collect();
        assert_eq!(
            outcomes.last().copied(),
            Some(&json!("skipped")),
            "{row:#?}"
        );
    }
    let got = w.smtp.received();
    let reminded: Vec<&str> = got.iter().filter(|m| is_reminder(m)).map(to).collect();
    assert_eq!(reminded, ["awa@example.net"]);
}

// ---------------------------------------------------------------------------------
// RSVP

/// A weekly session, one participant enrolled: the invitation's RSVP links and the
/// occurrence they are for.
async fn invited(w: &World, session: &str, first: &str, email: &str) -> (Value, String, String) {
    let person = participant(w, first, Some(email), json!({})).await;
    let enrollment = enrol(w, &person, session, None).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let got = w.smtp.received();
        if let Some(m) = got
            .iter()
            .find(|m| to(m) == email && subject(m).starts_with("Invitation"))
        {
            let (yes, no) = invitation_links(m);
            return (enrollment, yes, no);
        }
        assert!(Instant::now() < deadline, "no invitation to {email}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rsvp_get_shows_a_page_and_post_records() {
    let w = world().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let (enrollment, yes, no) = invited(&w, &session, "Amina", "amina@example.net").await;
    let key = enrollment["from_key"].as_str().unwrap().to_owned();
    let before = roster(&w, &session, &key).await;
    assert_eq!(line(&before, id(&enrollment))["rsvp"], Value::Null);
    assert_eq!(before["confirmed"], 1);

    for link in [&yes, &no] {
        let page = follow(&w.app, link, Method::GET, true).await;
        assert_eq!(page.0, StatusCode::OK, "{page:?}");
        assert!(page.1.starts_with("text/html"), "{page:?}");
        assert!(
            page.2.contains("<form") && page.2.contains("method=\"post\""),
            "{}",
            page.2
        );
        assert!(
            page.2
                .contains(&french::date_time(paris(key_instant(&key)))),
            "{}",
            page.2
        );
        // A scanner without Accept gets the page too, and records nothing either.
        let scanned = follow(&w.app, link, Method::GET, false).await;
        assert_eq!(scanned.0, StatusCode::OK, "{scanned:?}");
    }
    let unchanged = roster(&w, &session, &key).await;
    assert_eq!(line(&unchanged, id(&enrollment))["rsvp"], Value::Null);
    assert_eq!(unchanged["confirmed"], 1);

    let answered = follow(&w.app, &yes, Method::POST, true).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    let after = roster(&w, &session, &key).await;
    assert_eq!(line(&after, id(&enrollment))["rsvp"], "coming");
    assert_eq!(after["confirmed"], 1);

    let answered = follow(&w.app, &no, Method::POST, false).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    let after = roster(&w, &session, &key).await;
    assert_eq!(line(&after, id(&enrollment))["rsvp"], "not_coming");
    assert_eq!(after["confirmed"], 0);
    // Saying it twice changes nothing more.
    let again = follow(&w.app, &no, Method::POST, false).await;
    assert_eq!(again.0, StatusCode::OK, "{again:?}");
    let day = paris(key_instant(&key)).format("%Y-%m-%d").to_string();
    let occurrences = w
        .app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={day}&to={day}"),
            &w.manager,
        )
        .await;
    assert_eq!(occurrences.status, StatusCode::OK, "{occurrences:?}");
    let listed = occurrences.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|o| o["key"] == key.as_str()))
        .cloned()
        .expect("the occurrence listed");
    assert_eq!(
        listed["places_left"], 6,
        "one place freed, once: {listed:#?}"
    );
    // The other occurrences are untouched.
    let later = key_of(key_instant(&key) + Duration::weeks(1));
    let next_week = roster(&w, &session, &later).await;
    assert_eq!(line(&next_week, id(&enrollment))["rsvp"], Value::Null);
    assert_eq!(next_week["confirmed"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rsvp_links_cannot_be_forged_or_reused_elsewhere() {
    let w = world().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let (a, _, a_no) = invited(&w, &session, "Amina", "amina@example.net").await;
    let (b, _, _) = invited(&w, &session, "Bakary", "bakary@example.net").await;
    let key = a["from_key"].as_str().unwrap().to_owned();

    // One character changed.
    let token = a_no.rsplit('/').next().unwrap().to_owned();
    let mut chars: Vec<char> = token.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let forged = format!("{PUBLIC_URL}/rsvp/{}", chars.iter().collect::<String>());
    for method in [Method::GET, Method::POST] {
        assert_problem_text(&follow(&w.app, &forged, method, false).await, 404);
    }
    let page = follow(&w.app, &forged, Method::GET, true).await;
    assert_eq!(page.0, StatusCode::NOT_FOUND, "{page:?}");
    assert!(page.1.starts_with("text/html"), "{page:?}");
    // A's token with B's enrollment spliced in: the signature no longer matches.
    let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("URL-safe base64");
    let b_id = uuid::Uuid::parse_str(id(&b)).unwrap();
    bytes[..16].copy_from_slice(b_id.as_bytes());
    let spliced = format!("{PUBLIC_URL}/rsvp/{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert_problem_text(&follow(&w.app, &spliced, Method::POST, false).await, 404);
    assert_problem_text(
        &follow(
            &w.app,
            "http://sport.test/rsvp/nonsense",
            Method::POST,
            false,
        )
        .await,
        404,
    );

    // A's valid link, whatever is added to it, answers for A only.
    let with_b = format!(
        "{a_no}?enrollment_id={}&participant_id={}",
        id(&b),
        b["participant_id"].as_str().unwrap()
    );
    let answered = follow(&w.app, &with_b, Method::POST, false).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    let after = roster(&w, &session, &key).await;
    assert_eq!(line(&after, id(&a))["rsvp"], "not_coming");
    assert_eq!(line(&after, id(&b))["rsvp"], Value::Null);
    assert_eq!(line(&after, id(&b))["status"], "confirmed");
    assert_eq!(after["confirmed"], 1);

    // After the occurrence started, the link no longer works.
    let start = in_seconds(3);
    let brief = single_session(&w, start, 0, json!({})).await;
    let (_, c_yes, c_no) = invited(&w, &brief, "Chaka", "chaka@example.net").await;
    let page = follow(&w.app, &c_no, Method::GET, true).await;
    assert_eq!(page.0, StatusCode::OK, "before the start: {page:?}");
    sleep_until(start + Duration::milliseconds(1100)).await;
    for link in [&c_yes, &c_no] {
        assert_problem_text(&follow(&w.app, link, Method::POST, false).await, 410);
        assert_problem_text(&follow(&w.app, link, Method::GET, false).await, 410);
        let page = follow(&w.app, link, Method::POST, true).await;
        assert_eq!(page.0, StatusCode::GONE, "{page:?}");
        assert!(page.1.starts_with("text/html"), "{page:?}");
    }
    let gone = roster(&w, &brief, &key_of(start)).await;
    assert_eq!(gone["participants"][0]["rsvp"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn i_cant_come_frees_the_place_for_the_waitlist() {
    let w = world().await;
    let session = w
        .app
        .weekly_session(&w.club, &w.manager, json!({"capacity": 1}))
        .await;
    let (a, a_yes, a_no) = invited(&w, &session, "Amina", "amina@example.net").await;
    let key = a["from_key"].as_str().unwrap().to_owned();
    let bakary = participant(&w, "Bakary", Some("bakary@example.net"), json!({})).await;
    let b = enrol(&w, &bakary, &session, Some(&key)).await;
    assert_eq!(b["status"], "waitlisted", "{b:#?}");
    assert_eq!(b["scope"], "occurrence");
    wait_for(&w.smtp, 2);

    let answered = follow(&w.app, &a_no, Method::POST, false).await;
    assert_eq!(answered.0, StatusCode::OK, "{answered:?}");
    let fetched = w
        .app
        .get(&format!("/api/v1/enrollments/{}", id(&b)), &w.worker)
        .await;
    assert_eq!(fetched.body["status"], "confirmed", "{fetched:?}");
    let got = wait_for(&w.smtp, 4);
    let to_b: Vec<String> = got
        .iter()
        .filter(|m| to(m) == "bakary@example.net")
        .map(subject)
        .collect();
    assert_eq!(to_b.len(), 3, "{to_b:?}");
    assert!(to_b[0].starts_with("Liste d'attente"), "{to_b:?}");
    for prefix in ["Une place s'est libérée", "Invitation"] {
        assert!(to_b.iter().any(|s| s.starts_with(prefix)), "{to_b:?}");
    }

    let after = roster(&w, &session, &key).await;
    assert_eq!(after["confirmed"], 1, "{after:#?}");
    assert_eq!(after["overbooked"], false);
    assert_eq!(line(&after, id(&a))["rsvp"], "not_coming");
    assert_eq!(line(&after, id(&b))["status"], "confirmed");
    assert_eq!(line(&after, id(&b))["rsvp"], Value::Null);

    // Too late to change one's mind: the place went to Bakary.
    assert_problem_text(&follow(&w.app, &a_yes, Method::POST, false).await, 409);
    let page = follow(&w.app, &a_yes, Method::POST, true).await;
    assert_eq!(page.0, StatusCode::CONFLICT, "{page:?}");
    let still = roster(&w, &session, &key).await;
    assert_eq!(line(&still, id(&a))["rsvp"], "not_coming");
    assert_eq!(still["confirmed"], 1);
    // Amina keeps her place the week after.
    let later = key_of(key_instant(&key) + Duration::weeks(1));
    let next_week = roster(&w, &session, &later).await;
    assert_eq!(line(&next_week, id(&a))["status"], "confirmed");
    assert_eq!(next_week["confirmed"], 1);

    // Last, as it is the one check that depends on delivery order: the promotion notice
    // must come before the invitation it announces.
    assert!(
        to_b[1].starts_with("Une place s'est libérée") && to_b[2].starts_with("Invitation"),
        "promotion then invitation expected, got {to_b:?}"
    );
}

// ---------------------------------------------------------------------------------
// Copies to the social worker, schedule page

#[tokio::test(flavor = "multi_thread")]
async fn copies_go_to_the_social_worker() {
    let w = world().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let moussa = participant(&w, "Moussa", None, json!({"situation": "migrant"})).await;
    enrol(&w, &moussa, &session, None).await;
    let got = wait_for(&w.smtp, 1);
    assert_eq!(got.len(), 1);
    let copy = &got[0];
    assert_eq!(to(copy), w.worker_email);
    assert_eq!(copy.to.len(), 1);
    assert!(subject(copy).starts_with("Invitation"), "{}", subject(copy));
    let text = plain(copy);
    assert!(text.contains("Copie pour Moussa D."), "{text}");
    assert!(body_of(copy, "text/html")
        .unwrap()
        .contains("Copie pour Moussa D."));

    let jane = participant(
        &w,
        "Jane",
        Some("jane@example.net"),
        json!({"notify_referrer": true, "language": "en", "situation": "shelter", "last_name": "Smith"}),
    )
    .await;
    enrol(&w, &jane, &session, None).await;
    let got = wait_for(&w.smtp, 3);
    let own = one_to(&got, "jane@example.net", "Invitation");
    let text = plain(own);
    assert!(
        !text.contains("Copie pour") && !text.contains("Copy for"),
        "{text}"
    );
    let copies: Vec<&Received> = got[1..]
        .iter()
        .filter(|m| to(m) == w.worker_email)
        .collect();
    assert_eq!(copies.len(), 1, "one copy for the social worker");
    let text = plain(copies[0]);
    // Social workers read French.
    assert!(text.contains("Copie pour Jane S."), "{text}");
    assert!(subject(copies[0]).starts_with("Invitation"));

    for m in [copy, copies[0]] {
        let lower = m.data.to_lowercase();
        for word in ["migrant", "shelter", "situation", "précarité"] {
            assert!(!lower.contains(word), "{word} in a copy");
        }
        assert!(
            !lower.contains("smith") && !lower.contains("diallo"),
            "last name in a copy"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_page_is_for_the_participants_structure() {
    let w = world().await;
    let session = w
        .app
        .weekly_session(
            &w.club,
            &w.manager,
            json!({"what_to_bring": "Baskets, gourde"}),
        )
        .await;
    let moussa = participant(&w, "Moussa", None, json!({})).await;
    let enrollment = enrol(&w, &moussa, &session, None).await;
    let code = moussa["code"].as_str().expect("a code").to_owned();
    let path = format!("/api/v1/participants/{}/schedule", id(&moussa));

    let response = w
        .app
        .client
        .get(format!("{}{path}", w.app.base))
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(page.contains(&code), "{page}");
    assert!(page.contains("12 rue de la Paix, 93140 Bondy"), "{page}");
    let next = key_instant(enrollment["from_key"].as_str().unwrap());
    assert!(
        page.contains(&french::date_time(paris(next))),
        "{} not in {page}",
        french::date_time(paris(next))
    );
    assert!(page.contains("Baskets, gourde"), "{page}");
    assert!(page.contains("+33 1 23 45 67 89"), "{page}");
    assert!(
        !page.contains("Diallo") && !page.contains("migrant"),
        "{page}"
    );

    let elsewhere = w.app.structure("Foyer Bobigny").await;
    let stranger = w.app.user("social_worker", None, Some(&elsewhere)).await;
    assert_problem(&w.app.get(&path, &stranger).await, 404, None);
    assert_problem(&w.app.get(&path, &w.manager).await, 403, None);
    let anonymous = w.app.call(Method::GET, &path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{anonymous:?}");
    let admin = w.app.get(&path, &w.app.admin).await;
    assert_eq!(admin.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------
// Templates

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn binary(data: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_entourage-sport"));
    command
        .env_clear()
        .env("DATA_DIR", data)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", data.join("db.sqlite").display()),
        )
        .env("BIND", "127.0.0.1:0")
        .env("PUBLIC_URL", PUBLIC_URL)
        .env("SECRET_KEY", TEST_SECRET_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

#[test]
fn a_broken_template_stops_start_up_naming_the_file() {
    let temp = tempfile::tempdir().unwrap();
    let templates = temp.path().join("templates");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("email-templates"),
        &templates,
    );
    let broken = templates.join("fr").join("reminder.html");
    let source = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(
        &broken,
        source.replace("{% block content %}", "{% block content %}{% if %}"),
    )
    .unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut child = binary(&data)
        .env("TEMPLATES_DIR", &templates)
        .arg("serve")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + StdDuration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("the service started with a broken template");
        }
        std::thread::sleep(StdDuration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "{status:?}");
    assert!(
        stderr.contains("fr/reminder.html"),
        "stderr does not name the file: {stderr}"
    );
}

#[test]
fn mail_preview_renders_every_message() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("preview");
    let output = binary(temp.path())
        .env(
            "TEMPLATES_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("email-templates"),
        )
        .args(["mail", "preview", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 36, "{names:?}");
    for kind in [
        "invitation",
        "update",
        "cancellation",
        "waitlisted",
        "promotion",
        "reminder",
        "delivery_failed",
        "absence_alert",
    ] {
        for lang in ["fr", "en"] {
            let eml = std::fs::read(out.join(format!("{kind}.{lang}.eml")))
                .unwrap_or_else(|_| panic!("{kind}.{lang}.eml"));
            let html = std::fs::read_to_string(out.join(format!("{kind}.{lang}.html")))
                .unwrap_or_else(|_| panic!("{kind}.{lang}.html"));
            assert!(html.contains("<html"), "{kind}.{lang}.html");
            let parsed = mailparse::parse_mail(&eml).expect("a MIME message");
            let subject = parsed
                .headers
                .get_first_value("Subject")
                .unwrap_or_default();
            assert!(!subject.trim().is_empty(), "{kind}.{lang}: no subject");
            let mut parts = Vec::new();
            leaves(&parsed, &mut parts);
            let types: Vec<String> = parts.iter().map(|p| p.ctype.mimetype.clone()).collect();
            assert!(
                types.contains(&"text/plain".to_owned()),
                "{kind}.{lang}: {types:?}"
            );
            assert!(
                types.contains(&"text/html".to_owned()),
                "{kind}.{lang}: {types:?}"
            );
            for part in &parts {
                part.get_body().expect("a decodable part");
            }
            let calendar = types.iter().any(|t| t == "text/calendar");
            assert_eq!(
                calendar,
                matches!(kind, "invitation" | "update" | "cancellation"),
                "{kind}.{lang}: {types:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_reminder_already_due_is_written_with_the_enrollment() {
    let w = world().await;
    // Starts in 3 hours, reminders 24 hours ahead: due as soon as someone enrols.
    let start = Utc::now() + Duration::hours(3);
    let session = single_session(&w, start, 24, json!({})).await;
    let amina = participant(&w, "Amina", Some("amina@example.net"), json!({})).await;
    let enrollment = enrol(&w, &amina, &session, None).await;
    assert_eq!(enrollment["status"], "confirmed", "{enrollment}");
    let reminders = reminders_of(&w.app, id(&enrollment)).await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    // Written by the enrollment's own transaction, not by a later scan.
    assert_eq!(
        reminders[0]["created_at"], enrollment["created_at"],
        "{reminders:?}"
    );
}
