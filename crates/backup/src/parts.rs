//! The parts of a backup: writing them (hashing what is stored as it goes), and reading them
//! back with every check: the stored bytes' SHA-256, age's authentication, and the rows' count
//! and digest against the manifest. A failure names the part.

use std::io::{BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use sejf_core::ports::StoreError;
use sejf_crypto::backup::{BackupIdentity, BackupRecipient, SealWriter, open_reader, seal_writer};
use sejf_store::backup::{self as snap, RestoreSource, RowReader, SnapshotSink, Summer, Table, TableSummary};
use sha2::{Digest, Sha256};

use super::manifest::{Manifest, Part};
use super::target::{PartWriter, Target};
use crate::BackupError;

/// Counts and hashes what passes to the part being stored.
struct Hashing {
    inner: Box<dyn PartWriter>,
    sha: Sha256,
    bytes: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Progress of a `create`: a bar on a terminal, nothing otherwise (the caller prints a summary).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(people: i64) -> Progress {
        if !super::on_terminal() {
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::new(u64::try_from(people).unwrap_or(0));
        if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>20} [{bar:30}] {pos}/{len} people {binary_bytes_per_sec}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar: Some(bar) }
    }

    fn table(&self, name: &str) {
        if let Some(b) = &self.bar {
            b.set_message(name.to_owned());
        }
    }

    fn person(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Writes each table of a snapshot as one part.
pub struct PartSink<'a> {
    target: &'a dyn Target,
    id: &'a str,
    recipients: &'a [BackupRecipient],
    current: Option<SealWriter<Hashing>>,
    is_people: bool,
    parts: Vec<Part>,
    progress: Progress,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("writing the backup: {e}"))
}

impl<'a> PartSink<'a> {
    pub fn new(target: &'a dyn Target, id: &'a str, recipients: &'a [BackupRecipient], progress: Progress) -> Self {
        PartSink { target, id, recipients, current: None, is_people: false, parts: Vec::new(), progress }
    }

    pub fn finish(self) -> Result<Vec<Part>, BackupError> {
        self.progress.done();
        Ok(self.parts)
    }
}

impl SnapshotSink for PartSink<'_> {
    fn begin(&mut self, table: &'static Table) -> Result<(), StoreError> {
        self.progress.table(table.name);
        self.is_people = table.name == "people";
        let inner = self.target.create_part(self.id, &format!("{}.rows", table.name)).map_err(io)?;
        let hashing = Hashing { inner, sha: Sha256::new(), bytes: 0 };
        self.current = Some(seal_writer(self.recipients, hashing).map_err(io)?);
        Ok(())
    }

    fn row(&mut self, encoded: &[u8]) -> Result<(), StoreError> {
        let w = self.current.as_mut().ok_or_else(|| io("a row outside a table"))?;
        w.write_all(encoded).map_err(io)?;
        if self.is_people {
            self.progress.person();
        }
        Ok(())
    }

    fn end(&mut self, table: &'static Table, summary: TableSummary) -> Result<(), StoreError> {
        let w = self.current.take().ok_or_else(|| io("a table ended twice"))?;
        let hashing = w.finish().map_err(io)?;
        let (sha, stored_bytes) = (hex::encode(hashing.sha.finalize()), hashing.bytes);
        hashing.inner.commit().map_err(io)?;
        self.parts.push(Part {
            name: format!("{}.rows", table.name),
            kind: "table".into(),
            source: table.name.into(),
            rows: summary.rows,
            logical_bytes: summary.bytes,
            digest: hex::encode(summary.digest),
            sha256: sha,
            stored_bytes,
        });
        Ok(())
    }
}

/// Writes one data-directory file as a part.
pub fn write_file_part(
    target: &dyn Target,
    id: &str,
    recipients: &[BackupRecipient],
    name: &str,
    bytes: &[u8],
) -> Result<Part, BackupError> {
    let part = format!("{name}.file");
    let inner = target.create_part(id, &part)?;
    let mut w = seal_writer(recipients, Hashing { inner, sha: Sha256::new(), bytes: 0 })?;
    w.write_all(bytes)?;
    let hashing = w.finish()?;
    let (sha, stored_bytes) = (hex::encode(hashing.sha.finalize()), hashing.bytes);
    hashing.inner.commit()?;
    Ok(Part {
        name: part,
        kind: "file".into(),
        source: name.into(),
        rows: 0,
        logical_bytes: bytes.len() as u64,
        digest: hex::encode(Sha256::digest(bytes)),
        sha256: sha,
        stored_bytes,
    })
}

/// The stored bytes of a part as they are read, hashed on the way.
struct Stored {
    reader: Box<dyn Read + Send>,
    sha: Sha256,
    bytes: u64,
}

/// Reads the stored part through `Stored`; once the plaintext ends, reads whatever the
/// decryptor left and compares the stored hash and size with the manifest, so a part whose
/// stored bytes differ in any way fails with an error instead of ending.
struct Checked {
    plain: Box<dyn Read + Send>,
    stored: Arc<Mutex<Stored>>,
    part: Part,
    checked: bool,
}

struct Tee(Arc<Mutex<Stored>>);

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut s = self.0.lock().map_err(|_| std::io::Error::other("lock poisoned"))?;
        let n = s.reader.read(buf)?;
        s.sha.update(&buf[..n]);
        s.bytes += n as u64;
        Ok(n)
    }
}

impl Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.plain.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            let mut s = self.stored.lock().map_err(|_| std::io::Error::other("lock poisoned"))?;
            let mut rest = [0u8; 8192];
            loop {
                let k = s.reader.read(&mut rest)?;
                if k == 0 {
                    break;
                }
                s.sha.update(&rest[..k]);
                s.bytes += k as u64;
            }
            let sha = hex::encode(std::mem::take(&mut s.sha).finalize());
            if sha != self.part.sha256 || s.bytes != self.part.stored_bytes {
                return Err(std::io::Error::other("the stored bytes differ from the manifest's hash"));
            }
        }
        Ok(n)
    }
}

/// Opens a part for reading its plaintext, with every check on the way.
fn open_part(target: &dyn Target, id: &str, part: &Part, identities: &[BackupIdentity]) -> Result<Box<dyn Read + Send>, BackupError> {
    let stored = Arc::new(Mutex::new(Stored { reader: target.open(id, &part.name)?, sha: Sha256::new(), bytes: 0 }));
    let plain = open_reader(identities, Tee(stored.clone())).map_err(|e| damaged(id, part, &e))?;
    Ok(Box::new(Checked { plain, stored, part: part.clone(), checked: false }))
}

fn damaged(id: &str, part: &Part, why: &dyn std::fmt::Display) -> BackupError {
    BackupError::Damaged(format!("backup {id}: part {} is damaged: {why}", part.name))
}

/// Reads a file part whole, checked.
pub fn read_file_part(target: &dyn Target, id: &str, part: &Part, identities: &[BackupIdentity]) -> Result<Vec<u8>, BackupError> {
    let bytes = super::read_all(open_part(target, id, part, identities)?).map_err(|e| damaged(id, part, &e))?;
    if hex::encode(Sha256::digest(&bytes)) != part.digest {
        return Err(damaged(id, part, &"its content differs from the manifest's digest"));
    }
    Ok(bytes)
}

/// Reads a table part whole, checked, returning its summary.
fn read_table_part(target: &dyn Target, id: &str, part: &Part, identities: &[BackupIdentity]) -> Result<TableSummary, BackupError> {
    let table =
        snap::table(&part.source).ok_or_else(|| BackupError::Damaged(format!("backup {id}: part {} names an unknown table", part.name)))?;
    let mut rows = RowReader::new(table, BufReader::with_capacity(1 << 16, open_part(target, id, part, identities)?));
    let mut sum = Summer::default();
    while rows.next_row().map_err(|e| damaged(id, part, &e))?.is_some() {
        sum.add(rows.raw());
    }
    Ok(sum.finish())
}

/// Compares what was read of a table with the manifest.
pub fn check_table(manifest: &Manifest, table: &str, got: &TableSummary) -> Result<(), BackupError> {
    let part = manifest.parts.iter().find(|p| p.kind == "table" && p.source == table);
    let Some(part) = part else {
        return if got.rows == 0 {
            Ok(())
        } else {
            Err(BackupError::Damaged(format!("backup {}: rows of {table} that the manifest does not list", manifest.id)))
        };
    };
    if got.rows != part.rows || hex::encode(got.digest) != part.digest {
        return Err(damaged(
            &manifest.id,
            part,
            &format!("{} rows read, the manifest says {}, or their digest differs", got.rows, part.rows),
        ));
    }
    Ok(())
}

/// `verify`: every part read whole and checked. Returns the summary line.
pub fn verify_all(target: &dyn Target, id: &str, manifest: &Manifest, identities: &[BackupIdentity]) -> Result<String, BackupError> {
    let started = std::time::Instant::now();
    for part in &manifest.parts {
        match part.kind.as_str() {
            "table" => check_table(manifest, &part.source, &read_table_part(target, id, part, identities)?)?,
            "file" => {
                read_file_part(target, id, part, identities)?;
            }
            other => return Err(BackupError::Damaged(format!("backup {id}: part {} has an unknown kind {other:?}", part.name))),
        }
    }
    for table in snap::TABLES {
        if !manifest.parts.iter().any(|p| p.kind == "table" && p.source == table.name) {
            return Err(BackupError::Damaged(format!("backup {id}: the manifest lists no part for table {}", table.name)));
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let mb = manifest.logical_bytes() as f64 / 1e6;
    Ok(format!(
        "backup {id} verified: signature, {} parts (hashes, decryption, {} rows), {} people, {mb:.1} MB logical in {secs:.1} s ({:.0} MB/s)",
        manifest.parts.len(),
        manifest.parts.iter().map(|p| p.rows).sum::<u64>(),
        manifest.rows("people"),
        mb / secs
    ))
}

/// A restore's source: each table's part, opened and checked as it is read.
pub struct PartSource<'a> {
    target: &'a dyn Target,
    id: &'a str,
    manifest: &'a Manifest,
    identities: Arc<Vec<BackupIdentity>>,
    opened: Vec<String>,
}

impl<'a> PartSource<'a> {
    pub fn new(target: &'a dyn Target, id: &'a str, manifest: &'a Manifest, identities: Arc<Vec<BackupIdentity>>) -> Self {
        PartSource { target, id, manifest, identities, opened: Vec::new() }
    }

    /// Every table part of the manifest was restored.
    pub fn check_all_read(&self) -> Result<(), BackupError> {
        match self.manifest.parts.iter().find(|p| p.kind == "table" && !self.opened.contains(&p.source)) {
            Some(p) => Err(BackupError::Damaged(format!("backup {}: part {} was not restored", self.id, p.name))),
            None => Ok(()),
        }
    }
}

// `RestoreSource` is sejf-store's trait, and it answers with text: the part's error is told as
// it would be on its own.
impl RestoreSource for PartSource<'_> {
    fn open(&mut self, table: &'static Table) -> Result<Box<dyn Read + Send + '_>, String> {
        let Some(part) = self.manifest.parts.iter().find(|p| p.kind == "table" && p.source == table.name) else {
            return Err(format!("backup {}: the manifest lists no part for table {}", self.id, table.name));
        };
        self.opened.push(table.name.to_owned());
        let reader = open_part(self.target, self.id, part, &self.identities).map_err(|e| e.to_string())?;
        Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
    }
}
