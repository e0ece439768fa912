//! The security promises a user can check: no plaintext at rest or in logs, ciphertexts bound
//! to their place, fail-closed start-up, strict input handling, and sign-in that holds.

use serde_json::json;
use sqlx::Row;

use crate::harness::{Backend, Install, contains_ci, files_under, person, raw_db};
use crate::on_both;

on_both!(
    no_plaintext_at_rest_or_in_logs,
    moved_ciphertexts_fail_with_an_integrity_error,
    bad_input_gets_problems_and_writes_nothing,
    sign_in_and_tokens,
    wrong_passphrase_changes_nothing,
    newer_schema_is_refused,
    throttling_and_own_sessions_over_http,
);

const SECRETS: [&str; 7] = [
    "ZbigniewTajny",
    "Wspaniałowski",
    "zbyszek.tajny@sekret.example",
    "48601987654",
    "44051401359",
    "Tajna notatka o kliencie",
    "Zakopiańska",
];

async fn no_plaintext_at_rest_or_in_logs(backend: Backend) {
    let install = Install::new(backend).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    let mut p = person(SECRETS[0], SECRETS[1], SECRETS[2], "+48 601 987 654", Some(SECRETS[4]));
    p["notes"] = json!(SECRETS[5]);
    p["address"] = json!({"street": SECRETS[6], "city": "Kraków", "country": "PL"});
    let r = server.call("POST", "/people", &t, Some(p)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    // Read, search, patch and list, so every path has run and logged.
    assert_eq!(server.call("GET", &format!("/people/{id}"), &t, None).await.body["first_name"], SECRETS[0]);
    assert_eq!(
        server.call("POST", "/people/search", &t, Some(json!({"email": SECRETS[2]}))).await.body["items"].as_array().unwrap().len(),
        1
    );
    server.call("POST", "/people/search", &t, Some(json!({"name": SECRETS[1]}))).await;
    server
        .call("POST", "/people", &t, Some(json!({"first_name": SECRETS[0], "national_id": "44051401358"})))
        .await
        .assert_problem(422, Some("national_id"));
    server.call("GET", "/people", &t, None).await;
    // While serving (WAL and shared memory live) and after a clean stop.
    for f in files_under(&install.data_dir) {
        let bytes = std::fs::read(&f).unwrap();
        for s in SECRETS {
            assert!(!contains_ci(&bytes, s), "{s:?} found in plaintext in {} while serving", f.display());
        }
    }
    server.stop();

    let mut checked = 0;
    for f in files_under(&install.root) {
        let bytes = std::fs::read(&f).unwrap();
        for s in SECRETS {
            assert!(!contains_ci(&bytes, s), "{s:?} found in plaintext in {}", f.display());
        }
        checked += 1;
    }
    assert!(checked >= 3, "expected the key, config, database and log files");
    if backend == Backend::Postgres {
        // The PostgreSQL rows, as a DBA would see them.
        let db = raw_db(&install).await;
        for table in ["people", "keystore", "person_tags", "person_name_tokens"] {
            let sql: &'static str = match table {
                "people" => "SELECT * FROM people",
                "keystore" => "SELECT * FROM keystore",
                "person_tags" => "SELECT * FROM person_tags",
                _ => "SELECT * FROM person_name_tokens",
            };
            for row in sqlx::query(sql).fetch_all(&db).await.unwrap() {
                for i in 0..row.len() {
                    let cell: Option<Vec<u8>> = row
                        .try_get::<Option<Vec<u8>>, _>(i)
                        .ok()
                        .flatten()
                        .or_else(|| row.try_get::<Option<String>, _>(i).ok().flatten().map(String::into_bytes));
                    if let Some(c) = cell {
                        for s in SECRETS {
                            assert!(!contains_ci(&c, s), "{s:?} in plaintext in {table}");
                        }
                    }
                }
            }
        }
    }
}

async fn moved_ciphertexts_fail_with_an_integrity_error(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let a = server.call("POST", "/people", &t, Some(person("Ala", "Same", "same@example.com", "601 222 001", None))).await;
    let b = server.call("POST", "/people", &t, Some(person("Ola", "Same", "same@example.com", "601 222 002", None))).await;
    let (a, b) = (a.body["id"].as_str().unwrap().to_string(), b.body["id"].as_str().unwrap().to_string());
    let db = raw_db(&install).await;
    let email_of = |id: String| {
        let db = db.clone();
        async move { sqlx::query("SELECT email FROM people WHERE id = $1").bind(id).fetch_one(&db).await.unwrap().get::<Vec<u8>, _>(0) }
    };
    let (ea, eb) = (email_of(a.clone()).await, email_of(b.clone()).await);
    assert_ne!(ea, eb, "the same e-mail must encrypt differently for two people");

    // A's e-mail ciphertext copied into B's row: B must fail, never show A's address.
    sqlx::query("UPDATE people SET email = $1 WHERE id = $2").bind(ea.clone()).bind(b.clone()).execute(&db).await.unwrap();
    let r = server.call("GET", &format!("/people/{b}"), &t, None).await;
    r.assert_problem(500, None);
    assert!(r.body["type"].as_str().unwrap().ends_with("/integrity"), "{}", r.body);
    assert!(!r.body.to_string().contains("same@example.com"));
    // A's e-mail ciphertext moved into A's own phone column: also refused.
    sqlx::query("UPDATE people SET phone = $1 WHERE id = $2").bind(ea).bind(a.clone()).execute(&db).await.unwrap();
    server.call("GET", &format!("/people/{a}"), &t, None).await.assert_problem(500, None);
    // Lists refuse too rather than return wrong data.
    assert_eq!(server.call("GET", "/people", &t, None).await.status, 500);
}

async fn bad_input_gets_problems_and_writes_nothing(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let post = |body: reqwest::Body, ct: &'static str| {
        let server = &server;
        let t = t.clone();
        async move {
            let res = server.client.post(server.url("/people")).bearer_auth(t).header("content-type", ct).body(body).send().await.unwrap();
            crate::harness::Resp::from(res).await
        }
    };
    post("{\"first_name\": ".into(), "application/json").await.assert_problem(400, None);
    post("{}".into(), "text/plain").await.assert_problem(415, Some("Content-Type"));
    let big = format!("{{\"first_name\": \"{}\"}}", "a".repeat(300 * 1024));
    post(big.into(), "application/json").await.assert_problem(413, None);
    let cases = [
        (json!({"first_name": "A", "colour": "red"}), "colour"),
        (json!({"first_name": "A", "national_id": "44051401358"}), "national_id"),
        (json!({"first_name": "A", "national_id": "44051401359", "birth_date": "1944-05-15"}), "birth_date"),
        (json!({"first_name": "A", "email": "a@@example.com"}), "email"),
        (json!({"first_name": "A", "phone": "12"}), "phone"),
        (json!({"first_name": "A", "phone": "call me"}), "phone"),
        (json!({"first_name": "A", "address": {"country": "XX"}}), "address.country"),
        (json!({"first_name": "A".repeat(101)}), "first_name"),
        (json!({"first_name": 42}), "first_name"),
        (json!({"email": "a@example.com"}), "last_name"),
        (json!({"first_name": "A", "company_id": "not-a-uuid"}), "company_id"),
        (json!({"first_name": "A", "company_id": uuid::Uuid::now_v7()}), "company_id"),
        (json!({"first_name": "A", "unit": "Not A Slug"}), "unit"),
    ];
    for (body, field) in cases {
        let r = server.call("POST", "/people", &t, Some(body.clone())).await;
        r.assert_problem(422, Some(field));
        assert!(r.body["detail"].as_str().unwrap().contains(field), "detail should name {field}: {}", r.body);
    }
    assert!(server.call("GET", "/people", &t, None).await.body["items"].as_array().unwrap().is_empty(), "nothing was written");
    // Errors never echo the refused value, whatever went wrong with it.
    for body in [
        json!({"first_name": "A", "email": "secret-value@@x"}),
        json!({"first_name": "A", "tags": "secret-value"}),
        json!({"first_name": ["secret-value"]}),
    ] {
        let r = server.call("POST", "/people", &t, Some(body)).await;
        assert_eq!(r.status, 422);
        assert!(!r.body.to_string().contains("secret-value"), "{}", r.body);
    }
    // An id that is not a UUID names no record.
    let r = server.call("GET", "/people/secret-value", &t, None).await;
    r.assert_problem(404, None);
    assert!(!r.body.to_string().contains("secret-value"));
    let r = server.call("GET", "/people?owner=secret-value", &t, None).await;
    r.assert_problem(400, Some("owner"));
    assert!(!r.body.to_string().contains("secret-value"));
}

async fn sign_in_and_tokens(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("ewa", "sales", &["north"]);
    let server = install.serve();
    // No token, a bad token: 401 problem. Health and the API description need none.
    let r = crate::harness::Resp::from(server.client.get(server.url("/people")).send().await.unwrap()).await;
    r.assert_problem(401, None);
    server.call("GET", "/me", "not-a-token", None).await.assert_problem(401, None);
    assert_eq!(server.client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200);
    let doc: serde_json::Value = server.client.get(server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/people/search"]["post"].is_object());
    assert_eq!(server.client.get(server.url("/docs/")).send().await.unwrap().status(), 200);

    // Unknown user and wrong password look the same.
    let login = |u: &str, p: &str| {
        let server = &server;
        let body = json!({"username": u, "password": p});
        async move { crate::harness::Resp::from(server.client.post(server.url("/auth/login")).json(&body).send().await.unwrap()).await }
    };
    let unknown = login("nobody", "whatever-password").await;
    let wrong = login("ewa", "whatever-password").await;
    unknown.assert_problem(401, None);
    assert_eq!(unknown.body, wrong.body);

    let token = server.login("ewa", &pw).await;
    let me = server.call("GET", "/me", &token, None).await;
    assert_eq!(me.body["username"], "ewa");
    assert_eq!(me.body["role"], "sales");
    assert_eq!(me.body["units"], json!(["north"]));
    // Security headers on every answer.
    for h in ["x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy", "cache-control"] {
        assert!(me.headers.get(h).is_some(), "missing {h}");
    }
    assert_eq!(server.call("POST", "/auth/logout", &token, None).await.status, 204);
    server.call("GET", "/me", &token, None).await.assert_problem(401, None);

    // Disabling a user or resetting a password with the CLI ends their sessions within a second.
    let token = server.login("ewa", &pw).await;
    assert_eq!(server.call("GET", "/me", &token, None).await.status, 200);
    let out = install.cli(&["user", "reset-password", "ewa", "--password-stdin"], Some("violet-harbour-92-cactus\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.refuses_within_a_second("/me", &token, "reset-password").await;
    let token = server.login("ewa", "violet-harbour-92-cactus").await;
    assert_eq!(server.call("GET", "/me", &token, None).await.status, 200);
    let out = install.cli(&["user", "disable", "ewa"], None);
    assert!(out.status.success());
    server.refuses_within_a_second("/me", &token, "disable").await;
    login("ewa", "violet-harbour-92-cactus").await.assert_problem(401, None);

    // The admin API is on the admin listener only.
    let admin = server.admin_token().await;
    assert_eq!(server.call("GET", "/users", &admin, None).await.status, 404);
    let users = server.call_with("GET", &format!("{}/api/v1/users", server.admin), &admin, None, &[]).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["items"].as_array().unwrap().len(), 2);
    let sales_on_admin = server.call_with("GET", &format!("{}/api/v1/users", server.admin), &token, None, &[]).await;
    assert_eq!(sales_on_admin.status, 401, "a disabled user's token is dead on every listener");
}

async fn wrong_passphrase_changes_nothing(backend: Backend) {
    let install = Install::new(backend).await;
    let before: Vec<(std::path::PathBuf, Vec<u8>)> =
        files_under(&install.data_dir).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
    let out = install.command(&["serve", "--listen", "127.0.0.1:0"]).env("SEJF_PASSPHRASE", "not the passphrase").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one clear line, got: {stderr}");
    assert!(lines[0].contains("passphrase"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing served");
    let after: Vec<(std::path::PathBuf, Vec<u8>)> =
        files_under(&install.data_dir).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
    assert_eq!(before, after, "the data directory is unchanged");
}

async fn newer_schema_is_refused(backend: Backend) {
    let install = Install::new(backend).await;
    let db = raw_db(&install).await;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let out = install.command(&["serve", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("9999") && stderr.contains("upgrade"), "{stderr}");
}

async fn throttling_and_own_sessions_over_http(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("olek", "sales", &["north"]);
    let server = install.serve();
    // Two sessions; each sees both and knows which is its own; one ends the other.
    let t1 = server.login("olek", &pw).await;
    let t2 = server.login("olek", &pw).await;
    let list = server.call("GET", "/auth/sessions", &t1, None).await;
    assert_eq!(list.status, 200);
    let items = list.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(server.call("DELETE", &format!("/auth/sessions/{other}"), &t1, None).await.status, 204);
    server.call("GET", "/me", &t2, None).await.assert_problem(401, None);
    // Someone else's session id is simply not found.
    let admin = server.admin_token().await;
    let admin_session = server.call("GET", "/auth/sessions", &admin, None).await.body["items"][0]["id"].as_str().unwrap().to_string();
    server.call("DELETE", &format!("/auth/sessions/{admin_session}"), &t1, None).await.assert_problem(404, None);
    assert_eq!(server.call("GET", "/me", &admin, None).await.status, 200);

    // Ten wrong passwords from one address lock that account from that address: 429 with
    // Retry-After, even for the right password and code.
    let login = |p: &str| {
        let server = &server;
        // The lock answers before any code is looked at, so a made-up one does.
        let body = json!({"username": "olek", "password": p, "totp": "123456"});
        async move { crate::harness::Resp::from(server.client.post(server.url("/auth/login")).json(&body).send().await.unwrap()).await }
    };
    for _ in 0..10 {
        login("wrong-password-1234").await.assert_problem(401, None);
    }
    let locked = login(&pw).await;
    locked.assert_problem(429, None);
    let retry: u64 = locked.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry > 800 && retry <= 900, "about 15 minutes: {retry}");
    // Existing sessions are unaffected; an administrator lifts the lock.
    assert_eq!(server.call("GET", "/me", &t1, None).await.status, 200);
    let out = install.cli(&["user", "unlock", "olek"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t3 = server.login("olek", &pw).await;
    assert_eq!(server.call("GET", "/me", &t3, None).await.status, 200);

    // Guesses at other names from the same address (one office behind one NAT) lock the
    // address, olek included; unlocking olek lifts the lock of the addresses olek was tried from.
    let mut address_locked = false;
    for i in 0..60 {
        let r = server.post_login(json!({"username": format!("nobody{i}"), "password": "wrong-password-1234", "totp": "123456"})).await;
        if r.status == 429 {
            address_locked = true;
            break;
        }
        r.assert_problem(401, None);
    }
    assert!(address_locked, "the address locks after enough failures");
    login(&pw).await.assert_problem(429, None);
    let out = install.cli(&["user", "unlock", "olek"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t4 = server.login("olek", &pw).await;
    assert_eq!(server.call("GET", "/me", &t4, None).await.status, 200);
}

on_both!(revocations_hold_on_every_server_within_a_second);

/// What one server changes holds on that server from the next request, and on another within a
/// second (each keeps a token it admitted for half a second, ADR 0029).
async fn revocations_hold_on_every_server_within_a_second(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("nina", "sales", &["north"]);
    let (a, b) = (install.serve(), install.serve());
    let admin = b.admin_token().await;
    // A session ended on one server is refused by the other.
    let t1 = a.login("nina", &pw).await;
    assert_eq!(a.call("GET", "/me", &t1, None).await.status, 200);
    assert_eq!(b.call("GET", "/me", &t1, None).await.status, 200);
    assert_eq!(b.call("POST", "/auth/logout", &t1, None).await.status, 204);
    b.call("GET", "/me", &t1, None).await.assert_problem(401, None);
    a.refuses_within_a_second("/me", &t1, "logout").await;
    // A role changed on one server: the other no longer serves the old role's token.
    let t2 = a.login("nina", &pw).await;
    assert_eq!(a.call("GET", "/me", &t2, None).await.status, 200);
    let patch = |body: serde_json::Value| {
        let (b, admin) = (&b, &admin);
        async move { b.call_with("PATCH", &format!("{}/api/v1/users/nina", b.admin), admin, Some(body), &[]).await }
    };
    let changed = patch(json!({"role": "support"})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    a.refuses_within_a_second("/me", &t2, "role change").await;
    let t3 = a.login("nina", &pw).await;
    let me = a.call("GET", "/me", &t3, None).await;
    assert_eq!((me.status, me.body["role"].clone()), (200, json!("support")), "{}", me.body);
    // A user disabled on one server is refused by the other.
    assert_eq!(patch(json!({"disabled": true})).await.status, 200);
    a.refuses_within_a_second("/me", &t3, "disable").await;
}
