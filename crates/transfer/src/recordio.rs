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

use sejf_core::csvcells::{neutralise, unneutralise};
use sejf_core::import::{RecordCells, check_record_rules};
use sejf_core::records::{Activity, Company, Deal};
use sejf_core::{Actor, App};
use sejf_domain::records::RecordKind;
use uuid::Uuid;

use crate::TransferError;
use crate::csvio::{ImportOptions, Imported, Report, open_csv, owner_actor, read_import, reader};

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

    /// The kind of record the file holds.
    pub fn record_kind(self) -> RecordKind {
        match self {
            DataKind::People => RecordKind::Person,
            DataKind::Companies => RecordKind::Company,
            DataKind::Deals => RecordKind::Deal,
            DataKind::Activities => RecordKind::Activity,
        }
    }

    fn plural(self) -> &'static str {
        self.record_kind().plural()
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

/// Which column holds which field of `kind`.
fn map_columns(
    path: &Path,
    kind: DataKind,
    headers: &csv::StringRecord,
    map: &[String],
) -> Result<Vec<Option<&'static str>>, TransferError> {
    let columns = kind.columns();
    let known = || columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let mut explicit: HashMap<String, &'static str> = HashMap::new();
    for m in map {
        let (h, f) = m.split_once('=').ok_or_else(|| TransferError::Argument(format!("--map {m:?}: expected HEADER=FIELD")))?;
        let field = columns
            .iter()
            .find(|c| c.0 == f.trim())
            .ok_or_else(|| TransferError::Argument(format!("--map {m:?}: unknown field (fields: {})", known())))?;
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
                TransferError::Format(format!(
                    "{}: line 1: unknown column {:?} (known: {}; map others with --map \"HEADER=FIELD\")",
                    path.display(),
                    h.trim(),
                    known()
                ))
            })?;
        if !taken.insert(field) {
            return Err(TransferError::Format(format!(
                "{}: line 1: two columns hold {field} ({:?} is the second)",
                path.display(),
                h.trim()
            )));
        }
        cols.push(Some(field));
    }
    let required = match kind {
        DataKind::Deals => "title",
        DataKind::Activities => "kind",
        _ => "name",
    };
    if !taken.contains(required) {
        return Err(TransferError::Format(format!("{}: line 1: needs a {required} column", path.display())));
    }
    Ok(cols)
}

/// `sejf import FILE --kind companies|deals|activities`: the file parsed here, imported by
/// `App::import_records`.
pub async fn import(app: &Arc<App>, path: &Path, kind: DataKind, opts: &ImportOptions) -> Result<Imported, TransferError> {
    let rules = opts.rules();
    check_record_rules(&rules)?;
    let owner = owner_actor(app, &opts.owner).await?;
    let (csv, headers) = open_csv(path, read_import(path)?)?;
    let cols = map_columns(path, kind, &headers, &opts.map)?;
    if opts.report {
        eprintln!("{}: {} {}, separated by {:?}", path.display(), kind.plural(), csv.encoding, char::from(csv.delimiter));
    }
    let mut rows = Vec::new();
    for rec in reader(&csv).records() {
        let rec = rec.map_err(|e| TransferError::Format(format!("{}: {e}", path.display())))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut values = HashMap::new();
        for (cell, field) in rec.iter().zip(&cols) {
            let v = unneutralise(cell.trim());
            if let (Some(f), false) = (field, v.is_empty()) {
                values.insert(*f, v.to_string());
            }
        }
        rows.push(RecordCells { line, values });
    }
    let report = Report::new(opts.report);
    let done = app.import_records(&Actor::operator(), &owner, kind.record_kind(), &rows, &rules, &report).await?;
    Ok(Imported::new(format!("imported {} {}, skipped {} duplicates", done.imported, kind.plural(), done.duplicates), done.imported))
}

/// `sejf export --kind companies|deals|activities`: every record, as the operator; `excel` as
/// for people (`;`, BOM, CRLF, and a decimal comma in amounts).
pub async fn export(app: &Arc<App>, kind: DataKind, out: Option<&Path>, excel: bool) -> Result<(), TransferError> {
    let operator = Actor::operator();
    let mut sink = crate::csvio::export_sink(out)?;
    if excel {
        sink.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut w = csv::WriterBuilder::new().delimiter(if excel { b';' } else { b',' }).terminator(csv::Terminator::CRLF).from_writer(sink);
    w.write_record(kind.columns().iter().map(|c| c.0))?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = match kind {
        DataKind::People => return Err(TransferError::Argument("people export through csvio".into())),
        DataKind::Companies => app
            .all_records::<Company>(&operator)
            .await?
            .into_iter()
            .map(|c| vec![c.id.to_string(), c.payload.name, opt(&c.payload.vat_id), opt(&c.payload.website)])
            .collect(),
        DataKind::Deals => {
            // A deal names its company by NIP, or by name when the company has none.
            let companies: HashMap<Uuid, (String, String)> = app
                .all_records::<Company>(&operator)
                .await?
                .into_iter()
                .map(|c| (c.id, c.payload.vat_id.map_or_else(|| (String::new(), c.payload.name), |v| (v, String::new()))))
                .collect();
            let mut emails = EmailOf { app, operator: &operator, known: HashMap::new() };
            let mut rows = Vec::new();
            for d in app.all_records::<Deal>(&operator).await? {
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
            for a in app.all_records::<Activity>(&operator).await? {
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
        w.write_record(row.iter().map(|c| neutralise(c)))?;
    }
    w.flush()?;
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
    async fn of(&mut self, person: Option<Uuid>) -> Result<String, TransferError> {
        let Some(id) = person else { return Ok(String::new()) };
        if let Some(e) = self.known.get(&id) {
            return Ok(e.clone());
        }
        let email = match self.app.person(self.operator, id).await {
            Ok(p) => p.fields.email.unwrap_or_default(),
            Err(sejf_core::CoreError::NotFound) => String::new(),
            Err(e) => return Err(e.into()),
        };
        self.known.insert(id, email.clone());
        Ok(email)
    }
}
