//! Shared by the fuzz targets: a driver stand-in for the HTTP/1.1 engine that answers
//! every event the way `carbon-core`'s driver does and asserts the engine's contract.
//! A failed assertion is a finding, exactly like a panic inside the engine.

use std::time::{Duration, Instant};

use bytes::Bytes;
use carbon_core::limits::{Limits, Timeouts};
use carbon_core::proto::h1::{Event, H1Conn};
use carbon_core::proto::out::Chunk;
use carbon_core::service::{error_response, Body, Request, Response};

/// Limits small enough that short fuzz inputs reach every bound.
pub fn small_limits() -> Limits {
    Limits {
        max_request_line: 256,
        max_header_line: 256,
        max_headers_size: 1024,
        max_headers: 16,
        max_body: 2048,
        max_output_queued: 4096,
    }
}

/// What one run produced, for targets that check more.
#[derive(Debug, Default)]
pub struct Transcript {
    pub requests: Vec<Request>,
    pub rejects: Vec<u16>,
    pub wire: Vec<u8>,
}

/// Feeds `input` in pieces of `piece` bytes (the virtual clock advancing `tick` seconds
/// between pieces and firing timers), answers every event with a small response,
/// drains the output, then closes the read side. Asserts: no Request after a Reject,
/// the connection ends closed, the output is responses starting with `HTTP/1.1 `.
pub fn drive_h1(input: &[u8], piece: usize, tick: u64, limits: Limits) -> Transcript {
    let mut now = Instant::now();
    let mut conn = H1Conn::new(limits, Timeouts::default(), now);
    let mut t = Transcript::default();
    for part in input.chunks(piece.max(1)) {
        if conn.is_closed() {
            break;
        }
        if conn.wants_read() {
            conn.handle_input(now, part);
        }
        pump(&mut conn, now, &mut t);
        now += Duration::from_secs(tick);
        conn.handle_timeout(now);
        pump(&mut conn, now, &mut t);
    }
    conn.handle_read_closed(now);
    pump(&mut conn, now, &mut t);
    assert!(conn.is_closed(), "not closed after the peer's FIN");
    assert!(
        t.wire.is_empty() || t.wire.starts_with(b"HTTP/1.1 "),
        "output does not start with a status line"
    );
    t
}

fn pump(conn: &mut H1Conn, now: Instant, t: &mut Transcript) {
    while let Some(ev) = conn.poll_event() {
        let resp: Response = match ev {
            Event::Request(r) => {
                assert!(t.rejects.is_empty(), "Request after Reject");
                t.requests.push(r);
                http::Response::new(Body::Bytes(Bytes::from_static(b"ok\n")))
            }
            Event::Reject(r) => {
                assert!(t.rejects.is_empty(), "second Reject");
                t.rejects.push(r.status.as_u16());
                error_response(r.status)
            }
            // No early answer: the body is read on the next poll.
            Event::Head => continue,
        };
        conn.send_response(now, resp);
    }
    let out = conn.out();
    while let Some(chunk) = out.front() {
        let n = chunk.len();
        if let Chunk::Bytes(b) = chunk {
            t.wire.extend_from_slice(b);
        }
        out.advance(n);
    }
}

/// Feeds `input` to the HTTP/2 engine (the client preface is prepended, so the frame
/// layer is reached) in pieces of `piece` bytes, the clock advancing `tick` seconds
/// between pieces. Every event is answered with a small response. Asserts the
/// invariants of `carbon-core/src/proto/h2/robustness_tests.rs`: the output is
/// well-formed frames starting with SETTINGS, nothing after an error GOAWAY, the
/// output queue within its bound, and the connection closed after the peer's FIN.
pub fn drive_h2(input: &[u8], piece: usize, tick: u64) {
    use carbon_core::limits::Http2Limits;
    use carbon_core::proto::h2::frame::{Frame, FrameReader};
    use carbon_core::proto::h2::{Event as H2Event, H2Conn, PREFACE};

    let limits = Http2Limits::default();
    let max_out = limits.max_output_queued as u64 + 16_384 + 1024;
    let mut now = Instant::now();
    let mut conn = H2Conn::new(limits, now);
    let mut reader = FrameReader::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut pump = |conn: &mut H2Conn, now: Instant| loop {
        let mut busy = false;
        while let Some(e) = conn.poll_event() {
            busy = true;
            match e {
                H2Event::Request { stream_id, .. } => conn.send_response(
                    now,
                    stream_id,
                    http::Response::new(Body::Bytes(Bytes::from_static(b"ok\n"))),
                ),
                H2Event::Reject { stream_id, status } => {
                    conn.send_response(now, stream_id, error_response(status))
                }
                H2Event::StreamReset { .. } => {}
            }
        }
        let q = conn.poll_transmit(now);
        assert!(q.total() <= max_out, "output queue over its bound");
        while let Some(c) = q.front().cloned() {
            if let Chunk::Bytes(b) = &c {
                reader.push(b);
            }
            q.advance(c.len());
            busy = true;
        }
        while let Some(f) = reader.next_frame(1 << 24).expect("malformed engine output") {
            if let Some(Frame::GoAway(g)) = frames.last() {
                assert!(g.code.0 == 0, "frame after an error GOAWAY");
            }
            frames.push(f);
        }
        if !busy {
            break;
        }
        conn.handle_output_drained(now);
    };
    let mut wire = PREFACE.to_vec();
    wire.extend_from_slice(input);
    for part in wire.chunks(piece.max(1)) {
        if conn.is_closed() {
            break;
        }
        if conn.wants_read() {
            conn.handle_input(now, part);
        }
        pump(&mut conn, now);
        now += Duration::from_secs(tick);
        conn.handle_timeout(now);
        pump(&mut conn, now);
    }
    conn.handle_read_closed(now);
    pump(&mut conn, now);
    assert!(conn.is_closed(), "not closed after the peer's FIN");
    assert!(matches!(frames.first(), Some(Frame::Settings(s)) if !s.ack));
}

/// The HPACK decoder's invariants. The checker is carbon-core's own file, compiled here
/// against the public API, so `cargo test -p carbon-core robustness` checks exactly what
/// the `hpack_decode` target checks.
#[path = "../../carbon-core/src/proto/h2/hpack"]
pub mod hpack {
    pub use carbon_core::proto::h2::hpack::*;

    #[path = "fuzz_invariants.rs"]
    pub mod invariants;
}

/// The WebSocket engine's invariants. The checker is carbon-core's own file, compiled
/// here against the public API, so `cargo test -p carbon-core robustness` checks
/// exactly what the `ws_frames` target checks.
#[path = "../../carbon-core/src/proto/ws"]
pub mod ws {
    pub use carbon_core::proto::ws::*;

    #[path = "fuzz_invariants.rs"]
    pub mod invariants;
}

/// The PROXY protocol parser's invariants, carbon-core's own file compiled here
/// against the public API, so `cargo test -p carbon-core proxy` checks exactly what
/// the `proxy_header` target checks.
#[path = "../../carbon-core/src/proto/proxy"]
pub mod proxy {
    pub use carbon_core::proto::proxy::*;

    #[path = "fuzz_invariants.rs"]
    pub mod invariants;
}
