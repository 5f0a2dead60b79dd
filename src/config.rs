//! Configuration, in one place: read from the environment (or the flags that mirror it)
//! and checked once at start-up, naming the variable when a value is wrong.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The raw settings as given; see [`Config::from_settings`] for what they mean.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database: `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://./data/entourage-sport.sqlite"
    )]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Public address of the service, used in links sent by email (default: from BIND).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP relay (`smtp://`, `smtps://`); unset: emails are written under DATA_DIR/outbox.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of emails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Entourage Sport <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// Log lines as `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Folder for local files (SQLite database, outbox).
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./data/entourage-sport.sqlite".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            smtp_url: None,
            mail_from: "Entourage Sport <no-reply@localhost>".into(),
            log_format: "text".into(),
            data_dir: PathBuf::from("./data"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub log_format: LogFormat,
    pub data_dir: PathBuf,
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
            database: parse_database_url(&settings.database_url)?,
            bind,
            public_url,
            smtp_url,
            mail_from: mail_from.to_owned(),
            log_format,
            data_dir: settings.data_dir.clone(),
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
                format!("{url:?} is neither sqlite://PATH nor postgres://USER@HOST/DATABASE"),
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
            format!("{url:?} is not an http:// or https:// address"),
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
    }
}
