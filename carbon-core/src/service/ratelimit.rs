//! Per-client request rate limiting (`rate_limit`, `rate_limit_window`,
//! `rate_limit_exempt`), shared by every worker thread.
//!
//! # Algorithm
//!
//! Each client has a token bucket of capacity `limit`, refilled evenly at `limit`
//! tokens per `window`: a client may burst its whole budget, then continues at the
//! average rate. The bucket is stored in its GCRA form (the "virtual scheduling"
//! algorithm of ITU-T I.371): one instant per client, the *theoretical arrival time*
//! (TAT), i.e. when the bucket would be full again. With `T = window / limit`:
//!
//! ```text
//! tat' = max(tat, now)
//! tat' - now > (limit - 1) * T   -> reject; Retry-After = tat' - now - (limit - 1) * T
//! otherwise                      -> allow;  tat = tat' + T
//! ```
//!
//! An entry whose TAT is not after `now` describes a full bucket, exactly like an
//! absent entry, so it can be dropped without changing any answer. A TAT is never
//! more than one window ahead, so an entry idle for a window is always droppable.
//!
//! # Who is a client
//!
//! An IPv4 address, or an IPv6 /64 prefix: RFC 7421 and RFC 8273 make /64 the unit
//! handed to one host or link, so a single machine can rotate through 2^64 addresses;
//! keying on full addresses would give it 2^64 budgets. IPv4-mapped IPv6 peers
//! (RFC 4291 §2.5.5.2, what dual-stack sockets report) count as their IPv4 address.
//!
//! # Memory
//!
//! At most [`MAX_TRACKED`] clients are held, split over [`SHARDS`] mutex-protected
//! maps so workers rarely contend. Droppable entries are swept when a shard has
//! doubled since its last sweep (amortised O(1) per new client). When a shard is
//! full of live entries, the entries with the *earliest* TAT are forgotten: their
//! buckets are the fullest, so forgetting them hands out the fewest extra requests,
//! and a client that is actually being limited (TAT far ahead) is the last to go.
//! The alternatives were rejected: leaving new clients untracked while full would
//! let anyone who fills the table (a /48 of IPv6 is enough) switch limiting off for
//! every other client; refusing new clients would let them lock everyone out. Shard
//! choice uses a per-process random hash seed, so an attacker cannot aim a flood at
//! the shard of a chosen victim.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::config::{Config, IpNet};

pub use crate::limits::RATE_LIMIT_MAX_TRACKED as MAX_TRACKED;

/// Enough shards that workers (one per CPU) seldom meet on one lock.
pub const SHARDS: usize = 64;

const PER_SHARD: usize = MAX_TRACKED / SHARDS;

/// Small shards are not swept on every insert: below this size a sweep is not
/// worth its scan.
const MIN_SWEEP: usize = 64;

/// A full shard with nothing expired forgets 1/8 of its entries at once, so the
/// O(n) selection runs once per n/8 new clients.
const EVICT_DIVISOR: usize = 8;

/// The unit a budget belongs to (also the unit `max_connections_per_ip` counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(u32),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V4(a) => ClientKey::V4(u32::from(a)),
            IpAddr::V6(a) => ClientKey::V6Prefix((u128::from(a) >> 64) as u64),
        }
    }
}

#[derive(Debug)]
struct Shard {
    /// Theoretical arrival time per client.
    tat: HashMap<ClientKey, Instant>,
    /// Sweep when the map reaches this many entries.
    sweep_at: usize,
}

impl Shard {
    fn insert(&mut self, key: ClientKey, tat: Instant, now: Instant) {
        if self.tat.len() >= self.sweep_at {
            self.tat.retain(|_, t| *t > now);
            if self.tat.len() >= PER_SHARD {
                self.evict_fullest();
            }
            self.sweep_at = (self.tat.len() * 2).clamp(MIN_SWEEP, PER_SHARD);
        }
        self.tat.insert(key, tat);
    }

    /// Forgets the `len / EVICT_DIVISOR` entries with the earliest TAT.
    fn evict_fullest(&mut self) {
        let count = (self.tat.len() / EVICT_DIVISOR).max(1);
        let mut tats: Vec<Instant> = self.tat.values().copied().collect();
        let (_, &mut threshold, _) = tats.select_nth_unstable(count - 1);
        // Strictly earlier ones first, then ties, so exactly `count` go.
        let mut left = count;
        self.tat.retain(|_, t| {
            if left > 0 && *t < threshold {
                left -= 1;
                false
            } else {
                true
            }
        });
        self.tat.retain(|_, t| {
            if left > 0 && *t == threshold {
                left -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// Per-client rate limiter; one instance is shared (in an `Arc`) by all workers.
#[derive(Debug)]
pub struct RateLimiter {
    /// `None` when limiting is off.
    gcra: Option<Gcra>,
    exempt: Vec<IpNet>,
    seed: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Debug, Clone, Copy)]
struct Gcra {
    /// T: what one request costs, `window / limit`.
    interval: Duration,
    /// How far the TAT may run ahead of now and still admit a request:
    /// `(limit - 1) * T`, so exactly `limit` requests fit in a burst.
    tolerance: Duration,
}

impl RateLimiter {
    /// `limit` requests per `window` per client; `limit == 0` (or a window so short
    /// that one request costs nothing) turns limiting off. Addresses inside `exempt`
    /// are never limited.
    pub fn new(limit: u32, window: Duration, exempt: Vec<IpNet>) -> Self {
        let interval = if limit == 0 {
            Duration::ZERO
        } else {
            window / limit
        };
        let gcra = (!interval.is_zero()).then(|| Gcra {
            interval,
            tolerance: interval.saturating_mul(limit - 1),
        });
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    tat: HashMap::new(),
                    sweep_at: MIN_SWEEP,
                })
            })
            .collect();
        RateLimiter {
            gcra,
            exempt,
            seed: RandomState::new(),
            shards,
        }
    }

    /// The limiter `cfg` describes.
    pub fn from_config(cfg: &Config) -> Self {
        RateLimiter::new(
            cfg.rate_limit,
            cfg.rate_limit_window,
            cfg.rate_limit_exempt.clone(),
        )
    }

    /// Counts one request from `ip` at `now`. `Ok(())` if it is allowed;
    /// `Err(secs)` when the client is over its limit, where `secs` (at least 1) is
    /// when one request will be allowed again: send 429 with `Retry-After: secs`
    /// (RFC 6585 §4, RFC 9110 §10.2.3). A rejected request costs nothing.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Some(gcra) = self.gcra else {
            return Ok(());
        };
        if self.exempt.iter().any(|net| net.contains(ip)) {
            return Ok(());
        }
        let key = ClientKey::of(ip);
        let mut shard = self.shard(key);
        let Some(tat) = shard.tat.get_mut(&key) else {
            // A fresh client has a full bucket: allowed, and it now owes one interval.
            if let Some(next) = now.checked_add(gcra.interval) {
                shard.insert(key, next, now);
            }
            return Ok(());
        };
        let start = (*tat).max(now);
        let ahead = start.saturating_duration_since(now);
        if ahead > gcra.tolerance {
            return Err(whole_seconds_up(ahead - gcra.tolerance));
        }
        if let Some(next) = start.checked_add(gcra.interval) {
            *tat = next;
        }
        Ok(())
    }

    /// Clients currently held (including ones whose entries have expired but were
    /// not swept yet). Never more than [`MAX_TRACKED`].
    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tat.len()).sum()
    }

    fn shard(&self, key: ClientKey) -> MutexGuard<'_, Shard> {
        let idx = (self.seed.hash_one(key) % SHARDS as u64) as usize;
        lock(&self.shards[idx])
    }
}

/// A panic elsewhere while a shard was held cannot leave the map inconsistent in a
/// way that matters here (at worst one client's budget is off by one request), so
/// a poisoned lock is used as is instead of taking every worker down with it.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Retry-After counts whole seconds; rounding down would invite a retry that is
/// still too early.
fn whole_seconds_up(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn limiter_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<RateLimiter>();
    }

    #[test]
    fn rfc6585_4_allows_limit_then_429_with_retry_after() {
        let rl = RateLimiter::new(3, MINUTE, vec![]);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(rl.check(a, t0), Ok(()));
        }
        // One token comes back every 20 s.
        assert_eq!(rl.check(a, t0), Err(20));
        assert_eq!(rl.check(a, t0 + Duration::from_secs(5)), Err(15));
        // Rejected requests cost nothing: the wait did not grow.
        assert_eq!(rl.check(a, t0 + Duration::from_secs(5)), Err(15));
        // Other clients are unaffected.
        assert_eq!(rl.check(ip("192.0.2.2"), t0), Ok(()));
    }

    #[test]
    fn retry_after_is_honest_and_at_least_one_second() {
        let rl = RateLimiter::new(500, MINUTE, vec![]);
        let t0 = Instant::now();
        let a = ip("198.51.100.7");
        for _ in 0..500 {
            assert_eq!(rl.check(a, t0), Ok(()));
        }
        // T = 120 ms, reported as a whole second.
        let secs = rl.check(a, t0).unwrap_err();
        assert_eq!(secs, 1);
        assert_eq!(rl.check(a, t0 + Duration::from_secs(secs)), Ok(()));
    }

    #[test]
    fn bucket_refills_over_the_window() {
        let rl = RateLimiter::new(3, MINUTE, vec![]);
        let t0 = Instant::now();
        let a = ip("203.0.113.5");
        for _ in 0..3 {
            rl.check(a, t0).unwrap();
        }
        assert!(rl.check(a, t0).is_err());
        // After a third of the window one token is back, not more.
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(rl.check(a, t1), Ok(()));
        assert_eq!(rl.check(a, t1), Err(20));
        // After a whole window the full budget is back.
        let t2 = t1 + MINUTE;
        for _ in 0..3 {
            assert_eq!(rl.check(a, t2), Ok(()));
        }
        assert!(rl.check(a, t2).is_err());
    }

    #[test]
    fn limit_one_means_one_per_window() {
        let rl = RateLimiter::new(1, Duration::from_secs(10), vec![]);
        let t0 = Instant::now();
        let a = ip("192.0.2.9");
        assert_eq!(rl.check(a, t0), Ok(()));
        assert_eq!(rl.check(a, t0), Err(10));
        assert_eq!(rl.check(a, t0 + Duration::from_millis(9_500)), Err(1));
        assert_eq!(rl.check(a, t0 + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn limit_zero_is_off() {
        let rl = RateLimiter::new(0, MINUTE, vec![]);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(rl.check(ip("192.0.2.1"), t0), Ok(()));
        }
        assert_eq!(rl.tracked(), 0);
    }

    #[test]
    fn exempt_v4_and_v6_cidrs_bypass() {
        let rl = RateLimiter::new(1, MINUTE, vec![net("127.0.0.0/8"), net("2001:db8:aa::/48")]);
        let t0 = Instant::now();
        for a in [
            "127.0.0.1",
            "127.9.9.9",
            "2001:db8:aa:1::5",
            "::ffff:127.0.0.1",
        ] {
            for _ in 0..5 {
                assert_eq!(rl.check(ip(a), t0), Ok(()), "{a}");
            }
        }
        assert_eq!(rl.tracked(), 0);
        // Just outside the blocks: limited.
        for a in ["128.0.0.1", "2001:db8:ab::1"] {
            assert_eq!(rl.check(ip(a), t0), Ok(()));
            assert!(rl.check(ip(a), t0).is_err(), "{a}");
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_on_the_64_prefix() {
        let rl = RateLimiter::new(2, MINUTE, vec![]);
        let t0 = Instant::now();
        assert_eq!(rl.check(ip("2001:db8:1:2::1"), t0), Ok(()));
        assert_eq!(rl.check(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), t0), Ok(()));
        // Same /64, different interface identifier: same budget.
        assert!(rl.check(ip("2001:db8:1:2:dead:beef::1"), t0).is_err());
        // The neighbouring /64 has its own.
        assert_eq!(rl.check(ip("2001:db8:1:3::1"), t0), Ok(()));
        assert_eq!(rl.tracked(), 2);
    }

    #[test]
    fn rfc4291_2_5_5_2_mapped_v4_shares_the_v4_budget() {
        let rl = RateLimiter::new(1, MINUTE, vec![]);
        let t0 = Instant::now();
        assert_eq!(rl.check(ip("192.0.2.44"), t0), Ok(()));
        assert!(rl.check(ip("::ffff:192.0.2.44"), t0).is_err());
    }

    #[test]
    fn idle_clients_are_swept() {
        let rl = RateLimiter::new(10, MINUTE, vec![]);
        let t0 = Instant::now();
        for i in 0..20_000u32 {
            rl.check(IpAddr::V4(Ipv4Addr::from(i)), t0).unwrap();
        }
        let before = rl.tracked();
        assert!(before > 1_000, "{before}");
        // A window later every old entry is expired and sweeps reclaim them.
        let t1 = t0 + MINUTE;
        for i in 0..20_000u32 {
            rl.check(IpAddr::V4(Ipv4Addr::from(1_000_000 + i)), t1)
                .unwrap();
        }
        let stale = rl
            .shards
            .iter()
            .map(|s| lock(s).tat.values().filter(|t| **t <= t1).count())
            .sum::<usize>();
        assert!(stale < before / 2, "stale {stale} of {before}");
    }

    #[test]
    fn flood_of_a_million_addresses_stays_bounded_and_keeps_limiting_the_busy() {
        let rl = RateLimiter::new(5, MINUTE, vec![]);
        let t0 = Instant::now();
        let busy = ip("203.0.113.77");
        for _ in 0..5 {
            rl.check(busy, t0).unwrap();
        }
        assert!(rl.check(busy, t0).is_err());
        let mut max_seen = 0;
        for i in 0..1_000_000u64 {
            // Half IPv4, half distinct IPv6 /64s, all within one window.
            let a = if i % 2 == 0 {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8_u128 << 96) | (u128::from(i) << 64),
                ))
            };
            let now = t0 + Duration::from_micros(i);
            assert_eq!(rl.check(a, now), Ok(()));
            if i % 10_000 == 0 {
                max_seen = max_seen.max(rl.tracked());
            }
        }
        assert!(rl.tracked() <= MAX_TRACKED, "{}", rl.tracked());
        assert!(max_seen <= MAX_TRACKED, "{max_seen}");
        // The busiest client has the latest TAT, so it was never the one forgotten.
        assert!(rl.check(busy, t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn eviction_forgets_the_fullest_buckets_first() {
        let mut shard = Shard {
            tat: HashMap::new(),
            sweep_at: MIN_SWEEP,
        };
        let t0 = Instant::now();
        for i in 0..PER_SHARD as u32 {
            shard
                .tat
                .insert(ClientKey::V4(i), t0 + Duration::from_secs(u64::from(i) + 1));
        }
        shard.sweep_at = PER_SHARD;
        shard.insert(ClientKey::V4(u32::MAX), t0 + Duration::from_secs(1), t0);
        let evicted = PER_SHARD / EVICT_DIVISOR;
        assert_eq!(shard.tat.len(), PER_SHARD - evicted + 1);
        // The earliest TATs (keys 0..evicted) are gone, the latest are kept.
        assert!(!shard.tat.contains_key(&ClientKey::V4(0)));
        assert!(!shard.tat.contains_key(&ClientKey::V4(evicted as u32 - 1)));
        assert!(shard.tat.contains_key(&ClientKey::V4(evicted as u32)));
        assert!(shard.tat.contains_key(&ClientKey::V4(PER_SHARD as u32 - 1)));
    }

    #[test]
    fn workers_share_one_budget() {
        let rl = Arc::new(RateLimiter::new(100, MINUTE, vec![]));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let rl = Arc::clone(&rl);
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| rl.check(ip("192.0.2.200"), t0).is_ok())
                        .count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 100);
    }

    #[test]
    fn poisoned_shard_does_not_panic_callers() {
        let rl = Arc::new(RateLimiter::new(1, MINUTE, vec![]));
        let poisoner = Arc::clone(&rl);
        let _ = std::thread::spawn(move || {
            let _guards: Vec<_> = poisoner.shards.iter().map(lock).collect();
            panic!("poison every shard");
        })
        .join();
        assert!(rl.shards.iter().all(|s| s.is_poisoned()));
        let t0 = Instant::now();
        assert_eq!(rl.check(ip("192.0.2.1"), t0), Ok(()));
        assert!(rl.check(ip("192.0.2.1"), t0).is_err());
        assert_eq!(rl.tracked(), 1);
    }

    #[test]
    fn from_config_uses_rate_limit_keys() {
        let cfg = Config::from_text("rate_limit = 2\nrate_limit_exempt = 10.0.0.0/8").unwrap();
        let rl = RateLimiter::from_config(&cfg);
        let t0 = Instant::now();
        assert!(rl.check(ip("10.1.1.1"), t0).is_ok());
        for _ in 0..2 {
            rl.check(ip("192.0.2.1"), t0).unwrap();
        }
        assert_eq!(rl.check(ip("192.0.2.1"), t0), Err(30));
    }
}
