//! The admin screens, served only on the admin listener: users (create, change role, disable
//! and enable, lift a sign-in lock, reset MFA) and pending four-eyes export approvals. Every
//! action asks the policies first (`manage_users`), as the admin API does, and is audited by the
//! use-case it calls.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use sejf_core::users::{PolicyAction, UserInfo};
use sejf_core::{App, CoreError};
use sejf_domain::roles::Role;
use serde::Deserialize;

use crate::Form;
use crate::i18n::{M, reason};
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page, html_response, page};
use crate::session::Signed;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/users", get(users).post(create_user))
        .route("/users/{name}/{action}", post(user_action))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}/{decision}", post(decide))
}

fn ctx(s: &Signed) -> Ctx<'_> {
    Ctx { lang: s.lang, csrf: &s.csrf, actor: Some(&s.actor), admin: true }
}

const ROLES: [Role; 6] = Role::ALL;

async fn users(State(app): State<Arc<App>>, s: Signed) -> Response {
    let c = ctx(&s);
    match async {
        app.authorize_system(&s.actor, PolicyAction::ManageUsers)?;
        app.users().await
    }
    .await
    {
        Ok(list) => users_page(&c, &list, &UserForm::default(), &[], StatusCode::OK),
        Err(e) => error_page(&c, e),
    }
}

fn users_page(c: &Ctx<'_>, list: &[UserInfo], f: &UserForm, errors: &[(String, String)], status: StatusCode) -> Response {
    let body = html! {
        table {
            thead { tr {
                th scope="col" { (c.t(M::Username)) } th scope="col" { (c.t(M::Role)) } th scope="col" { (c.t(M::Units)) }
                th scope="col" { "TOTP" } th scope="col" { (c.t(M::Status)) } th scope="col" { (c.t(M::Actions)) }
            } }
            tbody { @for u in list { tr {
                td { (u.username) }
                td { (u.role.as_str()) }
                td { (u.units.join(", ")) }
                td { @if u.mfa_enabled { "✓" } @else { "—" } }
                td { @if u.disabled { (c.t(M::Disabled)) } @else { (c.t(M::Active)) } }
                td { (user_actions(c, u)) }
            } } }
        }
        h2 { (c.t(M::NewUser)) }
        (user_form(c, f, errors))
    };
    html_response(status, page(c, c.t(M::Users), body))
}

fn user_actions(c: &Ctx<'_>, u: &UserInfo) -> Markup {
    let base = format!("/users/{}", u.username);
    let button = |action: &str, label: M| {
        html! {
            form method="post" action={ (base) "/" (action) } class="inline" {
                (csrf_field(c.csrf))
                button type="submit" aria-label={ (c.t(label)) ": " (u.username) } { (c.t(label)) }
            }
        }
    };
    html! {
        form method="post" action={ (base) "/role" } class="inline" {
            (csrf_field(c.csrf))
            label for={ "role-" (u.username) } { (c.t(M::Role)) }
            select id={ "role-" (u.username) } name="role" {
                @for r in ROLES { option value=(r.as_str()) selected[r == u.role] { (r.as_str()) } }
            }
            button type="submit" { (c.t(M::Change)) }
        }
        @if u.disabled { (button("enable", M::Enable)) } @else { (button("disable", M::Disable)) }
        (button("unlock", M::Unlock))
        (button("reset-mfa", M::ResetMfa))
    }
}

#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    units: String,
    #[serde(default)]
    password: String,
}

fn user_form(c: &Ctx<'_>, f: &UserForm, errors: &[(String, String)]) -> Markup {
    let err = |name: &str| errors.iter().filter(|(n, _)| n == name).map(|(_, r)| r.clone()).collect::<Vec<_>>().join(" ");
    let input = |name: &'static str, label: M, value: &str, ty: &'static str| {
        let e = err(name);
        let id = format!("u-{name}");
        let eid = format!("{id}-error");
        html! {
            label for=(id) { (c.t(label)) }
            @if e.is_empty() { input id=(id) name=(name) type=(ty) value=(value); }
            @else { input id=(id) name=(name) type=(ty) value=(value) aria-invalid="true" aria-describedby=(eid); p id=(eid) class="field-error" { (e) } }
        }
    };
    html! {
        @if !errors.is_empty() { p class="alert" role="alert" { (c.t(M::FixErrors)) } }
        form method="post" action="/users" class="card" novalidate {
            (csrf_field(c.csrf))
            (input("username", M::Username, &f.username, "text"))
            label for="u-role" { (c.t(M::Role)) }
            select id="u-role" name="role" { @for r in ROLES { option value=(r.as_str()) selected[r.as_str() == f.role] { (r.as_str()) } } }
            (input("units", M::UnitsComma, &f.units, "text"))
            (input("password", M::InitialPassword, "", "password"))
            button type="submit" class="primary" { (c.t(M::NewUser)) }
        }
    }
}

async fn create_user(State(app): State<Arc<App>>, s: Signed, Form(f): Form<UserForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let units: Vec<String> = f.units.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_string).collect();
    let created = async {
        app.authorize_system(&s.actor, PolicyAction::ManageUsers)?;
        let role: Role = f.role.parse().map_err(|e: String| sejf_domain::ValidationErrors::single("role", e))?;
        app.create_user(f.username.trim(), role, &units, &f.password).await
    }
    .await;
    match created {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(CoreError::Validation(v)) => {
            let errors: Vec<(String, String)> = v.0.into_iter().map(|e| (e.field, reason(c.lang, &e.reason))).collect();
            match app.users().await {
                Ok(list) => users_page(&c, &list, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => error_page(&c, e),
            }
        }
        Err(e) => error_page(&c, e),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn user_action(
    State(app): State<Arc<App>>,
    s: Signed,
    Path((name, action)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let done = async {
        app.authorize_system(&s.actor, PolicyAction::ManageUsers)?;
        match action.as_str() {
            "role" => {
                let role: Role = f.role.parse().map_err(|e: String| sejf_domain::ValidationErrors::single("role", e))?;
                app.change_role(&s.actor, &name, role).await.map(|_| ())
            }
            "disable" => app.disable_user(&s.actor, &name).await,
            "enable" => app.enable_user(&s.actor, &name).await,
            "unlock" => app.unlock(&s.actor, &name).await,
            "reset-mfa" => app.reset_mfa(&s.actor, &name).await,
            _ => Err(CoreError::NotFound),
        }
    }
    .await;
    match done {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => error_page(&c, e),
    }
}

async fn approvals(State(app): State<Arc<App>>, s: Signed) -> Response {
    let c = ctx(&s);
    let pending = match app.list_exports(&s.actor, Some("pending"), None, Some(100)).await {
        Ok(p) => p.items,
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        @if pending.is_empty() { p { (c.t(M::NoRecords)) } } @else {
            table {
                thead { tr { th scope="col" { (c.t(M::Requester)) } th scope="col" { (c.t(M::PurposeShort)) } th scope="col" { (c.t(M::Records)) } th scope="col" { (c.t(M::Created)) } th scope="col" { (c.t(M::Actions)) } } }
                tbody { @for x in &pending { tr {
                    td { (x.requester) } td { (x.purpose) } td { (x.record_count) } td { (c.lang.datetime(x.created_at)) }
                    td {
                        @for (d, m) in [("approve", M::Approve), ("reject", M::Reject)] {
                            form method="post" action={ "/approvals/" (x.id) "/" (d) } class="inline" {
                                (csrf_field(c.csrf))
                                button type="submit" { (c.t(m)) }
                            }
                        }
                    }
                } } }
            }
        }
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Approvals), body))
}

async fn decide(
    State(app): State<Arc<App>>,
    s: Signed,
    Path((id, decision)): Path<(String, String)>,
    Form(f): Form<crate::signin::CsrfOnly>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let done = async {
        let id = crate::people::parse_id(&id)?;
        let approve = match decision.as_str() {
            "approve" => true,
            "reject" => false,
            _ => return Err(CoreError::NotFound),
        };
        app.decide_export(&s.actor, id, approve, None).await
    }
    .await;
    match done {
        Ok(_) => Redirect::to("/approvals").into_response(),
        Err(e) => error_page(&c, e),
    }
}
