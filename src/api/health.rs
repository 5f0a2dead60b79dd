use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, AppState};

#[derive(Object)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
    pub database: String,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The service and its database answer.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database does not answer.
    #[oai(status = 503)]
    Unavailable(Json<Health>),
}

pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness and database check (no authentication).
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self, state: Data<&AppState>) -> HealthResponse {
        let database = state.store.backend().to_owned();
        match state.store.ping().await {
            Ok(()) => HealthResponse::Ok(Json(Health {
                status: "ok".into(),
                database,
            })),
            Err(error) => {
                tracing::warn!(%error, "health check: database unavailable");
                HealthResponse::Unavailable(Json(Health {
                    status: "unavailable".into(),
                    database,
                }))
            }
        }
    }
}
