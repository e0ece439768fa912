//! The key store: wrapped keys (subject, unit and index keys), each wrapped by the master key.
//!
//! Invariants: the key store is its own table, apart from the data tables (no foreign key ties
//! it to them); a key once stored is never overwritten here, so servers racing to create the same
//! unit or index key all end up using the one that won. Removing a subject key is part of erasing
//! the person (see `people::delete`).

use sejf_core::ports::{KeyKind, StoreError};

use crate::codec::Arg;
use crate::{SqlStore, error};

const GET: &str = "SELECT wrapped FROM keystore WHERE kind = $1 AND id = $2";
// created_at takes the database clock's default: this port passes no time.
const INSERT_IF_ABSENT: &str = "INSERT INTO keystore (kind, id, master_version, wrapped) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

pub(crate) async fn get(store: &SqlStore, kind: KeyKind, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    sqlx::query_scalar(GET).bind(kind.as_str()).bind(id).fetch_optional(&store.pool).await.map_err(error::db("key get"))
}

/// Inserts the key unless one of that kind and id exists; an existing key is left untouched.
pub(crate) async fn insert_if_absent(
    store: &SqlStore,
    kind: KeyKind,
    id: &str,
    master_version: u32,
    wrapped: &[u8],
) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(kind.as_str().to_owned()),
        Arg::Owned(id.to_owned()),
        Arg::Int(i64::from(master_version)),
        Arg::Bytes(wrapped.to_vec()),
    ];
    store.write(INSERT_IF_ABSENT, args, "key insert").await.map(drop)
}
