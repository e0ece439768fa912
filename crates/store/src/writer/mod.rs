//! SQLite writes in group commits, without a thread hop per statement (ADR 0026).
//!
//! One thread owns one read-write rusqlite connection to the database file and is the only
//! writer of the store's hot mutations (audit appends, people's inserts, updates and deletes).
//! A caller hands it a *unit*, a closure that runs that mutation's statements, and awaits the
//! answer. The thread takes every unit waiting when it wakes (up to [`MAX_BATCH`]) and runs them
//! in one `BEGIN IMMEDIATE … COMMIT`: one commit (and one WAL append) serves many requests, and
//! the writers queue here instead of sleeping in SQLite's busy handler.
//!
//! A batch first runs its units one after another with no savepoint between them, since nearly
//! every unit succeeds. A unit that fails ends that attempt: the transaction is rolled back, the
//! failed unit is answered with its error, and the batch runs again with each other unit inside a
//! savepoint of its own ([`run_unit`]), so that a unit that fails then is undone alone. A
//! savepoint keeps the original of every page its unit changes (SQLite's statement journal), and
//! a person's insert changes a score of pages: those copies were a tenth of the writer's time
//! under a stream of inserts (docs/benchmarks.md §4y). A unit can therefore run twice, the first
//! time in a transaction that is rolled back: units are `Fn`, their statements deterministic
//! given the database. After a batch in which a unit failed, the next batch starts with
//! savepoints, so that a stream of failing units costs no more than it did.
//!
//! One large change (an all-or-nothing import) is a transaction of its own instead, with no
//! savepoint ([`Writer::run_alone`]): a savepoint keeps the original of every page it changes
//! in the statement journal, which for an import into a large database is most of it.
//!
//! An erasure ([`Writer::run_erasing`]) is answered only once the log no longer holds its
//! pages: after the group commit that holds it, the thread copies the log into the database
//! and truncates it to nothing, once for every erasure of that commit. A batch that holds an
//! erasure waits briefly for more units before it commits, so erasures share truncations
//! ([`straggler`]).
//!
//! Invariants:
//! - A unit's answer arrives only after the transaction holding it has committed; if the
//!   commit fails, every unit of the batch gets the error and none of them is written.
//! - A unit that fails leaves nothing behind, and its neighbours still commit.
//! - What commits is one run of each unit: an attempt that a failing unit ended is rolled back
//!   whole before the batch runs again.
//! - Statements are prepared once per connection (`prepare_cached`), from the store's own SQL.
//! - The thread ends when the last handle is dropped, after finishing what was queued.

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::{Connection, OpenFlags};
use sejf_core::ports::StoreError;
use tokio::sync::oneshot;

use crate::reader::Readers;
use crate::{error, stmt};

mod checkpoint;
use checkpoint::{IDLE_TRUNCATE, checkpoints, restart, truncate};

/// The most units one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 256;

type Answer = Result<Box<dyn Any + Send>, StoreError>;
/// A unit of a group commit: it may run twice (see the module's doc).
type Unit = Box<dyn Fn(&Connection) -> Answer + Send>;
/// A unit that is a transaction of its own, run once.
type Once = Box<dyn FnOnce(&Connection) -> Answer + Send>;

struct Job {
    unit: Unit,
    reply: oneshot::Sender<Answer>,
    /// An erasure: answered after the log is truncated, if it answers `true` (it erased).
    erases: bool,
}

enum Msg {
    Unit(Job),
    /// A unit that is a transaction of its own, without a savepoint (an all-or-nothing import):
    /// what is queued before it commits first.
    Alone(Once, oneshot::Sender<Answer>),
    /// Commit what is queued, close the connection, then answer.
    Stop(oneshot::Sender<()>),
}

/// The handle of the writer thread; cloning the store shares it. Dropping the last handle
/// stops the thread and waits for it, so the connection is closed when the store is gone (a
/// restore may replace the file right after).
pub struct Writer {
    jobs: mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the database writer has stopped".to_owned())
}

impl Writer {
    /// Opens the connection (with the store's pragmas) and starts the thread. `readers`, the
    /// store's pool of readers of the same file, are asked to end the snapshots they keep
    /// before a checkpoint (ADR 0028).
    pub fn start(path: &Path, pragmas: &[&str], readers: Option<Arc<Readers>>) -> Result<Writer, StoreError> {
        let conn = open(path, pragmas)?;
        // Checkpoints in the commit path only when the checkpointer asks (see `checkpoints`).
        pragma(&conn, "PRAGMA wal_autocheckpoint=0")?;
        // A unit's savepoint (once a batch runs again after a failure) and a statement that may
        // abort keep the original of every page they change in a statement journal; in a
        // temporary file (SQLite's default past 64 KiB) that was a write per page
        // on this one thread, and page images on disk where `secure_delete` does not reach: for
        // a deletion, the page of the erased person's wrapped key. In memory it is neither
        // (docs/benchmarks.md §4g). The one change whose journal could grow to the database's
        // size, an all-or-nothing import, takes no savepoint (`run_alone`). The readers keep
        // the default: with theirs in memory too the server was no faster.
        pragma(&conn, "PRAGMA temp_store=MEMORY")?;
        // The log keeps its size when it restarts. The store's 64 MiB limit cut it back at every
        // restart under load (about once a second, from over 100 MB under a stream of inserts),
        // dropping those pages from the OS cache, and the writes that grew it again each
        // allocated a block: the commit that met the cut waited for it, a POST's p99 of 124–134
        // ms (docs/benchmarks.md §4r). The checkpointer cuts the log to nothing once writes have
        // paused instead ([`IDLE_TRUNCATE`]), and a clean stop does too.
        pragma(&conn, "PRAGMA journal_size_limit=-1")?;
        conn.set_prepared_statement_cache_capacity(64);
        let checkpointer = open(path, pragmas)?;
        let (jobs, queue) = mpsc::channel::<Msg>();
        let thread = std::thread::Builder::new()
            .name("sejf-sqlite-writer".into())
            .spawn(move || serve(conn, checkpointer, queue, readers))
            .map_err(|e| StoreError::Backend(format!("start the database writer: {e}")))?;
        Ok(Writer { jobs, thread: Some(thread) })
    }

    /// Commits what is queued and closes the connection; later writes fail.
    pub async fn stop(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Msg::Stop(done)).is_ok() {
            let _ = closed.await;
        }
    }

    /// Runs `unit` in the next group commit and answers once that has committed. `unit` may
    /// run twice, the first time in a transaction that is rolled back (see the module's doc).
    pub async fn run<T, F>(&self, unit: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.send(unit, false).await
    }

    /// Runs `unit`, an erasure that answers whether it erased anything, in the next group
    /// commit, and answers once that has committed and, if it erased, the log has been copied
    /// into the database and truncated to nothing. The log holds whole pages as they were
    /// written, so until then an erased person's wrapped key and ciphertexts would still sit in
    /// `sejf.db-wal` (the database file overwrites them: `secure_delete`). The erasures of one
    /// commit share one truncation. A truncation that fails (a reader kept the log past
    /// `TRUNCATE_WAIT`, 250 ms) is reported; the erasure stands, committed, and the next truncation (another
    /// erasure's, or the checkpointer's at shutdown) empties the log.
    pub async fn run_erasing<F>(&self, unit: F) -> Result<bool, StoreError>
    where
        F: Fn(&Connection) -> Result<bool, StoreError> + Send + 'static,
    {
        self.send(unit, true).await
    }

    /// Runs `unit` once, as a transaction of its own, never inside a savepoint: for one large
    /// change (an all-or-nothing import), which a group commit might run twice, and whose
    /// savepoint, once its batch ran again after a failure, would keep a copy of every page it
    /// changes in the statement journal. An error rolls the whole of it back.
    pub async fn run_alone<T, F>(&self, unit: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let unit: Once = Box::new(move |conn| unit(conn).map(|t| Box::new(t) as Box<dyn Any + Send>));
        self.jobs.send(Msg::Alone(unit, reply)).map_err(|_| stopped())?;
        downcast(answer.await)
    }

    async fn send<T, F>(&self, unit: F, erases: bool) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let unit: Unit = Box::new(move |conn| unit(conn).map(|t| Box::new(t) as Box<dyn Any + Send>));
        self.jobs.send(Msg::Unit(Job { unit, reply, erases })).map_err(|_| stopped())?;
        downcast(answer.await)
    }
}

/// The writer's answer as the type its caller asked for.
fn downcast<T: 'static>(answer: Result<Answer, oneshot::error::RecvError>) -> Result<T, StoreError> {
    let value = answer.map_err(|_| stopped())??;
    value.downcast::<T>().map(|t| *t).map_err(|_| StoreError::Backend("the database writer answered another type".into()))
}

fn ignore_no_rows(e: rusqlite::Error) -> rusqlite::Result<()> {
    match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(()),
        other => Err(other),
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let (done, _) = oneshot::channel();
        let _ = self.jobs.send(Msg::Stop(done));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A read-write connection with the store's pragmas.
fn open(path: &Path, pragmas: &[&str]) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(error::sync("open writer"))?;
    for p in pragmas {
        pragma(&conn, p)?;
    }
    Ok(conn)
}

/// Runs a pragma, whether or not it answers with a row (`journal_mode` and
/// `wal_autocheckpoint` do, `busy_timeout` does not).
fn pragma(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.query_row(sql, [], |_| Ok(())).or_else(ignore_no_rows).map_err(error::sync("open writer"))
}

fn serve(conn: Connection, checkpointer: Connection, queue: mpsc::Receiver<Msg>, readers: Option<Arc<Readers>>) {
    let (wrote, written) = mpsc::sync_channel::<()>(1);
    let due = Arc::new(AtomicBool::new(false));
    let asks = due.clone();
    let held = readers.clone();
    let checkpointer = std::thread::Builder::new()
        .name("sejf-sqlite-checkpoint".into())
        .spawn(move || checkpoints(checkpointer, written, &asks, held.as_deref(), IDLE_TRUNCATE));
    if let Err(e) = &checkpointer {
        tracing::error!(error = %e, "cannot start the checkpointer; the log grows until the server stops");
    }
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut stop = None;
    // A unit of the last batch failed: the next one runs with savepoints from the start.
    let mut failed = false;
    while stop.is_none() {
        let Ok(first) = queue.recv() else { break };
        let since = std::time::Instant::now();
        let mut next = Some(first);
        let mut alone = None;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Unit(job) => batch.push(job),
                Msg::Alone(unit, reply) => {
                    alone = Some((unit, reply));
                    break;
                }
                Msg::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = queue.try_recv().ok().or_else(|| straggler(&queue, &batch, since));
            }
        }
        let wrote_any = !batch.is_empty() || alone.is_some();
        if !batch.is_empty() {
            let erased;
            (erased, failed) = commit(&conn, &mut batch, failed);
            if !erased.is_empty() {
                match truncate(&conn, readers.as_deref()) {
                    Ok(0) => {}
                    Ok(_) => tracing::error!("write-ahead log not truncated after an erasure: readers kept it busy"),
                    Err(e) => tracing::error!(error = %e, "write-ahead log not truncated after an erasure"),
                }
                for (reply, answer) in erased {
                    let _ = reply.send(answer);
                }
            }
        }
        if let Some((unit, reply)) = alone {
            commit_alone(&conn, unit, reply);
        }
        if wrote_any {
            if due.load(Ordering::Relaxed) {
                // Between two commits nothing is appended, so this one can finish the log and
                // the next commit starts it again from the beginning. While the checkpointer is
                // at work this one is refused at once (busy): it is tried again after the next
                // commit, and otherwise when the checkpointer asks again.
                match restart(&conn, readers.as_deref()) {
                    Ok(0) => due.store(false, Ordering::Relaxed),
                    Ok(_) => {}
                    Err(e) => {
                        due.store(false, Ordering::Relaxed);
                        tracing::warn!(error = %e, "write-ahead log checkpoint failed; the next one will retry");
                    }
                }
            }
            let _ = wrote.try_send(());
        }
    }
    drop(wrote);
    if let Ok(thread) = checkpointer {
        let _ = thread.join();
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the database writer's connection failed");
    }
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

/// How long a batch that erases waits for one more unit, and in all (see [`straggler`]).
const STRAGGLER_WAIT: std::time::Duration = std::time::Duration::from_micros(500);
const GATHER_AT_MOST: std::time::Duration = std::time::Duration::from_millis(2);

/// The next unit for a batch that holds an erasure, if one comes within [`STRAGGLER_WAIT`] (and
/// [`GATHER_AT_MOST`] of the batch's first unit). Such a batch ends in a truncation of the log,
/// a copy of it into the database and two syncs, which every unit of the batch shares; callers
/// answered by one truncation come back together, a little apart, and taken as they come they
/// split into several batches that each pay for a truncation and wait for the others' (a convoy:
/// 32 clients erasing ran in batches of about 8, each waiting out four truncations; §4p).
/// Batches without an erasure never wait.
fn straggler(queue: &mpsc::Receiver<Msg>, batch: &[Job], since: std::time::Instant) -> Option<Msg> {
    if !batch.iter().any(|job| job.erases) {
        return None;
    }
    let left = GATHER_AT_MOST.checked_sub(since.elapsed())?;
    queue.recv_timeout(left.min(STRAGGLER_WAIT)).ok()
}

/// Runs one statement without parameters (transaction control) through the statement cache.
fn exec(conn: &Connection, sql: &str, context: &'static str) -> Result<(), StoreError> {
    stmt::execute(conn, sql, &[], context).map(|_| ())
}

/// Runs `batch` in one transaction and answers every unit: each unit's own answer if the
/// transaction committed, the commit's error otherwise. The answers of committed erasures that
/// erased are returned instead, to be sent once the log is truncated, with whether a unit failed.
///
/// Unless `guarded` (a unit of the last batch failed), the units first run without savepoints
/// ([`attempt`]); one that fails there is answered at once, and the others run again, each in a
/// savepoint of its own.
fn commit(conn: &Connection, batch: &mut Vec<Job>, guarded: bool) -> (Vec<(oneshot::Sender<Answer>, Answer)>, bool) {
    let mut failed = false;
    if !guarded {
        match attempt(conn, batch) {
            Attempt::Committed(answers) => return (answer(Ok(()), batch.drain(..).zip(answers).collect()), false),
            Attempt::CommitFailed(e) => {
                tracing::error!(error = %e, units = batch.len(), "group commit failed; no unit of it was written");
                let answers = batch.drain(..).map(|job| (job, Err(e.clone()))).collect();
                return (answer(Err(e), answers), false);
            }
            Attempt::UnitFailed(at, error) => {
                let job = batch.remove(at);
                let _ = job.reply.send(Err(error));
                failed = true;
            }
        }
        if batch.is_empty() {
            return (Vec::new(), failed);
        }
    }
    let mut answers: Vec<(Job, Answer)> = Vec::with_capacity(batch.len());
    let committed = exec(conn, "BEGIN IMMEDIATE", "begin group commit").and_then(|()| {
        for job in batch.drain(..) {
            let answer = run_unit(conn, &job.unit)?;
            failed |= answer.is_err();
            answers.push((job, answer));
        }
        exec(conn, "COMMIT", "group commit")
    });
    if let Err(e) = &committed {
        // The transaction may still be open (a savepoint that could not be released, SQLITE_BUSY
        // on COMMIT): end it so that no unit of it is written and the next batch starts clean.
        // If it is already gone this fails harmlessly.
        let _ = conn.execute_batch("ROLLBACK");
        tracing::error!(error = %e, units = answers.len() + batch.len(), "group commit failed; no unit of it was written");
        // Units a failed transaction never reached (none when it committed).
        answers.extend(batch.drain(..).map(|job| (job, Err(e.clone()))));
    }
    (answer(committed, answers), failed)
}

/// How a batch's run without savepoints ended.
enum Attempt {
    /// Committed: every unit's answer, in order.
    Committed(Vec<Answer>),
    /// Every unit succeeded but the commit failed: nothing was written.
    CommitFailed(StoreError),
    /// The unit at this place failed (its error): the transaction was rolled back.
    UnitFailed(usize, StoreError),
}

/// Runs every unit of `batch` in one transaction without savepoints and commits it if all of
/// them succeed; the first that fails rolls the whole of it back.
fn attempt(conn: &Connection, batch: &[Job]) -> Attempt {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE", "begin group commit") {
        return Attempt::CommitFailed(e);
    }
    let mut answers = Vec::with_capacity(batch.len());
    for (at, job) in batch.iter().enumerate() {
        match call(conn, &job.unit) {
            Ok(value) => answers.push(Ok(value)),
            Err(e) => {
                // Whatever the unit changed goes with the rest; if the transaction is already
                // gone (an error SQLite rolls back itself) this fails harmlessly.
                let _ = conn.execute_batch("ROLLBACK");
                return Attempt::UnitFailed(at, e);
            }
        }
    }
    match exec(conn, "COMMIT", "group commit") {
        Ok(()) => Attempt::Committed(answers),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Attempt::CommitFailed(e)
        }
    }
}

/// Sends each unit's answer once its transaction has `committed` (the commit's error instead
/// to a unit that succeeded in a transaction that did not), and returns the answers of
/// committed erasures that erased, to be sent once the log is truncated.
fn answer(committed: Result<(), StoreError>, answers: Vec<(Job, Answer)>) -> Vec<(oneshot::Sender<Answer>, Answer)> {
    let mut erased = Vec::new();
    for (job, answer) in answers {
        let answer = match &committed {
            Ok(()) if job.erases && answer.as_ref().is_ok_and(|a| a.downcast_ref::<bool>() == Some(&true)) => {
                erased.push((job.reply, answer));
                continue;
            }
            Err(e) if answer.is_ok() => Err(e.clone()),
            _ => answer,
        };
        let _ = job.reply.send(answer);
    }
    erased
}

/// A unit as a transaction of its own (see [`Writer::run_alone`]): committed if it answers
/// `Ok`, rolled back otherwise; its answer is sent only after that.
fn commit_alone(conn: &Connection, unit: Once, reply: oneshot::Sender<Answer>) {
    let answer = exec(conn, "BEGIN IMMEDIATE", "begin").and_then(|()| match call(conn, unit) {
        Ok(value) => exec(conn, "COMMIT", "commit").map(|()| value),
        Err(e) => {
            exec(conn, "ROLLBACK", "rollback")?;
            Err(e)
        }
    });
    if answer.is_err() {
        // Whatever failed (the unit, the commit), nothing of it stays: the next batch starts
        // clean. If the transaction is already gone this fails harmlessly.
        let _ = conn.execute_batch("ROLLBACK");
    }
    let _ = reply.send(answer);
}

/// Runs a unit; a panic in it is an error answer (the caller rolls its writes back), not the end
/// of the writer thread.
fn call(conn: &Connection, unit: impl FnOnce(&Connection) -> Answer) -> Answer {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unit(conn))).unwrap_or_else(|_| Err(crate::error::panicked()))
}

/// One unit inside a savepoint of its own: a unit that fails or panics is rolled back alone.
/// The outer error means the savepoint itself failed, and with it the whole transaction (the
/// unit's writes could otherwise be committed under an error answer, or the reverse).
fn run_unit(conn: &Connection, unit: &Unit) -> Result<Answer, StoreError> {
    exec(conn, "SAVEPOINT unit", "savepoint")?;
    let answer = call(conn, unit);
    if answer.is_err() {
        exec(conn, "ROLLBACK TO unit", "savepoint")?;
    }
    exec(conn, "RELEASE unit", "savepoint")?;
    Ok(answer)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::Writer;
    use sejf_core::ports::StoreError;

    pub(super) fn temp() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sejf-writer-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (n INTEGER PRIMARY KEY)").unwrap();
        path
    }

    /// A queued unit, and whether it erases.
    fn job(erases: bool) -> super::Job {
        let (reply, _) = tokio::sync::oneshot::channel();
        super::Job { unit: Box::new(|_| Ok(Box::new(()) as Box<dyn std::any::Any + Send>)), reply, erases }
    }

    #[test]
    fn only_a_batch_that_erases_waits_for_more_units_and_not_for_long() {
        let (jobs, queue) = std::sync::mpsc::channel();
        let now = std::time::Instant::now();
        jobs.send(super::Msg::Unit(job(false))).unwrap();
        // A batch without an erasure commits at once, whatever comes next.
        assert!(super::straggler(&queue, &[job(false), job(false)], now).is_none());
        // One with an erasure takes what comes...
        assert!(super::straggler(&queue, &[job(false), job(true)], now).is_some());
        // ...but not past the gathering's bound.
        jobs.send(super::Msg::Unit(job(true))).unwrap();
        let long_ago = now.checked_sub(super::GATHER_AT_MOST).unwrap();
        assert!(super::straggler(&queue, &[job(true)], long_ago).is_none());
        assert!(super::straggler(&queue, &[job(true)], now).is_some(), "the unit waited for the next batch");
    }

    /// A batch of units that each insert their number and count their runs; `fails` writes
    /// its row and then fails.
    fn counted(
        ns: &[i64],
        fails: i64,
    ) -> (Vec<super::Job>, Vec<tokio::sync::oneshot::Receiver<super::Answer>>, Vec<std::sync::Arc<std::sync::atomic::AtomicUsize>>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (mut batch, mut answers, mut runs) = (Vec::new(), Vec::new(), Vec::new());
        for &n in ns {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let ran = std::sync::Arc::new(AtomicUsize::new(0));
            let counter = ran.clone();
            let unit: super::Unit = Box::new(move |c: &rusqlite::Connection| {
                counter.fetch_add(1, Ordering::SeqCst);
                c.execute("INSERT INTO t (n) VALUES (?1)", [n]).map_err(crate::error::sync("t"))?;
                if n == fails {
                    return Err(StoreError::Conflict("fails".into()));
                }
                Ok(Box::new(n) as Box<dyn std::any::Any + Send>)
            });
            batch.push(super::Job { unit, reply, erases: false });
            answers.push(answer);
            runs.push(ran);
        }
        (batch, answers, runs)
    }

    fn runs(counters: &[std::sync::Arc<std::sync::atomic::AtomicUsize>]) -> Vec<usize> {
        counters.iter().map(|c| c.load(std::sync::atomic::Ordering::SeqCst)).collect()
    }

    fn answered(answers: Vec<tokio::sync::oneshot::Receiver<super::Answer>>) -> Vec<Result<i64, String>> {
        answers.into_iter().map(|mut a| a.try_recv().unwrap().map(|v| *v.downcast::<i64>().unwrap()).map_err(|e| e.to_string())).collect()
    }

    #[test]
    fn a_batch_runs_once_without_savepoints_and_again_with_them_after_a_unit_fails() {
        let path = temp();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let rows = |c: &rusqlite::Connection| -> Vec<i64> {
            let mut s = c.prepare("SELECT n FROM t ORDER BY n").unwrap();
            s.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };

        // Nothing fails: each unit runs once, and the batch commits.
        let (mut batch, answers, counters) = counted(&[1, 2, 3], 0);
        let (erased, failed) = super::commit(&conn, &mut batch, false);
        assert!(erased.is_empty() && !failed);
        assert_eq!(runs(&counters), [1, 1, 1]);
        assert_eq!(answered(answers), [Ok(1), Ok(2), Ok(3)]);
        assert_eq!(rows(&conn), [1, 2, 3]);

        // The third of four fails after writing its row: the attempt is rolled back, the failed
        // unit is answered with its error and not run again, the others run again in savepoints
        // (the two before it a second time) and commit; none of the failed unit's rows stays.
        let (mut batch, answers, counters) = counted(&[10, 11, 12, 13], 12);
        let (_, failed) = super::commit(&conn, &mut batch, false);
        assert!(failed, "the next batch is told to start with savepoints");
        assert_eq!(runs(&counters), [2, 2, 1, 1]);
        let answers = answered(answers);
        assert_eq!(answers[..2], [Ok(10), Ok(11)]);
        assert!(answers[2].as_ref().is_err_and(|e| e.contains("fails")), "{answers:?}");
        assert_eq!(answers[3], Ok(13));
        assert_eq!(rows(&conn), [1, 2, 3, 10, 11, 13]);

        // A guarded batch starts with savepoints: every unit runs once, the failing one is undone
        // alone.
        let (mut batch, answers, counters) = counted(&[20, 21, 22], 21);
        let (_, failed) = super::commit(&conn, &mut batch, true);
        assert!(failed);
        assert_eq!(runs(&counters), [1, 1, 1]);
        assert!(answered(answers)[1].is_err());
        assert_eq!(rows(&conn), [1, 2, 3, 10, 11, 13, 20, 22]);
        assert!(conn.is_autocommit(), "no transaction is left open");
        drop(conn);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// A statement that fails rather than aborts (`INSERT OR FAIL`, no statement journal) keeps
    /// the rows it wrote before the failing one; the unit's rollback still takes them away, with
    /// or without savepoints.
    #[test]
    fn a_failed_statement_keeps_none_of_its_rows() {
        let path = temp();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
        for guarded in [false, true] {
            let (reply, mut answer) = tokio::sync::oneshot::channel();
            let unit: super::Unit = Box::new(|c: &rusqlite::Connection| {
                c.execute("INSERT OR FAIL INTO t (n) VALUES (100), (101), (1), (102)", []).map_err(crate::error::sync("t"))?;
                Ok(Box::new(()) as Box<dyn std::any::Any + Send>)
            });
            let mut batch = vec![super::Job { unit, reply, erases: false }];
            let (_, failed) = super::commit(&conn, &mut batch, guarded);
            assert!(failed && matches!(answer.try_recv().unwrap(), Err(StoreError::Conflict(_))));
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(n, 1, "rows 100 and 101 went with the unit (guarded: {guarded})");
        }
        drop(conn);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    pub(super) fn count(path: &std::path::Path) -> i64 {
        rusqlite::Connection::open(path).unwrap().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_units_commit_together_and_a_failing_one_alone_is_undone() {
        let path = temp();
        let writer = std::sync::Arc::new(Writer::start(&path, &["PRAGMA busy_timeout=5000"], None).unwrap());
        let mut tasks = Vec::new();
        for n in 0..200i64 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                w.run(move |c| {
                    // Unit 7 writes a row, then fails: its row must not stay.
                    c.execute("INSERT INTO t (n) VALUES (?1)", [if n == 7 { 1000 } else { n }]).map_err(crate::error::sync("t"))?;
                    if n == 7 {
                        return Err(StoreError::Conflict("seven".into()));
                    }
                    Ok(n)
                })
                .await
            }));
        }
        let mut failed = 0;
        for (n, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(got) => assert_eq!(got, n as i64),
                Err(StoreError::Conflict(_)) => failed += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(failed, 1);
        assert_eq!(count(&path), 199, "every unit but the failing one is written");
        // A duplicate key is a conflict, and the writer goes on.
        let dup = writer.run(|c| c.execute("INSERT INTO t (n) VALUES (1)", []).map_err(crate::error::sync("t"))).await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        writer.run(|c| c.execute("INSERT INTO t (n) VALUES (5000)", []).map_err(crate::error::sync("t"))).await.unwrap();
        assert_eq!(count(&path), 200);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_unit_alone_is_all_or_nothing_and_units_queued_before_it_commit() {
        let path = temp();
        let writer = std::sync::Arc::new(Writer::start(&path, &["PRAGMA busy_timeout=5000"], None).unwrap());
        let queued = {
            let w = writer.clone();
            tokio::spawn(async move { w.run(|c| c.execute("INSERT INTO t (n) VALUES (1)", []).map_err(crate::error::sync("t"))).await })
        };
        // 5,000 rows, then what `end` answers.
        let large = |end: fn() -> Result<i64, StoreError>| {
            move |c: &rusqlite::Connection| {
                for n in 100..5100i64 {
                    c.execute("INSERT INTO t (n) VALUES (?1)", [n]).map_err(crate::error::sync("t"))?;
                }
                end()
            }
        };
        // A large unit alone that fails at its end leaves none of its rows.
        let failed = writer.run_alone(large(|| Err(StoreError::Backend("stopped before its end".into())))).await;
        assert!(failed.is_err());
        queued.await.unwrap().unwrap();
        assert_eq!(count(&path), 1, "the unit queued before is written, the failed one is not");
        let n = writer.run_alone(large(|| Ok(5000))).await.unwrap();
        assert_eq!((n, count(&path)), (5000, 5001));
        // And the group commits go on after it.
        writer.run(|c| c.execute("INSERT INTO t (n) VALUES (2)", []).map_err(crate::error::sync("t"))).await.unwrap();
        assert_eq!(count(&path), 5002);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_erasure_is_answered_once_the_log_is_empty_and_a_miss_leaves_it() {
        let path = temp();
        let wal = path.with_extension("db-wal");
        let log = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let writer = std::sync::Arc::new(Writer::start(&path, &["PRAGMA busy_timeout=5000"], None).unwrap());
        let insert =
            |n: i64| move |c: &rusqlite::Connection| c.execute("INSERT INTO t (n) VALUES (?1)", [n]).map_err(crate::error::sync("t"));
        let erase =
            |n: i64| move |c: &rusqlite::Connection| Ok(c.execute("DELETE FROM t WHERE n = ?1", [n]).map_err(crate::error::sync("t"))? > 0);
        for n in 0..20 {
            writer.run(insert(n)).await.unwrap();
        }
        assert!(log() > 0, "the writes are in the log");
        // An erasure that finds nothing answers false and leaves the log as it is.
        assert!(!writer.run_erasing(erase(99)).await.unwrap());
        assert!(log() > 0);
        // One that erased answers once the log is empty.
        assert!(writer.run_erasing(erase(3)).await.unwrap());
        assert_eq!(log(), 0, "the erased row's page left the log before the answer");
        // Erasures and other writes at once: every one is answered and written.
        let tasks: Vec<_> = (0..10i64)
            .map(|n| {
                let w = writer.clone();
                tokio::spawn(async move {
                    if n % 2 == 0 { w.run_erasing(erase(n + 4)).await } else { w.run(insert(100 + n)).await.map(|_| true) }
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap());
        }
        assert_eq!(count(&path), 20 - 1 - 5 + 5);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_panicking_unit_is_rolled_back_and_the_writer_goes_on() {
        let path = temp();
        let writer = Writer::start(&path, &[], None).unwrap();
        let r: Result<(), _> = writer
            .run(|c| {
                c.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
                panic!("boom")
            })
            .await;
        assert!(r.is_err());
        writer.run(|c| c.execute("INSERT INTO t (n) VALUES (2)", []).map_err(crate::error::sync("t"))).await.unwrap();
        assert_eq!(count(&path), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
