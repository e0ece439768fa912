//! The bearer-token extractor: every route that takes [`Authed`] is authenticated, and the
//! router gives no other way in (only `/healthz` and the API description take none).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sejf_core::authz::Scope;
use sejf_core::{Actor, App, CoreError};

use crate::problem::{Problem, ProblemType};

/// The authenticated caller of a request, with a fully signed-in (or API) token.
pub struct Authed(pub Actor);

/// A caller who may be half-way through sign-in: a full token or an enrolment token. Only the
/// TOTP enrolment routes and logout take this.
pub struct Enrolling(pub Actor);

impl FromRequestParts<Arc<App>> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let actor = bearer_actor(parts, app).await?;
        match actor.scope {
            Scope::Enroll => Err(CoreError::MfaEnrollmentRequired.into()),
            Scope::Password => Err(CoreError::PasswordChangeRequired.into()),
            _ => Ok(Authed(actor)),
        }
    }
}

/// A caller who may change their own password: a full token, or one that may only do that.
pub struct Changing(pub Actor);

impl FromRequestParts<Arc<App>> for Changing {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let actor = bearer_actor(parts, app).await?;
        match actor.scope {
            Scope::Full | Scope::Password => Ok(Changing(actor)),
            Scope::Enroll => Err(CoreError::MfaEnrollmentRequired.into()),
            _ => Err(CoreError::Forbidden("this token may not change a password".into()).into()),
        }
    }
}

impl FromRequestParts<Arc<App>> for Enrolling {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let actor = bearer_actor(parts, app).await?;
        if actor.scope == Scope::Password {
            return Err(CoreError::PasswordChangeRequired.into());
        }
        if matches!(actor.scope, Scope::Api(_)) {
            return Err(Problem::new(ProblemType::Forbidden, "API tokens do not sign in interactively"));
        }
        Ok(Enrolling(actor))
    }
}

async fn bearer_actor(parts: &mut Parts, app: &Arc<App>) -> Result<Actor, Problem> {
    {
        let crate::client::ClientAddr(client) = crate::client::ClientAddr::from_request_parts(parts, app).await?;
        if let Some(slot) = parts.extensions.get::<crate::ActorSlot>() {
            slot.set_client(client);
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(Problem::unauthenticated)?
            .to_string();
        let mut actor = app.authenticate(&token, client).await.map_err(Problem::from)?;
        if let Some(id) = parts.extensions.get::<crate::RequestId>() {
            actor.request_id = id.0.clone();
        }
        parts.extensions.insert(actor.clone());
        if let Some(slot) = parts.extensions.get::<crate::ActorSlot>() {
            slot.set(&actor);
        }
        Ok(actor)
    }
}
