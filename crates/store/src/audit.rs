//! The audit trail's storage. Sequence numbers come from the `audit_head` row, advanced inside
//! the writing transaction: a rollback gives its numbers back, so the sequence has no gaps, and
//! the row lock orders concurrent writers (on every server sharing the database).

use sejf_core::audit::{canonical, parse_body};
use sejf_core::ports::{AuditEvent, AuditQuery, ChainRow, SealedEvent, SealerLease, StoreError};
use sqlx::Connection;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::codec::AnyQuery;
use crate::multirow::{MultiRow, insert_chunked, multi_row};
use crate::{Backend, SqlStore, codec, error};

const ADVANCE: &str = "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq";
const EVENT_HEAD: &str = "INSERT INTO audit_events (seq, body) VALUES ";
multi_row!(EVENT_64 = EVENT_HEAD, "", 2, 64, "");
multi_row!(EVENT_8 = EVENT_HEAD, "", 2, 8, "");
multi_row!(EVENT_1 = EVENT_HEAD, "", 2, 1, "");
/// A group commit of n events costs n / 64 + a few statements.
const EVENT_INSERTS: [MultiRow; 3] = [EVENT_64, EVENT_8, EVENT_1];
const CHAIN_HEAD: &str = "INSERT INTO audit_chain (seq, leaf, link) VALUES ";
multi_row!(CHAIN_256 = CHAIN_HEAD, "", 3, 256, " ON CONFLICT DO NOTHING");
multi_row!(CHAIN_16 = CHAIN_HEAD, "", 3, 16, " ON CONFLICT DO NOTHING");
multi_row!(CHAIN_1 = CHAIN_HEAD, "", 3, 1, " ON CONFLICT DO NOTHING");
const CHAIN_INSERTS: [MultiRow; 3] = [CHAIN_256, CHAIN_16, CHAIN_1];
const RANGE: &str = "SELECT seq, body FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";
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
             FROM (SELECT seq, body FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2) page"
        )
    };
}
const CANONICAL_SQLITE: &str = canonical_page!("group_concat");
const CANONICAL_POSTGRES: &str = canonical_page!("string_agg");
/// Filters use the columns generated from the body (and their indexes).
const QUERY: &str = "SELECT seq, body FROM audit_events \
     WHERE seq > $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR subject_id = $3) AND ($4 = '' OR action = $4) \
     AND ($5 = 0 OR at >= $5) AND ($6 = 0 OR at <= $6) ORDER BY seq LIMIT $7";
const CHAIN_RANGE: &str = "SELECT seq, leaf, link FROM audit_chain WHERE seq > $1 ORDER BY seq LIMIT $2";
const HONEY_PUT: &str = "INSERT INTO honeytokens (person_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const HONEY_ALL: &str = "SELECT person_id FROM honeytokens";
const CHECKPOINT_PUT: &str = "INSERT INTO audit_checkpoints (tree_size, body, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// The PostgreSQL advisory lock key of the sealer role (the bytes of "sejfseal").
const SEALER_LOCK_KEY: i64 = 0x7365_6a66_7365_616c;
const SEALER_TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1)";
const CHECKPOINTS: &str = "SELECT tree_size, body FROM audit_checkpoints ORDER BY tree_size";

/// Writes `events` inside `tx`, numbering them after the current head, many rows per statement.
/// Each is stored as its canonical body, the bytes its leaf hash will cover.
pub(crate) async fn insert(tx: &mut Transaction<'static, Any>, backend: Backend, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head: i64 =
        sqlx::query_scalar(ADVANCE).bind(events.len() as i64).fetch_one(&mut **tx).await.map_err(error::db("audit sequence"))?;
    let first = head - events.len() as i64 + 1;
    let bodies: Vec<(i64, String)> = events.iter().enumerate().map(|(i, e)| (first + i as i64, canonical(first + i as i64, e))).collect();
    insert_chunked(tx, backend, &EVENT_INSERTS, &bodies, |q, (seq, body)| q.bind(*seq).bind(body.as_str()), "audit insert").await
}

pub(crate) async fn append(store: &SqlStore, events: Vec<AuditEvent>) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    insert(&mut tx, store.backend, &events).await?;
    tx.commit().await.map_err(error::db("audit append"))
}

fn decode(r: &AnyRow) -> Result<SealedEvent, StoreError> {
    let seq = codec::get(r, 0, "audit_events.seq")?;
    let body: String = codec::get(r, 1, "audit_events.body")?;
    let (_, event) = parse_body(&body).map_err(|_| StoreError::Backend(format!("audit event {seq} is not a well-formed body")))?;
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
    sqlx::query(CHECKPOINT_PUT).bind(tree_size).bind(body).bind(at).execute(&store.pool).await.map_err(error::db("audit checkpoint"))?;
    Ok(())
}

pub(crate) async fn checkpoints(store: &SqlStore) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = sqlx::query(CHECKPOINTS).fetch_all(&store.pool).await.map_err(error::db("audit checkpoints"))?;
    rows.iter().map(|r| Ok((codec::get(r, 0, "audit_checkpoints.tree_size")?, codec::get(r, 1, "audit_checkpoints.body")?))).collect()
}

/// Stores the sealer's leaf hashes and chain links (never overwriting: servers may race).
pub(crate) async fn chain_put(store: &SqlStore, rows: Vec<ChainRow>) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let bind = |q: AnyQuery, (seq, leaf, link): &ChainRow| q.bind(*seq).bind(leaf.as_slice()).bind(link.as_slice());
    insert_chunked(&mut tx, store.backend, &CHAIN_INSERTS, &rows, bind, "audit chain").await?;
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
    sqlx::query(HONEY_PUT).bind(person.to_string()).bind(at).execute(&store.pool).await.map_err(error::db("honeytoken"))?;
    Ok(())
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
    if store.backend == Backend::Sqlite {
        return Ok(Some(Box::new(())));
    }
    let mut conn = store.pool.acquire().await.map_err(error::db("sealer lock"))?.detach();
    let held: bool =
        sqlx::query_scalar(SEALER_TRY_LOCK).bind(SEALER_LOCK_KEY).fetch_one(&mut conn).await.map_err(error::db("sealer lock"))?;
    if held {
        Ok(Some(Box::new(conn)))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}
