//! The messages the service sends: their kinds, who they go to, and where each one
//! stands in the outbox.

use serde::Serialize;

/// The kinds of message the service sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum MessageKind {
    Invitation,
    Update,
    Cancellation,
    Waitlisted,
    Promotion,
    Reminder,
    DeliveryFailed,
    /// To the social worker: two unexcused absences in a row.
    AbsenceAlert,
}

impl MessageKind {
    pub const ALL: [MessageKind; 8] = [
        MessageKind::Invitation,
        MessageKind::Update,
        MessageKind::Cancellation,
        MessageKind::Waitlisted,
        MessageKind::Promotion,
        MessageKind::Reminder,
        MessageKind::DeliveryFailed,
        MessageKind::AbsenceAlert,
    ];

    /// The snake_case name, also the template file stem ("delivery_failed").
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::Update => "update",
            MessageKind::Cancellation => "cancellation",
            MessageKind::Waitlisted => "waitlisted",
            MessageKind::Promotion => "promotion",
            MessageKind::Reminder => "reminder",
            MessageKind::DeliveryFailed => "delivery_failed",
            MessageKind::AbsenceAlert => "absence_alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl TryFrom<String> for MessageKind {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("unknown message kind {text:?}"))
    }
}

/// Who a message is for: the participant, or their social worker (a copy, a notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Audience {
    Participant,
    Referrer,
}

impl Audience {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Referrer => "referrer",
        }
    }
}

impl TryFrom<String> for Audience {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "participant" => Ok(Self::Participant),
            "referrer" => Ok(Self::Referrer),
            other => Err(format!("unknown audience {other:?}")),
        }
    }
}

/// Where a message stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for its time (`available_at`), possibly after a failed attempt.
    Pending,
    /// Claimed by a worker, under a lease.
    Sending,
    Sent,
    /// Given up after its last attempt or a permanent refusal.
    Dead,
    /// Nothing to send any more (erased participant, cancelled occurrence, ...).
    Skipped,
}

impl Delivery {
    pub const ALL: [Delivery; 5] = [
        Delivery::Pending,
        Delivery::Sending,
        Delivery::Sent,
        Delivery::Dead,
        Delivery::Skipped,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Dead => "dead",
            Self::Skipped => "skipped",
        }
    }
}

impl TryFrom<String> for Delivery {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| format!("unknown delivery status {text:?}"))
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
