//! The vocabulary of the three kinds of record: their placement and links, the view a caller
//! gets, and for each kind ([`Kind`]) its fields, their classes, how its raw input splits into
//! plaintext attributes and the encrypted payload, and how a payload is masked.

use sejf_domain::ValidationErrors;
use sejf_domain::people::format_date;
use sejf_domain::records::{ActivityData, ActivityRaw, CompanyData, CompanyRaw, DealData, DealRaw, format_amount};
use sejf_policy::FieldClass;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::Settings;
use crate::authz::FieldAccess;
use crate::ports::RecordKind;

/// Placement and links shared by the three kinds.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub owner_id: Option<Uuid>,
    pub unit: Option<String>,
    pub person_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
}

/// A stored record, decrypted: `attrs` and `payload` are the kind's own fields.
#[derive(Debug, Clone)]
pub struct RecordView<A, P> {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub unit: String,
    pub person_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub attrs: A,
    pub payload: P,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Fields left out because the caller may not read their class.
    pub masked: Vec<&'static str>,
}

/// One kind of record: how its input is validated and split into attributes and payload.
pub trait Kind: Send + Sync + 'static {
    const KIND: RecordKind;
    type Raw: Send + Sync;
    type Attrs: Serialize + DeserializeOwned + Send + Sync;
    type Payload: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// Which links the kind has (others must be absent).
    const LINKS: (bool, bool, bool);
    /// The class of each field of the kind (links, owner, unit and times are public).
    const FIELDS: &'static [(&'static str, FieldClass)];
    fn split(raw: &Self::Raw, settings: &Settings) -> Result<(Self::Attrs, Self::Payload), ValidationErrors>;
    /// Leaves out the fields of classes `access` does not allow; names those that held a value.
    fn mask(payload: &mut Self::Payload, access: FieldAccess) -> Vec<&'static str>;
    /// The names of the fields with a value shown in clear (for the audit trail).
    fn shown(payload: &Self::Payload) -> Vec<&'static str>;
    /// Puts the `stored` value of every field of a class `access` does not allow back into
    /// `raw`: what an edit form saves cannot clear or overwrite a field its user may not read.
    fn keep_hidden(raw: &mut Self::Raw, stored: &Self::Payload, access: FieldAccess);
}

/// The class of a field of any kind of record, by name (`national_id`, `title`, `body`, …).
pub fn field_class(name: &str) -> Option<FieldClass> {
    if let Ok(field) = name.parse::<sejf_domain::fields::PersonField>() {
        return Some(field.class());
    }
    let kinds: [&[(&str, FieldClass)]; 3] = [Company::FIELDS, Deal::FIELDS, Activity::FIELDS];
    kinds.into_iter().flatten().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The names of `kind`'s fields that `access` does not let the caller read.
pub(crate) fn hidden(fields: &'static [(&'static str, FieldClass)], access: FieldAccess) -> impl Iterator<Item = &'static str> {
    fields.iter().filter(move |(_, class)| !access.contains(*class)).map(|(name, _)| *name)
}

/// How many companies a name search looks at, at most.
pub const COMPANY_SEARCH_SCAN: usize = 2_000;

pub struct Company;
pub struct Deal;
pub struct Activity;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct NoAttrs {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompanyPayload {
    pub name: String,
    pub vat_id: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealAttrs {
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub stage: String,
    pub expected_close: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct DealPayload {
    /// Always stored; None only in a view that masks it.
    pub title: Option<String>,
}

sejf_domain::redacted_debug!(DealPayload {});

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityAttrs {
    pub kind: String,
    pub due_at: Option<String>,
    pub done: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct ActivityPayload {
    pub body: Option<String>,
}

sejf_domain::redacted_debug!(ActivityPayload {});

impl Kind for Company {
    const KIND: RecordKind = RecordKind::Company;
    const LINKS: (bool, bool, bool) = (false, false, false);
    const FIELDS: &'static [(&'static str, FieldClass)] =
        &[("name", FieldClass::Public), ("vat_id", FieldClass::Public), ("website", FieldClass::Public)];
    type Raw = CompanyRaw;
    type Attrs = NoAttrs;
    type Payload = CompanyPayload;
    fn split(raw: &CompanyRaw, _: &Settings) -> Result<(NoAttrs, CompanyPayload), ValidationErrors> {
        let d = CompanyData::parse(raw)?;
        Ok((NoAttrs {}, CompanyPayload { name: d.name, vat_id: d.vat_id.map(|v| v.as_str().to_string()), website: d.website }))
    }
    fn mask(p: &mut CompanyPayload, access: FieldAccess) -> Vec<&'static str> {
        // Every field is public; a policy that refuses even those leaves nothing readable but
        // the record's existence.
        let mut masked = Vec::new();
        if !access.contains(FieldClass::Public) {
            masked.push("name");
            p.name = String::new();
            if p.vat_id.take().is_some() {
                masked.push("vat_id");
            }
            if p.website.take().is_some() {
                masked.push("website");
            }
        }
        masked
    }
    fn shown(p: &CompanyPayload) -> Vec<&'static str> {
        let mut f = Vec::new();
        if !p.name.is_empty() {
            f.push("name");
        }
        f.extend(p.vat_id.as_ref().map(|_| "vat_id"));
        f.extend(p.website.as_ref().map(|_| "website"));
        f
    }
    fn keep_hidden(raw: &mut CompanyRaw, stored: &CompanyPayload, access: FieldAccess) {
        for name in hidden(Self::FIELDS, access) {
            match name {
                "name" => raw.name = Some(stored.name.clone()),
                "vat_id" => raw.vat_id = stored.vat_id.clone(),
                "website" => raw.website = stored.website.clone(),
                // FIELDS names no other field.
                _ => {}
            }
        }
    }
}

impl Kind for Deal {
    const KIND: RecordKind = RecordKind::Deal;
    const LINKS: (bool, bool, bool) = (true, true, false);
    const FIELDS: &'static [(&'static str, FieldClass)] = &[("title", FieldClass::Personal)];
    type Raw = DealRaw;
    type Attrs = DealAttrs;
    type Payload = DealPayload;
    fn split(raw: &DealRaw, s: &Settings) -> Result<(DealAttrs, DealPayload), ValidationErrors> {
        let d = DealData::parse(raw, &s.pipeline, s.default_currency)?;
        Ok((
            DealAttrs {
                amount: d.amount_minor.map(format_amount),
                currency: d.currency.map(|c| c.as_str().to_string()),
                stage: d.stage,
                expected_close: d.expected_close.map(format_date),
            },
            DealPayload { title: Some(d.title) },
        ))
    }
    fn mask(p: &mut DealPayload, access: FieldAccess) -> Vec<&'static str> {
        hidden(Self::FIELDS, access).filter(|_| p.title.take().is_some()).collect()
    }
    fn shown(p: &DealPayload) -> Vec<&'static str> {
        p.title.as_ref().map(|_| "title").into_iter().collect()
    }
    fn keep_hidden(raw: &mut DealRaw, stored: &DealPayload, access: FieldAccess) {
        if hidden(Self::FIELDS, access).next().is_some() {
            raw.title = stored.title.clone();
        }
    }
}

impl Kind for Activity {
    const KIND: RecordKind = RecordKind::Activity;
    const LINKS: (bool, bool, bool) = (true, false, true);
    const FIELDS: &'static [(&'static str, FieldClass)] = &[("body", FieldClass::Personal)];
    type Raw = ActivityRaw;
    type Attrs = ActivityAttrs;
    type Payload = ActivityPayload;
    fn split(raw: &ActivityRaw, _: &Settings) -> Result<(ActivityAttrs, ActivityPayload), ValidationErrors> {
        let d = ActivityData::parse(raw)?;
        Ok((
            ActivityAttrs { kind: d.kind.as_str().to_string(), due_at: d.due_at.and_then(|t| t.format(&Rfc3339).ok()), done: d.done },
            ActivityPayload { body: d.body },
        ))
    }
    fn mask(p: &mut ActivityPayload, access: FieldAccess) -> Vec<&'static str> {
        hidden(Self::FIELDS, access).filter(|_| p.body.take().is_some()).collect()
    }
    fn shown(p: &ActivityPayload) -> Vec<&'static str> {
        p.body.as_ref().map(|_| "body").into_iter().collect()
    }
    fn keep_hidden(raw: &mut ActivityRaw, stored: &ActivityPayload, access: FieldAccess) {
        if hidden(Self::FIELDS, access).next().is_some() {
            raw.body = stored.body.clone();
        }
    }
}
