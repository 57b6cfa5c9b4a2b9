//! Server push (RFC 9113 §8.4): PUSH_PROMISE on a client's stream, then the pushed
//! response on the even stream it reserves.
//!
//! The engine decides only what the protocol decides: whether the client allows
//! push (SETTINGS_ENABLE_PUSH, §6.5.2), whether the promised request is one a server
//! may push (safe and cacheable method, an `:authority`, §8.4.1), whether the page's
//! stream can still carry a promise (open or half-closed(remote), its response not
//! sent yet, §8.4.2: promises precede the HEADERS that reference them), and the
//! bounds (the client's SETTINGS_MAX_CONCURRENT_STREAMS over our pushed streams,
//! §5.1.2; `H2_MAX_PUSHES_PER_REQUEST` and `H2_MAX_PUSHES_PER_CONNECTION`). What to
//! push and whether the response is cacheable is the driver's (`driver/push.rs`).
//!
//! A promised stream is stored as [`StreamState::ReservedLocal`] awaiting its
//! response, which [`H2Conn::send_response`] sends like any other (HEADERS turn it
//! half-closed(remote)). The client may refuse it at any time with RST_STREAM
//! (CANCEL or REFUSED_STREAM, §8.4.2): the stream is dropped like any reset one,
//! without counting as a rapid reset (the server opened it, not the client).

use http::header::{HeaderMap, HOST};
use http::Method;

use super::{H2Conn, Phase, Shutdown};
use crate::limits::{H2_MAX_PUSHES_PER_CONNECTION, H2_MAX_PUSHES_PER_REQUEST};
use crate::proto::h2::frame::head::{flags, kind};
use crate::proto::h2::frame::Head;
use crate::proto::h2::hpack::HeaderField;
use crate::proto::h2::streams::state::StreamState;
use crate::proto::h2::streams::{RecvPhase, Stream};

use bytes::BufMut;

/// The largest stream id (§5.1.1): past it no stream can be promised.
const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Push bookkeeping of one connection.
#[derive(Debug)]
pub(super) struct PushState {
    /// The next even stream id to promise (§5.1.1: ours are even and increase).
    pub next_id: u32,
    /// Pushed streams still stored (reserved or half-closed(remote)).
    pub open: usize,
    /// Promises sent over the connection's life.
    pub total: u32,
    /// The client's SETTINGS_MAX_CONCURRENT_STREAMS: how many streams we may open
    /// (§5.1.2); unlimited until it says otherwise.
    pub peer_max_concurrent: u32,
}

impl Default for PushState {
    fn default() -> Self {
        PushState {
            next_id: 2,
            open: 0,
            total: 0,
            peer_max_concurrent: u32::MAX,
        }
    }
}

impl PushState {
    /// An even id we promised (stored or closed since); higher ones are idle.
    pub fn promised(&self, id: u32) -> bool {
        id != 0 && id < self.next_id
    }
}

/// Why a push was not promised. Not an error: the page is answered without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPush {
    /// The client sent SETTINGS_ENABLE_PUSH = 0 (§6.5.2).
    Disabled,
    /// The connection is closing, or a GOAWAY was sent or received.
    Closing,
    /// The page's stream is gone, not a client stream, or its response was sent.
    Stream,
    /// §8.4.1: only safe and cacheable methods (GET, HEAD), with an `:authority`.
    NotPushable,
    /// The client's SETTINGS_MAX_CONCURRENT_STREAMS, a push bound, or stream ids
    /// ran out.
    Limit,
}

/// Connection-specific fields (§8.2.2) never go into a promised request, nor `host`
/// (it becomes `:authority`, §8.3.1).
fn skipped(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "connection"
            | "proxy-connection"
            | "keep-alive"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "content-length"
    )
}

impl H2Conn {
    /// Promises `request` (a GET or HEAD of the page's origin; its body is ignored)
    /// on the client's stream `parent`, before that stream's response is sent:
    /// queues PUSH_PROMISE (§6.6) and reserves the even stream it names, whose id is
    /// returned. Answer it with [`H2Conn::send_response`] like a client stream.
    /// `scheme` is the page's (`https` over TLS, else `http`); `:authority` is the
    /// request's `host`.
    pub fn push_promise<B>(
        &mut self,
        parent: u32,
        scheme: &str,
        request: &http::Request<B>,
    ) -> Result<u32, NoPush> {
        if !self.peer_enable_push {
            return Err(NoPush::Disabled);
        }
        if self.phase != Phase::Open
            || self.shutdown != Shutdown::None
            || self.peer_goaway
            || self.read_closed
            || self.goaway_last_id.is_some()
        {
            return Err(NoPush::Closing);
        }
        let method = request.method();
        if *method != Method::GET && *method != Method::HEAD {
            return Err(NoPush::NotPushable);
        }
        let Some(authority) = request.headers().get(HOST) else {
            return Err(NoPush::NotPushable);
        };
        let Some(path) = request.uri().path_and_query() else {
            return Err(NoPush::NotPushable);
        };
        let Some(page) = self.streams.map.get(&parent) else {
            return Err(NoPush::Stream);
        };
        if parent.is_multiple_of(2)
            || !page.awaiting_response
            || !matches!(
                page.state,
                StreamState::Open | StreamState::HalfClosedRemote
            )
        {
            return Err(NoPush::Stream);
        }
        if usize::from(page.pushed) >= H2_MAX_PUSHES_PER_REQUEST
            || self.push.total >= H2_MAX_PUSHES_PER_CONNECTION
            || self.push.open >= self.push.peer_max_concurrent as usize
            || self.push.next_id > MAX_STREAM_ID
        {
            return Err(NoPush::Limit);
        }
        let id = self.push.next_id;
        let head_request = *method == Method::HEAD;
        let mut block = Vec::with_capacity(128);
        let pseudo = [
            (":method", method.as_str().as_bytes()),
            (":scheme", scheme.as_bytes()),
            (":authority", authority.as_bytes()),
            (":path", path.as_str().as_bytes()),
        ];
        let pseudo = pseudo.into_iter().map(|(name, value)| HeaderField {
            name: name.as_bytes(),
            value,
            sensitive: false,
        });
        let fields = regular(request.headers());
        self.encoder.encode(pseudo.chain(fields), &mut block);
        self.write_push_promise(parent, id, &block);

        let mut stream = Stream::new(
            RecvPhase::Done,
            self.peer_initial_window,
            self.local_initial_window,
        );
        stream.state = StreamState::ReservedLocal;
        stream.awaiting_response = true;
        stream.head_request = head_request;
        self.streams.map.insert(id, stream);
        if let Some(page) = self.streams.map.get_mut(&parent) {
            page.pushed = page.pushed.saturating_add(1);
        }
        self.push.next_id += 2;
        self.push.open += 1;
        self.push.total += 1;
        self.stats.streams_pushed += 1;
        Ok(id)
    }

    /// PUSH_PROMISE plus CONTINUATIONs within the client's SETTINGS_MAX_FRAME_SIZE,
    /// contiguous like any header block (§6.10). The first frame carries the
    /// 4-byte promised stream id before its fragment (§6.6).
    fn write_push_promise(&mut self, parent: u32, promised: u32, block: &[u8]) {
        let max = self.peer_max_frame_size as usize;
        let first_len = block.len().min(max - 4);
        let (first, rest) = block.split_at(first_len);
        let mut chunks = rest.chunks(max).peekable();
        let f = if chunks.peek().is_none() {
            flags::END_HEADERS
        } else {
            0
        };
        Head::new(kind::PUSH_PROMISE, f, parent, first.len() as u32 + 4).encode(&mut self.stage);
        self.stage.put_u32(promised);
        self.stage.put_slice(first);
        while let Some(c) = chunks.next() {
            let f = if chunks.peek().is_none() {
                flags::END_HEADERS
            } else {
                0
            };
            Head::new(kind::CONTINUATION, f, parent, c.len() as u32).encode(&mut self.stage);
            self.stage.put_slice(c);
        }
    }

    /// A pushed stream left the table.
    pub(super) fn pushed_stream_closed(&mut self) {
        self.push.open = self.push.open.saturating_sub(1);
    }
}

/// The promised request's regular fields, lowercase as `http` stores them.
fn regular(headers: &HeaderMap) -> impl Iterator<Item = HeaderField<'_>> {
    headers
        .iter()
        .filter(|(n, _)| !skipped(n.as_str()))
        .map(|(n, v)| HeaderField {
            name: n.as_str().as_bytes(),
            value: v.as_bytes(),
            sensitive: v.is_sensitive(),
        })
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
