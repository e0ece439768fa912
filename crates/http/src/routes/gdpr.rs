//! GDPR routes under `/people/{id}`: the access export, erasure, restriction, legal hold,
//! objection to direct marketing, and consents; and the register of purposes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sejf_core::App;
use sejf_core::gdpr::{ConsentInput, Flag, PurposeOut, SubjectExport};

use super::json_response;
use crate::auth::Authed;
use crate::dto::{ConsentIn, GdprActionIn, ListOut};
use crate::extract::{Id, Json, Query, parse_json};
use crate::problem::{ApiResult, ProblemBody};

/// An optional JSON body: empty is the default.
fn optional_body(body: &Bytes) -> ApiResult<GdprActionIn> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(GdprActionIn::default()) } else { Ok(parse_json(body)?) }
}

/// The format of an access export.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Everything Sejf holds about a person (GDPR art. 15 and 20): dpo only; recorded.
#[utoipa::path(get, path = "/api/v1/people/{id}/export", tag = "gdpr", params(("id" = uuid::Uuid, Path), ExportQuery),
    responses((status = 200, description = "The bundle (JSON, or CSV with ?format=csv); see docs/schemas/gdpr-export.schema.json"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn export(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Query(q): Query<ExportQuery>) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(sejf_core::CoreError::from(sejf_domain::ValidationErrors::single("format", "must be json or csv")).into()),
    };
    let bundle = app.subject_export(&actor, id).await?;
    let mut res = if csv {
        let mut r = export_csv(&bundle).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        r
    } else {
        json_response(StatusCode::OK, &bundle)
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sejf-subject-{id}.{}\"", if csv { "csv" } else { "json" })) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The bundle as CSV: one row per value, `section,item,field,value`, formulas neutralised.
pub fn export_csv(bundle: &SubjectExport) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    fn walk(section: &str, item: &str, prefix: &str, v: &serde_json::Value, rows: &mut Vec<[String; 4]>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(section, item, &key, x, rows);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(section, item, &format!("{prefix}[{i}]"), x, rows);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => rows.push([section.into(), item.into(), prefix.into(), s.clone()]),
            other => rows.push([section.into(), item.into(), prefix.into(), other.to_string()]),
        }
    }
    let value = serde_json::to_value(bundle).unwrap_or_default();
    if let serde_json::Value::Object(m) = &value {
        for (section, v) in m {
            match v {
                serde_json::Value::Array(items) => {
                    for (i, x) in items.iter().enumerate() {
                        walk(section, &i.to_string(), "", x, &mut rows);
                    }
                }
                other => walk(section, "", "", other, &mut rows),
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["section", "item", "field", "value"]);
    for r in rows {
        let _ = w.write_record([&r[0], &r[1], &r[2], &sejf_core::csvcells::neutralise(&r[3])]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Erase a person by crypto-shredding (GDPR art. 17): dpo only; answers the signed receipt.
#[utoipa::path(post, path = "/api/v1/people/{id}/erase", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = GdprActionIn,
    responses((status = 200, description = "Erased; the signed receipt"), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "A legal hold blocks it"),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn erase(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, body: Bytes) -> ApiResult<Response> {
    let body = optional_body(&body)?;
    let reason = body.reason.unwrap_or_else(|| "erasure request of the data subject (GDPR art. 17)".into());
    let receipt = app.erase_person(&actor, id, &reason).await?;
    Ok(json_response(StatusCode::OK, &receipt))
}

/// Restrict processing of a person (GDPR art. 18), or lift it with `{"lift": true}`: dpo only.
#[utoipa::path(post, path = "/api/v1/people/{id}/restrict", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = GdprActionIn,
    responses((status = 200, description = "The restriction now in force, or `{restricted: false}` once lifted"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn restrict(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, body: Bytes) -> ApiResult<Response> {
    let body = optional_body(&body)?;
    if body.lift == Some(true) {
        app.clear_person_flag(&actor, id, Flag::Restricted).await?;
        return Ok(json_response(StatusCode::OK, &serde_json::json!({"person_id": id, "restricted": false})));
    }
    let reason = body.reason.unwrap_or_else(|| "restriction request of the data subject (GDPR art. 18)".into());
    let flag = app.set_person_flag(&actor, id, Flag::Restricted, &reason).await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"person_id": id, "restricted": true, "reason": flag.reason, "set_by": flag.set_by, "since": flag.since}),
    ))
}

/// Lift a restriction: dpo only.
#[utoipa::path(delete, path = "/api/v1/people/{id}/restrict", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn unrestrict(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<StatusCode> {
    app.clear_person_flag(&actor, id, Flag::Restricted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Put a person under a legal hold, which blocks erasure: dpo only.
#[utoipa::path(post, path = "/api/v1/people/{id}/legal-hold", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = GdprActionIn,
    responses((status = 200, description = "The hold"), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn hold(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Json(body): Json<GdprActionIn>) -> ApiResult<Response> {
    let flag = app.set_person_flag(&actor, id, Flag::LegalHold, body.reason.as_deref().unwrap_or("")).await?;
    Ok(json_response(StatusCode::OK, &flag))
}

/// Release a legal hold: dpo only.
#[utoipa::path(delete, path = "/api/v1/people/{id}/legal-hold", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn release(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<StatusCode> {
    app.clear_person_flag(&actor, id, Flag::LegalHold).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record the person's objection to direct marketing (GDPR art. 21(3)): permanent; whoever may
/// update the person, or the dpo.
#[utoipa::path(post, path = "/api/v1/people/{id}/objection", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = GdprActionIn,
    responses((status = 200, description = "The objection"), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn objection(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, body: Bytes) -> ApiResult<Response> {
    let body = optional_body(&body)?;
    let reason = body.reason.unwrap_or_else(|| "objection to direct marketing (GDPR art. 21(3))".into());
    let flag = app.set_person_flag(&actor, id, Flag::MarketingObjection, &reason).await?;
    Ok(json_response(StatusCode::OK, &flag))
}

/// A person's flags (restriction, legal hold, objection): dpo only.
#[utoipa::path(get, path = "/api/v1/people/{id}/flags", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "`{items}`"), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn flags(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    let items = app.person_flags(&actor, id).await?;
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// A person's consents: `items` (the full history, oldest first) and `current` (in force per
/// purpose and channel).
#[utoipa::path(get, path = "/api/v1/people/{id}/consents", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "`{items, current, next_cursor}`"), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn consents(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    let c = app.consents(&actor, id).await?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({"items": c.history, "current": c.current, "next_cursor": null})))
}

/// Record a consent given or withdrawn, with its proof (wording version, source, the client's
/// address, who recorded it).
#[utoipa::path(post, path = "/api/v1/people/{id}/consents", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = ConsentIn,
    responses((status = 201, description = "The consent record"), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn give_consent(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Json(c): Json<ConsentIn>) -> ApiResult<Response> {
    let input = ConsentInput {
        purpose: c.purpose,
        channel: c.channel,
        granted: c.granted,
        wording_version: c.wording_version.unwrap_or_default(),
        source: c.source.unwrap_or_default(),
    };
    let row = app.record_consent(&actor, id, &input).await?;
    Ok(json_response(StatusCode::CREATED, &row))
}

/// The register of processing purposes.
#[utoipa::path(get, path = "/api/v1/purposes", tag = "gdpr",
    responses((status = 200, description = "`{items}`")), security(("bearer" = [])))]
pub async fn purposes(State(app): State<Arc<App>>, Authed(_actor): Authed) -> ApiResult<Response> {
    let items = app.purposes().await?;
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Add or replace a purpose of the register: dpo only.
#[utoipa::path(post, path = "/api/v1/purposes", tag = "gdpr",
    responses((status = 200, description = "The purpose"), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn put_purpose(State(app): State<Arc<App>>, Authed(actor): Authed, Json(p): Json<PurposeIn>) -> ApiResult<Response> {
    let out = PurposeOut {
        name: p.name,
        lawful_basis: p.lawful_basis,
        categories: p.categories,
        retention: p.retention,
        recipients: p.recipients,
        marketing: p.marketing,
        applies_to_all: p.applies_to_all,
    };
    Ok(json_response(StatusCode::OK, &app.put_purpose(&actor, &out).await?))
}

/// A purpose of the register.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeIn {
    pub name: String,
    pub lawful_basis: String,
    #[serde(default)]
    pub categories: Vec<String>,
    pub retention: String,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub marketing: bool,
    #[serde(default)]
    pub applies_to_all: bool,
}

/// `POST /dsr`: a data-subject request as received.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrIn {
    /// access, rectification, erasure, restriction, portability or objection.
    pub kind: String,
    /// The person, once identified.
    #[serde(default)]
    pub person_id: Option<uuid::Uuid>,
    /// When it arrived (RFC 3339; default now). The deadline is a month later.
    #[serde(default)]
    pub received_at: Option<String>,
    /// How the requester's identity was checked.
    #[serde(default)]
    pub identity_check: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /dsr/{id}/extend` and `/close`.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DsrChangeIn {
    /// extend: why (the person is told).
    #[serde(default)]
    pub reason: Option<String>,
    /// close: `done` or `refused`.
    #[serde(default)]
    pub status: Option<String>,
    /// close: the outcome; required when refused.
    #[serde(default)]
    pub note: Option<String>,
}

/// `GET /dsr?status=`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DsrQuery {
    /// open, done or refused.
    pub status: Option<String>,
}

/// Record a data-subject request (dpo): due one month after it was received.
#[utoipa::path(post, path = "/api/v1/dsr", tag = "gdpr", request_body = DsrIn,
    responses((status = 201, description = "The request, with its due date"), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn dsr_create(State(app): State<Arc<App>>, Authed(actor): Authed, Json(d): Json<DsrIn>) -> ApiResult<Response> {
    let received_at = match d.received_at.as_deref() {
        None | Some("") => 0,
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
            .map_err(|_| sejf_core::CoreError::from(sejf_domain::ValidationErrors::single("received_at", "must be an RFC 3339 time")))?,
    };
    let input = sejf_core::gdpr::DsrInput {
        kind: d.kind,
        person_id: d.person_id,
        received_at,
        identity_check: d.identity_check.unwrap_or_default(),
        note: d.note.unwrap_or_default(),
    };
    Ok(json_response(StatusCode::CREATED, &app.dsr_create(&actor, &input).await?))
}

/// The register of data-subject requests (dpo); `overdue` marks open ones past their deadline.
#[utoipa::path(get, path = "/api/v1/dsr", tag = "gdpr", params(DsrQuery),
    responses((status = 200, description = "`{items, next_cursor}`"), (status = 403, body = ProblemBody)), security(("bearer" = [])))]
pub async fn dsr_list(State(app): State<Arc<App>>, Authed(actor): Authed, Query(q): Query<DsrQuery>) -> ApiResult<Response> {
    let items = app.dsr_list(&actor, q.status.as_deref()).await?;
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Extend a request's deadline once by two months, with a reason (dpo).
#[utoipa::path(post, path = "/api/v1/dsr/{id}/extend", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = DsrChangeIn,
    responses((status = 200, description = "The request"), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn dsr_extend(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Json(c): Json<DsrChangeIn>) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &app.dsr_extend(&actor, id, c.reason.as_deref().unwrap_or("")).await?))
}

/// Close a request as done or refused (dpo).
#[utoipa::path(post, path = "/api/v1/dsr/{id}/close", tag = "gdpr", params(("id" = uuid::Uuid, Path)), request_body = DsrChangeIn,
    responses((status = 200, description = "The request"), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn dsr_close(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Json(c): Json<DsrChangeIn>) -> ApiResult<Response> {
    let out = app.dsr_close(&actor, id, c.status.as_deref().unwrap_or(""), c.note.as_deref().unwrap_or("")).await?;
    Ok(json_response(StatusCode::OK, &out))
}
