//! TOTP state and recovery codes. Secrets arrive encrypted; recovery codes as digests. Using a
//! step or a code is a conditional UPDATE, so two servers racing on one code accept it once.

use sejf_core::ports::{AccountChange, MfaRow, StoreError};
use uuid::Uuid;

use crate::{SqlStore, codec, error};

const GET: &str = "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = $1";
const SET_PENDING: &str = "UPDATE users SET totp_pending = $2 WHERE id = $1";
const ENABLE: &str = "UPDATE users SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3 WHERE id = $1";
const DELETE_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const INSERT_CODE: &str = "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)";
const USE_STEP: &str = "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2";
const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
const RESET: &str = "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 WHERE id = $1";

pub(crate) async fn get(store: &SqlStore, user_id: Uuid) -> Result<MfaRow, StoreError> {
    let row = sqlx::query(GET).bind(user_id.to_string()).fetch_optional(&store.pool).await.map_err(error::db("mfa get"))?;
    let Some(row) = row else { return Ok(MfaRow::default()) };
    Ok(MfaRow {
        secret: codec::get(&row, 0, "users.totp_secret")?,
        pending: codec::get(&row, 1, "users.totp_pending")?,
        last_step: codec::get(&row, 2, "users.totp_last_step")?,
    })
}

/// The TOTP parts of an account change, inside its transaction (see [`crate::users::change`]).
pub(crate) async fn change(tx: &mut sqlx::Transaction<'static, sqlx::Any>, user: &str, c: &AccountChange) -> Result<(), StoreError> {
    if c.mfa_reset {
        sqlx::query(RESET).bind(user).execute(&mut **tx).await.map_err(error::db("mfa reset"))?;
        sqlx::query(DELETE_CODES).bind(user).execute(&mut **tx).await.map_err(error::db("mfa reset"))?;
    }
    if let Some(pending) = &c.mfa_pending {
        sqlx::query(SET_PENDING).bind(user).bind(pending.as_slice()).execute(&mut **tx).await.map_err(error::db("mfa pending"))?;
    }
    if let Some(e) = &c.mfa_enable {
        sqlx::query(ENABLE).bind(user).bind(e.secret.as_slice()).bind(e.step).execute(&mut **tx).await.map_err(error::db("mfa enable"))?;
        sqlx::query(DELETE_CODES).bind(user).execute(&mut **tx).await.map_err(error::db("recovery codes"))?;
        for h in &e.recovery_hashes {
            sqlx::query(INSERT_CODE).bind(user).bind(h.as_slice()).execute(&mut **tx).await.map_err(error::db("recovery codes"))?;
        }
    }
    Ok(())
}

pub(crate) async fn use_step(store: &SqlStore, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(USE_STEP).bind(user_id.to_string()).bind(step).execute(&store.pool).await.map_err(error::db("mfa step"))?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn use_code(store: &SqlStore, user_id: Uuid, hash: &[u8], now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(USE_CODE)
        .bind(user_id.to_string())
        .bind(hash)
        .bind(now)
        .execute(&store.pool)
        .await
        .map_err(error::db("recovery code"))?;
    Ok(done.rows_affected() == 1)
}
