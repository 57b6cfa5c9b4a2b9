//! How far a connection has got, as every engine reports it to the driver's
//! connection-slot policy (`driver/slots.rs`): which phase it is in, since when, and
//! how many bytes of the current head or body have arrived.

use std::time::Instant;

/// Where a connection stands, for the driver's connection-slot policy (which
/// connections to reclaim first under pressure). Protocol-neutral: any engine can
/// describe itself this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    /// When the current phase began.
    pub since: Instant,
    /// Bytes of the current head or body received so far (0 for the other phases).
    pub received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between requests, nothing buffered and nothing to send (keep-alive idle).
    Idle,
    /// Waiting for or receiving a request head; includes a fresh connection that has
    /// sent nothing yet.
    Head,
    /// Receiving a request body.
    Body,
    /// A request is being answered or its response written.
    Responding,
    /// Output is pending and the peer has not taken any of it since `since` (the
    /// last write that made progress). Reported by the driver, never by an engine.
    Sending,
    /// Closing: the response is out and the driver only discards what the peer
    /// still sends (lingering close). Reported by the driver, never by an engine.
    Lingering,
    /// An open WebSocket session (RFC 6455); `since` is its last data frame in
    /// either direction (Ping and Pong do not count: they only prove the peer is
    /// alive, not that anyone uses the session).
    WebSocket,
}
