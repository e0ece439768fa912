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
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sejf_core::csvcells::{COLUMNS, person_cells, unneutralise};
use sejf_core::people::{PeopleFilter, PersonInput, Prepared};
use sejf_core::ports::ImportStep;
use sejf_core::{Actor, App};
use sejf_domain::people::{AddressRaw, PersonData, PersonRaw, parse_tags};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const BATCH: usize = 2_000;
const MAX_REPORTED: usize = 100;
/// People per progress line when stderr is not a terminal.
const PROGRESS_EVERY: usize = 10_000;

/// What `--on-duplicate` does with a row that matches a person already held (or an earlier row
/// of the same file) by e-mail, phone or PESEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnDuplicate {
    /// Leave the person as they are and report the row.
    #[default]
    Skip,
    /// Overwrite the person's fields with the row's non-empty values.
    Update,
    /// Import nothing and name the rows.
    Fail,
}

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
    Csv { csv: Box<CsvText>, cols: [Option<usize>; 12] },
    Cards { digest: String, cards: Vec<sejf_core::vcard::VCardPerson> },
}

impl Source {
    /// The SHA-256 of the file, by which `--resume` knows it.
    fn digest(&self) -> &str {
        match self {
            Source::Csv { csv, .. } => &csv.digest,
            Source::Cards { digest, .. } => digest,
        }
    }

    /// What a report calls a row: a CSV line or a card.
    fn unit(&self) -> &'static str {
        match self {
            Source::Csv { .. } => "line",
            Source::Cards { .. } => "card",
        }
    }

    /// Each row's line (or card number) and fields, in the file's order.
    fn inputs(&self) -> Box<dyn Iterator<Item = Result<(u64, PersonInput), String>> + '_> {
        match self {
            Source::Csv { csv, cols } => Box::new(reader(csv).into_records().map(move |rec| {
                let rec = rec.map_err(|e| e.to_string())?;
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
fn decode_csv(path: &Path, bytes: Vec<u8>) -> Result<CsvText, String> {
    let digest = digest(&bytes);
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (String::from_utf8(rest.to_vec()).map_err(|_| format!("{}: starts as UTF-8 but is not", path.display()))?, "UTF-8 (BOM)")
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
fn map_columns(path: &Path, headers: &csv::StringRecord, map: &[String]) -> Result<[Option<usize>; 12], String> {
    let mut explicit: HashMap<String, usize> = HashMap::new();
    for m in map {
        let (h, f) = m.split_once('=').ok_or_else(|| format!("--map {m:?}: expected HEADER=FIELD, e.g. \"Nr kom.=phone\""))?;
        let field = COLUMNS
            .iter()
            .position(|c| *c == f.trim())
            .ok_or_else(|| format!("--map {m:?}: unknown field {:?} (fields: {})", f.trim(), COLUMNS.join(", ")))?;
        explicit.insert(h.trim().to_lowercase(), field);
    }
    let mut cols = [None; 12];
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().trim_start_matches('\u{feff}').trim().to_lowercase();
        let field = explicit.get(&name).copied().or_else(|| HEADER_NAMES.iter().position(|names| names.contains(&name.as_str())));
        match field {
            Some(c) if cols[c].is_none() => cols[c] = Some(i),
            Some(c) => return Err(format!("{}: line 1: two columns hold {} ({h:?} is the second)", path.display(), COLUMNS[c])),
            None if name.is_empty() => {}
            None => unknown.push(h.trim().to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "{}: line 1: unknown column {:?} (known: {}; map others with --map \"HEADER=FIELD\")",
            path.display(),
            unknown[0],
            COLUMNS.join(", ")
        ));
    }
    if cols[0].is_none() && cols[1].is_none() {
        return Err(format!("{}: line 1: needs a first_name or last_name column (imię, nazwisko)", path.display()));
    }
    Ok(cols)
}

pub(crate) fn reader(csv: &CsvText) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(csv.delimiter).flexible(false).from_reader(csv.text.as_bytes())
}

/// The user that imported people belong to.
pub(crate) async fn owner_actor(app: &App, owner: &str) -> Result<Actor, String> {
    let users = app.users().await.map_err(|e| e.to_string())?;
    let u = users.into_iter().find(|u| u.username == owner).ok_or_else(|| format!("--owner: no user named {owner}"))?;
    if u.disabled {
        return Err(format!("--owner: {} is disabled", u.username));
    }
    Ok(Actor::for_user(&u))
}

/// An import file's bytes, read once.
pub(crate) fn read_import(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// A CSV import's file decoded, and its header line.
pub(crate) fn open_csv(path: &Path, bytes: Vec<u8>) -> Result<(CsvText, csv::StringRecord), String> {
    let csv = decode_csv(path, bytes)?;
    let headers = reader(&csv).headers().map_err(|e| format!("{}: line 1: {e}", path.display()))?.clone();
    Ok((csv, headers))
}

/// Statistics of an import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportStats {
    pub imported: usize,
    /// Invalid rows left out (`--skip-invalid`).
    pub skipped: usize,
    /// Rows matching people already held, left as they were.
    pub duplicates: usize,
    /// People updated from their rows (`--on-duplicate update`).
    pub updated: usize,
    /// Rows a resumed run found already imported.
    pub resumed: usize,
    pub seconds: f64,
}

/// `sejf import FILE.csv`.
pub async fn import(app: &Arc<App>, path: &Path, opts: &ImportOptions) -> Result<(), String> {
    let stats = import_file(app, path, opts).await?;
    println!(
        "imported {} people, updated {}, skipped {} duplicates and {} invalid rows{} in {:.1} s ({:.0} rows/s)",
        stats.imported,
        stats.updated,
        stats.duplicates,
        stats.skipped,
        if stats.resumed > 0 { format!(" ({} rows were in from an earlier run)", stats.resumed) } else { String::new() },
        stats.seconds,
        stats.imported as f64 / stats.seconds.max(1e-9)
    );
    Ok(())
}

/// What the scan decided for one data row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Insert,
    Invalid,
    Duplicate(Option<Uuid>),
}

/// What a scan of the file found.
#[derive(Default)]
struct Scan {
    rows: usize,
    invalid: usize,
    suppressed: usize,
    /// Lines of this run's duplicates (rows a killed run already imported are not counted).
    duplicate_lines: Vec<u64>,
    /// Rows that update people (`--on-duplicate update`), in the file's order.
    updates: Vec<Update>,
    /// Rows of this run to insert.
    inserts: usize,
}

impl Scan {
    /// Whether nothing of the file may be written.
    fn refused(&self, opts: &ImportOptions) -> bool {
        (self.invalid > 0 && !opts.skip_invalid) || (opts.on_duplicate == OnDuplicate::Fail && !self.duplicate_lines.is_empty())
    }

    /// Why nothing of the file may be written, if so.
    fn refusal(&self, opts: &ImportOptions) -> Option<String> {
        if self.invalid > 0 && !opts.skip_invalid {
            let erased = if self.suppressed > 0 {
                format!(" ({} match erased people on the suppression list)", self.suppressed)
            } else {
                String::new()
            };
            return Some(format!(
                "{} of {} rows are invalid{erased}; nothing was imported (fix them, or pass --skip-invalid)",
                self.invalid, self.rows
            ));
        }
        if opts.on_duplicate == OnDuplicate::Fail && !self.duplicate_lines.is_empty() {
            let shown: Vec<String> = self.duplicate_lines.iter().take(10).map(u64::to_string).collect();
            return Some(format!(
                "{} of {} rows match people already held or an earlier row (by e-mail, phone or PESEL), e.g. lines {}; nothing was imported (--on-duplicate skip or update)",
                self.duplicate_lines.len(),
                self.rows,
                shown.join(", ")
            ));
        }
        None
    }
}

/// What a scan checks each row against: the people held (by blind index) and the erased.
struct Held {
    known: HashMap<(u8, i64), Uuid>,
    suppression: sejf_core::gdpr::Suppression,
}

/// Where a scan sends the rows it prepares, and what it prepares them for.
struct Sink<'a> {
    tx: &'a tokio::sync::mpsc::Sender<ImportStep>,
    bar: &'a ProgressBar,
    placement: sejf_core::people::Placement,
}

/// Imports a file (see the module documentation).
pub async fn import_file(app: &Arc<App>, path: &Path, opts: &ImportOptions) -> Result<ImportStats, String> {
    let start = Instant::now();
    // The operator (who holds the master key) imports; the people belong to the owner.
    let owner = owner_actor(app, &opts.owner).await?;
    let bytes = read_import(path)?;
    let source = if sejf_core::vcard::looks_like_vcard(&bytes) {
        if !opts.map.is_empty() {
            return Err("--map: a vCard file has no columns to map".into());
        }
        let text = String::from_utf8(bytes).map_err(|_| format!("{}: a vCard file must be UTF-8", path.display()))?;
        let cards = sejf_core::vcard::people_from_vcards(&text).map_err(|e| format!("{}: {e}", path.display()))?;
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
        Source::Csv { csv: Box::new(csv), cols }
    };
    let operator = Actor::operator();
    let (resume_from, finished) = if opts.resume {
        app.import_job(&operator, source.digest())
            .await
            .map_err(|e| e.to_string())?
            .map_or((0, false), |(done, fin)| (done.max(0) as usize, fin))
    } else {
        (0, false)
    };
    if finished {
        return Err(format!("{} was imported completely before (--resume found its finished run); nothing to do", path.display()));
    }
    // Everything the rows are checked against and placed by is read before the import's
    // transaction opens: while it is open, nothing here may wait for another write.
    let known = app.held_identities(&operator).await.map_err(|e| e.to_string())?;
    let held = Held { known, suppression: app.suppression().await.map_err(|e| e.to_string())? };
    // Every row gets the same owner and unit: resolved once, not once per row.
    let placement = app.placement(&operator, Some(owner.user_id), opts.unit.as_deref()).await.map_err(|e| e.to_string())?;

    // Without --resume the file is one transaction, so it is read once: each row is validated
    // and, while nothing refuses the file, prepared from what was parsed, sealed and sent; a
    // refusal found later (an invalid row, a duplicate under --on-duplicate fail) rolls it all
    // back. With --resume every batch commits as it goes, so the whole file is validated first
    // and read a second time to write it.
    let scanned = if opts.resume {
        let checked = scan(app, &operator, opts, true, path, &source, resume_from, &held, None).await?;
        if let Some(refusal) = checked.refusal(opts) {
            return Err(refusal);
        }
        Some(checked.inserts)
    } else {
        None
    };
    let bar = progress_bar(opts.report, scanned.unwrap_or(0) as u64);
    let (tx, rx) = tokio::sync::mpsc::channel::<ImportStep>(2);
    let job = opts.resume.then(|| source.digest().to_string());
    let writer = tokio::spawn(app.import_writer(&operator, job, rx).map_err(|e| e.to_string())?);
    let sink = Sink { tx: &tx, bar: &bar, placement };
    // A resumable import's problems were reported by its first reading.
    let report_problems = opts.report && scanned.is_none();
    let fed = scan(app, &operator, opts, report_problems, path, &source, resume_from, &held, Some(sink)).await;
    let result = match fed {
        Ok(scan) => match scan.refusal(opts) {
            None => {
                let _ = tx.send(ImportStep::Finish).await;
                drop(tx);
                writer.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string()).map(|n| (n, scan))
            }
            Some(refusal) => {
                // Dropping the sender without Finish rolls the import back.
                drop(tx);
                let _ = writer.await;
                Err(refusal)
            }
        },
        Err(e) => {
            drop(tx);
            let _ = writer.await;
            Err(e)
        }
    };
    bar.finish_and_clear();
    let (imported, scan) = result?;
    let unit = source.unit();
    let mut updated = 0;
    for (line, id, input) in scan.updates {
        update_one(app, &operator, id, input).await.map_err(|e| format!("{unit} {line}: {e}"))?;
        updated += 1;
    }
    if opts.resume {
        app.import_job_finish(&operator, source.digest()).await.map_err(|e| e.to_string())?;
    }
    let duplicates = scan.duplicate_lines.len();
    Ok(ImportStats {
        imported: imported as usize,
        skipped: scan.invalid,
        duplicates: if opts.on_duplicate == OnDuplicate::Skip { duplicates } else { duplicates - updated },
        updated,
        resumed: resume_from,
        seconds: start.elapsed().as_secs_f64(),
    })
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

/// A row to update after the inserts: (line, person, the row's input).
type Update = (u64, Uuid, PersonInput);

/// Reads every row once: validates it, matches it to the people held and to the file's
/// earlier rows (by e-mail, phone and PESEL blind indexes), and reports the problems (with
/// `report_problems`; progress with `opts.report`). With a
/// `sink`, the rows of this run to insert are prepared from what was parsed, sealed in batches
/// and sent to the store's import as long as nothing refuses the file.
#[allow(clippy::too_many_arguments)]
async fn scan(
    app: &Arc<App>,
    operator: &Actor,
    opts: &ImportOptions,
    report_problems: bool,
    path: &Path,
    source: &Source,
    resume_from: usize,
    held: &Held,
    sink: Option<Sink<'_>>,
) -> Result<Scan, String> {
    let mut found = Scan::default();
    let mut seen: HashMap<(u8, i64), u64> = HashMap::new();
    let mut reported = 0usize;
    let unit = source.unit();
    let mut batch: Vec<Prepared> = Vec::new();
    let mut sent = 0usize;
    for (i, row) in source.inputs().enumerate() {
        let (line, input) = row.map_err(|e| format!("{}: {e}", path.display()))?;
        found.rows += 1;
        let this_run = i >= resume_from;
        let mut errs = Vec::new();
        let mut fate = Fate::Insert;
        let mut parsed = None;
        match PersonData::parse(&input.raw, app.settings().default_region) {
            Err(e) => errs.extend(e.0),
            // Someone erased at their request (GDPR art. 17) comes back only knowingly.
            Ok(data) if app.suppressed(&held.suppression, &data) => {
                found.suppressed += 1;
                errs.push(sejf_domain::FieldError {
                    field: "email".into(),
                    reason: "matches a person erased at their request (suppression list); not imported".into(),
                });
            }
            Ok(data) => {
                let index = app.index_values(&data);
                let known = index.iter().enumerate().find_map(|(k, v)| v.and_then(|v| held.known.get(&(k as u8, v)).copied()));
                let earlier = index.iter().enumerate().find_map(|(k, v)| v.and_then(|v| seen.get(&(k as u8, v)).copied()));
                if known.is_some() || earlier.is_some() {
                    fate = Fate::Duplicate(known);
                } else {
                    for (k, v) in index.iter().enumerate() {
                        if let Some(v) = v {
                            seen.insert((k as u8, *v), line);
                        }
                    }
                    parsed = Some(data);
                }
            }
        }
        let tags = parse_tags(&input.tags).map_err(|e| errs.extend(e.0)).ok();
        if !errs.is_empty() {
            fate = Fate::Invalid;
            found.invalid += 1;
            for e in errs {
                if report_problems && reported < MAX_REPORTED {
                    eprintln!("{unit} {line}, {}: {}", e.field, e.reason);
                }
                reported += 1;
            }
        }
        if !this_run {
            continue;
        }
        match fate {
            Fate::Invalid => {}
            Fate::Duplicate(known) => {
                found.duplicate_lines.push(line);
                if opts.on_duplicate == OnDuplicate::Update
                    && let Some(id) = known
                {
                    found.updates.push((line, id, input));
                }
            }
            Fate::Insert => {
                found.inserts += 1;
                if let (Some(sink), Some(data), Some(tags)) = (&sink, parsed, tags)
                    && !found.refused(opts)
                {
                    let prepared = app.prepare_parsed(operator, data, &tags, &sink.placement).map_err(|e| format!("{unit} {line}: {e}"))?;
                    batch.push(prepared);
                    if batch.len() == BATCH {
                        sent += send_batch(app, operator, std::mem::take(&mut batch), (i + 1) as i64, sink.tx).await?;
                        sink.bar.set_position(sent as u64);
                        // Without a terminal: one progress line per PROGRESS_EVERY people.
                        if opts.report && sink.bar.is_hidden() && sent.is_multiple_of(PROGRESS_EVERY) {
                            eprintln!("import: {sent} people validated, sealed and sent to the database");
                        }
                    }
                }
            }
        }
    }
    if report_problems && reported > MAX_REPORTED {
        eprintln!("… and {} more problems", reported - MAX_REPORTED);
    }
    if let Some(sink) = &sink
        && !found.refused(opts)
    {
        send_batch(app, operator, batch, found.rows as i64, sink.tx).await?;
    }
    Ok(found)
}

/// Seals a batch on a blocking thread and hands it to the store's import.
async fn send_batch(
    app: &Arc<App>,
    operator: &Actor,
    batch: Vec<Prepared>,
    rows_done: i64,
    tx: &tokio::sync::mpsc::Sender<ImportStep>,
) -> Result<usize, String> {
    let sealer = app.clone();
    let sealed = tokio::task::spawn_blocking(move || batch.iter().map(|p| sealer.seal_new_person(p)).collect::<Result<Vec<_>, _>>())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let n = sealed.len();
    let audit = app.creation_events(operator, &sealed);
    tx.send(ImportStep::Batch { people: sealed, audit, rows_done })
        .await
        .map_err(|_| "the database refused the import; nothing was written".to_string())?;
    Ok(n)
}

/// Overwrites a person's fields with a row's non-empty values (`--on-duplicate update`).
async fn update_one(app: &Arc<App>, operator: &Actor, id: Uuid, row: PersonInput) -> Result<(), String> {
    let current = app.person_for_update(operator, id).await.map_err(|e| e.to_string())?;
    let f = current.fields.clone();
    let r = row.raw;
    let pick = |new: Option<String>, old: Option<String>| new.or(old);
    let raw = PersonRaw {
        first_name: pick(r.first_name, f.first_name),
        last_name: pick(r.last_name, f.last_name),
        email: pick(r.email, f.email),
        phone: pick(r.phone, f.phone),
        national_id: pick(r.national_id, f.national_id),
        birth_date: pick(r.birth_date, f.birth_date),
        address: r.address.or(f.address),
        notes: pick(r.notes, f.notes),
    };
    let input = PersonInput {
        raw,
        tags: if row.tags.is_empty() { current.tags.clone() } else { row.tags },
        owner_id: Some(current.owner_id),
        unit: Some(current.unit.clone()),
        company_id: current.company_id,
    };
    app.update_person(operator, id, Some(current.version), &input).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// `sejf export [--excel]`: every person, as the operator holding the master key. `excel`:
/// what Polish Excel opens as it is (`;` separated, UTF-8 with a byte-order mark, CRLF);
/// otherwise RFC 4180 (`,`, CRLF, no BOM).
pub async fn export(app: &Arc<App>, out: Option<&Path>, excel: bool) -> Result<(), String> {
    let sink = export_sink(out)?;
    let total = app.people_count().await.map_err(|e| e.to_string())?;
    let bar = if out.is_some() { ProgressBar::new(total.max(0) as u64) } else { ProgressBar::hidden() };
    let mut sink = sink;
    if excel {
        sink.write_all(b"\xEF\xBB\xBF").map_err(|e| e.to_string())?;
    }
    let mut w = csv::WriterBuilder::new().delimiter(if excel { b';' } else { b',' }).terminator(csv::Terminator::CRLF).from_writer(sink);
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    let n = each_person(app, |p| {
        bar.inc(1);
        let mut cells = person_cells(&p.fields, &p.tags);
        if excel {
            // A spreadsheet reads +48601222333 as a number and drops the +; spaced, it is text.
            cells[3] = sejf_domain::values::spaced_phone(&cells[3]);
        }
        w.write_record(cells).map_err(|e| e.to_string())
    })
    .await?;
    w.flush().map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if out.is_some() {
        println!("exported {n} people");
    }
    Ok(())
}

/// Calls `f` with every person, as the operator holding the master key, 500 at a time.
async fn each_person(app: &Arc<App>, mut f: impl FnMut(&sejf_core::people::PersonView) -> Result<(), String>) -> Result<u64, String> {
    let operator = Actor::operator();
    let (mut cursor, mut n) = (None, 0u64);
    loop {
        let page = app
            .list_people(&operator, &PeopleFilter { cursor: cursor.take(), limit: Some(500), ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
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
pub async fn export_vcards(app: &Arc<App>, out: Option<&Path>) -> Result<(), String> {
    let mut sink = export_sink(out)?;
    let n = each_person(app, |p| {
        sink.write_all(sejf_core::vcard::person_vcard(p.id, &p.fields, &p.tags).as_bytes()).map_err(|e| e.to_string())
    })
    .await?;
    sink.flush().map_err(|e| e.to_string())?;
    if out.is_some() {
        println!("exported {n} people");
    }
    Ok(())
}

/// Where an export goes: a new file only its owner can read (never over an existing one), or
/// standard output.
pub(crate) fn export_sink(out: Option<&Path>) -> Result<Box<dyn Write>, String> {
    Ok(match out {
        Some(p) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            Box::new(opts.open(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Writes `n` synthetic people as a CSV file (for the demo and the benchmarks).
pub fn write_synthetic(path: &Path, n: usize, seed: u64) -> Result<(), String> {
    let mut w = csv::Writer::from_path(path).map_err(|e| e.to_string())?;
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    let mut s = crate::synth::Synth::new(seed);
    for i in 0..n {
        let p = s.person(i);
        w.write_record(person_cells(&p.raw, &p.tags)).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

/// `sejf honeytoken add --owner USER [--unit U] [--email-domain D]`: a person that looks like any
/// other customer (`crate::bait`), created exactly as an imported one is (the operator's import
/// path and its `person.create` events), and marked as bait only in the operator's
/// `honeytokens` table. Marked before it exists, so it is never readable unmarked.
pub async fn plant_honeytoken(app: &Arc<App>, owner: &str, unit: Option<&str>, email_domain: Option<&str>) -> Result<(), String> {
    if let Some(d) = email_domain
        && sejf_domain::values::Email::parse(&format!("bait@{d}")).is_err()
    {
        return Err("--email-domain: not a mail domain".into());
    }
    let owner = owner_actor(app, owner).await?;
    let this_year = time::OffsetDateTime::from_unix_timestamp(app.now() / 1_000_000).map(|t| t.year()).unwrap_or(2026);
    let raw = crate::bait::person(&mut crate::bait::source()?, email_domain, this_year);
    let input = PersonInput { raw, owner_id: Some(owner.user_id), unit: unit.map(str::to_string), ..Default::default() };
    let operator = Actor::operator();
    let prepared = app.prepare_person(&operator, &input).await.map_err(|e| e.to_string())?;
    let sealed = app.seal_new_person(&prepared).map_err(|e| e.to_string())?;
    let id = sealed.row.id;
    app.mark_honeytoken(id).await.map_err(|e| e.to_string())?;
    app.insert_sealed_people(&operator, vec![sealed]).await.map_err(|e| e.to_string())?;
    println!("{id}");
    Ok(())
}

/// `sejf honeytoken list`: the planted ids (the operator's record; nothing else names them).
pub async fn list_honeytokens(app: &Arc<App>) -> Result<(), String> {
    for id in app.honeytokens().await.map_err(|e| e.to_string())? {
        println!("{id}");
    }
    Ok(())
}
