//! From a stored session to its occurrences: shared by the API and the horizon job, so
//! the search always holds what the rule says; and what a session change means for its
//! enrollments and their calendars.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::schedule::{
    materialize, Occurrence, OccurrenceKey, Override, Schedule, ScheduleSpec,
};
use crate::domain::FieldError;
use crate::store::sessions::{Materialization, MaterializedOccurrence, Session};
use crate::store::{Store, StoreResult};

/// The schedule a stored session describes.
pub fn schedule_of(session: &Session) -> Result<Schedule, FieldError> {
    Schedule::new(&ScheduleSpec {
        timezone: &session.timezone,
        start: session.start_local,
        duration_minutes: session.duration_minutes,
        rrule: session.rrule.as_deref(),
        exdates: &session.exdates,
    })
}

/// One occurrence of a session as it stands: its rule, moved or cancelled by override.
pub async fn occurrence_of(
    store: &Store,
    session: &Session,
    schedule: &Schedule,
    key: OccurrenceKey,
) -> StoreResult<Occurrence> {
    let overrides = store.overrides(session.id).await?;
    Ok(schedule.apply(
        key,
        session.capacity,
        overrides.iter().find(|o| o.key == key),
    ))
}

/// The rows the cross-club search holds for `session` at `now`; sets how far they reach.
pub fn search_rows(
    session: &mut Session,
    schedule: &Schedule,
    overrides: &[Override],
    now: DateTime<Utc>,
) -> Vec<MaterializedOccurrence> {
    let (occurrences, until) = materialize(schedule, session.capacity, overrides, now);
    session.materialized_until = until;
    occurrences
        .into_iter()
        .map(|o| MaterializedOccurrence {
            key: o.key,
            start: o.start,
            end: o.end,
            status: o.status.as_str(),
            capacity: o.capacity,
        })
        .collect()
}

/// Recomputes the search rows of one session, e.g. when the horizon moves on.
pub async fn refresh_search_rows(
    store: &Store,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut session = store.session(session_id).await?;
    let club = store.club(session.club_id).await?;
    let overrides = store.overrides(session_id).await?;
    let Ok(schedule) = schedule_of(&session) else {
        tracing::error!(%session_id, "stored session has an invalid schedule");
        return Ok(false);
    };
    let rows = search_rows(&mut session, &schedule, &overrides, now);
    store
        .refresh_occurrences(&Materialization {
            session: &session,
            club_city: &club.city,
            occurrences: &rows,
        })
        .await
}

/// Whether a change reaches what a participant's calendar shows.
pub fn calendar_fields_differ(before: &Session, after: &Session) -> bool {
    before.title != after.title
        || before.sport != after.sport
        || before.location != after.location
        || before.timezone != after.timezone
        || before.start_local != after.start_local
        || before.duration_minutes != after.duration_minutes
        || before.rrule != after.rrule
        || before.exdates != after.exdates
        || before.what_to_bring != after.what_to_bring
}
