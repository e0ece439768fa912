//! The sign-in guard, driven in-process on both engines with a clock the test moves and client
//! addresses it chooses: a stranger cannot lock the real user out, no answer tells a right
//! password from a wrong one without a code, and parallel guesses cannot slip past a limit.

use sejf_core::ports::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sejf_core::auth::Login;
use sejf_core::{App, Clock, CoreError, Settings};
use sejf_crypto::totp;
use sejf_domain::roles::Role;

use crate::harness::Backend;

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

const PW: &str = "ida: juniper-cobalt-64-ferry";
const MINUTE: i64 = 60 * 1_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An installation with one enrolled user, `ida`, and the means to make her codes.
struct Guarded {
    app: Arc<App>,
    /// The store under the app, for reading the trail as it is stored.
    store: sejf_store::SqlStore,
    clock: Arc<ManualClock>,
    secret: Vec<u8>,
    _db: Db,
}

/// The database under the app, removed on drop.
struct Db {
    dir: std::path::PathBuf,
    pg: Option<String>,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        crate::harness::drop_test_database(self.pg.take());
    }
}

impl Guarded {
    async fn new(backend: Backend) -> Self {
        let dir = sejf_store::testing::fresh_temp_dir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let base = sejf_store::testing::test_database_url().unwrap();
                Some(sejf_store::testing::fresh_postgres_database(&base).await.unwrap())
            }
        };
        let url = pg.clone().unwrap_or_else(|| sejf_store::sqlite_url(&dir.join("t.db")));
        let store = sejf_store::SqlStore::connect(&url).await.unwrap();
        let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000 * 1_000_000)));
        let app = App::new(Arc::new(store.clone()), sejf_crypto::MasterKey::generate(1).unwrap(), Settings::standard(), clock.clone())
            .await
            .unwrap();
        app.create_user("ida", Role::Sales, &["north".into()], PW).await.unwrap();
        let first = app.login("ida", PW, None, ip("127.0.0.1")).await.unwrap();
        assert!(first.must_enroll);
        let actor = app.authenticate(&first.token, ip("127.0.0.1")).await.unwrap();
        let secret = totp::base32_decode(&app.mfa_enroll(&actor).await.unwrap().secret).unwrap();
        let me = Self { app: Arc::new(app), store, clock, secret, _db: Db { dir, pg } };
        me.app.mfa_confirm(&actor, &me.code()).await.unwrap();
        me.advance(1);
        me
    }

    fn advance(&self, minutes: i64) {
        self.clock.0.fetch_add(minutes * MINUTE, Ordering::SeqCst);
    }

    /// The code of the current step (the test moves the clock a minute between uses).
    fn code(&self) -> String {
        totp::code_at(&self.secret, totp::step_of(self.clock.now_micros() / 1_000_000))
    }

    async fn login(&self, pw: &str, code: Option<&str>, from: &str) -> Result<Login, CoreError> {
        self.app.login("ida", pw, code, ip(from)).await
    }

    /// The real user signs in with her password and a fresh code.
    async fn real_user(&self, from: &str) -> Result<Login, CoreError> {
        self.advance(1);
        let code = self.code();
        self.login(PW, Some(&code), from).await
    }

    async fn alerts(&self, kind: &str) -> usize {
        let q = sejf_core::ports::AuditQuery { action: "alert".into(), limit: 1000, ..Default::default() };
        self.store.audit_query(q).await.unwrap().iter().filter(|e| e.event.resource_id == kind).count()
    }
}

crate::on_both!(
    a_stranger_cannot_lock_the_real_user_out,
    no_answer_tells_a_right_password_without_a_code,
    parallel_wrong_passwords_from_one_address_are_capped,
    wrong_codes_in_parallel_bursts_lock_the_account,
    guessing_from_everywhere_earns_delays_and_an_alert,
);

async fn a_stranger_cannot_lock_the_real_user_out(backend: Backend) {
    let g = Guarded::new(backend).await;
    // 1,000 guesses from one address: ten are checked, then the address is refused, the right
    // password included, so guessing on gains nothing.
    let mut checked = 0;
    for i in 0..1000 {
        match g.login(&format!("guess-{i}-password"), Some("123456"), "192.0.2.7").await {
            Err(CoreError::BadCredentials) => checked += 1,
            Err(CoreError::Throttled { .. }) => {}
            other => panic!("guess {i}: {other:?}"),
        }
    }
    assert_eq!(checked, 10);
    let code = g.code();
    match g.login(PW, Some(&code), "192.0.2.7").await {
        Err(CoreError::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 15 * 60),
        other => panic!("the attacker's address is locked: {other:?}"),
    }
    // The real user, elsewhere, signs in with her password and code at once.
    assert!(g.real_user("198.51.100.20").await.is_ok(), "a stranger locked the real user out");
    // An IPv6 attacker stepping through its /64 is one address.
    for i in 0..30 {
        let _ = g.login("wrong-password-123", Some("123456"), &format!("2001:db8:7:7::{i:x}")).await;
    }
    assert!(matches!(g.login("wrong-password-123", Some("123456"), "2001:db8:7:7:ffff::1").await, Err(CoreError::Throttled { .. })));
    assert!(g.real_user("2001:db8:7:8::1").await.is_ok(), "the next /64 is someone else");
    // The lock lapses, and the next one lasts twice as long. (Twenty wrong passwords this hour
    // have also slowed the account everywhere: each check now waits up to 16 s for its turn.)
    g.advance(16);
    for _ in 0..10 {
        g.clock.0.fetch_add(16 * 1_000_000, Ordering::SeqCst);
        assert!(matches!(g.login("wrong-password-123", Some("123456"), "192.0.2.7").await, Err(CoreError::BadCredentials)));
    }
    match g.login("wrong-password-123", Some("123456"), "192.0.2.7").await {
        Err(CoreError::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 30 * 60),
        other => panic!("second lock: {other:?}"),
    }
    // An unknown account behaves the same: locks do not tell who exists.
    for _ in 0..10 {
        assert!(matches!(g.app.login("nobody", "x-password-123", None, ip("192.0.2.8")).await, Err(CoreError::BadCredentials)));
    }
    assert!(matches!(g.app.login("nobody", "x-password-123", None, ip("192.0.2.8")).await, Err(CoreError::Throttled { .. })));
}

async fn no_answer_tells_a_right_password_without_a_code(backend: Backend) {
    let g = Guarded::new(backend).await;
    // Without a code, the right and a wrong password answer alike, however often.
    for i in 0..40 {
        let pw = if i % 2 == 0 { PW.to_string() } else { format!("wrong-{i}-password") };
        assert!(matches!(g.login(&pw, None, "192.0.2.9").await, Err(CoreError::MfaRequired)), "attempt {i}");
        assert!(matches!(g.login(&pw, Some(" "), "192.0.2.9").await, Err(CoreError::MfaRequired)), "attempt {i}");
    }
    // With a code, any failure is the same bad-credentials.
    let code = g.code();
    assert!(matches!(g.login("not-her-password-1", Some(&code), "192.0.2.9").await, Err(CoreError::BadCredentials)));
    assert!(matches!(g.login(PW, Some("000000"), "192.0.2.9").await, Err(CoreError::BadCredentials)));
    assert!(matches!(g.login(PW, Some("abcde-fghjk"), "192.0.2.9").await, Err(CoreError::BadCredentials)));
    // None of that counted against the address: she signs in from it.
    assert!(g.real_user("192.0.2.9").await.is_ok());
}

async fn parallel_wrong_passwords_from_one_address_are_capped(backend: Backend) {
    let g = Guarded::new(backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let app = g.app.clone();
        let code = g.code();
        tasks.spawn(async move { app.login("ida", &format!("parallel-{i}-guess"), Some(&code), ip("203.0.113.5")).await });
    }
    let results = tasks.join_all().await;
    let checked = results.iter().filter(|r| matches!(r, Err(CoreError::BadCredentials))).count();
    assert!(results.iter().all(|r| matches!(r, Err(CoreError::BadCredentials | CoreError::Throttled { .. } | CoreError::Busy { .. }))));
    assert!(checked <= 10, "{checked} parallel guesses were checked; the limit is 10");
    assert!(matches!(g.real_user("203.0.113.5").await, Err(CoreError::Throttled { .. })));
    assert!(g.real_user("203.0.113.6").await.is_ok());
}

async fn wrong_codes_in_parallel_bursts_lock_the_account(backend: Backend) {
    let g = Guarded::new(backend).await;
    // The password is known to the attacker; 200 wrong codes, in four bursts of 50 at once,
    // from 200 addresses.
    let mut checked = 0;
    for burst in 0..4 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50 {
            let app = g.app.clone();
            let from = ip(&format!("10.{burst}.{i}.1"));
            tasks.spawn(async move { app.login("ida", PW, Some(&format!("{:06}", 100_000 + i)), from).await });
        }
        for r in tasks.join_all().await {
            match r {
                Err(CoreError::BadCredentials) => checked += 1,
                Err(CoreError::AccountLocked | CoreError::Throttled { .. } | CoreError::Busy { .. }) => {}
                other => panic!("burst {burst}: {other:?}"),
            }
        }
    }
    assert!(checked <= 5, "{checked} wrong codes were checked; the limit is 5");
    assert!(checked >= 1);
    // The right code after the lock is refused, and the answer says to reset.
    assert!(matches!(g.real_user("198.51.100.1").await, Err(CoreError::AccountLocked)));
    assert_eq!(g.alerts("sign-in-mfa-lock").await, 1);
    // An administrator's reset of TOTP lifts it; she enrols again.
    g.app.reset_mfa(&sejf_core::Actor::operator(), "ida").await.unwrap();
    assert!(g.login(PW, None, "198.51.100.1").await.unwrap().must_enroll);
}

async fn guessing_from_everywhere_earns_delays_and_an_alert(backend: Backend) {
    let g = Guarded::new(backend).await;
    // Twenty wrong passwords from twenty addresses: no address reaches its limit.
    for i in 0..20 {
        assert!(matches!(
            g.login("wrong-password-123", Some("123456"), &format!("192.0.2.{}", 100 + i)).await,
            Err(CoreError::BadCredentials)
        ));
    }
    assert_eq!(g.alerts("sign-in-guessing").await, 1);
    // Now each check waits its turn; the clock stands still here, so the turn never comes.
    match g.login("wrong-password-123", Some("123456"), "192.0.2.200").await {
        Err(CoreError::Throttled { retry_after_secs }) => assert!((1..=16).contains(&retry_after_secs)),
        other => panic!("expected a delay: {other:?}"),
    }
    // Not a lock: once the delay has passed, the real user signs in.
    assert!(g.real_user("198.51.100.30").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_are_bounded_and_the_excess_is_refused_at_once() {
    let dir = sejf_store::testing::fresh_temp_dir().unwrap();
    let _db = Db { dir: dir.clone(), pg: None };
    let store = sejf_store::SqlStore::connect(&sejf_store::sqlite_url(&dir.join("t.db"))).await.unwrap();
    let mut settings = Settings::standard();
    settings.throttle.hashers = 1;
    settings.throttle.hash_queue = 3;
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000 * 1_000_000)));
    let app = Arc::new(App::new(Arc::new(store), sejf_crypto::MasterKey::generate(1).unwrap(), settings, clock).await.unwrap());
    // 60 sign-ins at once, each from its own address and for its own unknown name: at most four
    // are admitted (one checking, three waiting); the rest are told to come back, at once.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let app = app.clone();
        tasks.spawn(async move { app.login(&format!("nobody-{i}"), "x-password-123", None, ip(&format!("10.9.{i}.1"))).await });
    }
    let results = tasks.join_all().await;
    let busy = results.iter().filter(|r| matches!(r, Err(CoreError::Busy { retry_after_secs: 1 }))).count();
    let checked = results.iter().filter(|r| matches!(r, Err(CoreError::BadCredentials))).count();
    assert_eq!(busy + checked, 60, "{results:?}");
    assert!((1..=4).contains(&checked), "{checked} admitted");
    // Once the flood has passed, sign-ins are admitted again.
    assert!(matches!(app.login("nobody", "x-password-123", None, ip("10.9.99.1")).await, Err(CoreError::BadCredentials)));
}

/// 600 concurrent sign-ins with unknown names, each through the trusted proxy from its own
/// address (so no address lock helps): the server stays small and `/healthz` keeps answering,
/// and afterwards it holds no password check's memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_keeps_the_server_small_and_answering() {
    use crate::harness::Install;
    let install = Install::new(Backend::Sqlite).await;
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\ntrusted_proxies = [\"127.0.0.1\"]\n";
    std::fs::write(&cfg, text).unwrap();
    let server = install.serve();
    let pid = server.child.as_ref().unwrap().id();
    let url = server.url("/auth/login");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..600 {
        let (client, url) = (crate::harness::http_client(), url.clone());
        tasks.spawn(async move {
            let body = serde_json::json!({"username": format!("nobody-{i}"), "password": "x-password-123"});
            let from = format!("10.{}.{}.7", i / 250, i % 250);
            client.post(url).header("x-forwarded-for", from).json(&body).send().await.map(|r| r.status().as_u16())
        });
    }
    // While they run, /healthz answers; "within a second" is a bound, not a benchmark.
    let health = crate::harness::http_client();
    let mut slowest = std::time::Duration::ZERO;
    let mut probes = 0;
    while !tasks.is_empty() && probes < 50 {
        let t = std::time::Instant::now();
        let r = health.get(format!("{}/healthz", server.base)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        slowest = slowest.max(t.elapsed());
        probes += 1;
        while let Some(done) = tasks.try_join_next() {
            let status = done.unwrap().unwrap();
            assert!([401, 503].contains(&status), "a sign-in answered {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for status in tasks.join_all().await {
        assert!([401, 503].contains(&status.unwrap()));
    }
    assert!(slowest < std::time::Duration::from_secs(1), "/healthz took {slowest:?} during the flood");
    let peak_kib = proc_kib(pid, "status", "VmHWM:");
    eprintln!("peak RSS during 600 sign-ins: {} MiB, slowest /healthz {slowest:?}", peak_kib / 1024);
    assert!(peak_kib < 300 * 1024, "peak RSS {} MiB", peak_kib / 1024);
    // Each check's 19 MiB went back to the system when it ended (docs/benchmarks.md §4n): after
    // the flood the debug server holds 48–50 MiB of heap; with a check's memory kept for each
    // hashing slot, as before, it held 72.
    // (mimalloc returns the flood's freed pages a second later, on a later allocation's path.)
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    for _ in 0..3 {
        assert_eq!(health.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200);
    }
    let anonymous_kib = proc_kib(pid, "smaps_rollup", "Anonymous:");
    eprintln!("anonymous memory after the flood: {} MiB", anonymous_kib / 1024);
    assert!(anonymous_kib < 60 * 1024, "the server holds {} MiB of heap after the sign-ins", anonymous_kib / 1024);
}

/// A started server keeps neither the master key derivation's memory nor transparent huge pages.
/// The derivation (Argon2 over 64 MiB, at start) was freed into a mimalloc arena an idle server
/// never purged, about half of a loaded server's resident memory, until `.cargo/config.toml` had
/// it take such blocks from the system directly (docs/benchmarks.md §4m). The same file has the
/// allocator ask for no huge pages: it marked its arena for them, and on a kernel that grants them
/// on request (`madvise`, the usual setting) every 2 MiB of it touched was resident whole: 26-28
/// MiB of a started release server, 70-84 MiB of one that had sealed a large import's audit
/// trail, varying with what the kernel had free (§4p).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_server_keeps_neither_the_key_derivations_memory_nor_huge_pages() {
    use crate::harness::Install;
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pid = server.child.as_ref().unwrap().id();
    let client = crate::harness::http_client();
    for _ in 0..20 {
        assert_eq!(client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200);
    }
    let anonymous_kib = proc_kib(pid, "smaps_rollup", "Anonymous:");
    eprintln!("anonymous memory of a started server: {} MiB", anonymous_kib / 1024);
    assert!(anonymous_kib < 48 * 1024, "a started server holds {} MiB of heap: the key derivation's 64 MiB stayed", anonymous_kib / 1024);
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if thp.is_empty() || thp.contains("[never]") {
        eprintln!("huge pages not checked: this kernel gives no process transparent huge pages");
        return;
    }
    let huge_kib = proc_kib(pid, "smaps_rollup", "AnonHugePages:");
    assert_eq!(huge_kib, 0, "the server holds {huge_kib} KiB of transparent huge pages");
}

/// A `key: N kB` line of `/proc/<pid>/<file>`, in KiB.
fn proc_kib(pid: u32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

crate::on_both!(anonymous_refusals_become_summaries_and_throttle_rows_expire);

async fn anonymous_refusals_become_summaries_and_throttle_rows_expire(backend: Backend) {
    let g = Guarded::new(backend).await;
    let refused = |store: sejf_store::SqlStore| async move {
        let q = sejf_core::ports::AuditQuery { action: "request.refused".into(), limit: 1000, ..Default::default() };
        store.audit_query(q).await.unwrap().into_iter().map(|e| e.event).collect::<Vec<_>>()
    };
    // 10,000 anonymous 401s from one address, and 100 from addresses across one IPv6 /64.
    for _ in 0..10_000 {
        g.app.record_refusal(None, "203.0.113.9", "", "GET /api/v1/people", 401).await.unwrap();
    }
    for i in 0..100 {
        g.app.record_refusal(None, &format!("2001:db8:5:5::{i:x}"), "", "GET /api/v1/people", 401).await.unwrap();
    }
    assert_eq!(refused(g.store.clone()).await.len(), 2, "one row per client block, not one per request");
    // Within the minute nothing more is written; after it, one summary per block.
    g.app.flush_refusals(false).await.unwrap();
    assert_eq!(refused(g.store.clone()).await.len(), 2);
    g.clock.0.fetch_add(61 * 1_000_000, Ordering::SeqCst);
    g.app.flush_refusals(false).await.unwrap();
    let rows = refused(g.store.clone()).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    let summary = rows.iter().find(|e| e.client == "203.0.113.9" && e.resource_id == "summary").unwrap();
    assert!(summary.detail.starts_with("refusals=9999 "), "{}", summary.detail);
    assert!(rows.iter().any(|e| e.client == "2001:db8:5:5::/64" && e.detail.starts_with("refusals=99 ")));
    // Throttle rows with nothing left to say are swept.
    let _ = g.login("wrong-password-123", Some("123456"), "192.0.2.50").await;
    assert_eq!(g.app.sweep_throttle().await.unwrap(), 0, "a fresh count is kept");
    g.advance(25 * 60);
    assert!(g.app.sweep_throttle().await.unwrap() >= 3);
    assert!(g.real_user("192.0.2.50").await.is_ok());
}
