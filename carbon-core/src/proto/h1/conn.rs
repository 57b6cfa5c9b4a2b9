//! The HTTP/1.1 server connection: a sans-IO state machine over one byte stream.
//!
//! It owns the input buffer, the request being received, the output queue and the
//! timers of one connection. It reads no socket and no clock: the driver feeds it bytes
//! and the current time and drains [`OutQueue`].
//!
//! One request is outstanding at a time (RFC 9112 §9.3.2 pipelining): the next one is
//! parsed only after the driver answered the current one with
//! [`H1Conn::send_response`], so responses leave in request order by construction.
//!
//! ```text
//!            bytes      head done (a body follows)
//!  ┌──────► Head ───────────► HeadDone ──poll_event──► Deciding ──send_response──► Closing
//!  │          │                                      (Event::Head)   │ (early answer)
//!  │          │                                                      │ any other call
//!  │          │                                                      ▼       body done
//!  │          │                                                     Body ────────────► Ready
//!  │          │  (no body) ──────────────────────────────────────────────────────────►  │
//!  │          └── limit, malformed, timeout ──► Reject ──poll_event──┐          poll_event
//!  │                                                                 ▼                 ▼
//!  └──────────────────── keep-alive ◄──── send_response ◄──── Responding ◄─────────────┘
//!                                                       close ──► Closing ──(out empty)──► closed
//! ```
//!
//! Early answers: once the head of a request with a body is parsed, the engine stops
//! and hands out [`Event::Head`]. A driver that can already refuse the request
//! whatever its body holds (a method the resource does not allow, a client over its
//! rate) answers with [`H1Conn::send_response`] right away: the response goes out
//! with `Connection: close`, the body is never awaited (nor `100 Continue` sent), and
//! the driver discards what still arrives with its bounded lingering close. Any other
//! call (the next `poll_event`, more input) reads the body as usual.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Version};

use crate::limits::{Limits, Timeouts};
use crate::proto::out::OutQueue;
use crate::proto::{Phase, Progress};
use crate::service::{PreEncoded, Request, Response};

use super::chunked::ChunkedDecoder;
use super::encode::{continue_100, encode_response, response_wants_close, ConnectionField};
use super::error::{Rejection, RequestError};
use super::parse::{parse_head, BodyFraming, ParsedHead};
use super::scan::{HeadScanner, Scan};
use crate::proto::Stamp;

use crate::limits::H1_DRIVER_READ_SLACK as DRIVER_READ_SLACK;
use crate::limits::H1_INITIAL_BODY_CAPACITY as INITIAL_BODY_CAPACITY;
use crate::limits::H1_PIPELINE_READ_PAUSE as PIPELINE_READ_PAUSE;

/// What the engine hands the driver.
// The request is moved out once per exchange; boxing it would add an allocation
// per request for no memory saving (events are never stored in bulk).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A complete request (head + fully received, de-chunked, bounded body). Answer it
    /// with [`H1Conn::send_response`].
    Request(Request),
    /// The request was malformed or exceeded a limit. The driver answers it by calling
    /// [`H1Conn::send_response`] with an error response of `status`; the engine then
    /// closes the connection after that response is flushed. The reason and what was
    /// read of the request are there for the access log and the statistics.
    Reject(Rejection),
    /// The head of a request with a body is parsed ([`H1Conn::request_head`]) and the
    /// body not read yet. Answer it now with [`H1Conn::send_response`] to refuse it
    /// without reading the body (the connection then closes), or carry on (call
    /// `poll_event` again): the request arrives as [`Event::Request`] once complete.
    Head,
}

/// What the engine remembers about a request until its response is sent.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    /// RFC 9110 §9.3.2: the response to HEAD has no body.
    head_request: bool,
    keep_alive: bool,
    http10: bool,
}

/// Body reception in progress. Boxed in [`State`] so an idle connection stays small.
#[derive(Debug)]
struct BodyState {
    request: http::Request<()>,
    exchange: Exchange,
    decoder: BodyDecoder,
    body: Vec<u8>,
    /// RFC 9110 §10.1.1: `100 Continue` is sent once the request is accepted.
    expect_continue: bool,
    /// End of the head: when body reception began.
    started: Instant,
    /// The whole body must have arrived by then: request_body_timeout from the end of
    /// the head. A deadline per read would let a client sending one byte now and then
    /// hold the connection forever (slow POST).
    deadline: Instant,
}

#[derive(Debug)]
enum BodyDecoder {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
}

#[derive(Debug)]
enum State {
    /// Between requests or inside a request head.
    Head,
    Body(Box<BodyState>),
    /// The head of a request with a body waits for `poll_event` ([`Event::Head`]).
    HeadDone(Box<BodyState>),
    /// [`Event::Head`] was handed out: `send_response` answers early, anything else
    /// moves on to [`State::Body`].
    Deciding(Box<BodyState>),
    /// A complete request waits for `poll_event`.
    Ready(Box<Request>, Exchange),
    /// A rejection waits for `poll_event`.
    Reject(Box<Rejection>),
    /// An event was handed out; its response is awaited. `None`: a rejection.
    Responding(Option<Exchange>),
    /// Nothing more is read or answered; closed once the output is drained.
    Closing,
    /// A `101 Switching Protocols` was queued: HTTP/1.1 is over on this connection,
    /// and the bytes after the request head belong to the new protocol (RFC 9110
    /// §15.2.2). Nothing is parsed; the driver takes the unparsed input with
    /// [`H1Conn::take_upgraded_input`] and hands the connection to another engine.
    Upgraded,
}

/// An HTTP/1.1 server connection. Methods fall into getters, `handle_*` inputs,
/// commands and `poll_*` outputs; after every input or command, the driver drains
/// [`H1Conn::poll_event`], answers each event, writes [`H1Conn::out`], and re-arms its
/// timer from [`H1Conn::poll_timeout`].
#[derive(Debug)]
pub struct H1Conn {
    limits: Limits,
    request_header_timeout: Duration,
    request_body_timeout: Duration,
    keep_alive_timeout: Duration,
    out: OutQueue,
    /// Bytes received but not processed yet: a partial head, or pipelined requests
    /// while one is outstanding. Empty (and unallocated) on an idle connection.
    input: Vec<u8>,
    scan: HeadScanner,
    state: State,
    /// Since when the connection has had nothing to do: creation, or the last
    /// response queued.
    idle_since: Instant,
    /// First byte of the request head being received.
    head_started: Option<Instant>,
    requests_served: u64,
    /// The port also takes HTTP/2 with prior knowledge (`expect_h2_prior_knowledge`).
    h2c_port: bool,
    read_closed: bool,
    shutdown: bool,
    /// The driver kept feeding pipelined input past every bound: buffered input was
    /// dropped, so the connection closes after the outstanding response.
    overflowed: bool,
}

impl H1Conn {
    pub fn new(limits: Limits, timeouts: Timeouts, now: Instant) -> Self {
        H1Conn {
            limits,
            request_header_timeout: timeouts.request_header,
            request_body_timeout: timeouts.request_body,
            keep_alive_timeout: timeouts.keep_alive,
            out: OutQueue::new(),
            input: Vec::new(),
            scan: HeadScanner::default(),
            state: State::Head,
            idle_since: now,
            head_started: None,
            requests_served: 0,
            h2c_port: false,
            read_closed: false,
            shutdown: false,
            overflowed: false,
        }
    }

    // ----- getters -----

    /// Responses sent to complete requests (rejections not counted).
    pub fn requests_served(&self) -> u64 {
        self.requests_served
    }

    /// False = backpressure: the driver stops reading until it turns true again (after
    /// a `send_response` or after output drained).
    pub fn wants_read(&self) -> bool {
        if self.read_closed || self.out.mem_bytes() > self.limits.max_output_queued {
            return false;
        }
        match self.state {
            State::Head | State::Body(_) | State::Deciding(_) => true,
            // One event at a time: the head waits for `poll_event`.
            State::HeadDone(_) => false,
            State::Ready(..) | State::Responding(Some(_)) => self.input.len() < PIPELINE_READ_PAUSE,
            // Input is discarded here. Reading on until the close avoids a TCP reset
            // that could destroy the response before the client reads it (RFC 9112
            // §9.6: close in stages).
            State::Reject(_) | State::Responding(None) | State::Closing => true,
            // The next engine reads.
            State::Upgraded => false,
        }
    }

    /// True once a 101 was queued and the connection belongs to another protocol.
    pub fn is_upgraded(&self) -> bool {
        matches!(self.state, State::Upgraded)
    }

    /// The head of the request announced by [`Event::Head`], until it is answered or
    /// its body is read on.
    pub fn request_head(&self) -> Option<&http::Request<()>> {
        match &self.state {
            State::Deciding(b) => Some(&b.request),
            _ => None,
        }
    }

    /// Where the connection stands, for the driver's slot policy.
    pub fn progress(&self) -> Progress {
        let (phase, since, received) = match &self.state {
            State::Head if !self.out.is_empty() => (Phase::Responding, self.idle_since, 0),
            // A fresh connection that has sent nothing is a request head still to
            // come (a slowloris opens connections and waits), not an idle one.
            State::Head if self.is_between_requests() && self.requests_served > 0 => {
                (Phase::Idle, self.idle_since, 0)
            }
            State::Head => (
                Phase::Head,
                self.head_started.unwrap_or(self.idle_since),
                self.input.len() as u64,
            ),
            State::Body(b) | State::HeadDone(b) | State::Deciding(b) => (
                Phase::Body,
                b.started,
                (b.body.len() + self.input.len()) as u64,
            ),
            State::Ready(..)
            | State::Reject(_)
            | State::Responding(_)
            | State::Closing
            | State::Upgraded => (Phase::Responding, self.idle_since, 0),
        };
        Progress {
            phase,
            since,
            received,
        }
    }

    /// True once the connection must be closed and all output has been drained: the
    /// driver closes the socket.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closing) && self.out.is_empty()
    }

    /// True when the connection closes as soon as [`H1Conn::out`] is empty.
    pub fn wants_close_after_flush(&self) -> bool {
        matches!(self.state, State::Closing)
    }

    /// Between requests with nothing buffered and nothing to send: a graceful shutdown
    /// may close it without cutting anything off.
    pub fn is_idle(&self) -> bool {
        self.is_between_requests() && self.out.is_empty()
    }

    /// The next deadline, if a timer runs. Call [`H1Conn::handle_timeout`] at that time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            // While a response is still being written the idle and head timers wait:
            // the driver's write-stall timer covers that time, and a long download
            // must not use up the keep-alive time of the request after it.
            State::Head if !self.out.is_empty() => None,
            State::Head => Some(match self.head_started {
                Some(t) => t + self.request_header_timeout,
                // A fresh connection must send its first request as fast as any
                // request head, so it gets the (shorter) header timeout rather than
                // the keep-alive one.
                None if self.requests_served == 0 => self.idle_since + self.request_header_timeout,
                None => self.idle_since + self.keep_alive_timeout,
            }),
            State::Body(b) | State::HeadDone(b) | State::Deciding(b) => Some(b.deadline),
            // No timer while the service works; the driver watches write stalls.
            _ => None,
        }
    }

    // ----- inputs -----

    /// Feed bytes read from the peer. All of them are taken: what cannot be processed
    /// yet is buffered, within the limits.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if data.is_empty() || self.read_closed {
            return;
        }
        // More input instead of an early answer: the body is wanted.
        self.resume_body();
        match self.state {
            State::Head | State::Body(_) => {
                if self.input.is_empty() {
                    // Fast path: parse straight from the driver's buffer and copy only
                    // what is left over.
                    let n = self.process(now, data);
                    match self.state {
                        State::Head | State::Body(_) | State::HeadDone(_) => {
                            self.input.extend_from_slice(&data[n..])
                        }
                        State::Ready(..) => self.buffer_pipelined(&data[n..]),
                        _ => {}
                    }
                } else {
                    self.input.extend_from_slice(data);
                    self.process_buffered(now);
                }
            }
            // A driver feeding input before polling the head: kept (bounded) for
            // the body.
            State::HeadDone(_) | State::Ready(..) | State::Responding(Some(_)) => {
                self.buffer_pipelined(data)
            }
            State::Deciding(_) => {}
            // After a rejection or a decision to close, the stream is out of sync or
            // unwanted: the bytes are dropped.
            State::Reject(_) | State::Responding(None) | State::Closing => {}
            // Bytes of the new protocol, kept (bounded) for its engine.
            State::Upgraded => self.buffer_pipelined(data),
        }
    }

    /// The peer sent FIN. A partial request is dropped without response (the peer can
    /// no longer complete it, and RFC 9112 §9.6 lets us just close); an outstanding
    /// request still gets its response, and buffered complete requests are answered.
    pub fn handle_read_closed(&mut self, _now: Instant) {
        self.read_closed = true;
        // Deciding: the driver passed on answering early, so the body (maybe complete
        // in the buffer) is read on. HeadDone: that happens once the head is polled.
        self.resume_body();
        if matches!(self.state, State::Head | State::Body(_)) {
            self.enter_closing();
        }
    }

    /// The driver wrote the last queued byte: the keep-alive (or head) timer starts
    /// now rather than when the response was queued.
    pub fn handle_output_drained(&mut self, now: Instant) {
        if !self.out.is_empty() || !matches!(self.state, State::Head) {
            return;
        }
        self.idle_since = now;
        if self.head_started.is_some() {
            self.head_started = Some(now);
        }
    }

    /// Spurious calls (before the deadline, or with no timer) are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        match self.state {
            // RFC 9110 §15.5.9: 408 for a request that did not arrive in time.
            State::Head if self.head_started.is_some() => {
                let input = std::mem::take(&mut self.input);
                self.reject(Rejection::from_head(RequestError::Timeout, &input));
            }
            State::Body(_) | State::HeadDone(_) | State::Deciding(_) => {
                self.reject_body(RequestError::Timeout)
            }
            // Keep-alive (or first-request) idle timeout: nothing to answer.
            State::Head => self.enter_closing(),
            _ => {}
        }
    }

    // ----- outputs -----

    /// The next event, if any. Each must be answered with
    /// [`H1Conn::send_response`] before the next one appears.
    pub fn poll_event(&mut self) -> Option<Event> {
        // Polling again after Event::Head, without an early answer: read the body.
        if matches!(self.state, State::Deciding(_)) {
            self.resume_body();
        }
        match std::mem::replace(&mut self.state, State::Closing) {
            State::HeadDone(b) => {
                self.state = State::Deciding(b);
                Some(Event::Head)
            }
            State::Ready(request, exchange) => {
                self.state = State::Responding(Some(exchange));
                Some(Event::Request(*request))
            }
            State::Reject(rejection) => {
                self.state = State::Responding(None);
                Some(Event::Reject(*rejection))
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    /// The output queue; the driver drains it (`front`/`iter`/`advance`).
    pub fn out(&mut self) -> &mut OutQueue {
        &mut self.out
    }

    /// True when nothing is queued for the peer.
    pub fn out_is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// After [`H1Conn::send_response`] queued a 101: the input received after the
    /// upgrade request and not parsed as HTTP (a client may send its first frames
    /// without waiting for the 101). `None` when the connection was not upgraded.
    /// The output queue (the 101 head) stays with this engine and must be flushed
    /// before the new engine's output.
    pub fn take_upgraded_input(&mut self) -> Option<Vec<u8>> {
        self.is_upgraded().then(|| std::mem::take(&mut self.input))
    }

    // ----- commands -----

    /// The response to the event last returned by [`H1Conn::poll_event`]. Must be
    /// called exactly once per event, in order. Buffered pipelined input is processed
    /// right away, so call `poll_event` again afterwards.
    pub fn send_response(&mut self, now: Instant, resp: Response) {
        self.send_response_stamped(now, resp, None, None);
    }

    /// [`Self::send_response`], with the fields the service kept aside written first
    /// ([`PreEncoded`]), and `Date` and `Server` written after the response's own
    /// fields ([`Stamp`]).
    pub fn send_response_stamped(
        &mut self,
        now: Instant,
        resp: Response,
        pre: Option<PreEncoded>,
        stamp: Option<Stamp<'_>>,
    ) {
        if let State::Deciding(b) = &self.state {
            // An early answer: the body was never read, so the stream cannot carry
            // another request.
            encode_response(
                resp,
                pre,
                b.exchange.head_request,
                ConnectionField::Close,
                stamp,
                &mut self.out,
            );
            self.requests_served += 1;
            self.idle_since = now;
            self.enter_closing();
            return;
        }
        let State::Responding(exchange) = self.state else {
            log::error!("h1: send_response without an outstanding event; ignored");
            return;
        };
        let close = match exchange {
            // A rejected stream cannot be resynchronised.
            None => true,
            Some(ex) => {
                !ex.keep_alive
                    || self.shutdown
                    || self.overflowed
                    || response_wants_close(&resp)
                    || (self.read_closed && self.input.is_empty())
            }
        };
        let field = match exchange {
            _ if close => ConnectionField::Close,
            Some(ex) if ex.http10 => ConnectionField::KeepAlive,
            _ => ConnectionField::None,
        };
        let head_request = exchange.is_some_and(|ex| ex.head_request);
        if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
            // RFC 9110 §15.2.2: the protocol changes right after the 101's empty
            // line, so the 101 is the last HTTP/1.1 message. Not for HTTP/1.0 (§7.8:
            // its Upgrade is ignored) nor when pipelined input was already dropped
            // (the new protocol's first bytes would be lost): then the 101 becomes
            // the connection's last response.
            let switch = exchange.is_some_and(|ex| !ex.http10) && !self.overflowed && !close;
            if switch {
                encode_response(
                    resp,
                    pre,
                    false,
                    ConnectionField::Upgrade,
                    stamp,
                    &mut self.out,
                );
                self.requests_served += 1;
                self.idle_since = now;
                self.state = State::Upgraded;
                return;
            }
        }
        encode_response(resp, pre, head_request, field, stamp, &mut self.out);
        if exchange.is_some() {
            self.requests_served += 1;
        }
        self.idle_since = now;
        if close {
            self.enter_closing();
            return;
        }
        self.state = State::Head;
        if !self.input.is_empty() {
            self.process_buffered(now);
        }
        if self.read_closed
            && matches!(
                self.state,
                State::Head | State::Body(_) | State::HeadDone(_)
            )
        {
            // The peer is gone and what it left is not a complete request.
            self.enter_closing();
        }
    }

    /// An interim (1xx) response to the request being answered, before
    /// [`H1Conn::send_response`] (e.g. `103 Early Hints`, RFC 8297). Not sent to an
    /// HTTP/1.0 client, which does not know 1xx (RFC 9110 §15.2), nor after a
    /// rejection; a non-1xx status is ignored.
    pub fn send_informational(&mut self, resp: Response) {
        let State::Responding(Some(ex)) = self.state else {
            return;
        };
        if ex.http10 || !resp.status().is_informational() {
            return;
        }
        encode_response(
            resp,
            None,
            false,
            ConnectionField::None,
            None,
            &mut self.out,
        );
    }

    /// This plain port also takes HTTP/2 with prior knowledge (RFC 9113 §3.3). A
    /// first request line whose last word is not an HTTP-version at all
    /// ([`RequestError::NotHttp`]) is then more likely an HTTP/2 client with a broken
    /// preface than an HTTP/1.1 client: RFC 9113 §3.4 has such a connection closed
    /// (PROTOCOL_ERROR), while RFC 9112 §3 only says an HTTP/1.1 server SHOULD answer
    /// 400. The rejection is reported with `unanswered` set, and the driver closes
    /// without writing a response that neither protocol could read.
    pub fn expect_h2_prior_knowledge(&mut self) {
        self.h2c_port = true;
    }

    /// Ends a connection whose [`Event::Reject`] was `unanswered`: nothing is sent.
    pub fn close_unanswered(&mut self) {
        if matches!(self.state, State::Responding(None)) {
            self.enter_closing();
        }
    }

    /// Graceful stop: an idle connection closes at once; otherwise the current request
    /// is finished, answered with `Connection: close`, and the connection closes.
    pub fn start_shutdown(&mut self) {
        self.shutdown = true;
        if self.is_between_requests() {
            self.enter_closing();
        }
    }

    // ----- internals -----

    fn is_between_requests(&self) -> bool {
        matches!(self.state, State::Head) && self.head_started.is_none() && self.input.is_empty()
    }

    /// Keep input that arrived behind an outstanding request. The driver stops reading
    /// at `PIPELINE_READ_PAUSE`; should it not, the buffer is still bounded: past the
    /// cap the input is dropped and the connection closes after the current response.
    fn buffer_pipelined(&mut self, data: &[u8]) {
        let cap = (self.limits.max_request_line + self.limits.max_headers_size)
            .max(DRIVER_READ_SLACK)
            + DRIVER_READ_SLACK;
        if self.overflowed || data.is_empty() {
            // Already dropping this connection's pipelined input.
        } else if self.input.len() + data.len() > cap {
            log::debug!("h1: pipelined input over {cap} bytes, closing after response");
            self.overflowed = true;
            self.input = Vec::new();
        } else {
            self.input.extend_from_slice(data);
        }
    }

    fn accepts_input(&self) -> bool {
        matches!(
            self.state,
            State::Head | State::Body(_) | State::HeadDone(_) | State::Ready(..)
        )
    }

    /// Leaves [`State::Deciding`] for [`State::Body`]: the request was not answered
    /// early, so its body is read (and `100 Continue` sent if asked for).
    fn resume_body(&mut self) {
        if !matches!(self.state, State::Deciding(_)) {
            return;
        }
        let State::Deciding(b) = std::mem::replace(&mut self.state, State::Closing) else {
            return;
        };
        if b.expect_continue {
            // RFC 9110 §10.1.1: the client may wait for this before sending the body.
            self.out.push_bytes(continue_100());
        }
        let started = b.started;
        self.state = State::Body(b);
        if !self.input.is_empty() {
            // Body bytes that came with the head. Only a head start reads `now`, and
            // processing stops at the end of this body.
            self.process_buffered(started);
        }
        if self.read_closed && matches!(self.state, State::Body(_)) {
            // The peer is gone before its body was complete.
            self.enter_closing();
        }
    }

    /// Process the buffered input and keep what was not consumed.
    fn process_buffered(&mut self, now: Instant) {
        let buf = std::mem::take(&mut self.input);
        let n = self.process(now, &buf);
        if n < buf.len() && self.accepts_input() {
            self.input = buf;
            self.input.drain(..n);
        }
        // Otherwise `buf` is dropped: an idle connection holds no input buffer.
    }

    /// Advance the state machine over `buf`; returns how many bytes were consumed.
    /// Stops at a complete request (the next one waits for its response).
    fn process(&mut self, now: Instant, buf: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            let in_head = matches!(self.state, State::Head);
            let step = match self.state {
                State::Head => self.process_head(now, &buf[pos..]),
                State::Body(_) if pos < buf.len() => self.process_body(&buf[pos..]),
                _ => return pos,
            };
            match step {
                Ok((n, more)) => {
                    pos += n;
                    if !more {
                        return pos;
                    }
                }
                // The head being scanned starts at `pos`: what came before was
                // consumed by earlier requests.
                Err(e) if in_head => {
                    let mut rejection = Rejection::from_head(e, &buf[pos..]);
                    rejection.unanswered =
                        e == RequestError::NotHttp && self.h2c_port && self.requests_served == 0;
                    self.reject(rejection);
                    return buf.len();
                }
                Err(e) => {
                    self.reject_body(e);
                    return buf.len();
                }
            }
        }
    }

    /// Returns bytes consumed and whether processing may continue.
    fn process_head(&mut self, now: Instant, buf: &[u8]) -> Result<(usize, bool), RequestError> {
        match self.scan.scan(buf, &self.limits)? {
            Scan::Incomplete { skip } => {
                if skip < buf.len() && self.head_started.is_none() {
                    self.head_started = Some(now);
                }
                Ok((skip, false))
            }
            Scan::Complete { skip, len, fields } => {
                self.scan = HeadScanner::default();
                self.head_started = None;
                let parsed = parse_head(&buf[skip..skip + len], fields, &self.limits)?;
                self.start_body(now, parsed);
                // A body waits for Event::Head; a complete request for its answer.
                Ok((skip + len, matches!(self.state, State::Body(_))))
            }
        }
    }

    fn start_body(&mut self, now: Instant, parsed: ParsedHead) {
        let ParsedHead {
            request,
            framing,
            expect_continue,
            keep_alive,
        } = parsed;
        let exchange = Exchange {
            head_request: request.method() == Method::HEAD,
            keep_alive,
            http10: request.version() == Version::HTTP_10,
        };
        let (decoder, capacity) = match framing {
            BodyFraming::Length(0) => {
                let request = request.map(|()| Bytes::new());
                self.state = State::Ready(Box::new(request), exchange);
                return;
            }
            BodyFraming::Length(n) => (
                BodyDecoder::Length { remaining: n },
                usize::try_from(n).map_or(INITIAL_BODY_CAPACITY, |n| n.min(INITIAL_BODY_CAPACITY)),
            ),
            BodyFraming::Chunked => (BodyDecoder::Chunked(ChunkedDecoder::new()), 0),
        };
        // The body waits until the driver has seen the head (Event::Head).
        self.state = State::HeadDone(Box::new(BodyState {
            request,
            exchange,
            decoder,
            body: Vec::with_capacity(capacity),
            expect_continue,
            started: now,
            deadline: now + self.request_body_timeout,
        }));
    }

    fn process_body(&mut self, buf: &[u8]) -> Result<(usize, bool), RequestError> {
        let State::Body(b) = &mut self.state else {
            return Ok((0, false));
        };
        let (n, done) = match &mut b.decoder {
            BodyDecoder::Length { remaining } => {
                let take = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                b.body.extend_from_slice(&buf[..take]);
                *remaining -= take as u64;
                (take, *remaining == 0)
            }
            BodyDecoder::Chunked(d) => d.decode(buf, &mut b.body, &self.limits)?,
        };
        if done {
            if let State::Body(b) = std::mem::replace(&mut self.state, State::Closing) {
                let BodyState {
                    request,
                    exchange,
                    body,
                    ..
                } = *b;
                let request = request.map(|()| Bytes::from(body));
                self.state = State::Ready(Box::new(request), exchange);
            }
        }
        Ok((n, done))
    }

    fn reject(&mut self, rejection: Rejection) {
        log::debug!("h1: rejecting request: {}", rejection.reason);
        self.state = State::Reject(Box::new(rejection));
        self.drop_input();
    }

    /// A rejection while the body is received: the head is known.
    fn reject_body(&mut self, e: RequestError) {
        let rejection = match &self.state {
            State::Body(b) | State::HeadDone(b) | State::Deciding(b) => {
                Rejection::from_request(e, &b.request)
            }
            _ => Rejection::from_head(e, &[]),
        };
        self.reject(rejection);
    }

    fn enter_closing(&mut self) {
        self.state = State::Closing;
        self.drop_input();
    }

    fn drop_input(&mut self) {
        self.input = Vec::new();
        self.scan = HeadScanner::default();
        self.head_started = None;
    }

    #[cfg(test)]
    fn input_capacity(&self) -> usize {
        self.input.capacity()
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
