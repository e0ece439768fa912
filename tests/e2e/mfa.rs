//! Mandatory TOTP, recovery codes, password strength and API tokens for integrations.

use serde_json::json;

use crate::harness::{Backend, Install, now_step};
use crate::on_both;

on_both!(a_password_alone_never_yields_a_working_token, passwords_must_be_strong, api_tokens_carry_scopes);

async fn a_password_alone_never_yields_a_working_token(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("zofia", "sales", &["north"]);
    let server = install.serve();
    let first = server.post_login(json!({"username": "zofia", "password": pw})).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["mfa"], "enroll");
    let enrol = first.body["token"].as_str().unwrap().to_string();
    // The enrolment token opens nothing else.
    for (m, path) in [("GET", "/people"), ("GET", "/me"), ("GET", "/auth/sessions"), ("GET", "/deals")] {
        let r = server.call(m, path, &enrol, None).await;
        r.assert_problem(403, None);
        assert!(r.body["type"].as_str().unwrap().ends_with("/mfa-enrollment-required"), "{}", r.body);
    }
    let e = server.call("POST", "/auth/mfa/enroll", &enrol, None).await;
    assert_eq!(e.status, 200);
    assert!(e.body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Sejf:zofia?secret="));
    let secret = sejf_crypto::totp::base32_decode(e.body["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    let wrong = server.call("POST", "/auth/mfa/confirm", &enrol, Some(json!({"code": "000000"}))).await;
    wrong.assert_problem(422, Some("code"));
    let step = now_step();
    let c = server.call("POST", "/auth/mfa/confirm", &enrol, Some(json!({"code": sejf_crypto::totp::code_at(&secret, step)}))).await;
    assert_eq!(c.status, 200, "{}", c.body);
    let recovery: Vec<String> = c.body["recovery_codes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(recovery.len(), 10);
    server.call("GET", "/me", &enrol, None).await.assert_problem(401, None);

    // Now the password alone is refused with "mfa-required", and is not a failure.
    let r = server.post_login(json!({"username": "zofia", "password": pw})).await;
    r.assert_problem(401, Some("totp"));
    assert!(r.body["type"].as_str().unwrap().ends_with("/mfa-required"));
    // A wrong password without a code answers the same: no password oracle.
    let w = server.post_login(json!({"username": "zofia", "password": "not-her-password-1"})).await;
    assert_eq!((w.status, &w.body["type"]), (r.status, &r.body["type"]));
    // The code used to confirm cannot sign in (replay); the next step's code can, once.
    let replay = server.post_login(json!({"username": "zofia", "password": pw, "totp": sejf_crypto::totp::code_at(&secret, step)})).await;
    replay.assert_problem(401, None);
    let next = sejf_crypto::totp::code_at(&secret, step + 1);
    let ok = server.post_login(json!({"username": "zofia", "password": pw, "totp": next})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let token = ok.body["token"].as_str().unwrap().to_string();
    assert_eq!(server.call("GET", "/me", &token, None).await.status, 200);
    server.post_login(json!({"username": "zofia", "password": pw, "totp": next})).await.assert_problem(401, None);
    // A wrong password with a right code is still refused.
    server.post_login(json!({"username": "zofia", "password": "not-her-password-1", "totp": "123456"})).await.assert_problem(401, None);
    // Recovery codes work once each.
    let rc = server.post_login(json!({"username": "zofia", "password": pw, "totp": recovery[0]})).await;
    assert_eq!(rc.status, 200, "{}", rc.body);
    server.post_login(json!({"username": "zofia", "password": pw, "totp": recovery[0]})).await.assert_problem(401, None);
    assert_eq!(server.post_login(json!({"username": "zofia", "password": pw, "totp": recovery[1].to_uppercase()})).await.status, 200);

    // An administrator's reset with the CLI ends her sessions (within a second on a running
    // server, ADR 0029); she enrols again.
    let out = install.cli(&["user", "reset-mfa", "zofia"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.refuses_within_a_second("/me", &token, "reset-mfa").await;
    let again = server.post_login(json!({"username": "zofia", "password": pw})).await;
    assert_eq!(again.body["mfa"], "enroll");
}

async fn passwords_must_be_strong(backend: Backend) {
    let install = Install::new(backend).await;
    for weak in ["password1234", "qwertyuiop12", "zofia-kowalska", "short-pw", &"x".repeat(129)] {
        let out = install.cli(&["user", "add", "zofia-kowalska", "--role", "sales", "--password-stdin"], Some(&format!("{weak}\n")));
        assert_eq!(out.status.code(), Some(1), "{weak:?} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    }
    let out =
        install.cli(&["user", "add", "zofia-kowalska", "--role", "sales", "--password-stdin"], Some("copper kettle under the pier\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = install.cli(&["user", "reset-password", "zofia-kowalska", "--password-stdin"], Some("Zofia-Kowalska\n"));
    assert_eq!(out.status.code(), Some(1));
}

async fn api_tokens_carry_scopes(backend: Backend) {
    let install = Install::new(backend).await;
    let pw = install.add_user("mira", "manager", &["north"]);
    let out = install.cli(&["user", "add", "erp-sync", "--role", "manager", "--unit", "north", "--service"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = install.cli(&["token", "create", "erp-sync", "--scope", "people:read", "--days", "30", "--name", "nightly"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().to_string();
    // Tokens only for service accounts, only known scopes.
    assert_eq!(install.cli(&["token", "create", "mira", "--scope", "people:read"], None).status.code(), Some(1));
    assert_eq!(install.cli(&["token", "create", "erp-sync", "--scope", "people:everything"], None).status.code(), Some(1));

    let server = install.serve();
    let t = server.login("mira", &pw).await;
    let p = server.call("POST", "/people", &t, Some(json!({"first_name": "Ola", "last_name": "Nowak", "email": "ola@example.pl"}))).await;
    assert_eq!(p.status, 201);
    let id = p.body["id"].as_str().unwrap();
    // Reads within its account's rights work; writes and other kinds are refused by scope.
    assert_eq!(server.call("GET", &format!("/people/{id}"), &token, None).await.status, 200);
    assert_eq!(server.call("GET", "/people", &token, None).await.body["items"].as_array().unwrap().len(), 1);
    let found = server.call("POST", "/people/search", &token, Some(json!({"email": "ola@example.pl"}))).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let w = server.call("POST", "/people", &token, Some(json!({"first_name": "X"}))).await;
    w.assert_problem(403, None);
    assert!(w.body["detail"].as_str().unwrap().contains("people:write"));
    server.call("DELETE", &format!("/people/{id}"), &token, None).await.assert_problem(403, None);
    server.call("GET", "/deals", &token, None).await.assert_problem(403, None);
    assert_eq!(server.call("GET", "/me", &token, None).await.body["username"], "erp-sync");
    // A token may not list or end the account's other tokens.
    let out = install.cli(&["token", "create", "erp-sync", "--scope", "people:read"], None);
    let other = String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().to_string();
    server.call("GET", "/auth/sessions", &token, None).await.assert_problem(403, None);
    let nil = uuid::Uuid::nil();
    server.call("DELETE", &format!("/auth/sessions/{nil}"), &token, None).await.assert_problem(403, None);
    assert_eq!(server.call("GET", "/me", &other, None).await.status, 200);
    // A service account never signs in with a password.
    server.post_login(json!({"username": "erp-sync", "password": "anything-at-all-1"})).await.assert_problem(401, None);
    // Disabling the account kills its tokens.
    assert!(install.cli(&["user", "disable", "erp-sync"], None).status.success());
    server.refuses_within_a_second("/people", &token, "disable").await;
}
