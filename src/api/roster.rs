use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::domain::attendance::Mark;
use crate::domain::participants::roster_name;
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::domain::rsvp::Answer;
use crate::domain::schedule::{Occurrence, Schedule};
use crate::ops::access::{existing_occurrence, managed_session};
use crate::planning::{occurrence_of, schedule_of};
use crate::store::sessions::Session;

/// Who is expected at one occurrence, as the club sees it: no contact details, no
/// situation, no notes.
#[derive(Object)]
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

#[derive(Object)]
pub struct WalkIns {
    pub situation: String,
    pub count: i32,
}

#[derive(Object)]
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

pub struct RosterApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Occurrences")]
impl RosterApi {
    /// Who is expected at an occurrence, and what was recorded: the club's manager, or
    /// admin. Fetch it before the session to check people in at the door.
    #[oai(
        path = "/sessions/:session_id/occurrences/:key/roster",
        method = "get",
        operation_id = "get_roster"
    )]
    async fn roster(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        key: Path<String>,
    ) -> Result<Json<Roster>, ApiError> {
        let session = managed_session(&state.store, &auth.0, session_id.0).await?;
        let schedule = schedule_of(&session)?;
        let key = existing_occurrence(&schedule, &key.0)?;
        let occurrence = occurrence_of(&state.store, &session, &schedule, key).await?;
        Ok(Json(
            roster_of(&state, &session, &schedule, &occurrence).await?,
        ))
    }
}

/// The roster of one occurrence of a session the caller manages.
pub async fn roster_of(
    state: &AppState,
    session: &Session,
    schedule: &Schedule,
    occurrence: &Occurrence,
) -> Result<Roster, ApiError> {
    let key = occurrence.key;
    let entries = state.store.roster(session.id, key).await?;
    let answers: HashMap<Uuid, Answer> = state
        .store
        .rsvps_for(session.id, key)
        .await?
        .into_iter()
        .collect();
    let recorded = state.store.recorded_sheet(session.id, key).await?;
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
