//! Reaching a connection from another thread: a bounded mailbox plus a wake hook.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::proto::ws::{CloseCode, SendError};

/// Called after a message is put in a connection's mailbox. The driver supplies it
/// when the connection is upgraded: it records the connection as having mail and
/// wakes the worker's event loop (`mio::Waker`), which then calls
/// [`WsSession::handle_wake`](super::WsSession::handle_wake).
pub type WakeHook = Arc<dyn Fn() + Send + Sync>;

/// A command sent from another thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Close(CloseCode, String),
}

pub(super) struct Mailbox {
    queue: Mutex<VecDeque<Outgoing>>,
    capacity: usize,
    closed: AtomicBool,
    wake: WakeHook,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Outgoing>> {
        // A sender that panicked mid-push leaves a consistent VecDeque: keep going.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn take(&self, max: usize) -> Vec<Outgoing> {
        let mut q = self.lock();
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.lock().clear();
    }
}

/// A cloneable, `Send + Sync` handle to one connection. Sending never blocks on the
/// network: it queues (up to `max_remote_queue` commands) and wakes the worker.
#[derive(Clone)]
pub struct WsSender {
    inner: Arc<Mailbox>,
}

impl std::fmt::Debug for WsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl WsSender {
    pub(super) fn new(capacity: usize, wake: WakeHook) -> Self {
        WsSender {
            inner: Arc::new(Mailbox {
                queue: Mutex::new(VecDeque::new()),
                capacity,
                closed: AtomicBool::new(false),
                wake,
            }),
        }
    }

    pub(super) fn mailbox(&self) -> &Mailbox {
        &self.inner
    }

    /// The connection has closed; sends fail with `SendError::Closed`.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    pub fn send(&self, cmd: Outgoing) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        {
            let mut q = self.inner.lock();
            if q.len() >= self.inner.capacity {
                return Err(SendError::QueueFull);
            }
            q.push_back(cmd);
        }
        (self.inner.wake)();
        Ok(())
    }

    pub fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Outgoing::Text(text.into()))
    }

    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Outgoing::Binary(data.into()))
    }

    /// Same identity: both handles reach the same connection.
    pub fn same_connection(&self, other: &WsSender) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
