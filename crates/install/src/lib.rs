//! An installation: where it lives (data directory, database, how its master key is opened)
//! and opening it for a command. Every command that works on an installation starts here.
//!
//! The installation's parts each have a module: its configuration file (`config`), the sealed
//! master key and how its passphrase arrives (`keyfile`), the Cedar policy files (`policyfile`)
//! and the TLS material the server and the backup client use (`tls`).

pub mod config;
mod error;
pub mod keyfile;
pub mod policyfile;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sejf_core::{App, FileError, SystemClock};
use sejf_store::SqlStore;

use sejf_domain::roles::Role;

use crate::config::{CONFIG_FILE, ConfigFile, DB_FILE, DEFAULT_CONFIG};
use crate::keyfile::PassphraseSource;

pub use crate::error::InstallError;

/// Where the installation lives; shared by every command.
#[derive(Debug, Clone)]
pub struct Location {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub passphrase: PassphraseSource,
}

impl Location {
    /// The database URL: given explicitly, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| sejf_store::sqlite_url(&self.data_dir.join(DB_FILE)))
    }
}

/// An opened installation.
pub struct Opened {
    pub app: Arc<App>,
    pub config: ConfigFile,
    pub store: SqlStore,
    /// The audit witness file: signed checkpoints, outside the database.
    pub witness: std::path::PathBuf,
}

/// The witness file of an installation.
pub const WITNESS_FILE: &str = "audit-witness.jsonl";

/// Opens an existing installation. The master key is opened before the database is touched,
/// so a wrong passphrase changes nothing.
pub async fn open(loc: &Location) -> Result<Opened, InstallError> {
    open_with(loc, |_| {}).await
}

/// [`open`], with a last word on the settings (the demo switches MFA off).
pub async fn open_with(loc: &Location, tweak: impl FnOnce(&mut sejf_core::Settings)) -> Result<Opened, InstallError> {
    if !loc.data_dir.join(keyfile::KEY_FILE).exists() && !loc.data_dir.join(crate::config::CONFIG_FILE).exists() {
        return Err(InstallError::NotInstalled(format!("{} is not a Sejf data directory (run `sejf init` first)", loc.data_dir.display())));
    }
    let config = ConfigFile::load(&loc.data_dir)?;
    let mut settings = config.settings()?;
    tweak(&mut settings);
    config.limits()?;
    config.connection_limits()?;
    let master = keyfile::open(&loc.data_dir, &config, &loc.passphrase)?;
    let url = loc.database_url();
    let store = SqlStore::connect(&url).await.map_err(|source| InstallError::Database { url: sejf_store::redact_url(&url), source })?;
    // A restore killed midway left an empty database behind a marker: never serve it.
    if let Some(id) = sejf_store::backup::restore_pending(&store).await? {
        store.close().await;
        return Err(InstallError::RestorePending(id));
    }
    let app = App::new(Arc::new(store.clone()), master, settings, Arc::new(SystemClock)).await?;
    // The installation's policies, validated against the schema before anything is served.
    app.set_policy(crate::policyfile::load(&loc.data_dir)?);
    // The audit key is pinned outside the database: the sealer signs with no other.
    if let Some(pin) = config.audit_pin()? {
        app.pin_audit_key(pin);
    }
    Ok(Opened { app: Arc::new(app), config, store, witness: loc.data_dir.join(WITNESS_FILE) })
}

/// Whether a data directory exists and holds anything.
pub fn is_nonempty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}

/// `sejf init`: refuses a non-empty data directory; cleans up after itself on failure.
pub async fn init(loc: &Location) -> Result<(), InstallError> {
    init_quiet(loc, true).await.map(|_| ())
}

/// Creates an installation; returns the admin password. Prints it when `print` is set.
pub async fn init_quiet(loc: &Location, print: bool) -> Result<String, InstallError> {
    let dir = &loc.data_dir;
    if is_nonempty_dir(dir) {
        return Err(InstallError::AlreadyInstalled(format!("refusing to initialise: {} exists and is not empty", dir.display())));
    }
    let created = !dir.exists();
    create_private_dir(dir)?;
    let result = init_inner(loc, print).await;
    if result.is_err() {
        // Leave nothing half-made behind: the next `init` must be able to start afresh.
        if created {
            let _ = std::fs::remove_dir_all(dir);
        } else if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    result
}

async fn init_inner(loc: &Location, print: bool) -> Result<String, InstallError> {
    let (master, cfg) = keyfile::create(&loc.data_dir, &loc.passphrase)?;
    let mut text = String::from(DEFAULT_CONFIG);
    if let (Some(p), Some(f)) = (&cfg.key_provider, &cfg.master_key_fingerprint) {
        text.push_str(&format!("\nkey_provider = \"{p}\"\nmaster_key_fingerprint = \"{f}\"\n"));
    }
    keyfile::write_private(&crate::policyfile::path(&loc.data_dir), sejf_policy::PolicyEngine::DEFAULT_POLICIES.as_bytes())?;
    let url = loc.database_url();
    if loc.database_url.is_none() {
        // Create the database file private (0600) before SQLite opens it.
        keyfile::write_private(&loc.data_dir.join(crate::config::DB_FILE), b"")?;
    }
    let store =
        sejf_store::SqlStore::connect(&url).await.map_err(|source| InstallError::Database { url: sejf_store::redact_url(&url), source })?;
    let app = sejf_core::App::new(std::sync::Arc::new(store.clone()), master, cfg.settings()?, std::sync::Arc::new(sejf_core::SystemClock))
        .await?;
    if !app.users().await?.is_empty() {
        return Err(InstallError::AlreadyInstalled("the database already holds a Sejf installation; use a fresh database".into()));
    }
    let (password, generated) = match keyfile::secret_env("SEJF_ADMIN_PASSWORD")? {
        Some(p) if !p.is_empty() => (p, false),
        _ => (sejf_crypto::token::password(20)?, true),
    };
    app.create_user("admin", Role::Admin, &[], &password).await?;
    // The audit signing key is made here and nowhere else; its public key is pinned outside the
    // database, in config.toml and in the witness file's header, and the first checkpoint signs
    // what init itself recorded.
    let public = app.create_audit_key().await?;
    let witness = loc.data_dir.join(WITNESS_FILE);
    sejf_core::witness::create(&witness, &public).map_err(FileError::at("create", &witness))?;
    text.push_str(&format!(
        "\n# The audit trail's signing key (public part), pinned by init: keep a copy off this host too.\naudit_public_key = \"{}\"\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, public)
    ));
    keyfile::write_private(&loc.data_dir.join(CONFIG_FILE), text.as_bytes())?;
    app.pin_audit_key(public);
    app.seal(Some(&witness)).await?;
    store.close().await;
    if print {
        println!("initialised Sejf in {} (database: {})", loc.data_dir.display(), sejf_store::redact_url(&url));
        println!(
            "audit public key (keep a copy off this host; `sejf audit verify --key` checks against it): {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, public)
        );
        if generated {
            println!("admin user: admin");
            println!("admin password (shown once): {password}");
        } else {
            println!("admin user: admin (password from SEJF_ADMIN_PASSWORD)");
        }
    }
    Ok(password)
}

pub fn create_private_dir(dir: &std::path::Path) -> Result<(), InstallError> {
    std::fs::create_dir_all(dir).map_err(FileError::at("create", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(FileError::at("protect", dir))?;
    }
    Ok(())
}
