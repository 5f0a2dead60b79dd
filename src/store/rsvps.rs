//! "I'm coming" / "I can't come" answers, and the secret of each participant's
//! calendar feed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use super::enrollments::{lock_session, promote_waitlist};
use super::{on_pool, on_writer, transaction, Store, StoreError, StoreResult};
use crate::domain::rsvp::Answer;
use crate::domain::schedule::OccurrenceKey;

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsvpOutcome {
    Recorded,
    /// "I'm coming" after "I can't come", and the freed place went to someone else.
    NoPlaceLeft,
    /// The enrollment no longer holds a place in that occurrence.
    NotEnrolled,
}

fn new_feed_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Store {
    /// The answers given for one occurrence, by enrollment.
    pub async fn rsvps_for(
        &self,
        session_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<Vec<(Uuid, String)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (Uuid, String)>(
                "SELECT r.enrollment_id, r.answer FROM rsvps r
                 JOIN enrollments e ON e.id = r.enrollment_id
                 WHERE e.session_id = $1 AND r.occurrence_key = $2",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records an answer. "I can't come" frees the place in that occurrence and offers
    /// it to the waitlist; "I'm coming" after it takes the place back if still free.
    pub async fn record_rsvp(
        &self,
        enrollment_id: Uuid,
        key: OccurrenceKey,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> StoreResult<RsvpOutcome> {
        let is_postgres = self.is_postgres();
        let key_text = key.to_string();
        Ok(transaction!(self, |tx| {
            let Some(session_id) =
                sqlx::query_scalar::<_, Uuid>("SELECT session_id FROM enrollments WHERE id = $1")
                    .bind(enrollment_id)
                    .fetch_optional(&mut *tx)
                    .await?
            else {
                return Err(StoreError::NotFound);
            };
            lock_session!(tx, is_postgres, session_id);
            let holds_place = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM enrollments
                 WHERE id = $1 AND status = 'confirmed'
                   AND ((scope = 'series' AND from_key <= $2)
                     OR (scope = 'occurrence' AND occurrence_key = $2))",
            )
            .bind(enrollment_id)
            .bind(&key_text)
            .fetch_one(&mut *tx)
            .await?
                == 1;
            if !holds_place {
                return Ok(RsvpOutcome::NotEnrolled);
            }
            let before = sqlx::query_scalar::<_, String>(
                "SELECT answer FROM rsvps WHERE enrollment_id = $1 AND occurrence_key = $2",
            )
            .bind(enrollment_id)
            .bind(&key_text)
            .fetch_optional(&mut *tx)
            .await?;
            let declined_before = before.as_deref() == Some(Answer::NotComing.as_str());
            let shift = match (answer, declined_before) {
                (Answer::NotComing, false) => -1,
                (Answer::Coming, true) => {
                    let free = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM occurrences
                         WHERE session_id = $1 AND occurrence_key = $2 AND taken < capacity",
                    )
                    .bind(session_id)
                    .bind(&key_text)
                    .fetch_one(&mut *tx)
                    .await?;
                    if free == 0 {
                        return Ok(RsvpOutcome::NoPlaceLeft);
                    }
                    1
                }
                _ => 0,
            };
            sqlx::query(
                "INSERT INTO rsvps (enrollment_id, occurrence_key, answer, answered_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (enrollment_id, occurrence_key)
                 DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
            )
            .bind(enrollment_id)
            .bind(&key_text)
            .bind(answer.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if shift != 0 {
                sqlx::query(
                    "UPDATE occurrences SET taken = taken + $3
                     WHERE session_id = $1 AND occurrence_key = $2",
                )
                .bind(session_id)
                .bind(&key_text)
                .bind(shift)
                .execute(&mut *tx)
                .await?;
            }
            if shift < 0 {
                promote_waitlist!(tx, is_postgres, session_id, now);
            }
            RsvpOutcome::Recorded
        }))
    }

    /// The participant's feed secret, made on first use.
    pub async fn feed_token(&self, participant_id: Uuid) -> StoreResult<String> {
        let current = on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT feed_token FROM participants WHERE id = $1",
            )
            .bind(participant_id)
            .fetch_optional(pool)
            .await?
        });
        match current {
            None => Err(StoreError::NotFound),
            Some(Some(token)) => Ok(token),
            Some(None) => {
                let token = new_feed_token();
                on_writer!(self, |pool| {
                    sqlx::query(
                        "UPDATE participants SET feed_token = $2
                         WHERE id = $1 AND feed_token IS NULL",
                    )
                    .bind(participant_id)
                    .bind(&token)
                    .execute(pool)
                    .await?;
                });
                // Whoever wrote first won; read what is there.
                Box::pin(self.feed_token(participant_id)).await
            }
        }
    }

    /// A new feed secret: the old link stops working.
    pub async fn rotate_feed_token(&self, participant_id: Uuid) -> StoreResult<String> {
        let token = new_feed_token();
        on_writer!(self, |pool| {
            let changed = sqlx::query("UPDATE participants SET feed_token = $2 WHERE id = $1")
                .bind(participant_id)
                .bind(&token)
                .execute(pool)
                .await?
                .rows_affected();
            super::touched(changed)?;
        });
        Ok(token)
    }

    pub async fn participant_by_feed_token(&self, token: &str) -> StoreResult<Uuid> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM participants WHERE feed_token = $1 AND erased_at IS NULL",
            )
            .bind(token)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    /// Confirmed enrollments of a participant with their calendar sequence.
    pub async fn confirmed_enrollments_of(
        &self,
        participant_id: Uuid,
    ) -> StoreResult<Vec<(Uuid, i32)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (Uuid, i32)>(
                "SELECT id, ical_sequence FROM enrollments
                 WHERE participant_id = $1 AND status = 'confirmed' ORDER BY created_at",
            )
            .bind(participant_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
