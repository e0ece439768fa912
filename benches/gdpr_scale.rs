//! GDPR work at scale (issue 14's targets): a retention run over 1,000,000 people (≤ 60 s) and a
//! breach query over 10,000,000 audit events (≤ 10 s), in process through the use cases the
//! server and `sejf gdpr` run (`App::retention`, `App::breach_affected`), on SQLite.
//!
//! 1. Retention: imports `SEJF_BENCH_PEOPLE` people (default 1,000,000) with
//!    `sejf_transfer::csvio::import_file`, then backdates `SEJF_BENCH_STALE` of them (default 1,000) by
//!    three years (raw SQL on `people.updated_at`: the only way to age data in a benchmark), and
//!    times a dry run and a real run of one rule (`no_activity_days = 730`): the real run erases
//!    exactly the stale people, each with its receipt, ledger entry and audit event.
//! 2. Breach: appends `SEJF_BENCH_EVENTS` audit events (default 10,000,000) through
//!    `Store::audit_append` in batches of 20,000, spread over 100 users, of which user `olek`
//!    read 2,000 distinct people in one hour; then times the breach query for olek and that hour.
//!
//! Measurements, not tests: nothing here asserts a time. Run: `cargo bench --bench gdpr_scale`,
//! or smaller, e.g. `SEJF_BENCH_PEOPLE=100000 SEJF_BENCH_EVENTS=1000000 cargo bench --bench gdpr_scale`.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sejf_core::ports::prelude::*;
use std::time::Instant;

use common::{TempDir, env_usize, machine};
use sejf_core::Actor;
use sejf_core::gdpr::RetentionRule;
use sejf_core::ports::AuditEvent;
use sejf_domain::roles::Role;
use uuid::Uuid;

const HOUR: i64 = 3_600_000_000;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/gdpr_scale.rs is a benchmark: run it with `cargo bench --bench gdpr_scale`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let people = env_usize("SEJF_BENCH_PEOPLE", 1_000_000);
    let stale = env_usize("SEJF_BENCH_STALE", 1_000).min(people);
    let events = env_usize("SEJF_BENCH_EVENTS", 10_000_000);
    println!("GDPR at scale, SQLite: retention over {people} people ({stale} stale), breach query over {events} audit events");
    println!("machine: {}; load average at start: {}", machine(), common::loadavg());
    let dir = TempDir::new("sejf-bench-gdpr-scale");
    let data_dir = dir.path().join("data");
    let loc = common::new_installation(&data_dir, "").await;
    let opened = sejf_install::open(&loc).await.expect("open");
    let app = opened.app.clone();
    app.create_user("bench-owner", Role::Sales, &["north".to_string()], "bench owner password").await.expect("owner");
    let op = Actor::operator();

    // ---- Retention ----
    let csv = dir.path().join("people.csv");
    sejf_transfer::csvio::write_synthetic(&csv, people, 0x5e1f).expect("csv");
    let t = Instant::now();
    let opts = sejf_transfer::csvio::ImportOptions { owner: "bench-owner".into(), ..Default::default() };
    let stats = sejf_transfer::csvio::import_file(&app, &csv, &opts).await.expect("import");
    eprintln!("imported {} people in {:.1} s", stats.imported, t.elapsed().as_secs_f64());
    let old = sejf_backup::now_micros() - 3 * 365 * 24 * HOUR;
    let stale_ids: Vec<String> = sqlx::query_scalar::<_, String>("SELECT id FROM people ORDER BY id LIMIT CAST($1 AS INTEGER)")
        .bind(stale as i64)
        .fetch_all(opened.store.pool())
        .await
        .expect("ids");
    for id in &stale_ids {
        sqlx::query("UPDATE people SET updated_at = $1 WHERE id = $2")
            .bind(old)
            .bind(id)
            .execute(opened.store.pool())
            .await
            .expect("backdate");
    }
    let rules = vec![RetentionRule { name: "leads-2y".into(), tag: None, no_activity_days: 730 }];
    let t = Instant::now();
    let dry = app.retention(&op, &rules, true).await.expect("dry run");
    let dry_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let real = app.retention(&op, &rules, false).await.expect("run");
    let real_secs = t.elapsed().as_secs_f64();
    let erased = real.iter().filter(|i| i.outcome == "erased").count();
    assert_eq!(dry.len(), stale, "the dry run lists exactly the stale people");
    assert_eq!(erased, stale, "the run erases exactly them");

    // ---- Breach ----
    let now = sejf_backup::now_micros();
    let window = (now - 30 * 24 * HOUR, now - 30 * 24 * HOUR + HOUR);
    let t = Instant::now();
    let batch = 20_000;
    let olek_reads = 2_000usize;
    let mut written = 0usize;
    let mut olek_done = 0usize;
    let span = 60 * 24 * HOUR;
    while written < events {
        let n = batch.min(events - written);
        let mut evs = Vec::with_capacity(n);
        for i in 0..n {
            let k = written + i;
            // Olek's reads fall inside the window, evenly among the others' events.
            let olek = olek_done < olek_reads && k.is_multiple_of((events / olek_reads).max(1));
            let at = if olek {
                window.0 + (olek_done as i64 * HOUR) / olek_reads as i64
            } else {
                now - span + (k as i64 * span) / events as i64
            };
            let actor = if olek { "olek".to_string() } else { format!("user{:02}", k % 100) };
            evs.push(AuditEvent {
                at,
                actor_id: Uuid::nil().to_string(),
                actor,
                role: "sales".into(),
                action: "person.read".into(),
                resource_type: "person".into(),
                resource_id: Uuid::now_v7().to_string(),
                subject_id: Uuid::now_v7().to_string(),
                outcome: "ok".into(),
                ..Default::default()
            });
            if olek {
                olek_done += 1;
            }
        }
        opened.store.audit_append(evs).await.expect("append");
        written += n;
        if written.is_multiple_of(1_000_000) {
            eprintln!("  {written} events, {:.0}/s", written as f64 / t.elapsed().as_secs_f64());
        }
    }
    eprintln!("appended {written} events in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let affected = app.breach_affected(&op, "olek", window.0, window.1).await.expect("breach query");
    let breach_secs = t.elapsed().as_secs_f64();
    assert_eq!(affected.len(), olek_done, "exactly the people olek read");
    opened.store.close().await;

    println!("| operation | seconds | result | target |");
    println!("|---|---:|---|---|");
    println!("| retention dry run over {people} people | {dry_secs:.2} | {} listed | |", dry.len());
    println!("| retention run over {people} people | {real_secs:.2} | {erased} erased | ≤ 60 s |");
    println!(
        "| breach query, one actor and one hour, over {events} audit events | {breach_secs:.3} | {} people | ≤ 10 s |",
        affected.len()
    );
    println!("load average at end: {}", common::loadavg());
}
