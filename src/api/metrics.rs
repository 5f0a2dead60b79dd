//! `GET /metrics`: the Prometheus text format, for a scraper holding `METRICS_TOKEN`.
//! Without a token configured the route answers 404, as if it did not exist.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Request, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::Problem;
use super::AppState;

#[handler]
pub async fn scrape(request: &Request, state: Data<&AppState>) -> Response {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "about:blank",
            "no such resource or route",
        )
        .into_response();
    };
    let given = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_token(given, token) {
        let mut response = Problem::new(
            StatusCode::UNAUTHORIZED,
            "about:blank",
            "send Authorization: Bearer <METRICS_TOKEN>",
        )
        .into_response();
        response.headers_mut().insert(
            "www-authenticate",
            poem::http::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    match state.metrics.render(&state.store).await {
        Ok(text) => Response::builder()
            .content_type(crate::metrics::CONTENT_TYPE)
            .header("cache-control", "no-store")
            .body(text),
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot read the outbox");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "about:blank",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// Compares digests in constant time: neither the token's length nor how much of it a
/// guess matched shows in the response time.
fn same_token(given: &str, expected: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given[..].ct_eq(&expected[..]).into()
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn only_the_exact_token_opens() {
        let token = "metrics-token-0123456789abcdef";
        assert!(same_token(token, token));
        assert!(!same_token("", token));
        assert!(!same_token("metrics-token-0123456789abcdeF", token));
        assert!(!same_token(&format!("{token}x"), token));
    }
}
