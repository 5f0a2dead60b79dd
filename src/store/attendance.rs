//! Attendance sheets: one per occurrence, replaced whole by each submission, with the
//! first encounters and the absence alerts they imply written in the same transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::stats::id_key;
use super::{on_pool, on_tx, Store, StoreError, StoreResult, Tx};
use crate::domain::attendance::{Line, Mark};
use crate::domain::daily::{self, DayCounts, DayKey};
use crate::domain::places::EnrollmentStatus;
use crate::domain::presence;
use crate::domain::schedule::OccurrenceKey;

/// An enrollment of the session, with what a sheet keeps of its participant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub participant_id: Uuid,
    pub code: String,
    pub enrollment_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: EnrollmentStatus,
    /// The enrollment covers the occurrence being recorded.
    pub covers: bool,
    pub structure_id: Uuid,
    pub situation: String,
}

/// A sheet to record, with everything the figures group by.
#[derive(Debug, Clone)]
pub struct SheetRecord {
    pub session_id: Uuid,
    pub key: OccurrenceKey,
    pub club_id: Uuid,
    pub sport: String,
    pub start_at: DateTime<Utc>,
    /// `YYYY-MM-DD` in the session's time zone.
    pub local_date: String,
    pub lines: Vec<Line>,
    /// The participant's structure and situation as they are now, by participant.
    pub people: HashMap<Uuid, (Uuid, String)>,
    pub walk_ins: BTreeMap<String, i32>,
    pub recorded_by: Uuid,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Changed,
    /// The same attendance was already recorded: nothing was written.
    Unchanged,
}

/// What was recorded for an occurrence.
#[derive(Debug, Clone)]
pub struct RecordedSheet {
    pub recorded_at: DateTime<Utc>,
    pub marks: HashMap<Uuid, Mark>,
    pub walk_ins: Vec<(String, i32)>,
}

/// One line of a participant's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub start_at: DateTime<Utc>,
    pub timezone: String,
    pub session_title: String,
    pub sport: String,
    pub club_id: Uuid,
    pub club_name: String,
    #[sqlx(try_from = "String")]
    pub status: Mark,
    pub recorded_at: DateTime<Utc>,
}

/// One of a participant's latest records, as a run of absences reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreakRow {
    pub session_id: Uuid,
    pub occurrence_key: String,
    pub enrollment_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub status: Mark,
    pub start_at: DateTime<Utc>,
    pub alerted: bool,
}

/// An absence alert to queue for a participant's social worker.
#[derive(Debug, Clone)]
pub struct AbsenceAlert<'a> {
    pub participant_id: Uuid,
    pub session_id: Uuid,
    /// The occurrence whose sheet raised it.
    pub key: &'a str,
    pub enrollment_id: Uuid,
    pub first_occurrence_key: &'a str,
    /// Starts of the missed occurrences, oldest first (RFC 3339).
    pub missed: Vec<String>,
}

/// Recent records read to find a run of absences; a longer run holds an alerted one.
const STREAK_LOOKBACK: i64 = 20;

/// Counts sheets' records: present, holding a place, holding it and present.
macro_rules! recount_sheets_sql {
    ($filter:literal) => {
        concat!(
            "UPDATE attendance_sheets SET
                present = (SELECT COUNT(*) FROM attendance a
                    WHERE a.session_id = attendance_sheets.session_id
                      AND a.occurrence_key = attendance_sheets.occurrence_key
                      AND a.status = 'present'),
                held = (SELECT COUNT(*) FROM attendance a
                    WHERE a.session_id = attendance_sheets.session_id
                      AND a.occurrence_key = attendance_sheets.occurrence_key
                      AND a.held_place),
                held_present = (SELECT COUNT(*) FROM attendance a
                    WHERE a.session_id = attendance_sheets.session_id
                      AND a.occurrence_key = attendance_sheets.occurrence_key
                      AND a.held_place AND a.status = 'present')",
            $filter
        )
    };
}

const RECOUNT_SHEET: &str = recount_sheets_sql!(" WHERE session_id = $1 AND occurrence_key = $2");
const RECOUNT_ALL_SHEETS: &str = recount_sheets_sql!("");

impl Tx {
    /// Finds again a participant's first encounter: their earliest present record.
    async fn rebuild_first_encounter(&mut self, participant_id: Uuid) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query("DELETE FROM first_encounters WHERE participant_id = $1")
                .bind(participant_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO first_encounters (participant_id, session_id, occurrence_key,
                    club_id, sport, local_date, structure_id, situation)
                 SELECT participant_id, session_id, occurrence_key, club_id, sport,
                    local_date, structure_id, situation
                 FROM attendance WHERE participant_id = $1 AND status = 'present'
                 ORDER BY start_at, session_id LIMIT 1",
            )
            .bind(participant_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// The marks recorded for an occurrence, read under the session's lock.
    pub async fn recorded_marks(
        &mut self,
        session_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<HashMap<Uuid, Mark>> {
        let rows: Vec<(Uuid, String)> = on_tx!(self, |conn| {
            sqlx::query_as(
                "SELECT participant_id, status FROM attendance
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_all(&mut *conn)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(id, mark)| Some((id, Mark::parse(&mark)?)))
            .collect())
    }

    /// A participant's latest records, newest first (enough to find a run of absences).
    pub async fn recent_records(&mut self, participant_id: Uuid) -> StoreResult<Vec<StreakRow>> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_as::<_, StreakRow>(
                "SELECT session_id, occurrence_key, enrollment_id, status, start_at, alerted
                 FROM attendance WHERE participant_id = $1
                 ORDER BY start_at DESC, session_id DESC LIMIT $2",
            )
            .bind(participant_id)
            .bind(STREAK_LOOKBACK)
            .fetch_all(&mut *conn)
            .await?
        }))
    }

    /// Queues the absence alert for the social worker (once per run: its key is the
    /// run's latest occurrence).
    pub async fn enqueue_absence_alert(
        &mut self,
        alert: &AbsenceAlert<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO outbox (id, dedupe_key, kind, audience, enrollment_id,
                    participant_id, occurrence_key, detail, status, available_at,
                    attempts, created_at, updated_at)
                 VALUES ($1, $2, 'absence_alert', 'referrer', $3, $4, $5, $6, 'pending',
                    $7, 0, $7, $7)
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(Uuid::new_v4())
            .bind(format!(
                "absence_alert:{}:{}:{}",
                alert.participant_id.simple(),
                alert.session_id.simple(),
                alert.key,
            ))
            .bind(alert.enrollment_id)
            .bind(alert.participant_id)
            .bind(alert.first_occurrence_key)
            .bind(alert.missed.join(","))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Marks a record as part of a run already alerted.
    pub async fn mark_alerted(
        &mut self,
        session_id: Uuid,
        occurrence_key: &str,
        participant_id: Uuid,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE attendance SET alerted = TRUE
                 WHERE session_id = $1 AND occurrence_key = $2 AND participant_id = $3",
            )
            .bind(session_id)
            .bind(occurrence_key)
            .bind(participant_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Rebuilds one participant's presence masks for one year from their records.
    async fn rebuild_presence(&mut self, participant_id: Uuid, year: i32) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query("DELETE FROM presence WHERE participant_id = $1 AND year = $2")
                .bind(participant_id)
                .bind(year)
                .execute(&mut *conn)
                .await?;
            let present = sqlx::query_as::<_, (String, Uuid, String, Uuid, String)>(
                "SELECT local_date, club_id, sport, structure_id, situation FROM attendance
                 WHERE participant_id = $1 AND status = 'present'
                   AND local_date >= $2 AND local_date <= $3",
            )
            .bind(participant_id)
            .bind(format!("{year:04}-01-01"))
            .bind(format!("{year:04}-12-31"))
            .fetch_all(&mut *conn)
            .await?;
            let masks = presence::masks(present.into_iter().filter_map(
                |(date, club_id, sport, structure_id, situation)| {
                    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
                    Some(((club_id, sport, structure_id, situation), date))
                },
            ));
            for ((club_id, sport, structure_id, situation), days) in masks {
                sqlx::query(
                    "INSERT INTO presence (participant_id, year, club_id, sport, structure_id,
                        situation, days)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(participant_id)
                .bind(year)
                .bind(club_id)
                .bind(sport)
                .bind(structure_id)
                .bind(situation)
                .bind(days)
                .execute(&mut *conn)
                .await?;
            }
        });
        Ok(())
    }
}

impl Store {
    /// Every enrollment of the session whose participant was not erased, oldest first.
    pub async fn attendance_candidates(
        &self,
        session_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<Vec<Candidate>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, Candidate>(
                "SELECT p.id AS participant_id, p.code, e.id AS enrollment_id, e.status,
                    ((e.scope = 'series' AND e.from_key <= $2)
                        OR (e.scope = 'occurrence' AND e.occurrence_key = $2)) AS covers,
                    p.structure_id, p.situation
                 FROM enrollments e JOIN participants p ON p.id = e.participant_id
                 WHERE e.session_id = $1 AND p.erased_at IS NULL
                 ORDER BY e.created_at, e.id",
            )
            .bind(session_id)
            .bind(key.to_string())
            .fetch_all(pool)
            .await?
        }))
    }

    /// What was recorded for an occurrence, if anything.
    pub async fn recorded_sheet(
        &self,
        session_id: Uuid,
        key: OccurrenceKey,
    ) -> StoreResult<Option<RecordedSheet>> {
        let key = key.to_string();
        on_pool!(self, |pool| {
            let Some(recorded_at) = sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT recorded_at FROM attendance_sheets
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(session_id)
            .bind(&key)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let marks = sqlx::query_as::<_, (Uuid, String)>(
                "SELECT participant_id, status FROM attendance
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(session_id)
            .bind(&key)
            .fetch_all(pool)
            .await?;
            let walk_ins = sqlx::query_as::<_, (String, i32)>(
                "SELECT situation, count FROM walk_ins
                 WHERE session_id = $1 AND occurrence_key = $2 ORDER BY situation",
            )
            .bind(session_id)
            .bind(&key)
            .fetch_all(pool)
            .await?;
            Ok(Some(RecordedSheet {
                recorded_at,
                marks: marks
                    .into_iter()
                    .filter_map(|(id, mark)| Some((id, Mark::parse(&mark)?)))
                    .collect(),
                walk_ins,
            }))
        })
    }
}

impl Tx {
    /// Replaces the attendance of an occurrence, unless it is exactly what is recorded,
    /// with the sheet's counts, presence masks and first encounters.
    pub async fn write_sheet(&mut self, sheet: &SheetRecord) -> StoreResult<Recorded> {
        let is_postgres = self.is_postgres();
        let key = sheet.key.to_string();
        let mut lines = sheet.lines.clone();
        lines.sort_by_key(|l| l.participant_id);
        let facts_before = self.occurrence_facts(sheet.session_id, &key).await?;
        let (touched, years) = on_tx!(&mut *self, |tx| {
            let recorded_on = sqlx::query_scalar::<_, String>(
                "SELECT local_date FROM attendance_sheets
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(sheet.session_id)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            let recorded = recorded_on.is_some();
            // The lines of erased participants are history nobody can resubmit: they
            // stay as recorded, so a correction never moves a published figure.
            let earlier = sqlx::query_as::<_, (Uuid, Option<Uuid>, String, bool, bool)>(
                "SELECT participant_id, enrollment_id, status, held_place, alerted FROM attendance
                 WHERE session_id = $1 AND occurrence_key = $2
                   AND participant_id IN (SELECT id FROM participants WHERE erased_at IS NULL)",
            )
            .bind(sheet.session_id)
            .bind(&key)
            .fetch_all(&mut *tx)
            .await?;
            let earlier_walk_ins: BTreeMap<String, i32> = sqlx::query_as::<_, (String, i32)>(
                "SELECT situation, count FROM walk_ins WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(sheet.session_id)
            .bind(&key)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut earlier_lines: Vec<Line> = earlier
                .iter()
                .filter_map(|(participant_id, enrollment_id, status, held_place, _)| {
                    Some(Line {
                        participant_id: *participant_id,
                        enrollment_id: (*enrollment_id)?,
                        mark: Mark::parse(status)?,
                        held_place: *held_place,
                    })
                })
                .collect();
            earlier_lines.sort_by_key(|l| l.participant_id);
            if recorded
                && earlier_lines.len() == earlier.len()
                && earlier_lines == lines
                && earlier_walk_ins == sheet.walk_ins
            {
                return Ok(Recorded::Unchanged);
            }
            let touched: BTreeSet<Uuid> = earlier
                .iter()
                .map(|(id, ..)| *id)
                .chain(lines.iter().map(|l| l.participant_id))
                .collect();
            // Sheets of other sessions may name the same people at the same moment: their
            // first encounters and runs of absences are decided one sheet at a time.
            // NO KEY UPDATE: the foreign-key checks of other writers (outbox rows naming
            // these people) take KEY SHARE and must not wait on it, or deadlock with it.
            if is_postgres {
                for participant_id in &touched {
                    sqlx::query("SELECT id FROM participants WHERE id = $1 FOR NO KEY UPDATE")
                        .bind(participant_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let already_alerted: BTreeSet<Uuid> = earlier
                .iter()
                .filter(|(.., status, _, alerted)| *alerted && status == "absent")
                .map(|(id, ..)| *id)
                .collect();
            for delete in [
                "DELETE FROM attendance WHERE session_id = $1 AND occurrence_key = $2
                   AND participant_id IN (SELECT id FROM participants WHERE erased_at IS NULL)",
                "DELETE FROM walk_ins WHERE session_id = $1 AND occurrence_key = $2",
            ] {
                sqlx::query(delete)
                    .bind(sheet.session_id)
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
            }
            let walk_in_total: i32 = sheet.walk_ins.values().sum();
            sqlx::query(
                "INSERT INTO attendance_sheets (session_id, occurrence_key, club_id, sport,
                    start_at, local_date, walk_ins, recorded_by, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (session_id, occurrence_key) DO UPDATE SET
                    start_at = excluded.start_at, local_date = excluded.local_date,
                    walk_ins = excluded.walk_ins, recorded_by = excluded.recorded_by,
                    recorded_at = excluded.recorded_at",
            )
            .bind(sheet.session_id)
            .bind(&key)
            .bind(sheet.club_id)
            .bind(&sheet.sport)
            .bind(sheet.start_at)
            .bind(&sheet.local_date)
            .bind(walk_in_total)
            .bind(sheet.recorded_by)
            .bind(sheet.now)
            .execute(&mut *tx)
            .await?;
            for line in &lines {
                let Some((structure_id, situation)) = sheet.people.get(&line.participant_id) else {
                    continue;
                };
                sqlx::query(
                    "INSERT INTO attendance (session_id, occurrence_key, participant_id,
                        enrollment_id, status, held_place, club_id, sport, start_at, local_date,
                        structure_id, situation, alerted)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(sheet.session_id)
                .bind(&key)
                .bind(line.participant_id)
                .bind(line.enrollment_id)
                .bind(line.mark.as_str())
                .bind(line.held_place)
                .bind(sheet.club_id)
                .bind(&sheet.sport)
                .bind(sheet.start_at)
                .bind(&sheet.local_date)
                .bind(*structure_id)
                .bind(situation)
                .bind(line.mark == Mark::Absent && already_alerted.contains(&line.participant_id))
                .execute(&mut *tx)
                .await?;
            }
            for (situation, count) in &sheet.walk_ins {
                sqlx::query(
                    "INSERT INTO walk_ins (session_id, occurrence_key, situation, count, club_id,
                        sport, local_date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(sheet.session_id)
                .bind(&key)
                .bind(situation)
                .bind(*count)
                .bind(sheet.club_id)
                .bind(&sheet.sport)
                .bind(&sheet.local_date)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(RECOUNT_SHEET)
                .bind(sheet.session_id)
                .bind(&key)
                .execute(&mut *tx)
                .await?;
            let years: BTreeSet<i32> = [Some(sheet.local_date.as_str()), recorded_on.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(|date| date.get(..4)?.parse().ok())
                .collect();
            (touched, years)
        });
        let facts_after = self.occurrence_facts(sheet.session_id, &key).await?;
        self.add_daily_figures(&daily::change(&facts_before, &facts_after))
            .await?;
        for participant_id in &touched {
            for year in &years {
                self.rebuild_presence(*participant_id, *year).await?;
            }
        }
        for participant_id in touched {
            self.rebuild_first_encounter(participant_id).await?;
        }
        Ok(Recorded::Changed)
    }
}

impl Tx {
    /// One occurrence's records and walk-ins as the daily figures count them.
    async fn occurrence_facts(
        &mut self,
        session_id: Uuid,
        key: &str,
    ) -> StoreResult<Vec<daily::Fact>> {
        let is_postgres = self.is_postgres();
        let (records, walk_ins) = on_tx!(self, |tx| {
            let records: Vec<(String, Uuid, String, String, bool)> = sqlx::query_as(
                "SELECT local_date, structure_id, situation, status, held_place FROM attendance
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(session_id)
            .bind(key)
            .fetch_all(&mut *tx)
            .await?;
            let walk_ins: Vec<(String, String, i32)> = sqlx::query_as(
                "SELECT local_date, situation, count FROM walk_ins
                 WHERE session_id = $1 AND occurrence_key = $2",
            )
            .bind(session_id)
            .bind(key)
            .fetch_all(&mut *tx)
            .await?;
            (records, walk_ins)
        });
        let records = records.into_iter().map(
            |(local_date, structure_id, situation, status, held_place)| daily::Fact::Record {
                local_date,
                structure: id_key(structure_id, is_postgres),
                situation,
                present: status == Mark::Present.as_str(),
                held_place,
            },
        );
        let walk_ins =
            walk_ins
                .into_iter()
                .map(|(local_date, situation, count)| daily::Fact::WalkIns {
                    local_date,
                    situation,
                    count: count.into(),
                });
        Ok(records.chain(walk_ins).collect())
    }

    /// Adds an occurrence's change to the daily figures, in key order.
    async fn add_daily_figures(&mut self, change: &[(DayKey, DayCounts)]) -> StoreResult<()> {
        if change.is_empty() {
            return Ok(());
        }
        on_tx!(self, |tx| {
            let mut upsert = sqlx::QueryBuilder::new(
                "INSERT INTO daily_figures (structure, situation, local_date, records, present,
                    held, held_present, walk_ins, occurrences) ",
            );
            upsert.push_values(change, |mut row, ((structure, situation, date), c)| {
                row.push_bind(structure.clone())
                    .push_bind(situation.clone())
                    .push_bind(date.clone())
                    .push_bind(c.records)
                    .push_bind(c.present)
                    .push_bind(c.held)
                    .push_bind(c.held_present)
                    .push_bind(c.walk_ins)
                    .push_bind(c.occurrences);
            });
            upsert.push(
                " ON CONFLICT (structure, situation, local_date) DO UPDATE SET
                    records = daily_figures.records + excluded.records,
                    present = daily_figures.present + excluded.present,
                    held = daily_figures.held + excluded.held,
                    held_present = daily_figures.held_present + excluded.held_present,
                    walk_ins = daily_figures.walk_ins + excluded.walk_ins,
                    occurrences = daily_figures.occurrences + excluded.occurrences",
            );
            upsert.build().execute(&mut *tx).await?;
            // Only a key the occurrence left can be left with nothing.
            for ((structure, situation, date), _) in
                change.iter().filter(|(_, c)| c.occurrences < 0)
            {
                sqlx::query(
                    "DELETE FROM daily_figures
                     WHERE structure = $1 AND situation = $2 AND local_date = $3
                       AND occurrences = 0",
                )
                .bind(structure)
                .bind(situation)
                .bind(date)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }
}

/// The statement that fills `daily_figures` from the records: the backfill of the
/// migration that made the table, so a rebuild and an upgrade compute them one way.
fn daily_figures_backfill(is_postgres: bool) -> StoreResult<&'static str> {
    let migration = if is_postgres {
        include_str!("../../migrations/postgres/0008_daily_figures.sql")
    } else {
        include_str!("../../migrations/sqlite/0008_daily_figures.sql")
    };
    migration
        .split_once("-- backfill\n")
        .map(|(_, statement)| statement)
        .ok_or_else(|| {
            StoreError::Database(sqlx::Error::Protocol(
                "migration 0008 has no backfill statement".into(),
            ))
        })
}

impl Store {
    /// A participant's recorded attendance, newest first.
    pub async fn attendance_history(&self, participant_id: Uuid) -> StoreResult<Vec<HistoryRow>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, HistoryRow>(
                "SELECT a.session_id, a.occurrence_key, a.start_at, s.timezone,
                    s.title AS session_title, a.sport, a.club_id, c.name AS club_name, a.status,
                    sh.recorded_at
                 FROM attendance a
                 JOIN attendance_sheets sh
                   ON sh.session_id = a.session_id AND sh.occurrence_key = a.occurrence_key
                 JOIN sessions s ON s.id = a.session_id
                 JOIN clubs c ON c.id = a.club_id
                 WHERE a.participant_id = $1
                 ORDER BY a.start_at DESC, a.session_id DESC",
            )
            .bind(participant_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Recomputes what is derived from the records — the sheets' counts, the presence
    /// masks, the first encounters — after records were written in bulk outside the
    /// API (history carried over from elsewhere, a benchmark's seeding).
    pub async fn rebuild_attendance_rollups(&self) -> StoreResult<()> {
        let present: Vec<(Uuid, String, Uuid, String, Uuid, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT participant_id, local_date, club_id, sport, structure_id, situation
                 FROM attendance WHERE status = 'present'",
            )
            .fetch_all(pool)
            .await?
        });
        let masks = presence::masks(present.into_iter().filter_map(
            |(participant_id, date, club_id, sport, structure_id, situation)| {
                let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
                let key = (
                    participant_id,
                    date.year(),
                    club_id,
                    sport,
                    structure_id,
                    situation,
                );
                Some((key, date))
            },
        ));
        let is_postgres = self.is_postgres();
        let mut tx = self.write().await?;
        on_tx!(&mut tx, |tx| {
            sqlx::query(RECOUNT_ALL_SHEETS).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM presence")
                .execute(&mut *tx)
                .await?;
            for ((participant_id, year, club_id, sport, structure_id, situation), days) in masks {
                sqlx::query(
                    "INSERT INTO presence (participant_id, year, club_id, sport, structure_id,
                        situation, days)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(participant_id)
                .bind(year)
                .bind(club_id)
                .bind(sport)
                .bind(structure_id)
                .bind(situation)
                .bind(days)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM daily_figures")
                .execute(&mut *tx)
                .await?;
            sqlx::query(AssertSqlSafe(daily_figures_backfill(is_postgres)?))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM first_encounters")
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO first_encounters (participant_id, session_id, occurrence_key,
                    club_id, sport, local_date, structure_id, situation)
                 SELECT participant_id, session_id, occurrence_key, club_id, sport, local_date,
                    structure_id, situation
                 FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY participant_id
                                                     ORDER BY start_at, session_id) AS n
                       FROM attendance a WHERE status = 'present') ranked
                 WHERE n = 1",
            )
            .execute(&mut *tx)
            .await?;
        });
        tx.commit().await
    }
}
