//! A tiny forward-only migration runner (sqlx's `migrate` feature is not used: it cannot embed two
//! dialect trees behind one `Any` pool, nor refuse a newer schema the way we want).
//!
//! Invariants:
//! - The SQLite and PostgreSQL trees hold the same versions with the same names (a test reads
//!   both directories), so a database of either engine at version N has the same tables.
//! - Each migration and its `schema_migrations` row commit in one transaction: a crash leaves the
//!   database at the previous version, never half-way.
//! - Concurrent migrators (several servers starting at once) are serialised: PostgreSQL takes a
//!   transaction-scoped advisory lock, SQLite begins with `BEGIN IMMEDIATE` (its write lock); each
//!   re-reads the version after taking the lock, so no migration runs twice.
//! - A database whose version is newer than this binary knows is refused before anything changes.
//! - A database already at this binary's version is not touched at all, so a server connecting
//!   as PostgreSQL's runtime role (which may not change the schema: migration 0010) starts;
//!   the schema's owner migrates with `sejf migrate` and grants the runtime role its rights.

use sejf_core::ports::StoreError;
use sqlx::AnyPool;
use sqlx::{Any, Transaction};

use crate::{Backend, SqlStore, error};

/// One migration file, embedded at compile time.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    /// The file name without `.sql`: `NNNN_name`.
    pub(crate) stem: &'static str,
    pub(crate) sql: &'static str,
}

impl Migration {
    /// The name part of the file name, recorded in `schema_migrations`.
    fn name(&self) -> &'static str {
        self.stem.split_once('_').map(|(_, name)| name).unwrap_or(self.stem)
    }
}

/// Lists the migrations once for both trees; version N's file is
/// `migrations/{sqlite,postgres}/STEM.sql` (a test checks that STEM starts with N as `{:04}`).
macro_rules! migrations {
    ($($version:literal => $stem:literal,)*) => {
        const SQLITE: &[Migration] = &[$(Migration {
            version: $version,
            stem: $stem,
            sql: include_str!(concat!("../../../migrations/sqlite/", $stem, ".sql")),
        },)*];
        const POSTGRES: &[Migration] = &[$(Migration {
            version: $version,
            stem: $stem,
            sql: include_str!(concat!("../../../migrations/postgres/", $stem, ".sql")),
        },)*];
    };
}

migrations! {
    1 => "0001_initial",
    2 => "0002_login_throttle",
    3 => "0003_mfa_and_api_tokens",
    4 => "0004_audit",
    5 => "0005_honeytokens",
    6 => "0006_export_requests",
    7 => "0007_read_budget",
    8 => "0008_audit_body",
    9 => "0009_export_units",
    10 => "0010_runtime_role",
    11 => "0011_read_budget_window",
    12 => "0012_login_guard",
    13 => "0013_backup",
    14 => "0014_user_duties",
    15 => "0015_gdpr",
    16 => "0016_import_jobs",
    17 => "0017_dsr",
    18 => "0018_gdpr_registers",
    19 => "0019_index_state",
    20 => "0020_id_collation",
    21 => "0021_read_budget_counts",
    22 => "0022_read_budget_by_pair",
    23 => "0023_name_tokens_by_key",
    24 => "0024_data_generation",
    25 => "0025_person_rows_deleted_by_trigger",
    26 => "0026_name_prefixes_to_six",
}

/// Any 64-bit constant would do; this one spells "SEJFMIGR" so it is recognisable in pg_locks.
const PG_MIGRATION_LOCK: i64 = 0x5345_4a46_4d49_4752;

const CREATE_BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

// The time a migration was applied comes from the database clock: the runner has no clock of its
// own, and the two engines spell "now in microseconds" differently.
const RECORD_SQLITE: &str = "INSERT INTO schema_migrations (version, name, applied_at) \
     VALUES ($1, $2, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER))";
const RECORD_POSTGRES: &str = "INSERT INTO schema_migrations (version, name, applied_at) \
     VALUES ($1, $2, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT))";

/// The newest version this binary knows.
pub(crate) fn latest_version() -> i64 {
    SQLITE.iter().map(|m| m.version).max().unwrap_or(0)
}

fn tree(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// The runtime role's grants (PostgreSQL), made by the owner: see migration 0010.
const GRANT_RUNTIME: &str = "SELECT sejf_grant_runtime($1)";
/// Whether the connected role could switch the audit tables' triggers off: it owns them (or is
/// a member of their owner), or is a superuser.
const CAN_ALTER_AUDIT: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_tables t \
     WHERE t.schemaname = current_schema() AND t.tablename = 'audit_events' \
     AND (pg_has_role(current_user, t.tableowner, 'MEMBER') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))";

/// Grants `role` what a server needs on PostgreSQL and no more (run as the schema's owner).
pub(crate) async fn grant_runtime(store: &SqlStore, role: &str) -> Result<(), StoreError> {
    if store.backend != Backend::Postgres {
        return Err(StoreError::Backend("a runtime role exists only on PostgreSQL".into()));
    }
    sqlx::query(GRANT_RUNTIME).bind(role).execute(&store.pool).await.map_err(error::verbose("grant to the runtime role"))?;
    Ok(())
}

/// Whether the connected role could disable the audit trail's append-only triggers (on SQLite,
/// whoever can write the file can).
pub(crate) async fn can_alter_audit(store: &SqlStore) -> Result<bool, StoreError> {
    if store.backend != Backend::Postgres {
        return Ok(true);
    }
    let n: i64 = sqlx::query_scalar(CAN_ALTER_AUDIT).fetch_one(&store.pool).await.map_err(error::verbose("audit table owner"))?;
    Ok(n > 0)
}

/// Brings the schema up to [`latest_version`], or refuses a newer one.
pub(crate) async fn run(store: &SqlStore) -> Result<(), StoreError> {
    let latest = latest_version();
    // Up to date: nothing to lock or create (the runtime role may not). On a fresh database the
    // bookkeeping table does not exist yet and this fails; the runner below creates it.
    if let Ok(current) = current_version(&store.pool).await
        && current == latest
    {
        return Ok(());
    }
    let hint = |e: StoreError| match (store.backend, e) {
        (Backend::Postgres, StoreError::Backend(m)) => StoreError::Backend(format!(
            "{m} (if this is the runtime role, the schema's owner must migrate: `sejf --database-url OWNER_URL migrate --runtime-role ROLE`)"
        )),
        (_, e) => e,
    };
    run_locked(store, latest).await.map_err(hint)
}

async fn run_locked(store: &SqlStore, latest: i64) -> Result<(), StoreError> {
    for migration in tree(store.backend) {
        let mut tx = store.begin_write().await?;
        let current = lock_and_read_version(store.backend, &mut tx).await?;
        if current > latest {
            rollback(tx).await?;
            return Err(StoreError::SchemaTooNew(format!(
                "the database schema is version {current} but this sejf knows only up to \
                 {latest}; upgrade sejf"
            )));
        }
        if current >= migration.version {
            // Applied already (perhaps by another server a moment ago).
            rollback(tx).await?;
            continue;
        }
        for statement in statements(migration.sql) {
            sqlx::query(statement).persistent(false).execute(&mut *tx).await.map_err(error::verbose("migration"))?;
        }
        let record = match store.backend {
            Backend::Sqlite => RECORD_SQLITE,
            Backend::Postgres => RECORD_POSTGRES,
        };
        sqlx::query(record)
            .bind(migration.version)
            .bind(migration.name())
            .execute(&mut *tx)
            .await
            .map_err(error::verbose("migration bookkeeping"))?;
        tx.commit().await.map_err(error::verbose("migration commit"))?;
        tracing::info!(version = migration.version, name = migration.name(), "applied migration");
    }
    Ok(())
}

/// Takes the migration lock and reads the version under it, creating the bookkeeping table on a
/// fresh database (inside the transaction, so a refused run leaves nothing behind).
async fn lock_and_read_version(backend: Backend, tx: &mut Transaction<'static, Any>) -> Result<i64, StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(error::verbose("migration lock"))?;
    }
    sqlx::query(CREATE_BOOKKEEPING).persistent(false).execute(&mut **tx).await.map_err(error::verbose("migration bookkeeping"))?;
    sqlx::query_scalar(CURRENT_VERSION).persistent(false).fetch_one(&mut **tx).await.map_err(error::verbose("schema version"))
}

async fn rollback(tx: Transaction<'static, Any>) -> Result<(), StoreError> {
    tx.rollback().await.map_err(error::verbose("migration rollback"))
}

/// The version the database is at (0 before the first migration).
pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64, StoreError> {
    sqlx::query_scalar(CURRENT_VERSION).fetch_one(pool).await.map_err(error::verbose("schema version"))
}

/// Splits a migration file into statements at lines that end with `;` (comment lines never end
/// a statement). Slices of the embedded `'static` text stay `'static`, so each statement is
/// still compile-time SQL and needs no `AssertSqlSafe`.
fn statements(sql: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    // Inside a dollar-quoted function body (an odd number of `$$` so far), a `;` ends a line of
    // the body, not the statement.
    let mut quoted = false;
    for line in sql.split_inclusive('\n') {
        offset += line.len();
        let trimmed = line.trim();
        if !trimmed.starts_with("--") {
            quoted ^= trimmed.matches("$$").count() % 2 == 1;
        }
        if !quoted && !trimmed.starts_with("--") && trimmed.ends_with(';') {
            push_statement(&mut out, &sql[start..offset]);
            start = offset;
        }
    }
    push_statement(&mut out, &sql[start..]);
    out
}

fn push_statement(out: &mut Vec<&'static str>, chunk: &'static str) {
    let chunk = chunk.trim();
    let chunk = chunk.strip_suffix(';').unwrap_or(chunk);
    let has_code = chunk.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with("--")
    });
    if has_code {
        out.push(chunk);
    }
}

/// An in-memory SQLite database with every migration applied (for the store's tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn migrated_sqlite() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for m in SQLITE {
        for statement in statements(m.sql) {
            conn.execute_batch(statement).unwrap();
        }
    }
    conn
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn files(dialect: &str) -> Vec<String> {
        let dir = format!("{}/../../migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    fn embedded(tree: &[Migration]) -> Vec<String> {
        tree.iter().map(|m| format!("{:04}_{}.sql", m.version, m.name())).collect()
    }

    #[test]
    fn trees_are_in_lockstep() {
        let sqlite = files("sqlite");
        let postgres = files("postgres");
        assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres differ");
        assert_eq!(embedded(SQLITE), sqlite, "a migration file is not embedded (migrate.rs)");
        assert_eq!(embedded(POSTGRES), postgres, "a migration file is not embedded (migrate.rs)");
    }

    #[test]
    fn versions_count_up_from_one() {
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(latest_version(), SQLITE.len() as i64);
    }

    #[test]
    fn both_trees_have_the_same_statements() {
        // Tables, indexes, columns and rows must match; triggers and functions are each engine's
        // own dialect (SQLite has no stored functions), so they are compared by name only below.
        let schema = |sql: &'static str| -> Vec<String> {
            statements(sql)
                .iter()
                .map(|x| {
                    // Up to six words: `CREATE TABLE t`, `ALTER TABLE t ADD COLUMN c` (types differ).
                    let line = x.lines().find(|l| !l.trim().starts_with("--")).unwrap().split('(').next().unwrap();
                    line.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
                })
                // Switching triggers off and on, and naming a primary key's index, are dialect too.
                .filter(|h| {
                    !h.starts_with("CREATE TRIGGER")
                        && !h.starts_with("CREATE FUNCTION")
                        && !h.starts_with("DROP TRIGGER")
                        && !h.starts_with("ALTER INDEX")
                        && !h.starts_with("REVOKE")
                        && !h.starts_with("GRANT")
                        && !h.contains(" DISABLE TRIGGER ")
                        && !h.contains(" ENABLE TRIGGER ")
                        // A collation is PostgreSQL's: SQLite compares text as bytes everywhere.
                        && !h.contains(" ALTER COLUMN ")
                })
                .collect()
        };
        for (s, p) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!(schema(s.sql), schema(p.sql), "{}", s.stem);
        }
    }

    /// Migration 8 carries events of the column format into bodies, keeps the filter columns
    /// working, drops the old encoding's chain rows and checkpoints, and guards the table again.
    async fn carries_old_events_into_bodies(url: &str, tree: &'static [Migration]) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let apply = |m: &'static Migration| {
            let pool = pool.clone();
            async move {
                for statement in statements(m.sql) {
                    sqlx::query(statement).persistent(false).execute(&pool).await.unwrap();
                }
            }
        };
        for m in &tree[..7] {
            apply(m).await;
        }
        sqlx::query(
            "INSERT INTO audit_events (seq, at, actor_id, actor, role, action, resource_type, resource_id, subject_id, fields, \
             purpose, outcome, client, request_id, detail) VALUES (1, 5, 'u1', 'łukasz', 'sales', 'person.read', 'person', 'p1', \
             'p1', 'email', '', 'ok', '::1', 'r1', 'tab	heres \"quote\"')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO audit_checkpoints (tree_size, body, at) VALUES (1, '{}', 5)").execute(&pool).await.unwrap();
        apply(&tree[7]).await;
        let body: String = sqlx::query_scalar("SELECT body FROM audit_events WHERE seq = 1").fetch_one(&pool).await.unwrap();
        let e = sejf_core::audit::parse_body(&body).unwrap();
        assert_eq!((e.at, e.actor.as_str(), e.subject_id.as_str(), e.client.as_str()), (5, "łukasz", "p1", "::1"));
        assert_eq!(e.detail, "tab\theres \"quote\"");
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE actor = 'łukasz' AND subject_id = 'p1' AND action = 'person.read' AND at = 5",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(found, 1, "the filter columns are generated from the body");
        let checkpoints: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_checkpoints").fetch_one(&pool).await.unwrap();
        assert_eq!(checkpoints, 0, "checkpoints of the old encoding are dropped");
        assert!(sqlx::query("UPDATE audit_events SET body = '[]' WHERE seq = 1").execute(&pool).await.is_err());
        sqlx::query("INSERT INTO audit_checkpoints (tree_size, body, at) VALUES (1, '{}', 6)").execute(&pool).await.unwrap();
        assert!(sqlx::query("DELETE FROM audit_checkpoints").execute(&pool).await.is_err());
        pool.close().await;
    }

    #[tokio::test]
    async fn migration_8_carries_old_events_into_bodies_on_sqlite() {
        let dir = crate::testing::fresh_temp_dir().unwrap();
        carries_old_events_into_bodies(&format!("sqlite://{}?mode=rwc", dir.join("m.db").display()), SQLITE).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The test server's URL and a fresh, empty database on it; None (said on stderr) without
    /// `SEJF_TEST_DATABASE_URL`. The caller drops the database.
    async fn fresh_postgres() -> Option<(String, String)> {
        let Some(base) = crate::testing::test_database_url() else {
            eprintln!("skipped: SEJF_TEST_DATABASE_URL is not set");
            return None;
        };
        let url = crate::testing::fresh_postgres_database(&base).await.unwrap();
        Some((base, url))
    }

    #[tokio::test]
    async fn migration_8_carries_old_events_into_bodies_on_postgres() {
        let Some((base, url)) = fresh_postgres().await else { return };
        carries_old_events_into_bodies(&url, POSTGRES).await;
        crate::testing::drop_postgres_database(&base, &url).await;
    }

    /// Every id column compares bytes, like the ids it refers to: a reference under another
    /// collation cannot use the index of what it is compared with (migration 20). The rule
    /// covers every TEXT column named `id` or ending in `_id`, so a new table keeps it too.
    #[tokio::test]
    async fn every_id_column_on_postgres_compares_bytes() {
        let Some((base, url)) = fresh_postgres().await else { return };
        let store = crate::SqlStore::connect(&url).await.unwrap();
        let odd: Vec<String> = sqlx::query_scalar(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type = 'text' AND (column_name = 'id' OR column_name LIKE '%\\_id') \
             AND coalesce(collation_name, '') <> 'C' ORDER BY 1",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert!(odd.is_empty(), "id columns under another collation than \"C\": {odd:?}");
        // And a person's tags, name tokens and key are found by seeking their indexes, as the
        // read of a person asks for them (one subquery each, against the person's id): the
        // comparison is an index condition, not a filter applied to every row. Scans are made
        // the last resort, since on empty tables one would be cheapest anyway.
        let mut conn = store.pool.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.unwrap();
        let plan: Vec<String> = sqlx::query_scalar(
            "EXPLAIN SELECT (SELECT count(*) FROM person_name_tokens n WHERE n.person_id = p.id), \
             (SELECT count(*) FROM person_tags t WHERE t.person_id = p.id), \
             (SELECT count(*) FROM keystore k WHERE k.kind = 'subject' AND k.id = p.id) FROM people p WHERE p.id > '0'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        drop(conn);
        let seeks = plan.iter().filter(|l| l.contains("Index Cond") && l.contains("= p.id")).count();
        assert_eq!(seeks, 3, "{plan:#?}");
        store.close().await;
        crate::testing::drop_postgres_database(&base, &url).await;
    }

    /// SQLite's readers keep a snapshot while `data_generation` is unchanged (ADR 0028), so every
    /// table the request path may read must count its changes there (migration 24): a table
    /// added without the three triggers would let a reader answer from before a change. Left
    /// out, on purpose: what every read writes and no reader of the request path reads (the
    /// audit trail's tables, the read budget), a person's tags and name tokens (they change with
    /// their person's row, or count themselves: `people::replace_name_tokens`), and the
    /// bookkeeping.
    #[test]
    fn every_table_the_readers_may_read_counts_its_changes() {
        const UNCOUNTED: [&str; 9] = [
            "audit_chain",
            "audit_checkpoints",
            "audit_events",
            "audit_head",
            "read_budget",
            "person_tags",
            "person_name_tokens",
            "data_generation",
            "schema_migrations",
        ];
        let conn = migrated_sqlite();
        let names = |sql: &str| -> Vec<String> {
            conn.prepare(sql).unwrap().query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        let triggers = names("SELECT name FROM sqlite_master WHERE type = 'trigger'");
        let mut uncounted = Vec::new();
        for table in names("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
            let counted = ["ins", "upd", "del"].iter().all(|op| triggers.contains(&format!("{table}_gen_{op}")));
            if !counted && !UNCOUNTED.contains(&table.as_str()) {
                uncounted.push(table);
            }
        }
        assert!(uncounted.is_empty(), "tables whose changes are not counted in data_generation: {uncounted:?}");
        // And the triggers count: a change adds one; the audit trail and read budget add none.
        let generation = || -> i64 { conn.query_row("SELECT n FROM data_generation", [], |r| r.get(0)).unwrap() };
        let before = generation();
        conn.execute("INSERT INTO units (slug, created_at) VALUES ('north', 1)", []).unwrap();
        conn.execute("UPDATE units SET created_at = 2", []).unwrap();
        assert_eq!(generation(), before + 2);
        conn.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
        conn.execute("INSERT INTO read_budget (user_id, person_id, read_at) VALUES ('u', 'p', 1)", []).unwrap();
        assert_eq!(generation(), before + 2);
    }

    /// A read-budget flush counts each reading user's window as one range of the primary key,
    /// which holds the rows (migration 22): a count that visits a table for every row read in
    /// the window cost the writer a tenth of the server's time under a read load, and a second
    /// index to count from cost every upsert one more tree.
    #[test]
    fn a_read_budget_count_is_one_range_of_the_key() {
        let conn = migrated_sqlite();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", crate::budget::COUNT))
            .unwrap()
            .query_map(("someone", 0_i64), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(plan, ["SEARCH read_budget USING PRIMARY KEY (user_id=?)"]);
    }

    /// Name tokens live in their primary key's tree (migration 23): a table with a row id would
    /// be a third tree every token row of every insert, delete and rename is written into, and a
    /// person's read of their tokens would visit it.
    #[test]
    fn name_tokens_are_one_tree_and_a_covering_index() {
        let conn = migrated_sqlite();
        let without_rowid: i64 =
            conn.query_row("SELECT wr FROM pragma_table_list WHERE name = 'person_name_tokens'", [], |r| r.get(0)).unwrap();
        assert_eq!(without_rowid, 1);
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT token FROM person_name_tokens WHERE person_id = ?1")
            .unwrap()
            .query_map(["someone"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(plan, ["SEARCH person_name_tokens USING COVERING INDEX person_name_tokens_person (person_id=?)"]);
    }

    #[test]
    fn a_function_body_is_one_statement() {
        let got = statements("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n    PERFORM 1;\nEND;\n$$;\nSELECT 2;\n");
        assert_eq!(got, vec!["CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n    PERFORM 1;\nEND;\n$$", "SELECT 2"]);
        let one_line =
            statements("CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'x'; END; $$;\nSELECT 3;\n");
        assert_eq!(one_line.len(), 2);
    }

    #[test]
    fn splitter_ignores_comments_and_blank_tails() {
        let got = statements("-- a comment;\nCREATE TABLE a (\n  x INTEGER\n);\n\n-- tail comment\nCREATE INDEX i ON a (x);\n-- end\n");
        assert_eq!(got, vec!["-- a comment;\nCREATE TABLE a (\n  x INTEGER\n)", "-- tail comment\nCREATE INDEX i ON a (x)"]);
    }
}
