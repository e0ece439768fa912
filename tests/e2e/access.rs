//! The authorisation rule until policies arrive: a record's owner, managers of its unit and
//! admins; everyone else gets 404 (never 403) and never sees it in lists or searches.

use serde_json::json;

use crate::harness::{Backend, Install, person};
use crate::on_both;

on_both!(owners_managers_and_admins_only);

async fn owners_managers_and_admins_only(backend: Backend) {
    let install = Install::new(backend).await;
    let pa = install.add_user("ala", "sales", &["north"]);
    let pb = install.add_user("bob", "sales", &["north"]);
    let pm = install.add_user("maja", "manager", &["north"]);
    let ps = install.add_user("sven", "manager", &["south"]);
    let server = install.serve();
    let (ta, tb, tm, ts, tadmin) = (
        server.login("ala", &pa).await,
        server.login("bob", &pb).await,
        server.login("maja", &pm).await,
        server.login("sven", &ps).await,
        server.admin_token().await,
    );
    let r = server.call("POST", "/people", &ta, Some(person("Celina", "Prywatna", "celina@example.pl", "601 333 444", None))).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["unit"], "north");
    let id = r.body["id"].as_str().unwrap().to_string();
    let etag = r.etag();
    let path = format!("/people/{id}");

    for (who, t, sees) in [
        ("owner", &ta, true),
        ("teammate", &tb, false),
        ("unit manager", &tm, true),
        ("other manager", &ts, false),
        ("admin", &tadmin, true),
    ] {
        let got = server.call("GET", &path, t, None).await;
        if sees {
            assert_eq!(got.status, 200, "{who} should read");
        } else {
            got.assert_problem(404, None);
            let patch = server.call_with("PATCH", &server.url(&path), t, Some(json!({"last_name": "X"})), &[("if-match", &etag)]).await;
            patch.assert_problem(404, None);
            server.call("DELETE", &path, t, None).await.assert_problem(404, None);
            let list = server.call("GET", "/people", t, None).await;
            assert!(list.body["items"].as_array().unwrap().is_empty(), "{who} must not list it");
            let found = server.call("POST", "/people/search", t, Some(json!({"email": "celina@example.pl"}))).await;
            assert!(found.body["items"].as_array().unwrap().is_empty(), "{who} must not find it");
            // Linking to it is refused as if it did not exist.
            let deal = server.call("POST", "/deals", t, Some(json!({"title": "Sneaky", "person_id": id}))).await;
            deal.assert_problem(422, Some("person_id"));
        }
    }
    // A sales rep cannot place records in a unit they do not belong to, nor give them away.
    let r = server.call("POST", "/people", &ta, Some(json!({"first_name": "Z", "unit": "south"}))).await;
    r.assert_problem(422, Some("unit"));
    let bob_id = server.call("GET", "/me", &tb, None).await.body["id"].clone();
    let r = server.call("POST", "/people", &ta, Some(json!({"first_name": "Z", "owner_id": bob_id}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The unit's manager may assign to a team member.
    let r = server.call("POST", "/people", &tm, Some(json!({"first_name": "Z", "owner_id": bob_id}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(server.call("GET", "/people", &tb, None).await.body["items"].as_array().unwrap().len(), 1);
    // Companies follow the same rule.
    let c = server.call("POST", "/companies", &ta, Some(json!({"name": "Ala Sp. z o.o."}))).await;
    assert_eq!(c.status, 201);
    let cid = c.body["id"].as_str().unwrap();
    server.call("GET", &format!("/companies/{cid}"), &tb, None).await.assert_problem(404, None);
    assert_eq!(server.call("GET", &format!("/companies/{cid}"), &tm, None).await.status, 200);
    assert!(server.call("GET", "/companies", &ts, None).await.body["items"].as_array().unwrap().is_empty());
}
