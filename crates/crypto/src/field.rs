//! The field envelope: AES-256-GCM-SIV with a random 96-bit nonce, bound by associated data to
//! its table, column, record and subject (ADR 0001).
//!
//! Blob layout (version 1): `0x01 | key_version: u32 BE | nonce: 12 bytes | ciphertext+tag`.
//! The key version is authenticated too, so a blob cannot be re-labelled to another key.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use zeroize::Zeroizing;

use crate::{CryptoError, Key32, associated_data, random};

/// The cipher's name, as documents that describe the field encryption (the records of
/// processing) give it.
pub const CIPHER: &str = "AES-256-GCM-SIV";

const FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 1 + 4 + 12;
const TAG_LEN: usize = 16;

/// Where a ciphertext lives. All four parts are authenticated.
#[derive(Debug, Clone, Copy)]
pub struct FieldContext<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub record_id: &'a str,
    /// The data subject whose key encrypts the field ("" for unit-keyed records).
    pub subject_id: &'a str,
}

impl FieldContext<'_> {
    fn ad(&self, key_version: u32) -> Vec<u8> {
        associated_data(
            b"sejf-field-v1",
            &[
                self.table.as_bytes(),
                self.column.as_bytes(),
                self.record_id.as_bytes(),
                self.subject_id.as_bytes(),
                &key_version.to_be_bytes(),
            ],
        )
    }
}

/// Encrypts `plaintext` for the place `ctx` under `key` (version `key_version`).
pub fn encrypt_field(key: &Key32, key_version: u32, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256GcmSiv::new(key.expose().into());
    let nonce = random::bytes::<12>()?;
    let ad = ctx.ad(key_version);
    let ct = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &ad }).map_err(|_| CryptoError::Integrity)?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&key_version.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The key version a blob was written with, so the caller can fetch the right key.
pub fn key_version(blob: &[u8]) -> Result<u32, CryptoError> {
    if blob.len() < HEADER_LEN + TAG_LEN || blob[0] != FORMAT_V1 {
        return Err(CryptoError::Format("field ciphertext"));
    }
    Ok(u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
}

/// Decrypts a blob written by [`encrypt_field`] for exactly the same place.
pub fn decrypt_field(key: &Key32, ctx: &FieldContext<'_>, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let version = key_version(blob)?;
    let cipher = Aes256GcmSiv::new(key.expose().into());
    let ad = ctx.ad(version);
    let plain = cipher
        .decrypt(Nonce::from_slice(&blob[5..HEADER_LEN]), Payload { msg: &blob[HEADER_LEN..], aad: &ad })
        .map_err(|_| CryptoError::Integrity)?;
    Ok(Zeroizing::new(plain))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[allow(clippy::disallowed_methods, reason = "the cipher's own tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx<'a>(column: &'a str, record: &'a str) -> FieldContext<'a> {
        FieldContext { table: "people", column, record_id: record, subject_id: record }
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        let k = Key32::generate().unwrap();
        let a = encrypt_field(&k, 1, &ctx("email", "r1"), b"jan@example.com").unwrap();
        let b = encrypt_field(&k, 1, &ctx("email", "r1"), b"jan@example.com").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn moved_ciphertext_fails_integrity() {
        let k = Key32::generate().unwrap();
        let blob = encrypt_field(&k, 1, &ctx("email", "r1"), b"jan@example.com").unwrap();
        assert!(matches!(decrypt_field(&k, &ctx("phone", "r1"), &blob), Err(CryptoError::Integrity)));
        assert!(matches!(decrypt_field(&k, &ctx("email", "r2"), &blob), Err(CryptoError::Integrity)));
        let mut relabelled = blob.clone();
        relabelled[4] ^= 1;
        assert!(matches!(decrypt_field(&k, &ctx("email", "r1"), &relabelled), Err(CryptoError::Integrity)));
        assert_eq!(&*decrypt_field(&k, &ctx("email", "r1"), &blob).unwrap(), b"jan@example.com");
    }

    #[test]
    fn short_or_unknown_blob_is_a_format_error() {
        let k = Key32::generate().unwrap();
        assert!(matches!(decrypt_field(&k, &ctx("email", "r1"), &[1, 2, 3]), Err(CryptoError::Format(_))));
    }

    proptest! {
        #[test]
        fn roundtrip_and_tamper(plain in proptest::collection::vec(any::<u8>(), 0..512), flip in any::<usize>()) {
            let k = Key32::generate().unwrap();
            let c = ctx("notes", "rec");
            let blob = encrypt_field(&k, 7, &c, &plain).unwrap();
            prop_assert_eq!(&*decrypt_field(&k, &c, &blob).unwrap(), &plain[..]);
            let mut bad = blob.clone();
            let i = flip % bad.len();
            bad[i] ^= 0x40;
            prop_assert!(decrypt_field(&k, &c, &bad).is_err());
        }
    }
}
