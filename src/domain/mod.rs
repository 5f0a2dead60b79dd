//! The rules of the programme, free of I/O: unit-tested without a database.

/// A state stored and shown as text, from one list of its names: `as_str`, `parse`,
/// `ALL`, `TryFrom<String>` (how rows decode it) and `Display`.
macro_rules! text_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text)
                    .ok_or_else(|| format!("unknown {} {text:?}", stringify!($name)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

pub mod access;
pub mod attendance;
pub mod calendar;
pub mod clubs;
pub mod cursor;
pub mod daily;
pub mod invite;
pub mod messages;
pub mod participants;
pub mod places;
pub mod presence;
pub mod recurrence;
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
