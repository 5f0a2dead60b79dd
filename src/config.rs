//! Configuration, in one place: read from the environment (or the flags that mirror it)
//! and checked once at start-up, naming the variable when a value is wrong.
//!
//! Secrets stay out of `Debug` output, messages and `--help`: the signing key shows as
//! `***`, and URLs as [`redact_url`] writes them (`postgres://user:***@host/db`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The raw settings as given; see [`Config::from_settings`] for what they mean.
/// `Debug` masks the secrets.
/// Every setting is an environment variable and a flag; flags are global, so they
/// work before or after the subcommand (`entourage-sport serve --bind 0.0.0.0:8080`).
#[derive(Clone, Args)]
pub struct Settings {
    /// Database: `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(
        global = true,
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://./data/entourage-sport.sqlite"
    )]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(global = true, long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Public address of the service, used in links sent by email (default: from BIND).
    #[arg(global = true, long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP relay (`smtp://`, `smtps://`); unset: emails are written under DATA_DIR/outbox.
    #[arg(global = true, long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of emails.
    #[arg(
        global = true,
        long,
        env = "MAIL_FROM",
        default_value = "Séances sport <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// Organizer address written in calendar invitations (default: MAIL_FROM's address).
    #[arg(global = true, long, env = "MAIL_ORGANIZER")]
    pub mail_organizer: Option<String>,
    /// At most this many emails to one address in an hour; more wait, none is dropped.
    #[arg(global = true, long, env = "MAIL_HOURLY_LIMIT", default_value_t = 20)]
    pub mail_hourly_limit: u32,
    /// Key signing RSVP links (32 characters or more). Unset with SQLite: generated on
    /// first start and kept under DATA_DIR; PostgreSQL instances must share one.
    #[arg(global = true, long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// How long a worker keeps a claimed email before another may take it over.
    #[arg(global = true, long, env = "MAIL_LEASE_SECONDS", default_value_t = 300)]
    pub mail_lease_seconds: u64,
    /// How often an idle worker looks at the outbox, in milliseconds.
    #[arg(global = true, long, env = "MAIL_POLL_MILLIS", default_value_t = 2000)]
    pub mail_poll_millis: u64,
    /// Folder of email templates (`fr/`, `en/`) replacing the built-in ones.
    #[arg(global = true, long, env = "TEMPLATES_DIR")]
    pub templates_dir: Option<PathBuf>,
    /// Log lines as `text` or `json`.
    #[arg(global = true, long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Folder for local files (SQLite database, outbox).
    #[arg(global = true, long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Bearer token that opens /metrics; unset: /metrics does not exist (404).
    #[arg(global = true, long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./data/entourage-sport.sqlite".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            smtp_url: None,
            mail_from: "Séances sport <no-reply@localhost>".into(),
            mail_organizer: None,
            mail_hourly_limit: 20,
            secret_key: None,
            templates_dir: None,
            mail_lease_seconds: 300,
            mail_poll_millis: 2000,
            log_format: "text".into(),
            data_dir: PathBuf::from("./data"),
            metrics_token: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the data live. `Debug` and `Display` mask a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// `sqlite://PATH`, or the PostgreSQL URL without its password: fit for messages.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// The URL with the password of its user (`user:password@`) and any `password=`
/// parameter replaced by `***`; host, port, database and user stay readable.
/// When unsure where the user part ends, it masks more rather than less.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // A password may hold `/`, `?` or `@` unencoded: the user part ends at the last `@`.
    let (user, location) = match rest.rsplit_once('@') {
        Some((user, location)) => match user.split_once(':') {
            Some((name, _password)) => (format!("{name}:***@"), location),
            None => (format!("{user}@"), location),
        },
        None => (String::new(), rest),
    };
    let location = match location.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => location.to_owned(),
    };
    format!("{scheme}://{user}{location}")
}

/// Shows that a secret is set, never the secret.
struct Masked;

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("mail_organizer", &self.mail_organizer)
            .field("mail_hourly_limit", &self.mail_hourly_limit)
            .field("secret_key", &self.secret_key.as_ref().map(|_| Masked))
            .field("mail_lease_seconds", &self.mail_lease_seconds)
            .field("mail_poll_millis", &self.mail_poll_millis)
            .field("templates_dir", &self.templates_dir)
            .field("log_format", &self.log_format)
            .field("data_dir", &self.data_dir)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| Masked),
            )
            .finish()
    }
}

/// Checked configuration. `Debug` masks the secrets.
#[derive(Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub mail_organizer: Option<String>,
    pub mail_hourly_limit: u32,
    pub secret_key: Option<String>,
    /// `None`: the templates built into the binary.
    pub templates_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    pub data_dir: PathBuf,
    /// `None`: no /metrics.
    pub metrics_token: Option<String>,
    /// Timing of the background work (shorter in tests).
    pub jobs: JobTiming,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("mail_organizer", &self.mail_organizer)
            .field("mail_hourly_limit", &self.mail_hourly_limit)
            .field("secret_key", &self.secret_key.as_ref().map(|_| Masked))
            .field("templates_dir", &self.templates_dir)
            .field("log_format", &self.log_format)
            .field("data_dir", &self.data_dir)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| Masked),
            )
            .field("jobs", &self.jobs)
            .finish()
    }
}

/// How often background work looks for something to do.
#[derive(Debug, Clone)]
pub struct JobTiming {
    /// Between two looks at the outbox when it was empty.
    pub mail_poll: std::time::Duration,
    /// Between two looks for reminders falling due.
    pub reminder_scan: std::time::Duration,
    /// Base of the exponential backoff between delivery attempts.
    pub retry_base: std::time::Duration,
    pub max_attempts: i32,
    /// How long a claimed message stays with its worker before others may take it.
    pub lease: std::time::Duration,
}

impl Default for JobTiming {
    fn default() -> Self {
        Self {
            mail_poll: std::time::Duration::from_secs(2),
            reminder_scan: std::time::Duration::from_secs(60),
            retry_base: std::time::Duration::from_secs(30),
            max_attempts: 12,
            lease: std::time::Duration::from_secs(300),
        }
    }
}

/// A setting that cannot be used, with the variable that holds it.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let bind: SocketAddr = settings.bind.trim().parse().map_err(|_| {
            invalid(
                "BIND",
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:8080",
                    settings.bind
                ),
            )
        })?;
        let public_url = match settings.public_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => parse_public_url(url)?,
            _ => default_public_url(bind),
        };
        let smtp_url = settings
            .smtp_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(check_smtp_url)
            .transpose()?;
        let mail_from = settings.mail_from.trim();
        if !mail_from.contains('@') {
            return Err(invalid(
                "MAIL_FROM",
                format!("{mail_from:?} is not a mailbox such as \"Entourage Sport <no-reply@example.org>\""),
            ));
        }
        let mail_organizer = settings
            .mail_organizer
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                if o.contains('@') {
                    Ok(o.to_owned())
                } else {
                    Err(invalid(
                        "MAIL_ORGANIZER",
                        format!("{o:?} is not an email address"),
                    ))
                }
            })
            .transpose()?;
        if settings.mail_hourly_limit == 0 {
            return Err(invalid("MAIL_HOURLY_LIMIT", "must be at least 1"));
        }
        let secret_key = settings
            .secret_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                if k.len() >= 32 {
                    Ok(k.to_owned())
                } else {
                    Err(invalid("SECRET_KEY", "must be at least 32 characters long"))
                }
            })
            .transpose()?;
        let metrics_token = settings
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                // A short token could be guessed; the metrics tell how busy the service is.
                if t.len() >= 16 {
                    Ok(t.to_owned())
                } else {
                    Err(invalid(
                        "METRICS_TOKEN",
                        "must be at least 16 characters long",
                    ))
                }
            })
            .transpose()?;
        let database = parse_database_url(&settings.database_url)?;
        let log_format = match settings.log_format.trim().to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("{other:?} is neither text nor json"),
                ))
            }
        };
        Ok(Self {
            database,
            bind,
            public_url,
            smtp_url,
            mail_from: mail_from.to_owned(),
            mail_organizer,
            mail_hourly_limit: settings.mail_hourly_limit,
            secret_key,
            templates_dir: settings.templates_dir.clone(),
            log_format,
            data_dir: settings.data_dir.clone(),
            metrics_token,
            jobs: JobTiming {
                mail_poll: std::time::Duration::from_millis(settings.mail_poll_millis.max(10)),
                lease: std::time::Duration::from_secs(settings.mail_lease_seconds.max(1)),
                ..JobTiming::default()
            },
        })
    }
}

fn parse_database_url(url: &str) -> Result<DatabaseUrl, ConfigError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres(url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty())
        .ok_or_else(|| {
            invalid(
                "DATABASE_URL",
                format!(
                    "{:?} is neither sqlite://PATH nor postgres://USER@HOST/DATABASE",
                    redact_url(url)
                ),
            )
        })?;
    Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
}

fn parse_public_url(url: &str) -> Result<String, ConfigError> {
    let well_formed = ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    });
    if well_formed {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(invalid(
            "PUBLIC_URL",
            format!(
                "{:?} is not an http:// or https:// address",
                redact_url(url)
            ),
        ))
    }
}

fn default_public_url(bind: SocketAddr) -> String {
    if bind.ip().is_unspecified() || bind.ip().is_loopback() {
        format!("http://localhost:{}", bind.port())
    } else {
        format!("http://{bind}")
    }
}

fn check_smtp_url(url: &str) -> Result<String, ConfigError> {
    if ["smtp://", "smtps://"].iter().any(|s| url.starts_with(s)) {
        Ok(url.to_owned())
    } else {
        Err(invalid(
            "SMTP_URL",
            "must start with smtp:// (plain or STARTTLS) or smtps:// (TLS)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_configuration_works() {
        let config = Config::from_settings(&Settings::default()).unwrap();
        assert_eq!(
            config.database,
            DatabaseUrl::Sqlite(PathBuf::from("./data/entourage-sport.sqlite"))
        );
        assert_eq!(config.public_url, "http://localhost:8080");
        assert_eq!(config.log_format, LogFormat::Text);
    }

    const PASSWORD: &str = "s3cr3t-pa55";
    const KEY: &str = "signing-key-0123456789abcdef0123456789";
    const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

    fn with_secrets() -> Settings {
        Settings {
            database_url: format!("postgres://sport:{PASSWORD}@db.example.org:5432/sport"),
            smtp_url: Some(format!(
                "smtps://mailer:{PASSWORD}@smtp.example.org?tls=required"
            )),
            secret_key: Some(KEY.into()),
            metrics_token: Some(METRICS_TOKEN.into()),
            ..Settings::default()
        }
    }

    #[test]
    fn debug_output_masks_passwords_and_the_key() {
        let settings = with_secrets();
        let config = Config::from_settings(&settings).unwrap();
        for shown in [
            format!("{settings:?}"),
            format!("{config:?}"),
            format!("{config:#?}"),
        ] {
            assert!(!shown.contains(PASSWORD), "{shown}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains(METRICS_TOKEN), "{shown}");
            assert!(shown.contains("metrics_token: Some("), "{shown}");
            assert!(
                shown.contains("postgres://sport:***@db.example.org:5432/sport"),
                "{shown}"
            );
            assert!(
                shown.contains("smtps://mailer:***@smtp.example.org"),
                "{shown}"
            );
            assert!(shown.contains("secret_key: Some("), "a key is set: {shown}");
        }
        assert_eq!(
            config.database.to_string(),
            "postgres://sport:***@db.example.org:5432/sport"
        );
        let sqlite = Config::from_settings(&Settings::default()).unwrap();
        assert_eq!(
            sqlite.database.to_string(),
            "sqlite://./data/entourage-sport.sqlite"
        );
    }

    #[test]
    fn urls_lose_their_passwords_only() {
        for (url, redacted) in [
            ("postgres://u:pw@host/db", "postgres://u:***@host/db"),
            ("postgres://u@host/db", "postgres://u@host/db"),
            ("postgres://host:5432/db", "postgres://host:5432/db"),
            (
                "postgresql://u:p@ss/w?rd@host/db?sslmode=require",
                "postgresql://u:***@host/db?sslmode=require",
            ),
            (
                "postgres://host/db?user=u&password=pw&sslmode=require",
                "postgres://host/db?user=u&password=***&sslmode=require",
            ),
            ("smtp://relay:25", "smtp://relay:25"),
            ("sqlite://./data/x.sqlite", "sqlite://./data/x.sqlite"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn an_unusable_database_url_is_named_without_its_password() {
        let settings = Settings {
            database_url: format!("mysql://sport:{PASSWORD}@db.example.org/sport"),
            ..Settings::default()
        };
        let error = Config::from_settings(&settings).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(!error.to_string().contains(PASSWORD), "{error}");
        assert!(error.to_string().contains("db.example.org"), "{error}");
    }

    #[test]
    fn errors_name_the_variable() {
        let bad = |change: fn(&mut Settings)| {
            let mut settings = Settings::default();
            change(&mut settings);
            Config::from_settings(&settings).unwrap_err().variable
        };
        assert_eq!(bad(|s| s.bind = "here".into()), "BIND");
        assert_eq!(bad(|s| s.database_url = "mysql://x".into()), "DATABASE_URL");
        assert_eq!(bad(|s| s.public_url = Some("ftp://x".into())), "PUBLIC_URL");
        assert_eq!(bad(|s| s.smtp_url = Some("http://x".into())), "SMTP_URL");
        assert_eq!(bad(|s| s.log_format = "xml".into()), "LOG_FORMAT");
        assert_eq!(bad(|s| s.mail_from = "nobody".into()), "MAIL_FROM");
        assert_eq!(bad(|s| s.secret_key = Some("short".into())), "SECRET_KEY");
        assert_eq!(bad(|s| s.mail_hourly_limit = 0), "MAIL_HOURLY_LIMIT");
        assert_eq!(
            bad(|s| s.metrics_token = Some("short".into())),
            "METRICS_TOKEN"
        );
        assert_eq!(
            bad(|s| s.mail_organizer = Some("x".into())),
            "MAIL_ORGANIZER"
        );
    }
}
