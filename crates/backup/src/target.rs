//! Where backups live: a directory, or S3-compatible object storage (`s3.rs`, the `s3` feature)..
//!
//! Layout, the same on every target: `ID/PART` for the parts of backup ID, `ID/manifest` for its
//! signed manifest, and `erasure-ledger` for the newest signed erasure ledger. The manifest is
//! written last and atomically (rename, or a single PUT), so a backup whose writing was killed
//! has no manifest, and nothing that `list` or `verify` accepts as complete.

use sejf_core::FileError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sejf_install::create_private_dir;

use crate::BackupError;

pub const MANIFEST: &str = "manifest";
pub const LEDGER: &str = "erasure-ledger";
/// The signed manifest of a key copy (`create --keys-to`), in place of `manifest`.
pub const KEYS_MANIFEST: &str = "keys-manifest";

/// A backup target.
pub trait Target: Send + Sync {
    /// How the target is shown to the user (no credentials).
    fn describe(&self) -> String;
    /// A part being written; it becomes visible to readers only when committed.
    fn create_part(&self, id: &str, name: &str) -> Result<Box<dyn PartWriter>, BackupError>;
    /// Reads a part (or the manifest) of backup `id`.
    fn open(&self, id: &str, name: &str) -> Result<Box<dyn Read + Send>, BackupError>;
    /// Writes a small object whole and atomically (a manifest, the ledger).
    fn put_atomic(&self, key: &str, bytes: &[u8]) -> Result<(), BackupError>;
    /// Reads a small object, None when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackupError>;
    /// The ids of the backups on the target, complete or not, sorted.
    fn ids(&self) -> Result<Vec<String>, BackupError>;
    /// Removes backup `id` whole (prune).
    fn remove(&self, id: &str) -> Result<(), BackupError>;
}

/// A part being written: bytes in, then `commit`.
pub trait PartWriter: Write + Send {
    fn commit(self: Box<Self>) -> Result<(), BackupError>;
}

/// Opens the target a user names: `s3://bucket/prefix` or a directory path.
pub fn open(spec: &str) -> Result<Box<dyn Target>, BackupError> {
    if let Some(rest) = spec.strip_prefix("s3://") {
        #[cfg(feature = "s3")]
        return super::s3::open(rest);
        #[cfg(not(feature = "s3"))]
        return Err(BackupError::Target(format!("this sejf was built without the s3 feature: cannot use s3://{rest}")));
    }
    if spec.contains("://") {
        return Err(BackupError::Target(format!("unsupported backup target {spec:?}: a directory path or s3://bucket/prefix")));
    }
    Ok(Box::new(DirTarget { root: PathBuf::from(spec) }))
}

/// Backup ids are made by `create` (`YYYYMMDDTHHMMSSZ-xxxxxxxx`); anything else is refused
/// before it reaches a path or an object key.
pub fn check_id(id: &str) -> Result<(), BackupError> {
    let ok = id.len() <= 64 && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok { Ok(()) } else { Err(BackupError::Invalid(format!("{id:?} is not a backup id"))) }
}

/// A directory target. Parts are written under a temporary name and renamed, then the
/// directory is synced, so what a reader sees is whole.
pub struct DirTarget {
    root: PathBuf,
}

impl Target for DirTarget {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn create_part(&self, id: &str, name: &str) -> Result<Box<dyn PartWriter>, BackupError> {
        check_id(id)?;
        let dir = self.root.join(id);
        create_private_dir(&dir)?;
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = private_file(&tmp)?;
        Ok(Box::new(DirPart { file: std::io::BufWriter::with_capacity(1 << 20, file), tmp, path }))
    }

    fn open(&self, id: &str, name: &str) -> Result<Box<dyn Read + Send>, BackupError> {
        check_id(id)?;
        let path = self.root.join(id).join(name);
        let f = std::fs::File::open(&path).map_err(FileError::at("open", &path))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    }

    fn put_atomic(&self, key: &str, bytes: &[u8]) -> Result<(), BackupError> {
        let path = self.root.join(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        create_private_dir(&dir)?;
        let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("object")));
        let _ = std::fs::remove_file(&tmp);
        let mut f = private_file(&tmp)?;
        f.write_all(bytes).and_then(|()| f.sync_all()).map_err(FileError::at("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(FileError::at("rename", &tmp))?;
        sync_dir(&dir)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackupError> {
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FileError { action: "read", path, source }.into()),
        }
    }

    fn ids(&self) -> Result<Vec<String>, BackupError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::Target(format!("no backup target at {}", self.root.display())));
            }
            Err(source) => return Err(FileError { action: "read", path: self.root.clone(), source }.into()),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| check_id(n).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn remove(&self, id: &str) -> Result<(), BackupError> {
        check_id(id)?;
        let dir = self.root.join(id);
        // The manifest goes first: a prune killed midway leaves an incomplete backup, never a
        // complete-looking one with parts missing.
        for manifest in [MANIFEST, KEYS_MANIFEST] {
            match std::fs::remove_file(dir.join(manifest)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(FileError { action: "remove", path: dir, source }.into()),
            }
        }
        Ok(std::fs::remove_dir_all(&dir).map_err(FileError::at("remove", &dir))?)
    }
}

struct DirPart {
    file: std::io::BufWriter<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Write for DirPart {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl PartWriter for DirPart {
    fn commit(self: Box<Self>) -> Result<(), BackupError> {
        let DirPart { file, tmp, path } = *self;
        let file = file.into_inner().map_err(|e| FileError { action: "write", path: tmp.clone(), source: e.into_error() })?;
        file.sync_all().map_err(FileError::at("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(FileError::at("rename", &tmp))?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    }
}

fn private_file(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    Ok(opts.open(path).map_err(FileError::at("create", path))?)
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    // A rename is durable once its directory is; a directory cannot be opened for sync on
    // every platform, so failing to open one is not an error.
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().map_err(FileError::at("sync", dir))?;
    }
    Ok(())
}
