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

    pub fn send_response(&mut self, now: Instant, stream_id: u32, resp: Response) {
        self.conn.send_response(now, stream_id, resp);
    }

    pub fn send_informational(&mut self, now: Instant, stream_id: u32, resp: Response) {
        self.conn.send_informational(now, stream_id, resp);
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
