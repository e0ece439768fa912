//! The store's `$n`-numbered SQL on a rusqlite connection (`reader`, `writer`). SQLite takes
//! `$1` as a parameter *named* "$1", numbered by first appearance, so a statement whose
//! placeholders appear out of order (`people_sql::UPDATE` has `$1` last but one) would be bound
//! wrongly by position: every value is bound by its name instead.

use rusqlite::Connection;
use sejf_core::ports::StoreError;

use crate::codec::Arg;
use crate::error;

/// Runs one statement of the store's `$n`-numbered SQL with `args` as `$1, $2, …`, whatever
/// order the placeholders appear in; answers the number of rows changed.
pub(crate) fn execute(conn: &Connection, sql: &str, args: &[Arg<'_>], context: &'static str) -> Result<usize, StoreError> {
    bound(conn, sql, args, context)?.raw_execute().map_err(error::sync(context))
}

/// The cached statement of `sql` with `args` bound as `$1, $2, …`, whatever order the
/// placeholders appear in.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Arg<'_>],
    context: &'static str,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(error::sync(context))?;
    for (i, arg) in args.iter().enumerate() {
        let index = stmt
            .parameter_index(&format!("${}", i + 1))
            .map_err(error::sync(context))?
            .ok_or_else(|| StoreError::Backend(format!("{context}: statement has no parameter ${}", i + 1)))?;
        stmt.raw_bind_parameter(index, arg).map_err(error::sync(context))?;
    }
    Ok(stmt)
}

/// One integer from a statement of the store's `$n`-numbered SQL (a count), bound as
/// [`execute`] binds.
pub(crate) fn query_i64(conn: &Connection, sql: &str, args: &[Arg<'_>], context: &'static str) -> Result<i64, StoreError> {
    let mut stmt = bound(conn, sql, args, context)?;
    let mut rows = stmt.raw_query();
    match rows.next().map_err(error::sync(context))? {
        Some(row) => row.get(0).map_err(|_| error::corrupt(context)),
        None => Err(StoreError::Backend(format!("{context}: no row"))),
    }
}

/// Runs a query and hands each row to `each`.
pub(crate) fn query_each(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    context: &'static str,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = bound(conn, sql, args, context)?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(error::sync(context))? {
        each(row)?;
    }
    Ok(())
}
