//! The auditor's and the DPO's screens: `/audit` (the trail with filters, "who accessed this
//! person", alerts, the audit trail's verification) and `/privacy` (a person's data exported
//! for a data-subject access request). Both go through the same use-cases as the API, so the
//! policies decide and every read is itself recorded.

use sejf_core::actions::AuditAction;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use sejf_core::ports::SealedEvent;
use sejf_core::trail::TrailQuery;
use sejf_core::users::PolicyAction;
use sejf_core::{App, CoreError};
use serde::Deserialize;

use crate::Form;
use crate::i18n::{M, reason};
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page, html_response, page};
use crate::people::parse_id;
use crate::session::Signed;

/// The last verification run from the UI on this server: when, and its one-line result.
#[derive(Clone, Default)]
pub struct LastVerification(Arc<Mutex<Option<(i64, bool, String)>>>);

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/audit", get(trail))
        .route("/audit/verify", post(verify))
        .route("/privacy", get(privacy).post(privacy_find))
        .route("/privacy/export", post(export))
        .route("/privacy/erase", post(erase))
        .layer(Extension(LastVerification::default()))
}

fn ctx(s: &Signed) -> Ctx<'_> {
    Ctx { lang: s.lang, csrf: &s.csrf, actor: Some(&s.actor), admin: false }
}

#[derive(Deserialize, Default)]
pub struct TrailParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    cursor: Option<String>,
}

/// `2026-12-04` or a datetime-local value to Unix µs (UTC); empty is no bound.
fn bound(v: &str, end_of_day: bool) -> Option<i64> {
    let v = v.trim();
    let full = match v.len() {
        0 => return Some(0),
        10 if end_of_day => format!("{v}T23:59:59Z"),
        10 => format!("{v}T00:00:00Z"),
        16 => format!("{v}:00Z"),
        _ => v.to_string(),
    };
    sejf_domain::records::parse_datetime(&full).ok().map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
}

/// The trail: filters by user, person (id), action and time; the person filter answers "who
/// accessed this person". Alerts are the action `alert`.
async fn trail(
    State(app): State<Arc<App>>,
    s: Signed,
    Extension(last): Extension<LastVerification>,
    Query(q): Query<TrailParams>,
) -> Response {
    let c = ctx(&s);
    let (Some(from), Some(to)) = (bound(&q.from, false), bound(&q.to, true)) else {
        return error_page(&c, CoreError::Validation(sejf_domain::ValidationErrors::single("from", "date")));
    };
    let query = TrailQuery {
        actor: q.actor.trim().to_string(),
        subject: q.subject.trim().to_string(),
        action: q.action.trim().to_string(),
        from,
        to,
        cursor: q.cursor.clone(),
        limit: Some(100),
    };
    let (items, next, errors) = match app.audit_trail(&s.actor, query).await {
        Ok(p) => (p.items, p.next_cursor, Vec::new()),
        Err(CoreError::Validation(v)) => (Vec::new(), None, v.0),
        Err(e) => return error_page(&c, e),
    };
    let checkpoint = match app.last_checkpoint_size(&s.actor).await {
        Ok(size) => size,
        Err(e) => return error_page(&c, e),
    };
    let verified = last.0.lock().map(|v| v.clone()).unwrap_or_default();
    let next_href = next.map(|cur| {
        let mut href = format!("/audit?cursor={cur}");
        for (k, v) in [("actor", &q.actor), ("subject", &q.subject), ("action", &q.action), ("from", &q.from), ("to", &q.to)] {
            if !v.trim().is_empty() {
                href.push_str(&format!("&{k}={}", crate::people::encode(v.trim())));
            }
        }
        href
    });
    let body = html! {
        section class="card" aria-labelledby="verify-h" {
            h2 id="verify-h" { (c.t(M::Verification)) }
            p { (c.t(M::LastCheckpoint)) ": " (checkpoint.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
            @match &verified {
                Some((at, ok, text)) => p class=(if *ok { "notice" } else { "alert" }) role="status" {
                    (c.lang.datetime(*at)) ": " (text)
                },
                None => p { (c.t(M::NotVerifiedYet)) },
            }
            form method="post" action="/audit/verify" { (csrf_field(c.csrf)) button type="submit" { (c.t(M::VerifyNow)) } }
        }
        p { a href="/audit?action=alert" { (c.t(M::Alerts)) } }
        @for e in &errors { p class="alert" role="alert" { (e.field) ": " (reason(c.lang, &e.reason)) } }
        form method="get" action="/audit" class="filters" {
            label for="t-actor" { (c.t(M::Username)) }
            input id="t-actor" name="actor" value=(q.actor);
            label for="t-subject" { (c.t(M::WhoAccessed)) }
            input id="t-subject" name="subject" value=(q.subject);
            label for="t-action" { (c.t(M::AuditAction)) }
            input id="t-action" name="action" value=(q.action);
            label for="t-from" { (c.t(M::From)) }
            input id="t-from" name="from" type="date" value=(q.from);
            label for="t-to" { (c.t(M::To)) }
            input id="t-to" name="to" type="date" value=(q.to);
            button type="submit" { (c.t(M::Filter)) }
        }
        (events_table(&c, &items))
        @if let Some(href) = next_href { p { a href=(href) rel="next" { (c.t(M::NextPage)) } } }
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Audit), body))
}

fn events_table(c: &Ctx<'_>, items: &[SealedEvent]) -> Markup {
    html! {
        @if items.is_empty() { p { (c.t(M::NoRecords)) } } @else {
            table {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { (c.t(M::When)) } th scope="col" { (c.t(M::Username)) }
                    th scope="col" { (c.t(M::AuditAction)) } th scope="col" { (c.t(M::Record)) } th scope="col" { (c.t(M::FieldsShown)) }
                    th scope="col" { (c.t(M::PurposeShort)) } th scope="col" { (c.t(M::Outcome)) }
                } }
                tbody { @for r in items { tr {
                    td { (r.seq) }
                    td { (c.lang.datetime(r.event.at)) }
                    td { (r.event.actor) " (" (r.event.role) ")" }
                    td { (r.event.action) }
                    td { (r.event.resource_type) " " (r.event.resource_id) }
                    td { (r.event.fields) }
                    td { (r.event.purpose) }
                    td { (r.event.outcome) " " (r.event.detail) }
                } } }
            }
        }
    }
}

/// Runs a full verification of the trail against the pinned key and shows its result.
async fn verify(
    State(app): State<Arc<App>>,
    s: Signed,
    Extension(last): Extension<LastVerification>,
    Form(f): Form<crate::signin::CsrfOnly>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    if let Err(e) = app.authorize_system(&s.actor, PolicyAction::ReadAudit) {
        return error_page(&c, e);
    }
    let witnesses: Vec<std::path::PathBuf> = s.cfg.witness.iter().cloned().collect();
    let result = match app.verify_audit(&witnesses, None).await {
        Ok(r) => match r.first_bad {
            None => (true, format!("{} {} ({} checkpoints)", c.t(M::TrailIntact), r.events, r.checkpoints)),
            Some((seq, why)) => (false, format!("{} seq {seq}: {why}", c.t(M::TrailBroken))),
        },
        Err(e) => return error_page(&c, e),
    };
    let mut ev = app.event(&s.actor, AuditAction::AuditVerify, "audit", "");
    ev.outcome = if result.0 { "ok".into() } else { "failed".into() };
    if let Err(e) = app.audit(vec![ev]).await {
        return error_page(&c, e);
    }
    if let Ok(mut slot) = last.0.lock() {
        *slot = Some((app.now(), result.0, result.1));
    }
    axum::response::Redirect::to("/audit").into_response()
}

async fn privacy(State(app): State<Arc<App>>, s: Signed) -> Response {
    let c = ctx(&s);
    if let Err(e) = app.authorize_system(&s.actor, PolicyAction::Gdpr) {
        return error_page(&c, e);
    }
    let registers = match registers(&app, &s, &c).await {
        Ok(m) => m,
        Err(e) => return error_page(&c, e),
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Privacy), html! { (find_form(&c, "")) (registers) }))
}

/// The dpo's registers at a glance: open requests with their deadlines, breaches with theirs,
/// and the processors with whether data may go to them now.
async fn registers(app: &App, s: &Signed, c: &Ctx<'_>) -> Result<Markup, CoreError> {
    let requests = app.dsr_list(&s.actor, Some("open")).await?;
    let breaches = app.breaches(&s.actor).await?;
    let processors = app.processors(&s.actor).await?;
    Ok(html! {
        section aria-labelledby="pv-requests" {
            h2 id="pv-requests" { (c.t(M::PrivacyRequests)) }
            @if requests.is_empty() { p { (c.t(M::NoRecords)) } } @else {
                table {
                    thead { tr { th scope="col" { (c.t(M::Kind)) } th scope="col" { (c.t(M::Created)) } th scope="col" { (c.t(M::Due)) } th scope="col" { (c.t(M::Record)) } th scope="col" { (c.t(M::Actions)) } } }
                    tbody { @for r in &requests { tr {
                        td { (r.kind) }
                        td { (r.received_at) }
                        td { (r.due_at) @if r.overdue { " " strong class="warn" { (c.t(M::Overdue)) } } }
                        td { (r.person_id.as_deref().unwrap_or("-")) }
                        td { (crate::privacy::close_request_form(c, r.id)) }
                    } } }
                }
            }
        }
        section aria-labelledby="pv-breaches" {
            h2 id="pv-breaches" { (c.t(M::PrivacyBreaches)) }
            @if breaches.is_empty() { p { (c.t(M::NoRecords)) } } @else {
                table {
                    thead { tr { th scope="col" { (c.t(M::Title)) } th scope="col" { (c.t(M::Detected)) } th scope="col" { (c.t(M::NotifyBy)) } th scope="col" { (c.t(M::AuthorityNotified)) } } }
                    tbody { @for b in &breaches { tr {
                        td { (b.breach.title) }
                        td { (b.breach.detected_at) }
                        td { (b.deadline) @if b.overdue { " " strong class="warn" { (c.t(M::Overdue)) } } }
                        td {
                            @match &b.breach.authority_notified_at {
                                Some(at) => { (at) }
                                None => { (c.t(M::NotYet)) " " (crate::privacy::breach_notified_form(c, &b.breach.id)) }
                            }
                        }
                    } } }
                }
            }
        }
        section aria-labelledby="pv-processors" {
            h2 id="pv-processors" { (c.t(M::PrivacyProcessors)) }
            @if processors.is_empty() { p { (c.t(M::NoRecords)) } } @else {
                table {
                    thead { tr { th scope="col" { (c.t(M::Name)) } th scope="col" { (c.t(M::Service)) } th scope="col" { (c.t(M::DataCategories)) } th scope="col" { (c.t(M::Country)) } th scope="col" { (c.t(M::NextReview)) } th scope="col" { (c.t(M::Status)) } } }
                    tbody { @for p in &processors { tr {
                        td { (p.processor.name) }
                        td { (p.processor.service) }
                        td { (p.processor.categories.join(", ")) }
                        td { (p.processor.country) }
                        td { (p.processor.next_review_due) @if p.review_overdue { " " strong class="warn" { (c.t(M::Overdue)) } } }
                        td { (p.blocked.as_deref().unwrap_or(c.t(M::MayReceive))) }
                    } } }
                }
            }
        }
        (crate::privacy::register_forms(c))
    })
}

fn find_form(c: &Ctx<'_>, email: &str) -> Markup {
    html! {
        p { (c.t(M::PrivacyIntro)) }
        form method="post" action="/privacy" class="search" role="search" {
            (csrf_field(c.csrf))
            label for="pv-email" { (c.t(M::Email)) }
            input id="pv-email" name="email" type="email" value=(email) autocomplete="off";
            button type="submit" { (c.t(M::Search)) }
        }
    }
}

#[derive(Deserialize)]
pub struct FindForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn privacy_find(State(app): State<Arc<App>>, s: Signed, Form(f): Form<FindForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    if let Err(e) = app.authorize_system(&s.actor, PolicyAction::Gdpr) {
        return error_page(&c, e);
    }
    let criteria = sejf_core::people::SearchCriteria { email: Some(f.email.trim().to_string()), limit: Some(20), ..Default::default() };
    let found = match app.search_people(&s.actor, &criteria).await {
        Ok(p) => p.items,
        Err(CoreError::Validation(_)) => Vec::new(),
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        (find_form(&c, &f.email))
        @if found.is_empty() { p { (c.t(M::NoRecords)) } }
        @for p in &found {
            form method="post" action="/privacy/export" class="card" {
                (csrf_field(c.csrf))
                input type="hidden" name="person_id" value=(p.id);
                p { strong { (p.fields.first_name.clone().unwrap_or_default()) " " (p.fields.last_name.clone().unwrap_or_default()) } " · " (p.unit) }
                button type="submit" class="primary" { (c.t(M::ExportData)) }
            }
            (crate::privacy::person_forms(&c, p.id))
            form method="post" action="/privacy/erase" class="card" {
                (csrf_field(c.csrf))
                input type="hidden" name="person_id" value=(p.id);
                label for={"er-reason-" (p.id)} { (c.t(M::EraseReason)) }
                input id={"er-reason-" (p.id)} name="reason" type="text" required maxlength="500" autocomplete="off";
                label { input type="checkbox" name="confirm" value="yes" required; " " (c.t(M::EraseConfirm)) }
                button type="submit" class="danger" { (c.t(M::EraseData)) }
            }
        }
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Privacy), body))
}

#[derive(Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person_id: String,
}

/// A data-subject access export: everything Sejf holds about the person, as JSON to save
/// (the same bundle as `GET /api/v1/people/{id}/export`; policy and audit in core).
async fn export(State(app): State<Arc<App>>, s: Signed, Form(f): Form<ExportForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let built = async {
        let id = parse_id(&f.person_id)?;
        let bundle = app.subject_export(&s.actor, id).await?;
        serde_json::to_vec_pretty(&bundle).map_err(|e| CoreError::Internal(e.to_string())).map(|b| (id, b))
    }
    .await;
    match built {
        Ok((id, bytes)) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"sejf-subject-{id}.json\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(e) => error_page(&c, e),
    }
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// Erasure by crypto-shredding (GDPR art. 17), confirmed in the form: the same use case as
/// `POST /api/v1/people/{id}/erase`; shows the signed receipt to keep.
async fn erase(State(app): State<Arc<App>>, s: Signed, Form(f): Form<EraseForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let done = async {
        let id = parse_id(&f.person_id)?;
        if f.confirm != "yes" {
            return Err(CoreError::from(sejf_domain::ValidationErrors::single("confirm", "tick the box to confirm the erasure")));
        }
        app.erase_person(&s.actor, id, &f.reason).await
    }
    .await;
    match done {
        Ok(r) => {
            let body = html! {
                p role="status" { (c.t(M::Erased)) }
                pre { (r.receipt) }
                p { "signature: " code { (r.signature) } }
                p { a href="/privacy" { (c.t(M::Back)) } }
            };
            html_response(StatusCode::OK, page(&c, c.t(M::Privacy), body))
        }
        Err(e) => error_page(&c, e),
    }
}
