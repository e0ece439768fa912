//! Read budgets shared by every server: when each user last read each person (one row per
//! pair, its time only ever moved forward), counted over a sliding window. Servers keep the
//! counts in memory and hand their new reads over in batches ([`record`], about once a second);
//! only a read that would pass the budget by a server's own count asks the database at once
//! ([`take`]), in one transaction that records nothing when the budget is passed. ADR 0017 says
//! what that costs in accuracy.

use std::collections::HashMap;

use sejf_core::ports::{BudgetOutcome, ReadMark, StoreError};
use uuid::Uuid;

use crate::codec::Arg;
use crate::multirow::{insert_chunked, insert_chunked_sync, multi_row};
use crate::{SqlStore, error, stmt};

const FORGET: &str = "DELETE FROM read_budget WHERE read_at < $1";
pub(crate) const COUNT: &str = "SELECT COUNT(*) FROM read_budget WHERE user_id = $1 AND read_at >= $2";
const UPSERT_HEAD: &str = "INSERT INTO read_budget (user_id, person_id, read_at) VALUES ";
/// A later read moves the time forward; an earlier one (from a server that flushed late) never
/// moves it back.
const UPSERT_TAIL: &str = " ON CONFLICT (user_id, person_id) DO UPDATE SET read_at = \
     CASE WHEN excluded.read_at > read_budget.read_at THEN excluded.read_at ELSE read_budget.read_at END";
multi_row!(UPSERTS = UPSERT_HEAD, "", 3, [256, 16, 1], UPSERT_TAIL);

/// One row per (user, person), the latest time: PostgreSQL refuses a statement that would
/// update the same row twice.
fn dedup(reads: Vec<ReadMark>) -> Vec<(String, String, i64)> {
    let mut latest: HashMap<(Uuid, Uuid), i64> = HashMap::with_capacity(reads.len());
    for r in reads {
        let at = latest.entry((r.user, r.person)).or_insert(r.at);
        *at = (*at).max(r.at);
    }
    latest.into_iter().map(|((user, person), at)| (user.to_string(), person.to_string(), at)).collect()
}

/// Records `reads`, forgets every read before `since`, and answers each reading user's count
/// of distinct people read at or after `since`, all in one transaction.
pub(crate) async fn record(store: &SqlStore, reads: Vec<ReadMark>, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let mut users: Vec<Uuid> = reads.iter().map(|r| r.user).collect();
    users.sort_unstable();
    users.dedup();
    let rows = dedup(reads);
    if let Some(w) = &store.writer {
        return w.run(move |c| record_sync(c, &rows, &users, since)).await;
    }
    let mut tx = store.begin_write().await?;
    sqlx::query(FORGET).bind(since).execute(&mut *tx).await.map_err(error::db("read budget"))?;
    insert_chunked(&mut tx, store.backend, &UPSERTS, &rows, |q, r| crate::codec::bind_all(q, &upsert_args(r)), "read budget").await?;
    let mut counts = Vec::with_capacity(users.len());
    for user in users {
        let n: i64 =
            sqlx::query_scalar(COUNT).bind(user.to_string()).bind(since).fetch_one(&mut *tx).await.map_err(error::db("read budget"))?;
        counts.push((user, n));
    }
    tx.commit().await.map_err(error::db("read budget"))?;
    Ok(counts)
}

fn upsert_args<'a>((user, person, at): &'a (String, String, i64)) -> [Arg<'a>; 3] {
    [Arg::Text(user), Arg::Text(person), Arg::Int(*at)]
}

/// [`record`] on the SQLite writer's connection, inside its group commit.
fn record_sync(
    conn: &rusqlite::Connection,
    rows: &[(String, String, i64)],
    users: &[Uuid],
    since: i64,
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    stmt::execute(conn, FORGET, &[Arg::Int(since)], "read budget")?;
    insert_chunked_sync(conn, &UPSERTS, rows, upsert_args, "read budget")?;
    users.iter().map(|&u| Ok((u, stmt::query_i64(conn, COUNT, &[Arg::Owned(u.to_string()), Arg::Int(since)], "read budget")?))).collect()
}

/// [`take`] on the SQLite writer's connection: the reads are undone (to a savepoint of their
/// own) when they pass the budget.
fn take_sync(
    conn: &rusqlite::Connection,
    user: &str,
    rows: &[(String, String, i64)],
    since: i64,
    budget: i64,
) -> Result<BudgetOutcome, StoreError> {
    let count = |c| stmt::query_i64(c, COUNT, &[Arg::Text(user), Arg::Int(since)], "read budget");
    let before = count(conn)?;
    stmt::execute(conn, "SAVEPOINT budget_take", &[], "read budget")?;
    insert_chunked_sync(conn, &UPSERTS, rows, upsert_args, "read budget")?;
    let after = count(conn)?;
    let outcome = BudgetOutcome { granted: after <= budget, read_before: before, asked: after - before };
    if !outcome.granted {
        stmt::execute(conn, "ROLLBACK TO budget_take", &[], "read budget")?;
    }
    stmt::execute(conn, "RELEASE budget_take", &[], "read budget")?;
    Ok(outcome)
}

/// Distinct people `user` read at or after `since`.
pub(crate) async fn count(store: &SqlStore, user: Uuid, since: i64) -> Result<i64, StoreError> {
    sqlx::query_scalar(COUNT).bind(user.to_string()).bind(since).fetch_one(&store.pool).await.map_err(error::db("read budget"))
}

/// Records that `user` read `people` at `at` unless that takes their distinct people read at
/// or after `since` past `budget`; then it rolls back and nothing is recorded.
pub(crate) async fn take(
    store: &SqlStore,
    user: Uuid,
    at: i64,
    since: i64,
    people: Vec<Uuid>,
    budget: i64,
) -> Result<BudgetOutcome, StoreError> {
    let rows = dedup(people.into_iter().map(|person| ReadMark { user, person, at }).collect());
    let user = user.to_string();
    if let Some(w) = &store.writer {
        return w.run(move |c| take_sync(c, &user, &rows, since, budget)).await;
    }
    let mut tx = store.begin_write().await?;
    let before: i64 =
        sqlx::query_scalar(COUNT).bind(user.as_str()).bind(since).fetch_one(&mut *tx).await.map_err(error::db("read budget"))?;
    insert_chunked(&mut tx, store.backend, &UPSERTS, &rows, |q, r| crate::codec::bind_all(q, &upsert_args(r)), "read budget").await?;
    let after: i64 =
        sqlx::query_scalar(COUNT).bind(user.as_str()).bind(since).fetch_one(&mut *tx).await.map_err(error::db("read budget"))?;
    let outcome = BudgetOutcome { granted: after <= budget, read_before: before, asked: after - before };
    if outcome.granted {
        tx.commit().await.map_err(error::db("read budget"))?;
    } else {
        tx.rollback().await.map_err(error::db("read budget"))?;
    }
    Ok(outcome)
}
