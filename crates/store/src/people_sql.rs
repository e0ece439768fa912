//! The SQL of the people tables, as compile-time literals.
//!
//! Every read of people, by id or a page of a list, is ONE statement answering one text: a JSON
//! array with one array per person (`people_as_json!`), decoded by `people::JsonPerson` and
//! nothing else. A page selects its ids by `p.id IN (<the page query>)`, the page's filter text
//! repeated via `macro_rules!` + `concat!`, so no id list is spliced into SQL. An exact
//! blind-index search on SQLite asks first for its matches in no order (`exact_sql!`), and a
//! name's search reads its page from its token's rows in person order (`name_page!`).
//!
//! Parameter numbering of every list statement (see `codec::ListBinds::args_with_tag`):
//! `$1` all (0/1), `$2` the viewer's user id, `$3` member_units (0/1), `$4` owner filter, `$5`
//! unit filter, `$6` tag filter, `$7` cursor (ids strictly greater), `$8` limit, and for the
//! blind-index searches `$9` the index value.

use sejf_core::ports::BlindIndex;
use sejf_core::ports::PersonField;

use crate::Backend;

/// The personal columns of `people`, in `PersonField::ALL`'s order, each written
/// `<open><prefix><name><close>` and separated by ", ". The one list of them in the store's SQL;
/// [`FIELD_COLUMNS`] is checked against the domain's list when the crate compiles.
#[rustfmt::skip]
macro_rules! person_fields {
    ($prefix:literal, $open:literal, $close:literal) => {
        concat!(
            $open, $prefix, "first_name", $close, ", ",
            $open, $prefix, "last_name", $close, ", ",
            $open, $prefix, "email", $close, ", ",
            $open, $prefix, "phone", $close, ", ",
            $open, $prefix, "national_id", $close, ", ",
            $open, $prefix, "birth_date", $close, ", ",
            $open, $prefix, "address", $close, ", ",
            $open, $prefix, "notes", $close
        )
    };
}

/// The personal columns as the statements name them.
pub(crate) const FIELD_COLUMNS: &str = person_fields!("", "", "");

const _: () = assert!(
    columns_are_the_fields(FIELD_COLUMNS),
    "people_sql::person_fields! must list PersonField::ALL's names in order: a personal field was added or moved"
);

/// Whether `list` is `PersonField::ALL`'s names joined by ", " (at compile time).
const fn columns_are_the_fields(list: &str) -> bool {
    let list = list.as_bytes();
    let mut at = 0;
    let mut i = 0;
    while i < PersonField::ALL.len() {
        if i > 0 {
            if at + 2 > list.len() || list[at] != b',' || list[at + 1] != b' ' {
                return false;
            }
            at += 2;
        }
        let name = PersonField::ALL[i].name().as_bytes();
        let mut j = 0;
        while j < name.len() {
            if at >= list.len() || list[at] != name[j] {
                return false;
            }
            at += 1;
            j += 1;
        }
        i += 1;
    }
    at == list.len()
}

macro_rules! person_from {
    ($people:expr) => {
        concat!(" FROM ", $people, " p LEFT JOIN keystore k ON k.kind = 'subject' AND k.id = p.id ")
    };
}

/// The visibility rule of `authz` and the list filters. Visible: everything (`$1`), or owned by
/// the viewer, or (for managers, `$3`) in a unit the viewer belongs to.
macro_rules! people_filter {
    () => {
        "WHERE ($1 = 1 OR p.owner_id = $2 OR ($3 = 1 AND EXISTS (\
             SELECT 1 FROM user_units uu WHERE uu.user_id = $2 AND uu.unit = p.unit))) \
         AND ($4 = '' OR p.owner_id = $4) \
         AND ($5 = '' OR p.unit = $5) \
         AND ($6 = '' OR EXISTS (\
             SELECT 1 FROM person_tags ft WHERE ft.person_id = p.id AND ft.tag = $6)) \
         AND p.id > $7"
    };
}

/// People as ONE row: a JSON array with one array per person (the person's columns in order,
/// the personal ones as one inner array, ciphertexts and the wrapped key as hex, then the tags
/// as an array), for the people `$where` selects from `$people` (the table, or a query of its
/// rows), in no particular order. Not their name tokens: a score of rows in another tree, which
/// only an update and a rebuild of the index need ([`NAME_TOKENS_OF_MANY`]); read with every
/// person, they were a sixth of a GET's read. A row costs a driver a conversion of every column
/// (and sqlx a message between threads), so a batch of people, a page or the reads
/// `App::person` gathers under load, is cheaper as one text.
macro_rules! people_as_json {
    ($agg:literal, $array:literal, $hex_open:literal, $hex_close:literal, $lists:expr, $people:expr, $where:expr) => {
        concat!(
            "SELECT ",
            $agg,
            "(",
            $array,
            "(p.id, p.owner_id, p.unit, p.company_id, p.version, p.created_at, p.updated_at, ",
            $array,
            "(",
            person_fields!("p.", $hex_open, $hex_close),
            ")",
            ", p.email_bidx, p.phone_bidx, p.national_id_bidx, ",
            $hex_open,
            "k.wrapped",
            $hex_close,
            ", ",
            $lists,
            "))",
            person_from!($people),
            $where
        )
    };
}
/// [`people_as_json!`] on SQLite, whose JSON holds no BLOB and whose `hex(NULL)` is '': `nullif`
/// turns that back into null (a ciphertext or wrapped key is never empty).
macro_rules! sqlite_people {
    ($where:expr) => {
        sqlite_people!("people", $where)
    };
    ($people:expr, $where:expr) => {
        people_as_json!(
            "json_group_array",
            "json_array",
            "nullif(hex(",
            "), '')",
            "json((SELECT json_group_array(t.tag ORDER BY t.tag) FROM person_tags t WHERE t.person_id = p.id))",
            $people,
            $where
        )
    };
}
/// [`people_as_json!`] on PostgreSQL, whose `json_agg` of no rows is null.
macro_rules! postgres_people {
    ($where:expr) => {
        postgres_people!("people", $where)
    };
    ($people:expr, $where:expr) => {
        concat!(
            "SELECT coalesce(batch.people, '[]')::text FROM (",
            people_as_json!(
                "json_agg",
                "json_build_array",
                "encode(",
                ", 'hex')",
                "(SELECT coalesce(json_agg(t.tag ORDER BY t.tag), '[]'::json) FROM person_tags t WHERE t.person_id = p.id)",
                $people,
                $where
            ),
            ") AS batch(people)"
        )
    };
}

/// People by id (the hot path of `GET /people/{id}`, where concurrent reads share a query):
/// `$1` is a JSON array of distinct ids. On SQLite a join with the array, not `IN`: SQLite
/// builds an `IN` list into a temporary B-tree on every execution, opened and closed again,
/// about a fifth of a one-person read (docs/benchmarks.md §4x).
pub(crate) const GET_MANY: PeopleSql = PeopleSql {
    sqlite: sqlite_people!("JOIN json_each($1) j ON j.value = p.id"),
    postgres: postgres_people!("WHERE p.id IN (SELECT json_array_elements_text($1::json))"),
};

/// One read of people: its statement on each engine.
pub(crate) struct PeopleSql {
    sqlite: &'static str,
    postgres: &'static str,
}

impl PeopleSql {
    pub(crate) fn on(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// A page: the people of one page of the filtered list, `$extra` narrowing it further.
macro_rules! page_sql {
    ($extra:literal) => {
        PeopleSql {
            sqlite: sqlite_people!(concat!(
                "WHERE p.id IN (SELECT p.id FROM people p ",
                people_filter!(),
                $extra,
                " ORDER BY p.id LIMIT CAST($8 AS INTEGER))"
            )),
            postgres: postgres_people!(concat!(
                "WHERE p.id IN (SELECT p.id FROM people p ",
                people_filter!(),
                $extra,
                " ORDER BY p.id LIMIT CAST($8 AS INTEGER))"
            )),
        }
    };
}

pub(crate) const LIST: PeopleSql = page_sql!("");
const BY_EMAIL: PeopleSql = page_sql!(" AND p.email_bidx = $9");
const BY_PHONE: PeopleSql = page_sql!(" AND p.phone_bidx = $9");
const BY_NATIONAL_ID: PeopleSql = page_sql!(" AND p.national_id_bidx = $9");

/// A page of the people with a name token: the token's rows walked in the order of their
/// person (the token tree's key is (token, person)) from the cursor, stopping at the page's
/// end. Not `p.id IN (<the token's people>)`, which read every person with the token, sorted
/// them and kept a page: a prefix such as the first three letters of a common surname is held by
/// tens of thousands, 92.7 ms a page among 100,000 where this takes 0.8 ms (docs/benchmarks.md
/// §4x).
macro_rules! name_page {
    () => {
        concat!(
            "(SELECT p.* FROM person_name_tokens nt JOIN people p ON p.id = nt.person_id ",
            people_filter!(),
            " AND nt.token = $9 AND nt.person_id > $7 ORDER BY nt.person_id LIMIT CAST($8 AS INTEGER))"
        )
    };
}
const BY_NAME_TOKEN: PeopleSql = PeopleSql { sqlite: sqlite_people!(name_page!(), ""), postgres: postgres_people!(name_page!(), "") };

/// An exact search's matches on SQLite without the page's order: at most `$8` of the people
/// [`by_bidx`] pages through, any of them. Fewer than `$8` are all there are, so sorted they
/// are the page itself; this form has no temporary B-trees, which the ordered page builds
/// twice (its `IN` list and its `ORDER BY`), each opened and closed again, nearly a third of a
/// search by e-mail's read (docs/benchmarks.md §4x). SQLite only: those B-trees are SQLite's.
macro_rules! exact_sql {
    ($column:literal) => {
        sqlite_people!(concat!("(SELECT p.* FROM people p ", people_filter!(), " AND p.", $column, " = $9 LIMIT CAST($8 AS INTEGER))"), "")
    };
}

/// See [`exact_sql!`]: the statement for an exact blind index (not the name's, whose prefixes
/// have many matches).
pub(crate) fn exact_unordered(column: BlindIndex) -> Option<&'static str> {
    const EMAIL: &str = exact_sql!("email_bidx");
    const PHONE: &str = exact_sql!("phone_bidx");
    const NATIONAL_ID: &str = exact_sql!("national_id_bidx");
    match column {
        BlindIndex::Email => Some(EMAIL),
        BlindIndex::Phone => Some(PHONE),
        BlindIndex::NationalId => Some(NATIONAL_ID),
        BlindIndex::Name => None,
    }
}

/// The statement of a blind-index search.
pub(crate) fn by_bidx(column: BlindIndex) -> &'static PeopleSql {
    match column {
        BlindIndex::Email => &BY_EMAIL,
        BlindIndex::Phone => &BY_PHONE,
        BlindIndex::NationalId => &BY_NATIONAL_ID,
        BlindIndex::Name => &BY_NAME_TOKEN,
    }
}

// The head of a person's insert, a literal for `concat!` (`INSERT_HEAD` and `ONE_PERSON`).
macro_rules! insert_head {
    () => {
        concat!(
            "INSERT INTO people (id, owner_id, unit, company_id, version, created_at, updated_at, ",
            person_fields!("", "", ""),
            ", email_bidx, phone_bidx, national_id_bidx) VALUES "
        )
    };
}
/// The head of a person's insert, whose rows `people_batch` generates.
pub(crate) const INSERT_HEAD: &str = insert_head!();
/// The columns of a person's insert: id, owner, unit, company, version, two times, the personal
/// fields, three blind indexes.
pub(crate) const INSERT_COLUMNS: usize = 7 + PersonField::ALL.len() + 3;

/// A new person on PostgreSQL in one statement: `$1` the id, the tags (`$2`) and name tokens
/// (`$3`) as JSON arrays (each value once), the key (`$4`–`$6`: master key version, wrapped key,
/// time), then the row's [`INSERT_COLUMNS`] from [`ONE_PERSON_FIRST`] on, its id bound again
/// there. PostgreSQL runs every data-modifying `WITH` clause once and to completion, and checks
/// the row's foreign keys at the statement's end, as it did at each separate statement's end
/// before; a duplicate or a dangling reference fails the statement, and with it the change.
pub(crate) const ONE_PERSON: &str = {
    use crate::multirow::{ascii, build_sql, sql_len};
    const HEAD: &str = concat!(
        "WITH tags AS (INSERT INTO person_tags (person_id, tag) SELECT $1, value FROM json_array_elements_text(CAST($2 AS json))), ",
        "tokens AS (INSERT INTO person_name_tokens (token, person_id) ",
        "SELECT CAST(value AS BIGINT), $1 FROM json_array_elements_text(CAST($3 AS json))), ",
        "subject_key AS (INSERT INTO keystore (kind, id, master_version, wrapped, created_at) VALUES ('subject', $1, $4, $5, $6)) ",
        insert_head!()
    );
    const LEN: usize = sql_len(HEAD, "", INSERT_COLUMNS, 1, "", Some(ONE_PERSON_FIRST));
    const SQL: [u8; LEN] = build_sql(HEAD, "", INSERT_COLUMNS, 1, "", Some(ONE_PERSON_FIRST));
    ascii(&SQL)
};
/// The first placeholder of [`ONE_PERSON`]'s row.
pub(crate) const ONE_PERSON_FIRST: usize = 7;

/// A person's row over the version read: `$1` the id, `$2` that version, then the columns of
/// [`UPDATE_COLUMNS`] from `$3`.
pub(crate) const UPDATE: &str = {
    use crate::multirow::{ascii, build_sql, sql_len};
    const HEAD: &str = concat!(
        "UPDATE people SET version = version + 1, (owner_id, unit, company_id, updated_at, ",
        person_fields!("", "", ""),
        ", email_bidx, phone_bidx, national_id_bidx) = "
    );
    const TAIL: &str = " WHERE id = $1 AND version = $2";
    const LEN: usize = sql_len(HEAD, "", UPDATE_COLUMNS, 1, TAIL, Some(3));
    const SQL: [u8; LEN] = build_sql(HEAD, "", UPDATE_COLUMNS, 1, TAIL, Some(3));
    ascii(&SQL)
};
/// The columns an update sets: owner, unit, company, time, the personal fields, three indexes.
pub(crate) const UPDATE_COLUMNS: usize = 4 + PersonField::ALL.len() + 3;

/// [`UPDATE`] in two statements, for SQLite's writer, which rewrites every index of a column an
/// `UPDATE` sets, changed or not: this one sets the time and the personal fields over the
/// version read (`$1` the id, `$2` that version, then the columns of [`UPDATE_FIELD_COLUMNS`]
/// from `$3`), which no index holds...
pub(crate) const UPDATE_FIELDS: &str = {
    use crate::multirow::{ascii, build_sql, sql_len};
    const HEAD: &str = concat!("UPDATE people SET version = version + 1, (updated_at, ", person_fields!("", "", ""), ") = ");
    const TAIL: &str = " WHERE id = $1 AND version = $2";
    const LEN: usize = sql_len(HEAD, "", UPDATE_FIELD_COLUMNS, 1, TAIL, Some(3));
    const SQL: [u8; LEN] = build_sql(HEAD, "", UPDATE_FIELD_COLUMNS, 1, TAIL, Some(3));
    ascii(&SQL)
};
/// The columns [`UPDATE_FIELDS`] sets: the time and the personal fields.
pub(crate) const UPDATE_FIELD_COLUMNS: usize = 1 + PersonField::ALL.len();
/// ...and this one the indexed columns, only where one of them changes (most updates move no
/// owner, unit, company or blind index): `$1` the id, then owner, unit, company and the three
/// blind indexes.
pub(crate) const UPDATE_INDEXED: &str = "UPDATE people SET owner_id = $2, unit = $3, company_id = $4, \
     email_bidx = $5, phone_bidx = $6, national_id_bidx = $7 \
     WHERE id = $1 AND NOT (owner_id IS $2 AND unit IS $3 AND company_id IS $4 \
     AND email_bidx IS $5 AND phone_bidx IS $6 AND national_id_bidx IS $7)";
pub(crate) const TAGS_OF: &str = "SELECT tag FROM person_tags WHERE person_id = $1";
/// The name tokens of the people in the JSON array of ids `$1`, by person and token.
pub(crate) const NAME_TOKENS_OF_MANY: PeopleSql = PeopleSql {
    sqlite: "SELECT person_id, token FROM person_name_tokens WHERE person_id IN (SELECT value FROM json_each($1)) \
             ORDER BY person_id, token",
    postgres: "SELECT person_id, token FROM person_name_tokens WHERE person_id IN (SELECT json_array_elements_text($1::json)) \
               ORDER BY person_id, token",
};
/// Holds a person at version `$2` for the rest of the transaction: one row if they are at it
/// (locked on PostgreSQL until the commit; SQLite's write transaction holds the whole database),
/// none otherwise. Their row is not changed (on SQLite the touch counts as a change of it).
pub(crate) const HOLD_VERSION: &str = "UPDATE people SET version = version WHERE id = $1 AND version = $2";
pub(crate) const TOKENS_OF: &str = "SELECT token FROM person_name_tokens WHERE person_id = $1";
pub(crate) const DELETE_TAG: &str = "DELETE FROM person_tags WHERE person_id = $1 AND tag = $2";
pub(crate) const DELETE_TOKEN: &str = "DELETE FROM person_name_tokens WHERE person_id = $1 AND token = $2";

pub(crate) const DELETE_ACTIVITIES: &str = "DELETE FROM activities WHERE person_id = $1";
pub(crate) const DELETE: &str = "DELETE FROM people WHERE id = $1";
pub(crate) const DELETE_KEY: &str = "DELETE FROM keystore WHERE kind = 'subject' AND id = $1";

pub(crate) const COUNT: &str = "SELECT COUNT(*) FROM people";
