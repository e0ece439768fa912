//! Sign-in throttling rows, kept in the database so every server behind a load balancer sees
//! the same counts, locks and leases (docs/adr/0018-sign-in-guard.md).
//!
//! Invariants: an attempt is counted by one atomic insert-or-increment that answers the new
//! count, before the attempt is checked, so parallel attempts never overwrite each other's
//! counts; a refund or reset never touches a key locked or restarted after the request began;
//! a verification lease is taken and given back by conditional statements, so at most one
//! holder at a time, across servers.

use sejf_core::ports::{StoreError, ThrottleRow};

use crate::SqlStore;
use crate::codec::{Arg, Columns};

const GET: &str = "SELECT key, failures, window_start, locked_until, locks, busy_until FROM login_throttle WHERE key = $1";
/// $2 is now, $3 the start of the window: a count older than it starts again at 1; a locked key
/// is not counted (its lock already answers).
const HIT: &str = "INSERT INTO login_throttle (key, failures, window_start, locked_until, locks, busy_until) \
     VALUES ($1, 1, $2, 0, 0, 0) ON CONFLICT (key) DO UPDATE SET \
     failures = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.failures \
                     WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
     window_start = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.window_start \
                         WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END \
     RETURNING key, failures, window_start, locked_until, locks, busy_until";
/// A lock restarts the count at the lock's time, which marks it as newer than any request that
/// began before it (see REFUND and RESET).
const LOCK: &str = "UPDATE login_throttle SET locked_until = $3, locks = locks + 1, failures = 0, window_start = $2 WHERE key = $1";
const REFUND: &str = "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND window_start <= $2 AND failures > 0";
const RESET: &str = "UPDATE login_throttle SET failures = 0, locks = 0 WHERE key = $1 AND window_start <= $2 AND locked_until <= $2";
/// Takes the lease when nobody holds it: with a WHERE on the update, a held lease answers no row.
const LEASE: &str = "INSERT INTO login_throttle (key, failures, window_start, locked_until, locks, busy_until) \
     VALUES ($1, 0, $2, 0, 0, $3) ON CONFLICT (key) DO UPDATE SET busy_until = $3 WHERE login_throttle.busy_until <= $2 \
     RETURNING busy_until";
const RELEASE: &str = "UPDATE login_throttle SET busy_until = $3 WHERE key = $1 AND busy_until = $2";
/// Keys are ASCII (a prefix letter, hex digits, an address block), so a byte prefix is a prefix.
const CLEAR: &str = "DELETE FROM login_throttle WHERE substr(key, 1, length($1)) = $1";
/// The address rows of every block a pair row under $1 names: `p:{tag}:{block}` → `a:{block}`
/// (an exact match, so `a:10.0.0.1` never takes `a:10.0.0.12` with it).
const CLEAR_ADDRESSES: &str = "DELETE FROM login_throttle WHERE key IN \
     (SELECT 'a:' || substr(key, length($1) + 1) FROM login_throttle WHERE substr(key, 1, length($1)) = $1)";
const SWEEP: &str = "DELETE FROM login_throttle WHERE window_start < $2 AND locked_until <= $1 AND busy_until <= $1";

fn row(r: &dyn Columns) -> Result<ThrottleRow, StoreError> {
    Ok(ThrottleRow {
        key: r.text(0, "login_throttle.key")?,
        failures: r.int(1, "login_throttle.failures")?,
        window_start: r.int(2, "login_throttle.window_start")?,
        locked_until: r.int(3, "login_throttle.locked_until")?,
        locks: r.int(4, "login_throttle.locks")?,
        busy_until: r.int(5, "login_throttle.busy_until")?,
    })
}

fn key(key: &str) -> Arg<'static> {
    Arg::Owned(key.to_owned())
}

pub(crate) async fn get(store: &SqlStore, k: &str) -> Result<Option<ThrottleRow>, StoreError> {
    store.read_one(GET, &[Arg::Text(k)], "throttle get", row).await
}

pub(crate) async fn hit(store: &SqlStore, k: &str, now: i64, window_from: i64) -> Result<ThrottleRow, StoreError> {
    let args = vec![key(k), Arg::Int(now), Arg::Int(window_from)];
    store.write_returning(HIT, args, "throttle hit", row).await?.ok_or_else(|| StoreError::Backend("throttle hit: no row".into()))
}

pub(crate) async fn lock(store: &SqlStore, k: &str, now: i64, until: i64) -> Result<(), StoreError> {
    store.write(LOCK, vec![key(k), Arg::Int(now), Arg::Int(until)], "throttle lock").await.map(drop)
}

pub(crate) async fn refund(store: &SqlStore, k: &str, since: i64, reset: bool) -> Result<(), StoreError> {
    let sql = if reset { RESET } else { REFUND };
    store.write(sql, vec![key(k), Arg::Int(since)], "throttle refund").await.map(drop)
}

pub(crate) async fn lease(store: &SqlStore, k: &str, now: i64, until: i64) -> Result<bool, StoreError> {
    let args = vec![key(k), Arg::Int(now), Arg::Int(until)];
    Ok(store.write_returning(LEASE, args, "throttle lease", |_| Ok(())).await?.is_some())
}

pub(crate) async fn release(store: &SqlStore, k: &str, lease: i64, busy_until: i64) -> Result<(), StoreError> {
    store.write(RELEASE, vec![key(k), Arg::Int(lease), Arg::Int(busy_until)], "throttle release").await.map(drop)
}

pub(crate) async fn clear(store: &SqlStore, prefix: &str) -> Result<(), StoreError> {
    store.write(CLEAR, vec![key(prefix)], "throttle clear").await.map(drop)
}

pub(crate) async fn clear_addresses(store: &SqlStore, pair_prefix: &str) -> Result<(), StoreError> {
    store.write(CLEAR_ADDRESSES, vec![key(pair_prefix)], "throttle clear addresses").await.map(drop)
}

pub(crate) async fn sweep(store: &SqlStore, now: i64, window_from: i64) -> Result<u64, StoreError> {
    store.write(SWEEP, vec![Arg::Int(now), Arg::Int(window_from)], "throttle sweep").await
}

const SWEEP_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at < $1";
const SWEEP_EXPORTS: &str = "DELETE FROM export_requests WHERE \
     (status IN ('downloaded', 'rejected') AND decided_at < $1 AND downloaded_at < $1) \
     OR (status = 'approved' AND expires_at > 0 AND expires_at < $1)";

/// See `Store::expired_sweep`.
pub(crate) async fn expired_sweep(store: &SqlStore, now: i64, exports_before: i64) -> Result<(u64, u64), StoreError> {
    let sessions = store.write(SWEEP_SESSIONS, vec![Arg::Int(now)], "session sweep").await?;
    let exports = store.write(SWEEP_EXPORTS, vec![Arg::Int(exports_before)], "export sweep").await?;
    Ok((sessions, exports))
}
