//! The email outbox: a message is a row written in the transaction of its cause, under a
//! unique dedupe key, so a change and its emails commit or roll back together and a
//! cause never yields two messages. Workers claim due rows with a lease (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, the single writer on SQLite); a row whose worker died is
//! claimed again once its lease has run out.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{on_pool, on_tx, on_writer, Store, StoreError, StoreResult};
use crate::domain::places::EnrollmentStatus;

pub use crate::domain::messages::{Audience, Delivery, MessageKind};

/// The enrollments a notice goes to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Enrollment(Uuid),
    /// Every enrollment of a session with this status.
    Session(Uuid, EnrollmentStatus),
    /// Every confirmed enrollment that covers one occurrence.
    Covering(Uuid, &'a str),
    /// Every confirmed enrollment in a club's sessions (its name or address changed).
    Club(Uuid),
}

/// One cause of email to the participants of `target` (and their social workers, when
/// the participant has no address or asked for copies).
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub kind: MessageKind,
    pub target: Target<'a>,
    /// Raise the enrollments' calendar SEQUENCE first: their calendar object changes.
    pub new_sequence: bool,
    /// What makes the cause unique besides kind and enrollment; `None`: the sequence.
    pub dedupe: Option<&'a str>,
    pub occurrence_key: Option<&'a str>,
    pub ical_method: Option<&'static str>,
    pub detail: Option<&'a str>,
    pub available_at: DateTime<Utc>,
}

impl<'a> Notice<'a> {
    pub fn new(kind: MessageKind, target: Target<'a>, now: DateTime<Utc>) -> Self {
        Self {
            kind,
            target,
            new_sequence: false,
            dedupe: None,
            occurrence_key: None,
            ical_method: None,
            detail: None,
            available_at: now,
        }
    }
}

/// The part of the enqueue statement after its target, shared by every target.
macro_rules! enqueue_sql {
    ($new_id:literal, $id_text:literal, $target:expr) => {
        concat!(
            "INSERT INTO outbox (id, dedupe_key, kind, audience, enrollment_id, participant_id,
                occurrence_key, ical_sequence, ical_method, detail, status, available_at,
                attempts, created_at, updated_at)
             SELECT ",
            $new_id,
            ", CAST($1 AS TEXT) || ':' || ",
            $id_text,
            " || ':' || COALESCE(CAST($2 AS TEXT), CAST(e.ical_sequence AS TEXT)) || ':' || a.audience,
                $1, a.audience, e.id, e.participant_id, $3, e.ical_sequence, $4, $5, 'pending',
                $6, 0, $7, $7
             FROM enrollments e
             JOIN participants p ON p.id = e.participant_id
             CROSS JOIN (SELECT 'participant' AS audience UNION ALL SELECT 'referrer') a
             WHERE ",
            $target,
            " AND p.erased_at IS NULL
               AND ((a.audience = 'participant' AND p.email IS NOT NULL)
                 OR (a.audience = 'referrer' AND (p.notify_referrer OR p.email IS NULL)))
             ON CONFLICT (dedupe_key) DO NOTHING"
        )
    };
}

/// The three targets, with the placeholders that carry the target's id and value.
macro_rules! target_sql {
    ($emit:ident, $($lead:literal,)* id = $id:literal, value = $value:literal) => {
        [
            $emit!($($lead,)* concat!("e.id = ", $id)),
            $emit!($($lead,)* concat!("e.session_id = ", $id, " AND e.status = ", $value)),
            $emit!($($lead,)* concat!("e.session_id = ", $id, " AND e.status = 'confirmed'
                AND ((e.scope = 'series' AND e.from_key <= ", $value, ")
                  OR (e.scope = 'occurrence' AND e.occurrence_key = ", $value, "))")),
            $emit!($($lead,)* concat!("e.status = 'confirmed' AND e.session_id IN
                (SELECT s.id FROM sessions s WHERE s.club_id = ", $id, " AND s.status <> 'cancelled')")),
        ]
    };
}

macro_rules! bump_sql {
    ($target:expr) => {
        concat!(
            "UPDATE enrollments SET ical_sequence = ical_sequence + 1 WHERE id IN
                (SELECT e.id FROM enrollments e WHERE ",
            $target,
            ")"
        )
    };
}

const ENQUEUE_SQLITE: [&str; 4] = target_sql!(
    enqueue_sql,
    "randomblob(16)",
    "lower(hex(e.id))",
    id = "$8",
    value = "$9"
);
const ENQUEUE_POSTGRES: [&str; 4] = target_sql!(
    enqueue_sql,
    "gen_random_uuid()",
    "CAST(e.id AS TEXT)",
    id = "$8",
    value = "$9"
);
const BUMP: [&str; 4] = target_sql!(bump_sql, id = "$1", value = "$2");

impl Target<'_> {
    fn index(&self) -> usize {
        match self {
            Self::Enrollment(_) => 0,
            Self::Session(..) => 1,
            Self::Covering(..) => 2,
            Self::Club(_) => 3,
        }
    }

    fn id(&self) -> Uuid {
        match self {
            Self::Enrollment(id)
            | Self::Club(id)
            | Self::Session(id, _)
            | Self::Covering(id, _) => *id,
        }
    }
}

/// Reminders to write: occurrences starting in `($1, $2]` with a confirmed enrollment
/// (`$filter` may narrow it) that has no reminder yet and no "I can't come".
macro_rules! reminder_candidates_sql {
    ($filter:literal) => {
        concat!(
            "SELECT e.id AS enrollment_id, e.participant_id, o.occurrence_key,
                o.start_at, s.reminder_hours_before, p.email IS NOT NULL AS has_email,
                p.notify_referrer
             FROM occurrences o
             JOIN sessions s ON s.id = o.session_id
             JOIN enrollments e ON e.session_id = o.session_id AND e.status = 'confirmed'
               AND ((e.scope = 'series' AND e.from_key <= o.occurrence_key)
                 OR (e.scope = 'occurrence' AND e.occurrence_key = o.occurrence_key))
             JOIN participants p ON p.id = e.participant_id AND p.erased_at IS NULL
             WHERE o.listed AND o.start_at > $1 AND o.start_at <= $2 ",
            $filter,
            " AND o.status <> 'cancelled' AND s.status = 'published'
               AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.enrollment_id = e.id
                   AND x.kind = 'reminder' AND x.occurrence_key = o.occurrence_key)
               AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.enrollment_id = e.id
                   AND r.occurrence_key = o.occurrence_key AND r.answer = 'not_coming')
             ORDER BY o.start_at"
        )
    };
}

impl super::Tx {
    /// [`Store::reminder_candidates`] for one enrollment, inside the transaction.
    pub async fn reminder_candidates_of(
        &mut self,
        enrollment_id: Uuid,
        now: DateTime<Utc>,
        reach: Duration,
    ) -> StoreResult<Vec<ReminderCandidate>> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, ReminderCandidate>(reminder_candidates_sql!("AND e.id = $3"))
                .bind(now)
                .bind(now + reach)
                .bind(enrollment_id)
                .fetch_all(&mut *conn)
                .await?
        }))
    }

    /// Writes reminders, each due at its own time; one already written is left alone.
    pub async fn enqueue_reminders(
        &mut self,
        due: &[(ReminderCandidate, Audience, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let written = on_tx!(self, |conn| {
            let mut written = 0;
            for chunk in due.chunks(400) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO outbox (id, dedupe_key, kind, audience, enrollment_id,
                        participant_id, occurrence_key, status, available_at, attempts,
                        created_at, updated_at) ",
                );
                insert.push_values(chunk, |mut row, (candidate, audience, at)| {
                    row.push_bind(Uuid::new_v4())
                        .push_bind(format!(
                            "reminder:{}:{}:{}",
                            candidate.enrollment_id.simple(),
                            candidate.occurrence_key,
                            audience.as_str()
                        ))
                        .push_bind("reminder")
                        .push_bind(audience.as_str())
                        .push_bind(candidate.enrollment_id)
                        .push_bind(candidate.participant_id)
                        .push_bind(candidate.occurrence_key.clone())
                        .push_bind("pending")
                        .push_bind(*at)
                        .push_bind(0)
                        .push_bind(now)
                        .push_bind(now);
                });
                insert.push(" ON CONFLICT (dedupe_key) DO NOTHING");
                written += insert.build().execute(&mut *conn).await?.rows_affected();
            }
            written
        });
        Ok(written)
    }

    /// Writes a [`Notice`]: raises the calendar sequence when asked, then inserts one
    /// outbox row per enrollment and audience.
    pub async fn enqueue(&mut self, notice: &Notice<'_>) -> StoreResult<()> {
        let now = crate::clock::now();
        let is_postgres = self.is_postgres();
        on_tx!(self, |conn| {
            if notice.new_sequence {
                bump_query(&notice.target).execute(&mut *conn).await?;
            }
            enqueue_query(is_postgres, notice, now)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
}

pub(crate) fn bump_query<'q, DB>(
    target: &Target<'q>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let query = sqlx::query::<DB>(BUMP[target.index()]).bind(target.id());
    match *target {
        Target::Enrollment(_) | Target::Club(_) => query,
        Target::Session(_, status) => query.bind(status.as_str()),
        Target::Covering(_, value) => query.bind(value),
    }
}

pub(crate) fn enqueue_query<'q, DB>(
    is_postgres: bool,
    notice: &Notice<'q>,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let statements = if is_postgres {
        &ENQUEUE_POSTGRES
    } else {
        &ENQUEUE_SQLITE
    };
    let query = sqlx::query::<DB>(statements[notice.target.index()])
        .bind(notice.kind.as_str())
        .bind(notice.dedupe)
        .bind(notice.occurrence_key)
        .bind(notice.ical_method)
        .bind(notice.detail)
        .bind(notice.available_at)
        .bind(now)
        .bind(notice.target.id());
    match notice.target {
        Target::Enrollment(_) | Target::Club(_) => query,
        Target::Session(_, status) => query.bind(status.as_str()),
        Target::Covering(_, value) => query.bind(value),
    }
}

/// A message as stored, with the state of its delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    pub seq: i64,
    pub id: Uuid,
    pub dedupe_key: String,
    #[sqlx(try_from = "String")]
    pub kind: MessageKind,
    #[sqlx(try_from = "String")]
    pub audience: Audience,
    pub enrollment_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    /// The account a message to a user (audience `user`) goes to.
    pub user_id: Option<Uuid>,
    pub occurrence_key: Option<String>,
    pub ical_sequence: Option<i32>,
    pub ical_method: Option<String>,
    pub detail: Option<String>,
    pub recipient: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: Delivery,
    pub available_at: DateTime<Utc>,
    pub attempts: i32,
    pub lease_until: Option<DateTime<Utc>>,
    pub claim_token: Option<Uuid>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub message_id: Uuid,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
}

/// See [`Store::outbox_snapshot`].
#[derive(Debug, Clone, Default)]
pub struct OutboxSnapshot {
    /// Only the states that have messages.
    pub counts: Vec<(Delivery, i64)>,
    /// When the oldest message waiting to be sent became due (`None`: none is).
    pub oldest_due: Option<DateTime<Utc>>,
}

/// What became of one claimed message.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        recipient: String,
    },
    /// A transient failure: try again at `next`.
    Retry {
        error: String,
        next: DateTime<Utc>,
    },
    /// Given up: the last error. The participant's social worker is told.
    Dead {
        error: String,
    },
    /// Nothing to send any more (a reminder for a cancelled occurrence, say).
    Skipped {
        reason: String,
    },
    /// The recipient had their share of messages this hour: wait, do not count.
    Deferred {
        until: DateTime<Utc>,
    },
}

/// A claimed message and the claim that lets its worker finish it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub message: OutboxMessage,
    pub token: Uuid,
}

/// A reminder to write: an enrollment's occurrence whose reminder falls due soon.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCandidate {
    pub enrollment_id: Uuid,
    pub participant_id: Uuid,
    pub occurrence_key: String,
    pub start_at: DateTime<Utc>,
    pub reminder_hours_before: i32,
    pub has_email: bool,
    pub notify_referrer: bool,
}

/// Marks due messages (pending ones, and those whose worker's lease ran out) as being
/// sent by the caller; `$lock` is how the inner select locks what it picks.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET status = 'sending', claim_token = $1, lease_until = $2,
                updated_at = $3
             WHERE seq IN (
                SELECT seq FROM outbox
                WHERE status IN ('pending', 'sending') AND available_at <= $3
                  AND (status = 'pending' OR lease_until < $3)
                ORDER BY available_at, seq LIMIT $4 ",
            $lock,
            ")
             RETURNING seq, id, dedupe_key, kind, audience, enrollment_id, participant_id, user_id,
                occurrence_key, ical_sequence, ical_method, detail, recipient, status,
                available_at, attempts, lease_until, claim_token, last_error, created_at,
                updated_at, sent_at"
        )
    };
}

/// Queues, for the social worker, the practical details of a message that could not be
/// delivered to their participant.
const TELL_REFERRER_OF_FAILURE: &str =
    "INSERT INTO outbox (id, dedupe_key, kind, audience, enrollment_id, participant_id,
        occurrence_key, detail, status, available_at, attempts, created_at, updated_at)
     SELECT $2, CAST($3 AS TEXT), 'delivery_failed', 'referrer', enrollment_id,
        participant_id, occurrence_key, kind, 'pending', $4, 0, $4, $4
     FROM outbox WHERE id = $1
     ON CONFLICT (dedupe_key) DO NOTHING";

impl Store {
    /// Claims up to `limit` due messages for `lease`: pending ones whose time has come,
    /// and those whose worker's lease ran out.
    pub async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> StoreResult<Vec<Claim>> {
        let token = Uuid::new_v4();
        // PostgreSQL: concurrent workers skip each other's rows. SQLite: one writer.
        let rows = on_writer!(self, |pool| {
            sqlx::query_as::<_, OutboxMessage>(if self.is_postgres() {
                claim_sql!("FOR UPDATE SKIP LOCKED")
            } else {
                claim_sql!("")
            })
            .bind(token)
            .bind(now + lease)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut claims: Vec<Claim> = rows
            .into_iter()
            .map(|message| Claim { message, token })
            .collect();
        claims.sort_by_key(|c| c.message.seq);
        Ok(claims)
    }

    /// Records what became of claimed messages, in one transaction. A message whose
    /// claim was taken over meanwhile (its lease ran out) is left to its new owner.
    pub async fn finish_messages(
        &self,
        results: &[(Claim, Outcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if results.is_empty() {
            return Ok(());
        }
        let sent: Vec<(&Claim, &str)> = results
            .iter()
            .filter_map(|(claim, outcome)| match outcome {
                Outcome::Sent { recipient } => Some((claim, recipient.as_str())),
                _ => None,
            })
            .collect();
        let mut tx = self.write().await?;
        on_tx!(&mut tx, |tx| {
            // The common case, one statement per few hundred messages. A delivery is
            // recorded on the message itself (status, time, attempt number); only
            // failures and skips get a row of their own in `outbox_attempts`.
            for chunk in sent.chunks(300) {
                let mut update = sqlx::QueryBuilder::new(
                    "UPDATE outbox SET status = 'sent', attempts = attempts + 1,
                        recipient = v.column2, last_error = NULL, sent_at = ",
                );
                update.push_bind(now);
                update.push(", updated_at = ");
                update.push_bind(now);
                update.push(", lease_until = NULL, claim_token = NULL FROM (");
                update.push_values(chunk, |mut row, (claim, recipient)| {
                    row.push_bind(claim.message.id)
                        .push_bind(recipient.to_string())
                        .push_bind(claim.token);
                });
                update
                    .push(") AS v WHERE outbox.id = v.column1 AND outbox.claim_token = v.column3");
                update.build().execute(&mut *tx).await?;
            }
            for (claim, outcome) in results {
                let (status, error, available_at, counts) = match outcome {
                    Outcome::Sent { .. } => continue,
                    Outcome::Retry { error, next } => {
                        ("pending", Some(error.as_str()), Some(*next), true)
                    }
                    Outcome::Dead { error } => ("dead", Some(error.as_str()), None, true),
                    Outcome::Skipped { reason } => ("skipped", Some(reason.as_str()), None, false),
                    Outcome::Deferred { until } => ("pending", None, Some(*until), false),
                };
                let changed = sqlx::query(
                    "UPDATE outbox SET status = $3, attempts = attempts + $4,
                        last_error = COALESCE($5, last_error),
                        available_at = COALESCE($6, available_at),
                        lease_until = NULL, claim_token = NULL, updated_at = $7
                     WHERE id = $1 AND claim_token = $2",
                )
                .bind(claim.message.id)
                .bind(claim.token)
                .bind(status)
                .bind(i32::from(counts))
                .bind(error)
                .bind(available_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    continue;
                }
                let logged = match outcome {
                    Outcome::Retry { .. } => Some("retry"),
                    Outcome::Dead { .. } => Some("dead"),
                    Outcome::Skipped { .. } => Some("skipped"),
                    Outcome::Sent { .. } | Outcome::Deferred { .. } => None,
                };
                if let Some(label) = logged {
                    sqlx::query(
                        "INSERT INTO outbox_attempts (message_id, attempt, at, outcome, error)
                         SELECT $1, COALESCE(MAX(attempt), 0) + 1, $2, $3, $4
                         FROM outbox_attempts WHERE message_id = $1",
                    )
                    .bind(claim.message.id)
                    .bind(now)
                    .bind(label)
                    .bind(error)
                    .execute(&mut *tx)
                    .await?;
                }
                if matches!(outcome, Outcome::Dead { .. })
                    && claim.message.audience == Audience::Participant
                    && claim.message.kind != MessageKind::DeliveryFailed
                {
                    sqlx::query(TELL_REFERRER_OF_FAILURE)
                        .bind(claim.message.id)
                        .bind(Uuid::new_v4())
                        .bind(format!("delivery_failed:{}", claim.message.id.simple()))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        tx.commit().await
    }

    /// Hands claimed messages back (the worker is stopping before it tried them).
    pub async fn release_messages(&self, claims: &[Claim]) -> StoreResult<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        on_tx!(&mut tx, |tx| {
            for claim in claims {
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', lease_until = NULL, claim_token = NULL
                     WHERE id = $1 AND claim_token = $2",
                )
                .bind(claim.message.id)
                .bind(claim.token)
                .execute(&mut *tx)
                .await?;
            }
        });
        tx.commit().await
    }

    /// Messages by status, newest first, one page at a time (`before`: a `seq`).
    pub async fn messages(
        &self,
        status: Option<Delivery>,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMessage>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, OutboxMessage>(
                "SELECT seq, id, dedupe_key, kind, audience, enrollment_id, participant_id, user_id,
                    occurrence_key, ical_sequence, ical_method, detail, recipient, status,
                    available_at, attempts, lease_until, claim_token, last_error, created_at,
                    updated_at, sent_at
                 FROM outbox WHERE ($1 IS NULL OR status = $1) AND seq < $2
                 ORDER BY seq DESC LIMIT $3",
            )
            .bind(status.map(|s| s.as_str()))
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn message(&self, id: Uuid) -> StoreResult<OutboxMessage> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, OutboxMessage>(
                "SELECT seq, id, dedupe_key, kind, audience, enrollment_id, participant_id, user_id,
                    occurrence_key, ical_sequence, ical_method, detail, recipient, status,
                    available_at, attempts, lease_until, claim_token, last_error, created_at,
                    updated_at, sent_at
                 FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    /// The logged attempts of the given messages, oldest first.
    pub async fn attempts(&self, ids: &[Uuid]) -> StoreResult<Vec<Attempt>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT message_id, attempt, at, outcome, error FROM outbox_attempts
                 WHERE message_id IN (",
            );
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY message_id, attempt");
            query.build_query_as::<Attempt>().fetch_all(pool).await?
        }))
    }

    /// Puts a dead message back in the queue, attempts counted from zero again.
    pub async fn retry_message(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let retried = on_tx!(&mut tx, |tx| {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', available_at = $2, attempts = 0,
                    updated_at = $2
                 WHERE id = $1 AND status = 'dead'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
        });
        tx.commit().await?;
        Ok(retried)
    }

    /// Puts every dead message of one kind back in the queue; returns how many.
    pub async fn retry_dead_of_kind(
        &self,
        kind: MessageKind,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let retried = on_tx!(&mut tx, |tx| {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', available_at = $2, attempts = 0,
                    updated_at = $2
                 WHERE kind = $1 AND status = 'dead'",
            )
            .bind(kind.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(retried)
    }

    /// Messages by kind and status, for the deliveries page.
    pub async fn outbox_counts_by_kind(&self) -> StoreResult<Vec<(String, String, i64)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String, i64)>(
                "SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status ORDER BY kind, status",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Occurrences starting in `(now, now + reach]` with a confirmed enrollment that has
    /// no reminder yet and no "I can't come".
    pub async fn reminder_candidates(
        &self,
        now: DateTime<Utc>,
        reach: Duration,
    ) -> StoreResult<Vec<ReminderCandidate>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ReminderCandidate>(reminder_candidates_sql!(""))
                .bind(now)
                .bind(now + reach)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Writes reminders, each due at its own time; one already written is left alone.
    pub async fn enqueue_reminders(
        &self,
        due: &[(ReminderCandidate, Audience, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let written = tx.enqueue_reminders(due, now).await?;
        tx.commit().await?;
        Ok(written)
    }
    /// Messages by state, and since when the oldest pending message has been due, in
    /// one grouped query for the metrics. The `outbox_by_status` index (status,
    /// available_at) holds both columns, so the database reads the index only, not the
    /// table's wide rows.
    pub async fn outbox_snapshot(&self, now: DateTime<Utc>) -> StoreResult<OutboxSnapshot> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, (String, i64, Option<DateTime<Utc>>)>(
                "SELECT status, COUNT(*),
                    MIN(CASE WHEN status = 'pending' AND available_at <= $1 THEN available_at END)
                 FROM outbox GROUP BY status",
            )
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        let mut snapshot = OutboxSnapshot::default();
        for (status, count, oldest) in rows {
            if let Some(state) = Delivery::parse(&status) {
                snapshot.counts.push((state, count));
            }
            snapshot.oldest_due = snapshot.oldest_due.or(oldest);
        }
        Ok(snapshot)
    }

    /// Messages not yet delivered, by status (for health and tests).
    pub async fn outbox_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
