//! How opening, creating or checking an installation fails. Every variant's text is the one
//! line the operator sees on standard error; none names a secret or a personal value.

use std::path::PathBuf;

use sejf_core::{CoreError, FileError, StoreError};
use sejf_crypto::CryptoError;
use sejf_policy::PolicyError;

use crate::config::ConfigError;

/// The errors of `sejf-install`.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The data directory holds no installation (no master key, no configuration).
    #[error("{0}")]
    NotInstalled(String),
    /// `init` found something already there: a non-empty directory or a used database.
    #[error("{0}")]
    AlreadyInstalled(String),
    /// A restore was killed midway; the database must not be served until it is finished or
    /// discarded.
    #[error(
        "the database holds an unfinished restore of backup {0}: finish it (`sejf backup restore`) or discard it (`sejf backup discard-restore`)"
    )]
    RestorePending(String),
    /// A file or directory could not be read, created, written, renamed or removed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The database could not be reached (its URL without the password).
    #[error("database {url}: {source}")]
    Database { url: String, source: StoreError },
    /// A configuration value out of range or unreadable (`config …`).
    #[error("{0}")]
    InvalidConfig(String),
    /// A secret given through the environment (`NAME` or `NAME_FILE`) is unusable.
    #[error("{0}")]
    Environment(String),
    /// No passphrase, or one that cannot be used.
    #[error("{0}")]
    Passphrase(String),
    /// The master key is missing, malformed or not this installation's.
    #[error("{0}")]
    MasterKey(String),
    /// A policy file that fails to parse or validate.
    #[error("{}: {source}", .path.display())]
    PolicyFile { path: PathBuf, source: PolicyError },
    /// An argument of a `sejf policy` command that names nothing valid.
    #[error("{0}")]
    Argument(String),
    /// A user or record a command names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// TLS material that cannot be used (the file at fault is named).
    #[error("{0}")]
    Tls(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Core(#[from] CoreError),
}
