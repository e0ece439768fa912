//! Opening an installation (config, master key, database, key hierarchy) and serving it on the
//! public and admin listeners, over plain HTTP or TLS (`sejf_install::tls`), until Ctrl-C or SIGTERM.
//! SIGHUP reloads what can change without a restart: the TLS certificate and, through the
//! caller's hook, other state.
//!
//! Alert delivery (`alerts`: the insider-threat alerts to a signed webhook) sits here, beside
//! the loop that sends them.

pub mod alerts;
mod error;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sejf_core::App;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use sejf_install::InstallError;
use sejf_install::Opened;
use sejf_install::config::ConnLimits;
use sejf_install::tls::{self, CertStore, Tls};

pub use crate::error::ServerError;

/// The default admin address: loopback, next to the public port (or any free port).
pub fn default_admin_addr(public: SocketAddr) -> SocketAddr {
    let port = if public.port() == 0 { 0 } else { public.port().wrapping_add(1) };
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// How to serve: addresses, and TLS when `--tls-cert`/`--tls-key` were given.
#[derive(Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The admin listener; by default loopback next to the public port.
    pub admin: Option<SocketAddr>,
    /// Without it both listeners speak plain HTTP, exactly as before TLS existed.
    pub tls: Option<Tls>,
}

impl ServeOptions {
    /// Plain HTTP on both listeners.
    pub fn plain(listen: SocketAddr, admin: Option<SocketAddr>) -> Self {
        Self { listen, admin, tls: None }
    }
}

/// Binds both listeners, prints their addresses, and serves until Ctrl-C or SIGTERM. On SIGHUP
/// the TLS certificate is reloaded (as it is when its files change) and `on_reload` is called
/// for any other state that can be reloaded without a restart.
pub async fn run(opened: Opened, opts: ServeOptions, on_reload: impl Fn() + Send + Sync + 'static) -> Result<(), ServerError> {
    let ServeOptions { listen, admin, tls } = opts;
    // Catch SIGHUP before anyone can learn our address: unhandled, it would end the process.
    let reload_signal = ReloadSignal::new()?;
    let public = TcpListener::bind(listen).await.map_err(|source| ServerError::Listen { addr: listen.to_string(), source })?;
    let admin_addr = admin.unwrap_or_else(|| default_admin_addr(listen));
    let admin_listener =
        TcpListener::bind(admin_addr).await.map_err(|source| ServerError::Listen { addr: format!("{admin_addr} (admin)"), source })?;
    let mut limits = opened.config.limits()?;
    limits.hsts = tls.is_some();
    let conn_limits = opened.config.connection_limits()?;
    // The webhook client verifies its server with the same TLS provider the server uses.
    let _ = sejf_install::tls::provider().install_default();
    let targets = crate::alerts::Targets::parse(
        opened.config.alert_webhook.as_deref(),
        opened.config.alert_webhook_secret.as_deref(),
        opened.config.alert_syslog.as_deref(),
    )?;
    crate::alerts::start(&opened.app, targets).await?;
    if opened.store.backend() == sejf_store::Backend::Postgres && opened.store.can_alter_audit_guards().await.unwrap_or(true) {
        tracing::warn!(
            "this database role owns the audit tables (or is a superuser): it could switch off their append-only triggers; \
             serve as a runtime role (`sejf migrate --runtime-role`, docs/operations.md)"
        );
    }
    let public_addr = public.local_addr()?;
    let admin_bound = admin_listener.local_addr()?;
    let exposure = Exposure {
        public: public_addr,
        admin: admin_bound,
        tls: tls.is_some(),
        admin_mtls: tls.as_ref().is_some_and(|t| t.admin_mtls),
        trusted_proxies: !limits.trusted_proxies.0.is_empty(),
    };
    for warning in exposure.warnings() {
        tracing::warn!("{warning}");
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://{public_addr}");
        let _ = writeln!(out, "admin listening on {scheme}://{admin_bound}");
        let _ = out.flush();
    }
    match &tls {
        Some(t) => tracing::info!(%public_addr, %admin_bound, backend = ?opened.store.backend(), certificate = %t.certs.fingerprint(),
            admin_client_certificates = t.admin_mtls, "serving over TLS"),
        None => tracing::info!(%public_addr, %admin_bound, backend = ?opened.store.backend(), "serving"),
    }
    let ui = sejf_web::UiConfig { secure: tls.is_some(), witness: Some(opened.witness.clone()), admin: false };
    let public_app = sejf_http::public_router_with(opened.app.clone(), &limits, Some(sejf_web::public_routes(ui.clone())));
    let admin_app = sejf_http::admin_router_with(opened.app.clone(), &limits, Some(sejf_web::admin_routes(ui)));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let sealer =
        tokio::spawn(seal_loop(opened.app.clone(), opened.witness.clone(), opened.config.audit_seal_secs.unwrap_or(10), rx.clone()));
    // A name index derived by an older Sejf is rebuilt while serving (ADR 0003).
    if opened.app.names_need_reindex().await? {
        let app = opened.app.clone();
        tokio::spawn(async move {
            tracing::info!("rebuilding the name index (NFC and prefixes) in the background");
            match app.reindex_names(&sejf_core::Actor::operator(), |_| {}).await {
                Ok((examined, rewritten)) => tracing::info!(examined, rewritten, "name index rebuilt"),
                Err(e) => tracing::error!(error = %e, "name index rebuild failed; `sejf reindex` retries it"),
            }
        });
    }
    let retention = opened.config.retention_rules()?;
    let backups = opened.config.backup_schedule()?.map(|(target, every)| {
        let copy =
            Opened { app: opened.app.clone(), config: opened.config.clone(), store: opened.store.clone(), witness: opened.witness.clone() };
        tokio::spawn(backup_loop(copy, target, every, rx.clone()))
    });
    let housekeeping = tokio::spawn(housekeeping_loop(opened.app.clone(), retention, rx.clone()));
    let reloader = tokio::spawn(reload_loop(reload_signal, tls.as_ref().map(|t| t.certs.clone()), on_reload, rx.clone()));
    let (a, b) = match tls {
        Some(t) => (
            tokio::spawn(serve_conns(public, public_app, Some(TlsAcceptor::from(t.public)), conn_limits, rx.clone())),
            tokio::spawn(serve_conns(admin_listener, admin_app, Some(TlsAcceptor::from(t.admin)), conn_limits, rx)),
        ),
        None => (
            tokio::spawn(serve_conns(public, public_app, None, conn_limits, rx.clone())),
            tokio::spawn(serve_conns(admin_listener, admin_app, None, conn_limits, rx)),
        ),
    };
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let _ = a.await;
    let _ = b.await;
    let _ = reloader.await;
    let _ = housekeeping.await;
    let _ = sealer.await;
    // A backup under way is abandoned: its parts stay incomplete (no manifest), which `backup
    // list` and `verify` never take for a backup.
    if let Some(b) = backups {
        b.abort();
    }
    // Write the read budgets' last reads, so a restarted server counts them.
    if let Err(e) = opened.app.flush_reads().await {
        tracing::error!(error = %e, "writing read budgets at shutdown failed");
    }
    // Seal what the last requests wrote, so the witness covers the whole trail.
    if let Err(e) = opened.app.seal(Some(&opened.witness)).await {
        tracing::error!(error = %e, "final audit seal failed");
    }
    opened.store.close().await;
    Ok(())
}

/// How the listeners face the network, for the start-up warnings.
#[derive(Debug, Clone, Copy)]
pub struct Exposure {
    pub public: SocketAddr,
    pub admin: SocketAddr,
    pub tls: bool,
    pub admin_mtls: bool,
    /// Whether `trusted_proxies` names any proxy.
    pub trusted_proxies: bool,
}

impl Exposure {
    /// What an operator should hear at start-up: plain HTTP beyond loopback (passwords and
    /// tokens in clear on the network), an admin listener beyond loopback without client
    /// certificates, and a loopback-only public listener (so a proxy on this host fronts it)
    /// with no `trusted_proxies` (every client would look like the proxy: one address for
    /// every throttle, allowlist and audit line).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.tls && !self.public.ip().is_loopback() {
            out.push(format!(
                "serving plain HTTP on {}, beyond loopback: passwords and tokens cross the network in clear; \
                 use --tls-cert/--tls-key or listen on 127.0.0.1 behind a TLS proxy",
                self.public
            ));
        }
        if !self.admin.ip().is_loopback() && !self.admin_mtls {
            out.push(format!(
                "the admin listener {} is reachable beyond loopback without client certificates; \
                 keep it on 127.0.0.1 or require them with --admin-client-ca",
                self.admin
            ));
        }
        if self.public.ip().is_loopback() && !self.trusted_proxies {
            out.push(format!(
                "listening on loopback ({}) with no trusted_proxies: behind a proxy on this host every client looks like \
                 the proxy to the sign-in throttle, role_networks and the audit trail; name the proxy in trusted_proxies",
                self.public
            ));
        }
        out
    }
}

/// Every ten seconds: anonymous refusals whose minute is over become summary events; every
/// ten minutes, throttle rows with nothing left to say are deleted. At shutdown, the rest of
/// the tally is written.
async fn housekeeping_loop(app: Arc<App>, retention: Vec<sejf_core::gdpr::RetentionRule>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = app.flush_refusals(false).await {
                    tracing::error!(error = %e, "refusal summary failed");
                }
                ticks += 1;
                if ticks % 60 == 1 {
                    if let Err(e) = app.sweep_throttle().await {
                        tracing::error!(error = %e, "throttle sweep failed");
                    }
                    match app.sweep_expired().await {
                        Ok((sessions, exports)) => tracing::debug!(sessions, exports, "expired sessions and finished exports swept"),
                        Err(e) => tracing::error!(error = %e, "session and export sweep failed"),
                    }
                }
                match app.dsr_overdue_alerts().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(requests = n, "data-subject requests overdue"),
                    Err(e) => tracing::error!(error = %e, "overdue request check failed"),
                }
                // Processors overdue for review, breaches nearing or past 72 h (small registers).
                for (what, r) in [
                    ("processor review", app.processor_review_alerts().await),
                    ("breach deadline", app.breach_deadline_alerts().await),
                ] {
                    match r {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(alerts = n, "{what} alerts raised"),
                        Err(e) => tracing::error!(error = %e, "{what} check failed"),
                    }
                }
                // Retention once a day, the first time a minute after start.
                if !retention.is_empty() && ticks % 8_640 == 6 {
                    match app.retention(&sejf_core::Actor::operator(), &retention, false).await {
                        Ok(items) => tracing::info!(erased = items.iter().filter(|i| i.outcome == "erased").count(), "retention run"),
                        Err(e) => tracing::error!(error = %e, "retention run failed"),
                    }
                }
            }
            _ = stop.changed() => {
                if let Err(e) = app.flush_refusals(true).await {
                    tracing::error!(error = %e, "final refusal summary failed");
                }
                return;
            }
        }
    }
}

/// How often the backup scheduler looks at the clock.
const BACKUP_CHECK: Duration = Duration::from_secs(10);

/// Takes a backup to `target` whenever the last successful one (from the audit trail) is older
/// than `every`; with several servers on PostgreSQL, one at a time (an advisory lock). A failed
/// backup raises a `backup-failed` alert; no success for twice `every` raises `backup-overdue`
/// (once per overdue spell).
async fn backup_loop(opened: Opened, target: String, every: Duration, mut stop: watch::Receiver<bool>) {
    let data_dir = opened.witness.parent().map(Path::to_path_buf).unwrap_or_default();
    let every_us = every.as_micros() as i64;
    let mut tick = tokio::time::interval(BACKUP_CHECK);
    let mut overdue_alerted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let app = &opened.app;
        let operator = sejf_core::Actor::operator();
        let last = match app.last_ok(sejf_core::actions::AuditAction::BackupCreate).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "backup scheduler cannot read the trail");
                continue;
            }
        };
        let now = app.now();
        if last.is_some_and(|t| now - t < every_us) {
            continue;
        }
        if last.is_some_and(|t| now - t > 2 * every_us) && !overdue_alerted {
            let detail = format!("no successful backup to {target} since {}", sejf_core::rfc3339(last.unwrap_or(0)));
            if app.alert(&operator, "backup-overdue", "high", "", &detail).await.is_ok() {
                overdue_alerted = true;
            }
        }
        let Ok(Some(_lease)) = sejf_core::ports::Housekeeping::backup_lock(&opened.store).await else { continue };
        match sejf_backup::create(&data_dir, &opened, &target, &[], None).await {
            Ok(line) => {
                overdue_alerted = false;
                tracing::info!(%line, "scheduled backup");
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup failed");
                let _ = app
                    .alert(
                        &operator,
                        "backup-failed",
                        "high",
                        "",
                        &e.to_string().lines().next().unwrap_or("failed").chars().take(300).collect::<String>(),
                    )
                    .await;
                // Try again after a pause rather than every tick.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(300)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// Seals the audit trail every `secs` seconds until shutdown.
async fn seal_loop(app: Arc<App>, witness: std::path::PathBuf, secs: u64, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(secs.clamp(1, 3600)));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = app.seal(Some(&witness)).await {
                    tracing::error!(error = %e, "audit seal failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// The accept loop of both listeners, plain and TLS: at most `max_connections` at once (the next
/// client waits in the kernel's queue), each in its own task with a bounded TLS handshake, a
/// header-read timeout that also ends idle kept-alive connections (so slow clients cannot hold
/// the server open: slowloris), and HTTP/1.1 served by hyper with the peer address as
/// `ConnectInfo`. A failing connection is logged at debug and never ends the loop.
async fn serve_conns(
    listener: TcpListener,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let make = router.into_make_service_with_connect_info::<SocketAddr>();
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let Ok(service) = make.clone().oneshot(peer).await;
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let service = TowerToHyperService::new(service);
            let served = match acceptor {
                None => watcher.watch(http.serve_connection(TokioIo::new(tcp), service)).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    let stream = tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        },
                        () = stopped(&mut stop) => return,
                    };
                    watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves once shutdown has begun (the watch guard is dropped before anything else awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// SIGHUP, where there is such a thing.
struct ReloadSignal {
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl ReloadSignal {
    fn new() -> Result<Self, ServerError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let hup = signal(SignalKind::hangup()).map_err(ServerError::Signal)?;
            Ok(Self { hup })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.hup.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

/// Reloads on SIGHUP (the certificate, then `on_reload`) and, every
/// [`tls::RELOAD_CHECK_INTERVAL`], the certificate when its files changed. A certificate that
/// fails to load is refused with a log line; the one in use stays.
async fn reload_loop(mut signal: ReloadSignal, certs: Option<Arc<CertStore>>, on_reload: impl Fn(), mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + tls::RELOAD_CHECK_INTERVAL, tls::RELOAD_CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            () = signal.recv() => {
                tracing::info!("SIGHUP: reloading");
                if let Some(c) = &certs {
                    report_reload(c.reload());
                }
                on_reload();
            }
            _ = tick.tick(), if certs.is_some() => {
                if let Some(result) = certs.as_ref().and_then(|c| c.reload_if_changed()) {
                    report_reload(result);
                }
            }
        }
    }
}

fn report_reload(result: Result<String, InstallError>) {
    match result {
        Ok(fingerprint) => tracing::info!(certificate = %fingerprint, "TLS certificate reloaded"),
        Err(e) => tracing::error!(error = %e, "new TLS certificate refused; still serving the previous one"),
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn exposure(public: &str, admin: &str, tls: bool, admin_mtls: bool, trusted_proxies: bool) -> Exposure {
        Exposure { public: public.parse().unwrap(), admin: admin.parse().unwrap(), tls, admin_mtls, trusted_proxies }
    }

    #[test]
    fn start_up_warns_about_exposed_listeners_and_missing_proxies() {
        // Loopback behind a named proxy, admin on loopback: nothing to say.
        assert!(exposure("127.0.0.1:8080", "127.0.0.1:8081", false, false, true).warnings().is_empty());
        // Plain HTTP beyond loopback.
        let w = exposure("0.0.0.0:8080", "127.0.0.1:8081", false, false, false).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("plain HTTP on 0.0.0.0:8080"), "{w:?}");
        assert!(exposure("0.0.0.0:8443", "127.0.0.1:8444", true, false, false).warnings().is_empty(), "TLS beyond loopback is fine");
        // The admin listener beyond loopback, without mTLS (even over TLS); with mTLS it is fine.
        let w = exposure("10.0.0.5:8443", "10.0.0.5:8444", true, false, false).warnings();
        assert!(w.len() == 1 && w[0].contains("admin listener 10.0.0.5:8444"), "{w:?}");
        assert!(exposure("10.0.0.5:8443", "10.0.0.5:8444", true, true, false).warnings().is_empty());
        // Loopback (a local proxy in front) with no trusted_proxies.
        let w = exposure("[::1]:8080", "127.0.0.1:8081", false, false, false).warnings();
        assert!(w.len() == 1 && w[0].contains("no trusted_proxies"), "{w:?}");
    }
}
