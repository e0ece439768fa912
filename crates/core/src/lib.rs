//! Sejf's use-cases: people, companies, deals and activities, sign-in, and the one authorisation
//! function every one of them passes through. Ports (`ports::Store`, [`Clock`]) are implemented
//! elsewhere; this crate knows neither axum nor sqlx.
//!
//! Invariants: plaintext personal data exists only in memory between decryption and the
//! caller; every record read or written here went through [`authz::authorize`]; errors carry no
//! personal value.

pub mod actions;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod batch;
pub mod csvcells;
pub mod exports;
pub mod file;
pub mod gdpr;
pub mod grants;
pub mod guard;
pub mod health;
pub mod import;
pub mod insider;
pub mod keys;
pub mod mfa;
pub mod operator;
pub mod page;
pub mod people;
pub mod ports;
pub mod records;
pub mod reindex;
pub mod tokens;
pub mod trail;
pub mod users;
pub mod vcard;
pub mod witness;

use std::sync::Arc;

use sejf_domain::ValidationErrors;
use sejf_domain::records::Pipeline;
use sejf_domain::values::{CountryCode, CurrencyCode};

pub use authz::Actor;
pub use file::FileError;
pub use keys::Keyring;
pub use ports::{Store, StoreError};

/// Installation-wide settings the use-cases need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Region for phone numbers written without a country code.
    pub default_region: CountryCode,
    /// Currency of a deal amount given without one.
    pub default_currency: CurrencyCode,
    pub pipeline: Pipeline,
    /// A session unused this long ends (seconds).
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in whatever its use (seconds).
    pub session_absolute_secs: i64,
    pub throttle: auth::ThrottlePolicy,
    /// TOTP is mandatory for every account. Only `sejf demo` turns this off, and says so.
    pub mfa_required: bool,
    /// Distinct people a user of the role may read in any hour, a sliding window (roles not
    /// listed: no limit).
    pub read_budgets: std::collections::HashMap<sejf_domain::roles::Role, i64>,
    /// A user who exceeds the budget is also suspended until reviewed.
    pub read_budget_suspends: bool,
    /// Roles that may only sign in and use their tokens from these address blocks.
    pub role_networks: std::collections::HashMap<sejf_domain::roles::Role, Vec<sejf_domain::net::Cidr>>,
    /// Exports of more records than this wait for a second person's approval (four-eyes).
    pub export_threshold: i64,
    /// Per-role overrides of `export_threshold`.
    pub export_thresholds: std::collections::HashMap<sejf_domain::roles::Role, i64>,
    /// How long an approved export may be downloaded (seconds).
    pub export_download_secs: i64,
    /// A user's exports approved without a second person within this long (seconds) add up
    /// toward the threshold.
    pub export_window_secs: i64,
}

impl Settings {
    /// Sejf's defaults: Polish region and currency, the standard pipeline, 30-minute idle and
    /// 12-hour absolute session lifetimes.
    pub fn standard() -> Self {
        Self {
            default_region: CountryCode::PL,
            default_currency: CurrencyCode::PLN,
            pipeline: Pipeline::default(),
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            throttle: auth::ThrottlePolicy::default(),
            mfa_required: true,
            role_networks: std::collections::HashMap::new(),
            read_budgets: [
                (sejf_domain::roles::Role::Sales, 200),
                (sejf_domain::roles::Role::Support, 500),
                (sejf_domain::roles::Role::Manager, 2_000),
            ]
            .into_iter()
            .collect(),
            read_budget_suspends: false,
            export_threshold: 100,
            export_thresholds: std::collections::HashMap::new(),
            export_download_secs: 24 * 3600,
            export_window_secs: 24 * 3600,
        }
    }
}

/// Time, passed in so tests and the composition root decide what "now" is.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in microseconds.
    fn now_micros(&self) -> i64;
}

/// The operating system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        let now = time::OffsetDateTime::now_utc();
        (now.unix_timestamp_nanos() / 1000) as i64
    }
}

/// Errors of the use-cases, mapped once to HTTP statuses and CLI exit codes at the edges.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    /// The password was right; the account has TOTP and no code was given.
    #[error("a TOTP code is required")]
    MfaRequired,
    /// The user read more distinct people this hour than their role's budget allows.
    #[error("read budget exceeded: at most {budget} distinct people per hour")]
    ReadBudgetExceeded { budget: i64 },
    /// The account's role may not be used from the client's network.
    #[error("your role may not sign in from this network")]
    NetworkNotAllowed,
    /// The token may only enrol TOTP.
    #[error("enrol TOTP first: this token may only call /auth/mfa/enroll and /auth/mfa/confirm")]
    MfaEnrollmentRequired,
    /// Wrong second factors after a right password locked the account until an administrator
    /// resets its password and TOTP.
    #[error("this account is locked after repeated wrong codes; ask an administrator to reset your password and TOTP")]
    AccountLocked,
    /// The token may only change the password an administrator set.
    #[error("change your password first: this token may only call POST /auth/password")]
    PasswordChangeRequired,
    /// Every password-hashing slot and queue place is taken; try again in a moment.
    #[error("the server is busy checking passwords; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: i64 },
    /// Too many failed sign-ins for this account or address; try again later.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    /// Absent, or present but not visible to the caller: the two must look the same.
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("this update needs an If-Match header with the record's ETag")]
    PreconditionRequired,
    #[error("the record changed since it was read (ETag mismatch)")]
    PreconditionFailed,
    #[error("conflict: {0}")]
    Conflict(String),
    /// An export above the threshold still waits for a second person's approval.
    #[error("this export waits for a second person's approval")]
    ApprovalPending,
    /// Something that could be had once (an export download) is no longer there.
    #[error("gone: {0}")]
    Gone(String),
    /// A ciphertext or wrapped key failed authentication: tampering or misplaced data.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    #[error("storage unavailable: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The check of a conditional update against the `stored` version: 428 without the version the
/// caller saw, 412 if the stored one is another.
pub(crate) fn check_version(stored: i64, expected: Option<i64>) -> Result<(), CoreError> {
    match expected {
        None => Err(CoreError::PreconditionRequired),
        Some(expected) if stored != expected => Err(CoreError::PreconditionFailed),
        Some(_) => Ok(()),
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => CoreError::Conflict(m),
            StoreError::Reference(m) => CoreError::Validation(ValidationErrors::single("reference", m)),
            StoreError::SchemaTooNew(m) | StoreError::Backend(m) => CoreError::Storage(m),
        }
    }
}

impl From<sejf_crypto::CryptoError> for CoreError {
    fn from(e: sejf_crypto::CryptoError) -> Self {
        match e {
            sejf_crypto::CryptoError::Integrity | sejf_crypto::CryptoError::Format(_) => CoreError::Integrity(e.to_string()),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

/// The application: store, keys, policies, settings and clock, shared by every request.
pub struct App {
    store: Arc<dyn Store>,
    keys: Keyring,
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// The policy set in force; replaced whole on reload (requests in flight keep theirs).
    policy: std::sync::RwLock<Arc<sejf_policy::PolicyEngine>>,
    audit_log: audit::AuditLog,
    /// Concurrent single-person reads share one query.
    person_reads: people::PersonReads,
    honey: insider::HoneyCache,
    read_counts: insider::ReadCounts,
    sealer: tokio::sync::Mutex<Option<audit::SealerState>>,
    /// The audit public key pinned outside the database (config.toml), once the caller says.
    audit_pin: std::sync::OnceLock<[u8; 32]>,
    /// Where alerts also go (webhook, syslog), once the server has wired a delivery task.
    alerts_out: std::sync::OnceLock<tokio::sync::mpsc::Sender<insider::Notice>>,
    /// Alerts raised since start (for `/metrics`).
    alerts_raised: std::sync::atomic::AtomicU64,
    /// This server's part of the sign-in guard.
    guard: guard::Local,
    /// Restricted people (GDPR art. 18), read again every second.
    restricted: gdpr::RestrictedSet,
    /// Bearer tokens admitted in the last half second (ADR 0029).
    tokens: tokens::Tokens,
    /// The last seal of the audit trail: unix µs of success, 0 never, -1 failed.
    seal_state: std::sync::atomic::AtomicI64,
}

impl App {
    /// Opens the key hierarchy over `store` (creating index keys on first use).
    pub async fn new(
        store: Arc<dyn Store>,
        master: sejf_crypto::MasterKey,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CoreError> {
        let keys = Keyring::open(store.as_ref(), master).await?;
        let policy = sejf_policy::PolicyEngine::default_set().map_err(|e| CoreError::Internal(format!("built-in policies: {e}")))?;
        let audit_log = audit::AuditLog::start(store.clone());
        let (settings_hashers, settings_queue) = (settings.throttle.hashers, settings.throttle.hash_queue);
        let person_reads = people::PersonReads::start(store.clone());
        let app = Self {
            store,
            keys,
            settings,
            clock,
            policy: std::sync::RwLock::new(Arc::new(policy)),
            audit_log,
            person_reads,
            honey: insider::HoneyCache::default(),
            read_counts: insider::ReadCounts::default(),
            sealer: tokio::sync::Mutex::new(None),
            audit_pin: std::sync::OnceLock::new(),
            alerts_out: std::sync::OnceLock::new(),
            alerts_raised: std::sync::atomic::AtomicU64::new(0),
            guard: guard::Local::new(settings_hashers, settings_queue),
            restricted: gdpr::RestrictedSet::default(),
            tokens: tokens::Tokens::default(),
            seal_state: std::sync::atomic::AtomicI64::new(0),
        };
        app.start_read_flusher();
        Ok(app)
    }

    /// The policy set in force.
    pub fn policy(&self) -> Arc<sejf_policy::PolicyEngine> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a validated policy set in force for every request from now on.
    pub fn set_policy(&self, engine: sejf_policy::PolicyEngine) {
        let mut slot = match self.policy.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(engine);
    }

    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// The installation's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// Formats unix microseconds as RFC 3339 (UTC).
pub fn rfc3339(micros: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
