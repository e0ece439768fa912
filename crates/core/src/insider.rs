//! Insider-threat controls: read budgets (distinct people a user may read per hour, per role),
//! honeytoken people whose every touch raises an alert naming the actor, and alerts themselves,
//! which are audit events (`action = "alert"`) and warnings in the log. None holds a personal
//! value.

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

/// The people each user is already known to have read in the current clock hour, on this
/// server: a cache in front of the shared count in the database, so re-reading someone costs
/// no database round trip. Only a first read in the hour (on this server) asks the database.
#[derive(Default)]
pub struct ReadCounts(std::sync::Mutex<std::collections::HashMap<Uuid, (i64, HashSet<Uuid>)>>);

impl App {
    /// Raises an alert: an audit event every auditor sees at `GET /alerts`, a log warning, and,
    /// once durable, a message to the configured webhook and syslog (see [`Self::forward_alerts`]).
    pub async fn alert(&self, actor: &Actor, kind: &str, severity: &str, subject: &str, detail: &str) -> Result<(), CoreError> {
        tracing::warn!(alert = kind, severity, actor = %actor.username, subject, "security alert");
        let mut ev = self.event(actor, "alert", "alert", kind);
        ev.subject_id = subject.to_string();
        ev.outcome = severity.to_string();
        ev.detail = detail.to_string();
        self.audit(vec![ev.clone()]).await?;
        if let Some(out) = self.alerts_out.get()
            && out.try_send(ev).is_err()
        {
            // Delivery is behind or stopped; the alert is in the trail and at GET /alerts.
            tracing::error!(alert = kind, "alert delivery queue full: alert kept in the audit trail only");
        }
        Ok(())
    }

    /// Sends every alert raised from now on to `out` as well (the server's delivery task).
    /// Only the first call takes effect.
    pub fn forward_alerts(&self, out: tokio::sync::mpsc::Sender<crate::ports::AuditEvent>) {
        let _ = self.alerts_out.set(out);
    }

    /// Plants a honeytoken: this person will raise an alert whenever anyone touches it.
    pub async fn mark_honeytoken(&self, person: Uuid) -> Result<(), CoreError> {
        self.store.honeytoken_put(person, self.now()).await?;
        self.audit(vec![self.event(&Actor::operator(), "honeytoken.add", "person", &person.to_string())]).await?;
        if let Ok(mut cache) = self.honey.0.write() {
            cache.1.insert(person);
        }
        Ok(())
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
            self.alert(actor, "honeytoken", "high", &s.to_string(), &format!("via={via}")).await?;
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
