//! What the operator's commands ask of the database: which migrations a database
//! holds (without applying any), and a consistent copy of a SQLite database.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Connection};

use super::{on_pool, Store, StoreError};

/// How the database's applied migrations compare with those built into the binary.
#[derive(Debug, Default)]
pub struct MigrationStatus {
    pub applied: usize,
    /// Known to the binary, not yet applied: `serve` or `migrate` applies them.
    pub pending: Vec<String>,
    /// Applied but unknown to this binary: a newer version ran on the database.
    pub unknown: Vec<i64>,
    /// Applied from a different file than the binary's: sqlx refuses to go on.
    pub changed: Vec<i64>,
    /// A migration that failed halfway: sqlx refuses to go on.
    pub dirty: Option<i64>,
}

impl MigrationStatus {
    /// Migrations of this binary the database does not hold as succeeded: pending, or
    /// the one that failed halfway. The service is not ready while any is.
    pub fn not_applied(&self) -> usize {
        self.pending.len() + usize::from(self.dirty.is_some())
    }

    /// Everything the binary knows is pending: the database has not been created yet.
    pub fn for_a_new_database(store_is_postgres: bool) -> Self {
        let migrator = super::migrator(store_is_postgres);
        Self {
            pending: migrator.iter().map(name).collect(),
            ..Self::default()
        }
    }
}

/// The file's name without `.sql`: sqlx keeps the description with spaces.
fn name(migration: &sqlx::migrate::Migration) -> String {
    format!(
        "{:04}_{}",
        migration.version,
        migration.description.replace(' ', "_")
    )
}

/// A copy written by [`Store::backup_to`], checked.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    /// Every table of the copy with its row count, by name.
    pub tables: Vec<(String, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: not overwritten (choose another --out)")]
    Exists(String),
    #[error("{0}: the path is not valid UTF-8, which SQLite needs")]
    NotUtf8(String),
    #[error("backups are written for SQLite only")]
    Postgres,
    #[error("cannot write the copy to {path}: {source}")]
    Write { path: String, source: sqlx::Error },
    #[error("cannot check the copy {path}: {source}")]
    Verify { path: String, source: sqlx::Error },
    /// The copy is removed, so nobody keeps a damaged file as a backup.
    #[error("the copy {path} failed PRAGMA integrity_check ({report}); it was removed")]
    Damaged { path: String, report: String },
}

impl Store {
    /// Reads `_sqlx_migrations` without creating it or applying anything.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let exists_sql = if self.is_postgres() {
            "SELECT CAST(count(*) AS BIGINT) FROM pg_catalog.pg_tables \
             WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()"
        } else {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        };
        let exists: i64 = on_pool!(self, |pool| sqlx::query_scalar(exists_sql)
            .fetch_one(pool)
            .await?);
        let rows: Vec<(i64, bool, Vec<u8>)> = if exists == 0 {
            Vec::new()
        } else {
            on_pool!(self, |pool| sqlx::query_as(
                "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version"
            )
            .fetch_all(pool)
            .await?)
        };
        let migrator = super::migrator(self.is_postgres());
        let mut status = MigrationStatus::default();
        for (version, success, checksum) in &rows {
            if !success {
                status.dirty.get_or_insert(*version);
            }
            match migrator.iter().find(|m| m.version == *version) {
                None => status.unknown.push(*version),
                Some(known) if known.checksum.as_ref() != checksum.as_slice() => {
                    status.changed.push(*version)
                }
                Some(_) => status.applied += 1,
            }
        }
        status.pending = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| rows.iter().all(|(version, ..)| *version != m.version))
            .map(name)
            .collect();
        Ok(status)
    }

    /// Writes a copy of the SQLite database to `out` with `VACUUM INTO`, which reads
    /// in one transaction: a consistent snapshot while the service keeps writing (the
    /// writers are not held up; the copy holds what was committed when it began).
    /// Then opens the copy, runs `PRAGMA integrity_check` and counts every table's rows.
    /// Never overwrites a file: SQLite refuses too, so two runs cannot race past it.
    pub async fn backup_to(&self, out: &Path) -> Result<Backup, BackupError> {
        let Store::Sqlite { pool, .. } = self else {
            return Err(BackupError::Postgres);
        };
        let shown = out.display().to_string();
        if out.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(shown));
        }
        let target = out.to_str().ok_or(BackupError::NotUtf8(shown.clone()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(pool)
            .await
            .map_err(|source| BackupError::Write {
                path: shown.clone(),
                source,
            })?;
        let verify = |source| BackupError::Verify {
            path: shown.clone(),
            source,
        };
        let mut copy = sqlx::SqliteConnection::connect_with(
            &SqliteConnectOptions::new()
                .filename(out)
                .create_if_missing(false),
        )
        .await
        .map_err(verify)?;
        let checked = check_copy(&mut copy).await;
        // Closing lets SQLite fold the copy's WAL back into the file, so it is one file.
        let closed = copy.close().await;
        let tables = match checked {
            Ok(Ok(tables)) => tables,
            Ok(Err(report)) => {
                let _ = std::fs::remove_file(out);
                return Err(BackupError::Damaged {
                    path: shown,
                    report,
                });
            }
            Err(source) => return Err(verify(source)),
        };
        closed.map_err(verify)?;
        let bytes = std::fs::metadata(out)
            .map_err(|e| verify(sqlx::Error::Io(e)))?
            .len();
        Ok(Backup {
            path: out.to_path_buf(),
            bytes,
            tables,
        })
    }
}

/// `Ok(Err(report))` when integrity_check finds anything; else every table's count.
async fn check_copy(
    copy: &mut sqlx::SqliteConnection,
) -> Result<Result<Vec<(String, i64)>, String>, sqlx::Error> {
    let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *copy)
        .await?;
    if report != ["ok"] {
        return Ok(Err(report.join("; ")));
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *copy)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for table in names {
        // Names come from the copy's own schema, quoted as identifiers.
        let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *copy)
            .await?;
        tables.push((table, rows));
    }
    Ok(Ok(tables))
}
