//! Sessions, their per-occurrence overrides, and the materialised occurrences that the
//! cross-club search reads. Every write that can change an occurrence rewrites the
//! session's materialised rows in the same transaction, so the search never disagrees
//! with the rule.

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

use super::{from_json, on_pool, on_tx, to_json, Store, StoreError, StoreResult, Tx};
use crate::domain::schedule::{OccurrenceKey, OccurrenceStatus, Override, SessionStatus};
use crate::domain::validate::search_key;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub club_id: Uuid,
    pub title: String,
    pub sport: String,
    pub description: Option<String>,
    pub level: Option<String>,
    /// `None`: the club's address.
    pub location: Option<String>,
    pub timezone: String,
    pub start_local: NaiveDateTime,
    pub duration_minutes: i32,
    pub rrule: Option<String>,
    pub exdates: Vec<NaiveDateTime>,
    pub capacity: i32,
    pub status: SessionStatus,
    pub what_to_bring: Option<String>,
    pub coach_name: Option<String>,
    pub reminder_hours_before: i32,
    pub enrollment_closes_hours_before: i32,
    /// Raised on every change that calendars must hear about.
    pub sequence: i32,
    pub materialized_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    club_id: Uuid,
    title: String,
    sport: String,
    description: Option<String>,
    level: Option<String>,
    location: Option<String>,
    timezone: String,
    start_local: NaiveDateTime,
    duration_minutes: i32,
    rrule: Option<String>,
    exdates: String,
    capacity: i32,
    status: String,
    what_to_bring: Option<String>,
    coach_name: Option<String>,
    reminder_hours_before: i32,
    enrollment_closes_hours_before: i32,
    sequence: i32,
    materialized_until: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            club_id: row.club_id,
            title: row.title,
            sport: row.sport,
            description: row.description,
            level: row.level,
            location: row.location,
            timezone: row.timezone,
            start_local: row.start_local,
            duration_minutes: row.duration_minutes,
            rrule: row.rrule,
            exdates: from_json(&row.exdates)?,
            capacity: row.capacity,
            status: SessionStatus::try_from(row.status)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            what_to_bring: row.what_to_bring,
            coach_name: row.coach_name,
            reminder_hours_before: row.reminder_hours_before,
            enrollment_closes_hours_before: row.enrollment_closes_hours_before,
            sequence: row.sequence,
            materialized_until: row.materialized_until,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OverrideRow {
    occurrence_key: String,
    cancelled: bool,
    start_at: Option<DateTime<Utc>>,
    duration_minutes: Option<i32>,
    capacity: Option<i32>,
}

/// One materialised occurrence, as computed by the domain from the rule and overrides.
#[derive(Debug, Clone)]
pub struct MaterializedOccurrence {
    pub key: OccurrenceKey,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: &'static str,
    pub capacity: i32,
}

/// The session a materialisation belongs to, with what the search filters on.
#[derive(Debug, Clone)]
pub struct Materialization<'a> {
    pub session: &'a Session,
    pub club_city: &'a str,
    pub occurrences: &'a [MaterializedOccurrence],
}

/// A cross-club search; `after` is the (start, session, key) of the last result seen.
#[derive(Debug, Clone)]
pub struct OccurrenceSearch {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub sport: Option<String>,
    pub city: Option<String>,
    pub club_id: Option<Uuid>,
    pub with_places: bool,
    pub after: Option<(DateTime<Utc>, Uuid, String)>,
    pub limit: i64,
}

/// A search result: the occurrence and what a social worker needs to choose it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedOccurrence {
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: OccurrenceStatus,
    pub capacity: i32,
    pub taken: i32,
    pub club_id: Uuid,
    pub club_name: String,
    pub city: String,
    pub title: String,
    pub sport: String,
    pub timezone: String,
    pub location: Option<String>,
    pub club_address: String,
    pub club_postal_code: String,
}

const CHANGED_MEANWHILE: &str = "the session changed meanwhile; read it again and retry";

impl Tx {
    /// Rewrites the stored occurrences of `plan.session` and recounts their places.
    pub async fn write_occurrences(&mut self, plan: &Materialization<'_>) -> StoreResult<()> {
        let session = plan.session;
        let listed = session.status == SessionStatus::Published;
        let city_key = search_key(plan.club_city);
        on_tx!(&mut *self, |conn| {
            sqlx::query("DELETE FROM occurrences WHERE session_id = $1")
                .bind(session.id)
                .execute(&mut *conn)
                .await?;
            // 10 binds a row keeps a chunk far below SQLite's limit of bound variables.
            for chunk in plan.occurrences.chunks(500) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO occurrences (session_id, occurrence_key, start_at, end_at, status,
                        capacity, club_id, sport, city_key, listed) ",
                );
                insert.push_values(chunk, |mut row, occurrence| {
                    row.push_bind(session.id)
                        .push_bind(occurrence.key.to_string())
                        .push_bind(occurrence.start)
                        .push_bind(occurrence.end)
                        .push_bind(occurrence.status)
                        .push_bind(occurrence.capacity)
                        .push_bind(session.club_id)
                        .push_bind(session.sport.clone())
                        .push_bind(city_key.clone())
                        .push_bind(listed);
                });
                insert.build().execute(&mut *conn).await?;
            }
        });
        self.recount_places(session.id).await
    }

    /// Stores a new session and its occurrences.
    pub async fn insert_session(&mut self, plan: &Materialization<'_>) -> StoreResult<()> {
        let s = plan.session;
        on_tx!(&mut *self, |conn| {
            sqlx::query(
                "INSERT INTO sessions (id, club_id, title, sport, description, level, location,
                    timezone, start_local, duration_minutes, rrule, exdates, capacity, status,
                    what_to_bring, coach_name, reminder_hours_before,
                    enrollment_closes_hours_before, sequence, materialized_until, created_at,
                    updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, $19, $20, $21, $22)",
            )
            .bind(s.id)
            .bind(s.club_id)
            .bind(&s.title)
            .bind(&s.sport)
            .bind(&s.description)
            .bind(&s.level)
            .bind(&s.location)
            .bind(&s.timezone)
            .bind(s.start_local)
            .bind(s.duration_minutes)
            .bind(&s.rrule)
            .bind(to_json(&s.exdates))
            .bind(s.capacity)
            .bind(s.status.as_str())
            .bind(&s.what_to_bring)
            .bind(&s.coach_name)
            .bind(s.reminder_hours_before)
            .bind(s.enrollment_closes_hours_before)
            .bind(s.sequence)
            .bind(s.materialized_until)
            .bind(s.created_at)
            .bind(s.updated_at)
            .execute(&mut *conn)
            .await?;
        });
        self.write_occurrences(plan).await
    }

    /// Writes every field of the session, whose `sequence` must be one more than the
    /// stored one (a concurrent change makes this a conflict), and its occurrences.
    pub async fn update_session(&mut self, plan: &Materialization<'_>) -> StoreResult<()> {
        let s = plan.session;
        let changed = on_tx!(&mut *self, |conn| {
            sqlx::query(
                "UPDATE sessions SET title = $2, sport = $3, description = $4, level = $5,
                    location = $6, timezone = $7, start_local = $8, duration_minutes = $9,
                    rrule = $10, exdates = $11, capacity = $12, status = $13, what_to_bring = $14,
                    coach_name = $15, reminder_hours_before = $16,
                    enrollment_closes_hours_before = $17, sequence = $18,
                    materialized_until = $19, updated_at = $20
                 WHERE id = $1 AND sequence = $18 - 1",
            )
            .bind(s.id)
            .bind(&s.title)
            .bind(&s.sport)
            .bind(&s.description)
            .bind(&s.level)
            .bind(&s.location)
            .bind(&s.timezone)
            .bind(s.start_local)
            .bind(s.duration_minutes)
            .bind(&s.rrule)
            .bind(to_json(&s.exdates))
            .bind(s.capacity)
            .bind(s.status.as_str())
            .bind(&s.what_to_bring)
            .bind(&s.coach_name)
            .bind(s.reminder_hours_before)
            .bind(s.enrollment_closes_hours_before)
            .bind(s.sequence)
            .bind(s.materialized_until)
            .bind(s.updated_at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::Conflict(CHANGED_MEANWHILE.into()));
        }
        self.write_occurrences(plan).await
    }

    /// Forgets the overrides of occurrences a changed rule no longer produces.
    pub async fn drop_overrides(
        &mut self,
        session_id: Uuid,
        keys: &[OccurrenceKey],
    ) -> StoreResult<()> {
        for key in keys {
            on_tx!(&mut *self, |conn| {
                sqlx::query(
                    "DELETE FROM occurrence_overrides WHERE session_id = $1 AND occurrence_key = $2",
                )
                .bind(session_id)
                .bind(key.to_string())
                .execute(&mut *conn)
                .await?;
            });
        }
        Ok(())
    }

    /// Saves (or, with `None`, forgets) one override, raises the session's sequence
    /// (a concurrent change makes this a conflict) and rewrites its occurrences.
    pub async fn save_override(
        &mut self,
        plan: &Materialization<'_>,
        key: OccurrenceKey,
        change: Option<&Override>,
    ) -> StoreResult<()> {
        let s = plan.session;
        self.drop_overrides(s.id, &[key]).await?;
        let changed = on_tx!(&mut *self, |conn| {
            if let Some(change) = change {
                sqlx::query(
                    "INSERT INTO occurrence_overrides (session_id, occurrence_key, cancelled,
                        start_at, duration_minutes, capacity, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(s.id)
                .bind(key.to_string())
                .bind(change.cancelled)
                .bind(change.start)
                .bind(change.duration_minutes)
                .bind(change.capacity)
                .bind(s.updated_at)
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query(
                "UPDATE sessions SET sequence = $2, materialized_until = $3, updated_at = $4
                 WHERE id = $1 AND sequence = $2 - 1",
            )
            .bind(s.id)
            .bind(s.sequence)
            .bind(s.materialized_until)
            .bind(s.updated_at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::Conflict(CHANGED_MEANWHILE.into()));
        }
        self.write_occurrences(plan).await
    }
}

impl Store {
    /// Replaces the session's materialised occurrences, unless the session changed since
    /// it was read (then whoever changed it already wrote fresh ones). Returns whether it
    /// wrote.
    pub async fn refresh_occurrences(&self, plan: &Materialization<'_>) -> StoreResult<bool> {
        let s = plan.session;
        let mut tx = self.write().await?;
        let unchanged = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE sessions SET materialized_until = $2 WHERE id = $1 AND sequence = $3",
            )
            .bind(s.id)
            .bind(s.materialized_until)
            .bind(s.sequence)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        });
        if unchanged {
            tx.write_occurrences(plan).await?;
            tx.commit().await?;
        }
        Ok(unchanged)
    }

    pub async fn session(&self, id: Uuid) -> StoreResult<Session> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionRow>(
                "SELECT id, club_id, title, sport, description, level, location, timezone,
                    start_local, duration_minutes, rrule, exdates, capacity, status, what_to_bring,
                    coach_name, reminder_hours_before, enrollment_closes_hours_before, sequence,
                    materialized_until, created_at, updated_at
                 FROM sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A club's published sessions.
    pub async fn published_sessions_of(&self, club_id: Uuid) -> StoreResult<Vec<Session>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionRow>(
                "SELECT id, club_id, title, sport, description, level, location, timezone,
                    start_local, duration_minutes, rrule, exdates, capacity, status, what_to_bring,
                    coach_name, reminder_hours_before, enrollment_closes_hours_before, sequence,
                    materialized_until, created_at, updated_at
                 FROM sessions WHERE club_id = $1 AND status = 'published'
                 ORDER BY created_at, id",
            )
            .bind(club_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Session::try_from).collect()
    }

    /// Every session of a club, drafts and cancelled ones included; cancelled ones last.
    pub async fn sessions_of_club(&self, club_id: Uuid) -> StoreResult<Vec<Session>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionRow>(
                "SELECT id, club_id, title, sport, description, level, location, timezone,
                    start_local, duration_minutes, rrule, exdates, capacity, status, what_to_bring,
                    coach_name, reminder_hours_before, enrollment_closes_hours_before, sequence,
                    materialized_until, created_at, updated_at
                 FROM sessions WHERE club_id = $1
                 ORDER BY CASE status WHEN 'cancelled' THEN 1 ELSE 0 END, title, id",
            )
            .bind(club_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Session::try_from).collect()
    }

    /// Sessions not cancelled whose materialised occurrences stop before `horizon`.
    pub async fn sessions_materialized_before(
        &self,
        horizon: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Uuid>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM sessions
                 WHERE materialized_until < $1 AND status <> 'cancelled'
                 ORDER BY materialized_until LIMIT $2",
            )
            .bind(horizon)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn overrides(&self, session_id: Uuid) -> StoreResult<Vec<Override>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, OverrideRow>(
                "SELECT occurrence_key, cancelled, start_at, duration_minutes, capacity
                 FROM occurrence_overrides WHERE session_id = $1 ORDER BY occurrence_key",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                let key = row
                    .occurrence_key
                    .parse()
                    .map_err(|e: crate::domain::FieldError| {
                        StoreError::Database(sqlx::Error::Decode(e.message.into()))
                    })?;
                Ok(Override {
                    key,
                    cancelled: row.cancelled,
                    start: row.start_at,
                    duration_minutes: row.duration_minutes,
                    capacity: row.capacity,
                })
            })
            .collect()
    }

    /// Published occurrences across clubs, sorted by start, one page at a time. Only the
    /// filters given are written into the SQL, so each can use its own index.
    pub async fn search_occurrences(
        &self,
        search: &OccurrenceSearch,
    ) -> StoreResult<Vec<ListedOccurrence>> {
        let (after_start, after_session, after_key) = search.after.clone().unwrap_or((
            search.from - chrono::Duration::seconds(1),
            Uuid::nil(),
            String::new(),
        ));
        Ok(on_pool!(self, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT o.session_id, o.occurrence_key, o.start_at, o.end_at, o.status,
                    o.capacity, o.taken, o.club_id, c.name AS club_name, c.city, s.title,
                    s.sport, s.timezone, s.location, c.address AS club_address,
                    c.postal_code AS club_postal_code
                 FROM occurrences o
                 JOIN sessions s ON s.id = o.session_id
                 JOIN clubs c ON c.id = o.club_id
                 WHERE o.listed AND o.start_at >= ",
            );
            // Start the index walk at the cursor, not at the window's start, so a deep
            // page costs what the first one does.
            query
                .push_bind(after_start.max(search.from))
                .push(" AND o.start_at < ")
                .push_bind(search.to)
                .push(" AND (o.start_at, o.session_id, o.occurrence_key) > (")
                .push_bind(after_start)
                .push(", ")
                .push_bind(after_session)
                .push(", ")
                .push_bind(after_key.clone())
                .push(")");
            if let Some(sport) = &search.sport {
                query.push(" AND o.sport = ").push_bind(search_key(sport));
            }
            if let Some(city) = &search.city {
                query.push(" AND o.city_key = ").push_bind(search_key(city));
            }
            if let Some(club_id) = search.club_id {
                query.push(" AND o.club_id = ").push_bind(club_id);
            }
            if search.with_places {
                query.push(" AND o.status <> 'cancelled' AND o.capacity > o.taken");
            }
            query
                .push(" ORDER BY o.start_at, o.session_id, o.occurrence_key LIMIT ")
                .push_bind(search.limit);
            // Not prepared: PostgreSQL would move to a generic plan after five runs and
            // read the whole window instead of the index in order.
            query
                .build_query_as::<ListedOccurrence>()
                .persistent(false)
                .fetch_all(pool)
                .await?
        }))
    }
}
