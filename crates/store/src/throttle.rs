//! Sign-in throttling rows: failure counts and locks per account name and per client address,
//! kept in the database so every server behind a load balancer sees the same locks.

use sejf_core::ports::{StoreError, ThrottleRow};

use crate::{SqlStore, codec, error};

const GET: &str = "SELECT key, failures, window_start, locked_until, locks FROM login_throttle WHERE key = $1";
const PUT: &str = "INSERT INTO login_throttle (key, failures, window_start, locked_until, locks) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, \
     locked_until = excluded.locked_until, locks = excluded.locks";
const CLEAR: &str = "DELETE FROM login_throttle WHERE key = $1";

pub(crate) async fn get(store: &SqlStore, key: &str) -> Result<Option<ThrottleRow>, StoreError> {
    let row = sqlx::query(GET).bind(key).fetch_optional(&store.pool).await.map_err(error::db("throttle get"))?;
    row.map(|r| {
        Ok(ThrottleRow {
            key: codec::get(&r, 0, "login_throttle.key")?,
            failures: codec::get(&r, 1, "login_throttle.failures")?,
            window_start: codec::get(&r, 2, "login_throttle.window_start")?,
            locked_until: codec::get(&r, 3, "login_throttle.locked_until")?,
            locks: codec::get(&r, 4, "login_throttle.locks")?,
        })
    })
    .transpose()
}

pub(crate) async fn put(store: &SqlStore, row: ThrottleRow) -> Result<(), StoreError> {
    sqlx::query(PUT)
        .bind(row.key)
        .bind(row.failures)
        .bind(row.window_start)
        .bind(row.locked_until)
        .bind(row.locks)
        .execute(&store.pool)
        .await
        .map_err(error::db("throttle put"))?;
    Ok(())
}

pub(crate) async fn clear(store: &SqlStore, key: &str) -> Result<(), StoreError> {
    sqlx::query(CLEAR).bind(key).execute(&store.pool).await.map_err(error::db("throttle clear"))?;
    Ok(())
}
