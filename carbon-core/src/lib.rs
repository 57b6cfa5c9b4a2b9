//! Carbon's event library.
//!
//! Three layers, visible in the folder tree (see `docs/architecture.md`):
//!
//! * [`proto`]: sans-IO protocol engines. They are fed bytes and the current time and
//!   hand back bytes to send, events and their next deadline. They never touch a
//!   socket, a file descriptor, a clock or a thread.
//! * [`service`]: protocol-neutral request handling (the static-file service).
//! * [`driver`]: the mio event loop, the only code that calls the OS for networking.
//!
//! [`config`] and [`limits`] hold every setting and every bound, each with its default.
// `deny`, not `forbid`: one folder (driver/sys/) makes the system calls no safe API
// offers (two socket options, file mappings for h2c output), under its own `allow`
// and SAFETY comments.
#![deny(unsafe_code)]

pub mod config;
pub mod limits;
pub mod proto;
pub mod service;
pub mod tls;

#[cfg(test)]
mod test_rng;

#[cfg(feature = "driver")]
pub mod driver;
