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

    // A social worker signed in on her own phone (another browser): disabling her ends
    // that session at once; her next page is the sign-in page.
    let worker = super::http::account(
        &app,
        &smtp,
        "social_worker",
        "Claire Martin",
        None,
        Some(&structure),
    )
    .await;
    let phone = Browser::start().await;
    phone.viewport(360, 800).await;
    sign_in(&phone, &app, &smtp, &worker.email).await;
    see(&phone, "Bonjour Claire Martin").await;
    browser
        .goto(&format!("{}/app/admin/users?role=social_worker", app.base))
        .await;
    let disable = format!("#user-{} button[value=disable]", worker.id);
    super::day::then_wait(&browser, browser.click(&disable)).await;
    see(&browser, "Compte désactivé").await;
    phone.goto(&format!("{}/app/participants", app.base)).await;
    assert_eq!(phone.path().await, "/login", "her session ended");
    assert!(!phone.text().await.contains("Claire Martin"));
    phone.close().await;

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
        for (path, fields) in [
            (
                "/app/admin/outbox/retry".to_owned(),
                vec![("kind", "invitation")],
            ),
            (
                format!("/app/admin/outbox/{}/retry", Uuid::new_v4()),
                vec![],
            ),
            (
                "/app/admin/structures/new".to_owned(),
                vec![("name", "Intruse")],
            ),
            (
                "/app/admin/clubs/new".to_owned(),
                vec![("name", "Club intrus"), ("sports", "boxe")],
            ),
            (
                format!("/app/admin/users/{}", worker.id),
                vec![("action", "move"), ("structure_id", structure.as_str())],
            ),
        ] {
            let mut form = vec![("csrf_token", csrf.as_str())];
            form.extend(fields);
            agent
                .post(&path, &form)
                .await
                .assert_html(StatusCode::FORBIDDEN);
        }
    }
    let structures = app.get("/api/v1/structures", &app.admin).await;
    assert!(
        !structures.body.to_string().contains("Intruse"),
        "{structures:?}"
    );
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
    // Inviting an address that has an account already: the form again, the address
    // kept and the message beside it; programme staff are not invited from here.
    let taken = staff
        .post(
            "/app/admin/users",
            &[
                ("csrf_token", &csrf),
                ("role", "social_worker"),
                ("name", "Claire encore"),
                ("email", &worker.email),
                ("structure_id", &structure),
            ],
        )
        .await;
    taken.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    let said = taken
        .element_text("error-email")
        .expect("an error beside the address");
    assert!(said.contains("existe déjà"), "{said}");
    assert!(taken.body.contains(&worker.email), "what was typed is kept");
    let admin_role = staff
        .post(
            "/app/admin/users",
            &[
                ("csrf_token", &csrf),
                ("role", "admin"),
                ("name", "Nouvel admin"),
                ("email", "nouvel.admin@example.org"),
            ],
        )
        .await;
    admin_role.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        admin_role.element_text("error-role").is_some(),
        "{admin_role:?}"
    );
    // Moving an account without choosing where changes nothing and says so.
    let nowhere = staff
        .post(
            &format!("/app/admin/users/{}", worker.id),
            &[("csrf_token", &csrf), ("action", "move")],
        )
        .await;
    assert!(nowhere.status.is_client_error(), "{nowhere:?}");
    // Accounts over their life: the worker (signed in above) shows when, on the list
    // and on their structure's page; moved to another structure, disabled, enabled.
    let list = staff.get("/app/admin/users?role=social_worker").await;
    list.assert_html(StatusCode::OK);
    assert!(list.body.contains("Dernière connexion"), "{list:?}");
    let other = app.structure("Maison des familles").await;
    let page = staff
        .get(&format!("/app/admin/structures/{structure}"))
        .await;
    assert!(page.body.contains(&worker.name), "{page:?}");
    let moved = staff
        .post(
            &format!("/app/admin/users/{}", worker.id),
            &[
                ("csrf_token", &csrf),
                ("action", "move"),
                ("structure_id", &other),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{moved:?}");
    let user_of = |listed: &[serde_json::Value], email: &str| {
        listed
            .iter()
            .find(|u| u["email"] == email)
            .cloned()
            .expect("listed")
    };
    let listed = app.get("/api/v1/users", &app.admin).await.body;
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(
        user_of(&listed, &worker.email)["structure_id"],
        other.as_str()
    );
    for (action, disabled) in [("disable", true), ("enable", false)] {
        let answer = staff
            .post(
                &format!("/app/admin/users/{}", worker.id),
                &[("csrf_token", &csrf), ("action", action)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
        let listed = app.get("/api/v1/users", &app.admin).await.body;
        let listed = listed.as_array().cloned().unwrap_or_default();
        assert_eq!(
            user_of(&listed, &worker.email)["disabled"],
            disabled,
            "{action}"
        );
    }
    // A structure renamed through its page; a wrong form keeps what was typed.
    let renamed = staff
        .post(
            &format!("/app/admin/structures/{other}"),
            &[
                ("csrf_token", &csrf),
                ("name", "Maison des familles de Bondy"),
                ("kind", "association"),
                ("city", "Bondy"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{renamed:?}");
    let api_structure = app
        .get(&format!("/api/v1/structures/{other}"), &app.admin)
        .await;
    assert_eq!(api_structure.body["name"], "Maison des familles de Bondy");
    let blank = staff
        .post(
            &format!("/app/admin/structures/{other}"),
            &[
                ("csrf_token", &csrf),
                ("name", ""),
                ("kind", "association"),
                ("city", "Pantin"),
            ],
        )
        .await;
    blank.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.element_text("error-name").is_some(), "{blank:?}");
    assert!(blank.body.contains("Pantin"), "what was typed is kept");
    // A notice the page does not know is left out, not a 5xx.
    for path in [
        "/app/admin/users?done=whatever",
        "/app/admin/outbox?status=dead&done=whatever",
    ] {
        staff.get(path).await.assert_html(StatusCode::OK);
    }
    let users = app.get("/api/v1/users", &app.admin).await;
    let listed = users.body.as_array().cloned().unwrap_or_default();
    assert!(listed
        .iter()
        .all(|u| u["email"] != "nouvel.admin@example.org"));
    assert_eq!(
        listed
            .iter()
            .filter(|u| u["email"] == worker.email.as_str())
            .count(),
        1
    );
    // The figures page answers a wrong month with the field named, never a 5xx.
    let wrong = staff.get("/app/stats?period=month&month=2026-13").await;
    wrong.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.element_text("error-month").is_some(), "{wrong:?}");
    let backwards = staff
        .get("/app/stats?period=custom&from=2026-05-01&to=2026-04-01")
        .await;
    backwards.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards.element_text("error-to").is_some(),
        "{backwards:?}"
    );
    let grouping = staff.get("/app/stats?group_by=weather").await;
    grouping.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        grouping.element_text("error-group_by").is_some(),
        "{grouping:?}"
    );
    // The file with a wrong field gives the form back too.
    let file = staff
        .get("/app/stats.csv?period=custom&from=2026-05-01&to=2026-04-01")
        .await;
    file.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(file.element_text("error-to").is_some(), "{file:?}");
}

/// Every role opens the figures page and its file over HTTP, each in its own scope: the
/// file is the API's own CSV for that account, byte for byte.
#[tokio::test]
async fn figures_over_http_follow_each_roles_scope() {
    let smtp = SmtpServer::start();
    let app = super::http::app_mailing_to(&smtp).await;
    let (r, manager, worker) = two_clubs_and_their_staff(&app, &smtp).await;
    let query = format!("period=custom&from={}&to={}&group_by=club", r.from, r.to);
    let api_query = format!("from={}&to={}&group_by=club", r.from, r.to);
    let mut totals = Vec::new();
    for (email, token) in [
        (ADMIN_EMAIL, app.admin.clone()),
        (manager.email.as_str(), manager.token.clone()),
        (worker.email.as_str(), worker.token.clone()),
    ] {
        let mut agent = super::http::sign_in(&app, &smtp, email).await;
        let page = agent.get(&format!("/app/stats?{query}")).await;
        page.assert_html(StatusCode::OK);
        let file = agent.get(&format!("/app/stats.csv?{query}")).await;
        assert_eq!(file.status, StatusCode::OK, "{file:?}");
        let api_csv = api_csv(&app, &token, &api_query).await;
        assert_eq!(file.body, api_csv, "{email}");
        let total_line = api_csv.lines().last().unwrap_or_default().to_owned();
        totals.push(total_line.split(',').nth(2).unwrap_or_default().to_owned());
        // Another club's name never shows in a club's or a structure's page.
        if email != ADMIN_EMAIL {
            assert!(!page.body.contains("Boxe Pantin"), "{email}: {page:?}");
        }
    }
    assert_eq!(totals, ["10", "5", "3"]);
}

/// Two clubs' recorded sessions of the last weeks, people of two structures.
struct Recorded {
    club: String,
    structure: String,
    from: String,
    to: String,
}

/// A past weekly session of `club` with `people` (of `structure`) enrolled from its
/// first date and recorded on each date: everyone present on the first, the first
/// person absent on the second; `walk_ins` walk-ins each time.
async fn recorded_club(
    app: &TestApp,
    club: &str,
    structure: &str,
    people: &[&str],
    walk_ins: i32,
) -> (String, String) {
    use entourage_sport::domain::places::Scope;
    use entourage_sport::ops::enrollments::import_enrollment;
    use entourage_sport::store::enrollments::NewEnrollment;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let first = today - chrono::Duration::days(14);
    let byday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        [chrono::Datelike::weekday(&first).num_days_from_monday() as usize];
    let session = app
        .weekly_session(
            club,
            &app.admin,
            json!({"start": format!("{first}T09:00:00"),
                   "rrule": format!("FREQ=WEEKLY;BYDAY={byday}")}),
        )
        .await;
    let list = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={first}&to={today}"),
            &app.admin,
        )
        .await;
    let keys: Vec<String> = list.body["items"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| o["key"].as_str().expect("a key").to_owned())
        .take(2)
        .collect();
    let admin_id = app.get("/api/v1/me", &app.admin).await.body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    for person in people {
        import_enrollment(
            &app.store,
            &NewEnrollment {
                id: Uuid::new_v4(),
                participant_id: Uuid::parse_str(person).expect("a uuid"),
                session_id: Uuid::parse_str(&session).expect("a uuid"),
                structure_id: Uuid::parse_str(structure).expect("a uuid"),
                scope: Scope::Series,
                from_key: keys[0].parse().expect("a key"),
                created_by: Uuid::parse_str(&admin_id).expect("a uuid"),
                now: chrono::Utc::now() - chrono::Duration::days(20),
            },
        )
        .await
        .expect("an enrollment before the first date");
    }
    for (i, key) in keys.iter().enumerate() {
        let lines: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let status = if i == 1 && n == 0 {
                    "absent"
                } else {
                    "present"
                };
                json!({"participant_id": p, "status": status})
            })
            .collect();
        let answer = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/sessions/{session}/occurrences/{key}/attendance"),
                Some(&app.admin),
                Some(json!({"participants": lines,
                            "walk_ins": [{"situation": "street", "count": walk_ins}]})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
    (first.to_string(), today.to_string())
}

async fn person(app: &TestApp, token: &str, first: &str) -> String {
    let answer = app
        .post(
            "/api/v1/participants",
            token,
            json!({"first_name": first, "last_name": "Test", "language": "fr",
                   "situation": "shelter", "consent": true}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.id()
}

/// [`two_clubs`], with an account for AS Bondy's manager and one for a social worker
/// of the first structure (their welcome emails read from `smtp`).
async fn two_clubs_and_their_staff(
    app: &TestApp,
    smtp: &SmtpServer,
) -> (Recorded, super::http::Account, super::http::Account) {
    let r = two_clubs(app).await;
    let manager =
        super::http::account(app, smtp, "club_manager", "Nadia", Some(&r.club), None).await;
    let worker = super::http::account(
        app,
        smtp,
        "social_worker",
        "Claire",
        None,
        Some(&r.structure),
    )
    .await;
    (r, manager, worker)
}

async fn two_clubs(app: &TestApp) -> Recorded {
    let structure = app.structure("Abri de la Villette").await;
    let other_structure = app.structure("Maison des familles").await;
    let club = app.club("AS Bondy", "Bondy", &["football"]).await;
    let other_club = app.club("Boxe Pantin", "Pantin", &["boxe"]).await;
    let worker = app.user("social_worker", None, Some(&structure)).await;
    let other_worker = app
        .user("social_worker", None, Some(&other_structure))
        .await;
    let amina = person(app, &worker, "Amina").await;
    let bilal = person(app, &worker, "Bilal").await;
    let chloe = person(app, &other_worker, "Chloé").await;
    let (from, to) = recorded_club(app, &club, &structure, &[&amina, &bilal], 1).await;
    recorded_club(app, &other_club, &other_structure, &[&chloe], 2).await;
    Recorded {
        club,
        structure,
        from,
        to,
    }
}

/// The dashboard shows each role the API's own figures, in its scope, with the chart,
/// the table and the same CSV.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_each_role_its_figures() {
    let smtp = SmtpServer::start();
    let app = super::http::app_mailing_to(&smtp).await;
    let (r, manager, worker) = two_clubs_and_their_staff(&app, &smtp).await;
    let browser = Browser::start().await;
    browser.viewport(360, 800).await;
    let query = format!("period=custom&from={}&to={}&group_by=club", r.from, r.to);
    let api_query = format!("from={}&to={}&group_by=club", r.from, r.to);
    let mut seen = Vec::new();
    for (email, token, name) in [
        (ADMIN_EMAIL, app.admin.clone(), "admin"),
        (manager.email.as_str(), manager.token.clone(), "club"),
        (worker.email.as_str(), worker.token.clone(), "worker"),
    ] {
        sign_in(&browser, &app, &smtp, email).await;
        browser
            .goto(&format!("{}/app/stats?{query}", app.base))
            .await;
        look(&browser, &format!("stats-{name}")).await;
        let api = app
            .get(&format!("/api/v1/stats/encounters?{api_query}"), &token)
            .await;
        assert_eq!(api.status, StatusCode::OK, "{api:?}");
        let mut headline = Vec::new();
        for dd in browser.find_all("dl.headline dd").await {
            headline.push(dd.text().await.expect("a figure"));
        }
        let total = &api.body["total"];
        assert_eq!(headline[0], total["encounters"].to_string(), "{name}");
        assert_eq!(
            headline[1],
            total["unique_participants"].to_string(),
            "{name}"
        );
        assert_eq!(headline[2], total["first_encounters"].to_string(), "{name}");
        assert_eq!(headline[3], rate(&total["attendance_rate"]), "{name}");
        // One table row per API group, with the API's figures, then the total; a chart
        // beside it.
        let groups = api.body["groups"].as_array().cloned().unwrap_or_default();
        let mut table = Vec::new();
        for cell in browser
            .find_all("table.figures tbody th, table.figures tbody td")
            .await
        {
            table.push(cell.text().await.expect("a cell"));
        }
        let expected: Vec<String> = groups
            .iter()
            .flat_map(|g| {
                [
                    g["label"].as_str().unwrap_or_default().to_owned(),
                    g["encounters"].to_string(),
                    g["unique_participants"].to_string(),
                    g["first_encounters"].to_string(),
                    rate(&g["attendance_rate"]),
                    g["walk_ins"].to_string(),
                    g["occurrences_held"].to_string(),
                ]
            })
            .collect();
        assert!(!groups.is_empty(), "{name}: {api:?}");
        assert_eq!(table, expected, "{name}");
        let rows = groups.len();
        assert_eq!(browser.find_all("svg.chart rect").await.len(), rows);
        // The CSV link gives the API's CSV.
        let href = browser
            .find("a[download]")
            .await
            .attr("href")
            .await
            .expect("href")
            .expect("a CSV link");
        let csv = browser
            .execute(
                "return fetch(arguments[0]).then(r => r.text());",
                vec![json!(href)],
            )
            .await;
        let api_csv = api_csv(&app, &token, &api_query).await;
        assert_eq!(csv.as_str(), Some(api_csv.as_str()), "{name}");
        seen.push(total["encounters"].as_i64().unwrap_or(0));
        // The months, beside the year before.
        browser
            .goto(&format!(
                "{}/app/stats?period=this_year&group_by=month",
                app.base
            ))
            .await;
        assert!(browser.find_all("svg.chart").await.len() == 1);
        // Each month of the year so far, beside the same month a year before.
        let months = chrono::Datelike::month(&chrono::Utc::now()) as usize;
        assert_eq!(browser.find_all("svg.chart rect.this").await.len(), months);
        assert_eq!(
            browser.find_all("svg.chart rect.previous").await.len(),
            months
        );
        press(&browser, "Se déconnecter").await;
    }
    // Everything: AS Bondy 3 present + 2 walk-ins, Boxe Pantin 1 present (Chloé is
    // absent the second time) + 4 walk-ins; the club's own 5; the structure's people
    // without walk-ins 3.
    assert_eq!(seen, vec![10, 5, 3]);

    // Printed, the figures fit one A4 page, even with more clubs than a page holds:
    // the first groups (most encounters first) and a line saying how many more.
    let structure = app.structure("Maison du quartier").await;
    for n in 0..28 {
        let club = app
            .club(&format!("Club {n:02}"), "Montreuil", &["football"])
            .await;
        recorded_club(&app, &club, &structure, &[], 1).await;
    }
    sign_in(&browser, &app, &smtp, ADMIN_EMAIL).await;
    browser.viewport(1280, 900).await;
    browser
        .goto(&format!("{}/app/stats?{query}", app.base))
        .await;
    let rows = browser.find_all("table.figures tbody tr").await.len();
    assert_eq!(rows, 30, "two clubs and 28 more");
    // What the printer gets, seen as a picture: A4 within its 10 mm margins, at 96 dpi.
    browser
        .cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await;
    browser.viewport(718, 1047).await;
    browser
        .screenshot(super::day::screenshots().join("stats-print.png"))
        .await;
    browser
        .cdp("Emulation.setEmulatedMedia", json!({"media": ""}))
        .await;
    let pdf = browser.print_pdf().await;
    let printed = super::day::screenshots().join("stats-print.pdf");
    std::fs::create_dir_all(super::day::screenshots()).expect("the screenshots folder");
    std::fs::write(&printed, &pdf).expect("the PDF kept beside the screenshots");
    assert_eq!(
        pdf_pages(&pdf),
        1,
        "the figures print on one page: {}",
        printed.display()
    );
    let note = browser.find(".print-note").await.text().await;
    // Hidden on screen, printed only: its text is in the page's source.
    assert_eq!(note.ok().as_deref(), Some(""), "not shown on screen");
    let html = browser
        .execute(
            "return document.querySelector('.print-note').textContent;",
            vec![],
        )
        .await;
    assert!(
        html.as_str()
            .unwrap_or_default()
            .contains("Et 5 autres groupes"),
        "{html}"
    );
    browser.close().await;
}

/// The API's CSV of the figures for the account of `token`.
async fn api_csv(app: &TestApp, token: &str, query: &str) -> String {
    app.client
        .get(format!("{}/api/v1/stats/encounters?{query}", app.base))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("the API's CSV")
        .text()
        .await
        .expect("a body")
}

/// A rate as the page writes it.
fn rate(value: &serde_json::Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

/// Pages in a PDF Chromium printed (one `/Type /Page` object each).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(at, found)| !text[at + found.len()..].starts_with('s'))
        .count()
}
