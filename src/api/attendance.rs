//! Who came: the club records an occurrence's attendance in one request (door check-in
//! works offline from the roster fetched before), and social workers follow each
//! participant's history.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::domain::attendance::{absence_streak, Mark};
use crate::ops;
use crate::ops::access::followed;
use crate::ops::attendance::{Sheet, SheetLine};
use crate::ops::roster::{roster_of, Roster};

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
    pub status: Mark,
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
    pub status: Mark,
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
        let b = body.0;
        let sheet = Sheet {
            lines: b
                .participants
                .into_iter()
                .map(|p| SheetLine {
                    participant_id: p.participant_id,
                    code: p.code,
                    mark: p.status,
                })
                .collect(),
            walk_ins: b
                .walk_ins
                .into_iter()
                .map(|w| (w.situation, w.count))
                .collect(),
            in_progress: false,
        };
        let recorded =
            ops::attendance::record_attendance(&state.store, &auth.0, session_id.0, &key.0, sheet)
                .await?;
        Ok(Json(
            roster_of(
                &state.store,
                &recorded.session,
                &recorded.schedule,
                &recorded.occurrence,
            )
            .await?,
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
        let marks: Vec<Mark> = rows.iter().map(|r| r.status).collect();
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
