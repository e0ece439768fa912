//! The admin API (users), served only on the admin listener. Only `admin` may use it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sejf_core::users::{PolicyAction, UserInfo};
use sejf_core::{Actor, App, rfc3339};
use sejf_domain::ValidationErrors;
use sejf_domain::roles::Role;

use super::json_response;
use crate::auth::Authed;
use crate::dto::{ListOut, UserIn, UserOut, UserPatch};
use crate::extract::{Json, Username};
use crate::problem::{ApiResult, Problem, ProblemBody};

fn require_admin(app: &App, actor: &Actor) -> Result<(), Problem> {
    Ok(app.authorize_system(actor, PolicyAction::ManageUsers)?)
}

fn out(u: UserInfo) -> UserOut {
    UserOut {
        id: u.id,
        username: u.username,
        role: u.role.as_str().to_string(),
        units: u.units,
        disabled: u.disabled,
        created_at: rfc3339(u.created_at),
        service: u.service,
        mfa_enabled: u.mfa_enabled,
    }
}

/// List users (admin listener only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = ListOut<UserOut>)), security(("bearer" = [])))]
pub async fn list(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let items = app.users().await?.into_iter().map(out).collect();
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Create a user (admin listener only).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)), security(("bearer" = [])))]
pub async fn create(State(app): State<Arc<App>>, Authed(actor): Authed, Json(body): Json<UserIn>) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let role: Role = body.role.parse().map_err(|e: String| Problem::validation(ValidationErrors::single("role", e)))?;
    let user = app.create_user(&body.username, role, &body.units, &body.password).await?;
    let location = format!("/api/v1/users/{}", user.username);
    let mut res = json_response(StatusCode::CREATED, &out(user));
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// Change a user's role (admin listener only; nobody changes their own). Their sessions end.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "admin", params(("username" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Username(name): Username,
    Json(body): Json<UserPatch>,
) -> ApiResult<Response> {
    require_admin(&app, &actor)?;
    let mut user = app.user(&name).await?;
    if let Some(role) = body.role {
        let role: Role = role.parse().map_err(|e: String| Problem::validation(ValidationErrors::single("role", e)))?;
        user = app.change_role(&actor, &name, role).await?;
    }
    if body.disabled == Some(true) {
        if user.id == actor.user_id {
            return Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", "you may not disable yourself"));
        }
        app.disable_user(&name).await?;
        user = app.user(&name).await?;
    }
    Ok(json_response(StatusCode::OK, &out(user)))
}
