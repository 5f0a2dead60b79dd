//! When reminders are written: shortly before they fall due (the reminder job), or with
//! the enrollment or promotion that makes one already due (its time has passed but
//! the occurrence has not begun), so nobody waits for the next scan.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::store::outbox::{Audience, ReminderCandidate};
use crate::store::{StoreResult, Tx};

/// The longest `reminder_hours_before` a session may have.
pub const MAX_HOURS: i64 = 336;

/// The reminders of `candidates` due by `now + lead`, each with its recipient and the
/// time to send it (never before `now`).
pub fn due(
    candidates: Vec<ReminderCandidate>,
    now: DateTime<Utc>,
    lead: Duration,
) -> Vec<(ReminderCandidate, Audience, DateTime<Utc>)> {
    let mut due = Vec::new();
    for candidate in candidates {
        let at = candidate.start_at - Duration::hours(candidate.reminder_hours_before.into());
        if at > now + lead {
            continue;
        }
        let at = at.max(now);
        if candidate.has_email {
            due.push((candidate.clone(), Audience::Participant, at));
        }
        if candidate.notify_referrer || !candidate.has_email {
            due.push((candidate, Audience::Referrer, at));
        }
    }
    due
}

/// Writes the reminders already due for newly confirmed enrollments.
pub async fn write_due(tx: &mut Tx, enrollments: &[Uuid], now: DateTime<Utc>) -> StoreResult<()> {
    for id in enrollments {
        let candidates = tx
            .reminder_candidates_of(*id, now, Duration::hours(MAX_HOURS))
            .await?;
        let due = due(candidates, now, Duration::zero());
        tx.enqueue_reminders(&due, now).await?;
    }
    Ok(())
}
