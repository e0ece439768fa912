//! Backups of N people (default 1,000,000; `SEJF_BENCH_PEOPLE`): `sejf backup create`, `verify`
//! and `restore` run as an operator runs them (the `sejf` binary of this build, as processes),
//! each in MB/s of logical data (the rows and files the manifest lists, before zstd and age),
//! next to `restic backup` and `restic restore` of the same installation's SQLite file (Debian's
//! restic), measured in the same run on the same machine.
//!
//! Setup (not timed): synthetic CSV, a fresh installation, `sejf_transfer::csvio::import_file` as the
//! owner, every connection closed (so the SQLite file is whole, WAL checkpointed).
//!
//! Run: `cargo bench --bench backup` (release profile), or e.g.
//! `SEJF_BENCH_PEOPLE=100000 cargo bench --bench backup`. Measurements, not tests: nothing here
//! asserts a time. Temporary directories are deleted at the end.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{TempDir, dir_size, env_usize, machine, mib};
use sejf_domain::roles::Role;

use common::BENCH_PASSPHRASE as PASSPHRASE;
const SEED: u64 = 0xbac_c0de;
const BIN: &str = env!("CARGO_BIN_EXE_sejf");

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: say how to run it and stop.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/backup.rs is a benchmark: run it with `cargo bench --bench backup`");
        return;
    }
    let n = env_usize("SEJF_BENCH_PEOPLE", 1_000_000);
    println!("backup bench: {n} people; machine: {}; load average at start: {}", machine(), common::loadavg());
    let tmp = TempDir::new("sejf-bench-backup");
    let data = tmp.path().join("data");
    let people = setup(tmp.path(), &data, n);
    let db = data.join("sejf.db");
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("installation: {} on disk ({} the SQLite file)", mib(dir_size(&data)), mib(db_bytes));

    let identity = tmp.path().join("identity.txt");
    let out = run(sejf(&data).args(["backup", "keygen", "--out"]).arg(&identity));
    let recipient = out.lines().last().unwrap().trim().to_string();
    let target = tmp.path().join("backups");

    let (secs_create, out) = timed(sejf(&data).args(["backup", "create", "--to"]).arg(&target).args(["--recipient", &recipient]));
    let summary = out.lines().last().unwrap().to_string();
    let logical = number_before(&summary, " MB logical") * 1e6;
    let stored = dir_size(&target);
    let key = std::fs::read_to_string(data.join("config.toml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("backup_public_key = ").map(|k| k.trim_matches('"').to_string()))
        .unwrap();
    let (secs_verify, _) = timed(sejf(&data).args(["backup", "verify", "--from"]).arg(&target).arg("--identity").arg(&identity));
    let fresh = tmp.path().join("restored");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::copy(data.join("master.key"), fresh.join("master.key")).unwrap();
    let (secs_restore, out) =
        timed(sejf(&fresh).args(["backup", "restore", "--from"]).arg(&target).arg("--identity").arg(&identity).args(["--key", &key]));
    assert!(out.contains(&format!(": {people} people")), "the restore did not bring back {people} people: {out}");

    println!();
    println!("| {people} people | seconds | MB/s of logical data ({:.0} MB) |", logical / 1e6);
    println!("|---|---:|---:|");
    for (what, secs) in [("sejf backup create", secs_create), ("sejf backup verify", secs_verify), ("sejf backup restore", secs_restore)] {
        println!("| {what} | {secs:.1} | {:.0} |", logical / 1e6 / secs);
    }
    println!("stored: {} (zstd, then age); SQLite file: {}", mib(stored), mib(db_bytes));

    if Command::new("restic").arg("version").output().is_err() {
        println!("restic is not installed (apt-get install restic): no comparison");
        return;
    }
    let repo = tmp.path().join("restic");
    let restic = |args: &[&str]| {
        let mut c = Command::new("restic");
        c.arg("--repo").arg(&repo).args(args).env("RESTIC_PASSWORD", PASSPHRASE).env("RESTIC_CACHE_DIR", tmp.path().join("restic-cache"));
        c
    };
    run(&mut restic(&["init"]));
    let (secs_rb, _) = timed(restic(&["backup", "--quiet"]).arg(&db));
    let restic_stored = dir_size(&repo);
    let (secs_rr, _) = timed(restic(&["restore", "latest", "--target"]).arg(tmp.path().join("restic-out")));
    println!();
    println!("| restic, the same SQLite file ({:.0} MB) | seconds | MB/s of the file |", db_bytes as f64 / 1e6);
    println!("|---|---:|---:|");
    println!("| restic backup (first, no deduplication to gain) | {secs_rb:.1} | {:.0} |", db_bytes as f64 / 1e6 / secs_rb);
    println!("| restic restore | {secs_rr:.1} | {:.0} |", db_bytes as f64 / 1e6 / secs_rr);
    println!("restic repository: {}", mib(restic_stored));
    println!("load average at end: {}", common::loadavg());
}

/// A fresh installation at `data` holding `n` synthetic people (less the generator's duplicate
/// e-mails, which the import skips), closed; answers how many it holds.
fn setup(root: &Path, data: &Path, n: usize) -> u64 {
    let csv = root.join("people.csv");
    sejf_transfer::csvio::write_synthetic(&csv, n, SEED).expect("synthetic CSV");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let imported = rt.block_on(async {
        let loc = common::new_installation(data, "").await;
        let opened = sejf_install::open(&loc).await.expect("open");
        opened.app.create_user("bench-owner", Role::Sales, &["north".to_string()], "bench owner password").await.expect("owner");
        let t = Instant::now();
        let opts = sejf_transfer::csvio::ImportOptions { owner: "bench-owner".into(), ..Default::default() };
        let stats = sejf_transfer::csvio::import_file(&opened.app, &csv, &opts).await.expect("import");
        eprintln!("setup: imported {} people in {:.1} s", stats.imported, t.elapsed().as_secs_f64());
        opened.store.close().await;
        stats.imported
    });
    std::fs::remove_file(&csv).unwrap();
    imported as u64
}

fn sejf(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(data).env("SEJF_PASSPHRASE", PASSPHRASE).env_remove("SEJF_DATABASE_URL").env_remove("SEJF_MASTER_KEY");
    c
}

/// Runs a command to success; its standard output.
fn run(c: &mut Command) -> String {
    let out = c.output().expect("spawn");
    assert!(out.status.success(), "{c:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn timed(c: &mut Command) -> (f64, String) {
    let t = Instant::now();
    let out = run(c);
    (t.elapsed().as_secs_f64(), out)
}

/// The number just before `suffix` in `line` ("… 123.4 MB logical …" → 123.4).
fn number_before(line: &str, suffix: &str) -> f64 {
    let head = &line[..line.find(suffix).unwrap_or_else(|| panic!("no {suffix:?} in {line:?}"))];
    head.rsplit(' ').next().unwrap().parse().unwrap()
}
