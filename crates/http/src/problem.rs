//! RFC 9457 problem details: the one error shape of the HTTP API. Every error leaving the
//! server is a [`Problem`] with a stable `type` (`/problems/<code>`), and for bad input the
//! fields at fault. Causes are logged, never sent; nothing here contains a personal value.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sejf_core::CoreError;
use sejf_domain::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

/// Every kind of problem the API answers, the one list: a [`Problem`](crate::problem::Problem)
/// is built from one (its `type`, status and title come from here, so they cannot drift apart),
/// and `/problems/{type}` renders its page from the same entry. Adding a kind means adding its
/// entry to [`ProblemType::info`]; the compiler finds the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    Validation,
    MalformedJson,
    InvalidField,
    UnsupportedMediaType,
    BadBody,
    BadQuery,
    TooLarge,
    NotFound,
    MethodNotAllowed,
    Unauthenticated,
    BadCredentials,
    MfaRequired,
    MfaEnrollmentRequired,
    PasswordChangeRequired,
    AccountLocked,
    NetworkNotAllowed,
    Forbidden,
    ReadBudget,
    Throttled,
    RateLimited,
    Busy,
    PreconditionRequired,
    PreconditionFailed,
    Conflict,
    ApprovalPending,
    Gone,
    Integrity,
    Unavailable,
    Timeout,
    Internal,
}

impl ProblemType {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [ProblemType; 30] = [
        ProblemType::Validation,
        ProblemType::MalformedJson,
        ProblemType::InvalidField,
        ProblemType::UnsupportedMediaType,
        ProblemType::BadBody,
        ProblemType::BadQuery,
        ProblemType::TooLarge,
        ProblemType::NotFound,
        ProblemType::MethodNotAllowed,
        ProblemType::Unauthenticated,
        ProblemType::BadCredentials,
        ProblemType::MfaRequired,
        ProblemType::MfaEnrollmentRequired,
        ProblemType::PasswordChangeRequired,
        ProblemType::AccountLocked,
        ProblemType::NetworkNotAllowed,
        ProblemType::Forbidden,
        ProblemType::ReadBudget,
        ProblemType::Throttled,
        ProblemType::RateLimited,
        ProblemType::Busy,
        ProblemType::PreconditionRequired,
        ProblemType::PreconditionFailed,
        ProblemType::Conflict,
        ProblemType::ApprovalPending,
        ProblemType::Gone,
        ProblemType::Integrity,
        ProblemType::Unavailable,
        ProblemType::Timeout,
        ProblemType::Internal,
    ];

    /// (the `type` code, HTTP status, title, what it means and what to do).
    fn info(self) -> (&'static str, StatusCode, &'static str, &'static str) {
        match self {
            ProblemType::Validation => (
                "validation",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input",
                "A field of the request was refused; `field` names the first, `errors` lists them all with their reasons. Fix them and send again.",
            ),
            ProblemType::MalformedJson => (
                "malformed-json",
                StatusCode::BAD_REQUEST,
                "Malformed JSON",
                "The body is not valid JSON; `detail` gives the line and column.",
            ),
            ProblemType::InvalidField => (
                "invalid-field",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid field",
                "A field of the JSON body has the wrong type or is unknown; `field` names it.",
            ),
            ProblemType::UnsupportedMediaType => (
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "Send the body as `Content-Type: application/json`.",
            ),
            ProblemType::BadBody => (
                "bad-body",
                StatusCode::BAD_REQUEST,
                "Unreadable body",
                "The body is not the JSON the route expects (or names a field the route does not know).",
            ),
            ProblemType::BadQuery => {
                ("bad-query", StatusCode::BAD_REQUEST, "Bad query string", "A query parameter is unknown or malformed; `field` names it.")
            }
            ProblemType::TooLarge => (
                "too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Body too large",
                "The request body exceeds the server's size limit (max_body_bytes).",
            ),
            ProblemType::NotFound => (
                "not-found",
                StatusCode::NOT_FOUND,
                "Not found",
                "No such route, or no such record that you may see: Sejf does not say which.",
            ),
            ProblemType::MethodNotAllowed => {
                ("method-not-allowed", StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", "The route exists but not with this method.")
            }
            ProblemType::Unauthenticated => (
                "unauthenticated",
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                "Send `Authorization: Bearer TOKEN`: a token from sign-in, or an API token.",
            ),
            ProblemType::BadCredentials => (
                "bad-credentials",
                StatusCode::UNAUTHORIZED,
                "Sign-in failed",
                "The username or password is wrong. Repeated failures are throttled.",
            ),
            ProblemType::MfaRequired => (
                "mfa-required",
                StatusCode::UNAUTHORIZED,
                "TOTP code required",
                "Send the current code from the authenticator app (`totp`), or a recovery code.",
            ),
            ProblemType::MfaEnrollmentRequired => (
                "mfa-enrollment-required",
                StatusCode::FORBIDDEN,
                "Enrol TOTP first",
                "This token may only enrol TOTP: POST /api/v1/auth/mfa/enroll, then /confirm.",
            ),
            ProblemType::PasswordChangeRequired => (
                "password-change-required",
                StatusCode::FORBIDDEN,
                "Change your password first",
                "An administrator set the password: POST /api/v1/auth/password with a new one.",
            ),
            ProblemType::AccountLocked => (
                "account-locked",
                StatusCode::FORBIDDEN,
                "Account locked",
                "Too many failed sign-ins: an administrator unlocks it, or it unlocks after a while.",
            ),
            ProblemType::NetworkNotAllowed => (
                "network-not-allowed",
                StatusCode::FORBIDDEN,
                "Not from this network",
                "Your role may only be used from the address blocks the configuration allows.",
            ),
            ProblemType::Forbidden => (
                "forbidden",
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The policies do not allow this action for your role on this record; `detail` says why where it may.",
            ),
            ProblemType::ReadBudget => (
                "read-budget",
                StatusCode::TOO_MANY_REQUESTS,
                "Read budget exceeded",
                "You have read more distinct people this hour than your role's budget; an alert was raised.",
            ),
            ProblemType::Throttled => {
                ("throttled", StatusCode::TOO_MANY_REQUESTS, "Too many failed sign-ins", "Wait `Retry-After` seconds before trying again.")
            }
            ProblemType::RateLimited => (
                "rate-limited",
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "This address sent too many requests before signing in; wait `Retry-After` seconds.",
            ),
            ProblemType::Busy => (
                "busy",
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "The server is verifying too many passwords at once; try again after `Retry-After` seconds.",
            ),
            ProblemType::PreconditionRequired => (
                "precondition-required",
                StatusCode::PRECONDITION_REQUIRED,
                "If-Match required",
                "Send `If-Match` with the ETag you read, so a concurrent change is not overwritten.",
            ),
            ProblemType::PreconditionFailed => (
                "precondition-failed",
                StatusCode::PRECONDITION_FAILED,
                "Changed meanwhile",
                "The record changed since you read it: read it again and reapply your change.",
            ),
            ProblemType::Conflict => (
                "conflict",
                StatusCode::CONFLICT,
                "Conflict",
                "The change conflicts with the record's state (e.g. a legal hold, a decided request); `detail` says how.",
            ),
            ProblemType::ApprovalPending => (
                "approval-pending",
                StatusCode::CONFLICT,
                "Approval pending",
                "A second person must approve this export before it can be downloaded.",
            ),
            ProblemType::Gone => {
                ("gone", StatusCode::GONE, "Gone", "It existed but cannot be used any more (e.g. an export already downloaded or expired).")
            }
            ProblemType::Integrity => (
                "integrity",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Integrity check failed",
                "Stored data failed its integrity check; the operator has been told through the log.",
            ),
            ProblemType::Unavailable => {
                ("unavailable", StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", "The database did not answer; try again shortly.")
            }
            ProblemType::Timeout => (
                "timeout",
                StatusCode::SERVICE_UNAVAILABLE,
                "Request timed out",
                "The request took too long and was abandoned; nothing of it was committed.",
            ),
            ProblemType::Internal => (
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
                "Something failed on the server; its log has the cause (never shown to clients).",
            ),
        }
    }

    /// The code in `/problems/<code>`.
    pub fn code(self) -> &'static str {
        self.info().0
    }

    pub fn status(self) -> StatusCode {
        self.info().1
    }

    pub fn title(self) -> &'static str {
        self.info().2
    }

    /// What the problem means and what to do, for its page.
    pub fn help(self) -> &'static str {
        self.info().3
    }

    /// The kind a `type` code names.
    pub fn from_code(code: &str) -> Option<ProblemType> {
        ProblemType::ALL.into_iter().find(|k| k.code() == code)
    }
}
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
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: format!("/problems/{}", kind.code()),
            title: kind.title().to_string(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    /// A problem about one input field.
    pub fn field(kind: ProblemType, field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(kind, format!("{field}: {detail}"));
        p.0.field = Some(field.to_string());
        p.0.errors.push(FieldError { field: field.to_string(), reason: detail });
        p
    }

    pub fn validation(errs: ValidationErrors) -> Self {
        let mut p = Self::new(ProblemType::Validation, errs.to_string());
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
        Self::new(ProblemType::NotFound, "no such resource")
    }

    pub fn unauthenticated() -> Self {
        Self::new(ProblemType::Unauthenticated, "send a valid bearer token")
    }
}

impl From<CoreError> for Problem {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated => Problem::unauthenticated(),
            CoreError::BadCredentials => Problem::new(ProblemType::BadCredentials, "invalid username or password"),
            CoreError::NotFound => Problem::not_found(),
            CoreError::MfaRequired => {
                Problem::field(ProblemType::MfaRequired, "totp", "this account signs in with a TOTP code (or a recovery code)")
            }
            CoreError::ReadBudgetExceeded { budget } => {
                let mut p = Problem::new(
                    ProblemType::ReadBudget,
                    format!("your role may read at most {budget} distinct people per hour; this has been reported"),
                );
                p.0.retry_after = Some(3600);
                p
            }
            CoreError::NetworkNotAllowed => {
                Problem::new(ProblemType::NetworkNotAllowed, "your role may not sign in or work from this network address")
            }
            CoreError::MfaEnrollmentRequired => Problem::new(
                ProblemType::MfaEnrollmentRequired,
                "this token may only enrol TOTP: POST /api/v1/auth/mfa/enroll, then /api/v1/auth/mfa/confirm",
            ),
            CoreError::AccountLocked => Problem::new(
                ProblemType::AccountLocked,
                "too many wrong codes after a right password: someone may know your password. Ask an administrator \
                 to reset your password and TOTP; until then this account cannot sign in",
            ),
            CoreError::PasswordChangeRequired => Problem::new(
                ProblemType::PasswordChangeRequired,
                "an administrator set this account's password: this token may only call POST /api/v1/auth/password",
            ),
            CoreError::Busy { retry_after_secs } => {
                Problem::new(ProblemType::Busy, format!("the server is busy checking passwords; try again in {retry_after_secs} s"))
                    .retry_after(retry_after_secs)
            }
            CoreError::Throttled { retry_after_secs } => {
                Problem::new(ProblemType::Throttled, format!("too many failed sign-ins; try again in {retry_after_secs} s"))
                    .retry_after(retry_after_secs)
            }
            CoreError::Forbidden(m) => Problem::new(ProblemType::Forbidden, m),
            CoreError::Validation(v) => Problem::validation(v),
            CoreError::PreconditionRequired => {
                Problem::field(ProblemType::PreconditionRequired, "If-Match", "send the ETag of the record you read")
            }
            CoreError::PreconditionFailed => {
                Problem::field(ProblemType::PreconditionFailed, "If-Match", "the record changed since you read it; read it again and retry")
            }
            CoreError::Conflict(m) => Problem::new(ProblemType::Conflict, m),
            CoreError::ApprovalPending => Problem::new(
                ProblemType::ApprovalPending,
                "this export waits for a second person (a manager of your unit or the dpo) to approve it",
            ),
            CoreError::Gone(m) => Problem::new(ProblemType::Gone, m),
            CoreError::Integrity(m) => {
                tracing::error!(error = %m, "integrity failure");
                Problem::new(
                    ProblemType::Integrity,
                    "stored data failed its integrity check and was not returned; an administrator has been told",
                )
            }
            CoreError::Storage(m) => {
                tracing::error!(error = %m, "storage failure");
                Problem::new(ProblemType::Unavailable, "storage is unavailable; try again later")
            }
            CoreError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(ProblemType::Internal, "an internal error occurred")
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::{Problem, ProblemType};
    use axum::response::IntoResponse;
    use sejf_core::CoreError;

    /// What each core error answers: its kind (and so its `type`, status and title), and for a
    /// failure inside the server, a detail that says nothing of the cause.
    #[test]
    fn every_core_error_maps_to_its_kind() {
        let secret = "SELECT * FROM people WHERE national_id = '44051401359'";
        let cases = [
            (CoreError::Unauthenticated, ProblemType::Unauthenticated),
            (CoreError::BadCredentials, ProblemType::BadCredentials),
            (CoreError::MfaRequired, ProblemType::MfaRequired),
            (CoreError::ReadBudgetExceeded { budget: 200 }, ProblemType::ReadBudget),
            (CoreError::NetworkNotAllowed, ProblemType::NetworkNotAllowed),
            (CoreError::MfaEnrollmentRequired, ProblemType::MfaEnrollmentRequired),
            (CoreError::AccountLocked, ProblemType::AccountLocked),
            (CoreError::PasswordChangeRequired, ProblemType::PasswordChangeRequired),
            (CoreError::Busy { retry_after_secs: 2 }, ProblemType::Busy),
            (CoreError::Throttled { retry_after_secs: 30 }, ProblemType::Throttled),
            (CoreError::NotFound, ProblemType::NotFound),
            (CoreError::Forbidden("not yours".into()), ProblemType::Forbidden),
            (CoreError::Validation(sejf_domain::ValidationErrors::default()), ProblemType::Validation),
            (CoreError::PreconditionRequired, ProblemType::PreconditionRequired),
            (CoreError::PreconditionFailed, ProblemType::PreconditionFailed),
            (CoreError::Conflict("held".into()), ProblemType::Conflict),
            (CoreError::ApprovalPending, ProblemType::ApprovalPending),
            (CoreError::Gone("downloaded".into()), ProblemType::Gone),
            (CoreError::Integrity(secret.into()), ProblemType::Integrity),
            (CoreError::Storage(secret.into()), ProblemType::Unavailable),
            (CoreError::Internal(secret.into()), ProblemType::Internal),
        ];
        for (error, kind) in cases {
            let name = format!("{error:?}");
            let Problem(body) = Problem::from(error);
            assert_eq!(body.kind, format!("/problems/{}", kind.code()), "{name}");
            assert_eq!(body.status, kind.status().as_u16(), "{name}");
            assert_eq!(body.title, kind.title(), "{name}");
            assert!(
                !body.detail.contains("national_id") && !body.detail.contains("44051401359"),
                "{name} leaks its cause: {}",
                body.detail
            );
        }
        // Waiting is said in the header too.
        let res = Problem::from(CoreError::Throttled { retry_after_secs: 30 }).into_response();
        assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("30"));
        assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    }
}
