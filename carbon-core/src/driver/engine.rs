//! The protocol engine of one connection, chosen once the transport knows which
//! protocol it carries: HTTP/1.1 at accept time, switched to HTTP/2 after a TLS
//! handshake that agreed on ALPN `h2` (RFC 9113 §3.2), or on the plain port when the
//! first bytes are the HTTP/2 client preface (prior knowledge, RFC 9113 §3.3).
//!
//! After a `101 Switching Protocols` carrying a [`WsUpgrade`], an HTTP/1.1
//! connection becomes a WebSocket session (RFC 6455): [`Engine::switch_to_ws`]. Over
//! HTTP/2 a WebSocket is one stream (RFC 8441) and the connection stays HTTP/2: the
//! sessions run inside [`H2Engine`] (`ws_h2.rs`), see [`Engine::start_ws_stream`].
//!
//! The engines share the sans-IO method taxonomy (`handle_*` inputs, `poll_*`
//! outputs, getters), so the driver moves bytes without knowing which one runs. The
//! HTTP/2 engine is boxed: an HTTP/1.1 connection pays one word for it, not the size
//! of an HTTP/2 connection.

use std::time::Instant;

use http::StatusCode;

use super::stats::WorkerCounters;
use super::ws_h2::H2Engine;
use crate::config::Config;
use crate::proto::h1::{self, H1Conn};
use crate::proto::h2;
use crate::proto::h2::error::ErrorCode;
use crate::proto::out::OutQueue;
use crate::proto::{Progress, Stamp};
use crate::service::ws::{WakeHook, WsSession, WsUpgrade};
use crate::service::{PreEncoded, Response};

// HTTP/1.1 inline on purpose: it is the common case, and boxing it would cost every
// connection an allocation and an indirection on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Engine {
    H1(H1Conn),
    H2(Box<H2Engine>),
    /// Boxed like HTTP/2: only upgraded connections pay for a session.
    Ws(Box<WsEngine>),
}

/// A WebSocket session and when it opened (for the slot policy's `since`).
pub(crate) struct WsEngine {
    session: WsSession,
    opened: Instant,
}

/// An engine's event, with the stream it belongs to where the protocol has streams.
// HTTP/1.1's request travels inline: one per connection at a time, moved once.
#[allow(clippy::large_enum_variant)]
pub(crate) enum EngineEvent {
    H1(h1::Event),
    H2(h2::Event),
}

impl Engine {
    pub fn h1(cfg: &Config, now: Instant) -> Engine {
        Engine::H1(H1Conn::new(cfg.limits.clone(), cfg.timeouts, now))
    }

    /// Replaces the engine by a fresh HTTP/2 one. Only done before any byte reached
    /// the HTTP/1.1 engine, so nothing is lost.
    pub fn switch_to_h2(&mut self, cfg: &Config, now: Instant) {
        *self = Engine::H2(Box::new(H2Engine::new(cfg, now)));
    }

    /// After `send_response` queued a 101: replaces the HTTP/1.1 engine by the
    /// WebSocket session of `upgrade`, which takes the input HTTP/1.1 did not parse
    /// and queues its output behind the 101 head. Without an upgrade to run (a 101
    /// from a service that is not `WebSocketService`), the connection is closed once
    /// the 101 is flushed. Returns true when the session started.
    pub fn switch_to_ws(
        &mut self,
        upgrade: Option<WsUpgrade>,
        cfg: &Config,
        wake: impl FnOnce() -> WakeHook,
        now: Instant,
        read_closed: bool,
    ) -> bool {
        let Engine::H1(h1) = self else {
            return false;
        };
        let Some(input) = h1.take_upgraded_input() else {
            return false;
        };
        let limits = cfg.websocket.limits.clone();
        let session = upgrade.and_then(|up| WsSession::from_upgrade(&up, limits, wake(), now));
        let Some(mut session) = session else {
            log::warn!("101 response without a WebSocket session to run; closing");
            let head = std::mem::take(h1.out());
            let mut closing = H1Conn::new(cfg.limits.clone(), cfg.timeouts, now);
            closing.start_shutdown();
            closing.out().append(head);
            *self = Engine::H1(closing);
            return false;
        };
        // The 101 head first, then what the handler's `on_open` queued.
        let mut out = std::mem::take(h1.out());
        out.append(std::mem::take(session.out()));
        *session.out() = out;
        if !input.is_empty() {
            session.handle_input(now, &input);
        }
        if read_closed {
            session.handle_read_closed(now);
        }
        *self = Engine::Ws(Box::new(WsEngine {
            session,
            opened: now,
        }));
        true
    }

    /// HTTP/2 answered the extended CONNECT of `stream_id` with a 2xx: run the
    /// WebSocket session of `upgrade` on that stream (RFC 8441 §5). True when it
    /// started.
    pub fn start_ws_stream(
        &mut self,
        now: Instant,
        stream_id: u32,
        upgrade: Option<WsUpgrade>,
        wake: impl FnOnce() -> WakeHook,
    ) -> bool {
        match self {
            Engine::H2(e) => e.start_ws(now, stream_id, upgrade, wake()),
            Engine::H1(_) | Engine::Ws(_) => false,
        }
    }

    /// The cross-thread sends of a WebSocket session's `WsSender`s are waiting.
    pub fn handle_wake(&mut self, now: Instant) {
        match self {
            Engine::Ws(w) => w.session.handle_wake(now),
            Engine::H2(e) => e.handle_wake(now),
            Engine::H1(_) => {}
        }
    }

    /// HTTP/2 runs here (its output is many small frames: `transport.rs` gathers it).
    pub fn is_h2(&self) -> bool {
        matches!(self, Engine::H2(_))
    }

    /// HTTP/1.1 queued a 101: call [`Engine::switch_to_ws`].
    pub fn is_upgraded(&self) -> bool {
        matches!(self, Engine::H1(e) if e.is_upgraded())
    }

    /// A WebSocket runs here: an upgraded HTTP/1.1 connection, or HTTP/2 with
    /// WebSocket streams (for waking their `WsSender`s).
    pub fn is_websocket(&self) -> bool {
        match self {
            Engine::Ws(_) => true,
            Engine::H2(e) => e.websockets() > 0,
            Engine::H1(_) => false,
        }
    }

    /// Where the connection stands, for the slot policy (`slots.rs`).
    pub fn progress(&self) -> Progress {
        match self {
            Engine::H1(e) => e.progress(),
            Engine::H2(e) => e.progress(),
            // An open session is not idle keep-alive: its client expects it to stay
            // (pings keep it alive). Only a long-quiet one may go, last of all
            // (`slots.rs`); a stalled reader is `Sending` (conn.rs).
            Engine::Ws(w) => Progress {
                phase: crate::proto::Phase::WebSocket,
                since: w.session.last_data().max(w.opened),
                received: 0,
            },
        }
    }

    /// HTTP/1.1: the head of the request whose body is being awaited
    /// (`Event::Head`). HTTP/2 delivers requests whole and has none.
    pub fn request_head(&self) -> Option<&http::Request<()>> {
        match self {
            Engine::H1(e) => e.request_head(),
            Engine::H2(_) | Engine::Ws(_) => None,
        }
    }

    pub fn wants_read(&self) -> bool {
        match self {
            Engine::H1(e) => e.wants_read(),
            Engine::H2(e) => e.wants_read(),
            Engine::Ws(w) => w.session.wants_read(),
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Engine::H1(e) => e.is_closed(),
            Engine::H2(e) => e.is_closed(),
            Engine::Ws(w) => w.session.is_closed(),
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Engine::H1(e) => e.poll_timeout(),
            Engine::H2(e) => e.poll_timeout(),
            Engine::Ws(w) => w.session.poll_timeout(),
        }
    }

    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        match self {
            Engine::H1(e) => e.handle_input(now, data),
            Engine::H2(e) => e.handle_input(now, data),
            Engine::Ws(w) => w.session.handle_input(now, data),
        }
    }

    pub fn handle_read_closed(&mut self, now: Instant) {
        match self {
            Engine::H1(e) => e.handle_read_closed(now),
            Engine::H2(e) => e.handle_read_closed(now),
            Engine::Ws(w) => w.session.handle_read_closed(now),
        }
    }

    pub fn handle_output_drained(&mut self, now: Instant) {
        match self {
            Engine::H1(e) => e.handle_output_drained(now),
            Engine::H2(e) => e.handle_output_drained(now),
            Engine::Ws(w) => w.session.handle_output_drained(now),
        }
    }

    /// HTTP/2 keeps its scratch memory while requests keep coming (released after
    /// a second without a stream): the TLS session then keeps its buffers too. Not
    /// while a WebSocket tunnel is open (RFC 8441): that stream may stay, idle, as long
    /// as the connection, and the TLS buffers would stay with it.
    /// HTTP/2: the largest DATA payload to produce ([`crate::proto::h2::H2Conn::set_data_frame_target`]).
    pub fn set_data_frame_target(&mut self, payload: u32) {
        if let Engine::H2(e) = self {
            e.set_data_frame_target(payload);
        }
    }

    pub fn keeps_scratch(&self) -> bool {
        match self {
            Engine::H2(e) => e.holds_scratch() && !e.has_tunnel(),
            Engine::H1(_) | Engine::Ws(_) => false,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self {
            Engine::H1(e) => e.handle_timeout(now),
            Engine::H2(e) => e.handle_timeout(now),
            Engine::Ws(w) => w.session.handle_timeout(now),
        }
    }

    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        match self {
            Engine::H1(e) => e.poll_event().map(EngineEvent::H1),
            Engine::H2(e) => e.poll_event().map(EngineEvent::H2),
            // The session hands its events to its handler itself.
            Engine::Ws(_) => None,
        }
    }

    /// The output queue, topped up first where the engine produces output lazily
    /// (HTTP/2 DATA frames, as flow-control windows allow).
    pub fn transmit(&mut self, now: Instant) -> &mut OutQueue {
        match self {
            Engine::H1(e) => e.out(),
            Engine::H2(e) => e.poll_transmit(now),
            Engine::Ws(w) => w.session.out(),
        }
    }

    /// The output queue as it is, for `advance` after bytes left.
    pub fn out(&mut self) -> &mut OutQueue {
        match self {
            Engine::H1(e) => e.out(),
            Engine::H2(e) => e.out(),
            Engine::Ws(w) => w.session.out(),
        }
    }

    /// True when the driver has something to write (or could produce it now).
    pub fn has_output(&self) -> bool {
        match self {
            Engine::H1(e) => !e.out_is_empty(),
            Engine::H2(e) => e.has_output(),
            Engine::Ws(w) => !w.session.out_is_empty(),
        }
    }

    /// The HTTP/1.1 response to the last `EngineEvent::H1`; `stamp`: the driver's
    /// `Date` and `Server`, written by the encoder instead of inserted into the
    /// response.
    pub fn send_response(
        &mut self,
        now: Instant,
        resp: Response,
        pre: Option<PreEncoded>,
        stamp: Option<Stamp<'_>>,
    ) {
        match self {
            Engine::H1(e) => e.send_response_stamped(now, resp, pre, stamp),
            Engine::H2(_) => log::error!("h2: response without a stream id; dropped"),
            Engine::Ws(_) => log::error!("ws: HTTP response on a WebSocket; dropped"),
        }
    }

    /// The HTTP/2 response to an `EngineEvent::H2` of `stream_id`.
    pub fn send_stream_response(
        &mut self,
        now: Instant,
        stream_id: u32,
        resp: Response,
        pre: Option<PreEncoded>,
        stamp: Option<Stamp<'_>>,
    ) {
        match self {
            Engine::H2(e) => e.send_response(now, stream_id, resp, pre, stamp),
            Engine::H1(_) | Engine::Ws(_) => {
                log::error!("response with a stream id outside HTTP/2; dropped")
            }
        }
    }

    /// HTTP/2: an answered stream that is over, with its body bytes framed
    /// ([`H2Conn::poll_stream_finished`]); always `None` for other protocols.
    pub fn poll_stream_finished(&mut self) -> Option<(u32, u64)> {
        match self {
            Engine::H2(e) => e.poll_stream_finished(),
            Engine::H1(_) | Engine::Ws(_) => None,
        }
    }

    /// HTTP/2: body bytes framed so far for a stream still open.
    pub fn stream_body_sent(&self, stream_id: u32) -> Option<u64> {
        match self {
            Engine::H2(e) => e.stream_body_sent(stream_id),
            Engine::H1(_) | Engine::Ws(_) => None,
        }
    }

    /// HTTP/2: body bytes framed so far for all answered streams still open.
    pub fn answered_body_sent(&self) -> u64 {
        match self {
            Engine::H2(e) => e.answered_body_sent(),
            Engine::H1(_) | Engine::Ws(_) => 0,
        }
    }

    /// HTTP/2 only: the graceful GOAWAY of a drain (`reload::goaway_h2`), for a
    /// connection serving streams and not already shutting down. A connection still
    /// in its preface is left alone rather than cut. True when GOAWAY was queued.
    pub fn start_h2_drain(&mut self, now: Instant) -> bool {
        match self {
            Engine::H2(e) if e.accepts_streams() => {
                e.start_drain(now);
                true
            }
            _ => false,
        }
    }

    /// HTTP/2 server push: true when the client allows it (SETTINGS_ENABLE_PUSH).
    pub fn push_enabled(&self) -> bool {
        matches!(self, Engine::H2(e) if e.peer_enable_push())
    }

    /// HTTP/2 server push: PUSH_PROMISE of `request` on `stream_id`, before that
    /// stream's response; the promised stream's id, to answer with
    /// [`Engine::send_stream_response`]. `None` when the engine refuses (see
    /// [`h2::NoPush`]) or this is not HTTP/2.
    pub fn push_promise<B>(
        &mut self,
        stream_id: u32,
        scheme: &str,
        request: &http::Request<B>,
    ) -> Option<u32> {
        let Engine::H2(e) = self else {
            return None;
        };
        match e.push_promise(stream_id, scheme, request) {
            Ok(id) => Some(id),
            Err(why) => {
                log::debug!("h2: no push of {} ({why:?})", request.uri());
                None
            }
        }
    }

    /// An interim (1xx) response before the final one: for HTTP/1.1 to the request
    /// being answered, for HTTP/2 on `stream_id`.
    pub fn send_informational(&mut self, now: Instant, stream_id: Option<u32>, resp: Response) {
        match (self, stream_id) {
            (Engine::H1(e), None) => e.send_informational(resp),
            (Engine::H2(e), Some(id)) => e.send_informational(now, id, resp),
            _ => log::error!("interim response for the wrong protocol; dropped"),
        }
    }

    /// Reclaimed under pressure (`slots.rs`): a WebSocket session queues Close 1001
    /// "going away" (RFC 6455 §7.4.1) for the driver's last write before it closes
    /// the transport. Other engines have nothing to say.
    pub fn evict(&mut self, now: Instant) {
        if let Engine::Ws(w) = self {
            w.session.evict(
                now,
                crate::proto::ws::CloseCode::GOING_AWAY,
                "server overloaded",
            );
        }
    }

    /// HTTP/1.1 on a plain port that also takes h2c (`H1Conn::expect_h2_prior_knowledge`).
    pub fn expect_h2_prior_knowledge(&mut self) {
        if let Engine::H1(e) = self {
            e.expect_h2_prior_knowledge();
        }
    }

    /// Closes after an `unanswered` HTTP/1.1 rejection without a response.
    pub fn close_unanswered(&mut self) {
        if let Engine::H1(e) = self {
            e.close_unanswered();
        }
    }

    /// Graceful stop: HTTP/1.1 finishes the current exchange; HTTP/2 sends its
    /// two-step GOAWAY and lets the streams in flight finish (RFC 9113 §6.8).
    pub fn start_shutdown(&mut self, now: Instant) {
        match self {
            Engine::H1(e) => e.start_shutdown(),
            Engine::H2(e) => e.start_shutdown(now),
            // Close 1001 (RFC 6455 §7.4.1), so browsers report a clean close.
            Engine::Ws(w) => w.session.start_shutdown(now),
        }
    }

    /// HTTP/2 closed with an error GOAWAY, or WebSocket failed the connection or
    /// answered the peer's Close: the peer may still be sending, so the driver
    /// drains before closing (a reset would destroy the GOAWAY or Close in flight).
    pub fn closed_on_error(&self) -> bool {
        match self {
            Engine::H1(_) => false,
            Engine::Ws(w) => w.session.drain_on_close(),
            Engine::H2(e) => e
                .stats()
                .goaway_sent
                .is_some_and(|c| c != ErrorCode::NO_ERROR),
        }
    }

    /// Adds this connection's HTTP/2 outcomes to the shared counters; called once,
    /// when the connection closes.
    pub fn record_stats(&self, stats: &WorkerCounters) {
        if let Engine::H2(e) = self {
            e.record_stats(stats);
        }
    }
}

/// The status an HTTP/2 `Reject` stands for, as the statistics class it counts in.
pub(crate) fn reject_class(status: StatusCode) -> h1::RejectClass {
    if status == StatusCode::REQUEST_TIMEOUT {
        h1::RejectClass::Timeout
    } else {
        h1::RejectClass::OverLimit
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{Engine, EngineEvent};
    use crate::config::Config;
    use crate::driver::stats::Stats;
    use crate::proto::h2::PREFACE;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn switch_to_h2_serves_the_preface_and_delivers_stream_requests() {
        let cfg = Config::default();
        let now = Instant::now();
        let mut e = Engine::h1(&cfg, now);
        e.switch_to_h2(&cfg, now);
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[]));
        // GET / as literal fields without indexing (RFC 7541 §6.2.2).
        let mut block = Vec::new();
        for (n, v) in [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "a"),
            (":path", "/"),
        ] {
            block.extend([0x00, n.len() as u8]);
            block.extend(n.as_bytes());
            block.push(v.len() as u8);
            block.extend(v.as_bytes());
        }
        input.extend(frame(0x1, 0x5, 1, &block));
        e.handle_input(now, &input);
        match e.poll_event() {
            Some(EngineEvent::H2(crate::proto::h2::Event::Request { stream_id, request })) => {
                assert_eq!(stream_id, 1);
                assert_eq!(request.uri().path(), "/");
            }
            _ => panic!("no HTTP/2 request event"),
        }
        // Our SETTINGS went out first (RFC 9113 §3.4).
        assert!(e.has_output());
        let first = e.transmit(now).front().map(|c| c.len()).unwrap_or(0);
        assert!(first >= 9);
    }

    #[test]
    fn cve_2019_9512_ping_flood_is_counted_as_goaway_enhance_your_calm() {
        let cfg = Config::default();
        let now = Instant::now();
        let mut e = Engine::h1(&cfg, now);
        e.switch_to_h2(&cfg, now);
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[]));
        for i in 0..(cfg.http2.max_pings_per_window as u64 + 10) {
            input.extend(frame(0x6, 0, 0, &i.to_be_bytes()));
        }
        e.handle_input(now, &input);
        assert!(e.closed_on_error());
        let stats = Stats::default();
        e.record_stats(stats.worker(0));
        let t = stats.snapshot().total;
        assert_eq!(t.h2_goaway_enhance_your_calm, 1);
        assert_eq!(t.h2_goaway_no_error, 0);
        assert!(stats
            .snapshot()
            .prometheus()
            .contains("carbon_http2_goaway_sent_total{code=\"ENHANCE_YOUR_CALM\"} 1"));
    }

    #[test]
    fn http11_engine_records_no_h2_statistics() {
        let cfg = Config::default();
        let e = Engine::h1(&cfg, Instant::now());
        let stats = Stats::default();
        e.record_stats(stats.worker(0));
        assert_eq!(stats.snapshot().total, Stats::default().snapshot().total);
        assert!(!e.closed_on_error());
    }

    /// Feeds `input` to a fresh HTTP/1.1 engine and answers its request with
    /// `WebSocketService` (or with a bare 101 when `bare`), as `respond.rs` does.
    fn upgraded(input: &[u8], bare: bool) -> (Engine, bool, Instant) {
        use crate::service::ws::{EchoHandler, WebSocketService, WsUpgrade};
        use crate::service::{Body, RequestContext, Service};
        let cfg = Config::default();
        let now = Instant::now();
        let mut e = Engine::h1(&cfg, now);
        e.handle_input(now, input);
        let Some(EngineEvent::H1(crate::proto::h1::Event::Request(req))) = e.poll_event() else {
            panic!("no request");
        };
        let resp = if bare {
            let mut r = http::Response::new(Body::Empty);
            *r.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
            r
        } else {
            struct Nothing;
            impl Service for Nothing {
                fn call(
                    &mut self,
                    _: &crate::service::Request,
                    _: &RequestContext,
                ) -> crate::service::Response {
                    crate::service::error_response(http::StatusCode::NOT_FOUND)
                }
            }
            let mut svc = WebSocketService::new(
                Nothing,
                cfg.websocket.clone(),
                std::sync::Arc::new(|_| Box::new(EchoHandler)),
            );
            let ctx = RequestContext {
                peer: "127.0.0.1:1".parse().unwrap(),
                secure: false,
                now,
                wall: std::time::SystemTime::now(),
                sni: None,
                https_port: None,
            };
            svc.call(&req, &ctx)
        };
        let up = resp.extensions().get::<WsUpgrade>().cloned();
        e.send_response(now, resp, None, None);
        assert!(e.is_upgraded());
        let started = e.switch_to_ws(up, &cfg, || std::sync::Arc::new(|| {}), now, false);
        (e, started, now)
    }

    fn drain(e: &mut Engine, now: Instant) -> Vec<u8> {
        let mut wire = Vec::new();
        let out = e.transmit(now);
        while let Some(crate::proto::out::Chunk::Bytes(b)) = out.front() {
            wire.extend_from_slice(b);
            let n = b.len() as u64;
            out.advance(n);
        }
        wire
    }

    const UPGRADE: &[u8] =
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn rfc6455_4_2_2_first_frame_behind_the_handshake_is_echoed_after_the_101() {
        let mut input = UPGRADE.to_vec();
        // "Hi" masked with a zero key, sent before the 101 was seen.
        input.extend_from_slice(b"\x81\x82\0\0\0\0Hi");
        let (mut e, started, now) = upgraded(&input, false);
        assert!(started && e.is_websocket());
        let wire = drain(&mut e, now);
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(wire.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
        assert_eq!(&wire[head_end..], b"\x81\x02Hi");
        assert!(e.wants_read() && !e.is_closed());
        // Shutdown: Close 1001 (RFC 6455 §7.4.1).
        e.start_shutdown(now);
        let close = drain(&mut e, now);
        assert_eq!(close[0], 0x88, "a Close frame");
        assert_eq!(usize::from(close[1]), close.len() - 2);
        assert_eq!(&close[2..4], &1001u16.to_be_bytes());
    }

    /// RFC 6455 §7.1.1: after failing the connection (here a reserved opcode right
    /// after an echoed message, Autobahn 4.1.3) the echo goes out before the Close,
    /// and the driver is told to drain the peer's input before closing, so a TCP
    /// reset cannot destroy the Close in flight.
    #[test]
    fn rfc6455_7_1_1_failed_websocket_drains_before_closing() {
        let mut input = UPGRADE.to_vec();
        input.extend_from_slice(b"\x81\x82\0\0\0\0Hi\x85\x80\0\0\0\0\x89\x80\0\0\0\0");
        let (mut e, started, now) = upgraded(&input, false);
        assert!(started);
        let wire = drain(&mut e, now);
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(&wire[head_end..], b"\x81\x02Hi\x88\x02\x03\xea");
        assert!(e.is_closed());
        assert!(e.closed_on_error());
    }

    #[test]
    fn rfc9110_15_2_2_101_without_a_session_closes_after_the_101() {
        let (mut e, started, now) = upgraded(UPGRADE, true);
        assert!(!started && !e.is_websocket());
        assert!(drain(&mut e, now).starts_with(b"HTTP/1.1 101 "));
        assert!(e.is_closed());
    }
}
