//! Email through a real SMTP server started by the test: invitations, updates,
//! cancellations, waitlist and promotion notices, with their calendar objects parsed
//! back by the ical crate.

mod common;

use std::time::Duration;

use common::mail::{leaves, parse, subject};
use common::smtp::{Received, SmtpServer};
use common::*;
use mailparse::MailHeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);

struct World {
    app: TestApp,
    smtp: SmtpServer,
    club: String,
    manager: String,
    worker: String,
}

async fn world() -> World {
    let smtp = SmtpServer::start();
    let app = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    World {
        app,
        smtp,
        club,
        manager,
        worker,
    }
}

async fn participant(w: &World, first: &str, email: Option<&str>, extra: Value) -> String {
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
    answer.id()
}

async fn enrol(w: &World, participant: &str, session: &str) -> Value {
    let answer = w
        .app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": participant, "session_id": session}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

fn wait_for(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    let got = smtp.wait_for(n, WAIT);
    assert!(got.len() >= n, "expected {n} messages, got {}", got.len());
    got
}

fn calendar_parts(message: &Received) -> Vec<(String, String, String)> {
    let parsed = parse(message);
    let mut found = Vec::new();
    leaves(&parsed, &mut found);
    found
        .iter()
        .filter(|p| {
            let t = p.ctype.mimetype.to_ascii_lowercase();
            t == "text/calendar" || t == "application/ics"
        })
        .map(|p| {
            (
                p.headers
                    .get_first_value("Content-Type")
                    .unwrap_or_default(),
                p.headers
                    .get_first_value("Content-Transfer-Encoding")
                    .unwrap_or_default(),
                p.get_body().expect("decodable calendar"),
            )
        })
        .collect()
}

/// The calendar object a message carries, parsed by the ical crate.
fn ical_of(message: &Received) -> ical::parser::ical::component::IcalCalendar {
    let parts = calendar_parts(message);
    let (_, _, ics) = parts.first().expect("a calendar part");
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    parser
        .next()
        .expect("one calendar")
        .expect("a valid calendar")
}

fn property<'a>(props: &'a [ical::property::Property], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_carries_the_calendar_twice_as_real_clients_need_it() {
    let w = world().await;
    let session = w
        .app
        .weekly_session(
            &w.club,
            &w.manager,
            json!({"what_to_bring": "Baskets, gourde"}),
        )
        .await;
    let amina = participant(&w, "Amina", Some("amina@example.net"), json!({})).await;
    enrol(&w, &amina, &session).await;
    let got = wait_for(&w.smtp, 1);
    let invitation = &got[0];
    assert_eq!(invitation.to, vec!["amina@example.net".to_owned()]);
    let parsed = parse(invitation);
    assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
    assert_eq!(parsed.subparts[0].ctype.mimetype, "multipart/alternative");
    let alternative: Vec<String> = parsed.subparts[0]
        .subparts
        .iter()
        .map(|p| p.ctype.mimetype.clone())
        .collect();
    assert_eq!(alternative, ["text/plain", "text/html", "text/calendar"]);
    let message_id = parsed.headers.get_first_value("Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with('>'),
        "{message_id}"
    );
    let parts = calendar_parts(invitation);
    assert_eq!(parts.len(), 2, "inline part and invite.ics");
    for (content_type, encoding, _) in &parts {
        assert!(encoding.eq_ignore_ascii_case("base64"), "{encoding}");
        if content_type.starts_with("text/calendar") {
            assert!(content_type.contains("method=REQUEST"), "{content_type}");
        }
    }
    assert_eq!(parts[0].2, parts[1].2, "both copies are the same object");
    let calendar = ical_of(invitation);
    assert_eq!(property(&calendar.properties, "METHOD"), Some("REQUEST"));
    assert_eq!(property(&calendar.properties, "VERSION"), Some("2.0"));
    assert_eq!(calendar.timezones.len(), 1);
    let event = &calendar.events[0];
    assert_eq!(property(&event.properties, "SEQUENCE"), Some("0"));
    assert_eq!(
        property(&event.properties, "SUMMARY"),
        Some("Football — AS Bondy")
    );
    assert_eq!(
        property(&event.properties, "RRULE"),
        Some("FREQ=WEEKLY;BYDAY=TU")
    );
    assert!(property(&event.properties, "DESCRIPTION")
        .unwrap()
        .contains("/calendar/participants/"));
    let text = parsed.subparts[0].subparts[0].get_body().unwrap();
    assert!(text.contains("Baskets, gourde"), "{text}");
    let subject = subject(invitation);
    assert!(subject.contains("Football — AS Bondy"), "{subject}");
    for word in ["migrant", "précarité", "situation", "social"] {
        assert!(
            !invitation.data.to_lowercase().contains(word),
            "{word} in the message"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_club_that_moves_updates_its_participants_calendars() {
    let w = world().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let amina = participant(&w, "Amina", Some("amina@example.net"), json!({})).await;
    enrol(&w, &amina, &session).await;
    wait_for(&w.smtp, 1);
    let answer = w
        .app
        .patch(
            &format!("/api/v1/clubs/{}", w.club),
            &w.manager,
            json!({"address": "3 avenue Gallieni"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let got = wait_for(&w.smtp, 2);
    let update = ical_of(&got[1]);
    let event = &update.events[0];
    assert_eq!(property(&event.properties, "SEQUENCE"), Some("1"));
    assert!(
        property(&event.properties, "LOCATION")
            .unwrap()
            .starts_with("3 avenue Gallieni"),
        "{:?}",
        property(&event.properties, "LOCATION")
    );
    // A change calendars do not show (accessibility notes) sends nothing.
    let answer = w
        .app
        .patch(
            &format!("/api/v1/clubs/{}", w.club),
            &w.manager,
            json!({"accessibility_notes": "Ramp at the side entrance"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(w.smtp.count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_finishes_or_hands_back_what_it_holds() {
    let w = world().await;
    let session = w.app.weekly_session(&w.club, &w.manager, json!({})).await;
    let amina = participant(&w, "Amina", Some("amina@example.net"), json!({})).await;
    // The relay takes its time with the message: the stop comes while it is in flight.
    w.smtp.set_data_delay(Duration::from_millis(1500));
    enrol(&w, &amina, &session).await;
    let store = w.app.store.clone();
    let started = std::time::Instant::now();
    // Wait until the worker holds it, then give the send time to begin.
    while store
        .messages(
            Some(entourage_sport::domain::messages::Delivery::Sending),
            None,
            10,
        )
        .await
        .unwrap()
        .is_empty()
    {
        assert!(started.elapsed() < WAIT, "the invitation was never claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let World { app, smtp, .. } = w;
    let database = app.database_url.clone();
    let _data = app.stop().await;
    let database = match database.strip_prefix("sqlite://") {
        Some(path) => entourage_sport::config::DatabaseUrl::Sqlite(path.into()),
        None => entourage_sport::config::DatabaseUrl::Postgres(database),
    };
    let reopened = entourage_sport::store::Store::connect(&database)
        .await
        .unwrap();
    // The accounts' sign-in links are other messages: only the invitation counts.
    let statuses: Vec<_> = reopened
        .messages(None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind != entourage_sport::domain::messages::MessageKind::SignIn)
        .map(|m| m.status.as_str())
        .collect();
    reopened.close().await;
    // Finished (sent once, recorded) or handed back (pending, nothing sent): never left
    // claimed by a stopped worker, never lost.
    match smtp.count() {
        1 => assert_eq!(statuses, vec!["sent"]),
        0 => assert_eq!(statuses, vec!["pending"]),
        n => panic!("{n} copies sent"),
    }
}
