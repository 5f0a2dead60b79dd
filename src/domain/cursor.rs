//! Opaque cursors for keyset pagination: the position of the last item seen, for the
//! API's lists and the pages alike.

use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};

use super::FieldError;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode<T: Serialize>(position: &T) -> String {
    ENGINE.encode(serde_json::to_vec(position).unwrap_or_default())
}

pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, FieldError> {
    ENGINE
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| FieldError::new("cursor", "not a cursor from a previous page of this list"))
}
