//! Keeps the cross-club search's materialised occurrences reaching the horizon as days
//! pass: open-ended rules get new occurrences, old ones age out.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::domain::schedule::SEARCH_HORIZON_DAYS;
use crate::planning::refresh_search_rows;
use crate::store::{Store, StoreResult};

/// Refresh a session once its rows reach less than this far beyond the horizon.
const SLACK_DAYS: i64 = 7;
const BATCH: i64 = 200;
const PERIOD: StdDuration = StdDuration::from_secs(3600);

pub async fn run(store: Store) {
    loop {
        match extend(&store).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "occurrence horizon extended"),
            Err(error) => tracing::warn!(%error, "occurrence horizon: will retry"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}

/// Refreshes every session whose rows stop short of the horizon; returns how many.
pub async fn extend(store: &Store) -> StoreResult<usize> {
    let now = crate::clock::now();
    let due_before = now + Duration::days(SEARCH_HORIZON_DAYS - SLACK_DAYS);
    let mut refreshed = 0;
    loop {
        let due = store
            .sessions_materialized_before(due_before, BATCH)
            .await?;
        if due.is_empty() {
            return Ok(refreshed);
        }
        let mut progressed = false;
        for session_id in &due {
            progressed |= refresh_search_rows(store, *session_id, now).await?;
            refreshed += 1;
        }
        if !progressed {
            return Ok(refreshed);
        }
    }
}
