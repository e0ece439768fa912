//! Password hashing with Argon2id (PHC strings), and a dummy verification so that an unknown
//! user costs as much time as a wrong password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{CryptoError, random};

/// OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, CryptoError> {
    let salt_bytes = random::bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| CryptoError::Password(e.to_string()))?;
    let phc = hasher()?.hash_password(password.as_bytes(), &salt).map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC string.
pub fn verify(password: &str, phc: &str) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(hasher()?.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Spends the same time as [`verify`] against a real hash, and always answers `false`.
/// Used when the user does not exist, so timing does not tell whether an account exists.
pub fn verify_dummy(password: &str) -> bool {
    // A fixed hash of a random password with the same parameters as `hasher()`.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VqZmR1bW15c2FsdDEyMw$rOg8D7lvsGmSWkyx9jxbqEV2pUO2cMF2mxDt03s9Alk";
    let _ = verify(password, DUMMY);
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery staple", &h).unwrap());
        assert!(!verify("Correct horse battery staple", &h).unwrap());
        assert!(!verify_dummy("anything"));
    }
}
