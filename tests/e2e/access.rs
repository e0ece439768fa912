//! The access matrix of DESIGN.md, over HTTP: for each role × own/team/other-unit record ×
//! route, the answer and the field classes shown; plus creation rules, data walls between units,
//! reveal with a purpose, and user administration limits.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::harness::{Backend, Install, Server};
use crate::on_both;

on_both!(the_access_matrix, reveal_needs_a_purpose_and_a_permission, units_are_data_walls_and_roles_are_guarded);

const ROLES: [&str; 6] = ["admin", "manager", "sales", "support", "auditor", "dpo"];
const RELATIONS: [&str; 3] = ["own", "team", "other"];

/// What a role may do with a person record, by relation: (read, personal, sensitive, write).
fn expected(role: &str, relation: &str) -> (bool, bool, bool, bool) {
    let (own, team, other) = match role {
        "admin" => ((true, false, false, false), (true, false, false, false), (true, false, false, false)),
        "manager" => ((true, true, true, true), (true, true, true, true), (false, false, false, false)),
        "sales" => ((true, true, false, true), (true, true, false, false), (false, false, false, false)),
        "support" => ((true, true, false, false), (true, true, false, false), (false, false, false, false)),
        "auditor" => ((true, false, false, false), (true, false, false, false), (true, false, false, false)),
        "dpo" => ((true, true, true, false), (true, true, true, false), (true, true, true, false)),
        _ => unreachable!(),
    };
    match relation {
        "own" => own,
        "team" => team,
        _ => other,
    }
}

struct World {
    tokens: HashMap<&'static str, String>,
    /// (role, relation) → (person id to read/patch, person id to delete, unique email, national id)
    records: HashMap<(&'static str, &'static str), (String, String, String, String)>,
}

fn pesel(n: usize) -> String {
    // Valid PESELs of people born 1980-01-01..28 with serial n.
    let mut s = format!("8001{:02}{:03}1", 1 + n % 28, n % 1000);
    let w = [1u32, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = s.bytes().zip(w).map(|(b, w)| u32::from(b - b'0') * w).sum();
    s.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
    s
}

async fn world(install: &Install, server: &Server) -> World {
    let mut tokens = HashMap::new();
    let mut ids: HashMap<&str, Value> = HashMap::new();
    for role in ROLES {
        let pw = if role == "admin" { crate::harness::ADMIN_PASSWORD.to_string() } else { install.add_user(role, role, &["north"]) };
        let t = server.login(role, &pw).await;
        ids.insert(role, server.call("GET", "/me", &t, None).await.body["id"].clone());
        tokens.insert(role, t);
    }
    // The admin user of `init` lives in unit "main"; move it to north for a comparable matrix.
    let pw = install.add_user("mate", "sales", &["north"]);
    let mate = server.login("mate", &pw).await;
    let pw = install.add_user("far", "manager", &["south"]);
    let far = server.login("far", &pw).await;
    let boss = tokens["manager"].clone();
    let mut records = HashMap::new();
    let mut n = 0;
    for role in ROLES {
        for relation in RELATIONS {
            let mut pair = Vec::new();
            for purpose in ["use", "delete"] {
                n += 1;
                let email = format!("{role}-{relation}-{purpose}@example.pl");
                let id_no = pesel(n);
                let mut body = json!({"first_name": "Tajna", "last_name": format!("Osoba{n}"), "email": email,
                    "phone": format!("+48 601 000 {n:03}"), "national_id": id_no, "notes": "poufne", "birth_date": format!("1980-01-{:02}", 1 + n % 28)});
                let (token, owner) = match relation {
                    "own" => (&boss, ids[role].clone()),
                    "team" => (&mate, Value::Null),
                    _ => (&far, Value::Null),
                };
                if !owner.is_null() {
                    body["owner_id"] = owner;
                    body["unit"] = json!(if role == "admin" { "main" } else { "north" });
                }
                // The admin lives in "main": its own records are created there by the operator path.
                let r = if role == "admin" && relation == "own" {
                    create_as_operator(install, &body).await
                } else {
                    let r = server.call("POST", "/people", token, Some(body)).await;
                    assert_eq!(r.status, 201, "creating {role}/{relation}: {}", r.body);
                    r.body["id"].as_str().unwrap().to_string()
                };
                pair.push((r, email, id_no));
            }
            let (use_id, email, id_no) = pair.remove(0);
            records.insert((role, relation), (use_id, pair.remove(0).0, email, id_no));
        }
    }
    World { tokens, records }
}

/// Records owned by the admin are created through `sejf import --owner admin` (admins may not
/// create people through the API).
async fn create_as_operator(install: &Install, body: &Value) -> String {
    let csv = install.root.join(format!("{}.csv", uuid::Uuid::now_v7().simple()));
    std::fs::write(
        &csv,
        format!(
            "first_name,last_name,email,phone,national_id,birth_date,notes\n{},{},{},{},{},{},{}\n",
            body["first_name"].as_str().unwrap(),
            body["last_name"].as_str().unwrap(),
            body["email"].as_str().unwrap(),
            body["phone"].as_str().unwrap(),
            body["national_id"].as_str().unwrap(),
            body["birth_date"].as_str().unwrap(),
            body["notes"].as_str().unwrap()
        ),
    )
    .unwrap();
    let out = install.cli(&["import", csv.to_str().unwrap(), "--owner", "admin"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The id is looked up later by e-mail, as the dpo (who reads every unit).
    String::new()
}

async fn the_access_matrix(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let w = world(&install, &server).await;
    let dpo = w.tokens["dpo"].clone();
    let mut checked = 0;
    for role in ROLES {
        let t = &w.tokens[role];
        let listed: Vec<String> = {
            let r = server.call("GET", "/people?limit=500", t, None).await;
            assert_eq!(r.status, 200);
            r.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
        };
        for relation in RELATIONS {
            let (mut id, del_id, email, id_no) = w.records[&(role, relation)].clone();
            if id.is_empty() {
                // Created by import: look it up as the dpo, who reads every unit.
                let r = server.call("POST", "/people/search", &dpo, Some(json!({"email": email}))).await;
                id = r.body["items"][0]["id"].as_str().unwrap().to_string();
            }
            let (read, personal, sensitive, write) = expected(role, relation);
            let what = format!("{role} on a {relation} record");
            let got = server.call("GET", &format!("/people/{id}"), t, None).await;
            if !read {
                got.assert_problem(404, None);
                assert!(!listed.contains(&id), "{what}: listed");
            } else {
                assert_eq!(got.status, 200, "{what}: {}", got.body);
                assert!(listed.contains(&id), "{what}: not listed");
                let b = &got.body;
                assert_eq!(b["email"] == email, personal, "{what}: e-mail shown = {personal}? {b}");
                if !personal {
                    assert_eq!(b["email"].as_str().unwrap(), format!("{}***@***", &role[..1]), "{what}: the domain is hidden too: {b}");
                    assert_eq!(b["last_name"].as_str().unwrap().len(), 4, "{what}: masked name {b}");
                }
                assert_eq!(b["national_id"] == id_no, sensitive, "{what}: national id shown = {sensitive}? {b}");
                assert_eq!(b["notes"] == "poufne", personal, "{what}: notes shown = {personal}? {b}");
                assert_eq!(b["notes"].is_null(), !personal, "{what}: notes left out = {}? {b}", !personal);
                assert_eq!(b["birth_date"].is_null(), !sensitive, "{what}: birth date left out = {}? {b}", !sensitive);
                if !sensitive {
                    assert_eq!(b["national_id"].as_str(), Some(format!("*******{}", &id_no[7..]).as_str()), "{what}: {b}");
                    let masked = b["masked"].as_array().unwrap();
                    assert!(masked.iter().any(|m| m == "national_id") && masked.iter().any(|m| m == "birth_date"), "{what}: {b}");
                }
            }
            // Search by a value confirms it only to those who may read that field.
            let by_email = server.call("POST", "/people/search", t, Some(json!({"email": email}))).await;
            assert_eq!(by_email.body["items"].as_array().unwrap().len(), usize::from(read && personal), "{what}: search by e-mail");
            let by_id = server.call("POST", "/people/search", t, Some(json!({"national_id": id_no}))).await;
            assert_eq!(by_id.body["items"].as_array().unwrap().len(), usize::from(read && sensitive), "{what}: search by PESEL");
            // Writes: allowed, forbidden (readable), or not found (invisible).
            let etag = if read { got.etag() } else { "\"1\"".to_string() };
            let patch = server
                .call_with("PATCH", &server.url(&format!("/people/{id}")), t, Some(json!({"tags": ["x"]})), &[("if-match", &etag)])
                .await;
            let want = if write {
                200
            } else if read {
                403
            } else {
                404
            };
            assert_eq!(patch.status, want, "{what}: PATCH {}", patch.body);
            let mut del_id = del_id;
            if del_id.is_empty() {
                let del_email = email.replace("-use@", "-delete@");
                let r = server.call("POST", "/people/search", &dpo, Some(json!({"email": del_email}))).await;
                del_id = r.body["items"][0]["id"].as_str().unwrap().to_string();
            }
            let del = server.call("DELETE", &format!("/people/{del_id}"), t, None).await;
            let want = if write {
                204
            } else if read {
                403
            } else {
                404
            };
            assert_eq!(del.status, want, "{what}: DELETE {}", del.body);
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

async fn reveal_needs_a_purpose_and_a_permission(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let pa = install.add_user("ala", "sales", &["north"]);
    let pb = install.add_user("bob", "sales", &["north"]);
    let ps = install.add_user("sam", "support", &["north"]);
    let (ta, tb, ts) = (server.login("ala", &pa).await, server.login("bob", &pb).await, server.login("sam", &ps).await);
    let r = server
        .call("POST", "/people", &ta, Some(json!({"first_name": "Jan", "national_id": "44051401359", "birth_date": "1944-05-14"})))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    // PESEL and birth date are need-to-know: Ala, who owns the record, sees them masked too.
    let own = server.call("GET", &format!("/people/{id}"), &ta, None).await;
    assert_eq!((own.body["national_id"].as_str(), own.body["birth_date"].as_str()), (Some("*******1359"), None), "{}", own.body);
    // Bob (same team) sees the PESEL masked; revealing needs a purpose.
    assert_eq!(server.call("GET", &format!("/people/{id}"), &tb, None).await.body["national_id"], "*******1359");
    let path = format!("/people/{id}/reveal");
    server.call("POST", &path, &tb, Some(json!({"fields": ["national_id"], "purpose": ""}))).await.assert_problem(422, Some("purpose"));
    server
        .call("POST", &path, &tb, Some(json!({"fields": ["shoe_size"], "purpose": "contract"})))
        .await
        .assert_problem(422, Some("fields"));
    let ok = server.call("POST", &path, &tb, Some(json!({"fields": ["national_id"], "purpose": "contract signature"}))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["national_id"], "44051401359");
    assert!(ok.body["birth_date"].is_null(), "only what was asked is revealed");
    // The owner reveals the same way, and so does support in the unit; each reveal is recorded
    // with its purpose.
    let mine = server.call("POST", &path, &ta, Some(json!({"fields": ["birth_date"], "purpose": "age check for the contract"}))).await;
    assert_eq!(mine.body["birth_date"], "1944-05-14", "{}", mine.body);
    let sup = server.call("POST", &path, &ts, Some(json!({"fields": ["national_id"], "purpose": "customer called"}))).await;
    assert_eq!(sup.body["national_id"], "44051401359", "{}", sup.body);
    server.call("POST", &path, &ts, Some(json!({"fields": ["national_id"], "purpose": "x"}))).await.assert_problem(422, Some("purpose"));
    let out = install.cli(&["audit", "export"], None);
    let reveals: Vec<(String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
        .filter(|e| e["action"] == "person.reveal")
        .map(|e| (e["actor"].as_str().unwrap().into(), e["fields"].as_str().unwrap().into(), e["purpose"].as_str().unwrap().into()))
        .collect();
    let expect = |a: &str, f: &str, p: &str| (a.to_string(), f.to_string(), p.to_string());
    assert_eq!(
        reveals,
        vec![
            expect("bob", "national_id", "contract signature"),
            expect("ala", "birth_date", "age check for the contract"),
            expect("sam", "national_id", "customer called")
        ]
    );
}

async fn units_are_data_walls_and_roles_are_guarded(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let pn = install.add_user("nora", "sales", &["north"]);
    let ps = install.add_user("sven", "sales", &["south"]);
    let (tn, ts) = (server.login("nora", &pn).await, server.login("sven", &ps).await);
    let r = server
        .call("POST", "/people", &tn, Some(json!({"first_name": "Ukryta", "last_name": "Północna", "email": "north@example.pl"})))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    // South cannot find, read, infer (search, list, link) or touch it.
    server.call("GET", &format!("/people/{id}"), &ts, None).await.assert_problem(404, None);
    assert!(server.call("GET", "/people", &ts, None).await.body["items"].as_array().unwrap().is_empty());
    assert!(server.call("POST", "/people/search", &ts, Some(json!({"name": "ukryta"}))).await.body["items"].as_array().unwrap().is_empty());
    server.call("POST", "/deals", &ts, Some(json!({"title": "Sneaky", "person_id": id}))).await.assert_problem(422, Some("person_id"));
    // Sales may not place records in another unit, nor give them to someone else.
    server.call("POST", "/people", &tn, Some(json!({"first_name": "Z", "unit": "south"}))).await.assert_problem(422, Some("unit"));
    let sven_id = server.call("GET", "/me", &ts, None).await.body["id"].clone();
    let refused = server.call("POST", "/people", &tn, Some(json!({"first_name": "Z", "owner_id": sven_id}))).await;
    refused.assert_problem(403, None);
    assert!(!refused.body.to_string().contains("south"), "a refusal names no other user's unit: {}", refused.body);
    // Admins manage users on the admin listener, but nobody changes their own role.
    let admin = server.admin_token().await;
    let url = |u: &str| format!("{}/api/v1/users/{u}", server.admin);
    let me = server.call_with("PATCH", &url("admin"), &admin, Some(json!({"role": "manager"})), &[]).await;
    me.assert_problem(403, None);
    let promoted = server.call_with("PATCH", &url("nora"), &admin, Some(json!({"role": "support"})), &[]).await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.body["role"], "support");
    server.call("GET", "/me", &tn, None).await.assert_problem(401, None);
    // A non-admin cannot use the admin API at all.
    server.call_with("GET", &format!("{}/api/v1/users", server.admin), &ts, None, &[]).await.assert_problem(403, None);
    // The admin sees that records exist, never their personal data.
    let seen = server.call("GET", &format!("/people/{id}"), &admin, None).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["email"], "n***@***");
    server.call("POST", "/people", &admin, Some(json!({"first_name": "Z"}))).await.assert_problem(403, None);
}

on_both!(policies_are_files_checked_tested_and_reloaded, roles_are_held_to_their_networks);

async fn policies_are_files_checked_tested_and_reloaded(backend: Backend) {
    let install = Install::new(backend).await;
    let policy_file = install.data_dir.join("policies.cedar");
    assert!(policy_file.exists(), "init writes the default policies into the data directory");
    let out = install.cli(&["policy", "check"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let who = install.cli(&["policy", "who-can", "--action", "read", "--field", "national_id"], None);
    let who = String::from_utf8_lossy(&who.stdout).to_string();
    assert!(who.contains("manager: own, team") && who.contains("dpo: own, team, other"), "{who}");
    assert!(!who.contains("admin") && !who.contains("sales") && !who.contains("support") && !who.contains("auditor"), "{who}");
    let reveal = install.cli(&["policy", "who-can", "--action", "reveal", "--field", "birth_date"], None);
    let reveal = String::from_utf8_lossy(&reveal.stdout).to_string();
    assert!(reveal.contains("sales: own, team") && reveal.contains("support: own, team"), "{reveal}");
    let bad = install.root.join("bad.cedar");
    std::fs::write(&bad, "permit (principal, action == Sejf::Action::\"fly\", resource);").unwrap();
    let out = install.cli(&["policy", "check", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let pw = install.add_user("ida", "manager", &["north"]);
    let server = install.serve();
    let t = server.login("ida", &pw).await;
    let r = server.call("POST", "/people", &t, Some(json!({"first_name": "Ewa", "national_id": "44051401359"}))).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let test = install.cli(&["policy", "test", "--user", "ida", "--action", "read", "--field", "national_id", "--resource", &id], None);
    let text = String::from_utf8_lossy(&test.stdout).to_string();
    assert!(text.starts_with("allow") && text.contains("policy: "), "{text}");
    let test = install.cli(&["policy", "test", "--user", "ida", "--action", "manage_users", "--resource", "system"], None);
    assert!(String::from_utf8_lossy(&test.stdout).starts_with("deny"));

    // An invalid edit is refused on SIGHUP and the old set stays; a valid one takes effect.
    let pid = server.child.as_ref().unwrap().id().to_string();
    let hup = || std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    std::fs::write(&policy_file, "this is not cedar").unwrap();
    hup();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(server.call("GET", &format!("/people/{id}"), &t, None).await.body["national_id"], "44051401359");
    let stricter = format!(
        "{}\n@id(\"no-sensitive-for-managers\")\nforbid (principal in Sejf::Role::\"manager\", action == Sejf::Action::\"read_field\", resource)\nwhen {{ context.class == Sejf::FieldClass::\"sensitive\" }};\n",
        sejf_policy::PolicyEngine::DEFAULT_POLICIES
    );
    std::fs::write(&policy_file, stricter).unwrap();
    hup();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(server.call("GET", &format!("/people/{id}"), &t, None).await.body["national_id"], "*******1359", "the forbid wins");
    // Both reloads are in the trail, the refused one too.
    let out = install.cli(&["audit", "export", "--format", "jsonl"], None);
    let reloads: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| e["event"].clone())
        .filter(|e| e["action"] == "policy.reload")
        .collect();
    let outcomes: Vec<&str> = reloads.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["refused", "ok"], "{reloads:?} {}", String::from_utf8_lossy(&out.stderr));
    // The export itself is the next event, saying how much it took.
    let exported = String::from_utf8_lossy(&out.stdout).lines().count();
    let again = install.cli(&["audit", "export", "--format", "jsonl", "--after", &exported.to_string()], None);
    let first: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&again.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["event"]["action"], "audit.export", "{first}");
    assert_eq!(first["event"]["detail"], format!("events={exported} after=0"), "{first}");
}

async fn roles_are_held_to_their_networks(backend: Backend) {
    let install = Install::new(backend).await;
    let pw_s = install.add_user("sia", "sales", &["north"]);
    let pw_m = install.add_user("max", "manager", &["north"]);
    let cfg = install.data_dir.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\ntrusted_proxies = [\"127.0.0.1\"]\nrole_networks = { sales = [\"10.0.0.0/8\"] }\n");
    std::fs::write(&cfg, text).unwrap();
    let server = install.serve();
    // Managers may work from anywhere; sales only from 10/8 (here: via the trusted proxy).
    let tm = server.login("max", &pw_m).await;
    assert_eq!(server.call("GET", "/me", &tm, None).await.status, 200);
    let r = server.post_login(json!({"username": "sia", "password": pw_s})).await;
    r.assert_problem(403, None);
    assert!(r.body["type"].as_str().unwrap().ends_with("/network-not-allowed"));
    let via = server
        .client
        .post(server.url("/auth/login"))
        .header("x-forwarded-for", "10.1.2.3")
        .json(&json!({"username": "sia", "password": pw_s}))
        .send()
        .await
        .unwrap();
    assert_eq!(via.status(), 200, "from 10.1.2.3 through the proxy");
    let token: serde_json::Value = via.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    // The token itself is refused from outside the network.
    let outside = server.call("POST", "/auth/mfa/enroll", &token, None).await;
    outside.assert_problem(403, None);
    let inside = server.call_with("POST", &server.url("/auth/mfa/enroll"), &token, None, &[("x-forwarded-for", "10.1.2.3")]).await;
    assert_eq!(inside.status, 200, "{}", inside.body);
}
