//! Sejf's domain: the CRM's records, their validation, roles and the error type that names a
//! field. No I/O and no async here; every value that crosses this boundary has been parsed.

pub mod fields;
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

/// `Debug` for a type that carries secrets or personal data: the type's name and the listed
/// fields (ids, versions, units), and `..` for the rest, so a log line, a panic message or a
/// `{:?}` in an error never prints a password, token, code or personal value.
///
/// ```
/// struct LoginIn { username: String, password: String }
/// sejf_domain::redacted_debug!(LoginIn { username });
/// let s = format!("{:?}", LoginIn { username: "ewa".into(), password: "hunter2".into() });
/// assert_eq!(s, r#"LoginIn { username: "ewa", .. }"#);
/// ```
#[macro_export]
macro_rules! redacted_debug {
    ($t:ident { $($shown:ident),* $(,)? }) => {
        impl ::core::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($t))$(.field(stringify!($shown), &self.$shown))*.finish_non_exhaustive()
            }
        }
    };
}
