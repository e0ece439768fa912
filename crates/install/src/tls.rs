//! TLS for the public and admin listeners (docs/adr/0006-tls.md): rustls with the aws-lc-rs
//! provider, TLS 1.2 and 1.3 only, ECDHE key exchange with AEAD ciphers only, the certificate
//! reloadable without a restart, and optional client certificates (mTLS) on the admin listener.
//!
//! Invariants: a certificate is served only after its chain parses and its private key matches
//! the leaf; a reload that fails keeps the certificate in use; private-key bytes read from disk
//! are zeroised once parsed; the crypto provider is always the one built here, never a process
//! default, so nothing else (and never `ring`) can widen the protocol or cipher choice.

use sejf_core::FileError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{self, cipher_suite};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::InstallError;

/// How long a client may take to finish the TLS handshake before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the certificate and key files are checked for a new modification time.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// The only cipher suites offered: TLS 1.3's AEAD suites, and for TLS 1.2 ephemeral ECDH key
/// exchange with AES-GCM or ChaCha20-Poly1305. No CBC, no RSA key exchange, no SHA-1 MACs.
/// (rustls implements nothing weaker; spelling the list out keeps the policy visible here.)
pub const CIPHER_SUITES: &[SupportedCipherSuite] = &[
    cipher_suite::TLS13_AES_256_GCM_SHA384,
    cipher_suite::TLS13_AES_128_GCM_SHA256,
    cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The protocol versions offered: TLS 1.3 and TLS 1.2, nothing older.
pub const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Only HTTP/1.1 is served (the routers are built without HTTP/2).
const ALPN: &[&[u8]] = &[b"http/1.1"];

/// The files named by `--tls-cert`, `--tls-key` and `--admin-client-ca`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// With it, the admin listener requires a client certificate issued by this CA.
    pub admin_client_ca: Option<PathBuf>,
}

/// Everything both listeners need to speak TLS, loaded and checked before anything is bound.
pub struct Tls {
    /// The public listener's configuration: no client certificates.
    pub public: Arc<ServerConfig>,
    /// The admin listener's configuration: the same certificate, and client certificates
    /// required when `--admin-client-ca` was given.
    pub admin: Arc<ServerConfig>,
    /// The certificate both configurations serve; reload it to change what new handshakes see.
    pub certs: Arc<CertStore>,
    /// Whether the admin listener requires client certificates.
    pub admin_mtls: bool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("certs", &self.certs).field("admin_mtls", &self.admin_mtls).finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads and checks the certificate, key and client CA; every error is one line naming the
    /// file at fault.
    pub fn load(files: &TlsFiles) -> Result<Self, InstallError> {
        let provider = Arc::new(provider());
        let certs = Arc::new(CertStore::open(&files.cert, &files.key, provider.clone())?);
        let public = server_config(provider.clone(), certs.clone(), None)?;
        let verifier = match &files.admin_client_ca {
            Some(ca) => {
                let roots = Arc::new(read_client_ca(ca)?);
                let v = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| InstallError::Tls(format!("admin client CA {}: {e}", ca.display())))?;
                Some(v)
            }
            None => None,
        };
        let admin_mtls = verifier.is_some();
        let admin = server_config(provider, certs.clone(), verifier)?;
        // Only once everything loaded, so a failure stays the one line on stderr.
        warn_if_key_readable_by_others(&files.key);
        Ok(Self { public, admin, certs, admin_mtls })
    }
}

/// The aws-lc-rs provider narrowed to [`CIPHER_SUITES`]; key exchange groups are its defaults
/// (X25519MLKEM768, X25519, P-256, P-384), all ephemeral.
pub fn provider() -> CryptoProvider {
    CryptoProvider { cipher_suites: CIPHER_SUITES.to_vec(), ..aws_lc_rs::default_provider() }
}

fn server_config(
    provider: Arc<CryptoProvider>,
    certs: Arc<CertStore>,
    client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<Arc<ServerConfig>, InstallError> {
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| InstallError::Tls(format!("TLS configuration: {e}")))?;
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(certs);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read_client_ca(path: &Path) -> Result<RootCertStore, InstallError> {
    let pem = std::fs::read(path).map_err(FileError::at("read admin client CA", path))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| InstallError::Tls(format!("admin client CA {}: {e}", path.display())))?;
        roots.add(cert).map_err(|e| InstallError::Tls(format!("admin client CA {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(InstallError::Tls(format!("admin client CA {}: no certificate found", path.display())));
    }
    Ok(roots)
}

/// The server certificate and key, kept in memory and swapped whole on reload. Handshakes that
/// started before a reload finish with the old certificate; later ones get the new one.
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// Modification times of the files at the last load attempt, good or bad, so a bad file is
    /// reported once, not at every check.
    seen: Mutex<Option<Stamp>>,
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore").field("cert", &self.cert_path).field("key", &self.key_path).finish_non_exhaustive()
    }
}

type Stamp = (SystemTime, SystemTime);

impl CertStore {
    /// Loads the pair; fails if either file is missing, unreadable, not PEM, or if the key does
    /// not belong to the certificate.
    pub fn open(cert: &Path, key: &Path, provider: Arc<CryptoProvider>) -> Result<Self, InstallError> {
        let stamp = stamp(cert, key);
        let loaded = load_pair(cert, key, &provider)?;
        Ok(Self {
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(loaded)),
            seen: Mutex::new(stamp),
        })
    }

    /// The certificate and key new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the files again and, if they are good, serves them from the next handshake on.
    /// Returns the new leaf's SHA-256 fingerprint; on error the old certificate stays.
    pub fn reload(&self) -> Result<String, InstallError> {
        let stamp = stamp(&self.cert_path, &self.key_path);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = stamp;
        let loaded = load_pair(&self.cert_path, &self.key_path, &self.provider)?;
        let fp = fingerprint(&loaded);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(fp)
    }

    /// [`reload`](Self::reload), if either file's modification time changed since the last
    /// attempt; `None` when nothing changed (or a file is missing mid-replacement).
    pub fn reload_if_changed(&self) -> Option<Result<String, InstallError>> {
        let now = stamp(&self.cert_path, &self.key_path)?;
        if *self.seen.lock().unwrap_or_else(|p| p.into_inner()) == Some(now) {
            return None;
        }
        Some(self.reload())
    }

    /// The SHA-256 fingerprint of the leaf certificate in use, for logs.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.current())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<Stamp> {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(cert)?, m(key)?))
}

fn fingerprint(k: &CertifiedKey) -> String {
    k.cert.first().map(|c| hex::encode(Sha256::digest(c.as_ref()))).unwrap_or_default()
}

fn load_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, InstallError> {
    let cert_pem = std::fs::read(cert).map_err(FileError::at("read TLS certificate", cert))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InstallError::Tls(format!("TLS certificate {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(InstallError::Tls(format!("TLS certificate {}: no certificate found", cert.display())));
    }
    let key_pem = Zeroizing::new(std::fs::read(key).map_err(FileError::at("read TLS key", key))?);
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| InstallError::Tls(format!("TLS key {}: {e}", key.display())))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            InstallError::Tls(format!("TLS key {} does not belong to the certificate {}", key.display(), cert.display()))
        }
        other => InstallError::Tls(format!("TLS certificate {} or key {}: {other}", cert.display(), key.display())),
    })
}

/// A private key others can read is worth a warning, not a refusal: the operator may run Sejf
/// under a group that legitimately shares it.
fn warn_if_key_readable_by_others(key: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(key)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(key = %key.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "TLS key is readable by other users");
        }
    }
    #[cfg(not(unix))]
    let _ = key;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir() -> Dir {
        let d = std::env::temp_dir().join(format!("sejf-tls-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// A self-signed certificate for localhost: (cert PEM, key PEM, cert DER).
    fn self_signed() -> (String, String, Vec<u8>) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem(), c.cert.der().to_vec())
    }

    fn write(d: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
        let (c, k) = (d.join("cert.pem"), d.join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        (c, k)
    }

    #[test]
    fn the_provider_offers_only_modern_aead_suites() {
        for s in provider().cipher_suites {
            let name = format!("{:?}", s.suite());
            assert!(name.contains("GCM") || name.contains("CHACHA20_POLY1305"), "{name}");
            assert!(name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_"), "{name}");
        }
    }

    #[test]
    fn a_mismatched_key_missing_file_or_garbage_is_refused() {
        let d = dir();
        let (cert_a, _, _) = self_signed();
        let (_, key_b, _) = self_signed();
        let (c, k) = write(&d.0, &cert_a, &key_b);
        let p = Arc::new(provider());
        let e = CertStore::open(&c, &k, p.clone()).unwrap_err();
        assert!(e.to_string().contains("does not belong"), "{e}");
        let e = CertStore::open(&d.0.join("nope.pem"), &k, p.clone()).unwrap_err();
        assert!(e.to_string().starts_with("cannot read TLS certificate"), "{e}");
        let (c, k) = write(&d.0, "not a certificate", &key_b);
        let e = CertStore::open(&c, &k, p).unwrap_err();
        assert!(e.to_string().contains("no certificate found"), "{e}");
    }

    #[test]
    fn a_bad_reload_keeps_the_old_certificate_and_a_good_one_replaces_it() {
        let d = dir();
        let (cert_a, key_a, der_a) = self_signed();
        let (c, k) = write(&d.0, &cert_a, &key_a);
        let store = CertStore::open(&c, &k, Arc::new(provider())).unwrap();
        assert!(store.reload_if_changed().is_none(), "nothing changed yet");
        let (cert_b, key_b, der_b) = self_signed();
        // A half-finished replacement: new certificate, old key.
        std::fs::write(&c, &cert_b).unwrap();
        assert!(store.reload().is_err());
        assert_eq!(store.current().cert[0].as_ref(), der_a.as_slice());
        std::fs::write(&k, &key_b).unwrap();
        // Make sure the modification time moves even on a coarse-grained file system.
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options().write(true).open(&k).unwrap().set_modified(later).unwrap();
        let fp = store.reload_if_changed().expect("the key changed").unwrap();
        assert_eq!(store.current().cert[0].as_ref(), der_b.as_slice());
        assert_eq!(fp, store.fingerprint());
        assert!(store.reload_if_changed().is_none());
    }
}
