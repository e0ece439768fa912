//! Insider-threat controls: read budgets (distinct people a user may read per hour, per role),
//! honeytoken people whose every touch raises an alert naming the actor, and alerts themselves,
//! which are audit events (`action = "alert"`) and warnings in the log. None holds a personal
//! value.
//!
//! Honeytokens must not be spotted by the people they are meant to catch. Which people are
//! bait is kept only in the `honeytokens` table, which the operator (the CLI with the master
//! key) reads: no event that an auditor or the dpo can read names a honeytoken as such. A
//! honeytoken alert in the trail names the actor, the time and how it was touched, but neither
//! the person nor the request (whose read event would name the person); the operator's sinks
//! (webhook, syslog, the log) get both.

use crate::actions::AuditAction;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use uuid::Uuid;

use crate::authz::{Actor, Scope};
use crate::ports::{ReadMark, Store, StoreError};
use crate::{App, CoreError};

/// How often the honeytoken list is re-read (other processes may plant new ones).
const HONEY_REFRESH_MICROS: i64 = 5 * 1_000_000;
const HOUR_MICROS: i64 = 3600 * 1_000_000;

/// The honeytoken ids known to this server, and when they were read.
#[derive(Default)]
pub struct HoneyCache(RwLock<(i64, HashSet<Uuid>)>);

/// What the server hands to its delivery task (webhook, syslog) once it is durable.
#[derive(Debug, Clone)]
pub enum Notice {
    /// An alert, with what the trail's copy leaves out (a honeytoken's id, the request id).
    Alert(crate::ports::AuditEvent),
    /// A signed checkpoint of the audit trail: a copy of it outside the host.
    Checkpoint(sejf_crypto::audit::Checkpoint),
}

/// The sliding window a read budget counts over.
pub const BUDGET_WINDOW_MICROS: i64 = HOUR_MICROS;
/// How often a server writes its new reads to the database ([`App::flush_reads`]).
pub const BUDGET_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// A re-read of a person whose read is in the database moves the stored time only once it is
/// this much later (or the stored time has left the window): a user reopening the same people
/// writes nothing most seconds, and a crash forgets at most this much of a re-read's time
/// (ADR 0017, amended).
const RE_READ_WRITTEN_AFTER_MICROS: i64 = 60 * 1_000_000;
/// A count of a user's reads from the database older than this is read again before it decides
/// a read, so reads on other servers count here within this plus one flush interval.
const COUNT_FRESH_MICROS: i64 = 2 * 1_000_000;

/// One person a user read on this server: when last, and when that was last written to the
/// database (0: never, so not in the database's count).
#[derive(Clone, Copy)]
struct Mark {
    at: i64,
    stored_at: i64,
}

/// A user's reads within the window as this server knows them.
#[derive(Default)]
struct UserReads {
    seen: HashMap<Uuid, Mark>,
    /// Distinct people in the window on every server, as the database counted them at
    /// `counted_at` (None: never asked). It includes this server's stored reads.
    shared: i64,
    counted_at: Option<i64>,
    /// People in `seen` never written to the database: on top of `shared`.
    fresh: i64,
}

impl UserReads {
    /// Notes that the user read `person` at `now`; a read older than the window (`since`)
    /// counts as none.
    fn touch(&mut self, person: Uuid, now: i64, since: i64) {
        match self.seen.get_mut(&person) {
            Some(m) if m.at >= since => m.at = m.at.max(now),
            Some(m) => {
                if m.stored_at != 0 {
                    self.fresh += 1;
                }
                *m = Mark { at: now, stored_at: 0 };
            }
            None => {
                self.seen.insert(person, Mark { at: now, stored_at: 0 });
                self.fresh += 1;
            }
        }
    }

    /// Notes that `person`'s read at `at` (and any earlier) is in the database.
    fn stored(&mut self, person: Uuid, at: i64) {
        if let Some(m) = self.seen.get_mut(&person) {
            if m.stored_at == 0 {
                self.fresh -= 1;
            }
            m.stored_at = m.stored_at.max(at);
        }
    }
}

/// Read budgets, counted in memory and written to the database in batches: a read costs no
/// database round trip unless this server's count says it would pass the budget (ADR 0017).
#[derive(Default)]
pub struct ReadCounts(Arc<Mutex<HashMap<Uuid, UserReads>>>);

/// How this server's count decides a read.
enum Decision {
    Granted,
    /// The count is too old to decide on.
    Recount,
    /// Over the budget by this server's count: the database decides, with the user's reads not
    /// yet written and the people asked for (new in the window).
    Ask {
        unwritten: Vec<Uuid>,
        new: Vec<Uuid>,
    },
}

impl ReadCounts {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<Uuid, UserReads>>, CoreError> {
        self.0.lock().map_err(|_| CoreError::Internal("read counts poisoned".into()))
    }

    fn decide(&self, user: Uuid, subjects: &[Uuid], budget: i64, now: i64) -> Result<Decision, CoreError> {
        let since = now - BUDGET_WINDOW_MICROS;
        let mut counts = self.lock()?;
        let entry = counts.entry(user).or_default();
        let new: Vec<Uuid> = subjects.iter().filter(|s| entry.seen.get(s).is_none_or(|m| m.at < since)).copied().collect();
        if !new.is_empty() {
            if entry.counted_at.is_none_or(|at| now - at > COUNT_FRESH_MICROS) {
                return Ok(Decision::Recount);
            }
            if entry.shared + entry.fresh + new.len() as i64 > budget {
                let unwritten = entry.seen.iter().filter(|(_, m)| m.at > m.stored_at && m.at >= since).map(|(p, _)| *p).collect();
                return Ok(Decision::Ask { unwritten, new });
            }
        }
        for s in subjects {
            entry.touch(*s, now, since);
        }
        Ok(Decision::Granted)
    }

    fn counted(&self, user: Uuid, shared: i64, now: i64) -> Result<(), CoreError> {
        let mut counts = self.lock()?;
        let entry = counts.entry(user).or_default();
        if entry.counted_at.is_none_or(|at| at <= now) {
            entry.shared = shared;
            entry.counted_at = Some(now);
        }
        Ok(())
    }
}

impl App {
    /// Writes the reads this server granted since the last call to the database in one
    /// transaction, forgets reads older than the window, and refreshes the shared counts of the
    /// users who read. The server calls it every [`BUDGET_FLUSH_EVERY`] and at shutdown.
    pub async fn flush_reads(&self) -> Result<(), CoreError> {
        flush(&self.read_counts.0, self.store.as_ref(), self.now(), Moves::All).await
    }

    /// Runs [`Self::flush_reads`] every [`BUDGET_FLUSH_EVERY`] until the app is dropped.
    pub(crate) fn start_read_flusher(&self) {
        let counts = Arc::downgrade(&self.read_counts.0);
        let (store, clock) = (self.store.clone(), self.clock.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(BUDGET_FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(counts) = counts.upgrade() else { return };
                if let Err(e) = flush(&counts, store.as_ref(), clock.now_micros(), Moves::Due).await {
                    tracing::error!(error = %e, "writing read budgets failed; retrying");
                }
            }
        });
    }
    /// Raises an alert: an audit event every auditor sees at `GET /alerts`, a log warning, and,
    /// once durable, a message to the configured webhook and syslog (see [`Self::forward_alerts`]).
    pub async fn alert(&self, actor: &Actor, kind: &str, severity: &str, subject: &str, detail: &str) -> Result<(), CoreError> {
        let ev = self.alert_event(actor, kind, severity, subject, detail);
        self.raise(ev.clone(), ev).await
    }

    /// The trail's event of an alert, for a caller that commits it with a change of its own
    /// and then [`Self::announce`]s it.
    pub(crate) fn alert_event(&self, actor: &Actor, kind: &str, severity: &str, subject: &str, detail: &str) -> crate::ports::AuditEvent {
        let mut ev = self.event(actor, AuditAction::Alert, "alert", kind);
        ev.subject_id = subject.to_string();
        ev.outcome = severity.to_string();
        ev.detail = detail.to_string();
        ev
    }

    /// Records `trail` and, once it is durable, hands `delivered` (the same alert, perhaps with
    /// more in it) to the delivery task and the log.
    async fn raise(&self, trail: crate::ports::AuditEvent, delivered: crate::ports::AuditEvent) -> Result<(), CoreError> {
        self.audit(vec![trail]).await?;
        self.announce(delivered);
        Ok(())
    }

    /// Counts, logs and delivers an alert already durable in the trail.
    pub(crate) fn announce(&self, delivered: crate::ports::AuditEvent) {
        self.alerts_raised.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(alert = %delivered.resource_id, severity = %delivered.outcome, actor = %delivered.actor,
            subject = %delivered.subject_id, request = %delivered.request_id, "security alert");
        self.notify(Notice::Alert(delivered));
    }

    /// Hands a notice to the delivery task, never waiting for it.
    pub(crate) fn notify(&self, notice: Notice) {
        if let Some(out) = self.alerts_out.get()
            && out.try_send(notice).is_err()
        {
            // Delivery is behind or stopped; what it would carry is in the trail.
            tracing::error!("alert delivery queue full: notice kept in the audit trail only");
        }
    }

    /// Sends every alert (and checkpoint) from now on to `out` as well (the server's delivery
    /// task). Only the first call takes effect.
    pub fn forward_alerts(&self, out: tokio::sync::mpsc::Sender<Notice>) {
        let _ = self.alerts_out.set(out);
    }

    /// Marks a person as a honeytoken: they will raise an alert whenever anyone touches them.
    /// Only the `honeytokens` table says so; the trail holds no event naming them as bait (the
    /// person's creation is an ordinary `person.create`).
    pub async fn mark_honeytoken(&self, actor: &Actor, person: Uuid) -> Result<(), CoreError> {
        crate::operator::operator_only(actor, "mark a honeytoken")?;
        self.store.honeytoken_put(person, self.now()).await?;
        if let Ok(mut cache) = self.honey.0.write() {
            cache.1.insert(person);
        }
        Ok(())
    }

    /// Every honeytoken (operator only: the CLI with the master key).
    pub async fn honeytokens(&self) -> Result<Vec<Uuid>, CoreError> {
        Ok(self.store.honeytokens().await?)
    }

    /// The honeytokens among `subjects`, from the cache (re-read from the store every few
    /// seconds, since other processes may plant new ones). On every read path: it neither
    /// allocates nor asks the store unless the cache is stale or a honeytoken is among them.
    async fn honeytokens_among(&self, subjects: &[Uuid]) -> Result<Vec<Uuid>, CoreError> {
        let now = self.now();
        if let Ok(cache) = self.honey.0.read()
            && now - cache.0 < HONEY_REFRESH_MICROS
        {
            return Ok(subjects.iter().filter(|s| cache.1.contains(s)).copied().collect());
        }
        let fresh: HashSet<Uuid> = self.store.honeytokens().await?.into_iter().collect();
        let hits = subjects.iter().filter(|s| fresh.contains(s)).copied().collect();
        if let Ok(mut cache) = self.honey.0.write() {
            *cache = (now, fresh);
        }
        Ok(hits)
    }

    /// Raises a high-severity alert naming `actor` for every honeytoken among `subjects`.
    pub(crate) async fn alert_honeytokens(&self, actor: &Actor, subjects: &[Uuid], via: &str) -> Result<(), CoreError> {
        if subjects.is_empty() {
            return Ok(());
        }
        for s in self.honeytokens_among(subjects).await? {
            let mut delivered = self.event(actor, AuditAction::Alert, "alert", "honeytoken");
            delivered.outcome = "high".into();
            delivered.detail = format!("via={via}");
            // The trail's copy names neither the bait nor the request whose read event would.
            let trail = crate::ports::AuditEvent { request_id: String::new(), ..delivered.clone() };
            delivered.subject_id = s.to_string();
            self.raise(trail, delivered).await?;
        }
        Ok(())
    }

    /// Runs before people are shown to `actor` (get, list, search, reveal, export): alerts on
    /// honeytokens, and enforces the role's read budget. Refused reads show nothing.
    pub(crate) async fn guard_reads(&self, actor: &Actor, subjects: &[Uuid], via: &str) -> Result<(), CoreError> {
        if subjects.is_empty() {
            return Ok(());
        }
        self.alert_honeytokens(actor, subjects, via).await?;
        if actor.scope == Scope::Operator {
            return Ok(());
        }
        let Some(&budget) = self.settings.read_budgets.get(&actor.role) else { return Ok(()) };
        let now = self.now();
        let mut recounted = false;
        let (unwritten, new) = loop {
            match self.read_counts.decide(actor.user_id, subjects, budget, now)? {
                Decision::Granted => return Ok(()),
                Decision::Ask { unwritten, new } => break (unwritten, new),
                // Reads on other servers count here once they are written (about a second).
                Decision::Recount if !recounted => {
                    let shared = self.store.read_budget_count(actor.user_id, now - BUDGET_WINDOW_MICROS).await?;
                    self.read_counts.counted(actor.user_id, shared, now)?;
                    recounted = true;
                }
                // Counted just now: only a concurrent count with a later clock gets here.
                Decision::Recount => break (Vec::new(), subjects.to_vec()),
            }
        };
        // Past the budget by this server's count, which may count a person read on another
        // server twice: the database decides, with this server's unwritten reads too.
        let ask: Vec<Uuid> = unwritten.iter().chain(&new).copied().collect();
        let outcome = self.store.read_budget_take(actor.user_id, now, now - BUDGET_WINDOW_MICROS, ask.clone(), budget).await?;
        if outcome.granted {
            let mut counts = self.read_counts.lock()?;
            let entry = counts.entry(actor.user_id).or_default();
            for p in &ask {
                entry.touch(*p, now, now - BUDGET_WINDOW_MICROS);
                entry.stored(*p, now);
            }
            entry.shared = outcome.read_before + outcome.asked;
            entry.counted_at = Some(now);
            return Ok(());
        }
        // The people read before this request (by the database and this server's unwritten
        // reads), and how many it asked for.
        let (new, read) = (new.len() as i64, (outcome.read_before + outcome.asked - new.len() as i64).max(outcome.read_before));
        let alert = self.alert_event(actor, "read-budget", "high", "", &format!("budget={budget} read={read} asked={new}"));
        if self.settings.read_budget_suspends {
            // Suspended until a manager or administrator reviews it (`sejf user enable`), with
            // the alert that says why in the same transaction.
            let change =
                crate::ports::AccountChange { user: actor.user_id, disabled: Some(true), end_sessions: true, ..Default::default() };
            self.account_change(change, vec![alert.clone()]).await?;
            self.announce(alert);
        } else {
            self.raise(alert.clone(), alert).await?;
        }
        Err(CoreError::ReadBudgetExceeded { budget })
    }
}

/// Which re-reads a flush writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moves {
    /// Every one whose time moved (at shutdown, and [`App::flush_reads`]).
    All,
    /// Those whose time moved by [`RE_READ_WRITTEN_AFTER_MICROS`] or whose stored time has left
    /// the window (the flush every second). People new to the database are always written.
    Due,
}

impl Mark {
    /// Whether a flush writes this read.
    fn to_write(self, moves: Moves, since: i64) -> bool {
        self.at > self.stored_at
            && (moves == Moves::All
                || self.stored_at == 0
                || self.stored_at < since
                || self.at - self.stored_at >= RE_READ_WRITTEN_AFTER_MICROS)
    }
}

/// See [`App::flush_reads`].
async fn flush(counts: &Mutex<HashMap<Uuid, UserReads>>, store: &dyn Store, now: i64, moves: Moves) -> Result<(), CoreError> {
    let since = now - BUDGET_WINDOW_MICROS;
    let reads: Vec<ReadMark> = {
        let mut counts = counts.lock().map_err(|_| CoreError::Internal("read counts poisoned".into()))?;
        let mut reads = Vec::new();
        counts.retain(|user, e| {
            let before = e.seen.len();
            e.seen.retain(|_, m| m.at >= since || m.stored_at != 0);
            // Forgotten without ever being written (the database was away for the whole window).
            e.fresh -= (before - e.seen.len()) as i64;
            e.seen.retain(|_, m| m.at >= since);
            reads.extend(e.seen.iter().filter(|(_, m)| m.to_write(moves, since)).map(|(p, m)| ReadMark {
                user: *user,
                person: *p,
                at: m.at,
            }));
            !e.seen.is_empty()
        });
        reads
    };
    if reads.is_empty() {
        return Ok(());
    }
    let shared = match store.read_budget_record(reads.clone(), since).await {
        Ok(shared) => shared,
        // A user who no longer exists: nothing left to count for them.
        Err(StoreError::Reference(e)) => {
            tracing::warn!(error = %e, "read budget rows refused; dropped");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let mut counts = counts.lock().map_err(|_| CoreError::Internal("read counts poisoned".into()))?;
    for r in &reads {
        if let Some(e) = counts.get_mut(&r.user) {
            e.stored(r.person, r.at);
        }
    }
    for (user, n) in shared {
        if let Some(e) = counts.get_mut(&user) {
            e.shared = n;
            e.counted_at = Some(now);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Mark, Moves, RE_READ_WRITTEN_AFTER_MICROS};

    const SEC: i64 = 1_000_000;

    #[test]
    fn a_flush_writes_new_people_at_once_and_a_re_read_once_it_moved_far_enough() {
        let since = 3_600 * SEC;
        let at = |at: i64, stored_at: i64| Mark { at, stored_at };
        let due = |m: Mark| m.to_write(Moves::Due, since);
        let all = |m: Mark| m.to_write(Moves::All, since);
        // A person not in the database yet: at once.
        assert!(due(at(since + 10 * SEC, 0)));
        // Unmoved: never.
        assert!(!due(at(since + 10 * SEC, since + 10 * SEC)) && !all(at(since + 10 * SEC, since + 10 * SEC)));
        // A re-read seconds after the stored one: only at shutdown.
        let soon = at(since + 40 * SEC, since + 10 * SEC);
        assert!(!due(soon) && all(soon));
        // A minute later, or once the stored time has left the window: at the next flush, so the
        // database never counts a person out of the window while this server still reads them.
        assert!(due(at(since + 10 * SEC + RE_READ_WRITTEN_AFTER_MICROS, since + 10 * SEC)));
        assert!(due(at(since + 5 * SEC, since - SEC)));
    }
}
