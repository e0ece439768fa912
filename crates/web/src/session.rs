//! Browser sessions: the session cookie carries the same opaque token as an API bearer token,
//! so the UI is signed in, idled out and revoked by the same server-side sessions. Every form
//! carries a CSRF token bound to the session (a hash of its token under its own label), and
//! signed-out forms one bound to a random pre-session cookie.
//!
//! Invariants: cookies are `HttpOnly; SameSite=Strict; Path=/`, and `Secure` with the
//! `__Host-` prefix when the listener speaks TLS; a CSRF token is compared in constant time.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use sejf_core::authz::Scope;
use sejf_core::{Actor, App};
use sha2::{Digest, Sha256};

use crate::UiConfig;
use crate::i18n::Lang;

const LANG_COOKIE: &str = "sejf_lang";

/// The cookie names under this listener (`__Host-` needs `Secure`, so only under TLS).
pub fn session_cookie(cfg: &UiConfig) -> &'static str {
    if cfg.secure { "__Host-sejf_session" } else { "sejf_session" }
}

fn pre_cookie(cfg: &UiConfig) -> &'static str {
    if cfg.secure { "__Host-sejf_pre" } else { "sejf_pre" }
}

/// A `Set-Cookie` value with Sejf's attributes; `max_age` 0 deletes it.
pub fn set_cookie(cfg: &UiConfig, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if cfg.secure { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("sejf_invalid=; Max-Age=0"))
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a session: derived from its token, so another session's does not fit and
/// nothing needs storing. The session token itself never appears in a page.
pub fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sejf-csrf-v1\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Equality that takes as long for every mismatch of the same length.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_else(|| Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("")))
}

/// The language cookie remembering a choice for a year.
pub fn lang_cookie(cfg: &UiConfig, lang: Lang) -> HeaderValue {
    set_cookie(cfg, LANG_COOKIE, lang.code(), Some(365 * 24 * 3600))
}

fn config(parts: &Parts) -> UiConfig {
    parts.extensions.get::<UiConfig>().cloned().unwrap_or_default()
}

/// Anyone, signed in or not: language, the listener's cookie settings, the client address,
/// and the CSRF token the next signed-out form must carry (a new pre-session cookie if the
/// browser has none yet).
pub struct Visitor {
    pub lang: Lang,
    pub cfg: UiConfig,
    pub client: std::net::IpAddr,
    pub csrf: String,
    /// Set when the pre-session cookie is new and must be sent with the answer.
    pub new_pre: Option<HeaderValue>,
    pub token: Option<String>,
}

impl Visitor {
    /// Whether a signed-out form's token matches this browser's pre-session cookie.
    pub fn csrf_ok(&self, given: &str) -> bool {
        self.new_pre.is_none() && same(&self.csrf, given)
    }

    /// Adds the pre-session cookie to an answer if it is new.
    pub fn finish(&self, mut res: Response) -> Response {
        if let Some(c) = &self.new_pre {
            res.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        res
    }
}

impl FromRequestParts<Arc<App>> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let cfg = config(parts);
        let sejf_http::client::ClientAddr(client) =
            sejf_http::client::ClientAddr::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
        let (csrf, new_pre) = match cookie(&parts.headers, pre_cookie(&cfg)) {
            Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => (v.to_string(), None),
            _ => {
                let fresh = hex::encode(
                    sejf_crypto::random::bytes::<32>().map_err(|_| axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response())?,
                );
                let c = set_cookie(&cfg, pre_cookie(&cfg), &fresh, None);
                (fresh, Some(c))
            }
        };
        let token = cookie(&parts.headers, session_cookie(&cfg)).map(str::to_string);
        Ok(Visitor { lang: lang_of(&parts.headers), cfg, client, csrf, new_pre, token })
    }
}

/// A signed-in user with a full session. Without one the browser is sent to `/login`; with an
/// enrolment-only session, to `/enroll`.
pub struct Signed {
    pub actor: Actor,
    pub lang: Lang,
    pub csrf: String,
    pub cfg: UiConfig,
}

impl Signed {
    pub fn csrf_ok(&self, given: &str) -> bool {
        same(&self.csrf, given)
    }
}

/// A session that may only enrol TOTP (or a full one, which the enrolment pages turn away).
pub struct Enrolling {
    pub actor: Actor,
    pub lang: Lang,
    pub csrf: String,
    pub cfg: UiConfig,
}

impl Enrolling {
    pub fn csrf_ok(&self, given: &str) -> bool {
        same(&self.csrf, given)
    }
}

async fn session_actor(parts: &mut Parts, app: &Arc<App>) -> Result<(Actor, String, UiConfig), Response> {
    let cfg = config(parts);
    let sejf_http::client::ClientAddr(client) =
        sejf_http::client::ClientAddr::from_request_parts(parts, app).await.map_err(IntoResponse::into_response)?;
    if let Some(slot) = parts.extensions.get::<sejf_http::ActorSlot>() {
        slot.set_client(client);
    }
    let Some(token) = cookie(&parts.headers, session_cookie(&cfg)).map(str::to_string) else {
        return Err(Redirect::to("/login").into_response());
    };
    let mut actor = match app.authenticate(&token, client).await {
        Ok(a) => a,
        Err(sejf_core::CoreError::Unauthenticated) => {
            // Expired, idle too long, or signed out elsewhere: drop the cookie and say so.
            let mut res = Redirect::to("/login?expired=1").into_response();
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&cfg, session_cookie(&cfg), "", Some(0)));
            return Err(res);
        }
        Err(e) => return Err(crate::pages::core_error(lang_of(&parts.headers), e)),
    };
    if let Some(id) = parts.extensions.get::<sejf_http::RequestId>() {
        actor.request_id = id.0.clone();
    }
    if let Some(slot) = parts.extensions.get::<sejf_http::ActorSlot>() {
        slot.set(&actor);
    }
    Ok((actor, csrf_of(&token), cfg))
}

impl FromRequestParts<Arc<App>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (actor, csrf, cfg) = session_actor(parts, app).await?;
        match actor.scope {
            Scope::Enroll => Err(Redirect::to("/enroll").into_response()),
            // A password an administrator set opens nothing until it is changed.
            Scope::Password => Err(Redirect::to("/password").into_response()),
            _ => Ok(Signed { actor, lang: lang_of(&parts.headers), csrf, cfg }),
        }
    }
}

impl FromRequestParts<Arc<App>> for Enrolling {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (actor, csrf, cfg) = session_actor(parts, app).await?;
        match actor.scope {
            Scope::Enroll => Ok(Enrolling { actor, lang: lang_of(&parts.headers), csrf, cfg }),
            _ => Err(Redirect::to("/").into_response()),
        }
    }
}

/// A session that may change its password: one an administrator's reset left able to do only
/// that, or a full one (self-service).
pub struct Changing {
    pub actor: Actor,
    pub lang: Lang,
    pub csrf: String,
    pub cfg: UiConfig,
}

impl Changing {
    pub fn csrf_ok(&self, given: &str) -> bool {
        same(&self.csrf, given)
    }
}

impl FromRequestParts<Arc<App>> for Changing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (actor, csrf, cfg) = session_actor(parts, app).await?;
        match actor.scope {
            Scope::Password | Scope::Full => Ok(Changing { actor, lang: lang_of(&parts.headers), csrf, cfg }),
            _ => Err(Redirect::to("/").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_session_and_do_not_reveal_the_token() {
        let a = csrf_of("token-a");
        assert_ne!(a, csrf_of("token-b"));
        assert!(!a.contains("token-a"));
        assert!(same(&a, &csrf_of("token-a")));
        assert!(!same(&a, ""));
    }

    #[test]
    fn cookies_are_strict_and_secure_under_tls() {
        let plain = set_cookie(&UiConfig { secure: false, ..Default::default() }, "sejf_session", "x", None);
        assert_eq!(plain.to_str().unwrap_or_default(), "sejf_session=x; Path=/; HttpOnly; SameSite=Strict");
        let tls = UiConfig { secure: true, ..Default::default() };
        assert_eq!(session_cookie(&tls), "__Host-sejf_session");
        assert!(set_cookie(&tls, session_cookie(&tls), "x", None).to_str().unwrap_or_default().ends_with("; Secure"));
    }

    #[test]
    fn finds_a_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; sejf_session=tok; b=2"));
        assert_eq!(cookie(&h, "sejf_session"), Some("tok"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
