//! Who came: the club records an occurrence's attendance in one request (door check-in
//! works offline from the roster fetched before), and social workers follow each
//! participant's history.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::roster::{occurrence_of, roster_of, Roster};
use super::{ApiTags, AppState};
use crate::domain::attendance::{self, absence_streak, recording_open, Closed, Enrolled, Mark};
use crate::domain::schedule::OccurrenceStatus;
use crate::ops::access::followed;
use crate::ops::access::{existing_occurrence, managed_session};
use crate::planning::schedule_of;
use crate::store::attendance::{Candidate, SheetRecord};

/// The whole attendance of an occurrence; it replaces what was recorded before.
#[derive(Object)]
pub struct AttendanceSheet {
    /// Enrolled participants and what happened. Confirmed participants left out are
    /// recorded `absent`, or `excused` when they said ahead they could not come.
    #[oai(default)]
    pub participants: Vec<AttendanceEntry>,
    /// People who came without an enrollment, counted, optionally by situation.
    #[oai(default)]
    pub walk_ins: Vec<WalkInCount>,
}

/// One participant, named by `participant_id` or by their door `code`.
#[derive(Object)]
pub struct AttendanceEntry {
    pub participant_id: Option<Uuid>,
    pub code: Option<String>,
    pub status: AttendanceStatus,
}

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Excused,
}

impl From<AttendanceStatus> for Mark {
    fn from(status: AttendanceStatus) -> Self {
        match status {
            AttendanceStatus::Present => Mark::Present,
            AttendanceStatus::Absent => Mark::Absent,
            AttendanceStatus::Excused => Mark::Excused,
        }
    }
}

#[derive(Object)]
pub struct WalkInCount {
    /// 0 to 200.
    pub count: i32,
    /// street, shelter, single_parent, student, young_care_leaver, migrant,
    /// isolated_senior or other; left out when nobody asked.
    pub situation: Option<String>,
}

/// A participant's attendance, for their social worker.
#[derive(Object)]
pub struct AttendanceHistory {
    pub participant_id: Uuid,
    pub present: i32,
    pub absent: i32,
    pub excused: i32,
    /// How many of the latest records are unexcused absences in a row.
    pub unexcused_absence_streak: i32,
    /// Newest first.
    pub records: Vec<AttendanceRecord>,
}

#[derive(Object)]
pub struct AttendanceRecord {
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub start: DateTime<FixedOffset>,
    pub session_title: String,
    pub sport: String,
    pub club_id: Uuid,
    pub club_name: String,
    /// `present`, `absent` or `excused`.
    pub status: String,
    pub recorded_at: DateTime<Utc>,
}

pub struct AttendanceApi;

#[OpenApi(prefix_path = "/api/v1")]
impl AttendanceApi {
    /// Records who came to an occurrence (the club's manager from the start for 30
    /// days, programme staff at any time after the start). Sending the same sheet
    /// again changes nothing. Answers the roster as recorded.
    #[oai(
        path = "/sessions/:session_id/occurrences/:key/attendance",
        method = "put",
        operation_id = "record_attendance",
        tag = "ApiTags::Occurrences"
    )]
    async fn record(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        key: Path<String>,
        body: Json<AttendanceSheet>,
    ) -> Result<Json<Roster>, ApiError> {
        let caller = &auth.0;
        let session = managed_session(&state.store, caller, session_id.0).await?;
        let schedule = schedule_of(&session)?;
        let key = existing_occurrence(&schedule, &key.0)?;
        let occurrence = occurrence_of(&state, &session, &schedule, key).await?;
        if occurrence.status == OccurrenceStatus::Cancelled {
            return Err(ApiError::Conflict(
                "this occurrence was cancelled: there is no attendance to record".into(),
            ));
        }
        let now = crate::clock::now();
        recording_open(occurrence.start, now, caller.is_admin()).map_err(
            |closed| match closed {
                Closed::NotStarted => ApiError::Conflict(format!(
                    "attendance opens when the occurrence starts ({})",
                    occurrence.start.to_rfc3339()
                )),
                Closed::StaffOnly => ApiError::Forbidden(
                    "attendance older than 30 days is corrected by programme staff only",
                ),
            },
        )?;
        let walk_ins = attendance::walk_ins(
            &body
                .walk_ins
                .iter()
                .map(|w| (w.situation.clone(), w.count))
                .collect::<Vec<_>>(),
        )?;
        let candidates = state.store.attendance_candidates(session.id, key).await?;
        let declined: HashSet<Uuid> = state
            .store
            .rsvps_for(session.id, key)
            .await?
            .into_iter()
            .filter(|(_, answer)| answer == "not_coming")
            .map(|(enrollment_id, _)| enrollment_id)
            .collect();
        let enrolled = enrolled_once(&candidates, &declined);
        let said = resolve(&body.participants, &candidates)?;
        let tz: Tz = schedule.timezone();
        let sheet = SheetRecord {
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
            lines: attendance::sheet(&enrolled, &said),
            people: candidates
                .iter()
                .map(|c| (c.participant_id, (c.structure_id, c.situation.clone())))
                .collect(),
            walk_ins,
            recorded_by: caller.user_id,
            now,
        };
        state.store.record_attendance(&sheet).await?;
        Ok(Json(
            roster_of(&state, &session, &schedule, &occurrence).await?,
        ))
    }

    /// A participant's attendance, newest first: their social worker, or admin.
    #[oai(
        path = "/participants/:participant_id/attendance",
        method = "get",
        operation_id = "participant_attendance",
        tag = "ApiTags::Participants"
    )]
    async fn history(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<Json<AttendanceHistory>, ApiError> {
        let participant = followed(&state.store, &auth.0, participant_id.0).await?;
        let rows = state.store.attendance_history(participant.id).await?;
        let marks: Vec<Mark> = rows.iter().filter_map(|r| Mark::parse(&r.status)).collect();
        let count = |mark: Mark| marks.iter().filter(|m| **m == mark).count() as i32;
        Ok(Json(AttendanceHistory {
            participant_id: participant.id,
            present: count(Mark::Present),
            absent: count(Mark::Absent),
            excused: count(Mark::Excused),
            unexcused_absence_streak: absence_streak(&marks) as i32,
            records: rows
                .into_iter()
                .map(|r| {
                    let tz: Tz = r.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
                    AttendanceRecord {
                        session_id: r.session_id,
                        occurrence_key: r.occurrence_key,
                        start: r.start_at.with_timezone(&tz).fixed_offset(),
                        session_title: r.session_title,
                        sport: r.sport,
                        club_id: r.club_id,
                        club_name: r.club_name,
                        status: r.status,
                        recorded_at: r.recorded_at,
                    }
                })
                .collect(),
        }))
    }
}

/// One enrollment per participant: the one that covers the occurrence, confirmed before
/// waitlisted; else their latest in the session.
fn enrolled_once(candidates: &[Candidate], declined: &HashSet<Uuid>) -> Vec<Enrolled> {
    let rank = |c: &Candidate| match (c.covers, c.status.as_str()) {
        (true, "confirmed") => 3,
        (true, "waitlisted") => 2,
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
fn resolve(
    entries: &[AttendanceEntry],
    candidates: &[Candidate],
) -> Result<Vec<(Uuid, Mark)>, ApiError> {
    let by_id: HashSet<Uuid> = candidates.iter().map(|c| c.participant_id).collect();
    let by_code: HashMap<String, Uuid> = candidates
        .iter()
        .map(|c| (c.code.to_uppercase(), c.participant_id))
        .collect();
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let mut said = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let not_enrolled = |field: &str| {
            ApiError::invalid(
                format!("participants[{i}].{field}"),
                "no participant enrolled in this session has it; count walk-ins in walk_ins",
            )
        };
        let participant_id = match (entry.participant_id, entry.code.as_deref()) {
            (Some(id), None) => by_id
                .contains(&id)
                .then_some(id)
                .ok_or_else(|| not_enrolled("participant_id"))?,
            (None, Some(code)) => *by_code
                .get(&code.trim().to_uppercase())
                .ok_or_else(|| not_enrolled("code"))?,
            _ => {
                return Err(ApiError::invalid(
                    format!("participants[{i}]"),
                    "name the participant by participant_id or by code (one of the two)",
                ))
            }
        };
        if let Some(first) = seen.insert(participant_id, i) {
            return Err(ApiError::invalid(
                format!("participants[{i}]"),
                format!("this participant is already listed at participants[{first}]"),
            ));
        }
        said.push((participant_id, entry.status.into()));
    }
    Ok(said)
}
