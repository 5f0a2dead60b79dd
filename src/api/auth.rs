//! Bearer authentication: the token's hash names the account ([`crate::domain::tokens`]).

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::ApiError;
use super::AppState;
use crate::domain::access::Caller;
use crate::domain::tokens::hash_token;

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
    Ok(Caller {
        user_id: user.id,
        role: user.role,
        club_id: user.club_id,
        structure_id: user.structure_id,
    })
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
