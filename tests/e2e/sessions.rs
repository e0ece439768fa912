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
    // These tests are about session lifetimes and throttling, not TOTP (tested over HTTP).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_is_locked_out_for_growing_but_finite_times() {
    let (app, clock, dir) = app_with_clock().await;
    let advance = |minutes: i64| clock.0.fetch_add(minutes * MINUTE, Ordering::SeqCst);
    let attacker: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let throttled = |r: Result<sejf_core::auth::Login, CoreError>| match r {
        Err(CoreError::Throttled { retry_after_secs }) => retry_after_secs,
        other => panic!("expected a lock, got {other:?}"),
    };
    // 1,000 guesses: the first ten are checked and fail; everything after answers "locked",
    // the right password included, so guessing gains nothing.
    let mut locked = 0;
    for i in 0..1000 {
        match app.login("ida", &format!("guess-{i}-password"), None, attacker).await {
            Err(CoreError::BadCredentials) => assert!(i < 10, "guess {i} was checked after the threshold"),
            Err(CoreError::Throttled { .. }) => locked += 1,
            other => panic!("guess {i}: {other:?}"),
        }
    }
    assert_eq!(locked, 990);
    assert_eq!(
        throttled(app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await),
        15 * 60,
        "the account is locked for everyone"
    );
    // An unknown account behaves the same: locks do not reveal who exists.
    for _ in 0..10 {
        assert!(matches!(app.login("nobody", "x-password-123", None, LOCAL).await, Err(CoreError::BadCredentials)));
    }
    assert!(matches!(app.login("nobody", "x-password-123", None, LOCAL).await, Err(CoreError::Throttled { .. })));
    // The lock lapses: the real user signs in (from another address; the attacker's is locked).
    advance(16);
    assert!(app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await.is_ok());
    // A second round earns a longer lock; an administrator can lift it.
    let other: std::net::IpAddr = "198.51.100.9".parse().unwrap();
    for _ in 0..10 {
        let _ = app.login("ida", "wrong-password-123", None, other).await;
    }
    assert_eq!(throttled(app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await), 15 * 60, "success reset the doubling");
    advance(16);
    for _ in 0..10 {
        let _ = app.login("ida", "wrong-password-123", None, other).await;
    }
    assert_eq!(throttled(app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await), 30 * 60, "the second lock doubles");
    app.unlock("ida").await.unwrap();
    assert!(app.login("ida", "ida: juniper-cobalt-64-ferry", None, LOCAL).await.is_ok());
    let _ = std::fs::remove_dir_all(dir);
}
