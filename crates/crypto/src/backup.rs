//! The backup envelope (docs/adr/0019-backups.md): each part of a backup is compressed with zstd
//! and then encrypted with age to one or more X25519 recipients, so the standard `age` tool with
//! the identity decrypts a part (`age -d -i key.txt part | zstd -d`), and the server that writes
//! a backup holds no key that reads it back. The manifest that lists the parts is signed with
//! Ed25519 ([`BackupSigner`]), whose seed the caller keeps wrapped by the master key.
//!
//! Invariants: identities are secrets (no `Debug`, `Clone`, `Serialize`; their text form is
//! returned zeroising); a part that was changed or cut short fails [`open_reader`] or the read
//! that reaches the damage with an error, never with wrong plaintext (age's STREAM is
//! authenticated chunk by chunk and at its end).

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{CryptoError, Key32};

/// zstd level 3: the library's default, about 300 MB/s per core here; higher levels cost far
/// more time than the space they save on ciphertext-heavy rows.
const ZSTD_LEVEL: i32 = 3;

/// An age X25519 identity (`AGE-SECRET-KEY-1…`): the private half that decrypts backups.
pub struct BackupIdentity(age::x25519::Identity);

impl BackupIdentity {
    /// A new identity from the operating system's random source (inside age).
    pub fn generate() -> Self {
        Self(age::x25519::Identity::generate())
    }

    /// The identities of an identity file as `age-keygen` writes it: `#` comments, blank lines
    /// and one `AGE-SECRET-KEY-1…` per line. An error names the line, never its content.
    pub fn parse_file(text: &str) -> Result<Vec<BackupIdentity>, String> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = age::x25519::Identity::from_str(line).map_err(|_| format!("line {}: not an age X25519 identity", n + 1))?;
            out.push(BackupIdentity(id));
        }
        if out.is_empty() {
            return Err("no age identity in the file".into());
        }
        Ok(out)
    }

    /// The file `age-keygen` would write: a creation comment, the public key, the secret key.
    pub fn to_file_text(&self, created: &str) -> Zeroizing<String> {
        Zeroizing::new(format!("# created: {created}\n# public key: {}\n{}\n", self.recipient(), self.0.to_string().expose_secret()))
    }

    /// The public half, to put in config.toml's `backup_recipients`.
    pub fn recipient(&self) -> BackupRecipient {
        BackupRecipient(self.0.to_public())
    }
}

/// An age X25519 recipient (`age1…`): what a backup is encrypted to.
#[derive(Clone)]
pub struct BackupRecipient(age::x25519::Recipient);

impl FromStr for BackupRecipient {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        age::x25519::Recipient::from_str(s.trim()).map(BackupRecipient).map_err(|_| "not an age X25519 recipient (age1…)".to_string())
    }
}

impl std::fmt::Display for BackupRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for BackupRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupRecipient({})", self.0)
    }
}

/// Writes a part: plaintext in, zstd inside age out. Call [`SealWriter::finish`], or the part
/// is cut short and will not decrypt.
pub struct SealWriter<W: Write> {
    inner: zstd::stream::write::Encoder<'static, age::stream::StreamWriter<W>>,
}

/// Starts a part encrypted to every one of `recipients` (at least one).
pub fn seal_writer<W: Write>(recipients: &[BackupRecipient], out: W) -> Result<SealWriter<W>, CryptoError> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| &r.0 as &dyn age::Recipient))
        .map_err(|_| CryptoError::InvalidArgument("a backup needs at least one recipient"))?;
    let stream = encryptor.wrap_output(out).map_err(|_| CryptoError::Format("cannot start an age stream"))?;
    let inner = zstd::stream::write::Encoder::new(stream, ZSTD_LEVEL).map_err(|_| CryptoError::Format("cannot start zstd"))?;
    Ok(SealWriter { inner })
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> SealWriter<W> {
    /// Ends the zstd frame and the age stream (its last, authenticated chunk); returns the sink.
    pub fn finish(self) -> std::io::Result<W> {
        self.inner.finish()?.finish()
    }
}

/// Reads a part back: age-decrypts with any of `identities`, then decompresses. A wrong identity
/// fails here; damage fails the read that reaches it.
pub fn open_reader<'a, R: Read + Send + 'a>(identities: &[BackupIdentity], input: R) -> Result<Box<dyn Read + Send + 'a>, String> {
    let decryptor = age::Decryptor::new(input).map_err(|e| format!("not an age file or damaged header: {e}"))?;
    let stream = decryptor
        .decrypt(identities.iter().map(|i| &i.0 as &dyn age::Identity))
        .map_err(|e| format!("cannot decrypt with the given identity: {e}"))?;
    let zstd = zstd::stream::read::Decoder::new(stream).map_err(|e| format!("cannot start zstd: {e}"))?;
    Ok(Box::new(zstd))
}

/// The Ed25519 key that signs backup manifests and ledgers. Not `Debug`, `Clone` or
/// `Serialize`; zeroised on drop. Its seed is stored wrapped by the master key.
pub struct BackupSigner {
    key: SigningKey,
}

impl BackupSigner {
    pub fn from_seed(seed: &Key32) -> Self {
        Self { key: SigningKey::from_bytes(seed.expose()) }
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Strict Ed25519 verification of a manifest or ledger signature.
pub fn verify_signature(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    vk.verify_strict(message, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seal(recipients: &[BackupRecipient], data: &[u8]) -> Vec<u8> {
        let mut w = seal_writer(recipients, Vec::new()).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn open(ids: &[BackupIdentity], sealed: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        open_reader(ids, sealed)?.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn identity_file_round_trips_and_decrypts_for_each_recipient() {
        let a = BackupIdentity::generate();
        let b = BackupIdentity::generate();
        let text = a.to_file_text("2026-01-01T00:00:00Z");
        assert!(text.contains(&a.recipient().to_string()));
        let parsed = BackupIdentity::parse_file(&text).unwrap();
        let sealed = seal(&[a.recipient(), b.recipient()], b"hello");
        assert_eq!(open(&parsed, &sealed).unwrap(), b"hello");
        assert_eq!(open(&[b], &sealed).unwrap(), b"hello");
        assert!(open(&[BackupIdentity::generate()], &sealed).is_err());
        assert!(BackupIdentity::parse_file("# nothing\n").is_err());
        let err = BackupIdentity::parse_file("AGE-SECRET-KEY-1NOTAKEY\n").err().unwrap();
        assert!(err.contains("line 1") && !err.contains("NOTAKEY"), "{err}");
    }

    #[test]
    fn a_part_needs_a_recipient() {
        assert!(seal_writer(&[], Vec::new()).is_err());
    }

    #[test]
    fn signatures_verify_only_unchanged() {
        let signer = BackupSigner::from_seed(&Key32::generate().unwrap());
        let sig = signer.sign(b"manifest");
        assert!(verify_signature(&signer.public_key(), b"manifest", &sig));
        assert!(!verify_signature(&signer.public_key(), b"manifesT", &sig));
        assert!(!verify_signature(&signer.public_key(), b"manifest", &sig[..63]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn any_flipped_byte_fails(data in proptest::collection::vec(any::<u8>(), 0..20_000), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let id = BackupIdentity::generate();
            let mut sealed = seal(&[id.recipient()], &data);
            prop_assert_eq!(open(&[BackupIdentity::parse_file(&id.to_file_text("t")).unwrap().remove(0)], &sealed).unwrap(), data);
            let i = pos.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(open(&[id], &sealed).is_err());
        }
    }
}
