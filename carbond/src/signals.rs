//! SIGTERM/SIGINT -> graceful shutdown. A second one while draining exits at once,
//! for an operator who does not want to wait for slow clients.
//!
//! SIGHUP reopens the error and access logs (for log rotation). It must never take
//! the server down, which is what the default disposition would do.

use std::io;

use carbon_core::driver::ServerHandle;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub fn spawn(handle: ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("carbon-signals".into())
        .spawn(move || {
            let mut seen = 0;
            for sig in signals.forever() {
                if sig == SIGHUP {
                    crate::logger::reopen();
                    handle.reopen_logs();
                    log::info!("SIGHUP: log files reopened");
                    continue;
                }
                seen += 1;
                if seen == 1 {
                    log::info!("signal {sig}: stopping gracefully");
                    handle.shutdown();
                } else {
                    log::warn!("signal {sig} again: exiting without waiting");
                    log::logger().flush();
                    std::process::exit(1);
                }
            }
        })?;
    Ok(())
}
