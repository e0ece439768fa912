//! The SQL of the people tables, as compile-time literals.
//!
//! A list is three statements over one snapshot: the page of people, their tags, their name
//! tokens. The last two select by `person_id IN (<the page query>)`, repeating the page's filter
//! text via `macro_rules!` + `concat!`, so a page costs three round trips whatever its size
//! instead of one per person, and no id list has to be spliced into SQL.
//!
//! Parameter numbering of every list statement (see `codec::ListBinds::bind_with_tag`):
//! `$1` all (0/1), `$2` the viewer's user id, `$3` member_units (0/1), `$4` owner filter, `$5`
//! unit filter, `$6` tag filter, `$7` cursor (ids strictly greater), `$8` limit, and for the
//! blind-index searches `$9` the index value.

use sejf_core::ports::BlindIndex;
use sejf_core::ports::PersonField;

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
pub(crate) use person_fields;

/// The personal columns as the statements name them.
pub(crate) const FIELD_COLUMNS: &str = person_fields!("", "", "");

/// The number of columns `people::decode_person` reads before the personal ones.
pub(crate) const FIELDS_AT: usize = 7;

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

/// The person columns every read decodes, in the order `people::decode_person` expects; the
/// wrapped subject key comes last from the LEFT JOIN on the key store.
macro_rules! person_columns {
    () => {
        concat!(
            "SELECT p.id, p.owner_id, p.unit, p.company_id, p.version, p.created_at, p.updated_at, ",
            person_fields!("p.", "", ""),
            ", p.email_bidx, p.phone_bidx, p.national_id_bidx, k.wrapped"
        )
    };
}
macro_rules! person_from {
    () => {
        " FROM people p LEFT JOIN keystore k ON k.kind = 'subject' AND k.id = p.id "
    };
}
macro_rules! person_select {
    () => {
        concat!(person_columns!(), person_from!())
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

/// The three statements of one kind of list.
pub(crate) struct PageSql {
    pub(crate) rows: &'static str,
    pub(crate) tags: &'static str,
    pub(crate) tokens: &'static str,
}

macro_rules! page_sql {
    ($extra:literal) => {
        PageSql {
            rows: concat!(person_select!(), people_filter!(), $extra, " ORDER BY p.id LIMIT CAST($8 AS INTEGER)"),
            tags: concat!(
                "SELECT t.person_id, t.tag FROM person_tags t WHERE t.person_id IN (\
                 SELECT p.id FROM people p ",
                people_filter!(),
                $extra,
                " ORDER BY p.id LIMIT CAST($8 AS INTEGER)) ORDER BY t.person_id, t.tag"
            ),
            tokens: concat!(
                "SELECT n.person_id, n.token FROM person_name_tokens n WHERE n.person_id IN (\
                 SELECT p.id FROM people p ",
                people_filter!(),
                $extra,
                " ORDER BY p.id LIMIT CAST($8 AS INTEGER)) ORDER BY n.person_id, n.token"
            ),
        }
    };
}

pub(crate) const LIST: PageSql = page_sql!("");
const BY_EMAIL: PageSql = page_sql!(" AND p.email_bidx = $9");
const BY_PHONE: PageSql = page_sql!(" AND p.phone_bidx = $9");
const BY_NATIONAL_ID: PageSql = page_sql!(" AND p.national_id_bidx = $9");
const BY_NAME_TOKEN: PageSql = page_sql!(" AND p.id IN (SELECT nt.person_id FROM person_name_tokens nt WHERE nt.token = $9)");

/// The statements of a blind-index search.
pub(crate) fn by_bidx(column: BlindIndex) -> &'static PageSql {
    match column {
        BlindIndex::Email => &BY_EMAIL,
        BlindIndex::Phone => &BY_PHONE,
        BlindIndex::NationalId => &BY_NATIONAL_ID,
        BlindIndex::Name => &BY_NAME_TOKEN,
    }
}

/// People by id as ONE row (the hot path of `GET /people/{id}`, where concurrent reads share a
/// query): a JSON array with one array per person (the columns of `person_columns!` in order,
/// the personal ones as one inner array, ciphertexts and the wrapped key as hex, then the tags
/// and name tokens as arrays). A row costs the driver a message between threads and a conversion of
/// every column, so a batch of reads (`App::person` under load) is cheaper as one text.
/// `$1` is a JSON array of ids.
macro_rules! people_as_json {
    ($agg:literal, $array:literal, $hex_open:literal, $hex_close:literal, $lists:expr, $where:literal) => {
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
            person_from!(),
            $where
        )
    };
}
/// SQLite's JSON holds no BLOB, and its `hex(NULL)` is '': `nullif` turns that back into null
/// (a ciphertext or wrapped key is never empty).
pub(crate) const GET_MANY_SQLITE: &str = people_as_json!(
    "json_group_array",
    "json_array",
    "nullif(hex(",
    "), '')",
    "json((SELECT json_group_array(t.tag ORDER BY t.tag) FROM person_tags t WHERE t.person_id = p.id)), \
     json((SELECT json_group_array(n.token ORDER BY n.token) FROM person_name_tokens n WHERE n.person_id = p.id))",
    "WHERE p.id IN (SELECT value FROM json_each($1))"
);
pub(crate) const GET_MANY_POSTGRES: &str = concat!(
    "SELECT coalesce(batch.people, '[]')::text FROM (",
    people_as_json!(
        "json_agg",
        "json_build_array",
        "encode(",
        ", 'hex')",
        "(SELECT coalesce(json_agg(t.tag ORDER BY t.tag), '[]'::json) FROM person_tags t WHERE t.person_id = p.id), \
         (SELECT coalesce(json_agg(n.token ORDER BY n.token), '[]'::json) FROM person_name_tokens n WHERE n.person_id = p.id)",
        "WHERE p.id IN (SELECT json_array_elements_text($1::json))"
    ),
    ") AS batch(people)"
);

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
pub(crate) const DELETE_TAGS: &str = "DELETE FROM person_tags WHERE person_id = $1";
pub(crate) const DELETE_TOKENS: &str = "DELETE FROM person_name_tokens WHERE person_id = $1";

pub(crate) const DELETE_ACTIVITIES: &str = "DELETE FROM activities WHERE person_id = $1";
pub(crate) const DELETE: &str = "DELETE FROM people WHERE id = $1";
pub(crate) const DELETE_KEY: &str = "DELETE FROM keystore WHERE kind = 'subject' AND id = $1";

pub(crate) const COUNT: &str = "SELECT COUNT(*) FROM people";
/// After an erasure (SQLite only): the write-ahead log into the database, then cut to nothing.
pub(crate) const WAL_TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";
