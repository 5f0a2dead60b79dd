//! The recurrence a club manager picks in the session form, and its RRULE text.
//!
//! Managers cannot be asked to write RFC 5545, so the form offers the few shapes clubs
//! actually use (weekly on some days, monthly on the nth weekday or on a day of the
//! month) and this module translates them both ways. A stored rule that the form cannot
//! draw is left alone: [`Recurrence::from_rrule`] answers `None` and the page shows the
//! raw text, so saving the form never silently rewrites a rule written through the API.
//!
//! Rules are expanded by [`super::schedule`]'s own code, in floating local time, so what
//! the form proposes as a start is exactly what [`super::schedule::Schedule::new`] will
//! accept.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::Serialize;

use super::schedule::build_rule;
use super::FieldError;

/// Every 1 to 12 weeks or months: beyond that a club would rather plan single sessions.
pub const INTERVAL_RANGE: RangeInclusive<u32> = 1..=12;
/// Day of the month for [`Repeat::MonthlyDay`].
pub const MONTH_DAY_RANGE: RangeInclusive<u32> = 1..=31;
/// At most 500 sessions by count: about ten years of a weekly session.
pub const COUNT_RANGE: RangeInclusive<u32> = 1..=500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Repeat {
    /// One occurrence only (no RRULE). Its [`Ending`] means nothing: it is ignored and
    /// read back as [`Ending::Never`].
    Once,
    /// Every `interval` weeks (1 = every week, 2 = fortnightly) on these days (at least
    /// one, sorted Mon..Sun, no duplicates: [`Repeat::weekly`] puts them in that order).
    Weekly { interval: u32, days: Vec<Weekday> },
    /// Every `interval` months on the nth weekday: nth in 1..=4 or -1 (the last), e.g.
    /// second Saturday, last Friday.
    MonthlyWeekday {
        interval: u32,
        nth: i8,
        weekday: Weekday,
    },
    /// Every `interval` months on this day of the month (1..=31; months without that day
    /// are skipped, as RFC 5545 says).
    MonthlyDay { interval: u32, day: u32 },
}

impl Repeat {
    /// Days come from checkboxes in any order; one canonical order keeps
    /// `from_rrule(to_rrule(r)) == r` and the stored text stable.
    pub fn weekly(interval: u32, days: impl IntoIterator<Item = Weekday>) -> Self {
        let mut days: Vec<Weekday> = days.into_iter().collect();
        days.sort_by_key(Weekday::num_days_from_monday);
        days.dedup();
        Repeat::Weekly { interval, days }
    }

    fn interval(&self) -> Option<u32> {
        match self {
            Repeat::Once => None,
            Repeat::Weekly { interval, .. }
            | Repeat::MonthlyWeekday { interval, .. }
            | Repeat::MonthlyDay { interval, .. } => Some(*interval),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Ending {
    Never,
    /// Last day, inclusive, in the session's local time: written as a bare-date UNTIL,
    /// which the schedule reads as that whole local day.
    On(NaiveDate),
    /// This many sessions (COUNT).
    After(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recurrence {
    pub repeat: Repeat,
    pub ending: Ending,
}

impl Recurrence {
    pub fn once() -> Self {
        Self {
            repeat: Repeat::Once,
            ending: Ending::Never,
        }
    }

    /// The RRULE value to store, `None` for a single session. One canonical spelling
    /// (FREQ, INTERVAL unless it is 1, BYDAY or BYMONTHDAY, then UNTIL or COUNT) so that
    /// an unchanged form saves an unchanged text. Expects a recurrence that passed
    /// [`Recurrence::validate`]; an invalid one gives a text the schedule rejects.
    pub fn to_rrule(&self) -> Option<String> {
        let (freq, by) = match &self.repeat {
            Repeat::Once => return None,
            Repeat::Weekly { days, .. } => {
                let mut days = days.clone();
                days.sort_by_key(Weekday::num_days_from_monday);
                days.dedup();
                let codes: Vec<&str> = days.into_iter().map(weekday_code).collect();
                ("WEEKLY", format!("BYDAY={}", codes.join(",")))
            }
            Repeat::MonthlyWeekday { nth, weekday, .. } => {
                ("MONTHLY", format!("BYDAY={nth}{}", weekday_code(*weekday)))
            }
            Repeat::MonthlyDay { day, .. } => ("MONTHLY", format!("BYMONTHDAY={day}")),
        };
        let mut parts = vec![format!("FREQ={freq}")];
        match self.repeat.interval() {
            Some(1) | None => {}
            Some(interval) => parts.push(format!("INTERVAL={interval}")),
        }
        parts.push(by);
        match self.ending {
            Ending::Never => {}
            Ending::On(day) => parts.push(format!("UNTIL={}", day.format("%Y%m%d"))),
            Ending::After(count) => parts.push(format!("COUNT={count}")),
        }
        Some(parts.join(";"))
    }

    /// What the form shows for a stored rule. `None` when the form cannot draw it exactly
    /// (another FREQ, BYSETPOS, BYHOUR, WKST, several ordinal weekdays, a weekly rule
    /// without BYDAY, values outside what [`Recurrence::validate`] allows…): the page then
    /// keeps the raw rule rather than replace it by an approximation.
    ///
    /// An UNTIL date-time, local or UTC (`…Z`), is shown as its date: the form only
    /// knows "last day".
    pub fn from_rrule(rrule: Option<&str>) -> Option<Recurrence> {
        // The schedule treats a blank rule as no rule.
        let Some(text) = rrule.map(str::trim).filter(|text| !text.is_empty()) else {
            return Some(Recurrence::once());
        };
        let text = text.to_ascii_uppercase();
        let text = text.strip_prefix("RRULE:").unwrap_or(&text);
        let mut parts = std::collections::HashMap::new();
        for part in text.split(';').filter(|part| !part.is_empty()) {
            let (name, value) = part.split_once('=')?;
            // The rrule crate refuses a repeated part; so does the form.
            if parts.insert(name, value).is_some() {
                return None;
            }
        }
        let freq = parts.remove("FREQ")?;
        let interval = match parts.remove("INTERVAL") {
            Some(value) => whole_number(value)?,
            None => 1,
        };
        let ending = match (parts.remove("UNTIL"), parts.remove("COUNT")) {
            (None, None) => Ending::Never,
            (Some(until), None) => Ending::On(until_day(until)?),
            (None, Some(count)) => Ending::After(whole_number(count)?),
            (Some(_), Some(_)) => return None,
        };
        let by_day = parts.remove("BYDAY");
        let by_month_day = parts.remove("BYMONTHDAY");
        if !parts.is_empty() {
            return None;
        }
        let repeat = match (freq, by_day, by_month_day) {
            ("WEEKLY", Some(days), None) => {
                let days = days
                    .split(',')
                    .map(weekday_from_code)
                    .collect::<Option<Vec<_>>>()?;
                Repeat::weekly(interval, days)
            }
            ("MONTHLY", Some(day), None) => {
                let (nth, weekday) = nth_weekday(day)?;
                Repeat::MonthlyWeekday {
                    interval,
                    nth,
                    weekday,
                }
            }
            ("MONTHLY", None, Some(day)) => Repeat::MonthlyDay {
                interval,
                day: whole_number(day)?,
            },
            _ => return None,
        };
        let recurrence = Recurrence { repeat, ending };
        recurrence.validate().is_ok().then_some(recurrence)
    }

    /// Checks the fields the form shows, in the form's order, and names the first wrong
    /// one. The ending of a single session is not checked: the form hides it then, and a
    /// stale hidden value must not block saving.
    pub fn validate(&self) -> Result<(), FieldError> {
        let Some(interval) = self.repeat.interval() else {
            return Ok(());
        };
        if !INTERVAL_RANGE.contains(&interval) {
            return Err(FieldError::new(
                "repeat_interval",
                format!(
                    "must be a whole number from {} to {}",
                    INTERVAL_RANGE.start(),
                    INTERVAL_RANGE.end()
                ),
            ));
        }
        match &self.repeat {
            Repeat::Weekly { days, .. } if days.is_empty() => {
                return Err(FieldError::new(
                    "repeat_days",
                    "choose at least one day of the week",
                ));
            }
            Repeat::Weekly { days, .. }
                if days
                    .iter()
                    .enumerate()
                    .any(|(i, day)| days[..i].contains(day)) =>
            {
                return Err(FieldError::new("repeat_days", "choose each day only once"));
            }
            Repeat::MonthlyWeekday { nth, .. } if !((1..=4).contains(nth) || *nth == -1) => {
                return Err(FieldError::new(
                    "repeat_nth",
                    "must be 1 to 4 (first to fourth) or -1 (last)",
                ));
            }
            Repeat::MonthlyDay { day, .. } if !MONTH_DAY_RANGE.contains(day) => {
                return Err(FieldError::new(
                    "repeat_day",
                    format!(
                        "must be a day of the month from {} to {}",
                        MONTH_DAY_RANGE.start(),
                        MONTH_DAY_RANGE.end()
                    ),
                ));
            }
            _ => {}
        }
        match self.ending {
            // RFC 5545 writes a year with four digits.
            Ending::On(day) if !(1..=9999).contains(&day.year()) => Err(FieldError::new(
                "ends_on",
                "must be a date with a four-digit year, like 2027-06-30",
            )),
            Ending::After(count) if !COUNT_RANGE.contains(&count) => Err(FieldError::new(
                "ends_after",
                format!(
                    "must be a number of sessions from {} to {}",
                    COUNT_RANGE.start(),
                    COUNT_RANGE.end()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The start a session with this recurrence must be saved with, from the start the
    /// manager typed: the rule's first occurrence on or after it (the schedule refuses a
    /// start that is not the first occurrence). Errors name the form field to correct,
    /// rather than the `rrule` field the manager never saw.
    pub fn first_start(&self, typed: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
        self.validate()?;
        let Some(rule) = self.to_rrule() else {
            return Ok(typed);
        };
        if let Ending::On(last) = self.ending {
            if last < typed.date() {
                return Err(FieldError::new(
                    "ends_on",
                    format!("must be on or after the start, {}", typed.date()),
                ));
            }
        }
        first_on_or_after(&rule, typed).ok_or_else(|| match self.ending {
            Ending::On(last) => FieldError::new(
                "ends_on",
                format!(
                    "no session falls between {} and {last}: choose a later last day",
                    typed.date()
                ),
            ),
            // Only a day of the month can be missing from every month of the rhythm
            // (the 31st every 12 months starting in a 30-day month).
            _ => FieldError::new(
                "repeat_day",
                "no month of this rhythm has that day: choose another day or interval",
            ),
        })
    }
}

/// The first local date-time `rrule` yields with `start` as DTSTART, in floating time as
/// the schedule expands it; `None` for a rule the schedule refuses or that yields nothing.
///
/// The rrule crate follows python-dateutil, not RFC 5545, on a DTSTART that the rule does
/// not match: it is not an occurrence (nor counted by COUNT), so "weekly on Saturday"
/// from a Wednesday starts on the next Saturday, at the Wednesday's time of day.
///
/// A UTC (`…Z`) UNTIL is read here as if the session's zone were UTC; the form never
/// writes one, and the schedule still checks the real rule in the real zone.
pub fn first_on_or_after(rrule: &str, start: NaiveDateTime) -> Option<NaiveDateTime> {
    let set = build_rule(rrule.trim(), chrono_tz::UTC, start).ok()?;
    set.into_iter().next().map(|at| at.naive_utc())
}

/// Reads the "dates without a session" box. Managers paste lists from anywhere (school
/// holiday calendars, spreadsheets), in ISO or French order, so any usual separator is
/// taken; `2026-12-25`, `25/12/2026` and `5/1/2027` all read.
pub fn parse_dates(field: &str, text: &str) -> Result<Vec<NaiveDate>, FieldError> {
    let mut days = text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|token| !token.is_empty())
        .map(|token| {
            parse_date(token).ok_or_else(|| {
                FieldError::new(
                    field,
                    format!(
                        "cannot read \"{}\" as a date: write 2026-12-25 or 25/12/2026",
                        shorten(token)
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// The form speaks of days off; the schedule excludes exact local start times.
pub fn exdates_at(days: &[NaiveDate], time: NaiveTime) -> Vec<NaiveDateTime> {
    days.iter().map(|day| day.and_time(time)).collect()
}

/// The days of stored EXDATEs, for the form's box: sorted, one per day.
pub fn days_of(exdates: &[NaiveDateTime]) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = exdates.iter().map(NaiveDateTime::date).collect();
    days.sort_unstable();
    days.dedup();
    days
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn weekday_from_code(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// Digits only: `str::parse` would also take a sign, which no RRULE number has.
fn whole_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `2SA`, `+2SA`, `-1FR`: exactly one weekday with an ordinal. A plain `SA` in a monthly
/// rule means every Saturday, which the form cannot draw.
fn nth_weekday(text: &str) -> Option<(i8, Weekday)> {
    // `get` rather than slicing: the text is the user's and may not be ASCII.
    let split = text.len().checked_sub(2)?;
    let (ordinal, code) = (text.get(..split)?, text.get(split..)?);
    let weekday = weekday_from_code(code)?;
    let (negative, digits) = match ordinal.as_bytes().first()? {
        b'-' => (true, &ordinal[1..]),
        b'+' => (false, &ordinal[1..]),
        _ => (false, ordinal),
    };
    let magnitude = i8::try_from(whole_number(digits)?).ok()?;
    Some((if negative { -magnitude } else { magnitude }, weekday))
}

/// The day of an UNTIL value: `20270630`, `20270630T235959` or `20270630T215959Z`.
fn until_day(value: &str) -> Option<NaiveDate> {
    let (date, time) = match value.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (value, None),
    };
    let digits =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(date, 8) {
        return None;
    }
    if let Some(time) = time {
        let time = time.strip_suffix('Z').unwrap_or(time);
        if !digits(time, 6) {
            return None;
        }
        NaiveTime::parse_from_str(time, "%H%M%S").ok()?;
    }
    NaiveDate::parse_from_str(date, "%Y%m%d").ok()
}

fn parse_date(token: &str) -> Option<NaiveDate> {
    let digits = |text: &str, lens: RangeInclusive<usize>| {
        lens.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
    };
    let (year, month, day) = if let Some((year, rest)) = token.split_once('-') {
        let (month, day) = rest.split_once('-')?;
        (year, month, day)
    } else {
        let (day, rest) = token.split_once('/')?;
        let (month, year) = rest.split_once('/')?;
        (year, month, day)
    };
    if !(digits(year, 4..=4) && digits(month, 1..=2) && digits(day, 1..=2)) {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// A pasted token can be a whole paragraph without separators; the message quotes its
/// start only.
fn shorten(token: &str) -> String {
    const MAX: usize = 40;
    if token.chars().count() <= MAX {
        token.to_owned()
    } else {
        format!("{}…", token.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{DateTime, TimeZone, Timelike, Utc};

    use crate::domain::schedule::{Schedule, ScheduleSpec};

    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};

    const ALL_DAYS: [Weekday; 7] = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("local date-time")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        Utc.from_utc_datetime(&local(s))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn rec(repeat: Repeat, ending: Ending) -> Recurrence {
        Recurrence { repeat, ending }
    }

    fn weekly(interval: u32, days: &[Weekday]) -> Repeat {
        Repeat::Weekly {
            interval,
            days: days.to_vec(),
        }
    }

    fn field(recurrence: Recurrence) -> String {
        recurrence
            .validate()
            .expect_err("the recurrence should be rejected")
            .field
    }

    fn schedule(start: NaiveDateTime, rrule: Option<&str>) -> Result<Schedule, FieldError> {
        Schedule::new(&ScheduleSpec {
            timezone: "Europe/Paris",
            start,
            duration_minutes: 90,
            rrule,
            exdates: &[],
        })
    }

    /// Every recurrence the form can draw, over all shapes, intervals and endings.
    fn drawable() -> Vec<Recurrence> {
        let endings = [
            Ending::Never,
            Ending::On(date("2030-12-31")),
            Ending::On(date("2027-02-28")),
            Ending::After(1),
            Ending::After(10),
            Ending::After(500),
        ];
        let mut repeats = Vec::new();
        for interval in INTERVAL_RANGE {
            for mask in 1u8..128 {
                let days = ALL_DAYS
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, day)| day);
                repeats.push(Repeat::weekly(interval, days));
            }
            for nth in [1, 2, 3, 4, -1] {
                for weekday in ALL_DAYS {
                    repeats.push(Repeat::MonthlyWeekday {
                        interval,
                        nth,
                        weekday,
                    });
                }
            }
            for day in MONTH_DAY_RANGE {
                repeats.push(Repeat::MonthlyDay { interval, day });
            }
        }
        let mut all = vec![Recurrence::once()];
        for repeat in repeats {
            for ending in endings {
                all.push(rec(repeat.clone(), ending));
            }
        }
        all
    }

    // -----------------------------------------------------------------------
    // to_rrule / from_rrule
    // -----------------------------------------------------------------------

    #[test]
    fn to_rrule_writes_one_canonical_text_per_shape() {
        let cases = [
            (Recurrence::once(), None),
            (
                rec(weekly(2, &[Sat]), Ending::On(date("2027-06-30"))),
                Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;UNTIL=20270630"),
            ),
            (
                rec(weekly(1, &[Mon, Wed, Fri]), Ending::Never),
                Some("FREQ=WEEKLY;BYDAY=MO,WE,FR"),
            ),
            (
                rec(
                    Repeat::MonthlyWeekday {
                        interval: 1,
                        nth: 2,
                        weekday: Sat,
                    },
                    Ending::After(10),
                ),
                Some("FREQ=MONTHLY;BYDAY=2SA;COUNT=10"),
            ),
            (
                rec(
                    Repeat::MonthlyWeekday {
                        interval: 1,
                        nth: -1,
                        weekday: Fri,
                    },
                    Ending::Never,
                ),
                Some("FREQ=MONTHLY;BYDAY=-1FR"),
            ),
            (
                rec(
                    Repeat::MonthlyDay {
                        interval: 1,
                        day: 15,
                    },
                    Ending::Never,
                ),
                Some("FREQ=MONTHLY;BYMONTHDAY=15"),
            ),
            (
                rec(
                    Repeat::MonthlyDay {
                        interval: 3,
                        day: 31,
                    },
                    Ending::After(4),
                ),
                Some("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31;COUNT=4"),
            ),
        ];
        for (recurrence, expected) in cases {
            assert_eq!(recurrence.to_rrule().as_deref(), expected, "{recurrence:?}");
        }
    }

    #[test]
    fn a_single_session_has_no_rule_whatever_its_hidden_ending() {
        let once = rec(Repeat::Once, Ending::After(3));
        assert_eq!(once.to_rrule(), None);
        assert_eq!(once.validate(), Ok(()));
        assert_eq!(Recurrence::from_rrule(None), Some(Recurrence::once()));
        assert_eq!(Recurrence::from_rrule(Some("  ")), Some(Recurrence::once()));
    }

    #[test]
    fn weekly_days_are_written_in_week_order_whatever_the_order_picked() {
        let picked = rec(Repeat::weekly(1, [Sun, Mon, Sat, Mon]), Ending::Never);
        assert_eq!(picked.repeat, weekly(1, &[Mon, Sat, Sun]));
        assert_eq!(
            picked.to_rrule().as_deref(),
            Some("FREQ=WEEKLY;BYDAY=MO,SA,SU")
        );
        let unsorted = rec(weekly(1, &[Sat, Mon]), Ending::Never);
        assert_eq!(
            unsorted.to_rrule().as_deref(),
            Some("FREQ=WEEKLY;BYDAY=MO,SA")
        );
    }

    #[test]
    fn every_drawable_recurrence_round_trips() {
        let all = drawable();
        assert!(all.len() > 10_000, "{} cases", all.len());
        for recurrence in all {
            assert_eq!(recurrence.validate(), Ok(()), "{recurrence:?}");
            let text = recurrence.to_rrule();
            assert_eq!(
                Recurrence::from_rrule(text.as_deref()).as_ref(),
                Some(&recurrence),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_drawable_rule_is_accepted_by_the_schedule_from_its_first_start() {
        let typed = local("2026-01-05T18:30");
        for recurrence in drawable() {
            let start = recurrence.first_start(typed).expect("a first start");
            assert!(
                start >= typed && start.time() == typed.time(),
                "{recurrence:?}"
            );
            let text = recurrence.to_rrule();
            if let Err(e) = schedule(start, text.as_deref()) {
                panic!("{text:?} from {start}: {e}");
            }
        }
    }

    #[test]
    fn from_rrule_takes_any_order_and_case_and_the_rrule_prefix() {
        let fortnightly = rec(weekly(2, &[Mon, Sat]), Ending::After(6));
        for text in [
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA;COUNT=6",
            "RRULE:COUNT=6;BYDAY=SA,MO;INTERVAL=2;FREQ=WEEKLY",
            "rrule:freq=weekly;byday=sa,mo;interval=2;count=6",
            "  Freq=Weekly;ByDay=Mo,Sa;Interval=2;Count=6;  ",
        ] {
            assert_eq!(
                Recurrence::from_rrule(Some(text)),
                Some(fortnightly.clone()),
                "{text}"
            );
        }
        let second_saturday = rec(
            Repeat::MonthlyWeekday {
                interval: 1,
                nth: 2,
                weekday: Sat,
            },
            Ending::Never,
        );
        for text in [
            "FREQ=MONTHLY;BYDAY=2SA",
            "FREQ=MONTHLY;BYDAY=+2SA;INTERVAL=1",
        ] {
            assert_eq!(
                Recurrence::from_rrule(Some(text)),
                Some(second_saturday.clone()),
                "{text}"
            );
        }
    }

    #[test]
    fn from_rrule_shows_any_until_as_its_day() {
        for until in [
            "20270630",
            "20270630T235959",
            "20270630T180000",
            "20270630T215959Z",
            "20270630t215959z",
        ] {
            let text = format!("FREQ=WEEKLY;BYDAY=SA;UNTIL={until}");
            assert_eq!(
                Recurrence::from_rrule(Some(&text)),
                Some(rec(weekly(1, &[Sat]), Ending::On(date("2027-06-30")))),
                "{text}"
            );
        }
        for until in [
            "2027063",
            "20270631",
            "20270630T2359",
            "20270630T245959",
            "20270630Z",
        ] {
            let text = format!("FREQ=WEEKLY;BYDAY=SA;UNTIL={until}");
            assert_eq!(Recurrence::from_rrule(Some(&text)), None, "{text}");
        }
    }

    #[test]
    fn from_rrule_refuses_what_the_form_cannot_draw() {
        for text in [
            "FREQ=DAILY",
            "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=21",
            "FREQ=WEEKLY",
            "FREQ=MONTHLY",
            "BYDAY=SA",
            "FREQ=WEEKLY;BYDAY=SA;WKST=SU",
            "FREQ=WEEKLY;BYDAY=SA;BYHOUR=10",
            "FREQ=WEEKLY;BYDAY=2SA",
            "FREQ=WEEKLY;BYDAY=SA;BYMONTHDAY=1",
            "FREQ=WEEKLY;BYDAY=SA;FREQ=WEEKLY",
            "FREQ=WEEKLY;BYDAY=",
            "FREQ=WEEKLY;BYDAY=SAT",
            "FREQ=WEEKLY;BYDAY=SA;INTERVAL=0",
            "FREQ=WEEKLY;BYDAY=SA;INTERVAL=13",
            "FREQ=WEEKLY;BYDAY=SA;INTERVAL=+2",
            "FREQ=WEEKLY;BYDAY=SA;COUNT=0",
            "FREQ=WEEKLY;BYDAY=SA;COUNT=501",
            "FREQ=WEEKLY;BYDAY=SA;COUNT=5;UNTIL=20270630",
            "FREQ=WEEKLY;BYDAY=SA;COUNT",
            "FREQ=MONTHLY;BYDAY=SA",
            "FREQ=MONTHLY;BYDAY=1SA,3SA",
            "FREQ=MONTHLY;BYDAY=5SA",
            "FREQ=MONTHLY;BYDAY=-2SA",
            "FREQ=MONTHLY;BYDAY=0SA",
            "FREQ=MONTHLY;BYDAY=XXSA",
            "FREQ=MONTHLY;BYDAY=+-1SA",
            "FREQ=MONTHLY;BYDAY=éSA",
            "FREQ=MONTHLY;BYDAY=Sé",
            "FREQ=MONTHLY;BYDAY=2SA;BYSETPOS=1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=2SA;BYMONTHDAY=15",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "FREQ=MONTHLY;BYMONTHDAY=0",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYMONTHDAY=15;BYMONTH=1",
            "DTSTART:20261017T100000\nRRULE:FREQ=WEEKLY;BYDAY=SA",
            "not a rule",
        ] {
            assert_eq!(Recurrence::from_rrule(Some(text)), None, "{text}");
        }
    }

    // -----------------------------------------------------------------------
    // validate
    // -----------------------------------------------------------------------

    #[test]
    fn validate_names_the_form_field_at_fault() {
        let cases = [
            (rec(weekly(0, &[Sat]), Ending::Never), "repeat_interval"),
            (rec(weekly(13, &[Sat]), Ending::Never), "repeat_interval"),
            (
                rec(
                    Repeat::MonthlyDay {
                        interval: 0,
                        day: 1,
                    },
                    Ending::Never,
                ),
                "repeat_interval",
            ),
            (rec(weekly(1, &[]), Ending::Never), "repeat_days"),
            (rec(weekly(1, &[Sat, Sat]), Ending::Never), "repeat_days"),
            (
                rec(
                    Repeat::MonthlyWeekday {
                        interval: 1,
                        nth: 0,
                        weekday: Sat,
                    },
                    Ending::Never,
                ),
                "repeat_nth",
            ),
            (
                rec(
                    Repeat::MonthlyWeekday {
                        interval: 1,
                        nth: 5,
                        weekday: Sat,
                    },
                    Ending::Never,
                ),
                "repeat_nth",
            ),
            (
                rec(
                    Repeat::MonthlyWeekday {
                        interval: 1,
                        nth: -2,
                        weekday: Sat,
                    },
                    Ending::Never,
                ),
                "repeat_nth",
            ),
            (
                rec(
                    Repeat::MonthlyDay {
                        interval: 1,
                        day: 0,
                    },
                    Ending::Never,
                ),
                "repeat_day",
            ),
            (
                rec(
                    Repeat::MonthlyDay {
                        interval: 1,
                        day: 32,
                    },
                    Ending::Never,
                ),
                "repeat_day",
            ),
            (
                rec(
                    weekly(1, &[Sat]),
                    Ending::On(NaiveDate::from_ymd_opt(10_000, 1, 1).expect("date")),
                ),
                "ends_on",
            ),
            (rec(weekly(1, &[Sat]), Ending::After(0)), "ends_after"),
            (rec(weekly(1, &[Sat]), Ending::After(501)), "ends_after"),
            // The first wrong field in the form's order.
            (rec(weekly(20, &[]), Ending::After(0)), "repeat_interval"),
        ];
        for (recurrence, expected) in cases {
            assert_eq!(field(recurrence.clone()), expected, "{recurrence:?}");
        }
    }

    #[test]
    fn validate_messages_say_what_is_expected() {
        let error = rec(weekly(13, &[Sat]), Ending::Never)
            .validate()
            .expect_err("interval 13");
        assert_eq!(error.message, "must be a whole number from 1 to 12");
        let error = rec(weekly(1, &[Sat]), Ending::After(501))
            .validate()
            .expect_err("501 sessions");
        assert_eq!(error.message, "must be a number of sessions from 1 to 500");
    }

    // -----------------------------------------------------------------------
    // first_on_or_after
    // -----------------------------------------------------------------------

    #[test]
    fn the_rrule_crate_does_not_count_a_dtstart_outside_the_rule() {
        // RFC 5545 leaves this undefined; the crate (like python-dateutil) skips such a
        // DTSTART, and COUNT only counts what the rule matches.
        let wednesday = local("2026-10-14T10:00");
        let set = build_rule("FREQ=WEEKLY;BYDAY=SA;COUNT=2", chrono_tz::UTC, wednesday)
            .expect("valid rule");
        let all: Vec<NaiveDateTime> = set.into_iter().map(|at| at.naive_utc()).collect();
        assert_eq!(
            all,
            vec![local("2026-10-17T10:00"), local("2026-10-24T10:00")]
        );
        // Which is why the schedule refuses that start, and the form proposes another.
        let refused = schedule(wednesday, Some("FREQ=WEEKLY;BYDAY=SA")).expect_err("refused");
        assert_eq!(refused.field, "start");
        assert_eq!(
            first_on_or_after("FREQ=WEEKLY;BYDAY=SA", wednesday),
            Some(local("2026-10-17T10:00"))
        );
    }

    #[test]
    fn first_on_or_after_finds_the_first_occurrence_of_each_shape() {
        let cases = [
            // Already an occurrence: kept.
            (
                "FREQ=WEEKLY;BYDAY=SA",
                "2026-10-17T10:00",
                "2026-10-17T10:00",
            ),
            (
                "FREQ=WEEKLY;BYDAY=SA",
                "2026-10-14T10:00",
                "2026-10-17T10:00",
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO,TH",
                "2026-10-14T18:30",
                "2026-10-15T18:30",
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO",
                "2026-10-14T18:30",
                "2026-10-19T18:30",
            ),
            // Fortnightly counts its fortnights from the start's week.
            (
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
                "2026-10-14T10:00",
                "2026-10-17T10:00",
            ),
            (
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
                "2026-10-14T10:00",
                "2026-10-26T10:00",
            ),
            // Second Saturday: October's is the 10th.
            (
                "FREQ=MONTHLY;BYDAY=2SA",
                "2026-10-01T14:00",
                "2026-10-10T14:00",
            ),
            (
                "FREQ=MONTHLY;BYDAY=2SA",
                "2026-10-11T14:00",
                "2026-11-14T14:00",
            ),
            // Last Friday: 30 October 2026 (the 31st is a Saturday).
            (
                "FREQ=MONTHLY;BYDAY=-1FR",
                "2026-10-01T19:00",
                "2026-10-30T19:00",
            ),
            (
                "FREQ=MONTHLY;BYDAY=-1FR",
                "2026-10-31T19:00",
                "2026-11-27T19:00",
            ),
            // The 31st: November has none, so December.
            (
                "FREQ=MONTHLY;BYMONTHDAY=31",
                "2026-11-05T09:00",
                "2026-12-31T09:00",
            ),
            // Every 2 months from February: April and June have no 31st either.
            (
                "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31",
                "2026-02-01T09:00",
                "2026-08-31T09:00",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=15",
                "2026-10-16T09:00",
                "2026-11-15T09:00",
            ),
            // A bare-date UNTIL is the whole last day.
            (
                "FREQ=WEEKLY;BYDAY=SA;UNTIL=20261017",
                "2026-10-14T23:00",
                "2026-10-17T23:00",
            ),
        ];
        for (rule, start, first) in cases {
            assert_eq!(
                first_on_or_after(rule, local(start)),
                Some(local(first)),
                "{rule} from {start}"
            );
        }
    }

    #[test]
    fn first_on_or_after_is_none_when_nothing_comes() {
        let start = local("2026-10-14T10:00");
        // UNTIL before the first Saturday.
        assert_eq!(
            first_on_or_after("FREQ=WEEKLY;BYDAY=SA;UNTIL=20261016", start),
            None
        );
        // UNTIL before the start itself: the crate refuses to build the rule.
        assert_eq!(
            first_on_or_after("FREQ=WEEKLY;BYDAY=SA;UNTIL=20261001", start),
            None
        );
        // The 31st every 12 months from a 30-day month never comes.
        assert_eq!(
            first_on_or_after(
                "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31",
                local("2026-11-01T10:00")
            ),
            None
        );
        assert_eq!(first_on_or_after("FREQ=HOURLY", start), None);
        assert_eq!(first_on_or_after("nonsense", start), None);
    }

    #[test]
    fn first_start_moves_the_typed_start_onto_the_rule_or_names_the_field() {
        let wednesday = local("2026-10-14T10:00");
        let saturdays = rec(weekly(1, &[Sat]), Ending::Never);
        assert_eq!(
            saturdays.first_start(wednesday),
            Ok(local("2026-10-17T10:00"))
        );
        assert_eq!(Recurrence::once().first_start(wednesday), Ok(wednesday));
        let ended_before = rec(weekly(1, &[Sat]), Ending::On(date("2026-10-01")));
        assert_eq!(
            ended_before.first_start(wednesday).map_err(|e| e.field),
            Err("ends_on".to_owned())
        );
        let ended_too_soon = rec(weekly(1, &[Sat]), Ending::On(date("2026-10-16")));
        assert_eq!(
            ended_too_soon.first_start(wednesday).map_err(|e| e.field),
            Err("ends_on".to_owned())
        );
        let never = rec(
            Repeat::MonthlyDay {
                interval: 12,
                day: 31,
            },
            Ending::Never,
        );
        assert_eq!(
            never
                .first_start(local("2026-11-01T10:00"))
                .map_err(|e| e.field),
            Err("repeat_day".to_owned())
        );
        assert_eq!(
            rec(weekly(1, &[]), Ending::Never)
                .first_start(wednesday)
                .map_err(|e| e.field),
            Err("repeat_days".to_owned())
        );
    }

    #[test]
    fn fortnightly_saturdays_stay_at_ten_local_across_the_october_change() {
        let rule = rec(weekly(2, &[Sat]), Ending::Never)
            .to_rrule()
            .expect("a rule");
        let start = local("2026-10-17T10:00");
        assert_eq!(first_on_or_after(&rule, start), Some(start));
        let schedule = schedule(start, Some(&rule)).expect("the schedule accepts the rule");
        let starts: Vec<DateTime<Utc>> = schedule
            .planned_starts(utc("2026-10-01T00:00"), utc("2026-11-20T00:00"))
            .collect();
        assert_eq!(
            starts,
            vec![
                utc("2026-10-17T08:00"), // +02:00, before 25 October
                utc("2026-10-31T09:00"), // +01:00, after
                utc("2026-11-14T09:00"),
            ]
        );
        for at in starts {
            let paris = at.with_timezone(&chrono_tz::Europe::Paris);
            assert_eq!((paris.hour(), paris.minute()), (10, 0), "{paris}");
            assert_eq!(paris.weekday(), Sat);
        }
    }

    #[test]
    fn a_bare_date_until_from_the_form_keeps_that_whole_day_in_the_schedule() {
        let rule = rec(weekly(1, &[Sat]), Ending::On(date("2026-10-24")))
            .to_rrule()
            .expect("a rule");
        let schedule = schedule(local("2026-10-17T20:00"), Some(&rule)).expect("accepted");
        let starts: Vec<DateTime<Utc>> = schedule
            .planned_starts(utc("2026-10-01T00:00"), utc("2026-12-01T00:00"))
            .collect();
        assert_eq!(
            starts,
            vec![utc("2026-10-17T18:00"), utc("2026-10-24T18:00")]
        );
    }

    // -----------------------------------------------------------------------
    // parse_dates, exdates_at, days_of
    // -----------------------------------------------------------------------

    #[test]
    fn parse_dates_reads_both_formats_and_any_separator() {
        let text = "2026-12-25, 01/01/2027;\n 2026-12-24\t5/1/2027\r\n25/12/2026   2026-7-4";
        assert_eq!(
            parse_dates("holidays", text),
            Ok(vec![
                date("2026-07-04"),
                date("2026-12-24"),
                date("2026-12-25"),
                date("2027-01-01"),
                date("2027-01-05"),
            ])
        );
    }

    #[test]
    fn parse_dates_of_a_blank_box_is_empty() {
        for text in ["", "   ", "\n\n", " , ; "] {
            assert_eq!(parse_dates("holidays", text), Ok(vec![]), "{text:?}");
        }
    }

    #[test]
    fn parse_dates_names_the_field_and_quotes_the_bad_text() {
        for bad in [
            "2026-02-30",
            "31/04/2026",
            "2026/12/25",
            "25-12-2026",
            "26-12-25",
            "25/12/26",
            "2026-12-25-1",
            "2026-012-25",
            "noël",
            "2026-+1-25",
        ] {
            let error = parse_dates("holidays", &format!("2026-12-24 {bad}")).expect_err(bad);
            assert_eq!(error.field, "holidays");
            assert!(
                error.message.contains(&format!("\"{bad}\"")),
                "{}",
                error.message
            );
        }
        let long = "x".repeat(100);
        let error = parse_dates("holidays", &long).expect_err("long");
        assert!(error.message.len() < 120, "{}", error.message);
    }

    #[test]
    fn exdates_are_the_days_at_the_session_time_and_back() {
        let days = vec![date("2026-12-24"), date("2026-12-31")];
        let time = NaiveTime::from_hms_opt(18, 30, 0).expect("time");
        let exdates = exdates_at(&days, time);
        assert_eq!(
            exdates,
            vec![local("2026-12-24T18:30"), local("2026-12-31T18:30")]
        );
        assert_eq!(days_of(&exdates), days);
        let messy = [
            local("2026-12-31T18:30"),
            local("2026-12-24T10:00"),
            local("2026-12-24T18:30"),
        ];
        assert_eq!(days_of(&messy), days);
        assert_eq!(days_of(&[]), Vec::<NaiveDate>::new());
    }

    #[test]
    fn serialises_for_the_templates() {
        let value = serde_json::to_value(rec(weekly(2, &[Sat]), Ending::On(date("2027-06-30"))))
            .expect("json");
        assert_eq!(
            value,
            serde_json::json!({
                "repeat": {"kind": "weekly", "interval": 2, "days": ["Sat"]},
                "ending": {"kind": "on", "value": "2027-06-30"},
            })
        );
    }
}
