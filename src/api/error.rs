//! Every error leaves the service as `application/problem+json` (RFC 9457).
//!
//! Handlers return [`ApiError`]; everything else that fails before or around them
//! (unknown route, wrong method, unparsable parameter, oversized body, missing token) is
//! a `poem::Error` that [`into_problem`] turns into the same shape at the outermost layer.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

use crate::domain::FieldError;
use crate::ops::OpError;
use crate::store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The input field at fault, when there is one.
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Response::builder()
            .status(status)
            .content_type(PROBLEM_JSON)
            .body(self.to_json_string())
    }
}

/// What a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Well-formed input that breaks a rule: 422 naming the field.
    #[error("{0}")]
    Invalid(FieldError),
    #[error("authentication required: send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// It existed but is over (an RSVP link after the session started).
    #[error("{0}")]
    Gone(String),
    /// Something on our side; the detail goes to the log, not to the caller.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(FieldError::new(field, message))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let (kind, field) = match self {
            Self::Invalid(error) => ("/problems/invalid-field", Some(error.field.clone())),
            Self::Unauthorized => ("/problems/unauthenticated", None),
            Self::Forbidden(_) => ("/problems/forbidden", None),
            Self::NotFound(_) => ("about:blank", None),
            Self::Conflict(_) => ("/problems/conflict", None),
            Self::Gone(_) => ("/problems/gone", None),
            Self::Internal(_) => ("about:blank", None),
        };
        Problem {
            field,
            ..Problem::new(self.status(), kind, self.to_string())
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Invalid(error)
    }
}

/// Store errors mean what they mean to an operation (one mapping, in `ops`).
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        crate::ops::OpError::from(error).into()
    }
}

impl From<OpError> for ApiError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::Invalid(field) => Self::Invalid(field),
            OpError::Forbidden(why) => Self::Forbidden(why),
            OpError::NotFound(what) => Self::NotFound(what),
            OpError::Conflict(why) => Self::Conflict(why),
            OpError::Gone(why) => Self::Gone(why),
            OpError::Store(cause) => Self::Internal(cause.to_string()),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        if let Self::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = self.problem().into_response();
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(
                "www-authenticate",
                poem::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        poem::error::ResponseError::as_response(&self)
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let problem = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: PROBLEM_JSON,
                schema: Problem::schema_ref(),
            }],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                problem(
                    400,
                    "Malformed request (unparsable JSON, parameter or body)",
                ),
                problem(401, "Missing, unknown or disabled token"),
                problem(403, "The caller's role does not allow this"),
                problem(404, "Not found, or not visible to the caller"),
                problem(409, "Conflicts with the current state"),
                problem(422, "A field breaks a rule; `field` names it"),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turns any error that escaped the handlers into a problem document.
pub async fn into_problem(error: poem::Error) -> Response {
    if error.is::<ApiError>() {
        return error.into_response();
    }
    // What the request is counted and logged under (see `api::log_request`).
    let operation = error.data::<poem_openapi::OperationId>().copied();
    let pattern = error.data::<poem::PathPattern>().cloned();
    let status = error.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such resource or route".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not accept that method".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body exceeds 1 MiB".to_owned(),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized.to_string(),
        status if status.is_server_error() => {
            tracing::error!(error = %error, "request failed");
            "internal error".to_owned()
        }
        _ => error.to_string(),
    };
    let kind = if status == StatusCode::BAD_REQUEST {
        "/problems/malformed-request"
    } else {
        "about:blank"
    };
    let mut problem = Problem::new(status, kind, detail);
    problem.field = field_of_parse_error(&problem.detail);
    let mut response = problem.into_response();
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    if let Some(pattern) = pattern {
        response.set_data(pattern);
    }
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            poem::http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// poem-openapi names the parameter or JSON field in its parse errors
/// (`failed to parse parameter `from``, `(occurred while parsing "capacity")`).
fn field_of_parse_error(detail: &str) -> Option<String> {
    let between = |open: &str, close: char| {
        detail
            .rfind(open)
            .map(|i| &detail[i + open.len()..])
            .and_then(|rest| rest.split(close).next())
            .map(str::to_owned)
    };
    between("parameter `", '`').or_else(|| between("while parsing \"", '"'))
}

/// Names what was not found, for store lookups.
pub trait OrNotFound<T> {
    fn or_not_found(self, what: &'static str) -> Result<T, ApiError>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| match error {
            StoreError::NotFound => ApiError::NotFound(what),
            other => other.into(),
        })
    }
}
