//! The CLI contract: init, users, import with a validation report, export, exit codes.

use crate::harness::{BIN, Backend, Install, contains_ci, files_under};
use crate::on_both;

on_both!(import_validates_everything_first_and_export_round_trips, init_and_user_commands);

const GOOD: &str = "first_name,last_name,email,phone,national_id,birth_date,city,country,tags,notes\n\
Łukasz,Żółć,lukasz@example.pl,601 234 567,44051401359,1944-05-14,Łódź,PL,vip;newsletter,=HYPERLINK(\"x\")\n\
Anna,Nowak,anna@example.pl,+48 601 000 111,,,Kraków,PL,,\n";

async fn import_validates_everything_first_and_export_round_trips(backend: Backend) {
    let install = Install::new(backend).await;
    let csv = install.root.join("people.csv");
    std::fs::write(&csv, format!("{GOOD}Bad,Pesel,bad@example.pl,601 000 222,44051401358,,,,,\nNo,Email,not-an-email,,,,,,,\n")).unwrap();
    let out = install.cli(&["import", csv.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "--owner is required: people never silently go to the admin");
    let out = install.cli(&["import", csv.to_str().unwrap(), "--owner", "admin"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4, national_id"), "{err}");
    assert!(err.contains("line 5, email"), "{err}");
    assert!(err.lines().last().unwrap().contains("nothing was imported"), "{err}");
    assert!(!err.contains("44051401358") && !err.contains("not-an-email"), "the report never echoes values");

    let out = install.cli(&["import", csv.to_str().unwrap(), "--owner", "admin", "--skip-invalid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("imported 2 people, updated 0, skipped 0 duplicates and 2 invalid rows"), "{said}");

    let exported = install.root.join("export.csv");
    let out = install.cli(&["export", "--format", "csv", "--out", exported.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("Łukasz,Żółć,lukasz@example.pl,+48601234567,44051401359,1944-05-14"), "an E.164 phone keeps its form: {text}");
    assert!(text.contains("'=HYPERLINK"), "formulas are neutralised: {text}");
    assert!(text.contains("+48601000111") && !text.contains("'+48601000111"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&exported).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The export imports back as the same people (matched by e-mail, phone and PESEL, so
    // skipped), and plaintext still never reaches the data dir.
    let again = install.cli(&["import", exported.to_str().unwrap(), "--owner", "admin"], None);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stdout).contains("imported 0 people, updated 0, skipped 2 duplicates"));
    let out = install.cli(&["export"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("lukasz@example.pl").count(), 1);
    assert_eq!(text.matches("'=HYPERLINK").count(), 1);
    if backend == Backend::Sqlite {
        std::fs::remove_file(&exported).unwrap();
        std::fs::remove_file(&csv).unwrap();
        for f in files_under(&install.data_dir) {
            assert!(!contains_ci(&std::fs::read(&f).unwrap(), "lukasz@example.pl"), "{}", f.display());
        }
    }
}

async fn init_and_user_commands(backend: Backend) {
    let install = Install::new(backend).await;
    // init refuses an existing data directory and changes nothing.
    let out = install.cli(&["init"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(install.data_dir.join("master.key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    // Usage errors exit 2.
    let out = install.cli(&["user", "add", "x", "--role", "emperor"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "one line: {}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(BIN).arg("no-such-verb").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Generated passwords are printed once; units are created.
    let out = install.cli(&["user", "add", "kasia", "--role", "manager", "--unit", "pl-waw", "--unit", "north"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pw = stdout.lines().find_map(|l| l.strip_prefix("password (shown once): ")).unwrap().to_string();
    let out = install.cli(&["user", "add", "kasia", "--role", "sales", "--password-stdin"], Some("marble-otter-58-lagoon\n"));
    assert_eq!(out.status.code(), Some(1), "duplicate user");
    let out = install.cli(&["user", "add", "tomek", "--role", "sales", "--password-stdin"], Some("short\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    let out = install.cli(&["user", "set-role", "kasia", "sales"], None);
    assert!(out.status.success());
    let out = install.cli(&["user", "list", "--format", "json"], None);
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kasia = users.as_array().unwrap().iter().find(|u| u["username"] == "kasia").unwrap();
    assert_eq!(kasia["role"], "sales");
    assert_eq!(kasia["units"], serde_json::json!(["pl-waw", "north"]));
    let server = install.serve();
    let t = server.login("kasia", &pw).await;
    assert_eq!(server.call("GET", "/me", &t, None).await.body["role"], "sales");
    let out = install.cli(&["user", "disable", "nobody"], None);
    assert_eq!(out.status.code(), Some(1));
}

/// A mistyped alert destination stops the server at start, with one line naming the setting,
/// instead of alerts silently going nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_alert_destinations_are_refused_at_start() {
    let install = Install::new(Backend::Sqlite).await;
    let cfg = install.data_dir.join("config.toml");
    let original = std::fs::read_to_string(&cfg).unwrap();
    for (line, named) in [("alert_webhook = \"ftp://siem.example\"", "alert_webhook"), ("alert_syslog = \"no-port\"", "alert_syslog")] {
        std::fs::write(&cfg, format!("{original}\n{line}\n")).unwrap();
        let out = install.cli(&["serve", "--listen", "127.0.0.1:0"], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(named), "{err}");
    }
}

#[test]
fn completions_man_page_and_the_systemd_unit() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("_sejf()") && bash.contains("backup") && bash.contains("--keys-to"), "bash completion covers subcommands");
    assert!(run(&["completions", "zsh"]).starts_with("#compdef sejf"));
    assert!(run(&["completions", "fish"]).contains("complete -c sejf"));
    let man = run(&["man"]);
    assert!(man.contains(".TH sejf 1") && man.contains(".TH sejf-backup 1") && man.contains(".TH sejf-gdpr 1"), "one page per command");
    let bad = std::process::Command::new(BIN).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");

    // The hardened unit: systemd's own exposure score stays at or below 2.0 (OK).
    let unit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/sejf.service");
    match std::process::Command::new("systemd-analyze").args(["security", "--offline=yes", "--threshold=20"]).arg(&unit).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "exposure above 2.0:\n{text}");
            assert!(text.contains("Overall exposure level for sejf.service"), "{text}");
        }
        Err(_) => eprintln!("skipped the systemd-analyze check: systemd is not installed"),
    }
}
