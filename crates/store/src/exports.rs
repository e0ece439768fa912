//! Bulk export requests (four-eyes approval). Decisions and downloads are conditional updates
//! on the status, committed with their audit events: two approvers, or two downloads, racing on
//! one request (on one server or several) leave exactly one winner.

use sejf_core::ports::{AuditEvent, ExportRow, StoreError};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::codec::Arg;
use crate::{SqlStore, Step, codec, error};

macro_rules! columns {
    () => {
        "SELECT id, requester_id, requester, purpose, filter, people, record_count, status, created_at, decided_by, decided_at, \
         reason, expires_at, downloaded_at, units FROM export_requests "
    };
}
const INSERT: &str = "INSERT INTO export_requests (id, requester_id, requester, purpose, filter, people, record_count, status, \
     created_at, decided_by, decided_at, reason, expires_at, downloaded_at, units) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const GET: &str = concat!(columns!(), "WHERE id = $1");
const LIST: &str = concat!(
    columns!(),
    "WHERE ($1 = '' OR requester_id = $1) AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT CAST($4 AS INTEGER)"
);
const DECIDE: &str = "UPDATE export_requests SET status = $2, decided_by = $3, decided_at = $4, reason = $5, expires_at = $6 \
     WHERE id = $1 AND status = 'pending'";
const DOWNLOADED: &str =
    "UPDATE export_requests SET status = 'downloaded', downloaded_at = $2 WHERE id = $1 AND status = 'approved' AND expires_at > $2";

fn decode(r: &AnyRow) -> Result<ExportRow, StoreError> {
    Ok(ExportRow {
        id: codec::uuid(r, 0, "export_requests.id")?,
        requester_id: codec::uuid(r, 1, "export_requests.requester_id")?,
        requester: codec::get(r, 2, "export_requests.requester")?,
        purpose: codec::get(r, 3, "export_requests.purpose")?,
        filter: codec::get(r, 4, "export_requests.filter")?,
        people: codec::get(r, 5, "export_requests.people")?,
        record_count: codec::get(r, 6, "export_requests.record_count")?,
        status: codec::get(r, 7, "export_requests.status")?,
        created_at: codec::get(r, 8, "export_requests.created_at")?,
        decided_by: codec::get(r, 9, "export_requests.decided_by")?,
        decided_at: codec::get(r, 10, "export_requests.decided_at")?,
        reason: codec::get(r, 11, "export_requests.reason")?,
        expires_at: codec::get(r, 12, "export_requests.expires_at")?,
        downloaded_at: codec::get(r, 13, "export_requests.downloaded_at")?,
        units: codec::get(r, 14, "export_requests.units")?,
    })
}

pub(crate) async fn insert(store: &SqlStore, row: ExportRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(row.id.to_string()),
        Arg::Owned(row.requester_id.to_string()),
        Arg::Owned(row.requester),
        Arg::Owned(row.purpose),
        Arg::Owned(row.filter),
        Arg::Bytes(row.people),
        Arg::Int(row.record_count),
        Arg::Owned(row.status),
        Arg::Int(row.created_at),
        Arg::Owned(row.decided_by),
        Arg::Int(row.decided_at),
        Arg::Owned(row.reason),
        Arg::Int(row.expires_at),
        Arg::Int(row.downloaded_at),
        Arg::Owned(row.units),
    ];
    store.write_audited(INSERT, args, "export request", audit).await
}

pub(crate) async fn get(store: &SqlStore, id: Uuid) -> Result<Option<ExportRow>, StoreError> {
    let row = sqlx::query(GET).bind(id.to_string()).fetch_optional(&store.pool).await.map_err(error::db("export request"))?;
    row.as_ref().map(decode).transpose()
}

pub(crate) async fn list(
    store: &SqlStore,
    requester: Option<Uuid>,
    status: Option<String>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<ExportRow>, StoreError> {
    let rows = sqlx::query(LIST)
        .bind(requester.map(|u| u.to_string()).unwrap_or_default())
        .bind(status.unwrap_or_default())
        .bind(after.map(|u| u.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(error::db("export requests"))?;
    rows.iter().map(decode).collect()
}

/// Records a decision on a still-pending request, with its events; false if it was decided.
pub(crate) async fn decide(store: &SqlStore, row: ExportRow, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let args = vec![
        Arg::Owned(row.id.to_string()),
        Arg::Owned(row.status),
        Arg::Owned(row.decided_by),
        Arg::Int(row.decided_at),
        Arg::Owned(row.reason),
        Arg::Int(row.expires_at),
    ];
    store.write_steps(vec![Step::required(DECIDE, args, "export request")], audit).await
}

/// Marks an approved, unexpired request downloaded, with its events; false otherwise.
pub(crate) async fn mark_downloaded(store: &SqlStore, id: Uuid, now: i64, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let step = Step::required(DOWNLOADED, vec![Arg::Owned(id.to_string()), Arg::Int(now)], "export request");
    store.write_steps(vec![step], audit).await
}
