//! Statelessness: two servers on one PostgreSQL serve the same data consistently; and the demo.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::{BIN, Backend, Install, person};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_agree() {
    if sejf_store::testing::test_database_url().is_none() {
        eprintln!("skipped: SEJF_TEST_DATABASE_URL not set");
        return;
    }
    let install = Install::new(Backend::Postgres).await;
    let (a, b) = (install.serve(), install.serve());
    let ta = a.staff_token(&install).await;
    // A token issued by one server works on the other: sessions live in the database.
    let created = a.call("POST", "/people", &ta, Some(person("Wspólna", "Osoba", "shared@example.pl", "601 777 888", None))).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let on_b = b.call("GET", &format!("/people/{id}"), &ta, None).await;
    assert_eq!(on_b.status, 200);
    assert_eq!(on_b.body["email"], "shared@example.pl");
    // An update through B makes A's copy stale: optimistic concurrency holds across servers.
    let etag = created.etag();
    let via_b =
        b.call_with("PATCH", &b.url(&format!("/people/{id}")), &ta, Some(json!({"last_name": "Zmieniona"})), &[("if-match", &etag)]).await;
    assert_eq!(via_b.status, 200);
    let via_a =
        a.call_with("PATCH", &a.url(&format!("/people/{id}")), &ta, Some(json!({"last_name": "Inna"})), &[("if-match", &etag)]).await;
    via_a.assert_problem(412, None);
    let found = a.call("POST", "/people/search", &ta, Some(json!({"name": "zmieniona"}))).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(b.call("POST", "/auth/logout", &ta, None).await.status, 204);
    a.call("GET", "/me", &ta, None).await.assert_problem(401, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_synthetic_customers_to_every_role() {
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--people", "120"])
        .env_remove("SEJF_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut users = Vec::new();
    let mut base = None;
    let mut data_dir = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Sejf demo: throwaway data in ") {
            data_dir = rest.split(" (").next().map(std::path::PathBuf::from);
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("  ") && parts.len() == 3 {
            users.push((parts[0].to_string(), parts[1].to_string(), parts[2].to_string()));
        }
        if let Some(a) = line.strip_prefix("listening on ") {
            base = Some(a.to_string());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let base = base.expect("demo did not start");
    let roles: Vec<&str> = users.iter().map(|u| u.1.as_str()).collect();
    for r in ["admin", "manager", "sales", "support", "auditor", "dpo"] {
        assert!(roles.contains(&r), "no {r} user in {users:?}");
    }
    let client = reqwest::Client::new();
    let (_, _, pw) = users.iter().find(|u| u.0 == "sales").unwrap();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "sales", "password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let people: serde_json::Value =
        client.get(format!("{base}/api/v1/people?limit=500")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    let n = people["items"].as_array().unwrap().len();
    assert!(n > 10 && n < 120, "sales sees their own share of the people, got {n}");
    let deals: serde_json::Value =
        client.get(format!("{base}/api/v1/deals")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert!(!deals["items"].as_array().unwrap().is_empty());
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(!data_dir.unwrap().exists(), "the demo removes its throwaway data on exit");
}
