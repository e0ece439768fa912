//! The load generator of the http bench: keep-alive clients sending one scenario's requests back
//! to back, and where the CPU time of the server, the database and the generator is read.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sejf_transfer::synth::{Synth, SynthPerson};
use serde_json::{Value, json};

use crate::SEED;
use crate::common::{ms, percentile};

/// No client sends more than this many requests in one scenario, whatever the duration.
const MAX_REQUESTS_PER_CLIENT: usize = 5_000_000;

/// Synthetic people created by `POST` get indexes from here on, so their e-mails are unique.
const POST_INDEX_BASE: usize = 1_000_000_000;

const POST_INDEX_STRIDE: usize = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Get,
    Search,
    Post,
    /// Each client changes the notes of its own share of the ids (so no two race on one),
    /// with `If-Match` naming the version it last wrote.
    Patch,
    /// Each client deletes its own share of the ids, each once (run last).
    Delete,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Get => "GET /people/{id}",
            Kind::Search => "POST /people/search {email}",
            Kind::Post => "POST /people",
            Kind::Patch => "PATCH /people/{id}",
            Kind::Delete => "DELETE /people/{id}",
        }
    }
}

/// Where and what the load generator sends. Client `w` talks to `bases[w % bases.len()]`
/// (several servers: the clients are shared out between them, as a load balancer would).
pub struct Target {
    pub bases: Vec<String>,
    pub prefix: &'static str,
    pub token: Option<String>,
    pub ids: Arc<Vec<String>>,
    pub emails: Arc<Vec<String>>,
}

pub struct LoadResult {
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
    /// Requests per second; 0 when none was measured (a DELETE that ran out of people during
    /// the warm-up: raise `SEJF_BENCH_HTTP_IDS`).
    pub fn rps(&self) -> f64 {
        if self.ok == 0 || self.secs <= 0.0 { 0.0 } else { self.ok as f64 / self.secs }
    }

    pub fn p(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    /// Server CPU time per request, in microseconds.
    pub fn server_us(&self) -> f64 {
        1e6 * self.server_cpu / self.all_requests.max(1) as f64
    }

    pub fn client_us(&self) -> f64 {
        1e6 * self.client_cpu / self.all_requests.max(1) as f64
    }

    pub fn db_us(&self) -> Option<f64> {
        self.db_cpu.map(|cpu| 1e6 * cpu / self.all_requests.max(1) as f64)
    }
}

/// Where the CPU time of the server under test is read: a whole process (`sejf serve`), or the
/// threads of this process whose names start with one of the prefixes (the in-process baseline:
/// its runtime's workers and its SQLite connection threads).
#[derive(Clone)]
pub enum CpuProbe {
    Processes(Vec<u32>),
    Threads(&'static [&'static str]),
    /// Every process on the machine with this name (PostgreSQL's backends).
    Named(&'static str),
}

/// Thread-name prefixes of the baseline server (names are cut to 15 bytes by Linux).
pub const BASELINE_THREADS: &[&str] = &["baseline-worker", "sejf-sqlite-"];

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
    clients: usize,
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
    // PATCH and DELETE: this client's share of the ids, and the versions it wrote (people are
    // imported at version 1).
    let mine: Vec<usize> = (w..target.ids.len()).step_by(clients.max(1)).collect();
    let mut versions = vec![1_i64; mine.len()];
    for k in 0..MAX_REQUESTS_PER_CLIENT {
        let slot = if mine.is_empty() { 0 } else { k % mine.len() };
        if kind == Kind::Delete && k >= mine.len() {
            break;
        }
        let request = match kind {
            Kind::Get => client.get(format!("{base}{prefix}/people/{}", target.ids[rng.below(target.ids.len())])),
            Kind::Search => {
                client.post(format!("{base}{prefix}/people/search")).json(&json!({"email": target.emails[rng.below(target.emails.len())]}))
            }
            Kind::Post => {
                client.post(format!("{base}{prefix}/people")).json(&person_body(bodies.person(POST_INDEX_BASE + w * POST_INDEX_STRIDE + k)))
            }
            Kind::Patch => client
                .patch(format!("{base}{prefix}/people/{}", target.ids[mine[slot]]))
                .header("If-Match", format!("\"{}\"", versions[slot]))
                .json(&json!({"notes": format!("changed by client {w}, round {k}")})),
            Kind::Delete => client.delete(format!("{base}{prefix}/people/{}", target.ids[mine[slot]])),
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
                    Ok(_) if status.is_success() => {
                        if kind == Kind::Patch {
                            versions[slot] += 1;
                        }
                        Ok(())
                    }
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
pub async fn load(
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
    let tasks: Vec<_> = (0..clients).map(|w| tokio::spawn(client_loop(w, clients, target.clone(), kind, measure_from, end))).collect();
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

pub fn report(who: &str, kind: Kind, r: &LoadResult) {
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
