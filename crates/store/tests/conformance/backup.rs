//! Conformance cases: logical snapshots for backups, restores, and the erasure ledger.

use sejf_core::ports::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;

use sejf_core::ports::{AuditEvent, KeyKind, RecordKind, StoreError};
use sejf_store::SqlStore;
use sejf_store::backup::{self, RestoreSource, SnapshotSink, Table, TableSummary};

use crate::count;
use crate::support::{TestDb, new_person, new_record, new_user};

/// A snapshot held in memory: each table's encoded rows and summary.
#[derive(Default)]
pub(crate) struct Memory {
    parts: BTreeMap<&'static str, (Vec<u8>, Option<TableSummary>)>,
}

impl SnapshotSink for Memory {
    fn begin(&mut self, table: &'static Table) -> Result<(), StoreError> {
        self.parts.insert(table.name, (Vec::new(), None));
        Ok(())
    }
    fn row(&mut self, encoded: &[u8]) -> Result<(), StoreError> {
        let last = self.parts.values_mut().find(|p| p.1.is_none()).unwrap();
        last.0.extend_from_slice(encoded);
        Ok(())
    }
    fn end(&mut self, table: &'static Table, summary: TableSummary) -> Result<(), StoreError> {
        self.parts.get_mut(table.name).unwrap().1 = Some(summary);
        Ok(())
    }
}

impl RestoreSource for Memory {
    fn open(&mut self, table: &'static Table) -> Result<Box<dyn Read + Send + '_>, String> {
        Ok(Box::new(std::io::Cursor::new(self.parts.get(table.name).map(|p| p.0.clone()).unwrap_or_default())))
    }
}

impl Memory {
    fn summaries(&self) -> BTreeMap<&'static str, TableSummary> {
        self.parts.iter().map(|(k, v)| (*k, v.1.clone().unwrap())).collect()
    }
}

fn erase_event(subject: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        actor_id: String::new(),
        actor: "dpo".into(),
        role: "dpo".into(),
        action: "person.delete".into(),
        resource_type: "person".into(),
        resource_id: subject.into(),
        subject_id: subject.into(),
        fields: String::new(),
        purpose: String::new(),
        outcome: "ok".into(),
        client: String::new(),
        request_id: String::new(),
        detail: String::new(),
    }
}

pub(crate) async fn backup_tables_cover_the_schema(db: &TestDb) {
    let mut listed: Vec<&str> = backup::TABLES.iter().map(|t| t.name).chain(backup::NOT_BACKED_UP.iter().copied()).collect();
    listed.sort_unstable();
    let schema = backup::schema_tables(&db.store).await.unwrap();
    assert_eq!(listed, schema.iter().map(String::as_str).collect::<Vec<_>>(), "every table is backed up or left out on purpose");
    // And every column of a table backed up: a column added by a migration (a new personal
    // field, say) and not listed in `backup::TABLES` would be lost by a restore.
    for table in backup::TABLES {
        let mut listed: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        listed.sort_unstable();
        let schema = backup::schema_columns(&db.store, table.name).await.unwrap();
        assert_eq!(listed, schema.iter().map(String::as_str).collect::<Vec<_>>(), "the columns a backup holds of {}", table.name);
    }
}

/// Fills a database with a bit of everything a backup holds.
async fn populate(s: &SqlStore) -> (uuid::Uuid, uuid::Uuid) {
    let owner = new_user("owner", &["north", "pl-waw"]);
    s.user_create(owner.clone(), vec![]).await.unwrap();
    s.account_change(crate::support::enable(owner.id, vec![vec![7; 32]]), vec![]).await.unwrap();
    let mut kept = new_person(owner.id, "north");
    kept.row.tags = vec!["vip".into()];
    kept.name_bidx = vec![1, 2];
    let gone = new_person(owner.id, "pl-waw");
    s.people_insert_batch(vec![kept.clone(), gone.clone()], vec![erase_event("x", 5)]).await.unwrap();
    let company = new_record(RecordKind::Company, owner.id, "north");
    s.records_insert(vec![company.clone()], vec![]).await.unwrap();
    let mut deal = new_record(RecordKind::Deal, owner.id, "north");
    deal.person_id = Some(gone.row.id);
    deal.company_id = Some(company.id);
    s.records_insert(vec![deal.clone()], vec![]).await.unwrap();
    let mut act = new_record(RecordKind::Activity, owner.id, "north");
    act.person_id = Some(gone.row.id);
    act.deal_id = Some(deal.id);
    s.records_insert(vec![act], vec![]).await.unwrap();
    s.key_insert_if_absent(KeyKind::System, "audit-signing", 1, b"sealed").await.unwrap();
    s.honeytoken_put(kept.row.id, 3).await.unwrap();
    (kept.row.id, gone.row.id)
}

pub(crate) async fn snapshot_restores_exactly_and_refuses_a_used_database(db: &TestDb) {
    let s = &db.store;
    let (kept, _) = populate(s).await;
    let mut mem = Memory::default();
    let version = backup::snapshot(s, &mut mem).await.unwrap();
    assert_eq!(version, SqlStore::schema_version_known());
    let before = mem.summaries();
    assert_eq!(before["people"].rows, 2);
    assert_eq!(before["audit_events"].rows, 1);

    let url = db.another_database().await;
    let target = SqlStore::connect(&url).await.unwrap();
    let (restored, erased) = backup::restore(&target, "b1", 1, &mut mem, &[]).await.unwrap();
    assert_eq!(erased, 0);
    for (name, summary) in &restored {
        assert_eq!(&before[name], summary, "{name}");
    }
    // Read back through the store: the same rows, and a second snapshot digests the same.
    let got = target.person_get(kept).await.unwrap().unwrap();
    assert_eq!(got.row.tags, vec!["vip"]);
    let orig = s.person_get(kept).await.unwrap().unwrap().row.enc;
    assert_eq!((got.row.enc.email, got.row.enc.notes, got.row.enc.address), (orig.email, orig.notes, orig.address));
    let mut again = Memory::default();
    backup::snapshot(&target, &mut again).await.unwrap();
    assert_eq!(again.summaries(), before);
    // The audit head follows the restored events: the next event gets the next number.
    target.audit_append(vec![erase_event("y", 6)]).await.unwrap();
    assert_eq!(target.audit_range(1, 10).await.unwrap()[0].seq, 2);

    // A database in use is refused, and left as it was.
    let err = backup::restore(&target, "b2", 1, &mut mem, &[]).await.unwrap_err();
    assert!(err.contains("not empty"), "{err}");
    assert!(backup::restore_pending(&target).await.unwrap().is_none());
    target.close().await;
}

pub(crate) async fn erasures_are_ledgered_and_reapplied_by_restore(db: &TestDb) {
    let s = &db.store;
    let (kept, gone) = populate(s).await;
    let mut old = Memory::default();
    backup::snapshot(s, &mut old).await.unwrap();
    // Erased after the backup: the ledger records the id and time, nothing else.
    assert!(s.person_delete(gone, vec![erase_event(&gone.to_string(), 42)]).await.unwrap());
    let ledger = backup::erasure_ledger(s).await.unwrap();
    assert_eq!(ledger, vec![(gone.to_string(), 42)]);

    let url = db.another_database().await;
    let target = SqlStore::connect(&url).await.unwrap();
    let (_, erased) = backup::restore(&target, "old", 1, &mut old, &ledger).await.unwrap();
    assert_eq!(erased, 1);
    assert!(target.person_get(gone).await.unwrap().is_none(), "an erased person does not come back");
    assert!(target.key_get(KeyKind::Subject, &gone.to_string()).await.unwrap().is_none());
    assert_eq!(count(&target, "SELECT COUNT(*) FROM activities").await, 0);
    assert!(target.person_get(kept).await.unwrap().is_some());
    assert_eq!(backup::erasure_ledger(&target).await.unwrap(), ledger, "the restored database carries the ledger on");
    target.close().await;
}

pub(crate) async fn an_unfinished_restore_is_marked_until_discarded(db: &TestDb) {
    let s = &db.store;
    populate(s).await;
    let mut mem = Memory::default();
    backup::snapshot(s, &mut mem).await.unwrap();
    // A part that ends inside a row fails the restore after the marker was committed.
    let table = backup::table("people").unwrap();
    mem.parts.get_mut(table.name).unwrap().0.truncate(10);
    let url = db.another_database().await;
    let target = SqlStore::connect(&url).await.unwrap();
    let err = backup::restore(&target, "broken", 1, &mut mem, &[]).await.unwrap_err();
    assert!(err.contains("people"), "{err}");
    assert_eq!(backup::restore_pending(&target).await.unwrap().as_deref(), Some("broken"));
    assert_eq!(backup::data_rows(&target).await.unwrap(), 0, "nothing of the data committed");
    assert_eq!(backup::discard_restore(&target).await.unwrap().as_deref(), Some("broken"));
    assert!(backup::restore_pending(&target).await.unwrap().is_none());
    target.close().await;
}
