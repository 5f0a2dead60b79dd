//! Finding a session with places (`/app/occurrences`), a session's page, and enrolling
//! a participant in it.

use std::collections::HashMap;

use chrono::{Datelike, Duration, Timelike};
use chrono_tz::Tz;
use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request};
use serde::Serialize;
use uuid::Uuid;

use super::forms::{Errors, Fields};
use super::home::local;
use super::session::{Posted, SignedIn};
use super::view::{page, see_other, value, Frame, Lang};
use super::{PageError, PageResult};
use crate::domain::access::Role;
use crate::domain::schedule::{OccurrenceStatus, SEARCH_HISTORY_DAYS, SEARCH_HORIZON_DAYS};
use crate::domain::tokens::hash_token;
use crate::domain::window::{self, TimeOfDay};
use crate::domain::{cursor, FieldError};
use crate::mail::compose::map_url;
use crate::mail::written_time::{day_name, weekday_recurrence, written_clock};
use crate::ops::access::{readable_scope, visible_session};
use crate::ops::enrollments::{enrol as enrol_op, EnrolRequest, Enrolled};
use crate::ops::places::taken_in;
use crate::planning::schedule_of;
use crate::state::AppState;
use crate::store::clubs::address_line;
use crate::store::enrollments::Idempotency;
use crate::store::participants::ParticipantFilter;
use crate::store::sessions::Session;
use crate::store::sessions::{ListedOccurrence, OccurrenceSearch};

/// Results on one page.
const PAGE_SIZE: usize = 30;
const SEARCH_ZONE: Tz = chrono_tz::Europe::Paris;

#[derive(Serialize)]
struct Found {
    day: String,
    time: String,
    end: String,
    session_id: String,
    key: String,
    title: String,
    sport: String,
    club: String,
    address: String,
    map_url: String,
    places_left: i32,
    cancelled: bool,
}

fn found(lang: Lang, row: &ListedOccurrence) -> Found {
    let (day, time) = local(lang, row.start_at, &row.timezone);
    let (_, end) = local(lang, row.end_at, &row.timezone);
    let address = row
        .location
        .clone()
        .unwrap_or_else(|| address_line(&row.club_address, &row.club_postal_code, &row.city));
    Found {
        day,
        time,
        end,
        session_id: row.session_id.to_string(),
        key: row.occurrence_key.clone(),
        title: row.title.clone(),
        sport: row.sport.clone(),
        club: row.club_name.clone(),
        map_url: format!(
            "https://www.openstreetmap.org/search?query={}",
            urlencode(&address)
        ),
        address,
        places_left: if row.status == OccurrenceStatus::Cancelled {
            0
        } else {
            (row.capacity - row.taken).max(0)
        },
        cancelled: row.status == OccurrenceStatus::Cancelled,
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)])
        .map(|s| s.trim_start_matches("q=").to_owned())
        .unwrap_or_default()
}

/// A page's cursor: the last row shown, as the store orders them.
fn encode_cursor(row: &ListedOccurrence) -> String {
    cursor::encode(&(row.start_at, row.session_id, &row.occurrence_key))
}

#[handler]
pub async fn search(request: &Request, state: Data<&AppState>, me: SignedIn) -> PageResult {
    let frame = Frame::of(&me, request);
    let query = Fields::query(request);
    let mut errors = Errors::default();
    let now = crate::clock::now();
    let weekday = match query.opt("weekday") {
        None => None,
        Some(text) => match text.parse::<u32>().ok().filter(|d| (1..=7).contains(d)) {
            Some(day) => Some(day),
            None => {
                errors.add(FieldError::new(
                    "weekday",
                    "must be a day from 1 (Monday) to 7",
                ));
                None
            }
        },
    };
    let time_of_day = match query.opt("time_of_day") {
        None => None,
        Some(text) => match TimeOfDay::parse(&text) {
            Some(t) => Some(t),
            None => {
                errors.add(FieldError::new(
                    "time_of_day",
                    "must be morning, afternoon or evening",
                ));
                None
            }
        },
    };
    let window = match window::parse(
        query.opt("from").as_deref(),
        query.opt("to").as_deref(),
        SEARCH_ZONE,
        now,
    ) {
        Ok(window) => Some(window),
        Err(error) => {
            errors.add(error);
            None
        }
    };
    let window = window.filter(|w| {
        if w.from < now - Duration::days(SEARCH_HISTORY_DAYS) {
            errors.add(FieldError::new("from", "is too far back"));
            false
        } else if w.to > now + Duration::days(SEARCH_HORIZON_DAYS) {
            errors.add(FieldError::new("to", "is too far ahead"));
            false
        } else {
            true
        }
    });
    let mut results = Vec::new();
    let mut next = None;
    if let (Some(window), true) = (window, errors.is_empty()) {
        let mut search = OccurrenceSearch {
            from: window.from,
            to: window.to,
            sport: query.opt("sport"),
            city: query.opt("city"),
            club_id: None,
            with_places: query.ticked("with_places"),
            after: query.opt("cursor").and_then(|c| cursor::decode(&c).ok()),
            limit: 0,
        };
        // A day of the week or a part of the day: read only those hours, slice by slice,
        // each through the index, until the page is full (one more row says there is a
        // next page).
        for (from, to) in window::slices(window, weekday, time_of_day, SEARCH_ZONE) {
            if search.after.as_ref().is_some_and(|(at, _, _)| *at >= to) {
                continue;
            }
            search.from = from;
            search.to = to;
            search.limit = (PAGE_SIZE + 1 - results.len()) as i64;
            for row in state.store.search_occurrences(&search).await? {
                // Sessions kept in another zone than the search's: their own clock.
                let tz: Tz = row.timezone.parse().unwrap_or(SEARCH_ZONE);
                let at = row.start_at.with_timezone(&tz);
                if weekday.is_none_or(|d| at.weekday().number_from_monday() == d)
                    && time_of_day.is_none_or(|t| t.holds(at.hour()))
                {
                    results.push(row);
                }
            }
            if results.len() > PAGE_SIZE {
                break;
            }
        }
        if results.len() > PAGE_SIZE {
            results.truncate(PAGE_SIZE);
            next = results.last().map(encode_cursor);
        }
    }
    let mut next_query = query.clone();
    let next_url = next.map(|cursor| {
        next_query.set("cursor", cursor);
        format!(
            "/app/occurrences?{}",
            serde_urlencoded::to_string(&next_query).unwrap_or_default()
        )
    });
    let days: Vec<_> = (1..=7)
        .map(|d| {
            let weekday = chrono::Weekday::try_from((d - 1) as u8).unwrap_or(chrono::Weekday::Mon);
            context! { value => d.to_string(), name => day_name(me.lang, weekday) }
        })
        .collect();
    let results: Vec<Found> = results.iter().map(|r| found(me.lang, r)).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        &frame,
        status,
        "search.html",
        context! {
            q => value(&query),
            errors => value(errors),
            results => value(&results),
            next_url => next_url,
            days => days,
        },
    ))
}

/// Coming occurrences a session page shows.
const SESSION_WEEKS: i64 = 8;

#[handler]
pub async fn show_session(
    request: &Request,
    state: Data<&AppState>,
    me: SignedIn,
    Path(session_id): Path<String>,
) -> PageResult {
    let id = Uuid::parse_str(&session_id).map_err(|_| PageError::NotFound)?;
    let session = visible_session(&state.store, &me.caller, id).await?;
    // The club edits its own sessions here; another club's manager has no business here.
    if me.caller.manages_club(session.club_id) {
        return super::sessions::edit_form(request, &state, &me, &session).await;
    }
    if me.user.role == Role::ClubManager {
        return Err(PageError::Forbidden);
    }
    let frame = Frame::of(&me, request);
    let values = session_values(&state, &me, session, &Fields::query(request)).await?;
    Ok(page(
        &frame,
        StatusCode::OK,
        "session.html",
        context! { errors => value(Errors::default()), ..values },
    ))
}

/// Everything the session page shows; `query` holds the participant search.
async fn session_values(
    state: &AppState,
    me: &SignedIn,
    session: Session,
    query: &Fields,
) -> Result<minijinja::Value, PageError> {
    let club = state.store.club(session.club_id).await?;
    let schedule = schedule_of(&session).map_err(|e| PageError::Conflict(e.to_string()))?;
    let now = crate::clock::now();
    let overrides = state.store.overrides(session.id).await?;
    let occurrences = schedule.occurrences(
        session.capacity,
        &overrides,
        now,
        now + Duration::weeks(SESSION_WEEKS),
    );
    let taken = taken_in(&state.store, session.id, &occurrences).await?;
    let lang = me.lang;
    let coming: Vec<_> = occurrences
        .iter()
        .map(|o| {
            let (day, time) = local(lang, o.start, &session.timezone);
            let left = match o.status {
                OccurrenceStatus::Cancelled => 0,
                _ => (o.capacity - taken.get(&o.key).copied().unwrap_or(0)).max(0),
            };
            context! {
                key => o.key.to_string(),
                day => day,
                time => time,
                places_left => left,
                capacity => o.capacity,
                cancelled => o.status == OccurrenceStatus::Cancelled,
                moved => o.status == OccurrenceStatus::Moved,
            }
        })
        .collect();
    let weekly = session
        .rrule
        .as_deref()
        .is_some_and(|r| r.to_ascii_uppercase().contains("FREQ=WEEKLY"));
    let start_local = session.start_local;
    let rhythm = if weekly {
        Some(weekday_recurrence(lang, start_local.weekday()))
    } else {
        None
    };
    // A social worker picks among the people they follow.
    let can_enrol = me.user.role == Role::SocialWorker;
    let q = query.opt("q");
    let people: Vec<_> = match (&q, can_enrol) {
        (Some(name), true) => state
            .store
            .participants(&ParticipantFilter {
                structure_id: readable_scope(&me.caller)?,
                name: Some(name.clone()),
                after: None,
                limit: 20,
            })
            .await?
            .into_iter()
            .map(|p| {
                context! {
                    id => p.id.to_string(),
                    name => format!("{} {}", p.first_name, p.last_name),
                    code => p.code,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let address = session
        .location
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| club.address_line());
    Ok(context! {
        session => context! {
            id => session.id.to_string(),
            title => session.title.clone(),
            sport => session.sport.clone(),
            description => session.description.clone(),
            level => session.level.clone(),
            what_to_bring => session.what_to_bring.clone(),
            coach_name => session.coach_name.clone(),
            time => written_clock(lang, start_local.time()),
            duration => session.duration_minutes,
            rhythm => rhythm,
            capacity => session.capacity,
            status => session.status.as_str(),
        },
        club => context! {
            name => club.name.clone(),
            phone => club.contact_phone.clone(),
            email => club.contact_email.clone(),
            accessibility => club.accessibility_notes.clone(),
        },
        address => address.clone(),
        map_url => map_url(&club).unwrap_or_else(|| format!(
            "https://www.openstreetmap.org/search?query={}", urlencode(&address))),
        coming => coming,
        can_enrol => can_enrol,
        q => q,
        people => people,
        idempotency_key => Uuid::new_v4().to_string(),
    })
}

#[handler]
pub async fn enrol(
    request: &Request,
    state: Data<&AppState>,
    Path(session_id): Path<String>,
    form: Posted,
) -> PageResult {
    let Posted { me, fields } = form;
    let id = Uuid::parse_str(&session_id).map_err(|_| PageError::NotFound)?;
    let mut errors = Errors::default();
    let participant_id = match Uuid::parse_str(fields.get("participant_id")) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(FieldError::new(
                "participant_id",
                "choose the person to enrol",
            ));
            None
        }
    };
    if let Some(participant_id) = participant_id {
        let request_body = EnrolRequest {
            participant_id,
            session_id: id,
            occurrence_key: fields.opt("occurrence_key"),
            from: None,
        };
        // A form sent twice (a double tap, a reload) enrols once: the page's key.
        let idempotency = fields.opt("idempotency_key").map(|key| Idempotency {
            user_id: me.user.id,
            key: format!("web:{key}"),
            request_hash: hash_token(&format!(
                "{participant_id}|{id}|{}",
                request_body.occurrence_key.as_deref().unwrap_or("")
            )),
        });
        let enrolled = enrol_op(
            &state.store,
            &state.metrics,
            &me.caller,
            &request_body,
            idempotency.as_ref(),
            |placed| {
                (
                    201,
                    serde_json::json!({ "id": placed.enrollment.id }).to_string(),
                )
            },
        )
        .await;
        match enrolled {
            Ok(Enrolled::Created(placed)) => {
                return Ok(see_other(&format!(
                    "/app/participants/{participant_id}?enrolled={}",
                    placed.enrollment.id
                )));
            }
            Ok(Enrolled::Replayed { body, .. }) => {
                let enrollment = serde_json::from_str::<HashMap<String, serde_json::Value>>(&body)
                    .ok()
                    .and_then(|b| b.get("id").and_then(|v| v.as_str()).map(str::to_owned));
                return Ok(see_other(&match enrollment {
                    Some(e) => format!("/app/participants/{participant_id}?enrolled={e}"),
                    None => format!("/app/participants/{participant_id}"),
                }));
            }
            Err(error) => errors = Errors::from_op(error)?,
        }
    }
    let frame = Frame::of(&me, request);
    let session = visible_session(&state.store, &me.caller, id).await?;
    let values = session_values(&state, &me, session, &fields).await?;
    Ok(page(
        &frame,
        StatusCode::UNPROCESSABLE_ENTITY,
        "session.html",
        context! { errors => value(errors), chosen => fields.get("participant_id"), ..values },
    ))
}
