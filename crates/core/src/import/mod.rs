//! Importing people (docs/adr/0023-imports.md; companies, deals and activities in `records`),
//! whatever the file: the edge parses a CSV file
//! or vCards into rows ([`ImportRows`]); this decides what becomes of each.
//!
//! - Every row is validated; any invalid row refuses the whole file unless
//!   [`ImportRules::skip_invalid`].
//! - A row matching someone erased at their request (the suppression list) is invalid.
//! - A row matching a person already held, or an earlier row of the file, by e-mail, phone or
//!   PESEL (through the blind indexes), is skipped, updated from the row or refuses the file
//!   ([`OnDuplicate`]).
//! - Without [`ImportRules::resume`] the file is one transaction, read once: each row is
//!   prepared from what was parsed, sealed in batches on a blocking thread and sent to the
//!   store while nothing refuses the file; a refusal found later rolls it all back. With it,
//!   each batch commits with the file's progress (known by its digest), so a run killed midway
//!   continues where it stopped; the file is then validated whole first and read a second time
//!   to write it.
//! - The operator (who holds the master key) imports; the people belong to the owner.

mod records;

pub use records::{RecordCells, RecordsImported, check_rules as check_record_rules};

use std::collections::HashMap;
use std::sync::Arc;

use sejf_domain::FieldError;
use sejf_domain::fields::PersonFields;
use sejf_domain::people::{PersonData, PersonRaw, parse_tags};
use uuid::Uuid;

use crate::gdpr::Suppression;
use crate::operator::{IdentityIndex, operator_only};
use crate::people::{PersonInput, Placement, Prepared};
use crate::ports::{ImportStep, NewPerson};
use crate::{Actor, App, CoreError};

/// People sealed and sent to the store at a time.
const BATCH: usize = 2_000;
/// Problems a reading reports one by one; past it, only how many more.
const MAX_REPORTED: usize = 100;

/// What becomes of a row that matches a person already held (or an earlier row of the same
/// file) by e-mail, phone or PESEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    /// Leave the person as they are and count the row.
    #[default]
    Skip,
    /// Overwrite the person's fields with the row's non-empty values.
    Update,
    /// Import nothing and name the rows.
    Fail,
}

/// How a file is imported.
#[derive(Debug, Clone, Default)]
pub struct ImportRules {
    /// Leave invalid rows out instead of refusing the file.
    pub skip_invalid: bool,
    pub on_duplicate: OnDuplicate,
    /// Commit batch by batch, so a killed run continues where it stopped.
    pub resume: bool,
    /// The unit the people go to (the owner's first unit when `None`).
    pub unit: Option<String>,
}

/// The rows of one file, as the edge parsed them. They can be read more than once.
pub trait ImportRows: Sync {
    /// The file's identity (`sha256:…` of its bytes), by which a resumed run finds its progress.
    fn digest(&self) -> &str;
    /// What a report calls a row: `line` (CSV) or `card` (vCard).
    fn unit(&self) -> &'static str;
    /// Each row's line (or card number) and fields, in the file's order; an unreadable row is
    /// an error naming why.
    fn rows(&self) -> Box<dyn Iterator<Item = Result<(u64, PersonInput), UnreadableRow>> + '_>;
}

/// A row the edge could not read at all (a CSV record that is not well formed, bytes that are
/// not text): the file is refused. `file` names it as the operator gave it; `source` is the
/// reader's own error, kept as the cause.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct UnreadableRow {
    pub file: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Where an import tells how it goes: the problems of the rows, and its progress.
pub trait ImportReport: Sync {
    /// One refused field of a row, among the first [`MAX_REPORTED`] of a reading.
    fn problem(&self, unit: &str, line: u64, field: &str, reason: &str);
    /// How many more problems there were past the first [`MAX_REPORTED`].
    fn more_problems(&self, count: usize);
    /// Writing starts: `total` people to write when known (a resumed run validated them first).
    fn writing(&self, total: Option<usize>);
    /// People validated, sealed and sent to the store so far.
    fn sent(&self, people: usize);
    /// Writing is over (done or refused).
    fn done(&self);
}

/// Why an import wrote nothing: the file refused as a whole, a row the store refused, or the
/// store itself.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Refused(String),
    /// A resumed import whose file was imported completely before: nothing to do.
    #[error("the file was imported completely before (--resume found its finished run); nothing to do")]
    AlreadyImported,
    #[error("{unit} {line}: {error}")]
    Row { unit: &'static str, line: u64, error: CoreError },
    #[error(transparent)]
    Unreadable(#[from] UnreadableRow),
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportStats {
    pub imported: usize,
    /// Invalid rows left out (`skip_invalid`).
    pub skipped: usize,
    /// Rows matching people already held, left as they were.
    pub duplicates: usize,
    /// People updated from their rows (`OnDuplicate::Update`).
    pub updated: usize,
    /// Rows a resumed run found already imported.
    pub resumed: usize,
}

/// What the scan decided for one data row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Insert,
    Invalid,
    Duplicate(Option<Uuid>),
}

/// A row to update after the inserts: (line, person, the row's input).
type Update = (u64, Uuid, PersonInput);

/// What a reading of the file found.
#[derive(Default)]
struct Scan {
    rows: usize,
    invalid: usize,
    suppressed: usize,
    /// Lines of this run's duplicates (rows a killed run already imported are not counted).
    duplicate_lines: Vec<u64>,
    /// Rows that update people (`OnDuplicate::Update`), in the file's order.
    updates: Vec<Update>,
    /// Rows of this run to insert.
    inserts: usize,
}

impl Scan {
    /// Whether nothing of the file may be written.
    fn refused(&self, rules: &ImportRules) -> bool {
        (self.invalid > 0 && !rules.skip_invalid) || (rules.on_duplicate == OnDuplicate::Fail && !self.duplicate_lines.is_empty())
    }

    /// Why nothing of the file may be written, if so.
    fn refusal(&self, rules: &ImportRules) -> Option<String> {
        if self.invalid > 0 && !rules.skip_invalid {
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
        if rules.on_duplicate == OnDuplicate::Fail && !self.duplicate_lines.is_empty() {
            return Some(format!(
                "{} of {} rows match people already held or an earlier row (by e-mail, phone or PESEL), e.g. lines {}; nothing was imported (--on-duplicate skip or update)",
                self.duplicate_lines.len(),
                self.rows,
                some_lines(&self.duplicate_lines)
            ));
        }
        None
    }
}

/// The first ten of `lines`, for a message that names examples.
fn some_lines(lines: &[u64]) -> String {
    lines.iter().take(10).map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// What a reading checks each row against: the people held (by blind index) and the erased.
struct Held {
    known: HashMap<(IdentityIndex, i64), Uuid>,
    suppression: Suppression,
}

/// Batches sealed while the file is read on, beside the one being read.
const SEALING_AHEAD: usize = 1;

/// A batch being sealed on a blocking thread.
type SealedBatch = tokio::task::JoinHandle<Result<Vec<NewPerson>, CoreError>>;

/// The batches of a writing reading being sealed on blocking threads, oldest first, each with
/// the rows of the file done once it is written; and how many people were sent.
#[derive(Default)]
struct Sealing {
    pending: std::collections::VecDeque<(SealedBatch, i64)>,
    sent: usize,
}

/// Where a writing reading sends the rows it prepares, and what it prepares them for.
struct Sink<'a> {
    tx: &'a tokio::sync::mpsc::Sender<ImportStep>,
    placement: Placement,
}

/// One reading of the file: what it is for.
struct Reading<'a> {
    rules: &'a ImportRules,
    rows: &'a dyn ImportRows,
    report: &'a dyn ImportReport,
    /// Whether this reading tells the rows' problems (the first reading of the file does).
    tells_problems: bool,
    resume_from: usize,
    held: &'a Held,
}

impl App {
    /// Imports the people of `rows` for `owner` (see the module documentation). Operator only.
    pub async fn import_people(
        self: &Arc<Self>,
        operator: &Actor,
        owner: &Actor,
        rows: &dyn ImportRows,
        rules: &ImportRules,
        report: &dyn ImportReport,
    ) -> Result<ImportStats, ImportError> {
        operator_only(operator, "import")?;
        let (resume_from, finished) = if rules.resume {
            self.import_job(operator, rows.digest()).await?.map_or((0, false), |(done, fin)| (done.max(0) as usize, fin))
        } else {
            (0, false)
        };
        if finished {
            return Err(ImportError::AlreadyImported);
        }
        // Everything the rows are checked against and placed by is read before the import's
        // transaction opens: while it is open, nothing here may wait for another write.
        let held = Held { known: self.held_identities(operator).await?, suppression: self.suppression().await? };
        // Every row gets the same owner and unit: resolved once, not once per row.
        let placement = self.placement(operator, Some(owner.user_id), rules.unit.as_deref()).await?;
        let reading = |tells_problems| Reading { rules, rows, report, tells_problems, resume_from, held: &held };

        // A resumable import validates the whole file before its first batch commits.
        let validated = if rules.resume {
            let checked = self.scan(operator, &reading(true), None).await?;
            if let Some(refusal) = checked.refusal(rules) {
                return Err(ImportError::Refused(refusal));
            }
            Some(checked.inserts)
        } else {
            None
        };
        report.writing(validated);
        let (tx, rx) = tokio::sync::mpsc::channel::<ImportStep>(2);
        let job = rules.resume.then(|| rows.digest().to_string());
        let writer = tokio::spawn(self.import_writer(operator, job, rx)?);
        let fed = self.scan(operator, &reading(validated.is_none()), Some(Sink { tx: &tx, placement })).await;
        let result = match fed {
            Ok(scan) => match scan.refusal(rules) {
                None => {
                    let _ = tx.send(ImportStep::Finish).await;
                    drop(tx);
                    let written = writer.await.map_err(|e| CoreError::Internal(e.to_string()))?;
                    written.map(|n| (n, scan)).map_err(ImportError::from)
                }
                Some(refusal) => {
                    // Dropping the sender without Finish rolls the import back.
                    drop(tx);
                    let _ = writer.await;
                    Err(ImportError::Refused(refusal))
                }
            },
            Err(e) => {
                drop(tx);
                let _ = writer.await;
                Err(e)
            }
        };
        report.done();
        let (imported, scan) = result?;
        let mut updated = 0;
        for (line, id, input) in scan.updates {
            self.update_from_row(operator, id, input).await.map_err(|error| ImportError::Row { unit: rows.unit(), line, error })?;
            updated += 1;
        }
        if rules.resume {
            self.import_job_finish(operator, rows.digest()).await?;
        }
        let duplicates = scan.duplicate_lines.len();
        Ok(ImportStats {
            imported: imported as usize,
            skipped: scan.invalid,
            duplicates: if rules.on_duplicate == OnDuplicate::Skip { duplicates } else { duplicates - updated },
            updated,
            resumed: resume_from,
        })
    }

    /// Reads every row once: validates it, matches it to the people held and to the file's
    /// earlier rows (by e-mail, phone and PESEL blind indexes), and reports the problems. With
    /// a `sink`, the rows of this run to insert are prepared from what was parsed, sealed in
    /// batches and sent to the store's import as long as nothing refuses the file.
    async fn scan(self: &Arc<Self>, operator: &Actor, r: &Reading<'_>, sink: Option<Sink<'_>>) -> Result<Scan, ImportError> {
        let mut found = Scan::default();
        let mut seen: HashMap<(IdentityIndex, i64), u64> = HashMap::new();
        let mut reported = 0usize;
        let unit = r.rows.unit();
        let mut batch: Vec<Prepared> = Vec::new();
        let mut sealing = Sealing::default();
        for (i, row) in r.rows.rows().enumerate() {
            let (line, input) = row?;
            found.rows += 1;
            let this_run = i >= r.resume_from;
            let mut errs = Vec::new();
            let mut fate = Fate::Insert;
            let mut parsed = None;
            match PersonData::parse(&input.raw, self.settings().default_region) {
                Err(e) => errs.extend(e.0),
                // Someone erased at their request (GDPR art. 17) comes back only knowingly.
                Ok(data) if self.suppressed(&r.held.suppression, &data) => {
                    found.suppressed += 1;
                    errs.push(FieldError {
                        field: "email".into(),
                        reason: "matches a person erased at their request (suppression list); not imported".into(),
                    });
                }
                Ok(data) => {
                    let index = self.index_values(&data);
                    let key = |k: usize, v: i64| (k as IdentityIndex, v);
                    let known = index.iter().enumerate().find_map(|(k, v)| v.and_then(|v| r.held.known.get(&key(k, v)).copied()));
                    let earlier = index.iter().enumerate().find_map(|(k, v)| v.and_then(|v| seen.get(&key(k, v)).copied()));
                    if known.is_some() || earlier.is_some() {
                        fate = Fate::Duplicate(known);
                    } else {
                        for (k, v) in index.iter().enumerate() {
                            if let Some(v) = v {
                                seen.insert(key(k, *v), line);
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
                    if r.tells_problems && reported < MAX_REPORTED {
                        r.report.problem(unit, line, &e.field, &e.reason);
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
                    if r.rules.on_duplicate == OnDuplicate::Update
                        && let Some(id) = known
                    {
                        found.updates.push((line, id, input));
                    }
                }
                Fate::Insert => {
                    found.inserts += 1;
                    if let (Some(sink), Some(data), Some(tags)) = (&sink, parsed, tags)
                        && !found.refused(r.rules)
                    {
                        let prepared = self.prepare_parsed(operator, data, &tags, &sink.placement).map_err(|error| ImportError::Row {
                            unit,
                            line,
                            error,
                        })?;
                        batch.push(prepared);
                        if batch.len() == BATCH {
                            self.seal_batch(operator, &mut sealing, std::mem::take(&mut batch), (i + 1) as i64, sink, r.report).await?;
                        }
                    }
                }
            }
        }
        if r.tells_problems && reported > MAX_REPORTED {
            r.report.more_problems(reported - MAX_REPORTED);
        }
        if let Some(sink) = &sink
            && !found.refused(r.rules)
        {
            self.seal_batch(operator, &mut sealing, batch, found.rows as i64, sink, r.report).await?;
            self.send_sealed(operator, &mut sealing, 0, sink, r.report).await?;
        }
        Ok(found)
    }

    /// Starts sealing a batch on a blocking thread, and hands the store's import every batch
    /// sealed but [`SEALING_AHEAD`]: the file is read on while the last batch is sealed.
    async fn seal_batch(
        self: &Arc<Self>,
        operator: &Actor,
        sealing: &mut Sealing,
        batch: Vec<Prepared>,
        rows_done: i64,
        sink: &Sink<'_>,
        report: &dyn ImportReport,
    ) -> Result<(), ImportError> {
        let sealer = self.clone();
        let sealed = tokio::task::spawn_blocking(move || batch.iter().map(|p| sealer.seal_new_person(p)).collect());
        sealing.pending.push_back((sealed, rows_done));
        self.send_sealed(operator, sealing, SEALING_AHEAD, sink, report).await
    }

    /// Waits for the batches being sealed, oldest first, until `keep` are left, and hands each
    /// to the store's import in file order (a resumable import commits each batch with the rows
    /// done so far).
    async fn send_sealed(
        &self,
        operator: &Actor,
        sealing: &mut Sealing,
        keep: usize,
        sink: &Sink<'_>,
        report: &dyn ImportReport,
    ) -> Result<(), ImportError> {
        while sealing.pending.len() > keep {
            let Some((sealed, rows_done)) = sealing.pending.pop_front() else { break };
            let people = sealed.await.map_err(|e| CoreError::Internal(e.to_string()))??;
            sealing.sent += people.len();
            let audit = self.creation_events(operator, &people);
            sink.tx
                .send(ImportStep::Batch { people, audit, rows_done })
                .await
                .map_err(|_| ImportError::Refused("the database refused the import; nothing was written".into()))?;
            report.sent(sealing.sent);
        }
        Ok(())
    }

    /// Overwrites a person's fields with a row's non-empty values (`OnDuplicate::Update`): one
    /// read of the person, written over the version that read found.
    async fn update_from_row(&self, operator: &Actor, id: Uuid, row: PersonInput) -> Result<(), CoreError> {
        self.merge_person(
            operator,
            id,
            |_| Ok(()),
            |current, _| {
                let (old, new) = (current.fields.to_texts(), row.raw.to_texts());
                let merged = PersonFields::from_fn(|field| new.get(field).clone().or_else(|| old.get(field).clone()));
                let raw = PersonRaw::from_texts(merged).map_err(|field| CoreError::Internal(format!("{field} did not survive a merge")))?;
                Ok::<_, CoreError>(PersonInput {
                    raw,
                    tags: if row.tags.is_empty() { current.tags.clone() } else { row.tags },
                    owner_id: Some(current.owner_id),
                    unit: Some(current.unit.clone()),
                    company_id: current.company_id,
                })
            },
        )
        .await?;
        Ok(())
    }
}
