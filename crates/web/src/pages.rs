//! The page shell (skip link, navigation, language switch, sign-out), HTML answers, and the
//! error pages every core error maps to. maud escapes every interpolated value, so a stored
//! `<script>` renders as text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use sejf_core::{Actor, CoreError};
use sejf_domain::roles::Role;

use crate::i18n::{Lang, M};

/// Who the page is for: language, the form token, and the signed-in user if any.
pub struct Ctx<'a> {
    pub lang: Lang,
    pub csrf: &'a str,
    pub actor: Option<&'a Actor>,
    /// The page is on the admin listener (its navigation is the admin screens').
    pub admin: bool,
}

impl Ctx<'_> {
    pub fn t(&self, m: M) -> &'static str {
        self.lang.t(m)
    }
}

/// An HTML answer.
pub fn html_response(status: StatusCode, body: Markup) -> Response {
    let mut res = (status, body.into_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res
}

/// A hidden CSRF field.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A full page: `title` in the tab and as the heading, `body` in `<main>`.
pub fn page(ctx: &Ctx<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (ctx.t(M::AppName)) }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { (ctx.t(M::SkipToContent)) }
                header class="top" {
                    a class="brand" href="/" { (ctx.t(M::AppName)) }
                    @if let Some(actor) = ctx.actor {
                        nav aria-label=(ctx.t(M::MainNav)) {
                            ul { @for (href, m) in nav_items(actor.role, ctx.admin) { li { a href=(href) { (ctx.t(m)) } } } }
                        }
                        span class="who" { (ctx.t(M::SignedInAs)) " " strong { (actor.username) } " (" (actor.role.as_str()) ")" }
                        form method="post" action="/logout" class="inline" {
                            (csrf_field(ctx.csrf))
                            button type="submit" { (ctx.t(M::SignOut)) }
                        }
                    }
                    form method="post" action="/lang" class="inline lang" {
                        (csrf_field(ctx.csrf))
                        label for="lang-select" { (ctx.t(M::Language)) }
                        select id="lang-select" name="lang" {
                            option value="pl" selected[ctx.lang == Lang::Pl] { "Polski" }
                            option value="en" selected[ctx.lang == Lang::En] { "English" }
                        }
                        button type="submit" { (ctx.t(M::Change)) }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The screens a role works in, in navigation order.
fn nav_items(role: Role, admin_listener: bool) -> Vec<(&'static str, M)> {
    if admin_listener {
        return vec![("/users", M::Users), ("/approvals", M::Approvals)];
    }
    let mut items = vec![
        ("/people", M::People),
        ("/companies", M::Companies),
        ("/deals", M::Deals),
        ("/activities", M::Activities),
        ("/tasks", M::MyTasks),
    ];
    match role {
        Role::Auditor => items.push(("/audit", M::Audit)),
        Role::Dpo => items.extend([("/audit", M::Audit), ("/privacy", M::Privacy)]),
        _ => {}
    }
    items
}

/// A message page with a status.
pub fn message(ctx: &Ctx<'_>, status: StatusCode, title: M, text: &str) -> Response {
    html_response(status, page(ctx, ctx.t(title), html! { p { (text) } p { a href="/" { (ctx.t(M::Back)) } } }))
}

/// The answer to a core error on a page: an absent or unreadable record is the same 404 page;
/// the cause of a server error is logged, never shown.
pub fn core_error(lang: Lang, e: CoreError) -> Response {
    error_page(&Ctx { lang, csrf: "", actor: None, admin: false }, e)
}

pub fn error_page(ctx: &Ctx<'_>, e: CoreError) -> Response {
    if let CoreError::Validation(v) = &e {
        // Bad input outside a form that marks its fields: each field and why, as a 422.
        let text = v.0.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; ");
        return message(ctx, StatusCode::UNPROCESSABLE_ENTITY, M::ErrorTitle, &text);
    }
    let (status, title, text) = match &e {
        CoreError::Unauthenticated | CoreError::MfaEnrollmentRequired => return Redirect::to("/login").into_response(),
        CoreError::NotFound => (StatusCode::NOT_FOUND, M::NotFoundTitle, ctx.t(M::NotFoundText)),
        CoreError::Forbidden(_) | CoreError::NetworkNotAllowed => (StatusCode::FORBIDDEN, M::ForbiddenTitle, ctx.t(M::ForbiddenText)),
        CoreError::ReadBudgetExceeded { .. } => (StatusCode::TOO_MANY_REQUESTS, M::ForbiddenTitle, ctx.t(M::BudgetText)),
        CoreError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, M::ForbiddenTitle, ctx.t(M::Throttled)),
        // Refusals, not failures: answered as such and kept out of the error log.
        CoreError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, M::ErrorTitle, ctx.t(M::Throttled)),
        CoreError::AccountLocked | CoreError::PasswordChangeRequired => (StatusCode::FORBIDDEN, M::ForbiddenTitle, ctx.t(M::ForbiddenText)),
        CoreError::PreconditionFailed | CoreError::PreconditionRequired | CoreError::Conflict(_) => {
            (StatusCode::CONFLICT, M::ErrorTitle, ctx.t(M::ConflictText))
        }
        _ => {
            tracing::error!(error = %e, "web page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, M::ErrorTitle, ctx.t(M::ErrorText))
        }
    };
    message(ctx, status, title, text)
}

/// A form sent without this session's CSRF token.
pub fn csrf_refused(ctx: &Ctx<'_>) -> Response {
    message(ctx, StatusCode::FORBIDDEN, M::CsrfTitle, ctx.t(M::CsrfText))
}
