use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::{ApiError, OrNotFound};
use super::{ApiTags, AppState};
use crate::domain::access::Role;
use crate::ops::users::{self, Actor, NewUser, UserChanges};
use crate::store::users::User;

#[derive(Object)]
pub struct UserView {
    pub id: Uuid,
    pub role: Role,
    pub name: String,
    pub email: String,
    /// The one club of a club manager.
    pub club_id: Option<Uuid>,
    /// The one structure of a social worker.
    pub structure_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            role: u.role,
            name: u.name,
            email: u.email,
            club_id: u.club_id,
            structure_id: u.structure_id,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

#[derive(Object)]
pub struct CreateUser {
    pub role: Role,
    pub name: String,
    pub email: String,
    /// Required for a club manager.
    pub club_id: Option<Uuid>,
    /// Required for a social worker.
    pub structure_id: Option<Uuid>,
}

#[derive(Object)]
pub struct CreatedUser {
    pub user: UserView,
    /// The bearer token, shown this once only.
    pub token: String,
}

#[derive(Object)]
pub struct NewToken {
    /// The new bearer token, shown this once only; the previous one no longer works.
    pub token: String,
}

#[derive(Object)]
pub struct UpdateUser {
    /// A disabled user's token is refused (401); their browser sessions end.
    pub disabled: Option<bool>,
    /// Another club, for a club manager.
    pub club_id: Option<Uuid>,
    /// Another structure, for a social worker.
    pub structure_id: Option<Uuid>,
}

#[derive(ApiResponse)]
pub enum UserCreated {
    #[oai(status = 201)]
    Created(Json<CreatedUser>),
}

pub struct UsersApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Create an account (admin). The answer holds its token, shown once.
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        body: Json<CreateUser>,
    ) -> Result<UserCreated, ApiError> {
        let body = body.0;
        let (user, token) = users::create_user(
            &state.store,
            &state.mailer.signer,
            Actor::Caller(&auth.0),
            NewUser {
                role: body.role,
                name: body.name,
                email: body.email,
                club_id: body.club_id,
                structure_id: body.structure_id,
            },
        )
        .await?;
        Ok(UserCreated::Created(Json(CreatedUser {
            user: user.into(),
            token,
        })))
    }

    /// List accounts (admin).
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
    ) -> Result<Json<Vec<UserView>>, ApiError> {
        auth.require_admin()?;
        Ok(Json(
            state
                .store
                .users()
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Disable or re-enable an account (admin).
    #[oai(
        path = "/users/:user_id",
        method = "patch",
        operation_id = "update_user"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        user_id: Path<Uuid>,
        body: Json<UpdateUser>,
    ) -> Result<Json<UserView>, ApiError> {
        let user = users::update_user(
            &state.store,
            &auth.0,
            user_id.0,
            UserChanges {
                disabled: body.disabled,
                club_id: body.club_id,
                structure_id: body.structure_id,
            },
        )
        .await?;
        Ok(Json(user.into()))
    }

    /// The caller's own account.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: Auth, state: Data<&AppState>) -> Result<Json<UserView>, ApiError> {
        Ok(Json(
            state
                .store
                .user(auth.0.user_id)
                .await
                .or_not_found("user")?
                .into(),
        ))
    }

    /// Replace the caller's token; the answer holds the new one, shown once.
    #[oai(path = "/me/token", method = "post", operation_id = "rotate_token")]
    async fn rotate_token(
        &self,
        auth: Auth,
        state: Data<&AppState>,
    ) -> Result<Json<NewToken>, ApiError> {
        let token = users::rotate_own_token(&state.store, &auth.0).await?;
        Ok(Json(NewToken { token }))
    }
}
