//! Helpers for tests (of this crate and of the crates above it) that need a database of their
//! own: a fresh PostgreSQL database per test, and a fresh SQLite file.
//!
//! Not behind `cfg(test)` because other crates' tests use it. Nothing here runs in production
//! code paths. Databases it creates are named `sejf_t_<32 hex digits>`; `drop_postgres_database`
//! refuses any other name, so it cannot drop a real database by mistake.

use std::path::PathBuf;

use sejf_core::ports::StoreError;
use sqlx::{AssertSqlSafe, Connection};
use uuid::Uuid;

use crate::error;

/// The environment variable naming the PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const TEST_DATABASE_URL_VAR: &str = "SEJF_TEST_DATABASE_URL";

const TEST_DB_PREFIX: &str = "sejf_t_";

/// The value of [`TEST_DATABASE_URL_VAR`], if set and not empty.
pub fn test_database_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_VAR).ok().filter(|u| !u.is_empty())
}

/// Creates an empty database `sejf_t_<uuid>` on the server of `base_url` and returns its URL
/// (the base URL with the database name replaced, query parameters kept).
pub async fn fresh_postgres_database(base_url: &str) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let name = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
    let mut conn = sqlx::AnyConnection::connect(base_url).await.map_err(error::connect)?;
    // A database name cannot be a bind parameter. The name is our prefix and 32 hex digits,
    // generated just above, so splicing it in cannot inject anything.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .persistent(false)
        .execute(&mut conn)
        .await
        .map_err(error::verbose("create test database"))?;
    let _ = conn.close().await;
    Ok(with_database(base_url, &name))
}

/// Drops a database made by [`fresh_postgres_database`], best effort: errors are logged and
/// otherwise ignored, and a URL whose database is not a test database is left alone.
pub async fn drop_postgres_database(base_url: &str, url: &str) {
    let Some(name) = database_name(url).filter(|n| is_test_database_name(n)) else {
        tracing::warn!("not dropping a database that fresh_postgres_database did not make");
        return;
    };
    sqlx::any::install_default_drivers();
    let mut conn = match sqlx::AnyConnection::connect(base_url).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %error::connect(e), "cannot drop test database");
            return;
        }
    };
    // The name passed `is_test_database_name`: prefix and hex digits only.
    let drop =
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).persistent(false).execute(&mut conn).await;
    if let Err(e) = drop {
        tracing::warn!(error = %error::verbose("drop test database")(e), "cannot drop test database");
    }
    let _ = conn.close().await;
}

/// A fresh directory under the system temp dir, for a SQLite file (the caller removes it).
pub fn fresh_temp_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sejf-test-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn is_test_database_name(name: &str) -> bool {
    name.strip_prefix(TEST_DB_PREFIX).is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Splits a URL into (before the path, the path without its '/', the query with its '?').
fn split_path(url: &str) -> (&str, &str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => match url[after_scheme..].find('?') {
            Some(i) => url.split_at(after_scheme + i),
            None => (url, ""),
        },
    };
    let (path, query) = match rest.find('?') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    (head, path.trim_start_matches('/'), query)
}

fn with_database(base_url: &str, name: &str) -> String {
    let (head, _, query) = split_path(base_url);
    format!("{head}/{name}{query}")
}

fn database_name(url: &str) -> Option<&str> {
    let (_, path, _) = split_path(url);
    (!path.is_empty()).then_some(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_the_url() {
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/test", "sejf_t_x"), "postgres://postgres@127.0.0.1:5432/sejf_t_x");
        assert_eq!(with_database("postgres://u:p@h/test?sslmode=disable", "sejf_t_x"), "postgres://u:p@h/sejf_t_x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "sejf_t_x"), "postgres://h/sejf_t_x");
        assert_eq!(with_database("postgres://h?a=b", "sejf_t_x"), "postgres://h/sejf_t_x?a=b");
    }

    #[test]
    fn only_test_databases_are_dropped() {
        let ok = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
        assert!(is_test_database_name(&ok));
        assert!(!is_test_database_name("test"));
        assert!(!is_test_database_name("sejf_t_x; DROP TABLE users"));
        assert_eq!(database_name("postgres://h:1/abc?x=y"), Some("abc"));
        assert_eq!(database_name("postgres://h:1"), None);
    }
}
