//! A club manager's week in a real browser (headless Chromium): sign in through the
//! emailed link, keep the club's profile, publish a fortnightly Saturday session
//! through the recurrence form across the October daylight-saving change (its preview
//! against the API's occurrences), cancel and move occurrences and see the
//! participant's emails, then check people in at the door on a phone with the network
//! cut for one tap. Every page passes axe-core at 360 px and 1280 px.

use std::time::Duration;

use chrono::{Datelike, Duration as Days, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Europe::Paris;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use super::day::{follow, id_in_path, look, press, see, then_wait, WAIT};
use crate::common::browser::Browser;
use crate::common::smtp::SmtpServer;
use crate::common::{spawn_with, TestApp, TestOptions};
use entourage_sport::domain::places::Scope;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::store::enrollments::NewEnrollment;

/// Signs `email` in on `browser` through the link of the newest sign-in email.
pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, smtp: &SmtpServer, email: &str) {
    let before = smtp
        .sign_ins()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(email)))
        .count();
    browser.goto(&format!("{}/login", app.base)).await;
    browser.fill("email", email).await;
    then_wait(
        browser,
        browser.click("form[action='/login'] button[type=submit]"),
    )
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    let link = loop {
        let links: Vec<String> = smtp
            .sign_ins()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(email)))
            .filter_map(|m| crate::common::smtp::login_path(&m.data))
            .collect();
        if links.len() > before {
            break links.last().cloned().expect("a link");
        }
        assert!(std::time::Instant::now() < deadline, "no sign-in email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    browser.goto(&format!("{}{link}", app.base)).await;
    then_wait(browser, browser.click("main form button[type=submit]")).await;
    assert_eq!(browser.path().await, "/app", "{}", browser.text().await);
    if browser.text().await.contains("Sign out") {
        press(browser, "Français").await;
    }
}

/// The first Saturday of the next October still ahead, whose fortnightly Saturdays
/// straddle the change to winter time (the last Sunday of October).
fn october_saturday() -> NaiveDate {
    let today = Utc::now().with_timezone(&Paris).date_naive();
    let year = if today.month() < 9 {
        today.year()
    } else {
        today.year() + 1
    };
    let first = NaiveDate::from_ymd_opt(year, 10, 1).expect("1 October");
    (0..7)
        .map(|d| first + Days::days(d))
        .find(|d| d.weekday() == Weekday::Sat)
        .expect("a Saturday in the first week")
}

/// Emails (not sign-in links) received for `address`, by subject.
fn subjects_to(smtp: &SmtpServer, address: &str) -> Vec<String> {
    smtp.received()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
        .map(crate::common::mail::subject)
        .collect()
}

async fn wait_for_subject(smtp: &SmtpServer, address: &str, words: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let subjects = subjects_to(smtp, address);
        if subjects.iter().any(|s| s.contains(words)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no email {words:?} to {address}; got {subjects:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The occurrences the API lists for a session in a window.
async fn api_occurrences(
    app: &TestApp,
    token: &str,
    session: &str,
    from: &str,
    to: &str,
) -> Vec<Value> {
    let answer = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={from}&to={to}"),
            token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().cloned().unwrap_or_default()
}

/// Sets Chromium's network on or off (DevTools' network conditions).
async fn network(browser: &Browser, online: bool) {
    browser.cdp("Network.enable", json!({})).await;
    browser
        .cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": !online, "latency": 0,
                   "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
}

/// Taps `css` as a thumb would: brought to the middle of the screen first, clear of
/// the totals bar that stays at the bottom.
async fn tap(browser: &Browser, css: &str) {
    browser
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            vec![json!(css)],
        )
        .await;
    browser.click(css).await;
}

/// Waits until the check-in's sync line says `class` ("sync offline", …).
async fn wait_sync(browser: &Browser, class: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let now = browser
            .execute("return document.getElementById('sync').className;", vec![])
            .await;
        if now == class {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{class} not said: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the check-in page says everything is saved.
async fn wait_saved(browser: &Browser) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = browser
            .execute(
                "return [document.getElementById('sync').className, \
                         localStorage.length];",
                vec![],
            )
            .await;
        if state[0] == "sync saved" && state[1] == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the taps were not saved: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_club_managers_week_in_the_browser() {
    let smtp = SmtpServer::start();
    let app = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager_email = format!("nadia.{}@example.org", Uuid::new_v4().simple());
    let answer = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"role": "club_manager", "name": "Nadia Benali",
                   "email": manager_email, "club_id": club}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let manager = answer.body["token"].as_str().expect("a token").to_owned();
    let structure = app.structure("Abri de la Villette").await;
    let worker = app.user("social_worker", None, Some(&structure)).await;

    // Three people a social worker follows, with contact details the club never sees.
    let mut people = Vec::new();
    for (first, last) in [("Samir", "Haddad"), ("Aïcha", "Diallo"), ("Léo", "Martin")] {
        let email = format!(
            "{}.{}@example.net",
            first.to_lowercase(),
            Uuid::new_v4().simple()
        );
        let answer = app
            .post(
                "/api/v1/participants",
                &worker,
                json!({"first_name": first, "last_name": last, "language": "fr",
                       "email": email, "phone": "+33 6 11 22 33 44",
                       "situation": "shelter", "consent": true}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        let code = answer.body["code"].as_str().expect("a code").to_owned();
        people.push((answer.id(), first, code, email));
    }
    // A weekly session that began an hour ago (today's is at the door now), all three
    // enrolled in the series.
    let started = Utc::now().with_timezone(&Paris) - Days::minutes(60);
    let start_local = started
        .naive_local()
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("a time");
    let byday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        [start_local.weekday().num_days_from_monday() as usize];
    let weekly = app
        .weekly_session(
            &club,
            &manager,
            json!({"title": "Boxe éducative", "sport": "boxe", "capacity": 5,
                   "start": start_local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                   "duration_minutes": 120,
                   "rrule": format!("FREQ=WEEKLY;BYDAY={byday}")}),
        )
        .await;
    let today_key = api_occurrences(
        &app,
        &manager,
        &weekly,
        &start_local.date().to_string(),
        &start_local.date().to_string(),
    )
    .await[0]["key"]
        .as_str()
        .expect("today's key")
        .to_owned();
    // They were enrolled last week, before today's began (enrolment closes before it).
    let me = app.get("/api/v1/me", &worker).await;
    let worker_id = Uuid::parse_str(me.body["id"].as_str().expect("an id")).expect("a uuid");
    for (id, ..) in &people {
        import_enrollment(
            &app.store,
            &NewEnrollment {
                id: Uuid::new_v4(),
                participant_id: Uuid::parse_str(id).expect("a uuid"),
                session_id: Uuid::parse_str(&weekly).expect("a uuid"),
                structure_id: Uuid::parse_str(&structure).expect("a uuid"),
                scope: Scope::Series,
                from_key: today_key.parse().expect("a key"),
                created_by: worker_id,
                now: Utc::now() - Days::days(7),
            },
        )
        .await
        .expect("an earlier enrollment");
    }

    let browser = Browser::start().await;
    browser.viewport(360, 800).await;
    sign_in(&browser, &app, &smtp, &manager_email).await;
    see(&browser, "Bonjour Nadia Benali").await;
    see(&browser, "Boxe éducative").await;
    look(&browser, "club-home").await;

    // The club's profile: an error beside the field, then a change that is kept.
    follow(&browser, "Mon club").await;
    let feed = browser.find("#club-feed").await.prop("value").await;
    assert!(
        feed.ok()
            .flatten()
            .is_some_and(|f| f.ends_with(&format!("/calendar/clubs/{club}.ics"))),
        "the club's public feed link"
    );
    look(&browser, "club-profile").await;
    follow(&browser, "Modifier le profil").await;
    browser.fill("city", "").await;
    browser
        .fill(
            "accessibility_notes",
            "Salle de plain-pied, vestiaires accessibles",
        )
        .await;
    press(&browser, "Enregistrer").await;
    assert!(browser.find("#error-city").await.text().await.is_ok());
    look(&browser, "club-profile-error").await;
    browser.fill("city", "Bondy").await;
    press(&browser, "Enregistrer").await;
    see(&browser, "Le profil du club est enregistré.").await;
    see(&browser, "Salle de plain-pied").await;

    // A fortnightly Saturday session through the form, typed from the Friday before
    // its first Saturday: the form moves the start to the Saturday.
    let saturday = october_saturday();
    follow(&browser, "Séances").await;
    look(&browser, "club-sessions").await;
    follow(&browser, "Nouvelle séance").await;
    browser.fill("title", "Football du samedi").await;
    browser.fill("sport", "football").await;
    browser.fill("capacity", "4").await;
    browser
        .fill("start_date", &(saturday - Days::days(1)).to_string())
        .await;
    browser.fill("start_time", "10:00").await;
    browser.check("repeat", "weekly", true).await;
    browser.fill("repeat_interval", "2").await;
    for day in ["mo", "tu", "we", "th", "fr", "sa", "su"] {
        browser
            .check(&format!("repeat_{day}"), "on", day == "sa")
            .await;
    }
    look(&browser, "session-new").await;
    press(&browser, "Voir les prochaines dates").await;
    see(&browser, "la première séance sera le samedi").await;
    let preview: Vec<String> = {
        let mut found = Vec::new();
        for time in browser.find_all("#preview time").await {
            found.push(
                time.attr("datetime")
                    .await
                    .expect("datetime")
                    .expect("a datetime attribute"),
            );
        }
        found
    };
    assert_eq!(preview.len(), 10, "{preview:?}");
    look(&browser, "session-preview").await;
    press(&browser, "Enregistrer").await;
    see(&browser, "La séance est enregistrée.").await;
    let saturdays = id_in_path(&browser).await;
    look(&browser, "session-edit").await;
    // The API, from the same code, lists the same ten occurrences: 10:00 in Paris on
    // both sides of the change to winter time.
    let listed = api_occurrences(
        &app,
        &manager,
        &saturdays,
        &saturday.to_string(),
        &(saturday + Days::weeks(20)).to_string(),
    )
    .await;
    let starts: Vec<String> = listed
        .iter()
        .take(10)
        .map(|o| o["start"].as_str().expect("a start").to_owned())
        .collect();
    let same = |a: &str, b: &str| {
        chrono::DateTime::parse_from_rfc3339(a).ok() == chrono::DateTime::parse_from_rfc3339(b).ok()
    };
    assert!(
        preview.iter().zip(&starts).all(|(p, s)| same(p, s)) && starts.len() == 10,
        "preview {preview:?}\napi {starts:?}"
    );
    assert!(
        preview.iter().all(|p| p.contains("T10:00:00")),
        "{preview:?}"
    );
    assert!(preview.iter().any(|p| p.ends_with("+02:00")), "{preview:?}");
    assert!(preview.iter().any(|p| p.ends_with("+01:00")), "{preview:?}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&preview[0])
            .expect("a date")
            .date_naive(),
        saturday
    );

    // Next week's boxing: cancel it; the week after: move it an hour later. Samir's
    // emails say so.
    let next = api_occurrences(
        &app,
        &manager,
        &weekly,
        &(start_local.date() + Days::days(7)).to_string(),
        &(start_local.date() + Days::days(14)).to_string(),
    )
    .await;
    let (next_key, after_key) = (
        next[0]["key"].as_str().expect("a key").to_owned(),
        next[1]["key"].as_str().expect("a key").to_owned(),
    );
    browser
        .goto(&format!(
            "{}/app/sessions/{weekly}/occurrences/{next_key}",
            app.base
        ))
        .await;
    see(&browser, "Samir H.").await;
    see(&browser, &people[0].2).await;
    see(&browser, "3 personne(s) inscrite(s) seront prévenues").await;
    let text = browser.text().await;
    for (_, _, _, email) in &people {
        assert!(!text.contains(email.as_str()), "{email} shown to the club");
    }
    assert!(!text.contains("+33 6"), "a phone shown to the club");
    look(&browser, "occurrence").await;
    press(&browser, "Annuler cette date").await;
    see(
        &browser,
        "Séance annulée : les personnes inscrites sont prévenues.",
    )
    .await;
    // Cancelled, the date offers to bring it back, naming who will be told again.
    see(&browser, "Rétablir").await;
    see(&browser, "3 personne(s) inscrite(s) seront prévenues").await;
    look(&browser, "occurrence-cancelled").await;
    wait_for_subject(&smtp, &people[0].3, "Changement").await;
    let before = subjects_to(&smtp, &people[0].3).len();
    browser
        .goto(&format!(
            "{}/app/sessions/{weekly}/occurrences/{after_key}",
            app.base
        ))
        .await;
    let later = (start_local + Days::hours(1)).format("%H:%M").to_string();
    browser.fill("start_time", &later).await;
    press(&browser, "Déplacer cette date").await;
    see(&browser, "Séance déplacée").await;
    let deadline = std::time::Instant::now() + WAIT;
    while subjects_to(&smtp, &people[0].3).len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "no email for the move"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let moved = api_occurrences(
        &app,
        &manager,
        &weekly,
        &(start_local.date() + Days::days(7)).to_string(),
        &(start_local.date() + Days::days(14)).to_string(),
    )
    .await;
    assert_eq!(moved[0]["status"], "cancelled", "{moved:?}");
    assert_eq!(moved[1]["status"], "moved", "{moved:?}");

    // The calendar: this week and the next two, states and places.
    follow(&browser, "Calendrier").await;
    look(&browser, "club-calendar").await;
    browser
        .goto(&format!(
            "{}/app/club/calendar?week={}",
            app.base,
            start_local.date() + Days::days(7)
        ))
        .await;
    see(&browser, "Séance annulée").await;
    look(&browser, "club-calendar-next-week").await;

    // At the door, phone in hand: Samir by his first name and Enter, Aïcha with a tap,
    // then the network drops for Léo's tap and the walk-in; it comes back, and the
    // sheet is recorded once.
    browser
        .goto(&format!(
            "{}/app/sessions/{weekly}/occurrences/{today_key}/check-in",
            app.base
        ))
        .await;
    look(&browser, "check-in").await;
    let find = browser.find("#find").await;
    find.send_keys("sam").await.expect("typing");
    find.send_keys("\u{E007}").await.expect("Enter");
    wait_saved(&browser).await;
    tap(&browser, &format!("label[for='m-{}-present']", people[1].0)).await;
    wait_saved(&browser).await;
    network(&browser, false).await;
    tap(&browser, &format!("label[for='m-{}-present']", people[2].0)).await;
    tap(&browser, "button.step[data-step='1']").await;
    wait_sync(&browser, "sync offline").await;
    see(&browser, "Pas de réseau").await;
    see(&browser, "Pas encore enregistré").await;
    browser
        .assert_accessible("check-in offline at 360 px")
        .await;
    browser
        .screenshot(super::day::screenshots().join("check-in-offline-phone.png"))
        .await;
    // Nothing reached the server meanwhile: Léo is not recorded yet.
    let roster = app
        .get(
            &format!("/api/v1/sessions/{weekly}/occurrences/{today_key}/roster"),
            &manager,
        )
        .await;
    let mark_of = |roster: &Value, id: &str| {
        roster["participants"]
            .as_array()
            .expect("participants")
            .iter()
            .find(|p| p["participant_id"] == id)
            .map(|p| p["attendance"].clone())
            .expect("on the roster")
    };
    assert_eq!(mark_of(&roster.body, &people[0].0), "present");
    assert_eq!(mark_of(&roster.body, &people[1].0), "present");
    assert_eq!(mark_of(&roster.body, &people[2].0), Value::Null);
    network(&browser, true).await;
    wait_saved(&browser).await;
    let roster = app
        .get(
            &format!("/api/v1/sessions/{weekly}/occurrences/{today_key}/roster"),
            &manager,
        )
        .await;
    for (id, ..) in &people {
        assert_eq!(mark_of(&roster.body, id), "present", "{:?}", roster.body);
    }
    assert_eq!(roster.body["walk_ins_total"], 1, "{:?}", roster.body);
    assert_eq!(
        roster.body["participants"].as_array().map(Vec::len),
        Some(3)
    );
    // The encounters count each present once, and the walk-in.
    let stats = app
        .get(
            &format!(
                "/api/v1/stats/encounters?from={0}&to={0}&group_by=club",
                start_local.date()
            ),
            &app.admin,
        )
        .await;
    assert_eq!(stats.status, StatusCode::OK, "{stats:?}");
    assert_eq!(stats.body["total"]["encounters"], 4, "{:?}", stats.body);
    // Closing the sheet by hand keeps it as it is.
    press(&browser, "Enregistrer la feuille").await;
    see(&browser, "La feuille de présence est enregistrée.").await;
    look(&browser, "check-in-saved").await;

    // Signed out meanwhile (the session ended on the server): a tap is not said to be
    // saved; it stays on the phone, and the page says to sign in again.
    browser
        .client()
        .delete_cookie("es_session")
        .await
        .expect("the session cookie removed");
    tap(&browser, &format!("label[for='m-{}-excused']", people[2].0)).await;
    wait_sync(&browser, "sync signed-out").await;
    see(&browser, "Vous n'êtes plus connecté").await;
    let kept = browser
        .execute(
            "return Object.keys(localStorage).filter(k => k.startsWith('es-check-in:')).length;",
            vec![],
        )
        .await;
    assert_eq!(kept, 1, "the tap is kept on the phone");
    let roster = app
        .get(
            &format!("/api/v1/sessions/{weekly}/occurrences/{today_key}/roster"),
            &manager,
        )
        .await;
    assert_eq!(mark_of(&roster.body, &people[2].0), "present");

    browser.close().await;
}
