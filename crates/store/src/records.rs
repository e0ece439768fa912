//! Companies, deals and activities: one implementation over three tables with identical columns.
//!
//! Each table's statements are literals built by `macro_rules!` + `concat!` from the table name,
//! and chosen with a `match` on [`RecordKind`], so no table name is ever spliced in at run time.
//!
//! Invariants: updates are optimistic (they apply only over the expected version, which then
//! increments by one); lists follow the same visibility, owner, unit and cursor rules as people
//! (records have no tags, so a tag filter is ignored).

use sejf_core::ports::{AuditEvent, ListQuery, RecordKind, RecordRow, StoreError};
use uuid::Uuid;

use crate::codec::{self, Arg, Columns, ListBinds};
use crate::{SqlStore, Step};

struct RecordSql {
    insert: &'static str,
    get: &'static str,
    update: &'static str,
    delete: &'static str,
    /// `$1` all, `$2` viewer, `$3` member_units, `$4` owner, `$5` unit, `$6` after, `$7` limit
    /// (see `codec::ListBinds::args_without_tag`), then `$8` person, `$9` company, `$10` deal
    /// and `$11` a stage or activity-kind pattern (`'%"stage":"won"%'`: attrs are serde_json's
    /// compact text).
    list: &'static str,
}

/// The columns `decode` expects, in order.
macro_rules! record_columns {
    () => {
        "r.id, r.owner_id, r.unit, r.person_id, r.company_id, r.deal_id, r.attrs, r.payload, \
         r.version, r.created_at, r.updated_at"
    };
}

macro_rules! record_sql {
    ($table:literal) => {
        RecordSql {
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (id, owner_id, unit, person_id, company_id, deal_id, attrs, payload, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            get: concat!("SELECT ", record_columns!(), " FROM ", $table, " r WHERE r.id = $1"),
            update: concat!(
                "UPDATE ",
                $table,
                " SET owner_id = $2, unit = $3, person_id = $4, company_id = $5, deal_id = $6, \
                 attrs = $7, payload = $8, version = version + 1, updated_at = $9 \
                 WHERE id = $1 AND version = $10"
            ),
            delete: concat!("DELETE FROM ", $table, " WHERE id = $1"),
            list: concat!(
                "SELECT ",
                record_columns!(),
                " FROM ",
                $table,
                " r WHERE ($1 = 1 OR r.owner_id = $2 OR ($3 = 1 AND EXISTS (\
                 SELECT 1 FROM user_units uu WHERE uu.user_id = $2 AND uu.unit = r.unit))) \
                 AND ($4 = '' OR r.owner_id = $4) \
                 AND ($5 = '' OR r.unit = $5) \
                 AND ($8 = '' OR r.person_id = $8) \
                 AND ($9 = '' OR r.company_id = $9) \
                 AND ($10 = '' OR r.deal_id = $10) \
                 AND ($11 = '' OR r.attrs LIKE $11) \
                 AND r.id > $6 ORDER BY r.id LIMIT CAST($7 AS INTEGER)"
            ),
        }
    };
}

const COMPANIES: RecordSql = record_sql!("companies");
const DEALS: RecordSql = record_sql!("deals");
const ACTIVITIES: RecordSql = record_sql!("activities");

/// The statements of a kind's table; people are not records (they have a store of their own).
fn sql(kind: RecordKind) -> Result<&'static RecordSql, StoreError> {
    match kind {
        RecordKind::Company => Ok(&COMPANIES),
        RecordKind::Deal => Ok(&DEALS),
        RecordKind::Activity => Ok(&ACTIVITIES),
        RecordKind::Person => Err(StoreError::Backend("people are not kept in a records table".into())),
    }
}

/// `$1`–`$8`, the columns an insert and an update both write: id, owner, unit, the three links,
/// attributes and payload.
fn field_args(row: &RecordRow) -> Vec<Arg<'static>> {
    vec![
        Arg::Owned(row.id.to_string()),
        Arg::Owned(row.owner_id.to_string()),
        Arg::Owned(row.unit.clone()),
        Arg::OptOwned(codec::opt_uuid_text(row.person_id)),
        Arg::OptOwned(codec::opt_uuid_text(row.company_id)),
        Arg::OptOwned(codec::opt_uuid_text(row.deal_id)),
        Arg::Owned(row.attrs.clone()),
        Arg::Bytes(row.payload.clone()),
    ]
}

/// Inserts `rows` in order and `audit` in one transaction; an error leaves none of them.
pub(crate) async fn insert(store: &SqlStore, rows: Vec<RecordRow>, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let mut steps = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut args = field_args(row);
        args.extend([Arg::Int(row.version), Arg::Int(row.created_at), Arg::Int(row.updated_at)]);
        steps.push(Step::new(sql(row.kind)?.insert, args, row.kind.plural()));
    }
    store.write_steps(steps, audit).await.map(drop)
}

/// One record; on SQLite on a reader, without a hop to a driver thread.
pub(crate) async fn get(store: &SqlStore, kind: RecordKind, id: Uuid) -> Result<Option<RecordRow>, StoreError> {
    let statement = sql(kind)?.get;
    let args = [Arg::Owned(id.to_string())];
    rows(store, statement, &args, kind).await.map(|mut found| found.pop())
}

/// The rows `statement` selects (the columns of `record_columns!`), decoded as `kind`'s.
async fn rows(store: &SqlStore, statement: &'static str, args: &[Arg<'_>], kind: RecordKind) -> Result<Vec<RecordRow>, StoreError> {
    let mut out = Vec::new();
    store.read_rows(statement, args, kind.plural(), |r| decode(kind, r).map(|row| out.push(row))).await?;
    Ok(out)
}

/// Replaces the record's fields if its version is `expected_version`; the stored version becomes
/// `expected_version + 1`. `created_at` is never changed; the caller sets `updated_at`.
pub(crate) async fn update(store: &SqlStore, row: RecordRow, expected_version: i64, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let mut args = field_args(&row);
    args.extend([Arg::Int(row.updated_at), Arg::Int(expected_version)]);
    store.write_steps(vec![Step::required(sql(row.kind)?.update, args, row.kind.plural())], audit).await
}

/// Deletes a record. Records that point at it only lose the link (ON DELETE SET NULL): deleting
/// a company or deal never deletes a person's data.
pub(crate) async fn delete(store: &SqlStore, kind: RecordKind, id: Uuid, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let step = Step::required(sql(kind)?.delete, vec![Arg::Owned(id.to_string())], kind.plural());
    store.write_steps(vec![step], audit).await
}

pub(crate) async fn list(store: &SqlStore, kind: RecordKind, query: ListQuery) -> Result<Vec<RecordRow>, StoreError> {
    let binds = ListBinds::new(&query);
    let l = &query.links;
    let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    // Stages are slugs (a-z, 0-9, '-', '_'): nothing in one is a LIKE wildcard but '_', which
    // then matches itself too.
    // An activity kind is a slug too; a filter names a stage (deals) or a kind (activities).
    let stage = match (&l.stage, &l.kind) {
        (Some(s), _) => format!("%\"stage\":\"{s}\"%"),
        (None, Some(k)) => format!("%\"kind\":\"{k}\"%"),
        (None, None) => String::new(),
    };
    let mut args = binds.args_without_tag();
    args.extend([Arg::Owned(id(l.person)), Arg::Owned(id(l.company)), Arg::Owned(id(l.deal)), Arg::Owned(stage)]);
    rows(store, sql(kind)?.list, &args, kind).await
}

fn decode(kind: RecordKind, row: &dyn Columns) -> Result<RecordRow, StoreError> {
    Ok(RecordRow {
        kind,
        id: row.uuid(0, "record.id")?,
        owner_id: row.uuid(1, "record.owner_id")?,
        unit: row.text(2, "record.unit")?,
        person_id: row.opt_uuid(3, "record.person_id")?,
        company_id: row.opt_uuid(4, "record.company_id")?,
        deal_id: row.opt_uuid(5, "record.deal_id")?,
        attrs: row.text(6, "record.attrs")?,
        payload: row.blob(7, "record.payload")?,
        version: row.int(8, "record.version")?,
        created_at: row.int(9, "record.created_at")?,
        updated_at: row.int(10, "record.updated_at")?,
    })
}
