//! Connection and request admission: `max_connections` and per-IP rate limiting
//! (RFC 6585 section 4, 429 with Retry-After).

use std::time::Duration;

use crate::harness::*;

const KEEP_ALIVE_GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Larger than the kernel's socket buffers on both sides, so a client that reads
/// nothing keeps its response in flight (a connection no slot policy may reclaim).
const HUGE_LEN: usize = 24 * 1024 * 1024;

#[test]
fn max_connections_defers_the_third_while_both_are_busy_answering() {
    // Idle and slow connections would be reclaimed for the newcomer (see
    // resilience.rs); two responses in flight cannot be, so the third waits in the
    // backlog until one closes.
    let mut s = Server::start("max_connections = 2");
    std::fs::write(s.www().join("huge.bin"), vec![7u8; HUGE_LEN]).unwrap();
    let busy = |s: &Server| {
        let mut c = s.connect();
        c.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        // Accepted and answering: the first bytes of the response arrived.
        assert!(c.poll_data(Duration::from_secs(5)).is_some_and(|n| n > 0));
        c
    };
    let a = busy(&s);
    let b = busy(&s);

    // The third may complete the TCP handshake (listen backlog) but is not served,
    // even past the slot policy's grace period.
    let mut c = s.connect();
    c.send(KEEP_ALIVE_GET);
    match c.poll_data(Duration::from_millis(2500)) {
        None => {}
        Some(0) => panic!("third connection was closed instead of waiting for a slot"),
        Some(_) => panic!(
            "third connection served while two were open: {:?}",
            String::from_utf8_lossy(c.pending())
        ),
    }

    drop(a);
    let r = c
        .try_response(false)
        .unwrap_or_else(|e| panic!("third connection not served after a slot freed: {e}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());

    drop(b);
    drop(c);
    // Still healthy.
    assert!(s.is_running(), "carbond exited");
    assert_eq!(s.get("/index.html", "").status, 200);
}

#[test]
fn rfc6585_4_rate_limit_answers_429_with_retry_after() {
    // Loopback is exempt by default; an empty list limits it like any client.
    let s = Server::start("rate_limit = 5\nrate_limit_window = 60\nrate_limit_exempt =");
    // A new connection per request, so the limit applies whether it counts requests
    // or connections.
    for i in 0..5 {
        assert_eq!(s.get("/index.html", "").status, 200, "request {i}");
    }
    let r = s.get("/index.html", "");
    assert_eq!(r.status, 429, "6th request within the window");
    let ra = r.header("retry-after").expect("Retry-After on 429");
    let secs: u64 = ra.parse().unwrap_or_else(|_| panic!("Retry-After {ra:?}"));
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    assert_date_and_server(&r);
}

#[test]
fn rate_limit_counts_requests_on_one_connection() {
    let s = Server::start("rate_limit = 5\nrate_limit_window = 60\nrate_limit_exempt =");
    let mut c = s.connect();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        if c.try_send(KEEP_ALIVE_GET).is_err() {
            break;
        }
        match c.try_response(false) {
            Ok(r) => statuses.push(r.status),
            Err(_) => break,
        }
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert_eq!(statuses.get(5), Some(&429), "{statuses:?}");
}

#[test]
fn rate_limit_exempt_cidr_is_never_limited() {
    let s =
        Server::start("rate_limit = 5\nrate_limit_window = 60\nrate_limit_exempt = 127.0.0.0/8");
    for i in 0..12 {
        assert_eq!(s.get("/index.html", "").status, 200, "request {i}");
    }
}

#[test]
fn rate_limit_exempts_loopback_by_default() {
    let s = Server::start("rate_limit = 5\nrate_limit_window = 60");
    for i in 0..12 {
        assert_eq!(s.get("/index.html", "").status, 200, "request {i}");
    }
}

#[test]
fn max_connections_slots_are_released_on_every_close_path() {
    // Each way a connection can end must give its slot back, or a small limit fills up
    // for good: client aborts, server-side 400 closes, Connection: close, timeouts.
    let s = Server::start("max_connections = 2\nrequest_header_timeout = 1");
    for _ in 0..5 {
        drop(s.connect());
    }
    for _ in 0..5 {
        let bytes = s.raw(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(parse_first(&bytes).status, 400);
    }
    for _ in 0..5 {
        assert_eq!(s.get("/index.html", "").status, 200);
    }
    for _ in 0..2 {
        let mut c = s.connect();
        c.send(b"GET / HTTP/1.1\r\n");
        // request_header_timeout = 1; generous for a loaded machine, far below 30 s.
        assert_eq!(c.wait_closed(Duration::from_secs(10)), CloseOutcome::Closed);
    }
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let r = c
        .try_response(false)
        .unwrap_or_else(|e| panic!("no slot free after closes: {e}"));
    assert_eq!(r.status, 200);
}
