//! `GET /problems/{type}`: the short page each problem `type` URI resolves to (RFC 9457 §3.1.1
//! asks that a type URI, when dereferenced, describe the problem for humans), rendered from
//! [`ProblemType`]: every kind the API answers has its page, by construction.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::ProblemType;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "")
}

/// The page for one problem type (404 for a type Sejf does not answer).
pub async fn page(Path(kind): Path<String>) -> Response {
    let Some(kind) = ProblemType::from_code(&kind) else {
        return (StatusCode::NOT_FOUND, "no such problem type\n").into_response();
    };
    let (name, status, title, text) = (kind.code(), kind.status().as_u16(), kind.title(), kind.help());
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
    use super::ProblemType;

    /// Every kind has a page, under its own code, with its status.
    #[tokio::test]
    async fn every_kind_has_its_page() {
        for kind in ProblemType::ALL {
            assert_eq!(ProblemType::from_code(kind.code()), Some(kind), "{kind:?}: codes are unique");
            let res = super::page(axum::extract::Path(kind.code().to_string())).await;
            assert_eq!(res.status(), axum::http::StatusCode::OK, "{kind:?}");
            let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap_or_default();
            let html = String::from_utf8_lossy(&body);
            assert!(html.contains(&format!("HTTP {}", kind.status().as_u16())) && html.contains(kind.title()), "{kind:?}: {html}");
        }
        let res = super::page(axum::extract::Path("no-such-kind".to_string())).await;
        assert_eq!(res.status(), axum::http::StatusCode::NOT_FOUND);
    }
}
