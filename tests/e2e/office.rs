//! CSV files as LibreOffice (Debian's `libreoffice-calc-nogui`, run headless) really writes and
//! reads them: a sheet saved as "Text CSV" with `;` and Windows-1250 and Polish headers imports,
//! and an `--excel` export opened by LibreOffice, saved as xlsx and saved back as CSV, imports
//! into another installation as the same people: Polish letters, phones and PESELs intact.
//! CI installs LibreOffice (.ci/run); without `soffice` this test fails, saying so.

use std::path::Path;
use std::process::Command;

use crate::harness::{Backend, Install};

/// LibreOffice's CSV filter options: separator `;` (59), text delimiter `"` (34), the
/// character set (76 UTF-8, 33 Windows-1250), data from line 1.
const UTF8_SEMICOLON: &str = "59,34,76,1";
const CP1250_SEMICOLON: &str = "59,34,33,1";

/// Runs `soffice --headless` with a profile of the test's own (parallel runs do not share one).
fn soffice(root: &Path, args: &[&str]) {
    let profile = format!("-env:UserInstallation=file://{}", root.join("lo-profile").display());
    let out = Command::new("soffice")
        .arg("--headless")
        .arg(&profile)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run soffice ({e}): install Debian's libreoffice-calc-nogui (.ci/run does)"));
    assert!(out.status.success(), "soffice {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Converts `file` in `root` to `to` (a LibreOffice filter spec), reading a CSV with `infilter`.
fn convert(root: &Path, file: &Path, to: &str, infilter: Option<&str>, outdir: &str) -> std::path::PathBuf {
    let dir = root.join(outdir);
    std::fs::create_dir_all(&dir).unwrap();
    let infilter = infilter.map(|o| format!("--infilter=CSV:{o}"));
    let mut args: Vec<&str> = infilter.iter().map(String::as_str).collect();
    args.extend(["--convert-to", to, "--outdir", dir.to_str().unwrap(), file.to_str().unwrap()]);
    soffice(root, &args);
    let ext = if to.starts_with("xlsx") { "xlsx" } else { "csv" };
    dir.join(file.with_extension(ext).file_name().unwrap())
}

fn run(install: &Install, args: &[&str]) -> (i32, String, String) {
    let out = install.cli(args, None);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libreoffice_csv_files_import_and_excel_exports_survive_a_round_trip_through_it() {
    let a = Install::new(Backend::Sqlite).await;
    a.add_user("ewa", "sales", &["north"]);
    let root = &a.root;

    // A sheet with Polish headers, saved by LibreOffice as "Text CSV", `;`, Windows-1250. The
    // PESEL of someone born in 2002 starts with 0, which the sheet drops (it reads numbers).
    let sheet = root.join("klienci.csv");
    std::fs::write(
        &sheet,
        "imię;nazwisko;e-mail;telefon;PESEL;miasto\n\
         Łukasz;Zięba;lukasz@zieba.pl;+48 601 222 333;44051401359;Łódź\n\
         Żaneta;Dąbrowska-Źrebiec;zaneta@example.pl;602 000 111;02270803624;Gdańsk\n",
    )
    .unwrap();
    let xlsx = convert(root, &sheet, "xlsx", Some(UTF8_SEMICOLON), "xlsx");
    let saved = convert(root, &xlsx, &format!("csv:Text - txt - csv (StarCalc):{CP1250_SEMICOLON}"), None, "cp1250");
    let bytes = std::fs::read(&saved).unwrap();
    assert!(String::from_utf8(bytes.clone()).is_err(), "LibreOffice wrote Windows-1250, not UTF-8");
    assert!(bytes.windows(4).any(|w| w == b"Zi\xEAb"), "ę is 0xEA in Windows-1250");
    let (code, out, err) = run(&a, &["import", saved.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 people"), "{out}");
    assert!(err.contains("Windows-1250") && err.contains("';'"), "{err}");
    let (_, people, _) = run(&a, &["export"]);
    assert!(people.contains("Łukasz,Zięba,lukasz@zieba.pl,+48601222333,44051401359,"), "{people}");
    assert!(people.contains("Żaneta,Dąbrowska-Źrebiec,zaneta@example.pl,+48602000111,02270803624,"), "the PESEL's 0 is back: {people}");

    // An --excel export, opened by LibreOffice, saved as xlsx and back as CSV, is the same people.
    let export = root.join("eksport.csv");
    let (code, _, err) = run(&a, &["export", "--excel", "--out", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let xlsx = convert(root, &export, "xlsx", Some(UTF8_SEMICOLON), "roundtrip-xlsx");
    let back = convert(root, &xlsx, &format!("csv:Text - txt - csv (StarCalc):{UTF8_SEMICOLON}"), None, "roundtrip-csv");
    let text = std::fs::read_to_string(&back).unwrap();
    assert!(text.contains("+48 601 222 333") && text.contains("+48 602 000 111"), "phones stay text: {text}");
    assert!(text.contains("Dąbrowska-Źrebiec") && text.contains("Łódź"), "{text}");
    let b = Install::new(Backend::Sqlite).await;
    b.add_user("ewa", "sales", &["north"]);
    let (code, out, err) = run(&b, &["import", back.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 people"), "{out}");
    assert_eq!(run(&b, &["export"]).1, people, "the same people after the round trip through LibreOffice");
}
