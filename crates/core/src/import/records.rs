//! Importing companies, deals and activities (docs/adr/0023-imports.md). Links travel as what
//! a spreadsheet user knows: a deal names its person by e-mail and its company by NIP (or by
//! name), an activity names its person by e-mail and its deal by the id an export gave it.
//!
//! An import is checked whole and written in one transaction: a bad row or a link to nothing
//! writes nothing. A row matching a record already held (the same `id`; else a company's NIP or
//! name, a deal's title and links, an activity's kind, text, time and links) is skipped or, with
//! [`OnDuplicate::Fail`], stops the import. Exports carry each record's `id`, so importing an
//! export again skips what is there and an activity finds its deal.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw, RecordKind};
use sejf_domain::values::fold;
use uuid::Uuid;

use super::{ImportError, ImportReport, ImportRules, MAX_REPORTED, OnDuplicate, some_lines};
use crate::operator::operator_only;
use crate::people::SearchCriteria;
use crate::records::{Activity, Company, Deal, Imported, Kind, Links, RecordView};
use crate::{Actor, App, CoreError};

/// One data row of a records file: its line, and its non-empty cells by field name (`id`,
/// `name`, `vat_id`, `website`; `title`, `amount`, `currency`, `stage`, `expected_close`,
/// `person_email`, `company_vat_id`, `company_name`; `kind`, `body`, `due_at`, `done`,
/// `deal_id`).
#[derive(Clone, Default)]
pub struct RecordCells {
    pub line: u64,
    pub values: HashMap<&'static str, String>,
}

// The cells hold personal data (a person's e-mail, an activity's text): never in a `{:?}`.
sejf_domain::redacted_debug!(RecordCells { line });

impl RecordCells {
    fn get(&self, field: &str) -> Option<String> {
        self.values.get(field).cloned()
    }
}

/// One thing wrong with a row.
struct Problem {
    line: u64,
    field: String,
    reason: String,
}

impl Problem {
    fn new(line: u64, field: &str, reason: impl Into<String>) -> Problem {
        Problem { line, field: field.to_owned(), reason: reason.into() }
    }
}

/// A row's record, before sealing: its id (from the file, if any), fields, links and the key
/// that finds a duplicate.
struct Planned<R> {
    line: u64,
    id: Option<Uuid>,
    raw: R,
    links: Links,
    key: String,
}

/// What an import of records did: written, and duplicates skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordsImported {
    pub imported: usize,
    pub duplicates: usize,
}

impl App {
    /// Imports the companies, deals or activities of `rows` for `owner` (see the module
    /// documentation). Operator only.
    pub async fn import_records(
        self: &Arc<Self>,
        operator: &Actor,
        owner: &Actor,
        kind: RecordKind,
        rows: &[RecordCells],
        rules: &ImportRules,
        report: &dyn ImportReport,
    ) -> Result<RecordsImported, ImportError> {
        operator_only(operator, "import")?;
        check_rules(rules)?;
        let placement = Links { owner_id: Some(owner.user_id), unit: rules.unit.clone(), ..Default::default() };
        let import = RecordImport { app: self, operator, rows, rules, report };
        match kind {
            RecordKind::Company => import.companies(placement).await,
            RecordKind::Deal => import.deals(placement).await,
            RecordKind::Activity => import.activities(placement).await,
            RecordKind::Person => Err(ImportError::Refused("people import with App::import_people".into())),
        }
    }
}

/// Refuses the rules that apply to people only (so an edge can say so before it reads a file).
pub fn check_rules(rules: &ImportRules) -> Result<(), ImportError> {
    let refused = |why: &str| Err(ImportError::Refused(why.into()));
    if rules.resume {
        return refused("--resume: only people import batch by batch; companies, deals and activities import in one transaction");
    }
    if rules.on_duplicate == OnDuplicate::Update {
        return refused("--on-duplicate update: only people are updated from a file; use skip or fail for companies, deals and activities");
    }
    if rules.skip_invalid {
        return refused("--skip-invalid: only people; companies, deals and activities import whole or not at all");
    }
    Ok(())
}

/// One import of records under way.
struct RecordImport<'a> {
    app: &'a Arc<App>,
    operator: &'a Actor,
    rows: &'a [RecordCells],
    rules: &'a ImportRules,
    report: &'a dyn ImportReport,
}

impl RecordImport<'_> {
    async fn companies(&self, placement: Links) -> Result<RecordsImported, ImportError> {
        let mut known = HashSet::new();
        for c in self.held::<Company>().await? {
            known.insert(c.id.to_string());
            known.insert(company_key(c.payload.vat_id.as_deref(), &c.payload.name));
        }
        let planned = self
            .rows
            .iter()
            .map(|r| {
                let raw = CompanyRaw { name: r.get("name"), vat_id: r.get("vat_id"), website: r.get("website") };
                let key = company_key(raw.vat_id.as_deref(), raw.name.as_deref().unwrap_or(""));
                Ok(Planned { line: r.line, id: None, raw, links: placement.clone(), key })
            })
            .collect();
        self.write::<Company>(planned, &known).await
    }

    async fn deals(&self, placement: Links) -> Result<RecordsImported, ImportError> {
        let (mut by_nip, mut by_name): (HashMap<String, Uuid>, HashMap<String, Vec<Uuid>>) = Default::default();
        for c in self.held::<Company>().await? {
            if let Some(v) = &c.payload.vat_id {
                by_nip.insert(nip_digits(v), c.id);
            }
            by_name.entry(fold(&c.payload.name)).or_default().push(c.id);
        }
        let mut known = HashSet::new();
        for d in self.held::<Deal>().await? {
            known.insert(d.id.to_string());
            known.insert(deal_key(d.payload.title.as_deref().unwrap_or(""), d.person_id, d.company_id));
        }
        let mut people = PeopleByEmail { app: self.app, operator: self.operator, found: HashMap::new() };
        let mut planned = Vec::with_capacity(self.rows.len());
        for r in self.rows {
            let mut links = placement.clone();
            let mut problem = people.link(r, &mut links).await?;
            if let Some(nip) = r.get("company_vat_id") {
                match by_nip.get(&nip_digits(&nip)) {
                    Some(id) => links.company_id = Some(*id),
                    None => problem = Some(Problem::new(r.line, "company_vat_id", "no company has this NIP (import companies first)")),
                }
            } else if let Some(name) = r.get("company_name") {
                match by_name.get(&fold(&name)).map(Vec::as_slice) {
                    Some([id]) => links.company_id = Some(*id),
                    Some([_, _, ..]) => {
                        problem = Some(Problem::new(r.line, "company_name", "several companies have this name; give company_vat_id"))
                    }
                    _ => problem = Some(Problem::new(r.line, "company_name", "no company has this name (import companies first)")),
                }
            }
            let raw = DealRaw {
                title: r.get("title"),
                amount: r.get("amount").map(amount),
                currency: r.get("currency"),
                stage: r.get("stage"),
                expected_close: r.get("expected_close"),
            };
            let key = deal_key(raw.title.as_deref().unwrap_or(""), links.person_id, links.company_id);
            planned.push(match problem {
                Some(p) => Err(p),
                None => Ok(Planned { line: r.line, id: None, raw, links, key }),
            });
        }
        self.write::<Deal>(planned, &known).await
    }

    async fn activities(&self, placement: Links) -> Result<RecordsImported, ImportError> {
        let deals: HashSet<Uuid> = self.held::<Deal>().await?.iter().map(|d| d.id).collect();
        let mut known = HashSet::new();
        for a in self.held::<Activity>().await? {
            known.insert(a.id.to_string());
            let (k, body, due) = (&a.attrs.kind, a.payload.body.as_deref().unwrap_or(""), a.attrs.due_at.as_deref().unwrap_or(""));
            known.insert(activity_key(k, body, due, a.person_id, a.deal_id));
        }
        let mut people = PeopleByEmail { app: self.app, operator: self.operator, found: HashMap::new() };
        let mut planned = Vec::with_capacity(self.rows.len());
        for r in self.rows {
            let mut links = placement.clone();
            let mut problem = people.link(r, &mut links).await?;
            if let Some(deal) = r.get("deal_id") {
                match Uuid::parse_str(deal.trim()).ok().filter(|id| deals.contains(id)) {
                    Some(id) => links.deal_id = Some(id),
                    None => {
                        let why = "no such deal (import deals first, from an export that keeps their ids)";
                        problem = Some(Problem::new(r.line, "deal_id", why));
                    }
                }
            }
            let done = match r.get("done").map(|d| yes_no(&d)).transpose() {
                Ok(d) => d,
                Err(why) => {
                    problem = Some(Problem::new(r.line, "done", why));
                    None
                }
            };
            let raw = ActivityRaw { kind: r.get("kind").map(|k| k.to_lowercase()), body: r.get("body"), due_at: r.get("due_at"), done };
            let key = activity_key(
                raw.kind.as_deref().unwrap_or(""),
                raw.body.as_deref().unwrap_or(""),
                raw.due_at.as_deref().unwrap_or(""),
                links.person_id,
                links.deal_id,
            );
            planned.push(match problem {
                Some(p) => Err(p),
                None => Ok(Planned { line: r.line, id: None, raw, links, key }),
            });
        }
        self.write::<Activity>(planned, &known).await
    }

    async fn held<K: Kind>(&self) -> Result<Vec<RecordView<K::Attrs, K::Payload>>, CoreError> {
        self.app.all_records::<K>(self.operator).await
    }

    /// Checks and seals every planned row, then writes them in one transaction. Any problem
    /// writes nothing and names the lines.
    async fn write<K: Kind>(
        &self,
        planned: Vec<Result<Planned<K::Raw>, Problem>>,
        known: &HashSet<String>,
    ) -> Result<RecordsImported, ImportError> {
        let mut problems = Vec::new();
        self.report.writing(Some(planned.len()));
        let mut sealed: Vec<Imported> = Vec::with_capacity(planned.len());
        let mut seen: HashSet<String> = HashSet::new();
        let mut duplicate_lines = Vec::new();
        for (i, (plan, cells)) in planned.into_iter().zip(self.rows).enumerate() {
            self.report.sent(i + 1);
            let mut plan = match plan {
                Ok(p) => p,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            if let Some(id) = cells.get("id") {
                match Uuid::parse_str(id.trim()) {
                    Ok(id) => plan.id = Some(id),
                    Err(_) => {
                        problems.push(Problem::new(plan.line, "id", "must be a UUID, as an export writes it"));
                        continue;
                    }
                }
            }
            let by_id = plan.id.is_some_and(|id| known.contains(&id.to_string()) || seen.contains(&id.to_string()));
            if by_id || known.contains(&plan.key) || !seen.insert(plan.key.clone()) {
                duplicate_lines.push(plan.line);
                continue;
            }
            if let Some(id) = plan.id {
                seen.insert(id.to_string());
            }
            match self.app.seal_imported::<K>(self.operator, plan.id, &plan.raw, &plan.links).await {
                Ok(r) => sealed.push(r),
                Err(CoreError::Validation(errs)) => {
                    problems.extend(errs.0.into_iter().map(|e| Problem { line: plan.line, field: e.field, reason: e.reason }));
                }
                Err(error) => return Err(ImportError::Row { unit: "line", line: plan.line, error }),
            }
        }
        self.report.done();
        if !problems.is_empty() {
            for p in problems.iter().take(MAX_REPORTED) {
                self.report.problem("line", p.line, &p.field, &p.reason);
            }
            if problems.len() > MAX_REPORTED {
                self.report.more_problems(problems.len() - MAX_REPORTED);
            }
            let lines: HashSet<u64> = problems.iter().map(|p| p.line).collect();
            return Err(ImportError::Refused(format!("{} of {} rows have problems; nothing was imported", lines.len(), self.rows.len())));
        }
        if self.rules.on_duplicate == OnDuplicate::Fail && !duplicate_lines.is_empty() {
            return Err(ImportError::Refused(format!(
                "{} of {} rows match records already held or an earlier row, e.g. lines {}; nothing was imported (--on-duplicate skip)",
                duplicate_lines.len(),
                self.rows.len(),
                some_lines(&duplicate_lines)
            )));
        }
        let imported = self.app.insert_imported::<K>(self.operator, sealed).await?;
        Ok(RecordsImported { imported, duplicates: duplicate_lines.len() })
    }
}

/// Finds people by e-mail through the blind index, once per address.
struct PeopleByEmail<'a> {
    app: &'a App,
    operator: &'a Actor,
    found: HashMap<String, Option<Uuid>>,
}

impl PeopleByEmail<'_> {
    async fn get(&mut self, email: &str) -> Result<Option<Uuid>, CoreError> {
        let key = email.trim().to_lowercase();
        if let Some(id) = self.found.get(&key) {
            return Ok(*id);
        }
        let criteria = SearchCriteria { email: Some(key.clone()), limit: Some(2), ..Default::default() };
        let page = self.app.search_people(self.operator, &criteria).await?;
        let id = page.items.first().map(|p| p.id);
        self.found.insert(key, id);
        Ok(id)
    }

    /// Links a row's `person_email` to its person; the problem, if there is no such person.
    async fn link(&mut self, row: &RecordCells, links: &mut Links) -> Result<Option<Problem>, CoreError> {
        let Some(email) = row.get("person_email") else { return Ok(None) };
        Ok(match self.get(&email).await? {
            Some(id) => {
                links.person_id = Some(id);
                None
            }
            None => Some(Problem::new(row.line, "person_email", "no person has this e-mail")),
        })
    }
}

/// A spreadsheet's amount (`12 500,50`, `12500.5`) as Sejf's decimal (`12500.50`).
fn amount(cell: String) -> String {
    let compact: String = cell.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    if compact.contains(',') && !compact.contains('.') { compact.replace(',', ".") } else { compact }
}

/// A spreadsheet's yes or no.
fn yes_no(cell: &str) -> Result<bool, &'static str> {
    match cell.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "nie" | "0" | "n" => Ok(false),
        "true" | "yes" | "tak" | "1" | "x" | "y" | "t" => Ok(true),
        _ => Err("must be yes or no (tak/nie, true/false, 1/0)"),
    }
}

/// The digits of a NIP (`PL 525-000-00-00` → `5250000000`).
fn nip_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn company_key(vat_id: Option<&str>, name: &str) -> String {
    match vat_id.map(nip_digits).filter(|d| !d.is_empty()) {
        Some(nip) => format!("nip:{nip}"),
        None => format!("name:{}", fold(name)),
    }
}

fn deal_key(title: &str, person: Option<Uuid>, company: Option<Uuid>) -> String {
    format!("deal:{}:{person:?}:{company:?}", fold(title))
}

fn activity_key(kind: &str, body: &str, due: &str, person: Option<Uuid>, deal: Option<Uuid>) -> String {
    format!("activity:{}:{}:{due}:{person:?}:{deal:?}", kind.to_lowercase(), fold(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_cells_stay_out_of_debug_output() {
        let row = RecordCells { line: 7, values: HashMap::from([("person_email", "ewa@firma.pl".to_string())]) };
        let shown = format!("{row:?}");
        assert!(shown.contains("line: 7") && !shown.contains("ewa@firma.pl"), "{shown}");
    }

    #[test]
    fn spreadsheet_cells_read_as_sejf_values() {
        assert_eq!(amount("12 500,50".into()), "12500.50");
        assert_eq!(amount("12500.5".into()), "12500.5");
        assert_eq!(yes_no("Tak"), Ok(true));
        assert_eq!(yes_no(""), Ok(false));
        assert!(yes_no("maybe").is_err());
        assert_eq!(company_key(Some("PL 525-000-00-00"), "Firma"), "nip:5250000000");
        assert_eq!(company_key(None, "Firma"), company_key(Some("n/a"), "FIRMA"));
    }
}
