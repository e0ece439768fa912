//! The bearer-token extractor: every route that takes [`Authed`] is authenticated, and the
//! router gives no other way in (only `/healthz` and the API description take none).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sejf_core::{Actor, App};

use crate::problem::Problem;

/// The authenticated caller of a request.
pub struct Authed(pub Actor);

impl FromRequestParts<Arc<App>> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(Problem::unauthenticated)?;
        let actor = app.authenticate(token).await.map_err(Problem::from)?;
        parts.extensions.insert(actor.clone());
        Ok(Authed(actor))
    }
}
