//! The rules of the programme, free of I/O: unit-tested without a database.

pub mod access;
pub mod attendance;
pub mod calendar;
pub mod clubs;
pub mod invite;
pub mod messages;
pub mod participants;
pub mod places;
pub mod presence;
pub mod rsvp;
pub mod schedule;
pub mod stats;
pub mod tokens;
pub mod validate;
pub mod window;

use std::fmt;

/// One input field and what is wrong with it; the API answers it as a 422 naming `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
