//! A large all-or-nothing import on SQLite builds the secondary indexes of the people tables once,
//! at its end, instead of row by row (ADR 0033).
//!
//! A person's row goes into three blind-index indexes at random places, and each name token into
//! the person-first index of the tokens; once those trees outgrow the import's page cache, every
//! such insert fetches a page the log already holds and dirties it again (§4v of
//! docs/benchmarks.md: a million people took 63–69 s, 52–58 s with the indexes built at the end).
//! Building an index from a sort writes each of its pages once.
//!
//! So once an import has inserted as many people as were stored when it began (and at least
//! [`BULK_FROM`]) and more keep coming, it drops those indexes inside its own transaction, goes
//! on without them, and creates them again, with the migrations' own definitions (a test holds
//! the two equal), just before it commits. The import checks its duplicates in memory
//! (`people_keys`), not through these indexes.
//!
//! Invariants:
//! - Only non-unique indexes are dropped: no constraint is ever lifted, not even inside the
//!   transaction. Primary keys, `UNIQUE` indexes and the tables' own trees stay.
//! - Every index dropped is created again, with its own name and definition, in the same
//!   transaction: a commit has them all, and a rollback (a failed import, `kill -9`) never
//!   dropped them. Readers of other connections see the old schema until the commit (WAL).

use rusqlite::Connection;
use sejf_core::ports::StoreError;

use crate::{error, stmt};

/// Below this many people inserted an import never defers its indexes: while the trees fit the
/// page cache, inserting into them costs no more than building them (§4v: 100,000 people took
/// 4.4–4.5 s either way).
pub(crate) const BULK_FROM: u64 = 100_000;

/// The non-unique indexes of the tables an import fills, as the migrations define them (a test
/// holds this list equal to the schema's): how each is dropped and created again. Compile-time
/// SQL like the rest of the store's; the keys and unique indexes are not among them.
const DEFERRED: [(&str, &str); 8] = [
    ("DROP INDEX IF EXISTS people_company", "CREATE INDEX people_company ON people (company_id)"),
    ("DROP INDEX IF EXISTS people_email_bidx", "CREATE INDEX people_email_bidx ON people (email_bidx)"),
    ("DROP INDEX IF EXISTS people_national_id_bidx", "CREATE INDEX people_national_id_bidx ON people (national_id_bidx)"),
    ("DROP INDEX IF EXISTS people_owner", "CREATE INDEX people_owner ON people (owner_id)"),
    ("DROP INDEX IF EXISTS people_phone_bidx", "CREATE INDEX people_phone_bidx ON people (phone_bidx)"),
    ("DROP INDEX IF EXISTS people_unit", "CREATE INDEX people_unit ON people (unit)"),
    ("DROP INDEX IF EXISTS person_name_tokens_person", "CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token)"),
    ("DROP INDEX IF EXISTS person_tags_tag", "CREATE INDEX person_tags_tag ON person_tags (tag)"),
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
        for (drop, _) in DEFERRED {
            stmt::execute(conn, drop, &[], "import: deferring indexes")?;
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
        assert!(
            during.iter().all(|(_, sql)| sql.as_deref().is_none_or(|s| s.starts_with("CREATE UNIQUE"))),
            "only unique ones stay: {during:?}"
        );
        assert!(!during.is_empty(), "the primary keys' indexes stay");
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

    /// The list of indexes built at an import's end is every non-unique index of the three
    /// tables, in the migrations' own words: an index added to them later, or defined anew,
    /// must be added here, or an import would leave it out or build another one.
    #[test]
    fn the_deferred_indexes_are_the_schemas_non_unique_ones_as_defined() {
        let conn = db();
        let schema: Vec<String> =
            indexes(&conn).into_iter().filter_map(|(_, sql)| sql).filter(|sql| !sql.starts_with("CREATE UNIQUE")).collect();
        let ours: Vec<String> = DEFERRED.iter().map(|(_, create)| create.to_string()).collect();
        assert_eq!(schema, ours);
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
