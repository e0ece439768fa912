//! `/people`: the list with cursor paging and filters, search (a POST: terms never travel in a
//! URL), the detail page with masked fields and reveal-for-a-purpose, create and edit forms
//! with inline validation messages, and delete with confirmation. The edit form never offers a
//! field of a class its user may not read, and saving it keeps that field's stored value
//! (`App::person_for_update`, `App::edit_person`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use sejf_core::people::{PeopleFilter, PersonInput, PersonView, SearchCriteria};
use sejf_core::{App, CoreError};
use sejf_domain::fields::PersonField;
use sejf_domain::people::{AddressRaw, PersonRaw};
use serde::Deserialize;
use uuid::Uuid;

use crate::Form;
use crate::i18n::{M, reason};
use crate::pages::{Ctx, csrf_field, csrf_refused, error_page, html_response, page};
use crate::session::Signed;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/new", get(new_form))
        .route("/people/search", post(search))
        .route("/people/{id}", get(detail))
        .route("/people/{id}/reveal", post(reveal))
        .route("/people/{id}/edit", get(edit_form).post(edit))
        .route("/people/{id}/delete", get(delete_form).post(delete))
}

fn ctx(s: &Signed) -> Ctx<'_> {
    Ctx { lang: s.lang, csrf: &s.csrf, actor: Some(&s.actor), admin: false }
}

/// A record id from the path; anything else is the same 404 as an unreadable record.
pub fn parse_id(raw: &str) -> Result<Uuid, CoreError> {
    Uuid::parse_str(raw).map_err(|_| CoreError::NotFound)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    unit: Option<String>,
    tag: Option<String>,
    mine: Option<String>,
    cursor: Option<String>,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

async fn list(State(app): State<Arc<App>>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let c = ctx(&s);
    let mine = q.mine.is_some();
    let filter = PeopleFilter {
        owner: mine.then_some(s.actor.user_id),
        unit: blank(&q.unit),
        tag: blank(&q.tag),
        cursor: blank(&q.cursor),
        limit: Some(50),
    };
    let got = match app.list_people(&s.actor, &filter).await {
        Ok(p) => p,
        Err(e) => return error_page(&c, e),
    };
    let next = got.next_cursor.map(|cur| {
        let mut qs = url_pairs(&[("unit", filter.unit.as_deref()), ("tag", filter.tag.as_deref())]);
        if mine {
            qs.push_str("&mine=1");
        }
        format!("/people?cursor={cur}{qs}")
    });
    let body = html! {
        p { a class="button primary" href="/people/new" { (c.t(M::NewPerson)) } }
        div class="tools" {
            form method="get" action="/people" class="filters" {
                label for="f-unit" { (c.t(M::Unit)) }
                input id="f-unit" name="unit" value=(filter.unit.clone().unwrap_or_default());
                label for="f-tag" { (c.t(M::Tag)) }
                input id="f-tag" name="tag" value=(filter.tag.clone().unwrap_or_default());
                label class="check" { input type="checkbox" name="mine" value="1" checked[mine]; " " (c.t(M::OnlyMine)) }
                button type="submit" { (c.t(M::Filter)) }
            }
            (search_form(&c, &SearchForm::default()))
        }
        (people_table(&c, &got.items))
        @if let Some(href) = next { p { a href=(href) rel="next" { (c.t(M::NextPage)) } } }
    };
    html_response(StatusCode::OK, page(&c, c.t(M::People), body))
}

/// `&k=v` pairs of the non-empty values, percent-encoded.
fn url_pairs(pairs: &[(&str, Option<&str>)]) -> String {
    pairs.iter().filter_map(|(k, v)| v.map(|v| format!("&{k}={}", encode(v)))).collect()
}

/// A value percent-encoded for a query string.
pub fn encode(v: &str) -> String {
    serde_urlencoded::to_string([("", v)]).unwrap_or_default().trim_start_matches('=').to_string()
}

#[derive(Deserialize, Default)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    national_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cursor: String,
}

fn search_form(c: &Ctx<'_>, f: &SearchForm) -> Markup {
    html! {
        form method="post" action="/people/search" class="search" role="search" {
            (csrf_field(c.csrf))
            p class="hint" { (c.t(M::SearchHint)) }
            label for="s-email" { (c.t(M::Email)) }
            input id="s-email" name="email" type="email" value=(f.email) autocomplete="off";
            label for="s-phone" { (c.t(M::Phone)) }
            input id="s-phone" name="phone" value=(f.phone) autocomplete="off";
            label for="s-nid" { (c.t(M::NationalId)) }
            input id="s-nid" name="national_id" value=(f.national_id) autocomplete="off" inputmode="numeric";
            label for="s-name" { (c.t(M::LastName)) }
            input id="s-name" name="name" value=(f.name) autocomplete="off";
            button type="submit" { (c.t(M::Search)) }
        }
    }
}

fn opt(v: &str) -> Option<String> {
    Some(v.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

async fn search(State(app): State<Arc<App>>, s: Signed, Form(f): Form<SearchForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let criteria = SearchCriteria {
        email: opt(&f.email),
        phone: opt(&f.phone),
        national_id: opt(&f.national_id),
        name: opt(&f.name),
        cursor: opt(&f.cursor),
        limit: Some(50),
    };
    let (items, next, errors) = match app.search_people(&s.actor, &criteria).await {
        Ok(p) => (p.items, p.next_cursor, Vec::new()),
        Err(CoreError::Validation(v)) => (Vec::new(), None, v.0),
        Err(e) => return error_page(&c, e),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = html! {
        @for e in &errors { p class="alert" role="alert" { (field_label(&c, &e.field)) ": " (reason(c.lang, &e.reason)) } }
        (search_form(&c, &f))
        (people_table(&c, &items))
        @if let Some(cur) = next {
            // The next page is asked for by POST too, so the terms stay out of the URL.
            form method="post" action="/people/search" {
                (csrf_field(c.csrf))
                input type="hidden" name="email" value=(f.email);
                input type="hidden" name="phone" value=(f.phone);
                input type="hidden" name="national_id" value=(f.national_id);
                input type="hidden" name="name" value=(f.name);
                input type="hidden" name="cursor" value=(cur);
                button type="submit" { (c.t(M::NextPage)) }
            }
        }
    };
    html_response(status, page(&c, c.t(M::SearchResults), body))
}

fn display_name(p: &PersonView) -> String {
    let f = &p.fields;
    let name = [f.first_name.as_deref(), f.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if name.is_empty() { p.id.to_string() } else { name }
}

fn people_table(c: &Ctx<'_>, items: &[PersonView]) -> Markup {
    html! {
        @if items.is_empty() {
            p { (c.t(M::NoRecords)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t(M::Name)) } th scope="col" { (c.t(M::Email)) } th scope="col" { (c.t(M::Phone)) }
                    th scope="col" { (c.t(M::NationalId)) } th scope="col" { (c.t(M::Unit)) } th scope="col" { (c.t(M::Tags)) }
                } }
                tbody {
                    @for p in items {
                        tr {
                            td { a href={ "/people/" (p.id) } { (display_name(p)) } }
                            td { (value(c, p, "email", p.fields.email.as_deref())) }
                            td { (value(c, p, "phone", p.fields.phone.as_deref())) }
                            td { (value(c, p, "national_id", p.fields.national_id.as_deref())) }
                            td { (p.unit) }
                            td { (p.tags.join(", ")) }
                        }
                    }
                }
            }
        }
    }
}

/// A field's value as shown: masked ones carry a visible, announced "masked" mark.
fn value(c: &Ctx<'_>, p: &PersonView, name: &str, v: Option<&str>) -> Markup {
    let masked = p.masked.contains(&name);
    html! {
        @match (v, masked) {
            (Some(v), true) => { span class="masked" { (v) } " " span class="badge" { (c.t(M::Masked)) } }
            (None, true) => { span class="badge" { (c.t(M::Masked)) } }
            (Some(v), false) => { (v) }
            (None, false) => { "—" }
        }
    }
}

async fn detail(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    match readable(&app, &s, &id).await {
        Ok(p) => person_page(&app, &s, &p, None, Vec::new(), false).await,
        Err(e) => error_page(&c, e),
    }
}

/// The person at a path id as this user may see them (an audited read).
async fn readable(app: &App, s: &Signed, id: &str) -> Result<PersonView, CoreError> {
    app.person(&s.actor, parse_id(id)?).await
}

/// A person's page: fields (masked ones marked), reveal form, actions, and their timeline.
async fn person_page(
    app: &App,
    s: &Signed,
    p: &PersonView,
    purpose: Option<&str>,
    errors: Vec<(String, String)>,
    revealed: bool,
) -> Response {
    let ctx = ctx(s);
    let c = &ctx;
    let timeline = match crate::records::person_timeline(app, &s.actor, c, p.id).await {
        Ok(t) => t,
        Err(e) => return error_page(c, e),
    };
    let f = &p.fields;
    let addr = f.address.as_ref().map(|a| {
        [a.street.as_deref(), a.postal_code.as_deref(), a.city.as_deref(), a.country.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let texts = f.to_texts();
    let rows = PersonField::ALL.map(|field| {
        let shown = match field {
            PersonField::Address => addr.clone(),
            PersonField::BirthDate => f.birth_date.as_deref().map(|d| c.lang.date(d)),
            _ => texts.get(field).clone(),
        };
        (person_field_label(field), field.name(), shown)
    });
    let body = html! {
        @if revealed { p class="notice" role="status" { (c.t(M::Revealed)) } }
        dl class="fields" {
            @for (label, name, v) in &rows {
                dt { (c.t(*label)) }
                dd { (value(c, p, name, v.as_deref())) }
            }
            dt { (c.t(M::Unit)) } dd { (p.unit) }
            dt { (c.t(M::Tags)) } dd { (p.tags.join(", ")) }
            dt { (c.t(M::Created)) } dd { (c.lang.datetime(p.created_at)) }
            dt { (c.t(M::Updated)) } dd { (c.lang.datetime(p.updated_at)) }
        }
        @if !p.masked.is_empty() {
            form method="post" action={ "/people/" (p.id) "/reveal" } class="card" {
                h2 { (c.t(M::Reveal)) }
                (csrf_field(c.csrf))
                fieldset {
                    legend { (c.t(M::RevealFields)) }
                    @for name in &p.masked {
                        label class="check" { input type="checkbox" name="fields" value=(name) checked; " " (field_label(c, name)) }
                    }
                }
                label for="purpose" { (c.t(M::Purpose)) }
                @if errors.is_empty() {
                    input id="purpose" name="purpose" required minlength="5" maxlength="500" value=(purpose.unwrap_or_default());
                } @else {
                    input id="purpose" name="purpose" required minlength="5" maxlength="500" value=(purpose.unwrap_or_default())
                        aria-invalid="true" aria-describedby="purpose-error";
                    p id="purpose-error" class="field-error" { @for (_, r) in &errors { (r) " " } }
                }
                button type="submit" { (c.t(M::RevealButton)) }
            }
        }
        p class="actions" {
            a class="button" href={ "/people/" (p.id) "/edit" } { (c.t(M::Edit)) }
            " "
            a class="button danger" href={ "/people/" (p.id) "/delete" } { (c.t(M::Delete)) }
        }
        (timeline)
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    html_response(status, page(c, &display_name(p), body))
}

/// The label of a person's field.
fn person_field_label(field: PersonField) -> M {
    match field {
        PersonField::FirstName => M::FirstName,
        PersonField::LastName => M::LastName,
        PersonField::Email => M::Email,
        PersonField::Phone => M::Phone,
        PersonField::NationalId => M::NationalId,
        PersonField::BirthDate => M::BirthDate,
        PersonField::Address => M::Street,
        PersonField::Notes => M::Notes,
    }
}

/// The label of a field name as the core names it (`address.city`, `national_id`, …).
pub fn field_label(c: &Ctx<'_>, field: &str) -> &'static str {
    if let Ok(person) = field.parse::<PersonField>() {
        return c.t(person_field_label(person));
    }
    let m = match field.trim_start_matches("address.") {
        "name" => M::LastName,
        "street" => M::Street,
        "city" => M::City,
        "postal_code" => M::PostalCode,
        "country" => M::Country,
        "unit" => M::Unit,
        "purpose" => M::Purpose,
        "fields" => M::RevealFields,
        f if f.starts_with("tags") => M::Tags,
        _ => M::Details,
    };
    c.t(m)
}

async fn reveal(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let c = ctx(&s);
    // `fields` repeats, which a struct cannot take from serde_urlencoded: read the pairs.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    if !s.csrf_ok(&get("csrf")) {
        return csrf_refused(&c);
    }
    let fields: Vec<String> = pairs.iter().filter(|(n, _)| n == "fields").map(|(_, v)| v.clone()).collect();
    let purpose = get("purpose");
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&c, e),
    };
    match app.reveal_person(&s.actor, id, &fields, &purpose).await {
        Ok(p) => person_page(&app, &s, &p, None, Vec::new(), true).await,
        Err(CoreError::Validation(v)) => match app.person(&s.actor, id).await {
            Ok(p) => {
                let errs = v.0.into_iter().map(|e| (e.field, reason(c.lang, &e.reason))).collect();
                person_page(&app, &s, &p, Some(&purpose), errs, false).await
            }
            Err(e) => error_page(&c, e),
        },
        Err(e) => error_page(&c, e),
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    national_id: Option<String>,
    birth_date: Option<String>,
    street: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    tags: Option<String>,
    notes: Option<String>,
    unit: Option<String>,
}

impl PersonForm {
    fn from_view(p: &PersonView) -> Self {
        let f = p.fields.clone();
        let a = f.address.unwrap_or_default();
        Self {
            version: p.version.to_string(),
            first_name: f.first_name,
            last_name: f.last_name,
            email: f.email,
            phone: f.phone,
            national_id: f.national_id,
            birth_date: f.birth_date,
            street: a.street,
            city: a.city,
            postal_code: a.postal_code,
            country: a.country,
            tags: Some(p.tags.join(", ")),
            notes: f.notes,
            unit: Some(p.unit.clone()),
            ..Self::default()
        }
    }

    /// The form's values over `base` (for an edit, the record as this user may see it): a field
    /// the form did not carry keeps `base`'s value. A field masked for the user is not offered,
    /// and whatever a post says of it, `App::edit_person` keeps its stored value.
    fn apply(&self, base: PersonRaw) -> PersonRaw {
        let keep = |form: &Option<String>, old: Option<String>| match form {
            Some(v) => Some(v.trim().to_string()).filter(|v| !v.is_empty()),
            None => old,
        };
        let a = base.address.unwrap_or_default();
        let address = AddressRaw {
            street: keep(&self.street, a.street),
            city: keep(&self.city, a.city),
            postal_code: keep(&self.postal_code, a.postal_code),
            country: keep(&self.country, a.country),
        };
        let empty = address.street.is_none() && address.city.is_none() && address.postal_code.is_none() && address.country.is_none();
        PersonRaw {
            first_name: keep(&self.first_name, base.first_name),
            last_name: keep(&self.last_name, base.last_name),
            email: keep(&self.email, base.email),
            phone: keep(&self.phone, base.phone),
            national_id: keep(&self.national_id, base.national_id),
            birth_date: keep(&self.birth_date, base.birth_date),
            address: (!empty).then_some(address),
            notes: keep(&self.notes, base.notes),
        }
    }

    fn tags(&self) -> Vec<String> {
        self.tags.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
    }
}

/// The create or edit form; `masked` fields are not offered (on an edit: every field of a class
/// the user may not read, held or not, from `App::person_for_update`).
fn person_form(c: &Ctx<'_>, action: &str, f: &PersonForm, masked: &[&str], errors: &[(String, String)]) -> Markup {
    let input = |name: &'static str, label: M, v: &Option<String>, ty: &'static str, auto: &'static str| -> Markup {
        let class_name = match name {
            "street" | "city" | "postal_code" | "country" => "address",
            other => other,
        };
        let err: Vec<&str> = errors
            .iter()
            .filter(|(field, _)| field.trim_start_matches("address.") == name || (name == "tags" && field.starts_with("tags")))
            .map(|(_, r)| r.as_str())
            .collect();
        let id = format!("p-{name}");
        let err_id = format!("{id}-error");
        html! {
            div class="field" {
                label for=(id) { (c.t(label)) }
                @if masked.contains(&class_name) {
                    p id=(id) class="hint" { span class="badge" { (c.t(M::Masked)) } " " (c.t(M::MaskedKept)) }
                } @else if name == "notes" {
                    textarea id=(id) name=(name) rows="4" { (v.clone().unwrap_or_default()) }
                } @else if err.is_empty() {
                    input id=(id) name=(name) type=(ty) autocomplete=(auto) value=(v.clone().unwrap_or_default());
                } @else {
                    input id=(id) name=(name) type=(ty) autocomplete=(auto) value=(v.clone().unwrap_or_default())
                        aria-invalid="true" aria-describedby=(err_id);
                    p id=(err_id) class="field-error" { @for r in &err { (r) " " } }
                }
            }
        }
    };
    html! {
        @if !errors.is_empty() { p class="alert" role="alert" { (c.t(M::FixErrors)) } }
        form method="post" action=(action) class="card" novalidate {
            (csrf_field(c.csrf))
            input type="hidden" name="version" value=(f.version);
            (input("first_name", M::FirstName, &f.first_name, "text", "off"))
            (input("last_name", M::LastName, &f.last_name, "text", "off"))
            (input("email", M::Email, &f.email, "email", "off"))
            (input("phone", M::Phone, &f.phone, "tel", "off"))
            (input("national_id", M::NationalId, &f.national_id, "text", "off"))
            (input("birth_date", M::BirthDate, &f.birth_date, "date", "off"))
            (input("street", M::Street, &f.street, "text", "off"))
            (input("postal_code", M::PostalCode, &f.postal_code, "text", "off"))
            (input("city", M::City, &f.city, "text", "off"))
            (input("country", M::Country, &f.country, "text", "off"))
            (input("tags", M::Tags, &f.tags, "text", "off"))
            (input("unit", M::Unit, &f.unit, "text", "off"))
            (input("notes", M::Notes, &f.notes, "text", "off"))
            button type="submit" class="primary" { (c.t(M::Save)) }
            " "
            a href="/people" { (c.t(M::Cancel)) }
        }
    }
}

async fn new_form(s: Signed) -> Response {
    let c = ctx(&s);
    html_response(StatusCode::OK, page(&c, c.t(M::NewPerson), person_form(&c, "/people", &PersonForm::default(), &[], &[])))
}

fn translated(c: &Ctx<'_>, e: sejf_domain::ValidationErrors) -> Vec<(String, String)> {
    e.0.into_iter().map(|e| (e.field, reason(c.lang, &e.reason))).collect()
}

async fn create(State(app): State<Arc<App>>, s: Signed, Form(f): Form<PersonForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let input =
        PersonInput { raw: f.apply(PersonRaw::default()), tags: f.tags(), unit: f.unit.as_deref().and_then(opt), ..Default::default() };
    match app.create_person(&s.actor, &input).await {
        Ok(p) => Redirect::to(&format!("/people/{}", p.id)).into_response(),
        Err(CoreError::Validation(v)) => html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&c, c.t(M::NewPerson), person_form(&c, "/people", &f, &[], &translated(&c, v))),
        ),
        Err(e) => error_page(&c, e),
    }
}

async fn edit_form(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let p = match async { app.person_for_update(&s.actor, parse_id(&id)?).await }.await {
        Ok(p) => p,
        Err(e) => return error_page(&c, e),
    };
    let action = format!("/people/{}/edit", p.id);
    html_response(StatusCode::OK, page(&c, c.t(M::EditPerson), person_form(&c, &action, &PersonForm::from_view(&p), &p.masked, &[])))
}

async fn edit(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<PersonForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    // What the form showed masked: the merge base names it, and a 422 shows it masked again.
    let mut masked = Vec::new();
    let result = async {
        let id = parse_id(&id)?;
        // The merge base is the record as this user may see it; `edit_person` then puts back
        // every field they may not read, whatever the form carried.
        let version = f.version.trim().parse::<i64>().ok();
        app.edit_person(&s.actor, id, version, |base| {
            masked.clone_from(&base.masked);
            Ok::<_, CoreError>(PersonInput {
                raw: f.apply(base.fields.clone()),
                tags: f.tags(),
                owner_id: Some(base.owner_id),
                unit: f.unit.as_deref().and_then(opt).or(Some(base.unit.clone())),
                company_id: base.company_id,
            })
        })
        .await
    }
    .await;
    match result {
        Ok(p) => Redirect::to(&format!("/people/{}", p.id)).into_response(),
        Err(CoreError::Validation(v)) => {
            let action = format!("/people/{id}/edit");
            html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&c, c.t(M::EditPerson), person_form(&c, &action, &f, &masked, &translated(&c, v))),
            )
        }
        Err(e) => error_page(&c, e),
    }
}

async fn delete_form(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let p = match readable(&app, &s, &id).await {
        Ok(p) => p,
        Err(e) => return error_page(&c, e),
    };
    let body = html! {
        p { (c.t(M::DeleteConfirm)) }
        form method="post" action={ "/people/" (p.id) "/delete" } {
            (csrf_field(c.csrf))
            button type="submit" class="danger" { (c.t(M::YesDelete)) }
            " "
            a href={ "/people/" (p.id) } { (c.t(M::Cancel)) }
        }
    };
    html_response(StatusCode::OK, page(&c, &display_name(&p), body))
}

async fn delete(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(f): Form<crate::signin::CsrfOnly>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    match async { app.delete_person(&s.actor, parse_id(&id)?).await }.await {
        Ok(()) => Redirect::to("/people").into_response(),
        Err(e) => error_page(&c, e),
    }
}
