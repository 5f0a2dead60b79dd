//! Plain HTML pages for people without an account, shared by the API and the pages:
//! RSVP answers and a participant's printable schedule. Readable on a phone, printable.

pub mod page;
pub mod schedule;
