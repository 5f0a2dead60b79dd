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
use crate::domain::validate::{email, optional_text, required_text, search_key};
use crate::domain::FieldError;
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
        auth.require_admin()?;
        let body = body.0;
        let now = crate::clock::now();
        let partnership = body.partnership.unwrap_or(Partnership {
            status: PartnershipStatus::Prospect,
            since: None,
            until: None,
            notes: None,
        });
        let club = Club {
            id: Uuid::new_v4(),
            name: required_text("name", &body.name, 200)?,
            sports: sports(&body.sports)?,
            address: required_text("address", &body.address, 300)?,
            postal_code: required_text("postal_code", &body.postal_code, 20)?,
            city: required_text("city", &body.city, 100)?,
            latitude: body.latitude,
            longitude: body.longitude,
            contact_email: contact_email(body.contact_email.as_deref())?,
            contact_phone: optional_text("contact_phone", body.contact_phone.as_deref(), 40)?,
            accessibility_notes: optional_text(
                "accessibility_notes",
                body.accessibility_notes.as_deref(),
                2000,
            )?,
            partnership_status: PartnershipStatus::Prospect,
            partnership_since: None,
            partnership_until: None,
            partnership_notes: None,
            created_at: now,
            updated_at: now,
        };
        let club = with_partnership(club, &partnership)?;
        check_coordinates(club.latitude, club.longitude)?;
        state.store.insert_club(&club).await?;
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
        if !auth.0.manages_club(club_id.0) {
            return Err(ApiError::Forbidden(
                "only programme staff or this club's manager may change it",
            ));
        }
        let body = body.0;
        if body.partnership.is_some() && !auth.0.is_admin() {
            return Err(ApiError::Forbidden(
                "only programme staff may change the partnership",
            ));
        }
        let current = state.store.club(club_id.0).await.or_not_found("club")?;
        let club = apply_update(current.clone(), body)?;
        // What participants' calendars show of the club: its name, where it is, whom to call.
        let calendars_change = current.name != club.name
            || current.address_line() != club.address_line()
            || current.latitude != club.latitude
            || current.longitude != club.longitude
            || current.contact_phone != club.contact_phone
            || current.contact_email != club.contact_email;
        state
            .store
            .update_club(&club, calendars_change)
            .await
            .or_not_found("club")?;
        Ok(Json(club.into()))
    }
}

fn apply_update(mut club: Club, body: UpdateClub) -> Result<Club, FieldError> {
    if let Some(name) = &body.name {
        club.name = required_text("name", name, 200)?;
    }
    if let Some(list) = &body.sports {
        club.sports = sports(list)?;
    }
    if let Some(address) = &body.address {
        club.address = required_text("address", address, 300)?;
    }
    if let Some(postal_code) = &body.postal_code {
        club.postal_code = required_text("postal_code", postal_code, 20)?;
    }
    if let Some(city) = &body.city {
        club.city = required_text("city", city, 100)?;
    }
    body.latitude.update_to(&mut club.latitude);
    body.longitude.update_to(&mut club.longitude);
    if !body.contact_email.is_undefined() {
        club.contact_email = contact_email(body.contact_email.value().map(String::as_str))?;
    }
    if !body.contact_phone.is_undefined() {
        club.contact_phone = optional_text(
            "contact_phone",
            body.contact_phone.value().map(String::as_str),
            40,
        )?;
    }
    if !body.accessibility_notes.is_undefined() {
        club.accessibility_notes = optional_text(
            "accessibility_notes",
            body.accessibility_notes.value().map(String::as_str),
            2000,
        )?;
    }
    if let Some(partnership) = &body.partnership {
        club = with_partnership(club, partnership)?;
    }
    check_coordinates(club.latitude, club.longitude)?;
    club.updated_at = crate::clock::now();
    Ok(club)
}

fn with_partnership(mut club: Club, partnership: &Partnership) -> Result<Club, FieldError> {
    if let (Some(since), Some(until)) = (partnership.since, partnership.until) {
        if until < since {
            return Err(FieldError::new(
                "partnership.until",
                "must not be before since",
            ));
        }
    }
    club.partnership_status = partnership.status;
    club.partnership_since = partnership.since;
    club.partnership_until = partnership.until;
    club.partnership_notes =
        optional_text("partnership.notes", partnership.notes.as_deref(), 2000)?;
    Ok(club)
}

fn sports(list: &[String]) -> Result<Vec<String>, FieldError> {
    let mut sports: Vec<String> = Vec::new();
    for sport in list {
        let sport = search_key(&required_text("sports", sport, 60)?);
        if !sports.contains(&sport) {
            sports.push(sport);
        }
    }
    match sports.len() {
        0 => Err(FieldError::new("sports", "name at least one sport")),
        n if n > 20 => Err(FieldError::new("sports", "at most 20 sports")),
        _ => Ok(sports),
    }
}

fn contact_email(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("contact_email", value, 254)?
        .map(|e| email("contact_email", &e))
        .transpose()
}

fn check_coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Result<(), FieldError> {
    match (latitude, longitude) {
        (None, None) => Ok(()),
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                Err(FieldError::new("latitude", "must be between -90 and 90"))
            } else if !(-180.0..=180.0).contains(&lon) {
                Err(FieldError::new("longitude", "must be between -180 and 180"))
            } else {
                Ok(())
            }
        }
        (Some(_), None) => Err(FieldError::new(
            "longitude",
            "give both latitude and longitude, or neither",
        )),
        (None, Some(_)) => Err(FieldError::new(
            "latitude",
            "give both latitude and longitude, or neither",
        )),
    }
}
