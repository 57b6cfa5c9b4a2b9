//! Counters shared by all workers. Relaxed atomics: reading them never stops a
//! worker, and totals need no ordering with anything else.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::proto::h1::RejectClass;

#[derive(Debug, Default)]
pub struct Stats {
    pub connections_accepted: AtomicU64,
    pub connections_closed: AtomicU64,
    pub requests: AtomicU64,
    pub responses_2xx: AtomicU64,
    pub responses_3xx: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub rate_limited: AtomicU64,
    pub timeouts: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub panics: AtomicU64,
    /// Requests the HTTP engine refused, by class (`RequestError::class`): not valid
    /// or not supported HTTP/1.1, over a size bound, not received in time.
    pub rejected_invalid: AtomicU64,
    pub rejected_over_limit: AtomicU64,
    pub rejected_timeout: AtomicU64,
    /// Response body bytes sent (nginx's `$body_bytes_sent` summed): an aborted
    /// download counts what left, not its length. Heads are not included.
    pub bytes_sent_body: AtomicU64,
    /// Connections reclaimed under pressure (`driver/slots.rs`), by reason.
    pub evicted_lingering: AtomicU64,
    pub evicted_idle: AtomicU64,
    pub evicted_slow_head: AtomicU64,
    pub evicted_slow_body: AtomicU64,
    pub evicted_slow_read: AtomicU64,
    /// Connections closed at accept by `max_connections_per_ip`.
    pub refused_per_ip: AtomicU64,
}

/// A point-in-time copy, for logs and (later) the control socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub connections_accepted: u64,
    pub connections_closed: u64,
    pub requests: u64,
    pub responses_2xx: u64,
    pub responses_3xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub tls_handshake_failures: u64,
    pub panics: u64,
    pub rejected_invalid: u64,
    pub rejected_over_limit: u64,
    pub rejected_timeout: u64,
    pub bytes_sent_body: u64,
    pub evicted_lingering: u64,
    pub evicted_idle: u64,
    pub evicted_slow_head: u64,
    pub evicted_slow_body: u64,
    pub evicted_slow_read: u64,
    pub refused_per_ip: u64,
}

impl Stats {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn count_status(&self, status: u16) {
        let c = match status {
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        };
        Self::inc(c);
    }

    pub(crate) fn count_rejection(&self, class: RejectClass) {
        Self::inc(match class {
            RejectClass::Invalid => &self.rejected_invalid,
            RejectClass::OverLimit => &self.rejected_over_limit,
            RejectClass::Timeout => &self.rejected_timeout,
        });
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            connections_accepted: l(&self.connections_accepted),
            connections_closed: l(&self.connections_closed),
            requests: l(&self.requests),
            responses_2xx: l(&self.responses_2xx),
            responses_3xx: l(&self.responses_3xx),
            responses_4xx: l(&self.responses_4xx),
            responses_5xx: l(&self.responses_5xx),
            rate_limited: l(&self.rate_limited),
            timeouts: l(&self.timeouts),
            tls_handshake_failures: l(&self.tls_handshake_failures),
            panics: l(&self.panics),
            rejected_invalid: l(&self.rejected_invalid),
            rejected_over_limit: l(&self.rejected_over_limit),
            rejected_timeout: l(&self.rejected_timeout),
            bytes_sent_body: l(&self.bytes_sent_body),
            evicted_lingering: l(&self.evicted_lingering),
            evicted_idle: l(&self.evicted_idle),
            evicted_slow_head: l(&self.evicted_slow_head),
            evicted_slow_body: l(&self.evicted_slow_body),
            evicted_slow_read: l(&self.evicted_slow_read),
            refused_per_ip: l(&self.refused_per_ip),
        }
    }
}
