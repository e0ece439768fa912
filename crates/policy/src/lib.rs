//! Sejf's authorisation policy: who may do what to which record, and which classes of a
//! record's fields they may see, decided by Cedar policies validated against a schema.
//!
//! The default policy set (`policies/default.cedar`) and the schema
//! (`policies/sejf.cedarschema`) are compiled into the binary; an edited policy file can be
//! loaded instead and is held to the same strict validation, so a policy that names something
//! the schema does not know is refused before it can silently fail to apply.
//!
//! Invariants the rest of Sejf relies on:
//! - default deny: anything no policy permits is denied, and a `forbid` beats any `permit`;
//! - an evaluation error never allows (Cedar skips the failing policy; the error is reported);
//! - every policy has a unique `@id`, and decisions name the policies that made them by it;
//! - this crate does no I/O except [`PolicyEngine::load`]; the only state kept between calls
//!   is the memo of `record_view` answers, which cannot change an answer (see `memo`).

mod engine;
mod load;
mod memo;
mod model;
mod slice;

pub use engine::PolicyEngine;
pub use model::{Action, Context, Decision, FieldClass, FieldClasses, Principal, RecordKind, Resource};
pub use sejf_domain::roles::Role;

/// Why a policy set could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The text is not Cedar; the message names the line and column.
    #[error("policy syntax error: {0}")]
    Parse(String),
    /// The text is Cedar but breaks a rule: no or duplicate `@id`, a template, or strict
    /// validation against the schema failed; the message names the policy and line.
    #[error("invalid policy: {0}")]
    Validation(String),
    /// The policy file could not be read.
    #[error("cannot read policy file: {0}")]
    Io(String),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
