//! Conformance cases: the audit sealer's lease, export requests and shared read budgets.

use sejf_core::ports::prelude::*;
use sejf_core::ports::{AuditEvent, ExportRow, ReadMark, SessionRow};
use sejf_store::{Backend, SqlStore};
use uuid::Uuid;

use crate::count;
use crate::support::{TestDb, new_user};

// ---- Audit sealer lease ---------------------------------------------------------------------------

/// Two servers on one PostgreSQL never seal at once: the second is refused the lease until the
/// first drops it. SQLite serves one server and always grants it (its sealer is serialised in
/// process).
pub(crate) async fn one_sealer_at_a_time(db: &TestDb) {
    let other = SqlStore::connect(&db.url).await.unwrap();
    let first = db.store.audit_sealer_lock().await.unwrap();
    assert!(first.is_some());
    let second = other.audit_sealer_lock().await.unwrap();
    match db.store.backend() {
        Backend::Postgres => assert!(second.is_none(), "a second sealer got the lease while the first held it"),
        Backend::Sqlite => assert!(second.is_some()),
    }
    drop(second);
    drop(first);
    // Dropping the lease closes its connection; the server frees the lock when it sees that.
    let mut again = None;
    for _ in 0..100 {
        again = other.audit_sealer_lock().await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the lease was not freed when its holder dropped it");
    drop(again);
    other.close().await;
}

fn event(action: &str) -> AuditEvent {
    AuditEvent { action: action.into(), ..Default::default() }
}

/// An export request is decided once (two racing decisions: one wins, one event), downloaded
/// only when approved and unexpired, and only once; each refused change writes no event.
pub(crate) async fn export_decisions_and_downloads_happen_once(db: &TestDb) {
    let s = &db.store;
    let requester = new_user("req", &["north"]);
    s.user_create(requester.clone(), vec![]).await.unwrap();
    let row = ExportRow {
        id: Uuid::now_v7(),
        requester_id: requester.id,
        requester: "req".into(),
        purpose: "quarterly mailing".into(),
        filter: "{}".into(),
        people: vec![7u8; 32],
        record_count: 2,
        status: "pending".into(),
        created_at: 1,
        ..Default::default()
    };
    s.export_insert(row.clone(), vec![event("export.request")]).await.unwrap();
    assert_eq!(s.export_get(row.id).await.unwrap().as_ref(), Some(&row));
    assert_eq!(s.exports_list(Some(requester.id), Some("pending".into()), None, 10).await.unwrap(), vec![row.clone()]);
    assert!(s.exports_list(None, Some("approved".into()), None, 10).await.unwrap().is_empty());
    assert!(s.exports_list(None, None, Some(row.id), 10).await.unwrap().is_empty(), "the cursor is exclusive");
    let events = || count(s, "SELECT COUNT(*) FROM audit_events");
    assert_eq!(events().await, 1);
    assert!(!s.export_mark_downloaded(row.id, 5, vec![event("export.download")]).await.unwrap(), "pending: no download");

    let approve = ExportRow { status: "approved".into(), decided_by: "boss".into(), decided_at: 2, expires_at: 100, ..row.clone() };
    let reject = ExportRow { status: "rejected".into(), decided_by: "dpo".into(), decided_at: 2, ..row.clone() };
    let (a, r) =
        tokio::join!(s.export_decide(approve, vec![event("export.approve")]), s.export_decide(reject, vec![event("export.reject")]));
    let (a, r) = (a.unwrap(), r.unwrap());
    assert!(a ^ r, "exactly one decision wins: approve {a}, reject {r}");
    assert_eq!(events().await, 2);
    let stored = s.export_get(row.id).await.unwrap().unwrap();
    assert_eq!(stored.status, if a { "approved" } else { "rejected" });
    if !a {
        assert!(!s.export_mark_downloaded(row.id, 5, vec![event("export.download")]).await.unwrap(), "rejected: no download");
        return;
    }
    assert!(!s.export_mark_downloaded(row.id, 100, vec![event("export.download")]).await.unwrap(), "expired: no download");
    assert!(s.export_mark_downloaded(row.id, 50, vec![event("export.download")]).await.unwrap());
    assert!(!s.export_mark_downloaded(row.id, 51, vec![event("export.download")]).await.unwrap(), "only once");
    assert_eq!(events().await, 3);
    let done = s.export_get(row.id).await.unwrap().unwrap();
    assert_eq!((done.status.as_str(), done.downloaded_at), ("downloaded", 50));
}

/// A read budget counts distinct people per user over a sliding window across every store handle
/// (server): re-reads are free, the read that would pass the budget records nothing, batches
/// from any server add up, a person's time only moves forward, and reads older than the window
/// stop counting and are forgotten.
pub(crate) async fn read_budgets_are_shared_and_all_or_nothing(db: &TestDb) {
    let user = new_user("reader", &["north"]);
    db.store.user_create(user.clone(), vec![]).await.unwrap();
    let other = SqlStore::connect(&db.url).await.unwrap();
    let people: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    let first = db.store.read_budget_take(user.id, 100, 0, people[..2].to_vec(), 3).await.unwrap();
    assert_eq!((first.granted, first.read_before, first.asked), (true, 0, 2));
    // The second server sees the first one's reads: one more fits, a re-read is free.
    let second = other.read_budget_take(user.id, 110, 0, vec![people[0], people[2]], 3).await.unwrap();
    assert_eq!((second.granted, second.read_before, second.asked), (true, 2, 1));
    let over = other.read_budget_take(user.id, 120, 0, people[3..5].to_vec(), 3).await.unwrap();
    assert_eq!((over.granted, over.read_before, over.asked), (false, 3, 2));
    let rows = || count(&db.store, "SELECT COUNT(*) FROM read_budget");
    assert_eq!(rows().await, 3, "a refused read records nothing");
    assert_eq!(db.store.read_budget_count(user.id, 0).await.unwrap(), 3);

    // A batch (duplicates and all) from either server: person 1 read again at 200, person 0's
    // older read at 50 leaves its time (110) alone, person 3 is new.
    let mark = |person: Uuid, at: i64| ReadMark { user: user.id, person, at };
    let batch = vec![mark(people[1], 200), mark(people[1], 150), mark(people[0], 50), mark(people[3], 130)];
    assert_eq!(other.read_budget_record(batch, 0).await.unwrap(), vec![(user.id, 4)]);
    // The window slides: from 111 on, people 0 and 2 (read at 110) no longer count.
    assert_eq!(db.store.read_budget_count(user.id, 111).await.unwrap(), 2);
    let later = db.store.read_budget_take(user.id, 300, 111, vec![people[4], people[0]], 3).await.unwrap();
    assert_eq!((later.granted, later.read_before, later.asked), (false, 2, 2), "person 0 counts again when read again");
    let later = db.store.read_budget_take(user.id, 300, 111, vec![people[4]], 3).await.unwrap();
    assert_eq!((later.granted, later.read_before, later.asked), (true, 2, 1));
    // Recording forgets what is older than the window (for every user) before it counts.
    assert_eq!(db.store.read_budget_record(vec![mark(people[0], 400)], 150).await.unwrap(), vec![(user.id, 3)]);
    assert_eq!(rows().await, 3, "the reads at 110 and 130 are gone");
    other.close().await;
}

/// Events come back from a range exactly as written, whatever characters their fields hold,
/// numbered from 1 without a gap across appends.
pub(crate) async fn the_newest_checkpoint_is_the_largest_tree(db: &TestDb) {
    let s = &db.store;
    assert_eq!(s.audit_checkpoint_last().await.unwrap(), None);
    for size in [3, 10, 7] {
        s.audit_checkpoint_put(size, format!("{{\"size\":{size}}}"), size).await.unwrap();
    }
    assert_eq!(s.audit_checkpoint_last().await.unwrap(), Some((10, "{\"size\":10}".to_string())));
    assert_eq!(s.audit_checkpoints().await.unwrap().len(), 3);
}

pub(crate) async fn audit_events_round_trip_exactly(db: &TestDb) {
    let odd = AuditEvent {
        at: 1_700_000_000_123_456,
        actor_id: Uuid::now_v7().to_string(),
        actor: "łukasz".into(),
        role: "sales".into(),
        action: "person.read".into(),
        resource_type: "person".into(),
        resource_id: "a\"quoted\" \\ back".into(),
        subject_id: "tab\tnew\nline".into(),
        fields: "email,phone".into(),
        purpose: "zażółć gęślą jaźń 🦀".into(),
        outcome: "ok".into(),
        client: "2001:db8::1".into(),
        request_id: "\u{1}control".into(),
        detail: "]}[{,".into(),
    };
    db.store.audit_append(vec![event("first")]).await.unwrap();
    db.store.audit_append(vec![odd.clone(), event("third")]).await.unwrap();
    let got = db.store.audit_range(0, 10).await.unwrap();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(got[1].event, odd);
    assert_eq!(db.store.audit_range(2, 10).await.unwrap().len(), 1, "after is exclusive");
    // What sealing and verifying hash: each event's stored body, which is its canonical
    // encoding byte for byte, odd characters and all, framed with its seq and length.
    let page = db.store.audit_canonical_range(0, 10).await.unwrap();
    let split = sejf_core::audit::split_pages(page.as_bytes()).unwrap();
    assert_eq!(split.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 2, 3]);
    for ((_, body), e) in split.iter().zip(&got) {
        assert_eq!(*body, sejf_core::audit::canonical(&e.event).as_bytes());
    }
    let one = db.store.audit_canonical_range(1, 1).await.unwrap();
    let body = sejf_core::audit::canonical(&odd);
    assert_eq!(one, format!("2:{}:{body}", body.len()));
    assert_eq!(db.store.audit_canonical_range(3, 10).await.unwrap(), "", "nothing after the end");
    // A large group commit is split over statements of several sizes: every event lands once, in order.
    let bulk: Vec<AuditEvent> = (0..137).map(|i| event(&format!("bulk-{i}"))).collect();
    db.store.audit_append(bulk.clone()).await.unwrap();
    let got = db.store.audit_range(3, 1_000).await.unwrap();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), (4..=140).collect::<Vec<_>>());
    assert_eq!(got.into_iter().map(|e| e.event).collect::<Vec<_>>(), bulk);
    // And so are the sealer's chain rows, which never overwrite.
    let chain: Vec<(i64, Vec<u8>, Vec<u8>)> = (1..=140).map(|s| (s, vec![s as u8; 32], vec![!(s as u8); 32])).collect();
    db.store.audit_chain_put(chain[..100].to_vec()).await.unwrap();
    let mut rewritten = chain.clone();
    rewritten[5].1 = vec![0; 32];
    db.store.audit_chain_put(rewritten).await.unwrap();
    assert_eq!(db.store.audit_chain_range(0, 1_000).await.unwrap(), chain);
}

/// The sweep forgets sessions past their absolute expiry and export requests finished before the
/// cut-off (downloaded, rejected, or approved and expired), and nothing else.
pub(crate) async fn expired_sessions_and_finished_exports_are_swept(db: &TestDb) {
    let s = &db.store;
    let user = new_user("sweep", &["north"]);
    s.user_create(user.clone(), vec![]).await.unwrap();
    for (i, expires_at) in [500, 1_500].into_iter().enumerate() {
        let session = SessionRow {
            id: Uuid::now_v7(),
            user_id: user.id,
            token_hash: vec![90 + i as u8; 32],
            created_at: 1,
            last_seen: 1,
            expires_at,
            scope: "full".into(),
            label: String::new(),
        };
        s.session_create(session, vec![]).await.unwrap();
    }
    let export = |status: &str, decided_at: i64, expires_at: i64, downloaded_at: i64| ExportRow {
        id: Uuid::now_v7(),
        requester_id: user.id,
        requester: "sweep".into(),
        purpose: "quarterly mailing".into(),
        filter: "{}".into(),
        people: vec![7u8; 16],
        record_count: 1,
        status: status.into(),
        created_at: 1,
        decided_at,
        expires_at,
        downloaded_at,
        ..Default::default()
    };
    let rows = [
        export("downloaded", 10, 900, 20),
        export("rejected", 10, 0, 0),
        export("approved", 10, 50, 0),
        export("pending", 0, 0, 0),
        export("approved", 10, 5_000, 0),
        export("downloaded", 10, 5_000, 1_200),
    ];
    for r in &rows {
        s.export_insert(r.clone(), vec![event("export.request")]).await.unwrap();
    }
    assert_eq!(s.expired_sweep(1_000, 1_000).await.unwrap(), (1, 3));
    assert_eq!(s.sessions_for_user(user.id).await.unwrap().iter().map(|x| x.expires_at).collect::<Vec<_>>(), [1_500]);
    let left: Vec<String> = s.exports_list(None, None, None, 10).await.unwrap().into_iter().map(|r| r.status).collect();
    assert_eq!(left, ["pending", "approved", "downloaded"], "pending, unexpired and recent ones stay");
    assert_eq!(s.expired_sweep(1_000, 1_000).await.unwrap(), (0, 0));
}
