use chrono::{DateTime, NaiveDateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::{ApiError, OrNotFound};
use super::occurrences::{OccurrenceList, OccurrenceView};
use super::{ApiTags, AppState};
use crate::domain::schedule::SessionStatus;
use crate::domain::window;
use crate::ops::sessions::{
    OccurrenceAction, OccurrenceChange, Publication, Saved, SessionChanges, SessionFields,
};
use crate::ops::{self, access, places};
use crate::planning::schedule_of;
use crate::store::clubs::Club;
use crate::store::sessions::Session;

#[derive(Object)]
pub struct SessionView {
    pub id: Uuid,
    pub club_id: Uuid,
    pub title: String,
    pub sport: String,
    pub description: Option<String>,
    pub level: Option<String>,
    /// Where it takes place (the club's address unless the session says otherwise).
    pub location: String,
    /// IANA time zone of `start`.
    pub timezone: String,
    /// Local start of the first occurrence.
    pub start: NaiveDateTime,
    pub duration_minutes: i32,
    /// RFC 5545 recurrence rule, without DTSTART.
    pub rrule: Option<String>,
    /// Local starts of excluded occurrences.
    pub exdates: Vec<NaiveDateTime>,
    /// Places for programme participants in each occurrence.
    pub capacity: i32,
    pub status: SessionStatus,
    pub what_to_bring: Option<String>,
    pub coach_name: Option<String>,
    pub reminder_hours_before: i32,
    pub enrollment_closes_hours_before: i32,
    /// Raised on every change (the iCalendar SEQUENCE).
    pub sequence: i32,
    /// Overrides whose occurrence the changed rule no longer produces, now forgotten.
    #[oai(skip_serializing_if_is_empty)]
    pub dropped_overrides: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SessionView {
    fn new(s: Session, club: &Club) -> Self {
        Self {
            id: s.id,
            club_id: s.club_id,
            title: s.title,
            sport: s.sport,
            description: s.description,
            level: s.level,
            location: s.location.unwrap_or_else(|| club.address_line()),
            timezone: s.timezone,
            start: s.start_local,
            duration_minutes: s.duration_minutes,
            rrule: s.rrule,
            exdates: s.exdates,
            capacity: s.capacity,
            status: s.status,
            what_to_bring: s.what_to_bring,
            coach_name: s.coach_name,
            reminder_hours_before: s.reminder_hours_before,
            enrollment_closes_hours_before: s.enrollment_closes_hours_before,
            sequence: s.sequence,
            dropped_overrides: Vec::new(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    fn saved(saved: Saved) -> Self {
        let mut view = Self::new(saved.session, &saved.club);
        view.dropped_overrides = saved
            .dropped_overrides
            .iter()
            .map(ToString::to_string)
            .collect();
        view
    }
}

#[derive(Object)]
pub struct CreateSession {
    pub title: String,
    pub sport: String,
    pub description: Option<String>,
    pub level: Option<String>,
    /// Defaults to the club's address.
    pub location: Option<String>,
    /// IANA time zone, default `Europe/Paris`.
    pub timezone: Option<String>,
    /// Local start of the first occurrence, e.g. `2026-03-10T18:30:00`.
    pub start: NaiveDateTime,
    /// 15 to 600.
    pub duration_minutes: i32,
    /// RFC 5545 rule without DTSTART, e.g. `FREQ=WEEKLY;BYDAY=TU`.
    pub rrule: Option<String>,
    /// Local starts to leave out.
    pub exdates: Option<Vec<NaiveDateTime>>,
    /// 1 to 500 places per occurrence.
    pub capacity: i32,
    /// Default `published`.
    pub status: Option<Publication>,
    pub what_to_bring: Option<String>,
    pub coach_name: Option<String>,
    /// Default 24.
    pub reminder_hours_before: Option<i32>,
    /// Default 2.
    pub enrollment_closes_hours_before: Option<i32>,
}

/// Fields to change; absent fields stay, `null` clears an optional one.
#[derive(Object)]
pub struct UpdateSession {
    pub title: Option<String>,
    pub sport: Option<String>,
    pub description: MaybeUndefined<String>,
    pub level: MaybeUndefined<String>,
    /// `null`: back to the club's address.
    pub location: MaybeUndefined<String>,
    pub timezone: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub duration_minutes: Option<i32>,
    /// `null`: a single occurrence.
    pub rrule: MaybeUndefined<String>,
    pub exdates: Option<Vec<NaiveDateTime>>,
    pub capacity: Option<i32>,
    pub status: Option<Publication>,
    pub what_to_bring: MaybeUndefined<String>,
    pub coach_name: MaybeUndefined<String>,
    pub reminder_hours_before: Option<i32>,
    pub enrollment_closes_hours_before: Option<i32>,
}

/// A change to one occurrence; `null` restores a field to what the session says.
#[derive(Object)]
pub struct UpdateOccurrence {
    pub status: Option<OccurrenceAction>,
    /// New local start (in the session's time zone).
    pub start: MaybeUndefined<NaiveDateTime>,
    pub duration_minutes: MaybeUndefined<i32>,
    pub capacity: MaybeUndefined<i32>,
}

#[derive(ApiResponse)]
pub enum SessionCreated {
    #[oai(status = 201)]
    Created(Json<SessionView>),
}

pub struct SessionsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Sessions")]
impl SessionsApi {
    /// Publish a session: admin, or the club's manager.
    #[oai(
        path = "/clubs/:club_id/sessions",
        method = "post",
        operation_id = "create_session"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        club_id: Path<Uuid>,
        body: Json<CreateSession>,
    ) -> Result<SessionCreated, ApiError> {
        let b = body.0;
        let fields = SessionFields {
            title: b.title,
            sport: b.sport,
            description: b.description,
            level: b.level,
            location: b.location,
            timezone: b.timezone,
            start: b.start,
            duration_minutes: b.duration_minutes,
            rrule: b.rrule,
            exdates: b.exdates,
            capacity: b.capacity,
            status: b.status,
            what_to_bring: b.what_to_bring,
            coach_name: b.coach_name,
            reminder_hours_before: b.reminder_hours_before,
            enrollment_closes_hours_before: b.enrollment_closes_hours_before,
        };
        let saved = ops::sessions::create_session(&state.store, &auth.0, club_id.0, fields).await?;
        Ok(SessionCreated::Created(Json(SessionView::saved(saved))))
    }

    /// One session. Drafts and cancelled sessions are visible to their club only.
    #[oai(
        path = "/sessions/:session_id",
        method = "get",
        operation_id = "get_session"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
    ) -> Result<Json<SessionView>, ApiError> {
        let session = access::visible_session(&state.store, &auth.0, session_id.0).await?;
        let club = state
            .store
            .club(session.club_id)
            .await
            .or_not_found("club")?;
        Ok(Json(SessionView::new(session, &club)))
    }

    /// Change a session: admin, or the club's manager. Occurrence keys stay unless the
    /// rule or start changes; overrides of occurrences that no longer exist are dropped
    /// and listed in `dropped_overrides`.
    #[oai(
        path = "/sessions/:session_id",
        method = "patch",
        operation_id = "update_session"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        body: Json<UpdateSession>,
    ) -> Result<Json<SessionView>, ApiError> {
        let b = body.0;
        let changes = SessionChanges {
            title: b.title,
            sport: b.sport,
            description: b.description.into(),
            level: b.level.into(),
            location: b.location.into(),
            timezone: b.timezone,
            start: b.start,
            duration_minutes: b.duration_minutes,
            rrule: b.rrule.into(),
            exdates: b.exdates,
            capacity: b.capacity,
            status: b.status,
            what_to_bring: b.what_to_bring.into(),
            coach_name: b.coach_name.into(),
            reminder_hours_before: b.reminder_hours_before,
            enrollment_closes_hours_before: b.enrollment_closes_hours_before,
        };
        let saved =
            ops::sessions::update_session(&state.store, &auth.0, session_id.0, changes).await?;
        Ok(Json(SessionView::saved(saved)))
    }

    /// Cancel a session: admin, or the club's manager. It leaves every listing; every
    /// enrollment in it is cancelled, in the same transaction.
    #[oai(
        path = "/sessions/:session_id",
        method = "delete",
        operation_id = "cancel_session"
    )]
    async fn cancel(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
    ) -> Result<Json<SessionView>, ApiError> {
        let saved = ops::sessions::cancel_session(&state.store, &auth.0, session_id.0).await?;
        Ok(Json(SessionView::saved(saved)))
    }

    /// The session's occurrences in a window of at most 366 days (default: the next 31),
    /// sorted by start. `from`/`to` are dates (read in the session's zone, `to`
    /// inclusive) or RFC 3339 times.
    #[oai(
        path = "/sessions/:session_id/occurrences",
        method = "get",
        operation_id = "list_session_occurrences"
    )]
    async fn occurrences(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        from: Query<Option<String>>,
        to: Query<Option<String>>,
    ) -> Result<Json<OccurrenceList>, ApiError> {
        let session = access::visible_session(&state.store, &auth.0, session_id.0).await?;
        let club = state
            .store
            .club(session.club_id)
            .await
            .or_not_found("club")?;
        let schedule = schedule_of(&session)?;
        let window = window::parse(
            from.0.as_deref(),
            to.0.as_deref(),
            schedule.timezone(),
            crate::clock::now(),
        )?;
        let overrides = state.store.overrides(session.id).await?;
        let occurrences =
            schedule.occurrences(session.capacity, &overrides, window.from, window.to);
        let taken = places::taken_in(&state.store, session.id, &occurrences).await?;
        let items = occurrences
            .iter()
            .map(|o| {
                let taken = taken.get(&o.key).copied().unwrap_or_default();
                OccurrenceView::of_session(o, taken, &session, &club, schedule.timezone())
            })
            .collect();
        Ok(Json(OccurrenceList {
            items,
            next_cursor: None,
        }))
    }

    /// Cancel, restore, move or resize one occurrence, by key: admin, or the club's
    /// manager. The key stays the original start.
    #[oai(
        path = "/sessions/:session_id/occurrences/:key",
        method = "patch",
        operation_id = "update_occurrence"
    )]
    async fn update_occurrence(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        key: Path<String>,
        body: Json<UpdateOccurrence>,
    ) -> Result<Json<OccurrenceView>, ApiError> {
        let b = body.0;
        let occurrence_change = OccurrenceChange {
            status: b.status,
            start: b.start.into(),
            duration_minutes: b.duration_minutes.into(),
            capacity: b.capacity.into(),
        };
        let c = ops::sessions::change_occurrence(
            &state.store,
            &auth.0,
            session_id.0,
            &key.0,
            occurrence_change,
        )
        .await?;
        Ok(Json(OccurrenceView::of_session(
            &c.occurrence,
            c.taken,
            &c.session,
            &c.club,
            c.schedule.timezone(),
        )))
    }
}
