//! Extended CONNECT (RFC 8441): the setting, the request, and the stream as a byte
//! stream for another protocol (WebSocket), as commands on [`H2Conn`].
//!
//! * SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 goes out in our first SETTINGS when the
//!   connection is built with [`H2Conn::with_connect_protocol`] (§3).
//! * A request with `:protocol` is refused as malformed (stream PROTOCOL_ERROR) when
//!   we did not send the setting (§3, §4); its other rules are in `request.rs`.
//! * A valid one is delivered as `Event::Request` at once (its stream stays open),
//!   carrying a [`Protocol`] extension. A 2xx answer from `send_response` opens the
//!   tunnel: HEADERS without END_STREAM (§5), then DATA both ways under flow control.
//!   Any other status ends the stream as an ordinary response does.
//! * Orderly close is END_STREAM both ways (§6): [`H2Conn::tunnel_finish`] sends ours
//!   after the queued output; the client's must follow within
//!   `Http2Limits::tunnel_end_stream_linger`, or the stream is reset NO_ERROR. RST_STREAM ends it abnormally (§6).
//!
//! Driving a tunnel (after every engine input, see `driver/ws_h2.rs`): read with
//! [`H2Conn::tunnel_read`] when the consumer can take bytes (the window opens as it
//! reads), check [`H2Conn::tunnel_read_closed`], write with [`H2Conn::tunnel_send`]
//! within [`H2Conn::tunnel_send_room`], and [`H2Conn::tunnel_exists`] tells when the
//! stream is gone (reset by the client, connection closed).

use std::time::Instant;

use bytes::Bytes;
use http::StatusCode;

use super::super::frame::head::{flags, kind};
use super::super::frame::{Head, RstStream, WindowUpdate};
use super::super::hpack::HeaderField;
use super::super::request::RequestHead;
use super::super::streams::state::StreamState;
use super::super::streams::{Closed, RecvPhase, SendBody, Stream};
use super::{ConnError, ErrorCode, Event, H2Conn};
use crate::limits::Http2Limits;
use crate::service::Response;

/// Request extension of an extended CONNECT: the `:protocol` it asks for (RFC 8441
/// §4), e.g. `websocket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol(pub String);

impl H2Conn {
    /// A connection that advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 when
    /// `enabled` (RFC 8441 §3), and then accepts extended CONNECT requests.
    pub fn with_connect_protocol(limits: Http2Limits, now: Instant, enabled: bool) -> Self {
        Self::build(limits, now, enabled)
    }

    /// Whether we advertised SETTINGS_ENABLE_CONNECT_PROTOCOL.
    pub fn connect_protocol_enabled(&self) -> bool {
        self.connect_protocol
    }

    /// A stream whose extended CONNECT is (or may become) a tunnel.
    pub fn tunnel_exists(&self, id: u32) -> bool {
        self.streams
            .map
            .get(&id)
            .is_some_and(|s| s.tunnel.is_some())
    }

    /// Bytes the client sent on the tunnel and nobody read yet, taken; their window
    /// is given back (a WINDOW_UPDATE once half the window is owed).
    pub fn tunnel_read(&mut self, id: u32) -> Option<Bytes> {
        let s = self.streams.map.get_mut(&id)?;
        let data = s.tunnel.as_mut()?.take_input()?;
        s.recv_window.consumed(data.len() as u32);
        if let Some(inc) = s.recv_window.take_update() {
            WindowUpdate {
                stream_id: id,
                increment: inc,
            }
            .encode(&mut self.stage);
        }
        Some(data)
    }

    /// The client will send nothing more: END_STREAM (or the connection's read side
    /// closed, or the stream is gone) and everything was read.
    pub fn tunnel_read_closed(&self, id: u32) -> bool {
        match self.streams.map.get(&id).and_then(|s| s.tunnel.as_ref()) {
            Some(t) => !t.has_input() && (t.recv_fin || self.read_closed),
            None => true,
        }
    }

    /// Bytes [`H2Conn::tunnel_send`] takes now (0 before the 2xx, after
    /// `tunnel_finish`, or while the queue is full).
    pub fn tunnel_send_room(&self, id: u32) -> usize {
        let Some(s) = self.streams.map.get(&id) else {
            return 0;
        };
        match &s.tunnel {
            // What is being framed counts too: the bound covers all queued output.
            Some(t) if t.open => {
                let framing = s.body.as_ref().map_or(0, |b| b.remaining() as usize);
                t.send_room(self.limits.tunnel_send_queue)
                    .saturating_sub(framing)
            }
            _ => 0,
        }
    }

    /// Queues bytes for the tunnel's DATA frames (sent as windows allow).
    pub fn tunnel_send(&mut self, now: Instant, id: u32, data: Bytes) {
        let Some(s) = self.streams.map.get_mut(&id) else {
            return;
        };
        let Some(t) = s.tunnel.as_mut() else {
            return;
        };
        if !t.open || t.send_fin {
            return;
        }
        t.push_output(data);
        if s.body.is_none() {
            s.body = t.next_output().map(SendBody::Bytes);
        }
        self.after_work(now);
    }

    /// Orderly end of our side (RFC 8441 §6): END_STREAM after the queued output.
    pub fn tunnel_finish(&mut self, now: Instant, id: u32) {
        let Some(s) = self.streams.map.get_mut(&id) else {
            return;
        };
        let Some(t) = s.tunnel.as_mut() else {
            return;
        };
        if t.send_fin {
            return;
        }
        t.send_fin = true;
        if s.body.is_none() && t.output_is_empty() {
            Head::new(kind::DATA, flags::END_STREAM, id, 0).encode(&mut self.stage);
            self.finish_send(now, id);
        }
        self.after_work(now);
    }

    /// Abnormal end (RFC 8441 §6): RST_STREAM with `code`, e.g. CANCEL.
    pub fn tunnel_reset(&mut self, now: Instant, id: u32, code: ErrorCode) {
        if !self.tunnel_exists(id) {
            return;
        }
        RstStream {
            stream_id: id,
            code,
        }
        .encode(&mut self.stage);
        self.remove_stream(now, id, Closed::ResetByUs);
        self.after_work(now);
    }

    // ----- engine side -----

    /// A valid request with `:protocol` opened stream `id`: refuse it unless we
    /// advertised the setting (§3), otherwise deliver it now, with the stream open.
    pub(super) fn open_tunnel(
        &mut self,
        now: Instant,
        id: u32,
        mut stream: Stream,
        head: RequestHead,
        end_stream: bool,
    ) -> Result<(), ConnError> {
        let Some(protocol) = head.protocol else {
            return Ok(());
        };
        stream.recv = RecvPhase::Done;
        self.streams.map.insert(id, stream);
        if !self.connect_protocol {
            return self.malformed(
                now,
                id,
                ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL",
            );
        }
        let Some(s) = self.streams.map.get_mut(&id) else {
            return Ok(());
        };
        s.priority = head.priority;
        s.tunnel = Some(Box::default());
        s.awaiting_response = true;
        let mut request = head.request;
        request
            .make_mut()
            .extensions_mut()
            .insert(Protocol(protocol));
        self.events.push_back(Event::Request {
            stream_id: id,
            request,
        });
        if end_stream {
            return self.recv_end_stream(now, id);
        }
        Ok(())
    }

    /// `send_response` on a tunnel stream with a 2xx: HEADERS without END_STREAM and
    /// without `content-length` (RFC 9110 §9.3.6: none on a 2xx to CONNECT), then the
    /// tunnel is open. Fields dropped as in `response.rs` (RFC 9113 §8.2.2).
    pub(super) fn accept_tunnel(&mut self, now: Instant, id: u32, resp: Response) {
        let Some(t) = self
            .streams
            .map
            .get_mut(&id)
            .and_then(|s| s.tunnel.as_mut())
        else {
            return;
        };
        t.open = true;
        let (parts, _) = resp.into_parts();
        let status = parts.status;
        let fields = std::iter::once(HeaderField {
            name: b":status",
            value: status.as_str().as_bytes(),
            sensitive: false,
        })
        .chain(
            parts
                .headers
                .iter()
                .filter(|(n, _)| {
                    !matches!(
                        n.as_str(),
                        "connection"
                            | "proxy-connection"
                            | "keep-alive"
                            | "transfer-encoding"
                            | "upgrade"
                            | "content-length"
                    )
                })
                .map(|(n, v)| HeaderField {
                    name: n.as_str().as_bytes(),
                    value: v.as_bytes(),
                    sensitive: n.as_str() == "set-cookie",
                }),
        );
        let mut block = Vec::with_capacity(128);
        self.encoder.encode(fields, &mut block);
        self.write_header_block(id, &block, false);
        self.after_work(now);
    }

    /// `finish_send` on a tunnel whose client side is still open: wait for its
    /// END_STREAM rather than resetting at once. Returns false for other streams.
    pub(super) fn linger_tunnel(&mut self, now: Instant, id: u32, next: StreamState) -> bool {
        let read_closed = self.read_closed;
        let Some(s) = self.streams.map.get_mut(&id) else {
            return false;
        };
        let Some(t) = s.tunnel.as_mut() else {
            return false;
        };
        if read_closed {
            // No END_STREAM can come after the connection's FIN.
            self.remove_stream(now, id, Closed::Other);
            return true;
        }
        t.linger = Some(now + self.limits.tunnel_end_stream_linger);
        s.state = next;
        true
    }

    /// A tunnel's deadline passed (its client never ended the stream): reset.
    /// Returns false for streams that are not tunnels.
    pub(super) fn expire_tunnel(&mut self, now: Instant, id: u32) -> bool {
        if !self.tunnel_exists(id) {
            return false;
        }
        log::debug!("h2: tunnel {id}: no END_STREAM from the client in time");
        RstStream {
            stream_id: id,
            code: ErrorCode::NO_ERROR,
        }
        .encode(&mut self.stage);
        self.remove_stream(now, id, Closed::ResetByUs);
        true
    }

    /// Whether a status opens a tunnel (RFC 9110 §9.3.6: any 2xx).
    pub(super) fn opens_tunnel(status: StatusCode) -> bool {
        status.is_success()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use bytes::Bytes;

    use super::super::tests::Pair;
    use super::*;
    use crate::proto::h2::frame::settings::id as setting;
    use crate::proto::h2::frame::Frame;
    use crate::proto::h2::PREFACE;
    use crate::service::Body;

    const WS: [(&str, &str); 6] = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/ws"),
        ("sec-websocket-version", "13"),
    ];

    fn pair(enabled: bool) -> Pair {
        let mut p = Pair::new(Http2Limits::default());
        p.conn = H2Conn::with_connect_protocol(Http2Limits::default(), p.now, enabled);
        p.send(PREFACE);
        p.settings(&[]);
        p.settings_ack();
        p.drain();
        p
    }

    fn our_settings(p: &Pair) -> Vec<(u16, u32)> {
        p.frames
            .iter()
            .find_map(|f| match f {
                Frame::Settings(s) if !s.ack => Some(s.params.clone()),
                _ => None,
            })
            .unwrap()
    }

    /// Opens a tunnel on stream 1 and answers it 200.
    fn opened() -> Pair {
        let mut p = pair(true);
        p.frames.clear();
        p.headers(1, &WS, false);
        let reqs = p.requests();
        assert_eq!(reqs.len(), 1);
        let ok = http::Response::new(Body::Empty);
        p.conn.send_response(p.now, 1, ok);
        p.drain();
        p
    }

    #[test]
    fn rfc8441_3_setting_advertised_only_when_enabled() {
        let p = pair(true);
        assert!(our_settings(&p).contains(&(setting::ENABLE_CONNECT_PROTOCOL, 1)));
        let p = pair(false);
        assert!(!our_settings(&p)
            .iter()
            .any(|(id, _)| *id == setting::ENABLE_CONNECT_PROTOCOL));
    }

    #[test]
    fn rfc8441_4_protocol_without_the_setting_is_stream_protocol_error() {
        let mut p = pair(false);
        p.headers(1, &WS, false);
        assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
        assert!(p.requests().is_empty());
        // A stream error only: the connection goes on.
        assert!(p.goaway().is_none());
        p.get(3, "/");
        assert_eq!(p.requests().len(), 1);
    }

    #[test]
    fn rfc8441_4_protocol_on_a_get_is_stream_protocol_error() {
        let mut p = pair(true);
        let mut fields = WS.to_vec();
        fields[0] = (":method", "GET");
        p.headers(1, &fields, true);
        assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
        assert!(p.requests().is_empty() && p.goaway().is_none());
    }

    #[test]
    fn rfc8441_5_missing_path_is_stream_protocol_error() {
        let mut p = pair(true);
        let fields: Vec<_> = WS.iter().copied().filter(|(n, _)| *n != ":path").collect();
        p.headers(1, &fields, false);
        assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    }

    #[test]
    fn rfc8441_4_request_delivered_at_headers_with_its_protocol() {
        let mut p = pair(true);
        p.headers(1, &WS, false);
        let reqs = p.requests();
        let (id, r) = &reqs[0];
        assert_eq!(*id, 1);
        assert_eq!(r.method(), http::Method::CONNECT);
        assert_eq!(r.uri().path(), "/ws");
        assert_eq!(
            r.extensions().get::<Protocol>(),
            Some(&Protocol("websocket".into()))
        );
        assert!(p.conn.tunnel_exists(1));
        assert_eq!(p.conn.tunnel_send_room(1), 0, "nothing before the 2xx");
    }

    #[test]
    fn rfc8441_5_200_without_end_stream_or_content_length_then_data_both_ways() {
        let mut p = opened();
        let fields = p.response_fields(1);
        assert_eq!(fields[0], (":status".into(), "200".into()));
        assert!(!fields.iter().any(|(n, _)| n == "content-length"));
        assert!(!p.data_on(1).1, "no END_STREAM on the 2xx");
        p.data(1, b"hello", false);
        assert_eq!(p.conn.tunnel_read(1).unwrap(), &b"hello"[..]);
        assert!(p.conn.tunnel_read(1).is_none());
        let now = p.now;
        p.conn.tunnel_send(now, 1, Bytes::from_static(b"\x81\x02"));
        p.conn.tunnel_send(now, 1, Bytes::from_static(b"hi"));
        p.drain();
        assert_eq!(p.data_on(1), (b"\x81\x02hi".to_vec(), false));
    }

    #[test]
    fn rfc8441_5_extended_connect_fed_one_byte_at_a_time() {
        let mut p = pair(true);
        let block = p.block(&WS);
        let mut wire = bytes::BytesMut::new();
        Head::new(kind::HEADERS, flags::END_HEADERS, 1, block.len() as u32).encode(&mut wire);
        wire.extend_from_slice(&block);
        Head::new(kind::DATA, 0, 1, 3).encode(&mut wire);
        wire.extend_from_slice(b"abc");
        for b in wire.iter() {
            p.send(&[*b]);
        }
        assert_eq!(p.requests().len(), 1);
        assert_eq!(p.conn.tunnel_read(1).unwrap(), &b"abc"[..]);
    }

    #[test]
    fn rfc9113_6_9_tunnel_window_opens_only_as_input_is_read() {
        let mut p = opened();
        p.frames.clear();
        let chunk = vec![0u8; 16_384];
        for _ in 0..3 {
            p.data(1, &chunk, false);
        }
        let stream_updates = |p: &Pair| {
            p.frames
                .iter()
                .filter(|f| matches!(f, Frame::WindowUpdate(w) if w.stream_id == 1))
                .count()
        };
        assert_eq!(stream_updates(&p), 0, "nothing read yet");
        assert_eq!(p.conn.tunnel_read(1).unwrap().len(), 3 * 16_384);
        p.drain();
        assert_eq!(stream_updates(&p), 1);
    }

    #[test]
    fn rfc9113_6_9_1_tunnel_output_respects_the_stream_window() {
        let mut p = opened();
        p.frames.clear();
        let now = p.now;
        // The client's window is 65,535; the queue takes 64 KiB at most.
        let room = p.conn.tunnel_send_room(1);
        assert_eq!(room, Http2Limits::default().tunnel_send_queue);
        p.conn.tunnel_send(now, 1, Bytes::from(vec![1u8; room]));
        p.drain();
        assert_eq!(p.data_on(1).0.len(), 65_535);
        assert_eq!(p.conn.tunnel_send_room(1), room - 1);
        p.window_update(1, 10);
        p.window_update(0, 10);
        assert_eq!(p.data_on(1).0.len(), room);
    }

    #[test]
    fn rfc8441_6_orderly_close_is_end_stream_both_ways() {
        let mut p = opened();
        let now = p.now;
        p.conn
            .tunnel_send(now, 1, Bytes::from_static(b"\x88\x02\x03\xe8"));
        p.conn.tunnel_finish(now, 1);
        p.drain();
        assert_eq!(p.data_on(1), (b"\x88\x02\x03\xe8".to_vec(), true));
        assert!(
            p.rst_code(1).is_none(),
            "no reset while the client may answer"
        );
        assert!(p.conn.tunnel_exists(1));
        p.data(1, b"", true);
        assert!(!p.conn.tunnel_exists(1));
        assert!(p.conn.is_idle());
        assert!(p.rst_code(1).is_none() && p.goaway().is_none());
    }

    #[test]
    fn rfc8441_6_client_end_stream_is_read_closed_after_its_data() {
        let mut p = opened();
        p.data(1, b"x", true);
        assert!(!p.conn.tunnel_read_closed(1));
        assert_eq!(p.conn.tunnel_read(1).unwrap(), &b"x"[..]);
        assert!(p.conn.tunnel_read_closed(1));
        p.conn.tunnel_finish(p.now, 1);
        p.drain();
        assert!(!p.conn.tunnel_exists(1) && p.conn.is_idle());
    }

    #[test]
    fn rfc8441_6_client_that_never_ends_is_reset_after_the_linger() {
        let mut p = opened();
        p.conn.tunnel_finish(p.now, 1);
        p.drain();
        let linger = Http2Limits::default().tunnel_end_stream_linger;
        assert!(p.conn.poll_timeout().unwrap() <= p.now + linger);
        p.advance(linger);
        assert_eq!(p.rst_code(1), Some(ErrorCode::NO_ERROR));
        assert!(!p.conn.tunnel_exists(1));
    }

    #[test]
    fn rfc8441_6_client_fin_while_we_wait_for_its_end_stream_closes_at_once() {
        let mut p = opened();
        p.conn.tunnel_finish(p.now, 1);
        p.drain();
        assert!(
            p.conn.tunnel_exists(1),
            "lingering for the client's END_STREAM"
        );
        p.conn.handle_read_closed(p.now);
        p.drain();
        assert!(!p.conn.tunnel_exists(1));
        assert!(
            p.conn.is_closed(),
            "no wait for an END_STREAM that cannot come"
        );
    }

    #[test]
    fn rfc8441_6_client_rst_stream_ends_the_tunnel() {
        let mut p = opened();
        p.rst(1, ErrorCode::CANCEL);
        assert!(!p.conn.tunnel_exists(1));
        assert!(p.conn.tunnel_read_closed(1));
        assert_eq!(p.conn.stats().streams_reset_by_peer, 1);
    }

    #[test]
    fn rfc8441_5_refusal_ends_the_stream_like_a_response() {
        let mut p = pair(true);
        p.headers(1, &WS, false);
        let mut r = http::Response::new(Body::Empty);
        *r.status_mut() = StatusCode::FORBIDDEN;
        p.conn.send_response(p.now, 1, r);
        p.drain();
        assert!(p.data_on(1).1, "END_STREAM on the refusal");
        assert!(!p.conn.tunnel_exists(1));
    }

    /// A tunnel echoing everything it reads, fed a valid exchange split at random
    /// points (one byte at a time included): the echo is the input, END_STREAM goes
    /// both ways, and nothing is reset, whatever the splits.
    #[test]
    fn rfc8441_5_tunnel_echo_is_the_same_whatever_the_split_points() {
        let mut rng = crate::test_rng::Rng::new(8441);
        for round in 0..60 {
            let mut p = pair(true);
            let mut wire = bytes::BytesMut::new();
            let block = p.block(&WS);
            Head::new(kind::HEADERS, flags::END_HEADERS, 1, block.len() as u32).encode(&mut wire);
            wire.extend_from_slice(&block);
            let mut sent = Vec::new();
            for _ in 0..rng.below(8) {
                let n = rng.below(5_000);
                let chunk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                Head::new(kind::DATA, 0, 1, n as u32).encode(&mut wire);
                wire.extend_from_slice(&chunk);
                sent.extend(chunk);
            }
            Head::new(kind::DATA, flags::END_STREAM, 1, 0).encode(&mut wire);
            p.frames.clear();
            let mut at = 0;
            let mut finished = false;
            while at < wire.len() {
                let piece = if round % 3 == 0 {
                    1
                } else {
                    1 + rng.below(700)
                };
                let end = (at + piece).min(wire.len());
                p.send(&wire[at..end]);
                at = end;
                for (id, _) in p.requests() {
                    p.conn
                        .send_response(p.now, id, http::Response::new(Body::Empty));
                }
                while let Some(b) = p.conn.tunnel_read(1) {
                    assert!(p.conn.tunnel_send_room(1) >= b.len());
                    p.conn.tunnel_send(p.now, 1, b);
                }
                if !finished && p.conn.tunnel_read_closed(1) && p.conn.tunnel_exists(1) {
                    p.conn.tunnel_finish(p.now, 1);
                    finished = true;
                }
                p.drain();
            }
            assert!(finished, "round {round}");
            assert_eq!(p.data_on(1), (sent, true), "round {round}");
            assert!(
                p.rst_code(1).is_none() && p.goaway().is_none(),
                "round {round}"
            );
            assert!(
                !p.conn.tunnel_exists(1) && p.conn.is_idle(),
                "round {round}"
            );
        }
    }

    /// Mutated exchanges with tunnels open, fed at random splits while the tunnels
    /// echo, finish and reset at random: no panic, well-formed output (checked by
    /// `Pair`'s frame reader), never more DATA than the client's connection window
    /// allowed, and a closed connection after the client's FIN.
    #[test]
    fn rfc8441_tunnels_survive_mutated_input_and_close_after_fin() {
        let mut rng = crate::test_rng::Rng::new(0x8441);
        for round in 0..300 {
            let mut p = pair(true);
            let mut wire = bytes::BytesMut::new();
            for id in [1u32, 3, 5] {
                let block = p.block(&WS);
                Head::new(kind::HEADERS, flags::END_HEADERS, id, block.len() as u32)
                    .encode(&mut wire);
                wire.extend_from_slice(&block);
            }
            for _ in 0..rng.below(12) {
                let id = *rng.pick(&[1u32, 3, 5, 7]);
                let (k, f, payload): (u8, u8, Vec<u8>) = match rng.below(5) {
                    0 => (kind::RST_STREAM, 0, 8u32.to_be_bytes().to_vec()),
                    1 => (kind::WINDOW_UPDATE, 0, 100u32.to_be_bytes().to_vec()),
                    2 => (kind::DATA, flags::END_STREAM, vec![0x88, 0x80, 0, 0, 0, 0]),
                    _ => (
                        kind::DATA,
                        0,
                        (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
                    ),
                };
                Head::new(k, f, id, payload.len() as u32).encode(&mut wire);
                wire.extend_from_slice(&payload);
            }
            let mut wire = wire.to_vec();
            for _ in 0..rng.below(3) {
                let at = rng.below(wire.len());
                wire[at] = rng.next() as u8;
            }
            p.frames.clear();
            let mut at = 0;
            while at < wire.len() && !p.conn.is_closed() {
                let end = (at + 1 + rng.below(200)).min(wire.len());
                p.send(&wire[at..end]);
                at = end;
                for (id, _) in p.requests() {
                    p.conn
                        .send_response(p.now, id, http::Response::new(Body::Empty));
                }
                // Every tunnel, mutated stream ids included, as the driver would.
                let ids: Vec<u32> = p.conn.streams.map.keys().copied().collect();
                for id in ids {
                    while let Some(b) = p.conn.tunnel_read(id) {
                        let room = p.conn.tunnel_send_room(id).min(b.len());
                        p.conn.tunnel_send(p.now, id, b.slice(..room));
                    }
                    match rng.below(20) {
                        0 => p.conn.tunnel_finish(p.now, id),
                        1 => p.conn.tunnel_reset(p.now, id, ErrorCode::CANCEL),
                        _ if p.conn.tunnel_read_closed(id) => p.conn.tunnel_finish(p.now, id),
                        _ => {}
                    }
                }
                p.drain();
                p.advance(std::time::Duration::from_millis(rng.below(3_000) as u64));
            }
            p.conn.handle_read_closed(p.now);
            let ids: Vec<u32> = p.conn.streams.map.keys().copied().collect();
            for id in ids {
                assert!(p.conn.tunnel_read_closed(id));
                p.conn.tunnel_finish(p.now, id);
            }
            p.drain();
            assert!(
                p.conn.is_closed(),
                "round {round}: open after the FIN: {:?} phase {:?}",
                p.conn.streams.map,
                p.conn.phase
            );
            let sent: usize = p
                .frames
                .iter()
                .map(|f| match f {
                    Frame::Data(d) => d.data.len(),
                    _ => 0,
                })
                .sum();
            assert!(sent <= 65_535 + 300, "round {round}: {sent} bytes of DATA");
        }
    }

    #[test]
    fn rfc9113_5_1_2_tunnels_count_against_max_concurrent_streams_and_keep_the_conn_alive() {
        let limits = Http2Limits {
            max_concurrent_streams: 2,
            ..Default::default()
        };
        let now = Instant::now();
        let mut p = Pair::new(limits.clone());
        p.conn = H2Conn::with_connect_protocol(limits.clone(), now, true);
        p.send(PREFACE);
        p.settings(&[]);
        p.settings_ack();
        p.headers(1, &WS, false);
        p.headers(3, &WS, false);
        p.get(5, "/");
        assert_eq!(p.rst_code(5), Some(ErrorCode::REFUSED_STREAM));
        // Open tunnels are not an idle connection: no idle GOAWAY.
        p.advance(limits.idle_timeout * 2);
        assert!(p.goaway().is_none());
    }
}
