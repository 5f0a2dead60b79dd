//! The one clock of the service. Times are kept to the second: occurrence times are
//! compared as stored values, and whole seconds keep them comparable on both databases.

use chrono::{DateTime, SubsecRound, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}
