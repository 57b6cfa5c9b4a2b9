//! Randomized robustness tests of the HTTP/1.1 engine, driven only through its public
//! API the way the driver drives it: random bytes, mutations of valid requests, random
//! split points, a slow or absent writer and a virtual clock, checked against
//! invariants that must hold whatever the peer sends:
//!
//! * no panic;
//! * after a `Reject` no `Request` follows, and the connection ends closed;
//! * the output is a sequence of well-formed responses, one final response per event,
//!   each framed by Content-Length unless it is 1xx/204/304 (RFC 9112 §6.3), nothing
//!   after a `connection: close` response;
//! * a read close or an expired timer always ends in a closed connection;
//! * memory stays bounded: the output queue, and the bytes a peer can make the engine
//!   take before it refuses (RFC 9112 §2.3 limits, CVE-2023-39326-style streams);
//! * valid input parses to the same requests whatever the split points.
//!
//! Deterministic: fixed seeds, an inline xorshift generator, bounded iteration counts.
#![allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Method, StatusCode};

use super::{Event, H1Conn};
use crate::limits::{Limits, Timeouts};
use crate::proto::out::Chunk;
use crate::service::{error_response, Body, Response};

/// The engine pauses reading once this much pipelined input waits behind an
/// outstanding request (`PIPELINE_READ_PAUSE` in conn.rs, private there).
const PIPELINE_READ_PAUSE: usize = 4 * 1024;
/// Largest piece handed to `handle_input` in one call by these tests.
const MAX_PIECE: usize = 512;

use crate::test_rng::Rng;

/// Valid requests, one or more per entry, each with the requests it holds.
const CORPUS: &[(&[u8], usize)] = &[
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    (
        b"GET /index.html?x=1&y=%41 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t/1\r\n\
          Accept: */*\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: \"abc\"\r\n\r\n",
        1,
    ),
    (b"HEAD /a.css HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    (
        b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        1,
    ),
    (
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1;q=\"x\"\r\n world\r\n0\r\nTrailer-A: x\r\n\r\n",
        1,
    ),
    (
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        2,
    ),
    (
        b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\
          GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
        2,
    ),
    (
        b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
        1,
    ),
    (
        b"POST /ec HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\
          Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        1,
    ),
    (
        b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /old2 HTTP/1.0\r\n\r\n",
        2,
    ),
    (b"\r\n\r\nGET /lead HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    (b"GET http://a/abs?q HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    (
        b"GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n\
          GET /ignored HTTP/1.1\r\nHost: a\r\n\r\n",
        1,
    ),
    (
        b"DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n\
          HEAD /y HTTP/1.1\r\nHost: a\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n",
        3,
    ),
];

/// Pieces spliced in by the mutator: framing fields and the bytes that delimit things.
const SPLICES: &[&[u8]] = &[
    b"\r\n",
    b"\r",
    b"\n",
    b"\0",
    b" ",
    b":",
    b"\t",
    b"\x7f",
    b"\xff",
    b"\r\n\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 0\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length: 99999999999999999999999\r\n",
    b"Content-Length: 3, 3\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: chunked, chunked\r\n",
    b"Expect: 100-continue\r\n",
    b"Connection: close\r\n",
    b"Host: b\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffffffff\r\n",
    b"1;",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"%",
    b"\xc3\xbc",
];

/// Limits small enough that random input reaches them.
fn small_limits() -> Limits {
    Limits {
        max_request_line: 256,
        max_header_line: 256,
        max_headers_size: 1024,
        max_headers: 16,
        max_body: 2048,
        max_output_queued: 4096,
    }
}

/// Distinct timeouts, so a wrong timer is visible in the transcript.
fn timeouts() -> Timeouts {
    Timeouts {
        request_header: Duration::from_secs(7),
        request_body: Duration::from_secs(13),
        keep_alive: Duration::from_secs(29),
        ..Timeouts::default()
    }
}

/// How a simulated driver behaves towards the engine.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    /// Answer each event at once (else: at a random later step).
    answer_at_once: bool,
    /// Drain the whole output after every step (else: random partial drains).
    drain_at_once: bool,
    /// Feed even when `wants_read()` is false (a driver that ignores backpressure).
    ignore_backpressure: bool,
    /// Advance the clock and fire timers at random steps.
    clock: bool,
}

impl Behaviour {
    const PROMPT: Behaviour = Behaviour {
        answer_at_once: true,
        drain_at_once: true,
        ignore_backpressure: false,
        clock: false,
    };

    fn random(rng: &mut Rng) -> Self {
        Behaviour {
            answer_at_once: !rng.one_in(3),
            drain_at_once: !rng.one_in(3),
            ignore_backpressure: rng.one_in(5),
            clock: rng.one_in(2),
        }
    }
}

/// A driver stand-in that checks invariants as it goes. Violations are returned as
/// `Err(description)`; panics are caught by [`run_case`].
struct Sim {
    conn: H1Conn,
    limits: Limits,
    now: Instant,
    rng: Rng,
    how: Behaviour,
    /// The answer to the outstanding event, with whether its request was HEAD.
    pending: Option<(Response, bool)>,
    /// One entry per answered event: its response carries no body on the wire (HEAD).
    answered: Vec<bool>,
    requests: Vec<String>,
    rejects: Vec<u16>,
    wire: Vec<u8>,
    read_closed: bool,
    /// Largest growth of the output queue caused by one `send_response`.
    max_response: u64,
    /// Largest piece fed in one `handle_input`.
    max_piece: usize,
    /// Always answer `200 ok` (keeps the connection open: request counts are exact).
    plain: bool,
}

impl Sim {
    fn new(limits: Limits, how: Behaviour, seed: u64) -> Self {
        let now = Instant::now();
        Sim {
            conn: H1Conn::new(limits.clone(), timeouts(), now),
            limits,
            now,
            rng: Rng::new(seed),
            how,
            pending: None,
            answered: Vec::new(),
            requests: Vec::new(),
            rejects: Vec::new(),
            wire: Vec::new(),
            read_closed: false,
            max_response: 0,
            max_piece: 0,
            plain: false,
        }
    }

    fn feed(&mut self, piece: &[u8]) -> Result<(), String> {
        self.max_piece = self.max_piece.max(piece.len());
        self.conn.handle_input(self.now, piece);
        self.pump()
    }

    /// A small response whose shape varies: statuses with and without bodies, and
    /// framing fields a careless service might set (the engine must drop them).
    fn respond_to(&mut self, head: bool) -> Response {
        if self.plain {
            return http::Response::new(Body::Bytes(Bytes::from_static(b"ok\n")));
        }
        let status = *self.rng.pick(&[200, 200, 200, 204, 304, 404, 500, 206]);
        let body = match self.rng.below(8) {
            0 => Body::Empty,
            1 => Body::Bytes(Bytes::from(vec![b'x'; 20 * 1024])),
            _ => Body::Bytes(Bytes::from_static(b"ok\n")),
        };
        let mut resp = http::Response::new(body);
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        let h = resp.headers_mut();
        match self.rng.below(12) {
            0 => {
                h.insert(CONTENT_LENGTH, HeaderValue::from_static("999"));
            }
            1 => {
                h.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
            }
            2 => {
                h.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            3 => {
                h.insert(CONTENT_LENGTH, HeaderValue::from_static("x1"));
            }
            // The service contract: Content-Length only on HEAD answers.
            _ if head => {
                h.insert(CONTENT_LENGTH, HeaderValue::from_static("3"));
            }
            _ => {}
        }
        resp
    }

    /// Drain events, as the driver does after every input.
    fn pump(&mut self) -> Result<(), String> {
        loop {
            if self.pending.is_some() {
                if !self.how.answer_at_once && !self.rng.one_in(3) {
                    if self.conn.poll_event().is_some() {
                        return Err("a second event while one is outstanding".into());
                    }
                    break;
                }
                self.answer();
            }
            let Some(ev) = self.conn.poll_event() else {
                break;
            };
            match ev {
                Event::Request(r) => {
                    if !self.rejects.is_empty() {
                        return Err(format!("Request after Reject: {}", summary(&r)));
                    }
                    self.requests.push(summary(&r));
                    let head = r.method() == Method::HEAD;
                    let resp = self.respond_to(head);
                    self.pending = Some((resp, head));
                }
                Event::Reject(r) => {
                    let s = r.status;
                    if !self.rejects.is_empty() {
                        return Err(format!("a second Reject ({s})"));
                    }
                    self.rejects.push(s.as_u16());
                    self.pending = Some((error_response(s), false));
                }
                Event::Head => {}
            }
        }
        if self.how.drain_at_once {
            self.drain(u64::MAX);
        }
        self.check_out_bound()
    }

    fn answer(&mut self) {
        if let Some((resp, head)) = self.pending.take() {
            let before = self.conn.out().total();
            self.conn.send_response(self.now, resp);
            let grown = self.conn.out().total().saturating_sub(before);
            self.max_response = self.max_response.max(grown);
            self.answered.push(head);
        }
    }

    /// Hand up to `budget` bytes to the "socket".
    fn drain(&mut self, mut budget: u64) {
        let out = self.conn.out();
        while budget > 0 {
            let Some(chunk) = out.front() else {
                break;
            };
            let take = chunk.len().min(budget);
            match chunk {
                Chunk::Bytes(b) => self.wire.extend_from_slice(&b[..take as usize]),
                // No service here sends files.
                Chunk::File(_) => self.wire.extend_from_slice(&vec![b'F'; take as usize]),
            }
            out.advance(take);
            budget -= take;
        }
    }

    /// Output in memory grows only by responses to requests the engine accepted while
    /// it wanted to read: below `max_output_queued` when reading, plus the pipelined
    /// requests one read can hold (the smallest valid request is 16 bytes).
    fn check_out_bound(&mut self) -> Result<(), String> {
        if self.how.ignore_backpressure {
            return Ok(());
        }
        let held = PIPELINE_READ_PAUSE + self.max_piece;
        let bound = self.limits.max_output_queued as u64
            + (held as u64 / 16 + 2) * (self.max_response + 32);
        let mem = self.conn.out().mem_bytes() as u64;
        if mem > bound {
            return Err(format!("output queue holds {mem} bytes, bound {bound}"));
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), String> {
        let secs = *self.rng.pick(&[0, 1, 5, 8, 14, 30, 100]);
        self.now += Duration::from_secs(secs);
        self.conn.handle_timeout(self.now);
        self.pump()
    }

    /// Feed `input` in random pieces with random drains, late answers and timers,
    /// then end the connection and check the transcript.
    fn run(&mut self, input: &[u8], max_piece: usize) -> Result<(), String> {
        let mut pos = 0;
        let mut steps = 0;
        while pos < input.len() && !self.conn.is_closed() && steps < 20_000 {
            steps += 1;
            match self.rng.below(10) {
                0 if self.how.clock => self.tick()?,
                1 if !self.how.drain_at_once => {
                    let budget = self.rng.below(600) as u64;
                    self.drain(budget);
                    self.pump()?;
                }
                2 if self.pending.is_some() => {
                    self.answer();
                    self.pump()?;
                }
                _ => {
                    if !self.conn.wants_read() && !self.how.ignore_backpressure {
                        // A driver would wait for writability: let the peer read.
                        self.drain(u64::MAX);
                        self.answer();
                        self.pump()?;
                        if !self.conn.wants_read() && self.pending.is_none() {
                            return Err("wants_read stays false with nothing to wait for".into());
                        }
                        continue;
                    }
                    let n = 1 + self.rng.below(max_piece.min(input.len() - pos));
                    self.feed(&input[pos..pos + n])?;
                    pos += n;
                }
            }
        }
        self.finish()
    }

    /// Answer what is outstanding, drain, then close the read side or let every timer
    /// expire: either way the connection must end closed.
    fn finish(&mut self) -> Result<(), String> {
        for _ in 0..4 {
            self.answer();
            self.how.answer_at_once = true;
            self.pump()?;
            self.drain(u64::MAX);
        }
        if self.rng.one_in(2) {
            self.read_closed = true;
            self.conn.handle_read_closed(self.now);
        } else {
            for _ in 0..3 {
                self.now += Duration::from_secs(200);
                self.conn.handle_timeout(self.now);
                self.pump()?;
            }
        }
        self.pump()?;
        self.drain(u64::MAX);
        if !self.conn.is_closed() {
            return Err(format!(
                "not closed at the end (read_closed={}, rejects={:?})",
                self.read_closed, self.rejects
            ));
        }
        if self.conn.poll_event().is_some() {
            return Err("an event after the connection closed".into());
        }
        check_wire(&self.wire, &self.answered)
    }

    fn transcript(&self) -> String {
        format!(
            "requests={:#?}\nrejects={:?}\nclosed={}\nwire={}",
            self.requests,
            self.rejects,
            self.conn.is_closed(),
            String::from_utf8_lossy(&self.wire)
        )
    }
}

fn summary(r: &crate::service::Request) -> String {
    let mut fields: Vec<String> = r
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}={:?}", v.as_bytes()))
        .collect();
    fields.sort();
    format!(
        "{} {} {:?} [{}] body={:?}",
        r.method(),
        r.uri(),
        r.version(),
        fields.join(" "),
        String::from_utf8_lossy(r.body())
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The wire must be well-formed responses only: one final response per answered
/// event (1xx interim ones aside), framed by Content-Length unless 1xx/204/304
/// (RFC 9110 §8.6, RFC 9112 §6.3), and nothing after a `connection: close` one.
fn check_wire(wire: &[u8], answered: &[bool]) -> Result<(), String> {
    let mut pos = 0;
    let mut finals = 0;
    while pos < wire.len() {
        let rest = &wire[pos..];
        if !rest.starts_with(b"HTTP/1.1 ") {
            return Err(format!(
                "response {finals} does not start with `HTTP/1.1 `: {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(40)])
            ));
        }
        let end = find(rest, b"\r\n\r\n").ok_or("response head without end")?;
        let head = std::str::from_utf8(&rest[..end]).map_err(|_| "response head not UTF-8")?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("response without status")?;
        let mut lengths = Vec::new();
        let mut close = false;
        for line in head.split("\r\n").skip(1) {
            let (name, value) = line.split_once(": ").ok_or("malformed field line")?;
            match name.to_ascii_lowercase().as_str() {
                "content-length" => lengths.push(value.parse::<u64>().map_err(|_| "bad CL")?),
                "transfer-encoding" => return Err("transfer-encoding in a response".into()),
                "connection" => close |= value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        pos += end + 4;
        if lengths.len() > 1 {
            return Err(format!(
                "response {finals}: {} Content-Lengths",
                lengths.len()
            ));
        }
        if (100..200).contains(&status) {
            if status != 100 || !lengths.is_empty() {
                return Err(format!("bad interim response {status}"));
            }
            continue;
        }
        let head_request = *answered
            .get(finals)
            .ok_or("more final responses than events answered")?;
        finals += 1;
        let bodiless = status == 204 || status == 304;
        let length = match (bodiless, lengths.first()) {
            (true, None) => 0,
            (true, Some(_)) => return Err(format!("Content-Length on a {status}")),
            (false, None) => return Err(format!("{status} without Content-Length")),
            (false, Some(_)) if head_request => 0,
            (false, Some(&n)) => n,
        };
        pos += length as usize;
        if pos > wire.len() {
            return Err(format!("response {finals} body cut short"));
        }
        if close && pos < wire.len() {
            return Err("bytes after a `connection: close` response".into());
        }
    }
    if finals != answered.len() {
        return Err(format!(
            "{} events answered, {finals} responses on the wire",
            answered.len()
        ));
    }
    Ok(())
}

/// Runs one case, turning a panic into an error that shows the input. Returns how
/// many requests the engine accepted.
fn run_case(input: &[u8], limits: &Limits, how: Behaviour, seed: u64) -> Result<usize, String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut sim = Sim::new(limits.clone(), how, seed);
        sim.run(input, MAX_PIECE).map(|()| sim.requests.len())
    }));
    match result {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Shrinks a failing input by deleting pieces while it still fails (with the same
/// seed and behaviour), so a report carries a small reproducer.
fn shrink(input: &[u8], limits: &Limits, how: Behaviour, seed: u64) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut size = best.len() / 2;
    while size > 0 {
        let mut i = 0;
        while i + size <= best.len() {
            let mut candidate = best.clone();
            candidate.drain(i..i + size);
            if run_case(&candidate, limits, how, seed).is_err() {
                best = candidate;
            } else {
                i += size;
            }
        }
        size /= 2;
    }
    best
}

fn fail(input: &[u8], limits: &Limits, how: Behaviour, seed: u64, why: String) -> ! {
    let min = shrink(input, limits, how, seed);
    panic!(
        "{why}\n  seed={seed:#x} behaviour={how:?} limits={limits:?}\n  input={:?}\n  \
         shrunk={:?}\n  shrunk error={:?}",
        Bytes::copy_from_slice(input),
        Bytes::copy_from_slice(&min),
        run_case(&min, limits, how, seed).err()
    );
}

fn random_limits(rng: &mut Rng) -> Limits {
    if rng.one_in(2) {
        small_limits()
    } else {
        Limits::default()
    }
}

/// HTTP-flavoured noise: mostly bytes that matter to the parser.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    const ALPHABET: &[u8] = b"GETPOSHADCNU /HTP1.0\r\n\r\n:;,Hostcnkd-=0123456789abcdefx%\t\"";
    const STARTS: &[&[u8]] = &[
        b"",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    let mut out = rng.pick(STARTS).to_vec();
    let len = rng.below(700);
    out.extend((0..len).map(|_| {
        if rng.one_in(4) {
            rng.next() as u8
        } else {
            *rng.pick(ALPHABET)
        }
    }));
    out
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => v.insert(at, rng.next() as u8),
            2 if at < v.len() => {
                let n = 1 + rng.below((v.len() - at).min(8));
                v.drain(at..at + n);
            }
            3 => {
                // Duplicate one line (a header, the request line or a chunk line).
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(find_all(&v, b"\r\n").into_iter().map(|i| i + 2))
                    .collect();
                let s = *rng.pick(&starts);
                if let Some(e) = find(&v[s..], b"\r\n") {
                    let line = v[s..s + e + 2].to_vec();
                    v.splice(s..s, line);
                }
            }
            4 => {
                let s = rng.below(v.len() + 1);
                let e = (s + rng.below(40)).min(v.len());
                let piece = v[s..e].to_vec();
                v.splice(at..at, piece);
            }
            5 => v.truncate(at),
            _ => {
                let piece = *rng.pick(SPLICES);
                v.splice(at..at, piece.iter().copied());
            }
        }
    }
    v
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn random_bytes_never_panic_and_keep_invariants() {
    let mut rng = Rng::new(0x5eed_0001);
    let mut accepted = 0;
    for case in 0..10_000u64 {
        let input = random_bytes(&mut rng);
        let limits = random_limits(&mut rng);
        let how = Behaviour::random(&mut rng);
        let seed = rng.next() ^ case;
        match run_case(&input, &limits, how, seed) {
            Ok(n) => accepted += usize::from(n > 0),
            Err(why) => fail(&input, &limits, how, seed, why),
        }
    }
    // Guard against generators that only produce refusals.
    assert!(
        accepted > 100,
        "only {accepted} cases had a request accepted"
    );
}

#[test]
fn mutated_requests_never_panic_and_keep_invariants() {
    let mut rng = Rng::new(0x5eed_0002);
    let mut accepted = 0;
    for case in 0..12_000u64 {
        let (base, _) = *rng.pick(CORPUS);
        let mut input = mutate(&mut rng, base);
        if rng.one_in(3) {
            // Mutations of pipelined pairs: the second request starts mid-stream.
            let (next, _) = *rng.pick(CORPUS);
            input.extend_from_slice(&mutate(&mut rng, next));
        }
        let limits = random_limits(&mut rng);
        let how = Behaviour::random(&mut rng);
        let seed = rng.next() ^ case;
        match run_case(&input, &limits, how, seed) {
            Ok(n) => accepted += usize::from(n > 0),
            Err(why) => fail(&input, &limits, how, seed, why),
        }
    }
    // Guard against generators that only produce refusals.
    assert!(
        accepted > 100,
        "only {accepted} cases had a request accepted"
    );
}

/// Feeds `input` split at the given points, answering at once, with a fixed clock.
fn split_transcript(input: &[u8], cuts: &[usize]) -> Result<String, String> {
    let mut sim = Sim::new(Limits::default(), Behaviour::PROMPT, 1);
    sim.plain = true;
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        if cut > last {
            sim.feed(&input[last..cut])?;
            last = cut;
        }
    }
    Ok(sim.transcript())
}

#[test]
fn rfc9112_valid_requests_parse_identically_at_any_split() {
    let mut rng = Rng::new(0x5eed_0003);
    for &(input, count) in CORPUS {
        let whole = split_transcript(input, &[]).unwrap();
        let sim_requests = whole.matches(" body=").count();
        assert_eq!(sim_requests, count, "{whole}");
        assert!(whole.contains("rejects=[]"), "{whole}");
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(split_transcript(input, &bytewise).unwrap(), whole);
        for _ in 0..150 {
            let mut cuts: Vec<usize> = (0..1 + rng.below(6))
                .map(|_| rng.below(input.len() + 1))
                .collect();
            cuts.sort_unstable();
            let got = split_transcript(input, &cuts).unwrap();
            assert_eq!(
                got,
                whole,
                "cuts {cuts:?} of {:?}",
                Bytes::from_static(input)
            );
        }
    }
}

#[test]
fn valid_requests_keep_invariants_under_every_driver_behaviour() {
    let mut rng = Rng::new(0x5eed_0004);
    let mut accepted = 0;
    for case in 0..2000u64 {
        let (input, _) = *rng.pick(CORPUS);
        let limits = random_limits(&mut rng);
        let how = Behaviour::random(&mut rng);
        let seed = rng.next() ^ case;
        match run_case(input, &limits, how, seed) {
            Ok(n) => accepted += usize::from(n > 0),
            Err(why) => fail(input, &limits, how, seed, why),
        }
    }
    assert!(
        accepted > 1000,
        "only {accepted} cases had a request accepted"
    );
}

/// An endless stream: a fixed start, then the same piece forever.
struct Stream {
    name: &'static str,
    start: &'static [u8],
    repeat: &'static [u8],
    /// Bytes the engine may take before it must have refused (or paused reading).
    bound: usize,
    /// `None`: the engine must pause reading (pipelining), not refuse.
    status: Option<u16>,
}

fn streams(l: &Limits) -> Vec<Stream> {
    let head = l.max_request_line + l.max_headers_size + 64;
    let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    vec![
        Stream {
            name: "request line without end",
            start: b"GET /",
            repeat: b"aaaaaaaaaaaaaaaa",
            bound: l.max_request_line + 16,
            status: Some(414),
        },
        Stream {
            name: "empty lines before the request",
            start: b"",
            repeat: b"\r\n",
            bound: 64,
            status: Some(400),
        },
        Stream {
            name: "one endless field line",
            start: b"GET / HTTP/1.1\r\nX-Long: ",
            repeat: b"vvvvvvvvvvvvvvvv",
            bound: l.max_request_line + l.max_header_line + 64,
            status: Some(431),
        },
        Stream {
            name: "endless field lines",
            start: b"GET / HTTP/1.1\r\nHost: a\r\n",
            repeat: b"X-A: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n",
            bound: head,
            status: Some(431),
        },
        Stream {
            name: "endless one-byte chunks",
            start: chunked,
            repeat: b"1\r\nx\r\n",
            bound: chunked.len() + 6 * (l.max_body + 1),
            status: Some(413),
        },
        Stream {
            name: "one huge chunk",
            start: chunked,
            repeat: b"fffffff\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            bound: chunked.len() + 16,
            status: Some(413),
        },
        Stream {
            name: "endless chunk extension",
            start: chunked,
            repeat: b"1;aaaaaaaaaaaaaaa",
            bound: chunked.len() + 4096 + 64,
            status: Some(400),
        },
        Stream {
            name: "endless chunk extensions over many chunks (CVE-2023-39326)",
            start: chunked,
            repeat: b"0000000000000000000001;eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\r\nx\r\n",
            bound: chunked.len() + 64 * 1024 * 2,
            status: Some(400),
        },
        Stream {
            name: "endless trailer fields",
            start: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
            repeat: b"T: y\r\n",
            bound: chunked.len() + l.max_headers_size + 64,
            status: Some(431),
        },
        Stream {
            name: "endless Content-Length body",
            start: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n",
            repeat: b"zzzzzzzz",
            bound: 128,
            status: Some(413),
        },
        Stream {
            name: "endless pipelined requests, none answered",
            start: b"",
            repeat: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            bound: PIPELINE_READ_PAUSE + MAX_PIECE + 64,
            status: None,
        },
    ]
}

#[test]
fn rfc9112_2_3_endless_streams_are_refused_or_paused_within_limits() {
    let mut rng = Rng::new(0x5eed_0005);
    for limits in [small_limits(), Limits::default()] {
        for s in streams(&limits) {
            for _ in 0..3 {
                let mut conn = H1Conn::new(limits.clone(), timeouts(), Instant::now());
                let now = Instant::now();
                let mut fed = 0usize;
                let mut pending = s.start.to_vec();
                let mut event = None;
                // Never answer: the pipelining stream needs the request to stay open.
                while fed <= s.bound + MAX_PIECE && conn.wants_read() {
                    while pending.len() < MAX_PIECE {
                        pending.extend_from_slice(s.repeat);
                    }
                    let n = 1 + rng.below(MAX_PIECE);
                    conn.handle_input(now, &pending[..n]);
                    pending.drain(..n);
                    fed += n;
                    let mut ev = conn.poll_event();
                    if matches!(ev, Some(Event::Head)) {
                        // No early answer: polling again reads the body on.
                        ev = conn.poll_event();
                    }
                    match ev {
                        Some(Event::Reject(r)) => {
                            event = Some(r.status.as_u16());
                            break;
                        }
                        Some(Event::Request(_)) if s.status.is_some() => {
                            panic!("{}: a request was accepted", s.name)
                        }
                        _ => {}
                    }
                }
                assert!(
                    fed <= s.bound + MAX_PIECE,
                    "{}: took {fed} bytes without refusing (bound {}, limits {limits:?})",
                    s.name,
                    s.bound
                );
                match s.status {
                    Some(status) => {
                        let got = event.unwrap_or_else(|| panic!("{}: no rejection", s.name));
                        // Which 4xx depends on where the limit hits; it must be one.
                        assert!(
                            got == status || (400..500).contains(&got),
                            "{}: {got}",
                            s.name
                        );
                    }
                    None => assert!(!conn.wants_read(), "{}: still reading", s.name),
                }
            }
        }
    }
}

#[test]
fn rfc9112_9_3_2_unread_output_pauses_reading() {
    // A peer that pipelines requests but never reads the answers: the engine must stop
    // reading once its output exceeds the bound, whatever the pipelined requests are.
    let limits = small_limits();
    let mut sim = Sim::new(
        limits.clone(),
        Behaviour {
            answer_at_once: true,
            drain_at_once: false,
            ignore_backpressure: false,
            clock: false,
        },
        7,
    );
    sim.plain = true;
    let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut fed = 0;
    while sim.conn.wants_read() && fed < 10 * 1024 * 1024 {
        sim.feed(req).unwrap();
        fed += req.len();
    }
    assert!(!sim.conn.wants_read(), "never paused after {fed} bytes");
    sim.check_out_bound().unwrap();
    sim.drain(u64::MAX);
    assert!(sim.conn.wants_read(), "draining must resume reading");
}
