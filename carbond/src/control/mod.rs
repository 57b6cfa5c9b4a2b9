//! The control socket: a Unix stream socket on its own thread, speaking the protocol
//! of the `carbon-control` crate (docs/control-protocol.md) to carbonctl.
//!
//! The server knows nothing of the daemon: it calls a [`ControlHandler`], which
//! `handler.rs` implements on top of the driver's `ServerHandle`. It never runs on
//! a worker thread, so a slow, malformed or hostile client costs at most one of a
//! few bounded control threads and never a served request.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carbon_control::{ReloadReport, StatsReport, Status};
use carbon_core::config::Config;
use carbon_core::driver::Server;

mod auth;
pub mod handler;
mod server;

pub use server::ControlServer;

/// What the control socket can ask of the daemon. Calls come from control threads,
/// one at a time per connection, possibly concurrently across connections.
pub trait ControlHandler: Send + Sync {
    fn status(&self) -> Status;
    fn stats(&self) -> StatsReport;
    /// The Prometheus text exposition format.
    fn metrics(&self) -> String;
    /// Re-read and apply the configuration; `Err` carries the refusal (file, line,
    /// key) while the old configuration keeps serving.
    fn reload(&self) -> Result<ReloadReport, ReloadRefused>;
    /// Begin a graceful stop (returns at once).
    fn stop(&self);
    /// Reopen the error and access logs.
    fn reopen_logs(&self);
}

/// Why a reload did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadRefused {
    /// The new configuration is invalid; the message names file, line and key.
    Invalid(String),
    /// carbond cannot reload right now (it is still starting).
    Unavailable(String),
}

/// Where and for whom the socket is created.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    pub path: PathBuf,
    /// Group allowed besides root and carbond's own user; empty = none.
    pub group: String,
}

/// Opens the control socket configured in `cfg` (none when `control_socket` is
/// empty) with a handler over `server`. The returned server removes its socket file
/// when dropped; keep it alive while carbond runs.
///
/// A control socket that cannot be set up (its directory cannot be created, another
/// carbond answers on it) does not stop carbond: serving matters more than being
/// controllable, and the operator is told on standard error and in the log. Another
/// instance's socket is never taken over.
pub fn start(
    cfg: &Config,
    config_file: &Path,
    server: &Server,
    state: Arc<crate::reload::DaemonState>,
) -> Option<ControlServer> {
    let path = cfg.control_socket.clone()?;
    let handler = handler::DaemonControl::new(cfg, config_file, server, state);
    let opts = ControlOptions {
        path,
        group: cfg.control_group.clone(),
    };
    match server::spawn(opts, Arc::new(handler)) {
        Ok(s) => Some(s),
        Err(e) => {
            report_unavailable(&e);
            None
        }
    }
}

fn report_unavailable(e: &io::Error) {
    let msg =
        format!("{e}; running without a control socket (carbonctl cannot reach this carbond)");
    eprintln!("carbond: warning: {msg}");
    log::warn!("{msg}");
}
