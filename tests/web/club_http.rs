//! A club manager's pages over plain HTTP, as a browser without JavaScript uses them
//! (plus the taps `check-in.js` sends): each role reaches only what is theirs, the
//! club's roster shows a first name, an initial and a door code and nothing else of a
//! person, the session and club forms keep what was typed and say what is wrong beside
//! the field, a save that tells people asks first, and check-in opens at the start and
//! records only what is marked.
//!
//! Effects are checked through the API (roster, occurrences, session, club) rather
//! than through the pages that made them. People on a started occurrence are enrolled
//! through the store, as of before it (the API only enrols for dates ahead).

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Europe::Paris;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::smtp::SmtpServer;
use crate::common::TestApp;
use crate::http::{
    account, app_mailing_to, attribute, sign_in, unescape, Account, Agent, Page, ADMIN_EMAIL,
};
use entourage_sport::domain::places::Scope;
use entourage_sport::domain::schedule::OccurrenceKey;
use entourage_sport::ops::enrollments::import_enrollment;
use entourage_sport::store::enrollments::NewEnrollment;

// ---------------------------------------------------------------------------------
// Forms as a browser sends them
// ---------------------------------------------------------------------------------

/// A form's fields, in page order.
type Form = Vec<(String, String)>;

/// What a browser sends with the page's POST form to `action`: its inputs (boxes and
/// radios only when ticked), textareas and selected options. Buttons are left out: the
/// caller adds the `action` it clicks.
fn form_fields(page: &Page, action: &str) -> Form {
    let body = page.body.as_str();
    let inside = body
        .match_indices("<form")
        .find_map(|(at, _)| {
            let open_end = at + body[at..].find('>')?;
            let tag = &body[at..open_end];
            let posts = attribute(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post"));
            if !posts || attribute(tag, "action").as_deref() != Some(action) {
                return None;
            }
            let close = body[open_end..]
                .find("</form>")
                .map_or(body.len(), |i| open_end + i);
            Some(&body[open_end + 1..close])
        })
        .unwrap_or_else(|| panic!("a POST form to {action}: {page:?}"));
    let ticked = |tag: &str, word: &str| tag.split_whitespace().any(|w| w == word);
    let mut fields = Form::new();
    let mut rest = inside;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let Some(end) = rest.find('>') else { break };
        let element: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let tag = format!("<{}", &rest[..end]);
        rest = &rest[end + 1..];
        let Some(name) = attribute(&tag, "name") else {
            continue;
        };
        match element.as_str() {
            "input" => {
                let kind = attribute(&tag, "type").unwrap_or_else(|| "text".into());
                let value = attribute(&tag, "value");
                match kind.as_str() {
                    "submit" | "button" | "reset" | "image" => {}
                    "checkbox" | "radio" if !ticked(&tag, "checked") => {}
                    "checkbox" | "radio" => {
                        fields.push((name, value.unwrap_or_else(|| "on".into())))
                    }
                    _ => fields.push((name, value.unwrap_or_default())),
                }
            }
            "textarea" => {
                let close = rest.find("</textarea>").unwrap_or(rest.len());
                fields.push((name, unescape(&rest[..close])));
            }
            "select" => {
                let close = rest.find("</select>").unwrap_or(rest.len());
                let options: Vec<(String, bool)> = rest[..close]
                    .match_indices("<option")
                    .filter_map(|(i, _)| {
                        let tag = &rest[i..i + rest[i..].find('>')?];
                        Some((
                            attribute(tag, "value").unwrap_or_default(),
                            ticked(tag, "selected"),
                        ))
                    })
                    .collect();
                let chosen = options
                    .iter()
                    .find(|(_, selected)| *selected)
                    .or(options.first())
                    .map(|(value, _)| value.clone())
                    .unwrap_or_default();
                fields.push((name, chosen));
            }
            _ => {}
        }
    }
    fields
}

/// Sets `name` to `value` (replacing what the form had).
fn set(form: &mut Form, name: &str, value: &str) {
    form.retain(|(n, _)| n != name);
    form.push((name.to_owned(), value.to_owned()));
}

/// Posts a form of owned fields.
async fn submit(agent: &mut Agent, path: &str, form: &Form) -> Page {
    let fields: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    agent.post(path, &fields).await
}

/// A 422 form page that shows every field as it was sent, and the message for `field`
/// beside it (`id="error-{field}"`) and none for the `others`.
fn assert_refused_keeping(page: &Page, action: &str, sent: &Form, field: &str, others: &[&str]) {
    page.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    let message = page
        .element_text(&format!("error-{field}"))
        .unwrap_or_else(|| panic!("id=\"error-{field}\" beside the field: {page:?}"));
    assert!(!message.is_empty(), "a message for {field}: {page:?}");
    for other in others.iter().filter(|o| **o != field) {
        assert!(
            page.element_text(&format!("error-{other}")).is_none(),
            "no error for {other} when only {field} is wrong: {page:?}"
        );
    }
    let shown = form_fields(page, action);
    for (name, value) in sent {
        if name == "action" || name == "csrf_token" {
            continue;
        }
        assert!(
            shown.iter().any(|(n, v)| n == name && v == value),
            "{name}={value:?} kept as typed; the form shows {:?}",
            shown.iter().filter(|(n, _)| n == name).collect::<Vec<_>>()
        );
    }
}

/// A tap of `check-in.js`: the check-in form's fields with `X-Check-In: tap`.
async fn tap(agent: &mut Agent, path: &str, fields: &[(&str, &str)]) -> Page {
    let request = agent
        .http
        .post(format!("{}{path}", agent.base))
        .header("X-Check-In", "tap")
        .form(fields);
    agent.send(request).await
}

/// The JSON answer to a tap, with its status.
fn tap_answer(page: &Page, status: StatusCode) -> Value {
    assert_eq!(page.status, status, "{page:?}");
    assert!(
        page.content_type.starts_with("application/json"),
        "a tap is answered in JSON, never a page: {page:?}"
    );
    serde_json::from_str(&page.body).expect("a JSON body")
}

// ---------------------------------------------------------------------------------
// The world: clubs, people, sessions, through the API
// ---------------------------------------------------------------------------------

fn today_in_paris() -> NaiveDate {
    Utc::now().with_timezone(&Paris).date_naive()
}

fn byday(date: NaiveDate) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][date.weekday().num_days_from_monday() as usize]
}

/// A weekly 10:00 (Paris) session of `club` whose first occurrence was yesterday, so
/// one occurrence has started and the next is six days ahead: (session, started key,
/// next key).
async fn started_yesterday(
    app: &TestApp,
    club: &str,
    token: &str,
    title: &str,
) -> (String, String, String) {
    let yesterday = today_in_paris() - Duration::days(1);
    let session = app
        .weekly_session(
            club,
            token,
            json!({"title": title, "start": format!("{yesterday}T10:00:00"),
                   "rrule": format!("FREQ=WEEKLY;BYDAY={}", byday(yesterday))}),
        )
        .await;
    let list = occurrences(
        app,
        token,
        &session,
        yesterday,
        yesterday + Duration::days(7),
    )
    .await;
    assert_eq!(list.len(), 2, "yesterday and in six days: {list:#?}");
    let key = |o: &Value| o["key"].as_str().expect("a key").to_owned();
    (session, key(&list[0]), key(&list[1]))
}

/// A session's occurrences between two local dates, as the API lists them.
async fn occurrences(
    app: &TestApp,
    token: &str,
    session: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Value> {
    let list = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={from}&to={to}"),
            token,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body["items"].as_array().expect("items").clone()
}

/// One occurrence's status, as the API lists it.
async fn occurrence_status(app: &TestApp, session: &str, key: &str) -> Value {
    let today = today_in_paris();
    let list = occurrences(app, &app.admin, session, today, today + Duration::days(30)).await;
    list.into_iter()
        .find(|o| o["key"] == key)
        .unwrap_or_else(|| panic!("occurrence {key} listed"))["status"]
        .clone()
}

/// A session's local start, as the API gives it.
async fn session_start(app: &TestApp, session: &str) -> Value {
    let answer = app
        .get(&format!("/api/v1/sessions/{session}"), &app.admin)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["start"].clone()
}

/// The roster as the API gives it to programme staff, its lines in a fixed order.
async fn roster(app: &TestApp, session: &str, key: &str) -> Value {
    let answer = app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences/{key}/roster"),
            &app.admin,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let mut roster = answer.body;
    if let Some(lines) = roster["participants"].as_array_mut() {
        lines.sort_by_key(|l| l["participant_id"].as_str().unwrap_or_default().to_owned());
    }
    roster
}

/// A participant's attendance on a roster (`null` when unrecorded).
fn attendance(roster: &Value, person: &Person) -> Value {
    roster["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|l| l["participant_id"] == person.id.as_str())
        .unwrap_or_else(|| panic!("{} on the roster: {roster:#}", person.first))["attendance"]
        .clone()
}

/// A person a social worker registered with everything a club must never see.
struct Person {
    id: String,
    first: String,
    last: String,
    code: String,
    email: String,
    phones: Vec<String>,
    notes: String,
    structure_id: String,
    referrer_id: String,
}

/// Registered through the API by the social worker: email, phone, notes and the
/// situation `migrant` set.
async fn person(app: &TestApp, worker: &Account, first: &str, last: &str) -> Person {
    let email = format!(
        "{}.{}@example.net",
        first.to_lowercase(),
        Uuid::new_v4().simple()
    );
    let phone = "+33 6 98 76 54 32";
    let notes = format!("Suivi psychologique de {first}, à ne jamais dire");
    let created = app
        .post(
            "/api/v1/participants",
            &worker.token,
            json!({"first_name": first, "last_name": last, "email": email, "phone": phone,
                   "language": "fr", "situation": "migrant", "notes": notes,
                   "consent": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let text = |field: &str| {
        created.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {created:?}"))
            .to_owned()
    };
    Person {
        id: created.id(),
        first: first.to_owned(),
        last: last.to_owned(),
        code: text("code"),
        email,
        // As typed and as stored (the API may normalise it).
        phones: vec![phone.to_owned(), text("phone")],
        notes,
        structure_id: text("structure_id"),
        referrer_id: text("referrer_id"),
    }
}

/// Enrolled in the whole session through the API by their social worker: confirmed
/// from the next open occurrence.
/// Enrols `person` in the whole session; the enrollment's id.
async fn enrol(app: &TestApp, worker: &Account, person: &Person, session: &str) -> Uuid {
    let enrolled = app
        .post(
            "/api/v1/enrollments",
            &worker.token,
            json!({"participant_id": person.id, "session_id": session}),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{enrolled:?}");
    assert_eq!(enrolled.body["status"], "confirmed", "{enrolled:?}");
    Uuid::parse_str(&enrolled.id()).expect("a uuid")
}

/// Enrolled in the whole session from an occurrence that already started, as of two
/// days before it (through the store: the API only enrols for dates ahead).
async fn enrol_from(app: &TestApp, person: &Person, session: &str, key: &str) {
    let key: OccurrenceKey = key.parse().expect("an occurrence key");
    let uuid = |text: &str| Uuid::parse_str(text).expect("a uuid");
    let placed = import_enrollment(
        &app.store,
        &NewEnrollment {
            id: Uuid::new_v4(),
            participant_id: uuid(&person.id),
            session_id: uuid(session),
            structure_id: uuid(&person.structure_id),
            scope: Scope::Series,
            from_key: key,
            created_by: uuid(&person.referrer_id),
            now: key.original_start() - Duration::days(2),
        },
    )
    .await
    .expect("enrolled through the store");
    assert_eq!(placed.enrollment.status.as_str(), "confirmed");
}

/// A club page showing `person` as the club may see them: first name and door code;
/// never their last name, email, phone, notes or situation. (The check-in page's
/// walk-in counters name every situation: they are left out.) Returns how the page
/// misspells "First I." if it does, so a test can go on and say it at the end.
#[must_use]
fn assert_shown_as_the_club_sees(page: &Page, person: &Person) -> Option<String> {
    page.assert_html(StatusCode::OK);
    let mut body = page.body.clone();
    if let Some(at) = body.find("<fieldset class=\"walk-ins\"") {
        let end = body[at..]
            .find("</fieldset>")
            .map_or(body.len(), |i| at + i);
        body.replace_range(at..end, "");
    }
    assert!(
        body.contains(&person.first),
        "{} shown: {page:?}",
        person.first
    );
    assert!(
        body.contains(&person.code),
        "their door code shown: {page:?}"
    );
    let mut secrets = vec![person.last.as_str(), &person.email, &person.notes];
    secrets.extend(person.phones.iter().map(String::as_str));
    for secret in secrets {
        assert!(
            !body.contains(secret),
            "{secret:?} shown to the club: {page:?}"
        );
    }
    // The situation, as its code or its words in either language.
    assert!(
        !body.to_lowercase().contains("migrant"),
        "the situation shown to the club: {page:?}"
    );
    // The initial with one dot ("Amina B."), not two.
    let name = format!("{} {}.", person.first, &person.last[..1]);
    let at = body.find(&name);
    let extra_dots = at.map(|at| {
        body[at + name.len()..]
            .chars()
            .take_while(|c| *c == '.')
            .count()
    });
    match extra_dots {
        Some(0) => None,
        Some(n) => Some(format!(
            "{}: {name:?} written {name}{}",
            page_title(page),
            ".".repeat(n)
        )),
        None => Some(format!("{}: no {name:?}", page_title(page))),
    }
}

/// The page's `<title>`, to name it in a message.
fn page_title(page: &Page) -> String {
    page.body
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map_or_else(String::new, |(title, _)| unescape(title))
}

/// A service mailing to `smtp`, with club `club_name` (in Bondy), its manager and a
/// social worker, each signed up through the API.
struct World {
    app: TestApp,
    club: String,
    manager: Account,
    worker: Account,
}

async fn world(smtp: &SmtpServer, club_name: &str) -> World {
    let app = app_mailing_to(smtp).await;
    let club = app.club(club_name, "Bondy", &["football"]).await;
    let structure = app.structure("Abri Saint-Denis").await;
    let manager = account(
        &app,
        smtp,
        "club_manager",
        "Marc Manager",
        Some(&club),
        None,
    )
    .await;
    let worker = account(
        &app,
        smtp,
        "social_worker",
        "Claire Worker",
        None,
        Some(&structure),
    )
    .await;
    World {
        app,
        club,
        manager,
        worker,
    }
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// Each role reaches only its pages: club A's manager every page of their club, session
/// and occurrences; club B's manager a 403 page on A's session, occurrence and
/// check-in, and their posts to them (with their own valid CSRF token) change nothing;
/// a social worker 403 on the club's pages and the read-only session page; the admin
/// the occurrence and check-in pages. The club's roster never shows more of a person
/// than first name, initial and door code.
#[tokio::test]
async fn each_role_reaches_only_its_club_pages() {
    let smtp = SmtpServer::start();
    let World {
        app,
        club,
        manager,
        worker,
    } = world(&smtp, "AS Bondy").await;
    let other_club = app.club("Ring de Montreuil", "Montreuil", &["boxe"]).await;
    let other = account(
        &app,
        &smtp,
        "club_manager",
        "Olga Other",
        Some(&other_club),
        None,
    )
    .await;
    // Club B has a session every Tuesday: on A's calendar and lists it must not show.
    app.weekly_session(
        &other_club,
        &other.token,
        json!({"title": "Boxe Montreuil", "sport": "boxe"}),
    )
    .await;
    let (session, started, next) =
        started_yesterday(&app, &club, &manager.token, "Foot du mercredi").await;
    let amina = person(&app, &worker, "Amina", "Bernardeau").await;
    enrol(&app, &worker, &amina, &session).await;

    let session_path = format!("/app/sessions/{session}");
    let occurrence_path = format!("{session_path}/occurrences/{next}");
    let check_in_path = format!("{occurrence_path}/check-in");
    let started_check_in = format!("{session_path}/occurrences/{started}/check-in");
    // The week of the next occurrence (yesterday's weekday, six days from today).
    let week = (today_in_paris() + Duration::days(6)).to_string();

    // Club A's manager: every page of theirs, and nothing of club B.
    let mut browser = sign_in(&app, &smtp, &manager.email).await;
    for path in [
        "/app/club".to_owned(),
        "/app/club/edit".to_owned(),
        "/app/club/sessions".to_owned(),
        "/app/club/sessions/new".to_owned(),
        "/app/club/calendar".to_owned(),
        format!("/app/club/calendar?week={week}"),
        session_path.clone(),
        format!("{session_path}/cancel"),
        occurrence_path.clone(),
        check_in_path.clone(),
        started_check_in.clone(),
    ] {
        let page = browser.get(&path).await;
        page.assert_html(StatusCode::OK);
        assert!(page.body.contains(&manager.name), "{path}: {page:?}");
        for theirs in ["Ring de Montreuil", "Boxe Montreuil"] {
            assert!(
                !page.body.contains(theirs),
                "{path} shows {theirs}: {page:?}"
            );
        }
    }
    let home = browser.get("/app/club").await;
    assert!(home.body.contains("AS Bondy"), "{home:?}");
    let list = browser.get("/app/club/sessions").await;
    assert!(list.body.contains(&session_path), "{list:?}");
    let calendar = browser
        .get(&format!("/app/club/calendar?week={week}"))
        .await;
    assert!(calendar.body.contains(&occurrence_path), "{calendar:?}");
    let edit = browser.get(&session_path).await;
    assert!(
        edit.body.contains("name=\"rrule\""),
        "the edit form: {edit:?}"
    );
    // The roster of the next occurrence, on both pages the club opens at the door.
    // (A misspelt name is said at the end, so the rest runs whatever it gives.)
    let mut misnamed = Vec::new();
    for path in [&occurrence_path, &check_in_path] {
        let page = browser.get(path).await;
        misnamed.extend(assert_shown_as_the_club_sees(&page, &amina));
    }
    let form = form_fields(&edit, &session_path);

    // Club B's manager: 403 pages on A's session, and on its occurrences.
    let mut intruder = sign_in(&app, &smtp, &other.email).await;
    let own = intruder.get("/app/club").await;
    own.assert_html(StatusCode::OK);
    assert!(own.body.contains("Ring de Montreuil"), "{own:?}");
    for path in [
        &session_path,
        &format!("{session_path}/cancel"),
        &occurrence_path,
        &check_in_path,
        &started_check_in,
    ] {
        let refused = intruder.get(path).await;
        refused.assert_html(StatusCode::FORBIDDEN);
        assert!(!refused.body.contains("Amina"), "{path}: {refused:?}");
    }
    // Their posts, with their own valid token, each a change A's manager could make:
    // refused, and nothing changes.
    let csrf = own.csrf();
    let refused = intruder
        .post(
            &occurrence_path,
            &[("action", "cancel"), ("csrf_token", &csrf)],
        )
        .await;
    refused.assert_html(StatusCode::FORBIDDEN);
    let refused = intruder
        .post(
            &started_check_in,
            &[("walk_ins_unknown", "3"), ("csrf_token", &csrf)],
        )
        .await;
    refused.assert_html(StatusCode::FORBIDDEN);
    let mut taken_over = form.clone();
    set(&mut taken_over, "title", "Pris par un autre club");
    set(&mut taken_over, "action", "save");
    // The number a save telling Amina would ask for, so only the rights stop it.
    set(&mut taken_over, "confirm_told", "1");
    set(&mut taken_over, "csrf_token", &csrf);
    submit(&mut intruder, &session_path, &taken_over)
        .await
        .assert_html(StatusCode::FORBIDDEN);
    intruder
        .post(&format!("{session_path}/cancel"), &[("csrf_token", &csrf)])
        .await
        .assert_html(StatusCode::FORBIDDEN);
    assert_eq!(
        occurrence_status(&app, &session, &next).await,
        "scheduled",
        "not cancelled by another club"
    );
    let sheet = roster(&app, &session, &started).await;
    assert!(sheet["attendance_recorded_at"].is_null(), "{sheet:#}");
    assert_eq!(sheet["walk_ins_total"], 0, "{sheet:#}");
    let kept = app
        .get(&format!("/api/v1/sessions/{session}"), &manager.token)
        .await;
    assert_eq!(kept.body["title"], "Foot du mercredi", "{kept:?}");
    assert_eq!(kept.body["status"], "published", "{kept:?}");

    // The social worker: no club pages, the read-only session page.
    let mut social = sign_in(&app, &smtp, &worker.email).await;
    for path in [
        "/app/club",
        "/app/club/edit",
        "/app/club/sessions",
        "/app/club/sessions/new",
        "/app/club/calendar",
        &occurrence_path,
        &check_in_path,
    ] {
        social.get(path).await.assert_html(StatusCode::FORBIDDEN);
    }
    let read_only = social.get(&session_path).await;
    read_only.assert_html(StatusCode::OK);
    assert!(read_only.body.contains("Foot du mercredi"), "{read_only:?}");
    assert!(
        !read_only.body.contains("name=\"rrule\"") && !read_only.posts_to(&session_path),
        "no edit form for a social worker: {read_only:?}"
    );

    // The admin: the occurrence and check-in pages, and the edit form.
    let mut staff = sign_in(&app, &smtp, ADMIN_EMAIL).await;
    for path in [&occurrence_path, &check_in_path] {
        let page = staff.get(path).await;
        page.assert_html(StatusCode::OK);
        assert!(page.body.contains(&amina.code), "{path}: {page:?}");
    }
    staff
        .get(&started_check_in)
        .await
        .assert_html(StatusCode::OK);
    let edit = staff.get(&session_path).await;
    edit.assert_html(StatusCode::OK);
    assert!(edit.body.contains("name=\"rrule\""), "{edit:?}");
    app.stop().await;
    assert!(
        misnamed.is_empty(),
        "the club sees a first name and an initial, as \"Amina B.\": {misnamed:?}"
    );
}

/// The new-session form with one thing wrong comes back (422) as typed with the message
/// beside that field; right, a Wednesday start for a Saturday rule starts on the
/// Saturday. Changing the time of a session someone is enrolled in first says how many
/// will be told, and only a save repeating that number changes it. The club profile
/// form refuses a blank city the same way.
#[tokio::test]
async fn session_and_club_forms_say_what_is_wrong_and_ask_before_telling() {
    let smtp = SmtpServer::start();
    let World {
        app,
        club,
        manager,
        worker,
    } = world(&smtp, "AS Bondy").await;
    let mut browser = sign_in(&app, &smtp, &manager.email).await;

    // A Wednesday at least a week ahead, and the Saturday after it.
    let today = today_in_paris();
    let ahead =
        (7 + Weekday::Wed.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    let wednesday = today + Duration::days(7 + i64::from(ahead));
    assert_eq!(wednesday.weekday(), Weekday::Wed);
    let saturday = wednesday + Duration::days(3);

    let new = "/app/club/sessions/new";
    let blank = browser.get(new).await;
    blank.assert_html(StatusCode::OK);
    let mut valid = form_fields(&blank, new);
    // Only Saturday ticked.
    for day in ["mo", "tu", "we", "th", "fr", "sa", "su"] {
        valid.retain(|(name, _)| *name != format!("repeat_{day}"));
    }
    let start_date = wednesday.to_string();
    for (name, value) in [
        ("title", "Boxe du samedi"),
        ("sport", "boxe"),
        ("location", "Gymnase Jean Jaurès"),
        ("capacity", "5"),
        ("start_date", start_date.as_str()),
        ("start_time", "10:00"),
        ("duration_minutes", "60"),
        ("repeat", "weekly"),
        ("repeat_sa", "on"),
        ("ends", "never"),
        ("holidays", ""),
        ("action", "save"),
    ] {
        set(&mut valid, name, value);
    }
    let errors = ["title", "holidays", "rrule"];
    for (field, typed) in [
        ("title", ""),
        ("holidays", "31/02/2026"),
        // Typed in the raw box (it differs from the drawn rule, so it wins).
        ("rrule", "FREQ=WEEKLY;BYDAY=éa"),
    ] {
        let mut wrong = valid.clone();
        set(&mut wrong, field, typed);
        let refused = submit(&mut browser, new, &wrong).await;
        assert_refused_keeping(&refused, new, &wrong, field, &errors);
    }
    let club_occurrences = format!(
        "/api/v1/occurrences?club_id={club}&from={today}&to={}",
        today + Duration::days(60)
    );
    let listed = app.get(&club_occurrences, &manager.token).await;
    assert_eq!(listed.body["items"], json!([]), "nothing saved: {listed:?}");

    let saved = submit(&mut browser, new, &valid).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{saved:?}");
    let session = saved.redirect_id("/app/sessions/");
    assert_eq!(
        session_start(&app, &session).await,
        format!("{saturday}T10:00:00"),
        "moved from the Wednesday typed to the rule's first day"
    );
    let first = occurrences(&app, &manager.token, &session, wednesday, saturday).await;
    assert_eq!(first.len(), 1, "none before the Saturday: {first:#?}");
    assert!(
        first[0]["start"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("{saturday}T10:00:00"))),
        "the first occurrence on Saturday {saturday} at 10:00: {first:#?}"
    );
    // (The search that found nothing after the refused forms finds this one.)
    let listed = app.get(&club_occurrences, &manager.token).await;
    assert!(
        listed.body["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty()),
        "{listed:?}"
    );

    // Someone enrolled: moving the time tells them, so the save asks first.
    let amina = person(&app, &worker, "Amina", "Bernardeau").await;
    enrol(&app, &worker, &amina, &session).await;
    let path = format!("/app/sessions/{session}");
    let edit = browser.get(&path).await;
    edit.assert_html(StatusCode::OK);
    let mut later = form_fields(&edit, &path);
    set(&mut later, "start_time", "11:30");
    set(&mut later, "action", "save");
    let asked = submit(&mut browser, &path, &later).await;
    asked.assert_html(StatusCode::OK);
    let told = asked
        .element_text("told")
        .unwrap_or_else(|| panic!("the number told, id=\"told\": {asked:?}"));
    let digits: String = told.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits, "1", "one person will be told: {told:?}");
    let confirm = form_fields(&asked, &path);
    assert!(
        confirm.contains(&("confirm_told".into(), "1".into())),
        "a hidden confirm_told=1: {confirm:?}"
    );
    assert_eq!(
        session_start(&app, &session).await,
        format!("{saturday}T10:00:00")
    );
    // A number that is not the one asked for does not count as an answer.
    let mut wrong_count = confirm.clone();
    set(&mut wrong_count, "confirm_told", "2");
    set(&mut wrong_count, "action", "save");
    let asked_again = submit(&mut browser, &path, &wrong_count).await;
    asked_again.assert_html(StatusCode::OK);
    assert!(
        asked_again.element_text("told").is_some(),
        "{asked_again:?}"
    );
    assert_eq!(
        session_start(&app, &session).await,
        format!("{saturday}T10:00:00")
    );
    let mut confirmed = confirm;
    set(&mut confirmed, "action", "save");
    submit(&mut browser, &path, &confirmed)
        .await
        .assert_redirect_to(&path);
    assert_eq!(
        session_start(&app, &session).await,
        format!("{saturday}T11:30:00")
    );

    // The club's profile: a blank city comes back; a real one is saved.
    let profile = browser.get("/app/club/edit").await;
    profile.assert_html(StatusCode::OK);
    let mut fields = form_fields(&profile, "/app/club/edit");
    set(&mut fields, "city", "");
    let refused = submit(&mut browser, "/app/club/edit", &fields).await;
    assert_refused_keeping(&refused, "/app/club/edit", &fields, "city", &["name"]);
    let club_path = format!("/api/v1/clubs/{club}");
    let kept = app.get(&club_path, &manager.token).await;
    assert_eq!(kept.body["city"], "Bondy", "{kept:?}");
    set(&mut fields, "city", "Noisy-le-Sec");
    submit(&mut browser, "/app/club/edit", &fields)
        .await
        .assert_redirect_to("/app/club");
    let changed = app.get(&club_path, &manager.token).await;
    assert_eq!(changed.body["city"], "Noisy-le-Sec", "{changed:?}");
    app.stop().await;
}

/// Check-in opens at the occurrence's start: before, the page lists who is expected with
/// nothing to mark and a sheet is refused (409, as a page or as JSON for a tap). Once
/// started, a tap sheet records only whom it marks, sending it again changes nothing, a
/// post without its CSRF token records nothing, and the full sheet records everyone
/// left unmarked absent.
#[tokio::test]
async fn check_in_opens_at_the_start_and_records_only_what_is_marked() {
    let smtp = SmtpServer::start();
    let World {
        app,
        club,
        manager,
        worker,
    } = world(&smtp, "AS Bondy").await;
    let (session, started, next) =
        started_yesterday(&app, &club, &manager.token, "Foot du mercredi").await;
    let amina = person(&app, &worker, "Amina", "Bernardeau").await;
    let bilal = person(&app, &worker, "Bilal", "Kaddour").await;
    for someone in [&amina, &bilal] {
        enrol_from(&app, someone, &session, &started).await;
    }
    let mut browser = sign_in(&app, &smtp, &manager.email).await;
    let mark = |someone: &Person| format!("mark_{}", someone.id);

    // Before the start: who is expected, nothing to mark, nothing recorded.
    let early = format!("/app/sessions/{session}/occurrences/{next}/check-in");
    let page = browser.get(&early).await;
    page.assert_html(StatusCode::OK);
    for someone in [&amina, &bilal] {
        assert!(page.body.contains(&someone.first), "{page:?}");
        assert!(page.body.contains(&someone.code), "{page:?}");
    }
    assert!(
        !page.body.contains("name=\"mark_"),
        "no marks yet: {page:?}"
    );
    let csrf = page.csrf();
    let (amina_mark, bilal_mark) = (mark(&amina), mark(&bilal));
    let fields = [
        (amina_mark.as_str(), "present"),
        ("csrf_token", csrf.as_str()),
    ];
    browser
        .post(&early, &fields)
        .await
        .assert_html(StatusCode::CONFLICT);
    let tapped = [("in_progress", "true"), fields[0], fields[1]];
    let answer = tap_answer(
        &tap(&mut browser, &early, &tapped).await,
        StatusCode::CONFLICT,
    );
    assert_eq!(answer["saved"], false, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let before = roster(&app, &session, &next).await;
    assert!(before["attendance_recorded_at"].is_null(), "{before:#}");
    assert!(attendance(&before, &amina).is_null(), "{before:#}");

    // Started yesterday: marks for both, shown as the club sees them. (A misspelt name
    // is said at the end, so the rest runs whatever it gives.)
    let mut misnamed = Vec::new();
    let open = format!("/app/sessions/{session}/occurrences/{started}/check-in");
    let page = browser.get(&open).await;
    for someone in [&amina, &bilal] {
        misnamed.extend(assert_shown_as_the_club_sees(&page, someone));
        assert!(
            page.body.contains(&format!("name=\"{}\"", mark(someone))),
            "{page:?}"
        );
    }
    // A tap marking Amina present: Bilal stays unrecorded, not absent.
    let csrf = page.csrf();
    let amina_tap = [
        ("in_progress", "true"),
        (amina_mark.as_str(), "present"),
        ("csrf_token", csrf.as_str()),
    ];
    let answer = tap_answer(&tap(&mut browser, &open, &amina_tap).await, StatusCode::OK);
    assert_eq!(answer, json!({"saved": true}));
    let after_tap = roster(&app, &session, &started).await;
    assert_eq!(attendance(&after_tap, &amina), "present", "{after_tap:#}");
    assert!(attendance(&after_tap, &bilal).is_null(), "{after_tap:#}");
    // The same tap again (a phone resending after the network came back): no change.
    let answer = tap_answer(&tap(&mut browser, &open, &amina_tap).await, StatusCode::OK);
    assert_eq!(answer, json!({"saved": true}));
    assert_eq!(roster(&app, &session, &started).await, after_tap);

    // Without the CSRF token: 403, as a form or as a tap, and nothing recorded.
    browser
        .post(&open, &[(bilal_mark.as_str(), "present")])
        .await
        .assert_html(StatusCode::FORBIDDEN);
    let refused = tap(
        &mut browser,
        &open,
        &[("in_progress", "true"), (bilal_mark.as_str(), "present")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    assert_eq!(roster(&app, &session, &started).await, after_tap);

    // The full sheet, as the page now shows it plus two walk-ins: Bilal, unmarked, is
    // recorded absent.
    let page = browser.get(&open).await;
    let mut sheet = form_fields(&page, &open);
    assert!(
        sheet.contains(&(mark(&amina), "present".into())),
        "the tap shows on the sheet: {sheet:?}"
    );
    set(&mut sheet, "walk_ins_unknown", "2");
    submit(&mut browser, &open, &sheet)
        .await
        .assert_redirect_to(&open);
    let closed = roster(&app, &session, &started).await;
    assert_eq!(attendance(&closed, &amina), "present", "{closed:#}");
    assert_eq!(attendance(&closed, &bilal), "absent", "{closed:#}");
    assert_eq!(closed["walk_ins_total"], 2, "{closed:#}");

    // A second phone, opened before any of this, taps Bilal present after the sheet
    // was closed: Bilal changes, Amina's mark stays (a tap adds to the sheet, it never
    // unrecords what another phone or the closed sheet said).
    let second_phone = [
        ("in_progress", "true"),
        (bilal_mark.as_str(), "present"),
        ("walk_ins_unknown", "2"),
        ("csrf_token", csrf.as_str()),
    ];
    let answer = tap_answer(
        &tap(&mut browser, &open, &second_phone).await,
        StatusCode::OK,
    );
    assert_eq!(answer, json!({"saved": true}));
    let merged = roster(&app, &session, &started).await;
    assert_eq!(attendance(&merged, &amina), "present", "{merged:#}");
    assert_eq!(attendance(&merged, &bilal), "present", "{merged:#}");
    assert_eq!(merged["walk_ins_total"], 2, "{merged:#}");

    // Without JavaScript, the search is a button of the sheet: the mark made before it
    // (Amina excused) is kept, nobody else changes, and the page shows who was found.
    let page = browser.get(&open).await;
    let mut searched = form_fields(&page, &open);
    set(&mut searched, &mark(&amina), "excused");
    set(&mut searched, "q", "bil");
    set(&mut searched, "find", "1");
    let answer = submit(&mut browser, &open, &searched).await;
    answer.assert_redirect_to(&open);
    let shown = answer.location.clone().unwrap_or_default();
    assert!(shown.contains("q=bil"), "{answer:?}");
    let kept = roster(&app, &session, &started).await;
    assert_eq!(attendance(&kept, &amina), "excused", "{kept:#}");
    assert_eq!(attendance(&kept, &bilal), "present", "{kept:#}");
    assert_eq!(kept["walk_ins_total"], 2, "{kept:#}");
    let found = browser.get(&format!("{open}?q=bil")).await;
    found.assert_html(StatusCode::OK);
    assert!(found.body.contains(&bilal.first), "{found:?}");
    assert!(
        !found.body.contains(&format!("data-id=\"{}\"", amina.id)),
        "{found:?}"
    );
    app.stop().await;
    assert!(
        misnamed.is_empty(),
        "the club sees a first name and an initial, as \"Amina B.\": {misnamed:?}"
    );
}

/// The repetition form writes each shape it offers as the RRULE the API reads back, and
/// the API's occurrences follow it: the second Saturday for five times, the last Friday
/// until a date, the 15th of every other month, Saturdays without a holiday. A last day
/// before the start is named on that field; a rule the form cannot draw is kept as typed
/// and shown as text. A session people hold places in cannot go back to draft, and a
/// club that moves loses its old map point.
#[tokio::test]
async fn the_repetition_form_writes_the_rule_the_api_follows() {
    let smtp = SmtpServer::start();
    let World {
        app,
        club,
        manager,
        worker,
    } = world(&smtp, "AS Bondy").await;
    let mut browser = sign_in(&app, &smtp, &manager.email).await;
    let new = "/app/club/sessions/new";
    let blank = browser.get(new).await;
    let mut base = form_fields(&blank, new);
    for day in ["mo", "tu", "we", "th", "fr", "sa", "su"] {
        base.retain(|(name, _)| *name != format!("repeat_{day}"));
    }
    // The first of next month, so every shape has its dates ahead.
    let today = today_in_paris();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .expect("a date");
    let first_text = first.to_string();
    for (name, value) in [
        ("title", "Séance"),
        ("sport", "football"),
        ("capacity", "6"),
        ("start_date", first_text.as_str()),
        ("start_time", "18:30"),
        ("duration_minutes", "90"),
        ("ends", "never"),
        ("holidays", ""),
        ("action", "save"),
    ] {
        set(&mut base, name, value);
    }
    let last_day = first + Duration::days(120);
    let holiday = {
        let mut d = first;
        while d.weekday() != Weekday::Sat {
            d += Duration::days(1);
        }
        d + Duration::days(7)
    };
    let shapes: Vec<(Vec<(&str, String)>, String)> = vec![
        (
            vec![
                ("repeat", "monthly_weekday".into()),
                ("repeat_nth", "2".into()),
                ("repeat_weekday", "sa".into()),
                ("ends", "after".into()),
                ("ends_after", "5".into()),
            ],
            "FREQ=MONTHLY;BYDAY=2SA;COUNT=5".into(),
        ),
        (
            vec![
                ("repeat", "monthly_weekday".into()),
                ("repeat_nth", "-1".into()),
                ("repeat_weekday", "fr".into()),
                ("ends", "on".into()),
                ("ends_on", last_day.to_string()),
            ],
            format!(
                "FREQ=MONTHLY;BYDAY=-1FR;UNTIL={}",
                last_day.format("%Y%m%d")
            ),
        ),
        (
            vec![
                ("repeat", "monthly_day".into()),
                ("repeat_interval", "2".into()),
                ("repeat_day", "15".into()),
            ],
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15".into(),
        ),
        (
            vec![
                ("repeat", "weekly".into()),
                ("repeat_sa", "on".into()),
                ("holidays", holiday.to_string()),
            ],
            "FREQ=WEEKLY;BYDAY=SA".into(),
        ),
    ];
    let mut sessions = Vec::new();
    for (fields, rule) in &shapes {
        let mut form = base.clone();
        for (name, value) in fields {
            set(&mut form, name, value);
        }
        let saved = submit(&mut browser, new, &form).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{rule}: {saved:?}");
        let session = saved.redirect_id("/app/sessions/");
        let stored = app
            .get(&format!("/api/v1/sessions/{session}"), &manager.token)
            .await;
        assert_eq!(stored.body["rrule"], rule.as_str(), "{stored:?}");
        sessions.push((session, stored.body));
    }
    let dates = |list: &[Value]| -> Vec<NaiveDate> {
        list.iter()
            .map(|o| {
                let start = o["start"].as_str().expect("a start");
                chrono::DateTime::parse_from_rfc3339(start)
                    .expect("RFC 3339")
                    .with_timezone(&Paris)
                    .date_naive()
            })
            .collect()
    };
    let window = |session: &str| {
        let app = &app;
        let token = manager.token.clone();
        let session = session.to_owned();
        async move { occurrences(app, &token, &session, first, first + Duration::days(365)).await }
    };
    // The second Saturday, five times, at 18:30 local whatever the season.
    let second = window(&sessions[0].0).await;
    assert_eq!(second.len(), 5, "{second:#?}");
    for (o, d) in second.iter().zip(dates(&second)) {
        assert_eq!(d.weekday(), Weekday::Sat, "{o}");
        assert!((8..=14).contains(&d.day()), "{d} is a second Saturday");
        assert!(
            o["start"]
                .as_str()
                .unwrap_or_default()
                .contains("T18:30:00"),
            "{o}"
        );
    }
    // The last Friday of each month, until the last day.
    let last_fridays = dates(&window(&sessions[1].0).await);
    assert!(!last_fridays.is_empty());
    for d in &last_fridays {
        assert_eq!(d.weekday(), Weekday::Fri);
        assert!(
            (*d + Duration::days(7)).month() != d.month(),
            "{d} is a last Friday"
        );
        assert!(*d <= last_day);
    }
    // The 15th, every other month.
    let fifteenths = dates(&window(&sessions[2].0).await);
    assert!(fifteenths.len() >= 6, "{fifteenths:?}");
    for pair in fifteenths.windows(2) {
        assert_eq!(pair[0].day(), 15);
        let months = (pair[1].year() - pair[0].year()) * 12 + pair[1].month() as i32
            - pair[0].month() as i32;
        assert_eq!(months, 2, "{pair:?}");
    }
    // Saturdays, the holiday left out.
    let (weekly, stored) = &sessions[3];
    assert_eq!(
        stored["exdates"],
        json!([format!("{holiday}T18:30:00")]),
        "{stored}"
    );
    let saturdays = dates(&window(weekly).await);
    assert!(!saturdays.contains(&holiday), "{saturdays:?}");
    assert!(saturdays.contains(&(holiday - Duration::days(7))));
    assert!(saturdays.contains(&(holiday + Duration::days(7))));

    // A last day before the first: named on that field, nothing saved.
    let mut early = base.clone();
    let too_early = (first - Duration::days(3)).to_string();
    for (name, value) in [
        ("repeat", "weekly"),
        ("repeat_sa", "on"),
        ("ends", "on"),
        ("ends_on", too_early.as_str()),
    ] {
        set(&mut early, name, value);
    }
    let refused = submit(&mut browser, new, &early).await;
    refused.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.element_text("error-ends_on").is_some(),
        "{refused:?}"
    );
    assert!(refused.element_text("error-rrule").is_none(), "{refused:?}");

    // Every third day: the form cannot draw it; it is kept as typed and shown as text.
    let mut custom = base.clone();
    set(&mut custom, "repeat", "custom");
    set(&mut custom, "rrule", "FREQ=DAILY;INTERVAL=3");
    let saved = submit(&mut browser, new, &custom).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{saved:?}");
    let session = saved.redirect_id("/app/sessions/");
    let stored = app
        .get(&format!("/api/v1/sessions/{session}"), &manager.token)
        .await;
    assert_eq!(stored.body["rrule"], "FREQ=DAILY;INTERVAL=3");
    let edit = browser.get(&format!("/app/sessions/{session}")).await;
    edit.assert_html(StatusCode::OK);
    assert!(edit.body.contains("FREQ=DAILY;INTERVAL=3"), "{edit:?}");

    // A draft shows on the club's own calendar, marked as such; nobody else lists it.
    let mut draft = base.clone();
    for (name, value) in [
        ("title", "Yoga en préparation"),
        ("repeat", "weekly"),
        ("repeat_sa", "on"),
        ("status", "draft"),
    ] {
        set(&mut draft, name, value);
    }
    let saved = submit(&mut browser, new, &draft).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{saved:?}");
    let week = browser
        .get(&format!("/app/club/calendar?week={holiday}"))
        .await;
    week.assert_html(StatusCode::OK);
    assert!(week.body.contains("Yoga en préparation"), "{week:?}");
    assert!(week.body.contains("badge off\">Brouillon"), "{week:?}");
    let listed = app
        .get(
            &format!(
                "/api/v1/occurrences?club_id={club}&from={first}&to={}",
                first + Duration::days(30)
            ),
            &worker.token,
        )
        .await;
    assert!(
        !listed.body.to_string().contains("Yoga en préparation"),
        "{listed:?}"
    );

    // Someone holds a place in the Saturdays: back to draft is refused, beside status.
    let amina = person(&app, &worker, "Amina", "Bernardeau").await;
    enrol(&app, &worker, &amina, weekly).await;
    let path = format!("/app/sessions/{weekly}");
    let edit = browser.get(&path).await;
    let mut draft = form_fields(&edit, &path);
    set(&mut draft, "status", "draft");
    set(&mut draft, "action", "save");
    let refused = submit(&mut browser, &path, &draft).await;
    refused.assert_html(StatusCode::UNPROCESSABLE_ENTITY);
    let said = refused
        .element_text("error-status")
        .expect("beside the status");
    assert!(said.contains("Annulez-la"), "{said}");
    let stored = app
        .get(&format!("/api/v1/sessions/{weekly}"), &manager.token)
        .await;
    assert_eq!(stored.body["status"], "published");

    // The club moves: its old map point goes with the old address.
    let pinned = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/clubs/{club}"),
            Some(&app.admin),
            Some(json!({"latitude": 48.9, "longitude": 2.48})),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::OK, "{pinned:?}");
    let profile = browser.get("/app/club/edit").await;
    let mut fields = form_fields(&profile, "/app/club/edit");
    set(&mut fields, "address", "3 rue de la Gare");
    submit(&mut browser, "/app/club/edit", &fields)
        .await
        .assert_redirect_to("/app/club");
    let moved = app
        .get(&format!("/api/v1/clubs/{club}"), &manager.token)
        .await;
    assert_eq!(moved.body["address"], "3 rue de la Gare");
    assert!(moved.body["latitude"].is_null(), "{moved:?}");
    assert!(moved.body["longitude"].is_null(), "{moved:?}");
    app.stop().await;
}

/// The club's home gives each date of the week the answers people gave to their
/// reminder: how many said they are coming and how many cannot.
#[tokio::test]
async fn the_club_home_shows_the_answers_to_reminders() {
    use entourage_sport::domain::rsvp::Answer;
    use entourage_sport::ops::rsvp::answer_rsvp;
    let smtp = SmtpServer::start();
    let World {
        app,
        club,
        manager,
        worker,
    } = world(&smtp, "AS Bondy").await;
    let (session, _, next) = started_yesterday(&app, &club, &manager.token, "Foot du jeudi").await;
    let mut enrollments = Vec::new();
    for (first, last) in [
        ("Amina", "Bernardeau"),
        ("Bilal", "Kaddour"),
        ("Chloé", "Roux"),
    ] {
        let someone = person(&app, &worker, first, last).await;
        enrollments.push(enrol(&app, &worker, &someone, &session).await);
    }
    let key: OccurrenceKey = next.parse().expect("a key");
    for (enrollment, answer) in [
        (enrollments[0], Answer::Coming),
        (enrollments[1], Answer::NotComing),
    ] {
        answer_rsvp(&app.store, enrollment, key, answer, Utc::now())
            .await
            .expect("an answer");
    }
    let mut browser = sign_in(&app, &smtp, &manager.email).await;
    let home = browser.get("/app").await;
    home.assert_html(StatusCode::OK);
    assert!(home.body.contains("<h2 id=\"today\">"), "{home:?}");
    assert!(home.body.contains("1 « je viens »"), "{home:?}");
    assert!(home.body.contains("1 « je ne peux pas venir »"), "{home:?}");
    assert!(
        home.body.contains("Places prises : 2 sur"),
        "a place given back: {home:?}"
    );
    app.stop().await;
}
