//! When a session happens: the rule, its time zone and its per-occurrence overrides.
//!
//! The rule is expanded in *floating* local time (the rrule crate sees the local wall
//! clock as if it were UTC) and every local time is then placed in the session's zone by
//! [`resolve_local`]. Doing the zone step ourselves keeps one explicit policy for
//! daylight-saving edges (RFC 5545 §3.3.5): a local time in a gap is read with the
//! offset in force before the gap, an ambiguous one takes its first instant.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

use super::FieldError;

/// Allowed session lengths, in minutes.
pub const DURATION_RANGE: std::ops::RangeInclusive<i32> = 15..=600;
/// Allowed places per occurrence.
pub const CAPACITY_RANGE: std::ops::RangeInclusive<i32> = 1..=500;
/// How far ahead a session may start.
pub const MAX_YEARS_AHEAD: i32 = 5;

/// The identity of one occurrence: its *original* start in UTC, as iCalendar writes a
/// RECURRENCE-ID (`20260310T173000Z`). Moving the occurrence never changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurrenceKey(DateTime<Utc>);

impl OccurrenceKey {
    pub const FORMAT: &'static str = "%Y%m%dT%H%M%SZ";

    pub fn new(original_start: DateTime<Utc>) -> Self {
        Self(original_start)
    }

    pub fn original_start(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for OccurrenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(Self::FORMAT))
    }
}

impl FromStr for OccurrenceKey {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDateTime::parse_from_str(s, Self::FORMAT)
            .ok()
            .filter(|_| s.len() == 16)
            .map(|naive| Self(naive.and_utc()))
            .ok_or_else(|| {
                FieldError::new(
                    "key",
                    "expected the occurrence's original start in UTC, like 20260310T173000Z",
                )
            })
    }
}

/// Whether an occurrence happens as planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    Scheduled,
    /// Takes place at another time (or for another length) than the rule says.
    Moved,
    Cancelled,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Visible to its club only.
    Draft,
    /// Listed, open for enrollment.
    Published,
    /// Over for good: its enrollments are cancelled.
    Cancelled,
}

super::text_enum!(SessionStatus {
    Draft = "draft",
    Published = "published",
    Cancelled = "cancelled",
});

super::text_enum!(OccurrenceStatus {
    Scheduled = "scheduled",
    Moved = "moved",
    Cancelled = "cancelled",
});

/// A change to one occurrence, kept by key so the rule itself stays untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: OccurrenceKey,
    pub cancelled: bool,
    /// New start, when the occurrence was moved.
    pub start: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub capacity: Option<i32>,
}

impl Override {
    pub fn new(key: OccurrenceKey) -> Self {
        Self {
            key,
            cancelled: false,
            start: None,
            duration_minutes: None,
            capacity: None,
        }
    }

    /// An override that changes nothing any more can be forgotten.
    pub fn is_noop(&self) -> bool {
        !self.cancelled
            && self.start.is_none()
            && self.duration_minutes.is_none()
            && self.capacity.is_none()
    }
}

/// One dated instance of a session, overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub key: OccurrenceKey,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: OccurrenceStatus,
    pub capacity: i32,
}

/// A validated schedule: everything needed to list a session's occurrences.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: Tz,
    start: NaiveDateTime,
    duration: Duration,
    rule: Option<RRuleSet>,
    exdates: BTreeSet<NaiveDateTime>,
}

/// What a session says about its timing, as written by its club.
#[derive(Debug, Clone)]
pub struct ScheduleSpec<'a> {
    pub timezone: &'a str,
    pub start: NaiveDateTime,
    pub duration_minutes: i32,
    pub rrule: Option<&'a str>,
    pub exdates: &'a [NaiveDateTime],
}

impl Schedule {
    /// Validates a schedule as a club wrote it.
    pub fn new(spec: &ScheduleSpec<'_>) -> Result<Self, FieldError> {
        let tz = parse_timezone(spec.timezone)?;
        check_duration(spec.duration_minutes)?;
        let rule = spec
            .rrule
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| build_rule(text, tz, spec.start))
            .transpose()?;
        let schedule = Self {
            tz,
            start: spec.start,
            duration: Duration::minutes(spec.duration_minutes.into()),
            rule,
            exdates: spec.exdates.iter().copied().collect(),
        };
        schedule.check_first_occurrence()?;
        Ok(schedule)
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The first planned start, in UTC (before any override).
    pub fn first_start(&self) -> Option<DateTime<Utc>> {
        self.local_starts(None)
            .next()
            .map(|local| resolve_local(self.tz, local))
    }

    /// Whether the schedule ends (single session, COUNT or UNTIL).
    pub fn is_finite(&self) -> bool {
        match &self.rule {
            None => true,
            Some(set) => set
                .get_rrule()
                .iter()
                .all(|r| r.get_count().is_some() || r.get_until().is_some()),
        }
    }

    /// Whether `key` is one of the occurrences the rule produces.
    pub fn has_occurrence(&self, key: OccurrenceKey) -> bool {
        let at = key.original_start();
        self.planned_starts(at, at + Duration::seconds(1))
            .any(|start| start == at)
    }

    /// Original starts in `[from, to)`, from the rule alone.
    pub fn planned_starts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        // UTC offsets stay within ±14 h, so a day of margin in local time covers them.
        let local_from = from.naive_utc() - Duration::days(1);
        let local_to = to.naive_utc() + Duration::days(1);
        // Local times in a spring-forward gap land on the instant of a later local time;
        // RFC 5545 ignores such duplicate instances.
        let mut previous = None;
        self.local_starts(Some(local_from))
            .take_while(move |local| *local < local_to)
            .map(|local| resolve_local(self.tz, local))
            .filter(move |start| previous.replace(*start) != Some(*start))
            .filter(move |start| *start >= from && *start < to)
    }

    /// The occurrences whose (possibly moved) start falls in `[from, to)`, sorted by start.
    /// Overrides whose key the rule does not produce are ignored.
    pub fn occurrences(
        &self,
        capacity: i32,
        overrides: &[Override],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Occurrence> {
        let by_key: std::collections::HashMap<OccurrenceKey, &Override> =
            overrides.iter().map(|o| (o.key, o)).collect();
        let mut found: Vec<Occurrence> = self
            .planned_starts(from, to)
            .map(|start| {
                self.apply(
                    OccurrenceKey::new(start),
                    capacity,
                    by_key.get(&OccurrenceKey::new(start)).copied(),
                )
            })
            .collect();
        let listed: BTreeSet<OccurrenceKey> = found.iter().map(|o| o.key).collect();
        // Occurrences moved into the window from outside it.
        for moved in overrides
            .iter()
            .filter(|o| o.start.is_some() && !listed.contains(&o.key))
        {
            if self.has_occurrence(moved.key) {
                found.push(self.apply(moved.key, capacity, Some(moved)));
            }
        }
        found.retain(|o| o.start >= from && o.start < to);
        found.sort_by_key(|o| (o.start, o.key));
        found
    }

    /// The keys of `overrides` that the rule no longer produces.
    pub fn orphaned_overrides<'o>(&self, overrides: &'o [Override]) -> Vec<&'o Override> {
        overrides
            .iter()
            .filter(|o| !self.has_occurrence(o.key))
            .collect()
    }

    /// Where an enrollment keyed `key` under `old` belongs under this schedule: the same
    /// key if it still exists, else the first occurrence on the same local day or later
    /// (`same_day_only`: on that day only, for an enrollment in one occurrence). `None`:
    /// nothing left for it.
    pub fn rekey(
        &self,
        old: &Schedule,
        key: OccurrenceKey,
        same_day_only: bool,
    ) -> Option<OccurrenceKey> {
        if self.has_occurrence(key) {
            return Some(key);
        }
        let day = key.original_start().with_timezone(&old.tz).date_naive();
        let day_start = resolve_local(self.tz, day.and_time(chrono::NaiveTime::MIN));
        let until = if same_day_only {
            day_start + Duration::days(1)
        } else {
            day_start + Duration::days(6 * 366)
        };
        self.planned_starts(day_start, until)
            .next()
            .map(OccurrenceKey::new)
    }

    /// The session's EXDATEs, as local times.
    pub fn excluded_locals(&self) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.exdates.iter().copied()
    }

    /// Reads a local wall-clock time in this schedule's zone.
    pub fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        resolve_local(self.tz, local)
    }

    /// One occurrence with its override applied.
    pub fn apply(
        &self,
        key: OccurrenceKey,
        capacity: i32,
        change: Option<&Override>,
    ) -> Occurrence {
        let original = key.original_start();
        let start = change.and_then(|c| c.start).unwrap_or(original);
        let duration = change
            .and_then(|c| c.duration_minutes)
            .map(|m| Duration::minutes(m.into()))
            .unwrap_or(self.duration);
        let status = match change {
            Some(c) if c.cancelled => OccurrenceStatus::Cancelled,
            _ if start != original || duration != self.duration => OccurrenceStatus::Moved,
            _ => OccurrenceStatus::Scheduled,
        };
        Occurrence {
            key,
            start,
            end: start + duration,
            status,
            capacity: change.and_then(|c| c.capacity).unwrap_or(capacity),
        }
    }

    /// Local starts in floating time, EXDATEs removed, from `from` (inclusive) on.
    fn local_starts(
        &self,
        from: Option<NaiveDateTime>,
    ) -> Box<dyn Iterator<Item = NaiveDateTime> + '_> {
        let rule_starts: Box<dyn Iterator<Item = NaiveDateTime> + '_> = match &self.rule {
            None => Box::new(std::iter::once(self.start)),
            Some(set) => Box::new(set.into_iter().map(|dt| dt.naive_utc())),
        };
        Box::new(
            rule_starts
                .skip_while(move |local| from.is_some_and(|f| *local < f))
                .filter(move |local| !self.exdates.contains(local)),
        )
    }

    fn check_first_occurrence(&self) -> Result<(), FieldError> {
        let Some(set) = &self.rule else {
            return if self.exdates.contains(&self.start) {
                Err(FieldError::new("exdates", "excludes the only occurrence"))
            } else {
                Ok(())
            };
        };
        let first = set.into_iter().next().map(|dt| dt.naive_utc());
        match first {
            None => Err(FieldError::new("rrule", "the rule yields no occurrence")),
            Some(first) if first != self.start => Err(FieldError::new(
                "start",
                format!(
                    "does not match the rule: its first occurrence would be {}; use that as the start",
                    first.format("%Y-%m-%dT%H:%M:%S")
                ),
            )),
            Some(_) if self.local_starts(None).next().is_none() => Err(FieldError::new(
                "exdates",
                "exclude every occurrence the rule yields",
            )),
            Some(_) => Ok(()),
        }
    }
}

/// A start may be at most [`MAX_YEARS_AHEAD`] years after `today`.
pub fn check_start_within_reach(
    field: &str,
    start: NaiveDateTime,
    today: NaiveDate,
) -> Result<(), FieldError> {
    let latest = today
        .checked_add_months(chrono::Months::new(12 * MAX_YEARS_AHEAD as u32))
        .unwrap_or(NaiveDate::MAX);
    if start.date() > latest {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_YEARS_AHEAD} years from today (on or before {latest})"),
        ));
    }
    Ok(())
}

/// An IANA zone name such as `Europe/Paris`.
pub fn parse_timezone(name: &str) -> Result<Tz, FieldError> {
    name.parse::<Tz>().map_err(|_| {
        FieldError::new(
            "timezone",
            format!("unknown time zone {name:?}; use an IANA name such as Europe/Paris"),
        )
    })
}

pub fn check_duration(minutes: i32) -> Result<(), FieldError> {
    if DURATION_RANGE.contains(&minutes) {
        Ok(())
    } else {
        Err(FieldError::new(
            "duration_minutes",
            format!(
                "must be between {} and {} minutes",
                DURATION_RANGE.start(),
                DURATION_RANGE.end()
            ),
        ))
    }
}

pub fn check_capacity(field: &str, places: i32) -> Result<(), FieldError> {
    if CAPACITY_RANGE.contains(&places) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "must be between {} and {} places",
                CAPACITY_RANGE.start(),
                CAPACITY_RANGE.end()
            ),
        ))
    }
}

/// Places a local wall-clock time in `tz`. A time skipped by a spring-forward change is
/// read with the offset before the gap (02:30 becomes 03:30 summer time); a time repeated
/// by a fall-back change takes its first instant.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            let offset_before_gap = (1..=48)
                .find_map(|hours| {
                    tz.from_local_datetime(&(local - Duration::hours(hours)))
                        .latest()
                        .map(|at| at.offset().fix())
                })
                .unwrap_or_else(|| tz.offset_from_utc_datetime(&local).fix());
            (local - Duration::seconds(offset_before_gap.local_minus_utc().into())).and_utc()
        }
    }
}

fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// Shared with [`super::recurrence`], which must expand a rule exactly as a schedule does.
pub(crate) fn build_rule(text: &str, tz: Tz, start: NaiveDateTime) -> Result<RRuleSet, FieldError> {
    let invalid = |why: String| FieldError::new("rrule", why);
    let text = text
        .strip_prefix("RRULE:")
        .or_else(|| text.strip_prefix("rrule:"))
        .unwrap_or(text);
    // The rrule crate panics on some non-ASCII input (a BYDAY of "éa"): a rule is ASCII.
    if !text.is_ascii() {
        return Err(invalid(
            "a rule is written in plain letters, digits, = ; and , only".into(),
        ));
    }
    if text.contains(['\n', '\r']) || text.to_ascii_uppercase().contains("DTSTART") {
        return Err(invalid(
            "give one RRULE value without DTSTART (the session's start is used)".into(),
        ));
    }
    let (text, until_in_utc) = until_as_utc_text(text);
    let rule: RRule<Unvalidated> = text
        .parse()
        .map_err(|e: rrule::RRuleError| invalid(format!("cannot parse the rule: {e}")))?;
    if matches!(
        rule.get_freq(),
        Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
    ) {
        return Err(invalid(
            "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY".into(),
        ));
    }
    let rule = match rule.get_until().copied() {
        Some(until) if until_in_utc => rule.until(floating(until.with_timezone(&tz).naive_local())),
        Some(until) => rule.until(floating(until.naive_utc())),
        None => rule,
    };
    rule.build(floating(start))
        .map(RRuleSet::limit)
        .map_err(|e| invalid(format!("invalid rule: {e}")))
}

/// RFC 5545 wants UNTIL in UTC (`…Z`) when the start has a zone; a local date-time or a
/// bare date (meaning that whole local day) is accepted too. The rrule crate would read a
/// value without `Z` in the server's own zone, so such a value is given a `Z` here and
/// read back as the local time it was written as. Returns the rule text and whether
/// UNTIL was a real UTC instant.
fn until_as_utc_text(text: &str) -> (String, bool) {
    let mut in_utc = true;
    let parts: Vec<String> = text
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("UNTIL") => {
                let value = value.trim();
                if value.ends_with(['Z', 'z']) {
                    part.to_owned()
                } else {
                    in_utc = false;
                    let value = if value.len() == 8 {
                        format!("{value}T235959Z")
                    } else {
                        format!("{value}Z")
                    };
                    format!("{}={value}", name.trim())
                }
            }
            _ => part.to_owned(),
        })
        .collect();
    (parts.join(";"), in_utc)
}

/// How far ahead occurrences are materialised for the cross-club search.
pub const SEARCH_HORIZON_DAYS: i64 = 548;
/// How far back they are kept.
pub const SEARCH_HISTORY_DAYS: i64 = 400;

/// The occurrences the cross-club search holds for a schedule at `now`, and the instant
/// up to which they were computed.
pub fn materialize(
    schedule: &Schedule,
    capacity: i32,
    overrides: &[Override],
    now: DateTime<Utc>,
) -> (Vec<Occurrence>, DateTime<Utc>) {
    let from = now - Duration::days(SEARCH_HISTORY_DAYS);
    let until = now + Duration::days(SEARCH_HORIZON_DAYS);
    (
        schedule.occurrences(capacity, overrides, from, until),
        until,
    )
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
