//! Bearer tokens: 256 random bits shown once, kept only as a SHA-256 hash.

use base64::Engine;
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::domain::access::{Caller, Role};

const TOKEN_PREFIX: &str = "es_";

/// The authenticated caller of an operation.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "authenticate")]
pub struct Auth(pub Caller);

async fn authenticate(request: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = request
        .data::<AppState>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let user = state
        .store
        .user_by_token_hash(&hash_token(&bearer.token))
        .await
        .map_err(ApiError::from)?
        .filter(|user| !user.disabled)
        .ok_or(ApiError::Unauthorized)?;
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::Internal(format!("unknown role {:?}", user.role)))?;
    Ok(Caller {
        user_id: user.id,
        role,
        club_id: user.club_id,
        structure_id: user.structure_id,
    })
}

/// A new random token, and the hash to store.
pub fn new_token() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let hash = hash_token(&token);
    (token, hash)
}

/// Tokens carry 256 bits of randomness, so a plain (fast) hash is enough: there is
/// nothing to brute-force, and a stolen table reveals no usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl Auth {
    pub fn require_admin(&self) -> Result<&Caller, ApiError> {
        if self.0.is_admin() {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(
                "only programme staff (admin) may do this",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.len() >= 3 + 43);
        assert_eq!(hash_token(&a), hash_a);
        assert!(!hash_a.contains(&a));
    }
}
