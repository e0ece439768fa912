//! Bulk exports with four-eyes approval: `POST /exports` asks (approved at once up to the
//! role's threshold, else pending), a manager of the requester's unit or the dpo approves or
//! rejects (`POST /exports/{id}/approve|reject`), and the requester downloads the CSV once,
//! before it expires (`GET /exports/{id}/download`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sejf_core::exports::{ExportFilter, ExportView};
use sejf_core::{App, rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::json_response;
use crate::auth::Authed;
use crate::dto::ListOut;
use crate::extract::{Id, Json, Query, parse_json};
use crate::problem::{ApiResult, Problem, ProblemBody};

/// `POST /exports`: which people (the filters of `GET /people`), and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// Why the data is needed: recorded, and shown to the approver.
    pub purpose: String,
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
    /// Only `csv`.
    pub format: Option<String>,
}

/// `POST /exports/{id}/approve|reject`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFilterOut {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportOut {
    pub id: Uuid,
    /// `pending`, `approved`, `rejected`, `downloaded` or `expired`.
    pub status: String,
    pub requester: String,
    pub purpose: String,
    pub filter: ExportFilterOut,
    pub record_count: i64,
    /// True when the export was above the threshold and needed a second person.
    pub needs_approval: bool,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    /// Until when an approved export may be downloaded (once).
    pub expires_at: Option<String>,
    pub downloaded_at: Option<String>,
}

impl From<ExportView> for ExportOut {
    fn from(v: ExportView) -> Self {
        ExportOut {
            id: v.id,
            status: v.status,
            requester: v.requester,
            purpose: v.purpose,
            filter: ExportFilterOut { owner: v.filter.owner, unit: v.filter.unit, tag: v.filter.tag },
            record_count: v.record_count,
            needs_approval: v.needs_approval,
            created_at: rfc3339(v.created_at),
            decided_by: v.decided_by,
            decided_at: v.decided_at.map(rfc3339),
            reason: v.reason,
            expires_at: v.expires_at.map(rfc3339),
            downloaded_at: v.downloaded_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportsQuery {
    /// `pending`, `approved`, `rejected`, `downloaded` or `expired`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// 201 with a Location; no ETag: a request changes only through approve, reject and download.
fn created(view: ExportView) -> Response {
    let location = format!("/api/v1/exports/{}", view.id);
    let mut res = json_response(StatusCode::CREATED, &ExportOut::from(view));
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Ask for a bulk export. Up to the role's threshold (default 100 records) it is approved at
/// once; above it, it waits for a second person.
#[utoipa::path(post, path = "/api/v1/exports", tag = "exports", request_body = ExportIn,
    responses((status = 201, body = ExportOut), (status = 422, body = ProblemBody)), security(("bearer" = [])))]
pub async fn create(State(app): State<Arc<App>>, Authed(actor): Authed, Json(body): Json<ExportIn>) -> ApiResult<Response> {
    if body.format.as_deref().is_some_and(|f| f != "csv") {
        return Err(Problem::validation(sejf_domain::ValidationErrors::single("format", "only csv is supported")));
    }
    let filter = ExportFilter { owner: body.owner, unit: body.unit, tag: body.tag };
    Ok(created(app.request_export(&actor, filter, &body.purpose).await?))
}

/// The caller's own export requests and those they may decide, oldest first.
#[utoipa::path(get, path = "/api/v1/exports", tag = "exports", params(ExportsQuery),
    responses((status = 200, body = ListOut<ExportOut>)), security(("bearer" = [])))]
pub async fn list(State(app): State<Arc<App>>, Authed(actor): Authed, Query(q): Query<ExportsQuery>) -> ApiResult<Response> {
    let page = app.list_exports(&actor, q.status.as_deref(), q.cursor.as_deref(), q.limit).await?;
    let out = ListOut { items: page.items.into_iter().map(ExportOut::from).collect(), next_cursor: page.next_cursor };
    Ok(json_response(StatusCode::OK, &out))
}

/// One export request.
#[utoipa::path(get, path = "/api/v1/exports/{id}", tag = "exports", params(("id" = Uuid, Path)),
    responses((status = 200, body = ExportOut), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn get(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &ExportOut::from(app.get_export(&actor, id).await?)))
}

/// The decision's body is optional: none, or `{"reason": "…"}`.
async fn decide(app: Arc<App>, actor: sejf_core::Actor, id: Uuid, approve: bool, body: Bytes) -> ApiResult<Response> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<DecisionIn>(&body)?.reason };
    Ok(json_response(StatusCode::OK, &ExportOut::from(app.decide_export(&actor, id, approve, reason.as_deref()).await?)))
}

/// Approve someone else's pending export (a manager of their unit, or the dpo).
#[utoipa::path(post, path = "/api/v1/exports/{id}/approve", tag = "exports", params(("id" = Uuid, Path)), request_body = DecisionIn,
    responses((status = 200, body = ExportOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody)), security(("bearer" = [])))]
pub async fn approve(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, body: Bytes) -> ApiResult<Response> {
    decide(app, actor, id, true, body).await
}

/// Reject someone else's pending export.
#[utoipa::path(post, path = "/api/v1/exports/{id}/reject", tag = "exports", params(("id" = Uuid, Path)), request_body = DecisionIn,
    responses((status = 200, body = ExportOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody)), security(("bearer" = [])))]
pub async fn reject(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, body: Bytes) -> ApiResult<Response> {
    decide(app, actor, id, false, body).await
}

/// Download an approved export as CSV: only its requester, once, before it expires. 409 while
/// it waits for approval, 410 once downloaded or expired.
#[utoipa::path(get, path = "/api/v1/exports/{id}/download", tag = "exports", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody), (status = 410, body = ProblemBody)), security(("bearer" = [])))]
pub async fn download(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    let export = app.download_export(&actor, id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: &dyn std::fmt::Display| Problem::from(sejf_core::CoreError::Internal(e.to_string()));
    w.write_record(sejf_core::csvcells::COLUMNS).map_err(|e| internal(&e))?;
    for p in &export.people {
        w.write_record(sejf_core::csvcells::person_cells(&p.fields, &p.tags)).map_err(|e| internal(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| internal(&e))?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sejf-export-{id}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
