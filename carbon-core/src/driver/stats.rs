//! Counters shared by all workers. Relaxed atomics: reading them never stops a
//! worker, and totals need no ordering with anything else.

use std::sync::atomic::{AtomicU64, Ordering};

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

    pub(crate) fn count_status(&self, status: u16) {
        let c = match status {
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        };
        Self::inc(c);
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
            evicted_lingering: l(&self.evicted_lingering),
            evicted_idle: l(&self.evicted_idle),
            evicted_slow_head: l(&self.evicted_slow_head),
            evicted_slow_body: l(&self.evicted_slow_body),
            evicted_slow_read: l(&self.evicted_slow_read),
            refused_per_ip: l(&self.refused_per_ip),
        }
    }
}
