//! A participant's calendar stays in step with the API: every calendar object they get
//! by email (through a real SMTP server) is parsed back with the `ical` crate and
//! expanded independently with the `rrule` crate, then compared with what
//! `GET /api/v1/sessions/{id}/occurrences` says. Feeds (personal and club) too.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use common::french;
use common::mail::leaves;
use common::smtp::{Received, SmtpServer};
use common::*;
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::property::Property;
use mailparse::MailHeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);
const PARIS: Tz = chrono_tz::Europe::Paris;

// ---------------------------------------------------------------------------
// World
// ---------------------------------------------------------------------------

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

/// A participant followed by the world's social worker; the whole created resource.
async fn participant(
    w: &World,
    first: &str,
    email: &str,
    language: &str,
    situation: &str,
) -> Value {
    let answer = w
        .app
        .post(
            "/api/v1/participants",
            &w.worker,
            json!({
                "first_name": first,
                "last_name": "Okonkwo",
                "email": email,
                "language": language,
                "situation": situation,
                "consent": true,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

/// A series enrollment; the created resource.
async fn enrol(w: &World, participant: &Value, session: &str) -> Value {
    let answer = w
        .app
        .post(
            "/api/v1/enrollments",
            &w.worker,
            json!({"participant_id": participant["id"], "session_id": session}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    answer.body
}

/// A weekly Tuesday 18:30 Paris session starting on the base Tuesday.
async fn tuesday_session(w: &World, extra: Value) -> String {
    let mut body = json!({"start": local_iso(base(), 18, 30)});
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    w.app.weekly_session(&w.club, &w.manager, body).await
}

async fn patch_occurrence(w: &World, session: &str, key: &str, body: Value) -> Value {
    let answer = w
        .app
        .patch(
            &format!("/api/v1/sessions/{session}/occurrences/{key}"),
            &w.manager,
            body,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

/// Waits until the server accepted at least `n` messages.
fn wait_for(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    let got = smtp.wait_for(n, WAIT);
    assert!(got.len() >= n, "expected {n} messages, got {}", got.len());
    got
}

/// Waits for exactly `n` messages: `n` arrive, and no other within a short while.
fn wait_for_exactly(smtp: &SmtpServer, n: usize) -> Vec<Received> {
    wait_for(smtp, n);
    let more = smtp.wait_for(n + 1, Duration::from_millis(800));
    assert_eq!(more.len(), n, "an unexpected extra message arrived");
    more
}

/// Every outbox row (admin API), newest first.
async fn outbox(app: &TestApp) -> Vec<Value> {
    let answer = app.get("/api/v1/admin/outbox?limit=500", &app.admin).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().expect("items").clone()
}

// ---------------------------------------------------------------------------
// Dates: all derived from today, so that the tests never refer to the past
// ---------------------------------------------------------------------------

/// When Paris moves to summer time in `year`: the last Sunday of March, 01:00 UTC.
fn spring_forward(year: i32) -> DateTime<Utc> {
    let sunday = (25..=31)
        .filter_map(|d| NaiveDate::from_ymd_opt(year, 3, d))
        .find(|d| d.weekday() == Weekday::Sun)
        .expect("a last Sunday of March");
    Utc.from_utc_datetime(&sunday.and_hms_opt(1, 0, 0).expect("01:00"))
}

/// The dates the tests use, computed once per test binary: (the base Tuesday, the change
/// to summer time in Paris that a 12-week series from it spans, how many of the weekly
/// occurrences from the base fall before that change).
///
/// Normally the base is the Tuesday after the Sunday eight weeks before the next change
/// at least ten weeks away (eight occurrences in winter time, four in summer time). The
/// base must be at least a week ahead (no reminder falls due during a test, enrollment is
/// open) but also well within a year: the service looks for a series' first open
/// occurrence only about 52 weeks ahead. So within ten weeks of a change, rather than
/// skipping to next year's (up to 55 weeks ahead), the series starts fewer weeks (down to
/// four) before it.
fn dates() -> (NaiveDate, DateTime<Utc>, u64) {
    static DATES: std::sync::OnceLock<(NaiveDate, DateTime<Utc>, u64)> = std::sync::OnceLock::new();
    *DATES.get_or_init(|| series_dates(Utc::now()))
}

/// `dates()` as seen at `now`.
fn series_dates(now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>, u64) {
    let soonest = now + chrono::Duration::days(7);
    (now.year()..)
        .flat_map(|year| {
            let change = spring_forward(year);
            (4..=8u64).rev().map(move |weeks| {
                let base = change.date_naive() - Days::new(7 * weeks) + Days::new(2);
                (base, change, weeks)
            })
        })
        .find(|(base, _, _)| paris(*base, 0, 0) >= soonest)
        .expect("a base Tuesday ahead")
}

/// The first Tuesday of every session the tests create, always in the future.
fn base() -> NaiveDate {
    dates().0
}

/// The next change to summer time in Paris the 12-week series from `base()` spans.
fn summer_time() -> DateTime<Utc> {
    dates().1
}

/// How many weekly occurrences from `base()` fall before `summer_time()` (4 to 8).
fn winter_weeks() -> u64 {
    dates().2
}

/// The base Tuesday `weeks` weeks later.
fn tuesday(weeks: u64) -> NaiveDate {
    base() + Days::new(7 * weeks)
}

fn wall(date: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    date.and_hms_opt(hour, minute, 0)
        .expect("a wall-clock time")
}

/// The instant of a Paris wall-clock time.
fn paris(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    PARIS
        .from_local_datetime(&wall(date, hour, minute))
        .single()
        .expect("a single Paris time")
        .with_timezone(&Utc)
}

/// The occurrence key of a Paris wall-clock time: UTC, basic form.
fn key(date: NaiveDate, hour: u32, minute: u32) -> String {
    paris(date, hour, minute)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// A local DATE-TIME as iCalendar writes it with a TZID: `20270202T183000`.
fn ical_local(date: NaiveDate, hour: u32, minute: u32) -> String {
    wall(date, hour, minute).format("%Y%m%dT%H%M%S").to_string()
}

/// A local date-time as the API takes it: `2027-02-02T18:30:00`.
fn local_iso(date: NaiveDate, hour: u32, minute: u32) -> String {
    wall(date, hour, minute)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// A date as the API's `from`/`to` take it.
fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------
// Mail
// ---------------------------------------------------------------------------

/// A received message, decoded: every leaf part with its full Content-Type header.
struct Mail {
    to: Vec<String>,
    subject: String,
    message_id: String,
    headers: String,
    /// (mime type, Content-Type header, decoded body)
    parts: Vec<(String, String, String)>,
}

fn mail(message: &Received) -> Mail {
    let parsed = mailparse::parse_mail(message.data.as_bytes()).expect("a MIME message");
    let mut found = Vec::new();
    leaves(&parsed, &mut found);
    let parts = found
        .iter()
        .map(|p| {
            (
                p.ctype.mimetype.to_ascii_lowercase(),
                p.headers
                    .get_first_value("Content-Type")
                    .unwrap_or_default(),
                p.get_body().expect("a decodable part"),
            )
        })
        .collect();
    let headers = parsed
        .headers
        .iter()
        .map(|h| format!("{}: {}", h.get_key(), h.get_value()))
        .collect::<Vec<_>>()
        .join("\n");
    Mail {
        to: message.to.clone(),
        subject: parsed
            .headers
            .get_first_value("Subject")
            .unwrap_or_default(),
        message_id: parsed
            .headers
            .get_first_value("Message-ID")
            .unwrap_or_default(),
        headers,
        parts,
    }
}

impl Mail {
    fn part(&self, mime: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(t, _, _)| t == mime)
            .map(|(_, _, body)| body.as_str())
    }

    fn text(&self) -> &str {
        self.part("text/plain").expect("a text/plain part")
    }

    fn html(&self) -> &str {
        self.part("text/html").expect("a text/html part")
    }

    /// The calendar parts: (Content-Type header, text).
    fn calendars(&self) -> Vec<(&str, &str)> {
        self.parts
            .iter()
            .filter(|(t, _, _)| t == "text/calendar" || t == "application/ics")
            .map(|(_, ct, body)| (ct.as_str(), body.as_str()))
            .collect()
    }

    /// The inline `text/calendar` part's Content-Type header.
    fn inline_calendar_type(&self) -> &str {
        self.parts
            .iter()
            .find(|(t, _, _)| t == "text/calendar")
            .map(|(_, ct, _)| ct.as_str())
            .expect("an inline text/calendar part")
    }

    /// The calendar object the message carries, parsed by the ical crate.
    fn calendar(&self) -> IcalCalendar {
        let calendars = self.calendars();
        let (_, ics) = calendars.first().expect("a calendar part");
        parse_calendar(ics)
    }

    /// Subject, headers and every decoded part, lower-cased: what a reader could see.
    fn everything(&self) -> String {
        let mut all = format!("{}\n{}\n", self.subject, self.headers);
        for (_, ct, body) in &self.parts {
            all.push_str(ct);
            all.push('\n');
            all.push_str(body);
            all.push('\n');
        }
        all.to_lowercase()
    }
}

// ---------------------------------------------------------------------------
// iCalendar
// ---------------------------------------------------------------------------

fn parse_calendar(ics: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let calendar = parser
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("a valid calendar: {e}\n{ics}"));
    assert!(parser.next().is_none(), "a single VCALENDAR");
    calendar
}

fn property<'a>(props: &'a [Property], name: &str) -> Option<&'a Property> {
    props.iter().find(|p| p.name == name)
}

fn value<'a>(props: &'a [Property], name: &str) -> Option<&'a str> {
    property(props, name).and_then(|p| p.value.as_deref())
}

fn param(prop: &Property, name: &str) -> Option<String> {
    prop.params
        .as_ref()?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, values)| values.first().cloned())
}

/// The VEVENT without RECURRENCE-ID (there must be exactly one).
fn master(calendar: &IcalCalendar) -> &IcalEvent {
    let masters: Vec<&IcalEvent> = calendar
        .events
        .iter()
        .filter(|e| property(&e.properties, "RECURRENCE-ID").is_none())
        .collect();
    assert_eq!(masters.len(), 1, "one master VEVENT");
    masters[0]
}

fn uid(calendar: &IcalCalendar) -> String {
    value(&master(calendar).properties, "UID")
        .expect("a UID")
        .to_owned()
}

fn sequence(calendar: &IcalCalendar) -> i64 {
    let seqs: BTreeSet<i64> = calendar
        .events
        .iter()
        .map(|e| {
            value(&e.properties, "SEQUENCE")
                .expect("a SEQUENCE")
                .parse()
                .expect("a numeric SEQUENCE")
        })
        .collect();
    assert_eq!(
        seqs.len(),
        1,
        "every VEVENT of the object has the same SEQUENCE"
    );
    *seqs.iter().next().unwrap()
}

fn method(calendar: &IcalCalendar) -> Option<&str> {
    value(&calendar.properties, "METHOD")
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S")
        .unwrap_or_else(|e| panic!("a local date-time, not {text:?}: {e}"))
}

/// The instant a DATE-TIME property names: with TZID read in that zone, or UTC with Z.
fn instant_of(prop: &Property) -> DateTime<Utc> {
    let text = prop.value.as_deref().expect("a value");
    if let Some(utc) = text.strip_suffix('Z') {
        return Utc.from_utc_datetime(&local(utc));
    }
    let tzid = param(prop, "TZID").unwrap_or_else(|| panic!("{} without TZID", prop.name));
    let tz: Tz = tzid.parse().expect("a known TZID");
    tz.from_local_datetime(&local(text))
        .single()
        .unwrap_or_else(|| panic!("{text} is not a single local time in {tzid}"))
        .with_timezone(&Utc)
}

/// Expands the object like a client would: the master's DTSTART;TZID + RRULE + EXDATE
/// through the `rrule` crate, then every override VEVENT replaces the instance its
/// RECURRENCE-ID names with its own DTSTART. Instants in UTC.
fn expand(calendar: &IcalCalendar) -> BTreeSet<DateTime<Utc>> {
    let m = master(calendar);
    let dtstart = property(&m.properties, "DTSTART").expect("a DTSTART");
    let tzid = param(dtstart, "TZID").expect("DTSTART with a TZID");
    let mut text = format!(
        "DTSTART;TZID={tzid}:{}",
        dtstart.value.as_deref().expect("a DTSTART value")
    );
    let rrule = value(&m.properties, "RRULE").expect("a RRULE");
    text.push_str(&format!("\nRRULE:{rrule}"));
    for exdate in m.properties.iter().filter(|p| p.name == "EXDATE") {
        let zone = param(exdate, "TZID").expect("EXDATE with a TZID");
        text.push_str(&format!(
            "\nEXDATE;TZID={zone}:{}",
            exdate.value.as_deref().expect("an EXDATE value")
        ));
    }
    let set: rrule::RRuleSet = text
        .parse()
        .unwrap_or_else(|e| panic!("rrule accepts {text:?}: {e}"));
    let result = set.all(1000);
    assert!(!result.limited, "a finite series");
    let mut instants: BTreeSet<DateTime<Utc>> =
        result.dates.iter().map(|d| d.with_timezone(&Utc)).collect();
    for event in &calendar.events {
        let Some(rid) = property(&event.properties, "RECURRENCE-ID") else {
            continue;
        };
        let original = instant_of(rid);
        assert!(
            instants.remove(&original),
            "RECURRENCE-ID {original} matches no instance of the rule"
        );
        let start = property(&event.properties, "DTSTART").expect("an override DTSTART");
        instants.insert(instant_of(start));
    }
    instants
}

/// The UTC offset (seconds) the object's own VTIMEZONE gives at `at`, as a client that
/// reads the VTIMEZONE (not its tz database) computes it: the latest onset of any
/// STANDARD/DAYLIGHT sub-component (DTSTART + RRULE, expanded by the `rrule` crate) not
/// after `at`, and that sub-component's TZOFFSETTO; before the first onset, that onset's
/// TZOFFSETFROM (what libical does).
fn vtimezone_offset(calendar: &IcalCalendar, tzid: &str, at: DateTime<Utc>) -> i32 {
    fn offset(text: &str) -> i32 {
        let sign = if text.starts_with('-') { -1 } else { 1 };
        let digits = &text[1..];
        let h: i32 = digits[0..2].parse().expect("offset hours");
        let m: i32 = digits[2..4].parse().expect("offset minutes");
        let s: i32 = digits.get(4..6).map_or(0, |s| s.parse().expect("seconds"));
        sign * (h * 3600 + m * 60 + s)
    }
    let zone = calendar
        .timezones
        .iter()
        .find(|z| value(&z.properties, "TZID") == Some(tzid))
        .unwrap_or_else(|| panic!("a VTIMEZONE for {tzid}"));
    let mut latest: Option<(DateTime<Utc>, i32)> = None;
    let mut earliest: Option<(DateTime<Utc>, i32)> = None;
    for sub in &zone.transitions {
        let from = offset(value(&sub.properties, "TZOFFSETFROM").expect("TZOFFSETFROM"));
        let to = offset(value(&sub.properties, "TZOFFSETTO").expect("TZOFFSETTO"));
        let start = local(value(&sub.properties, "DTSTART").expect("a DTSTART"));
        // The onset in UTC: its local time is read with the offset in force before it.
        let first = Utc.from_utc_datetime(&(start - chrono::Duration::seconds(from.into())));
        let onsets: Vec<DateTime<Utc>> = match value(&sub.properties, "RRULE") {
            Some(rule) => {
                let text = format!("DTSTART:{}\nRRULE:{rule}", first.format("%Y%m%dT%H%M%SZ"));
                let set: rrule::RRuleSet = text
                    .parse()
                    .unwrap_or_else(|e| panic!("rrule accepts {text:?}: {e}"));
                set.before(at.with_timezone(&rrule::Tz::UTC))
                    .all(500)
                    .dates
                    .iter()
                    .map(|d| d.with_timezone(&Utc))
                    .collect()
            }
            None => vec![first],
        };
        if earliest.is_none_or(|(e, _)| first < e) {
            earliest = Some((first, from));
        }
        for onset in onsets.into_iter().filter(|o| *o <= at) {
            if latest.is_none_or(|(l, _)| onset > l) {
                latest = Some((onset, to));
            }
        }
    }
    latest
        .or(earliest)
        .unwrap_or_else(|| panic!("the VTIMEZONE of {tzid} has no observance"))
        .1
}

/// The non-cancelled occurrences the API lists from the enrollment's first one on, by
/// start; and the cancelled keys.
async fn api_occurrences(
    w: &World,
    session: &str,
    from: &str,
    to: &str,
    from_key: &str,
) -> (BTreeMap<DateTime<Utc>, Value>, BTreeSet<String>) {
    let answer = w
        .app
        .get(
            &format!("/api/v1/sessions/{session}/occurrences?from={from}&to={to}"),
            &w.manager,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let mut live = BTreeMap::new();
    let mut cancelled = BTreeSet::new();
    for o in answer.body["items"].as_array().expect("items") {
        let key = o["key"].as_str().expect("a key");
        if key < from_key {
            continue;
        }
        if o["status"] == "cancelled" {
            cancelled.insert(key.to_owned());
            continue;
        }
        let start = DateTime::parse_from_rfc3339(o["start"].as_str().expect("a start"))
            .expect("an RFC 3339 start")
            .with_timezone(&Utc);
        live.insert(start, o.clone());
    }
    (live, cancelled)
}

fn unescape(text: &str) -> String {
    text.replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\\\", "\\")
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_latest_calendar_object_expands_to_the_api_occurrences_across_dst() {
    let w = world().await;
    // Twelve Tuesdays: `winter` (normally eight) in winter time, the rest in summer time.
    let change = summer_time();
    let winter = winter_weeks();
    assert_eq!(
        PARIS
            .from_utc_datetime(&(change - chrono::Duration::seconds(1)).naive_utc())
            .offset()
            .fix()
            .local_minus_utc(),
        3600,
        "winter time until {change}"
    );
    assert_eq!(
        PARIS
            .from_utc_datetime(&change.naive_utc())
            .offset()
            .fix()
            .local_minus_utc(),
        7200,
        "summer time from {change}"
    );
    assert!(paris(tuesday(winter - 1), 18, 30) < change);
    assert!(paris(tuesday(winter), 18, 30) > change);
    // Moved: the second Tuesday after the change (normally the tenth) to the Thursday
    // after, 19:00. Cancelled: the second Tuesday before it (normally the seventh).
    let moved_from = tuesday(winter + 1);
    let moved_to = moved_from + Days::new(2);
    let cancelled_day = tuesday(winter - 2);
    let from = day(base() - Days::new(8));
    let to = day(base() + Days::new(118));

    let session = tuesday_session(&w, json!({"rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=12"})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    let enrollment = enrol(&w, &amina, &session).await;
    let from_key = enrollment["from_key"]
        .as_str()
        .expect("from_key")
        .to_owned();
    assert_eq!(from_key, key(base(), 18, 30), "{enrollment}");

    // After each step, the newest object alone expands to what the API lists.
    let steps: [(String, Option<(String, Value)>); 3] = [
        ("invitation".to_owned(), None),
        (
            format!(
                "move of {} (after the change to summer time)",
                french::date(moved_from)
            ),
            Some((
                key(moved_from, 18, 30),
                json!({"start": local_iso(moved_to, 19, 0)}),
            )),
        ),
        (
            format!(
                "cancellation of {} (before the change)",
                french::date(cancelled_day)
            ),
            Some((key(cancelled_day, 18, 30), json!({"status": "cancelled"}))),
        ),
    ];
    let mut calendars = Vec::new();
    for (n, (what, change)) in steps.into_iter().enumerate() {
        if let Some((key, body)) = change {
            patch_occurrence(&w, &session, &key, body).await;
        }
        let got = wait_for(&w.smtp, n + 1);
        let message = mail(&got[n]);
        let calendar = message.calendar();
        let (api, _) = api_occurrences(&w, &session, &from, &to, &from_key).await;
        let api: BTreeSet<DateTime<Utc>> = api.keys().copied().collect();
        assert_eq!(
            expand(&calendar),
            api,
            "after the {what}, the calendar object and the API disagree"
        );
        calendars.push(calendar);
    }
    assert_eq!(w.smtp.count(), 3, "one message per change");

    let uids: BTreeSet<String> = calendars.iter().map(uid).collect();
    assert_eq!(uids.len(), 1, "the UID never changes: {uids:?}");
    let sequences: Vec<i64> = calendars.iter().map(sequence).collect();
    assert_eq!(sequences, [0, 1, 2]);
    for calendar in &calendars {
        assert_eq!(method(calendar), Some("REQUEST"));
    }

    // The last object the participant received, alone, over the whole span.
    let latest = calendars
        .iter()
        .max_by_key(|c| sequence(c))
        .expect("objects");
    let expanded = expand(latest);
    let (api, cancelled) = api_occurrences(&w, &session, &from, &to, &from_key).await;
    let api_starts: BTreeSet<DateTime<Utc>> = api.keys().copied().collect();
    assert_eq!(expanded, api_starts);
    assert_eq!(expanded.len(), 11, "12 occurrences, one cancelled");
    assert_eq!(
        cancelled,
        BTreeSet::from([key(cancelled_day, 18, 30)]),
        "{api:?}"
    );
    // A client reading the embedded VTIMEZONE gets the same offsets as the tz database.
    for at in &expanded {
        let expected = at.with_timezone(&PARIS).offset().fix().local_minus_utc();
        assert_eq!(
            vtimezone_offset(latest, "Europe/Paris", *at),
            expected,
            "the VTIMEZONE disagrees with the tz database at {at}"
        );
    }
    let rrule = value(&master(latest).properties, "RRULE").unwrap();
    let until = format!("UNTIL={}", key(tuesday(11), 18, 30));
    assert!(
        !rrule.contains("COUNT") && rrule.contains(&until),
        "COUNT written as a UTC UNTIL at the last occurrence: {rrule}"
    );

    // 18:30 in Paris on both sides of the change, in the calendar and in the API.
    let moved = paris(moved_to, 19, 0);
    assert!(
        expanded.contains(&moved),
        "the moved occurrence at its new time"
    );
    let mut offsets = BTreeSet::new();
    for at in expanded.iter().filter(|at| **at != moved) {
        let paris = at.with_timezone(&PARIS);
        assert_eq!(
            (paris.hour(), paris.minute()),
            (18, 30),
            "{at} is not 18:30 in Paris"
        );
        offsets.insert(*at < change);
    }
    assert_eq!(offsets.len(), 2, "occurrences on both sides of the change");
    for (at, occurrence) in &api {
        let start = occurrence["start"].as_str().unwrap();
        if *at == moved {
            assert_eq!(start, format!("{}+02:00", local_iso(moved_to, 19, 0)));
            assert_eq!(occurrence["status"], "moved");
        } else if *at < change {
            assert!(start.ends_with("T18:30:00+01:00"), "{start}");
        } else {
            assert!(start.ends_with("T18:30:00+02:00"), "{start}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_occurrence_is_a_request_with_exdate_and_higher_sequence() {
    let w = world().await;
    let session = tuesday_session(&w, json!({})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    enrol(&w, &amina, &session).await;
    let invitation = mail(&wait_for(&w.smtp, 1)[0]);
    let invitation_calendar = invitation.calendar();
    assert!(
        property(&master(&invitation_calendar).properties, "EXDATE").is_none(),
        "nothing cancelled yet"
    );

    let cancelled_day = tuesday(2);
    let cancelled_key = key(cancelled_day, 18, 30);
    patch_occurrence(&w, &session, &cancelled_key, json!({"status": "cancelled"})).await;
    let got = wait_for_exactly(&w.smtp, 2);
    let update = mail(&got[1]);
    assert_eq!(update.to, ["amina@example.net"]);
    let rows = outbox(&w.app).await;
    let row = rows
        .iter()
        .find(|r| {
            update
                .message_id
                .starts_with(&format!("<{}@", r["id"].as_str().unwrap()))
        })
        .expect("the outbox row of the message");
    assert_eq!(row["kind"], "update", "{row}");
    assert_eq!(row["occurrence_key"], cancelled_key.as_str(), "{row}");

    let calendar = update.calendar();
    assert_eq!(method(&calendar), Some("REQUEST"));
    assert!(
        update.inline_calendar_type().contains("method=REQUEST"),
        "{}",
        update.inline_calendar_type()
    );
    assert_eq!(uid(&calendar), uid(&invitation_calendar));
    assert!(
        sequence(&calendar) > sequence(&invitation_calendar),
        "SEQUENCE raised: {} then {}",
        sequence(&invitation_calendar),
        sequence(&calendar)
    );
    let event = master(&calendar);
    assert_eq!(value(&event.properties, "STATUS"), Some("CONFIRMED"));
    let exdates: Vec<&Property> = event
        .properties
        .iter()
        .filter(|p| p.name == "EXDATE")
        .collect();
    assert_eq!(exdates.len(), 1, "one EXDATE line");
    assert_eq!(param(exdates[0], "TZID").as_deref(), Some("Europe/Paris"));
    assert_eq!(exdates[0].value, Some(ical_local(cancelled_day, 18, 30)));
    assert_eq!(instant_of(exdates[0]), paris(cancelled_day, 18, 30));
    assert_eq!(
        instant_of(exdates[0]).format("%H:%M").to_string(),
        "17:30",
        "winter time: 18:30 in Paris is 17:30 UTC"
    );
    // The rest of the series is still there.
    assert_eq!(
        value(&event.properties, "RRULE"),
        Some("FREQ=WEEKLY;BYDAY=TU")
    );

    assert!(
        update.subject.starts_with("Changement"),
        "{}",
        update.subject
    );
    let written = french::date(cancelled_day);
    for body in [update.text(), update.html()] {
        assert!(
            body.contains(&written),
            "the cancelled date is named: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_the_enrollment_sends_method_cancel_with_the_same_uid() {
    let w = world().await;
    let session = tuesday_session(&w, json!({})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    let enrollment = enrol(&w, &amina, &session).await;
    let invitation = mail(&wait_for(&w.smtp, 1)[0]);
    let invitation_calendar = invitation.calendar();
    assert!(invitation.inline_calendar_type().contains("method=REQUEST"));

    let answer = w
        .app
        .delete(
            &format!("/api/v1/enrollments/{}", enrollment["id"].as_str().unwrap()),
            &w.worker,
        )
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    assert_eq!(answer.body["status"], "cancelled", "{answer:?}");
    let got = wait_for_exactly(&w.smtp, 2);
    let cancellation = mail(&got[1]);
    assert_eq!(cancellation.to, ["amina@example.net"]);
    assert!(
        cancellation.subject.starts_with("Annulation"),
        "{}",
        cancellation.subject
    );
    let inline = cancellation.inline_calendar_type();
    assert!(inline.contains("method=CANCEL"), "{inline}");
    for (content_type, ics) in cancellation.calendars() {
        let calendar = parse_calendar(ics);
        assert_eq!(method(&calendar), Some("CANCEL"), "{content_type}");
    }
    let calendar = cancellation.calendar();
    assert_eq!(method(&calendar), Some("CANCEL"));
    for event in &calendar.events {
        assert_eq!(value(&event.properties, "STATUS"), Some("CANCELLED"));
    }
    assert_eq!(uid(&calendar), uid(&invitation_calendar));
    assert!(
        sequence(&calendar) > sequence(&invitation_calendar),
        "SEQUENCE raised: {} then {}",
        sequence(&invitation_calendar),
        sequence(&calendar)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_the_session_cancels_every_participants_calendar() {
    let w = world().await;
    let session = tuesday_session(&w, json!({})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    let bilal = participant(&w, "Bilal", "bilal@example.net", "en", "street").await;
    enrol(&w, &amina, &session).await;
    enrol(&w, &bilal, &session).await;
    let invitations: Vec<Mail> = wait_for(&w.smtp, 2).iter().map(mail).collect();

    let answer = w
        .app
        .delete(&format!("/api/v1/sessions/{session}"), &w.manager)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["status"], "cancelled");
    let got = wait_for_exactly(&w.smtp, 4);
    let cancellations: Vec<Mail> = got[2..].iter().map(mail).collect();

    for address in ["amina@example.net", "bilal@example.net"] {
        let invitation = invitations
            .iter()
            .find(|m| m.to == [address])
            .unwrap_or_else(|| panic!("an invitation to {address}"))
            .calendar();
        let cancellation = cancellations
            .iter()
            .find(|m| m.to == [address])
            .unwrap_or_else(|| panic!("a cancellation to {address}"));
        assert!(
            cancellation
                .inline_calendar_type()
                .contains("method=CANCEL"),
            "{}",
            cancellation.inline_calendar_type()
        );
        let calendar = cancellation.calendar();
        assert_eq!(method(&calendar), Some("CANCEL"), "{address}");
        assert_eq!(
            value(&master(&calendar).properties, "STATUS"),
            Some("CANCELLED")
        );
        assert_eq!(uid(&calendar), uid(&invitation), "{address}");
        assert!(sequence(&calendar) > sequence(&invitation), "{address}");
    }
    assert_ne!(
        uid(&cancellations[0].calendar()),
        uid(&cancellations[1].calendar()),
        "one UID per enrollment"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_change_reaches_calendars_as_an_update() {
    let w = world().await;
    let session = tuesday_session(&w, json!({})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    enrol(&w, &amina, &session).await;
    let invitation = mail(&wait_for(&w.smtp, 1)[0]).calendar();
    let event = master(&invitation);
    assert_eq!(
        value(&event.properties, "DTEND"),
        Some(ical_local(base(), 20, 0).as_str())
    );
    let path = format!("/api/v1/sessions/{session}");

    let shorter = w
        .app
        .patch(&path, &w.manager, json!({"duration_minutes": 60}))
        .await;
    assert_eq!(shorter.status, StatusCode::OK, "{shorter:?}");
    let got = wait_for(&w.smtp, 2);
    let update = mail(&got[1]);
    assert!(
        update.subject.starts_with("Changement"),
        "{}",
        update.subject
    );
    let first = update.calendar();
    let event = master(&first);
    assert_eq!(method(&first), Some("REQUEST"));
    assert_eq!(uid(&first), uid(&invitation));
    assert!(sequence(&first) > sequence(&invitation));
    let dtstart = property(&event.properties, "DTSTART").unwrap();
    let dtend = property(&event.properties, "DTEND").unwrap();
    assert_eq!(dtend.value, Some(ical_local(base(), 19, 30)));
    assert_eq!(param(dtend, "TZID").as_deref(), Some("Europe/Paris"));
    assert_eq!(
        instant_of(dtend) - instant_of(dtstart),
        chrono::Duration::minutes(60)
    );

    let place = "Gymnase Jean-Jaurès, 3 allée des Sports; Bondy";
    let moved = w
        .app
        .patch(&path, &w.manager, json!({"location": place}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    let got = wait_for(&w.smtp, 3);
    let update = mail(&got[2]);
    let second = update.calendar();
    let event = master(&second);
    assert_eq!(uid(&second), uid(&invitation));
    assert!(sequence(&second) > sequence(&first));
    assert_eq!(
        value(&event.properties, "LOCATION")
            .map(unescape)
            .as_deref(),
        Some(place)
    );
    assert_eq!(
        value(&event.properties, "DTEND"),
        Some(ical_local(base(), 19, 30).as_str())
    );
    assert!(update.text().contains(place), "{}", update.text());

    // Capacity reaches no calendar: no message is written, none is sent.
    let rows_before = outbox(&w.app).await.len();
    let bigger = w
        .app
        .patch(&path, &w.manager, json!({"capacity": 10}))
        .await;
    assert_eq!(bigger.status, StatusCode::OK, "{bigger:?}");
    assert_eq!(bigger.body["capacity"], 10);
    assert_eq!(
        outbox(&w.app).await.len(),
        rows_before,
        "a capacity change wrote a message"
    );
    wait_for_exactly(&w.smtp, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_participant_feed_shows_their_confirmed_enrollments() {
    let w = world().await;
    let session = tuesday_session(&w, json!({})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    let id = amina["id"].as_str().unwrap().to_owned();
    enrol(&w, &amina, &session).await;
    let invitation = mail(&wait_for(&w.smtp, 1)[0]).calendar();

    let resource = w
        .app
        .get(&format!("/api/v1/participants/{id}"), &w.worker)
        .await;
    assert_eq!(resource.status, StatusCode::OK, "{resource:?}");
    let feed_url = resource.body["feed_url"]
        .as_str()
        .expect("a feed_url")
        .to_owned();
    assert!(
        feed_url.starts_with("http://sport.test/calendar/participants/"),
        "{feed_url}"
    );
    let url = feed_url.replace("http://sport.test", &w.app.base);
    let client = reqwest::Client::new();

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let etag = first
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let body = first.text().await.unwrap();
    assert!(
        !body.lines().any(|l| l.starts_with("METHOD")),
        "a feed has no METHOD: {body}"
    );
    let feed = parse_calendar(&body);
    assert_eq!(method(&feed), None);
    assert_eq!(feed.events.len(), 1, "{body}");
    assert_eq!(uid(&feed), uid(&invitation));

    let again = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let cancelled_day = tuesday(2);
    patch_occurrence(
        &w,
        &session,
        &key(cancelled_day, 18, 30),
        json!({"status": "cancelled"}),
    )
    .await;
    let changed = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "a new version after a change"
    );
    let new_etag = changed.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let feed = parse_calendar(&changed.text().await.unwrap());
    let exdate = property(&master(&feed).properties, "EXDATE").expect("the EXDATE");
    assert_eq!(exdate.value, Some(ical_local(cancelled_day, 18, 30)));
    assert_eq!(uid(&feed), uid(&invitation));
    let update = mail(&wait_for(&w.smtp, 2)[1]).calendar();
    assert_eq!(
        sequence(&feed),
        sequence(&update),
        "the feed shows the version the last email carried"
    );

    let rotated = w
        .app
        .post(
            &format!("/api/v1/participants/{id}/feed-token"),
            &w.worker,
            json!({}),
        )
        .await;
    assert!(rotated.status.is_success(), "{rotated:?}");
    let new_url = rotated.body["feed_url"]
        .as_str()
        .expect("a new feed_url")
        .replace("http://sport.test", &w.app.base);
    assert_ne!(new_url, url);
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "the old link no longer works"
    );
    let fresh = client.get(&new_url).send().await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(
        uid(&parse_calendar(&fresh.text().await.unwrap())),
        uid(&invitation)
    );
    let refreshed = w
        .app
        .get(&format!("/api/v1/participants/{id}"), &w.worker)
        .await;
    assert_eq!(
        refreshed.body["feed_url"]
            .as_str()
            .map(|u| u.replace("http://sport.test", &w.app.base)),
        Some(new_url)
    );

    for unknown in ["nope", "0123456789abcdef0123456789abcdef0123456789ab"] {
        let answer = client
            .get(format!(
                "{}/calendar/participants/{unknown}.ics",
                w.app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_club_feed_lists_published_sessions_without_personal_data() {
    let w = world().await;
    let weekly = tuesday_session(&w, json!({"title": "Foot du mardi"})).await;
    let single = tuesday_session(
        &w,
        json!({
            "title": "Tournoi",
            "start": local_iso(tuesday(4) + Days::new(4), 10, 0),
            "rrule": null,
        }),
    )
    .await;
    let draft = tuesday_session(&w, json!({"title": "Brouillon", "status": "draft"})).await;
    let gone = tuesday_session(&w, json!({"title": "Annulée"})).await;
    let answer = w
        .app
        .delete(&format!("/api/v1/sessions/{gone}"), &w.manager)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");

    let zephyrine = participant(&w, "Zephyrine", "zephyrine.q@example.net", "fr", "shelter").await;
    let quentin = participant(&w, "Quentinou", "quentinou.q@example.net", "en", "migrant").await;
    enrol(&w, &zephyrine, &weekly).await;
    enrol(&w, &quentin, &weekly).await;
    enrol(&w, &zephyrine, &single).await;

    let client = reqwest::Client::new();
    let url = format!("{}/calendar/clubs/{}.ics", w.app.base, w.club);
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let etag = response.headers().get("etag").expect("an ETag").clone();
    let body = response.text().await.unwrap();
    let calendar = parse_calendar(&body);
    assert_eq!(method(&calendar), None, "a feed has no METHOD");
    assert_eq!(calendar.events.len(), 2, "{body}");
    let uids: Vec<String> = calendar
        .events
        .iter()
        .map(|e| value(&e.properties, "UID").unwrap().to_owned())
        .collect();
    for (session, listed) in [
        (&weekly, true),
        (&single, true),
        (&draft, false),
        (&gone, false),
    ] {
        let simple = session.replace('-', "");
        assert_eq!(
            uids.iter().any(|u| u.contains(&simple)),
            listed,
            "session {session} listed: {uids:?}"
        );
    }

    let lower = body.to_lowercase();
    for person in [&zephyrine, &quentin] {
        for field in ["first_name", "last_name", "email", "code"] {
            let text = person[field].as_str().expect(field).to_lowercase();
            assert!(
                !lower.contains(&text),
                "the club feed shows a participant's {field}"
            );
        }
    }
    assert!(!lower.contains("attendee"), "no attendee in a public feed");

    let cached = client
        .get(&url)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    for unknown in [uuid::Uuid::new_v4().to_string(), "not-a-club".to_owned()] {
        let answer = client
            .get(format!("{}/calendar/clubs/{unknown}.ics", w.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_kind_parses_and_says_nothing_about_the_situation() {
    let w = world().await;
    let session = tuesday_session(&w, json!({"capacity": 1})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "shelter").await;
    let bob = participant(&w, "Bob", "bob@example.net", "en", "isolated_senior").await;
    let first = enrol(&w, &amina, &session).await;
    assert_eq!(first["status"], "confirmed");
    wait_for(&w.smtp, 1);
    let second = enrol(&w, &bob, &session).await;
    assert_eq!(second["status"], "waitlisted", "{second}");
    wait_for(&w.smtp, 2);
    let changed = w
        .app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"location": "Stade Léo Lagrange"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    wait_for(&w.smtp, 3);
    let cancelled = w
        .app
        .delete(
            &format!("/api/v1/enrollments/{}", first["id"].as_str().unwrap()),
            &w.worker,
        )
        .await;
    assert!(cancelled.status.is_success(), "{cancelled:?}");
    let got = wait_for_exactly(&w.smtp, 6);

    // Which kind each message is, through its Message-ID (the outbox row's id).
    let rows = outbox(&w.app).await;
    let kind_of = |m: &Mail| -> String {
        rows.iter()
            .find(|r| {
                m.message_id
                    .starts_with(&format!("<{}@", r["id"].as_str().unwrap()))
            })
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no outbox row for {}", m.message_id))
    };
    let mails: Vec<Mail> = got.iter().map(mail).collect();
    let mut seen: Vec<(String, String)> =
        mails.iter().map(|m| (m.to.join(","), kind_of(m))).collect();
    seen.sort();
    let expected: Vec<(String, String)> = [
        ("amina@example.net", "cancellation"),
        ("amina@example.net", "invitation"),
        ("amina@example.net", "update"),
        ("bob@example.net", "invitation"),
        ("bob@example.net", "promotion"),
        ("bob@example.net", "waitlisted"),
    ]
    .iter()
    .map(|(a, k)| (a.to_string(), k.to_string()))
    .collect();
    assert_eq!(seen, expected);

    let forbidden = [
        "shelter",
        "isolated_senior",
        "isolated senior",
        "précarité",
        "precarity",
        "sans-abri",
        "homeless",
        "foyer",
        "hébergement",
    ];
    for m in &mails {
        let kind = kind_of(m);
        assert!(!m.text().trim().is_empty(), "{kind}: empty text/plain");
        assert!(!m.html().trim().is_empty(), "{kind}: empty text/html");
        let calendars = m.calendars();
        if ["invitation", "update", "cancellation"].contains(&kind.as_str()) {
            assert!(!calendars.is_empty(), "{kind} without a calendar");
        }
        for (content_type, ics) in calendars {
            let calendar = parse_calendar(ics);
            assert!(!calendar.events.is_empty(), "{kind}: {content_type}");
            assert!(value(&calendar.properties, "VERSION").is_some());
        }
        let everything = m.everything();
        for word in forbidden {
            assert!(
                !everything.contains(word),
                "{kind} to {:?} says {word:?}",
                m.to
            );
        }
        if m.to == ["bob@example.net"] {
            assert!(
                m.text().contains("Hello Bob"),
                "{kind} to an English participant: {}",
                m.text()
            );
            assert!(!m.text().contains("Bonjour"), "{kind}: {}", m.text());
            assert!(m.html().contains("Hello"), "{kind}: {}", m.html());
        } else {
            assert!(m.text().contains("Bonjour Amina"), "{kind}: {}", m.text());
        }
    }
    let english_subjects: BTreeMap<String, String> = mails
        .iter()
        .filter(|m| m.to == ["bob@example.net"])
        .map(|m| (kind_of(m), m.subject.clone()))
        .collect();
    assert!(
        english_subjects["waitlisted"].starts_with("Waiting list"),
        "{english_subjects:?}"
    );
    assert!(
        english_subjects["promotion"].starts_with("A place is free"),
        "{english_subjects:?}"
    );
    assert!(
        english_subjects["invitation"].contains("Tuesday"),
        "an English date in the subject: {english_subjects:?}"
    );
}

/// A series enrollment made "from the first occurrence" is about the session, not about
/// an instant: when the club moves the whole session half an hour earlier, the
/// participant keeps their place (and calendar entry) on the first date.
#[tokio::test(flavor = "multi_thread")]
async fn moving_the_session_earlier_keeps_the_participant_on_the_first_date() {
    let w = world().await;
    let session = tuesday_session(&w, json!({"rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=4"})).await;
    let amina = participant(&w, "Amina", "amina@example.net", "fr", "migrant").await;
    let enrollment = enrol(&w, &amina, &session).await;
    assert_eq!(enrollment["from_key"], key(base(), 18, 30), "{enrollment}");
    let invitation = mail(&wait_for(&w.smtp, 1)[0]).calendar();
    assert_eq!(expand(&invitation).len(), 4);

    let earlier = w
        .app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            &w.manager,
            json!({"start": local_iso(base(), 18, 0)}),
        )
        .await;
    assert_eq!(earlier.status, StatusCode::OK, "{earlier:?}");
    let update = mail(&wait_for(&w.smtp, 2)[1]).calendar();
    assert_eq!(uid(&update), uid(&invitation));
    let (api, _) = api_occurrences(
        &w,
        &session,
        &day(base() - Days::new(8)),
        &day(base() + Days::new(57)),
        "",
    )
    .await;
    let api: BTreeSet<DateTime<Utc>> = api.keys().copied().collect();
    assert_eq!(api.len(), 4, "the session still has its four dates");
    assert_eq!(
        expand(&update),
        api,
        "the participant's calendar lost a date when the session moved earlier"
    );
    let roster = w
        .app
        .get(
            &format!(
                "/api/v1/sessions/{session}/occurrences/{}/roster",
                key(base(), 18, 0)
            ),
            &w.manager,
        )
        .await;
    assert_eq!(roster.status, StatusCode::OK, "{roster:?}");
    assert_eq!(
        roster.body["confirmed"], 1,
        "the participant is no longer counted on the first date: {roster:?}"
    );
}

/// The date helpers the other tests rely on.
#[test]
fn the_date_helpers_write_what_they_should() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(french::date(date(2027, 2, 16)), "16 février 2027");
    assert_eq!(french::date(date(2027, 3, 1)), "1er mars 2027");
    assert_eq!(french::date(date(2028, 8, 9)), "9 août 2028");
    assert_eq!(french::date(date(2027, 12, 31)), "31 décembre 2027");
    assert_eq!(
        spring_forward(2027),
        Utc.with_ymd_and_hms(2027, 3, 28, 1, 0, 0).unwrap()
    );
    assert_eq!(
        spring_forward(2028),
        Utc.with_ymd_and_hms(2028, 3, 26, 1, 0, 0).unwrap()
    );
    assert_eq!(key(date(2027, 2, 16), 18, 30), "20270216T173000Z");
    assert_eq!(key(date(2027, 4, 6), 18, 30), "20270406T163000Z");
    assert_eq!(ical_local(date(2027, 2, 16), 18, 30), "20270216T183000");
    assert_eq!(local_iso(date(2027, 4, 8), 19, 0), "2027-04-08T19:00:00");

    assert_eq!(
        series_dates(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()),
        (date(2027, 2, 2), spring_forward(2027), 8)
    );

    // Whatever the day the tests run, the dates fit the service and the DST test.
    let today = Utc::now().date_naive();
    let mut days = vec![today];
    let mut day = date(2026, 1, 1);
    while day < date(2034, 1, 1) {
        days.push(day);
        day = day + Days::new(1);
    }
    for day in days {
        let now = Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap());
        let (base, change, winter) = series_dates(now);
        assert_eq!(base.weekday(), Weekday::Tue, "{day}");
        assert_eq!(change, spring_forward(change.year()), "{day}");
        assert!((4..=8).contains(&winter), "{day}: {winter}");
        assert_eq!(
            (change.date_naive() - base).num_days(),
            7 * winter as i64 - 2,
            "{day}"
        );
        if change - now >= chrono::Duration::weeks(10) {
            assert_eq!(
                winter, 8,
                "{day}: eight weeks before a change ten weeks away"
            );
        }
        let first = paris(base, 18, 30);
        assert!(first > now + chrono::Duration::days(6), "{day}: {base}");
        assert!(first < now + chrono::Duration::weeks(51), "{day}: {base}");
        let week = |n: u64| paris(base + Days::new(7 * n), 18, 30);
        assert!(week(winter - 1) < change && week(winter) > change, "{day}");
    }
    assert!(paris(base(), 18, 30) > Utc::now() + chrono::Duration::days(6));
}
