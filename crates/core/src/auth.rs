//! Sign-in: Argon2id passwords, mandatory TOTP (see [`crate::mfa`]), throttling per account and
//! per address, and opaque bearer tokens stored only as SHA-256 digests, with idle and absolute
//! expiry. An unknown user costs as much work as a wrong password.

use crate::actions::AuditAction;
use std::net::IpAddr;

use sejf_crypto::token;
use uuid::Uuid;

use crate::authz::{Actor, Scope};
use crate::ports::{AccountChange, AuditEvent, SessionRow, UserRow};
use crate::{App, CoreError, tokens};

/// Only the session's touch time is written, at most this often, so reads stay reads.
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;
/// An enrolment token (password only, no TOTP yet) lives this long.
pub const ENROLL_TOKEN_SECS: i64 = 10 * 60;

pub use crate::guard::ThrottlePolicy;

/// What a sign-in attempt spent of its reservations (see [`crate::guard`]).
/// A sign-in's answer and the session it opens, stored with the sign-in's event.
type Opening = (Login, SessionRow);

enum Spent {
    /// A wrong password was checked: the attempt stays counted.
    WrongPassword,
    /// No password was guessed (not checked, or right): the attempt is taken back.
    Nothing,
    /// Something failed midway: the count stays, which errs on the closed side.
    Unknown,
}

/// An integration's API token may not see or end the account's other tokens: one leaked token
/// must not be able to revoke the rest, nor learn how many there are.
fn refuse_api_token(actor: &Actor) -> Result<(), CoreError> {
    match actor.scope {
        Scope::Api(_) => Err(CoreError::Forbidden("an API token may not list or end the account's tokens".into())),
        _ => Ok(()),
    }
}

/// A new session: the token is shown to the client once.
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    /// The token may only enrol TOTP: the account has none yet.
    pub must_enroll: bool,
    /// The token may only change the password (an administrator set it).
    pub password_change_required: bool,
}

sejf_domain::redacted_debug!(Login { expires_at, must_enroll, password_change_required });

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
    /// Signs in, through the sign-in guard ([`crate::guard`]): a locked (account, address)
    /// pair or address, or an account whose turn has not come, answers
    /// [`CoreError::Throttled`] whether or not the account exists or the password is right.
    ///
    /// For an account with TOTP, a sign-in without `totp` answers [`CoreError::MfaRequired`]
    /// without looking at the password (so it tells nothing about it); with a code, any failure
    /// is [`CoreError::BadCredentials`]. Without TOTP enrolled the password yields only an
    /// enrolment token, unless the installation runs with MFA switched off.
    pub async fn login(&self, username: &str, pw: &str, totp: Option<&str>, client: IpAddr) -> Result<Login, CoreError> {
        // Beyond the hashing slots and their short queue, refuse before any other work.
        let _admitted = self.guard_admit()?;
        // A name that could not be an account is not looked up (bad-credentials after the
        // same work as a wrong password).
        let user = match crate::users::check_username(username) {
            Ok(()) => self.store.user_by_name(username).await?,
            Err(_) => None,
        };
        let keys = self.guard_keys(username, client).await?;
        let (result, session) = match self.login_inner(user.as_ref(), &keys, pw, totp, client).await {
            Ok((login, session)) => (Ok(login), Some(session)),
            Err(e) => (Err(e), None),
        };
        // Attempts refused by a lock checked nothing: like anonymous refusals, the first per
        // client block and minute is written and the rest are summed into a summary event.
        if matches!(result, Err(CoreError::Throttled { .. })) && !self.tally_refusal(&client.to_string(), self.now()) {
            return result;
        }
        // Every attempt is audited, success or not. The name tried is recorded only when it
        // names an account (people type passwords into that field); otherwise its keyed hash.
        let (outcome, detail) = match &result {
            Ok(l) if l.must_enroll => ("ok", "mfa=enroll"),
            Ok(_) => ("ok", ""),
            Err(CoreError::BadCredentials) => ("failed", ""),
            Err(CoreError::MfaRequired) => ("failed", "mfa-required"),
            Err(CoreError::Throttled { .. }) => ("denied", "throttled"),
            Err(CoreError::Busy { .. }) => ("denied", "busy"),
            Err(CoreError::AccountLocked) => ("denied", "locked-wrong-codes"),
            Err(CoreError::NetworkNotAllowed) => ("denied", "network-not-allowed"),
            Err(_) => ("error", ""),
        };
        let ev = AuditEvent {
            at: self.now(),
            actor_id: user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
            actor: user.as_ref().map_or_else(|| format!("unknown-name:{}", keys.name_tag), |u| u.username.clone()),
            role: user.map(|u| u.role).unwrap_or_default(),
            action: AuditAction::AuthLogin.as_str().into(),
            resource_type: "session".into(),
            outcome: outcome.into(),
            client: client.to_string(),
            detail: detail.into(),
            ..Default::default()
        };
        // A session opens only together with the event that records the sign-in.
        match session {
            Some(session) => self.store.session_create(session, vec![ev]).await?,
            None => self.audit(vec![ev]).await?,
        }
        result
    }

    async fn login_inner(
        &self,
        user: Option<&UserRow>,
        keys: &crate::guard::Keys,
        pw: &str,
        totp: Option<&str>,
        client: IpAddr,
    ) -> Result<Opening, CoreError> {
        let started = self.now();
        let p = self.settings.throttle;
        // Reserve the attempt under the address and the (account, address) pair first.
        let addr_count = self.guard_reserve(&keys.addr, p.address_failures, p.window_secs, started).await?;
        let pair_count = match self.guard_reserve(&keys.pair, p.pair_failures, p.window_secs, started).await {
            Ok(n) => n,
            Err(e) => {
                self.store.throttle_refund(&keys.addr, started, false).await?;
                return Err(e);
            }
        };
        let code = totp.map(str::trim).filter(|c| !c.is_empty());
        let enrolled = user.is_some_and(|u| u.mfa_enabled);
        let (outcome, spent) = if enrolled && self.guard_totp_locked(keys, started).await? {
            // Only wrong codes after a right password lock an account; it answers alike for
            // any password, so the lock tells nothing about one.
            (Err(CoreError::AccountLocked), Spent::Nothing)
        } else if enrolled && code.is_none() {
            // The password is not looked at: answering from it would be an oracle. The same
            // work as a check is spent, so the answer's timing does not tell either.
            match self.verify_password(None, pw).await {
                Ok(_) => (Err(CoreError::MfaRequired), Spent::Nothing),
                Err(e) => (Err(e), Spent::Nothing),
            }
        } else {
            self.check_credentials(user, keys, pw, code, client, started).await
        };
        match spent {
            Spent::WrongPassword => {
                // The reservations stand, and at a limit they lock.
                let pair = self.guard_failed(&keys.pair, pair_count, p.pair_failures, started).await?;
                let addr = self.guard_failed(&keys.addr, addr_count, p.address_failures, started).await?;
                if pair || addr {
                    tracing::warn!(client = %client, "sign-in locked for this address after repeated failures");
                }
            }
            Spent::Nothing => {
                // Nothing was guessed from this address, or the password was right: take the
                // reservations back (for the pair, its whole count, unless it locked meanwhile).
                self.store.throttle_refund(&keys.pair, started, true).await?;
                self.store.throttle_refund(&keys.addr, started, false).await?;
            }
            Spent::Unknown => {}
        }
        outcome
    }

    /// Checks the password (one check per account at a time, across servers) and, for an
    /// enrolled account, the code; says whether a wrong password was spent.
    async fn check_credentials(
        &self,
        user: Option<&UserRow>,
        keys: &crate::guard::Keys,
        pw: &str,
        code: Option<&str>,
        client: IpAddr,
        started: i64,
    ) -> (Result<Opening, CoreError>, Spent) {
        let lease = match self.guard_lease(&keys.account).await {
            Ok(lease) => lease,
            Err(e @ CoreError::Throttled { .. }) => return (Err(e), Spent::Nothing),
            Err(e) => return (Err(e), Spent::Unknown),
        };
        let right = self.verify_password(user, pw).await;
        // A disabled or service account's password counts as wrong: it opens nothing.
        let usable = match (&right, user) {
            (Ok(true), Some(u)) if !u.disabled && !u.service => Some(u),
            _ => None,
        };
        let released = self.guard_release(lease, keys, right.is_ok() && usable.is_none(), user, client).await;
        let user = match (right, released, usable) {
            (Err(e), _, _) | (_, Err(e), _) => return (Err(e), Spent::Unknown),
            (Ok(_), Ok(()), None) => return (Err(CoreError::BadCredentials), Spent::WrongPassword),
            (Ok(_), Ok(()), Some(u)) => u,
        };
        (self.second_factor_and_session(user, keys, code, client, started).await, Spent::Nothing)
    }

    /// After a right password: the code (for an enrolled account), the network, the session.
    async fn second_factor_and_session(
        &self,
        user: &UserRow,
        keys: &crate::guard::Keys,
        code: Option<&str>,
        client: IpAddr,
        started: i64,
    ) -> Result<Opening, CoreError> {
        if user.mfa_enabled {
            let code = code.ok_or(CoreError::MfaRequired)?;
            let count = self.guard_totp_reserve(keys, started).await?;
            match self.check_second_factor(user, code).await {
                Ok(()) => self.store.throttle_refund(&keys.totp, started, true).await?,
                Err(CoreError::BadCredentials) => {
                    self.guard_totp_failed(keys, count, user, client).await?;
                    return Err(CoreError::BadCredentials);
                }
                Err(other) => return Err(other),
            }
        }
        if !user.role.parse().is_ok_and(|role| self.network_allows(role, client)) {
            // Only after both factors: an outsider learns nothing about the password here.
            tracing::warn!(user = %user.username, role = %user.role, client = %client, "sign-in refused: role not allowed from this network");
            return Err(CoreError::NetworkNotAllowed);
        }
        let enroll = !user.mfa_enabled && self.settings.mfa_required;
        self.open_session(user, if enroll { Scope::Enroll } else { Scope::Full })
    }

    /// Lifts the sign-in locks and delays of an account name (an administrator's remedy for a
    /// user locked out, after the password and TOTP were reset).
    pub async fn unlock(&self, actor: &Actor, username: &str) -> Result<(), CoreError> {
        self.may_manage_users(actor)?;
        self.guard_clear_account(username).await?;
        let mut ev = self.event(actor, AuditAction::AuthUnlock, "user", "");
        ev.detail = match self.store.user_by_name(username).await? {
            Some(u) => format!("user={}", u.id),
            None => "unknown-name".into(),
        };
        self.audit(vec![ev]).await
    }

    /// The token and session of a sign-in, not stored yet: [`Self::login`] stores the session
    /// with its audit event.
    fn open_session(&self, user: &UserRow, scope: Scope) -> Result<Opening, CoreError> {
        let now = self.now();
        // A password an administrator set opens nothing but its own change (before enrolment).
        let scope = if user.must_change_password { Scope::Password } else { scope };
        let must_enroll = scope == Scope::Enroll;
        let password_change_required = scope == Scope::Password;
        let lifetime = if must_enroll || password_change_required { ENROLL_TOKEN_SECS } else { self.settings.session_absolute_secs };
        let (token, session) = self.new_token(user.id, &scope, "", now + lifetime * 1_000_000)?;
        Ok((Login { token, expires_at: now + lifetime * 1_000_000, must_enroll, password_change_required }, session))
    }

    /// Changes the caller's own password (`POST /auth/password`): the current password and,
    /// for an enrolled account, a current TOTP code are checked; the new password passes the
    /// same rules as any other. Every other session of the user ends; a token that could only
    /// change the password ends too (the user signs in again with the new one). Audited.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str, totp: Option<&str>) -> Result<(), CoreError> {
        if !matches!(actor.scope, Scope::Full | Scope::Password) {
            return Err(CoreError::Forbidden("this token may not change a password".into()));
        }
        let user = self.store.user_by_id(actor.user_id).await?.ok_or(CoreError::Unauthenticated)?;
        let result = self.change_password_inner(actor, &user, current, new, totp).await;
        let mut ev = self.event(actor, AuditAction::AuthPasswordChange, "user", &user.id.to_string());
        ev.outcome = match &result {
            Ok(_) => "ok",
            Err(CoreError::BadCredentials) => "failed",
            Err(CoreError::Validation(_)) => "invalid",
            Err(_) => "error",
        }
        .into();
        match result {
            // The new password and the sessions it ends commit with the event.
            Ok(change) => {
                self.account_change(change, vec![ev]).await?;
                Ok(())
            }
            Err(e) => {
                self.audit(vec![ev]).await?;
                Err(e)
            }
        }
    }

    /// Checks a password change and answers what it will do, not done yet.
    async fn change_password_inner(
        &self,
        actor: &Actor,
        user: &UserRow,
        current: &str,
        new: &str,
        totp: Option<&str>,
    ) -> Result<AccountChange, CoreError> {
        // Guessing the current password with a stolen token is throttled as sign-in is: after
        // `pair_failures` wrong ones within the window, changes are refused for `lock_secs`.
        let p = self.settings.throttle;
        let now = self.now();
        let key = format!("c:{}", self.guard_keys(&user.username, std::net::IpAddr::from([0, 0, 0, 0])).await?.name_tag);
        if let Some(row) = self.store.throttle_get(&key).await?
            && row.locked_until > now
        {
            return Err(CoreError::Throttled { retry_after_secs: ((row.locked_until - now + 999_999) / 1_000_000).max(1) });
        }
        // The same bounded hashing slots as sign-in, so password changes cannot flood memory.
        let right = self.verify_password(Some(user), current).await?;
        if !right {
            let row = self.store.throttle_hit(&key, now, now - p.window_secs * 1_000_000).await?;
            if row.failures >= p.pair_failures {
                self.store.throttle_lock(&key, now, now + p.lock_secs * 1_000_000).await?;
            }
            return Err(CoreError::BadCredentials);
        }
        if user.mfa_enabled {
            let code = totp.map(str::trim).filter(|c| !c.is_empty()).ok_or(CoreError::MfaRequired)?;
            self.check_second_factor(user, code).await?;
        }
        crate::users::check_password(new, &user.username).map_err(|mut e| {
            e.0.iter_mut().for_each(|f| f.field = "new_password".into());
            e
        })?;
        if new == current {
            return Err(sejf_domain::ValidationErrors::single("new_password", "must differ from the current password").into());
        }
        let hash = crate::users::hash_blocking(new.to_string()).await?;
        // Every other session ends; a token that could only change the password ends too.
        Ok(AccountChange {
            user: user.id,
            password_hash: Some(hash),
            must_change_password: Some(false),
            end_sessions: true,
            keep_session: (actor.scope != Scope::Password).then_some(actor.session_id),
            ..AccountChange::default()
        })
    }

    /// A new token of `scope` for `user_id` and the session row that stores its hash; the
    /// caller stores the row with its audit event.
    pub(crate) fn new_token(&self, user_id: Uuid, scope: &Scope, label: &str, expires_at: i64) -> Result<(String, SessionRow), CoreError> {
        let now = self.now();
        let token = token::generate()?;
        let session = SessionRow {
            id: Uuid::now_v7(),
            user_id,
            token_hash: token::hash(&token),
            created_at: now,
            last_seen: now,
            expires_at,
            scope: scope.to_stored(),
            label: label.to_string(),
        };
        Ok((token, session))
    }

    /// Whether a user of `role` may act from `client` (per-role network allowlists).
    fn network_allows(&self, role: sejf_domain::roles::Role, client: IpAddr) -> bool {
        self.settings.role_networks.get(&role).is_none_or(|blocks| blocks.iter().any(|b| b.contains(client)))
    }

    /// Resolves a bearer token to its caller, enforcing idle and absolute expiry (API tokens
    /// have no idle limit: integrations call rarely, and their tokens expire absolutely) and the
    /// role's network allowlist.
    ///
    /// One indexed read, or none when this server admitted the same token less than half a
    /// second ago ([`crate::tokens`], ADR 0029): a session ended, a role changed or a user
    /// disabled elsewhere stops working here within that; a change made here, at once.
    pub async fn authenticate(&self, bearer: &str, client: IpAddr) -> Result<Actor, CoreError> {
        let digest = token::hash(bearer);
        let now = self.now();
        let kept = self.tokens.fresh(&digest, std::time::Instant::now()).filter(|a| !self.lapsed(a, now));
        let admitted = match kept {
            Some(admitted) => admitted,
            None => self.admit(digest.clone(), now).await?,
        };
        if !self.network_allows(admitted.actor.role, client) {
            tracing::warn!(user = %admitted.actor.username, client = %client, "token refused: role not allowed from this network");
            return Err(CoreError::NetworkNotAllowed);
        }
        if now - admitted.last_seen > TOUCH_EVERY_MICROS {
            self.store.session_touch(admitted.actor.session_id, now).await?;
            self.tokens.touched(&digest, now);
        }
        Ok(Actor { client: client.to_string(), ..admitted.actor })
    }

    /// Reads the token `digest` names and decides on what the store holds now: a session past
    /// its expiry ends, a disabled user is refused; what passes is kept for the next requests.
    async fn admit(&self, digest: Vec<u8>, now: i64) -> Result<tokens::Admitted, CoreError> {
        let (generation, read_at) = (self.tokens.generation(), std::time::Instant::now());
        let (session, user) = self.store.session_with_user(&digest).await?.ok_or(CoreError::Unauthenticated)?;
        let scope = Scope::from_stored(&session.scope).ok_or(CoreError::Unauthenticated)?;
        let admitted = tokens::Admitted {
            actor: Actor {
                user_id: user.id,
                username: user.username,
                role: user.role.parse().map_err(CoreError::Internal)?,
                units: user.units,
                session_id: session.id,
                scope,
                client: String::new(),
                request_id: String::new(),
            },
            last_seen: session.last_seen,
            expires_at: session.expires_at,
        };
        if self.lapsed(&admitted, now) {
            let ended = AccountChange { user: session.user_id, end_session: vec![session.id], ..AccountChange::default() };
            self.account_change(ended, Vec::new()).await?;
            return Err(CoreError::Unauthenticated);
        }
        if user.disabled {
            return Err(CoreError::Unauthenticated);
        }
        self.tokens.keep(digest, admitted.clone(), generation, read_at);
        Ok(admitted)
    }

    /// Whether a session is past its absolute expiry or (but an API token) idle too long.
    fn lapsed(&self, admitted: &tokens::Admitted, now: i64) -> bool {
        let idle = !matches!(admitted.actor.scope, Scope::Api(_)) && now - admitted.last_seen > self.settings.session_idle_secs * 1_000_000;
        now >= admitted.expires_at || idle
    }

    /// Applies an account change with its events (see [`crate::ports::AccountStore::account_change`])
    /// and, once it has committed, forgets the tokens this server admitted: whatever it ended or
    /// changed holds here from the next request.
    pub(crate) async fn account_change(&self, change: AccountChange, audit: Vec<AuditEvent>) -> Result<bool, CoreError> {
        let applied = self.store.account_change(change, audit).await;
        self.tokens.forget_all();
        Ok(applied?)
    }

    pub async fn logout(&self, actor: &Actor) -> Result<(), CoreError> {
        let ended = AccountChange { user: actor.user_id, end_session: vec![actor.session_id], ..AccountChange::default() };
        self.account_change(ended, vec![self.event(actor, AuditAction::AuthLogout, "session", &actor.session_id.to_string())]).await?;
        Ok(())
    }

    /// The caller's own sessions (an API token is refused: see [`refuse_api_token`]).
    pub async fn sessions(&self, actor: &Actor) -> Result<Vec<SessionInfo>, CoreError> {
        refuse_api_token(actor)?;
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
        refuse_api_token(actor)?;
        let mine = self.store.sessions_for_user(actor.user_id).await?;
        if !mine.iter().any(|s| s.id == id) {
            return Err(CoreError::NotFound);
        }
        let ended = AccountChange { user: actor.user_id, end_session: vec![id], ..AccountChange::default() };
        self.account_change(ended, vec![self.event(actor, AuditAction::AuthSessionEnd, "session", &id.to_string())]).await?;
        Ok(())
    }
}
