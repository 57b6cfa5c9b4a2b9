//! The WebSocket engine of one connection (server side), after the 101 response.
//!
//! Same shape as the HTTP engines: the driver feeds bytes and the time
//! (`handle_input`, `handle_timeout`, `handle_read_closed`), then takes events
//! (`poll_event`), output (`out`) and the next deadline (`poll_timeout`). Commands
//! (`send_text`, `send_binary`, `send_ping`, `close`, `start_shutdown`) queue frames.
//!
//! Close handshake (RFC 6455 §7): a peer's Close is answered with a Close echoing its
//! code, then the engine is closed (the driver flushes `out` and closes TCP, §7.1.1).
//! After our own Close, data frames are ignored until the peer's Close or
//! `close_timeout`. A protocol violation queues a Close with its code and closes at
//! once (§7.1.7 "Fail the WebSocket Connection"). When messages that arrived before
//! the violation, or before the peer's Close, are still waiting in the event queue,
//! our Close waits for them to be taken (`poll_event`): the handler's answers to
//! them go out first, so the peer sees what it sent before handled in order. Input
//! after the violation or the peer's Close is never looked at.
//!
//! Memory: an idle connection owns no heap buffer. The message buffer exists while a
//! message is being assembled and is handed out with it; the deflate state is created
//! on the first compressed message.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::close::{close_payload, parse_close_payload, CloseCode};
use super::deflate::{DeflateCodec, DeflateParams, INFLATE_STEP};
use super::frame::{
    apply_mask, encode_header, FrameDecoder, FrameHeader, Item, OpCode, MAX_CONTROL_PAYLOAD,
};
use super::message::{Assembler, DataFrame, MessageKind};
use super::utf8::Utf8Validator;
use crate::limits::{WsLimits, WS_RESERVE_AHEAD};
use crate::proto::out::OutQueue;

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Bytes),
}

/// What the engine reports to the driver (and through it to the handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A whole message (buffered mode).
    Message(Message),
    /// Streaming mode ([`WsConn::set_streaming`]): a message begins.
    MessageStart(MessageKind),
    /// Streaming mode: the next piece of the current message, already unmasked,
    /// inflated and (for text) UTF-8-checked so far. A code point may be split
    /// between two chunks.
    MessageChunk(Bytes),
    /// Streaming mode: the current message ended.
    MessageEnd,
    /// The peer's Ping (already answered with a Pong).
    Ping(Bytes),
    /// The peer's Pong.
    Pong(Bytes),
    /// The connection is closing: the peer's code (`None` if it sent none), or the
    /// code we closed with after a violation, a timeout or a shutdown.
    Closed {
        code: Option<CloseCode>,
        reason: String,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Our Close has been sent (or the connection ended): no more data.
    Closed,
    /// The send queue is over twice `max_send_queue`; retry after the output drained.
    QueueFull,
    /// A control payload over 125 bytes (§5.5).
    ControlTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Our Close is queued; waiting for the peer's until the deadline.
    CloseSent {
        deadline: Instant,
    },
    /// Nothing more to read or send: flush `out`, then close the transport.
    Closed,
}

/// Payload being collected for the frame in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    None,
    Control(FrameHeader),
    Data(DataFrame),
    /// Data after our Close (§7.1.1) is read and dropped.
    Ignored,
}

/// One server-side WebSocket connection.
#[derive(Debug)]
pub struct WsConn {
    limits: WsLimits,
    decoder: FrameDecoder,
    assembler: Assembler,
    current: Current,
    state: State,
    /// Message payload being assembled (buffered mode) or the chunk being built
    /// (streaming mode). Empty and unallocated between messages.
    buf: Vec<u8>,
    /// Control frame payload (at most 125 bytes), or compressed bytes of the data
    /// frame in progress before inflation.
    scratch: Vec<u8>,
    /// Message size so far (after inflation), for the limits.
    msg_size: u64,
    utf8: Utf8Validator,
    /// Masking key of the frame in progress (§5.3).
    frame_mask: [u8; 4],
    deflate: Option<Box<DeflateCodec>>,
    streaming: bool,
    out: OutQueue,
    events: VecDeque<WsEvent>,
    last_rx: Instant,
    ping_sent: Option<Instant>,
    /// `WsEvent::Closed` has been queued (it is reported once).
    close_reported: bool,
    /// Input held back while backlogged (at most one read: `wants_read` is false).
    pending: Vec<u8>,
    /// Payload bytes of queued message events not yet taken by `poll_event`.
    undelivered: usize,
    /// Last time a data frame arrived or one was queued (see [`Self::last_data`]).
    last_data: Instant,
    /// A data frame arrived or was queued since `last_data` was last set; the next
    /// call that knows the time sets it (`send_*` is not given the time).
    data_seen: bool,
    /// A violation or the peer's Close arrived while message events were still
    /// queued: what to do once they have been taken (boxed: rare, and an idle
    /// connection stays small).
    deferred: Option<Box<Deferred>>,
    /// Closed after failing the connection or answering the peer's Close: the peer
    /// may still have bytes in flight (§7.1.1), so the transport should drain them
    /// rather than close with unread input (which sends a TCP reset that can destroy
    /// our Close before the peer reads it).
    drain_on_close: bool,
}

impl WsConn {
    /// A connection whose 101 response has been queued. `deflate` is the negotiated
    /// permessage-deflate, if any.
    pub fn new(limits: WsLimits, deflate: Option<DeflateParams>, now: Instant) -> Self {
        WsConn {
            decoder: FrameDecoder::new(deflate.is_some(), limits.max_frame),
            limits,
            assembler: Assembler::default(),
            current: Current::None,
            state: State::Open,
            buf: Vec::new(),
            scratch: Vec::new(),
            msg_size: 0,
            utf8: Utf8Validator::new(),
            frame_mask: [0; 4],
            deflate: deflate.map(|p| Box::new(DeflateCodec::new(p))),
            streaming: false,
            out: OutQueue::new(),
            events: VecDeque::new(),
            last_rx: now,
            ping_sent: None,
            close_reported: false,
            pending: Vec::new(),
            undelivered: 0,
            last_data: now,
            data_seen: false,
            deferred: None,
            drain_on_close: false,
        }
    }

    // ---- getters

    /// Nothing more will be read or sent: flush `out`, then close the transport.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// False while the output queue is over its bound (backpressure) or once closed.
    pub fn wants_read(&self) -> bool {
        self.state != State::Closed
            && self.deferred.is_none()
            && self.pending.is_empty()
            && self.out.mem_bytes() <= self.limits.max_send_queue
    }

    /// Closed in a way that leaves the peer possibly still sending (we failed the
    /// connection, or answered its Close): the transport should shut down its
    /// sending side and drain input briefly instead of closing with unread bytes.
    pub fn drain_on_close(&self) -> bool {
        self.state == State::Closed && self.drain_on_close
    }

    /// Heap bytes this connection holds now (buffers and queued output; the deflate
    /// state is counted as present or not by [`Self::has_deflate_state`]).
    pub fn buffered_bytes(&self) -> usize {
        self.buf.capacity()
            + self.scratch.capacity()
            + self.pending.capacity()
            + self.out.mem_bytes()
    }

    /// Whether zlib state has been allocated (on the first compressed message).
    pub fn has_deflate_state(&self) -> bool {
        self.deflate.as_ref().is_some_and(|d| d.has_state())
    }

    /// When a data frame last arrived or was queued for the peer, as of the last
    /// `handle_*` call. Ping, Pong and Close do not count: they show the peer is
    /// alive, not that the session is used. The driver's slot policy reclaims
    /// long-quiet sessions last of all under pressure (`driver/slots.rs`).
    pub fn last_data(&self) -> Instant {
        self.last_data
    }

    /// The earliest time `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::CloseSent { deadline } => Some(deadline),
            State::Open => Some(match self.ping_sent {
                Some(t) => t + self.limits.pong_timeout,
                None => self.last_rx + self.limits.ping_interval,
            }),
        }
    }

    // ---- commands

    /// Deliver messages as `MessageStart` / `MessageChunk` / `MessageEnd` instead of
    /// whole: large messages need no buffer of their size. Set before input arrives.
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
    }

    /// "no-masking" was negotiated (draft-damjanovic-websockets-nomasking, over TLS
    /// only): client frames come unmasked. Set before input arrives.
    pub fn set_unmasked(&mut self, on: bool) {
        self.decoder.set_unmasked(on);
    }

    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(OpCode::Text, Bytes::copy_from_slice(text.as_bytes()))
    }

    pub fn send_binary(&mut self, data: Bytes) -> Result<(), SendError> {
        self.send_data(OpCode::Binary, data)
    }

    /// A whole message, moved in: a text's bytes go out as they are, where
    /// `send_text` copies them (an echo of 1 MiB texts would copy 1 MiB each).
    pub fn send(&mut self, msg: Message) -> Result<(), SendError> {
        match msg {
            Message::Text(t) => self.send_data(OpCode::Text, Bytes::from(t)),
            Message::Binary(b) => self.send_data(OpCode::Binary, b),
        }
    }

    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        self.push_frame(OpCode::Ping, false, Bytes::copy_from_slice(payload));
        Ok(())
    }

    /// Starts the close handshake with `code` (§7.1.2). A second call is ignored.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) {
        if self.state != State::Open {
            return;
        }
        self.push_frame(
            OpCode::Close,
            false,
            Bytes::from(close_payload(code, reason)),
        );
        self.state = State::CloseSent {
            deadline: now + self.limits.close_timeout,
        };
    }

    /// Server shutdown: Close 1001 "going away" (§7.4.1), so browsers report a clean
    /// close.
    pub fn start_shutdown(&mut self, now: Instant) {
        self.close(now, CloseCode::GOING_AWAY, "server shutting down");
    }

    // ---- input

    /// Feeds bytes read from the transport. All of `data` is taken; what cannot be
    /// processed yet (the send queue plus undelivered messages are over
    /// `max_send_queue`) waits inside and [`Self::wants_read`] turns false until
    /// [`Self::handle_output_drained`] processes it. That holds at most one read.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.deferred.is_some() {
            // §7.1.7, §5.5.1: nothing after a violation or the peer's Close is
            // processed.
            return;
        }
        if !data.is_empty() {
            self.last_rx = now;
            self.ping_sent = None;
        }
        if !self.pending.is_empty() {
            self.pending.extend_from_slice(data);
            self.resume();
            return self.note_data(now);
        }
        let used = self.process(data);
        if used < data.len() && self.state != State::Closed && self.deferred.is_none() {
            self.pending.extend_from_slice(&data[used..]);
        }
        self.note_data(now);
    }

    fn note_data(&mut self, now: Instant) {
        if std::mem::take(&mut self.data_seen) {
            self.last_data = now;
        }
    }

    /// Output went out (or events were taken): input held back by backpressure is
    /// processed now, as far as the send queue allows.
    pub fn handle_output_drained(&mut self, now: Instant) {
        self.resume();
        self.note_data(now);
    }

    /// Events waiting for `poll_event`.
    pub fn poll_event_pending(&self) -> usize {
        self.events.len()
    }

    /// Input is held back by backpressure.
    pub fn has_pending_input(&self) -> bool {
        !self.pending.is_empty()
    }

    fn resume(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut p = std::mem::take(&mut self.pending);
        let used = self.process(&p);
        p.drain(..used);
        if !p.is_empty() && self.state != State::Closed && self.deferred.is_none() {
            self.pending = p;
        }
    }

    /// The send queue plus the messages not yet taken by `poll_event` (whose echo
    /// or answer will likely be queued) are over the bound: stop between frames.
    fn backlogged(&self) -> bool {
        self.out.mem_bytes().saturating_add(self.undelivered) > self.limits.max_send_queue
    }

    /// Decodes from `data` until it is used up, the connection closes, or it is
    /// backlogged between frames. Returns the bytes used.
    fn process(&mut self, input: &[u8]) -> usize {
        let mut data = input;
        while !data.is_empty() && self.state != State::Closed && self.deferred.is_none() {
            if self.decoder.is_between_frames() && self.backlogged() {
                break;
            }
            match self.decoder.decode(data) {
                Err(code) => {
                    self.fail_after_events(code);
                    return input.len();
                }
                Ok((n, item)) => {
                    let item = item.map(|i| match i {
                        Item::Header(h) => Err(h),
                        Item::Payload { data, offset, last } => Ok((data, offset, last)),
                    });
                    let r = match item {
                        None => Ok(()),
                        Some(Err(h)) => self.on_header(h),
                        Some(Ok((piece, offset, last))) => self.on_payload(piece, offset, last),
                    };
                    if let Err(code) = r {
                        self.fail_after_events(code);
                        return input.len();
                    }
                    data = &data[n..];
                }
            }
        }
        input.len() - data.len()
    }

    /// The peer closed its side without a Close frame (1006, §7.1.5).
    pub fn handle_read_closed(&mut self, _now: Instant) {
        self.report_closed(Some(CloseCode::ABNORMAL), String::new());
        self.state = State::Closed;
        self.deferred = None;
        self.drain_on_close = false;
    }

    /// Fires timers: ping after silence, 1001 after a missed pong, the end of the
    /// close handshake. Spurious calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.note_data(now);
        match self.state {
            State::Closed => {}
            State::CloseSent { deadline } => {
                if now >= deadline {
                    // §7.1.5: closed without the peer's Close frame.
                    self.report_closed(Some(CloseCode::ABNORMAL), String::new());
                    self.state = State::Closed;
                }
            }
            State::Open => match self.ping_sent {
                Some(t) if now >= t + self.limits.pong_timeout => {
                    self.report_closed(Some(CloseCode::GOING_AWAY), "idle timeout".into());
                    self.close(now, CloseCode::GOING_AWAY, "idle timeout");
                }
                None if now >= self.last_rx + self.limits.ping_interval => {
                    self.push_frame(OpCode::Ping, false, Bytes::new());
                    self.ping_sent = Some(now);
                }
                _ => {}
            },
        }
    }

    // ---- output

    /// The next event. Once the messages that preceded a violation have been taken
    /// (and answered), the deferred failure happens here: the Close is queued and
    /// `Closed` is the next event.
    pub fn poll_event(&mut self) -> Option<WsEvent> {
        if self.events.is_empty() {
            match self.deferred.take().map(|d| *d) {
                Some(Deferred::Fail(code)) => self.fail(code),
                Some(Deferred::AnswerClose(code, reason)) => self.answer_close(code, reason),
                None => {}
            }
        }
        let ev = self.events.pop_front()?;
        self.undelivered = self.undelivered.saturating_sub(event_bytes(&ev));
        Some(ev)
    }

    pub fn out(&mut self) -> &mut OutQueue {
        &mut self.out
    }

    /// True when nothing is queued for the peer.
    pub fn out_is_empty(&self) -> bool {
        self.out.is_empty()
    }

    // ---- internals

    fn on_header(&mut self, h: FrameHeader) -> Result<(), CloseCode> {
        // `None` only after "no-masking" was negotiated: XOR with zeros.
        self.frame_mask = h.mask.unwrap_or_default();
        if h.opcode.is_control() {
            self.current = Current::Control(h);
            self.scratch.clear();
        } else if matches!(self.state, State::CloseSent { .. }) {
            self.current = Current::Ignored;
        } else {
            self.data_seen = true;
            let f = self.assembler.on_data_frame(&h)?;
            if f.compressed && self.deflate.is_none() {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
            if f.first {
                self.msg_size = 0;
                self.utf8 = Utf8Validator::new();
                if self.streaming {
                    self.events.push_back(WsEvent::MessageStart(f.kind));
                }
            }
            if !f.compressed {
                let limit = self.message_limit();
                if self.msg_size.saturating_add(h.len) > limit {
                    return Err(CloseCode::MESSAGE_TOO_BIG);
                }
                // Streaming hands each piece out as it comes: nothing to reserve.
                if !self.streaming {
                    let ahead = usize::try_from(h.len).unwrap_or(usize::MAX);
                    // A refused reservation only means the buffer grows as it fills.
                    let _ = self.buf.try_reserve(ahead.min(WS_RESERVE_AHEAD));
                }
            }
            self.current = Current::Data(f);
        }
        if h.len == 0 {
            self.end_of_frame()?;
        }
        Ok(())
    }

    fn message_limit(&self) -> u64 {
        if self.streaming {
            self.limits.max_streamed_message
        } else {
            self.limits.max_message as u64
        }
    }

    fn on_payload(&mut self, piece: &[u8], offset: u64, last: bool) -> Result<(), CloseCode> {
        let mask = match self.current {
            Current::Ignored | Current::None => {
                if last {
                    self.current = Current::None;
                }
                return Ok(());
            }
            _ => self.frame_mask,
        };
        match self.current {
            Current::Control(_) => {
                let at = self.scratch.len();
                self.scratch.extend_from_slice(piece);
                apply_mask(mask, offset, &mut self.scratch[at..]);
            }
            Current::Data(f) if f.compressed => {
                self.scratch.clear();
                self.scratch.extend_from_slice(piece);
                apply_mask(mask, offset, &mut self.scratch);
                let scratch = std::mem::take(&mut self.scratch);
                let r = if self.streaming {
                    self.inflate_streamed(f, Some(&scratch))
                } else {
                    let at = self.buf.len();
                    let limit = self.inflate_limit();
                    match self.deflate.as_mut() {
                        Some(d) => d.decompress(&scratch, &mut self.buf, limit),
                        None => Err(CloseCode::PROTOCOL_ERROR),
                    }
                    .and_then(|()| self.accept_data(f, at))
                };
                self.scratch = scratch;
                self.scratch.clear();
                r?;
            }
            Current::Data(f) => {
                let at = self.buf.len();
                self.buf.extend_from_slice(piece);
                apply_mask(mask, offset, &mut self.buf[at..]);
                self.accept_data(f, at)?;
            }
            Current::Ignored | Current::None => {}
        }
        if last {
            self.end_of_frame()?;
        }
        Ok(())
    }

    /// Streaming mode: inflates `data` (or, with `None`, the end of the message) in
    /// pieces of at most `INFLATE_STEP`, each counted, UTF-8-checked and handed out as
    /// a chunk at once, so a compression bomb never piles up in memory.
    fn inflate_streamed(&mut self, f: DataFrame, data: Option<&[u8]>) -> Result<(), CloseCode> {
        let Some(mut d) = self.deflate.take() else {
            return Err(CloseCode::PROTOCOL_ERROR);
        };
        let mut emit = |piece: Vec<u8>| -> Result<(), CloseCode> {
            self.buf = piece;
            self.accept_data(f, 0)
        };
        let r = match data {
            Some(data) => d.decompress_each(data, INFLATE_STEP, &mut emit),
            None => d.finish_message_each(INFLATE_STEP, &mut emit),
        };
        self.deflate = Some(d);
        r
    }

    /// Room left for inflated bytes in `buf` before the message limit is passed.
    fn inflate_limit(&self) -> usize {
        let left = self.message_limit().saturating_sub(self.msg_size);
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        self.buf.len().saturating_add(left)
    }

    /// New bytes `buf[at..]` of a data message: count, check UTF-8 (fail fast), and in
    /// streaming mode hand them out at once.
    fn accept_data(&mut self, f: DataFrame, at: usize) -> Result<(), CloseCode> {
        let added = (self.buf.len() - at) as u64;
        self.msg_size += added;
        if self.msg_size > self.message_limit() {
            return Err(CloseCode::MESSAGE_TOO_BIG);
        }
        if f.kind == MessageKind::Text && self.utf8.feed(&self.buf[at..]).is_err() {
            return Err(CloseCode::INVALID_PAYLOAD);
        }
        if self.streaming && !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.undelivered += chunk.len();
            self.events.push_back(WsEvent::MessageChunk(chunk));
        }
        Ok(())
    }

    fn end_of_frame(&mut self) -> Result<(), CloseCode> {
        let current = std::mem::replace(&mut self.current, Current::None);
        match current {
            Current::Control(h) => self.on_control(h.opcode),
            Current::Data(f) if f.last => self.end_of_message(f),
            _ => Ok(()),
        }
    }

    fn end_of_message(&mut self, f: DataFrame) -> Result<(), CloseCode> {
        if f.compressed {
            if self.streaming {
                self.inflate_streamed(f, None)?;
            } else {
                let at = self.buf.len();
                let limit = self.inflate_limit();
                match self.deflate.as_mut() {
                    Some(d) => d.finish_message(&mut self.buf, limit)?,
                    None => return Err(CloseCode::PROTOCOL_ERROR),
                }
                self.accept_data(f, at)?;
            }
            // The compressed bytes' buffer is not kept between messages.
            self.scratch = Vec::new();
        }
        // §8.1: a text message must end on a code point boundary.
        if f.kind == MessageKind::Text && !self.utf8.is_complete() {
            return Err(CloseCode::INVALID_PAYLOAD);
        }
        let buf = std::mem::take(&mut self.buf);
        let ev = if self.streaming {
            WsEvent::MessageEnd
        } else {
            match f.kind {
                MessageKind::Binary => WsEvent::Message(Message::Binary(Bytes::from(buf))),
                MessageKind::Text => match String::from_utf8(buf) {
                    Ok(s) => WsEvent::Message(Message::Text(s)),
                    Err(_) => return Err(CloseCode::INVALID_PAYLOAD),
                },
            }
        };
        self.undelivered += event_bytes(&ev);
        self.events.push_back(ev);
        Ok(())
    }

    fn on_control(&mut self, op: OpCode) -> Result<(), CloseCode> {
        let payload = std::mem::take(&mut self.scratch);
        match op {
            OpCode::Ping => {
                // §5.5.3: a Pong with the Ping's payload, sent at once, also between
                // the fragments of a message.
                let p = Bytes::from(payload);
                if self.state == State::Open {
                    self.push_frame(OpCode::Pong, false, p.clone());
                }
                self.events.push_back(WsEvent::Ping(p));
            }
            OpCode::Pong => self.events.push_back(WsEvent::Pong(Bytes::from(payload))),
            OpCode::Close => {
                let parsed = parse_close_payload(&payload)?;
                let (code, reason) = match parsed {
                    Some((c, r)) => (Some(c), r.to_owned()),
                    None => (None, String::new()),
                };
                if self.state == State::Open && !self.events.is_empty() {
                    // Messages before the Close are answered before it.
                    self.deferred = Some(Box::new(Deferred::AnswerClose(code, reason)));
                } else {
                    self.answer_close(code, reason);
                }
            }
            _ => return Err(CloseCode::PROTOCOL_ERROR),
        }
        Ok(())
    }

    /// The peer's Close: answered with its code (§5.5.1) unless it answers ours,
    /// then the connection is closed.
    fn answer_close(&mut self, code: Option<CloseCode>, reason: String) {
        if self.state == State::Open {
            let echo = match code {
                Some(c) => close_payload(c, ""),
                None => Vec::new(),
            };
            self.push_frame(OpCode::Close, false, Bytes::from(echo));
        }
        // After our own Close this is the answer; its code is reported too.
        self.report_closed(code, reason);
        self.state = State::Closed;
        self.drain_on_close = true;
    }

    fn report_closed(&mut self, code: Option<CloseCode>, reason: String) {
        if !std::mem::replace(&mut self.close_reported, true) {
            self.events.push_back(WsEvent::Closed { code, reason });
        }
    }

    /// A violation: fail now, or, when messages read before it are still queued,
    /// once `poll_event` has handed them out (their answers go out before our Close).
    /// Input held back is dropped either way.
    fn fail_after_events(&mut self, code: CloseCode) {
        if self.events.is_empty() {
            return self.fail(code);
        }
        self.deferred = Some(Box::new(Deferred::Fail(code)));
        self.pending = Vec::new();
        self.scratch = Vec::new();
    }

    /// §7.1.7: send a Close with `code` and stop.
    fn fail(&mut self, code: CloseCode) {
        if self.state == State::Open {
            self.push_frame(OpCode::Close, false, Bytes::from(close_payload(code, "")));
        }
        self.report_closed(Some(code), String::new());
        self.buf = Vec::new();
        self.scratch = Vec::new();
        self.pending = Vec::new();
        self.state = State::Closed;
        self.drain_on_close = true;
    }

    fn send_data(&mut self, op: OpCode, data: Bytes) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        // Reading stops at `max_send_queue`; sends are refused only past twice it, so
        // the answers to messages already read (the engine stops decoding at the
        // bound) still fit.
        if self.out.mem_bytes() > self.limits.max_send_queue.saturating_mul(2) {
            return Err(SendError::QueueFull);
        }
        self.data_seen = true;
        match self.deflate.as_mut() {
            Some(d) => {
                let z = Bytes::from(d.compress(&data));
                self.push_frame(op, true, z);
            }
            None => self.push_frame(op, false, data),
        }
        Ok(())
    }

    fn push_frame(&mut self, op: OpCode, rsv1: bool, payload: Bytes) {
        // Sized exactly (RFC 6455 §5.2: 2, 4 or 10 header bytes from the server), so
        // `Bytes::from` takes the Vec over without allocating a shared header too.
        let head_len = match payload.len() {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        let inline = payload.len() <= 256;
        let mut head = Vec::with_capacity(head_len + if inline { payload.len() } else { 0 });
        encode_header(true, rsv1, op, payload.len() as u64, &mut head);
        // Small payloads go out in the header's buffer: one chunk, one write.
        if inline {
            head.extend_from_slice(&payload);
            self.out.push_bytes(Bytes::from(head));
        } else {
            self.out.push_bytes(Bytes::from(head));
            self.out.push_bytes(payload);
        }
    }
}

/// What waits for the queued events to be taken (see [`WsConn::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Deferred {
    /// Fail the connection with this code (§7.1.7).
    Fail(CloseCode),
    /// Answer the peer's Close (§5.5.1) with its code; its reason is reported.
    AnswerClose(Option<CloseCode>, String),
}

/// Payload bytes a message event holds (for the backlog count).
fn event_bytes(ev: &WsEvent) -> usize {
    match ev {
        WsEvent::Message(Message::Text(t)) => t.len(),
        WsEvent::Message(Message::Binary(b)) => b.len(),
        WsEvent::MessageChunk(b) => b.len(),
        _ => 0,
    }
}
