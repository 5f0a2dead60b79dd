//! Enrollments and the places they take.
//!
//! Every decision about places runs in one transaction ([`Tx`]) that first takes the
//! session's lock ([`Tx::lock_session`]), then reads the `taken` counts of the stored
//! occurrences, which [`Tx::recount_places`], the one writer of `taken`, keeps current
//! in the same transaction. So the places invariant holds under concurrent requests on
//! both databases. What to decide is the operations' business (`crate::ops::places`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on_pool, on_tx, Store, StoreError, StoreResult, Tx};
use crate::domain::places::{EnrollmentStatus, Holder, PlaceRange, Scope};
use crate::domain::schedule::OccurrenceKey;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Enrollment {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub session_id: Uuid,
    pub structure_id: Uuid,
    #[sqlx(try_from = "String")]
    pub scope: Scope,
    pub from_key: String,
    pub occurrence_key: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: EnrollmentStatus,
    pub queue_seq: i64,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Enrollment {
    /// The first occurrence it covers; `None` only for a corrupt row.
    pub fn from(&self) -> Option<OccurrenceKey> {
        self.from_key.parse().ok()
    }
}

const ENROLLMENT_COLUMNS: &str = "id, participant_id, session_id, structure_id, scope, from_key,
    occurrence_key, status, queue_seq, created_by, created_at, updated_at, cancelled_at";

/// An enrollment with its place in the waitlist (1 = next), when it waits.
#[derive(Debug, Clone)]
pub struct Placed {
    pub enrollment: Enrollment,
    pub waitlist_position: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub session_id: Uuid,
    pub structure_id: Uuid,
    pub scope: Scope,
    pub from_key: OccurrenceKey,
    pub created_by: Uuid,
    pub now: DateTime<Utc>,
}

/// A request's `Idempotency-Key`, scoped to its caller.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub user_id: Uuid,
    pub key: String,
    pub request_hash: String,
}

/// The answer stored for an idempotency key.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    pub participant_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub structure_id: Option<Uuid>,
}

/// The rule of [`crate::domain::places`], in one statement over a session's stored
/// occurrences.
const RECOUNT_PLACES: &str = "UPDATE occurrences SET taken = (
        SELECT COUNT(*) FROM enrollments e
        WHERE e.session_id = occurrences.session_id AND e.status = 'confirmed'
          AND ((e.scope = 'series' AND e.from_key <= occurrences.occurrence_key)
            OR (e.scope = 'occurrence' AND e.occurrence_key = occurrences.occurrence_key))
          AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.enrollment_id = e.id
            AND r.occurrence_key = occurrences.occurrence_key AND r.answer = 'not_coming'))
     WHERE session_id = $1";

impl Tx {
    /// Takes the session's lock for place decisions (PostgreSQL; SQLite's transaction
    /// already holds the database's single write lock).
    pub async fn lock_session(&mut self, session_id: Uuid) -> StoreResult<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
                .bind(session_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Rewrites the places taken in every stored occurrence of a session: the only
    /// writer of `taken`, called after every change of enrollments, answers or
    /// occurrences.
    pub async fn recount_places(&mut self, session_id: Uuid) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(RECOUNT_PLACES)
                .bind(session_id)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Whether every occurrence of `range` has a place left (cancelled ones need none;
    /// a single occurrence must be stored and not cancelled).
    pub async fn has_room(&mut self, session_id: Uuid, range: PlaceRange) -> StoreResult<bool> {
        Ok(on_tx!(self, |conn| {
            if range.one {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM occurrences
                     WHERE session_id = $1 AND occurrence_key = $2
                       AND status <> 'cancelled' AND taken < capacity",
                )
                .bind(session_id)
                .bind(range.from.to_string())
                .fetch_one(&mut *conn)
                .await?
                    == 1
            } else {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM occurrences
                     WHERE session_id = $1 AND occurrence_key >= $2
                       AND status <> 'cancelled' AND taken >= capacity",
                )
                .bind(session_id)
                .bind(range.from.to_string())
                .fetch_one(&mut *conn)
                .await?
                    == 0
            }
        }))
    }

    pub async fn stored_answer(&mut self, idem: &Idempotency) -> StoreResult<Option<StoredAnswer>> {
        let row = on_tx!(self, |conn| {
            sqlx::query_as::<_, (String, i32, String)>(
                "SELECT request_hash, status, response_body FROM idempotency_keys
                 WHERE user_id = $1 AND key = $2",
            )
            .bind(idem.user_id)
            .bind(&idem.key)
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(row.map(|(request_hash, status, body)| StoredAnswer {
            request_hash,
            status: status as u16,
            body,
        }))
    }

    pub async fn store_answer(
        &mut self,
        idem: &Idempotency,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, response_body, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(idem.user_id)
            .bind(&idem.key)
            .bind(&idem.request_hash)
            .bind(i32::from(status))
            .bind(body)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// The participant's active enrollment in the session, if any.
    pub async fn active_enrollment_of(
        &mut self,
        participant_id: Uuid,
        session_id: Uuid,
    ) -> StoreResult<Option<Uuid>> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM enrollments
                 WHERE participant_id = $1 AND session_id = $2 AND status <> 'cancelled'",
            )
            .bind(participant_id)
            .bind(session_id)
            .fetch_optional(&mut *conn)
            .await?
        }))
    }

    /// Stores a new enrollment at the end of the session's queue.
    pub async fn insert_enrollment(
        &mut self,
        new: &NewEnrollment,
        status: EnrollmentStatus,
    ) -> StoreResult<Enrollment> {
        let occurrence_key = (new.scope == Scope::Occurrence).then(|| new.from_key.to_string());
        let sql = format!(
            "INSERT INTO enrollments (id, participant_id, session_id, structure_id, scope,
                from_key, occurrence_key, status, queue_seq, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                (SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM enrollments WHERE session_id = $3),
                $9, $10, $10)
             RETURNING {ENROLLMENT_COLUMNS}"
        );
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql))
                .bind(new.id)
                .bind(new.participant_id)
                .bind(new.session_id)
                .bind(new.structure_id)
                .bind(new.scope.as_str())
                .bind(new.from_key.to_string())
                .bind(occurrence_key)
                .bind(status.as_str())
                .bind(new.created_by)
                .bind(new.now)
                .fetch_one(&mut *conn)
                .await?
        }))
    }

    pub async fn enrollment(&mut self, id: Uuid) -> StoreResult<Enrollment> {
        let sql = format!("SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE id = $1");
        on_tx!(self, |conn| {
            sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// The session's enrollments with `status`, in queue order.
    pub async fn enrollments_in(
        &mut self,
        session_id: Uuid,
        status: EnrollmentStatus,
    ) -> StoreResult<Vec<Enrollment>> {
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments
             WHERE session_id = $1 AND status = $2 ORDER BY queue_seq"
        );
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql))
                .bind(session_id)
                .bind(status.as_str())
                .fetch_all(&mut *conn)
                .await?
        }))
    }

    /// Active enrollments of a participant, as (enrollment, session).
    pub async fn active_enrollments_of_participant(
        &mut self,
        participant_id: Uuid,
    ) -> StoreResult<Vec<(Uuid, Uuid)>> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, (Uuid, Uuid)>(
                "SELECT id, session_id FROM enrollments
                 WHERE participant_id = $1 AND status <> 'cancelled' ORDER BY session_id",
            )
            .bind(participant_id)
            .fetch_all(&mut *conn)
            .await?
        }))
    }

    /// Position in the session's waitlist (1 = next).
    pub async fn waitlist_position(&mut self, enrollment: &Enrollment) -> StoreResult<i64> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM enrollments
                 WHERE session_id = $1 AND status = 'waitlisted' AND queue_seq <= $2",
            )
            .bind(enrollment.session_id)
            .bind(enrollment.queue_seq)
            .fetch_one(&mut *conn)
            .await?
        }))
    }

    /// Moves an enrollment to `status`; `false` when it already was there.
    pub async fn set_enrollment_status(
        &mut self,
        id: Uuid,
        status: EnrollmentStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let cancelled_at = (status == EnrollmentStatus::Cancelled).then_some(now);
        Ok(on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE enrollments SET status = $2, updated_at = $3,
                    cancelled_at = COALESCE($4, cancelled_at)
                 WHERE id = $1 AND status <> $2",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(now)
            .bind(cancelled_at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Points an active enrollment at another occurrence key (its session's rule moved).
    pub async fn rekey_enrollment(&mut self, id: Uuid, key: OccurrenceKey) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE enrollments SET from_key = $2,
                    occurrence_key = CASE WHEN scope = 'occurrence' THEN $2 END
                 WHERE id = $1 AND status <> 'cancelled'",
            )
            .bind(id)
            .bind(key.to_string())
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    pub async fn enrollment(&self, id: Uuid) -> StoreResult<Placed> {
        let sql = format!("SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE id = $1");
        let enrollment = on_pool!(self, |pool| {
            sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .ok_or(StoreError::NotFound)?
        });
        self.with_positions(vec![enrollment])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    pub async fn enrollments(&self, filter: &EnrollmentFilter) -> StoreResult<Vec<Placed>> {
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments
             WHERE ($1 IS NULL OR participant_id = $1)
               AND ($2 IS NULL OR session_id = $2)
               AND ($3 IS NULL OR structure_id = $3)
             ORDER BY created_at, queue_seq
             LIMIT 1000"
        );
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql))
                .bind(filter.participant_id)
                .bind(filter.session_id)
                .bind(filter.structure_id)
                .fetch_all(pool)
                .await?
        });
        self.with_positions(rows).await
    }

    async fn with_positions(&self, rows: Vec<Enrollment>) -> StoreResult<Vec<Placed>> {
        let mut placed = Vec::with_capacity(rows.len());
        for enrollment in rows {
            let waitlist_position = if enrollment.status == EnrollmentStatus::Waitlisted {
                Some(on_pool!(self, |pool| {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM enrollments
                         WHERE session_id = $1 AND status = 'waitlisted' AND queue_seq <= $2",
                    )
                    .bind(enrollment.session_id)
                    .bind(enrollment.queue_seq)
                    .fetch_one(pool)
                    .await?
                }))
            } else {
                None
            };
            placed.push(Placed {
                enrollment,
                waitlist_position,
            });
        }
        Ok(placed)
    }

    /// The confirmed enrollments of a session with the occurrences they declined, as
    /// the rule of [`crate::domain::places`] counts them.
    pub async fn holders(&self, session_id: Uuid) -> StoreResult<Vec<Holder>> {
        let (confirmed, declines) = on_pool!(self, |pool| {
            let confirmed = sqlx::query_as::<_, (Uuid, String, String)>(
                "SELECT id, scope, from_key FROM enrollments
                 WHERE session_id = $1 AND status = 'confirmed'",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            let declines = sqlx::query_as::<_, (Uuid, String)>(
                "SELECT r.enrollment_id, r.occurrence_key FROM rsvps r
                 JOIN enrollments e ON e.id = r.enrollment_id
                 WHERE e.session_id = $1 AND e.status = 'confirmed'
                   AND r.answer = 'not_coming'",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            (confirmed, declines)
        });
        let mut declined: HashMap<Uuid, Vec<OccurrenceKey>> = HashMap::new();
        for (id, key) in declines {
            if let Ok(key) = key.parse() {
                declined.entry(id).or_default().push(key);
            }
        }
        Ok(confirmed
            .into_iter()
            .filter_map(|(id, scope, from)| {
                Some(Holder {
                    scope: Scope::try_from(scope).ok()?,
                    from: from.parse().ok()?,
                    declined: declined.remove(&id).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Places taken per stored occurrence key of a session, within `[from, to)`.
    pub async fn taken_places(
        &self,
        session_id: Uuid,
        from: OccurrenceKey,
        to: OccurrenceKey,
    ) -> StoreResult<Vec<(String, i32)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (String, i32)>(
                "SELECT occurrence_key, taken FROM occurrences
                 WHERE session_id = $1 AND occurrence_key >= $2 AND occurrence_key < $3",
            )
            .bind(session_id)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(pool)
            .await?
        }))
    }
}

/// Someone expected at an occurrence, as a club sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RosterEntry {
    pub enrollment_id: Uuid,
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub code: String,
    #[sqlx(try_from = "String")]
    pub scope: Scope,
    #[sqlx(try_from = "String")]
    pub status: EnrollmentStatus,
    pub queue_seq: i64,
}

impl Store {
    /// Confirmed and waitlisted enrollments covering one occurrence, in queue order, and
    /// those whose attendance was recorded there (since cancelled, say).
    pub async fn roster(
        &self,
        session_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<Vec<RosterEntry>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, RosterEntry>(
                "SELECT e.id AS enrollment_id, p.id AS participant_id, p.first_name, p.last_name,
                    p.code, e.scope, e.status, e.queue_seq
                 FROM enrollments e JOIN participants p ON p.id = e.participant_id
                 WHERE e.session_id = $1
                   AND ((e.status IN ('confirmed', 'waitlisted')
                         AND ((e.scope = 'series' AND e.from_key <= $2)
                           OR (e.scope = 'occurrence' AND e.occurrence_key = $2)))
                     OR e.id IN (SELECT a.enrollment_id FROM attendance a
                                 WHERE a.session_id = $1 AND a.occurrence_key = $2))
                 ORDER BY CASE e.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END,
                    e.queue_seq",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_all(pool)
            .await?
        }))
    }
}

impl Tx {
    /// Cancels every active enrollment of a session (the session itself was cancelled),
    /// with the cancellation messages; returns them.
    pub async fn cancel_session_enrollments(
        &mut self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        use super::outbox::{MessageKind, Notice, Target};
        for (status, method) in [
            (EnrollmentStatus::Confirmed, Some("CANCEL")),
            (EnrollmentStatus::Waitlisted, None),
        ] {
            let mut cancellation = Notice::new(
                MessageKind::Cancellation,
                Target::Session(session_id, status),
                now,
            );
            cancellation.new_sequence = true;
            cancellation.ical_method = method;
            cancellation.detail = Some("session_cancelled");
            self.enqueue(&cancellation).await?;
        }
        let cancelled = on_tx!(self, |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "UPDATE enrollments SET status = 'cancelled', cancelled_at = $2, updated_at = $2
                 WHERE session_id = $1 AND status <> 'cancelled'
                 RETURNING id",
            )
            .bind(session_id)
            .bind(now)
            .fetch_all(&mut *conn)
            .await?
        });
        self.recount_places(session_id).await?;
        Ok(cancelled)
    }
}
