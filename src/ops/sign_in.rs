//! Sign-in without passwords: a link emailed through the outbox (single use, 15
//! minutes), then a browser session kept in the database.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use uuid::Uuid;

use super::OpResult;
use crate::domain::rsvp::Signer;
use crate::domain::tokens::hash_token;
use crate::store::users::User;
use crate::store::{Store, Tx};

/// How long an emailed link signs in.
pub const LINK_MINUTES: i64 = 15;
/// The window the sign-in form's limits count in.
pub const LIMIT_WINDOW_MINUTES: i64 = 10;
/// Links one address may ask for in the window.
pub const LIMIT_PER_ADDRESS: i64 = 5;
/// Requests one client may make in the window, whatever the addresses.
pub const LIMIT_PER_CLIENT: i64 = 20;
/// A browser session ends after this many days unused.
pub const SESSION_IDLE_DAYS: i64 = 14;

/// Writes a sign-in link for `user` and queues its email, inside `tx`.
pub async fn write_link(
    tx: &mut Tx,
    signer: &Signer,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> OpResult<()> {
    let id = Uuid::new_v4();
    let hash = hash_token(&signer.sign_in_token(id));
    tx.insert_login_link(
        id,
        user_id,
        &hash,
        now,
        now + Duration::minutes(LINK_MINUTES),
    )
    .await?;
    Ok(())
}

/// What became of a request of the sign-in form. The page answers the same whatever
/// it is; only tests and logs tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    Sent,
    UnknownAddress,
    Limited,
}

/// The sign-in form: counts the request (by address and by client, both hashed), and
/// emails a link when the address has an enabled account and neither limit is reached.
pub async fn request_link(
    store: &Store,
    signer: &Signer,
    email: &str,
    client: &str,
) -> OpResult<LinkRequest> {
    let now = crate::clock::now();
    let email = email.trim().to_lowercase();
    let user = store.active_user_by_email(&email).await?;
    let mut tx = store.write().await?;
    let (by_address, by_client) = tx
        .count_login_request(
            &hash_token(&format!("email:{email}")),
            &hash_token(&format!("client:{client}")),
            now,
            now - Duration::minutes(LIMIT_WINDOW_MINUTES),
        )
        .await?;
    let outcome = if by_address > LIMIT_PER_ADDRESS || by_client > LIMIT_PER_CLIENT {
        LinkRequest::Limited
    } else if let Some(user) = user {
        write_link(&mut tx, signer, user.id, now).await?;
        LinkRequest::Sent
    } else {
        LinkRequest::UnknownAddress
    };
    tx.commit().await?;
    Ok(outcome)
}

/// A new browser session: the cookie's value, and the session's CSRF token.
pub struct NewSession {
    pub cookie: String,
    pub csrf_token: String,
    pub user: User,
}

/// Uses up a sign-in link and opens a session; `None` when the link is unknown, used,
/// expired, or its account disabled.
pub async fn sign_in(store: &Store, token: &str) -> OpResult<Option<NewSession>> {
    let now = crate::clock::now();
    let mut tx = store.write().await?;
    let Some(user) = tx.use_login_link(&hash_token(token), now).await? else {
        return Ok(None);
    };
    let cookie = random_secret();
    let csrf_token = random_secret();
    tx.insert_web_session(&hash_token(&cookie), user.id, &csrf_token, now)
        .await?;
    tx.commit().await?;
    Ok(Some(NewSession {
        cookie,
        csrf_token,
        user,
    }))
}

/// 256 random bits, URL-safe.
pub fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
