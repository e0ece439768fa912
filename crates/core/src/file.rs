//! A file or directory the host could not read, create, write, rename or remove. One error
//! serves every host crate (installation, backups, import and export, the operator's
//! commands): its text is the one line the operator sees, naming what was tried and where.

use std::path::PathBuf;

/// What was tried on which path, and why it failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", .path.display())]
pub struct FileError {
    /// The verb the operator reads: "read", "create", "write", "rename", "read TLS key", …
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// For `map_err`: the failure of `action` on `path`.
    pub fn at(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.into();
        move |source| FileError { action, path, source }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_action_the_path_and_the_cause() {
        let e = FileError::at("read", "/srv/sejf/config.toml")(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.to_string(), "cannot read /srv/sejf/config.toml: entity not found");
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "entity not found");
    }
}
