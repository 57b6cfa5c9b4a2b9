//! Per-worker deadline set: which connection times out next.
//!
//! Each connection has at most one armed entry. An ordered set keyed by (deadline,
//! token) makes "nearest deadline" O(1) and re-arming O(log n), and the set never
//! holds more than one entry per connection.
//!
//! The entry may be *earlier* than the connection's real deadline (the earliest of
//! its engine's and the driver's own timers): `arm` only moves an entry when the
//! deadline comes closer. A keep-alive connection pushes its idle deadline later with
//! every request, so moving the entry each time would cost a removal and an
//! insertion in a tree of every connection per request (cache misses that grow with
//! the number of connections). Instead the old entry stays; when it fires, the
//! worker finds the real deadline still ahead and arms that (once per timeout
//! period, not once per request).

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

    /// Arm `token` for `deadline`, given the entry `armed` it has now; returns the
    /// entry it has afterwards. An entry at or before `deadline` is kept (see the
    /// module comment); so is one for a connection that no longer has a deadline (it
    /// fires once for nothing). Closing a connection must use `rearm(.., None)`.
    pub fn arm(
        &mut self,
        token: usize,
        armed: Option<Instant>,
        deadline: Option<Instant>,
    ) -> Option<Instant> {
        match (armed, deadline) {
            (Some(a), Some(d)) if a <= d => armed,
            (Some(_), None) => armed,
            _ => {
                self.rearm(token, armed, deadline);
                deadline
            }
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

    /// A later deadline leaves the earlier entry in place (no tree update per
    /// keep-alive request); an earlier one moves it; the set still holds one entry
    /// per connection.
    #[test]
    fn arm_moves_an_entry_only_when_the_deadline_comes_closer() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = Timers::default();
        let armed = t.arm(1, None, Some(t0 + s(10)));
        assert_eq!(armed, Some(t0 + s(10)));
        let armed = t.arm(1, armed, Some(t0 + s(20)));
        assert_eq!(armed, Some(t0 + s(10)));
        assert_eq!(t.next_deadline(), Some(t0 + s(10)));
        let armed = t.arm(1, armed, None);
        assert_eq!(armed, Some(t0 + s(10)));
        let armed = t.arm(1, armed, Some(t0 + s(5)));
        assert_eq!(armed, Some(t0 + s(5)));
        assert_eq!(t.len(), 1);
        assert_eq!(t.pop_expired(t0 + s(5)), Some(1));
        assert!(t.is_empty());
    }
}
