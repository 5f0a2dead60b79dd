//! Writes each reminder into the outbox shortly before it falls due, under a unique key
//! (one per enrollment, occurrence and recipient), so restarts and several instances
//! never write it twice. The worker checks it again at send time.

use std::sync::Arc;

use chrono::Duration;
use tokio::sync::watch;

use crate::config::JobTiming;
use crate::metrics::Metrics;
use crate::ops::reminders::{due, MAX_HOURS};
use crate::store::{Store, StoreResult};

pub async fn run(
    store: Store,
    metrics: Arc<Metrics>,
    timing: JobTiming,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match enqueue_due(&store, &timing).await {
            Ok(0) => {}
            Ok(n) => {
                metrics.reminders_written(n);
                tracing::info!(reminders = n, "reminders queued")
            }
            Err(error) => tracing::warn!(%error, "reminders: will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.reminder_scan) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Queues the reminders due before the next scan (and those overdue whose occurrence
/// has not started: the service may have been down). Returns how many were written.
pub async fn enqueue_due(store: &Store, timing: &JobTiming) -> StoreResult<u64> {
    let now = crate::clock::now();
    let lead = Duration::from_std(timing.reminder_scan).unwrap_or(Duration::minutes(1)) * 2;
    let candidates = store
        .reminder_candidates(now, Duration::hours(MAX_HOURS) + lead)
        .await?;
    let due = due(candidates, now, lead);
    store.enqueue_reminders(&due, now).await
}
