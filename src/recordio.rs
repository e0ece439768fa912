//! CSV import and export of companies, deals and activities (docs/adr/0023-imports.md), beside
//! people's in `csvio`. The files are read as people's are (`,`/`;`/tab, UTF-8 or Windows-1250,
//! English or Polish headers, `--map`), and links travel as what a spreadsheet user knows: a
//! deal names its person by e-mail and its company by NIP (or by name), an activity names its
//! person by e-mail and its deal by the id an export gave it.
//!
//! An import is checked whole and written in one transaction: a bad row, a link to nothing or a
//! kill leaves nothing. A row matching a record already held (the same `id`; else a company's
//! NIP or name, a deal's title and links, an activity's kind, text, time and links) is skipped
//! or, with `--on-duplicate fail`, stops the import. Exports carry each record's `id`, so
//! importing an export again skips what is there and an activity finds its deal.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sejf_core::csvcells::{neutralise, unneutralise};
use sejf_core::people::SearchCriteria;
use sejf_core::records::{Activity, Company, Deal, Imported, Kind, Links, RecordFilter, RecordView};
use sejf_core::{Actor, App};
use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
use sejf_domain::values::fold;
use uuid::Uuid;

use crate::csvio::{ImportOptions, OnDuplicate, open_csv, owner_actor, progress_bar, read_import, reader};

/// What a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DataKind {
    #[default]
    People,
    Companies,
    Deals,
    Activities,
}

impl DataKind {
    fn columns(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            DataKind::People => &[],
            DataKind::Companies => COMPANY_COLUMNS,
            DataKind::Deals => DEAL_COLUMNS,
            DataKind::Activities => ACTIVITY_COLUMNS,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            DataKind::People => "people",
            DataKind::Companies => "companies",
            DataKind::Deals => "deals",
            DataKind::Activities => "activities",
        }
    }
}

/// Each kind's columns, in export order, with the other names (lower-case, English then
/// Polish) an import knows them by.
const COMPANY_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &[]),
    ("name", &["company", "company name", "nazwa", "nazwa firmy", "firma"]),
    ("vat_id", &["vat id", "vat", "nip", "vat number"]),
    ("website", &["www", "url", "web", "strona", "strona www", "strona internetowa"]),
];
const DEAL_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &[]),
    ("title", &["deal", "name", "tytuł", "tytul", "nazwa", "szansa"]),
    ("amount", &["value", "kwota", "wartość", "wartosc"]),
    ("currency", &["waluta"]),
    ("stage", &["etap", "status"]),
    ("expected_close", &["expected close", "close date", "data zamknięcia", "planowane zamknięcie"]),
    ("person_email", &["person e-mail", "email", "e-mail", "contact email", "e-mail osoby", "e-mail kontaktu"]),
    ("company_vat_id", &["company nip", "company_nip", "nip", "nip firmy", "vat id"]),
    ("company_name", &["company", "firma", "nazwa firmy"]),
];
const ACTIVITY_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &[]),
    ("kind", &["type", "rodzaj", "typ"]),
    ("body", &["text", "note", "description", "treść", "tresc", "opis", "notatka"]),
    ("due_at", &["due", "due date", "termin", "data"]),
    ("done", &["completed", "zrobione", "wykonane", "zakończone"]),
    ("person_email", &["person e-mail", "email", "e-mail", "e-mail osoby"]),
    ("deal_id", &["deal id", "id szansy"]),
];

/// One data row's cells by the kind's column names.
struct Cells {
    line: u64,
    values: HashMap<&'static str, String>,
}

impl Cells {
    fn get(&self, field: &str) -> Option<String> {
        self.values.get(field).cloned()
    }
}

/// Which column holds which field of `kind`.
fn map_columns(path: &Path, kind: DataKind, headers: &csv::StringRecord, map: &[String]) -> Result<Vec<Option<&'static str>>, String> {
    let columns = kind.columns();
    let known = || columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let mut explicit: HashMap<String, &'static str> = HashMap::new();
    for m in map {
        let (h, f) = m.split_once('=').ok_or_else(|| format!("--map {m:?}: expected HEADER=FIELD"))?;
        let field = columns.iter().find(|c| c.0 == f.trim()).ok_or_else(|| format!("--map {m:?}: unknown field (fields: {})", known()))?;
        explicit.insert(h.trim().to_lowercase(), field.0);
    }
    let mut taken = HashSet::new();
    let mut cols = Vec::with_capacity(headers.len());
    for h in headers {
        let name = h.trim().trim_start_matches('\u{feff}').trim().to_lowercase();
        if name.is_empty() {
            cols.push(None);
            continue;
        }
        let field = explicit
            .get(&name)
            .copied()
            .or_else(|| columns.iter().find(|c| c.0 == name).map(|c| c.0))
            .or_else(|| columns.iter().find(|c| !taken.contains(c.0) && c.1.contains(&name.as_str())).map(|c| c.0))
            .ok_or_else(|| {
                format!(
                    "{}: line 1: unknown column {:?} (known: {}; map others with --map \"HEADER=FIELD\")",
                    path.display(),
                    h.trim(),
                    known()
                )
            })?;
        if !taken.insert(field) {
            return Err(format!("{}: line 1: two columns hold {field} ({:?} is the second)", path.display(), h.trim()));
        }
        cols.push(Some(field));
    }
    let required = match kind {
        DataKind::Deals => "title",
        DataKind::Activities => "kind",
        _ => "name",
    };
    if !taken.contains(required) {
        return Err(format!("{}: line 1: needs a {required} column", path.display()));
    }
    Ok(cols)
}

/// A spreadsheet's amount (`12 500,50`, `12500.5`) as Sejf's decimal (`12500.50`).
fn amount(cell: String) -> String {
    let compact: String = cell.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    if compact.contains(',') && !compact.contains('.') { compact.replace(',', ".") } else { compact }
}

/// A spreadsheet's yes or no.
fn yes_no(line: u64, cell: &str) -> Result<bool, String> {
    match cell.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "nie" | "0" | "n" => Ok(false),
        "true" | "yes" | "tak" | "1" | "x" | "y" | "t" => Ok(true),
        _ => Err(format!("line {line}, done: must be yes or no (tak/nie, true/false, 1/0)")),
    }
}

/// The records of `K` the operator holds, by id.
async fn held<K: Kind>(app: &App, operator: &Actor) -> Result<Vec<RecordView<K::Attrs, K::Payload>>, String> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .list_records::<K>(operator, &RecordFilter { cursor: cursor.take(), limit: Some(500), ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

/// The digits of a NIP (`PL 525-000-00-00` → `5250000000`).
fn nip_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Finds people by e-mail through the blind index, once per address.
struct PeopleByEmail<'a> {
    app: &'a App,
    operator: &'a Actor,
    found: HashMap<String, Option<Uuid>>,
}

impl PeopleByEmail<'_> {
    async fn get(&mut self, email: &str) -> Result<Option<Uuid>, String> {
        let key = email.trim().to_lowercase();
        if let Some(id) = self.found.get(&key) {
            return Ok(*id);
        }
        let criteria = SearchCriteria { email: Some(key.clone()), limit: Some(2), ..Default::default() };
        let page = self.app.search_people(self.operator, &criteria).await.map_err(|e| e.to_string())?;
        let id = page.items.first().map(|p| p.id);
        self.found.insert(key, id);
        Ok(id)
    }

    /// Links a row's `person_email` to its person; the problem, if there is no such person.
    async fn link(&mut self, row: &Cells, links: &mut Links) -> Result<Option<String>, String> {
        let Some(email) = row.get("person_email") else { return Ok(None) };
        Ok(match self.get(&email).await? {
            Some(id) => {
                links.person_id = Some(id);
                None
            }
            None => Some(format!("line {}, person_email: no person has this e-mail", row.line)),
        })
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

/// `sejf import FILE --kind companies|deals|activities`.
pub async fn import(app: &Arc<App>, path: &Path, kind: DataKind, opts: &ImportOptions) -> Result<(), String> {
    if opts.resume {
        return Err("--resume: only people import batch by batch; companies, deals and activities import in one transaction".into());
    }
    if opts.on_duplicate == OnDuplicate::Update {
        return Err(
            "--on-duplicate update: only people are updated from a file; use skip or fail for companies, deals and activities".into()
        );
    }
    let start = Instant::now();
    let owner = owner_actor(app, &opts.owner).await?;
    let (csv, headers) = open_csv(path, read_import(path)?)?;
    let operator = Actor::operator();
    let mut rdr = reader(&csv);
    let cols = map_columns(path, kind, &headers, &opts.map)?;
    if opts.report {
        eprintln!("{}: {} {}, separated by {:?}", path.display(), kind.plural(), csv.encoding, char::from(csv.delimiter));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut values = HashMap::new();
        for (cell, field) in rec.iter().zip(&cols) {
            let v = unneutralise(cell.trim());
            if let (Some(f), false) = (field, v.is_empty()) {
                values.insert(*f, v.to_string());
            }
        }
        rows.push(Cells { line, values });
    }
    let placement = Links { owner_id: Some(owner.user_id), unit: opts.unit.clone(), ..Default::default() };
    let (imported, duplicates) = match kind {
        DataKind::People => return Err("people import through csvio".into()),
        DataKind::Companies => {
            let held = held::<Company>(app, &operator).await?;
            let mut known = HashSet::new();
            for c in &held {
                known.insert(c.id.to_string());
                known.insert(company_key(c.payload.vat_id.as_deref(), &c.payload.name));
            }
            let planned = rows
                .iter()
                .map(|r| {
                    let raw = CompanyRaw { name: r.get("name"), vat_id: r.get("vat_id"), website: r.get("website") };
                    let key = company_key(raw.vat_id.as_deref(), raw.name.as_deref().unwrap_or(""));
                    Ok(Planned { line: r.line, id: None, raw, links: placement.clone(), key })
                })
                .collect::<Vec<Result<_, String>>>();
            write::<Company>(app, &operator, &rows, planned, &known, opts).await?
        }
        DataKind::Deals => {
            let companies = held::<Company>(app, &operator).await?;
            let (mut by_nip, mut by_name): (HashMap<String, Uuid>, HashMap<String, Vec<Uuid>>) = Default::default();
            for c in &companies {
                if let Some(v) = &c.payload.vat_id {
                    by_nip.insert(nip_digits(v), c.id);
                }
                by_name.entry(fold(&c.payload.name)).or_default().push(c.id);
            }
            let mut known = HashSet::new();
            for d in held::<Deal>(app, &operator).await? {
                known.insert(d.id.to_string());
                known.insert(deal_key(d.payload.title.as_deref().unwrap_or(""), d.person_id, d.company_id));
            }
            let mut people = PeopleByEmail { app, operator: &operator, found: HashMap::new() };
            let mut planned = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut links = placement.clone();
                let mut link_err = people.link(r, &mut links).await?;
                if let Some(nip) = r.get("company_vat_id") {
                    match by_nip.get(&nip_digits(&nip)) {
                        Some(id) => links.company_id = Some(*id),
                        None => {
                            link_err = Some(format!("line {}, company_vat_id: no company has this NIP (import companies first)", r.line))
                        }
                    }
                } else if let Some(name) = r.get("company_name") {
                    match by_name.get(&fold(&name)).map(Vec::as_slice) {
                        Some([id]) => links.company_id = Some(*id),
                        Some([_, _, ..]) => {
                            link_err = Some(format!("line {}, company_name: several companies have this name; give company_vat_id", r.line))
                        }
                        _ => link_err = Some(format!("line {}, company_name: no company has this name (import companies first)", r.line)),
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
                planned.push(match link_err {
                    Some(e) => Err(e),
                    None => Ok(Planned { line: r.line, id: None, raw, links, key }),
                });
            }
            write::<Deal>(app, &operator, &rows, planned, &known, opts).await?
        }
        DataKind::Activities => {
            let deals: HashSet<Uuid> = held::<Deal>(app, &operator).await?.iter().map(|d| d.id).collect();
            let mut known = HashSet::new();
            for a in held::<Activity>(app, &operator).await? {
                known.insert(a.id.to_string());
                let (k, body, due) = (&a.attrs.kind, a.payload.body.as_deref().unwrap_or(""), a.attrs.due_at.as_deref().unwrap_or(""));
                known.insert(activity_key(k, body, due, a.person_id, a.deal_id));
            }
            let mut people = PeopleByEmail { app, operator: &operator, found: HashMap::new() };
            let mut planned = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut links = placement.clone();
                let mut err = people.link(r, &mut links).await?;
                if let Some(deal) = r.get("deal_id") {
                    match Uuid::parse_str(deal.trim()).ok().filter(|id| deals.contains(id)) {
                        Some(id) => links.deal_id = Some(id),
                        None => {
                            err = Some(format!(
                                "line {}, deal_id: no such deal (import deals first, from an export that keeps their ids)",
                                r.line
                            ))
                        }
                    }
                }
                let done = match r.get("done").map(|d| yes_no(r.line, &d)).transpose() {
                    Ok(d) => d,
                    Err(e) => {
                        err = Some(e);
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
                planned.push(match err {
                    Some(e) => Err(e),
                    None => Ok(Planned { line: r.line, id: None, raw, links, key }),
                });
            }
            write::<Activity>(app, &operator, &rows, planned, &known, opts).await?
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    println!("imported {imported} {}, skipped {duplicates} duplicates in {seconds:.1} s", kind.plural());
    Ok(())
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

/// Checks and seals every planned row, then writes them in one transaction; returns (written,
/// duplicates skipped). Any problem writes nothing and names the lines.
async fn write<K: Kind>(
    app: &Arc<App>,
    operator: &Actor,
    rows: &[Cells],
    planned: Vec<Result<Planned<K::Raw>, String>>,
    known: &HashSet<String>,
    opts: &ImportOptions,
) -> Result<(usize, usize), String> {
    let mut problems = Vec::new();
    let bar = progress_bar(opts.report, planned.len() as u64);
    let mut sealed: Vec<Imported> = Vec::with_capacity(planned.len());
    let mut seen: HashSet<String> = HashSet::new();
    let mut duplicate_lines = Vec::new();
    for (plan, cells) in planned.into_iter().zip(rows) {
        bar.inc(1);
        let mut plan = match plan {
            Ok(p) => p,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if let Some(id) = cells.get("id") {
            match Uuid::parse_str(id.trim()) {
                Ok(id) => plan.id = Some(id),
                Err(_) => {
                    problems.push(format!("line {}, id: must be a UUID, as an export writes it", plan.line));
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
        match app.seal_imported::<K>(operator, plan.id, &plan.raw, &plan.links).await {
            Ok(r) => sealed.push(r),
            Err(sejf_core::CoreError::Validation(errs)) => {
                problems.extend(errs.0.into_iter().map(|e| format!("line {}, {}: {}", plan.line, e.field, e.reason)));
            }
            Err(e) => return Err(format!("line {}: {e}", plan.line)),
        }
    }
    bar.finish_and_clear();
    if !problems.is_empty() {
        if opts.report {
            for p in problems.iter().take(100) {
                eprintln!("{p}");
            }
        }
        let lines: HashSet<&str> = problems.iter().filter_map(|p| p.split(',').next()).collect();
        return Err(format!("{} of {} rows have problems; nothing was imported", lines.len(), rows.len()));
    }
    if opts.on_duplicate == OnDuplicate::Fail && !duplicate_lines.is_empty() {
        let shown: Vec<String> = duplicate_lines.iter().take(10).map(u64::to_string).collect();
        return Err(format!(
            "{} of {} rows match records already held or an earlier row, e.g. lines {}; nothing was imported (--on-duplicate skip)",
            duplicate_lines.len(),
            rows.len(),
            shown.join(", ")
        ));
    }
    let n = app.insert_imported::<K>(operator, sealed).await.map_err(|e| e.to_string())?;
    Ok((n, duplicate_lines.len()))
}

/// `sejf export --kind companies|deals|activities`: every record, as the operator; `excel` as
/// for people (`;`, BOM, CRLF, and a decimal comma in amounts).
pub async fn export(app: &Arc<App>, kind: DataKind, out: Option<&Path>, excel: bool) -> Result<(), String> {
    let operator = Actor::operator();
    let mut sink = crate::csvio::export_sink(out)?;
    if excel {
        sink.write_all(b"\xEF\xBB\xBF").map_err(|e| e.to_string())?;
    }
    let mut w = csv::WriterBuilder::new().delimiter(if excel { b';' } else { b',' }).terminator(csv::Terminator::CRLF).from_writer(sink);
    w.write_record(kind.columns().iter().map(|c| c.0)).map_err(|e| e.to_string())?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = match kind {
        DataKind::People => return Err("people export through csvio".into()),
        DataKind::Companies => held::<Company>(app, &operator)
            .await?
            .into_iter()
            .map(|c| vec![c.id.to_string(), c.payload.name, opt(&c.payload.vat_id), opt(&c.payload.website)])
            .collect(),
        DataKind::Deals => {
            // A deal names its company by NIP, or by name when the company has none.
            let companies: HashMap<Uuid, (String, String)> = held::<Company>(app, &operator)
                .await?
                .into_iter()
                .map(|c| (c.id, c.payload.vat_id.map_or_else(|| (String::new(), c.payload.name), |v| (v, String::new()))))
                .collect();
            let mut emails = EmailOf { app, operator: &operator, known: HashMap::new() };
            let mut rows = Vec::new();
            for d in held::<Deal>(app, &operator).await? {
                let amount = opt(&d.attrs.amount);
                let (vat_id, name) = d.company_id.and_then(|c| companies.get(&c).cloned()).unwrap_or_default();
                rows.push(vec![
                    d.id.to_string(),
                    opt(&d.payload.title),
                    if excel { amount.replace('.', ",") } else { amount },
                    opt(&d.attrs.currency),
                    d.attrs.stage,
                    opt(&d.attrs.expected_close),
                    emails.of(d.person_id).await?,
                    vat_id,
                    name,
                ]);
            }
            rows
        }
        DataKind::Activities => {
            let mut emails = EmailOf { app, operator: &operator, known: HashMap::new() };
            let mut rows = Vec::new();
            for a in held::<Activity>(app, &operator).await? {
                rows.push(vec![
                    a.id.to_string(),
                    a.attrs.kind,
                    opt(&a.payload.body),
                    opt(&a.attrs.due_at),
                    if a.attrs.done { "yes" } else { "no" }.to_string(),
                    emails.of(a.person_id).await?,
                    a.deal_id.map(|d| d.to_string()).unwrap_or_default(),
                ]);
            }
            rows
        }
    };
    for row in &rows {
        w.write_record(row.iter().map(|c| neutralise(c))).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    if out.is_some() {
        println!("exported {} {}", rows.len(), kind.plural());
    }
    Ok(())
}

/// People's e-mail addresses by id, read once each.
struct EmailOf<'a> {
    app: &'a App,
    operator: &'a Actor,
    known: HashMap<Uuid, String>,
}

impl EmailOf<'_> {
    async fn of(&mut self, person: Option<Uuid>) -> Result<String, String> {
        let Some(id) = person else { return Ok(String::new()) };
        if let Some(e) = self.known.get(&id) {
            return Ok(e.clone());
        }
        let email = match self.app.person(self.operator, id).await {
            Ok(p) => p.fields.email.unwrap_or_default(),
            Err(sejf_core::CoreError::NotFound) => String::new(),
            Err(e) => return Err(e.to_string()),
        };
        self.known.insert(id, email.clone());
        Ok(email)
    }
}
