use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::Auth;
use super::error::{ApiError, OrNotFound};
use super::{ApiTags, AppState};
use crate::ops::structures::{create_structure, StructureFields};
use crate::store::structures::Structure;

/// A partner social organisation (shelter, association, public service).
#[derive(Object)]
pub struct StructureView {
    pub id: Uuid,
    pub name: String,
    /// What kind of organisation, e.g. `shelter`, `association`, `public_service`.
    pub kind: String,
    pub city: String,
    pub contact_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Structure> for StructureView {
    fn from(s: Structure) -> Self {
        Self {
            id: s.id,
            name: s.name,
            kind: s.kind,
            city: s.city,
            contact_email: s.contact_email,
            created_at: s.created_at,
        }
    }
}

#[derive(Object)]
pub struct CreateStructure {
    pub name: String,
    pub kind: String,
    pub city: String,
    pub contact_email: Option<String>,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Created(Json<StructureView>),
}

pub struct StructuresApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Structures")]
impl StructuresApi {
    /// Sign a partner organisation (admin).
    #[oai(
        path = "/structures",
        method = "post",
        operation_id = "create_structure"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        body: Json<CreateStructure>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let fields = StructureFields {
            name: b.name,
            kind: b.kind,
            city: b.city,
            contact_email: b.contact_email,
        };
        let structure = create_structure(&state.store, &auth.0, fields).await?;
        Ok(Created::Created(Json(structure.into())))
    }

    /// List partner organisations (admin).
    #[oai(path = "/structures", method = "get", operation_id = "list_structures")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
    ) -> Result<Json<Vec<StructureView>>, ApiError> {
        auth.require_admin()?;
        let structures = state.store.structures().await?;
        Ok(Json(structures.into_iter().map(Into::into).collect()))
    }

    /// One organisation: admins, and its own social workers.
    #[oai(
        path = "/structures/:structure_id",
        method = "get",
        operation_id = "get_structure"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        structure_id: Path<Uuid>,
    ) -> Result<Json<StructureView>, ApiError> {
        if !auth.0.is_admin() && auth.0.structure_id != Some(structure_id.0) {
            return Err(ApiError::NotFound("structure"));
        }
        let structure = state
            .store
            .structure(structure_id.0)
            .await
            .or_not_found("structure")?;
        Ok(Json(structure.into()))
    }
}
