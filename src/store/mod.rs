//! Storage: one API over SQLite (the embedded default) and PostgreSQL (several instances).
//!
//! Each query is written once in portable SQL; [`on_pool!`] and [`on_tx!`] run it on
//! the backend's own pool or transaction, so rows decode into native types (`Uuid`,
//! `DateTime<Utc>`, `bool`) on both. Only migrations differ per backend.

pub mod attendance;
pub mod clubs;
pub mod enrollments;
pub mod mail_facts;
pub mod maintenance;
pub mod outbox;
pub mod pages;
pub mod participants;
pub mod pool;
pub mod rsvps;
pub mod sessions;
pub mod stats;
pub mod structures;
pub mod users;
pub mod web;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::DatabaseUrl;
use pool::CountedPool;

/// The pools of the two backends; see [`CountedPool`].
pub type SqlitePool = CountedPool<sqlx::Sqlite>;
pub type PgPool = CountedPool<sqlx::Postgres>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations built into the binary for one backend.
pub(crate) fn migrator(postgres: bool) -> &'static sqlx::migrate::Migrator {
    if postgres {
        &POSTGRES_MIGRATIONS
    } else {
        &SQLITE_MIGRATIONS
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the text says which.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A write that had to change exactly the row it named: none changed means not found.
pub(crate) fn touched(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] with `message`.
pub(crate) fn conflict_on_unique(message: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |error| match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(message.to_owned()),
        _ => StoreError::Database(error),
    }
}

/// The database behind the service.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite {
        pool: SqlitePool,
        /// SQLite has one writer. Write transactions queue here, in the process, rather
        /// than in SQLite's busy handler, which sleeps in growing steps and wastes the
        /// time the lock is free.
        writer: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite { pool: $pool, .. } => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like [`on_pool!`], for a single write statement: on SQLite it waits for the writer.
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite {
                pool: $pool,
                writer,
            } => {
                let _writing = writer.lock().await;
                $body
            }
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_writer;

/// One write transaction. Nothing it wrote is kept unless [`Tx::commit`] is called:
/// dropping it (an error, an early return) rolls everything back. On SQLite it holds
/// the process's writer lock and SQLite's write lock from the start (`BEGIN
/// IMMEDIATE`), so concurrent writers queue instead of failing on upgrade.
pub enum Tx {
    Sqlite {
        tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        _writing: tokio::sync::OwnedMutexGuard<()>,
    },
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite { tx, .. } => {
                let $conn = &mut **tx;
                $body
            }
            $crate::store::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Self::Sqlite { tx, _writing } => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl Store {
    /// Connects, creating the SQLite file and its folder when needed.
    pub async fn connect(url: &DatabaseUrl) -> StoreResult<Self> {
        match url {
            DatabaseUrl::Sqlite(path) => Self::connect_sqlite(path).await,
            DatabaseUrl::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Self::Postgres(CountedPool::new(pool)))
            }
        }
    }

    async fn connect_sqlite(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A local file cannot drop a connection: skip the ping sqlx sends by default
        // before lending one, a round trip to the connection's thread for every query.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self::Sqlite {
            pool: CountedPool::new(pool),
            writer: Arc::default(),
        })
    }

    /// Opens a write transaction; see [`Tx`].
    pub async fn write(&self) -> StoreResult<Tx> {
        Ok(match self {
            Self::Sqlite { pool, writer } => {
                let writing = writer.clone().lock_owned().await;
                Tx::Sqlite {
                    tx: pool.begin_with(Some("BEGIN IMMEDIATE")).await?,
                    _writing: writing,
                }
            }
            Self::Postgres(pool) => Tx::Postgres(pool.begin_with(None).await?),
        })
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Applies pending migrations. On PostgreSQL, sqlx's `Migrator::run` holds a
    /// session advisory lock (`pg_advisory_lock`, keyed on the database's name) from
    /// before it creates `_sqlx_migrations` until after the last migration, so
    /// instances starting at once apply each migration once: the others wait, then
    /// find nothing left to do. `Service::build` returns only after this, and only a
    /// built service can bind, so no instance serves an older schema.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite { pool, .. } => SQLITE_MIGRATIONS.run(&**pool).await?,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(&**pool).await?,
        }
        Ok(())
    }

    /// The pool's connections now: in use, idle, the most it opens, and the tasks
    /// waiting for one.
    pub fn pool_state(&self) -> PoolState {
        on_pool!(self, |pool| {
            let size = pool.size() as usize;
            let idle = pool.num_idle().min(size);
            PoolState {
                in_use: size - idle,
                idle,
                max: pool.options().get_max_connections() as usize,
                waiting: pool.waiting(),
            }
        })
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// See [`Store::pool_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub in_use: usize,
    pub idle: usize,
    pub max: usize,
    pub waiting: usize,
}

/// Serialises a list of strings for a TEXT column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// Reads a TEXT column written by [`to_json`]; an unreadable value is a database error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}
