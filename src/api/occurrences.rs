use chrono::{DateTime, Duration, FixedOffset, Utc};
use chrono_tz::Tz;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{pagination, ApiTags, AppState};
use crate::domain::schedule::{
    Occurrence, OccurrenceStatus, SEARCH_HISTORY_DAYS, SEARCH_HORIZON_DAYS,
};
use crate::domain::window;
use crate::store::clubs::{address_line, Club};
use crate::store::sessions::{ListedOccurrence, OccurrenceSearch, Session};

/// Zone for reading date-only `from`/`to` in the cross-club search.
const SEARCH_TIMEZONE: Tz = chrono_tz::Europe::Paris;

/// One dated instance of a session.
#[derive(Object)]
pub struct OccurrenceView {
    /// The original start in UTC (`20260310T173000Z`); it never changes, even when the
    /// occurrence is moved.
    pub key: String,
    pub session_id: Uuid,
    pub club_id: Uuid,
    pub club_name: String,
    pub title: String,
    pub sport: String,
    pub city: String,
    pub location: String,
    /// Local start with its offset, e.g. `2026-03-10T18:30:00+01:00`.
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub timezone: String,
    pub status: OccurrenceStatus,
    pub capacity: i32,
    pub places_left: i32,
}

impl OccurrenceView {
    pub fn of_session(
        occurrence: &Occurrence,
        taken: i32,
        session: &Session,
        club: &Club,
        tz: Tz,
    ) -> Self {
        Self {
            key: occurrence.key.to_string(),
            session_id: session.id,
            club_id: club.id,
            club_name: club.name.clone(),
            title: session.title.clone(),
            sport: session.sport.clone(),
            city: club.city.clone(),
            location: session
                .location
                .clone()
                .unwrap_or_else(|| club.address_line()),
            start: local(occurrence.start, tz),
            end: local(occurrence.end, tz),
            timezone: session.timezone.clone(),
            status: occurrence.status,
            capacity: occurrence.capacity,
            places_left: places_left(occurrence.status, occurrence.capacity, taken),
        }
    }

    fn listed(row: ListedOccurrence) -> Self {
        let tz: Tz = row.timezone.parse().unwrap_or(SEARCH_TIMEZONE);
        let status = row.status;
        Self {
            key: row.occurrence_key,
            session_id: row.session_id,
            club_id: row.club_id,
            club_name: row.club_name,
            title: row.title,
            sport: row.sport,
            location: row.location.unwrap_or_else(|| {
                address_line(&row.club_address, &row.club_postal_code, &row.city)
            }),
            city: row.city,
            start: local(row.start_at, tz),
            end: local(row.end_at, tz),
            timezone: row.timezone,
            status,
            capacity: row.capacity,
            places_left: places_left(status, row.capacity, row.taken),
        }
    }
}

/// Places still open: none when cancelled, and never below zero when a lowered
/// capacity left the occurrence overbooked.
fn places_left(status: OccurrenceStatus, capacity: i32, taken: i32) -> i32 {
    match status {
        OccurrenceStatus::Cancelled => 0,
        _ => (capacity - taken).max(0),
    }
}

fn local(at: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    at.with_timezone(&tz).fixed_offset()
}

#[derive(Object)]
pub struct OccurrenceList {
    pub items: Vec<OccurrenceView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub struct OccurrencesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Occurrences")]
impl OccurrencesApi {
    /// Find occurrences across clubs (published sessions only), sorted by start, in a
    /// window of at most 366 days (default: the next 31). `from`/`to` are dates (Paris
    /// time, `to` inclusive) or RFC 3339 times.
    #[oai(
        path = "/occurrences",
        method = "get",
        operation_id = "search_occurrences"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        _auth: Auth,
        state: Data<&AppState>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
        sport: Query<Option<String>>,
        city: Query<Option<String>>,
        club_id: Query<Option<Uuid>>,
        /// Only occurrences that still have a place.
        with_places: Query<Option<bool>>,
        /// Page size, 1 to 500 (default 100).
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<OccurrenceList>, ApiError> {
        let now = crate::clock::now();
        let window = window::parse(from.0.as_deref(), to.0.as_deref(), SEARCH_TIMEZONE, now)?;
        check_within_search_range(window.from, window.to, now)?;
        let limit = pagination::limit(limit.0, 100, 500)?;
        let search = OccurrenceSearch {
            from: window.from,
            to: window.to,
            sport: sport.0.filter(|s| !s.trim().is_empty()),
            city: city.0.filter(|c| !c.trim().is_empty()),
            club_id: club_id.0,
            with_places: with_places.0.unwrap_or(false),
            after: cursor.0.as_deref().map(pagination::decode).transpose()?,
            limit: limit + 1,
        };
        let mut rows = state.store.search_occurrences(&search).await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last()
                .map(|r| pagination::encode(&(r.start_at, r.session_id, r.occurrence_key.clone())))
        } else {
            None
        };
        Ok(Json(OccurrenceList {
            items: rows.into_iter().map(OccurrenceView::listed).collect(),
            next_cursor,
        }))
    }
}

/// The search reads occurrences materialised from 400 days back to 18 months ahead.
fn check_within_search_range(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let earliest = now - Duration::days(SEARCH_HISTORY_DAYS);
    let latest = now + Duration::days(SEARCH_HORIZON_DAYS);
    if from < earliest {
        return Err(ApiError::invalid(
            "from",
            format!(
                "the search reaches back to {} at most",
                earliest.date_naive()
            ),
        ));
    }
    if to > latest {
        return Err(ApiError::invalid(
            "to",
            format!(
                "the search reaches {} at most; list one session's occurrences for later dates",
                latest.date_naive()
            ),
        ));
    }
    Ok(())
}
