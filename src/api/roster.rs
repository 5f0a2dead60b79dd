use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use uuid::Uuid;

use super::auth::Auth;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::ops::roster::{roster, Roster};

pub struct RosterApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Occurrences")]
impl RosterApi {
    /// Who is expected at an occurrence, and what was recorded: the club's manager, or
    /// admin. Fetch it before the session to check people in at the door.
    #[oai(
        path = "/sessions/:session_id/occurrences/:key/roster",
        method = "get",
        operation_id = "get_roster"
    )]
    async fn roster(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        session_id: Path<Uuid>,
        key: Path<String>,
    ) -> Result<Json<Roster>, ApiError> {
        let found = roster(&state.store, &auth.0, session_id.0, &key.0).await?;
        Ok(Json(found.roster))
    }
}
