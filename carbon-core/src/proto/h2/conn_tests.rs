//! The connection driven by bytes with a virtual clock, one test per RFC 9113 rule.
//! [`Pair`] plays the client: it writes frames, and reads and decodes what the engine
//! sends (file regions included).
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::StatusCode;

use super::*;
use crate::limits::Http2Limits;
use crate::proto::h2::frame::head::{flags as fl, kind as ty};
use crate::proto::h2::frame::settings;
use crate::proto::h2::frame::{Priority, PrioritySpec};
use crate::proto::h2::hpack::HeaderField;
use crate::proto::out::Chunk;
use crate::service::FileRegion;

/// A test client around one engine.
pub(super) struct Pair {
    pub conn: H2Conn,
    pub now: Instant,
    enc: hpack::Encoder,
    dec: hpack::Decoder,
    reader: FrameReader,
    /// Everything the engine sent, as frames, in order.
    pub frames: Vec<Frame>,
    pub events: Vec<Event>,
    /// Largest output queue seen (bytes plus file regions).
    pub max_queued: u64,
}

impl Pair {
    pub fn new(limits: Http2Limits) -> Pair {
        let now = Instant::now();
        Pair {
            conn: H2Conn::new(limits, now),
            now,
            enc: hpack::Encoder::new(),
            dec: hpack::Decoder::new(4096),
            reader: FrameReader::new(),
            frames: Vec::new(),
            events: Vec::new(),
            max_queued: 0,
        }
    }

    /// Preface, empty SETTINGS, and the ACK of the engine's SETTINGS.
    pub fn connected() -> Pair {
        Pair::connected_with(Http2Limits::default())
    }

    pub fn connected_with(limits: Http2Limits) -> Pair {
        let mut p = Pair::new(limits);
        p.send(PREFACE);
        p.settings(&[]);
        p.settings_ack();
        p.drain();
        p.frames.clear();
        p
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.drain();
    }

    pub fn send_frame(&mut self, enc: impl FnOnce(&mut BytesMut)) {
        let mut b = BytesMut::new();
        enc(&mut b);
        self.send(&b);
    }

    pub fn raw(&mut self, k: u8, f: u8, stream: u32, payload: &[u8]) {
        let mut b = BytesMut::new();
        Head::new(k, f, stream, payload.len() as u32).encode(&mut b);
        b.extend_from_slice(payload);
        self.send(&b);
    }

    pub fn settings(&mut self, params: &[(u16, u32)]) {
        let s = Settings {
            ack: false,
            params: params.to_vec(),
        };
        self.send_frame(|b| s.encode(b));
    }

    pub fn settings_ack(&mut self) {
        self.raw(ty::SETTINGS, fl::ACK, 0, b"");
    }

    pub fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        self.enc.encode(
            fields.iter().map(|(n, v)| HeaderField {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: false,
            }),
            &mut out,
        );
        out
    }

    pub fn headers(&mut self, id: u32, fields: &[(&str, &str)], end_stream: bool) {
        let block = self.block(fields);
        let h = Headers {
            stream_id: id,
            priority: None,
            fragment: Bytes::from(block),
            end_stream,
            end_headers: true,
        };
        self.send_frame(|b| h.encode(b));
    }

    pub fn get(&mut self, id: u32, path: &'static str) {
        self.headers(id, &req("GET", path), true);
    }

    pub fn data(&mut self, id: u32, data: &[u8], end_stream: bool) {
        let d = Data {
            stream_id: id,
            data: Bytes::copy_from_slice(data),
            end_stream,
            flow_len: data.len() as u32,
        };
        self.send_frame(|b| d.encode(b));
    }

    pub fn window_update(&mut self, id: u32, inc: u32) {
        self.raw(ty::WINDOW_UPDATE, 0, id, &inc.to_be_bytes());
    }

    pub fn rst(&mut self, id: u32, code: ErrorCode) {
        self.raw(ty::RST_STREAM, 0, id, &code.0.to_be_bytes());
    }

    /// Drains the engine's events and output into `events` and `frames`.
    pub fn drain(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
        loop {
            let now = self.now;
            let q = self.conn.poll_transmit(now);
            self.max_queued = self.max_queued.max(q.total());
            let Some(chunk) = q.front().cloned() else {
                break;
            };
            let bytes = match &chunk {
                Chunk::Bytes(b) => b.to_vec(),
                Chunk::File(f) => {
                    let mut v = vec![0; f.len as usize];
                    f.file.read_exact_at(&mut v, f.offset).unwrap();
                    v
                }
            };
            q.advance(chunk.len());
            self.reader.push(&bytes);
            while let Some(f) = self.reader.next_frame(1 << 24).unwrap() {
                self.frames.push(f);
            }
        }
        self.conn.handle_output_drained(self.now);
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
        self.drain();
    }

    pub fn respond(&mut self, id: u32, status: u16, body: Body) {
        let mut r = http::Response::new(body);
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        self.conn.send_response(self.now, id, r);
        self.drain();
    }

    /// The request events received so far, taken.
    pub fn requests(&mut self) -> Vec<(u32, crate::service::Request)> {
        let mut out = Vec::new();
        for e in std::mem::take(&mut self.events) {
            match e {
                Event::Request { stream_id, request } => {
                    out.push((stream_id, request.into_owned()))
                }
                other => self.events.push(other),
            }
        }
        out
    }

    pub fn goaway(&self) -> Option<&GoAway> {
        self.frames.iter().find_map(|f| match f {
            Frame::GoAway(g) => Some(g),
            _ => None,
        })
    }

    pub fn goaway_code(&self) -> Option<ErrorCode> {
        self.frames.iter().rev().find_map(|f| match f {
            Frame::GoAway(g) => Some(g.code),
            _ => None,
        })
    }

    pub fn rst_code(&self, id: u32) -> Option<ErrorCode> {
        self.frames.iter().find_map(|f| match f {
            Frame::RstStream(r) if r.stream_id == id => Some(r.code),
            _ => None,
        })
    }

    /// Decoded fields of every HEADERS frame on `id` (CONTINUATIONs appended).
    pub fn response_fields(&mut self, id: u32) -> Vec<(String, String)> {
        let mut block = Vec::new();
        let mut collecting = false;
        for f in &self.frames {
            match f {
                Frame::Headers(h) if h.stream_id == id => {
                    block.extend_from_slice(&h.fragment);
                    collecting = !h.end_headers;
                }
                Frame::Continuation(c) if collecting && c.stream_id == id => {
                    block.extend_from_slice(&c.fragment);
                    collecting = !c.end_headers;
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.dec
            .decode(&block, 1 << 20, &mut |f| {
                out.push((
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                ))
            })
            .unwrap();
        out
    }

    pub fn data_on(&self, id: u32) -> (Vec<u8>, bool) {
        let mut body = Vec::new();
        let mut end = false;
        for f in &self.frames {
            match f {
                Frame::Data(d) if d.stream_id == id => {
                    body.extend_from_slice(&d.data);
                    end |= d.end_stream;
                }
                Frame::Headers(h) if h.stream_id == id => end |= h.end_stream,
                _ => {}
            }
        }
        (body, end)
    }
}

pub(super) fn req(method: &'static str, path: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        (":method", method),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", path),
    ]
}

fn bytes_body(n: usize) -> Body {
    Body::Bytes(Bytes::from(
        (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    ))
}

// ----- §3.4 preface and §6.5 SETTINGS -----

#[test]
fn rfc9113_3_4_server_preface_is_settings_then_window_update() {
    let mut p = Pair::new(Http2Limits::default());
    p.drain();
    match &p.frames[0] {
        Frame::Settings(s) => {
            assert!(!s.ack);
            assert!(s
                .params
                .contains(&(settings::id::MAX_CONCURRENT_STREAMS, 128)));
        }
        other => panic!("first frame {other:?}"),
    }
    assert!(matches!(
        p.frames[1],
        Frame::WindowUpdate(WindowUpdate { stream_id: 0, .. })
    ));
}

#[test]
fn rfc9113_3_4_invalid_preface_is_protocol_error() {
    let mut p = Pair::new(Http2Limits::default());
    p.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_3_4_first_frame_not_settings_is_protocol_error() {
    let mut p = Pair::new(Http2Limits::default());
    p.send(PREFACE);
    p.raw(ty::PING, 0, 0, b"12345678");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_6_5_settings_are_acknowledged() {
    let mut p = Pair::connected();
    p.settings(&[(settings::id::MAX_FRAME_SIZE, 20_000)]);
    assert!(p
        .frames
        .iter()
        .any(|f| matches!(f, Frame::Settings(s) if s.ack)));
}

#[test]
fn rfc9113_6_5_3_settings_ack_timeout_is_settings_timeout() {
    let mut p = Pair::new(Http2Limits::default());
    p.send(PREFACE);
    p.settings(&[]);
    p.advance(Duration::from_secs(5));
    assert_eq!(p.goaway_code(), None, "spurious early timeout is harmless");
    p.advance(Duration::from_secs(6));
    assert_eq!(p.goaway_code(), Some(ErrorCode::SETTINGS_TIMEOUT));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_3_4_preface_timeout_closes() {
    let mut p = Pair::new(Http2Limits::default());
    p.send(&PREFACE[..10]);
    assert!(p.conn.poll_timeout().is_some());
    p.advance(Duration::from_secs(11));
    assert!(p.conn.is_closed());
}

// ----- §8 a whole exchange -----

#[test]
fn rfc9113_8_1_get_answered_with_headers_and_data() {
    let mut p = Pair::connected();
    p.headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/x?y=1"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ],
        true,
    );
    let reqs = p.requests();
    assert_eq!(reqs.len(), 1);
    let (id, r) = &reqs[0];
    assert_eq!(*id, 1);
    assert_eq!(r.uri(), "/x?y=1");
    assert_eq!(r.headers()["host"], "example.com");
    assert_eq!(r.headers()["cookie"], "a=1; b=2");
    p.respond(1, 200, Body::Bytes(Bytes::from_static(b"hello")));
    let fields = p.response_fields(1);
    assert_eq!(fields[0], (":status".into(), "200".into()));
    assert!(fields.contains(&("content-length".into(), "5".into())));
    assert_eq!(p.data_on(1), (b"hello".to_vec(), true));
    assert_eq!(p.conn.open_streams(), 0);
    assert_eq!(p.conn.stats().streams_opened, 1);
}

#[test]
fn rfc7541_3_1_a_repeated_block_reuses_its_decoded_fields() {
    let mut p = Pair::connected();
    let fields = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/a.css"),
        ("user-agent", "poller/1"),
    ];
    // The first block indexes its fields but `:path` (the table changes: decoded, not
    // kept), the second indexes `:path`, seen again (likewise), the third refers to
    // them all (kept), the fourth is the third again (its fields reused, its request
    // built and kept), the fifth too (that request, shared).
    let blocks: Vec<Vec<u8>> = (0..5).map(|_| p.block(&fields)).collect();
    assert_ne!(blocks[1], blocks[2]);
    assert_eq!(
        blocks[2], blocks[3],
        "the test needs the client to repeat its block"
    );
    assert_eq!(blocks[3], blocks[4]);
    for (i, block) in blocks.iter().enumerate() {
        let id = 1 + 2 * i as u32;
        p.raw(ty::HEADERS, fl::END_STREAM | fl::END_HEADERS, id, block);
    }
    let reqs = p.requests();
    assert_eq!(reqs.len(), 5);
    assert_eq!(p.conn.blocks_reused, 2);
    for (_, r) in &reqs {
        assert_eq!(r.uri(), "/a.css");
        assert_eq!(r.headers()["host"], "example.com");
        assert_eq!(r.headers()["user-agent"], "poller/1");
        assert_eq!(r.headers().len(), 2);
    }
}

/// A repeated block whose request has a body (RFC 9113 §8.1: DATA follows HEADERS)
/// gets a request of its own with that body; the shared one, and the next repetition
/// without a body, stay bodiless.
#[test]
fn rfc9113_8_1_a_repeated_block_with_a_body_gets_its_own_request() {
    let mut p = Pair::connected();
    let fields = [
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/form"),
    ];
    // As in the test above: the third block on is the same octets.
    let blocks: Vec<Vec<u8>> = (0..5).map(|_| p.block(&fields)).collect();
    assert_eq!(blocks[2], blocks[4]);
    let end = fl::END_STREAM | fl::END_HEADERS;
    for (i, block) in blocks.iter().enumerate().take(4) {
        p.raw(ty::HEADERS, end, 1 + 2 * i as u32, block);
    }
    p.raw(ty::HEADERS, fl::END_HEADERS, 9, &blocks[4]);
    p.raw(ty::DATA, fl::END_STREAM, 9, b"abc");
    p.raw(ty::HEADERS, end, 11, &blocks[4]);
    let reqs = p.requests();
    assert_eq!(reqs.len(), 6);
    assert_eq!(p.conn.blocks_reused, 3);
    let bodies: Vec<&[u8]> = reqs.iter().map(|(_, r)| &r.body()[..]).collect();
    assert_eq!(bodies, [&b""[..], b"", b"", b"", b"abc", b""]);
    for (_, r) in &reqs {
        assert_eq!(r.uri(), "/form");
        assert_eq!(r.method(), "POST");
    }
}

/// The same octets mean other fields once the dynamic table changed (RFC 7541 §2.3.3:
/// index 62 is the newest entry): after a block that changed the table, a repeated
/// block is decoded again, never reused.
#[test]
fn rfc7541_2_3_3_the_same_block_after_a_table_change_is_decoded_afresh() {
    let mut p = Pair::connected();
    // :method GET, :path /, :scheme http (static), :authority "a" (literal, not indexed).
    let pseudo: &[u8] = &[0x82, 0x84, 0x86, 0x01, 0x01, b'a'];
    let indexing = |name: &[u8], value: &[u8]| {
        let mut b = pseudo.to_vec();
        b.extend_from_slice(&[0x40, name.len() as u8]);
        b.extend_from_slice(name);
        b.push(value.len() as u8);
        b.extend_from_slice(value);
        b
    };
    let newest = [pseudo, &[0xbe]].concat();
    let end = fl::END_STREAM | fl::END_HEADERS;
    p.raw(ty::HEADERS, end, 1, &indexing(b"x-a", b"1"));
    p.raw(ty::HEADERS, end, 3, &newest);
    p.raw(ty::HEADERS, end, 5, &newest);
    p.raw(ty::HEADERS, end, 7, &indexing(b"x-b", b"2"));
    p.raw(ty::HEADERS, end, 9, &newest);
    let reqs = p.requests();
    assert_eq!(reqs.len(), 5);
    let field = |i: usize, name: &str| reqs[i].1.headers().get(name).map(|v| v.as_bytes().to_vec());
    assert_eq!(field(1, "x-a").as_deref(), Some(&b"1"[..]));
    assert_eq!(field(2, "x-a").as_deref(), Some(&b"1"[..]));
    assert_eq!(
        p.conn.blocks_reused, 1,
        "stream 5 repeats stream 3 on the same table"
    );
    assert_eq!(field(4, "x-b").as_deref(), Some(&b"2"[..]));
    assert_eq!(field(4, "x-a"), None);
}

#[test]
fn rfc9113_whole_exchange_fed_one_byte_at_a_time() {
    let mut client = Pair::new(Http2Limits::default());
    let mut wire = BytesMut::new();
    wire.extend_from_slice(PREFACE);
    Settings {
        ack: false,
        params: vec![(settings::id::INITIAL_WINDOW_SIZE, 100_000)],
    }
    .encode(&mut wire);
    Settings {
        ack: true,
        params: vec![],
    }
    .encode(&mut wire);
    let block = client.block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/up"),
        (":authority", "a"),
        ("content-length", "6"),
    ]);
    Headers {
        stream_id: 1,
        priority: None,
        fragment: block.into(),
        end_stream: false,
        end_headers: true,
    }
    .encode(&mut wire);
    Data {
        stream_id: 1,
        data: Bytes::from_static(b"abc"),
        end_stream: false,
        flow_len: 3,
    }
    .encode(&mut wire);
    Data {
        stream_id: 1,
        data: Bytes::from_static(b"def"),
        end_stream: true,
        flow_len: 3,
    }
    .encode(&mut wire);
    Ping {
        ack: false,
        opaque: *b"pingpong",
    }
    .encode(&mut wire);
    let mut p = Pair::new(Http2Limits::default());
    for b in wire.iter() {
        p.send(&[*b]);
    }
    let reqs = p.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(&reqs[0].1.body()[..], b"abcdef");
    assert!(p
        .frames
        .iter()
        .any(|f| matches!(f, Frame::Ping(x) if x.ack && &x.opaque == b"pingpong")));
    p.respond(1, 201, Body::Empty);
    assert_eq!(p.response_fields(1)[0].1, "201");
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc8297_103_early_hints_before_the_final_response() {
    let mut p = Pair::connected();
    p.get(1, "/");
    let mut hints = http::Response::new(Body::Empty);
    *hints.status_mut() = StatusCode::EARLY_HINTS;
    hints
        .headers_mut()
        .insert("link", "</a.css>; rel=preload".parse().unwrap());
    p.conn.send_informational(p.now, 1, hints);
    p.drain();
    let first = p.response_fields(1);
    assert_eq!(first[0].1, "103");
    assert!(!first.iter().any(|(n, _)| n == "content-length"));
    assert_eq!(p.data_on(1), (Vec::new(), false), "stream still open");
    p.respond(1, 200, bytes_body(4));
    assert_eq!(p.data_on(1).0.len(), 4);
    let statuses: Vec<bool> = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::Headers(h) => Some(h.end_stream),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![false, false],
        "two header blocks, DATA ends the stream"
    );
}

#[test]
fn rfc9113_4_3_large_response_header_block_split_into_continuation() {
    let mut p = Pair::connected();
    p.get(1, "/");
    let mut r = http::Response::new(Body::Empty);
    r.headers_mut()
        .insert("x-long", "~".repeat(20_000).parse().unwrap());
    p.conn.send_response(p.now, 1, r);
    p.drain();
    let kinds: Vec<&str> = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::Headers(h) if h.stream_id == 1 => {
                assert!(h.end_stream && !h.end_headers);
                assert!(h.fragment.len() <= 16_384);
                Some("HEADERS")
            }
            Frame::Continuation(c) if c.stream_id == 1 => Some("CONTINUATION"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["HEADERS", "CONTINUATION"]);
    let fields = p.response_fields(1);
    assert!(fields
        .iter()
        .any(|(n, v)| n == "x-long" && v.len() == 20_000));
}

/// The driver's frame size target (whole frames per write) makes DATA frames smaller,
/// never larger than the client allows (RFC 9113 §4.2), and the body arrives whole.
#[test]
fn rfc9113_4_2_data_frames_follow_the_drivers_target_within_the_clients_maximum() {
    let mut p = Pair::connected();
    p.conn.set_data_frame_target(16_375);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(40_000));
    let sizes: Vec<usize> = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [16_375, 16_375, 7_250]);
    assert_eq!(p.data_on(1).0.len(), 40_000);
    // A target above the client's maximum leaves the maximum in force.
    let mut p = Pair::connected();
    p.conn.set_data_frame_target(1 << 20);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(40_000));
    assert!(p.frames.iter().all(|f| match f {
        Frame::Data(d) => d.data.len() <= 16_384,
        _ => true,
    }));
}

#[test]
fn rfc9113_4_2_data_frames_follow_the_clients_max_frame_size() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.respond(1, 200, bytes_body(40_000));
    let sizes = |p: &Pair| -> Vec<usize> {
        p.frames
            .iter()
            .filter_map(|f| match f {
                Frame::Data(d) => Some(d.data.len()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(sizes(&p), [16_384, 16_384, 7_232]);
    p.frames.clear();
    p.settings(&[(settings::id::MAX_FRAME_SIZE, 32_768)]);
    p.window_update(0, 100_000);
    p.get(3, "/");
    p.respond(3, 200, bytes_body(40_000));
    assert_eq!(sizes(&p), [32_768, 7_232]);
}

#[test]
fn rfc9113_6_1_padded_request_frames_accepted() {
    let mut p = Pair::connected();
    let block = p.block(&req("POST", "/"));
    let mut payload = vec![3u8];
    payload.extend_from_slice(&block);
    payload.extend_from_slice(&[0, 0, 0]);
    p.raw(ty::HEADERS, fl::PADDED | fl::END_HEADERS, 1, &payload);
    p.raw(ty::DATA, fl::PADDED | fl::END_STREAM, 1, b"\x02ok\0\0");
    let r = p.requests();
    assert_eq!(&r[0].1.body()[..], b"ok");
}

#[test]
fn rfc9110_9_3_2_head_response_has_no_body() {
    let mut p = Pair::connected();
    p.headers(1, &req("HEAD", "/"), true);
    assert_eq!(p.requests().len(), 1);
    p.respond(1, 200, bytes_body(100));
    assert_eq!(p.data_on(1), (Vec::new(), true));
}

#[test]
fn rfc9113_6_7_ping_answered_with_same_data() {
    let mut p = Pair::connected();
    p.raw(ty::PING, 0, 0, b"abcdefgh");
    assert!(p
        .frames
        .iter()
        .any(|f| matches!(f, Frame::Ping(x) if x.ack && &x.opaque == b"abcdefgh")));
}

// ----- §4.2, §6.10 framing and CONTINUATION -----

#[test]
fn rfc9113_4_2_frame_over_max_frame_size_is_frame_size_error() {
    let mut p = Pair::connected();
    p.raw(ty::DATA, 0, 1, &[0; 16_385]);
    assert_eq!(p.goaway_code(), Some(ErrorCode::FRAME_SIZE_ERROR));
}

#[test]
fn rfc9113_6_10_headers_and_continuation_assembled() {
    let mut p = Pair::connected();
    let block = p.block(&req("GET", "/split"));
    let (a, b) = block.split_at(block.len() / 2);
    p.raw(ty::HEADERS, fl::END_STREAM, 1, a);
    assert!(p.requests().is_empty());
    p.raw(ty::CONTINUATION, fl::END_HEADERS, 1, b);
    let r = p.requests();
    assert_eq!(r[0].1.uri(), "/split");
}

#[test]
fn rfc9113_6_10_frame_interleaved_in_header_block_is_protocol_error() {
    let mut p = Pair::connected();
    let block = p.block(&req("GET", "/"));
    p.raw(ty::HEADERS, fl::END_STREAM, 1, &block[..2]);
    p.raw(ty::PING, 0, 0, b"12345678");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_6_10_continuation_on_other_stream_is_protocol_error() {
    let mut p = Pair::connected();
    let block = p.block(&req("GET", "/"));
    p.raw(ty::HEADERS, fl::END_STREAM, 1, &block[..2]);
    p.raw(ty::CONTINUATION, fl::END_HEADERS, 3, &block[2..]);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn cve_2024_27316_endless_continuation_is_enhance_your_calm() {
    let mut p = Pair::connected();
    p.raw(ty::HEADERS, 0, 1, b"\x00");
    for _ in 0..40 {
        p.raw(ty::CONTINUATION, 0, 1, &[0u8; 100]);
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc7541_hpack_bomb_header_list_too_large_is_431() {
    let mut limits = Http2Limits::default();
    limits.max_header_list_size = 200;
    let mut p = Pair::connected_with(limits);
    let long = "v".repeat(300);
    let mut fields = req("GET", "/");
    fields.push(("x-big", &long));
    p.headers(1, &fields, true);
    assert!(
        matches!(p.events.as_slice(), [Event::Reject { stream_id: 1, status }] if *status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    );
    p.respond(1, 431, Body::Empty);
    assert_eq!(p.response_fields(1)[0].1, "431");
    // The connection goes on.
    p.get(3, "/");
    assert_eq!(p.requests().len(), 1);
}

// ----- §5.1 stream states -----

#[test]
fn rfc9113_5_1_data_on_idle_stream_is_protocol_error() {
    let mut p = Pair::connected();
    p.data(1, b"x", false);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_5_1_rst_stream_and_window_update_on_idle_stream_are_protocol_errors() {
    let mut p = Pair::connected();
    p.rst(1, ErrorCode::CANCEL);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
    let mut p = Pair::connected();
    p.window_update(5, 1);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_5_1_priority_on_idle_stream_is_allowed() {
    let mut p = Pair::connected();
    let pr = Priority {
        stream_id: 9,
        spec: PrioritySpec {
            exclusive: false,
            dependency: 0,
            weight: 16,
        },
    };
    p.send_frame(|b| pr.encode(b));
    p.get(1, "/");
    assert_eq!(p.requests().len(), 1);
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc9113_5_1_headers_on_half_closed_remote_is_stream_closed() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.headers(1, &[("x-trailer", "1")], true);
    assert_eq!(p.rst_code(1), Some(ErrorCode::STREAM_CLOSED));
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc9113_5_1_data_after_end_stream_is_stream_closed() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.data(1, b"late", false);
    assert_eq!(p.rst_code(1), Some(ErrorCode::STREAM_CLOSED));
}

#[test]
fn rfc9113_5_1_data_on_closed_stream_is_stream_closed() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.respond(1, 204, Body::Empty);
    p.data(1, b"late", false);
    assert_eq!(p.goaway_code(), Some(ErrorCode::STREAM_CLOSED));
}

#[test]
fn rfc9113_5_1_frames_after_our_reset_are_ignored() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/"), false);
    p.window_update(1, 0); // provokes RST_STREAM(PROTOCOL_ERROR)
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    p.data(1, b"in flight", true);
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc9113_5_1_1_decreasing_or_even_stream_id_is_protocol_error() {
    let mut p = Pair::connected();
    p.get(5, "/");
    p.get(3, "/");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
    assert_eq!(
        p.goaway().unwrap().last_stream_id,
        5,
        "GOAWAY names the last stream processed"
    );
    let mut p = Pair::connected();
    p.get(2, "/");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_5_1_2_streams_over_the_limit_are_refused() {
    let mut limits = Http2Limits::default();
    limits.max_concurrent_streams = 2;
    let mut p = Pair::connected_with(limits);
    p.get(1, "/");
    p.get(3, "/");
    p.get(5, "/");
    assert_eq!(p.rst_code(5), Some(ErrorCode::REFUSED_STREAM));
    assert_eq!(p.requests().len(), 2);
    assert_eq!(p.conn.stats().streams_refused, 1);
    p.respond(1, 204, Body::Empty);
    p.get(7, "/");
    assert_eq!(p.requests().len(), 1, "a slot freed up");
}

#[test]
fn rfc9113_6_4_rst_stream_by_client_reported_and_counted() {
    let mut p = Pair::connected();
    p.get(1, "/");
    assert_eq!(p.requests().len(), 1);
    p.rst(1, ErrorCode::CANCEL);
    assert!(p.events.iter().any(
        |e| matches!(e, Event::StreamReset { stream_id: 1, code } if *code == ErrorCode::CANCEL)
    ));
    p.respond(1, 200, bytes_body(10));
    assert!(p.data_on(1).0.is_empty(), "no response on a reset stream");
    assert_eq!(p.conn.stats().streams_reset_by_peer, 1);
}

// ----- §8.1 requests with bodies, trailers, malformed requests -----

#[test]
fn rfc9113_8_1_request_body_and_trailers() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/f"), false);
    p.data(1, b"abc", false);
    p.headers(1, &[("x-checksum", "1")], true);
    let r = p.requests();
    assert_eq!(&r[0].1.body()[..], b"abc");
}

#[test]
fn rfc9113_8_1_trailers_without_end_stream_are_malformed() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/f"), false);
    p.headers(1, &[("x-checksum", "1")], false);
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_8_1_1_content_length_mismatch_is_stream_protocol_error() {
    let mut p = Pair::connected();
    let mut f = req("POST", "/");
    f.push(("content-length", "5"));
    p.headers(1, &f, false);
    p.data(1, b"abc", true);
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    p.headers(3, &f, false);
    p.data(3, b"abcdef", true);
    assert_eq!(p.rst_code(3), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(p.requests().is_empty());
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc9113_8_2_uppercase_field_name_is_malformed() {
    let mut p = Pair::connected();
    let mut f = req("GET", "/");
    f.push(("Accept", "*/*"));
    p.headers(1, &f, true);
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(p.requests().is_empty());
}

#[test]
fn rfc9113_8_3_1_empty_path_and_connect_without_authority_are_malformed() {
    let mut p = Pair::connected();
    p.headers(
        1,
        &[(":method", "GET"), (":scheme", "https"), (":path", "")],
        true,
    );
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    p.headers(3, &[(":method", "CONNECT")], true);
    assert_eq!(p.rst_code(3), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_8_1_body_over_limit_is_413_and_discarded_with_flow_control_kept() {
    let mut limits = Http2Limits::default();
    limits.max_request_body = 20_000;
    limits.connection_window_size = 65_535;
    let mut p = Pair::connected_with(limits);
    p.headers(1, &req("POST", "/"), false);
    p.data(1, &[b'a'; 16_000], false);
    p.data(1, &[b'a'; 16_000], false);
    assert!(
        matches!(p.events.as_slice(), [Event::Reject { stream_id: 1, status }] if *status == StatusCode::PAYLOAD_TOO_LARGE)
    );
    p.respond(1, 413, Body::Empty);
    // §8.1: complete response before the request: RST_STREAM(NO_ERROR).
    assert_eq!(p.rst_code(1), Some(ErrorCode::NO_ERROR));
    p.data(1, &[b'a'; 16_000], true);
    assert_eq!(
        p.goaway_code(),
        None,
        "late DATA after our reset is ignored"
    );
    let conn_credit: u32 = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::WindowUpdate(w) if w.stream_id == 0 => Some(w.increment),
            _ => None,
        })
        .sum();
    assert!(
        conn_credit >= 32_000,
        "connection window given back: {conn_credit}"
    );
}

// ----- §6.9 flow control -----

#[test]
fn rfc9113_6_9_1_window_update_overflow_is_flow_control_error() {
    let mut p = Pair::connected();
    p.window_update(0, (1 << 31) - 1);
    assert_eq!(p.goaway_code(), Some(ErrorCode::FLOW_CONTROL_ERROR));
}

#[test]
fn rfc9113_6_9_1_stream_window_overflow_is_stream_flow_control_error() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.window_update(1, (1 << 31) - 1);
    assert_eq!(p.rst_code(1), Some(ErrorCode::FLOW_CONTROL_ERROR));
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn rfc9113_6_9_zero_increment_scope() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.window_update(1, 0);
    assert_eq!(p.rst_code(1), Some(ErrorCode::PROTOCOL_ERROR));
    p.window_update(0, 0);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_6_9_never_sends_beyond_the_connection_window() {
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 1 << 20)]);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(100_000));
    assert_eq!(p.data_on(1).0.len(), 65_535);
    p.window_update(0, 10_000);
    assert_eq!(p.data_on(1).0.len(), 75_535);
    p.window_update(0, 100_000);
    let (body, end) = p.data_on(1);
    assert_eq!(
        body,
        match bytes_body(100_000) {
            Body::Bytes(b) => b.to_vec(),
            _ => unreachable!(),
        }
    );
    assert!(end);
}

#[test]
fn rfc9113_6_9_2_initial_window_change_applies_to_open_streams_and_may_go_negative() {
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 100)]);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(1000));
    assert_eq!(p.data_on(1).0.len(), 100);
    // Window 0 -> -60.
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 40)]);
    p.window_update(1, 50);
    assert_eq!(p.data_on(1).0.len(), 100, "window still negative (-10)");
    p.window_update(1, 30);
    assert_eq!(p.data_on(1).0.len(), 120);
    // Raising it applies too.
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 1040)]);
    assert_eq!(p.data_on(1).0.len(), 1000);
}

#[test]
fn rfc9113_6_9_2_initial_window_overflowing_a_stream_is_flow_control_error() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.window_update(1, (1 << 31) - 1 - 65_535);
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 65_536)]);
    assert_eq!(p.goaway_code(), Some(ErrorCode::FLOW_CONTROL_ERROR));
}

#[test]
fn rfc9113_6_9_data_beyond_our_window_is_flow_control_error() {
    let mut limits = Http2Limits::default();
    limits.initial_window_size = 1000;
    let mut p = Pair::connected_with(limits);
    p.headers(1, &req("POST", "/"), false);
    p.data(1, &[0; 1001], false);
    assert_eq!(p.goaway_code(), Some(ErrorCode::FLOW_CONTROL_ERROR));
}

#[test]
fn rfc9113_6_9_upload_larger_than_the_initial_window_gets_window_updates() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/"), false);
    for _ in 0..10 {
        p.data(1, &[7; 16_000], false);
    }
    p.data(1, b"", true);
    let r = p.requests();
    assert_eq!(r[0].1.body().len(), 160_000);
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn file_body_streamed_as_regions_bounded_by_window() {
    let mut f = tempfile::tempfile().unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::io::Write::write_all(&mut f, &content).unwrap();
    let file = Arc::new(f);
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 1 << 30)]);
    p.window_update(0, 1 << 30);
    p.get(1, "/big");
    p.requests();
    let mut r = http::Response::new(Body::File(FileRegion {
        file,
        offset: 0,
        len: 200_000,
    }));
    *r.status_mut() = StatusCode::OK;
    p.conn.send_response(p.now, 1, r);
    // Before draining: only file references, never the file's bytes, are queued.
    let q = p.conn.poll_transmit(p.now);
    assert!(q.mem_bytes() < 4096, "in-memory output {}", q.mem_bytes());
    assert!(q.iter().all(|c| match c {
        Chunk::File(f) => f.len <= 16_384,
        Chunk::Bytes(_) => true,
    }));
    assert!(q.total() <= 256 * 1024 + 16_384 + 9);
    p.drain();
    assert_eq!(p.data_on(1), (content, true));
}

#[test]
fn rfc9113_10_5_client_that_never_opens_its_window_cannot_pin_output() {
    let mut p = Pair::connected();
    for id in (1..200).step_by(2) {
        p.get(id, "/");
    }
    for (id, _) in p.requests() {
        p.respond(id, 200, bytes_body(100_000));
    }
    // Each stream sent at most its window; the queue never held more than the bound.
    assert!(
        p.max_queued <= (256 * 1024 + 16_384 + 64) as u64,
        "{}",
        p.max_queued
    );
    let total: usize = p
        .frames
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.data.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(total, 65_535, "connection window respected");
}

// ----- RFC 9218 ordering -----

#[test]
fn rfc9218_urgent_stream_sent_first_and_equal_streams_interleaved() {
    // A tiny output bound: one frame is produced per drain, as the scheduler picks.
    let mut limits = Http2Limits::default();
    limits.max_output_queued = 100;
    let mut p = Pair::connected_with(limits);
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 1 << 20)]);
    p.window_update(0, 1 << 20);
    let mut f = req("GET", "/low");
    f.push(("priority", "u=5"));
    p.headers(1, &f, true);
    p.get(3, "/a");
    p.get(5, "/b");
    p.requests();
    // Queue all three at once, then drain: the order of DATA frames is the scheduler's.
    for id in [1, 3, 5] {
        let mut r = http::Response::new(bytes_body(40_000));
        *r.status_mut() = StatusCode::OK;
        p.conn.send_response(p.now, id, r);
    }
    p.drain();
    let order: Vec<u32> = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.stream_id),
            _ => None,
        })
        .collect();
    // Stream 1 was alone when its response came: its first frame went at once.
    assert_eq!(order[0], 1);
    let rest = &order[1..];
    let next_low = rest.iter().position(|&i| i == 1).unwrap();
    assert_eq!(
        rest[..next_low].len(),
        6,
        "urgency 3 streams finish before urgency 5 resumes: {order:?}"
    );
    assert_eq!(
        &rest[..4],
        &[3, 5, 3, 5],
        "round robin at equal urgency: {order:?}"
    );
}

// ----- §6.8 GOAWAY, shutdown and timeouts -----

#[test]
fn rfc9113_6_8_graceful_shutdown_sends_two_goaways_and_finishes_streams() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.requests();
    p.conn.start_shutdown(p.now);
    p.drain();
    let g = p.goaway().unwrap().clone();
    assert_eq!(
        (g.last_stream_id, g.code),
        ((1 << 31) - 1, ErrorCode::NO_ERROR)
    );
    let ping = p
        .frames
        .iter()
        .find_map(|f| match f {
            Frame::Ping(x) if !x.ack => Some(x.opaque),
            _ => None,
        })
        .unwrap();
    // A stream the client opened before seeing the GOAWAY is still served.
    p.get(3, "/");
    assert_eq!(p.requests().len(), 1);
    p.send_frame(|b| {
        Ping {
            ack: true,
            opaque: ping,
        }
        .encode(b)
    });
    let last = p.frames.iter().rev().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.last_stream_id),
        _ => None,
    });
    assert_eq!(last, Some(3));
    p.get(5, "/");
    assert!(
        p.requests().is_empty(),
        "streams after the final GOAWAY are ignored"
    );
    p.respond(1, 200, bytes_body(10));
    assert!(!p.conn.is_closed());
    p.respond(3, 200, bytes_body(10));
    assert_eq!(p.data_on(3).0.len(), 10);
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_error_goaway_after_shutdown_names_no_later_stream() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.conn.start_shutdown(p.now);
    p.drain();
    p.advance(Duration::from_secs(2)); // no PING ACK: the final GOAWAY after the timeout
    p.get(3, "/"); // ignored: above the final GOAWAY's stream id
    p.raw(ty::PING, 0, 0, b"short");
    let ids: Vec<(ErrorCode, u32)> = p
        .frames
        .iter()
        .filter_map(|f| match f {
            Frame::GoAway(g) => Some((g.code, g.last_stream_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        [
            (ErrorCode::NO_ERROR, (1 << 31) - 1),
            (ErrorCode::NO_ERROR, 1),
            (ErrorCode::FRAME_SIZE_ERROR, 1)
        ]
    );
}

#[test]
fn idle_connection_closed_with_goaway_no_error() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.respond(1, 204, Body::Empty);
    p.advance(Duration::from_secs(74));
    assert!(!p.conn.is_closed());
    p.advance(Duration::from_secs(2));
    assert_eq!(p.goaway_code(), Some(ErrorCode::NO_ERROR));
    assert!(p.conn.is_closed());
    assert_eq!(p.conn.stats().goaway_sent, Some(ErrorCode::NO_ERROR));
}

#[test]
fn rfc9113_6_9_client_that_never_opens_its_window_is_closed_after_the_stall_timeout() {
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 0)]);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(10));
    assert!(p.data_on(1).0.is_empty(), "no window, no DATA");
    assert!(p.conn.poll_timeout().is_some());
    p.advance(Duration::from_secs(59));
    assert!(!p.conn.is_closed());
    // Window updates reset the timer as soon as DATA moves.
    p.window_update(1, 5);
    assert_eq!(p.data_on(1).0.len(), 5);
    p.advance(Duration::from_secs(59));
    assert!(!p.conn.is_closed());
    p.advance(Duration::from_secs(2));
    assert_eq!(p.goaway_code(), Some(ErrorCode::NO_ERROR));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_8_client_goaway_lets_streams_finish_then_closes() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.raw(ty::GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]);
    assert!(!p.conn.is_closed());
    p.respond(1, 200, bytes_body(3));
    assert_eq!(p.data_on(1), (vec![0, 1, 2], true));
    assert!(p.conn.is_closed());
}

#[test]
fn read_close_drops_incomplete_requests_and_finishes_answered_ones() {
    let mut p = Pair::connected();
    p.get(1, "/");
    p.headers(3, &req("POST", "/"), false);
    p.conn.handle_read_closed(p.now);
    p.drain();
    assert!(!p.conn.is_closed(), "stream 1 still awaits its response");
    assert_eq!(p.conn.open_streams(), 1);
    p.respond(1, 204, Body::Empty);
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_9_read_closed_with_responses_blocked_on_window_closes() {
    // After the client's FIN no WINDOW_UPDATE can arrive, so a response waiting on
    // a zero window can never finish: what can be sent is sent, then GOAWAY.
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 0)]);
    p.get(1, "/");
    p.get(3, "/");
    p.respond(1, 200, bytes_body(10));
    p.conn.handle_read_closed(p.now);
    p.drain();
    assert!(!p.conn.is_closed(), "stream 3 still awaits its response");
    p.respond(3, 200, bytes_body(10));
    assert!(p.data_on(1).0.is_empty() && p.data_on(3).0.is_empty());
    assert!(
        p.frames
            .iter()
            .any(|f| matches!(f, Frame::Headers(h) if h.stream_id == 3)),
        "the response head is still sent"
    );
    assert_eq!(p.goaway_code(), Some(ErrorCode::NO_ERROR));
    assert!(p.conn.is_closed());
}

#[test]
fn rfc9113_6_9_read_closed_sends_what_the_window_allows_then_closes() {
    let mut p = Pair::connected();
    p.settings(&[(settings::id::INITIAL_WINDOW_SIZE, 4)]);
    p.get(1, "/");
    p.respond(1, 200, bytes_body(10));
    p.conn.handle_read_closed(p.now);
    p.drain();
    assert_eq!(p.data_on(1), (vec![0, 1, 2, 3], false));
    assert_eq!(p.goaway_code(), Some(ErrorCode::NO_ERROR));
    assert!(p.conn.is_closed());
}

#[test]
fn slow_request_body_is_408() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/"), false);
    p.advance(Duration::from_secs(61));
    assert!(
        matches!(p.events.as_slice(), [Event::Reject { stream_id: 1, status }] if *status == StatusCode::REQUEST_TIMEOUT)
    );
}

#[test]
fn rfc9113_8_4_push_promise_from_client_is_protocol_error() {
    let mut p = Pair::connected();
    p.raw(ty::PUSH_PROMISE, fl::END_HEADERS, 1, b"\0\0\0\x02");
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_5_5_unknown_frame_ignored() {
    let mut p = Pair::connected();
    p.raw(0xee, 0xff, 0, b"whatever");
    p.get(1, "/");
    assert_eq!(p.requests().len(), 1);
}

#[test]
fn rfc9218_7_priority_update_frames_are_not_an_unknown_frame_flood() {
    let mut p = Pair::connected();
    for _ in 0..500 {
        p.raw(0x10, 0, 0, b"\0\0\0\x01u=1");
    }
    assert_eq!(p.goaway_code(), None);
    let mut p = Pair::connected();
    for _ in 0..500 {
        p.raw(0xee, 0, 0, b"");
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn rfc9113_5_3_1_headers_depending_on_itself_is_stream_error() {
    let mut p = Pair::connected();
    let block = p.block(&req("GET", "/"));
    let h = Headers {
        stream_id: 3,
        priority: Some(PrioritySpec {
            exclusive: false,
            dependency: 3,
            weight: 1,
        }),
        fragment: block.into(),
        end_stream: true,
        end_headers: true,
    };
    p.send_frame(|b| h.encode(b));
    assert_eq!(p.rst_code(3), Some(ErrorCode::PROTOCOL_ERROR));
    // The HPACK state stayed in sync: the next request decodes.
    p.get(5, "/");
    assert_eq!(p.requests().len(), 1);
}

// ----- §10.5 defences -----

#[test]
fn cve_2023_44487_rapid_reset_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for i in 0..300u32 {
        p.get(2 * i + 1, "/");
        p.rst(2 * i + 1, ErrorCode::CANCEL);
        if p.goaway_code().is_some() {
            break;
        }
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
    assert!(p.conn.is_closed());
}

#[test]
fn cve_2023_44487_resets_spread_over_time_are_fine() {
    let mut p = Pair::connected();
    for i in 0..300u32 {
        p.get(2 * i + 1, "/");
        p.rst(2 * i + 1, ErrorCode::CANCEL);
        p.now += Duration::from_millis(100);
    }
    assert_eq!(p.goaway_code(), None);
}

#[test]
fn cve_2025_8671_made_you_reset_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for i in 0..300u32 {
        p.headers(2 * i + 1, &req("POST", "/"), false);
        p.window_update(2 * i + 1, 0);
        if p.goaway_code().is_some() {
            break;
        }
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn cve_2019_9512_ping_flood_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for _ in 0..101 {
        p.raw(ty::PING, 0, 0, b"12345678");
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn cve_2019_9515_settings_flood_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for _ in 0..101 {
        p.settings(&[]);
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn cve_2019_9513_priority_flood_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for i in 0..1001u32 {
        p.raw(ty::PRIORITY, 0, 2 * i + 1, &[0, 0, 0, 0, 16]);
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn cve_2019_9518_empty_data_flood_is_enhance_your_calm() {
    let mut p = Pair::connected();
    p.headers(1, &req("POST", "/"), false);
    for _ in 0..101 {
        p.data(1, b"", false);
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn window_update_flood_is_enhance_your_calm() {
    let mut p = Pair::connected();
    for _ in 0..1001 {
        p.window_update(0, 1);
    }
    assert_eq!(p.goaway_code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

#[test]
fn backpressure_when_client_does_not_read() {
    let mut p = Pair::connected();
    let mut wire = BytesMut::new();
    for _ in 0..100 {
        Ping {
            ack: false,
            opaque: *b"12345678",
        }
        .encode(&mut wire);
    }
    let mut limits = Http2Limits::default();
    limits.max_output_queued = 500;
    let mut conn = H2Conn::new(limits, p.now);
    conn.handle_input(p.now, PREFACE);
    let mut s = BytesMut::new();
    Settings::default().encode(&mut s);
    conn.handle_input(p.now, &s);
    conn.handle_input(p.now, &wire[..17 * 40]);
    assert!(!conn.wants_read(), "PING ACKs pile up unread: stop reading");
    p.drain();
}

// ----- what each answered stream was sent, for the access log -----

#[test]
fn rfc9113_6_4_rst_stream_mid_body_reports_the_body_bytes_framed() {
    let mut p = Pair::connected();
    p.window_update(0, 1 << 20);
    p.get(1, "/big");
    p.get(3, "/small");
    p.requests();
    // 100,000 bytes against the 65,535-byte stream window: the first stream gets
    // its window's worth, then waits.
    p.respond(1, 200, bytes_body(100_000));
    p.respond(3, 200, bytes_body(10));
    let sent1 = p.data_on(1).0.len() as u64;
    assert!(sent1 > 0 && sent1 < 100_000, "{sent1}");
    p.rst(1, ErrorCode::CANCEL);
    let mut finished = Vec::new();
    while let Some(f) = p.conn.poll_stream_finished() {
        finished.push(f);
    }
    finished.sort_unstable();
    assert_eq!(finished, vec![(1, sent1), (3, 10)]);
}

#[test]
fn rfc9113_6_8_streams_cut_by_a_connection_error_report_what_was_framed() {
    let mut p = Pair::connected();
    p.get(1, "/big");
    p.requests();
    p.respond(1, 200, bytes_body(100_000));
    let sent = p.data_on(1).0.len() as u64;
    assert_eq!(p.conn.stream_body_sent(1), Some(sent));
    // A PUSH_PROMISE from the client is a connection error (§8.4).
    p.raw(ty::PUSH_PROMISE, fl::END_HEADERS, 1, &[0, 0, 0, 2]);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
    assert_eq!(p.conn.poll_stream_finished(), Some((1, sent)));
    assert_eq!(p.conn.poll_stream_finished(), None);
    // A response for a stream that is gone is reported at once with nothing sent.
    let mut q = Pair::connected();
    q.get(1, "/");
    q.requests();
    q.rst(1, ErrorCode::CANCEL);
    q.respond(1, 200, bytes_body(10));
    assert_eq!(q.conn.poll_stream_finished(), Some((1, 0)));
}

/// The staging buffer is reused from turn to turn (`take_staged`): frames already
/// queued, even ones the driver has not written yet, never change, and what a turn
/// keeps is bounded.
#[test]
fn rfc9113_8_1_responses_intact_when_the_staging_buffer_is_reused() {
    let chunk_octets = |c: &Chunk| match c {
        Chunk::Bytes(b) => b.to_vec(),
        Chunk::File(_) => panic!("small bodies are staged"),
    };
    let mut p = Pair::connected();
    let mut held = Vec::new();
    for turn in 0..6u32 {
        let ids: Vec<u32> = (0..5).map(|i| 1 + 2 * (turn * 5 + i)).collect();
        for &id in &ids {
            p.headers(id, &req("GET", "/"), true);
        }
        assert_eq!(p.requests().len(), ids.len());
        for (k, &id) in ids.iter().enumerate() {
            let fill = b'a' + (turn * 5 + k as u32) as u8;
            let r = http::Response::new(Body::Bytes(Bytes::from(vec![fill; 1000])));
            p.conn.send_response(p.now, id, r);
        }
        if turn % 2 == 0 {
            // Held as a driver holds a chunk it has not written yet: the next turn
            // must stage elsewhere, not over it.
            let chunk = p.conn.poll_transmit(p.now).front().cloned().unwrap();
            let copy = chunk_octets(&chunk);
            held.push((chunk, copy));
        }
        p.drain();
        for (k, &id) in ids.iter().enumerate() {
            let fill = b'a' + (turn * 5 + k as u32) as u8;
            assert_eq!(p.data_on(id), (vec![fill; 1000], true), "stream {id}");
        }
    }
    for (chunk, copy) in &held {
        assert_eq!(&chunk_octets(chunk), copy);
    }
    assert!(p.conn.stage_cap > 0 && p.conn.stage_cap <= crate::limits::H2_STAGE_KEEP);
    assert!(p.conn.stage.capacity() <= crate::limits::H2_STAGE_KEEP);
    assert!(
        p.conn.streams.map.capacity() > 0,
        "the stream table is kept while busy"
    );
    assert!(!p.conn.request_memo.is_empty());
    // Kept while busy; once nothing is in flight for a while, given back.
    drop(held);
    let release = crate::limits::H2_SCRATCH_RELEASE_AFTER;
    assert!(p.conn.poll_timeout().is_some_and(|t| t <= p.now + release));
    p.advance(release);
    assert_eq!(p.conn.stage.capacity(), 0);
    assert_eq!(p.conn.block_buf.capacity(), 0);
    assert_eq!(p.conn.streams.map.capacity(), 0);
    assert!(p.conn.request_memo.is_empty());
}

/// A response equal to the last one (the same file's template, status, `date`,
/// `server` and length), with the encoder's table unchanged since, goes out as the
/// last header block again; another second encodes afresh. Every block decodes to the
/// response's fields (RFC 7541 §3.1: the same octets on the same table are the same
/// fields).
#[test]
fn rfc7541_3_1_the_same_response_again_sends_the_same_block() {
    use crate::proto::Stamp;
    use crate::service::{PreEncoded, Template};
    let mut p = Pair::connected();
    let mut fields = http::HeaderMap::new();
    fields.insert("content-type", "text/css".parse().unwrap());
    fields.insert("etag", "\"1-4\"".parse().unwrap());
    let template = Arc::new(Template::new(fields));
    let server = http::HeaderValue::from_static("carbon");
    let dates = [0, 0, 0, 0, 1, 1, 1]
        .map(|s| http::HeaderValue::from_str(&format!("Mon, 07 Dec 2026 05:00:0{s} GMT")).unwrap());
    for (i, date) in dates.iter().enumerate() {
        let id = 1 + 2 * i as u32;
        p.get(id, "/a.css");
        p.drain();
        let resp = http::Response::new(Body::Bytes(Bytes::from_static(b"body")));
        let pre = PreEncoded::new(Arc::clone(&template));
        let stamp = Stamp {
            date,
            server: &server,
        };
        let now = p.now;
        p.conn
            .send_response_stamped(now, id, resp, pre, Some(stamp));
        p.drain();
    }
    let block_of = |p: &Pair, id: u32| -> Vec<u8> {
        p.frames
            .iter()
            .find_map(|f| match f {
                Frame::Headers(h) if h.stream_id == id => Some(h.fragment.to_vec()),
                _ => None,
            })
            .unwrap()
    };
    // 1: `etag` and the length noted; 2: both indexed; 3: nothing changes, kept;
    // 4: the same again; 5: a new second, `date` indexed; 6: kept; 7: the same again.
    assert_eq!(p.conn.encoder.blocks_repeated, 2);
    assert_eq!(block_of(&p, 7), block_of(&p, 5));
    assert_eq!(block_of(&p, 13), block_of(&p, 11));
    assert_ne!(
        block_of(&p, 11),
        block_of(&p, 7),
        "the new second is not repeated"
    );
    for (i, date) in dates.iter().enumerate() {
        let got = p.response_fields(1 + 2 * i as u32);
        assert_eq!(
            got,
            [
                (":status", "200"),
                ("content-type", "text/css"),
                ("etag", "\"1-4\""),
                ("date", date.to_str().unwrap()),
                ("server", "carbon"),
                ("content-length", "4"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string())),
            "stream {}",
            1 + 2 * i
        );
    }
}
