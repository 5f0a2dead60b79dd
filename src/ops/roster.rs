//! Who is expected at one occurrence, as the club sees it: first name, last-name
//! initial and door code, never contact details, situation or notes. The API's roster
//! and the club's occurrence and check-in pages read this one view.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use poem_openapi::Object;
use uuid::Uuid;

use super::access::{existing_occurrence, managed_session};
use super::OpResult;
use crate::domain::access::Caller;
use crate::domain::attendance::Mark;
use crate::domain::participants::roster_name;
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::domain::rsvp::Answer;
use crate::domain::schedule::{Occurrence, Schedule};
use crate::planning::{occurrence_of, schedule_of};
use crate::store::sessions::Session;
use crate::store::Store;

/// Who is expected at one occurrence, as the club sees it: no contact details, no
/// situation, no notes.
#[derive(Debug, Clone, Object)]
pub struct Roster {
    pub key: String,
    pub session_id: Uuid,
    pub start: DateTime<FixedOffset>,
    pub status: crate::domain::schedule::OccurrenceStatus,
    pub capacity: i32,
    pub confirmed: i32,
    /// More confirmed than places (after a capacity was lowered): nobody was dropped.
    pub overbooked: bool,
    pub participants: Vec<RosterLine>,
    /// When attendance was last recorded; never, if none.
    pub attendance_recorded_at: Option<DateTime<Utc>>,
    /// People who came without an enrollment, by situation (`unknown` when not said).
    pub walk_ins: Vec<WalkIns>,
    pub walk_ins_total: i32,
}

#[derive(Debug, Clone, Object)]
pub struct WalkIns {
    pub situation: String,
    pub count: i32,
}

#[derive(Debug, Clone, Object)]
pub struct RosterLine {
    pub enrollment_id: Uuid,
    pub participant_id: Uuid,
    pub first_name: String,
    /// The last name's initial only.
    pub last_name_initial: String,
    /// The participant's door code.
    pub code: String,
    /// `confirmed` or `waitlisted`; `cancelled` for someone recorded here whose
    /// enrollment ended since.
    pub status: EnrollmentStatus,
    /// `series` or `occurrence`.
    pub scope: Scope,
    /// Their answer to the reminder, if any.
    pub rsvp: Option<Answer>,
    /// As recorded; before anything is recorded, `excused` for someone who said they
    /// could not come.
    pub attendance: Option<Mark>,
}

/// One occurrence of a session the caller manages, with its roster.
pub struct OccurrenceRoster {
    pub session: Session,
    pub schedule: Schedule,
    pub occurrence: Occurrence,
    pub roster: Roster,
}

/// The roster of an occurrence: the club's manager, or programme staff.
pub async fn roster(
    store: &Store,
    caller: &Caller,
    session_id: Uuid,
    raw_key: &str,
) -> OpResult<OccurrenceRoster> {
    let session = managed_session(store, caller, session_id).await?;
    let schedule = schedule_of(&session)?;
    let key = existing_occurrence(&schedule, raw_key)?;
    let occurrence = occurrence_of(store, &session, &schedule, key).await?;
    let roster = roster_of(store, &session, &schedule, &occurrence).await?;
    Ok(OccurrenceRoster {
        session,
        schedule,
        occurrence,
        roster,
    })
}

/// The roster of one occurrence of a session the caller manages.
pub async fn roster_of(
    store: &Store,
    session: &Session,
    schedule: &Schedule,
    occurrence: &Occurrence,
) -> OpResult<Roster> {
    let key = occurrence.key;
    let entries = store.roster(session.id, key).await?;
    let answers: HashMap<Uuid, Answer> = store
        .rsvps_for(session.id, key)
        .await?
        .into_iter()
        .collect();
    let recorded = store.recorded_sheet(session.id, key).await?;
    let declined = |enrollment_id: &Uuid| answers.get(enrollment_id) == Some(&Answer::NotComing);
    // Who said they can't come does not hold a place this time.
    let confirmed = entries
        .iter()
        .filter(|e| e.status == EnrollmentStatus::Confirmed && !declined(&e.enrollment_id))
        .count() as i32;
    let participants = entries
        .into_iter()
        .map(|e| {
            let (first_name, last_name_initial) = roster_name(&e.first_name, &e.last_name);
            let attendance = match &recorded {
                Some(sheet) => sheet.marks.get(&e.participant_id).copied(),
                None => declined(&e.enrollment_id).then_some(Mark::Excused),
            };
            RosterLine {
                enrollment_id: e.enrollment_id,
                participant_id: e.participant_id,
                first_name,
                last_name_initial,
                code: e.code,
                status: e.status,
                scope: e.scope,
                rsvp: answers.get(&e.enrollment_id).copied(),
                attendance,
            }
        })
        .collect();
    let walk_ins: Vec<WalkIns> = recorded
        .as_ref()
        .map(|sheet| {
            sheet
                .walk_ins
                .iter()
                .map(|(situation, count)| WalkIns {
                    situation: situation.clone(),
                    count: *count,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Roster {
        key: key.to_string(),
        session_id: session.id,
        start: occurrence
            .start
            .with_timezone(&schedule.timezone())
            .fixed_offset(),
        status: occurrence.status,
        capacity: occurrence.capacity,
        confirmed,
        overbooked: confirmed > occurrence.capacity,
        participants,
        attendance_recorded_at: recorded.as_ref().map(|sheet| sheet.recorded_at),
        walk_ins_total: walk_ins.iter().map(|w| w.count).sum(),
        walk_ins,
    })
}
