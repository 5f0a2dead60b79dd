//! Sign-in links, the sign-in form's rate-limit counts, browser sessions and the
//! language a user chose for the pages.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::users::User;
use super::{on_pool, on_tx, on_writer, Store, StoreResult, Tx};
use crate::domain::messages::MessageKind;

/// A signed-in browser, with the account behind it (never a disabled one).
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf_token: String,
    pub lang: Option<String>,
    pub last_seen: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: User,
    csrf_token: String,
    lang: Option<String>,
    last_seen: DateTime<Utc>,
}

const USER_COLUMNS: &str = "u.id, u.role, u.name, u.email, u.club_id, u.structure_id, \
                            u.disabled, u.created_at";

impl Store {
    /// The enabled account with this address (compared without case), if any.
    pub async fn active_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, User>(
                "SELECT id, role, name, email, club_id, structure_id, disabled, created_at
                 FROM users WHERE lower(email) = lower($1) AND NOT disabled",
            )
            .bind(email.trim())
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The session behind a cookie, if it exists, was used since `unused_since` and
    /// belongs to an enabled account.
    pub async fn web_session(
        &self,
        id_hash: &str,
        unused_since: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS}, w.csrf_token, u.lang, w.last_seen
                 FROM web_sessions w JOIN users u ON u.id = w.user_id
                 WHERE w.id_hash = $1 AND w.last_seen >= $2 AND NOT u.disabled"
            )))
            .bind(id_hash)
            .bind(unused_since)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| WebSession {
            user: r.user,
            csrf_token: r.csrf_token,
            lang: r.lang,
            last_seen: r.last_seen,
        }))
    }

    pub async fn touch_web_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("UPDATE web_sessions SET last_seen = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn end_web_session(&self, id_hash: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets sessions unused since `before` and sign-in traces older than `before`.
    pub async fn prune_sign_ins(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut removed = 0;
        for statement in [
            "DELETE FROM web_sessions WHERE last_seen < $1",
            "DELETE FROM login_requests WHERE at < $1",
            "DELETE FROM login_links WHERE expires_at < $1",
        ] {
            removed += on_writer!(self, |pool| {
                sqlx::query(statement)
                    .bind(before)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(removed)
    }

    pub async fn set_user_lang(&self, user_id: Uuid, lang: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("UPDATE users SET lang = $2 WHERE id = $1")
                .bind(user_id)
                .bind(lang)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// Notes one use of the sign-in form and answers how many uses the address and the
    /// client made since `since`, this one included.
    pub async fn count_login_request(
        &mut self,
        email_hash: &str,
        client_hash: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<(i64, i64)> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO login_requests (email_hash, client_hash, at) VALUES ($1, $2, $3)",
            )
            .bind(email_hash)
            .bind(client_hash)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            let by_email: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM login_requests WHERE email_hash = $1 AND at >= $2",
            )
            .bind(email_hash)
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
            let by_client: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM login_requests WHERE client_hash = $1 AND at >= $2",
            )
            .bind(client_hash)
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
            Ok((by_email, by_client))
        })
    }

    /// Stores a sign-in link and queues the email that carries it.
    pub async fn insert_login_link(
        &mut self,
        id: Uuid,
        user_id: Uuid,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let kind = MessageKind::SignIn.as_str();
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO login_links (id, user_id, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(user_id)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO outbox (id, dedupe_key, kind, audience, user_id, detail, status,
                    available_at, attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, 'user', $4, $5, 'pending', $6, 0, $6, $6)",
            )
            .bind(Uuid::new_v4())
            .bind(format!("{kind}:{id}"))
            .bind(kind)
            .bind(user_id)
            .bind(id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Uses up the sign-in link with this token hash, if it is unused, unexpired and
    /// its account enabled; answers the account.
    pub async fn use_login_link(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        on_tx!(self, |conn| {
            let user_id: Option<Uuid> = sqlx::query_scalar(
                "UPDATE login_links SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING user_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            Ok(sqlx::query_as::<_, User>(
                "SELECT id, role, name, email, club_id, structure_id, disabled, created_at
                 FROM users WHERE id = $1 AND NOT disabled",
            )
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?)
        })
    }

    pub async fn insert_web_session(
        &mut self,
        id_hash: &str,
        user_id: Uuid,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, last_seen)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(id_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE users SET last_signed_in_at = $2 WHERE id = $1")
                .bind(user_id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }
}

/// A sign-in link as the mail worker reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginLink {
    pub link_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub user: User,
    pub lang: Option<String>,
}

impl Store {
    /// When each account last signed in to the pages, for accounts that ever did.
    pub async fn last_sign_ins(&self) -> StoreResult<Vec<(Uuid, DateTime<Utc>)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (Uuid, DateTime<Utc>)>(
                "SELECT id, last_signed_in_at FROM users WHERE last_signed_in_at IS NOT NULL",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn login_link(&self, id: Uuid) -> StoreResult<Option<LoginLink>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, LoginLink>(sqlx::AssertSqlSafe(format!(
                "SELECT l.id AS link_id, l.expires_at, l.used_at, {USER_COLUMNS}, u.lang
                 FROM login_links l JOIN users u ON u.id = l.user_id WHERE l.id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        }))
    }
}
