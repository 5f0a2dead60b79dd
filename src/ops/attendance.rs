//! Who came: a club records an occurrence's attendance as one sheet, which replaces
//! what was recorded before; the first encounters, presence figures and absence alerts
//! it implies are written in the same transaction.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use uuid::Uuid;

use super::access::{existing_occurrence, managed_session};
use super::{OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::attendance::{
    self, absence_streak, recording_open, Closed, Enrolled, Line, Mark, ALERT_STREAK,
};
use crate::domain::places::EnrollmentStatus;
use crate::domain::rsvp::Answer;
use crate::domain::schedule::{Occurrence, OccurrenceStatus, Schedule};
use crate::planning::{occurrence_of, schedule_of};
use crate::store::attendance::{AbsenceAlert, Candidate, Recorded, SheetRecord};
use crate::store::sessions::Session;
use crate::store::{Store, StoreResult, Tx};

/// One line of a sheet: a participant named by id or by door code (one of the two).
#[derive(Debug, Clone)]
pub struct SheetLine {
    pub participant_id: Option<Uuid>,
    pub code: Option<String>,
    pub mark: Mark,
}

/// A sheet as a club sends it.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Confirmed participants left out are recorded absent, or excused when they said
    /// ahead they could not come.
    pub lines: Vec<SheetLine>,
    /// People who came without an enrollment: (situation, count).
    pub walk_ins: Vec<(Option<String>, i32)>,
    /// Sent tap by tap at the door: participants not mentioned yet stay unrecorded
    /// rather than absent, until a sheet that is not in progress closes it.
    pub in_progress: bool,
}

impl Sheet {
    /// Nothing marked and nobody counted.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.walk_ins.iter().all(|(_, n)| *n == 0)
    }
}

/// The occurrence whose attendance was recorded.
#[derive(Debug, Clone)]
pub struct RecordedOccurrence {
    pub session: Session,
    pub schedule: Schedule,
    pub occurrence: Occurrence,
}

/// Records the attendance of one occurrence: the club's manager from its start for 30
/// days, programme staff at any time after the start. The same sheet again changes
/// nothing.
pub async fn record_attendance(
    store: &Store,
    caller: &Caller,
    session_id: Uuid,
    raw_key: &str,
    sheet: Sheet,
) -> OpResult<RecordedOccurrence> {
    let session = managed_session(store, caller, session_id).await?;
    let schedule = schedule_of(&session)?;
    let key = existing_occurrence(&schedule, raw_key)?;
    let occurrence = occurrence_of(store, &session, &schedule, key).await?;
    if occurrence.status == OccurrenceStatus::Cancelled {
        return Err(OpError::Conflict(
            "this occurrence was cancelled: there is no attendance to record".into(),
        ));
    }
    let now = crate::clock::now();
    recording_open(occurrence.start, now, caller.is_admin()).map_err(|closed| match closed {
        Closed::NotStarted => OpError::Conflict(format!(
            "attendance opens when the occurrence starts ({})",
            occurrence.start.to_rfc3339()
        )),
        Closed::StaffOnly => {
            OpError::Forbidden("attendance older than 30 days is corrected by programme staff only")
        }
    })?;
    let walk_ins = attendance::walk_ins(&sheet.walk_ins)?;
    let candidates = store.attendance_candidates(session.id, key).await?;
    let declined: HashSet<Uuid> = store
        .rsvps_for(session.id, key)
        .await?
        .into_iter()
        .filter(|(_, answer)| *answer == Answer::NotComing)
        .map(|(enrollment_id, _)| enrollment_id)
        .collect();
    let enrolled = enrolled_once(&candidates, &declined);
    let said = resolve(&sheet.lines, &candidates)?;
    let tz: Tz = schedule.timezone();
    let mut record = SheetRecord {
        session_id: session.id,
        key,
        club_id: session.club_id,
        sport: session.sport.clone(),
        start_at: occurrence.start,
        local_date: occurrence
            .start
            .with_timezone(&tz)
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
        lines: Vec::new(),
        people: candidates
            .iter()
            .map(|c| (c.participant_id, (c.structure_id, c.situation.clone())))
            .collect(),
        walk_ins,
        recorded_by: caller.user_id,
        now,
    };
    let mut tx = store.write().await?;
    tx.lock_session(session.id).await?;
    let recorded = match sheet.in_progress {
        true => tx.recorded_marks(session.id, key).await?,
        false => HashMap::new(),
    };
    record.lines = attendance::sheet(&enrolled, &said, sheet.in_progress, &recorded);
    if tx.write_sheet(&record).await? == Recorded::Changed {
        let key_text = key.to_string();
        for line in record.lines.iter().filter(|l| l.mark == Mark::Absent) {
            alert_absence_run(&mut tx, &record, &key_text, line).await?;
        }
        tx.commit().await?;
    }
    Ok(RecordedOccurrence {
        session,
        schedule,
        occurrence,
    })
}

/// Tells the social worker, once per run, when `line`'s participant now has
/// [`ALERT_STREAK`] or more unexcused absences in a row that include this occurrence;
/// every absence of an alerted run is marked, so the run raises no second alert however
/// it grows (later absences, or earlier ones recorded late).
async fn alert_absence_run(
    tx: &mut Tx,
    sheet: &SheetRecord,
    key: &str,
    line: &Line,
) -> StoreResult<()> {
    let recent = tx.recent_records(line.participant_id).await?;
    let marks: Vec<Mark> = recent.iter().map(|r| r.status).collect();
    let run = &recent[..absence_streak(&marks)];
    let includes_this = run
        .iter()
        .any(|r| r.session_id == sheet.session_id && r.occurrence_key == key);
    if run.len() < ALERT_STREAK || !includes_this {
        return Ok(());
    }
    if !run.iter().any(|r| r.alerted) {
        let alert = AbsenceAlert {
            participant_id: line.participant_id,
            session_id: sheet.session_id,
            key,
            enrollment_id: run[0].enrollment_id.unwrap_or(line.enrollment_id),
            first_occurrence_key: &run[0].occurrence_key,
            missed: run.iter().rev().map(|r| r.start_at.to_rfc3339()).collect(),
        };
        tx.enqueue_absence_alert(&alert, sheet.now).await?;
    }
    for r in run.iter().filter(|r| !r.alerted) {
        tx.mark_alerted(r.session_id, &r.occurrence_key, line.participant_id)
            .await?;
    }
    Ok(())
}

/// One enrollment per participant: the one that covers the occurrence, confirmed before
/// waitlisted; else their latest in the session.
fn enrolled_once(candidates: &[Candidate], declined: &HashSet<Uuid>) -> Vec<Enrolled> {
    let rank = |c: &Candidate| match (c.covers, c.status) {
        (true, EnrollmentStatus::Confirmed) => 3,
        (true, EnrollmentStatus::Waitlisted) => 2,
        _ => 1,
    };
    let mut best: HashMap<Uuid, &Candidate> = HashMap::new();
    for c in candidates {
        let better = best
            .get(&c.participant_id)
            .is_none_or(|b| rank(c) >= rank(b));
        if better {
            best.insert(c.participant_id, c);
        }
    }
    best.into_values()
        .map(|c| Enrolled {
            participant_id: c.participant_id,
            enrollment_id: c.enrollment_id,
            confirmed: rank(c) == 3,
            declined: declined.contains(&c.enrollment_id),
        })
        .collect()
}

/// The participants a sheet names, each enrolled in the session and named once.
fn resolve(lines: &[SheetLine], candidates: &[Candidate]) -> OpResult<Vec<(Uuid, Mark)>> {
    let by_id: HashSet<Uuid> = candidates.iter().map(|c| c.participant_id).collect();
    let by_code: HashMap<String, Uuid> = candidates
        .iter()
        .map(|c| (c.code.to_uppercase(), c.participant_id))
        .collect();
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let mut said = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let not_enrolled = |field: &str| {
            OpError::invalid(
                format!("participants[{i}].{field}"),
                "no participant enrolled in this session has it; count walk-ins in walk_ins",
            )
        };
        let participant_id = match (line.participant_id, line.code.as_deref()) {
            (Some(id), None) => by_id
                .contains(&id)
                .then_some(id)
                .ok_or_else(|| not_enrolled("participant_id"))?,
            (None, Some(code)) => *by_code
                .get(&code.trim().to_uppercase())
                .ok_or_else(|| not_enrolled("code"))?,
            _ => {
                return Err(OpError::invalid(
                    format!("participants[{i}]"),
                    "name the participant by participant_id or by code (one of the two)",
                ))
            }
        };
        if let Some(first) = seen.insert(participant_id, i) {
            return Err(OpError::invalid(
                format!("participants[{i}]"),
                format!("this participant is already listed at participants[{first}]"),
            ));
        }
        said.push((participant_id, line.mark));
    }
    Ok(said)
}
