//! What happens to places when something frees them: the waitlist is served first
//! come, first served, inside the transaction that freed them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::places::{EnrollmentStatus, PlaceRange, Scope};
use crate::domain::schedule::OccurrenceKey;
use crate::store::outbox::{MessageKind, Notice, Target};
use crate::store::{Store, StoreError, StoreResult, Tx};

/// Confirms, in queue order, every waitlisted enrollment of the session that now fits,
/// with its promotion and invitation messages. Returns the promoted enrollments.
/// The caller holds the session's lock and has recounted its places.
pub async fn promote_waitlist(
    tx: &mut Tx,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>> {
    let mut promoted = Vec::new();
    for waiting in tx
        .enrollments_in(session_id, EnrollmentStatus::Waitlisted)
        .await?
    {
        let Some(from) = waiting.from() else {
            continue;
        };
        // A one-off place whose occurrence has begun can no longer be given.
        if waiting.scope == Scope::Occurrence && from.original_start() <= now {
            continue;
        }
        if !tx
            .has_room(session_id, PlaceRange::of(waiting.scope, from, now))
            .await?
        {
            continue;
        }
        tx.set_enrollment_status(waiting.id, EnrollmentStatus::Confirmed, now)
            .await?;
        tx.recount_places(session_id).await?;
        let target = Target::Enrollment(waiting.id);
        let mut promotion = Notice::new(MessageKind::Promotion, target, now);
        promotion.dedupe = Some("promoted");
        tx.enqueue(&promotion).await?;
        tx.enqueue(&Notice::new(MessageKind::Invitation, target, now))
            .await?;
        promoted.push(waiting.id);
    }
    if !promoted.is_empty() {
        super::reminders::write_due(tx, &promoted, now).await?;
    }
    Ok(promoted)
}

/// Cancels one active enrollment with its cancellation message, frees its places and
/// serves the waitlist. Returns whether it was active.
pub async fn release(
    tx: &mut Tx,
    session_id: Uuid,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    tx.lock_session(session_id).await?;
    let was = tx.enrollment(enrollment_id).await?.status;
    if !was.is_active() {
        return Ok(false);
    }
    let mut cancellation = Notice::new(
        MessageKind::Cancellation,
        Target::Enrollment(enrollment_id),
        now,
    );
    cancellation.new_sequence = true;
    cancellation.detail = Some("enrollment_cancelled");
    cancellation.ical_method = (was == EnrollmentStatus::Confirmed).then_some("CANCEL");
    tx.enqueue(&cancellation).await?;
    tx.set_enrollment_status(enrollment_id, EnrollmentStatus::Cancelled, now)
        .await?;
    settle(tx, session_id, now).await?;
    Ok(true)
}

/// After anything that may have freed places in a session (a cancellation, an "I can't
/// come", more capacity, a cancelled or moved occurrence): recount, then serve the
/// waitlist.
pub async fn settle(tx: &mut Tx, session_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
    tx.recount_places(session_id).await?;
    promote_waitlist(tx, session_id, now).await
}

/// Places taken in each of `occurrences`: the stored count, or for occurrences beyond
/// the stored horizon, the same rule over the session's confirmed enrollments.
pub async fn taken_in(
    store: &Store,
    session_id: Uuid,
    occurrences: &[crate::domain::schedule::Occurrence],
) -> Result<HashMap<OccurrenceKey, i32>, StoreError> {
    let (Some(first), Some(last)) = (
        occurrences.iter().map(|o| o.key).min(),
        occurrences.iter().map(|o| o.key).max(),
    ) else {
        return Ok(HashMap::new());
    };
    let until = OccurrenceKey::new(last.original_start() + chrono::Duration::seconds(1));
    let mut taken: HashMap<OccurrenceKey, i32> = HashMap::new();
    for (key, count) in store.taken_places(session_id, first, until).await? {
        if let Ok(key) = key.parse() {
            taken.insert(key, count);
        }
    }
    if occurrences.iter().any(|o| !taken.contains_key(&o.key)) {
        let holders = store.holders(session_id).await?;
        for o in occurrences {
            taken
                .entry(o.key)
                .or_insert_with(|| crate::domain::places::taken(&holders, o.key));
        }
    }
    Ok(taken)
}
