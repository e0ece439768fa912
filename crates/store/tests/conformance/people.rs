//! Conformance cases: people and the records that hang off them.

use sejf_core::ports::prelude::*;
use std::collections::BTreeSet;

use sejf_core::ports::{BlindIndex, KeyKind, RecordKind, RecordRow, StoreError, UserRow, Visibility};
use sejf_store::SqlStore;
use uuid::Uuid;

use crate::support::{TestDb, new_person, new_record, new_user, query_for};
use crate::{count, names_of};

// ---- People ------------------------------------------------------------------------------------

pub(crate) async fn person_round_trip_and_optimistic_update(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("owner", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let mut new = new_person(owner.id, "north");
    new.row.tags = vec!["vip".into(), "alpha".into(), "vip".into()];
    new.name_bidx = vec![30, 10, 20, 10];
    new.row.enc.notes = None;
    s.person_insert(new.clone(), vec![]).await.unwrap();

    let got = s.person_get(new.row.id).await.unwrap().unwrap();
    assert_eq!(got.wrapped_key.as_deref(), Some(new.wrapped_key.as_slice()));
    let r = &got.row;
    assert_eq!((r.id, r.owner_id, r.unit.as_str(), r.company_id), (new.row.id, owner.id, "north", None));
    assert_eq!((r.version, r.created_at, r.updated_at), (1, new.row.created_at, new.row.updated_at));
    assert_eq!(r.enc.first_name, new.row.enc.first_name);
    assert_eq!(r.enc.email, new.row.enc.email);
    assert_eq!(r.enc.address, new.row.enc.address);
    assert_eq!(r.enc.notes, None);
    assert_eq!((r.email_bidx, r.phone_bidx, r.national_id_bidx), (new.row.email_bidx, new.row.phone_bidx, None));
    assert_eq!(r.tags, vec!["alpha", "vip"], "tags come back sorted, once each");
    assert_eq!(names_of(s, r.id).await, vec![10, 20, 30], "name tokens come back sorted, once each");
    assert_eq!(s.key_get(KeyKind::Subject, &new.row.id.to_string()).await.unwrap().unwrap(), new.wrapped_key);
    assert!(s.person_get(Uuid::now_v7()).await.unwrap().is_none());
    assert!(matches!(s.person_insert(new.clone(), vec![]).await, Err(StoreError::Conflict(_))));

    // A stale version changes nothing.
    let mut changed = got.row.clone();
    changed.enc.email = Some(b"new-email-ciphertext".to_vec());
    changed.email_bidx = Some(-5);
    changed.tags = vec!["beta".into()];
    let changed_names = vec![99];
    changed.updated_at += 1_000;
    changed.created_at = 0;
    assert!(!s.person_update(changed.clone(), changed_names.clone(), 7, vec![]).await.unwrap());
    let same = s.person_get(new.row.id).await.unwrap().unwrap().row;
    assert_eq!((same.version, same.enc.email.clone(), same.tags.clone()), (1, new.row.enc.email.clone(), r.tags.clone()));
    assert_eq!(names_of(s, same.id).await, vec![10, 20, 30]);

    // The current version applies, bumps the version and replaces tags and tokens.
    assert!(s.person_update(changed.clone(), changed_names.clone(), 1, vec![]).await.unwrap());
    let now = s.person_get(new.row.id).await.unwrap().unwrap().row;
    assert_eq!(now.version, 2);
    assert_eq!(now.enc.email, changed.enc.email);
    assert_eq!(now.email_bidx, Some(-5));
    assert_eq!(now.updated_at, changed.updated_at);
    assert_eq!(now.created_at, new.row.created_at, "created_at never changes");
    assert_eq!(now.tags, vec!["beta"]);
    assert_eq!(names_of(s, now.id).await, vec![99]);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 1);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 1);
    // An update that keeps some tags and tokens, drops some and adds some (twice over) leaves
    // each once.
    let mut overlap = changed.clone();
    overlap.tags = vec!["gamma".into(), "beta".into(), "gamma".into()];
    assert!(s.person_update(overlap.clone(), vec![7, 99, 7, 5], 2, vec![]).await.unwrap());
    let now = s.person_get(new.row.id).await.unwrap().unwrap().row;
    assert_eq!((now.tags, names_of(s, now.id).await), (vec!["beta".to_string(), "gamma".to_string()], vec![5, 7, 99]));
    overlap.tags = vec!["gamma".into()];
    // Indexed columns change with the rest (SQLite's writer sets them in a statement of their
    // own, only when one of them changes).
    (overlap.phone_bidx, overlap.national_id_bidx) = (Some(77), None);
    assert!(s.person_update(overlap.clone(), vec![5], 3, vec![]).await.unwrap());
    let now = s.person_get(new.row.id).await.unwrap().unwrap().row;
    assert_eq!((now.version, now.tags, names_of(s, now.id).await), (4, vec!["gamma".to_string()], vec![5]));
    assert_eq!((now.email_bidx, now.phone_bidx, now.national_id_bidx), (Some(-5), Some(77), None));
    let all = query_for(Visibility { all: true, owner: owner.id, member_units: false });
    assert_eq!(ids_of(&s.people_by_bidx(BlindIndex::Phone, 77, all).await.unwrap()), vec![new.row.id], "the index follows");
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 1);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 1);
    // Unchanged tags, tokens and indexed columns stay as they are; the fields still change.
    overlap.enc.email = Some(b"third-email-ciphertext".to_vec());
    overlap.updated_at += 1;
    assert!(s.person_update(overlap.clone(), vec![5], 4, vec![]).await.unwrap());
    let now = s.person_get(new.row.id).await.unwrap().unwrap().row;
    assert_eq!((now.version, now.tags, names_of(s, now.id).await), (5, vec!["gamma".to_string()], vec![5]));
    assert_eq!((now.enc.email, now.updated_at, now.phone_bidx), (overlap.enc.email, overlap.updated_at, Some(77)));
    // The version it was read at is stale now.
    assert!(!s.person_update(changed, changed_names, 1, vec![]).await.unwrap());
    // An absent person is not updated, and gets no tag or name-token rows (no foreign key would
    // refuse them: the update's hold on the person's row is what keeps them out).
    let mut absent = new_person(owner.id, "north");
    absent.row.tags = vec!["ghost".into()];
    assert!(!s.person_update(absent.row.clone(), vec![41, 42], 1, vec![]).await.unwrap(), "an absent person is not updated");
    assert!(!s.person_name_tokens_replace(absent.row.id, 1, vec![43]).await.unwrap());
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 1);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 1);
}

/// A rebuild of the name index writes a person's tokens only over the version it derived them
/// from: an update committed in between keeps the tokens of the new name.
pub(crate) async fn a_name_index_rebuild_writes_only_over_the_version_it_read(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("owner", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let mut p = new_person(owner.id, "north");
    p.name_bidx = vec![1, 2];
    s.person_insert(p.clone(), vec![]).await.unwrap();
    // The rebuild derived its tokens at version 1; an update to version 2 came first.
    assert!(s.person_update(p.row.clone(), vec![3], 1, vec![]).await.unwrap());
    assert!(!s.person_name_tokens_replace(p.row.id, 1, vec![4, 5]).await.unwrap(), "a stale rebuild writes nothing");
    assert_eq!(names_of(s, p.row.id).await, vec![3]);
    // Over the current version it replaces them (a reader sees it at once), and nothing else.
    assert!(s.person_name_tokens_replace(p.row.id, 2, vec![5, 4]).await.unwrap());
    assert_eq!(names_of(s, p.row.id).await, vec![4, 5]);
    let now = s.person_get(p.row.id).await.unwrap().unwrap().row;
    assert_eq!((now.version, now.updated_at, now.enc.first_name), (2, p.row.updated_at, p.row.enc.first_name));
    assert!(!s.person_name_tokens_replace(Uuid::now_v7(), 1, vec![6]).await.unwrap(), "nobody to rebuild");
}

/// Three owners in two units and a manager of `north`:
/// ann (north) owns 3, ben (north) owns 2, cat (south) owns 2.
pub(crate) struct World {
    ann: UserRow,
    ben: UserRow,
    cat: UserRow,
    boss: UserRow,
}

pub(crate) async fn world(store: &SqlStore) -> World {
    let w = World {
        ann: new_user("ann", &["north"]),
        ben: new_user("ben", &["north"]),
        cat: new_user("cat", &["south"]),
        boss: new_user("boss", &["north"]),
    };
    for u in [&w.ann, &w.ben, &w.cat, &w.boss] {
        store.user_create(u.clone(), vec![]).await.unwrap();
    }
    let mut people = Vec::new();
    for (owner, unit, n) in [(&w.ann, "north", 3), (&w.ben, "north", 2), (&w.cat, "south", 2)] {
        for i in 0..n {
            let mut p = new_person(owner.id, unit);
            p.row.tags = if i == 0 { vec!["lead".into(), "vip".into()] } else { vec!["lead".into()] };
            people.push(p);
        }
    }
    store.people_insert_batch(people, vec![]).await.unwrap();
    w
}

pub(crate) fn ids_of(people: &[sejf_core::ports::StoredPerson]) -> Vec<Uuid> {
    people.iter().map(|p| p.row.id).collect()
}

pub(crate) async fn list_visibility_and_filters(db: &TestDb) {
    let s = &db.store;
    let w = world(s).await;
    let owner_only = |u: &UserRow| query_for(Visibility { all: false, owner: u.id, member_units: false });
    let manager = |u: &UserRow| query_for(Visibility { all: false, owner: u.id, member_units: true });
    let admin = || query_for(Visibility { all: true, owner: Uuid::now_v7(), member_units: false });

    let ann = s.people_list(owner_only(&w.ann)).await.unwrap();
    assert_eq!(ann.len(), 3);
    assert!(ann.iter().all(|p| p.row.owner_id == w.ann.id));
    assert!(ann.iter().all(|p| p.wrapped_key.is_some()));
    assert_eq!(s.people_list(owner_only(&w.boss)).await.unwrap().len(), 0, "a manager owns nothing");
    let boss = s.people_list(manager(&w.boss)).await.unwrap();
    assert_eq!(boss.len(), 5, "a manager sees their units");
    assert!(boss.iter().all(|p| p.row.unit == "north"));
    assert_eq!(s.people_list(manager(&w.cat)).await.unwrap().len(), 2);
    assert_eq!(s.people_list(admin()).await.unwrap().len(), 7);
    assert_eq!(s.people_count().await.unwrap(), 7);

    // Filters narrow what is visible; they never widen it.
    let mut q = admin();
    q.owner = Some(w.ben.id);
    assert_eq!(s.people_list(q).await.unwrap().len(), 2);
    let mut q = owner_only(&w.ann);
    q.owner = Some(w.ben.id);
    assert_eq!(s.people_list(q).await.unwrap().len(), 0);
    let mut q = admin();
    q.unit = Some("south".into());
    assert!(s.people_list(q).await.unwrap().iter().all(|p| p.row.owner_id == w.cat.id));
    let mut q = manager(&w.boss);
    q.unit = Some("south".into());
    assert_eq!(s.people_list(q).await.unwrap().len(), 0);
    let mut q = admin();
    q.tag = Some("vip".into());
    let vip = s.people_list(q).await.unwrap();
    assert_eq!(vip.len(), 3);
    assert!(vip.iter().all(|p| p.row.tags == vec!["lead", "vip"]), "a filtered list still carries every tag");
    let mut q = manager(&w.boss);
    q.tag = Some("vip".into());
    q.owner = Some(w.ann.id);
    assert_eq!(s.people_list(q).await.unwrap().len(), 1);
    let mut q = admin();
    q.tag = Some("nope".into());
    assert!(s.people_list(q).await.unwrap().is_empty());
    let mut q = admin();
    q.limit = 0;
    assert!(s.people_list(q).await.unwrap().is_empty());
}

pub(crate) async fn list_pagination_gives_every_row_once(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("pager", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let mut expected = Vec::new();
    let mut people = Vec::new();
    for i in 0..25_i64 {
        let mut p = new_person(owner.id, "north");
        p.row.tags = vec![format!("t{i}")];
        p.name_bidx = vec![i, 1_000 + i];
        expected.push(p.row.id);
        people.push(p);
    }
    s.people_insert_batch(people, vec![]).await.unwrap();
    expected.sort();

    let mut seen = Vec::new();
    let mut q = query_for(Visibility { all: false, owner: owner.id, member_units: false });
    q.limit = 7;
    loop {
        let page = s.people_list(q.clone()).await.unwrap();
        assert!(page.len() <= 7);
        // Tags and tokens belong to their own person, across page boundaries.
        let mut names = s.people_name_tokens(ids_of(&page)).await.unwrap();
        assert_eq!(names.len(), page.len());
        for p in &page {
            let tokens = names.remove(&p.row.id).unwrap();
            let i = tokens[0];
            assert_eq!(tokens, vec![i, 1_000 + i]);
            assert_eq!(p.row.tags, vec![format!("t{i}")]);
        }
        seen.extend(ids_of(&page));
        match page.last() {
            Some(last) if page.len() == 7 => q.after = Some(last.row.id),
            _ => break,
        }
    }
    assert_eq!(seen, expected, "every row exactly once, in id order");

    // The same for records.
    let mut expected = Vec::new();
    for _ in 0..11 {
        let r = new_record(RecordKind::Company, owner.id, "north");
        expected.push(r.id);
        s.records_insert(vec![r], vec![]).await.unwrap();
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut q = query_for(Visibility { all: false, owner: owner.id, member_units: false });
    q.limit = 4;
    loop {
        let page = s.records_list(RecordKind::Company, q.clone()).await.unwrap();
        seen.extend(page.iter().map(|r| r.id));
        match page.last() {
            Some(last) if page.len() == 4 => q.after = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(seen, expected);
}

pub(crate) async fn blind_index_searches(db: &TestDb) {
    let s = &db.store;
    let ann = new_user("ann", &["north"]);
    let cat = new_user("cat", &["south"]);
    s.user_create(ann.clone(), vec![]).await.unwrap();
    s.user_create(cat.clone(), vec![]).await.unwrap();
    let mut a = new_person(ann.id, "north");
    (a.row.email_bidx, a.row.phone_bidx, a.row.national_id_bidx, a.name_bidx) = (Some(11), Some(21), Some(31), vec![41, 42]);
    let mut b = new_person(ann.id, "north");
    (b.row.email_bidx, b.row.phone_bidx, b.row.national_id_bidx, b.name_bidx) = (Some(11), Some(22), None, vec![42]);
    let mut c = new_person(cat.id, "south");
    (c.row.email_bidx, c.row.phone_bidx, c.row.national_id_bidx, c.name_bidx) = (Some(11), Some(21), Some(31), vec![41]);
    // Stored out of their ids' order, so that an index's own order is not the pages' order.
    for p in [&c, &a, &b] {
        s.person_insert(p.clone(), vec![]).await.unwrap();
    }
    let admin = query_for(Visibility { all: true, owner: ann.id, member_units: false });
    let anns = query_for(Visibility { all: false, owner: ann.id, member_units: false });
    let set = |v: Vec<sejf_core::ports::StoredPerson>| ids_of(&v).into_iter().collect::<BTreeSet<_>>();
    let of = |ps: &[&sejf_core::ports::NewPerson]| ps.iter().map(|p| p.row.id).collect::<BTreeSet<_>>();

    assert_eq!(set(s.people_by_bidx(BlindIndex::Email, 11, admin.clone()).await.unwrap()), of(&[&a, &b, &c]));
    assert_eq!(set(s.people_by_bidx(BlindIndex::Email, 11, anns.clone()).await.unwrap()), of(&[&a, &b]));
    assert_eq!(set(s.people_by_bidx(BlindIndex::Phone, 21, admin.clone()).await.unwrap()), of(&[&a, &c]));
    assert_eq!(set(s.people_by_bidx(BlindIndex::NationalId, 31, anns.clone()).await.unwrap()), of(&[&a]));
    assert_eq!(set(s.people_by_bidx(BlindIndex::Name, 42, admin.clone()).await.unwrap()), of(&[&a, &b]));
    assert_eq!(set(s.people_by_bidx(BlindIndex::Name, 41, anns.clone()).await.unwrap()), of(&[&a]));
    assert!(s.people_by_bidx(BlindIndex::Email, 12, admin.clone()).await.unwrap().is_empty());
    let found = s.people_by_bidx(BlindIndex::Name, 41, anns.clone()).await.unwrap();
    assert_eq!(names_of(s, found[0].row.id).await, vec![41, 42], "a person found by one token has all of theirs");
    let mut q = admin.clone();
    q.unit = Some("south".into());
    assert_eq!(set(s.people_by_bidx(BlindIndex::Email, 11, q).await.unwrap()), of(&[&c]));
    let mut q = admin.clone();
    q.limit = 1;
    let first = s.people_by_bidx(BlindIndex::Email, 11, q.clone()).await.unwrap();
    q.after = Some(first[0].row.id);
    let second = s.people_by_bidx(BlindIndex::Email, 11, q).await.unwrap();
    assert!(second[0].row.id > first[0].row.id);
    // Pages of every size are the matches in id order, whether the page is full (more may
    // follow) or holds the last of them.
    let sorted = |ps: &[&sejf_core::ports::NewPerson]| {
        let mut ids: Vec<Uuid> = ps.iter().map(|p| p.row.id).collect();
        ids.sort();
        ids
    };
    for (column, value, matching) in [(BlindIndex::Email, 11, sorted(&[&a, &b, &c])), (BlindIndex::Name, 41, sorted(&[&a, &c]))] {
        for size in 1..=4u32 {
            let mut q = admin.clone();
            q.limit = size;
            let mut seen: Vec<Uuid> = Vec::new();
            loop {
                let page = ids_of(&s.people_by_bidx(column, value, q.clone()).await.unwrap());
                assert!(page.len() <= size as usize);
                seen.extend(&page);
                if page.len() < size as usize {
                    break;
                }
                q.after = page.last().copied();
            }
            assert_eq!(seen, matching, "{column:?} in pages of {size}");
        }
    }
}

pub(crate) async fn delete_person_erases_key_and_activities(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("eraser", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let mut p = new_person(owner.id, "north");
    p.row.tags = vec!["x".into()];
    p.name_bidx = vec![1, 2];
    // Someone kept shares a name token with the deleted person: only the deleted one's rows go.
    let mut keep = new_person(owner.id, "north");
    keep.row.tags = vec!["x".into(), "y".into()];
    keep.name_bidx = vec![2, 3];
    s.people_insert_batch(vec![p.clone(), keep.clone()], vec![]).await.unwrap();
    let mut activity = new_record(RecordKind::Activity, owner.id, "north");
    activity.person_id = Some(p.row.id);
    s.records_insert(vec![activity.clone()], vec![]).await.unwrap();
    let mut other_activity = new_record(RecordKind::Activity, owner.id, "north");
    other_activity.person_id = Some(keep.row.id);
    s.records_insert(vec![other_activity.clone()], vec![]).await.unwrap();
    let mut deal = new_record(RecordKind::Deal, owner.id, "north");
    deal.person_id = Some(p.row.id);
    s.records_insert(vec![deal.clone()], vec![]).await.unwrap();

    assert!(s.person_delete(p.row.id, vec![]).await.unwrap());
    assert!(s.person_get(p.row.id).await.unwrap().is_none());
    assert!(s.key_get(KeyKind::Subject, &p.row.id.to_string()).await.unwrap().is_none(), "the subject key is destroyed");
    assert!(s.record_get(RecordKind::Activity, activity.id).await.unwrap().is_none());
    assert!(s.record_get(RecordKind::Activity, other_activity.id).await.unwrap().is_some());
    let deal_now = s.record_get(RecordKind::Deal, deal.id).await.unwrap().unwrap();
    assert_eq!(deal_now.person_id, None, "a deal only loses the link");
    // Their tags and name tokens go with them (migration 25's trigger, no longer a foreign key).
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 2, "the kept person's two tags");
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 2, "the kept person's two tokens");
    assert_eq!(count(s, "SELECT COUNT(*) FROM keystore WHERE kind = 'subject'").await, 1);
    let kept = s.person_get(keep.row.id).await.unwrap().unwrap().row;
    assert_eq!((kept.tags, names_of(s, keep.row.id).await), (vec!["x".to_string(), "y".to_string()], vec![2, 3]));
    assert!(!s.person_delete(p.row.id, vec![]).await.unwrap(), "absent: false");
    assert_eq!(s.people_count().await.unwrap(), 1);
}

pub(crate) async fn foreign_key_violations_are_references(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("fk", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let ghost = Uuid::now_v7();

    assert!(matches!(s.person_insert(new_person(ghost, "north"), vec![]).await, Err(StoreError::Reference(_))));
    assert!(matches!(s.person_insert(new_person(owner.id, "nowhere"), vec![]).await, Err(StoreError::Reference(_))));
    let mut p = new_person(owner.id, "north");
    p.row.company_id = Some(ghost);
    assert!(matches!(s.person_insert(p, vec![]).await, Err(StoreError::Reference(_))));
    assert_eq!(s.people_count().await.unwrap(), 0);
    assert_eq!(count(s, "SELECT COUNT(*) FROM keystore").await, 0, "a refused person leaves no key behind");
    let mut tagged = new_person(ghost, "north");
    (tagged.row.tags, tagged.name_bidx) = (vec!["vip".into()], vec![1, 2, 3]);
    assert!(matches!(s.person_insert(tagged, vec![]).await, Err(StoreError::Reference(_))));
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 0, "nor tags");
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 0, "nor name tokens");

    assert!(matches!(s.records_insert(vec![new_record(RecordKind::Company, ghost, "north")], vec![]).await, Err(StoreError::Reference(_))));
    let mut deal = new_record(RecordKind::Deal, owner.id, "north");
    deal.person_id = Some(ghost);
    assert!(matches!(s.records_insert(vec![deal], vec![]).await, Err(StoreError::Reference(_))));
    let mut act = new_record(RecordKind::Activity, owner.id, "north");
    act.deal_id = Some(ghost);
    assert!(matches!(s.records_insert(vec![act], vec![]).await, Err(StoreError::Reference(_))));
    // A batch is one transaction: the good company before the bad deal is not kept either.
    let mut bad = new_record(RecordKind::Deal, owner.id, "north");
    bad.person_id = Some(ghost);
    let batch = vec![new_record(RecordKind::Company, owner.id, "north"), bad];
    assert!(matches!(s.records_insert(batch, vec![]).await, Err(StoreError::Reference(_))));
    assert_eq!(count(s, "SELECT COUNT(*) FROM companies").await, 0, "a refused batch leaves nothing behind");
    // A company's links are plain columns.
    let mut company = new_record(RecordKind::Company, owner.id, "north");
    (company.person_id, company.deal_id) = (Some(ghost), Some(ghost));
    s.records_insert(vec![company], vec![]).await.unwrap();

    // An update that points at nothing is refused too, and changes nothing.
    let person = new_person(owner.id, "north");
    s.person_insert(person.clone(), vec![]).await.unwrap();
    let mut row = person.row.clone();
    row.owner_id = ghost;
    assert!(matches!(s.person_update(row, Vec::new(), 1, vec![]).await, Err(StoreError::Reference(_))));
    assert_eq!(s.person_get(person.row.id).await.unwrap().unwrap().row.owner_id, owner.id);
}

pub(crate) async fn records_crud_for_every_kind(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("rec", &["north"]);
    let other = new_user("other", &["south"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    s.user_create(other.clone(), vec![]).await.unwrap();
    let person = new_person(owner.id, "north");
    s.person_insert(person.clone(), vec![]).await.unwrap();
    let company = new_record(RecordKind::Company, owner.id, "north");
    s.records_insert(vec![company.clone()], vec![]).await.unwrap();
    let mut deal = new_record(RecordKind::Deal, owner.id, "north");
    (deal.person_id, deal.company_id) = (Some(person.row.id), Some(company.id));
    s.records_insert(vec![deal.clone()], vec![]).await.unwrap();
    let mut activity = new_record(RecordKind::Activity, owner.id, "north");
    (activity.person_id, activity.company_id, activity.deal_id) = (Some(person.row.id), Some(company.id), Some(deal.id));
    s.records_insert(vec![activity.clone()], vec![]).await.unwrap();

    for original in [company, deal, activity] {
        let kind = original.kind;
        let got = s.record_get(kind, original.id).await.unwrap().unwrap();
        assert_eq!(format!("{got:?}"), format!("{original:?}"), "{kind:?} round trip");
        assert!(matches!(s.records_insert(vec![original.clone()], vec![]).await, Err(StoreError::Conflict(_))));
        // Another kind's table does not hold it.
        let elsewhere = [RecordKind::Company, RecordKind::Deal, RecordKind::Activity].into_iter().find(|k| *k != kind).unwrap();
        assert!(s.record_get(elsewhere, original.id).await.unwrap().is_none());

        let mut changed = original.clone();
        changed.attrs = r#"{"changed":true}"#.into();
        changed.payload = b"new payload".to_vec();
        changed.updated_at += 5;
        changed.created_at = 0;
        assert!(!s.record_update(changed.clone(), 9, vec![]).await.unwrap(), "stale");
        assert_eq!(s.record_get(kind, original.id).await.unwrap().unwrap().attrs, original.attrs);
        assert!(s.record_update(changed.clone(), 1, vec![]).await.unwrap());
        let now = s.record_get(kind, original.id).await.unwrap().unwrap();
        assert_eq!((now.version, now.attrs.as_str(), now.payload.as_slice()), (2, changed.attrs.as_str(), changed.payload.as_slice()));
        assert_eq!((now.created_at, now.updated_at), (original.created_at, changed.updated_at));

        let mine = query_for(Visibility { all: false, owner: owner.id, member_units: false });
        assert_eq!(s.records_list(kind, mine).await.unwrap().len(), 1);
        let theirs = query_for(Visibility { all: false, owner: other.id, member_units: true });
        assert!(s.records_list(kind, theirs).await.unwrap().is_empty());
        let mut q = query_for(Visibility { all: true, owner: other.id, member_units: false });
        q.unit = Some("south".into());
        assert!(s.records_list(kind, q.clone()).await.unwrap().is_empty());
        q.unit = Some("north".into());
        q.tag = Some("ignored".into());
        assert_eq!(s.records_list(kind, q).await.unwrap().len(), 1, "records have no tags: the tag filter is ignored");
    }

    for kind in [RecordKind::Activity, RecordKind::Deal, RecordKind::Company] {
        let id = s.records_list(kind, query_for(Visibility { all: true, owner: owner.id, member_units: false })).await.unwrap()[0].id;
        assert!(s.record_delete(kind, id, vec![]).await.unwrap());
        assert!(s.record_get(kind, id).await.unwrap().is_none());
        assert!(!s.record_delete(kind, id, vec![]).await.unwrap());
    }
    assert!(s.person_get(person.row.id).await.unwrap().is_some(), "deleting records never deletes a person");
}

pub(crate) async fn batch_insert_is_all_or_nothing(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("bulk", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    // Large enough to use every statement size (64, 8 and 1 rows; 256, 16 and 1 pairs).
    let people: Vec<_> = (0..1_000)
        .map(|i| {
            let mut p = new_person(owner.id, "north");
            p.row.tags = (0..(i % 3)).map(|t| format!("tag{t}")).collect();
            p.name_bidx = vec![i, i + 1];
            p
        })
        .collect();
    let first = people[0].clone();
    let last = people[999].clone();
    s.people_insert_batch(people, vec![]).await.unwrap();
    s.people_insert_batch(Vec::new(), vec![]).await.unwrap();
    assert_eq!(s.people_count().await.unwrap(), 1_000);
    assert_eq!(count(s, "SELECT COUNT(*) FROM keystore WHERE kind = 'subject'").await, 1_000);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 999);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 2_000);
    let got = s.person_get(last.row.id).await.unwrap().unwrap();
    assert_eq!(names_of(s, got.row.id).await, vec![999, 1_000]);
    assert_eq!(got.row.enc.first_name, last.row.enc.first_name);
    assert_eq!(got.wrapped_key.unwrap(), last.wrapped_key);
    // Many by id in one round trip: the ones that exist, each whole, whatever the order asked.
    let mut many = s.people_get(vec![last.row.id, uuid::Uuid::now_v7(), first.row.id, last.row.id]).await.unwrap();
    many.sort_by_key(|p| p.row.id);
    assert_eq!(many.iter().map(|p| p.row.id).collect::<Vec<_>>(), vec![first.row.id, last.row.id]);
    assert_eq!(many[1].row.tags, last.row.tags);
    // Name tokens of many people, and of none, in one round trip: each person's own.
    let names = s.people_name_tokens(vec![first.row.id, last.row.id, uuid::Uuid::nil()]).await.unwrap();
    assert_eq!((&names[&first.row.id], &names[&last.row.id], &names[&uuid::Uuid::nil()]), (&vec![0, 1], &vec![999, 1_000], &vec![]));
    assert!(s.people_name_tokens(Vec::new()).await.unwrap().is_empty());
    assert_eq!(many[1].wrapped_key.as_ref(), Some(&last.wrapped_key));
    // Exactly what a single read gives, nulls (national_id, company) and all.
    for p in &many {
        let one = s.person_get(p.row.id).await.unwrap().unwrap();
        assert_eq!(format!("{p:?}"), format!("{one:?}"));
    }
    assert_eq!(many[0].row.enc.national_id, None);
    assert!(s.people_get(Vec::new()).await.unwrap().is_empty());

    // One duplicate id (of a stored person) anywhere in a batch: nothing of the batch is stored.
    let mut dup: Vec<_> = (0..100).map(|_| new_person(owner.id, "north")).collect();
    dup.push(first.clone());
    assert!(matches!(s.people_insert_batch(dup, vec![]).await, Err(StoreError::Conflict(_))));
    // A duplicate within the batch itself.
    let twin = new_person(owner.id, "north");
    assert!(matches!(
        s.people_insert_batch(vec![twin.clone(), new_person(owner.id, "north"), twin], vec![]).await,
        Err(StoreError::Conflict(_))
    ));
    // A bad reference in the last row.
    let mut bad: Vec<_> = (0..70).map(|_| new_person(owner.id, "north")).collect();
    bad.push(new_person(Uuid::now_v7(), "north"));
    assert!(matches!(s.people_insert_batch(bad, vec![]).await, Err(StoreError::Reference(_))));

    assert_eq!(s.people_count().await.unwrap(), 1_000);
    assert_eq!(count(s, "SELECT COUNT(*) FROM keystore").await, 1_000);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_tags").await, 999);
    assert_eq!(count(s, "SELECT COUNT(*) FROM person_name_tokens").await, 2_000);
}

pub(crate) async fn deleting_a_company_unlinks_people_and_deals(db: &TestDb) {
    let s = &db.store;
    let owner = new_user("co", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let company = new_record(RecordKind::Company, owner.id, "north");
    s.records_insert(vec![company.clone()], vec![]).await.unwrap();
    let mut p = new_person(owner.id, "north");
    p.row.company_id = Some(company.id);
    s.person_insert(p.clone(), vec![]).await.unwrap();
    let mut deal: RecordRow = new_record(RecordKind::Deal, owner.id, "north");
    deal.company_id = Some(company.id);
    s.records_insert(vec![deal.clone()], vec![]).await.unwrap();
    assert_eq!(s.person_get(p.row.id).await.unwrap().unwrap().row.company_id, Some(company.id));

    assert!(s.record_delete(RecordKind::Company, company.id, vec![]).await.unwrap());
    assert_eq!(s.person_get(p.row.id).await.unwrap().unwrap().row.company_id, None);
    assert_eq!(s.record_get(RecordKind::Deal, deal.id).await.unwrap().unwrap().company_id, None);
}

// ---- GDPR registers and disclosures ---------------------------------------------------------------

pub(crate) async fn registers_and_disclosures_round_trip(db: &TestDb) {
    let s = &db.store;
    assert!(s.gdpr_register("processor").await.unwrap().is_empty());
    s.gdpr_register_put("processor", "mailer".into(), r#"{"v":1}"#.into(), 10, vec![]).await.unwrap();
    s.gdpr_register_put("processor", "acme".into(), r#"{"v":1}"#.into(), 11, vec![]).await.unwrap();
    s.gdpr_register_put("processor", "mailer".into(), r#"{"v":2}"#.into(), 12, vec![]).await.unwrap();
    s.gdpr_register_put("breach", "b1".into(), "{}".into(), 13, vec![]).await.unwrap();
    let got = s.gdpr_register("processor").await.unwrap();
    assert_eq!(got, vec![("acme".to_string(), r#"{"v":1}"#.to_string()), ("mailer".to_string(), r#"{"v":2}"#.to_string())]);
    assert_eq!(s.gdpr_register("breach").await.unwrap().len(), 1, "kinds are kept apart");

    let owner = new_user("discloser", &["north"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    let p = new_person(owner.id, "north");
    s.person_insert(p.clone(), vec![]).await.unwrap();
    let row = |processor: &str, at| sejf_core::ports::DisclosureRow {
        person_id: p.row.id,
        processor: processor.into(),
        purpose: "newsletter".into(),
        categories: "contact".into(),
        disclosed_at: at,
    };
    s.disclose(vec![row("mailer", 5), row("acme", 3)], vec![]).await.unwrap();
    // The same disclosure twice is recorded once.
    s.disclose(vec![row("mailer", 5)], vec![]).await.unwrap();
    let list = s.disclosures(p.row.id).await.unwrap();
    assert_eq!(list, vec![row("acme", 3), row("mailer", 5)], "oldest first");
    // A disclosure to someone who does not exist is a reference error, and nothing is written.
    let mut ghost = row("mailer", 9);
    ghost.person_id = Uuid::now_v7();
    assert!(s.disclose(vec![row("acme", 9), ghost], vec![]).await.is_err());
    assert_eq!(s.disclosures(p.row.id).await.unwrap().len(), 2, "all or nothing");
    // They go with the person.
    assert!(s.person_delete(p.row.id, vec![]).await.unwrap());
    assert!(s.disclosures(p.row.id).await.unwrap().is_empty());
}
