//! Reads the pages need that the API has no single query for: the coming occurrences
//! of the people a social worker follows, and what needs their attention.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on_pool, Store, StoreResult};
use crate::domain::messages::MessageKind;
use crate::domain::places::EnrollmentStatus;
use crate::domain::schedule::OccurrenceStatus;

/// Whose coming occurrences to read.
#[derive(Debug, Clone, Copy)]
pub enum Whose {
    /// A structure's participants (`None`: every structure, for programme staff).
    Structure(Option<Uuid>),
    Participant(Uuid),
}

/// One occurrence a followed person is enrolled in (or waits for).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComingRow {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub code: String,
    pub enrollment_id: Uuid,
    #[sqlx(try_from = "String")]
    pub enrollment_status: EnrollmentStatus,
    pub waitlist_position: Option<i64>,
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub occurrence_status: OccurrenceStatus,
    pub title: String,
    pub sport: String,
    pub timezone: String,
    pub location: Option<String>,
    pub club_name: String,
    pub club_address: String,
    pub club_postal_code: String,
    pub club_city: String,
    pub answer: Option<String>,
}

/// Something a social worker should look at: a message the outbox wrote about one of
/// their people (an absence run, a failed delivery, a promotion from the waitlist).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NeedRow {
    #[sqlx(try_from = "String")]
    pub kind: MessageKind,
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub code: String,
    pub created_at: DateTime<Utc>,
    pub session_title: Option<String>,
}

const COMING: &str = "SELECT p.id AS participant_id, p.first_name, p.last_name, p.code,
        e.id AS enrollment_id, e.status AS enrollment_status,
        CASE WHEN e.status = 'waitlisted' THEN
            (SELECT COUNT(*) FROM enrollments w WHERE w.session_id = e.session_id
               AND w.status = 'waitlisted' AND w.queue_seq <= e.queue_seq)
        END AS waitlist_position,
        o.session_id, o.occurrence_key, o.start_at, o.end_at, o.status AS occurrence_status,
        s.title, s.sport, s.timezone, s.location, c.name AS club_name,
        c.address AS club_address, c.postal_code AS club_postal_code, c.city AS club_city,
        r.answer
     FROM enrollments e
     JOIN participants p ON p.id = e.participant_id
     JOIN sessions s ON s.id = e.session_id
     JOIN clubs c ON c.id = s.club_id
     JOIN occurrences o ON o.session_id = e.session_id
        AND ((e.scope = 'series' AND o.occurrence_key >= e.from_key)
          OR (e.scope = 'occurrence' AND o.occurrence_key = e.occurrence_key))
     LEFT JOIN rsvps r ON r.enrollment_id = e.id AND r.occurrence_key = o.occurrence_key
     WHERE p.erased_at IS NULL AND e.status IN ('confirmed', 'waitlisted')
       AND s.status <> 'cancelled'
       AND o.start_at >= $1 AND o.start_at < $2";

impl Store {
    /// Occurrences from `from` to `to` of the enrollments of `whose`, by start.
    pub async fn coming(
        &self,
        whose: Whose,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ComingRow>> {
        let (filter, id) = match whose {
            Whose::Structure(id) => ("AND ($3 IS NULL OR p.structure_id = $3)", id),
            Whose::Participant(id) => ("AND p.id = $3", Some(id)),
        };
        let sql = format!(
            "{COMING} {filter} ORDER BY o.start_at, p.last_name, p.first_name, e.id LIMIT $4"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ComingRow>(sqlx::AssertSqlSafe(sql))
                .bind(from)
                .bind(to)
                .bind(id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Absence alerts, failed deliveries and promotions about a structure's people
    /// since `since`, newest first.
    pub async fn needs_attention(
        &self,
        structure_id: Option<Uuid>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<NeedRow>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, NeedRow>(
                "SELECT m.kind, p.id AS participant_id, p.first_name, p.last_name, p.code,
                    MAX(m.created_at) AS created_at, MAX(s.title) AS session_title
                 FROM outbox m
                 JOIN participants p ON p.id = m.participant_id
                 LEFT JOIN enrollments e ON e.id = m.enrollment_id
                 LEFT JOIN sessions s ON s.id = e.session_id
                 WHERE m.kind IN ('absence_alert', 'delivery_failed', 'promotion')
                   AND m.created_at >= $1 AND p.erased_at IS NULL
                   AND ($2 IS NULL OR p.structure_id = $2)
                 GROUP BY m.kind, p.id, p.first_name, p.last_name, p.code, m.enrollment_id
                 ORDER BY created_at DESC
                 LIMIT $3",
            )
            .bind(since)
            .bind(structure_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// One occurrence of a club's published sessions, as its manager's home lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClubOccurrenceRow {
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub start_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: OccurrenceStatus,
    pub capacity: i32,
    pub taken: i32,
    pub title: String,
    pub timezone: String,
    /// Confirmed people who said "I can't come".
    pub declined: i64,
    /// Confirmed people who said "I'm coming" to their reminder.
    pub coming: i64,
    /// Whether attendance was recorded.
    pub recorded: bool,
    /// A draft session's date: seen by its club only, nobody enrolled.
    pub draft: bool,
}

impl Store {
    /// A club's occurrences starting from `from` to `to`, by start.
    pub async fn club_occurrences(
        &self,
        club_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
        with_drafts: bool,
    ) -> StoreResult<Vec<ClubOccurrenceRow>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, ClubOccurrenceRow>(
                "SELECT o.session_id, o.occurrence_key, o.start_at, o.status, o.capacity,
                    o.taken, s.title, s.timezone,
                    (SELECT COUNT(*) FROM rsvps r JOIN enrollments e ON e.id = r.enrollment_id
                     WHERE e.session_id = o.session_id AND r.occurrence_key = o.occurrence_key
                       AND r.answer = 'not_coming' AND e.status = 'confirmed') AS declined,
                    (SELECT COUNT(*) FROM rsvps r JOIN enrollments e ON e.id = r.enrollment_id
                     WHERE e.session_id = o.session_id AND r.occurrence_key = o.occurrence_key
                       AND r.answer = 'coming' AND e.status = 'confirmed') AS coming,
                    EXISTS (SELECT 1 FROM attendance_sheets a WHERE a.session_id = o.session_id
                              AND a.occurrence_key = o.occurrence_key) AS recorded,
                    s.status = 'draft' AS draft
                 FROM occurrences o JOIN sessions s ON s.id = o.session_id
                 WHERE o.club_id = $1 AND o.start_at >= $2 AND o.start_at < $3
                   AND (o.listed OR ($5 AND s.status = 'draft'))
                 ORDER BY o.start_at, o.session_id, o.occurrence_key
                 LIMIT $4",
            )
            .bind(club_id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .bind(with_drafts)
            .fetch_all(pool)
            .await?
        }))
    }
}
