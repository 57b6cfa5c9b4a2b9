//! Every bound the engines enforce, with its default and the reason for it.
//!
//! Hitting a bound gives the peer the status the RFC names and never grows memory.

use std::time::Duration;

/// Size and count bounds for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version). Beyond it: 414 (RFC 9112 §3,
    /// RFC 9110 §15.5.15). 8 KiB like nginx's `large_client_header_buffers`.
    pub max_request_line: usize,
    /// Longest single header field line. Beyond it: 431 (RFC 6585 §5).
    pub max_header_line: usize,
    /// All header lines together. Beyond it: 431.
    pub max_headers_size: usize,
    /// Number of header fields. Beyond it: 431.
    pub max_headers: usize,
    /// Largest request body accepted (after chunked decoding). Beyond it: 413
    /// (RFC 9110 §15.5.14). The static-file service needs no bodies, so 1 MiB is ample.
    pub max_body: usize,
    /// Output queued per connection before the engine stops reading further pipelined
    /// requests (backpressure). File bodies count only as references, not bytes.
    pub max_output_queued: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_line: 16 * 1024,
            max_headers_size: 64 * 1024,
            max_headers: 100,
            max_body: 1024 * 1024,
            max_output_queued: 256 * 1024,
        }
    }
}

/// Every state where a peer can stall has one of these (defaults follow nginx's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request until its head is complete (slowloris).
    pub request_header: Duration,
    /// From the end of a request head until its whole body has arrived (slow POST).
    pub request_body: Duration,
    /// Idle keep-alive connection between requests.
    pub keep_alive: Duration,
    /// A write that makes no progress for this long closes the connection.
    pub write: Duration,
    /// A TLS handshake must complete within this time.
    pub tls_handshake: Duration,
    /// On SIGTERM/SIGINT, in-flight responses get this long before the workers exit.
    pub shutdown_drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request_header: Duration::from_secs(30),
            request_body: Duration::from_secs(60),
            keep_alive: Duration::from_secs(75),
            write: Duration::from_secs(60),
            tls_handshake: Duration::from_secs(10),
            shutdown_drain: Duration::from_secs(30),
        }
    }
}

/// The connection-slot policy (`driver/slots.rs`) starts reclaiming slots once this
/// share of `max_connections` (in percent) is in use: the last tenth stays free for
/// newcomers, so a client arriving during an attack finds a slot at once instead of
/// waiting for a victim.
pub const SLOT_HIGH_WATER_PERCENT: usize = 90;

/// Under pressure, a request head or body must arrive at this average rate (bytes per
/// second since it started) or its connection may be reclaimed. Apache's
/// mod_reqtimeout uses the same `MinRate=500`; a slowloris (CVE-2007-6750) or slow
/// POST sends a few bytes every several seconds, orders of magnitude below it.
pub const MIN_RECEIVE_RATE: u64 = 500;

/// Under pressure, a head or body younger than this is never reclaimed: a new client
/// must have time to send its first segments (a few round trips on a slow mobile
/// link) before its rate means anything.
pub const MIN_RATE_GRACE: Duration = Duration::from_secs(2);

/// Under pressure, a response the peer has taken nothing of for this long may be
/// reclaimed (the "slow read" attack: a tiny TCP window read a few bytes at a time).
/// Longer than the grace for requests: the kernel reports room to write only once a
/// third of the socket buffer has drained, which on an honest link takes a few round
/// trips, and about 6 s for an 87 KB buffer on a 5 KB/s (2G) link. A slow reader
/// blocks the writer for minutes. nginx's `send_timeout` is 60 s; this applies only
/// when slots are short, where a newcomer is worth more than a nearly dead download.
pub const SEND_STALL: Duration = Duration::from_secs(5);
