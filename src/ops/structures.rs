//! Partner social organisations: programme staff sign and keep them.

use uuid::Uuid;

use super::access::found;
use super::{OpError, OpResult};
use crate::domain::access::Caller;
use crate::domain::validate::{email, optional_text, required_text};
use crate::domain::FieldError;
use crate::store::structures::Structure;
use crate::store::Store;

/// A structure as typed.
#[derive(Debug, Clone)]
pub struct StructureFields {
    pub name: String,
    /// What kind of organisation, e.g. `shelter`, `association`, `public_service`.
    pub kind: String,
    pub city: String,
    pub contact_email: Option<String>,
}

fn admin_only(caller: &Caller) -> OpResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(OpError::Forbidden(
            "only programme staff (admin) may do this",
        ))
    }
}

fn checked(
    id: Uuid,
    fields: &StructureFields,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Result<Structure, FieldError> {
    Ok(Structure {
        id,
        name: required_text("name", &fields.name, 200)?,
        kind: required_text("kind", &fields.kind, 100)?,
        city: required_text("city", &fields.city, 100)?,
        contact_email: optional_text("contact_email", fields.contact_email.as_deref(), 254)?
            .map(|e| email("contact_email", &e))
            .transpose()?,
        created_at,
    })
}

/// Signs a partner organisation (programme staff).
pub async fn create_structure(
    store: &Store,
    caller: &Caller,
    fields: StructureFields,
) -> OpResult<Structure> {
    admin_only(caller)?;
    let structure = checked(Uuid::new_v4(), &fields, crate::clock::now())?;
    store.insert_structure(&structure).await?;
    Ok(structure)
}

/// Changes an organisation's details (programme staff).
pub async fn update_structure(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    fields: StructureFields,
) -> OpResult<Structure> {
    admin_only(caller)?;
    let current = found(store.structure(id).await, "structure")?;
    let structure = checked(id, &fields, current.created_at)?;
    found(store.update_structure(&structure).await, "structure")?;
    Ok(structure)
}
