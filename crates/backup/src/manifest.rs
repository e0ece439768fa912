//! The signed documents of a backup: its manifest (every part with its hashes, the schema
//! version, row counts and time) and the erasure ledger kept beside the backups.
//!
//! A signed document is its JSON body on one line, then one line `ed25519 SIGNATURE` (base64)
//! over exactly those body bytes: no canonicalisation to get wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_crypto::backup::{BackupSigner, verify_signature};
use serde::{Deserialize, Serialize};

use crate::BackupError;

pub const FORMAT: &str = "sejf-backup/1";
pub const LEDGER_FORMAT: &str = "sejf-erasure-ledger/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Unix microseconds (for retention).
    pub created_at_us: i64,
    pub schema_version: i64,
    /// The engine the backup was read from (`sqlite`, `postgres`); it restores into either.
    pub source_engine: String,
    /// The age recipients the parts are encrypted to.
    pub recipients: Vec<String>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The part's name in the backup (`people.rows`, `config.toml.file`).
    pub name: String,
    /// `table` (rows of a table) or `file` (a file of the data directory).
    pub kind: String,
    /// The table or file name.
    pub source: String,
    /// Rows of a table (0 for a file).
    pub rows: u64,
    /// Bytes before compression and encryption (the logical size).
    pub logical_bytes: u64,
    /// Of the plaintext: the table's order-independent row digest, or a file's SHA-256 (hex).
    pub digest: String,
    /// SHA-256 of the stored (encrypted) part, hex.
    pub sha256: String,
    pub stored_bytes: u64,
}

impl Manifest {
    pub fn rows(&self, table: &str) -> u64 {
        self.parts.iter().filter(|p| p.kind == "table" && p.source == table).map(|p| p.rows).sum()
    }

    pub fn logical_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.logical_bytes).sum()
    }

    pub fn stored_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.stored_bytes).sum()
    }
}

/// The erasure ledger as kept beside the backups.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub format: String,
    /// Unix microseconds when it was written.
    pub written_at_us: i64,
    /// (subject id, erased at in unix microseconds), sorted by id.
    pub entries: Vec<(String, i64)>,
}

/// Serialises and signs `body`.
pub fn sign<T: Serialize>(body: &T, signer: &BackupSigner) -> Result<Vec<u8>, BackupError> {
    let mut out = serde_json::to_vec(body).map_err(|e| BackupError::Manifest(e.to_string()))?;
    let sig = signer.sign(&out);
    out.extend_from_slice(format!("\ned25519 {}\n", STANDARD.encode(sig)).as_bytes());
    Ok(out)
}

/// Checks the signature with the pinned key, then parses the body.
pub fn open<T: for<'de> Deserialize<'de>>(bytes: &[u8], key: &[u8; 32], what: &str) -> Result<T, BackupError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BackupError::Manifest(format!("{what} is not text")))?;
    let (body, sig_line) =
        text.trim_end_matches('\n').rsplit_once('\n').ok_or_else(|| BackupError::Manifest(format!("{what} is not signed")))?;
    let sig = sig_line
        .strip_prefix("ed25519 ")
        .and_then(|s| STANDARD.decode(s.trim()).ok())
        .ok_or_else(|| BackupError::Manifest(format!("{what} is not signed")))?;
    if !verify_signature(key, body.as_bytes(), &sig) {
        return Err(BackupError::Manifest(format!("{what}: the signature does not verify with the pinned backup key")));
    }
    serde_json::from_str(body).map_err(|e| BackupError::Manifest(format!("{what}: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use sejf_crypto::Key32;

    #[test]
    fn signed_documents_open_only_unchanged_and_with_the_pinned_key() {
        let signer = BackupSigner::from_seed(&Key32::generate().unwrap());
        let ledger = Ledger { format: LEDGER_FORMAT.into(), written_at_us: 5, entries: vec![("a".into(), 1)] };
        let bytes = sign(&ledger, &signer).unwrap();
        let back: Ledger = open(&bytes, &signer.public_key(), "ledger").unwrap();
        assert_eq!(back.entries, ledger.entries);
        let mut changed = bytes.clone();
        changed[12] ^= 1;
        assert!(open::<Ledger>(&changed, &signer.public_key(), "ledger").unwrap_err().to_string().contains("signature"));
        let other = BackupSigner::from_seed(&Key32::generate().unwrap());
        assert!(open::<Ledger>(&bytes, &other.public_key(), "ledger").is_err());
        assert!(open::<Ledger>(b"{}", &signer.public_key(), "ledger").unwrap_err().to_string().contains("not signed"));
    }
}
