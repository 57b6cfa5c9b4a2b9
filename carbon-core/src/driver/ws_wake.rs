//! Cross-thread sends to WebSocket sessions: a `WsSender` on any thread records its
//! connection here and wakes the worker's `mio::Waker`; the worker then calls
//! `handle_wake` on each recorded connection.
//!
//! Bounded: past `MAX_PENDING` recorded connections the list is dropped and every
//! WebSocket connection of the worker is woken instead (a spurious wake is
//! harmless: an empty mailbox gives nothing). A key may name a slot reused by
//! another connection since; that connection's empty mailbox makes it a no-op too.

use std::sync::{Arc, Mutex};

use mio::Waker;

use crate::service::ws::WakeHook;

/// Recorded connections per worker before falling back to waking them all.
const MAX_PENDING: usize = 4096;

pub(crate) struct WsWake {
    waker: Arc<Waker>,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    keys: Vec<usize>,
    all: bool,
}

/// What the worker must wake after its waker fired.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Woken {
    Keys(Vec<usize>),
    All,
}

impl WsWake {
    pub fn new(waker: Arc<Waker>) -> Arc<WsWake> {
        Arc::new(WsWake {
            waker,
            pending: Mutex::new(Pending::default()),
        })
    }

    /// The hook for the session of connection `key`.
    pub fn hook(self: &Arc<Self>, key: usize) -> WakeHook {
        let me = self.clone();
        Arc::new(move || me.wake(key))
    }

    fn wake(&self, key: usize) {
        {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !p.all {
                if p.keys.len() >= MAX_PENDING {
                    p.keys = Vec::new();
                    p.all = true;
                } else if p.keys.len() >= 64 || !p.keys.contains(&key) {
                    // Duplicates are only searched for in a short list; a long one
                    // may hold a few, each a no-op when taken.
                    p.keys.push(key);
                }
            }
        }
        if let Err(e) = self.waker.wake() {
            log::warn!("cannot wake worker for a WebSocket send: {e}");
        }
    }

    /// Takes what was recorded since the last call.
    pub fn take(&self) -> Woken {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if std::mem::take(&mut p.all) {
            return Woken::All;
        }
        let mut keys = std::mem::take(&mut p.keys);
        keys.sort_unstable();
        keys.dedup();
        Woken::Keys(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::{Woken, WsWake, MAX_PENDING};
    use std::sync::Arc;

    #[test]
    fn wake_list_is_bounded_and_falls_back_to_waking_all() {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let w = WsWake::new(waker);
        w.hook(7)();
        w.hook(3)();
        w.hook(7)();
        assert_eq!(w.take(), Woken::Keys(vec![3, 7]));
        assert_eq!(w.take(), Woken::Keys(vec![]));
        for k in 0..=MAX_PENDING + 10 {
            w.hook(k)();
        }
        assert_eq!(w.take(), Woken::All);
        assert_eq!(w.take(), Woken::Keys(vec![]));
    }
}
