//! Places: which occurrences an enrollment needs, and when it may be taken.
//!
//! For each occurrence: confirmed series enrollments covering it + confirmed occurrence
//! enrollments for it ≤ capacity. A series enrollment is confirmed only if every
//! upcoming occurrence it covers (up to the rule's end, or the next 26 weeks for an
//! open-ended rule) still has a place; otherwise it waits, first come, first served.

use chrono::{DateTime, Duration, Utc};

use super::schedule::{OccurrenceKey, OccurrenceStatus, Schedule};
use super::FieldError;

/// How far ahead an open-ended series enrollment must fit.
pub const SERIES_CHECK_WEEKS: i64 = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Series,
    Occurrence,
}

impl Scope {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Series => "series",
            Self::Occurrence => "occurrence",
        }
    }
}

/// The occurrences whose places an enrollment needs, as a key range `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceRange {
    pub from: OccurrenceKey,
    pub until: OccurrenceKey,
}

impl PlaceRange {
    pub fn one(key: OccurrenceKey) -> Self {
        Self {
            from: key,
            until: OccurrenceKey::new(key.original_start() + Duration::seconds(1)),
        }
    }

    /// What a series starting at `from` must fit when checked at `now`.
    pub fn series(from: OccurrenceKey, now: DateTime<Utc>) -> Self {
        let start = from.original_start().max(now);
        Self {
            from,
            until: OccurrenceKey::new(start + Duration::weeks(SERIES_CHECK_WEEKS)),
        }
    }
}

/// Enrollment in an occurrence closes this long before it starts.
pub fn closes_at(start: DateTime<Utc>, closes_hours_before: i32) -> DateTime<Utc> {
    start - Duration::hours(closes_hours_before.into())
}

/// The occurrence a one-off enrollment is for: it must exist, not be cancelled, and
/// still be open.
pub fn occurrence_open(
    schedule: &Schedule,
    key: OccurrenceKey,
    start: DateTime<Utc>,
    status: OccurrenceStatus,
    closes_hours_before: i32,
    now: DateTime<Utc>,
) -> Result<(), FieldError> {
    if !schedule.has_occurrence(key) {
        return Err(FieldError::new(
            "occurrence_key",
            "no occurrence of this session has this key",
        ));
    }
    if status == OccurrenceStatus::Cancelled {
        return Err(FieldError::new(
            "occurrence_key",
            "this occurrence is cancelled",
        ));
    }
    if now >= closes_at(start, closes_hours_before) {
        return Err(FieldError::new(
            "occurrence_key",
            format!("enrollment closed {closes_hours_before} h before the start"),
        ));
    }
    Ok(())
}

/// The key a series enrollment starts from: the first occurrence at or after
/// `not_before` that is not cancelled and still open at `now`.
pub fn series_start(
    schedule: &Schedule,
    capacity: i32,
    overrides: &[super::schedule::Override],
    not_before: DateTime<Utc>,
    closes_hours_before: i32,
    now: DateTime<Utc>,
) -> Result<OccurrenceKey, FieldError> {
    // Look a few weeks at a time: the next open occurrence is nearly always close.
    let mut window_start = not_before;
    let last = not_before.max(now) + Duration::weeks(SERIES_CHECK_WEEKS * 2);
    while window_start < last {
        let window_end = window_start + Duration::weeks(5);
        let found = schedule
            .occurrences(capacity, overrides, window_start, window_end)
            .into_iter()
            .find(|o| {
                o.key.original_start() >= not_before
                    && o.status != OccurrenceStatus::Cancelled
                    && now < closes_at(o.start, closes_hours_before)
            });
        if let Some(occurrence) = found {
            return Ok(occurrence.key);
        }
        window_start = window_end;
    }
    Err(FieldError::new(
        "session_id",
        "this session has no upcoming occurrence open for enrollment",
    ))
}

/// Whether a request fits: none of the occurrences it needs is full.
pub fn fits(full_occurrences: i64) -> bool {
    full_occurrences == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::ScheduleSpec;
    use chrono::NaiveDateTime;

    fn weekly() -> Schedule {
        Schedule::new(&ScheduleSpec {
            timezone: "Europe/Paris",
            start: NaiveDateTime::parse_from_str("2026-03-10T18:30:00", "%Y-%m-%dT%H:%M:%S")
                .unwrap(),
            duration_minutes: 90,
            rrule: Some("FREQ=WEEKLY;BYDAY=TU"),
            exdates: &[],
        })
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_series_starts_at_the_next_open_occurrence() {
        let schedule = weekly();
        // Tuesday 17 March 17:00 Paris: the 18:30 occurrence closes at 16:30.
        let now = at("2026-03-17T16:00:00Z");
        let key = series_start(&schedule, 6, &[], now, 2, now).unwrap();
        assert_eq!(key.to_string(), "20260324T173000Z");
        let earlier = at("2026-03-17T10:00:00Z");
        assert_eq!(
            series_start(&schedule, 6, &[], earlier, 2, earlier)
                .unwrap()
                .to_string(),
            "20260317T173000Z"
        );
    }

    #[test]
    fn a_cancelled_next_occurrence_is_skipped() {
        let schedule = weekly();
        let now = at("2026-03-16T10:00:00Z");
        let mut cancelled =
            crate::domain::schedule::Override::new("20260317T173000Z".parse().unwrap());
        cancelled.cancelled = true;
        let key = series_start(&schedule, 6, &[cancelled], now, 2, now).unwrap();
        assert_eq!(key.to_string(), "20260324T173000Z");
    }

    #[test]
    fn one_off_enrollment_closes_before_the_start() {
        let schedule = weekly();
        let key: OccurrenceKey = "20260317T173000Z".parse().unwrap();
        let start = key.original_start();
        let open = occurrence_open(
            &schedule,
            key,
            start,
            OccurrenceStatus::Scheduled,
            2,
            at("2026-03-17T15:00:00Z"),
        );
        assert!(open.is_ok());
        let closed = occurrence_open(
            &schedule,
            key,
            start,
            OccurrenceStatus::Scheduled,
            2,
            at("2026-03-17T15:30:00Z"),
        );
        assert_eq!(closed.unwrap_err().field, "occurrence_key");
        let cancelled = occurrence_open(
            &schedule,
            key,
            start,
            OccurrenceStatus::Cancelled,
            2,
            at("2026-03-10T00:00:00Z"),
        );
        assert!(cancelled.is_err());
        let unknown = occurrence_open(
            &schedule,
            "20260318T173000Z".parse().unwrap(),
            start,
            OccurrenceStatus::Scheduled,
            2,
            at("2026-03-10T00:00:00Z"),
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn series_ranges_reach_26_weeks_past_now() {
        let from: OccurrenceKey = "20260317T173000Z".parse().unwrap();
        let range = PlaceRange::series(from, at("2026-03-01T00:00:00Z"));
        assert_eq!(range.until.to_string(), "20260915T173000Z");
        let one = PlaceRange::one(from);
        assert_eq!(one.until.to_string(), "20260317T173001Z");
        assert!(fits(0));
        assert!(!fits(1));
    }
}
