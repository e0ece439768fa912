//! `sejf backup verify --restore-test`: restores the backup into a temporary SQLite database,
//! compares every table's row count and digest with the manifest (both as restored and as read
//! back), and verifies the restored audit trail against the audit key the backup's own
//! config.toml pins. The temporary database is removed afterwards, whatever happened.

use std::sync::Arc;

use sejf_core::ports::StoreError;
use sejf_crypto::backup::BackupIdentity;
use sejf_store::backup::{self as snap, SnapshotSink, Table, TableSummary};

use super::manifest::Manifest;
use super::parts::{self, PartSource};
use super::target::Target;
use sejf_install::config::{CONFIG_FILE, ConfigFile, DB_FILE};
use sejf_install::{InstallError, Location, WITNESS_FILE};

use crate::BackupError;

/// Runs the restore test; returns its summary line.
pub async fn restore_test(
    loc: &Location,
    target: &dyn Target,
    id: &str,
    manifest: &Manifest,
    identities: Arc<Vec<BackupIdentity>>,
) -> Result<String, BackupError> {
    // The master key opens the restored keys for the trail's verification; ask for it first.
    let config = ConfigFile::load(&loc.data_dir).map_err(InstallError::from)?;
    let master = sejf_install::keyfile::open(&loc.data_dir, &config, &loc.passphrase)
        .map_err(|e| BackupError::Invalid(format!("--restore-test needs the installation's master key: {e}")))?;
    let suffix = hex::encode(sejf_crypto::random::bytes::<8>()?);
    let dir = std::env::temp_dir().join(format!("sejf-restore-test-{suffix}"));
    sejf_install::create_private_dir(&dir)?;
    let result = run(&dir, target, id, manifest, identities, master).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    dir: &std::path::Path,
    target: &dyn Target,
    id: &str,
    manifest: &Manifest,
    identities: Arc<Vec<BackupIdentity>>,
    master: sejf_crypto::MasterKey,
) -> Result<String, BackupError> {
    let db = dir.join(DB_FILE);
    sejf_install::keyfile::write_private(&db, b"")?;
    let url = sejf_store::sqlite_url(&db);
    let store = super::connect(&url).await?;
    let outcome = async {
        let mut source = PartSource::new(target, id, manifest, identities.clone());
        let (tables, _) = snap::restore(&store, id, super::now_micros(), &mut source, &[]).await.map_err(BackupError::Damaged)?;
        source.check_all_read()?;
        for (table, summary) in &tables {
            parts::check_table(manifest, table, summary)?;
        }
        // Read back from the restored database: the same rows.
        let mut digests = Digests::default();
        snap::snapshot(&store, &mut digests).await?;
        for (table, summary) in &digests.0 {
            parts::check_table(manifest, table, summary).map_err(|e| BackupError::Damaged(format!("read back from the restored database: {e}")))?;
        }
        // The trail, against the audit key the backup's config pins.
        let mut audit_key = None;
        for part in manifest.parts.iter().filter(|p| p.kind == "file") {
            let bytes = parts::read_file_part(target, id, part, &identities)?;
            if part.source == WITNESS_FILE {
                std::fs::write(dir.join(WITNESS_FILE), &bytes)?;
            } else if part.source == CONFIG_FILE {
                let text = String::from_utf8(bytes).map_err(|_| BackupError::Damaged(format!("backup {id}: config.toml is not text")))?;
                let cfg: ConfigFile = toml::from_str(&text).map_err(|e| BackupError::Damaged(format!("backup {id}: config.toml: {e}")))?;
                audit_key = cfg.audit_pin()?;
            }
        }
        let audit_key = audit_key.ok_or_else(|| BackupError::Damaged(format!("backup {id}: its config.toml pins no audit key")))?;
        let app = sejf_core::App::new(Arc::new(store.clone()), master, sejf_core::Settings::standard(), Arc::new(sejf_core::SystemClock))
            .await?;
        let report = app.verify_audit(&[dir.join(WITNESS_FILE)], Some(audit_key)).await?;
        if let Some((seq, why)) = report.first_bad {
            return Err(BackupError::Damaged(format!("backup {id}: the restored audit trail is broken at seq {seq}: {why}")));
        }
        Ok::<_, BackupError>(format!(
            "restore test of backup {id} passed: {} tables restored into a temporary database with the manifest's row counts and digests, audit trail intact ({} events, {} checkpoints)",
            tables.len(),
            report.events,
            report.checkpoints
        ))
    }
    .await;
    store.close().await;
    outcome
}

/// A snapshot sink that keeps only each table's summary.
#[derive(Default)]
struct Digests(Vec<(&'static str, TableSummary)>);

impl SnapshotSink for Digests {
    fn begin(&mut self, _: &'static Table) -> Result<(), StoreError> {
        Ok(())
    }
    fn row(&mut self, _: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    fn end(&mut self, table: &'static Table, summary: TableSummary) -> Result<(), StoreError> {
        self.0.push((table.name, summary));
        Ok(())
    }
}
