//! The OpenAPI 3.1 document, generated from the handlers' annotations and the DTO types, and
//! Swagger UI served from the binary. Both describe the API and contain no data, so they are
//! reachable without a token.

use std::sync::Arc;

use axum::Router;
use sejf_core::App;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::dto::*;
use crate::problem::ProblemBody;
use crate::routes::{admin, audit, exports, gdpr, people, records, registers, session};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = api.components.as_mut() {
            c.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        }
    }
}

/// Makes the generated document valid OpenAPI 3.1 and kind to client generators: every
/// operation gets a unique `operationId` from its method and path (the handlers' names repeat
/// across modules), every response a description, and every error response the problem+json
/// media type the server really sends (RFC 9457).
struct Conformance;

impl Modify for Conformance {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                op.operation_id = Some(operation_id(method, path));
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(r) = response else { continue };
                    if r.description.is_empty() {
                        r.description = status_text(status).to_string();
                    }
                    if (status.starts_with('4') || status.starts_with('5'))
                        && let Some(content) = r.content.shift_remove("application/json")
                    {
                        r.content.insert("application/problem+json".to_string(), content);
                    }
                }
            }
        }
    }
}

/// `get /api/v1/people/{id}/export` → `get_people_id_export`.
fn operation_id(method: &str, path: &str) -> String {
    let rest = path.trim_start_matches("/api/v1").trim_matches('/');
    let words: Vec<String> =
        rest.split('/').filter(|w| !w.is_empty()).map(|w| w.trim_matches(|c| c == '{' || c == '}').replace('-', "_")).collect();
    if words.is_empty() { method.to_string() } else { format!("{method}_{}", words.join("_")) }
}

fn status_text(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "No content",
        "400" => "Malformed request (problem+json)",
        "401" => "Not signed in or the token is not valid (problem+json, WWW-Authenticate: Bearer)",
        "403" => "Not allowed (problem+json)",
        "404" => "No such record, or not one the caller may see (problem+json)",
        "409" => "Conflict with the record's state (problem+json)",
        "410" => "Gone (problem+json)",
        "412" => "The ETag in If-Match is not current (problem+json)",
        "422" => "Invalid field, named in the problem (problem+json)",
        "428" => "If-Match with the record's ETag is required (problem+json)",
        "429" => "Too many requests; see Retry-After (problem+json)",
        "503" => "Unavailable; try again (problem+json)",
        _ => "Answer",
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sejf", description = "A CRM whose first promise is that customer data stays safe."),
    paths(
        session::login, session::logout, session::change_password, session::me, session::sessions, session::end_session, session::mfa_enroll, session::mfa_confirm,
        people::create, people::get, people::patch, people::delete, people::list, people::search, people::reveal,
        records::companies_doc::list, records::companies_doc::create, records::companies_doc::read,
        records::companies_doc::patch, records::companies_doc::delete, records::search_companies,
        records::deals_doc::list, records::deals_doc::create, records::deals_doc::read,
        records::deals_doc::patch, records::deals_doc::delete,
        records::activities_doc::list, records::activities_doc::create, records::activities_doc::read,
        records::activities_doc::patch, records::activities_doc::delete,
        audit::list, audit::alerts,
        exports::create, exports::list, exports::get, exports::approve, exports::reject, exports::download,
        gdpr::export, gdpr::erase, gdpr::restrict, gdpr::unrestrict, gdpr::hold, gdpr::release, gdpr::objection, gdpr::flags,
        gdpr::consents, gdpr::give_consent, gdpr::purposes, gdpr::put_purpose, gdpr::dsr_create, gdpr::dsr_list, gdpr::dsr_extend, gdpr::dsr_close,
        registers::processors, registers::put_processor, registers::disclose, registers::breaches, registers::record_breach,
        registers::breach, registers::breach_notified, registers::breach_delay,
    ),
    components(schemas(audit::AuditOut, ProblemBody, PersonIn, PersonOut, RevealIn, AddressDto, SearchIn, LoginIn, LoginOut, MeOut, SessionOut, EnrollOut, ConfirmIn, ConfirmOut, UserIn, UserOut, UserPatch, GrantOut, PasswordIn,
        CompanyIn, CompanyOut, DealIn, DealOut, ActivityIn, ActivityOut, exports::ExportIn, exports::ExportOut, exports::DecisionIn, exports::ExportFilterOut,
        GdprActionIn, ConsentIn, gdpr::PurposeIn, gdpr::DsrIn, gdpr::DsrChangeIn,
        registers::ProcessorIn, registers::DisclosureIn, registers::BreachIn, registers::BreachChangeIn,
        records::CompanySearchIn)),
    modifiers(&Bearer, &Conformance),
)]
pub struct ApiDoc;

/// The admin listener's API (user administration, four-eyes role grants), documented apart: it
/// is never served on the public listener, and neither is its description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Sejf admin API", description = "User administration on the admin listener (loopback or mTLS by default)."),
    paths(admin::list, admin::create, admin::patch, admin::grants, admin::approve, admin::refuse, session::me),
    components(schemas(ProblemBody, UserIn, UserOut, UserPatch, GrantOut, MeOut)),
    modifiers(&Bearer, &Conformance),
)]
pub struct AdminDoc;

/// `/api/v1/openapi.json` and the Swagger UI at `/api/v1/docs`.
pub fn router() -> Router<Arc<App>> {
    Router::new().merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", ApiDoc::openapi()))
}

/// The admin listener's `/api/v1/openapi.json` (no Swagger UI there).
pub fn admin_router() -> Router<Arc<App>> {
    let doc = AdminDoc::openapi();
    Router::new().route("/api/v1/openapi.json", axum::routing::get(move || std::future::ready(axum::Json(doc.clone()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_and_every_response_is_described() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let mut ids = std::collections::BTreeSet::new();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                operations += 1;
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(ids.insert(id.clone()), "{method} {path}: operationId {id} repeats");
                for (status, r) in op["responses"].as_object().into_iter().flatten() {
                    assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path} {status}: no description");
                    if status.starts_with('4') && r.get("content").is_some() {
                        assert!(r["content"].get("application/problem+json").is_some(), "{method} {path} {status}: not problem+json");
                    }
                }
            }
        }
        assert!(operations >= 60, "{operations}");
        let admin = serde_json::to_value(AdminDoc::openapi()).unwrap_or_default();
        assert!(
            admin["paths"]["/api/v1/users"].is_object() && doc["paths"]["/api/v1/users"].is_null(),
            "the admin API is documented apart"
        );
        assert_eq!(operation_id("get", "/api/v1/people/{id}/export"), "get_people_id_export");
        assert_eq!(operation_id("post", "/api/v1/people/{id}/legal-hold"), "post_people_id_legal_hold");
    }
}
