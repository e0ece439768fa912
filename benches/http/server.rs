//! The `sejf` side of the http bench: a data directory (and database) seeded through the CLI,
//! `sejf serve` processes started and stopped, and a user signed in as a person would.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSPHRASE: &str = "benchmark passphrase, not a secret";

const ADMIN_PASSWORD: &str = "benchmark admin password";

pub const SALES_PASSWORD: &str = "benchmark sales password";

/// How long a CLI step (init, user add, import) may take before the bench gives up.
const CLI_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Where one Sejf installation keeps its data: a data directory, and a PostgreSQL database when
/// `database_url` is set (SQLite in the data directory otherwise).
pub struct Site {
    pub tmp: std::path::PathBuf,
    pub data_dir: std::path::PathBuf,
    pub database_url: Option<String>,
}

/// The `sejf serve` child process; killed when dropped (also when the bench panics).
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Ask politely (SIGTERM: graceful shutdown), then insist.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `sejf` command on the site, with its secrets in its own environment.
fn sejf(site: &Site) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sejf"));
    cmd.arg("--data-dir")
        .arg(&site.data_dir)
        .env("SEJF_PASSPHRASE", PASSPHRASE)
        .env("SEJF_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("SEJF_MASTER_KEY")
        .env_remove("SEJF_LOG_FORMAT");
    match &site.database_url {
        Some(url) => cmd.env("SEJF_DATABASE_URL", url),
        None => cmd.env_remove("SEJF_DATABASE_URL"),
    };
    match std::env::var("SEJF_BENCH_SERVER_LOG") {
        Ok(level) => cmd.env("SEJF_LOG", level),
        Err(_) => cmd.env_remove("SEJF_LOG"),
    };
    cmd
}

/// Runs a CLI step to completion (bounded by [`CLI_TIME_LIMIT`]); returns its standard output.
pub fn run_cli(site: &Site, args: &[&str], stdin: Option<&str>) -> String {
    let out_path = site.tmp.join(format!("cli-{}.out", args[0]));
    let err_path = site.tmp.join(format!("cli-{}.err", args[0]));
    let mut child = sejf(site)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(std::fs::File::create(&out_path).expect("cli stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("cli stderr file"))
        .spawn()
        .expect("run sejf");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let deadline = Instant::now() + CLI_TIME_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sejf") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sejf {args:?} took longer than {CLI_TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    if !status.success() {
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        panic!("sejf {args:?} failed ({status}): {err}");
    }
    out
}

/// Starts `sejf serve` number `n` on a free loopback port and waits for its `listening on` line.
pub fn start_server(site: &Site, n: usize) -> Server {
    let log = site.tmp.join(format!("server-{n}.log"));
    let mut child = sejf(site)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("server log file"))
        .spawn()
        .expect("start sejf serve");
    let stdout = child.stdout.take().expect("server stdout");
    let mut server = Server { child, addr: String::new() };
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the server's few stdout lines until it exits (EOF), so its pipe never fills.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => {
            server.addr = addr;
            server
        }
        Err(_) => {
            drop(server);
            panic!("sejf serve did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
    }
}

/// (VmRSS, VmHWM) of a process in bytes.
pub fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0) * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `POST path` with a JSON body (and a bearer token), expecting success and a JSON answer.
async fn post_json(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let request = client.post(&url).json(&body);
    let request = match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    let resp = request.send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {url}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: not JSON ({e}): {text}"))
}

/// Signs `sales` in as a person would: password; if the account must still enrol TOTP (the
/// default policy), enrol with the secret the server hands out, confirm with the current code
/// and sign in again with the next one. Returns a full bearer token.
pub async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let login = format!("{base}/api/v1/auth/login");
    let first = post_json(client, login.clone(), None, json!({"username": "sales", "password": SALES_PASSWORD})).await;
    let token = first["token"].as_str().expect("token").to_string();
    if first["mfa"].as_str() != Some("enroll") {
        return token;
    }
    let enrolled = post_json(client, format!("{base}/api/v1/auth/mfa/enroll"), Some(&token), json!({})).await;
    let secret = sejf_crypto::totp::base32_decode(enrolled["secret"].as_str().expect("secret")).expect("base32 secret");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let step = sejf_crypto::totp::step_of(now);
    let code = sejf_crypto::totp::code_at(&secret, step);
    post_json(client, format!("{base}/api/v1/auth/mfa/confirm"), Some(&token), json!({"code": code})).await;
    // A code is accepted once: sign in with the next step's (the server accepts one step either side).
    let next = sejf_crypto::totp::code_at(&secret, step + 1);
    let full = post_json(client, login, None, json!({"username": "sales", "password": SALES_PASSWORD, "totp": next})).await;
    full["token"].as_str().expect("token").to_string()
}

/// The first `n` ids `GET /api/v1/people?limit=500` pages through (bounded in pages and time).
pub async fn collect_ids(base: &str, token: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut ids = Vec::with_capacity(n);
    let mut cursor: Option<String> = None;
    for _ in 0..n / 500 + 2 {
        let mut url = format!("{base}/api/v1/people?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value =
            client.get(url).bearer_auth(token).send().await.expect("list").error_for_status().expect("list").json().await.expect("list");
        for item in page["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_string());
        }
        if ids.len() >= n {
            ids.truncate(n);
            break;
        }
        match page["next_cursor"].as_str() {
            Some(c) if Instant::now() < deadline => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    ids
}
