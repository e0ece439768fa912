//! Extractors that answer bad input with our problem+json: a JSON body that refuses malformed
//! syntax, wrong types and unknown fields naming the field; query strings that refuse unknown
//! parameters; the bearer token; and `If-Match`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemType};

/// A JSON body deserialised with field-path error reporting.
pub struct Json<T>(pub T);

/// Turns a serde error into a problem naming the field at fault.
pub fn json_problem(path: &str, err: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            Problem::new(ProblemType::MalformedJson, format!("the body is not valid JSON (line {}, column {})", err.line(), err.column()))
        }
        Category::Data => {
            let msg = err.to_string();
            // serde names an unknown field as "unknown field `x`": report that field itself.
            let field = if let Some(rest) = msg.strip_prefix("unknown field `") {
                let name = rest.split('`').next().unwrap_or("");
                // serde_path_to_error's path already ends at the unknown field.
                if path.is_empty() || path == "." || path == name || path.ends_with(&format!(".{name}")) {
                    if path.is_empty() || path == "." { name.to_string() } else { path.to_string() }
                } else {
                    format!("{path}.{name}")
                }
            } else {
                path.to_string()
            };
            let reason = safe_reason(msg.split(" at line ").next().unwrap_or(&msg));
            let field = if field.is_empty() || field == "." { "body".to_string() } else { field };
            Problem::field(ProblemType::InvalidField, &field, reason)
        }
    }
}

/// serde's messages quote the offending value ("invalid type: string \"jan@…\""), which may
/// be personal data: keep only what was expected.
fn safe_reason(msg: &str) -> String {
    if msg.starts_with("unknown field") || msg.starts_with("missing field") || msg.starts_with("duplicate field") {
        return msg.to_string();
    }
    match msg.split_once("expected ") {
        Some((_, expected)) => format!("has the wrong type or value; expected {expected}"),
        None => "has the wrong type or value".to_string(),
    }
}

/// Parses JSON bytes into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        json_problem(&path, e.inner())
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::field(ProblemType::UnsupportedMediaType, "Content-Type", "send application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(ProblemType::TooLarge, "the request body exceeds the size limit")
            } else {
                Problem::new(ProblemType::BadBody, rej.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Query parameters; unknown ones are refused (declare `#[serde(deny_unknown_fields)]`).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q);
        de.map(Query)
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> Result<T, Problem> {
    // axum's Query uses serde_urlencoded; reuse it through axum to avoid another dependency.
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}").parse().map_err(|_| Problem::new(ProblemType::BadQuery, "the query string cannot be parsed"))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|rej| {
        let text = rej.body_text();
        let reason = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_string();
        let field = reason
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .or_else(|| reason.split(':').next().filter(|f| !f.contains(' ')))
            .unwrap_or("query")
            .to_string();
        let reason = if reason.starts_with("unknown field") { reason.clone() } else { "has an invalid value".to_string() };
        Problem::field(ProblemType::BadQuery, &field, reason)
    })
}

/// A record id in the path. Anything that is not a UUID names no record: 404, like any
/// other id that does not exist (and the refused text is never echoed).
pub struct Id(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| Problem::not_found())?;
        uuid::Uuid::parse_str(&raw).map(Id).map_err(|_| Problem::not_found())
    }
}

/// A user name in the path; anything that is not a valid user name is simply not found.
pub struct Username(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Username {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| Problem::not_found())?;
        sejf_core::users::check_username(&raw).map(|()| Username(raw)).map_err(|_| Problem::not_found())
    }
}

/// The version named by `If-Match` (our ETags are `"<version>"`), if any.
pub fn if_match(parts: &axum::http::HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = parts.get(header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| Problem::field(ProblemType::PreconditionFailed, "If-Match", "does not match the record's ETag"))
}

/// `"<version>"`: a strong ETag for a record version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
