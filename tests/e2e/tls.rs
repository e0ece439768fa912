//! TLS on both listeners, seen from outside: a test CA, server and client certificates made with
//! rcgen; TLS 1.3 and 1.2 (ECDHE with AEAD) handshakes work and answers carry HSTS; hand-made
//! ClientHellos offering only old protocols or only CBC suites are refused by the server itself;
//! the admin listener's mTLS; certificate reload on SIGHUP without a restart; and bad TLS flags
//! failing before anything is bound. Legacy protocols are also probed by `testssl.sh` in CI
//! (.ci/tls-check), which, unlike rustls, can offer them all.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::harness::{Backend, Install, Server, files_under};

/// A test CA and the files it issued, in the installation's root (outside the data dir).
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

/// A certificate and its key, as PEM.
struct Issued {
    cert: String,
    key: String,
    der: Vec<u8>,
}

impl Pki {
    fn new(root: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = root.join(format!("tls-{name}").replace(' ', "-"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Self { ca, dir }
    }

    fn issue(&self, cn: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Issued { cert: cert.pem(), key: key.serialize_pem(), der: cert.der().to_vec() }
    }

    fn server(&self, cn: &str) -> Issued {
        self.issue(cn, &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self, cn: &str) -> Issued {
        self.issue(cn, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_string()
    }

    /// Writes the server certificate and key where `--tls-cert`/`--tls-key` point.
    fn install_server(&self, issued: &Issued) {
        std::fs::write(self.dir.join("server.pem"), &issued.cert).unwrap();
        std::fs::write(self.dir.join("server.key"), &issued.key).unwrap();
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }
}

/// A client that trusts `ca_pem`, offers only `versions`, and presents `identity` if given.
fn client(ca_pem: &str, versions: &[&'static rustls::SupportedProtocolVersion], identity: Option<&Issued>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider).with_protocol_versions(versions).unwrap().with_root_certificates(roots);
    let config = match identity {
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.cert.as_bytes()).map(|c| c.unwrap()).collect();
            builder.with_client_auth_cert(chain, PrivateKeyDer::from_pem_slice(id.key.as_bytes()).unwrap()).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

const BOTH: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// `https://ADDR` → `ADDR`.
fn addr(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or_else(|| panic!("not an https URL: {url}"))
}

async fn handshake(connector: &TlsConnector, url: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr(url)).await?;
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await
}

/// One `GET` over a fresh connection: status and the raw response head.
async fn get(connector: &TlsConnector, url: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = handshake(connector, url).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_string();
    let status =
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    Ok((status, head.to_lowercase()))
}

fn serve_tls(install: &Install, pki: &Pki, extra: &[&str]) -> Server {
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let args = [&["--tls-cert", cert.as_str(), "--tls-key", key.as_str()][..], extra].concat();
    let server = install.serve_with(&args);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    assert!(server.admin.starts_with("https://"), "{}", server.admin);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_and_tls12_aead_handshakes_work_and_answers_carry_hsts() {
    let install = Install::new(Backend::Sqlite).await;
    let pki = Pki::new(&install.root, "Sejf test CA");
    pki.install_server(&pki.server("sejf.test"));
    let server = serve_tls(&install, &pki, &[]);

    let tls13 = client(&pki.ca_pem(), &[&rustls::version::TLS13], None);
    let (status, head) = get(&tls13, &server.base, "/healthz").await.unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("strict-transport-security: max-age=31536000; includesubdomains"), "{head}");
    let s = handshake(&tls13, &server.base).await.unwrap();
    assert_eq!(s.get_ref().1.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert_eq!(s.get_ref().1.alpn_protocol(), None, "the client offered no ALPN");

    // A client limited to TLS 1.2 gets ECDHE with an AEAD cipher, whichever it asks for first.
    let tls12 = client(&pki.ca_pem(), &[&rustls::version::TLS12], None);
    let s = handshake(&tls12, &server.base).await.unwrap();
    assert_eq!(s.get_ref().1.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    let suite = format!("{:?}", s.get_ref().1.negotiated_cipher_suite().unwrap().suite());
    assert!(suite.starts_with("TLS_ECDHE_") && (suite.contains("_GCM_") || suite.contains("CHACHA20_POLY1305")), "{suite}");
    let (status, head) = get(&tls12, &server.base, "/api/v1/healthz").await.unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("strict-transport-security"), "{head}");

    // The admin listener speaks TLS too (no client certificates asked for without a CA).
    let (status, head) = get(&tls13, &server.admin, "/healthz").await.unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("strict-transport-security"), "{head}");

    // Hand-made ClientHellos: what rustls clients cannot offer, the server must still refuse.
    let port = addr(&server.base).to_string();
    let modern = [0xc02b, 0xc02f]; // ECDHE-ECDSA/RSA-AES128-GCM-SHA256
    assert_eq!(first_record(&port, &hello(0x0303, &modern)).await.0, 0x16, "control: a TLS 1.2 AEAD hello gets a ServerHello");
    let cbc_only = [0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0x002f, 0x0035, 0x003c, 0x003d, 0x000a];
    for (what, version, suites) in [
        ("TLS 1.2 with only CBC and RSA-key-exchange suites", 0x0303, &cbc_only[..]),
        ("TLS 1.1", 0x0302, &cbc_only[..]),
        ("TLS 1.0", 0x0301, &cbc_only[..]),
        ("SSL 3.0", 0x0300, &cbc_only[..]),
        ("TLS 1.1 even with AEAD suites", 0x0302, &modern[..]),
    ] {
        let (kind, level, description) = first_record(&port, &hello(version, suites)).await;
        assert_eq!((kind, level), (0x15, 2), "{what}: expected a fatal alert, got record type {kind:#x}");
        assert!([40, 70].contains(&description), "{what}: alert {description} (expected handshake_failure or protocol_version)");
    }
}

/// Sends one raw ClientHello; returns the first record's content type and, for an alert, its
/// level and description.
async fn first_record(addr: &str, hello: &[u8]) -> (u8, u8, u8) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(hello).await.unwrap();
    let mut head = [0u8; 7];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head)).await.unwrap().unwrap();
    (head[0], head[5], head[6])
}

/// A minimal ClientHello (record version 1.0, as real clients send) with the given legacy
/// version and cipher suites, and the extensions an ECDHE handshake needs.
fn hello(version: u16, suites: &[u16]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend([0x5a; 32]); // random
    body.push(0); // no session id
    body.extend(((suites.len() * 2) as u16).to_be_bytes());
    suites.iter().for_each(|s| body.extend(s.to_be_bytes()));
    body.extend([1, 0]); // compression: null only
    let mut ext = Vec::new();
    ext.extend([0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]); // groups: x25519, P-256
    ext.extend([0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]); // EC point formats: uncompressed
    ext.extend([0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]); // signature algorithms
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut handshake = vec![1u8];
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_requires_a_client_certificate_from_its_ca() {
    let install = Install::new(Backend::Sqlite).await;
    let pki = Pki::new(&install.root, "Sejf test CA");
    pki.install_server(&pki.server("sejf.test"));
    let clients = Pki::new(&install.root, "Sejf admin clients");
    let ca = clients.path("ca.pem");
    let server = serve_tls(&install, &pki, &["--admin-client-ca", &ca]);

    let anonymous = client(&pki.ca_pem(), BOTH, None);
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12][..]] {
        let c = client(&pki.ca_pem(), versions, None);
        assert!(get(&c, &server.admin, "/healthz").await.is_err(), "admin without a client certificate must be refused");
    }
    let admin_cert = clients.client("ops@example.test");
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12][..]] {
        let c = client(&pki.ca_pem(), versions, Some(&admin_cert));
        let (status, head) = get(&c, &server.admin, "/healthz").await.unwrap();
        assert_eq!(status, 200, "{head}");
    }
    // A certificate from another CA (here: the server's) is no admin credential.
    let stranger = pki.client("mallory@example.test");
    assert!(get(&client(&pki.ca_pem(), BOTH, Some(&stranger)), &server.admin, "/healthz").await.is_err());
    // The public listener asks for no client certificate.
    let (status, _) = get(&anonymous, &server.base, "/healthz").await.unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_certificate_is_served_after_sighup_and_a_bad_one_is_refused() {
    let install = Install::new(Backend::Sqlite).await;
    let pki = Pki::new(&install.root, "Sejf test CA");
    let first = pki.server("first.sejf.test");
    pki.install_server(&first);
    let server = serve_tls(&install, &pki, &[]);
    let pid = server.child.as_ref().unwrap().id();
    let c = client(&pki.ca_pem(), BOTH, None);
    assert_eq!(presented(&c, &server.base).await, first.der);

    let second = pki.server("second.sejf.test");
    pki.install_server(&second);
    hup(pid);
    wait_until(|| async { presented(&c, &server.base).await == second.der }).await;
    assert_eq!(presented(&c, &server.admin).await, second.der, "the admin listener shares the certificate");

    // A broken replacement (a key that does not match) is refused; the good one stays.
    std::fs::write(pki.dir.join("server.key"), pki.server("third.sejf.test").key).unwrap();
    hup(pid);
    wait_until(|| async { log_of(&install).contains("new TLS certificate refused") }).await;
    assert_eq!(presented(&c, &server.base).await, second.der);
    let (status, _) = get(&c, &server.base, "/healthz").await.unwrap();
    assert_eq!(status, 200);
}

async fn presented(c: &TlsConnector, url: &str) -> Vec<u8> {
    let s = handshake(c, url).await.unwrap();
    s.get_ref().1.peer_certificates().unwrap()[0].as_ref().to_vec()
}

fn hup(pid: u32) {
    assert!(Command::new("kill").arg("-HUP").arg(pid.to_string()).status().unwrap().success());
}

fn log_of(install: &Install) -> String {
    files_under(&install.root)
        .into_iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("server-") && n.ends_with(".log")))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

async fn wait_until<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_flags_fail_with_one_line_before_anything_is_bound() {
    let install = Install::new(Backend::Sqlite).await;
    let pki = Pki::new(&install.root, "Sejf test CA");
    pki.install_server(&pki.server("sejf.test"));
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    std::fs::write(pki.dir.join("other.key"), pki.server("other").key).unwrap();
    let (missing, other_key) = (pki.path("missing.pem"), pki.path("other.key"));
    let serve = |extra: &[&str]| install.cli(&[&["serve", "--listen", "127.0.0.1:0"][..], extra].concat(), None);

    for (args, expect) in [
        (vec!["--tls-cert", missing.as_str(), "--tls-key", key.as_str()], "cannot read TLS certificate"),
        (vec!["--tls-cert", cert.as_str(), "--tls-key", missing.as_str()], "cannot read TLS key"),
        (vec!["--tls-cert", cert.as_str(), "--tls-key", other_key.as_str()], "does not belong to the certificate"),
        (vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str(), "--admin-client-ca", missing.as_str()], "admin client CA"),
    ] {
        let out = serve(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"), "nothing may be bound");
    }
    for args in [vec!["--admin-client-ca", cert.as_str()], vec!["--tls-cert", cert.as_str()], vec!["--tls-key", key.as_str()]] {
        let out = serve(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error: {}", String::from_utf8_lossy(&out.stderr));
    }

    // Without TLS flags nothing changes: plain HTTP, no HSTS.
    let server = install.serve();
    assert!(server.base.starts_with("http://"), "{}", server.base);
    let res = server.client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("strict-transport-security").is_none());
}

/// TLS to PostgreSQL with `sslmode=verify-full` (docs/operations.md): the test gives the CI
/// server a certificate from a test CA (written by the server itself with `lo_export`, loaded
/// with `pg_reload_conf()`, and put back afterwards); Sejf connects when it trusts that CA and
/// refuses, with one line naming the certificate problem, when it trusts another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_verify_the_server_certificate() {
    use sqlx::Connection;
    let Some(base) = sejf_store::testing::test_database_url() else {
        eprintln!("skipped: SEJF_TEST_DATABASE_URL not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let root = sejf_store::testing::fresh_temp_dir().unwrap();
    let pki = Pki::new(&root, "pg test ca");
    let server = pki.server("localhost");
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
    let data_dir: String =
        sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetch_one(&mut admin).await.unwrap();
    let (cert_file, key_file) = (format!("{data_dir}/sejf-test-server.crt"), format!("{data_dir}/sejf-test-server.key"));
    for (file, pem) in [(&cert_file, &server.cert), (&key_file, &server.key)] {
        // The server writes the file as its own user (a key must be the server's, mode 0600).
        let oid: i64 =
            sqlx::query_scalar("SELECT lo_from_bytea(0, $1)::bigint").bind(pem.as_bytes().to_vec()).fetch_one(&mut admin).await.unwrap();
        sqlx::query("SELECT lo_export($1::bigint::oid, $2), lo_unlink($1::bigint::oid)")
            .bind(oid)
            .bind(file.as_str())
            .execute(&mut admin)
            .await
            .unwrap();
    }
    // lo_export leaves the file readable by the group; PostgreSQL takes only a private key.
    let chmod = format!("COPY (SELECT 1) TO PROGRAM 'chmod 0600 {key_file}'");
    sqlx::query(sqlx::AssertSqlSafe(chmod)).execute(&mut admin).await.unwrap();
    let set = |setting: &str, file: &str| format!("ALTER SYSTEM SET {setting} = '{file}'");
    for sql in [set("ssl_cert_file", &cert_file), set("ssl_key_file", &key_file), "SELECT pg_reload_conf()".into()] {
        // ALTER SYSTEM takes no parameters; the paths are the server's own data directory's.
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.unwrap();
    }

    let fresh = sejf_store::testing::fresh_postgres_database(&base).await.unwrap();
    let sep = if fresh.contains('?') { '&' } else { '?' };
    let trusting = |ca: &str| format!("{fresh}{sep}sslmode=verify-full&sslrootcert={ca}");
    let install = Install {
        root: root.clone(),
        data_dir: root.join("data"),
        database_url: Some(trusting(&pki.path("ca.pem"))),
        mfa: Default::default(),
    };
    // The reload takes effect within moments; init succeeds once the new certificate is served.
    let mut init = install.cli(&["init"], None);
    for _ in 0..50 {
        if init.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        init = install.cli(&["init"], None);
    }
    let other = Pki::new(&root, "another ca");
    let refused = Command::new(crate::harness::BIN)
        .args(["--data-dir", install.data_dir.to_str().unwrap(), "--database-url", &trusting(&other.path("ca.pem")), "user", "list"])
        .env("SEJF_PASSPHRASE", crate::harness::PASSPHRASE)
        .env_remove("SEJF_DATABASE_URL")
        .output()
        .unwrap();
    let listed = install.cli(&["user", "list"], None);
    let encrypted: bool = sqlx::query_scalar("SELECT bool_or(ssl) FROM pg_stat_ssl").fetch_one(&mut admin).await.unwrap_or(false);

    // Put the server back as it was before asserting anything.
    for sql in ["ALTER SYSTEM RESET ssl_cert_file", "ALTER SYSTEM RESET ssl_key_file", "SELECT pg_reload_conf()"] {
        sqlx::query(sql).execute(&mut admin).await.unwrap();
    }
    admin.close().await.unwrap();

    assert!(init.status.success(), "init over verify-full failed: {}", String::from_utf8_lossy(&init.stderr));
    assert!(listed.status.success(), "user list over verify-full failed: {}", String::from_utf8_lossy(&listed.stderr));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("admin"));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a server certificate from an untrusted CA must be refused");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.to_lowercase().contains("certificate"), "the error names the certificate problem: {err}");
    assert!(encrypted, "pg_stat_ssl shows TLS connections");
}
