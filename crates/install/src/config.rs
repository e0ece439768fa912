//! `config.toml` in the data directory: installation settings, validated at start-up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sejf_core::Settings;
use sejf_domain::records::Pipeline;
use sejf_domain::values::{CountryCode, CurrencyCode};

use crate::InstallError;

pub const CONFIG_FILE: &str = "config.toml";
pub const DB_FILE: &str = "sejf.db";

/// The file's contents. Every key is optional; absent keys take Sejf's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `passphrase` (the sealed `master.key`, default) or `env` (`SEJF_MASTER_KEY`).
    pub key_provider: Option<String>,
    /// For the `env` provider: the fingerprint of the expected key, to catch a wrong one.
    pub master_key_fingerprint: Option<String>,
    /// The audit trail's public key (base64), written by `sejf init`: the sealer signs with no
    /// other key and `sejf audit verify` trusts no other.
    pub audit_public_key: Option<String>,
    /// Region of phone numbers written without a country code (ISO 3166 alpha-2).
    pub default_region: Option<String>,
    /// Currency of deal amounts given without one (ISO 4217).
    pub default_currency: Option<String>,
    /// Deal stages in order.
    pub pipeline: Option<Vec<String>>,
    pub session_idle_minutes: Option<i64>,
    pub session_absolute_hours: Option<i64>,
    pub max_body_kib: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's headers, and the longest a kept-alive
    /// connection may sit idle between requests (default 10).
    pub header_timeout_secs: Option<u64>,
    /// Open connections per listener; further clients wait in the kernel's queue (default 4096).
    pub max_connections: Option<usize>,
    /// Requests per second per client address (an IPv6 /64), before authentication; 0 turns
    /// the limit off. Loopback clients are exempt (default 50).
    pub rate_limit_per_second: Option<f64>,
    /// Requests an address may send at once above that rate (default 200).
    pub rate_limit_burst: Option<f64>,
    /// Retention rules (GDPR art. 5(1)(e)): `[[retention]]` tables with `name`,
    /// `no_activity_days` and an optional `tag`, applied by `sejf gdpr retention` and daily by
    /// the server.
    pub retention: Option<Vec<sejf_core::gdpr::RetentionRule>>,
    /// Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// Wrong passwords per (account, address) within 15 minutes before that pair locks; an
    /// address gets three times as many (default 10).
    pub login_max_failures: Option<i64>,
    /// Minutes of the first sign-in lock; each further lock doubles, up to a day (default 15).
    pub login_lock_minutes: Option<i64>,
    /// Wrong codes after a right password, per day, before the account locks until reset
    /// (default 5).
    pub login_max_code_failures: Option<i64>,
    /// Distinct people a user of a role may read in any hour (a sliding window):
    /// `read_budgets = { sales = 200 }`. Replaces the defaults (sales 200, support 500, manager
    /// 2000); a role not listed has no budget.
    pub read_budgets: Option<std::collections::BTreeMap<String, i64>>,
    /// Suspend a user who exceeds the budget until an administrator re-enables them.
    pub read_budget_suspends: Option<bool>,
    /// Seconds between signed audit checkpoints (default 10).
    pub audit_seal_secs: Option<u64>,
    /// Per-role client-address allowlists: `role_networks = { admin = ["10.0.0.0/8"] }`.
    pub role_networks: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Exports of more records than this need a second person's approval (default 100).
    pub export_approval_threshold: Option<i64>,
    /// Per-role thresholds: `export_approval_thresholds = { manager = 500 }`.
    pub export_approval_thresholds: Option<std::collections::BTreeMap<String, i64>>,
    /// Hours an approved export may be downloaded, once (default 24).
    pub export_download_hours: Option<i64>,
    /// Hours over which a user's exports approved without a second person add up toward the
    /// threshold (default 24).
    pub export_approval_window_hours: Option<i64>,
    /// Alerts are also POSTed as JSON to this http(s) URL.
    pub alert_webhook: Option<String>,
    /// The shared secret (at least 32 characters) that signs every webhook POST
    /// (`Sejf-Signature: t=UNIX,v1=HEX`, HMAC-SHA256 over `t.BODY`); required with
    /// `alert_webhook`. Also from `SEJF_ALERT_WEBHOOK_SECRET`.
    pub alert_webhook_secret: Option<String>,
    /// Alerts are also sent as RFC 5424 syslog messages over UDP to this `host:port`.
    pub alert_syslog: Option<String>,
    /// age X25519 recipients (`age1…`) backups are encrypted to, when `sejf backup create` is
    /// given no `--recipient`. Keep the identities (private halves) off this host.
    pub backup_recipients: Option<Vec<String>>,
    /// Where `sejf serve` writes scheduled backups (a directory or `s3://bucket/prefix`); with
    /// `backup_every_hours`, one server takes a backup that often and alerts when one fails or
    /// is overdue.
    pub backup_target: Option<String>,
    /// Hours between scheduled backups (default 24 when `backup_target` is set).
    pub backup_every_hours: Option<u64>,
    /// The public key (base64) that signs backup manifests, pinned by the first `sejf backup
    /// create`: `list`, `verify` and `restore` trust no other.
    pub backup_public_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Parse(PathBuf, String),
}

impl ConfigFile {
    /// Reads `config.toml` in `data_dir` (absent: the defaults), then lets `SEJF_<KEY>`
    /// environment variables override its keys (`SEJF_MAX_CONNECTIONS=100`,
    /// `SEJF_PIPELINE='["lead","won","lost"]'`): a value is read as TOML, else as a string. The
    /// pinned keys and the key provider are never overridden.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        Self::load_with(data_dir, std::env::vars())
    }

    fn load_with(data_dir: &Path, env: impl Iterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        let mut table = match std::fs::read_to_string(&path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|e| ConfigError::Parse(path.clone(), toml_message(&e.to_string())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => return Err(ConfigError::Read(path, e)),
        };
        let mut overridden = Vec::new();
        for (var, raw) in env {
            let Some(key) = var.strip_prefix("SEJF_").map(str::to_lowercase) else { continue };
            // The trust anchors `init` pinned stay in the file alone: an environment variable must
            // not swap the key the audit trail or backups are checked against.
            if PINNED_KEYS.contains(&key.as_str()) {
                continue;
            }
            let value =
                format!("v = {raw}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")).unwrap_or(toml::Value::String(raw));
            // Only variables that name a config key: the others (SEJF_LOG, SEJF_DATA_DIR, …)
            // are refused by the struct as unknown fields.
            let mut probe = toml::Table::new();
            probe.insert(key.clone(), value.clone());
            match toml::Value::Table(probe).try_into::<ConfigFile>() {
                Err(e) if e.to_string().contains("unknown field") => continue,
                Err(e) => return Err(ConfigError::Parse(PathBuf::from(format!("${var}")), toml_message(&e.to_string()))),
                Ok(_) => {
                    table.insert(key, value);
                    overridden.push(var);
                }
            }
        }
        toml::Value::Table(table).try_into::<ConfigFile>().map_err(|e| {
            let place = if overridden.is_empty() {
                path.clone()
            } else {
                PathBuf::from(format!("{} (with {})", path.display(), overridden.join(", ")))
            };
            ConfigError::Parse(place, toml_message(&e.to_string()))
        })
    }

    /// The use-case settings, every value checked.
    pub fn settings(&self) -> Result<Settings, InstallError> {
        let mut s = Settings::standard();
        if let Some(r) = &self.default_region {
            s.default_region = CountryCode::parse(r).map_err(|e| InstallError::InvalidConfig(format!("config default_region: {e}")))?;
        }
        if let Some(c) = &self.default_currency {
            s.default_currency =
                CurrencyCode::parse(c).map_err(|e| InstallError::InvalidConfig(format!("config default_currency: {e}")))?;
        }
        if let Some(p) = &self.pipeline {
            s.pipeline = Pipeline::new(p.clone()).map_err(|e| InstallError::InvalidConfig(format!("config pipeline: {e}")))?;
        }
        if let Some(m) = self.session_idle_minutes {
            if !(1..=24 * 60).contains(&m) {
                return Err(InstallError::InvalidConfig("config session_idle_minutes: must be 1 to 1440".into()));
            }
            s.session_idle_secs = m * 60;
        }
        if let Some(h) = self.session_absolute_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err(InstallError::InvalidConfig("config session_absolute_hours: must be 1 to 720".into()));
            }
            s.session_absolute_secs = h * 3600;
        }
        if let Some(n) = self.login_max_failures {
            if !(3..=1000).contains(&n) {
                return Err(InstallError::InvalidConfig("config login_max_failures: must be 3 to 1000".into()));
            }
            s.throttle.pair_failures = n;
            s.throttle.address_failures = n.saturating_mul(3);
        }
        if let Some(n) = self.login_max_code_failures {
            if !(1..=100).contains(&n) {
                return Err(InstallError::InvalidConfig("config login_max_code_failures: must be 1 to 100".into()));
            }
            s.throttle.totp_failures = n;
        }
        if let Some(m) = self.login_lock_minutes {
            if !(1..=24 * 60).contains(&m) {
                return Err(InstallError::InvalidConfig("config login_lock_minutes: must be 1 to 1440".into()));
            }
            s.throttle.lock_secs = m * 60;
        }
        if let Some(budgets) = &self.read_budgets {
            s.read_budgets.clear();
            for (role, n) in budgets {
                let role: sejf_domain::roles::Role =
                    role.parse().map_err(|e| InstallError::InvalidConfig(format!("config read_budgets: {e}")))?;
                if *n < 1 {
                    return Err(InstallError::InvalidConfig(format!("config read_budgets.{role}: must be at least 1")));
                }
                s.read_budgets.insert(role, *n);
            }
        }
        if let Some(b) = self.read_budget_suspends {
            s.read_budget_suspends = b;
        }
        if let Some(n) = self.export_approval_threshold {
            if n < 0 {
                return Err(InstallError::InvalidConfig("config export_approval_threshold: must be 0 or more".into()));
            }
            s.export_threshold = n;
        }
        for (role, n) in self.export_approval_thresholds.iter().flatten() {
            let role: sejf_domain::roles::Role =
                role.parse().map_err(|e| InstallError::InvalidConfig(format!("config export_approval_thresholds: {e}")))?;
            if *n < 0 {
                return Err(InstallError::InvalidConfig(format!("config export_approval_thresholds.{role}: must be 0 or more")));
            }
            s.export_thresholds.insert(role, *n);
        }
        if let Some(h) = self.export_download_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err(InstallError::InvalidConfig("config export_download_hours: must be 1 to 720".into()));
            }
            s.export_download_secs = h * 3600;
        }
        if let Some(h) = self.export_approval_window_hours {
            if !(1..=24 * 366).contains(&h) {
                return Err(InstallError::InvalidConfig("config export_approval_window_hours: must be 1 to 8784".into()));
            }
            s.export_window_secs = h * 3600;
        }
        for (role, blocks) in self.role_networks.iter().flatten() {
            let role: sejf_domain::roles::Role =
                role.parse().map_err(|e| InstallError::InvalidConfig(format!("config role_networks: {e}")))?;
            let parsed = blocks
                .iter()
                .map(|b| b.parse::<sejf_domain::net::Cidr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| InstallError::InvalidConfig(format!("config role_networks.{role}: {e}")))?;
            s.role_networks.insert(role, parsed);
        }
        Ok(s)
    }

    /// The pinned audit public key, if `config.toml` names one.
    pub fn audit_pin(&self) -> Result<Option<[u8; 32]>, InstallError> {
        self.audit_public_key
            .as_deref()
            .map(|k| sejf_core::witness::parse_key(k).map_err(|e| InstallError::InvalidConfig(format!("config audit_public_key: {e}"))))
            .transpose()
    }

    pub fn backup_pin(&self) -> Result<Option<[u8; 32]>, InstallError> {
        self.backup_public_key
            .as_deref()
            .map(|k| sejf_core::witness::parse_key(k).map_err(|e| InstallError::InvalidConfig(format!("config backup_public_key: {e}"))))
            .transpose()
    }

    /// The scheduled backup: target and interval, if configured.
    pub fn backup_schedule(&self) -> Result<Option<(String, std::time::Duration)>, InstallError> {
        let Some(target) = self.backup_target.clone().filter(|t| !t.trim().is_empty()) else {
            return if self.backup_every_hours.is_some() {
                Err(InstallError::InvalidConfig("config backup_every_hours needs backup_target".into()))
            } else {
                Ok(None)
            };
        };
        let hours = self.backup_every_hours.unwrap_or(24);
        if !(1..=24 * 31).contains(&hours) {
            return Err(InstallError::InvalidConfig("config backup_every_hours: must be 1 to 744".into()));
        }
        if self.backup_recipients.as_ref().is_none_or(|r| r.is_empty()) {
            return Err(InstallError::InvalidConfig(
                "config backup_target needs backup_recipients (age recipients; `sejf backup keygen` makes one)".into(),
            ));
        }
        Ok(Some((target, std::time::Duration::from_secs(hours * 3600))))
    }

    /// The retention rules, checked.
    pub fn retention_rules(&self) -> Result<Vec<sejf_core::gdpr::RetentionRule>, InstallError> {
        let rules = self.retention.clone().unwrap_or_default();
        for r in &rules {
            if r.name.trim().is_empty() || r.name.chars().any(char::is_control) {
                return Err(InstallError::InvalidConfig("config retention: every rule needs a name".into()));
            }
            if !(0..=36_500).contains(&r.no_activity_days) {
                return Err(InstallError::InvalidConfig(format!("config retention \"{}\": no_activity_days must be 0 to 36500", r.name)));
            }
        }
        Ok(rules)
    }

    /// The connection limits of both listeners.
    pub fn connection_limits(&self) -> Result<ConnLimits, InstallError> {
        let mut c = ConnLimits::default();
        if let Some(t) = self.header_timeout_secs {
            if !(1..=600).contains(&t) {
                return Err(InstallError::InvalidConfig("config header_timeout_secs: must be 1 to 600".into()));
            }
            c.header_timeout = std::time::Duration::from_secs(t);
        }
        if let Some(m) = self.max_connections {
            if !(1..=1_000_000).contains(&m) {
                return Err(InstallError::InvalidConfig("config max_connections: must be 1 to 1000000".into()));
            }
            c.max_connections = m;
        }
        Ok(c)
    }

    pub fn limits(&self) -> Result<sejf_http::Limits, InstallError> {
        let mut l = sejf_http::Limits::default();
        if let Some(k) = self.max_body_kib {
            if !(1..=64 * 1024).contains(&k) {
                return Err(InstallError::InvalidConfig("config max_body_kib: must be 1 to 65536".into()));
            }
            l.max_body_bytes = k * 1024;
        }
        if let Some(t) = self.request_timeout_secs {
            if !(1..=3600).contains(&t) {
                return Err(InstallError::InvalidConfig("config request_timeout_secs: must be 1 to 3600".into()));
            }
            l.request_timeout = std::time::Duration::from_secs(t);
        }
        if let Some(r) = self.rate_limit_per_second {
            if !(0.0..=1_000_000.0).contains(&r) {
                return Err(InstallError::InvalidConfig("config rate_limit_per_second: must be 0 (off) to 1000000".into()));
            }
            l.rate_limit.per_second = r;
        }
        if let Some(b) = self.rate_limit_burst {
            if !(1.0..=1_000_000.0).contains(&b) {
                return Err(InstallError::InvalidConfig("config rate_limit_burst: must be 1 to 1000000".into()));
            }
            l.rate_limit.burst = b;
        }
        for p in self.trusted_proxies.iter().flatten() {
            l.trusted_proxies.0.push(p.parse().map_err(|e| InstallError::InvalidConfig(format!("config trusted_proxies: {e}")))?);
        }
        Ok(l)
    }
}

/// Keys no environment variable overrides (see [`ConfigFile::load`]).
const PINNED_KEYS: [&str; 4] = ["key_provider", "master_key_fingerprint", "audit_public_key", "backup_public_key"];

/// The message of a TOML error in one line: what is wrong (e.g. "unknown field `foo`, expected
/// one of …") and where, without the source excerpt.
fn toml_message(e: &str) -> String {
    let lines: Vec<&str> = e.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let what =
        lines.iter().rev().find(|l| !l.starts_with('|') && !l.starts_with('^') && !l.chars().next().is_some_and(|c| c.is_ascii_digit()));
    let at = lines.first().filter(|l| l.contains("line"));
    match (what, at) {
        (Some(w), Some(a)) if w != a => format!("{w} ({})", a.trim_start_matches("TOML parse error ").trim_end_matches(':')),
        (Some(w), _) => w.to_string(),
        _ => e.lines().next().unwrap_or("invalid").to_string(),
    }
}

/// The commented default file `sejf init` writes.
pub const DEFAULT_CONFIG: &str = r#"# Sejf configuration. Every key is optional; the values shown are the defaults.

# Region for phone numbers written without a country code (ISO 3166 alpha-2).
# default_region = "PL"

# Currency of deal amounts given without one (ISO 4217).
# default_currency = "PLN"

# Deal pipeline stages, in order.
# pipeline = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]

# Sessions end after this long unused, and this long after sign-in at the latest.
# session_idle_minutes = 30
# session_absolute_hours = 12

# HTTP limits.
# max_body_kib = 256
# request_timeout_secs = 30
# Seconds a client has to send a request's headers; also the longest a kept-alive connection
# may sit idle (slow clients cannot hold the server open).
# header_timeout_secs = 10
# Open connections per listener (public and admin each); more wait in the kernel's queue.
# max_connections = 4096
# Requests per second per client address (an IPv6 /64) before authentication, and the burst
# above it; 0 turns the limit off. Loopback clients are exempt.
# rate_limit_per_second = 50
# rate_limit_burst = 200
# Scheduled backups: one server writes a backup to this target every so many hours and raises an
# alert when one fails or is overdue (needs backup_recipients).
# backup_target = "/srv/backups/sejf"
# backup_every_hours = 24
# Retention (GDPR art. 5(1)(e)): people with no change to them or their activities for this many
# days (and the tag, when given) are erased daily by the server, and by `sejf gdpr retention run`
# (`--dry-run` lists them). A legal hold exempts a person.
# [[retention]]
# name = "stale leads"
# tag = "lead"
# no_activity_days = 730

# Reverse proxies whose X-Forwarded-For header names the client (addresses or CIDR blocks).
# trusted_proxies = ["127.0.0.1"]

# Sign-in throttling (ADR 0018): wrong passwords for one account from one address within 15
# minutes before that pair is locked (an address gets three times as many), and the first lock
# in minutes; each further lock doubles, up to a day. Wrong codes after a right password, per
# day, before the account locks until an administrator resets it.
# login_max_failures = 10
# login_lock_minutes = 15
# login_max_code_failures = 5

# Insider-threat controls: distinct people a user of a role may read in any hour, a sliding
# window (the defaults are below; a role not listed has no budget), and whether exceeding it
# suspends the user.
# read_budgets = { sales = 200, support = 500, manager = 2000 }
# read_budget_suspends = false

# Bulk exports (POST /api/v1/exports) wait for a second person when they would take a user's
# exports over the threshold within export_approval_window_hours (so ten small exports count
# like one big one). The approver must answer for every unit the export covers: a manager of
# all of them, or the dpo. The requester downloads an approved export once, within
# export_download_hours.
# export_approval_threshold = 100
# export_approval_thresholds = { manager = 500 }
# export_approval_window_hours = 24
# export_download_hours = 24

# Alerts (honeytokens, read budgets) go to the audit trail and GET /api/v1/alerts, and also to
# a webhook (JSON POST) and/or a syslog collector (RFC 5424 over UDP).
# alert_webhook = "https://siem.example.com/hooks/sejf"
# alert_webhook_secret = "at least 32 characters, shared with the receiver"   # signs each POST
# alert_syslog = "127.0.0.1:514"

# Seconds between signed audit checkpoints (also written to audit-witness.jsonl).
# audit_seal_secs = 10

# Roles that may sign in and work only from these networks (addresses or CIDR blocks). A role
# not listed may connect from anywhere.
# role_networks = { admin = ["127.0.0.1", "10.0.0.0/8"], auditor = ["10.20.0.0/16"] }
"#;

/// Limits every connection of a listener lives under (ADR 0024).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// A client must send a request's headers within this, and a kept-alive connection may sit
    /// idle no longer (hyper starts the timer as soon as the previous response is sent).
    pub header_timeout: std::time::Duration,
    /// Connections served at once; the next client is accepted when one ends.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self { header_timeout: std::time::Duration::from_secs(10), max_connections: 4096 }
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    fn dir_with(text: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sejf-config-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&d).unwrap_or_default();
        std::fs::write(d.join(CONFIG_FILE), text).unwrap_or_default();
        d
    }

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn environment_variables_override_config_keys() {
        let d = dir_with("max_connections = 10\ndefault_region = \"PL\"\n");
        let c = ConfigFile::load_with(
            &d,
            env(&[
                ("SEJF_MAX_CONNECTIONS", "100"),
                ("SEJF_DEFAULT_REGION", "DE"),
                ("SEJF_PIPELINE", r#"["lead","won","lost"]"#),
                ("SEJF_LOG", "debug"),
            ]),
        )
        .unwrap_or_default();
        assert_eq!(c.max_connections, Some(100));
        assert_eq!(c.default_region.as_deref(), Some("DE"), "a bare word is a string");
        assert_eq!(c.pipeline, Some(vec!["lead".to_string(), "won".into(), "lost".into()]));
        let pinned = ConfigFile::load_with(&d, env(&[("SEJF_AUDIT_PUBLIC_KEY", "AAAA")])).unwrap_or_default();
        assert_eq!(pinned.audit_public_key, None, "a pinned key comes from the file alone");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn errors_name_the_key_and_the_file_or_variable() {
        let d = dir_with("max_conections = 10\n");
        let e = ConfigFile::load_with(&d, env(&[])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("config.toml") && e.contains("max_conections"), "{e}");
        let d2 = dir_with("");
        let e = ConfigFile::load_with(&d2, env(&[("SEJF_MAX_CONNECTIONS", "many")])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("SEJF_MAX_CONNECTIONS"), "{e}");
        let _ = std::fs::remove_dir_all(d);
        let _ = std::fs::remove_dir_all(d2);
    }
}
