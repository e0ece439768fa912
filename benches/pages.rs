//! Server time per web page with 1,000,000 people (issue 12's target: ≤ 20 ms at p99).
//!
//! Setup (not timed): a fresh SQLite installation, `SEJF_BENCH_PEOPLE` synthetic people (default
//! 1,000,000) imported as a manager of unit `north`, a company, and a call and a deal on 200 of
//! the people. TOTP is switched off for the bench's session as `sejf demo` does
//! (`install::open_with`), and read budgets are set out of reach, so every read is still counted.
//!
//! Measured: the public listener's whole router as `sejf serve` builds it (the edge layers, the
//! session cookie, CSRF, policy, decryption, audit, HTML rendering), called in process with
//! `tower::ServiceExt::oneshot`, so the time is the server's alone: `SEJF_BENCH_SAMPLES` (default
//! 300) requests per page, one at a time. Measurements, not tests: nothing here asserts a time.
//! Run: `cargo bench --bench pages`, or e.g. `SEJF_BENCH_PEOPLE=100000 cargo bench --bench pages`.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use common::{TempDir, env_usize, machine, ms, percentile};
use sejf_core::Actor;
use sejf_core::records::{Activity, Company, Deal, Links};
use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
use sejf_domain::roles::Role;
use tower::ServiceExt;
use uuid::Uuid;

const PASSWORD: &str = "bench manager password";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/pages.rs is a benchmark: run it with `cargo bench --bench pages`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let people = env_usize("SEJF_BENCH_PEOPLE", 1_000_000);
    let samples = env_usize("SEJF_BENCH_SAMPLES", 300);
    println!("web pages, SQLite, {people} people, {samples} requests per page, in process");
    println!("machine: {}; load average at start: {}", machine(), common::loadavg());
    let dir = TempDir::new("sejf-bench-pages");
    let data_dir = dir.path().join("data");
    let loc = common::new_installation(&data_dir, "read_budgets = { manager = 1000000000 }").await;
    let opened = sejf_install::open_with(&loc, |s| s.mfa_required = false).await.expect("open");
    let app = opened.app.clone();
    let user = app.create_user("kierownik", Role::Manager, &["north".to_string()], PASSWORD).await.expect("manager");
    let actor = Actor::for_user(&user);
    let csv = dir.path().join("people.csv");
    sejf_transfer::csvio::write_synthetic(&csv, people, 0x9a9e).expect("csv");
    let t = Instant::now();
    let opts = sejf_transfer::csvio::ImportOptions { owner: "kierownik".into(), ..Default::default() };
    let stats = sejf_transfer::csvio::import_file(&app, &csv, &opts).await.expect("import");
    eprintln!("imported {} people in {:.1} s", stats.imported, t.elapsed().as_secs_f64());
    let first = app.list_people(&actor, &sejf_core::people::PeopleFilter { limit: Some(200), ..Default::default() }).await.expect("list");
    let ids: Vec<Uuid> = first.items.iter().map(|p| p.id).collect();
    let email = first.items[0].fields.email.clone().expect("an e-mail");
    let company = app
        .create_record::<Company>(&actor, &CompanyRaw { name: Some("Młyny S.A.".into()), vat_id: None, website: None }, &Links::default())
        .await
        .expect("company");
    for id in &ids {
        let links = Links { person_id: Some(*id), ..Default::default() };
        let call = ActivityRaw { kind: Some("call".into()), body: Some("Rozmowa o ofercie".into()), due_at: None, done: Some(false) };
        app.create_record::<Activity>(&actor, &call, &links).await.expect("activity");
        let deal = DealRaw { title: Some("Kredyt".into()), amount: Some("1000.00".into()), ..Default::default() };
        app.create_record::<Deal>(&actor, &deal, &links).await.expect("deal");
    }
    let login = app.login("kierownik", PASSWORD, None, "127.0.0.1".parse().unwrap()).await.expect("login");
    let cookie = format!("sejf_session={}", login.token);
    let csrf = sejf_web::session::csrf_of(&login.token);

    let mut limits = opened.config.limits().expect("limits");
    limits.rate_limit = sejf_http::ratelimit::RateLimit { per_second: 0.0, burst: 0.0 };
    let ui = sejf_web::UiConfig { secure: false, witness: None, admin: false };
    let router = sejf_http::public_router_with(app.clone(), &limits, Some(sejf_web::public_routes(ui)));
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();

    let search = format!("csrf={csrf}&email={}", email.replace('@', "%40"));
    let pages: Vec<(&str, String, Option<String>)> = vec![
        ("GET /people (first page of 1M)", "/people".into(), None),
        ("GET /people/{id} (detail, timeline)", String::new(), None),
        ("POST /people/search (e-mail)", "/people/search".into(), Some(search)),
        ("GET /companies", "/companies".into(), None),
        ("GET /companies/{id}", format!("/companies/{}", company.id), None),
        ("GET /deals (pipeline board)", "/deals".into(), None),
        ("GET /activities", "/activities".into(), None),
        ("GET /tasks", "/tasks".into(), None),
    ];
    println!("| page | p50 | p99 | max | target |");
    println!("|---|---:|---:|---:|---|");
    for (name, path, form) in pages {
        let mut times: Vec<Duration> = Vec::with_capacity(samples);
        for i in 0..samples {
            let path = if path.is_empty() { format!("/people/{}", ids[i % ids.len()]) } else { path.clone() };
            let mut req = Request::builder().uri(&path).header(header::COOKIE, &cookie).header(header::HOST, "127.0.0.1");
            let body = match &form {
                Some(f) => {
                    req = req.method("POST").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                    Body::from(f.clone())
                }
                None => Body::empty(),
            };
            let mut req = req.body(body).unwrap();
            req.extensions_mut().insert(ConnectInfo(peer));
            let t = Instant::now();
            let res = router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
            times.push(t.elapsed());
            assert!(status.is_success(), "{name}: {status} {}", String::from_utf8_lossy(&bytes));
        }
        times.sort();
        println!(
            "| {name} | {} | {} | {} | ≤ 20 ms at p99 |",
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 99.0)),
            ms(*times.last().unwrap())
        );
    }
    opened.store.close().await;
    println!("load average at end: {}", common::loadavg());
}
