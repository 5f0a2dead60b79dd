//! Accounts: create one (an admin, or the command line for the first admin), disable
//! or re-enable one, and replace one's own token.

use uuid::Uuid;

use super::access::found;
use super::sign_in::write_link;
use super::{OpError, OpResult};
use crate::domain::access::{Caller, Role};
use crate::domain::rsvp::Signer;
use crate::domain::tokens::new_token;
use crate::domain::validate::{email, required_text};
use crate::store::users::User;
use crate::store::{Store, StoreError};

/// Who asks for an account.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user: only programme staff (admins) create accounts.
    Caller(&'a Caller),
    /// The command line, run by whoever holds the database: how the first admin comes.
    System,
}

/// A user to create, as asked. The role is parsed by the front end (a JSON enum, a
/// command-line flag).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub role: Role,
    pub name: String,
    pub email: String,
    pub club_id: Option<Uuid>,
    pub structure_id: Option<Uuid>,
}

/// Fields to change: `None` keeps.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// A disabled user's token is refused.
    pub disabled: Option<bool>,
    /// Another club, for a club manager.
    pub club_id: Option<Uuid>,
    /// Another structure, for a social worker.
    pub structure_id: Option<Uuid>,
}

const ADMINS_ONLY: &str = "only programme staff (admin) may do this";

fn require_admin(caller: &Caller) -> OpResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(OpError::Forbidden(ADMINS_ONLY))
    }
}

/// Creates the user and returns it with its token, which is never shown again; the
/// new user is emailed a sign-in link in the same transaction.
pub async fn create_user(
    store: &Store,
    signer: &Signer,
    actor: Actor<'_>,
    new: NewUser,
) -> OpResult<(User, String)> {
    if let Actor::Caller(caller) = actor {
        require_admin(caller)?;
    }
    let (club_id, structure_id) = match new.role {
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
                OpError::invalid("club_id", "a club manager needs exactly one club")
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
                OpError::invalid(
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
        role: new.role,
        name: required_text("name", &new.name, 200)?,
        email: email("email", &new.email)?,
        club_id,
        structure_id,
        disabled: false,
        created_at: crate::clock::now(),
    };
    let (token, token_hash) = new_token();
    let mut tx = store.write().await?;
    tx.insert_user(&user, &token_hash).await?;
    write_link(&mut tx, signer, user.id, user.created_at).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// Disables or re-enables an account (admins; never their own).
pub async fn update_user(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    changes: UserChanges,
) -> OpResult<User> {
    require_admin(caller)?;
    let user = found(store.user(id).await, "user")?;
    match (user.role, changes.club_id, changes.structure_id) {
        (_, None, None) => {}
        (Role::ClubManager, Some(club_id), None) => {
            exists(store.club(club_id).await, "club_id", "no club has this id")?;
            found(store.move_user(id, Some(club_id), None).await, "user")?;
        }
        (Role::SocialWorker, None, Some(structure_id)) => {
            exists(
                store.structure(structure_id).await,
                "structure_id",
                "no structure has this id",
            )?;
            found(store.move_user(id, None, Some(structure_id)).await, "user")?;
        }
        (_, Some(_), _) => {
            return Err(OpError::invalid(
                "club_id",
                "only a club manager belongs to a club",
            ))
        }
        (_, _, Some(_)) => {
            return Err(OpError::invalid(
                "structure_id",
                "only a social worker belongs to a structure",
            ))
        }
    }
    if let Some(disabled) = changes.disabled {
        if disabled && caller.user_id == id {
            return Err(OpError::invalid(
                "disabled",
                "you cannot disable your own account",
            ));
        }
        found(store.set_user_disabled(id, disabled).await, "user")?;
    }
    found(store.user(id).await, "user")
}

/// A new token for the caller's own account; the previous one stops working at once.
pub async fn rotate_own_token(store: &Store, caller: &Caller) -> OpResult<String> {
    let (token, hash) = new_token();
    found(
        store
            .replace_token(caller.user_id, &hash, crate::clock::now())
            .await,
        "user",
    )?;
    Ok(token)
}

fn reject_present(field: &str, value: Option<Uuid>, why: &str) -> OpResult<()> {
    match value {
        Some(_) => Err(OpError::invalid(field, why)),
        None => Ok(()),
    }
}

/// A reference to something that must exist: invalid `field` when it does not.
fn exists<T>(found: Result<T, StoreError>, field: &str, why: &str) -> OpResult<()> {
    match found {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(OpError::invalid(field, why)),
        Err(other) => Err(other.into()),
    }
}
