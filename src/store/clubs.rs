//! Partner sports clubs.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::outbox::{MessageKind, Notice, Target};
use super::{from_json, on_pool, on_tx, to_json, Store, StoreError, StoreResult, Tx};
use crate::domain::clubs::PartnershipStatus;
use crate::domain::validate::search_key;

#[derive(Debug, Clone, PartialEq)]
pub struct Club {
    pub id: Uuid,
    pub name: String,
    pub sports: Vec<String>,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub accessibility_notes: Option<String>,
    pub partnership_status: PartnershipStatus,
    pub partnership_since: Option<NaiveDate>,
    pub partnership_until: Option<NaiveDate>,
    pub partnership_notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a club's address reads on one line.
pub fn address_line(address: &str, postal_code: &str, city: &str) -> String {
    format!("{address}, {postal_code} {city}")
}

impl Club {
    pub fn address_line(&self) -> String {
        address_line(&self.address, &self.postal_code, &self.city)
    }
}

#[derive(sqlx::FromRow)]
struct ClubRow {
    id: Uuid,
    name: String,
    sports: String,
    address: String,
    postal_code: String,
    city: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    accessibility_notes: Option<String>,
    partnership_status: String,
    partnership_since: Option<NaiveDate>,
    partnership_until: Option<NaiveDate>,
    partnership_notes: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ClubRow> for Club {
    type Error = StoreError;

    fn try_from(row: ClubRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            name: row.name,
            sports: from_json(&row.sports)?,
            address: row.address,
            postal_code: row.postal_code,
            city: row.city,
            latitude: row.latitude,
            longitude: row.longitude,
            contact_email: row.contact_email,
            contact_phone: row.contact_phone,
            accessibility_notes: row.accessibility_notes,
            partnership_status: PartnershipStatus::try_from(row.partnership_status)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            partnership_since: row.partnership_since,
            partnership_until: row.partnership_until,
            partnership_notes: row.partnership_notes,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Filters of the club list; `after` is the (name, id) of the last club already seen.
#[derive(Debug, Clone, Default)]
pub struct ClubFilter {
    pub sport: Option<String>,
    pub city: Option<String>,
    pub partnership: Option<PartnershipStatus>,
    pub after: Option<(String, Uuid)>,
    pub limit: i64,
}

impl Tx {
    /// Writes the club's sports, the list the `sport` filter reads.
    async fn insert_sports(&mut self, club: &Club) -> StoreResult<()> {
        for (position, sport) in club.sports.iter().enumerate() {
            on_tx!(&mut *self, |conn| {
                sqlx::query(
                    "INSERT INTO club_sports (club_id, sport, position) VALUES ($1, $2, $3)",
                )
                .bind(club.id)
                .bind(sport)
                .bind(position as i32)
                .execute(&mut *conn)
                .await?;
            });
        }
        Ok(())
    }
}

impl Store {
    pub async fn insert_club(&self, club: &Club) -> StoreResult<()> {
        let mut tx = self.write().await?;
        on_tx!(&mut tx, |tx| {
            sqlx::query(
                "INSERT INTO clubs (id, name, sports, address, postal_code, city, city_key,
                    latitude, longitude, contact_email, contact_phone, accessibility_notes,
                    partnership_status, partnership_since, partnership_until, partnership_notes,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(club.id)
            .bind(&club.name)
            .bind(to_json(&club.sports))
            .bind(&club.address)
            .bind(&club.postal_code)
            .bind(&club.city)
            .bind(search_key(&club.city))
            .bind(club.latitude)
            .bind(club.longitude)
            .bind(&club.contact_email)
            .bind(&club.contact_phone)
            .bind(&club.accessibility_notes)
            .bind(club.partnership_status.as_str())
            .bind(club.partnership_since)
            .bind(club.partnership_until)
            .bind(&club.partnership_notes)
            .bind(club.created_at)
            .bind(club.updated_at)
            .execute(&mut *tx)
            .await?;
        });
        tx.insert_sports(club).await?;
        tx.commit().await
    }

    /// Writes every field of `club`; its sessions' searchable city follows. With
    /// `calendars_change` (its name or address changed), every confirmed enrollment in
    /// its sessions gets a calendar update.
    pub async fn update_club(&self, club: &Club, calendars_change: bool) -> StoreResult<()> {
        let mut tx = self.write().await?;
        on_tx!(&mut tx, |tx| {
            let changed = sqlx::query(
                "UPDATE clubs SET name = $2, sports = $3, address = $4, postal_code = $5,
                    city = $6, city_key = $7, latitude = $8, longitude = $9, contact_email = $10,
                    contact_phone = $11, accessibility_notes = $12, partnership_status = $13,
                    partnership_since = $14, partnership_until = $15, partnership_notes = $16,
                    updated_at = $17
                 WHERE id = $1",
            )
            .bind(club.id)
            .bind(&club.name)
            .bind(to_json(&club.sports))
            .bind(&club.address)
            .bind(&club.postal_code)
            .bind(&club.city)
            .bind(search_key(&club.city))
            .bind(club.latitude)
            .bind(club.longitude)
            .bind(&club.contact_email)
            .bind(&club.contact_phone)
            .bind(&club.accessibility_notes)
            .bind(club.partnership_status.as_str())
            .bind(club.partnership_since)
            .bind(club.partnership_until)
            .bind(&club.partnership_notes)
            .bind(club.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM club_sports WHERE club_id = $1")
                .bind(club.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE occurrences SET city_key = $2 WHERE club_id = $1")
                .bind(club.id)
                .bind(search_key(&club.city))
                .execute(&mut *tx)
                .await?;
        });
        tx.insert_sports(club).await?;
        if calendars_change {
            let mut update =
                Notice::new(MessageKind::Update, Target::Club(club.id), club.updated_at);
            update.new_sequence = true;
            update.detail = Some("session_changed");
            tx.enqueue(&update).await?;
        }
        tx.commit().await
    }

    pub async fn club(&self, id: Uuid) -> StoreResult<Club> {
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, ClubRow>(
                "SELECT id, name, sports, address, postal_code, city, latitude, longitude,
                    contact_email, contact_phone, accessibility_notes, partnership_status,
                    partnership_since, partnership_until, partnership_notes, created_at, updated_at
                 FROM clubs WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Clubs sorted by name, one page at a time.
    /// Every club's id and name, for the lists of a form (no limit: a select that
    /// silently missed the later clubs would be worse than a long one).
    pub async fn club_names(&self) -> StoreResult<Vec<(Uuid, String)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, name FROM clubs ORDER BY name, id")
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn clubs(&self, filter: &ClubFilter) -> StoreResult<Vec<Club>> {
        let (after_name, after_id) = filter.after.clone().unwrap_or_default();
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ClubRow>(
                "SELECT id, name, sports, address, postal_code, city, latitude, longitude,
                    contact_email, contact_phone, accessibility_notes, partnership_status,
                    partnership_since, partnership_until, partnership_notes, created_at, updated_at
                 FROM clubs c
                 WHERE ($1 IS NULL OR EXISTS (
                        SELECT 1 FROM club_sports s WHERE s.club_id = c.id AND s.sport = $1))
                   AND ($2 IS NULL OR c.city_key = $2)
                   AND (c.name, c.id) > ($3, $4)
                   AND ($6 IS NULL OR c.partnership_status = $6)
                 ORDER BY c.name, c.id
                 LIMIT $5",
            )
            .bind(filter.sport.as_deref().map(search_key))
            .bind(filter.city.as_deref().map(search_key))
            .bind(after_name)
            .bind(after_id)
            .bind(filter.limit)
            .bind(filter.partnership.map(|p| p.as_str()))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Club::try_from).collect()
    }
}
