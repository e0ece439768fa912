//! GDPR/RODO use cases (docs/adr/0022-gdpr.md): the access export (Art. 15 and 20), erasure by
//! crypto-shredding with a suppression entry and a signed receipt (Art. 17), restriction
//! (Art. 18), objection to direct marketing (Art. 21(3)), legal holds, consent per purpose and
//! channel, and the register of processing purposes (Art. 6, Art. 30).
//!
//! Who may: the `gdpr` policy action (the `dpo` role, and the CLI operator who holds the master
//! key) for everything but consents, which whoever may read (or update) the person may see (or
//! record). Every change commits with its audit event.

use crate::actions::AuditAction;
use sejf_domain::records::RecordKind;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sejf_domain::ValidationErrors;
use sejf_domain::roles::Role;
use sejf_domain::text::Purpose;
use serde::Serialize;
use uuid::Uuid;

use crate::authz::{Action, Scope};
use crate::ports::{ConsentRow, Erasure, FlagRow, PurposeRow, StoredPerson};
use crate::users::PolicyAction;
use crate::{Actor, App, CoreError, rfc3339};

/// The channels consent is given for, separately (Polish telecommunications law).
pub const CHANNELS: [&str; 3] = ["email", "sms", "phone"];
/// The lawful bases of GDPR Art. 6(1).
pub const LAWFUL_BASES: [&str; 6] = ["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"];
/// The signature context of erasure receipts (see `sejf_crypto::audit::verify_statement`).
pub const RECEIPT_CONTEXT: &str = "sejf erasure receipt v1";
/// How long a server trusts its copy of the restricted set before reading it again: a
/// restriction set on another server holds here within this.
const RESTRICTED_FRESH_MICROS: i64 = 1_000_000;

/// A flag on a data subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Art. 18: kept but frozen (no edits, exports or marketing), seen only by dpo and managers.
    Restricted,
    /// Blocks erasure (a claim, an audit, a legal duty to keep).
    LegalHold,
    /// Art. 21(3): never marketed to again.
    MarketingObjection,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Restricted => "restricted",
            Flag::LegalHold => "legal_hold",
            Flag::MarketingObjection => "marketing_objection",
        }
    }

    /// The action of setting (or, with `lift`, lifting) the flag.
    pub fn action(self, lift: bool) -> AuditAction {
        match (self, lift) {
            (Flag::Restricted, false) => AuditAction::GdprRestricted,
            (Flag::Restricted, true) => AuditAction::GdprRestrictedLift,
            (Flag::LegalHold, false) => AuditAction::GdprLegalHold,
            (Flag::LegalHold, true) => AuditAction::GdprLegalHoldLift,
            (Flag::MarketingObjection, false) => AuditAction::GdprMarketingObjection,
            (Flag::MarketingObjection, true) => AuditAction::GdprMarketingObjectionLift,
        }
    }
}

/// The restricted people as this server knows them, and when it last read them (µs; 0 never).
#[derive(Default)]
pub struct RestrictedSet(RwLock<(i64, Arc<HashSet<Uuid>>)>);

/// Erased people's e-mail and phone as blind-index values (see [`App::suppressed`]).
#[derive(Debug, Default)]
pub struct Suppression(HashSet<(String, i64)>);

/// A retention rule (config.toml `[[retention]]`): people with no change to them or their
/// activities for `no_activity_days`, carrying `tag` when given, are erased (crypto-shredded)
/// unless under a legal hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub name: String,
    #[serde(default)]
    pub tag: Option<String>,
    pub no_activity_days: i64,
}

/// One person a retention run selects, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionItem {
    pub person_id: Uuid,
    pub rule: String,
    /// `would erase` (dry run), `erased`, or the reason it was not.
    pub outcome: String,
}

/// A consent given or withdrawn, as a caller states it.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    pub purpose: String,
    pub channel: String,
    pub granted: Option<bool>,
    pub wording_version: String,
    pub source: String,
}

/// A person's consents: the state in force per (purpose, channel) and the full history.
#[derive(Debug, Clone, Serialize)]
pub struct Consents {
    pub current: Vec<ConsentOut>,
    pub history: Vec<ConsentOut>,
}

/// One consent row as the API and the export show it.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentOut {
    pub id: Uuid,
    pub person_id: Uuid,
    pub purpose: String,
    pub channel: String,
    pub granted: bool,
    pub wording_version: String,
    pub source: String,
    pub client: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

impl From<&ConsentRow> for ConsentOut {
    fn from(c: &ConsentRow) -> Self {
        Self {
            id: c.id,
            person_id: c.person_id,
            purpose: c.purpose.clone(),
            channel: c.channel.clone(),
            granted: c.granted,
            wording_version: c.wording_version.clone(),
            source: c.source.clone(),
            client: c.client.clone(),
            recorded_by: c.recorded_by.clone(),
            recorded_at: rfc3339(c.recorded_at),
        }
    }
}

/// A flag as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FlagOut {
    pub person_id: Uuid,
    pub flag: String,
    pub reason: String,
    pub set_by: String,
    pub since: String,
}

impl From<&FlagRow> for FlagOut {
    fn from(f: &FlagRow) -> Self {
        Self { person_id: f.person_id, flag: f.flag.clone(), reason: f.reason.clone(), set_by: f.set_by.clone(), since: rfc3339(f.set_at) }
    }
}

/// A purpose of the register as the API and the records of processing show it.
#[derive(Debug, Clone, Serialize)]
pub struct PurposeOut {
    pub name: String,
    pub lawful_basis: String,
    pub categories: Vec<String>,
    pub retention: String,
    pub recipients: Vec<String>,
    pub marketing: bool,
    pub applies_to_all: bool,
}

impl From<&PurposeRow> for PurposeOut {
    fn from(p: &PurposeRow) -> Self {
        Self {
            name: p.name.clone(),
            lawful_basis: p.lawful_basis.clone(),
            categories: split_list(&p.categories),
            retention: p.retention.clone(),
            recipients: split_list(&p.recipients),
            marketing: p.marketing,
            applies_to_all: p.applies_to_all,
        }
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// The signed receipt of an erasure: `receipt` is the signed JSON text, byte for byte.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReceipt {
    pub person_id: Uuid,
    pub erased_at: String,
    pub receipt: String,
    /// Ed25519 over [`RECEIPT_CONTEXT`] and `receipt` (base64).
    pub signature: String,
    /// The installation's audit public key (base64), pinned in config.toml.
    pub public_key: String,
}

/// One access to a person's data, from the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AccessOut {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub outcome: String,
    pub purpose: String,
}

/// Everything Sejf holds about one person (Art. 15(1)(a)–(h) and (3), Art. 20), and nothing
/// about anyone else. Its JSON form is described by `docs/schemas/gdpr-export.schema.json`.
#[derive(Clone, Serialize)]
pub struct SubjectExport {
    pub format: &'static str,
    pub generated_at: String,
    pub person: serde_json::Value,
    pub activities: Vec<serde_json::Value>,
    pub deals: Vec<serde_json::Value>,
    pub consents: Consents,
    /// (a) purposes and (c) lawful bases of the processing that applies to the person.
    pub purposes: Vec<PurposeOut>,
    /// (b) categories of personal data concerned.
    pub categories: Vec<String>,
    /// (c) recipients.
    pub recipients: Vec<String>,
    /// (d) how long the data is kept, per purpose.
    pub retention: BTreeMap<String, String>,
    /// (e)–(f) the person's rights and the supervisory authority.
    pub rights: Vec<String>,
    /// (g) where the data came from.
    pub source: String,
    /// (h) automated decision-making.
    pub automated_decisions: String,
    pub restrictions: Vec<FlagOut>,
    /// Who accessed the person's data and when (the audit trail).
    pub accesses: Vec<AccessOut>,
}

sejf_domain::redacted_debug!(SubjectExport { format, generated_at });

pub(super) fn slug_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A free text that reaches a record or the trail: cleaned, at most 500 characters.
pub(super) fn short_text(errs: &mut ValidationErrors, field: &'static str, s: &str, default: &str) -> String {
    let s = if s.trim().is_empty() { default } else { s };
    match sejf_domain::text::remark(s) {
        Ok(v) if v.chars().count() <= 500 => v,
        Ok(_) => {
            errs.push(field, "must be at most 500 characters");
            String::new()
        }
        Err(e) => {
            errs.push(field, e.0);
            String::new()
        }
    }
}

impl App {
    /// The person, for a caller the policies allow `gdpr` (dpo, CLI operator); absent and
    /// invisible look the same.
    async fn gdpr_subject(&self, actor: &Actor, id: Uuid) -> Result<(StoredPerson, crate::authz::Permit), CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let stored = self.store.person_get(id).await?.ok_or(CoreError::NotFound)?;
        let res = crate::authz::Resource::person(&stored.row);
        let permit = self.decide_on_visible(actor, Action::Read, res)?;
        Ok((stored, permit))
    }

    /// The ids of restricted people, read again when older than a second.
    pub(crate) async fn restricted_people(&self) -> Result<Arc<HashSet<Uuid>>, CoreError> {
        let now = self.now();
        if let Ok(cache) = self.restricted.0.read()
            && cache.0 != 0
            && now - cache.0 < RESTRICTED_FRESH_MICROS
        {
            return Ok(cache.1.clone());
        }
        let ids: HashSet<Uuid> = self.store.flagged(Flag::Restricted.as_str()).await?.into_iter().collect();
        let ids = Arc::new(ids);
        if let Ok(mut cache) = self.restricted.0.write() {
            *cache = (now, ids.clone());
        }
        Ok(ids)
    }

    /// Whether `actor` may still see a restricted person: the dpo, and managers of its unit.
    pub(crate) fn sees_restricted(actor: &Actor) -> bool {
        actor.scope != Scope::Operator && matches!(actor.role, Role::Dpo | Role::Manager)
    }

    /// Refuses what a restriction forbids: a read by anyone but the dpo or a manager is a 404,
    /// a change a 409.
    pub(crate) async fn check_restriction(&self, actor: &Actor, action: Action, id: Uuid) -> Result<(), CoreError> {
        if !self.restricted_people().await?.contains(&id) {
            return Ok(());
        }
        if !Self::sees_restricted(actor) {
            return Err(CoreError::NotFound);
        }
        match action {
            Action::Read => Ok(()),
            _ => Err(CoreError::Conflict(
                "processing of this person is restricted (GDPR art. 18): it may not be changed until the dpo lifts the restriction".into(),
            )),
        }
    }

    fn forget_restricted_cache(&self) {
        if let Ok(mut cache) = self.restricted.0.write() {
            cache.0 = 0;
        }
    }

    /// Erases a person by crypto-shredding (Art. 17): their data key, record, activities,
    /// blind-index entries, consents and flags go; the erasure ledger (re-applied by every
    /// restore), a suppression entry (the e-mail's and phone's keyed hashes) and a receipt signed
    /// with the installation's key stay. A legal hold blocks it with its reason.
    pub async fn erase_person(&self, actor: &Actor, id: Uuid, reason: &str) -> Result<ErasureReceipt, CoreError> {
        let reason = Purpose::parse(reason).map_err(|e| ValidationErrors::single("reason", e.0))?;
        let (stored, _permit) = self.gdpr_subject(actor, id).await?;
        if let Some(hold) = self.store.person_flags(id).await?.into_iter().find(|f| f.flag == Flag::LegalHold.as_str()) {
            return Err(CoreError::Conflict(format!(
                "this person is under a legal hold ({}), set by {}: release it before erasing",
                hold.reason, hold.set_by
            )));
        }
        self.alert_honeytokens(actor, &[id], "erase").await?;
        let at = self.now();
        let signer = self.audit_signer().await?;
        let mut suppress = Vec::new();
        if let Some(b) = stored.row.email_bidx {
            suppress.push(("email".to_string(), b));
        }
        if let Some(b) = stored.row.phone_bidx {
            suppress.push(("phone".to_string(), b));
        }
        // Art. 19: the processors the person's data went to are told (listed in the receipt,
        // and an `erasure-notice` alert per processor reaches the dpo's alert sinks).
        let mut notify: Vec<String> = self.store.disclosures(id).await?.into_iter().map(|d| d.processor).collect();
        notify.sort();
        notify.dedup();
        let body = serde_json::json!({
            "type": "sejf erasure receipt",
            "recipients_to_notify": notify,
            "receipt_id": Uuid::now_v7(),
            "person_id": id,
            "erased_at": rfc3339(at),
            "erased_by": actor.username,
            "reason": reason.as_str(),
            "erased": ["data key", "personal fields", "activities", "blind-index entries", "consents"],
            "kept": ["erasure ledger entry (id and time)", "suppression entry (keyed hashes of e-mail and phone)", "audit trail (no personal values)"],
            "key_id": sejf_crypto::audit::key_id(&signer.public_key()),
        })
        .to_string();
        let signature = STANDARD.encode(signer.sign_statement(RECEIPT_CONTEXT, body.as_bytes()));
        let mut ev = self.event(actor, AuditAction::GdprErase, "person", &id.to_string());
        ev.subject_id = id.to_string();
        ev.purpose = reason.as_str().to_string();
        ev.detail = format!("suppressed={}", suppress.len());
        let erasure = Erasure { person_id: id, suppress, receipt_body: body.clone(), receipt_signature: signature.clone(), at };
        if !self.store.person_erase(erasure, vec![ev]).await? {
            return Err(CoreError::NotFound);
        }
        self.forget_restricted_cache();
        for processor in &notify {
            let detail = format!("person {id} was erased on {}: tell processor {processor} to erase their copy (Art. 19)", rfc3339(at));
            self.alert(actor, "erasure-notice", "medium", &id.to_string(), &detail).await?;
        }
        Ok(ErasureReceipt {
            person_id: id,
            erased_at: rfc3339(at),
            receipt: body,
            signature,
            public_key: STANDARD.encode(signer.public_key()),
        })
    }

    /// The signed receipt of an earlier erasure (dpo).
    pub async fn erasure_receipt(&self, actor: &Actor, id: Uuid) -> Result<ErasureReceipt, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let (body, signature) = self.store.erasure_receipt(id).await?.ok_or(CoreError::NotFound)?;
        let erased_at = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["erased_at"].as_str().map(str::to_string))
            .unwrap_or_default();
        let public_key = STANDARD.encode(self.audit_signer().await?.public_key());
        Ok(ErasureReceipt { person_id: id, erased_at, receipt: body, signature, public_key })
    }

    /// The suppression list, for an import to check its rows against.
    pub async fn suppression(&self) -> Result<Suppression, CoreError> {
        Ok(Suppression(self.store.suppression_list().await?.into_iter().collect()))
    }

    /// Whether `data` has the e-mail or phone of a person erased at their request: an import
    /// flags such a row instead of bringing the person back unknowingly.
    pub fn suppressed(&self, list: &Suppression, data: &sejf_domain::people::PersonData) -> bool {
        if list.0.is_empty() {
            return false;
        }
        let [email, phone, _] = self.index_values(data);
        let email = email.map(|b| ("email".to_string(), b));
        let phone = phone.map(|b| ("phone".to_string(), b));
        email.into_iter().chain(phone).any(|k| list.0.contains(&k))
    }

    /// Sets a flag on a person (restriction and legal hold: dpo; objection: whoever may update
    /// the person, or the dpo).
    pub async fn set_person_flag(&self, actor: &Actor, id: Uuid, flag: Flag, reason: &str) -> Result<FlagOut, CoreError> {
        let reason = Purpose::parse(reason).map_err(|e| ValidationErrors::single("reason", e.0))?;
        self.flag_subject(actor, id, flag).await?;
        let row = FlagRow {
            person_id: id,
            flag: flag.as_str().into(),
            reason: reason.as_str().into(),
            set_by: actor.username.clone(),
            set_at: self.now(),
        };
        let mut ev = self.event(actor, flag.action(false), "person", &id.to_string());
        ev.subject_id = id.to_string();
        ev.purpose = reason.as_str().to_string();
        self.store.person_flag_set(row.clone(), vec![ev]).await?;
        self.forget_restricted_cache();
        Ok(FlagOut::from(&row))
    }

    /// Lifts a flag (dpo); a 404 when it was not set.
    pub async fn clear_person_flag(&self, actor: &Actor, id: Uuid, flag: Flag) -> Result<(), CoreError> {
        if flag == Flag::MarketingObjection {
            return Err(CoreError::Forbidden("an objection to direct marketing is permanent".into()));
        }
        self.flag_subject(actor, id, flag).await?;
        let mut ev = self.event(actor, flag.action(true), "person", &id.to_string());
        ev.subject_id = id.to_string();
        let cleared = self.store.person_flag_clear(id, flag.as_str(), vec![ev]).await?;
        self.forget_restricted_cache();
        if cleared { Ok(()) } else { Err(CoreError::NotFound) }
    }

    async fn flag_subject(&self, actor: &Actor, id: Uuid, flag: Flag) -> Result<(), CoreError> {
        match flag {
            Flag::MarketingObjection if self.authorize_system(actor, PolicyAction::Gdpr).is_err() => {
                crate::authz::require_scope(actor, RecordKind::Person, Action::Update)?;
                self.check_restriction(actor, Action::Read, id).await?;
                let stored = self.store.person_get(id).await?.ok_or(CoreError::NotFound)?;
                let res = crate::authz::Resource::person(&stored.row);
                let _permit = self.decide_on_visible(actor, Action::Update, res)?;
                Ok(())
            }
            _ => self.gdpr_subject(actor, id).await.map(|_| ()),
        }
    }

    /// A person's flags (dpo).
    pub async fn person_flags(&self, actor: &Actor, id: Uuid) -> Result<Vec<FlagOut>, CoreError> {
        let _subject = self.gdpr_subject(actor, id).await?;
        Ok(self.store.person_flags(id).await?.iter().map(FlagOut::from).collect())
    }

    /// The person, if `actor` may read them (`write`: update them) as staff, or as the dpo.
    async fn consent_subject(&self, actor: &Actor, id: Uuid, write: bool) -> Result<(), CoreError> {
        if self.gdpr_subject(actor, id).await.is_ok() {
            return Ok(());
        }
        let action = if write { Action::Update } else { Action::Read };
        crate::authz::require_scope(actor, RecordKind::Person, action)?;
        self.check_restriction(actor, Action::Read, id).await?;
        let stored = self.store.person_get(id).await?.ok_or(CoreError::NotFound)?;
        let res = crate::authz::Resource::person(&stored.row);
        let _permit = self.decide_on_visible(actor, action, res)?;
        Ok(())
    }

    /// A person's consents: history and the state in force (recorded as `consent.read`).
    pub async fn consents(&self, actor: &Actor, id: Uuid) -> Result<Consents, CoreError> {
        self.consent_subject(actor, id, false).await?;
        let out = self.consent_state(id).await?;
        let mut ev = self.event(actor, AuditAction::ConsentRead, "person", &id.to_string());
        ev.subject_id = id.to_string();
        ev.detail = format!("results={}", out.history.len());
        self.audit(vec![ev]).await?;
        Ok(out)
    }

    pub(crate) async fn consent_state(&self, id: Uuid) -> Result<Consents, CoreError> {
        let rows = self.store.consents(id).await?;
        let objected = self.store.person_flags(id).await?.iter().any(|f| f.flag == Flag::MarketingObjection.as_str());
        let marketing: HashSet<String> = self.store.gdpr_purposes().await?.into_iter().filter(|p| p.marketing).map(|p| p.name).collect();
        let mut latest: BTreeMap<(String, String), &ConsentRow> = BTreeMap::new();
        for r in &rows {
            latest.insert((r.purpose.clone(), r.channel.clone()), r);
        }
        let current = latest
            .values()
            .map(|r| {
                let mut c = ConsentOut::from(*r);
                // An objection to direct marketing outranks any consent to it.
                if objected && marketing.contains(&r.purpose) {
                    c.granted = false;
                }
                c
            })
            .collect();
        Ok(Consents { current, history: rows.iter().map(ConsentOut::from).collect() })
    }

    /// Records a consent given or withdrawn, with its proof (wording version, source, the
    /// client's address, who recorded it). Returns the new row.
    pub async fn record_consent(&self, actor: &Actor, id: Uuid, input: &ConsentInput) -> Result<ConsentOut, CoreError> {
        let mut errs = ValidationErrors::default();
        let purpose = input.purpose.trim().to_lowercase();
        if !slug_ok(&purpose) {
            errs.push("purpose", "name a purpose: lower-case letters, digits, '_' or '-', at most 64 characters (e.g. newsletter)");
        }
        let channel = input.channel.trim().to_lowercase();
        if !CHANNELS.contains(&channel.as_str()) {
            errs.push("channel", "must be one of email, sms, phone");
        }
        if input.granted.is_none() {
            errs.push("granted", "say whether consent is given (true) or withdrawn (false)");
        }
        let wording = short_text(&mut errs, "wording_version", &input.wording_version, "unspecified");
        let source = short_text(&mut errs, "source", &input.source, "api");
        errs.into_result(())?;
        let granted = input.granted.unwrap_or(false);
        self.consent_subject(actor, id, true).await?;
        if granted {
            let objected = self.store.person_flags(id).await?.iter().any(|f| f.flag == Flag::MarketingObjection.as_str());
            let marketing = self.store.gdpr_purposes().await?.iter().any(|p| p.marketing && p.name == purpose);
            if objected && marketing {
                return Err(CoreError::Conflict(
                    "this person objected to direct marketing (GDPR art. 21(3)): no marketing consent can be recorded".into(),
                ));
            }
        }
        let row = ConsentRow {
            id: Uuid::now_v7(),
            person_id: id,
            purpose,
            channel,
            granted,
            wording_version: wording,
            source,
            client: actor.client.clone(),
            recorded_by: actor.username.clone(),
            recorded_at: self.now(),
        };
        let mut ev =
            self.event(actor, if granted { AuditAction::ConsentGrant } else { AuditAction::ConsentWithdraw }, "person", &id.to_string());
        ev.subject_id = id.to_string();
        ev.detail = format!("purpose={} channel={}", row.purpose, row.channel);
        self.store.consent_insert(row.clone(), vec![ev]).await?;
        Ok(ConsentOut::from(&row))
    }

    /// The register of processing purposes (anyone signed in may read it: it is what the
    /// privacy notice says).
    pub async fn purposes(&self) -> Result<Vec<PurposeOut>, CoreError> {
        Ok(self.store.gdpr_purposes().await?.iter().map(PurposeOut::from).collect())
    }

    /// Adds or replaces a purpose of the register (dpo).
    pub async fn put_purpose(&self, actor: &Actor, p: &PurposeOut) -> Result<PurposeOut, CoreError> {
        self.authorize_system(actor, PolicyAction::Gdpr)?;
        let mut errs = ValidationErrors::default();
        if !slug_ok(&p.name) {
            errs.push("name", "lower-case letters, digits, '_' or '-', at most 64 characters");
        }
        if !LAWFUL_BASES.contains(&p.lawful_basis.as_str()) {
            errs.push(
                "lawful_basis",
                "must be one of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests",
            );
        }
        let categories = short_text(&mut errs, "categories", &p.categories.join(","), "");
        let recipients = short_text(&mut errs, "recipients", &p.recipients.join(","), "");
        let retention = short_text(&mut errs, "retention", &p.retention, "");
        if retention.is_empty() {
            errs.push("retention", "say how long the data is kept");
        }
        errs.into_result(())?;
        let row = PurposeRow {
            name: p.name.clone(),
            lawful_basis: p.lawful_basis.clone(),
            categories,
            retention,
            recipients,
            marketing: p.marketing,
            applies_to_all: p.applies_to_all,
            created_at: self.now(),
        };
        let ev = self.event(actor, AuditAction::GdprPurpose, "purpose", &row.name);
        self.store.gdpr_purpose_put(row.clone(), vec![ev]).await?;
        Ok(PurposeOut::from(&row))
    }
}

mod access;
mod breaches;
mod processors;
mod requests;

pub use breaches::{Breach, BreachOut};
pub use processors::{CATEGORIES, Disclosure, DisclosureRequest, Processor, ProcessorOut, columns_for};
pub use requests::{DSR_KINDS, DsrInput, DsrOut};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_slugs() {
        assert!(slug_ok("newsletter"));
        assert!(slug_ok("sales_contact-2"));
        assert!(!slug_ok(""));
        assert!(!slug_ok("News letter"));
        assert!(!slug_ok(&"x".repeat(65)));
    }

    #[test]
    fn lists_split_and_trim() {
        assert_eq!(split_list(" a, b ,,c"), vec!["a", "b", "c"]);
        assert!(split_list("").is_empty());
    }
}
