//! The bearer tokens this server resolved in the last half second (ADR 0029).
//!
//! Authenticating a request read the token's session and user from the store every time: one
//! indexed read, 8 % of a `GET /people/{id}`'s server CPU under load. A client under load sends
//! the same token many times a second, so this server keeps what a read admitted for
//! [`FRESH`], and the bound the issue sets holds: a session ended, a role changed or a user
//! disabled anywhere (another server, the CLI) stops working here within [`FRESH`].
//!
//! - Only an admitted token is kept; a refusal (unknown, expired, idle, disabled) is decided on
//!   a fresh read, and so is every check a kept entry fails (expiry and idleness against the
//!   clock, at every use).
//! - A change this server makes ([`App::account_change`](crate::App)) forgets every entry at
//!   once, after its commit. A read that began before that commit may not keep what it read: each
//!   read notes the [`Tokens::generation`] it began in, and the change moves it on.
//! - Kept by the token's digest (SHA-256), never by the token; at most [`CAPACITY`] entries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::authz::Actor;

/// How long a kept entry is trusted: half the bound, so a request's own time cannot pass it.
pub const FRESH: Duration = Duration::from_millis(500);
/// Entries kept at most; past it, the stale ones go, and if none are stale, all of them.
const CAPACITY: usize = 4_096;

/// What a read of a token admitted: its caller (without the request's client and id) and the
/// session's times, in µs as the store keeps them.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub actor: Actor,
    pub last_seen: i64,
    pub expires_at: i64,
}

struct Entry {
    admitted: Admitted,
    read_at: Instant,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<Vec<u8>, Entry>,
}

/// The kept tokens of one server.
#[derive(Default)]
pub struct Tokens(Mutex<Inner>);

impl Tokens {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock left at worst a missing entry: the map stays usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What was admitted for `digest` less than [`FRESH`] before `now`.
    pub fn fresh(&self, digest: &[u8], now: Instant) -> Option<Admitted> {
        let inner = self.inner();
        let entry = inner.entries.get(digest)?;
        (now.saturating_duration_since(entry.read_at) < FRESH).then(|| entry.admitted.clone())
    }

    /// The generation a read begins in; pass it to [`Self::keep`].
    pub fn generation(&self) -> u64 {
        self.inner().generation
    }

    /// Keeps what a read begun at `read_at` in `generation` admitted, unless a change was made
    /// since it began (then the read may have seen the state before it).
    pub fn keep(&self, digest: Vec<u8>, admitted: Admitted, generation: u64, read_at: Instant) {
        let mut inner = self.inner();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= CAPACITY && !inner.entries.contains_key(digest.as_slice()) {
            inner.entries.retain(|_, e| read_at.saturating_duration_since(e.read_at) < FRESH);
            if inner.entries.len() >= CAPACITY {
                inner.entries.clear();
            }
        }
        inner.entries.insert(digest, Entry { admitted, read_at });
    }

    /// The session was touched at `last_seen`: later uses of the entry count idleness from it.
    pub fn touched(&self, digest: &[u8], last_seen: i64) {
        if let Some(e) = self.inner().entries.get_mut(digest) {
            e.admitted.last_seen = e.admitted.last_seen.max(last_seen);
        }
    }

    /// Forgets every entry, and refuses what reads begun before now would keep.
    pub fn forget_all(&self) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::Scope;
    use sejf_domain::roles::Role;
    use uuid::Uuid;

    fn admitted() -> Admitted {
        Admitted {
            actor: Actor {
                user_id: Uuid::now_v7(),
                username: "ola".into(),
                role: Role::Sales,
                units: vec!["north".into()],
                session_id: Uuid::now_v7(),
                scope: Scope::Full,
                client: String::new(),
                request_id: String::new(),
            },
            last_seen: 10,
            expires_at: 20,
        }
    }

    #[test]
    fn an_entry_is_trusted_for_half_a_second_and_no_longer() {
        let tokens = Tokens::default();
        let t0 = Instant::now();
        tokens.keep(vec![1; 32], admitted(), tokens.generation(), t0);
        assert!(tokens.fresh(&[1; 32], t0 + Duration::from_millis(499)).is_some());
        assert!(tokens.fresh(&[1; 32], t0 + FRESH).is_none(), "at half a second the store is read again");
        assert!(tokens.fresh(&[2; 32], t0).is_none(), "another token's digest finds nothing");
    }

    #[test]
    fn a_change_forgets_every_entry_and_what_earlier_reads_would_keep() {
        let tokens = Tokens::default();
        let t0 = Instant::now();
        tokens.keep(vec![1; 32], admitted(), tokens.generation(), t0);
        // A read begins, a change commits and forgets, then the read would keep what it saw.
        let began = tokens.generation();
        tokens.forget_all();
        assert!(tokens.fresh(&[1; 32], t0).is_none());
        tokens.keep(vec![2; 32], admitted(), began, t0);
        assert!(tokens.fresh(&[2; 32], t0).is_none(), "a read begun before the change keeps nothing");
        tokens.keep(vec![2; 32], admitted(), tokens.generation(), t0);
        assert!(tokens.fresh(&[2; 32], t0).is_some(), "a read begun after it does");
    }

    #[test]
    fn a_touch_moves_idleness_forward_never_back() {
        let tokens = Tokens::default();
        let t0 = Instant::now();
        tokens.keep(vec![1; 32], admitted(), tokens.generation(), t0);
        tokens.touched(&[1; 32], 15);
        tokens.touched(&[1; 32], 12);
        assert_eq!(tokens.fresh(&[1; 32], t0).map(|a| a.last_seen), Some(15));
    }

    #[test]
    fn the_map_stays_within_its_capacity() {
        // The `i`-th of a run of distinct digests filled with `fill`.
        let digest = |fill: u8, i: u32| {
            let mut d = vec![fill; 32];
            d[..4].copy_from_slice(&i.to_le_bytes());
            d
        };
        let tokens = Tokens::default();
        let t0 = Instant::now();
        for i in 0..CAPACITY as u32 {
            tokens.keep(digest(0, i), admitted(), tokens.generation(), t0);
        }
        assert_eq!(tokens.len(), CAPACITY);
        // All still fresh: the next entry empties the map rather than growing it.
        tokens.keep(vec![0xff; 32], admitted(), tokens.generation(), t0);
        assert_eq!(tokens.len(), 1);
        // Stale entries go first, fresh ones stay.
        let later = t0 + FRESH;
        for i in 0..(CAPACITY as u32 - 1) {
            tokens.keep(digest(1, i), admitted(), tokens.generation(), later);
        }
        tokens.keep(vec![0xee; 32], admitted(), tokens.generation(), later);
        assert_eq!(tokens.len(), CAPACITY, "only the one stale entry made room");
        assert!(tokens.fresh(&[0xff; 32], later).is_none());
    }
}
