//! End-to-end tests: a real carbond process on 127.0.0.1 with an ephemeral port,
//! driven by independent clients (ureq, raw sockets, curl).
//!
//! Each test starts its own daemon, so tests run in parallel without sharing state.

// Tests may unwrap: a failed unwrap is a failed test, which is what we want here.
#![allow(clippy::unwrap_used)]

mod harness;

mod balancer;
mod brotli;
mod cli;
mod compression;
mod conditional;
mod control;
mod curl;
mod daemon;
mod deploy;
mod drain;
mod driver;
mod forwarded;
mod framing;
mod gzip;
mod h2;
mod h2_access_log;
mod h2_drain;
mod h2_push;
mod lifecycle;
mod limits;
mod listen;
mod logging;
mod methods;
mod proxy_protocol;
mod ranges;
mod reload;
mod resilience;
mod site;
mod site_headers;
mod static_files;
mod systemd;
mod ticket_keys;
mod timeouts;
mod tls;
mod traversal;
mod vhost;
mod ws;
mod ws_conformance;
mod ws_h2;
mod ws_idle;
mod ws_idle_slots;
