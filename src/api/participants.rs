use chrono::{DateTime, Utc};

use crate::ops;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::enrollments::EnrollmentView;
use super::error::ApiError;
use super::{pagination, ApiTags, AppState};
use crate::ops::access::{self, followed};
use crate::ops::participants::{NewParticipant, ParticipantChanges};
use crate::store::enrollments::EnrollmentFilter;
use crate::store::participants::{Participant, ParticipantFilter};

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
        let b = body.0;
        let new = NewParticipant {
            first_name: b.first_name,
            last_name: b.last_name,
            email: b.email,
            phone: b.phone,
            language: b.language,
            birth_year: b.birth_year,
            situation: b.situation,
            notify_referrer: b.notify_referrer,
            consent: b.consent,
            notes: b.notes,
            structure_id: b.structure_id,
        };
        let participant = ops::participants::create_participant(&state.store, &auth.0, new).await?;
        Ok(ParticipantCreated::Created(Json(participant.into())))
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
        let structure_id = access::readable_scope(&auth.0)?;
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
        let participant = followed(&state.store, &auth.0, participant_id.0).await?;
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
        let token =
            ops::participants::rotate_feed_token(&state.store, &auth.0, participant_id.0).await?;
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
        let participant = followed(&state.store, &auth.0, participant_id.0).await?;
        let html =
            crate::printable::schedule::render(&state, &participant, crate::clock::now()).await?;
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
        let b = body.0;
        let changes = ParticipantChanges {
            first_name: b.first_name,
            last_name: b.last_name,
            email: b.email.into(),
            phone: b.phone.into(),
            language: b.language,
            birth_year: b.birth_year.into(),
            situation: b.situation,
            notify_referrer: b.notify_referrer,
            notes: b.notes.into(),
        };
        let participant =
            ops::participants::update_participant(&state.store, &auth.0, participant_id.0, changes)
                .await?;
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
        ops::participants::erase_participant(&state.store, &auth.0, participant_id.0).await?;
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
        let participant = followed(&state.store, &auth.0, participant_id.0).await?;
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
