//! Signing in and out, the language switch, and first-time TOTP enrolment. Sign-in calls the
//! same use-case as `POST /api/v1/auth/login`, so the form is throttled and audited alike.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use sejf_core::{App, CoreError};
use serde::Deserialize;

use crate::i18n::{Lang, M};
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page, html_response, page};
use crate::session::{Changing, Enrolling, Visitor, lang_cookie, session_cookie, set_cookie};
use crate::{Form, qr};

/// `/`: the people list when signed in, else the sign-in form.
pub async fn root(v: Visitor) -> Response {
    v.finish(Redirect::to(if v.token.is_some() { v.cfg.home() } else { "/login" }).into_response())
}

#[derive(Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
    changed: Option<String>,
}

pub async fn login_form(v: Visitor, Query(q): Query<LoginQuery>) -> Response {
    let note = if q.changed.is_some() { Some(M::PasswordChanged) } else { q.expired.is_some().then_some(M::SignedOutIdle) };
    v.finish(login_page(&v, StatusCode::OK, note, ""))
}

fn login_page(v: &Visitor, status: StatusCode, note: Option<M>, username: &str) -> Response {
    let ctx = Ctx { lang: v.lang, csrf: &v.csrf, actor: None, admin: false };
    let body = html! {
        @if let Some(m) = note { p class="alert" role="alert" { (ctx.t(m)) } }
        form method="post" action="/login" class="card narrow" {
            (csrf_field(&v.csrf))
            label for="username" { (ctx.t(M::Username)) }
            input id="username" name="username" autocomplete="username" required value=(username) autofocus;
            label for="password" { (ctx.t(M::Password)) }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            label for="totp" { (ctx.t(M::TotpCode)) }
            input id="totp" name="totp" autocomplete="one-time-code" inputmode="numeric";
            button type="submit" class="primary" { (ctx.t(M::SignIn)) }
        }
    };
    html_response(status, page(&ctx, ctx.t(M::SignIn), body))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

pub async fn login(State(app): State<Arc<App>>, v: Visitor, Form(f): Form<LoginForm>) -> Response {
    if !v.csrf_ok(&f.csrf) {
        return v.finish(csrf_refused(&Ctx { lang: v.lang, csrf: &v.csrf, actor: None, admin: false }));
    }
    let totp = Some(f.totp.trim()).filter(|c| !c.is_empty());
    match app.login(f.username.trim(), &f.password, totp, v.client).await {
        Ok(login) => {
            let age = (login.expires_at - app.now()) / 1_000_000;
            let next = if login.must_enroll {
                "/enroll"
            } else if login.password_change_required {
                "/password"
            } else {
                v.cfg.home()
            };
            let mut res = Redirect::to(next).into_response();
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&v.cfg, session_cookie(&v.cfg), &login.token, Some(age.max(1))));
            res
        }
        Err(e) => {
            let (status, m) = match e {
                CoreError::BadCredentials => (StatusCode::UNAUTHORIZED, M::BadCredentials),
                CoreError::MfaRequired => (StatusCode::UNAUTHORIZED, M::MfaRequired),
                CoreError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, M::Throttled),
                CoreError::NetworkNotAllowed => (StatusCode::FORBIDDEN, M::NetworkNotAllowed),
                other => return v.finish(error_page(&Ctx { lang: v.lang, csrf: &v.csrf, actor: None, admin: false }, other)),
            };
            v.finish(login_page(&v, status, Some(m), f.username.trim()))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Ends the session on the server (the token stops working at once) and drops the cookie.
pub async fn logout(State(app): State<Arc<App>>, v: Visitor, Form(f): Form<CsrfOnly>) -> Response {
    let Some(token) = &v.token else { return Redirect::to("/login").into_response() };
    let expected = crate::session::csrf_of(token);
    if !crate::session::same(&expected, &f.csrf) {
        return csrf_refused(&Ctx { lang: v.lang, csrf: &expected, actor: None, admin: false });
    }
    if let Ok(actor) = app.authenticate(token, v.client).await
        && let Err(e) = app.logout(&actor).await
    {
        return error_page(&Ctx { lang: v.lang, csrf: &expected, actor: None, admin: false }, e);
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(&v.cfg, session_cookie(&v.cfg), "", Some(0)));
    res
}

#[derive(Deserialize)]
pub struct LangForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
}

/// Switches the language and remembers it; back to the start page.
pub async fn set_lang(v: Visitor, Form(f): Form<LangForm>) -> Response {
    let ok = match &v.token {
        Some(token) => crate::session::same(&crate::session::csrf_of(token), &f.csrf),
        None => v.csrf_ok(&f.csrf),
    };
    let lang = Lang::parse(&f.lang).unwrap_or(v.lang);
    if !ok {
        return v.finish(csrf_refused(&Ctx { lang, csrf: &v.csrf, actor: None, admin: false }));
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(header::SET_COOKIE, lang_cookie(&v.cfg, lang));
    v.finish(res)
}

pub async fn enroll_page(s: Enrolling) -> Response {
    let ctx = Ctx { lang: s.lang, csrf: &s.csrf, actor: None, admin: false };
    let body = html! {
        p { (ctx.t(M::EnrolIntro)) }
        form method="post" action="/enroll/start" {
            (csrf_field(&s.csrf))
            button type="submit" class="primary" { (ctx.t(M::EnrolStart)) }
        }
    };
    html_response(StatusCode::OK, page(&ctx, ctx.t(M::EnrolTitle), body))
}

/// A fresh TOTP secret, shown once as a QR code and as text, with the form to confirm it.
pub async fn enroll_start(State(app): State<Arc<App>>, s: Enrolling, Form(f): Form<CsrfOnly>) -> Response {
    let ctx = Ctx { lang: s.lang, csrf: &s.csrf, actor: None, admin: false };
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&ctx);
    }
    let e = match app.mfa_enroll(&s.actor).await {
        Ok(e) => e,
        Err(e) => return error_page(&ctx, e),
    };
    let svg = qr::svg(&e.otpauth_uri, ctx.t(M::QrLabel)).unwrap_or_default();
    let body = html! {
        p { (ctx.t(M::EnrolIntro)) }
        div class="qr-box" { (maud::PreEscaped(svg)) }
        p { (ctx.t(M::EnrolSecret)) " " code class="secret" { (e.secret) } }
        (confirm_form(&ctx, None))
    };
    html_response(StatusCode::OK, page(&ctx, ctx.t(M::EnrolTitle), body))
}

fn confirm_form(ctx: &Ctx<'_>, error: Option<&str>) -> maud::Markup {
    html! {
        form method="post" action="/enroll/confirm" {
            (csrf_field(ctx.csrf))
            label for="code" { (ctx.t(M::TotpCode)) }
            @if let Some(err) = error {
                input id="code" name="code" required autocomplete="one-time-code" inputmode="numeric" aria-invalid="true" aria-describedby="code-error";
                p id="code-error" class="field-error" { (err) }
            } @else {
                input id="code" name="code" required autocomplete="one-time-code" inputmode="numeric";
            }
            button type="submit" class="primary" { (ctx.t(M::Confirm)) }
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// Confirms the secret with a current code and shows the recovery codes, once. The enrolment
/// session ends here; the user signs in with a code.
pub async fn enroll_confirm(State(app): State<Arc<App>>, s: Enrolling, Form(f): Form<ConfirmForm>) -> Response {
    let ctx = Ctx { lang: s.lang, csrf: &s.csrf, actor: None, admin: false };
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&ctx);
    }
    match app.mfa_confirm(&s.actor, f.code.trim()).await {
        Ok(codes) => {
            let body = html! {
                p { (ctx.t(M::RecoveryIntro)) }
                ul class="codes" { @for c in &codes { li { code { (c) } } } }
                p { a class="button primary" href="/login" { (ctx.t(M::RecoveryDone)) } }
            };
            let mut res = html_response(StatusCode::OK, page(&ctx, ctx.t(M::RecoveryTitle), body));
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&s.cfg, session_cookie(&s.cfg), "", Some(0)));
            res
        }
        Err(CoreError::Validation(_)) => {
            let body = html! { p { (ctx.t(M::EnrolIntro)) } (confirm_form(&ctx, Some(ctx.t(M::CodeWrong)))) };
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&ctx, ctx.t(M::EnrolTitle), body))
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// The password form: after an administrator set the password (the session may do nothing
/// else), or to change one's own.
pub async fn password_page(s: Changing) -> Response {
    let ctx = Ctx { lang: s.lang, csrf: &s.csrf, actor: None, admin: false };
    html_response(StatusCode::OK, page(&ctx, ctx.t(M::PasswordTitle), password_form(&ctx, &s, None)))
}

fn password_form(ctx: &Ctx<'_>, s: &Changing, error: Option<(&str, String)>) -> maud::Markup {
    let forced = s.actor.scope == sejf_core::authz::Scope::Password;
    let err = |field: &str| error.as_ref().filter(|(f, _)| *f == field).map(|(_, m)| m.clone());
    html! {
        @if forced { p { (ctx.t(M::PasswordForced)) } }
        form method="post" action="/password" class="card narrow" {
            (csrf_field(ctx.csrf))
            @for (id, label, auto) in [("current_password", M::CurrentPassword, "current-password"), ("new_password", M::NewPassword, "new-password")] {
                label for=(id) { (ctx.t(label)) }
                @if let Some(m) = err(id) {
                    input id=(id) name=(id) type="password" autocomplete=(auto) required aria-invalid="true" aria-describedby={(id) "-error"};
                    p id={(id) "-error"} class="field-error" { (m) }
                } @else {
                    input id=(id) name=(id) type="password" autocomplete=(auto) required;
                }
            }
            label for="totp" { (ctx.t(M::TotpCode)) }
            @if let Some(m) = err("totp") {
                input id="totp" name="totp" autocomplete="one-time-code" inputmode="numeric" aria-invalid="true" aria-describedby="totp-error";
                p id="totp-error" class="field-error" { (m) }
            } @else {
                input id="totp" name="totp" autocomplete="one-time-code" inputmode="numeric";
            }
            button type="submit" class="primary" { (ctx.t(M::PasswordTitle)) }
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    totp: String,
}

/// Changes the password through the same use case as `POST /api/v1/auth/password`. A reset
/// session ends here (sign in with the new password); a full one keeps going.
pub async fn change_password(State(app): State<Arc<App>>, s: Changing, Form(f): Form<PasswordForm>) -> Response {
    let ctx = Ctx { lang: s.lang, csrf: &s.csrf, actor: None, admin: false };
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&ctx);
    }
    let totp = Some(f.totp.trim()).filter(|c| !c.is_empty());
    match app.change_password(&s.actor, &f.current_password, &f.new_password, totp).await {
        Ok(()) if s.actor.scope == sejf_core::authz::Scope::Password => {
            let mut res = Redirect::to("/login?changed=1").into_response();
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&s.cfg, session_cookie(&s.cfg), "", Some(0)));
            res
        }
        Ok(()) => Redirect::to(s.cfg.home()).into_response(),
        Err(e) => {
            let (status, field, msg) = match e {
                CoreError::BadCredentials => (StatusCode::UNAUTHORIZED, "current_password", ctx.t(M::BadCredentials).to_string()),
                CoreError::MfaRequired => (StatusCode::UNAUTHORIZED, "totp", ctx.t(M::MfaRequired).to_string()),
                CoreError::Validation(v) => {
                    let first = v.0.first().map(|f| (f.field.clone(), crate::i18n::reason(ctx.lang, &f.reason)));
                    let (field, reason) = first.unwrap_or_else(|| ("new_password".into(), String::new()));
                    let field = if field == "totp" {
                        "totp"
                    } else if field == "current_password" {
                        "current_password"
                    } else {
                        "new_password"
                    };
                    (StatusCode::UNPROCESSABLE_ENTITY, field, reason)
                }
                other => return error_page(&ctx, other),
            };
            html_response(status, page(&ctx, ctx.t(M::PasswordTitle), password_form(&ctx, &s, Some((field, msg)))))
        }
    }
}
