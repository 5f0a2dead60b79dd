//! Who was present when, as one bit per local day and year: distinct participants over
//! any period are counted from a few rows per participant instead of every record.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::stats::{GroupBy, Period};

/// Bytes of a year's mask: one bit per day of the year (366 at most).
pub const MASK_BYTES: usize = 46;

/// An empty year.
pub fn empty_mask() -> Vec<u8> {
    vec![0; MASK_BYTES]
}

/// Marks `date` present in its year's mask.
pub fn mark(mask: &mut [u8], date: NaiveDate) {
    let day = date.ordinal0() as usize;
    if let Some(byte) = mask.get_mut(day / 8) {
        *byte |= 1 << (day % 8);
    }
}

/// Whether any day from `first` to `last` (same year, both included) is marked.
pub fn any_between(mask: &[u8], first: NaiveDate, last: NaiveDate) -> bool {
    days_marked(mask, first.ordinal0() as usize, last.ordinal0() as usize)
}

/// Whether any bit from `first` to `last` (both included) is set, a byte at a time.
fn days_marked(mask: &[u8], first: usize, last: usize) -> bool {
    (first / 8..=last / 8).any(|i| {
        let low = if i == first / 8 { first % 8 } else { 0 };
        let high = if i == last / 8 { last % 8 } else { 7 };
        let wanted = ((1u16 << (high + 1)) - (1u16 << low)) as u8;
        mask.get(i).is_some_and(|byte| byte & wanted != 0)
    })
}

/// One mask per key (for a participant and year: club, sport, structure, situation)
/// from the dates they were present.
pub fn masks<K: Ord>(present: impl IntoIterator<Item = (K, NaiveDate)>) -> BTreeMap<K, Vec<u8>> {
    let mut masks = BTreeMap::new();
    for (key, date) in present {
        mark(masks.entry(key).or_insert_with(empty_mask), date);
    }
    masks
}

/// One participant's presence in one year and group (the group's key; ignored when
/// grouping by month, which the mask itself carries).
#[derive(Debug, Clone)]
pub struct Presence {
    pub group: String,
    pub participant_id: Uuid,
    pub year: i32,
    pub days: Vec<u8>,
}

/// Distinct participants present in `period`, per group and in total.
pub fn distinct_present(
    rows: &[Presence],
    period: Period,
    by: GroupBy,
) -> (HashMap<String, i64>, i64) {
    // Groups are numbered as they come, so the sets hold small copyable pairs; a month
    // is numbered once, not once per participant present in it.
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut pairs: HashSet<(u32, Uuid)> = HashSet::new();
    let mut everyone: HashSet<Uuid> = HashSet::new();
    let mut number = |key: &str| -> u32 {
        let next = numbers.len() as u32;
        match numbers.get(key) {
            Some(n) => *n,
            None => {
                numbers.insert(key.to_owned(), next);
                next
            }
        }
    };
    let mut years: HashMap<i32, Vec<(u32, NaiveDate, NaiveDate)>> = HashMap::new();
    for row in rows {
        if years.contains_key(&row.year) {
            continue;
        }
        let months = months_of(period, row.year)
            .into_iter()
            .map(|(month, first, last)| {
                let n = if by == GroupBy::Month {
                    number(&month)
                } else {
                    0
                };
                (n, first, last)
            })
            .collect();
        years.insert(row.year, months);
    }
    for row in rows {
        let months = years.get(&row.year).map(Vec::as_slice).unwrap_or_default();
        if by == GroupBy::Month {
            let mut present = false;
            for (month, first, last) in months {
                if any_between(&row.days, *first, *last) {
                    pairs.insert((*month, row.participant_id));
                    present = true;
                }
            }
            if present {
                everyone.insert(row.participant_id);
            }
            continue;
        }
        // Any day of the period in this year: one range, from its first month's first
        // day to its last month's last day.
        let (Some((_, first, _)), Some((_, _, last))) = (months.first(), months.last()) else {
            continue;
        };
        if any_between(&row.days, *first, *last) {
            pairs.insert((number(&row.group), row.participant_id));
            everyone.insert(row.participant_id);
        }
    }
    let mut counts = vec![0i64; numbers.len()];
    for (group, _) in pairs {
        counts[group as usize] += 1;
    }
    let per_group = numbers
        .into_iter()
        .map(|(key, n)| (key, counts[n as usize]))
        .filter(|(_, count)| *count > 0)
        .collect();
    (per_group, everyone.len() as i64)
}

/// The months of `year` inside `period`: key `YYYY-MM` and the first and last day kept.
fn months_of(period: Period, year: i32) -> Vec<(String, NaiveDate, NaiveDate)> {
    (1..=12)
        .filter_map(|month| {
            let start = NaiveDate::from_ymd_opt(year, month, 1)?;
            let end = start
                .checked_add_months(chrono::Months::new(1))?
                .pred_opt()?;
            let first = start.max(period.from);
            let last = end.min(period.to);
            (first <= last).then(|| (format!("{year}-{month:02}"), first, last))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn presence(group: &str, who: Uuid, dates: &[&str]) -> Presence {
        let mut days = empty_mask();
        for d in dates {
            mark(&mut days, day(d));
        }
        Presence {
            group: group.into(),
            participant_id: who,
            year: day(dates[0]).year(),
            days,
        }
    }

    #[test]
    fn masks_hold_every_day_of_a_leap_year() {
        let mut mask = empty_mask();
        mark(&mut mask, day("2028-12-31"));
        assert!(any_between(&mask, day("2028-12-31"), day("2028-12-31")));
        assert!(!any_between(&mask, day("2028-01-01"), day("2028-12-30")));
        mark(&mut mask, day("2028-01-01"));
        assert!(any_between(&mask, day("2028-01-01"), day("2028-01-01")));
    }

    #[test]
    fn ranges_are_read_a_byte_at_a_time_as_day_by_day() {
        let masks: Vec<Vec<u8>> = vec![
            vec![0b1000_0001; MASK_BYTES],
            (0..MASK_BYTES as u8).map(|i| i.wrapping_mul(37)).collect(),
            {
                let mut m = empty_mask();
                m[5] = 0b0001_0000;
                m
            },
        ];
        for mask in &masks {
            for first in 0..60 {
                for last in first..first + 30 {
                    let by_day = (first..=last).any(|d| mask[d / 8] & (1 << (d % 8)) != 0);
                    assert_eq!(days_marked(mask, first, last), by_day, "{first}..={last}");
                }
            }
        }
    }

    #[test]
    fn a_participant_counts_once_per_group_and_once_in_total() {
        let (amina, karim) = (Uuid::new_v4(), Uuid::new_v4());
        let rows = [
            presence("bondy", amina, &["2026-03-03", "2026-03-10", "2026-04-07"]),
            presence("lyon", amina, &["2026-03-05"]),
            presence("bondy", karim, &["2026-02-24"]),
        ];
        let march = Period {
            from: day("2026-03-01"),
            to: day("2026-03-31"),
        };
        let (clubs, total) = distinct_present(&rows, march, GroupBy::Club);
        assert_eq!(clubs.get("bondy"), Some(&1));
        assert_eq!(clubs.get("lyon"), Some(&1));
        assert_eq!(total, 1);
        let spring = Period {
            from: day("2026-02-24"),
            to: day("2026-04-06"),
        };
        let (months, total) = distinct_present(&rows, spring, GroupBy::Month);
        assert_eq!(months.get("2026-02"), Some(&1));
        assert_eq!(months.get("2026-03"), Some(&1));
        assert_eq!(months.get("2026-04"), None, "7 April is outside the period");
        assert_eq!(total, 2);
    }
}
