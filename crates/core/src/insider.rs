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

use std::collections::HashSet;
use std::sync::RwLock;

use uuid::Uuid;

use crate::authz::{Actor, Scope};
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

/// The people each user is already known to have read in the current clock hour, on this
/// server: a cache in front of the shared count in the database, so re-reading someone costs
/// no database round trip. Only a first read in the hour (on this server) asks the database.
#[derive(Default)]
pub struct ReadCounts(std::sync::Mutex<std::collections::HashMap<Uuid, (i64, HashSet<Uuid>)>>);

impl App {
    /// Raises an alert: an audit event every auditor sees at `GET /alerts`, a log warning, and,
    /// once durable, a message to the configured webhook and syslog (see [`Self::forward_alerts`]).
    pub async fn alert(&self, actor: &Actor, kind: &str, severity: &str, subject: &str, detail: &str) -> Result<(), CoreError> {
        let mut ev = self.event(actor, "alert", "alert", kind);
        ev.subject_id = subject.to_string();
        ev.outcome = severity.to_string();
        ev.detail = detail.to_string();
        self.raise(ev.clone(), ev).await
    }

    /// Records `trail` and, once it is durable, hands `delivered` (the same alert, perhaps with
    /// more in it) to the delivery task and the log.
    async fn raise(&self, trail: crate::ports::AuditEvent, delivered: crate::ports::AuditEvent) -> Result<(), CoreError> {
        self.audit(vec![trail]).await?;
        tracing::warn!(alert = %delivered.resource_id, severity = %delivered.outcome, actor = %delivered.actor,
            subject = %delivered.subject_id, request = %delivered.request_id, "security alert");
        self.notify(Notice::Alert(delivered));
        Ok(())
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
    pub async fn mark_honeytoken(&self, person: Uuid) -> Result<(), CoreError> {
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
            let mut delivered = self.event(actor, "alert", "alert", "honeytoken");
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
        let hour = self.now() / HOUR_MICROS;
        let new: Vec<Uuid> = {
            let mut counts = self.read_counts.0.lock().map_err(|_| CoreError::Internal("read counts poisoned".into()))?;
            let entry = counts.entry(actor.user_id).or_insert_with(|| (hour, HashSet::new()));
            if entry.0 != hour {
                *entry = (hour, HashSet::new());
            }
            subjects.iter().filter(|s| !entry.1.contains(s)).copied().collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        // Shared by every server: the budget holds however many servers the user spreads over.
        let outcome = self.store.read_budget_take(actor.user_id, hour, new.clone(), budget).await?;
        if outcome.granted {
            let mut counts = self.read_counts.0.lock().map_err(|_| CoreError::Internal("read counts poisoned".into()))?;
            if let Some(entry) = counts.get_mut(&actor.user_id).filter(|e| e.0 == hour) {
                entry.1.extend(new);
            }
            return Ok(());
        }
        let (read, new) = (outcome.read_before, outcome.asked);
        self.alert(actor, "read-budget", "high", "", &format!("budget={budget} read={read} asked={new}")).await?;
        if self.settings.read_budget_suspends {
            // Suspended until a manager or administrator reviews it (`sejf user enable`).
            self.store.user_set_disabled(actor.user_id, true).await?;
            self.store.sessions_delete_for_user(actor.user_id).await?;
        }
        Err(CoreError::ReadBudgetExceeded { budget })
    }
}
