//! Accounts and their bearer tokens (kept only as hashes).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    conflict_on_unique, on_pool, on_tx, on_writer, touched, Store, StoreError, StoreResult, Tx,
};
use crate::domain::access::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub name: String,
    pub email: String,
    pub club_id: Option<Uuid>,
    pub structure_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The account a token hash belongs to, disabled or not.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<User>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(
                "SELECT id, role, name, email, club_id, structure_id, disabled, created_at
                 FROM users WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn user(&self, id: Uuid) -> StoreResult<User> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(
                "SELECT id, role, name, email, club_id, structure_id, disabled, created_at
                 FROM users WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    pub async fn users(&self) -> StoreResult<Vec<User>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(
                "SELECT id, role, name, email, club_id, structure_id, disabled, created_at
                 FROM users ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Gives a club manager another club, or a social worker another structure.
    pub async fn move_user(
        &self,
        id: Uuid,
        club_id: Option<Uuid>,
        structure_id: Option<Uuid>,
    ) -> StoreResult<()> {
        let changed = on_writer!(self, |pool| {
            sqlx::query("UPDATE users SET club_id = $2, structure_id = $3 WHERE id = $1")
                .bind(id)
                .bind(club_id)
                .bind(structure_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        touched(changed)
    }

    /// Disabling also ends the account's browser sessions.
    pub async fn set_user_disabled(&self, id: Uuid, disabled: bool) -> StoreResult<()> {
        let changed = on_writer!(self, |pool| {
            let changed = sqlx::query("UPDATE users SET disabled = $2 WHERE id = $1")
                .bind(id)
                .bind(disabled)
                .execute(pool)
                .await?
                .rows_affected();
            if disabled {
                sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
            changed
        });
        touched(changed)
    }

    /// Replaces the user's token; the old one stops working at once.
    pub async fn replace_token(
        &self,
        id: Uuid,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let changed = on_writer!(self, |pool| {
            sqlx::query("UPDATE users SET token_hash = $2, token_rotated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(token_hash)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        touched(changed)
    }
}

impl Tx {
    pub async fn insert_user(&mut self, user: &User, token_hash: &str) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO users (id, role, name, email, club_id, structure_id, token_hash,
                                    disabled, created_at, token_rotated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(user.id)
            .bind(user.role.as_str())
            .bind(&user.name)
            .bind(&user.email)
            .bind(user.club_id)
            .bind(user.structure_id)
            .bind(token_hash)
            .bind(user.disabled)
            .bind(user.created_at)
            .execute(&mut *conn)
            .await
            .map_err(conflict_on_unique("a user with this email already exists"))?;
        });
        Ok(())
    }
}
