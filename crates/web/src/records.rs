//! Companies, deals and activities: lists with cursor paging and filters, company search by
//! name or NIP, create forms with inline validation, detail pages with the record's timeline,
//! the pipeline board (stage columns with totals; a deal moves by button, or by drag with JS),
//! a person's timeline, and "my tasks" (open tasks due today or overdue).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use sejf_core::ports::LinkFilter;
use sejf_core::records::{
    Activity, ActivityAttrs, ActivityPayload, Company, CompanyPayload, Deal, DealAttrs, DealPayload, Links, NoAttrs, RecordFilter,
    RecordView,
};
use sejf_core::{Actor, App, CoreError};
use sejf_domain::records::{ActivityRaw, CompanyRaw, DealRaw};
use serde::Deserialize;
use uuid::Uuid;

use crate::Form;
use crate::i18n::{Lang, M, reason};
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page, html_response, page};
use crate::people::parse_id;
use crate::session::Signed;

mod edit;

type CompanyView = RecordView<NoAttrs, CompanyPayload>;
type DealView = RecordView<DealAttrs, DealPayload>;
type ActivityView = RecordView<ActivityAttrs, ActivityPayload>;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/companies", get(companies).post(create_company))
        .route("/companies/new", get(new_company))
        .route("/companies/search", post(search_companies))
        .route("/companies/{id}", get(company))
        .route("/deals", get(board).post(create_deal))
        .route("/deals/{id}/move", post(move_deal))
        .route("/activities", get(activities).post(create_activity))
        .route("/activities/{id}/done", post(finish_activity))
        .route("/tasks", get(my_tasks))
        .route("/companies/{id}/edit", get(edit::edit_company_form).post(edit::edit_company))
        .route("/deals/{id}/edit", get(edit::edit_deal_form).post(edit::edit_deal))
        .route("/activities/{id}/edit", get(edit::edit_activity_form).post(edit::edit_activity))
        .route("/companies/{id}/delete", get(edit::delete_form::<Company>).post(edit::delete::<Company>))
        .route("/deals/{id}/delete", get(edit::delete_form::<Deal>).post(edit::delete::<Deal>))
        .route("/activities/{id}/delete", get(edit::delete_form::<Activity>).post(edit::delete::<Activity>))
}

fn ctx(s: &Signed) -> Ctx<'_> {
    Ctx { lang: s.lang, csrf: &s.csrf, actor: Some(&s.actor), admin: false }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    unit: Option<String>,
    mine: Option<String>,
    cursor: Option<String>,
}

fn blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn filter(s: &Signed, q: &ListQuery, links: LinkFilter, limit: u32) -> RecordFilter {
    RecordFilter {
        owner: q.mine.is_some().then_some(s.actor.user_id),
        unit: blank(q.unit.as_deref()),
        links,
        cursor: blank(q.cursor.as_deref()),
        limit: Some(limit),
    }
}

fn filters_form(c: &Ctx<'_>, action: &str, q: &ListQuery) -> Markup {
    html! {
        form method="get" action=(action) class="filters" {
            label for="f-unit" { (c.t(M::Unit)) }
            input id="f-unit" name="unit" value=(q.unit.clone().unwrap_or_default());
            label class="check" { input type="checkbox" name="mine" value="1" checked[q.mine.is_some()]; " " (c.t(M::OnlyMine)) }
            button type="submit" { (c.t(M::Filter)) }
        }
    }
}

fn next_link(base: &str, q: &ListQuery, cursor: Option<String>) -> Markup {
    let Some(cursor) = cursor else { return html! {} };
    let mut href = format!("{base}?cursor={cursor}");
    if let Some(u) = blank(q.unit.as_deref()) {
        href.push_str(&format!("&unit={}", crate::people::encode(&u)));
    }
    if q.mine.is_some() {
        href.push_str("&mine=1");
    }
    html! { p { a href=(href) rel="next" { "→" } } }
}

/// Where a record form posts: the kind's list (create) or the record's edit path.
fn form_action(kind: &str, id: &str) -> String {
    if id.is_empty() { format!("/{kind}") } else { format!("/{kind}/{id}/edit") }
}

fn version_field(version: &str) -> Markup {
    html! { @if !version.is_empty() { input type="hidden" name="version" value=(version); } }
}

/// Edit and delete links for a record's row or page.
fn record_actions(c: &Ctx<'_>, kind: &str, id: Uuid) -> Markup {
    html! {
        a href={ "/" (kind) "/" (id) "/edit" } { (c.t(M::Edit)) } " · "
        a href={ "/" (kind) "/" (id) "/delete" } { (c.t(M::Delete)) }
    }
}

fn errors_of(lang: Lang, e: sejf_domain::ValidationErrors) -> Vec<(String, String)> {
    e.0.into_iter().map(|e| (e.field, reason(lang, &e.reason))).collect()
}

/// A field of a class the user may not read, on an edit form: named and marked masked, never
/// offered as an input (saving keeps its stored value: `App::edit_record`).
fn masked_field(c: &Ctx<'_>, name: &str, label: M) -> Markup {
    let id = format!("r-{name}");
    html! {
        label for=(id) { (c.t(label)) }
        p id=(id) class="hint" { span class="badge" { (c.t(M::Masked)) } " " (c.t(M::MaskedKept)) }
    }
}

/// A labelled input with its inline error, if any.
fn field(c: &Ctx<'_>, name: &str, label: M, value: &str, ty: &str, errors: &[(String, String)]) -> Markup {
    let id = format!("r-{name}");
    let err: Vec<&str> = errors.iter().filter(|(f, _)| f == name).map(|(_, r)| r.as_str()).collect();
    let err_id = format!("{id}-error");
    html! {
        label for=(id) { (c.t(label)) }
        @if err.is_empty() {
            input id=(id) name=(name) type=(ty) value=(value);
        } @else {
            input id=(id) name=(name) type=(ty) value=(value) aria-invalid="true" aria-describedby=(err_id);
            p id=(err_id) class="field-error" { @for r in &err { (r) " " } }
        }
    }
}

// ---- companies ----

async fn companies(State(app): State<Arc<App>>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let c = ctx(&s);
    let got = match app.list_records::<Company>(&s.actor, &filter(&s, &q, LinkFilter::default(), 50)).await {
        Ok(p) => p,
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        p { a class="button primary" href="/companies/new" { (c.t(M::NewCompany)) } }
        div class="tools" { (filters_form(&c, "/companies", &q)) (company_search_form(&c, "")) }
        (companies_table(&c, &got.items))
        (next_link("/companies", &q, got.next_cursor))
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Companies), body))
}

fn company_search_form(c: &Ctx<'_>, value: &str) -> Markup {
    html! {
        form method="post" action="/companies/search" class="search" role="search" {
            (csrf_field(c.csrf))
            label for="cs-q" { (c.t(M::CompanySearch)) }
            input id="cs-q" name="q" value=(value);
            button type="submit" { (c.t(M::Search)) }
        }
    }
}

fn companies_table(c: &Ctx<'_>, items: &[CompanyView]) -> Markup {
    html! {
        @if items.is_empty() { p { (c.t(M::NoRecords)) } } @else {
            table {
                thead { tr { th scope="col" { (c.t(M::Name)) } th scope="col" { (c.t(M::VatId)) } th scope="col" { (c.t(M::Website)) } th scope="col" { (c.t(M::Unit)) } } }
                tbody { @for co in items { tr {
                    td { a href={ "/companies/" (co.id) } { (co.payload.name) } }
                    td { (co.payload.vat_id.clone().unwrap_or_default()) }
                    td { (co.payload.website.clone().unwrap_or_default()) }
                    td { (co.unit) }
                } } }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CompanySearch {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    q: String,
}

/// Companies by part of the name or by NIP (`App::search_companies`: names are encrypted, so they
/// are matched after decryption over the companies the user may see).
async fn search_companies(State(app): State<Arc<App>>, s: Signed, Form(f): Form<CompanySearch>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let found = match app.search_companies(&s.actor, &f.q).await {
        Ok(f) => f,
        Err(CoreError::Validation(_)) => Vec::new(),
        Err(e) => return error_page(&c, e),
    };
    let body = html! { (company_search_form(&c, &f.q)) (companies_table(&c, &found)) };
    html_response(StatusCode::OK, page(&c, c.t(M::SearchResults), body))
}

#[derive(Deserialize, Default)]
pub struct CompanyForm {
    #[serde(default)]
    csrf: String,
    /// The record being edited (empty: a new one); the form posts to its edit path.
    #[serde(skip)]
    id: String,
    /// The version the edit form showed: a record changed meanwhile is a 409, not overwritten.
    #[serde(default)]
    version: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    vat_id: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    unit: String,
    /// Fields of an edited record the user may not read: not offered.
    #[serde(skip)]
    masked: Vec<&'static str>,
}

fn company_form(c: &Ctx<'_>, f: &CompanyForm, errors: &[(String, String)]) -> Markup {
    let text = |name: &'static str, label: M, value: &str| {
        if f.masked.contains(&name) { masked_field(c, name, label) } else { field(c, name, label, value, "text", errors) }
    };
    html! {
        @if !errors.is_empty() { p class="alert" role="alert" { (c.t(M::FixErrors)) } }
        form method="post" action=(form_action("companies", &f.id)) class="card" novalidate {
            (csrf_field(c.csrf))
            (version_field(&f.version))
            (text("name", M::Name, &f.name))
            (text("vat_id", M::VatId, &f.vat_id))
            (text("website", M::Website, &f.website))
            (field(c, "unit", M::Unit, &f.unit, "text", errors))
            button type="submit" class="primary" { (c.t(M::Save)) }
        }
    }
}

async fn new_company(s: Signed) -> Response {
    let c = ctx(&s);
    html_response(StatusCode::OK, page(&c, c.t(M::NewCompany), company_form(&c, &CompanyForm::default(), &[])))
}

async fn create_company(State(app): State<Arc<App>>, s: Signed, Form(f): Form<CompanyForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let raw = CompanyRaw { name: blank(Some(&f.name)), vat_id: blank(Some(&f.vat_id)), website: blank(Some(&f.website)) };
    let links = Links { unit: blank(Some(&f.unit)), ..Default::default() };
    match app.create_record::<Company>(&s.actor, &raw, &links).await {
        Ok(v) => Redirect::to(&format!("/companies/{}", v.id)).into_response(),
        Err(CoreError::Validation(v)) => {
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::NewCompany), company_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

async fn company(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let got = async {
        let id = parse_id(&id)?;
        let co = app.record::<Company>(&s.actor, id).await?;
        let deals = linked_deals(&app, &s.actor, LinkFilter { company: Some(id), ..Default::default() }).await?;
        Ok::<_, CoreError>((co, deals))
    }
    .await;
    let (co, deals) = match got {
        Ok(x) => x,
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        dl class="fields" {
            dt { (c.t(M::VatId)) } dd { (co.payload.vat_id.clone().unwrap_or_default()) }
            dt { (c.t(M::Website)) } dd { (co.payload.website.clone().unwrap_or_default()) }
            dt { (c.t(M::Unit)) } dd { (co.unit) }
            dt { (c.t(M::Created)) } dd { (c.lang.datetime(co.created_at)) }
        }
        p { (record_actions(&c, "companies", co.id)) }
        h2 { (c.t(M::Timeline)) }
        (deals_table(&c, &deals))
        (deal_form(&c, &DealForm { company_id: co.id.to_string(), ..Default::default() }, &[]))
    };
    html_response(StatusCode::OK, page(&c, &co.payload.name, body))
}

async fn linked_deals(app: &App, actor: &Actor, links: LinkFilter) -> Result<Vec<DealView>, CoreError> {
    Ok(app.list_records::<Deal>(actor, &RecordFilter { links, limit: Some(100), ..Default::default() }).await?.items)
}

async fn linked_activities(app: &App, actor: &Actor, links: LinkFilter) -> Result<Vec<ActivityView>, CoreError> {
    Ok(app.list_records::<Activity>(actor, &RecordFilter { links, limit: Some(100), ..Default::default() }).await?.items)
}

// ---- deals ----

fn amount(c: &Ctx<'_>, d: &DealView) -> String {
    match &d.attrs.amount {
        Some(a) => c.lang.money(a, d.attrs.currency.as_deref().unwrap_or("PLN")),
        None => "—".into(),
    }
}

fn deals_table(c: &Ctx<'_>, deals: &[DealView]) -> Markup {
    html! {
        @if deals.is_empty() { p { (c.t(M::NoRecords)) } } @else {
            table {
                thead { tr { th scope="col" { (c.t(M::Title)) } th scope="col" { (c.t(M::Stage)) } th scope="col" { (c.t(M::Amount)) } th scope="col" { (c.t(M::ExpectedClose)) } } }
                tbody { @for d in deals { tr {
                    td { (title(c, d)) }
                    td { (d.attrs.stage) }
                    td { (amount(c, d)) }
                    td { (d.attrs.expected_close.as_deref().map(|x| c.lang.date(x)).unwrap_or_default()) }
                } } }
            }
        }
    }
}

fn title(c: &Ctx<'_>, d: &DealView) -> Markup {
    html! { @match &d.payload.title { Some(t) => { (t) } None => { span class="badge" { (c.t(M::Masked)) } } } }
}

/// Sums of decimal amounts with at most two fraction digits, in hundredths, per currency.
fn total(deals: &[&DealView]) -> Vec<(String, i64)> {
    let mut sums: Vec<(String, i64)> = Vec::new();
    for d in deals {
        let Some(a) = &d.attrs.amount else { continue };
        let (int, frac) = a.split_once('.').unwrap_or((a, "0"));
        let minor = int.parse::<i64>().unwrap_or(0) * 100 + format!("{frac:0<2}").get(..2).and_then(|f| f.parse::<i64>().ok()).unwrap_or(0);
        let cur = d.attrs.currency.clone().unwrap_or_else(|| "PLN".into());
        match sums.iter_mut().find(|(c, _)| *c == cur) {
            Some((_, s)) => *s += minor,
            None => sums.push((cur, minor)),
        }
    }
    sums
}

/// The pipeline: one column per stage with its deals and their total; each card has a button
/// per other stage (and JS lets a card be dragged onto a column, submitting the same form).
async fn board(State(app): State<Arc<App>>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let c = ctx(&s);
    let stages = app.settings().pipeline.stages().to_vec();
    let mut columns = Vec::new();
    for stage in &stages {
        let links = LinkFilter { stage: Some(stage.clone()), ..Default::default() };
        match app.list_records::<Deal>(&s.actor, &filter(&s, &q, links, 50)).await {
            Ok(p) => columns.push((stage.clone(), p.items, p.next_cursor.is_some())),
            Err(e) => return error_page(&c, e),
        }
    }
    let body = html! {
        (filters_form(&c, "/deals", &q))
        div class="board" {
            @for (stage, deals, more) in &columns {
                section data-stage=(stage) aria-labelledby={ "stage-" (stage) } {
                    h2 id={ "stage-" (stage) } { (stage) }
                    p class="total" {
                        (c.t(M::Total)) ": "
                        @for (cur, minor) in total(&deals.iter().collect::<Vec<_>>()) {
                            (c.lang.money(&format!("{}.{:02}", minor / 100, minor % 100), &cur)) " "
                        }
                        @if *more { "(" (c.t(M::FirstFifty)) ")" }
                    }
                    @for d in deals {
                        article data-deal=(d.id) {
                            strong { (title(&c, d)) } br;
                            (amount(&c, d)) br;
                            (record_actions(&c, "deals", d.id))
                            @for to in stages.iter().filter(|t| *t != stage) {
                                form method="post" action={ "/deals/" (d.id) "/move" } data-move=(d.id) data-to=(to) class="inline" {
                                    (csrf_field(c.csrf))
                                    input type="hidden" name="stage" value=(to);
                                    input type="hidden" name="version" value=(d.version);
                                    button type="submit" aria-label={ (c.t(M::MoveTo)) " " (to) } { "→ " (to) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (c.t(M::NewDeal)) }
        (deal_form(&c, &DealForm::default(), &[]))
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Deals), body))
}

#[derive(Deserialize, Default)]
pub struct DealForm {
    /// The pipeline's stages, for the edit form's stage choice.
    #[serde(skip)]
    stages: Vec<String>,
    #[serde(default)]
    csrf: String,
    /// The record being edited (empty: a new one); the form posts to its edit path.
    #[serde(skip)]
    id: String,
    /// The version the edit form showed: a record changed meanwhile is a 409, not overwritten.
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    expected_close: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    company_id: String,
    /// Fields of an edited record the user may not read: not offered.
    #[serde(skip)]
    masked: Vec<&'static str>,
}

fn deal_form(c: &Ctx<'_>, f: &DealForm, errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() { p class="alert" role="alert" { (c.t(M::FixErrors)) } }
        form method="post" action=(form_action("deals", &f.id)) class="card" novalidate {
            (csrf_field(c.csrf))
            (version_field(&f.version))
            input type="hidden" name="person_id" value=(f.person_id);
            input type="hidden" name="company_id" value=(f.company_id);
            @if f.masked.contains(&"title") {
                (masked_field(c, "title", M::Title))
            } @else {
                (field(c, "title", M::Title, &f.title, "text", errors))
            }
            (field(c, "amount", M::Amount, &f.amount, "text", errors))
            @if !f.id.is_empty() {
                label for="r-stage" { (c.t(M::Stage)) }
                select id="r-stage" name="stage" {
                    @for st in &f.stages { option value=(st) selected[&f.stage == st] { (st) } }
                }
            }
            (field(c, "expected_close", M::ExpectedClose, &f.expected_close, "date", errors))
            button type="submit" class="primary" { (c.t(if f.id.is_empty() { M::NewDeal } else { M::Save })) }
        }
    }
}

fn uuid_opt(v: &str) -> Option<Uuid> {
    Uuid::parse_str(v.trim()).ok()
}

async fn create_deal(State(app): State<Arc<App>>, s: Signed, Form(f): Form<DealForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let raw = DealRaw {
        title: blank(Some(&f.title)),
        amount: blank(Some(&f.amount)).map(|a| a.replace([' ', '\u{a0}'], "").replace(',', ".")),
        currency: None,
        stage: blank(Some(&f.stage)),
        expected_close: blank(Some(&f.expected_close)),
    };
    let (person, company) = (uuid_opt(&f.person_id), uuid_opt(&f.company_id));
    let links = Links { person_id: person, company_id: company, ..Default::default() };
    match app.create_record::<Deal>(&s.actor, &raw, &links).await {
        Ok(_) => Redirect::to(&back_to(person, company, "/deals")).into_response(),
        Err(CoreError::Validation(v)) => {
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::NewDeal), deal_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

fn back_to(person: Option<Uuid>, company: Option<Uuid>, default: &str) -> String {
    match (person, company) {
        (Some(p), _) => format!("/people/{p}"),
        (None, Some(co)) => format!("/companies/{co}"),
        _ => default.to_string(),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    version: String,
}

/// Moves a deal to another stage: the stored deal with only its stage changed, over the version
/// the board showed (a deal changed meanwhile is a conflict, not overwritten).
async fn move_deal(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<MoveForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let moved = async {
        let id = parse_id(&id)?;
        app.patch_record::<Deal, CoreError>(&s.actor, id, f.version.trim().parse().ok(), |d| {
            let raw = DealRaw {
                title: d.payload.title.clone(),
                amount: d.attrs.amount.clone(),
                currency: d.attrs.currency.clone(),
                stage: Some(f.stage.trim().to_string()),
                expected_close: d.attrs.expected_close.clone(),
            };
            let links = Links {
                owner_id: Some(d.owner_id),
                unit: Some(d.unit.clone()),
                person_id: d.person_id,
                company_id: d.company_id,
                deal_id: None,
            };
            Ok((raw, links))
        })
        .await
    }
    .await;
    match moved {
        Ok(_) => Redirect::to("/deals").into_response(),
        Err(e) => error_page(&c, e),
    }
}

// ---- activities ----

fn activities_table(c: &Ctx<'_>, items: &[ActivityView], done_buttons: bool) -> Markup {
    html! {
        @if items.is_empty() { p { (c.t(M::NoRecords)) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t(M::Kind)) } th scope="col" { (c.t(M::Body)) } th scope="col" { (c.t(M::Due)) }
                    th scope="col" { (c.t(M::Created)) } th scope="col" { (c.t(M::Done)) } th scope="col" { (c.t(M::Actions)) }
                } }
                tbody { @for a in items { tr {
                    td { (kind_label(c, &a.attrs.kind)) }
                    td { @match &a.payload.body { Some(b) => { (b) } None => { span class="badge" { (c.t(M::Masked)) } } } }
                    td { (a.attrs.due_at.as_deref().map(|d| due_label(c.lang, d)).unwrap_or_default()) }
                    td { (c.lang.datetime(a.created_at)) }
                    td {
                        @if a.attrs.done { "✓" } @else if done_buttons {
                            form method="post" action={ "/activities/" (a.id) "/done" } class="inline" {
                                (csrf_field(c.csrf))
                                input type="hidden" name="version" value=(a.version);
                                button type="submit" { (c.t(M::MarkDone)) }
                            }
                        }
                    }
                    td { (record_actions(c, "activities", a.id)) }
                } } }
            }
        }
    }
}

fn due_label(lang: Lang, rfc3339: &str) -> String {
    match time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
        Ok(t) => lang.datetime((t.unix_timestamp_nanos() / 1000) as i64),
        Err(_) => rfc3339.to_string(),
    }
}

fn kind_label(c: &Ctx<'_>, kind: &str) -> &'static str {
    c.t(match kind {
        "call" => M::KindCall,
        "email" => M::KindEmail,
        "meeting" => M::KindMeeting,
        "task" => M::KindTask,
        _ => M::KindNote,
    })
}

async fn activities(State(app): State<Arc<App>>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let c = ctx(&s);
    let got = match app.list_records::<Activity>(&s.actor, &filter(&s, &q, LinkFilter::default(), 50)).await {
        Ok(p) => p,
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        (filters_form(&c, "/activities", &q))
        (activities_table(&c, &got.items, true))
        (next_link("/activities", &q, got.next_cursor))
        h2 { (c.t(M::NewActivity)) }
        (activity_form(&c, &ActivityForm::default(), &[]))
    };
    html_response(StatusCode::OK, page(&c, c.t(M::Activities), body))
}

#[derive(Deserialize, Default)]
pub struct ActivityForm {
    #[serde(default)]
    csrf: String,
    /// The record being edited (empty: a new one); the form posts to its edit path.
    #[serde(skip)]
    id: String,
    /// The version the edit form showed: a record changed meanwhile is a 409, not overwritten.
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    due_at: String,
    #[serde(default)]
    person_id: String,
    /// Fields of an edited record the user may not read: not offered.
    #[serde(skip)]
    masked: Vec<&'static str>,
}

pub fn activity_form(c: &Ctx<'_>, f: &ActivityForm, errors: &[(String, String)]) -> Markup {
    let kinds = [("call", M::KindCall), ("note", M::KindNote), ("email", M::KindEmail), ("meeting", M::KindMeeting), ("task", M::KindTask)];
    html! {
        @if !errors.is_empty() { p class="alert" role="alert" { (c.t(M::FixErrors)) } }
        form method="post" action=(form_action("activities", &f.id)) class="card" novalidate {
            (csrf_field(c.csrf))
            (version_field(&f.version))
            input type="hidden" name="person_id" value=(f.person_id);
            label for="a-kind" { (c.t(M::Kind)) }
            select id="a-kind" name="kind" {
                @for (k, m) in kinds { option value=(k) selected[f.kind == k] { (c.t(m)) } }
            }
            @if f.masked.contains(&"body") {
                (masked_field(c, "body", M::Body))
            } @else {
                label for="a-body" { (c.t(M::Body)) }
                textarea id="a-body" name="body" rows="3" { (f.body) }
            }
            (field(c, "due_at", M::Due, &f.due_at, "datetime-local", errors))
            button type="submit" class="primary" { (c.t(if f.id.is_empty() { M::AddActivity } else { M::Save })) }
        }
    }
}

impl ActivityForm {
    pub fn for_person(id: Uuid) -> Self {
        Self { person_id: id.to_string(), ..Self::default() }
    }
}

/// `2026-12-04T10:30` (a datetime-local input, taken as UTC) to RFC 3339; anything else as given.
fn due(v: &str) -> Option<String> {
    let v = v.trim();
    match v.len() {
        0 => None,
        16 => Some(format!("{v}:00Z")),
        10 => Some(format!("{v}T23:59:00Z")),
        _ => Some(v.to_string()),
    }
}

async fn create_activity(State(app): State<Arc<App>>, s: Signed, Form(f): Form<ActivityForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let raw = ActivityRaw { kind: blank(Some(&f.kind)), body: blank(Some(&f.body)), due_at: due(&f.due_at), done: Some(false) };
    let person = uuid_opt(&f.person_id);
    let links = Links { person_id: person, ..Default::default() };
    match app.create_record::<Activity>(&s.actor, &raw, &links).await {
        Ok(_) => Redirect::to(&back_to(person, None, "/activities")).into_response(),
        Err(CoreError::Validation(v)) => {
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::NewActivity), activity_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
}

async fn finish_activity(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<DoneForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let done = async {
        let id = parse_id(&id)?;
        app.patch_record::<Activity, CoreError>(&s.actor, id, f.version.trim().parse().ok(), |a| {
            let raw = ActivityRaw {
                kind: Some(a.attrs.kind.clone()),
                body: a.payload.body.clone(),
                due_at: a.attrs.due_at.clone(),
                done: Some(true),
            };
            let links = Links {
                owner_id: Some(a.owner_id),
                unit: Some(a.unit.clone()),
                person_id: a.person_id,
                company_id: None,
                deal_id: a.deal_id,
            };
            Ok((raw, links))
        })
        .await
    }
    .await;
    match done {
        Ok(a) => Redirect::to(&back_to(a.person_id, None, "/tasks")).into_response(),
        Err(e) => error_page(&c, e),
    }
}

/// Most of a user's own activities "my tasks" looks through.
const TASK_SCAN: usize = 2_000;

/// Open tasks owned by the user, due by the end of today (UTC): overdue first.
async fn my_tasks(State(app): State<Arc<App>>, s: Signed) -> Response {
    let c = ctx(&s);
    let now = app.now();
    let end_of_day = now - now.rem_euclid(86_400_000_000) + 86_400_000_000;
    let mut due_now = Vec::new();
    let mut cursor = None;
    let mut seen = 0;
    while seen < TASK_SCAN {
        // Only tasks: the store narrows by kind, so calls and notes are never decrypted here.
        let links = LinkFilter { kind: Some("task".into()), ..Default::default() };
        let f = RecordFilter { owner: Some(s.actor.user_id), links, cursor: cursor.take(), limit: Some(200), ..Default::default() };
        let page = match app.list_records::<Activity>(&s.actor, &f).await {
            Ok(p) => p,
            Err(e) => return error_page(&c, e),
        };
        seen += page.items.len();
        for a in page.items {
            let due =
                a.attrs.due_at.as_deref().and_then(|d| time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok());
            if let Some(d) = due
                && a.attrs.kind == "task"
                && !a.attrs.done
                && ((d.unix_timestamp_nanos() / 1000) as i64) < end_of_day
            {
                due_now.push(((d.unix_timestamp_nanos() / 1000) as i64, a));
            }
        }
        match page.next_cursor {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    due_now.sort_by_key(|(d, _)| *d);
    let items: Vec<ActivityView> = due_now.into_iter().map(|(_, a)| a).collect();
    let body = html! { (activities_table(&c, &items, true)) };
    html_response(StatusCode::OK, page(&c, c.t(M::MyTasks), body))
}

/// A person's timeline: their deals and activities, newest first, and the form to add one.
pub async fn person_timeline(app: &App, actor: &Actor, c: &Ctx<'_>, person: Uuid) -> Result<Markup, CoreError> {
    let links = LinkFilter { person: Some(person), ..Default::default() };
    let mut acts = linked_activities(app, actor, links.clone()).await?;
    acts.reverse();
    let deals = linked_deals(app, actor, links).await?;
    Ok(html! {
        h2 { (c.t(M::Timeline)) }
        (activities_table(c, &acts, true))
        (activity_form(c, &ActivityForm::for_person(person), &[]))
        h2 { (c.t(M::Deals)) }
        (deals_table(c, &deals))
        (deal_form(c, &DealForm { person_id: person.to_string(), ..Default::default() }, &[]))
    })
}
