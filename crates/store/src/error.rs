//! Turns sqlx and rusqlite errors into [`StoreError`]s.
//!
//! Invariant: an error text never carries a bound value. Database messages can quote the values
//! of the statement that failed (PostgreSQL's "invalid input syntax for type …: \"…\"", a unique
//! violation's key detail) and sqlx's decode errors print the value they could not decode, so for
//! statements with bound values only a fixed context, the engine's error code and the error
//! class survive. Statements without bound values (connecting, migrations) keep the database's
//! message, which is what an operator needs to fix a broken setup.

use sejf_core::ports::StoreError;
use sqlx::error::ErrorKind;

/// The mapper for a statement with bound values: `.map_err(error::db("person insert"))`.
///
/// A unique violation becomes [`StoreError::Conflict`], a foreign-key violation
/// [`StoreError::Reference`], anything else [`StoreError::Backend`] without the database message.
pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| classify(context, e, false)
}

/// The mapper for statements without bound values, where the database message is safe to keep.
pub(crate) fn verbose(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| classify(context, e, true)
}

/// The mapper for opening the pool.
pub(crate) fn connect(e: sqlx::Error) -> StoreError {
    match e {
        // A URL parse error may quote the URL, and with it a password.
        sqlx::Error::Configuration(_) => StoreError::Backend("connect: invalid database URL or options".to_owned()),
        other => classify("connect", other, true),
    }
}

/// [`db`] for the synchronous SQLite driver (`reader`, `writer`): the same classes, and only
/// SQLite's result code besides the context.
pub(crate) fn sync(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error() {
        Some(err) => match err.extended_code {
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::Conflict(format!("{context}: the record already exists"))
            }
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                StoreError::Reference(format!("{context}: a record it refers to does not exist, or another record still refers to it"))
            }
            code => StoreError::Backend(format!("{context}: database error code {code}")),
        },
        None => StoreError::Backend(format!("{context}: database driver error")),
    }
}

/// A write unit that panicked: its writes are rolled back and its caller gets this answer, while
/// the writer (SQLite) or the batch (PostgreSQL) goes on with the other units.
pub(crate) fn panicked() -> StoreError {
    StoreError::Backend("a database write panicked; it was rolled back".into())
}

/// A value read from the database that does not have the shape this crate writes (a corrupt or
/// foreign row). Names the column, never the value.
pub(crate) fn corrupt(column: &'static str) -> StoreError {
    StoreError::Backend(format!("unexpected value in column {column}"))
}

fn classify(context: &'static str, e: sqlx::Error, keep_message: bool) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict(format!("{context}: the record already exists")),
                ErrorKind::ForeignKeyViolation => StoreError::Reference(format!(
                    "{context}: a record it refers to does not exist, or another record still \
                     refers to it"
                )),
                _ if keep_message => StoreError::Backend(format!("{context}: {} (code {code})", db.message())),
                _ => StoreError::Backend(format!("{context}: database error code {code}")),
            }
        }
        // A refused certificate arrives as an i/o error around rustls's; its message names the
        // problem (an unknown issuer, a name mismatch) and never a value of ours.
        sqlx::Error::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(tls) => StoreError::Backend(format!("{context}: TLS: {tls} (check sslrootcert and the server's certificate)")),
            None => StoreError::Backend(format!("{context}: i/o error: {}", io.kind())),
        },
        sqlx::Error::PoolTimedOut => StoreError::Backend(format!("{context}: timed out waiting for a connection")),
        sqlx::Error::PoolClosed => StoreError::Backend(format!("{context}: the pool is closed")),
        sqlx::Error::ColumnDecode { index, .. } => StoreError::Backend(format!("{context}: cannot decode column {index}")),
        sqlx::Error::ColumnNotFound(name) => StoreError::Backend(format!("{context}: no column {name}")),
        sqlx::Error::Tls(_) => StoreError::Backend(format!("{context}: TLS error")),
        sqlx::Error::Protocol(_) => StoreError::Backend(format!("{context}: protocol error")),
        sqlx::Error::WorkerCrashed => StoreError::Backend(format!("{context}: the database worker crashed")),
        // Encode, Decode, driver and configuration errors can quote values: keep only the class.
        _ => StoreError::Backend(format!("{context}: database driver error")),
    }
}
