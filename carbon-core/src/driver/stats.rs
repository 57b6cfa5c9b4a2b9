//! Counters shared by all workers. Relaxed atomics: reading them never stops a
//! worker, and totals need no ordering with anything else.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::proto::h1::RejectClass;
use crate::proto::h2::error::ErrorCode;

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
    /// Connections that switched to HTTP/2 (ALPN `h2` or the h2c preface).
    pub connections_h2: AtomicU64,
    /// HTTP/2 streams (RFC 9113 §5.1): opened, refused over
    /// SETTINGS_MAX_CONCURRENT_STREAMS, reset by the client, reset by us.
    pub h2_streams_opened: AtomicU64,
    pub h2_streams_refused: AtomicU64,
    pub h2_streams_reset_by_peer: AtomicU64,
    pub h2_streams_reset_by_us: AtomicU64,
    /// GOAWAY frames sent, by error code (RFC 9113 §7): NO_ERROR (shutdown, idle),
    /// PROTOCOL_ERROR, FLOW_CONTROL_ERROR, ENHANCE_YOUR_CALM (a defence tripped),
    /// and every other code.
    pub h2_goaway_no_error: AtomicU64,
    pub h2_goaway_protocol_error: AtomicU64,
    pub h2_goaway_flow_control_error: AtomicU64,
    pub h2_goaway_enhance_your_calm: AtomicU64,
    pub h2_goaway_other: AtomicU64,
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
    pub connections_h2: u64,
    pub h2_streams_opened: u64,
    pub h2_streams_refused: u64,
    pub h2_streams_reset_by_peer: u64,
    pub h2_streams_reset_by_us: u64,
    pub h2_goaway_no_error: u64,
    pub h2_goaway_protocol_error: u64,
    pub h2_goaway_flow_control_error: u64,
    pub h2_goaway_enhance_your_calm: u64,
    pub h2_goaway_other: u64,
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

    pub(crate) fn count_goaway(&self, code: ErrorCode) {
        Self::inc(match code {
            ErrorCode::NO_ERROR => &self.h2_goaway_no_error,
            ErrorCode::PROTOCOL_ERROR => &self.h2_goaway_protocol_error,
            ErrorCode::FLOW_CONTROL_ERROR => &self.h2_goaway_flow_control_error,
            ErrorCode::ENHANCE_YOUR_CALM => &self.h2_goaway_enhance_your_calm,
            _ => &self.h2_goaway_other,
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
            connections_h2: l(&self.connections_h2),
            h2_streams_opened: l(&self.h2_streams_opened),
            h2_streams_refused: l(&self.h2_streams_refused),
            h2_streams_reset_by_peer: l(&self.h2_streams_reset_by_peer),
            h2_streams_reset_by_us: l(&self.h2_streams_reset_by_us),
            h2_goaway_no_error: l(&self.h2_goaway_no_error),
            h2_goaway_protocol_error: l(&self.h2_goaway_protocol_error),
            h2_goaway_flow_control_error: l(&self.h2_goaway_flow_control_error),
            h2_goaway_enhance_your_calm: l(&self.h2_goaway_enhance_your_calm),
            h2_goaway_other: l(&self.h2_goaway_other),
            evicted_lingering: l(&self.evicted_lingering),
            evicted_idle: l(&self.evicted_idle),
            evicted_slow_head: l(&self.evicted_slow_head),
            evicted_slow_body: l(&self.evicted_slow_body),
            evicted_slow_read: l(&self.evicted_slow_read),
            refused_per_ip: l(&self.refused_per_ip),
        }
    }
}
