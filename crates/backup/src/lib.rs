//! `sejf backup`: encrypted, signed, verifiable backups, and restores that honour erasure
//! (docs/adr/0019-backups.md, docs/operations.md).
//!
//! - `create` reads one consistent snapshot through the store (no decryption: ciphertexts and
//!   wrapped keys travel as they are), writes each table and each data-directory file as a part
//!   (zstd, then age to the configured recipients), and the signed manifest last.
//! - `verify` checks the manifest's signature with the pinned key, every part's hash, and that
//!   every part decrypts with the identity and holds the rows and digest the manifest says.
//! - `restore` does the same checks while it restores into an empty database, and re-applies
//!   every erasure it knows of (the backup's ledger, the newest ledger beside the backups, and a
//!   replaced SQLite database's own) before the data is committed.

mod check;
mod error;
mod manifest;
mod parts;
mod prune;
#[cfg(feature = "s3")]
mod s3;
mod target;

use sejf_core::FileError;
use sejf_core::actions::AuditAction;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_crypto::backup::{BackupIdentity, BackupRecipient, BackupSigner};
use sejf_store::SqlStore;
use sejf_store::backup as snap;

use clap::{Args, Subcommand};

use sejf_install::config::{CONFIG_FILE, ConfigFile, DB_FILE};
use sejf_install::create_private_dir;
use sejf_install::keyfile;
use sejf_install::{self as install, InstallError, Location, WITNESS_FILE};

pub use crate::error::BackupError;

pub use manifest::{Ledger, Manifest};
pub use target::Target;

/// The key-store id of the manifest signing key (wrapped by the master key).
const SIGNING_KEY: &str = "backup-signing";

/// Data-directory files a backup carries (config and policies; the audit witness, so the
/// restored trail verifies). Never the master key: a backup must not hold what opens it.
const FILES: [&str; 3] = [CONFIG_FILE, sejf_install::policyfile::POLICY_FILE, WITNESS_FILE];

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write a new age identity (as `age-keygen` does) and print its recipient.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Back up the database, config and policies to TARGET (a directory or s3://bucket/prefix).
    Create {
        #[arg(long, value_name = "TARGET")]
        to: String,
        /// age recipient (age1…) to encrypt to (repeatable; default: backup_recipients in config.toml).
        #[arg(long = "recipient", value_name = "AGE_RECIPIENT")]
        recipients: Vec<String>,
        /// Also copy the sealed master key file and config.toml, encrypted to the same
        /// recipients, to this separate target (keep it apart from the backups).
        #[arg(long, value_name = "TARGET")]
        keys_to: Option<String>,
    },
    /// List the backups on TARGET (complete, incomplete, or not signed by the pinned key).
    List {
        #[arg(long, value_name = "TARGET")]
        from: String,
        /// The backup public key to trust (base64; default: backup_public_key in config.toml).
        #[arg(long)]
        key: Option<String>,
    },
    /// Check a backup (default: the newest): signature, every part's hash, decryption, rows.
    Verify {
        #[command(flatten)]
        source: BackupSource,
        /// Also restore into a temporary database and compare it.
        #[arg(long)]
        restore_test: bool,
    },
    /// Restore a backup (default: the newest) into an empty database, re-applying erasures.
    Restore {
        #[command(flatten)]
        source: BackupSource,
        /// Restore into this database instead of --database-url or the data directory's SQLite.
        #[arg(long, value_name = "URL")]
        to_database_url: Option<String>,
        /// Replace the data directory's SQLite database (its erasures are kept).
        #[arg(long)]
        force: bool,
    },
    /// Remove old backups: keep the newest of each of the last N days, M weeks and K months.
    Prune {
        #[arg(long, value_name = "TARGET")]
        from: String,
        /// The backup public key to trust (base64; default: backup_public_key in config.toml).
        #[arg(long)]
        key: Option<String>,
        #[arg(long, default_value_t = 7)]
        keep_daily: u32,
        #[arg(long, default_value_t = 4)]
        keep_weekly: u32,
        #[arg(long, default_value_t = 12)]
        keep_monthly: u32,
        /// Say what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Forget a restore that was killed midway, leaving the database empty.
    DiscardRestore,
    /// When the last backup and the last restore test succeeded, and the schedule.
    Status,
}

/// Which backup to read, and the keys to read it with.
#[derive(Debug, Args)]
pub struct BackupSource {
    #[arg(long, value_name = "TARGET")]
    pub from: String,
    /// The backup's id (default: the newest complete backup).
    #[arg(long)]
    pub id: Option<String>,
    /// The age identity file.
    #[arg(long, value_name = "FILE")]
    pub identity: PathBuf,
    /// The backup public key to trust (base64; default: backup_public_key in config.toml).
    #[arg(long)]
    pub key: Option<String>,
}

pub async fn run(loc: &Location, cmd: BackupCommand) -> Result<(), BackupError> {
    match cmd {
        BackupCommand::Keygen { out } => keygen(&out),
        BackupCommand::Create { to, recipients, keys_to } => {
            let opened = install::open(loc).await?;
            let r = create(&loc.data_dir, &opened, &to, &recipients, keys_to.as_deref()).await;
            opened.store.close().await;
            r.map(|s| println!("{s}"))
        }
        BackupCommand::List { from, key } => {
            let r = list(loc, &from, key.as_deref()).await;
            record(loc, AuditAction::BackupList, "-", &from, &r).await;
            r
        }
        BackupCommand::Verify { source, restore_test } => {
            let mut id = source.id.clone().unwrap_or_else(|| "-".into());
            let r = async {
                let key = pinned_key(loc, source.key.as_deref())?;
                let target = target::open(&source.from)?;
                let identities = Arc::new(read_identities(&source.identity)?);
                let (picked, manifest) = pick(target.as_ref(), source.id.as_deref(), &key)?;
                id.clone_from(&picked);
                let report = parts::verify_all(target.as_ref(), &picked, &manifest, &identities)?;
                println!("{report}");
                if restore_test {
                    let tested = check::restore_test(loc, target.as_ref(), &picked, &manifest, identities).await;
                    // The restore test has an event of its own: its last success is what the
                    // posture report and `backup list` show.
                    record(loc, AuditAction::BackupRestoreTest, &picked, &source.from, &tested).await;
                    println!("{}", tested?);
                }
                Ok(())
            }
            .await;
            record(loc, AuditAction::BackupVerify, &id, &source.from, &r).await;
            r
        }
        BackupCommand::Prune { from, key, keep_daily, keep_weekly, keep_monthly, dry_run } => {
            let r = async {
                let key = pinned_key(loc, key.as_deref())?;
                let target = target::open(&from)?;
                let policy = prune::Policy { daily: keep_daily, weekly: keep_weekly, monthly: keep_monthly };
                prune::prune(target.as_ref(), &key, policy, dry_run)
            }
            .await;
            record(loc, if dry_run { AuditAction::BackupPruneDryRun } else { AuditAction::BackupPrune }, "-", &from, &r).await;
            println!("{}", r?);
            Ok(())
        }
        BackupCommand::Restore { source, to_database_url, force } => restore(loc, &source, to_database_url, force).await,
        BackupCommand::Status => status(loc).await,
        BackupCommand::DiscardRestore => {
            let url = loc.database_url();
            let store = connect(&url).await?;
            let r = snap::discard_restore(&store).await;
            store.close().await;
            match r? {
                Some(id) => println!("discarded the unfinished restore of backup {id}; the database is empty"),
                None => println!("no restore was in progress"),
            }
            Ok(())
        }
    }
}

/// Records a backup command that does not open the installation (list, verify, prune, the
/// restore test) in the installation's audit trail, whatever its outcome, when the installation's
/// database is here; the next server to run seals the event into the chain. Run elsewhere (a
/// verify on another machine), there is no trail to record in, and the command says so.
async fn record<T>(loc: &Location, action: AuditAction, id: &str, target: &str, result: &Result<T, BackupError>) {
    if loc.database_url.is_none() && !loc.data_dir.join(DB_FILE).exists() {
        eprintln!("note: not recorded in an audit trail (no installation in {})", loc.data_dir.display());
        return;
    }
    let (outcome, why) = match result {
        Ok(_) => ("ok", String::new()),
        Err(e) => ("error", format!(" error={}", e.to_string().chars().take(200).collect::<String>())),
    };
    let event = sejf_core::ports::AuditEvent {
        at: now_micros(),
        actor: "operator".into(),
        role: "operator".into(),
        action: action.as_str().into(),
        resource_type: "backup".into(),
        resource_id: id.to_owned(),
        outcome: outcome.into(),
        detail: format!("target={}{why}", describe_target(target)),
        ..Default::default()
    };
    let recorded = match SqlStore::connect(&loc.database_url()).await {
        Ok(store) => {
            let r = sejf_core::ports::AuditStore::audit_append(&store, vec![event]).await;
            store.close().await;
            r
        }
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        eprintln!("warning: {action} was not recorded in the audit trail: {e}");
    }
}

/// A target as the trail shows it: no credentials.
fn describe_target(spec: &str) -> String {
    target::open(spec).map_or_else(|_| "(unusable target)".into(), |t| t.describe())
}

/// `sejf backup keygen --out FILE`: an age identity, as `age-keygen -o FILE` writes it.
fn keygen(out: &Path) -> Result<(), BackupError> {
    let id = BackupIdentity::generate();
    let text = id.to_file_text(&sejf_core::rfc3339(now_micros()));
    keyfile::write_private(out, text.as_bytes())?;
    println!("wrote the backup identity to {} (keep it off this host); its recipient:", out.display());
    println!("{}", id.recipient());
    Ok(())
}

pub fn now_micros() -> i64 {
    // The composition root owns the clock.
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

async fn connect(url: &str) -> Result<SqlStore, BackupError> {
    SqlStore::connect(url).await.map_err(|source| BackupError::Database { url: sejf_store::redact_url(url), source })
}

fn read_identities(path: &Path) -> Result<Vec<BackupIdentity>, BackupError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(FileError::at("read identity", path))?);
    BackupIdentity::parse_file(&text).map_err(|e| BackupError::Invalid(format!("{}: {e}", path.display())))
}

/// The manifest-signing public key to trust: `--key`, else the data directory's config.toml.
fn pinned_key(loc: &Location, key: Option<&str>) -> Result<[u8; 32], BackupError> {
    if let Some(k) = key {
        return sejf_core::witness::parse_key(k).map_err(|e| BackupError::Invalid(format!("--key: {e}")));
    }
    ConfigFile::load(&loc.data_dir).map_err(InstallError::from)?.backup_pin()?.ok_or_else(|| {
        BackupError::Invalid(
            "no backup public key to trust: pass --key (printed by `sejf backup create`) or set backup_public_key in config.toml"
                .to_string(),
        )
    })
}

/// Backup `id` (or the newest complete one) and its verified manifest.
fn pick(target: &dyn Target, id: Option<&str>, key: &[u8; 32]) -> Result<(String, Manifest), BackupError> {
    if let Some(id) = id {
        target::check_id(id)?;
        let bytes = target.get(&format!("{id}/{}", target::MANIFEST))?.ok_or_else(|| {
            BackupError::NoBackup(format!(
                "backup {id} on {} is not complete (no manifest): it cannot be verified or restored",
                target.describe()
            ))
        })?;
        return Ok((id.to_owned(), open_manifest(&bytes, key, id)?));
    }
    for id in target.ids()?.into_iter().rev() {
        if let Some(bytes) = target.get(&format!("{id}/{}", target::MANIFEST))? {
            return Ok((id.clone(), open_manifest(&bytes, key, &id)?));
        }
    }
    Err(BackupError::NoBackup(format!("no complete backup on {}", target.describe())))
}

fn open_manifest(bytes: &[u8], key: &[u8; 32], id: &str) -> Result<Manifest, BackupError> {
    let m: Manifest = manifest::open(bytes, key, &format!("backup {id}: manifest"))?;
    if m.format != manifest::FORMAT || m.id != id {
        return Err(BackupError::Manifest(format!("backup {id}: the manifest belongs to another backup or format")));
    }
    Ok(m)
}

/// `sejf backup create`: returns the one-line summary.
pub async fn create(
    data_dir: &std::path::Path,
    opened: &install::Opened,
    to: &str,
    recipients: &[String],
    keys_to: Option<&str>,
) -> Result<String, BackupError> {
    let started = std::time::Instant::now();
    let target = target::open(to)?;
    let keys_target = keys_to.map(target::open).transpose()?;
    if let Some(k) = &keys_target
        && k.describe() == target.describe()
    {
        return Err(BackupError::Invalid(
            "--keys-to must be a separate target from --to: a backup must not travel with what opens it".into(),
        ));
    }
    let given = if recipients.is_empty() { opened.config.backup_recipients.clone().unwrap_or_default() } else { recipients.to_vec() };
    if given.is_empty() {
        return Err(BackupError::Invalid(
            "no backup recipients: pass --recipient age1… or set backup_recipients in config.toml (make a pair with `sejf backup keygen`)"
                .into(),
        ));
    }
    let recipients: Vec<BackupRecipient> = given
        .iter()
        .map(|r| r.parse::<BackupRecipient>().map_err(|e| BackupError::Invalid(format!("recipient {r:?}: {e}"))))
        .collect::<Result<_, _>>()?;
    let signer = signer(data_dir, opened).await?;
    let now = now_micros();
    let suffix = hex::encode(sejf_crypto::random::bytes::<4>()?);
    let id = format!("{}-{suffix}", compact_time(now));

    // The witness is read before the snapshot, so every checkpoint it names is in the snapshot.
    let mut files = Vec::new();
    for name in FILES {
        match std::fs::read(data_dir.join(name)) {
            Ok(mut bytes) => {
                if name == WITNESS_FILE {
                    // A line being appended right now is left for the next backup.
                    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    bytes.truncate(whole);
                }
                files.push((name, bytes));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(FileError { action: "read", path: PathBuf::from(name), source }.into()),
        }
    }

    let progress = parts::Progress::new(opened.app.people_count().await.unwrap_or(0));
    let mut sink = parts::PartSink::new(target.as_ref(), &id, &recipients, progress);
    let schema_version =
        snap::snapshot(&opened.store, &mut sink).await.map_err(|source| BackupError::Snapshot { id: id.clone(), source })?;
    let mut written = sink.finish()?;
    for (name, bytes) in &files {
        written.push(parts::write_file_part(target.as_ref(), &id, &recipients, name, bytes)?);
    }
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        id: id.clone(),
        created_at: sejf_core::rfc3339(now),
        created_at_us: now,
        schema_version,
        source_engine: match opened.store.backend() {
            sejf_store::Backend::Sqlite => "sqlite".into(),
            sejf_store::Backend::Postgres => "postgres".into(),
        },
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        parts: written,
    };
    // The newest ledger goes beside the backups first, then the manifest, last of all.
    push_ledger(target.as_ref(), &opened.store, &signer, now).await?;
    target.put_atomic(&format!("{id}/{}", target::MANIFEST), &manifest::sign(&manifest, &signer)?)?;

    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let mb = manifest.logical_bytes() as f64 / 1e6;
    let mut ev = opened.app.event(&sejf_core::Actor::operator(), AuditAction::BackupCreate, "backup", &id);
    ev.detail = format!(
        "target={} parts={} people={} bytes={}",
        target.describe(),
        manifest.parts.len(),
        manifest.rows("people"),
        manifest.logical_bytes()
    );
    opened.app.audit(vec![ev]).await?;
    let summary = format!(
        "backup {id} created on {}: {} parts, {} people, {} audit events, {mb:.1} MB logical, {:.1} MB stored, {secs:.1} s ({:.0} MB/s)",
        target.describe(),
        manifest.parts.len(),
        manifest.rows("people"),
        manifest.rows("audit_events"),
        manifest.stored_bytes() as f64 / 1e6,
        mb / secs
    );
    match keys_target {
        Some(k) => {
            let copied = export_keys(data_dir, opened, k.as_ref(), &manifest, &recipients, &signer).await?;
            Ok(format!("{copied}\n{summary}"))
        }
        None => Ok(summary),
    }
}

/// `--keys-to`: the sealed master key file and config.toml as parts of their own (compressed
/// and encrypted to the backup's recipients, so the standard `age` tool opens them), under the
/// backup's id on a separate target, with a signed manifest named `keys-manifest` (never
/// `manifest`: a key copy is not a backup and `verify` or `restore` never take it for one).
async fn export_keys(
    data_dir: &Path,
    opened: &install::Opened,
    target: &dyn Target,
    backup: &Manifest,
    recipients: &[BackupRecipient],
    signer: &BackupSigner,
) -> Result<String, BackupError> {
    let id = &backup.id;
    let mut written = Vec::new();
    for name in [keyfile::KEY_FILE, CONFIG_FILE] {
        match std::fs::read(data_dir.join(name)) {
            Ok(bytes) => written.push(parts::write_file_part(target, id, recipients, name, &bytes)?),
            // The master key comes from SEJF_MASTER_KEY (or an HSM): there is no file to copy.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == keyfile::KEY_FILE => {}
            Err(source) => return Err(FileError { action: "read", path: PathBuf::from(name), source }.into()),
        }
    }
    let has_key = written.iter().any(|p| p.source == keyfile::KEY_FILE);
    let manifest = Manifest { parts: written, ..backup.clone() };
    target.put_atomic(&format!("{id}/{}", target::KEYS_MANIFEST), &manifest::sign(&manifest, signer)?)?;
    let mut ev = opened.app.event(&sejf_core::Actor::operator(), AuditAction::BackupKeysExport, "backup", id);
    ev.detail = format!("target={} master_key_file={has_key}", target.describe());
    opened.app.audit(vec![ev]).await?;
    Ok(if has_key {
        format!("copied master.key and config.toml of backup {id} to {} (encrypted to the backup recipients)", target.describe())
    } else {
        format!(
            "copied config.toml of backup {id} to {}; the master key comes from SEJF_MASTER_KEY, so keep its copy where that secret is kept",
            target.describe()
        )
    })
}

/// The manifest signing key, pinned in config.toml by its first use.
async fn signer(data_dir: &std::path::Path, opened: &install::Opened) -> Result<BackupSigner, BackupError> {
    let seed = opened.app.system_key_seed(&sejf_core::Actor::operator(), SIGNING_KEY).await?;
    let signer = BackupSigner::from_seed(&seed);
    let public = signer.public_key();
    match opened.config.backup_pin()? {
        Some(pin) if pin == public => {}
        Some(_) => return Err(BackupError::SigningKeyMismatch),
        None => {
            let path = data_dir.join(CONFIG_FILE);
            let mut text = std::fs::read_to_string(&path).map_err(FileError::at("read", &path))?;
            text.push_str(&format!(
                "\n# The key that signs backup manifests (public part), pinned by the first backup: keep a copy off this host.\nbackup_public_key = \"{}\"\n",
                STANDARD.encode(public)
            ));
            // Written aside and renamed, so a create killed here leaves the old file whole.
            let tmp = data_dir.join(format!(".{CONFIG_FILE}.tmp"));
            let _ = std::fs::remove_file(&tmp);
            keyfile::write_private(&tmp, text.as_bytes())?;
            std::fs::rename(&tmp, &path).map_err(FileError::at("write", &path))?;
            println!("pinned the backup signing key in config.toml: {}", STANDARD.encode(public));
        }
    }
    Ok(signer)
}

/// Writes the union of the database's ledger and the one beside the backups (when it verifies)
/// as the newest ledger on the target.
async fn push_ledger(target: &dyn Target, store: &SqlStore, signer: &BackupSigner, now: i64) -> Result<(), BackupError> {
    let mut entries = snap::erasure_ledger(store).await?;
    // One that does not verify is replaced: the database's ledger holds every erasure it made.
    if let Some(bytes) = target.get(target::LEDGER)?
        && let Ok(old) = manifest::open::<Ledger>(&bytes, &signer.public_key(), "erasure ledger")
    {
        entries.extend(old.entries);
    }
    entries.sort();
    entries.dedup_by(|a, b| a.0 == b.0);
    let ledger = Ledger { format: manifest::LEDGER_FORMAT.into(), written_at_us: now, entries };
    target.put_atomic(target::LEDGER, &manifest::sign(&ledger, signer)?)
}

/// `YYYYMMDDTHHMMSSZ` of a unix-microsecond time.
fn compact_time(micros: i64) -> String {
    sejf_core::rfc3339(micros).chars().take(19).filter(|c| c.is_ascii_digit() || *c == 'T').collect::<String>() + "Z"
}

/// `sejf backup list`.
async fn list(loc: &Location, from: &str, key: Option<&str>) -> Result<(), BackupError> {
    let key = pinned_key(loc, key).ok();
    let target = target::open(from)?;
    list_target(target.as_ref(), key.as_ref())
}

/// `sejf backup status`: when the last backup and the last restore test succeeded (from the
/// audit trail), and the schedule.
async fn status(loc: &Location) -> Result<(), BackupError> {
    let config = ConfigFile::load(&loc.data_dir).map_err(InstallError::from)?;
    let store = connect(&loc.database_url()).await?;
    let backup = sejf_core::trail::last_ok(&store, AuditAction::BackupCreate).await;
    let tested = sejf_core::trail::last_ok(&store, AuditAction::BackupRestoreTest).await;
    store.close().await;
    let when = |t: Option<i64>| t.map_or_else(|| "never".to_string(), sejf_core::rfc3339);
    println!("last successful backup: {}", when(backup?));
    println!("last successful restore test: {}", when(tested?));
    match config.backup_schedule()? {
        Some((target, every)) => {
            println!("scheduled: every {} h to {}", every.as_secs() / 3600, describe_target(&target));
        }
        None => println!("scheduled: no (set backup_target and backup_recipients in config.toml)"),
    }
    Ok(())
}

fn list_target(target: &dyn Target, key: Option<&[u8; 32]>) -> Result<(), BackupError> {
    let ids = target.ids()?;
    if ids.is_empty() {
        println!("no backups on {}", target.describe());
        return Ok(());
    }
    println!("{:<26} {:<21} {:>9} {:>10} {:>10}  STATUS", "ID", "CREATED", "PEOPLE", "LOGICAL", "STORED");
    for id in ids {
        let (bytes, signed) = match target.get(&format!("{id}/{}", target::MANIFEST))? {
            Some(bytes) => (bytes, "signed"),
            None => match target.get(&format!("{id}/{}", target::KEYS_MANIFEST))? {
                Some(bytes) => (bytes, "signed key copy (master.key, config.toml), not a backup"),
                None => {
                    println!("{id:<26} {:<21} {:>9} {:>10} {:>10}  incomplete (no manifest)", "-", "-", "-", "-");
                    continue;
                }
            },
        };
        let parsed = match key {
            Some(k) => open_manifest(&bytes, k, &id).map(|m| (m, signed)),
            None => Err(BackupError::Invalid("no pinned key to check the signature (pass --key)".to_string())),
        };
        match parsed {
            Ok((m, status)) => println!(
                "{id:<26} {:<21} {:>9} {:>9.1}M {:>9.1}M  {status}",
                m.created_at,
                m.rows("people"),
                m.logical_bytes() as f64 / 1e6,
                m.stored_bytes() as f64 / 1e6
            ),
            Err(e) => println!("{id:<26} {:<21} {:>9} {:>10} {:>10}  NOT TRUSTED: {e}", "-", "-", "-", "-"),
        }
    }
    Ok(())
}

/// `sejf backup restore`.
async fn restore(loc: &Location, source: &BackupSource, to_database_url: Option<String>, force: bool) -> Result<(), BackupError> {
    let key = pinned_key(loc, source.key.as_deref())?;
    let target = target::open(&source.from)?;
    let identities = Arc::new(read_identities(&source.identity)?);
    let (id, manifest) = pick(target.as_ref(), source.id.as_deref(), &key)?;
    let known = SqlStore::schema_version_known();
    if manifest.schema_version != known {
        return Err(BackupError::SchemaMismatch { id, found: manifest.schema_version, known });
    }
    // Every erasure known beyond the backup: the ledger beside the backups…
    let mut ledger = Vec::new();
    if let Some(bytes) = target.get(target::LEDGER)? {
        ledger.extend(manifest::open::<Ledger>(&bytes, &key, "the erasure ledger beside the backups")?.entries);
    }
    let url = to_database_url.or_else(|| loc.database_url.clone()).unwrap_or_else(|| sejf_store::sqlite_url(&loc.data_dir.join(DB_FILE)));
    let sqlite_in_dir = sejf_store::Backend::from_url(&url)? == sejf_store::Backend::Sqlite;
    if sqlite_in_dir {
        create_private_dir(&loc.data_dir)?;
    }
    let db_file = loc.data_dir.join(DB_FILE);
    if force {
        if !sqlite_in_dir || url != sejf_store::sqlite_url(&db_file) {
            return Err(BackupError::Invalid(
                "--force replaces only the SQLite database of the data directory; restore PostgreSQL into an empty database".into(),
            ));
        }
        if db_file.exists() {
            // …and the replaced database's own, so a restore over it forgets no erasure.
            let old = connect(&url).await?;
            let own = snap::erasure_ledger(&old).await;
            old.close().await;
            ledger.extend(own?);
            for suffix in ["", "-wal", "-shm"] {
                let p = PathBuf::from(format!("{}{suffix}", db_file.display()));
                if p.exists() {
                    std::fs::remove_file(&p).map_err(FileError::at("remove", &p))?;
                }
            }
        }
    }
    if sqlite_in_dir && url == sejf_store::sqlite_url(&db_file) && !db_file.exists() {
        keyfile::write_private(&db_file, b"")?;
    }
    let store = connect(&url).await?;
    let mut source = parts::PartSource::new(target.as_ref(), &id, &manifest, identities.clone());
    let result = snap::restore(&store, &id, now_micros(), &mut source, &ledger).await;
    let checked = result.and_then(|(tables, erased)| {
        source.check_all_read().map_err(|e| e.to_string())?;
        for (table, summary) in &tables {
            parts::check_table(&manifest, table, summary).map_err(|e| e.to_string())?;
        }
        Ok((tables, erased))
    });
    // The restored trail records the restore itself (sealed by the next server to run).
    let audited = match &checked {
        Ok((_, erased)) => audit_restore(&store, &id, *erased).await,
        Err(_) => Ok(()),
    };
    store.close().await;
    let (tables, erased) = checked.map_err(|reason| BackupError::RestoreFailed { id: id.clone(), reason })?;
    audited?;
    let written = restore_files(target.as_ref(), &id, &manifest, &identities, &loc.data_dir)?;
    let people = tables.iter().find(|(t, _)| *t == "people").map_or(0, |(_, s)| s.rows);
    println!(
        "restored backup {id} into {}: {} people ({erased} erased since, re-erased from the ledger), {} audit events{}",
        sejf_store::redact_url(&url),
        people - erased.min(people),
        manifest.rows("audit_events"),
        if written.is_empty() { String::new() } else { format!("; wrote {} to {}", written.join(", "), loc.data_dir.display()) }
    );
    Ok(())
}

async fn audit_restore(store: &SqlStore, id: &str, erased: u64) -> Result<(), BackupError> {
    use sejf_core::ports::AuditStore;
    let event = sejf_core::ports::AuditEvent {
        at: now_micros(),
        actor: "operator".into(),
        role: "operator".into(),
        action: AuditAction::BackupRestore.as_str().into(),
        resource_type: "backup".into(),
        resource_id: id.to_owned(),
        outcome: "ok".into(),
        detail: format!("re_erased={erased}"),
        ..Default::default()
    };
    store.audit_append(vec![event]).await.map_err(BackupError::RestoreNotAudited)
}

/// Writes the backup's data-directory files that the directory does not have yet.
fn restore_files(
    target: &dyn Target,
    id: &str,
    manifest: &Manifest,
    identities: &[BackupIdentity],
    dir: &Path,
) -> Result<Vec<String>, BackupError> {
    let mut written = Vec::new();
    for part in manifest.parts.iter().filter(|p| p.kind == "file") {
        if !FILES.contains(&part.source.as_str()) {
            return Err(BackupError::Damaged(format!("backup {id}: unexpected file {:?}", part.source)));
        }
        let path = dir.join(&part.source);
        if path.exists() {
            continue;
        }
        let bytes = parts::read_file_part(target, id, part, identities)?;
        create_private_dir(dir)?;
        keyfile::write_private(&path, &bytes)?;
        written.push(part.source.clone());
    }
    Ok(written)
}

/// Reads a whole stream (small files).
fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

/// Whether progress goes to a terminal (a bar) or not (one summary line at the end).
fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}
