//! Users, their business units, and sessions.
//!
//! Invariants: a user's units come back in the order they were given (the first is the default
//! unit of what the user creates), and creating a user creates any unit it names that does not
//! exist yet, in the same transaction. Sessions are found by the hash of their token only: the
//! token itself never reaches the store.

use sejf_core::ports::{AccountChange, AuditEvent, SessionRow, StoreError, UserRow};
use uuid::Uuid;

use crate::codec::{Arg, Columns};
use crate::{SqlStore, Step};

const INSERT_USER: &str = "INSERT INTO users (id, username, password_hash, role, disabled, \
     created_at, service, must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_UNIT: &str = "INSERT INTO units (slug, created_at) VALUES ($1, $2) \
     ON CONFLICT DO NOTHING";
const INSERT_USER_UNIT: &str = "INSERT INTO user_units (user_id, unit, ord) VALUES ($1, $2, $3)";

/// One row per (user, unit), units in order; a user without units has one row with a NULL unit.
macro_rules! user_select {
    () => {
        "SELECT u.id, u.username, u.password_hash, u.role, u.disabled, u.created_at, uu.unit, u.service, \
         CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT), u.must_change_password \
         FROM users u LEFT JOIN user_units uu ON uu.user_id = u.id "
    };
}
const USER_BY_NAME: &str = concat!(user_select!(), "WHERE u.username = $1 ORDER BY uu.ord");
const USER_BY_ID: &str = concat!(user_select!(), "WHERE u.id = $1 ORDER BY uu.ord");
const USERS_LIST: &str = concat!(user_select!(), "ORDER BY u.username, u.id, uu.ord");

/// An account change's columns in one statement: a NULL leaves its column as it is. It touches
/// the row whatever it sets, so no row affected means no such user.
const SET_COLUMNS: &str = "UPDATE users SET password_hash = COALESCE($2, password_hash), \
     must_change_password = COALESCE($3, must_change_password), disabled = COALESCE($4, disabled), \
     role = COALESCE($5, role) WHERE id = $1";

const INSERT_SESSION: &str = "INSERT INTO sessions (id, user_id, token_hash, created_at, \
     last_seen, expires_at, scope, label) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const SESSIONS_OF_USER: &str = "SELECT id, user_id, token_hash, created_at, last_seen, expires_at, scope, label \
     FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC";
const SESSION_BY_HASH: &str = "SELECT id, user_id, token_hash, created_at, last_seen, \
     expires_at, scope, label FROM sessions WHERE token_hash = $1";
/// A session and its user in one indexed read (the token hash is unique; users and their units
/// are found by primary key): one row per unit, the session's columns after the user's.
const SESSION_WITH_USER: &str = "SELECT u.id, u.username, u.password_hash, u.role, u.disabled, u.created_at, uu.unit, \
     u.service, CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT), u.must_change_password, \
     s.id, s.user_id, s.token_hash, s.created_at, s.last_seen, s.expires_at, s.scope, s.label \
     FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN user_units uu ON uu.user_id = u.id \
     WHERE s.token_hash = $1 ORDER BY uu.ord";
const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen = $2 WHERE id = $1";
/// A session of the named user only: ending a session never reaches another account's.
const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1 AND user_id = $2";
/// Every session of a user but `$2` (no session has the empty id).
const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2";

/// Creates the user, the units it names that do not exist yet (stamped with the user's
/// `created_at`), and its memberships. A taken user name is a [`StoreError::Conflict`]. A unit
/// named twice is kept once, at its first position.
pub(crate) async fn create(store: &SqlStore, user: UserRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let id = user.id.to_string();
    let mut steps = vec![Step::new(
        INSERT_USER,
        vec![
            Arg::Owned(id.clone()),
            Arg::Owned(user.username.clone()),
            Arg::Owned(user.password_hash.clone()),
            Arg::Owned(user.role.clone()),
            Arg::Int(i64::from(user.disabled)),
            Arg::Int(user.created_at),
            Arg::Int(i64::from(user.service)),
            Arg::Int(i64::from(user.must_change_password)),
        ],
        "user create",
    )];
    let mut seen: Vec<&str> = Vec::with_capacity(user.units.len());
    for unit in &user.units {
        if seen.contains(&unit.as_str()) {
            continue;
        }
        steps.push(Step::new(INSERT_UNIT, vec![Arg::Owned(unit.clone()), Arg::Int(user.created_at)], "unit create"));
        let membership = vec![Arg::Owned(id.clone()), Arg::Owned(unit.clone()), Arg::Int(seen.len() as i64)];
        steps.push(Step::new(INSERT_USER_UNIT, membership, "user unit"));
        seen.push(unit);
    }
    store.write_steps(steps, audit).await.map(drop)
}

pub(crate) async fn by_name(store: &SqlStore, username: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(read_users(store, USER_BY_NAME, &[Arg::Text(username)], "user by name").await?.pop())
}

pub(crate) async fn by_id(store: &SqlStore, id: Uuid) -> Result<Option<UserRow>, StoreError> {
    Ok(read_users(store, USER_BY_ID, &[Arg::Owned(id.to_string())], "user by id").await?.pop())
}

/// Every user, ordered by user name, with their units.
pub(crate) async fn list(store: &SqlStore) -> Result<Vec<UserRow>, StoreError> {
    read_users(store, USERS_LIST, &[], "users list").await
}

/// The users a `user_select!` statement answers.
async fn read_users(store: &SqlStore, sql: &'static str, args: &[Arg<'_>], context: &'static str) -> Result<Vec<UserRow>, StoreError> {
    let mut users = Users::default();
    store.read_rows(sql, args, context, |r| users.add(r)).await?;
    Ok(users.0)
}

/// Users folded from consecutive rows of one user each (as `user_select!` orders them: one row
/// per unit, a user without units one row with a NULL unit).
#[derive(Default)]
struct Users(Vec<UserRow>);

impl Users {
    fn add(&mut self, row: &dyn Columns) -> Result<(), StoreError> {
        let id = row.uuid(0, "users.id")?;
        if self.0.last().is_none_or(|last| last.id != id) {
            self.0.push(UserRow {
                id,
                username: row.text(1, "users.username")?,
                password_hash: row.text(2, "users.password_hash")?,
                role: row.text(3, "users.role")?,
                disabled: row.flag(4, "users.disabled")?,
                units: Vec::new(),
                created_at: row.int(5, "users.created_at")?,
                service: row.flag(7, "users.service")?,
                mfa_enabled: row.flag(8, "users.totp_secret")?,
                must_change_password: row.flag(9, "users.must_change_password")?,
            });
        }
        if let (Some(unit), Some(user)) = (row.opt_text(6, "user_units.unit")?, self.0.last_mut()) {
            user.units.push(unit);
        }
        Ok(())
    }
}

/// Applies an account change and its events in one transaction (see
/// [`sejf_core::ports::Store::account_change`]): the grant decision first, then the user's
/// columns, TOTP, and last the sessions. False, with nothing written, if the grant was no longer
/// pending or the user does not exist.
pub(crate) async fn change(store: &SqlStore, c: AccountChange, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let id = c.user.to_string();
    let mut steps = Vec::new();
    steps.extend(c.decide_grant.as_ref().map(crate::grants::decide));
    let columns = vec![
        Arg::Owned(id.clone()),
        Arg::OptOwned(c.password_hash.clone()),
        Arg::OptInt(c.must_change_password.map(i64::from)),
        Arg::OptInt(c.disabled.map(i64::from)),
        Arg::OptOwned(c.role.clone()),
    ];
    steps.push(Step::required(SET_COLUMNS, columns, "account change"));
    crate::mfa::change(&mut steps, &id, &c);
    if c.end_sessions {
        let kept = c.keep_session.map(|k| k.to_string()).unwrap_or_default();
        steps.push(Step::new(DELETE_USER_SESSIONS, vec![Arg::Owned(id.clone()), Arg::Owned(kept)], "sessions delete"));
    }
    for session in &c.end_session {
        steps.push(Step::new(DELETE_SESSION, vec![Arg::Owned(session.to_string()), Arg::Owned(id.clone())], "session delete"));
    }
    store.write_steps(steps, audit).await
}

/// Stores a session and its events in one transaction.
pub(crate) async fn session_create(store: &SqlStore, s: SessionRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(s.id.to_string()),
        Arg::Owned(s.user_id.to_string()),
        Arg::Bytes(s.token_hash),
        Arg::Int(s.created_at),
        Arg::Int(s.last_seen),
        Arg::Int(s.expires_at),
        Arg::Owned(s.scope),
        Arg::Owned(s.label),
    ];
    store.write_audited(INSERT_SESSION, args, "session create", audit).await
}

pub(crate) async fn session_by_hash(store: &SqlStore, token_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
    store.read_one(SESSION_BY_HASH, &[Arg::Blob(token_hash)], "session by hash", |r| session_at(r, 0)).await
}

/// The session a token hash names and its user, with one statement.
pub(crate) async fn session_with_user(store: &SqlStore, token_hash: &[u8]) -> Result<Option<(SessionRow, UserRow)>, StoreError> {
    let (mut session, mut users) = (None, Users::default());
    store
        .read_rows(SESSION_WITH_USER, &[Arg::Blob(token_hash)], "session with user", |r| {
            if session.is_none() {
                session = Some(session_at(r, 10)?);
            }
            users.add(r)
        })
        .await?;
    Ok(session.zip(users.0.pop()))
}

/// A user's sessions, newest first.
pub(crate) async fn sessions_for_user(store: &SqlStore, user_id: Uuid) -> Result<Vec<SessionRow>, StoreError> {
    let mut sessions = Vec::new();
    let args = [Arg::Owned(user_id.to_string())];
    store.read_rows(SESSIONS_OF_USER, &args, "sessions of user", |r| session_at(r, 0).map(|s| sessions.push(s))).await?;
    Ok(sessions)
}

/// A session whose columns start at `base` (after a user's, in [`SESSION_WITH_USER`]).
fn session_at(row: &dyn Columns, base: usize) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: row.uuid(base, "sessions.id")?,
        user_id: row.uuid(base + 1, "sessions.user_id")?,
        token_hash: row.blob(base + 2, "sessions.token_hash")?,
        created_at: row.int(base + 3, "sessions.created_at")?,
        last_seen: row.int(base + 4, "sessions.last_seen")?,
        expires_at: row.int(base + 5, "sessions.expires_at")?,
        scope: row.text(base + 6, "sessions.scope")?,
        label: row.text(base + 7, "sessions.label")?,
    })
}

pub(crate) async fn session_touch(store: &SqlStore, id: Uuid, last_seen: i64) -> Result<(), StoreError> {
    store.write(TOUCH_SESSION, vec![Arg::Owned(id.to_string()), Arg::Int(last_seen)], "session touch").await.map(drop)
}
