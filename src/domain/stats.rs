//! The impact figures: encounters by club, sport, month, situation or structure over a
//! period of local dates.

use chrono::{DateTime, Datelike, NaiveDate};

use super::FieldError;

/// Longest period one request may cover.
pub const MAX_PERIOD_DAYS: i64 = 3660;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Club,
    Sport,
    Month,
    Situation,
    Structure,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Club,
        GroupBy::Sport,
        GroupBy::Month,
        GroupBy::Situation,
        GroupBy::Structure,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Club => "club",
            Self::Sport => "sport",
            Self::Month => "month",
            Self::Situation => "situation",
            Self::Structure => "structure",
        }
    }

    pub fn parse(value: Option<&str>) -> Result<Self, FieldError> {
        let value = value.map(str::trim).unwrap_or("month");
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == value)
            .ok_or_else(|| {
                FieldError::new(
                    "group_by",
                    "must be one of club, sport, month, situation, structure",
                )
            })
    }
}

/// Both ends included, compared with the local date of each occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// Reads `from`/`to` (dates, or RFC 3339 times whose date is taken); the default is
    /// the current year up to `today`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, FieldError> {
        let from = match from {
            Some(text) => date("from", text)?,
            None => NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
        };
        let to = match to {
            Some(text) => date("to", text)?,
            None => today.max(from),
        };
        if to < from {
            return Err(FieldError::new("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(FieldError::new(
                "to",
                format!("a period may span at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }
}

fn date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.date_naive())
        })
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("{text:?} is not a date (2026-03-01) or an RFC 3339 time"),
            )
        })
}

/// The figures of one group (or of the whole, `key` = `total`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub key: String,
    pub label: String,
    /// Records of participants marked present.
    pub participant_encounters: i64,
    pub walk_ins: i64,
    pub unique_participants: i64,
    pub occurrences_held: i64,
    /// Records of participants who held a confirmed place, and those of them present.
    pub confirmed_places: i64,
    pub attended_places: i64,
    /// Participants whose first encounter in the programme falls in the period.
    pub first_encounters: i64,
}

impl Figures {
    pub fn encounters(&self) -> i64 {
        self.participant_encounters + self.walk_ins
    }

    pub fn attendance_rate(&self) -> Option<f64> {
        (self.confirmed_places > 0)
            .then(|| self.attended_places as f64 / self.confirmed_places as f64)
    }
}

/// Months in time order; anything else by encounters, most first, then by label.
pub fn order(groups: &mut [Figures], by: GroupBy) {
    match by {
        GroupBy::Month => groups.sort_by(|a, b| a.key.cmp(&b.key)),
        _ => groups.sort_by(|a, b| {
            b.encounters()
                .cmp(&a.encounters())
                .then_with(|| a.label.cmp(&b.label))
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
}

pub const CSV_HEADER: [&str; 11] = [
    "key",
    "label",
    "encounters",
    "participant_encounters",
    "walk_ins",
    "unique_participants",
    "occurrences_held",
    "confirmed_places",
    "attended_places",
    "attendance_rate",
    "first_encounters",
];

/// One CSV record per group, in the order of [`CSV_HEADER`].
pub fn csv_record(f: &Figures) -> [String; 11] {
    [
        f.key.clone(),
        f.label.clone(),
        f.encounters().to_string(),
        f.participant_encounters.to_string(),
        f.walk_ins.to_string(),
        f.unique_participants.to_string(),
        f.occurrences_held.to_string(),
        f.confirmed_places.to_string(),
        f.attended_places.to_string(),
        f.attendance_rate()
            .map(|r| format!("{r:.4}"))
            .unwrap_or_default(),
        f.first_encounters.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_default_to_the_year_so_far_and_include_both_ends() {
        let today = day("2026-11-27");
        let p = Period::parse(None, None, today).unwrap();
        assert_eq!((p.from, p.to), (day("2026-01-01"), today));
        let p = Period::parse(Some("2026-03-01"), Some("2026-03-01"), today).unwrap();
        assert_eq!(p.from, p.to);
        let p = Period::parse(Some("2026-03-01T00:30:00+01:00"), None, today).unwrap();
        assert_eq!(p.from, day("2026-03-01"));
    }

    #[test]
    fn bad_periods_name_their_field() {
        let today = day("2026-11-27");
        let field = |f, t| Period::parse(f, t, today).unwrap_err().field;
        assert_eq!(field(Some("2026-13-01"), None), "from");
        assert_eq!(field(None, Some("soon")), "to");
        assert_eq!(field(Some("2026-03-02"), Some("2026-03-01")), "to");
        assert_eq!(field(Some("2000-01-01"), Some("2026-01-01")), "to");
        assert_eq!(
            GroupBy::parse(Some("weekday")).unwrap_err().field,
            "group_by"
        );
        assert_eq!(GroupBy::parse(None).unwrap(), GroupBy::Month);
    }

    #[test]
    fn encounters_add_walk_ins_and_rates_need_places() {
        let f = Figures {
            participant_encounters: 10,
            walk_ins: 2,
            confirmed_places: 16,
            attended_places: 10,
            ..Figures::default()
        };
        assert_eq!(f.encounters(), 12);
        assert_eq!(f.attendance_rate(), Some(0.625));
        assert_eq!(csv_record(&f)[9], "0.6250");
        assert_eq!(Figures::default().attendance_rate(), None);
        assert_eq!(csv_record(&Figures::default())[9], "");
    }

    #[test]
    fn months_are_in_time_order_other_groups_by_weight() {
        let group = |key: &str, n| Figures {
            key: key.into(),
            label: key.into(),
            participant_encounters: n,
            ..Figures::default()
        };
        let mut months = vec![group("2026-03", 1), group("2026-01", 5)];
        order(&mut months, GroupBy::Month);
        assert_eq!(months[0].key, "2026-01");
        let mut clubs = vec![group("b", 1), group("a", 5), group("c", 5)];
        order(&mut clubs, GroupBy::Club);
        let keys: Vec<&str> = clubs.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["a", "c", "b"]);
    }
}
