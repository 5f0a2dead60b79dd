//! One occurrence seen from the club: cancel, restore, move or resize it (each saying
//! who will be told), its roster, and check-in at the door.
//!
//! The check-in page is a form that works without JavaScript (one "save" button sends
//! the whole sheet). `check-in.js` saves each tap at once as a sheet *in progress*
//! (people not marked yet stay unrecorded), keeps unsent taps on the phone when the
//! network drops and sends them when it comes back: a sheet replaces the previous one,
//! so sending it again is harmless.

use chrono::{NaiveDate, NaiveTime};
use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, IntoResponse, Request, Response};
use uuid::Uuid;

use super::forms::{Errors, Fields};
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame, Lang};
use super::{PageError, PageResult};
use crate::domain::attendance::{recording_open, Closed, Mark, MAX_WALK_INS, UNKNOWN_SITUATION};
use crate::domain::participants::SITUATIONS;
use crate::domain::places::EnrollmentStatus;
use crate::domain::rsvp::Answer;
use crate::domain::schedule::{OccurrenceStatus, SessionStatus};
use crate::domain::FieldError;
use crate::mail::written_time::{written_clock, written_day};
use crate::ops::attendance::{record_attendance, Sheet, SheetLine};
use crate::ops::roster::{roster, OccurrenceRoster, RosterLine};
use crate::ops::sessions::{change_occurrence, OccurrenceAction, OccurrenceChange};
use crate::ops::OpError;
use crate::state::AppState;

fn session_id(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::NotFound)
}

/// A line of the roster as the club's pages show it: no contact details, no situation.
fn line_values(line: &RosterLine) -> Value {
    context! {
        participant_id => line.participant_id.to_string(),
        name => format!("{} {}", line.first_name, line.last_name_initial),
        first_name => line.first_name.clone(),
        code => line.code.clone(),
        status => line.status.as_str(),
        not_coming => line.rsvp == Some(Answer::NotComing),
        coming => line.rsvp == Some(Answer::Coming),
        mark => line.attendance.map(|m| m.as_str()),
    }
}

/// The values both club pages of an occurrence show.
fn occurrence_values(lang: Lang, found: &OccurrenceRoster) -> Value {
    let tz = found.schedule.timezone();
    let start = found.occurrence.start.with_timezone(&tz);
    let end = found.occurrence.end.with_timezone(&tz);
    let original = found.occurrence.key.original_start().with_timezone(&tz);
    let roster = &found.roster;
    let told: Vec<String> = roster
        .participants
        .iter()
        .filter(|l| l.status == EnrollmentStatus::Confirmed)
        .map(|l| format!("{} {}", l.first_name, l.last_name_initial))
        .collect();
    context! {
        session_id => found.session.id.to_string(),
        key => found.occurrence.key.to_string(),
        title => found.session.title.clone(),
        session_cancelled => found.session.status == SessionStatus::Cancelled,
        day => written_day(lang, start.date_naive()),
        time => written_clock(lang, start.time()),
        end_time => written_clock(lang, end.time()),
        original_day => (original != start).then(|| written_day(lang, original.date_naive())),
        original_time => (original != start).then(|| written_clock(lang, original.time())),
        status => found.occurrence.status.as_str(),
        cancelled => found.occurrence.status == OccurrenceStatus::Cancelled,
        moved => found.occurrence.status == OccurrenceStatus::Moved,
        capacity => found.occurrence.capacity,
        taken => roster.confirmed,
        overbooked => roster.overbooked,
        waitlisted => roster.participants.iter().filter(|l| l.status == EnrollmentStatus::Waitlisted).count(),
        told => told,
        lines => roster.participants.iter().map(line_values).collect::<Vec<_>>(),
        recorded_at => roster.attendance_recorded_at.map(|at| {
            let at = at.with_timezone(&tz);
            format!("{}, {}", written_day(lang, at.date_naive()), written_clock(lang, at.time()))
        }),
    }
}

/// The move form's values: where the occurrence is now.
fn move_fields(found: &OccurrenceRoster) -> Fields {
    let tz = found.schedule.timezone();
    let start = found.occurrence.start.with_timezone(&tz).naive_local();
    let mut f = Fields::default();
    f.set("start_date", start.format("%Y-%m-%d").to_string());
    f.set("start_time", start.format("%H:%M").to_string());
    f.set(
        "duration_minutes",
        (found.occurrence.end - found.occurrence.start)
            .num_minutes()
            .to_string(),
    );
    f.set("capacity", found.occurrence.capacity.to_string());
    f
}

fn occurrence_page(
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    found: &OccurrenceRoster,
    f: &Fields,
    errors: &Errors,
) -> PageResult {
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "occurrence.html",
        context! {
            o => occurrence_values(me.lang, found),
            f => value(f),
            errors => value(errors),
            done => Fields::query(request)
                .opt("done")
                .filter(|d| ["cancel", "restore", "move", "capacity"].contains(&d.as_str())),
        },
    ))
}

#[handler]
pub async fn show(
    request: &Request,
    state: Data<&AppState>,
    Path((id, key)): Path<(String, String)>,
    me: SignedIn,
) -> PageResult {
    let found = roster(&state.store, &me.caller, session_id(&id)?, &key).await?;
    let f = move_fields(&found);
    occurrence_page(&me, request, StatusCode::OK, &found, &f, &Errors::default())
}

/// The change a posted action asks for; a field it cannot read is named.
fn change_of(f: &Fields) -> Result<OccurrenceChange, FieldError> {
    match f.get("action") {
        "cancel" => Ok(OccurrenceChange {
            status: Some(OccurrenceAction::Cancelled),
            ..Default::default()
        }),
        "restore" => Ok(OccurrenceChange {
            status: Some(OccurrenceAction::Scheduled),
            ..Default::default()
        }),
        "move" => {
            let date = NaiveDate::parse_from_str(f.get("start_date").trim(), "%Y-%m-%d")
                .map_err(|_| FieldError::new("start_date", "give the new date, like 2026-10-24"))?;
            let time = NaiveTime::parse_from_str(f.get("start_time").trim(), "%H:%M")
                .map_err(|_| FieldError::new("start_time", "give the new time, like 10:00"))?;
            let minutes = f
                .get("duration_minutes")
                .trim()
                .parse::<i32>()
                .map_err(|_| {
                    FieldError::new("duration_minutes", "say how long it lasts, in minutes")
                })?;
            Ok(OccurrenceChange {
                start: Some(Some(date.and_time(time))),
                duration_minutes: Some(Some(minutes)),
                ..Default::default()
            })
        }
        "capacity" => {
            let places = f
                .get("capacity")
                .trim()
                .parse::<i32>()
                .map_err(|_| FieldError::new("capacity", "say how many places, as a number"))?;
            Ok(OccurrenceChange {
                capacity: Some(Some(places)),
                ..Default::default()
            })
        }
        _ => Err(FieldError::new("action", "choose what to change")),
    }
}

#[handler]
pub async fn change(
    request: &Request,
    state: Data<&AppState>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    let id = session_id(&id)?;
    let outcome = match change_of(&fields) {
        Ok(change) => change_occurrence(&state.store, &me.caller, id, &key, change).await,
        Err(error) => Err(OpError::Invalid(error)),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/app/sessions/{id}/occurrences/{key}?done={}#done",
            fields.get("action")
        ))),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            // Only the form shown again needs the occurrence and its roster.
            let found = roster(&state.store, &me.caller, id, &key).await?;
            let shown = move_fields(&found).overlaid(&fields);
            occurrence_page(
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                &found,
                &shown,
                &errors,
            )
        }
    }
}

/// Walk-in situations in the order the page shows them: not said first.
fn walk_in_situations() -> impl Iterator<Item = &'static str> {
    std::iter::once(UNKNOWN_SITUATION).chain(SITUATIONS.iter().copied())
}

/// Whether recording is open now, and if not, why (words key).
fn closed_reason(found: &OccurrenceRoster, is_staff: bool) -> Option<&'static str> {
    if found.occurrence.status == OccurrenceStatus::Cancelled {
        return Some("check_in_cancelled");
    }
    match recording_open(found.occurrence.start, crate::clock::now(), is_staff) {
        Ok(()) => None,
        Err(Closed::NotStarted) => Some("check_in_not_started"),
        Err(Closed::StaffOnly) => Some("check_in_staff_only"),
    }
}

fn check_in_page(
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    found: &OccurrenceRoster,
    errors: &Errors,
    saved: bool,
) -> PageResult {
    let query = Fields::query(request);
    let q = query.opt("q").map(|q| q.to_lowercase());
    let matches = |l: &RosterLine| {
        q.as_deref().is_none_or(|q| {
            l.first_name.to_lowercase().contains(q) || l.code.to_lowercase().contains(q)
        })
    };
    let recorded: std::collections::HashMap<&str, i32> = found
        .roster
        .walk_ins
        .iter()
        .map(|w| (w.situation.as_str(), w.count))
        .collect();
    let walk_ins: Vec<Value> = walk_in_situations()
        .map(|s| context! { situation => s, count => recorded.get(s).copied().unwrap_or(0) })
        .collect();
    let count = |mark: Option<Mark>| {
        found
            .roster
            .participants
            .iter()
            .filter(|l| l.attendance == mark)
            .count()
    };
    let totals = context! {
        present => count(Some(Mark::Present)),
        absent => count(Some(Mark::Absent)),
        excused => count(Some(Mark::Excused)),
        open => count(None),
    };
    let (shown, hidden): (Vec<&RosterLine>, Vec<&RosterLine>) =
        found.roster.participants.iter().partition(|l| matches(l));
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "check_in.html",
        context! {
            o => occurrence_values(me.lang, found),
            shown => shown.into_iter().map(line_values).collect::<Vec<_>>(),
            hidden => hidden.into_iter().map(line_values).collect::<Vec<_>>(),
            q => query.opt("q"),
            walk_ins => walk_ins,
            walk_ins_total => found.roster.walk_ins_total,
            totals => totals,
            closed => closed_reason(found, me.caller.is_admin()),
            errors => value(errors),
            saved => saved,
            max_walk_ins => MAX_WALK_INS,
        },
    ))
}

#[handler]
pub async fn check_in(
    request: &Request,
    state: Data<&AppState>,
    Path((id, key)): Path<(String, String)>,
    me: SignedIn,
) -> PageResult {
    let found = roster(&state.store, &me.caller, session_id(&id)?, &key).await?;
    let saved = Fields::query(request).ticked("saved");
    check_in_page(
        &me,
        request,
        StatusCode::OK,
        &found,
        &Errors::default(),
        saved,
    )
}

/// The sheet a posted check-in form describes.
fn sheet_of(f: &Fields, found: &OccurrenceRoster) -> Result<Sheet, FieldError> {
    let mut lines = Vec::new();
    for line in &found.roster.participants {
        let name = format!("mark_{}", line.participant_id);
        let mark = match f.get(&name) {
            "" => continue,
            text => Mark::parse(text).ok_or_else(|| {
                FieldError::new(name.clone(), "choose present, absent or excused")
            })?,
        };
        lines.push(SheetLine {
            participant_id: Some(line.participant_id),
            code: None,
            mark,
        });
    }
    let mut walk_ins = Vec::new();
    for situation in walk_in_situations() {
        let name = format!("walk_ins_{situation}");
        let count = match f.get(&name).trim() {
            "" => 0,
            text => text
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=MAX_WALK_INS).contains(n))
                .ok_or_else(|| {
                    FieldError::new(name.clone(), format!("a number from 0 to {MAX_WALK_INS}"))
                })?,
        };
        let said = (situation != UNKNOWN_SITUATION).then(|| situation.to_owned());
        walk_ins.push((said, count));
    }
    Ok(Sheet {
        lines,
        walk_ins,
        in_progress: f.ticked("in_progress"),
    })
}

/// The answer to a tap sent by `check-in.js`: JSON it can read, never a page.
fn tap_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, poem::web::Json(body)).into_response()
}

#[handler]
pub async fn record(
    request: &Request,
    state: Data<&AppState>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    let tap = request.headers().contains_key("x-check-in");
    let id = session_id(&id)?;
    let found = roster(&state.store, &me.caller, id, &key).await?;
    // The search, without JavaScript: the marks made so far are kept as taps (an
    // in-progress sheet, so nobody is noted absent), then the page shows who was found.
    let searching = fields.get("find") == "1";
    let mut fields = fields;
    if searching {
        fields.set("in_progress", "true");
    }
    let outcome = match sheet_of(&fields, &found) {
        Ok(sheet) if searching && sheet.is_empty() => Ok(None),
        Ok(sheet) => record_attendance(&state.store, &me.caller, id, &key, sheet)
            .await
            .map(Some),
        Err(error) => Err(OpError::Invalid(error)),
    };
    if searching && outcome.is_ok() {
        let q = serde_urlencoded::to_string([("q", fields.get("q").trim())]).unwrap_or_default();
        return Ok(see_other(&format!(
            "/app/sessions/{id}/occurrences/{key}/check-in?{q}#people"
        )));
    }
    match (outcome, tap) {
        (Ok(_), true) => Ok(tap_answer(
            StatusCode::OK,
            serde_json::json!({ "saved": true }),
        )),
        (Ok(_), false) => Ok(see_other(&format!(
            "/app/sessions/{id}/occurrences/{key}/check-in?saved=1"
        ))),
        (Err(OpError::Store(error)), _) => Err(OpError::Store(error).into()),
        (Err(error), true) => {
            let status = match &error {
                OpError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                OpError::Forbidden(_) => StatusCode::FORBIDDEN,
                OpError::NotFound(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::CONFLICT,
            };
            Ok(tap_answer(
                status,
                serde_json::json!({
                    "saved": false,
                    "error": super::words::message(me.lang, &error.to_string()),
                }),
            ))
        }
        (Err(error), false) => {
            let errors = Errors::from_op(error)?;
            check_in_page(
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                &found,
                &errors,
                false,
            )
        }
    }
}
