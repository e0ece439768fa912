//! PostgreSQL writes in group commits (ADR 0031).
//!
//! A change that writes audit events numbers them from the `audit_head` row, whose lock it takes
//! with its append and holds until its commit is durable (`audit::commit_with`): on every server
//! sharing the database such changes commit one after another, each waiting out the commit
//! before it, and the sessions queued on the row wake in turn: a server wrote 650–1,100 changes
//! a second however many clients asked (docs/benchmarks.md §4q, §4s). Here a server's
//! concurrent changes share one transaction, one append and one flush, as the SQLite writer's
//! units share one commit: a task gathers the units waiting (up to [`MAX_BATCH`]) and runs them on
//! one connection, each inside a savepoint of its own, then appends all their events with the
//! commit. At most [`LANES`] batches are in flight, so one gathers and runs its statements while
//! another waits for its flush. The task, its batches and their [`LANES`] connections live on a
//! thread and a runtime of their own ([`Group::start`]).
//!
//! Invariants (the SQLite writer's):
//! - A unit's answer arrives only after the transaction holding it has committed; if the commit
//!   fails, every unit of the batch that wrote gets the error, and none of them is written.
//! - A unit that fails, panics, or is void (answers false), is rolled back to its savepoint
//!   alone: its neighbours still commit, and it leaves nothing behind, its audit events included.
//! - A unit alone in its batch runs without a savepoint: a quiet server pays no round trip more
//!   than before.
//! - The task ends when the last handle is dropped; [`Group::stop`] waits for what is queued,
//!   and answers once the group's own connections are closed.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sejf_core::ports::{AuditEvent, StoreError};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{Backend, error};

/// The transaction a unit's statements run in.
pub(crate) type Tx = Transaction<'static, Any>;

/// A unit's statements: true when it wrote, false when it is void (a stale version, a record
/// that does not exist), and then it is rolled back.
pub(crate) type Work = Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<bool, StoreError>> + Send>;

/// Boxes a unit's statements (a closure that borrows the transaction in the future it answers).
pub(crate) fn work<F>(f: F) -> Work
where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<bool, StoreError>> + Send + 'static,
{
    Box::new(f)
}

/// The most units one transaction takes; more wait for the next one. Each unit of a batch is a
/// subtransaction, and PostgreSQL keeps only 64 of a transaction's subtransaction ids where
/// every other session's snapshot finds them; past that, snapshots look them up on disk.
const MAX_BATCH: usize = 32;

/// Batches in flight at once, each on a pooled connection of its own.
const LANES: usize = 2;

const SAVEPOINT: &str = "SAVEPOINT unit";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT unit";

type Answer = Result<bool, StoreError>;

struct Unit {
    work: Work,
    audit: Vec<AuditEvent>,
    reply: oneshot::Sender<Answer>,
}

enum Msg {
    Unit(Unit),
    /// Commit what is queued before it, then answer.
    Stop(oneshot::Sender<()>),
}

/// The handle of the gathering task; cloning the store shares it.
pub(crate) struct Group {
    queue: mpsc::UnboundedSender<Msg>,
}

fn lost() -> StoreError {
    StoreError::Backend("group commit: the change's batch ended without an answer (the server stopped, or the batch failed)".into())
}

impl Group {
    /// Starts the gathering task on a thread of its own, in a runtime of its own, with a pool of
    /// [`LANES`] connections to `url` made there. On the server's runtime a batch's next
    /// statement waited for a worker to come back to the I/O driver and then to the batch's
    /// task, behind the requests' tasks: a batch's connection spent 72 % of its time waiting for
    /// the next statement (docs/benchmarks.md §4u). On its own thread the lane's wake-up is the
    /// kernel's.
    pub(crate) fn start(url: &str) -> Result<Group, StoreError> {
        let (queue, jobs) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("group commit: cannot start its runtime: {e}")))?;
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("sejf-group".into())
            .spawn(move || runtime.block_on(serve(url, jobs)))
            .map_err(|e| StoreError::Backend(format!("group commit: cannot start its thread: {e}")))?;
        Ok(Group { queue })
    }

    /// Runs `work` in the next batch and, if it wrote, `audit` with it; answers once the batch
    /// has committed (or with the error that kept it from committing).
    pub(crate) async fn run(&self, work: Work, audit: Vec<AuditEvent>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Msg::Unit(Unit { work, audit, reply })).map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }

    /// Commits what is queued, waits for every batch in flight, then answers.
    pub(crate) async fn stop(&self) {
        let (done, finished) = oneshot::channel();
        if self.queue.send(Msg::Stop(done)).is_ok() {
            let _ = finished.await;
        }
    }
}

/// The group's thread: gathers batches until stopped or until every handle is gone, then
/// closes its connections, and only then answers a stop (a database can be dropped after it).
async fn serve(url: String, jobs: mpsc::UnboundedReceiver<Msg>) {
    let pool = match crate::pool_options(Backend::Postgres, LANES as u32).connect_lazy(&url) {
        Ok(pool) => pool,
        Err(e) => {
            // The store's own pool has just connected with this URL; if this fails anyway, the
            // queue closes and every change is answered with an error.
            tracing::error!(error = %error::connect(e), "group commit: no connections");
            return;
        }
    };
    let stop = gather(&pool, jobs).await;
    pool.close().await;
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

/// Runs batches until a stop (returned, to be answered) or until the queue closes.
async fn gather(pool: &AnyPool, mut jobs: mpsc::UnboundedReceiver<Msg>) -> Option<oneshot::Sender<()>> {
    let lanes = Arc::new(Semaphore::new(LANES));
    let mut stop = None;
    while stop.is_none() {
        let Some(first) = jobs.recv().await else { break };
        let mut batch = match first {
            Msg::Unit(unit) => vec![unit],
            Msg::Stop(done) => {
                stop = Some(done);
                break;
            }
        };
        // The batch closes once a lane is free: what arrives while every lane is busy joins it.
        let Ok(lane) = lanes.clone().acquire_owned().await else { break };
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Msg::Unit(unit)) => batch.push(unit),
                Ok(Msg::Stop(done)) => {
                    stop = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            commit(&pool, batch).await;
            drop(lane);
        });
    }
    // Every batch in flight ends before the stop is answered.
    let _ = lanes.acquire_many(LANES as u32).await;
    stop
}

/// Runs one batch in one transaction and answers its units.
async fn commit(pool: &AnyPool, batch: Vec<Unit>) {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail(batch.into_iter().map(|u| u.reply), &error::db("begin transaction")(e)),
    };
    let alone = batch.len() == 1;
    let mut events = Vec::new();
    let mut wrote = Vec::new();
    let mut units = batch.into_iter();
    while let Some(unit) = units.next() {
        match run_unit(&mut tx, unit.work, alone).await {
            Ok(Ok(true)) => {
                events.extend(unit.audit);
                wrote.push(unit.reply);
            }
            Ok(void_or_failed) => drop(unit.reply.send(void_or_failed)),
            Err(lost) => return fail(std::iter::once(unit.reply).chain(units.map(|u| u.reply)).chain(wrote), &lost),
        }
    }
    if wrote.is_empty() {
        if let Err(e) = tx.rollback().await {
            tracing::debug!(error = %error::db("group commit")(e), "rolling back a batch that wrote nothing failed");
        }
        return;
    }
    let done = crate::audit::commit_with(tx, Backend::Postgres, &events, "group commit").await;
    wrote.into_iter().for_each(|reply| drop(reply.send(done.clone().map(|()| true))));
}

/// Runs one unit, inside a savepoint unless it is alone, and goes back to the savepoint if the
/// unit is void, fails or panics (alone, its transaction is rolled back whole by [`commit`]).
/// Err when the savepoint could not be set or gone back to (a unit that panicked inside the
/// driver may leave its connection so): the connection is lost, and nothing of the batch can
/// commit.
async fn run_unit(tx: &mut Tx, work: Work, alone: bool) -> Result<Answer, StoreError> {
    if !alone {
        statement(tx, SAVEPOINT).await?;
    }
    // A panic would otherwise end the batch's task and drop every neighbour's answer with it.
    let answer = AssertUnwindSafe(work(tx)).catch_unwind().await.unwrap_or_else(|_| Err(error::panicked()));
    if !alone && !matches!(answer, Ok(true)) {
        statement(tx, ROLLBACK_TO).await?;
    }
    Ok(answer)
}

/// Answers every one of `replies` with `e`.
fn fail(replies: impl IntoIterator<Item = oneshot::Sender<Answer>>, e: &StoreError) {
    for reply in replies {
        let _ = reply.send(Err(e.clone()));
    }
}

async fn statement(tx: &mut Tx, sql: &'static str) -> Result<(), StoreError> {
    sqlx::query(sql).execute(&mut **tx).await.map(drop).map_err(error::db("group commit savepoint"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use futures_util::FutureExt;
    use sejf_core::ports::{AuditEvent, StoreError};
    use sqlx::Connection;

    use crate::codec::Arg;
    use crate::{SqlStore, Step, testing};

    const PUT: &str = "INSERT INTO index_state (name, version) VALUES ($1, 1)";
    const BUMP: &str = "UPDATE index_state SET version = version + 1 WHERE name = $1";

    fn event(detail: &str) -> AuditEvent {
        AuditEvent {
            at: 1,
            actor: "admin".into(),
            action: "test.unit".into(),
            outcome: "ok".into(),
            detail: detail.into(),
            ..AuditEvent::default()
        }
    }

    /// One change as the store writes it: a statement and its event.
    async fn put(store: &SqlStore, name: &'static str) -> Result<bool, StoreError> {
        store.write_steps(vec![Step::new(PUT, vec![Arg::Text(name)], "test put")], vec![event(name)]).await
    }

    /// Waits until `n` sessions (batches) wait for a lock.
    async fn waiting_for_the_head(holder: &mut sqlx::AnyConnection, n: i64) {
        const WAITING: &str = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        for _ in 0..1000 {
            // The holder is inside its transaction, where PostgreSQL keeps the first view of
            // pg_stat_activity it took unless told to take a new one.
            sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut *holder).await.unwrap();
            if sqlx::query_scalar::<_, i64>(WAITING).fetch_one(&mut *holder).await.unwrap() == n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{n} batches never waited for the audit head");
    }

    /// A fresh database's store whose two lanes wait for the audit head's lock, which another
    /// session (`holder`) takes: two changes ("first", "second") are sent until both wait, so
    /// what is queued next joins one batch once the holder commits.
    struct Held {
        base: String,
        url: String,
        store: SqlStore,
        holder: sqlx::AnyConnection,
        plugs: Vec<tokio::task::JoinHandle<Result<bool, StoreError>>>,
    }

    impl Held {
        /// None (after saying why) when no test database is configured.
        async fn start() -> Option<Held> {
            let Some(base) = testing::test_database_url() else {
                eprintln!("skipped: SEJF_TEST_DATABASE_URL is not set");
                return None;
            };
            let url = testing::fresh_postgres_database(&base).await.unwrap();
            let store = SqlStore::connect(&url).await.unwrap();
            let mut holder = sqlx::AnyConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE").execute(&mut holder).await.unwrap();
            let mut plugs = Vec::new();
            for (n, name) in ["first", "second"].into_iter().enumerate() {
                let store = store.clone();
                plugs.push(tokio::spawn(async move { put(&store, name).await }));
                waiting_for_the_head(&mut holder, n as i64 + 1).await;
            }
            Some(Held { base, url, store, holder, plugs })
        }

        /// Queues `units` (join_all polls each once, and so queues it, before the head is let
        /// go), lets the head go and answers theirs; the two plugs have committed by then.
        async fn release<T>(&mut self, units: impl std::future::Future<Output = T>) -> T {
            let holder = &mut self.holder;
            let release = async {
                tokio::task::yield_now().await;
                sqlx::query("COMMIT").execute(holder).await.unwrap();
            };
            let (answers, ()) = tokio::join!(units, release);
            for plug in std::mem::take(&mut self.plugs) {
                assert!(plug.await.unwrap().unwrap());
            }
            answers
        }

        async fn end(self) {
            let _ = self.holder.close().await;
            self.store.close().await;
            testing::drop_postgres_database(&self.base, &self.url).await;
        }
    }

    /// Changes that arrive while both lanes wait for a flush commit together, in one transaction
    /// (their events share its id), and of them one that fails (a duplicate) and one that is void
    /// (the row it needs is missing) leave nothing, their events neither, while the rest commit.
    #[tokio::test]
    async fn waiting_changes_share_one_commit_and_a_failing_one_alone_is_undone() {
        let Some(mut held) = Held::start().await else { return };
        let store = held.store.clone();
        let names = ["a", "b", "c", "d", "e", "f"];
        let units = futures_util::future::join_all(
            names
                .iter()
                .map(|&name| futures_util::future::Either::Left(put(&store, name)))
                .chain([futures_util::future::Either::Left(put(&store, "a"))])
                .chain([futures_util::future::Either::Right(
                    store.write_steps(vec![Step::required(BUMP, vec![Arg::Text("missing")], "test bump")], vec![event("void")]),
                )]),
        );
        let answers = held.release(units).await;
        for answer in &answers[..names.len()] {
            assert!(matches!(answer, Ok(true)), "{answer:?}");
        }
        assert!(matches!(answers[names.len()], Err(StoreError::Conflict(_))), "{:?}", answers[names.len()]);
        assert!(matches!(answers[names.len() + 1], Ok(false)), "{:?}", answers[names.len() + 1]);

        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT body::json ->> 13, xmin::text FROM audit_events WHERE action = 'test.unit' ORDER BY seq")
                .fetch_all(&mut held.holder)
                .await
                .unwrap();
        let waited: Vec<&(String, String)> = rows.iter().filter(|(d, _)| names.contains(&d.as_str())).collect();
        assert_eq!(waited.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), names, "{rows:?}");
        assert!(waited.iter().all(|(_, xmin)| *xmin == waited[0].1), "one transaction: {rows:?}");
        assert_eq!(rows.len(), names.len() + 2, "the duplicate's and the void change's events are not written: {rows:?}");
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM index_state WHERE name IN ('a','b','c','d','e','f','first','second')")
            .fetch_one(&mut held.holder)
            .await
            .unwrap();
        assert_eq!(stored, 8);
        held.end().await;
    }

    /// A unit that panics after writing, in a batch with others, is rolled back alone: its
    /// neighbours commit with their events, it leaves neither its row nor its event, its caller
    /// gets an error, and the server's later changes still commit.
    #[tokio::test]
    async fn a_panicking_unit_is_rolled_back_alone_and_its_neighbours_commit() {
        let Some(mut held) = Held::start().await else { return };
        let store = held.store.clone();
        let group = store.group.clone().unwrap();
        let boom = crate::group::work(|tx| {
            Box::pin(async move {
                sqlx::query(PUT).bind("boom").execute(&mut **tx).await.map_err(crate::error::db("test put"))?;
                panic!("a defect in a unit after its write")
            })
        });
        let units = futures_util::future::join_all([
            put(&store, "a").boxed(),
            group.run(boom, vec![event("boom")]).boxed(),
            put(&store, "b").boxed(),
        ]);
        let answers = held.release(units).await;
        assert!(matches!(answers[0], Ok(true)), "{:?}", answers[0]);
        assert!(matches!(&answers[1], Err(StoreError::Backend(m)) if m.contains("panicked")), "{:?}", answers[1]);
        assert!(matches!(answers[2], Ok(true)), "{:?}", answers[2]);
        assert!(put(&store, "after").await.unwrap(), "the server's next change commits");

        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM index_state ORDER BY name").fetch_all(&mut held.holder).await.unwrap();
        assert!(!names.contains(&"boom".to_owned()), "{names:?}");
        for name in ["a", "b", "first", "second", "after"] {
            assert!(names.contains(&name.to_owned()), "{name} is missing: {names:?}");
        }
        let events: Vec<String> = sqlx::query_scalar("SELECT body::json ->> 13 FROM audit_events WHERE action = 'test.unit' ORDER BY seq")
            .fetch_all(&mut held.holder)
            .await
            .unwrap();
        assert_eq!(events, ["first", "second", "a", "b", "after"]);
        held.end().await;
    }
}
