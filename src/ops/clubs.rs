//! Partner clubs: programme staff sign them; a club's manager keeps its profile.

use chrono::NaiveDate;
use uuid::Uuid;

use super::access::found;
use super::{OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::clubs::PartnershipStatus;
use crate::domain::validate::{email, optional_text, required_text, search_key};
use crate::domain::FieldError;
use crate::store::clubs::Club;
use crate::store::Store;

/// The terms of a partnership, as programme staff set them.
#[derive(Debug, Clone)]
pub struct PartnershipTerms {
    pub status: PartnershipStatus,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// A club to sign, as typed.
#[derive(Debug, Clone)]
pub struct NewClub {
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
    /// Default: a prospect.
    pub partnership: Option<PartnershipTerms>,
}

/// Fields to change: `None` keeps, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ClubChanges {
    pub name: Option<String>,
    pub sports: Option<Vec<String>>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub contact_email: Option<Option<String>>,
    pub contact_phone: Option<Option<String>>,
    pub accessibility_notes: Option<Option<String>>,
    /// Programme staff only.
    pub partnership: Option<PartnershipTerms>,
}

/// Signs a club (programme staff).
pub async fn create_club(store: &Store, caller: &Caller, new: NewClub) -> OpResult<Club> {
    if !caller.is_admin() {
        return Err(OpError::Forbidden(
            "only programme staff (admin) may do this",
        ));
    }
    let now = crate::clock::now();
    let partnership = new.partnership.unwrap_or(PartnershipTerms {
        status: PartnershipStatus::Prospect,
        since: None,
        until: None,
        notes: None,
    });
    let club = Club {
        id: Uuid::new_v4(),
        name: required_text("name", &new.name, 200)?,
        sports: sports(&new.sports)?,
        address: required_text("address", &new.address, 300)?,
        postal_code: required_text("postal_code", &new.postal_code, 20)?,
        city: required_text("city", &new.city, 100)?,
        latitude: new.latitude,
        longitude: new.longitude,
        contact_email: contact_email(new.contact_email.as_deref())?,
        contact_phone: optional_text("contact_phone", new.contact_phone.as_deref(), 40)?,
        accessibility_notes: optional_text(
            "accessibility_notes",
            new.accessibility_notes.as_deref(),
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
    store.insert_club(&club).await?;
    Ok(club)
}

/// Changes a club: programme staff, or the club's manager (the partnership: programme
/// staff only). A change calendars show reaches the participants' calendars.
pub async fn update_club(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    changes: ClubChanges,
) -> OpResult<Club> {
    if !caller.manages_club(id) {
        return Err(OpError::Forbidden(
            "only programme staff or this club's manager may change it",
        ));
    }
    if changes.partnership.is_some() && !caller.is_admin() {
        return Err(OpError::Forbidden(
            "only programme staff may change the partnership",
        ));
    }
    let current = found(store.club(id).await, "club")?;
    let club = apply_changes(current.clone(), changes)?;
    // What participants' calendars show of the club: its name, where it is, whom to call.
    let calendars_change = current.name != club.name
        || current.address_line() != club.address_line()
        || current.latitude != club.latitude
        || current.longitude != club.longitude
        || current.contact_phone != club.contact_phone
        || current.contact_email != club.contact_email;
    found(store.update_club(&club, calendars_change).await, "club")?;
    Ok(club)
}

fn apply_changes(mut club: Club, body: ClubChanges) -> Result<Club, FieldError> {
    let address_before = club.address_line();
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
    // A club that moved without new coordinates loses the old ones: a map link or a
    // calendar's GEO pointing at the old address would send people to the wrong place.
    if club.address_line() != address_before && body.latitude.is_none() && body.longitude.is_none()
    {
        club.latitude = None;
        club.longitude = None;
    }
    if let Some(latitude) = body.latitude {
        club.latitude = latitude;
    }
    if let Some(longitude) = body.longitude {
        club.longitude = longitude;
    }
    if let Some(value) = &body.contact_email {
        club.contact_email = contact_email(value.as_deref())?;
    }
    if let Some(value) = &body.contact_phone {
        club.contact_phone = optional_text("contact_phone", value.as_deref(), 40)?;
    }
    if let Some(value) = &body.accessibility_notes {
        club.accessibility_notes = optional_text("accessibility_notes", value.as_deref(), 2000)?;
    }
    if let Some(partnership) = &body.partnership {
        club = with_partnership(club, partnership)?;
    }
    check_coordinates(club.latitude, club.longitude)?;
    club.updated_at = crate::clock::now();
    Ok(club)
}

fn with_partnership(mut club: Club, partnership: &PartnershipTerms) -> Result<Club, FieldError> {
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
