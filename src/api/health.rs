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

    /// Readiness (no authentication): the database answers, no migration is pending
    /// and the outbox worker runs. 503 names each failing check.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadinessResponse {
        let database = match state.store.ping().await {
            Ok(()) => OK.to_owned(),
            Err(error) => {
                tracing::warn!(%error, "readiness: database unavailable");
                "unavailable".to_owned()
            }
        };
        let migrations = match state
            .store
            .migration_status()
            .await
            .map(|s| s.not_applied())
        {
            Ok(0) => OK.to_owned(),
            Ok(n) => format!("{n} pending"),
            Err(error) => {
                tracing::warn!(%error, "readiness: cannot read the applied migrations");
                "unknown".to_owned()
            }
        };
        let mail_worker = mail_worker_check(
            state.metrics.mail_worker_last_run(),
            chrono::Utc::now(),
            state.config.jobs.mail_poll,
        );
        let checks = ReadinessChecks {
            database,
            migrations,
            mail_worker,
        };
        let ready = [&checks.database, &checks.migrations, &checks.mail_worker]
            .iter()
            .all(|check| *check == OK);
        let status = if ready { "ok" } else { "unavailable" }.to_owned();
        let body = Json(Readiness { status, checks });
        if ready {
            ReadinessResponse::Ready(body)
        } else {
            ReadinessResponse::Unavailable(body)
        }
    }
}

/// Each check of `/readyz`: `ok`, or what is wrong.
#[derive(Object, Debug, PartialEq, Eq)]
pub struct ReadinessChecks {
    /// The database answers a query.
    pub database: String,
    /// Every migration built into this binary is applied (else `N pending`).
    pub migrations: String,
    /// This instance's outbox worker looked at the outbox recently.
    pub mail_worker: String,
}

#[derive(Object)]
pub struct Readiness {
    /// `ok`, or `unavailable` when a check failed.
    pub status: String,
    pub checks: ReadinessChecks,
}

#[derive(ApiResponse)]
pub enum ReadinessResponse {
    /// Ready to take traffic.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// A check failed; `checks` names it.
    #[oai(status = 503)]
    Unavailable(Json<Readiness>),
}

const OK: &str = "ok";

/// The worker looks at the outbox every `poll` when idle, and between batches when
/// busy; three missed looks (at least a minute, so a slow batch is not taken for a
/// dead worker) mean it is stuck or gone.
pub fn mail_worker_check(
    last_run: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
    poll: std::time::Duration,
) -> String {
    let limit = (poll * 3).max(std::time::Duration::from_secs(60));
    match last_run {
        None => "not running".to_owned(),
        Some(at) => {
            let ago = (now - at).to_std().unwrap_or_default();
            if ago <= limit {
                OK.to_owned()
            } else {
                format!("last ran {} s ago", ago.as_secs())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, Utc};

    use super::mail_worker_check;

    #[test]
    fn the_worker_is_late_after_three_polls_and_at_least_a_minute() {
        let now = Utc::now();
        let poll = Duration::from_secs(2);
        assert_eq!(mail_worker_check(None, now, poll), "not running");
        let ago = |s| Some(now - TimeDelta::seconds(s));
        assert_eq!(mail_worker_check(ago(59), now, poll), "ok");
        assert_eq!(mail_worker_check(ago(60), now, poll), "ok");
        assert_eq!(mail_worker_check(ago(312), now, poll), "last ran 312 s ago");
        let slow = Duration::from_secs(120);
        assert_eq!(mail_worker_check(ago(312), now, slow), "ok");
        assert_eq!(mail_worker_check(ago(361), now, slow), "last ran 361 s ago");
    }
}
