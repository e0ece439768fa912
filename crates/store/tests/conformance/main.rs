//! The store conformance suite: every case is written once, as an async function over a fresh
//! database, and runs against SQLite (always) and PostgreSQL (when `SEJF_TEST_DATABASE_URL`
//! names a server; otherwise those variants print that they are skipped).
//!
//! Each test gets a database of its own: a new SQLite file in a new temp dir, or a new
//! PostgreSQL database from `sejf_store::testing`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod backup;
mod people;

use audit::*;
use backup::*;
use people::*;
use sejf_core::ports::prelude::*;

use sejf_core::ports::{AccountChange, GrantDecision, KeyKind, RoleGrantRow, SessionRow, StoreError};
use sejf_store::{Backend, SqlStore};
use support::{TestDb, enable, event, new_person, new_user};
use uuid::Uuid;

/// Runs each named case on both engines: `sqlite::NAME` and `postgres::NAME`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::support::TestDb::postgres().await else {
                        println!("skipped: SEJF_TEST_DATABASE_URL not set");
                        return;
                    };
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    concurrent_migrators_apply_each_migration_once,
    newer_schema_is_refused_and_left_alone,
    users_and_units,
    sessions,
    keys_are_never_overwritten,
    person_round_trip_and_optimistic_update,
    a_name_index_rebuild_writes_only_over_the_version_it_read,
    list_visibility_and_filters,
    list_pagination_gives_every_row_once,
    blind_index_searches,
    delete_person_erases_key_and_activities,
    foreign_key_violations_are_references,
    records_crud_for_every_kind,
    batch_insert_is_all_or_nothing,
    deleting_a_company_unlinks_people_and_deals,
    connections_are_configured,
    concurrent_writers_all_succeed,
    errors_never_carry_values,
    mfa_steps_and_recovery_codes_are_used_once,
    grant_decisions_commit_with_the_account_change,
    throttle_rows_and_session_lists,
    one_sealer_at_a_time,
    export_decisions_and_downloads_happen_once,
    expired_sessions_and_finished_exports_are_swept,
    read_budgets_are_shared_and_all_or_nothing,
    audit_events_round_trip_exactly,
    the_newest_checkpoint_is_the_largest_tree,
    backup_tables_cover_the_schema,
    snapshot_restores_exactly_and_refuses_a_used_database,
    erasures_are_ledgered_and_reapplied_by_restore,
    an_unfinished_restore_is_marked_until_discarded,
    registers_and_disclosures_round_trip,
);

/// A person's name tokens as the store holds them.
async fn names_of(store: &SqlStore, id: uuid::Uuid) -> Vec<i64> {
    store.people_name_tokens(vec![id]).await.unwrap().remove(&id).unwrap()
}

async fn count(store: &SqlStore, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

// ---- Migrations ---------------------------------------------------------------------------------

async fn migrations_are_idempotent(db: &TestDb) {
    let known = SqlStore::schema_version_known();
    assert!(known >= 1);
    assert_eq!(db.store.schema_version().await.unwrap(), known);
    let user = new_user("mig", &["north"]);
    db.store.user_create(user.clone(), vec![]).await.unwrap();
    for _ in 0..2 {
        let again = SqlStore::connect(&db.url).await.unwrap();
        assert_eq!(again.schema_version().await.unwrap(), known);
        assert_eq!(count(&again, "SELECT COUNT(*) FROM schema_migrations").await, known);
        assert!(again.user_by_id(user.id).await.unwrap().is_some());
        again.close().await;
    }
}

async fn concurrent_migrators_apply_each_migration_once(db: &TestDb) {
    let url = db.another_database().await;
    let (a, b, c) = tokio::join!(SqlStore::connect(&url), SqlStore::connect(&url), SqlStore::connect(&url));
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(count(&a, "SELECT COUNT(*) FROM schema_migrations").await, SqlStore::schema_version_known());
    for s in [a, b, c] {
        s.close().await;
    }
}

async fn newer_schema_is_refused_and_left_alone(db: &TestDb) {
    let known = SqlStore::schema_version_known();
    let user = new_user("keeper", &["north"]);
    db.store.user_create(user.clone(), vec![]).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
        .bind(known + 1)
        .bind("from_the_future")
        .bind(0_i64)
        .execute(db.store.pool())
        .await
        .unwrap();

    match SqlStore::connect(&db.url).await {
        Err(StoreError::SchemaTooNew(msg)) => {
            assert_eq!(msg, format!("the database schema is version {} but this sejf knows only up to {known}; upgrade sejf", known + 1))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }

    // Nothing changed: the bookkeeping and the data are as they were.
    assert_eq!(db.store.schema_version().await.unwrap(), known + 1);
    assert_eq!(count(&db.store, "SELECT COUNT(*) FROM schema_migrations").await, known + 1);
    assert_eq!(count(&db.store, "SELECT COUNT(*) FROM users").await, 1);
    assert!(db.store.user_by_id(user.id).await.unwrap().is_some());
}

// ---- Users, sessions, keys ----------------------------------------------------------------------

async fn users_and_units(db: &TestDb) {
    let s = &db.store;
    let mut bob = new_user("bob", &["pl-waw", "north", "pl-waw"]);
    bob.disabled = true;
    s.user_create(bob.clone(), vec![]).await.unwrap();
    let alice = new_user("alice", &["north"]);
    s.user_create(alice.clone(), vec![]).await.unwrap();
    let loner = new_user("carol", &[]);
    s.user_create(loner.clone(), vec![]).await.unwrap();

    let got = s.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(got.id, bob.id);
    assert_eq!(got.units, vec!["pl-waw", "north"], "units keep their first-given order, once each");
    assert!(got.disabled);
    assert_eq!(got.password_hash, bob.password_hash);
    assert_eq!(got.role, bob.role);
    assert_eq!(got.created_at, bob.created_at);
    assert_eq!(s.user_by_id(alice.id).await.unwrap().unwrap().username, "alice");
    assert!(s.user_by_id(loner.id).await.unwrap().unwrap().units.is_empty());
    assert!(s.user_by_name("nobody").await.unwrap().is_none());
    assert!(s.user_by_id(Uuid::now_v7()).await.unwrap().is_none());
    assert_eq!(count(s, "SELECT COUNT(*) FROM units").await, 2);

    let names: Vec<String> = s.users_list().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, vec!["alice", "bob", "carol"]);
    let listed = s.users_list().await.unwrap();
    assert_eq!(listed[1].units, vec!["pl-waw", "north"]);

    let dup = new_user("bob", &["south"]);
    assert!(matches!(s.user_create(dup, vec![]).await, Err(StoreError::Conflict(_))));
    assert_eq!(count(s, "SELECT COUNT(*) FROM units").await, 2, "a refused user creates no unit");

    let change = AccountChange {
        user: bob.id,
        password_hash: Some("$argon2id$new".into()),
        must_change_password: Some(true),
        disabled: Some(false),
        role: Some("manager".into()),
        ..AccountChange::default()
    };
    assert!(s.account_change(change.clone(), vec![event("user.set_role", 7)]).await.unwrap());
    let got = s.user_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!((got.password_hash.as_str(), got.disabled, got.role.as_str()), ("$argon2id$new", false, "manager"));
    assert!(got.must_change_password);
    let trail = s.audit_range(0, 10).await.unwrap();
    assert_eq!(trail.len(), 1, "the change's event is written with it");
    let ghost = AccountChange { user: Uuid::now_v7(), ..change };
    assert!(!s.account_change(ghost, vec![event("user.set_role", 8)]).await.unwrap(), "no such user");
    assert_eq!(s.audit_range(0, 10).await.unwrap().len(), 1, "nothing written for a user that does not exist");
}

async fn grant_decisions_commit_with_the_account_change(db: &TestDb) {
    let s = &db.store;
    let (admin, target) = (new_user("admin", &["north"]), new_user("target", &["north"]));
    s.user_create(admin.clone(), vec![]).await.unwrap();
    s.user_create(target.clone(), vec![]).await.unwrap();
    let grant = RoleGrantRow {
        id: Uuid::now_v7(),
        user_id: target.id,
        username: target.username.clone(),
        role: "admin".into(),
        kind: "role".into(),
        requested_by_id: admin.id,
        requested_by: admin.username.clone(),
        requested_at: 1,
        status: "pending".into(),
        decided_by: String::new(),
        decided_at: 0,
    };
    s.role_grant_create(grant.clone(), vec![event("user.grant.request", 1)]).await.unwrap();
    let decide = |status: &str| AccountChange {
        user: target.id,
        decide_grant: Some(GrantDecision { id: grant.id, status: status.into(), decided_by: "second".into(), at: 2 }),
        role: Some("admin".into()),
        end_sessions: true,
        ..AccountChange::default()
    };
    assert!(s.account_change(decide("approved"), vec![event("user.grant.approve", 2)]).await.unwrap());
    assert_eq!(s.user_by_id(target.id).await.unwrap().unwrap().role, "admin");
    let got = s.role_grant_get(grant.id).await.unwrap().unwrap();
    assert_eq!((got.status.as_str(), got.decided_by.as_str(), got.decided_at), ("approved", "second", 2));
    // Decided once: a second decision changes nothing and writes no event.
    let mut again = decide("refused");
    again.role = Some("sales".into());
    assert!(!s.account_change(again, vec![event("user.grant.refuse", 3)]).await.unwrap());
    assert_eq!(s.user_by_id(target.id).await.unwrap().unwrap().role, "admin");
    assert_eq!(s.role_grant_get(grant.id).await.unwrap().unwrap().status, "approved");
    assert_eq!(s.audit_range(0, 10).await.unwrap().len(), 2);
    assert!(s.role_grants_pending().await.unwrap().is_empty());
}

async fn sessions(db: &TestDb) {
    let s = &db.store;
    let user = new_user("sess", &["north"]);
    s.user_create(user.clone(), vec![]).await.unwrap();
    let session = |hash: u8| SessionRow {
        id: Uuid::now_v7(),
        user_id: user.id,
        token_hash: vec![hash; 32],
        created_at: 10,
        last_seen: 10,
        expires_at: 1_000,
        scope: "full".into(),
        label: String::new(),
    };
    let one = session(1);
    s.session_create(one.clone(), vec![]).await.unwrap();
    s.session_create(session(2), vec![]).await.unwrap();
    s.session_create(session(3), vec![]).await.unwrap();

    let got = s.session_by_hash(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((got.id, got.user_id, got.token_hash.clone()), (one.id, user.id, one.token_hash.clone()));
    assert_eq!((got.created_at, got.last_seen, got.expires_at), (10, 10, 1_000));
    assert!(s.session_by_hash(&[9; 32]).await.unwrap().is_none());
    // The session and its user (units in order) in one read; a changed role or a disabled
    // user is seen by the next read.
    let (got, who) = s.session_with_user(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((got.id, got.scope.as_str(), got.expires_at), (one.id, "full", 1_000));
    assert_eq!((who.id, who.username.as_str(), who.units.clone(), who.disabled), (user.id, "sess", user.units.clone(), false));
    let change = AccountChange { user: user.id, role: Some("auditor".into()), disabled: Some(true), ..AccountChange::default() };
    assert!(s.account_change(change, vec![]).await.unwrap());
    let (_, who) = s.session_with_user(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((who.role.as_str(), who.disabled), ("auditor", true));
    assert!(s.session_with_user(&[9; 32]).await.unwrap().is_none());

    s.session_touch(one.id, 77).await.unwrap();
    assert_eq!(s.session_by_hash(&[1; 32]).await.unwrap().unwrap().last_seen, 77);

    assert!(matches!(s.session_create(session(1), vec![]).await, Err(StoreError::Conflict(_))), "token hashes are unique");
    let mut orphan = session(4);
    orphan.user_id = Uuid::now_v7();
    assert!(matches!(s.session_create(orphan, vec![]).await, Err(StoreError::Reference(_))));

    // A session is ended only under its own user.
    let other = new_user("other", &["north"]);
    s.user_create(other.clone(), vec![]).await.unwrap();
    let wrong = AccountChange { user: other.id, end_session: vec![one.id], ..AccountChange::default() };
    assert!(s.account_change(wrong, vec![]).await.unwrap());
    assert!(s.session_by_hash(&[1; 32]).await.unwrap().is_some(), "another user's session is not ended");
    let end = AccountChange { user: user.id, end_session: vec![one.id], ..AccountChange::default() };
    assert!(s.account_change(end, vec![]).await.unwrap());
    assert!(s.session_by_hash(&[1; 32]).await.unwrap().is_none());
    assert_eq!(s.sessions_for_user(user.id).await.unwrap().len(), 2);
    // Every session but the one kept (a password change keeps the caller's own).
    let kept = s.sessions_for_user(user.id).await.unwrap()[0].id;
    let others = AccountChange { user: user.id, end_sessions: true, keep_session: Some(kept), ..AccountChange::default() };
    assert!(s.account_change(others, vec![]).await.unwrap());
    assert_eq!(s.sessions_for_user(user.id).await.unwrap().iter().map(|x| x.id).collect::<Vec<_>>(), [kept]);
    let all = AccountChange { user: user.id, end_sessions: true, ..AccountChange::default() };
    assert!(s.account_change(all, vec![]).await.unwrap());
    assert!(s.session_by_hash(&[2; 32]).await.unwrap().is_none());
    assert!(s.sessions_for_user(user.id).await.unwrap().is_empty());
}

async fn keys_are_never_overwritten(db: &TestDb) {
    let s = &db.store;
    assert!(s.key_get(KeyKind::Unit, "north").await.unwrap().is_none());
    s.key_insert_if_absent(KeyKind::Unit, "north", 1, b"first").await.unwrap();
    s.key_insert_if_absent(KeyKind::Unit, "north", 2, b"second").await.unwrap();
    assert_eq!(s.key_get(KeyKind::Unit, "north").await.unwrap().unwrap(), b"first");
    // Kinds are separate namespaces.
    s.key_insert_if_absent(KeyKind::Index, "north", 1, b"index").await.unwrap();
    assert_eq!(s.key_get(KeyKind::Index, "north").await.unwrap().unwrap(), b"index");
    assert!(s.key_get(KeyKind::Subject, "north").await.unwrap().is_none());
    let stamped = count(s, "SELECT COUNT(*) FROM keystore WHERE created_at > 0").await;
    assert_eq!(stamped, 2, "created_at comes from the database clock");
}

// ---- Engine set-up, concurrency, error hygiene ----------------------------------------------------

async fn connections_are_configured(db: &TestDb) {
    let s = &db.store;
    assert_eq!(s.backend(), Backend::from_url(&db.url).unwrap());
    if s.backend() != Backend::Sqlite {
        return;
    }
    // Every pooled connection, not only the first: hold several at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(s.pool().acquire().await.unwrap());
    }
    for conn in &mut held {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(busy, 5000);
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(sync, 1, "NORMAL");
        let secure: i64 = sqlx::query_scalar("PRAGMA secure_delete").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(secure, 1, "deleted content is overwritten");
    }
}

/// A fresh PostgreSQL database for a case that only PostgreSQL has, or None (saying the case
/// was skipped) without `SEJF_TEST_DATABASE_URL`.
async fn postgres_or_skip() -> Option<TestDb> {
    let db = TestDb::postgres().await;
    if db.is_none() {
        println!("skipped: SEJF_TEST_DATABASE_URL not set");
    }
    db
}

/// PostgreSQL only: SQLite has no server that could drop a connection. After the server ends
/// every connection of the pool (a restart, a proxy's idle timeout), a call that comes once
/// they sat idle gets a live connection: the pool pings a connection idle for a second before
/// handing it out, instead of pinging on every acquire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_connection_the_server_dropped_is_replaced_before_use() {
    let Some(db) = postgres_or_skip().await else { return };
    let user = new_user("reconnect", &["north"]);
    db.store.user_create(user.clone(), vec![]).await.unwrap();
    let other = SqlStore::connect(&db.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(other.pool())
    .await
    .unwrap();
    assert!(ended.iter().any(|e| *e), "the pool's connections were ended: {ended:?}");
    other.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..4 {
        let found = db.store.user_by_id(user.id).await.unwrap();
        assert_eq!(found.map(|u| u.username), Some(user.username.clone()));
    }
    db.finish().await;
}

/// PostgreSQL only: a write's audit events are appended and committed in one message, which
/// then opens an empty transaction for sqlx to end. Every change of people and records still
/// commits with its events, numbered without a gap, and no connection goes back to the pool
/// inside a transaction (one would hold a snapshot, and the next borrower's statements would run
/// in it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_commit_with_their_events_and_leave_no_transaction_open() {
    let Some(db) = postgres_or_skip().await else { return };
    let owner = new_user("ledger", &["north"]);
    db.store.user_create(owner.clone(), vec![]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, owner) = (db.store.clone(), owner.clone());
        tasks.push(tokio::spawn(async move {
            let p = new_person(owner.id, "north");
            store.person_insert(p.clone(), vec![event("person.create", i)]).await.unwrap();
            let mut row = p.row.clone();
            row.updated_at += 1;
            assert!(store.person_update(row, p.name_bidx.clone(), 1, vec![event("person.update", i)]).await.unwrap());
            assert!(!store.person_update(p.row.clone(), p.name_bidx.clone(), 1, vec![event("stale", i)]).await.unwrap());
            assert!(store.person_delete(p.row.id, vec![event("person.delete", i)]).await.unwrap());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM audit_events ORDER BY seq").fetch_all(db.store.pool()).await.unwrap();
    assert_eq!(seqs, (1..=24).collect::<Vec<i64>>(), "three events a person, gap-free; the stale update wrote none");
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(open, 0, "no pooled connection is left inside a transaction");
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people").fetch_one(db.store.pool()).await.unwrap();
    assert_eq!(people, 0);
    db.finish().await;
}

async fn concurrent_writers_all_succeed(db: &TestDb) {
    let owner = new_user("busy", &["north"]);
    db.store.user_create(owner.clone(), vec![]).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let p = new_person(owner.id, "north");
                store.person_insert(p.clone(), vec![]).await.unwrap();
                let mut row = store.person_get(p.row.id).await.unwrap().unwrap().row;
                row.tags = vec!["touched".into()];
                assert!(store.person_update(row, Vec::new(), 1, vec![]).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(db.store.people_count().await.unwrap(), 80);
    assert_eq!(count(&db.store, "SELECT COUNT(*) FROM person_tags").await, 80);
}

async fn errors_never_carry_values(db: &TestDb) {
    let s = &db.store;
    let secret_name = "Zofia-Secret-Username";
    s.user_create(new_user(secret_name, &["unit-secret"]), vec![]).await.unwrap();
    let err = s.user_create(new_user(secret_name, &["unit-secret"]), vec![]).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert!(!text.contains("Zofia") && !text.contains("unit-secret"), "{text}");

    let ghost = Uuid::now_v7();
    let err = s.person_insert(new_person(ghost, "unit-secret"), vec![]).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains(&ghost.to_string()) && !text.contains("ct:"), "{text}");

    // A value of the wrong shape in the database: the error names the column, not the value.
    let user = new_user("shape", &["north"]);
    s.user_create(user.clone(), vec![]).await.unwrap();
    sqlx::query("UPDATE users SET disabled = 7 WHERE id = $1").bind(user.id.to_string()).execute(s.pool()).await.unwrap();
    let err = s.user_by_id(user.id).await.unwrap_err();
    assert_eq!(err.to_string(), "database error: unexpected value in column users.disabled");
}

async fn mfa_steps_and_recovery_codes_are_used_once(db: &TestDb) {
    let s = &db.store;
    let user = new_user("totp", &["north"]);
    s.user_create(user.clone(), vec![]).await.unwrap();
    assert!(!s.user_by_id(user.id).await.unwrap().unwrap().mfa_enabled);
    let pending = AccountChange { user: user.id, mfa_pending: Some(vec![1, 2, 3]), ..AccountChange::default() };
    s.account_change(pending, vec![]).await.unwrap();
    assert_eq!(s.mfa_get(user.id).await.unwrap().pending, Some(vec![1, 2, 3]));
    s.account_change(enable(user.id, vec![vec![7; 32], vec![8; 32]]), vec![]).await.unwrap();
    let m = s.mfa_get(user.id).await.unwrap();
    assert_eq!((m.secret, m.pending, m.last_step), (Some(vec![9; 40]), None, 100));
    assert!(s.user_by_name("totp").await.unwrap().unwrap().mfa_enabled);
    assert!(!s.mfa_use_step(user.id, 100).await.unwrap(), "a used step is a replay");
    assert!(!s.mfa_use_step(user.id, 99).await.unwrap());
    assert!(s.mfa_use_step(user.id, 101).await.unwrap());
    assert!(s.recovery_code_use(user.id, &[7; 32], 5).await.unwrap());
    assert!(!s.recovery_code_use(user.id, &[7; 32], 6).await.unwrap(), "a recovery code works once");
    assert!(!s.recovery_code_use(user.id, &[6; 32], 6).await.unwrap());
    s.account_change(AccountChange { user: user.id, mfa_reset: true, ..AccountChange::default() }, vec![]).await.unwrap();
    assert!(s.mfa_get(user.id).await.unwrap().secret.is_none());
    assert!(!s.recovery_code_use(user.id, &[8; 32], 7).await.unwrap(), "codes go with a reset");
    assert!(!s.user_by_id(user.id).await.unwrap().unwrap().mfa_enabled);
}

async fn throttle_rows_and_session_lists(db: &TestDb) {
    let s = &db.store;
    assert!(s.throttle_get("k").await.unwrap().is_none());
    // Counting is one atomic statement: 40 parallel attempts count 40, none lost.
    let mut hits = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let s = s.clone();
        hits.spawn(async move { s.throttle_hit("k", 100, 50).await.unwrap().failures });
    }
    let mut counts = hits.join_all().await;
    counts.sort();
    assert_eq!(counts, (1..=40).collect::<Vec<_>>(), "every attempt saw its own count");
    // A count older than the window starts again; a locked key is not counted.
    assert_eq!(s.throttle_hit("k", 200, 150).await.unwrap().failures, 1);
    s.throttle_lock("k", 210, 900).await.unwrap();
    let locked = s.throttle_hit("k", 220, 150).await.unwrap();
    assert_eq!((locked.failures, locked.locked_until, locked.locks, locked.window_start), (0, 900, 1, 210));
    // A refund or reset for a request that began before the lock leaves it alone.
    s.throttle_refund("k", 205, true).await.unwrap();
    assert_eq!(s.throttle_get("k").await.unwrap().unwrap().locks, 1, "a lock newer than the request stays");
    assert_eq!(s.throttle_hit("k", 1000, 950).await.unwrap().failures, 1);
    assert_eq!(s.throttle_hit("k", 1001, 950).await.unwrap().failures, 2);
    s.throttle_refund("k", 1001, false).await.unwrap();
    assert_eq!(s.throttle_get("k").await.unwrap().unwrap().failures, 1);
    s.throttle_refund("k", 1001, true).await.unwrap();
    let reset = s.throttle_get("k").await.unwrap().unwrap();
    assert_eq!((reset.failures, reset.locks), (0, 0));
    // One lease holder at a time, across any number of racers; the release may leave a delay.
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let s = s.clone();
        racers.spawn(async move { s.throttle_lease("acct", 100, 5000).await.unwrap() });
    }
    let won = racers.join_all().await.into_iter().filter(|won| *won).count();
    assert_eq!(won, 1);
    s.throttle_release("acct", 4999, 0).await.unwrap();
    assert!(!s.throttle_lease("acct", 200, 6000).await.unwrap(), "another's release is ignored");
    s.throttle_release("acct", 5000, 300).await.unwrap();
    assert!(!s.throttle_lease("acct", 250, 6000).await.unwrap(), "the delay holds");
    assert!(s.throttle_lease("acct", 300, 6000).await.unwrap());
    // The sweep forgets what has nothing left to say.
    s.throttle_release("acct", 6000, 0).await.unwrap();
    assert_eq!(s.throttle_sweep(7000, 2000).await.unwrap(), 2);
    assert!(s.throttle_get("k").await.unwrap().is_none());
    for k in ["p:ab:1.2.3.4", "p:ab:2001:db8::/64", "p:abc:1.2.3.4", "u:ab"] {
        s.throttle_hit(k, 10, 0).await.unwrap();
    }
    for k in ["a:1.2.3.4", "a:1.2.3.44", "a:2001:db8::/64", "a:9.9.9.9"] {
        s.throttle_hit(k, 10, 0).await.unwrap();
        s.throttle_lock(k, 10, 5_000).await.unwrap();
    }
    // The addresses the pairs name lose their locks, exactly; others keep theirs.
    s.throttle_clear_addresses("p:ab:").await.unwrap();
    assert!(s.throttle_get("a:1.2.3.4").await.unwrap().is_none());
    assert!(s.throttle_get("a:2001:db8::/64").await.unwrap().is_none());
    assert!(s.throttle_get("p:ab:1.2.3.4").await.unwrap().is_some(), "pair rows stay");
    for k in ["a:1.2.3.44", "a:9.9.9.9"] {
        assert!(s.throttle_get(k).await.unwrap().is_some(), "{k} is not named by a pair");
        s.throttle_clear(k).await.unwrap();
    }
    s.throttle_clear("p:ab:").await.unwrap();
    assert!(s.throttle_get("p:ab:1.2.3.4").await.unwrap().is_none());
    assert!(s.throttle_get("p:ab:2001:db8::/64").await.unwrap().is_none());
    assert!(s.throttle_get("p:abc:1.2.3.4").await.unwrap().is_some(), "a prefix is a prefix");
    s.throttle_clear("u:ab").await.unwrap();
    assert!(s.throttle_get("u:ab").await.unwrap().is_none());

    let user = new_user("lister", &["north"]);
    s.user_create(user.clone(), vec![]).await.unwrap();
    for (i, scope) in ["full", "enroll", "api people:read"].iter().enumerate() {
        s.session_create(
            SessionRow {
                id: Uuid::now_v7(),
                user_id: user.id,
                token_hash: vec![40 + i as u8; 32],
                created_at: 10 + i as i64,
                last_seen: 10,
                expires_at: 1_000,
                scope: scope.to_string(),
                label: format!("l{i}"),
            },
            vec![],
        )
        .await
        .unwrap();
    }
    let list = s.sessions_for_user(user.id).await.unwrap();
    assert_eq!(list.iter().map(|x| x.scope.as_str()).collect::<Vec<_>>(), ["api people:read", "enroll", "full"], "newest first");
    assert_eq!(list[0].label, "l2");
}
