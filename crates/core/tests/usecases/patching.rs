//! A partial update is one use case: it reads the person once, checks the version the caller
//! saw, merges onto the unmasked record (so fields the caller may not read keep their values),
//! and stores the result conditionally on that version.

use sejf_core::CoreError;
use sejf_core::people::PersonInput;
use sejf_domain::people::PersonRaw;
use sejf_domain::roles::Role;

use crate::{Fixture, on_both};

on_both!(a_patch_merges_onto_the_unmasked_record_at_the_version_seen, the_form_to_edit_a_record_is_an_audited_read);

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

/// The edit form's read of a record (unmasked, since the form carries every field back) leaves
/// for a screen, so it is in the trail like any other read.
async fn the_form_to_edit_a_record_is_an_audited_read(fx: &Fixture) {
    use sejf_core::Actor;
    use sejf_core::records::{Company, Links};
    use sejf_domain::records::CompanyRaw;
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let raw = CompanyRaw { name: Some("Firma".into()), ..CompanyRaw::default() };
    let created = app.create_record::<Company>(&sam, &raw, &Links::default()).await.unwrap();
    let reads = || async {
        let page = app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
        page.into_iter().filter(|e| e.event.action == "company.read" && e.event.resource_id == created.id.to_string()).count()
    };
    let before = reads().await;
    let form = app.record_for_update::<Company>(&sam, created.id).await.unwrap();
    assert_eq!(form.payload.name, "Firma");
    assert_eq!(reads().await, before + 1, "the edit form's read is in the trail");
}
