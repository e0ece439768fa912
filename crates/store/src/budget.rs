//! Read budgets shared by every server: the distinct people each user read per clock hour.
//! One transaction records the new people and counts the hour; over the budget it rolls back,
//! so a refused read leaves no trace here (the alert is in the audit trail). Two servers
//! granting at the same instant can each see the other's rows only once committed, so a user
//! may overshoot by at most the reads in flight at that instant.

use sejf_core::ports::{BudgetOutcome, StoreError};
use uuid::Uuid;

use crate::{SqlStore, error};

const FORGET: &str = "DELETE FROM read_budget WHERE user_id = $1 AND hour < $2";
const RECORD: &str = "INSERT INTO read_budget (user_id, hour, person_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const COUNT: &str = "SELECT COUNT(*) FROM read_budget WHERE user_id = $1 AND hour = $2";

pub(crate) async fn take(store: &SqlStore, user: Uuid, hour: i64, people: Vec<Uuid>, budget: i64) -> Result<BudgetOutcome, StoreError> {
    let user = user.to_string();
    let mut tx = store.begin_write().await?;
    sqlx::query(FORGET).bind(user.as_str()).bind(hour).execute(&mut *tx).await.map_err(error::db("read budget"))?;
    let mut added = 0i64;
    for p in &people {
        let done = sqlx::query(RECORD)
            .bind(user.as_str())
            .bind(hour)
            .bind(p.to_string())
            .execute(&mut *tx)
            .await
            .map_err(error::db("read budget"))?;
        added += done.rows_affected() as i64;
    }
    let read: i64 = sqlx::query_scalar(COUNT).bind(user.as_str()).bind(hour).fetch_one(&mut *tx).await.map_err(error::db("read budget"))?;
    let outcome = BudgetOutcome { granted: read <= budget, read_before: read - added, asked: added };
    if outcome.granted {
        tx.commit().await.map_err(error::db("read budget"))?;
    } else {
        tx.rollback().await.map_err(error::db("read budget"))?;
    }
    Ok(outcome)
}
