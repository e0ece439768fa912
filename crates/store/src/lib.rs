//! The storage adapter: `sejf-core`'s [`Store`] port over sqlx's `Any` driver, for SQLite (the
//! embedded default) and PostgreSQL (for several servers over one database).
//!
//! Invariants this crate keeps:
//! - One query path for both engines. Every SQL string is a `&'static str` known at compile time
//!   and every value is bound (`$1, $2, …` work on both engines), so no runtime data ever becomes
//!   SQL text. (The one exception is `testing`, which names a generated test database in
//!   `CREATE DATABASE`.) The dialect differences are few and each sits in one place: the
//!   migration trees, how transactions begin (see [`Backend`]), and the placeholder style of the
//!   bulk inserts (see `people_batch`).
//! - Portable types only: ids are hyphenated lower-case UUID text, booleans 0/1 integers, times
//!   unix microseconds, ciphertexts blobs. Optional filters are bound as the empty string, never as
//!   an untyped NULL (PostgreSQL cannot infer its type).
//! - The store never sees a key or a plaintext personal value, and its error texts never carry a
//!   bound value (see `error`).
//! - Each [`Store`] method is one transaction: it happens entirely or not at all.
//! - Every statement is prepared once per connection and then only bound again. So a `LIMIT` is
//!   `CAST($n AS INTEGER)`, never a bare parameter: SQLite (3.47 on) reads a bare bound `LIMIT`
//!   while planning and marks the statement to be prepared again whenever that parameter is
//!   bound, which made every search parse and plan its SQL anew (30 % of its CPU). A cast is
//!   an expression the planner does not look into. (A test below keeps it so.)

mod audit;
pub mod backup;
mod budget;
mod bulk;
mod codec;
mod error;
mod exports;
mod gdpr;
mod grants;
mod group;
mod keys;
mod mfa;
mod migrate;
mod multirow;
mod people;
mod people_batch;
mod people_sql;
mod reader;
mod records;
mod run;
mod stmt;
mod throttle;
mod url;
mod users;
mod writer;

pub mod testing;

pub(crate) use run::Step;

/// The SQLite engine's plumbing (ADR 0026): the pooled readers that run on the calling thread
/// and the group-commit writer. The store is their only user in Sejf; they are public so that
/// the plaintext baseline of the benches (`benches/common`) runs on the same driver and the same
/// writer, and the ratio it reports compares like with like.
pub mod sqlite {
    pub use crate::reader::Readers;
    pub use crate::writer::Writer;
}

use std::collections::HashMap;
use std::time::Duration;

use sejf_core::ports::prelude::*;
use sejf_core::ports::{
    AccountChange, AuditEvent, AuditQuery, BlindIndex, BudgetOutcome, ChainRow, ConsentRow, DisclosureRow, DsrRow, Erasure, ExportRow,
    FlagRow, Fut, ImportStep, KeyKind, ListQuery, MfaRow, NameIndex, NewPerson, PersonKeys, PersonRow, PurposeRow, ReadMark, RecordKind,
    RecordRow, RoleGrantRow, SealedEvent, SealerLease, SessionRow, StoreError, StoredPerson, ThrottleRow, UserRow,
};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Transaction};
use uuid::Uuid;

/// The import size past which SQLite builds the people tables' random-place indexes at an
/// import's end (ADR 0033); the benches' plaintext baseline follows it.
pub use bulk::BULK_FROM;
pub use url::{redact_url, sqlite_url};

/// Pool size for SQLite: one writer at a time anyway, a few readers alongside it in WAL mode.
pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Pool size for PostgreSQL: per server process; several servers share one database. The group
/// commit's two connections come on top (`group`).
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// A pooled PostgreSQL connection idle this long is pinged before it is handed out, so that
/// one the server or the network dropped meanwhile (a restart, a proxy's idle timeout) is
/// replaced instead of failing a request. Under load connections are idle for micro- to
/// milliseconds, and a ping on every acquire was one more round trip on every request: a
/// wake-up of both processes for nothing (docs/benchmarks.md §4q).
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How long a SQLite connection waits for a lock before it fails (the readers' and the
/// writer's too; the writer's checkpoints wait less and then set it back).
pub(crate) const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout=5000";

/// Every pooled SQLite connection gets these before use. `busy_timeout` comes first so that the
/// others wait for a lock too: it makes a second writer wait instead of failing at once. WAL
/// lets readers run beside the writer; foreign keys are off by default in SQLite and erasure
/// relies on their cascades; `synchronous=NORMAL` is durable across application crashes in WAL
/// mode and much faster than FULL; `secure_delete` overwrites deleted content, so a deleted
/// person's wrapped key and ciphertexts do not linger in free pages. The WAL is checkpointed
/// every 10,000 pages (about 40 MB) rather than SQLite's 1,000: fewer checkpoints on the commit
/// path measured 15 % more audited reads (docs/benchmarks.md §5). A larger page cache and a
/// memory map were measured too: no faster, and they count against the server's memory target.
/// A log that restarts is cut back to 64 MiB (`journal_size_limit`): one long transaction (an
/// import) or a burst of writes does not leave its size on disk for good. The group-commit
/// writer's own connection sets no limit instead, and its checkpointer cuts the log to nothing
/// once writes pause (`writer/checkpoint.rs`).
const SQLITE_PRAGMAS: [&str; 7] = [
    BUSY_TIMEOUT,
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA journal_size_limit=67108864",
];

/// The database engine behind a [`SqlStore`], chosen by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The engine a URL names, or an error for any other scheme (the URL is not echoed: it may
    /// hold a password).
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::Backend("unsupported database URL: expected sqlite:// or postgres://".to_owned())),
        }
    }

    /// The statement that opens a transaction that will write. SQLite's plain `BEGIN` takes its
    /// write lock only at the first write, and a reader that later writes can then fail with
    /// SQLITE_BUSY no matter the busy timeout; `BEGIN IMMEDIATE` takes the lock up front (and
    /// waits for it), which also serialises concurrent migrators.
    fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// The statement that opens a read-only transaction whose statements all see one snapshot
    /// (a page of people and their tags must agree). SQLite's deferred transaction reads one
    /// snapshot already; PostgreSQL needs REPEATABLE READ for that.
    fn begin_read(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

/// The sqlx implementation of [`Store`]. Cloning is cheap: clones share one pool.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite in a file: the hot reads without a thread hop (`reader`, ADR 0026).
    readers: Option<std::sync::Arc<reader::Readers>>,
    /// SQLite in a file: the hot writes in group commits on a thread of their own (`writer`).
    writer: Option<std::sync::Arc<writer::Writer>>,
    /// PostgreSQL: the audited writes in group commits, a server's concurrent changes in one
    /// transaction (`group`, ADR 0031).
    group: Option<std::sync::Arc<group::Group>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("readers", &self.readers.is_some())
            .field("writer", &self.writer.is_some())
            .field("group", &self.group.is_some())
            .finish_non_exhaustive()
    }
}

/// How a store's connections are made and checked out, for the store's pool and for the lanes
/// of the PostgreSQL group commit (`group`): at most `max_connections` (at least 1).
pub(crate) fn pool_options(backend: Backend, max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        // A local file's connection does not go stale, and pinging it costs a round trip to
        // its thread; a server's might, so one that sat idle is checked first.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if backend == Backend::Postgres && meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // The check is on the live connection, not the URL we were given, so a pool
                // can never apply SQLite pragmas to another engine.
                if conn.backend_name() == "SQLite" {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::query(pragma).persistent(false).execute(&mut *conn).await?;
                    }
                } else {
                    // Sejf's statements are short lookups by key that JIT compilation never
                    // pays for; a misestimated plan compiled on every execution cost 340 ms
                    // each (docs/benchmarks.md §4e).
                    sqlx::query("SET jit = off").persistent(false).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
}

impl SqlStore {
    /// Connects with the default pool size for the engine and brings the schema up to date.
    /// Fails with [`StoreError::SchemaTooNew`] (having changed nothing) when the database was
    /// migrated by a newer Sejf.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        let max = match Backend::from_url(url)? {
            Backend::Sqlite => SQLITE_MAX_CONNECTIONS,
            Backend::Postgres => POSTGRES_MAX_CONNECTIONS,
        };
        SqlStore::connect_with(url, max).await
    }

    /// As [`SqlStore::connect`], with at most `max_connections` pooled connections (at least 1).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<SqlStore, StoreError> {
        let backend = Backend::from_url(url)?;
        sqlx::any::install_default_drivers();
        let pool = pool_options(backend, max_connections).connect(url).await.map_err(error::connect)?;
        // SQLite in a file (not `:memory:`, one connection's own database) gets the readers and
        // the writer of ADR 0026.
        let file = match backend {
            Backend::Sqlite => <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
                .ok()
                .map(|o| o.get_filename().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty() && p.as_os_str() != ":memory:"),
            Backend::Postgres => None,
        };
        let readers = file.as_deref().map(|p| std::sync::Arc::new(reader::Readers::new(p)));
        let mut store = SqlStore { pool, backend, readers, writer: None, group: None };
        if let Err(e) = migrate::run(&store).await {
            store.pool.close().await;
            return Err(e);
        }
        // Started once the schema is current: the writer's SQL is the newest schema's.
        if let Some(path) = file {
            match writer::Writer::start(&path, &SQLITE_PRAGMAS, store.readers.clone()) {
                Ok(w) => store.writer = Some(std::sync::Arc::new(w)),
                Err(e) => {
                    store.pool.close().await;
                    return Err(e);
                }
            }
        }
        if backend == Backend::Postgres {
            match group::Group::start(url) {
                Ok(g) => store.group = Some(std::sync::Arc::new(g)),
                Err(e) => {
                    store.pool.close().await;
                    return Err(e);
                }
            }
        }
        Ok(store)
    }

    /// Which engine this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The newest schema version this binary knows.
    pub fn schema_version_known() -> i64 {
        migrate::latest_version()
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::current_version(&self.pool).await
    }

    /// Grants a PostgreSQL role what a server needs, and no more: read and write the data, only
    /// add to the audit trail (migration 0010). Run as the schema's owner (`sejf migrate
    /// --runtime-role`); refuses a role that is the owner, a member of it, or a superuser.
    pub async fn grant_runtime(&self, role: &str) -> Result<(), StoreError> {
        migrate::grant_runtime(self, role).await
    }

    /// Whether the connected role could switch off the audit trail's append-only triggers:
    /// true for SQLite (the file's owner can do anything) and for PostgreSQL's schema owner or
    /// a superuser; false for a runtime role.
    pub async fn can_alter_audit_guards(&self) -> Result<bool, StoreError> {
        migrate::can_alter_audit(self).await
    }

    /// Commits the queued writes and closes the writer's connection, then every pooled
    /// connection (waiting for the ones in use to come back).
    pub async fn close(&self) {
        if let Some(w) = &self.writer {
            w.stop().await;
        }
        if let Some(g) = &self.group {
            g.stop().await;
        }
        self.pool.close().await;
    }

    /// The pool, for callers that need SQL of their own (tests, backups). The invariants of this
    /// crate (literal SQL, bound values) are then theirs to keep.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Opens a transaction that will write (see [`Backend::begin_write`]).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin_with(self.backend.begin_write()).await.map_err(error::db("begin transaction"))
    }

    /// Opens a read-only transaction over one snapshot (see [`Backend::begin_read`]).
    async fn begin_read(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin_with(self.backend.begin_read()).await.map_err(error::db("begin transaction"))
    }
}

impl KeyStore for SqlStore {
    fn key_get<'a>(&'a self, kind: KeyKind, id: &'a str) -> Fut<'a, Option<Vec<u8>>> {
        Box::pin(keys::get(self, kind, id))
    }

    fn key_insert_if_absent<'a>(&'a self, kind: KeyKind, id: &'a str, master_version: u32, wrapped: &'a [u8]) -> Fut<'a, ()> {
        Box::pin(keys::insert_if_absent(self, kind, id, master_version, wrapped))
    }
}

impl AccountStore for SqlStore {
    fn user_create(&self, user: UserRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(users::create(self, user, audit))
    }

    fn user_by_name<'a>(&'a self, username: &'a str) -> Fut<'a, Option<UserRow>> {
        Box::pin(users::by_name(self, username))
    }

    fn user_by_id(&self, id: Uuid) -> Fut<'_, Option<UserRow>> {
        Box::pin(users::by_id(self, id))
    }

    fn users_list(&self) -> Fut<'_, Vec<UserRow>> {
        Box::pin(users::list(self))
    }

    fn account_change(&self, change: AccountChange, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(users::change(self, change, audit))
    }

    fn role_grant_create(&self, grant: RoleGrantRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(grants::create(self, grant, audit))
    }

    fn role_grant_get(&self, id: Uuid) -> Fut<'_, Option<RoleGrantRow>> {
        Box::pin(grants::get(self, id))
    }

    fn role_grants_pending(&self) -> Fut<'_, Vec<RoleGrantRow>> {
        Box::pin(grants::pending(self))
    }

    fn session_create(&self, session: SessionRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(users::session_create(self, session, audit))
    }

    fn session_by_hash<'a>(&'a self, token_hash: &'a [u8]) -> Fut<'a, Option<SessionRow>> {
        Box::pin(users::session_by_hash(self, token_hash))
    }

    fn session_with_user<'a>(&'a self, token_hash: &'a [u8]) -> Fut<'a, Option<(SessionRow, UserRow)>> {
        Box::pin(users::session_with_user(self, token_hash))
    }

    fn session_touch(&self, id: Uuid, last_seen: i64) -> Fut<'_, ()> {
        Box::pin(users::session_touch(self, id, last_seen))
    }

    fn sessions_for_user(&self, user_id: Uuid) -> Fut<'_, Vec<SessionRow>> {
        Box::pin(users::sessions_for_user(self, user_id))
    }

    fn mfa_get(&self, user_id: Uuid) -> Fut<'_, MfaRow> {
        Box::pin(mfa::get(self, user_id))
    }

    fn mfa_use_step(&self, user_id: Uuid, step: i64) -> Fut<'_, bool> {
        Box::pin(mfa::use_step(self, user_id, step))
    }

    fn recovery_code_use<'a>(&'a self, user_id: Uuid, hash: &'a [u8], now: i64) -> Fut<'a, bool> {
        Box::pin(mfa::use_code(self, user_id, hash, now))
    }

    fn throttle_get<'a>(&'a self, key: &'a str) -> Fut<'a, Option<ThrottleRow>> {
        Box::pin(throttle::get(self, key))
    }

    fn throttle_hit<'a>(&'a self, key: &'a str, now: i64, window_from: i64) -> Fut<'a, ThrottleRow> {
        Box::pin(throttle::hit(self, key, now, window_from))
    }

    fn throttle_lock<'a>(&'a self, key: &'a str, now: i64, until: i64) -> Fut<'a, ()> {
        Box::pin(throttle::lock(self, key, now, until))
    }

    fn throttle_refund<'a>(&'a self, key: &'a str, since: i64, reset: bool) -> Fut<'a, ()> {
        Box::pin(throttle::refund(self, key, since, reset))
    }

    fn throttle_lease<'a>(&'a self, key: &'a str, now: i64, until: i64) -> Fut<'a, bool> {
        Box::pin(throttle::lease(self, key, now, until))
    }

    fn throttle_release<'a>(&'a self, key: &'a str, lease: i64, busy_until: i64) -> Fut<'a, ()> {
        Box::pin(throttle::release(self, key, lease, busy_until))
    }

    fn throttle_sweep(&self, now: i64, window_from: i64) -> Fut<'_, u64> {
        Box::pin(throttle::sweep(self, now, window_from))
    }

    fn throttle_clear<'a>(&'a self, prefix: &'a str) -> Fut<'a, ()> {
        Box::pin(throttle::clear(self, prefix))
    }

    fn throttle_clear_addresses<'a>(&'a self, pair_prefix: &'a str) -> Fut<'a, ()> {
        Box::pin(throttle::clear_addresses(self, pair_prefix))
    }
}

impl PeopleStore for SqlStore {
    fn person_insert(&self, person: NewPerson, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(people_batch::insert_batch(self, vec![person], audit))
    }

    fn people_insert_batch(&self, people: Vec<NewPerson>, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(people_batch::insert_batch(self, people, audit))
    }

    fn person_get(&self, id: Uuid) -> Fut<'_, Option<StoredPerson>> {
        Box::pin(people::get(self, id))
    }

    fn people_get(&self, ids: Vec<Uuid>) -> Fut<'_, Vec<StoredPerson>> {
        Box::pin(people::get_many(self, ids))
    }

    fn person_update(&self, row: PersonRow, names: NameIndex, expected_version: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(people::update(self, row, names, expected_version, audit))
    }

    fn person_delete(&self, id: Uuid, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(people::delete(self, id, audit))
    }

    /// A page of visible people in id (creation) order, with their tags.
    fn people_list(&self, query: ListQuery) -> Fut<'_, Vec<StoredPerson>> {
        Box::pin(people::list(self, None, query))
    }

    /// As `people_list`, restricted to people whose blind index `column` equals `value`.
    fn people_by_bidx(&self, column: BlindIndex, value: i64, query: ListQuery) -> Fut<'_, Vec<StoredPerson>> {
        Box::pin(people::list(self, Some((column, value)), query))
    }

    fn people_count(&self) -> Fut<'_, i64> {
        Box::pin(people::count(self))
    }

    fn people_import(&self, job: Option<String>, now: i64, steps: tokio::sync::mpsc::Receiver<ImportStep>) -> Fut<'_, u64> {
        Box::pin(people_batch::import(self, job, now, steps))
    }

    fn import_job<'a>(&'a self, id: &'a str) -> Fut<'a, Option<(i64, bool)>> {
        Box::pin(people_batch::job(self, id))
    }

    fn import_job_finish<'a>(&'a self, id: &'a str, now: i64) -> Fut<'a, ()> {
        Box::pin(people_batch::job_finish(self, id, now))
    }

    fn people_keys(&self, after: Option<Uuid>, limit: u32) -> Fut<'_, Vec<PersonKeys>> {
        Box::pin(people_batch::keys(self, after, limit))
    }

    fn people_name_tokens(&self, ids: Vec<Uuid>) -> Fut<'_, HashMap<Uuid, NameIndex>> {
        Box::pin(people::name_tokens_of(self, ids))
    }

    fn person_name_tokens_replace(&self, id: Uuid, version: i64, tokens: NameIndex) -> Fut<'_, bool> {
        Box::pin(people::replace_name_tokens(self, id, version, tokens))
    }

    fn index_version<'a>(&'a self, name: &'a str) -> Fut<'a, i64> {
        Box::pin(people::index_version(self, name))
    }

    fn set_index_version<'a>(&'a self, name: &'a str, version: i64) -> Fut<'a, ()> {
        Box::pin(people::set_index_version(self, name, version))
    }
}

impl RecordStore for SqlStore {
    fn records_insert(&self, rows: Vec<RecordRow>, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(records::insert(self, rows, audit))
    }

    fn record_get(&self, kind: RecordKind, id: Uuid) -> Fut<'_, Option<RecordRow>> {
        Box::pin(records::get(self, kind, id))
    }

    fn record_update(&self, row: RecordRow, expected_version: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(records::update(self, row, expected_version, audit))
    }

    fn record_delete(&self, kind: RecordKind, id: Uuid, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(records::delete(self, kind, id, audit))
    }

    fn records_list(&self, kind: RecordKind, query: ListQuery) -> Fut<'_, Vec<RecordRow>> {
        Box::pin(records::list(self, kind, query))
    }
}

impl GdprStore for SqlStore {
    fn gdpr_purposes(&self) -> Fut<'_, Vec<PurposeRow>> {
        Box::pin(gdpr::purposes(self))
    }

    fn gdpr_purpose_put(&self, row: PurposeRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(gdpr::purpose_put(self, row, audit))
    }

    fn consents(&self, person: Uuid) -> Fut<'_, Vec<ConsentRow>> {
        Box::pin(gdpr::consents(self, person))
    }

    fn consent_insert(&self, row: ConsentRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(gdpr::consent_insert(self, row, audit))
    }

    fn person_flags(&self, person: Uuid) -> Fut<'_, Vec<FlagRow>> {
        Box::pin(gdpr::flags(self, person))
    }

    fn flagged<'a>(&'a self, flag: &'a str) -> Fut<'a, Vec<Uuid>> {
        Box::pin(gdpr::flagged(self, flag))
    }

    fn person_flag_set(&self, row: FlagRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(gdpr::flag_set(self, row, audit))
    }

    fn person_flag_clear<'a>(&'a self, person: Uuid, flag: &'a str, audit: Vec<AuditEvent>) -> Fut<'a, bool> {
        Box::pin(gdpr::flag_clear(self, person, flag, audit))
    }

    fn person_erase(&self, erasure: Erasure, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(gdpr::erase(self, erasure, audit))
    }

    fn suppression_list(&self) -> Fut<'_, Vec<(String, i64)>> {
        Box::pin(gdpr::suppression_list(self))
    }

    fn erasure_receipt(&self, person: Uuid) -> Fut<'_, Option<(String, String)>> {
        Box::pin(gdpr::receipt(self, person))
    }

    fn retention_candidates(&self, tag: Option<String>, before: i64) -> Fut<'_, Vec<Uuid>> {
        Box::pin(gdpr::retention_candidates(self, tag, before))
    }

    fn dsr_put(&self, row: DsrRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(gdpr::dsr_put(self, row, audit))
    }

    fn dsr_get(&self, id: Uuid) -> Fut<'_, Option<DsrRow>> {
        Box::pin(gdpr::dsr_get(self, id))
    }

    fn dsr_list<'a>(&'a self, status: &'a str) -> Fut<'a, Vec<DsrRow>> {
        Box::pin(gdpr::dsr_list(self, status))
    }

    fn gdpr_register<'a>(&'a self, kind: &'a str) -> Fut<'a, Vec<(String, String)>> {
        Box::pin(gdpr::register(self, kind))
    }

    fn gdpr_register_put<'a>(&'a self, kind: &'a str, id: String, body: String, at: i64, audit: Vec<AuditEvent>) -> Fut<'a, ()> {
        Box::pin(gdpr::register_put(self, kind, id, body, at, audit))
    }

    fn disclose(&self, rows: Vec<DisclosureRow>, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(gdpr::disclose(self, rows, audit))
    }

    fn disclosures(&self, person: Uuid) -> Fut<'_, Vec<DisclosureRow>> {
        Box::pin(gdpr::disclosures(self, person))
    }
}

impl AuditStore for SqlStore {
    fn audit_append(&self, events: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(audit::append(self, events))
    }

    fn audit_range(&self, after: i64, limit: u32) -> Fut<'_, Vec<SealedEvent>> {
        Box::pin(audit::range(self, after, limit))
    }

    fn audit_canonical_range(&self, after: i64, limit: u32) -> Fut<'_, String> {
        Box::pin(audit::canonical_range(self, after, limit))
    }

    fn audit_query(&self, query: AuditQuery) -> Fut<'_, Vec<SealedEvent>> {
        Box::pin(audit::query(self, query))
    }

    fn audit_checkpoint_put(&self, tree_size: i64, body: String, at: i64) -> Fut<'_, ()> {
        Box::pin(audit::checkpoint_put(self, tree_size, body, at))
    }

    fn audit_checkpoints(&self) -> Fut<'_, Vec<(i64, String)>> {
        Box::pin(audit::checkpoints(self))
    }

    fn audit_checkpoint_last(&self) -> Fut<'_, Option<(i64, String)>> {
        Box::pin(audit::checkpoint_last(self))
    }

    fn audit_chain_put(&self, rows: Vec<ChainRow>) -> Fut<'_, ()> {
        Box::pin(audit::chain_put(self, rows))
    }

    fn audit_chain_range(&self, after: i64, limit: u32) -> Fut<'_, Vec<ChainRow>> {
        Box::pin(audit::chain_range(self, after, limit))
    }

    fn audit_sealer_lock(&self) -> Fut<'_, Option<SealerLease>> {
        Box::pin(audit::sealer_lock(self))
    }
}

impl InsiderStore for SqlStore {
    fn honeytoken_put(&self, person: Uuid, at: i64) -> Fut<'_, ()> {
        Box::pin(audit::honeytoken_put(self, person, at))
    }

    fn honeytokens(&self) -> Fut<'_, Vec<Uuid>> {
        Box::pin(audit::honeytokens(self))
    }

    fn read_budget_record(&self, reads: Vec<ReadMark>, since: i64) -> Fut<'_, Vec<(Uuid, i64)>> {
        Box::pin(budget::record(self, reads, since))
    }

    fn read_budget_count(&self, user: Uuid, since: i64) -> Fut<'_, i64> {
        Box::pin(budget::count(self, user, since))
    }

    fn read_budget_take(&self, user: Uuid, at: i64, since: i64, people: Vec<Uuid>, budget: i64) -> Fut<'_, BudgetOutcome> {
        Box::pin(budget::take(self, user, at, since, people, budget))
    }
}

impl ExportStore for SqlStore {
    fn export_insert(&self, row: ExportRow, audit: Vec<AuditEvent>) -> Fut<'_, ()> {
        Box::pin(exports::insert(self, row, audit))
    }

    fn export_get(&self, id: Uuid) -> Fut<'_, Option<ExportRow>> {
        Box::pin(exports::get(self, id))
    }

    fn exports_list(&self, requester: Option<Uuid>, status: Option<String>, after: Option<Uuid>, limit: u32) -> Fut<'_, Vec<ExportRow>> {
        Box::pin(exports::list(self, requester, status, after, limit))
    }

    fn export_decide(&self, row: ExportRow, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(exports::decide(self, row, audit))
    }

    fn export_mark_downloaded(&self, id: Uuid, now: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool> {
        Box::pin(exports::mark_downloaded(self, id, now, audit))
    }
}

impl Housekeeping for SqlStore {
    fn expired_sweep(&self, now: i64, exports_before: i64) -> Fut<'_, (u64, u64)> {
        Box::pin(throttle::expired_sweep(self, now, exports_before))
    }

    fn backup_lock(&self) -> Fut<'_, Option<SealerLease>> {
        Box::pin(audit::backup_lock(self))
    }

    fn connections(&self) -> Option<(u32, u32)> {
        Some((self.pool.size(), u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod statement_cache_tests {
    #[test]
    fn no_limit_is_a_bare_parameter() {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut read = 0;
        // The sources and the modules' folders under them (`writer/`).
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                read += 1;
                // The patterns are split so that this file does not match itself.
                let bare =
                    ["LIMIT", "OFFSET"].iter().flat_map(|k| [format!("{k} $"), format!("{k} ?")]).find(|p| text.contains(p.as_str()));
                assert!(bare.is_none(), "{}: {bare:?}: SQLite would prepare the statement again on every use", path.display());
            }
        }
        assert!(read > 10, "the store's sources were not found");
    }
}
