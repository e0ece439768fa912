//! The web UI in a real browser: `tests/browser/flows.py` drives Debian's Chromium headless
//! through chromedriver against this server (sign-in with TOTP enrolment, a person created and
//! found, a call on the timeline, a deal moved, a PESEL revealed, the auditor's trail), with
//! axe-core and the CSP checked on every page. Screenshots go to `target/browser-screenshots/`.
//! `.ci/run` installs chromium, chromium-driver, selenium and axe-core; without them the test
//! says it was skipped.

use std::path::Path;

use crate::harness::{Backend, Install};

fn missing() -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !Path::new(bin).exists() {
            return Some(format!("{bin} is not installed"));
        }
    }
    if !root.join("tests/browser/node_modules/axe-core/axe.min.js").exists() {
        return Some("axe-core is not installed (npm ci --prefix tests/browser)".into());
    }
    let selenium = std::process::Command::new("python3").args(["-c", "import selenium"]).output();
    if !selenium.is_ok_and(|o| o.status.success()) {
        return Some("Python's selenium is not installed".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_flows_work_in_chromium_with_no_accessibility_or_csp_violation() {
    if let Some(why) = missing() {
        eprintln!("skipped the browser flows: {why} (.ci/run installs it)");
        return;
    }
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let sales = install.add_user("ola", "sales", &["north"]);
    let auditor = install.add_user("audra", "auditor", &["north"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = root.join("target/browser-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/browser/flows.py"))
        .env("SEJF_UI", &server.base)
        .env("SEJF_SALES", format!("ola:{sales}"))
        .env("SEJF_AUDITOR", format!("audra:{auditor}"))
        .env("SEJF_SHOTS", &shots)
        .env("SEJF_AXE", root.join("tests/browser/node_modules/axe-core/axe.min.js"))
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser flows failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("browser flows passed"), "{stdout}");
    for shot in ["sales-02-enrol-qr.png", "sales-10-timeline-call.png", "sales-12-pipeline-moved.png", "auditor-04-who-accessed.png"] {
        let len = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 5_000, "screenshot {shot} missing or empty");
    }
    // The reads the flows made are in the trail, as the API's would be.
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    assert!(trail.contains("person.reveal") && trail.contains("weryfikacja tożsamości do umowy"));
}
