//! Timed work that runs beside the HTTP server: the occurrence horizon, reminders,
//! the outbox worker, and the pruning of old sign-in traces.

pub mod horizon;
pub mod reminders;
pub mod sign_ins;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::JobTiming;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::store::Store;

/// The running jobs.
pub struct Jobs {
    stop: watch::Sender<bool>,
    horizon: JoinHandle<()>,
    sign_ins: JoinHandle<()>,
    stoppable: Vec<JoinHandle<()>>,
}

pub fn spawn(
    store: &Store,
    mailer: &Arc<Mailer>,
    metrics: &Arc<Metrics>,
    timing: &JobTiming,
) -> Jobs {
    let (stop, stopping) = watch::channel(false);
    let stoppable = vec![
        tokio::spawn(crate::mail::worker::run(
            store.clone(),
            mailer.clone(),
            metrics.clone(),
            timing.clone(),
            stopping.clone(),
        )),
        tokio::spawn(reminders::run(
            store.clone(),
            metrics.clone(),
            timing.clone(),
            stopping,
        )),
    ];
    Jobs {
        stop,
        horizon: tokio::spawn(horizon::run(store.clone())),
        sign_ins: tokio::spawn(sign_ins::run(store.clone())),
        stoppable,
    }
}

impl Jobs {
    /// Asks the worker to finish what is in flight and hand back the rest, waiting at
    /// most `grace`.
    pub async fn stop(self, grace: Duration) {
        self.horizon.abort();
        self.sign_ins.abort();
        let _ = self.stop.send(true);
        let all = futures_join(self.stoppable);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("background jobs did not stop in time");
        }
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}
