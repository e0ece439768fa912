//! What operators watch: `/readyz` (the database answers, the audit writer runs, the last seal
//! succeeded) and the gauges `/metrics` adds to the HTTP edge's counters (the audit writer's
//! queue, the sealer's lag, alerts raised, the store's connections).

use crate::App;

/// What `/readyz` checks, each with its failure (no detail a stranger could use).
#[derive(Debug, Clone)]
pub struct Readiness {
    pub checks: Vec<(&'static str, Result<(), &'static str>)>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|(_, r)| r.is_ok())
    }
}

impl App {
    /// Whether this server can serve: the database answers, the audit writer runs, and the last
    /// seal of the audit trail (if any) succeeded.
    pub async fn readiness(&self) -> Readiness {
        let database = match tokio::time::timeout(std::time::Duration::from_secs(2), self.store.audit_checkpoint_last()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("unavailable"),
            Err(_) => Err("timed out"),
        };
        let writer = if self.audit_log.running() { Ok(()) } else { Err("stopped") };
        let sealer = if self.seal_state.load(std::sync::atomic::Ordering::Relaxed) < 0 { Err("last seal failed") } else { Ok(()) };
        Readiness { checks: vec![("database", database), ("audit_writer", writer), ("audit_sealer", sealer)] }
    }

    /// Requests waiting for the audit writer's next group commit (a metric: it grows when the
    /// database cannot keep up).
    pub fn audit_queue_depth(&self) -> usize {
        self.audit_log.queued()
    }

    /// Alerts this server has raised since it started.
    pub fn alerts_raised(&self) -> u64 {
        self.alerts_raised.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The store's connections: (open, idle), when it pools them.
    pub fn store_connections(&self) -> Option<(u32, u32)> {
        self.store.connections()
    }

    /// When the audit trail was last sealed (unix µs; 0 never, -1 the last attempt failed).
    pub fn last_seal(&self) -> i64 {
        self.seal_state.load(std::sync::atomic::Ordering::Relaxed)
    }
}
