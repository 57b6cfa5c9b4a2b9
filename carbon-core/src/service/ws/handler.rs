//! The handler trait and the context its callbacks get.

use std::time::Instant;

use bytes::Bytes;

use super::remote::WsSender;
use crate::proto::ws::{CloseCode, Message, MessageKind, SendError, WsConn};

/// A piece of a message delivered as it arrives (see [`WsHandler::wants_chunks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePart {
    Start(MessageKind),
    /// The next bytes, unmasked, inflated and (for text) UTF-8-checked so far; a code
    /// point may straddle two parts.
    Data(Bytes),
    End,
}

/// An application's side of one WebSocket connection. Callbacks run on the
/// connection's worker thread and must not block: long work belongs on another
/// thread, which answers through a [`WsSender`].
///
/// ```
/// use carbon_core::proto::ws::Message;
/// use carbon_core::service::ws::{WsContext, WsHandler};
///
/// /// Answers every text message in upper case and counts them.
/// struct Shout {
///     count: u64,
/// }
///
/// impl WsHandler for Shout {
///     fn on_message(&mut self, ws: &mut WsContext<'_>, msg: Message) {
///         if let Message::Text(t) = msg {
///             self.count += 1;
///             // A full send queue means a slow reader: drop, or close it.
///             let _ = ws.send_text(&t.to_uppercase());
///         }
///     }
/// }
/// ```
pub trait WsHandler: Send {
    /// The connection is open (the 101 response is queued). Keep `ws.sender()` to
    /// reach this connection from elsewhere.
    fn on_open(&mut self, ws: &mut WsContext<'_>) {
        let _ = ws;
    }

    /// A whole message (at most `websocket_max_message` bytes after inflation).
    fn on_message(&mut self, ws: &mut WsContext<'_>, msg: Message);

    /// Return true to receive messages as [`MessagePart`]s through `on_chunk` instead
    /// of `on_message`: a large upload then needs no buffer of its size. Asked once,
    /// when the connection opens.
    fn wants_chunks(&self) -> bool {
        false
    }

    /// A piece of a message, when `wants_chunks` returned true.
    fn on_chunk(&mut self, ws: &mut WsContext<'_>, part: MessagePart) {
        let _ = (ws, part);
    }

    /// The connection is closing: the peer's code (`None` if it sent none,
    /// 1006 if the transport closed without a Close), or the code we closed with.
    /// Called once; nothing can be sent any more.
    fn on_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let _ = (code, reason);
    }
}

/// What a callback may do with its connection.
pub struct WsContext<'a> {
    pub(super) conn: &'a mut WsConn,
    pub(super) sender: &'a WsSender,
    pub(super) now: Instant,
    pub(super) protocol: Option<&'a str>,
}

impl WsContext<'_> {
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.conn.send_text(text)
    }

    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.conn.send_binary(data.into())
    }

    /// Sends a message received (or built) whole, without copying its bytes:
    /// `send_text(&str)` has to copy a text, this takes the `String` over.
    pub fn send(&mut self, msg: Message) -> Result<(), SendError> {
        self.conn.send(msg)
    }

    /// A Ping with up to 125 bytes (RFC 6455 §5.5.2); the engine also pings idle
    /// connections by itself.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.conn.send_ping(payload)
    }

    /// Starts the close handshake (RFC 6455 §7.1.2).
    pub fn close(&mut self, code: CloseCode, reason: &str) {
        self.conn.close(self.now, code, reason);
    }

    /// A handle for other threads (broadcast).
    pub fn sender(&self) -> WsSender {
        self.sender.clone()
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol
    }

    /// The time of the current loop turn.
    pub fn now(&self) -> Instant {
        self.now
    }
}

/// The built-in endpoint: every message comes back as it was sent (text as text,
/// binary as binary). A client that does not read is closed by the send-queue bound
/// and the driver's write timeout, never buffered without limit.
#[derive(Debug, Default, Clone, Copy)]
pub struct EchoHandler;

impl WsHandler for EchoHandler {
    fn on_message(&mut self, ws: &mut WsContext<'_>, msg: Message) {
        // Moved back out as it came in: no copy of the payload (text or binary).
        let r = ws.send(msg);
        // The engine stops reading while its queue is full, so a refused echo means
        // the peer stopped reading at the worst moment: close rather than drop data.
        if r == Err(SendError::QueueFull) {
            ws.close(CloseCode::POLICY_VIOLATION, "send queue full");
        }
    }
}
