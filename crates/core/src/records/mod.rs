//! Companies, deals and activities: one generic path for the three kinds. Non-personal
//! attributes (stage, amount, due date…) are kept as plaintext JSON for filtering; free text
//! (company name, VAT id, website, deal title, activity body) is one encrypted payload under the
//! unit's key, or for an activity about a person, under that person's key, so erasing the person
//! shreds it too.
//!
//! Every field has a class (`Kind::FIELDS`: a deal's title and an activity's body are personal,
//! the rest public), and every view is masked for the caller like a person's. A record about a
//! person (an activity or a deal with `person_id`) is a read of that person: it counts toward
//! the read budget and a honeytoken raises an alert, for reads and writes alike.

use crate::actions::{AuditAction, Verb};
use sejf_crypto::{FieldContext, Key32, decrypt_field, encrypt_field};
use sejf_domain::ValidationErrors;
use std::sync::Arc;
use uuid::Uuid;

use crate::authz::{Action, Actor, FieldAccess, Permit, Resource, authorize, field_access, visibility};
use crate::page::{Page, check_limit, decode_cursor, encode_cursor};
use crate::ports::{ListQuery, RecordKind, RecordRow};
use crate::{App, CoreError};

const KEY_VERSION: u32 = 1;

mod kinds;

pub use kinds::*;

/// Filters of a record list.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    /// Linked to this person, company or deal; deals in this stage.
    pub links: crate::ports::LinkFilter,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The key a record's payload is sealed with, and the subject it is bound to ("" for a unit).
enum PayloadKey {
    Unit(Arc<Key32>),
    Subject(Arc<Key32>, String),
}

/// People's subject keys already opened, by person: a list of activities opens each person's
/// key once, from one batch read of those people, instead of reading the person per activity.
type SubjectKeys = std::collections::HashMap<Uuid, Arc<Key32>>;

impl PayloadKey {
    fn key(&self) -> &Key32 {
        match self {
            PayloadKey::Unit(k) => k,
            PayloadKey::Subject(k, _) => k,
        }
    }
    fn subject(&self) -> &str {
        match self {
            PayloadKey::Unit(_) => "",
            PayloadKey::Subject(_, s) => s,
        }
    }
}

impl App {
    /// The decision on an existing record: refused reads are "not found" (existence must not
    /// leak); a refused write on a record the caller can read is "forbidden".
    pub(crate) fn decide_on_visible(&self, actor: &Actor, action: Action, res: Resource<'_>) -> Result<Permit, CoreError> {
        let policy = self.policy();
        authorize(&policy, actor, action, res).map_err(|_| {
            if action != Action::Read && authorize(&policy, actor, Action::Read, res).is_ok() {
                CoreError::Forbidden(format!("your role may not {} this record", format!("{action:?}").to_lowercase()))
            } else {
                CoreError::NotFound
            }
        })
    }

    async fn payload_key(&self, kind: RecordKind, unit: &str, person: Option<Uuid>, known: &SubjectKeys) -> Result<PayloadKey, CoreError> {
        match (kind, person) {
            (RecordKind::Activity, Some(pid)) => {
                if let Some(key) = known.get(&pid) {
                    return Ok(PayloadKey::Subject(key.clone(), pid.to_string()));
                }
                let stored = self.store.person_get(pid).await?.ok_or(CoreError::NotFound)?;
                let wrapped = stored.wrapped_key.ok_or(CoreError::NotFound)?;
                Ok(PayloadKey::Subject(Arc::new(self.keys.open_subject_key(pid, &wrapped)?), pid.to_string()))
            }
            _ => Ok(PayloadKey::Unit(self.keys.unit_key(self.store.as_ref(), unit).await?)),
        }
    }

    /// The subject keys of `people`, from one batch read; a person without a key (erased) is
    /// left out, and reading their activity fails as before.
    async fn subject_keys(&self, people: Vec<Uuid>) -> Result<SubjectKeys, CoreError> {
        let mut keys = SubjectKeys::new();
        if people.is_empty() {
            return Ok(keys);
        }
        for stored in self.store.people_get(people).await? {
            if let Some(wrapped) = &stored.wrapped_key {
                keys.insert(stored.row.id, Arc::new(self.keys.open_subject_key(stored.row.id, wrapped)?));
            }
        }
        Ok(keys)
    }

    /// Whether `id` of `kind` exists and the caller may read it.
    pub(crate) async fn record_visible(&self, actor: &Actor, kind: RecordKind, id: Uuid) -> Result<bool, CoreError> {
        Ok(match self.store.record_get(kind, id).await? {
            Some(r) => authorize(&self.policy(), actor, Action::Read, Resource::record(&r)).is_ok(),
            None => false,
        })
    }

    async fn person_visible(&self, actor: &Actor, id: Uuid) -> Result<bool, CoreError> {
        Ok(match self.store.person_get(id).await? {
            Some(p) => authorize(&self.policy(), actor, Action::Read, Resource::person(&p.row)).is_ok(),
            None => false,
        })
    }

    /// Validates links: each must name a record the caller can see, and only the kind's links.
    async fn check_links<K: Kind>(&self, actor: &Actor, l: &Links, errs: &mut ValidationErrors) -> Result<(), CoreError> {
        let (p, c, d) = K::LINKS;
        for (given, allowed, field) in [(l.person_id, p, "person_id"), (l.company_id, c, "company_id"), (l.deal_id, d, "deal_id")] {
            if given.is_some() && !allowed {
                errs.push(field, format!("{} have no {field}", K::KIND.plural()));
            }
        }
        if let Some(id) = l.person_id.filter(|_| p)
            && !self.person_visible(actor, id).await?
        {
            errs.push("person_id", "no such person");
        }
        if let Some(id) = l.company_id.filter(|_| c)
            && !self.record_visible(actor, RecordKind::Company, id).await?
        {
            errs.push("company_id", "no such company");
        }
        if let Some(id) = l.deal_id.filter(|_| d)
            && !self.record_visible(actor, RecordKind::Deal, id).await?
        {
            errs.push("deal_id", "no such deal");
        }
        Ok(())
    }

    /// Validates and seals a record; `existing` is (id, version, created_at) for an update;
    /// `new_id` the id a new record gets (default: a fresh one).
    async fn seal_record<K: Kind>(
        &self,
        actor: &Actor,
        raw: &K::Raw,
        links: &Links,
        existing: Option<(Uuid, i64, i64)>,
        new_id: Option<Uuid>,
    ) -> Result<(RecordRow, Permit, Vec<&'static str>), CoreError> {
        let mut errs = ValidationErrors::default();
        let split = K::split(raw, &self.settings).map_err(|e| errs.0.extend(e.0)).ok();
        let placement = match self.placement(actor, links.owner_id, links.unit.as_deref()).await {
            Ok(p) => Some(p),
            Err(CoreError::Validation(e)) => {
                errs.0.extend(e.0);
                None
            }
            Err(e) => return Err(e),
        };
        self.check_links::<K>(actor, links, &mut errs).await?;
        errs.into_result(())?;
        let (Some((attrs, payload)), Some((owner_id, unit, owner_units))) = (split, placement) else {
            return Err(CoreError::Internal("validation passed without data".into()));
        };
        let action = if existing.is_some() { Action::Update } else { Action::Create };
        let now = self.now();
        // A new record's id is chosen before the decision, so its permit names it.
        let (id, version, created_at) = existing.map(|(id, v, c)| (id, v + 1, c)).unwrap_or((new_id.unwrap_or_else(Uuid::now_v7), 1, now));
        let permit =
            authorize(&self.policy(), actor, action, Resource { kind: K::KIND, id, owner_id, unit: &unit, owner_units: &owner_units })
                // The unit may be the owner's rather than one the caller named: never say which.
                .map_err(|_| CoreError::Forbidden("you may not place records for this owner in this unit".into()))?;
        let written = K::shown(&payload);
        let pk = self.payload_key(K::KIND, &unit, links.person_id, &SubjectKeys::new()).await?;
        let ids = id.to_string();
        let plain = serde_json::to_vec(&payload).map_err(|e| CoreError::Internal(e.to_string()))?;
        let ctx = FieldContext { table: K::KIND.plural(), column: "payload", record_id: &ids, subject_id: pk.subject() };
        let row = RecordRow {
            kind: K::KIND,
            id,
            owner_id,
            unit,
            person_id: links.person_id,
            company_id: links.company_id,
            deal_id: links.deal_id,
            attrs: serde_json::to_string(&attrs).map_err(|e| CoreError::Internal(e.to_string()))?,
            payload: encrypt_field(pk.key(), KEY_VERSION, &ctx, &plain)?,
            version,
            created_at,
            updated_at: now,
        };
        Ok((row, permit, written))
    }

    /// An audit event about a record; an activity or deal about a person names them as the
    /// subject. `fields` are the fields shown or written in clear.
    fn record_event<K: Kind>(&self, actor: &Actor, verb: Verb, row: &RecordRow, fields: &[&str]) -> crate::ports::AuditEvent {
        let mut ev = self.event(actor, AuditAction::record(K::KIND, verb), K::KIND.singular(), &row.id.to_string());
        ev.subject_id = row.person_id.map(|p| p.to_string()).unwrap_or_default();
        ev.fields = fields.join(",");
        ev
    }

    /// Which field classes of `row` the caller may read.
    fn record_access(&self, actor: &Actor, row: &RecordRow) -> FieldAccess {
        field_access(&self.policy(), actor, Resource::record(row)).1
    }

    /// Decryption needs the [`Permit`] of a decision on this record. The view is unmasked:
    /// [`Self::masked_record`] makes it fit for the caller.
    #[allow(clippy::disallowed_methods, reason = "checks the Permit first")]
    async fn open_record<K: Kind>(
        &self,
        row: RecordRow,
        permit: &Permit,
        known: &SubjectKeys,
    ) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        permit.covers(K::KIND, row.id)?;
        let pk = self.payload_key(K::KIND, &row.unit, row.person_id.filter(|_| K::KIND == RecordKind::Activity), known).await?;
        let ids = row.id.to_string();
        let ctx = FieldContext { table: K::KIND.plural(), column: "payload", record_id: &ids, subject_id: pk.subject() };
        let plain =
            decrypt_field(pk.key(), &ctx, &row.payload).map_err(|e| CoreError::Integrity(format!("{} {ids}: {e}", K::KIND.plural())))?;
        let payload =
            serde_json::from_slice(&plain).map_err(|_| CoreError::Integrity(format!("{} {ids}: malformed payload", K::KIND.plural())))?;
        let attrs = serde_json::from_str(&row.attrs)
            .map_err(|_| CoreError::Integrity(format!("{} {ids}: malformed attributes", K::KIND.plural())))?;
        Ok(RecordView {
            id: row.id,
            owner_id: row.owner_id,
            unit: row.unit,
            person_id: row.person_id,
            company_id: row.company_id,
            deal_id: row.deal_id,
            attrs,
            payload,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            masked: Vec::new(),
        })
    }

    /// `row` decrypted and masked for `actor`, with the names of the fields it shows in clear.
    async fn masked_record<K: Kind>(
        &self,
        actor: &Actor,
        row: RecordRow,
        permit: &Permit,
        known: &SubjectKeys,
    ) -> Result<(RecordView<K::Attrs, K::Payload>, Vec<&'static str>), CoreError> {
        let access = self.record_access(actor, &row);
        let mut view = self.open_record::<K>(row, permit, known).await?;
        view.masked = K::mask(&mut view.payload, access);
        let shown = K::shown(&view.payload);
        Ok((view, shown))
    }

    async fn visible_record(&self, actor: &Actor, kind: RecordKind, action: Action, id: Uuid) -> Result<(RecordRow, Permit), CoreError> {
        let row = self.store.record_get(kind, id).await?.ok_or(CoreError::NotFound)?;
        let permit = self.decide_on_visible(actor, action, Resource::record(&row))?;
        // A restricted person's activities and deals are restricted with them (GDPR art. 18).
        if let Some(person) = row.person_id
            && actor.scope != crate::authz::Scope::Operator
        {
            self.check_restriction(actor, action, person).await?;
        }
        Ok((row, permit))
    }

    pub async fn create_record<K: Kind>(
        &self,
        actor: &Actor,
        raw: &K::Raw,
        links: &Links,
    ) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Create)?;
        let (row, permit, _) = self.seal_record::<K>(actor, raw, links, None, None).await?;
        // Writing about a honeytoken is touching it.
        self.alert_honeytokens(actor, &people_of(std::slice::from_ref(&row)), "create").await?;
        let (view, shown) = self.masked_record::<K>(actor, row.clone(), &permit, &SubjectKeys::new()).await?;
        let ev = self.record_event::<K>(actor, Verb::Create, &row, &shown);
        self.store.records_insert(vec![row], vec![ev]).await?;
        Ok(view)
    }

    pub async fn record<K: Kind>(&self, actor: &Actor, id: Uuid) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Read)?;
        let (row, permit) = self.visible_record(actor, K::KIND, Action::Read, id).await?;
        let (view, shown) = self.masked_record::<K>(actor, row.clone(), &permit, &SubjectKeys::new()).await?;
        self.guard_reads(actor, &people_of(std::slice::from_ref(&row)), K::KIND.singular()).await?;
        // Durable before the data leaves.
        self.audit(vec![self.record_event::<K>(actor, Verb::Read, &row, &shown)]).await?;
        Ok(view)
    }

    /// The current record masked for the caller, for the form that edits it; needs the right to
    /// update it. `masked` names every field of a class the caller may not read, held or not:
    /// the form offers none of them, and [`Self::edit_record`] keeps their stored values. What
    /// it answers leaves for a screen, so it is a read like [`Self::record`]: counted against the
    /// read budget and in the trail, with the fields shown, before it leaves.
    pub async fn record_for_update<K: Kind>(&self, actor: &Actor, id: Uuid) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Update)?;
        let (row, permit) = self.visible_record(actor, K::KIND, Action::Update, id).await?;
        let access = self.record_access(actor, &row);
        let mut view = self.open_record::<K>(row.clone(), &permit, &SubjectKeys::new()).await?;
        view.masked = mask_for_form::<K>(&mut view.payload, access);
        self.guard_reads(actor, &people_of(std::slice::from_ref(&row)), K::KIND.singular()).await?;
        self.audit(vec![self.record_event::<K>(actor, Verb::Read, &row, &K::shown(&view.payload))]).await?;
        Ok(view)
    }

    /// Saves the form [`Self::record_for_update`] filled: checks `expected` as
    /// [`Self::patch_record`] does (428 without one, 412 if it changed), hands `merge` the record
    /// masked as the form showed it, and then puts back the stored value of every field the
    /// caller may not read, whatever `merge` answered: a form that never showed a field can
    /// neither clear nor overwrite it. Fields the caller may read are saved as `merge` answers.
    pub async fn edit_record<K: Kind, E: From<CoreError>>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        merge: impl FnOnce(&RecordView<K::Attrs, K::Payload>) -> Result<(K::Raw, Links), E>,
    ) -> Result<RecordView<K::Attrs, K::Payload>, E> {
        let (current, mut view) = self.open_for_update::<K>(actor, id, expected).await?;
        let access = self.record_access(actor, &current);
        let stored = view.payload.clone();
        view.masked = mask_for_form::<K>(&mut view.payload, access);
        let (mut raw, links) = merge(&view)?;
        K::keep_hidden(&mut raw, &stored, access);
        Ok(self.write_record_update::<K>(actor, current, &raw, &links).await?)
    }

    pub async fn update_record<K: Kind>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        raw: &K::Raw,
        links: &Links,
    ) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Update)?;
        let expected = expected.ok_or(CoreError::PreconditionRequired)?;
        let (current, _) = self.visible_record(actor, K::KIND, Action::Update, id).await?;
        if current.version != expected {
            return Err(CoreError::PreconditionFailed);
        }
        self.write_record_update::<K>(actor, current, raw, links).await
    }

    /// A partial update (`PATCH`): reads the record once, checks `expected` (428 without one,
    /// 412 if it changed), hands the unmasked current record to `merge`, which answers the whole
    /// new record and links, and stores it as [`Self::update_record`] does.
    pub async fn patch_record<K: Kind, E: From<CoreError>>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        merge: impl FnOnce(&RecordView<K::Attrs, K::Payload>) -> Result<(K::Raw, Links), E>,
    ) -> Result<RecordView<K::Attrs, K::Payload>, E> {
        let (current, view) = self.open_for_update::<K>(actor, id, expected).await?;
        let (raw, links) = merge(&view)?;
        Ok(self.write_record_update::<K>(actor, current, &raw, &links).await?)
    }

    /// What an update merges over: the record, needing the right to update it, at the version
    /// the caller saw (428 without one, 412 if it changed), and opened unmasked.
    async fn open_for_update<K: Kind>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
    ) -> Result<(RecordRow, RecordView<K::Attrs, K::Payload>), CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Update)?;
        let (current, permit) = self.visible_record(actor, K::KIND, Action::Update, id).await?;
        crate::check_version(current.version, expected)?;
        let view = self.open_record::<K>(current.clone(), &permit, &SubjectKeys::new()).await?;
        Ok((current, view))
    }

    /// Seals `raw` as the version after `current`'s and stores it with its event, conditionally
    /// on the version; the answer is masked for `actor`.
    async fn write_record_update<K: Kind>(
        &self,
        actor: &Actor,
        current: RecordRow,
        raw: &K::Raw,
        links: &Links,
    ) -> Result<RecordView<K::Attrs, K::Payload>, CoreError> {
        let (id, expected) = (current.id, current.version);
        let (row, permit, _) = self.seal_record::<K>(actor, raw, links, Some((id, expected, current.created_at)), None).await?;
        // The answer shows the record: it is a read of the people it is about (before and after).
        self.guard_reads(actor, &people_of(&[current, row.clone()]), K::KIND.singular()).await?;
        let (view, shown) = self.masked_record::<K>(actor, row.clone(), &permit, &SubjectKeys::new()).await?;
        let ev = self.record_event::<K>(actor, Verb::Update, &row, &shown);
        if !self.store.record_update(row, expected, vec![ev]).await? {
            return Err(CoreError::PreconditionFailed);
        }
        Ok(view)
    }

    pub async fn delete_record<K: Kind>(&self, actor: &Actor, id: Uuid) -> Result<(), CoreError> {
        let row = self.deletable_record(actor, K::KIND, id).await?;
        self.alert_honeytokens(actor, &people_of(std::slice::from_ref(&row)), "delete").await?;
        let ev = self.record_event::<K>(actor, Verb::Delete, &row, &[]);
        if self.store.record_delete(K::KIND, id, vec![ev]).await? { Ok(()) } else { Err(CoreError::NotFound) }
    }

    /// Whether the caller may delete the record, as [`Self::delete_record`] decides it (the
    /// token's scope, 404 for a record they may not read, 403 for one they may read but not
    /// delete, a restricted person's records), for a page that asks before deleting: nothing is
    /// decrypted, counted as a read or written to the trail, since that page shows no field.
    pub async fn may_delete_record<K: Kind>(&self, actor: &Actor, id: Uuid) -> Result<(), CoreError> {
        self.deletable_record(actor, K::KIND, id).await.map(drop)
    }

    async fn deletable_record(&self, actor: &Actor, kind: RecordKind, id: Uuid) -> Result<RecordRow, CoreError> {
        crate::authz::require_scope(actor, kind, Action::Delete)?;
        Ok(self.visible_record(actor, kind, Action::Delete, id).await?.0)
    }

    /// Every record of `K` the caller may see, 500 a page: what an export writes and an import
    /// matches its rows against.
    pub async fn all_records<K: Kind>(&self, actor: &Actor) -> Result<Vec<RecordView<K::Attrs, K::Payload>>, CoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let filter = RecordFilter { cursor: cursor.take(), limit: Some(500), ..Default::default() };
            let page = self.list_records::<K>(actor, &filter).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// Validates and seals one record of an import, to be written with the others by
    /// [`App::insert_imported`]; `id` keeps the id an export gave it. Nothing is written.
    pub async fn seal_imported<K: Kind>(
        &self,
        actor: &Actor,
        id: Option<Uuid>,
        raw: &K::Raw,
        links: &Links,
    ) -> Result<Imported, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Create)?;
        let (row, _permit, written) = self.seal_record::<K>(actor, raw, links, None, id).await?;
        Ok(Imported { row, written })
    }

    /// Writes an import's records and their `*.create` events in one transaction: all or none.
    pub async fn insert_imported<K: Kind>(&self, actor: &Actor, records: Vec<Imported>) -> Result<usize, CoreError> {
        let rows: Vec<RecordRow> = records.iter().map(|r| r.row.clone()).collect();
        self.alert_honeytokens(actor, &people_of(&rows), "create").await?;
        let events = records.iter().map(|r| self.record_event::<K>(actor, Verb::Create, &r.row, &r.written)).collect();
        let n = rows.len();
        self.store.records_insert(rows, events).await?;
        Ok(n)
    }

    /// Companies whose name contains `q` (case, diacritics and composition ignored) or whose NIP
    /// is the 10 digits of `q`, among the first [`COMPANY_SEARCH_SCAN`] companies the caller may
    /// see: company names have no blind index (ADR 0003), so this decrypts and compares. Each
    /// company read is audited as the list is.
    pub async fn search_companies(&self, actor: &Actor, q: &str) -> Result<Vec<RecordView<NoAttrs, CompanyPayload>>, CoreError> {
        let needle = sejf_domain::values::fold(q.trim());
        if needle.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return Err(ValidationErrors::single("q", "give at least two letters or digits of the name, or the NIP").into());
        }
        let nip: String = q.chars().filter(char::is_ascii_digit).collect();
        let (mut found, mut cursor, mut seen) = (Vec::new(), None, 0usize);
        while seen < COMPANY_SEARCH_SCAN {
            let page = self
                .list_records::<Company>(actor, &RecordFilter { cursor: cursor.take(), limit: Some(200), ..Default::default() })
                .await?;
            seen += page.items.len();
            found.extend(page.items.into_iter().filter(|co| {
                sejf_domain::values::fold(&co.payload.name).contains(&needle)
                    || (nip.len() == 10
                        && co.payload.vat_id.as_deref().is_some_and(|v| v.chars().filter(char::is_ascii_digit).collect::<String>() == nip))
            }));
            match page.next_cursor {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(found)
    }

    pub async fn list_records<K: Kind>(
        &self,
        actor: &Actor,
        f: &RecordFilter,
    ) -> Result<Page<RecordView<K::Attrs, K::Payload>>, CoreError> {
        crate::authz::require_scope(actor, K::KIND, Action::Read)?;
        let limit = check_limit(f.limit)?;
        if let Some(stage) = &f.links.stage
            && (K::KIND != RecordKind::Deal || !self.settings.pipeline.stages().iter().any(|s| s == stage))
        {
            return Err(ValidationErrors::single("stage", "is not a stage of the pipeline").into());
        }
        if let Some(kind) = &f.links.kind
            && (K::KIND != RecordKind::Activity || sejf_domain::records::ActivityKind::parse(kind).is_err())
        {
            return Err(ValidationErrors::single("kind", "is not an activity kind (call, note, email, meeting, task)").into());
        }
        let q = ListQuery {
            visibility: visibility(actor),
            owner: f.owner,
            unit: f.unit.clone(),
            tag: None,
            after: decode_cursor(f.cursor.as_deref())?,
            limit: limit + 1,
            links: f.links.clone(),
        };
        let mut rows = self.store.records_list(K::KIND, q).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let last = rows.last().map(|r| r.id);
        if let Some(stage) = &f.links.stage {
            // The store narrows by a text pattern; keep exactly the stage asked for.
            rows.retain(|r| serde_json::from_str::<serde_json::Value>(&r.attrs).ok().is_some_and(|a| a["stage"] == stage.as_str()));
        }
        if let Some(kind) = &f.links.kind {
            rows.retain(|r| serde_json::from_str::<serde_json::Value>(&r.attrs).ok().is_some_and(|a| a["kind"] == kind.as_str()));
        }
        let hidden = if Self::sees_restricted(actor) || actor.scope == crate::authz::Scope::Operator {
            Default::default()
        } else {
            self.restricted_people().await?
        };
        rows.retain(|r| r.person_id.is_none_or(|p| !hidden.contains(&p)));
        let policy = self.policy();
        let permitted: Vec<(RecordRow, Permit)> = rows
            .into_iter()
            .filter_map(|r| {
                let res = Resource::record(&r);
                let permit = authorize(&policy, actor, Action::Read, res).ok()?;
                Some((r, permit))
            })
            .collect();
        let shown_rows: Vec<RecordRow> = permitted.iter().map(|(r, _)| r.clone()).collect();
        // Only the keys of people whose activities the caller may read are opened.
        let known = if K::KIND == RecordKind::Activity { self.subject_keys(people_of(&shown_rows)).await? } else { SubjectKeys::new() };
        let mut items = Vec::with_capacity(permitted.len());
        let mut events = Vec::with_capacity(permitted.len());
        for (r, permit) in permitted {
            let (view, shown) = self.masked_record::<K>(actor, r.clone(), &permit, &known).await?;
            events.push(self.record_event::<K>(actor, Verb::Read, &r, &shown));
            items.push(view);
        }
        self.guard_reads(actor, &people_of(&shown_rows), K::KIND.singular()).await?;
        self.audit(events).await?;
        Ok(Page { items, next_cursor: if more { last.map(encode_cursor) } else { None } })
    }
}

/// A record of an import, sealed and not yet written, with the fields it holds.
pub struct Imported {
    row: RecordRow,
    written: Vec<&'static str>,
}

impl Imported {
    pub fn id(&self) -> Uuid {
        self.row.id
    }
}

/// Masks `payload` for an edit form and names every field of a class `access` does not allow,
/// whether it holds a value or not: the form offers none of them.
fn mask_for_form<K: Kind>(payload: &mut K::Payload, access: FieldAccess) -> Vec<&'static str> {
    K::mask(payload, access);
    hidden(K::FIELDS, access).collect()
}

/// The distinct people some records are about.
fn people_of(rows: &[RecordRow]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.person_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
