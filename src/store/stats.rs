//! The impact figures, computed from the attendance tables. Every row carries what the
//! figures group by (club, sport, local date, structure and situation as recorded), so
//! no figure needs a join and none moves when a participant is edited or erased.
//!
//! Each figure is one aggregate query grouped by the requested dimension; distinct
//! participants are counted in two steps (per group and participant, then per group),
//! which both databases do with one pass over the rows and no sort per group.
//!
//! The statements are assembled from the fixed fragments below, chosen by enums; no
//! caller text ever reaches them (dates and ids are bound), hence `AssertSqlSafe`.

use std::collections::{BTreeMap, HashMap};

use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{on_pool, Store, StoreResult};
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
}

/// The key of walk-ins in a grouping by structure: they belong to none.
pub const WALK_IN_STRUCTURE: &str = "walk_in";

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

/// The scope as a condition on `table`'s rows; `None`: the table is out of scope.
fn scope_filter(scope: StatsScope, table: Table) -> Option<&'static str> {
    match (scope, table) {
        (StatsScope::All, _) => Some("$3 IS NULL"),
        (StatsScope::Club(_), _) => Some("club_id = $3"),
        (StatsScope::Structure(_), Table::Attendance | Table::Firsts) => Some("structure_id = $3"),
        (StatsScope::Structure(_), Table::WalkIns | Table::Sheets) => None,
    }
}

fn scope_id(scope: StatsScope) -> Option<Uuid> {
    match scope {
        StatsScope::All => None,
        StatsScope::Club(id) | StatsScope::Structure(id) => Some(id),
    }
}

/// Per group: present records, distinct participants present, places held and used.
fn attendance_sql(by: Option<GroupBy>, scope: StatsScope, is_postgres: bool) -> String {
    let key = group_key(by, Table::Attendance, is_postgres);
    let filter = scope_filter(scope, Table::Attendance).unwrap_or("$3 IS NULL");
    format!(
        "SELECT g, CAST(SUM(present) AS BIGINT),
            CAST(SUM(CASE WHEN present > 0 THEN 1 ELSE 0 END) AS BIGINT),
            CAST(SUM(held) AS BIGINT), CAST(SUM(held_present) AS BIGINT)
         FROM (SELECT {key} AS g, participant_id,
                  SUM(CASE WHEN status = 'present' THEN 1 ELSE 0 END) AS present,
                  SUM(CASE WHEN held_place THEN 1 ELSE 0 END) AS held,
                  SUM(CASE WHEN held_place AND status = 'present' THEN 1 ELSE 0 END)
                      AS held_present
               FROM attendance
               WHERE local_date >= $1 AND local_date <= $2 AND {filter}
               GROUP BY 1, 2) per_participant
         GROUP BY g"
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
    };
    let filter = scope_filter(scope, table)?;
    let key = group_key(by, table, is_postgres);
    Some(format!(
        "SELECT {key}, {column} FROM {name}
         WHERE local_date >= $1 AND local_date <= $2 AND {filter}
         GROUP BY 1"
    ))
}

/// Occurrences held per group. A grouping the sheets carry counts every recorded
/// occurrence; otherwise (and for a structure's view) the occurrences where the group
/// has a record or a walk-in.
fn held_sql(by: Option<GroupBy>, scope: StatsScope, is_postgres: bool) -> String {
    let sheets_know = !matches!(by, Some(GroupBy::Situation | GroupBy::Structure));
    if sheets_know {
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
        let mut groups = self.figures(period, Some(by), scope).await?;
        let total = self
            .figures(period, None, scope)
            .await?
            .pop()
            .unwrap_or_else(|| Figures {
                key: "total".into(),
                ..Figures::default()
            });
        for group in &mut groups {
            group.key = normal_key(Some(by), std::mem::take(&mut group.key));
        }
        Ok((groups, total))
    }

    async fn figures(
        &self,
        period: Period,
        by: Option<GroupBy>,
        scope: StatsScope,
    ) -> StoreResult<Vec<Figures>> {
        let pg = self.is_postgres();
        let from = period.from.format("%Y-%m-%d").to_string();
        let to = period.to.format("%Y-%m-%d").to_string();
        let id = scope_id(scope);
        let mut groups: BTreeMap<String, Figures> = BTreeMap::new();

        let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(AssertSqlSafe(attendance_sql(by, scope, pg)))
                .bind(&from)
                .bind(&to)
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        for (key, present, unique, held, held_present) in rows {
            let g = group(&mut groups, &key);
            g.participant_encounters = present;
            g.unique_participants = unique;
            g.confirmed_places = held;
            g.attended_places = held_present;
        }
        let counts = [
            sum_sql(Table::WalkIns, "CAST(SUM(count) AS BIGINT)", by, scope, pg),
            sum_sql(Table::Firsts, "COUNT(*)", by, scope, pg),
            Some(held_sql(by, scope, pg)),
        ];
        for (figure, sql) in counts.into_iter().enumerate() {
            let Some(sql) = sql else { continue };
            let rows: Vec<(String, i64)> = on_pool!(self, |pool| {
                sqlx::query_as(AssertSqlSafe(sql.clone()))
                    .bind(&from)
                    .bind(&to)
                    .bind(id)
                    .fetch_all(pool)
                    .await?
            });
            for (key, value) in rows {
                let g = group(&mut groups, &key);
                match figure {
                    0 => g.walk_ins = value,
                    1 => g.first_encounters = value,
                    _ => g.occurrences_held = value,
                }
            }
        }
        Ok(groups.into_values().collect())
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
