//! Data-subject rights: how long one access export and one erasure take (issue 14's targets:
//! export ≤ 100 ms, erasure ≤ 10 ms), in process through the use-cases a request runs
//! (`App::subject_export`, `App::erase_person`: policy, decryption or crypto-shredding, audit).
//!
//! 1. Creates a fresh SQLite installation (`sejf_install::init_quiet`), opens it as the server does
//!    (`sejf_install::open`), and adds `SEJF_BENCH_PEOPLE` people (default 2,000) through
//!    `App::create_person`, each with `SEJF_BENCH_ACTIVITIES` activities (default 5) and one deal.
//! 2. Exports `SEJF_BENCH_SAMPLES` random people (default 200), one at a time, as the dpo.
//! 3. Erases as many other random people, one at a time, as the dpo: each erasure commits the
//!    key destruction, ledger, suppression entries, receipt and audit event, then checkpoints and
//!    truncates SQLite's write-ahead log.
//!
//! Prints p50/p99/max per operation. Measurements, not tests: nothing here asserts a time.
//! Run: `cargo bench --bench gdpr`.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, env_usize, machine, ms, percentile};
use sejf_core::people::PersonInput;
use sejf_core::records::{Activity, Deal, Links};
use sejf_core::{Actor, App};
use sejf_domain::people::PersonRaw;
use sejf_domain::records::{ActivityRaw, DealRaw};
use sejf_domain::roles::Role;
use uuid::Uuid;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let people = env_usize("SEJF_BENCH_PEOPLE", 2_000);
    let activities = env_usize("SEJF_BENCH_ACTIVITIES", 5);
    let samples = env_usize("SEJF_BENCH_SAMPLES", 200).min(people / 2);
    let dir = TempDir::new("sejf-bench-gdpr");
    let data_dir = dir.path().join("data");
    // The setup reads nobody, but its owner creates thousands: no read budget gets in the way.
    let loc = common::new_installation(&data_dir, "read_budgets = { sales = 100000000 }").await;
    let opened = sejf_install::open(&loc).await.expect("open");
    let app = opened.app.clone();
    let owner =
        Actor::for_user(&app.create_user("bench-owner", Role::Sales, &["north".to_string()], "bench owner password").await.expect("owner"));
    let dpo = Actor::for_user(&app.create_user("bench-dpo", Role::Dpo, &["north".to_string()], "bench dpo password").await.expect("dpo"));

    eprintln!("creating {people} people with {activities} activities and a deal each…");
    let t = Instant::now();
    let mut ids = Vec::with_capacity(people);
    for i in 0..people {
        ids.push(seed_person(&app, &owner, i, activities).await);
    }
    eprintln!("  {:.1} s", t.elapsed().as_secs_f64());

    // A fixed shuffle (xorshift), so runs compare.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..ids.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let (to_export, to_erase) = ids.split_at(samples);

    let mut export = Vec::with_capacity(samples);
    let mut bytes = 0usize;
    for id in to_export {
        let t = Instant::now();
        let bundle = app.subject_export(&dpo, *id).await.expect("export");
        let json = serde_json::to_vec(&bundle).expect("json");
        export.push(t.elapsed());
        bytes += json.len();
    }
    let mut erase = Vec::with_capacity(samples);
    for id in &to_erase[..samples] {
        let t = Instant::now();
        app.erase_person(&dpo, *id, "benchmark erasure").await.expect("erase");
        erase.push(t.elapsed());
    }
    opened.store.close().await;

    println!("GDPR use-cases, SQLite, {people} people × ({activities} activities + 1 deal), {samples} samples each");
    println!("machine: {}", machine());
    println!("| operation | p50 | p99 | max | target |");
    println!("|---|---|---|---|---|");
    row("access export (JSON, serialised)", &mut export, "≤ 100 ms");
    row("erasure (crypto-shred + ledger + receipt + WAL truncate)", &mut erase, "≤ 10 ms");
    println!("mean export size: {} bytes", bytes / samples.max(1));
}

fn row(name: &str, d: &mut [Duration], target: &str) {
    d.sort();
    println!("| {name} | {} | {} | {} | {target} |", ms(percentile(d, 50.0)), ms(percentile(d, 99.0)), ms(*d.last().unwrap()));
}

async fn seed_person(app: &App, owner: &Actor, i: usize, activities: usize) -> Uuid {
    let raw = PersonRaw {
        first_name: Some(format!("Osoba{i}")),
        last_name: Some("Testowa".into()),
        email: Some(format!("osoba{i}@bench.example")),
        phone: Some(format!("+48600{i:06}")),
        ..Default::default()
    };
    let p = app.create_person(owner, &PersonInput { raw, ..Default::default() }).await.expect("person");
    let links = Links { person_id: Some(p.id), ..Default::default() };
    for a in 0..activities {
        let raw = ActivityRaw { kind: Some("call".into()), body: Some(format!("rozmowa {a} z osobą {i}")), ..Default::default() };
        app.create_record::<Activity>(owner, &raw, &links).await.expect("activity");
    }
    let raw = DealRaw { title: Some(format!("umowa {i}")), ..Default::default() };
    app.create_record::<Deal>(owner, &raw, &links).await.expect("deal");
    p.id
}
