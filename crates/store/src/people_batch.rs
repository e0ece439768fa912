//! Inserting people: one, or many in one transaction (the bulk-import path).
//!
//! Speed comes from the multi-row statements of `multirow`: ten thousand people cost a few
//! hundred statements instead of tens of thousands of round trips.
//!
//! Invariants: a batch is all or nothing (one transaction; one bad row, e.g. a duplicate id,
//! rolls back every row); each person's subject key, row, tags and name tokens are written
//! together; duplicate tags or tokens of one person are stored once.

use sejf_core::ports::{AuditEvent, ImportStep, NewPerson, PersonKeys, PersonRow, StoreError};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::codec::{self, Arg, bind_all};
use crate::multirow::{insert_chunked, insert_chunked_sync, multi_row};
use crate::people_sql as sql;
use crate::{Backend, SqlStore, error};

pub(crate) async fn insert_batch(store: &SqlStore, people: Vec<NewPerson>, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    if people.is_empty() {
        return Ok(());
    }
    if let Some(w) = &store.writer {
        return w.run(move |c| insert_sync(c, &people, &audit)).await;
    }
    let backend = store.backend;
    let work = crate::group::work(move |tx| Box::pin(async move { insert_in(tx, backend, &people).await.map(|()| true) }));
    store.write_work(work, audit, "person insert").await.map(drop)
}

/// A batch's rows in the shapes the statements take: `(id, person)`, `(id, tag)` and
/// `(id, name token)`, borrowing the ids' text from `ids`.
struct Rows<'a> {
    people: Vec<(&'a str, &'a NewPerson)>,
    tags: Vec<(&'a str, &'a str)>,
    tokens: Vec<(&'a str, i64)>,
}

fn ids(people: &[NewPerson]) -> Vec<String> {
    people.iter().map(|p| p.row.id.to_string()).collect()
}

impl<'a> Rows<'a> {
    /// The rows of `people`, each tag and name token of a person once, in their primary keys'
    /// order ((person, tag) and (token, person)), so that the inserts walk each tree front to
    /// back instead of landing at random in it, and need no `ON CONFLICT` clause: a person is
    /// new, so nothing stored can collide with their rows.
    fn new(ids: &'a [String], people: &'a [NewPerson]) -> Rows<'a> {
        let people: Vec<(&str, &NewPerson)> = ids.iter().map(String::as_str).zip(people).collect();
        let mut tags: Vec<(&str, &str)> = people.iter().flat_map(|(id, p)| p.row.tags.iter().map(move |t| (*id, t.as_str()))).collect();
        tags.sort_unstable();
        tags.dedup();
        let mut tokens: Vec<(&str, i64)> = people.iter().flat_map(|(id, p)| p.name_bidx.iter().map(move |t| (*id, *t))).collect();
        tokens.sort_unstable_by_key(|&(id, token)| (token, id));
        tokens.dedup();
        Rows { people, tags, tokens }
    }
}

/// Writes people inside `tx` (their events are the caller's to write).
async fn insert_in(tx: &mut Transaction<'static, Any>, backend: Backend, people: &[NewPerson]) -> Result<(), StoreError> {
    let ids = ids(people);
    let rows = Rows::new(&ids, people);
    if let (Backend::Postgres, [one]) = (backend, &rows.people[..]) {
        return insert_one_postgres(tx, one, &rows).await;
    }
    insert_chunked(tx, backend, &KEY_INSERTS, &rows.people, |q, r| bind_all(q, &key_args(r)), "person key insert").await?;
    insert_chunked(tx, backend, &PERSON_INSERTS, &rows.people, |q, r| bind_all(q, &person_args(r)), "person insert").await?;
    insert_tags(tx, backend, &rows.tags).await?;
    insert_tokens(tx, backend, &rows.tokens).await
}

/// One new person on PostgreSQL in one statement ([`sql::ONE_PERSON`]): a `POST /people` was two to
/// ten round trips, run one after another on the group commit's connection (the key, the row,
/// and the tags and name tokens in chunks of 16, 8, 4, 2 and 1; docs/benchmarks.md §4z).
async fn insert_one_postgres(tx: &mut Transaction<'static, Any>, person: &(&str, &NewPerson), rows: &Rows<'_>) -> Result<(), StoreError> {
    let (id, p) = *person;
    let tags = codec::json_list(&rows.tags.iter().map(|(_, tag)| *tag).collect::<Vec<_>>())?;
    let tokens = codec::json_list(&rows.tokens.iter().map(|(_, token)| *token).collect::<Vec<_>>())?;
    let head = [Arg::Text(id), Arg::Text(&tags), Arg::Text(&tokens), Arg::Int(i64::from(p.master_version)), Arg::Blob(&p.wrapped_key)];
    let args: Vec<Arg<'_>> = head.into_iter().chain([Arg::Int(p.row.created_at)]).chain(person_args(person)).collect();
    bind_all(sqlx::query(sql::ONE_PERSON), &args).execute(&mut **tx).await.map_err(error::db("person insert")).map(drop)
}

/// [`insert_in`] on the SQLite writer's connection, inside its group commit.
pub(crate) fn insert_sync(conn: &rusqlite::Connection, people: &[NewPerson], audit: &[AuditEvent]) -> Result<(), StoreError> {
    let ids = ids(people);
    let rows = Rows::new(&ids, people);
    insert_chunked_sync(conn, &KEY_INSERTS, &rows.people, key_args, "person key insert")?;
    insert_chunked_sync(conn, &PERSON_INSERTS, &rows.people, person_args, "person insert")?;
    insert_pairs_sync(conn, &rows.tags, &rows.tokens)?;
    crate::audit::insert_sync(conn, audit)
}

/// Tags and name tokens on the SQLite writer's connection (see [`insert_tags`] and
/// [`insert_tokens`]).
pub(crate) fn insert_pairs_sync(conn: &rusqlite::Connection, tags: &[(&str, &str)], tokens: &[(&str, i64)]) -> Result<(), StoreError> {
    insert_chunked_sync(conn, &TAG_INSERTS, tags, tag_args, "person tags")?;
    insert_chunked_sync(conn, &TOKEN_INSERTS, tokens, token_args, "person name tokens")
}

const JOB_UPSERT: &str = "INSERT INTO import_jobs (id, rows_done, started_at, updated_at, finished) VALUES ($1, $2, $3, $3, 0) \
     ON CONFLICT (id) DO UPDATE SET rows_done = excluded.rows_done, updated_at = excluded.updated_at";
const JOB_GET: &str = "SELECT rows_done, finished FROM import_jobs WHERE id = $1";
const JOB_FINISH: &str = "UPDATE import_jobs SET finished = 1, updated_at = $2 WHERE id = $1";
const KEYS_PAGE: &str =
    "SELECT id, email_bidx, phone_bidx, national_id_bidx FROM people WHERE id > $1 ORDER BY id LIMIT CAST($2 AS INTEGER)";

/// See `Store::people_import`.
pub(crate) async fn import(
    store: &SqlStore,
    job: Option<String>,
    now: i64,
    steps: tokio::sync::mpsc::Receiver<ImportStep>,
) -> Result<u64, StoreError> {
    if let Some(w) = &store.writer {
        return import_sync(w, job, now, steps).await;
    }
    let inserted = import_pooled(store, job, now, steps).await?;
    if store.backend == Backend::Postgres {
        analyze(store).await;
    }
    Ok(inserted)
}

/// The tables an import fills, analysed once it has committed (PostgreSQL).
const ANALYZE: &str = "ANALYZE people, person_tags, person_name_tokens, keystore";

/// Gives PostgreSQL's planner the statistics of what an import wrote, at once rather than
/// whenever autovacuum gets to it (if it runs at all: CI's server has it off). Without them the
/// planner estimates a freshly filled table from defaults (docs/benchmarks.md §4e). A role that
/// may not analyse (not the tables' owner) gets a warning; the import stands.
async fn analyze(store: &SqlStore) {
    if let Err(e) = sqlx::query(ANALYZE).execute(&store.pool).await {
        tracing::warn!(error = %error::db("analyze after import")(e), "the import is written, but its statistics were not updated");
    }
}

/// The import on a pooled connection (PostgreSQL, or SQLite without a file).
async fn import_pooled(
    store: &SqlStore,
    job: Option<String>,
    now: i64,
    mut steps: tokio::sync::mpsc::Receiver<ImportStep>,
) -> Result<u64, StoreError> {
    let mut inserted = 0u64;
    match job {
        None => {
            let mut tx = store.begin_write().await?;
            while let Some(step) = steps.recv().await {
                match step {
                    ImportStep::Batch { people, audit, .. } => {
                        insert_in(&mut tx, store.backend, &people).await?;
                        crate::audit::insert(&mut tx, store.backend, &audit).await?;
                        inserted += people.len() as u64;
                    }
                    ImportStep::Finish => {
                        tx.commit().await.map_err(error::db("import commit"))?;
                        return Ok(inserted);
                    }
                }
            }
            // The sender stopped without finishing: nothing of the import stays.
            tx.rollback().await.map_err(error::db("import rollback"))?;
            Err(StoreError::Backend("the import stopped before its end; nothing was written".into()))
        }
        Some(id) => {
            while let Some(step) = steps.recv().await {
                match step {
                    ImportStep::Batch { people, audit, rows_done } => {
                        let mut tx = store.begin_write().await?;
                        insert_in(&mut tx, store.backend, &people).await?;
                        sqlx::query(JOB_UPSERT)
                            .bind(id.clone())
                            .bind(rows_done)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(error::db("import job"))?;
                        crate::audit::commit_with(tx, store.backend, &audit, "import batch").await?;
                        inserted += people.len() as u64;
                    }
                    ImportStep::Finish => return Ok(inserted),
                }
            }
            Ok(inserted)
        }
    }
}

/// The writer's page cache during an all-or-nothing import (in KiB), and after it (SQLite's
/// default).
const IMPORT_CACHE: &str = "PRAGMA cache_size=-524288";
const DEFAULT_CACHE: &str = "PRAGMA cache_size=-2000";

/// [`import`] on the SQLite writer. All or nothing: one unit that takes the batches as they
/// come (blocking the writer's thread, which has nothing else to do during an import that
/// holds the write lock anyway) and commits at `Finish`. So whatever feeds the import must not
/// wait for another write of this store before `Finish`: it would wait for ever (the import's
/// feeder in `csvio` only seals and reads). With a job: one unit per batch, each committing its
/// rows with the job's progress.
async fn import_sync(
    w: &crate::writer::Writer,
    job: Option<String>,
    now: i64,
    mut steps: tokio::sync::mpsc::Receiver<ImportStep>,
) -> Result<u64, StoreError> {
    let Some(id) = job else {
        return w
            .run_alone(move |c| {
                // The transaction's changed pages stay in memory instead of spilling to the
                // log again and again (section 4d of docs/benchmarks.md); given back after. A
                // large import builds its indexes at its end (`bulk`, ADR 0033).
                crate::stmt::execute(c, IMPORT_CACHE, &[], "import")?;
                let result = (|| {
                    let mut inserted = 0u64;
                    let mut bulk = crate::bulk::Bulk::begin(c, crate::bulk::BULK_FROM)?;
                    while let Some(step) = steps.blocking_recv() {
                        match step {
                            ImportStep::Batch { people, audit, .. } => {
                                bulk.before_batch(c, inserted)?;
                                insert_sync(c, &people, &audit)?;
                                inserted += people.len() as u64;
                            }
                            ImportStep::Finish => return bulk.finish(c).map(|()| inserted),
                        }
                    }
                    // The sender stopped without finishing: the writer rolls the import back.
                    Err(StoreError::Backend("the import stopped before its end; nothing was written".into()))
                })();
                crate::stmt::execute(c, DEFAULT_CACHE, &[], "import")?;
                result
            })
            .await;
    };
    let mut inserted = 0u64;
    while let Some(step) = steps.recv().await {
        match step {
            ImportStep::Batch { people, audit, rows_done } => {
                let n = people.len() as u64;
                let id = id.clone();
                w.run(move |c| {
                    insert_sync(c, &people, &audit)?;
                    crate::stmt::execute(c, JOB_UPSERT, &[Arg::Text(&id), Arg::Int(rows_done), Arg::Int(now)], "import job").map(|_| ())
                })
                .await?;
                inserted += n;
            }
            ImportStep::Finish => return Ok(inserted),
        }
    }
    Ok(inserted)
}

pub(crate) async fn job(store: &SqlStore, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as(JOB_GET).bind(id.to_owned()).fetch_optional(&store.pool).await.map_err(error::db("import job"))?;
    Ok(row.map(|(done, finished)| (done, finished != 0)))
}

pub(crate) async fn job_finish(store: &SqlStore, id: &str, now: i64) -> Result<(), StoreError> {
    // A file whose every row was a duplicate never wrote a batch: record it as started now.
    sqlx::query(JOB_UPSERT).bind(id.to_owned()).bind(-1i64).bind(now).execute(&store.pool).await.map_err(error::db("import job"))?;
    sqlx::query(JOB_FINISH).bind(id.to_owned()).bind(now).execute(&store.pool).await.map_err(error::db("import job"))?;
    Ok(())
}

pub(crate) async fn keys(store: &SqlStore, after: Option<Uuid>, limit: u32) -> Result<Vec<PersonKeys>, StoreError> {
    let rows = sqlx::query(KEYS_PAGE)
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await
        .map_err(error::db("people keys"))?;
    rows.iter()
        .map(|r| {
            Ok(PersonKeys {
                id: codec::uuid(r, 0, "people.id")?,
                email_bidx: codec::get(r, 1, "people.email_bidx")?,
                phone_bidx: codec::get(r, 2, "people.phone_bidx")?,
                national_id_bidx: codec::get(r, 3, "people.national_id_bidx")?,
            })
        })
        .collect()
}

/// Inserts `(person id, tag)` pairs, each new (a pair already stored is a Conflict).
pub(crate) async fn insert_tags(tx: &mut Transaction<'static, Any>, backend: Backend, tags: &[(&str, &str)]) -> Result<(), StoreError> {
    insert_chunked(tx, backend, &TAG_INSERTS, tags, |q, t| bind_all(q, &tag_args(t)), "person tags").await
}

/// Inserts `(person id, name token)` pairs, each new (a pair already stored is a Conflict).
pub(crate) async fn insert_tokens(tx: &mut Transaction<'static, Any>, backend: Backend, tokens: &[(&str, i64)]) -> Result<(), StoreError> {
    insert_chunked(tx, backend, &TOKEN_INSERTS, tokens, |q, t| bind_all(q, &token_args(t)), "person name tokens").await
}

fn tag_args<'a>((id, tag): &'a (&'a str, &'a str)) -> [Arg<'a>; PAIR_COLS] {
    [Arg::Text(id), Arg::Text(tag)]
}

fn token_args<'a>((id, token): &'a (&'a str, i64)) -> [Arg<'a>; PAIR_COLS] {
    [Arg::Int(*token), Arg::Text(id)]
}

fn key_args<'a>((id, p): &'a (&'a str, &'a NewPerson)) -> [Arg<'a>; KEY_COLS] {
    [Arg::Text(id), Arg::Int(i64::from(p.master_version)), Arg::Blob(&p.wrapped_key), Arg::Int(p.row.created_at)]
}

/// A person's sealed columns in table order: the ciphertexts of the personal fields, then the
/// three blind indexes (shared by the insert and the update).
pub(crate) fn sealed_args(row: &PersonRow) -> impl Iterator<Item = Arg<'_>> {
    cipher_args(row).chain(bidx_args(row))
}

/// The ciphertexts of a person's personal fields, in table order.
pub(crate) fn cipher_args(row: &PersonRow) -> impl Iterator<Item = Arg<'_>> {
    row.enc.iter().map(|(_, blob)| Arg::OptBlob(blob.as_deref()))
}

/// A person's three blind indexes: e-mail, phone, national id.
pub(crate) fn bidx_args(row: &PersonRow) -> [Arg<'_>; 3] {
    [Arg::OptInt(row.email_bidx), Arg::OptInt(row.phone_bidx), Arg::OptInt(row.national_id_bidx)]
}

/// Where a person is placed: owner, unit, company (the insert's and every update's order).
pub(crate) fn placement_args(row: &PersonRow) -> [Arg<'_>; 3] {
    [Arg::Owned(row.owner_id.to_string()), Arg::Text(&row.unit), Arg::OptOwned(codec::opt_uuid_text(row.company_id))]
}

fn person_args<'a>((id, p): &'a (&'a str, &'a NewPerson)) -> Vec<Arg<'a>> {
    let row = &p.row;
    let times = [Arg::Int(row.version), Arg::Int(row.created_at), Arg::Int(row.updated_at)];
    [Arg::Text(id)].into_iter().chain(placement_args(row)).chain(times).chain(sealed_args(row)).collect()
}

// ---- The generated statements ----------------------------------------------------------------
//
// Sizes: large enough that the per-statement cost vanishes, small enough to stay far below the
// bind-parameter limits (SQLite 32766, PostgreSQL 65535): 64 people × 18 columns = 1152.

const KEY_HEAD: &str = "INSERT INTO keystore (kind, id, master_version, wrapped, created_at) VALUES ";
const KEY_ROW: &str = "'subject', ";
const KEY_COLS: usize = 4;

const PERSON_COLS: usize = sql::INSERT_COLUMNS;

const TAG_HEAD: &str = "INSERT INTO person_tags (person_id, tag) VALUES ";
const TOKEN_HEAD: &str = "INSERT INTO person_name_tokens (token, person_id) VALUES ";
const PAIR_COLS: usize = 2;

// A person is new, so their key, tags and tokens collide with nothing stored: on SQLite these
// inserts fail rather than abort, without a statement journal (`multirow::sqlite_head`).
multi_row!(KEY_INSERTS = KEY_HEAD, KEY_ROW, KEY_COLS, [64, 8, 1], "", or_fail);
multi_row!(PERSON_INSERTS = sql::INSERT_HEAD, "", PERSON_COLS, [64, 8, 1], "");
// A person's tags and name tokens (a few, and about eight for a two-word name) go in at most
// four statements, whatever their number up to 16: on PostgreSQL each is a round trip.
multi_row!(TAG_INSERTS = TAG_HEAD, "", PAIR_COLS, [256, 16, 8, 4, 2, 1], "", or_fail);
multi_row!(TOKEN_INSERTS = TOKEN_HEAD, "", PAIR_COLS, [256, 16, 8, 4, 2, 1], "", or_fail);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_statements_are_well_formed() {
        let (key_1, tag_16, person_64) = (&KEY_INSERTS[2], &TAG_INSERTS[1], &PERSON_INSERTS[0]);
        assert_eq!(
            key_1.numbered,
            "INSERT INTO keystore (kind, id, master_version, wrapped, created_at) VALUES ('subject', $1, $2, $3, $4)"
        );
        assert_eq!(
            key_1.anonymous,
            "INSERT OR FAIL INTO keystore (kind, id, master_version, wrapped, created_at) VALUES ('subject', ?, ?, ?, ?)"
        );
        let pairs = |f: &dyn Fn(usize) -> String| (0..16).map(f).collect::<Vec<_>>().join(", ");
        assert_eq!(
            tag_16.numbered,
            format!("INSERT INTO person_tags (person_id, tag) VALUES {}", pairs(&|r| format!("(${}, ${})", 2 * r + 1, 2 * r + 2)))
        );
        assert_eq!(
            tag_16.anonymous,
            format!("INSERT OR FAIL INTO person_tags (person_id, tag) VALUES {}", pairs(&|_| "(?, ?)".to_owned()))
        );
        assert!(person_64.anonymous.starts_with("INSERT INTO people "), "a person's row keeps SQLite's default");
        assert!(person_64.numbered.ends_with(&format!("${})", 64 * PERSON_COLS)));
        assert_eq!(person_64.anonymous.matches('?').count(), 64 * PERSON_COLS);
        assert!(!person_64.numbered.contains('\0') && !person_64.anonymous.contains('\0'));
    }

    #[test]
    fn every_chunk_list_ends_with_a_single_row() {
        for list in [&KEY_INSERTS[..], &PERSON_INSERTS, &TAG_INSERTS, &TOKEN_INSERTS] {
            assert_eq!(list[list.len() - 1].rows, 1);
            assert!(list.windows(2).all(|w| w[0].rows > w[1].rows));
        }
    }

    /// The statements `insert_chunked` sends for `n` rows, by their sizes.
    fn chunks(list: &[crate::multirow::MultiRow], mut n: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        while let Some(statement) = crate::multirow::largest_fitting(list, n) {
            sizes.push(statement.rows);
            n -= statement.rows;
        }
        sizes
    }

    /// A person's tags and name tokens cost at most four statements (round trips on
    /// PostgreSQL) up to 16 of them: eight tokens are one statement, not eight.
    #[test]
    fn a_persons_tokens_go_in_few_statements() {
        assert_eq!(chunks(&TOKEN_INSERTS, 8), [8]);
        assert_eq!(chunks(&TOKEN_INSERTS, 11), [8, 2, 1]);
        assert_eq!(chunks(&TOKEN_INSERTS, 0), Vec::<usize>::new());
        assert_eq!(chunks(&TOKEN_INSERTS, 600), [256, 256, 16, 16, 16, 16, 16, 8]);
        for n in 1..=16 {
            for list in [&TAG_INSERTS, &TOKEN_INSERTS] {
                let sizes = chunks(list, n);
                assert_eq!(sizes.iter().sum::<usize>(), n);
                assert!(sizes.len() <= 4, "{n} rows in {sizes:?}");
            }
        }
    }
}
