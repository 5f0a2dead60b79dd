//! What composing an email needs about its enrollments, read for a whole batch of
//! messages at once: one query for the enrollments with their participant and social
//! worker, one per distinct session for its timing and club. Per-message queries would
//! cost more than sending.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::clubs::Club;
use super::enrollments::Enrollment;
use super::sessions::Session;
use super::{on_pool, Store, StoreError, StoreResult};
use crate::domain::places::{EnrollmentStatus, Scope};
use crate::domain::schedule::Override;

fn decode(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(message.into()))
}

/// The participant as email needs them: no situation, no notes.
#[derive(Debug, Clone)]
pub struct MailPerson {
    pub id: Uuid,
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub language: String,
    pub feed_token: Option<String>,
}

/// The participant's social worker.
#[derive(Debug, Clone)]
pub struct Referrer {
    pub name: String,
    pub email: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    participant_id: Uuid,
    session_id: Uuid,
    structure_id: Uuid,
    scope: String,
    from_key: String,
    occurrence_key: Option<String>,
    status: String,
    queue_seq: i64,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    code: String,
    first_name: String,
    last_name: String,
    email: Option<String>,
    language: String,
    feed_token: Option<String>,
    referrer_name: String,
    referrer_email: String,
}

impl Store {
    /// Enrollments with their (not erased) participant and social worker.
    pub async fn mail_people(
        &self,
        enrollment_ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, (Enrollment, MailPerson, Referrer)>> {
        let mut found = HashMap::new();
        for chunk in enrollment_ids.chunks(500) {
            let rows: Vec<Row> = on_pool!(self, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                "SELECT e.id, e.participant_id, e.session_id, e.structure_id, e.scope, e.from_key,
                    e.occurrence_key, e.status, e.queue_seq, e.created_by, e.created_at,
                    e.updated_at, e.cancelled_at, p.code, p.first_name, p.last_name, p.email,
                    p.language, p.feed_token, u.name AS referrer_name, u.email AS referrer_email
                 FROM enrollments e
                 JOIN participants p ON p.id = e.participant_id AND p.erased_at IS NULL
                 JOIN users u ON u.id = p.referrer_id
                 WHERE e.id IN (",
            );
                let mut ids = query.separated(", ");
                for id in chunk {
                    ids.push_bind(*id);
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await?
            });
            for row in rows {
                let person = MailPerson {
                    id: row.participant_id,
                    code: row.code,
                    first_name: row.first_name,
                    last_name: row.last_name,
                    email: row.email,
                    language: row.language,
                    feed_token: row.feed_token,
                };
                let referrer = Referrer {
                    name: row.referrer_name,
                    email: row.referrer_email,
                };
                let enrollment = Enrollment {
                    id: row.id,
                    participant_id: row.participant_id,
                    session_id: row.session_id,
                    structure_id: row.structure_id,
                    scope: Scope::try_from(row.scope).map_err(decode)?,
                    from_key: row.from_key,
                    occurrence_key: row.occurrence_key,
                    status: EnrollmentStatus::try_from(row.status).map_err(decode)?,
                    queue_seq: row.queue_seq,
                    created_by: row.created_by,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    cancelled_at: row.cancelled_at,
                };
                found.insert(row.id, (enrollment, person, referrer));
            }
        }
        Ok(found)
    }

    /// A session with its club and overrides.
    pub async fn session_place(
        &self,
        session_id: Uuid,
    ) -> StoreResult<(Session, Club, Vec<Override>)> {
        let session = self.session(session_id).await?;
        let club = self.club(session.club_id).await?;
        let overrides = self.overrides(session_id).await?;
        Ok((session, club, overrides))
    }

    /// Which of these (enrollment, occurrence) pairs were answered "I can't come".
    pub async fn declined_among(
        &self,
        pairs: &[(Uuid, String)],
    ) -> StoreResult<HashSet<(Uuid, String)>> {
        let mut declined = HashSet::new();
        for chunk in pairs.chunks(400) {
            let rows: Vec<(Uuid, String)> = on_pool!(self, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT enrollment_id, occurrence_key FROM rsvps
                 WHERE answer = 'not_coming' AND enrollment_id IN (",
                );
                let mut ids = query.separated(", ");
                for (id, _) in chunk {
                    ids.push_bind(*id);
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await?
            });
            declined.extend(rows.into_iter().filter(|pair| chunk.contains(pair)));
        }
        Ok(declined)
    }

    /// Messages sent to each of these addresses since `since`, and the oldest one's time.
    pub async fn sent_counts_since(
        &self,
        recipients: &[String],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<String, (i64, Option<DateTime<Utc>>)>> {
        let mut counts = HashMap::new();
        for chunk in recipients.chunks(400) {
            let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = on_pool!(self, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT recipient, COUNT(*), MIN(sent_at) FROM outbox
                 WHERE status = 'sent' AND sent_at > ",
                );
                query.push_bind(since);
                query.push(" AND recipient IN (");
                let mut list = query.separated(", ");
                for recipient in chunk {
                    list.push_bind(recipient.clone());
                }
                query.push(") GROUP BY recipient");
                query.build_query_as().fetch_all(pool).await?
            });
            counts.extend(rows.into_iter().map(|(r, n, oldest)| (r, (n, oldest))));
        }
        Ok(counts)
    }
}
