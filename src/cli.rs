//! The command line (DESIGN.md's CLI contract). Exit codes: 0 success, 1 failure, 2 usage
//! error; an error is one line on stderr.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sejf_domain::roles::Role;

use crate::error::CliError;
use sejf_admin::audit::AuditCommand;
use sejf_backup::BackupCommand;
use sejf_install::keyfile::{PassphraseSource, secret_env};
use sejf_install::{self as install, Location, init};
use sejf_server as serve;

#[derive(Debug, Parser)]
#[command(name = "sejf", version, about = "Sejf: a CRM whose first promise is that customer data stays safe")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The data directory: master key, configuration and (by default) the SQLite database.
    #[arg(long, global = true, env = "SEJF_DATA_DIR", default_value = "./sejf-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://…) instead of SQLite in the data directory.
    #[arg(long, global = true, env = "SEJF_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Read the master-key passphrase from this file (else SEJF_PASSPHRASE, else a prompt).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory, sealed master key, schema and the first admin user.
    Init,
    /// Bring the database schema up to date, as its owner (PostgreSQL: connect with the owner's
    /// --database-url). With --runtime-role, also grant the role the servers connect as what
    /// they need: the data, and only INSERT and SELECT on the audit trail.
    Migrate {
        /// The PostgreSQL role `sejf serve` connects as (it must not own the schema).
        #[arg(long)]
        runtime_role: Option<String>,
    },
    /// Run the server.
    Serve {
        /// Public listener.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Admin listener (users); defaults to loopback next to the public port.
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        /// Serve TLS (1.2 and 1.3) on both listeners with this PEM certificate chain; reloaded on
        /// SIGHUP and when the file changes.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Require admin clients to present a certificate issued by this PEM CA (mTLS); needs --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        admin_client_ca: Option<PathBuf>,
    },
    /// Rebuild the name search index from the decrypted names (after an upgrade that derives
    /// it differently; `serve` also does it in the background when needed).
    Reindex,
    /// Print a shell completion script: `sejf completions bash > /etc/bash_completion.d/sejf`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `sejf man > /usr/local/share/man/man1/sejf.1`.
    Man,
    /// A throwaway instance with synthetic customers and one user per role.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// How many synthetic people to create.
        #[arg(long, default_value_t = 1000)]
        people: usize,
    },
    /// User administration.
    #[command(subcommand)]
    User(UserCommand),
    /// Import people, companies, deals or activities from a CSV file, or people from a vCard
    /// file (validated whole before anything is written).
    ///
    /// A file starting with BEGIN:VCARD is read as vCards (2.1 from Android, 3.0 from iPhone and
    /// macOS, 4.0), one person per card, matched to people held as a CSV row is.
    /// Reads `,`, `;` or tab separated files in UTF-8 (with or without BOM) or Windows-1250, with
    /// English or Polish headers (imię, nazwisko, e-mail, telefon, PESEL, nazwa, NIP, kwota, …).
    /// The whole file is one transaction: a kill leaves nothing (people may also --resume). Rows
    /// matching people already held, by e-mail, phone or PESEL, are skipped unless --on-duplicate
    /// says otherwise; companies match by id or NIP (or name), deals and activities by id or by
    /// their content. Deals name their person by e-mail (person_email) and company by NIP
    /// (company_vat_id) or name; activities their person by e-mail and deal by id. Import
    /// companies, then people, then deals, then activities.
    Import(crate::transfer::ImportArgs),
    /// API tokens for service accounts.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Honeytokens: bait people whose every read, search hit or export raises an alert.
    #[command(subcommand)]
    Honeytoken(HoneytokenCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Access policies: validate them, ask them, and see who can do what.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Encrypted, signed, verified backups to a directory; restores that honour erasure.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Data-subject rights and records (GDPR/RODO): access export, erasure, restriction, legal
    /// hold, the purpose register, records of processing and breach reports.
    #[command(subcommand)]
    Gdpr(sejf_admin::gdpr::GdprCommand),
    /// Export people, companies, deals or activities as CSV (every record, as the operator).
    Export(crate::transfer::ExportArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is generated and printed once unless --password-stdin.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        /// Business unit (repeatable); created if it does not exist.
        #[arg(long = "unit")]
        units: Vec<String>,
        #[arg(long, conflicts_with = "service")]
        password_stdin: bool,
        /// A service account for an integration: no password, API tokens only (sejf token create).
        #[arg(long)]
        service: bool,
    },
    /// Remove a user's TOTP and recovery codes and end their sessions; they enrol again.
    ResetMfa { name: String },
    /// List users.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Disable a user and end all their sessions.
    Disable { name: String },
    /// Enable a disabled (or, after a read-budget breach, suspended) user again.
    Enable { name: String },
    /// Change a user's role and end their sessions.
    SetRole { name: String, role: Role },
    /// Lift a sign-in lock earned by repeated failures.
    Unlock { name: String },
    /// Set a new password (generated unless --password-stdin) and end all sessions.
    ResetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HoneytokenCommand {
    /// Plant a person who looks like a real customer, owned by USER (in their first unit unless
    /// --unit); prints its id. Recorded only in the operator's honeytoken list.
    Add {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        unit: Option<String>,
        /// Give the bait an e-mail address at this domain (one the organisation reads, to catch
        /// whoever writes to it) instead of a common mail provider.
        #[arg(long)]
        email_domain: Option<String>,
    },
    /// Print the ids of the planted honeytokens.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policy file (or FILE) against the schema.
    Check { file: Option<PathBuf> },
    /// Ask whether USER may do ACTION on RESOURCE (a record id, user:NAME or system); prints
    /// the decision and the policies that made it.
    Test {
        #[arg(long)]
        user: String,
        /// read, create, update, delete, reveal, read_field:CLASS, manage_users, set_role, …
        #[arg(long)]
        action: String,
        /// A field name (e.g. national_id) or class, with --action read or reveal.
        #[arg(long)]
        field: Option<String>,
        #[arg(long)]
        resource: String,
        /// The purpose given with a reveal.
        #[arg(long)]
        purpose: Option<String>,
    },
    /// List the roles that can do ACTION (on their own, team or other units' records).
    WhoCan {
        #[arg(long)]
        action: String,
        /// A field name (e.g. national_id) or class, with --action read or reveal.
        #[arg(long)]
        field: Option<String>,
    },
    /// Print the built-in default policies (to start an edited set from).
    Default,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token to a service account; it is printed once and stored only hashed.
    Create {
        /// The service account.
        user: String,
        /// What the token may do (repeatable): people:read, people:write, companies:…, deals:…, activities:…
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires.
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// A name to recognise it by.
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// Entry point: parse, run, map errors to exit codes.
pub fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, as every Sejf error; `--help` has the rest. (clap's own text begins
            // with "error:".)
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid usage");
            eprintln!("{first} (see --help)");
            return CliError::Usage(first.to_owned()).exit_code();
        }
    };
    if cli.global.database_url.is_none() {
        match secret_env("SEJF_DATABASE_URL") {
            Ok(url) => cli.global.database_url = url,
            Err(e) => return report(CliError::Usage(e.to_string())),
        }
    }
    let serving = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
    init_logging(serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return report(CliError::Failed(format!("cannot start the runtime: {e}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// The one place a failed command is told: its line on standard error, then its exit code.
fn report(e: CliError) -> ExitCode {
    eprintln!("error: {}", e.line());
    e.exit_code()
}

fn init_logging(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEJF_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("SEJF_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let loc = Location {
        data_dir: cli.global.data_dir,
        database_url: cli.global.database_url.filter(|u| !u.is_empty()),
        passphrase: PassphraseSource { file: cli.global.passphrase_file, given: None },
    };
    match cli.command {
        Command::Init => Ok(init(&loc).await?),
        Command::Migrate { runtime_role } => migrate(&loc, runtime_role.as_deref()).await,
        Command::Serve { listen, admin_listen, tls_cert, tls_key, admin_client_ca } => {
            // Check the TLS files before the key is opened or anything is bound.
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(sejf_install::tls::Tls::load(&sejf_install::tls::TlsFiles { cert, key, admin_client_ca })?),
                _ => None,
            };
            let opts = serve::ServeOptions { listen, admin: admin_listen, tls };
            let opened = install::open(&loc).await?;
            let (app, dir) = (opened.app.clone(), loc.data_dir.clone());
            Ok(serve::run(opened, opts, move || sejf_install::policyfile::reload(&app, &dir)).await?)
        }
        Command::Demo { listen, people } => Ok(crate::demo::run(listen, people).await?),
        Command::Reindex => Ok(crate::tools::reindex(&loc).await?),
        Command::Completions { shell } => Ok(crate::tools::completions(<Cli as clap::CommandFactory>::command(), shell)?),
        Command::Man => Ok(crate::tools::man(<Cli as clap::CommandFactory>::command())?),
        Command::User(cmd) => user(&loc, cmd).await,
        Command::Honeytoken(cmd) => {
            let opened = install::open(&loc).await?;
            let r = match cmd {
                HoneytokenCommand::Add { owner, unit, email_domain } => {
                    sejf_transfer::csvio::plant_honeytoken(&opened.app, &owner, unit.as_deref(), email_domain.as_deref()).await
                }
                HoneytokenCommand::List => sejf_transfer::csvio::list_honeytokens(&opened.app).await,
            };
            opened.store.close().await;
            Ok(r?)
        }
        Command::Audit(AuditCommand::CheckProof { file, key }) => Ok(sejf_admin::audit::check_proof(&file, key.as_deref())?),
        Command::Audit(cmd) => {
            let opened = install::open(&loc).await?;
            let r = sejf_admin::audit::run(&opened, cmd).await;
            opened.store.close().await;
            Ok(r?)
        }
        Command::Policy(PolicyCommand::Check { file }) => Ok(sejf_install::policyfile::check(&loc.data_dir, file.as_deref())?),
        Command::Policy(PolicyCommand::WhoCan { action, field }) => {
            Ok(sejf_install::policyfile::who_can(&loc.data_dir, &action, field.as_deref())?)
        }
        Command::Policy(PolicyCommand::Default) => {
            print!("{}", sejf_policy::PolicyEngine::DEFAULT_POLICIES);
            Ok(())
        }
        Command::Policy(PolicyCommand::Test { user, action, field, resource, purpose }) => {
            let opened = install::open(&loc).await?;
            let r = sejf_install::policyfile::test(&opened.app, &user, &action, field.as_deref(), &resource, purpose).await;
            opened.store.close().await;
            Ok(r?)
        }
        Command::Token(TokenCommand::Create { user, scopes, days, name }) => {
            let opened = install::open(&loc).await?;
            let (token, expires) = opened.app.issue_api_token(&user, &scopes, days, &name).await?;
            println!("token for {user} (shown once; expires {}):", sejf_core::rfc3339(expires));
            println!("{token}");
            opened.store.close().await;
            Ok(())
        }
        Command::Import(args) => Ok(crate::transfer::import(&loc, args).await?),
        Command::Backup(cmd) => Ok(sejf_backup::run(&loc, cmd).await?),
        Command::Gdpr(cmd) => {
            let opened = install::open(&loc).await?;
            let r = sejf_admin::gdpr::run(&opened, cmd).await;
            opened.store.close().await;
            Ok(r?)
        }
        Command::Export(args) => Ok(crate::transfer::export(&loc, args).await?),
    }
}

/// `sejf migrate [--runtime-role ROLE]`: needs no master key, only the owner's database URL.
async fn migrate(loc: &Location, runtime_role: Option<&str>) -> Result<(), CliError> {
    let url = loc.database_url();
    if loc.database_url.is_none() && !loc.data_dir.join(sejf_install::config::DB_FILE).exists() {
        return Err(CliError::Failed(format!("{} holds no database (run `sejf init` first)", loc.data_dir.display())));
    }
    let store = sejf_store::SqlStore::connect(&url)
        .await
        .map_err(|e| CliError::Failed(format!("database {}: {e}", sejf_store::redact_url(&url))))?;
    let version = store.schema_version().await.map_err(|e| CliError::Failed(e.to_string()))?;
    println!("schema at version {version} ({})", sejf_store::redact_url(&url));
    let granted = match runtime_role {
        Some(role) => store.grant_runtime(role).await.map_err(|e| CliError::Failed(e.to_string())).map(|()| {
            println!("granted {role}: the data, and only INSERT and SELECT on the audit trail");
        }),
        None => Ok(()),
    };
    store.close().await;
    granted
}

fn read_password_stdin() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the password from standard input: {e}")))?;
    let p = line.trim_end_matches(['\n', '\r']).to_string();
    if p.is_empty() {
        return Err(CliError::Failed("no password on standard input".into()));
    }
    Ok(p)
}

async fn user(loc: &Location, cmd: UserCommand) -> Result<(), CliError> {
    let opened = install::open(loc).await?;
    let app = &opened.app;
    match cmd {
        UserCommand::Add { name, role, units, service: true, .. } => {
            let u = app.create_service_account(&name, role, &units).await?;
            println!(
                "added service account {} ({}, units: {}); issue it a token with `sejf token create`",
                u.username,
                u.role,
                u.units.join(",")
            );
        }
        UserCommand::ResetMfa { name } => {
            app.reset_mfa(&sejf_core::Actor::operator(), &name).await.map_err(|e| not_found_user(e, &name))?;
            println!("TOTP of {name} removed; their sessions have ended and they enrol again at next sign-in");
        }
        UserCommand::Add { name, role, units, password_stdin, service: false } => {
            let (pw, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (sejf_crypto::token::password(20).map_err(|e| CliError::Failed(e.to_string()))?, true)
            };
            let u = app.create_user(&name, role, &units, &pw).await?;
            println!("added user {} ({}, units: {})", u.username, u.role, u.units.join(","));
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        UserCommand::List { format } => {
            let users = app.users().await?;
            match format {
                ListFormat::Json => {
                    let rows: Vec<_> = users
                        .iter()
                        .map(|u| {
                            serde_json::json!({"id": u.id, "username": u.username, "role": u.role.as_str(), "units": u.units,
                                "disabled": u.disabled, "service": u.service, "mfa_enabled": u.mfa_enabled,
                                "created_at": sejf_core::rfc3339(u.created_at)})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| CliError::Failed(e.to_string()))?);
                }
                ListFormat::Text => {
                    println!("{:<24} {:<8} {:<9} {:<8} UNITS", "USERNAME", "ROLE", "STATUS", "MFA");
                    for u in users {
                        let status = if u.disabled { "disabled" } else { "active" };
                        let mfa = if u.service {
                            "service"
                        } else if u.mfa_enabled {
                            "totp"
                        } else {
                            "pending"
                        };
                        println!("{:<24} {:<8} {:<9} {:<8} {}", u.username, u.role.as_str(), status, mfa, u.units.join(","));
                    }
                }
            }
        }
        UserCommand::Enable { name } => {
            app.enable_user(&sejf_core::Actor::operator(), &name).await.map_err(|e| not_found_user(e, &name))?;
            println!("enabled {name}");
        }
        UserCommand::Disable { name } => {
            app.disable_user(&sejf_core::Actor::operator(), &name).await.map_err(|e| not_found_user(e, &name))?;
            println!("disabled {name}; their sessions have ended");
        }
        UserCommand::Unlock { name } => {
            app.user(&name).await.map_err(|e| not_found_user(e, &name))?;
            app.unlock(&sejf_core::Actor::operator(), &name).await?;
            println!("{name} may sign in again");
        }
        UserCommand::SetRole { name, role } => {
            app.set_role(&name, role).await.map_err(|e| not_found_user(e, &name))?;
            println!("{name} is now {role}; their sessions have ended");
        }
        UserCommand::ResetPassword { name, password_stdin } => {
            let (pw, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (sejf_crypto::token::password(20).map_err(|e| CliError::Failed(e.to_string()))?, true)
            };
            app.reset_password(&name, &pw).await.map_err(|e| not_found_user(e, &name))?;
            println!("password of {name} changed; their sessions have ended");
            if generated {
                println!("new password (shown once): {pw}");
            }
        }
    }
    opened.store.close().await;
    Ok(())
}

fn not_found_user(e: sejf_core::CoreError, name: &str) -> CliError {
    match e {
        sejf_core::CoreError::NotFound => CliError::Failed(format!("no user named {name}")),
        other => other.into(),
    }
}
