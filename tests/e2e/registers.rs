//! The dpo's registers: processors (vendors) and disclosures to them (refused unless registered,
//! approved, signed, reviewed and allowed the categories; marketing only with current consent;
//! recorded per person; told at erasure), and breaches (72-hour deadline, affected set from the
//! trail, the Art. 33 draft, alerts).

use serde_json::{Value, json};

use crate::harness::{Backend, Install, Server, person};
use crate::on_both;

on_both!(disclosures_go_only_to_registered_processors_and_consenting_people, breaches_have_a_deadline_and_an_affected_set);

fn mailer(next_review: &str) -> Value {
    json!({"name": "mailer", "service": "newsletter delivery", "categories": ["contact"], "country": "PL",
           "dpa_signed_on": "2026-01-15", "last_review_on": "2026-06-01", "next_review_due": next_review})
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

async fn new_person(server: &Server, token: &str, first: &str, email: &str) -> String {
    let r = server.call("POST", "/people", token, Some(person(first, "Odbiorca", email, "601 100 200", Some("44051401359")))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn csv_emails(body: &Value) -> Vec<String> {
    let text = body.as_str().unwrap_or_default();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let at = head.iter().position(|h| *h == "email").expect("an email column");
    lines.map(|l| l.split(',').nth(at).unwrap_or_default().to_string()).collect()
}

async fn trail_has(install: &Install, action: &str, outcome: &str, detail: &str) -> bool {
    let out = install.cli(&["audit", "export", "--format", "jsonl"], None);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).any(|e| {
        e["event"]["action"] == action && e["event"]["outcome"] == outcome && e["event"]["detail"].as_str().unwrap_or("").contains(detail)
    })
}

async fn disclosures_go_only_to_registered_processors_and_consenting_people(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let anna = new_person(&server, &sam, "Anna", "anna@odbiorca.pl").await;
    let bartek = new_person(&server, &sam, "Bartek", "bartek@odbiorca.pl").await;
    let _celina = new_person(&server, &sam, "Celina", "celina@odbiorca.pl").await;
    for (id, channel) in [(&anna, "email"), (&bartek, "email")] {
        let c = json!({"purpose": "newsletter", "channel": channel, "granted": true, "wording_version": "v2"});
        assert_eq!(server.call("POST", &format!("/people/{id}/consents"), &sam, Some(c)).await.status, 201);
    }
    let send = |purpose: &str| json!({"purpose": purpose, "channel": "email"});

    // The register: dpo only; bad entries are refused naming the field.
    server.call("POST", "/processors", &sam, Some(mailer("2027-06-01"))).await.assert_problem(403, None);
    let mut bad = mailer("2027-06-01");
    bad["country"] = json!("US");
    server.call("POST", "/processors", &dora, Some(bad)).await.assert_problem(422, Some("transfer_safeguard"));
    let mut bad = mailer("2027-06-01");
    bad["categories"] = json!(["gossip"]);
    server.call("POST", "/processors", &dora, Some(bad)).await.assert_problem(422, Some("categories"));

    // An unregistered processor: refused and audited.
    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("newsletter"))).await;
    r.assert_problem(403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("not in the processor register"), "{}", r.body);
    assert!(trail_has(&install, "gdpr.disclose", "denied", "not in the processor register").await);

    // Registered for contact data only: the newsletter (contact) goes, marketing (identification
    // and contact) does not.
    let p = server.call("POST", "/processors", &dora, Some(mailer("2027-06-01"))).await;
    assert_eq!((p.status, p.body["blocked"].clone()), (200, Value::Null), "{}", p.body);
    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("marketing"))).await;
    r.assert_problem(403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("may not receive the category \"identification\""), "{}", r.body);
    assert!(trail_has(&install, "gdpr.disclose", "denied", "identification").await);
    server
        .call("POST", "/processors/mailer/disclosures", &dora, Some(json!({"purpose": "newsletter"})))
        .await
        .assert_problem(422, Some("channel"));

    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("newsletter"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    let text = r.body.as_str().unwrap();
    assert!(text.starts_with("email,phone,"), "only the contact columns: {text}");
    assert!(!text.contains("44051401359") && !text.contains("Anna"), "no category beyond contact: {text}");
    let mut sent = csv_emails(&r.body);
    sent.sort();
    assert_eq!(sent, ["anna@odbiorca.pl", "bartek@odbiorca.pl"], "only people who consented on e-mail");

    // Withdrawing consent removes the person from the next marketing export; so do an objection
    // and a restriction.
    let w = json!({"purpose": "newsletter", "channel": "email", "granted": false});
    assert_eq!(server.call("POST", &format!("/people/{bartek}/consents"), &sam, Some(w)).await.status, 201);
    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("newsletter"))).await;
    assert_eq!(csv_emails(&r.body), ["anna@odbiorca.pl"]);
    let restrict = server.call("POST", &format!("/people/{anna}/restrict"), &dora, Some(json!({"reason": "accuracy contested"}))).await;
    assert!(restrict.status < 300, "{}", restrict.body);
    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("newsletter"))).await;
    assert!(csv_emails(&r.body).is_empty(), "a restricted person is never sent: {}", r.body);
    assert_eq!(server.call("DELETE", &format!("/people/{anna}/restrict"), &dora, None).await.status, 204);

    // Recorded per person: the access export lists the processor as a recipient.
    let export = server.call("GET", &format!("/people/{anna}/export"), &dora, None).await;
    let recipients = export.body["recipients"].to_string();
    assert!(recipients.contains("processor mailer (contact, for newsletter"), "{recipients}");

    // A review overdue or no agreement: nothing goes.
    let mut stale = mailer("2020-01-01");
    stale["last_review_on"] = json!("2019-01-01");
    assert_eq!(server.call("POST", "/processors", &dora, Some(stale)).await.status, 200);
    let r = server.call("POST", "/processors/mailer/disclosures", &dora, Some(send("newsletter"))).await;
    r.assert_problem(403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("overdue for its security review"), "{}", r.body);
    let list = server.call("GET", "/processors", &dora, None).await;
    assert_eq!(list.body["items"][0]["review_overdue"], true, "{}", list.body);
    let mut alerted = false;
    for _ in 0..40 {
        if server.call("GET", "/alerts", &dora, None).await.body.to_string().contains("processor-review-overdue") {
            alerted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(alerted, "an overdue review raises an alert");

    // Erasure tells the recipients (Art. 19): listed in the receipt, an alert per processor.
    let erased = server.call("POST", &format!("/people/{anna}/erase"), &dora, Some(json!({"reason": "asked by e-mail"}))).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let receipt: Value = serde_json::from_str(erased.body["receipt"].as_str().unwrap()).unwrap();
    assert_eq!(receipt["recipients_to_notify"], json!(["mailer"]), "{receipt}");
    let alerts = server.call("GET", "/alerts", &dora, None).await.body.to_string();
    assert!(alerts.contains("erasure-notice") && alerts.contains("tell processor mailer"), "{alerts}");

    // The CLI mirrors it, and the records of processing list the processor.
    let out = install.cli(&["gdpr", "processors"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mailer"), "{}", String::from_utf8_lossy(&out.stderr));
    let put = install.cli(
        &[
            "gdpr",
            "processors",
            "put",
            "--name",
            "crm-cloud",
            "--service",
            "hosting",
            "--category",
            "contact,identification",
            "--country",
            "US",
            "--safeguard",
            "SCC 2021/914",
            "--dpa-signed",
            "2026-02-01",
            "--next-review",
            "2030-01-01",
        ],
        None,
    );
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));
    let ropa = String::from_utf8_lossy(&install.cli(&["gdpr", "ropa"], None).stdout).to_string();
    assert!(ropa.contains("| crm-cloud | hosting |") && ropa.contains("crm-cloud (US): SCC 2021/914"), "{ropa}");
    let out_file = install.root.join("marketing.csv");
    let refused = install.cli(
        &[
            "gdpr",
            "disclose",
            "--processor",
            "nobody",
            "--purpose",
            "newsletter",
            "--channel",
            "email",
            "--out",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not in the processor register"));
    assert!(!out_file.exists(), "nothing written when refused");
    let ok = install.cli(
        &[
            "gdpr",
            "disclose",
            "--processor",
            "crm-cloud",
            "--purpose",
            "marketing",
            "--channel",
            "sms",
            "--out",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(text.lines().count(), 1, "nobody consented to marketing by SMS: {text}");
    assert!(text.starts_with("first_name,last_name,email,phone,birth_date"), "{text}");
}

async fn breaches_have_a_deadline_and_an_affected_set(backend: Backend) {
    let install = Install::new(backend).await;
    let sam_pw = install.add_user("sam", "sales", &["north"]);
    let olek_pw = install.add_user("olek", "sales", &["north"]);
    let dora_pw = install.add_user("dora", "dpo", &["main"]);
    let server = install.serve();
    let sam = server.login("sam", &sam_pw).await;
    let olek = server.login("olek", &olek_pw).await;
    let dora = server.login("dora", &dora_pw).await;
    let a = new_person(&server, &sam, "Adam", "adam@wyciek.pl").await;
    let b = new_person(&server, &sam, "Beata", "beata@wyciek.pl").await;
    let _c = new_person(&server, &sam, "Cezary", "cezary@wyciek.pl").await;
    let from = sejf_core::rfc3339(now() - 1_000_000);
    for id in [&a, &b] {
        assert_eq!(server.call("GET", &format!("/people/{id}"), &olek, None).await.status, 200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let to = sejf_core::rfc3339(now() + 1_000_000);

    let detected = sejf_core::rfc3339(now() - 71 * 3_600_000_000);
    let breach = json!({"title": "Laptop lost", "detected_at": detected, "nature": "an unencrypted export on a lost laptop",
        "categories": ["contact"], "actor": "olek", "from": from, "to": to, "measures": "olek's sessions revoked"});
    server.call("POST", "/breaches", &sam, Some(breach.clone())).await.assert_problem(403, None);
    let mut bad = breach.clone();
    bad["to"] = json!(from);
    server.call("POST", "/breaches", &dora, Some(bad)).await.assert_problem(422, Some("to"));
    let mut bad = breach.clone();
    bad["detected_at"] = json!("last week");
    server.call("POST", "/breaches", &dora, Some(bad)).await.assert_problem(422, Some("detected_at"));

    let r = server.call("POST", "/breaches", &dora, Some(breach)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["approx_people"], 2, "the affected set from the trail: {}", r.body);
    assert_eq!((r.body["hours_left"].as_i64(), r.body["overdue"].as_bool()), (Some(0), Some(false)), "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();

    let one = server.call("GET", &format!("/breaches/{id}"), &dora, None).await;
    let mut affected: Vec<String> =
        one.body["affected"].as_array().unwrap().iter().map(|x| x["person_id"].as_str().unwrap().to_string()).collect();
    affected.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(affected, expected, "exactly the people olek read");
    let draft = one.body["notification_draft"].as_str().unwrap();
    assert!(draft.contains("GDPR Art. 33") && draft.contains("UODO") && draft.contains("about 2") && draft.contains("olek"), "{draft}");

    // Less than 24 hours left and not notified: an alert.
    let mut alerted = false;
    for _ in 0..40 {
        if server.call("GET", "/alerts", &dora, None).await.body.to_string().contains("breach-deadline") {
            alerted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(alerted, "a breach near its deadline raises an alert");

    let done = server.call("POST", &format!("/breaches/{id}/notified"), &dora, Some(json!({}))).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body["authority_notified_at"].is_string() && done.body["hours_left"].is_null(), "{}", done.body);
    server.call("POST", &format!("/breaches/{id}/notified"), &dora, Some(json!({}))).await.assert_problem(409, None);

    // Past 72 hours, the notification needs the reasons for the delay.
    let late = json!({"title": "Found late", "detected_at": sejf_core::rfc3339(now() - 80 * 3_600_000_000),
        "nature": "misdirected e-mail"});
    let r = server.call("POST", "/breaches", &dora, Some(late)).await;
    assert_eq!(r.body["overdue"], true, "{}", r.body);
    let late_id = r.body["id"].as_str().unwrap().to_string();
    server.call("POST", &format!("/breaches/{late_id}/notified"), &dora, Some(json!({}))).await.assert_problem(422, Some("delay_reason"));
    let d = server.call("POST", &format!("/breaches/{late_id}/delay"), &dora, Some(json!({"reason": "found in a weekend audit"}))).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(server.call("POST", &format!("/breaches/{late_id}/notified"), &dora, Some(json!({}))).await.status, 200);

    // The CLI shows the register and the draft.
    let list = String::from_utf8_lossy(&install.cli(&["gdpr", "breach", "list"], None).stdout).to_string();
    assert!(list.contains(&id) && list.contains("authority notified"), "{list}");
    let md = String::from_utf8_lossy(&install.cli(&["gdpr", "breach", "show", &id], None).stdout).to_string();
    assert!(md.contains("## (d) Measures taken or proposed") && md.contains("sessions revoked"), "{md}");
}
