//! Signals, handled on a thread of their own (signal-hook's iterator: the handler
//! only records the signal, all work happens here):
//!
//! * SIGHUP: reload the configuration (it reopened the logs before; that is SIGUSR1).
//! * SIGTERM, SIGINT: graceful stop within `shutdown_timeout`; a second one exits at
//!   once, for an operator who does not want to wait for slow clients.
//! * SIGUSR1: reopen the error and access logs (log rotation).
//! * SIGQUIT: stop at once, without draining.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::reload::DaemonState;

/// `SIGTERM` rather than `15` in the log.
pub fn name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Called just before an immediate exit (SIGQUIT, second SIGTERM): what must not be
/// left behind, such as the pid file.
pub type OnExit = Box<dyn Fn() + Send>;

pub fn spawn(
    state: Arc<DaemonState>,
    stopping: Arc<AtomicBool>,
    on_exit: OnExit,
) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGQUIT])?;
    std::thread::Builder::new()
        .name("carbon-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let n = name(sig);
                match sig {
                    SIGHUP => {
                        if stopping.load(Ordering::SeqCst) {
                            log::info!("{n}: ignored, stopping");
                            continue;
                        }
                        log::info!("{n}: reloading the configuration");
                        let _ = crate::reload::reload(&state);
                    }
                    SIGUSR1 => {
                        let ok = crate::logger::reopen();
                        let access = state.handle.reopen_logs();
                        if ok && access {
                            log::info!("{n}: log files reopened");
                        } else {
                            log::warn!("{n}: not every log file could be reopened (see above)");
                        }
                    }
                    SIGQUIT => {
                        log::warn!("{n}: stopping at once, open connections are cut");
                        state.notifier.stopping();
                        on_exit();
                        log::logger().flush();
                        std::process::exit(0);
                    }
                    _ => {
                        if !stopping.swap(true, Ordering::SeqCst) {
                            log::info!("{n}: stopping gracefully");
                            state.notifier.stopping();
                            state.handle.drain_then_shutdown();
                        } else {
                            log::warn!("{n} again: exiting without waiting");
                            on_exit();
                            log::logger().flush();
                            std::process::exit(1);
                        }
                    }
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn signals_are_logged_by_name() {
        assert_eq!(super::name(15), "SIGTERM");
        assert_eq!(super::name(1), "SIGHUP");
        assert_eq!(super::name(999), "signal 999");
    }
}
