//! Data in and out as Polish offices work: Excel's and LibreOffice's CSV files (`;`, BOM,
//! Windows-1250, Polish headers), exports Excel opens, re-imports that match people already
//! held, and imports that a kill leaves either empty or resumable.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::harness::{Backend, Install, raw_db};
use crate::on_both;

on_both!(
    polish_excel_files_import_and_excel_exports_open,
    reimports_match_people_already_held,
    a_file_refused_at_its_last_row_imports_nothing,
    a_killed_import_leaves_nothing_or_resumes_exactly
);

fn run(install: &Install, args: &[&str]) -> (i32, String, String) {
    let out = install.cli(args, None);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn people_count(install: &Install) -> i64 {
    let db = raw_db(install).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(&db).await.unwrap();
    db.close().await;
    n
}

async fn polish_excel_files_import_and_excel_exports_open(backend: Backend) {
    let install = Install::new(backend).await;
    install.add_user("ewa", "sales", &["north"]);
    // As Excel on Polish Windows saves "CSV (rozdzielany średnikami)": `;`, Windows-1250.
    let text = "Imię;Nazwisko;E-mail;Telefon;PESEL;Miasto;Uwagi\r\n\
                Łukasz;Żółć;lukasz@firma.pl;601 234 567;44051401359;Łódź;klient od 2019\r\n\
                Ewa;Świętochowska;ewa.s@firma.pl;+48 602 000 111;;Gdańsk;\r\n";
    let (cp1250, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
    assert!(!unmappable);
    let file = install.root.join("klienci.csv");
    std::fs::write(&file, &cp1250).unwrap();
    let (code, out, err) = run(&install, &["import", file.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 people"), "{out}");
    assert!(err.contains("Windows-1250") && err.contains("';'"), "the report names what it read: {err}");

    // A header Sejf does not know is refused, naming it; --map says where it goes.
    let other = install.root.join("inne.csv");
    std::fs::write(&other, "\u{feff}imię\tnazwisko\tNr kom.\nAnna\tKowalska\t603 111 222\n").unwrap();
    let (code, _, err) = run(&install, &["import", other.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 1);
    assert!(err.contains("\"Nr kom.\"") && err.contains("--map"), "{err}");
    let (code, _, err) = run(&install, &["import", other.to_str().unwrap(), "--owner", "ewa", "--map", "Nr kom.=mobile"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown field \"mobile\""), "{err}");
    let (code, out, err) = run(&install, &["import", other.to_str().unwrap(), "--owner", "ewa", "--map", "Nr kom.=phone"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 1 people"), "{out}");
    let (code, _, err) = run(&install, &["import", other.to_str().unwrap(), "--owner", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("no user named nobody"), "{err}");

    // --excel: `;`, a byte-order mark, CRLF; Polish letters and phones intact.
    let xl = install.root.join("eksport.csv");
    let (code, _, err) = run(&install, &["export", "--excel", "--out", xl.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&xl).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("first_name;last_name;email;phone;"), "{text}");
    assert!(text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF line ends");
    // Phones spaced, as a spreadsheet keeps them as text (+48601234567 would become a number).
    assert!(text.contains("Łukasz;Żółć;lukasz@firma.pl;+48 601 234 567;44051401359"), "{text}");
    assert!(text.contains("Świętochowska") && text.contains("Kowalska;;+48 603 111 222"), "{text}");
    // ...and it imports back as the same people.
    let (code, out, err) = run(&install, &["import", xl.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 0 people, updated 0, skipped 3 duplicates"), "{out}");
    assert_eq!(people_count(&install).await, 3);
}

async fn reimports_match_people_already_held(backend: Backend) {
    let install = Install::new(backend).await;
    install.add_user("ewa", "sales", &["north"]);
    let first = install.root.join("a.csv");
    std::fs::write(
        &first,
        "first_name,last_name,email,phone,national_id,notes\n\
         Jan,Kowal,jan@firma.pl,,,\n\
         Ola,Lis,,601 100 200,,\n\
         Piotr,Nowak,,,44051401359,\n",
    )
    .unwrap();
    let (code, out, err) = run(&install, &["import", first.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 3 people"), "{out}");

    // Matched by e-mail, by phone (written differently) and by PESEL; the new row goes in, and a
    // row repeating an earlier one of the same file is a duplicate too.
    let second = install.root.join("b.csv");
    std::fs::write(
        &second,
        "first_name,last_name,email,phone,national_id,notes\n\
         Jan,Kowal,JAN@firma.pl,,,znany\n\
         Ola,Lis,,+48601100200,,\n\
         Piotr,Nowak,,,44051401359,\n\
         Nowa,Osoba,nowa@firma.pl,,,\n\
         Nowa,Osoba,nowa@firma.pl,,,\n",
    )
    .unwrap();
    let (code, _, err) = run(&install, &["import", second.to_str().unwrap(), "--owner", "ewa", "--on-duplicate", "fail"]);
    assert_eq!(code, 1);
    assert!(err.contains("4 of 5 rows match") && err.contains("lines 2, 3, 4, 6"), "{err}");
    assert_eq!(people_count(&install).await, 3, "fail imports nothing");
    let (code, out, err) = run(&install, &["import", second.to_str().unwrap(), "--owner", "ewa", "--on-duplicate", "update"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 1 people, updated 3, skipped 1 duplicates"), "{out}");
    assert_eq!(people_count(&install).await, 4);
    let (_, exported, _) = run(&install, &["export"]);
    assert!(exported.contains("Jan,Kowal,JAN@firma.pl,") && exported.contains(",znany"), "the update took the row's values: {exported}");
    let (code, out, _) = run(&install, &["import", second.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0);
    assert!(out.contains("imported 0 people, updated 0, skipped 5 duplicates"), "{out}");
    assert_eq!(people_count(&install).await, 4);
}

/// The file is read once, and its first batches are sealed and sent before its last row is
/// read: a refusal found there (an invalid row, a duplicate under `--on-duplicate fail`) still
/// leaves nothing, and the report covers the whole file.
async fn a_file_refused_at_its_last_row_imports_nothing(backend: Backend) {
    const N: usize = 5_000;
    let install = Install::new(backend).await;
    install.add_user("ewa", "sales", &["north"]);
    let body: String = (0..N).map(|i| format!("Osoba{i},Zięba,osoba{i}@firma.pl\n")).collect();
    let invalid = install.root.join("invalid-last.csv");
    std::fs::write(&invalid, format!("first_name,last_name,email\n{body}Zła,Osoba,not-an-email\n")).unwrap();
    let (code, _, err) = run(&install, &["import", invalid.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("line {}, email", N + 2)), "the report names the last line: {err}");
    assert!(err.contains(&format!("1 of {} rows are invalid", N + 1)), "{err}");
    assert_eq!(people_count(&install).await, 0, "batches sent before the refusal were rolled back");

    let repeated = install.root.join("duplicate-last.csv");
    std::fs::write(&repeated, format!("first_name,last_name,email\n{body}Znowu,Zięba,OSOBA0@firma.pl\n")).unwrap();
    let (code, _, err) = run(&install, &["import", repeated.to_str().unwrap(), "--owner", "ewa", "--on-duplicate", "fail"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("1 of {} rows match", N + 1)) && err.contains(&format!("lines {}", N + 2)), "{err}");
    assert_eq!(people_count(&install).await, 0);

    // Skipping the invalid row imports the rest, in the same single reading.
    let (code, out, err) = run(&install, &["import", invalid.to_str().unwrap(), "--owner", "ewa", "--skip-invalid"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("imported {N} people")), "{out}");
    assert_eq!(people_count(&install).await, N as i64);
}

/// Starts an import, waits for its first progress line, and kills it with SIGKILL.
fn kill_mid_import(install: &Install, args: &[&str]) {
    let mut child = install.command(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let progress = line.starts_with("import: ");
        seen.push(line);
        if progress {
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import ended before it could be killed: {seen:?}");
}

async fn a_killed_import_leaves_nothing_or_resumes_exactly(backend: Backend) {
    const N: usize = 200_000;
    let install = Install::new(backend).await;
    install.add_user("ewa", "sales", &["north"]);
    let file = install.root.join("big.csv");
    let mut csv = String::from("first_name,last_name,email,city\n");
    for i in 0..N {
        csv.push_str(&format!("Osoba{i},Zięba,osoba{i}@firma.pl,Łódź\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();

    // All or nothing (the default): a kill leaves nobody.
    kill_mid_import(&install, &["import", path, "--owner", "ewa"]);
    assert_eq!(people_count(&install).await, 0, "a killed import leaves nothing visible");

    // --resume: batches commit with the file's progress; the next run continues exactly.
    kill_mid_import(&install, &["import", path, "--owner", "ewa", "--resume"]);
    let partial = people_count(&install).await;
    assert!((partial as usize) < N, "{partial}");
    let (code, out, err) = run(&install, &["import", path, "--owner", "ewa", "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("imported {} people", N as i64 - partial)), "{out}");
    assert_eq!(people_count(&install).await, N as i64);
    let (code, _, err) = run(&install, &["import", path, "--owner", "ewa", "--resume"]);
    assert_eq!(code, 1);
    assert!(err.contains("imported completely before"), "{err}");
    // Importing the same file again adds nobody.
    let (code, out, err) = run(&install, &["import", path, "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("imported 0 people, updated 0, skipped {N} duplicates")), "{out}");
    assert_eq!(people_count(&install).await, N as i64);
}

mod ops {
    use super::*;
    use crate::harness::{ADMIN_PASSWORD, PASSPHRASE};

    on_both!(readiness_and_metrics);

    /// `/readyz` answers 200 while the database answers and 503 (naming the check) when it does
    /// not; `/metrics` on the admin listener is Prometheus text that a parser accepts.
    async fn readiness_and_metrics(backend: Backend) {
        let install = Install::new(backend).await;
        let server = install.serve();
        let ready = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["checks"]["database"], "ok", "{body}");
        let t = server.staff_token(&install).await;
        server.call("GET", "/people/00000000-0000-4000-8000-000000000001", &t, None).await.assert_problem(404, None);
        // Not on the public listener.
        assert_eq!(server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().status(), 404);
        let m = server.client.get(format!("{}/metrics", server.admin)).send().await.unwrap();
        assert_eq!(m.status(), 200);
        assert!(m.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = m.text().await.unwrap();
        assert!(text.contains("sejf_http_requests_total{route=\"/api/v1/people/{id}\",method=\"GET\",status=\"404\"} 1"), "{text}");
        assert!(text.contains("sejf_ready 1") && text.contains("sejf_database_up 1"), "{text}");
        for name in
            ["sejf_audit_queue_depth ", "sejf_audit_seal_lag_seconds ", "sejf_store_connections_open ", "sejf_signin_failures_total "]
        {
            assert!(text.contains(name), "{name} missing: {text}");
        }
        assert!(text.contains("# TYPE sejf_alerts_total counter\nsejf_alerts_total 0"), "{text}");
        assert!(!text.contains("00000000-0000-4000-8000-000000000001"), "labels are route templates, never paths");
        let file = install.root.join("metrics.txt");
        std::fs::write(&file, &text).unwrap();
        let parse = "import sys\ntry:\n    from prometheus_client.parser import text_string_to_metric_families\nexcept ImportError:\n    sys.exit(3)\n\
            fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))\nassert any(f.name == 'sejf_http_requests' for f in fams), [f.name for f in fams]\n\
            assert any(f.name == 'sejf_alerts' and f.type == 'counter' for f in fams), [f.name for f in fams]\n";
        match std::process::Command::new("python3").args(["-c", parse, file.to_str().unwrap()]).output() {
            Ok(o) if o.status.code() == Some(3) => eprintln!("skipped: Python's prometheus_client is not installed"),
            Ok(o) => assert!(o.status.success(), "the Prometheus parser refused /metrics: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("skipped: python3 not runnable: {e}"),
        }

        if backend == Backend::Postgres {
            // Stop the database from the server's point of view: no new connections, existing
            // ones ended. /readyz turns 503 naming the database; back to 200 once it is back.
            let url = install.database_url.clone().unwrap();
            let name = url.rsplit('/').next().unwrap().to_string();
            let base = sejf_store::testing::test_database_url().unwrap();
            sqlx::any::install_default_drivers();
            let admin = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))).execute(&admin).await.unwrap();
            sqlx::query("SELECT CAST(COUNT(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity WHERE datname = $1")
                .bind(name.clone())
                .execute(&admin)
                .await
                .unwrap();
            let down = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
            assert_eq!(down.status(), 503);
            let body: serde_json::Value = down.json().await.unwrap();
            assert_eq!((body["status"].as_str(), body["checks"]["audit_writer"].as_str()), (Some("not ready"), Some("ok")), "{body}");
            assert_ne!(body["checks"]["database"], "ok", "{body}");
            assert_eq!(server.client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200, "liveness stays");
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))).execute(&admin).await.unwrap();
            admin.close().await;
            let mut back = 0;
            for _ in 0..50 {
                back = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap().status().as_u16();
                if back == 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(back, 200, "ready again once the database is back");
        }
    }

    /// `SEJF_PASSPHRASE_FILE` and `SEJF_ADMIN_PASSWORD_FILE` (systemd credentials): the content
    /// without its line break; setting a variable and its file at once is refused.
    #[test]
    fn secrets_come_from_files() {
        let root = sejf_store::testing::fresh_temp_dir().unwrap();
        let data = root.join("data");
        std::fs::write(root.join("pass"), format!("{PASSPHRASE}\n")).unwrap();
        std::fs::write(root.join("admin"), format!("{ADMIN_PASSWORD}\n")).unwrap();
        let sejf = |args: &[&str], env: &[(&str, std::path::PathBuf)]| {
            let mut c = std::process::Command::new(crate::harness::BIN);
            c.arg("--data-dir").arg(&data).args(args);
            for v in ["SEJF_PASSPHRASE", "SEJF_ADMIN_PASSWORD", "SEJF_DATABASE_URL", "SEJF_DATA_DIR", "SEJF_MASTER_KEY"] {
                c.env_remove(v);
            }
            for (k, v) in env {
                c.env(k, v);
            }
            c.output().unwrap()
        };
        let files = [("SEJF_PASSPHRASE_FILE", root.join("pass")), ("SEJF_ADMIN_PASSWORD_FILE", root.join("admin"))];
        let out = sejf(&["init"], &files);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("password from SEJF_ADMIN_PASSWORD"));
        let out = sejf(&["user", "list"], &files[..1]);
        assert!(out.status.success(), "the passphrase from the file opens the key: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("admin"));
        let mut c = std::process::Command::new(crate::harness::BIN);
        c.arg("--data-dir")
            .arg(&data)
            .args(["user", "list"])
            .env("SEJF_PASSPHRASE", PASSPHRASE)
            .env("SEJF_PASSPHRASE_FILE", root.join("pass"));
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("both SEJF_PASSPHRASE and SEJF_PASSPHRASE_FILE"));
        std::fs::write(root.join("empty"), "").unwrap();
        let out = sejf(&["user", "list"], &[("SEJF_PASSPHRASE_FILE", root.join("empty"))]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
        // Config keys come from SEJF_<KEY> too; a wrong value names the variable.
        let mut c = std::process::Command::new(crate::harness::BIN);
        c.arg("--data-dir")
            .arg(&data)
            .args(["user", "list"])
            .env("SEJF_PASSPHRASE_FILE", root.join("pass"))
            .env("SEJF_MAX_CONNECTIONS", "many");
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("SEJF_MAX_CONNECTIONS"), "{}", String::from_utf8_lossy(&out.stderr));
        let out = sejf(&["user", "list"], &[("SEJF_DATABASE_URL_FILE", root.join("missing"))]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("SEJF_DATABASE_URL_FILE"));
        let _ = std::fs::remove_dir_all(&root);
    }
}

/// The OpenAPI document is valid 3.1 as openapi-spec-validator (PyPI, installed by .ci/run)
/// sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_validates() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let doc = server.client.get(format!("{}/api/v1/openapi.json", server.base)).send().await.unwrap().text().await.unwrap();
    // The headers clients rely on are documented: ETag and Location on create, If-Match on PATCH.
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    for path in ["/api/v1/people", "/api/v1/companies", "/api/v1/deals", "/api/v1/activities"] {
        let headers = &v["paths"][path]["post"]["responses"]["201"]["headers"];
        assert!(headers["ETag"].is_object() && headers["Location"].is_object(), "{path}: {headers}");
        let item = format!("{path}/{{id}}");
        assert!(v["paths"][&item]["get"]["responses"]["200"]["headers"]["ETag"].is_object(), "{item}");
        let params = v["paths"][&item]["patch"]["parameters"].to_string();
        assert!(params.contains("\"If-Match\"") && params.contains("\"header\""), "{item}: {params}");
    }
    let file = install.root.join("openapi.json");
    std::fs::write(&file, doc).unwrap();
    let check = "import sys\ntry:\n    from openapi_spec_validator import OpenAPIV31SpecValidator\n    from openapi_spec_validator.readers import read_from_filename\nexcept ImportError:\n    sys.exit(3)\n\
        spec, _ = read_from_filename(sys.argv[1])\nerrors = list(OpenAPIV31SpecValidator(spec).iter_errors())\n\
        for e in errors[:20]:\n    print(e.message[:300], list(e.absolute_path))\nsys.exit(1 if errors else 0)\n";
    // The admin API has a document of its own, on the admin listener only.
    let admin = server.client.get(format!("{}/api/v1/openapi.json", server.admin)).send().await.unwrap().text().await.unwrap();
    let a: serde_json::Value = serde_json::from_str(&admin).unwrap();
    assert!(a["paths"]["/api/v1/users"]["post"].is_object() && v["paths"]["/api/v1/users"].is_null(), "admin paths apart");
    let admin_file = install.root.join("openapi-admin.json");
    std::fs::write(&admin_file, admin).unwrap();
    for f in [&file, &admin_file] {
        match std::process::Command::new("python3").args(["-c", check, f.to_str().unwrap()]).output() {
            Ok(o) if o.status.code() == Some(3) => eprintln!("skipped: openapi-spec-validator is not installed"),
            Ok(o) => assert!(
                o.status.success(),
                "the OpenAPI document {} is invalid:\n{}{}",
                f.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("skipped: python3 not runnable: {e}"),
        }
    }
}

/// A problem's `type` URI resolves to a short page saying what it means.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problem_types_resolve_to_a_page() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let r = server.call("POST", "/people", &t, Some(serde_json::json!({"email": "not an address"}))).await;
    let kind = r.body["type"].as_str().unwrap().to_string();
    assert_eq!(kind, "/problems/validation", "{}", r.body);
    let page = server.client.get(format!("{}{kind}", server.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let text = page.text().await.unwrap();
    assert!(text.contains("<h1>Invalid input</h1>") && text.contains("HTTP 422"), "{text}");
    let none = server.client.get(format!("{}/problems/no-such-thing", server.base)).send().await.unwrap();
    assert_eq!(none.status(), 404);
}

/// A client generated from the OpenAPI document (openapi-python-client, installed by .ci/run)
/// signs in with TOTP enrolment and takes a person through create, read, update with If-Match,
/// a stale update and delete: `tests/client/crud.py`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_openapi_document_works() {
    let installed = std::process::Command::new("openapi-python-client").arg("--version").output();
    if !installed.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: openapi-python-client is not installed (.ci/run installs it)");
        return;
    }
    let install = Install::new(Backend::Sqlite).await;
    let password = install.add_user("klient", "sales", &["north"]);
    let server = install.serve();
    let work = install.root.join("client");
    std::fs::create_dir_all(&work).unwrap();
    let out = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/crud.py"))
        .env("SEJF_API", &server.base)
        .env("SEJF_USER", format!("klient:{password}"))
        .env("SEJF_WORK", &work)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the generated client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("generated client passed"), "{stdout}");
}
