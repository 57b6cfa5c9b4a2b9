//! The HTTP/2 server connection: a sans-IO state machine over one byte stream
//! (RFC 9113), in the same shape as [`H1Conn`](crate::proto::h1::H1Conn).
//!
//! Methods fall into getters, `handle_*` inputs, commands and `poll_*` outputs. After
//! every input or command the driver:
//! 1. drains [`H2Conn::poll_event`], answering each `Request` / `Reject` with
//!    [`H2Conn::send_response`] (at any time and in any order: streams are independent);
//! 2. writes what [`H2Conn::poll_transmit`] returns (an [`OutQueue`] of in-memory
//!    chunks and file regions), calling `advance` for what went out and
//!    `poll_transmit` again for more: DATA frames are produced lazily, as flow-control
//!    windows and the output bound allow, so a file body is never read into memory by
//!    the engine and a stream holds at most its window of queued output;
//! 3. calls [`H2Conn::handle_output_drained`] when the queue is empty;
//! 4. re-arms its timer from [`H2Conn::poll_timeout`] and its read interest from
//!    [`H2Conn::wants_read`]; closes the socket once [`H2Conn::is_closed`].
//!
//! ```text
//!  Preface ──24 bytes──► FirstSettings ──SETTINGS──► Open ──error / idle / shutdown──► Closing
//!     └──── bad preface, timeout ─────────────────────────────────────────────────────┘
//! ```
//! A file body is queued as a 9-byte DATA frame header (in memory) followed by a
//! [`Chunk::File`](crate::proto::out::Chunk::File) region of at most one frame: the
//! driver gathers many frames into one write, with the regions' bytes sent from a
//! mapping of the file (plain TCP) or `pread` into one run of TLS records.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, StatusCode};

use super::delivered::Delivered;
use crate::limits::{Http2Limits, H2_SCRATCH_RELEASE_AFTER, H2_STAGE_KEEP};
use crate::proto::out::OutQueue;
use crate::proto::{Phase as ProgressPhase, Progress, Stamp};
use crate::service::{Body, FileRegion, PreEncoded, Response};

use super::error::{ConnError, ErrorCode, StreamError};
use super::flood::{Flood, Kind};
use super::frame::head::{flags, kind};
use super::frame::settings::{id as setting, MAX_WINDOW};
use super::frame::{
    Continuation, Data, Frame, FrameError, FrameReader, GoAway, Head, Headers, Ping, PrioritySpec,
    RstStream, Settings, WindowUpdate,
};
use super::hpack;
use super::request::{check_trailers, Fields};
use super::response;
use super::streams::flow_control::{RecvWindow, SendWindow};
use super::streams::prioritize::{self, Candidate};
use super::streams::state::StreamState;
use super::streams::{Closed, RecvPhase, SendBody, Stream, Streams};
use crate::proto::RequestMemo;

/// How a header block's fields were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoded {
    /// Decoded now, every field handed over.
    Fresh,
    /// Decoded now, over SETTINGS_MAX_HEADER_LIST_SIZE: the request is refused.
    TooLarge,
    /// The previous block's fields, reused: this block repeated it octet for octet.
    Repeated,
}

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The RFC's initial window and frame size, in force until our SETTINGS are acked.
const DEFAULT_WINDOW: u32 = 65_535;
const DEFAULT_MAX_FRAME: u32 = 16_384;
/// Opaque data of the PING that measures the round trip of a graceful shutdown.
const SHUTDOWN_PING: [u8; 8] = *b"carbon-g";
/// Stream id of the first GOAWAY of a graceful shutdown (RFC 9113 §6.8).
const GOAWAY_ALL: u32 = (1 << 31) - 1;
/// RFC 9218 §7.1 frame type.
const PRIORITY_UPDATE: u8 = 0x10;
/// Bodies at most this long are copied next to their frame header (one chunk);
/// longer ones are queued as their own chunk without a copy.
const COPY_BODY_MAX: u64 = 1024;
/// The header-block scratch buffer is kept between responses up to this capacity.
const MAX_KEPT_BLOCK_BUF: usize = 4096;

/// What the engine hands the driver. Every event names its stream.
#[derive(Debug)]
pub enum Event {
    /// A complete, valid request (RFC 9113 §8). Answer with [`H2Conn::send_response`].
    /// Boxed from the moment its HEADERS arrive (the event queue, the engine wrapper
    /// and the driver then move a pointer, not the request's 250 octets, each time),
    /// or shared with the streams whose header block was the same ([`Delivered`]).
    Request { stream_id: u32, request: Delivered },
    /// A request refused with a status (413 body too large, 431 header list too large,
    /// 408 not complete in time): answer with [`H2Conn::send_response`] and an error
    /// response of that status.
    Reject { stream_id: u32, status: StatusCode },
    /// The client reset a stream whose request was delivered: its response, if not
    /// sent yet, is no longer wanted (`send_response` on it is ignored).
    StreamReset { stream_id: u32, code: ErrorCode },
}

/// Counters for the driver's statistics (RFC 9113 §5.4 outcomes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct H2Stats {
    pub streams_opened: u64,
    /// Refused with REFUSED_STREAM (over SETTINGS_MAX_CONCURRENT_STREAMS).
    pub streams_refused: u64,
    /// Reset by the client's RST_STREAM.
    pub streams_reset_by_peer: u64,
    /// Reset by us with an error code (stream errors), REFUSED_STREAM not included.
    pub streams_reset_by_us: u64,
    /// Error code of the last GOAWAY sent (NO_ERROR for shutdown and idle), if any.
    pub goaway_sent: Option<ErrorCode>,
    /// Streams promised with PUSH_PROMISE (server push, RFC 9113 §8.4).
    pub streams_pushed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Bytes of the client preface matched so far.
    Preface(usize),
    /// The first frame must be SETTINGS (RFC 9113 §3.4).
    FirstSettings,
    Open,
    /// Nothing more is read; closed once the output is drained.
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    None,
    /// First GOAWAY and a PING sent; the final GOAWAY follows the PING ACK.
    PingSent {
        deadline: Instant,
    },
    /// The final GOAWAY was sent: no stream above `goaway_last_id` is served.
    Final,
}

/// A header block spread over HEADERS and CONTINUATION frames (RFC 9113 §6.10).
#[derive(Debug)]
struct PendingBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<PrioritySpec>,
    block: Vec<u8>,
    continuations: u32,
}

/// An HTTP/2 server connection. See the module documentation for the driving loop.
#[derive(Debug)]
pub struct H2Conn {
    limits: Http2Limits,
    phase: Phase,
    reader: FrameReader,
    out: OutQueue,
    /// Small frames gathered before they join `out` as one chunk: every frame of a
    /// loop turn (all the responses answered in it, small bodies included) goes out
    /// as one chunk, so one `writev` element or one run of full TLS records.
    stage: BytesMut,
    /// The staging buffer's capacity when its last frames were taken (at most
    /// [`H2_STAGE_KEEP`]): a turn that starts with nothing staged reserves this much
    /// first, so its frames are never copied into a grown buffer.
    stage_cap: usize,
    /// Scratch for encoding one response's header block, kept between responses so
    /// a response costs no allocation for it.
    block_buf: Vec<u8>,
    /// The last response sent as a run, while the encoder can send its block again
    /// ([`response::RepeatKey`]).
    last_response: Option<response::RepeatKey>,
    /// The address of the last response's template (compared only, never followed).
    last_template: Option<usize>,
    events: VecDeque<Event>,
    streams: Streams,
    decoder: hpack::Decoder,
    /// Scratch for the decoded fields of one header block, kept between blocks so a
    /// request costs no allocation per field.
    fields: Fields,
    /// The previous request's fields, validated and converted ([`RequestMemo`]).
    request_memo: RequestMemo,
    /// Header blocks whose fields were reused (`Fields::are_decoding_of`).
    #[cfg(test)]
    pub(super) blocks_reused: usize,
    encoder: hpack::Encoder,
    pending_block: Option<PendingBlock>,
    peer_initial_window: u32,
    peer_max_frame_size: u32,
    /// The largest DATA payload we produce, within the peer's maximum: the driver
    /// sizes frames so that whole frames fill its writes ([`H2Conn::set_data_frame_target`]).
    data_frame_target: u32,
    peer_enable_push: bool,
    conn_send: SendWindow,
    conn_recv: RecvWindow,
    /// Our SETTINGS await their ACK since then.
    settings_sent: Option<Instant>,
    /// The initial stream window in force on our side (the RFC's until our SETTINGS
    /// are acknowledged, RFC 9113 §6.5.3).
    local_initial_window: u32,
    created: Instant,
    idle_since: Instant,
    flood: Flood,
    shutdown: Shutdown,
    goaway_last_id: Option<u32>,
    peer_goaway: bool,
    read_closed: bool,
    /// Output was queued since the last `handle_output_drained`.
    output_since_drain: bool,
    rr_cursor: u32,
    /// Since when responses have waited for window with nothing sendable.
    stall_since: Option<Instant>,
    stats: H2Stats,
    /// We advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
    connect_protocol: bool,
    push: push::PushState,
    /// Answered streams that left the table, with the body bytes framed for each.
    finished: VecDeque<(u32, u64)>,
}

#[path = "push.rs"]
mod push;
pub use push::NoPush;

impl H2Conn {
    /// A new server connection. Our SETTINGS (and a connection WINDOW_UPDATE) are
    /// queued at once: the server preface may go out before the client's arrives.
    pub fn new(limits: Http2Limits, now: Instant) -> Self {
        Self::build(limits, now, false)
    }

    fn build(limits: Http2Limits, now: Instant, connect_protocol: bool) -> Self {
        let mut c = H2Conn {
            decoder: hpack::Decoder::new(4096),
            fields: Fields::default(),
            request_memo: RequestMemo::default(),
            #[cfg(test)]
            blocks_reused: 0,
            encoder: hpack::Encoder::new(),
            phase: Phase::Preface(0),
            reader: FrameReader::new(),
            out: OutQueue::new(),
            stage: BytesMut::new(),
            stage_cap: 0,
            block_buf: Vec::new(),
            last_response: None,
            last_template: None,
            events: VecDeque::new(),
            streams: Streams::default(),
            pending_block: None,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame_size: DEFAULT_MAX_FRAME,
            data_frame_target: u32::MAX,
            peer_enable_push: true,
            conn_send: SendWindow::new(DEFAULT_WINDOW),
            conn_recv: RecvWindow::new(limits.connection_window_size.max(DEFAULT_WINDOW)),
            settings_sent: Some(now),
            local_initial_window: DEFAULT_WINDOW,
            created: now,
            idle_since: now,
            flood: Flood::new(now, &limits),
            shutdown: Shutdown::None,
            goaway_last_id: None,
            peer_goaway: false,
            read_closed: false,
            output_since_drain: true,
            rr_cursor: 0,
            stall_since: None,
            stats: H2Stats::default(),
            connect_protocol,
            push: push::PushState::default(),
            finished: VecDeque::new(),
            limits,
        };
        let l = &c.limits;
        Settings {
            ack: false,
            params: vec![
                (setting::MAX_CONCURRENT_STREAMS, l.max_concurrent_streams),
                (
                    setting::INITIAL_WINDOW_SIZE,
                    l.initial_window_size.min(MAX_WINDOW),
                ),
                (setting::MAX_FRAME_SIZE, l.max_frame_size),
                (setting::MAX_HEADER_LIST_SIZE, l.max_header_list_size),
                (setting::HEADER_TABLE_SIZE, l.header_table_size),
            ]
            .into_iter()
            .chain(connect_protocol.then_some((setting::ENABLE_CONNECT_PROTOCOL, 1)))
            .collect(),
        }
        .encode(&mut c.stage);
        if let Some(inc) = c.limits.connection_window_size.checked_sub(DEFAULT_WINDOW) {
            if inc > 0 {
                WindowUpdate {
                    stream_id: 0,
                    increment: inc.min(MAX_WINDOW),
                }
                .encode(&mut c.stage);
            }
        }
        c
    }

    // ----- getters -----

    pub fn stats(&self) -> &H2Stats {
        &self.stats
    }

    /// Streams open or half-closed (requests being received or answered).
    pub fn open_streams(&self) -> usize {
        self.streams.map.len()
    }

    /// Response body bytes framed so far for a stream still open (its final count
    /// comes from [`H2Conn::poll_stream_finished`]).
    pub fn stream_body_sent(&self, stream_id: u32) -> Option<u64> {
        self.streams.map.get(&stream_id).map(|s| s.body_sent)
    }

    /// Body bytes framed so far for every answered stream still open.
    pub fn answered_body_sent(&self) -> u64 {
        self.streams
            .map
            .values()
            .filter(|s| s.responded)
            .map(|s| s.body_sent)
            .sum()
    }

    /// Past the preface and no shutdown begun: new streams are still accepted.
    pub fn accepts_streams(&self) -> bool {
        self.phase == Phase::Open && self.shutdown == Shutdown::None && !self.peer_goaway
    }

    /// The client's SETTINGS_ENABLE_PUSH (server push is allowed only when true).
    pub fn peer_enable_push(&self) -> bool {
        self.peer_enable_push
    }

    /// False = backpressure: stop reading until output drained. After a connection
    /// error input is discarded, so reading on is harmless (and avoids a TCP reset
    /// destroying the GOAWAY, as for HTTP/1.1's lingering close).
    pub fn wants_read(&self) -> bool {
        match self.phase {
            Phase::Closing => true,
            _ => {
                !self.read_closed
                    && self.out.mem_bytes() + self.stage.len() <= self.limits.max_output_queued
            }
        }
    }

    /// True once the connection is over and everything queued was handed out: the
    /// driver closes the socket.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closing && self.out.is_empty() && self.stage.is_empty()
    }

    /// True when the connection closes as soon as the output is drained.
    pub fn wants_close_after_flush(&self) -> bool {
        self.phase == Phase::Closing
    }

    /// Where the connection stands, for the driver's connection-slot policy: the
    /// preface not yet received counts as a head still to come; no stream and
    /// nothing to send is idle; streams that are all still receiving their request
    /// are a body upload; anything else is being answered.
    pub fn progress(&self) -> Progress {
        let (phase, since, received) = match self.phase {
            Phase::Preface(n) => (ProgressPhase::Head, self.created, n as u64),
            Phase::FirstSettings => (ProgressPhase::Head, self.created, PREFACE.len() as u64),
            Phase::Closing => (ProgressPhase::Responding, self.idle_since, 0),
            Phase::Open if self.is_idle() => (ProgressPhase::Idle, self.idle_since, 0),
            Phase::Open => {
                let uploading = self
                    .streams
                    .map
                    .values()
                    .all(|s| matches!(s.recv, RecvPhase::Body { .. }));
                if uploading && !self.streams.map.is_empty() {
                    let received = self.streams.map.values().map(|s| s.buffered() as u64).sum();
                    (ProgressPhase::Body, self.idle_since, received)
                } else {
                    (ProgressPhase::Responding, self.idle_since, 0)
                }
            }
        };
        Progress {
            phase,
            since,
            received,
        }
    }

    /// No stream and nothing to send: a graceful stop loses nothing.
    pub fn is_idle(&self) -> bool {
        self.streams.map.is_empty() && self.out.is_empty() && self.stage.is_empty()
    }

    /// DATA frames carry at most `payload` octets from now on (at least 1; never more
    /// than the peer's SETTINGS_MAX_FRAME_SIZE either). The driver uses it so that a
    /// frame header and its payload fill one TLS record exactly, and a write takes
    /// whole frames: over TLS a frame split across two writes costs a second `pread`
    /// of its file region.
    pub fn set_data_frame_target(&mut self, payload: u32) {
        self.data_frame_target = payload.max(1);
    }

    /// Staging, header-block, stream-table, request-memo or HPACK run memory kept for
    /// the next busy turn ([`H2_SCRATCH_RELEASE_AFTER`]).
    pub fn holds_scratch(&self) -> bool {
        self.stage.capacity() > 0
            || self.block_buf.capacity() > 0
            || self.streams.map.capacity() > 0
            || !self.request_memo.is_empty()
            || self.fields.holds_memory()
            || self.encoder.holds_scratch()
            || self.last_response.is_some()
    }

    /// An extended CONNECT tunnel (RFC 8441) is open: a stream that may live, idle,
    /// as long as the connection.
    pub fn has_tunnel(&self) -> bool {
        self.streams.map.values().any(|s| s.tunnel.is_some())
    }

    /// The next deadline; call [`H2Conn::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ack = self
            .settings_sent
            .map(|t| t + self.limits.settings_ack_timeout);
        let mut next = ack;
        let mut add = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        match self.phase {
            Phase::Closing => return None,
            Phase::Preface(_) | Phase::FirstSettings => {
                add(Some(self.created + self.limits.preface_timeout));
            }
            Phase::Open => {
                if let Shutdown::PingSent { deadline } = self.shutdown {
                    add(Some(deadline));
                }
                if self.is_idle() {
                    add(Some(self.idle_since + self.limits.idle_timeout));
                    if self.holds_scratch() {
                        add(Some(self.idle_since + H2_SCRATCH_RELEASE_AFTER));
                    }
                }
                add(self
                    .stall_since
                    .map(|t| t + self.limits.window_stall_timeout));
                for s in self.streams.map.values() {
                    add(s.deadline());
                }
            }
        }
        next
    }

    // ----- inputs -----

    /// Feed bytes read from the peer; all are taken (a partial frame is buffered).
    pub fn handle_input(&mut self, now: Instant, mut data: &[u8]) {
        if self.phase == Phase::Closing || self.read_closed {
            return;
        }
        if let Phase::Preface(n) = self.phase {
            let take = (PREFACE.len() - n).min(data.len());
            if data[..take] != PREFACE[n..n + take] {
                self.conn_error(ConnError::protocol("invalid connection preface"));
                return;
            }
            data = &data[take..];
            self.phase = if n + take == PREFACE.len() {
                Phase::FirstSettings
            } else {
                Phase::Preface(n + take)
            };
        }
        if !data.is_empty() {
            self.reader.push(data);
        }
        if self.stage.is_empty() && self.stage.capacity() < self.stage_cap {
            // Nothing staged: reserving copies nothing, and once the previous turn's
            // octets are written it reuses their allocation.
            self.stage.reserve(self.stage_cap);
        }
        while self.phase != Phase::Closing && !matches!(self.phase, Phase::Preface(_)) {
            let r = match self.reader.next_frame(self.limits.max_frame_size) {
                Ok(None) => break,
                Ok(Some(frame)) => self.handle_frame(now, frame),
                Err(FrameError::Connection(e)) => Err(e),
                Err(FrameError::Stream(e)) => self.stream_error(now, e),
            };
            if let Err(e) = r {
                self.conn_error(e);
            }
        }
        self.after_work(now);
    }

    /// The peer closed its sending side. Requests not complete are dropped; those
    /// being answered finish, then the connection closes.
    pub fn handle_read_closed(&mut self, now: Instant) {
        self.read_closed = true;
        self.pending_block = None;
        self.reader.clear();
        let incomplete: Vec<u32> = self
            .streams
            .map
            .iter()
            // A tunnel that already sent END_STREAM waits for the client's, which
            // can no longer come (RFC 8441 §6).
            .filter(|(_, s)| {
                matches!(s.recv, RecvPhase::Body { .. })
                    || s.tunnel.as_ref().is_some_and(|t| t.linger.is_some())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in incomplete {
            self.remove_stream(now, id, Closed::Other);
        }
        self.maybe_finish();
        // Responses blocked on the window are dropped by `fill_data`, then GOAWAY.
        self.after_work(now);
    }

    /// The driver wrote the last queued byte: the idle timer (or, when responses
    /// wait for window, the stall timer) starts now. More DATA may be queued: call
    /// [`H2Conn::poll_transmit`] again.
    pub fn handle_output_drained(&mut self, now: Instant) {
        if std::mem::take(&mut self.output_since_drain) && self.is_idle() {
            self.idle_since = now;
        }
        self.after_work(now);
    }

    /// Spurious calls (early, or with no timer) are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Closing => return,
            Phase::Preface(_) | Phase::FirstSettings => {
                if now >= self.created + self.limits.preface_timeout {
                    log::debug!("h2: no client preface in time");
                    self.enter_closing();
                    return;
                }
            }
            Phase::Open => {}
        }
        if let Some(t) = self.settings_sent {
            if now >= t + self.limits.settings_ack_timeout {
                self.conn_error(ConnError::new(
                    ErrorCode::SETTINGS_TIMEOUT,
                    "SETTINGS not acknowledged in time",
                ));
                return;
            }
        }
        if self.phase != Phase::Open {
            return;
        }
        if let Shutdown::PingSent { deadline } = self.shutdown {
            if now >= deadline {
                self.final_goaway();
            }
        }
        if self.is_idle() && now >= self.idle_since + H2_SCRATCH_RELEASE_AFTER {
            self.stage = BytesMut::new();
            self.block_buf = Vec::new();
            self.streams.map = super::streams::StreamMap::default();
            self.request_memo = RequestMemo::default();
            self.fields = Fields::default();
            self.encoder.release_scratch();
            self.last_response = None;
        }
        let expired: Vec<u32> = self
            .streams
            .map
            .iter()
            .filter(|(_, s)| s.deadline().is_some_and(|d| now >= d))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if self.expire_tunnel(now, id) {
                continue;
            }
            // RFC 9110 §15.5.9: the request did not arrive in time.
            self.reject(id, StatusCode::REQUEST_TIMEOUT);
        }
        if self
            .stall_since
            .is_some_and(|t| now >= t + self.limits.window_stall_timeout)
        {
            log::debug!("h2: responses stalled on the client's flow-control window");
            self.goaway(
                self.streams.last_client_id,
                ErrorCode::NO_ERROR,
                "flow-control stall",
            );
            self.enter_closing();
            return;
        }
        if self.is_idle() && now >= self.idle_since + self.limits.idle_timeout {
            self.goaway(self.last_processed(), ErrorCode::NO_ERROR, "idle");
            self.enter_closing();
        }
        self.after_work(now);
    }

    // ----- outputs -----

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A stream whose response was handed to [`H2Conn::send_response`] is over
    /// (complete, reset by either side, or the connection closing): its id and the
    /// body bytes framed into DATA for it, which is what the client was sent, to the
    /// frame (RFC 9113 §6.4: a reset stops the DATA not yet produced). Poll after
    /// every `poll_transmit`, which is where bodies complete. A response for a
    /// stream already gone is reported at once with 0 bytes.
    pub fn poll_stream_finished(&mut self) -> Option<(u32, u64)> {
        self.finished.pop_front()
    }

    /// The output queue, topped up with DATA frames as windows and the output bound
    /// (`max_output_queued`, file regions included) allow. Drain it with
    /// `front`/`iter`/`advance` and call again for more.
    pub fn poll_transmit(&mut self, now: Instant) -> &mut OutQueue {
        self.fill_data(now);
        self.flush_stage();
        &mut self.out
    }

    /// The output queue as it is, without producing DATA frames: for `advance` after
    /// bytes left (small frames staged since are appended first).
    pub fn out(&mut self) -> &mut OutQueue {
        self.flush_stage();
        &mut self.out
    }

    /// True when nothing is queued for the peer (DATA frames not produced yet aside:
    /// [`H2Conn::poll_transmit`] makes them).
    pub fn out_is_empty(&self) -> bool {
        self.out.is_empty() && self.stage.is_empty()
    }

    /// True when [`H2Conn::poll_transmit`] could produce output: something is queued,
    /// or a response body waits and both windows have room.
    pub fn has_output(&self) -> bool {
        !self.out_is_empty()
            || (self.phase != Phase::Closing
                && self.conn_send.available() > 0
                && self
                    .streams
                    .map
                    .values()
                    .any(|s| s.body.is_some() && s.send_window.available() > 0))
    }

    // ----- commands -----

    /// The response to a `Request` or `Reject` event of stream `stream_id`. Ignored if
    /// the stream is gone (reset by the client, connection closing).
    pub fn send_response(&mut self, now: Instant, stream_id: u32, resp: Response) {
        self.send_response_stamped(now, stream_id, resp, None, None);
    }

    /// [`Self::send_response`], with the fields the service kept aside sent first
    /// ([`PreEncoded`]), and `date` and `server` after the response's own fields
    /// ([`Stamp`]).
    pub fn send_response_stamped(
        &mut self,
        now: Instant,
        stream_id: u32,
        mut resp: Response,
        pre: Option<PreEncoded>,
        stamp: Option<Stamp<'_>>,
    ) {
        if self.phase == Phase::Closing {
            self.finished.push_back((stream_id, 0));
            return;
        }
        let Some(s) = self.streams.map.get_mut(&stream_id) else {
            log::debug!("h2: response for stream {stream_id} which is gone; dropped");
            self.finished.push_back((stream_id, 0));
            return;
        };
        if !s.awaiting_response {
            log::error!("h2: second response for stream {stream_id}; ignored");
            return;
        }
        s.awaiting_response = false;
        s.responded = true;
        s.state = s.state.send_headers();
        if s.tunnel.is_some() {
            if Self::opens_tunnel(resp.status()) {
                // The tunnel's answer goes out from its map alone.
                if let Some(p) = pre {
                    crate::service::merge_pre_encoded(&mut resp, p);
                }
                if let Some(st) = stamp {
                    let h = resp.headers_mut();
                    h.insert(http::header::DATE, st.date.clone());
                    h.insert(http::header::SERVER, st.server.clone());
                }
                return self.accept_tunnel(now, stream_id, resp);
            }
            s.tunnel = None;
        }
        let mut enc = response::prepare(resp, pre, s.head_request, stamp);
        let body = SendBody::from_body(std::mem::replace(&mut enc.body, Body::Empty));
        let end_stream = body.is_none();
        s.body = body;
        let mut block = std::mem::take(&mut self.block_buf);
        // The same response as the last one (a poller's, a load generator's): its
        // block again, when encoding it changed nothing and nothing changed since.
        let repeated = self.last_response.as_ref().is_some_and(|k| k.matches(&enc))
            && self.encoder.repeat_run_block(&mut block);
        if !repeated {
            match enc.with_run() {
                Some((head, run, tail)) => {
                    self.encoder.encode_with_run(head, run, tail, &mut block)
                }
                None => self.encoder.encode(enc.fields(), &mut block),
            }
            // A key is kept only from the second response of a file in a row: a page's
            // files, each once, would pay for keys never used.
            let template = enc.template_addr();
            if self.encoder.last_run_block_kept()
                && template.is_some()
                && template == self.last_template
            {
                response::RepeatKey::refresh(&mut self.last_response, &enc);
            } else {
                self.last_response = None;
            }
            self.last_template = template;
        }
        self.write_header_block(stream_id, &block, end_stream);
        self.recycle_block_buf(block);
        if end_stream {
            self.finish_send(now, stream_id);
        }
        self.after_work(now);
    }

    /// An interim (1xx) response on a stream still awaiting its final response, e.g.
    /// 103 Early Hints (RFC 8297): HEADERS without END_STREAM (RFC 9113 §8.1). Ignored
    /// for a final status, 101 (forbidden in HTTP/2, §8.6), or a stream that is gone.
    pub fn send_informational(&mut self, now: Instant, stream_id: u32, resp: Response) {
        let status = resp.status();
        if self.phase == Phase::Closing
            || !status.is_informational()
            || status == StatusCode::SWITCHING_PROTOCOLS
        {
            return;
        }
        let Some(s) = self.streams.map.get(&stream_id) else {
            return;
        };
        if !s.awaiting_response {
            return;
        }
        let enc = response::prepare(resp, None, s.head_request, None);
        let mut block = std::mem::take(&mut self.block_buf);
        self.encoder.encode(enc.fields(), &mut block);
        self.write_header_block(stream_id, &block, false);
        self.recycle_block_buf(block);
        self.after_work(now);
    }

    /// Graceful stop (RFC 9113 §6.8): GOAWAY with the largest stream id and a PING;
    /// after the PING's round trip (or `shutdown_ping_timeout`), GOAWAY with the last
    /// stream id really accepted. Streams below it finish, then the connection closes.
    pub fn start_shutdown(&mut self, now: Instant) {
        match self.phase {
            Phase::Closing => return,
            Phase::Preface(_) | Phase::FirstSettings => {
                self.enter_closing();
                return;
            }
            Phase::Open => {}
        }
        if self.shutdown == Shutdown::None {
            self.goaway(GOAWAY_ALL, ErrorCode::NO_ERROR, "");
            Ping {
                ack: false,
                opaque: SHUTDOWN_PING,
            }
            .encode(&mut self.stage);
            self.shutdown = Shutdown::PingSent {
                deadline: now + self.limits.shutdown_ping_timeout,
            };
        }
        self.after_work(now);
    }

    // ----- frames -----

    fn handle_frame(&mut self, now: Instant, frame: Frame) -> Result<(), ConnError> {
        if self.pending_block.is_some() {
            // §6.10: nothing may come between HEADERS and its last CONTINUATION.
            return match frame {
                Frame::Continuation(c) => self.on_continuation(now, c),
                _ => Err(ConnError::protocol("frame interleaved in a header block")),
            };
        }
        if self.phase == Phase::FirstSettings {
            match &frame {
                Frame::Settings(s) if !s.ack => self.phase = Phase::Open,
                _ => return Err(ConnError::protocol("first frame is not SETTINGS")),
            }
        }
        match frame {
            Frame::Data(d) => self.on_data(now, d),
            Frame::Headers(h) => self.on_headers(now, h),
            Frame::Priority(_) => self.count(now, Kind::Priority),
            Frame::RstStream(r) => self.on_rst_stream(now, r),
            Frame::Settings(s) => self.on_settings(now, s),
            // §8.4: a client cannot push.
            Frame::PushPromise(_) => Err(ConnError::protocol("PUSH_PROMISE from a client")),
            Frame::Ping(p) => self.on_ping(now, p),
            Frame::GoAway(g) => {
                log::debug!("h2: client GOAWAY {} last {}", g.code, g.last_stream_id);
                self.peer_goaway = true;
                self.maybe_finish();
                Ok(())
            }
            Frame::WindowUpdate(w) => self.on_window_update(now, w),
            Frame::Continuation(_) => Err(ConnError::protocol("CONTINUATION without HEADERS")),
            // RFC 9218 §7.1 PRIORITY_UPDATE (browsers send many): not applied, but
            // counted with PRIORITY frames rather than as unknown frames.
            Frame::Unknown(h) if h.kind == PRIORITY_UPDATE => self.count(now, Kind::Priority),
            Frame::Unknown(_) => self.count(now, Kind::Empty),
        }
    }

    fn count(&mut self, now: Instant, kind: Kind) -> Result<(), ConnError> {
        if self.flood.count(now, kind, &self.limits) {
            Ok(())
        } else {
            Err(ConnError::new(
                ErrorCode::ENHANCE_YOUR_CALM,
                match kind {
                    Kind::Reset => "too many stream resets",
                    Kind::Settings => "SETTINGS flood",
                    Kind::Ping => "PING flood",
                    Kind::Priority => "PRIORITY flood",
                    Kind::Empty => "empty frame flood",
                    Kind::WindowUpdate => "WINDOW_UPDATE flood",
                },
            ))
        }
    }

    /// Odd stream ids above the highest opened one, and even ones we have not
    /// promised (server push), are idle.
    fn is_idle_id(&self, id: u32) -> bool {
        if id.is_multiple_of(2) {
            return !self.push.promised(id);
        }
        id > self.streams.last_client_id
    }

    fn on_settings(&mut self, now: Instant, s: Settings) -> Result<(), ConnError> {
        if s.ack {
            if self.settings_sent.take().is_some() {
                self.apply_local_settings();
            }
            return Ok(());
        }
        self.count(now, Kind::Settings)?;
        for (ident, value) in s.params {
            match ident {
                setting::HEADER_TABLE_SIZE => self.encoder.set_max_table_size(value as usize),
                setting::ENABLE_PUSH => self.peer_enable_push = value == 1,
                setting::INITIAL_WINDOW_SIZE => {
                    // §6.9.2: the change applies to every open stream, and may make
                    // a window negative; above 2^31-1 is FLOW_CONTROL_ERROR.
                    let delta = i64::from(value) - i64::from(self.peer_initial_window);
                    for st in self.streams.map.values_mut() {
                        st.send_window.adjust(delta).map_err(|_| {
                            ConnError::new(
                                ErrorCode::FLOW_CONTROL_ERROR,
                                "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window",
                            )
                        })?;
                    }
                    self.peer_initial_window = value;
                }
                setting::MAX_FRAME_SIZE => self.peer_max_frame_size = value,
                // §5.1.2: the streams we may open, i.e. pushes.
                setting::MAX_CONCURRENT_STREAMS => self.push.peer_max_concurrent = value,
                // MAX_HEADER_LIST_SIZE is advisory (§6.5.2) and our responses are small.
                _ => {}
            }
        }
        Settings {
            ack: true,
            params: Vec::new(),
        }
        .encode(&mut self.stage);
        Ok(())
    }

    /// Our SETTINGS were acknowledged: they are now in force (§6.5.3).
    fn apply_local_settings(&mut self) {
        self.decoder
            .set_max_table_size(self.limits.header_table_size as usize);
        let new = self.limits.initial_window_size.min(MAX_WINDOW);
        let delta = i64::from(new) - i64::from(self.local_initial_window);
        for st in self.streams.map.values_mut() {
            st.recv_window.adjust(delta, new);
        }
        self.local_initial_window = new;
    }

    fn on_ping(&mut self, now: Instant, p: Ping) -> Result<(), ConnError> {
        if p.ack {
            if p.opaque == SHUTDOWN_PING && matches!(self.shutdown, Shutdown::PingSent { .. }) {
                self.final_goaway();
            }
            return Ok(());
        }
        self.count(now, Kind::Ping)?;
        Ping {
            ack: true,
            opaque: p.opaque,
        }
        .encode(&mut self.stage);
        Ok(())
    }

    fn on_window_update(&mut self, now: Instant, w: WindowUpdate) -> Result<(), ConnError> {
        self.count(now, Kind::WindowUpdate)?;
        if w.stream_id == 0 {
            return self.conn_send.increase(w.increment).map_err(|_| {
                ConnError::new(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "connection window above 2^31-1",
                )
            });
        }
        if self.is_idle_id(w.stream_id) {
            return Err(ConnError::protocol("WINDOW_UPDATE on an idle stream"));
        }
        let Some(s) = self.streams.map.get_mut(&w.stream_id) else {
            // §5.1: allowed shortly after we closed the stream; ignored.
            return Ok(());
        };
        if s.send_window.increase(w.increment).is_err() {
            return self.stream_error(
                now,
                StreamError::new(
                    w.stream_id,
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "stream window above 2^31-1",
                ),
            );
        }
        Ok(())
    }

    fn on_rst_stream(&mut self, now: Instant, r: RstStream) -> Result<(), ConnError> {
        if self.is_idle_id(r.stream_id) {
            return Err(ConnError::protocol("RST_STREAM on an idle stream"));
        }
        // CVE-2023-44487: every reset costs the peer nothing and us a stream. A
        // refused push (even id, §8.4.2) is a stream we opened: not counted.
        if !r.stream_id.is_multiple_of(2) {
            self.count(now, Kind::Reset)?;
        }
        if let Some(s) = self.streams.map.get(&r.stream_id) {
            if s.awaiting_response || s.responded {
                self.events.push_back(Event::StreamReset {
                    stream_id: r.stream_id,
                    code: r.code,
                });
            }
            self.stats.streams_reset_by_peer += 1;
            self.remove_stream(now, r.stream_id, Closed::Other);
        }
        Ok(())
    }

    fn on_data(&mut self, now: Instant, d: Data) -> Result<(), ConnError> {
        // §6.9: the whole frame counts against the connection window, whatever
        // happens to the stream; we consume it at once (buffered or dropped).
        self.conn_recv.recv(d.flow_len).map_err(|_| {
            ConnError::new(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window",
            )
        })?;
        self.conn_recv.consumed(d.flow_len);
        if let Some(inc) = self.conn_recv.take_update() {
            WindowUpdate {
                stream_id: 0,
                increment: inc,
            }
            .encode(&mut self.stage);
        }
        if d.data.is_empty() && !d.end_stream {
            self.count(now, Kind::Empty)?;
        }
        let id = d.stream_id;
        if self.is_idle_id(id) {
            return Err(ConnError::protocol("DATA on an idle stream"));
        }
        let Some(s) = self.streams.map.get_mut(&id) else {
            return match self.streams.closed_how(id) {
                Some(Closed::ResetByUs) => Ok(()),
                _ => Err(ConnError::new(
                    ErrorCode::STREAM_CLOSED,
                    "DATA on a closed stream",
                )),
            };
        };
        if s.state == StreamState::ReservedLocal {
            // §5.1: only RST_STREAM, PRIORITY or WINDOW_UPDATE on reserved(local).
            return Err(ConnError::protocol("DATA on a reserved stream"));
        }
        if !s.state.can_recv() {
            return self.stream_error(
                now,
                StreamError::new(id, ErrorCode::STREAM_CLOSED, "DATA after END_STREAM"),
            );
        }
        s.recv_window.recv(d.flow_len).map_err(|_| {
            ConnError::new(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the stream window",
            )
        })?;
        if let Some(t) = s.tunnel.as_mut() {
            // RFC 8441 §5: the payload is the tunnel's; its window is given back as
            // it is read (`tunnel_read`), padding at once.
            s.recv_window.consumed(d.flow_len - d.data.len() as u32);
            t.push_input(d.data);
            if d.end_stream {
                return self.recv_end_stream(now, id);
            }
            return Ok(());
        }
        s.recv_window.consumed(d.flow_len);
        let mut over_body_limit = false;
        if let RecvPhase::Body {
            body,
            content_length,
            ..
        } = &mut s.recv
        {
            let total = body.len() as u64 + d.data.len() as u64;
            if content_length.is_some_and(|cl| total > cl) {
                return self.malformed(now, id, "more DATA than content-length");
            }
            if total > self.limits.max_request_body as u64 {
                over_body_limit = true;
            } else {
                body.extend_from_slice(&d.data);
            }
        }
        if over_body_limit {
            self.reject(id, StatusCode::PAYLOAD_TOO_LARGE);
        }
        if d.end_stream {
            return self.recv_end_stream(now, id);
        }
        self.grant_stream_window(id);
        Ok(())
    }

    /// Gives a stream back the window its consumed DATA used, while its body is still
    /// wanted and the connection's buffered bodies stay under their bound.
    fn grant_stream_window(&mut self, id: u32) {
        let buffered = self.streams.buffered();
        let Some(s) = self.streams.map.get_mut(&id) else {
            return;
        };
        let RecvPhase::Body { body, .. } = &s.recv else {
            return;
        };
        let room = self.limits.max_request_body as i64 - body.len() as i64;
        if buffered >= self.limits.max_buffered_bodies || s.recv_window.window() >= room {
            return;
        }
        if let Some(inc) = s.recv_window.take_update() {
            WindowUpdate {
                stream_id: id,
                increment: inc,
            }
            .encode(&mut self.stage);
        }
    }

    fn on_headers(&mut self, now: Instant, h: Headers) -> Result<(), ConnError> {
        if h.fragment.is_empty() {
            // CVE-2019-9518: HEADERS with nothing in them.
            self.count(now, Kind::Empty)?;
        }
        if h.stream_id.is_multiple_of(2) {
            return Err(ConnError::protocol("HEADERS on an even stream id"));
        }
        if h.fragment.len() > self.limits.max_header_block_size {
            return Err(ConnError::new(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block too large",
            ));
        }
        if h.end_headers {
            return self.on_header_block(now, h.stream_id, h.end_stream, h.priority, &h.fragment);
        }
        self.pending_block = Some(PendingBlock {
            stream_id: h.stream_id,
            end_stream: h.end_stream,
            priority: h.priority,
            block: h.fragment.to_vec(),
            continuations: 0,
        });
        Ok(())
    }

    fn on_continuation(&mut self, now: Instant, c: Continuation) -> Result<(), ConnError> {
        let Some(mut pb) = self.pending_block.take() else {
            return Err(ConnError::protocol("CONTINUATION without HEADERS"));
        };
        if c.stream_id != pb.stream_id {
            return Err(ConnError::protocol("CONTINUATION on another stream"));
        }
        if c.fragment.is_empty() && !c.end_headers {
            self.count(now, Kind::Empty)?;
        }
        pb.continuations += 1;
        // CVE-2024-27316: the block is bounded in frames and in bytes.
        if pb.continuations > self.limits.max_continuation_frames
            || pb.block.len() + c.fragment.len() > self.limits.max_header_block_size
        {
            return Err(ConnError::new(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block too large or in too many CONTINUATION frames",
            ));
        }
        pb.block.extend_from_slice(&c.fragment);
        if c.end_headers {
            return self.on_header_block(now, pb.stream_id, pb.end_stream, pb.priority, &pb.block);
        }
        self.pending_block = Some(pb);
        Ok(())
    }

    /// A complete header block. It is always decoded, whatever happens to its stream,
    /// so the HPACK table stays in sync (RFC 9113 §4.3).
    fn on_header_block(
        &mut self,
        now: Instant,
        id: u32,
        end_stream: bool,
        priority: Option<PrioritySpec>,
        block: &[u8],
    ) -> Result<(), ConnError> {
        let mut fields = std::mem::take(&mut self.fields);
        let generation = self.decoder.generation();
        let result = if fields.are_decoding_of(block, generation) {
            #[cfg(test)]
            {
                self.blocks_reused += 1;
            }
            self.on_decoded_block(
                now,
                id,
                end_stream,
                priority,
                Decoded::Repeated,
                &mut fields,
            )
        } else {
            fields.clear();
            self.decode_block(block, &mut fields).and_then(|too_large| {
                if !too_large && self.decoder.generation() == generation {
                    fields.remember_block(block, generation);
                }
                let decoded = if too_large {
                    Decoded::TooLarge
                } else {
                    Decoded::Fresh
                };
                self.on_decoded_block(now, id, end_stream, priority, decoded, &mut fields)
            })
        };
        self.fields = fields;
        result
    }

    /// Decodes `block` into `fields`; true when the list was over
    /// SETTINGS_MAX_HEADER_LIST_SIZE (a stream error: the request is refused).
    fn decode_block(&mut self, block: &[u8], fields: &mut Fields) -> Result<bool, ConnError> {
        match self
            .decoder
            .decode(block, self.limits.max_header_list_size as usize, &mut |f| {
                fields.push(f.name, f.value)
            }) {
            Ok(()) => Ok(false),
            Err(e) if e.is_connection_error() => {
                log::debug!("h2: {e}");
                Err(ConnError::new(
                    ErrorCode::COMPRESSION_ERROR,
                    "header block cannot be decoded",
                ))
            }
            Err(_) => Ok(true),
        }
    }

    fn on_decoded_block(
        &mut self,
        now: Instant,
        id: u32,
        end_stream: bool,
        priority: Option<PrioritySpec>,
        decoded: Decoded,
        fields: &mut Fields,
    ) -> Result<(), ConnError> {
        let too_large = decoded == Decoded::TooLarge;
        if self.streams.map.contains_key(&id) {
            return self.on_trailers(now, id, end_stream, too_large, fields);
        }
        if id <= self.streams.last_client_id {
            return match self.streams.closed_how(id) {
                Some(Closed::ResetByUs) => Ok(()),
                Some(Closed::Other) => Err(ConnError::new(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS on a closed stream",
                )),
                // §5.1.1: stream ids must increase.
                None => Err(ConnError::protocol("stream id not above the previous one")),
            };
        }
        self.streams.last_client_id = id;
        if self.goaway_last_id.is_some_and(|last| id > last) {
            // §6.8: streams opened after our final GOAWAY are ignored.
            return Ok(());
        }
        if let Some(p) = priority {
            if p.dependency == id {
                return self.stream_error(
                    now,
                    StreamError::new(id, ErrorCode::PROTOCOL_ERROR, "stream depends on itself"),
                );
            }
        }
        // Our pushed streams count against the client's limit, not ours (§5.1.2).
        let client_streams = self.streams.map.len().saturating_sub(self.push.open);
        if client_streams >= self.limits.max_concurrent_streams as usize {
            // §5.1.2: over SETTINGS_MAX_CONCURRENT_STREAMS.
            self.stats.streams_refused += 1;
            RstStream {
                stream_id: id,
                code: ErrorCode::REFUSED_STREAM,
            }
            .encode(&mut self.stage);
            self.streams.remember_closed(id, Closed::ResetByUs);
            return self.count(now, Kind::Reset);
        }
        self.stats.streams_opened += 1;
        let mut stream = Stream::new(
            RecvPhase::Done,
            self.peer_initial_window,
            self.local_initial_window,
        );
        if too_large {
            self.streams.map.insert(id, stream);
            self.reject(id, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            if end_stream {
                return self.recv_end_stream(now, id);
            }
            return Ok(());
        }
        let head = match fields.request_head(&mut self.request_memo, decoded == Decoded::Repeated) {
            Ok(h) => h,
            Err(why) => {
                self.streams.map.insert(id, stream);
                return self.malformed(now, id, why);
            }
        };
        if head.protocol.is_some() {
            return self.open_tunnel(now, id, stream, head, end_stream);
        }
        stream.head_request = head.request.method() == Method::HEAD;
        stream.priority = head.priority;
        stream.recv = RecvPhase::Body {
            head: head.request,
            body: Vec::new(),
            content_length: head.content_length,
            deadline: now + self.limits.request_timeout,
        };
        self.streams.map.insert(id, stream);
        if end_stream {
            return self.recv_end_stream(now, id);
        }
        Ok(())
    }

    /// A second header block on an open stream: trailers (RFC 9113 §8.1), which must
    /// end the stream. They are checked and dropped (the request type has no trailers).
    fn on_trailers(
        &mut self,
        now: Instant,
        id: u32,
        end_stream: bool,
        too_large: bool,
        fields: &Fields,
    ) -> Result<(), ConnError> {
        let Some(s) = self.streams.map.get(&id) else {
            return Ok(());
        };
        if !s.state.can_recv() {
            return self.stream_error(
                now,
                StreamError::new(id, ErrorCode::STREAM_CLOSED, "HEADERS after END_STREAM"),
            );
        }
        if !end_stream {
            return self.malformed(now, id, "trailers without END_STREAM");
        }
        if too_large {
            self.reject(id, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        } else if let Err(why) = check_trailers(fields) {
            return self.malformed(now, id, why);
        }
        self.recv_end_stream(now, id)
    }

    /// The client ended its side of `id`: deliver the request if it is still wanted.
    fn recv_end_stream(&mut self, now: Instant, id: u32) -> Result<(), ConnError> {
        let Some(s) = self.streams.map.get_mut(&id) else {
            return Ok(());
        };
        let Some(next) = s.state.recv_end_stream() else {
            self.remove_stream(now, id, Closed::Other);
            return Ok(());
        };
        s.state = next;
        if let Some(t) = s.tunnel.as_mut() {
            t.recv_fin = true;
        }
        if let RecvPhase::Body {
            body,
            content_length,
            ..
        } = &s.recv
        {
            // §8.1.1: content-length must match the DATA received.
            if content_length.is_some_and(|cl| cl != body.len() as u64) {
                return self.malformed(now, id, "DATA shorter than content-length");
            }
            if let RecvPhase::Body { head, body, .. } =
                std::mem::replace(&mut s.recv, RecvPhase::Done)
            {
                let mut request = head;
                if !body.is_empty() {
                    *request.make_mut().body_mut() = Bytes::from(body);
                }
                s.awaiting_response = true;
                self.events.push_back(Event::Request {
                    stream_id: id,
                    request,
                });
            }
        }
        Ok(())
    }

    /// Refuse the request of `id` with a status: its DATA is dropped from now on.
    fn reject(&mut self, id: u32, status: StatusCode) {
        let Some(s) = self.streams.map.get_mut(&id) else {
            return;
        };
        if s.awaiting_response || s.responded {
            return;
        }
        s.recv = RecvPhase::Done;
        s.awaiting_response = true;
        self.events.push_back(Event::Reject {
            stream_id: id,
            status,
        });
    }

    /// §8.1.1: a malformed request is a stream error PROTOCOL_ERROR.
    fn malformed(&mut self, now: Instant, id: u32, why: &'static str) -> Result<(), ConnError> {
        self.stream_error(now, StreamError::new(id, ErrorCode::PROTOCOL_ERROR, why))
    }

    /// Resets one stream. A stream error on an idle stream cannot be answered with
    /// RST_STREAM (§5.1: not on idle streams), so it becomes a connection error with
    /// the same code: the only place a stream error turns into a connection error.
    fn stream_error(&mut self, now: Instant, e: StreamError) -> Result<(), ConnError> {
        if self.is_idle_id(e.id) {
            return Err(ConnError::new(e.code, e.reason));
        }
        log::debug!("h2: {e}");
        RstStream {
            stream_id: e.id,
            code: e.code,
        }
        .encode(&mut self.stage);
        self.stats.streams_reset_by_us += 1;
        if let Some(s) = self.streams.map.get(&e.id) {
            if s.awaiting_response {
                self.events.push_back(Event::StreamReset {
                    stream_id: e.id,
                    code: e.code,
                });
            }
        }
        self.remove_stream(now, e.id, Closed::ResetByUs);
        // CVE-2025-8671 (MadeYouReset): resets the client provokes count like its own.
        self.count(now, Kind::Reset)
    }

    fn remove_stream(&mut self, now: Instant, id: u32, how: Closed) {
        if let Some(s) = self.streams.map.remove(&id) {
            if s.responded {
                self.finished.push_back((id, s.body_sent));
            }
            if id.is_multiple_of(2) {
                self.pushed_stream_closed();
            }
            self.streams.remember_closed(id, how);
            if self.streams.map.is_empty() {
                // The table's allocation is kept for the next requests, and given back
                // with the other scratch memory once the connection stays idle.
                self.idle_since = now;
            }
        } else if how == Closed::ResetByUs {
            self.streams.remember_closed(id, how);
        }
        self.maybe_finish();
    }

    // ----- output -----

    /// Queues a header block as HEADERS plus CONTINUATIONs within the client's
    /// SETTINGS_MAX_FRAME_SIZE (§4.3: contiguous, nothing in between).
    fn write_header_block(&mut self, id: u32, block: &[u8], end_stream: bool) {
        let max = self.peer_max_frame_size as usize;
        let mut chunks = block.chunks(max).peekable();
        let first = chunks.next().unwrap_or(&[]);
        let mut f = if end_stream { flags::END_STREAM } else { 0 };
        if chunks.peek().is_none() {
            f |= flags::END_HEADERS;
        }
        Head::new(kind::HEADERS, f, id, first.len() as u32).encode(&mut self.stage);
        self.stage.put_slice(first);
        while let Some(c) = chunks.next() {
            let f = if chunks.peek().is_none() {
                flags::END_HEADERS
            } else {
                0
            };
            Head::new(kind::CONTINUATION, f, id, c.len() as u32).encode(&mut self.stage);
            self.stage.put_slice(c);
        }
    }

    /// Produces DATA frames: stream by stream as the scheduler picks them, never past
    /// a window (§6.9.1) and never past `max_output_queued` queued in total.
    fn fill_data(&mut self, now: Instant) {
        if self.phase == Phase::Closing {
            return;
        }
        let sent = self.produce_data(now);
        if self.read_closed {
            self.drop_window_blocked(now);
            if self.phase == Phase::Closing {
                return;
            }
        }
        // The scan for waiting responses only when nothing was sent (a turn that sent
        // is not stalled): it walks the whole stream table.
        if sent > 0 || !self.streams.map.values().any(|s| s.body.is_some()) {
            self.stall_since = None;
        } else if self.out.is_empty() && self.stage.is_empty() && self.stall_since.is_none() {
            // Responses wait and nothing at all is on its way: only a window
            // update can help, and the client may never send one.
            self.stall_since = Some(now);
        }
    }

    /// RFC 9113 §6.9: only WINDOW_UPDATE frames open a window, and none can arrive
    /// after the client's FIN, so a response waiting on a closed stream or
    /// connection window can never finish. Its stream is dropped (what fit the
    /// window was sent); the last one gone lets `maybe_finish` send GOAWAY and close
    /// instead of lingering until `window_stall_timeout`.
    fn drop_window_blocked(&mut self, now: Instant) {
        let conn_open = self.conn_send.available() > 0;
        let blocked: Vec<u32> = self
            .streams
            .map
            .iter()
            .filter(|(_, s)| s.body.is_some() && (!conn_open || s.send_window.available() == 0))
            .map(|(id, _)| *id)
            .collect();
        for id in blocked {
            log::debug!("h2: stream {id} waits on a window the closed client cannot open");
            self.remove_stream(now, id, Closed::Other);
        }
    }

    /// The DATA frame loop of [`H2Conn::fill_data`]; returns the frames produced.
    fn produce_data(&mut self, now: Instant) -> usize {
        let mut sent = 0;
        loop {
            if self.out.total() + self.stage.len() as u64 >= self.limits.max_output_queued as u64 {
                return sent;
            }
            let conn_avail = self.conn_send.available();
            if conn_avail == 0 {
                return sent;
            }
            let mut candidates = 0;
            let cands = self.streams.map.iter().filter_map(|(id, s)| {
                if s.body.is_none() || s.send_window.available() == 0 {
                    return None;
                }
                candidates += 1;
                Some(Candidate {
                    id: *id,
                    priority: s.priority,
                })
            });
            let Some(id) = prioritize::pick(cands, self.rr_cursor) else {
                return sent;
            };
            self.rr_cursor = id;
            let max_frame = u64::from(self.peer_max_frame_size.min(self.data_frame_target));
            let Some(s) = self.streams.map.get_mut(&id) else {
                return sent;
            };
            let Some(body) = s.body.as_mut() else {
                return sent;
            };
            sent += 1;
            let n = body
                .remaining()
                .min(s.send_window.available())
                .min(conn_avail)
                .min(max_frame);
            let last = n == body.remaining();
            // A tunnel's body is its queued output so far (RFC 8441 §5): END_STREAM
            // only once the tunnel was finished and nothing more is queued.
            let end = last
                && s.tunnel
                    .as_ref()
                    .is_none_or(|t| t.send_fin && t.output_is_empty());
            Data::head(id, n as u32, end).encode(&mut self.stage);
            match body {
                SendBody::Bytes(b) => {
                    let part = b.split_to(n as usize);
                    if n <= COPY_BODY_MAX {
                        self.stage.put_slice(&part);
                    } else {
                        let staged = take_staged(&mut self.stage, &mut self.stage_cap);
                        self.out.push_bytes(staged);
                        self.out.push_bytes(part);
                    }
                }
                SendBody::File(f) => {
                    let region = FileRegion {
                        file: f.file.clone(),
                        offset: f.offset,
                        len: n,
                    };
                    f.offset += n;
                    f.len -= n;
                    let staged = take_staged(&mut self.stage, &mut self.stage_cap);
                    self.out.push_bytes(staged);
                    self.out.push_file(region);
                }
            }
            s.send_window.consume(n);
            s.body_sent += n;
            self.conn_send.consume(n);
            self.flood.data_sent(now, &self.limits);
            if last {
                s.body = s
                    .tunnel
                    .as_mut()
                    .and_then(|t| t.next_output())
                    .map(SendBody::Bytes);
            }
            let more = s.body.is_some() && s.send_window.available() > 0;
            if end {
                self.finish_send(now, id);
            }
            // The only candidate is done or out of window: another scan of the table
            // would find none (responses answered one by one each end here).
            if candidates == 1 && !more {
                return sent;
            }
        }
    }

    /// We sent END_STREAM on `id`.
    fn finish_send(&mut self, now: Instant, id: u32) {
        let Some(s) = self.streams.map.get_mut(&id) else {
            return;
        };
        match s.state.send_end_stream() {
            None => self.remove_stream(now, id, Closed::Other),
            Some(next) if self.linger_tunnel(now, id, next) => {}
            Some(StreamState::HalfClosedLocal) | Some(_) => {
                // §8.1: the response is complete before the request; ask the client
                // to stop sending without error. Not counted as a reset.
                RstStream {
                    stream_id: id,
                    code: ErrorCode::NO_ERROR,
                }
                .encode(&mut self.stage);
                self.remove_stream(now, id, Closed::ResetByUs);
            }
        }
    }

    fn flush_stage(&mut self) {
        if !self.out.is_empty() {
            self.output_since_drain = true;
        }
        if !self.stage.is_empty() {
            self.output_since_drain = true;
            let staged = take_staged(&mut self.stage, &mut self.stage_cap);
            self.out.push_bytes(staged);
        }
    }

    /// Frames stay staged until the driver asks for them (`poll_transmit`, `out`),
    /// so the responses of one loop turn leave together.
    fn after_work(&mut self, now: Instant) {
        self.fill_data(now);
    }

    fn recycle_block_buf(&mut self, mut block: Vec<u8>) {
        block.clear();
        // A rare huge header block does not stay allocated for the connection's life.
        if block.capacity() <= MAX_KEPT_BLOCK_BUF {
            self.block_buf = block;
        }
    }

    fn goaway(&mut self, last: u32, code: ErrorCode, debug: &'static str) {
        GoAway {
            last_stream_id: last,
            code,
            debug: Bytes::from_static(debug.as_bytes()),
        }
        .encode(&mut self.stage);
        self.stats.goaway_sent = Some(code);
    }

    /// The stream id a GOAWAY names: the highest one processed, and never above one
    /// named before (RFC 9113 §6.8: successive GOAWAYs must not increase it).
    fn last_processed(&self) -> u32 {
        let last = self.streams.last_client_id;
        self.goaway_last_id.map_or(last, |g| g.min(last))
    }

    fn final_goaway(&mut self) {
        let last = self.streams.last_client_id;
        self.goaway(last, ErrorCode::NO_ERROR, "");
        self.goaway_last_id = Some(last);
        self.shutdown = Shutdown::Final;
        self.maybe_finish();
    }

    /// Closes once no stream is left and no new one can come.
    fn maybe_finish(&mut self) {
        let no_more = self.shutdown == Shutdown::Final || self.peer_goaway || self.read_closed;
        if no_more && self.streams.map.is_empty() && self.phase != Phase::Closing {
            if self.stats.goaway_sent.is_none() {
                // §6.8: say goodbye before closing, even when the client left first.
                self.goaway(self.last_processed(), ErrorCode::NO_ERROR, "");
            }
            self.enter_closing();
        }
    }

    /// GOAWAY with the last stream processed (§5.4.1), then close after the flush.
    fn conn_error(&mut self, e: ConnError) {
        if self.phase == Phase::Closing {
            return;
        }
        log::debug!("h2: {e}");
        self.goaway(self.last_processed(), e.code, e.reason);
        // Requests not answered yet can no longer be.
        self.events.clear();
        self.enter_closing();
    }

    fn enter_closing(&mut self) {
        self.phase = Phase::Closing;
        for (id, s) in &self.streams.map {
            if s.responded {
                self.finished.push_back((*id, s.body_sent));
            }
        }
        self.streams.map.clear();
        self.push.open = 0;
        self.pending_block = None;
        self.reader.clear();
        self.flush_stage();
    }
}

#[path = "extended_connect.rs"]
mod extended_connect;
pub use extended_connect::Protocol;

/// The frames staged so far, frozen for the output queue. The staging buffer keeps
/// its allocation (up to [`H2_STAGE_KEEP`]) and `kept_cap` remembers its size: once
/// the queued octets are written and dropped, the next turn's frames reuse the same
/// memory instead of growing a fresh buffer by doublings (and copies) each turn.
fn take_staged(stage: &mut BytesMut, kept_cap: &mut usize) -> Bytes {
    let cap = stage.capacity();
    if cap > H2_STAGE_KEEP {
        *kept_cap = 0;
        std::mem::take(stage).freeze()
    } else {
        *kept_cap = (*kept_cap).max(cap);
        stage.split().freeze()
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
