//! A club manager's own club: its profile and public calendar link, its sessions, and
//! its calendar of occurrences week by week.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Request};

use super::forms::{Errors, Fields};
use super::home::local;
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame};
use super::PageResult;
use crate::domain::schedule::{OccurrenceStatus, SessionStatus};
use crate::mail::written_time::written_day;
use crate::ops::clubs::{update_club, ClubChanges};
use crate::state::AppState;
use crate::store::clubs::Club;

/// A club's profile as its form shows it (programme staff's form adds the rest).
pub fn profile_of(club: &Club) -> Fields {
    let mut f = Fields::default();
    f.set("name", &club.name);
    f.set("sports", club.sports.join(", "));
    f.set("address", &club.address);
    f.set("postal_code", &club.postal_code);
    f.set("city", &club.city);
    f.set(
        "contact_email",
        club.contact_email.clone().unwrap_or_default(),
    );
    f.set(
        "contact_phone",
        club.contact_phone.clone().unwrap_or_default(),
    );
    f.set(
        "accessibility_notes",
        club.accessibility_notes.clone().unwrap_or_default(),
    );
    f
}

#[handler]
pub async fn show(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let club_id = me.own_club()?;
    let club = state.store.club(club_id).await?;
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "club.html",
        context! {
            club => context! {
                name => club.name.clone(),
                sports => club.sports.clone(),
                address => club.address_line(),
                contact_email => club.contact_email.clone(),
                contact_phone => club.contact_phone.clone(),
                accessibility_notes => club.accessibility_notes.clone(),
                partnership => club.partnership_status.as_str(),
            },
            feed_url => state.mailer.club_feed_url(club.id),
            saved => Fields::query(request).ticked("saved"),
        },
    ))
}

fn edit_page(
    me: &SignedIn,
    request: &Request,
    status: StatusCode,
    f: &Fields,
    errors: &Errors,
) -> PageResult {
    let frame = Frame::of(me, request);
    Ok(page(
        &frame,
        status,
        "club_form.html",
        context! { f => value(f), errors => value(errors) },
    ))
}

#[handler]
pub async fn edit_form(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let club_id = me.own_club()?;
    let club = state.store.club(club_id).await?;
    edit_page(
        &me,
        request,
        StatusCode::OK,
        &profile_of(&club),
        &Errors::default(),
    )
}

/// Sports typed as a list: commas, semicolons or one per line.
pub fn sports_of(f: &Fields) -> Vec<String> {
    f.get("sports")
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A profile form's changes: blank optional fields clear the value; position and
/// partnership are not on it (programme staff's form adds them).
pub fn changes_of(f: &Fields) -> ClubChanges {
    ClubChanges {
        name: Some(f.get("name").to_owned()),
        sports: Some(sports_of(f)),
        address: Some(f.get("address").to_owned()),
        postal_code: Some(f.get("postal_code").to_owned()),
        city: Some(f.get("city").to_owned()),
        latitude: None,
        longitude: None,
        contact_email: Some(f.opt("contact_email")),
        contact_phone: Some(f.opt("contact_phone")),
        accessibility_notes: Some(f.opt("accessibility_notes")),
        partnership: None,
    }
}

#[handler]
pub async fn update(request: &Request, state: Data<&AppState>, form: Posted) -> PageResult {
    let Posted { me, fields } = form;
    let club_id = me.own_club()?;
    match update_club(&state.store, &me.caller, club_id, changes_of(&fields)).await {
        Ok(_) => Ok(see_other("/app/club?saved=1")),
        Err(error) => {
            let errors = Errors::from_op(error)?;
            edit_page(
                &me,
                request,
                StatusCode::UNPROCESSABLE_ENTITY,
                &fields,
                &errors,
            )
        }
    }
}

/// `/app/club/sessions`: every session of the club with its rhythm and state.
#[handler]
pub async fn sessions(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let club_id = me.own_club()?;
    let lang = me.lang;
    let rows: Vec<Value> = state
        .store
        .sessions_of_club(club_id)
        .await?
        .into_iter()
        .map(|s| {
            let rhythm = super::sessions::rhythm_values(lang, &s);
            context! {
                id => s.id.to_string(),
                title => s.title,
                sport => s.sport,
                status => s.status.as_str(),
                cancelled => s.status == SessionStatus::Cancelled,
                draft => s.status == SessionStatus::Draft,
                first => written_day(lang, s.start_local.date()),
                time => crate::mail::written_time::written_clock(lang, s.start_local.time()),
                capacity => s.capacity,
                rhythm => rhythm,
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "club_sessions.html",
        context! { sessions => rows },
    ))
}

/// `/app/club/calendar?week=YYYY-MM-DD`: one week of occurrences, Monday first.
#[handler]
pub async fn calendar(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let club_id = me.own_club()?;
    let tz: Tz = chrono_tz::Europe::Paris;
    let today = crate::clock::now().with_timezone(&tz).date_naive();
    // Weeks a club can plan or look back on; any other date shows this week.
    let reachable = |d: &NaiveDate| (*d - today).num_days().abs() <= 3660;
    let asked = Fields::query(request)
        .opt("week")
        .and_then(|w| NaiveDate::parse_from_str(&w, "%Y-%m-%d").ok())
        .filter(reachable)
        .unwrap_or(today);
    let monday = asked - Duration::days(asked.weekday().num_days_from_monday().into());
    let from = crate::domain::schedule::resolve_local(tz, monday.and_time(NaiveTime::MIN));
    let to = crate::domain::schedule::resolve_local(
        tz,
        (monday + Duration::days(7)).and_time(NaiveTime::MIN),
    );
    // The club plans with its drafts too: they show, marked, on its own calendar.
    let rows = state
        .store
        .club_occurrences(club_id, from, to, 500, true)
        .await?;
    let lang = me.lang;
    let days: Vec<Value> = (0..7)
        .map(|i| {
            let date = monday + Duration::days(i);
            let items: Vec<Value> = rows
                .iter()
                .filter(|o| {
                    let zone: Tz = o.timezone.parse().unwrap_or(tz);
                    o.start_at.with_timezone(&zone).date_naive() == date
                })
                .map(|o| {
                    let (_, time) = local(lang, o.start_at, &o.timezone);
                    context! {
                        session_id => o.session_id.to_string(),
                        key => o.occurrence_key.clone(),
                        title => o.title.clone(),
                        time => time,
                        status => o.status.as_str(),
                        cancelled => o.status == OccurrenceStatus::Cancelled,
                        moved => o.status == OccurrenceStatus::Moved,
                        draft => o.draft,
                        taken => o.taken,
                        capacity => o.capacity,
                    }
                })
                .collect();
            context! {
                day => written_day(lang, date),
                today => date == today,
                items => items,
            }
        })
        .collect();
    let frame = Frame::of(&me, request);
    Ok(page(
        &frame,
        StatusCode::OK,
        "club_calendar.html",
        context! {
            days => days,
            empty_week => rows.is_empty(),
            week_of => written_day(lang, monday),
            previous => (monday - Duration::days(7)).format("%Y-%m-%d").to_string(),
            next => (monday + Duration::days(7)).format("%Y-%m-%d").to_string(),
            this_week => (today - Duration::days(today.weekday().num_days_from_monday().into())).format("%Y-%m-%d").to_string(),
        },
    ))
}
