//! `TestApp`: a fresh installation (temp data dir; SQLite file or a fresh PostgreSQL database)
//! and a running `sejf serve` on 127.0.0.1:0, with helpers to sign in and call the API.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const PASSPHRASE: &str = "test passphrase, long enough";
pub const ADMIN_PASSWORD: &str = "admin: quartz-lantern-31-meadow";
pub const BIN: &str = env!("CARGO_BIN_EXE_sejf");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on both engines; the PostgreSQL run is skipped (and says so) without
/// `SEJF_TEST_DATABASE_URL`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if sejf_store::testing::test_database_url().is_none() {
                        eprintln!("skipped: SEJF_TEST_DATABASE_URL not set");
                        return;
                    }
                    super::$name($crate::harness::Backend::Postgres).await
                }
            }
        )*
    };
}

/// An installation on disk (and maybe in PostgreSQL), not necessarily serving.
pub struct Install {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// TOTP secrets and recovery codes of the users the tests enrolled, shared by every server.
    pub mfa: Authenticators,
}

/// What a user's authenticator app and printed recovery codes would hold.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    pub secret: Vec<u8>,
    pub last_step: i64,
    pub recovery: Vec<String>,
}

pub type Authenticators = Arc<Mutex<HashMap<String, Authenticator>>>;

pub fn now_step() -> i64 {
    sejf_crypto::totp::step_of(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64)
}

impl Authenticator {
    /// A code never used before: the next TOTP step within the ±1 window, else a recovery code.
    pub fn next_code(&mut self) -> String {
        let step = (now_step() - 1).max(self.last_step + 1);
        if step <= now_step() + 1 {
            self.last_step = step;
            sejf_crypto::totp::code_at(&self.secret, step)
        } else {
            self.recovery.pop().expect("out of recovery codes")
        }
    }
}

impl Install {
    pub async fn new(backend: Backend) -> Self {
        let root = sejf_store::testing::fresh_temp_dir().unwrap();
        let data_dir = root.join("data");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let base = sejf_store::testing::test_database_url().unwrap();
                Some(sejf_store::testing::fresh_postgres_database(&base).await.unwrap())
            }
        };
        let me = Self { root, data_dir, database_url, mfa: Authenticators::default() };
        let out = me.cli(&["init"], None);
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        me
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            c.arg("--database-url").arg(url);
        }
        c.args(args)
            .env("SEJF_PASSPHRASE", PASSPHRASE)
            .env("SEJF_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("SEJF_DATABASE_URL")
            .env_remove("SEJF_DATA_DIR")
            .env_remove("SEJF_MASTER_KEY");
        c
    }

    /// Runs a CLI command to completion, with optional standard input.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Adds a user with a known password; returns it.
    pub fn add_user(&self, name: &str, role: &str, units: &[&str]) -> String {
        let password = format!("{name}: tangerine-piano-7-orbit");
        let mut args = vec!["user", "add", name, "--role", role, "--password-stdin"];
        for u in units {
            args.push("--unit");
            args.push(u);
        }
        let out = self.cli(&args, Some(&format!("{password}\n")));
        assert!(out.status.success(), "user add failed: {}", String::from_utf8_lossy(&out.stderr));
        password
    }

    pub fn serve(&self) -> Server {
        Server::start(self)
    }

    /// `sejf serve` with extra arguments (TLS files, …) after `--listen 127.0.0.1:0`.
    pub fn serve_with(&self, args: &[&str]) -> Server {
        Server::start_with(self, args)
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        if std::env::var_os("SEJF_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
        drop_test_database(self.database_url.take());
    }
}

/// Drops a test's PostgreSQL database, if it has one; callable from `Drop` inside the test's
/// runtime, since it works from a thread of its own.
pub fn drop_test_database(url: Option<String>) {
    if let (Some(url), Some(base)) = (url, sejf_store::testing::test_database_url()) {
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(sejf_store::testing::drop_postgres_database(&base, &url));
            }
        })
        .join();
    }
}

/// A running `sejf serve`; killed on drop. Its log goes to a file outside the data dir.
pub struct Server {
    pub mfa: Authenticators,
    pub child: Option<Child>,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
}

impl Server {
    fn start(install: &Install) -> Self {
        Self::start_with(install, &[])
    }

    fn start_with(install: &Install, extra: &[&str]) -> Self {
        let log = install.root.join(format!("server-{}.log", uuid::Uuid::now_v7().simple()));
        let mut c = install.command(&[&["serve", "--listen", "127.0.0.1:0"], extra].concat());
        c.env("SEJF_LOG", "debug").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap());
        let mut child = c.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        let mut admin = None;
        while base.is_none() || admin.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!("server exited early: {}", std::fs::read_to_string(&log).unwrap_or_default());
            };
            if let Some(a) = line.strip_prefix("listening on ") {
                base = Some(a.to_string());
            } else if let Some(a) = line.strip_prefix("admin listening on ") {
                admin = Some(a.to_string());
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { mfa: install.mfa.clone(), child: Some(child), base: base.unwrap(), admin: admin.unwrap(), client: http_client() }
    }

    /// Stops the server with SIGTERM and waits for it (so the WAL is checkpointed).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Asks `path` with `token` until the server refuses it (401, problem+json), asserting that
    /// it does within a second: a change made on another server or with the CLI holds on this
    /// one within that bound (a server keeps a token it admitted for half a second, ADR 0029).
    /// Until then the token is served as before (`path`'s answer is a success).
    pub async fn refuses_within_a_second(&self, path: &str, token: &str, what: &str) {
        let since = std::time::Instant::now();
        loop {
            let r = self.call("GET", path, token, None).await;
            if r.status == 401 {
                r.assert_problem(401, None);
                return;
            }
            assert!((200..300).contains(&r.status), "{what}: unexpected answer {}: {}", r.status, r.body);
            assert!(since.elapsed() < std::time::Duration::from_secs(1), "{what}: the token still worked after a second");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Signs in as a user would: the first time, enrol TOTP with the enrolment token; then sign
    /// in with a fresh code. Returns a full token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let known = self.mfa.lock().unwrap().contains_key(username);
        if !known {
            let first = self.post_login(json!({"username": username, "password": password})).await;
            assert_eq!(first.status, 200, "login of {username} failed: {}", first.body);
            assert_eq!(first.body["mfa"], "enroll", "a password alone must only allow enrolment");
            let enrol_token = first.body["token"].as_str().unwrap().to_string();
            let e = self.call("POST", "/auth/mfa/enroll", &enrol_token, None).await;
            assert_eq!(e.status, 200, "{}", e.body);
            let secret = sejf_crypto::totp::base32_decode(e.body["secret"].as_str().unwrap()).unwrap();
            let step = now_step();
            let code = sejf_crypto::totp::code_at(&secret, step);
            let c = self.call("POST", "/auth/mfa/confirm", &enrol_token, Some(json!({"code": code}))).await;
            assert_eq!(c.status, 200, "{}", c.body);
            let recovery = c.body["recovery_codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            self.mfa.lock().unwrap().insert(username.to_string(), Authenticator { secret, last_step: step, recovery });
        }
        let code = self.mfa.lock().unwrap().get_mut(username).unwrap().next_code();
        let res = self.post_login(json!({"username": username, "password": password, "totp": code})).await;
        assert_eq!(res.status, 200, "login of {username} failed: {}", res.body);
        assert!(res.body.get("mfa").is_none());
        res.body["token"].as_str().unwrap().to_string()
    }

    pub async fn post_login(&self, body: Value) -> Resp {
        Resp::from(self.client.post(self.url("/auth/login")).json(&body).send().await.unwrap()).await
    }

    /// A manager of unit "main" (created on first use): the role that works with customer
    /// data in most tests, since administrators read none.
    pub async fn staff_token(&self, install: &Install) -> String {
        let exists = self.mfa.lock().unwrap().contains_key("mgr");
        let password = if exists { "mgr: tangerine-piano-7-orbit".to_string() } else { install.add_user("mgr", "manager", &["main"]) };
        self.login("mgr", &password).await
    }

    pub async fn admin_token(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Sends a request; returns status, headers and JSON body (Null if none).
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        self.call_with(method, &self.url(path), token, body, &[]).await
    }

    pub async fn call_with(&self, method: &str, url: &str, token: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.client.request(method.parse().unwrap(), url).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        Resp::from(res).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub async fn from(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Self { status, headers, body }
    }

    pub fn etag(&self) -> String {
        self.headers.get("etag").unwrap().to_str().unwrap().to_string()
    }

    pub fn content_type(&self) -> String {
        self.headers.get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    /// Asserts a problem+json answer with `status` naming `field`.
    pub fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json", "not problem+json: {}", self.body);
        for k in ["type", "title", "status", "detail"] {
            assert!(self.body.get(k).is_some(), "problem without {k}: {}", self.body);
        }
        if status == 401 {
            let challenge = self.headers.get("www-authenticate").map(|v| v.to_str().unwrap_or(""));
            assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "a 401 without WWW-Authenticate: Bearer");
        }
        if let Some(f) = field {
            let fields: Vec<&str> =
                self.body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect()).unwrap_or_default();
            assert!(fields.contains(&f) || self.body["field"] == f, "problem does not name {f}: {}", self.body);
        }
    }
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

/// Whether `haystack` contains `needle`, ignoring ASCII and Unicode letter case.
pub fn contains_ci(haystack: &[u8], needle: &str) -> bool {
    let hay = String::from_utf8_lossy(haystack).to_lowercase();
    let lossy_hit = hay.contains(&needle.to_lowercase());
    let bytes_hit = haystack.to_ascii_lowercase().windows(needle.len()).any(|w| w == needle.to_ascii_lowercase().as_bytes());
    lossy_hit || bytes_hit
}

/// A person body with the given fields.
pub fn person(first: &str, last: &str, email: &str, phone: &str, pesel: Option<&str>) -> Value {
    let mut p = json!({"first_name": first, "last_name": last, "email": email, "phone": phone});
    if let Some(id) = pesel {
        p["national_id"] = json!(id);
    }
    p
}

/// Opens the installation's database directly (as an attacker with the file would).
pub async fn raw_db(install: &Install) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match &install.database_url {
        Some(u) => u.clone(),
        None => sejf_store::sqlite_url(&install.data_dir.join("sejf.db")),
    };
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap()
}

/// An HTTP client for talking to servers under test (TLS through the provider Sejf uses).
pub fn http_client() -> reqwest::Client {
    let _ = sejf_install::tls::provider().install_default();
    reqwest::Client::new()
}
