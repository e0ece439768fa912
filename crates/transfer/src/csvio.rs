//! CSV import and export of people (docs/adr/0023-imports.md).
//!
//! Import reads what Polish Excel and LibreOffice save: `,`, `;` or tab separated, UTF-8 with or
//! without a byte-order mark or Windows-1250, headers in Polish or English (or mapped with
//! `--map`). It reads the file once and writes nothing if any row is invalid (unless
//! `--skip-invalid`); rows matching people already held (by e-mail, phone or PESEL, through the
//! blind indexes) are skipped, updated or refused (`--on-duplicate`). By default the whole file
//! is one transaction: a kill leaves nothing. With `--resume` each batch commits with the file's
//! progress, and a run killed midway continues where it stopped. Export neutralises spreadsheet
//! formulas and, with `--excel`, writes what Polish Excel opens (`;`, BOM, CRLF).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sejf_core::csvcells::{COLUMNS, person_cells, unneutralise};
use sejf_core::import::{ImportError, ImportReport, ImportRows, ImportRules, ImportStats, UnreadableRow};
use sejf_core::people::{PeopleFilter, PersonInput};
use sejf_core::{Actor, App, FileError};
use sejf_domain::people::{AddressRaw, PersonRaw};
use sha2::{Digest, Sha256};

use crate::TransferError;

/// People per progress line when stderr is not a terminal.
const PROGRESS_EVERY: usize = 10_000;

pub use sejf_core::import::OnDuplicate;

/// How to import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub skip_invalid: bool,
    /// The user the people belong to (required).
    pub owner: String,
    pub unit: Option<String>,
    pub on_duplicate: OnDuplicate,
    pub resume: bool,
    /// `header=field` pairs that override the built-in header names.
    pub map: Vec<String>,
    /// Print the validation report and progress to stderr.
    pub report: bool,
}

impl ImportOptions {
    /// The rules of the import itself (the rest is how the file is read and reported).
    pub fn rules(&self) -> ImportRules {
        ImportRules { skip_invalid: self.skip_invalid, on_duplicate: self.on_duplicate, resume: self.resume, unit: self.unit.clone() }
    }
}

/// The header names each field is known by, lower-case (English, then Polish).
const HEADER_NAMES: [&[&str]; 12] = [
    &["first_name", "first name", "firstname", "given name", "imię", "imie"],
    &["last_name", "last name", "lastname", "surname", "family name", "nazwisko"],
    &["email", "e-mail", "e_mail", "mail", "email address", "adres e-mail", "adres email"],
    &["phone", "telephone", "mobile", "phone number", "telefon", "tel", "tel.", "nr telefonu", "numer telefonu", "komórka"],
    &["national_id", "national id", "pesel"],
    &["birth_date", "birth date", "date of birth", "birthday", "data urodzenia"],
    &["street", "address", "ulica", "adres"],
    &["city", "town", "miasto", "miejscowość", "miejscowosc"],
    &["postal_code", "postal code", "postcode", "zip", "kod pocztowy", "kod"],
    &["country", "kraj"],
    &["tags", "tag", "tagi", "etykiety"],
    &["notes", "note", "notatki", "uwagi"],
];

/// A CSV row's columns by field.
struct Row<'a> {
    cols: &'a [Option<usize>; 12],
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, i: usize) -> Option<String> {
        let idx = self.cols[i]?;
        let v = unneutralise(self.rec.get(idx)?.trim());
        (!v.is_empty()).then(|| v.to_string())
    }

    /// A PESEL as a spreadsheet left it: one born in 2000 or later starts with 0, which a
    /// spreadsheet drops when it reads the column as numbers. Ten digits that make a valid PESEL
    /// with the 0 put back are that PESEL; anything else is left for validation to refuse.
    fn national_id(&self) -> Option<String> {
        let v = self.get(4)?;
        let padded = format!("0{v}");
        let repaired =
            v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()) && sejf_domain::values::NationalId::parse(&padded, None).is_ok();
        Some(if repaired { padded } else { v })
    }

    fn input(&self) -> PersonInput {
        let address = AddressRaw { street: self.get(6), city: self.get(7), postal_code: self.get(8), country: self.get(9) };
        let has_address = address.street.is_some() || address.city.is_some() || address.postal_code.is_some() || address.country.is_some();
        PersonInput {
            raw: PersonRaw {
                first_name: self.get(0),
                last_name: self.get(1),
                email: self.get(2),
                phone: self.get(3),
                national_id: self.national_id(),
                birth_date: self.get(5),
                address: has_address.then_some(address),
                notes: self.get(11),
            },
            tags: self
                .get(10)
                .map(|t| t.split([';', ',']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// Where the people of an import come from: a CSV file and its columns, or vCards.
enum Source {
    Csv { csv: Box<CsvText>, cols: [Option<usize>; 12], path: String },
    Cards { digest: String, cards: Vec<sejf_core::vcard::VCardPerson> },
}

impl ImportRows for Source {
    fn digest(&self) -> &str {
        match self {
            Source::Csv { csv, .. } => &csv.digest,
            Source::Cards { digest, .. } => digest,
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Source::Csv { .. } => "line",
            Source::Cards { .. } => "card",
        }
    }

    fn rows(&self) -> Box<dyn Iterator<Item = Result<(u64, PersonInput), UnreadableRow>> + '_> {
        match self {
            Source::Csv { csv, cols, path } => Box::new(reader(csv).into_records().map(move |rec| {
                let rec = rec.map_err(|e| UnreadableRow { file: path.clone(), source: Box::new(e) })?;
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                Ok((line, Row { cols, rec: &rec }.input()))
            })),
            Source::Cards { cards, .. } => Box::new(
                cards.iter().map(|c| Ok((c.card as u64, PersonInput { raw: c.raw.clone(), tags: c.tags.clone(), ..Default::default() }))),
            ),
        }
    }
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A CSV file decoded to UTF-8, with its separator and the SHA-256 of its bytes.
pub(crate) struct CsvText {
    pub(crate) text: String,
    pub(crate) delimiter: u8,
    pub(crate) encoding: &'static str,
    digest: String,
}

/// Reads a file as Excel or LibreOffice saved it: a UTF-8 byte-order mark is dropped; text
/// that is not UTF-8 is Windows-1250 (what Polish Windows saves "CSV" as).
fn decode_csv(path: &Path, bytes: Vec<u8>) -> Result<CsvText, TransferError> {
    let digest = digest(&bytes);
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (
            String::from_utf8(rest.to_vec())
                .map_err(|_| TransferError::Format(format!("{}: starts as UTF-8 but is not", path.display())))?,
            "UTF-8 (BOM)",
        )
    } else {
        match String::from_utf8(bytes) {
            Ok(t) => (t, "UTF-8"),
            Err(e) => {
                let (t, _, _) = encoding_rs::WINDOWS_1250.decode(e.as_bytes());
                (t.into_owned(), "Windows-1250")
            }
        }
    };
    let delimiter = detect_delimiter(text.lines().next().unwrap_or(""));
    Ok(CsvText { text, delimiter, encoding, digest })
}

/// The separator of a header line: whichever of `;`, tab and `,` it has most of, outside quotes.
fn detect_delimiter(header: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|c| c.0 == b) {
            c.1 += 1;
        }
    }
    counts.iter().max_by_key(|c| c.1).filter(|c| c.1 > 0).map_or(b',', |c| c.0)
}

/// Which column holds which field, from the headers and the `--map header=field` pairs.
fn map_columns(path: &Path, headers: &csv::StringRecord, map: &[String]) -> Result<[Option<usize>; 12], TransferError> {
    let mut explicit: HashMap<String, usize> = HashMap::new();
    for m in map {
        let (h, f) = m
            .split_once('=')
            .ok_or_else(|| TransferError::Argument(format!("--map {m:?}: expected HEADER=FIELD, e.g. \"Nr kom.=phone\"")))?;
        let field = COLUMNS.iter().position(|c| *c == f.trim()).ok_or_else(|| {
            TransferError::Argument(format!("--map {m:?}: unknown field {:?} (fields: {})", f.trim(), COLUMNS.join(", ")))
        })?;
        explicit.insert(h.trim().to_lowercase(), field);
    }
    let mut cols = [None; 12];
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().trim_start_matches('\u{feff}').trim().to_lowercase();
        let field = explicit.get(&name).copied().or_else(|| HEADER_NAMES.iter().position(|names| names.contains(&name.as_str())));
        match field {
            Some(c) if cols[c].is_none() => cols[c] = Some(i),
            Some(c) => {
                return Err(TransferError::Format(format!(
                    "{}: line 1: two columns hold {} ({h:?} is the second)",
                    path.display(),
                    COLUMNS[c]
                )));
            }
            None if name.is_empty() => {}
            None => unknown.push(h.trim().to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(TransferError::Format(format!(
            "{}: line 1: unknown column {:?} (known: {}; map others with --map \"HEADER=FIELD\")",
            path.display(),
            unknown[0],
            COLUMNS.join(", ")
        )));
    }
    if cols[0].is_none() && cols[1].is_none() {
        return Err(TransferError::Format(format!("{}: line 1: needs a first_name or last_name column (imię, nazwisko)", path.display())));
    }
    Ok(cols)
}

pub(crate) fn reader(csv: &CsvText) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(csv.delimiter).flexible(false).from_reader(csv.text.as_bytes())
}

/// The user that imported people belong to.
pub(crate) async fn owner_actor(app: &App, owner: &str) -> Result<Actor, TransferError> {
    let u = app.user(owner).await.map_err(|e| match e {
        sejf_core::CoreError::NotFound => TransferError::Argument(format!("--owner: no user named {owner}")),
        other => TransferError::Core(other),
    })?;
    if u.disabled {
        return Err(TransferError::Argument(format!("--owner: {} is disabled", u.username)));
    }
    Ok(Actor::for_user(&u))
}

/// An import file's bytes, read once.
pub(crate) fn read_import(path: &Path) -> Result<Vec<u8>, TransferError> {
    Ok(std::fs::read(path).map_err(FileError::at("open", path))?)
}

/// A CSV import's file decoded, and its header line.
pub(crate) fn open_csv(path: &Path, bytes: Vec<u8>) -> Result<(CsvText, csv::StringRecord), TransferError> {
    let csv = decode_csv(path, bytes)?;
    let headers = reader(&csv).headers().map_err(|e| TransferError::Format(format!("{}: line 1: {e}", path.display())))?.clone();
    Ok((csv, headers))
}

/// `sejf import FILE.csv`: what it did, for the command's closing line.
pub async fn import(app: &Arc<App>, path: &Path, opts: &ImportOptions) -> Result<Imported, TransferError> {
    let stats = import_file(app, path, opts).await?;
    let resumed = if stats.resumed > 0 { format!(" ({} rows were in from an earlier run)", stats.resumed) } else { String::new() };
    Ok(Imported::new(
        format!(
            "imported {} people, updated {}, skipped {} duplicates and {} invalid rows{resumed}",
            stats.imported, stats.updated, stats.duplicates, stats.skipped
        ),
        stats.imported,
    ))
}

/// What an import did, for the command's closing line, which the caller prints once the import
/// is complete: on SQLite only once the store is closed, since the closing checkpoint moves the
/// import's rows from the write-ahead log into the database file (seconds for a million people,
/// docs/benchmarks.md §4t), so its time is part of the import's.
#[derive(Debug)]
pub struct Imported {
    what: String,
    rows: usize,
}

impl Imported {
    pub(crate) fn new(what: String, rows: usize) -> Imported {
        Imported { what, rows }
    }

    /// "imported … in 12.3 s (45678 rows/s)", over `elapsed` from the start to the end.
    pub fn line(&self, elapsed: std::time::Duration) -> String {
        let secs = elapsed.as_secs_f64();
        format!("{} in {secs:.1} s ({:.0} rows/s)", self.what, self.rows as f64 / secs.max(1e-9))
    }
}

/// Imports a file of people, CSV or vCard: parsed here, imported by `App::import_people`.
pub async fn import_file(app: &Arc<App>, path: &Path, opts: &ImportOptions) -> Result<ImportStats, TransferError> {
    let owner = owner_actor(app, &opts.owner).await?;
    let bytes = read_import(path)?;
    let source = if sejf_core::vcard::looks_like_vcard(&bytes) {
        if !opts.map.is_empty() {
            return Err(TransferError::Argument("--map: a vCard file has no columns to map".into()));
        }
        let text =
            String::from_utf8(bytes).map_err(|_| TransferError::Format(format!("{}: a vCard file must be UTF-8", path.display())))?;
        let cards = sejf_core::vcard::people_from_vcards(&text).map_err(|e| TransferError::Format(format!("{}: {e}", path.display())))?;
        if opts.report {
            eprintln!("{}: vCard, {} cards", path.display(), cards.len());
        }
        Source::Cards { digest: digest(text.as_bytes()), cards }
    } else {
        let (csv, headers) = open_csv(path, bytes)?;
        let cols = map_columns(path, &headers, &opts.map)?;
        if opts.report {
            eprintln!("{}: {}, separated by {:?}", path.display(), csv.encoding, char::from(csv.delimiter));
        }
        Source::Csv { csv: Box::new(csv), cols, path: path.display().to_string() }
    };
    let report = Report::new(opts.report);
    app.import_people(&Actor::operator(), &owner, &source, &opts.rules(), &report).await.map_err(|e| match e {
        ImportError::AlreadyImported => TransferError::AlreadyImported(path.to_path_buf()),
        other => TransferError::Import(other),
    })
}

/// An import's report on standard error: each problem, and progress (a bar on a terminal,
/// otherwise a line per [`PROGRESS_EVERY`] people).
pub(crate) struct Report {
    on: bool,
    bar: std::sync::Mutex<ProgressBar>,
}

impl Report {
    pub(crate) fn new(on: bool) -> Report {
        Report { on, bar: std::sync::Mutex::new(ProgressBar::hidden()) }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ImportReport for Report {
    fn problem(&self, unit: &str, line: u64, field: &str, reason: &str) {
        if self.on {
            eprintln!("{unit} {line}, {field}: {reason}");
        }
    }

    fn more_problems(&self, count: usize) {
        if self.on {
            eprintln!("… and {count} more problems");
        }
    }

    fn writing(&self, total: Option<usize>) {
        *self.bar() = progress_bar(self.on, total.unwrap_or(0) as u64);
    }

    fn sent(&self, people: usize) {
        let bar = self.bar();
        bar.set_position(people as u64);
        if self.on && bar.is_hidden() && people > 0 && people.is_multiple_of(PROGRESS_EVERY) {
            eprintln!("import: {people} rows validated, sealed and sent to the database");
        }
    }

    fn done(&self) {
        self.bar().finish_and_clear();
    }
}

pub fn progress_bar(report: bool, len: u64) -> ProgressBar {
    if !report || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    // Without a length (the file is validated as it is written): a count and a rate.
    let (bar, template) = if len == 0 {
        (ProgressBar::no_length(), "{spinner} {pos} people ({per_sec}, {elapsed})")
    } else {
        (ProgressBar::new(len), "{bar:40} {pos}/{len} people ({per_sec}, eta {eta})")
    };
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// `sejf export [--excel]`: every person, as the operator holding the master key. `excel`:
/// what Polish Excel opens as it is (`;` separated, UTF-8 with a byte-order mark, CRLF);
/// otherwise RFC 4180 (`,`, CRLF, no BOM).
pub async fn export(app: &Arc<App>, out: Option<&Path>, excel: bool) -> Result<(), TransferError> {
    let sink = export_sink(out)?;
    let total = app.people_count().await?;
    let bar = if out.is_some() { ProgressBar::new(total.max(0) as u64) } else { ProgressBar::hidden() };
    let mut sink = sink;
    if excel {
        sink.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut w = csv::WriterBuilder::new().delimiter(if excel { b';' } else { b',' }).terminator(csv::Terminator::CRLF).from_writer(sink);
    w.write_record(COLUMNS)?;
    let n = each_person(app, |p| {
        bar.inc(1);
        let mut cells = person_cells(&p.fields, &p.tags);
        if excel {
            // A spreadsheet reads +48601222333 as a number and drops the +; spaced, it is text.
            cells[3] = sejf_domain::values::spaced_phone(&cells[3]);
        }
        Ok(w.write_record(cells)?)
    })
    .await?;
    w.flush()?;
    bar.finish_and_clear();
    if out.is_some() {
        println!("exported {n} people");
    }
    Ok(())
}

/// Calls `f` with every person, as the operator holding the master key, 500 at a time.
async fn each_person(
    app: &Arc<App>,
    mut f: impl FnMut(&sejf_core::people::PersonView) -> Result<(), TransferError>,
) -> Result<u64, TransferError> {
    let operator = Actor::operator();
    let (mut cursor, mut n) = (None, 0u64);
    loop {
        let page = app.list_people(&operator, &PeopleFilter { cursor: cursor.take(), limit: Some(500), ..Default::default() }).await?;
        for p in &page.items {
            f(p)?;
            n += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}

/// `sejf export --format vcard`: every person as a vCard 4.0 card (never the PESEL).
pub async fn export_vcards(app: &Arc<App>, out: Option<&Path>) -> Result<(), TransferError> {
    let mut sink = export_sink(out)?;
    let n = each_person(app, |p| {
        sink.write_all(sejf_core::vcard::person_vcard(p.id, &p.fields, &p.tags).as_bytes())?;
        Ok(())
    })
    .await?;
    sink.flush()?;
    if out.is_some() {
        println!("exported {n} people");
    }
    Ok(())
}

/// Where an export goes: a new file only its owner can read (never over an existing one), or
/// standard output.
pub(crate) fn export_sink(out: Option<&Path>) -> Result<Box<dyn Write>, TransferError> {
    Ok(match out {
        Some(p) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            Box::new(opts.open(p).map_err(FileError::at("create", p))?)
        }
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Writes `n` synthetic people as a CSV file (for the demo and the benchmarks).
pub fn write_synthetic(path: &Path, n: usize, seed: u64) -> Result<(), TransferError> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(COLUMNS)?;
    let mut s = crate::synth::Synth::new(seed);
    for i in 0..n {
        let p = s.person(i);
        w.write_record(person_cells(&p.raw, &p.tags))?;
    }
    Ok(w.flush()?)
}

/// `sejf honeytoken add --owner USER [--unit U] [--email-domain D]`: a person that looks like any
/// other customer (`crate::bait`), created exactly as an imported one is (the operator's import
/// path and its `person.create` events), and marked as bait only in the operator's
/// `honeytokens` table. Marked before it exists, so it is never readable unmarked.
pub async fn plant_honeytoken(app: &Arc<App>, owner: &str, unit: Option<&str>, email_domain: Option<&str>) -> Result<(), TransferError> {
    if let Some(d) = email_domain
        && sejf_domain::values::Email::parse(&format!("bait@{d}")).is_err()
    {
        return Err(TransferError::Argument("--email-domain: not a mail domain".into()));
    }
    let owner = owner_actor(app, owner).await?;
    let this_year = time::OffsetDateTime::from_unix_timestamp(app.now() / 1_000_000).map(|t| t.year()).unwrap_or(2026);
    let raw = crate::bait::person(&mut crate::bait::source()?, email_domain, this_year);
    let input = PersonInput { raw, owner_id: Some(owner.user_id), unit: unit.map(str::to_string), ..Default::default() };
    let id = app.plant_honeytoken(&Actor::operator(), &input).await?;
    println!("{id}");
    Ok(())
}

/// `sejf honeytoken list`: the planted ids (the operator's record; nothing else names them).
pub async fn list_honeytokens(app: &Arc<App>) -> Result<(), TransferError> {
    for id in app.honeytokens().await? {
        println!("{id}");
    }
    Ok(())
}
