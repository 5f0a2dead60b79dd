//! Timed work that runs beside the HTTP server: the occurrence horizon, reminders and
//! the outbox worker.

pub mod horizon;
pub mod reminders;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::AppState;

/// The running jobs.
pub struct Jobs {
    stop: watch::Sender<bool>,
    horizon: JoinHandle<()>,
    stoppable: Vec<JoinHandle<()>>,
}

pub fn spawn(state: &AppState) -> Jobs {
    let (stop, stopping) = watch::channel(false);
    let timing = state.config.jobs.clone();
    let stoppable = vec![
        tokio::spawn(crate::mail::worker::run(
            state.store.clone(),
            state.mailer.clone(),
            timing.clone(),
            stopping.clone(),
        )),
        tokio::spawn(reminders::run(state.store.clone(), timing, stopping)),
    ];
    Jobs {
        stop,
        horizon: tokio::spawn(horizon::run(state.store.clone())),
        stoppable,
    }
}

impl Jobs {
    /// Asks the worker to finish what is in flight and hand back the rest, waiting at
    /// most `grace`.
    pub async fn stop(self, grace: Duration) {
        self.horizon.abort();
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
