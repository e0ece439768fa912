//! Route handlers: thin — parse a typed DTO, call one use-case, map the result.

pub mod admin;
pub mod audit;
pub mod exports;
pub mod gdpr;
pub mod people;
pub mod records;
pub mod registers;
pub mod session;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::extract::etag;

/// A JSON response with a status and, for single records, an ETag (and Location on create).
pub fn record_response<T: Serialize>(status: StatusCode, body: &T, version: i64, location: Option<String>) -> Response {
    let mut res = json_response(status, body);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut res = (status, bytes).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            res
        }
        Err(e) => crate::problem::Problem::from(sejf_core::CoreError::Internal(e.to_string())).into_response(),
    }
}

/// RFC 7396 JSON merge patch: `null` removes, objects merge recursively, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// Applies a merge patch to the input form of the current record and parses the result.
pub fn patched<T: Serialize + serde::de::DeserializeOwned>(current: &T, patch: serde_json::Value) -> Result<T, crate::problem::Problem> {
    if !patch.is_object() {
        return Err(crate::problem::Problem::field(crate::problem::ProblemType::InvalidField, "body", "a patch must be a JSON object"));
    }
    let mut base = serde_json::to_value(current).map_err(|e| sejf_core::CoreError::Internal(e.to_string()))?;
    merge_patch(&mut base, patch);
    // Absent tags mean "none" after a merge that removed them.
    serde_path_to_error::deserialize(base).map_err(|e| {
        let path = e.path().to_string();
        crate::extract::json_problem(&path, e.inner())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
    }
}
