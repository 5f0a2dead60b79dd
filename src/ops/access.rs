//! Who may see and change what: the lookups every operation starts with. A thing the
//! caller may not see is "not found", so its existence does not leak; a thing they see
//! but may not change is "forbidden".

use uuid::Uuid;

use super::{OpError, OpResult};
use crate::domain::access::{Caller, Role};
use crate::domain::schedule::{OccurrenceKey, Schedule};
use crate::store::enrollments::Placed;
use crate::store::participants::Participant;
use crate::store::sessions::Session;
use crate::store::{Store, StoreError};

/// The structure whose participants the caller may read (`None`: every one).
pub fn readable_scope(caller: &Caller) -> OpResult<Option<Uuid>> {
    match caller.role {
        Role::Admin => Ok(None),
        Role::SocialWorker => Ok(caller.structure_id),
        Role::ClubManager => Err(OpError::Forbidden(
            "clubs see participants only on their rosters",
        )),
    }
}

/// A store lookup whose absence is "`what` not found".
pub fn found<T>(result: Result<T, StoreError>, what: &'static str) -> OpResult<T> {
    result.map_err(|e| match e {
        StoreError::NotFound => OpError::NotFound(what),
        other => other.into(),
    })
}

/// A participant the caller follows (their structure's, or any for programme staff).
pub async fn followed(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Participant> {
    let scope = readable_scope(caller)?;
    let participant = found(store.participant(id).await, "participant")?;
    match scope {
        Some(structure) if structure != participant.structure_id => {
            Err(OpError::NotFound("participant"))
        }
        _ => Ok(participant),
    }
}

/// An enrollment of a participant the caller follows.
pub async fn visible_enrollment(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Placed> {
    let scope = readable_scope(caller)?;
    let placed = found(store.enrollment(id).await, "enrollment")?;
    match scope {
        Some(structure) if structure != placed.enrollment.structure_id => {
            Err(OpError::NotFound("enrollment"))
        }
        _ => Ok(placed),
    }
}

/// The session if the caller may see it; not found otherwise, so drafts stay unknown.
pub async fn visible_session(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Session> {
    let session = found(store.session(id).await, "session")?;
    if caller.sees_session(session.club_id, session.status) {
        Ok(session)
    } else {
        Err(OpError::NotFound("session"))
    }
}

/// The session if the caller may change it: not found when they cannot even see it,
/// forbidden when they see it but it is another club's.
pub async fn managed_session(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Session> {
    let session = visible_session(store, caller, id).await?;
    if caller.manages_club(session.club_id) {
        Ok(session)
    } else {
        Err(OpError::Forbidden(
            "only programme staff or this club's manager may change its sessions",
        ))
    }
}

/// The key named in a path, if the session's rule produces that occurrence.
pub fn existing_occurrence(schedule: &Schedule, raw: &str) -> OpResult<OccurrenceKey> {
    raw.parse()
        .ok()
        .filter(|key| schedule.has_occurrence(*key))
        .ok_or(OpError::NotFound("occurrence"))
}
