//! CSV import and export of people. Import validates the whole file first and writes nothing
//! if any row is invalid (unless `--skip-invalid`); rows are then sealed on one core while the
//! previous batch is written on the other. Export neutralises spreadsheet formulas.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sejf_core::csvcells::{COLUMNS, person_cells, unneutralise};
use sejf_core::people::{PeopleFilter, PersonInput, Prepared};
use sejf_core::{Actor, App};
use sejf_domain::people::{AddressRaw, PersonData, PersonRaw, parse_tags};
use sejf_domain::roles::Role;

/// The columns of Sejf's people CSV, in export order. `tags` are separated by `;`.
const BATCH: usize = 2_000;
const MAX_REPORTED: usize = 100;

/// A CSV row's columns by name.
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

    fn input(&self) -> PersonInput {
        let address = AddressRaw { street: self.get(6), city: self.get(7), postal_code: self.get(8), country: self.get(9) };
        let has_address = address.street.is_some() || address.city.is_some() || address.postal_code.is_some() || address.country.is_some();
        PersonInput {
            raw: PersonRaw {
                first_name: self.get(0),
                last_name: self.get(1),
                email: self.get(2),
                phone: self.get(3),
                national_id: self.get(4),
                birth_date: self.get(5),
                address: has_address.then_some(address),
                notes: self.get(11),
            },
            tags: self.get(10).map(|t| t.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default(),
            ..Default::default()
        }
    }
}

fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, [Option<usize>; 12]), String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_path(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let headers = rdr.headers().map_err(|e| format!("{}: line 1: {e}", path.display()))?.clone();
    let mut cols = [None; 12];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match COLUMNS.iter().position(|c| *c == h) {
            Some(c) if cols[c].is_none() => cols[c] = Some(i),
            Some(_) => return Err(format!("{}: line 1: column {h} appears twice", path.display())),
            None => return Err(format!("{}: line 1: unknown column {h:?} (expected some of: {})", path.display(), COLUMNS.join(", "))),
        }
    }
    if cols[0].is_none() && cols[1].is_none() {
        return Err(format!("{}: line 1: needs a first_name or last_name column", path.display()));
    }
    Ok((rdr, cols))
}

/// The user that imported people belong to: `--owner`, or the first admin.
async fn owner_actor(app: &App, owner: Option<&str>) -> Result<Actor, String> {
    let users = app.users().await.map_err(|e| e.to_string())?;
    let u = match owner {
        Some(name) => users.into_iter().find(|u| u.username == name).ok_or_else(|| format!("--owner: no user named {name}"))?,
        None => users
            .into_iter()
            .find(|u| u.role == Role::Admin && !u.disabled)
            .ok_or("no active admin user to own the import; pass --owner")?,
    };
    if u.disabled {
        return Err(format!("--owner: {} is disabled", u.username));
    }
    Ok(Actor::for_user(&u))
}

/// Statistics of an import.
#[derive(Debug, Clone, Copy)]
pub struct ImportStats {
    pub imported: usize,
    pub skipped: usize,
    pub seconds: f64,
}

/// `sejf import FILE.csv`.
pub async fn import(app: &Arc<App>, path: &Path, skip_invalid: bool, owner: Option<&str>, unit: Option<&str>) -> Result<(), String> {
    let stats = import_file(app, path, skip_invalid, owner, unit, true).await?;
    println!(
        "imported {} people ({} invalid rows skipped) in {:.1} s ({:.0} rows/s)",
        stats.imported,
        stats.skipped,
        stats.seconds,
        stats.imported as f64 / stats.seconds.max(1e-9)
    );
    Ok(())
}

/// Imports a file; `report` prints the validation report and progress to stderr.
pub async fn import_file(
    app: &Arc<App>,
    path: &Path,
    skip_invalid: bool,
    owner: Option<&str>,
    unit: Option<&str>,
    report: bool,
) -> Result<ImportStats, String> {
    let start = Instant::now();
    // The operator (who holds the master key) imports; the people belong to the owner.
    let owner = owner_actor(app, owner).await?;
    let operator = Actor::operator();
    let placement_unit = unit.map(str::to_string);

    // Pass 1: validate every row; nothing is written.
    let (mut rdr, cols) = open_csv(path)?;
    let mut invalid: Vec<u64> = Vec::new();
    let mut rows = 0usize;
    let mut reported = 0usize;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        rows += 1;
        let input = Row { cols: &cols, rec: &rec }.input();
        let mut errs = Vec::new();
        if let Err(e) = PersonData::parse(&input.raw, app.settings.default_region) {
            errs.extend(e.0);
        }
        if let Err(e) = parse_tags(&input.tags) {
            errs.extend(e.0);
        }
        if !errs.is_empty() {
            invalid.push(line);
            for e in errs {
                if report && reported < MAX_REPORTED {
                    eprintln!("line {line}, {}: {}", e.field, e.reason);
                }
                reported += 1;
            }
        }
    }
    if report && reported > MAX_REPORTED {
        eprintln!("… and {} more problems", reported - MAX_REPORTED);
    }
    if !invalid.is_empty() && !skip_invalid {
        return Err(format!("{} of {rows} rows are invalid; nothing was imported (fix them, or pass --skip-invalid)", invalid.len()));
    }

    // Pass 2: prepare, seal and insert in batches; sealing overlaps the previous insert.
    let bar = if report { ProgressBar::new((rows - invalid.len()) as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} people ({per_sec}, eta {eta})").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut rdr, cols) = open_csv(path)?;
    let mut batch: Vec<Prepared> = Vec::with_capacity(BATCH);
    let mut pending: Option<tokio::task::JoinHandle<Result<usize, String>>> = None;
    let mut imported = 0usize;
    let mut next_invalid = invalid.iter().peekable();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if next_invalid.peek() == Some(&&line) {
            next_invalid.next();
            continue;
        }
        let mut input = Row { cols: &cols, rec: &rec }.input();
        input.unit = placement_unit.clone();
        input.owner_id = Some(owner.user_id);
        let prepared = app.prepare_person(&operator, &input).await.map_err(|e| format!("line {line}: {e}"))?;
        batch.push(prepared);
        if batch.len() == BATCH {
            imported += flush(app, &operator, std::mem::take(&mut batch), &mut pending).await?;
            bar.set_position(imported as u64);
        }
    }
    imported += flush(app, &operator, batch, &mut pending).await?;
    if let Some(p) = pending.take() {
        imported += p.await.map_err(|e| e.to_string())??;
    }
    bar.finish_and_clear();
    Ok(ImportStats { imported, skipped: invalid.len(), seconds: start.elapsed().as_secs_f64() })
}

/// Seals `batch` on a blocking thread while the previous batch's insert finishes; then starts
/// this batch's insert. Returns how many rows the finished previous insert wrote.
async fn flush(
    app: &Arc<App>,
    operator: &Actor,
    batch: Vec<Prepared>,
    pending: &mut Option<tokio::task::JoinHandle<Result<usize, String>>>,
) -> Result<usize, String> {
    if batch.is_empty() {
        return Ok(0);
    }
    let sealer = app.clone();
    let sealing = tokio::task::spawn_blocking(move || batch.iter().map(|p| sealer.seal_new_person(p)).collect::<Result<Vec<_>, _>>());
    let done = match pending.take() {
        Some(p) => p.await.map_err(|e| e.to_string())??,
        None => 0,
    };
    let sealed = sealing.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    let inserter = app.clone();
    let events = app.creation_events(operator, &sealed);
    *pending = Some(tokio::spawn(async move {
        let n = sealed.len();
        inserter.store.people_insert_batch(sealed, events).await.map_err(|e| e.to_string())?;
        Ok(n)
    }));
    Ok(done)
}

/// `sejf export --format csv`: every person, as the operator holding the master key.
pub async fn export(app: &Arc<App>, out: Option<&Path>) -> Result<(), String> {
    let operator = Actor::operator();
    let sink: Box<dyn Write> = match out {
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
    };
    let total = app.store.people_count().await.map_err(|e| e.to_string())?;
    let bar = if out.is_some() { ProgressBar::new(total.max(0) as u64) } else { ProgressBar::hidden() };
    let mut w = csv::Writer::from_writer(sink);
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    let mut cursor = None;
    let mut n = 0u64;
    loop {
        let page = app
            .list_people(&operator, &PeopleFilter { cursor: cursor.clone(), limit: Some(500), ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        for p in &page.items {
            w.write_record(person_cells(&p.fields, &p.tags)).map_err(|e| e.to_string())?;
            n += 1;
        }
        bar.set_position(n);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    w.flush().map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if out.is_some() {
        println!("exported {n} people");
    }
    Ok(())
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
    let owner = owner_actor(app, Some(owner)).await?;
    let this_year = time::OffsetDateTime::from_unix_timestamp(app.now() / 1_000_000).map(|t| t.year()).unwrap_or(2026);
    let raw = crate::bait::person(&mut crate::bait::source()?, email_domain, this_year);
    let input = PersonInput { raw, owner_id: Some(owner.user_id), unit: unit.map(str::to_string), ..Default::default() };
    let operator = Actor::operator();
    let prepared = app.prepare_person(&operator, &input).await.map_err(|e| e.to_string())?;
    let sealed = app.seal_new_person(&prepared).map_err(|e| e.to_string())?;
    let id = sealed.row.id;
    app.mark_honeytoken(id).await.map_err(|e| e.to_string())?;
    let events = app.creation_events(&operator, std::slice::from_ref(&sealed));
    app.store.people_insert_batch(vec![sealed], events).await.map_err(|e| e.to_string())?;
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
