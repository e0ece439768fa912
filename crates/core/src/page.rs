//! Cursor pagination: opaque cursors over the stable id order (UUIDv7, creation order).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sejf_domain::ValidationErrors;
use uuid::Uuid;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// One page of results and the cursor of the next, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<Uuid>, ValidationErrors> {
    let Some(c) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| ValidationErrors::single("cursor", "is not a cursor this server issued"))?;
    Uuid::from_slice(&bytes).map(Some).map_err(|_| ValidationErrors::single("cursor", "is not a cursor this server issued"))
}

pub fn check_limit(limit: Option<u32>) -> Result<u32, ValidationErrors> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(ValidationErrors::single("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}
