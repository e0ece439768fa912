//! The policy file of an installation (`policies.cedar` in the data directory, written by
//! `init` from the built-in default), its loading and reloading, and `sejf policy`.

use sejf_core::actions::AuditAction;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sejf_core::records::field_class;
use sejf_core::{App, CoreError};
use sejf_policy::{Action, Context, FieldClass, PolicyEngine, Principal, Resource};
use uuid::Uuid;

use crate::InstallError;

pub const POLICY_FILE: &str = "policies.cedar";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(POLICY_FILE)
}

/// The installation's policies: its file when present, else the built-in default.
pub fn load(data_dir: &Path) -> Result<PolicyEngine, InstallError> {
    let p = path(data_dir);
    if p.exists() {
        PolicyEngine::load(&p).map_err(|source| InstallError::PolicyFile { path: p.clone(), source })
    } else {
        Ok(PolicyEngine::default_set()?)
    }
}

/// Re-reads the policy file; a file that fails validation is refused and the policies in
/// force stay. Called on SIGHUP. Either way the attempt is recorded in the audit trail
/// (`policy.reload`, outcome `ok` or `refused`), as the operator.
pub fn reload(app: &std::sync::Arc<App>, data_dir: &Path) {
    let (outcome, detail) = match load(data_dir) {
        Ok(engine) => {
            let n = engine.policy_ids().len();
            app.set_policy(engine);
            tracing::info!(policies = n, "policies reloaded");
            ("ok", format!("policies={n}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "policy reload refused; the previous policies stay in force");
            ("refused", "the file failed validation; the previous policies stay in force".to_string())
        }
    };
    let app = app.clone();
    tokio::spawn(async move {
        let mut ev = app.event(&sejf_core::Actor::operator(), AuditAction::PolicyReload, "policy", POLICY_FILE);
        ev.outcome = outcome.to_string();
        ev.detail = detail;
        if let Err(e) = app.audit(vec![ev]).await {
            tracing::error!(error = %e, "the policy reload could not be recorded in the audit trail");
        }
    });
}

/// `sejf policy check [FILE]`.
pub fn check(data_dir: &Path, file: Option<&Path>) -> Result<(), InstallError> {
    let engine = match file {
        Some(f) => PolicyEngine::load(f).map_err(|source| InstallError::PolicyFile { path: f.to_path_buf(), source })?,
        None => load(data_dir)?,
    };
    let shown = file.map(|f| f.display().to_string()).unwrap_or_else(|| {
        let p = path(data_dir);
        if p.exists() { p.display().to_string() } else { "built-in default policies".into() }
    });
    println!("ok: {shown}: {} policies, valid against the schema", engine.policy_ids().len());
    Ok(())
}

/// The action a field name and an action word mean: `read` + `national_id` is `read_field:sensitive`.
pub fn action_for(action: &str, field: Option<&str>) -> Result<Action, InstallError> {
    match field {
        None => Action::from_str(action).map_err(InstallError::Argument),
        Some(f) => {
            let class = match field_class(f) {
                Some(c) => c,
                None => FieldClass::from_str(f).map_err(|_| {
                    InstallError::Argument(
                        "--field: unknown field; a field name (national_id, email, title, body, …) or a class (public, personal, sensitive)"
                            .to_string(),
                    )
                })?,
            };
            match action {
                "read" | "read_field" => Ok(Action::ReadField(class)),
                "reveal" => Ok(Action::Reveal(class)),
                _ => Err(InstallError::Argument(format!("--field goes with --action read or reveal, not {action}"))),
            }
        }
    }
}

/// `sejf policy who-can --action A [--field F]`.
pub fn who_can(data_dir: &Path, action: &str, field: Option<&str>) -> Result<(), InstallError> {
    let engine = load(data_dir)?;
    let action = action_for(action, field)?;
    let roles = engine.who_can(action);
    if roles.is_empty() {
        println!("nobody may {action}");
    }
    for (role, relations) in roles {
        println!("{role}: {}", relations.join(", "));
    }
    Ok(())
}

/// An unknown user is "no user named …"; any other failure (the database away, say) stays
/// what it is instead of reading as an unknown name.
fn no_user(name: &str) -> impl FnOnce(CoreError) -> InstallError + '_ {
    move |e| match e {
        CoreError::NotFound => InstallError::NotFound(format!("no user named {name}")),
        other => InstallError::Core(other),
    }
}

/// `sejf policy test --user U --action A --resource R [--purpose P]`: prints the decision and
/// the policies that made it. R is a record id, `user:NAME`, or `system`.
pub async fn test(
    app: &App,
    user: &str,
    action: &str,
    field: Option<&str>,
    resource: &str,
    purpose: Option<String>,
) -> Result<(), InstallError> {
    let u = app.user(user).await.map_err(no_user(user))?;
    let principal = Principal::User { id: u.id, role: u.role, units: u.units.clone() };
    let action = action_for(action, field)?;
    let resource = if resource == "system" {
        Resource::System
    } else if let Some(name) = resource.strip_prefix("user:") {
        let target = app.user(name).await.map_err(no_user(name))?;
        Resource::User { id: target.id, units: target.units }
    } else {
        let id =
            Uuid::parse_str(resource).map_err(|_| InstallError::Argument("--resource: a record id, user:NAME or system".to_string()))?;
        record(app, id).await?
    };
    let d = app.policy().decide(&principal, action, &resource, &Context { purpose, ..Context::default() });
    println!("{}", if d.allowed { "allow" } else { "deny" });
    if d.policies.is_empty() {
        println!("no policy applied (default deny)");
    }
    for p in &d.policies {
        println!("policy: {p}");
    }
    for e in &d.errors {
        println!("error: {e}");
    }
    Ok(())
}

async fn record(app: &App, id: Uuid) -> Result<Resource, InstallError> {
    app.record_resource(&sejf_core::Actor::operator(), id).await?.ok_or_else(|| InstallError::NotFound(format!("no record with id {id}")))
}
