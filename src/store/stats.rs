//! The impact figures, computed from the attendance tables. Every row carries what the
//! figures group by (club, sport, local date, structure and situation as recorded), so
//! no figure needs a join and none moves when a participant is edited or erased.
//!
//! Sums come from one aggregate query per figure, grouped by the requested dimension:
//! over the sheets (one row per occurrence, with its counts) when the grouping is an
//! occurrence's (club, sport, month) and the scope allows; over the daily figures (one
//! row per day, structure and situation: `domain::daily`) for groupings by structure
//! or situation and for a structure's view by month; else over the records of the
//! scope (a structure's view by club or sport in one pass, a club's view by structure
//! or situation).
//! Distinct participants come from the presence masks (one row per participant, year
//! and group, a bit per day), counted in memory: a year of a thousand clubs is a few
//! tens of thousands of rows, not every record.
//!
//! The statements are assembled from the fixed fragments below, chosen by enums; no
//! caller text ever reaches them (dates and ids are bound), hence `AssertSqlSafe`.

use std::collections::{BTreeMap, HashMap};

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite};
use uuid::Uuid;

use super::{on_pool, Store, StoreResult};
use chrono::Datelike;

use crate::domain::daily;
use crate::domain::presence::{self, Presence};
use crate::domain::stats::{Figures, GroupBy, Period};

/// Whose figures: everything (admin), one club's occurrences, or one structure's
/// participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsScope {
    All,
    Club(Uuid),
    Structure(Uuid),
}

/// The tables figures are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Attendance,
    WalkIns,
    Sheets,
    Firsts,
    Presence,
}

/// The key of walk-ins in a grouping by structure: they belong to none.
pub const WALK_IN_STRUCTURE: &str = daily::WALK_IN;

/// An id as the group keys of this backend spell it in SQL (see [`group_key`]).
pub(crate) fn id_key(id: Uuid, is_postgres: bool) -> String {
    if is_postgres {
        id.hyphenated().to_string()
    } else {
        id.simple().to_string()
    }
}

/// Which rows of `daily_figures` serve a grouping in a scope, as (condition, group
/// key); `None` when they cannot (a club's or sport's groups, a club's view), or need
/// not (months over everything: the sheets are fewer). `$3` is the structure's key.
fn daily_rows(by: Option<GroupBy>, scope: StatsScope) -> Option<(&'static str, &'static str)> {
    let month = "substr(local_date, 1, 7)";
    match (scope, by) {
        (StatsScope::All, Some(GroupBy::Situation)) => Some((
            "$3 IS NULL AND structure = '*' AND situation <> '*'",
            "situation",
        )),
        (StatsScope::All, Some(GroupBy::Structure)) => Some((
            "$3 IS NULL AND situation = '*' AND structure <> '*'",
            "structure",
        )),
        (StatsScope::Structure(_), Some(GroupBy::Situation)) => {
            Some(("structure = $3 AND situation <> '*'", "situation"))
        }
        (StatsScope::Structure(_), Some(GroupBy::Structure)) => {
            Some(("structure = $3 AND situation = '*'", "structure"))
        }
        (StatsScope::Structure(_), Some(GroupBy::Month)) => {
            Some(("structure = $3 AND situation = '*'", month))
        }
        (StatsScope::Structure(_), None) => Some(("structure = $3 AND situation = '*'", "'total'")),
        _ => None,
    }
}

/// The SQL for the group key of `table`'s rows, as text.
fn group_key(by: Option<GroupBy>, table: Table, is_postgres: bool) -> String {
    let id_text = |column: &str| {
        if is_postgres {
            format!("CAST({column} AS TEXT)")
        } else {
            format!("lower(hex({column}))")
        }
    };
    match by {
        None => "'total'".to_owned(),
        Some(GroupBy::Club) => id_text("club_id"),
        Some(GroupBy::Sport) => "sport".to_owned(),
        Some(GroupBy::Month) => "substr(local_date, 1, 7)".to_owned(),
        Some(GroupBy::Situation) => "situation".to_owned(),
        Some(GroupBy::Structure) => match table {
            Table::WalkIns => format!("'{WALK_IN_STRUCTURE}'"),
            _ => id_text("structure_id"),
        },
    }
}

/// What `table`'s rows are grouped by in SQL: the raw id column for clubs and
/// structures (read from the index as it is; its text is made once per group, not per
/// row), else the key itself.
fn group_column(by: Option<GroupBy>, table: Table) -> &'static str {
    match (by, table) {
        (Some(GroupBy::Club), _) => "club_id",
        (Some(GroupBy::Structure), Table::WalkIns) => "1",
        (Some(GroupBy::Structure), _) => "structure_id",
        _ => "1",
    }
}

/// The scope as a condition on `table`'s rows; `None`: the table is out of scope.
fn scope_filter(scope: StatsScope, table: Table) -> Option<&'static str> {
    match (scope, table) {
        (StatsScope::All, _) => Some("$3 IS NULL"),
        (StatsScope::Club(_), _) => Some("club_id = $3"),
        (StatsScope::Structure(_), Table::Attendance | Table::Firsts | Table::Presence) => {
            Some("structure_id = $3")
        }
        (StatsScope::Structure(_), Table::WalkIns | Table::Sheets) => None,
    }
}

fn scope_id(scope: StatsScope) -> Option<Uuid> {
    match scope {
        StatsScope::All => None,
        StatsScope::Club(id) | StatsScope::Structure(id) => Some(id),
    }
}

/// A structure's view by club or sport, in one pass over its records (the index holds
/// them all): per occurrence its sums, then per group those sums and how many
/// occurrences. Walk-ins and sheets are out of a structure's scope.
fn structure_records_sql(by: GroupBy, is_postgres: bool) -> Option<String> {
    let (column, key) = match by {
        GroupBy::Club if is_postgres => ("club_id", "CAST(g AS TEXT)"),
        GroupBy::Club => ("club_id", "lower(hex(g))"),
        GroupBy::Sport => ("sport", "g"),
        _ => return None,
    };
    Some(format!(
        "SELECT {key}, CAST(SUM(present) AS BIGINT), CAST(SUM(held) AS BIGINT),
            CAST(SUM(held_present) AS BIGINT), COUNT(*)
         FROM (SELECT {column} AS g,
                 SUM(CASE WHEN status = 'present' THEN 1 ELSE 0 END) AS present,
                 SUM(CASE WHEN held_place THEN 1 ELSE 0 END) AS held,
                 SUM(CASE WHEN held_place AND status = 'present' THEN 1 ELSE 0 END)
                     AS held_present
               FROM attendance
               WHERE local_date >= $1 AND local_date <= $2 AND structure_id = $3
               GROUP BY {column}, session_id, occurrence_key) per_occurrence
         GROUP BY g"
    ))
}

/// Whether the sheets (one row per occurrence) carry the grouping in this scope.
fn sheets_serve(by: Option<GroupBy>, scope: StatsScope) -> bool {
    !matches!(by, Some(GroupBy::Situation | GroupBy::Structure))
        && scope_filter(scope, Table::Sheets).is_some()
}

/// Per group: records of participants present, places held, places held and used, and
/// the occurrences held when the sheets serve (one pass over them), else NULL.
fn places_sql(by: Option<GroupBy>, scope: StatsScope, is_postgres: bool) -> Option<String> {
    if sheets_serve(by, scope) {
        let sums = "CAST(SUM(present) AS BIGINT), CAST(SUM(held) AS BIGINT),
            CAST(SUM(held_present) AS BIGINT), COUNT(*)";
        return sum_sql(Table::Sheets, sums, by, scope, is_postgres);
    }
    let sums = "CAST(SUM(CASE WHEN status = 'present' THEN 1 ELSE 0 END) AS BIGINT),
        CAST(SUM(CASE WHEN held_place THEN 1 ELSE 0 END) AS BIGINT),
        CAST(SUM(CASE WHEN held_place AND status = 'present' THEN 1 ELSE 0 END) AS BIGINT),
        CAST(NULL AS BIGINT)";
    sum_sql(Table::Attendance, sums, by, scope, is_postgres)
}

/// Participants' presence masks over the years of the period, with the group: the raw
/// id for clubs and structures (see [`Store::distinct_present`]), else its text.
fn presence_sql(by: GroupBy, scope: StatsScope) -> String {
    let key = match by {
        GroupBy::Month => "''",
        GroupBy::Club => "club_id",
        GroupBy::Structure => "structure_id",
        GroupBy::Sport => "sport",
        GroupBy::Situation => "situation",
    };
    let filter = scope_filter(scope, Table::Presence).unwrap_or("1 = 0");
    format!(
        "SELECT {key}, participant_id, year, days FROM presence
         WHERE year >= $1 AND year <= $2 AND {filter}"
    )
}

fn sum_sql(
    table: Table,
    column: &str,
    by: Option<GroupBy>,
    scope: StatsScope,
    is_postgres: bool,
) -> Option<String> {
    let name = match table {
        Table::WalkIns => "walk_ins",
        Table::Sheets => "attendance_sheets",
        Table::Firsts => "first_encounters",
        Table::Attendance => "attendance",
        Table::Presence => "presence",
    };
    let filter = scope_filter(scope, table)?;
    let key = group_key(by, table, is_postgres);
    let grouped = group_column(by, table);
    Some(format!(
        "SELECT {key}, {column} FROM {name}
         WHERE local_date >= $1 AND local_date <= $2 AND {filter}
         GROUP BY {grouped}"
    ))
}

/// Occurrences held per group. A grouping the sheets carry counts every recorded
/// occurrence; otherwise (and for a structure's view) the occurrences where the group
/// has a record or a walk-in.
fn held_sql(by: Option<GroupBy>, scope: StatsScope, is_postgres: bool) -> String {
    if sheets_serve(by, scope) {
        if let Some(sql) = sum_sql(Table::Sheets, "COUNT(*)", by, scope, is_postgres) {
            return sql;
        }
    }
    let part = |table: Table, name: &str| {
        scope_filter(scope, table).map(|filter| {
            format!(
                "SELECT DISTINCT {} AS g, session_id, occurrence_key FROM {name}
                 WHERE local_date >= $1 AND local_date <= $2 AND {filter}",
                group_key(by, table, is_postgres)
            )
        })
    };
    let parts: Vec<String> = [
        part(Table::Attendance, "attendance"),
        part(Table::WalkIns, "walk_ins"),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "SELECT g, COUNT(*) FROM ({}) held GROUP BY g",
        parts.join(" UNION ")
    )
}

/// Group keys as the API shows them: identifiers hyphenated whatever the backend.
fn normal_key(by: Option<GroupBy>, raw: String) -> String {
    match by {
        Some(GroupBy::Club | GroupBy::Structure) => Uuid::parse_str(&raw)
            .map(|id| id.to_string())
            .unwrap_or(raw),
        _ => raw,
    }
}

/// The period's first and last days as the tables store them.
fn days_of(period: Period) -> (String, String) {
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    (day(period.from), day(period.to))
}

fn group<'a>(groups: &'a mut BTreeMap<String, Figures>, key: &str) -> &'a mut Figures {
    groups.entry(key.to_owned()).or_insert_with(|| Figures {
        key: key.to_owned(),
        ..Figures::default()
    })
}

impl Store {
    /// The figures of every group over `period`, and of the whole (its key `total`).
    pub async fn encounter_figures(
        &self,
        period: Period,
        by: GroupBy,
        scope: StatsScope,
    ) -> StoreResult<(Vec<Figures>, Figures)> {
        // Independent reads, each on its own connection: a request waits for the
        // slowest of them rather than for their sum.
        let ((unique, unique_total), mut groups, held_total) = tokio::try_join!(
            self.distinct_present(period, by, scope),
            self.sums(period, Some(by), scope),
            self.occurrences_held_in_total(period, by, scope),
        )?;
        for (key, count) in unique {
            group(&mut groups, &key).unique_participants = count;
        }
        // Records, walk-ins and first encounters each fall in one group: the whole is
        // their sum. An occurrence holds several situations and structures, so its
        // count is taken again for those groupings.
        let mut total = Figures {
            key: "total".into(),
            unique_participants: unique_total,
            ..Figures::default()
        };
        for g in groups.values() {
            total.participant_encounters += g.participant_encounters;
            total.walk_ins += g.walk_ins;
            total.occurrences_held += g.occurrences_held;
            total.confirmed_places += g.confirmed_places;
            total.attended_places += g.attended_places;
            total.first_encounters += g.first_encounters;
        }
        if let Some(held) = held_total {
            total.occurrences_held = held;
        }
        let groups = groups
            .into_values()
            .map(|mut g| {
                g.key = normal_key(Some(by), std::mem::take(&mut g.key));
                g
            })
            .collect();
        Ok((groups, total))
    }

    /// Occurrences held in total, for groupings where an occurrence counts in several
    /// groups (situations, structures); `None` for the others, whose groups add up.
    async fn occurrences_held_in_total(
        &self,
        period: Period,
        by: GroupBy,
        scope: StatsScope,
    ) -> StoreResult<Option<i64>> {
        if !matches!(by, GroupBy::Situation | GroupBy::Structure) {
            return Ok(None);
        }
        Ok(Some(match self.daily(period, None, scope).await? {
            Some(days) => days.values().map(|g| g.occurrences_held).sum(),
            None => self
                .counts(
                    Some(held_sql(None, scope, self.is_postgres())),
                    period,
                    scope,
                )
                .await?
                .into_iter()
                .map(|(_, n)| n)
                .sum(),
        }))
    }

    async fn distinct_present(
        &self,
        period: Period,
        by: GroupBy,
        scope: StatsScope,
    ) -> StoreResult<(HashMap<String, i64>, i64)> {
        let sql = Some(presence_sql(by, scope));
        let pg = self.is_postgres();
        let (first, last) = (period.from.year(), period.to.year());
        let presence = |(group, participant_id, year, days)| Presence {
            group,
            participant_id,
            year,
            days,
        };
        // An id is read as itself (no text made by the database for every row).
        let rows: Vec<Presence> = if matches!(by, GroupBy::Club | GroupBy::Structure) {
            self.rows::<(Uuid, Uuid, i32, Vec<u8>), _>(sql, first, last, scope_id(scope))
                .await?
                .into_iter()
                .map(|(id, p, y, d)| presence((id_key(id, pg), p, y, d)))
                .collect()
        } else {
            self.rows(sql, first, last, scope_id(scope))
                .await?
                .into_iter()
                .map(presence)
                .collect()
        };
        Ok(presence::distinct_present(&rows, period, by))
    }

    /// Every figure the daily figures hold (all but distinct participants and first
    /// encounters), by group; `None` when they do not serve the grouping.
    async fn daily(
        &self,
        period: Period,
        by: Option<GroupBy>,
        scope: StatsScope,
    ) -> StoreResult<Option<BTreeMap<String, Figures>>> {
        let Some((condition, key)) = daily_rows(by, scope) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {key}, CAST(SUM(present) AS BIGINT), CAST(SUM(held) AS BIGINT),
                CAST(SUM(held_present) AS BIGINT), CAST(SUM(walk_ins) AS BIGINT),
                CAST(SUM(occurrences) AS BIGINT)
             FROM daily_figures
             WHERE local_date >= $1 AND local_date <= $2 AND {condition}
             GROUP BY 1"
        );
        let structure = scope_id(scope).map(|id| id_key(id, self.is_postgres()));
        let (from, to) = days_of(period);
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(&from)
                .bind(&to)
                .bind(structure.clone())
                .fetch_all(pool)
                .await?
        });
        let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
        for (key, present, held, held_present, walk_ins, occurrences) in rows {
            let g = group(&mut groups, &key);
            g.participant_encounters = present;
            g.confirmed_places = held;
            g.attended_places = held_present;
            g.walk_ins = walk_ins;
            g.occurrences_held = occurrences;
        }
        Ok(Some(groups))
    }

    /// Every figure but distinct participants, by group.
    async fn sums(
        &self,
        period: Period,
        by: Option<GroupBy>,
        scope: StatsScope,
    ) -> StoreResult<BTreeMap<String, Figures>> {
        let pg = self.is_postgres();
        let firsts = || {
            self.counts(
                sum_sql(Table::Firsts, "COUNT(*)", by, scope, pg),
                period,
                scope,
            )
        };
        if daily_rows(by, scope).is_some() {
            let (daily, firsts) = tokio::try_join!(self.daily(period, by, scope), firsts())?;
            let mut groups = daily.unwrap_or_default();
            for (key, value) in firsts {
                group(&mut groups, &key).first_encounters = value;
            }
            return Ok(groups);
        }
        if let (StatsScope::Structure(id), Some(by)) = (scope, by) {
            if let Some(sql) = structure_records_sql(by, pg) {
                let (from, to) = days_of(period);
                let records =
                    self.rows::<(String, i64, i64, i64, i64), _>(Some(sql), from, to, Some(id));
                let (rows, firsts) = tokio::try_join!(records, firsts())?;
                let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
                for (key, present, held, held_present, occurrences) in rows {
                    let g = group(&mut groups, &key);
                    g.participant_encounters = present;
                    g.confirmed_places = held;
                    g.attended_places = held_present;
                    g.occurrences_held = occurrences;
                }
                for (key, value) in firsts {
                    group(&mut groups, &key).first_encounters = value;
                }
                return Ok(groups);
            }
        }
        let (from, to) = days_of(period);
        let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
        let count = |sql| self.counts(sql, period, scope);
        let (rows, walk_ins, firsts, held) = tokio::try_join!(
            self.rows::<(String, i64, i64, i64, Option<i64>), _>(
                places_sql(by, scope, pg),
                from,
                to,
                scope_id(scope)
            ),
            count(sum_sql(
                Table::WalkIns,
                "CAST(SUM(count) AS BIGINT)",
                by,
                scope,
                pg
            )),
            count(sum_sql(Table::Firsts, "COUNT(*)", by, scope, pg)),
            count((!sheets_serve(by, scope)).then(|| held_sql(by, scope, pg))),
        )?;
        for (key, present, held, held_present, occurrences) in rows {
            let g = group(&mut groups, &key);
            g.participant_encounters = present;
            g.confirmed_places = held;
            g.attended_places = held_present;
            g.occurrences_held = occurrences.unwrap_or(0);
        }
        for (key, value) in walk_ins {
            group(&mut groups, &key).walk_ins = value;
        }
        for (key, value) in firsts {
            group(&mut groups, &key).first_encounters = value;
        }
        for (key, value) in held {
            group(&mut groups, &key).occurrences_held = value;
        }
        Ok(groups)
    }

    /// One count per group, from a statement of [`sum_sql`]'s shape; none without one.
    async fn counts(
        &self,
        sql: Option<String>,
        period: Period,
        scope: StatsScope,
    ) -> StoreResult<Vec<(String, i64)>> {
        let (from, to) = days_of(period);
        self.rows(sql, from, to, scope_id(scope)).await
    }

    /// The rows of a figures statement: `$1` and `$2` the period's bounds (dates, or
    /// years for the presence masks), `$3` the scope's id. None without a statement.
    async fn rows<T, B>(
        &self,
        sql: Option<String>,
        first: B,
        last: B,
        id: Option<Uuid>,
    ) -> StoreResult<Vec<T>>
    where
        T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>,
        B: Clone
            + Send
            + for<'q> sqlx::Encode<'q, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'q> sqlx::Encode<'q, Postgres>
            + sqlx::Type<Postgres>,
    {
        let Some(sql) = sql else {
            return Ok(Vec::new());
        };
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(first.clone())
                .bind(last.clone())
                .bind(id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// What each group key of `by` is called: club and structure names; other keys
    /// name themselves. Walk-ins have no structure.
    pub async fn group_labels(&self, by: GroupBy) -> StoreResult<HashMap<String, String>> {
        let sql = match by {
            GroupBy::Club => "SELECT id, name FROM clubs",
            GroupBy::Structure => "SELECT id, name FROM structures",
            _ => return Ok(HashMap::new()),
        };
        let rows: Vec<(Uuid, String)> =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        let mut labels: HashMap<String, String> = rows
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect();
        labels.insert(WALK_IN_STRUCTURE.into(), "Walk-ins (no structure)".into());
        Ok(labels)
    }
}
