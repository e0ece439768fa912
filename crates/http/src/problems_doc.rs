//! `GET /problems/{type}`: the short page each problem `type` URI resolves to (RFC 9457 §3.1.1
//! asks that a type URI, when dereferenced, describe the problem for humans). One entry per type
//! the API answers; a test keeps the table and the code in step.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (type, status, title, what it means and what to do).
pub const PROBLEM_TYPES: &[(&str, u16, &str, &str)] = &[
    (
        "validation",
        422,
        "Invalid input",
        "A field of the request was refused; `field` names the first, `errors` lists them all with their reasons. Fix them and send again.",
    ),
    ("malformed-json", 400, "Malformed JSON", "The body is not valid JSON; `detail` gives the line and column."),
    ("invalid-field", 422, "Invalid field", "A field of the JSON body has the wrong type or is unknown; `field` names it."),
    ("unsupported-media-type", 415, "Unsupported media type", "Send the body as `Content-Type: application/json`."),
    ("bad-body", 400, "Unreadable body", "The body is not the JSON the route expects (or names a field the route does not know)."),
    ("bad-query", 400, "Bad query string", "A query parameter is unknown or malformed; `field` names it."),
    ("too-large", 413, "Body too large", "The request body exceeds the server's size limit (max_body_bytes)."),
    ("not-found", 404, "Not found", "No such route, or no such record that you may see: Sejf does not say which."),
    ("method-not-allowed", 405, "Method not allowed", "The route exists but not with this method."),
    ("unauthenticated", 401, "Authentication required", "Send `Authorization: Bearer TOKEN`: a token from sign-in, or an API token."),
    ("bad-credentials", 401, "Sign-in failed", "The username or password is wrong. Repeated failures are throttled."),
    ("mfa-required", 401, "TOTP code required", "Send the current code from the authenticator app (`totp`), or a recovery code."),
    ("mfa-enrollment-required", 403, "Enrol TOTP first", "This token may only enrol TOTP: POST /api/v1/auth/mfa/enroll, then /confirm."),
    (
        "password-change-required",
        403,
        "Change your password first",
        "An administrator set the password: POST /api/v1/auth/password with a new one.",
    ),
    ("account-locked", 403, "Account locked", "Too many failed sign-ins: an administrator unlocks it, or it unlocks after a while."),
    ("network-not-allowed", 403, "Not from this network", "Your role may only be used from the address blocks the configuration allows."),
    ("forbidden", 403, "Forbidden", "The policies do not allow this action for your role on this record; `detail` says why where it may."),
    (
        "read-budget",
        429,
        "Read budget exceeded",
        "You have read more distinct people this hour than your role's budget; an alert was raised.",
    ),
    ("throttled", 429, "Too many failed sign-ins", "Wait `Retry-After` seconds before trying again."),
    ("rate-limited", 429, "Too many requests", "This address sent too many requests before signing in; wait `Retry-After` seconds."),
    ("busy", 503, "Busy", "The server is verifying too many passwords at once; try again after `Retry-After` seconds."),
    (
        "precondition-required",
        428,
        "If-Match required",
        "Send `If-Match` with the ETag you read, so a concurrent change is not overwritten.",
    ),
    ("precondition-failed", 412, "Changed meanwhile", "The record changed since you read it: read it again and reapply your change."),
    (
        "conflict",
        409,
        "Conflict",
        "The change conflicts with the record's state (e.g. a legal hold, a decided request); `detail` says how.",
    ),
    ("approval-pending", 409, "Approval pending", "A second person must approve this export before it can be downloaded."),
    ("gone", 410, "Gone", "It existed but cannot be used any more (e.g. an export already downloaded or expired)."),
    ("integrity", 500, "Integrity check failed", "Stored data failed its integrity check; the operator has been told through the log."),
    ("unavailable", 503, "Service unavailable", "The database did not answer; try again shortly."),
    ("timeout", 503, "Request timed out", "The request took too long and was abandoned; nothing of it was committed."),
    ("internal", 500, "Internal error", "Something failed on the server; its log has the cause (never shown to clients)."),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "")
}

/// The page for one problem type (404 for a type Sejf does not answer).
pub async fn page(Path(kind): Path<String>) -> Response {
    let Some((name, status, title, text)) = PROBLEM_TYPES.iter().find(|(n, ..)| *n == kind) else {
        return (StatusCode::NOT_FOUND, "no such problem type\n").into_response();
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Sejf</title></head><body>\
         <h1>{title}</h1><p>HTTP {status}, problem type <code>/problems/{name}</code>.</p><p>{}</p>\
         <p>Errors are <code>application/problem+json</code> (RFC 9457): <code>type</code>, <code>title</code>, \
         <code>status</code>, <code>detail</code>, and for bad input <code>field</code> and <code>errors</code>.</p></body></html>",
        escape(text)
    );
    let mut res = html.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res
}

#[cfg(test)]
mod tests {
    use super::PROBLEM_TYPES;

    /// Every `type` the code can answer has its page, and every page a `type` in the code.
    #[test]
    fn the_table_matches_the_types_the_code_answers() {
        let sources = [include_str!("problem.rs"), include_str!("extract.rs"), include_str!("lib.rs"), include_str!("auth.rs")].join("\n");
        let mut used = std::collections::BTreeSet::new();
        let lines: Vec<&str> = sources.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            // `Problem::new(StatusCode::X, "type", …` on one line or the next few.
            if line.contains("Problem::new(") || line.contains("Problem::field(") {
                let window = lines[i..(i + 4).min(lines.len())].join(" ");
                if let Some(after) = window.split("StatusCode::").nth(1)
                    && let Some(q) = after.split('"').nth(1)
                {
                    used.insert(q.to_string());
                }
            }
        }
        let table: std::collections::BTreeSet<String> = PROBLEM_TYPES.iter().map(|(n, ..)| n.to_string()).collect();
        let missing: Vec<_> = used.difference(&table).collect();
        assert!(missing.is_empty(), "problem types without a page: {missing:?}");
        assert!(used.len() >= 20, "the scan found the types: {used:?}");
    }
}
