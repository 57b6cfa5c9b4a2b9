//! The streams of one connection: their states, windows, the request being received
//! and the response being sent.

pub mod flow_control;
pub mod prioritize;
pub mod state;
pub mod tunnel;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use bytes::Bytes;

use crate::service::{Body, FileRegion};
use flow_control::{RecvWindow, SendWindow};
use prioritize::Priority;
use state::StreamState;
use tunnel::Tunnel;

/// What happens to the request of a stream.
#[derive(Debug)]
pub enum RecvPhase {
    /// Head received, body (or trailers) still arriving into `body`.
    Body {
        head: super::Delivered,
        body: Vec<u8>,
        content_length: Option<u64>,
        /// The whole request must have arrived by then.
        deadline: Instant,
    },
    /// The request was delivered (or refused with a status): any further DATA is
    /// counted for flow control and dropped.
    Done,
}

/// The response body still to send.
#[derive(Debug)]
pub enum SendBody {
    Bytes(Bytes),
    File(FileRegion),
}

impl SendBody {
    pub fn from_body(b: Body) -> Option<SendBody> {
        match b {
            Body::Empty => None,
            Body::Bytes(b) if b.is_empty() => None,
            Body::Bytes(b) => Some(SendBody::Bytes(b)),
            Body::File(f) if f.len == 0 => None,
            Body::File(f) => Some(SendBody::File(f)),
        }
    }

    pub fn remaining(&self) -> u64 {
        match self {
            SendBody::Bytes(b) => b.len() as u64,
            SendBody::File(f) => f.len,
        }
    }
}

#[derive(Debug)]
pub struct Stream {
    pub state: StreamState,
    pub recv: RecvPhase,
    /// True when the request was received with a HEAD method (no response body).
    pub head_request: bool,
    /// An event (request or reject) was handed out and `send_response` is awaited.
    pub awaiting_response: bool,
    /// The response headers were sent; `body` is what remains.
    pub responded: bool,
    pub body: Option<SendBody>,
    pub send_window: SendWindow,
    pub recv_window: RecvWindow,
    pub priority: Priority,
    /// An extended CONNECT (RFC 8441): its DATA is a byte stream, not a body.
    pub tunnel: Option<Box<Tunnel>>,
    /// Streams promised with this stream's response (server push, RFC 9113 §8.4).
    pub pushed: u8,
    /// Response body bytes framed into DATA so far (for the access log).
    pub body_sent: u64,
}

impl Stream {
    pub fn new(recv: RecvPhase, send_window: u32, recv_window: u32) -> Self {
        Stream {
            state: StreamState::Open,
            recv,
            head_request: false,
            awaiting_response: false,
            responded: false,
            body: None,
            send_window: SendWindow::new(send_window),
            recv_window: RecvWindow::new(recv_window),
            priority: Priority::default(),
            tunnel: None,
            pushed: 0,
            body_sent: 0,
        }
    }

    /// Bytes of request body held for this stream.
    pub fn buffered(&self) -> usize {
        match &self.recv {
            RecvPhase::Body { body, .. } => body.len(),
            RecvPhase::Done => 0,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        match &self.recv {
            RecvPhase::Body { deadline, .. } => Some(*deadline),
            RecvPhase::Done => self.tunnel.as_ref().and_then(|t| t.linger),
        }
    }
}

/// How a stream we no longer store was closed: decides what a late frame means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// We sent RST_STREAM: frames the client sent before seeing it are ignored
    /// (RFC 9113 §5.1 "closed").
    ResetByUs,
    /// Closed normally or by the client's RST_STREAM.
    Other,
}

use crate::limits::H2_RECENTLY_CLOSED_STREAMS as RECENTLY_CLOSED;

/// The open streams by id. Hashed with [`StreamIdHasher`]: a stream id is one `u32`,
/// and SipHash's per-lookup cost showed in profiles (several lookups per request).
pub type StreamMap = HashMap<u32, Stream, BuildHasherDefault<StreamIdHasher>>;

/// Fibonacci hashing of a stream id. No keyed hash is needed against collision
/// attacks: the table holds at most SETTINGS_MAX_CONCURRENT_STREAMS entries, so a
/// client that chose colliding ids could only make its own few lookups slower.
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32` is used by `u32` keys; any other input still hashes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        // The product's high half depends on every bit of the id; the table indexes
        // by the low bits, so they are swapped in (client ids are all odd, and the
        // low bit of an odd product would be set for every one of them).
        self.0 = u64::from(id)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(32);
    }
}

#[derive(Debug, Default)]
pub struct Streams {
    pub map: StreamMap,
    /// The highest stream id the client opened (or tried to): ids above it are idle.
    pub last_client_id: u32,
    recently_closed: VecDeque<(u32, Closed)>,
}

impl Streams {
    /// Record a stream leaving the table.
    pub fn remember_closed(&mut self, id: u32, how: Closed) {
        if self.recently_closed.len() == RECENTLY_CLOSED {
            self.recently_closed.pop_front();
        }
        self.recently_closed.push_back((id, how));
    }

    pub fn closed_how(&self, id: u32) -> Option<Closed> {
        self.recently_closed
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, h)| *h)
    }

    /// Request-body bytes held across all streams.
    pub fn buffered(&self) -> usize {
        self.map.values().map(Stream::buffered).sum()
    }
}
