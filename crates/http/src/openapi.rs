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
use crate::routes::{admin, audit, exports, gdpr, people, records, session};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = api.components.as_mut() {
            c.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sejf", description = "A CRM whose first promise is that customer data stays safe."),
    paths(
        session::login, session::logout, session::change_password, session::me, session::sessions, session::end_session, session::mfa_enroll, session::mfa_confirm,
        people::create, people::get, people::patch, people::delete, people::list, people::search, people::reveal,
        records::companies_doc::list, records::companies_doc::create, records::companies_doc::read,
        records::companies_doc::patch, records::companies_doc::delete,
        records::deals_doc::list, records::deals_doc::create, records::deals_doc::read,
        records::deals_doc::patch, records::deals_doc::delete,
        records::activities_doc::list, records::activities_doc::create, records::activities_doc::read,
        records::activities_doc::patch, records::activities_doc::delete,
        admin::list, admin::create, admin::patch, admin::grants, admin::approve, admin::refuse, audit::list, audit::alerts,
        exports::create, exports::list, exports::get, exports::approve, exports::reject, exports::download,
        gdpr::export, gdpr::erase, gdpr::restrict, gdpr::unrestrict, gdpr::hold, gdpr::release, gdpr::objection, gdpr::flags,
        gdpr::consents, gdpr::give_consent, gdpr::purposes, gdpr::put_purpose, gdpr::dsr_create, gdpr::dsr_list, gdpr::dsr_extend, gdpr::dsr_close,
    ),
    components(schemas(audit::AuditOut, ProblemBody, PersonIn, PersonOut, RevealIn, AddressDto, SearchIn, LoginIn, LoginOut, MeOut, SessionOut, EnrollOut, ConfirmIn, ConfirmOut, UserIn, UserOut, UserPatch, GrantOut, PasswordIn,
        CompanyIn, CompanyOut, DealIn, DealOut, ActivityIn, ActivityOut, exports::ExportIn, exports::ExportOut, exports::DecisionIn, exports::ExportFilterOut,
        GdprActionIn, ConsentIn, gdpr::PurposeIn, gdpr::DsrIn, gdpr::DsrChangeIn)),
    modifiers(&Bearer),
)]
pub struct ApiDoc;

/// `/api/v1/openapi.json` and the Swagger UI at `/api/v1/docs`.
pub fn router() -> Router<Arc<App>> {
    Router::new().merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", ApiDoc::openapi()))
}
