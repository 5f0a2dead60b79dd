//! Cursors (`crate::domain::cursor`) and page sizes of the API's lists.

use super::error::ApiError;

pub use crate::domain::cursor::encode;

pub fn decode<T: serde::de::DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    Ok(crate::domain::cursor::decode(cursor)?)
}

/// A page size within `1..=max`, `default` when absent.
pub fn limit(requested: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match requested {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {max}"),
        )),
    }
}
