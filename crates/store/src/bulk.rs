//! A large all-or-nothing import on SQLite builds the secondary indexes of the people tables once,
//! at its end, instead of row by row (ADR 0033).
//!
//! A person's row goes into three blind-index indexes at random places, and each name token into
//! the person-first index of the tokens; once those trees outgrow the import's page cache, every
//! such insert fetches a page the log already holds and dirties it again (§4v of
//! docs/benchmarks.md). Building an index from a sort writes each of its pages once.
//!
//! So once an import has inserted as many people as were stored when it began (and at least
//! [`BULK_FROM`]) and more keep coming, it drops those indexes inside its own transaction, goes
//! on without them, and creates them again, with the migrations' own definitions (a test holds
//! the two equal), just before it commits. The import checks its duplicates in memory
//! (`people_keys`), not through these indexes.
//!
//! Invariants:
//! - Only non-unique indexes are dropped ([`DEFERRED`]): no constraint is ever lifted, not even
//!   inside the transaction. Primary keys, `UNIQUE` indexes and the tables' own trees stay.
//! - Every index dropped is created again, with its own name and definition, in the same
//!   transaction: a commit has them all, and a rollback (a failed import, `kill -9`) never
//!   dropped them. Readers of other connections see the old schema until the commit (WAL).

use rusqlite::Connection;
use sejf_core::ports::StoreError;

use crate::{error, stmt};

/// Below this many people inserted an import never defers its indexes: while the trees fit the
/// page cache, inserting into them costs no more than building them (§4v: 100,000 people took
/// 4.4–4.5 s either way).
pub const BULK_FROM: u64 = 100_000;

/// The non-unique indexes that take an import's rows at random places, as the migrations define
/// them (a test holds the two equal): how each is dropped and created again. The blind-index
/// indexes (keyed hashes) and the name tokens' person-first index; the others of these tables
/// (owner, unit, company, tag) take the rows at the end of a few values' ranges and are kept up
/// row by row: building one anew is a scan of the whole table, which cost more than keeping it
/// (§4v: a million in 44.7–45.8 s against 46.1–47.6 s with all eight built at the end).
/// Compile-time SQL like the rest of the store's; no key or unique index is among them.
const DEFERRED: [(&str, &str); 4] = [
    ("DROP INDEX IF EXISTS people_email_bidx", "CREATE INDEX people_email_bidx ON people (email_bidx)"),
    ("DROP INDEX IF EXISTS people_national_id_bidx", "CREATE INDEX people_national_id_bidx ON people (national_id_bidx)"),
    ("DROP INDEX IF EXISTS people_phone_bidx", "CREATE INDEX people_phone_bidx ON people (phone_bidx)"),
    ("DROP INDEX IF EXISTS person_name_tokens_person", "CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token)"),
];

/// People stored before the import: the largest rowid (a deletion leaves it, so this may
/// overstate the count and defer a little later than it could; it never reads the whole table).
const STORED: &str = "SELECT coalesce(max(rowid), 0) FROM people";

/// The page cache while the indexes are built (KiB). Each build sorts its keys in working
/// memory sized by the cache, and keeps the sorted runs in memory too (the writer's temporary
/// store, which never puts page images on disk: `writer::Writer::start`); with the import's
/// 512 MiB cache the import of a million people peaked at 1.79 GB, with this one at 1.30 GB,
/// as fast (§4v).
const REBUILD_CACHE: &str = "PRAGMA cache_size=-65536";

/// An all-or-nothing import's indexes: kept up row by row until the import has inserted as many
/// people as were stored (and [`BULK_FROM`]), then dropped and built again at [`Bulk::finish`].
pub(crate) struct Bulk {
    /// How many people inserted make the import large enough to defer.
    from: u64,
    /// Whether the indexes are dropped.
    deferred: bool,
}

impl Bulk {
    /// At the start of an import's transaction on `conn`; `floor` is [`BULK_FROM`] but in tests.
    pub(crate) fn begin(conn: &Connection, floor: u64) -> Result<Bulk, StoreError> {
        let stored = stmt::query_i64(conn, STORED, &[], "import")?;
        Ok(Bulk { from: u64::try_from(stored).unwrap_or(0).max(floor), deferred: false })
    }

    /// Before each batch, with the people inserted so far: drops the indexes once that is
    /// enough. Decided when more rows arrive, so an import that ends right at the threshold
    /// never drops and rebuilds them for nothing.
    pub(crate) fn before_batch(&mut self, conn: &Connection, so_far: u64) -> Result<(), StoreError> {
        if self.deferred || so_far < self.from {
            return Ok(());
        }
        // One-off DDL, run outside the writer's statement cache, as the creates are: it would
        // only push out the statements the writer runs all day.
        for (drop, _) in DEFERRED {
            conn.execute_batch(drop).map_err(error::sync("import: deferring indexes"))?;
        }
        tracing::info!(after = so_far, "a large import: the people tables' indexes are built at its end");
        self.deferred = true;
        Ok(())
    }

    /// Before the import commits: creates every index dropped, as the schema defines it.
    pub(crate) fn finish(self, conn: &Connection) -> Result<(), StoreError> {
        if !self.deferred {
            return Ok(());
        }
        stmt::execute(conn, REBUILD_CACHE, &[], "import")?;
        for (_, create) in DEFERRED {
            conn.execute_batch(create).map_err(error::sync("import: building indexes"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Every index of the people tables, with its definition.
    fn indexes(conn: &Connection) -> Vec<(String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('people', 'person_tags', 'person_name_tokens') ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    /// The schema, its owners and units left out (foreign keys off).
    fn db() -> Connection {
        let conn = crate::migrate::migrated_sqlite();
        conn.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
        conn
    }

    fn insert_people(conn: &Connection, from: i64, n: i64) {
        for i in from..from + n {
            conn.execute(
                "INSERT INTO people (id, owner_id, unit, version, created_at, updated_at, email_bidx) VALUES (printf('p%06d', ?1), 'u', 'north', 1, 0, 0, ?1)",
                [i],
            )
            .unwrap();
            conn.execute("INSERT INTO person_name_tokens (token, person_id) VALUES (?1, printf('p%06d', ?1))", [i * 7]).unwrap();
        }
    }

    #[test]
    fn a_large_import_drops_only_non_unique_indexes_and_commits_every_one_as_defined() {
        let conn = db();
        let before = indexes(&conn);
        assert!(before.iter().any(|(n, _)| n == "people_email_bidx"), "{before:?}");
        insert_people(&conn, 0, 3);
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut bulk = Bulk::begin(&conn, 2).unwrap();
        bulk.before_batch(&conn, 0).unwrap();
        insert_people(&conn, 3, 2);
        bulk.before_batch(&conn, 2).unwrap();
        assert!(!bulk.deferred, "three stored: two inserted are not enough");
        insert_people(&conn, 5, 2);
        bulk.before_batch(&conn, 4).unwrap();
        let during = indexes(&conn);
        assert!(!during.iter().any(|(n, _)| n == "people_email_bidx"), "deferred: {during:?}");
        let dropped: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).filter(|n| !during.iter().any(|(d, _)| d == n)).collect();
        assert_eq!(dropped, ["people_email_bidx", "people_national_id_bidx", "people_phone_bidx", "person_name_tokens_person"]);
        insert_people(&conn, 7, 2);
        bulk.finish(&conn).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        assert_eq!(indexes(&conn), before, "every index back, with its name and definition");
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "the rebuilt indexes hold every row");
        let plan: String = conn.query_row("EXPLAIN QUERY PLAN SELECT id FROM people WHERE email_bidx = 8", [], |r| r.get(3)).unwrap();
        assert!(plan.contains("people_email_bidx"), "{plan}");
        let found: String = conn.query_row("SELECT id FROM people WHERE email_bidx = 8", [], |r| r.get(0)).unwrap();
        assert_eq!(found, "p000008", "a row inserted while the index was gone is found through it");
    }

    /// The non-unique indexes of the three tables that an import keeps up row by row.
    const KEPT_UP: [&str; 4] = ["people_company", "people_owner", "people_unit", "person_tags_tag"];

    /// Every non-unique index of the three tables is either built at an import's end, in the
    /// migrations' own words, or kept up: an index added to them later, or defined anew, fails
    /// this until it is placed in one list or the other.
    #[test]
    fn the_deferred_indexes_are_the_schemas_as_defined_and_the_rest_are_kept_up() {
        let conn = db();
        let non_unique: Vec<(String, String)> = indexes(&conn)
            .into_iter()
            .filter_map(|(name, sql)| sql.map(|sql| (name, sql)))
            .filter(|(_, sql)| !sql.starts_with("CREATE UNIQUE"))
            .collect();
        let deferred: Vec<&str> =
            non_unique.iter().filter(|(name, _)| !KEPT_UP.contains(&name.as_str())).map(|(_, sql)| sql.as_str()).collect();
        let ours: Vec<&str> = DEFERRED.iter().map(|(_, create)| *create).collect();
        assert_eq!(deferred, ours);
        assert_eq!(non_unique.len(), DEFERRED.len() + KEPT_UP.len(), "every kept-up index exists: {non_unique:?}");
        for (drop, create) in DEFERRED {
            let name = create.split_whitespace().nth(2).unwrap();
            assert_eq!(drop, format!("DROP INDEX IF EXISTS {name}"), "each drop names its own index");
        }
    }

    #[test]
    fn an_import_rolled_back_after_deferring_leaves_every_index() {
        let conn = db();
        let before = indexes(&conn);
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut bulk = Bulk::begin(&conn, 1).unwrap();
        insert_people(&conn, 0, 2);
        bulk.before_batch(&conn, 2).unwrap();
        assert_ne!(indexes(&conn), before);
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(indexes(&conn), before, "a failed or killed import never dropped them");
    }
}
