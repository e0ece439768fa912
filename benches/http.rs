//! The HTTP API under load: the real `sejf` server against a bare-axum plaintext baseline.
//!
//! Sejf: runs the built binary (`sejf init`, `sejf user add sales --role sales --unit north
//! --password-stdin`, `sejf import` of `SEJF_BENCH_HTTP_PEOPLE` synthetic people, default
//! 100,000, owned by `sales`), starts `sejf serve --listen 127.0.0.1:0`, signs in as `sales`
//! (password, then TOTP enrolment and a second sign-in with a code when the account must enrol), and
//! drives it with `SEJF_BENCH_HTTP_CLIENTS` (default 32) concurrent keep-alive clients, each its
//! own `reqwest::Client`, for `SEJF_BENCH_HTTP_SECS` (default 10) seconds per scenario after
//! `SEJF_BENCH_HTTP_WARMUP_SECS` (default 2) unrecorded seconds:
//! - `GET /api/v1/people/{id}` of random ids (the first `SEJF_BENCH_HTTP_IDS`, default 100,000,
//!   collected from `GET /api/v1/people?limit=500`);
//! - `POST /api/v1/people/search {email}` of random known e-mails;
//! - `POST /api/v1/people` of unique synthetic people.
//!
//! It reports req/s, latency percentiles, errors, the server's CPU time per request (from
//! /proc: the whole `sejf serve` process; for the baseline, its own runtime's and SQLite
//! connections' threads), the load generator's CPU per request, and the server's resident memory
//! (VmRSS and its peak VmHWM) after seeding and after the load.
//!
//! Baseline: a bare axum server started in this process (its own tokio runtime) on 127.0.0.1:0
//! over a plaintext SQLite copy of the same people (same rows, same table shape, same driver,
//! readers, group-commit writer and pragmas; see `benches/common`), with no authentication, no crypto, no policy, no access
//! log: `GET /people/{id}` runs `SELECT … FROM people WHERE id = $1`, search runs `SELECT … WHERE
//! email = $1`, `POST /people` inserts the row as given (no validation). Driven by the same load
//! generator.
//!
//! After each Sejf run its servers are stopped and `sejf audit verify` checks the trail the load
//! wrote; the report prints its verdict.
//!
//! PostgreSQL: with `SEJF_BENCH_HTTP_POSTGRES` set to a server URL (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), the same three scenarios run again on a fresh
//! database on that server (created and dropped by the bench), first with one `sejf serve`, then
//! with two sharing the database and the clients shared out between them (half each, as a load
//! balancer would). PostgreSQL's own CPU (every process named `postgres` on the machine) is
//! reported beside the servers'.
//!
//! The load generator, the server and the baseline all share the machine's cores: on a 2-core
//! machine the client takes a large share of the CPU, so these figures understate what a
//! dedicated server would do. Measurements, not tests: nothing here asserts a time.
//!
//! Run: `cargo bench --bench http` (about 2–3 minutes at the defaults). The server logs at its
//! default level (`info`, one access-log line per request) to a file in the temporary directory;
//! set `SEJF_BENCH_SERVER_LOG=warn` to measure without the access log. The temporary directory is
//! deleted at the end, and the server is killed even if the bench panics.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::baseline::{Baseline, build_plain_db};
use common::{PlainDb, TempDir, env_usize, mib, ms, percentile};
use sejf::synth::{Synth, SynthPerson};
use serde_json::{Value, json};
use uuid::Uuid;

const SEED: u64 = 0x5e1f_be4c;
const PASSPHRASE: &str = "benchmark passphrase, not a secret";
const ADMIN_PASSWORD: &str = "benchmark admin password";
const SALES_PASSWORD: &str = "benchmark sales password";
const UNIT: &str = "north";
/// No client sends more than this many requests in one scenario, whatever the duration.
const MAX_REQUESTS_PER_CLIENT: usize = 5_000_000;
/// Synthetic people created by `POST` get indexes from here on, so their e-mails are unique.
const POST_INDEX_BASE: usize = 1_000_000_000;
const POST_INDEX_STRIDE: usize = 10_000_000;
/// How long a CLI step (init, user add, import) may take before the bench gives up.
const CLI_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Search,
    Post,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Get => "GET /people/{id}",
            Kind::Search => "POST /people/search {email}",
            Kind::Post => "POST /people",
        }
    }
}

/// Where and what the load generator sends. Client `w` talks to `bases[w % bases.len()]`
/// (several servers: the clients are shared out between them, as a load balancer would).
struct Target {
    bases: Vec<String>,
    prefix: &'static str,
    token: Option<String>,
    ids: Arc<Vec<String>>,
    emails: Arc<Vec<String>>,
}

struct LoadResult {
    ok: u64,
    errors: u64,
    secs: f64,
    latencies: Vec<Duration>,
    first_error: Option<String>,
    /// Every request of the scenario, warm-up included (the CPU figures cover them all).
    all_requests: u64,
    /// CPU seconds the server under test used during the scenario (warm-up included).
    server_cpu: f64,
    /// CPU seconds this process's load generator used (its tokio workers).
    client_cpu: f64,
    /// CPU seconds the database server used (PostgreSQL's processes), when it has its own.
    db_cpu: Option<f64>,
}

impl LoadResult {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    fn p(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    /// Server CPU time per request, in microseconds.
    fn server_us(&self) -> f64 {
        1e6 * self.server_cpu / self.all_requests.max(1) as f64
    }

    fn client_us(&self) -> f64 {
        1e6 * self.client_cpu / self.all_requests.max(1) as f64
    }

    fn db_us(&self) -> Option<f64> {
        self.db_cpu.map(|cpu| 1e6 * cpu / self.all_requests.max(1) as f64)
    }
}

/// Where the CPU time of the server under test is read: a whole process (`sejf serve`), or the
/// threads of this process whose names start with one of the prefixes (the in-process baseline:
/// its runtime's workers and its SQLite connection threads).
#[derive(Clone)]
enum CpuProbe {
    Processes(Vec<u32>),
    Threads(&'static [&'static str]),
    /// Every process on the machine with this name (PostgreSQL's backends).
    Named(&'static str),
}

/// Thread-name prefixes of the baseline server (names are cut to 15 bytes by Linux).
const BASELINE_THREADS: &[&str] = &["baseline-worker", "sejf-sqlite-"];
/// Thread-name prefix of this process's main tokio runtime: the load generator.
const CLIENT_THREADS: &[&str] = &["load-generator"];

/// (comm, utime + stime in clock ticks) of a /proc stat file.
fn stat_ticks(path: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let comm = text[open + 1..close].to_string();
    // After the comm: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Clock ticks per second for /proc times (`getconf CLK_TCK`, almost always 100).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// CPU seconds used so far by what `probe` names.
fn cpu_secs(probe: &CpuProbe, ticks: f64) -> f64 {
    let total: u64 = match probe {
        CpuProbe::Processes(pids) => pids.iter().filter_map(|pid| stat_ticks(&format!("/proc/{pid}/stat")).map(|(_, t)| t)).sum(),
        CpuProbe::Named(name) => std::fs::read_dir("/proc")
            .map(|dir| {
                dir.flatten()
                    .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
                    .filter_map(|e| stat_ticks(&format!("{}/stat", e.path().display())))
                    .filter(|(comm, _)| comm == name)
                    .map(|(_, t)| t)
                    .sum()
            })
            .unwrap_or(0),
        CpuProbe::Threads(prefixes) => std::fs::read_dir("/proc/self/task")
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| stat_ticks(&format!("{}/stat", e.path().display())))
                    .filter(|(comm, _)| prefixes.iter().any(|p| comm.starts_with(p)))
                    .map(|(_, t)| t)
                    .sum()
            })
            .unwrap_or(0),
    };
    total as f64 / ticks
}

/// Where one Sejf installation keeps its data: a data directory, and a PostgreSQL database when
/// `database_url` is set (SQLite in the data directory otherwise).
struct Site {
    tmp: std::path::PathBuf,
    data_dir: std::path::PathBuf,
    database_url: Option<String>,
}

/// The `sejf serve` child process; killed when dropped (also when the bench panics).
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn pid(&self) -> u32 {
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
fn run_cli(site: &Site, args: &[&str], stdin: Option<&str>) -> String {
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
fn start_server(site: &Site, n: usize) -> Server {
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
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0) * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn person_body(p: SynthPerson) -> Value {
    let r = p.raw;
    let a = r.address.unwrap_or_default();
    json!({
        "first_name": r.first_name, "last_name": r.last_name, "email": r.email, "phone": r.phone,
        "national_id": r.national_id, "birth_date": r.birth_date,
        "address": {"street": a.street, "city": a.city, "postal_code": a.postal_code, "country": a.country},
        "tags": p.tags, "notes": r.notes,
    })
}

/// One client: its own connection (keep-alive), requests back to back until `end`. Records the
/// requests that started at or after `measure_from`.
async fn client_loop(
    w: usize,
    target: Arc<Target>,
    kind: Kind,
    measure_from: Instant,
    end: Instant,
) -> (Vec<Duration>, u64, u64, Option<String>, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    let mut rng = Synth::new(SEED ^ (0xc11e_0000 + w as u64));
    let mut bodies = Synth::new(SEED ^ (0xb0d1_0000 + w as u64));
    let (mut latencies, mut ok, mut errors, mut first_error) = (Vec::with_capacity(100_000), 0u64, 0u64, None);
    let base = &target.bases[w % target.bases.len()];
    let prefix = target.prefix;
    let mut all = 0u64;
    for k in 0..MAX_REQUESTS_PER_CLIENT {
        let request = match kind {
            Kind::Get => client.get(format!("{base}{prefix}/people/{}", target.ids[rng.below(target.ids.len())])),
            Kind::Search => {
                client.post(format!("{base}{prefix}/people/search")).json(&json!({"email": target.emails[rng.below(target.emails.len())]}))
            }
            Kind::Post => {
                client.post(format!("{base}{prefix}/people")).json(&person_body(bodies.person(POST_INDEX_BASE + w * POST_INDEX_STRIDE + k)))
            }
        };
        let request = match &target.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let result = match request.send().await {
            Ok(resp) => {
                let status = resp.status();
                match resp.bytes().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(body) => Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]))),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let took = t0.elapsed();
        all += 1;
        if t0 >= measure_from {
            match result {
                Ok(()) => {
                    ok += 1;
                    latencies.push(took);
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    (latencies, ok, errors, first_error, all)
}

/// Runs one scenario with `clients` concurrent clients; `server` names where the server under
/// test spends its CPU, `database` where its database server does (PostgreSQL), if apart.
async fn load(
    target: &Arc<Target>,
    kind: Kind,
    clients: usize,
    warmup: Duration,
    measure: Duration,
    server: &CpuProbe,
    database: Option<&CpuProbe>,
) -> LoadResult {
    let ticks = clock_ticks();
    let client_probe = CpuProbe::Threads(CLIENT_THREADS);
    let (server_before, client_before) = (cpu_secs(server, ticks), cpu_secs(&client_probe, ticks));
    let db_before = database.map(|d| cpu_secs(d, ticks));
    let measure_from = Instant::now() + warmup;
    let end = measure_from + measure;
    let tasks: Vec<_> = (0..clients).map(|w| tokio::spawn(client_loop(w, target.clone(), kind, measure_from, end))).collect();
    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        secs: 0.0,
        latencies: Vec::new(),
        first_error: None,
        all_requests: 0,
        server_cpu: 0.0,
        client_cpu: 0.0,
        db_cpu: None,
    };
    for t in tasks {
        let (lat, ok, errors, first_error, all) = t.await.expect("client task");
        result.latencies.extend(lat);
        result.ok += ok;
        result.errors += errors;
        result.all_requests += all;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    // Until the last request finished: slightly longer than `measure`, so req/s is not flattered.
    result.secs = measure_from.elapsed().as_secs_f64();
    result.server_cpu = cpu_secs(server, ticks) - server_before;
    result.client_cpu = cpu_secs(&client_probe, ticks) - client_before;
    result.db_cpu = database.zip(db_before).map(|(d, before)| cpu_secs(d, ticks) - before);
    result.latencies.sort_unstable();
    result
}

fn report(who: &str, kind: Kind, r: &LoadResult) {
    println!(
        "{who:<9} {:<28} {:>9.0} req/s  p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}  ({} ok, {} errors)",
        kind.label(),
        r.rps(),
        ms(r.p(50.0)),
        ms(r.p(90.0)),
        ms(r.p(99.0)),
        ms(r.p(100.0)),
        r.ok,
        r.errors
    );
    let db = r.db_us().map(|us| format!(", PostgreSQL {us:.0} µs")).unwrap_or_default();
    println!(
        "          CPU per request: server {:.0} µs{db}, load generator {:.0} µs ({} requests incl. warm-up)",
        r.server_us(),
        r.client_us(),
        r.all_requests
    );
    if let Some(e) = &r.first_error {
        println!("          first error: {e}");
    }
}

/// The e-mails of `count` random people among the first `n` synthetic ones.
fn known_emails(n: usize, count: usize) -> Vec<String> {
    let mut rng = Synth::new(SEED ^ 0xe_0a11);
    let mut wanted: Vec<usize> = (0..count).map(|_| rng.below(n)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut synth = Synth::new(SEED);
    let mut out = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for i in 0..n {
        let Some(&&want) = next.peek() else { break };
        let p = synth.person(i);
        if i == want {
            out.push(p.raw.email.expect("synthetic people have e-mails"));
            next.next();
        }
    }
    out
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
async fn sign_in(client: &reqwest::Client, base: &str) -> String {
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
async fn collect_ids(base: &str, token: &str, n: usize) -> Vec<String> {
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

/// The load every configuration gets.
struct Load {
    people: usize,
    max_ids: usize,
    clients: usize,
    warmup: Duration,
    secs: Duration,
    emails: Arc<Vec<String>>,
}

/// What one Sejf configuration measured.
struct SejfRun {
    label: String,
    results: Vec<(Kind, LoadResult)>,
    seed_secs: f64,
    /// VmRSS after seeding (the first server), bytes.
    mem_seeded: u64,
    /// (VmRSS, VmHWM) after the load (the largest of the servers), bytes.
    mem_after: (u64, u64),
    /// What `sejf audit verify` said after the servers stopped.
    verify: String,
}

/// Seeds one installation through the CLI (init, a sales user, `sejf import`), starts `servers`
/// `sejf serve` processes on it, runs the three scenarios with the clients shared out between
/// them, stops them and verifies the audit trail.
fn run_sejf(rt: &tokio::runtime::Runtime, site: &Site, label: &str, servers: usize, csv: &Path, plan: &Load) -> SejfRun {
    eprintln!("{label}: sejf init, user add, import of {} synthetic people…", plan.people);
    run_cli(site, &["init"], None);
    let cfg = site.data_dir.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).expect("config.toml");
    // The bench's sales user reads 100,000 distinct people, which no real budget would allow: a
    // budget too large to reach, so every read is counted as in production (ADR 0017).
    text.push_str("\nread_budgets = { sales = 100000000 }\n");
    std::fs::write(&cfg, text).expect("config.toml");
    run_cli(site, &["user", "add", "sales", "--role", "sales", "--unit", UNIT, "--password-stdin"], Some(&format!("{SALES_PASSWORD}\n")));
    let t = Instant::now();
    let import_out = run_cli(site, &["import", csv.to_str().expect("UTF-8 path"), "--owner", "sales"], None);
    let seed_secs = t.elapsed().as_secs_f64();
    println!("{label}: seeded with `sejf import` in {seed_secs:.1} s: {}", import_out.trim());

    let running: Vec<Server> = (0..servers).map(|n| start_server(site, n)).collect();
    let bases: Vec<String> = running.iter().map(|s| format!("http://{}", s.addr)).collect();
    let pids: Vec<u32> = running.iter().map(Server::pid).collect();
    println!("{label}: sejf serve pids {pids:?} on {bases:?}");
    let database = site.database_url.as_ref().map(|_| CpuProbe::Named("postgres"));
    let emails = plan.emails.clone();
    let (results, mem_seeded, mem_after) = rt.block_on(async {
        let client = reqwest::Client::new();
        let base = &bases[0];
        let token = sign_in(&client, base).await;
        eprintln!("{label}: collecting ids…");
        let ids = collect_ids(base, &token, plan.people.min(plan.max_ids)).await;
        println!("{label}: collected {} ids with GET /api/v1/people?limit=500", ids.len());
        let mem_seeded = memory(pids[0]).0;
        // Sanity checks (not timed): one read and one search answer what they should, on every server.
        for base in &bases {
            let one: Value = client
                .get(format!("{base}/api/v1/people/{}", ids[0]))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("get");
            assert_eq!(one["id"].as_str(), Some(ids[0].as_str()), "GET returned another person: {one}");
            let found: Value = client
                .post(format!("{base}/api/v1/people/search"))
                .bearer_auth(&token)
                .json(&json!({"email": emails[0]}))
                .send()
                .await
                .expect("search")
                .json()
                .await
                .expect("search");
            assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "search by e-mail should find one person: {found}");
        }
        let target =
            Arc::new(Target { bases: bases.clone(), prefix: "/api/v1", token: Some(token), ids: Arc::new(ids), emails: emails.clone() });
        let mut results = Vec::new();
        for kind in [Kind::Get, Kind::Search, Kind::Post] {
            eprintln!("{label}: {} …", kind.label());
            let r = load(&target, kind, plan.clients, plan.warmup, plan.secs, &CpuProbe::Processes(pids.clone()), database.as_ref()).await;
            report(label, kind, &r);
            results.push((kind, r));
        }
        let after = pids.iter().map(|&pid| memory(pid)).fold((0, 0), |(r, h), (r2, h2)| (r.max(r2), h.max(h2)));
        (results, mem_seeded, after)
    });
    println!(
        "{label} server memory: after seeding VmRSS {} ; after load VmRSS {}, peak VmHWM {}",
        mib(mem_seeded),
        mib(mem_after.0),
        mib(mem_after.1)
    );
    drop(running);
    let verify = run_cli(site, &["audit", "verify"], None).lines().last().unwrap_or("").trim().to_string();
    println!("{label}: sejf audit verify: {verify}");
    SejfRun { label: label.to_string(), results, seed_secs, mem_seeded, mem_after, verify }
}

// ---- main ---------------------------------------------------------------------------------

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: say how to run it and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/http.rs is a benchmark: run it with `cargo bench --bench http`");
        return;
    }
    let _ = sejf::tls::provider().install_default();
    let people = env_usize("SEJF_BENCH_HTTP_PEOPLE", 100_000);
    let clients = env_usize("SEJF_BENCH_HTTP_CLIENTS", 32);
    // GETs pick among the first this-many people (collecting all of a million takes minutes).
    let max_ids = env_usize("SEJF_BENCH_HTTP_IDS", 100_000);
    let secs = Duration::from_secs(env_usize("SEJF_BENCH_HTTP_SECS", 10) as u64);
    let warmup = Duration::from_secs(env_usize("SEJF_BENCH_HTTP_WARMUP_SECS", 2) as u64);
    let log_level = std::env::var("SEJF_BENCH_SERVER_LOG").unwrap_or_else(|_| "info (the default)".into());
    println!("http bench: {people} people, {clients} concurrent keep-alive clients, {warmup:?} warm-up + {secs:?} per scenario");
    println!("machine: {}; load average at start: {}", common::machine(), common::loadavg());
    println!("NOTE: the load generator, the server and the baseline share these cores; the client's CPU is not the server's.");
    println!("server log level: {log_level}");

    let tmp = TempDir::new("sejf-bench-http");
    let rt = tokio::runtime::Builder::new_multi_thread().thread_name("load-generator").enable_all().build().expect("tokio runtime");
    let csv = tmp.path().join("people.csv");
    sejf::csvio::write_synthetic(&csv, people, SEED).expect("synthetic CSV");
    let emails = Arc::new(known_emails(people, 10_000));
    let plan = Load { people, max_ids, clients, warmup, secs, emails: emails.clone() };

    let sqlite = Site { tmp: tmp.path().to_path_buf(), data_dir: tmp.path().join("data"), database_url: None };
    let sejf_run = run_sejf(&rt, &sqlite, "sejf", 1, &csv, &plan);
    let sejf_results = &sejf_run.results;

    // ---- Plaintext baseline ----
    eprintln!("building the plaintext copy…");
    let plain_path = tmp.path().join("plain.db");
    let owner = Uuid::now_v7().to_string();
    let plain_ids = rt.block_on(async {
        build_plain_db(&plain_path, &owner, UNIT, people, SEED).await;
        let db = PlainDb::connect(&plain_path).await.expect("plaintext db");
        let ids = db.ids(people.min(max_ids)).expect("ids");
        db.close().await;
        ids
    });
    let baseline = Baseline::start(plain_path.clone(), owner, UNIT.to_string());
    let target =
        Arc::new(Target { bases: vec![format!("http://{}", baseline.addr)], prefix: "", token: None, ids: Arc::new(plain_ids), emails });
    let plain_results = rt.block_on(async {
        let mut results = Vec::new();
        for kind in [Kind::Get, Kind::Search, Kind::Post] {
            eprintln!("baseline: {} …", kind.label());
            let r = load(&target, kind, clients, warmup, secs, &CpuProbe::Threads(BASELINE_THREADS), None).await;
            report("baseline", kind, &r);
            results.push((kind, r));
        }
        results
    });
    drop(baseline);

    // ---- Sejf on PostgreSQL: one server, then two sharing the database ----
    let mut postgres_runs = Vec::new();
    if let Ok(server_url) = std::env::var("SEJF_BENCH_HTTP_POSTGRES") {
        for servers in [1, 2] {
            let url = rt.block_on(sejf_store::testing::fresh_postgres_database(&server_url)).expect("fresh PostgreSQL database");
            let site = Site {
                tmp: tmp.path().to_path_buf(),
                data_dir: tmp.path().join(format!("data-postgres-{servers}")),
                database_url: Some(url.clone()),
            };
            let label = if servers == 1 { "sejf-pg" } else { "sejf-pg×2" };
            postgres_runs.push(run_sejf(&rt, &site, label, servers, &csv, &plan));
            rt.block_on(sejf_store::testing::drop_postgres_database(&server_url, &url));
        }
    }

    println!();
    println!("load average at end: {}", common::loadavg());
    println!("## Summary ({people} people, {clients} clients, {} s per scenario)", secs.as_secs());
    println!();
    println!("| scenario | Sejf req/s | Sejf p50 / p99 | baseline req/s | baseline p50 / p99 | Sejf/baseline | target |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for ((kind, s), (_, b)) in sejf_results.iter().zip(&plain_results) {
        let target = match kind {
            Kind::Get => ">= 10,000 req/s and >= 60% of baseline",
            Kind::Search => "p99 <= 5 ms at 32 clients",
            Kind::Post => ">= 5,000 req/s",
        };
        println!(
            "| {} | {:.0} | {} / {} | {:.0} | {} / {} | {:.0}% | {target} |",
            kind.label(),
            s.rps(),
            ms(s.p(50.0)),
            ms(s.p(99.0)),
            b.rps(),
            ms(b.p(50.0)),
            ms(b.p(99.0)),
            100.0 * s.rps() / b.rps()
        );
    }
    println!();
    println!("| scenario | Sejf server CPU/request | baseline server CPU/request | load generator CPU/request (Sejf run / baseline run) |");
    println!("|---|---:|---:|---:|");
    for ((kind, s), (_, b)) in sejf_results.iter().zip(&plain_results) {
        println!(
            "| {} | {:.0} µs | {:.0} µs | {:.0} µs / {:.0} µs |",
            kind.label(),
            s.server_us(),
            b.server_us(),
            s.client_us(),
            b.client_us()
        );
    }
    println!();
    println!("| server memory (sejf) | VmRSS |");
    println!("|---|---:|");
    println!("| after seeding {people} people, before load | {} |", mib(sejf_run.mem_seeded));
    println!("| after load | {} (peak {}) |", mib(sejf_run.mem_after.0), mib(sejf_run.mem_after.1));
    println!();
    println!("`sejf audit verify` after the load: {}", sejf_run.verify);
    if !postgres_runs.is_empty() {
        println!();
        println!("## On PostgreSQL (loopback), beside SQLite");
        println!();
        println!(
            "| scenario | SQLite req/s, p99 | PostgreSQL, 1 server | PostgreSQL, 2 servers | server + PostgreSQL CPU/request (1 server / 2 servers) |"
        );
        println!("|---|---:|---:|---:|---:|");
        for (i, (kind, s)) in sejf_results.iter().enumerate() {
            let pg = |run: &SejfRun| {
                let r = &run.results[i].1;
                format!("{:.0}, {}", r.rps(), ms(r.p(99.0)))
            };
            let cpu = |run: &SejfRun| {
                let r = &run.results[i].1;
                format!("{:.0} + {:.0} µs", r.server_us(), r.db_us().unwrap_or(0.0))
            };
            println!(
                "| {} | {:.0}, {} | {} | {} | {} / {} |",
                kind.label(),
                s.rps(),
                ms(s.p(99.0)),
                pg(&postgres_runs[0]),
                pg(&postgres_runs[1]),
                cpu(&postgres_runs[0]),
                cpu(&postgres_runs[1])
            );
        }
        println!();
        for run in &postgres_runs {
            println!(
                "{}: seeded in {:.1} s; server memory after load {}; `sejf audit verify`: {}",
                run.label,
                run.seed_secs,
                mib(run.mem_after.0),
                run.verify
            );
        }
    }
}
