//! How one statement, or one change of several, runs on either engine: on SQLite reads on the
//! calling thread's reader and writes as units of the writer's group commit (ADR 0026), on
//! PostgreSQL on the pool, its changes with audit events as units of the server's group commit
//! (ADR 0031). A table module describes what to run (statements, owned values, a decoder
//! written against [`Columns`]) and calls these; it never picks the driver itself.

use sejf_core::ports::{AuditEvent, StoreError};

use crate::codec::{self, Arg, Columns};
use crate::group::Work;
use crate::{SqlStore, error, stmt};

impl SqlStore {
    /// Runs one write statement on its own: on SQLite as a unit of the writer's next group
    /// commit (no hop to a driver thread, no wait in the busy handler), elsewhere on the pool.
    /// Answers the rows it changed.
    pub(crate) async fn write(&self, sql: &'static str, args: Vec<Arg<'static>>, context: &'static str) -> Result<u64, StoreError> {
        if let Some(w) = &self.writer {
            return w.run(move |c| stmt::execute(c, sql, &args, context).map(|n| n as u64)).await;
        }
        let done = codec::bind_all(sqlx::query(sql), &args).execute(&self.pool).await.map_err(error::db(context))?;
        Ok(done.rows_affected())
    }

    /// Runs `steps` in order and then writes `audit`, in one transaction: on SQLite as one unit
    /// of the writer's group commit, on PostgreSQL as one unit of the server's
    /// ([`Self::write_work`]). False, with nothing written, when a [`Step::required`] statement
    /// changes no row (a stale version, a decision already taken, an account that does not
    /// exist); an error leaves nothing either. One description of a change serves both engines.
    pub(crate) async fn write_steps(&self, steps: Vec<Step>, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
        self.write_steps_as(steps, audit, false).await
    }

    /// [`Self::write_steps`] for an erasure: on SQLite, answered once the write-ahead log no
    /// longer holds the pages it changed (`Writer::run_erasing`). PostgreSQL has no such log of
    /// ours to empty.
    pub(crate) async fn erase_steps(&self, steps: Vec<Step>, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
        self.write_steps_as(steps, audit, true).await
    }

    async fn write_steps_as(&self, steps: Vec<Step>, audit: Vec<AuditEvent>, erasing: bool) -> Result<bool, StoreError> {
        if let Some(w) = &self.writer {
            let unit = move |c: &rusqlite::Connection| {
                stmt::execute(c, "SAVEPOINT steps", &[], "write")?;
                for step in &steps {
                    if stmt::execute(c, step.sql, &step.args, step.context)? == 0 && step.required {
                        stmt::execute(c, "ROLLBACK TO steps", &[], "write")?;
                        stmt::execute(c, "RELEASE steps", &[], "write")?;
                        return Ok(false);
                    }
                }
                stmt::execute(c, "RELEASE steps", &[], "write")?;
                crate::audit::insert_sync(c, &audit).map(|()| true)
            };
            return if erasing { w.run_erasing(unit).await } else { w.run(unit).await };
        }
        let work = crate::group::work(move |tx| {
            Box::pin(async move {
                for step in &steps {
                    let done =
                        codec::bind_all(sqlx::query(step.sql), &step.args).execute(&mut **tx).await.map_err(error::db(step.context))?;
                    if done.rows_affected() == 0 && step.required {
                        return Ok(false);
                    }
                }
                Ok(true)
            })
        });
        self.write_work(work, audit, "write").await
    }

    /// Runs `work` and, if it wrote, `audit` in one transaction, where SQLite's writer does not
    /// serve: on PostgreSQL in the server's next group commit (`group`), on a SQLite database in
    /// memory in a transaction of the pool. False, with nothing written, when `work` is void.
    pub(crate) async fn write_work(&self, work: Work, audit: Vec<AuditEvent>, context: &'static str) -> Result<bool, StoreError> {
        if let Some(group) = &self.group {
            return group.run(work, audit).await;
        }
        let mut tx = self.begin_write().await?;
        if !work(&mut tx).await? {
            tx.rollback().await.map_err(error::db(context))?;
            return Ok(false);
        }
        crate::audit::commit_with(tx, self.backend, &audit, context).await?;
        Ok(true)
    }

    /// One statement and its events, in one transaction ([`SqlStore::write_steps`] with a
    /// single step that may change no row: an insert or an upsert).
    pub(crate) async fn write_audited(
        &self,
        sql: &'static str,
        args: Vec<Arg<'static>>,
        context: &'static str,
        audit: Vec<AuditEvent>,
    ) -> Result<(), StoreError> {
        self.write_steps(vec![Step::new(sql, args, context)], audit).await.map(drop)
    }

    /// [`SqlStore::write`] for a statement that answers at most one row (`RETURNING`).
    pub(crate) async fn write_returning<T: Send + 'static>(
        &self,
        sql: &'static str,
        args: Vec<Arg<'static>>,
        context: &'static str,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if let Some(w) = &self.writer {
            return w.run(move |c| first_row(c, sql, &args, context, decode)).await;
        }
        self.pool_row(sql, &args, context, decode).await
    }

    /// Hands every row a read statement answers to `each`, in order: on SQLite on a reader,
    /// elsewhere from the pool. One decoder (written against [`Columns`]) serves both.
    pub(crate) async fn read_rows(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
        context: &'static str,
        mut each: impl FnMut(&dyn Columns) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Some(readers) = &self.readers {
            return readers.run(|c| stmt::query_each(c, sql, args, context, |r| each(r)));
        }
        let rows = codec::bind_all(sqlx::query(sql), args).fetch_all(&self.pool).await.map_err(error::db(context))?;
        rows.iter().try_for_each(|r| each(r))
    }

    /// At most one row of a read statement: on SQLite from a reader, elsewhere from the pool.
    pub(crate) async fn read_one<T: Send + 'static>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
        context: &'static str,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.run(|c| first_row(c, sql, args, context, decode));
        }
        self.pool_row(sql, args, context, decode).await
    }

    /// At most one row of a statement, from the pool.
    async fn pool_row<T>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
        context: &'static str,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = codec::bind_all(sqlx::query(sql), args).fetch_optional(&self.pool).await.map_err(error::db(context))?;
        row.as_ref().map(|r| decode(r)).transpose()
    }
}

/// One statement of a change written with [`SqlStore::write_steps`].
pub(crate) struct Step {
    sql: &'static str,
    args: Vec<Arg<'static>>,
    context: &'static str,
    /// The change is void, and nothing of it is written, if this statement changes no row.
    required: bool,
}

impl Step {
    pub(crate) fn new(sql: &'static str, args: Vec<Arg<'static>>, context: &'static str) -> Step {
        Step { sql, args, context, required: false }
    }

    /// A statement the change depends on: no row changed voids it.
    pub(crate) fn required(sql: &'static str, args: Vec<Arg<'static>>, context: &'static str) -> Step {
        Step { sql, args, context, required: true }
    }
}

/// The first row `sql` answers on a rusqlite connection, decoded.
fn first_row<T>(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[Arg<'_>],
    context: &'static str,
    decode: fn(&dyn Columns) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut found = None;
    stmt::query_each(c, sql, args, context, |r| {
        if found.is_none() {
            found = Some(decode(r)?);
        }
        Ok(())
    })?;
    Ok(found)
}
