//! Admin view of the email outbox: messages by status with their delivery attempts, and
//! a way to send a dead message again. Addresses are shown masked: enough to recognise
//! one, not to collect them.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::ops::outbox::retry_message;
use crate::store::outbox::{Attempt, Audience, Delivery, MessageKind, OutboxMessage};

#[derive(Object)]
pub struct OutboxItem {
    pub id: Uuid,
    pub kind: MessageKind,
    /// The participant, or their social worker (`referrer`).
    pub audience: Audience,
    pub status: Delivery,
    pub enrollment_id: Option<Uuid>,
    pub occurrence_key: Option<String>,
    /// The address it went to, masked (`a***@example.org`).
    pub recipient: Option<String>,
    pub attempts: i32,
    pub available_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery_attempts: Vec<DeliveryAttempt>,
}

#[derive(Object)]
pub struct DeliveryAttempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// sent, retry, dead or skipped.
    pub outcome: String,
    pub error: Option<String>,
}

#[derive(Object)]
pub struct OutboxPage {
    pub items: Vec<OutboxItem>,
    /// Pass as `before` for the next (older) page.
    pub next_cursor: Option<String>,
}

pub use crate::domain::messages::masked as mask;
use crate::domain::messages::masked_in;

/// The failed and skipped attempts logged for the message, then its delivery, which is
/// recorded on the message itself.
fn delivery_attempts(message: &OutboxMessage, attempts: &[Attempt]) -> Vec<DeliveryAttempt> {
    let mut log: Vec<DeliveryAttempt> = attempts
        .iter()
        .filter(|a| a.message_id == message.id)
        .map(|a| DeliveryAttempt {
            attempt: a.attempt,
            at: a.at,
            outcome: a.outcome.clone(),
            error: a.error.as_deref().map(masked_in),
        })
        .collect();
    if let (Some(at), Delivery::Sent) = (message.sent_at, message.status) {
        log.push(DeliveryAttempt {
            attempt: log.last().map_or(1, |a| a.attempt + 1),
            at,
            outcome: "sent".into(),
            error: None,
        });
    }
    log
}

fn item(message: OutboxMessage, attempts: &[Attempt]) -> OutboxItem {
    let delivery_attempts = delivery_attempts(&message, attempts);
    OutboxItem {
        id: message.id,
        kind: message.kind,
        audience: message.audience,
        status: message.status,
        enrollment_id: message.enrollment_id,
        occurrence_key: message.occurrence_key,
        recipient: message.recipient.as_deref().map(mask),
        attempts: message.attempts,
        available_at: message.available_at,
        last_error: message.last_error.as_deref().map(masked_in),
        created_at: message.created_at,
        sent_at: message.sent_at,
        delivery_attempts,
    }
}

pub struct OutboxApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Outbox")]
impl OutboxApi {
    /// Messages, newest first, optionally by status (pending, sending, sent, dead,
    /// skipped), with every delivery attempt: admin only.
    #[oai(path = "/admin/outbox", method = "get", operation_id = "list_outbox")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        status: Query<Option<String>>,
        before: Query<Option<String>>,
        limit: Query<Option<i64>>,
    ) -> Result<Json<OutboxPage>, ApiError> {
        auth.require_admin()?;
        let status = status
            .0
            .filter(|s| !s.is_empty())
            .map(|s| {
                Delivery::try_from(s).map_err(|_| {
                    ApiError::invalid(
                        "status",
                        "must be one of pending, sending, sent, dead, skipped",
                    )
                })
            })
            .transpose()?;
        let before = match before.0.filter(|b| !b.is_empty()) {
            Some(b) => Some(
                b.parse::<i64>()
                    .map_err(|_| ApiError::invalid("before", "not a cursor from this list"))?,
            ),
            None => None,
        };
        let limit = limit.0.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 500"));
        }
        let messages = state.store.messages(status, before, limit).await?;
        let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
        let attempts = state.store.attempts(&ids).await?;
        let next_cursor = (messages.len() as i64 == limit)
            .then(|| messages.last().map(|m| m.seq.to_string()))
            .flatten();
        Ok(Json(OutboxPage {
            items: messages.into_iter().map(|m| item(m, &attempts)).collect(),
            next_cursor,
        }))
    }

    /// Sends a dead message again, its attempts counted from zero: admin only.
    #[oai(
        path = "/admin/outbox/:message_id/retry",
        method = "post",
        operation_id = "retry_outbox_message"
    )]
    async fn retry(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        message_id: Path<Uuid>,
    ) -> Result<Json<OutboxItem>, ApiError> {
        let message = retry_message(&state.store, &auth.0, message_id.0).await?;
        let attempts = state.store.attempts(&[message.id]).await?;
        Ok(Json(item(message, &attempts)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_masked() {
        assert_eq!(super::mask("alice@example.org"), "a***@example.org");
        assert_eq!(super::mask("nobody"), "***");
    }
}
