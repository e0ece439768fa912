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
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_crypto::audit::{Checkpoint, key_id};
use serde::{Deserialize, Serialize};

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

/// Reads a witness file; None when there is no file. A file without its header, or with a line
/// that is not a checkpoint, is an error naming the line.
pub fn read(path: &Path) -> Result<Option<Witness>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the witness file {}: {e}", path.display())),
    };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(format!("the witness file {} is empty", path.display()));
    };
    let header: Header = serde_json::from_str(first)
        .map_err(|_| format!("the witness file {} does not start with its header (the key it pins)", path.display()))?;
    if header.sejf_audit_witness != FORMAT {
        return Err(format!("the witness file {} is of an unknown format {}", path.display(), header.sejf_audit_witness));
    }
    let public_key = parse_key(&header.public_key).map_err(|e| format!("the witness file {} header: {e}", path.display()))?;
    let mut checkpoints = Vec::new();
    for (n, line) in lines {
        let cp: Checkpoint =
            serde_json::from_str(line).map_err(|_| format!("the witness file {} line {} is not a checkpoint", path.display(), n + 1))?;
        checkpoints.push(cp);
    }
    Ok(Some(Witness { public_key, checkpoints }))
}

/// Checks that the witness file at `path` exists and pins `public_key`, before the sealer
/// appends to it.
pub fn check_header(path: &Path, public_key: &[u8; 32]) -> Result<(), String> {
    match read(path)? {
        None => Err(format!(
            "the witness file {} is missing; it is made by `sejf init` (restore it, or copy it from another server of this installation)",
            path.display()
        )),
        Some(w) if &w.public_key != public_key => {
            Err(format!("the witness file {} pins another audit key than this installation's", path.display()))
        }
        Some(_) => Ok(()),
    }
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
        assert!(check_header(&path, &[1; 32]).unwrap_err().contains("missing"));
        create(&path, &[1; 32]).unwrap();
        assert!(create(&path, &[2; 32]).is_err(), "never overwritten");
        let w = read(&path).unwrap().unwrap();
        assert_eq!((w.public_key, w.checkpoints.len()), ([1; 32], 0));
        assert!(check_header(&path, &[1; 32]).is_ok());
        assert!(check_header(&path, &[2; 32]).unwrap_err().contains("another audit key"));
        append(&path, "not a checkpoint").unwrap();
        assert!(read(&path).unwrap_err().contains("line 2"));
        std::fs::write(&path, "").unwrap();
        assert!(read(&path).unwrap_err().contains("empty"));
        std::fs::write(&path, "{\"origin\":\"x\"}\n").unwrap();
        assert!(read(&path).unwrap_err().contains("header"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
