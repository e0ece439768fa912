//! Sejf's domain: the CRM's records, their validation, roles and the error type that names a
//! field. No I/O and no async here; every value that crosses this boundary has been parsed.

pub mod net;
pub mod people;
pub mod records;
pub mod roles;
pub mod text;
pub mod values;

use serde::Serialize;

/// One refused input: which field, and why (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// Every refused field of one input, so a client can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), reason: reason.into() });
    }

    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.push(field, reason);
        e
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(v)` when nothing was refused.
    pub fn into_result<T>(self, v: T) -> Result<T, Self> {
        if self.0.is_empty() { Ok(v) } else { Err(self) }
    }
}
