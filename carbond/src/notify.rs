//! The service manager's notification protocol (sd_notify): READY, STATUS,
//! RELOADING with MONOTONIC_USEC, STOPPING and WATCHDOG.
//!
//! Every message is sent from a carbond thread (main, signals, the status thread),
//! never from a worker, so a slow or missing receiver can never stall serving.
//! Without `NOTIFY_SOCKET` in the environment every call is a no-op.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::reload::DaemonState;

/// STATUS= is refreshed this often (and at every reload); the watchdog may ask for
/// more often.
const STATUS_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Notifier {
    enabled: bool,
    /// A failing socket is reported once, not every few seconds.
    warned: Arc<AtomicBool>,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            warned: Arc::default(),
        }
    }

    fn send(&self, states: &[NotifyState]) {
        if !self.enabled {
            return;
        }
        match sd_notify::notify(states) {
            Ok(()) => self.warned.store(false, Ordering::Relaxed),
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log::warn!("sd_notify: cannot notify the service manager (NOTIFY_SOCKET): {e}");
                }
            }
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// Before a reload: `RELOADING=1` with the monotonic time, as systemd's
    /// `Type=notify-reload` requires.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(t) => self.send(&[
                NotifyState::Reloading,
                t,
                NotifyState::Status("reloading the configuration"),
            ]),
            Err(e) => log::warn!("sd_notify: cannot read the monotonic clock: {e}"),
        }
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }
}

/// Start the thread that refreshes STATUS= and, when the service manager asked for
/// a watchdog (`WATCHDOG_USEC`), pings it at half that interval, but only while every
/// worker's heartbeat has moved since the last ping: a stuck worker lets the
/// watchdog fire, which is the point.
pub fn spawn_status_thread(state: Arc<DaemonState>, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    if let Some(w) = watchdog {
        if w <= carbon_core::driver::LIVENESS_TICK {
            log::warn!(
                "WATCHDOG_USEC/2 = {w:?} is not longer than a worker's liveness tick ({:?}): \
                 pings will be withheld; raise WatchdogSec",
                carbon_core::driver::LIVENESS_TICK
            );
        }
    }
    let tick = watchdog.map_or(STATUS_EVERY, |w| w.min(STATUS_EVERY));
    std::thread::Builder::new()
        .name("carbon-status".into())
        .spawn(move || {
            let mut beats = state.handle.heartbeats();
            let mut requests = state.handle.stats().total.requests;
            let mut last = Instant::now();
            let mut last_status = Instant::now();
            let mut last_ping = Instant::now();
            // The first ping right away: the workers have just started.
            if watchdog.is_some() {
                state.notifier.watchdog();
            }
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // Due at half of WATCHDOG_USEC (within half a tick of it).
                let ping_due = watchdog.is_some_and(|half| last_ping.elapsed() + tick / 2 >= half);
                if ping_due {
                    last_ping = Instant::now();
                    let now_beats = state.handle.heartbeats();
                    let stuck = stuck_workers(&beats, &now_beats);
                    if stuck.is_empty() {
                        state.notifier.watchdog();
                    } else {
                        log::error!(
                            "worker(s) {stuck:?} made no progress since the last watchdog \
                             check: ping withheld"
                        );
                    }
                    beats = now_beats;
                }
                if last_status.elapsed() >= STATUS_EVERY.min(tick) {
                    let now = Instant::now();
                    let r = state.handle.stats().total.requests;
                    let secs = now.duration_since(last).as_secs_f64().max(0.001);
                    state.set_request_rate(r.saturating_sub(requests) as f64 / secs);
                    requests = r;
                    last = now;
                    last_status = now;
                    state.notifier.status(&state.status_line());
                }
            }
        })?;
    Ok(())
}

/// Workers whose heartbeat has not moved between two readings (by index).
fn stuck_workers(before: &[u64], now: &[u64]) -> Vec<usize> {
    now.iter()
        .zip(before)
        .enumerate()
        .filter(|(_, (n, b))| n <= b)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::stuck_workers;

    #[test]
    fn watchdog_ping_needs_every_worker_to_have_turned() {
        assert!(stuck_workers(&[5, 9], &[6, 10]).is_empty());
        assert_eq!(stuck_workers(&[5, 9], &[6, 9]), vec![1]);
        assert_eq!(stuck_workers(&[5, 9], &[5, 9]), vec![0, 1]);
    }
}
