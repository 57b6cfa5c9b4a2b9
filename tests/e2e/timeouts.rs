//! Every state where a peer can stall has a timeout: request head (slowloris), request
//! body, keep-alive idle, stalled writes. Configs use 1 s (or 0.5 s) so tests stay fast.

use std::time::{Duration, Instant};

use crate::harness::*;

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

    let outcome = slow.wait_closed(Duration::from_secs(5));
    let elapsed = start.elapsed();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "incomplete head never timed out"
    );
    assert!(
        elapsed < Duration::from_secs(3),
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
    while start.elapsed() < Duration::from_secs(5) {
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
    assert!(closed, "a trickling client kept its connection for 5 s");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[test]
fn request_body_timeout_closes_a_stalled_body() {
    let s = Server::start("request_body_timeout = 1");
    let start = Instant::now();
    let mut c = s.connect();
    c.send(
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    let outcome = c.wait_closed(Duration::from_secs(5));
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "stalled body never timed out"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
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
    let outcome = c.wait_closed(Duration::from_secs(5));
    let elapsed = start.elapsed();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "idle keep-alive connection kept open"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(500),
        "closed too early: {elapsed:?}"
    );
}

#[test]
fn keep_alive_connection_used_before_timeout_stays_open() {
    let s = Server::start("keep_alive_timeout = 2");
    let mut c = s.connect();
    for _ in 0..3 {
        c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assert_eq!(c.response().status, 200);
        std::thread::sleep(Duration::from_millis(800));
    }
}

#[test]
fn connection_that_never_sends_is_closed() {
    let s = Server::start("request_header_timeout = 1\nkeep_alive_timeout = 1");
    let start = Instant::now();
    let mut c = s.connect();
    assert_eq!(c.wait_closed(Duration::from_secs(5)), CloseOutcome::Closed);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn write_timeout_drops_a_client_that_never_reads() {
    // 20 pipelined 1 MiB responses cannot all fit in socket buffers; a client that
    // does not read stalls the writes, and write_timeout must end the connection.
    let s = Server::start("write_timeout = 0.5");
    let mut c = s.connect();
    let mut reqs = Vec::new();
    for _ in 0..20 {
        reqs.extend_from_slice(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    c.send(&reqs);
    std::thread::sleep(Duration::from_secs(3));
    let outcome = c.wait_closed(Duration::from_secs(8));
    let got = c.pending().len();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "stalled connection still open"
    );
    assert!(
        got < 20 * BIG_LEN,
        "all {got} bytes were delivered: the write never stalled long enough to test"
    );
    // The server is fine afterwards.
    assert_eq!(s.get("/index.html", "").status, 200);
}
