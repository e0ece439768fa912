//! Sejf's HTTP edge: the axum routers of the public and admin listeners, problem+json errors,
//! security headers, body-size and time limits, and the OpenAPI document generated from the
//! handlers.
//!
//! Invariants: no route reads or writes a record without an authenticated [`auth::Authed`]
//! caller (only `/healthz` and the API description need none); no log line carries a request
//! body, a query string or a decrypted value.

pub mod auth;
pub mod client;
pub mod dto;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod problems_doc;
pub mod ratelimit;
pub mod routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sejf_core::App;

use crate::dto::{ActivityApi, CompanyApi, DealApi};
use crate::problem::{Problem, ProblemType};

/// Limits and network trust of the HTTP edge.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client::TrustedProxies,
    /// Send `Strict-Transport-Security` (only when this listener speaks TLS).
    pub hsts: bool,
    /// Requests per address before authentication (ADR 0024).
    pub rate_limit: ratelimit::RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_proxies: client::TrustedProxies::default(),
            hsts: false,
            rate_limit: ratelimit::RateLimit::default(),
        }
    }
}

/// The public listener's router (the API alone).
pub fn public_router(app: Arc<App>, limits: &Limits) -> Router {
    public_router_with(app, limits, None)
}

/// The public listener's router, with the web UI's routes beside the API when given. The UI
/// router brings its own fallback (an HTML 404 page, and [`api_not_found`] under `/api/`); it
/// runs inside the same edge layers (request id, access log, security headers, refusal audit).
pub fn public_router_with(app: Arc<App>, limits: &Limits, ui: Option<Router<Arc<App>>>) -> Router {
    let api = Router::new()
        .route("/api/v1/auth/login", post(routes::session::login))
        .route("/api/v1/auth/logout", post(routes::session::logout))
        .route("/api/v1/auth/password", post(routes::session::change_password))
        .route("/api/v1/auth/mfa/enroll", post(routes::session::mfa_enroll))
        .route("/api/v1/auth/mfa/confirm", post(routes::session::mfa_confirm))
        .route("/api/v1/audit", get(routes::audit::list))
        .route("/api/v1/alerts", get(routes::audit::alerts))
        .route("/api/v1/auth/sessions", get(routes::session::sessions))
        .route("/api/v1/auth/sessions/{id}", axum::routing::delete(routes::session::end_session))
        .route("/api/v1/me", get(routes::session::me))
        .route("/api/v1/exports", get(routes::exports::list).post(routes::exports::create))
        .route("/api/v1/exports/{id}", get(routes::exports::get))
        .route("/api/v1/exports/{id}/approve", post(routes::exports::approve))
        .route("/api/v1/exports/{id}/reject", post(routes::exports::reject))
        .route("/api/v1/exports/{id}/download", get(routes::exports::download))
        .route("/api/v1/people", get(routes::people::list).post(routes::people::create))
        .route("/api/v1/people/search", post(routes::people::search))
        .route("/api/v1/people/{id}/reveal", post(routes::people::reveal))
        .route("/api/v1/people/{id}/export", get(routes::gdpr::export))
        .route("/api/v1/people/{id}/erase", post(routes::gdpr::erase))
        .route("/api/v1/people/{id}/restrict", post(routes::gdpr::restrict).delete(routes::gdpr::unrestrict))
        .route("/api/v1/people/{id}/legal-hold", post(routes::gdpr::hold).delete(routes::gdpr::release))
        .route("/api/v1/people/{id}/objection", post(routes::gdpr::objection))
        .route("/api/v1/people/{id}/flags", get(routes::gdpr::flags))
        .route("/api/v1/people/{id}/consents", get(routes::gdpr::consents).post(routes::gdpr::give_consent))
        .route("/api/v1/purposes", get(routes::gdpr::purposes).post(routes::gdpr::put_purpose))
        .route("/api/v1/dsr", get(routes::gdpr::dsr_list).post(routes::gdpr::dsr_create))
        .route("/api/v1/dsr/{id}/extend", post(routes::gdpr::dsr_extend))
        .route("/api/v1/dsr/{id}/close", post(routes::gdpr::dsr_close))
        .route("/api/v1/processors", get(routes::registers::processors).post(routes::registers::put_processor))
        .route("/api/v1/processors/{name}/disclosures", post(routes::registers::disclose))
        .route("/api/v1/breaches", get(routes::registers::breaches).post(routes::registers::record_breach))
        .route("/api/v1/breaches/{id}", get(routes::registers::breach))
        .route("/api/v1/breaches/{id}/notified", post(routes::registers::breach_notified))
        .route("/api/v1/breaches/{id}/delay", post(routes::registers::breach_delay))
        .route("/api/v1/people/{id}", get(routes::people::get).patch(routes::people::patch).delete(routes::people::delete))
        .route("/api/v1/companies/search", post(routes::records::search_companies))
        .merge(routes::records::routes::<CompanyApi>("companies"))
        .merge(routes::records::routes::<DealApi>("deals"))
        .merge(routes::records::routes::<ActivityApi>("activities"));
    finish(api.merge(openapi::router()), app, limits.clone(), ui)
}

/// The admin listener's router: user administration, never on the public listener.
pub fn admin_router(app: Arc<App>, limits: &Limits) -> Router {
    admin_router_with(app, limits, None)
}

/// The admin listener's router with the admin screens of the web UI beside the API.
pub fn admin_router_with(app: Arc<App>, limits: &Limits, ui: Option<Router<Arc<App>>>) -> Router {
    let api = Router::new()
        .route("/api/v1/users", get(routes::admin::list).post(routes::admin::create))
        .route("/api/v1/users/{username}", axum::routing::patch(routes::admin::patch))
        .route("/api/v1/role-grants", get(routes::admin::grants))
        .route("/api/v1/role-grants/{id}/approve", post(routes::admin::approve))
        .route("/api/v1/role-grants/{id}/refuse", post(routes::admin::refuse))
        .route("/api/v1/me", get(routes::session::me))
        .route("/metrics", get(metrics_text))
        .merge(openapi::admin_router());
    finish(api, app, limits.clone(), ui)
}

fn finish(api: Router<Arc<App>>, app: Arc<App>, limits: Limits, ui: Option<Router<Arc<App>>>) -> Router {
    let timeout_after = limits.request_timeout;
    let limiter = ratelimit::Limiter::new(limits.rate_limit);
    let hsts = limits.hsts;
    let auditing = app.clone();
    let api = api
        .route("/healthz", get(healthz))
        .route("/api/v1/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/readyz", get(readyz))
        .route("/problems/{kind}", get(problems_doc::page));
    let api = match ui {
        Some(ui) => api.merge(ui),
        None => api.fallback(api_not_found),
    };
    api.method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn(move |req, next| timeout(timeout_after, req, next)))
        .layer(middleware::from_fn_with_state(auditing, audit_refusals))
        .layer(middleware::from_fn(move |req, next| rate_limited(limiter.clone(), req, next)))
        .layer(axum::Extension(limits.trusted_proxies))
        .layer(middleware::from_fn(move |req, next| security_headers(hsts, req, next)))
        .layer(middleware::from_fn(access_log))
        .layer(middleware::from_fn(request_id))
}

async fn healthz() -> Response {
    routes::json_response(StatusCode::OK, &dto_health())
}

/// Refuses a client over its address's rate before anything else runs (429, `Retry-After`).
/// Health checks are never limited.
async fn rate_limited(limiter: ratelimit::Limiter, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !matches!(path, "/healthz" | "/readyz" | "/api/v1/healthz" | "/api/v1/readyz") {
        let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let trusted = req.extensions().get::<client::TrustedProxies>().cloned().unwrap_or_default();
        if let Some(peer) = peer {
            let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
            let client = trusted.client(peer, &forwarded);
            if let Some(wait) = limiter.check(client, Instant::now()) {
                return Problem::new(ProblemType::RateLimited, "this address sent too many requests; slow down")
                    .retry_after(wait as i64)
                    .into_response();
            }
        }
    }
    next.run(req).await
}

/// Readiness: the database answers, the audit writer runs, the last seal succeeded. 503 with
/// the failed checks named otherwise (for load balancers; no detail beyond the check's name).
async fn readyz(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    let r = app.readiness().await;
    let checks: serde_json::Map<String, serde_json::Value> =
        r.checks.iter().map(|(name, res)| (name.to_string(), serde_json::Value::from(res.err().unwrap_or("ok")))).collect();
    let status = if r.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({"status": if r.ready() { "ready" } else { "not ready" }, "checks": checks});
    routes::json_response(status, &body)
}

/// Prometheus metrics (admin listener only).
async fn metrics_text(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    let r = app.readiness().await;
    let up = |name: &str| f64::from(u8::from(r.checks.iter().any(|(n, res)| *n == name && res.is_ok())));
    let last_seal = app.last_seal();
    let (open, idle) = app.store_connections().unwrap_or((0, 0));
    let seal_age = if last_seal > 0 { (app.now() - last_seal) as f64 / 1e6 } else { -1.0 };
    let text = metrics::render(&[
        ("sejf_ready", "1 when /readyz answers 200.", "gauge", f64::from(u8::from(r.ready()))),
        ("sejf_database_up", "1 when the database answers.", "gauge", up("database")),
        ("sejf_audit_writer_up", "1 while the audit group-commit writer runs.", "gauge", up("audit_writer")),
        (
            "sejf_audit_last_seal_timestamp_seconds",
            "When the audit trail was last sealed (0: not yet; -1: the last seal failed).",
            "gauge",
            if last_seal > 0 { last_seal as f64 / 1e6 } else { last_seal as f64 },
        ),
        (
            "sejf_audit_seal_lag_seconds",
            "Seconds since the trail was last sealed (-1: not sealed yet or the last seal failed).",
            "gauge",
            seal_age,
        ),
        ("sejf_audit_queue_depth", "Requests waiting for the audit writer's next group commit.", "gauge", app.audit_queue_depth() as f64),
        ("sejf_alerts_total", "Security alerts this server raised since it started.", "counter", app.alerts_raised() as f64),
        ("sejf_store_connections_open", "Database connections open in the pool.", "gauge", f64::from(open)),
        ("sejf_store_connections_idle", "Database connections idle in the pool.", "gauge", f64::from(idle)),
    ]);
    let mut res = text.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
}

fn dto_health() -> Health {
    Health { status: "ok" }
}

/// The API's answer to an unknown route (problem+json).
pub async fn api_not_found() -> Problem {
    Problem::new(ProblemType::NotFound, "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(ProblemType::MethodNotAllowed, "this route does not accept this method")
}

async fn timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Problem::new(ProblemType::Timeout, "the request took too long and was abandoned").into_response(),
    }
}

/// Headers that keep browsers from sniffing, framing, caching or leaking referrers, and, over
/// TLS, from ever falling back to plain HTTP (HSTS).
async fn security_headers(hsts: bool, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let docs = path.starts_with("/api/v1/docs");
    let api = path.starts_with("/api/") || path == "/healthz";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if docs {
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
    } else if api {
        "default-src 'none'; frame-ancestors 'none'"
    } else {
        // The web UI: its own scripts, styles and images only; nothing inline, nothing framed.
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    };
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, csp),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// Every request gets an id (a UUIDv7), returned as `X-Request-Id` and written into its audit
/// events, so a client's report and the trail can be matched.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = RequestId(uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(id.clone());
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}

/// Where the bearer extractor leaves the client address and, once the token is good, the
/// caller, for middleware that runs after the handler.
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(Arc<std::sync::Mutex<(String, Option<sejf_core::Actor>)>>);

impl ActorSlot {
    pub fn set_client(&self, client: std::net::IpAddr) {
        if let Ok(mut slot) = self.0.lock() {
            slot.0 = client.to_string();
        }
    }

    pub fn set(&self, actor: &sejf_core::Actor) {
        if let Ok(mut slot) = self.0.lock() {
            slot.1 = Some(actor.clone());
        }
    }

    fn take(&self) -> (String, Option<sejf_core::Actor>) {
        self.0.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }
}

/// Audits every refused request (any 4xx to a signed-in caller: bad input, not found, conflicts,
/// refusals; 401, 403 and 429 to anyone) as `request.refused`, before the answer leaves.
/// Sign-in attempts are audited by the login use-case already, and an anonymous 404 (a scanner
/// probing paths) is only logged.
async fn audit_refusals(axum::extract::State(app): axum::extract::State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let slot = ActorSlot::default();
    req.extensions_mut().insert(slot.clone());
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    // The sign-in use-case audits every attempt itself, through the API and the UI alike.
    let login = matches!(route.as_deref(), Some("/api/v1/auth/login" | "/login"));
    let request_id = req.extensions().get::<RequestId>().cloned();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    if login || !res.status().is_client_error() {
        return res;
    }
    let (client, actor) = slot.take();
    // Anonymous callers are recorded when refused for want of a valid token or for going too
    // fast; their bad paths and bodies (scanners) would only flood the trail.
    if actor.is_none() && !matches!(status, 401 | 403 | 429) {
        return res;
    }
    let what = format!("{method} {}", refused_path(route.as_deref(), uri.path()));
    let request_id = request_id.map(|r| r.0).unwrap_or_default();
    match app.record_refusal(actor.as_ref(), &client, &request_id, &what, status).await {
        Ok(()) => res,
        Err(e) => Problem::from(e).into_response(),
    }
}

/// The path of a refused request as the trail may hold it: the route's own segments, and in
/// place of each parameter its value only when that is a UUID (a record id), else the
/// parameter's name. A caller may put anything in a path (an e-mail address where an id
/// belongs); none of it reaches the trail. Unmatched paths are not recorded at all.
fn refused_path(route: Option<&str>, path: &str) -> String {
    let Some(route) = route else { return "(no such route)".into() };
    let mut given = path.split('/');
    route
        .split('/')
        .map(|segment| {
            let value = given.next().unwrap_or_default();
            if segment.starts_with('{') && uuid::Uuid::parse_str(value).is_ok() { value } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// One line per request: method, route template (never the raw path or query), status, time.
async fn access_log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    metrics::observe(&route, method.as_str(), res.status().as_u16(), elapsed.as_secs_f64());
    tracing::info!(%method, route, status = res.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    res
}

#[cfg(test)]
mod tests {
    use super::refused_path;

    #[test]
    fn refused_paths_keep_route_segments_and_record_ids_only() {
        let id = "0192f0c4-9a4e-7c3b-8d7e-1f2a3b4c5d6e";
        let route = Some("/api/v1/people/{id}");
        assert_eq!(refused_path(route, &format!("/api/v1/people/{id}")), format!("/api/v1/people/{id}"));
        assert_eq!(refused_path(route, "/api/v1/people/jan@example.pl"), "/api/v1/people/{id}");
        assert_eq!(refused_path(route, "/api/v1/people/44051401359"), "/api/v1/people/{id}");
        assert_eq!(refused_path(Some("/api/v1/audit"), "/api/v1/audit"), "/api/v1/audit");
        assert_eq!(refused_path(None, "/api/v1/anna@example.pl"), "(no such route)");
    }
}
