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
//! - `POST /api/v1/people` of unique synthetic people;
//! - `PATCH /api/v1/people/{id}` of a note, each client on its own share of the ids with the
//!   `If-Match` version it last wrote;
//! - `DELETE /api/v1/people/{id}`, each client deleting its own share of the ids once (last).
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
//! email = $1`, `POST /people` inserts the row as given (no validation), `PATCH` updates the
//! notes where the version matches (412 otherwise), `DELETE` deletes the row (its tags and name
//! tokens by cascade). Driven by the same load
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

#[path = "../common/mod.rs"]
mod common;
mod load;
mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::baseline::{Baseline, build_plain_db};
use common::{PlainDb, TempDir, env_usize, mib, ms};
use load::{BASELINE_THREADS, CpuProbe, Kind, LoadResult, Target, load, report};
use sejf_transfer::synth::Synth;
use serde_json::{Value, json};
use server::{SALES_PASSWORD, Server, Site, collect_ids, memory, run_cli, sign_in, start_server};
use uuid::Uuid;

const SEED: u64 = 0x5e1f_be4c;
const UNIT: &str = "north";

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
        for kind in [Kind::Get, Kind::Search, Kind::Post, Kind::Patch, Kind::Delete] {
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
        println!("benches/http is a benchmark: run it with `cargo bench --bench http`");
        return;
    }
    let _ = sejf_install::tls::provider().install_default();
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
    sejf_transfer::csvio::write_synthetic(&csv, people, SEED).expect("synthetic CSV");
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
        for kind in [Kind::Get, Kind::Search, Kind::Post, Kind::Patch, Kind::Delete] {
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
            Kind::Post | Kind::Patch | Kind::Delete => ">= 5,000 req/s",
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
            100.0 * s.rps() / b.rps().max(f64::MIN_POSITIVE)
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
