use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::{ApiError, OrNotFound};
use super::{pagination, ApiTags, AppState};
use crate::domain::clubs::PartnershipStatus;
use crate::ops::{
    self,
    clubs::{ClubChanges, NewClub, PartnershipTerms},
};
use crate::store::clubs::{Club, ClubFilter};

/// Where the club stands with the programme.
#[derive(Object, Clone)]
pub struct Partnership {
    pub status: PartnershipStatus,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub notes: Option<String>,
}

#[derive(Object)]
pub struct ClubView {
    pub id: Uuid,
    pub name: String,
    /// Sports practised, lower-case (`football`, `boxe`…).
    pub sports: Vec<String>,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub accessibility_notes: Option<String>,
    pub partnership: PartnershipView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Object)]
pub struct PartnershipView {
    pub status: PartnershipStatus,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl From<Club> for ClubView {
    fn from(c: Club) -> Self {
        Self {
            id: c.id,
            name: c.name,
            sports: c.sports,
            address: c.address,
            postal_code: c.postal_code,
            city: c.city,
            latitude: c.latitude,
            longitude: c.longitude,
            contact_email: c.contact_email,
            contact_phone: c.contact_phone,
            accessibility_notes: c.accessibility_notes,
            partnership: PartnershipView {
                status: c.partnership_status,
                since: c.partnership_since,
                until: c.partnership_until,
                notes: c.partnership_notes,
            },
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Object)]
pub struct CreateClub {
    pub name: String,
    pub sports: Vec<String>,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub accessibility_notes: Option<String>,
    /// Defaults to `prospect`.
    pub partnership: Option<Partnership>,
}

/// Fields to change; absent fields stay, `null` clears an optional one.
#[derive(Object)]
pub struct UpdateClub {
    pub name: Option<String>,
    pub sports: Option<Vec<String>>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub latitude: MaybeUndefined<f64>,
    pub longitude: MaybeUndefined<f64>,
    pub contact_email: MaybeUndefined<String>,
    pub contact_phone: MaybeUndefined<String>,
    pub accessibility_notes: MaybeUndefined<String>,
    /// Programme staff only.
    pub partnership: Option<Partnership>,
}

#[derive(Object)]
pub struct ClubPage {
    pub items: Vec<ClubView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum ClubCreated {
    #[oai(status = 201)]
    Created(Json<ClubView>),
}

pub struct ClubsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Clubs")]
impl ClubsApi {
    /// Sign a club (admin).
    #[oai(path = "/clubs", method = "post", operation_id = "create_club")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        body: Json<CreateClub>,
    ) -> Result<ClubCreated, ApiError> {
        let body = body.0;
        let club = ops::clubs::create_club(
            &state.store,
            &auth.0,
            NewClub {
                name: body.name,
                sports: body.sports,
                address: body.address,
                postal_code: body.postal_code,
                city: body.city,
                latitude: body.latitude,
                longitude: body.longitude,
                contact_email: body.contact_email,
                contact_phone: body.contact_phone,
                accessibility_notes: body.accessibility_notes,
                partnership: body.partnership.map(Into::into),
            },
        )
        .await?;
        Ok(ClubCreated::Created(Json(club.into())))
    }

    /// Partner clubs, by name, filtered by sport and city (any role).
    #[oai(path = "/clubs", method = "get", operation_id = "list_clubs")]
    async fn list(
        &self,
        _auth: Auth,
        state: Data<&AppState>,
        sport: Query<Option<String>>,
        city: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<ClubPage>, ApiError> {
        let limit = pagination::limit(limit.0, 50, 200)?;
        let filter = ClubFilter {
            sport: sport.0.filter(|s| !s.trim().is_empty()),
            city: city.0.filter(|c| !c.trim().is_empty()),
            partnership: None,
            after: cursor.0.as_deref().map(pagination::decode).transpose()?,
            limit: limit + 1,
        };
        let mut clubs = state.store.clubs(&filter).await?;
        let next_cursor = if clubs.len() as i64 > limit {
            clubs.truncate(limit as usize);
            clubs
                .last()
                .map(|c| pagination::encode(&(c.name.clone(), c.id)))
        } else {
            None
        };
        Ok(Json(ClubPage {
            items: clubs.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One club (any role).
    #[oai(path = "/clubs/:club_id", method = "get", operation_id = "get_club")]
    async fn get(
        &self,
        _auth: Auth,
        state: Data<&AppState>,
        club_id: Path<Uuid>,
    ) -> Result<Json<ClubView>, ApiError> {
        Ok(Json(
            state
                .store
                .club(club_id.0)
                .await
                .or_not_found("club")?
                .into(),
        ))
    }

    /// Change a club: admin, or the club's manager (partnership: admin only).
    #[oai(
        path = "/clubs/:club_id",
        method = "patch",
        operation_id = "update_club"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        club_id: Path<Uuid>,
        body: Json<UpdateClub>,
    ) -> Result<Json<ClubView>, ApiError> {
        let b = body.0;
        let changes = ClubChanges {
            name: b.name,
            sports: b.sports,
            address: b.address,
            postal_code: b.postal_code,
            city: b.city,
            latitude: b.latitude.into(),
            longitude: b.longitude.into(),
            contact_email: b.contact_email.into(),
            contact_phone: b.contact_phone.into(),
            accessibility_notes: b.accessibility_notes.into(),
            partnership: b.partnership.map(Into::into),
        };
        let club = ops::clubs::update_club(&state.store, &auth.0, club_id.0, changes).await?;
        Ok(Json(club.into()))
    }
}

impl From<Partnership> for PartnershipTerms {
    fn from(p: Partnership) -> Self {
        Self {
            status: p.status,
            since: p.since,
            until: p.until,
            notes: p.notes,
        }
    }
}
