//! Partner social organisations.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on_pool, on_writer, touched, Store, StoreError, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Structure {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub city: String,
    pub contact_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn insert_structure(&self, structure: &Structure) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO structures (id, name, kind, city, contact_email, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(structure.id)
            .bind(&structure.name)
            .bind(&structure.kind)
            .bind(&structure.city)
            .bind(&structure.contact_email)
            .bind(structure.created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn update_structure(&self, structure: &Structure) -> StoreResult<()> {
        let changed = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE structures SET name = $2, kind = $3, city = $4, contact_email = $5
                 WHERE id = $1",
            )
            .bind(structure.id)
            .bind(&structure.name)
            .bind(&structure.kind)
            .bind(&structure.city)
            .bind(&structure.contact_email)
            .execute(pool)
            .await?
            .rows_affected()
        });
        touched(changed)
    }

    pub async fn structure(&self, id: Uuid) -> StoreResult<Structure> {
        on_pool!(self, |pool| {
            sqlx::query_as::<_, Structure>(
                "SELECT id, name, kind, city, contact_email, created_at FROM structures WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound)
        })
    }

    pub async fn structures(&self) -> StoreResult<Vec<Structure>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, Structure>(
                "SELECT id, name, kind, city, contact_email, created_at FROM structures ORDER BY name, id",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
