//! Field classes beyond people: a deal's title and an activity's body are personal data, masked
//! for roles that may not read them (admin and auditor), and a record about a person is a read
//! of that person (read budgets, honeytokens).

use serde_json::{Value, json};

use crate::harness::{Backend, Install, person, raw_db};
use crate::on_both;

on_both!(free_text_about_people_is_personal_data, records_about_a_person_count_as_reading_them, search_decides_access_before_decrypting);

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap()
}

async fn free_text_about_people_is_personal_data(backend: Backend) {
    let install = Install::new(backend).await;
    let sid_pw = install.add_user("sid", "sales", &["north"]);
    let sup_pw = install.add_user("sup", "support", &["north"]);
    let aud_pw = install.add_user("aud", "auditor", &["main"]);
    let dpo_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sid = server.login("sid", &sid_pw).await;
    let p = server.call("POST", "/people", &sid, Some(person("Jan", "Kowal", "jan@kowal.example", "601 000 201", None))).await;
    let pid = p.body["id"].as_str().unwrap().to_string();
    let c = server
        .call("POST", "/companies", &sid, Some(json!({"name": "Młyn Kowala", "vat_id": "5260250274", "website": "https://mlyn.example"})))
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let d = server.call("POST", "/deals", &sid, Some(json!({"title": "Kowal's divorce settlement", "person_id": pid}))).await;
    assert_eq!(d.status, 201, "{}", d.body);
    let a = server
        .call("POST", "/activities", &sid, Some(json!({"kind": "call", "body": "Jan mentioned his heart surgery", "person_id": pid})))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (did, aid) = (d.body["id"].as_str().unwrap().to_string(), a.body["id"].as_str().unwrap().to_string());

    let admin = server.admin_token().await;
    let auditor = server.login("aud", &aud_pw).await;
    for (who, t) in [("admin", &admin), ("auditor", &auditor)] {
        // Listing and reading: the records exist, their free text about people does not show.
        let acts = server.call("GET", "/activities", t, None).await;
        assert_eq!(acts.status, 200, "{who}: {}", acts.body);
        assert_eq!(items(&acts.body).len(), 1, "{who}");
        let act = &items(&acts.body)[0];
        assert!(act["body"].is_null() && act["masked"] == json!(["body"]), "{who}: {act}");
        assert_eq!(act["kind"], "call");
        let one = server.call("GET", &format!("/activities/{aid}"), t, None).await;
        assert!(one.body["body"].is_null() && one.body["masked"] == json!(["body"]), "{who}: {}", one.body);
        let deals = server.call("GET", "/deals", t, None).await;
        assert!(items(&deals.body)[0]["title"].is_null() && items(&deals.body)[0]["masked"] == json!(["title"]), "{who}: {}", deals.body);
        let one = server.call("GET", &format!("/deals/{did}"), t, None).await;
        assert!(one.body["title"].is_null(), "{who}: {}", one.body);
        // A company's name, VAT id and website are public.
        let companies = server.call("GET", "/companies", t, None).await;
        assert_eq!(items(&companies.body)[0]["name"], "Młyn Kowala", "{who}");
        assert!(items(&companies.body)[0].get("masked").is_none());
        for text in [&acts.body, &deals.body] {
            let text = text.to_string().to_lowercase();
            assert!(!text.contains("surgery") && !text.contains("divorce"), "{who}: {text}");
        }
    }
    // Support (the same unit) and the dpo read them; so does the owner.
    for (name, pw) in [("sup", &sup_pw), ("dora", &dpo_pw)] {
        let t = server.login(name, pw).await;
        let one = server.call("GET", &format!("/activities/{aid}"), &t, None).await;
        assert_eq!(one.body["body"], "Jan mentioned his heart surgery", "{name}: {}", one.body);
        assert_eq!(server.call("GET", &format!("/deals/{did}"), &t, None).await.body["title"], "Kowal's divorce settlement", "{name}");
    }
    // A patch merges over the stored record, not over what a masked view shows.
    let patched = server
        .call_with("PATCH", &server.url(&format!("/deals/{did}")), &sid, Some(json!({"stage": "won"})), &[("if-match", &d.etag())])
        .await;
    assert_eq!((patched.status, patched.body["title"].as_str()), (200, Some("Kowal's divorce settlement")), "{}", patched.body);
    // The policy tools know these fields' classes.
    let who = install.cli(&["policy", "who-can", "--action", "read", "--field", "body"], None);
    let who = String::from_utf8_lossy(&who.stdout).to_string();
    assert!(
        who.contains("sales: own, team") && who.contains("support: own, team") && !who.contains("admin") && !who.contains("auditor"),
        "{who}"
    );
    let unknown = install.cli(&["policy", "who-can", "--action", "read", "--field", "shoe_size"], None);
    assert_eq!(unknown.status.code(), Some(1), "an unknown field is an error, not the public class");
    // The trail names the fields each read showed in clear.
    let trail = server.call("GET", &format!("/audit?action=activity.read&subject={pid}"), &auditor, None).await;
    let fields: Vec<(String, Value)> =
        items(&trail.body).iter().map(|e| (e["actor"].as_str().unwrap().to_string(), e["fields"].clone())).collect();
    assert!(fields.contains(&("aud".into(), json!([]))) && fields.contains(&("sup".into(), json!(["body"]))), "{fields:?}");
}

async fn records_about_a_person_count_as_reading_them(backend: Backend) {
    let install = Install::new(backend).await;
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nread_budgets = { sales = 2 }\n";
    std::fs::write(&cfg, text).unwrap();
    let sid_pw = install.add_user("sid", "sales", &["north"]);
    let sue_pw = install.add_user("sue", "sales", &["north"]);
    let aud_pw = install.add_user("aud", "auditor", &["main"]);
    let out = install.cli(&["honeytoken", "add", "--owner", "sid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bait = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let server = install.serve();
    let sid = server.login("sid", &sid_pw).await;
    let mut acts = Vec::new();
    for i in 0..3 {
        let p = server
            .call(
                "POST",
                "/people",
                &sid,
                Some(person("Ktoś", &format!("Trzeci{i}"), &format!("k{i}@trzeci.example"), "601 000 202", None)),
            )
            .await;
        let pid = p.body["id"].as_str().unwrap().to_string();
        let a =
            server.call("POST", "/activities", &sid, Some(json!({"kind": "note", "body": format!("note {i}"), "person_id": pid}))).await;
        assert_eq!(a.status, 201, "{}", a.body);
        acts.push(a.body["id"].as_str().unwrap().to_string());
    }
    // Sue reads activities about two people: her budget of two is spent; the third is refused.
    let sue = server.login("sue", &sue_pw).await;
    for id in &acts[..2] {
        assert_eq!(server.call("GET", &format!("/activities/{id}"), &sue, None).await.status, 200);
    }
    let over = server.call("GET", &format!("/activities/{}", acts[2]), &sue, None).await;
    over.assert_problem(429, None);
    assert!(!over.body.to_string().contains("note 2"));
    assert_eq!(server.call("GET", "/activities", &sue, None).await.status, 429, "a list about a third person is refused whole");

    // Writing about a honeytoken, and reading what was written, raise alerts like reading it.
    let auditor = server.login("aud", &aud_pw).await;
    let alerts = |t: String| {
        let server = &server;
        async move {
            let r = server.call("GET", "/alerts", &t, None).await;
            items(&r.body)
                .iter()
                .filter(|a| a["resource_id"] == "honeytoken")
                .map(|a| (a["actor"].clone(), a["detail"].clone()))
                .collect::<Vec<_>>()
        }
    };
    assert!(alerts(auditor.clone()).await.is_empty());
    let a = server.call("POST", "/activities", &sid, Some(json!({"kind": "call", "body": "called", "person_id": bait}))).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let aid = a.body["id"].as_str().unwrap();
    assert_eq!(alerts(auditor.clone()).await, vec![(json!("sid"), json!("via=create"))]);
    // The auditor's own listing touches it too (the body stays masked).
    let listed = server.call("GET", "/activities", &auditor, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(alerts(auditor.clone()).await.last().unwrap(), &(json!("aud"), json!("via=activity")));
    server.call("DELETE", &format!("/activities/{aid}"), &sid, None).await;
    assert_eq!(alerts(auditor.clone()).await.last().unwrap(), &(json!("sid"), json!("via=delete")));
}

async fn search_decides_access_before_decrypting(backend: Backend) {
    let install = Install::new(backend).await;
    let sid_pw = install.add_user("sid", "sales", &["north"]);
    // 1,100 of Sid's people share the rarer token of a name with the one Sid looks for.
    let csv = install.root.join("south.csv");
    let mut text = String::from("first_name,last_name,email\n");
    for i in 0..1_100 {
        text.push_str(&format!("Maria,Kowalska,maria.kowalska{i}@north.example\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let out = install.cli(&["import", csv.to_str().unwrap(), "--owner", "sid"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = install.serve();
    let sid = server.login("sid", &sid_pw).await;
    let mine = server.call("POST", "/people", &sid, Some(person("Anna", "Kowalska", "anna@north.example", "601 000 301", None))).await;
    let mine = mine.body["id"].as_str().unwrap().to_string();
    // One request looks at no more than 1,000 candidates: a short page with a cursor that
    // resumes the search, never one request decrypting everyone with a common name.
    let first = server.call("POST", "/people/search", &sid, Some(json!({"name": "Anna Kowalska"}))).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(items(&first.body).is_empty(), "{}", first.body);
    let cursor = first.body["next_cursor"].as_str().expect("a capped search says where to go on").to_string();
    let second = server.call("POST", "/people/search", &sid, Some(json!({"name": "Anna Kowalska", "cursor": cursor}))).await;
    assert_eq!(items(&second.body).len(), 1, "{}", second.body);
    assert_eq!(items(&second.body)[0]["id"], mine.as_str());
    assert!(second.body["next_cursor"].is_null());

    // A person whose stored national id no longer decrypts: whoever would see it gets an
    // integrity error; a role that may not read national ids never gets that far.
    let staff = server.staff_token(&install).await;
    let x = server
        .call("POST", "/people", &staff, Some(person("Iks", "Zepsuty", "iks@north.example", "601 000 302", Some("44051401359"))))
        .await;
    let y = server
        .call("POST", "/people", &staff, Some(person("Igrek", "Cały", "igrek@north.example", "601 000 303", Some("02070803628"))))
        .await;
    let (x, y) = (x.body["id"].as_str().unwrap().to_string(), y.body["id"].as_str().unwrap().to_string());
    let db = raw_db(&install).await;
    sqlx::query("UPDATE people SET national_id = (SELECT national_id FROM people WHERE id = $1) WHERE id = $2")
        .bind(y)
        .bind(x)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let by_pesel = json!({"national_id": "44051401359"});
    server.call("POST", "/people/search", &staff, Some(by_pesel.clone())).await.assert_problem(500, None);
    let sales = server.call("POST", "/people/search", &sid, Some(by_pesel)).await;
    assert_eq!((sales.status, items(&sales.body).len()), (200, 0), "{}", sales.body);
    let admin = server.admin_token().await;
    let by_email = server.call("POST", "/people/search", &admin, Some(json!({"email": "iks@north.example"}))).await;
    assert_eq!((by_email.status, items(&by_email.body).len()), (200, 0), "{}", by_email.body);
}
