//! Sejf's cryptography: key types, the sealed master key, key wrapping, the field envelope,
//! blind indexes, password hashes, session tokens, and the audit log's tamper evidence.
//!
//! Invariants: key material never implements `Debug`, `Clone` or `Serialize` and is zeroised on
//! drop; every ciphertext is bound by associated data to where it lives, so a blob moved to
//! another row, column or subject fails to decrypt with [`CryptoError::Integrity`] and never
//! yields wrong plaintext. Randomness comes only from [`random`], the one place that asks the
//! operating system.

pub mod audit;
pub mod backup;
pub mod bidx;
pub mod field;
pub mod master;
pub mod password;
pub mod random;
pub mod token;
pub mod totp;

pub use bidx::BlindIndexKey;
pub use field::{FieldContext, decrypt_field, encrypt_field};
pub use master::{MasterKey, SealedMasterKey};

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Errors of this layer. None of them carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A ciphertext failed authentication: it was changed, truncated or moved to another place.
    #[error("integrity check failed: the ciphertext was altered or does not belong here")]
    Integrity,
    /// A ciphertext or key file has a format this version does not read.
    #[error("unsupported format: {0}")]
    Format(&'static str),
    /// The passphrase did not open the sealed master key.
    #[error("wrong passphrase: the master key could not be unsealed")]
    WrongPassphrase,
    /// Password hashing failed (parameters, or a malformed stored hash).
    #[error("password hashing failed: {0}")]
    Password(String),
    /// The operating system's random source failed.
    #[error("the system random source failed")]
    Random,
    /// A caller passed arguments that describe nothing, e.g. an inclusion proof for a leaf index
    /// outside the tree. A programming error, never a sign of tampering.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// A 256-bit symmetric key. It cannot be printed, cloned or serialised, and is wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Key32([u8; 32]);

impl Key32 {
    /// A fresh random key.
    pub fn generate() -> Result<Self, CryptoError> {
        // Filled in place: no copy of the key is left in this frame.
        let mut k = Self([0u8; 32]);
        random::fill(&mut k.0)?;
        Ok(k)
    }

    /// Takes ownership of raw key bytes (e.g. from an unwrapped blob).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A keyed hash (HMAC-SHA256) of `parts` under `key`, for values that must be matched without
/// being kept: sign-in throttle keys, attempted user names in the trail, recovery codes.
/// The parts are length-prefixed after `label`, so no two inputs collide by concatenation.
pub fn keyed_hash(key: &Key32, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so a 32-byte key always makes a MAC.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.expose()) else { return [0; 32] };
    mac.update(&associated_data(label, parts));
    mac.finalize().into_bytes().into()
}

/// Encodes associated-data parts unambiguously: a domain label, then each part length-prefixed.
pub(crate) fn associated_data(label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(label.len() + parts.iter().map(|p| p.len() + 4).sum::<usize>());
    ad.extend_from_slice(label);
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        ad.extend_from_slice(&len.to_be_bytes());
        ad.extend_from_slice(part);
    }
    ad
}
