//! The DPO's actions on `/privacy` beyond the access export and erasure: restriction and legal
//! hold of a person, recording and closing data-subject requests, recording a breach and its
//! notification, and registering a processor. Each form posts to the same use case as the API
//! (`sejf_core::gdpr`), so the `gdpr` policy decides and every change is audited; a success
//! returns to `/privacy`, bad input answers a 422 page naming the field.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use sejf_core::gdpr::{Breach, DSR_KINDS, DsrInput, Flag, Processor};
use sejf_core::{App, CoreError};
use serde::Deserialize;

use crate::Form;
use crate::i18n::M;
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page};
use crate::people::parse_id;
use crate::session::Signed;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/privacy/flag", post(flag))
        .route("/privacy/requests", post(record_request))
        .route("/privacy/requests/{id}/close", post(close_request))
        .route("/privacy/breaches", post(record_breach))
        .route("/privacy/breaches/{id}/notified", post(breach_notified))
        .route("/privacy/processors", post(put_processor))
}

fn ctx(s: &Signed) -> Ctx<'_> {
    Ctx { lang: s.lang, csrf: &s.csrf, actor: Some(&s.actor), admin: false }
}

/// Back to the registers, or the error page.
fn done<T>(c: &Ctx<'_>, r: Result<T, CoreError>) -> Response {
    match r {
        Ok(_) => Redirect::to("/privacy").into_response(),
        Err(e) => error_page(c, e),
    }
}

fn text_field(id: &str, name: &str, label: &str, ty: &str, required: bool) -> Markup {
    html! {
        label for=(id) { (label) }
        input id=(id) name=(name) type=(ty) required[required] autocomplete="off";
    }
}

/// Restriction and legal hold for a person found by e-mail.
pub fn person_forms(c: &Ctx<'_>, person: uuid::Uuid) -> Markup {
    html! {
        form method="post" action="/privacy/flag" class="card" {
            (csrf_field(c.csrf))
            input type="hidden" name="person_id" value=(person);
            label for={"fl-flag-" (person)} { (c.t(M::FlagKind)) }
            select id={"fl-flag-" (person)} name="flag" {
                option value="restricted" { (c.t(M::Restriction)) }
                option value="legal_hold" { (c.t(M::LegalHold)) }
            }
            (text_field(&format!("fl-reason-{person}"), "reason", c.t(M::Reason), "text", false))
            button type="submit" name="action" value="set" { (c.t(M::SetFlag)) }
            " "
            button type="submit" name="action" value="lift" { (c.t(M::LiftFlag)) }
        }
    }
}

/// The forms under the registers: a request, a breach, a processor.
pub fn register_forms(c: &Ctx<'_>) -> Markup {
    html! {
        details {
            summary { (c.t(M::RecordRequest)) }
            form method="post" action="/privacy/requests" class="card" {
                (csrf_field(c.csrf))
                label for="rq-kind" { (c.t(M::Kind)) }
                select id="rq-kind" name="kind" { @for k in DSR_KINDS { option value=(k) { (k) } } }
                (text_field("rq-person", "person_id", c.t(M::PersonId), "text", false))
                (text_field("rq-received", "received_on", c.t(M::ReceivedOn), "date", false))
                (text_field("rq-identity", "identity_check", c.t(M::IdentityCheck), "text", false))
                button type="submit" class="primary" { (c.t(M::Save)) }
            }
        }
        details {
            summary { (c.t(M::RecordBreach)) }
            form method="post" action="/privacy/breaches" class="card" {
                (csrf_field(c.csrf))
                (text_field("br-title", "title", c.t(M::Title), "text", true))
                (text_field("br-detected", "detected_at", c.t(M::Detected), "datetime-local", true))
                (text_field("br-nature", "nature", c.t(M::Nature), "text", true))
                (text_field("br-categories", "categories", c.t(M::DataCategoriesComma), "text", false))
                (text_field("br-actor", "actor", c.t(M::BreachActor), "text", false))
                (text_field("br-from", "from", c.t(M::From), "datetime-local", false))
                (text_field("br-to", "to", c.t(M::To), "datetime-local", false))
                (text_field("br-measures", "measures", c.t(M::Measures), "text", false))
                button type="submit" class="primary" { (c.t(M::Save)) }
            }
        }
        details {
            summary { (c.t(M::RegisterProcessor)) }
            form method="post" action="/privacy/processors" class="card" {
                (csrf_field(c.csrf))
                (text_field("pr-name", "name", c.t(M::Name), "text", true))
                (text_field("pr-service", "service", c.t(M::Service), "text", true))
                (text_field("pr-categories", "categories", c.t(M::DataCategoriesComma), "text", true))
                (text_field("pr-country", "country", c.t(M::Country), "text", true))
                (text_field("pr-safeguard", "transfer_safeguard", c.t(M::Safeguard), "text", false))
                (text_field("pr-dpa", "dpa_signed_on", c.t(M::DpaSigned), "date", false))
                (text_field("pr-review", "next_review_due", c.t(M::NextReview), "date", true))
                button type="submit" class="primary" { (c.t(M::Save)) }
            }
        }
    }
}

/// The buttons on a register row.
pub fn close_request_form(c: &Ctx<'_>, id: uuid::Uuid) -> Markup {
    html! {
        form method="post" action={ "/privacy/requests/" (id) "/close" } class="inline" {
            (csrf_field(c.csrf))
            input type="hidden" name="status" value="done";
            button type="submit" { (c.t(M::MarkDone)) }
        }
    }
}

pub fn breach_notified_form(c: &Ctx<'_>, id: &str) -> Markup {
    html! {
        form method="post" action={ "/privacy/breaches/" (id) "/notified" } class="inline" {
            (csrf_field(c.csrf))
            button type="submit" { (c.t(M::MarkNotified)) }
        }
    }
}

#[derive(Deserialize)]
pub struct FlagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    flag: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    action: String,
}

async fn flag(State(app): State<Arc<App>>, s: Signed, Form(f): Form<FlagForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let r = async {
        let id = parse_id(&f.person_id)?;
        let flag = match f.flag.as_str() {
            "restricted" => Flag::Restricted,
            "legal_hold" => Flag::LegalHold,
            _ => return Err(sejf_domain::ValidationErrors::single("flag", "must be restricted or legal_hold").into()),
        };
        if f.action == "lift" {
            app.clear_person_flag(&s.actor, id, flag).await
        } else {
            app.set_person_flag(&s.actor, id, flag, &f.reason).await.map(|_| ())
        }
    }
    .await;
    done(&c, r)
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    identity_check: String,
}

/// `2026-12-04` or a `datetime-local` value (UTC) to unix µs; empty is None.
fn when(field: &'static str, v: &str) -> Result<Option<i64>, CoreError> {
    let v = v.trim();
    let full = match v.len() {
        0 => return Ok(None),
        10 => format!("{v}T09:00:00Z"),
        16 => format!("{v}:00Z"),
        _ => v.to_string(),
    };
    sejf_domain::records::parse_datetime(&full)
        .map(|t| Some((t.unix_timestamp_nanos() / 1000) as i64))
        .map_err(|e| sejf_domain::ValidationErrors::single(field, e.0).into())
}

async fn record_request(State(app): State<Arc<App>>, s: Signed, Form(f): Form<RequestForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let r = async {
        let person_id = match f.person_id.trim() {
            "" => None,
            p => Some(uuid::Uuid::parse_str(p).map_err(|_| sejf_domain::ValidationErrors::single("person_id", "must be a person's id"))?),
        };
        let received_at = when("received_on", &f.received_on)?.unwrap_or(0);
        let input =
            DsrInput { kind: f.kind.clone(), person_id, received_at, identity_check: f.identity_check.clone(), note: String::new() };
        app.dsr_create(&s.actor, &input).await
    }
    .await;
    done(&c, r)
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

async fn close_request(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<CloseForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let r = async { app.dsr_close(&s.actor, parse_id(&id)?, &f.status, "").await }.await;
    done(&c, r)
}

#[derive(Deserialize)]
pub struct BreachForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detected_at: String,
    #[serde(default)]
    nature: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    measures: String,
}

/// A `datetime-local` value as RFC 3339 (UTC), for the core's parser.
fn rfc3339_of(v: &str) -> Option<String> {
    let v = v.trim();
    match v.len() {
        0 => None,
        16 => Some(format!("{v}:00Z")),
        _ => Some(v.to_string()),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

async fn record_breach(State(app): State<Arc<App>>, s: Signed, Form(f): Form<BreachForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let input = Breach {
        title: f.title,
        detected_at: rfc3339_of(&f.detected_at).unwrap_or_default(),
        nature: f.nature,
        categories: list(&f.categories),
        actor: Some(f.actor).filter(|a| !a.trim().is_empty()),
        from: rfc3339_of(&f.from),
        to: rfc3339_of(&f.to),
        measures: f.measures,
        ..Default::default()
    };
    done(&c, app.record_breach(&s.actor, input).await)
}

async fn breach_notified(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<CloseForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let r = async { app.breach_notified(&s.actor, &parse_id(&id)?.to_string(), false).await }.await;
    done(&c, r)
}

#[derive(Deserialize)]
pub struct ProcessorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    transfer_safeguard: String,
    #[serde(default)]
    dpa_signed_on: String,
    #[serde(default)]
    next_review_due: String,
}

async fn put_processor(State(app): State<Arc<App>>, s: Signed, Form(f): Form<ProcessorForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let p = Processor {
        name: f.name,
        service: f.service,
        categories: list(&f.categories),
        country: f.country,
        transfer_safeguard: f.transfer_safeguard,
        dpa_signed_on: Some(f.dpa_signed_on).filter(|d| !d.trim().is_empty()),
        last_review_on: None,
        next_review_due: f.next_review_due,
        approved: true,
        alerted_on: None,
    };
    done(&c, app.put_processor(&s.actor, p).await)
}
