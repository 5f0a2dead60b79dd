//! Signing in as a browser does, shared by the benchmarks that measure pages
//! (`#[path]`-included: examples have no common crate).
//!
//! The sign-in link's token (the newest login link of the account, signed as the email
//! would carry it), `GET /login/{token}` (the `es_pre` cookie and the form's
//! `csrf_token`), `POST /login/{token}`, and the `es_session` cookie of the 303 answer.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use uuid::Uuid;

use entourage_sport::domain::rsvp::Signer;
use entourage_sport::store::Store;

/// Signs an account in as a browser does and answers the `es_session` value.
pub async fn sign_in(
    base: &str,
    store: &Store,
    signer: &Signer,
    user_id: Uuid,
) -> Result<String, String> {
    // The link the welcome email carries: the newest for that account.
    let query = "SELECT id FROM login_links WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1";
    let link_id: Uuid = match store {
        Store::Sqlite { pool, .. } => {
            sqlx::query_scalar(query)
                .bind(user_id)
                .fetch_one(pool)
                .await
        }
        Store::Postgres(pool) => {
            sqlx::query_scalar(query)
                .bind(user_id)
                .fetch_one(pool)
                .await
        }
    }
    .map_err(|e| format!("the account's sign-in link: {e}"))?;
    let token = signer.sign_in_token(link_id);
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let url = format!("{base}/login/{token}");

    let response = browser
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET /login/…: {e}"))?;
    if response.status() != StatusCode::OK {
        return Err(format!("GET /login/…: {}", response.status()));
    }
    let pre = cookie_of(&response, "es_pre").ok_or("GET /login/…: no es_pre cookie")?;
    let html = response
        .text()
        .await
        .map_err(|e| format!("GET /login/…: {e}"))?;
    let csrf =
        hidden_field(&html, "csrf_token").ok_or("GET /login/…: no csrf_token in the form")?;

    let form = serde_urlencoded::to_string([("csrf_token", csrf.as_str())])
        .map_err(|e| format!("form: {e}"))?;
    let response = browser
        .post(&url)
        .header(COOKIE, format!("es_pre={pre}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| format!("POST /login/…: {e}"))?;
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let session = cookie_of(&response, "es_session");
    if status != StatusCode::SEE_OTHER || location != "/app" {
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "POST /login/…: {status} to {location:?}: {}",
            body.chars().take(600).collect::<String>()
        ));
    }
    session.ok_or_else(|| "POST /login/…: 303 without an es_session cookie".into())
}

/// The value a `Set-Cookie` header of `response` gives `name`.
fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix(&prefix))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        .find(|value| !value.is_empty())
}

/// The value of the first hidden input named `name` of a page.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned()).filter(|v| !v.is_empty())
}
