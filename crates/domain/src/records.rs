//! Companies, deals and activities: their validation and the sales pipeline. These records are
//! encrypted with their business unit's key; the values here are business data, but names of
//! companies and the text of notes can still identify people, so none of them is logged.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::ValidationErrors;
use crate::people::parse_date;
use crate::values::{CurrencyCode, Invalid, VatId, check_text};

/// What a record is: a person, or a company, deal or activity (the three kinds kept in the
/// records tables). The one vocabulary of kinds: policies (as Cedar's `Sejf::RecordKind`),
/// the audit trail (its resource types and actions), API-token scopes (the plural) and the store
/// (its tables) all name a kind through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Person,
    Company,
    Deal,
    Activity,
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [RecordKind::Person, RecordKind::Company, RecordKind::Deal, RecordKind::Activity];

    /// One record: `person`, `company`, `deal`, `activity` (Cedar's entity names, the trail's
    /// resource types).
    pub fn singular(self) -> &'static str {
        match self {
            RecordKind::Person => "person",
            RecordKind::Company => "company",
            RecordKind::Deal => "deal",
            RecordKind::Activity => "activity",
        }
    }

    /// Many records: `people`, `companies`, `deals`, `activities` (routes and token scopes).
    pub fn plural(self) -> &'static str {
        match self {
            RecordKind::Person => "people",
            RecordKind::Company => "companies",
            RecordKind::Deal => "deals",
            RecordKind::Activity => "activities",
        }
    }

    /// The kind's position in [`RecordKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            RecordKind::Person => 0,
            RecordKind::Company => 1,
            RecordKind::Deal => 2,
            RecordKind::Activity => 3,
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.singular())
    }
}

impl std::str::FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.singular() == s)
            .ok_or_else(|| "unknown record kind; expected one of person, company, deal, activity".to_string())
    }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 10_000;
pub const MAX_URL: usize = 2_000;

/// The default pipeline; configurable per installation.
pub const DEFAULT_STAGES: [&str; 6] = ["lead", "qualified", "proposal", "negotiation", "won", "lost"];

/// An ordered list of deal stages. Stage names are slugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline(Vec<String>);

impl Pipeline {
    pub fn new(stages: Vec<String>) -> Result<Self, Invalid> {
        if stages.is_empty() {
            return Err(Invalid("a pipeline needs at least one stage".into()));
        }
        for s in &stages {
            if s.is_empty() || s.len() > 32 || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
                return Err(Invalid("stage names are 1 to 32 lower-case letters, digits, '-' or '_'".into()));
            }
        }
        let mut seen = stages.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != stages.len() {
            return Err(Invalid("stage names must be unique".into()));
        }
        Ok(Self(stages))
    }

    pub fn stages(&self) -> &[String] {
        &self.0
    }

    pub fn first(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or("lead")
    }

    pub fn contains(&self, stage: &str) -> bool {
        self.0.iter().any(|s| s == stage)
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self(DEFAULT_STAGES.iter().map(|s| s.to_string()).collect())
    }
}

fn required_text(errs: &mut ValidationErrors, field: &str, v: &Option<String>, max: usize) -> String {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errs.push(field, "is required");
            String::new()
        }
        Some(s) => {
            if let Err(e) = check_text(s, max) {
                errs.push(field, e.0);
            }
            s.to_string()
        }
    }
}

fn optional<T>(errs: &mut ValidationErrors, field: &str, v: &Option<String>, f: impl FnOnce(&str) -> Result<T, Invalid>) -> Option<T> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    f(s).map_err(|e| errs.push(field, e.0)).ok()
}

/// A company as sent.
#[derive(Debug, Clone, Default)]
pub struct CompanyRaw {
    pub name: Option<String>,
    pub vat_id: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyData {
    pub name: String,
    pub vat_id: Option<VatId>,
    pub website: Option<String>,
}

/// An `http` or `https` URL with a host, no spaces or control characters.
pub fn parse_website(s: &str) -> Result<String, Invalid> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| Invalid("must be an http:// or https:// URL".into()))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || !host.contains('.') || s.len() > MAX_URL || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid("must be an http:// or https:// URL with a host name".into()));
    }
    Ok(s.to_string())
}

impl CompanyData {
    pub fn parse(raw: &CompanyRaw) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = required_text(&mut errs, "name", &raw.name, MAX_TITLE);
        let vat_id = optional(&mut errs, "vat_id", &raw.vat_id, VatId::parse);
        let website = optional(&mut errs, "website", &raw.website, parse_website);
        errs.into_result(Self { name, vat_id, website })
    }
}

/// A deal as sent. Links (person, company) are checked by the use-case, which can see them.
#[derive(Clone, Default)]
pub struct DealRaw {
    pub title: Option<String>,
    /// A decimal with at most two fraction digits, e.g. "12500.50".
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub stage: Option<String>,
    pub expected_close: Option<String>,
}

crate::redacted_debug!(DealRaw { stage, currency });

#[derive(Clone, PartialEq, Eq)]
pub struct DealData {
    pub title: String,
    /// In minor units (hundredths).
    pub amount_minor: Option<i64>,
    pub currency: Option<CurrencyCode>,
    pub stage: String,
    pub expected_close: Option<Date>,
}

crate::redacted_debug!(DealData { stage, currency, amount_minor });

/// Parses a non-negative decimal amount with at most two fraction digits into hundredths.
pub fn parse_amount(s: &str) -> Result<i64, Invalid> {
    let bad = || Invalid("must be a non-negative amount with at most two decimal places".into());
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 15
        || frac.len() > 2
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = int.parse().map_err(|_| bad())?;
    let mut cents: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
    if frac.len() == 1 {
        cents *= 10;
    }
    whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)
}

/// Hundredths back to a decimal string without needless zeros ("12500", "12500.5").
pub fn format_amount(minor: i64) -> String {
    let (w, c) = (minor / 100, minor % 100);
    match c {
        0 => w.to_string(),
        c if c % 10 == 0 => format!("{w}.{}", c / 10),
        c => format!("{w}.{c:02}"),
    }
}

impl DealData {
    pub fn parse(raw: &DealRaw, pipeline: &Pipeline, default_currency: CurrencyCode) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let title = required_text(&mut errs, "title", &raw.title, MAX_TITLE);
        let amount_minor = optional(&mut errs, "amount", &raw.amount, parse_amount);
        let mut currency = optional(&mut errs, "currency", &raw.currency, CurrencyCode::parse);
        if amount_minor.is_some() && currency.is_none() && raw.currency.is_none() {
            currency = Some(default_currency);
        }
        let stage = match raw.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => pipeline.first().to_string(),
            Some(s) if pipeline.contains(s) => s.to_string(),
            Some(_) => {
                errs.push("stage", format!("must be one of: {}", pipeline.stages().join(", ")));
                String::new()
            }
        };
        let expected_close = optional(&mut errs, "expected_close", &raw.expected_close, parse_date);
        errs.into_result(Self { title, amount_minor, currency, stage, expected_close })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Note,
    Call,
    Email,
    Meeting,
    Task,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Note => "note",
            ActivityKind::Call => "call",
            ActivityKind::Email => "email",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Task => "task",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "note" => Ok(Self::Note),
            "call" => Ok(Self::Call),
            "email" => Ok(Self::Email),
            "meeting" => Ok(Self::Meeting),
            "task" => Ok(Self::Task),
            _ => Err(Invalid("must be one of: note, call, email, meeting, task".into())),
        }
    }
}

#[derive(Clone, Default)]
pub struct ActivityRaw {
    pub kind: Option<String>,
    pub body: Option<String>,
    /// RFC 3339 date-time.
    pub due_at: Option<String>,
    pub done: Option<bool>,
}

crate::redacted_debug!(ActivityRaw { kind, done });

#[derive(Clone, PartialEq, Eq)]
pub struct ActivityData {
    pub kind: ActivityKind,
    pub body: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    pub done: bool,
}

crate::redacted_debug!(ActivityData { kind, done });

pub fn parse_datetime(s: &str) -> Result<OffsetDateTime, Invalid> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| Invalid("must be an RFC 3339 date-time, e.g. 2026-05-01T09:00:00Z".into()))
}

impl ActivityData {
    pub fn parse(raw: &ActivityRaw) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let kind = match raw.kind.as_deref() {
            None => {
                errs.push("kind", "is required");
                ActivityKind::Note
            }
            Some(k) => ActivityKind::parse(k).map_err(|e| errs.push("kind", e.0)).unwrap_or(ActivityKind::Note),
        };
        let body = raw
            .body
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|b| check_text(b, MAX_BODY).map_err(|e| errs.push("body", e.0)).ok().map(|()| b.to_string()));
        let due_at = optional(&mut errs, "due_at", &raw.due_at, parse_datetime);
        errs.into_result(Self { kind, body, due_at, done: raw.done.unwrap_or(false) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_hundredths_and_back() {
        assert_eq!(parse_amount("12500").unwrap(), 1_250_000);
        assert_eq!(parse_amount("12500.5").unwrap(), 1_250_050);
        assert_eq!(parse_amount("0.05").unwrap(), 5);
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("1.234").is_err());
        assert!(parse_amount("1e5").is_err());
        assert_eq!(format_amount(1_250_050), "12500.5");
        assert_eq!(format_amount(5), "0.05");
    }

    #[test]
    fn deal_stage_must_be_in_the_pipeline() {
        let p = Pipeline::default();
        let pln = CurrencyCode::parse("PLN").unwrap();
        let d = DealData::parse(&DealRaw { title: Some("Licences".into()), ..Default::default() }, &p, pln).unwrap();
        assert_eq!(d.stage, "lead");
        let e = DealData::parse(&DealRaw { title: Some("x".into()), stage: Some("won-ish".into()), ..Default::default() }, &p, pln)
            .unwrap_err();
        assert_eq!(e.0[0].field, "stage");
    }
}
