//! "I'm coming" / "I can't come" answers, and the secret of each participant's
//! calendar feed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use super::{on_pool, on_tx, on_writer, Store, StoreError, StoreResult, Tx};
use crate::domain::rsvp::Answer;
use crate::domain::schedule::OccurrenceKey;

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
    ) -> StoreResult<Vec<(Uuid, Answer)>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, (Uuid, String)>(
                "SELECT r.enrollment_id, r.answer FROM rsvps r
                 JOIN enrollments e ON e.id = r.enrollment_id
                 WHERE e.session_id = $1 AND r.occurrence_key = $2",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(id, answer)| Some((id, Answer::parse(&answer)?)))
            .collect())
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

impl Tx {
    /// The session of an enrollment.
    pub async fn session_of_enrollment(&mut self, enrollment_id: Uuid) -> StoreResult<Uuid> {
        on_tx!(self, |conn| {
            sqlx::query_scalar::<_, Uuid>("SELECT session_id FROM enrollments WHERE id = $1")
                .bind(enrollment_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// Whether a confirmed enrollment covers the occurrence.
    pub async fn holds_place(
        &mut self,
        enrollment_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<bool> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM enrollments
                 WHERE id = $1 AND status = 'confirmed'
                   AND ((scope = 'series' AND from_key <= $2)
                     OR (scope = 'occurrence' AND occurrence_key = $2))",
            )
            .bind(enrollment_id)
            .bind(key.to_string())
            .fetch_one(&mut *conn)
            .await?
                == 1
        }))
    }

    /// The answer given for one occurrence, if any.
    pub async fn rsvp(
        &mut self,
        enrollment_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<Option<Answer>> {
        let stored = on_tx!(self, |conn| {
            sqlx::query_scalar::<_, String>(
                "SELECT answer FROM rsvps WHERE enrollment_id = $1 AND occurrence_key = $2",
            )
            .bind(enrollment_id)
            .bind(key.to_string())
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(stored.and_then(|a| Answer::parse(&a)))
    }

    /// Whether the stored occurrence has a place left.
    pub async fn place_left(&mut self, session_id: Uuid, key: OccurrenceKey) -> StoreResult<bool> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM occurrences
                 WHERE session_id = $1 AND occurrence_key = $2 AND taken < capacity",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_one(&mut *conn)
            .await?
                == 1
        }))
    }

    pub async fn save_rsvp(
        &mut self,
        enrollment_id: Uuid,
        key: OccurrenceKey,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO rsvps (enrollment_id, occurrence_key, answer, answered_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (enrollment_id, occurrence_key)
                 DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
            )
            .bind(enrollment_id)
            .bind(key.to_string())
            .bind(answer.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Every answer given in a session: (enrollment, occurrence key).
    pub async fn answers_in_session(
        &mut self,
        session_id: Uuid,
    ) -> StoreResult<Vec<(Uuid, String)>> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, (Uuid, String)>(
                "SELECT r.enrollment_id, r.occurrence_key FROM rsvps r
                 JOIN enrollments e ON e.id = r.enrollment_id
                 WHERE e.session_id = $1",
            )
            .bind(session_id)
            .fetch_all(&mut *conn)
            .await?
        }))
    }

    /// Moves an answer to another occurrence key (`None`: forgets it, the occurrence is
    /// gone). An answer already given for the new key stays.
    pub async fn move_rsvp(
        &mut self,
        enrollment_id: Uuid,
        from: &str,
        to: Option<OccurrenceKey>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            if let Some(to) = to {
                sqlx::query(
                    "UPDATE rsvps SET occurrence_key = $3
                     WHERE enrollment_id = $1 AND occurrence_key = $2
                       AND NOT EXISTS (SELECT 1 FROM rsvps o
                           WHERE o.enrollment_id = $1 AND o.occurrence_key = $3)",
                )
                .bind(enrollment_id)
                .bind(from)
                .bind(to.to_string())
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query("DELETE FROM rsvps WHERE enrollment_id = $1 AND occurrence_key = $2")
                .bind(enrollment_id)
                .bind(from)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
}
