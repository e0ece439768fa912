//! How a backup command fails. Every variant's text is the one line the operator sees on
//! standard error; none names a credential, a key or a personal value.

use sejf_core::{CoreError, FileError, StoreError};
use sejf_crypto::CryptoError;
use sejf_install::InstallError;

/// The errors of `sejf-backup`.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file or directory could not be read, created, written, renamed or removed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The target cannot be used or reached: no such directory, an unsupported URL, S3
    /// credentials missing or an S3 request refused.
    #[error("{0}")]
    Target(String),
    /// There is no (complete) backup where one was asked for.
    #[error("{0}")]
    NoBackup(String),
    /// A manifest or ledger that is not signed by the pinned key, not readable, or not this
    /// backup's.
    #[error("{0}")]
    Manifest(String),
    /// A part whose stored bytes, decryption or rows differ from its manifest, or a restored
    /// copy that does not check out.
    #[error("{0}")]
    Damaged(String),
    /// What the command was given cannot be used: a recipient, a key, an identity file, a
    /// backup id, or options that do not go together.
    #[error("{0}")]
    Invalid(String),
    /// The database holds a backup signing key other than the one config.toml pins.
    #[error("the backup signing key in the database is not the one config.toml pins (backup_public_key)")]
    SigningKeyMismatch,
    /// The backup was made by a Sejf with another schema version.
    #[error("backup {id} has schema version {found}, this sejf has {known}: restore it with the Sejf version that made it, then upgrade")]
    SchemaMismatch { id: String, found: i64, known: i64 },
    /// The database could not be reached (its URL without the password).
    #[error("database {url}: {source}")]
    Database { url: String, source: StoreError },
    /// Taking the snapshot of the database failed.
    #[error("backup {id}: {source}")]
    Snapshot { id: String, source: StoreError },
    /// A restore that failed midway; the database holds a marker until it is finished or
    /// discarded.
    #[error("restore of backup {id} failed: {reason}")]
    RestoreFailed { id: String, reason: String },
    /// The restore finished but could not be recorded in the restored audit trail.
    #[error("cannot record the restore in the audit trail: {0}")]
    RestoreNotAudited(StoreError),
    /// Reading or writing a part's stream failed.
    #[error(transparent)]
    Stream(#[from] std::io::Error),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Core(#[from] CoreError),
}
