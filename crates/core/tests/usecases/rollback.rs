//! A change and its audit event commit together, or neither does: with the trail refusing
//! every insert, each audited mutation fails and leaves every table as it was.

use sejf_core::CoreError;
use sejf_core::records::{Company, Links};
use sejf_crypto::totp;
use sejf_domain::records::CompanyRaw;
use sejf_domain::roles::Role;
use sejf_store::Backend;

use crate::{CLIENT, Fixture, PASSWORD, on_both, person};

on_both!(every_audited_mutation_rolls_back_when_its_event_cannot_be_written);

const NEW_PASSWORD: &str = "a different horse, battery and staple 7";

/// What the mutations below could change, as text per row. Left out: the sign-in throttle's
/// counters and a session's last use (bookkeeping, not audited changes), and keys of units and
/// indexes, made once on first use.
const STATE: [(&str, &str); 11] = [
    (
        "users",
        "SELECT CAST(id AS TEXT) || ' ' || role || ' ' || CAST(disabled AS TEXT) || ' ' || password_hash || ' ' \
         || CAST(must_change_password AS TEXT) || ' ' || CAST(COALESCE(length(totp_secret), -1) AS TEXT) || ' ' \
         || CAST(COALESCE(length(totp_pending), -1) AS TEXT) FROM users ORDER BY id",
    ),
    ("units", "SELECT CAST(COUNT(*) AS TEXT) FROM user_units"),
    ("sessions", "SELECT CAST(id AS TEXT) FROM sessions ORDER BY id"),
    ("role_grants", "SELECT CAST(id AS TEXT) || ' ' || status FROM role_grants ORDER BY id"),
    (
        "recovery_codes",
        "SELECT CAST(user_id AS TEXT) || ' ' || CAST(COALESCE(used_at, 0) AS TEXT) FROM recovery_codes ORDER BY user_id, used_at",
    ),
    ("people", "SELECT CAST(id AS TEXT) || ' ' || CAST(version AS TEXT) FROM people ORDER BY id"),
    ("person_tags", "SELECT CAST(COUNT(*) AS TEXT) FROM person_tags"),
    ("companies", "SELECT CAST(id AS TEXT) FROM companies ORDER BY id"),
    // A person's key goes with the person; a unit's or an index's key is made on first use.
    ("keystore", "SELECT CAST(id AS TEXT) FROM keystore WHERE kind = 'subject' ORDER BY id"),
    ("honeytokens", "SELECT CAST(person_id AS TEXT) FROM honeytokens ORDER BY person_id"),
    ("audit_events", "SELECT CAST(COUNT(*) AS TEXT) FROM audit_events"),
];

async fn snapshot(fx: &Fixture) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (table, sql) in STATE {
        out.push((table, sqlx::query_scalar::<_, String>(sql).fetch_all(fx.store.pool()).await.unwrap()));
    }
    out
}

/// Makes every insert into the trail fail, as a full disk or a broken constraint would.
async fn refuse_audit(fx: &Fixture) {
    let statements: &[&str] = match fx.backend() {
        Backend::Sqlite => &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit()",
        ],
    };
    for &sql in statements {
        sqlx::query(sql).execute(fx.store.pool()).await.unwrap();
    }
}

async fn allow_audit(fx: &Fixture) {
    let sql = match fx.backend() {
        Backend::Sqlite => "DROP TRIGGER refuse_audit",
        Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_events",
    };
    sqlx::query(sql).execute(fx.store.pool()).await.unwrap();
}

/// The current code of a base32 TOTP secret.
fn code(secret_b32: &str) -> String {
    let secret = totp::base32_decode(secret_b32).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    totp::code_at(&secret, totp::step_of(now))
}

fn refused<T>(what: &str, r: Result<T, CoreError>) {
    match r {
        Err(CoreError::Storage(_)) => {}
        Err(other) => panic!("{what}: expected a storage failure, got {other:?}"),
        Ok(_) => panic!("{what}: succeeded although its audit event could not be written"),
    }
}

async fn every_audited_mutation_rolls_back_when_its_event_cannot_be_written(fx: &Fixture) {
    let app = &fx.app;
    let admin = fx.user("admin", Role::Admin).await;
    let second = fx.user("second", Role::Admin).await;
    let sam = fx.user("sam", Role::Sales).await;
    let vic = fx.user("vic", Role::Sales).await;
    let vic_other = fx.sign_in("vic").await;
    fx.user("ray", Role::Sales).await;
    app.create_service_account("svc", Role::Sales, &["north".into()]).await.unwrap();
    // Mo is half-way through enrolment; Tim has TOTP.
    let mo = fx.user("mo", Role::Sales).await;
    let mo_enrolment = app.mfa_enroll(&mo).await.unwrap();
    let tim = fx.user("tim", Role::Sales).await;
    let tim_enrolment = app.mfa_enroll(&tim).await.unwrap();
    app.mfa_confirm(&tim, &code(&tim_enrolment.secret)).await.unwrap();
    // A grant of a privileged role waits for a second administrator.
    let pending = match app.change_role(&admin, "ray", Role::Manager).await.unwrap() {
        sejf_core::users::RoleChange::Pending(_, grant) => grant,
        other => panic!("a manager role waits for a second administrator: {other:?}"),
    };
    let kept = app.create_person(&sam, &person("Anna", "anna@example.com")).await.unwrap();
    let bait = app.create_person(&sam, &person("Bait", "bait@example.com")).await.unwrap();
    app.mark_honeytoken(&sejf_core::Actor::operator(), bait.id).await.unwrap();

    let before = snapshot(fx).await;
    refuse_audit(fx).await;

    // People and records.
    refused("person create", app.create_person(&sam, &person("Ola", "ola@example.com")).await);
    refused("person update", app.update_person(&sam, kept.id, Some(kept.version), &person("Anna", "anna@example.org")).await);
    refused("person delete", app.delete_person(&sam, kept.id).await);
    refused("person read", app.person(&sam, kept.id).await);
    let company = CompanyRaw { name: Some("Acme".into()), ..CompanyRaw::default() };
    refused("company create", app.create_record::<Company>(&sam, &company, &Links::default()).await);
    // A honeytoken touched: its alert cannot be written, so nothing of it is answered.
    refused("honeytoken read", app.person(&sam, bait.id).await);
    // Users and roles.
    refused("user create", app.create_user("newbie", Role::Sales, &["north".into()], PASSWORD).await);
    refused("user create (admin API)", app.admin_create_user(&admin, "newbie", Role::Sales, &[], PASSWORD).await);
    refused("user disable", app.disable_user(&admin, "vic").await);
    refused("user enable", app.enable_user(&admin, "vic").await);
    refused("password reset", app.admin_reset_password(&admin, "vic", NEW_PASSWORD).await);
    refused("role set", app.set_role("vic", Role::Support).await);
    refused("role grant request", app.change_role(&admin, "vic", Role::Dpo).await);
    refused("role grant decision", app.decide_grant(&second, pending.id, true).await);
    // MFA.
    let vic_enrolment = app.mfa_enroll(&vic).await;
    refused("mfa enroll", vic_enrolment);
    refused("mfa confirm", app.mfa_confirm(&mo, &code(&mo_enrolment.secret)).await);
    refused("mfa reset", app.reset_mfa(&admin, "tim").await);
    // Sessions and tokens.
    refused("sign-in", app.login("sam", PASSWORD, None, CLIENT).await);
    refused("logout", app.logout(&vic).await);
    refused("session end", app.end_session(&vic, vic_other.session_id).await);
    refused("password change", app.change_password(&vic, PASSWORD, NEW_PASSWORD, None).await);
    refused("api token", app.issue_api_token("svc", &["people:read".into()], 30, "crm-sync").await);

    allow_audit(fx).await;
    let after = snapshot(fx).await;
    for ((table, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{table} changed although every audit insert failed");
    }
    // And what the users hold still works as before: their sessions, and the old password.
    for signed in [&vic, &vic_other, &admin, &tim, &mo] {
        app.authenticate(&signed.token, CLIENT).await.unwrap();
    }
    app.login("vic", PASSWORD, None, CLIENT).await.unwrap();
    assert_eq!(app.person(&sam, kept.id).await.unwrap().version, kept.version);
    // With the trail writable again the same changes go through.
    app.logout(&vic).await.unwrap();
    app.disable_user(&admin, "vic").await.unwrap();
    assert!(app.user("vic").await.unwrap().disabled);
}
