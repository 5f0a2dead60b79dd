//! The pages: a social worker's day and a club manager's week in a real browser
//! (`web/day.rs`, `web/club.rs`) and the rules of sign-in, sessions, CSRF and roles
//! over HTTP (`web/http.rs`, `web/club_http.rs`). One binary, so the
//! browser and the build are shared.

mod common;

#[path = "web/day.rs"]
mod day;

#[path = "web/http.rs"]
mod http;

#[path = "web/club.rs"]
mod club;

#[path = "web/club_http.rs"]
mod club_http;

#[path = "web/admin.rs"]
mod admin;
