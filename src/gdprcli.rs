//! `sejf gdpr`: data-subject rights and records, as the operator who holds the master key
//! (the policies' `Operator`, allowed the `gdpr` action). Mirrors the HTTP routes under
//! `/people/{id}` and adds what only an operator runs: records of processing and breach reports.

use std::io::Write;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use sejf_core::Actor;
use sejf_core::gdpr::{Flag, PurposeOut};
use std::path::PathBuf;
use uuid::Uuid;

use crate::serve::Opened;

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

fn person_id(s: &str) -> Result<Uuid, String> {
    Uuid::parse_str(s.trim()).map_err(|_| format!("{s:?} is not a person id (a UUID)"))
}

fn parse_time(flag: &str, s: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("--{flag}: {s:?} is not an RFC 3339 time such as 2026-12-01T08:00:00Z"))?;
    Ok((t.unix_timestamp_nanos() / 1000) as i64)
}

/// Writes `bytes` to a new file readable by its owner only; refuses to overwrite.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub async fn run(opened: &Opened, cmd: GdprCommand) -> Result<(), String> {
    let app = &opened.app;
    let op = Actor::operator();
    let err = |e: sejf_core::CoreError| e.to_string();
    match cmd {
        GdprCommand::Export { person, out, format } => {
            let id = person_id(&person)?;
            let bundle = app.subject_export(&op, id).await.map_err(err)?;
            let bytes = match format {
                GdprFormat::Json => serde_json::to_vec_pretty(&bundle).map_err(|e| e.to_string())?,
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
            let r = app.erase_person(&op, id, &reason).await.map_err(err)?;
            let json = serde_json::to_vec_pretty(&r).map_err(|e| e.to_string())?;
            match receipt {
                Some(path) => write_new(&path, &json)?,
                None => println!("{}", String::from_utf8_lossy(&json)),
            }
            eprintln!("erased person {id}: data key destroyed, suppression entry and signed receipt kept");
            Ok(())
        }
        GdprCommand::Receipt { person } => {
            let r = app.erasure_receipt(&op, person_id(&person)?).await.map_err(err)?;
            println!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?);
            Ok(())
        }
        GdprCommand::Restrict { person, reason, lift } => flag(app, &op, &person, Flag::Restricted, reason, lift).await,
        GdprCommand::Hold { person, reason, release } => flag(app, &op, &person, Flag::LegalHold, reason, release).await,
        GdprCommand::Retention { action: _, dry_run, format } => {
            let rules = opened.config.retention_rules()?;
            if rules.is_empty() {
                return Err("no retention rules: add [[retention]] tables to config.toml (see the commented example there)".into());
            }
            let items = app.retention(&op, &rules, dry_run).await.map_err(err)?;
            match format {
                GdprFormat::Json => println!("{}", serde_json::to_string_pretty(&items).map_err(|e| e.to_string())?),
                GdprFormat::Csv => {
                    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                    w.write_record(["person_id", "rule", "outcome"]).map_err(|e| e.to_string())?;
                    for i in &items {
                        w.write_record([i.person_id.to_string(), i.rule.clone(), i.outcome.clone()]).map_err(|e| e.to_string())?;
                    }
                    w.flush().map_err(|e| e.to_string())?;
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
            if failed > 0 { Err(format!("{failed} people could not be erased; see the list")) } else { Ok(()) }
        }
        GdprCommand::Requests { status } => {
            for r in app.dsr_list(&op, status.as_deref()).await.map_err(err)? {
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
            for p in app.purposes().await.map_err(err)? {
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
            let purposes = app.purposes().await.map_err(err)?;
            print!("{}", ropa(&purposes, format)?);
            Ok(())
        }
        GdprCommand::BreachReport { actor, from, to, format } => {
            let (from, to) = (parse_time("from", &from)?, parse_time("to", &to)?);
            if to <= from {
                return Err("--to must be later than --from".into());
            }
            let people = app.breach_affected(&op, &actor, from, to).await.map_err(err)?;
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
                GdprFormat::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                GdprFormat::Csv => {
                    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                    w.write_record(["person_id", "first_read", "reads", "name", "email"]).map_err(|e| e.to_string())?;
                    for p in report["people"].as_array().into_iter().flatten() {
                        let cells = ["person_id", "first_read", "reads", "name", "email"]
                            .map(|k| sejf_core::csvcells::neutralise(&p[k].as_str().map_or_else(|| p[k].to_string(), str::to_string)));
                        w.write_record(cells).map_err(|e| e.to_string())?;
                    }
                    w.flush().map_err(|e| e.to_string())?;
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

async fn flag(app: &sejf_core::App, op: &Actor, person: &str, flag: Flag, reason: Option<String>, clear: bool) -> Result<(), String> {
    let id = person_id(person)?;
    if clear {
        app.clear_person_flag(op, id, flag).await.map_err(|e| e.to_string())?;
        println!("{} lifted for person {id}", flag.as_str());
        return Ok(());
    }
    let Some(reason) = reason else { return Err("--reason is required (or --lift / --release to remove it)".into()) };
    let f = app.set_person_flag(op, id, flag, &reason).await.map_err(|e| e.to_string())?;
    println!("{} set for person {id} since {}", f.flag, f.since);
    Ok(())
}

/// The security measures Sejf applies to every purpose (Art. 30(1)(g), Art. 32).
const MEASURES: &[&str] = &[
    "field-level encryption (XChaCha20-Poly1305) with one data key per person, wrapped by a master key",
    "blind indexes (keyed HMAC) for search; no personal value in URLs or logs",
    "mandatory TOTP for every account; bounded, throttled sign-in",
    "role, field and record access decided by Cedar policies; sensitive fields masked and revealed only for a stated purpose",
    "tamper-evident audit trail of every read and write, with signed checkpoints",
    "read budgets, honeytokens and four-eyes approval of bulk exports (insider threats)",
    "encrypted (age), signed and verified backups that honour erasure",
    "erasure by crypto-shredding, restriction, consent records per purpose and channel",
];

/// The records of processing activities (Art. 30(1)) from the purpose register.
fn ropa(purposes: &[PurposeOut], format: RopaFormat) -> Result<String, String> {
    match format {
        RopaFormat::Json => {
            let v = serde_json::json!({"purposes": purposes, "transfers_outside_eea": "none", "security_measures": MEASURES});
            serde_json::to_string_pretty(&v).map(|s| s + "\n").map_err(|e| e.to_string())
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
            w.write_record(head).map_err(|e| e.to_string())?;
            for p in purposes {
                w.write_record([
                    p.name.clone(),
                    p.lawful_basis.clone(),
                    p.categories.join("; "),
                    p.recipients.join("; "),
                    p.retention.clone(),
                    p.marketing.to_string(),
                    "none".into(),
                    MEASURES.join("; "),
                ])
                .map_err(|e| e.to_string())?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
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
            s.push_str("\nTransfers outside the EEA: none.\n\n## Technical and organisational measures (art. 32)\n\n");
            for m in MEASURES {
                s.push_str(&format!("- {m}\n"));
            }
            Ok(s)
        }
    }
}
