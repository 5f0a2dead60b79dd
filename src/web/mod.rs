//! The pages: server-rendered HTML for programme staff, club managers and social
//! workers. Each handler parses a form or query, calls one operation (`crate::ops`) or
//! a read of the store, and renders a template ([`view`]). Pages work without
//! JavaScript; `app.js` only adds conveniences (copy a link).
//!
//! Requests reach a handler through [`guard`]: it resolves the language, the signed-in
//! user and the CSRF check, and turns every error into an HTML page (never
//! problem+json, never a stack trace).

mod admin;
mod chart;
mod club;
mod forms;
mod home;
mod login;
mod occurrence;
mod participants;
mod request;
mod search;
mod session;
mod sessions;
mod stats;
mod view;
mod words;

use poem::http::{header, StatusCode};
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};

pub use session::SignedIn;
pub use view::{check, Lang};
/// An operation's message as a page in `lang` shows it.
pub use words::message as said_in;

use crate::ops::OpError;

/// Adds the pages to the application's routes.
pub fn mount(route: Route) -> Route {
    let app = Route::new()
        .at("/app", get(home::home))
        .at("/app/occurrences", get(search::search))
        .at(
            "/app/sessions/:session_id",
            get(search::show_session).post(sessions::update),
        )
        .at(
            "/app/sessions/:session_id/cancel",
            get(sessions::cancel_form).post(sessions::cancel),
        )
        .at(
            "/app/sessions/:session_id/occurrences/:key",
            get(occurrence::show).post(occurrence::change),
        )
        .at(
            "/app/sessions/:session_id/occurrences/:key/check-in",
            get(occurrence::check_in).post(occurrence::record),
        )
        .at("/app/club", get(club::show))
        .at("/app/club/edit", get(club::edit_form).post(club::update))
        .at("/app/club/sessions", get(club::sessions))
        .at(
            "/app/club/sessions/new",
            get(sessions::new_form).post(sessions::create),
        )
        .at("/app/club/calendar", get(club::calendar))
        .at("/app/stats", get(stats::stats))
        .at("/app/stats.csv", get(stats::stats_csv))
        .at("/app/admin/clubs", get(admin::list_clubs))
        .at(
            "/app/admin/clubs/new",
            get(admin::club_new).post(admin::club_create),
        )
        .at(
            "/app/admin/clubs/:club_id",
            get(admin::club_edit).post(admin::club_update),
        )
        .at("/app/admin/structures", get(admin::list_structures))
        .at(
            "/app/admin/structures/new",
            get(admin::structure_new).post(admin::structure_create),
        )
        .at(
            "/app/admin/structures/:structure_id",
            get(admin::structure_edit).post(admin::structure_update),
        )
        .at(
            "/app/admin/users",
            get(admin::list_users).post(admin::invite),
        )
        .at("/app/admin/users/:user_id", post(admin::change_user))
        .at("/app/admin/outbox", get(admin::list_outbox))
        .at("/app/admin/outbox/retry", post(admin::retry_kind))
        .at(
            "/app/admin/outbox/:message_id/retry",
            post(admin::retry_one),
        )
        .at("/app/sessions/:session_id/enrol", post(search::enrol))
        .at("/app/participants", get(participants::list))
        .at(
            "/app/participants/new",
            get(participants::new_form).post(participants::create),
        )
        .at("/app/participants/:participant_id", get(participants::show))
        .at(
            "/app/participants/:participant_id/edit",
            get(participants::edit_form).post(participants::update),
        )
        .at(
            "/app/participants/:participant_id/erase",
            get(participants::erase_form).post(participants::erase),
        )
        .at(
            "/app/participants/:participant_id/feed",
            post(participants::renew_feed),
        )
        .at(
            "/app/participants/:participant_id/export",
            get(participants::export),
        )
        .at(
            "/app/participants/:participant_id/schedule",
            get(participants::schedule),
        )
        .at(
            "/app/enrollments/:enrollment_id/cancel",
            post(participants::cancel_enrollment),
        )
        .at("/app/*rest", get(not_found).post(not_found));
    route
        .at(
            "/login",
            get(login::show_form).post(login::ask_link).around(guard),
        )
        .at(
            "/login/:token",
            get(login::confirm).post(login::open_session).around(guard),
        )
        .at("/logout", post(login::sign_out).around(guard))
        .at("/lang", post(login::choose_lang).around(guard))
        .at("/static/:file", get(view::asset))
        .nest_no_strip("/app", app.around(guard))
}

#[handler]
async fn not_found() -> poem::Result<Response> {
    Err(PageError::NotFound.into())
}

/// Why a page could not be shown: each becomes a page in the reader's language.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in (or the session ended): to the sign-in page.
    #[error("sign in first")]
    SignIn,
    #[error("forbidden")]
    Forbidden,
    /// A form without a valid CSRF token.
    #[error("form expired")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// The current state forbids it; the text says why.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

impl poem::error::ResponseError for PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::SignIn => StatusCode::SEE_OTHER,
            PageError::Forbidden | PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<OpError> for PageError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::Forbidden(_) => PageError::Forbidden,
            OpError::NotFound(_) => PageError::NotFound,
            OpError::Conflict(text) | OpError::Gone(text) => PageError::Conflict(text),
            OpError::Invalid(field) => PageError::Conflict(field.to_string()),
            OpError::Store(error) => PageError::Internal(error.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        OpError::from(error).into()
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {error:#}"))
    }
}

pub type PageResult = Result<Response, PageError>;

/// Every page's middleware: an error becomes a page, a missing session a redirect.
async fn guard<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let lang = request::lang_of(&request, None);
    let outcome = next.call(request).await;
    Ok(match outcome {
        Ok(response) => response.into_response(),
        Err(error) => error_page(lang, error),
    })
}

/// The page for an error that reached the top.
fn error_page(lang: Lang, error: poem::Error) -> Response {
    let status = error.status();
    let page = match error.downcast_ref::<PageError>() {
        Some(PageError::SignIn) => {
            return Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, "/login")
                .finish()
        }
        Some(PageError::Forbidden) => "forbidden",
        Some(PageError::Csrf) => "csrf",
        Some(PageError::NotFound) => "not_found",
        Some(PageError::Conflict(_)) => "conflict",
        Some(PageError::Internal(detail)) => {
            tracing::error!(%detail, "page failed");
            "internal"
        }
        None if status == StatusCode::NOT_FOUND => "not_found",
        None if status.is_server_error() => {
            tracing::error!(error = %error, "page failed");
            "internal"
        }
        None => "bad_request",
    };
    let detail = match error.downcast_ref::<PageError>() {
        Some(PageError::Conflict(text)) => Some(text.clone()),
        _ => None,
    };
    view::error_page(lang, status, page, detail)
}
