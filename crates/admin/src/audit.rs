//! `sejf audit`: verify, seal, prove, check-proof, export (JSON lines or RFC 5424 syslog), tail.

use sejf_core::FileError;
use sejf_core::actions::AuditAction;
use sejf_core::witness::WitnessError;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_core::ports::SealedEvent;

use clap::{Subcommand, ValueEnum};
use sejf_install::Opened;

use crate::AdminError;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the chain, tree, signatures and witness; exit 1 naming the first bad `seq N`.
    Verify {
        /// The audit public key to trust (base64), from a copy kept off this host; it must be
        /// the one config.toml pins.
        #[arg(long)]
        key: Option<String>,
        /// Witness files to check against (repeatable; default: the data directory's). Pass
        /// every server's when several share one database.
        #[arg(long = "witness", value_name = "FILE")]
        witnesses: Vec<PathBuf>,
    },
    /// Pin the database's audit key in config.toml and the witness file's header, for an
    /// installation made before keys were pinned (init pins it). Trusts the key as it is now.
    PinKey,
    /// Seal now: sign a checkpoint of every event so far (the server does this periodically).
    Seal,
    /// Print an inclusion proof of event SEQ against the latest checkpoint (JSON).
    Prove { seq: i64 },
    /// Check an inclusion proof without the database.
    CheckProof {
        /// The proof file (JSON, as `prove` prints it).
        file: PathBuf,
        /// The audit public key to trust (base64); without it only self-consistency is checked.
        #[arg(long)]
        key: Option<String>,
    },
    /// Print the audit public key (base64), to pin in verifiers.
    PublicKey,
    /// Export events for a SIEM, from a sequence number on.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: AuditFormat,
        /// Only events after this sequence number (for incremental export).
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
    /// Print the latest events, and with --follow keep printing new ones.
    Tail {
        #[arg(long, short = 'n', default_value_t = 20)]
        lines: i64,
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuditFormat {
    Jsonl,
    /// RFC 5424 syslog lines.
    Syslog,
}

pub async fn run(opened: &Opened, cmd: AuditCommand) -> Result<(), AdminError> {
    let app = &opened.app;
    let operator = sejf_core::Actor::operator();
    match cmd {
        AuditCommand::Verify { key, witnesses } => {
            let key = key.map(|k| sejf_core::witness::parse_key(&k).map_err(|e| AdminError::Invalid(format!("--key: {e}")))).transpose()?;
            let witnesses = if witnesses.is_empty() { vec![opened.witness.clone()] } else { witnesses };
            let r = app.verify_audit(&witnesses, key).await?;
            match r.first_bad {
                None => {
                    println!("audit trail intact: {} events, {} signed checkpoints", r.events, r.checkpoints);
                    Ok(())
                }
                Some((seq, why)) => Err(AdminError::Untrusted(format!("audit trail broken at seq {seq}: {why}"))),
            }
        }
        AuditCommand::Seal => {
            match app.seal(Some(&opened.witness)).await? {
                Some(cp) => println!("sealed: checkpoint at {} events", cp.tree_size),
                None => println!("nothing new to seal"),
            }
            Ok(())
        }
        AuditCommand::Prove { seq } => {
            let proof = app.audit_prove(seq).await?;
            println!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(())
        }
        AuditCommand::PinKey => pin_key(opened).await,
        AuditCommand::PublicKey => {
            println!("{}", app.audit_public_key().await?);
            Ok(())
        }
        AuditCommand::Export { format, after } => {
            let mut out = std::io::stdout().lock();
            let (from, mut after, mut n) = (after, after, 0usize);
            loop {
                let page = app.audit_page(&operator, after, 5_000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                n += page.len();
                for e in &page {
                    writeln!(out, "{}", line(e, format))?;
                }
            }
            // Exporting the trail is itself recorded, after what it exported.
            let mut ev = app.event(&operator, AuditAction::AuditExport, "audit", &format!("{format:?}").to_lowercase());
            ev.detail = format!("events={n} after={from}");
            Ok(app.audit(vec![ev]).await?)
        }
        AuditCommand::Tail { lines, follow } => {
            let last = app.audit_last(&operator, lines.max(0) as usize).await?;
            let mut after = last.last().map(|e| e.seq).unwrap_or(0);
            for e in &last {
                println!("{}", line(e, AuditFormat::Jsonl));
            }
            if !follow {
                return Ok(());
            }
            // Follows until interrupted, like `tail -f`.
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                for e in app.audit_page(&operator, after, 1_000).await? {
                    after = e.seq;
                    println!("{}", line(&e, AuditFormat::Jsonl));
                }
            }
        }
        AuditCommand::CheckProof { file, key } => check_proof(&file, key.as_deref()),
    }
}

/// `sejf audit pin-key`: pins the key the database holds now, where nothing pins one yet.
async fn pin_key(opened: &Opened) -> Result<(), AdminError> {
    let public = opened.app.stored_audit_public_key().await?.ok_or(AdminError::NoAuditKey)?;
    let b64 = STANDARD.encode(public);
    match opened.config.audit_pin()? {
        Some(pinned) if pinned == public => println!("config.toml already pins this key"),
        Some(_) => {
            return Err(AdminError::Untrusted(
                "config.toml pins another audit key than the database holds: the trail cannot be trusted".into(),
            ));
        }
        None => {
            let path = opened.witness.with_file_name(sejf_install::config::CONFIG_FILE);
            let mut f = std::fs::OpenOptions::new().append(true).open(&path).map_err(FileError::at("open", &path))?;
            writeln!(f, "\n# Pinned by `sejf audit pin-key`.\naudit_public_key = \"{b64}\"").map_err(FileError::at("write", &path))?;
            println!("pinned in {}", path.display());
        }
    }
    match sejf_core::witness::read_pinned(&opened.witness, &public) {
        Ok(Some(_)) => {}
        Ok(None) => {
            sejf_core::witness::create(&opened.witness, &public).map_err(FileError::at("create", &opened.witness))?;
            println!("started {}", opened.witness.display());
        }
        Err(WitnessError::NoHeader(_) | WitnessError::Empty(_)) => {
            // A witness of checkpoints from before keys were pinned, or none yet: keep its lines,
            // behind a header. (An emptied witness hides nothing this way: verify still finds no
            // witnessed checkpoint for the events the database holds.)
            let old = std::fs::read_to_string(&opened.witness).map_err(FileError::at("read", &opened.witness))?;
            let fresh = opened.witness.with_extension("jsonl.new");
            let _ = std::fs::remove_file(&fresh);
            sejf_core::witness::create(&fresh, &public).map_err(FileError::at("create", &fresh))?;
            for line in old.lines().filter(|l| !l.trim().is_empty()) {
                sejf_core::witness::append(&fresh, line).map_err(FileError::at("write", &fresh))?;
            }
            std::fs::rename(&fresh, &opened.witness).map_err(FileError::at("rename", &fresh))?;
            println!("added the key to the header of {}", opened.witness.display());
        }
        // Any other fault (unreadable, an unknown format, a line that is not a checkpoint,
        // another key) is not rewritten: the operator sees it and decides.
        Err(WitnessError::File(e)) => return Err(e.into()),
        Err(e) => return Err(AdminError::Untrusted(e.to_string())),
    }
    println!("audit public key: {b64}");
    println!("keep a copy of it off this host: `sejf audit verify --key` checks against it");
    Ok(())
}

/// One exported event.
fn line(e: &SealedEvent, format: AuditFormat) -> String {
    let json = serde_json::to_string(&serde_json::json!({"seq": e.seq, "at": sejf_core::rfc3339(e.event.at), "event": e.event}))
        .unwrap_or_default();
    match format {
        AuditFormat::Jsonl => json,
        AuditFormat::Syslog => {
            // Severity notice (5), or warning (4) for refusals and failures.
            let sev = if matches!(e.event.outcome.as_str(), "ok") { 5 } else { 4 };
            sejf_server::alerts::rfc5424(sev, e.event.at, &e.event.action, &[("seq", &e.seq.to_string())], &json)
        }
    }
}

/// `sejf audit check-proof FILE [--key B64]`: needs no database and no key store.
pub fn check_proof(file: &Path, key: Option<&str>) -> Result<(), AdminError> {
    let text = std::fs::read_to_string(file).map_err(FileError::at("read", file))?;
    let proof: sejf_crypto::audit::InclusionProof =
        serde_json::from_str(&text).map_err(|e| AdminError::Invalid(format!("{}: not a proof: {e}", file.display())))?;
    let trusted = match key {
        Some(k) => Some(
            STANDARD
                .decode(k.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| AdminError::Invalid("--key: not a base64 Ed25519 public key".into()))?,
        ),
        None => None,
    };
    sejf_crypto::audit::check_proof(&proof, trusted.as_ref()).map_err(AdminError::Untrusted)?;
    // The proof covers the body's leaf; make sure the event shown is the body's.
    let event =
        sejf_core::audit::parse_body(&proof.body).map_err(|_| AdminError::Untrusted("the proof's event body is malformed".into()))?;
    let shown: sejf_core::ports::AuditEvent =
        serde_json::from_value(proof.event.clone()).map_err(|_| AdminError::Untrusted("the proof's event is malformed".into()))?;
    if shown != event {
        return Err(AdminError::Untrusted("the event shown in the proof is not the one its body records".into()));
    }
    println!(
        "proof valid: seq {} is in the signed log of {} events{}",
        proof.seq,
        proof.tree_size,
        if trusted.is_some() { "" } else { " (key not pinned: pass --key)" }
    );
    Ok(())
}
