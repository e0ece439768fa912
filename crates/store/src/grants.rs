//! Grants of privileged roles waiting for a second administrator. A decision is a conditional
//! update on the status: two administrators deciding one grant at once leave exactly one winner.

use sejf_core::ports::{AuditEvent, GrantDecision, RoleGrantRow, StoreError};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::codec::Arg;
use crate::{SqlStore, Step, codec, error};

macro_rules! columns {
    () => {
        "SELECT id, user_id, username, role, kind, requested_by_id, requested_by, requested_at, status, decided_by, decided_at \
         FROM role_grants "
    };
}
const INSERT: &str = "INSERT INTO role_grants (id, user_id, username, role, kind, requested_by_id, requested_by, requested_at, \
     status, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const GET: &str = concat!(columns!(), "WHERE id = $1");
const PENDING: &str = concat!(columns!(), "WHERE status = 'pending' ORDER BY id");
const DECIDE: &str = "UPDATE role_grants SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'";

fn decode(r: &AnyRow) -> Result<RoleGrantRow, StoreError> {
    Ok(RoleGrantRow {
        id: codec::uuid(r, 0, "role_grants.id")?,
        user_id: codec::uuid(r, 1, "role_grants.user_id")?,
        username: codec::get(r, 2, "role_grants.username")?,
        role: codec::get(r, 3, "role_grants.role")?,
        kind: codec::get(r, 4, "role_grants.kind")?,
        requested_by_id: codec::uuid(r, 5, "role_grants.requested_by_id")?,
        requested_by: codec::get(r, 6, "role_grants.requested_by")?,
        requested_at: codec::get(r, 7, "role_grants.requested_at")?,
        status: codec::get(r, 8, "role_grants.status")?,
        decided_by: codec::get(r, 9, "role_grants.decided_by")?,
        decided_at: codec::get(r, 10, "role_grants.decided_at")?,
    })
}

/// Records a pending grant and its events in one transaction.
pub(crate) async fn create(store: &SqlStore, g: RoleGrantRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(g.id.to_string()),
        Arg::Owned(g.user_id.to_string()),
        Arg::Owned(g.username),
        Arg::Owned(g.role),
        Arg::Owned(g.kind),
        Arg::Owned(g.requested_by_id.to_string()),
        Arg::Owned(g.requested_by),
        Arg::Int(g.requested_at),
        Arg::Owned(g.status),
        Arg::Owned(g.decided_by),
        Arg::Int(g.decided_at),
    ];
    store.write_audited(INSERT, args, "role grant create", audit).await
}

pub(crate) async fn get(store: &SqlStore, id: Uuid) -> Result<Option<RoleGrantRow>, StoreError> {
    let row = sqlx::query(GET).bind(id.to_string()).fetch_optional(&store.pool).await.map_err(error::db("role grant get"))?;
    row.as_ref().map(decode).transpose()
}

pub(crate) async fn pending(store: &SqlStore) -> Result<Vec<RoleGrantRow>, StoreError> {
    let rows = sqlx::query(PENDING).fetch_all(&store.pool).await.map_err(error::db("role grants pending"))?;
    rows.iter().map(decode).collect()
}

/// The step that moves a pending grant to its decision: the change it is part of is void if the
/// grant was no longer pending.
pub(crate) fn decide(d: &GrantDecision) -> Step {
    let args = vec![Arg::Owned(d.id.to_string()), Arg::Owned(d.status.clone()), Arg::Owned(d.decided_by.clone()), Arg::Int(d.at)];
    Step::required(DECIDE, args, "role grant decide")
}
