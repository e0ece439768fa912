//! `/people`: create, read, update (merge patch with If-Match), delete, list and search.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sejf_core::App;
use sejf_core::people::{PeopleFilter, SearchCriteria};
use uuid::Uuid;

use super::{json_response, patched, record_response};
use crate::auth::Authed;
use crate::dto::{ListOut, PeopleQuery, PersonIn, PersonOut, RevealIn, SearchIn};
use crate::extract::{Id, Json, Query, if_match};
use crate::problem::{ApiResult, Problem, ProblemBody};

fn location(id: Uuid) -> Option<String> {
    Some(format!("/api/v1/people/{id}"))
}

/// Create a person.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = PersonIn,
    responses((status = 201, body = PersonOut, description = "Created",
               headers(("ETag" = String, description = "The version, quoted: send it back in If-Match to change the record"),
                       ("Location" = String, description = "The new person's URL"))),
              (status = 422, body = ProblemBody), (status = 401, body = ProblemBody)),
    security(("bearer" = [])))]
pub async fn create(State(app): State<Arc<App>>, Authed(actor): Authed, Json(body): Json<PersonIn>) -> ApiResult<Response> {
    let view = app.create_person(&actor, &body.into_input()).await?;
    let (id, version) = (view.id, view.version);
    Ok(record_response(StatusCode::CREATED, &PersonOut::from(view), version, location(id)))
}

/// Read a person.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 200, body = PersonOut, description = "The person, masked for the caller",
               headers(("ETag" = String, description = "The version, quoted: send it back in If-Match to change the record"))),
              (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn get(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<Response> {
    let view = app.person(&actor, id).await?;
    let version = view.version;
    Ok(record_response(StatusCode::OK, &PersonOut::from(view), version, None))
}

/// Update a person with a JSON merge patch; needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag last read: a person changed meanwhile is a 412")),
    request_body = Object,
    responses((status = 200, body = PersonOut, description = "The updated person",
               headers(("ETag" = String, description = "The new version, quoted"))), (status = 428, body = ProblemBody), (status = 412, body = ProblemBody),
              (status = 422, body = ProblemBody), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn patch(
    State(app): State<Arc<App>>,
    Authed(actor): Authed,
    Id(id): Id,
    headers: HeaderMap,
    Json(patch): Json<serde_json::Value>,
) -> ApiResult<Response> {
    let expected = if_match(&headers)?;
    // The merge base is the unmasked record (the caller may update fields they cannot read);
    // the use case reads it once, checks the version and stores the merge.
    let view = app
        .patch_person(&actor, id, expected, |current| {
            let input: PersonIn = patched(&PersonIn::from_view(current), patch)?;
            Ok::<_, Problem>(input.into_input())
        })
        .await?;
    let version = view.version;
    Ok(record_response(StatusCode::OK, &PersonOut::from(view), version, None))
}

/// Delete a person, their activities and their key.
#[utoipa::path(delete, path = "/api/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)), security(("bearer" = [])))]
pub async fn delete(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id) -> ApiResult<StatusCode> {
    app.delete_person(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List people visible to the caller, in creation order.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery),
    responses((status = 200, body = ListOut<PersonOut>)), security(("bearer" = [])))]
pub async fn list(State(app): State<Arc<App>>, Authed(actor): Authed, Query(q): Query<PeopleQuery>) -> ApiResult<Response> {
    let page =
        app.list_people(&actor, &PeopleFilter { owner: q.owner, unit: q.unit, tag: q.tag, cursor: q.cursor, limit: q.limit }).await?;
    let out = ListOut { items: page.items.into_iter().map(PersonOut::from).collect(), next_cursor: page.next_cursor };
    Ok(json_response(StatusCode::OK, &out))
}

/// Search people by e-mail, phone, national id or name tokens (every given criterion must match).
#[utoipa::path(post, path = "/api/v1/people/search", tag = "people", request_body = SearchIn,
    responses((status = 200, body = ListOut<PersonOut>), (status = 422, body = ProblemBody)), security(("bearer" = [])))]
pub async fn search(State(app): State<Arc<App>>, Authed(actor): Authed, Json(s): Json<SearchIn>) -> ApiResult<Response> {
    let page = app
        .search_people(
            &actor,
            &SearchCriteria { email: s.email, phone: s.phone, national_id: s.national_id, name: s.name, cursor: s.cursor, limit: s.limit },
        )
        .await?;
    let out = ListOut { items: page.items.into_iter().map(PersonOut::from).collect(), next_cursor: page.next_cursor };
    Ok(json_response(StatusCode::OK, &out))
}

/// Reveal masked fields for a stated purpose, where the policies allow it (recorded).
#[utoipa::path(post, path = "/api/v1/people/{id}/reveal", tag = "people", params(("id" = Uuid, Path)), request_body = RevealIn,
    responses((status = 200, body = PersonOut), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 422, body = ProblemBody)), security(("bearer" = [])))]
pub async fn reveal(State(app): State<Arc<App>>, Authed(actor): Authed, Id(id): Id, Json(body): Json<RevealIn>) -> ApiResult<Response> {
    let view = app.reveal_person(&actor, id, &body.fields, &body.purpose).await?;
    let version = view.version;
    Ok(record_response(StatusCode::OK, &PersonOut::from(view), version, None))
}
