//! The breach register (GDPR Art. 33(5)): every personal-data breach with its detection time,
//! the 72-hour deadline to notify the supervisory authority (UODO), what happened, the
//! categories and approximate numbers of people and records, likely consequences and measures.
//! When the breach names a user and a time window, the people affected are computed from the
//! audit trail (everything that user read then). Sejf drafts the Art. 33(3) notification and
//! the Art. 34 list of people to inform; an unnotified breach raises an alert as its deadline
//! nears and again once it has passed.

use crate::actions::AuditAction;
use sejf_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::processors::CATEGORIES;
use super::*;
use crate::users::PolicyAction;
use crate::{Actor, App, CoreError, rfc3339};

const KIND: &str = "breach";
const HOUR_MICROS: i64 = 3_600_000_000;
/// Art. 33(1): notify "without undue delay and, where feasible, not later than 72 hours".
const DEADLINE_HOURS: i64 = 72;
/// The first alert comes this long before the deadline.
const WARN_HOURS: i64 = 24;

/// A breach of the register, as the dpo records it and as it is kept (times RFC 3339). The
/// fields Sejf keeps (notifications, who recorded it, alerts) are set by the use cases, never
/// taken from input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    #[serde(default)]
    pub id: String,
    pub title: String,
    /// When the controller became aware of it: the 72 hours run from here.
    pub detected_at: String,
    /// What happened (Art. 33(3)(a)).
    pub nature: String,
    /// The data categories concerned.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Approximate numbers (Art. 33(3)(a)); people default to the computed affected set.
    #[serde(default)]
    pub approx_people: Option<u64>,
    #[serde(default)]
    pub approx_records: Option<u64>,
    /// Likely consequences (Art. 33(3)(c)).
    #[serde(default)]
    pub consequences: String,
    /// Measures taken or proposed (Art. 33(3)(d)).
    #[serde(default)]
    pub measures: String,
    /// Who the authority may contact (Art. 33(3)(b)).
    #[serde(default)]
    pub contact: String,
    /// The user whose reads the breach concerns, and the window: the affected set.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// Why a notification came after 72 hours (Art. 33(1)).
    #[serde(default)]
    pub delay_reason: String,
    #[serde(default)]
    pub authority_notified_at: Option<String>,
    #[serde(default)]
    pub subjects_informed_at: Option<String>,
    #[serde(default)]
    pub recorded_by: String,
    #[serde(default)]
    pub recorded_at: String,
    /// Alerts raised: 1 before the deadline, 2 past it (kept by Sejf).
    #[serde(default)]
    pub alerts: u8,
}

/// One person affected, from the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct Affected {
    pub person_id: Uuid,
    pub first_read: String,
    pub reads: u64,
}

/// A breach as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BreachOut {
    #[serde(flatten)]
    pub breach: Breach,
    /// `detected_at` + 72 h.
    pub deadline: String,
    /// Hours until the deadline (negative: past it); none once the authority was notified.
    pub hours_left: Option<i64>,
    pub overdue: bool,
    /// The people affected (Art. 34), when the breach names a user and window (single reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected: Option<Vec<Affected>>,
    /// The Art. 33(3) notification draft (Markdown), on single reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_draft: Option<String>,
}

fn micros(field: &'static str, s: &str, errs: &mut ValidationErrors) -> Option<i64> {
    match sejf_domain::records::parse_datetime(s.trim()) {
        Ok(t) => Some((t.unix_timestamp_nanos() / 1000) as i64),
        Err(e) => {
            errs.push(field, e.0);
            None
        }
    }
}

impl Breach {
    fn checked(mut self, now: i64) -> Result<(Breach, i64), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        self.title = short_text(&mut errs, "title", &self.title, "");
        if self.title.is_empty() && errs.0.is_empty() {
            errs.push("title", "is required");
        }
        let detected = micros("detected_at", &self.detected_at, &mut errs);
        if detected.is_some_and(|d| d > now + 60_000_000) {
            errs.push("detected_at", "is in the future");
        }
        self.nature = short_text(&mut errs, "nature", &self.nature, "");
        if self.nature.is_empty() && !errs.0.iter().any(|e| e.field == "nature") {
            errs.push("nature", "is required: what happened (Art. 33(3)(a))");
        }
        let known: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
        let mut cats: Vec<String> = self.categories.iter().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).collect();
        cats.sort();
        cats.dedup();
        if cats.iter().any(|c| !known.contains(&c.as_str())) {
            errs.push("categories", format!("holds an unknown category; use {}", known.join(", ")));
        }
        self.categories = cats;
        self.consequences = short_text(&mut errs, "consequences", &self.consequences, "");
        self.measures = short_text(&mut errs, "measures", &self.measures, "");
        self.contact = short_text(&mut errs, "contact", &self.contact, "");
        self.delay_reason = short_text(&mut errs, "delay_reason", &self.delay_reason, "");
        self.actor = self.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
        if let Some(a) = &self.actor
            && (a.chars().count() > 64 || a.chars().any(char::is_control))
        {
            errs.push("actor", "must be a username");
        }
        let from = self.from.as_deref().filter(|s| !s.trim().is_empty()).and_then(|s| micros("from", s, &mut errs));
        let to = self.to.as_deref().filter(|s| !s.trim().is_empty()).and_then(|s| micros("to", s, &mut errs));
        match (&self.actor, from, to) {
            (None, None, None) => {}
            (Some(_), Some(f), Some(t)) if f < t => {}
            (Some(_), Some(_), Some(_)) => errs.push("to", "must be after from"),
            _ => errs.push("actor", "the affected set needs all three: actor, from and to"),
        }
        self.from = from.map(rfc3339);
        self.to = to.map(rfc3339);
        let detected = detected.unwrap_or(0);
        self.detected_at = rfc3339(detected);
        errs.into_result((self, detected))
    }

    fn detected_micros(&self) -> i64 {
        sejf_domain::records::parse_datetime(&self.detected_at).map_or(0, |t| (t.unix_timestamp_nanos() / 1000) as i64)
    }

    fn out(self, now: i64) -> BreachOut {
        let deadline = self.detected_micros() + DEADLINE_HOURS * HOUR_MICROS;
        let open = self.authority_notified_at.is_none();
        BreachOut {
            deadline: rfc3339(deadline),
            hours_left: open.then(|| (deadline - now).div_euclid(HOUR_MICROS)),
            overdue: open && now > deadline,
            breach: self,
            affected: None,
            notification_draft: None,
        }
    }

    /// The Art. 33(3) notification to the supervisory authority, for the dpo to send.
    fn draft(&self, deadline: &str, affected: usize) -> String {
        let or_unknown = |s: &str| if s.is_empty() { "not yet known (to be supplemented, Art. 33(4))".to_string() } else { s.to_string() };
        let people = self.approx_people.map_or_else(|| "not yet known".into(), |n| format!("about {n}"));
        let records = self.approx_records.map_or_else(|| "not yet known".into(), |n| format!("about {n}"));
        let mut d = String::new();
        d.push_str(&format!("# Personal data breach notification (GDPR Art. 33): {}\n\n", self.title));
        d.push_str("To: Prezes Urzędu Ochrony Danych Osobowych (UODO), ul. Stawki 2, 00-193 Warszawa\n\n");
        d.push_str(&format!("- Breach id: {}\n- Became aware: {}\n- Notification due by: {deadline}\n", self.id, self.detected_at));
        if let (Some(a), Some(f), Some(t)) = (&self.actor, &self.from, &self.to) {
            d.push_str(&format!("- Scope from the audit trail: records read by user {a} between {f} and {t}: {affected} people\n"));
        }
        d.push_str(&format!("\n## (a) Nature of the breach\n\n{}\n\n", self.nature));
        d.push_str(&format!(
            "- Categories of personal data: {}\n- Approximate number of data subjects: {people}\n- Approximate number of records: {records}\n\n",
            if self.categories.is_empty() { "not yet known".into() } else { self.categories.join(", ") }
        ));
        d.push_str(&format!(
            "## (b) Contact point\n\n{}\n\n",
            if self.contact.is_empty() { format!("the data protection officer ({})", self.recorded_by) } else { self.contact.clone() }
        ));
        d.push_str(&format!("## (c) Likely consequences\n\n{}\n\n", or_unknown(&self.consequences)));
        d.push_str(&format!("## (d) Measures taken or proposed\n\n{}\n", or_unknown(&self.measures)));
        if !self.delay_reason.is_empty() {
            d.push_str(&format!("\n## Reasons for the delay (Art. 33(1))\n\n{}\n", self.delay_reason));
        }
        d
    }
}

impl App {
    async fn breach_entries(&self) -> Result<Vec<Breach>, CoreError> {
        let mut out = Vec::new();
        for (id, body) in self.store.gdpr_register(KIND).await? {
            out.push(serde_json::from_str(&body).map_err(|e| CoreError::Internal(format!("breach register entry {id}: {e}")))?);
        }
        Ok(out)
    }

    async fn breach_put(&self, b: &Breach, ev: crate::ports::AuditEvent) -> Result<(), CoreError> {
        let body = serde_json::to_string(b).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.gdpr_register_put(KIND, b.id.clone(), body, self.now(), vec![ev]).await?;
        Ok(())
    }

    /// Records a breach (dpo, CLI operator): `gdpr.breach.record`. With a user and a window,
    /// the affected people are counted from the trail (and stand in for `approx_people`).
    pub async fn record_breach(&self, actor: &Actor, input: Breach) -> Result<BreachOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let now = self.now();
        let (mut b, _) = input.checked(now)?;
        b.id = Uuid::now_v7().to_string();
        b.recorded_by = actor.username.clone();
        b.recorded_at = rfc3339(now);
        b.authority_notified_at = None;
        b.subjects_informed_at = None;
        b.alerts = 0;
        if b.approx_people.is_none()
            && let Some(affected) = self.affected_by(actor, &b).await?
        {
            b.approx_people = Some(affected.len() as u64);
        }
        let mut ev = self.event(actor, AuditAction::GdprBreachRecord, "breach", &b.id);
        ev.detail = format!("detected_at={} people={}", b.detected_at, b.approx_people.map_or("?".into(), |n| n.to_string()));
        self.breach_put(&b, ev).await?;
        Ok(b.out(now))
    }

    async fn affected_by(&self, actor: &Actor, b: &Breach) -> Result<Option<Vec<Affected>>, CoreError> {
        let (Some(a), Some(f), Some(t)) = (&b.actor, &b.from, &b.to) else { return Ok(None) };
        let mut errs = ValidationErrors::default();
        let (Some(from), Some(to)) = (micros("from", f, &mut errs), micros("to", t, &mut errs)) else {
            return Err(errs.into());
        };
        let rows = self.breach_affected(actor, a, from, to).await?;
        Ok(Some(rows.into_iter().map(|(person_id, first_read, reads)| Affected { person_id, first_read, reads }).collect()))
    }

    /// The breach register, newest first (dpo, CLI operator).
    pub async fn breaches(&self, actor: &Actor) -> Result<Vec<BreachOut>, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let now = self.now();
        let mut out: Vec<BreachOut> = self.breach_entries().await?.into_iter().map(|b| b.out(now)).collect();
        out.reverse();
        Ok(out)
    }

    /// One breach with its affected people (Art. 34) and the Art. 33(3) draft.
    pub async fn breach(&self, actor: &Actor, id: &str) -> Result<BreachOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let b = self.breach_entries().await?.into_iter().find(|b| b.id == id).ok_or(CoreError::NotFound)?;
        let affected = self.affected_by(actor, &b).await?;
        let mut out = b.out(self.now());
        out.notification_draft = Some(out.breach.draft(&out.deadline, affected.as_ref().map_or(0, Vec::len)));
        out.affected = affected;
        Ok(out)
    }

    /// Marks the authority notified, or (`subjects`) the people informed: `gdpr.breach.notified`.
    pub async fn breach_notified(&self, actor: &Actor, id: &str, subjects: bool) -> Result<BreachOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let mut b = self.breach_entries().await?.into_iter().find(|b| b.id == id).ok_or(CoreError::NotFound)?;
        let now = self.now();
        let slot = if subjects { &mut b.subjects_informed_at } else { &mut b.authority_notified_at };
        if let Some(at) = slot {
            return Err(CoreError::Conflict(format!("already recorded as done on {at}")));
        }
        *slot = Some(rfc3339(now));
        let late = !subjects && now > b.detected_micros() + DEADLINE_HOURS * HOUR_MICROS;
        if late && b.delay_reason.is_empty() {
            return Err(ValidationErrors::single(
                "delay_reason",
                "the authority is notified after 72 hours: record the reasons for the delay first (Art. 33(1))",
            )
            .into());
        }
        let mut ev = self.event(actor, AuditAction::GdprBreachNotified, "breach", id);
        ev.detail = if subjects { "subjects informed".into() } else { format!("authority notified late={late}") };
        self.breach_put(&b, ev).await?;
        Ok(b.out(now))
    }

    /// Records why the notification is late (Art. 33(1)).
    pub async fn breach_delay_reason(&self, actor: &Actor, id: &str, reason: &str) -> Result<BreachOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let mut b = self.breach_entries().await?.into_iter().find(|b| b.id == id).ok_or(CoreError::NotFound)?;
        let mut errs = ValidationErrors::default();
        b.delay_reason = short_text(&mut errs, "delay_reason", reason, "");
        if b.delay_reason.is_empty() && errs.0.is_empty() {
            errs.push("delay_reason", "is required");
        }
        errs.into_result(())?;
        let ev = self.event(actor, AuditAction::GdprBreachDelayReason, "breach", id);
        self.breach_put(&b, ev).await?;
        Ok(b.out(self.now()))
    }

    /// Alerts for breaches the authority has not been told of: `breach-deadline` (high) within
    /// 24 hours of the deadline, `breach-overdue` (critical) past it, each once (housekeeping).
    pub async fn breach_deadline_alerts(&self) -> Result<usize, CoreError> {
        let now = self.now();
        let mut raised = 0;
        for mut b in self.breach_entries().await? {
            if b.authority_notified_at.is_some() {
                continue;
            }
            let deadline = b.detected_micros() + DEADLINE_HOURS * HOUR_MICROS;
            let (kind, severity, level) = if now > deadline {
                ("breach-overdue", "critical", 2)
            } else if now > deadline - WARN_HOURS * HOUR_MICROS {
                ("breach-deadline", "high", 1)
            } else {
                continue;
            };
            if b.alerts >= level {
                continue;
            }
            let detail = format!("breach {} ({}): the authority must be notified by {}", b.id, b.title, rfc3339(deadline));
            self.alert(&Actor::operator(), kind, severity, "", &detail).await?;
            b.alerts = level;
            let body = serde_json::to_string(&b).map_err(|e| CoreError::Internal(e.to_string()))?;
            self.store.gdpr_register_put(KIND, b.id.clone(), body, now, Vec::new()).await?;
            raised += 1;
        }
        Ok(raised)
    }
}
