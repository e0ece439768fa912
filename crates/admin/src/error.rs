//! How the operator's audit and GDPR commands fail. Every variant's text is the one line the
//! operator sees on standard error; it names a person only by id, never by a value.

use sejf_core::{CoreError, FileError};
use sejf_install::InstallError;

/// The errors of `sejf-admin`.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A file or directory could not be read, created, written, renamed or removed.
    #[error(transparent)]
    File(#[from] FileError),
    /// An argument that names nothing valid: a key, a person id, a time, a missing reason.
    #[error("{0}")]
    Invalid(String),
    /// The audit trail, a witness file or an inclusion proof does not check out, or two pinned
    /// audit keys disagree.
    #[error("{0}")]
    Untrusted(String),
    /// The database holds no audit signing key to pin.
    #[error("the database holds no audit signing key; an installation gets one from `sejf init`")]
    NoAuditKey,
    /// A retention run that left people it selected not erased (they are listed).
    #[error("{0} people could not be erased; see the list")]
    NotAllErased(usize),
    /// Writing to standard output or a report failed.
    #[error(transparent)]
    Stream(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Core(#[from] CoreError),
}
