//! `/app`: the signed-in user's home. A social worker sees this week for the people
//! they follow, and what needs them.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Request};
use serde::Serialize;

use super::session::SignedIn;
use super::view::{page, value, Frame, Lang};
use super::PageResult;
use crate::domain::access::Role;
use crate::mail::written_time::{written_clock, written_day};
use crate::ops::access::readable_scope;
use crate::state::AppState;
use crate::store::clubs::address_line;
use crate::store::pages::{ComingRow, Whose};

/// How far "this week" reaches.
const WEEK_DAYS: i64 = 7;
/// How far back "what needs you" looks.
const NEEDS_DAYS: i64 = 14;

/// An occurrence as a page lists it.
#[derive(Serialize)]
pub struct ComingLine {
    pub day: String,
    pub time: String,
    pub participant_id: String,
    pub participant: String,
    pub code: String,
    pub enrollment_id: String,
    pub status: &'static str,
    pub position: Option<i64>,
    pub session_id: String,
    pub title: String,
    pub sport: String,
    pub club: String,
    pub address: String,
    pub cancelled: bool,
    pub not_coming: bool,
}

/// Day and time of `at` where the session happens.
pub fn local(lang: Lang, at: DateTime<Utc>, timezone: &str) -> (String, String) {
    let tz: Tz = timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
    let local = at.with_timezone(&tz).naive_local();
    (
        written_day(lang, local.date()),
        written_clock(lang, local.time()),
    )
}

impl ComingLine {
    pub fn of(lang: Lang, row: ComingRow) -> Self {
        let (day, time) = local(lang, row.start_at, &row.timezone);
        Self {
            day,
            time,
            participant_id: row.participant_id.to_string(),
            participant: format!("{} {}", row.first_name, row.last_name),
            code: row.code,
            enrollment_id: row.enrollment_id.to_string(),
            status: row.enrollment_status.as_str(),
            position: row.waitlist_position,
            session_id: row.session_id.to_string(),
            title: row.title,
            sport: row.sport,
            club: row.club_name,
            address: row.location.unwrap_or_else(|| {
                address_line(&row.club_address, &row.club_postal_code, &row.club_city)
            }),
            cancelled: row.occurrence_status
                == crate::domain::schedule::OccurrenceStatus::Cancelled,
            not_coming: row.answer.as_deref() == Some("not_coming"),
        }
    }
}

#[handler]
pub async fn home(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let frame = Frame::of(&me, request);
    match (me.user.role, me.user.club_id) {
        (Role::SocialWorker, _) => {}
        (Role::ClubManager, Some(club_id)) => {
            return club_home(&state, &me, &frame, club_id).await;
        }
        _ => {
            return Ok(page(
                &frame,
                StatusCode::OK,
                "home.html",
                context! { worker => false },
            ));
        }
    }
    let structure = readable_scope(&me.caller)?;
    let now = crate::clock::now();
    let coming = state
        .store
        .coming(
            Whose::Structure(structure),
            now - Duration::hours(2),
            now + Duration::days(WEEK_DAYS),
            300,
        )
        .await?;
    let lines: Vec<ComingLine> = coming
        .into_iter()
        .map(|row| ComingLine::of(me.lang, row))
        .collect();
    let needs: Vec<_> = state
        .store
        .needs_attention(structure, now - Duration::days(NEEDS_DAYS), 50)
        .await?
        .into_iter()
        .map(|n| {
            context! {
                kind => n.kind.as_str(),
                participant_id => n.participant_id.to_string(),
                participant => format!("{} {}", n.first_name, n.last_name),
                code => n.code,
                session => n.session_title,
                day => local(me.lang, n.created_at, "Europe/Paris").0,
            }
        })
        .collect();
    Ok(page(
        &frame,
        StatusCode::OK,
        "home.html",
        context! { worker => true, lines => value(&lines), needs => needs },
    ))
}

/// Places left below which an occurrence coming soon needs the club's eye.
const ALMOST_FULL: i32 = 1;
/// How far ahead "almost full" looks, and how far back unrecorded sheets.
const SOON_HOURS: i64 = 48;
const SHEETS_DAYS: i64 = 30;

/// A club manager's home: this week's occurrences with places taken and "I can't come"
/// answers, and what needs them: an occurrence about to be full, a sheet not recorded.
async fn club_home(
    state: &AppState,
    me: &SignedIn,
    frame: &Frame<'_>,
    club_id: uuid::Uuid,
) -> PageResult {
    use crate::domain::schedule::OccurrenceStatus;
    use crate::store::pages::ClubOccurrenceRow;
    let now = crate::clock::now();
    let lang = me.lang;
    let line = |o: &ClubOccurrenceRow| {
        let (day, time) = local(lang, o.start_at, &o.timezone);
        context! {
            session_id => o.session_id.to_string(),
            key => o.occurrence_key.clone(),
            title => o.title.clone(),
            day => day,
            time => time,
            taken => o.taken,
            capacity => o.capacity,
            declined => o.declined,
            coming => o.coming,
            cancelled => o.status == OccurrenceStatus::Cancelled,
            moved => o.status == OccurrenceStatus::Moved,
        }
    };
    // From this morning: a session that began hours ago is still today's, with its
    // check-in to do.
    let paris = chrono_tz::Europe::Paris;
    let today = now.with_timezone(&paris).date_naive();
    let morning = crate::domain::schedule::resolve_local(paris, today.and_time(NaiveTime::MIN));
    let week = state
        .store
        .club_occurrences(
            club_id,
            morning,
            now + Duration::days(WEEK_DAYS),
            300,
            false,
        )
        .await?;
    let on_today = |o: &&ClubOccurrenceRow| {
        let zone: Tz = o.timezone.parse().unwrap_or(paris);
        o.start_at.with_timezone(&zone).date_naive() == today
    };
    let almost_full: Vec<_> = week
        .iter()
        .filter(|o| o.status != OccurrenceStatus::Cancelled && o.start_at > now)
        .filter(|o| o.start_at < now + Duration::hours(SOON_HOURS))
        .filter(|o| o.capacity - o.taken <= ALMOST_FULL)
        .map(line)
        .collect();
    let unrecorded: Vec<_> = state
        .store
        .club_occurrences(club_id, now - Duration::days(SHEETS_DAYS), now, 500, false)
        .await?
        .iter()
        .filter(|o| o.status != OccurrenceStatus::Cancelled && !o.recorded)
        .rev()
        .take(10)
        .map(line)
        .collect();
    let today_lines: Vec<_> = week.iter().filter(on_today).map(line).collect();
    let lines: Vec<_> = week.iter().filter(|o| !on_today(o)).map(line).collect();
    Ok(page(
        frame,
        StatusCode::OK,
        "home.html",
        context! {
            worker => false,
            club => true,
            today => today_lines,
            lines => lines,
            almost_full => almost_full,
            unrecorded => unrecorded,
        },
    ))
}
