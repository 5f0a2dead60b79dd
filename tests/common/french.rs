//! Dates written out in French as participants read them, computed here independently
//! of the service's own writer (an oracle for the emails and pages).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

const DAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
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

/// "16 février 2027", "1er mars 2027".
pub fn date(date: NaiveDate) -> String {
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!("{day} {} {}", MONTHS[date.month0() as usize], date.year())
}

/// "mardi 1er décembre 2026 à 18 h 30", "lundi 2 mars 2026 à 9 h".
pub fn date_time(local: NaiveDateTime) -> String {
    let weekday = DAYS[local.weekday().num_days_from_monday() as usize];
    let time = if local.minute() == 0 {
        format!("{} h", local.hour())
    } else {
        format!("{} h {:02}", local.hour(), local.minute())
    };
    format!("{weekday} {} à {time}", date(local.date()))
}
