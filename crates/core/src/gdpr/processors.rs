//! The processor (vendor) register (GDPR Art. 28, 30(1)(d)–(e), 44–46) and the one way personal
//! data leaves Sejf for a processor: a disclosure export (docs/adr/0025-processors-and-breaches.md).
//!
//! A disclosure is allowed only to a processor that is approved, has a signed data-processing
//! agreement and a security review that is not overdue, and only with the data categories the
//! register allows it; a refusal names the reason and is audited. A purpose that markets (or
//! rests on consent) sends only people whose consent for that purpose and channel is in force
//! and who have not objected; restricted people are never sent. Every person sent is recorded as
//! disclosed to that processor (their access export lists it; their erasure tells it, Art. 19).

use crate::actions::AuditAction;
use std::collections::HashSet;

use sejf_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::*;
use crate::exports::ExportFilter;
use crate::people::PersonView;
use crate::ports::DisclosureRow;
use crate::users::PolicyAction;
use crate::{Actor, App, CoreError, rfc3339};

/// The register kind processors are kept under.
const KIND: &str = "processor";

/// The data categories Sejf holds about a person, and the person fields each covers: what a
/// purpose or a processor names, and what a disclosure export may send.
pub const CATEGORIES: [(&str, &[&str]); 4] = [
    ("identification", &["first_name", "last_name", "birth_date"]),
    ("contact", &["email", "phone", "street", "city", "postal_code", "country"]),
    ("national_id", &["national_id"]),
    ("notes", &["notes"]),
];

/// EEA member states (ISO 3166-1 alpha-2): a processor elsewhere needs a transfer safeguard
/// (Art. 45–46: an adequacy decision, standard contractual clauses, binding corporate rules).
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT",
    "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// A processor of the register, as the dpo states it and as it is kept (dates `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processor {
    /// A short slug (`mailer`, `acme-print`).
    pub name: String,
    /// What it does for the controller.
    pub service: String,
    /// The data categories it may receive ([`CATEGORIES`]).
    pub categories: Vec<String>,
    /// Where it processes the data (ISO 3166-1 alpha-2).
    pub country: String,
    /// The Art. 46 safeguard for a country outside the EEA ('' inside it).
    #[serde(default)]
    pub transfer_safeguard: String,
    /// When the data-processing agreement (Art. 28(3)) was signed; none: not signed.
    #[serde(default)]
    pub dpa_signed_on: Option<String>,
    #[serde(default)]
    pub last_review_on: Option<String>,
    /// When its next security review is due; past it, nothing is sent and an alert is raised.
    pub next_review_due: String,
    /// Whether the dpo approves sending it data at all.
    #[serde(default = "yes")]
    pub approved: bool,
    /// When the overdue-review alert was raised (kept by Sejf; ignored on input).
    #[serde(default)]
    pub alerted_on: Option<String>,
}

fn yes() -> bool {
    true
}

/// A processor as the API shows it: the register entry and whether data may go to it now.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessorOut {
    #[serde(flatten)]
    pub processor: Processor,
    pub review_overdue: bool,
    /// Why nothing may be sent to it now; none: it may receive its categories.
    pub blocked: Option<String>,
}

/// A disclosure export as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct DisclosureRequest {
    pub processor: String,
    pub purpose: String,
    /// email, sms or phone: required for a purpose that needs consent.
    pub channel: Option<String>,
    pub filter: ExportFilter,
}

/// What a disclosure export sends: the columns its categories cover, and the people.
pub struct Disclosure {
    pub processor: String,
    pub purpose: String,
    pub columns: Vec<&'static str>,
    pub people: Vec<PersonView>,
    /// People left out for want of consent, an objection or a restriction.
    pub left_out: usize,
}

impl Disclosure {
    /// Each person's cells for [`Disclosure::columns`] (formula-neutralised), in order.
    pub fn rows(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        let idx: Vec<usize> = self.columns.iter().filter_map(|c| crate::csvcells::COLUMNS.iter().position(|x| x == c)).collect();
        self.people.iter().map(move |p| {
            let cells = crate::csvcells::person_cells(&p.fields, &p.tags);
            idx.iter().map(|&i| cells[i].clone()).collect()
        })
    }
}

/// The person fields `categories` cover, in the export's column order.
pub fn columns_for(categories: &[String]) -> Vec<&'static str> {
    let wanted: Vec<&str> =
        CATEGORIES.iter().filter(|(c, _)| categories.iter().any(|x| x == c)).flat_map(|(_, f)| f.iter().copied()).collect();
    crate::csvcells::COLUMNS.iter().copied().filter(|c| wanted.contains(c)).collect()
}

fn today(now: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(now / 1_000_000).map_or(Date::MIN, |t| t.date())
}

impl Processor {
    /// Checks and normalises an entry as given.
    fn checked(mut self) -> Result<Processor, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        self.name = self.name.trim().to_lowercase();
        if !slug_ok(&self.name) {
            errs.push("name", "must be 1 to 64 lowercase letters, digits, '-' or '_'");
        }
        self.service = short_text(&mut errs, "service", &self.service, "");
        if self.service.is_empty() && !errs.0.iter().any(|e| e.field == "service") {
            errs.push("service", "is required: what the processor does");
        }
        let mut cats: Vec<String> = self.categories.iter().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).collect();
        cats.sort();
        cats.dedup();
        let known: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
        if cats.is_empty() {
            errs.push("categories", format!("name at least one of {}", known.join(", ")));
        } else if cats.iter().any(|c| !known.contains(&c.as_str())) {
            errs.push("categories", format!("holds an unknown category; use {}", known.join(", ")));
        }
        self.categories = cats;
        self.country = self.country.trim().to_uppercase();
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            errs.push("country", "must be an ISO 3166-1 alpha-2 code, e.g. PL or US");
        }
        self.transfer_safeguard = short_text(&mut errs, "transfer_safeguard", &self.transfer_safeguard, "");
        if !EEA.contains(&self.country.as_str()) && self.transfer_safeguard.is_empty() && self.country.len() == 2 {
            errs.push(
                "transfer_safeguard",
                "a processor outside the EEA needs a transfer safeguard (adequacy decision, standard contractual clauses, binding corporate rules)",
            );
        }
        let mut date = |field: &'static str, v: &Option<String>| -> Option<Date> {
            let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
            sejf_domain::people::parse_date(v).map_err(|e| errs.push(field, e.0)).ok()
        };
        let signed = date("dpa_signed_on", &self.dpa_signed_on);
        let reviewed = date("last_review_on", &self.last_review_on);
        let due = date("next_review_due", &Some(self.next_review_due.clone()));
        if self.next_review_due.trim().is_empty() {
            errs.push("next_review_due", "is required: when the next security review is due (YYYY-MM-DD)");
        }
        if let (Some(r), Some(d)) = (reviewed, due)
            && d < r
        {
            errs.push("next_review_due", "must not be before last_review_on");
        }
        let fmt = sejf_domain::people::format_date;
        self.dpa_signed_on = signed.map(fmt);
        self.last_review_on = reviewed.map(fmt);
        self.next_review_due = due.map(fmt).unwrap_or_default();
        self.alerted_on = None;
        errs.into_result(self)
    }

    fn review_overdue(&self, now: i64) -> bool {
        sejf_domain::people::parse_date(&self.next_review_due).is_ok_and(|d| d < today(now))
    }

    /// Why nothing may be sent to this processor now, if so.
    fn blocked(&self, now: i64) -> Option<String> {
        if !self.approved {
            return Some(format!("processor {:?} is not approved in the processor register", self.name));
        }
        if self.dpa_signed_on.is_none() {
            return Some(format!("processor {:?} has no signed data-processing agreement (Art. 28(3)) in the register", self.name));
        }
        if self.review_overdue(now) {
            return Some(format!("processor {:?} is overdue for its security review (due {})", self.name, self.next_review_due));
        }
        None
    }

    fn out(self, now: i64) -> ProcessorOut {
        ProcessorOut { review_overdue: self.review_overdue(now), blocked: self.blocked(now), processor: self }
    }
}

impl App {
    async fn processor_entries(&self) -> Result<Vec<Processor>, CoreError> {
        let mut out = Vec::new();
        for (id, body) in self.store.gdpr_register(KIND).await? {
            let p: Processor =
                serde_json::from_str(&body).map_err(|e| CoreError::Internal(format!("processor register entry {id}: {e}")))?;
            out.push(p);
        }
        Ok(out)
    }

    /// The processor register (dpo, CLI operator).
    pub async fn processors(&self, actor: &Actor) -> Result<Vec<ProcessorOut>, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let now = self.now();
        Ok(self.processor_entries().await?.into_iter().map(|p| p.out(now)).collect())
    }

    /// Adds or replaces a processor of the register (dpo, CLI operator): `gdpr.processor.put`.
    pub async fn put_processor(&self, actor: &Actor, p: Processor) -> Result<ProcessorOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let p = p.checked()?;
        let body = serde_json::to_string(&p).map_err(|e| CoreError::Internal(e.to_string()))?;
        let now = self.now();
        let mut ev = self.event(actor, AuditAction::GdprProcessorPut, "processor", &p.name);
        ev.detail = format!(
            "categories={} country={} approved={} dpa={} next_review={}",
            p.categories.join(","),
            p.country,
            p.approved,
            p.dpa_signed_on.as_deref().unwrap_or("none"),
            p.next_review_due
        );
        self.store.gdpr_register_put(KIND, p.name.clone(), body, now, vec![ev]).await?;
        Ok(p.out(now))
    }

    /// Raises one `processor-review-overdue` alert per processor past its review date
    /// (housekeeping, daily). Answers how many.
    pub async fn processor_review_alerts(&self) -> Result<usize, CoreError> {
        let now = self.now();
        let mut raised = 0;
        for mut p in self.processor_entries().await? {
            if !p.review_overdue(now) || p.alerted_on.is_some() {
                continue;
            }
            let detail = format!("processor {} ({}) was due for its security review on {}", p.name, p.service, p.next_review_due);
            self.alert(&Actor::operator(), "processor-review-overdue", "medium", "", &detail).await?;
            p.alerted_on = Some(sejf_domain::people::format_date(today(now)));
            let body = serde_json::to_string(&p).map_err(|e| CoreError::Internal(e.to_string()))?;
            self.store.gdpr_register_put(KIND, p.name.clone(), body, now, Vec::new()).await?;
            raised += 1;
        }
        Ok(raised)
    }

    /// Refuses a disclosure: the refusal is audited (`gdpr.disclose`, outcome `denied`) and
    /// answered as a 403 naming why.
    async fn refuse_disclosure(&self, actor: &Actor, req: &DisclosureRequest, why: String) -> CoreError {
        let mut ev = self.event(actor, AuditAction::GdprDisclose, "processor", &req.processor);
        ev.outcome = "denied".into();
        ev.purpose = req.purpose.clone();
        ev.detail = why.chars().take(300).collect();
        match self.audit(vec![ev]).await {
            Ok(()) => CoreError::Forbidden(why),
            Err(e) => e,
        }
    }

    /// A disclosure export to a registered processor (dpo, CLI operator): the people `filter`
    /// selects that may be sent for `purpose`, with only the fields of the purpose's categories.
    /// Refused (audited, nothing sent) when the processor is unknown, blocked, or may not get
    /// one of those categories. Each person sent is recorded as disclosed, with their read
    /// events, in one transaction.
    pub async fn disclose(&self, actor: &Actor, req: &DisclosureRequest) -> Result<Disclosure, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let now = self.now();
        let name = req.processor.trim().to_lowercase();
        let Some(processor) = self.processor_entries().await?.into_iter().find(|p| p.name == name) else {
            let why = "this processor is not in the processor register: register it (and its agreement) before sending it data".to_string();
            return Err(self.refuse_disclosure(actor, req, why).await);
        };
        let Some(purpose) = self.store.gdpr_purposes().await?.into_iter().find(|p| p.name == req.purpose.trim()) else {
            return Err(ValidationErrors::single("purpose", "is not in the purpose register (see GET /purposes)").into());
        };
        let needs_consent = purpose.marketing || purpose.lawful_basis == "consent";
        let channel = match req.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) if CHANNELS.contains(&c) => Some(c.to_string()),
            Some(c) => {
                return Err(ValidationErrors::single("channel", format!("unknown channel {c:?}; one of {}", CHANNELS.join(", "))).into());
            }
            None if needs_consent => {
                let why = format!("purpose {:?} needs consent per channel: name the channel ({})", purpose.name, CHANNELS.join(", "));
                return Err(ValidationErrors::single("channel", why).into());
            }
            None => None,
        };
        if let Some(why) = processor.blocked(now) {
            return Err(self.refuse_disclosure(actor, req, why).await);
        }
        let categories = split_list(&purpose.categories);
        if let Some(c) = categories.iter().find(|c| !processor.categories.contains(c)) {
            let why = format!(
                "processor {:?} may not receive the category {c:?} that purpose {:?} sends (it may receive: {})",
                processor.name,
                purpose.name,
                processor.categories.join(", ")
            );
            return Err(self.refuse_disclosure(actor, req, why).await);
        }
        let columns = columns_for(&categories);
        if columns.is_empty() {
            let why = format!("purpose {:?} names no category Sejf can send ({})", purpose.name, CATEGORIES.map(|c| c.0).join(", "));
            return Err(ValidationErrors::single("purpose", why).into());
        }

        // Who may be sent: readable, not restricted (each_readable leaves those out), and for a
        // purpose that needs consent, consenting on this channel and not objecting.
        let mut people = Vec::new();
        self.each_readable(actor, &req.filter, |r, res, permit, policy| {
            if people.len() >= crate::exports::MAX_EXPORT {
                let why = format!("selects more than {} people; narrow it by owner, unit or tag", crate::exports::MAX_EXPORT);
                return Err(ValidationErrors::single("filter", why).into());
            }
            let access = crate::authz::field_access(policy, actor, res).1;
            people.push(self.decrypt(r, permit)?.masked_for(access));
            Ok(())
        })
        .await?;
        let selected = people.len();
        if let Some(channel) = &channel {
            let objected: HashSet<Uuid> = self.store.flagged(Flag::MarketingObjection.as_str()).await?.into_iter().collect();
            let mut kept = Vec::with_capacity(people.len());
            for p in people {
                if purpose.marketing && objected.contains(&p.id) {
                    continue;
                }
                let state = self.consent_state(p.id).await?;
                if state.current.iter().any(|c| c.purpose == purpose.name && &c.channel == channel && c.granted) {
                    kept.push(p);
                }
            }
            people = kept;
        }
        let rows: Vec<DisclosureRow> = people
            .iter()
            .map(|p| DisclosureRow {
                person_id: p.id,
                processor: processor.name.clone(),
                purpose: purpose.name.clone(),
                categories: categories.join(","),
                disclosed_at: now,
            })
            .collect();
        let mut events: Vec<_> = people.iter().map(|p| self.read_event(actor, p, "disclose")).collect();
        let mut ev = self.event(actor, AuditAction::GdprDisclose, "processor", &processor.name);
        ev.purpose = purpose.name.clone();
        ev.detail = format!(
            "people={} left_out={} categories={} channel={}",
            people.len(),
            selected - people.len(),
            categories.join(","),
            channel.as_deref().unwrap_or("-")
        );
        events.push(ev);
        self.store.disclose(rows, events).await?;
        Ok(Disclosure { processor: processor.name, purpose: purpose.name, columns, left_out: selected - people.len(), people })
    }

    /// The processors a person's data was disclosed to, with purpose and date, for their access
    /// export (Art. 15(1)(c)) and the notices their erasure sends (Art. 19).
    pub(crate) async fn disclosed_to(&self, id: Uuid) -> Result<Vec<String>, CoreError> {
        let mut out: Vec<String> = self
            .store
            .disclosures(id)
            .await?
            .iter()
            .map(|d| format!("processor {} ({}, for {}, on {})", d.processor, d.categories, d.purpose, &rfc3339(d.disclosed_at)[..10]))
            .collect();
        out.dedup();
        Ok(out)
    }
}
