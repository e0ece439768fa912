//! SQLite reads without a thread hop (ADR 0026). sqlx runs each SQLite connection on a thread
//! of its own, and every statement is a round trip to it (about 70 µs on the benchmark VM, most
//! of an authenticated GET). The hottest reads, a bearer token's session with its user and a
//! person by id, run here instead: on a pooled rusqlite connection to the same file (the same
//! bundled SQLite library), inline on the calling worker thread, with the statement prepared
//! once per connection. Such a read takes microseconds, less than handing the worker over would
//! (`block_in_place` wakes another thread to take the runtime's core: measured, it cost more
//! than it saved, and let so many reads run at once that connections were opened and closed
//! under load). WAL lets them run beside sqlx's writer, which they never wait for;
//! `query_only` makes it impossible for this path to write. The SQL is the store's own.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use sejf_core::ports::{SessionRow, StoreError, UserRow};
use uuid::Uuid;

use crate::error;

/// Connections kept for reuse; more are opened under load and closed after.
const IDLE: usize = 8;

/// A pool of read-only connections to one SQLite file, used on the calling thread.
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn corrupt(column: &'static str) -> StoreError {
    StoreError::Backend(format!("unexpected value in column {column}"))
}

impl Readers {
    /// Readers for the database file at `path` (opened on first use).
    pub fn new(path: &Path) -> Readers {
        Readers { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(error::sync("open reader"))?;
        conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=ON;").map_err(error::sync("open reader"))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection, on this thread. A connection that `f` left inside a
    /// transaction is closed rather than pooled: idle, it would hold its snapshot, and with it
    /// the write-ahead log, for good.
    pub fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = match self.idle.lock().map_err(|_| StoreError::Backend("reader pool poisoned".into()))?.pop() {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&conn);
        if conn.is_autocommit()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
        result
    }

    /// One statement returning one text value (the store's JSON-aggregating reads).
    pub(crate) fn json(&self, sql: &'static str, param: &str, context: &'static str) -> Result<String, StoreError> {
        self.run(|c| c.prepare_cached(sql).and_then(|mut s| s.query_row([param], |r| r.get::<_, String>(0))).map_err(error::sync(context)))
    }

    /// `users::SESSION_WITH_USER`: the session of a token hash and its user, with the user's
    /// units in order (one row per unit).
    pub(crate) fn session_with_user(&self, sql: &'static str, token_hash: &[u8]) -> Result<Option<(SessionRow, UserRow)>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare_cached(sql).map_err(error::sync("session with user"))?;
            let mut rows = stmt.query([token_hash]).map_err(error::sync("session with user"))?;
            let mut found: Option<(SessionRow, UserRow)> = None;
            while let Some(r) = rows.next().map_err(error::sync("session with user"))? {
                let unit: Option<String> = r.get(6).map_err(|_| corrupt("user_units.unit"))?;
                if found.is_none() {
                    found = Some((session(r)?, user(r)?));
                }
                if let (Some(unit), Some((_, u))) = (unit, found.as_mut()) {
                    u.units.push(unit);
                }
            }
            Ok(found)
        })
    }

    /// Whether a statement finds a row (for tests of this path).
    #[cfg(test)]
    fn exists(&self, sql: &'static str) -> Result<bool, StoreError> {
        use rusqlite::OptionalExtension;
        self.run(|c| c.query_row(sql, [], |_| Ok(())).optional().map(|o| o.is_some()).map_err(error::sync("exists")))
    }
}

fn uuid_at(r: &rusqlite::Row<'_>, i: usize, column: &'static str) -> Result<Uuid, StoreError> {
    let text: String = r.get(i).map_err(|_| corrupt(column))?;
    Uuid::parse_str(&text).map_err(|_| corrupt(column))
}

fn bool_at(r: &rusqlite::Row<'_>, i: usize, column: &'static str) -> Result<bool, StoreError> {
    match r.get::<_, i64>(i).map_err(|_| corrupt(column))? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(corrupt(column)),
    }
}

/// The user's columns of `SESSION_WITH_USER` (0–9), as `users::group` reads them.
fn user(r: &rusqlite::Row<'_>) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: uuid_at(r, 0, "users.id")?,
        username: r.get(1).map_err(|_| corrupt("users.username"))?,
        password_hash: r.get(2).map_err(|_| corrupt("users.password_hash"))?,
        role: r.get(3).map_err(|_| corrupt("users.role"))?,
        disabled: bool_at(r, 4, "users.disabled")?,
        units: Vec::new(),
        created_at: r.get(5).map_err(|_| corrupt("users.created_at"))?,
        service: bool_at(r, 7, "users.service")?,
        mfa_enabled: bool_at(r, 8, "users.totp_secret")?,
        must_change_password: bool_at(r, 9, "users.must_change_password")?,
    })
}

/// The session's columns of `SESSION_WITH_USER` (10–17).
fn session(r: &rusqlite::Row<'_>) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: uuid_at(r, 10, "sessions.id")?,
        user_id: uuid_at(r, 11, "sessions.user_id")?,
        token_hash: r.get(12).map_err(|_| corrupt("sessions.token_hash"))?,
        created_at: r.get(13).map_err(|_| corrupt("sessions.created_at"))?,
        last_seen: r.get(14).map_err(|_| corrupt("sessions.last_seen"))?,
        expires_at: r.get(15).map_err(|_| corrupt("sessions.expires_at"))?,
        scope: r.get(16).map_err(|_| corrupt("sessions.scope"))?,
        label: r.get(17).map_err(|_| corrupt("sessions.label"))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Readers;

    #[test]
    fn a_reader_cannot_write() {
        let dir = crate::testing::fresh_temp_dir().unwrap();
        let path = dir.join("r.db");
        rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
        let readers = Readers::new(&path);
        assert!(readers.exists("SELECT 1 FROM t").unwrap());
        let refused = readers.run(|c| c.execute("DELETE FROM t", []).map_err(crate::error::sync("write")));
        assert!(refused.is_err(), "query_only refuses a write");
        assert!(readers.exists("SELECT 1 FROM t").unwrap());
        let _ = std::fs::remove_dir_all(dir);
    }
}
