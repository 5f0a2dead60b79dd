use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::{ApiError, OrNotFound};
use super::occurrences::{OccurrenceList, OccurrenceView};
use super::{window, ApiTags, AppState};
use crate::domain::access::Caller;
use crate::domain::schedule::{
    check_capacity, check_duration, check_start_within_reach, OccurrenceKey, Override, Schedule,
};
use crate::domain::validate::{optional_text, required_text, search_key};
use crate::domain::FieldError;
use crate::planning::{calendar_fields_differ, rekey_enrollments, schedule_of, search_rows};
use crate::store::clubs::Club;
use crate::store::sessions::{Materialization, Session};

const DEFAULT_TIMEZONE: &str = "Europe/Paris";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Publication {
    Draft,
    Published,
}

impl Publication {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }
}

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
    /// `draft`, `published` or `cancelled`.
    pub status: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OccurrenceAction {
    /// Cancel this occurrence.
    Cancelled,
    /// Restore a cancelled occurrence.
    Scheduled,
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
        if !auth.0.manages_club(club_id.0) {
            return Err(ApiError::Forbidden(
                "only programme staff or this club's manager may add sessions",
            ));
        }
        let club = state.store.club(club_id.0).await.or_not_found("club")?;
        let now = crate::clock::now();
        let mut session = new_session(club.id, body.0, now)?;
        let schedule = checked_schedule(&session, now)?;
        let rows = search_rows(&mut session, &schedule, &[], now);
        state
            .store
            .insert_session(&Materialization {
                session: &session,
                club_city: &club.city,
                occurrences: &rows,
            })
            .await?;
        Ok(SessionCreated::Created(Json(SessionView::new(
            session, &club,
        ))))
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
        let session = visible_session(&state, &auth.0, session_id.0).await?;
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
        let current = managed_session(&state, &auth.0, session_id.0).await?;
        if current.status == "cancelled" {
            return Err(ApiError::Conflict(
                "this session is cancelled and can no longer change".into(),
            ));
        }
        let now = crate::clock::now();
        let club = state
            .store
            .club(current.club_id)
            .await
            .or_not_found("club")?;
        let before = current.clone();
        let mut session = apply_update(current, body.0, now)?;
        let calendars_change = calendar_fields_differ(&before, &session);
        let old_schedule = schedule_of(&before)?;
        let schedule = checked_schedule(&session, now)?;
        let overrides = state.store.overrides(session.id).await?;
        let dropped: Vec<OccurrenceKey> = schedule
            .orphaned_overrides(&overrides)
            .iter()
            .map(|o| o.key)
            .collect();
        let kept: Vec<Override> = overrides
            .into_iter()
            .filter(|o| !dropped.contains(&o.key))
            .collect();
        let rekeyed = rekey_enrollments(&state.store, &session, &old_schedule, &schedule).await?;
        let rows = search_rows(&mut session, &schedule, &kept, now);
        state
            .store
            .update_session(
                &Materialization {
                    session: &session,
                    club_city: &club.city,
                    occurrences: &rows,
                },
                &dropped,
                calendars_change,
                &rekeyed,
            )
            .await?;
        state.store.promote_waitlist(session.id, now).await?;
        let mut view = SessionView::new(session, &club);
        view.dropped_overrides = dropped.iter().map(ToString::to_string).collect();
        Ok(Json(view))
    }

    /// Cancel a session: admin, or the club's manager. It leaves every listing.
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
        let mut session = managed_session(&state, &auth.0, session_id.0).await?;
        let club = state
            .store
            .club(session.club_id)
            .await
            .or_not_found("club")?;
        if session.status == "cancelled" {
            return Ok(Json(SessionView::new(session, &club)));
        }
        let now = crate::clock::now();
        session.status = "cancelled".into();
        session.sequence += 1;
        session.updated_at = now;
        let schedule = schedule_of(&session)?;
        let overrides = state.store.overrides(session.id).await?;
        let rows = search_rows(&mut session, &schedule, &overrides, now);
        state
            .store
            .update_session(
                &Materialization {
                    session: &session,
                    club_city: &club.city,
                    occurrences: &rows,
                },
                &[],
                false,
                &[],
            )
            .await?;
        state
            .store
            .cancel_session_enrollments(session.id, now)
            .await?;
        Ok(Json(SessionView::new(session, &club)))
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
        let session = visible_session(&state, &auth.0, session_id.0).await?;
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
        let taken = taken_places(&state, session.id, &occurrences).await?;
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
        let mut session = managed_session(&state, &auth.0, session_id.0).await?;
        if session.status == "cancelled" {
            return Err(ApiError::Conflict(
                "this session is cancelled and can no longer change".into(),
            ));
        }
        let schedule = schedule_of(&session)?;
        let key = existing_occurrence(&schedule, &key.0)?;
        let now = crate::clock::now();
        let mut overrides = state.store.overrides(session.id).await?;
        let current = overrides.iter().find(|o| o.key == key).cloned();
        let change = changed_override(&schedule, &session, key, current, body.0, now)?;
        overrides.retain(|o| o.key != key);
        overrides.extend(change.clone());
        session.sequence += 1;
        session.updated_at = now;
        let club = state
            .store
            .club(session.club_id)
            .await
            .or_not_found("club")?;
        let rows = search_rows(&mut session, &schedule, &overrides, now);
        state
            .store
            .save_override(
                &Materialization {
                    session: &session,
                    club_city: &club.city,
                    occurrences: &rows,
                },
                key,
                change.as_ref(),
                &occurrence_change_detail(key, change.as_ref()),
            )
            .await?;
        let occurrence = schedule.apply(key, session.capacity, change.as_ref());
        let taken = taken_places(&state, session.id, std::slice::from_ref(&occurrence)).await?;
        if occurrence.capacity > taken.get(&key).copied().unwrap_or_default() {
            state.store.promote_waitlist(session.id, now).await?;
        }
        Ok(Json(OccurrenceView::of_session(
            &occurrence,
            taken.get(&key).copied().unwrap_or_default(),
            &session,
            &club,
            schedule.timezone(),
        )))
    }
}

/// Places taken in each of `occurrences`: the materialised count, or for occurrences
/// beyond the search horizon, the confirmed series enrollments that cover them.
async fn taken_places(
    state: &AppState,
    session_id: Uuid,
    occurrences: &[crate::domain::schedule::Occurrence],
) -> Result<HashMap<OccurrenceKey, i32>, ApiError> {
    let (Some(first), Some(last)) = (
        occurrences.iter().map(|o| o.key).min(),
        occurrences.iter().map(|o| o.key).max(),
    ) else {
        return Ok(HashMap::new());
    };
    let until = OccurrenceKey::new(last.original_start() + chrono::Duration::seconds(1));
    let mut taken: HashMap<OccurrenceKey, i32> = HashMap::new();
    for (key, count) in state.store.taken_places(session_id, first, until).await? {
        if let Ok(key) = key.parse() {
            taken.insert(key, count);
        }
    }
    if occurrences.iter().any(|o| !taken.contains_key(&o.key)) {
        let series = state.store.confirmed_series_starts(session_id).await?;
        for o in occurrences {
            let key = o.key.to_string();
            let covering = series
                .iter()
                .filter(|from| from.as_str() <= key.as_str())
                .count();
            taken.entry(o.key).or_insert(covering as i32);
        }
    }
    Ok(taken)
}

/// The key in a path, if the session's rule produces that occurrence; 404 otherwise.
pub fn existing_occurrence(schedule: &Schedule, raw: &str) -> Result<OccurrenceKey, ApiError> {
    raw.parse()
        .ok()
        .filter(|key| schedule.has_occurrence(*key))
        .ok_or(ApiError::NotFound("occurrence"))
}

/// The session if the caller may see it; 404 otherwise, so drafts stay unknown.
async fn visible_session(state: &AppState, caller: &Caller, id: Uuid) -> Result<Session, ApiError> {
    let session = state.store.session(id).await.or_not_found("session")?;
    if caller.sees_session(session.club_id, &session.status) {
        Ok(session)
    } else {
        Err(ApiError::NotFound("session"))
    }
}

/// The session if the caller may change it: 404 when they cannot even see it, 403 when
/// they see it but it is another club's.
pub async fn managed_session(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<Session, ApiError> {
    let session = visible_session(state, caller, id).await?;
    if caller.manages_club(session.club_id) {
        Ok(session)
    } else {
        Err(ApiError::Forbidden(
            "only programme staff or this club's manager may change its sessions",
        ))
    }
}

fn new_session(
    club_id: Uuid,
    body: CreateSession,
    now: DateTime<Utc>,
) -> Result<Session, FieldError> {
    let session = Session {
        id: Uuid::new_v4(),
        club_id,
        title: required_text("title", &body.title, 200)?,
        sport: search_key(&required_text("sport", &body.sport, 60)?),
        description: optional_text("description", body.description.as_deref(), 4000)?,
        level: optional_text("level", body.level.as_deref(), 100)?,
        location: optional_text("location", body.location.as_deref(), 300)?,
        timezone: body
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|tz| !tz.is_empty())
            .unwrap_or(DEFAULT_TIMEZONE)
            .to_owned(),
        start_local: body.start.trunc_subsecs(0),
        duration_minutes: body.duration_minutes,
        rrule: optional_text("rrule", body.rrule.as_deref(), 500)?,
        exdates: body
            .exdates
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trunc_subsecs(0))
            .collect(),
        capacity: body.capacity,
        status: body
            .status
            .unwrap_or(Publication::Published)
            .as_str()
            .to_owned(),
        what_to_bring: optional_text("what_to_bring", body.what_to_bring.as_deref(), 1000)?,
        coach_name: optional_text("coach_name", body.coach_name.as_deref(), 200)?,
        reminder_hours_before: body.reminder_hours_before.unwrap_or(24),
        enrollment_closes_hours_before: body.enrollment_closes_hours_before.unwrap_or(2),
        sequence: 0,
        materialized_until: now,
        created_at: now,
        updated_at: now,
    };
    Ok(session)
}

fn apply_update(
    mut s: Session,
    body: UpdateSession,
    now: DateTime<Utc>,
) -> Result<Session, FieldError> {
    if let Some(title) = &body.title {
        s.title = required_text("title", title, 200)?;
    }
    if let Some(sport) = &body.sport {
        s.sport = search_key(&required_text("sport", sport, 60)?);
    }
    if !body.description.is_undefined() {
        s.description = optional_text(
            "description",
            body.description.value().map(String::as_str),
            4000,
        )?;
    }
    if !body.level.is_undefined() {
        s.level = optional_text("level", body.level.value().map(String::as_str), 100)?;
    }
    if !body.location.is_undefined() {
        s.location = optional_text("location", body.location.value().map(String::as_str), 300)?;
    }
    if let Some(timezone) = body.timezone {
        s.timezone = timezone.trim().to_owned();
    }
    if let Some(start) = body.start {
        s.start_local = start.trunc_subsecs(0);
    }
    if let Some(minutes) = body.duration_minutes {
        s.duration_minutes = minutes;
    }
    if !body.rrule.is_undefined() {
        s.rrule = optional_text("rrule", body.rrule.value().map(String::as_str), 500)?;
    }
    if let Some(exdates) = body.exdates {
        s.exdates = exdates.into_iter().map(|d| d.trunc_subsecs(0)).collect();
    }
    if let Some(capacity) = body.capacity {
        s.capacity = capacity;
    }
    if let Some(status) = body.status {
        s.status = status.as_str().to_owned();
    }
    if !body.what_to_bring.is_undefined() {
        s.what_to_bring = optional_text(
            "what_to_bring",
            body.what_to_bring.value().map(String::as_str),
            1000,
        )?;
    }
    if !body.coach_name.is_undefined() {
        s.coach_name = optional_text(
            "coach_name",
            body.coach_name.value().map(String::as_str),
            200,
        )?;
    }
    if let Some(hours) = body.reminder_hours_before {
        s.reminder_hours_before = hours;
    }
    if let Some(hours) = body.enrollment_closes_hours_before {
        s.enrollment_closes_hours_before = hours;
    }
    s.sequence += 1;
    s.updated_at = now;
    Ok(s)
}

/// What a participant's update says about one occurrence's change.
fn occurrence_change_detail(key: OccurrenceKey, change: Option<&Override>) -> String {
    let what = match change {
        Some(c) if c.cancelled => "occurrence_cancelled",
        Some(c) if c.start.is_some() || c.duration_minutes.is_some() => "occurrence_moved",
        Some(_) => "occurrence_changed",
        None => "occurrence_restored",
    };
    format!("{what}:{key}")
}

/// Checks everything about a session's timing and places.
fn checked_schedule(session: &Session, now: DateTime<Utc>) -> Result<Schedule, FieldError> {
    check_capacity("capacity", session.capacity)?;
    check_duration(session.duration_minutes)?;
    check_hours("reminder_hours_before", session.reminder_hours_before)?;
    check_hours(
        "enrollment_closes_hours_before",
        session.enrollment_closes_hours_before,
    )?;
    check_start_within_reach("start", session.start_local, now.date_naive())?;
    schedule_of(session)
}

fn check_hours(field: &str, hours: i32) -> Result<(), FieldError> {
    if (0..=336).contains(&hours) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be between 0 and 336 hours (two weeks)",
        ))
    }
}

/// The override after `body`, or `None` when the occurrence is back to what the rule says.
fn changed_override(
    schedule: &Schedule,
    session: &Session,
    key: OccurrenceKey,
    current: Option<Override>,
    body: UpdateOccurrence,
    now: DateTime<Utc>,
) -> Result<Option<Override>, FieldError> {
    let mut change = current.unwrap_or_else(|| Override::new(key));
    if let Some(action) = body.status {
        change.cancelled = action == OccurrenceAction::Cancelled;
    }
    match body.start {
        MaybeUndefined::Value(local) => {
            check_start_within_reach("start", local, now.date_naive())?;
            let start = schedule.resolve(local.trunc_subsecs(0));
            change.start = (start != change.key.original_start()).then_some(start);
        }
        MaybeUndefined::Null => change.start = None,
        MaybeUndefined::Undefined => {}
    }
    match body.duration_minutes {
        MaybeUndefined::Value(minutes) => {
            check_duration(minutes)?;
            change.duration_minutes = (minutes != session.duration_minutes).then_some(minutes);
        }
        MaybeUndefined::Null => change.duration_minutes = None,
        MaybeUndefined::Undefined => {}
    }
    match body.capacity {
        MaybeUndefined::Value(places) => {
            check_capacity("capacity", places)?;
            change.capacity = (places != session.capacity).then_some(places);
        }
        MaybeUndefined::Null => change.capacity = None,
        MaybeUndefined::Undefined => {}
    }
    Ok((!change.is_noop()).then_some(change))
}
