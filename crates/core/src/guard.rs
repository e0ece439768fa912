//! The sign-in guard (docs/adr/0018-sign-in-guard.md): how many passwords and codes may be
//! tried, by whom, and how fast, kept in the database so every server agrees.
//!
//! Invariants:
//! - An attempt is counted (one atomic insert-or-increment) *before* anything is checked, so
//!   parallel guesses cannot all slip under a limit; only a right password takes its count back.
//! - Wrong passwords lock an (account, address) pair and an address, never an account: a
//!   stranger cannot lock the real user out. Across all addresses an account gets doubling
//!   delays (and an alert), enforced by a lease that lets one verification per account run at
//!   a time on any server.
//! - Wrong second factors after a right password (the password is known) lock the account
//!   until an administrator resets it, and raise an alert.
//! - Keys hold keyed hashes of account names, never a name (people type passwords there), and
//!   an IPv6 client is limited by its /64.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sejf_crypto::keyed_hash;
use sejf_crypto::password;

use crate::authz::Actor;
use crate::ports::{KeyKind, ThrottleRow};
use crate::{App, CoreError};

/// Sign-in limits. Counts are per window; locks double with each one earned, up to a day.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Wrong passwords for one account from one address (an IPv6 /64) within `window_secs`
    /// before that pair locks.
    pub pair_failures: i64,
    /// Failed sign-ins from one address, whatever the account, within `window_secs` before the
    /// address locks.
    pub address_failures: i64,
    pub window_secs: i64,
    /// Wrong passwords for one account from all addresses within `account_window_secs` after
    /// which each further check waits, doubling from one second up to `max_delay_secs`; an
    /// alert is raised when it starts.
    pub account_failures: i64,
    pub account_window_secs: i64,
    pub max_delay_secs: i64,
    /// Wrong TOTP or recovery codes after a right password (within a day) before the account
    /// locks until an administrator resets it.
    pub totp_failures: i64,
    /// The first lock of a pair or address; each further lock doubles, up to `max_lock_secs`.
    pub lock_secs: i64,
    pub max_lock_secs: i64,
    /// Password checks at once (0: one per core).
    pub hashers: usize,
    /// Sign-ins that may wait for a check; beyond them a sign-in is refused at once.
    pub hash_queue: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            pair_failures: 10,
            address_failures: 30,
            window_secs: 15 * 60,
            account_failures: 20,
            account_window_secs: 3600,
            max_delay_secs: 16,
            totp_failures: 5,
            lock_secs: 15 * 60,
            max_lock_secs: 24 * 3600,
            hashers: 0,
            hash_queue: 16,
        }
    }
}

/// A lock only an administrator lifts (`sejf user unlock`, `reset-mfa`, `reset-password`).
const UNTIL_RESET: i64 = i64::MAX;
/// How long one verification may hold its account's lease before another server may take it.
const LEASE_SECS: i64 = 30;
/// How long a sign-in waits for its account's lease before it is told to come back.
const LEASE_WAIT: Duration = Duration::from_secs(3);
const LEASE_POLL: Duration = Duration::from_millis(40);
/// The window of the wrong-code count.
const TOTP_WINDOW_SECS: i64 = 24 * 3600;
/// The system key under which account names become throttle keys.
const GUARD_KEY: &str = "sign-in-guard";
/// Local stripes: sign-ins for one account on this server queue here rather than polling the
/// database lease all at once.
const STRIPES: usize = 64;
const MICROS: i64 = 1_000_000;
/// Anonymous refusals from one client block within this long make one summary event.
pub const REFUSAL_WINDOW_SECS: i64 = 60;
/// Client blocks tallied at once; beyond them, refusals share one tally (`*`), so a flood from
/// many addresses cannot grow this map without bound either.
const REFUSAL_BLOCKS: usize = 50_000;

/// What one server keeps for the guard: the stripes that queue sign-ins per account locally,
/// and the bound on password hashing.
pub struct Local {
    stripes: Vec<tokio::sync::Mutex<()>>,
    /// Sign-ins admitted at once: the hashing slots and a short queue. One more is refused at
    /// once (503 with `Retry-After`), before any database work.
    admitted: Arc<tokio::sync::Semaphore>,
    /// Argon2 checks running at once: about one per core, each 19 MiB.
    hashing: tokio::sync::Semaphore,
    /// Anonymous refusals per client block in the current window: when it began, and how many
    /// came after the first (which was written at once).
    refusals: std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
}

impl Local {
    /// `hashers` checks at once (0: one per core), with `queue` more sign-ins waiting.
    pub fn new(hashers: usize, queue: usize) -> Self {
        let hashers = if hashers == 0 { std::thread::available_parallelism().map_or(1, usize::from) } else { hashers };
        Self {
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            admitted: Arc::new(tokio::sync::Semaphore::new(hashers + queue)),
            hashing: tokio::sync::Semaphore::new(hashers),
            refusals: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// A sign-in's place among those admitted; dropped when it ends.
pub(crate) struct Admission(#[allow(dead_code, reason = "held for its drop")] tokio::sync::OwnedSemaphorePermit);

/// The throttle keys of one sign-in attempt.
pub(crate) struct Keys {
    /// Wrong passwords for this account from this address.
    pub pair: String,
    /// Failed sign-ins from this address.
    pub addr: String,
    /// Wrong passwords for this account from anywhere: its lease and delay.
    pub account: String,
    /// Wrong second factors after a right password.
    pub totp: String,
    /// A keyed hash of the account name (hex), for the trail when the name is no account.
    pub name_tag: String,
}

/// A held verification lease; give it back with [`App::guard_release`].
pub(crate) struct Lease<'a> {
    until: i64,
    stripe: tokio::sync::MutexGuard<'a, ()>,
}

fn secs_until(at: i64, now: i64) -> i64 {
    ((at - now) + MICROS - 1).div_euclid(MICROS).max(1)
}

/// How long a finished export request stays listed (30 days).
pub const FINISHED_EXPORTS_KEPT_SECS: i64 = 30 * 24 * 3600;

impl App {
    /// Admits a sign-in when a hashing slot or a queue place is free; otherwise refuses at once
    /// ([`CoreError::Busy`]), so a flood of sign-ins costs neither memory nor waiting threads.
    pub(crate) fn guard_admit(&self) -> Result<Admission, CoreError> {
        match self.guard.admitted.clone().try_acquire_owned() {
            Ok(permit) => Ok(Admission(permit)),
            Err(_) => {
                tracing::warn!("sign-in refused: every password-hashing slot and queue place is taken");
                Err(CoreError::Busy { retry_after_secs: 1 })
            }
        }
    }

    /// Whether `pw` is the account's password; for no account, the same work and `false`.
    /// At most one check per hashing slot runs at once; the others wait their turn.
    pub(crate) async fn verify_password(&self, user: Option<&crate::ports::UserRow>, pw: &str) -> Result<bool, CoreError> {
        let _slot = self.guard.hashing.acquire().await.map_err(|_| CoreError::Busy { retry_after_secs: 1 })?;
        let pw_owned = zeroize::Zeroizing::new(pw.to_string());
        let phc = user.map(|u| u.password_hash.clone());
        let right = tokio::task::spawn_blocking(move || match phc {
            // A hash that does not parse (a service account's "!") costs a full check too, so
            // the time taken does not single out service accounts.
            Some(phc) => password::verify(&pw_owned, &phc).unwrap_or_else(|_| password::verify_dummy(&pw_owned)),
            None => password::verify_dummy(&pw_owned),
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(right)
    }

    /// Counts an anonymous refusal from `client`; true when it is the first from its block in
    /// the window and so is to be written now. The rest become one summary event
    /// ([`Self::flush_refusals`]), so a flood adds rows per block and minute, not per request.
    pub(crate) fn tally_refusal(&self, client: &str, now: i64) -> bool {
        let block = client.parse().map_or_else(|_| client.to_string(), sejf_domain::net::client_block);
        let Ok(mut tally) = self.guard.refusals.lock() else { return true };
        let key = if tally.len() >= REFUSAL_BLOCKS && !tally.contains_key(&block) { "*".to_string() } else { block };
        match tally.get_mut(&key) {
            Some((since, more)) if now - *since < REFUSAL_WINDOW_SECS * MICROS => {
                *more += 1;
                false
            }
            // A new window: the old one's summary is written by the next flush.
            Some(_) => true,
            None => {
                tally.insert(key, (now, 0));
                true
            }
        }
    }

    /// Writes one summary event per client block whose window is over (all of them when
    /// `all`, at shutdown): "N more refusals from X within the window".
    pub async fn flush_refusals(&self, all: bool) -> Result<(), CoreError> {
        let now = self.now();
        let due: Vec<(String, i64, i64)> = {
            let Ok(mut tally) = self.guard.refusals.lock() else { return Err(CoreError::Internal("refusal tally poisoned".into())) };
            let ended: Vec<String> = tally
                .iter()
                .filter(|(_, (since, _))| all || now - *since >= REFUSAL_WINDOW_SECS * MICROS)
                .map(|(k, _)| k.clone())
                .collect();
            ended
                .into_iter()
                .filter_map(|k| tally.remove(&k).map(|(since, more)| (k, since, more)))
                .filter(|(_, _, more)| *more > 0)
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        let events = due
            .into_iter()
            .map(|(block, since, more)| crate::ports::AuditEvent {
                at: now,
                action: crate::actions::AuditAction::RequestRefused.as_str().into(),
                resource_type: "request".into(),
                resource_id: "summary".into(),
                outcome: "summary".into(),
                client: block,
                detail: format!("refusals={more} since={since} window_secs={REFUSAL_WINDOW_SECS}"),
                ..Default::default()
            })
            .collect();
        self.audit(events).await
    }

    /// Forgets what the sign-in guard no longer needs: throttle rows with no lock or lease
    /// left and no count younger than the longest window. Answers how many.
    pub async fn sweep_throttle(&self) -> Result<u64, CoreError> {
        let p = self.settings.throttle;
        let now = self.now();
        let longest = p.window_secs.max(p.account_window_secs).max(TOTP_WINDOW_SECS);
        Ok(self.store.throttle_sweep(now, now - longest * MICROS).await?)
    }

    /// Forgets sessions past their absolute expiry and export requests finished more than
    /// [`FINISHED_EXPORTS_KEPT_SECS`] ago (the trail keeps what happened to both). Answers
    /// (sessions, export requests) deleted.
    pub async fn sweep_expired(&self) -> Result<(u64, u64), CoreError> {
        let now = self.now();
        Ok(self.store.expired_sweep(now, now - FINISHED_EXPORTS_KEPT_SECS * MICROS).await?)
    }

    /// The throttle keys for `username` signing in from `client`.
    pub(crate) async fn guard_keys(&self, username: &str, client: IpAddr) -> Result<Keys, CoreError> {
        let key = self.keys.named_key(self.store.as_ref(), KeyKind::System, GUARD_KEY).await?;
        // Names are matched case-insensitively here so that "IDA" and "ida" share a count.
        let name = username.to_lowercase();
        let tag = hex::encode(&keyed_hash(&key, b"sejf-sign-in-name-v1", &[name.as_bytes()])[..16]);
        let block = sejf_domain::net::client_block(client);
        Ok(Keys {
            pair: format!("p:{tag}:{block}"),
            addr: format!("a:{block}"),
            account: format!("u:{tag}"),
            totp: format!("t:{tag}"),
            name_tag: tag,
        })
    }

    /// Counts an attempt under `key` before it is checked; refuses when the key is locked or
    /// the attempts already counted in this window reach `limit`. Answers the count.
    pub(crate) async fn guard_reserve(&self, key: &str, limit: i64, window_secs: i64, now: i64) -> Result<i64, CoreError> {
        let row = self.store.throttle_hit(key, now, now - window_secs * MICROS).await?;
        if row.locked_until > now {
            return Err(CoreError::Throttled { retry_after_secs: secs_until(row.locked_until, now) });
        }
        if row.failures > limit {
            // Over the limit in flight: the attempt that reached it decides the lock.
            return Err(CoreError::Throttled { retry_after_secs: 1 });
        }
        Ok(row.failures)
    }

    /// A counted attempt failed: at the limit, lock the key, for longer with each lock.
    pub(crate) async fn guard_failed(&self, key: &str, count: i64, limit: i64, now: i64) -> Result<bool, CoreError> {
        if count < limit {
            return Ok(false);
        }
        let p = self.settings.throttle;
        let locks = self.store.throttle_get(key).await?.map_or(0, |r: ThrottleRow| r.locks);
        let secs = p.lock_secs.saturating_mul(1i64 << locks.clamp(0, 20)).min(p.max_lock_secs);
        self.store.throttle_lock(key, now, now + secs * MICROS).await?;
        Ok(true)
    }

    /// Takes the account's verification lease: one check per account at a time on every server,
    /// and not before the delay its recent failures earned. Waits a little, then refuses.
    pub(crate) async fn guard_lease(&self, account_key: &str) -> Result<Lease<'_>, CoreError> {
        let stripe_at = account_key.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b))) % STRIPES;
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        let mutex = self.guard.stripes.get(stripe_at).ok_or_else(|| CoreError::Internal("guard stripe".into()))?;
        let stripe = match tokio::time::timeout_at(deadline, mutex.lock()).await {
            Ok(g) => g,
            Err(_) => return Err(CoreError::Throttled { retry_after_secs: 1 }),
        };
        loop {
            let now = self.now();
            let until = now + LEASE_SECS * MICROS;
            if self.store.throttle_lease(account_key, now, until).await? {
                return Ok(Lease { until, stripe });
            }
            if tokio::time::Instant::now() + LEASE_POLL > deadline {
                let busy = self.store.throttle_get(account_key).await?.map_or(now, |r| r.busy_until);
                return Err(CoreError::Throttled { retry_after_secs: secs_until(busy, now) });
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Gives the lease back. A wrong password counts against the account everywhere; past
    /// `account_failures` the next check waits (doubling), and the first such raises an alert.
    pub(crate) async fn guard_release(
        &self,
        lease: Lease<'_>,
        keys: &Keys,
        wrong_password: bool,
        account: Option<&crate::ports::UserRow>,
        client: IpAddr,
    ) -> Result<(), CoreError> {
        let p = self.settings.throttle;
        let now = self.now();
        let mut busy_until = 0;
        if wrong_password {
            let row = self.store.throttle_hit(&keys.account, now, now - p.account_window_secs * MICROS).await?;
            let over = row.failures - p.account_failures;
            if over >= 0 {
                let delay = (1i64 << over.clamp(0, 20)).min(p.max_delay_secs);
                busy_until = now + delay * MICROS;
            }
            if over == 0
                && let Some(user) = account
            {
                let mut actor = Actor::operator();
                actor.client = client.to_string();
                let detail =
                    format!("failures={} window_secs={} delay_up_to_secs={}", row.failures, p.account_window_secs, p.max_delay_secs);
                self.alert(&actor, "sign-in-guessing", "high", &user.id.to_string(), &detail).await?;
            }
        }
        self.store.throttle_release(&keys.account, lease.until, busy_until).await?;
        drop(lease.stripe);
        Ok(())
    }

    /// Counts a second-factor attempt after a right password; refuses when the account is
    /// locked for wrong codes, or the codes counted today reach the limit.
    pub(crate) async fn guard_totp_reserve(&self, keys: &Keys, now: i64) -> Result<i64, CoreError> {
        let row = self.store.throttle_hit(&keys.totp, now, now - TOTP_WINDOW_SECS * MICROS).await?;
        if row.locked_until > now || row.failures > self.settings.throttle.totp_failures {
            return Err(CoreError::AccountLocked);
        }
        Ok(row.failures)
    }

    /// A wrong code after a right password: at the limit the account locks until reset.
    pub(crate) async fn guard_totp_failed(
        &self,
        keys: &Keys,
        count: i64,
        user: &crate::ports::UserRow,
        client: IpAddr,
    ) -> Result<(), CoreError> {
        if count < self.settings.throttle.totp_failures {
            return Ok(());
        }
        let now = self.now();
        self.store.throttle_lock(&keys.totp, now, UNTIL_RESET).await?;
        tracing::warn!(user = %user.username, client = %client, "account locked: wrong second factors after a right password");
        let mut actor = Actor::operator();
        actor.client = client.to_string();
        self.alert(&actor, "sign-in-mfa-lock", "high", &user.id.to_string(), &format!("wrong_codes={count}")).await
    }

    /// Whether the account is locked for wrong codes (read only; answered before any check).
    pub(crate) async fn guard_totp_locked(&self, keys: &Keys, now: i64) -> Result<bool, CoreError> {
        Ok(self.store.throttle_get(&keys.totp).await?.is_some_and(|r| r.locked_until > now))
    }

    /// Lifts the sign-in locks and delays of an account name (an administrator's remedy).
    pub(crate) async fn guard_clear_account(&self, username: &str) -> Result<(), CoreError> {
        let keys = self.guard_keys(username, IpAddr::from([0, 0, 0, 0])).await?;
        self.store.throttle_clear(&keys.totp).await?;
        self.store.throttle_clear(&keys.account).await?;
        // Every (account, address) pair of the name, its password-change count, and the locks
        // of the addresses this account was tried from: a user locked out with the rest of
        // their office (one NAT address) can sign in again. Other addresses' locks stay.
        let pairs = format!("p:{}:", keys.name_tag);
        self.store.throttle_clear_addresses(&pairs).await?;
        self.store.throttle_clear(&pairs).await?;
        self.store.throttle_clear(&format!("c:{}", keys.name_tag)).await?;
        Ok(())
    }
}
