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

/// A command's failure. `cli::main` is the one place that prints it and picks the exit code.
/// Each host crate answers with its own error enum (`InstallError`, `TransferError`,
/// `BackupError`, `ServerError`, `AdminError`), core with `CoreError`; `?` maps each, once and
/// here, to a [`CliError::Failed`] carrying the enum's text. The one usage error a crate
/// produces (an unreadable `SEJF_DATABASE_URL`/`_FILE`) is mapped to [`CliError::Usage`] where
/// `cli::main` reads it.
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

/// A core error's own text: it names the field or the reason, never a value.
impl From<CoreError> for CliError {
    fn from(e: CoreError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// Each host crate's error, told by its own text (which names no secret and no personal value);
/// all of them are failures of a command that ran (exit code 1).
macro_rules! failed_from {
    ($($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for CliError {
                fn from(e: $error) -> Self {
                    CliError::Failed(e.to_string())
                }
            }
        )+
    };
}

failed_from!(InstallError, TransferError, BackupError, ServerError, AdminError);

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
        assert_eq!(CliError::Failed(String::new()).line(), "failed");
    }
}
