//! The timing of an enrollment's calendar object: which occurrences a participant's
//! calendar must show, written as RFC 5545 expects them (DTSTART, RRULE, EXDATE and
//! overrides by RECURRENCE-ID), so a client expanding it sees what the API shows.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::calendar::EventOverride;
use super::schedule::{OccurrenceKey, OccurrenceStatus, Override, Schedule};

/// When an event happens, in its zone's wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start_local: NaiveDateTime,
    pub duration_minutes: i32,
    pub rrule: Option<String>,
    pub last_start_local: Option<NaiveDateTime>,
    pub exdates_local: Vec<NaiveDateTime>,
    pub overrides: Vec<EventOverride>,
    /// The single occurrence is cancelled (an occurrence enrollment).
    pub cancelled: bool,
}

/// How far ahead a finite rule is walked to find its last occurrence.
const FINITE_REACH_DAYS: i64 = 6 * 366;

fn local(schedule: &Schedule, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&schedule.timezone()).naive_local()
}

fn minutes(duration: Duration) -> i32 {
    i32::try_from(duration.num_minutes()).unwrap_or(i32::MAX)
}

/// A whole session from `from` on. `None` when the rule has no occurrence left there.
pub fn series(
    schedule: &Schedule,
    rule: Option<&str>,
    overrides: &[Override],
    from: OccurrenceKey,
) -> Option<Timing> {
    let from_at = from.original_start();
    let far = from_at + Duration::days(FINITE_REACH_DAYS);
    let first = schedule.planned_starts(from_at, far).next()?;
    let rule = rule.map(str::trim).filter(|r| !r.is_empty());
    let Some(rule) = rule else {
        // A single session: moved or cancelled in place.
        let key = OccurrenceKey::new(first);
        let change = overrides.iter().find(|o| o.key == key);
        return Some(one_occurrence(schedule, key, change));
    };
    let last = schedule
        .is_finite()
        .then(|| schedule.planned_starts(first, far).last())
        .flatten();
    let mut exdates_local: Vec<NaiveDateTime> = Vec::new();
    let mut moved = Vec::new();
    for change in overrides.iter().filter(|o| o.key >= from) {
        if !schedule.has_occurrence(change.key) {
            continue;
        }
        let occurrence = schedule.apply(change.key, 1, Some(change));
        let original = local(schedule, change.key.original_start());
        match occurrence.status {
            OccurrenceStatus::Cancelled => exdates_local.push(original),
            OccurrenceStatus::Moved => moved.push(EventOverride {
                recurrence_id_local: original,
                start_local: local(schedule, occurrence.start),
                duration_minutes: minutes(occurrence.end - occurrence.start),
            }),
            OccurrenceStatus::Scheduled => {}
        }
    }
    exdates_local.extend(
        schedule
            .excluded_locals()
            .filter(|d| schedule.resolve(*d) > first),
    );
    Some(Timing {
        start_local: local(schedule, first),
        duration_minutes: minutes(schedule.duration()),
        rrule: Some(bounded_rule(rule, last)),
        last_start_local: last.map(|at| local(schedule, at)),
        exdates_local,
        overrides: moved,
        cancelled: false,
    })
}

/// One occurrence, with its override applied.
pub fn one_occurrence(
    schedule: &Schedule,
    key: OccurrenceKey,
    change: Option<&Override>,
) -> Timing {
    let occurrence = schedule.apply(key, 1, change);
    Timing {
        start_local: local(schedule, occurrence.start),
        duration_minutes: minutes(occurrence.end - occurrence.start),
        rrule: None,
        last_start_local: None,
        exdates_local: Vec::new(),
        overrides: Vec::new(),
        cancelled: occurrence.status == OccurrenceStatus::Cancelled,
    }
}

/// The session's rule from a later DTSTART: COUNT would count again from there, and an
/// UNTIL written as a local date is not what RFC 5545 allows with a TZID, so both become
/// UNTIL at the last occurrence, in UTC.
pub fn bounded_rule(rule: &str, last: Option<DateTime<Utc>>) -> String {
    let rule = rule
        .strip_prefix("RRULE:")
        .or_else(|| rule.strip_prefix("rrule:"))
        .unwrap_or(rule);
    let mut parts: Vec<String> = rule
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .filter(|part| {
            let name = part.split('=').next().unwrap_or("").to_ascii_uppercase();
            name != "COUNT" && name != "UNTIL"
        })
        .map(str::to_owned)
        .collect();
    if let Some(last) = last {
        parts.push(format!("UNTIL={}", last.format("%Y%m%dT%H%M%SZ")));
    }
    parts.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::ScheduleSpec;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn weekly(rule: &str, exdates: &[NaiveDateTime]) -> Schedule {
        Schedule::new(&ScheduleSpec {
            timezone: "Europe/Paris",
            start: at(2026, 3, 3, 18, 30),
            duration_minutes: 90,
            rrule: Some(rule),
            exdates,
        })
        .unwrap()
    }

    fn key(local: NaiveDateTime, schedule: &Schedule) -> OccurrenceKey {
        OccurrenceKey::new(schedule.resolve(local))
    }

    #[test]
    fn count_becomes_until_at_the_last_occurrence() {
        let schedule = weekly("FREQ=WEEKLY;BYDAY=TU;COUNT=4", &[]);
        let from = key(at(2026, 3, 10, 18, 30), &schedule);
        let timing = series(&schedule, Some("FREQ=WEEKLY;BYDAY=TU;COUNT=4"), &[], from).unwrap();
        assert_eq!(timing.start_local, at(2026, 3, 10, 18, 30));
        // 24 March 18:30 in Paris is 17:30 UTC (winter time).
        assert_eq!(
            timing.rrule.as_deref(),
            Some("FREQ=WEEKLY;BYDAY=TU;UNTIL=20260324T173000Z")
        );
        assert_eq!(timing.last_start_local, Some(at(2026, 3, 24, 18, 30)));
    }

    #[test]
    fn open_rule_stays_open_and_overrides_become_exdates_and_moves() {
        let rule = "FREQ=WEEKLY;BYDAY=TU";
        let schedule = weekly(rule, &[at(2026, 3, 17, 18, 30)]);
        let mut cancelled = Override::new(key(at(2026, 3, 24, 18, 30), &schedule));
        cancelled.cancelled = true;
        let mut moved = Override::new(key(at(2026, 3, 31, 18, 30), &schedule));
        moved.start = Some(schedule.resolve(at(2026, 4, 1, 19, 0)));
        let before = {
            let mut o = Override::new(key(at(2026, 3, 3, 18, 30), &schedule));
            o.cancelled = true;
            o
        };
        let from = key(at(2026, 3, 10, 18, 30), &schedule);
        let timing = series(&schedule, Some(rule), &[cancelled, moved, before], from).unwrap();
        assert_eq!(timing.rrule.as_deref(), Some(rule));
        assert_eq!(timing.last_start_local, None);
        let mut exdates = timing.exdates_local.clone();
        exdates.sort();
        assert_eq!(
            exdates,
            vec![at(2026, 3, 17, 18, 30), at(2026, 3, 24, 18, 30)]
        );
        assert_eq!(
            timing.overrides,
            vec![EventOverride {
                recurrence_id_local: at(2026, 3, 31, 18, 30),
                start_local: at(2026, 4, 1, 19, 0),
                duration_minutes: 90,
            }]
        );
    }

    #[test]
    fn a_cancelled_single_occurrence_says_so() {
        let schedule = weekly("FREQ=WEEKLY;BYDAY=TU", &[]);
        let k = key(at(2026, 3, 10, 18, 30), &schedule);
        let mut change = Override::new(k);
        change.cancelled = true;
        assert!(one_occurrence(&schedule, k, Some(&change)).cancelled);
        assert!(!one_occurrence(&schedule, k, None).cancelled);
    }

    #[test]
    fn local_until_is_rewritten_in_utc() {
        assert_eq!(
            bounded_rule("RRULE:FREQ=DAILY;UNTIL=20260630", None),
            "FREQ=DAILY"
        );
    }
}
