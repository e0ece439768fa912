//! The audit trail's storage. Sequence numbers come from the `audit_head` row, advanced inside
//! the writing transaction: a rollback gives its numbers back, so the sequence has no gaps, and
//! the row lock orders concurrent writers (on every server sharing the database).

use sejf_core::audit::{canonical, parse_body};
use sejf_core::ports::{AuditEvent, AuditQuery, ChainRow, SealedEvent, SealerLease, StoreError};
use sqlx::Connection;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::codec::{Arg, bind_all};
use crate::multirow::{insert_chunked, insert_chunked_sync, multi_row};
use crate::{Backend, SqlStore, codec, error, stmt};

/// PostgreSQL's append, given the bodies' JSON list and their number as SQL expressions: the
/// statement moves the head first and numbers the bodies after where it was. A missing head
/// gives a NULL `seq`, which the key refuses, so the append fails rather than writing nothing.
macro_rules! append_postgres {
    ($list:literal, $n:literal) => {
        concat!(
            "WITH head AS (UPDATE audit_head SET seq = seq + ",
            $n,
            " WHERE id = 1 RETURNING seq) INSERT INTO audit_events (seq, body) SELECT (SELECT seq FROM head) - ",
            $n,
            " + t.n, t.body FROM json_array_elements_text(",
            $list,
            ") WITH ORDINALITY AS t(body, n) ORDER BY t.n"
        )
    };
}
/// SQLite's append (see [`INSERT_SQLITE`]), beginning with `$insert`.
macro_rules! append_sqlite {
    ($insert:literal) => {
        concat!(
            $insert,
            " INTO audit_events (seq, body) \
             SELECT (SELECT seq FROM audit_head WHERE id = 1) + key + 1, value FROM json_each($1) WHERE key < $2 ORDER BY key"
        )
    };
}
/// Appends a group commit's events in one statement, whatever their number: `$1` is a JSON
/// array of the bodies (as strings, which the database unescapes back to the exact bytes), `$2`
/// their number. The statement takes the next sequence numbers itself: on SQLite a trigger
/// (migration 0008) moves `audit_head` along with each row, on PostgreSQL the statement moves
/// it first. One statement is one round trip, and needs no transaction of its own.
const INSERT_SQLITE: &str = append_sqlite!("INSERT");
/// The same on the writer's connection, where every unit that fails is rolled back: it fails
/// rather than aborts, without a statement journal (`multirow::sqlite_head`).
const INSERT_WRITER: &str = append_sqlite!("INSERT OR FAIL");
const INSERT_POSTGRES: &str = append_postgres!("$1::json", "$2");
const CHAIN_HEAD: &str = "INSERT INTO audit_chain (seq, leaf, link) VALUES ";
multi_row!(CHAIN_INSERTS = CHAIN_HEAD, "", 3, [256, 16, 1], " ON CONFLICT DO NOTHING");
const RANGE: &str = "SELECT seq, body FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT CAST($2 AS INTEGER)";
/// A page of stored bodies for sealing and verifying, framed as `seq:length:body` and
/// concatenated by the database into one text: the sealer and the verifier hash the bodies as
/// they come, with no per-row decoding (`sejf_core::audit::split_pages`). The page is the first
/// `$2` events after `$1`; the aggregate's order is the engine's (an `ORDER BY` inside it would
/// sort the page again), so the reader puts the framed events in `seq` order itself.
macro_rules! canonical_page {
    ($agg:literal) => {
        concat!(
            "SELECT ",
            $agg,
            "(seq || ':' || octet_length(body) || ':' || body, '') \
             FROM (SELECT seq, body FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT CAST($2 AS INTEGER)) page"
        )
    };
}
const CANONICAL_SQLITE: &str = canonical_page!("group_concat");
const CANONICAL_POSTGRES: &str = canonical_page!("string_agg");
/// Filters use the columns generated from the body (and their indexes).
const QUERY: &str = "SELECT seq, body FROM audit_events \
     WHERE seq > $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR subject_id = $3) AND ($4 = '' OR action = $4) \
     AND ($5 = 0 OR at >= $5) AND ($6 = 0 OR at <= $6) ORDER BY seq LIMIT CAST($7 AS INTEGER)";
const CHAIN_RANGE: &str = "SELECT seq, leaf, link FROM audit_chain WHERE seq > $1 ORDER BY seq LIMIT CAST($2 AS INTEGER)";
const HONEY_PUT: &str = "INSERT INTO honeytokens (person_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const HONEY_ALL: &str = "SELECT person_id FROM honeytokens";
const CHECKPOINT_PUT: &str = "INSERT INTO audit_checkpoints (tree_size, body, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// The PostgreSQL advisory lock key of the sealer role (the bytes of "sejfseal").
const SEALER_LOCK_KEY: i64 = 0x7365_6a66_7365_616c;
const SEALER_TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1)";
const CHECKPOINTS: &str = "SELECT tree_size, body FROM audit_checkpoints ORDER BY tree_size";
const CHECKPOINT_LAST: &str = "SELECT tree_size, body FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1";

/// Writes `events` inside `tx`, numbered after the current head, in one statement.
pub(crate) async fn insert(tx: &mut Transaction<'static, Any>, backend: Backend, events: &[AuditEvent]) -> Result<(), StoreError> {
    insert_on(&mut **tx, backend, events).await
}

/// PostgreSQL: the transaction-local setting that carries a change's audit bodies (a JSON list)
/// to [`APPEND_AND_COMMIT`], which, sent as one simple query, can take no parameter.
const BODIES_SET: &str = "SELECT set_config('sejf.audit_bodies', $1, true)";
/// PostgreSQL: the append reading the bodies from the setting, the commit and a new
/// empty transaction, in one message. The `audit_head` row lock the append takes is then held
/// only until the commit is durable, never across a round trip to Sejf; the statement is parsed
/// and planned before it runs, so before the lock is taken. The empty transaction is what
/// `Transaction::commit` then ends (sqlx counts the transactions it began).
const APPEND_AND_COMMIT: &str = concat!(
    append_postgres!("current_setting('sejf.audit_bodies')::json", "json_array_length(current_setting('sejf.audit_bodies')::json)"),
    "; COMMIT; BEGIN"
);

/// Writes `events` and commits `tx`: the change and its events are durable together, or
/// neither is. On PostgreSQL the events' sequence numbers are taken in the same message as the
/// commit: the numbering row's lock orders every writer of every server, and holding it while
/// Sejf answered the append and sent `COMMIT` made that round trip, on a loaded machine often
/// half a millisecond, part of every write's turn (docs/benchmarks.md §4q).
pub(crate) async fn commit_with(
    mut tx: Transaction<'static, Any>,
    backend: Backend,
    events: &[AuditEvent],
    context: &'static str,
) -> Result<(), StoreError> {
    if backend != Backend::Postgres || events.is_empty() {
        insert(&mut tx, backend, events).await?;
        return tx.commit().await.map_err(error::db(context));
    }
    let (list, _) = bodies(events)?;
    sqlx::query(BODIES_SET).bind(list).execute(&mut *tx).await.map_err(error::db("audit insert"))?;
    // Writes one event per body or fails before the commit; a failure skips the rest of the
    // message and `tx` rolls back.
    sqlx::raw_sql(APPEND_AND_COMMIT).execute(&mut *tx).await.map_err(error::db(context))?;
    // The change is durable: this only ends the empty transaction the message began, and its
    // failure (a connection lost just now, which the pool then replaces) must not report the
    // change as failed.
    if let Err(e) = tx.commit().await {
        tracing::warn!(error = %error::db(context)(e), "a committed change's connection failed after its commit");
    }
    Ok(())
}

/// The bind values of the insert: the bodies as a JSON list, and their number.
fn bodies(events: &[AuditEvent]) -> Result<(String, i64), StoreError> {
    let bodies: Vec<String> = events.iter().map(canonical).collect();
    Ok((codec::json_list(&bodies)?, events.len() as i64))
}

fn written(done: u64, events: &[AuditEvent]) -> Result<(), StoreError> {
    if done != events.len() as u64 {
        return Err(StoreError::Backend(format!("{done} of {} audit events written", events.len())));
    }
    Ok(())
}

async fn insert_on<'c, E: sqlx::Executor<'c, Database = Any>>(
    executor: E,
    backend: Backend,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (list, n) = bodies(events)?;
    let sql = match backend {
        Backend::Sqlite => INSERT_SQLITE,
        Backend::Postgres => INSERT_POSTGRES,
    };
    let done = sqlx::query(sql).bind(list).bind(n).execute(executor).await.map_err(error::db("audit insert"))?;
    written(done.rows_affected(), events)
}

/// [`insert`] on the SQLite writer's connection, inside its group commit.
pub(crate) fn insert_sync(conn: &rusqlite::Connection, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (list, n) = bodies(events)?;
    let done = stmt::execute(conn, INSERT_WRITER, &[Arg::Owned(list), Arg::Int(n)], "audit insert")?;
    written(done as u64, events)
}

/// A group commit: one statement, atomic on its own (on SQLite, one unit of the writer's
/// group commit).
pub(crate) async fn append(store: &SqlStore, events: Vec<AuditEvent>) -> Result<(), StoreError> {
    match &store.writer {
        Some(w) => w.run(move |c| insert_sync(c, &events)).await,
        None => insert_on(&store.pool, store.backend, &events).await,
    }
}

fn decode(r: &AnyRow) -> Result<SealedEvent, StoreError> {
    let seq = codec::get(r, 0, "audit_events.seq")?;
    let body: String = codec::get(r, 1, "audit_events.body")?;
    let event = parse_body(&body).map_err(|_| StoreError::Backend(format!("audit event {seq} is not a well-formed body")))?;
    Ok(SealedEvent { seq, event })
}

pub(crate) async fn range(store: &SqlStore, after: i64, limit: u32) -> Result<Vec<SealedEvent>, StoreError> {
    let rows = sqlx::query(RANGE).bind(after).bind(i64::from(limit)).fetch_all(&store.pool).await.map_err(error::db("audit range"))?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn canonical_range(store: &SqlStore, after: i64, limit: u32) -> Result<String, StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => CANONICAL_SQLITE,
        Backend::Postgres => CANONICAL_POSTGRES,
    };
    let page: Option<String> = sqlx::query_scalar(sql)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_one(&store.pool)
        .await
        .map_err(error::db("audit canonical range"))?;
    Ok(page.unwrap_or_default())
}

pub(crate) async fn query(store: &SqlStore, q: AuditQuery) -> Result<Vec<SealedEvent>, StoreError> {
    let rows = sqlx::query(QUERY)
        .bind(q.after_seq)
        .bind(q.actor)
        .bind(q.subject)
        .bind(q.action)
        .bind(q.from)
        .bind(q.to)
        .bind(i64::from(q.limit))
        .fetch_all(&store.pool)
        .await
        .map_err(error::db("audit query"))?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn checkpoint_put(store: &SqlStore, tree_size: i64, body: String, at: i64) -> Result<(), StoreError> {
    if let Some(w) = &store.writer {
        let unit = move |c: &rusqlite::Connection| {
            stmt::execute(c, CHECKPOINT_PUT, &[Arg::Int(tree_size), Arg::Text(&body), Arg::Int(at)], "audit checkpoint").map(|_| ())
        };
        return w.run(unit).await;
    }
    sqlx::query(CHECKPOINT_PUT).bind(tree_size).bind(body).bind(at).execute(&store.pool).await.map_err(error::db("audit checkpoint"))?;
    Ok(())
}

fn checkpoint_row(r: &AnyRow) -> Result<(i64, String), StoreError> {
    Ok((codec::get(r, 0, "audit_checkpoints.tree_size")?, codec::get(r, 1, "audit_checkpoints.body")?))
}

pub(crate) async fn checkpoints(store: &SqlStore) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = sqlx::query(CHECKPOINTS).fetch_all(&store.pool).await.map_err(error::db("audit checkpoints"))?;
    rows.iter().map(checkpoint_row).collect()
}

/// The newest checkpoint alone: the sealer and the auditor's page need no more than that.
pub(crate) async fn checkpoint_last(store: &SqlStore) -> Result<Option<(i64, String)>, StoreError> {
    let row = sqlx::query(CHECKPOINT_LAST).fetch_optional(&store.pool).await.map_err(error::db("audit checkpoints"))?;
    row.as_ref().map(checkpoint_row).transpose()
}

fn chain_args((seq, leaf, link): &ChainRow) -> [Arg<'_>; 3] {
    [Arg::Int(*seq), Arg::Blob(leaf), Arg::Blob(link)]
}

/// Stores the sealer's leaf hashes and chain links (never overwriting: servers may race).
pub(crate) async fn chain_put(store: &SqlStore, rows: Vec<ChainRow>) -> Result<(), StoreError> {
    if let Some(w) = &store.writer {
        return w.run(move |c| insert_chunked_sync(c, &CHAIN_INSERTS, &rows, chain_args, "audit chain")).await;
    }
    let mut tx = store.begin_write().await?;
    insert_chunked(&mut tx, store.backend, &CHAIN_INSERTS, &rows, |q, r| bind_all(q, &chain_args(r)), "audit chain").await?;
    tx.commit().await.map_err(error::db("audit chain"))
}

pub(crate) async fn chain_range(store: &SqlStore, after: i64, limit: u32) -> Result<Vec<ChainRow>, StoreError> {
    let rows =
        sqlx::query(CHAIN_RANGE).bind(after).bind(i64::from(limit)).fetch_all(&store.pool).await.map_err(error::db("audit chain"))?;
    rows.iter()
        .map(|r| Ok((codec::get(r, 0, "audit_chain.seq")?, codec::get(r, 1, "audit_chain.leaf")?, codec::get(r, 2, "audit_chain.link")?)))
        .collect()
}

pub(crate) async fn honeytoken_put(store: &SqlStore, person: uuid::Uuid, at: i64) -> Result<(), StoreError> {
    store.write(HONEY_PUT, vec![crate::codec::Arg::Owned(person.to_string()), crate::codec::Arg::Int(at)], "honeytoken").await.map(drop)
}

pub(crate) async fn honeytokens(store: &SqlStore) -> Result<Vec<uuid::Uuid>, StoreError> {
    let rows = sqlx::query(HONEY_ALL).fetch_all(&store.pool).await.map_err(error::db("honeytokens"))?;
    rows.iter().map(|r| codec::uuid(r, 0, "honeytokens.person_id")).collect()
}

/// On PostgreSQL a session advisory lock on a connection of its own, taken out of the pool: the
/// lease owns the connection, and closing it (dropping the lease, or the process dying) frees
/// the lock, so a crashed sealer never blocks the others. SQLite serves one server, whose sealer
/// is already serialised in-process; a concurrent `sejf audit seal` writes the same
/// deterministic rows and never overwrites.
pub(crate) async fn sealer_lock(store: &SqlStore) -> Result<Option<SealerLease>, StoreError> {
    try_lock(store, SEALER_LOCK_KEY).await
}

/// Spells "sejfback": the lock of the server that takes the scheduled backup.
const BACKUP_LOCK_KEY: i64 = 0x7365_6a66_6261_636b;

pub(crate) async fn backup_lock(store: &SqlStore) -> Result<Option<SealerLease>, StoreError> {
    try_lock(store, BACKUP_LOCK_KEY).await
}

/// A PostgreSQL session advisory lock on a connection of its own, held while the lease lives;
/// on SQLite (one server) always granted.
async fn try_lock(store: &SqlStore, key: i64) -> Result<Option<SealerLease>, StoreError> {
    if store.backend == Backend::Sqlite {
        return Ok(Some(Box::new(())));
    }
    let mut conn = store.pool.acquire().await.map_err(error::db("advisory lock"))?.detach();
    let held: bool = sqlx::query_scalar(SEALER_TRY_LOCK).bind(key).fetch_one(&mut conn).await.map_err(error::db("advisory lock"))?;
    if held {
        Ok(Some(Box::new(conn)))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}
