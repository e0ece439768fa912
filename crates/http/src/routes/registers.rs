//! The dpo's registers: processors (vendors) and what is disclosed to them, and breaches
//! (docs/adr/0025-processors-and-breaches.md). Thin: every decision is in `sejf_core::gdpr`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sejf_core::App;
use sejf_core::gdpr::{Breach, Disclosure, DisclosureRequest, Processor};

use super::json_response;
use crate::auth::Authed;
use crate::dto::ListOut;
use crate::extract::{Id, Json};
use crate::problem::{ApiResult, ProblemBody};

/// A processor of the register.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorIn {
    /// A short slug (`mailer`).
    pub name: String,
    /// What it does for you.
    pub service: String,
    /// The data categories it may receive: identification, contact, national_id, notes.
    pub categories: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Required outside the EEA (e.g. "SCC 2021/914").
    #[serde(default)]
    pub transfer_safeguard: String,
    /// YYYY-MM-DD; absent: no agreement signed (nothing may be sent).
    #[serde(default)]
    pub dpa_signed_on: Option<String>,
    #[serde(default)]
    pub last_review_on: Option<String>,
    /// YYYY-MM-DD; past it, nothing may be sent.
    pub next_review_due: String,
    #[serde(default = "yes")]
    pub approved: bool,
}

fn yes() -> bool {
    true
}

/// What to send a processor.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureIn {
    /// A purpose of the register.
    pub purpose: String,
    /// email, sms or phone: required when the purpose needs consent.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// `;`, a byte-order mark and CRLF, for Polish Excel.
    #[serde(default)]
    pub excel: bool,
}

/// A breach as the dpo records it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachIn {
    pub title: String,
    /// RFC 3339: when you became aware of it; the 72 hours run from here.
    pub detected_at: String,
    pub nature: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub approx_people: Option<u64>,
    #[serde(default)]
    pub approx_records: Option<u64>,
    #[serde(default)]
    pub consequences: String,
    #[serde(default)]
    pub measures: String,
    #[serde(default)]
    pub contact: String,
    /// The user whose reads it concerns; with `from` and `to`, the affected set.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// `POST /breaches/{id}/notified` and `/delay`.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachChangeIn {
    /// notified: the people were informed (Art. 34), not the authority.
    #[serde(default)]
    pub subjects: bool,
    /// delay: why the notification comes after 72 hours.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A disclosure as CSV: the purpose's columns, one row per person sent.
pub fn disclosure_csv(d: &Disclosure, excel: bool) -> Vec<u8> {
    let mut out = if excel { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
    {
        let mut w =
            csv::WriterBuilder::new().delimiter(if excel { b';' } else { b',' }).terminator(csv::Terminator::CRLF).from_writer(&mut out);
        // Writing to memory cannot fail.
        let _ = w.write_record(&d.columns);
        for row in d.rows() {
            let _ = w.write_record(row);
        }
        let _ = w.flush();
    }
    out
}

/// The processor register (dpo): `blocked` says why nothing may be sent to one now.
#[utoipa::path(get, path = "/api/v1/processors", tag = "gdpr",
    responses((status = 200, description = "`{items}`"), (status = 403, body = ProblemBody)), security(("bearer" = [])))]
pub async fn processors(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    let items = app.processors(&actor).await?;
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Add or replace a processor of the register (dpo).
#[utoipa::path(post, path = "/api/v1/processors", tag = "gdpr", request_body = ProcessorIn,
    responses((status = 200, description = "The processor"), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn put_processor(State(app): State<Arc<App>>, Authed(actor): Authed, Json(p): Json<ProcessorIn>) -> ApiResult<Response> {
    let p = Processor {
        name: p.name,
        service: p.service,
        categories: p.categories,
        country: p.country,
        transfer_safeguard: p.transfer_safeguard,
        dpa_signed_on: p.dpa_signed_on,
        last_review_on: p.last_review_on,
        next_review_due: p.next_review_due,
        approved: p.approved,
        alerted_on: None,
    };
    Ok(json_response(StatusCode::OK, &app.put_processor(&actor, p).await?))
}

/// Send people to a registered processor for a purpose (dpo): CSV of the purpose's categories.
/// Refused (403, audited) for an unregistered, unapproved, unsigned or overdue processor, or one
/// that may not receive a category the purpose sends.
#[utoipa::path(post, path = "/api/v1/processors/{name}/disclosures", tag = "gdpr", params(("name" = String, Path)),
    request_body = DisclosureIn,
    responses((status = 200, description = "text/csv: the people sent", content_type = "text/csv"), (status = 403, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn disclose(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Path(name): Path<String>,
    Json(d): Json<DisclosureIn>,
) -> ApiResult<Response> {
    let req = DisclosureRequest {
        processor: name,
        purpose: d.purpose,
        channel: d.channel,
        filter: sejf_core::exports::ExportFilter { owner: None, unit: d.unit, tag: d.tag },
    };
    let out = app.disclose(&actor, &req).await?;
    let mut res = disclosure_csv(&out, d.excel).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sejf-{}-{}.csv\"", out.processor, out.purpose)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&out.left_out.to_string()) {
        h.insert("x-sejf-left-out", v);
    }
    Ok(res)
}

/// The breach register, newest first (dpo), each with its 72-hour deadline.
#[utoipa::path(get, path = "/api/v1/breaches", tag = "gdpr",
    responses((status = 200, description = "`{items}`"), (status = 403, body = ProblemBody)), security(("bearer" = [])))]
pub async fn breaches(State(app): State<Arc<App>>, Authed(actor): Authed) -> ApiResult<Response> {
    let items = app.breaches(&actor).await?;
    Ok(json_response(StatusCode::OK, &ListOut { items, next_cursor: None }))
}

/// Record a breach (dpo).
#[utoipa::path(post, path = "/api/v1/breaches", tag = "gdpr", request_body = BreachIn,
    responses((status = 201, description = "The breach with its deadline"), (status = 403, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn record_breach(State(app): State<Arc<App>>, Authed(actor): Authed, Json(b): Json<BreachIn>) -> ApiResult<Response> {
    let input = Breach {
        title: b.title,
        detected_at: b.detected_at,
        nature: b.nature,
        categories: b.categories,
        approx_people: b.approx_people,
        approx_records: b.approx_records,
        consequences: b.consequences,
        measures: b.measures,
        contact: b.contact,
        actor: b.actor,
        from: b.from,
        to: b.to,
        ..Default::default()
    };
    Ok(json_response(StatusCode::CREATED, &app.record_breach(&actor, input).await?))
}

/// One breach with the people affected (Art. 34) and the Art. 33(3) notification draft.
#[utoipa::path(get, path = "/api/v1/breaches/{id}", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The breach"), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn breach(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &app.breach(&actor, &id.to_string()).await?))
}

/// Record that the authority was notified (or, with `subjects`, the people informed).
#[utoipa::path(post, path = "/api/v1/breaches/{id}/notified", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    request_body = BreachChangeIn,
    responses((status = 200, description = "The breach"), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody),
              (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn breach_notified(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Id(id): Id,
    Json(c): Json<BreachChangeIn>,
) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &app.breach_notified(&actor, &id.to_string(), c.subjects).await?))
}

/// Record why the notification comes after 72 hours (Art. 33(1)).
#[utoipa::path(post, path = "/api/v1/breaches/{id}/delay", tag = "gdpr", params(("id" = uuid::Uuid, Path)),
    request_body = BreachChangeIn,
    responses((status = 200, description = "The breach"), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn breach_delay(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Id(id): Id,
    Json(c): Json<BreachChangeIn>,
) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &app.breach_delay_reason(&actor, &id.to_string(), c.reason.as_deref().unwrap_or("")).await?))
}
