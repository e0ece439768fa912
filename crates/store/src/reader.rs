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
use sejf_core::ports::StoreError;

use crate::error;

/// Connections kept for reuse; more are opened under load and closed after.
const IDLE: usize = 8;

/// A pool of read-only connections to one SQLite file, used on the calling thread.
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
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

    /// Whether a statement finds a row (for tests of this path).
    #[cfg(test)]
    fn exists(&self, sql: &'static str) -> Result<bool, StoreError> {
        use rusqlite::OptionalExtension;
        self.run(|c| c.query_row(sql, [], |_| Ok(())).optional().map(|o| o.is_some()).map_err(error::sync("exists")))
    }
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
