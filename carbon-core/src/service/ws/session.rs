//! One upgraded connection: the engine, its handler and its mailbox.

use std::time::Instant;

use super::handler::{MessagePart, WsContext, WsHandler};
use super::remote::{Outgoing, WakeHook, WsSender};
use super::upgrade::WsUpgrade;
use crate::limits::WsLimits;
use crate::proto::out::OutQueue;
use crate::proto::ws::{CloseCode, WsConn, WsEvent};

/// Mailbox commands taken per wake-up, so one busy broadcast cannot starve the other
/// connections of the worker; the rest are taken after the output drains.
const MAIL_PER_TURN: usize = 64;

/// The engine and the handler of one connection. The driver calls the `handle_*`
/// methods as it would on an HTTP engine, then flushes [`Self::out`]; once
/// [`Self::is_closed`] and the output is flushed, it closes the transport.
pub struct WsSession {
    conn: WsConn,
    handler: Box<dyn WsHandler>,
    sender: WsSender,
    protocol: Option<String>,
    chunks: bool,
    close_reported: bool,
}

/// A session dropped before its close was reported (the driver closed the transport
/// on a write error or the write-stall timeout, or the worker stopped): the handler
/// still hears of it, as an abnormal closure (RFC 6455 §7.1.5, 1006), so its
/// `on_close` runs exactly once whatever ends the connection.
impl Drop for WsSession {
    fn drop(&mut self) {
        if !self.close_reported {
            self.close_reported = true;
            self.sender.mailbox().close();
            self.handler
                .on_close(Some(crate::proto::ws::CloseCode::ABNORMAL), "");
        }
    }
}

impl std::fmt::Debug for WsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSession")
            .field("conn", &self.conn)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl WsSession {
    /// Starts the session of an accepted upgrade (after the 101 head was queued) and
    /// calls the handler's `on_open`. `None` if the upgrade's handler was already
    /// taken. `wake` is the driver's hook for [`WsSender`]s.
    pub fn from_upgrade(
        up: &WsUpgrade,
        limits: WsLimits,
        wake: WakeHook,
        now: Instant,
    ) -> Option<Self> {
        let handler = up.take_handler()?;
        let accepted = up.accepted();
        let mut s = Self::new(
            handler,
            accepted.deflate,
            accepted.protocol.clone(),
            limits,
            wake,
            now,
        );
        s.conn.set_unmasked(accepted.no_masking);
        Some(s)
    }

    pub fn new(
        handler: Box<dyn WsHandler>,
        deflate: Option<crate::proto::ws::deflate::DeflateParams>,
        protocol: Option<String>,
        limits: WsLimits,
        wake: WakeHook,
        now: Instant,
    ) -> Self {
        let sender = WsSender::new(limits.max_remote_queue, wake);
        let mut conn = WsConn::new(limits, deflate, now);
        let chunks = handler.wants_chunks();
        conn.set_streaming(chunks);
        let mut s = WsSession {
            conn,
            handler,
            sender,
            protocol,
            chunks,
            close_reported: false,
        };
        let mut ctx = WsContext {
            conn: &mut s.conn,
            sender: &s.sender,
            now,
            protocol: s.protocol.as_deref(),
        };
        s.handler.on_open(&mut ctx);
        s.dispatch(now);
        s
    }

    // ---- getters, as on the engine

    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    pub fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }

    /// See [`WsConn::drain_on_close`]: drain the peer's input before closing.
    pub fn drain_on_close(&self) -> bool {
        self.conn.drain_on_close()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// When a data frame last went either way ([`WsConn::last_data`]).
    pub fn last_data(&self) -> Instant {
        self.conn.last_data()
    }

    /// Reclaimed by the driver's slot policy: a Close with `code` (1001) is queued
    /// for one last write, and the transport is closed right after without waiting
    /// for the peer's Close, so the handler hears of the end now.
    pub fn evict(&mut self, now: Instant, code: CloseCode, reason: &str) {
        self.conn.close(now, code, reason);
        self.dispatch(now);
        if !self.close_reported {
            self.close_reported = true;
            self.sender.mailbox().close();
            self.handler.on_close(Some(code), reason);
        }
    }

    pub fn out(&mut self) -> &mut OutQueue {
        self.conn.out()
    }

    /// True when nothing is queued for the peer.
    pub fn out_is_empty(&self) -> bool {
        self.conn.out_is_empty()
    }

    /// A handle for other threads, as handlers get from `WsContext::sender`.
    pub fn sender(&self) -> WsSender {
        self.sender.clone()
    }

    // ---- inputs

    /// Bytes read from the transport (the leftover input after the upgrade request
    /// first).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.conn.handle_input(now, data);
        self.dispatch_and_resume(now);
    }

    /// Hands events to the handler, then lets the engine process input it held back,
    /// for as long as the handler's answers leave room in the send queue.
    fn dispatch_and_resume(&mut self, now: Instant) {
        loop {
            self.dispatch(now);
            let before = self.conn.buffered_bytes();
            if !self.conn.has_pending_input() {
                return;
            }
            self.conn.handle_output_drained(now);
            if self.conn.poll_event_pending() == 0 && self.conn.buffered_bytes() == before {
                return;
            }
        }
    }

    pub fn handle_read_closed(&mut self, now: Instant) {
        self.conn.handle_read_closed(now);
        self.dispatch(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
        self.dispatch(now);
    }

    /// The wake hook fired: take commands from the mailbox while the send queue has
    /// room.
    pub fn handle_wake(&mut self, now: Instant) {
        for cmd in self.sender.mailbox().take(MAIL_PER_TURN) {
            // Refusals (closed, queue full) drop the command: the sender was told
            // the queue was bounded, and a closed connection has no one to tell.
            let _ = match cmd {
                Outgoing::Text(t) => self.conn.send_text(&t),
                Outgoing::Binary(b) => self.conn.send_binary(b),
                Outgoing::Ping(p) => self.conn.send_ping(&p),
                Outgoing::Close(code, reason) => {
                    self.conn.close(now, code, &reason);
                    Ok(())
                }
            };
        }
        self.dispatch(now);
    }

    /// The output queue drained: mail left over from a busy turn is taken now.
    pub fn handle_output_drained(&mut self, now: Instant) {
        self.conn.handle_output_drained(now);
        self.dispatch_and_resume(now);
        if !self.sender.mailbox().is_empty() {
            self.handle_wake(now);
        }
    }

    /// Server shutdown: Close 1001 (RFC 6455 §7.4.1).
    pub fn start_shutdown(&mut self, now: Instant) {
        self.conn.start_shutdown(now);
        self.dispatch(now);
    }

    fn dispatch(&mut self, now: Instant) {
        while let Some(ev) = self.conn.poll_event() {
            let mut ctx = WsContext {
                conn: &mut self.conn,
                sender: &self.sender,
                now,
                protocol: self.protocol.as_deref(),
            };
            match ev {
                WsEvent::Message(m) => self.handler.on_message(&mut ctx, m),
                WsEvent::MessageStart(k) if self.chunks => {
                    self.handler.on_chunk(&mut ctx, MessagePart::Start(k))
                }
                WsEvent::MessageChunk(b) if self.chunks => {
                    self.handler.on_chunk(&mut ctx, MessagePart::Data(b))
                }
                WsEvent::MessageEnd if self.chunks => {
                    self.handler.on_chunk(&mut ctx, MessagePart::End)
                }
                WsEvent::Closed { code, reason } if !self.close_reported => {
                    self.close_reported = true;
                    self.sender.mailbox().close();
                    self.handler.on_close(code, &reason);
                }
                _ => {}
            }
        }
        if self.conn.is_closed() && !self.close_reported {
            // Closed without an event (our Close answered, or its timeout).
            self.close_reported = true;
            self.sender.mailbox().close();
            self.handler.on_close(None, "");
        }
    }
}
