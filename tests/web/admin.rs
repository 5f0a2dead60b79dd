//! Programme staff's day in a real browser: add a structure and sign a club (each form
//! refusing a mistake first), invite the club's manager, who signs in through the
//! emailed link, disable a social worker whose open session then ends, and send a dead
//! message again. Every page passes axe-core at 360 px and 1280 px.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::club::sign_in;
use super::day::{follow, look, press, see, WAIT};
use super::http::ADMIN_EMAIL;
use crate::common::browser::Browser;
use crate::common::smtp::SmtpServer;
use crate::common::{spawn_with, TestApp, TestOptions};

/// The admin API's view of one message.
async fn message_status(app: &TestApp, id: &str) -> String {
    let list = app.get("/api/v1/admin/outbox?limit=500", &app.admin).await;
    list.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["id"] == id))
        .map(|m| m["status"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

async fn wait_status(app: &TestApp, id: &str, status: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while message_status(app, id).await != status {
        assert!(
            std::time::Instant::now() < deadline,
            "message {id} never {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn programme_staffs_day_in_the_browser() {
    let smtp = SmtpServer::start();
    let app = spawn_with(TestOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let browser = Browser::start().await;
    browser.viewport(360, 800).await;
    sign_in(&browser, &app, &smtp, ADMIN_EMAIL).await;
    look(&browser, "admin-home").await;

    // A structure: the form names what is missing, then it is kept.
    follow(&browser, "Structures").await;
    follow(&browser, "Ajouter une structure").await;
    browser.fill("city", "Paris").await;
    press(&browser, "Enregistrer").await;
    assert!(browser.find("#error-name").await.text().await.is_ok());
    see(&browser, "Ce champ est obligatoire.").await;
    look(&browser, "admin-structure-error").await;
    browser.fill("name", "Abri de la Villette").await;
    press(&browser, "Enregistrer").await;
    see(&browser, "C'est enregistré.").await;
    let structure = super::day::id_in_path(&browser).await;

    // A club, signed with its partnership; a partnership ending before it began is
    // refused beside the field.
    follow(&browser, "Clubs").await;
    follow(&browser, "Signer un club").await;
    browser.fill("name", "AS Bondy").await;
    browser.fill("sports", "football, boxe").await;
    browser.fill("address", "12 rue de la Paix").await;
    browser.fill("postal_code", "93140").await;
    browser.fill("city", "Bondy").await;
    browser.fill("partnership.status", "Actif").await;
    browser.fill("partnership.since", "2026-09-01").await;
    browser.fill("partnership.until", "2026-01-01").await;
    press(&browser, "Enregistrer").await;
    see(&browser, "Ne peut pas être avant la date de début.").await;
    look(&browser, "admin-club-error").await;
    browser.fill("partnership.until", "2027-08-31").await;
    press(&browser, "Enregistrer").await;
    see(&browser, "C'est enregistré.").await;
    let club = super::day::id_in_path(&browser).await;
    let api = app.get(&format!("/api/v1/clubs/{club}"), &app.admin).await;
    assert_eq!(api.body["partnership"]["status"], "active", "{api:?}");
    browser
        .goto(&format!(
            "{}/app/admin/clubs?city=Bondy&partnership=active",
            app.base
        ))
        .await;
    see(&browser, "AS Bondy").await;
    look(&browser, "admin-clubs").await;
    browser
        .goto(&format!("{}/app/admin/clubs?partnership=ended", app.base))
        .await;
    assert!(!browser.text().await.contains("AS Bondy"));

    // Invite the club's manager: the emailed link signs her in to her club.
    let manager_email = format!("nadia.{}@example.org", Uuid::new_v4().simple());
    follow(&browser, "Comptes").await;
    browser.check("role", "club_manager", true).await;
    browser.fill("name", "Nadia Benali").await;
    browser.fill("email", &manager_email).await;
    browser.fill("club_id", "AS Bondy").await;
    press(&browser, "Inviter").await;
    see(&browser, "Invitation envoyée").await;
    look(&browser, "admin-users").await;
    let link = smtp
        .sign_in_path(&manager_email, WAIT)
        .expect("the invitation's sign-in link");
    browser.goto(&format!("{}{link}", app.base)).await;
    super::day::press_at(&browser, "main form button[type=submit]").await;
    assert_eq!(browser.path().await, "/app");
    see(&browser, "Nadia Benali").await;
    follow(&browser, "Mon club").await;
    see(&browser, "AS Bondy").await;
    press(&browser, "Se déconnecter").await;
    sign_in(&browser, &app, &smtp, ADMIN_EMAIL).await;

    // A social worker signed in elsewhere: disabling her ends that session at once.
    let worker = super::http::account(
        &app,
        &smtp,
        "social_worker",
        "Claire Martin",
        None,
        Some(&structure),
    )
    .await;
    let mut elsewhere = super::http::sign_in(&app, &smtp, &worker.email).await;
    assert_eq!(elsewhere.get("/app").await.status, StatusCode::OK);
    browser
        .goto(&format!("{}/app/admin/users?role=social_worker", app.base))
        .await;
    let disable = format!("#user-{} button[value=disable]", worker.id);
    super::day::then_wait(&browser, browser.click(&disable)).await;
    see(&browser, "Compte désactivé").await;
    let after = elsewhere.get("/app").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{:?}", after.status);
    assert_eq!(after.location.as_deref(), Some("/login"));

    // An invitation whose address the mail server refuses goes dead; once the address
    // works, "send again" delivers it.
    let refused = format!("refused.{}@example.net", Uuid::new_v4().simple());
    smtp.reject_recipient(&refused);
    let sw = app.user("social_worker", None, Some(&structure)).await;
    let person = app
        .post(
            "/api/v1/participants",
            &sw,
            json!({"first_name": "Léo", "last_name": "Martin", "language": "fr",
                   "email": refused, "situation": "shelter", "consent": true}),
        )
        .await;
    assert_eq!(person.status, StatusCode::CREATED, "{person:?}");
    let session = app
        .weekly_session(&club, &app.admin, json!({"start": "2027-03-09T18:30:00"}))
        .await;
    let enrolled = app
        .post(
            "/api/v1/enrollments",
            &sw,
            json!({"participant_id": person.id(), "session_id": session}),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{enrolled:?}");
    let deadline = std::time::Instant::now() + WAIT;
    let dead = loop {
        let list = app
            .get("/api/v1/admin/outbox?status=dead", &app.admin)
            .await;
        if let Some(m) = list.body["items"].as_array().and_then(|i| i.first()) {
            break m["id"].as_str().expect("an id").to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no dead message");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    browser
        .goto(&format!("{}/app/admin/outbox", app.base))
        .await;
    // The recipient shows masked, even inside the mail server's error.
    see(&browser, "<r***@example.net>").await;
    assert!(
        !browser.text().await.contains(&refused),
        "an address unmasked"
    );
    look(&browser, "admin-outbox").await;
    smtp.accept_recipient(&refused);
    press(&browser, "Renvoyer").await;
    see(&browser, "Remis dans la file : 1.").await;
    wait_status(&app, &dead, "sent").await;

    browser.close().await;
}

/// Programme staff's pages answer a 403 page to every other role, and their forms
/// change nothing for them; programme staff's own forms need their CSRF token.
#[tokio::test]
async fn programme_staff_pages_are_theirs_alone() {
    let smtp = SmtpServer::start();
    let app = super::http::app_mailing_to(&smtp).await;
    let structure = app.structure("Abri de la Villette").await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let worker = super::http::account(
        &app,
        &smtp,
        "social_worker",
        "Claire Martin",
        None,
        Some(&structure),
    )
    .await;
    let manager = super::http::account(
        &app,
        &smtp,
        "club_manager",
        "Nadia Benali",
        Some(&club),
        None,
    )
    .await;
    let pages = [
        "/app/admin/clubs".to_owned(),
        "/app/admin/clubs/new".to_owned(),
        format!("/app/admin/clubs/{club}"),
        "/app/admin/structures".to_owned(),
        "/app/admin/structures/new".to_owned(),
        format!("/app/admin/structures/{structure}"),
        "/app/admin/users".to_owned(),
        "/app/admin/outbox".to_owned(),
    ];
    for email in [&worker.email, &manager.email] {
        let mut agent = super::http::sign_in(&app, &smtp, email).await;
        for path in &pages {
            agent.get(path).await.assert_html(StatusCode::FORBIDDEN);
        }
        // Their own CSRF token, a valid form: still 403, nothing changes.
        let csrf = agent.get("/app").await.csrf();
        let disable = agent
            .post(
                &format!("/app/admin/users/{}", worker.id),
                &[("csrf_token", &csrf), ("action", "disable")],
            )
            .await;
        disable.assert_html(StatusCode::FORBIDDEN);
        let invite = agent
            .post(
                "/app/admin/users",
                &[
                    ("csrf_token", &csrf),
                    ("role", "social_worker"),
                    ("name", "Intrus"),
                    ("email", "intrus@example.org"),
                    ("structure_id", &structure),
                ],
            )
            .await;
        invite.assert_html(StatusCode::FORBIDDEN);
        let renamed = agent
            .post(
                &format!("/app/admin/clubs/{club}"),
                &[("csrf_token", &csrf), ("name", "Renamed")],
            )
            .await;
        renamed.assert_html(StatusCode::FORBIDDEN);
    }
    let users = app.get("/api/v1/users", &app.admin).await;
    let listed = users.body.as_array().cloned().unwrap_or_default();
    assert!(listed.iter().all(|u| u["email"] != "intrus@example.org"));
    assert!(listed
        .iter()
        .any(|u| u["email"] == worker.email.as_str() && u["disabled"] == false));
    let api_club = app.get(&format!("/api/v1/clubs/{club}"), &app.admin).await;
    assert_eq!(api_club.body["name"], "AS Bondy");

    // Programme staff reach every page; a form without its token changes nothing.
    let mut staff = super::http::sign_in(&app, &smtp, ADMIN_EMAIL).await;
    for path in &pages {
        staff.get(path).await.assert_html(StatusCode::OK);
    }
    let forged = staff
        .post(
            &format!("/app/admin/users/{}", worker.id),
            &[("action", "disable")],
        )
        .await;
    forged.assert_html(StatusCode::FORBIDDEN);
    // An invitation with no structure for a social worker: the form again, the field
    // named.
    let csrf = staff.get("/app/admin/users").await.csrf();
    let missing = staff
        .post(
            "/app/admin/users",
            &[
                ("csrf_token", &csrf),
                ("role", "social_worker"),
                ("name", "Sans structure"),
                ("email", "sans.structure@example.org"),
            ],
        )
        .await;
    missing.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.element_text("error-structure_id").is_some(),
        "{missing:?}"
    );
    let users = app.get("/api/v1/users", &app.admin).await;
    let listed = users.body.as_array().cloned().unwrap_or_default();
    assert!(listed
        .iter()
        .any(|u| u["email"] == worker.email.as_str() && u["disabled"] == false));
    assert!(listed
        .iter()
        .all(|u| u["email"] != "sans.structure@example.org"));
}
