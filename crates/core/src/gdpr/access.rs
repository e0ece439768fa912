//! The access export (GDPR art. 15 and 20) and the breach query: what Sejf holds about one
//! person, and whom one actor read, both read through the use cases and the audit trail.

use crate::actions::AuditAction;
use std::collections::{BTreeMap, HashSet};

use sejf_domain::ValidationErrors;
use uuid::Uuid;

use super::*;
use crate::ports::AuditQuery;
use crate::records::{Activity, Deal, RecordFilter};
use crate::users::PolicyAction;
use crate::{Actor, App, CoreError, rfc3339};

/// The actions that count as an access to a person's data in a breach query: every `person.*`
/// action but creation, and the access export.
const BREACH_ACCESSES: [AuditAction; 7] = [
    AuditAction::PersonImport,
    AuditAction::PersonRead,
    AuditAction::PersonUpdate,
    AuditAction::PersonDelete,
    AuditAction::PersonReveal,
    AuditAction::PersonReindex,
    AuditAction::GdprExport,
];

impl App {
    /// Everything Sejf holds about one person, for an access or portability request (dpo, CLI
    /// operator). Recorded as `gdpr.export`.
    pub async fn subject_export(&self, actor: &Actor, id: Uuid) -> Result<SubjectExport, CoreError> {
        let (stored, permit) = self.gdpr_subject(actor, id).await?;
        if stored.wrapped_key.is_none() {
            return Err(CoreError::NotFound);
        }
        let view = self.decrypt(&stored, &permit)?;
        let f = &view.fields;
        let person = serde_json::json!({
            "id": view.id, "first_name": f.first_name, "last_name": f.last_name, "email": f.email, "phone": f.phone,
            "national_id": f.national_id, "birth_date": f.birth_date,
            "address": f.address.as_ref().map(|a| serde_json::json!({"street": a.street, "city": a.city, "postal_code": a.postal_code, "country": a.country})),
            "notes": f.notes, "tags": view.tags, "unit": view.unit, "company_id": view.company_id,
            "created_at": rfc3339(view.created_at), "updated_at": rfc3339(view.updated_at),
        });
        let activities = self
            .linked_to::<Activity, _>(actor, id, |a| {
                serde_json::json!({"id": a.id, "kind": a.attrs.kind, "body": a.payload.body, "due_at": a.attrs.due_at,
                    "done": a.attrs.done, "deal_id": a.deal_id, "created_at": rfc3339(a.created_at)})
            })
            .await?;
        let deals = self
            .linked_to::<Deal, _>(actor, id, |d| {
                serde_json::json!({"id": d.id, "title": d.payload.title, "amount": d.attrs.amount, "currency": d.attrs.currency,
                    "stage": d.attrs.stage, "expected_close": d.attrs.expected_close, "created_at": rfc3339(d.created_at)})
            })
            .await?;
        let consents = self.consent_state(id).await?;
        let consented: HashSet<&str> = consents.current.iter().filter(|c| c.granted).map(|c| c.purpose.as_str()).collect();
        let purposes: Vec<PurposeOut> = self
            .store
            .gdpr_purposes()
            .await?
            .iter()
            .filter(|p| p.applies_to_all || consented.contains(p.name.as_str()))
            .map(PurposeOut::from)
            .collect();
        let mut categories: Vec<String> = purposes.iter().flat_map(|p| p.categories.iter().cloned()).collect();
        categories.sort();
        categories.dedup();
        let mut recipients: Vec<String> = purposes.iter().flat_map(|p| p.recipients.iter().cloned()).collect();
        recipients.sort();
        recipients.dedup();
        // The processors their data was actually sent to, with purpose and date.
        recipients.extend(self.disclosed_to(id).await?);
        let retention = purposes.iter().map(|p| (p.name.clone(), p.retention.clone())).collect();
        let accesses = self.accesses_to(id).await?;
        let source = accesses
            .iter()
            .find(|a| a.action == AuditAction::PersonCreate.as_str() || a.action == AuditAction::PersonImport.as_str())
            .map(|a| format!("recorded by {} ({}) on {}", a.actor, a.action, a.at))
            .unwrap_or_else(|| "recorded by the controller's staff".into());
        let restrictions = self.store.person_flags(id).await?.iter().map(FlagOut::from).collect();
        let mut ev = self.event(actor, AuditAction::GdprExport, "person", &id.to_string());
        ev.subject_id = id.to_string();
        ev.detail = format!("activities={} deals={} accesses={}", activities.len(), deals.len(), accesses.len());
        self.audit(vec![ev]).await?;
        Ok(SubjectExport {
            format: "sejf-subject-export/1",
            generated_at: rfc3339(self.now()),
            person,
            activities,
            deals,
            consents,
            purposes,
            categories,
            recipients,
            retention,
            rights: vec![
                "access (art. 15)".into(),
                "rectification (art. 16)".into(),
                "erasure (art. 17)".into(),
                "restriction of processing (art. 18)".into(),
                "data portability (art. 20)".into(),
                "objection, and to direct marketing at any time (art. 21)".into(),
                "withdrawal of consent at any time, as easily as it was given (art. 7(3))".into(),
                "a complaint to the supervisory authority: Prezes Urzędu Ochrony Danych Osobowych (UODO), ul. Stawki 2, 00-193 Warszawa"
                    .into(),
            ],
            source,
            automated_decisions: "none: Sejf makes no automated decisions or profiling about people (art. 22)".into(),
            restrictions,
            accesses,
        })
    }

    /// Every record of kind `K` linked to person `id` that `actor` may read, page by page
    /// through the ordinary use case (policy, audit), shown by `show`.
    async fn linked_to<K: crate::records::Kind, T>(
        &self,
        actor: &Actor,
        id: Uuid,
        show: impl Fn(&crate::records::RecordView<K::Attrs, K::Payload>) -> T,
    ) -> Result<Vec<T>, CoreError> {
        let links = crate::ports::LinkFilter { person: Some(id), ..Default::default() };
        let (mut out, mut cursor) = (Vec::new(), None);
        loop {
            let f = RecordFilter { links: links.clone(), cursor: cursor.take(), limit: Some(200), ..Default::default() };
            let page = self.list_records::<K>(actor, &f).await?;
            out.extend(page.items.iter().map(&show));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Every event of the trail about person `id`, oldest first.
    async fn accesses_to(&self, id: Uuid) -> Result<Vec<AccessOut>, CoreError> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let q = AuditQuery { subject: id.to_string(), after_seq: after, limit: 1000, ..Default::default() };
            let page = self.store.audit_query(q).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let n = page.len();
            out.extend(page.into_iter().map(|s| AccessOut {
                at: rfc3339(s.event.at),
                actor: s.event.actor,
                role: s.event.role,
                action: s.event.action,
                outcome: s.event.outcome,
                purpose: s.event.purpose,
            }));
            if n < 1000 {
                break;
            }
        }
        Ok(out)
    }

    /// People `actor_name` read (or searched, listed, revealed, exported) between `from` and
    /// `to` (unix µs), from the audit trail: the affected set of a breach (Art. 33(3)(a), 34).
    /// Returns (person id, first read, reads) in first-read order.
    pub async fn breach_affected(
        &self,
        actor: &Actor,
        actor_name: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Uuid, String, u64)>, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        if actor_name.trim().is_empty() || actor_name.chars().any(char::is_control) {
            return Err(ValidationErrors::single("actor", "name the user whose reads the breach concerns").into());
        }
        let mut seen: BTreeMap<Uuid, (i64, String, u64)> = BTreeMap::new();
        let mut after = 0;
        loop {
            let q = AuditQuery { actor: actor_name.to_string(), from, to, after_seq: after, limit: 5000, ..Default::default() };
            let page = self.store.audit_query(q).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let n = page.len();
            for s in page {
                let reads = BREACH_ACCESSES.iter().any(|a| a.as_str() == s.event.action);
                if !reads || s.event.outcome != "ok" {
                    continue;
                }
                if let Ok(pid) = Uuid::parse_str(&s.event.subject_id) {
                    let e = seen.entry(pid).or_insert((s.seq, rfc3339(s.event.at), 0));
                    e.2 += 1;
                }
            }
            if n < 5000 {
                break;
            }
        }
        let mut out: Vec<(i64, Uuid, String, u64)> = seen.into_iter().map(|(id, (seq, at, n))| (seq, id, at, n)).collect();
        out.sort();
        let mut ev = self.event(actor, AuditAction::GdprBreachQuery, "audit", actor_name);
        ev.detail = format!("from={from} to={to} people={}", out.len());
        self.audit(vec![ev]).await?;
        Ok(out.into_iter().map(|(_, id, at, n)| (id, at, n)).collect())
    }
}
