//! Mandatory TOTP (RFC 6238) and recovery codes, and API tokens for service accounts.
//!
//! The TOTP secret is encrypted under a key from the key store, bound to the user and column; a
//! code is accepted once (the last accepted step is stored, and only later steps pass); ten
//! single-use recovery codes are shown once and stored as HMAC-SHA-256 under a key wrapped by the
//! master key (codes from before: salted SHA-256, still accepted once each).

use crate::actions::AuditAction;
use sejf_crypto::{FieldContext, decrypt_field, encrypt_field, keyed_hash, random, totp};
use sejf_domain::ValidationErrors;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::{Actor, Scope};
use crate::ports::{AccountChange, KeyKind, MfaEnable, UserRow};
use crate::{App, CoreError};

const ISSUER: &str = "Sejf";
const RECOVERY_CODES: usize = 10;
const TOTP_KEY: &str = "totp";
const RECOVERY_KEY: &str = "recovery-codes";

/// What `POST /auth/mfa/enroll` answers.
pub struct Enrolment {
    pub otpauth_uri: String,
    /// Base32, for typing into an authenticator app by hand.
    pub secret: String,
}

sejf_domain::redacted_debug!(Enrolment {});

/// The scopes an API token may carry: `<records>:<read|write>`.
pub const API_SCOPES: [&str; 8] = [
    "people:read",
    "people:write",
    "companies:read",
    "companies:write",
    "deals:read",
    "deals:write",
    "activities:read",
    "activities:write",
];

fn normalised_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// A recovery code as stored: HMAC-SHA-256 under a system key wrapped by the master key, bound
/// to the user. Someone holding the database alone cannot test guesses against it.
fn recovery_hash(key: &sejf_crypto::Key32, user_id: Uuid, code: &str) -> Vec<u8> {
    keyed_hash(key, b"sejf-recovery-v2", &[user_id.as_bytes(), normalised_code(code).as_bytes()]).to_vec()
}

/// The unkeyed digest recovery codes issued before keyed hashes had (salted SHA-256): still
/// accepted once each, so nobody enrolled earlier loses their codes.
fn legacy_recovery_hash(user_id: Uuid, code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"sejf-recovery-v1");
    h.update(user_id.as_bytes());
    h.update(normalised_code(code).as_bytes());
    h.finalize().to_vec()
}

/// A recovery code: 10 characters of an unambiguous alphabet (≈ 50 bits), shown as xxxxx-xxxxx.
fn new_recovery_code() -> Result<String, CoreError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[random::below(ALPHABET.len() as u32)? as usize]));
    }
    Ok(s)
}

impl App {
    fn totp_ctx<'a>(column: &'a str, user: &'a str) -> FieldContext<'a> {
        FieldContext { table: "users", column, record_id: user, subject_id: "" }
    }

    async fn totp_key(&self) -> Result<std::sync::Arc<sejf_crypto::Key32>, CoreError> {
        self.keys.named_key(self.store.as_ref(), KeyKind::System, TOTP_KEY).await
    }

    /// Starts (or restarts) TOTP enrolment: a fresh secret, pending until confirmed.
    pub async fn mfa_enroll(&self, actor: &Actor) -> Result<Enrolment, CoreError> {
        let user = self.store.user_by_id(actor.user_id).await?.ok_or(CoreError::Unauthenticated)?;
        if user.mfa_enabled {
            return Err(CoreError::Conflict("TOTP is already enrolled; an administrator can reset it (sejf user reset-mfa)".into()));
        }
        let secret = random::bytes::<20>()?;
        let key = self.totp_key().await?;
        let uid = user.id.to_string();
        let sealed = encrypt_field(&key, 1, &Self::totp_ctx("totp_pending", &uid), &secret)?;
        let change = AccountChange { user: user.id, mfa_pending: Some(sealed), ..AccountChange::default() };
        self.account_change(change, vec![self.event(actor, AuditAction::MfaEnroll, "user", &user.id.to_string())]).await?;
        Ok(Enrolment { otpauth_uri: totp::otpauth_uri(ISSUER, &user.username, &secret), secret: totp::base32(&secret) })
    }

    /// Confirms enrolment with a current code; answers the ten recovery codes, shown once.
    #[allow(clippy::disallowed_methods, reason = "the caller's own TOTP secret, sealed under the installation's TOTP key")]
    pub async fn mfa_confirm(&self, actor: &Actor, code: &str) -> Result<Vec<String>, CoreError> {
        let mfa = self.store.mfa_get(actor.user_id).await?;
        let pending = mfa.pending.ok_or_else(|| CoreError::Conflict("no enrolment in progress; POST /auth/mfa/enroll first".into()))?;
        let key = self.totp_key().await?;
        let uid = actor.user_id.to_string();
        let secret = decrypt_field(&key, &Self::totp_ctx("totp_pending", &uid), &pending)?;
        let step = totp::matching_step(&secret, code, self.now() / 1_000_000)
            .ok_or_else(|| ValidationErrors::single("code", "is not the current code of this secret"))?;
        let codes = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect::<Result<Vec<_>, _>>()?;
        let recovery_key = self.keys.named_key(self.store.as_ref(), KeyKind::System, RECOVERY_KEY).await?;
        let hashes = codes.iter().map(|c| recovery_hash(&recovery_key, actor.user_id, c)).collect();
        let sealed = encrypt_field(&key, 1, &Self::totp_ctx("totp_secret", &uid), &secret)?;
        let change = AccountChange {
            user: actor.user_id,
            mfa_enable: Some(MfaEnable { secret: sealed, step, recovery_hashes: hashes }),
            // The enrolment token has done its one job; signing in now needs a code.
            end_session: if actor.scope == Scope::Enroll { vec![actor.session_id] } else { Vec::new() },
            ..AccountChange::default()
        };
        self.account_change(change, vec![self.event(actor, AuditAction::MfaConfirm, "user", &actor.user_id.to_string())]).await?;
        Ok(codes)
    }

    /// Checks a TOTP code (once per step) or an unused recovery code.
    #[allow(clippy::disallowed_methods, reason = "the signing-in user's own TOTP secret")]
    pub(crate) async fn check_second_factor(&self, user: &UserRow, code: &str) -> Result<(), CoreError> {
        let looks_like_totp = code.len() == totp::DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit());
        if !looks_like_totp {
            let recovery_key = self.keys.named_key(self.store.as_ref(), KeyKind::System, RECOVERY_KEY).await?;
            let now = self.now();
            let used = self.store.recovery_code_use(user.id, &recovery_hash(&recovery_key, user.id, code), now).await?
                || self.store.recovery_code_use(user.id, &legacy_recovery_hash(user.id, code), now).await?;
            return if used { Ok(()) } else { Err(CoreError::BadCredentials) };
        }
        let mfa = self.store.mfa_get(user.id).await?;
        let sealed = mfa.secret.ok_or(CoreError::BadCredentials)?;
        let key = self.totp_key().await?;
        let uid = user.id.to_string();
        let secret = decrypt_field(&key, &Self::totp_ctx("totp_secret", &uid), &sealed)?;
        match totp::matching_step(&secret, code, self.now() / 1_000_000) {
            // The conditional update refuses a step already used: a replayed code fails.
            Some(step) if step > mfa.last_step && self.store.mfa_use_step(user.id, step).await? => Ok(()),
            _ => Err(CoreError::BadCredentials),
        }
    }

    /// Removes a user's TOTP and recovery codes and ends their sessions, on behalf of `actor`;
    /// they enrol anew.
    pub async fn reset_mfa(&self, actor: &Actor, username: &str) -> Result<(), CoreError> {
        self.may_manage_users(actor)?;
        let u = self.user(username).await?;
        let change = AccountChange { user: u.id, mfa_reset: true, end_sessions: true, ..AccountChange::default() };
        self.account_change(change, vec![self.event(actor, AuditAction::MfaReset, "user", &u.id.to_string())]).await?;
        // A lock for wrong codes ends with the TOTP that earned it.
        self.guard_clear_account(username).await
    }

    /// Issues an API token to a service account: shown once, stored hashed, with scopes and an
    /// absolute expiry. Every use acts as, and is attributed to, that account.
    pub async fn issue_api_token(&self, username: &str, scopes: &[String], days: i64, label: &str) -> Result<(String, i64), CoreError> {
        let u = self.user(username).await?;
        if !u.service {
            return Err(CoreError::Conflict("API tokens belong to service accounts (sejf user add NAME --service)".into()));
        }
        let mut errs = ValidationErrors::default();
        if scopes.is_empty() {
            errs.push("scope", format!("give at least one of: {}", API_SCOPES.join(", ")));
        }
        for s in scopes {
            if !API_SCOPES.contains(&s.as_str()) {
                errs.push("scope", format!("unknown scope; expected one of: {}", API_SCOPES.join(", ")));
            }
        }
        if !(1..=366).contains(&days) {
            errs.push("expires_days", "must be 1 to 366");
        }
        errs.into_result(())?;
        let expires_at = self.now() + days * 86_400 * 1_000_000;
        let (token, session) = self.new_token(u.id, &Scope::Api(scopes.to_vec()), label, expires_at)?;
        let mut ev = self.event(&Actor::operator(), AuditAction::TokenCreate, "user", &u.id.to_string());
        ev.detail = format!("session={} scopes={}", session.id, scopes.join(" "));
        self.store.session_create(session, vec![ev]).await?;
        Ok((token, expires_at))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_stored_under_a_key() {
        let (k1, k2) = (sejf_crypto::Key32::generate().unwrap(), sejf_crypto::Key32::generate().unwrap());
        let user = Uuid::now_v7();
        let h = recovery_hash(&k1, user, "abcde-fghjk");
        assert_eq!(h, recovery_hash(&k1, user, "ABCDE FGHJK"), "typed with spaces or capitals");
        assert_ne!(h, recovery_hash(&k2, user, "abcde-fghjk"), "another installation's key");
        assert_ne!(h, recovery_hash(&k1, Uuid::now_v7(), "abcde-fghjk"), "another user");
        assert_ne!(h, legacy_recovery_hash(user, "abcde-fghjk"), "not the unkeyed digest a database thief could test");
    }
}
