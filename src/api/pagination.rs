//! Opaque cursors for keyset pagination: the position of the last item seen.

use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};

use super::error::ApiError;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode<T: Serialize>(position: &T) -> String {
    ENGINE.encode(serde_json::to_vec(position).unwrap_or_default())
}

pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    ENGINE
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ApiError::invalid("cursor", "not a cursor from a previous page of this list")
        })
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
