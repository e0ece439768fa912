//! Sejf's web UI: server-rendered pages (maud) on the public listener at `/`, the admin screens
//! on the admin listener, over the same `core` use-cases as the JSON API, so every page passes
//! the same policy, masking, read budgets and audit.
//!
//! Invariants: no page reads or writes a record without a signed-in [`session::Signed`] user;
//! every POST form carries a CSRF token checked before anything else; the pages load only
//! their own CSS and JS (`/static/…`, embedded), so the CSP is `default-src 'self'` with no
//! `unsafe-inline`; personal data never travels in a URL (search is a POST).

mod admin;
pub mod i18n;
mod oversight;
mod pages;
mod people;
mod privacy;
mod qr;
mod records;
pub mod session;
mod signin;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sejf_core::App;

/// How the listener serving the UI is set up.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    /// The listener speaks TLS: cookies are `Secure` and `__Host-` prefixed.
    pub secure: bool,
    /// The audit witness file the server writes, for verifying the trail from `/audit`.
    pub witness: Option<std::path::PathBuf>,
    /// These routes serve the admin listener.
    pub admin: bool,
}

impl UiConfig {
    /// Where a signed-in user starts.
    pub fn home(&self) -> &'static str {
        if self.admin { "/users" } else { "/people" }
    }
}

/// The UI's routes for the public listener (merged beside the API by the binary).
pub fn public_routes(cfg: UiConfig) -> Router<Arc<App>> {
    common()
        .merge(people::routes())
        .merge(records::routes())
        .merge(oversight::routes())
        .merge(privacy::routes())
        .fallback(fallback)
        .layer(axum::Extension(cfg))
}

/// The admin screens, for the admin listener only.
pub fn admin_routes(cfg: UiConfig) -> Router<Arc<App>> {
    let cfg = UiConfig { admin: true, ..cfg };
    common().merge(admin::routes()).fallback(fallback).layer(axum::Extension(cfg))
}

/// Sign-in, sign-out, enrolment, the language switch and the static files: on both listeners.
fn common() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(signin::root))
        .route("/login", get(signin::login_form).post(signin::login))
        .route("/logout", post(signin::logout))
        .route("/lang", post(signin::set_lang))
        .route("/password", get(signin::password_page).post(signin::change_password))
        .route("/enroll", get(signin::enroll_page))
        .route("/enroll/start", post(signin::enroll_start))
        .route("/enroll/confirm", post(signin::enroll_confirm))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

/// An unknown path: problem+json under `/api/`, else the HTML 404 page.
async fn fallback(v: session::Visitor, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return sejf_http::api_not_found().await.into_response();
    }
    let ctx = pages::Ctx { lang: v.lang, csrf: &v.csrf, actor: None, admin: false };
    pages::message(&ctx, StatusCode::NOT_FOUND, i18n::M::NotFoundTitle, ctx.t(i18n::M::NotFoundText))
}

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, ty: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    res
}

/// A URL-encoded form body; a malformed one is a 400 page, never a panic or a JSON error.
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|_| (StatusCode::BAD_REQUEST, "the form could not be read").into_response())
    }
}
