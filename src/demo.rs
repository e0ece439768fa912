//! `sejf demo`: a throwaway installation in a temporary directory with one user per role,
//! synthetic people, companies, deals and activities, served until Ctrl-C and then deleted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use sejf_core::records::{Activity, Company, Deal, Links};
use sejf_core::{Actor, App};
use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
use sejf_domain::roles::Role;
use uuid::Uuid;
use zeroize::Zeroizing;

use sejf_install::keyfile::PassphraseSource;
use sejf_install::{self as install, Location};
use sejf_server as serve;
use sejf_transfer::synth::{COMPANIES, Synth};

use crate::error::CliError;

/// The demo's users: name, role, units.
const USERS: &[(&str, Role, &[&str])] = &[
    ("manager", Role::Manager, &["north"]),
    ("sales", Role::Sales, &["north"]),
    ("sales-south", Role::Sales, &["south"]),
    ("support", Role::Support, &["north"]),
    ("auditor", Role::Auditor, &["main"]),
    ("dpo", Role::Dpo, &["main"]),
];

/// Removes the demo directory however the demo ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(listen: SocketAddr, people: usize) -> Result<(), CliError> {
    let dir = std::env::temp_dir().join(format!("sejf-demo-{}", Uuid::now_v7().simple()));
    let _cleanup = TempDir(dir.clone());
    let passphrase = sejf_crypto::token::password(32).map_err(|e| CliError::Failed(e.to_string()))?;
    let loc = Location {
        data_dir: dir.clone(),
        database_url: None,
        passphrase: PassphraseSource { file: None, given: Some(Zeroizing::new(passphrase)) },
    };
    let admin_pw = install::init_quiet(&loc, false).await?;
    // The demo is for trying Sejf out: signing in with a password alone is allowed here, and
    // only here. It says so on every start.
    let opened = install::open_with(&loc, |s| s.mfa_required = false).await?;
    let app = opened.app.clone();

    let mut credentials = vec![("admin".to_string(), Role::Admin, admin_pw)];
    let mut actors = Vec::new();
    for (name, role, units) in USERS {
        let pw = sejf_crypto::token::password(20).map_err(|e| CliError::Failed(e.to_string()))?;
        let units: Vec<String> = units.iter().map(|u| u.to_string()).collect();
        let u = app.create_user(name, *role, &units, &pw).await?;
        actors.push(Actor::for_user(&u));
        credentials.push((name.to_string(), *role, pw));
    }
    eprintln!("creating {people} synthetic people with companies, deals and activities…");
    populate(&app, &actors, people).await?;

    println!("Open http://{listen}/ in a browser and sign in as one of the users below.");
    println!("Sejf demo: throwaway data in {} (deleted on exit)", dir.display());
    println!("WARNING: multi-factor sign-in is switched OFF in this demo; `sejf serve` always requires TOTP.");
    println!("Users (passwords are shown once):");
    for (name, role, pw) in &credentials {
        println!("  {name:<12} {:<8} {pw}", role.as_str());
    }
    println!(
        "Sign in:  curl -s -X POST http://{listen}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"sales\",\"password\":\"…\"}}'"
    );
    println!("API docs: http://{listen}/api/v1/docs");
    Ok(serve::run(opened, serve::ServeOptions::plain(listen, None), || {}).await?)
}

/// Fills the demo with people owned by the sales and manager users, and their records.
async fn populate(app: &Arc<App>, actors: &[Actor], people: usize) -> Result<(), CliError> {
    let owners: Vec<&Actor> = actors.iter().filter(|a| matches!(a.role, Role::Sales | Role::Manager)).collect();
    let mut synth = Synth::new(0x5e1f);
    let mut prepared = Vec::new();
    for i in 0..people {
        let owner = owners[i % owners.len()];
        let p = synth.person(i);
        let input = sejf_core::people::PersonInput { raw: p.raw, tags: p.tags, ..Default::default() };
        prepared.push(app.prepare_person(owner, &input).await?);
        if prepared.len() == 1000 {
            app.insert_people(owner, &std::mem::take(&mut prepared)).await?;
        }
    }
    app.insert_people(&Actor::operator(), &prepared).await?;

    for owner in &owners {
        let filter = sejf_core::people::PeopleFilter { owner: Some(owner.user_id), limit: Some(60), ..Default::default() };
        let mine = app.list_people(owner, &filter).await?.items;
        let mut companies = Vec::new();
        for (i, name) in COMPANIES.iter().enumerate() {
            let raw = CompanyRaw {
                name: Some(format!("{name} ({})", owner.username)),
                website: Some(format!("https://example.com/c{i}")),
                vat_id: None,
            };
            companies.push(app.create_record::<Company>(owner, &raw, &Links::default()).await?.id);
        }
        let stages = app.settings().pipeline.stages().to_vec();
        for (i, person) in mine.iter().enumerate().take(30) {
            let deal = DealRaw {
                title: Some(format!("Licences for {}", COMPANIES[i % COMPANIES.len()])),
                amount: Some(format!("{}.{:02}", 1000 + synth.below(90_000), synth.below(100))),
                currency: None,
                stage: Some(stages[i % stages.len()].clone()),
                expected_close: Some(format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
            };
            let links = Links { person_id: Some(person.id), company_id: Some(companies[i % companies.len()]), ..Default::default() };
            let d = app.create_record::<Deal>(owner, &deal, &links).await?;
            for (k, kind) in ["call", "note", "task"].iter().enumerate() {
                let act = ActivityRaw {
                    kind: Some(kind.to_string()),
                    body: Some(format!("Follow-up {} about the offer", k + 1)),
                    due_at: (*kind == "task").then(|| format!("2027-01-{:02}T09:00:00Z", 1 + i % 28)),
                    done: Some(k == 0),
                };
                let links = Links { person_id: Some(person.id), deal_id: Some(d.id), ..Default::default() };
                app.create_record::<Activity>(owner, &act, &links).await?;
            }
        }
    }
    Ok(())
}
