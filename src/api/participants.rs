use chrono::{DateTime, Datelike, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::enrollments::EnrollmentView;
use super::error::{ApiError, OrNotFound};
use super::{pagination, ApiTags, AppState};
use crate::domain::access::{Caller, Role};
use crate::domain::participants::{birth_year, language, new_code, situation};
use crate::domain::validate::{email, optional_text, required_text};
use crate::domain::FieldError;
use crate::store::enrollments::EnrollmentFilter;
use crate::store::participants::{Participant, ParticipantFilter};
use crate::store::StoreError;

/// A person followed by a social worker. Visible to their structure and to admins only.
#[derive(Object)]
pub struct ParticipantView {
    pub id: Uuid,
    /// Six characters without look-alikes, for the door and for phone calls.
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `fr` or `en`.
    pub language: String,
    pub birth_year: Option<i32>,
    pub situation: String,
    /// Copy every message to the social worker.
    pub notify_referrer: bool,
    pub notes: Option<String>,
    pub structure_id: Uuid,
    pub referrer_id: Uuid,
    pub consent_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The person's calendar subscription: a secret link to give them (one person's
    /// reading only; rotate it with `POST …/feed-token` if it leaks).
    pub feed_url: Option<String>,
}

#[derive(Object)]
pub struct FeedLink {
    pub feed_url: String,
}

#[derive(ApiResponse)]
pub enum SchedulePage {
    /// A printable page of the next eight weeks.
    #[oai(status = 200)]
    Page(Html<String>),
}

impl From<Participant> for ParticipantView {
    fn from(p: Participant) -> Self {
        Self {
            id: p.id,
            code: p.code,
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            phone: p.phone,
            language: p.language,
            birth_year: p.birth_year,
            situation: p.situation,
            notify_referrer: p.notify_referrer,
            notes: p.notes,
            structure_id: p.structure_id,
            referrer_id: p.referrer_id,
            consent_at: p.consent_at,
            created_at: p.created_at,
            updated_at: p.updated_at,
            feed_url: None,
        }
    }
}

#[derive(Object)]
pub struct CreateParticipant {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `fr` (default) or `en`.
    pub language: Option<String>,
    pub birth_year: Option<i32>,
    /// `street`, `shelter`, `single_parent`, `student`, `young_care_leaver`, `migrant`,
    /// `isolated_senior` or `other`.
    pub situation: String,
    /// Copy every message to the social worker (default: when there is no email).
    pub notify_referrer: Option<bool>,
    /// The person agreed to the programme keeping these data: must be true.
    pub consent: bool,
    pub notes: Option<String>,
    /// For admins: the structure following the person.
    pub structure_id: Option<Uuid>,
}

#[derive(Object)]
pub struct UpdateParticipant {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub language: Option<String>,
    pub birth_year: MaybeUndefined<i32>,
    pub situation: Option<String>,
    pub notify_referrer: Option<bool>,
    pub notes: MaybeUndefined<String>,
}

#[derive(Object)]
pub struct ParticipantPage {
    pub items: Vec<ParticipantView>,
    pub next_cursor: Option<String>,
}

/// Everything held about a person.
#[derive(Object)]
pub struct ParticipantExport {
    pub participant: ParticipantView,
    pub enrollments: Vec<EnrollmentView>,
    pub exported_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
pub enum ParticipantCreated {
    #[oai(status = 201)]
    Created(Json<ParticipantView>),
}

#[derive(ApiResponse)]
pub enum Erased {
    /// Personal data erased; anonymous counts kept.
    #[oai(status = 204)]
    Done,
}

pub struct ParticipantsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Participants")]
impl ParticipantsApi {
    /// Register a person you follow (social worker; admins name the structure).
    #[oai(
        path = "/participants",
        method = "post",
        operation_id = "create_participant"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        body: Json<CreateParticipant>,
    ) -> Result<ParticipantCreated, ApiError> {
        let body = body.0;
        let structure_id = match auth.0.role {
            Role::SocialWorker => auth
                .0
                .structure_id
                .ok_or(ApiError::Forbidden("no structure"))?,
            Role::Admin => body.structure_id.ok_or_else(|| {
                ApiError::invalid(
                    "structure_id",
                    "admins name the structure following the person",
                )
            })?,
            Role::ClubManager => {
                return Err(ApiError::Forbidden("clubs do not register participants"))
            }
        };
        if !auth.0.is_admin()
            && body
                .structure_id
                .is_some_and(|s| Some(s) != auth.0.structure_id)
        {
            return Err(ApiError::invalid(
                "structure_id",
                "you can register people for your own structure only",
            ));
        }
        if auth.0.is_admin() {
            if let Err(StoreError::NotFound) = state.store.structure(structure_id).await {
                return Err(ApiError::invalid(
                    "structure_id",
                    "no structure has this id",
                ));
            }
        }
        let now = crate::clock::now();
        let mut participant = new_participant(&body, structure_id, auth.0.user_id, now)?;
        // Codes are random; retry the rare collision with a fresh one.
        for attempt in 0..5 {
            match state.store.insert_participant(&participant).await {
                Ok(()) => return Ok(ParticipantCreated::Created(Json(participant.into()))),
                Err(StoreError::Conflict(_)) if attempt < 4 => {
                    participant.code = new_code(&mut rand::rng())
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApiError::Internal("no free participant code".into()))
    }

    /// The people your organisation follows, by name (`name` searches first and last name).
    #[oai(
        path = "/participants",
        method = "get",
        operation_id = "list_participants"
    )]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        name: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<ParticipantPage>, ApiError> {
        let structure_id = readable_scope(&auth.0)?;
        let limit = pagination::limit(limit.0, 50, 200)?;
        let filter = ParticipantFilter {
            structure_id,
            name: name.0.filter(|n| !n.trim().is_empty()),
            after: cursor.0.as_deref().map(pagination::decode).transpose()?,
            limit: limit + 1,
        };
        let mut found = state.store.participants(&filter).await?;
        let next_cursor = if found.len() as i64 > limit {
            found.truncate(limit as usize);
            found
                .last()
                .map(|p| pagination::encode(&(p.last_name.clone(), p.first_name.clone(), p.id)))
        } else {
            None
        };
        Ok(Json(ParticipantPage {
            items: found.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One person (their structure, or admin).
    #[oai(
        path = "/participants/:participant_id",
        method = "get",
        operation_id = "get_participant"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<Json<ParticipantView>, ApiError> {
        let participant = followed(&state, &auth.0, participant_id.0).await?;
        let token = state.store.feed_token(participant.id).await?;
        let mut view = ParticipantView::from(participant);
        view.feed_url = Some(state.mailer.feed_url(&token));
        Ok(Json(view))
    }

    /// A new calendar feed link; the old one stops working (their structure, or admin).
    #[oai(
        path = "/participants/:participant_id/feed-token",
        method = "post",
        operation_id = "rotate_feed_token"
    )]
    async fn rotate_feed(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<Json<FeedLink>, ApiError> {
        let participant = followed(&state, &auth.0, participant_id.0).await?;
        let token = state.store.rotate_feed_token(participant.id).await?;
        Ok(Json(FeedLink {
            feed_url: state.mailer.feed_url(&token),
        }))
    }

    /// A printable page of the person's next eight weeks (dates, times, addresses, club
    /// contact, their code), for someone without email (their structure, or admin).
    #[oai(
        path = "/participants/:participant_id/schedule",
        method = "get",
        operation_id = "participant_schedule"
    )]
    async fn schedule(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<SchedulePage, ApiError> {
        let participant = followed(&state, &auth.0, participant_id.0).await?;
        let html = super::schedule_page::render(&state, &participant, crate::clock::now()).await?;
        Ok(SchedulePage::Page(Html(html)))
    }

    /// Change a person's details (their structure, or admin).
    #[oai(
        path = "/participants/:participant_id",
        method = "patch",
        operation_id = "update_participant"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
        body: Json<UpdateParticipant>,
    ) -> Result<Json<ParticipantView>, ApiError> {
        let current = followed(&state, &auth.0, participant_id.0).await?;
        let participant = apply_update(current, body.0, crate::clock::now())?;
        state
            .store
            .update_participant(&participant)
            .await
            .or_not_found("participant")?;
        Ok(Json(participant.into()))
    }

    /// Erase a person's personal data (their structure, or admin): names replaced,
    /// contact details and notes cleared, future enrollments cancelled (places freed).
    /// Anonymous counts stay. Later reads answer 404.
    #[oai(
        path = "/participants/:participant_id",
        method = "delete",
        operation_id = "erase_participant"
    )]
    async fn erase(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<Erased, ApiError> {
        followed(&state, &auth.0, participant_id.0).await?;
        state
            .store
            .erase_participant(participant_id.0, crate::clock::now())
            .await
            .or_not_found("participant")?;
        Ok(Erased::Done)
    }

    /// Everything held about a person (their structure, or admin).
    #[oai(
        path = "/participants/:participant_id/export",
        method = "get",
        operation_id = "export_participant"
    )]
    async fn export(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Path<Uuid>,
    ) -> Result<Json<ParticipantExport>, ApiError> {
        let participant = followed(&state, &auth.0, participant_id.0).await?;
        let enrollments = state
            .store
            .enrollments(&EnrollmentFilter {
                participant_id: Some(participant.id),
                ..Default::default()
            })
            .await?;
        Ok(Json(ParticipantExport {
            participant: participant.into(),
            enrollments: enrollments.into_iter().map(Into::into).collect(),
            exported_at: crate::clock::now(),
        }))
    }
}

/// The structure whose participants the caller may read: their own (social worker),
/// any (admin, `None`); clubs may not read participants.
pub fn readable_scope(caller: &Caller) -> Result<Option<Uuid>, ApiError> {
    match caller.role {
        Role::Admin => Ok(None),
        Role::SocialWorker => Ok(caller.structure_id),
        Role::ClubManager => Err(ApiError::Forbidden(
            "clubs see participants only on their rosters",
        )),
    }
}

/// A participant the caller follows; 404 for another structure's, so existence does not leak.
pub async fn followed(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<Participant, ApiError> {
    let scope = readable_scope(caller)?;
    let participant = state
        .store
        .participant(id)
        .await
        .or_not_found("participant")?;
    match scope {
        Some(structure) if structure != participant.structure_id => {
            Err(ApiError::NotFound("participant"))
        }
        _ => Ok(participant),
    }
}

fn new_participant(
    body: &CreateParticipant,
    structure_id: Uuid,
    referrer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Participant, FieldError> {
    if !body.consent {
        return Err(FieldError::new(
            "consent",
            "must be true: the person agreed to the programme keeping these data",
        ));
    }
    let email = contact_email(body.email.as_deref())?;
    Ok(Participant {
        id: Uuid::new_v4(),
        structure_id,
        referrer_id,
        code: new_code(&mut rand::rng()),
        first_name: required_text("first_name", &body.first_name, 100)?,
        last_name: required_text("last_name", &body.last_name, 100)?,
        notify_referrer: body.notify_referrer.unwrap_or(email.is_none()),
        email,
        phone: optional_text("phone", body.phone.as_deref(), 40)?,
        language: language(body.language.as_deref().unwrap_or("fr"))?,
        birth_year: body
            .birth_year
            .map(|y| birth_year(y, now.year()))
            .transpose()?,
        situation: situation(&body.situation)?,
        consent_at: now,
        notes: optional_text("notes", body.notes.as_deref(), 4000)?,
        created_at: now,
        updated_at: now,
    })
}

fn apply_update(
    mut p: Participant,
    body: UpdateParticipant,
    now: DateTime<Utc>,
) -> Result<Participant, FieldError> {
    if let Some(first_name) = &body.first_name {
        p.first_name = required_text("first_name", first_name, 100)?;
    }
    if let Some(last_name) = &body.last_name {
        p.last_name = required_text("last_name", last_name, 100)?;
    }
    if !body.email.is_undefined() {
        p.email = contact_email(body.email.value().map(String::as_str))?;
    }
    if !body.phone.is_undefined() {
        p.phone = optional_text("phone", body.phone.value().map(String::as_str), 40)?;
    }
    if let Some(lang) = &body.language {
        p.language = language(lang)?;
    }
    if !body.birth_year.is_undefined() {
        p.birth_year = body
            .birth_year
            .value()
            .map(|y| birth_year(*y, now.year()))
            .transpose()?;
    }
    if let Some(value) = &body.situation {
        p.situation = situation(value)?;
    }
    if let Some(notify) = body.notify_referrer {
        p.notify_referrer = notify;
    }
    if !body.notes.is_undefined() {
        p.notes = optional_text("notes", body.notes.value().map(String::as_str), 4000)?;
    }
    p.updated_at = now;
    Ok(p)
}

fn contact_email(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("email", value, 254)?
        .map(|e| email("email", &e))
        .transpose()
}
