//! GDPR/RODO: the access export, erasure by crypto-shredding (receipt, suppression, legal hold),
//! restriction, objection and consents, through the HTTP contract and `sejf gdpr`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::harness::{Backend, Install, Server, person, raw_db};
use crate::on_both;

on_both!(
    export_then_erase_by_crypto_shredding,
    restriction_objection_and_consents,
    the_cli_mirrors_the_routes,
    retention_erases_exactly_what_the_dry_run_lists,
    data_subject_requests_have_deadlines_and_alerts
);

/// A person with a call and a deal, created by `token`; returns (person, activity, deal) ids.
async fn customer(server: &Server, token: &str, last: &str, email: &str) -> (String, String, String) {
    let p = server.call("POST", "/people", token, Some(person("Zofia", last, email, "601 222 333", Some("44051401359")))).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let pid = p.body["id"].as_str().unwrap().to_string();
    let a = server
        .call("POST", "/activities", token, Some(json!({"kind": "call", "body": format!("Rozmowa z {last} o ofercie"), "person_id": pid})))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let d = server.call("POST", "/deals", token, Some(json!({"title": format!("Umowa {last}"), "person_id": pid, "amount": 1200}))).await;
    assert_eq!(d.status, 201, "{}", d.body);
    (pid, a.body["id"].as_str().unwrap().to_string(), d.body["id"].as_str().unwrap().to_string())
}

async fn export_then_erase_by_crypto_shredding(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let mut server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let (pid, aid, did) = customer(&server, &sam, "Wiśniewska", "zofia.w@firma.pl").await;
    let (other, _, _) = customer(&server, &sam, "Kowalczyk", "inna.osoba@firma.pl").await;
    assert_eq!(server.call("GET", &format!("/people/{pid}"), &sam, None).await.status, 200);

    // Only the dpo (the `gdpr` policy action) exports and erases.
    server.call("GET", &format!("/people/{pid}/export"), &sam, None).await.assert_problem(403, None);
    server.call("POST", &format!("/people/{pid}/erase"), &sam, Some(json!({"reason": "asked by phone"}))).await.assert_problem(403, None);
    server.call("GET", "/people/00000000-0000-4000-8000-000000000001/export", &dora, None).await.assert_problem(404, None);
    server.call("GET", &format!("/people/{pid}/export?format=xml"), &dora, None).await.assert_problem(422, Some("format"));

    let consent = json!({"purpose": "newsletter", "channel": "email", "granted": true, "wording_version": "v1"});
    assert_eq!(server.call("POST", &format!("/people/{pid}/consents"), &sam, Some(consent)).await.status, 201);

    // The access export: every value of this person, none of anyone else.
    let export = server.call("GET", &format!("/people/{pid}/export"), &dora, None).await;
    assert_eq!(export.status, 200, "{}", export.body);
    validates_against_the_published_schema(&install, &export.body);
    assert_eq!(export.body["consents"]["current"][0]["purpose"], "newsletter");
    assert!(export.body["purposes"].as_array().unwrap().iter().any(|p| p["name"] == "newsletter" && p["lawful_basis"] == "consent"));
    let b = &export.body;
    assert_eq!(b["format"], "sejf-subject-export/1");
    assert_eq!(b["person"]["email"], "zofia.w@firma.pl");
    assert_eq!(b["person"]["last_name"], "Wiśniewska");
    assert_eq!(b["person"]["national_id"], "44051401359", "the dpo's export is unmasked");
    assert_eq!(b["activities"][0]["body"], "Rozmowa z Wiśniewska o ofercie");
    assert_eq!(b["activities"][0]["id"], aid.as_str());
    assert_eq!(b["deals"][0]["title"], "Umowa Wiśniewska");
    assert_eq!(b["deals"][0]["id"], did.as_str());
    let purposes: Vec<&str> = b["purposes"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(purposes.contains(&"sales_contact"), "{purposes:?}");
    assert!(!b["categories"].as_array().unwrap().is_empty() && !b["recipients"].as_array().unwrap().is_empty());
    assert!(b["retention"]["sales_contact"].is_string());
    assert!(b["rights"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("UODO")));
    assert!(b["source"].as_str().unwrap().contains("sam"), "{}", b["source"]);
    assert!(b["automated_decisions"].is_string());
    let accesses = b["accesses"].as_array().unwrap();
    assert!(accesses.iter().any(|a| a["actor"] == "sam" && a["action"] == "person.read"), "{accesses:?}");
    let text = export.body.to_string();
    assert!(!text.contains("inna.osoba@firma.pl") && !text.contains("Kowalczyk") && !text.contains(&other), "another person leaked");
    let csv = server.call("GET", &format!("/people/{pid}/export?format=csv"), &dora, None).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type().starts_with("text/csv"));
    let csv = csv.body.as_str().unwrap().to_string();
    assert!(csv.starts_with("section,item,field,value") && csv.contains("zofia.w@firma.pl"), "{csv}");

    // A legal hold blocks erasure, with its reason, until released.
    server
        .call("POST", &format!("/people/{pid}/legal-hold"), &dora, Some(json!({"reason": "x"})))
        .await
        .assert_problem(422, Some("reason"));
    let hold = server.call("POST", &format!("/people/{pid}/legal-hold"), &dora, Some(json!({"reason": "court case 12/2026"}))).await;
    assert_eq!(hold.status, 200, "{}", hold.body);
    let refused = server.call("POST", &format!("/people/{pid}/erase"), &dora, Some(json!({"reason": "asked by e-mail"}))).await;
    refused.assert_problem(409, None);
    assert!(refused.body["detail"].as_str().unwrap().contains("court case 12/2026"), "{}", refused.body);
    assert_eq!(server.call("DELETE", &format!("/people/{pid}/legal-hold"), &dora, None).await.status, 204);

    // Erasure answers a receipt signed with the installation's key.
    let erased = server.call("POST", &format!("/people/{pid}/erase"), &dora, Some(json!({"reason": "request of 2026-12-01"}))).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let receipt = erased.body["receipt"].as_str().unwrap();
    let signature = STANDARD.decode(erased.body["signature"].as_str().unwrap()).unwrap();
    let key: [u8; 32] = STANDARD.decode(erased.body["public_key"].as_str().unwrap()).unwrap().try_into().unwrap();
    assert!(sejf_crypto::audit::verify_statement(&key, "sejf erasure receipt v1", receipt.as_bytes(), &signature));
    assert!(!sejf_crypto::audit::verify_statement(&key, "sejf erasure receipt v1", receipt.replace("2026", "2025").as_bytes(), &signature));
    let body: Value = serde_json::from_str(receipt).unwrap();
    assert_eq!((body["person_id"].as_str(), body["erased_by"].as_str()), (Some(pid.as_str()), Some("dora")));

    // Afterwards every route for the person is a 404; their activity went with them; a search by
    // their e-mail finds nothing; the other person is untouched.
    for (method, path) in [
        ("GET", format!("/people/{pid}")),
        ("GET", format!("/people/{pid}/export")),
        ("GET", format!("/people/{pid}/consents")),
        ("POST", format!("/people/{pid}/erase")),
        ("GET", format!("/activities/{aid}")),
    ] {
        let token = if path.contains("export") || path.contains("erase") { &dora } else { &sam };
        server.call(method, &path, token, None).await.assert_problem(404, None);
    }
    let found = server.call("POST", "/people/search", &sam, Some(json!({"email": "zofia.w@firma.pl"}))).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 0, "{}", found.body);
    assert_eq!(server.call("GET", &format!("/people/{other}"), &sam, None).await.status, 200);
    server.stop();

    // The data key is gone, the ledger and the suppression list hold the person (no plaintext).
    let db = raw_db(&install).await;
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keystore WHERE kind = 'subject' AND id = $1")
        .bind(pid.clone())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(keys, 0);
    let ledger: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM erasure_ledger WHERE subject_id = $1").bind(pid.clone()).fetch_one(&db).await.unwrap();
    assert_eq!(ledger, 1);
    let suppressed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM suppression").fetch_one(&db).await.unwrap();
    assert_eq!(suppressed, 2, "e-mail and phone");
    db.close().await;

    // The trail still verifies; the receipt can be had again; a re-import of the e-mail is flagged.
    let verify = install.cli(&["audit", "verify"], None);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let again = install.cli(&["gdpr", "receipt", &pid], None);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stdout).contains(&pid));
    let file = install.root.join("back.csv");
    std::fs::write(&file, "first_name,last_name,email\nZofia,Wiśniewska,zofia.w@firma.pl\nNowa,Osoba,nowa@firma.pl\n").unwrap();
    let out = install.cli(&["import", file.to_str().unwrap(), "--owner", "sam"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("suppression list") && err.contains("nothing was imported"), "{err}");
}

/// Validates `bundle` against docs/schemas/gdpr-export.schema.json (in Rust, never skipped).
fn validates_against_the_published_schema(_install: &Install, bundle: &Value) {
    let errors = schema_errors(&published_schema(), bundle);
    assert!(errors.is_empty(), "the export does not match its schema: {errors:?}");
}

fn published_schema() -> Value {
    serde_json::from_str(include_str!("../../docs/schemas/gdpr-export.schema.json")).unwrap()
}

/// Validates `v` against `schema` (JSON Schema 2020-12) for the keywords the published schema
/// uses: `type`, `enum`, `const`, `pattern`, `format` (`date-time`, `uuid`), `required`,
/// `properties`, `additionalProperties` (`false` or a schema), `items`, `minItems`, `anyOf` and
/// local `$ref`s into `$defs`. Any other keyword is reported as an error, so the schema cannot
/// outgrow the check unnoticed. (A Rust check, so it never skips for want of Python; the
/// `jsonschema` crate would bring an HTTP client and dozens of crates into the build for one
/// assertion.)
fn schema_errors(root: &Value, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    check(root, root, v, "$", &mut errs);
    errs
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        if schema != &json!(true) {
            errs.push(format!("{at}: schema {schema} is not an object"));
        }
        return;
    };
    for (k, rule) in s {
        match k.as_str() {
            "$schema" | "$id" | "$defs" | "title" | "description" => {}
            "$ref" => match rule.as_str().and_then(|r| r.strip_prefix("#/$defs/")).and_then(|name| root["$defs"].get(name)) {
                Some(target) => check(root, target, v, at, errs),
                None => errs.push(format!("{at}: unresolvable $ref {rule}")),
            },
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                let actual = match v {
                    Value::Null => "null",
                    Value::Bool(_) => "boolean",
                    Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                if !(types.contains(&actual) || (actual == "integer" && types.contains(&"number"))) {
                    errs.push(format!("{at}: {actual} is not {types:?}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|a| a.contains(v)) {
                    errs.push(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "const" => {
                if rule != v {
                    errs.push(format!("{at}: {v} is not {rule}"));
                }
            }
            "pattern" => {
                if let Some(t) = v.as_str()
                    && !regex::Regex::new(rule.as_str().unwrap_or("")).unwrap().is_match(t)
                {
                    errs.push(format!("{at}: {t:?} does not match {rule}"));
                }
            }
            "format" => match (rule.as_str(), v.as_str()) {
                (Some("date-time"), Some(t)) if time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err() => {
                    errs.push(format!("{at}: {t:?} is not an RFC 3339 date-time"))
                }
                (Some("uuid"), Some(t)) if uuid::Uuid::parse_str(t).is_err() => errs.push(format!("{at}: {t:?} is not a uuid")),
                (Some("date-time" | "uuid"), _) => {}
                (other, _) => errs.push(format!("{at}: unknown format {other:?}")),
            },
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in rule.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !o.contains_key(r) {
                            errs.push(format!("{at}: {r} is missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(o), Some(props)) = (v.as_object(), rule.as_object()) {
                    for (name, sub) in props {
                        if let Some(x) = o.get(name) {
                            check(root, sub, x, &format!("{at}.{name}"), errs);
                        }
                    }
                }
            }
            "additionalProperties" => {
                let known = s.get("properties").and_then(Value::as_object);
                if let Some(o) = v.as_object() {
                    for (name, x) in o.iter().filter(|(n, _)| !known.is_some_and(|k| k.contains_key(*n))) {
                        if rule == &json!(false) {
                            errs.push(format!("{at}: {name} is not allowed"));
                        } else {
                            check(root, rule, x, &format!("{at}.{name}"), errs);
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        check(root, rule, x, &format!("{at}[{i}]"), errs);
                    }
                }
            }
            "minItems" => {
                if let Some(a) = v.as_array()
                    && (a.len() as u64) < rule.as_u64().unwrap_or(0)
                {
                    errs.push(format!("{at}: fewer than {rule} items"));
                }
            }
            "anyOf" => {
                let any = rule.as_array().into_iter().flatten().any(|alt| {
                    let mut e = Vec::new();
                    check(root, alt, v, at, &mut e);
                    e.is_empty()
                });
                if !any {
                    errs.push(format!("{at}: matches none of anyOf"));
                }
            }
            other => errs.push(format!("{at}: the schema uses {other}, which this check does not know")),
        }
    }
}

/// The check itself refuses what it should, so a passing export means something.
#[test]
fn the_schema_check_refuses_bad_bundles() {
    let schema = published_schema();
    assert!(!schema_errors(&schema, &json!({})).is_empty(), "an empty object lacks every required member");
    let uuid = json!({"$ref": "#/$defs/uuid"});
    let check_one = |s: &Value, v: Value| {
        let mut e = Vec::new();
        check(&schema, s, &v, "$", &mut e);
        e
    };
    assert!(check_one(&uuid, json!("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).is_empty());
    assert!(!check_one(&uuid, json!("not-a-uuid")).is_empty());
    assert!(!check_one(&json!({"$ref": "#/$defs/time"}), json!("yesterday")).is_empty());
    let person = &schema["properties"]["person"];
    assert!(!check_one(person, json!({"smuggled": 1})).is_empty());
    assert!(!check_one(&json!({"anyOf": [{"type": "null"}, {"type": "string"}]}), json!(5)).is_empty());
    assert!(!check_one(&json!({"items": {"type": "string"}, "minItems": 1}), json!([])).is_empty());
    assert!(!check_one(&json!({"not": {}}), json!(1)).is_empty(), "unknown keywords are errors");
}

async fn restriction_objection_and_consents(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let mona_pw = install.add_user("mona", "manager", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let mona = server.login("mona", &mona_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let (pid, aid, _) = customer(&server, &sam, "Nowak", "anna.nowak@firma.pl").await;
    let consents = format!("/people/{pid}/consents");

    // Consent per purpose and channel, with its proof.
    server
        .call("POST", &consents, &sam, Some(json!({"purpose": "newsletter", "channel": "fax", "granted": true})))
        .await
        .assert_problem(422, Some("channel"));
    server
        .call("POST", &consents, &sam, Some(json!({"purpose": "newsletter", "channel": "email"})))
        .await
        .assert_problem(422, Some("granted"));
    server
        .call("POST", &consents, &sam, Some(json!({"purpose": "Bad Purpose", "channel": "email", "granted": true})))
        .await
        .assert_problem(422, Some("purpose"));
    let given = server
        .call(
            "POST",
            &consents,
            &sam,
            Some(json!({"purpose": "newsletter", "channel": "email", "granted": true, "wording_version": "v3", "source": "web form"})),
        )
        .await;
    assert_eq!(given.status, 201, "{}", given.body);
    assert_eq!((given.body["recorded_by"].as_str(), given.body["wording_version"].as_str()), (Some("sam"), Some("v3")));
    assert!(!given.body["client"].as_str().unwrap().is_empty(), "the client address is the proof");
    let sms = server.call("POST", &consents, &sam, Some(json!({"purpose": "newsletter", "channel": "sms", "granted": true}))).await;
    assert_eq!(sms.status, 201);
    let withdrawn =
        server.call("POST", &consents, &sam, Some(json!({"purpose": "newsletter", "channel": "email", "granted": false}))).await;
    assert_eq!(withdrawn.status, 201);
    let state = server.call("GET", &consents, &sam, None).await;
    assert_eq!(state.status, 200, "{}", state.body);
    assert_eq!(state.body["items"].as_array().unwrap().len(), 3, "the full history is kept");
    let current = |v: &Value, channel: &str| {
        v["current"].as_array().unwrap().iter().find(|c| c["purpose"] == "newsletter" && c["channel"] == channel).unwrap()["granted"]
            .clone()
    };
    assert_eq!(current(&state.body, "email"), false, "withdrawn");
    assert_eq!(current(&state.body, "sms"), true, "each channel on its own");

    // An objection to direct marketing outranks consents and is permanent.
    let objection = server.call("POST", &format!("/people/{pid}/objection"), &sam, None).await;
    assert_eq!(objection.status, 200, "{}", objection.body);
    let state = server.call("GET", &consents, &sam, None).await;
    assert_eq!(current(&state.body, "sms"), false);
    server
        .call("POST", &consents, &sam, Some(json!({"purpose": "newsletter", "channel": "sms", "granted": true})))
        .await
        .assert_problem(409, None);
    assert_eq!(server.call("GET", &format!("/people/{pid}/flags"), &dora, None).await.body["items"][0]["flag"], "marketing_objection");

    // Restriction: only the dpo sets it; then sales no longer sees the person, the manager sees
    // but cannot change them, until it is lifted.
    server
        .call("POST", &format!("/people/{pid}/restrict"), &sam, Some(json!({"reason": "accuracy contested"})))
        .await
        .assert_problem(403, None);
    let r = server.call("POST", &format!("/people/{pid}/restrict"), &dora, Some(json!({"reason": "accuracy contested"}))).await;
    assert_eq!((r.status, r.body["restricted"].as_bool()), (200, Some(true)), "{}", r.body);
    server.call("GET", &format!("/people/{pid}"), &sam, None).await.assert_problem(404, None);
    let listed = server.call("GET", "/people", &sam, None).await;
    assert!(!listed.body.to_string().contains(&pid), "a restricted person is not listed to sales");
    let found = server.call("POST", "/people/search", &sam, Some(json!({"email": "anna.nowak@firma.pl"}))).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 0);
    // Their activities are restricted with them.
    server.call("GET", &format!("/activities/{aid}"), &sam, None).await.assert_problem(404, None);
    let acts = server.call("GET", &format!("/activities?person_id={pid}"), &sam, None).await;
    assert_eq!(acts.body["items"].as_array().map(Vec::len), Some(0), "{}", acts.body);
    let seen = server.call("GET", &format!("/people/{pid}"), &mona, None).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let patch = server
        .call_with("PATCH", &server.url(&format!("/people/{pid}")), &mona, Some(json!({"notes": "changed"})), &[("if-match", &seen.etag())])
        .await;
    patch.assert_problem(409, None);
    server.call("DELETE", &format!("/people/{pid}"), &mona, None).await.assert_problem(409, None);
    let exp = server.call("POST", "/exports", &mona, Some(json!({"purpose": "quarterly mailing"}))).await;
    assert_eq!((exp.status, exp.body["record_count"].as_i64()), (201, Some(0)), "a restricted person is never exported: {}", exp.body);
    let lifted = server.call("POST", &format!("/people/{pid}/restrict"), &dora, Some(json!({"lift": true}))).await;
    assert_eq!((lifted.status, lifted.body["restricted"].as_bool()), (200, Some(false)));
    assert_eq!(server.call("GET", &format!("/people/{pid}"), &sam, None).await.status, 200);
    server.call("DELETE", &format!("/people/{pid}/restrict"), &dora, None).await.assert_problem(404, None);

    // Each of these is in the trail.
    let trail = server.call("GET", &format!("/audit?subject={pid}&limit=200"), &dora, None).await;
    let actions: Vec<&str> = trail.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["consent.grant", "consent.withdraw", "consent.read", "gdpr.marketing_objection", "gdpr.restricted", "gdpr.restricted.lift"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

async fn the_cli_mirrors_the_routes(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let mut server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let (pid, _, _) = customer(&server, &sam, "Zięba", "jan.zieba@firma.pl").await;
    let (unread, _, _) = customer(&server, &sam, "Lis", "ola.lis@firma.pl").await;
    assert_eq!(server.call("GET", &format!("/people/{pid}"), &sam, None).await.status, 200);
    server.stop();
    let after = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();

    let out = install.root.join("subject.json");
    let ok = install.cli(&["gdpr", "export", &pid, "--out", out.to_str().unwrap()], None);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bundle: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    validates_against_the_published_schema(&install, &bundle);
    assert_eq!(bundle["person"]["email"], "jan.zieba@firma.pl");
    let twice = install.cli(&["gdpr", "export", &pid, "--out", out.to_str().unwrap()], None);
    assert_eq!(twice.status.code(), Some(1), "an existing file is never overwritten");
    let bad = install.cli(&["gdpr", "export", "not-an-id", "--out", "/tmp/x"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a person id"));

    // The breach query: exactly the people sam read in the window (creating is not reading).
    let report = install.cli(&["gdpr", "breach-report", "--actor", "sam", "--from", &fmt(before), "--to", &fmt(after)], None);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let ids: Vec<&str> = report["people"].as_array().unwrap().iter().map(|p| p["person_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![pid.as_str()], "{report}");
    assert!(!report.to_string().contains(&unread));

    let ropa = install.cli(&["gdpr", "ropa", "--format", "md"], None);
    let ropa = String::from_utf8_lossy(&ropa.stdout).to_string();
    assert!(ropa.contains("| newsletter (marketing) | consent |") && ropa.contains("art. 32"), "{ropa}");

    let erase = install.cli(&["gdpr", "erase", &pid, "--reason", "request by letter of 2026-12-02"], None);
    assert!(erase.status.success(), "{}", String::from_utf8_lossy(&erase.stderr));
    let receipt: Value = serde_json::from_slice(&erase.stdout).unwrap();
    assert_eq!(receipt["person_id"], pid.as_str());
    let again = install.cli(&["gdpr", "erase", &pid, "--reason", "request by letter of 2026-12-02"], None);
    assert_eq!(again.status.code(), Some(1));
    let no_reason = install.cli(&["gdpr", "erase", &unread], None);
    assert_eq!(no_reason.status.code(), Some(2), "--reason is required");
}

async fn retention_erases_exactly_what_the_dry_run_lists(backend: Backend) {
    let install = Install::new(backend).await;
    let cfg = install.data_dir.join("config.toml");
    let rule = "\n[[retention]]\nname = \"stale leads\"\ntag = \"lead\"\nno_activity_days = 0\n";
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap() + rule).unwrap();
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let mut server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let mut ids = Vec::new();
    for (i, tags) in [vec!["lead"], vec!["lead", "vip"], vec!["lead"], vec!["customer"]].into_iter().enumerate() {
        let mut p = person("Stary", &format!("Lead{i}"), &format!("lead{i}@firma.pl"), "601 000 777", None);
        p["tags"] = serde_json::json!(tags);
        let r = server.call("POST", "/people", &sam, Some(p)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // A legal hold exempts a person.
    let hold =
        server.call("POST", &format!("/people/{}/legal-hold", ids[2]), &dora, Some(json!({"reason": "invoice dispute 7/2026"}))).await;
    assert_eq!(hold.status, 200);
    server.stop();
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();

    let dry = install.cli(&["gdpr", "retention", "--dry-run"], None);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let listed: Vec<Value> = serde_json::from_slice(&dry.stdout).unwrap();
    let mut who: Vec<String> = listed.iter().map(|i| i["person_id"].as_str().unwrap().to_string()).collect();
    who.sort();
    assert_eq!(who, expected, "exactly the stale leads without a hold");
    assert!(listed.iter().all(|i| i["rule"] == "stale leads" && i["outcome"] == "would erase"));
    let db = raw_db(&install).await;
    let people = || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM people").fetch_one(&db).await.unwrap() };
    assert_eq!(people().await, 4, "a dry run changes nothing");

    let run = install.cli(&["gdpr", "retention", "run"], None);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let done: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    let mut erased: Vec<String> =
        done.iter().filter(|i| i["outcome"] == "erased").map(|i| i["person_id"].as_str().unwrap().to_string()).collect();
    erased.sort();
    assert_eq!(erased, expected, "the run does exactly what the dry run said");
    assert_eq!(people().await, 2);
    let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM erasure_receipts").fetch_one(&db).await.unwrap();
    assert_eq!(receipts, 2);
    db.close().await;
    let again = install.cli(&["gdpr", "retention", "--dry-run"], None);
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&again.stdout).unwrap().len(), 0);
}

async fn data_subject_requests_have_deadlines_and_alerts(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let (pid, _, _) = customer(&server, &sam, "Prosząca", "prosi@firma.pl").await;

    server.call("POST", "/dsr", &sam, Some(json!({"kind": "access"}))).await.assert_problem(403, None);
    server.call("POST", "/dsr", &dora, Some(json!({"kind": "gossip"}))).await.assert_problem(422, Some("kind"));
    server
        .call("POST", "/dsr", &dora, Some(json!({"kind": "access", "received_at": "yesterday"})))
        .await
        .assert_problem(422, Some("received_at"));
    let r = server
        .call(
            "POST",
            "/dsr",
            &dora,
            Some(json!({"kind": "access", "person_id": pid, "received_at": "2026-11-02T09:00:00Z",
            "identity_check": "ID card shown at the office"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["due_at"].as_str(), r.body["status"].as_str(), r.body["overdue"].as_bool()),
        (Some("2026-12-02T09:00:00Z"), Some("open"), Some(true))
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    let fresh = server.call("POST", "/dsr", &dora, Some(json!({"kind": "erasure"}))).await;
    assert_eq!((fresh.status, fresh.body["overdue"].as_bool()), (201, Some(false)));

    // The overdue request raises one alert (the server checks every ten seconds).
    let mut alerted = false;
    for _ in 0..30 {
        let alerts = server.call("GET", "/alerts", &dora, None).await;
        if alerts.body.to_string().contains("dsr-overdue") {
            alerted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(alerted, "no alert for the overdue request");

    // Extended once by two months with a reason; closed once, a refusal needs its reason.
    server.call("POST", &format!("/dsr/{id}/extend"), &dora, Some(json!({}))).await.assert_problem(422, Some("reason"));
    let ext = server.call("POST", &format!("/dsr/{id}/extend"), &dora, Some(json!({"reason": "many records in archive"}))).await;
    assert_eq!((ext.status, ext.body["due_at"].as_str()), (200, Some("2027-01-31T09:00:00Z")), "{}", ext.body);
    server.call("POST", &format!("/dsr/{id}/extend"), &dora, Some(json!({"reason": "again please"}))).await.assert_problem(409, None);
    server.call("POST", &format!("/dsr/{id}/close"), &dora, Some(json!({"status": "refused"}))).await.assert_problem(422, Some("note"));
    let done =
        server.call("POST", &format!("/dsr/{id}/close"), &dora, Some(json!({"status": "done", "note": "export sent by post"}))).await;
    assert_eq!((done.status, done.body["handled_by"].as_str()), (200, Some("dora")), "{}", done.body);
    server.call("POST", &format!("/dsr/{id}/close"), &dora, Some(json!({"status": "done"}))).await.assert_problem(409, None);
    let open = server.call("GET", "/dsr?status=open", &dora, None).await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1, "{}", open.body);
    let out = install.cli(&["gdpr", "requests"], None);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&id) && text.contains("done") && text.contains("erasure"), "{text}");
}

/// After `POST /people/{id}/erase` neither the SQLite file nor its write-ahead log holds the
/// erased person's wrapped data key or any of their ciphertexts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_leaves_no_wrapped_key_in_the_files() {
    use sqlx::Row;
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let t = server.staff_token(&install).await;
    let dpo_password = install.add_user("iod", "dpo", &["main"]);
    let dpo = server.login("iod", &dpo_password).await;
    let p = server
        .call("POST", "/people", &t, Some(person("Irena", "Ukryta", "irena@ukryta.example", "601 000 503", Some("44051401359"))))
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let id = p.body["id"].as_str().unwrap().to_string();
    let db = raw_db(&install).await;
    let row = sqlx::query("SELECT first_name, email, national_id FROM people WHERE id = $1").bind(&id).fetch_one(&db).await.unwrap();
    let mut secrets: Vec<Vec<u8>> = (0..3).map(|i| row.get::<Vec<u8>, _>(i)).collect();
    let key = sqlx::query("SELECT wrapped FROM keystore WHERE kind = 'subject' AND id = $1").bind(&id).fetch_one(&db).await.unwrap();
    secrets.push(key.get::<Vec<u8>, _>(0));
    db.close().await;
    let files = || ["sejf.db", "sejf.db-wal"].map(|f| std::fs::read(install.data_dir.join(f)).unwrap_or_default());
    let [db_file, wal] = files();
    let held = |bytes: &[u8]| secrets.iter().any(|s| bytes.windows(s.len()).any(|w| w == s.as_slice()));
    assert!(held(&db_file) || held(&wal), "the test needs the files to hold them first");
    let erased = server.call("POST", &format!("/people/{id}/erase"), &dpo, Some(json!({"reason": "asked in writing"}))).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    for (name, bytes) in ["sejf.db", "sejf.db-wal"].iter().zip(files()) {
        for (i, s) in secrets.iter().enumerate() {
            assert!(!bytes.windows(s.len()).any(|w| w == s.as_slice()), "secret {i} (3 = the wrapped key) is still in {name}");
        }
    }
}
