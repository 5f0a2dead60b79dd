//! Who is signed in, and the CSRF check of every form that changes something.
//!
//! A signed-in browser holds a random id in the `es_session` cookie (HttpOnly,
//! SameSite=Lax, Secure under https); the database holds its hash, the account and the
//! session's CSRF token. A session ends after 14 days unused, on sign-out, or at once
//! when its account is disabled (the lookup joins enabled accounts only).
//! Forms without a session (sign-in) tie their token to an `es_pre` cookie instead.

use chrono::Duration;
use poem::http::{header, Method};
use poem::{FromRequest, Request, RequestBody};

use super::forms::Fields;
use super::request::{cookie, lang_of};
use super::PageError;
use crate::domain::access::Caller;
use crate::domain::tokens::hash_token;
use crate::mail::lang::Lang;
use crate::ops::sign_in::SESSION_IDLE_DAYS;
use crate::state::AppState;
use crate::store::users::User;

pub const SESSION_COOKIE: &str = "es_session";
pub const PRE_COOKIE: &str = "es_pre";

/// `last_seen` is written at most this often: most pages then read and never write.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The signed-in user of a page.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub caller: Caller,
    pub csrf_token: String,
    pub lang: Lang,
    pub session_hash: String,
}

fn state(request: &Request) -> Result<&AppState, PageError> {
    request
        .data::<AppState>()
        .ok_or_else(|| PageError::Internal("application state missing".into()))
}

impl<'a> FromRequest<'a> for SignedIn {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(signed_in(request).await?.ok_or(PageError::SignIn)?)
    }
}

impl SignedIn {
    /// The club of a signed-in club manager; every other role gets a 403 page on a
    /// club's own pages (programme staff manage clubs from theirs).
    pub fn own_club(&self) -> Result<uuid::Uuid, PageError> {
        match (self.user.role, self.user.club_id) {
            (crate::domain::access::Role::ClubManager, Some(club_id)) => Ok(club_id),
            _ => Err(PageError::Forbidden),
        }
    }
}

/// The session a request carries, if it is still valid.
pub async fn signed_in(request: &Request) -> Result<Option<SignedIn>, PageError> {
    let Some(id) = cookie(request, SESSION_COOKIE) else {
        return Ok(None);
    };
    let state = state(request)?;
    let now = crate::clock::now();
    let hash = hash_token(&id);
    let Some(session) = state
        .store
        .web_session(&hash, now - Duration::days(SESSION_IDLE_DAYS))
        .await?
    else {
        return Ok(None);
    };
    if now - session.last_seen >= Duration::seconds(TOUCH_EVERY_SECONDS) {
        state.store.touch_web_session(&hash, now).await?;
    }
    let user = session.user;
    Ok(Some(SignedIn {
        caller: Caller {
            user_id: user.id,
            role: user.role,
            club_id: user.club_id,
            structure_id: user.structure_id,
        },
        lang: lang_of(request, session.lang.as_deref()),
        user,
        csrf_token: session.csrf_token,
        session_hash: hash,
    }))
}

/// A form posted by a signed-in user, its CSRF token checked: a handler taking it
/// cannot forget the check.
pub struct Posted {
    pub me: SignedIn,
    pub fields: Fields,
}

impl<'a> FromRequest<'a> for Posted {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let me = SignedIn::from_request(request, body).await?;
        let fields = Fields::from_request(request, body).await?;
        if request.method() != Method::POST || !same(fields.get("csrf_token"), &me.csrf_token) {
            return Err(PageError::Csrf.into());
        }
        Ok(Posted { me, fields })
    }
}

/// A form posted without a session (sign-in), its token tied to the `es_pre` cookie.
pub struct AnonymousPost {
    pub fields: Fields,
}

impl<'a> FromRequest<'a> for AnonymousPost {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let fields = Fields::from_request(request, body).await?;
        let state = state(request)?;
        let expected = cookie(request, PRE_COOKIE).map(|seed| anonymous_token(state, &seed));
        match expected {
            Some(expected) if same(fields.get("csrf_token"), &expected) => {
                Ok(AnonymousPost { fields })
            }
            _ => Err(PageError::Csrf.into()),
        }
    }
}

/// The CSRF token of a form shown without a session, derived from its cookie.
pub fn anonymous_token(state: &AppState, seed: &str) -> String {
    state
        .mailer
        .signer
        .derive("anonymous form", seed.as_bytes())
}

/// Compares in constant time: how much of a token matches never shows in timing.
pub fn same(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    !expected.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure under https.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_days: Option<i64>) -> String {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = match max_age_days {
        Some(days) => format!("; Max-Age={}", days * 86_400),
        None => String::new(),
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")
}

/// The header that drops a cookie.
pub fn clear_cookie(name: &str) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    )
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abd", "abc"));
        assert!(!same("ab", "abc"));
        assert!(!same("", ""));
    }
}
