//! Reading the audit trail (auditor and DPO): filters, cursor paging, and the reader's own
//! `audit.read` event, written before the page leaves. The API's `GET /audit` and the web UI's
//! `/audit` both come through here.

use crate::actions::AuditAction;
use sejf_domain::ValidationErrors;

use crate::ports::{AuditQuery, SealedEvent, Store};
use crate::{Actor, App, CoreError};

/// What a reader of the trail asks for; empty strings and zero bounds are no filter.
#[derive(Debug, Clone, Default)]
pub struct TrailQuery {
    /// A user name.
    pub actor: String,
    /// A person id: who accessed this person.
    pub subject: String,
    /// An action, e.g. `person.read`.
    pub action: String,
    /// Unix µs bounds (0 = open).
    pub from: i64,
    pub to: i64,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One page of the trail, oldest first.
#[derive(Debug)]
pub struct TrailPage {
    pub items: Vec<SealedEvent>,
    pub next_cursor: Option<String>,
}

impl App {
    /// The tree size of the newest signed checkpoint, for a caller allowed to read the trail.
    pub async fn last_checkpoint_size(&self, actor: &Actor) -> Result<Option<i64>, CoreError> {
        self.authorize_system(actor, crate::users::PolicyAction::ReadAudit)?;
        Ok(self.store.audit_checkpoint_last().await?.map(|(size, _)| size))
    }

    /// A page of the trail for a caller whom the policies allow to read it; the read is audited
    /// (`audit.read`, naming the filters used and the person asked about, never other terms).
    pub async fn audit_trail(&self, actor: &Actor, q: TrailQuery) -> Result<TrailPage, CoreError> {
        self.authorize_system(actor, crate::users::PolicyAction::ReadAudit)?;
        // Filters are bound as values, but a database refuses some bytes (PostgreSQL: NUL in text).
        for (field, value) in [("actor", &q.actor), ("subject", &q.subject), ("action", &q.action)] {
            if value.chars().any(char::is_control) || value.chars().count() > 200 {
                return Err(ValidationErrors::single(field, "must be at most 200 characters, without control characters").into());
            }
        }
        let limit = crate::page::check_limit(q.limit)?;
        let after = match q.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c.parse::<i64>().map_err(|_| ValidationErrors::single("cursor", "is not a cursor this server issued"))?,
        };
        let filters: Vec<&str> = [
            ("actor", !q.actor.is_empty()),
            ("subject", !q.subject.is_empty()),
            ("action", !q.action.is_empty()),
            ("from", q.from != 0),
            ("to", q.to != 0),
        ]
        .into_iter()
        .filter(|(_, used)| *used)
        .map(|(name, _)| name)
        .collect();
        // A subject filter is a person id; anything else typed there (an e-mail address) stays out.
        let asked_about = uuid::Uuid::parse_str(&q.subject).map(|id| id.to_string()).unwrap_or_default();
        let query =
            AuditQuery { actor: q.actor, subject: q.subject, action: q.action, from: q.from, to: q.to, after_seq: after, limit: limit + 1 };
        let mut items = self.store.audit_query(query).await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more { items.last().map(|r| r.seq.to_string()) } else { None };
        let mut ev = self.event(actor, AuditAction::AuditRead, "audit", &filters.join(","));
        ev.subject_id = asked_about;
        ev.detail = format!("results={} after={after}", items.len());
        self.audit(vec![ev]).await?;
        Ok(TrailPage { items, next_cursor })
    }
}

impl App {
    /// When an event with `action` and outcome `ok` was last recorded (unix µs), if ever: e.g.
    /// the last successful backup, for the scheduler and the posture report.
    pub async fn last_ok(&self, action: crate::actions::AuditAction) -> Result<Option<i64>, CoreError> {
        last_ok(self.store.as_ref(), action).await
    }
}

/// [`App::last_ok`] on a bare store, for commands that do not open the key store (e.g. `sejf
/// backup list` showing the last backup and restore test).
pub async fn last_ok(store: &dyn Store, action: crate::actions::AuditAction) -> Result<Option<i64>, CoreError> {
    let (mut after, mut last) = (0, None);
    loop {
        let q = AuditQuery { action: action.as_str().to_string(), after_seq: after, limit: 1000, ..Default::default() };
        let page = store.audit_query(q).await?;
        let Some(tail) = page.last() else { return Ok(last) };
        after = tail.seq;
        if let Some(e) = page.iter().rev().find(|e| e.event.outcome == "ok" || e.event.outcome.is_empty()) {
            last = Some(e.event.at);
        }
        if page.len() < 1000 {
            return Ok(last);
        }
    }
}
