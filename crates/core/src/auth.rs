//! Sign-in and user administration: Argon2id password hashes, opaque bearer tokens stored only
//! as SHA-256 digests, idle and absolute session expiry, and constant-work login so that an
//! unknown user costs as much as a wrong password.

use sejf_crypto::{password, token};
use sejf_domain::ValidationErrors;
use sejf_domain::roles::Role;
use sejf_domain::values::UnitSlug;
use uuid::Uuid;

use std::net::IpAddr;

use crate::authz::Actor;
use crate::ports::{SessionRow, ThrottleRow, UserRow};
use crate::{App, CoreError};

/// Brute-force limits: failures within a window earn a lock that doubles each time.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures per account name within the window before it locks.
    pub account_failures: i64,
    /// Failures per client address within the window before it locks.
    pub address_failures: i64,
    pub window_secs: i64,
    /// The first lock; each further lock doubles, up to `max_lock_secs`.
    pub lock_secs: i64,
    pub max_lock_secs: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self { account_failures: 10, address_failures: 30, window_secs: 60, lock_secs: 15 * 60, max_lock_secs: 24 * 3600 }
    }
}

fn account_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn address_key(addr: IpAddr) -> String {
    format!("addr:{addr}")
}

/// One of the caller's sessions, as `GET /auth/sessions` shows it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    pub current: bool,
}

/// Only the session's touch time is written, at most this often, so reads stay reads.
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 128;

/// A new session: the token is shown to the client once.
#[derive(Debug)]
pub struct Login {
    pub token: String,
    pub expires_at: i64,
}

/// A user as administrators see it (no hash).
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub units: Vec<String>,
    pub disabled: bool,
    pub created_at: i64,
}

impl UserInfo {
    fn from_row(row: &UserRow) -> Result<Self, CoreError> {
        Ok(Self {
            id: row.id,
            username: row.username.clone(),
            role: row.role.parse().map_err(CoreError::Internal)?,
            units: row.units.clone(),
            disabled: row.disabled,
            created_at: row.created_at,
        })
    }
}

/// A user name: 1 to 64 characters of lower-case letters, digits, '.', '_', '-' or '@'.
pub fn check_username(name: &str) -> Result<(), ValidationErrors> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'));
    if ok { Ok(()) } else { Err(ValidationErrors::single("username", "must be 1 to 64 characters: a-z, 0-9, '.', '_', '-', '@'")) }
}

/// Length limits now; strength scoring arrives with the identity work.
pub fn check_password(pw: &str, username: &str) -> Result<(), ValidationErrors> {
    let n = pw.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ValidationErrors::single("password", format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")));
    }
    if pw.eq_ignore_ascii_case(username) {
        return Err(ValidationErrors::single("password", "must not be the user name"));
    }
    Ok(())
}

async fn hash_blocking(pw: String) -> Result<String, CoreError> {
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|e| CoreError::Internal(e.to_string()))
}

impl App {
    /// Checks a user name and password and opens a session. Failures are counted per account
    /// name and per client address; a locked key answers [`CoreError::Throttled`] whether or not
    /// the account exists and whether or not the password is right.
    pub async fn login(&self, username: &str, pw: &str, client: IpAddr) -> Result<Login, CoreError> {
        let now = self.now();
        let keys = [account_key(username), address_key(client)];
        for key in &keys {
            if let Some(row) = self.store.throttle_get(key).await?
                && row.locked_until > now
            {
                return Err(CoreError::Throttled { retry_after_secs: (row.locked_until - now + 999_999) / 1_000_000 });
            }
        }
        match self.check_password(username, pw).await {
            Ok(user) => {
                self.store.throttle_clear(&keys[0]).await?;
                self.open_session(&user).await
            }
            Err(CoreError::BadCredentials) => {
                let policy = self.settings.throttle;
                let account = self.record_failure(&keys[0], policy.account_failures, now).await?;
                let address = self.record_failure(&keys[1], policy.address_failures, now).await?;
                if account || address {
                    tracing::warn!(client = %client, "sign-in locked after repeated failures");
                }
                Err(CoreError::BadCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Counts a failure under `key`; true if it just earned a lock.
    async fn record_failure(&self, key: &str, threshold: i64, now: i64) -> Result<bool, CoreError> {
        let p = self.settings.throttle;
        let mut row = self.store.throttle_get(key).await?.unwrap_or(ThrottleRow {
            key: key.to_string(),
            failures: 0,
            window_start: now,
            locked_until: 0,
            locks: 0,
        });
        if now - row.window_start > p.window_secs * 1_000_000 {
            row.failures = 0;
            row.window_start = now;
        }
        row.failures += 1;
        let locked = row.failures >= threshold;
        if locked {
            let secs = p.lock_secs.saturating_mul(1i64 << row.locks.clamp(0, 20)).min(p.max_lock_secs);
            row.locked_until = now + secs * 1_000_000;
            row.locks += 1;
            row.failures = 0;
            row.window_start = now;
        }
        self.store.throttle_put(row).await?;
        Ok(locked)
    }

    /// Lifts a lock on an account name (an administrator's remedy for a user locked out).
    pub async fn unlock(&self, username: &str) -> Result<(), CoreError> {
        Ok(self.store.throttle_clear(&account_key(username)).await?)
    }

    /// The caller's sessions.
    pub async fn sessions(&self, actor: &Actor) -> Result<Vec<SessionInfo>, CoreError> {
        let rows = self.store.sessions_for_user(actor.user_id).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id,
                created_at: s.created_at,
                last_seen: s.last_seen,
                expires_at: s.expires_at,
                current: s.id == actor.session_id,
            })
            .collect())
    }

    /// Ends one of the caller's own sessions; another user's session id is "not found".
    pub async fn end_session(&self, actor: &Actor, id: Uuid) -> Result<(), CoreError> {
        let mine = self.store.sessions_for_user(actor.user_id).await?;
        if !mine.iter().any(|s| s.id == id) {
            return Err(CoreError::NotFound);
        }
        Ok(self.store.session_delete(id).await?)
    }

    async fn check_password(&self, username: &str, pw: &str) -> Result<UserRow, CoreError> {
        let user = self.store.user_by_name(username).await?;
        let pw_owned = pw.to_string();
        let ok = match &user {
            Some(u) => {
                let phc = u.password_hash.clone();
                tokio::task::spawn_blocking(move || password::verify(&pw_owned, &phc).unwrap_or(false))
                    .await
                    .map_err(|e| CoreError::Internal(e.to_string()))?
            }
            None => tokio::task::spawn_blocking(move || password::verify_dummy(&pw_owned))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?,
        };
        match user {
            Some(u) if ok && !u.disabled => Ok(u),
            _ => Err(CoreError::BadCredentials),
        }
    }

    async fn open_session(&self, user: &UserRow) -> Result<Login, CoreError> {
        let now = self.now();
        let token = token::generate()?;
        let expires_at = now + self.settings.session_absolute_secs * 1_000_000;
        self.store
            .session_create(SessionRow {
                id: Uuid::now_v7(),
                user_id: user.id,
                token_hash: token::hash(&token),
                created_at: now,
                last_seen: now,
                expires_at,
            })
            .await?;
        Ok(Login { token, expires_at })
    }

    /// Resolves a bearer token to its caller, enforcing idle and absolute expiry.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor, CoreError> {
        let session = self.store.session_by_hash(&token::hash(bearer)).await?.ok_or(CoreError::Unauthenticated)?;
        let now = self.now();
        if now >= session.expires_at || now - session.last_seen > self.settings.session_idle_secs * 1_000_000 {
            self.store.session_delete(session.id).await?;
            return Err(CoreError::Unauthenticated);
        }
        let user = self.store.user_by_id(session.user_id).await?.ok_or(CoreError::Unauthenticated)?;
        if user.disabled {
            return Err(CoreError::Unauthenticated);
        }
        if now - session.last_seen > TOUCH_EVERY_MICROS {
            self.store.session_touch(session.id, now).await?;
        }
        Ok(Actor {
            user_id: user.id,
            username: user.username,
            role: user.role.parse().map_err(CoreError::Internal)?,
            units: user.units,
            session_id: session.id,
        })
    }

    pub async fn logout(&self, actor: &Actor) -> Result<(), CoreError> {
        Ok(self.store.session_delete(actor.session_id).await?)
    }

    /// Creates a user. Units that do not exist yet are created.
    pub async fn create_user(&self, username: &str, role: Role, units: &[String], pw: &str) -> Result<UserInfo, CoreError> {
        check_username(username)?;
        check_password(pw, username)?;
        let mut errs = ValidationErrors::default();
        let mut slugs: Vec<String> = Vec::new();
        for u in units {
            match UnitSlug::parse(u) {
                Ok(s) if !slugs.contains(&s.as_str().to_string()) => slugs.push(s.as_str().to_string()),
                Ok(_) => {}
                Err(e) => errs.push("unit", e.0),
            }
        }
        errs.into_result(())?;
        if slugs.is_empty() {
            slugs.push(DEFAULT_UNIT.to_string());
        }
        let row = UserRow {
            id: Uuid::now_v7(),
            username: username.to_string(),
            password_hash: hash_blocking(pw.to_string()).await?,
            role: role.as_str().to_string(),
            disabled: false,
            units: slugs,
            created_at: self.now(),
        };
        self.store.user_create(row.clone()).await.map_err(|e| match e {
            crate::StoreError::Conflict(_) => CoreError::Conflict("a user with this name exists".into()),
            other => other.into(),
        })?;
        UserInfo::from_row(&row)
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, CoreError> {
        self.store.users_list().await?.iter().map(UserInfo::from_row).collect()
    }

    pub async fn user(&self, username: &str) -> Result<UserInfo, CoreError> {
        let row = self.store.user_by_name(username).await?.ok_or(CoreError::NotFound)?;
        UserInfo::from_row(&row)
    }

    /// Disables a user and ends all their sessions at once.
    pub async fn disable_user(&self, username: &str) -> Result<(), CoreError> {
        let u = self.user(username).await?;
        self.store.user_set_disabled(u.id, true).await?;
        self.store.sessions_delete_for_user(u.id).await?;
        Ok(())
    }

    /// Sets a new password and ends all the user's sessions.
    pub async fn reset_password(&self, username: &str, pw: &str) -> Result<(), CoreError> {
        let u = self.user(username).await?;
        check_password(pw, username)?;
        let hash = hash_blocking(pw.to_string()).await?;
        self.store.user_set_password(u.id, &hash).await?;
        self.store.sessions_delete_for_user(u.id).await?;
        Ok(())
    }

    pub async fn set_role(&self, username: &str, role: Role) -> Result<(), CoreError> {
        let u = self.user(username).await?;
        self.store.user_set_role(u.id, role.as_str()).await?;
        self.store.sessions_delete_for_user(u.id).await?;
        Ok(())
    }
}

/// The unit of a user created without one.
pub const DEFAULT_UNIT: &str = "main";
