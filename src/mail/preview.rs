//! `entourage-sport mail preview`: every message in both languages, rendered with sample
//! data, as the `.eml` a mail client receives and the `.html` part alone.

use std::path::Path;

use chrono::NaiveDate;
use lettre::message::Mailbox;

use super::context::{MailContext, MessageKind};
use super::lang::Lang;
use super::mime::{self, CalendarPart};
use super::templates::Templates;
use crate::config::Config;
use crate::domain::calendar::{self, Event, EventStatus, Method, Person};

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("{0}")]
    Templates(#[from] super::templates::TemplateError),
    #[error("MAIL_FROM: {0}")]
    From(String),
    #[error("cannot build a message: {0}")]
    Build(String),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

fn sample_event(method: Method) -> Event {
    let start = NaiveDate::from_ymd_opt(2026, 3, 10)
        .and_then(|d| d.and_hms_opt(18, 30, 0))
        .unwrap_or_default();
    Event {
        uid: "sample-enrollment@example.org".into(),
        sequence: if method == Method::Cancel { 2 } else { 0 },
        summary: "Football — AS Bondy".into(),
        description: "Football loisir\nÀ apporter : baskets, gourde".into(),
        location: "Stade Léo Lagrange, 12 rue Jules Guesde, 93140 Bondy".into(),
        geo: Some((48.9022, 2.4828)),
        url: None,
        timezone: chrono_tz::Europe::Paris,
        start_local: start,
        duration_minutes: 90,
        rrule: Some("FREQ=WEEKLY;BYDAY=TU".into()),
        last_start_local: None,
        exdates_local: Vec::new(),
        overrides: Vec::new(),
        status: if method == Method::Cancel {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        },
        organizer: Some(Person {
            name: "Séances sport".into(),
            email: "no-reply@example.org".into(),
        }),
        attendee: Some(Person {
            name: "Amina".into(),
            email: "amina@example.org".into(),
        }),
    }
}

/// One message rendered with sample data: the `.eml` a mail client receives and its
/// HTML part alone.
pub struct Preview {
    pub kind: MessageKind,
    pub lang: Lang,
    pub eml: Vec<u8>,
    pub html: String,
}

/// Every message in both languages, rendered and built as MIME, without writing
/// anything: `mail preview` writes them, `check` only needs them to succeed.
pub fn render_all(config: &Config) -> Result<Vec<Preview>, PreviewError> {
    let templates = Templates::load(config.templates_dir.as_deref())?;
    let from: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e: lettre::address::AddressError| PreviewError::From(e.to_string()))?;
    let to: Mailbox = "Amina <amina@example.org>"
        .parse()
        .map_err(|e: lettre::address::AddressError| PreviewError::From(e.to_string()))?;
    let mut previews = Vec::new();
    for kind in MessageKind::ALL {
        for lang in Lang::ALL {
            let context = MailContext::sample(kind, lang);
            let rendered = templates.render(lang, &context)?;
            let method = match kind {
                MessageKind::Invitation | MessageKind::Update => Some(Method::Request),
                MessageKind::Cancellation => Some(Method::Cancel),
                _ => None,
            };
            let part = method.map(|method| CalendarPart {
                method: if method == Method::Cancel {
                    "CANCEL"
                } else {
                    "REQUEST"
                },
                ics: calendar::write(&calendar::Calendar {
                    method: Some(method),
                    prodid: super::compose::PRODID,
                    name: None,
                    dtstamp: chrono::Utc::now(),
                    events: &[sample_event(method)],
                }),
            });
            let message_id = format!("<preview-{}-{}@example.org>", kind.as_str(), lang.as_str());
            let message = mime::build(&from, &to, &message_id, &rendered, part.as_ref())
                .map_err(|e| PreviewError::Build(e.to_string()))?;
            previews.push(Preview {
                kind,
                lang,
                eml: message.formatted(),
                html: rendered.html,
            });
        }
    }
    Ok(previews)
}

/// Writes `{kind}.{lang}.eml` and `{kind}.{lang}.html` for every message; returns how
/// many files.
pub fn write_all(config: &Config, out: &Path) -> Result<usize, PreviewError> {
    let previews = render_all(config)?;
    std::fs::create_dir_all(out).map_err(|e| PreviewError::Write(out.display().to_string(), e))?;
    let mut written = 0;
    for preview in previews {
        let stem = format!("{}.{}", preview.kind.as_str(), preview.lang.as_str());
        for (name, bytes) in [
            (format!("{stem}.eml"), preview.eml),
            (format!("{stem}.html"), preview.html.into_bytes()),
        ] {
            let path = out.join(name);
            std::fs::write(&path, bytes)
                .map_err(|e| PreviewError::Write(path.display().to_string(), e))?;
            written += 1;
        }
    }
    Ok(written)
}
