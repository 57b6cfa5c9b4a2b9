//! Connection-level tests: bytes in, events and wire bytes out, virtual clock.
#![allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;

use super::*;
use crate::proto::out::Chunk;
use crate::proto::Phase;
use crate::service::{error_response, Body};

type Responder = fn(&Request) -> Response;

/// Answers `<method> <path> <body>` so the wire shows which request was answered.
fn echo(req: &Request) -> Response {
    let text = format!(
        "{} {} {}",
        req.method(),
        req.uri().path(),
        String::from_utf8_lossy(req.body())
    );
    http::Response::new(Body::Bytes(Bytes::from(text)))
}

/// A driver stand-in: feeds bytes, answers every event at once, drains the output.
struct Harness {
    conn: H1Conn,
    now: Instant,
    respond: Responder,
    /// Requests seen, summarised.
    requests: Vec<String>,
    rejects: Vec<u16>,
    wire: Vec<u8>,
}

impl Harness {
    fn new() -> Self {
        Self::with(Limits::default(), echo)
    }

    fn with(limits: Limits, respond: Responder) -> Self {
        let now = Instant::now();
        Harness {
            conn: H1Conn::new(limits, Timeouts::default(), now),
            now,
            respond,
            requests: Vec::new(),
            rejects: Vec::new(),
            wire: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
        self.pump();
    }

    fn pump(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            let resp = match ev {
                Event::Request(r) => {
                    self.requests.push(summary(&r));
                    (self.respond)(&r)
                }
                Event::Reject(r) => {
                    self.rejects.push(r.status.as_u16());
                    error_response(r.status)
                }
                // No early answer: the engine reads the body on the next poll.
                Event::Head => continue,
            };
            self.conn.send_response(self.now, resp);
        }
        self.drain();
    }

    fn drain(&mut self) {
        let out = self.conn.out();
        while let Some(chunk) = out.front() {
            match chunk {
                Chunk::Bytes(b) => self.wire.extend_from_slice(b),
                Chunk::File(_) => self.wire.extend_from_slice(b"<file>"),
            }
            let n = chunk.len();
            out.advance(n);
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn wire(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }

    /// Everything observable, for comparing runs with different input splits.
    fn transcript(&self) -> String {
        format!(
            "requests={:?}\nrejects={:?}\nclosed={}\nwire={}",
            self.requests,
            self.rejects,
            self.conn.is_closed(),
            self.wire()
        )
    }
}

fn summary(r: &Request) -> String {
    format!(
        "{} {} {:?} host={:?} body={:?}",
        r.method(),
        r.uri(),
        r.version(),
        r.headers().get(http::header::HOST),
        String::from_utf8_lossy(r.body())
    )
}

/// Run `input` whole, split in two at every position, and one byte at a time; all runs
/// must give the same transcript, which is returned.
fn run_splits_with(input: &[u8], limits: Limits, respond: Responder) -> Harness {
    let mut whole = Harness::with(limits.clone(), respond);
    whole.feed(input);
    let expected = whole.transcript();
    for at in 1..input.len() {
        let mut h = Harness::with(limits.clone(), respond);
        h.feed(&input[..at]);
        h.feed(&input[at..]);
        assert_eq!(h.transcript(), expected, "split at {at}");
    }
    let mut h = Harness::with(limits, respond);
    for b in input {
        h.feed(std::slice::from_ref(b));
    }
    assert_eq!(h.transcript(), expected, "byte at a time");
    whole
}

fn run_splits(input: &[u8]) -> Harness {
    run_splits_with(input, Limits::default(), echo)
}

/// The rejection status, checking the connection closes after the error response.
fn rejected(input: &[u8]) -> u16 {
    rejected_with(input, Limits::default())
}

fn rejected_with(input: &[u8], limits: Limits) -> u16 {
    let h = run_splits_with(input, limits, echo);
    assert_eq!(h.rejects.len(), 1, "{}", h.transcript());
    let wire = h.wire();
    assert!(wire.contains("Connection: close\r\n"), "{}", h.transcript());
    assert!(h.conn.is_closed(), "{}", h.transcript());
    h.rejects[0]
}

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

#[test]
fn get_request_is_answered_whole_and_split() {
    let h = run_splits(GET);
    assert_eq!(
        h.requests,
        ["GET /index.html HTTP/1.1 host=Some(\"example.com\") body=\"\""]
    );
    assert_eq!(
        h.wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nGET /index.html "
    );
    assert!(!h.conn.is_closed());
    assert!(h.conn.is_idle());
    assert_eq!(h.conn.requests_served(), 1);
}

#[test]
fn rfc9112_9_3_2_pipelined_responses_in_order() {
    let input = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz\
POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
    let h = run_splits(input);
    assert_eq!(h.requests.len(), 4);
    let wire = h.wire();
    let a = wire.find("GET /a ").unwrap();
    let b = wire.find("POST /b xyz").unwrap();
    let c = wire.find("POST /c hi").unwrap();
    let d = wire.find("GET /d ").unwrap();
    assert!(a < b && b < c && c < d, "{wire}");
    assert_eq!(h.conn.requests_served(), 4);
    assert_eq!(h.conn.input_capacity(), 0);
}

#[test]
fn rfc9112_9_3_2_one_request_outstanding_at_a_time() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(
        now,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let Some(Event::Request(a)) = c.poll_event() else {
        panic!("no first request")
    };
    assert_eq!(a.uri().path(), "/a");
    assert!(c.poll_event().is_none(), "second request parsed too early");
    c.send_response(now, echo(&a));
    let Some(Event::Request(b)) = c.poll_event() else {
        panic!("no second request")
    };
    assert_eq!(b.uri().path(), "/b");
}

#[test]
fn pipelined_input_over_a_few_kib_pauses_reading() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    let one = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    c.handle_input(now, one);
    let Some(Event::Request(r)) = c.poll_event() else {
        panic!()
    };
    assert!(c.wants_read());
    let more = one.repeat(PIPELINE_READ_PAUSE / one.len() + 1);
    c.handle_input(now, &more);
    assert!(
        !c.wants_read(),
        "outstanding request + big pipeline must pause"
    );
    c.send_response(now, echo(&r));
    assert!(c.poll_event().is_some());
}

#[test]
fn output_over_limit_pauses_reading() {
    let limits = Limits {
        max_output_queued: 10,
        ..Limits::default()
    };
    let mut h = Harness::with(limits, echo);
    h.conn.handle_input(h.now, GET);
    let Some(Event::Request(r)) = h.conn.poll_event() else {
        panic!()
    };
    h.conn.send_response(h.now, echo(&r));
    assert!(!h.conn.wants_read(), "unsent output over the limit");
    h.drain();
    assert!(h.conn.wants_read());
}

#[test]
fn pipeline_flood_past_the_hard_cap_closes_after_the_response() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(now, GET);
    let Some(Event::Request(r)) = c.poll_event() else {
        panic!()
    };
    // A driver ignoring wants_read: the buffer must stay bounded.
    for _ in 0..100 {
        c.handle_input(now, &[b'x'; 16 * 1024]);
    }
    assert!(c.input_capacity() <= 256 * 1024);
    c.send_response(now, echo(&r));
    assert!(c.wants_close_after_flush());
}

#[test]
fn keep_alive_connection_holds_no_input_buffer() {
    // Byte by byte, so the head and the body are buffered before they complete.
    let mut h = Harness::new();
    for b in b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbo" {
        h.feed(std::slice::from_ref(b));
    }
    h.feed(b"dy");
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.conn.input_capacity(), 0);
    assert!(h.conn.is_idle());
    assert!(matches!(h.conn.state, State::Head));
    // Same after a head split across reads and an empty read.
    h.feed(b"GET / HTTP/1.1\r\n");
    assert!(h.conn.input_capacity() > 0);
    h.feed(b"");
    h.feed(b"Host: h\r\n\r\n");
    assert_eq!(h.requests.len(), 2);
    assert_eq!(h.conn.input_capacity(), 0);
}

#[test]
fn h1conn_stays_small() {
    let size = std::mem::size_of::<H1Conn>();
    println!("size_of::<H1Conn>() = {size}");
    assert!(size < 600, "H1Conn is {size} bytes");
}

// ----- RFC 9112 §2 / §3 / §5: message and head syntax -----

#[test]
fn rfc9112_2_2_leading_empty_lines_are_ignored() {
    let h = run_splits(b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    // The CRLF some clients add after a POST body.
    let h = run_splits(
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(h.requests.len(), 2);
    assert!(h.rejects.is_empty());
}

#[test]
fn rfc9112_2_2_idle_crlfs_do_not_extend_the_keep_alive_timer() {
    let mut h = Harness::new();
    h.feed(GET);
    let deadline = h.conn.poll_timeout().unwrap();
    h.advance(Duration::from_secs(10));
    h.feed(b"\r\n");
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    assert_eq!(h.conn.input_capacity(), 0);
}

#[test]
fn rfc9112_2_2_bare_lf_is_400() {
    assert_eq!(rejected(b"GET / HTTP/1.1\nHost: h\n\n"), 400);
}

#[test]
fn rfc9112_2_3_unknown_version_is_505() {
    assert_eq!(rejected(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
    assert_eq!(rejected(b"GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505);
    assert_eq!(rejected(b"GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
    // No version at all (the HTTP/0.9 request shape) is malformed, not a version.
    assert_eq!(rejected(b"GET /\r\n\r\n"), 400);
}

#[test]
fn rfc9110_2_5_higher_http1_minor_is_served_as_http11() {
    let h = run_splits(
        b"GET /a HTTP/1.2\r\nHost: h\r\n\r\nPOST /b HTTP/1.9\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(
        h.requests,
        [
            "GET /a HTTP/1.1 host=Some(\"h\") body=\"\"",
            "POST /b HTTP/1.1 host=Some(\"h\") body=\"hi\""
        ]
    );
    // HTTP/1.1 persistence: no close, and the responses say HTTP/1.1.
    assert!(!h.conn.is_closed());
    assert!(!h.wire().contains("connection:"), "{}", h.wire());
    assert_eq!(h.wire().matches("HTTP/1.1 200 OK\r\n").count(), 2);
}

#[test]
fn rfc9113_3_4_http2_preface_over_h1_is_505() {
    assert_eq!(rejected(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

/// A plain port that also takes h2c: a first line without an HTTP-version is an HTTP/2
/// client's broken preface as much as a bad HTTP/1.1 request, so the connection is
/// closed without a response (RFC 9113 §3.4), which neither protocol could read.
#[test]
fn rfc9113_3_4_line_without_http_version_first_on_an_h2c_port_closes_unanswered() {
    let mut h = Harness::new();
    h.conn.expect_h2_prior_knowledge();
    h.conn
        .handle_input(h.now, b"INVALID CONNECTION PREFACE\r\n\r\n");
    match h.conn.poll_event() {
        Some(Event::Reject(r)) => {
            assert!(r.unanswered);
            assert_eq!(r.reason, RequestError::NotHttp);
        }
        _ => panic!("no rejection"),
    }
    h.conn.close_unanswered();
    assert!(h.conn.is_closed());
    h.drain();
    assert!(h.wire.is_empty(), "{}", h.transcript());
}

/// RFC 9112 §3: everywhere else the same line gets its 400 (SHOULD), as does a later
/// request on an h2c port, which has already spoken HTTP/1.1.
#[test]
fn rfc9112_3_line_without_http_version_is_400_elsewhere_and_after_a_request() {
    assert_eq!(rejected(b"INVALID CONNECTION PREFACE\r\n\r\n"), 400);
    assert_eq!(rejected(b"GET / HTTP/1.1x\r\nHost: h\r\n\r\n"), 400);
    let mut h = Harness::new();
    h.conn.expect_h2_prior_knowledge();
    h.feed(GET);
    h.feed(b"GET / HTTP/one\r\nHost: h\r\n\r\n");
    assert_eq!(h.rejects, [400], "{}", h.transcript());
    assert!(h.wire().contains("HTTP/1.1 400"), "{}", h.transcript());
}

#[test]
fn rfc9112_3_invalid_method_is_400() {
    assert_eq!(rejected(b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

#[test]
fn rfc9110_15_6_2_unrecognized_method_is_501_then_close() {
    for m in ["FOO", "PROPFIND", "get", "BREW"] {
        let input = format!("{m} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(rejected(input.as_bytes()), 501, "{m}");
    }
    let h = run_splits(b"PATCH /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(
        h.requests,
        ["PATCH /p HTTP/1.1 host=Some(\"h\") body=\"x\""]
    );
}

#[test]
fn rfc9112_3_method_longer_than_any_known_is_501_before_the_line_ends() {
    let mut h = Harness::new();
    h.feed(b"VERYLONGMETHOD");
    assert_eq!(h.rejects, [501]);
    assert!(h.wire().starts_with("HTTP/1.1 501 Not Implemented\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn rfc9112_3_2_target_outside_the_uri_characters_is_400() {
    for target in [&b"/a\\b"[..], b"/a#b", b"/a\x7fb", b"/a\x01b"] {
        let mut input = b"GET ".to_vec();
        input.extend_from_slice(target);
        input.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(rejected(&input), 400, "{target:?}");
    }
    let h = run_splits(b"GET /caf%C3%A9?a=[1]&b=~ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    // What browsers send unencoded is served (byte at a time too).
    for target in [
        &b"/caf\xc3\xa9"[..],
        b"/a\"b",
        b"/?a=<b>",
        b"/a{b}",
        b"/?fonts=Roboto|Open+Sans",
        b"/\xff",
    ] {
        let mut input = b"GET ".to_vec();
        input.extend_from_slice(target);
        input.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        let h = run_splits(&input);
        assert_eq!(h.requests.len(), 1, "{target:?}: {}", h.transcript());
    }
}

#[test]
fn rfc9112_3_long_request_line_is_414() {
    let limits = Limits {
        max_request_line: 64,
        ..Limits::default()
    };
    let input = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(100));
    assert_eq!(rejected_with(input.as_bytes(), limits), 414);
}

#[test]
fn rfc6585_5_header_limits_are_431() {
    let limits = Limits {
        max_header_line: 32,
        max_headers_size: 100,
        max_headers: 4,
        ..Limits::default()
    };
    let long_line = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "v".repeat(40));
    assert_eq!(rejected_with(long_line.as_bytes(), limits.clone()), 431);
    let mut big = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..4 {
        big.push_str(&format!("X-{i}: {}\r\n", "v".repeat(20)));
    }
    big.push_str("\r\n");
    assert_eq!(rejected_with(big.as_bytes(), limits.clone()), 431);
    let many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n";
    assert_eq!(rejected_with(many.as_bytes(), limits), 431);
}

#[test]
fn rfc6585_5_huge_head_is_refused_without_buffering_it() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(now, b"GET / HTTP/1.1\r\nHost: h\r\nX: ");
    for _ in 0..100 {
        c.handle_input(now, &[b'a'; 1024]);
    }
    assert!(c.input_capacity() <= 2 * Limits::default().max_header_line);
    assert!(matches!(c.poll_event(), Some(Event::Reject(r)) if r.status == 431));
}

#[test]
fn rfc9112_5_1_whitespace_between_name_and_colon_is_400() {
    assert_eq!(rejected(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
}

#[test]
fn rfc9112_5_2_obs_fold_is_400() {
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"),
        400
    );
}

#[test]
fn rfc9110_5_5_invalid_field_bytes_are_400() {
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"),
        400
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"),
        400
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n"),
        400
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX\x7f: a\r\n\r\n"),
        400
    );
    // HTAB and obs-text are allowed in values.
    let h = run_splits(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\xe9\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
}

#[test]
fn rfc9112_3_2_host_is_required_unique_and_valid() {
    assert_eq!(rejected(b"GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        400
    );
    assert_eq!(rejected(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
    let h = run_splits(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
}

#[test]
fn rfc9112_3_2_2_absolute_form_target_replaces_host() {
    let h = run_splits(b"GET http://example.org/p HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(
        h.requests,
        ["GET http://example.org/p HTTP/1.1 host=Some(\"example.org\") body=\"\""]
    );
    assert_eq!(rejected(b"GET ftp://x/p HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

#[test]
fn rfc9112_3_2_3_and_3_2_4_target_forms_by_method() {
    assert_eq!(
        run_splits(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
            .requests
            .len(),
        1
    );
    assert_eq!(rejected(b"GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    let h = run_splits(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    assert_eq!(rejected(b"GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

// ----- RFC 9112 §6 / §7: body framing -----

#[test]
fn rfc9112_6_3_cl_and_te_together_is_400_and_nothing_is_smuggled() {
    let input = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(rejected(input), 400);
    let h = run_splits(input);
    assert!(h.requests.is_empty());
    assert!(!h.wire().contains("smuggled"));
}

#[test]
fn rfc9112_6_3_differing_content_lengths_are_400() {
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        400
    );
    for bad in ["", "+1", "-1", "1x", "99999999999999999999999"] {
        let input = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {bad}\r\n\r\n");
        assert_eq!(rejected(input.as_bytes()), 400, "{bad:?}");
    }
}

#[test]
fn rfc9112_6_3_transfer_coding_not_final_chunked_is_400() {
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        400
    );
}

#[test]
fn rfc9112_6_1_unknown_transfer_coding_is_501() {
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo, chunked\r\n\r\n"),
        501
    );
}

#[test]
fn rfc9112_6_1_chunked_in_http10_is_400() {
    assert_eq!(
        rejected(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        400
    );
}

#[test]
fn rfc9112_7_1_chunked_body_is_decoded() {
    let h = run_splits(
        b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n\
GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(h.requests.len(), 2);
    assert!(h.requests[0].ends_with("body=\"Wikipedia\""));
    assert!(h.wire().contains("POST /up Wikipedia"));
}

#[test]
fn rfc9112_7_1_invalid_chunk_framing_is_400() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        "x\r\n",
        "fffffffffffffffff\r\n",
        "3\r\nabcd\r\n",
        "3\r\nabc\n",
        "0\r\nBad Trailer: 1\r\n\r\n",
    ] {
        let input = format!("{head}{body}");
        assert_eq!(rejected(input.as_bytes()), 400, "{body:?}");
    }
}

#[test]
fn rfc9112_7_1_1_malformed_chunk_extension_is_400_and_nothing_is_smuggled() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        "5;a=\"b\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
        "5;a=b c\r\nhello\r\n0\r\n\r\n",
        "5;\r\nhello\r\n0\r\n\r\n",
        "5;a \r\nhello\r\n0\r\n\r\n",
    ] {
        let input = format!("{head}{body}");
        assert_eq!(rejected(input.as_bytes()), 400, "{body:?}");
    }
    let h = run_splits(format!("{head}5 ; a = \"b\\\"\" ;c\r\nhello\r\n0;d=e\r\n\r\n").as_bytes());
    assert_eq!(h.requests.len(), 1, "{}", h.transcript());
}

#[test]
fn rfc9112_7_chunked_with_a_parameter_is_400() {
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n"),
        400
    );
}

#[test]
fn rfc9112_7_1_2_oversized_trailers_are_431() {
    let limits = Limits {
        max_header_line: 16,
        ..Limits::default()
    };
    let input = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: {}\r\n\r\n",
        "t".repeat(20)
    );
    assert_eq!(rejected_with(input.as_bytes(), limits), 431);
}

#[test]
fn rfc9110_15_5_14_body_over_limit_is_413() {
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    assert_eq!(
        rejected_with(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
            limits.clone()
        ),
        413
    );
    assert_eq!(
        rejected_with(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            limits.clone()
        ),
        413
    );
    let h = run_splits_with(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd",
        limits,
        echo,
    );
    assert_eq!(h.requests.len(), 1);
    let h = run_splits_with(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        Limits {
            max_body: 4,
            ..Limits::default()
        },
        echo,
    );
    assert!(
        h.wire().starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "RFC 9110 §15.5.14 name: {}",
        h.wire()
    );
}

// ----- RFC 9110 §10.1.1: Expect -----

#[test]
fn rfc9110_10_1_1_100_continue_precedes_the_final_response() {
    let head = b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let mut h = Harness::new();
    h.feed(head);
    assert_eq!(h.wire(), "HTTP/1.1 100 Continue\r\n\r\n");
    assert!(h.requests.is_empty());
    h.feed(b"hello");
    assert!(h
        .wire()
        .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(h.wire().ends_with("POST /e hello"));
    // Same bytes whatever the split.
    let mut all = head.to_vec();
    all.extend_from_slice(b"hello");
    assert_eq!(run_splits(&all).wire(), h.wire());
}

#[test]
fn rfc9110_10_1_1_too_large_body_gets_413_without_100() {
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    let input = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let h = run_splits_with(input, limits.clone(), echo);
    assert!(!h.wire().contains("100 Continue"));
    assert_eq!(rejected_with(input, limits), 413);
}

#[test]
fn rfc9110_10_1_1_unknown_expectation_is_417() {
    assert_eq!(
        rejected(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: coffee\r\nContent-Length: 1\r\n\r\nx"),
        417
    );
}

// ----- RFC 9112 §9: persistence -----

#[test]
fn rfc9112_9_3_connection_close_is_honoured_and_later_bytes_ignored() {
    let h = run_splits(
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(h.requests.len(), 1);
    assert!(h.wire().contains("Connection: close\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn rfc9112_9_3_http10_persists_only_with_keep_alive() {
    let h = run_splits(b"GET / HTTP/1.0\r\n\r\n");
    assert!(h.wire().contains("Connection: close\r\n"));
    assert!(h.conn.is_closed());
    let h = run_splits(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n");
    assert_eq!(h.requests.len(), 2);
    let wire = h.wire();
    let first = wire.find("Connection: keep-alive\r\n").unwrap();
    assert!(first < wire.find("Connection: close\r\n").unwrap());
    assert!(
        wire.starts_with("HTTP/1.1 200 OK\r\n"),
        "response version is 1.1"
    );
    assert!(h.conn.is_closed());
}

#[test]
fn rfc9112_9_6_service_connection_close_closes() {
    fn closing(req: &Request) -> Response {
        let mut r = echo(req);
        r.headers_mut()
            .insert(http::header::CONNECTION, "close".parse().unwrap());
        r
    }
    let h = run_splits_with(
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
        Limits::default(),
        closing,
    );
    assert_eq!(h.requests.len(), 1);
    assert!(h.conn.is_closed());
}

#[test]
fn reject_after_a_good_pipelined_request_keeps_order_then_closes() {
    let h = run_splits(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.rejects, [400]);
    let wire = h.wire();
    assert!(wire.find("GET /a").unwrap() < wire.find("HTTP/1.1 400").unwrap());
    assert!(h.conn.is_closed());
}

// ----- RFC 9110 §9.3.2, §6.4.1: bodiless responses -----

#[test]
fn rfc9110_9_3_2_head_response_has_no_body() {
    let h = run_splits(b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        h.wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nGET /b "
    );
}

#[test]
fn rfc9110_15_4_5_304_and_204_have_no_body() {
    fn not_modified(req: &Request) -> Response {
        let mut r = echo(req);
        *r.status_mut() = if req.uri().path() == "/304" {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::NO_CONTENT
        };
        r
    }
    let h = run_splits_with(
        b"GET /304 HTTP/1.1\r\nHost: h\r\n\r\nGET /204 HTTP/1.1\r\nHost: h\r\n\r\n",
        Limits::default(),
        not_modified,
    );
    assert_eq!(
        h.wire(),
        "HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    );
}

// ----- Timeouts -----

#[test]
fn fresh_connection_uses_the_header_timeout_and_closes_silently() {
    let mut h = Harness::new();
    let t0 = h.now;
    let deadline = t0 + Timeouts::default().request_header;
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    h.conn.handle_timeout(t0 + Duration::from_secs(1));
    assert!(!h.conn.is_closed(), "spurious timeout must be a no-op");
    h.conn.handle_timeout(deadline);
    h.pump();
    assert!(h.conn.is_closed());
    assert!(h.wire.is_empty());
}

#[test]
fn rfc9110_15_5_9_header_timeout_is_408_then_close() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(3));
    h.feed(b"GET / HT");
    let deadline = h.now + Timeouts::default().request_header;
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    h.advance(Duration::from_secs(10));
    h.feed(b"TP/1.1\r\n");
    assert_eq!(
        h.conn.poll_timeout(),
        Some(deadline),
        "header timer is not reset by bytes"
    );
    h.conn.handle_timeout(deadline - Duration::from_millis(1));
    h.pump();
    assert!(h.rejects.is_empty());
    h.conn.handle_timeout(deadline);
    h.pump();
    assert_eq!(h.rejects, [408]);
    assert!(h.wire().starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert!(h.conn.is_closed());
    // Once only.
    h.conn.handle_timeout(deadline + Duration::from_secs(100));
    h.pump();
    assert_eq!(h.rejects, [408]);
}

#[test]
fn rfc9110_15_5_9_body_timeout_is_total_from_the_end_of_the_head() {
    // A slow POST: one body byte every few seconds must not hold the connection past
    // request_body_timeout counted from the head.
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
    let deadline = h.now + Timeouts::default().request_body;
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    while h.now + Duration::from_secs(5) < deadline {
        h.advance(Duration::from_secs(5));
        h.feed(b"x");
        assert_eq!(
            h.conn.poll_timeout(),
            Some(deadline),
            "body bytes do not extend the timer"
        );
    }
    h.conn.handle_timeout(deadline - Duration::from_millis(1));
    h.pump();
    assert!(h.rejects.is_empty());
    h.conn.handle_timeout(deadline);
    h.pump();
    assert_eq!(h.rejects, [408]);
    assert!(h.requests.is_empty());
    assert!(h.wire().starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn rfc9110_15_5_9_body_timeout_of_a_chunked_body_is_total_too() {
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    let deadline = h.now + Timeouts::default().request_body;
    h.advance(Duration::from_secs(59));
    h.feed(b"1\r\nx\r\n");
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    h.advance(Duration::from_secs(1));
    h.conn.handle_timeout(h.now);
    h.pump();
    assert_eq!(h.rejects, [408]);
    assert!(h.conn.is_closed());
}

#[test]
fn keep_alive_timeout_runs_from_the_response_and_closes_silently() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(2));
    h.conn.handle_input(h.now, GET);
    let Some(Event::Request(r)) = h.conn.poll_event() else {
        panic!()
    };
    assert_eq!(
        h.conn.poll_timeout(),
        None,
        "no timer while the service works"
    );
    h.advance(Duration::from_secs(5));
    h.conn.send_response(h.now, echo(&r));
    h.drain();
    let before = h.wire.len();
    let deadline = h.now + Timeouts::default().keep_alive;
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    h.conn.handle_timeout(deadline);
    h.pump();
    assert!(h.conn.is_closed());
    assert_eq!(h.wire.len(), before, "keep-alive expiry sends nothing");
}

#[test]
fn keep_alive_timer_starts_when_the_response_is_written() {
    // A long download must not use up the idle time of the next request on the
    // connection: the driver's write-stall timer covers the writing.
    let mut h = Harness::new();
    h.conn.handle_input(h.now, GET);
    let Some(Event::Request(r)) = h.conn.poll_event() else {
        panic!()
    };
    h.conn.send_response(h.now, echo(&r));
    assert_eq!(
        h.conn.poll_timeout(),
        None,
        "no idle timer while output is queued"
    );
    h.advance(Duration::from_secs(100));
    h.drain();
    h.conn.handle_output_drained(h.now);
    assert_eq!(
        h.conn.poll_timeout(),
        Some(h.now + Timeouts::default().keep_alive)
    );
    assert!(!h.conn.is_closed());
}

// ----- FIN and shutdown -----

#[test]
fn read_closed_when_idle_closes() {
    let mut h = Harness::new();
    h.feed(GET);
    h.conn.handle_read_closed(h.now);
    assert!(h.conn.is_closed());
}

#[test]
fn read_closed_mid_request_closes_without_response() {
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.1\r\nHo");
    h.conn.handle_read_closed(h.now);
    h.pump();
    assert!(h.conn.is_closed());
    assert!(h.wire.is_empty());
    assert_eq!(h.conn.input_capacity(), 0);
}

#[test]
fn read_closed_with_request_outstanding_answers_then_closes() {
    let mut h = Harness::new();
    h.conn.handle_input(
        h.now,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c",
    );
    h.conn.handle_read_closed(h.now);
    assert!(!h.conn.wants_read());
    h.pump();
    assert_eq!(
        h.requests.len(),
        2,
        "complete buffered requests are answered"
    );
    let wire = h.wire();
    assert!(wire.ends_with("GET /b "), "{wire}");
    assert!(h.conn.is_closed());
}

#[test]
fn read_closed_after_last_request_sends_connection_close() {
    let mut h = Harness::new();
    h.conn.handle_input(h.now, GET);
    h.conn.handle_read_closed(h.now);
    h.pump();
    assert!(h.wire().contains("Connection: close\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn shutdown_closes_idle_connections_at_once() {
    let mut h = Harness::new();
    h.feed(GET);
    assert!(h.conn.is_idle());
    h.conn.start_shutdown();
    assert!(h.conn.is_closed());
}

#[test]
fn shutdown_finishes_the_current_request_with_connection_close() {
    let mut h = Harness::new();
    h.feed(b"GET /a HTTP/1.1\r\nHo");
    h.conn.start_shutdown();
    assert!(!h.conn.wants_close_after_flush());
    h.feed(b"st: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    assert!(h.wire().contains("Connection: close\r\n"));
    assert!(h.conn.is_closed());
}

#[test]
fn file_bodies_are_queued_as_file_regions() {
    fn file(_: &Request) -> Response {
        let f = tempfile::tempfile().unwrap();
        http::Response::new(Body::File(crate::service::FileRegion {
            file: std::sync::Arc::new(f),
            offset: 0,
            len: 100,
        }))
    }
    let h = run_splits_with(GET, Limits::default(), file);
    assert_eq!(
        h.wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<file>"
    );
}

#[test]
fn one_huge_read_behind_a_request_is_bounded_too() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    let mut data = GET.to_vec();
    data.extend(vec![b'x'; 1024 * 1024]);
    c.handle_input(now, &data);
    assert_eq!(c.input_capacity(), 0);
    let Some(Event::Request(r)) = c.poll_event() else {
        panic!()
    };
    c.send_response(now, echo(&r));
    assert!(c.wants_close_after_flush());
}

#[test]
fn garbage_after_close_is_ignored() {
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let wire = h.wire.len();
    h.feed(b"\x00\x01garbage GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.wire.len(), wire);
    assert!(h.requests.len() == 1 && h.rejects.is_empty());
    assert!(h.conn.is_closed());
}

#[test]
fn rejection_carries_reason_request_line_and_user_agent() {
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    // Byte at a time: the head is assembled from buffered input, not one read.
    for b in b"GET /a\\b HTTP/1.1\r\nUser-Agent: ua/1\r\nHost: h\r\n\r\n" {
        c.handle_input(now, &[*b]);
    }
    let Some(Event::Reject(r)) = c.poll_event() else {
        panic!("no rejection");
    };
    assert_eq!(r.reason, RequestError::InvalidTarget);
    assert_eq!(r.status, 400);
    assert_eq!(r.request_line.as_deref(), Some(&b"GET /a\\b HTTP/1.1"[..]));
    assert_eq!(r.user_agent.as_deref(), Some(&b"ua/1"[..]));

    // A body that never arrives: the parsed head is described.
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(
        now,
        b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc",
    );
    let deadline = c.poll_timeout().unwrap();
    c.handle_timeout(deadline);
    let Some(Event::Reject(r)) = c.poll_event() else {
        panic!("no rejection");
    };
    assert_eq!(r.reason, RequestError::Timeout);
    assert_eq!(r.request_line.as_deref(), Some(&b"POST /up HTTP/1.1"[..]));
    assert_eq!(r.user_agent, None);
}

// ----- Early answers (Event::Head) and progress for the slot policy -----

#[test]
fn rfc9110_10_1_1_early_answer_is_sent_before_the_body_without_100_continue() {
    // A request refused whatever its body holds is answered at its head: the body is
    // never awaited, and no 100 Continue invites the client to send it (RFC 9110
    // §10.1.1 lets a server answer with the final status instead).
    let head = b"POST /static.html HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 500000\r\n\r\n";
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    for (i, b) in head.iter().enumerate() {
        c.handle_input(now, std::slice::from_ref(b));
        if i + 1 < head.len() {
            assert!(
                c.poll_event().is_none(),
                "event before the head ended (byte {i})"
            );
        }
    }
    assert!(matches!(c.poll_event(), Some(Event::Head)));
    let h = c.request_head().unwrap();
    assert_eq!(h.method(), http::Method::POST);
    assert_eq!(h.uri().path(), "/static.html");
    c.send_response(now, error_response(StatusCode::METHOD_NOT_ALLOWED));
    let mut wire = Vec::new();
    let out = c.out();
    while let Some(Chunk::Bytes(b)) = out.front() {
        wire.extend_from_slice(b);
        let n = b.len() as u64;
        out.advance(n);
    }
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.starts_with("HTTP/1.1 405 "), "{wire}");
    assert!(wire.contains("Connection: close\r\n"), "{wire}");
    assert!(!wire.contains("100 Continue"), "{wire}");
    // The body that still arrives is dropped; no further event.
    c.handle_input(now, &[b'x'; 4096]);
    assert!(c.poll_event().is_none());
    assert!(c.is_closed());
}

#[test]
fn rfc9112_6_2_head_event_then_poll_reads_the_body_whatever_the_split() {
    // Without an early answer the request is delivered whole, as before, and a 100
    // Continue goes out once the driver passed on answering early.
    let input =
        b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello";
    let h = run_splits(input);
    assert_eq!(h.requests.len(), 1);
    assert!(h
        .wire()
        .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(h.wire().ends_with("POST /e hello"), "{}", h.wire());
}

#[test]
fn early_answer_needs_a_body_bodiless_requests_arrive_whole() {
    // No Event::Head without a body: a bodiless request is complete at its head.
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(now, b"DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(matches!(c.poll_event(), Some(Event::Request(_))));
}

#[test]
fn progress_reports_phase_bytes_and_start_for_the_slot_policy() {
    let t0 = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), t0);
    // A fresh connection that sent nothing waits for a head since it opened.
    let p = c.progress();
    assert_eq!((p.phase, p.since, p.received), (Phase::Head, t0, 0));

    let t1 = t0 + Duration::from_secs(1);
    c.handle_input(t1, b"POST /u HTTP/1.1\r\n");
    let p = c.progress();
    assert_eq!((p.phase, p.since, p.received), (Phase::Head, t1, 18));

    let t2 = t0 + Duration::from_secs(2);
    c.handle_input(t2, b"Host: h\r\nContent-Length: 10\r\n\r\nabc");
    assert!(matches!(c.poll_event(), Some(Event::Head)));
    let p = c.progress();
    assert_eq!((p.phase, p.since, p.received), (Phase::Body, t2, 3));
    assert!(c.poll_event().is_none());
    assert_eq!(c.progress().received, 3);

    c.handle_input(t2, b"defghij");
    assert!(matches!(c.poll_event(), Some(Event::Request(_))));
    assert_eq!(c.progress().phase, Phase::Responding);

    let t3 = t0 + Duration::from_secs(3);
    c.send_response(t3, error_response(StatusCode::OK));
    // Still writing the response: busy, not idle.
    assert_eq!(c.progress().phase, Phase::Responding);
    let out = c.out();
    while let Some(chunk) = out.front() {
        let n = chunk.len();
        out.advance(n);
    }
    let t4 = t0 + Duration::from_secs(4);
    c.handle_output_drained(t4);
    let p = c.progress();
    assert_eq!((p.phase, p.since), (Phase::Idle, t4));
}

#[test]
fn rfc9112_9_6_body_complete_with_the_fin_is_still_answered_after_the_head_event() {
    // Head, body and FIN in one read: the FIN arrives while the head waits for the
    // driver, and the complete request must still be delivered.
    let now = Instant::now();
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(
        now,
        b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    );
    c.handle_read_closed(now);
    assert!(matches!(c.poll_event(), Some(Event::Head)));
    let Some(Event::Request(r)) = c.poll_event() else {
        panic!("the complete request was dropped");
    };
    assert_eq!(&r.body()[..], b"abc");

    // The same with the FIN after the head event was handed out.
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(
        now,
        b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert!(matches!(c.poll_event(), Some(Event::Head)));
    c.handle_read_closed(now);
    assert!(matches!(c.poll_event(), Some(Event::Request(_))));

    // An incomplete body cut by the FIN is dropped without an answer.
    let mut c = H1Conn::new(Limits::default(), Timeouts::default(), now);
    c.handle_input(
        now,
        b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc",
    );
    c.handle_read_closed(now);
    assert!(matches!(c.poll_event(), Some(Event::Head)));
    assert!(c.poll_event().is_none());
    assert!(c.is_closed());
}

// ----- 101 Switching Protocols: the end state that hands the connection over -----

/// Answers every request with a 101 to WebSocket, as `WebSocketService` does.
fn switch(_: &Request) -> Response {
    let mut r = http::Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    r.headers_mut()
        .insert(http::header::CONNECTION, "Upgrade".parse().unwrap());
    r.headers_mut()
        .insert(http::header::UPGRADE, "websocket".parse().unwrap());
    r
}

const UPGRADE_REQ: &[u8] =
    b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

#[test]
fn rfc9110_15_2_2_101_hands_over_the_bytes_after_the_head_for_every_split() {
    // A first frame sent without waiting for the 101 (RFC 6455 §4.1 allows it once
    // the handshake is sent), plus bytes that look like another HTTP request: none
    // of it may be parsed as HTTP.
    let mut input = UPGRADE_REQ.to_vec();
    let tail = b"\x81\x85abcdGET / HTTP/1.1\r\n\r\n";
    input.extend_from_slice(tail);
    for at in 0..=input.len() {
        let mut h = Harness::with(Limits::default(), switch);
        h.feed(&input[..at]);
        if at < input.len() {
            h.feed(&input[at..]);
        }
        assert_eq!(h.requests.len(), 1, "split at {at}");
        assert!(h.conn.is_upgraded(), "split at {at}");
        assert!(!h.conn.wants_read() && !h.conn.is_closed());
        assert_eq!(h.conn.poll_timeout(), None);
        assert_eq!(
            h.wire(),
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "split at {at}"
        );
        assert_eq!(h.conn.take_upgraded_input().unwrap(), tail, "split at {at}");
        assert_eq!(h.conn.take_upgraded_input().unwrap(), b"");
    }
}

#[test]
fn rfc9110_15_2_2_bytes_fed_one_at_a_time_after_the_101_are_kept_in_order() {
    let mut h = Harness::with(Limits::default(), switch);
    for b in UPGRADE_REQ.iter().chain(b"\x88\x80abcd") {
        h.feed(std::slice::from_ref(b));
    }
    assert!(h.conn.is_upgraded());
    assert_eq!(h.conn.take_upgraded_input().unwrap(), b"\x88\x80abcd");
}

#[test]
fn rfc9110_7_8_http10_request_is_not_switched() {
    let mut h = Harness::with(Limits::default(), switch);
    h.feed(b"GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert!(!h.conn.is_upgraded());
    assert_eq!(h.conn.take_upgraded_input(), None);
    assert!(h.conn.is_closed());
}

#[test]
fn normal_response_is_not_an_upgrade_and_strips_connection_upgrade() {
    let mut h = Harness::with(Limits::default(), |_| {
        let mut r = http::Response::new(Body::Empty);
        r.headers_mut()
            .insert(http::header::CONNECTION, "Upgrade".parse().unwrap());
        r
    });
    h.feed(UPGRADE_REQ);
    assert!(!h.conn.is_upgraded());
    assert_eq!(h.conn.take_upgraded_input(), None);
    assert!(
        !h.wire().to_ascii_lowercase().contains("connection"),
        "{}",
        h.wire()
    );
    // Still HTTP/1.1: the next request is parsed.
    h.feed(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.requests.len(), 2);
}
