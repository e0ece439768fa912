//! `GET /audit`: the trail for auditors and data protection officers, filtered and paged.
//! "Who accessed this person" is `?subject=<person id>`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sejf_core::trail::TrailQuery;
use sejf_core::users::PolicyAction;
use sejf_core::{App, rfc3339};
use sejf_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json_response;
use crate::auth::Authed;
use crate::dto::ListOut;
use crate::extract::Query;
use crate::problem::{ApiResult, Problem, ProblemBody};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A user name.
    pub actor: Option<String>,
    /// A person id: who accessed this person.
    pub subject: Option<String>,
    /// An action, e.g. `person.read`.
    pub action: Option<String>,
    /// RFC 3339 bounds.
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub seq: i64,
    pub at: String,
    pub actor_id: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub subject_id: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub outcome: String,
    pub client: String,
    pub request_id: String,
    pub detail: String,
}

fn micros(field: &str, v: &Option<String>) -> Result<i64, Problem> {
    match v {
        None => Ok(0),
        Some(s) => sejf_domain::records::parse_datetime(s)
            .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
            .map_err(|e| Problem::validation(ValidationErrors::single(field, e.0))),
    }
}

/// The audit trail (auditor and dpo), oldest first, with cursor paging.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = ListOut<AuditOut>), (status = 403, body = ProblemBody)), security(("bearer" = [])))]
pub async fn list(State(app): State<Arc<App>>, Authed(actor): Authed, Query(q): Query<AuditParams>) -> ApiResult<Response> {
    trail(app, actor, q).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Security alerts (honeytoken touched, read budget exceeded), oldest first: audit events with
/// `action = "alert"`; `resource_id` names the alert, `outcome` its severity.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "audit", params(AlertParams),
    responses((status = 200, body = ListOut<AuditOut>), (status = 403, body = ProblemBody)), security(("bearer" = [])))]
pub async fn alerts(State(app): State<Arc<App>>, Authed(actor): Authed, Query(q): Query<AlertParams>) -> ApiResult<Response> {
    trail(
        app,
        actor,
        AuditParams {
            action: Some(sejf_core::actions::AuditAction::Alert.as_str().into()),
            cursor: q.cursor,
            limit: q.limit,
            ..Default::default()
        },
    )
    .await
}

async fn trail(app: Arc<App>, actor: sejf_core::Actor, q: AuditParams) -> ApiResult<Response> {
    // Refused callers learn nothing about their parameters.
    app.authorize_system(&actor, PolicyAction::ReadAudit)?;
    let query = TrailQuery {
        actor: q.actor.unwrap_or_default(),
        subject: q.subject.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
        from: micros("from", &q.from)?,
        to: micros("to", &q.to)?,
        cursor: q.cursor,
        limit: q.limit,
    };
    let page = app.audit_trail(&actor, query).await?;
    let (rows, next_cursor) = (page.items, page.next_cursor);
    let items: Vec<AuditOut> = rows
        .into_iter()
        .map(|r| {
            let e = r.event;
            AuditOut {
                seq: r.seq,
                at: rfc3339(e.at),
                actor_id: e.actor_id,
                actor: e.actor,
                role: e.role,
                action: e.action,
                resource_type: e.resource_type,
                resource_id: e.resource_id,
                subject_id: e.subject_id,
                fields: e.fields.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
                purpose: e.purpose,
                outcome: e.outcome,
                client: e.client,
                request_id: e.request_id,
                detail: e.detail,
            }
        })
        .collect();
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor }))
}
