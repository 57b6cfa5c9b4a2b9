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
            Event::Reject(status) => {
                assert!(t.rejects.is_empty(), "second Reject");
                t.rejects.push(status.as_u16());
                error_response(status)
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
