//! The web UI over plain HTTP: sign-in with first-time TOTP enrolment, cookies, security
//! headers, CSRF refusals, escaping, masking and reveal, cross-unit 404 pages, the language.
//! (Browser-driven flows are in `browser.rs`.)

use std::collections::BTreeMap;

use crate::harness::{Backend, Install, Server, now_step};
use crate::on_both;

on_both!(first_sign_in_enrols_totp_then_signs_in_with_a_code, daily_work_timeline_pipeline_companies_and_tasks);

/// A browser without a browser: keeps cookies, follows nothing, reads forms' CSRF tokens.
pub struct Browser {
    client: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub lang: &'static str,
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").unwrap_or_else(|| panic!("no csrf field in {}", self.body))
    }
}

pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_string())
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { client, base: base.to_string(), cookies: BTreeMap::new(), lang: "en" }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page { status: res.status().as_u16(), headers: res.headers().clone(), body: res.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    /// Signs in as a user would, enrolling TOTP through the pages the first time (the secret is
    /// read from the enrolment page and kept with the server's authenticators).
    pub async fn sign_in(server: &Server, username: &str, password: &str) -> Self {
        Self::sign_in_at(&server.base, server, username, password).await
    }

    /// Signs in on a given listener (the admin listener's screens start at `/users`).
    pub async fn sign_in_at(base: &str, server: &Server, username: &str, password: &str) -> Self {
        let mut b = Browser::new(base);
        let known = server.mfa.lock().unwrap().contains_key(username);
        if !known {
            let login = b.get("/login").await;
            let r = b.post("/login", &[("csrf", &login.csrf()), ("username", username), ("password", password), ("totp", "")]).await;
            assert_eq!((r.status, r.location()), (303, "/enroll"), "{}", r.body);
            let start = b.get("/enroll").await;
            let shown = b.post("/enroll/start", &[("csrf", &start.csrf())]).await;
            assert_eq!(shown.status, 200, "{}", shown.body);
            assert!(shown.body.contains("<svg") && shown.body.contains("class=\"qr\""), "QR code drawn inline");
            let secret = between(&shown.body, "<code class=\"secret\">", "</code>").unwrap();
            let secret = sejf_crypto::totp::base32_decode(&secret).unwrap();
            let step = now_step();
            let code = sejf_crypto::totp::code_at(&secret, step);
            let done = b.post("/enroll/confirm", &[("csrf", &shown.csrf()), ("code", &code)]).await;
            assert_eq!(done.status, 200, "{}", done.body);
            let recovery: Vec<String> = done.body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap().to_string()).collect();
            assert_eq!(recovery.len(), 10, "ten recovery codes shown once");
            server.mfa.lock().unwrap().insert(username.to_string(), crate::harness::Authenticator { secret, last_step: step, recovery });
        }
        let code = server.mfa.lock().unwrap().get_mut(username).unwrap().next_code();
        let login = b.get("/login").await;
        let r = b.post("/login", &[("csrf", &login.csrf()), ("username", username), ("password", password), ("totp", &code)]).await;
        let home = if base == server.admin { "/users" } else { "/people" };
        assert_eq!((r.status, r.location()), (303, home), "{}", r.body);
        b
    }

    /// Creates a person through the form; answers the new person's id.
    pub async fn create_person(&mut self, fields: &[(&str, &str)]) -> String {
        let form = self.get("/people/new").await;
        let csrf = form.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let r = self.post("/people", &all).await;
        assert_eq!(r.status, 303, "{}", r.body);
        r.location().trim_start_matches("/people/").to_string()
    }
}

async fn first_sign_in_enrols_totp_then_signs_in_with_a_code(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let pw = install.add_user("ania", "sales", &["north"]);
    let mut b = Browser::new(&server.base);

    // Signed out, `/` leads to the sign-in form with the contract's fields.
    let root = b.get("/").await;
    assert_eq!((root.status, root.location()), (303, "/login"));
    let login = b.get("/login").await;
    assert_eq!(login.status, 200);
    for field in ["name=\"username\"", "name=\"password\"", "name=\"totp\"", "type=\"hidden\" name=\"csrf\""] {
        assert!(login.body.contains(field), "login form lacks {field}");
    }
    // A wrong password is refused on the page, with the same answer the API gives.
    let r = b.post("/login", &[("csrf", &login.csrf()), ("username", "ania"), ("password", "wrong"), ("totp", "")]).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Wrong user name, password or code."));

    // The password alone gives an enrolment-only session: the people pages send it to /enroll.
    let r = b.post("/login", &[("csrf", &login.csrf()), ("username", "ania"), ("password", &pw), ("totp", "")]).await;
    assert_eq!((r.status, r.location()), (303, "/enroll"));
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with("sejf_session=") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let p = b.get("/people").await;
    assert_eq!((p.status, p.location()), (303, "/enroll"));

    let mut b = Browser::sign_in(&server, "ania", &pw).await;
    let people = b.get("/people").await;
    assert_eq!(people.status, 200, "{}", people.body);
    assert!(people.body.contains("ania"), "the signed-in user is named");

    // The sign-ins are in the trail like the API's.
    let out = install.cli(&["audit", "export"], None);
    let trail = String::from_utf8_lossy(&out.stdout);
    assert!(trail.matches("auth.login").count() >= 3, "{trail}");

    // Signing out ends the server-side session: the old cookie no longer works.
    let old = b.cookies.clone();
    let people = b.get("/people").await;
    let r = b.post("/logout", &[("csrf", &people.csrf())]).await;
    assert_eq!((r.status, r.location()), (303, "/login"));
    assert!(!b.cookies.contains_key("sejf_session"));
    b.cookies = old;
    let r = b.get("/people").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_csp_and_unknown_pages_are_html_404s() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let mut b = Browser::new(&server.base);
    for path in ["/login", "/static/app.css", "/static/app.js", "/no-such-page"] {
        let p = b.get(path).await;
        let csp = p.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{path}: {csp}");
        assert_eq!(p.headers.get("x-frame-options").unwrap(), "DENY");
    }
    let login = b.get("/login").await;
    assert!(!login.body.contains("<script>") && !login.body.contains("style="), "nothing inline");
    let missing = b.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
    // The API keeps its own answers.
    let api = b.get("/api/v1/no-such-route").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.headers.get("content-type").unwrap(), "application/problem+json");
    assert!(api.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("default-src 'none'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_this_sessions_csrf_token_are_refused() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let pw2 = install.add_user("ewa", "sales", &["north"]);

    // The sign-in form itself: no token, or a made-up one, is refused before the password is tried.
    let mut anon = Browser::new(&server.base);
    anon.get("/login").await;
    let r = anon.post("/login", &[("username", "ola"), ("password", &pw)]).await;
    assert_eq!(r.status, 403);
    let r = anon.post("/login", &[("csrf", &"0".repeat(64)), ("username", "ola"), ("password", &pw)]).await;
    assert_eq!(r.status, 403);

    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let mut b = Browser::sign_in(&server, "ewa", &pw2).await;
    let a_csrf = a.get("/people/new").await.csrf();
    let b_csrf = b.get("/people/new").await.csrf();
    assert_ne!(a_csrf, b_csrf);
    let fields = [("last_name", "Nowak")];
    for token in [None, Some(b_csrf.as_str())] {
        let mut form = fields.to_vec();
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let r = a.post("/people", &form).await;
        assert_eq!(r.status, 403, "a create with {token:?} must be refused");
        assert!(r.body.contains("The form expired"));
    }
    let r = a.post("/people/search", &[("csrf", &b_csrf), ("name", "Nowak")]).await;
    assert_eq!(r.status, 403);
    let r = a.post("/logout", &[("csrf", &b_csrf)]).await;
    assert_eq!(r.status, 403, "another session's token cannot sign this one out");
    // Nothing was created.
    let list = a.get("/people").await;
    assert!(!list.body.contains("Nowak"));
}

const XSS: [&str; 2] = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_payloads_render_as_text_and_search_finds_by_email() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "manager", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let id = a
        .create_person(&[
            ("first_name", XSS[0]),
            ("last_name", XSS[1]),
            ("email", "xss@example.com"),
            ("street", XSS[0]),
            ("city", XSS[1]),
            ("tags", "vip"),
            ("notes", XSS[1]),
        ])
        .await;
    for path in ["/people".to_string(), format!("/people/{id}"), format!("/people/{id}/edit")] {
        let p = a.get(&path).await;
        assert_eq!(p.status, 200, "{path}");
        assert!(!p.body.contains("<script>alert") && !p.body.contains("<img src=x"), "{path} renders a payload as markup");
        assert!(p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || p.body.contains("&lt;script&gt;"), "{path}");
    }
    let csrf = a.get("/people").await.csrf();
    let found = a.post("/people/search", &[("csrf", &csrf), ("email", "XSS@example.com")]).await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains(&format!("/people/{id}")), "search by e-mail finds the person");
    let none = a.post("/people/search", &[("csrf", &csrf), ("email", "other@example.com")]).await;
    assert!(!none.body.contains(&format!("/people/{id}")));
    let bad = a.post("/people/search", &[("csrf", &csrf), ("email", "not an address")]).await;
    assert_eq!(bad.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_see_pesel_masked_reveal_with_a_purpose_and_other_units_get_404() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let pw2 = install.add_user("jan", "sales", &["south"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    // Inline validation: a bad PESEL is named at its field, the other values are kept.
    let form = a.get("/people/new").await;
    let r = a.post("/people", &[("csrf", &form.csrf()), ("last_name", "Kowalska"), ("national_id", "12345678901")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("id=\"p-national_id-error\"") && r.body.contains("value=\"Kowalska\""), "{}", r.body);

    let id = a.create_person(&[("first_name", "Anna"), ("last_name", "Kowalska"), ("national_id", "44051401359")]).await;
    let detail = a.get(&format!("/people/{id}")).await;
    assert!(detail.body.contains("*******1359") && !detail.body.contains("44051401359"), "PESEL masked for sales");
    let csrf = detail.csrf();
    let r = a.post(&format!("/people/{id}/reveal"), &[("csrf", &csrf), ("fields", "national_id"), ("purpose", "x")]).await;
    assert_eq!(r.status, 422, "a purpose is required");
    let r = a
        .post(&format!("/people/{id}/reveal"), &[("csrf", &csrf), ("fields", "national_id"), ("purpose", "umowa kredytowa 12/2026")])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("44051401359"), "revealed for the purpose");
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    assert!(trail.contains("person.reveal") && trail.contains("umowa kredytowa 12/2026"));

    // Another unit's user: the same 404 page as for a record that does not exist.
    let mut b = Browser::sign_in(&server, "jan", &pw2).await;
    for path in [format!("/people/{id}"), format!("/people/{id}/edit"), format!("/people/{}", uuid::Uuid::now_v7()), "/people/x".into()] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("Not found"));
    }
    let b_csrf = b.get("/people").await.csrf();
    let r = b.post(&format!("/people/{id}/delete"), &[("csrf", &b_csrf)]).await;
    assert_eq!(r.status, 404);

    // Edit keeps what the form did not carry (the masked PESEL), delete asks first.
    let edit = a.get(&format!("/people/{id}/edit")).await;
    assert!(!edit.body.contains("name=\"national_id\""), "a masked field is not offered for editing");
    let version = between(&edit.body, "name=\"version\" value=\"", "\"").unwrap();
    let r = a
        .post(
            &format!("/people/{id}/edit"),
            &[("csrf", &edit.csrf()), ("version", &version), ("first_name", "Anna"), ("last_name", "Nowak")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let detail = a.get(&format!("/people/{id}")).await;
    assert!(detail.body.contains("Nowak") && detail.body.contains("*******1359"));
    let confirm = a.get(&format!("/people/{id}/delete")).await;
    assert!(confirm.body.contains("cannot be undone"));
    let r = a.post(&format!("/people/{id}/delete"), &[("csrf", &confirm.csrf())]).await;
    assert_eq!((r.status, r.location()), (303, "/people"));
    assert_eq!(a.get(&format!("/people/{id}")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_follows_accept_language_and_the_remembered_choice() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let mut b = Browser::new(&server.base);
    b.lang = "pl-PL,pl;q=0.9,en;q=0.5";
    let p = b.get("/login").await;
    assert!(p.body.contains("<html lang=\"pl\"") && p.body.contains("Zaloguj się"));
    let r = b.post("/lang", &[("csrf", &p.csrf()), ("lang", "en")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(b.cookies.get("sejf_lang").map(String::as_str), Some("en"));
    let p = b.get("/login").await;
    assert!(p.body.contains("<html lang=\"en\"") && p.body.contains("Sign in"), "the choice wins over Accept-Language");
}

async fn daily_work_timeline_pipeline_companies_and_tasks(backend: Backend) {
    let install = Install::new(backend).await;
    let server = install.serve();
    let pw = install.add_user("ola", "manager", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let id = a.create_person(&[("first_name", "Jan"), ("last_name", "Kowalski"), ("email", "jan@example.com")]).await;
    let other = a.create_person(&[("last_name", "Inny")]).await;

    // A call on Jan's timeline, from his page; it shows there and not on the other person's.
    let page = a.get(&format!("/people/{id}")).await;
    let r = a.post("/activities", &[("csrf", &page.csrf()), ("person_id", &id), ("kind", "call"), ("body", "Rozmowa o ofercie <b>")]).await;
    assert_eq!((r.status, r.location()), (303, format!("/people/{id}").as_str()), "{}", r.body);
    let page = a.get(&format!("/people/{id}")).await;
    assert!(page.body.contains("Rozmowa o ofercie &lt;b&gt;") && page.body.contains("Call"), "{}", page.body);
    assert!(!a.get(&format!("/people/{other}")).await.body.contains("Rozmowa o ofercie"));

    // A deal for Jan, then moved across the pipeline by the board's button.
    let r = a.post("/deals", &[("csrf", &page.csrf()), ("person_id", &id), ("title", "Kredyt firmowy"), ("amount", "12 500,50")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let board = a.get("/deals").await;
    assert_eq!(board.status, 200);
    assert!(board.body.contains("PLN\u{a0}12,500.50"), "stage total formatted: {}", board.body);
    let deal_id = between(&board.body, "data-deal=\"", "\"").unwrap();
    let move_form = format!("action=\"/deals/{deal_id}/move\" data-move=\"{deal_id}\" data-to=\"qualified\"");
    assert!(board.body.contains(&move_form), "a move button per other stage");
    let version = "1";
    let r = a.post(&format!("/deals/{deal_id}/move"), &[("csrf", &board.csrf()), ("stage", "qualified"), ("version", version)]).await;
    assert_eq!((r.status, r.location()), (303, "/deals"), "{}", r.body);
    // The same move again over the old version is a conflict, not an overwrite.
    let r = a.post(&format!("/deals/{deal_id}/move"), &[("csrf", &board.csrf()), ("stage", "won"), ("version", version)]).await;
    assert_eq!(r.status, 409);
    let t = server.login("ola", &pw).await;
    let q = server.call("GET", "/deals?stage=qualified", &t, None).await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1, "{}", q.body);
    assert_eq!(q.body["items"][0]["title"], "Kredyt firmowy");
    assert_eq!(server.call("GET", "/deals?stage=lead", &t, None).await.body["items"].as_array().unwrap().len(), 0);
    server.call("GET", "/deals?stage=nope", &t, None).await.assert_problem(422, Some("stage"));
    let acts = server.call("GET", &format!("/activities?person_id={other}"), &t, None).await;
    assert_eq!(acts.body["items"].as_array().unwrap().len(), 0);
    let acts = server.call("GET", &format!("/activities?person_id={id}"), &t, None).await;
    assert_eq!(acts.body["items"].as_array().unwrap().len(), 1);

    // Companies: create with inline validation, find by name (any case, no diacritics) or NIP.
    let form = a.get("/companies/new").await;
    let r = a.post("/companies", &[("csrf", &form.csrf()), ("name", "Młyny"), ("vat_id", "5260250275")]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("id=\"r-vat_id-error\""));
    let r = a.post("/companies", &[("csrf", &form.csrf()), ("name", "Łódzkie Młyny S.A."), ("vat_id", "526-025-02-74")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    for q in ["lodzkie mlyny", "PL 5260250274"] {
        let found = a.post("/companies/search", &[("csrf", &form.csrf()), ("q", q)]).await;
        assert!(found.body.contains("Łódzkie Młyny S.A."), "search by {q}");
    }

    // My tasks: an overdue open task is listed; marking it done removes it.
    let r = a.post("/activities", &[("csrf", &form.csrf()), ("kind", "task"), ("body", "Oddzwonić"), ("due_at", "2020-01-01T09:00")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = a.post("/activities", &[("csrf", &form.csrf()), ("kind", "task"), ("body", "Za rok"), ("due_at", "2099-01-01T09:00")]).await;
    assert_eq!(r.status, 303);
    let tasks = a.get("/tasks").await;
    assert!(tasks.body.contains("Oddzwonić") && !tasks.body.contains("Za rok"), "{}", tasks.body);
    let act = between(&tasks.body, "action=\"/activities/", "/done\"").unwrap();
    let r = a.post(&format!("/activities/{act}/done"), &[("csrf", &tasks.csrf()), ("version", "1")]).await;
    assert_eq!(r.status, 303);
    assert!(!a.get("/tasks").await.body.contains("Oddzwonić"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_sees_a_reveal_and_the_dpo_exports_a_person() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let apw = install.add_user("audra", "auditor", &["north"]);
    let dpw = install.add_user("dora", "dpo", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let id = a.create_person(&[("last_name", "Kowalska"), ("email", "k@example.com"), ("national_id", "44051401359")]).await;
    let page = a.get(&format!("/people/{id}")).await;
    let r = a.post("/activities", &[("csrf", &page.csrf()), ("person_id", &id), ("kind", "call"), ("body", "Rozmowa")]).await;
    assert_eq!(r.status, 303);
    let r = a
        .post(&format!("/people/{id}/reveal"), &[("csrf", &page.csrf()), ("fields", "national_id"), ("purpose", "weryfikacja tożsamości")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(a.get("/audit").await.status, 403, "sales may not read the trail");
    assert_eq!(a.get("/privacy").await.status, 403);

    let mut au = Browser::sign_in(&server, "audra", &apw).await;
    let who = au.get(&format!("/audit?subject={id}")).await;
    assert_eq!(who.status, 200);
    assert!(who.body.contains("person.reveal") && who.body.contains("weryfikacja tożsamości") && who.body.contains("ola"), "{}", who.body);
    let alerts = au.get("/audit?action=alert").await;
    assert_eq!(alerts.status, 200);
    let r = au.post("/audit/verify", &[("csrf", &who.csrf())]).await;
    assert_eq!(r.status, 303);
    let after = au.get("/audit").await;
    assert!(after.body.contains("Intact: events checked"), "{}", after.body);
    assert_eq!(au.get("/privacy").await.status, 403, "the auditor does not export data");

    let mut d = Browser::sign_in(&server, "dora", &dpw).await;
    let p = d.get("/privacy").await;
    assert_eq!(p.status, 200);
    let found = d.post("/privacy", &[("csrf", &p.csrf()), ("email", "k@example.com")]).await;
    assert!(found.body.contains(&format!("value=\"{id}\"")), "{}", found.body);
    let export = d.post("/privacy/export", &[("csrf", &p.csrf()), ("person_id", &id)]).await;
    assert_eq!(export.status, 200);
    assert!(export.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"));
    let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(json["person"]["national_id"], "44051401359");
    assert_eq!(json["activities"][0]["body"], "Rozmowa");
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    assert!(trail.contains("gdpr.export"));

    // The registers at a glance, and erasure with a confirmation and the receipt.
    let reg = install.cli(
        &[
            "gdpr",
            "processors",
            "put",
            "--name",
            "mailer",
            "--service",
            "newsletter delivery",
            "--category",
            "contact",
            "--country",
            "PL",
            "--next-review",
            "2020-01-01",
        ],
        None,
    );
    assert!(reg.status.success(), "{}", String::from_utf8_lossy(&reg.stderr));
    let p = d.get("/privacy").await;
    assert!(p.body.contains("Processors") && p.body.contains("newsletter delivery"), "{}", p.body);
    assert!(p.body.contains("no signed data-processing agreement"), "why nothing may be sent: {}", p.body);
    let unconfirmed = d.post("/privacy/erase", &[("csrf", &p.csrf()), ("person_id", &id), ("reason", "asked in writing")]).await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.body);
    let erased =
        d.post("/privacy/erase", &[("csrf", &p.csrf()), ("person_id", &id), ("reason", "asked in writing"), ("confirm", "yes")]).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert!(erased.body.contains("sejf erasure receipt"), "{}", erased.body);
    assert_eq!(a.get(&format!("/people/{id}")).await.status, 404, "gone for everyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_screens_live_only_on_the_admin_listener() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let spw = install.add_user("ola", "sales", &["north"]);
    // The public listener has no admin screens.
    let mut public = Browser::sign_in(&server, "ola", &spw).await;
    assert_eq!(public.get("/users").await.status, 404);
    assert_eq!(public.get("/approvals").await.status, 404);

    let mut a = Browser::sign_in_at(&server.admin, &server, "admin", crate::harness::ADMIN_PASSWORD).await;
    let users = a.get("/users").await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(users.body.contains("ola") && users.body.contains("Lift sign-in lock"));
    let r =
        a.post("/users", &[("csrf", &users.csrf()), ("username", "nowy"), ("role", "sales"), ("units", "north"), ("password", "x")]).await;
    assert_eq!(r.status, 422, "a weak password is refused at its field");
    assert!(r.body.contains("id=\"u-password-error\""));
    let r = a
        .post(
            "/users",
            &[
                ("csrf", &users.csrf()),
                ("username", "nowy"),
                ("role", "sales"),
                ("units", "north"),
                ("password", "nowy: quartz-lantern-31-meadow"),
            ],
        )
        .await;
    assert_eq!((r.status, r.location()), (303, "/users"), "{}", r.body);
    let r = a.post("/users/ola/disable", &[("csrf", &users.csrf())]).await;
    assert_eq!(r.status, 303);
    // Disabled: ola's open session stops working.
    let p = public.get("/people").await;
    assert_eq!(p.status, 303);
    for action in ["enable", "unlock", "reset-mfa"] {
        let r = a.post(&format!("/users/ola/{action}"), &[("csrf", &users.csrf())]).await;
        assert_eq!(r.status, 303, "{action}");
    }
    let r = a.post("/users/ola/role", &[("csrf", &users.csrf()), ("role", "manager")]).await;
    assert_eq!(r.status, 303);
    assert!(a.get("/users").await.body.contains("manager"));
    assert_eq!(a.get("/approvals").await.status, 200);
    let r = a.post("/users/ola/disable", &[("csrf", "nope")]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_an_admin_set_must_be_changed_on_a_page_first() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("nora", "sales", &["north"]);
    drop(Browser::sign_in(&server, "nora", &pw).await);
    let admin = server.admin_token().await;
    let set = "admin-set: lantern-copper-42-violet";
    let reset = server
        .call_with("PATCH", &format!("{}/api/v1/users/nora", server.admin), &admin, Some(serde_json::json!({"password": set})), &[])
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);

    let mut b = Browser::new(&server.base);
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let login = b.get("/login").await;
    let r = b.post("/login", &[("csrf", &login.csrf()), ("username", "nora"), ("password", set), ("totp", &code)]).await;
    assert_eq!((r.status, r.location()), (303, "/password"), "{}", r.body);
    let elsewhere = b.get("/people").await;
    assert_eq!((elsewhere.status, elsewhere.location()), (303, "/password"), "the reset session may do nothing else");
    let form = b.get("/password").await;
    assert!(form.body.contains("An administrator set your password") && form.body.contains("name=\"new_password\""), "{}", form.body);
    // A weak new password is refused next to its field.
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let weak = b.post("/password", &[("csrf", &form.csrf()), ("current_password", set), ("new_password", "nora"), ("totp", &code)]).await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("id=\"new_password-error\""), "{}", weak.body);
    let new = "nora's own: harbour-thimble-88-quartz";
    let code = server.mfa.lock().unwrap().get_mut("nora").unwrap().next_code();
    let done = b.post("/password", &[("csrf", &form.csrf()), ("current_password", set), ("new_password", new), ("totp", &code)]).await;
    assert_eq!((done.status, done.location()), (303, "/login?changed=1"), "{}", done.body);
    drop(Browser::sign_in(&server, "nora", new).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dpo_keeps_requests_breaches_processors_and_restrictions_on_the_privacy_screen() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let dpw = install.add_user("dora", "dpo", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let id = a.create_person(&[("last_name", "Nowak"), ("email", "n@example.com")]).await;
    let mut d = Browser::sign_in(&server, "dora", &dpw).await;
    let p = d.get("/privacy").await;
    let csrf = p.csrf();

    // Restriction from the found person's card: sales no longer reaches them; lifted, they do.
    let found = d.post("/privacy", &[("csrf", &csrf), ("email", "n@example.com")]).await;
    assert!(found.body.contains("action=\"/privacy/flag\""), "{}", found.body);
    let r = d
        .post(
            "/privacy/flag",
            &[("csrf", &csrf), ("person_id", &id), ("flag", "restricted"), ("reason", "accuracy contested"), ("action", "set")],
        )
        .await;
    assert_eq!((r.status, r.location()), (303, "/privacy"), "{}", r.body);
    assert_eq!(a.get(&format!("/people/{id}")).await.status, 404, "restricted: only the dpo and managers");
    let r = d.post("/privacy/flag", &[("csrf", &csrf), ("person_id", &id), ("flag", "restricted"), ("action", "lift")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(a.get(&format!("/people/{id}")).await.status, 200);

    // A request, then closed from its row.
    let bad = d.post("/privacy/requests", &[("csrf", &csrf), ("kind", "gossip")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("kind"), "{}", bad.body);
    let r = d.post("/privacy/requests", &[("csrf", &csrf), ("kind", "access"), ("person_id", &id), ("identity_check", "ID card")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let p = d.get("/privacy").await;
    let req = between(&p.body, "action=\"/privacy/requests/", "/close\"").unwrap();
    assert_eq!(d.post(&format!("/privacy/requests/{req}/close"), &[("csrf", &csrf), ("status", "done")]).await.status, 303);
    assert!(!d.get("/privacy").await.body.contains(&req), "closed requests leave the open list");

    // A breach (its deadline shown), marked notified; a processor registered.
    let r = d
        .post(
            "/privacy/breaches",
            &[("csrf", &csrf), ("title", "Zgubiony laptop"), ("detected_at", "2026-12-01T08:00"), ("nature", "lost laptop")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let p = d.get("/privacy").await;
    assert!(p.body.contains("Zgubiony laptop") && p.body.contains("2026-12-04T08:00:00Z"), "72 hours later: {}", p.body);
    let breach = between(&p.body, "action=\"/privacy/breaches/", "/notified\"").unwrap();
    let late = d.post(&format!("/privacy/breaches/{breach}/notified"), &[("csrf", &csrf)]).await;
    assert_eq!(late.status, 422, "notified after 72 hours needs the reasons first: {}", late.body);
    let r = d
        .post(
            "/privacy/processors",
            &[
                ("csrf", &csrf),
                ("name", "mailer"),
                ("service", "newsletter"),
                ("categories", "contact"),
                ("country", "PL"),
                ("next_review_due", "2030-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(d.get("/privacy").await.body.contains("no signed data-processing agreement"));
    let trail = String::from_utf8_lossy(&install.cli(&["audit", "export"], None).stdout).to_string();
    for action in ["gdpr.restricted", "gdpr.request", "gdpr.breach.record", "gdpr.processor.put"] {
        assert!(trail.contains(action), "{action} in the trail");
    }
}
