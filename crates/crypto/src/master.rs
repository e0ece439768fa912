//! The master key: 256 bits, versioned, sealed at rest with a passphrase (Argon2id + AES-256-GCM-SIV)
//! or handed in through the environment. It wraps every data key and index key; it never
//! encrypts data itself (ADR 0002).
//!
//! Wrapped-key layout: `0x01 | master_version: u32 BE | nonce: 12 | ciphertext(32) + tag(16)`,
//! with the wrapped key's identity (`kind/id`) as associated data, so a wrapped key copied to
//! another subject's row does not unwrap.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{CryptoError, Key32, associated_data, random};

const WRAP_V1: u8 = 1;
const WRAPPED_LEN: usize = 1 + 4 + 12 + 32 + 16;

/// The unsealed master key of one version.
pub struct MasterKey {
    version: u32,
    key: Key32,
}

/// The on-disk form of a passphrase-sealed master key (JSON, file mode 0600).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMasterKey {
    pub format: String,
    pub key_version: u32,
    pub kdf: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

const SEALED_FORMAT: &str = "sejf-master-key-v1";

impl MasterKey {
    /// A fresh random master key of the given version.
    pub fn generate(version: u32) -> Result<Self, CryptoError> {
        Ok(Self { version, key: Key32::generate()? })
    }

    /// A master key from base64 (the `env` provider, for containers).
    pub fn from_base64(version: u32, b64: &str) -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(STANDARD.decode(b64.trim()).map_err(|_| CryptoError::Format("master key base64"))?);
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::Format("master key must be 32 bytes"))?;
        Ok(Self { version, key: Key32::from_bytes(bytes) })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Seals this key with a passphrase. Argon2id at 64 MiB, 3 passes makes offline guessing
    /// of the passphrase expensive.
    pub fn seal(&self, passphrase: &str) -> Result<SealedMasterKey, CryptoError> {
        let (m, t, p) = (64 * 1024, 3, 1);
        let salt = random::bytes::<16>()?;
        let kek = derive_kek(passphrase, &salt, m, t, p)?;
        let nonce = random::bytes::<12>()?;
        let ad = sealed_ad(self.version);
        let ct = Aes256GcmSiv::new(kek.expose().into())
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: self.key.expose(), aad: &ad })
            .map_err(|_| CryptoError::Integrity)?;
        Ok(SealedMasterKey {
            format: SEALED_FORMAT.into(),
            key_version: self.version,
            kdf: "argon2id".into(),
            m_cost_kib: m,
            t_cost: t,
            p_cost: p,
            salt: STANDARD.encode(salt),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ct),
        })
    }

    /// Opens a sealed key. A wrong passphrase is [`CryptoError::WrongPassphrase`].
    pub fn unseal(sealed: &SealedMasterKey, passphrase: &str) -> Result<Self, CryptoError> {
        if sealed.format != SEALED_FORMAT || sealed.kdf != "argon2id" {
            return Err(CryptoError::Format("sealed master key"));
        }
        let salt = STANDARD.decode(&sealed.salt).map_err(|_| CryptoError::Format("salt"))?;
        let nonce = STANDARD.decode(&sealed.nonce).map_err(|_| CryptoError::Format("nonce"))?;
        let ct = STANDARD.decode(&sealed.ciphertext).map_err(|_| CryptoError::Format("ciphertext"))?;
        if nonce.len() != 12 {
            return Err(CryptoError::Format("nonce"));
        }
        let kek = derive_kek(passphrase, &salt, sealed.m_cost_kib, sealed.t_cost, sealed.p_cost)?;
        let plain = Zeroizing::new(
            Aes256GcmSiv::new(kek.expose().into())
                .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad: &sealed_ad(sealed.key_version) })
                .map_err(|_| CryptoError::WrongPassphrase)?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::Format("master key length"))?;
        Ok(Self { version: sealed.key_version, key: Key32::from_bytes(bytes) })
    }

    /// Wraps a data or index key. `key_id` names it (e.g. `subject/<uuid>`, `index/email`).
    pub fn wrap(&self, key: &Key32, key_id: &str) -> Result<Vec<u8>, CryptoError> {
        let nonce = random::bytes::<12>()?;
        let ad = wrap_ad(key_id, self.version);
        let ct = Aes256GcmSiv::new(self.key.expose().into())
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: key.expose(), aad: &ad })
            .map_err(|_| CryptoError::Integrity)?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_V1);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The master-key version a wrapped key was made with.
    pub fn wrapped_version(blob: &[u8]) -> Result<u32, CryptoError> {
        if blob.len() != WRAPPED_LEN || blob[0] != WRAP_V1 {
            return Err(CryptoError::Format("wrapped key"));
        }
        Ok(u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
    }

    /// Unwraps a key made by [`MasterKey::wrap`] for the same `key_id`.
    pub fn unwrap_key(&self, blob: &[u8], key_id: &str) -> Result<Key32, CryptoError> {
        let version = Self::wrapped_version(blob)?;
        if version != self.version {
            return Err(CryptoError::Format("wrapped by another master-key version"));
        }
        let plain = Zeroizing::new(
            Aes256GcmSiv::new(self.key.expose().into())
                .decrypt(Nonce::from_slice(&blob[5..17]), Payload { msg: &blob[17..], aad: &wrap_ad(key_id, version) })
                .map_err(|_| CryptoError::Integrity)?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::Format("wrapped key length"))?;
        Ok(Key32::from_bytes(bytes))
    }

    /// A short, non-secret fingerprint that tells whether two processes hold the same key.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(associated_data(b"sejf-master-fingerprint", &[self.key.expose()]));
        d.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

fn sealed_ad(version: u32) -> Vec<u8> {
    associated_data(b"sejf-master-key-v1", &[&version.to_be_bytes()])
}

fn wrap_ad(key_id: &str, version: u32) -> Vec<u8> {
    associated_data(b"sejf-wrap-v1", &[key_id.as_bytes(), &version.to_be_bytes()])
}

fn derive_kek(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<Key32, CryptoError> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| CryptoError::Password(e.to_string()))?;
    // The derived key-encryption key is wiped from this frame too (Argon2's own memory blocks
    // are wiped by its `zeroize` feature).
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *out)
        .map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(Key32::from_bytes(*out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_unseal_and_wrong_passphrase() {
        let mk = MasterKey::generate(1).unwrap();
        let sealed = mk.seal("a long passphrase").unwrap();
        let back = MasterKey::unseal(&sealed, "a long passphrase").unwrap();
        assert_eq!(back.fingerprint(), mk.fingerprint());
        assert!(matches!(MasterKey::unseal(&sealed, "wrong"), Err(CryptoError::WrongPassphrase)));
    }

    #[test]
    fn wrapped_key_is_bound_to_its_id() {
        let mk = MasterKey::generate(1).unwrap();
        let dk = Key32::generate().unwrap();
        let w = mk.wrap(&dk, "subject/a").unwrap();
        assert_eq!(mk.unwrap_key(&w, "subject/a").unwrap().expose(), dk.expose());
        assert!(matches!(mk.unwrap_key(&w, "subject/b"), Err(CryptoError::Integrity)));
    }
}
