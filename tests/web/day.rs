//! A social worker's whole day in a real browser (headless Chromium through
//! chromedriver): sign in through the emailed link, find a session with places,
//! register a participant, enrol them, see a second person's waitlist position, cancel,
//! follow attendance, erase. Every page passes axe-core at 360 px and 1280 px, and
//! nothing scrolls sideways on the phone.
//!
//! Screenshots go to `<target>/browser-screenshots/`, or to `$SCREENSHOTS_DIR` (the
//! README's come from `scripts/screenshots.sh`).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, Duration as Days, Utc};
use chrono_tz::Europe::Paris;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::smtp::SmtpServer;
use crate::common::{spawn_with, TestApp, TestOptions};
use entourage_sport::domain::places::Scope;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::store::enrollments::NewEnrollment;

pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) fn screenshots() -> PathBuf {
    if let Some(dir) = std::env::var_os("SCREENSHOTS_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

/// Looks at the page as a person would, at a phone's width then a desk's: axe-core
/// finds nothing, nothing scrolls sideways, and a screenshot of each is kept.
pub(crate) async fn look(browser: &Browser, name: &str) {
    for (width, height, device) in [(360, 800, "phone"), (1280, 900, "desktop")] {
        browser.viewport(width, height).await;
        browser
            .assert_accessible(&format!("{name} at {width} px"))
            .await;
        let overflow = browser
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "{name} scrolls sideways by {overflow} px at {width} px"
        );
        browser
            .screenshot(screenshots().join(format!("{name}-{device}.png")))
            .await;
    }
    browser.viewport(360, 800).await;
}

/// Marks the page shown, runs `act` (a click that loads another page), and waits until
/// the next page has loaded.
pub(crate) async fn then_wait<F: std::future::Future<Output = ()>>(browser: &Browser, act: F) {
    browser
        .execute("window.__before_click = true;", vec![])
        .await;
    act.await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let loaded = browser
            .execute(
                "return !window.__before_click && document.readyState === 'complete';",
                vec![],
            )
            .await;
        if loaded == true {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new page after the click"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) async fn press(browser: &Browser, text: &str) {
    then_wait(browser, browser.click_button(text)).await;
}

pub(crate) async fn press_at(browser: &Browser, css: &str) {
    then_wait(browser, browser.click(css)).await;
}

pub(crate) async fn follow(browser: &Browser, text: &str) {
    then_wait(browser, browser.click_link(text)).await;
}

pub(crate) async fn see(browser: &Browser, words: &str) {
    let text = browser.text().await;
    assert!(
        text.contains(words),
        "{words:?} not on {}:\n{text}",
        browser.path().await
    );
}

struct Setup {
    structure: String,
    worker_email: String,
    manager: String,
    session: String,
    past_session: String,
}

/// What programme staff and the club did before the day: a structure, its social
/// worker, a club, a session with one place, and an older session.
async fn setup(app: &TestApp) -> Setup {
    let structure = app.structure("Abri de la Villette").await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let manager = app.user("club_manager", Some(&club), None).await;
    let worker_email = format!("claire.{}@example.org", Uuid::new_v4().simple());
    let answer = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"role": "social_worker", "name": "Claire Martin",
                   "email": worker_email, "structure_id": structure}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    // One place each Tuesday from the next one: the second person waits.
    let today = Utc::now().with_timezone(&Paris).date_naive();
    let ahead = (9 - today.weekday().number_from_monday() as i64) % 7;
    let next_tuesday = today + Days::days(if ahead == 0 { 7 } else { ahead });
    let session = app
        .weekly_session(
            &club,
            &manager,
            json!({"title": "Football loisir du mardi", "capacity": 1,
                   "start": format!("{next_tuesday}T18:30:00"),
                   "what_to_bring": "Baskets et une bouteille d'eau",
                   "coach_name": "Karim"}),
        )
        .await;
    // A session that began three weeks ago, to record attendance on.
    let first = today - Days::days(21);
    let byday =
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][first.weekday().num_days_from_monday() as usize];
    let past_session = app
        .weekly_session(
            &club,
            &manager,
            json!({"title": "Footing du matin", "sport": "course",
                   "start": format!("{first}T09:00:00"),
                   "rrule": format!("FREQ=WEEKLY;BYDAY={byday}")}),
        )
        .await;
    Setup {
        structure,
        worker_email,
        manager,
        session,
        past_session,
    }
}

/// The id at the end of the browser's current path (`/app/participants/{id}`).
pub(crate) async fn id_in_path(browser: &Browser) -> String {
    let path = browser.path().await;
    path.split(['?', '#'])
        .next()
        .and_then(|p| p.rsplit('/').next())
        .expect("an id in the path")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_social_workers_day_in_the_browser() {
    let smtp = SmtpServer::start();
    let app = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let s = setup(&app).await;
    let browser = Browser::start().await;
    browser.viewport(360, 800).await;

    // Sign in: ask for a link, open it from the email, press the button.
    browser.goto(&format!("{}/login", app.base)).await;
    look(&browser, "login").await;
    browser.fill("email", &s.worker_email).await;
    press_at(&browser, "form[action='/login'] button[type=submit]").await;
    look(&browser, "login-sent").await;
    // The account's creation sent a first link; the form sent a second one. Use the
    // newest.
    let deadline = std::time::Instant::now() + WAIT;
    let link = loop {
        let links: Vec<_> = smtp
            .sign_ins()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(&s.worker_email)))
            .filter_map(|m| crate::common::smtp::login_path(&m.data))
            .collect();
        if links.len() >= 2 || std::time::Instant::now() > deadline {
            break links.last().cloned().expect("a sign-in link by email");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    browser.goto(&format!("{}{link}", app.base)).await;
    look(&browser, "login-link").await;
    press_at(&browser, "main form button[type=submit]").await;
    assert_eq!(browser.path().await, "/app", "{}", browser.text().await);
    see(&browser, "Claire Martin").await;
    // Chromium asks for English here; the social worker prefers French, and it stays.
    if browser.text().await.contains("Hello") {
        press(&browser, "Français").await;
    }
    see(&browser, "Bonjour Claire Martin").await;
    look(&browser, "home-empty").await;

    // Find a session with places.
    browser
        .goto(&format!(
            "{}/app/occurrences?sport=football&with_places=true",
            app.base
        ))
        .await;
    see(&browser, "Football loisir du mardi").await;
    see(&browser, "1 place libre").await;
    look(&browser, "search").await;
    // Tuesday evenings find it; Wednesday mornings do not.
    browser
        .goto(&format!(
            "{}/app/occurrences?weekday=2&time_of_day=evening",
            app.base
        ))
        .await;
    see(&browser, "Football loisir du mardi").await;
    browser
        .goto(&format!(
            "{}/app/occurrences?weekday=3&time_of_day=morning&sport=football",
            app.base
        ))
        .await;
    assert!(!browser.text().await.contains("Football loisir du mardi"));
    browser
        .goto(&format!(
            "{}/app/occurrences?sport=football&with_places=true",
            app.base
        ))
        .await;
    follow(&browser, "Football loisir du mardi").await;
    see(&browser, "Baskets et une bouteille d'eau").await;
    look(&browser, "session").await;

    // Register a participant: first without consent, which the form refuses beside
    // the box, keeping what was typed.
    browser
        .goto(&format!("{}/app/participants/new", app.base))
        .await;
    look(&browser, "participant-new").await;
    browser.fill("first_name", "Amina").await;
    browser.fill("last_name", "Diallo").await;
    browser.fill("situation", "Personne migrante").await;
    browser.fill("email", "amina@example.net").await;
    press(&browser, "Inscrire la personne").await;
    browser.find("#error-consent").await;
    let kept = browser
        .execute(
            "return document.getElementById('f-first_name').value;",
            vec![],
        )
        .await;
    assert_eq!(kept, "Amina");
    look(&browser, "participant-new-error").await;
    browser.check("consent", "true", true).await;
    press(&browser, "Inscrire la personne").await;
    see(&browser, "La personne est inscrite").await;
    let amina = id_in_path(&browser).await;

    // Enrol her in the whole session: the one place is hers.
    browser
        .goto(&format!(
            "{}/app/sessions/{}?q=Amina#enrol",
            app.base, s.session
        ))
        .await;
    press(&browser, "Inscrire").await;
    see(&browser, "inscription confirmée").await;
    assert_eq!(id_in_path(&browser).await, amina);
    look(&browser, "participant").await;

    // A second person, registered by a colleague through the API: the session is
    // full, they wait first in line.
    let colleague = app.user("social_worker", None, Some(&s.structure)).await;
    let answer = app
        .post(
            "/api/v1/participants",
            &colleague,
            json!({"first_name": "Bilal", "last_name": "Haddad", "situation": "street",
                   "consent": true}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let bilal = answer.id();
    let bilal_code = answer.body["code"].as_str().expect("a code").to_owned();
    browser
        .goto(&format!(
            "{}/app/sessions/{}?q=Bilal#enrol",
            app.base, s.session
        ))
        .await;
    press(&browser, "Inscrire").await;
    see(&browser, "liste d'attente, position 1").await;
    assert_eq!(id_in_path(&browser).await, bilal);

    // This week on the home page, then Amina cancels: Bilal gets the place.
    browser
        .goto(&format!("{}/app/participants/{amina}", app.base))
        .await;
    press_at(
        &browser,
        "form[action^='/app/enrollments/'] button[type=submit]",
    )
    .await;
    see(&browser, "Inscription annulée").await;
    browser
        .goto(&format!("{}/app/participants/{bilal}", app.base))
        .await;
    see(&browser, "Confirmé").await;

    // Attendance: Amina missed the footing twice in a row; the club recorded it.
    let now = Utc::now();
    let occurrences = app
        .get(
            &format!(
                "/api/v1/sessions/{}/occurrences?from={}&to={}",
                s.past_session,
                (now - Days::days(22)).date_naive(),
                now.date_naive()
            ),
            &s.manager,
        )
        .await;
    let keys: Vec<String> = occurrences.body["items"]
        .as_array()
        .expect("occurrences")
        .iter()
        .filter(|o| {
            chrono::DateTime::parse_from_rfc3339(o["start"].as_str().unwrap()).unwrap() < now
        })
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(keys.len() >= 2, "{occurrences:?}");
    let participant = app
        .get(&format!("/api/v1/participants/{amina}"), &app.admin)
        .await;
    import_enrollment(
        &app.store,
        &NewEnrollment {
            id: Uuid::new_v4(),
            participant_id: Uuid::parse_str(&amina).unwrap(),
            session_id: Uuid::parse_str(&s.past_session).unwrap(),
            structure_id: Uuid::parse_str(&s.structure).unwrap(),
            scope: Scope::Series,
            from_key: keys[0].parse().unwrap(),
            created_by: Uuid::parse_str(participant.body["referrer_id"].as_str().unwrap()).unwrap(),
            now: now - Days::days(22),
        },
    )
    .await
    .expect("an earlier enrollment");
    for key in &keys[keys.len() - 2..] {
        let answer = app
            .call(
                reqwest::Method::PUT,
                &format!(
                    "/api/v1/sessions/{}/occurrences/{key}/attendance",
                    s.past_session
                ),
                Some(&s.manager),
                Some(json!({"participants": [{"participant_id": amina, "status": "absent"}]})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
    browser
        .goto(&format!("{}/app/participants/{amina}", app.base))
        .await;
    see(&browser, "2 absences de suite sans excuse").await;
    see(&browser, "Absent·e").await;
    look(&browser, "participant-attendance").await;
    browser.goto(&format!("{}/app", app.base)).await;
    see(&browser, "Deux absences de suite sans excuse").await;
    see(&browser, "Bilal Haddad").await;
    look(&browser, "home").await;
    browser
        .goto(&format!("{}/app/participants", app.base))
        .await;
    look(&browser, "participants").await;
    // Found by their door code as well as by name.
    browser
        .goto(&format!("{}/app/participants?q={bilal_code}", app.base))
        .await;
    see(&browser, "Bilal Haddad").await;
    assert!(!browser.text().await.contains("Amina Diallo"));

    // Erase Amina: a confirmation page says what goes and what stays.
    browser
        .goto(&format!("{}/app/participants/{amina}/erase", app.base))
        .await;
    see(&browser, "Des chiffres anonymes").await;
    look(&browser, "participant-erase").await;
    press(&browser, "Effacer définitivement").await;
    assert!(browser.path().await.starts_with("/app/participants"));
    let gone = app
        .get(&format!("/api/v1/participants/{amina}"), &app.admin)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
    assert!(!browser.text().await.contains("Amina"));

    // Sign out: the session ends.
    press(&browser, "Se déconnecter").await;
    assert_eq!(browser.path().await, "/login");
    browser.goto(&format!("{}/app", app.base)).await;
    assert_eq!(browser.path().await, "/login");

    // The club's manager signs in on the same phone: their week, places taken, and the
    // sheet the club has not recorded yet; never anyone's contact details.
    let me = app.get("/api/v1/me", &s.manager).await;
    let manager_email = me.body["email"].as_str().expect("an email").to_owned();
    browser.fill("email", &manager_email).await;
    press_at(&browser, "form[action='/login'] button[type=submit]").await;
    let path = smtp
        .sign_in_path(&manager_email, WAIT)
        .expect("the manager's sign-in link");
    let deadline = std::time::Instant::now() + WAIT;
    let mut link = path;
    // Creation sent one link, the form a second: wait for the newest.
    while smtp
        .sign_ins()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(&manager_email)))
        .count()
        < 2
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        link = smtp.sign_in_path(&manager_email, WAIT).expect("a link");
    }
    browser.goto(&format!("{}{link}", app.base)).await;
    press_at(&browser, "main form button[type=submit]").await;
    assert_eq!(browser.path().await, "/app");
    see(&browser, "Places prises : 1 sur 1").await;
    see(&browser, "Présences pas encore notées").await;
    assert!(!browser.text().await.contains("example.net"));
    look(&browser, "club-home-after-a-social-workers-day").await;

    browser.close().await;
}
