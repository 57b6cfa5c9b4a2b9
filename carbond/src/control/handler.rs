//! The daemon side of the control socket: the `ServerHandle` (statistics, graceful
//! stop, access-log reopen), the logger, and the daemon's reload (`reload.rs`, the
//! same function SIGHUP runs).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_control::{
    ConnectionCount, Counters as WireCounters, ReloadReport, ReloadResult, StatsReport, Status,
};
use carbon_core::config::Config;
use carbon_core::driver::{Counters, Protocol, ReloadOutcome, Server, ServerHandle, Stats};

use super::{ControlHandler, ReloadRefused};

pub struct DaemonControl {
    handle: ServerHandle,
    state: Arc<crate::reload::DaemonState>,
    stats: Arc<Stats>,
    config_file: PathBuf,
    listeners: Vec<String>,
    workers: usize,
}

impl DaemonControl {
    pub fn new(
        cfg: &Config,
        config_file: &Path,
        server: &Server,
        state: Arc<crate::reload::DaemonState>,
    ) -> DaemonControl {
        let handle = server.handle();
        DaemonControl {
            state,
            stats: handle.stats_handle(),
            handle,
            // Absolute, so `status` says which file a relative `-c` meant.
            config_file: std::path::absolute(config_file)
                .unwrap_or_else(|_| config_file.to_path_buf()),
            listeners: server
                .local_addrs()
                .into_iter()
                .map(|(scheme, addr)| format!("{}://{addr}", scheme.as_str()))
                .collect(),
            workers: cfg.max_threads.max(1),
        }
    }
}

impl ControlHandler for DaemonControl {
    fn status(&self) -> Status {
        let s = self.stats.snapshot();
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            uptime_secs: s.uptime.as_secs(),
            config_file: Some(self.config_file.display().to_string()),
            config_generation: s.config_generation,
            workers: self.workers,
            listeners: self.listeners.clone(),
            connections_open: s.total.open_all(),
            requests: s.total.requests,
            last_reload: s.last_reload.as_ref().map(reload_result),
        }
    }

    fn stats(&self) -> StatsReport {
        let s = self.stats.snapshot();
        StatsReport {
            uptime_secs: s.uptime.as_secs(),
            config_generation: s.config_generation,
            last_reload: s.last_reload.as_ref().map(reload_result),
            log_write_errors: s.log_write_errors,
            total: wire(&s.total),
            workers: s.workers.iter().map(wire).collect(),
            sites: s
                .sites
                .iter()
                .map(|site| {
                    let classes = (1..=5)
                        .map(|d| (format!("{d}xx"), site.responses[d - 1]))
                        .collect();
                    (site.site.clone(), classes)
                })
                .collect(),
        }
    }

    fn metrics(&self) -> String {
        self.stats.snapshot().prometheus()
    }

    fn reload(&self) -> Result<ReloadReport, ReloadRefused> {
        if !self.state.serving.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ReloadRefused::Unavailable(
                "carbond is still starting; reload again once it serves".to_owned(),
            ));
        }
        match crate::reload::reload(&self.state) {
            Ok(r) => {
                let mut message = r.summary;
                for w in r.warnings {
                    message.push_str("\nwarning: ");
                    message.push_str(&w);
                }
                Ok(ReloadReport {
                    generation: r.generation,
                    message,
                })
            }
            Err(e) => Err(ReloadRefused::Invalid(e.to_string())),
        }
    }

    fn stop(&self) {
        log::info!("control socket: stopping gracefully");
        self.handle.shutdown();
    }

    fn reopen_logs(&self) {
        crate::logger::reopen();
        self.handle.reopen_logs();
        log::info!("control socket: log files reopened");
    }
}

fn reload_result(r: &ReloadOutcome) -> ReloadResult {
    ReloadResult {
        ok: r.ok,
        at_unix: r.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        message: r.message.clone(),
    }
}

/// The driver's counters in the protocol's shape.
fn wire(c: &Counters) -> WireCounters {
    WireCounters {
        connections_open: c.open_all(),
        connections_total: c.accepted_all(),
        connections: Protocol::ALL
            .iter()
            .map(|&p| {
                (
                    p.as_str().to_owned(),
                    ConnectionCount {
                        open: c.open(p),
                        total: c.accepted(p),
                    },
                )
            })
            .collect(),
        requests: c.requests,
        responses: (1..=5).map(|d| (format!("{d}xx"), c.class(d))).collect(),
        bytes_in: c.bytes_in,
        bytes_out: c.bytes_out,
        tls_handshakes: c.tls_handshakes,
        tls_handshake_failures: c.tls_handshake_failures,
        rate_limited: c.rate_limited,
        rejected: c.rejected,
        timeouts: c.timeouts,
        panics: c.panics,
        file_cache_hits: c.file_cache_hits,
        file_cache_misses: c.file_cache_misses,
    }
}

/// Kept for the daemon's reload: records an outcome the way `status` reports it.
#[allow(dead_code)]
pub fn record_reload(stats: &Stats, ok: bool, message: String) {
    stats.record_reload(ReloadOutcome {
        ok,
        at: SystemTime::now(),
        message,
    });
}
