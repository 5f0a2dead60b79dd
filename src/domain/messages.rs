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
    /// To a user: a link that signs them in to the pages.
    SignIn,
}

super::text_enum!(MessageKind {
    Invitation = "invitation",
    Update = "update",
    Cancellation = "cancellation",
    Waitlisted = "waitlisted",
    Promotion = "promotion",
    Reminder = "reminder",
    DeliveryFailed = "delivery_failed",
    AbsenceAlert = "absence_alert",
    SignIn = "sign_in",
});

/// Who a message is for: the participant, or their social worker (a copy, a notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Audience {
    Participant,
    Referrer,
    /// An account holder (a sign-in link).
    User,
}

super::text_enum!(Audience {
    Participant = "participant",
    Referrer = "referrer",
    User = "user",
});

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

super::text_enum!(Delivery {
    Pending = "pending",
    Sending = "sending",
    Sent = "sent",
    Dead = "dead",
    Skipped = "skipped",
});
