//! Where the master key comes from: the passphrase-sealed `master.key` (default) or the
//! `SEJF_MASTER_KEY` environment variable. The passphrase comes from `SEJF_PASSPHRASE`,
//! `--passphrase-file`, or a prompt on a terminal, in that order.

use sejf_core::FileError;
use std::io::{IsTerminal, Write};
use std::path::Path;

use sejf_crypto::{MasterKey, SealedMasterKey};
use zeroize::Zeroizing;

use crate::InstallError;
use crate::config::ConfigFile;

pub const KEY_FILE: &str = "master.key";
pub const MIN_PASSPHRASE: usize = 12;

/// How the passphrase is given.
#[derive(Debug, Clone, Default)]
pub struct PassphraseSource {
    pub file: Option<std::path::PathBuf>,
    /// A passphrase the process already holds (the demo makes its own).
    pub given: Option<Zeroizing<String>>,
}

impl PassphraseSource {
    /// Reads the passphrase; `confirm` asks twice on a terminal (for `init`).
    pub fn read(&self, confirm: bool) -> Result<Zeroizing<String>, InstallError> {
        if let Some(p) = &self.given {
            return Ok(p.clone());
        }
        // An explicit flag wins over the environment.
        if let Some(f) = &self.file {
            let text = std::fs::read_to_string(f).map_err(FileError::at("read passphrase file", f))?;
            return Ok(Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_string()));
        }
        if let Some(p) = secret_env("SEJF_PASSPHRASE")? {
            return Ok(Zeroizing::new(p));
        }
        if !std::io::stdin().is_terminal() {
            return Err(InstallError::Passphrase(
                "no passphrase: set SEJF_PASSPHRASE or SEJF_PASSPHRASE_FILE, pass --passphrase-file, or run on a terminal".into(),
            ));
        }
        let first = Zeroizing::new(
            rpassword::prompt_password("Passphrase: ").map_err(|e| InstallError::Passphrase(format!("cannot read passphrase: {e}")))?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Passphrase again: ")
                    .map_err(|e| InstallError::Passphrase(format!("cannot read passphrase: {e}")))?,
            );
            if *first != *again {
                return Err(InstallError::Passphrase("the passphrases differ".into()));
            }
        }
        Ok(first)
    }
}

fn env_key() -> Option<Zeroizing<String>> {
    std::env::var("SEJF_MASTER_KEY").ok().map(Zeroizing::new)
}

/// Creates the master key of a new installation; returns the config lines that record how.
pub fn create(data_dir: &Path, source: &PassphraseSource) -> Result<(MasterKey, ConfigFile), InstallError> {
    let mut cfg = ConfigFile::default();
    if let Some(b64) = env_key() {
        let key = MasterKey::from_base64(1, &b64).map_err(|e| InstallError::MasterKey(format!("SEJF_MASTER_KEY: {e}")))?;
        cfg.key_provider = Some("env".into());
        cfg.master_key_fingerprint = Some(key.fingerprint());
        return Ok((key, cfg));
    }
    let pass = source.read(true)?;
    if pass.chars().count() < MIN_PASSPHRASE {
        return Err(InstallError::Passphrase(format!("the passphrase must be at least {MIN_PASSPHRASE} characters")));
    }
    let key = MasterKey::generate(1)?;
    let sealed = key.seal(&pass)?;
    let json = serde_json::to_string_pretty(&sealed).map_err(|e| InstallError::MasterKey(e.to_string()))?;
    write_private(&data_dir.join(KEY_FILE), json.as_bytes())?;
    Ok((key, cfg))
}

/// Opens the master key of an existing installation.
pub fn open(data_dir: &Path, cfg: &ConfigFile, source: &PassphraseSource) -> Result<MasterKey, InstallError> {
    match cfg.key_provider.as_deref() {
        None | Some("passphrase") | Some("env") => {}
        Some(other) => {
            return Err(InstallError::InvalidConfig(format!(
                "config key_provider: unknown provider {other:?} (expected passphrase or env)"
            )));
        }
    }
    if cfg.key_provider.as_deref() == Some("env") {
        let b64 = env_key().ok_or_else(|| {
            InstallError::MasterKey("this installation takes its master key from SEJF_MASTER_KEY, which is not set".into())
        })?;
        let key = MasterKey::from_base64(1, &b64).map_err(|e| InstallError::MasterKey(format!("SEJF_MASTER_KEY: {e}")))?;
        if cfg.master_key_fingerprint.as_deref().is_some_and(|f| f != key.fingerprint()) {
            return Err(InstallError::MasterKey("SEJF_MASTER_KEY is not this installation's master key".into()));
        }
        return Ok(key);
    }
    let path = data_dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            InstallError::NotInstalled(format!(
                "no master key at {}: is this a Sejf data directory? (run `sejf init` first)",
                path.display()
            ))
        } else {
            FileError { action: "read", path: path.clone(), source: e }.into()
        }
    })?;
    let sealed: SealedMasterKey =
        serde_json::from_str(&text).map_err(|e| InstallError::MasterKey(format!("{} is not a sealed master key: {e}", path.display())))?;
    let pass = source.read(false)?;
    Ok(MasterKey::unseal(&sealed, &pass)?)
}

/// Writes a file readable by its owner only (0600), refusing to replace an existing one.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(FileError::at("create", path))?;
    Ok(f.write_all(bytes).and_then(|()| f.sync_all()).map_err(FileError::at("write", path))?)
}

/// A secret from the environment: `name`, or the content of the file `name_FILE` names
/// (without its final line break), as systemd credentials and Docker or Kubernetes secrets
/// provide them. Setting both is an error, as is an unreadable or empty file.
pub fn secret_env(name: &str) -> Result<Option<String>, InstallError> {
    let file_var = format!("{name}_FILE");
    let direct = std::env::var(name).ok();
    let Some(path) = std::env::var_os(&file_var) else { return Ok(direct) };
    if direct.is_some() {
        return Err(InstallError::Environment(format!("both {name} and {file_var} are set; set one")));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InstallError::Environment(format!("{file_var}: cannot read {}: {e}", path.to_string_lossy())))?;
    let value = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if value.is_empty() {
        return Err(InstallError::Environment(format!("{file_var}: {} is empty", path.to_string_lossy())));
    }
    Ok(Some(value.to_string()))
}
