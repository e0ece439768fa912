//! The admin API (users), served only on the admin listener. Only `admin` may use it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sejf_core::grants::RoleGrant;
use sejf_core::users::{PolicyAction, RoleChange, UserInfo};
use sejf_core::{Actor, App, rfc3339};
use sejf_domain::ValidationErrors;
use sejf_domain::roles::Role;

use super::json_response;
use crate::auth::Authed;
use crate::dto::{GrantOut, ListOut, UserIn, UserOut, UserPatch};
use crate::extract::{Id, Json, Username};
use crate::problem::{ApiResult, Problem, ProblemBody};

fn require_admin(app: &App, actor: &Actor) -> Result<(), Problem> {
    Ok(app.authorize_system(actor, PolicyAction::ManageUsers)?)
}

fn out(u: UserInfo, pending: Option<RoleGrant>) -> UserOut {
    UserOut {
        id: u.id,
        username: u.username,
        role: u.role.as_str().to_string(),
        units: u.units,
        disabled: u.disabled,
        created_at: rfc3339(u.created_at),
        service: u.service,
        mfa_enabled: u.mfa_enabled,
        must_change_password: u.must_change_password,
        pending_grant: pending.map(grant_out),
    }
}

fn grant_out(g: RoleGrant) -> GrantOut {
    GrantOut {
        id: g.id,
        user_id: g.user_id,
        username: g.username,
        role: g.role.as_str().to_string(),
        kind: g.kind,
        requested_by: g.requested_by,
        requested_at: rfc3339(g.requested_at),
        status: g.status,
        decided_by: (!g.decided_by.is_empty()).then_some(g.decided_by),
        decided_at: (g.decided_at != 0).then(|| rfc3339(g.decided_at)),
    }
}

fn parse_role(role: &str) -> Result<Role, Problem> {
    role.parse().map_err(|e: String| Problem::validation(ValidationErrors::single("role", e)))
}

/// List users (admin listener only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = ListOut<UserOut>)), security(("bearer" = [])))]
pub async fn list(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let items = app.users().await?.into_iter().map(|u| out(u, None)).collect();
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Create a user (admin listener only). The account must change its password at its first
/// sign-in. A privileged role (admin, manager, dpo, auditor) leaves it disabled until a second
/// administrator approves the grant named in `pending_grant` (and raises a high alert).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)), security(("bearer" = [])))]
pub async fn create(State(app): State<Arc<App>>, Authed(actor): Authed, Json(body): Json<UserIn>) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let role = parse_role(&body.role)?;
    let (user, grant) = app.admin_create_user(&actor, &body.username, role, &body.units, &body.password).await?;
    let location = format!("/api/v1/users/{}", user.username);
    let mut res = json_response(StatusCode::CREATED, &out(user, grant));
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// Change a user's role, set a new password, or disable the user (admin listener only; nobody
/// changes their own role or disables themselves). A privileged role waits for a second
/// administrator (202 with `pending_grant`); a new password must be changed at the next
/// sign-in. The user's sessions end.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "admin", params(("username" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 202, body = UserOut, description = "The role waits for a second administrator"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Username(name): Username,
    Json(body): Json<UserPatch>,
) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let mut user = app.user(&name).await?;
    let mut pending = None;
    if let Some(role) = role {
        match app.change_role(&actor, &name, role).await? {
            RoleChange::Done(u) => user = u,
            RoleChange::Pending(u, g) => (user, pending) = (u, Some(g)),
        }
    }
    if let Some(pw) = body.password.as_deref() {
        app.admin_reset_password(&actor, &name, pw).await?;
        user = app.user(&name).await?;
    }
    if body.disabled == Some(true) {
        app.disable_user(&actor, &name).await?;
        user = app.user(&name).await?;
    }
    let status = if pending.is_some() { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok(json_response(status, &out(user, pending)))
}

/// Grants of privileged roles waiting for a second administrator (admin listener only).
#[utoipa::path(get, path = "/api/v1/role-grants", tag = "admin", responses((status = 200, body = ListOut<GrantOut>)), security(("bearer" = [])))]
pub async fn grants(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    let items = app.pending_grants(&actor).await?.into_iter().map(grant_out).collect();
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Approve a pending grant: a second administrator, not the one who asked for it nor the
/// account it concerns. The role is set (or the new account enabled) and its sessions end.
#[utoipa::path(post, path = "/api/v1/role-grants/{id}/approve", tag = "admin", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = GrantOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn approve(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &grant_out(app.decide_grant(&actor, id, true).await?)))
}

/// Refuse a pending grant (a second administrator): the role stays as it was; an account
/// created with it stays disabled.
#[utoipa::path(post, path = "/api/v1/role-grants/{id}/refuse", tag = "admin", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = GrantOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn refuse(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &grant_out(app.decide_grant(&actor, id, false).await?)))
}
