//! The `from`/`to` window of occurrence listings.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::schedule::resolve_local;
use super::FieldError;

/// Longest window a listing may ask for.
pub const MAX_WINDOW_DAYS: i64 = 366;
/// Window used when `to` is absent.
pub const DEFAULT_WINDOW_DAYS: i64 = 31;

#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Reads `from`/`to`: RFC 3339 instants, or dates (`2026-03-01`) read in `tz`, where a
/// date as `to` includes that whole day. `from` defaults to `now`, `to` to 31 days later.
pub fn parse(
    from: Option<&str>,
    to: Option<&str>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Window, FieldError> {
    let from = match from {
        Some(text) => instant("from", text, tz, false)?,
        None => now,
    };
    let to = match to {
        Some(text) => instant("to", text, tz, true)?,
        None => from + Duration::days(DEFAULT_WINDOW_DAYS),
    };
    if to <= from {
        return Err(FieldError::new("to", "must be after from"));
    }
    if to - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(FieldError::new(
            "to",
            format!("the window from `from` to `to` may span at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(Window { from, to })
}

pub fn instant(
    field: &str,
    text: &str,
    tz: Tz,
    end_of_day: bool,
) -> Result<DateTime<Utc>, FieldError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end_of_day {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        return Ok(resolve_local(tz, day.and_time(chrono::NaiveTime::MIN)));
    }
    Err(FieldError::new(
        field,
        format!("{text:?} is neither a date (2026-03-01) nor an RFC 3339 time (2026-03-01T18:30:00+01:00)"),
    ))
}

/// A part of the day, in local time: before noon, noon to 6 pm, from 6 pm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOfDay {
    Morning,
    Afternoon,
    Evening,
}

impl TimeOfDay {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "morning" => Some(Self::Morning),
            "afternoon" => Some(Self::Afternoon),
            "evening" => Some(Self::Evening),
            _ => None,
        }
    }

    /// Its hours, `[from, to)`.
    fn hours(self) -> (u32, u32) {
        match self {
            Self::Morning => (0, 12),
            Self::Afternoon => (12, 18),
            Self::Evening => (18, 24),
        }
    }

    pub fn holds(self, hour: u32) -> bool {
        let (from, to) = self.hours();
        (from..to).contains(&hour)
    }
}

/// The parts of `window` that fall on `weekday` (1 = Monday) and in `part` of the day,
/// read in `tz`, oldest first, as UTC ranges `[from, to)`: what a search reads through
/// its index, instead of reading everything and keeping a few.
pub fn slices(
    window: Window,
    weekday: Option<u32>,
    part: Option<TimeOfDay>,
    tz: Tz,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if weekday.is_none() && part.is_none() {
        return vec![(window.from, window.to)];
    }
    let (from_hour, to_hour) = part.map(TimeOfDay::hours).unwrap_or((0, 24));
    let first = window.from.with_timezone(&tz).date_naive();
    let last = window.to.with_timezone(&tz).date_naive();
    let mut slices = Vec::new();
    let mut day = first;
    while day <= last {
        if weekday.is_none_or(|d| day.weekday().number_from_monday() == d) {
            let at = |date: NaiveDate, hour: u32| {
                resolve_local(tz, date.and_hms_opt(hour, 0, 0).unwrap_or_default())
            };
            let start = at(day, from_hour);
            let end = if to_hour == 24 {
                at(day + Duration::days(1), 0)
            } else {
                at(day, to_hour)
            };
            let (start, end) = (start.max(window.from), end.min(window.to));
            if start < end {
                match slices.last_mut() {
                    Some((_, previous_end)) if *previous_end == start => *previous_end = end,
                    _ => slices.push((start, end)),
                }
            }
        }
        day += Duration::days(1);
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_local_days_and_to_is_inclusive() {
        let now = Utc::now();
        let w = parse(
            Some("2026-03-01"),
            Some("2026-03-31"),
            chrono_tz::Europe::Paris,
            now,
        )
        .unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-02-28T23:00:00+00:00");
        assert_eq!(w.to.to_rfc3339(), "2026-03-31T22:00:00+00:00");
    }

    #[test]
    fn windows_are_bounded() {
        let now = Utc::now();
        let paris = chrono_tz::Europe::Paris;
        assert!(parse(Some("2026-01-01"), Some("2027-06-01"), paris, now).is_err());
        assert!(parse(Some("2026-03-02"), Some("2026-03-01"), paris, now).is_err());
        assert!(parse(Some("yesterday"), None, paris, now).is_err());
    }

    #[test]
    fn slices_are_the_local_days_and_hours_asked_for() {
        let tz = chrono_tz::Europe::Paris;
        // Thursday 26 March to Thursday 2 April 2026: Paris moves to summer time on the
        // 29th.
        let window = Window {
            from: "2026-03-26T00:00:00Z".parse().unwrap(),
            to: "2026-04-02T00:00:00Z".parse().unwrap(),
        };
        let tuesday_evening = slices(window, Some(2), Some(TimeOfDay::Evening), tz);
        assert_eq!(
            tuesday_evening,
            vec![(
                "2026-03-31T16:00:00Z".parse().unwrap(),
                "2026-03-31T22:00:00Z".parse().unwrap()
            )]
        );
        let mornings = slices(window, None, Some(TimeOfDay::Morning), tz);
        assert_eq!(mornings.len(), 8);
        assert_eq!(mornings[0].0, window.from);
        assert_eq!(
            mornings[3].0,
            "2026-03-28T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            mornings[3].1,
            "2026-03-29T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Every Saturday, all day: whole days, joined when they follow each other.
        assert_eq!(slices(window, Some(6), None, tz).len(), 1);
        assert_eq!(
            slices(window, None, None, tz),
            vec![(window.from, window.to)]
        );
        assert!(TimeOfDay::Evening.holds(18) && !TimeOfDay::Evening.holds(17));
    }
}
