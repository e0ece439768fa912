//! The writer's checkpoints: copying the write-ahead log into the database off the commit path,
//! restarting it between two commits once it is long, and cutting it to nothing after an
//! erasure or once writes pause (ADR 0026, amended; docs/benchmarks.md §4r).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;

use crate::reader::Readers;

/// A log this long (in pages, about 40 MB) is finished by the writer itself, between two
/// commits, so that it restarts (the store's `wal_autocheckpoint`).
const RESTART_FRAMES: i64 = 10_000;

/// How often, at most, the log is copied into the database while writes come in.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The checkpointer: after writes, at most once per [`CHECKPOINT_EVERY`], a `PASSIVE`
/// checkpoint on a connection of its own copies committed pages from the log into the database
/// (and syncs it) while the writer goes on committing: a passive checkpoint takes no write lock.
/// It cannot finish the log while commits keep coming, and only a finished log starts again from
/// its beginning (measured: with this thread alone, the log passed 3 GB in a minute of load). So
/// once the log is [`RESTART_FRAMES`] long it copies what came in meanwhile ([`catch_up`]), sets
/// `due`, and the writer runs one more checkpoint between two commits: short, because nearly
/// everything is copied already. SQLite's own automatic checkpoint would instead run after every
/// commit once the log is that long, syncing the database inside the commit path each time
/// (measured: p99 of 53 ms for a GET).
///
/// Before each, the readers end the snapshots they kept idle for longer than their
/// `MAX_AGE`: a snapshot pins the log, and a checkpoint copies it only up to the oldest one.
///
/// Once writes have paused for `idle` ([`IDLE_TRUNCATE`]), it cuts the log to nothing
/// ([`truncate`]): the writer's log keeps its size across restarts, so a burst of writes would
/// otherwise leave its size on disk until the server stops.
pub(super) fn checkpoints(
    conn: Connection,
    wrote: mpsc::Receiver<()>,
    due: &AtomicBool,
    readers: Option<&Readers>,
    idle: std::time::Duration,
) {
    let mut last: Option<std::time::Instant> = None;
    // Written to since the log was last cut.
    let mut grown = false;
    'writes: loop {
        let next = if grown { wrote.recv_timeout(idle) } else { wrote.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected) };
        match next {
            Ok(()) => grown = true,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Not emptied (a long read, such as a backup's): tried again after another pause.
                match truncate(&conn, readers) {
                    Ok(0) => grown = false,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cutting the write-ahead log failed; the next pause will retry"),
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Not more often than CHECKPOINT_EVERY; a stop (the sender gone) ends the wait at once.
        if let Some(deadline) = last.map(|at| at + CHECKPOINT_EVERY) {
            while let Some(wait) = deadline.checked_duration_since(std::time::Instant::now()) {
                if let Err(mpsc::RecvTimeoutError::Disconnected) = wrote.recv_timeout(wait) {
                    break 'writes;
                }
            }
        }
        last = Some(std::time::Instant::now());
        if let Some(r) = readers {
            r.release_old();
        }
        match passive(&conn) {
            Ok((frames, copied)) if frames >= RESTART_FRAMES => {
                catch_up(&conn, copied);
                due.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "write-ahead log checkpoint failed; the next one will retry"),
        }
    }
    // A last one that also cuts the log to nothing when no reader is in it, so a clean stop
    // (the end of an import, whose one transaction grew the log to its own size) leaves no
    // large log behind.
    let drain = readers.map(Readers::drain);
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    drop(drain);
    let _ = conn.close();
}

/// A `PASSIVE` checkpoint: the log's length in pages when it started, and how many of them are
/// in the database now.
fn passive(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))
}

/// At most this many pages of the log are left for the writer's restart to copy.
const RESTART_BACKLOG: i64 = 1_000;
/// How many more passive checkpoints a long log gets before the restart is asked for.
const CATCH_UP_ROUNDS: usize = 4;

/// More passive checkpoints after one that left the log in the database up to page `copied`,
/// each copying what came in during the one before, until one copies at most
/// [`RESTART_BACKLOG`] pages (or [`CATCH_UP_ROUNDS`] have run). The restart runs in the writer,
/// between two commits, and copies whatever the checkpointer has not: a log of 40,000–50,000
/// pages took the passive checkpoint 160 ms, a stream of inserts added thousands of pages
/// meanwhile, and the restart that copied and synced them held every write up for 55–81 ms
/// (docs/benchmarks.md §4r). Answers how many rounds ran.
fn catch_up(conn: &Connection, mut copied: i64) -> usize {
    for round in 1..=CATCH_UP_ROUNDS {
        match passive(conn) {
            Ok((_, now)) if now - copied > RESTART_BACKLOG => copied = now,
            _ => return round,
        }
    }
    CATCH_UP_ROUNDS
}

/// How long writes pause before the checkpointer cuts the log to nothing.
pub(super) const IDLE_TRUNCATE: std::time::Duration = std::time::Duration::from_secs(5);

/// A `RESTART` checkpoint: it finishes the log and waits until every reader has left it, so
/// the next commit writes the log from its beginning; it waits at most 20 ms (a
/// long read, such as a backup's, would otherwise hold up every write), and answers 1 when it
/// gave up. The readers keep no snapshot meanwhile (ADR 0028): one kept would make it wait out
/// its 20 ms and give up after every commit.
pub(super) fn restart(conn: &Connection, readers: Option<&Readers>) -> rusqlite::Result<i64> {
    let _drain = readers.map(Readers::drain);
    checkpoint(conn, "PRAGMA wal_checkpoint(RESTART)", "PRAGMA busy_timeout=20")
}

/// Copies the log into the database and truncates it to nothing (after an erasure, see
/// [`super::Writer::run_erasing`], and once writes pause, see [`checkpoints`]), waiting up to
/// [`TRUNCATE_WAIT`] for the readers in it and for the other connection; no reader keeps a
/// snapshot meanwhile (ADR 0028). Answers 1 when it gave up (busy).
pub(super) fn truncate(conn: &Connection, readers: Option<&Readers>) -> rusqlite::Result<i64> {
    let _drain = readers.map(Readers::drain);
    checkpoint(conn, "PRAGMA wal_checkpoint(TRUNCATE)", TRUNCATE_WAIT)
}

/// How long a truncation waits for readers to leave the log and for the other connection
/// (every write waits meanwhile; a backup's long read would otherwise hold them all up for the
/// busy timeout).
const TRUNCATE_WAIT: &str = "PRAGMA busy_timeout=250";

/// Runs a checkpoint `sql` waiting at most `wait` (a `busy_timeout` pragma) for what holds
/// the log, and answers its first column: 1 when it gave up (busy).
fn checkpoint(conn: &Connection, sql: &str, wait: &str) -> rusqlite::Result<i64> {
    conn.execute_batch(wait)?;
    let busy = conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    conn.execute_batch(crate::BUSY_TIMEOUT)?;
    busy
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::tests::{count, temp};

    /// The readers keep their snapshots between reads (ADR 0028); the log still restarts,
    /// because a restart drains them first.
    #[test]
    fn the_log_restarts_while_readers_keep_snapshots() {
        let path = temp();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE data_generation (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO data_generation VALUES (1, 0)",
        )
        .unwrap();
        let readers = crate::reader::Readers::new(&path);
        let read =
            || readers.run(|r| r.query_row("SELECT COUNT(*) FROM t", [], |row| row.get::<_, i64>(0)).map_err(crate::error::sync("t")));
        assert_eq!(read().unwrap(), 0);
        c.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
        assert_eq!(super::restart(&c, None).unwrap(), 1, "a kept snapshot holds the log");
        assert_eq!(super::restart(&c, Some(&readers)).unwrap(), 0, "drained, the log restarts");
        assert_eq!(read().unwrap(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// The checkpointer leaves the log alone while writes come, and cuts it to nothing once they
    /// have paused for its idle time.
    #[test]
    fn the_checkpointer_cuts_the_log_once_writes_pause() {
        use std::time::{Duration, Instant};
        let path = temp();
        let wal = path.with_extension("db-wal");
        let log = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
        let (wrote, written) = std::sync::mpsc::sync_channel(1);
        let due = std::sync::atomic::AtomicBool::new(false);
        let checkpointer = rusqlite::Connection::open(&path).unwrap();
        let idle = Duration::from_secs(1);
        std::thread::scope(|s| {
            let thread = s.spawn(|| super::checkpoints(checkpointer, written, &due, None, idle));
            // Writes every 50 ms for a second and a half: the log only grows.
            let mut size = 0;
            for n in 0..30i64 {
                c.execute("INSERT INTO t (n) VALUES (?1)", [n]).unwrap();
                let _ = wrote.try_send(());
                assert!(log() >= size, "the log was cut while writes came");
                size = log();
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(size > 0);
            // Then a pause: cut within the checkpointer's second between checkpoints plus its idle time.
            let deadline = Instant::now() + Duration::from_secs(10);
            while log() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert_eq!(log(), 0, "the log is cut once writes pause");
            drop(wrote);
            thread.join().unwrap();
        });
        assert_eq!(count(&path), 30, "every write is in the database");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// A long log gets more passive checkpoints before the writer's restart is asked for: the
    /// next round copies what the one before left, and the rounds stop once one copies little.
    #[test]
    fn a_long_log_is_caught_up_before_the_restart() {
        let path = temp();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
        for n in 0..3_000i64 {
            c.execute("INSERT INTO t (n) VALUES (?1)", [n]).unwrap();
        }
        let checkpointer = rusqlite::Connection::open(&path).unwrap();
        let log = std::fs::metadata(path.with_extension("db-wal")).unwrap().len();
        assert!(log > super::RESTART_BACKLOG as u64 * 4096, "a log of {log} bytes");
        // The first round copies the whole log, more than the backlog, so a second one runs and copies nothing.
        assert_eq!(super::catch_up(&checkpointer, 0), 2);
        let (frames, copied) = super::passive(&checkpointer).unwrap();
        assert_eq!(copied, frames, "the log is in the database");
        // A log already copied: one round.
        assert_eq!(super::catch_up(&checkpointer, copied), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
