//! Where messages go: an SMTP relay (plain, STARTTLS or implicit TLS, with optional
//! credentials, pooled connections), or `.eml` files when no relay is configured.

use std::path::Path;

use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Connections kept open to the relay; also how many messages are sent at once.
pub const SMTP_CONNECTIONS: u32 = 8;

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// A failed delivery: a permanent one (5xx) is not tried again.
#[derive(Debug, Clone)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl Transport {
    /// `smtp://host:port` (plain; add `?tls=required` for STARTTLS), `smtps://host`
    /// (implicit TLS), with `user:password@` when the relay wants credentials.
    pub fn smtp(url: &str) -> Result<Self, String> {
        let builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?;
        Ok(Self::Smtp(
            builder
                .pool_config(PoolConfig::new().max_size(SMTP_CONNECTIONS))
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build(),
        ))
    }

    /// Opens one session with the relay of `url` as delivery would (connection, EHLO,
    /// STARTTLS or TLS, login when credentials are given), says NOOP and sends
    /// nothing. The error is lettre's, which names the cause, never the URL.
    pub async fn open_session(url: &str, timeout: std::time::Duration) -> Result<(), String> {
        let smtp: AsyncSmtpTransport<Tokio1Executor> =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| e.to_string())?
                .pool_config(PoolConfig::new().max_size(1))
                .timeout(Some(timeout))
                .build();
        match smtp.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not answer NOOP".to_owned()),
            Err(error) => Err(error.to_string()),
        }
    }

    pub fn files(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self::Files(AsyncFileTransport::new(dir)))
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Self::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError {
                    permanent: false,
                    message: e.to_string(),
                }),
        }
    }
}
