//! The connection-slot policy: when connections near `max_connections`, which
//! connection to reclaim so a newcomer is served instead of waiting in the kernel's
//! backlog. Sans-IO and deterministic: it reads what the engines report
//! ([`Progress`]) and the time it is given, and decides; the worker closes.
//!
//! # When
//!
//! Only under pressure: once `active >= high_water` (90% of `max_connections`,
//! [`SLOT_HIGH_WATER_PERCENT`]). Below it nothing is ever reclaimed, so a slow
//! mobile client is not punished while there is room. Above it, every connection
//! a worker accepts costs it one victim if it has one (accept-and-evict), which keeps
//! the last tenth free for newcomers; at the limit itself a worker accepts only when
//! it has a victim, and otherwise leaves the newcomer in the backlog (every
//! connection is busy answering: there is nothing cheap to reclaim).
//!
//! # Whom, in order
//!
//! 1. Connections in their lingering close: their response is out; they only
//!    discard input. Oldest first.
//! 2. Idle keep-alive connections, longest idle first: the client reconnects at
//!    the cost of one handshake (RFC 9112 §9.6 lets a server close an idle
//!    connection at any time).
//! 3. Connections whose request head or body arrives below [`MIN_RECEIVE_RATE`]
//!    once it is older than [`MIN_RATE_GRACE`] (mod_reqtimeout's `MinRate`, applied
//!    only under pressure): slowest average rate first, then oldest. A connection
//!    that has sent nothing yet is a head at rate 0. This is what reclaims the slots
//!    a slowloris (CVE-2007-6750) or slow-POST attacker holds, even from the same
//!    address as real users.
//! 4. Connections whose pending response the peer has taken nothing of for
//!    [`SEND_STALL`] (a slow-read attack), longest stalled first.
//! 5. WebSocket sessions with no data frame, in either direction, for the
//!    configured quiet time (`websocket_reclaim_after`, default
//!    [`WS_RECLAIM_AFTER`]; off: never), longest quiet first. Each is told why
//!    with a Close 1001 "going away" (RFC 6455 §7.4.1), which browsers report as a
//!    clean close and client libraries answer by reconnecting.
//!
//! Never: a connection whose response is being produced or is leaving at any pace,
//! nor a head or body younger than the grace period or arriving fast enough, nor a
//! WebSocket session that carried a message within the quiet time.
//!
//! # Why WebSocket sessions last, and only after a long silence
//!
//! A session is open on purpose: its client expects it to stay and answers our
//! pings, so it is neither idle keep-alive (which RFC 9112 §9.6 lets us close at any
//! time, at the cost of one handshake) nor an attacker's stalled request. Closing it
//! costs more (a reconnect, the application's state) and is done only when nothing
//! cheaper is left. But a server whose slots are all held by sessions nobody uses
//! (a tab left open overnight, a client that pings forever and never talks) would
//! leave every newcomer in the backlog for as long as they stay; a session that has
//! carried no message for minutes is the cheapest thing left to reclaim, and the
//! one most likely to be abandoned. Pings do not count as use: a browser tab that is
//! closed on a sleeping laptop, or a bot, keeps answering them.
//!
//! # Across workers
//!
//! `active` counts every worker's connections, but a worker can only close its own.
//! Each worker therefore picks victims among its own connections; a worker at the
//! limit with no victim of its own leaves the newcomer to another worker (which sees
//! the same listener) or to its own next retry. Keeping the last tenth free means a
//! worker seldom meets the hard limit at all while any worker still has victims.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use crate::limits::{
    MIN_RATE_GRACE, MIN_RECEIVE_RATE, SEND_STALL, SLOT_HIGH_WATER_PERCENT, WS_RECLAIM_AFTER,
};
use crate::proto::{Phase, Progress};

/// Why a connection was reclaimed (each is counted in the stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eviction {
    Lingering,
    Idle,
    SlowHead,
    SlowBody,
    SlowRead,
    /// A WebSocket session with no data frame for the quiet time (closed with 1001).
    QuietWebSocket,
}

impl Eviction {
    /// Lower goes first.
    fn rank(self) -> u8 {
        match self {
            Eviction::Lingering => 0,
            Eviction::Idle => 1,
            Eviction::SlowHead | Eviction::SlowBody => 2,
            Eviction::SlowRead => 3,
            Eviction::QuietWebSocket => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotPolicy {
    max: usize,
    high_water: usize,
    grace: Duration,
    /// Bytes per second.
    min_rate: u64,
    send_stall: Duration,
    /// WebSocket sessions quiet this long may be reclaimed; `None`: never.
    ws_quiet: Option<Duration>,
}

/// A connection that may be reclaimed, with what orders it.
struct Candidate {
    key: usize,
    why: Eviction,
    since: Instant,
    received: u64,
    elapsed: Duration,
}

impl SlotPolicy {
    pub fn new(max_connections: usize) -> Self {
        Self::with(max_connections, MIN_RATE_GRACE, MIN_RECEIVE_RATE)
    }

    pub fn with(max_connections: usize, grace: Duration, min_rate: u64) -> Self {
        let high_water = max_connections.saturating_mul(SLOT_HIGH_WATER_PERCENT) / 100;
        SlotPolicy {
            max: max_connections,
            high_water: high_water.clamp(1, max_connections.max(1)),
            grace,
            min_rate,
            send_stall: SEND_STALL,
            ws_quiet: Some(WS_RECLAIM_AFTER),
        }
    }

    /// WebSocket sessions with no data frame for `quiet` may be reclaimed (after
    /// everything else); `None` spares them always (`websocket_reclaim_after = off`).
    pub fn with_ws_quiet(mut self, quiet: Option<Duration>) -> Self {
        self.ws_quiet = quiet;
        self
    }

    /// `active` connections (all workers) leave too little room: reclaim.
    pub fn under_pressure(&self, active: usize) -> bool {
        active >= self.high_water
    }

    /// No slot is free: a newcomer is accepted only in exchange for a victim.
    pub fn at_limit(&self, active: usize) -> bool {
        active >= self.max
    }

    /// Whether a connection in state `p` may be reclaimed at `now`, and why.
    pub fn classify(&self, now: Instant, p: &Progress) -> Option<Eviction> {
        match p.phase {
            Phase::Lingering => Some(Eviction::Lingering),
            Phase::Idle => Some(Eviction::Idle),
            Phase::Responding => None,
            Phase::WebSocket => self
                .ws_quiet
                .filter(|q| now.saturating_duration_since(p.since) >= *q)
                .map(|_| Eviction::QuietWebSocket),
            Phase::Sending => (now.saturating_duration_since(p.since) >= self.send_stall)
                .then_some(Eviction::SlowRead),
            Phase::Head | Phase::Body => {
                let elapsed = now.saturating_duration_since(p.since);
                if elapsed < self.grace || self.fast_enough(p.received, elapsed) {
                    return None;
                }
                Some(if p.phase == Phase::Head {
                    Eviction::SlowHead
                } else {
                    Eviction::SlowBody
                })
            }
        }
    }

    /// `received / elapsed >= min_rate`, exactly (no rounding).
    fn fast_enough(&self, received: u64, elapsed: Duration) -> bool {
        u128::from(received) * 1_000_000_000
            >= u128::from(self.min_rate) * elapsed.as_nanos().max(1)
    }

    /// Up to `n` connections that may be reclaimed, first victim first. Ties are
    /// broken by key, so the answer depends only on the input.
    pub fn victims(
        &self,
        now: Instant,
        conns: impl Iterator<Item = (usize, Progress)>,
        n: usize,
    ) -> Vec<(usize, Eviction)> {
        let mut found: Vec<Candidate> = conns
            .filter_map(|(key, p)| {
                let why = self.classify(now, &p)?;
                Some(Candidate {
                    key,
                    why,
                    since: p.since,
                    received: p.received,
                    elapsed: now.saturating_duration_since(p.since),
                })
            })
            .collect();
        if n == 0 {
            return Vec::new();
        }
        if found.len() > n {
            found.select_nth_unstable_by(n - 1, order);
            found.truncate(n);
        }
        found.sort_unstable_by(order);
        found.into_iter().map(|c| (c.key, c.why)).collect()
    }
}

fn order(a: &Candidate, b: &Candidate) -> Ordering {
    a.why
        .rank()
        .cmp(&b.why.rank())
        .then_with(|| match a.why {
            Eviction::SlowHead | Eviction::SlowBody => slower(a, b),
            Eviction::Lingering
            | Eviction::Idle
            | Eviction::SlowRead
            | Eviction::QuietWebSocket => Ordering::Equal,
        })
        .then_with(|| a.since.cmp(&b.since))
        .then_with(|| a.key.cmp(&b.key))
}

/// Lower average rate first: `a.received / a.elapsed` against `b`'s, cross-multiplied
/// so no division rounds two different rates to the same value.
fn slower(a: &Candidate, b: &Candidate) -> Ordering {
    let lhs = u128::from(a.received) * b.elapsed.as_nanos().max(1);
    let rhs = u128::from(b.received) * a.elapsed.as_nanos().max(1);
    lhs.cmp(&rhs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn at(t0: Instant, phase: Phase, since_s: u64, received: u64) -> Progress {
        Progress {
            phase,
            since: t0 + S * since_s as u32,
            received,
        }
    }

    #[test]
    fn high_water_is_ninety_percent_and_pressure_starts_there() {
        let p = SlotPolicy::new(64);
        assert!(!p.under_pressure(56));
        assert!(p.under_pressure(57));
        assert!(!p.at_limit(63));
        assert!(p.at_limit(64));
        // Tiny limits still have a usable threshold.
        let one = SlotPolicy::new(1);
        assert!(!one.under_pressure(0));
        assert!(one.under_pressure(1));
    }

    #[test]
    fn idle_keep_alive_goes_before_slow_heads_oldest_idle_first() {
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        let now = t0 + S * 100;
        let conns = vec![
            (0, at(t0, Phase::Head, 10, 5)),  // slowloris: 5 bytes in 90 s
            (1, at(t0, Phase::Idle, 50, 0)),  // idle for 50 s
            (2, at(t0, Phase::Idle, 20, 0)),  // idle for 80 s: oldest idle
            (3, at(t0, Phase::Body, 30, 10)), // slow POST
            (4, at(t0, Phase::Lingering, 99, 0)),
            (5, at(t0, Phase::Sending, 60, 0)), // slow read: stalled 40 s
        ];
        let v = policy.victims(now, conns.into_iter(), 10);
        assert_eq!(
            v,
            vec![
                (4, Eviction::Lingering),
                (2, Eviction::Idle),
                (1, Eviction::Idle),
                (0, Eviction::SlowHead),
                (3, Eviction::SlowBody),
                (5, Eviction::SlowRead),
            ]
        );
    }

    #[test]
    fn slow_heads_and_bodies_least_progress_first() {
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        let now = t0 + S * 10;
        let conns = vec![
            (0, at(t0, Phase::Head, 0, 100)), // 10 B/s
            (1, at(t0, Phase::Body, 0, 0)),   // 0 B/s
            (2, at(t0, Phase::Head, 5, 10)),  // 2 B/s
            (3, at(t0, Phase::Body, 8, 40)),  // 20 B/s
        ];
        let order: Vec<usize> = policy
            .victims(now, conns.into_iter(), 10)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(order, vec![1, 2, 0, 3]);
    }

    #[test]
    fn mod_reqtimeout_minrate_spares_young_and_fast_requests_and_moving_responses() {
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        // 1.9 s into a head that has sent nothing: still in its grace period.
        let young = at(t0, Phase::Head, 0, 0);
        assert_eq!(policy.classify(t0 + S * 19 / 10, &young), None);
        // The same head at 2 s is past the grace period at rate 0.
        assert_eq!(
            policy.classify(t0 + S * 2, &young),
            Some(Eviction::SlowHead)
        );
        // A body at exactly MIN_RECEIVE_RATE over 4 s is fast enough; one byte less is not.
        let fast = at(t0, Phase::Body, 0, 4 * MIN_RECEIVE_RATE);
        assert_eq!(policy.classify(t0 + S * 4, &fast), None);
        let slow = at(t0, Phase::Body, 0, 4 * MIN_RECEIVE_RATE - 1);
        assert_eq!(policy.classify(t0 + S * 4, &slow), Some(Eviction::SlowBody));
        // A response in progress is never reclaimed, however old.
        let busy = at(t0, Phase::Responding, 0, 0);
        assert_eq!(policy.classify(t0 + S * 1000, &busy), None);
        // One the peer does not read is, after SEND_STALL without progress.
        let stalled = at(t0, Phase::Sending, 0, 0);
        assert_eq!(policy.classify(t0 + SEND_STALL - S / 10, &stalled), None);
        assert_eq!(
            policy.classify(t0 + SEND_STALL, &stalled),
            Some(Eviction::SlowRead)
        );
    }

    #[test]
    fn victims_limited_to_n_and_deterministic_on_ties() {
        let t0 = Instant::now();
        let policy = SlotPolicy::new(1024);
        let now = t0 + S * 60;
        // 100 identical slowloris connections: the lowest keys go first.
        let conns: Vec<(usize, Progress)> = (0..100)
            .rev()
            .map(|k| (k, at(t0, Phase::Head, 0, 3)))
            .collect();
        let v = policy.victims(now, conns.clone().into_iter(), 5);
        assert_eq!(
            v.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(policy.victims(now, conns.into_iter(), 0), vec![]);
    }

    #[test]
    fn slowloris_timeline_on_a_virtual_clock() {
        // Connections open one per 100 ms and send one header line (20 bytes) every
        // 10 s. At each point, exactly those past the grace period are victims, and
        // the oldest (which have the lowest rate in the first seconds) go first.
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        let opened: Vec<(usize, Instant)> = (0..30).map(|k| (k, t0 + S * k as u32 / 10)).collect();
        let at_time = |now: Instant| {
            let conns = opened.iter().filter(|(_, t)| *t <= now).map(|&(k, t)| {
                let sent = 20 * (1 + now.saturating_duration_since(t).as_secs() / 10);
                (
                    k,
                    Progress {
                        phase: Phase::Head,
                        since: t,
                        received: sent,
                    },
                )
            });
            policy.victims(now, conns, 64)
        };
        assert!(at_time(t0 + S).is_empty(), "all within the grace period");
        let v = at_time(t0 + S * 25 / 10);
        // Opened at 0.0..=0.5 s: 2.0 s or older at 2.5 s.
        assert_eq!(
            v.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5]
        );
        assert!(v.iter().all(|(_, why)| *why == Eviction::SlowHead));
    }
    #[test]
    fn quiet_websockets_go_after_everything_else_longest_quiet_first() {
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        let now = t0 + S * 3600;
        let conns = vec![
            (0, at(t0, Phase::WebSocket, 3600 - 700, 0)), // quiet 700 s
            (1, at(t0, Phase::WebSocket, 3600 - 60, 0)),  // a message a minute ago
            (2, at(t0, Phase::Idle, 3590, 0)),
            (3, at(t0, Phase::WebSocket, 0, 0)), // quiet for an hour
            (4, at(t0, Phase::Sending, 3500, 0)),
            (5, at(t0, Phase::Responding, 0, 0)),
        ];
        let v = policy.victims(now, conns.into_iter(), 10);
        assert_eq!(
            v,
            vec![
                (2, Eviction::Idle),
                (4, Eviction::SlowRead),
                (3, Eviction::QuietWebSocket),
                (0, Eviction::QuietWebSocket),
            ]
        );
    }

    #[test]
    fn websocket_quiet_time_boundary_and_off() {
        let t0 = Instant::now();
        let session = at(t0, Phase::WebSocket, 0, 0);
        let policy = SlotPolicy::new(64);
        let just_before = t0 + WS_RECLAIM_AFTER - Duration::from_millis(1);
        assert_eq!(policy.classify(just_before, &session), None);
        assert_eq!(
            policy.classify(t0 + WS_RECLAIM_AFTER, &session),
            Some(Eviction::QuietWebSocket)
        );
        let short = policy.with_ws_quiet(Some(S * 30));
        assert_eq!(
            short.classify(t0 + S * 30, &session),
            Some(Eviction::QuietWebSocket)
        );
        // `websocket_reclaim_after = off`: a session is never reclaimed, however quiet.
        let off = policy.with_ws_quiet(None);
        assert_eq!(off.classify(t0 + S * 86_400 * 30, &session), None);
        let only_sessions = (0..5).map(|k| (k, at(t0, Phase::WebSocket, 0, 0)));
        assert!(off.victims(t0 + S * 86_400, only_sessions, 5).is_empty());
    }

    #[test]
    fn websocket_timeline_used_sessions_survive_abandoned_ones_do_not() {
        // On a virtual clock: session 0 carries a message every 4 minutes, session 1
        // only answers pings (its `since` never moves) from t0, session 2 stops
        // talking at 15 min. Sampled every 30 s for an hour with a 10-minute quiet
        // time: 0 is never a victim, 1 is from 10 min on, 2 from 25 min on.
        let t0 = Instant::now();
        let policy = SlotPolicy::new(64);
        for step in 0..120u32 {
            let now = t0 + S * 30 * step;
            let elapsed = S * 30 * step;
            let last_msg_0 = t0 + S * 240 * (elapsed.as_secs() / 240) as u32;
            let last_msg_2 = t0 + elapsed.min(S * 900);
            let conns = vec![
                (
                    0,
                    Progress {
                        phase: Phase::WebSocket,
                        since: last_msg_0,
                        received: 0,
                    },
                ),
                (
                    1,
                    Progress {
                        phase: Phase::WebSocket,
                        since: t0,
                        received: 0,
                    },
                ),
                (
                    2,
                    Progress {
                        phase: Phase::WebSocket,
                        since: last_msg_2,
                        received: 0,
                    },
                ),
            ];
            let keys: Vec<usize> = policy
                .victims(now, conns.into_iter(), 3)
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let mut want = Vec::new();
            if elapsed >= WS_RECLAIM_AFTER {
                want.push(1);
            }
            if elapsed >= S * 900 + WS_RECLAIM_AFTER {
                want.push(2);
            }
            assert_eq!(keys, want, "at {elapsed:?}");
        }
    }
}
