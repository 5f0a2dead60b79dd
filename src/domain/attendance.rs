//! Attendance: who came to an occurrence, who may still change it, and when a run of
//! absences deserves a word to the social worker. Every `present` is an encounter.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::participants::situation;
use super::FieldError;

/// A club manager may record or correct attendance this long after the start; after
/// that, programme staff only (the month's figures are being published).
pub const MANAGER_WINDOW_DAYS: i64 = 30;
/// Most walk-ins one line may count: more is a typing error.
pub const MAX_WALK_INS: i32 = 200;
/// Consecutive unexcused absences after which the social worker is told.
pub const ALERT_STREAK: usize = 2;
/// The situation of a walk-in nobody asked about.
pub const UNKNOWN_SITUATION: &str = "unknown";

/// What happened to a participant at an occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Mark {
    Present,
    Absent,
    /// Absent, having said ahead they could not come (or excused by the club).
    Excused,
}

super::text_enum!(Mark {
    Present = "present",
    Absent = "absent",
    Excused = "excused",
});

impl Mark {
    /// What a confirmed participant the club did not mention is recorded as: excused
    /// when they said ahead that they could not come.
    pub fn unmentioned(declined: bool) -> Self {
        if declined {
            Self::Excused
        } else {
            Self::Absent
        }
    }
}

/// Why attendance cannot be recorded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    NotStarted,
    /// Past the club's window: programme staff only.
    StaffOnly,
}

/// Whether attendance of an occurrence starting at `start` may be recorded at `now`.
pub fn recording_open(
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    is_staff: bool,
) -> Result<(), Closed> {
    if now < start {
        Err(Closed::NotStarted)
    } else if !is_staff && now > start + Duration::days(MANAGER_WINDOW_DAYS) {
        Err(Closed::StaffOnly)
    } else {
        Ok(())
    }
}

/// Someone enrolled in the session, as a sheet needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub participant_id: Uuid,
    pub enrollment_id: Uuid,
    /// Holds a confirmed enrollment covering this occurrence.
    pub confirmed: bool,
    /// Answered "I can't come" for this occurrence.
    pub declined: bool,
}

impl Enrolled {
    /// Whether they held a place: confirmed, and did not give it back.
    pub fn held_place(&self) -> bool {
        self.confirmed && !self.declined
    }
}

/// One participant's line of an occurrence's attendance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub participant_id: Uuid,
    pub enrollment_id: Uuid,
    pub mark: Mark,
    pub held_place: bool,
}

/// The whole attendance of an occurrence from what the club said (`said`, participants
/// already resolved among `enrolled`): confirmed participants it did not mention are
/// absent, or excused when they declined ahead; while check-in is `in_progress` they
/// are not recorded yet (an absence counted before the club has finished would warn a
/// social worker about someone still on their way), and what is already `recorded` for
/// them stays: taps from two phones, or a tap sent after the sheet was closed, add to
/// the sheet instead of undoing each other. Lines are in participant order.
pub fn sheet(
    enrolled: &[Enrolled],
    said: &[(Uuid, Mark)],
    in_progress: bool,
    recorded: &HashMap<Uuid, Mark>,
) -> Vec<Line> {
    let by_participant: HashMap<Uuid, &Enrolled> =
        enrolled.iter().map(|e| (e.participant_id, e)).collect();
    let unmentioned = |e: &Enrolled| match (in_progress, recorded.get(&e.participant_id)) {
        (true, kept) => kept.copied(),
        (false, _) => e.confirmed.then(|| Mark::unmentioned(e.declined)),
    };
    let mut lines: BTreeMap<Uuid, Line> = enrolled
        .iter()
        .filter_map(|e| {
            let line = Line {
                participant_id: e.participant_id,
                enrollment_id: e.enrollment_id,
                mark: unmentioned(e)?,
                held_place: e.held_place(),
            };
            Some((e.participant_id, line))
        })
        .collect();
    for (participant_id, mark) in said {
        if let Some(e) = by_participant.get(participant_id) {
            lines.insert(
                *participant_id,
                Line {
                    participant_id: *participant_id,
                    enrollment_id: e.enrollment_id,
                    mark: *mark,
                    held_place: e.held_place(),
                },
            );
        }
    }
    lines.into_values().collect()
}

/// Walk-ins by situation (`unknown` when not said), summed, without empty lines.
/// `lines` are (situation, count) as sent; errors name `walk_ins[i]…`.
pub fn walk_ins(lines: &[(Option<String>, i32)]) -> Result<BTreeMap<String, i32>, FieldError> {
    let mut counted = BTreeMap::new();
    for (i, (said, count)) in lines.iter().enumerate() {
        if !(0..=MAX_WALK_INS).contains(count) {
            return Err(FieldError::new(
                format!("walk_ins[{i}].count"),
                format!("must be between 0 and {MAX_WALK_INS}"),
            ));
        }
        let key = match said.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => UNKNOWN_SITUATION.to_owned(),
            Some(value) => situation(value).map_err(|e| FieldError {
                field: format!("walk_ins[{i}].situation"),
                message: e.message,
            })?,
        };
        if *count > 0 {
            let total = counted.entry(key).or_insert(0);
            *total = (*total + count).min(MAX_WALK_INS * 10);
        }
    }
    Ok(counted)
}

/// How many of the most recent marks (`newest_first`) are unexcused absences in a row.
pub fn absence_streak(newest_first: &[Mark]) -> usize {
    newest_first
        .iter()
        .take_while(|m| **m == Mark::Absent)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn enrolled(confirmed: bool, declined: bool) -> Enrolled {
        Enrolled {
            participant_id: Uuid::new_v4(),
            enrollment_id: Uuid::new_v4(),
            confirmed,
            declined,
        }
    }

    #[test]
    fn the_club_records_from_the_start_for_thirty_days_then_staff_only() {
        let start = Utc.with_ymd_and_hms(2026, 3, 10, 17, 30, 0).unwrap();
        let before = start - Duration::minutes(1);
        assert_eq!(recording_open(start, before, true), Err(Closed::NotStarted));
        assert_eq!(recording_open(start, start, false), Ok(()));
        let last = start + Duration::days(MANAGER_WINDOW_DAYS);
        assert_eq!(recording_open(start, last, false), Ok(()));
        let late = last + Duration::seconds(1);
        assert_eq!(recording_open(start, late, false), Err(Closed::StaffOnly));
        assert_eq!(recording_open(start, late, true), Ok(()));
    }

    #[test]
    fn unmentioned_confirmed_participants_are_absent_or_excused() {
        let came = enrolled(true, false);
        let silent = enrolled(true, false);
        let declined = enrolled(true, true);
        let waiting = enrolled(false, false);
        let lines = sheet(
            &[
                came.clone(),
                silent.clone(),
                declined.clone(),
                waiting.clone(),
            ],
            &[(came.participant_id, Mark::Present)],
            false,
            &HashMap::new(),
        );
        let mark = |id: Uuid| {
            lines
                .iter()
                .find(|l| l.participant_id == id)
                .map(|l| l.mark)
        };
        assert_eq!(mark(came.participant_id), Some(Mark::Present));
        assert_eq!(mark(silent.participant_id), Some(Mark::Absent));
        assert_eq!(mark(declined.participant_id), Some(Mark::Excused));
        // Waitlisted people held no place: only recorded when the club names them.
        assert_eq!(mark(waiting.participant_id), None);
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_sheet_in_progress_records_only_who_was_marked() {
        let came = enrolled(true, false);
        let away = enrolled(true, false);
        let not_yet = enrolled(true, false);
        let said = [
            (came.participant_id, Mark::Present),
            (away.participant_id, Mark::Absent),
        ];
        let people = [came.clone(), away.clone(), not_yet.clone()];
        let lines = sheet(&people, &said, true, &HashMap::new());
        let marked: Vec<(Uuid, Mark)> = lines.iter().map(|l| (l.participant_id, l.mark)).collect();
        assert_eq!(marked.len(), 2);
        assert!(marked.contains(&(came.participant_id, Mark::Present)));
        assert!(marked.contains(&(away.participant_id, Mark::Absent)));
        // Closing the same sheet records the one nobody marked as absent.
        let closed = sheet(&people, &said, false, &HashMap::new());
        assert!(closed
            .iter()
            .any(|l| l.participant_id == not_yet.participant_id && l.mark == Mark::Absent));
    }

    #[test]
    fn taps_keep_what_is_recorded_and_only_closing_replaces_it() {
        let (amina, bilal, chloe) = (
            enrolled(true, false),
            enrolled(true, false),
            enrolled(true, false),
        );
        let people = [amina.clone(), bilal.clone(), chloe.clone()];
        // One phone marked Amina present; the sheet was then closed (Chloé absent).
        let recorded = HashMap::from([
            (amina.participant_id, Mark::Present),
            (chloe.participant_id, Mark::Absent),
        ]);
        // Another phone, which never saw those marks, taps Bilal present.
        let taps = sheet(
            &people,
            &[(bilal.participant_id, Mark::Present)],
            true,
            &recorded,
        );
        let marks: HashMap<Uuid, Mark> = taps.iter().map(|l| (l.participant_id, l.mark)).collect();
        assert_eq!(marks.len(), 3, "{taps:?}");
        assert_eq!(marks[&amina.participant_id], Mark::Present);
        assert_eq!(marks[&bilal.participant_id], Mark::Present);
        assert_eq!(marks[&chloe.participant_id], Mark::Absent);
        // A tap changes a recorded mark.
        let changed = sheet(
            &people,
            &[(chloe.participant_id, Mark::Excused)],
            true,
            &recorded,
        );
        assert!(changed
            .iter()
            .any(|l| l.participant_id == chloe.participant_id && l.mark == Mark::Excused));
        // A closed sheet (the API's, or the page's "save") replaces: unmentioned is absent.
        let closed = sheet(
            &people,
            &[(bilal.participant_id, Mark::Present)],
            false,
            &recorded,
        );
        assert!(closed
            .iter()
            .any(|l| l.participant_id == amina.participant_id && l.mark == Mark::Absent));
    }

    #[test]
    fn the_club_overrides_an_advance_decline_and_places_follow_the_enrollment() {
        let declined = enrolled(true, true);
        let waiting = enrolled(false, false);
        let lines = sheet(
            &[declined.clone(), waiting.clone()],
            &[
                (declined.participant_id, Mark::Present),
                (waiting.participant_id, Mark::Present),
            ],
            false,
            &HashMap::new(),
        );
        assert!(lines.iter().all(|l| l.mark == Mark::Present));
        // Neither held a place: one gave it back, the other waited for one.
        assert!(lines.iter().all(|l| !l.held_place));
    }

    #[test]
    fn walk_ins_are_summed_by_situation_and_bounded() {
        let counted = walk_ins(&[
            (Some("street".into()), 2),
            (None, 1),
            (Some(" street ".into()), 1),
            (Some("".into()), 0),
        ])
        .unwrap();
        assert_eq!(counted.get("street"), Some(&3));
        assert_eq!(counted.get(UNKNOWN_SITUATION), Some(&1));
        assert_eq!(counted.len(), 2);
        let bad = walk_ins(&[(None, 1), (Some("rich".into()), 1)]).unwrap_err();
        assert_eq!(bad.field, "walk_ins[1].situation");
        assert_eq!(
            walk_ins(&[(None, -1)]).unwrap_err().field,
            "walk_ins[0].count"
        );
        assert!(walk_ins(&[(None, MAX_WALK_INS + 1)]).is_err());
    }

    #[test]
    fn a_streak_counts_the_latest_unexcused_absences() {
        use Mark::*;
        assert_eq!(absence_streak(&[Absent, Absent, Present, Absent]), 2);
        assert_eq!(absence_streak(&[Excused, Absent, Absent]), 0);
        assert_eq!(absence_streak(&[Absent]), 1);
        assert_eq!(absence_streak(&[]), 0);
    }
}
