//! The web UI's edit pages for people, companies, deals and activities: edited and deleted on
//! their pages, and never showing, offering or losing a field their editor may not read.

use crate::harness::{Backend, Install};
use crate::web::{Browser, between};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_deals_and_activities_are_edited_and_deleted_on_their_pages() {
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "manager", &["north"]);
    let pw2 = install.add_user("jan", "sales", &["south"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let form = a.get("/companies/new").await;
    let r = a.post("/companies", &[("csrf", &form.csrf()), ("name", "Młyn Sp. z o.o."), ("vat_id", "526-025-02-74")]).await;
    let company = r.location().trim_start_matches("/companies/").to_string();
    let person = a.create_person(&[("first_name", "Jan"), ("last_name", "Kowalski")]).await;
    let page = a.get(&format!("/people/{person}")).await;
    a.post("/activities", &[("csrf", &page.csrf()), ("person_id", &person), ("kind", "call"), ("body", "Pierwsza rozmowa")]).await;
    a.post("/deals", &[("csrf", &page.csrf()), ("person_id", &person), ("title", "Umowa ramowa"), ("amount", "100")]).await;
    let page = a.get(&format!("/people/{person}")).await;
    let activity = between(&page.body, "href=\"/activities/", "/edit\"").unwrap();
    let deal = between(&a.get("/deals").await.body, "href=\"/deals/", "/edit\"").unwrap();

    // Company: edit with inline validation, then a stale version is a conflict.
    let edit = a.get(&format!("/companies/{company}/edit")).await;
    assert!(edit.body.contains("value=\"Młyn Sp. z o.o.\"") && edit.body.contains("name=\"version\" value=\"1\""), "{}", edit.body);
    let bad = a.post(&format!("/companies/{company}/edit"), &[("csrf", &edit.csrf()), ("version", "1"), ("name", "")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"r-name-error\""), "{}", bad.body);
    let ok = a
        .post(
            &format!("/companies/{company}/edit"),
            &[("csrf", &edit.csrf()), ("version", "1"), ("name", "Młyn Nowy"), ("vat_id", "5260250274")],
        )
        .await;
    assert_eq!((ok.status, ok.location()), (303, format!("/companies/{company}").as_str()), "{}", ok.body);
    assert!(a.get(&format!("/companies/{company}")).await.body.contains("Młyn Nowy"));
    let stale = a.post(&format!("/companies/{company}/edit"), &[("csrf", &edit.csrf()), ("version", "1"), ("name", "Stary")]).await;
    assert_eq!(stale.status, 409);

    // Deal: title, amount and stage from the edit form.
    let edit = a.get(&format!("/deals/{deal}/edit")).await;
    assert!(edit.body.contains("value=\"Umowa ramowa\"") && edit.body.contains("<option value=\"won\""), "{}", edit.body);
    let ok = a
        .post(
            &format!("/deals/{deal}/edit"),
            &[("csrf", &edit.csrf()), ("version", "1"), ("title", "Umowa roczna"), ("amount", "2 000,00"), ("stage", "proposal")],
        )
        .await;
    assert_eq!((ok.status, ok.location()), (303, format!("/people/{person}").as_str()), "{}", ok.body);
    let board = a.get("/deals").await;
    assert!(board.body.contains("Umowa roczna") && board.body.contains("PLN\u{a0}2,000.00"), "{}", board.body);

    // Activity: the body changes, the link to the person stays.
    let edit = a.get(&format!("/activities/{activity}/edit")).await;
    let ok = a
        .post(
            &format!("/activities/{activity}/edit"),
            &[("csrf", &edit.csrf()), ("version", "1"), ("kind", "meeting"), ("body", "Spotkanie")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(a.get(&format!("/people/{person}")).await.body.contains("Spotkanie"));

    // Another unit's user reaches none of it; deletes ask first, then the records are gone.
    let mut b = Browser::sign_in(&server, "jan", &pw2).await;
    for path in [format!("/companies/{company}/edit"), format!("/deals/{deal}/delete"), format!("/activities/{activity}/edit")] {
        assert_eq!(b.get(&path).await.status, 404, "{path}");
    }
    for (kind, id) in [("activities", &activity), ("deals", &deal), ("companies", &company)] {
        let confirm = a.get(&format!("/{kind}/{id}/delete")).await;
        assert!(confirm.body.contains("cannot be undone"), "{}", confirm.body);
        let r = a.post(&format!("/{kind}/{id}/delete"), &[("csrf", &confirm.csrf())]).await;
        assert_eq!((r.status, r.location()), (303, format!("/{kind}").as_str()));
        assert_eq!(a.get(&format!("/{kind}/{id}/edit")).await.status, 404, "{kind} deleted");
    }
}

/// An edit of the default policies: sales still write their own deals, activities and
/// companies, but may not read a deal's title, an activity's body or a company's fields.
const NEED_TO_KNOW: &str = r#"
@id("deal-and-activity-text-need-to-know")
forbid (principal in Sejf::Role::"sales", action == Sejf::Action::"read_field", resource is Sejf::Record)
when {
    context.class == Sejf::FieldClass::"personal" &&
    (resource.kind == Sejf::RecordKind::"deal" || resource.kind == Sejf::RecordKind::"activity")
};

@id("company-fields-need-to-know")
forbid (principal in Sejf::Role::"sales", action == Sejf::Action::"read_field", resource is Sejf::Record)
when { context.class == Sejf::FieldClass::"public" && resource.kind == Sejf::RecordKind::"company" };
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_edit_forms_neither_show_nor_lose_fields_their_editor_may_not_read() {
    const TITLE: &str = "Ugoda rozwodowa Kowala";
    const BODY: &str = "Wspomniał o operacji serca";
    const NAME: &str = "Młyn Kowala";
    let install = Install::new(Backend::Sqlite).await;
    let policies = format!("{}\n{NEED_TO_KNOW}", sejf_policy::PolicyEngine::DEFAULT_POLICIES);
    std::fs::write(install.data_dir.join("policies.cedar"), policies).unwrap();
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let dpw = install.add_user("dora", "dpo", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let form = a.get("/companies/new").await;
    let r = a.post("/companies", &[("csrf", &form.csrf()), ("name", NAME), ("vat_id", "5260250274")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let company = r.location().trim_start_matches("/companies/").to_string();
    let person = a.create_person(&[("first_name", "Jan"), ("last_name", "Kowal")]).await;
    let page = a.get(&format!("/people/{person}")).await;
    a.post("/activities", &[("csrf", &page.csrf()), ("person_id", &person), ("kind", "call"), ("body", BODY)]).await;
    a.post("/deals", &[("csrf", &page.csrf()), ("person_id", &person), ("title", TITLE), ("amount", "100")]).await;
    let activity = between(&a.get(&format!("/people/{person}")).await.body, "href=\"/activities/", "/edit\"").unwrap();
    let deal = between(&a.get("/deals").await.body, "href=\"/deals/", "/edit\"").unwrap();

    // The edit pages: a masked field is marked, never offered, and its plaintext is not there.
    let edit = a.get(&format!("/deals/{deal}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(!edit.body.contains(TITLE) && !edit.body.contains("name=\"title\""), "the title is neither shown nor offered: {}", edit.body);
    assert!(edit.body.contains("id=\"r-title\" class=\"hint\"") && edit.body.contains("name=\"amount\""), "{}", edit.body);
    let r =
        a.post(&format!("/deals/{deal}/edit"), &[("csrf", &edit.csrf()), ("version", "1"), ("amount", "250"), ("stage", "proposal")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let edit = a.get(&format!("/activities/{activity}/edit")).await;
    assert!(!edit.body.contains(BODY) && !edit.body.contains("name=\"body\""), "the body is neither shown nor offered: {}", edit.body);
    let r = a.post(&format!("/activities/{activity}/edit"), &[("csrf", &edit.csrf()), ("version", "1"), ("kind", "meeting")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let edit = a.get(&format!("/companies/{company}/edit")).await;
    for hidden in [NAME, "5260250274", "name=\"name\"", "name=\"vat_id\"", "name=\"website\""] {
        assert!(!edit.body.contains(hidden), "{hidden} on the company's edit page: {}", edit.body);
    }
    // Even a crafted post that names a masked field does not overwrite it.
    let r = a.post(&format!("/companies/{company}/edit"), &[("csrf", &edit.csrf()), ("version", "1"), ("name", "Nadpisane")]).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Whoever may read them finds the stored values kept, and the readable fields changed.
    let dora = server.login("dora", &dpw).await;
    let d = server.call("GET", &format!("/deals/{deal}"), &dora, None).await;
    assert_eq!(
        (d.body["title"].as_str(), d.body["stage"].as_str(), d.etag()),
        (Some(TITLE), Some("proposal"), "\"2\"".into()),
        "{}",
        d.body
    );
    let act = server.call("GET", &format!("/activities/{activity}"), &dora, None).await;
    assert_eq!((act.body["body"].as_str(), act.body["kind"].as_str()), (Some(BODY), Some("meeting")), "{}", act.body);
    let co = server.call("GET", &format!("/companies/{company}"), &dora, None).await;
    assert_eq!((co.body["name"].as_str(), co.body["vat_id"].as_str()), (Some(NAME), Some("PL5260250274")), "{}", co.body);
}

/// Sales may not read a person's national id or birth date (default policies). The edit form
/// offers neither, even where no value is held, and a crafted post that names them changes
/// neither; what sales may read changes as posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_edit_form_neither_offers_nor_saves_fields_its_editor_may_not_read() {
    const PESEL: &str = "44051401458";
    const OTHER: &str = "44051401359";
    let install = Install::new(Backend::Sqlite).await;
    let server = install.serve();
    let pw = install.add_user("ola", "sales", &["north"]);
    let dpw = install.add_user("dora", "dpo", &["north"]);
    let mut a = Browser::sign_in(&server, "ola", &pw).await;
    let empty = a.create_person(&[("first_name", "Jan"), ("last_name", "Kowal")]).await;
    let held = a.create_person(&[("first_name", "Ewa"), ("last_name", "Nowak"), ("national_id", PESEL)]).await;

    // No input for a hidden field, held or not: each is marked masked instead.
    let edit = a.get(&format!("/people/{empty}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    for name in ["national_id", "birth_date"] {
        assert!(!edit.body.contains(&format!("name=\"{name}\"")), "{name} offered though empty and hidden: {}", edit.body);
        assert!(edit.body.contains(&format!("id=\"p-{name}\" class=\"hint\"")), "{name} not marked masked: {}", edit.body);
    }
    assert!(edit.body.contains("name=\"last_name\""), "{}", edit.body);
    // A 422 shows the same form again, and nothing the post said of a hidden field.
    let (path, csrf) = (format!("/people/{empty}/edit"), edit.csrf());
    let post = [("csrf", csrf.as_str()), ("version", "1"), ("last_name", "Kowal"), ("email", "not an address"), ("national_id", OTHER)];
    let bad = a.post(&path, &post).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"p-email-error\""), "{}", bad.body);
    assert!(!bad.body.contains("name=\"national_id\"") && !bad.body.contains(OTHER), "{}", bad.body);
    assert!(bad.body.contains("id=\"p-national_id\" class=\"hint\"") && bad.body.contains("id=\"p-birth_date\" class=\"hint\""));

    // Crafted posts that name the hidden fields: into an empty one, and over a held PESEL.
    let r = a
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("first_name", "Jan"),
                ("last_name", "Kowalski"),
                ("national_id", OTHER),
                ("birth_date", "1944-05-14"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let edit = a.get(&format!("/people/{held}/edit")).await;
    assert!(!edit.body.contains(PESEL) && !edit.body.contains("name=\"national_id\""), "{}", edit.body);
    let r = a
        .post(
            &format!("/people/{held}/edit"),
            &[("csrf", &edit.csrf()), ("version", "1"), ("first_name", "Ewa"), ("last_name", "Kowalska"), ("national_id", OTHER)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Whoever may read them finds the hidden fields as they were, the readable ones changed.
    let dora = server.login("dora", &dpw).await;
    let p = server.call("GET", &format!("/people/{empty}"), &dora, None).await;
    let got = (p.body["national_id"].as_str(), p.body["birth_date"].as_str(), p.body["last_name"].as_str(), p.etag());
    assert_eq!(got, (None, None, Some("Kowalski"), "\"2\"".into()), "{}", p.body);
    let p = server.call("GET", &format!("/people/{held}"), &dora, None).await;
    let got = (p.body["national_id"].as_str(), p.body["last_name"].as_str(), p.etag());
    assert_eq!(got, (Some(PESEL), Some("Kowalska"), "\"2\"".into()), "{}", p.body);
}
