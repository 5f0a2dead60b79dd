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

/// An address shown to programme staff: enough to recognise it, not to collect it
/// (`alice@example.org` → `a***@example.org`).
pub fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `text` (a delivery error, say) with every address in it masked as [`masked`] does.
pub fn masked_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str(&masked(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | ',' | ';' | '"' | '\'' | '(' | ')' | '[' | ']'
            )
        {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_an_error_are_masked() {
        assert_eq!(
            masked_in("550 5.1.1 <leo.martin@example.net>: Recipient address rejected"),
            "550 5.1.1 <l***@example.net>: Recipient address rejected"
        );
        assert_eq!(masked_in("timeout after 30 s"), "timeout after 30 s");
    }
}
