//! The single source of randomness: the operating system's CSPRNG via `getrandom`.
//! Nonces, keys, salts and tokens all come from here, so there is one place to audit.

use crate::CryptoError;

/// Fills `buf` with random bytes from the operating system.
pub fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}

/// A random array of `N` bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    fill(&mut b)?;
    Ok(b)
}

/// A uniformly random index below `n` (`n > 0`), by rejection sampling.
pub fn below(n: u32) -> Result<u32, CryptoError> {
    if n <= 1 {
        return Ok(0);
    }
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let v = u32::from_le_bytes(bytes::<4>()?);
        if v < zone {
            return Ok(v % n);
        }
    }
}
