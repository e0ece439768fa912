//! `config.toml` in the data directory: installation settings, validated at start-up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sejf_core::Settings;
use sejf_domain::records::Pipeline;
use sejf_domain::values::{CountryCode, CurrencyCode};

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
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Parse(PathBuf, String),
}

impl ConfigFile {
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse(path, e.to_string().lines().next().unwrap_or("").to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError::Read(path, e)),
        }
    }

    /// The use-case settings, every value checked.
    pub fn settings(&self) -> Result<Settings, String> {
        let mut s = Settings::standard();
        if let Some(r) = &self.default_region {
            s.default_region = CountryCode::parse(r).map_err(|e| format!("config default_region: {e}"))?;
        }
        if let Some(c) = &self.default_currency {
            s.default_currency = CurrencyCode::parse(c).map_err(|e| format!("config default_currency: {e}"))?;
        }
        if let Some(p) = &self.pipeline {
            s.pipeline = Pipeline::new(p.clone()).map_err(|e| format!("config pipeline: {e}"))?;
        }
        if let Some(m) = self.session_idle_minutes {
            if !(1..=24 * 60).contains(&m) {
                return Err("config session_idle_minutes: must be 1 to 1440".into());
            }
            s.session_idle_secs = m * 60;
        }
        if let Some(h) = self.session_absolute_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err("config session_absolute_hours: must be 1 to 720".into());
            }
            s.session_absolute_secs = h * 3600;
        }
        Ok(s)
    }

    pub fn limits(&self) -> sejf_http::Limits {
        let mut l = sejf_http::Limits::default();
        if let Some(k) = self.max_body_kib {
            l.max_body_bytes = k.clamp(1, 64 * 1024) * 1024;
        }
        if let Some(t) = self.request_timeout_secs {
            l.request_timeout = std::time::Duration::from_secs(t.clamp(1, 3600));
        }
        l
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
"#;
