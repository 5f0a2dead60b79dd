//! Timed work that runs beside the HTTP server.

pub mod horizon;

use tokio::task::JoinHandle;

use crate::store::Store;

/// Starts the background jobs; abort the handle to stop them.
pub fn spawn(store: Store) -> JoinHandle<()> {
    tokio::spawn(horizon::run(store))
}
