//! Database URLs: building the SQLite one for a data directory, and printing any of them without
//! its password.
//!
//! Invariant: [`redact_url`] never returns a password, whether it sits in the user-info part
//! (`postgres://user:secret@host/db`) or in a query parameter (`?password=secret`).

use std::path::Path;

/// What a redacted secret is shown as.
const REDACTED: &str = "***";

/// The URL of the SQLite database file at `path`, created if missing (`mode=rwc`).
///
/// sqlx percent-decodes the path, so `%`, `?` and `#` in a file name are encoded to survive. A
/// path that is not valid UTF-8 is converted lossily.
pub fn sqlite_url(path: &Path) -> String {
    let raw = path.to_string_lossy();
    let mut encoded = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

/// `url` with its password replaced by `***`, fit for logs and messages.
///
/// Anything that is not recognisably a URL is shown only by its scheme, as it could be a
/// password pasted in the wrong place.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.split_once(':') {
            // `sqlite:data.db` and `sqlite::memory:` carry no credentials.
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("sqlite") => url.to_owned(),
            _ => REDACTED.to_owned(),
        };
    };
    // The authority ends at the first '/', '?' or '#'; a password may contain none of them
    // unencoded, so this split is the one a URL parser makes.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_query(query)),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Replaces the value of every password-like query parameter, keeping any `#fragment`.
fn redact_query(query: &str) -> String {
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut out = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_key(key) => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || key.contains("token")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn password_in_userinfo_is_hidden() {
        assert_eq!(
            redact_url("postgres://sejf:hunter2@db.example:5432/crm?sslmode=require"),
            "postgres://sejf:***@db.example:5432/crm?sslmode=require"
        );
    }

    #[test]
    fn password_with_at_sign_is_hidden() {
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn user_without_password_is_kept() {
        assert_eq!(redact_url("postgres://postgres@127.0.0.1:5432/test"), "postgres://postgres@127.0.0.1:5432/test");
    }

    #[test]
    fn password_in_query_is_hidden() {
        assert_eq!(
            redact_url("postgresql://h/db?user=a&password=b&sslmode=disable"),
            "postgresql://h/db?user=a&password=***&sslmode=disable"
        );
    }

    #[test]
    fn sqlite_urls_are_unchanged() {
        assert_eq!(redact_url("sqlite:///tmp/x.db?mode=rwc"), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn non_urls_are_hidden() {
        assert_eq!(redact_url("hunter2"), "***");
    }

    #[test]
    fn sqlite_url_encodes_specials() {
        assert_eq!(sqlite_url(Path::new("/data/a?b#c%d.db")), "sqlite:///data/a%3Fb%23c%25d.db?mode=rwc");
    }
}
