//! RFC 9457 problem details: the one error shape of the HTTP API. Every error leaving the
//! server is a [`Problem`] with a stable `type` (`/problems/<code>`), and for bad input the
//! fields at fault. Causes are logged, never sent; nothing here contains a personal value.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sejf_core::CoreError;
use sejf_domain::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer; boxed so results stay small on the happy path.
#[derive(Debug)]
pub struct Problem(Box<ProblemBody>);

/// An `application/problem+json` body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// A URI reference naming the kind of problem, stable across versions.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The first field at fault, when the problem is about input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field at fault, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: format!("/problems/{code}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    /// A problem about one input field.
    pub fn field(status: StatusCode, code: &str, title: &str, field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(status, code, title, format!("{field}: {detail}"));
        p.0.field = Some(field.to_string());
        p.0.errors.push(FieldError { field: field.to_string(), reason: detail });
        p
    }

    pub fn validation(errs: ValidationErrors) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid input", errs.to_string());
        p.0.field = errs.0.first().map(|e| e.field.clone());
        p.0.errors = errs.0;
        p
    }

    /// Adds `Retry-After` (at least one second).
    pub fn retry_after(mut self, secs: i64) -> Self {
        self.0.retry_after = Some(secs.max(1) as u64);
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", "no such resource")
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", "send a valid bearer token")
    }
}

impl From<CoreError> for Problem {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated => Problem::unauthenticated(),
            CoreError::BadCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "bad-credentials", "Sign-in failed", "invalid username or password")
            }
            CoreError::NotFound => Problem::not_found(),
            CoreError::MfaRequired => Problem::field(
                StatusCode::UNAUTHORIZED,
                "mfa-required",
                "TOTP code required",
                "totp",
                "this account signs in with a TOTP code (or a recovery code)",
            ),
            CoreError::ReadBudgetExceeded { budget } => {
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "read-budget",
                    "Read budget exceeded",
                    format!("your role may read at most {budget} distinct people per hour; this has been reported"),
                );
                p.0.retry_after = Some(3600);
                p
            }
            CoreError::NetworkNotAllowed => Problem::new(
                StatusCode::FORBIDDEN,
                "network-not-allowed",
                "Not from this network",
                "your role may not sign in or work from this network address",
            ),
            CoreError::MfaEnrollmentRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "mfa-enrollment-required",
                "Enrol TOTP first",
                "this token may only enrol TOTP: POST /api/v1/auth/mfa/enroll, then /api/v1/auth/mfa/confirm",
            ),
            CoreError::AccountLocked => Problem::new(
                StatusCode::FORBIDDEN,
                "account-locked",
                "Account locked",
                "too many wrong codes after a right password: someone may know your password. Ask an administrator \
                 to reset your password and TOTP; until then this account cannot sign in",
            ),
            CoreError::PasswordChangeRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "password-change-required",
                "Change your password first",
                "an administrator set this account's password: this token may only call POST /api/v1/auth/password",
            ),
            CoreError::Busy { retry_after_secs } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Busy",
                format!("the server is busy checking passwords; try again in {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs),
            CoreError::Throttled { retry_after_secs } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Too many failed sign-ins",
                format!("too many failed sign-ins; try again in {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs),
            CoreError::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", m),
            CoreError::Validation(v) => Problem::validation(v),
            CoreError::PreconditionRequired => Problem::field(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match required",
                "If-Match",
                "send the ETag of the record you read",
            ),
            CoreError::PreconditionFailed => Problem::field(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "The record changed",
                "If-Match",
                "the record changed since you read it; read it again and retry",
            ),
            CoreError::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", m),
            CoreError::ApprovalPending => Problem::new(
                StatusCode::CONFLICT,
                "approval-pending",
                "Approval pending",
                "this export waits for a second person (a manager of your unit or the dpo) to approve it",
            ),
            CoreError::Gone(m) => Problem::new(StatusCode::GONE, "gone", "Gone", m),
            CoreError::Integrity(m) => {
                tracing::error!(error = %m, "integrity failure");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "integrity",
                    "Integrity check failed",
                    "stored data failed its integrity check and was not returned; an administrator has been told",
                )
            }
            CoreError::Storage(m) => {
                tracing::error!(error = %m, "storage failure");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "storage is unavailable; try again later",
                )
            }
            CoreError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "an internal error occurred")
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.0.retry_after;
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // RFC 6750: a 401 names the scheme that would work.
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sejf\""));
        }
        res
    }
}

/// Handlers return this: a response or a problem.
pub type ApiResult<T> = Result<T, Problem>;
