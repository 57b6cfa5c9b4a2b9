//! SIGTERM/SIGINT -> graceful shutdown. A second signal while draining exits at once,
//! for an operator who does not want to wait for slow clients.

use std::io;

use carbon_core::driver::ServerHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub fn spawn(handle: ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("carbon-signals".into())
        .spawn(move || {
            let mut seen = 0;
            for sig in signals.forever() {
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
