//! `max_connections_per_ip`: open connections per client, counted across workers.
//!
//! A client is what the rate limiter calls one (`service/ratelimit.rs`): an IPv4
//! address or an IPv6 /64, since one host may hold a whole /64. Addresses in
//! `rate_limit_exempt` (loopback by default) are never counted: the same trusted
//! list serves both limits, so a reverse proxy or health checker on it is never cut
//! off. Over the limit, a connection is closed as soon as it is accepted, before
//! anything is read from it or written to it: answering 429 would need its request
//! first, which is exactly the slot we refuse to give.
//!
//! Memory: one entry per client with an open connection, so never more entries than
//! `max_connections`; an entry is removed when its count drops to zero. With the
//! limit at 0 (the default) nothing is locked or stored on the accept path.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::IpNet;
use crate::service::ratelimit::ClientKey;

/// Enough shards that workers (one per CPU) seldom meet on one lock.
const SHARDS: usize = 64;

/// What [`PerIp::admit`] decided for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// No limit applies (off, or an exempt address): nothing to release later.
    Untracked,
    /// Counted: call [`PerIp::release`] when the connection closes.
    Counted,
    /// Over the limit: close it.
    Refused,
}

pub(crate) struct PerIp {
    limit: u32,
    exempt: Vec<IpNet>,
    seed: RandomState,
    shards: Box<[Mutex<HashMap<ClientKey, u32>>]>,
}

impl PerIp {
    /// `limit == 0` turns the limit off.
    pub fn new(limit: u32, exempt: Vec<IpNet>) -> Self {
        let shards = if limit == 0 { 0 } else { SHARDS };
        PerIp {
            limit,
            exempt,
            seed: RandomState::new(),
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Counts a new connection from `ip`, unless that would exceed the limit.
    pub fn admit(&self, ip: IpAddr) -> Admit {
        if self.limit == 0 || self.exempt.iter().any(|n| n.contains(ip)) {
            return Admit::Untracked;
        }
        let key = ClientKey::of(ip);
        let mut shard = self.shard(key);
        let count = shard.entry(key).or_insert(0);
        if *count >= self.limit {
            return Admit::Refused;
        }
        *count += 1;
        Admit::Counted
    }

    /// A connection [`Admit::Counted`] for `ip` closed.
    pub fn release(&self, ip: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let key = ClientKey::of(ip);
        let mut shard = self.shard(key);
        if let Entry::Occupied(mut e) = shard.entry(key) {
            *e.get_mut() = e.get().saturating_sub(1);
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    /// Clients with at least one counted connection.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    fn shard(&self, key: ClientKey) -> MutexGuard<'_, HashMap<ClientKey, u32>> {
        let idx = (self.seed.hash_one(key) % self.shards.len() as u64) as usize;
        lock(&self.shards[idx])
    }
}

/// A panic while a shard was held leaves at worst one count off by one: use the map
/// as is rather than take every worker down.
fn lock(m: &Mutex<HashMap<ClientKey, u32>>) -> MutexGuard<'_, HashMap<ClientKey, u32>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limit_counts_per_client_and_frees_on_release() {
        let p = PerIp::new(2, vec![]);
        let a = ip("192.0.2.1");
        assert_eq!(p.admit(a), Admit::Counted);
        assert_eq!(p.admit(a), Admit::Counted);
        assert_eq!(p.admit(a), Admit::Refused);
        // Another client has its own count.
        assert_eq!(p.admit(ip("192.0.2.2")), Admit::Counted);
        p.release(a);
        assert_eq!(p.admit(a), Admit::Counted);
        p.release(a);
        p.release(a);
        p.release(ip("192.0.2.2"));
        assert_eq!(p.tracked(), 0, "entries go when their count reaches zero");
    }

    #[test]
    fn rfc4291_ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let p = PerIp::new(1, vec![]);
        assert_eq!(p.admit(ip("2001:db8:1:2::1")), Admit::Counted);
        assert_eq!(p.admit(ip("2001:db8:1:2::ffff")), Admit::Refused);
        assert_eq!(p.admit(ip("2001:db8:1:3::1")), Admit::Counted);
        assert_eq!(p.admit(ip("192.0.2.9")), Admit::Counted);
        assert_eq!(p.admit(ip("::ffff:192.0.2.9")), Admit::Refused);
    }

    #[test]
    fn exempt_and_off_are_never_counted() {
        let exempt = vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        let p = PerIp::new(1, exempt);
        for _ in 0..10 {
            assert_eq!(p.admit(ip("127.0.0.1")), Admit::Untracked);
            assert_eq!(p.admit(ip("::1")), Admit::Untracked);
        }
        let off = PerIp::new(0, vec![]);
        assert_eq!(off.admit(ip("192.0.2.1")), Admit::Untracked);
        off.release(ip("192.0.2.1"));
    }
}
