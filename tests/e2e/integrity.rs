//! Audit integrity under hostile input: no single input can make the trail's group commit fail
//! for everyone (NUL and other control characters, an event the database refuses).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::harness::{Backend, Install, PASSPHRASE, person, raw_db};
use crate::on_both;

/// The installation opened in this process, as a second server would open it.
pub async fn open_app(install: &Install) -> sejf_install::Opened {
    let loc = sejf_install::Location {
        data_dir: install.data_dir.clone(),
        database_url: install.database_url.clone(),
        passphrase: sejf_install::keyfile::PassphraseSource { file: None, given: Some(zeroize::Zeroizing::new(PASSPHRASE.to_string())) },
    };
    sejf_install::open(&loc).await.unwrap()
}

on_both!(
    nul_and_refused_events_never_poison_the_group_commit,
    honeytokens_cannot_be_spotted,
    audit_verification_fails_closed,
    the_sealer_checks_stored_rows_and_ships_checkpoints
);

async fn nul_and_refused_events_never_poison_the_group_commit(backend: Backend) {
    let install = Install::new(backend).await;
    let server = Arc::new(install.serve());
    let t = server.staff_token(&install).await;
    let p = server.call("POST", "/people", &t, Some(person("Zofia", "Nul", "zofia@nul.example", "601 000 101", Some("44051401359")))).await;
    let id = p.body["id"].as_str().unwrap().to_string();

    // An event the database refuses, whatever the reason (here a trigger stands in for it).
    let db = raw_db(&install).await;
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "CREATE TRIGGER refuse_marked BEFORE INSERT ON audit_events WHEN NEW.body LIKE '%refuse-me%' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .execute(&db)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            sqlx::query(
                "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.body LIKE '%refuse-me%' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END; $$",
            )
            .execute(&db)
            .await
            .unwrap();
            sqlx::query("CREATE TRIGGER refuse_marked BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_marked()")
                .execute(&db)
                .await
                .unwrap();
        }
    }
    db.close().await;

    let opened = open_app(&install).await;
    let app = opened.app.clone();
    let mut tasks = Vec::new();
    // Directly through App::audit: events full of NUL and control characters, events the
    // database refuses, and ordinary ones, all sharing the same group commits.
    for worker in 0..4 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let (mut refused, mut written) = (0, 0);
            for i in 0..60 {
                let operator = sejf_core::Actor::operator();
                let mut ev = app.event(&operator, sejf_core::actions::AuditAction::PolicyReload, "test", "");
                match (worker + i) % 3 {
                    0 => {
                        ev.detail = format!("a\0b\u{1}\n{i}");
                        ev.purpose = "\0\0\0".into();
                        ev.actor = "x\0".into();
                        app.audit(vec![ev]).await.expect("an event with NUL characters is stored");
                        written += 1;
                    }
                    1 => {
                        ev.detail = "refuse-me".into();
                        if app.audit(vec![ev]).await.is_err() {
                            refused += 1;
                        }
                    }
                    _ => {
                        app.audit(vec![ev.clone(), ev]).await.expect("an ordinary event is never refused for its neighbour");
                        written += 1;
                    }
                }
            }
            (refused, written)
        }));
    }
    // Through the API: reveal purposes with NUL characters are refused as bad input, never
    // stored, and never turn into a 5xx for anyone.
    for purpose in
        ["a\u{0}", "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}", "contract\u{0}signature", "\u{200b}\u{200b}\u{200b}", "x"].iter().cycle().take(40)
    {
        let server = server.clone();
        let (t, id, purpose) = (t.clone(), id.clone(), purpose.to_string());
        tasks.push(tokio::spawn(async move {
            let r = server
                .call("POST", &format!("/people/{id}/reveal"), &t, Some(json!({"fields": ["national_id"], "purpose": purpose})))
                .await;
            r.assert_problem(422, Some("purpose"));
            (0, 0)
        }));
    }
    // Meanwhile another client reads people: no read fails.
    let reader = {
        let (server, t, id) = (server.clone(), t.clone(), id.clone());
        tokio::spawn(async move {
            for _ in 0..150 {
                let r = server.call("GET", &format!("/people/{id}"), &t, None).await;
                assert_eq!(r.status, 200, "a read failed: {}", r.body);
                let l = server.call("GET", "/people", &t, None).await;
                assert_eq!(l.status, 200, "a list failed: {}", l.body);
            }
        })
    };
    let mut refused = 0;
    let mut written = 0;
    for task in tasks {
        let (r, w) = task.await.unwrap();
        refused += r;
        written += w;
    }
    reader.await.unwrap();
    assert_eq!(refused, 80, "every refused event fails on its own");
    assert_eq!(written, 160);
    opened.store.close().await;
}

/// Every event the auditor (or the dpo) can read, oldest first.
async fn whole_trail(server: &crate::harness::Server, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server.call("GET", &format!("/audit?limit=500&cursor={cursor}"), token, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        all.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return all,
        }
    }
}

async fn honeytokens_cannot_be_spotted(backend: Backend) {
    let install = Install::new(backend).await;
    let sid_pw = install.add_user("sid", "sales", &["north"]);
    let aud_pw = install.add_user("aud", "auditor", &["main"]);
    let dpo_pw = install.add_user("dora", "dpo", &["main"]);
    // A real customer imported for Sid, and a honeytoken planted for him.
    let csv = install.root.join("real.csv");
    std::fs::write(&csv, "first_name,last_name,email,phone\nRoman,Prawdziwy,roman.prawdziwy@wp.pl,+48 601 555 101\n").unwrap();
    let out = install.cli(&["import", csv.to_str().unwrap(), "--owner", "sid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = install.cli(&["honeytoken", "add", "--owner", "sid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bait = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let listed = install.cli(&["honeytoken", "list"], None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), bait, "the operator's list names it");

    let server = install.serve();
    let sid = server.login("sid", &sid_pw).await;
    let people = server.call("GET", "/people", &sid, None).await;
    let items = people.body["items"].as_array().unwrap();
    let real = items.iter().find(|p| p["last_name"] == "Prawdziwy").unwrap()["id"].as_str().unwrap().to_string();
    let got = server.call("GET", &format!("/people/{bait}"), &sid, None).await;
    assert_eq!(got.status, 200);
    // It looks like a customer: a real provider's domain, a PESEL and birth date that agree.
    let email = got.body["email"].as_str().unwrap().to_string();
    assert!(!email.contains("example") && email.contains('@'), "{email}");
    // Masked, the domain does not show either.
    let admin = server.admin_token().await;
    let masked = server.call("GET", &format!("/people/{bait}"), &admin, None).await;
    assert_eq!(masked.body["email"].as_str().unwrap(), format!("{}***@***", &email[..1]));
    // Writing to it alerts like reading it; a PATCH answers a record, so it is a read too.
    let etag = got.etag();
    let patched = server
        .call_with("PATCH", &server.url(&format!("/people/{bait}")), &sid, Some(json!({"tags": ["vip"]})), &[("if-match", &etag)])
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    for (name, pw) in [("aud", &aud_pw), ("dora", &dpo_pw)] {
        let t = server.login(name, pw).await;
        let alerts = server.call("GET", "/alerts", &t, None).await;
        let vias: Vec<&str> = alerts.body["items"].as_array().unwrap().iter().map(|a| a["detail"].as_str().unwrap()).collect();
        assert_eq!(vias, ["via=list", "via=get", "via=get", "via=update"], "{name}: sid, the admin, sid: {}", alerts.body);
        let trail = whole_trail(&server, &t).await;
        for e in &trail {
            assert!(!e["action"].as_str().unwrap().contains("honeytoken"), "{name}: {e}");
            if e["action"] == "alert" {
                assert_eq!((e["subject_id"].as_str(), e["request_id"].as_str()), (Some(""), Some("")), "{name}: {e}");
            }
            if e.to_string().contains(&bait) {
                // Only the events any customer has: created by an import, read, updated.
                let action = e["action"].as_str().unwrap();
                assert!(["person.create", "person.read", "person.update"].contains(&action), "{name}: {e}");
            }
        }
        // Its creation looks exactly like the real customer's.
        let created = |id: &str| {
            let mut e = trail.iter().find(|e| e["action"] == "person.create" && e["subject_id"] == id).unwrap().clone();
            for k in ["seq", "at", "resource_id", "subject_id"] {
                e.as_object_mut().unwrap().remove(k);
            }
            e
        };
        assert_eq!(created(&bait), created(&real), "{name}");
    }
}

/// An erased person leaves nothing in SQLite's files: not the ciphertexts, not the wrapped key,
/// not in the database and not in its write-ahead log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_leaves_nothing_in_the_write_ahead_log() {
    use sqlx::Row;
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let p = server
        .call("POST", "/people", &t, Some(person("Edyta", "Wymazana", "edyta@wymazana.example", "601 000 401", Some("44051401359"))))
        .await;
    let id = p.body["id"].as_str().unwrap().to_string();
    let db = raw_db(&install).await;
    let row = sqlx::query("SELECT first_name, email, national_id FROM people WHERE id = $1").bind(&id).fetch_one(&db).await.unwrap();
    let mut secrets: Vec<Vec<u8>> = (0..3).map(|i| row.get::<Vec<u8>, _>(i)).collect();
    let key = sqlx::query("SELECT wrapped FROM keystore WHERE kind = 'subject' AND id = $1").bind(&id).fetch_one(&db).await.unwrap();
    secrets.push(key.get::<Vec<u8>, _>(0));
    db.close().await;
    let files = || ["sejf.db", "sejf.db-wal"].map(|f| std::fs::read(install.data_dir.join(f)).unwrap_or_default());
    // While the person exists the log holds their pages (the database may not yet).
    let [_, wal] = files();
    assert!(secrets.iter().any(|s| wal.windows(s.len()).any(|w| w == s.as_slice())), "the test needs the log to hold them first");
    assert_eq!(server.call("DELETE", &format!("/people/{id}"), &t, None).await.status, 204);
    for (name, bytes) in ["sejf.db", "sejf.db-wal"].iter().zip(files()) {
        for (i, s) in secrets.iter().enumerate() {
            assert!(!bytes.windows(s.len()).any(|w| w == s.as_slice()), "secret {i} of the erased person is still in {name}");
        }
    }
}

/// `sejf audit verify`: exit code and everything it printed.
fn verify(install: &Install, extra: &[&str]) -> (Option<i32>, String) {
    let out = install.cli(&[&["audit", "verify"], extra].concat(), None);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

fn expect_broken(install: &Install, extra: &[&str], reason: &str) {
    let (code, text) = verify(install, extra);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("audit trail broken at seq ") && text.contains(reason), "expected {reason:?}: {text}");
    assert_eq!(text.lines().count(), 1, "one clear line: {text}");
}

/// Removes the append-only guard of an audit table, as someone with SQL access would.
async fn unguard(db: &sqlx::AnyPool, backend: Backend, table: &str) {
    let statements: &[&'static str] = match (backend, table) {
        (Backend::Sqlite, "audit_checkpoints") => &["DROP TRIGGER audit_checkpoints_no_update", "DROP TRIGGER audit_checkpoints_no_delete"],
        (Backend::Sqlite, _) => &["DROP TRIGGER audit_chain_no_update", "DROP TRIGGER audit_chain_no_delete"],
        (Backend::Postgres, "audit_checkpoints") => &["ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"],
        (Backend::Postgres, _) => &["ALTER TABLE audit_chain DISABLE TRIGGER USER"],
    };
    for statement in statements {
        sqlx::query(*statement).execute(db).await.unwrap();
    }
}

/// Opens the master key as the CLI does (the test knows the passphrase).
fn master_key(install: &Install) -> sejf_crypto::MasterKey {
    let config = sejf_install::config::ConfigFile::load(&install.data_dir).unwrap();
    let source = sejf_install::keyfile::PassphraseSource { file: None, given: Some(zeroize::Zeroizing::new(PASSPHRASE.to_string())) };
    sejf_install::keyfile::open(&install.data_dir, &config, &source).unwrap()
}

async fn audit_verification_fails_closed(backend: Backend) {
    let install = Install::new(backend).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    for i in 0..3 {
        server
            .call("POST", "/people", &t, Some(person("Jan", &format!("Pewny{i}"), &format!("p{i}@pewny.example"), "601 000 501", None)))
            .await;
    }
    server.stop();
    let (code, text) = verify(&install, &[]);
    assert_eq!(code, Some(0), "{text}");
    let witness = install.data_dir.join("audit-witness.jsonl");
    let kept = std::fs::read_to_string(&witness).unwrap();
    let key = String::from_utf8_lossy(&install.cli(&["audit", "public-key"], None).stdout).trim().to_string();
    assert!(kept.lines().next().unwrap().contains(&key), "the witness header pins the key: {kept}");
    let config = std::fs::read_to_string(install.data_dir.join("config.toml")).unwrap();
    assert!(config.contains(&format!("audit_public_key = \"{key}\"")), "config.toml pins the key");

    // The witness file deleted, or emptied of its checkpoints.
    std::fs::remove_file(&witness).unwrap();
    expect_broken(&install, &[], "witness file");
    let seal = install.cli(&["audit", "seal"], None);
    assert_eq!(seal.status.code(), Some(1), "the sealer does not start a new witness: {}", String::from_utf8_lossy(&seal.stdout));
    std::fs::write(&witness, kept.lines().next().unwrap().to_string() + "\n").unwrap();
    expect_broken(&install, &[], "holds no checkpoint");
    std::fs::write(&witness, "").unwrap();
    expect_broken(&install, &[], "is empty");
    std::fs::write(&witness, &kept).unwrap();
    assert_eq!(verify(&install, &[]).0, Some(0));

    // `sejf audit pin-key` on a witness written before keys were pinned (checkpoints, no
    // header) puts the header in front and keeps every line; on one it cannot read as either (a
    // header of a format it does not know) it changes nothing and says why.
    let checkpoints_only: String = kept.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&witness, &checkpoints_only).unwrap();
    let pinned = install.cli(&["audit", "pin-key"], None);
    assert_eq!(pinned.status.code(), Some(0), "{}", String::from_utf8_lossy(&pinned.stderr));
    assert!(String::from_utf8_lossy(&pinned.stdout).contains("added the key to the header"));
    assert_eq!(std::fs::read_to_string(&witness).unwrap(), kept, "the header in front, every checkpoint kept");
    assert_eq!(verify(&install, &[]).0, Some(0));
    let future = kept.replacen("\"sejf_audit_witness\":1", "\"sejf_audit_witness\":2", 1);
    assert_ne!(future, kept);
    std::fs::write(&witness, &future).unwrap();
    let refused = install.cli(&["audit", "pin-key"], None);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("is of an unknown format 2"), "{said}");
    assert_eq!(std::fs::read_to_string(&witness).unwrap(), future, "left as it was");
    // An empty witness gets its header, and hides nothing: verify still finds no checkpoint in it.
    std::fs::write(&witness, "").unwrap();
    assert_eq!(install.cli(&["audit", "pin-key"], None).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&witness).unwrap(), kept.lines().next().unwrap().to_string() + "\n");
    expect_broken(&install, &[], "holds no checkpoint");
    std::fs::write(&witness, &kept).unwrap();

    // A key given on the command line must be the pinned one.
    assert_eq!(verify(&install, &["--key", &key]).0, Some(0));
    expect_broken(&install, &["--key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="], "not the one config.toml pins");

    // The signing key replaced in the database (by someone holding the master key).
    let db = raw_db(&install).await;
    use sqlx::Row;
    let original: Vec<u8> =
        sqlx::query("SELECT wrapped FROM keystore WHERE kind = 'system' AND id = 'audit-signing'").fetch_one(&db).await.unwrap().get(0);
    let forged = master_key(&install).wrap(&sejf_crypto::Key32::generate().unwrap(), "system/audit-signing").unwrap();
    sqlx::query("UPDATE keystore SET wrapped = $1 WHERE kind = 'system' AND id = 'audit-signing'").bind(forged).execute(&db).await.unwrap();
    expect_broken(&install, &[], "not the pinned one");
    assert_eq!(install.cli(&["audit", "seal"], None).status.code(), Some(1), "nor does the sealer sign with it");
    sqlx::query("UPDATE keystore SET wrapped = $1 WHERE kind = 'system' AND id = 'audit-signing'")
        .bind(original)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(verify(&install, &[]).0, Some(0));

    // Every checkpoint deleted from the database (after removing the guard).
    unguard(&db, backend, "audit_checkpoints").await;
    sqlx::query("DELETE FROM audit_checkpoints").execute(&db).await.unwrap();
    expect_broken(&install, &[], "no signed checkpoint");
    db.close().await;
}

async fn the_sealer_checks_stored_rows_and_ships_checkpoints(backend: Backend) {
    let install = Install::new(backend).await;
    let (hook_url, mut hook) = crate::audit::webhook_receiver().await;
    let syslog = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap()
        + &format!(
            "\naudit_seal_secs = 1\nalert_webhook = \"{hook_url}\"\nalert_webhook_secret = \"{}\"\nalert_syslog = \"{}\"\n",
            crate::audit::HOOK_SECRET,
            syslog.local_addr().unwrap()
        );
    std::fs::write(&cfg, text).unwrap();
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    server.call("POST", "/people", &t, Some(person("Ola", "Kopia", "ola@kopia.example", "601 000 601", None))).await;
    // Checkpoints reach the webhook and syslog, signed by the pinned key.
    let key = sejf_core::witness::parse_key(&String::from_utf8_lossy(&install.cli(&["audit", "public-key"], None).stdout)).unwrap();
    let posted: Value = serde_json::from_str(
        &tokio::time::timeout(std::time::Duration::from_secs(5), hook.recv()).await.expect("no checkpoint within 5 s").unwrap(),
    )
    .unwrap();
    assert_eq!(posted["type"], "sejf.checkpoint", "{posted}");
    let cp = sejf_crypto::audit::Checkpoint {
        origin: posted["origin"].as_str().unwrap().into(),
        tree_size: posted["tree_size"].as_u64().unwrap(),
        root: posted["root"].as_str().unwrap().into(),
        chain_head: posted["chain_head"].as_str().unwrap().into(),
        at: posted["at_micros"].as_i64().unwrap(),
        key_id: posted["key_id"].as_str().unwrap().into(),
        signature: posted["signature"].as_str().unwrap().into(),
    };
    assert!(cp.tree_size > 1 && sejf_crypto::audit::verify_checkpoint(&cp, &key), "{posted}");
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), syslog.recv(&mut buf)).await.expect("no syslog message").unwrap();
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(line.starts_with("<85>1 ") && line.contains(" sejf - checkpoint [sejf@32473 tree_size=\""), "{line}");
    server.stop();

    // A stored chain row below the last checkpoint altered: the sealer refuses to build on it.
    let db = raw_db(&install).await;
    unguard(&db, backend, "audit_chain").await;
    sqlx::query("UPDATE audit_chain SET leaf = link WHERE seq = 2").execute(&db).await.unwrap();
    db.close().await;
    let opened = open_app(&install).await;
    opened
        .app
        .audit(vec![opened.app.event(&sejf_core::Actor::operator(), sejf_core::actions::AuditAction::PolicyReload, "test", "")])
        .await
        .unwrap();
    opened.store.close().await;
    let seal = install.cli(&["audit", "seal"], None);
    let err = String::from_utf8_lossy(&seal.stderr).to_string();
    assert_eq!(seal.status.code(), Some(1), "{err}");
    assert!(err.contains("does not match the last signed checkpoint"), "{err}");
}

/// On PostgreSQL the schema's owner migrates and the servers connect as a runtime role that can
/// add to the audit trail but not change it, nor switch its guards off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_role_cannot_switch_off_the_audit_guards() {
    let Some(base) = sejf_store::testing::test_database_url() else {
        eprintln!("skipped: SEJF_TEST_DATABASE_URL not set");
        return;
    };
    let suffix = uuid::Uuid::now_v7().simple().to_string()[..12].to_string();
    let (owner, runtime) = (format!("sejf_own_{suffix}"), format!("sejf_run_{suffix}"));
    sqlx::any::install_default_drivers();
    let server_admin = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&base).await.unwrap();
    for role in [&owner, &runtime] {
        // Names made just above from hex digits: nothing to inject.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} LOGIN"))).execute(&server_admin).await.unwrap();
    }
    let db_url = sejf_store::testing::fresh_postgres_database(&base).await.unwrap();
    let db_name = reqwest::Url::parse(&db_url).unwrap().path().trim_start_matches('/').to_string();
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {db_name} OWNER TO {owner}"))).execute(&server_admin).await.unwrap();
    let as_role = |role: &str| {
        let mut u = reqwest::Url::parse(&db_url).unwrap();
        u.set_username(role).unwrap();
        u.to_string()
    };
    let (owner_url, runtime_url) = (as_role(&owner), as_role(&runtime));

    let root = sejf_store::testing::fresh_temp_dir().unwrap();
    let install =
        Install { root: root.clone(), data_dir: root.join("data"), database_url: Some(runtime_url.clone()), mfa: Default::default() };
    let owner_root = sejf_store::testing::fresh_temp_dir().unwrap();
    let owner_side =
        Install { root: owner_root, data_dir: root.join("data"), database_url: Some(owner_url.clone()), mfa: Default::default() };
    // The runtime role cannot build the schema; the owner migrates and grants it its rights.
    let refused = install.cli(&["init"], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("migrate --runtime-role"), "{}", String::from_utf8_lossy(&refused.stderr));
    let migrated = owner_side.cli(&["migrate", "--runtime-role", &runtime], None);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(String::from_utf8_lossy(&migrated.stdout).contains(&format!("granted {runtime}")));
    let superuser = owner_side.cli(&["migrate", "--runtime-role", &owner], None);
    assert_eq!(superuser.status.code(), Some(1), "the owner is no runtime role");

    // Everything else runs as the runtime role.
    let init = install.cli(&["init"], None);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    let p = server.call("POST", "/people", &t, Some(person("Rola", "Robocza", "rola@robocza.example", "601 000 701", None))).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let path = format!("/people/{}", p.body["id"].as_str().unwrap());
    assert_eq!(server.call("GET", &path, &t, None).await.status, 200);
    // Deleting a person deletes their name tokens by a trigger (migration 25), which runs with
    // the runtime role's rights: it works, and leaves none.
    assert_eq!(server.call("DELETE", &path, &t, None).await.status, 204);
    assert_eq!(server.call("GET", &path, &t, None).await.status, 404);
    server.stop();
    assert_eq!(verify(&install, &[]).0, Some(0));
    let again = install.cli(&["migrate", "--runtime-role", &runtime], None);
    assert_eq!(again.status.code(), Some(1), "the runtime role cannot grant itself anything");

    let store = sejf_store::SqlStore::connect(&runtime_url).await.unwrap();
    assert!(!store.can_alter_audit_guards().await.unwrap());
    store.close().await;
    let store = sejf_store::SqlStore::connect(&owner_url).await.unwrap();
    assert!(store.can_alter_audit_guards().await.unwrap());
    store.close().await;
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&runtime_url).await.unwrap();
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM person_name_tokens").fetch_one(&db).await.unwrap();
    assert_eq!(tokens, 0, "the deleted person's name tokens went with them");
    let attempts: [&'static str; 17] = [
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "ALTER TABLE audit_chain DISABLE TRIGGER USER",
        "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER",
        "DROP TRIGGER audit_events_no_update ON audit_events",
        "DROP TRIGGER audit_chain_no_update ON audit_chain",
        "DROP TRIGGER audit_checkpoints_no_update ON audit_checkpoints",
        "UPDATE audit_events SET body = body WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "TRUNCATE audit_events",
        "UPDATE audit_chain SET leaf = link WHERE seq = 1",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "CREATE TRIGGER sneak BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        // Nor the trigger that deletes a person's name tokens with them.
        "DROP TRIGGER people_delete_rows ON people",
        "ALTER TABLE people DISABLE TRIGGER USER",
    ];
    for sql in attempts {
        let err = sqlx::query(sql).execute(&db).await.expect_err(sql).to_string();
        assert!(err.contains("permission denied") || err.contains("must be owner"), "{sql}: {err}");
    }
    db.close().await;
    drop(install);
    drop(owner_side);
    for role in [&owner, &runtime] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}"))).execute(&server_admin).await.unwrap();
    }
    server_admin.close().await;
}
