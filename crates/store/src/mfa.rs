//! TOTP state and recovery codes. Secrets arrive encrypted; recovery codes as digests. Using a
//! step or a code is a conditional UPDATE, so two servers racing on one code accept it once.

use sejf_core::ports::{AccountChange, MfaRow, StoreError};
use uuid::Uuid;

use crate::codec::{Arg, Columns};
use crate::{SqlStore, Step};

const GET: &str = "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = $1";
const SET_PENDING: &str = "UPDATE users SET totp_pending = $2 WHERE id = $1";
const ENABLE: &str = "UPDATE users SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3 WHERE id = $1";
const DELETE_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const INSERT_CODE: &str = "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)";
const USE_STEP: &str = "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2";
const USE_CODE: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
const RESET: &str = "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 WHERE id = $1";

pub(crate) async fn get(store: &SqlStore, user_id: Uuid) -> Result<MfaRow, StoreError> {
    let decode = |r: &dyn Columns| -> Result<MfaRow, StoreError> {
        Ok(MfaRow {
            secret: r.opt_blob(0, "users.totp_secret")?,
            pending: r.opt_blob(1, "users.totp_pending")?,
            last_step: r.int(2, "users.totp_last_step")?,
        })
    };
    Ok(store.read_one(GET, &[Arg::Owned(user_id.to_string())], "mfa get", decode).await?.unwrap_or_default())
}

/// The TOTP parts of an account change, as steps of its transaction (see
/// [`crate::users::change`]).
pub(crate) fn change(steps: &mut Vec<Step>, user: &str, c: &AccountChange) {
    let user = || Arg::Owned(user.to_owned());
    if c.mfa_reset {
        steps.push(Step::new(RESET, vec![user()], "mfa reset"));
        steps.push(Step::new(DELETE_CODES, vec![user()], "mfa reset"));
    }
    if let Some(pending) = &c.mfa_pending {
        steps.push(Step::new(SET_PENDING, vec![user(), Arg::Bytes(pending.clone())], "mfa pending"));
    }
    if let Some(e) = &c.mfa_enable {
        steps.push(Step::new(ENABLE, vec![user(), Arg::Bytes(e.secret.clone()), Arg::Int(e.step)], "mfa enable"));
        steps.push(Step::new(DELETE_CODES, vec![user()], "recovery codes"));
        for h in &e.recovery_hashes {
            steps.push(Step::new(INSERT_CODE, vec![user(), Arg::Bytes(h.clone())], "recovery codes"));
        }
    }
}

pub(crate) async fn use_step(store: &SqlStore, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
    Ok(store.write(USE_STEP, vec![Arg::Owned(user_id.to_string()), Arg::Int(step)], "mfa step").await? == 1)
}

pub(crate) async fn use_code(store: &SqlStore, user_id: Uuid, hash: &[u8], now: i64) -> Result<bool, StoreError> {
    let args = vec![Arg::Owned(user_id.to_string()), Arg::Bytes(hash.to_vec()), Arg::Int(now)];
    Ok(store.write(USE_CODE, args, "recovery code").await? == 1)
}
