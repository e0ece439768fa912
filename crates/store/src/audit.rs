//! The audit trail's storage. Sequence numbers come from the `audit_head` row, advanced inside
//! the writing transaction: a rollback gives its numbers back, so the sequence has no gaps, and
//! the row lock orders concurrent writers (on every server sharing the database).

use sejf_core::ports::{AuditEvent, AuditQuery, ChainRow, SealedEvent, SealerLease, StoreError};
use sqlx::Connection;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::{Backend, SqlStore, codec, error};

const ADVANCE: &str = "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq";
const INSERT: &str = "INSERT INTO audit_events (seq, at, actor_id, actor, role, action, resource_type, resource_id, subject_id, \
     fields, purpose, outcome, client, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
macro_rules! columns {
    () => {
        "SELECT seq, at, actor_id, actor, role, action, resource_type, resource_id, subject_id, fields, purpose, outcome, client, \
         request_id, detail FROM audit_events "
    };
}
/// A range of events for sealing, verifying and export: each row comes back as one JSON array
/// built by the database, because decoding one text column is several times cheaper than
/// fifteen through the `Any` driver (the values are parsed back, so formatting does not matter).
macro_rules! range_fields {
    () => {
        "seq, at, actor_id, actor, role, action, resource_type, resource_id, subject_id, fields, purpose, outcome, client, request_id, detail"
    };
}
const RANGE_SQLITE: &str = concat!("SELECT json_array(", range_fields!(), ") FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
const RANGE_POSTGRES: &str =
    concat!("SELECT json_build_array(", range_fields!(), ")::text FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
const QUERY: &str = concat!(
    columns!(),
    "WHERE seq > $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR subject_id = $3) AND ($4 = '' OR action = $4) \
     AND ($5 = 0 OR at >= $5) AND ($6 = 0 OR at <= $6) ORDER BY seq LIMIT $7"
);
const CHAIN_PUT: &str = "INSERT INTO audit_chain (seq, leaf, link) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const CHAIN_RANGE: &str = "SELECT seq, leaf, link FROM audit_chain WHERE seq > $1 ORDER BY seq LIMIT $2";
const HONEY_PUT: &str = "INSERT INTO honeytokens (person_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const HONEY_ALL: &str = "SELECT person_id FROM honeytokens";
const CHECKPOINT_PUT: &str = "INSERT INTO audit_checkpoints (tree_size, body, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// The PostgreSQL advisory lock key of the sealer role (the bytes of "sejfseal").
const SEALER_LOCK_KEY: i64 = 0x7365_6a66_7365_616c;
const SEALER_TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1)";
const CHECKPOINTS: &str = "SELECT tree_size, body FROM audit_checkpoints ORDER BY tree_size";

/// Writes `events` inside `tx`, numbering them after the current head.
pub(crate) async fn insert(tx: &mut Transaction<'static, Any>, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head: i64 =
        sqlx::query_scalar(ADVANCE).bind(events.len() as i64).fetch_one(&mut **tx).await.map_err(error::db("audit sequence"))?;
    let first = head - events.len() as i64 + 1;
    for (i, e) in events.iter().enumerate() {
        sqlx::query(INSERT)
            .bind(first + i as i64)
            .bind(e.at)
            .bind(e.actor_id.as_str())
            .bind(e.actor.as_str())
            .bind(e.role.as_str())
            .bind(e.action.as_str())
            .bind(e.resource_type.as_str())
            .bind(e.resource_id.as_str())
            .bind(e.subject_id.as_str())
            .bind(e.fields.as_str())
            .bind(e.purpose.as_str())
            .bind(e.outcome.as_str())
            .bind(e.client.as_str())
            .bind(e.request_id.as_str())
            .bind(e.detail.as_str())
            .execute(&mut **tx)
            .await
            .map_err(error::db("audit insert"))?;
    }
    Ok(())
}

pub(crate) async fn append(store: &SqlStore, events: Vec<AuditEvent>) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    insert(&mut tx, &events).await?;
    tx.commit().await.map_err(error::db("audit append"))
}

fn decode(r: &AnyRow) -> Result<SealedEvent, StoreError> {
    Ok(SealedEvent {
        seq: codec::get(r, 0, "audit_events.seq")?,
        event: AuditEvent {
            at: codec::get(r, 1, "audit_events.at")?,
            actor_id: codec::get(r, 2, "audit_events.actor_id")?,
            actor: codec::get(r, 3, "audit_events.actor")?,
            role: codec::get(r, 4, "audit_events.role")?,
            action: codec::get(r, 5, "audit_events.action")?,
            resource_type: codec::get(r, 6, "audit_events.resource_type")?,
            resource_id: codec::get(r, 7, "audit_events.resource_id")?,
            subject_id: codec::get(r, 8, "audit_events.subject_id")?,
            fields: codec::get(r, 9, "audit_events.fields")?,
            purpose: codec::get(r, 10, "audit_events.purpose")?,
            outcome: codec::get(r, 11, "audit_events.outcome")?,
            client: codec::get(r, 12, "audit_events.client")?,
            request_id: codec::get(r, 13, "audit_events.request_id")?,
            detail: codec::get(r, 14, "audit_events.detail")?,
        },
    })
}

/// One event as [`RANGE_SQLITE`] / [`RANGE_POSTGRES`] return it, in `range_fields!` order.
type RangeRow = (i64, i64, String, String, String, String, String, String, String, String, String, String, String, String, String);

pub(crate) async fn range(store: &SqlStore, after: i64, limit: u32) -> Result<Vec<SealedEvent>, StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => RANGE_SQLITE,
        Backend::Postgres => RANGE_POSTGRES,
    };
    let rows = sqlx::query_scalar::<_, String>(sql)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(error::db("audit range"))?;
    rows.iter()
        .map(|json| {
            let r: RangeRow =
                serde_json::from_str(json).map_err(|_| StoreError::Backend("an audit event row is not what the schema says".into()))?;
            Ok(SealedEvent {
                seq: r.0,
                event: AuditEvent {
                    at: r.1,
                    actor_id: r.2,
                    actor: r.3,
                    role: r.4,
                    action: r.5,
                    resource_type: r.6,
                    resource_id: r.7,
                    subject_id: r.8,
                    fields: r.9,
                    purpose: r.10,
                    outcome: r.11,
                    client: r.12,
                    request_id: r.13,
                    detail: r.14,
                },
            })
        })
        .collect()
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
    for (seq, leaf, link) in rows {
        sqlx::query(CHAIN_PUT).bind(seq).bind(leaf).bind(link).execute(&mut *tx).await.map_err(error::db("audit chain"))?;
    }
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
