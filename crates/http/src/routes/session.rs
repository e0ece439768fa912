//! `/auth/login`, `/auth/logout`, `/me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sejf_core::{App, rfc3339};

use super::json_response;
use crate::auth::Authed;
use crate::dto::{LoginIn, LoginOut, MeOut};
use crate::extract::Json;
use crate::problem::{ApiResult, ProblemBody};

/// Sign in with a user name and password; answers an opaque bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, body = ProblemBody)))]
pub async fn login(State(app): State<Arc<App>>, Json(body): Json<LoginIn>) -> ApiResult<Response> {
    let login = app.login(&body.username, &body.password).await?;
    Ok(json_response(StatusCode::OK, &LoginOut { token: login.token, expires_at: rfc3339(login.expires_at) }))
}

/// End this session: the token stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
pub async fn logout(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<StatusCode> {
    app.logout(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeOut)), security(("bearer" = [])))]
pub async fn me(Authed(actor): Authed) -> ApiResult<Response> {
    Ok(json_response(
        StatusCode::OK,
        &MeOut { id: actor.user_id, username: actor.username, role: actor.role.as_str().to_string(), units: actor.units },
    ))
}
