//! Enrolling a participant in a session or one occurrence, and cancelling.
//!
//! A request walks: rights ([`access::followed`]) → the domain's rules (the occurrence
//! is open, within reach) → ONE transaction: session lock, the place decision over the
//! stored counts, the enrollment row, the recount, its message and the reminders
//! already due → a typed answer.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::{self, found};
use super::{places, reminders, OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::places::{
    occurrence_open, series_start, within_reach, EnrollmentStatus, PlaceRange, Scope,
};
use crate::domain::schedule::{OccurrenceKey, SessionStatus};
use crate::domain::window;
use crate::metrics::{EnrolmentOutcome, Metrics};
use crate::planning::schedule_of;
use crate::store::enrollments::{Idempotency, NewEnrollment, Placed};
use crate::store::outbox::{MessageKind, Notice, Target};
use crate::store::{Store, StoreError, Tx};

/// What a social worker asks for.
#[derive(Debug, Clone)]
pub struct EnrolRequest {
    pub participant_id: Uuid,
    pub session_id: Uuid,
    /// One occurrence only; `None`: the whole session.
    pub occurrence_key: Option<String>,
    /// Series only: from this date or instant on (default: the next open occurrence).
    pub from: Option<String>,
}

/// The answer to an enrollment request.
#[derive(Debug)]
pub enum Enrolled {
    /// Confirmed, or waitlisted with a position.
    Created(Box<Placed>),
    /// The same request (same idempotency key) was already answered: that answer.
    Replayed { status: u16, body: String },
}

/// Enrols a participant the caller follows. With `idempotency`, `render` gives the
/// answer stored under the key, replayed to a retry of the same request.
/// Counts the outcome here, so the API and the pages count alike; a replay is the
/// answer to a request already counted, a database failure no outcome at all.
pub async fn enrol(
    store: &Store,
    metrics: &Metrics,
    caller: &Caller,
    request: &EnrolRequest,
    idempotency: Option<&Idempotency>,
    render: impl Fn(&Placed) -> (u16, String),
) -> OpResult<Enrolled> {
    let enrolled = decide(store, caller, request, idempotency, render).await;
    match &enrolled {
        Ok(Enrolled::Created(placed)) => {
            metrics.enrolment(EnrolmentOutcome::Placed(placed.enrollment.status))
        }
        Ok(Enrolled::Replayed { .. }) | Err(OpError::Store(_)) => {}
        Err(_) => metrics.enrolment(EnrolmentOutcome::Refused),
    }
    enrolled
}

async fn decide(
    store: &Store,
    caller: &Caller,
    request: &EnrolRequest,
    idempotency: Option<&Idempotency>,
    render: impl Fn(&Placed) -> (u16, String),
) -> OpResult<Enrolled> {
    let participant = access::followed(store, caller, request.participant_id)
        .await
        .map_err(|e| match e {
            OpError::NotFound(_) => {
                OpError::invalid("participant_id", "no participant you follow has this id")
            }
            other => other,
        })?;
    let session = found(store.session(request.session_id).await, "session")
        .map_err(|_| OpError::invalid("session_id", "no session has this id"))?;
    if session.status != SessionStatus::Published {
        return Err(OpError::invalid(
            "session_id",
            "only published sessions take enrollments",
        ));
    }
    let now = crate::clock::now();
    let schedule = schedule_of(&session)?;
    let overrides = store.overrides(session.id).await?;
    let (scope, from_key) = match request.occurrence_key.as_deref() {
        Some(key) => {
            let key: OccurrenceKey = key.parse().map_err(|e: crate::domain::FieldError| {
                OpError::invalid("occurrence_key", e.message)
            })?;
            let occurrence = schedule.apply(
                key,
                session.capacity,
                overrides.iter().find(|o| o.key == key),
            );
            occurrence_open(
                &schedule,
                key,
                occurrence.start,
                occurrence.status,
                session.enrollment_closes_hours_before,
                now,
            )?;
            within_reach("occurrence_key", occurrence.start, &schedule, now)?;
            (Scope::Occurrence, key)
        }
        None => {
            let not_before = match request.from.as_deref() {
                Some(from) => window::instant("from", from, schedule.timezone(), false)?.max(now),
                None => now,
            };
            let key = series_start(
                &schedule,
                session.capacity,
                &overrides,
                not_before,
                session.enrollment_closes_hours_before,
                now,
            )?;
            within_reach("from", key.original_start(), &schedule, now)?;
            (Scope::Series, key)
        }
    };
    let new = NewEnrollment {
        id: Uuid::new_v4(),
        participant_id: participant.id,
        session_id: session.id,
        structure_id: participant.structure_id,
        scope,
        from_key,
        created_by: caller.user_id,
        now,
    };
    let mut tx = store.write().await?;
    // Erased meanwhile: a person who asked to be forgotten gets no new place. Their row
    // is locked before the session, in the order an erasure takes them.
    if tx.participant_erased(new.participant_id).await? {
        return Err(OpError::invalid(
            "participant_id",
            "no participant you follow has this id",
        ));
    }
    tx.lock_session(new.session_id).await?;
    if let Some(idem) = idempotency {
        if let Some(earlier) = tx.stored_answer(idem).await? {
            return if earlier.request_hash == idem.request_hash {
                Ok(Enrolled::Replayed {
                    status: earlier.status,
                    body: earlier.body,
                })
            } else {
                Err(OpError::invalid(
                    "Idempotency-Key",
                    "this key was already used for a different request",
                ))
            };
        }
    }
    if let Some(existing) = tx
        .active_enrollment_of(new.participant_id, new.session_id)
        .await?
    {
        return Err(OpError::Conflict(format!(
            "the participant already holds enrollment {existing} in this session"
        )));
    }
    let placed = place(&mut tx, &new).await?;
    if let Some(idem) = idempotency {
        let (status, body) = render(&placed);
        tx.store_answer(idem, status, &body, now).await?;
    }
    tx.commit().await?;
    Ok(Enrolled::Created(Box::new(placed)))
}

/// The place decision for a new enrollment, inside a transaction holding the session's
/// lock: confirmed with its invitation (and reminders already due) if every occurrence
/// it needs has room, else waitlisted behind everyone waiting.
pub async fn place(tx: &mut Tx, new: &NewEnrollment) -> Result<Placed, StoreError> {
    let range = PlaceRange::of(new.scope, new.from_key, new.now);
    let status = if tx.has_room(new.session_id, range).await? {
        EnrollmentStatus::Confirmed
    } else {
        EnrollmentStatus::Waitlisted
    };
    let enrollment = tx.insert_enrollment(new, status).await?;
    let target = Target::Enrollment(new.id);
    let waitlist_position = if status == EnrollmentStatus::Confirmed {
        tx.recount_places(new.session_id).await?;
        tx.enqueue(&Notice::new(MessageKind::Invitation, target, new.now))
            .await?;
        reminders::write_due(tx, &[new.id], new.now).await?;
        None
    } else {
        let mut waiting = Notice::new(MessageKind::Waitlisted, target, new.now);
        waiting.dedupe = Some("waitlisted");
        tx.enqueue(&waiting).await?;
        Some(tx.waitlist_position(&enrollment).await?)
    };
    Ok(Placed {
        enrollment,
        waitlist_position,
    })
}

/// Stores an enrollment decided elsewhere (imports, the demo, tests) with the same
/// place decision as [`enrol`], without the request checks.
pub async fn import_enrollment(store: &Store, new: &NewEnrollment) -> OpResult<Placed> {
    let mut tx = store.write().await?;
    tx.lock_session(new.session_id).await?;
    let placed = place(&mut tx, new).await?;
    tx.commit().await?;
    Ok(placed)
}

/// Cancels an enrollment of a participant the caller follows; its place goes to the
/// waitlist in the same transaction. Cancelling twice is harmless.
pub async fn cancel_enrollment(store: &Store, caller: &Caller, id: Uuid) -> OpResult<Placed> {
    let placed = access::visible_enrollment(store, caller, id).await?;
    if placed.enrollment.status.is_active() {
        let now: DateTime<Utc> = crate::clock::now();
        let mut tx = store.write().await?;
        places::release(&mut tx, placed.enrollment.session_id, id, now).await?;
        tx.commit().await?;
    }
    found(store.enrollment(id).await, "enrollment")
}
