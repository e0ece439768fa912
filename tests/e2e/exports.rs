//! Bulk export with four-eyes approval: above the threshold an export waits for a second
//! person (a manager of the requester's unit, or the dpo), nobody approves their own, and the
//! requester downloads it once.

use serde_json::json;

use crate::harness::{Backend, Install, Server, person};
use crate::on_both;

on_both!(an_export_above_the_threshold_needs_a_second_person, small_exports_add_up_and_approvers_answer_for_every_unit);

async fn create_people(server: &Server, token: &str, n: usize, tag: Option<&str>) {
    for i in 0..n {
        let mut body =
            person("Eksport", &format!("Osoba{i}"), &format!("eksport{i}-{}@example.pl", tag.unwrap_or("x")), "601 000 333", None);
        if let Some(t) = tag {
            body["tags"] = json!([t]);
        }
        assert_eq!(server.call("POST", "/people", token, Some(body)).await.status, 201);
    }
}

async fn an_export_above_the_threshold_needs_a_second_person(backend: Backend) {
    let install = Install::new(backend).await;
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nexport_approval_threshold = 3\n";
    std::fs::write(&cfg, text).unwrap();
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let mona_pw = install.add_user("mona", "manager", &["north"]);
    let marek_pw = install.add_user("marek", "manager", &["south"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let mona = server.login("mona", &mona_pw).await;
    let marek = server.login("marek", &marek_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    create_people(&server, &sam, 4, None).await;
    create_people(&server, &sam, 2, Some("vip")).await;

    // A purpose is required; unknown formats are refused.
    server.call("POST", "/exports", &sam, Some(json!({"purpose": "  "}))).await.assert_problem(422, Some("purpose"));
    server.call("POST", "/exports", &sam, Some(json!({"purpose": "x", "format": "xlsx"}))).await.assert_problem(422, Some("format"));

    // At or below the threshold: approved at once, downloadable once.
    let small = server.call("POST", "/exports", &sam, Some(json!({"purpose": "VIP mailing", "tag": "vip"}))).await;
    assert_eq!(small.status, 201, "{}", small.body);
    assert_eq!((small.body["status"].as_str(), small.body["record_count"].as_i64()), (Some("approved"), Some(2)));
    assert_eq!(small.body["needs_approval"], false);
    let small_id = small.body["id"].as_str().unwrap().to_string();
    let got = server.call("GET", &format!("/exports/{small_id}/download"), &sam, None).await;
    assert_eq!(got.status, 200);
    assert!(got.content_type().starts_with("text/csv"), "{}", got.content_type());
    assert_eq!(got.body.as_str().unwrap().lines().count(), 3, "header and two people: {}", got.body);

    // Above it: pending until a second person approves.
    let big = server.call("POST", "/exports", &sam, Some(json!({"purpose": "Q4 campaign"}))).await;
    assert_eq!(big.status, 201, "{}", big.body);
    assert_eq!((big.body["status"].as_str(), big.body["record_count"].as_i64()), (Some("pending"), Some(6)));
    assert_eq!(big.body["needs_approval"], true);
    let id = big.body["id"].as_str().unwrap().to_string();
    let download = format!("/exports/{id}/download");
    let got = server.call("GET", &download, &sam, None).await;
    got.assert_problem(409, None);
    assert!(got.body["type"].as_str().unwrap().ends_with("/approval-pending"), "{}", got.body);
    // Nobody approves their own export...
    server.call("POST", &format!("/exports/{id}/approve"), &sam, None).await.assert_problem(403, None);
    // ...nor a manager of another unit, who does not even see it.
    server.call("GET", &format!("/exports/{id}"), &marek, None).await.assert_problem(404, None);
    server.call("POST", &format!("/exports/{id}/approve"), &marek, None).await.assert_problem(404, None);
    let seen_by_marek = server.call("GET", "/exports?status=pending", &marek, None).await;
    assert_eq!(seen_by_marek.body["items"].as_array().unwrap().len(), 0);
    // The requester's manager sees it waiting and approves it.
    let waiting = server.call("GET", "/exports?status=pending", &mona, None).await;
    assert_eq!(waiting.status, 200);
    let ids: Vec<&str> = waiting.body["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![id.as_str()]);
    assert_eq!(waiting.body["items"][0]["purpose"], "Q4 campaign");
    let approved = server.call("POST", &format!("/exports/{id}/approve"), &mona, Some(json!({"reason": "agreed in the Q4 plan"}))).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!((approved.body["status"].as_str(), approved.body["decided_by"].as_str()), (Some("approved"), Some("mona")));
    assert!(approved.body["expires_at"].is_string());
    server.call("POST", &format!("/exports/{id}/approve"), &dora, None).await.assert_problem(409, None);
    // Only the requester downloads it, and only once.
    server.call("GET", &download, &mona, None).await.assert_problem(403, None);
    let got = server.call("GET", &download, &sam, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let csv = got.body.as_str().unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with("first_name,last_name,email"), "{csv}");
    assert!(csv.contains("eksport3-x@example.pl"), "{csv}");
    assert_eq!(got.headers.get("cache-control").unwrap(), "no-store");
    server.call("GET", &download, &sam, None).await.assert_problem(410, None);
    assert_eq!(server.call("GET", &format!("/exports/{id}"), &sam, None).await.body["status"], "downloaded");

    // A rejected export is never downloadable.
    let again = server.call("POST", "/exports", &sam, Some(json!({"purpose": "again"}))).await;
    let again_id = again.body["id"].as_str().unwrap().to_string();
    let rejected = server.call("POST", &format!("/exports/{again_id}/reject"), &dora, Some(json!({"reason": "no legal basis"}))).await;
    assert_eq!((rejected.status, rejected.body["status"].as_str()), (200, Some("rejected")));
    server.call("GET", &format!("/exports/{again_id}/download"), &sam, None).await.assert_problem(403, None);

    // The trail tells the story: who asked, who approved, and each person exported.
    let trail = |action: &'static str| {
        let server = &server;
        let dora = dora.clone();
        async move {
            let r = server.call("GET", &format!("/audit?action={action}&limit=500"), &dora, None).await;
            r.body["items"].as_array().unwrap().clone()
        }
    };
    assert_eq!(trail("export.request").await.len(), 3);
    let approvals = trail("export.approve").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!((approvals[0]["actor"].as_str(), approvals[0]["resource_id"].as_str()), (Some("mona"), Some(id.as_str())));
    assert_eq!(trail("export.reject").await.len(), 1);
    assert_eq!(trail("export.download").await.len(), 2);
    let reads = server.call("GET", "/audit?action=person.read&actor=sam&limit=500", &dora, None).await;
    let exported = reads.body["items"].as_array().unwrap().iter().filter(|e| e["detail"].as_str().unwrap_or("") == "via=export").count();
    assert_eq!(exported, 8, "two plus six people exported: {}", reads.body);
}

async fn small_exports_add_up_and_approvers_answer_for_every_unit(backend: Backend) {
    let install = Install::new(backend).await;
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nexport_approval_threshold = 3\n";
    std::fs::write(&cfg, text).unwrap();
    let mia_pw = install.add_user("mia", "manager", &["north", "south"]);
    let mona_pw = install.add_user("mona", "manager", &["north"]);
    let max_pw = install.add_user("max", "manager", &["north", "south"]);
    let server = install.serve();
    let mia = server.login("mia", &mia_pw).await;
    for (i, unit) in ["north", "north", "south", "south"].iter().enumerate() {
        let mut body = person("Dzielona", &format!("Osoba{i}"), &format!("dzielona{i}@example.pl"), "601 000 334", None);
        body["unit"] = json!(unit);
        assert_eq!(server.call("POST", "/people", &mia, Some(body)).await.status, 201);
    }
    // Two records, then two more: each is under the threshold of three, together they are not.
    let first = server.call("POST", "/exports", &mia, Some(json!({"purpose": "north mailing", "unit": "north"}))).await;
    assert_eq!((first.body["status"].as_str(), first.body["record_count"].as_i64()), (Some("approved"), Some(2)), "{}", first.body);
    let second = server.call("POST", "/exports", &mia, Some(json!({"purpose": "south mailing", "unit": "south"}))).await;
    assert_eq!((second.body["status"].as_str(), second.body["needs_approval"].as_bool()), (Some("pending"), Some(true)), "{}", second.body);
    let whole = server.call("POST", "/exports", &mia, Some(json!({"purpose": "everyone, for the audit"}))).await;
    assert_eq!(whole.body["status"], "pending", "{}", whole.body);
    let (second_id, whole_id) = (second.body["id"].as_str().unwrap().to_string(), whole.body["id"].as_str().unwrap().to_string());

    // Mona runs north only: she sees Mia's requests (Mia is in her unit) but may not release
    // south's records, and the refusal does not say which unit she lacks.
    let mona = server.login("mona", &mona_pw).await;
    let pending = server.call("GET", "/exports?status=pending", &mona, None).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 2, "{}", pending.body);
    for id in [&second_id, &whole_id] {
        let refused = server.call("POST", &format!("/exports/{id}/approve"), &mona, None).await;
        refused.assert_problem(403, None);
        assert!(!refused.body.to_string().contains("south"), "{}", refused.body);
    }
    // Max runs both units: he may.
    let max = server.login("max", &max_pw).await;
    for id in [&second_id, &whole_id] {
        let ok = server.call("POST", &format!("/exports/{id}/approve"), &max, None).await;
        assert_eq!((ok.status, ok.body["status"].as_str()), (200, Some("approved")), "{}", ok.body);
    }
    // The request's event says what the threshold was weighed against.
    let out = install.cli(&["audit", "export"], None);
    let details: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].clone())
        .filter(|e| e["action"] == "export.request")
        .map(|e| e["detail"].as_str().unwrap().split(" filter=").next().unwrap().to_string())
        .collect();
    assert_eq!(details, ["records=2 recent=0 threshold=3", "records=2 recent=2 threshold=3", "records=4 recent=2 threshold=3"]);
}
