//! `sejf gdpr`: data-subject rights and records, as the operator who holds the master key
//! (the policies' `Operator`, allowed the `gdpr` action). Mirrors the HTTP routes under
//! `/people/{id}` and adds what only an operator runs: records of processing and breach reports.

use sejf_core::FileError;
use std::io::Write;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use sejf_core::Actor;
use sejf_core::gdpr::{Flag, ProcessorOut, PurposeOut};
use std::path::PathBuf;
use uuid::Uuid;

use sejf_install::Opened;

use crate::AdminError;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GdprFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RopaFormat {
    Md,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum GdprCommand {
    /// Everything held about one person (GDPR art. 15 and 20) into a new file (mode 0600).
    Export {
        /// The person's id.
        person: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "json")]
        format: GdprFormat,
    },
    /// Erase a person by crypto-shredding (art. 17); prints the signed receipt.
    Erase {
        person: String,
        /// Why (recorded in the receipt and the audit trail).
        #[arg(long)]
        reason: String,
        /// Write the receipt to this new file instead of standard output.
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// The signed receipt of an earlier erasure.
    Receipt { person: String },
    /// Restrict processing of a person (art. 18), or --lift it.
    Restrict {
        person: String,
        #[arg(long, required_unless_present = "lift")]
        reason: Option<String>,
        #[arg(long)]
        lift: bool,
    },
    /// Put a person under a legal hold (blocks erasure), or --release it.
    Hold {
        person: String,
        #[arg(long, required_unless_present = "release")]
        reason: Option<String>,
        #[arg(long)]
        release: bool,
    },
    /// Apply the retention rules of config.toml (`[[retention]]`): erase every person they
    /// select, or with --dry-run list exactly who and why.
    Retention {
        /// `run` (the default; may be left out).
        #[arg(value_parser = ["run"])]
        action: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "json")]
        format: GdprFormat,
    },
    /// The register of data-subject requests: what was asked, when it is due, how it ended.
    Requests {
        /// open, done or refused.
        #[arg(long)]
        status: Option<String>,
    },
    /// The register of processing purposes.
    Purposes,
    /// Records of processing activities (art. 30) from the purpose register.
    Ropa {
        #[arg(long, value_enum, default_value = "md")]
        format: RopaFormat,
    },
    /// The processor (vendor) register: list it, or add or replace a processor.
    Processors {
        #[command(subcommand)]
        action: Option<ProcessorAction>,
    },
    /// Send people to a registered processor for a purpose: a CSV of only the purpose's data
    /// categories, of only the people who may be sent (consent on the channel for a purpose
    /// that needs it; never restricted or objecting people). Refused unless the processor is
    /// approved, under a signed agreement, reviewed in time and allowed those categories.
    Disclose {
        /// The processor's name in the register.
        #[arg(long)]
        processor: String,
        /// The purpose (from `sejf gdpr purposes`).
        #[arg(long)]
        purpose: String,
        /// email, sms or phone: the channel consent must cover (required for consent purposes).
        #[arg(long)]
        channel: Option<String>,
        /// Only people of this business unit.
        #[arg(long)]
        unit: Option<String>,
        /// Only people with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// The new file to write (mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// For Polish Excel: `;` separated, UTF-8 with a byte-order mark.
        #[arg(long)]
        excel: bool,
    },
    /// The breach register (art. 33): record a breach, list them, show one with its affected
    /// people and notification draft, and record the notifications.
    Breach {
        #[command(subcommand)]
        action: BreachAction,
    },
    /// The people a user read in a time window (from the audit trail), for a breach
    /// notification (art. 33) and the list of people to inform (art. 34).
    BreachReport {
        /// The user whose reads the breach concerns.
        #[arg(long)]
        actor: String,
        /// Start of the window, RFC 3339 (e.g. 2026-12-01T08:00:00Z).
        #[arg(long)]
        from: String,
        /// End of the window, RFC 3339.
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "json")]
        format: GdprFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProcessorAction {
    /// Every processor, and whether data may go to it now.
    List,
    /// Add a processor, or replace the one with this name.
    Put {
        #[arg(long)]
        name: String,
        /// What it does for you (e.g. "newsletter delivery").
        #[arg(long)]
        service: String,
        /// A data category it may receive (repeatable): identification, contact, national_id, notes.
        #[arg(long = "category", required = true)]
        categories: Vec<String>,
        /// Where it processes the data (ISO 3166-1 alpha-2, e.g. PL, US).
        #[arg(long)]
        country: String,
        /// The transfer safeguard outside the EEA (e.g. "SCC 2021/914").
        #[arg(long, default_value = "")]
        safeguard: String,
        /// When the data-processing agreement was signed (YYYY-MM-DD).
        #[arg(long)]
        dpa_signed: Option<String>,
        /// When its security was last reviewed (YYYY-MM-DD).
        #[arg(long)]
        last_review: Option<String>,
        /// When the next review is due (YYYY-MM-DD).
        #[arg(long)]
        next_review: String,
        /// Keep it in the register but send it nothing.
        #[arg(long)]
        not_approved: bool,
    },
}

// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum BreachAction {
    /// Record a breach; prints its id and deadline.
    Record {
        #[arg(long)]
        title: String,
        /// When you became aware of it, RFC 3339: the 72 hours run from here.
        #[arg(long)]
        detected_at: String,
        /// What happened.
        #[arg(long)]
        nature: String,
        /// A data category concerned (repeatable).
        #[arg(long = "category")]
        categories: Vec<String>,
        #[arg(long, default_value = "")]
        consequences: String,
        #[arg(long, default_value = "")]
        measures: String,
        /// Who the authority may contact.
        #[arg(long, default_value = "")]
        contact: String,
        /// The user whose reads the breach concerns (with --from and --to: the affected set).
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Approximate number of people (default: the affected set).
        #[arg(long)]
        people: Option<u64>,
        /// Approximate number of records.
        #[arg(long)]
        records: Option<u64>,
    },
    /// The register, newest first, with each deadline.
    List,
    /// One breach: the art. 33(3) notification draft (md), or everything with the art. 34 list (json).
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "md")]
        format: BreachFormat,
    },
    /// Record that the authority was notified (or, with --subjects, the people informed).
    Notified {
        id: String,
        #[arg(long)]
        subjects: bool,
    },
    /// Record why the notification comes after 72 hours (art. 33(1)).
    Delay {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BreachFormat {
    Md,
    Json,
}

fn person_id(s: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(s.trim()).map_err(|_| AdminError::Invalid(format!("{s:?} is not a person id (a UUID)")))
}

fn parse_time(flag: &str, s: &str) -> Result<i64, AdminError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| AdminError::Invalid(format!("--{flag}: {s:?} is not an RFC 3339 time such as 2026-12-01T08:00:00Z")))?;
    Ok((t.unix_timestamp_nanos() / 1000) as i64)
}

/// Writes `bytes` to a new file readable by its owner only; refuses to overwrite.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), AdminError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(FileError::at("create", path))?;
    Ok(f.write_all(bytes).and_then(|_| f.sync_all()).map_err(FileError::at("write", path))?)
}

pub async fn run(opened: &Opened, cmd: GdprCommand) -> Result<(), AdminError> {
    let app = &opened.app;
    let op = Actor::operator();
    match cmd {
        GdprCommand::Export { person, out, format } => {
            let id = person_id(&person)?;
            let bundle = app.subject_export(&op, id).await?;
            let bytes = match format {
                GdprFormat::Json => serde_json::to_vec_pretty(&bundle)?,
                GdprFormat::Csv => sejf_http::routes::gdpr::export_csv(&bundle).into_bytes(),
            };
            write_new(&out, &bytes)?;
            eprintln!(
                "exported person {id}: {} activities, {} deals, {} consent records, {} accesses -> {}",
                bundle.activities.len(),
                bundle.deals.len(),
                bundle.consents.history.len(),
                bundle.accesses.len(),
                out.display()
            );
            Ok(())
        }
        GdprCommand::Erase { person, reason, receipt } => {
            let id = person_id(&person)?;
            let r = app.erase_person(&op, id, &reason).await?;
            let json = serde_json::to_vec_pretty(&r)?;
            match receipt {
                Some(path) => write_new(&path, &json)?,
                None => println!("{}", String::from_utf8_lossy(&json)),
            }
            eprintln!("erased person {id}: data key destroyed, suppression entry and signed receipt kept");
            Ok(())
        }
        GdprCommand::Receipt { person } => {
            let r = app.erasure_receipt(&op, person_id(&person)?).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        GdprCommand::Restrict { person, reason, lift } => flag(app, &op, &person, Flag::Restricted, reason, lift).await,
        GdprCommand::Hold { person, reason, release } => flag(app, &op, &person, Flag::LegalHold, reason, release).await,
        GdprCommand::Retention { action: _, dry_run, format } => {
            let rules = opened.config.retention_rules()?;
            if rules.is_empty() {
                return Err(AdminError::Invalid(
                    "no retention rules: add [[retention]] tables to config.toml (see the commented example there)".into(),
                ));
            }
            let items = app.retention(&op, &rules, dry_run).await?;
            match format {
                GdprFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
                GdprFormat::Csv => {
                    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                    w.write_record(["person_id", "rule", "outcome"])?;
                    for i in &items {
                        w.write_record([i.person_id.to_string(), i.rule.clone(), i.outcome.clone()])?;
                    }
                    w.flush()?;
                }
            }
            let failed = items.iter().filter(|i| i.outcome.starts_with("not erased")).count();
            eprintln!(
                "retention {}: {} people selected by {} rules{}",
                if dry_run { "dry run" } else { "run" },
                items.len(),
                rules.len(),
                if failed > 0 { format!(", {failed} not erased") } else { String::new() }
            );
            if failed > 0 { Err(AdminError::NotAllErased(failed)) } else { Ok(()) }
        }
        GdprCommand::Requests { status } => {
            for r in app.dsr_list(&op, status.as_deref()).await? {
                println!(
                    "{}  {:<13} {:<8} received {}  due {}{}  person {}",
                    r.id,
                    r.kind,
                    r.status,
                    r.received_at,
                    r.due_at,
                    if r.overdue { " OVERDUE" } else { "" },
                    r.person_id.as_deref().unwrap_or("(not identified)")
                );
            }
            Ok(())
        }
        GdprCommand::Purposes => {
            for p in app.purposes().await? {
                println!(
                    "{:<16} {:<22} {}{} — kept: {}",
                    p.name,
                    p.lawful_basis,
                    p.categories.join(","),
                    if p.marketing { " (marketing)" } else { "" },
                    p.retention
                );
            }
            Ok(())
        }
        GdprCommand::Ropa { format } => {
            let purposes = app.purposes().await?;
            let processors = app.processors(&op).await?;
            print!("{}", ropa(&purposes, &processors, format)?);
            Ok(())
        }
        GdprCommand::Processors { action } => match action.unwrap_or(ProcessorAction::List) {
            ProcessorAction::List => {
                for p in app.processors(&op).await? {
                    let q = &p.processor;
                    println!(
                        "{:<16} {:<28} {:<2} {:<32} next review {}  {}",
                        q.name,
                        q.service,
                        q.country,
                        q.categories.join(","),
                        q.next_review_due,
                        p.blocked.as_deref().unwrap_or("may receive its categories")
                    );
                }
                Ok(())
            }
            ProcessorAction::Put { name, service, categories, country, safeguard, dpa_signed, last_review, next_review, not_approved } => {
                let categories = categories.iter().flat_map(|c| c.split(',')).map(str::to_string).collect();
                let p = sejf_core::gdpr::Processor {
                    name,
                    service,
                    categories,
                    country,
                    transfer_safeguard: safeguard,
                    dpa_signed_on: dpa_signed,
                    last_review_on: last_review,
                    next_review_due: next_review,
                    approved: !not_approved,
                    alerted_on: None,
                };
                let out = app.put_processor(&op, p).await?;
                println!("processor {} registered: {}", out.processor.name, out.blocked.as_deref().unwrap_or("may receive its categories"));
                Ok(())
            }
        },
        GdprCommand::Disclose { processor, purpose, channel, unit, tag, out, excel } => {
            let req = sejf_core::gdpr::DisclosureRequest {
                processor,
                purpose,
                channel,
                filter: sejf_core::exports::ExportFilter { owner: None, unit, tag },
            };
            let d = app.disclose(&op, &req).await?;
            let bytes = sejf_http::routes::registers::disclosure_csv(&d, excel);
            write_new(&out, &bytes)?;
            eprintln!(
                "sent {} people to processor {} for {} ({}); {} left out (no consent, objection or restriction) -> {}",
                d.people.len(),
                d.processor,
                d.purpose,
                d.columns.join(","),
                d.left_out,
                out.display()
            );
            Ok(())
        }
        GdprCommand::Breach { action } => breach(app, &op, action).await,
        GdprCommand::BreachReport { actor, from, to, format } => {
            let (from, to) = (parse_time("from", &from)?, parse_time("to", &to)?);
            if to <= from {
                return Err(AdminError::Invalid("--to must be later than --from".into()));
            }
            let people = app.breach_affected(&op, &actor, from, to).await?;
            let mut affected = Vec::with_capacity(people.len());
            for (id, first, reads) in &people {
                // Art. 34: the people to inform, with how to reach them (an erased person is gone).
                let contact = match app.person(&op, *id).await {
                    Ok(v) => (
                        [v.fields.first_name.clone(), v.fields.last_name.clone()].into_iter().flatten().collect::<Vec<_>>().join(" "),
                        v.fields.email.clone().unwrap_or_default(),
                    ),
                    Err(_) => (String::from("(erased since)"), String::new()),
                };
                affected
                    .push(serde_json::json!({"person_id": id, "first_read": first, "reads": reads, "name": contact.0, "email": contact.1}));
            }
            let report = serde_json::json!({
                "actor": actor,
                "from": sejf_core::rfc3339(from),
                "to": sejf_core::rfc3339(to),
                "people_affected": affected.len(),
                "records_read": people.iter().map(|p| p.2).sum::<u64>(),
                "people": affected,
            });
            match format {
                GdprFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                GdprFormat::Csv => {
                    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                    w.write_record(["person_id", "first_read", "reads", "name", "email"])?;
                    for p in report["people"].as_array().into_iter().flatten() {
                        let cells = ["person_id", "first_read", "reads", "name", "email"]
                            .map(|k| sejf_core::csvcells::neutralise(&p[k].as_str().map_or_else(|| p[k].to_string(), str::to_string)));
                        w.write_record(cells)?;
                    }
                    w.flush()?;
                }
            }
            eprintln!(
                "{} people read by {actor} in the window: notify UODO within 72 hours of detection (art. 33) and inform these people (art. 34) where the risk is high",
                people.len()
            );
            Ok(())
        }
    }
}

async fn flag(app: &sejf_core::App, op: &Actor, person: &str, flag: Flag, reason: Option<String>, clear: bool) -> Result<(), AdminError> {
    let id = person_id(person)?;
    if clear {
        app.clear_person_flag(op, id, flag).await?;
        println!("{} lifted for person {id}", flag.as_str());
        return Ok(());
    }
    let Some(reason) = reason else { return Err(AdminError::Invalid("--reason is required (or --lift / --release to remove it)".into())) };
    let f = app.set_person_flag(op, id, flag, &reason).await?;
    println!("{} set for person {id} since {}", f.flag, f.since);
    Ok(())
}

async fn breach(app: &sejf_core::App, op: &Actor, action: BreachAction) -> Result<(), AdminError> {
    let show = |b: &sejf_core::gdpr::BreachOut| {
        let status = match (&b.breach.authority_notified_at, b.hours_left) {
            (Some(at), _) => format!("authority notified {at}"),
            (None, Some(h)) if h < 0 => format!("OVERDUE by {} h (deadline {})", -h, b.deadline),
            (None, Some(h)) => format!("{h} h left (deadline {})", b.deadline),
            (None, None) => String::new(),
        };
        format!("{}  detected {}  {}  {}", b.breach.id, b.breach.detected_at, b.breach.title, status)
    };
    match action {
        BreachAction::Record {
            title,
            detected_at,
            nature,
            categories,
            consequences,
            measures,
            contact,
            actor,
            from,
            to,
            people,
            records,
        } => {
            let input = sejf_core::gdpr::Breach {
                title,
                detected_at,
                nature,
                categories: categories.iter().flat_map(|c| c.split(',')).map(str::to_string).collect(),
                consequences,
                measures,
                contact,
                actor,
                from,
                to,
                approx_people: people,
                approx_records: records,
                ..Default::default()
            };
            let b = app.record_breach(op, input).await?;
            println!("{}", show(&b));
            Ok(())
        }
        BreachAction::List => {
            for b in app.breaches(op).await? {
                println!("{}", show(&b));
            }
            Ok(())
        }
        BreachAction::Show { id, format } => {
            let b = app.breach(op, &id).await?;
            match format {
                BreachFormat::Md => print!("{}", b.notification_draft.clone().unwrap_or_default()),
                BreachFormat::Json => println!("{}", serde_json::to_string_pretty(&b)?),
            }
            Ok(())
        }
        BreachAction::Notified { id, subjects } => {
            let b = app.breach_notified(op, &id, subjects).await?;
            println!("{}", show(&b));
            Ok(())
        }
        BreachAction::Delay { id, reason } => {
            let b = app.breach_delay_reason(op, &id, &reason).await?;
            println!("{}", show(&b));
            Ok(())
        }
    }
}

/// The security measures Sejf applies to every purpose (Art. 30(1)(g), Art. 32).
const MEASURES: &[&str] = &[
    "field-level encryption (AES-256-GCM-SIV) with one data key per person, wrapped by a master key",
    "blind indexes (keyed HMAC) for search; no personal value in URLs or logs",
    "mandatory TOTP for every account; bounded, throttled sign-in",
    "role, field and record access decided by Cedar policies; sensitive fields masked and revealed only for a stated purpose",
    "tamper-evident audit trail of every read and write, with signed checkpoints",
    "read budgets, honeytokens and four-eyes approval of bulk exports (insider threats)",
    "encrypted (age), signed and verified backups that honour erasure",
    "erasure by crypto-shredding, restriction, consent records per purpose and channel",
];

/// The records of processing activities (Art. 30(1)) from the purpose register.
fn ropa(purposes: &[PurposeOut], processors: &[ProcessorOut], format: RopaFormat) -> Result<String, AdminError> {
    // Art. 30(1)(d)–(e): recipients and transfers to third countries, from the processor register.
    let transfers: Vec<String> = processors
        .iter()
        .filter(|p| !p.processor.transfer_safeguard.is_empty())
        .map(|p| format!("{} ({}): {}", p.processor.name, p.processor.country, p.processor.transfer_safeguard))
        .collect();
    let transfers_text = if transfers.is_empty() { "none".to_string() } else { transfers.join("; ") };
    match format {
        RopaFormat::Json => {
            let v = serde_json::json!({"purposes": purposes, "processors": processors, "transfers_outside_eea": transfers, "security_measures": MEASURES});
            Ok(serde_json::to_string_pretty(&v).map(|s| s + "\n")?)
        }
        RopaFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let head = [
                "purpose",
                "lawful_basis",
                "categories",
                "recipients",
                "retention",
                "marketing",
                "transfers_outside_eea",
                "security_measures",
            ];
            w.write_record(head)?;
            for p in purposes {
                w.write_record([
                    p.name.clone(),
                    p.lawful_basis.clone(),
                    p.categories.join("; "),
                    p.recipients.join("; "),
                    p.retention.clone(),
                    p.marketing.to_string(),
                    transfers_text.clone(),
                    MEASURES.join("; "),
                ])?;
            }
            Ok(String::from_utf8(w.into_inner().map_err(|e| e.into_error())?).map_err(std::io::Error::other)?)
        }
        RopaFormat::Md => {
            let mut s = String::from("# Records of processing activities (GDPR art. 30)\n\n");
            s.push_str("| purpose | lawful basis (art. 6) | categories of data | recipients | retention |\n|---|---|---|---|---|\n");
            for p in purposes {
                s.push_str(&format!(
                    "| {}{} | {} | {} | {} | {} |\n",
                    p.name,
                    if p.marketing { " (marketing)" } else { "" },
                    p.lawful_basis,
                    p.categories.join(", "),
                    p.recipients.join(", "),
                    p.retention
                ));
            }
            s.push_str("\n## Processors (art. 28)\n\n| processor | service | categories | country | agreement signed | next review |\n|---|---|---|---|---|---|\n");
            for p in processors {
                let q = &p.processor;
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    q.name,
                    q.service,
                    q.categories.join(", "),
                    q.country,
                    q.dpa_signed_on.as_deref().unwrap_or("not signed"),
                    q.next_review_due
                ));
            }
            s.push_str(&format!(
                "\nTransfers outside the EEA: {transfers_text}.\n\n## Technical and organisational measures (art. 32)\n\n"
            ));
            for m in MEASURES {
                s.push_str(&format!("- {m}\n"));
            }
            Ok(s)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The records of processing go to the supervisory authority: the cipher they name is the
    /// one the field envelope uses.
    #[test]
    fn the_measures_name_the_field_cipher_in_use() {
        assert!(super::MEASURES[0].contains(sejf_crypto::field::CIPHER), "{}", super::MEASURES[0]);
    }
}
