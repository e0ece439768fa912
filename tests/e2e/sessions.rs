//! Session lifetimes, driven in-process with a clock the test moves: idle expiry, absolute
//! expiry, and the touch that keeps an active session alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sejf_core::{App, Clock, CoreError, Settings};
use sejf_domain::roles::Role;

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

const MINUTE: i64 = 60 * 1_000_000;
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn app_with_clock() -> (App, Arc<ManualClock>, std::path::PathBuf) {
    let dir = sejf_store::testing::fresh_temp_dir().unwrap();
    let store = sejf_store::SqlStore::connect(&sejf_store::sqlite_url(&dir.join("t.db"))).await.unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000 * 1_000_000)));
    // These tests are about session lifetimes, not TOTP (tested over HTTP; the sign-in guard in
    // guard.rs).
    let mut settings = Settings::standard();
    settings.mfa_required = false;
    let app = App::new(Arc::new(store), sejf_crypto::MasterKey::generate(1).unwrap(), settings, clock.clone()).await.unwrap();
    app.create_user("ida", Role::Sales, &["north".into()], "ida: juniper-cobalt-64-ferry").await.unwrap();
    (app, clock, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_when_idle_or_too_old() {
    let (app, clock, dir) = app_with_clock().await;
    let advance = |minutes: i64| clock.0.fetch_add(minutes * MINUTE, Ordering::SeqCst);

    // Idle: 29 minutes of silence is fine, 31 is not.
    let token = app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await.unwrap().token;
    advance(29);
    assert_eq!(app.authenticate(&token, LOCAL).await.unwrap().username, "ida");
    advance(31);
    assert!(matches!(app.authenticate(&token, LOCAL).await, Err(CoreError::Unauthenticated)));

    // Absolute: used every 20 minutes, a session still ends 12 hours after sign-in.
    let token = app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await.unwrap().token;
    for _ in 0..35 {
        advance(20);
        assert!(app.authenticate(&token, LOCAL).await.is_ok(), "an active session stays alive");
    }
    advance(20);
    assert!(matches!(app.authenticate(&token, LOCAL).await, Err(CoreError::Unauthenticated)), "12 h after sign-in it ends");
    let _ = std::fs::remove_dir_all(dir);
}
