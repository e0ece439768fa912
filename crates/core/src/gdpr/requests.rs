//! The register of data-subject requests (deadlines, extensions, overdue alerts) and the
//! retention rules that erase people nobody has needed for a while.

use crate::actions::AuditAction;
use std::collections::HashSet;

use sejf_domain::ValidationErrors;
use sejf_domain::text::Purpose;
use serde::Serialize;
use uuid::Uuid;

use super::*;
use crate::users::PolicyAction;
use crate::{Actor, App, CoreError, rfc3339};

impl App {
    /// Applies the retention rules (dpo, CLI operator): every person a rule selects, erased
    /// with the rule as the reason, or only listed when `dry_run`. A person selected by two
    /// rules is listed once, under the first. Recorded as `gdpr.retention`.
    pub async fn retention(&self, actor: &Actor, rules: &[RetentionRule], dry_run: bool) -> Result<Vec<RetentionItem>, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let now = self.now();
        let mut seen = HashSet::new();
        let mut plan = Vec::new();
        for rule in rules {
            let before = now - rule.no_activity_days.max(0) * 86_400 * 1_000_000;
            let tag = rule.tag.as_ref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
            for id in self.store.retention_candidates(tag, before).await? {
                if seen.insert(id) {
                    plan.push((id, rule.name.clone()));
                }
            }
        }
        let mut out = Vec::with_capacity(plan.len());
        for (id, rule) in plan {
            let outcome = if dry_run {
                "would erase".to_string()
            } else {
                let reason = format!("retention rule \"{rule}\"");
                match self.erase_person(actor, id, &reason).await {
                    Ok(_) => "erased".to_string(),
                    Err(CoreError::NotFound) => "already gone".to_string(),
                    Err(e) => format!("not erased: {e}"),
                }
            };
            out.push(RetentionItem { person_id: id, rule, outcome });
        }
        let mut ev = self.event(actor, AuditAction::GdprRetention, "retention", if dry_run { "dry-run" } else { "run" });
        ev.detail = format!("rules={} selected={}", rules.len(), out.len());
        self.audit(vec![ev]).await?;
        Ok(out)
    }
}

/// The kinds of data-subject request (GDPR art. 15–18, 20, 21).
pub const DSR_KINDS: [&str; 6] = ["access", "rectification", "erasure", "restriction", "portability", "objection"];
/// A request is answered within a month (art. 12(3)) …
const DSR_DUE_DAYS: i64 = 30;
/// … extendable once by two further months, with a reason.
const DSR_EXTENSION_DAYS: i64 = 60;
const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// A new data-subject request, as the dpo records it.
#[derive(Clone, Default)]
pub struct DsrInput {
    pub kind: String,
    pub person_id: Option<Uuid>,
    /// When it arrived (unix µs; 0: now).
    pub received_at: i64,
    pub identity_check: String,
    pub note: String,
}

sejf_domain::redacted_debug!(DsrInput { kind, person_id, received_at });

/// A data-subject request as the API shows it.
#[derive(Clone, Serialize)]
pub struct DsrOut {
    pub id: Uuid,
    pub kind: String,
    pub person_id: Option<String>,
    pub received_at: String,
    pub due_at: String,
    pub overdue: bool,
    pub identity_check: String,
    pub extension_reason: Option<String>,
    pub status: String,
    pub handled_by: Option<String>,
    pub closed_at: Option<String>,
    pub note: String,
    pub created_by: String,
}

sejf_domain::redacted_debug!(DsrOut { id, kind, person_id, status, due_at });

impl DsrOut {
    fn from_row(r: &crate::ports::DsrRow, now: i64) -> Self {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Self {
            id: r.id,
            kind: r.kind.clone(),
            person_id: opt(&r.person_id),
            received_at: rfc3339(r.received_at),
            due_at: rfc3339(r.due_at),
            overdue: r.status == "open" && r.due_at < now,
            identity_check: r.identity_check.clone(),
            extension_reason: opt(&r.extension_reason),
            status: r.status.clone(),
            handled_by: opt(&r.handled_by),
            closed_at: (r.closed_at != 0).then(|| rfc3339(r.closed_at)),
            note: r.note.clone(),
            created_by: r.created_by.clone(),
        }
    }
}

impl App {
    /// Records a data-subject request (dpo, CLI operator): due a month after it arrived.
    pub async fn dsr_create(&self, actor: &Actor, input: &DsrInput) -> Result<DsrOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let mut errs = ValidationErrors::default();
        let kind = input.kind.trim().to_lowercase();
        if !DSR_KINDS.contains(&kind.as_str()) {
            errs.push("kind", "must be one of access, rectification, erasure, restriction, portability, objection");
        }
        let now = self.now();
        let received = if input.received_at == 0 { now } else { input.received_at };
        if received > now + DAY_MICROS {
            errs.push("received_at", "lies in the future");
        }
        let identity_check = short_text(&mut errs, "identity_check", &input.identity_check, "not yet checked");
        let note = short_text(&mut errs, "note", &input.note, "");
        errs.into_result(())?;
        if let Some(pid) = input.person_id {
            // The dpo may name only a person who exists.
            let _subject = self.gdpr_subject(actor, pid).await?;
        }
        let row = crate::ports::DsrRow {
            id: Uuid::now_v7(),
            kind,
            person_id: input.person_id.map(|p| p.to_string()).unwrap_or_default(),
            received_at: received,
            due_at: received + DSR_DUE_DAYS * DAY_MICROS,
            identity_check,
            extension_reason: String::new(),
            status: "open".into(),
            handled_by: String::new(),
            closed_at: 0,
            note,
            created_by: actor.username.clone(),
            alerted_at: 0,
        };
        let mut ev = self.event(actor, AuditAction::GdprRequest, "dsr", &row.id.to_string());
        ev.subject_id = row.person_id.clone();
        ev.detail = format!("kind={}", row.kind);
        self.store.dsr_put(row.clone(), vec![ev]).await?;
        Ok(DsrOut::from_row(&row, now))
    }

    /// The register, optionally by status (`open`, `done`, `refused`).
    pub async fn dsr_list(&self, actor: &Actor, status: Option<&str>) -> Result<Vec<DsrOut>, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let status = status.unwrap_or("");
        if !["", "open", "done", "refused"].contains(&status) {
            return Err(ValidationErrors::single("status", "must be open, done or refused").into());
        }
        let now = self.now();
        Ok(self.store.dsr_list(status).await?.iter().map(|r| DsrOut::from_row(r, now)).collect())
    }

    async fn open_dsr(&self, actor: &Actor, id: Uuid) -> Result<crate::ports::DsrRow, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let row = self.store.dsr_get(id).await?.ok_or(CoreError::NotFound)?;
        if row.status != "open" {
            return Err(CoreError::Conflict(format!("this request is already {}", row.status)));
        }
        Ok(row)
    }

    /// Extends the deadline once by two months (art. 12(3)), with the reason the person is told.
    pub async fn dsr_extend(&self, actor: &Actor, id: Uuid, reason: &str) -> Result<DsrOut, CoreError> {
        let reason = Purpose::parse(reason).map_err(|e| ValidationErrors::single("reason", e.0))?;
        let mut row = self.open_dsr(actor, id).await?;
        if !row.extension_reason.is_empty() {
            return Err(CoreError::Conflict("the deadline was already extended once (art. 12(3) allows two further months)".into()));
        }
        row.extension_reason = reason.as_str().to_string();
        row.due_at += DSR_EXTENSION_DAYS * DAY_MICROS;
        let mut ev = self.event(actor, AuditAction::GdprRequestExtend, "dsr", &id.to_string());
        ev.subject_id = row.person_id.clone();
        self.store.dsr_put(row.clone(), vec![ev]).await?;
        Ok(DsrOut::from_row(&row, self.now()))
    }

    /// Closes a request as `done` or `refused` (with the reason in `note`), naming who handled it.
    pub async fn dsr_close(&self, actor: &Actor, id: Uuid, status: &str, note: &str) -> Result<DsrOut, CoreError> {
        let mut errs = ValidationErrors::default();
        if !["done", "refused"].contains(&status) {
            errs.push("status", "must be done or refused");
        }
        let note = short_text(&mut errs, "note", note, "");
        if status == "refused" && note.is_empty() {
            errs.push("note", "say why the request is refused (the person must be told, art. 12(4))");
        }
        errs.into_result(())?;
        let mut row = self.open_dsr(actor, id).await?;
        let now = self.now();
        row.status = status.to_string();
        row.handled_by = actor.username.clone();
        row.closed_at = now;
        if !note.is_empty() {
            row.note = note;
        }
        let mut ev = self.event(actor, AuditAction::GdprRequestClose, "dsr", &id.to_string());
        ev.subject_id = row.person_id.clone();
        ev.detail = format!("status={status}");
        self.store.dsr_put(row.clone(), vec![ev]).await?;
        Ok(DsrOut::from_row(&row, now))
    }

    /// Raises one alert per open request past its deadline (housekeeping). Answers how many.
    pub async fn dsr_overdue_alerts(&self) -> Result<usize, CoreError> {
        let now = self.now();
        let mut raised = 0;
        for mut row in self.store.dsr_list("open").await? {
            if row.due_at >= now || row.alerted_at != 0 {
                continue;
            }
            let detail = format!("data-subject request {} ({}) was due {}", row.id, row.kind, rfc3339(row.due_at));
            self.alert(&Actor::operator(), "dsr-overdue", "high", &row.person_id, &detail).await?;
            row.alerted_at = now;
            self.store.dsr_put(row, Vec::new()).await?;
            raised += 1;
        }
        Ok(raised)
    }
}
