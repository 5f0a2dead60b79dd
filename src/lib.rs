//! Entourage Sport: partner clubs keep places in their recurring sessions for people
//! in precarity, social workers enrol the people they follow, clubs record who came.
//!
//! [`Service`] builds the whole application from a [`config::Config`]; the binary and
//! the black-box tests both start it that way.

pub mod api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod mail;
pub mod maintenance;
pub mod metrics;
pub mod ops;
pub mod planning;
pub mod printable;
pub mod secret;
pub mod state;
pub mod store;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use crate::api::AppState;
use crate::config::Config;
use crate::domain::rsvp::Signer;
use crate::mail::Mailer;
use crate::store::Store;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Mail(#[from] mail::MailSetupError),
    #[error("{0}")]
    Secret(#[from] secret::SecretError),
    #[error("page template {0}")]
    Pages(String),
}

/// A connected, migrated service, ready to serve.
pub struct Service {
    pub state: AppState,
}

impl Service {
    /// Connects to the database and applies pending migrations.
    /// Loads the email templates and the signing key first: a broken template or a
    /// missing key stops start-up before anything else happens.
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        web::check().map_err(BuildError::Pages)?;
        let key = secret::signing_key(&config)?;
        let mailer = Mailer::new(&config, Signer::new(&key))?;
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        Ok(Self {
            state: AppState {
                store,
                config: Arc::new(config),
                mailer: Arc::new(mailer),
                metrics: Arc::new(metrics::Metrics::new()),
            },
        })
    }

    /// Binds the configured address (port 0 picks a free one) and returns the bound
    /// address with a future that serves until `shutdown` resolves.
    pub async fn bind(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<(
        std::net::SocketAddr,
        impl std::future::Future<Output = std::io::Result<()>>,
    )> {
        let acceptor = TcpListener::bind(self.state.config.bind)
            .into_acceptor()
            .await?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .ok_or_else(|| std::io::Error::other("listener has no socket address"))?;
        let jobs = jobs::spawn(
            &self.state.store,
            &self.state.mailer,
            &self.state.metrics,
            &self.state.config.jobs,
        );
        let app = api::app(self.state.clone(), web::mount);
        let store = self.state.store.clone();
        let serve = async move {
            let served = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(20)))
                .await;
            jobs.stop(Duration::from_secs(20)).await;
            store.close().await;
            served
        };
        Ok((address, serve))
    }
}
