//! Places: which occurrences an enrollment needs, and when it may be taken.
//!
//! The one rule, for each occurrence:
//!
//! taken = confirmed series enrollments covering it + confirmed enrollments for that
//! occurrence − "I can't come" answers for it, and nobody new is confirmed where
//! taken ≥ capacity.
//!
//! A series enrollment is confirmed only if every upcoming occurrence it covers still
//! has a place; otherwise it waits, first come, first served. The store writes the
//! count in one statement (`Tx::recount_places`); [`taken`] is the same rule over
//! rows in memory, for whoever must check it.

use chrono::{DateTime, Duration, Utc};

use super::schedule::{OccurrenceKey, OccurrenceStatus, Schedule};
use super::FieldError;

/// A one-off place, or the first occurrence of a series, can be taken this many days
/// ahead (the occurrences are stored further ahead than that, so every place anyone
/// can take is counted).
pub const ENROLLMENT_OPENS_DAYS: i64 = 365;

/// How far an enrollment reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Scope {
    /// Every occurrence from `from_key` on.
    Series,
    /// One occurrence.
    Occurrence,
}

super::text_enum!(Scope {
    Series = "series",
    Occurrence = "occurrence",
});

/// Where an enrollment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    /// Holds a place.
    Confirmed,
    /// Waits for one, first come, first served.
    Waitlisted,
    Cancelled,
}

super::text_enum!(EnrollmentStatus {
    Confirmed = "confirmed",
    Waitlisted = "waitlisted",
    Cancelled = "cancelled",
});

impl EnrollmentStatus {
    pub fn is_active(&self) -> bool {
        *self != Self::Cancelled
    }
}

/// Whether an enrollment of `scope` starting at `from` covers occurrence `key`.
pub fn covers(scope: Scope, from: OccurrenceKey, key: OccurrenceKey) -> bool {
    match scope {
        Scope::Series => from <= key,
        Scope::Occurrence => from == key,
    }
}

/// A confirmed enrollment as the rule sees it, and the occurrences it declined.
#[derive(Debug, Clone)]
pub struct Holder {
    pub scope: Scope,
    pub from: OccurrenceKey,
    pub declined: Vec<OccurrenceKey>,
}

/// Places taken in occurrence `key` by the confirmed enrollments `holders`.
pub fn taken(holders: &[Holder], key: OccurrenceKey) -> i32 {
    holders
        .iter()
        .filter(|h| covers(h.scope, h.from, key) && !h.declined.contains(&key))
        .count() as i32
}

/// The occurrences whose places an enrollment needs: occurrence `from` (`one`), or
/// every stored occurrence from `from` on (a series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceRange {
    pub from: OccurrenceKey,
    /// A single occurrence must exist and not be cancelled to be given a place.
    pub one: bool,
}

impl PlaceRange {
    pub fn one(key: OccurrenceKey) -> Self {
        Self {
            from: key,
            one: true,
        }
    }

    /// What a series starting at `from` must fit when checked at `now`: the upcoming
    /// occurrences it covers (those already past no longer need a place).
    pub fn series(from: OccurrenceKey, now: DateTime<Utc>) -> Self {
        Self {
            from: from.max(OccurrenceKey::new(now)),
            one: false,
        }
    }

    pub fn of(scope: Scope, from: OccurrenceKey, now: DateTime<Utc>) -> Self {
        match scope {
            Scope::Series => Self::series(from, now),
            Scope::Occurrence => Self::one(from),
        }
    }
}

/// A place in the occurrence starting at `start` can be taken from
/// [`ENROLLMENT_OPENS_DAYS`] before; earlier, the error says from when.
pub fn within_reach(
    field: &str,
    start: DateTime<Utc>,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), FieldError> {
    let opens = start - Duration::days(ENROLLMENT_OPENS_DAYS);
    if now >= opens {
        return Ok(());
    }
    let day = opens.with_timezone(&schedule.timezone()).date_naive();
    Err(FieldError::new(
        field,
        format!(
            "enrollment in this occurrence opens on {day}, {ENROLLMENT_OPENS_DAYS} days before it"
        ),
    ))
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
    let last = not_before.max(now) + Duration::weeks(52);
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
    fn a_series_needs_every_upcoming_occurrence_and_a_one_off_its_own() {
        let from: OccurrenceKey = "20260317T173000Z".parse().unwrap();
        let range = PlaceRange::series(from, at("2026-03-01T00:00:00Z"));
        assert_eq!((range.from, range.one), (from, false));
        // Checked later, the occurrences already past need no place any more.
        let later = PlaceRange::series(from, at("2026-04-01T00:00:00Z"));
        assert_eq!(later.from.to_string(), "20260401T000000Z");
        assert!(PlaceRange::one(from).one);
    }

    #[test]
    fn taken_counts_covering_holders_minus_their_declines() {
        let key = |s: &str| s.parse::<OccurrenceKey>().unwrap();
        let holders = [
            Holder {
                scope: Scope::Series,
                from: key("20260310T173000Z"),
                declined: vec![key("20260324T173000Z")],
            },
            Holder {
                scope: Scope::Series,
                from: key("20260324T173000Z"),
                declined: vec![],
            },
            Holder {
                scope: Scope::Occurrence,
                from: key("20260317T173000Z"),
                declined: vec![],
            },
        ];
        assert_eq!(taken(&holders, key("20260310T173000Z")), 1);
        assert_eq!(taken(&holders, key("20260317T173000Z")), 2);
        assert_eq!(taken(&holders, key("20260324T173000Z")), 1);
        assert_eq!(taken(&holders, key("20260331T173000Z")), 2);
    }

    #[test]
    fn a_place_too_far_ahead_says_when_it_opens() {
        let schedule = weekly();
        let now = at("2026-03-01T12:00:00Z");
        assert!(within_reach("occurrence_key", at("2027-02-20T17:30:00Z"), &schedule, now).is_ok());
        let refused =
            within_reach("occurrence_key", at("2027-03-16T17:30:00Z"), &schedule, now).unwrap_err();
        assert_eq!(refused.field, "occurrence_key");
        assert!(
            refused.message.contains("2026-03-16"),
            "{}",
            refused.message
        );
    }
}
