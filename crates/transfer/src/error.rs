//! How an import, an export or a honeytoken command fails. Every variant's text is the one line
//! the operator sees on standard error: it names the file, line and column, never a cell's value.

use std::path::PathBuf;

use sejf_core::import::ImportError;
use sejf_core::{CoreError, FileError};
use sejf_crypto::CryptoError;

/// The errors of `sejf-transfer`.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A file or directory could not be read, created, written, renamed or removed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not CSV or vCard as Sejf reads them: its encoding, header line or a row.
    #[error("{0}")]
    Format(String),
    /// An option names something that does not exist or cannot be used (`--map`, `--owner`, …).
    #[error("{0}")]
    Argument(String),
    /// `--resume` found that the file was imported completely before: nothing to do.
    #[error("{} was imported completely before (--resume found its finished run); nothing to do", .0.display())]
    AlreadyImported(PathBuf),
    /// Writing the export failed (standard output or the file).
    #[error(transparent)]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Core(#[from] CoreError),
}
