//! The people social workers follow: register, change, erase, and their calendar
//! feed's secret.

use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use super::access::{self, found};
use super::{places, OpError, OpResult};
use crate::domain::access::{Caller, Role};
use crate::domain::participants::{birth_year, language, new_code, situation};
use crate::domain::validate::{email, optional_text, required_text};
use crate::domain::FieldError;
use crate::store::participants::Participant;
use crate::store::{Store, StoreError};

/// A person to register, as typed in a form or a JSON body.
#[derive(Debug, Clone, Default)]
pub struct NewParticipant {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `fr` (default) or `en`.
    pub language: Option<String>,
    pub birth_year: Option<i32>,
    pub situation: String,
    /// Default: when there is no email.
    pub notify_referrer: Option<bool>,
    pub consent: bool,
    pub notes: Option<String>,
    /// Programme staff name the structure; a social worker's is their own.
    pub structure_id: Option<Uuid>,
}

/// Fields to change: `None` keeps, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ParticipantChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub language: Option<String>,
    pub birth_year: Option<Option<i32>>,
    pub situation: Option<String>,
    pub notify_referrer: Option<bool>,
    pub notes: Option<Option<String>>,
}

/// Registers a person the caller will follow.
pub async fn create_participant(
    store: &Store,
    caller: &Caller,
    new: NewParticipant,
) -> OpResult<Participant> {
    let structure_id = match caller.role {
        Role::SocialWorker => caller
            .structure_id
            .ok_or(OpError::Forbidden("no structure"))?,
        Role::Admin => new.structure_id.ok_or_else(|| {
            OpError::invalid(
                "structure_id",
                "admins name the structure following the person",
            )
        })?,
        Role::ClubManager => return Err(OpError::Forbidden("clubs do not register participants")),
    };
    if !caller.is_admin()
        && new
            .structure_id
            .is_some_and(|s| Some(s) != caller.structure_id)
    {
        return Err(OpError::invalid(
            "structure_id",
            "you can register people for your own structure only",
        ));
    }
    if caller.is_admin() {
        if let Err(StoreError::NotFound) = store.structure(structure_id).await {
            return Err(OpError::invalid("structure_id", "no structure has this id"));
        }
    }
    let now = crate::clock::now();
    let mut participant = checked_new(&new, structure_id, caller.user_id, now)?;
    // Codes are random; retry the rare collision with a fresh one.
    for attempt in 0..5 {
        match store.insert_participant(&participant).await {
            Ok(()) => return Ok(participant),
            Err(StoreError::Conflict(_)) if attempt < 4 => {
                participant.code = new_code(&mut rand::rng())
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(OpError::Conflict(
        "no free participant code, try again".into(),
    ))
}

/// Changes the details of a person the caller follows.
pub async fn update_participant(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    changes: ParticipantChanges,
) -> OpResult<Participant> {
    let current = access::followed(store, caller, id).await?;
    let participant = apply_changes(current, changes, crate::clock::now())?;
    found(store.update_participant(&participant).await, "participant")?;
    Ok(participant)
}

/// Erases a person's personal data in one transaction: identity and contact details
/// gone, pending messages dropped, active enrollments cancelled with their places
/// offered to the waitlists. Anonymous counts stay.
pub async fn erase_participant(store: &Store, caller: &Caller, id: Uuid) -> OpResult<()> {
    access::followed(store, caller, id).await?;
    let now = crate::clock::now();
    let mut tx = store.write().await?;
    found(tx.erase_participant(id, now).await, "participant")?;
    for (enrollment_id, session_id) in tx.active_enrollments_of_participant(id).await? {
        places::release(&mut tx, session_id, enrollment_id, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A new secret for the person's calendar feed: the old link stops working.
pub async fn rotate_feed_token(store: &Store, caller: &Caller, id: Uuid) -> OpResult<String> {
    let participant = access::followed(store, caller, id).await?;
    found(store.rotate_feed_token(participant.id).await, "participant")
}

fn checked_new(
    new: &NewParticipant,
    structure_id: Uuid,
    referrer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Participant, FieldError> {
    if !new.consent {
        return Err(FieldError::new(
            "consent",
            "must be true: the person agreed to the programme keeping these data",
        ));
    }
    let email = contact_email(new.email.as_deref())?;
    Ok(Participant {
        id: Uuid::new_v4(),
        structure_id,
        referrer_id,
        code: new_code(&mut rand::rng()),
        first_name: required_text("first_name", &new.first_name, 100)?,
        last_name: required_text("last_name", &new.last_name, 100)?,
        notify_referrer: new.notify_referrer.unwrap_or(email.is_none()),
        email,
        phone: optional_text("phone", new.phone.as_deref(), 40)?,
        language: language(new.language.as_deref().unwrap_or("fr"))?,
        birth_year: new
            .birth_year
            .map(|y| birth_year(y, now.year()))
            .transpose()?,
        situation: situation(&new.situation)?,
        consent_at: now,
        notes: optional_text("notes", new.notes.as_deref(), 4000)?,
        created_at: now,
        updated_at: now,
    })
}

fn apply_changes(
    mut p: Participant,
    changes: ParticipantChanges,
    now: DateTime<Utc>,
) -> Result<Participant, FieldError> {
    if let Some(first_name) = &changes.first_name {
        p.first_name = required_text("first_name", first_name, 100)?;
    }
    if let Some(last_name) = &changes.last_name {
        p.last_name = required_text("last_name", last_name, 100)?;
    }
    if let Some(value) = &changes.email {
        p.email = contact_email(value.as_deref())?;
    }
    if let Some(value) = &changes.phone {
        p.phone = optional_text("phone", value.as_deref(), 40)?;
    }
    if let Some(lang) = &changes.language {
        p.language = language(lang)?;
    }
    if let Some(value) = changes.birth_year {
        p.birth_year = value.map(|y| birth_year(y, now.year())).transpose()?;
    }
    if let Some(value) = &changes.situation {
        p.situation = situation(value)?;
    }
    if let Some(notify) = changes.notify_referrer {
        p.notify_referrer = notify;
    }
    if let Some(value) = &changes.notes {
        p.notes = optional_text("notes", value.as_deref(), 4000)?;
    }
    p.updated_at = now;
    Ok(p)
}

fn contact_email(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("email", value, 254)?
        .map(|e| email("email", &e))
        .transpose()
}
