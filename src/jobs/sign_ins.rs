//! Forgets what sign-in leaves behind once it can serve nothing: sessions unused for
//! longer than they last, spent or expired links, counts older than any limit's window.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::ops::sign_in::SESSION_IDLE_DAYS;
use crate::store::Store;

const PERIOD: StdDuration = StdDuration::from_secs(3600);

pub async fn run(store: Store) {
    loop {
        let before = crate::clock::now() - Duration::days(SESSION_IDLE_DAYS);
        match store.prune_sign_ins(before).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "old sign-in traces removed"),
            Err(error) => tracing::warn!(%error, "sign-in traces: will retry"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}
