//! How a command fails: one line on standard error and the exit code of the contract
//! (DESIGN.md: 0 success, 1 failure, 2 usage error).

use std::fmt;
use std::process::ExitCode;

use sejf_admin::AdminError;
use sejf_backup::BackupError;
use sejf_core::CoreError;
use sejf_install::InstallError;
use sejf_server::ServerError;
use sejf_transfer::TransferError;

/// A command's failure. `cli::main` is the one place that prints it and picks the exit code;
/// the commands' modules answer with text (`String`) or a core error, and `?` turns either
/// into a [`CliError::Failed`].
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong: an unknown option, a missing argument, an unreadable
    /// environment variable it names (exit code 2).
    Usage(String),
    /// The command ran and failed (exit code 1).
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }

    /// The message's first line: an error is one line on standard error.
    pub fn line(&self) -> &str {
        let (CliError::Usage(message) | CliError::Failed(message)) = self;
        message.lines().next().filter(|l| !l.trim().is_empty()).unwrap_or("failed")
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.line())
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Failed(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Failed(message.to_owned())
    }
}

/// A core error's own text: it names the field or the reason, never a value.
impl From<CoreError> for CliError {
    fn from(e: CoreError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// The installation's errors, told by their own text (no secret, no personal value).
impl From<InstallError> for CliError {
    fn from(e: InstallError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// An import's, export's or honeytoken's errors, told by their own text (no cell's value).
impl From<TransferError> for CliError {
    fn from(e: TransferError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// A backup command's errors, told by their own text (no credential, no key).
impl From<BackupError> for CliError {
    fn from(e: BackupError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// The server's start-up errors, told by their own text.
impl From<ServerError> for CliError {
    fn from(e: ServerError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// The operator's audit and GDPR commands' errors, told by their own text.
impl From<AdminError> for CliError {
    fn from(e: AdminError) -> Self {
        CliError::Failed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_and_the_contracts_exit_codes() {
        let usage = CliError::Usage("--since: not a date\nmore".into());
        assert_eq!(usage.line(), "--since: not a date");
        assert_eq!(usage.exit_code(), ExitCode::from(2));
        let failed = CliError::from(CoreError::NotFound);
        assert_eq!(failed.exit_code(), ExitCode::from(1));
        assert!(!failed.line().is_empty());
        assert_eq!(CliError::from(String::new()).line(), "failed");
    }
}
