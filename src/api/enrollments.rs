use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::domain::access::Caller;
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::ops::enrollments::{EnrolRequest, Enrolled};
use crate::ops::{self, access};
use crate::store::enrollments::{EnrollmentFilter, Idempotency, Placed};

/// A participant's place in a whole session (`series`) or in one occurrence.
#[derive(Object, Clone)]
pub struct EnrollmentView {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub session_id: Uuid,
    pub scope: Scope,
    /// Series: the first occurrence covered; occurrence: the one occurrence.
    pub from_key: String,
    pub occurrence_key: Option<String>,
    pub status: EnrollmentStatus,
    /// Place in the session's waitlist (1 = next), while waitlisted.
    pub waitlist_position: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Placed> for EnrollmentView {
    fn from(p: Placed) -> Self {
        let e = p.enrollment;
        Self {
            id: e.id,
            participant_id: e.participant_id,
            session_id: e.session_id,
            scope: e.scope,
            from_key: e.from_key,
            occurrence_key: e.occurrence_key,
            status: e.status,
            waitlist_position: p.waitlist_position,
            created_at: e.created_at,
            cancelled_at: e.cancelled_at,
        }
    }
}

#[derive(Object, serde::Serialize)]
pub struct CreateEnrollment {
    pub participant_id: Uuid,
    pub session_id: Uuid,
    /// One occurrence only (e.g. a trial); absent: the whole session.
    pub occurrence_key: Option<String>,
    /// Series only: from this date (read in the session's zone) or instant on;
    /// default: the next occurrence still open for enrollment.
    pub from: Option<String>,
}

#[derive(ApiResponse)]
pub enum EnrollmentCreated {
    /// Confirmed, or waitlisted with a position. A retried request with the same
    /// `Idempotency-Key` gets this same answer.
    #[oai(status = 201)]
    Created(Json<EnrollmentView>),
}

pub struct EnrollmentsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Enrollments")]
impl EnrollmentsApi {
    /// Enrol a participant of your structure (social worker, or admin).
    #[oai(
        path = "/enrollments",
        method = "post",
        operation_id = "create_enrollment"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<Option<String>>,
        body: Json<CreateEnrollment>,
    ) -> Result<EnrollmentCreated, ApiError> {
        let caller = &auth.0;
        let idempotency = idempotency_key
            .0
            .as_deref()
            .map(|key| idempotency(caller, key, &body.0))
            .transpose()?;
        let request = EnrolRequest {
            participant_id: body.participant_id,
            session_id: body.session_id,
            occurrence_key: body.occurrence_key.clone(),
            from: body.from.clone(),
        };
        let enrolled = ops::enrollments::enrol(
            &state.store,
            &state.metrics,
            caller,
            &request,
            idempotency.as_ref(),
            |placed| (201, EnrollmentView::from(placed.clone()).to_json_string()),
        )
        .await?;
        match enrolled {
            Enrolled::Created(placed) => Ok(EnrollmentCreated::Created(Json((*placed).into()))),
            Enrolled::Replayed { body, .. } => {
                let value = serde_json::from_str(&body).ok();
                let view = EnrollmentView::parse_from_json(value).map_err(|e| {
                    ApiError::Internal(format!("stored answer unreadable: {}", e.into_message()))
                })?;
                Ok(EnrollmentCreated::Created(Json(view)))
            }
        }
    }

    /// Enrollments of the participants you follow (admin: all), by participant or session.
    #[oai(
        path = "/enrollments",
        method = "get",
        operation_id = "list_enrollments"
    )]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        participant_id: Query<Option<Uuid>>,
        session_id: Query<Option<Uuid>>,
    ) -> Result<Json<Vec<EnrollmentView>>, ApiError> {
        let structure_id = access::readable_scope(&auth.0)?;
        let found = state
            .store
            .enrollments(&EnrollmentFilter {
                participant_id: participant_id.0,
                session_id: session_id.0,
                structure_id,
            })
            .await?;
        Ok(Json(found.into_iter().map(Into::into).collect()))
    }

    /// One enrollment, with its waitlist position.
    #[oai(
        path = "/enrollments/:enrollment_id",
        method = "get",
        operation_id = "get_enrollment"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        enrollment_id: Path<Uuid>,
    ) -> Result<Json<EnrollmentView>, ApiError> {
        let placed = access::visible_enrollment(&state.store, &auth.0, enrollment_id.0).await?;
        Ok(Json(placed.into()))
    }

    /// Cancel an enrollment (the participant's structure, or admin). The place goes to
    /// the first waitlisted enrollment that now fits, in the same transaction.
    #[oai(
        path = "/enrollments/:enrollment_id",
        method = "delete",
        operation_id = "cancel_enrollment"
    )]
    async fn cancel(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        enrollment_id: Path<Uuid>,
    ) -> Result<Json<EnrollmentView>, ApiError> {
        let placed =
            ops::enrollments::cancel_enrollment(&state.store, &auth.0, enrollment_id.0).await?;
        Ok(Json(placed.into()))
    }
}

fn idempotency(
    caller: &Caller,
    key: &str,
    body: &CreateEnrollment,
) -> Result<Idempotency, ApiError> {
    let key = key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    let request = serde_json::to_vec(body).unwrap_or_default();
    Ok(Idempotency {
        user_id: caller.user_id,
        key: key.to_owned(),
        request_hash: hex::encode(Sha256::digest(&request)),
    })
}
