//! Alert delivery: every alert (honeytoken touched, read budget exceeded) is already an audit
//! event and listed at `GET /api/v1/alerts`; a server configured with `alert_webhook` and/or
//! `alert_syslog` also POSTs it as JSON to the webhook and sends it as an RFC 5424 message over
//! UDP to the syslog collector, in the background, so a slow receiver never delays a request.
//! An alert carries ids, names of users and kinds only, never a personal value.
//!
//! The same sinks receive every signed audit checkpoint (`sejf.checkpoint`): a copy of the
//! trail's signed heads on another host, which a verifier can hold the database to.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use sejf_core::App;
use sejf_core::insider::Notice;
use sejf_core::ports::AuditEvent;
use tokio::sync::mpsc;

/// Alerts waiting for delivery before new ones are dropped (they stay in the audit trail).
const QUEUE: usize = 1_024;
const ATTEMPTS: u32 = 3;

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
    webhook: Option<reqwest::Url>,
    syslog: Option<SocketAddr>,
}

impl Targets {
    pub fn parse(webhook: Option<&str>, syslog: Option<&str>) -> Result<Self, String> {
        let webhook = match webhook {
            None => None,
            Some(u) => {
                let url = reqwest::Url::parse(u).map_err(|e| format!("config alert_webhook: not a URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err("config alert_webhook: must be an http:// or https:// URL".into());
                }
                Some(url)
            }
        };
        let syslog = match syslog {
            None => None,
            Some(a) => Some(
                a.to_socket_addrs()
                    .map_err(|e| format!("config alert_syslog: {a:?} is not host:port: {e}"))?
                    .next()
                    .ok_or_else(|| format!("config alert_syslog: {a:?} resolves to no address"))?,
            ),
        };
        Ok(Self { webhook, syslog })
    }

    pub fn is_empty(&self) -> bool {
        self.webhook.is_none() && self.syslog.is_none()
    }
}

/// Starts delivering `app`'s alerts to `targets` (nothing to do when there are none).
pub async fn start(app: &Arc<App>, targets: Targets) -> Result<(), String> {
    if targets.is_empty() {
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("alert webhook client: {e}"))?;
    let socket = match targets.syslog {
        Some(addr) => {
            let bind: SocketAddr = if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
            Some(tokio::net::UdpSocket::bind(bind).await.map_err(|e| format!("alert syslog socket: {e}"))?)
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
            if let Some(url) = &targets.webhook {
                post(&client, url, &json).await;
            }
        }
    });
    Ok(())
}

/// POSTs one alert, retrying a failed attempt twice (after 1 s and 2 s).
async fn post(client: &reqwest::Client, url: &reqwest::Url, body: &serde_json::Value) {
    for attempt in 1..=ATTEMPTS {
        match client.post(url.clone()).json(body).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = r.status().as_u16(), attempt, "alert webhook refused the alert"),
            Err(e) => tracing::warn!(error = %e, attempt, "alert webhook unreachable"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        }
    }
    tracing::error!("alert not delivered to the webhook after {ATTEMPTS} attempts; it is in the audit trail");
}
