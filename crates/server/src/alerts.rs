//! Alert delivery: every alert (honeytoken touched, read budget exceeded) is already an audit
//! event and listed at `GET /api/v1/alerts`; a server configured with `alert_webhook` and/or
//! `alert_syslog` also POSTs it as JSON to the webhook and sends it as an RFC 5424 message over
//! UDP to the syslog collector, in the background, so a slow receiver never delays a request.
//! An alert carries ids, names of users and kinds only, never a personal value.
//!
//! The same sinks receive every signed audit checkpoint (`sejf.checkpoint`): a copy of the
//! trail's signed heads on another host, which a verifier can hold the database to.
//!
//! Every webhook POST is signed as Stripe and GitHub sign theirs: `Sejf-Signature: t=UNIX,v1=HEX`,
//! HMAC-SHA256 with `alert_webhook_secret` over `t` + `.` + the body, so the receiver can check
//! who sent it and refuse old replays. A failed delivery (network error, 408, 429 or 5xx) is
//! retried with exponential backoff (1, 2, 4, 8 s) under the same signature; any other answer is
//! final. What is not delivered is still in the audit trail.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use sejf_core::App;
use sejf_core::insider::Notice;
use sejf_core::ports::AuditEvent;
use tokio::sync::mpsc;

use crate::ServerError;

/// Alerts waiting for delivery before new ones are dropped (they stay in the audit trail).
const QUEUE: usize = 1_024;
const ATTEMPTS: u32 = 5;
/// The shortest webhook secret accepted: 32 characters.
const MIN_SECRET: usize = 32;

/// One RFC 5424 line: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, facility
/// authpriv (10). Structured-data values are escaped as the RFC requires.
pub fn rfc5424(severity: u8, at: i64, msgid: &str, params: &[(&str, &str)], msg: &str) -> String {
    let msgid: String = msgid.chars().filter(|c| c.is_ascii_graphic()).take(32).collect();
    let sd: String =
        params.iter().map(|(k, v)| format!(" {k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]"))).collect();
    format!("<{}>1 {} {} sejf - {} [sejf@32473{sd}] {msg}", 10 * 8 + severity, sejf_core::rfc3339(at), hostname(), msgid)
}

/// The RFC 5424 HOSTNAME, read once per process (`-` when unknown).
fn hostname() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().chars().filter(|c| c.is_ascii_graphic()).take(255).collect::<String>())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "-".into())
    })
}

/// The JSON an alert is delivered as.
pub fn alert_json(e: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "type": "sejf.alert",
        "kind": e.resource_id,
        "severity": e.outcome,
        "at": sejf_core::rfc3339(e.at),
        "actor": e.actor,
        "actor_id": e.actor_id,
        "role": e.role,
        "subject_id": e.subject_id,
        "detail": e.detail,
        "client": e.client,
        "request_id": e.request_id,
    })
}

/// The JSON a checkpoint is delivered as: everything needed to check its signature.
pub fn checkpoint_json(cp: &sejf_crypto::audit::Checkpoint) -> serde_json::Value {
    serde_json::json!({
        "type": "sejf.checkpoint",
        "origin": cp.origin,
        "tree_size": cp.tree_size,
        "root": cp.root,
        "chain_head": cp.chain_head,
        "at": sejf_core::rfc3339(cp.at),
        "at_micros": cp.at,
        "key_id": cp.key_id,
        "signature": cp.signature,
    })
}

/// Where alerts go, checked when the server starts so a typo is an error, not silence.
pub struct Targets {
    webhook: Option<(reqwest::Url, zeroize::Zeroizing<String>)>,
    syslog: Option<SocketAddr>,
}

impl Targets {
    pub fn parse(webhook: Option<&str>, secret: Option<&str>, syslog: Option<&str>) -> Result<Self, ServerError> {
        let webhook = match webhook {
            None => None,
            Some(u) => {
                let url =
                    reqwest::Url::parse(u).map_err(|e| ServerError::InvalidConfig(format!("config alert_webhook: not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(ServerError::InvalidConfig("config alert_webhook: must be an http:// or https:// URL".into()));
                }
                let secret = secret.map(str::trim).unwrap_or_default();
                if secret.chars().count() < MIN_SECRET {
                    return Err(ServerError::InvalidConfig(format!(
                        "config alert_webhook_secret: the webhook needs a shared secret of at least {MIN_SECRET} characters to sign its POSTs"
                    )));
                }
                Some((url, zeroize::Zeroizing::new(secret.to_string())))
            }
        };
        let syslog = match syslog {
            None => None,
            Some(a) => Some(
                a.to_socket_addrs()
                    .map_err(|e| ServerError::InvalidConfig(format!("config alert_syslog: {a:?} is not host:port: {e}")))?
                    .next()
                    .ok_or_else(|| ServerError::InvalidConfig(format!("config alert_syslog: {a:?} resolves to no address")))?,
            ),
        };
        Ok(Self { webhook, syslog })
    }

    pub fn is_empty(&self) -> bool {
        self.webhook.is_none() && self.syslog.is_none()
    }
}

/// Starts delivering `app`'s alerts to `targets` (nothing to do when there are none).
pub async fn start(app: &Arc<App>, targets: Targets) -> Result<(), ServerError> {
    if targets.is_empty() {
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ServerError::Alerts(format!("alert webhook client: {e}")))?;
    let socket = match targets.syslog {
        Some(addr) => {
            let bind: SocketAddr = if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
            Some(tokio::net::UdpSocket::bind(bind).await.map_err(|e| ServerError::Alerts(format!("alert syslog socket: {e}")))?)
        }
        None => None,
    };
    let (tx, mut rx) = mpsc::channel::<Notice>(QUEUE);
    app.forward_alerts(tx);
    tokio::spawn(async move {
        while let Some(notice) = rx.recv().await {
            let (json, line) = match &notice {
                Notice::Alert(ev) => {
                    let json = alert_json(ev);
                    let sev = if ev.outcome == "high" { 2 } else { 4 };
                    let line = rfc5424(sev, ev.at, "alert", &[("kind", &ev.resource_id), ("severity", &ev.outcome)], &json.to_string());
                    (json, line)
                }
                Notice::Checkpoint(cp) => {
                    let json = checkpoint_json(cp);
                    let size = cp.tree_size.to_string();
                    // Severity notice (5): a routine event whose absence is what matters.
                    let line = rfc5424(5, cp.at, "checkpoint", &[("tree_size", &size), ("key_id", &cp.key_id)], &json.to_string());
                    (json, line)
                }
            };
            if let (Some(sock), Some(addr)) = (&socket, targets.syslog)
                && let Err(e) = sock.send_to(line.as_bytes(), addr).await
            {
                tracing::error!(error = %e, "notice not sent to syslog");
            }
            if let Some((url, secret)) = &targets.webhook {
                post(&client, url, secret, &json).await;
            }
        }
    });
    Ok(())
}

/// `Sejf-Signature` for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs one notice, signed; retries a failed attempt with exponential backoff.
async fn post(client: &reqwest::Client, url: &reqwest::Url, secret: &str, body: &serde_json::Value) {
    let bytes = body.to_string().into_bytes();
    let t = sejf_backup::now_micros() / 1_000_000;
    let sig = signature(secret, t, &bytes);
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("sejf-signature", &sig)
            .body(bytes.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if !(r.status().is_server_error() || matches!(r.status().as_u16(), 408 | 429)) => {
                tracing::error!(status = r.status().as_u16(), "alert webhook refused the notice; not retried (it is in the audit trail)");
                return;
            }
            Ok(r) => tracing::warn!(status = r.status().as_u16(), attempt, "alert webhook failed; retrying"),
            Err(e) => tracing::warn!(error = %e, attempt, "alert webhook unreachable; retrying"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
        }
    }
    tracing::error!("notice not delivered to the webhook after {ATTEMPTS} attempts; it is in the audit trail");
}
