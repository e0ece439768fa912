//! Wire types of the HTTP API (DESIGN.md's contract): separate from domain types, with unknown
//! fields refused and OpenAPI schemas derived from the code.

use sejf_core::people::{PersonInput, PersonView};
use sejf_core::records::{ActivityAttrs, ActivityPayload, CompanyPayload, DealAttrs, DealPayload, Links, NoAttrs, RecordView};
use sejf_core::rfc3339;
use sejf_domain::people::{AddressRaw, PersonRaw};
use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

sejf_domain::redacted_debug!(AddressDto {});

/// A person as sent to `POST /people` (and, merged, by `PATCH`).
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Normalised to E.164; national numbers use the configured default region.
    pub phone: Option<String>,
    /// PESEL for Polish residents (checksum and birth date checked).
    pub national_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub address: Option<AddressDto>,
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub unit: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

sejf_domain::redacted_debug!(PersonIn {});

#[derive(Clone, Serialize, ToSchema)]
pub struct PersonOut {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub birth_date: Option<String>,
    pub address: Option<AddressDto>,
    pub company_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub unit: String,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Fields masked or left out because the caller may not read their class; see
    /// `POST /people/{id}/reveal`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

sejf_domain::redacted_debug!(PersonOut { id });

/// `POST /people/{id}/reveal`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealIn {
    /// Field names, e.g. ["national_id", "birth_date"].
    pub fields: Vec<String>,
    /// Why: recorded with the access.
    pub purpose: String,
}

sejf_domain::redacted_debug!(RevealIn {});

impl PersonIn {
    pub fn into_input(self) -> PersonInput {
        PersonInput {
            raw: PersonRaw {
                first_name: self.first_name,
                last_name: self.last_name,
                email: self.email,
                phone: self.phone,
                national_id: self.national_id,
                birth_date: self.birth_date,
                address: self.address.map(|a| AddressRaw {
                    street: a.street,
                    city: a.city,
                    postal_code: a.postal_code,
                    country: a.country,
                }),
                notes: self.notes,
            },
            tags: self.tags,
            owner_id: self.owner_id,
            unit: self.unit,
            company_id: self.company_id,
        }
    }

    /// The input that would recreate a stored person (the base of a merge patch).
    pub fn from_view(v: &PersonView) -> Self {
        let f = v.fields.clone();
        Self {
            first_name: f.first_name,
            last_name: f.last_name,
            email: f.email,
            phone: f.phone,
            national_id: f.national_id,
            birth_date: f.birth_date,
            address: f.address.map(|a| AddressDto { street: a.street, city: a.city, postal_code: a.postal_code, country: a.country }),
            company_id: v.company_id,
            owner_id: Some(v.owner_id),
            unit: Some(v.unit.clone()),
            tags: v.tags.clone(),
            notes: f.notes,
        }
    }
}

impl From<PersonView> for PersonOut {
    fn from(v: PersonView) -> Self {
        let f = v.fields;
        Self {
            id: v.id,
            first_name: f.first_name,
            last_name: f.last_name,
            email: f.email,
            phone: f.phone,
            national_id: f.national_id,
            birth_date: f.birth_date,
            address: f.address.map(|a| AddressDto { street: a.street, city: a.city, postal_code: a.postal_code, country: a.country }),
            company_id: v.company_id,
            owner_id: v.owner_id,
            unit: v.unit,
            tags: v.tags,
            notes: f.notes,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            masked: v.masked.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// `GET /people` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
}

/// `GET /companies|deals|activities` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    /// Only records linked to this person (deals, activities).
    pub person_id: Option<Uuid>,
    /// Only records linked to this company (deals).
    pub company_id: Option<Uuid>,
    /// Only records linked to this deal (activities).
    pub deal_id: Option<Uuid>,
    /// Only deals in this pipeline stage.
    pub stage: Option<String>,
    /// Only activities of this kind (call, note, email, meeting, task).
    pub kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// `POST /people/search`: personal data travels in the body, never in a URL.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIn {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    /// One or more name tokens; case and diacritics are ignored.
    pub name: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

sejf_domain::redacted_debug!(SearchIn {});

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: String,
    pub password: String,
    /// A TOTP code (accepted once MFA is enrolled).
    pub totp: Option<String>,
}

sejf_domain::redacted_debug!(LoginIn { username });

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub token: String,
    pub expires_at: String,
    /// "enroll" when the account must still enrol TOTP: the token can then only enrol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<String>,
    /// true when an administrator set the password: the token may then only call
    /// `POST /auth/password`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
}

sejf_domain::redacted_debug!(LoginOut { expires_at });

#[derive(Serialize, ToSchema)]
pub struct EnrollOut {
    /// Scan this in an authenticator app.
    pub otpauth_uri: String,
    /// The shared secret in base32, for typing by hand.
    pub secret: String,
}

sejf_domain::redacted_debug!(EnrollOut {});

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// The current 6-digit code.
    pub code: String,
}

sejf_domain::redacted_debug!(ConfirmIn {});

#[derive(Serialize, ToSchema)]
pub struct ConfirmOut {
    /// Ten single-use codes for when the authenticator is lost; shown once.
    pub recovery_codes: Vec<String>,
}

sejf_domain::redacted_debug!(ConfirmOut {});

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: Uuid,
    pub created_at: String,
    pub last_seen: String,
    pub expires_at: String,
    /// The session of the token making this request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub units: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub units: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    pub service: bool,
    pub mfa_enabled: bool,
    /// The account's next sign-in may only change its password (an administrator set it).
    pub must_change_password: bool,
    /// A privileged role asked for by this request waits for a second administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_grant: Option<GrantOut>,
}

/// A grant of a privileged role (admin, manager, dpo, auditor) made through the admin API.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: String,
    /// "create" (the account waits disabled) or "role" (a role change).
    pub kind: String,
    pub requested_by: String,
    pub requested_at: String,
    /// pending, approved or refused.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// A change of one's own password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    pub current_password: String,
    pub new_password: String,
    /// A current TOTP code (required once MFA is enrolled).
    pub totp: Option<String>,
}

sejf_domain::redacted_debug!(PasswordIn {});

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<String>,
    /// A new password: the user must change it at the next sign-in; their sessions end.
    pub password: Option<String>,
    /// `true` disables the user and ends their sessions.
    pub disabled: Option<bool>,
}

sejf_domain::redacted_debug!(UserPatch {});

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub username: String,
    pub role: String,
    #[serde(default)]
    pub units: Vec<String>,
    pub password: String,
}

sejf_domain::redacted_debug!(UserIn { username });

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyIn {
    pub name: Option<String>,
    /// NIP (checksum checked) or an EU VAT id with its country prefix.
    pub vat_id: Option<String>,
    pub website: Option<String>,
    pub unit: Option<String>,
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyOut {
    pub id: Uuid,
    pub name: String,
    pub vat_id: Option<String>,
    pub website: Option<String>,
    pub unit: String,
    pub owner_id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    /// Fields left out because the caller may not read their class.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

/// A money amount: a JSON number or a decimal string, at most two decimals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AmountIn {
    Number(serde_json::Number),
    Text(String),
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealIn {
    pub title: Option<String>,
    #[schema(value_type = Option<f64>)]
    pub amount: Option<AmountIn>,
    /// ISO 4217; defaults to the installation's currency when an amount is given.
    pub currency: Option<String>,
    pub stage: Option<String>,
    pub person_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub unit: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_close: Option<String>,
}

sejf_domain::redacted_debug!(DealIn { stage, person_id, company_id, owner_id, unit });

#[derive(Serialize, ToSchema)]
pub struct DealOut {
    pub id: Uuid,
    /// Personal: left out (and listed in `masked`) for roles that may not read it.
    pub title: Option<String>,
    #[schema(value_type = Option<f64>)]
    pub amount: Option<serde_json::Number>,
    pub currency: Option<String>,
    pub stage: String,
    pub person_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub unit: String,
    pub expected_close: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

sejf_domain::redacted_debug!(DealOut { id, stage, person_id, company_id, owner_id, unit, masked });

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    /// note, call, email, meeting or task.
    pub kind: Option<String>,
    pub person_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub body: Option<String>,
    /// RFC 3339 date-time.
    pub due_at: Option<String>,
    pub done: Option<bool>,
    pub owner_id: Option<Uuid>,
    pub unit: Option<String>,
}

sejf_domain::redacted_debug!(ActivityIn { kind, person_id, deal_id, done, owner_id, unit });

#[derive(Serialize, ToSchema)]
pub struct ActivityOut {
    pub id: Uuid,
    pub kind: String,
    pub person_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    /// Personal: left out (and listed in `masked`) for roles that may not read it.
    pub body: Option<String>,
    pub due_at: Option<String>,
    pub done: bool,
    pub owner_id: Uuid,
    pub unit: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

sejf_domain::redacted_debug!(ActivityOut { id, kind, person_id, deal_id, done, owner_id, unit, masked });

/// Maps one kind of record between the wire and the use-cases.
pub trait RecordApi: Send + Sync + 'static {
    type K: sejf_core::records::Kind;
    type In: serde::de::DeserializeOwned + Serialize + Send;
    type Out: Serialize + Send;
    fn split(input: Self::In) -> (<Self::K as sejf_core::records::Kind>::Raw, Links);
    fn out(v: View<Self::K>) -> Self::Out;
    fn to_in(v: &View<Self::K>) -> Self::In;
}

pub type View<K> = RecordView<<K as sejf_core::records::Kind>::Attrs, <K as sejf_core::records::Kind>::Payload>;

pub struct CompanyApi;
pub struct DealApi;
pub struct ActivityApi;

fn links(owner_id: Option<Uuid>, unit: Option<String>, person_id: Option<Uuid>, company_id: Option<Uuid>, deal_id: Option<Uuid>) -> Links {
    Links { owner_id, unit, person_id, company_id, deal_id }
}

impl RecordApi for CompanyApi {
    type K = sejf_core::records::Company;
    type In = CompanyIn;
    type Out = CompanyOut;
    fn split(i: CompanyIn) -> (CompanyRaw, Links) {
        (CompanyRaw { name: i.name, vat_id: i.vat_id, website: i.website }, links(i.owner_id, i.unit, None, None, None))
    }
    fn out(v: RecordView<NoAttrs, CompanyPayload>) -> CompanyOut {
        CompanyOut {
            id: v.id,
            name: v.payload.name,
            vat_id: v.payload.vat_id,
            website: v.payload.website,
            unit: v.unit,
            owner_id: v.owner_id,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            masked: masked(&v.masked),
        }
    }
    fn to_in(v: &RecordView<NoAttrs, CompanyPayload>) -> CompanyIn {
        CompanyIn {
            name: Some(v.payload.name.clone()),
            vat_id: v.payload.vat_id.clone(),
            website: v.payload.website.clone(),
            unit: Some(v.unit.clone()),
            owner_id: Some(v.owner_id),
        }
    }
}

fn masked(names: &[&'static str]) -> Vec<String> {
    names.iter().map(|m| m.to_string()).collect()
}

fn amount_number(s: &str) -> Option<serde_json::Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(i.into());
    }
    s.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

impl RecordApi for DealApi {
    type K = sejf_core::records::Deal;
    type In = DealIn;
    type Out = DealOut;
    fn split(i: DealIn) -> (DealRaw, Links) {
        let amount = i.amount.map(|a| match a {
            AmountIn::Number(n) => n.to_string(),
            AmountIn::Text(s) => s,
        });
        (
            DealRaw { title: i.title, amount, currency: i.currency, stage: i.stage, expected_close: i.expected_close },
            links(i.owner_id, i.unit, i.person_id, i.company_id, None),
        )
    }
    fn out(v: RecordView<DealAttrs, DealPayload>) -> DealOut {
        DealOut {
            id: v.id,
            title: v.payload.title,
            amount: v.attrs.amount.as_deref().and_then(amount_number),
            currency: v.attrs.currency,
            stage: v.attrs.stage,
            person_id: v.person_id,
            company_id: v.company_id,
            owner_id: v.owner_id,
            unit: v.unit,
            expected_close: v.attrs.expected_close,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            masked: masked(&v.masked),
        }
    }
    fn to_in(v: &RecordView<DealAttrs, DealPayload>) -> DealIn {
        DealIn {
            title: v.payload.title.clone(),
            amount: v.attrs.amount.clone().map(AmountIn::Text),
            currency: v.attrs.currency.clone(),
            stage: Some(v.attrs.stage.clone()),
            person_id: v.person_id,
            company_id: v.company_id,
            owner_id: Some(v.owner_id),
            unit: Some(v.unit.clone()),
            expected_close: v.attrs.expected_close.clone(),
        }
    }
}

impl RecordApi for ActivityApi {
    type K = sejf_core::records::Activity;
    type In = ActivityIn;
    type Out = ActivityOut;
    fn split(i: ActivityIn) -> (ActivityRaw, Links) {
        (
            ActivityRaw { kind: i.kind, body: i.body, due_at: i.due_at, done: i.done },
            links(i.owner_id, i.unit, i.person_id, None, i.deal_id),
        )
    }
    fn out(v: RecordView<ActivityAttrs, ActivityPayload>) -> ActivityOut {
        ActivityOut {
            id: v.id,
            kind: v.attrs.kind,
            person_id: v.person_id,
            deal_id: v.deal_id,
            body: v.payload.body,
            due_at: v.attrs.due_at,
            done: v.attrs.done,
            owner_id: v.owner_id,
            unit: v.unit,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            masked: masked(&v.masked),
        }
    }
    fn to_in(v: &RecordView<ActivityAttrs, ActivityPayload>) -> ActivityIn {
        ActivityIn {
            kind: Some(v.attrs.kind.clone()),
            person_id: v.person_id,
            deal_id: v.deal_id,
            body: v.payload.body.clone(),
            due_at: v.attrs.due_at.clone(),
            done: Some(v.attrs.done),
            owner_id: Some(v.owner_id),
            unit: Some(v.unit.clone()),
        }
    }
}

/// `POST /people/{id}/erase`, `POST /people/{id}/restrict`, `POST /people/{id}/legal-hold`,
/// `POST /people/{id}/objection`: why (recorded with the action).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GdprActionIn {
    /// Why, in at least a few visible characters, e.g. "request of 2026-12-01, ticket 4711".
    #[serde(default)]
    pub reason: Option<String>,
    /// `POST /people/{id}/restrict` only: true lifts the restriction.
    #[serde(default)]
    pub lift: Option<bool>,
}

sejf_domain::redacted_debug!(GdprActionIn { lift });

/// `POST /people/{id}/consents`: a consent given or withdrawn for one purpose and channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentIn {
    /// A purpose of the register, e.g. `newsletter`, `marketing`.
    pub purpose: String,
    /// `email`, `sms` or `phone`.
    pub channel: String,
    /// true: given; false: withdrawn.
    #[serde(alias = "given")]
    pub granted: Option<bool>,
    /// The version of the wording the person was shown.
    #[serde(default, alias = "wording")]
    pub wording_version: Option<String>,
    /// How it was collected, e.g. "web form", "phone call".
    #[serde(default)]
    pub source: Option<String>,
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    /// Secrets and personal values never reach a `{:?}` (a log line, a panic, an error chain).
    #[test]
    fn debug_output_carries_no_secret_or_personal_value() {
        let login = LoginIn { username: "ewa".into(), password: "tangerine-piano-7".into(), totp: Some("123456".into()) };
        let person = PersonIn { last_name: Some("Wiśniewska".into()), email: Some("zofia@firma.pl".into()), ..Default::default() };
        let change = PasswordIn { current_password: "old-secret-1".into(), new_password: "new-secret-2".into(), totp: None };
        let deal = DealIn {
            title: Some("Umowa Wiśniewskiej".into()),
            amount: None,
            currency: None,
            stage: Some("lead".into()),
            person_id: None,
            company_id: None,
            owner_id: None,
            unit: None,
            expected_close: None,
        };
        let activity = ActivityIn {
            kind: Some("call".into()),
            person_id: None,
            deal_id: None,
            body: Some("oddzwonić do zofia@firma.pl".into()),
            due_at: None,
            done: None,
            owner_id: None,
            unit: None,
        };
        let search = SearchIn { email: Some("zofia@firma.pl".into()), national_id: Some("44051401458".into()), ..Default::default() };
        let user = UserIn { username: "ewa".into(), role: "sales".into(), units: vec![], password: "tangerine-piano-8".into() };
        let patch = UserPatch { role: None, password: Some("tangerine-piano-9".into()), disabled: None };
        let reason = GdprActionIn { reason: Some("prośba Zofii Wiśniewskiej".into()), lift: None };
        let all = format!(
            "{login:?} {person:?} {change:?} {:?} {deal:?} {activity:?} {search:?} {user:?} {patch:?} {reason:?}",
            ConfirmIn { code: "654321".into() }
        );
        for secret in ["tangerine", "123456", "Wiśniewsk", "zofia@", "old-secret", "new-secret", "654321", "44051401458", "Zofii"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("LoginIn { username: \"ewa\", .. }"), "{all}");
    }
}
