//! SQLite reads without a thread hop (ADR 0026), on snapshots kept while they are current (ADR
//! 0028). sqlx runs each SQLite connection on a thread of its own, and every statement is a
//! round trip to it (about 70 µs on the benchmark VM, most of an authenticated GET). The hottest
//! reads, a bearer token's session with its user and a person by id, run here instead: on a
//! pooled rusqlite connection to the same file (the same bundled SQLite library), inline on the
//! calling worker thread, with the statement prepared once per connection. Such a read takes
//! microseconds, less than handing the worker over would (`block_in_place` wakes another thread
//! to take the runtime's core: measured, it cost more than it saved, and let so many reads run
//! at once that connections were opened and closed under load). WAL lets them run beside the
//! writer, which they never wait for; `query_only` makes it impossible for this path to write.
//! The SQL is the store's own.
//!
//! SQLite empties a connection's page cache whenever it begins a read after any other
//! connection has committed, and the writer commits for nearly every read (its audit event, the
//! read budget): each read began with a cold cache, a quarter of a GET's CPU (docs/benchmarks.md
//! §4j). So a pooled connection keeps its read transaction, and with it its cache, from one use
//! to the next while the data it reads is unchanged. Migration 24's triggers count every change
//! to a table the request path reads in `data_generation`, in the change's own transaction; the
//! second connection of each pooled pair, the *watch*, reads that count in a transaction of its
//! own (two pages, cached), and the kept snapshot serves only if it holds the same count.
//!
//! Invariants:
//! - A read sees every change to the counted tables committed before it began, by any
//!   connection of any process: the count is in the database, and a snapshot whose count is not
//!   the newest is ended before the read.
//! - No read runs on a snapshot older than [`MAX_AGE`], and [`Readers::release_old`] ends idle
//!   ones that old: a snapshot pins the log, which a checkpoint cannot copy past it.
//! - While a [`Drain`] lives, no snapshot is kept: the idle ones are ended when it begins, and
//!   every read ends its own when it is done. A checkpoint that must empty the log (restart it,
//!   or truncate it after an erasure) waits for every reader to leave it, so it runs inside one;
//!   a snapshot kept meanwhile would make it wait out its timeout and fail, again and again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use sejf_core::ports::StoreError;

use crate::{error, stmt};

/// Connections kept for reuse; more are opened under load and closed after.
const IDLE: usize = 8;

/// The oldest a kept snapshot may be when a read starts on it.
pub const MAX_AGE: Duration = Duration::from_millis(100);

/// The count of changes to the tables the request path reads (migration 24).
const GENERATION: &str = "SELECT n FROM data_generation WHERE id = 1";

/// A read transaction kept open between uses of a connection.
struct Snapshot {
    /// `data_generation` as this snapshot sees it.
    generation: i64,
    began: Instant,
}

/// A pooled connection, the watch that tells whether its snapshot is current, and the snapshot.
struct Pooled {
    data: Connection,
    watch: Connection,
    snapshot: Option<Snapshot>,
}

impl Pooled {
    /// Makes the snapshot current: kept if it holds the newest generation and is younger than
    /// [`MAX_AGE`]; else ended and begun anew.
    fn current(&mut self) -> Result<(), StoreError> {
        if let Some(s) = &self.snapshot {
            let newest = stmt::query_i64(&self.watch, GENERATION, &[], "read generation")?;
            if s.generation == newest && s.began.elapsed() < MAX_AGE {
                return Ok(());
            }
            self.end();
        }
        stmt::execute(&self.data, "BEGIN", &[], "begin read")?;
        // The first read of the transaction fixes its snapshot: the count is the snapshot's own.
        match stmt::query_i64(&self.data, GENERATION, &[], "read generation") {
            Ok(generation) => {
                self.snapshot = Some(Snapshot { generation, began: Instant::now() });
                Ok(())
            }
            Err(e) => {
                self.end();
                Err(e)
            }
        }
    }

    /// Ends the read transaction, if one is open.
    fn end(&mut self) {
        self.snapshot = None;
        if !self.data.is_autocommit() {
            let _ = self.data.execute_batch("COMMIT");
        }
    }
}

/// A pool of read-only connections to one SQLite file, used on the calling thread.
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Pooled>>,
    /// [`Drain`]s alive: while there is one, no snapshot is kept.
    draining: AtomicUsize,
}

impl Readers {
    /// Readers for the database file at `path` (opened on first use). The database must have
    /// `data_generation` (migration 24).
    pub fn new(path: &Path) -> Readers {
        Readers { path: path.to_path_buf(), idle: Mutex::new(Vec::new()), draining: AtomicUsize::new(0) }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(error::sync("open reader"))?;
        conn.execute_batch(crate::BUSY_TIMEOUT)
            .and_then(|()| conn.execute_batch("PRAGMA query_only=ON"))
            .map_err(error::sync("open reader"))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// A watch reads one row of a two-page table: a cache of a few pages is all it needs, not
    /// the 2 MB each data connection keeps.
    fn watch(&self) -> Result<Connection, StoreError> {
        let conn = self.connect()?;
        conn.execute_batch("PRAGMA cache_size=8").map_err(error::sync("open reader"))?;
        Ok(conn)
    }

    fn idle(&self) -> Result<std::sync::MutexGuard<'_, Vec<Pooled>>, StoreError> {
        self.idle.lock().map_err(|_| StoreError::Backend("reader pool poisoned".into()))
    }

    /// Runs `f` on a pooled connection, on this thread, inside a read transaction that holds
    /// every change committed to the counted tables before the call.
    pub fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut pooled = match self.idle()?.pop() {
            Some(p) => p,
            None => Pooled { data: self.connect()?, watch: self.watch()?, snapshot: None },
        };
        pooled.current()?;
        let result = f(&pooled.data);
        if let Ok(mut idle) = self.idle() {
            // Decided under the pool's lock, which a drain takes after it counts itself: a
            // snapshot is either ended here or by the drain, never kept through it. An error
            // may have ended the transaction already.
            if pooled.data.is_autocommit() || self.draining.load(Ordering::Acquire) > 0 {
                pooled.end();
            }
            if idle.len() < IDLE {
                idle.push(pooled);
            }
        }
        result
    }

    /// Keeps no snapshot until the answer is dropped: ends the idle ones now, and every read
    /// its own when it is done. For a checkpoint that must empty the log, which waits for every
    /// reader in it.
    pub fn drain(&self) -> Drain<'_> {
        self.draining.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut idle) = self.idle() {
            idle.iter_mut().for_each(Pooled::end);
        }
        Drain { readers: self }
    }

    /// Ends the idle snapshots older than [`MAX_AGE`], which would keep a checkpoint from
    /// copying the log past them (the checkpointer, before each checkpoint).
    pub fn release_old(&self) {
        if let Ok(mut idle) = self.idle() {
            idle.iter_mut().filter(|p| p.snapshot.as_ref().is_some_and(|s| s.began.elapsed() >= MAX_AGE)).for_each(Pooled::end);
        }
    }

    /// Whether a statement finds a row (for tests of this path).
    #[cfg(test)]
    fn exists(&self, sql: &'static str) -> Result<bool, StoreError> {
        use rusqlite::OptionalExtension;
        self.run(|c| c.query_row(sql, [], |_| Ok(())).optional().map(|o| o.is_some()).map_err(error::sync("exists")))
    }
}

/// While it lives, the readers keep no snapshot ([`Readers::drain`]).
pub struct Drain<'a> {
    readers: &'a Readers,
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        self.readers.draining.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{MAX_AGE, Readers};

    /// A database in WAL mode with a counted table `t` (triggers as migration 24's) and an
    /// uncounted one `q`, and a connection that writes to it as another process would.
    fn database() -> (std::path::PathBuf, rusqlite::Connection) {
        let dir = crate::testing::fresh_temp_dir().unwrap();
        let path = dir.join("r.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
        conn.execute_batch(
            "CREATE TABLE data_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
             INSERT INTO data_generation (id, n) VALUES (1, 0);
             CREATE TABLE t (x INTEGER); CREATE TABLE q (x INTEGER);
             CREATE TRIGGER t_gen_ins AFTER INSERT ON t BEGIN UPDATE data_generation SET n = n + 1; END;
             INSERT INTO t VALUES (1);",
        )
        .unwrap();
        (path, conn)
    }

    fn count(readers: &Readers, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        readers.run(|c| c.query_row(&sql, [], |r| r.get(0)).map_err(crate::error::sync("count"))).unwrap()
    }

    #[test]
    fn a_reader_cannot_write() {
        let (path, _) = database();
        let readers = Readers::new(&path);
        assert!(readers.exists("SELECT 1 FROM t").unwrap());
        let refused = readers.run(|c| c.execute("DELETE FROM t", []).map_err(crate::error::sync("write")));
        assert!(refused.is_err(), "query_only refuses a write");
        assert!(readers.exists("SELECT 1 FROM t").unwrap());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_read_sees_every_counted_change_and_keeps_its_snapshot_over_the_others() {
        let (path, other) = database();
        let readers = Readers::new(&path);
        assert_eq!((count(&readers, "t"), count(&readers, "q")), (1, 0));
        // A change to an uncounted table (as the audit trail's, which every read writes) leaves
        // the snapshot, and with it the connection's cache, in use.
        other.execute("INSERT INTO q VALUES (1)", []).unwrap();
        assert_eq!(count(&readers, "q"), 0, "the snapshot is kept over an uncounted change");
        // A counted change, by any connection, is seen by the next read.
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!((count(&readers, "t"), count(&readers, "q")), (2, 1));
        // A drain ends the snapshot, and keeps none while it lasts; so does age.
        other.execute("INSERT INTO q VALUES (2)", []).unwrap();
        assert_eq!(count(&readers, "q"), 1);
        let drain = readers.drain();
        assert_eq!(count(&readers, "q"), 2);
        other.execute("INSERT INTO q VALUES (3)", []).unwrap();
        assert_eq!(count(&readers, "q"), 3, "no snapshot is kept while a drain lasts");
        drop(drain);
        assert_eq!(count(&readers, "q"), 3);
        other.execute("INSERT INTO q VALUES (4)", []).unwrap();
        std::thread::sleep(MAX_AGE);
        assert_eq!(count(&readers, "q"), 4, "no read runs on a snapshot older than MAX_AGE");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_kept_snapshot_holds_the_log_until_a_drain() {
        let (path, other) = database();
        let readers = Readers::new(&path);
        assert_eq!(count(&readers, "q"), 0);
        other.execute("INSERT INTO q VALUES (1)", []).unwrap();
        // Busy at once rather than after rusqlite's default wait, which would age the snapshot.
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let truncate = || -> i64 { other.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).unwrap() };
        assert_eq!(truncate(), 1, "an idle reader's snapshot keeps the log busy");
        readers.release_old();
        assert_eq!(truncate(), 1, "a young snapshot is not released by age");
        let drain = readers.drain();
        assert_eq!(truncate(), 0, "drained, the log empties");
        assert_eq!(std::fs::metadata(path.with_extension("db-wal")).unwrap().len(), 0);
        // Reads go on during the drain without holding the log.
        other.execute("INSERT INTO q VALUES (2)", []).unwrap();
        assert_eq!(count(&readers, "q"), 2);
        assert_eq!(truncate(), 0, "a read during the drain keeps no snapshot");
        drop(drain);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
