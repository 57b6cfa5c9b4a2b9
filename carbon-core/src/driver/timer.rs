//! Per-worker deadline set: which connection times out next.
//!
//! Each connection has at most one armed deadline (the earliest of its engine's and
//! the driver's own write-stall timer). An ordered set keyed by (deadline, token)
//! makes "nearest deadline" O(1) and re-arming O(log n) without stale entries, so the
//! set never holds more than one entry per connection.

use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Debug, Default)]
pub struct Timers {
    set: BTreeSet<(Instant, usize)>,
}

impl Timers {
    /// Move `token`'s deadline from `old` to `new`.
    pub fn rearm(&mut self, token: usize, old: Option<Instant>, new: Option<Instant>) {
        if old == new {
            return;
        }
        if let Some(o) = old {
            self.set.remove(&(o, token));
        }
        if let Some(n) = new {
            self.set.insert((n, token));
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.set.first().map(|(t, _)| *t)
    }

    /// Remove and return one connection whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<usize> {
        let &(t, token) = self.set.first()?;
        if t <= now {
            self.set.pop_first();
            Some(token)
        } else {
            None
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.set.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rearm_keeps_one_entry_per_connection() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.rearm(1, None, Some(t0 + Duration::from_secs(5)));
        t.rearm(2, None, Some(t0 + Duration::from_secs(3)));
        t.rearm(
            1,
            Some(t0 + Duration::from_secs(5)),
            Some(t0 + Duration::from_secs(1)),
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.pop_expired(t0), None);
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(2)), Some(1));
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(2)), None);
        t.rearm(2, Some(t0 + Duration::from_secs(3)), None);
        assert!(t.is_empty());
    }
}
