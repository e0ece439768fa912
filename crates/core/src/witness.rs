//! The audit trail's anchors outside the database: the public key that signs its checkpoints,
//! pinned where the database cannot change it (`config.toml`, the witness file's header, or a
//! copy the verifier holds), and the witness file, a copy of every checkpoint this server signed.
//!
//! The witness file is JSON lines: a header `{"sejf_audit_witness":1,"public_key":…,"key_id":…}`
//! written once by `sejf init`, then one signed checkpoint per line, appended by the sealer. The
//! sealer only appends to a file that exists and names the key it signs with, so a deleted or
//! replaced witness stops the sealing (and fails `sejf audit verify`) instead of quietly
//! starting a new history.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_crypto::audit::{Checkpoint, key_id};
use serde::{Deserialize, Serialize};

use crate::FileError;

/// The format version in the header.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    sejf_audit_witness: u32,
    public_key: String,
    key_id: String,
}

/// A witness file read back.
#[derive(Debug, Clone)]
pub struct Witness {
    /// The key its header pins.
    pub public_key: [u8; 32],
    pub checkpoints: Vec<Checkpoint>,
}

/// An Ed25519 public key from its base64 form.
pub fn parse_key(b64: &str) -> Result<[u8; 32], String> {
    STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| "not a base64 Ed25519 public key (32 bytes)".to_string())
}

/// Creates a witness file that holds only its header (mode 0600); never overwrites one.
pub fn create(path: &Path, public_key: &[u8; 32]) -> std::io::Result<()> {
    let header = Header { sejf_audit_witness: FORMAT, public_key: STANDARD.encode(public_key), key_id: key_id(public_key) };
    let line = serde_json::to_string(&header).map_err(std::io::Error::other)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{line}")?;
    f.sync_all()
}

/// Why a witness file cannot be used. Each names the file; the text is the operator's line.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the witness file {} is missing; it is made by `sejf init` (restore it, or copy it from another server of this installation)", .0.display())]
    Missing(PathBuf),
    #[error("the witness file {} is empty", .0.display())]
    Empty(PathBuf),
    /// The first line is not a header: a witness written before keys were pinned, or not one.
    #[error("the witness file {} does not start with its header (the key it pins)", .0.display())]
    NoHeader(PathBuf),
    #[error("the witness file {} is of an unknown format {format}", .path.display())]
    UnknownFormat { path: PathBuf, format: u32 },
    #[error("the witness file {} header: not a base64 Ed25519 public key (32 bytes)", .0.display())]
    BadKey(PathBuf),
    /// `line` counts from 1, the header included.
    #[error("the witness file {} line {line} is not a checkpoint", .path.display())]
    NotACheckpoint { path: PathBuf, line: usize },
    #[error("the witness file {} pins another audit key than this installation's", .0.display())]
    OtherKey(PathBuf),
}

/// Reads a witness file; None when there is no file. A file without its header, or with a line
/// that is not a checkpoint, is an error naming the line.
pub fn read(path: &Path) -> Result<Option<Witness>, WitnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FileError::at("read the witness file", path)(e).into()),
    };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(WitnessError::Empty(path.to_path_buf()));
    };
    let header: Header = serde_json::from_str(first).map_err(|_| WitnessError::NoHeader(path.to_path_buf()))?;
    if header.sejf_audit_witness != FORMAT {
        return Err(WitnessError::UnknownFormat { path: path.to_path_buf(), format: header.sejf_audit_witness });
    }
    let public_key = parse_key(&header.public_key).map_err(|_| WitnessError::BadKey(path.to_path_buf()))?;
    let mut checkpoints = Vec::new();
    for (n, line) in lines {
        let cp: Checkpoint =
            serde_json::from_str(line).map_err(|_| WitnessError::NotACheckpoint { path: path.to_path_buf(), line: n + 1 })?;
        checkpoints.push(cp);
    }
    Ok(Some(Witness { public_key, checkpoints }))
}

/// Reads the witness file at `path` ([`read`]) and checks that it pins `public_key`; None when
/// there is no file.
pub fn read_pinned(path: &Path, public_key: &[u8; 32]) -> Result<Option<Witness>, WitnessError> {
    match read(path)? {
        Some(w) if &w.public_key != public_key => Err(WitnessError::OtherKey(path.to_path_buf())),
        found => Ok(found),
    }
}

/// Checks that the witness file at `path` exists and pins `public_key`, before the sealer
/// appends to it.
pub fn check_header(path: &Path, public_key: &[u8; 32]) -> Result<(), WitnessError> {
    read_pinned(path, public_key)?.map(|_| ()).ok_or_else(|| WitnessError::Missing(path.to_path_buf()))
}

/// Appends one checkpoint line to an existing witness file and syncs it.
pub fn append(path: &Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    writeln!(f, "{line}")?;
    f.sync_data()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_starts_with_the_key_it_pins() {
        let dir = std::env::temp_dir().join(format!("sejf-witness-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.jsonl");
        assert!(read(&path).unwrap().is_none());
        let missing = check_header(&path, &[1; 32]).unwrap_err();
        assert!(matches!(missing, WitnessError::Missing(_)));
        assert!(missing.to_string().contains("is missing; it is made by `sejf init`"));
        create(&path, &[1; 32]).unwrap();
        assert!(create(&path, &[2; 32]).is_err(), "never overwritten");
        let w = read(&path).unwrap().unwrap();
        assert_eq!((w.public_key, w.checkpoints.len()), ([1; 32], 0));
        assert!(check_header(&path, &[1; 32]).is_ok());
        assert!(matches!(check_header(&path, &[2; 32]), Err(WitnessError::OtherKey(_))));
        assert!(read_pinned(&path, &[1; 32]).unwrap().is_some());
        assert!(matches!(read_pinned(&path, &[2; 32]), Err(WitnessError::OtherKey(_))));
        assert!(read_pinned(&dir.join("absent.jsonl"), &[1; 32]).unwrap().is_none());
        append(&path, "not a checkpoint").unwrap();
        let bad = read(&path).unwrap_err();
        assert!(matches!(bad, WitnessError::NotACheckpoint { line: 2, .. }), "{bad}");
        assert!(bad.to_string().ends_with("w.jsonl line 2 is not a checkpoint"), "{bad}");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(read(&path), Err(WitnessError::Empty(_))));
        std::fs::write(&path, "{\"origin\":\"x\"}\n").unwrap();
        assert!(matches!(read(&path), Err(WitnessError::NoHeader(_))));
        std::fs::write(&path, "{\"sejf_audit_witness\":2,\"public_key\":\"\",\"key_id\":\"\"}\n").unwrap();
        assert!(matches!(read(&path), Err(WitnessError::UnknownFormat { format: 2, .. })));
        std::fs::write(&path, "{\"sejf_audit_witness\":1,\"public_key\":\"eA==\",\"key_id\":\"\"}\n").unwrap();
        assert!(matches!(read(&path), Err(WitnessError::BadKey(_))));
        // A directory where the file should be: the read's own failure, naming the path.
        let unreadable = read(&dir).unwrap_err();
        assert!(matches!(unreadable, WitnessError::File(_)));
        assert!(unreadable.to_string().starts_with("cannot read the witness file "), "{unreadable}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
