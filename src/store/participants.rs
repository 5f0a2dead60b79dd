//! Participants: personal data, kept only while needed, erased on request.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    conflict_on_unique, on_pool, on_tx, on_writer, touched, Store, StoreError, StoreResult, Tx,
};
use crate::domain::participants::ERASED_NAME;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Participant {
    pub id: Uuid,
    pub structure_id: Uuid,
    pub referrer_id: Uuid,
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: String,
    pub birth_year: Option<i32>,
    pub situation: String,
    pub notify_referrer: bool,
    pub consent_at: DateTime<Utc>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of a structure's participant list; `after` is the last (last name, first
/// name, id) seen.
#[derive(Debug, Clone)]
pub struct ParticipantFilter {
    pub structure_id: Option<Uuid>,
    pub name: Option<String>,
    pub after: Option<(String, String, Uuid)>,
    pub limit: i64,
}

fn search_name(p: &Participant) -> String {
    format!("{} {}", p.first_name, p.last_name).to_lowercase()
}

impl Store {
    pub async fn insert_participant(&self, p: &Participant) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO participants (id, structure_id, referrer_id, code, first_name,
                    last_name, search_name, email, phone, language, birth_year, situation,
                    notify_referrer, consent_at, notes, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(p.id)
            .bind(p.structure_id)
            .bind(p.referrer_id)
            .bind(&p.code)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .bind(search_name(p))
            .bind(&p.email)
            .bind(&p.phone)
            .bind(&p.language)
            .bind(p.birth_year)
            .bind(&p.situation)
            .bind(p.notify_referrer)
            .bind(p.consent_at)
            .bind(&p.notes)
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(pool)
            .await
            .map_err(conflict_on_unique("participant code already taken"))?;
        });
        Ok(())
    }

    pub async fn update_participant(&self, p: &Participant) -> StoreResult<()> {
        let changed = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE participants SET first_name = $2, last_name = $3, search_name = $4,
                    email = $5, phone = $6, language = $7, birth_year = $8, situation = $9,
                    notify_referrer = $10, notes = $11, updated_at = $12
                 WHERE id = $1 AND erased_at IS NULL",
            )
            .bind(p.id)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .bind(search_name(p))
            .bind(&p.email)
            .bind(&p.phone)
            .bind(&p.language)
            .bind(p.birth_year)
            .bind(&p.situation)
            .bind(p.notify_referrer)
            .bind(&p.notes)
            .bind(p.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        touched(changed)
    }

    /// A participant whose data has not been erased.
    pub async fn participant(&self, id: Uuid) -> StoreResult<Participant> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Participant>(
                "SELECT id, structure_id, referrer_id, code, first_name, last_name, email, phone,
                    language, birth_year, situation, notify_referrer, consent_at, notes,
                    created_at, updated_at
                 FROM participants WHERE id = $1 AND erased_at IS NULL",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    pub async fn participants(&self, filter: &ParticipantFilter) -> StoreResult<Vec<Participant>> {
        let (after_last, after_first, after_id) = filter.after.clone().unwrap_or_default();
        let pattern = filter
            .name
            .as_deref()
            .map(|name| format!("%{}%", name.trim().to_lowercase().replace(['%', '_'], "")));
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, Participant>(
                "SELECT id, structure_id, referrer_id, code, first_name, last_name, email, phone,
                    language, birth_year, situation, notify_referrer, consent_at, notes,
                    created_at, updated_at
                 FROM participants
                 WHERE erased_at IS NULL
                   AND ($1 IS NULL OR structure_id = $1)
                   AND ($2 IS NULL OR search_name LIKE $2 OR lower(code) = $7)
                   AND (last_name, first_name, id) > ($3, $4, $5)
                 ORDER BY last_name, first_name, id
                 LIMIT $6",
            )
            .bind(filter.structure_id)
            .bind(pattern)
            .bind(after_last)
            .bind(after_first)
            .bind(after_id)
            .bind(filter.limit)
            .bind(filter.name.as_deref().map(|n| n.trim().to_lowercase()))
            .fetch_all(pool)
            .await?
        }))
    }
}

impl Tx {
    /// Replaces a participant's identity and clears their contact details, notes and
    /// birth year, and drops their undelivered messages. Situation and structure stay,
    /// without identity, so counts never change. Not found if already erased.
    pub async fn erase_participant(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        on_tx!(self, |conn| {
            let erased = sqlx::query(
                "UPDATE participants SET first_name = $2, last_name = $2, search_name = '',
                    email = NULL, phone = NULL, notes = NULL, birth_year = NULL,
                    erased_at = $3, updated_at = $3
                 WHERE id = $1 AND erased_at IS NULL",
            )
            .bind(id)
            .bind(ERASED_NAME)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            touched(erased)?;
            // Nothing more is sent about a person who asked to be forgotten.
            sqlx::query(
                "UPDATE outbox SET status = 'skipped', last_error = 'participant erased',
                    updated_at = $2
                 WHERE participant_id = $1 AND status IN ('pending', 'dead')",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Whether the participant was erased. On PostgreSQL it locks their row until the
    /// transaction ends, so an erasure running meanwhile either comes first (and is
    /// seen) or waits and then finds what this transaction wrote. NO KEY UPDATE: the
    /// foreign-key checks of other writers (outbox rows naming this person) take KEY
    /// SHARE and must not wait on it, or a promotion and this enrollment deadlock.
    pub async fn participant_erased(&mut self, id: Uuid) -> StoreResult<bool> {
        let sql = if self.is_postgres() {
            "SELECT erased_at IS NOT NULL FROM participants WHERE id = $1 FOR NO KEY UPDATE"
        } else {
            "SELECT erased_at IS NOT NULL FROM participants WHERE id = $1"
        };
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar::<_, bool>(sql)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or(true)
        }))
    }
}
