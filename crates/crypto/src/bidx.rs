//! Blind indexes: HMAC-SHA256 of a normalised value under a per-field key, truncated to 64 bits
//! (ADR 0003). Equal normalised values give equal indexes; the index reveals nothing else
//! without the key. The server decrypts candidates and drops false positives.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Key32;

/// The HMAC key of one searchable field.
pub struct BlindIndexKey(Key32);

impl BlindIndexKey {
    pub fn new(key: Key32) -> Self {
        Self(key)
    }

    /// The 64-bit index of an already normalised value.
    pub fn compute(&self, normalised: &str) -> i64 {
        // HMAC accepts keys of any length, so construction cannot fail for a 32-byte key.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose()) {
            Ok(m) => m,
            Err(_) => return 0,
        };
        mac.update(normalised.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        i64::from_be_bytes(first)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_match_and_keys_separate() {
        let a = BlindIndexKey::new(Key32::generate().unwrap());
        let b = BlindIndexKey::new(Key32::generate().unwrap());
        assert_eq!(a.compute("jan@example.com"), a.compute("jan@example.com"));
        assert_ne!(a.compute("jan@example.com"), a.compute("jana@example.com"));
        assert_ne!(a.compute("jan@example.com"), b.compute("jan@example.com"));
    }
}
