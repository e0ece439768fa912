//! Separation of duties in user administration: privileged grants wait for a second
//! administrator, the trail names the acting administrator, and a password an administrator set
//! opens nothing but its own change.

use serde_json::{Value, json};

use crate::harness::{Backend, Install, Server};
use crate::on_both;

const DORA_PW: &str = "dora: violet-harbour-3-lantern";
const DORA_NEW: &str = "dora: copper-meadow-9-whistle";

async fn admin_call(server: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> crate::harness::Resp {
    server.call_with(method, &format!("{}/api/v1{path}", server.admin), token, body, &[]).await
}

on_both!(a_privileged_account_needs_a_second_admin_and_a_new_password);

async fn a_privileged_account_needs_a_second_admin_and_a_new_password(backend: Backend) {
    let install = Install::new(backend).await;
    let ada_pw = install.add_user("ada", "admin", &[]);
    let aud_pw = install.add_user("aud", "auditor", &[]);
    let server = install.serve();
    let (admin, ada, aud) = (server.admin_token().await, server.login("ada", &ada_pw).await, server.login("aud", &aud_pw).await);

    // The admin creates a dpo account: it exists, disabled, with a pending grant.
    let created =
        admin_call(&server, "POST", "/users", &admin, Some(json!({"username": "dora", "role": "dpo", "password": DORA_PW}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["disabled"], true);
    assert_eq!(created.body["must_change_password"], true);
    let grant = created.body["pending_grant"]["id"].as_str().expect("a pending grant").to_string();
    assert_eq!(created.body["pending_grant"]["status"], "pending");
    // Nobody can use it yet, not even with the password the admin set.
    server.post_login(json!({"username": "dora", "password": DORA_PW})).await.assert_problem(401, None);
    // The admin who asked cannot approve it; the grant is listed for a second admin.
    let listed = admin_call(&server, "GET", "/role-grants", &ada, None).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|g| g["id"] == grant.as_str()), "{}", listed.body);
    admin_call(&server, "POST", &format!("/role-grants/{grant}/approve"), &admin, None).await.assert_problem(403, None);
    server.post_login(json!({"username": "dora", "password": DORA_PW})).await.assert_problem(401, None);

    // The trail names the acting admin, their address and the request; a high alert was raised.
    let trail = server.call("GET", "/audit?action=user.create", &aud, None).await;
    let ev = trail.body["items"].as_array().unwrap().iter().find(|e| e["detail"] == "role=dpo").expect("user.create event").clone();
    assert_eq!(ev["actor"], "admin", "{ev}");
    assert_eq!(ev["role"], "admin", "{ev}");
    assert_eq!(ev["client"], "127.0.0.1", "{ev}");
    assert!(!ev["request_id"].as_str().unwrap().is_empty(), "{ev}");
    let alerts = server.call("GET", "/alerts", &aud, None).await;
    assert!(
        alerts.body["items"].as_array().unwrap().iter().any(|a| a["resource_id"] == "privileged-role-requested" && a["outcome"] == "high"),
        "{}",
        alerts.body
    );

    // A second admin approves; a grant is decided once.
    let approved = admin_call(&server, "POST", &format!("/role-grants/{grant}/approve"), &ada, None).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["decided_by"], "ada");
    admin_call(&server, "POST", &format!("/role-grants/{grant}/refuse"), &ada, None).await.assert_problem(409, None);
    let trail = server.call("GET", "/audit?action=user.grant.approve", &aud, None).await;
    assert_eq!(trail.body["items"][0]["actor"], "ada", "{}", trail.body);

    // The first sign-in may only change the password.
    let first = server.post_login(json!({"username": "dora", "password": DORA_PW})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["password_change_required"], true, "{}", first.body);
    let t = first.body["token"].as_str().unwrap().to_string();
    for (method, path) in [("GET", "/me"), ("GET", "/people"), ("GET", "/audit"), ("GET", "/auth/sessions"), ("POST", "/auth/mfa/enroll")] {
        let r = server.call(method, path, &t, None).await;
        r.assert_problem(403, None);
        assert!(r.body["type"].as_str().unwrap().ends_with("/password-change-required"), "{method} {path}: {}", r.body);
    }
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    server.call("POST", "/auth/password", &t, Some(change("wrong-password-entirely", DORA_NEW))).await.assert_problem(401, None);
    server.call("POST", "/auth/password", &t, Some(change(DORA_PW, "short"))).await.assert_problem(422, Some("new_password"));
    let ok = server.call("POST", "/auth/password", &t, Some(change(DORA_PW, DORA_NEW))).await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    server.call("POST", "/auth/password", &t, Some(change(DORA_NEW, DORA_PW))).await.assert_problem(401, None);
    // The old password is gone; the new one signs in (enrolling TOTP) as a dpo.
    server.post_login(json!({"username": "dora", "password": DORA_PW})).await.assert_problem(401, None);
    let dora = server.login("dora", DORA_NEW).await;
    let me = server.call("GET", "/me", &dora, None).await;
    assert_eq!((me.status, me.body["role"].clone()), (200, json!("dpo")), "{}", me.body);
}

on_both!(a_refused_creation_leaves_a_least_privileged_account);

async fn a_refused_creation_leaves_a_least_privileged_account(backend: Backend) {
    let install = Install::new(backend).await;
    let ada_pw = install.add_user("ada", "admin", &[]);
    let server = install.serve();
    let (admin, ada) = (server.admin_token().await, server.login("ada", &ada_pw).await);
    let created =
        admin_call(&server, "POST", "/users", &admin, Some(json!({"username": "dora", "role": "dpo", "password": DORA_PW}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let grant = created.body["pending_grant"]["id"].as_str().expect("a pending grant").to_string();
    let refused = admin_call(&server, "POST", &format!("/role-grants/{grant}/refuse"), &ada, None).await;
    assert_eq!((refused.status, refused.body["status"].clone()), (200, json!("refused")), "{}", refused.body);
    // Not disabled for ever, and not one `sejf user enable` away from the refused role: the
    // account is enabled as support, and still changes its password first.
    let users = admin_call(&server, "GET", "/users", &ada, None).await;
    let dora = users.body["items"].as_array().unwrap().iter().find(|u| u["username"] == "dora").expect("dora listed").clone();
    assert_eq!((dora["role"].clone(), dora["disabled"].clone()), (json!("support"), json!(false)), "{dora}");
    let first = server.post_login(json!({"username": "dora", "password": DORA_PW})).await;
    assert_eq!((first.status, first.body["password_change_required"].clone()), (200, json!(true)), "{}", first.body);
}

on_both!(role_changes_and_resets_keep_separation_of_duties);

async fn role_changes_and_resets_keep_separation_of_duties(backend: Backend) {
    let install = Install::new(backend).await;
    let ada_pw = install.add_user("ada", "admin", &[]);
    let nora_pw = install.add_user("nora", "sales", &["north"]);
    let server = install.serve();
    let (admin, ada) = (server.admin_token().await, server.login("ada", &ada_pw).await);
    let nora = server.login("nora", &nora_pw).await;

    // A privileged role waits (202); the user keeps the old one; a second admin may refuse it.
    let asked = admin_call(&server, "PATCH", "/users/nora", &admin, Some(json!({"role": "auditor"}))).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.body["role"], "sales");
    let grant = asked.body["pending_grant"]["id"].as_str().unwrap().to_string();
    assert_eq!(server.call("GET", "/me", &nora, None).await.body["role"], "sales");
    // Nobody decides a grant to themselves, even another admin's grant to them.
    let to_ada = admin_call(&server, "PATCH", "/users/ada", &admin, Some(json!({"role": "dpo"}))).await;
    assert_eq!(to_ada.status, 202, "{}", to_ada.body);
    let ada_grant = to_ada.body["pending_grant"]["id"].as_str().unwrap().to_string();
    admin_call(&server, "POST", &format!("/role-grants/{ada_grant}/approve"), &ada, None).await.assert_problem(403, None);
    let refused = admin_call(&server, "POST", &format!("/role-grants/{grant}/refuse"), &ada, None).await;
    assert_eq!((refused.status, refused.body["status"].clone()), (200, json!("refused")), "{}", refused.body);
    assert_eq!(server.call("GET", "/me", &nora, None).await.body["role"], "sales");
    // A role without more reach is set at once.
    let support = admin_call(&server, "PATCH", "/users/nora", &admin, Some(json!({"role": "support"}))).await;
    assert_eq!((support.status, support.body["role"].clone()), (200, json!("support")), "{}", support.body);

    // A reset through the admin API ends the sessions and must be changed at the next sign-in.
    let nora = server.login("nora", &nora_pw).await;
    let reset = admin_call(&server, "PATCH", "/users/nora", &admin, Some(json!({"password": DORA_PW}))).await;
    assert_eq!((reset.status, reset.body["must_change_password"].clone()), (200, json!(true)), "{}", reset.body);
    server.call("GET", "/me", &nora, None).await.assert_problem(401, None);
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let first = server.post_login(json!({"username": "nora", "password": DORA_PW, "totp": code})).await;
    assert_eq!(first.body["password_change_required"], true, "{}", first.body);
    let t = first.body["token"].as_str().unwrap().to_string();
    // An enrolled account also needs a current code to change it.
    let body = json!({"current_password": DORA_PW, "new_password": DORA_NEW});
    server.call("POST", "/auth/password", &t, Some(body)).await.assert_problem(401, None);
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let body = json!({"current_password": DORA_PW, "new_password": DORA_NEW, "totp": code});
    assert_eq!(server.call("POST", "/auth/password", &t, Some(body)).await.status, 204);

    // Self-service change from a full session: the other sessions end, this one stays.
    let one = server.login("nora", DORA_NEW).await;
    let two = server.login("nora", DORA_NEW).await;
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let body = json!({"current_password": DORA_NEW, "new_password": nora_pw, "totp": code});
    let changed = server.call("POST", "/auth/password", &one, Some(body)).await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_eq!(server.call("GET", "/me", &one, None).await.status, 200);
    server.call("GET", "/me", &two, None).await.assert_problem(401, None);
    let trail = server
        .call("GET", "/audit?action=auth.password_change", &server.login("aud", &install.add_user("aud", "auditor", &[])).await, None)
        .await;
    assert!(trail.body["items"].as_array().unwrap().iter().any(|e| e["actor"] == "nora" && e["outcome"] == "ok"), "{}", trail.body);

    // A stolen token cannot guess the current password without limit: after ten wrong ones
    // the change is refused for a while, even with the right password; `sejf user unlock` ends it.
    for i in 0..10 {
        let body = json!({"current_password": format!("guess number {i} of many"), "new_password": DORA_NEW, "totp": "000000"});
        server.call("POST", "/auth/password", &one, Some(body)).await.assert_problem(401, None);
    }
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let body = json!({"current_password": nora_pw, "new_password": DORA_NEW, "totp": code});
    let locked = server.call("POST", "/auth/password", &one, Some(body.clone())).await;
    locked.assert_problem(429, None);
    assert!(locked.headers.get("retry-after").is_some());
    let out = install.cli(&["user", "unlock", "nora"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let body = json!({"current_password": nora_pw, "new_password": DORA_NEW, "totp": code});
    assert_eq!(server.call("POST", "/auth/password", &one, Some(body)).await.status, 204);
}
