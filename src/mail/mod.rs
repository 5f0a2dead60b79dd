//! Email: the outbox worker, message composition, templates, MIME and transport.

pub mod compose;
pub mod context;
pub mod lang;
pub mod mime;
pub mod preview;
pub mod templates;
pub mod transport;
pub mod worker;
pub mod written_time;

use lettre::message::Mailbox;

use crate::config::Config;
use crate::domain::calendar::Person;
use crate::domain::rsvp::Signer;
use templates::{TemplateError, Templates};
use transport::Transport;

/// Everything needed to turn outbox rows into delivered email.
pub struct Mailer {
    pub templates: Templates,
    pub transport: Transport,
    pub from: Mailbox,
    pub organizer: Person,
    /// Right-hand side of Message-IDs and calendar UIDs.
    pub domain: String,
    pub public_url: String,
    pub signer: Signer,
    pub hourly_limit: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("{0}")]
    Templates(#[from] TemplateError),
    #[error("MAIL_FROM: {0}")]
    From(String),
    #[error("SMTP_URL: {0}")]
    Smtp(String),
    #[error("cannot create the outbox folder {0}: {1}")]
    Outbox(String, std::io::Error),
}

impl Mailer {
    pub fn new(config: &Config, signer: Signer) -> Result<Self, MailSetupError> {
        let templates = Templates::load(config.templates_dir.as_deref())?;
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailSetupError::From(e.to_string()))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::smtp(url).map_err(MailSetupError::Smtp)?,
            None => {
                let dir = config.data_dir.join("outbox");
                Transport::files(&dir)
                    .map_err(|e| MailSetupError::Outbox(dir.display().to_string(), e))?
            }
        };
        let organizer = Person {
            name: from.name.clone().unwrap_or_default(),
            email: config
                .mail_organizer
                .clone()
                .unwrap_or_else(|| from.email.to_string()),
        };
        Ok(Self {
            templates,
            transport,
            domain: from.email.domain().to_owned(),
            from,
            organizer,
            public_url: config.public_url.clone(),
            signer,
            hourly_limit: config.mail_hourly_limit,
        })
    }
}
