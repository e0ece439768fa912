//! People (data subjects): reads, optimistic updates, erasure and lists. Inserts live in
//! `people_batch`, the bulk-import path.
//!
//! Invariants:
//! - A person's tags and name tokens always match their row: they change in the same
//!   transaction as the row (only the rows that differ are written). Tags are read with the
//!   row, from the same snapshot; name tokens only on their own (`name_tokens_of`), as a read
//!   of a person has no use for them.
//! - An update applies only over the version the caller read (optimistic concurrency); a stale
//!   version changes nothing.
//! - Deleting a person deletes their activities and their subject key in the same transaction:
//!   after a commit, no ciphertext of theirs can be opened (crypto-shredding).
//! - Tags and name tokens come back sorted and without duplicates.

use std::collections::HashMap;

use sejf_core::ports::{AuditEvent, BlindIndex, ListQuery, NameIndex, PersonRow, StoreError, StoredPerson};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::codec::{Arg, ListBinds, bind_all, json_list};
use crate::people_batch::{bidx_args, cipher_args, insert_pairs_sync, insert_tags, insert_tokens, placement_args, sealed_args};
use crate::people_sql::{self as sql, PeopleSql};
use crate::{Backend, SqlStore, Step, error, stmt};
use sejf_core::ports::PersonFields;

/// One person: the batch form with one id (one statement, one row).
pub(crate) async fn get(store: &SqlStore, id: Uuid) -> Result<Option<StoredPerson>, StoreError> {
    Ok(get_many(store, vec![id]).await?.pop())
}

/// The people among `ids` that exist, each once, in no particular order; one statement, one
/// row.
pub(crate) async fn get_many(store: &SqlStore, mut ids: Vec<Uuid>) -> Result<Vec<StoredPerson>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The statement joins the list, so an id twice in it would be a person twice.
    ids.sort_unstable();
    ids.dedup();
    let list = json_list(&ids)?;
    read_people(store, sql::GET_MANY.on(store.backend), &[Arg::Text(&list)], "people get").await
}

/// The people a statement of `people_sql` selects, from its one row of JSON: the one decoder of
/// a stored person, whichever read it was.
async fn read_people(
    store: &SqlStore,
    statement: &'static str,
    args: &[Arg<'_>],
    context: &'static str,
) -> Result<Vec<StoredPerson>, StoreError> {
    let page = store.read_one(statement, args, context, |r| r.text(0, "people")).await?;
    let page = page.ok_or_else(|| StoreError::Backend(format!("{context}: no row")))?;
    let people: Vec<JsonPerson> =
        serde_json::from_str(&page).map_err(|_| StoreError::Backend("people rows are not what the schema says".into()))?;
    people.into_iter().map(JsonPerson::into_stored).collect()
}

/// One person as `people_sql::people_as_json!` renders it, in that order (ciphertexts and the
/// wrapped key in hex).
#[derive(serde::Deserialize)]
struct JsonPerson {
    id: Uuid,
    owner_id: Uuid,
    unit: String,
    company_id: Option<Uuid>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    /// The personal columns as one inner array, in `PersonField::ALL`'s order.
    enc: PersonFields<Option<String>>,
    email_bidx: Option<i64>,
    phone_bidx: Option<i64>,
    national_id_bidx: Option<i64>,
    wrapped: Option<String>,
    tags: Vec<String>,
}

impl JsonPerson {
    fn into_stored(self) -> Result<StoredPerson, StoreError> {
        let bytes = |hex: Option<String>| hex.map(|h| unhex(h.as_bytes())).transpose();
        Ok(StoredPerson {
            row: PersonRow {
                id: self.id,
                owner_id: self.owner_id,
                unit: self.unit,
                company_id: self.company_id,
                version: self.version,
                created_at: self.created_at,
                updated_at: self.updated_at,
                enc: self.enc.try_map(|_, hex| bytes(hex))?,
                tags: self.tags,
                email_bidx: self.email_bidx,
                phone_bidx: self.phone_bidx,
                national_id_bidx: self.national_id_bidx,
            },
            wrapped_key: bytes(self.wrapped)?,
        })
    }
}

/// Decodes hex of either case (SQLite writes upper, PostgreSQL lower); on the read path, so by
/// table rather than the `hex` crate's per-character iterator, which cost a fifth of a batch.
fn unhex(text: &[u8]) -> Result<Vec<u8>, StoreError> {
    const BAD: u8 = 0xff;
    const TABLE: [u8; 256] = {
        let mut t = [BAD; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let bad = || StoreError::Backend("a ciphertext is not hex".into());
    if !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    text.chunks_exact(2)
        .map(|pair| {
            let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
            if hi == BAD || lo == BAD { Err(bad()) } else { Ok(hi << 4 | lo) }
        })
        .collect()
}

/// Replaces the row's fields and tags, and the name tokens with `names`, if the stored version
/// is `expected_version`; the stored version becomes `expected_version + 1`. `created_at` is
/// never changed; the caller sets `updated_at`.
pub(crate) async fn update(
    store: &SqlStore,
    row: PersonRow,
    names: NameIndex,
    expected_version: i64,
    audit: Vec<AuditEvent>,
) -> Result<bool, StoreError> {
    if let Some(w) = &store.writer {
        return w.run(move |c| update_sync(c, &row, &names, expected_version, &audit)).await;
    }
    let backend = store.backend;
    let work = crate::group::work(move |tx| {
        Box::pin(async move {
            let id_text = row.id.to_string();
            let done = bind_all(sqlx::query(sql::UPDATE), &update_args(&id_text, &row, expected_version))
                .execute(&mut **tx)
                .await
                .map_err(error::db("person update"))?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            replace_indexes(tx, backend, &id_text, &row, &names).await.map(|()| true)
        })
    });
    store.write_work(work, audit, "person update").await
}

/// [`update`] on the SQLite writer's connection, inside its group commit: `UPDATE_FIELDS`,
/// then `UPDATE_INDEXED` only rewrites the indexed columns if one of them changes.
fn update_sync(
    conn: &rusqlite::Connection,
    row: &PersonRow,
    names: &[i64],
    expected_version: i64,
    audit: &[AuditEvent],
) -> Result<bool, StoreError> {
    let id_text = row.id.to_string();
    let head = [Arg::Text(&id_text), Arg::Int(expected_version), Arg::Int(row.updated_at)];
    let fields: Vec<Arg<'_>> = head.into_iter().chain(cipher_args(row)).collect();
    if stmt::execute(conn, sql::UPDATE_FIELDS, &fields, "person update")? == 0 {
        return Ok(false);
    }
    let indexed: Vec<Arg<'_>> = [Arg::Text(&id_text)].into_iter().chain(placement_args(row)).chain(bidx_args(row)).collect();
    stmt::execute(conn, sql::UPDATE_INDEXED, &indexed, "person update")?;
    replace_indexes_sync(conn, &id_text, row, names)?;
    crate::audit::insert_sync(conn, audit)?;
    Ok(true)
}

/// `sql::UPDATE`'s values: the id, the version read, then the columns.
fn update_args<'a>(id_text: &'a str, row: &'a PersonRow, expected_version: i64) -> Vec<Arg<'a>> {
    let head = [Arg::Text(id_text), Arg::Int(expected_version)];
    head.into_iter().chain(placement_args(row)).chain([Arg::Int(row.updated_at)]).chain(sealed_args(row)).collect()
}

/// What turns a person's stored index rows into `new`: the stored ones `new` lacks (to delete)
/// and `new`'s not stored (to insert, once each). Most updates keep the name and the tags (a
/// note, a phone number), and then no index row is written: a name's tokens and their prefixes
/// are a score of rows, each in two B-trees besides the table's.
fn changes<T: PartialEq + Clone>(stored: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let gone = stored.iter().filter(|s| !new.contains(s)).cloned().collect();
    let mut added: Vec<T> = Vec::new();
    for n in new {
        if !stored.contains(n) && !added.contains(n) {
            added.push(n.clone());
        }
    }
    (gone, added)
}

/// Makes the person's tags `row`'s and name tokens `names`, on the SQLite writer's connection.
fn replace_indexes_sync(conn: &rusqlite::Connection, id_text: &str, row: &PersonRow, names: &[i64]) -> Result<(), StoreError> {
    let id = [Arg::Text(id_text)];
    let mut tags: Vec<String> = Vec::new();
    stmt::query_each(conn, sql::TAGS_OF, &id, "person tags", |r| {
        tags.push(r.get(0).map_err(|_| error::corrupt("person tags"))?);
        Ok(())
    })?;
    let (gone_tags, new_tags) = changes(&tags, &row.tags);
    for tag in &gone_tags {
        stmt::execute(conn, sql::DELETE_TAG, &[Arg::Text(id_text), Arg::Text(tag)], "person tags")?;
    }
    let tags: Vec<(&str, &str)> = new_tags.iter().map(|t| (id_text, t.as_str())).collect();
    insert_pairs_sync(conn, &tags, &[])?;
    replace_tokens_sync(conn, id_text, names)
}

/// Makes the person's name tokens `names`, on the SQLite writer's connection.
fn replace_tokens_sync(conn: &rusqlite::Connection, id_text: &str, names: &[i64]) -> Result<(), StoreError> {
    let mut tokens: Vec<i64> = Vec::new();
    stmt::query_each(conn, sql::TOKENS_OF, &[Arg::Text(id_text)], "person name tokens", |r| {
        tokens.push(r.get(0).map_err(|_| error::corrupt("person name tokens"))?);
        Ok(())
    })?;
    let (gone, added) = changes(&tokens, names);
    for token in &gone {
        stmt::execute(conn, sql::DELETE_TOKEN, &[Arg::Text(id_text), Arg::Int(*token)], "person name tokens")?;
    }
    let tokens: Vec<(&str, i64)> = added.iter().map(|t| (id_text, *t)).collect();
    insert_pairs_sync(conn, &[], &tokens)
}

/// Makes the person's tags `row`'s and name tokens `names`, inside `tx`.
async fn replace_indexes(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    id_text: &str,
    row: &PersonRow,
    names: &[i64],
) -> Result<(), StoreError> {
    let stored: Vec<String> =
        sqlx::query_scalar(sql::TAGS_OF).bind(id_text).fetch_all(&mut **tx).await.map_err(error::db("person tags"))?;
    let (gone, added) = changes(&stored, &row.tags);
    for tag in &gone {
        sqlx::query(sql::DELETE_TAG).bind(id_text).bind(tag.as_str()).execute(&mut **tx).await.map_err(error::db("person tags"))?;
    }
    let pairs: Vec<(&str, &str)> = added.iter().map(|t| (id_text, t.as_str())).collect();
    insert_tags(tx, backend, &pairs).await?;
    replace_tokens(tx, backend, id_text, names).await
}

/// Makes the person's name tokens `tokens`, inside `tx`.
async fn replace_tokens(tx: &mut Transaction<'static, Any>, backend: Backend, id_text: &str, tokens: &[i64]) -> Result<(), StoreError> {
    let stored: Vec<i64> =
        sqlx::query_scalar(sql::TOKENS_OF).bind(id_text).fetch_all(&mut **tx).await.map_err(error::db("person name tokens"))?;
    let (gone, added) = changes(&stored, tokens);
    for token in gone {
        sqlx::query(sql::DELETE_TOKEN).bind(id_text).bind(token).execute(&mut **tx).await.map_err(error::db("person name tokens"))?;
    }
    let pairs: Vec<(&str, i64)> = added.iter().map(|t| (id_text, *t)).collect();
    insert_tokens(tx, backend, &pairs).await
}

/// The name tokens of the people among `ids`, each person's sorted; one statement.
pub(crate) async fn name_tokens_of(store: &SqlStore, ids: Vec<Uuid>) -> Result<HashMap<Uuid, NameIndex>, StoreError> {
    let mut of: HashMap<Uuid, NameIndex> = ids.iter().map(|id| (*id, Vec::new())).collect();
    if ids.is_empty() {
        return Ok(of);
    }
    let list = json_list(&ids)?;
    let args = [Arg::Text(&list)];
    store
        .read_rows(sql::NAME_TOKENS_OF_MANY.on(store.backend), &args, "person name tokens", |r| {
            of.entry(r.uuid(0, "person_name_tokens.person_id")?).or_default().push(r.int(1, "person_name_tokens.token")?);
            Ok(())
        })
        .await?;
    Ok(of)
}

/// Replaces a person's name tokens (a rebuild of the name index; nothing else changes) if the
/// person is still at `version`; false, with nothing written, otherwise. The check and the
/// write are one transaction, so an update committed after the rebuild read the person keeps
/// the tokens it wrote. Written as every change is, as a unit of the group commit (SQLite's
/// writer, PostgreSQL's `group`), so a rebuild's concurrent rewrites share commits; through the
/// pool, SQLite's log was never restarted behind them and grew past 26 GB over a million people.
pub(crate) async fn replace_name_tokens(store: &SqlStore, id: Uuid, version: i64, tokens: NameIndex) -> Result<bool, StoreError> {
    let id_text = id.to_string();
    if let Some(w) = &store.writer {
        return w
            .run(move |c| {
                if stmt::execute(c, sql::HOLD_VERSION, &[Arg::Text(&id_text), Arg::Int(version)], "person version")? == 0 {
                    return Ok(false);
                }
                replace_tokens_sync(c, &id_text, &tokens).map(|()| true)
            })
            .await;
    }
    let backend = store.backend;
    let work = crate::group::work(move |tx| {
        Box::pin(async move {
            let held = sqlx::query(sql::HOLD_VERSION).bind(&id_text).bind(version).execute(&mut **tx).await;
            if held.map_err(error::db("person version"))?.rows_affected() == 0 {
                return Ok(false);
            }
            // Tokens are counted with their person's row (ADR 0028), which the hold touched.
            replace_tokens(tx, backend, &id_text, &tokens).await.map(|()| true)
        })
    });
    store.write_work(work, Vec::new(), "person name tokens").await
}

const INDEX_VERSION: &str = "SELECT version FROM index_state WHERE name = $1";
const INDEX_VERSION_SET: &str =
    "INSERT INTO index_state (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = excluded.version";

pub(crate) async fn index_version(store: &SqlStore, name: &str) -> Result<i64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar(INDEX_VERSION).bind(name.to_owned()).fetch_optional(&store.pool).await.map_err(error::db("index state"))?;
    Ok(v.unwrap_or(0))
}

pub(crate) async fn set_index_version(store: &SqlStore, name: &str, version: i64) -> Result<(), StoreError> {
    store.write(INDEX_VERSION_SET, vec![Arg::Owned(name.to_owned()), Arg::Int(version)], "index state").await.map(|_| ())
}

/// Deletes the person, their activities (and, by migration 25's trigger, tags and name tokens;
/// deals only lose the link) and their subject key. False, with nothing changed, if there is no
/// such person.
pub(crate) async fn delete(store: &SqlStore, id: Uuid, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let at = audit.first().map_or(0, |e| e.at);
    erase_with(store, Vec::new(), id, at, audit).await
}

/// Writes `first` (an erasure's suppression entries and receipt), then deletes the person as
/// [`delete`] does, with `audit`, in one transaction; on SQLite answered once the write-ahead
/// log no longer holds their pages (`Writer::run_erasing`). False, with nothing written, if
/// there is no such person.
pub(crate) async fn erase_with(
    store: &SqlStore,
    mut steps: Vec<Step>,
    id: Uuid,
    at: i64,
    audit: Vec<AuditEvent>,
) -> Result<bool, StoreError> {
    let id = || Arg::Owned(id.to_string());
    steps.push(Step::new(sql::DELETE_ACTIVITIES, vec![id()], "person delete activities"));
    steps.push(Step::required(sql::DELETE, vec![id()], "person delete"));
    steps.push(Step::new(sql::DELETE_KEY, vec![id()], "person delete key"));
    // The erasure ledger (docs/adr/0019-backups.md): every restore re-applies it, so a backup
    // taken before this erasure never brings the person back.
    steps.push(Step::new(crate::backup::LEDGER_APPEND, vec![id(), Arg::Int(at)], "erasure ledger"));
    store.erase_steps(steps, audit).await
}

/// A page of visible people in id order, optionally restricted to one blind-index value, with
/// tags and name tokens loaded: one statement, so one snapshot.
pub(crate) async fn list(store: &SqlStore, bidx: Option<(BlindIndex, i64)>, query: ListQuery) -> Result<Vec<StoredPerson>, StoreError> {
    let (statement, value): (&PeopleSql, Option<i64>) = match bidx {
        None => (&sql::LIST, None),
        Some((column, value)) => (sql::by_bidx(column), Some(value)),
    };
    let binds = ListBinds::new(&query);
    let mut args = binds.args_with_tag();
    args.extend(value.map(Arg::Int));
    // An exact search on SQLite asks first for any `limit` of its matches: fewer are all of them,
    // hence the page once sorted, without the ordered statement's temporary B-trees. A search
    // with a full page of matches asks again for the ordered page.
    if let (Backend::Sqlite, Some(unordered)) = (store.backend, bidx.and_then(|(column, _)| sql::exact_unordered(column))) {
        let mut people = read_people(store, unordered, &args, "people search").await?;
        if people.len() < query.limit as usize {
            people.sort_unstable_by_key(|p| p.row.id);
            return Ok(people);
        }
    }
    let mut people = read_people(store, statement.on(store.backend), &args, "people list").await?;
    // Ids are compared as bytes on both engines (text in SQLite, COLLATE "C" in PostgreSQL), as
    // `Uuid` orders them.
    people.sort_unstable_by_key(|p| p.row.id);
    Ok(people)
}

pub(crate) async fn count(store: &SqlStore) -> Result<i64, StoreError> {
    sqlx::query_scalar(sql::COUNT).fetch_one(&store.pool).await.map_err(error::db("people count"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{sql, unhex};

    /// PostgreSQL's one-statement insert takes the row's values from `$7` to its last, after
    /// the key's.
    #[test]
    fn one_statement_insert_numbers_its_row_after_the_key() {
        let row: Vec<String> = (sql::ONE_PERSON_FIRST..sql::ONE_PERSON_FIRST + sql::INSERT_COLUMNS).map(|n| format!("${n}")).collect();
        assert!(sql::ONE_PERSON.contains("'subject', $1, $4, $5, $6)) INSERT INTO people ("), "{}", sql::ONE_PERSON);
        assert!(sql::ONE_PERSON.ends_with(&format!(") VALUES ({})", row.join(", "))), "{}", sql::ONE_PERSON);
    }

    #[test]
    fn hex_of_either_case_decodes_and_anything_else_is_refused() {
        assert_eq!(unhex(b"00ff0A7f").unwrap(), vec![0x00, 0xff, 0x0a, 0x7f]);
        assert_eq!(unhex(b"").unwrap(), Vec::<u8>::new());
        for bad in [&b"abc"[..], b"0g", b"  ", b"\xff\xff"] {
            assert!(unhex(bad).is_err(), "{bad:?}");
        }
    }
}
