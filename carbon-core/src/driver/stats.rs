//! Statistics: one block of counters per worker, updated on the hot path by that
//! worker alone (a Relaxed load and store, no locked instruction) and summed only when
//! someone reads them.
//!
//! Each [`WorkerCounters`] is aligned to 128 bytes (two cache lines, because the
//! adjacent-line prefetcher of x86 pulls pairs), so two workers never write to the
//! same line and a counter update never bounces a line between cores. Reading takes
//! a [`StatsSnapshot`]: a plain copy, never a lock, never a pause of a worker. Totals
//! are not a consistent cut across counters (a request may be counted in `requests`
//! and not yet in its status class while the copy is taken); each counter on its own
//! only grows.
//!
//! What is counted where, so the numbers add up:
//! - `requests` counts every answered request once, including those the engine
//!   rejected (400, 413, 431, ...) and plain HTTP on the TLS port; `rejected` is the
//!   subset that never reached the service. So `requests` equals the sum of the
//!   status classes.
//! - `rate_limited` is the subset of `requests` answered 429 by the rate limiter.
//! - Connections are counted by the protocol of their listener when accepted and
//!   when closed; open = accepted - closed.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use crate::service::ServiceCounters;

/// The protocol a connection was accepted for. HTTP/2 and WebSocket join here as
/// variants when they land; every array below grows with [`Protocol::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http = 0,
    Https = 1,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Http, Protocol::Https];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

const PROTOCOLS: usize = Protocol::ALL.len();
/// 1xx, 2xx, 3xx, 4xx, 5xx.
const CLASSES: usize = 5;

/// One worker's counters. Only that worker writes them (the file service of that
/// worker included), so the adds never contend.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerCounters {
    pub connections_accepted: [AtomicU64; PROTOCOLS],
    pub connections_closed: [AtomicU64; PROTOCOLS],
    pub requests: AtomicU64,
    pub responses: [AtomicU64; CLASSES],
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub tls_handshakes: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub rate_limited: AtomicU64,
    pub rejected: AtomicU64,
    pub timeouts: AtomicU64,
    pub panics: AtomicU64,
    /// Requests the HTTP engine refused, by class (`RequestError::class`): not valid
    /// or not supported HTTP, over a size bound, not received in time. Together they
    /// are `rejected`.
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
    pub evicted_websocket: AtomicU64,
    /// Connections closed at accept by `max_connections_per_ip`.
    pub refused_per_ip: AtomicU64,
    /// Connections that switched to HTTP/2 (ALPN `h2` or the h2c preface).
    pub connections_h2: AtomicU64,
    /// Connections upgraded to WebSocket (RFC 6455) after a 101.
    pub websocket_upgrades: AtomicU64,
    /// HTTP/2 streams (RFC 9113 §5.1), added when their connection closes: opened,
    /// refused over SETTINGS_MAX_CONCURRENT_STREAMS, reset by the client, reset by us.
    pub h2_streams_opened: AtomicU64,
    pub h2_streams_refused: AtomicU64,
    pub h2_streams_reset_by_peer: AtomicU64,
    pub h2_streams_reset_by_us: AtomicU64,
    /// HTTP/2 streams we promised with PUSH_PROMISE (server push, RFC 9113 §8.4).
    pub h2_streams_pushed: AtomicU64,
    /// GOAWAY frames sent, by error code (RFC 9113 §7): NO_ERROR (shutdown, idle),
    /// PROTOCOL_ERROR, FLOW_CONTROL_ERROR, ENHANCE_YOUR_CALM (a defence tripped),
    /// and every other code.
    pub h2_goaway_no_error: AtomicU64,
    pub h2_goaway_protocol_error: AtomicU64,
    pub h2_goaway_flow_control_error: AtomicU64,
    pub h2_goaway_enhance_your_calm: AtomicU64,
    pub h2_goaway_other: AtomicU64,
    /// Handed to the worker's service (file cache hits and misses); a block of its
    /// own, so the service needs nothing from the driver.
    pub service: Arc<ServiceCounters>,
}

impl WorkerCounters {
    /// Counts one answered request and its status class.
    pub(crate) fn count_response(&self, status: u16) {
        Stats::inc(&self.requests);
        let class = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        Stats::inc(&self.responses[class]);
    }

    /// A request the engine refused: counted in `rejected` and in its class.
    pub(crate) fn count_rejection(&self, class: crate::proto::h1::RejectClass) {
        use crate::proto::h1::RejectClass;
        Stats::inc(&self.rejected);
        Stats::inc(match class {
            RejectClass::Invalid => &self.rejected_invalid,
            RejectClass::OverLimit => &self.rejected_over_limit,
            RejectClass::Timeout => &self.rejected_timeout,
        });
    }

    /// Adds to a counter of this worker's block. Each block has one writer (its
    /// worker), so a plain load and store suffice: a `fetch_add` would be a locked
    /// read-modify-write, about 20 cycles, several times per request, for nothing.
    /// Readers (`carbonctl stats`) still see whole values.
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// One GOAWAY sent, by its error code.
    pub(crate) fn count_goaway(&self, code: crate::proto::h2::error::ErrorCode) {
        use crate::proto::h2::error::ErrorCode;
        Stats::inc(match code {
            ErrorCode::NO_ERROR => &self.h2_goaway_no_error,
            ErrorCode::PROTOCOL_ERROR => &self.h2_goaway_protocol_error,
            ErrorCode::FLOW_CONTROL_ERROR => &self.h2_goaway_flow_control_error,
            ErrorCode::ENHANCE_YOUR_CALM => &self.h2_goaway_enhance_your_calm,
            _ => &self.h2_goaway_other,
        });
    }

    fn snapshot(&self) -> Counters {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let la = |a: &[AtomicU64; PROTOCOLS]| a.each_ref().map(l);
        Counters {
            connections_accepted: la(&self.connections_accepted),
            connections_closed: la(&self.connections_closed),
            requests: l(&self.requests),
            responses: self.responses.each_ref().map(l),
            bytes_in: l(&self.bytes_in),
            bytes_out: l(&self.bytes_out),
            tls_handshakes: l(&self.tls_handshakes),
            tls_handshake_failures: l(&self.tls_handshake_failures),
            rate_limited: l(&self.rate_limited),
            rejected: l(&self.rejected),
            timeouts: l(&self.timeouts),
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
            evicted_websocket: l(&self.evicted_websocket),
            refused_per_ip: l(&self.refused_per_ip),
            connections_h2: l(&self.connections_h2),
            websocket_upgrades: l(&self.websocket_upgrades),
            h2_streams_opened: l(&self.h2_streams_opened),
            h2_streams_refused: l(&self.h2_streams_refused),
            h2_streams_reset_by_peer: l(&self.h2_streams_reset_by_peer),
            h2_streams_reset_by_us: l(&self.h2_streams_reset_by_us),
            h2_streams_pushed: l(&self.h2_streams_pushed),
            h2_goaway_no_error: l(&self.h2_goaway_no_error),
            h2_goaway_protocol_error: l(&self.h2_goaway_protocol_error),
            h2_goaway_flow_control_error: l(&self.h2_goaway_flow_control_error),
            h2_goaway_enhance_your_calm: l(&self.h2_goaway_enhance_your_calm),
            h2_goaway_other: l(&self.h2_goaway_other),
            file_cache_hits: l(&self.service.file_cache_hits),
            file_cache_misses: l(&self.service.file_cache_misses),
        }
    }
}

/// The result of the last configuration reload, filled in by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    pub ok: bool,
    pub at: SystemTime,
    /// Empty on success; the error (file, line, key) otherwise.
    pub message: String,
}

/// All statistics of one server: per-worker blocks plus the few process-wide facts
/// that are not on the hot path.
#[derive(Debug)]
pub struct Stats {
    workers: Vec<Arc<WorkerCounters>>,
    started: Instant,
    config_generation: AtomicU64,
    /// Error- and access-log writes that failed (lines lost or delayed).
    log_write_errors: AtomicU64,
    /// Loss counters kept by log writers themselves (the access log's), added to
    /// `log_write_errors` when read.
    log_loss_sources: Mutex<Vec<Arc<AtomicU64>>>,
    last_reload: Mutex<Option<ReloadOutcome>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new(1)
    }
}

impl Stats {
    /// Counters for `workers` workers (at least one), config generation 1.
    pub fn new(workers: usize) -> Stats {
        Stats {
            workers: (0..workers.max(1))
                .map(|_| Arc::new(WorkerCounters::default()))
                .collect(),
            started: Instant::now(),
            config_generation: AtomicU64::new(1),
            log_write_errors: AtomicU64::new(0),
            log_loss_sources: Mutex::new(Vec::new()),
            last_reload: Mutex::new(None),
        }
    }

    /// One more on a counter of a worker's block, from that worker (the only writer:
    /// see [`WorkerCounters::add`]).
    pub(crate) fn inc(c: &AtomicU64) {
        WorkerCounters::add(c, 1);
    }

    /// Worker `id`'s block (ids beyond the count share the last block rather than
    /// panic; the driver never asks for one, and must not: a block's counters have one
    /// writer, so two workers sharing one would lose counts).
    pub fn worker(&self, id: usize) -> &Arc<WorkerCounters> {
        let last = self.workers.len() - 1;
        debug_assert!(id <= last, "worker {id} of {}", self.workers.len());
        &self.workers[id.min(last)]
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Hook for the daemon: a reload applied a new configuration.
    pub fn set_config_generation(&self, generation: u64) {
        self.config_generation.store(generation, Ordering::Relaxed);
    }

    /// Hook for the daemon: the outcome of the last reload attempt.
    pub fn record_reload(&self, outcome: ReloadOutcome) {
        match self.last_reload.lock() {
            Ok(mut g) => *g = Some(outcome),
            Err(p) => *p.into_inner() = Some(outcome),
        }
    }

    /// Hook for log writers: one write failed.
    pub fn log_write_error(&self) {
        // Process-wide and written by any log writer's thread: a locked add, not the
        // single-writer load and store of a worker's counters.
        self.log_write_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Hook for log writers that count their own losses: `counter` is added to
    /// `log_write_errors` on every read.
    pub fn add_log_loss_counter(&self, counter: Arc<AtomicU64>) {
        match self.log_loss_sources.lock() {
            Ok(mut v) => v.push(counter),
            Err(p) => p.into_inner().push(counter),
        }
    }

    fn log_losses(&self) -> u64 {
        let own = self.log_write_errors.load(Ordering::Relaxed);
        let sources = match self.log_loss_sources.lock() {
            Ok(v) => v.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>(),
            Err(p) => p
                .into_inner()
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum(),
        };
        own + sources
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let workers: Vec<Counters> = self.workers.iter().map(|w| w.snapshot()).collect();
        let mut total = Counters::default();
        for w in &workers {
            total.add(w);
        }
        let last_reload = match self.last_reload.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        // Each worker counts its sites in its own block; sum them by site.
        let mut sites: Vec<SiteCount> = Vec::new();
        for w in &self.workers {
            for (site, classes) in w.service.sites.snapshot() {
                let at = match sites.iter().position(|s| s.site == site) {
                    Some(i) => i,
                    None => {
                        sites.push(SiteCount {
                            site,
                            responses: [0; 5],
                        });
                        sites.len() - 1
                    }
                };
                for (sum, n) in sites[at].responses.iter_mut().zip(classes) {
                    *sum += n;
                }
            }
        }
        StatsSnapshot {
            sites,
            uptime: self.started.elapsed(),
            config_generation: self.config_generation.load(Ordering::Relaxed),
            last_reload,
            log_write_errors: self.log_losses(),
            total,
            workers,
        }
    }
}

/// Plain copies of one worker's (or all workers') counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Indexed by [`Protocol`] as `usize`.
    pub connections_accepted: [u64; PROTOCOLS],
    pub connections_closed: [u64; PROTOCOLS],
    pub requests: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx.
    pub responses: [u64; CLASSES],
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tls_handshakes: u64,
    pub tls_handshake_failures: u64,
    pub rate_limited: u64,
    pub rejected: u64,
    pub timeouts: u64,
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
    pub evicted_websocket: u64,
    pub refused_per_ip: u64,
    pub connections_h2: u64,
    pub websocket_upgrades: u64,
    pub h2_streams_opened: u64,
    pub h2_streams_refused: u64,
    pub h2_streams_reset_by_peer: u64,
    pub h2_streams_reset_by_us: u64,
    pub h2_streams_pushed: u64,
    pub h2_goaway_no_error: u64,
    pub h2_goaway_protocol_error: u64,
    pub h2_goaway_flow_control_error: u64,
    pub h2_goaway_enhance_your_calm: u64,
    pub h2_goaway_other: u64,
    pub file_cache_hits: u64,
    pub file_cache_misses: u64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        for p in 0..PROTOCOLS {
            self.connections_accepted[p] += o.connections_accepted[p];
            self.connections_closed[p] += o.connections_closed[p];
        }
        for c in 0..CLASSES {
            self.responses[c] += o.responses[c];
        }
        self.requests += o.requests;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.tls_handshakes += o.tls_handshakes;
        self.tls_handshake_failures += o.tls_handshake_failures;
        self.rate_limited += o.rate_limited;
        self.rejected += o.rejected;
        self.timeouts += o.timeouts;
        self.panics += o.panics;
        self.rejected_invalid += o.rejected_invalid;
        self.rejected_over_limit += o.rejected_over_limit;
        self.rejected_timeout += o.rejected_timeout;
        self.bytes_sent_body += o.bytes_sent_body;
        self.evicted_lingering += o.evicted_lingering;
        self.evicted_idle += o.evicted_idle;
        self.evicted_slow_head += o.evicted_slow_head;
        self.evicted_slow_body += o.evicted_slow_body;
        self.evicted_slow_read += o.evicted_slow_read;
        self.evicted_websocket += o.evicted_websocket;
        self.refused_per_ip += o.refused_per_ip;
        self.connections_h2 += o.connections_h2;
        self.websocket_upgrades += o.websocket_upgrades;
        self.h2_streams_opened += o.h2_streams_opened;
        self.h2_streams_refused += o.h2_streams_refused;
        self.h2_streams_reset_by_peer += o.h2_streams_reset_by_peer;
        self.h2_streams_reset_by_us += o.h2_streams_reset_by_us;
        self.h2_streams_pushed += o.h2_streams_pushed;
        self.h2_goaway_no_error += o.h2_goaway_no_error;
        self.h2_goaway_protocol_error += o.h2_goaway_protocol_error;
        self.h2_goaway_flow_control_error += o.h2_goaway_flow_control_error;
        self.h2_goaway_enhance_your_calm += o.h2_goaway_enhance_your_calm;
        self.h2_goaway_other += o.h2_goaway_other;
        self.file_cache_hits += o.file_cache_hits;
        self.file_cache_misses += o.file_cache_misses;
    }

    pub fn accepted(&self, p: Protocol) -> u64 {
        self.connections_accepted[p as usize]
    }

    /// Open right now; a close may be counted a moment before its accept is seen by
    /// the reader, so this saturates at zero.
    pub fn open(&self, p: Protocol) -> u64 {
        let i = p as usize;
        self.connections_accepted[i].saturating_sub(self.connections_closed[i])
    }

    pub fn accepted_all(&self) -> u64 {
        self.connections_accepted.iter().sum()
    }

    pub fn open_all(&self) -> u64 {
        Protocol::ALL.iter().map(|&p| self.open(p)).sum()
    }

    pub fn class(&self, first_digit: usize) -> u64 {
        match first_digit {
            1..=5 => self.responses[first_digit - 1],
            _ => 0,
        }
    }
}

/// A point-in-time copy of every statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub uptime: std::time::Duration,
    pub config_generation: u64,
    pub last_reload: Option<ReloadOutcome>,
    pub log_write_errors: u64,
    pub total: Counters,
    pub workers: Vec<Counters>,
    /// Responses per `[site]` (and the default site), all workers together; empty
    /// without sections.
    pub sites: Vec<SiteCount>,
}

/// Responses of one site by status class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCount {
    /// The site's first name, or `(default)` for the global settings.
    pub site: String,
    /// 1xx, 2xx, 3xx, 4xx, 5xx.
    pub responses: [u64; 5],
}

impl StatsSnapshot {
    /// The Prometheus text exposition format (version 0.0.4), for a node-exporter
    /// textfile collector or a scrape of `metrics_path`. Names follow the Prometheus
    /// conventions: `_total` for counters, base units (seconds, bytes).
    pub fn prometheus(&self) -> String {
        let mut o = String::with_capacity(4096);
        let t = &self.total;
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(o, "# HELP carbon_{name} {help}");
            let _ = writeln!(o, "# TYPE carbon_{name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(o, "carbon_{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v)];
        metric(
            "uptime_seconds",
            "gauge",
            "Seconds since carbond started.",
            &one(self.uptime.as_secs()),
        );
        metric(
            "config_generation",
            "gauge",
            "Configuration generation (1 at start, +1 per applied reload).",
            &one(self.config_generation),
        );
        if let Some(r) = &self.last_reload {
            metric(
                "last_reload_success",
                "gauge",
                "1 if the last reload was applied, 0 if it was refused.",
                &one(u64::from(r.ok)),
            );
        }
        let by_proto = |f: &dyn Fn(Protocol) -> u64| -> Vec<(String, u64)> {
            Protocol::ALL
                .iter()
                .map(|&p| (format!("{{protocol=\"{}\"}}", p.as_str()), f(p)))
                .collect()
        };
        metric(
            "connections_accepted_total",
            "counter",
            "Connections accepted, by protocol.",
            &by_proto(&|p| t.accepted(p)),
        );
        metric(
            "connections_open",
            "gauge",
            "Connections open, by protocol.",
            &by_proto(&|p| t.open(p)),
        );
        let per_worker: Vec<(String, u64)> = self
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("{{worker=\"{i}\"}}"), w.open_all()))
            .collect();
        metric(
            "worker_connections_open",
            "gauge",
            "Connections open, by worker.",
            &per_worker,
        );
        let per_worker: Vec<(String, u64)> = self
            .workers
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("{{worker=\"{i}\"}}"), w.accepted_all()))
            .collect();
        metric(
            "worker_connections_accepted_total",
            "counter",
            "Connections accepted, by worker.",
            &per_worker,
        );
        metric(
            "requests_total",
            "counter",
            "Requests answered (rejected ones included).",
            &one(t.requests),
        );
        let classes: Vec<(String, u64)> = (1..=5)
            .map(|d| (format!("{{class=\"{d}xx\"}}"), t.class(d)))
            .collect();
        metric(
            "responses_total",
            "counter",
            "Responses by status class.",
            &classes,
        );
        let counters: [(&str, &str, u64); 10] = [
            (
                "received_bytes_total",
                "Bytes read from clients.",
                t.bytes_in,
            ),
            ("sent_bytes_total", "Bytes written to clients.", t.bytes_out),
            (
                "tls_handshakes_total",
                "TLS handshakes completed.",
                t.tls_handshakes,
            ),
            (
                "tls_handshake_failures_total",
                "TLS handshakes failed or timed out.",
                t.tls_handshake_failures,
            ),
            (
                "rate_limited_total",
                "Requests answered 429 by the rate limiter.",
                t.rate_limited,
            ),
            (
                "rejected_total",
                "Requests rejected before the service (malformed, over a limit).",
                t.rejected,
            ),
            (
                "timeouts_total",
                "Connections closed by a timeout.",
                t.timeouts,
            ),
            (
                "file_cache_hits_total",
                "Open-file cache hits.",
                t.file_cache_hits,
            ),
            (
                "file_cache_misses_total",
                "Open-file cache misses.",
                t.file_cache_misses,
            ),
            (
                "log_write_errors_total",
                "Failed log writes.",
                self.log_write_errors,
            ),
        ];
        for (name, help, v) in counters {
            metric(name, "counter", help, &one(v));
        }
        metric(
            "panics_total",
            "counter",
            "Connections closed by a panic in their handler.",
            &one(t.panics),
        );
        metric(
            "http2_connections_total",
            "counter",
            "Connections that switched to HTTP/2 (ALPN h2 or the h2c preface).",
            &one(t.connections_h2),
        );
        metric(
            "websocket_connections_total",
            "counter",
            "Connections upgraded to WebSocket (101 Switching Protocols).",
            &one(t.websocket_upgrades),
        );
        metric(
            "http2_streams_total",
            "counter",
            "HTTP/2 streams by outcome (counted when their connection closes).",
            &[
                ("{outcome=\"opened\"}".to_string(), t.h2_streams_opened),
                ("{outcome=\"refused\"}".to_string(), t.h2_streams_refused),
                (
                    "{outcome=\"reset_by_peer\"}".to_string(),
                    t.h2_streams_reset_by_peer,
                ),
                (
                    "{outcome=\"reset_by_us\"}".to_string(),
                    t.h2_streams_reset_by_us,
                ),
                ("{outcome=\"pushed\"}".to_string(), t.h2_streams_pushed),
            ],
        );
        metric(
            "http2_goaway_sent_total",
            "counter",
            "HTTP/2 GOAWAY frames sent, by error code.",
            &[
                ("{code=\"NO_ERROR\"}".to_string(), t.h2_goaway_no_error),
                (
                    "{code=\"PROTOCOL_ERROR\"}".to_string(),
                    t.h2_goaway_protocol_error,
                ),
                (
                    "{code=\"FLOW_CONTROL_ERROR\"}".to_string(),
                    t.h2_goaway_flow_control_error,
                ),
                (
                    "{code=\"ENHANCE_YOUR_CALM\"}".to_string(),
                    t.h2_goaway_enhance_your_calm,
                ),
                ("{code=\"other\"}".to_string(), t.h2_goaway_other),
            ],
        );
        metric(
            "body_sent_bytes_total",
            "counter",
            "Response body bytes sent (aborted transfers count what left).",
            &one(t.bytes_sent_body),
        );
        let reasons = [
            ("invalid", t.rejected_invalid),
            ("over_limit", t.rejected_over_limit),
            ("timeout", t.rejected_timeout),
        ];
        metric(
            "rejected_by_reason_total",
            "counter",
            "Requests rejected before the service, by reason.",
            &reasons
                .iter()
                .map(|(r, v)| (format!("{{reason=\"{r}\"}}"), *v))
                .collect::<Vec<_>>(),
        );
        let evictions = [
            ("lingering", t.evicted_lingering),
            ("idle", t.evicted_idle),
            ("slow_head", t.evicted_slow_head),
            ("slow_body", t.evicted_slow_body),
            ("slow_read", t.evicted_slow_read),
            ("websocket", t.evicted_websocket),
        ];
        metric(
            "evicted_total",
            "counter",
            "Connections reclaimed near max_connections, by reason.",
            &evictions
                .iter()
                .map(|(r, v)| (format!("{{reason=\"{r}\"}}"), *v))
                .collect::<Vec<_>>(),
        );
        metric(
            "refused_per_ip_total",
            "counter",
            "Connections closed at accept by max_connections_per_ip.",
            &one(t.refused_per_ip),
        );
        if !self.sites.is_empty() {
            // Site names are DNS names or `(default)`: nothing to escape in a label.
            let samples: Vec<(String, u64)> = self
                .sites
                .iter()
                .flat_map(|s| {
                    s.responses.iter().enumerate().map(move |(i, n)| {
                        (format!("{{site=\"{}\",class=\"{}xx\"}}", s.site, i + 1), *n)
                    })
                })
                .collect();
            metric(
                "site_responses_total",
                "counter",
                "Responses answered by each [site] section (and the default site), by status class.",
                &samples,
            );
        }
        o
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn site_responses_are_summed_over_workers_and_labelled_by_site() {
        let s = Stats::new(2);
        for (w, n) in [(0, 2), (1, 3)] {
            let site = s.worker(w).service.sites.site("a.test");
            site.classes[1].fetch_add(n, Ordering::Relaxed);
        }
        s.worker(1).service.sites.site("(default)").classes[3].fetch_add(1, Ordering::Relaxed);
        let snap = s.snapshot();
        assert_eq!(
            snap.sites,
            vec![
                SiteCount {
                    site: "a.test".into(),
                    responses: [0, 5, 0, 0, 0]
                },
                SiteCount {
                    site: "(default)".into(),
                    responses: [0, 0, 0, 1, 0]
                },
            ]
        );
        let text = snap.prometheus();
        assert!(text.contains("carbon_site_responses_total{site=\"a.test\",class=\"2xx\"} 5"));
        assert!(text.contains("carbon_site_responses_total{site=\"(default)\",class=\"4xx\"} 1"));
        assert!(!Stats::new(1)
            .snapshot()
            .prometheus()
            .contains("site_responses"));
    }

    #[test]
    fn worker_blocks_do_not_share_cache_lines() {
        assert!(std::mem::align_of::<WorkerCounters>() >= 128);
        let s = Stats::new(2);
        let a = Arc::as_ptr(s.worker(0)) as usize;
        let b = Arc::as_ptr(s.worker(1)) as usize;
        assert!(a.abs_diff(b) >= 128);
    }

    #[test]
    fn snapshot_sums_workers_and_requests_equal_status_classes() {
        let s = Stats::new(3);
        s.worker(0).count_response(200);
        s.worker(1).count_response(404);
        s.worker(2).count_response(400);
        Stats::inc(&s.worker(2).rejected);
        Stats::inc(&s.worker(1).connections_accepted[Protocol::Https as usize]);
        let snap = s.snapshot();
        assert_eq!(snap.total.requests, 3);
        assert_eq!(snap.total.class(2), 1);
        assert_eq!(snap.total.class(4), 2);
        assert_eq!(snap.total.rejected, 1);
        assert_eq!(
            snap.total.requests,
            (1..=5).map(|d| snap.total.class(d)).sum::<u64>()
        );
        assert_eq!(snap.workers[1].open(Protocol::Https), 1);
        assert_eq!(snap.total.open_all(), 1);
    }

    #[test]
    fn log_write_errors_include_registered_loss_counters() {
        let s = Stats::new(1);
        s.add_log_loss_counter(Arc::new(AtomicU64::new(2)));
        s.log_write_error();
        assert_eq!(s.snapshot().log_write_errors, 3);
    }

    #[test]
    fn prometheus_text_has_type_lines_and_labelled_samples() {
        let s = Stats::new(2);
        s.worker(1).count_response(503);
        s.record_reload(ReloadOutcome {
            ok: false,
            at: SystemTime::now(),
            message: "x".into(),
        });
        let text = s.snapshot().prometheus();
        assert!(text.contains("# TYPE carbon_requests_total counter\n"));
        assert!(text.contains("carbon_requests_total 1\n"));
        assert!(text.contains("carbon_responses_total{class=\"5xx\"} 1\n"));
        assert!(text.contains("carbon_connections_open{protocol=\"https\"} 0\n"));
        assert!(text.contains("carbon_worker_connections_open{worker=\"1\"} 0\n"));
        assert!(text.contains("carbon_last_reload_success 0\n"));
        // Every sample line is `name{labels} value` with a numeric value.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            v.parse::<u64>().unwrap();
        }
    }
}
