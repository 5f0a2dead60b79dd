//! The `from`/`to` window of occurrence listings.

use chrono::{DateTime, Duration, NaiveDate, Utc};
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
}
