//! Editing and deleting companies, deals and activities: forms filled from the record as the
//! user may read it (`App::record_for_update`: fields of classes they may not read are marked
//! masked, never offered), saved over the version shown (a change meanwhile is a 409 page)
//! through `App::edit_record`, which keeps the stored value of every masked field; links kept;
//! deletes ask first.

use super::*;

/// The links a record keeps when its fields are edited.
fn links_of<A, P>(v: &RecordView<A, P>) -> Links {
    Links { owner_id: Some(v.owner_id), unit: Some(v.unit.clone()), person_id: v.person_id, company_id: v.company_id, deal_id: v.deal_id }
}

/// A stored date-time as a `datetime-local` value (UTC).
fn local_input(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or_default().to_string()
}

pub(super) async fn edit_company_form(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let got = async { app.record_for_update::<Company>(&s.actor, parse_id(&id)?).await }.await;
    match got {
        Ok(v) => {
            let f = CompanyForm {
                id: v.id.to_string(),
                version: v.version.to_string(),
                name: v.payload.name.clone(),
                vat_id: v.payload.vat_id.clone().unwrap_or_default(),
                website: v.payload.website.clone().unwrap_or_default(),
                unit: v.unit.clone(),
                masked: v.masked.clone(),
                ..Default::default()
            };
            html_response(StatusCode::OK, page(&c, c.t(M::Edit), company_form(&c, &f, &[])))
        }
        Err(e) => error_page(&c, e),
    }
}

pub(super) async fn edit_company(
    State(app): State<Arc<App>>,
    s: Signed,
    Path(id): Path<String>,
    Form(mut f): Form<CompanyForm>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let mut masked = Vec::new();
    let done = async {
        let id = parse_id(&id)?;
        let raw = CompanyRaw { name: blank(Some(&f.name)), vat_id: blank(Some(&f.vat_id)), website: blank(Some(&f.website)) };
        app.edit_record::<Company, CoreError>(&s.actor, id, f.version.trim().parse().ok(), |cur| {
            masked.clone_from(&cur.masked);
            Ok((raw, links_of(cur)))
        })
        .await
    }
    .await;
    match done {
        Ok(v) => Redirect::to(&format!("/companies/{}", v.id)).into_response(),
        Err(CoreError::Validation(v)) => {
            f.id = id;
            f.masked = masked;
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::Edit), company_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

pub(super) async fn edit_deal_form(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let got = async { app.record_for_update::<Deal>(&s.actor, parse_id(&id)?).await }.await;
    match got {
        Ok(v) => {
            let f = DealForm {
                id: v.id.to_string(),
                version: v.version.to_string(),
                title: v.payload.title.clone().unwrap_or_default(),
                amount: v.attrs.amount.clone().unwrap_or_default(),
                stage: v.attrs.stage.clone(),
                stages: app.settings().pipeline.stages().to_vec(),
                expected_close: v.attrs.expected_close.clone().unwrap_or_default(),
                masked: v.masked.clone(),
                ..Default::default()
            };
            html_response(StatusCode::OK, page(&c, c.t(M::Edit), deal_form(&c, &f, &[])))
        }
        Err(e) => error_page(&c, e),
    }
}

pub(super) async fn edit_deal(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>, Form(mut f): Form<DealForm>) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let mut masked = Vec::new();
    let done = async {
        let id = parse_id(&id)?;
        app.edit_record::<Deal, CoreError>(&s.actor, id, f.version.trim().parse().ok(), |cur| {
            masked.clone_from(&cur.masked);
            let raw = DealRaw {
                title: blank(Some(&f.title)),
                amount: blank(Some(&f.amount)).map(|a| a.replace([' ', '\u{a0}'], "").replace(',', ".")),
                currency: cur.attrs.currency.clone(),
                stage: blank(Some(&f.stage)),
                expected_close: blank(Some(&f.expected_close)),
            };
            Ok((raw, links_of(cur)))
        })
        .await
    }
    .await;
    match done {
        Ok(v) => Redirect::to(&back_to(v.person_id, v.company_id, "/deals")).into_response(),
        Err(CoreError::Validation(v)) => {
            f.id = id;
            f.stages = app.settings().pipeline.stages().to_vec();
            f.masked = masked;
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::Edit), deal_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

pub(super) async fn edit_activity_form(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let got = async { app.record_for_update::<Activity>(&s.actor, parse_id(&id)?).await }.await;
    match got {
        Ok(v) => {
            let f = ActivityForm {
                id: v.id.to_string(),
                version: v.version.to_string(),
                kind: v.attrs.kind.clone(),
                body: v.payload.body.clone().unwrap_or_default(),
                due_at: v.attrs.due_at.as_deref().map(local_input).unwrap_or_default(),
                masked: v.masked.clone(),
                ..Default::default()
            };
            html_response(StatusCode::OK, page(&c, c.t(M::Edit), activity_form(&c, &f, &[])))
        }
        Err(e) => error_page(&c, e),
    }
}

pub(super) async fn edit_activity(
    State(app): State<Arc<App>>,
    s: Signed,
    Path(id): Path<String>,
    Form(mut f): Form<ActivityForm>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let mut masked = Vec::new();
    let done = async {
        let id = parse_id(&id)?;
        app.edit_record::<Activity, CoreError>(&s.actor, id, f.version.trim().parse().ok(), |cur| {
            masked.clone_from(&cur.masked);
            let raw =
                ActivityRaw { kind: blank(Some(&f.kind)), body: blank(Some(&f.body)), due_at: due(&f.due_at), done: Some(cur.attrs.done) };
            Ok((raw, links_of(cur)))
        })
        .await
    }
    .await;
    match done {
        Ok(v) => Redirect::to(&back_to(v.person_id, None, "/activities")).into_response(),
        Err(CoreError::Validation(v)) => {
            f.id = id;
            f.masked = masked;
            html_response(StatusCode::UNPROCESSABLE_ENTITY, page(&c, c.t(M::Edit), activity_form(&c, &f, &errors_of(c.lang, v))))
        }
        Err(e) => error_page(&c, e),
    }
}

/// Asks before a record is deleted, if the caller may delete it (an unreadable one is the 404
/// page, a readable one they may not delete the 403 page). The page shows no field of it, so
/// nothing is read.
pub(super) async fn delete_form<K: sejf_core::records::Kind>(State(app): State<Arc<App>>, s: Signed, Path(id): Path<String>) -> Response {
    let c = ctx(&s);
    let got = async {
        let id = parse_id(&id)?;
        app.may_delete_record::<K>(&s.actor, id).await.map(|()| id)
    }
    .await;
    match got {
        Ok(id) => {
            let kind = K::KIND.plural();
            let body = html! {
                p { (c.t(M::DeleteConfirm)) }
                form method="post" action={ "/" (kind) "/" (id) "/delete" } {
                    (csrf_field(c.csrf))
                    button type="submit" class="danger" { (c.t(M::YesDelete)) }
                    " "
                    a href={ "/" (kind) } { (c.t(M::Cancel)) }
                }
            };
            html_response(StatusCode::OK, page(&c, c.t(M::Delete), body))
        }
        Err(e) => error_page(&c, e),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn delete<K: sejf_core::records::Kind>(
    State(app): State<Arc<App>>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let c = ctx(&s);
    if !s.csrf_ok(&f.csrf) {
        return csrf_refused(&c);
    }
    let done = async { app.delete_record::<K>(&s.actor, parse_id(&id)?).await }.await;
    match done {
        Ok(()) => Redirect::to(&format!("/{}", K::KIND.plural())).into_response(),
        Err(e) => error_page(&c, e),
    }
}
