//! `sejf import` and `sejf export`: their arguments and which reader or writer serves them
//! (people as CSV or vCard in `csvio`, companies, deals and activities in `recordio`).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use sejf_install::{self as install, Location};
use sejf_transfer::csvio::{ImportOptions, OnDuplicate};
use sejf_transfer::recordio::DataKind;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ImportArgs {
    file: PathBuf,
    /// What the file holds.
    #[arg(long, value_enum, default_value = "people")]
    kind: DataKind,
    /// The user the imported records belong to.
    #[arg(long)]
    owner: String,
    /// Business unit of the imported records (default: the owner's first unit).
    #[arg(long)]
    unit: Option<String>,
    /// What to do with a row that matches a record already held (or an earlier row).
    #[arg(long, value_enum, default_value = "skip")]
    on_duplicate: OnDuplicateArg,
    /// Commit batch by batch and continue a run that was killed where it stopped (the
    /// file is recognised by its SHA-256).
    #[arg(long)]
    resume: bool,
    /// Import the valid rows and report the others, instead of importing nothing.
    #[arg(long)]
    skip_invalid: bool,
    /// A header Sejf does not know, and the field it holds: --map "Nr kom.=phone" (repeatable).
    #[arg(long, value_name = "HEADER=FIELD")]
    map: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(long, value_enum, default_value = "people")]
    kind: DataKind,
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// Write to this file (created with mode 0600) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// For Polish Excel: `;` separated, UTF-8 with a byte-order mark, CRLF (default: RFC 4180).
    #[arg(long)]
    excel: bool,
}

/// `--on-duplicate`: what becomes of a row that matches a record already held (or an earlier
/// row of the same file) by e-mail, phone or PESEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnDuplicateArg {
    /// Leave the record as it is and report the row.
    Skip,
    /// Overwrite the record's fields with the row's non-empty values.
    Update,
    /// Import nothing and name the rows.
    Fail,
}

impl From<OnDuplicateArg> for OnDuplicate {
    fn from(arg: OnDuplicateArg) -> OnDuplicate {
        match arg {
            OnDuplicateArg::Skip => OnDuplicate::Skip,
            OnDuplicateArg::Update => OnDuplicate::Update,
            OnDuplicateArg::Fail => OnDuplicate::Fail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    /// vCard 4.0 (people only), for phones and mail clients; never the PESEL.
    Vcard,
}

/// `sejf import FILE`.
pub async fn import(loc: &Location, a: ImportArgs) -> Result<(), CliError> {
    let opened = install::open(loc).await?;
    let opts = ImportOptions {
        skip_invalid: a.skip_invalid,
        owner: a.owner,
        unit: a.unit,
        on_duplicate: a.on_duplicate.into(),
        resume: a.resume,
        map: a.map,
        report: true,
    };
    let start = Instant::now();
    let r = match a.kind {
        DataKind::People => sejf_transfer::csvio::import(&opened.app, &a.file, &opts).await,
        kind => sejf_transfer::recordio::import(&opened.app, &a.file, kind, &opts).await,
    };
    // On SQLite the close's checkpoint moves the import from the write-ahead log into the
    // database file: the import is complete, and its time ends, only after it.
    opened.store.close().await;
    println!("{}", r?.line(start.elapsed()));
    Ok(())
}

/// `sejf export`.
pub async fn export(loc: &Location, a: ExportArgs) -> Result<(), CliError> {
    if a.format == ExportFormat::Vcard && (a.kind != DataKind::People || a.excel) {
        return Err(CliError::Failed("--format vcard: people only, and not with --excel".into()));
    }
    let opened = install::open(loc).await?;
    let out = a.out.as_deref();
    let r = match (a.kind, a.format) {
        (DataKind::People, ExportFormat::Vcard) => sejf_transfer::csvio::export_vcards(&opened.app, out).await,
        (DataKind::People, ExportFormat::Csv) => sejf_transfer::csvio::export(&opened.app, out, a.excel).await,
        (kind, _) => sejf_transfer::recordio::export(&opened.app, kind, out, a.excel).await,
    };
    opened.store.close().await;
    Ok(r?)
}
