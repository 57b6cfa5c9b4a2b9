//! `health_path` and `drain_period`: the health path is answered before the rate
//! limit, says 503 once SIGTERM starts the drain, and during the drain carbond keeps
//! serving with `Connection: close` before stopping gracefully.

use std::time::{Duration, Instant};

use crate::harness::{Conn, Server};

#[test]
fn health_path_is_exempt_from_the_rate_limit() {
    let s = Server::start(
        "health_path = /healthz\nrate_limit = 1\nrate_limit_window = 60\nrate_limit_exempt =",
    );
    assert_eq!(s.get("/index.html", "").status, 200);
    assert_eq!(s.get("/index.html", "").status, 429);
    for _ in 0..3 {
        let r = s.get("/healthz", "");
        assert_eq!(r.status, 200);
        assert_eq!(r.body_str(), "ok\n");
    }
}

#[test]
fn drain_period_reports_503_and_closes_keep_alive_then_stops() {
    let mut s = Server::start("health_path = /healthz\ndrain_period = 3s");
    let mut kept = Conn::connect(s.addr());
    kept.send(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = kept.response();
    assert_eq!(r.status, 200);
    assert!(!r.header_has_token("connection", "close"));
    let started = Instant::now();
    s.signal("TERM");
    // Still accepting and serving, but unhealthy.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let h = s.get("/healthz", "");
        if h.status == 503 {
            assert_eq!(h.body_str(), "draining\n");
            break;
        }
        assert!(Instant::now() < deadline, "health still {}", h.status);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.get("/index.html", "").status, 200);
    // The kept-alive connection is served once more, told to close, and closed.
    kept.send(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = kept.response();
    assert_eq!(r.status, 200);
    assert!(
        r.header_has_token("connection", "close"),
        "{:?}",
        r.header("connection")
    );
    let st = s.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|st| st.success()), "exit {st:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "stopped before the drain"
    );
}
