//! Read budgets in process, with a clock the test moves, on both engines: the budget stops a
//! user at the limit, the window slides (reads older than an hour stop counting), and two
//! servers over one database share one budget once each has written its reads (ADR 0017).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sejf_core::authz::Actor;
use sejf_core::people::PersonInput;
use sejf_core::{App, Clock, CoreError, Settings};
use sejf_domain::people::PersonRaw;
use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::harness::Backend;

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

const MINUTE: i64 = 60 * 1_000_000;
const PASSWORD: &str = "bea: lantern-quartz-93-harbour";
/// The test master key: both servers of a test open the same keys.
const MASTER: &str = "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=";

/// A database of the engine's kind: its URL, and the PostgreSQL database to drop afterwards.
async fn database(backend: Backend) -> (String, Option<(String, String)>, std::path::PathBuf) {
    let dir = sejf_store::testing::fresh_temp_dir().unwrap();
    match backend {
        Backend::Sqlite => (sejf_store::sqlite_url(&dir.join("b.db")), None, dir),
        Backend::Postgres => {
            let base = sejf_store::testing::test_database_url().unwrap();
            let url = sejf_store::testing::fresh_postgres_database(&base).await.unwrap();
            (url.clone(), Some((base, url)), dir)
        }
    }
}

async fn server(url: &str, clock: Arc<ManualClock>) -> App {
    let store = sejf_store::SqlStore::connect(url).await.unwrap();
    let mut settings = Settings::standard();
    settings.mfa_required = false;
    settings.read_budgets = [(Role::Sales, 3)].into_iter().collect();
    App::new(Arc::new(store), sejf_crypto::MasterKey::from_base64(1, MASTER).unwrap(), settings, clock).await.unwrap()
}

fn refused(r: Result<sejf_core::people::PersonView, CoreError>) -> bool {
    matches!(r, Err(CoreError::ReadBudgetExceeded { budget: 3 }))
}

crate::on_both!(a_budget_stops_at_the_limit_and_its_window_slides, two_servers_share_one_budget_within_the_bound);

async fn a_budget_stops_at_the_limit_and_its_window_slides(backend: Backend) {
    let (url, pg, dir) = database(backend).await;
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000 * 1_000_000)));
    let app = server(&url, clock.clone()).await;
    let bea = Actor::for_user(&app.create_user("bea", Role::Sales, &["north".into()], PASSWORD).await.unwrap());
    let mut ids: Vec<Uuid> = Vec::new();
    for i in 0..6 {
        let raw = PersonRaw { first_name: Some("Ola".into()), last_name: Some(format!("Okno{i}")), ..Default::default() };
        ids.push(
            app.create_person(&bea, &PersonInput { raw, tags: vec![], owner_id: None, unit: None, company_id: None }).await.unwrap().id,
        );
    }
    let advance = |minutes: i64| clock.0.fetch_add(minutes * MINUTE, Ordering::SeqCst);

    for id in &ids[..3] {
        app.person(&bea, *id).await.unwrap();
    }
    assert!(refused(app.person(&bea, ids[3]).await), "the fourth person in the hour is refused");
    app.flush_reads().await.unwrap();
    assert!(refused(app.person(&bea, ids[3]).await), "still refused once the reads are written");
    // 40 minutes on, re-reading person 0 is free and keeps them in the window.
    advance(40);
    app.person(&bea, ids[0]).await.unwrap();
    assert!(refused(app.person(&bea, ids[3]).await));
    app.flush_reads().await.unwrap();
    // 61 minutes after the first reads, people 1 and 2 no longer count; person 0 (read 21
    // minutes ago) still does.
    advance(21);
    app.person(&bea, ids[3]).await.unwrap();
    app.person(&bea, ids[4]).await.unwrap();
    assert!(refused(app.person(&bea, ids[5]).await), "the window holds 0, 3 and 4");
    // A new server (a restart) knows the same from the database alone.
    app.flush_reads().await.unwrap();
    let restarted = server(&url, clock.clone()).await;
    assert!(refused(restarted.person(&bea, ids[5]).await));
    restarted.person(&bea, ids[4]).await.unwrap();
    advance(40);
    restarted.person(&bea, ids[5]).await.unwrap();

    drop((app, restarted));
    if let Some((base, url)) = pg {
        sejf_store::testing::drop_postgres_database(&base, &url).await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

async fn two_servers_share_one_budget_within_the_bound(backend: Backend) {
    let (url, pg, dir) = database(backend).await;
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000 * 1_000_000)));
    let (a, b) = (server(&url, clock.clone()).await, server(&url, clock.clone()).await);
    let bea = Actor::for_user(&a.create_user("bea", Role::Sales, &["north".into()], PASSWORD).await.unwrap());
    let mut ids: Vec<Uuid> = Vec::new();
    for i in 0..4 {
        let raw = PersonRaw { first_name: Some("Ola".into()), last_name: Some(format!("Dwa{i}")), ..Default::default() };
        ids.push(a.create_person(&bea, &PersonInput { raw, tags: vec![], owner_id: None, unit: None, company_id: None }).await.unwrap().id);
    }
    a.person(&bea, ids[0]).await.unwrap();
    a.person(&bea, ids[1]).await.unwrap();
    // Server a writes its reads (every second); server b's count of bea is older than two
    // seconds by the time she reads there, so b asks the database first.
    a.flush_reads().await.unwrap();
    clock.0.fetch_add(3_000_000, Ordering::SeqCst);
    b.person(&bea, ids[2]).await.unwrap();
    b.person(&bea, ids[0]).await.unwrap();
    assert!(refused(b.person(&bea, ids[3]).await), "b counts a's two reads and its own");
    b.flush_reads().await.unwrap();
    clock.0.fetch_add(3_000_000, Ordering::SeqCst);
    assert!(refused(a.person(&bea, ids[3]).await), "a counts b's read");
    a.person(&bea, ids[2]).await.unwrap();

    drop((a, b));
    if let Some((base, url)) = pg {
        sejf_store::testing::drop_postgres_database(&base, &url).await;
    }
    let _ = std::fs::remove_dir_all(dir);
}
