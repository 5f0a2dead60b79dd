//! Calendar subscriptions: a participant's own feed (behind a long random secret) and a
//! club's public feed of published sessions (no personal data). Both answer an ETag and
//! 304 to a matching `If-None-Match`, so subscribed clients poll cheaply.

use chrono::{DateTime, Utc};
use poem::http::{header, StatusCode};
use poem::web::{Data, Path};
use poem::{handler, Request, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::domain::calendar::{self, Method};
use crate::domain::invite;
use crate::domain::schedule::OccurrenceKey;
use crate::mail::compose::{map_url, summary, Facts, PRODID};
use crate::mail::lang::Lang;
use crate::planning::schedule_of;
use crate::store::StoreError;

fn ics_name(file: &str) -> Result<&str, ApiError> {
    file.strip_suffix(".ics")
        .filter(|stem| !stem.is_empty())
        .ok_or(ApiError::NotFound("calendar"))
}

/// The feed, or 304 when the client already has this version.
fn respond(request: &Request, body: String) -> Response {
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let matches = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| {
            given
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let response = if matches {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .finish()
    } else {
        Response::builder()
            .content_type("text/calendar; charset=utf-8")
            .body(body)
    };
    let mut response = response;
    if let Ok(value) = etag.parse() {
        response.headers_mut().insert(header::ETAG, value);
    }
    if let Ok(value) = "private, max-age=300".parse() {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// A participant's confirmed enrollments, each as the object their invitations carry.
#[handler]
pub async fn participant_feed(
    request: &Request,
    state: Data<&AppState>,
    file: Path<String>,
) -> Result<Response, ApiError> {
    let token = ics_name(&file.0)?;
    let participant_id = match state.store.participant_by_feed_token(token).await {
        Ok(id) => id,
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("calendar")),
        Err(e) => return Err(e.into()),
    };
    let enrollments = state.store.confirmed_enrollments_of(participant_id).await?;
    let ids: Vec<Uuid> = enrollments.iter().map(|(id, _)| *id).collect();
    let facts = Facts::load_many(&state.store, &ids).await?;
    let mut events = Vec::new();
    let mut stamp: Option<DateTime<Utc>> = None;
    for (enrollment_id, sequence) in enrollments {
        let Some(facts) = facts.get(&enrollment_id) else {
            continue;
        };
        let Some(timing) = facts.timing() else {
            continue;
        };
        let lang = Lang::parse(&facts.participant.language).unwrap_or(Lang::Fr);
        let changed = facts
            .enrollment
            .updated_at
            .max(facts.place.session.updated_at)
            .max(facts.place.club.updated_at);
        stamp = Some(stamp.map_or(changed, |s| s.max(changed)));
        // No next occurrence: RSVP links would change the body with every week, and a
        // feed keeps one body until something changes.
        events.push(
            state
                .mailer
                .event(facts, timing, sequence, Method::Request, lang, None),
        );
    }
    let body = calendar::write(&calendar::Calendar {
        method: None,
        prodid: PRODID,
        name: Some("Séances sport"),
        dtstamp: stamp.unwrap_or(DateTime::UNIX_EPOCH),
        events: &events,
    });
    Ok(respond(request, body))
}

/// A club's published sessions, for anyone to subscribe to: no personal data.
#[handler]
pub async fn club_feed(
    request: &Request,
    state: Data<&AppState>,
    file: Path<String>,
) -> Result<Response, ApiError> {
    let club_id: Uuid = ics_name(&file.0)?
        .parse()
        .map_err(|_| ApiError::NotFound("club"))?;
    let club = match state.store.club(club_id).await {
        Ok(club) => club,
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("club")),
        Err(e) => return Err(e.into()),
    };
    let mut events = Vec::new();
    let mut stamp = club.updated_at;
    for session in state.store.published_sessions_of(club.id).await? {
        let Ok(schedule) = schedule_of(&session) else {
            continue;
        };
        let Some(first) = schedule.first_start() else {
            continue;
        };
        let overrides = state.store.overrides(session.id).await?;
        let Some(timing) = invite::series(
            &schedule,
            session.rrule.as_deref(),
            &overrides,
            OccurrenceKey::new(first),
        ) else {
            continue;
        };
        stamp = stamp.max(session.updated_at);
        let mut description = vec![session.title.clone()];
        description.extend(session.description.clone());
        description.extend(session.what_to_bring.clone());
        description.extend(club.contact_phone.clone());
        description.extend(club.contact_email.clone());
        events.push(calendar::Event {
            uid: format!("session-{}@{}", session.id.simple(), state.mailer.domain),
            sequence: session.sequence,
            summary: summary(&session.sport, &club.name),
            description: description.join("\n"),
            location: session
                .location
                .clone()
                .unwrap_or_else(|| club.address_line()),
            geo: club.latitude.zip(club.longitude),
            url: map_url(&club),
            timezone: schedule.timezone(),
            start_local: timing.start_local,
            duration_minutes: timing.duration_minutes,
            rrule: timing.rrule,
            last_start_local: timing.last_start_local,
            exdates_local: timing.exdates_local,
            overrides: timing.overrides,
            status: if timing.cancelled {
                calendar::EventStatus::Cancelled
            } else {
                calendar::EventStatus::Confirmed
            },
            organizer: None,
            attendee: None,
        });
    }
    let body = calendar::write(&calendar::Calendar {
        method: None,
        prodid: PRODID,
        name: Some(&club.name),
        dtstamp: stamp,
        events: &events,
    });
    Ok(respond(request, body))
}
