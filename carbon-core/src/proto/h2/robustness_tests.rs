//! Randomized robustness tests of the HTTP/2 engine, driven only through its public
//! API the way the driver drives it: random frames, mutations of valid exchanges,
//! random split points and a virtual clock. The same invariants are checked by the
//! `h2_frames` fuzz target (fuzz/src/lib.rs):
//!
//! * no panic;
//! * the output is a sequence of well-formed frames starting with SETTINGS, and
//!   nothing follows a GOAWAY with an error code;
//! * the engine never sends more DATA than the client's windows allow (the client
//!   here never sends WINDOW_UPDATE or SETTINGS beyond what the input holds, so the
//!   bound checked is the initial 65,535 plus the input's increments);
//! * the output queue stays within `max_output_queued` plus one frame;
//! * a read close, or an expired timer, always ends in a closed connection once
//!   every request is answered;
//! * a valid exchange gives the same requests whatever the split points.
//!
//! Deterministic: fixed seeds, bounded iteration counts.
#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::frame::{Data, Frame, FrameReader, Headers, Settings, WindowUpdate};
use super::hpack::{Encoder, HeaderField};
use super::{Event, H2Conn, PREFACE};
use crate::limits::Http2Limits;
use crate::proto::out::Chunk;
use crate::service::{error_response, Body};
use crate::test_rng::Rng;

#[derive(Debug, Default)]
struct Transcript {
    requests: Vec<(u32, String, Bytes)>,
    frames: Vec<Frame>,
}

/// Feeds `input` in pieces of `piece` bytes, answering every event with a small
/// response, draining the output and advancing the clock `tick` between pieces.
fn drive(input: &[u8], piece: usize, tick: Duration, limits: Http2Limits) -> Transcript {
    let mut now = Instant::now();
    let max_out = limits.max_output_queued as u64 + 16_384 + 1024;
    let mut conn = H2Conn::new(limits, now);
    let mut t = Transcript::default();
    let mut reader = FrameReader::new();
    let mut pump = |conn: &mut H2Conn, now: Instant, t: &mut Transcript| loop {
        let mut answered = false;
        while let Some(e) = conn.poll_event() {
            match e {
                Event::Request { stream_id, request } => {
                    t.requests
                        .push((stream_id, request.uri().to_string(), request.body().clone()));
                    let resp = http::Response::new(Body::Bytes(Bytes::from_static(
                        b"0123456789abcdef0123456789abcdef",
                    )));
                    conn.send_response(now, stream_id, resp);
                    answered = true;
                }
                Event::Reject { stream_id, status } => {
                    conn.send_response(now, stream_id, error_response(status));
                    answered = true;
                }
                Event::StreamReset { .. } => {}
            }
        }
        let q = conn.poll_transmit(now);
        assert!(
            q.total() <= max_out,
            "output queue {} over its bound",
            q.total()
        );
        let mut wrote = false;
        while let Some(c) = q.front().cloned() {
            match &c {
                Chunk::Bytes(b) => reader.push(b),
                Chunk::File(_) => panic!("no file bodies in this test"),
            }
            q.advance(c.len());
            wrote = true;
        }
        while let Some(f) = reader
            .next_frame(1 << 24)
            .expect("engine output is well-formed")
        {
            if let Some(Frame::GoAway(g)) = t.frames.last() {
                assert!(g.code.0 == 0, "frame {f:?} after GOAWAY({})", g.code);
            }
            t.frames.push(f);
        }
        if wrote {
            conn.handle_output_drained(now);
        }
        if !answered && !wrote {
            break;
        }
    };
    for part in input.chunks(piece.max(1)) {
        if conn.is_closed() {
            break;
        }
        if conn.wants_read() {
            conn.handle_input(now, part);
        }
        pump(&mut conn, now, &mut t);
        now += tick;
        conn.handle_timeout(now);
        pump(&mut conn, now, &mut t);
    }
    conn.handle_read_closed(now);
    pump(&mut conn, now, &mut t);
    assert!(conn.is_closed(), "not closed after the peer's FIN");
    assert!(matches!(t.frames.first(), Some(Frame::Settings(s)) if !s.ack));
    // DATA sent never exceeds what the client allowed on the connection.
    let sent: u64 = t
        .frames
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.data.len() as u64,
            _ => 0,
        })
        .sum();
    assert!(
        sent <= 65_535 + granted(input),
        "sent {sent} beyond the window"
    );
    t
}

/// Connection-level WINDOW_UPDATE increments in the client's input (upper bound of
/// what it granted; garbage after an error may count too, which only loosens it).
fn granted(input: &[u8]) -> u64 {
    let mut r = FrameReader::new();
    let Some(rest) = input.strip_prefix(&PREFACE[..]) else {
        return 0;
    };
    r.push(rest);
    let mut g = 0;
    while let Ok(Some(f)) = r.next_frame(1 << 24) {
        if let Frame::WindowUpdate(w) = f {
            if w.stream_id == 0 {
                g += u64::from(w.increment);
            }
        }
    }
    g
}

fn block(enc: &mut Encoder, fields: &[(&str, &str)]) -> Bytes {
    let mut v = Vec::new();
    enc.encode(
        fields.iter().map(|(n, v)| HeaderField {
            name: n.as_bytes(),
            value: v.as_bytes(),
            sensitive: false,
        }),
        &mut v,
    );
    Bytes::from(v)
}

/// A valid exchange: preface, SETTINGS, a GET, a POST with body, a window update.
fn valid_exchange() -> Vec<u8> {
    let mut enc = Encoder::new();
    let mut w = BytesMut::new();
    w.extend_from_slice(PREFACE);
    Settings {
        ack: false,
        params: vec![(4, 1 << 20)],
    }
    .encode(&mut w);
    Settings {
        ack: true,
        params: vec![],
    }
    .encode(&mut w);
    let get = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "a.example"),
        (":path", "/index.html"),
    ];
    Headers {
        stream_id: 1,
        priority: None,
        fragment: block(&mut enc, &get),
        end_stream: true,
        end_headers: true,
    }
    .encode(&mut w);
    let post = [
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", "a.example"),
        (":path", "/form"),
        ("content-length", "5"),
    ];
    Headers {
        stream_id: 3,
        priority: None,
        fragment: block(&mut enc, &post),
        end_stream: false,
        end_headers: true,
    }
    .encode(&mut w);
    Data {
        stream_id: 3,
        data: Bytes::from_static(b"hello"),
        end_stream: true,
        flow_len: 5,
    }
    .encode(&mut w);
    WindowUpdate {
        stream_id: 0,
        increment: 1000,
    }
    .encode(&mut w);
    w.to_vec()
}

fn run(input: &[u8], piece: usize, tick: Duration) -> Transcript {
    match catch_unwind(AssertUnwindSafe(|| {
        drive(input, piece, tick, Http2Limits::default())
    })) {
        Ok(t) => t,
        Err(e) => panic!("input {input:02x?} piece {piece}: {e:?}"),
    }
}

#[test]
fn valid_exchange_gives_the_same_requests_for_any_split() {
    let w = valid_exchange();
    let whole = run(&w, w.len(), Duration::ZERO);
    assert_eq!(whole.requests.len(), 2);
    assert_eq!(&whole.requests[1].2[..], b"hello");
    for piece in 1..40 {
        let t = run(&w, piece, Duration::ZERO);
        assert_eq!(t.requests, whole.requests, "piece {piece}");
    }
}

#[test]
fn random_frames_after_the_preface_keep_the_invariants() {
    let mut rng = Rng::new(0x68_32_66_72);
    for _ in 0..400 {
        let mut w = PREFACE.to_vec();
        let mut s = BytesMut::new();
        Settings::default().encode(&mut s);
        w.extend_from_slice(&s);
        for _ in 0..rng.below(12) {
            // A frame header with a small random payload and a plausible type.
            let len = rng.below(24);
            let kind = rng.below(12) as u8;
            let flags = rng.next() as u8;
            let stream = [0u32, 1, 2, 3, 5, 0x7fff_ffff][rng.below(6)];
            w.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
            w.push(kind);
            w.push(flags);
            w.extend_from_slice(&stream.to_be_bytes());
            for _ in 0..len {
                w.push(rng.next() as u8);
            }
        }
        let piece = 1 + rng.below(64);
        run(&w, piece, Duration::from_millis(rng.below(3000) as u64));
    }
}

#[test]
fn mutated_valid_exchanges_keep_the_invariants() {
    let base = valid_exchange();
    let mut rng = Rng::new(7);
    let (mut served, mut refused) = (0, 0);
    for _ in 0..600 {
        let mut w = base.clone();
        for _ in 0..1 + rng.below(4) {
            let i = PREFACE.len() + rng.below(w.len() - PREFACE.len());
            match rng.below(3) {
                0 => w[i] = rng.next() as u8,
                1 => {
                    w.remove(i);
                }
                _ => w.insert(i, rng.next() as u8),
            }
        }
        let piece = 1 + rng.below(100);
        let t = run(&w, piece, Duration::from_secs(rng.below(20) as u64));
        served += usize::from(!t.requests.is_empty());
        refused += usize::from(
            t.frames
                .iter()
                .any(|f| matches!(f, Frame::GoAway(g) if g.code.0 != 0)),
        );
    }
    // The mutations reach both outcomes, or the test checks little.
    assert!(
        served > 100 && refused > 100,
        "served {served}, refused {refused}"
    );
}

#[test]
fn timers_alone_close_a_silent_connection() {
    let mut now = Instant::now();
    let mut conn = H2Conn::new(Http2Limits::default(), now);
    for _ in 0..100 {
        match conn.poll_timeout() {
            Some(t) => {
                now = t;
                conn.handle_timeout(now);
                let q = conn.poll_transmit(now);
                let n = q.total();
                q.advance(n);
            }
            None => break,
        }
    }
    assert!(conn.is_closed());
}

/// One input in the fuzz target's layout: read size, clock step, then frames after
/// the preface. `None` when too short to carry the two leading bytes.
fn run_fuzz_input(data: &[u8]) -> Option<Transcript> {
    let [piece, tick, input @ ..] = data else {
        return None;
    };
    let mut wire = PREFACE.to_vec();
    wire.extend_from_slice(input);
    Some(run(
        &wire,
        usize::from(*piece) + 1,
        Duration::from_secs(u64::from(*tick) % 30),
    ))
}

/// A fuzz finding, kept as a fixed case: the client sets its initial window to 0,
/// asks for a response, sends GOAWAY and its FIN. RFC 9113 §6.9: no WINDOW_UPDATE
/// can follow the FIN, so the blocked response is dropped and the connection closes
/// at once instead of lingering until the flow-control stall timeout.
#[test]
fn rfc9113_6_9_fuzz_read_closed_with_window_zero_after_goaway_closes() {
    let data = include_bytes!("../../../../fuzz/corpus/h2_frames/read_closed_window_zero_goaway");
    let t = run_fuzz_input(data).unwrap();
    assert_eq!(t.requests.len(), 1);
    assert!(t
        .frames
        .iter()
        .any(|f| matches!(f, Frame::GoAway(g) if g.code.0 == 0)));
}

/// The fuzz target's seed corpus, run with the fuzz target's input layout (read
/// size, clock step, then frames after the preface), so a seed that breaks an
/// invariant fails here without nightly.
#[test]
fn fuzz_seed_corpus_keeps_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/h2_frames");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Some(t) = run_fuzz_input(&data) else {
            continue;
        };
        if path
            .file_name()
            .is_some_and(|n| n == "get" || n == "get_bytewise")
        {
            assert_eq!(t.requests.len(), 1, "{}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 5, "seed corpus missing in {}", dir.display());
}
