//! Shared by the `import`, `http` and `audit` benches (not a bench target itself): the plaintext SQLite
//! baseline, latency percentiles, self-deleting temporary directories and machine facts.
//!
//! The plaintext baseline has the shape of Sejf's people tables (`people`, `person_tags`,
//! `person_name_tokens`, with the same indexes, foreign keys and journal pragmas) but stores
//! personal fields as TEXT and name tokens as text, has no key store, and does no encryption, no
//! blind-index HMACs, no authorisation. It is what the same CRM would cost without its security,
//! so the benches can report Sejf next to it measured in the same run on the same machine.

// Each bench uses a different part of this module.
#![allow(dead_code)]

pub mod baseline;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::ToSql;
use sejf_core::ports::StoreError;
use sejf_domain::people::{PersonData, PersonRaw, parse_tags};
use sejf_domain::values::{CountryCode, name_tokens};
use sejf_store::sqlite::{Readers, Writer};
use uuid::Uuid;

/// Rows per transaction of the CSV import (`sejf_transfer::csvio`'s private `BATCH`, repeated here).
pub const BATCH: usize = 2_000;

/// The performance-relevant pragmas Sejf's store sets on every SQLite connection (its private
/// `SQLITE_PRAGMAS`), without `secure_delete=ON`, a security measure the baseline does not take.
/// The writer turns SQLite's own checkpoints off and runs its checkpointer, as Sejf's does.
const PRAGMAS: [&str; 5] = [
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA journal_size_limit=67108864",
];

/// The same tables as `migrations/sqlite/0001_initial.sql` for people, with TEXT instead of
/// ciphertext BLOBs, a plaintext e-mail/phone/national-id index instead of blind indexes, and
/// name tokens as text; migration 24's count of changes to people, which the readers watch
/// (ADR 0028); and, as migration 25 has it, tags and name tokens deleted with their person by a
/// trigger rather than a foreign key's cascade.
const SCHEMA: &str = "
    CREATE TABLE units (slug TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL) STRICT;
    CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, username TEXT NOT NULL UNIQUE) STRICT;
    CREATE TABLE people (id TEXT PRIMARY KEY NOT NULL, owner_id TEXT NOT NULL REFERENCES users (id),
        unit TEXT NOT NULL REFERENCES units (slug), company_id TEXT, version INTEGER NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, first_name TEXT, last_name TEXT, email TEXT,
        phone TEXT, national_id TEXT, birth_date TEXT, address TEXT, notes TEXT) STRICT;
    CREATE INDEX people_email ON people (email);
    CREATE INDEX people_phone ON people (phone);
    CREATE INDEX people_national_id ON people (national_id);
    CREATE INDEX people_owner ON people (owner_id);
    CREATE INDEX people_unit ON people (unit);
    CREATE INDEX people_company ON people (company_id);
    CREATE TABLE person_tags (person_id TEXT NOT NULL, tag TEXT NOT NULL,
        PRIMARY KEY (person_id, tag)) STRICT;
    CREATE INDEX person_tags_tag ON person_tags (tag);
    CREATE TABLE person_name_tokens (token TEXT NOT NULL, person_id TEXT NOT NULL,
        PRIMARY KEY (token, person_id)) STRICT;
    CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id);
    CREATE TABLE data_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL) STRICT;
    INSERT INTO data_generation (id, n) VALUES (1, 0);
    CREATE TRIGGER people_gen_ins AFTER INSERT ON people BEGIN UPDATE data_generation SET n = n + 1; END;
    CREATE TRIGGER people_gen_upd AFTER UPDATE ON people BEGIN UPDATE data_generation SET n = n + 1; END;
    CREATE TRIGGER people_gen_del AFTER DELETE ON people BEGIN UPDATE data_generation SET n = n + 1; END;
    CREATE TRIGGER people_delete_rows AFTER DELETE ON people BEGIN DELETE FROM person_tags WHERE person_id = old.id;
        DELETE FROM person_name_tokens WHERE person_id = old.id; END;
";

/// The person columns the baseline reads, in [`person_json`]'s order.
pub const PERSON_COLUMNS: &str = "id, owner_id, unit, company_id, version, created_at, updated_at, first_name, last_name, \
     email, phone, national_id, birth_date, address, notes";
pub const GET_BY_ID: &str = "SELECT id, owner_id, unit, company_id, version, created_at, updated_at, first_name, last_name, \
     email, phone, national_id, birth_date, address, notes FROM people WHERE id = ?1";
pub const GET_BY_EMAIL: &str = "SELECT id, owner_id, unit, company_id, version, created_at, updated_at, first_name, last_name, \
     email, phone, national_id, birth_date, address, notes FROM people WHERE email = ?1 ORDER BY id LIMIT 51";

const PERSON_COLS: usize = 15;

/// A validated, normalised person in plaintext.
#[derive(Debug, Clone)]
pub struct PlainPerson {
    pub id: String,
    pub owner_id: String,
    pub unit: String,
    pub created_at: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub birth_date: Option<String>,
    /// The address as JSON text, as Sejf serialises it before encrypting.
    pub address: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub name_tokens: Vec<String>,
}

impl PlainPerson {
    /// Validates and normalises with Sejf's own domain rules (`PersonData::parse`,
    /// `parse_tags`, `name_tokens`), so the baseline stores the same values, but in clear.
    pub fn from_raw(raw: &PersonRaw, tags: &[String], owner_id: &str, unit: &str, now: i64) -> Result<Self, String> {
        let data = PersonData::parse(raw, CountryCode::PL).map_err(|e| format!("invalid person: {e:?}"))?;
        let tags = parse_tags(tags).map_err(|e| format!("invalid tags: {e:?}"))?;
        let r = data.to_raw();
        let mut tokens: Vec<String> = Vec::new();
        for part in [&r.first_name, &r.last_name].into_iter().flatten() {
            for t in name_tokens(part) {
                if !tokens.contains(&t) {
                    tokens.push(t);
                }
            }
        }
        let address = r.address.as_ref().map(|a| {
            let mut m = serde_json::Map::new();
            for (k, v) in [("street", &a.street), ("city", &a.city), ("postal_code", &a.postal_code), ("country", &a.country)] {
                if let Some(v) = v {
                    m.insert(k.to_string(), serde_json::Value::String(v.clone()));
                }
            }
            serde_json::Value::Object(m).to_string()
        });
        Ok(Self {
            id: Uuid::now_v7().to_string(),
            owner_id: owner_id.to_string(),
            unit: unit.to_string(),
            created_at: now,
            first_name: r.first_name,
            last_name: r.last_name,
            email: data.email.as_ref().map(|e| e.normalized()),
            phone: r.phone,
            national_id: r.national_id,
            birth_date: r.birth_date,
            address,
            notes: r.notes,
            tags: tags.iter().map(|t| t.as_str().to_string()).collect(),
            name_tokens: tokens,
        })
    }
}

/// Multi-row insert statements of the given sizes, largest first (the last inserts one row), as
/// Sejf's `people_batch` builds them. Built from constants only; every value is bound.
fn multi_row(head: &str, cols: usize, sizes: &[usize], tail: &str) -> Vec<(usize, Arc<str>)> {
    sizes
        .iter()
        .map(|&rows| {
            let row = format!("({})", vec!["?"; cols].join(", "));
            let sql = format!("{head}{}{tail}", vec![row; rows].join(", "));
            (rows, Arc::from(sql))
        })
        .collect()
}

/// The baseline's insert statements, built once.
struct Inserts {
    people: Vec<(usize, Arc<str>)>,
    tags: Vec<(usize, Arc<str>)>,
    tokens: Vec<(usize, Arc<str>)>,
}

/// Runs `sql` (a multi-row insert of `rows` rows) over `values` in chunks of the largest size
/// that fits, as Sejf's `multirow` does: prepared once per connection, then only bound again.
fn insert_chunked(
    conn: &rusqlite::Connection,
    statements: &[(usize, Arc<str>)],
    values: &[&dyn ToSql],
    per_row: usize,
) -> rusqlite::Result<()> {
    let mut rest = values;
    for (size, sql) in statements {
        let take = size * per_row;
        while rest.len() >= take {
            let (chunk, tail) = rest.split_at(take);
            conn.prepare_cached(sql)?.execute(chunk)?;
            rest = tail;
        }
    }
    Ok(())
}

/// The plaintext baseline database, on the same driver and the same engine plumbing as Sejf's
/// SQLite store (`sejf_store::sqlite`): reads on a pool of rusqlite connections on the calling
/// thread, writes in group commits on one writer thread.
#[derive(Clone)]
pub struct PlainDb {
    readers: Arc<Readers>,
    writer: Arc<Writer>,
    inserts: Arc<Inserts>,
}

fn db_error(e: impl std::fmt::Display) -> String {
    format!("plaintext db: {e}")
}

fn sync_error(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The baseline's indexes that take an import's rows at random places, as [`SCHEMA`] creates
/// them. An import drops them once it has inserted [`sejf_store::BULK_FROM`] rows and builds
/// them at its end, as Sejf's all-or-nothing import does on SQLite with its own (ADR 0033), so
/// the ratio stays honest.
const DEFERRED: [(&str, &str); 4] = [
    ("DROP INDEX people_email", "CREATE INDEX people_email ON people (email)"),
    ("DROP INDEX people_phone", "CREATE INDEX people_phone ON people (phone)"),
    ("DROP INDEX people_national_id", "CREATE INDEX people_national_id ON people (national_id)"),
    ("DROP INDEX person_name_tokens_person", "CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id)"),
];

impl PlainDb {
    /// Creates the database file at `path` with the baseline schema, and one owner and unit.
    pub async fn create(path: &Path, owner_id: &str, unit: &str) -> Result<PlainDb, String> {
        let conn = rusqlite::Connection::open(path).map_err(db_error)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        conn.execute("INSERT INTO units (slug, created_at) VALUES (?1, 0)", [unit]).map_err(db_error)?;
        conn.execute("INSERT INTO users (id, username) VALUES (?1, 'owner')", [owner_id]).map_err(db_error)?;
        conn.close().map_err(|(_, e)| db_error(e))?;
        PlainDb::connect(path).await
    }

    /// Opens the database file at `path` with Sejf's pragmas, readers and writer.
    pub async fn connect(path: &Path) -> Result<PlainDb, String> {
        let readers = Arc::new(Readers::new(path));
        let writer = Writer::start(path, &PRAGMAS, Some(readers.clone())).map_err(db_error)?;
        let head = format!("INSERT INTO people ({PERSON_COLUMNS}) VALUES ");
        let skip = " ON CONFLICT DO NOTHING";
        Ok(PlainDb {
            readers,
            writer: Arc::new(writer),
            inserts: Arc::new(Inserts {
                people: multi_row(&head, PERSON_COLS, &[64, 8, 1], ""),
                tags: multi_row("INSERT INTO person_tags (person_id, tag) VALUES ", 2, &[256, 16, 1], skip),
                tokens: multi_row("INSERT INTO person_name_tokens (token, person_id) VALUES ", 2, &[256, 16, 1], skip),
            }),
        })
    }

    /// Inserts people, their tags and name tokens as one unit of the writer's next group commit,
    /// with the same multi-row statement sizes as Sejf.
    pub async fn insert_batch(&self, people: Vec<PlainPerson>) -> Result<(), String> {
        if people.is_empty() {
            return Ok(());
        }
        let inserts = self.inserts.clone();
        self.writer
            .run(move |conn| {
                let mut values: Vec<&dyn ToSql> = Vec::with_capacity(people.len() * PERSON_COLS);
                for p in &people {
                    values.extend_from_slice(&[
                        &p.id,
                        &p.owner_id,
                        &p.unit,
                        &rusqlite::types::Null,
                        &1_i64,
                        &p.created_at,
                        &p.created_at,
                        &p.first_name,
                        &p.last_name,
                        &p.email,
                        &p.phone,
                        &p.national_id,
                        &p.birth_date,
                        &p.address,
                        &p.notes,
                    ]);
                }
                insert_chunked(conn, &inserts.people, &values, PERSON_COLS).map_err(sync_error)?;
                let tags: Vec<&dyn ToSql> =
                    people.iter().flat_map(|p| p.tags.iter().flat_map(move |t| [&p.id as &dyn ToSql, t as &dyn ToSql])).collect();
                insert_chunked(conn, &inserts.tags, &tags, 2).map_err(sync_error)?;
                let tokens: Vec<&dyn ToSql> =
                    people.iter().flat_map(|p| p.name_tokens.iter().flat_map(move |t| [t as &dyn ToSql, &p.id as &dyn ToSql])).collect();
                insert_chunked(conn, &inserts.tokens, &tokens, 2).map_err(sync_error)
            })
            .await
            .map_err(db_error)
    }

    /// Drops the indexes a large import builds at its end ([`DEFERRED`]).
    pub async fn drop_indexes(&self) -> Result<(), String> {
        self.writer
            .run(|conn| DEFERRED.iter().try_for_each(|(drop, _)| conn.execute_batch(drop)).map_err(sync_error))
            .await
            .map_err(db_error)
    }

    /// Builds the indexes [`PlainDb::drop_indexes`] dropped, with the 64 MiB cache Sejf's import
    /// builds them with.
    pub async fn create_indexes(&self) -> Result<(), String> {
        self.writer
            .run(|conn| {
                conn.execute_batch("PRAGMA cache_size=-65536").map_err(sync_error)?;
                DEFERRED.iter().try_for_each(|(_, create)| conn.execute_batch(create)).map_err(sync_error)?;
                conn.execute_batch("PRAGMA cache_size=-2000").map_err(sync_error)
            })
            .await
            .map_err(db_error)
    }

    /// Sets a person's notes if the stored version is `version` (one unit of the writer's group
    /// commit); false if it is not.
    pub async fn update_notes(&self, id: String, version: i64, notes: Option<String>) -> Result<bool, String> {
        let now = now_micros();
        self.writer
            .run(move |conn| {
                let mut stmt = conn
                    .prepare_cached("UPDATE people SET notes = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3 AND version = ?4")
                    .map_err(sync_error)?;
                stmt.execute(rusqlite::params![notes, now, id, version]).map(|n| n == 1).map_err(sync_error)
            })
            .await
            .map_err(db_error)
    }

    /// Deletes a person (tags and name tokens by cascade); false if there was none.
    pub async fn delete(&self, id: String) -> Result<bool, String> {
        self.writer
            .run(move |conn| {
                let mut stmt = conn.prepare_cached("DELETE FROM people WHERE id = ?1").map_err(sync_error)?;
                stmt.execute([&id]).map(|n| n == 1).map_err(sync_error)
            })
            .await
            .map_err(db_error)
    }

    /// The person with this id as JSON, read on the calling thread.
    pub fn by_id(&self, id: &str) -> Result<Option<serde_json::Value>, String> {
        self.readers
            .run(|c| {
                let mut stmt = c.prepare_cached(GET_BY_ID).map_err(sync_error)?;
                let mut rows = stmt.query([id]).map_err(sync_error)?;
                match rows.next().map_err(sync_error)? {
                    Some(row) => person_json(row).map(Some).map_err(sync_error),
                    None => Ok(None),
                }
            })
            .map_err(db_error)
    }

    /// The people with this e-mail (at most 51) as JSON, read on the calling thread.
    pub fn by_email(&self, email: &str) -> Result<Vec<serde_json::Value>, String> {
        self.readers
            .run(|c| {
                let mut stmt = c.prepare_cached(GET_BY_EMAIL).map_err(sync_error)?;
                let rows = stmt.query_map([email], person_json).map_err(sync_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sync_error)
            })
            .map_err(db_error)
    }

    /// The first `n` ids in order.
    pub fn ids(&self, n: usize) -> Result<Vec<String>, String> {
        self.readers
            .run(|c| {
                let mut stmt = c.prepare_cached("SELECT id FROM people ORDER BY id LIMIT ?1").map_err(sync_error)?;
                let rows = stmt.query_map([n as i64], |r| r.get::<_, String>(0)).map_err(sync_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sync_error)
            })
            .map_err(db_error)
    }

    /// Commits what is queued and stops the writer.
    pub async fn close(&self) {
        self.writer.stop().await;
    }
}

/// A row of [`GET_BY_ID`] / [`GET_BY_EMAIL`] as JSON, the address parsed back into an object.
pub fn person_json(row: &rusqlite::Row<'_>) -> rusqlite::Result<serde_json::Value> {
    let text = |i: usize| row.get::<_, Option<String>>(i);
    let address = text(13)?.and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok());
    Ok(serde_json::json!({
        "id": row.get::<_, String>(0)?,
        "owner_id": row.get::<_, String>(1)?,
        "unit": row.get::<_, String>(2)?,
        "company_id": text(3)?,
        "version": row.get::<_, i64>(4)?,
        "created_at": row.get::<_, i64>(5)?,
        "updated_at": row.get::<_, i64>(6)?,
        "first_name": text(7)?,
        "last_name": text(8)?,
        "email": text(9)?,
        "phone": text(10)?,
        "national_id": text(11)?,
        "birth_date": text(12)?,
        "address": address,
        "notes": text(14)?,
    }))
}

/// A temporary directory removed (with everything in it) when dropped, also on a panic.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path).expect("create temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The total size of the files under `path` (not following symbolic links).
pub fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The nearest-rank percentile `p` (0–100) of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds with two decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A positive integer from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

/// What the machine is, for the report: cores, CPU model, memory.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string()));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 =
        meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|r| r.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    format!("{cores} cores, {}, {:.1} GiB RAM", model.unwrap_or_else(|| "unknown CPU".into()), mem_kib as f64 / (1024.0 * 1024.0))
}

/// Unix microseconds now.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The 1, 5 and 15-minute load averages: other work on the machine skews every figure.
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The passphrase of every benchmark installation.
pub const BENCH_PASSPHRASE: &str = "benchmark passphrase, not a secret";

/// A fresh SQLite installation in `data_dir` (`sejf_install::init_quiet`), with `extra_config`
/// appended to its config.toml; returns where it is.
pub async fn new_installation(data_dir: &Path, extra_config: &str) -> sejf_install::Location {
    let loc = sejf_install::Location {
        data_dir: data_dir.to_path_buf(),
        database_url: None,
        passphrase: sejf_install::keyfile::PassphraseSource {
            file: None,
            given: Some(zeroize::Zeroizing::new(BENCH_PASSPHRASE.to_string())),
        },
    };
    sejf_install::init_quiet(&loc, false).await.expect("init");
    if !extra_config.is_empty() {
        let cfg = data_dir.join("config.toml");
        let text = std::fs::read_to_string(&cfg).expect("config.toml") + "\n" + extra_config + "\n";
        std::fs::write(&cfg, text).expect("config.toml");
    }
    loc
}
