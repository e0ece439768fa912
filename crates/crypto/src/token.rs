//! Opaque bearer tokens: 256 random bits, shown to the client once, stored only as SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{CryptoError, random};

/// A new token in its client form (URL-safe base64, 43 characters).
pub fn generate() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random::bytes::<32>()?))
}

/// The stored form of a token: its SHA-256 digest. A leaked token table opens no session.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A random password of `len` characters from an alphabet without look-alikes.
pub fn password(len: usize) -> Result<String, CryptoError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        let i = random::below(ALPHABET.len() as u32)? as usize;
        out.push(char::from(ALPHABET[i]));
    }
    Ok(out)
}
