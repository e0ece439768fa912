//! Opening an installation (config, master key, database, key hierarchy) and serving it on the
//! public and admin listeners until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sejf_core::{App, SystemClock};
use sejf_store::SqlStore;
use tokio::net::TcpListener;

use crate::config::{ConfigFile, DB_FILE};
use crate::keyfile::{self, PassphraseSource};

/// Where the installation lives; shared by every command.
#[derive(Debug, Clone)]
pub struct Location {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub passphrase: PassphraseSource,
}

impl Location {
    /// The database URL: given explicitly, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| sejf_store::sqlite_url(&self.data_dir.join(DB_FILE)))
    }
}

/// An opened installation.
pub struct Opened {
    pub app: Arc<App>,
    pub config: ConfigFile,
    pub store: SqlStore,
}

/// Opens an existing installation. The master key is opened before the database is touched,
/// so a wrong passphrase changes nothing.
pub async fn open(loc: &Location) -> Result<Opened, String> {
    if !loc.data_dir.join(keyfile::KEY_FILE).exists() && !loc.data_dir.join(crate::config::CONFIG_FILE).exists() {
        return Err(format!("{} is not a Sejf data directory (run `sejf init` first)", loc.data_dir.display()));
    }
    let config = ConfigFile::load(&loc.data_dir).map_err(|e| e.to_string())?;
    let settings = config.settings()?;
    config.limits()?;
    let master = keyfile::open(&loc.data_dir, &config, &loc.passphrase)?;
    let url = loc.database_url();
    let store = SqlStore::connect(&url).await.map_err(|e| format!("database {}: {e}", sejf_store::redact_url(&url)))?;
    let app = App::new(Arc::new(store.clone()), master, settings, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    Ok(Opened { app: Arc::new(app), config, store })
}

/// The default admin address: loopback, next to the public port (or any free port).
pub fn default_admin_addr(public: SocketAddr) -> SocketAddr {
    let port = if public.port() == 0 { 0 } else { public.port().wrapping_add(1) };
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Binds both listeners, prints their addresses, and serves until shutdown.
pub async fn run(opened: Opened, listen: SocketAddr, admin: Option<SocketAddr>) -> Result<(), String> {
    let public = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let admin_addr = admin.unwrap_or_else(|| default_admin_addr(listen));
    let admin_listener = TcpListener::bind(admin_addr).await.map_err(|e| format!("cannot listen on {admin_addr} (admin): {e}"))?;
    let limits = opened.config.limits()?;
    let public_addr = public.local_addr().map_err(|e| e.to_string())?;
    let admin_bound = admin_listener.local_addr().map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{public_addr}");
        let _ = writeln!(out, "admin listening on http://{admin_bound}");
        let _ = out.flush();
    }
    tracing::info!(%public_addr, %admin_bound, backend = ?opened.store.backend(), "serving");
    let public_app = sejf_http::public_router(opened.app.clone(), &limits).into_make_service_with_connect_info::<SocketAddr>();
    let admin_app = sejf_http::admin_router(opened.app.clone(), &limits).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut rx2 = rx.clone();
    let mut rx1 = rx;
    let a = tokio::spawn(async move {
        axum::serve(public, public_app)
            .with_graceful_shutdown(async move {
                let _ = rx1.wait_for(|s| *s).await;
            })
            .await
    });
    let b = tokio::spawn(async move {
        axum::serve(admin_listener, admin_app)
            .with_graceful_shutdown(async move {
                let _ = rx2.wait_for(|s| *s).await;
            })
            .await
    });
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let _ = a.await;
    let _ = b.await;
    opened.store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether a data directory exists and holds anything.
pub fn is_nonempty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false)
}
