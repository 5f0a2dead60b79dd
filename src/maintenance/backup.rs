//! `entourage-sport backup --out FILE`: a consistent copy of the SQLite database,
//! taken while the service runs, checked before it is reported. PostgreSQL has its
//! own tool, `pg_dump`.

use std::path::Path;

use crate::config::{Config, DatabaseUrl};
use crate::store::maintenance::{Backup, BackupError};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum BackupCommandError {
    /// Not an error of the copy: this command does not back PostgreSQL up.
    #[error(
        "backup copies SQLite databases; on PostgreSQL use pg_dump, for example:\n  \
         pg_dump --format=custom --file={out} '{url}'\n\
         (give the password through PGPASSWORD or ~/.pgpass; restore with pg_restore, see docs/backup.md)"
    )]
    Postgres { out: String, url: String },
    #[error("the database {0} does not exist: nothing to back up")]
    Missing(String),
    #[error("cannot open the database {database}: {error}")]
    Open { database: String, error: String },
    #[error("{0}")]
    Backup(#[from] BackupError),
}

pub async fn run(config: &Config, out: &Path) -> Result<Backup, BackupCommandError> {
    match &config.database {
        DatabaseUrl::Postgres(_) => {
            return Err(BackupCommandError::Postgres {
                out: out.display().to_string(),
                // Display writes the URL with its password masked.
                url: config.database.to_string(),
            });
        }
        // Connecting would create an empty database, and back that up.
        DatabaseUrl::Sqlite(path) if !path.exists() => {
            return Err(BackupCommandError::Missing(config.database.to_string()))
        }
        DatabaseUrl::Sqlite(_) => {}
    }
    let store =
        Store::connect(&config.database)
            .await
            .map_err(|error| BackupCommandError::Open {
                database: config.database.to_string(),
                error: error.to_string(),
            })?;
    let written = store.backup_to(out).await;
    store.close().await;
    Ok(written?)
}

/// What the command prints: the file, its size, every table's rows.
pub fn describe(backup: &Backup, database: &DatabaseUrl) -> String {
    let mut text = format!(
        "wrote {} ({}) from {database}; integrity_check ok\n",
        backup.path.display(),
        size(backup.bytes)
    );
    let width = backup
        .tables
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    for (name, rows) in &backup.tables {
        text.push_str(&format!("  {name:<width$}  {rows:>9} rows\n"));
    }
    text
}

fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
