//! Portable encodings shared by every table, and the bind values of a list query.
//!
//! Invariants: a UUID is stored as its hyphenated lower-case text (what `Uuid`'s `Display`
//! writes), so text order is creation order for UUIDv7; a boolean as 0 or 1; "no filter" as the
//! empty string. Decoding never echoes the value it failed on (see `error`).

use sejf_core::ports::{ListQuery, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Decode, Row, Type};
use uuid::Uuid;

use crate::error;

/// `items` as a JSON array, bound as one value where a statement takes a list (`json_each` on
/// SQLite, `json_array_elements_text` on PostgreSQL): a group commit's audit bodies, the ids of
/// a read of many people, a new person's tags and name tokens.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(items).map_err(|e| StoreError::Backend(e.to_string()))
}

/// A query over the `Any` driver whose SQL is owned by the query itself.
pub(crate) type AnyQuery = Query<'static, Any, AnyArguments>;

/// Reads column `idx`, mapping a missing or mistyped value to a corruption error naming `column`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, idx: usize, column: &'static str) -> Result<T, StoreError>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get::<T, _>(idx).map_err(|_| error::corrupt(column))
}

/// Reads a UUID stored as text.
pub(crate) fn uuid(row: &AnyRow, idx: usize, column: &'static str) -> Result<Uuid, StoreError> {
    let text: &str = get(row, idx, column)?;
    Uuid::parse_str(text).map_err(|_| error::corrupt(column))
}

/// The text form of an optional UUID, for binding.
pub(crate) fn opt_uuid_text(id: Option<Uuid>) -> Option<String> {
    id.map(|id| id.to_string())
}

/// A bound value in a form both drivers take. A binder that serves both the sqlx path and the
/// synchronous SQLite path (`writer`) lists its values once as `Arg`s, and each path binds them.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Owned(String),
    OptOwned(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Blob(&'a [u8]),
    /// A blob the argument owns (one handed to the writer thread).
    Bytes(Vec<u8>),
    OptBlob(Option<&'a [u8]>),
}

impl Arg<'_> {
    /// Binds this value as the query's next parameter.
    pub(crate) fn bind(&self, q: AnyQuery) -> AnyQuery {
        match self {
            Arg::Text(t) => q.bind(*t),
            Arg::Owned(t) => q.bind(t.as_str()),
            Arg::OptOwned(t) => q.bind(t.as_deref()),
            Arg::Int(n) => q.bind(*n),
            Arg::OptInt(n) => q.bind(*n),
            Arg::Blob(b) => q.bind(*b),
            Arg::Bytes(b) => q.bind(b.as_slice()),
            Arg::OptBlob(b) => q.bind(*b),
        }
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Text(t) => ValueRef::Text(t.as_bytes()),
            Arg::Owned(t) => ValueRef::Text(t.as_bytes()),
            Arg::OptOwned(t) => t.as_deref().map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
            Arg::Int(n) => ValueRef::Integer(*n),
            Arg::OptInt(n) => n.map_or(ValueRef::Null, ValueRef::Integer),
            Arg::Blob(b) => ValueRef::Blob(b),
            Arg::Bytes(b) => ValueRef::Blob(b),
            Arg::OptBlob(b) => b.map_or(ValueRef::Null, ValueRef::Blob),
        }))
    }
}

/// Binds `args` in order.
pub(crate) fn bind_all(q: AnyQuery, args: &[Arg<'_>]) -> AnyQuery {
    args.iter().fold(q, |q, a| a.bind(q))
}

/// A result row of either driver, read by column index. A decoder written against this serves
/// the sqlx path and the rusqlite one (`reader`) alike; a missing or mistyped value is a
/// corruption error naming the column, never the value.
pub(crate) trait Columns {
    fn text(&self, idx: usize, column: &'static str) -> Result<String, StoreError>;
    fn int(&self, idx: usize, column: &'static str) -> Result<i64, StoreError>;
    fn opt_text(&self, idx: usize, column: &'static str) -> Result<Option<String>, StoreError>;
    fn opt_blob(&self, idx: usize, column: &'static str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A UUID stored as text.
    fn uuid(&self, idx: usize, column: &'static str) -> Result<Uuid, StoreError> {
        Uuid::parse_str(&self.text(idx, column)?).map_err(|_| error::corrupt(column))
    }

    /// A flag stored as 0 or 1.
    fn flag(&self, idx: usize, column: &'static str) -> Result<bool, StoreError> {
        match self.int(idx, column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(error::corrupt(column)),
        }
    }

    /// A value that must be present, stored as a blob.
    fn blob(&self, idx: usize, column: &'static str) -> Result<Vec<u8>, StoreError> {
        self.opt_blob(idx, column)?.ok_or_else(|| error::corrupt(column))
    }

    /// An optional UUID stored as text.
    fn opt_uuid(&self, idx: usize, column: &'static str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(idx, column)?.map(|t| Uuid::parse_str(&t).map_err(|_| error::corrupt(column))).transpose()
    }
}

impl Columns for AnyRow {
    fn text(&self, idx: usize, column: &'static str) -> Result<String, StoreError> {
        get(self, idx, column)
    }
    fn int(&self, idx: usize, column: &'static str) -> Result<i64, StoreError> {
        get(self, idx, column)
    }
    fn opt_text(&self, idx: usize, column: &'static str) -> Result<Option<String>, StoreError> {
        get(self, idx, column)
    }
    fn opt_blob(&self, idx: usize, column: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        get(self, idx, column)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, idx: usize, column: &'static str) -> Result<String, StoreError> {
        self.get(idx).map_err(|_| error::corrupt(column))
    }
    fn int(&self, idx: usize, column: &'static str) -> Result<i64, StoreError> {
        self.get(idx).map_err(|_| error::corrupt(column))
    }
    fn opt_text(&self, idx: usize, column: &'static str) -> Result<Option<String>, StoreError> {
        self.get(idx).map_err(|_| error::corrupt(column))
    }
    fn opt_blob(&self, idx: usize, column: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(idx).map_err(|_| error::corrupt(column))
    }
}

/// The bind values of a list query, in the order the list SQL of `people_sql` and `records`
/// numbers them.
pub(crate) struct ListBinds {
    all: i64,
    viewer: String,
    member_units: i64,
    owner: String,
    unit: String,
    tag: String,
    after: String,
    limit: i64,
}

impl ListBinds {
    pub(crate) fn new(query: &ListQuery) -> ListBinds {
        ListBinds {
            all: i64::from(query.visibility.all),
            viewer: query.visibility.owner.to_string(),
            member_units: i64::from(query.visibility.member_units),
            owner: query.owner.map(|o| o.to_string()).unwrap_or_default(),
            unit: query.unit.clone().unwrap_or_default(),
            tag: query.tag.clone().unwrap_or_default(),
            // Every stored id is greater than the empty string: no cursor means from the start.
            after: query.after.map(|a| a.to_string()).unwrap_or_default(),
            limit: i64::from(query.limit),
        }
    }

    /// `$1 all, $2 viewer, $3 member_units, $4 owner, $5 unit, $6 tag, $7 after, $8 limit`.
    pub(crate) fn args_with_tag(&self) -> Vec<Arg<'_>> {
        vec![
            Arg::Int(self.all),
            Arg::Text(&self.viewer),
            Arg::Int(self.member_units),
            Arg::Text(&self.owner),
            Arg::Text(&self.unit),
            Arg::Text(&self.tag),
            Arg::Text(&self.after),
            Arg::Int(self.limit),
        ]
    }

    /// `$1 all, $2 viewer, $3 member_units, $4 owner, $5 unit, $6 after, $7 limit`: the tables
    /// without tags, the same values with the tag left out. (An unused placeholder would break
    /// SQLite's parameter numbering.)
    pub(crate) fn args_without_tag(&self) -> Vec<Arg<'_>> {
        let mut args = self.args_with_tag();
        args.remove(5);
        args
    }
}
