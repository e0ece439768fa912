//! People over HTTP: CRUD with ETags, lists with cursors and filters, search by blind index.

use serde_json::json;

use crate::harness::{Backend, Install, person, raw_db};
use crate::on_both;

on_both!(
    people_crud_with_etags,
    people_list_pages_and_filters,
    people_search_finds_exactly_the_right_people,
    names_are_found_composed_or_decomposed_and_by_prefix
);

async fn people_crud_with_etags(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;

    let created =
        server.call("POST", "/people", &t, Some(person("Jan", "Kowalski", "jan@example.com", "601 234 567", Some("44051401359")))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.headers.get("location").unwrap(), &format!("/api/v1/people/{id}"));
    assert_eq!(created.body["phone"], "+48601234567", "phone normalised to E.164");
    assert_eq!(created.body["unit"], "main", "a record without unit goes to the creator's first unit");
    let etag = created.etag();

    let got = server.call("GET", &format!("/people/{id}"), &t, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.etag(), etag);
    assert_eq!(got.body["email"], "jan@example.com");
    assert_eq!(got.body["national_id"], "44051401359");

    // PATCH without If-Match is refused, with a stale one too; nothing changes.
    let url = server.url(&format!("/people/{id}"));
    let r = server.call_with("PATCH", &url, &t, Some(json!({"last_name": "Nowak"})), &[]).await;
    r.assert_problem(428, Some("If-Match"));
    let r = server.call_with("PATCH", &url, &t, Some(json!({"last_name": "Nowak"})), &[("if-match", "\"999\"")]).await;
    r.assert_problem(412, Some("If-Match"));
    assert_eq!(server.call("GET", &format!("/people/{id}"), &t, None).await.body["last_name"], "Kowalski");

    let r = server
        .call_with("PATCH", &url, &t, Some(json!({"last_name": "Nowak", "phone": null, "tags": ["vip"]})), &[("if-match", &etag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(r.etag(), etag);
    assert_eq!(r.body["last_name"], "Nowak");
    assert_eq!(r.body["phone"], serde_json::Value::Null, "null removes a field");
    assert_eq!(r.body["email"], "jan@example.com", "absent fields are kept");
    assert_eq!(r.body["tags"], json!(["vip"]));
    // The old ETag is now stale.
    let r2 = server.call_with("PATCH", &url, &t, Some(json!({"first_name": "Janek"})), &[("if-match", &etag)]).await;
    r2.assert_problem(412, None);

    let del = server.call("DELETE", &format!("/people/{id}"), &t, None).await;
    assert_eq!(del.status, 204);
    server.call("GET", &format!("/people/{id}"), &t, None).await.assert_problem(404, None);
    server.call("DELETE", &format!("/people/{id}"), &t, None).await.assert_problem(404, None);
}

async fn people_list_pages_and_filters(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut p = person("Anna", &format!("Nowak{i}"), &format!("anna{i}@example.com"), &format!("+48 601 000 00{i}"), None);
        if i % 2 == 0 {
            p["tags"] = json!(["newsletter"]);
        }
        let r = server.call("POST", "/people", &t, Some(p)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // Pages of 3 in creation order, each person exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/people?limit=3&cursor={c}"),
            None => "/people?limit=3".to_string(),
        };
        let r = server.call("GET", &q, &t, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_string()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let tagged = server.call("GET", "/people?tag=newsletter", &t, None).await;
    assert_eq!(tagged.body["items"].as_array().unwrap().len(), 4);
    let unit = server.call("GET", "/people?unit=elsewhere", &t, None).await;
    assert_eq!(unit.body["items"].as_array().unwrap().len(), 0);
    // Unknown parameters and bad values are refused, naming them.
    server.call("GET", "/people?colour=red", &t, None).await.assert_problem(400, Some("colour"));
    server.call("GET", "/people?limit=0", &t, None).await.assert_problem(422, Some("limit"));
    server.call("GET", "/people?cursor=garbage!", &t, None).await.assert_problem(422, Some("cursor"));
}

async fn people_search_finds_exactly_the_right_people(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let mk = |f: &str, l: &str, e: &str, p: &str, id: Option<&str>| person(f, l, e, p, id);
    let people = [
        mk("Łukasz", "Żółć", "lukasz.zolc@example.pl", "601 111 222", Some("44051401359")),
        mk("Łucja", "Żółć", "lucja@example.pl", "601 111 333", Some("02070803628")),
        mk("Lukas", "Zolcer", "LUKAS@Example.com", "+49 151 12345678", None),
        mk("Anna", "Kowalska-Nowak", "anna@example.pl", "601 111 444", None),
    ];
    let mut ids = Vec::new();
    for p in people {
        let r = server.call("POST", "/people", &t, Some(p)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let find = |body: serde_json::Value| {
        let server = &server;
        let t = t.clone();
        async move {
            let r = server.call("POST", "/people/search", &t, Some(body)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let mut got: Vec<String> = r.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect();
            got.sort();
            got
        }
    };
    let sorted = |v: &[&String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(find(json!({"email": "Lukasz.Zolc@EXAMPLE.pl"})).await, sorted(&[&ids[0]]));
    assert_eq!(find(json!({"email": "lukas@example.com"})).await, sorted(&[&ids[2]]));
    assert_eq!(find(json!({"phone": "+48601111333"})).await, sorted(&[&ids[1]]));
    assert_eq!(find(json!({"phone": "601-111-333"})).await, sorted(&[&ids[1]]));
    assert_eq!(find(json!({"national_id": "44051401359"})).await, sorted(&[&ids[0]]));
    assert_eq!(find(json!({"name": "lukasz"})).await, sorted(&[&ids[0]]));
    // Each word of the query begins a word of the name: "zolc" also finds Zolcer.
    assert_eq!(find(json!({"name": "zolc"})).await, sorted(&[&ids[0], &ids[1], &ids[2]]));
    assert_eq!(find(json!({"name": "zolc łukasz"})).await, sorted(&[&ids[0]]));
    assert_eq!(find(json!({"name": "ŻÓŁĆ łucja"})).await, sorted(&[&ids[1]]));
    assert_eq!(find(json!({"name": "nowak"})).await, sorted(&[&ids[3]]));
    assert_eq!(find(json!({"name": "zolc", "email": "lucja@example.pl"})).await, sorted(&[&ids[1]]));
    assert!(find(json!({"email": "nobody@example.pl"})).await.is_empty());
    assert_eq!(find(json!({"name": "zol"})).await, sorted(&[&ids[0], &ids[1], &ids[2]]), "prefixes from three characters");
    assert!(find(json!({"name": "zo"})).await.is_empty(), "shorter words match whole words only");
    let r = server.call("POST", "/people/search", &t, Some(json!({}))).await;
    r.assert_problem(422, None);
    let r = server.call("POST", "/people/search", &t, Some(json!({"email": "not-an-email"}))).await;
    r.assert_problem(422, Some("email"));
}

async fn names_are_found_composed_or_decomposed_and_by_prefix(backend: Backend) {
    let install = Install::new(backend).await;
    let mut server = install.serve();
    let t = server.staff_token(&install).await;
    let mac = "Zie\u{328}ba"; // as a Mac writes "Zięba": e + combining ogonek
    let a = server.call("POST", "/people", &t, Some(person("Anna", mac, "anna.z@firma.pl", "601 100 100", None))).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let b = server.call("POST", "/people", &t, Some(person("Ewa", "Dąbrowska", "ewa.d@firma.pl", "601 100 101", None))).await;
    assert_eq!(b.status, 201, "{}", b.body);
    let (a, b) = (a.body["id"].as_str().unwrap().to_string(), b.body["id"].as_str().unwrap().to_string());
    let found = |body: &serde_json::Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
    };
    for (query, want) in [
        ("Zięba", vec![a.clone()]),
        (mac, vec![a.clone()]),
        ("zieba", vec![a.clone()]),
        ("Da\u{328}browska", vec![b.clone()]),
        ("Dąbr", vec![b.clone()]),
        ("dabro", vec![b.clone()]),
        ("Ewa Dąb", vec![b.clone()]),
        ("Dąbrowskiej", vec![]),
        ("Zi", vec![]),
    ] {
        let r = server.call("POST", "/people/search", &t, Some(json!({"name": query}))).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(found(&r.body), want, "search for {query:?}");
    }

    // A name index from an older Sejf (here: gone, and marked version 1) is rebuilt by the
    // server in the background, and by `sejf reindex`.
    server.stop();
    let db = raw_db(&install).await;
    let lose = |db: sqlx::AnyPool| async move {
        sqlx::query("DELETE FROM person_name_tokens").execute(&db).await.unwrap();
        sqlx::query("UPDATE index_state SET version = 1 WHERE name = 'names'").execute(&db).await.unwrap();
        db.close().await;
    };
    lose(db).await;
    let out = install.cli(&["reindex"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 people examined, 2 rewritten"), "{}", String::from_utf8_lossy(&out.stdout));
    lose(raw_db(&install).await).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let mut back = false;
    for _ in 0..40 {
        let r = server.call("POST", "/people/search", &t, Some(json!({"name": "Dąbr"}))).await;
        if found(&r.body) == [b.clone()] {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(back, "the server rebuilt the name index");
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    assert!(trail.contains("person.reindex"), "the rebuild is recorded");
}
