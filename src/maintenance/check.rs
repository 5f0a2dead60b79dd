//! `entourage-sport check`: one line per check, `ok   name (detail)` or
//! `FAIL name: why`. Every check runs, except those needing one that failed
//! (`skip name: why`). Nothing is applied, sent or generated; URLs show without
//! their passwords.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::config::{redact_url, Config, DatabaseUrl};
use crate::store::maintenance::MigrationStatus;
use crate::store::{Store, StoreError};

/// Longer than the store's own connection timeout (10 s), so its error is the one shown.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(15);
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    Fail(String),
    /// Not run: a check it needs failed.
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct Line {
    pub name: &'static str,
    pub outcome: Outcome,
}

impl Line {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Ok(detail.into()),
        }
    }

    pub fn fail(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Fail(why.into()),
        }
    }

    fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            outcome: Outcome::Skipped(why.into()),
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) if detail.is_empty() => write!(f, "ok   {}", self.name),
            Outcome::Ok(detail) => write!(f, "ok   {} ({detail})", self.name),
            Outcome::Fail(why) => write!(f, "FAIL {}: {why}", self.name),
            Outcome::Skipped(why) => write!(f, "skip {}: {why}", self.name),
        }
    }
}

/// Runs every check, calling `report` with each line as soon as it is known (a slow
/// database or relay should not leave the operator looking at nothing).
pub async fn run(config: &Config, mut report: impl FnMut(&Line)) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut push = |line: Line| {
        report(&line);
        lines.push(line);
    };
    push(Line::ok(
        "configuration",
        format!(
            "bind {}, public URL {}, data dir {}",
            config.bind,
            config.public_url,
            config.data_dir.display()
        ),
    ));
    push(secret_key(config));
    let (database, store) = database(config).await;
    let reached = !database.failed();
    push(database);
    push(match (&store, reached) {
        (_, false) => Line::skipped("migrations", "the database could not be reached"),
        (Some(store), true) => match store.migration_status().await {
            Ok(status) => migrations(&status),
            Err(error) => Line::fail("migrations", error.to_string()),
        },
        (None, true) => migrations(&MigrationStatus::for_a_new_database(false)),
    });
    if let Some(store) = store {
        store.close().await;
    }
    push(mail(config).await);
    push(match crate::mail::preview::render_all(config) {
        Ok(previews) => Line::ok(
            "email templates",
            format!(
                "{} messages rendered in fr and en, {}",
                previews.len(),
                match &config.templates_dir {
                    Some(dir) => format!("from {}", dir.display()),
                    None => "built in".to_owned(),
                }
            ),
        ),
        Err(error) => Line::fail("email templates", error.to_string()),
    });
    push(match crate::web::check() {
        Ok(()) => Line::ok("page templates", "compiled"),
        Err(error) => Line::fail("page templates", error),
    });
    lines
}

/// The signing key, read but never generated or shown.
fn secret_key(config: &Config) -> Line {
    const NAME: &str = "secret key";
    if config.secret_key.is_some() {
        return Line::ok(NAME, "SECRET_KEY is set");
    }
    if matches!(config.database, DatabaseUrl::Postgres(_)) {
        return Line::fail(NAME, crate::secret::SecretError::Required.to_string());
    }
    let path = config.data_dir.join("secret_key");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 64 => Line::ok(NAME, format!("{}", path.display())),
        // `serve` would fail on it too: it generates a key only where no file exists.
        Ok(_) => Line::fail(
            NAME,
            format!(
                "{} holds no usable key (64 characters expected): set SECRET_KEY, or remove the file to have one generated",
                path.display()
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Line::ok(
            NAME,
            format!("none yet: generated into {} on first start", path.display()),
        ),
        Err(e) => Line::fail(NAME, format!("cannot read {}: {e}", path.display())),
    }
}

/// Connects and pings. A SQLite file that does not exist yet is not created: `serve`
/// and `migrate` create it, `check` reports it (and returns no store).
async fn database(config: &Config) -> (Line, Option<Store>) {
    const NAME: &str = "database";
    let shown = match &config.database {
        DatabaseUrl::Sqlite(path) => format!("sqlite, {}", path.display()),
        DatabaseUrl::Postgres(_) => format!("postgres, {}", config.database),
    };
    if let DatabaseUrl::Sqlite(path) = &config.database {
        if !path.exists() {
            return (
                Line::ok(
                    NAME,
                    format!("{shown}: not created yet, serve or migrate creates it"),
                ),
                None,
            );
        }
    }
    let connected = tokio::time::timeout(DATABASE_TIMEOUT, async {
        let store = Store::connect(&config.database).await?;
        if let Err(error) = store.ping().await {
            store.close().await;
            return Err(error);
        }
        Ok(store)
    })
    .await;
    match connected {
        Ok(Ok(store)) => (Line::ok(NAME, shown), Some(store)),
        // sqlx retries a refused connection until its timeout, then says only that.
        Ok(Err(StoreError::Database(sqlx::Error::PoolTimedOut))) => (
            Line::fail(
                NAME,
                format!("no connection in time: is the server running and reachable? ({shown})"),
            ),
            None,
        ),
        Ok(Err(error)) => (Line::fail(NAME, format!("{error} ({shown})")), None),
        Err(_) => (
            Line::fail(
                NAME,
                format!(
                    "no answer within {} s ({shown})",
                    DATABASE_TIMEOUT.as_secs()
                ),
            ),
            None,
        ),
    }
}

/// Pending migrations are normal before an upgrade's first start (serve applies
/// them); a database that a newer or different binary migrated is not.
fn migrations(status: &MigrationStatus) -> Line {
    const NAME: &str = "migrations";
    if let Some(version) = status.dirty {
        return Line::fail(
            NAME,
            format!("migration {version} failed halfway; repair the database before starting"),
        );
    }
    if !status.changed.is_empty() {
        return Line::fail(
            NAME,
            format!(
                "applied migration(s) {:?} differ from this binary's files",
                status.changed
            ),
        );
    }
    if !status.unknown.is_empty() {
        return Line::fail(
            NAME,
            format!(
                "the database has migration(s) {:?} this binary does not know: a newer version ran on it",
                status.unknown
            ),
        );
    }
    if status.pending.is_empty() {
        Line::ok(NAME, format!("{} applied, none pending", status.applied))
    } else {
        Line::ok(
            NAME,
            format!(
                "{} applied, {} pending: {}; serve or migrate applies them",
                status.applied,
                status.pending.len(),
                status.pending.join(", ")
            ),
        )
    }
}

/// The relay when SMTP_URL is set (a session opened, nothing sent), else the folder
/// the `.eml` files go to (written to and cleaned up).
async fn mail(config: &Config) -> Line {
    match &config.smtp_url {
        Some(url) => match crate::mail::transport::Transport::open_session(url, SMTP_TIMEOUT).await
        {
            Ok(()) => Line::ok("smtp", format!("session opened, {}", redact_url(url))),
            Err(why) => Line::fail("smtp", format!("{why} ({})", redact_url(url))),
        },
        None => {
            let dir = config.data_dir.join("outbox");
            match writable(&dir) {
                Ok(()) => Line::ok(
                    "outbox folder",
                    format!(
                        "{} is writable; no SMTP_URL: emails are written there as .eml files",
                        dir.display()
                    ),
                ),
                Err(e) => Line::fail("outbox folder", format!("{}: {e}", dir.display())),
            }
        }
    }
}

/// Creates the folder as the service would, then writes and removes a probe file.
fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".check-{}", uuid::Uuid::new_v4().simple()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}
