//! Password hashing with Argon2id (PHC strings), and a dummy verification so that an unknown
//! user costs as much time as a wrong password.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{CryptoError, random};

/// OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string, computing in a working memory wiped when it ends (as
/// [`verify`] does): setting a password leaves no derived block of it behind either.
pub fn hash(password: &str) -> Result<String, CryptoError> {
    hash_with_salt(password, &random::bytes::<16>()?, &mut Vec::new())
}

/// [`hash`] with a given salt, computing in `memory`.
fn hash_with_salt(password: &str, salt: &[u8], memory: &mut Vec<argon2::Block>) -> Result<String, CryptoError> {
    let bad = |e: password_hash::Error| CryptoError::Password(e.to_string());
    let salt = SaltString::encode_b64(salt).map_err(bad)?;
    let argon = hasher()?;
    let mut out = zeroize::Zeroizing::new([0u8; Params::DEFAULT_OUTPUT_LEN]);
    let mut salt_buf = [0u8; 64];
    derive(&argon, password, salt.decode_b64(&mut salt_buf).map_err(bad)?, out.as_mut_slice(), memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(bad)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out.as_slice()).map_err(bad)?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC string. A PHC string that does not parse, or names
/// another algorithm, answers an error. The check computes in a working memory of its own (19
/// MiB at the standard setting), wiped when it ends, however it ends: argon2 does not wipe the
/// memory it allocates itself, and freed, its derived blocks would stay in the process until
/// reused. The server's allocator takes a block that large from the system and gives it back
/// (`.cargo/config.toml`).
pub fn verify(password: &str, phc: &str) -> Result<bool, CryptoError> {
    verify_in(password, phc, &mut Vec::new())
}

/// A fixed hash of a random password with the same parameters as `hasher()`.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VqZmR1bW15c2FsdDEyMw$rOg8D7lvsGmSWkyx9jxbqEV2pUO2cMF2mxDt03s9Alk";

/// Spends the same time as [`verify`] against a real hash, and always answers `false`.
/// Used when the user does not exist, so timing does not tell whether an account exists.
pub fn verify_dummy(password: &str) -> bool {
    let _ = verify(password, DUMMY);
    false
}

/// The blocks of one check, wiped when it ends: once, on return or on a panic inside Argon2.
struct Wiped<'a>(&'a mut [argon2::Block]);

impl Drop for Wiped<'_> {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for block in self.0.iter_mut() {
            block.zeroize();
        }
    }
}

/// [`verify`], computing in `memory` (grown as the hash's parameters need).
fn verify_in(password: &str, phc: &str, memory: &mut Vec<argon2::Block>) -> Result<bool, CryptoError> {
    let bad = |e: &dyn std::fmt::Display| CryptoError::Password(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(|e| bad(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Err(CryptoError::Format("password hash")) };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| bad(&e))?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(|e| bad(&e))?.unwrap_or_default();
    let stated = Params::try_from(&parsed).map_err(|e| bad(&e))?;
    let params = Params::new(stated.m_cost(), stated.t_cost(), stated.p_cost(), Some(expected.len())).map_err(|e| bad(&e))?;
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(|e| bad(&e))?;
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    derive(&Argon2::new(algorithm, version, params), password, salt, &mut out, memory)?;
    Ok(bool::from(subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected.as_bytes())))
}

/// Derives `out` from `password` and `salt` in `memory` (grown as `argon`'s parameters need),
/// whose blocks are wiped when the derivation ends, however it ends.
fn derive(argon: &Argon2<'_>, password: &str, salt: &[u8], out: &mut [u8], memory: &mut Vec<argon2::Block>) -> Result<(), CryptoError> {
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let work = Wiped(memory.get_mut(..blocks).ok_or(CryptoError::InvalidArgument("argon2 memory"))?);
    let done = argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *work.0);
    drop(work);
    done.map_err(|e| CryptoError::Password(e.to_string()))
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
        let mut memory = Vec::new();
        assert!(verify_in("correct horse battery staple", &h, &mut memory).unwrap());
        assert!(!verify_in("Correct horse battery staple", &h, &mut memory).unwrap());
        assert!(verify_in("correct horse battery staple", &h, &mut memory).unwrap(), "the memory is reused");
        assert!(!verify_in("anything", DUMMY, &mut memory).unwrap());
        assert!(verify_in("x", "not a phc string", &mut memory).is_err());
        assert!(verify("x", "not a phc string").is_err());
        assert!(verify_in("correct horse battery staple", &h, &mut memory).unwrap());
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)), "a check leaves no derived block behind");
    }

    #[test]
    fn a_hash_is_argon2s_own_phc_string_and_leaves_no_derived_block() {
        use argon2::password_hash::PasswordHasher;
        let salt = *b"sejf-salt-16byte";
        let mut memory = Vec::new();
        let ours = hash_with_salt("correct horse battery staple", &salt, &mut memory).unwrap();
        let theirs =
            hasher().unwrap().hash_password(b"correct horse battery staple", &SaltString::encode_b64(&salt).unwrap()).unwrap().to_string();
        assert_eq!(ours, theirs);
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert_eq!(memory.len(), 19 * 1024, "the derivation ran in the memory given");
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)), "setting a password leaves no derived block behind");
        assert!(verify("correct horse battery staple", &ours).unwrap());
    }
}
