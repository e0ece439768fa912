//! Backups: create while serving, verify (a flipped byte names its part), restore into a fresh
//! SQLite data directory and into PostgreSQL with identical records and a trail that verifies,
//! no plaintext in the files, the standard `age` tool decrypts a part, and erasures survive.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::harness::{Backend, Install, Server, contains_ci, files_under, http_client, person, raw_db};

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// A backup identity and its recipient.
fn keygen(install: &Install) -> (PathBuf, String) {
    let path = install.root.join("backup-identity.txt");
    let out = ok(&install.cli(&["backup", "keygen", "--out", path.to_str().unwrap()], None));
    let recipient = out.lines().last().unwrap().trim().to_string();
    assert!(recipient.starts_with("age1"), "{out}");
    (path, recipient)
}

/// Creates a backup; returns its id.
fn create(install: &Install, target: &Path, recipient: &str) -> String {
    let out = ok(&install.cli(&["backup", "create", "--to", target.to_str().unwrap(), "--recipient", recipient], None));
    let line = out.lines().last().unwrap();
    assert!(line.starts_with("backup ") && line.contains(" created on "), "{out}");
    line.split_whitespace().nth(1).unwrap().to_string()
}

fn backup_key(install: &Install) -> String {
    let cfg = std::fs::read_to_string(install.data_dir.join("config.toml")).unwrap();
    cfg.lines().find_map(|l| l.strip_prefix("backup_public_key = ")).unwrap().trim_matches('"').to_string()
}

/// An installation made only of the master key (as kept apart), to restore into.
fn bare(install: &Install, name: &str, database_url: Option<String>) -> Install {
    let root = install.root.join(name);
    let data_dir = root.join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::copy(install.data_dir.join("master.key"), data_dir.join("master.key")).unwrap();
    Install { root, data_dir, database_url, mfa: install.mfa.clone() }
}

async fn people(server: &Server, token: &str) -> Vec<Value> {
    let r = server.call("GET", "/people?limit=100", token, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut items = r.body["items"].as_array().unwrap().clone();
    for p in &mut items {
        // Everything but the fetch itself must match.
        p.as_object_mut().unwrap().remove("_links");
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_restore_into_sqlite_and_postgres_with_identical_records() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    for (first, email) in [("Łucja", "lucja.backup@sekret.example"), ("Bogdan", "bogdan@sekret.example")] {
        let r = server.call("POST", "/people", &t, Some(person(first, "Zapasowa", email, "601 555 111", Some("44051401359")))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let before = people(&server, &t).await;
    assert_eq!(before.len(), 2);

    // Created while the server keeps serving.
    let (identity, recipient) = keygen(&install);
    let target = install.root.join("backups");
    let id = create(&install, &target, &recipient);
    let key = backup_key(&install);
    let list = ok(&install.cli(&["backup", "list", "--from", target.to_str().unwrap()], None));
    assert!(list.contains(&id) && list.contains("signed"), "{list}");
    let verified =
        ok(&install.cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap()], None));
    assert!(verified.contains(&format!("backup {id} verified")), "{verified}");
    let tested = ok(&install
        .cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap(), "--restore-test"], None));
    assert!(tested.contains(&format!("restore test of backup {id} passed")) && tested.contains("audit trail intact"), "{tested}");

    // No plaintext personal value in any file of the backup.
    for f in files_under(&target) {
        let bytes = std::fs::read(&f).unwrap();
        for needle in ["lucja.backup@sekret.example", "Zapasowa", "Bogdan", "44051401359"] {
            assert!(!contains_ci(&bytes, needle), "{needle} in {}", f.display());
        }
    }

    // The standard age tool decrypts a part with the identity.
    if std::process::Command::new("age").arg("--version").output().is_ok() {
        let part = target.join(&id).join("config.toml.file");
        let out = std::process::Command::new("age").args(["-d", "-i"]).arg(&identity).arg(&part).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let plain = zstd_decode(&out.stdout);
        assert!(plain.starts_with("# Sejf configuration"), "{plain}");
    } else {
        eprintln!("skipped the age CLI check: `age` is not installed (.ci/run installs it)");
    }

    // Flipping one byte of any part fails verify, naming that part; the backup is then whole again.
    for part in std::fs::read_dir(target.join(&id)).unwrap().flatten().map(|e| e.path()) {
        let name = part.file_name().unwrap().to_str().unwrap().to_string();
        if name == "manifest" {
            continue;
        }
        let original = std::fs::read(&part).unwrap();
        let mut changed = original.clone();
        let at = changed.len() * 2 / 3;
        changed[at] ^= 0x20;
        std::fs::write(&part, &changed).unwrap();
        let err =
            failed(&install.cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap()], None));
        assert!(err.contains(&format!("part {name} is damaged")), "{err}");
        std::fs::write(&part, &original).unwrap();
    }
    let manifest = target.join(&id).join("manifest");
    let original = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, String::from_utf8(original.clone()).unwrap().replacen("\"rows\":2", "\"rows\":3", 1)).unwrap();
    let err =
        failed(&install.cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap()], None));
    assert!(err.contains("signature does not verify"), "{err}");
    std::fs::write(&manifest, &original).unwrap();

    // Into a fresh SQLite data directory that holds only the master key.
    let fresh = bare(&install, "restored", None);
    let restore = ["backup", "restore", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap(), "--key", &key];
    let out = ok(&fresh.cli(&restore, None));
    assert!(out.contains(&format!("restored backup {id}")) && out.contains("2 people"), "{out}");
    let err = failed(&fresh.cli(&restore, None));
    assert!(err.contains("not empty"), "a used database is refused: {err}");
    assert!(ok(&fresh.cli(&["audit", "verify"], None)).contains("audit trail intact"));
    let restored = fresh.serve();
    let t2 = restored.staff_token(&fresh).await;
    assert_eq!(people(&restored, &t2).await, before, "identical records over the API");
    drop(restored);

    // Into PostgreSQL, and back out of it into SQLite.
    let Some(base) = sejf_store::testing::test_database_url() else {
        eprintln!("skipped the PostgreSQL half: SEJF_TEST_DATABASE_URL not set");
        return;
    };
    let url = sejf_store::testing::fresh_postgres_database(&base).await.unwrap();
    let pg = bare(&install, "pg", Some(url.clone()));
    let out = ok(&pg.cli(&restore, None));
    assert!(out.contains("2 people"), "{out}");
    assert!(ok(&pg.cli(&["audit", "verify"], None)).contains("audit trail intact"));
    let pg_server = pg.serve();
    let t3 = pg_server.staff_token(&pg).await;
    assert_eq!(people(&pg_server, &t3).await, before, "identical records from PostgreSQL");
    drop(pg_server);
    let pg_target = install.root.join("pg-backups");
    let pg_id = create(&pg, &pg_target, &recipient);
    let back = bare(&install, "back", None);
    let out = ok(&back.cli(
        &[
            "backup",
            "restore",
            "--from",
            pg_target.to_str().unwrap(),
            "--id",
            &pg_id,
            "--identity",
            identity.to_str().unwrap(),
            "--key",
            &key,
        ],
        None,
    ));
    assert!(out.contains("2 people"), "{out}");
    let back_server = back.serve();
    let t4 = back_server.staff_token(&back).await;
    assert_eq!(people(&back_server, &t4).await, before, "identical records after SQLite -> PostgreSQL -> SQLite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_erased_after_a_backup_stays_erased_after_restoring_it() {
    let install = Install::new(Backend::Sqlite).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    let gone = server.call("POST", "/people", &t, Some(person("Ernest", "Usuniety", "ernest@sekret.example", "601 555 222", None))).await;
    let gone = gone.body["id"].as_str().unwrap().to_string();
    let kept = server.call("POST", "/people", &t, Some(person("Klara", "Zostaje", "klara@sekret.example", "601 555 333", None))).await;
    let kept = kept.body["id"].as_str().unwrap().to_string();
    let (identity, recipient) = keygen(&install);
    let target = install.root.join("backups");
    let old = create(&install, &target, &recipient);
    assert_eq!(server.call("DELETE", &format!("/people/{gone}"), &t, None).await.status, 204);
    server.stop();
    let key = backup_key(&install);
    let restore_old =
        ["backup", "restore", "--from", target.to_str().unwrap(), "--id", &old, "--identity", identity.to_str().unwrap(), "--key", &key];

    // Over the same data directory (--force): the replaced database's ledger is re-applied.
    let out = ok(&install.cli(&[&restore_old[..], &["--force"]].concat(), None));
    assert!(out.contains("1 people (1 erased since"), "{out}");
    let server = install.serve();
    let t = server.staff_token(&install).await;
    assert_eq!(server.call("GET", &format!("/people/{gone}"), &t, None).await.status, 404);
    assert_eq!(server.call("GET", &format!("/people/{kept}"), &t, None).await.status, 200);
    // A later backup carries the ledger beside the backups, so a restore elsewhere honours it too.
    create(&install, &target, &recipient);
    drop(server);
    let fresh = bare(&install, "elsewhere", None);
    let out = ok(&fresh.cli(&restore_old, None));
    assert!(out.contains("1 people (1 erased since"), "{out}");
    let server = fresh.serve();
    let t = server.staff_token(&fresh).await;
    assert_eq!(server.call("GET", &format!("/people/{gone}"), &t, None).await.status, 404, "a shredded person never comes back");
    assert_eq!(server.call("GET", &format!("/people/{kept}"), &t, None).await.status, 200);

    // Retention: both backups are of today, so keeping one a day removes the older.
    let prune = ["backup", "prune", "--from", target.to_str().unwrap(), "--keep-daily", "1", "--keep-weekly", "0", "--keep-monthly", "0"];
    let out = ok(&install.cli(&[&prune[..], &["--dry-run"]].concat(), None));
    assert!(out.starts_with("would remove 1 backup(s)") && out.contains(&old), "{out}");
    assert!(target.join(&old).exists());
    let out = ok(&install.cli(&prune, None));
    assert!(out.starts_with("removed 1 backup(s)"), "{out}");
    assert!(!target.join(&old).exists());
    let list = ok(&install.cli(&["backup", "list", "--from", target.to_str().unwrap()], None));
    assert_eq!(list.lines().count(), 2, "{list}");
}

fn zstd_decode(bytes: &[u8]) -> String {
    String::from_utf8(zstd::decode_all(bytes).unwrap()).unwrap()
}

/// Imports `n` synthetic people through the CLI, so a backup or restore takes a moment.
fn import_people(install: &Install, n: usize) {
    let mut csv = String::from("first_name,last_name,email\n");
    for i in 0..n {
        csv.push_str(&format!("Osoba{i},Testowa,osoba{i}@sekret.example\n"));
    }
    let path = install.root.join("people.csv");
    std::fs::write(&path, csv).unwrap();
    ok(&install.cli(&["import", path.to_str().unwrap(), "--owner", "admin"], None));
}

fn kill_after(mut cmd: std::process::Command, ms: u64) {
    let mut child =
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(ms));
    // Child::kill sends SIGKILL on Unix: no handler runs, as with `kill -9`.
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_creates_and_restores_leave_nothing_that_passes_for_complete() {
    let install = Install::new(Backend::Sqlite).await;
    import_people(&install, 3000);
    let (identity, recipient) = keygen(&install);
    let target = install.root.join("backups");
    let good = create(&install, &target, &recipient);
    let key = backup_key(&install);
    for ms in [40, 120, 250, 400] {
        kill_after(install.command(&["backup", "create", "--to", target.to_str().unwrap(), "--recipient", &recipient]), ms);
    }
    // Whatever list shows as complete verifies; an incomplete backup is refused by name.
    let list = ok(&install.cli(&["backup", "list", "--from", target.to_str().unwrap()], None));
    for line in list.lines().skip(1) {
        let id = line.split_whitespace().next().unwrap();
        let verify = install
            .cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--id", id, "--identity", identity.to_str().unwrap()], None);
        if line.contains("incomplete") {
            assert!(failed(&verify).contains("not complete"), "{line}");
        } else {
            assert!(line.contains("signed"), "{list}");
            ok(&verify);
        }
    }
    assert!(list.contains(&good));

    let restore =
        ["backup", "restore", "--from", target.to_str().unwrap(), "--id", &good, "--identity", identity.to_str().unwrap(), "--key", &key];
    for (n, ms) in [60u64, 150, 300, 500].into_iter().enumerate() {
        let fresh = bare(&install, &format!("killed-{n}"), None);
        kill_after(fresh.command(&restore), ms);
        // Read the database as it was left, without opening the installation (which would
        // write keys into an empty database).
        let db = raw_db(&fresh).await;
        let marker: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM restore_state").fetch_one(&db).await.unwrap_or(0);
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&db).await.unwrap_or(0);
        db.close().await;
        if marker > 0 {
            // Killed midway: nothing of the data committed, and the server refuses the database.
            assert_eq!(users, 0);
            assert!(failed(&fresh.cli(&["user", "list"], None)).contains("unfinished restore"));
            let serve = fresh.cli(&["serve", "--listen", "127.0.0.1:0"], None);
            assert!(failed(&serve).contains("unfinished restore"));
            if n % 2 == 0 {
                ok(&fresh.cli(&["backup", "discard-restore"], None));
            }
            ok(&fresh.cli(&restore, None));
        } else if users == 0 {
            // Killed before it began.
            ok(&fresh.cli(&restore, None));
        }
        let test = ok(&fresh.cli(&["export"], None));
        assert_eq!(test.lines().count(), 3001, "every person restored once");
    }
}

/// moto's S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    if std::process::Command::new("moto_server").arg("--help").output().is_err() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto_server did not start");
}

fn with_s3(mut cmd: std::process::Command, moto: &Moto) -> Output {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_to_s3_compatible_storage_verify_and_restore() {
    let Some(moto) = moto() else {
        eprintln!("skipped: moto_server is not installed (.ci/run installs it)");
        return;
    };
    let http = http_client();
    assert!(http.put(format!("{}/sejf-backups", moto.url)).send().await.unwrap().status().is_success());
    let install = Install::new(Backend::Sqlite).await;
    import_people(&install, 50);
    let (identity, recipient) = keygen(&install);
    let target = "s3://sejf-backups/site-a";
    let out = ok(&with_s3(install.command(&["backup", "create", "--to", target, "--recipient", &recipient]), &moto));
    assert!(out.contains("created on s3://sejf-backups/site-a") && out.contains("50 people"), "{out}");
    let id = out.lines().last().unwrap().split_whitespace().nth(1).unwrap().to_string();
    let list = ok(&with_s3(install.command(&["backup", "list", "--from", target]), &moto));
    assert!(list.contains(&id) && list.contains("signed"), "{list}");
    let verify = ["backup", "verify", "--from", target, "--identity", identity.to_str().unwrap(), "--restore-test"];
    let out = ok(&with_s3(install.command(&verify), &moto));
    assert!(out.contains("verified") && out.contains("restore test") && out.contains("passed"), "{out}");

    // (The parts are the bytes a directory target holds, whose tests check plaintext and
    // tampering; moto refuses unsigned reads, so this test does not fetch them raw.)
    let fresh = bare(&install, "from-s3", None);
    let key = backup_key(&install);
    let out = ok(&with_s3(
        fresh.command(&["backup", "restore", "--from", target, "--identity", identity.to_str().unwrap(), "--key", &key]),
        &moto,
    ));
    assert!(out.contains("50 people"), "{out}");
    assert_eq!(ok(&fresh.cli(&["export"], None)).lines().count(), 51);
    let out = ok(&with_s3(install.command(&["backup", "prune", "--from", target, "--dry-run"]), &moto));
    assert!(out.starts_with("would remove 0 backup(s)"), "{out}");
}

/// `backup_target` in config.toml: the server takes a backup by itself (the first at once), which
/// `backup list` and `verify` accept; a target it cannot write raises a `backup-failed` alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_scheduled_backups_and_alerts_when_it_cannot() {
    let install = Install::new(crate::harness::Backend::Sqlite).await;
    let (identity, recipient) = keygen(&install);
    let target = install.root.join("scheduled");
    let cfg = install.data_dir.join("config.toml");
    let base = std::fs::read_to_string(&cfg).unwrap();
    let schedule = format!("\nbackup_recipients = [\"{recipient}\"]\nbackup_target = \"{}\"\nbackup_every_hours = 24\n", target.display());
    std::fs::write(&cfg, format!("{base}{schedule}")).unwrap();
    let mut server = install.serve();
    let mut listed = String::new();
    for _ in 0..60 {
        let out = install.cli(&["backup", "list", "--from", target.to_str().unwrap()], None);
        listed = String::from_utf8_lossy(&out.stdout).to_string();
        // "no backups on …", then "incomplete (no manifest)" while it is written, then signed.
        if out.status.success() && listed.lines().any(|l| l.trim_end().ends_with("signed")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(listed.lines().any(|l| l.trim_end().ends_with("signed")), "no complete scheduled backup appeared: {listed}");
    server.stop();
    ok(&install.cli(&["backup", "verify", "--from", target.to_str().unwrap(), "--identity", identity.to_str().unwrap()], None));
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    assert_eq!(trail.matches("backup.create").count(), 1, "one backup per interval, not one per check");

    // A target that cannot be written (a file where a directory should be): an alert.
    let other = Install::new(crate::harness::Backend::Sqlite).await;
    let blocked = other.root.join("not-a-dir");
    std::fs::write(&blocked, b"x").unwrap();
    let cfg = other.data_dir.join("config.toml");
    let schedule = format!("\nbackup_recipients = [\"{recipient}\"]\nbackup_target = \"{}/sub\"\n", blocked.display());
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap() + &schedule).unwrap();
    let mut server = other.serve();
    let mut alerted = false;
    for _ in 0..60 {
        let trail = String::from_utf8_lossy(&other.cli(&["audit", "export"], None).stdout).to_string();
        if trail.contains("backup-failed") {
            alerted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    server.stop();
    assert!(alerted, "a failed scheduled backup raises no alert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_copies_go_to_their_own_target_and_backup_commands_are_audited() {
    let install = Install::new(Backend::Sqlite).await;
    let (identity, recipient) = keygen(&install);
    let target = install.root.join("backups");
    let keys = install.root.join("keys");
    let (t, k) = (target.to_str().unwrap(), keys.to_str().unwrap());
    let id_file = identity.to_str().unwrap();

    // Nothing tested yet.
    let out = ok(&install.cli(&["backup", "create", "--to", t, "--recipient", &recipient], None));
    let id = out.lines().last().unwrap().split_whitespace().nth(1).unwrap().to_string();
    let status = ok(&install.cli(&["backup", "status"], None));
    assert!(status.contains("last successful backup: 20") && status.contains("last successful restore test: never"), "{status}");

    // The key copy must not travel with the backups.
    let err = failed(&install.cli(&["backup", "create", "--to", t, "--recipient", &recipient, "--keys-to", t], None));
    assert!(err.contains("--keys-to must be a separate target"), "{err}");
    let out = ok(&install.cli(&["backup", "create", "--to", t, "--recipient", &recipient, "--keys-to", k], None));
    assert!(out.contains("copied master.key and config.toml"), "{out}");
    let second = out.lines().last().unwrap().split_whitespace().nth(1).unwrap().to_string();
    let listed = ok(&install.cli(&["backup", "list", "--from", k], None));
    assert!(listed.contains(&second) && listed.contains("key copy"), "{listed}");
    // The standard age tool opens the copy, and it is the installation's sealed key file.
    if std::process::Command::new("age").arg("--version").output().is_ok() {
        let part = keys.join(&second).join("master.key.file");
        let out = std::process::Command::new("age").args(["-d", "-i", id_file]).arg(&part).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let original = std::fs::read_to_string(install.data_dir.join("master.key")).unwrap();
        assert_eq!(zstd_decode(&out.stdout), original, "the key copy is the sealed master.key byte for byte");
    } else {
        eprintln!("skipped the age CLI check: `age` is not installed (.ci/run installs it)");
    }
    // A key copy is not a backup: verify and restore do not take it for one.
    let err = failed(&install.cli(&["backup", "verify", "--from", k, "--identity", id_file], None));
    assert!(err.contains("no complete backup"), "{err}");

    // The restore test's success is recorded, and shown.
    ok(&install.cli(&["backup", "verify", "--from", t, "--id", &id, "--identity", id_file, "--restore-test"], None));
    let status = ok(&install.cli(&["backup", "status"], None));
    assert!(status.contains("last successful restore test: 20"), "{status}");
    // A failed verify is recorded too.
    failed(&install.cli(&["backup", "verify", "--from", t, "--id", "20000101T000000Z-00000000", "--identity", id_file], None));
    let pruned =
        ok(&install.cli(&["backup", "prune", "--from", t, "--keep-daily", "1", "--keep-weekly", "0", "--keep-monthly", "0"], None));
    assert!(pruned.contains(&format!("removed 1 backup(s) on {t} ({id})")), "{pruned}");

    let trail = ok(&install.cli(&["audit", "export", "--format", "jsonl"], None));
    let events: Vec<Value> = trail.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let has = |action: &str, outcome: &str| events.iter().any(|e| e["event"]["action"] == action && e["event"]["outcome"] == outcome);
    for (action, outcome) in [
        ("backup.create", "ok"),
        ("backup.keys_export", "ok"),
        ("backup.list", "ok"),
        ("backup.verify", "ok"),
        ("backup.verify", "error"),
        ("backup.restore_test", "ok"),
        ("backup.prune", "ok"),
    ] {
        assert!(has(action, outcome), "no {action} ({outcome}) in the trail: {trail}");
    }
    // With the events from the CLI sealed by the next server, the trail verifies.
    drop(install.serve());
    assert!(ok(&install.cli(&["audit", "verify"], None)).contains("audit trail intact"));
}
