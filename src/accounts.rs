//! Creating accounts: one path for the HTTP API and the command line.

use uuid::Uuid;

use crate::api::auth::new_token;
use crate::api::error::ApiError;
use crate::domain::access::Role;
use crate::domain::validate::{email, required_text};
use crate::store::users::User;
use crate::store::{Store, StoreError};

/// A user to create, as asked.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub role: String,
    pub name: String,
    pub email: String,
    pub club_id: Option<Uuid>,
    pub structure_id: Option<Uuid>,
}

/// Creates the user and returns it with its token, which is never shown again.
pub async fn create_user(store: &Store, new: NewUser) -> Result<(User, String), ApiError> {
    let role = Role::parse(new.role.trim())
        .ok_or_else(|| ApiError::invalid("role", "must be admin, club_manager or social_worker"))?;
    let (club_id, structure_id) = match role {
        Role::Admin => {
            reject_present("club_id", new.club_id, "an admin belongs to no club")?;
            reject_present(
                "structure_id",
                new.structure_id,
                "an admin belongs to no structure",
            )?;
            (None, None)
        }
        Role::ClubManager => {
            reject_present(
                "structure_id",
                new.structure_id,
                "a club manager belongs to a club, not a structure",
            )?;
            let club_id = new.club_id.ok_or_else(|| {
                ApiError::invalid("club_id", "a club manager needs exactly one club")
            })?;
            exists(store.club(club_id).await, "club_id", "no club has this id")?;
            (Some(club_id), None)
        }
        Role::SocialWorker => {
            reject_present(
                "club_id",
                new.club_id,
                "a social worker belongs to a structure, not a club",
            )?;
            let structure_id = new.structure_id.ok_or_else(|| {
                ApiError::invalid(
                    "structure_id",
                    "a social worker needs exactly one structure",
                )
            })?;
            exists(
                store.structure(structure_id).await,
                "structure_id",
                "no structure has this id",
            )?;
            (None, Some(structure_id))
        }
    };
    let user = User {
        id: Uuid::new_v4(),
        role: role.as_str().to_owned(),
        name: required_text("name", &new.name, 200)?,
        email: email("email", &new.email)?,
        club_id,
        structure_id,
        disabled: false,
        created_at: crate::clock::now(),
    };
    let (token, token_hash) = new_token();
    store.insert_user(&user, &token_hash).await?;
    Ok((user, token))
}

fn reject_present(field: &str, value: Option<Uuid>, why: &str) -> Result<(), ApiError> {
    match value {
        Some(_) => Err(ApiError::invalid(field, why)),
        None => Ok(()),
    }
}

/// A reference to something that must exist: 422 on the field when it does not.
fn exists<T>(found: Result<T, StoreError>, field: &str, why: &str) -> Result<(), ApiError> {
    match found {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::invalid(field, why)),
        Err(other) => Err(other.into()),
    }
}
