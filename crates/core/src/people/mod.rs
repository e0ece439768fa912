//! People (data subjects): every personal field encrypted under the person's own key, bound to
//! its table, column, record and subject; blind indexes for e-mail, phone, national id and name
//! tokens; the owner/unit rules of `authz`; optimistic concurrency by version. The field
//! cipher is in `sealing`, batched single-person reads in `reads`.

mod reads;
mod sealing;

use crate::actions::AuditAction;
pub use reads::PersonReads;
use sejf_crypto::Key32;
use sejf_domain::people::{PersonData, PersonRaw, parse_tags};
use sejf_domain::values::{Email, NAME_PREFIX_MIN, Phone, Tag, name_index_terms, name_search_term, name_tokens};
use sejf_domain::{ValidationErrors, values};
use uuid::Uuid;

use crate::authz::{Action, Actor, FieldAccess, Permit, Resource, authorize, field_access, may_reveal, visibility};
use crate::page::{Page, check_limit, decode_cursor, encode_cursor};
use crate::ports::{AuditEvent, BlindIndex, ListQuery, NameIndex, NewPerson, PersonRow, RecordKind, StoredPerson};
use crate::{App, CoreError};
use sealing::{open_person, seal_person};
use sejf_domain::fields::PersonField;
use sejf_policy::FieldClass;

/// Most candidates one search request looks at (a common name token may match thousands); past
/// it the answer is a short page whose cursor resumes the search.
pub const SEARCH_MAX_CANDIDATES: usize = 1_000;

/// What a client asks to store: the personal fields as text, and where the record belongs.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub raw: PersonRaw,
    pub tags: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub unit: Option<String>,
    pub company_id: Option<Uuid>,
}

/// A decrypted person as the caller may see it.
#[derive(Clone)]
pub struct PersonView {
    pub id: Uuid,
    pub fields: PersonRaw,
    pub tags: Vec<String>,
    pub owner_id: Uuid,
    pub unit: String,
    pub company_id: Option<Uuid>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Fields shown masked or left out because the caller may not read their class.
    pub masked: Vec<&'static str>,
}

sejf_domain::redacted_debug!(PersonView { id, unit, owner_id, version });

impl PersonView {
    /// The names of the personal fields this view shows in clear (for the audit trail).
    pub fn shown_fields(&self) -> String {
        let shown = PersonField::ALL.into_iter().filter(|f| self.fields.has(*f) && !self.masked.contains(&f.name()));
        shown.map(PersonField::name).collect::<Vec<_>>().join(",")
    }

    /// Masks (or leaves out) every field whose class the caller may not read.
    pub fn masked_for(mut self, access: FieldAccess) -> Self {
        self.mask_except(access, &[]);
        self
    }

    /// Masks as [`Self::masked_for`] for an edit form, and names in `masked` every field of a
    /// class the caller may not read, whether it holds a value or not: the form offers none of
    /// them, so nobody writes into a field they could not then see.
    fn masked_for_form(mut self, access: FieldAccess) -> Self {
        self.mask_except(access, &[]);
        self.masked = hidden(access).map(PersonField::name).collect();
        self
    }

    fn mask_except(&mut self, access: FieldAccess, revealed: &[PersonField]) {
        for field in PersonField::ALL {
            if !access.contains(field.class()) && !revealed.contains(&field) && self.fields.mask(field) {
                self.masked.push(field.name());
            }
        }
    }
}

/// A kept national id the caller may not read that no longer fits the country they changed is
/// refused as the country's fault: the caller cannot see, let alone mend, the national id, and a
/// refusal naming it would point at a field shown to them only masked.
fn blame_what_changed(mut errs: ValidationErrors, access: FieldAccess, stored: &PersonRaw, new: &PersonRaw) -> ValidationErrors {
    if access.contains(PersonField::NationalId.class()) || stored.national_id != new.national_id {
        return errs;
    }
    for e in errs.0.iter_mut().filter(|e| e.field == PersonField::NationalId.name()) {
        e.field = "address.country".to_owned();
        e.reason = "does not fit the national id on file, which you may not read: someone who may must change it first".to_owned();
    }
    errs
}

/// The personal fields of a class `access` does not allow, held or not.
fn hidden(access: FieldAccess) -> impl Iterator<Item = PersonField> {
    PersonField::ALL.into_iter().filter(move |f| !access.contains(f.class()))
}

/// Filters of `GET /people`.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// `POST /people/search`: every given criterion must match.
#[derive(Clone, Default)]
pub struct SearchCriteria {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub name: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

sejf_domain::redacted_debug!(SearchCriteria { limit });

/// [`crate::check_version`] of a stored person.
fn version_is(expected: Option<i64>) -> impl FnOnce(&StoredPerson) -> Result<(), CoreError> {
    move |stored| crate::check_version(stored.row.version, expected)
}

/// Search normal form of a national id: upper-case letters and digits only.
fn normalise_national_id(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// Where a new record goes: its owner, its unit, and the owner's units.
pub type Placement = (Uuid, String, Vec<String>);

/// A validated person ready to be sealed.
pub struct Prepared {
    data: PersonData,
    tags: Vec<String>,
    owner_id: Uuid,
    unit: String,
    company_id: Option<Uuid>,
}

impl App {
    /// Validates an input and decides where the record belongs, without writing anything.
    pub async fn prepare_person(&self, actor: &Actor, input: &PersonInput) -> Result<Prepared, CoreError> {
        let placement = self.placement(actor, input.owner_id, input.unit.as_deref()).await;
        self.prepare_placed(actor, input, placement).await
    }

    /// [`App::prepare_person`] with the owner and unit already resolved by
    /// [`App::placement`]: an import resolves them once for all its rows (the input's own
    /// `owner_id` and `unit` are then not read again).
    pub async fn prepare_placed(
        &self,
        actor: &Actor,
        input: &PersonInput,
        placement: Result<Placement, CoreError>,
    ) -> Result<Prepared, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Create)?;
        let mut errs = ValidationErrors::default();
        let data = PersonData::parse(&input.raw, self.settings.default_region).map_err(|e| errs.0.extend(e.0)).ok();
        let tags = parse_tags(&input.tags).map_err(|e| errs.0.extend(e.0)).ok();
        let (owner_id, unit, owner_units) = match placement {
            Ok(p) => p,
            Err(CoreError::Validation(e)) => {
                errs.0.extend(e.0);
                (actor.user_id, String::new(), Vec::new())
            }
            Err(other) => return Err(other),
        };
        if let Some(company) = input.company_id
            && !self.record_visible(actor, RecordKind::Company, company).await?
        {
            errs.push("company_id", "no such company");
        }
        errs.into_result(())?;
        let (Some(data), Some(tags)) = (data, tags) else {
            return Err(CoreError::Internal("validation passed without data".into()));
        };
        let mut prepared = self.prepare_parsed(actor, data, &tags, &(owner_id, unit, owner_units))?;
        prepared.company_id = input.company_id;
        Ok(prepared)
    }

    /// A person already validated (`PersonData::parse`, `parse_tags`) prepared for `placement`,
    /// without parsing it again: an import validates every row before it writes, and hands the
    /// parsed rows on. Decides the creation as [`App::prepare_placed`] does; no company.
    pub fn prepare_parsed(&self, actor: &Actor, data: PersonData, tags: &[Tag], placement: &Placement) -> Result<Prepared, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Create)?;
        let (owner_id, unit, owner_units) = placement;
        let owner_id = *owner_id;
        let _permit = authorize(
            &self.policy(),
            actor,
            Action::Create,
            Resource { kind: RecordKind::Person, id: Uuid::nil(), owner_id, unit, owner_units },
        )
        // The unit may be the owner's rather than one the caller named: never say which.
        .map_err(|_| CoreError::Forbidden("you may not create records for this owner in this unit".into()))?;
        Ok(Prepared { data, tags: tags.iter().map(|t| t.as_str().to_string()).collect(), owner_id, unit: unit.clone(), company_id: None })
    }

    /// The owner and unit of a new record (the caller and their first unit unless named), and
    /// the owner's units (for the create decision).
    pub async fn placement(&self, actor: &Actor, owner: Option<Uuid>, unit: Option<&str>) -> Result<Placement, CoreError> {
        let (owner_id, owner_units) = match owner {
            None => (actor.user_id, actor.units.clone()),
            Some(id) if id == actor.user_id => (id, actor.units.clone()),
            Some(id) => match self.store.user_by_id(id).await? {
                Some(u) if !u.disabled => (u.id, u.units),
                _ => return Err(ValidationErrors::single("owner_id", "no such active user").into()),
            },
        };
        let unit = match unit {
            Some(u) => {
                let slug = values::UnitSlug::parse(u).map_err(|e| ValidationErrors::single("unit", e.0))?;
                if !owner_units.iter().any(|x| x == slug.as_str()) {
                    return Err(ValidationErrors::single("unit", "the owner does not belong to this unit").into());
                }
                slug.as_str().to_string()
            }
            None => owner_units.first().cloned().ok_or_else(|| ValidationErrors::single("unit", "the owner belongs to no unit"))?,
        };
        Ok((owner_id, unit, owner_units))
    }

    /// The name blind index of a person: the keyed hashes of each name token's index terms
    /// (its prefixes from three to six characters, or a short token itself), so a search for
    /// "Dąbr" finds Dąbrowska (ADR 0003, ADR 0034).
    pub(crate) fn name_index(&self, first: Option<&str>, last: Option<&str>) -> Vec<i64> {
        let mut names = Vec::new();
        for part in [first, last].into_iter().flatten() {
            for t in name_tokens(part) {
                for term in name_index_terms(&t) {
                    let b = self.keys.bidx(BlindIndex::Name, &term);
                    if !names.contains(&b) {
                        names.push(b);
                    }
                }
            }
        }
        names
    }

    /// The sealed row of a prepared person, and their name index.
    fn build_row(
        &self,
        id: Uuid,
        p: &Prepared,
        key: &Key32,
        now: i64,
        version: i64,
        created_at: i64,
    ) -> Result<(PersonRow, NameIndex), CoreError> {
        let ids = id.to_string();
        let index = self.index_values(&p.data);
        let names = self.name_index(p.data.first_name.as_deref(), p.data.last_name.as_deref());
        let row = PersonRow {
            id,
            owner_id: p.owner_id,
            unit: p.unit.clone(),
            company_id: p.company_id,
            version,
            created_at,
            updated_at: now,
            enc: seal_person(key, &ids, &p.data)?,
            tags: p.tags.clone(),
            email_bidx: index[0],
            phone_bidx: index[1],
            national_id_bidx: index[2],
        };
        Ok((row, names))
    }

    /// The blind-index values (e-mail, phone, national id) of validated fields: what an
    /// import matches people already held by, and the suppression list holds.
    pub fn index_values(&self, data: &PersonData) -> [Option<i64>; 3] {
        let keys = &self.keys;
        [
            data.email.as_ref().map(|e| keys.bidx(BlindIndex::Email, &e.normalized())),
            data.phone.as_ref().map(|ph| keys.bidx(BlindIndex::Phone, ph.as_str())),
            data.national_id.as_ref().map(|n| keys.bidx(BlindIndex::NationalId, &n.normalized())),
        ]
    }

    /// Seals a prepared person under a fresh subject key.
    pub fn seal_new_person(&self, p: &Prepared) -> Result<NewPerson, CoreError> {
        let id = Uuid::now_v7();
        let (key, wrapped) = self.keys.new_subject_key(id)?;
        let now = self.now();
        let (row, name_bidx) = self.build_row(id, p, &key, now, 1, now)?;
        Ok(NewPerson { row, name_bidx, wrapped_key: wrapped, master_version: self.keys.master().version() })
    }

    pub async fn create_person(&self, actor: &Actor, input: &PersonInput) -> Result<PersonView, CoreError> {
        let prepared = self.prepare_person(actor, input).await?;
        let new = self.seal_new_person(&prepared)?;
        let view = PersonView {
            id: new.row.id,
            fields: prepared.data.to_raw(),
            tags: new.row.tags.clone(),
            owner_id: new.row.owner_id,
            unit: new.row.unit.clone(),
            company_id: new.row.company_id,
            version: 1,
            created_at: new.row.created_at,
            updated_at: new.row.updated_at,
            masked: Vec::new(),
        };
        let access = self.access_to(actor, &new.row).1;
        let mut ev = self.event(actor, AuditAction::PersonCreate, "person", &view.id.to_string());
        ev.subject_id = ev.resource_id.clone();
        ev.fields = view.shown_fields();
        self.store.person_insert(new, vec![ev]).await?;
        Ok(view.masked_for(access))
    }

    /// Inserts many prepared people in one transaction, with their audit events.
    pub async fn insert_people(&self, actor: &Actor, prepared: &[Prepared]) -> Result<usize, CoreError> {
        let batch = prepared.iter().map(|p| self.seal_new_person(p)).collect::<Result<Vec<_>, _>>()?;
        let n = batch.len();
        let events = self.creation_events(actor, &batch);
        self.store.people_insert_batch(batch, events).await?;
        Ok(n)
    }

    /// The `person.create` events of sealed new people (bulk import, demo data).
    pub fn creation_events(&self, actor: &Actor, batch: &[NewPerson]) -> Vec<AuditEvent> {
        batch
            .iter()
            .map(|p| {
                let mut ev = self.event(actor, AuditAction::PersonCreate, "person", &p.row.id.to_string());
                ev.subject_id = ev.resource_id.clone();
                ev.detail = "via=import".into();
                ev
            })
            .collect()
    }

    /// A `person.read` event for a view about to be shown.
    pub(crate) fn read_event(&self, actor: &Actor, view: &PersonView, via: &str) -> AuditEvent {
        let mut ev = self.event(actor, AuditAction::PersonRead, "person", &view.id.to_string());
        ev.subject_id = ev.resource_id.clone();
        ev.fields = view.shown_fields();
        ev.detail = format!("via={via}");
        ev
    }

    /// Decryption needs the [`Permit`] of a decision on this very person: no path decrypts
    /// unauthorised, nor with another record's decision.
    pub(crate) fn decrypt(&self, stored: &StoredPerson, permit: &Permit) -> Result<PersonView, CoreError> {
        let row = &stored.row;
        permit.covers(RecordKind::Person, row.id)?;
        let wrapped = stored.wrapped_key.as_ref().ok_or(CoreError::NotFound)?;
        let key = self.keys.open_subject_key(row.id, wrapped)?;
        Ok(PersonView {
            id: row.id,
            fields: open_person(&key, &row.id.to_string(), &row.enc)?,
            tags: row.tags.clone(),
            owner_id: row.owner_id,
            unit: row.unit.clone(),
            company_id: row.company_id,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            masked: Vec::new(),
        })
    }

    /// Whether the caller may read this person, and which field classes.
    fn access_to(&self, actor: &Actor, row: &PersonRow) -> (bool, FieldAccess) {
        field_access(&self.policy(), actor, Resource::person(row))
    }

    /// A person the caller may read; absent and invisible look the same.
    async fn visible_person(&self, actor: &Actor, action: Action, id: Uuid) -> Result<(StoredPerson, Permit), CoreError> {
        let stored = match action {
            // Reads are the hot path: concurrent ones share a query.
            Action::Read => self.person_reads.get(id).await?,
            _ => self.store.person_get(id).await?,
        }
        .ok_or(CoreError::NotFound)?;
        let res = Resource::person(&stored.row);
        let permit = self.decide_on_visible(actor, action, res)?;
        self.check_restriction(actor, action, id).await?;
        Ok((stored, permit))
    }

    pub async fn person(&self, actor: &Actor, id: Uuid) -> Result<PersonView, CoreError> {
        self.shown_person(actor, id, Action::Read, PersonView::masked_for).await
    }

    /// The person masked for the caller, for the form that edits them; needs the right to update
    /// them. `masked` names every field of a class the caller may not read, held or not: the
    /// form offers none of them, and [`Self::edit_person`] keeps their stored values. What it
    /// answers leaves for a screen, so it is a read like [`Self::person`], and recorded as one
    /// (`via=get`, as before the form had a use case of its own).
    pub async fn person_for_update(&self, actor: &Actor, id: Uuid) -> Result<PersonView, CoreError> {
        self.shown_person(actor, id, Action::Update, PersonView::masked_for_form).await
    }

    /// One person, needing the right to `action`, decrypted and masked by `mask` for the
    /// caller's field classes, then counted against the read budget and in the trail with the
    /// fields shown (`via=get`): durable before the data leaves; if the audit write fails, so
    /// does the read.
    async fn shown_person(
        &self,
        actor: &Actor,
        id: Uuid,
        action: Action,
        mask: fn(PersonView, FieldAccess) -> PersonView,
    ) -> Result<PersonView, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, action)?;
        let (stored, permit) = self.visible_person(actor, action, id).await?;
        let access = self.access_to(actor, &stored.row).1;
        let view = mask(self.decrypt(&stored, &permit)?, access);
        self.guard_reads(actor, &[id], "get").await?;
        self.audit(vec![self.read_event(actor, &view, "get")]).await?;
        Ok(view)
    }

    /// Shows masked fields for a stated purpose, where the policies allow revealing them.
    /// Unknown field names are refused; a field the caller may not reveal is a 403 naming it.
    pub async fn reveal_person(&self, actor: &Actor, id: Uuid, fields: &[String], purpose: &str) -> Result<PersonView, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Read)?;
        let mut errs = ValidationErrors::default();
        let purpose = sejf_domain::text::Purpose::parse(purpose).map_err(|e| errs.push("purpose", e.0)).ok();
        if fields.is_empty() {
            errs.push("fields", "name at least one field to reveal");
        }
        let mut wanted = Vec::new();
        for f in fields {
            match f.parse::<PersonField>() {
                Ok(field) => wanted.push(field),
                Err(()) => errs.push("fields", "unknown field; expected personal fields such as national_id, birth_date, email"),
            }
        }
        errs.into_result(())?;
        let Some(purpose) = purpose else { return Err(CoreError::Internal("validation passed without a purpose".into())) };
        let (stored, permit) = self.visible_person(actor, Action::Read, id).await?;
        let access = self.access_to(actor, &stored.row).1;
        let policy = self.policy();
        let res = Resource::person(&stored.row);
        for field in &wanted {
            if !access.contains(field.class()) && !may_reveal(&policy, actor, res, field.class(), purpose.as_str()) {
                return Err(CoreError::Forbidden(format!("you may not reveal {field} of this person")));
            }
        }
        let names: Vec<&str> = wanted.iter().map(|f| f.name()).collect();
        self.guard_reads(actor, &[id], "reveal").await?;
        let mut view = self.decrypt(&stored, &permit)?;
        view.mask_except(access, &wanted);
        let mut ev = self.event(actor, AuditAction::PersonReveal, "person", &id.to_string());
        ev.subject_id = ev.resource_id.clone();
        ev.fields = names.join(",");
        ev.purpose = purpose.as_str().to_string();
        self.audit(vec![ev]).await?;
        Ok(view)
    }

    /// Replaces a person's fields if `expected_version` is current.
    pub async fn update_person(
        &self,
        actor: &Actor,
        id: Uuid,
        expected_version: Option<i64>,
        input: &PersonInput,
    ) -> Result<PersonView, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Update)?;
        let expected = expected_version.ok_or(CoreError::PreconditionRequired)?;
        let (stored, _permit) = self.visible_person(actor, Action::Update, id).await?;
        if stored.row.version != expected {
            return Err(CoreError::PreconditionFailed);
        }
        self.write_update(actor, &stored, input).await
    }

    /// A partial update (`PATCH`): reads the person once, checks `expected_version` (428
    /// without one, 412 if it changed), and hands the unmasked current record to `merge`, which
    /// answers the whole new input (fields the caller may not read keep their values because
    /// they are in the base, unless `merge` changes them). Then validates, seals and stores it
    /// as [`Self::update_person`] does, conditionally on the version.
    pub async fn patch_person<E: From<CoreError>>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected_version: Option<i64>,
        merge: impl FnOnce(&PersonView) -> Result<PersonInput, E>,
    ) -> Result<PersonView, E> {
        self.merge_person(actor, id, version_is(expected_version), |current, _| merge(current)).await
    }

    /// Saves the form [`Self::person_for_update`] filled: checks `expected_version` as
    /// [`Self::patch_person`] does (428 without one, 412 if it changed), hands `merge` the person
    /// masked as the form showed them, and then puts back the stored value of every field of a
    /// class the caller may not read, whatever `merge` answered: a form (or a crafted post) can
    /// neither clear, overwrite nor fill a field its user may not read. Fields the caller may
    /// read are saved as `merge` answers.
    pub async fn edit_person<E: From<CoreError>>(
        &self,
        actor: &Actor,
        id: Uuid,
        expected_version: Option<i64>,
        merge: impl FnOnce(&PersonView) -> Result<PersonInput, E>,
    ) -> Result<PersonView, E> {
        self.merge_person(actor, id, version_is(expected_version), |current, access| {
            let mut input = merge(&current.clone().masked_for_form(access))?;
            for field in hidden(access) {
                input.raw.set_from(field, &current.fields);
            }
            Ok(input)
        })
        .await
    }

    /// Reads the person once, lets `check` refuse the stored version, hands the unmasked record
    /// and the field classes the caller may read of it to `merge`, and writes what it answers
    /// over the version read.
    pub(crate) async fn merge_person<E: From<CoreError>>(
        &self,
        actor: &Actor,
        id: Uuid,
        check: impl FnOnce(&StoredPerson) -> Result<(), CoreError>,
        merge: impl FnOnce(&PersonView, FieldAccess) -> Result<PersonInput, E>,
    ) -> Result<PersonView, E> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Update)?;
        let (stored, permit) = self.visible_person(actor, Action::Update, id).await?;
        check(&stored)?;
        let access = self.access_to(actor, &stored.row).1;
        let current = self.decrypt(&stored, &permit)?;
        let input = merge(&current, access)?;
        match self.write_update(actor, &stored, &input).await {
            Err(CoreError::Validation(errs)) => {
                Err(CoreError::Validation(blame_what_changed(errs, access, &current.fields, &input.raw)).into())
            }
            done => Ok(done?),
        }
    }

    /// Validates `input`, seals it under the person's key and stores it as the version after
    /// `stored`'s, with its `person.update` event; the answer is masked for `actor`.
    async fn write_update(&self, actor: &Actor, stored: &StoredPerson, input: &PersonInput) -> Result<PersonView, CoreError> {
        let (id, expected) = (stored.row.id, stored.row.version);
        let prepared = self.prepare_person(actor, input).await?;
        // The answer shows the record: it is a read (budget, honeytokens) as well as a write.
        self.guard_reads(actor, &[id], "update").await?;
        let wrapped = stored.wrapped_key.as_ref().ok_or(CoreError::NotFound)?;
        let key = self.keys.open_subject_key(id, wrapped)?;
        let (row, names) = self.build_row(id, &prepared, &key, self.now(), expected + 1, stored.row.created_at)?;
        let view = PersonView {
            id,
            fields: prepared.data.to_raw(),
            tags: row.tags.clone(),
            owner_id: row.owner_id,
            unit: row.unit.clone(),
            company_id: row.company_id,
            version: expected + 1,
            created_at: row.created_at,
            updated_at: row.updated_at,
            masked: Vec::new(),
        };
        let access = self.access_to(actor, &row).1;
        let mut ev = self.event(actor, AuditAction::PersonUpdate, "person", &id.to_string());
        ev.subject_id = ev.resource_id.clone();
        ev.fields = view.shown_fields();
        if !self.store.person_update(row, names, expected, vec![ev]).await? {
            return Err(CoreError::PreconditionFailed);
        }
        Ok(view.masked_for(access))
    }

    /// Deletes a person, their activities and their key.
    pub async fn delete_person(&self, actor: &Actor, id: Uuid) -> Result<(), CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Delete)?;
        let _permit = self.visible_person(actor, Action::Delete, id).await?;
        self.alert_honeytokens(actor, &[id], "delete").await?;
        let mut ev = self.event(actor, AuditAction::PersonDelete, "person", &id.to_string());
        ev.subject_id = ev.resource_id.clone();
        if self.store.person_delete(id, vec![ev]).await? { Ok(()) } else { Err(CoreError::NotFound) }
    }

    pub(crate) fn list_query(
        &self,
        actor: &Actor,
        owner: Option<Uuid>,
        unit: Option<String>,
        tag: Option<String>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<ListQuery, CoreError> {
        Ok(ListQuery {
            visibility: visibility(actor),
            owner,
            unit,
            tag: tag.map(|t| t.trim().to_lowercase()),
            after: decode_cursor(cursor)?,
            limit: check_limit(limit)? + 1,
            links: Default::default(),
        })
    }

    /// Decrypts what the caller may read from a fetched page; the extra row tells if more exist.
    /// Each readable row, unmasked, with what the caller may see of it.
    #[allow(clippy::type_complexity)]
    fn page_of(
        &self,
        actor: &Actor,
        mut rows: Vec<StoredPerson>,
        limit: u32,
        restricted: &std::collections::HashSet<Uuid>,
    ) -> Result<(Vec<(PersonView, FieldAccess)>, Option<Uuid>, bool), CoreError> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let last = rows.last().map(|r| r.row.id);
        let mut items = Vec::with_capacity(rows.len());
        let policy = self.policy();
        for r in &rows {
            let res = Resource::person(&r.row);
            if restricted.contains(&r.row.id) && !Self::sees_restricted(actor) {
                continue;
            }
            if let Ok(permit) = authorize(&policy, actor, Action::Read, res)
                && r.wrapped_key.is_some()
            {
                let access = field_access(&policy, actor, res).1;
                items.push((self.decrypt(r, &permit)?, access));
            }
        }
        Ok((items, last, more))
    }

    pub async fn list_people(&self, actor: &Actor, f: &PeopleFilter) -> Result<Page<PersonView>, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Read)?;
        let q = self.list_query(actor, f.owner, f.unit.clone(), f.tag.clone(), f.cursor.as_deref(), f.limit)?;
        let limit = q.limit - 1;
        let rows = self.store.people_list(q).await?;
        let restricted = self.restricted_people().await?;
        let (items, last, more) = self.page_of(actor, rows, limit, &restricted)?;
        let items: Vec<PersonView> = items.into_iter().map(|(v, access)| v.masked_for(access)).collect();
        let ids: Vec<Uuid> = items.iter().map(|v| v.id).collect();
        self.guard_reads(actor, &ids, if actor.scope == crate::authz::Scope::Operator { "export" } else { "list" }).await?;
        self.audit(items.iter().map(|v| self.read_event(actor, v, "list")).collect()).await?;
        Ok(Page { items, next_cursor: if more { last.map(encode_cursor) } else { None } })
    }

    /// Exact search on blind indexes; candidates are decrypted and false positives dropped.
    pub async fn search_people(&self, actor: &Actor, c: &SearchCriteria) -> Result<Page<PersonView>, CoreError> {
        crate::authz::require_scope(actor, RecordKind::Person, Action::Read)?;
        let mut errs = ValidationErrors::default();
        let email = c.email.as_deref().and_then(|e| Email::parse(e).map_err(|x| errs.push("email", x.0)).ok()).map(|e| e.normalized());
        let phone = c
            .phone
            .as_deref()
            .and_then(|p| Phone::parse(p, self.settings.default_region).map_err(|x| errs.push("phone", x.0)).ok())
            .map(|p| p.as_str().to_string());
        let national_id = c.national_id.as_deref().map(normalise_national_id).filter(|n| !n.is_empty());
        if c.national_id.is_some() && national_id.is_none() {
            errs.push("national_id", "must contain letters or digits");
        }
        let tokens = c.name.as_deref().map(name_tokens).unwrap_or_default();
        if c.name.is_some() && tokens.is_empty() {
            errs.push("name", "must contain at least one letter or digit");
        }
        if email.is_none() && phone.is_none() && national_id.is_none() && tokens.is_empty() && errs.is_empty() {
            errs.push("email", "give at least one of email, phone, national_id, name");
        }
        errs.into_result(())?;

        // A criterion only matches a record whose field the caller may read: searching must not
        // confirm a value the caller could not see. That is decided from the policies before
        // anything is read, and for each candidate before it is decrypted.
        let needs_personal = email.is_some() || phone.is_some() || !tokens.is_empty();
        let needs_sensitive = national_id.is_some();
        let readable = |a: &FieldAccess| {
            (!needs_personal || a.contains(FieldClass::Personal)) && (!needs_sensitive || a.contains(FieldClass::Sensitive))
        };
        let policy = self.policy();
        if !readable(&crate::authz::readable_somewhere(&policy, actor)) {
            // No record would show this criterion's field to this role: nothing to look up.
            return self.searched(actor, Page { items: Vec::new(), next_cursor: None }).await;
        }
        let (index, term) = if let Some(e) = &email {
            (BlindIndex::Email, e.clone())
        } else if let Some(n) = &national_id {
            (BlindIndex::NationalId, n.clone())
        } else if let Some(p) = &phone {
            (BlindIndex::Phone, p.clone())
        } else {
            // The longest word of the query, as a prefix when it is long enough to be one.
            let longest = tokens.iter().max_by_key(|t| t.chars().count()).map_or("", String::as_str);
            (BlindIndex::Name, name_search_term(longest))
        };
        let (column, value) = (index, self.keys.bidx(index, &term));
        let matches = |v: &PersonView| {
            let f = &v.fields;
            email.as_ref().is_none_or(|e| f.email.as_deref().map(str::to_lowercase).as_ref() == Some(e))
                && phone.as_ref().is_none_or(|p| f.phone.as_ref() == Some(p))
                && national_id.as_ref().is_none_or(|n| f.national_id.as_deref().map(normalise_national_id).as_ref() == Some(n))
                && (tokens.is_empty() || {
                    let have: Vec<String> = [&f.first_name, &f.last_name].into_iter().flatten().flat_map(|s| name_tokens(s)).collect();
                    // Every word of the query begins a word of the name (a short one: is one).
                    tokens
                        .iter()
                        .all(|t| have.iter().any(|h| h == t || (t.chars().count() >= NAME_PREFIX_MIN && h.starts_with(t.as_str()))))
                })
        };

        let mut q = self.list_query(actor, None, None, None, c.cursor.as_deref(), c.limit)?;
        let limit = (q.limit - 1) as usize;
        let mut items: Vec<PersonView> = Vec::new();
        let mut examined = 0usize;
        let restricted = self.restricted_people().await?;
        // Candidates come in id order; keep fetching until the page is full, they run out, or
        // this request has examined its share (then the cursor resumes after the last one).
        loop {
            let rows = self.store.people_by_bidx(column, value, q.clone()).await?;
            let exhausted = rows.len() < q.limit as usize;
            for r in &rows {
                if examined == SEARCH_MAX_CANDIDATES {
                    let next = q.after.map(encode_cursor);
                    return self.searched(actor, Page { items, next_cursor: next }).await;
                }
                examined += 1;
                if restricted.contains(&r.row.id) && !Self::sees_restricted(actor) {
                    q.after = Some(r.row.id);
                    continue;
                }
                let res = Resource::person(&r.row);
                let Ok(permit) = authorize(&policy, actor, Action::Read, res) else {
                    q.after = Some(r.row.id);
                    continue;
                };
                let access = field_access(&policy, actor, res).1;
                if r.wrapped_key.is_none() || !readable(&access) {
                    q.after = Some(r.row.id);
                    continue;
                }
                let view = self.decrypt(r, &permit)?;
                if !matches(&view) {
                    q.after = Some(r.row.id);
                    continue;
                }
                if items.len() == limit {
                    let next = items.last().map(|x| encode_cursor(x.id));
                    return self.searched(actor, Page { items, next_cursor: next }).await;
                }
                q.after = Some(r.row.id);
                items.push(view.masked_for(access));
            }
            if exhausted {
                return self.searched(actor, Page { items, next_cursor: None }).await;
            }
        }
    }

    /// Audits a search (how many results, never the terms) and each person it shows.
    async fn searched(&self, actor: &Actor, page: Page<PersonView>) -> Result<Page<PersonView>, CoreError> {
        let ids: Vec<Uuid> = page.items.iter().map(|v| v.id).collect();
        self.guard_reads(actor, &ids, "search").await?;
        let mut ev = self.event(actor, AuditAction::PeopleSearch, "person", "");
        ev.detail = format!("results={}", page.items.len());
        let mut events = vec![ev];
        events.extend(page.items.iter().map(|v| self.read_event(actor, v, "search")));
        self.audit(events).await?;
        Ok(page)
    }
}
