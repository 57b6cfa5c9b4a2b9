//! Edge-triggered readiness, remembered per connection (sozu's `Readiness` model):
//! `event` is what epoll reported and the connection has not yet consumed down to
//! `WouldBlock`; `interest` is what the socket is registered for. Keeping both as
//! small bit sets, instead of loose booleans, lets every engine (HTTP/1.1, HTTP/2,
//! later WebSocket) share one vocabulary with the driver.

use std::ops::BitOr;

/// A set of readiness kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready(u8);

impl Ready {
    pub const EMPTY: Ready = Ready(0);
    pub const READABLE: Ready = Ready(1);
    pub const WRITABLE: Ready = Ready(2);
    /// The peer's FIN came with an event: it raises no further edge, so reading goes
    /// on to the EOF instead of trusting a short read to have emptied the socket.
    pub const HUP: Ready = Ready(4);

    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: Ready) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: Ready) {
        self.0 &= !other.0;
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    /// Reported and not yet consumed.
    pub event: Ready,
    /// Registered with the poller (READABLE always; WRITABLE while a write blocked).
    pub interest: Ready,
}

impl Readiness {
    /// Records one poller event. A FIN counts as readable: the read returning 0 is
    /// what reports it to the engine.
    pub fn note(&mut self, readable: bool, writable: bool, read_closed: bool) {
        if readable || read_closed {
            self.event.insert(Ready::READABLE);
        }
        if writable {
            self.event.insert(Ready::WRITABLE);
        }
        if read_closed {
            self.event.insert(Ready::HUP);
        }
    }

    pub fn readable(&self) -> bool {
        self.event.contains(Ready::READABLE)
    }

    pub fn writable(&self) -> bool {
        self.event.contains(Ready::WRITABLE)
    }

    pub fn hup(&self) -> bool {
        self.event.contains(Ready::HUP)
    }

    /// The socket returned `WouldBlock` (or a short read drained it).
    pub fn read_drained(&mut self) {
        self.event.remove(Ready::READABLE);
    }

    /// The socket's send buffer is full.
    pub fn write_blocked(&mut self) {
        self.event.remove(Ready::WRITABLE);
    }
}

#[cfg(test)]
mod tests {
    use super::{Readiness, Ready};

    #[test]
    fn edges_are_remembered_until_consumed_and_fin_counts_as_readable() {
        let mut r = Readiness::default();
        assert!(!r.readable() && !r.writable() && !r.hup());
        r.note(false, true, false);
        assert!(r.writable() && !r.readable());
        r.note(false, false, true);
        assert!(r.readable() && r.hup());
        r.read_drained();
        assert!(!r.readable() && r.hup() && r.writable());
        r.write_blocked();
        assert!(!r.writable());
        assert!((Ready::READABLE | Ready::WRITABLE).contains(Ready::WRITABLE));
        assert!(!Ready::EMPTY.contains(Ready::READABLE));
    }
}
