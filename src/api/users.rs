use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::{new_token, Auth};
use super::error::{ApiError, OrNotFound};
use super::{ApiTags, AppState};
use crate::accounts::{create_user, NewUser};
use crate::store::users::User;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleName {
    Admin,
    ClubManager,
    SocialWorker,
}

impl RoleName {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::ClubManager => "club_manager",
            Self::SocialWorker => "social_worker",
        }
    }
}

#[derive(Object)]
pub struct UserView {
    pub id: Uuid,
    /// `admin`, `club_manager` or `social_worker`.
    pub role: String,
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
    pub role: RoleName,
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
    /// A disabled user's token is refused (401).
    pub disabled: Option<bool>,
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
        auth.require_admin()?;
        let body = body.0;
        let (user, token) = create_user(
            &state.store,
            NewUser {
                role: body.role.as_str().to_owned(),
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
        let caller = auth.require_admin()?;
        if let Some(disabled) = body.disabled {
            if disabled && caller.user_id == user_id.0 {
                return Err(ApiError::invalid(
                    "disabled",
                    "you cannot disable your own account",
                ));
            }
            state
                .store
                .set_user_disabled(user_id.0, disabled)
                .await
                .or_not_found("user")?;
        }
        Ok(Json(
            state
                .store
                .user(user_id.0)
                .await
                .or_not_found("user")?
                .into(),
        ))
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
        let (token, hash) = new_token();
        state
            .store
            .replace_token(auth.0.user_id, &hash, crate::clock::now())
            .await
            .or_not_found("user")?;
        Ok(Json(NewToken { token }))
    }
}
