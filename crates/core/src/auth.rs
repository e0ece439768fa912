//! Sign-in: Argon2id passwords, mandatory TOTP (see [`crate::mfa`]), throttling per account and
//! per address, and opaque bearer tokens stored only as SHA-256 digests, with idle and absolute
//! expiry. An unknown user costs as much work as a wrong password.

use std::net::IpAddr;

use sejf_crypto::{password, token};
use uuid::Uuid;

use crate::authz::{Actor, Scope};
use crate::ports::{AuditEvent, SessionRow, ThrottleRow, UserRow};
use crate::{App, CoreError};

/// Only the session's touch time is written, at most this often, so reads stay reads.
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;
/// An enrolment token (password only, no TOTP yet) lives this long.
pub const ENROLL_TOKEN_SECS: i64 = 10 * 60;

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

/// A new session: the token is shown to the client once.
#[derive(Debug)]
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    /// The token may only enrol TOTP: the account has none yet.
    pub must_enroll: bool,
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

impl App {
    /// Signs in. Failures (password or second factor) are counted per account name and per
    /// client address; a locked key answers [`CoreError::Throttled`] whether or not the account
    /// exists and whether or not the password is right.
    ///
    /// With TOTP enrolled, `totp` must hold a current code (or a recovery code); without it a
    /// right password answers [`CoreError::MfaRequired`]. Without TOTP enrolled the password
    /// yields only an enrolment token, unless the installation runs with MFA switched off.
    pub async fn login(&self, username: &str, pw: &str, totp: Option<&str>, client: IpAddr) -> Result<Login, CoreError> {
        let result = self.login_inner(username, pw, totp, client).await;
        // Every attempt is audited, success or not; the name tried is recorded, never the password.
        let (outcome, detail) = match &result {
            Ok(l) if l.must_enroll => ("ok", "mfa=enroll"),
            Ok(_) => ("ok", ""),
            Err(CoreError::BadCredentials) => ("failed", ""),
            Err(CoreError::MfaRequired) => ("failed", "mfa-required"),
            Err(CoreError::Throttled { .. }) => ("denied", "throttled"),
            Err(CoreError::NetworkNotAllowed) => ("denied", "network-not-allowed"),
            Err(_) => ("error", ""),
        };
        let user = self.store.user_by_name(username).await.ok().flatten();
        let ev = AuditEvent {
            at: self.now(),
            actor_id: user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
            actor: username.chars().take(64).collect(),
            role: user.map(|u| u.role).unwrap_or_default(),
            action: "auth.login".into(),
            resource_type: "session".into(),
            outcome: outcome.into(),
            client: client.to_string(),
            detail: detail.into(),
            ..Default::default()
        };
        self.audit(vec![ev]).await?;
        result
    }

    async fn login_inner(&self, username: &str, pw: &str, totp: Option<&str>, client: IpAddr) -> Result<Login, CoreError> {
        let now = self.now();
        let keys = [account_key(username), address_key(client)];
        for key in &keys {
            if let Some(row) = self.store.throttle_get(key).await?
                && row.locked_until > now
            {
                return Err(CoreError::Throttled { retry_after_secs: (row.locked_until - now + 999_999) / 1_000_000 });
            }
        }
        let checked = match self.check_password(username, pw).await {
            Ok(user) if user.mfa_enabled => match totp.map(str::trim).filter(|c| !c.is_empty()) {
                None => return Err(CoreError::MfaRequired),
                Some(code) => self.check_second_factor(&user, code).await.map(|()| user),
            },
            other => other,
        };
        match checked {
            Ok(user) if !self.network_allows(&user.role, client) => {
                // Only after both factors: an outsider learns nothing about the password here.
                tracing::warn!(user = %user.username, role = %user.role, client = %client, "sign-in refused: role not allowed from this network");
                Err(CoreError::NetworkNotAllowed)
            }
            Ok(user) => {
                self.store.throttle_clear(&keys[0]).await?;
                let enroll = !user.mfa_enabled && self.settings.mfa_required;
                self.open_session(&user, if enroll { Scope::Enroll } else { Scope::Full }).await
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
        self.store.throttle_clear(&account_key(username)).await?;
        let mut ev = self.event(&Actor::operator(), "auth.unlock", "user", "");
        ev.detail = format!("name={}", username.chars().take(64).collect::<String>());
        self.audit(vec![ev]).await
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
            Some(u) if ok && !u.disabled && !u.service => Ok(u),
            _ => Err(CoreError::BadCredentials),
        }
    }

    async fn open_session(&self, user: &UserRow, scope: Scope) -> Result<Login, CoreError> {
        let now = self.now();
        let must_enroll = scope == Scope::Enroll;
        let lifetime = if must_enroll { ENROLL_TOKEN_SECS } else { self.settings.session_absolute_secs };
        let (token, _) = self.issue_token(user.id, &scope, "", now + lifetime * 1_000_000).await?;
        Ok(Login { token, expires_at: now + lifetime * 1_000_000, must_enroll })
    }

    /// Stores a new token of `scope` for `user_id`; returns the token and its session id.
    pub(crate) async fn issue_token(
        &self,
        user_id: Uuid,
        scope: &Scope,
        label: &str,
        expires_at: i64,
    ) -> Result<(String, Uuid), CoreError> {
        let now = self.now();
        let token = token::generate()?;
        let id = Uuid::now_v7();
        self.store
            .session_create(SessionRow {
                id,
                user_id,
                token_hash: token::hash(&token),
                created_at: now,
                last_seen: now,
                expires_at,
                scope: scope.to_stored(),
                label: label.to_string(),
            })
            .await?;
        Ok((token, id))
    }

    /// Whether a user of `role` may act from `client` (per-role network allowlists).
    fn network_allows(&self, role: &str, client: IpAddr) -> bool {
        let Ok(role) = role.parse::<sejf_domain::roles::Role>() else { return false };
        self.settings.role_networks.get(&role).is_none_or(|blocks| blocks.iter().any(|b| b.contains(client)))
    }

    /// Resolves a bearer token to its caller, enforcing idle and absolute expiry (API tokens
    /// have no idle limit: integrations call rarely, and their tokens expire absolutely) and the
    /// role's network allowlist.
    pub async fn authenticate(&self, bearer: &str, client: IpAddr) -> Result<Actor, CoreError> {
        let session = self.store.session_by_hash(&token::hash(bearer)).await?.ok_or(CoreError::Unauthenticated)?;
        let scope = Scope::from_stored(&session.scope).ok_or(CoreError::Unauthenticated)?;
        let now = self.now();
        let idle = !matches!(scope, Scope::Api(_)) && now - session.last_seen > self.settings.session_idle_secs * 1_000_000;
        if now >= session.expires_at || idle {
            self.store.session_delete(session.id).await?;
            return Err(CoreError::Unauthenticated);
        }
        let user = self.store.user_by_id(session.user_id).await?.ok_or(CoreError::Unauthenticated)?;
        if user.disabled {
            return Err(CoreError::Unauthenticated);
        }
        if !self.network_allows(&user.role, client) {
            tracing::warn!(user = %user.username, client = %client, "token refused: role not allowed from this network");
            return Err(CoreError::NetworkNotAllowed);
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
            scope,
            client: client.to_string(),
            request_id: String::new(),
        })
    }

    pub async fn logout(&self, actor: &Actor) -> Result<(), CoreError> {
        self.store.session_delete(actor.session_id).await?;
        self.audit(vec![self.event(actor, "auth.logout", "session", &actor.session_id.to_string())]).await
    }

    /// The caller's sessions (and API tokens, for a service account).
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
}
