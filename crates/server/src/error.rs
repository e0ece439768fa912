//! How starting the server fails. Every variant's text is the one line the operator sees on
//! standard error before the process exits; once serving, failures are logged, not returned.

use sejf_core::CoreError;
use sejf_install::InstallError;

/// The errors of `sejf-server`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener's address is taken or not ours to bind.
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    /// SIGHUP (the reload signal) cannot be handled.
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
    /// An alert setting in config.toml that cannot be used (`config alert_…`).
    #[error("{0}")]
    InvalidConfig(String),
    /// Alert delivery could not be set up (the webhook client or the syslog socket).
    #[error("{0}")]
    Alerts(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Core(#[from] CoreError),
}
