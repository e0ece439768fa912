//! The audit trail end to end: every read and write leaves the right event (and no personal
//! value), a tampered trail fails `sejf audit verify` naming the first bad sequence number, a
//! trail that cannot be written stops the data, and inclusion proofs check without the database.

use serde_json::{Value, json};

use crate::harness::{Backend, Install, person, raw_db};
use crate::on_both;

on_both!(a_session_leaves_exactly_its_trail, tampering_is_named_by_sequence_number, no_audit_no_data);

async fn a_session_leaves_exactly_its_trail(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("aud", "auditor", &["main"]);
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    let p = server
        .call("POST", "/people", &t, Some(person("Zuzanna", "Tajemnicza", "zuzanna@sekret.example", "601 555 000", Some("44051401359"))))
        .await;
    let id = p.body["id"].as_str().unwrap().to_string();
    server.call("GET", &format!("/people/{id}"), &t, None).await;
    let found = server.call("POST", "/people/search", &t, Some(json!({"email": "zuzanna@sekret.example"}))).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let patched = server
        .call_with("PATCH", &server.url(&format!("/people/{id}")), &t, Some(json!({"notes": "VIP"})), &[("if-match", &p.etag())])
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(server.call("DELETE", &format!("/people/{id}"), &t, None).await.status, 204);

    // The auditor reads the trail (and, like everyone, leaves a sign-in event doing so).
    let ta = server.login("aud", &pw).await;
    let trail = server.call("GET", &format!("/audit?subject={id}&limit=500"), &ta, None).await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    let actions: Vec<&str> = trail.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["person.create", "person.read", "person.read", "person.update", "person.delete"], "{}", trail.body);
    for e in trail.body["items"].as_array().unwrap() {
        assert_eq!(e["actor"], "mgr");
        assert_eq!(e["role"], "manager");
        assert_eq!(e["subject_id"], id.as_str());
        assert_eq!(e["client"], "127.0.0.1");
        assert!(!e["request_id"].as_str().unwrap().is_empty());
    }
    let read = &trail.body["items"][1];
    assert_eq!(read["fields"], json!(["first_name", "last_name", "email", "phone", "national_id"]));
    let searches = server.call("GET", "/audit?action=people.search", &ta, None).await;
    assert_eq!(searches.body["items"][0]["detail"], "results=1");
    let logins = server.call("GET", "/audit?action=auth.login&actor=mgr", &ta, None).await;
    assert!(logins.body["items"].as_array().unwrap().iter().any(|e| e["outcome"] == "ok"));
    // Sales may not read the trail.
    server.call("GET", "/audit", &t, None).await.assert_problem(403, None);

    server.stop();
    let export = install.cli(&["audit", "export", "--format", "jsonl"], None);
    assert!(export.status.success());
    let text = String::from_utf8_lossy(&export.stdout).to_lowercase();
    assert!(text.lines().count() >= 8);
    for secret in ["zuzanna", "tajemnicza", "sekret.example", "601555000", "44051401359", "vip"] {
        assert!(!text.contains(secret), "{secret:?} in the audit trail");
    }
    let syslog = install.cli(&["audit", "export", "--format", "syslog", "--after", "2"], None);
    let first = String::from_utf8_lossy(&syslog.stdout).lines().next().unwrap().to_string();
    assert!(first.starts_with("<8") && first.contains(" sejf ") && first.contains("seq=\"3\""), "{first}");
}

async fn tampering_is_named_by_sequence_number(backend: Backend) {
    let install = Install::new(backend).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    for i in 0..6 {
        let p = server
            .call("POST", "/people", &t, Some(person("Jan", &format!("N{i}"), &format!("j{i}@example.pl"), "601 000 001", None)))
            .await;
        server.call("GET", &format!("/people/{}", p.body["id"].as_str().unwrap()), &t, None).await;
    }
    server.stop();
    let verify = || {
        let out = install.cli(&["audit", "verify"], None);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, text) = verify();
    assert_eq!(code, Some(0), "{text}");
    let total: i64 = text.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(total >= 14, "{text}");

    let db = raw_db(&install).await;
    // The database refuses changes to the trail...
    assert!(sqlx::query("UPDATE audit_events SET body = '[]' WHERE seq = 3").execute(&db).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_events WHERE seq = 3").execute(&db).await.is_err());
    // ...so an attacker with SQL access first removes the guard.
    match backend {
        Backend::Sqlite => {
            sqlx::query("DROP TRIGGER audit_events_no_update").execute(&db).await.unwrap();
            sqlx::query("DROP TRIGGER audit_events_no_delete").execute(&db).await.unwrap();
        }
        Backend::Postgres => {
            sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER USER").execute(&db).await.unwrap();
        }
    }
    let expect_bad = |seq: i64| {
        let (code, text) = verify();
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains(&format!("seq {seq}:")), "expected seq {seq}: {text}");
    };
    // The columns searches filter on are generated from the signed body: they cannot be changed alone.
    assert!(sqlx::query("UPDATE audit_events SET actor = 'mgs' WHERE seq = 5").execute(&db).await.is_err());
    // One changed byte.
    sqlx::query("UPDATE audit_events SET body = replace(body, '\"mgr\"', '\"mgs\"') WHERE seq = 5").execute(&db).await.unwrap();
    expect_bad(5);
    sqlx::query("UPDATE audit_events SET body = replace(body, '\"mgs\"', '\"mgr\"') WHERE seq = 5").execute(&db).await.unwrap();
    assert_eq!(verify().0, Some(0));
    // Two events swapped.
    sqlx::query("UPDATE audit_events SET seq = -7 WHERE seq = 7").execute(&db).await.unwrap();
    sqlx::query("UPDATE audit_events SET seq = 7 WHERE seq = 8").execute(&db).await.unwrap();
    sqlx::query("UPDATE audit_events SET seq = 8 WHERE seq = -7").execute(&db).await.unwrap();
    expect_bad(7);
    sqlx::query("UPDATE audit_events SET seq = -7 WHERE seq = 7").execute(&db).await.unwrap();
    sqlx::query("UPDATE audit_events SET seq = 7 WHERE seq = 8").execute(&db).await.unwrap();
    sqlx::query("UPDATE audit_events SET seq = 8 WHERE seq = -7").execute(&db).await.unwrap();
    assert_eq!(verify().0, Some(0));
    // The last ten events deleted: the signed checkpoint and the witness still cover them.
    sqlx::query("DELETE FROM audit_events WHERE seq > $1").bind(total - 10).execute(&db).await.unwrap();
    expect_bad(total - 9);
    // And one deleted in the middle is named before that.
    sqlx::query("DELETE FROM audit_events WHERE seq = 3").execute(&db).await.unwrap();
    expect_bad(3);
}

async fn no_audit_no_data(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let p = server.call("POST", "/people", &t, Some(person("Ola", "Nieczytelna", "ola@example.pl", "601 000 002", None))).await;
    let id = p.body["id"].as_str().unwrap().to_string();
    let db = raw_db(&install).await;
    match backend {
        Backend::Sqlite => {
            sqlx::query("CREATE TRIGGER block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                .execute(&db)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            sqlx::query("CREATE FUNCTION block_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$")
                .execute(&db)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER block_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION block_audit()")
                .execute(&db)
                .await
                .unwrap();
        }
    }
    let r = server.call("GET", &format!("/people/{id}"), &t, None).await;
    r.assert_problem(503, None);
    assert!(!r.body.to_string().contains("Nieczytelna") && !r.body.to_string().contains("ola@"));
    let l = server.call("GET", "/people", &t, None).await;
    assert_eq!(l.status, 503);
    // A write whose event cannot be written does not happen.
    let w = server.call("POST", "/people", &t, Some(person("Nowa", "Osoba", "nowa@example.pl", "601 000 003", None))).await;
    assert_eq!(w.status, 503);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(&db).await.unwrap();
    assert_eq!(count, 1, "nothing was written without its audit event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclusion_proofs_check_without_the_database() {
    let install = Install::new(Backend::Sqlite).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    server.call("POST", "/people", &t, Some(person("Ala", "Dowód", "ala@example.pl", "601 000 004", None))).await;
    server.stop();
    let out = install.cli(&["audit", "prove", "2"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof = install.root.join("proof.json");
    std::fs::write(&proof, &out.stdout).unwrap();
    let key = String::from_utf8_lossy(&install.cli(&["audit", "public-key"], None).stdout).trim().to_string();
    // check-proof needs neither the database nor the passphrase.
    let check = std::process::Command::new(crate::harness::BIN)
        .args(["audit", "check-proof", proof.to_str().unwrap(), "--key", &key])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let mut forged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    forged["event"]["actor"] = json!("someone-else");
    std::fs::write(&proof, serde_json::to_vec(&forged).unwrap()).unwrap();
    let check = std::process::Command::new(crate::harness::BIN)
        .args(["audit", "check-proof", proof.to_str().unwrap(), "--key", &key])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
}

on_both!(read_budgets_stop_mass_reading, honeytokens_raise_alerts, refused_requests_are_audited);

async fn read_budgets_stop_mass_reading(backend: Backend) {
    let install = Install::new(backend).await;
    let cfg = install.data_dir.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\nread_budgets = { sales = 3 }\n");
    std::fs::write(&cfg, text).unwrap();
    let pw = install.add_user("sid", "sales", &["north"]);
    let pa = install.add_user("aud", "auditor", &["main"]);
    let server = install.serve();
    let t = server.login("sid", &pw).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let p = server
            .call("POST", "/people", &t, Some(person("Ktoś", &format!("Inny{i}"), &format!("k{i}@example.pl"), "601 000 010", None)))
            .await;
        ids.push(p.body["id"].as_str().unwrap().to_string());
    }
    for id in &ids[..3] {
        assert_eq!(server.call("GET", &format!("/people/{id}"), &t, None).await.status, 200);
    }
    assert_eq!(server.call("GET", &format!("/people/{}", ids[0]), &t, None).await.status, 200, "re-reading costs nothing");
    let over = server.call("GET", &format!("/people/{}", ids[3]), &t, None).await;
    over.assert_problem(429, None);
    assert!(over.body["type"].as_str().unwrap().ends_with("/read-budget"));
    assert!(!over.body.to_string().contains("Inny3"));
    // A list of the rest is refused whole.
    assert_eq!(server.call("GET", "/people", &t, None).await.status, 429);
    let ta = server.login("aud", &pa).await;
    let alerts = server.call("GET", "/alerts", &ta, None).await;
    assert_eq!(alerts.status, 200);
    let a = alerts.body["items"].as_array().unwrap().iter().find(|a| a["resource_id"] == "read-budget").unwrap().clone();
    assert_eq!(a["actor"], "sid");
    assert_eq!(a["outcome"], "high");
}

async fn honeytokens_raise_alerts(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("hana", "sales", &["north"]);
    let pa = install.add_user("aud", "auditor", &["main"]);
    let out = install.cli(&["honeytoken", "add", "--owner", "hana"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bait = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // Alerts also go to a webhook and a syslog collector.
    let (hook_url, mut hook) = webhook_receiver().await;
    let syslog = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap()
        + &format!(
            "\nalert_webhook = \"{hook_url}\"\nalert_webhook_secret = \"{}\"\nalert_syslog = \"{}\"\n",
            crate::audit::HOOK_SECRET,
            syslog.local_addr().unwrap()
        );
    std::fs::write(&cfg, text).unwrap();
    let server = install.serve();
    let t = server.login("hana", &pw).await;
    let ta = server.login("aud", &pa).await;
    let client = server.client.clone();
    let url = server.url("/alerts?limit=500");
    let count = move |_: &crate::harness::Server, ta: String| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let r = crate::harness::Resp::from(client.get(url).bearer_auth(ta).send().await.unwrap()).await;
            r.body["items"].as_array().unwrap().iter().filter(|a| a["resource_id"] == "honeytoken").count()
        }
    };
    assert_eq!(count(&server, ta.clone()).await, 0);
    // It looks like anyone else…
    let got = server.call("GET", &format!("/people/{bait}"), &t, None).await;
    assert_eq!(got.status, 200);
    assert!(got.body["email"].as_str().unwrap().contains('@'));
    // …and every touch is reported at once, naming the actor: in the trail, to the webhook and
    // to syslog, within a second. Only the operator's sinks learn which person it was.
    assert_eq!(count(&server, ta.clone()).await, 1);
    // (The sinks also receive the audit trail's signed checkpoints; the alert is what matters here.)
    let posted = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        loop {
            let posted: serde_json::Value = serde_json::from_str(&hook.recv().await.unwrap()).unwrap();
            if posted["type"] == "sejf.alert" {
                return posted;
            }
        }
    })
    .await
    .expect("no webhook call within 1 s");
    assert_eq!((posted["kind"].as_str(), posted["severity"].as_str()), (Some("honeytoken"), Some("high")));
    assert_eq!((posted["actor"].as_str(), posted["subject_id"].as_str()), (Some("hana"), Some(bait.as_str())));
    assert_eq!(posted["request_id"].as_str(), got.headers.get("x-request-id").and_then(|v| v.to_str().ok()));
    assert!(!posted.to_string().contains(got.body["email"].as_str().unwrap()), "no personal value in an alert: {posted}");
    let mut buf = vec![0u8; 8192];
    let line = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        loop {
            let n = syslog.recv(&mut buf).await.unwrap();
            let line = String::from_utf8_lossy(&buf[..n]).to_string();
            if !line.contains(" sejf - checkpoint ") {
                return line;
            }
        }
    })
    .await
    .expect("no syslog message within 1 s");
    assert!(line.starts_with("<82>1 ") && line.contains(" sejf - alert [sejf@32473 kind=\"honeytoken\" severity=\"high\"]"), "{line}");
    assert!(line.contains("\"actor\":\"hana\""), "{line}");
    server.call("GET", "/people", &t, None).await;
    assert_eq!(count(&server, ta.clone()).await, 2);
    let alerts = server.call("GET", "/alerts", &ta, None).await;
    let a = &alerts.body["items"][0];
    assert_eq!((a["actor"].as_str(), a["subject_id"].as_str(), a["outcome"].as_str()), (Some("hana"), Some(""), Some("high")));
    assert_eq!((a["detail"].as_str(), a["request_id"].as_str()), (Some("via=get"), Some("")), "the trail does not point at the bait");
    assert!(install.cli(&["export"], None).status.success());
    assert_eq!(count(&server, ta.clone()).await, 3, "exports are reported too");
}

/// A bare HTTP/1.1 server that answers 200 to every request and hands over each body.
pub(crate) async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/sejf", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                            .unwrap_or(0);
                        if body.len() >= len {
                            assert!(head.starts_with("POST /hooks/sejf "), "{head}");
                            let _ = tx.send(body.to_string());
                            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, rx)
}

async fn refused_requests_are_audited(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("sara", "sales", &["north"]);
    let pa = install.add_user("aud", "auditor", &["main"]);
    let server = install.serve();
    let staff = server.staff_token(&install).await;
    let hidden = server.call("POST", "/people", &staff, Some(person("Ukryta", "Osoba", "ukryta@example.pl", "601 000 444", None))).await;
    let hidden_id = hidden.body["id"].as_str().unwrap().to_string();
    let t = server.login("sara", &pw).await;
    server.call("GET", &format!("/people/{hidden_id}"), &t, None).await.assert_problem(404, None);
    server.call("GET", "/audit", &t, None).await.assert_problem(403, None);
    // Bad input is refused too, and recorded without the input itself.
    let bad = server.call("POST", "/people", &t, Some(person("Zła", "Data", "not-an-email", "601 000 445", None))).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    server.call("GET", "/people", "not-a-token", None).await.assert_problem(401, None);
    // Whatever a caller puts where an id belongs stays out of the trail.
    let odd = server.call("GET", "/people/jan.kowalski@example.pl", &t, None).await;
    assert!(odd.status >= 400 && odd.status < 500, "{}", odd.body);
    let ta = server.login("aud", &pa).await;
    let trail = server.call("GET", "/audit?action=request.refused", &ta, None).await;
    let odd_status = odd.status.to_string();
    let items = trail.body["items"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> =
        items.iter().map(|e| (e["actor"].as_str().unwrap(), e["outcome"].as_str().unwrap(), e["resource_id"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        vec![
            ("sara", "404", format!("GET /api/v1/people/{hidden_id}").as_str()),
            ("sara", "403", "GET /api/v1/audit"),
            ("sara", "422", "POST /api/v1/people"),
            ("", "401", "GET /api/v1/people"),
            ("sara", odd_status.as_str(), "GET /api/v1/people/{id}"),
        ],
        "{}",
        trail.body
    );
    assert!(items.iter().all(|e| e["client"] == "127.0.0.1" && !e["request_id"].as_str().unwrap().is_empty()), "{}", trail.body);
    for value in ["not-an-email", "kowalski"] {
        assert!(!trail.body.to_string().contains(value), "no input value in the trail: {}", trail.body);
    }
    // Reading the trail is itself in the trail: who read it, with which filters, how much.
    let reads = server.call("GET", "/audit?action=audit.read", &ta, None).await;
    let reads = reads.body["items"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!((reads[0]["actor"].as_str(), reads[0]["resource_id"].as_str()), (Some("aud"), Some("action")));
    assert_eq!(reads[0]["detail"], "results=5 after=0");
    // A subject filter that is not a person id is not written into the reader's event.
    server.call("GET", "/audit?subject=jan.kowalski@example.pl", &ta, None).await;
    let reads = server.call("GET", "/audit?action=audit.read", &ta, None).await;
    assert!(!reads.body.to_string().contains("kowalski"), "{}", reads.body);
    let last = reads.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["resource_id"].as_str(), last["subject_id"].as_str()), (Some("subject"), Some("")), "{}", reads.body);
}

/// The shared secret the tests' webhook receivers check signatures with.
pub(crate) const HOOK_SECRET: &str = "test webhook secret, 32 characters or more";

/// A webhook receiver that answers 503 to the first POST and 200 after; yields (headers, body).
async fn flaky_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<(String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/sejf", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut seen = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                        .unwrap_or(0);
                    if body.len() >= len {
                        seen += 1;
                        let _ = tx.send((head.to_ascii_lowercase(), body.to_string()));
                        let answer: &[u8] = if seen == 1 {
                            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        } else {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        };
                        let _ = conn.write_all(answer).await;
                        break;
                    }
                }
            }
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_posts_are_signed_and_retried_after_a_failure() {
    use hmac::Mac;
    let install = crate::harness::Install::new(Backend::Sqlite).await;
    // Without a secret the server refuses to start: an unsigned webhook is a configuration error.
    let cfg = install.data_dir.join("config.toml");
    let base = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{base}\nalert_webhook = \"http://127.0.0.1:9/x\"\n")).unwrap();
    let out = install.cli(&["serve", "--listen", "127.0.0.1:0"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("alert_webhook_secret"), "{}", String::from_utf8_lossy(&out.stderr));

    let (url, mut rx) = flaky_receiver().await;
    std::fs::write(&cfg, format!("{base}\naudit_seal_secs = 1\nalert_webhook = \"{url}\"\nalert_webhook_secret = \"{HOOK_SECRET}\"\n"))
        .unwrap();
    let server = install.serve();
    // A sign-in is an event; the sealer's next checkpoint is POSTed: refused with a 503, then retried a second later.
    server.admin_token().await;
    let wait = std::time::Duration::from_secs(15);
    let (head1, body1) = tokio::time::timeout(wait, rx.recv()).await.expect("no webhook POST").unwrap();
    let (head2, body2) = tokio::time::timeout(wait, rx.recv()).await.expect("no retry after the 503").unwrap();
    drop(server);
    assert_eq!(body1, body2, "the retry sends the same notice");
    let sig = |head: &str| head.lines().find_map(|l| l.strip_prefix("sejf-signature:").map(|v| v.trim().to_string())).unwrap();
    assert_eq!(sig(&head1), sig(&head2), "under the same signature");
    let sig = sig(&head2);
    let (t, v1) = sig.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body2}").as_bytes());
    assert_eq!(v1.strip_prefix("v1=").unwrap(), hex::encode(mac.finalize().into_bytes()), "HMAC-SHA256 over t.body");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - t.parse::<i64>().unwrap()).abs() < 60, "a current timestamp");
    let posted: Value = serde_json::from_str(&body2).unwrap();
    assert_eq!(posted["type"], "sejf.checkpoint");
}
