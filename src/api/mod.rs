//! HTTP only: parse the request, call one operation (`crate::ops`) or a read of the
//! store, render the answer; every error as problem+json.

pub mod attendance;
pub mod auth;
mod body;
pub mod calendar;
pub mod clubs;
pub mod enrollments;
pub mod error;
pub mod health;
pub mod metrics;
pub mod occurrences;
pub mod outbox;

mod pagination;
pub mod participants;
pub mod roster;
pub mod rsvp;

pub mod sessions;
pub mod stats;
pub mod structures;
pub mod users;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{OpenApiService, Tags};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub use crate::state::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness.
    Health,
    /// Partner social organisations.
    Structures,
    /// Accounts and tokens.
    Users,
    /// Partner sports clubs.
    Clubs,
    /// Recurring sessions published by clubs.
    Sessions,
    /// Dated instances of sessions.
    Occurrences,
    /// People followed by social workers (personal data).
    Participants,
    /// Places in sessions and occurrences.
    Enrollments,
    /// Email delivery (admin).
    Outbox,
    /// The programme's impact: encounters.
    Stats,
}

type Apis = (
    health::HealthApi,
    structures::StructuresApi,
    users::UsersApi,
    clubs::ClubsApi,
    sessions::SessionsApi,
    occurrences::OccurrencesApi,
    roster::RosterApi,
    attendance::AttendanceApi,
    participants::ParticipantsApi,
    enrollments::EnrollmentsApi,
    stats::StatsApi,
    outbox::OutboxApi,
);

pub fn openapi(public_url: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            structures::StructuresApi,
            users::UsersApi,
            clubs::ClubsApi,
            sessions::SessionsApi,
            occurrences::OccurrencesApi,
            roster::RosterApi,
            attendance::AttendanceApi,
            participants::ParticipantsApi,
            enrollments::EnrollmentsApi,
            stats::StatsApi,
            outbox::OutboxApi,
        ),
        "Entourage Sport",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Partner clubs keep places in their recurring sessions for people in precarity; \
         social workers enrol the people they follow. Authenticate with \
         `Authorization: Bearer <token>`. Every error is `application/problem+json` \
         (RFC 9457).",
    )
    .server(public_url)
}

/// The whole HTTP application.
/// The whole HTTP application; `pages` adds the web pages' routes (`crate::web`),
/// which answer HTML, errors included.
pub fn app(state: AppState, pages: impl FnOnce(Route) -> Route) -> impl Endpoint {
    let api = openapi(&state.config.public_url);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let schemas = body::Schemas::new(&api.spec());
    let metrics = state.metrics.clone();
    pages(Route::new())
        .nest("/", api)
        .at("/openapi.json", spec)
        .at("/metrics", poem::get(metrics::scrape))
        .at("/rsvp/:token", poem::get(rsvp::show).post(rsvp::answer))
        .at(
            "/calendar/participants/:file",
            poem::get(calendar::participant_feed),
        )
        .at("/calendar/clubs/:file", poem::get(calendar::club_feed))
        .nest("/docs", docs)
        .around(body::guard)
        .data(schemas)
        .data(state)
        .catch_all_error(error::into_problem)
        // A bug that panics answers 500 (logged and counted below), not a dropped
        // connection.
        .with(poem::middleware::CatchPanic::new())
        .around(move |next, request| log_request(next, request, metrics.clone()))
}

/// What a request is counted and logged under: the API's operation id, else the
/// innermost route pattern poem matched (`/app/sessions/:session_id`; `/app` when the
/// pages' sign-in guard answered before their routes), else `other` (no route: the
/// API's catch-all nest at `/` leaves an empty pattern). Never the raw path, which
/// holds ids, door codes and signed tokens.
fn operation_of(response: &Response) -> Cow<'static, str> {
    if let Some(id) = response.data::<poem_openapi::OperationId>() {
        return Cow::Borrowed(id.0);
    }
    match response.data::<poem::PathPattern>() {
        Some(pattern) if !pattern.0.is_empty() && &*pattern.0 != "/" => {
            Cow::Owned(pattern.0.to_string())
        }
        _ => Cow::Borrowed("other"),
    }
}

/// Logs one line per request: method, route (the operation, never the raw path, which
/// may hold identifiers or secret tokens), status, latency and a request id; counts it
/// in the metrics.
async fn log_request<E: Endpoint>(
    next: E,
    request: Request,
    metrics: Arc<crate::metrics::Metrics>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut response = next.get_response(request).await.into_response();
    let route = operation_of(&response);
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    tracing::info!(
        target: "http",
        %method,
        route = %route,
        status,
        latency_ms = elapsed * 1000.0,
        request_id = %request_id,
        "request"
    );
    metrics.request(route, status, elapsed);
    if let Ok(value) = request_id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    Ok(response)
}
