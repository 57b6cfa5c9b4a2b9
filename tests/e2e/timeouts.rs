//! Every state where a peer can stall has a timeout: request head (slowloris), request
//! body, keep-alive idle, stalled writes. Configs use 1 s (or 0.5 s) so tests stay fast.
//!
//! Upper bounds on how long a close may take are [`CLOSE_BOUND`]: far above the
//! configured 1 s (a loaded CI machine may be slow to schedule the client or the
//! daemon) and far below the defaults (30 s, 60 s, 75 s), so a timeout that is not
//! applied at all, or falls back to its default, still fails.

use std::time::{Duration, Instant};

use crate::harness::*;

/// Longest a 1 s timeout may take to close a connection, measured by the client.
const CLOSE_BOUND: Duration = Duration::from_secs(6);
/// How long a test waits for such a close before calling the connection still open.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Bytes the server sent before closing must be nothing or a 408.
fn assert_nothing_or_408(bytes: &[u8]) {
    if !bytes.is_empty() {
        let r = parse_first(bytes);
        assert_eq!(r.status, 408, "{r:?}");
    }
}

#[test]
fn slowloris_partial_head_times_out_and_others_are_served() {
    let s = Server::start("request_header_timeout = 1");
    let start = Instant::now();
    let mut slow = s.connect();
    slow.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n");

    // Another client is served while the slow one holds its connection.
    let r = s.get("/index.html", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());

    let outcome = slow.wait_closed(CLOSE_WAIT);
    let elapsed = start.elapsed();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "incomplete head never timed out"
    );
    assert!(
        elapsed < CLOSE_BOUND,
        "request_header_timeout = 1 took {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(500),
        "cut too early: {elapsed:?}"
    );
    assert_nothing_or_408(slow.pending());
}

#[test]
fn slowloris_trickled_header_bytes_do_not_extend_the_deadline() {
    // The head timeout runs from the first byte, not from the last read.
    let s = Server::start("request_header_timeout = 1");
    let start = Instant::now();
    let mut slow = s.connect();
    slow.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    let mut closed = false;
    while start.elapsed() < CLOSE_WAIT {
        if slow.try_send(b"X-A: b\r\n").is_err() {
            closed = true;
            break;
        }
        if slow.wait_closed(Duration::from_millis(200)) == CloseOutcome::Closed {
            closed = true;
            break;
        }
    }
    let elapsed = start.elapsed();
    assert!(
        closed,
        "a trickling client kept its connection for {elapsed:?}"
    );
    assert!(elapsed < CLOSE_BOUND, "took {elapsed:?}");
}

#[test]
fn request_body_timeout_closes_a_stalled_body() {
    let s = Server::start("request_body_timeout = 1");
    let start = Instant::now();
    let mut c = s.connect();
    c.send(
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    let outcome = c.wait_closed(CLOSE_WAIT);
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "stalled body never timed out"
    );
    assert!(start.elapsed() < CLOSE_BOUND, "took {:?}", start.elapsed());
    // A server may answer the POST with 405 before the body is complete; then the
    // timeout still closes the connection.
    if !c.pending().is_empty() {
        let st = parse_first(c.pending()).status;
        assert!(st == 408 || st == 405, "{st}");
    }
}

#[test]
fn keep_alive_timeout_closes_idle_connection() {
    let s = Server::start("keep_alive_timeout = 1");
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(c.response().status, 200);
    let start = Instant::now();
    let outcome = c.wait_closed(CLOSE_WAIT);
    let elapsed = start.elapsed();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "idle keep-alive connection kept open"
    );
    assert!(elapsed < CLOSE_BOUND, "took {elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(500),
        "closed too early: {elapsed:?}"
    );
}

#[test]
fn keep_alive_connection_used_before_timeout_stays_open() {
    // Each request comes 1 s after the previous response (2 s short of the timeout,
    // room for a slow machine), and the last one 4 s after the first: the idle timer
    // must restart with every request, not run from when the connection opened.
    let s = Server::start("keep_alive_timeout = 3");
    let mut c = s.connect();
    let opened = Instant::now();
    for i in 0..5 {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        let r = c.try_response(false).unwrap_or_else(|e| {
            panic!(
                "request {i}, {:?} after the connection opened: {e}",
                opened.elapsed()
            )
        });
        assert_eq!(r.status, 200);
    }
}

#[test]
fn connection_that_never_sends_is_closed() {
    let s = Server::start("request_header_timeout = 1\nkeep_alive_timeout = 1");
    let start = Instant::now();
    let mut c = s.connect();
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
    assert!(start.elapsed() < CLOSE_BOUND, "took {:?}", start.elapsed());
}

#[test]
fn write_timeout_drops_a_client_that_never_reads() {
    // 64 pipelined 1 MiB responses cannot all fit in socket buffers (even with
    // generously tuned tcp_rmem/tcp_wmem); a client that does not read stalls the
    // writes, and write_timeout must end the connection.
    const PIPELINED: usize = 64;
    let s = Server::start("write_timeout = 0.5");
    let mut c = s.connect();
    let mut reqs = Vec::new();
    for _ in 0..PIPELINED {
        reqs.extend_from_slice(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    c.send(&reqs);
    std::thread::sleep(Duration::from_secs(3));
    let outcome = c.wait_closed(CLOSE_WAIT);
    let got = c.pending().len();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "stalled connection still open"
    );
    assert!(
        got < PIPELINED * BIG_LEN,
        "all {got} bytes were delivered: the write never stalled long enough to test"
    );
    // The server is fine afterwards.
    assert_eq!(s.get("/index.html", "").status, 200);
}

#[test]
fn keep_alive_timeout_runs_from_the_last_response_after_many_requests() {
    // The timer entry armed after the first response stays in place while later
    // requests push the deadline on (driver/timer.rs); when it fires it must re-arm
    // for the real deadline, and that one must still close the connection.
    let s = Server::start("keep_alive_timeout = 2");
    let mut c = s.connect();
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(1200));
        }
        c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        let r = c
            .try_response(false)
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.status, 200);
    }
    let last = Instant::now();
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
    let idle = last.elapsed();
    assert!(
        idle >= Duration::from_millis(1500),
        "closed too early: {idle:?}"
    );
    assert!(idle < CLOSE_BOUND + Duration::from_secs(1), "took {idle:?}");
}
