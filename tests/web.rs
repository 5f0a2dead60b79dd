//! The pages: a social worker's day in a real browser (`web/day.rs`) and the rules of
//! sign-in, sessions, CSRF and roles over HTTP (`web/http.rs`). One binary, so the
//! browser and the build are shared.

mod common;

#[path = "web/day.rs"]
mod day;

#[path = "web/http.rs"]
mod http;
