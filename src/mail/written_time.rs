//! Dates written out in words, in French or English, without a locale crate.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::lang::Lang;

const FR_DAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn day_name(lang: Lang, weekday: Weekday) -> &'static str {
    let i = weekday.num_days_from_monday() as usize;
    match lang {
        Lang::Fr => FR_DAYS[i],
        Lang::En => EN_DAYS[i],
    }
}

/// A local date and time written out:
/// - fr: "mardi 10 mars 2026 à 18 h 30", "dimanche 1er mars 2026 à 9 h"
/// - en: "Tuesday 10 March 2026 at 6:30 pm", "at 6 pm", "at 12 pm" (noon),
///   "at 12 am" (midnight)
pub fn written(lang: Lang, local: NaiveDateTime) -> String {
    let (day, time) = (
        written_day(lang, local.date()),
        written_clock(lang, local.time()),
    );
    match lang {
        Lang::Fr => format!("{day} à {time}"),
        Lang::En => format!("{day} at {time}"),
    }
}

/// A date written out: "mardi 10 mars 2026", "Tuesday 10 March 2026".
pub fn written_day(lang: Lang, date: NaiveDate) -> String {
    let day = day_name(lang, date.weekday());
    let month0 = date.month0() as usize;
    let (d, y) = (date.day(), date.year());
    match lang {
        Lang::Fr => {
            let dom = if d == 1 {
                "1er".to_owned()
            } else {
                d.to_string()
            };
            format!("{day} {dom} {} {y}", FR_MONTHS[month0])
        }
        Lang::En => format!("{day} {d} {} {y}", EN_MONTHS[month0]),
    }
}

/// A time of day: "18 h 30", "9 h"; "6:30 pm", "6 pm".
pub fn written_clock(lang: Lang, time: NaiveTime) -> String {
    let (h, m) = (time.hour(), time.minute());
    match lang {
        Lang::Fr if m == 0 => format!("{h} h"),
        Lang::Fr => format!("{h} h {m:02}"),
        Lang::En => {
            let (h12, ampm) = match h {
                0 => (12, "am"),
                1..=11 => (h, "am"),
                12 => (12, "pm"),
                _ => (h - 12, "pm"),
            };
            if m == 0 {
                format!("{h12} {ampm}")
            } else {
                format!("{h12}:{m:02} {ampm}")
            }
        }
    }
}

/// Convenience: an instant written out in the wall-clock time of `tz`
/// (e.g. `chrono_tz::Europe::Paris`).
pub fn written_in(lang: Lang, at: DateTime<Utc>, tz: Tz) -> String {
    written(lang, at.with_timezone(&tz).naive_local())
}

/// "chaque mardi" / "every Tuesday".
pub fn weekday_recurrence(lang: Lang, weekday: Weekday) -> String {
    match lang {
        Lang::Fr => format!("chaque {}", day_name(lang, weekday)),
        Lang::En => format!("every {}", day_name(lang, weekday)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn french() {
        assert_eq!(
            written(Lang::Fr, at(2026, 3, 10, 18, 30)),
            "mardi 10 mars 2026 à 18 h 30"
        );
        assert_eq!(
            written(Lang::Fr, at(2026, 3, 10, 18, 0)),
            "mardi 10 mars 2026 à 18 h"
        );
        assert_eq!(
            written(Lang::Fr, at(2026, 3, 1, 9, 5)),
            "dimanche 1er mars 2026 à 9 h 05"
        );
        assert_eq!(
            written(Lang::Fr, at(2026, 8, 15, 0, 0)),
            "samedi 15 août 2026 à 0 h"
        );
        assert_eq!(
            written(Lang::Fr, at(2026, 12, 2, 12, 0)),
            "mercredi 2 décembre 2026 à 12 h"
        );
    }

    #[test]
    fn english() {
        assert_eq!(
            written(Lang::En, at(2026, 3, 10, 18, 30)),
            "Tuesday 10 March 2026 at 6:30 pm"
        );
        assert_eq!(
            written(Lang::En, at(2026, 3, 10, 18, 0)),
            "Tuesday 10 March 2026 at 6 pm"
        );
        assert_eq!(
            written(Lang::En, at(2026, 3, 1, 9, 5)),
            "Sunday 1 March 2026 at 9:05 am"
        );
        // noon and midnight
        assert_eq!(
            written(Lang::En, at(2026, 12, 2, 12, 0)),
            "Wednesday 2 December 2026 at 12 pm"
        );
        assert_eq!(
            written(Lang::En, at(2026, 8, 15, 0, 0)),
            "Saturday 15 August 2026 at 12 am"
        );
        assert_eq!(
            written(Lang::En, at(2026, 8, 15, 0, 15)),
            "Saturday 15 August 2026 at 12:15 am"
        );
    }

    #[test]
    fn recurrence() {
        assert_eq!(weekday_recurrence(Lang::Fr, Weekday::Tue), "chaque mardi");
        assert_eq!(weekday_recurrence(Lang::En, Weekday::Sun), "every Sunday");
    }

    #[test]
    fn in_time_zone() {
        // 17:30 UTC is 18:30 in Paris in March (before DST switch on 29 March).
        let utc = Utc.with_ymd_and_hms(2026, 3, 10, 17, 30, 0).unwrap();
        assert_eq!(
            written_in(Lang::Fr, utc, chrono_tz::Europe::Paris),
            "mardi 10 mars 2026 à 18 h 30"
        );
        // In July Paris is UTC+2.
        let utc = Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap();
        assert_eq!(
            written_in(Lang::En, utc, chrono_tz::Europe::Paris),
            "Wednesday 1 July 2026 at 6 pm"
        );
    }
}
