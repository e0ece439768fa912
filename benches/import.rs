//! Bulk import and e-mail lookup, Sejf against a plaintext baseline, in one run.
//!
//! For each size N (default 100,000 and 1,000,000; override with
//! `SEJF_BENCH_SIZES="100000,1000000"`):
//! 1. writes N synthetic people as CSV (`sejf_transfer::csvio::write_synthetic`);
//! 2. Sejf: creates a fresh installation in a temporary directory (`sejf_install::init_quiet`), opens
//!    it (`sejf_install::open`), adds the owning user, and times `sejf_transfer::csvio::import_file` (one
//!    reading of the file: each row validated and matched, then prepared, encrypted,
//!    blind-indexed, its key wrapped and inserted in batches of 2,000, all in one transaction); then times `SEJF_BENCH_LOOKUPS` (default 1,000) look-ups of random known e-mails
//!    through the use-case `App::search_people`, in process, one at a time; then the data
//!    directory's size after the store is closed;
//! 3. the plaintext baseline (`benches/common`): the same CSV read with the same validation and
//!    normalisation, inserted into a SQLite database of the same table shape with TEXT columns,
//!    no key store and no crypto, 2,000 rows per unit of the same group-commit writer, with the
//!    same multi-row statements; once 100,000 rows are in, its indexes that take rows at random
//!    places are dropped and built at the end, as Sejf's import builds its own (ADR 0033);
//!    then the same look-ups as `SELECT … FROM people WHERE email = $1` on an index.
//!
//! Prints a table. Measurements, not tests: nothing here asserts a time.
//!
//! Run: `cargo bench --bench import` (release profile), or e.g.
//! `SEJF_BENCH_SIZES=100000 cargo bench --bench import`. Temporary directories are deleted at the end.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{BATCH, PlainDb, PlainPerson, TempDir, dir_size, env_usize, mib, ms, percentile};
use sejf_core::people::SearchCriteria;
use sejf_core::{Actor, App};
use sejf_domain::people::{AddressRaw, PersonRaw};
use sejf_domain::roles::Role;
use sejf_install::Location;
use sejf_install::keyfile::PassphraseSource;
use sejf_transfer::synth::Synth;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The synthetic data's seed: the same people in every run.
const SEED: u64 = 0x5e1f_be4c;
const LOOKUP_SEED: u64 = 0x0010_0c0b;
const PASSPHRASE: &str = "benchmark passphrase, not a secret";
const OWNER: &str = "bench-owner";
const OWNER_PASSWORD: &str = "bench owner password";
const UNIT: &str = "north";
/// Look-ups stop after this long even if not all were done.
const LOOKUP_TIME_LIMIT: Duration = Duration::from_secs(300);

struct Lookups {
    latencies: Vec<Duration>,
    found: usize,
    /// Ids of the people found (Sejf only), for the read measurement.
    ids: Vec<Uuid>,
}

impl Lookups {
    fn p(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

struct SizeResult {
    n: usize,
    csv_secs: f64,
    csv_bytes: u64,
    sejf_imported: usize,
    sejf_secs: f64,
    sejf_lookups: Lookups,
    sejf_auth: Vec<Duration>,
    sejf_reads: Vec<Duration>,
    sejf_bytes: u64,
    plain_secs: f64,
    plain_parse_secs: f64,
    plain_lookups: Lookups,
    plain_bytes: u64,
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: say how to run it and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/import.rs is a benchmark: run it with `cargo bench --bench import`");
        return;
    }
    let sizes: Vec<usize> = std::env::var("SEJF_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("SEJF_BENCH_SIZES: {s:?} is not a number")))
        .collect();
    let lookups = env_usize("SEJF_BENCH_LOOKUPS", 1_000);
    println!("import bench: sizes {sizes:?}, {lookups} e-mail look-ups each");
    println!("machine: {}; load average at start: {}", common::machine(), common::loadavg());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let mut results = Vec::new();
    for &n in &sizes {
        let r = rt.block_on(run_size(n, lookups));
        print_result(&r);
        results.push(r);
    }
    println!();
    println!("load average at end: {}", common::loadavg());
    println!("## Summary");
    println!();
    println!(
        "| people | Sejf import | plaintext import | Sejf/plain | Sejf lookup p50 / p99 | plain lookup p50 / p99 | Sejf data dir | plain db |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let s = r.sejf_imported as f64 / r.sejf_secs;
        let p = r.n as f64 / r.plain_secs;
        println!(
            "| {} | {:.0} rows/s | {:.0} rows/s | {:.0}% | {} / {} | {} / {} | {} | {} |",
            r.n,
            s,
            p,
            100.0 * s / p,
            ms(r.sejf_lookups.p(50.0)),
            ms(r.sejf_lookups.p(99.0)),
            ms(r.plain_lookups.p(50.0)),
            ms(r.plain_lookups.p(99.0)),
            mib(r.sejf_bytes),
            mib(r.plain_bytes),
        );
    }
    println!();
    println!(
        "targets (DESIGN.md): import of 1,000,000 people >= 50,000 rows/s; e-mail lookup p99 <= 5 ms (that one over HTTP, see the http bench)"
    );
}

fn print_result(r: &SizeResult) {
    println!();
    println!("### N = {}", r.n);
    println!("synthetic CSV: {} written in {:.1} s", mib(r.csv_bytes), r.csv_secs);
    println!(
        "Sejf import:      {} rows in {:.2} s = {:.0} rows/s (one reading: validate, match, encrypt/index/wrap, insert)",
        r.sejf_imported,
        r.sejf_secs,
        r.sejf_imported as f64 / r.sejf_secs
    );
    println!(
        "plaintext import: {} rows in {:.2} s = {:.0} rows/s (CSV read + validation: {:.2} s of it, overlapped with inserts)",
        r.n,
        r.plain_secs,
        r.n as f64 / r.plain_secs,
        r.plain_parse_secs
    );
    for (name, l) in [("Sejf search_people", &r.sejf_lookups), ("plaintext SELECT ", &r.plain_lookups)] {
        println!(
            "{name} e-mail lookup: {} done, {} found exactly once; p50 {} p90 {} p99 {} max {}",
            l.latencies.len(),
            l.found,
            ms(l.p(50.0)),
            ms(l.p(90.0)),
            ms(l.p(99.0)),
            ms(l.p(100.0))
        );
    }
    println!(
        "Sejf in-process parts of one HTTP GET: authenticate(token) p50 {} p99 {}; person(id) p50 {} p99 {} ({} reads)",
        ms(percentile(&r.sejf_auth, 50.0)),
        ms(percentile(&r.sejf_auth, 99.0)),
        ms(percentile(&r.sejf_reads, 50.0)),
        ms(percentile(&r.sejf_reads, 99.0)),
        r.sejf_reads.len()
    );
    println!(
        "size on disk: Sejf data dir {} ({:.0} B/person), plaintext db {}",
        mib(r.sejf_bytes),
        r.sejf_bytes as f64 / r.n as f64,
        mib(r.plain_bytes)
    );
}

/// `count` distinct random people of the N synthetic ones, by their e-mail addresses.
fn pick_emails(n: usize, count: usize) -> Vec<String> {
    let mut rng = Synth::new(LOOKUP_SEED);
    let mut wanted: Vec<usize> = (0..count.min(n) * 4).map(|_| rng.below(n)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    // Shuffle deterministically, then keep `count`.
    for i in (1..wanted.len()).rev() {
        wanted.swap(i, rng.below(i + 1));
    }
    wanted.truncate(count);
    let mut order: Vec<(usize, usize)> = wanted.iter().enumerate().map(|(pos, &i)| (i, pos)).collect();
    order.sort_unstable();
    let mut emails = vec![String::new(); order.len()];
    let mut synth = Synth::new(SEED);
    let mut next = order.iter().peekable();
    for i in 0..n {
        let Some(&&(want, pos)) = next.peek() else { break };
        let p = synth.person(i);
        if i == want {
            emails[pos] = p.raw.email.expect("synthetic people have e-mails");
            next.next();
        }
    }
    emails
}

async fn run_size(n: usize, lookups: usize) -> SizeResult {
    let tmp = TempDir::new("sejf-bench-import");
    let csv = tmp.path().join("people.csv");
    eprintln!("[N={n}] writing synthetic CSV…");
    let t = Instant::now();
    sejf_transfer::csvio::write_synthetic(&csv, n, SEED).expect("write synthetic CSV");
    let csv_secs = t.elapsed().as_secs_f64();
    let csv_bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    let emails = pick_emails(n, lookups);

    // ---- Sejf ----
    let data_dir = tmp.path().join("data");
    let loc = Location {
        data_dir: data_dir.clone(),
        database_url: None,
        passphrase: PassphraseSource { file: None, given: Some(Zeroizing::new(PASSPHRASE.to_string())) },
    };
    sejf_install::init_quiet(&loc, false).await.expect("init");
    // The look-ups read thousands of distinct people as the sales owner, past any real budget: a
    // budget too large to reach, so each read is still counted as in production (ADR 0017).
    let cfg = data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).expect("config.toml") + "\nread_budgets = { sales = 100000000 }\n";
    std::fs::write(&cfg, text).expect("config.toml");
    let opened = sejf_install::open(&loc).await.expect("open");
    let app = opened.app.clone();
    // The first admin has no unit, and an imported person needs one: import as a sales user.
    let owner = app.create_user(OWNER, Role::Sales, &[UNIT.to_string()], OWNER_PASSWORD).await.expect("create owner");
    eprintln!("[N={n}] Sejf import…");
    let t = Instant::now();
    let stats =
        sejf_transfer::csvio::import_file(&app, &csv, &sejf_transfer::csvio::ImportOptions { owner: OWNER.into(), ..Default::default() })
            .await
            .expect("Sejf import");
    let sejf_secs = t.elapsed().as_secs_f64();
    eprintln!("[N={n}] Sejf import: {} rows in {sejf_secs:.1} s; e-mail look-ups…", stats.imported);
    let actor = Actor::for_user(&owner);
    let sejf_lookups = sejf_lookup(&app, &actor, &emails).await;
    let (sejf_auth, sejf_reads) = sejf_auth_and_read(&app, &actor, &sejf_lookups.ids).await;
    drop(app);
    opened.store.close().await;
    drop(opened);
    let sejf_bytes = dir_size(&data_dir);

    // ---- Plaintext baseline ----
    eprintln!("[N={n}] plaintext import…");
    let plain_path = tmp.path().join("plain.db");
    let plain_owner = Uuid::now_v7().to_string();
    let db = PlainDb::create(&plain_path, &plain_owner, UNIT).await.expect("plaintext db");
    let (plain_secs, plain_parse_secs, plain_rows) = plain_import(&db, &csv, &plain_owner).await;
    assert_eq!(plain_rows, n, "the plaintext baseline read a different number of rows");
    eprintln!("[N={n}] plaintext import: {plain_rows} rows in {plain_secs:.1} s; e-mail look-ups…");
    let plain_lookups = plain_lookup(&db, &emails).await;
    db.close().await;
    let plain_bytes = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| std::fs::metadata(format!("{}{suffix}", plain_path.display())).map(|m| m.len()).unwrap_or(0))
        .sum();

    SizeResult {
        n,
        csv_secs,
        csv_bytes,
        sejf_imported: stats.imported,
        sejf_secs,
        sejf_lookups,
        sejf_auth,
        sejf_reads,
        sejf_bytes,
        plain_secs,
        plain_parse_secs,
        plain_lookups,
        plain_bytes,
    }
}

async fn sejf_lookup(app: &Arc<App>, actor: &Actor, emails: &[String]) -> Lookups {
    let search = |e: &str| SearchCriteria { email: Some(e.to_string()), ..Default::default() };
    // A few untimed look-ups first, so the first timed one does not pay for cold statements.
    for e in emails.iter().rev().take(20) {
        app.search_people(actor, &search(e)).await.expect("search");
    }
    let deadline = Instant::now() + LOOKUP_TIME_LIMIT;
    let mut latencies = Vec::with_capacity(emails.len());
    let mut found = 0;
    let mut ids = Vec::with_capacity(emails.len());
    for e in emails {
        if Instant::now() > deadline {
            eprintln!("look-up time limit reached after {} look-ups", latencies.len());
            break;
        }
        let t = Instant::now();
        let page = app.search_people(actor, &search(e)).await.expect("search");
        latencies.push(t.elapsed());
        found += usize::from(page.items.len() == 1);
        ids.extend(page.items.iter().map(|p| p.id));
    }
    latencies.sort_unstable();
    Lookups { latencies, found, ids }
}

/// The in-process cost of what one `GET /people/{id}` does besides HTTP: authenticating the bearer
/// token (`App::authenticate`), then reading and decrypting one person (`App::person`). One caller,
/// one at a time, over the people the look-ups found.
async fn sejf_auth_and_read(app: &Arc<App>, actor: &Actor, ids: &[Uuid]) -> (Vec<Duration>, Vec<Duration>) {
    // With TOTP mandatory this session may be an enrolment-only one; authenticating it does the
    // same work (session by token hash, user by id) as a full session's.
    let login = app.login(OWNER, OWNER_PASSWORD, None, std::net::IpAddr::from([127, 0, 0, 1])).await.expect("login");
    let deadline = Instant::now() + LOOKUP_TIME_LIMIT;
    let (mut auth, mut reads) = (Vec::with_capacity(ids.len()), Vec::with_capacity(ids.len()));
    for &id in ids.iter().rev().take(20) {
        app.authenticate(&login.token, std::net::Ipv4Addr::LOCALHOST.into()).await.expect("authenticate");
        app.person(actor, id).await.expect("read");
    }
    for &id in ids {
        if Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        app.authenticate(&login.token, std::net::Ipv4Addr::LOCALHOST.into()).await.expect("authenticate");
        auth.push(t.elapsed());
        let t = Instant::now();
        app.person(actor, id).await.expect("read");
        reads.push(t.elapsed());
    }
    auth.sort_unstable();
    reads.sort_unstable();
    (auth, reads)
}

async fn plain_lookup(db: &PlainDb, emails: &[String]) -> Lookups {
    for e in emails.iter().rev().take(20) {
        db.by_email(&e.to_lowercase()).expect("select");
    }
    let deadline = Instant::now() + LOOKUP_TIME_LIMIT;
    let mut latencies = Vec::with_capacity(emails.len());
    let mut found = 0;
    for e in emails {
        if Instant::now() > deadline {
            eprintln!("look-up time limit reached after {} look-ups", latencies.len());
            break;
        }
        let t = Instant::now();
        // Decoded as the HTTP baseline does (to JSON), so the work is comparable to a decrypted view.
        let decoded = db.by_email(&e.to_lowercase()).expect("select");
        latencies.push(t.elapsed());
        found += usize::from(decoded.len() == 1);
    }
    latencies.sort_unstable();
    Lookups { latencies, found, ids: Vec::new() }
}

/// Reads the CSV like Sejf's import (same columns, same un-neutralising, same validation), and
/// inserts plaintext rows, `BATCH` per transaction. Like Sejf's import, the next batch is read
/// while the previous one is being inserted. Returns (total seconds, seconds spent reading and
/// validating, rows).
async fn plain_import(db: &PlainDb, csv: &Path, owner: &str) -> (f64, f64, usize) {
    let start = Instant::now();
    let mut parse = Duration::ZERO;
    let mut rdr = csv::Reader::from_path(csv).expect("open CSV");
    let headers = rdr.headers().expect("CSV header").clone();
    assert!(headers.iter().eq(sejf_core::csvcells::COLUMNS), "the synthetic CSV has Sejf's columns in order");
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
    let mut rows = 0;
    // Sejf's import builds its indexes at its end once it has inserted this many (ADR 0033).
    let mut deferred = false;
    let mut rec = csv::StringRecord::new();
    let now = common::now_micros();
    loop {
        let t = Instant::now();
        let more = rdr.read_record(&mut rec).expect("read CSV");
        if more {
            let get =
                |i: usize| rec.get(i).map(|v| sejf_core::csvcells::unneutralise(v.trim())).filter(|v| !v.is_empty()).map(str::to_string);
            let address = AddressRaw { street: get(6), city: get(7), postal_code: get(8), country: get(9) };
            let raw = PersonRaw {
                first_name: get(0),
                last_name: get(1),
                email: get(2),
                phone: get(3),
                national_id: get(4),
                birth_date: get(5),
                address: Some(address),
                notes: get(11),
            };
            let tags: Vec<String> =
                get(10).map(|t| t.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
            batch.push(PlainPerson::from_raw(&raw, &tags, owner, UNIT, now).expect("synthetic people are valid"));
            rows += 1;
        }
        parse += t.elapsed();
        if batch.len() == BATCH || (!more && !batch.is_empty()) {
            if let Some(p) = pending.take() {
                p.await.expect("insert task").expect("plaintext insert");
            }
            if !deferred && (rows - batch.len()) as u64 >= sejf_store::BULK_FROM {
                db.drop_indexes().await.expect("plaintext indexes dropped");
                deferred = true;
            }
            let db = db.clone();
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            pending = Some(tokio::spawn(async move { db.insert_batch(full).await }));
        }
        if !more {
            break;
        }
    }
    if let Some(p) = pending.take() {
        p.await.expect("insert task").expect("plaintext insert");
    }
    if deferred {
        db.create_indexes().await.expect("plaintext indexes built");
    }
    (start.elapsed().as_secs_f64(), parse.as_secs_f64(), rows)
}
