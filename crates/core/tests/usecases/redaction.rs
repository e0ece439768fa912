//! Secrets and personal values never reach a `{:?}` (a log line, a panic message, an error
//! chain): every core type that carries one, as the use cases really produce it, is formatted
//! and searched for the values that went in.

use sejf_core::gdpr::DsrInput;
use sejf_core::people::{PersonInput, SearchCriteria};
use sejf_core::ports::AccountChange;
use sejf_core::ports::prelude::*;
use sejf_core::records::{Activity, Deal, Links};
use sejf_domain::people::PersonRaw;
use sejf_domain::records::{ActivityRaw, DealRaw};
use sejf_domain::roles::Role;

use crate::{CLIENT, Fixture, PASSWORD, on_both};

on_both!(no_secret_or_personal_value_reaches_debug_output);

const FIRST: &str = "Zofia";
const LAST: &str = "Wiśniewska";
const EMAIL: &str = "zofia.w@firma.pl";
const PESEL: &str = "44051401458";
const TITLE: &str = "Umowa serwisowa Wiśniewskiej";
const BODY: &str = "Oddzwonić w sprawie reklamacji";
const NOTE: &str = "wniosek złożony osobiście";

async fn no_secret_or_personal_value_reaches_debug_output(fx: &Fixture) {
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let dora = fx.user("dora", Role::Dpo).await;
    let input = PersonInput {
        raw: PersonRaw {
            first_name: Some(FIRST.into()),
            last_name: Some(LAST.into()),
            email: Some(EMAIL.into()),
            national_id: Some(PESEL.into()),
            ..PersonRaw::default()
        },
        ..PersonInput::default()
    };
    let created = app.create_person(&sam, &input).await.unwrap();
    let links = Links { person_id: Some(created.id), ..Links::default() };
    let deal = app.create_record::<Deal>(&sam, &DealRaw { title: Some(TITLE.into()), ..DealRaw::default() }, &links).await.unwrap();
    let raw_activity = ActivityRaw { kind: Some("call".into()), body: Some(BODY.into()), ..ActivityRaw::default() };
    let activity = app.create_record::<Activity>(&sam, &raw_activity, &links).await.unwrap();
    let criteria = SearchCriteria { email: Some(EMAIL.into()), ..SearchCriteria::default() };
    let found = app.search_people(&sam, &criteria).await.unwrap();
    assert_eq!(found.items.len(), 1, "the search finds her");
    let revealed = app.reveal_person(&sam, created.id, &["national_id".into()], "identity check at the counter").await.unwrap();
    let export = app.subject_export(&dora, created.id).await.unwrap();
    let dsr = DsrInput {
        kind: "access".into(),
        person_id: Some(created.id),
        identity_check: FIRST.into(),
        note: NOTE.into(),
        ..DsrInput::default()
    };
    let dsr_out = app.dsr_create(&dora, &dsr).await.unwrap();
    let login = app.login("sam", PASSWORD, None, CLIENT).await.unwrap();
    let enrolment = app.mfa_enroll(&sam).await.unwrap();
    let user_row = fx.store.user_by_name("sam").await.unwrap().unwrap();
    let change = AccountChange { user: user_row.id, password_hash: Some(user_row.password_hash.clone()), ..AccountChange::default() };

    let all = [
        format!("{input:?}"),
        format!("{created:?}"),
        format!("{deal:?}"),
        format!("{activity:?}"),
        format!("{criteria:?}"),
        format!("{found:?}"),
        format!("{revealed:?}"),
        format!("{export:?}"),
        format!("{dsr:?}"),
        format!("{dsr_out:?}"),
        format!("{login:?}"),
        format!("{enrolment:?}"),
        format!("{user_row:?}"),
        format!("{change:?}"),
        format!("{:?}", DealRaw { title: Some(TITLE.into()), ..DealRaw::default() }),
        format!("{raw_activity:?}"),
    ]
    .join("\n");
    let secrets =
        [FIRST, LAST, EMAIL, PESEL, TITLE, BODY, NOTE, &login.token, &enrolment.secret, &enrolment.otpauth_uri, &user_row.password_hash];
    for secret in secrets {
        assert!(!all.contains(secret), "{secret:?} in debug output:\n{all}");
    }
    // What is shown is what a log needs: ids and kinds.
    assert!(all.contains(&created.id.to_string()), "{all}");
    assert!(all.contains("username: \"sam\""), "{all}");
}
