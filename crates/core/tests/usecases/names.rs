//! The name index as search uses it (ADR 0003, ADR 0034): prefixes of three to six characters,
//! a longer search word looked up by its first six and decided by the decrypted names, and a new
//! installation's index current from the start (no rebuild on its first start).

use sejf_core::people::{PersonInput, SearchCriteria};
use sejf_core::ports::prelude::*;
use sejf_domain::people::PersonRaw;
use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::{Fixture, on_both};

on_both!(long_words_are_found_by_six_characters_and_decided_by_the_names, a_new_installation_needs_no_name_rebuild);

fn named(first: &str, last: &str, email: &str) -> PersonInput {
    PersonInput {
        raw: PersonRaw { first_name: Some(first.into()), last_name: Some(last.into()), email: Some(email.into()), ..PersonRaw::default() },
        ..PersonInput::default()
    }
}

async fn long_words_are_found_by_six_characters_and_decided_by_the_names(fx: &Fixture) {
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let anna = app.create_person(&sam, &named("Anna", "Dąbrowska", "anna@firma.pl")).await.unwrap().id;
    let jan = app.create_person(&sam, &named("Jan", "Dąbrowski", "jan@firma.pl")).await.unwrap().id;
    let li = app.create_person(&sam, &named("Li", "Dąb", "li@firma.pl")).await.unwrap().id;
    let sam = &sam;
    let search = |name: &str| {
        let criteria = SearchCriteria { name: Some(name.into()), ..SearchCriteria::default() };
        async move {
            let mut ids: Vec<Uuid> = app.search_people(sam, &criteria).await.unwrap().items.into_iter().map(|p| p.id).collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    assert_eq!(search("Dąbrowska").await, vec![anna], "the six-character prefix finds both, her name decides");
    assert_eq!(search("dabrowski").await, vec![jan]);
    assert_eq!(search("Dąbrow").await, sorted(vec![anna, jan]));
    assert_eq!(search("Dąb").await, sorted(vec![anna, jan, li]));
    assert!(search("Dąbrowskiej").await.is_empty(), "longer than any name");
    assert_eq!(search("Anna Dąbrowska").await, vec![anna]);
    assert_eq!(search("li").await, vec![li], "a short word is a whole token");
    assert!(search("an").await.is_empty(), "and matches no prefix");

    // What the index holds: Anna Dąbrowska is *ann, *anna, *dab, *dabr, *dabro, *dabrow (six
    // rows where every prefix and each whole token made ten); Li Dąb is li, *dab.
    let tokens = fx.store.people_name_tokens(vec![anna, li]).await.unwrap();
    assert_eq!(tokens[&anna].len(), 6, "{:?}", tokens[&anna]);
    assert_eq!(tokens[&li].len(), 2, "{:?}", tokens[&li]);
    let shared = tokens[&li].iter().filter(|t| tokens[&anna].contains(t)).count();
    assert_eq!(shared, 1, "*dab is in both names' rows, li in Li's alone");
}

async fn a_new_installation_needs_no_name_rebuild(fx: &Fixture) {
    assert!(!fx.app.names_need_reindex().await.unwrap(), "an empty database starts at the current version");
}
