//! A participant's answer for one occurrence, from the signed link in their email (the
//! link's signature is the right to answer; the front end checks it).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::found;
use super::{places, OpResult};
use crate::domain::rsvp::Answer;
use crate::domain::schedule::OccurrenceKey;
use crate::store::Store;

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsvpOutcome {
    Recorded,
    /// "I'm coming" after "I can't come", and the freed place went to someone else.
    NoPlaceLeft,
    /// The enrollment no longer holds a place in that occurrence.
    NotEnrolled,
}

/// Records an answer. "I can't come" frees the place in that occurrence for the
/// waitlist; "I'm coming" after it takes the place back if still free.
pub async fn answer_rsvp(
    store: &Store,
    enrollment_id: Uuid,
    key: OccurrenceKey,
    answer: Answer,
    now: DateTime<Utc>,
) -> OpResult<RsvpOutcome> {
    let mut tx = store.write().await?;
    let session_id = found(tx.session_of_enrollment(enrollment_id).await, "enrollment")?;
    tx.lock_session(session_id).await?;
    if !tx.holds_place(enrollment_id, key).await? {
        return Ok(RsvpOutcome::NotEnrolled);
    }
    let declined_before = tx.rsvp(enrollment_id, key).await? == Some(Answer::NotComing);
    if answer == Answer::Coming && declined_before && !tx.place_left(session_id, key).await? {
        return Ok(RsvpOutcome::NoPlaceLeft);
    }
    tx.save_rsvp(enrollment_id, key, answer, now).await?;
    if answer == Answer::NotComing && !declined_before {
        places::settle(&mut tx, session_id, now).await?;
    } else {
        tx.recount_places(session_id).await?;
    }
    tx.commit().await?;
    Ok(RsvpOutcome::Recorded)
}
