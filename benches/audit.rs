//! The audit trail's throughput on embedded SQLite, through the real store and use-cases:
//!
//! - **audited reads**: `App::person` (policy, decryption, masking, read budget and honeytoken
//!   checks, and a `person.read` event durably committed by the group-commit writer before the
//!   data is returned) at each concurrency in `SEJF_BENCH_CLIENTS` (tasks; default
//!   `64,256,512`: group commit and batched reads gain from concurrency) for `SEJF_BENCH_SECS`
//!   seconds each (default 10), cycling over 500 of 1,000 imported people; next to it the
//!   group-commit writer alone (`App::audit` of one event per call, at the first concurrency).
//! - **seal** and **verify**: `SEJF_BENCH_AUDIT_EVENTS` events (default 1,000,000) are appended
//!   in transactions of 10,000, sealed (`App::seal`: leaf hashes, chain, Merkle tree, signed
//!   checkpoint), then `App::verify_audit` recomputes everything from the store.
//!
//! Run: `cargo bench --bench audit` (about a minute and a half). Measurements, not tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sejf_core::ports::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{TempDir, env_usize};
use sejf_core::Actor;
use sejf_core::people::PeopleFilter;
use sejf_core::ports::AuditEvent;
use sejf_domain::roles::Role;
use sejf_install::Location;
use sejf_install::keyfile::PassphraseSource;
use uuid::Uuid;
use zeroize::Zeroizing;

const PASSPHRASE: &str = "benchmark passphrase, not a secret";
const OWNER: &str = "bench-owner";
const PEOPLE: usize = 1_000;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/audit.rs is a benchmark: run it with `cargo bench --bench audit`");
        return;
    }
    let clients: Vec<usize> = std::env::var("SEJF_BENCH_CLIENTS")
        .unwrap_or_else(|_| "64,256,512".into())
        .split(',')
        .map(|n| n.trim().parse().expect("SEJF_BENCH_CLIENTS: comma-separated numbers"))
        .collect();
    let secs = env_usize("SEJF_BENCH_SECS", 10) as u64;
    let events = env_usize("SEJF_BENCH_AUDIT_EVENTS", 1_000_000);
    println!("audit bench: {clients:?} concurrent tasks for {secs} s each; seal and verify of {events} events");
    println!("machine: {}; load average at start: {}", common::machine(), common::loadavg());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run(clients, Duration::from_secs(secs), events));
    println!("load average at end: {}", common::loadavg());
    println!("targets (issue 4): >= 20,000 audited reads/s on SQLite with group commit; audit verify >= 1,000,000 events/s");
}

async fn run(clients: Vec<usize>, span: Duration, events: usize) {
    let tmp = TempDir::new("sejf-bench-audit");
    let csv = tmp.path().join("people.csv");
    sejf_transfer::csvio::write_synthetic(&csv, PEOPLE, 7).expect("synthetic CSV");
    let loc = Location {
        data_dir: tmp.path().join("data"),
        database_url: None,
        passphrase: PassphraseSource { file: None, given: Some(Zeroizing::new(PASSPHRASE.to_string())) },
    };
    sejf_install::init_quiet(&loc, false).await.expect("init");
    let opened = sejf_install::open(&loc).await.expect("open");
    let app = opened.app.clone();
    // A manager, every field readable; the bench reads 500 distinct people, within the
    // manager budget of 2,000, so every read is counted as in production.
    let owner = app.create_user(OWNER, Role::Manager, &["north".to_string()], "bench owner: quartz-lantern-31").await.expect("owner");
    sejf_transfer::csvio::import_file(&app, &csv, &sejf_transfer::csvio::ImportOptions { owner: OWNER.into(), ..Default::default() })
        .await
        .expect("import");
    let ids: Vec<Uuid> = app
        .list_people(&Actor::operator(), &PeopleFilter { limit: Some(500), ..Default::default() })
        .await
        .expect("list")
        .items
        .iter()
        .map(|p| p.id)
        .collect();
    let actor = Actor::for_user(&owner);

    for &n in &clients {
        let reads = load(n, span, {
            let (app, actor, ids) = (app.clone(), actor.clone(), Arc::new(ids.clone()));
            move |i| {
                let (app, actor, ids) = (app.clone(), actor.clone(), ids.clone());
                async move {
                    app.person(&actor, ids[i % ids.len()]).await.expect("read");
                }
            }
        })
        .await;
        println!("audited reads (App::person, event durable before return), {n} concurrent: {reads:.0} reads/s");
    }
    let writes = load(clients[0], span, {
        let (app, actor) = (app.clone(), actor.clone());
        move |_| {
            let (app, actor) = (app.clone(), actor.clone());
            async move {
                app.audit(vec![app.event(&actor, sejf_core::actions::AuditAction::PersonRead, "person", "0")]).await.expect("audit");
            }
        }
    })
    .await;
    println!("group-commit writer alone (one event per call), {} concurrent: {writes:.0} events/s", clients[0]);

    // Seal what the runs left, then grow the trail to `events` and seal and verify it all.
    let t = Instant::now();
    app.seal(Some(&opened.witness)).await.expect("seal");
    let mut seal_secs = t.elapsed().as_secs_f64();
    let have = app.verify_audit(std::slice::from_ref(&opened.witness), None).await.expect("verify").events as usize;
    let template = AuditEvent {
        at: common::now_micros(),
        actor_id: owner.id.to_string(),
        actor: OWNER.into(),
        role: "manager".into(),
        action: "person.read".into(),
        resource_type: "person".into(),
        resource_id: ids[0].to_string(),
        subject_id: ids[0].to_string(),
        fields: "first_name,last_name,email,phone".into(),
        outcome: "ok".into(),
        client: "127.0.0.1".into(),
        request_id: Uuid::now_v7().to_string(),
        detail: "via=get".into(),
        ..Default::default()
    };
    let t = Instant::now();
    let mut added = 0;
    while have + added < events {
        let n = (events - have - added).min(10_000);
        opened.store.audit_append(vec![template.clone(); n]).await.expect("append");
        added += n;
    }
    println!(
        "appended {added} events in {:.1} s ({:.0} events/s in transactions of 10,000)",
        t.elapsed().as_secs_f64(),
        added as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    app.seal(Some(&opened.witness)).await.expect("seal");
    seal_secs += t.elapsed().as_secs_f64();
    let sealed = have + added;
    println!("seal of {sealed} events (what the runs wrote, then the rest): {seal_secs:.2} s = {:.0} events/s", sealed as f64 / seal_secs);
    // Where verify's time goes: the database producing the canonical pages alone.
    let t = Instant::now();
    let (mut after, mut n, mut bytes) = (0i64, 0usize, 0usize);
    loop {
        let page = opened.store.audit_canonical_range(after, 10_000).await.expect("range");
        let split = sejf_core::audit::split_pages(page.as_bytes()).expect("split");
        let Some(last) = split.last() else { break };
        after = last.0;
        n += split.len();
        bytes += page.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "read pass, stored bodies in pages of 10,000: {n} events ({:.0} MB) in {secs:.2} s = {:.0} events/s",
        bytes as f64 / 1e6,
        n as f64 / secs
    );
    let t = Instant::now();
    let report = app.verify_audit(std::slice::from_ref(&opened.witness), None).await.expect("verify");
    let verify_secs = t.elapsed().as_secs_f64();
    assert!(report.first_bad.is_none(), "the trail must verify");
    println!(
        "audit verify of {} events ({} checkpoints): {verify_secs:.2} s = {:.0} events/s",
        report.events,
        report.checkpoints,
        report.events as f64 / verify_secs
    );
    opened.store.close().await;
}

/// Runs `op(i)` from `clients` tasks for `span`; returns completed operations per second.
async fn load<F, Fut>(clients: usize, span: Duration, op: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (done, stop, op) = (done.clone(), stop.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c * 7919;
            while !stop.load(Ordering::Relaxed) {
                op(i).await;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(span).await;
    stop.store(true, Ordering::Relaxed);
    let n = done.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / secs
}
