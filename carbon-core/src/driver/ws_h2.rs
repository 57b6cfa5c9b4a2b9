//! WebSocket over HTTP/2 (RFC 8441): the HTTP/2 engine plus the WebSocket sessions
//! running on its extended CONNECT streams.
//!
//! [`H2Engine`] has the HTTP/2 engine's methods, so `engine.rs` drives it like any
//! engine. After every input, timer or drain it *pumps* each session:
//! * input: the stream's received bytes go to the session while it wants to read;
//!   the HTTP/2 engine gives the client window back only for what was taken, so a
//!   session under backpressure stops its client (RFC 9113 §5.2);
//! * output: the session's frames move to the stream's bounded queue as it has room,
//!   and become DATA frames as the stream and connection windows allow;
//! * end: a session that closed (close handshake done, or failed) ends the stream
//!   with END_STREAM after its last frame (RFC 8441 §6); a stream that is gone (the
//!   client's RST_STREAM, a connection error, the connection's end) closes its
//!   session as a read close (1006), so the handler's `on_close` runs once.
//!
//! Each session keeps its own ping and idle timers (`WsConn::poll_timeout`); a
//! shutdown sends Close 1001 on every session next to the HTTP/2 GOAWAY.

use std::time::Instant;

use super::stats::WorkerCounters;
use crate::config::Config;
use crate::limits::WsLimits;
use crate::proto::h2::error::ErrorCode;
use crate::proto::h2::{Event, H2Conn, H2Stats};
use crate::proto::out::{Chunk, OutQueue};
use crate::proto::Progress;
use crate::service::ws::{WakeHook, WsSession, WsUpgrade};
use crate::service::Response;

/// Pump rounds per stream per call: each round moves input and output once; more
/// rounds only when the previous one made progress (a session answering what it
/// just read), so one busy stream cannot hold the worker.
const PUMP_ROUNDS: usize = 4;

struct WsStream {
    id: u32,
    session: WsSession,
    read_closed: bool,
}

/// The HTTP/2 engine of a connection and its WebSocket streams.
pub(crate) struct H2Engine {
    conn: H2Conn,
    ws: Vec<WsStream>,
    limits: WsLimits,
}

impl H2Engine {
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL follows `enable_websocket` (RFC 8441 §3).
    pub fn new(cfg: &Config, now: Instant) -> H2Engine {
        H2Engine {
            conn: H2Conn::with_connect_protocol(cfg.http2.clone(), now, cfg.enable_websocket),
            ws: Vec::new(),
            limits: cfg.websocket.limits.clone(),
        }
    }

    /// Starts the session of an accepted extended CONNECT on `stream_id`, after its
    /// 200 was handed to [`H2Engine::send_response`]. Without a session to run (a 2xx
    /// from another service), the stream is reset CANCEL. True when it started.
    pub fn start_ws(
        &mut self,
        now: Instant,
        stream_id: u32,
        upgrade: Option<WsUpgrade>,
        wake: WakeHook,
    ) -> bool {
        if !self.conn.tunnel_exists(stream_id) {
            return false;
        }
        let session =
            upgrade.and_then(|up| WsSession::from_upgrade(&up, self.limits.clone(), wake, now));
        let Some(session) = session else {
            log::warn!("h2: 2xx to an extended CONNECT without a session; stream reset");
            self.conn.tunnel_reset(now, stream_id, ErrorCode::CANCEL);
            return false;
        };
        self.ws.push(WsStream {
            id: stream_id,
            session,
            read_closed: false,
        });
        self.pump(now);
        true
    }

    /// WebSocket streams running now.
    pub fn websockets(&self) -> usize {
        self.ws.len()
    }

    pub fn handle_wake(&mut self, now: Instant) {
        for w in &mut self.ws {
            w.session.handle_wake(now);
        }
        self.pump(now);
    }

    fn pump(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.ws.len() {
            let w = &mut self.ws[i];
            let id = w.id;
            if !self.conn.tunnel_exists(id) {
                // RFC 8441 §6: a reset (or the connection's end) is an abnormal close.
                if !w.session.is_closed() {
                    w.session.handle_read_closed(now);
                }
                self.ws.swap_remove(i);
                continue;
            }
            for _ in 0..PUMP_ROUNDS {
                if !pump_once(&mut self.conn, w, now) {
                    break;
                }
            }
            if w.session.is_closed() && w.session.out_is_empty() {
                self.conn.tunnel_finish(now, id);
                self.ws.swap_remove(i);
                continue;
            }
            i += 1;
        }
    }

    // ----- the HTTP/2 engine's methods, with the sessions pumped -----

    pub fn stats(&self) -> &H2Stats {
        self.conn.stats()
    }

    pub fn progress(&self) -> Progress {
        self.conn.progress()
    }

    pub fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }

    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ws
            .iter()
            .filter_map(|w| w.session.poll_timeout())
            .chain(self.conn.poll_timeout())
            .min()
    }

    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.conn.handle_input(now, data);
        self.pump(now);
    }

    pub fn handle_read_closed(&mut self, now: Instant) {
        self.conn.handle_read_closed(now);
        self.pump(now);
    }

    pub fn handle_output_drained(&mut self, now: Instant) {
        self.conn.handle_output_drained(now);
        self.pump(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
        for w in &mut self.ws {
            w.session.handle_timeout(now);
        }
        self.pump(now);
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.conn.poll_event()
    }

    pub fn poll_transmit(&mut self, now: Instant) -> &mut OutQueue {
        self.conn.poll_transmit(now)
    }

    pub fn out(&mut self) -> &mut OutQueue {
        self.conn.out()
    }

    pub fn has_output(&self) -> bool {
        self.conn.has_output()
    }

    pub fn holds_scratch(&self) -> bool {
        self.conn.holds_scratch()
    }

    pub fn set_data_frame_target(&mut self, payload: u32) {
        self.conn.set_data_frame_target(payload);
    }

    pub fn has_tunnel(&self) -> bool {
        self.conn.has_tunnel()
    }

    pub fn send_response(
        &mut self,
        now: Instant,
        stream_id: u32,
        resp: Response,
        pre: Option<crate::service::PreEncoded>,
        stamp: Option<crate::proto::Stamp<'_>>,
    ) {
        self.conn
            .send_response_stamped(now, stream_id, resp, pre, stamp);
    }

    pub fn send_informational(&mut self, now: Instant, stream_id: u32, resp: Response) {
        self.conn.send_informational(now, stream_id, resp);
    }

    /// An answered stream that is over, with its body bytes framed.
    pub fn poll_stream_finished(&mut self) -> Option<(u32, u64)> {
        self.conn.poll_stream_finished()
    }

    /// Body bytes framed so far for a stream still open.
    pub fn stream_body_sent(&self, stream_id: u32) -> Option<u64> {
        self.conn.stream_body_sent(stream_id)
    }

    pub fn answered_body_sent(&self) -> u64 {
        self.conn.answered_body_sent()
    }

    /// Open for new streams: past the preface, no GOAWAY either way.
    pub fn accepts_streams(&self) -> bool {
        self.conn.accepts_streams()
    }

    /// The graceful GOAWAY of a reload's drain (RFC 9113 §6.8): unlike
    /// [`Self::start_shutdown`], open WebSockets are not closed; they run on under the
    /// old configuration as HTTP/1.1 ones do, and the connection ends with its last
    /// stream.
    pub fn start_drain(&mut self, now: Instant) {
        self.conn.start_shutdown(now);
        self.pump(now);
    }

    /// Server push (RFC 9113 §8.4): whether the client's SETTINGS_ENABLE_PUSH allows it.
    pub fn peer_enable_push(&self) -> bool {
        self.conn.peer_enable_push()
    }

    /// Server push: see [`H2Conn::push_promise`].
    pub fn push_promise<B>(
        &mut self,
        parent: u32,
        scheme: &str,
        request: &http::Request<B>,
    ) -> Result<u32, crate::proto::h2::NoPush> {
        self.conn.push_promise(parent, scheme, request)
    }

    /// GOAWAY (RFC 9113 §6.8) and Close 1001 on every WebSocket (RFC 6455 §7.4.1):
    /// the streams end when their close handshakes do.
    pub fn start_shutdown(&mut self, now: Instant) {
        for w in &mut self.ws {
            w.session.start_shutdown(now);
        }
        // The Close frames go out ahead of the GOAWAY, so a client that stops
        // reading streams at the GOAWAY has seen them.
        self.pump(now);
        self.conn.start_shutdown(now);
        self.pump(now);
    }

    /// Adds the outcomes of the connection to the shared counters (at close).
    pub fn record_stats(&self, stats: &WorkerCounters) {
        let s = self.conn.stats();
        WorkerCounters::add(&stats.h2_streams_opened, s.streams_opened);
        WorkerCounters::add(&stats.h2_streams_refused, s.streams_refused);
        WorkerCounters::add(&stats.h2_streams_reset_by_peer, s.streams_reset_by_peer);
        WorkerCounters::add(&stats.h2_streams_reset_by_us, s.streams_reset_by_us);
        WorkerCounters::add(&stats.h2_streams_pushed, s.streams_pushed);
        if let Some(code) = s.goaway_sent {
            stats.count_goaway(code);
        }
    }
}

/// One round of moving bytes between a stream and its session. True when anything
/// moved (another round may move more).
fn pump_once(conn: &mut H2Conn, w: &mut WsStream, now: Instant) -> bool {
    let mut moved = false;
    while w.session.wants_read() {
        let Some(data) = conn.tunnel_read(w.id) else {
            break;
        };
        w.session.handle_input(now, &data);
        moved = true;
    }
    if !w.read_closed && conn.tunnel_read_closed(w.id) {
        w.read_closed = true;
        if !w.session.is_closed() {
            // END_STREAM without a Close frame: 1006 (RFC 6455 §7.1.5).
            w.session.handle_read_closed(now);
        }
        moved = true;
    }
    loop {
        let room = conn.tunnel_send_room(w.id);
        if room == 0 {
            break;
        }
        let out = w.session.out();
        // A session queues only in-memory frames.
        let Some(Chunk::Bytes(b)) = out.front() else {
            break;
        };
        let piece = b.slice(..b.len().min(room));
        out.advance(piece.len() as u64);
        conn.tunnel_send(now, w.id, piece);
        moved = true;
    }
    if moved && w.session.out_is_empty() {
        // Input or mail held back while the queue was full may go on now.
        w.session.handle_output_drained(now);
    }
    moved
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The HTTP/2 engine and its WebSocket sessions driven by bytes with a virtual
    //! clock, answered by `WebSocketService` as `respond_h2.rs` does.

    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use bytes::{Bytes, BytesMut};

    use crate::config::Config;
    use crate::driver::engine::{Engine, EngineEvent};
    use crate::proto::h2::error::ErrorCode;
    use crate::proto::h2::frame::{Data, Frame, FrameReader, Head, Headers, RstStream};
    use crate::proto::h2::hpack::{self, HeaderField};
    use crate::proto::h2::{Event, PREFACE};
    use crate::proto::out::Chunk;
    use crate::proto::ws::{CloseCode, Message};
    use crate::service::ws::{WebSocketService, WsContext, WsHandler, WsUpgrade};
    use crate::service::{RequestContext, Response, Service};

    type Closes = Arc<Mutex<Vec<Option<u16>>>>;

    /// Echoes, and records each `on_close`.
    struct Recorder(Closes);

    impl WsHandler for Recorder {
        fn on_message(&mut self, ws: &mut WsContext<'_>, msg: Message) {
            let _ = match msg {
                Message::Text(t) => ws.send_text(&t),
                Message::Binary(b) => ws.send_binary(b),
            };
        }
        fn on_close(&mut self, code: Option<CloseCode>, _reason: &str) {
            self.0.lock().unwrap().push(code.map(|c| c.0));
        }
    }

    struct NotFound;
    impl Service for NotFound {
        fn call(&mut self, _: &crate::service::Request, _: &RequestContext) -> Response {
            crate::service::error_response(http::StatusCode::NOT_FOUND)
        }
    }

    struct Client {
        e: Engine,
        svc: WebSocketService<NotFound>,
        now: Instant,
        enc: hpack::Encoder,
        reader: FrameReader,
        frames: Vec<Frame>,
        closes: Closes,
    }

    impl Client {
        fn new() -> Client {
            let cfg = Config {
                enable_websocket: true,
                ..Config::default()
            };
            let now = Instant::now();
            let mut e = Engine::h1(&cfg, now);
            e.switch_to_h2(&cfg, now);
            let closes: Closes = Arc::default();
            let c2 = closes.clone();
            let svc = WebSocketService::new(
                NotFound,
                cfg.websocket.clone(),
                Arc::new(move |_| Box::new(Recorder(c2.clone()))),
            );
            let mut c = Client {
                e,
                svc,
                now,
                enc: hpack::Encoder::new(),
                reader: FrameReader::new(),
                frames: Vec::new(),
                closes,
            };
            let mut hello = PREFACE.to_vec();
            hello.extend(raw(0x4, 0, 0, &[]));
            hello.extend(raw(0x4, 0x1, 0, &[]));
            c.send(&hello);
            c
        }

        fn send(&mut self, bytes: &[u8]) {
            self.e.handle_input(self.now, bytes);
            self.serve();
        }

        /// Answers requests as `respond_h2.rs` does, then collects the output.
        fn serve(&mut self) {
            while let Some(ev) = self.e.poll_event() {
                let EngineEvent::H2(Event::Request { stream_id, request }) = ev else {
                    continue;
                };
                let ctx = RequestContext {
                    peer: "127.0.0.1:1".parse().unwrap(),
                    secure: true,
                    now: self.now,
                    wall: std::time::SystemTime::now(),
                    sni: None,
                    https_port: None,
                };
                let resp = self.svc.call(&request, &ctx);
                let up = resp.extensions().get::<WsUpgrade>().cloned();
                self.e
                    .send_stream_response(self.now, stream_id, resp, None, None);
                self.e
                    .start_ws_stream(self.now, stream_id, up, || Arc::new(|| {}));
            }
            loop {
                let out = self.e.transmit(self.now);
                let Some(Chunk::Bytes(b)) = out.front().cloned() else {
                    break;
                };
                out.advance(b.len() as u64);
                self.reader.push(&b);
            }
            while let Some(f) = self.reader.next_frame(1 << 24).unwrap() {
                self.frames.push(f);
            }
            self.e.handle_output_drained(self.now);
        }

        fn open(&mut self, id: u32) {
            let mut block = Vec::new();
            self.enc.encode(
                [
                    (":method", "CONNECT"),
                    (":protocol", "websocket"),
                    (":scheme", "https"),
                    (":authority", "a"),
                    (":path", "/ws"),
                    ("sec-websocket-version", "13"),
                ]
                .iter()
                .map(|(n, v)| HeaderField {
                    name: n.as_bytes(),
                    value: v.as_bytes(),
                    sensitive: false,
                }),
                &mut block,
            );
            let h = Headers {
                stream_id: id,
                priority: None,
                fragment: Bytes::from(block),
                end_stream: false,
                end_headers: true,
            };
            let mut b = BytesMut::new();
            h.encode(&mut b);
            self.send(&b);
        }

        fn data(&mut self, id: u32, payload: &[u8], end_stream: bool) {
            let d = Data {
                stream_id: id,
                data: Bytes::copy_from_slice(payload),
                end_stream,
                flow_len: payload.len() as u32,
            };
            let mut b = BytesMut::new();
            d.encode(&mut b);
            self.send(&b);
        }

        fn advance(&mut self, d: Duration) {
            self.now += d;
            self.e.handle_timeout(self.now);
            self.serve();
        }

        /// DATA received on `id` since the last call, and whether it ended.
        fn take_data(&mut self, id: u32) -> (Vec<u8>, bool) {
            let mut out = (Vec::new(), false);
            self.frames.retain(|f| match f {
                Frame::Data(d) if d.stream_id == id => {
                    out.0.extend_from_slice(&d.data);
                    out.1 |= d.end_stream;
                    false
                }
                _ => true,
            });
            out
        }
    }

    fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut b = BytesMut::new();
        Head::new(kind, flags, stream, payload.len() as u32).encode(&mut b);
        b.extend_from_slice(payload);
        b.to_vec()
    }

    /// A masked client frame (RFC 6455 §5.3) with a zero key: payload unchanged.
    fn ws_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn rfc8441_5_echo_on_two_streams_of_one_connection() {
        let mut c = Client::new();
        c.open(1);
        c.open(3);
        assert!(c.e.is_websocket());
        c.data(3, &ws_frame(0x81, b"three"), false);
        c.data(1, &ws_frame(0x81, b"one"), false);
        assert_eq!(c.take_data(1), (b"\x81\x03one".to_vec(), false));
        assert_eq!(c.take_data(3), (b"\x81\x05three".to_vec(), false));
    }

    #[test]
    fn rfc8441_6_close_handshake_ends_the_stream_and_runs_on_close_once() {
        let mut c = Client::new();
        c.open(1);
        c.data(1, &ws_frame(0x88, &1000u16.to_be_bytes()), false);
        assert_eq!(c.take_data(1), (b"\x88\x02\x03\xe8".to_vec(), true));
        assert_eq!(*c.closes.lock().unwrap(), [Some(1000)]);
        assert!(!c.e.is_websocket(), "the session is gone");
        c.data(1, b"", true);
        assert!(!c.e.is_closed(), "the connection goes on");
        assert_eq!(*c.closes.lock().unwrap(), [Some(1000)]);
    }

    #[test]
    fn rfc8441_6_rst_stream_closes_the_session_as_1006() {
        let mut c = Client::new();
        c.open(1);
        c.open(3);
        // Half a frame, then the client resets the stream.
        c.data(1, &ws_frame(0x82, &[7; 100])[..50], false);
        let mut b = BytesMut::new();
        RstStream {
            stream_id: 1,
            code: ErrorCode::CANCEL,
        }
        .encode(&mut b);
        c.send(&b);
        assert_eq!(*c.closes.lock().unwrap(), [Some(1006)]);
        // The other WebSocket goes on.
        c.data(3, &ws_frame(0x82, b"x"), false);
        assert_eq!(c.take_data(3).0, b"\x82\x01x");
    }

    #[test]
    fn rfc8441_6_connection_end_closes_every_session() {
        let mut c = Client::new();
        c.open(1);
        c.open(3);
        c.e.handle_read_closed(c.now);
        c.serve();
        assert_eq!(*c.closes.lock().unwrap(), [Some(1006), Some(1006)]);
        assert!(c.e.is_closed());
    }

    #[test]
    fn rfc9113_5_4_1_connection_error_goaway_closes_every_session_once() {
        let mut c = Client::new();
        c.open(1);
        c.open(3);
        // DATA on stream 0 is a connection error PROTOCOL_ERROR (RFC 9113 §6.1).
        c.send(&raw(0x0, 0, 0, b"x"));
        assert!(c.frames.iter().any(|f| matches!(f, Frame::GoAway(_))));
        assert_eq!(*c.closes.lock().unwrap(), [Some(1006), Some(1006)]);
        assert!(!c.e.is_websocket() && c.e.is_closed());
    }

    #[test]
    fn rfc9113_6_8_client_goaway_then_fin_ends_the_session() {
        let mut c = Client::new();
        c.open(1);
        // The client's GOAWAY alone leaves its open streams running (§6.8)...
        c.send(&raw(0x7, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]));
        c.data(1, &ws_frame(0x81, b"still"), false);
        assert_eq!(c.take_data(1).0, b"\x81\x05still");
        assert!(c.closes.lock().unwrap().is_empty());
        // ...and its FIN ends them, with the handler told.
        c.e.handle_read_closed(c.now);
        c.serve();
        assert_eq!(*c.closes.lock().unwrap(), [Some(1006)]);
        assert!(c.e.is_closed());
    }

    #[test]
    fn rfc6455_5_5_2_each_stream_pings_when_idle_and_the_h2_idle_timeout_waits() {
        let mut c = Client::new();
        c.open(1);
        let limits = Config::default().websocket.limits;
        let h2_idle = Config::default().http2.idle_timeout;
        // Past the connection's idle timeout, kept alive by the session's pings
        // and the client's pongs: no idle GOAWAY while the WebSocket is open.
        let rounds = h2_idle.as_secs() / limits.ping_interval.as_secs() + 2;
        for _ in 0..rounds {
            c.advance(limits.ping_interval);
            assert_eq!(c.take_data(1).0, b"\x89\x00", "a Ping on the idle stream");
            c.data(1, &ws_frame(0x8a, b""), false);
        }
        assert!(!c.frames.iter().any(|f| matches!(f, Frame::GoAway(_))));
        assert!(!c.e.is_closed() && c.e.is_websocket());
    }

    #[test]
    fn rfc6455_7_4_1_shutdown_sends_1001_before_the_goaway() {
        let mut c = Client::new();
        c.open(1);
        c.frames.clear();
        c.e.start_shutdown(c.now);
        c.serve();
        let close = c
            .frames
            .iter()
            .position(|f| matches!(f, Frame::Data(d) if d.data.starts_with(b"\x88")))
            .unwrap();
        let goaway = c
            .frames
            .iter()
            .position(|f| matches!(f, Frame::GoAway(_)))
            .unwrap();
        assert!(close < goaway);
        let (data, _) = c.take_data(1);
        assert_eq!(&data[2..4], &1001u16.to_be_bytes());
    }
}
