//! Operations: one function per use case, shared by the JSON API and the web pages.
//!
//! Each operation checks the caller's rights, validates with [`crate::domain`], runs ONE
//! write transaction (with the outbox messages the change causes) and returns a typed
//! result. Front ends only parse their input, call an operation and render its answer;
//! they never orchestrate several writes.

use crate::domain::FieldError;
use crate::store::StoreError;

/// Why an operation did not happen. Nothing was written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Well-formed input that breaks a rule, naming the field.
    #[error("{0}")]
    Invalid(FieldError),
    /// The caller may not do this (they may see what it concerns).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Unknown, or hidden from this caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The current state forbids it (cancelled, changed meanwhile, already enrolled).
    #[error("{0}")]
    Conflict(String),
    /// It existed but is over (an RSVP link after the session started).
    #[error("{0}")]
    Gone(String),
    /// The database failed; the cause is kept for the log, never shown to a person.
    #[error("{0}")]
    Store(StoreError),
}

pub type OpResult<T> = Result<T, OpError>;

impl OpError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, message))
    }
}

impl From<FieldError> for OpError {
    fn from(error: FieldError) -> Self {
        Self::Invalid(error)
    }
}

impl From<StoreError> for OpError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

pub mod access;
pub mod attendance;
pub mod clubs;
pub mod enrollments;
pub mod outbox;
pub mod participants;
pub mod places;
pub mod reminders;
pub mod roster;
pub mod rsvp;
pub mod sessions;
pub mod sign_in;
pub mod stats;
pub mod structures;
pub mod users;
