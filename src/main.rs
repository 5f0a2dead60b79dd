//! Command line: `serve`, `migrate`, `check`, `backup`, `users create`, `mail preview`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use entourage_sport::config::{Config, LogFormat, Settings};
use entourage_sport::domain::access::{Role, ROLE_CHOICES};
use entourage_sport::domain::rsvp::Signer;
use entourage_sport::maintenance::{backup, check};
use entourage_sport::ops::users::{create_user, Actor, NewUser};
use entourage_sport::secret::SecretError;
use entourage_sport::store::users::User;
use entourage_sport::store::{Store, StoreError};
use entourage_sport::{BuildError, Service};

#[derive(Parser)]
#[command(
    name = "entourage-sport",
    version,
    about = "Gets people in precarity into ordinary sports clubs."
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the configuration without changing anything: database, pending
    /// migrations, SMTP session (or the outbox folder), email and page templates.
    /// One line per check; exits non-zero when one fails.
    Check,
    /// Write a consistent copy of the SQLite database while the service runs, and
    /// check it (PostgreSQL: use pg_dump). See docs/backup.md.
    Backup {
        /// The file to write; never overwritten.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Email tools.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Render every message in both languages with sample data, as `.eml` and `.html`
    /// files, for a person to look at.
    Preview {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an account; prints its token alone on the last line of stdout.
    Create {
        /// admin, club_manager or social_worker.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// The club of a club manager.
        #[arg(long = "club")]
        club_id: Option<Uuid>,
        /// The structure of a social worker.
        #[arg(long = "structure")]
        structure_id: Option<Uuid>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_settings(&cli.settings) {
        Ok(config) => config,
        Err(error) => {
            if matches!(cli.command, Command::Check) {
                println!("{}", check::Line::fail("configuration", error.to_string()));
            } else {
                eprintln!("entourage-sport: invalid configuration: {error}");
            }
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    match run(cli.command, config).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("entourage-sport: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `--role`, named in the error when it is none of the three.
fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text.trim()).ok_or_else(|| ROLE_CHOICES.to_owned())
}

/// The database, migrated, for commands that need nothing else. The error names the
/// database (without its password) and the cause.
async fn store(config: &Config) -> Result<Store, String> {
    let cannot = |error: StoreError| {
        let hint = match &error {
            StoreError::Database(sqlx::Error::PoolTimedOut) => {
                " (no connection in time: is the server running and reachable?)"
            }
            _ => "",
        };
        format!(
            "cannot open the database {}: {error}{hint}",
            config.database
        )
    };
    let store = Store::connect(&config.database).await.map_err(cannot)?;
    store.migrate().await.map_err(cannot)?;
    Ok(store)
}

/// `users create`: the account and its token, or what failed and why.
async fn create_account(config: &Config, new: NewUser) -> Result<(User, String), String> {
    let store = store(config).await?;
    // The sign-in link it emails must open on the server: the same key.
    let key = match entourage_sport::secret::signing_key(config) {
        Ok(key) => key,
        Err(error) => {
            store.close().await;
            return Err(error.to_string());
        }
    };
    let created = create_user(&store, &Signer::new(&key), Actor::System, new).await;
    store.close().await;
    created.map_err(|error| error.to_string())
}

async fn run(command: Command, config: Config) -> Result<ExitCode, String> {
    match command {
        Command::Migrate => {
            let store = store(&config).await?;
            tracing::info!(database = store.backend(), "migrations applied");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let lines = check::run(&config, |line| println!("{line}")).await;
            Ok(if lines.iter().any(check::Line::failed) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Backup { out } => match backup::run(&config, &out).await {
            Ok(written) => {
                print!("{}", backup::describe(&written, &config.database));
                Ok(ExitCode::SUCCESS)
            }
            Err(error @ backup::BackupCommandError::Postgres { .. }) => {
                eprintln!("entourage-sport: {error}");
                Ok(ExitCode::from(2))
            }
            Err(error) => Err(error.to_string()),
        },
        Command::Serve => {
            let database = config.database.clone();
            let service = match Service::build(config).await {
                Ok(service) => service,
                // A missing key is a configuration mistake, answered like the others.
                Err(BuildError::Secret(SecretError::Required)) => {
                    eprintln!(
                        "entourage-sport: invalid configuration: {}",
                        SecretError::Required
                    );
                    std::process::exit(2);
                }
                Err(BuildError::Store(error)) => {
                    return Err(format!("cannot open the database {database}: {error}"))
                }
                Err(error) => return Err(format!("cannot start: {error}")),
            };
            serve(service).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Mail {
            command: MailCommand::Preview { out },
        } => {
            let written = entourage_sport::mail::preview::write_all(&config, &out)
                .map_err(|e| e.to_string())?;
            println!("{written} files written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Users {
            command:
                UsersCommand::Create {
                    role,
                    name,
                    email,
                    club_id,
                    structure_id,
                },
        } => {
            let (user, token) = create_account(
                &config,
                NewUser {
                    role,
                    name,
                    email,
                    club_id,
                    structure_id,
                },
            )
            .await
            .map_err(|why| format!("cannot create the user: {why}"))?;
            println!(
                "created {} {} ({})",
                user.role.as_str(),
                user.id,
                user.email
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(service: Service) -> Result<(), String> {
    let store = service.state.store.clone();
    if store.count_users().await.map_err(|e| e.to_string())? == 0 {
        tracing::warn!(
            "no account yet: create the first admin with \
             `entourage-sport users create --role admin --name \"Your Name\" --email you@example.org` \
             (same DATABASE_URL); it prints the admin's bearer token"
        );
    }
    let (address, serving) = service
        .bind(shutdown_signal())
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    tracing::info!(%address, database = store.backend(), "serving; docs at /docs");
    serving.await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
