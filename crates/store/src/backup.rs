//! Logical, engine-neutral snapshots of the database for backups, and restoring one into an
//! empty database of either engine (a SQLite backup restores into PostgreSQL and back).
//!
//! Invariants:
//! - A snapshot is read in one read transaction (one consistent view while servers keep
//!   writing). Ciphertexts and wrapped keys are copied as they are: nothing is decrypted.
//! - [`TABLES`] lists every table a restored installation needs, parents before children; a
//!   test checks it against the migrated schema, so a new table cannot be forgotten silently.
//!   Left out on purpose: sessions and sign-in throttles (a restore signs everyone out), the
//!   audit head (recomputed), the migration bookkeeping, the restore marker and the count of
//!   changes SQLite's readers watch (`data_generation`, this database's own).
//! - A restore refuses a database that holds data. It commits a marker first and the data, the
//!   re-applied erasure ledger and the marker's removal in one transaction after it, so a killed
//!   restore leaves an empty database with the marker, which `sejf serve` refuses.
//! - Rows travel in a small self-describing encoding ([`encode`]/[`RowReader`]); a table's digest
//!   is order-independent (the sum of its rows' SHA-256), so both engines agree on it whatever
//!   order they return rows in.

use std::io::Read;

use futures_util::TryStreamExt;
use sejf_core::ports::StoreError;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codec::AnyQuery;
use crate::multirow::{MultiRow, insert_chunked, multi_row};
use crate::people_sql as people;
use crate::{Backend, SqlStore, error};

/// The type of a column, as both engines store it (integer, text, blob; each nullable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Int,
    Text,
    Blob,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// A table a backup holds.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, ColType)],
    select: &'static str,
    many: MultiRow,
    one: MultiRow,
}

/// Rows per multi-row INSERT during a restore.
const ROWS_PER_INSERT: usize = 32;
/// Rows read ahead of each batch of inserts.
const BATCH: usize = 1024;

macro_rules! table {
    ($name:literal, $order:literal, $first:literal : $fty:ident $(, $col:literal : $ty:ident)* $(,)?) => {{
        const COLUMNS: &[(&str, ColType)] = &[($first, ColType::$fty) $(, ($col, ColType::$ty))*];
        const HEAD: &str = concat!("INSERT INTO ", $name, " (", $first $(, ", ", $col)*, ") VALUES ");
        multi_row!(MANY = HEAD, "", COLUMNS.len(), ROWS_PER_INSERT, "");
        multi_row!(ONE = HEAD, "", COLUMNS.len(), 1, "");
        Table { name: $name, columns: COLUMNS, select: concat!("SELECT ", $first $(, ", ", $col)*, " FROM ", $name, $order), many: MANY, one: ONE }
    }};
}

/// Every table a backup holds, parents before children (the order a restore inserts them in).
pub const TABLES: &[Table] = &[
    table!("units", "", "slug": Text, "created_at": Int),
    table!("users", "", "id": Text, "username": Text, "password_hash": Text, "role": Text, "disabled": Int, "created_at": Int,
        "service": Int, "totp_secret": Blob, "totp_pending": Blob, "totp_last_step": Int, "must_change_password": Int),
    table!("user_units", "", "user_id": Text, "unit": Text, "ord": Int),
    table!("role_grants", "", "id": Text, "user_id": Text, "username": Text, "role": Text, "kind": Text,
        "requested_by_id": Text, "requested_by": Text, "requested_at": Int, "status": Text, "decided_by": Text, "decided_at": Int),
    table!("recovery_codes", "", "user_id": Text, "code_hash": Blob, "used_at": Int),
    table!("keystore", "", "kind": Text, "id": Text, "master_version": Int, "wrapped": Blob, "created_at": Int),
    table!("companies", "", "id": Text, "owner_id": Text, "unit": Text, "person_id": Text, "company_id": Text, "deal_id": Text,
        "attrs": Text, "payload": Blob, "version": Int, "created_at": Int, "updated_at": Int),
    table!("people", "", "id": Text, "owner_id": Text, "unit": Text, "company_id": Text, "version": Int, "created_at": Int,
        "updated_at": Int, "first_name": Blob, "last_name": Blob, "email": Blob, "phone": Blob, "national_id": Blob,
        "birth_date": Blob, "address": Blob, "notes": Blob, "email_bidx": Int, "phone_bidx": Int, "national_id_bidx": Int),
    table!("person_tags", "", "person_id": Text, "tag": Text),
    table!("person_name_tokens", "", "token": Int, "person_id": Text),
    table!("deals", "", "id": Text, "owner_id": Text, "unit": Text, "person_id": Text, "company_id": Text, "deal_id": Text,
        "attrs": Text, "payload": Blob, "version": Int, "created_at": Int, "updated_at": Int),
    table!("activities", "", "id": Text, "owner_id": Text, "unit": Text, "person_id": Text, "company_id": Text, "deal_id": Text,
        "attrs": Text, "payload": Blob, "version": Int, "created_at": Int, "updated_at": Int),
    table!("honeytokens", "", "person_id": Text, "created_at": Int),
    table!("export_requests", "", "id": Text, "requester_id": Text, "requester": Text, "purpose": Text, "filter": Text,
        "people": Blob, "record_count": Int, "status": Text, "created_at": Int, "decided_by": Text, "decided_at": Int,
        "reason": Text, "expires_at": Int, "downloaded_at": Int, "units": Text),
    table!("read_budget", "", "user_id": Text, "person_id": Text, "read_at": Int),
    table!("audit_events", " ORDER BY seq", "seq": Int, "body": Text),
    table!("audit_chain", " ORDER BY seq", "seq": Int, "leaf": Blob, "link": Blob),
    table!("audit_checkpoints", " ORDER BY tree_size", "tree_size": Int, "body": Text, "at": Int),
    table!("erasure_ledger", "", "subject_id": Text, "erased_at": Int),
    table!("gdpr_purposes", "", "name": Text, "lawful_basis": Text, "categories": Text, "retention": Text, "recipients": Text,
        "marketing": Int, "applies_to_all": Int, "created_at": Int),
    table!("consents", "", "id": Text, "person_id": Text, "purpose": Text, "channel": Text, "granted": Int,
        "wording_version": Text, "source": Text, "client": Text, "recorded_by": Text, "recorded_at": Int),
    table!("person_flags", "", "person_id": Text, "flag": Text, "reason": Text, "set_by": Text, "set_at": Int),
    table!("suppression", "", "kind": Text, "bidx": Int, "added_at": Int),
    table!("erasure_receipts", "", "person_id": Text, "body": Text, "signature": Text, "created_at": Int),
    table!("dsr_requests", "", "id": Text, "kind": Text, "person_id": Text, "received_at": Int, "due_at": Int, "identity_check": Text,
        "extension_reason": Text, "status": Text, "handled_by": Text, "closed_at": Int, "note": Text, "created_by": Text,
        "alerted_at": Int),
    table!("gdpr_registers", "", "kind": Text, "id": Text, "body": Text, "updated_at": Int),
    table!("index_state", "", "name": Text, "version": Int),
    table!("disclosures", "", "person_id": Text, "processor": Text, "purpose": Text, "categories": Text, "disclosed_at": Int),
];

/// Tables a backup leaves out, on purpose (see the module comment).
pub const NOT_BACKED_UP: &[&str] =
    &["sessions", "login_throttle", "audit_head", "schema_migrations", "restore_state", "import_jobs", "data_generation"];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// What a snapshot or a restore saw of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub rows: u64,
    /// Bytes of encoded rows (the logical size).
    pub bytes: u64,
    /// Order-independent digest: the wrapping sum of the rows' SHA-256, as four u64 lanes.
    pub digest: [u8; 32],
}

/// Accumulates a [`TableSummary`] row by row.
#[derive(Debug, Default)]
pub struct Summer {
    rows: u64,
    bytes: u64,
    lanes: [u64; 4],
}

impl Summer {
    pub fn add(&mut self, encoded_row: &[u8]) {
        let h = Sha256::digest(encoded_row);
        for (lane, chunk) in self.lanes.iter_mut().zip(h.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_le_bytes(b));
        }
        self.rows += 1;
        self.bytes += encoded_row.len() as u64;
    }

    pub fn finish(&self) -> TableSummary {
        let mut digest = [0u8; 32];
        for (out, lane) in digest.chunks_exact_mut(8).zip(self.lanes) {
            out.copy_from_slice(&lane.to_le_bytes());
        }
        TableSummary { rows: self.rows, bytes: self.bytes, digest }
    }
}

/// Where a snapshot's rows go, table by table in [`TABLES`] order. Called from inside the read
/// transaction, so it should not block for long (writing to a file is fine).
pub trait SnapshotSink {
    fn begin(&mut self, table: &'static Table) -> Result<(), StoreError>;
    /// One row, encoded by [`encode`].
    fn row(&mut self, encoded: &[u8]) -> Result<(), StoreError>;
    fn end(&mut self, table: &'static Table, summary: TableSummary) -> Result<(), StoreError>;
}

/// Reads every table of [`TABLES`] in one read transaction into `sink`. Returns the schema
/// version the rows belong to.
pub async fn snapshot(store: &SqlStore, sink: &mut (dyn SnapshotSink + Send)) -> Result<i64, StoreError> {
    let mut tx = store.begin_read().await?;
    let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(error::db("backup schema version"))?;
    let mut buf = Vec::with_capacity(4096);
    for table in TABLES {
        sink.begin(table)?;
        let mut sum = Summer::default();
        let mut rows = sqlx::query(table.select).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await.map_err(error::db("backup read"))? {
            buf.clear();
            encode_any_row(&row, table, &mut buf)?;
            sum.add(&buf);
            sink.row(&buf)?;
        }
        drop(rows);
        sink.end(table, sum.finish())?;
    }
    tx.commit().await.map_err(error::db("backup read"))?;
    Ok(version)
}

fn encode_any_row(row: &AnyRow, table: &Table, out: &mut Vec<u8>) -> Result<(), StoreError> {
    for (i, (name, ty)) in table.columns.iter().enumerate() {
        let corrupt = |_| error::corrupt(name);
        match ty {
            ColType::Int => match row.try_get::<Option<i64>, _>(i).map_err(corrupt)? {
                None => out.push(TAG_NULL),
                Some(v) => {
                    out.push(TAG_INT);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            },
            ColType::Text => match row.try_get::<Option<String>, _>(i).map_err(corrupt)? {
                None => out.push(TAG_NULL),
                Some(v) => put_bytes(out, TAG_TEXT, v.as_bytes())?,
            },
            ColType::Blob => match row.try_get::<Option<Vec<u8>>, _>(i).map_err(corrupt)? {
                None => out.push(TAG_NULL),
                Some(v) => put_bytes(out, TAG_BLOB, &v)?,
            },
        }
    }
    Ok(())
}

const TAG_NULL: u8 = 0;
const TAG_INT: u8 = 1;
const TAG_TEXT: u8 = 2;
const TAG_BLOB: u8 = 3;

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) -> Result<(), StoreError> {
    let len = u32::try_from(bytes.len()).map_err(|_| StoreError::Backend("a value over 4 GiB cannot be backed up".into()))?;
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Encodes one row of `values` (as a snapshot does), for tests and tools.
pub fn encode(values: &[Value], out: &mut Vec<u8>) -> Result<(), StoreError> {
    for v in values {
        match v {
            Value::Null => out.push(TAG_NULL),
            Value::Int(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Text(s) => put_bytes(out, TAG_TEXT, s.as_bytes())?,
            Value::Blob(b) => put_bytes(out, TAG_BLOB, b)?,
        }
    }
    Ok(())
}

/// Reads encoded rows of one table back from a stream, checking every value against the
/// table's column types.
pub struct RowReader<R: Read> {
    input: R,
    table: &'static Table,
    /// The last row read, encoded (for digests).
    raw: Vec<u8>,
}

impl<R: Read> RowReader<R> {
    pub fn new(table: &'static Table, input: R) -> Self {
        RowReader { input, table, raw: Vec::new() }
    }

    /// The next row, or None at a clean end of the stream.
    pub fn next_row(&mut self) -> Result<Option<Vec<Value>>, String> {
        self.raw.clear();
        let mut values = Vec::with_capacity(self.table.columns.len());
        for (i, (name, ty)) in self.table.columns.iter().enumerate() {
            let mut tag = [0u8; 1];
            match self.input.read(&mut tag) {
                Ok(0) if i == 0 => return Ok(None),
                Ok(0) => return Err(format!("{}: the part ends inside a row", self.table.name)),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(format!("{}: read interrupted", self.table.name)),
                Err(e) => return Err(format!("{}: {e}", self.table.name)),
            }
            self.raw.push(tag[0]);
            let bad = || format!("{}.{name}: a value of the wrong type", self.table.name);
            let value = match (tag[0], ty) {
                (TAG_NULL, _) => Value::Null,
                (TAG_INT, ColType::Int) => {
                    let mut b = [0u8; 8];
                    self.read_exact(&mut b)?;
                    Value::Int(i64::from_le_bytes(b))
                }
                (TAG_TEXT, ColType::Text) => Value::Text(String::from_utf8(self.read_len_bytes()?).map_err(|_| bad())?),
                (TAG_BLOB, ColType::Blob) => Value::Blob(self.read_len_bytes()?),
                _ => return Err(bad()),
            };
            values.push(value);
        }
        Ok(Some(values))
    }

    /// The encoded form of the row [`RowReader::next_row`] returned last.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.input.read_exact(buf).map_err(|e| format!("{}: {e}", self.table.name))?;
        self.raw.extend_from_slice(buf);
        Ok(())
    }

    fn read_len_bytes(&mut self) -> Result<Vec<u8>, String> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        self.read_exact(&mut bytes)?;
        Ok(bytes)
    }
}

/// A restore's source: the rows of each table, asked for in [`TABLES`] order.
pub trait RestoreSource {
    /// The rows of `table` (an empty stream when the backup has none).
    fn open(&mut self, table: &'static Table) -> Result<Box<dyn Read + Send + '_>, String>;
}

/// A restore in progress, or one killed midway: the backup it was restoring.
pub async fn restore_pending(store: &SqlStore) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT backup_id FROM restore_state WHERE id = 1")
        .fetch_optional(&store.pool)
        .await
        .map_err(error::db("restore state"))
}

/// Forgets a restore that was killed midway (`sejf backup discard-restore`). Its data never
/// committed, so the database is as empty as before the restore began. Returns the backup id.
pub async fn discard_restore(store: &SqlStore) -> Result<Option<String>, StoreError> {
    let pending = restore_pending(store).await?;
    sqlx::query("DELETE FROM restore_state WHERE id = 1").execute(&store.pool).await.map_err(error::db("restore state"))?;
    Ok(pending)
}

/// Rows in the tables that say a database is in use.
pub async fn data_rows(store: &SqlStore) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM keystore) \
         + (SELECT COUNT(*) FROM audit_events)",
    )
    .fetch_one(&store.pool)
    .await
    .map_err(error::db("restore target check"))
}

/// The erasure ledger: (subject id, erased at).
pub async fn erasure_ledger(store: &SqlStore) -> Result<Vec<(String, i64)>, StoreError> {
    sqlx::query_as("SELECT subject_id, erased_at FROM erasure_ledger ORDER BY subject_id")
        .fetch_all(&store.pool)
        .await
        .map_err(error::db("erasure ledger"))
}

/// Appends to the erasure ledger in a person's erasure transaction (`people::delete`).
pub(crate) const LEDGER_APPEND: &str = "INSERT INTO erasure_ledger (subject_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Restores `source` into the empty database behind `store`, then re-applies `ledger` (the
/// erasures known beyond the backup's own), all before anything can be served. Returns what was
/// restored of each table (in [`TABLES`] order) and how many people the ledger erased.
pub async fn restore(
    store: &SqlStore,
    backup_id: &str,
    now: i64,
    source: &mut dyn RestoreSource,
    ledger: &[(String, i64)],
) -> Result<(Vec<(&'static str, TableSummary)>, u64), String> {
    let e = |e: StoreError| e.to_string();
    let pending = restore_pending(store).await.map_err(e)?;
    if pending.is_none() {
        let rows = data_rows(store).await.map_err(e)?;
        if rows > 0 {
            return Err(format!("the target database is not empty ({rows} rows of users, people, keys and audit events)"));
        }
        sqlx::query("INSERT INTO restore_state (id, backup_id, started_at) VALUES (1, $1, $2)")
            .bind(backup_id.to_owned())
            .bind(now)
            .execute(&store.pool)
            .await
            .map_err(|x| e(error::db("restore state")(x)))?;
    }
    let mut tx = store.begin_write().await.map_err(e)?;
    // The purposes a new schema is seeded with give way to the backup's register.
    sqlx::query("DELETE FROM gdpr_purposes").execute(&mut *tx).await.map_err(|x| e(error::db("restore purposes")(x)))?;
    // So does the fresh schema's index state: the backup says how its indexes were derived.
    sqlx::query("DELETE FROM index_state").execute(&mut *tx).await.map_err(|x| e(error::db("restore index state")(x)))?;
    let mut summaries = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut reader = RowReader::new(table, source.open(table)?);
        let mut sum = Summer::default();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let row = reader.next_row()?;
            let done = row.is_none();
            if let Some(row) = row {
                sum.add(reader.raw());
                batch.push(row);
            }
            if batch.len() >= BATCH || (done && !batch.is_empty()) {
                insert_chunked(
                    &mut tx,
                    store.backend,
                    &[table.many, table.one],
                    &batch,
                    |q, row| bind_row(q, table, row),
                    "restore insert",
                )
                .await
                .map_err(|x| format!("{}: {x}", table.name))?;
                batch.clear();
            }
            if done {
                break;
            }
        }
        summaries.push((table.name, sum.finish()));
    }
    // The head follows the events on SQLite by trigger and on PostgreSQL by the appending
    // statement; rows restored in bulk move it on neither engine reliably, so set it.
    sqlx::query("UPDATE audit_head SET seq = (SELECT COALESCE(MAX(seq), 0) FROM audit_events) WHERE id = 1")
        .execute(&mut *tx)
        .await
        .map_err(|x| e(error::db("restore audit head")(x)))?;
    let mut erased = 0;
    for (subject, at) in ledger {
        sqlx::query(LEDGER_APPEND)
            .bind(subject.clone())
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(|x| e(error::db("restore ledger")(x)))?;
    }
    let all: Vec<String> = sqlx::query_scalar("SELECT subject_id FROM erasure_ledger")
        .fetch_all(&mut *tx)
        .await
        .map_err(|x| e(error::db("restore ledger")(x)))?;
    for subject in &all {
        sqlx::query(people::DELETE_ACTIVITIES).bind(subject.clone()).execute(&mut *tx).await.map_err(|x| e(error::db("re-erase")(x)))?;
        let gone = sqlx::query(people::DELETE).bind(subject.clone()).execute(&mut *tx).await.map_err(|x| e(error::db("re-erase")(x)))?;
        sqlx::query(people::DELETE_KEY).bind(subject.clone()).execute(&mut *tx).await.map_err(|x| e(error::db("re-erase")(x)))?;
        erased += gone.rows_affected();
    }
    sqlx::query("DELETE FROM restore_state WHERE id = 1").execute(&mut *tx).await.map_err(|x| e(error::db("restore state")(x)))?;
    tx.commit().await.map_err(|x| e(error::db("restore commit")(x)))?;
    Ok((summaries, erased))
}

fn bind_row(mut q: AnyQuery, table: &Table, row: &[Value]) -> AnyQuery {
    for (v, (_, ty)) in row.iter().zip(table.columns) {
        q = match v {
            // PostgreSQL wants a NULL of the column's own type.
            Value::Null => match ty {
                ColType::Int => q.bind(None::<i64>),
                ColType::Text => q.bind(None::<String>),
                ColType::Blob => q.bind(None::<Vec<u8>>),
            },
            Value::Int(i) => q.bind(*i),
            Value::Text(s) => q.bind(s.clone()),
            Value::Blob(b) => q.bind(b.clone()),
        };
    }
    q
}

/// The stored columns of `table` in the database's schema (not those generated from others),
/// sorted by name.
pub async fn schema_columns(store: &SqlStore, table: &str) -> Result<Vec<String>, StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY name",
        Backend::Postgres => {
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 AND is_generated = 'NEVER' ORDER BY column_name"
        }
    };
    sqlx::query_scalar(sql).bind(table).fetch_all(&store.pool).await.map_err(error::db("schema columns"))
}

/// The tables of the migrated schema (for the test that keeps [`TABLES`] complete).
pub async fn schema_tables(store: &SqlStore) -> Result<Vec<String>, StoreError> {
    let sql = match store.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        Backend::Postgres => "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
    };
    sqlx::query_scalar(sql).fetch_all(&store.pool).await.map_err(error::db("schema tables"))
}
