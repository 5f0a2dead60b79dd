//! What every request handler can reach, in the API and in the pages.

use std::sync::Arc;

use crate::config::Config;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub mailer: Arc<Mailer>,
    pub metrics: Arc<Metrics>,
}
