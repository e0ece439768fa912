//! A partial update is one use case: it reads the person once, checks the version the caller
//! saw, merges onto the unmasked record (so fields the caller may not read keep their values),
//! and stores the result conditionally on that version. The web UI's edit forms show a record
//! masked and save through a use case that puts back every field their user may not read.

use sejf_core::people::PersonInput;
use sejf_core::records::{Company, Links};
use sejf_core::{Actor, CoreError};
use sejf_domain::people::PersonRaw;
use sejf_domain::records::CompanyRaw;
use sejf_domain::roles::Role;

use uuid::Uuid;

use crate::{Fixture, Signed, on_both};

on_both!(
    a_patch_merges_onto_the_unmasked_record_at_the_version_seen,
    the_form_to_edit_a_record_is_an_audited_read,
    the_form_to_edit_a_record_hides_and_keeps_what_its_editor_may_not_read,
    the_form_to_edit_a_person_hides_and_keeps_what_its_editor_may_not_read,
    the_page_that_asks_before_a_delete_decides_and_reads_nothing,
    a_change_that_no_longer_fits_a_hidden_national_id_is_refused_by_what_changed
);

const PESEL: &str = "44051401458";

async fn a_patch_merges_onto_the_unmasked_record_at_the_version_seen(fx: &Fixture) {
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let input = PersonInput {
        raw: PersonRaw {
            first_name: Some("Ewa".into()),
            email: Some("ewa@example.com".into()),
            national_id: Some(PESEL.into()),
            ..PersonRaw::default()
        },
        ..PersonInput::default()
    };
    let created = app.create_person(&sam, &input).await.unwrap();
    assert!(created.masked.contains(&"national_id"), "sales sees the PESEL masked");
    let rename = |base: &sejf_core::people::PersonView| {
        let mut raw = base.fields.clone();
        raw.first_name = Some("Ewelina".into());
        Ok::<_, CoreError>(PersonInput { raw, tags: base.tags.clone(), owner_id: Some(base.owner_id), ..PersonInput::default() })
    };
    assert!(matches!(app.patch_person(&sam, created.id, None, rename).await, Err(CoreError::PreconditionRequired)));
    assert!(matches!(app.patch_person(&sam, created.id, Some(created.version + 1), rename).await, Err(CoreError::PreconditionFailed)));
    let mut seen = None;
    let patched = app
        .patch_person(&sam, created.id, Some(created.version), |base| {
            seen = base.fields.national_id.clone();
            rename(base)
        })
        .await
        .unwrap();
    assert_eq!(seen.as_deref(), Some(PESEL), "the merge base is the unmasked record");
    assert_eq!((patched.fields.first_name.as_deref(), patched.version), (Some("Ewelina"), created.version + 1));
    // The PESEL the caller could not see is kept, not cleared by the patch.
    let dora = fx.user("dora", Role::Dpo).await;
    let full = app.person(&dora, created.id).await.unwrap();
    assert_eq!((full.fields.national_id.as_deref(), full.fields.email.as_deref()), (Some(PESEL), Some("ewa@example.com")));
    // The version seen is the one checked: a second patch at the old version is refused.
    assert!(matches!(app.patch_person(&sam, created.id, Some(created.version), rename).await, Err(CoreError::PreconditionFailed)));
}

/// A user who may not read the national id changes the country so that the kept id no longer
/// fits it: the refusal names the country they changed, not the field they see masked, and
/// says nothing of its value; the person is unchanged.
async fn a_change_that_no_longer_fits_a_hidden_national_id_is_refused_by_what_changed(fx: &Fixture) {
    use sejf_domain::people::AddressRaw;
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let german = AddressRaw { city: Some("Berlin".into()), country: Some("DE".into()), ..AddressRaw::default() };
    let input = PersonInput {
        raw: PersonRaw {
            first_name: Some("Jonas".into()),
            national_id: Some("T22000129".into()),
            address: Some(german),
            ..PersonRaw::default()
        },
        ..PersonInput::default()
    };
    let created = app.create_person(&sam, &input).await.unwrap();
    assert!(created.masked.contains(&"national_id"));
    let to_poland = |base: &sejf_core::people::PersonView| {
        let mut raw = base.fields.clone();
        raw.address.as_mut().unwrap().country = Some("PL".into());
        Ok::<_, CoreError>(PersonInput { raw, tags: base.tags.clone(), owner_id: Some(base.owner_id), ..PersonInput::default() })
    };
    let refused = app.patch_person(&sam, created.id, Some(created.version), to_poland).await;
    let Err(CoreError::Validation(errs)) = refused else { panic!("{refused:?}") };
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["address.country"], "{:?}", errs.0);
    assert!(!errs.0[0].reason.contains("T22000129"));
    // Someone who may read it (a manager of the unit) is told about the national id itself.
    let dora = fx.user("dora", Role::Manager).await;
    let refused = app.patch_person(&dora, created.id, Some(created.version), to_poland).await;
    let Err(CoreError::Validation(errs)) = refused else { panic!("{refused:?}") };
    assert_eq!(errs.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["national_id"]);
    let kept = app.person(&dora, created.id).await.unwrap();
    assert_eq!((kept.version, kept.fields.address.and_then(|a| a.country).as_deref()), (created.version, Some("DE")));
}

/// Sam (sales, unit north) and a company he owns.
async fn sams_company(fx: &Fixture) -> (Signed, Uuid) {
    let sam = fx.user("sam", Role::Sales).await;
    let raw = CompanyRaw { name: Some("Firma".into()), ..CompanyRaw::default() };
    let created = fx.app.create_record::<Company>(&sam, &raw, &Links::default()).await.unwrap();
    (sam, created.id)
}

/// Events in the trail about `id` (of `action` when one is named).
async fn events_about(fx: &Fixture, id: Uuid, action: Option<&str>) -> usize {
    let page = fx.app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
    page.into_iter().filter(|e| e.event.resource_id == id.to_string() && action.is_none_or(|a| e.event.action == a)).count()
}

/// The page that asks before a record is deleted shows no field of it: it answers as the
/// delete would (404 for a record the caller may not read, 403 for one they may read but not
/// delete) and neither reads the record into the trail nor counts it against a budget.
async fn the_page_that_asks_before_a_delete_decides_and_reads_nothing(fx: &Fixture) {
    let app = &fx.app;
    let (sam, id) = sams_company(fx).await;
    let before = events_about(fx, id, None).await;
    app.may_delete_record::<Company>(&sam, id).await.unwrap();
    assert_eq!(events_about(fx, id, None).await, before, "asking whether a delete is allowed is no read of it");
    // A teammate and an auditor read the company but may not delete it.
    for (name, role) in [("stan", Role::Sales), ("aud", Role::Auditor)] {
        let reader = fx.user(name, role).await;
        let refused = app.may_delete_record::<Company>(&reader, id).await;
        assert!(matches!(refused, Err(CoreError::Forbidden(_))), "{name}: {refused:?}");
    }
    // A salesman of another unit does not see it at all.
    app.create_user("olaf", Role::Sales, &["south".into()], crate::PASSWORD).await.unwrap();
    let stranger = fx.sign_in("olaf").await;
    assert!(matches!(app.may_delete_record::<Company>(&stranger, id).await, Err(CoreError::NotFound)));
    assert_eq!(events_about(fx, id, None).await, before, "nor is a refusal in the trail as a read");
    assert!(matches!(app.may_delete_record::<Company>(&sam, Uuid::now_v7()).await, Err(CoreError::NotFound)));
    // And the delete it asks about is the one decided.
    app.delete_record::<Company>(&sam, id).await.unwrap();
    assert!(matches!(app.may_delete_record::<Company>(&sam, id).await, Err(CoreError::NotFound)));
}

/// The edit form's read of a record leaves for a screen, so it is in the trail like any other
/// read.
async fn the_form_to_edit_a_record_is_an_audited_read(fx: &Fixture) {
    let (sam, id) = sams_company(fx).await;
    let before = events_about(fx, id, Some("company.read")).await;
    let form = fx.app.record_for_update::<Company>(&sam, id).await.unwrap();
    assert_eq!(form.payload.name, "Firma");
    assert_eq!(events_about(fx, id, Some("company.read")).await, before + 1, "the edit form's read is in the trail");
}

/// An organisation's edit of the default policies: sales keep writing their own deals,
/// activities and companies, but may no longer read a deal's title, an activity's body, or a
/// company's fields.
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

/// A user allowed to update a record but not to read some of its fields gets an edit form
/// without them (masked, in the trail as not shown), and saving that form keeps their stored
/// values, even when what is submitted names them; the fields they may read change as
/// submitted.
async fn the_form_to_edit_a_record_hides_and_keeps_what_its_editor_may_not_read(fx: &Fixture) {
    use sejf_core::Actor;
    use sejf_core::records::{Activity, Company, Deal, Links, RecordView};
    use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
    const TITLE: &str = "Ugoda rozwodowa Kowala";
    const BODY: &str = "Wspomniał o operacji serca";
    const NAME: &str = "Młyn Kowala";
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let dora = fx.user("dora", Role::Dpo).await;
    let deal =
        app.create_record::<Deal>(&sam, &DealRaw { title: Some(TITLE.into()), ..DealRaw::default() }, &Links::default()).await.unwrap();
    let raw = ActivityRaw { kind: Some("call".into()), body: Some(BODY.into()), ..ActivityRaw::default() };
    let activity = app.create_record::<Activity>(&sam, &raw, &Links::default()).await.unwrap();
    let raw = CompanyRaw { name: Some(NAME.into()), vat_id: Some("5260250274".into()), ..CompanyRaw::default() };
    let company = app.create_record::<Company>(&sam, &raw, &Links::default()).await.unwrap();
    app.set_policy(
        sejf_policy::PolicyEngine::from_text(&format!("{}\n{NEED_TO_KNOW}", sejf_policy::PolicyEngine::DEFAULT_POLICIES)).unwrap(),
    );
    fn links<A, P>(v: &RecordView<A, P>) -> Links {
        Links { owner_id: Some(v.owner_id), unit: Some(v.unit.clone()), ..Links::default() }
    }
    let last_read = |id: uuid::Uuid, action: &'static str| async move {
        let page = app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
        page.into_iter().rev().find(|e| e.event.action == action && e.event.resource_id == id.to_string()).map(|e| e.event.fields).unwrap()
    };

    // The forms: what sam may not read is masked and named, and the trail says it was not shown.
    let form = app.record_for_update::<Deal>(&sam, deal.id).await.unwrap();
    assert_eq!((form.payload.title.as_deref(), form.masked.as_slice()), (None, ["title"].as_slice()), "the deal's title is masked");
    assert_eq!(form.attrs.stage, deal.attrs.stage, "public attributes are shown");
    assert_eq!(last_read(deal.id, "deal.read").await, "", "the trail names no field shown");
    let form = app.record_for_update::<Activity>(&sam, activity.id).await.unwrap();
    assert_eq!((form.payload.body.as_deref(), form.masked.as_slice()), (None, ["body"].as_slice()), "the activity's body is masked");
    let form = app.record_for_update::<Company>(&sam, company.id).await.unwrap();
    assert_eq!((form.payload.name.as_str(), form.payload.vat_id.as_deref()), ("", None), "the company's fields are masked");
    assert_eq!(form.masked, ["name", "vat_id", "website"], "every field of a hidden class is named, held or not");

    // Saving the form: the merge sees the masked record; hidden fields keep their stored values
    // whether the form left them out or named them; readable ones change.
    let saved = app
        .edit_record::<Deal, CoreError>(&sam, deal.id, Some(deal.version), |cur| {
            assert!(cur.payload.title.is_none() && cur.masked == ["title"], "the merge sees what the form showed");
            let raw = DealRaw { title: None, stage: Some("proposal".into()), amount: Some("100".into()), ..DealRaw::default() };
            Ok((raw, links(cur)))
        })
        .await
        .unwrap();
    assert!(saved.payload.title.is_none(), "the answer is masked too");
    let full = app.record::<Deal>(&dora, deal.id).await.unwrap();
    assert_eq!((full.payload.title.as_deref(), full.attrs.stage.as_str()), (Some(TITLE), "proposal"), "title kept, stage changed");
    let raw = DealRaw { title: Some("nadpisane".into()), stage: Some("won".into()), ..DealRaw::default() };
    app.edit_record::<Deal, CoreError>(&sam, deal.id, Some(full.version), |cur| Ok((raw, links(cur)))).await.unwrap();
    let full = app.record::<Deal>(&dora, deal.id).await.unwrap();
    assert_eq!((full.payload.title.as_deref(), full.attrs.stage.as_str()), (Some(TITLE), "won"), "a hidden field named is not overwritten");

    let raw = ActivityRaw { kind: Some("meeting".into()), body: Some(String::new()), ..ActivityRaw::default() };
    app.edit_record::<Activity, CoreError>(&sam, activity.id, Some(activity.version), |cur| Ok((raw, links(cur)))).await.unwrap();
    let full = app.record::<Activity>(&dora, activity.id).await.unwrap();
    assert_eq!((full.payload.body.as_deref(), full.attrs.kind.as_str()), (Some(BODY), "meeting"), "body kept, kind changed");

    let before = app.record::<Company>(&dora, company.id).await.unwrap();
    app.edit_record::<Company, CoreError>(&sam, company.id, Some(company.version), |cur| Ok((CompanyRaw::default(), links(cur))))
        .await
        .unwrap();
    let full = app.record::<Company>(&dora, company.id).await.unwrap();
    assert_eq!((full.payload.name.as_str(), &full.payload.vat_id), (NAME, &before.payload.vat_id), "the company's fields are kept");
    assert!(full.payload.vat_id.is_some());
    assert_eq!(full.version, company.version + 1, "the save was written");

    // The version the form carried is checked, as for any patch.
    let stale = app.edit_record::<Deal, CoreError>(&sam, deal.id, Some(deal.version), |cur| Ok((DealRaw::default(), links(cur)))).await;
    assert!(matches!(stale, Err(CoreError::PreconditionFailed)), "a stale form is refused");

    // Where sam may read the field again, the form shows it and a save changes it.
    app.set_policy(sejf_policy::PolicyEngine::from_text(sejf_policy::PolicyEngine::DEFAULT_POLICIES).unwrap());
    let form = app.record_for_update::<Deal>(&sam, deal.id).await.unwrap();
    assert_eq!((form.payload.title.as_deref(), form.masked.len()), (Some(TITLE), 0));
    assert_eq!(last_read(deal.id, "deal.read").await, "title", "the trail names the title shown");
    let raw = DealRaw { title: Some("Ugoda roczna".into()), stage: Some("won".into()), ..DealRaw::default() };
    let saved = app.edit_record::<Deal, CoreError>(&sam, deal.id, Some(form.version), |cur| Ok((raw, links(cur)))).await.unwrap();
    assert_eq!(saved.payload.title.as_deref(), Some("Ugoda roczna"), "a readable field changes as submitted");
}

/// An organisation's edit of the default policies: sales keep writing their own people but may
/// no longer read their contact fields either (the sensitive ones they never read).
const PERSON_NEED_TO_KNOW: &str = r#"
@id("person-contact-need-to-know")
forbid (principal in Sejf::Role::"sales", action == Sejf::Action::"read_field", resource is Sejf::Record)
when { context.class == Sejf::FieldClass::"personal" && resource.kind == Sejf::RecordKind::"person" };
"#;

/// A user allowed to update a person but not to read some of their field classes gets an edit
/// form that names every such field, held or not, and shows none in clear (an audited read);
/// saving keeps each one's stored value (or its absence) whether the form left it out or named
/// it, while the fields the user may read change as submitted.
async fn the_form_to_edit_a_person_hides_and_keeps_what_its_editor_may_not_read(fx: &Fixture) {
    use sejf_core::Actor;
    use sejf_core::people::PersonView;
    use sejf_domain::people::AddressRaw;
    const OTHER_PESEL: &str = "44051401359";
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let dora = fx.user("dora", Role::Dpo).await;
    let raw = PersonRaw {
        first_name: Some("Ewa".into()),
        last_name: Some("Nowak".into()),
        email: Some("ewa@example.com".into()),
        national_id: Some(PESEL.into()),
        address: Some(AddressRaw { city: Some("Gdańsk".into()), ..AddressRaw::default() }),
        notes: Some("Dzwonić po 17".into()),
        ..PersonRaw::default()
    };
    let created = app.create_person(&sam, &PersonInput { raw, ..PersonInput::default() }).await.unwrap();
    let keep_placement = |base: &PersonView, raw: PersonRaw, tags: &[&str]| PersonInput {
        raw,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        owner_id: Some(base.owner_id),
        unit: Some(base.unit.clone()),
        company_id: base.company_id,
    };
    let last_read = || async {
        let page = app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
        let e = page.into_iter().rev().find(|e| e.event.action == "person.read" && e.event.resource_id == created.id.to_string());
        e.map(|e| (e.event.fields, e.event.detail)).unwrap()
    };

    // Default policies: sales may not read the sensitive class. The form names both of its
    // fields, the birth date although none is held, and the trail says what it showed.
    let form = app.person_for_update(&sam, created.id).await.unwrap();
    assert_eq!(form.masked, ["national_id", "birth_date"], "every field of a hidden class is named, held or not");
    assert_eq!(form.fields.national_id.as_deref(), Some("*******1458"), "the PESEL is masked");
    assert_eq!(form.fields.first_name.as_deref(), Some("Ewa"), "readable fields are shown");
    assert_eq!(last_read().await, ("first_name,last_name,email,address,notes".into(), "via=get".into()));

    // Left out: the merge sees the masked person; the PESEL is kept, the last name changes.
    let saved = app
        .edit_person(&sam, created.id, Some(created.version), |base| {
            assert_eq!(base.masked, ["national_id", "birth_date"], "the merge sees what the form showed");
            assert_ne!(base.fields.national_id.as_deref(), Some(PESEL), "and no hidden plaintext");
            let raw = PersonRaw { last_name: Some("Kowalska".into()), national_id: None, ..base.fields.clone() };
            Ok::<_, CoreError>(keep_placement(base, raw, &[]))
        })
        .await
        .unwrap();
    assert_eq!(saved.fields.national_id.as_deref(), Some("*******1458"), "the answer is masked too");
    let full = app.person(&dora, created.id).await.unwrap();
    assert_eq!(
        (full.fields.national_id.as_deref(), full.fields.last_name.as_deref(), full.version),
        (Some(PESEL), Some("Kowalska"), created.version + 1),
        "PESEL kept, last name changed"
    );

    // Named (a crafted post): another valid PESEL, and a birth date where none is held, are
    // not written; the e-mail, which sam may read, is.
    app.edit_person(&sam, created.id, Some(full.version), |base| {
        let raw = PersonRaw {
            email: Some("ewa.kowalska@example.com".into()),
            national_id: Some(OTHER_PESEL.into()),
            birth_date: Some("1944-05-14".into()),
            ..base.fields.clone()
        };
        Ok::<_, CoreError>(keep_placement(base, raw, &[]))
    })
    .await
    .unwrap();
    let full = app.person(&dora, created.id).await.unwrap();
    assert_eq!(
        (full.fields.national_id.as_deref(), full.fields.birth_date.as_deref(), full.fields.email.as_deref()),
        (Some(PESEL), None, Some("ewa.kowalska@example.com")),
        "a hidden field named is neither overwritten nor filled"
    );

    // The version the form carried is checked, as for any patch.
    let anything = |base: &PersonView| Ok::<_, CoreError>(keep_placement(base, base.fields.clone(), &[]));
    let stale = app.edit_person(&sam, created.id, Some(created.version), anything).await;
    assert!(matches!(stale, Err(CoreError::PreconditionFailed)), "a stale form is refused");
    let unversioned = app.edit_person(&sam, created.id, None, anything).await;
    assert!(matches!(unversioned, Err(CoreError::PreconditionRequired)), "a form without a version is refused");

    // Where sam may not read contact fields either, a form that carries none of them keeps
    // every one (names, e-mail, address, notes), and its tags, which are public, change.
    app.set_policy(
        sejf_policy::PolicyEngine::from_text(&format!("{}\n{PERSON_NEED_TO_KNOW}", sejf_policy::PolicyEngine::DEFAULT_POLICIES)).unwrap(),
    );
    let form = app.person_for_update(&sam, created.id).await.unwrap();
    assert_eq!(form.masked.len(), 8, "every personal field is named: {:?}", form.masked);
    assert_eq!(last_read().await.0, "", "the trail names no field shown");
    app.edit_person(&sam, created.id, Some(full.version), |base| Ok::<_, CoreError>(keep_placement(base, PersonRaw::default(), &["vip"])))
        .await
        .unwrap();
    let after = app.person(&dora, created.id).await.unwrap();
    assert!(after.fields == full.fields, "every hidden field is kept");
    assert_eq!((after.tags.as_slice(), after.version), (["vip".to_string()].as_slice(), full.version + 1), "the tags changed");
}
