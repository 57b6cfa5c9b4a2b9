//! Hot reload: parse and validate the whole configuration again (TLS material
//! included) before touching anything; on success hand it to the running server,
//! on failure keep serving with the old one and say exactly what is wrong.
//!
//! [`reload`] is the one entry point: SIGHUP calls it, and so can a control socket.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carbon_core::config::Config;
use carbon_core::driver::{ServerHandle, Update};

use crate::notify::Notifier;

/// How long a reload waits for every worker to confirm the switch. A worker turns
/// at least every `LIVENESS_TICK`; this is far beyond that.
const CONFIRM: Duration = Duration::from_secs(5);

/// Keys read once at start-up: a reload that changes them says a restart is needed.
const RESTART_KEYS: &[&str] = &[
    "max_threads",
    "max_connections",
    "max_connections_per_ip",
    "shutdown_timeout",
    "log_file",
    "log_mode",
    "log_target",
    "syslog_facility",
    "access_log",
    "daemon",
    "pid_file",
    "user",
    "group",
    "allow_root",
];

/// What a running carbond needs to reload itself; shared by `Arc` between the
/// signal thread, the status thread and (later) the control socket.
pub struct DaemonState {
    pub config_path: PathBuf,
    /// Relative paths are resolved against this (a detached carbond runs in `/`).
    pub base: Option<PathBuf>,
    pub handle: ServerHandle,
    pub notifier: Notifier,
    pub started: Instant,
    /// The configuration carbond started with, for the restart-only keys.
    startup: Arc<Config>,
    last: Mutex<Option<Result<ReloadReport, ReloadError>>>,
    /// Requests per second over the last status interval (f64 bits).
    rate: AtomicU64,
    /// Set once every worker runs; a reload before that is refused (a worker still
    /// being built would keep the start-up service).
    pub serving: AtomicBool,
}

/// A successful reload.
#[derive(Debug, Clone)]
pub struct ReloadReport {
    pub generation: u64,
    /// `Config::summary()` of the new configuration.
    pub summary: String,
    /// Changes that were read but only take effect after a restart.
    pub warnings: Vec<String>,
}

/// A refused reload: the old configuration is still serving.
#[derive(Debug, Clone)]
pub struct ReloadError {
    /// One problem per entry; configuration-file problems name file, line and key.
    pub problems: Vec<String>,
    /// The generation still serving.
    pub generation: u64,
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reload refused, generation {} keeps serving: {}",
            self.generation,
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for ReloadError {}

impl DaemonState {
    pub fn new(
        config_path: PathBuf,
        base: Option<PathBuf>,
        handle: ServerHandle,
        notifier: Notifier,
        startup: Arc<Config>,
    ) -> DaemonState {
        DaemonState {
            config_path,
            base,
            handle,
            notifier,
            started: Instant::now(),
            startup,
            last: Mutex::new(None),
            rate: AtomicU64::new(0f64.to_bits()),
            serving: AtomicBool::new(false),
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The result of the last reload, if any.
    pub fn last_reload(&self) -> Option<Result<ReloadReport, ReloadError>> {
        match self.last.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_request_rate(&self, per_sec: f64) {
        self.rate.store(per_sec.to_bits(), Ordering::Relaxed);
    }

    /// The one-line STATUS= summary.
    pub fn status_line(&self) -> String {
        let requests_per_sec = f64::from_bits(self.rate.load(Ordering::Relaxed));
        let mut s = format!(
            "{} connections, {requests_per_sec:.1} requests/s, config generation {}",
            self.handle.active_connections(),
            self.handle.generation()
        );
        if let Some(Err(e)) = self.last_reload() {
            s.push_str("; last reload failed: ");
            s.push_str(e.problems.first().map_or("", String::as_str));
        }
        s
    }

    fn record(&self, r: &Result<ReloadReport, ReloadError>) {
        match self.last.lock() {
            Ok(mut g) => *g = Some(r.clone()),
            Err(p) => *p.into_inner() = Some(r.clone()),
        }
    }
}

/// Parse and validate the whole configuration at `state.config_path` (TLS material
/// included) before touching anything; on success hand it to the running server and
/// return a summary; on error keep the old config and return an error whose
/// Display names file, line and key.
pub fn reload(state: &DaemonState) -> Result<ReloadReport, ReloadError> {
    state.notifier.reloading();
    let result = reload_inner(state);
    match &result {
        Ok(r) => {
            log::info!(
                "configuration reloaded (generation {}): {}",
                r.generation,
                r.summary
            );
            for w in &r.warnings {
                log::warn!("reload: {w}");
            }
        }
        Err(e) => {
            log::error!("reload refused; generation {} keeps serving:", e.generation);
            for p in &e.problems {
                log::error!("  {p}");
            }
        }
    }
    state.record(&result);
    let stats = state.handle.stats_handle();
    stats.set_config_generation(state.handle.generation());
    stats.record_reload(carbon_core::driver::ReloadOutcome {
        ok: result.is_ok(),
        at: std::time::SystemTime::now(),
        message: match &result {
            Ok(_) => String::new(),
            Err(e) => e.problems.join("; "),
        },
    });
    state.notifier.ready(&state.status_line());
    result
}

fn reload_inner(state: &DaemonState) -> Result<ReloadReport, ReloadError> {
    let refuse = |problems: Vec<String>| ReloadError {
        problems,
        generation: state.handle.generation(),
    };
    if !state.serving.load(Ordering::SeqCst) {
        return Err(refuse(vec![
            "carbond is still starting; reload again once it serves".into(),
        ]));
    }
    let loaded =
        crate::loadcfg::load(&state.config_path, state.base.as_deref()).map_err(|e| refuse(e.0))?;
    if !loaded.cfg.running {
        return Err(refuse(vec![format!(
            "{}: running = false: stop carbond instead of reloading",
            state.config_path.display()
        )]));
    }
    let mut warnings = restart_only_changes(&state.startup, &loaded.cfg);
    warnings.extend(loaded.warnings.iter().cloned());
    let summary = loaded.cfg.summary();
    let cfg = Arc::new(loaded.cfg);
    let update = Update {
        factory: crate::service_factory(&cfg),
        cfg,
        tls: loaded.tls,
    };
    let listening_before = state.handle.local_addrs();
    let result = state.handle.reload(update, CONFIRM);
    let listening_after = state.handle.local_addrs();
    if result.is_ok() && listening_after != listening_before {
        for (scheme, addr) in &listening_after {
            log::info!("listening on {}://{addr}", scheme.as_str());
        }
    }
    match result {
        Ok(generation) => Ok(ReloadReport {
            generation,
            summary,
            warnings,
        }),
        Err(carbon_core::driver::ReloadError::NotConfirmed {
            generation,
            workers,
        }) => {
            let mut warnings = warnings;
            warnings.push(format!(
                "worker(s) {workers:?} had not switched after {CONFIRM:?}; they will at their next turn"
            ));
            Ok(ReloadReport {
                generation,
                summary,
                warnings,
            })
        }
        Err(e) => Err(refuse(vec![format!(
            "{}: {e}",
            state.config_path.display()
        )])),
    }
}

fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    let differs = |k: &str| match k {
        "max_threads" => old.max_threads != new.max_threads,
        "max_connections" => old.max_connections != new.max_connections,
        "max_connections_per_ip" => old.max_connections_per_ip != new.max_connections_per_ip,
        "shutdown_timeout" => old.timeouts.shutdown_drain != new.timeouts.shutdown_drain,
        "log_file" => old.log_file != new.log_file,
        "log_mode" => old.log_mode != new.log_mode,
        "log_target" => old.log_target != new.log_target,
        "syslog_facility" => old.syslog_facility != new.syslog_facility,
        "access_log" => old.access_log != new.access_log,
        "daemon" => old.daemon != new.daemon,
        "pid_file" => old.pid_file != new.pid_file,
        "user" => old.user != new.user,
        "group" => old.group != new.group,
        "allow_root" => old.allow_root != new.allow_root,
        _ => false,
    };
    for k in RESTART_KEYS {
        if differs(k) {
            changed.push(format!(
                "`{k}` changed but is read at start-up only: restart carbond to apply it"
            ));
        }
    }
    changed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn restart_only_keys_are_named_when_changed() {
        let old = Config::from_text("max_threads = 2\nwww_path = /a\n").unwrap();
        let new = Config::from_text("max_threads = 4\nwww_path = /b\n").unwrap();
        let w = restart_only_changes(&old, &new);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("max_threads"));
    }
}
