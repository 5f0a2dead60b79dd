//! Daily figures by structure and by situation: what one occurrence's attendance adds
//! to the days it falls on. The store keeps their sums per day (table `daily_figures`),
//! so a year's figures by structure or situation read a few rows per day instead of
//! every record. Recording a sheet applies `after − before` of its occurrence.

use std::collections::BTreeMap;

/// The key of every structure, or of every situation.
pub const ALL: &str = "*";
/// The structure key of walk-ins: they belong to no structure.
pub const WALK_IN: &str = "walk_in";

/// One line of an occurrence's attendance as the daily figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// A participant's record; `structure` is the structure's key (its id as text).
    Record {
        local_date: String,
        structure: String,
        situation: String,
        present: bool,
        held_place: bool,
    },
    /// Anonymous walk-ins of one situation.
    WalkIns {
        local_date: String,
        situation: String,
        count: i64,
    },
}

/// Structure key, situation key, local date.
pub type DayKey = (String, String, String);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub records: i64,
    pub present: i64,
    pub held: i64,
    pub held_present: i64,
    pub walk_ins: i64,
    /// Occurrences with a record or walk-in of the key that day.
    pub occurrences: i64,
}

impl DayCounts {
    fn minus(self, other: Self) -> Self {
        Self {
            records: self.records - other.records,
            present: self.present - other.present,
            held: self.held - other.held,
            held_present: self.held_present - other.held_present,
            walk_ins: self.walk_ins - other.walk_ins,
            occurrences: self.occurrences - other.occurrences,
        }
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// What the facts of ONE occurrence count for: each fact counts for its structure and
/// situation, its structure (every situation), and its situation (every structure);
/// the occurrence counts once for each key it touches.
pub fn of_occurrence(facts: &[Fact]) -> BTreeMap<DayKey, DayCounts> {
    let mut counts: BTreeMap<DayKey, DayCounts> = BTreeMap::new();
    for fact in facts {
        let (date, structure, situation) = match fact {
            Fact::Record {
                local_date,
                structure,
                situation,
                ..
            } => (local_date, structure.as_str(), situation),
            Fact::WalkIns {
                local_date,
                situation,
                ..
            } => (local_date, WALK_IN, situation),
        };
        let keys = [
            (structure, situation.as_str()),
            (structure, ALL),
            (ALL, situation.as_str()),
        ];
        for (structure, situation) in keys {
            let key = (structure.to_owned(), situation.to_owned(), date.clone());
            let c = counts.entry(key).or_default();
            c.occurrences = 1;
            match fact {
                Fact::Record {
                    present,
                    held_place,
                    ..
                } => {
                    c.records += 1;
                    c.present += i64::from(*present);
                    c.held += i64::from(*held_place);
                    c.held_present += i64::from(*held_place && *present);
                }
                Fact::WalkIns { count, .. } => c.walk_ins += count,
            }
        }
    }
    counts
}

/// What to add to the daily figures when an occurrence's facts go from `before` to
/// `after`: the keys whose counts change, in key order (writers upsert rows in the same
/// order, so two sheets of one day never wait on each other crosswise).
pub fn change(before: &[Fact], after: &[Fact]) -> Vec<(DayKey, DayCounts)> {
    let before = of_occurrence(before);
    let mut after = of_occurrence(after);
    for (key, old) in before {
        let new = after.entry(key).or_default();
        *new = new.minus(old);
    }
    after.into_iter().filter(|(_, c)| !c.is_zero()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(structure: &str, situation: &str, present: bool, held_place: bool) -> Fact {
        Fact::Record {
            local_date: "2026-03-07".into(),
            structure: structure.into(),
            situation: situation.into(),
            present,
            held_place,
        }
    }

    fn walk_ins(situation: &str, count: i64) -> Fact {
        Fact::WalkIns {
            local_date: "2026-03-07".into(),
            situation: situation.into(),
            count,
        }
    }

    fn key(structure: &str, situation: &str) -> DayKey {
        (structure.into(), situation.into(), "2026-03-07".into())
    }

    #[test]
    fn an_occurrence_counts_once_per_key_and_every_record_in_three_keys() {
        let counts = of_occurrence(&[
            record("s1", "shelter", true, true),
            record("s1", "street", false, true),
            record("s2", "shelter", true, false),
            walk_ins("shelter", 3),
        ]);
        let s1 = counts[&key("s1", ALL)];
        assert_eq!(
            (s1.records, s1.present, s1.held, s1.held_present),
            (2, 1, 2, 1)
        );
        assert_eq!(s1.occurrences, 1);
        let shelter = counts[&key(ALL, "shelter")];
        assert_eq!(
            (shelter.records, shelter.present, shelter.walk_ins),
            (2, 2, 3)
        );
        assert_eq!(
            shelter.occurrences, 1,
            "records and walk-ins: one occurrence"
        );
        assert_eq!(counts[&key(WALK_IN, ALL)].walk_ins, 3);
        assert_eq!(counts[&key("s2", "shelter")].held, 0);
        // s1 × 2 situations, s2 × 1, walk_in × 1, each with its "all situations" row,
        // and 2 situations over every structure.
        assert_eq!(counts.len(), 4 + 3 + 2);
    }

    #[test]
    fn a_correction_changes_only_what_moved_and_an_emptied_key_goes_to_zero() {
        let before = [record("s1", "shelter", false, true), walk_ins("street", 1)];
        let after = [record("s1", "shelter", true, true)];
        let moved: BTreeMap<_, _> = change(&before, &after).into_iter().collect();
        let s1 = moved[&key("s1", "shelter")];
        assert_eq!(
            (s1.records, s1.present, s1.held_present, s1.occurrences),
            (0, 1, 1, 0)
        );
        let street = moved[&key(ALL, "street")];
        assert_eq!((street.walk_ins, street.occurrences), (-1, -1));
        assert!(moved.keys().all(|(_, _, date)| date == "2026-03-07"));
        assert!(change(&after, &after).is_empty());
    }

    #[test]
    fn a_moved_occurrence_leaves_its_old_day() {
        let before = [record("s1", "shelter", true, true)];
        let after = [Fact::Record {
            local_date: "2026-03-08".into(),
            structure: "s1".into(),
            situation: "shelter".into(),
            present: true,
            held_place: true,
        }];
        let moved = change(&before, &after);
        let old: i64 = moved
            .iter()
            .filter(|((_, _, d), _)| d == "2026-03-07")
            .map(|(_, c)| c.occurrences)
            .sum();
        let new: i64 = moved
            .iter()
            .filter(|((_, _, d), _)| d == "2026-03-08")
            .map(|(_, c)| c.occurrences)
            .sum();
        assert_eq!((old, new), (-3, 3));
    }
}
