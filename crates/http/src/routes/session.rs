//! `/auth/login`, `/auth/logout`, `/me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sejf_core::{App, rfc3339};

use super::json_response;
use crate::auth::{Authed, Changing, Enrolling};
use crate::client::ClientAddr;
use crate::dto::{ConfirmIn, ConfirmOut, EnrollOut, ListOut, LoginIn, LoginOut, MeOut, PasswordIn, SessionOut};
use crate::extract::{Id, Json};
use crate::problem::{ApiResult, ProblemBody};

/// Sign in with a user name and password; answers an opaque bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, body = ProblemBody),
              (status = 429, body = ProblemBody, description = "Too many failures for this account or address; see Retry-After")))]
pub async fn login(State(app): State<Arc<App>>, ClientAddr(client): ClientAddr, Json(body): Json<LoginIn>) -> ApiResult<Response> {
    let login = app.login(&body.username, &body.password, body.totp.as_deref(), client).await?;
    let mfa = login.must_enroll.then(|| "enroll".to_string());
    Ok(json_response(
        StatusCode::OK,
        &LoginOut {
            token: login.token,
            expires_at: rfc3339(login.expires_at),
            mfa,
            password_change_required: login.password_change_required,
        },
    ))
}

/// Change one's own password: the current one, the new one (the same strength rules as any
/// password) and, once TOTP is enrolled, a current code. Every other session ends; a token that
/// could only change the password ends too. The only call a `password_change_required` token
/// may make.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordIn,
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(app): State<Arc<App>>,
    Changing(actor): Changing,
    Json(body): Json<PasswordIn>,
) -> ApiResult<StatusCode> {
    app.change_password(&actor, &body.current_password, &body.new_password, body.totp.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End this session: the token stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
pub async fn logout(State(app): State<Arc<App>>, Enrolling(actor): Enrolling) -> ApiResult<StatusCode> {
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

/// The caller's own sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", responses((status = 200, body = ListOut<SessionOut>)), security(("bearer" = [])))]
pub async fn sessions(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    let items = app
        .sessions(&actor)
        .await?
        .into_iter()
        .map(|s| SessionOut {
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_seen: rfc3339(s.last_seen),
            expires_at: rfc3339(s.expires_at),
            current: s.current,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// End one of the caller's own sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn end_session(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<StatusCode> {
    app.end_session(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start TOTP enrolment: answers the secret as an otpauth URI and in base32.
#[utoipa::path(post, path = "/api/v1/auth/mfa/enroll", tag = "auth",
    responses((status = 200, body = EnrollOut), (status = 409, body = ProblemBody)), security(("bearer" = [])))]
pub async fn mfa_enroll(State(app): State<Arc<App>>, Enrolling(actor): Enrolling) -> ApiResult<Response> {
    let e = app.mfa_enroll(&actor).await?;
    Ok(json_response(StatusCode::OK, &EnrollOut { otpauth_uri: e.otpauth_uri, secret: e.secret }))
}

/// Confirm TOTP with a current code; answers ten recovery codes, shown once. Sign in again
/// with a code to get a full token.
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", tag = "auth", request_body = ConfirmIn,
    responses((status = 200, body = ConfirmOut), (status = 422, body = ProblemBody), (status = 409, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn mfa_confirm(State(app): State<Arc<App>>, Enrolling(actor): Enrolling, Json(body): Json<ConfirmIn>) -> ApiResult<Response> {
    let recovery_codes = app.mfa_confirm(&actor, &body.code).await?;
    Ok(json_response(StatusCode::OK, &ConfirmOut { recovery_codes }))
}
