//! Companies, deals and activities: CRUD, validation, links and the pipeline.

use serde_json::json;

use crate::harness::{Backend, Install, person};
use crate::on_both;

on_both!(companies_deals_activities);

async fn companies_deals_activities(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;

    server
        .call("POST", "/companies", &t, Some(json!({"name": "Bad NIP", "vat_id": "5260250275"})))
        .await
        .assert_problem(422, Some("vat_id"));
    server.call("POST", "/companies", &t, Some(json!({"name": "X", "website": "ftp://x"}))).await.assert_problem(422, Some("website"));
    server.call("POST", "/companies", &t, Some(json!({"vat_id": "5260250274"}))).await.assert_problem(422, Some("name"));
    let c = server
        .call(
            "POST",
            "/companies",
            &t,
            Some(json!({"name": "Łódzkie Młyny S.A.", "vat_id": "PL 526-025-02-74", "website": "https://mlyny.example"})),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    assert_eq!(c.body["vat_id"], "PL5260250274");
    let cid = c.body["id"].as_str().unwrap().to_string();

    let p = server.call("POST", "/people", &t, Some(person("Jan", "Nowak", "jan@mlyny.example", "601 555 666", None))).await;
    let pid = p.body["id"].as_str().unwrap().to_string();

    server.call("POST", "/deals", &t, Some(json!({"title": "X", "stage": "maybe"}))).await.assert_problem(422, Some("stage"));
    server.call("POST", "/deals", &t, Some(json!({"title": "X", "amount": -5}))).await.assert_problem(422, Some("amount"));
    server.call("POST", "/deals", &t, Some(json!({"title": "X", "currency": "ZZZ"}))).await.assert_problem(422, Some("currency"));
    let d = server
        .call(
            "POST",
            "/deals",
            &t,
            Some(json!({"title": "200 licences", "amount": 12500.5, "person_id": pid, "company_id": cid, "expected_close": "2027-03-31"})),
        )
        .await;
    assert_eq!(d.status, 201, "{}", d.body);
    assert_eq!(d.body["stage"], "lead");
    assert_eq!(d.body["currency"], "PLN");
    assert_eq!(d.body["amount"], json!(12500.5));
    let did = d.body["id"].as_str().unwrap().to_string();
    let moved = server
        .call_with("PATCH", &server.url(&format!("/deals/{did}")), &t, Some(json!({"stage": "won"})), &[("if-match", &d.etag())])
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["stage"], "won");
    assert_eq!(moved.body["title"], "200 licences");
    let stale = server
        .call_with("PATCH", &server.url(&format!("/deals/{did}")), &t, Some(json!({"stage": "lost"})), &[("if-match", &d.etag())])
        .await;
    stale.assert_problem(412, None);

    server.call("POST", "/activities", &t, Some(json!({"kind": "fax"}))).await.assert_problem(422, Some("kind"));
    server.call("POST", "/activities", &t, Some(json!({"kind": "task", "due_at": "tomorrow"}))).await.assert_problem(422, Some("due_at"));
    server.call("POST", "/activities", &t, Some(json!({"kind": "note", "company_id": cid}))).await.assert_problem(422, Some("company_id"));
    let a = server
        .call(
            "POST",
            "/activities",
            &t,
            Some(json!({"kind": "task", "body": "Send the offer", "person_id": pid, "deal_id": did, "due_at": "2027-01-15T09:00:00Z"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["done"], false);
    let aid = a.body["id"].as_str().unwrap().to_string();
    let done = server
        .call_with("PATCH", &server.url(&format!("/activities/{aid}")), &t, Some(json!({"done": true})), &[("if-match", &a.etag())])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["done"], true);
    assert_eq!(done.body["body"], "Send the offer");
    for kind in ["companies", "deals", "activities"] {
        let l = server.call("GET", &format!("/{kind}"), &t, None).await;
        assert_eq!(l.status, 200);
        assert_eq!(l.body["items"].as_array().unwrap().len(), 1, "{kind}");
    }
    // Deleting the person deletes their activities (they were sealed with the person's key)
    // and unlinks the deal.
    assert_eq!(server.call("DELETE", &format!("/people/{pid}"), &t, None).await.status, 204);
    server.call("GET", &format!("/activities/{aid}"), &t, None).await.assert_problem(404, None);
    let d = server.call("GET", &format!("/deals/{did}"), &t, None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["person_id"], serde_json::Value::Null);
    assert_eq!(server.call("DELETE", &format!("/deals/{did}"), &t, None).await.status, 204);
    assert_eq!(server.call("DELETE", &format!("/companies/{cid}"), &t, None).await.status, 204);
    server.call("GET", &format!("/companies/{cid}"), &t, None).await.assert_problem(404, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_found_by_part_of_the_name_or_by_nip() {
    let install = Install::new(Backend::Sqlite).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let jan_pw = install.add_user("jan", "sales", &["south"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let jan = server.login("jan", &jan_pw).await;
    for (name, nip) in [("Łódzkie Młyny S.A.", "526-025-02-74"), ("Młyn Zbożowy", "7010001453")] {
        let r = server.call("POST", "/companies", &sam, Some(json!({"name": name, "vat_id": nip}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let names = |r: &crate::harness::Resp| -> Vec<String> {
        let mut v: Vec<String> = r.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    let search = |q: &str| json!({"q": q});
    let r = server.call("POST", "/companies/search", &sam, Some(search("mlyn"))).await;
    assert_eq!(names(&r), ["Młyn Zbożowy", "Łódzkie Młyny S.A."], "{}", r.body);
    let r = server.call("POST", "/companies/search", &sam, Some(search("lodzkie"))).await;
    assert_eq!(names(&r), ["Łódzkie Młyny S.A."]);
    let r = server.call("POST", "/companies/search", &sam, Some(search("PL 5260250274"))).await;
    assert_eq!(names(&r), ["Łódzkie Młyny S.A."], "by NIP");
    server.call("POST", "/companies/search", &sam, Some(search("m"))).await.assert_problem(422, Some("q"));
    // Activities by kind (what "my tasks" asks for).
    for (kind, body) in [("task", "Oddzwonić"), ("call", "Rozmowa")] {
        let r = server.call("POST", "/activities", &sam, Some(json!({"kind": kind, "body": body}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let tasks = server.call("GET", "/activities?kind=task", &sam, None).await;
    let items = tasks.body["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["body"].as_str()), (1, Some("Oddzwonić")), "{}", tasks.body);
    server.call("GET", "/activities?kind=party", &sam, None).await.assert_problem(422, Some("kind"));
    server.call("GET", "/deals?kind=task", &sam, None).await.assert_problem(422, Some("kind"));
    server.call("POST", "/companies/search", &sam, Some(json!({"name": "x"}))).await.assert_problem(422, None);
    let r = server.call("POST", "/companies/search", &jan, Some(search("mlyn"))).await;
    assert!(names(&r).is_empty(), "another unit's companies are not found");
}
