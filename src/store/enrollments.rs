//! Enrollments and the places they take.
//!
//! Every decision about places runs in one transaction that first takes the session's
//! lock (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's single writer, taken up front by
//! `BEGIN IMMEDIATE`), then reads the `taken` counts of the materialised occurrences,
//! which every confirmation and release keeps current in the same transaction. So the
//! places invariant holds under concurrent requests on both databases.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::outbox::{enqueue, Notice, Target};
use super::{on_pool, transaction, Store, StoreError, StoreResult};
use crate::domain::places::{fits, PlaceRange, Scope};
use crate::domain::schedule::OccurrenceKey;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Enrollment {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub session_id: Uuid,
    pub structure_id: Uuid,
    pub scope: String,
    pub from_key: String,
    pub occurrence_key: Option<String>,
    pub status: String,
    pub queue_seq: i64,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

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
    /// The occurrences whose places it needs.
    pub range: PlaceRange,
}

/// A request's `Idempotency-Key`, scoped to its caller.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub user_id: Uuid,
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug)]
pub enum EnrollOutcome {
    Created(Box<Placed>),
    /// The same request was already answered: here is that answer.
    Replayed {
        status: u16,
        body: String,
    },
    /// The key was already used for a different request.
    KeyReused,
    /// The participant already holds this active enrollment in the session.
    AlreadyEnrolled(Uuid),
}

#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    pub participant_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub structure_id: Option<Uuid>,
}

/// Takes the session's lock for place decisions (PostgreSQL; SQLite's transaction
/// already holds the database's single write lock).
macro_rules! lock_session {
    ($tx:ident, $is_postgres:expr, $session_id:expr) => {
        if $is_postgres {
            sqlx::query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
                .bind($session_id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// How many occurrences of `$range` are full (not cancelled, no place left).
macro_rules! full_occurrences {
    ($tx:ident, $session_id:expr, $range:expr) => {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM occurrences
             WHERE session_id = $1 AND occurrence_key >= $2 AND occurrence_key < $3
               AND status <> 'cancelled' AND taken >= capacity",
        )
        .bind($session_id)
        .bind($range.from.to_string())
        .bind($range.until.to_string())
        .fetch_one(&mut *$tx)
        .await?
    };
}

/// Adds `$delta` to the places taken in every occurrence an enrollment covers.
macro_rules! shift_taken {
    ($tx:ident, $session_id:expr, $scope:expr, $from_key:expr, $delta:expr) => {{
        let from_key: String = $from_key;
        let sql = if $scope == "series" {
            "UPDATE occurrences SET taken = taken + $3
             WHERE session_id = $1 AND occurrence_key >= $2"
        } else {
            "UPDATE occurrences SET taken = taken + $3
             WHERE session_id = $1 AND occurrence_key = $2"
        };
        sqlx::query(sql)
            .bind($session_id)
            .bind(&from_key)
            .bind($delta as i32)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Confirms, in queue order, every waitlisted enrollment of the session that now fits.
/// Evaluates to the promoted enrollments' ids.
macro_rules! promote_waitlist {
    ($tx:ident, $is_postgres:expr, $session_id:expr, $now:expr) => {{
        let waiting = sqlx::query_as::<_, (Uuid, String, String)>(
            "SELECT id, scope, from_key FROM enrollments
             WHERE session_id = $1 AND status = 'waitlisted' ORDER BY queue_seq",
        )
        .bind($session_id)
        .fetch_all(&mut *$tx)
        .await?;
        let mut promoted: Vec<Uuid> = Vec::new();
        for (waiting_id, scope, from_key) in waiting {
            let Ok(from) = from_key.parse::<$crate::domain::schedule::OccurrenceKey>() else {
                continue;
            };
            let range = if scope == "series" {
                $crate::domain::places::PlaceRange::series(from, $now)
            } else if from.original_start() > $now {
                $crate::domain::places::PlaceRange::one(from)
            } else {
                continue;
            };
            if $crate::domain::places::fits($crate::store::enrollments::full_occurrences!(
                $tx,
                $session_id,
                range
            )) {
                sqlx::query(
                    "UPDATE enrollments SET status = 'confirmed', updated_at = $2 WHERE id = $1",
                )
                .bind(waiting_id)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
                $crate::store::enrollments::shift_taken!(
                    $tx,
                    $session_id,
                    scope.as_str(),
                    from_key,
                    1
                );
                promoted.push(waiting_id);
            }
        }
        for id in &promoted {
            let target = $crate::store::outbox::Target::Enrollment(*id);
            let mut promotion = $crate::store::outbox::Notice::new("promotion", target, $now);
            promotion.dedupe = Some("promoted");
            $crate::store::outbox::enqueue!($tx, $is_postgres, &promotion);
            $crate::store::outbox::enqueue!(
                $tx,
                $is_postgres,
                &$crate::store::outbox::Notice::new("invitation", target, $now)
            );
        }
        promoted
    }};
}

/// Cancels one enrollment, recounts the places it held and promotes the waitlist. Evaluates to
/// the promoted enrollments' ids.
macro_rules! release_and_promote {
    ($tx:ident, $is_postgres:expr, $session_id:expr, $enrollment_id:expr, $now:expr) => {{
        $crate::store::enrollments::lock_session!($tx, $is_postgres, $session_id);
        let was = sqlx::query_scalar::<_, String>("SELECT status FROM enrollments WHERE id = $1")
            .bind($enrollment_id)
            .fetch_optional(&mut *$tx)
            .await?;
        if matches!(was.as_deref(), Some("confirmed") | Some("waitlisted")) {
            let mut cancellation = $crate::store::outbox::Notice::new(
                "cancellation",
                $crate::store::outbox::Target::Enrollment($enrollment_id),
                $now,
            );
            cancellation.new_sequence = true;
            cancellation.detail = Some("enrollment_cancelled");
            cancellation.ical_method = (was.as_deref() == Some("confirmed")).then_some("CANCEL");
            $crate::store::outbox::enqueue!($tx, $is_postgres, &cancellation);
        }
        sqlx::query(
            "UPDATE enrollments SET status = 'cancelled', cancelled_at = $2, updated_at = $2
             WHERE id = $1 AND status <> 'cancelled'",
        )
        .bind($enrollment_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        $crate::store::enrollments::recount_taken!($tx, $session_id);
        $crate::store::enrollments::promote_waitlist!($tx, $is_postgres, $session_id, $now)
    }};
}

/// Recomputes the places taken in every materialised occurrence of a session from its
/// confirmed enrollments (the same count [`shift_taken!`] keeps up incrementally).
macro_rules! recount_taken {
    ($tx:ident, $session_id:expr) => {
        sqlx::query(
            "UPDATE occurrences SET taken = (
                SELECT COUNT(*) FROM enrollments e
                WHERE e.session_id = occurrences.session_id AND e.status = 'confirmed'
                  AND ((e.scope = 'series' AND e.from_key <= occurrences.occurrence_key)
                    OR (e.scope = 'occurrence' AND e.occurrence_key = occurrences.occurrence_key))
                  AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.enrollment_id = e.id
                    AND r.occurrence_key = occurrences.occurrence_key AND r.answer = 'not_coming'))
             WHERE session_id = $1",
        )
        .bind($session_id)
        .execute(&mut *$tx)
        .await?
    };
}

pub(crate) use {
    full_occurrences, lock_session, promote_waitlist, recount_taken, release_and_promote,
    shift_taken,
};

impl Store {
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Takes a place if every occurrence the enrollment needs has one, else joins the
    /// waitlist; `render` gives the answer stored for the idempotency key.
    pub async fn enroll(
        &self,
        new: &NewEnrollment,
        idempotency: Option<&Idempotency>,
        render: impl Fn(&Placed) -> (u16, String),
    ) -> StoreResult<EnrollOutcome> {
        let is_postgres = self.is_postgres();
        Ok(transaction!(self, |tx| {
            lock_session!(tx, is_postgres, new.session_id);
            if let Some(idem) = idempotency {
                let earlier = sqlx::query_as::<_, (String, i32, String)>(
                    "SELECT request_hash, status, response_body FROM idempotency_keys
                     WHERE user_id = $1 AND key = $2",
                )
                .bind(idem.user_id)
                .bind(&idem.key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((hash, status, body)) = earlier {
                    return Ok(if hash == idem.request_hash {
                        EnrollOutcome::Replayed {
                            status: status as u16,
                            body,
                        }
                    } else {
                        EnrollOutcome::KeyReused
                    });
                }
            }
            // One round trip for the three facts the decision needs.
            let (existing, full, queue_seq, waiting) = sqlx::query_as::<_, (Option<Uuid>, i64, i64, i64)>(
                "SELECT
                    (SELECT id FROM enrollments
                     WHERE participant_id = $1 AND session_id = $2 AND status <> 'cancelled'),
                    (SELECT COUNT(*) FROM occurrences
                     WHERE session_id = $2 AND occurrence_key >= $3 AND occurrence_key < $4
                       AND status <> 'cancelled' AND taken >= capacity),
                    (SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM enrollments WHERE session_id = $2),
                    (SELECT COUNT(*) FROM enrollments WHERE session_id = $2 AND status = 'waitlisted')",
            )
            .bind(new.participant_id)
            .bind(new.session_id)
            .bind(new.range.from.to_string())
            .bind(new.range.until.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if let Some(existing) = existing {
                return Ok(EnrollOutcome::AlreadyEnrolled(existing));
            }
            let confirmed = fits(full);
            let occurrence_key = (new.scope == Scope::Occurrence).then(|| new.from_key.to_string());
            let enrollment = sqlx::query_as::<_, Enrollment>(
                "INSERT INTO enrollments (id, participant_id, session_id, structure_id, scope,
                    from_key, occurrence_key, status, queue_seq, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
                 RETURNING id, participant_id, session_id, structure_id, scope, from_key,
                    occurrence_key, status, queue_seq, created_by, created_at, updated_at,
                    cancelled_at",
            )
            .bind(new.id)
            .bind(new.participant_id)
            .bind(new.session_id)
            .bind(new.structure_id)
            .bind(new.scope.as_str())
            .bind(new.from_key.to_string())
            .bind(occurrence_key)
            .bind(if confirmed { "confirmed" } else { "waitlisted" })
            .bind(queue_seq)
            .bind(new.created_by)
            .bind(new.now)
            .fetch_one(&mut *tx)
            .await?;
            let waitlist_position = if confirmed {
                shift_taken!(
                    tx,
                    new.session_id,
                    new.scope.as_str(),
                    new.from_key.to_string(),
                    1
                );
                None
            } else {
                // The queue is locked: the newcomer goes behind everyone waiting.
                Some(waiting + 1)
            };
            let notice = if confirmed {
                Notice::new("invitation", Target::Enrollment(new.id), new.now)
            } else {
                let mut waiting = Notice::new("waitlisted", Target::Enrollment(new.id), new.now);
                waiting.dedupe = Some("waitlisted");
                waiting
            };
            enqueue!(tx, is_postgres, &notice);
            let placed = Placed {
                enrollment,
                waitlist_position,
            };
            if let Some(idem) = idempotency {
                let (status, body) = render(&placed);
                sqlx::query(
                    "INSERT INTO idempotency_keys (user_id, key, request_hash, status, response_body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(idem.user_id)
                .bind(&idem.key)
                .bind(&idem.request_hash)
                .bind(i32::from(status))
                .bind(body)
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            }
            EnrollOutcome::Created(Box::new(placed))
        }))
    }

    /// Cancels an enrollment, frees its places and promotes the waitlist in the same
    /// transaction. Returns the promoted enrollments.
    pub async fn cancel_enrollment(
        &self,
        session_id: Uuid,
        enrollment_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let is_postgres = self.is_postgres();
        Ok(transaction!(self, |tx| {
            release_and_promote!(tx, is_postgres, session_id, enrollment_id, now)
        }))
    }

    /// Offers freed places (a raised capacity, a cancelled enrollment) to the waitlist.
    pub async fn promote_waitlist(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let is_postgres = self.is_postgres();
        Ok(transaction!(self, |tx| {
            lock_session!(tx, is_postgres, session_id);
            promote_waitlist!(tx, is_postgres, session_id, now)
        }))
    }

    pub async fn enrollment(&self, id: Uuid) -> StoreResult<Placed> {
        let enrollment = on_pool!(self, |pool| {
            sqlx::query_as::<_, Enrollment>(
                "SELECT id, participant_id, session_id, structure_id, scope, from_key,
                    occurrence_key, status, queue_seq, created_by, created_at, updated_at,
                    cancelled_at
                 FROM enrollments WHERE id = $1",
            )
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
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, Enrollment>(
                "SELECT id, participant_id, session_id, structure_id, scope, from_key,
                    occurrence_key, status, queue_seq, created_by, created_at, updated_at,
                    cancelled_at
                 FROM enrollments
                 WHERE ($1 IS NULL OR participant_id = $1)
                   AND ($2 IS NULL OR session_id = $2)
                   AND ($3 IS NULL OR structure_id = $3)
                 ORDER BY created_at, queue_seq
                 LIMIT 1000",
            )
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
            let waitlist_position = if enrollment.status == "waitlisted" {
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

    /// The `from_key` of every confirmed series enrollment of a session.
    pub async fn confirmed_series_starts(&self, session_id: Uuid) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT from_key FROM enrollments
                 WHERE session_id = $1 AND status = 'confirmed' AND scope = 'series'",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Places taken per materialised occurrence key of a session, within `[from, to)`.
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
    pub scope: String,
    pub status: String,
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

    /// Cancels every active enrollment of a session (the session itself was cancelled).
    pub async fn cancel_session_enrollments(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let is_postgres = self.is_postgres();
        Ok(transaction!(self, |tx| {
            lock_session!(tx, is_postgres, session_id);
            for (status, method) in [("confirmed", Some("CANCEL")), ("waitlisted", None)] {
                let mut cancellation =
                    Notice::new("cancellation", Target::Session(session_id, status), now);
                cancellation.new_sequence = true;
                cancellation.ical_method = method;
                cancellation.detail = Some("session_cancelled");
                enqueue!(tx, is_postgres, &cancellation);
            }
            let cancelled = sqlx::query_scalar::<_, Uuid>(
                "UPDATE enrollments SET status = 'cancelled', cancelled_at = $2, updated_at = $2
                 WHERE session_id = $1 AND status <> 'cancelled'
                 RETURNING id",
            )
            .bind(session_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            recount_taken!(tx, session_id);
            cancelled
        }))
    }
}
