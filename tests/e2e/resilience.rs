//! Staying available under slow-client attacks: the connection-slot policy
//! (`driver/slots.rs`), early answers to requests refused whatever their body holds,
//! and `max_connections_per_ip`. Every attacker here is loopback, the same address
//! as the client that must still be served (an attacker behind the same NAT as real
//! users). Bounded: at most ~80 connections and ~10 s per test.

use std::time::{Duration, Instant};

use crate::harness::*;

/// A slowloris (CVE-2007-6750): a request head that never ends.
const SLOW_HEAD: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: b\r\n";

/// A slow body on a request the static service accepts (GET with a body), so it is
/// read rather than refused early: 2 of 100,000 announced bytes.
const SLOW_BODY: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nab";

const GET_CLOSE: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// True when the server closed (or reset) `c`; waits at most `limit`.
fn closed_within(c: &mut Conn, limit: Duration) -> bool {
    c.wait_closed(limit) == CloseOutcome::Closed
}

#[test]
fn cve_2007_6750_slow_heads_and_bodies_holding_every_slot_do_not_lock_out_a_new_client() {
    // 72 slow connections for 64 slots: every slot held, 8 more in the kernel's
    // backlog. Without the slot policy the newcomer waits there until
    // request_header_timeout (30 s) frees a slot.
    let s = Server::start("max_connections = 64");
    let mut attackers = Vec::new();
    for i in 0..72 {
        let mut c = s.connect();
        c.send(if i % 3 == 2 { SLOW_BODY } else { SLOW_HEAD });
        attackers.push(c);
    }
    // One more header line each, well below any sane rate.
    std::thread::sleep(Duration::from_millis(500));
    for c in &mut attackers {
        let _ = c.try_send(b"X-b: c\r\n");
    }
    let started = Instant::now();
    let mut client = s.connect();
    client.send(GET_CLOSE);
    let r = client.response();
    let waited = started.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), INDEX_HTML);
    // The grace period is 2 s; the rest is slack for a loaded machine.
    assert!(
        waited < Duration::from_secs(5),
        "served only after {waited:?}"
    );
    // The slots came from the attackers: the 8 queued ones and the newcomer each
    // needed a victim.
    let evicted = attackers
        .iter_mut()
        .filter_map(|c| match c.poll_data(Duration::from_millis(20)) {
            Some(0) => Some(()),
            _ => None,
        })
        .count();
    assert!(
        evicted >= 9,
        "only {evicted} slow connections were reclaimed"
    );
}

#[test]
fn idle_keep_alive_connection_is_reclaimed_before_a_slow_head() {
    // One worker: slots are reclaimed among the accepting worker's own connections,
    // so with two the newcomer might land on the worker without the idle one.
    let s = Server::start("max_connections = 64\nmax_threads = 1");
    let mut slow: Vec<Conn> = (0..63)
        .map(|_| {
            let mut c = s.connect();
            c.send(SLOW_HEAD);
            c
        })
        .collect();
    let mut idle = s.connect();
    idle.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(idle.response().status, 200);
    // Past the grace period: the slow heads are reclaimable too, but come second.
    std::thread::sleep(Duration::from_millis(2500));
    let r = s.request(GET_CLOSE);
    assert_eq!(r.status, 200);
    assert!(
        closed_within(&mut idle, Duration::from_secs(3)),
        "the idle keep-alive connection was not the one reclaimed"
    );
    for (i, c) in slow.iter_mut().enumerate() {
        assert_eq!(
            c.poll_data(Duration::from_millis(5)),
            None,
            "slow head {i} was closed although an idle connection could go"
        );
    }
}

#[test]
fn rfc9110_15_5_6_post_to_a_static_file_gets_405_before_its_body_is_sent() {
    // Only the head is sent: a server that reads the body first would answer after
    // request_body_timeout (60 s), long after this read gives up (5 s).
    let s = Server::start("");
    let mut c = s.connect();
    c.send(
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500000\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let r = c.response();
    assert_eq!(r.status, 405);
    assert!(r.header_has_token("allow", "GET"), "{r:?}");
    assert!(r.header_has_token("connection", "close"), "{r:?}");
    assert_date_and_server(&r);
    // The body that still comes is discarded, and the connection closes.
    let _ = c.try_send(&[b'x'; 64 * 1024]);
    assert!(closed_within(&mut c, Duration::from_secs(8)));
}

#[test]
fn rfc6585_4_rate_limited_upload_gets_429_before_its_body_is_sent() {
    let s = Server::start("rate_limit = 1\nrate_limit_exempt =");
    assert_eq!(s.get("/index.html", "").status, 200);
    let mut c = s.connect();
    c.send(b"PUT /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500000\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some(), "{r:?}");
}

#[test]
fn max_connections_per_ip_closes_the_connection_over_the_limit_at_accept() {
    // Loopback is exempt by default (rate_limit_exempt); an empty list counts it.
    let s = Server::start("max_connections_per_ip = 3\nrate_limit_exempt =");
    let mut held: Vec<Conn> = (0..3)
        .map(|_| {
            let mut c = s.connect();
            c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assert_eq!(c.response().status, 200);
            c
        })
        .collect();
    let mut over = s.connect();
    let _ = over.try_send(GET_CLOSE);
    assert!(
        closed_within(&mut over, Duration::from_secs(3)),
        "a fourth connection was kept"
    );
    assert!(
        over.pending().is_empty(),
        "nothing is answered over the limit"
    );
    // Closing one frees its place (counted across workers).
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut c = s.connect();
        let _ = c.try_send(GET_CLOSE);
        let got = c.read_until_close(Duration::from_secs(2));
        if !got.is_empty() {
            assert_eq!(parse_first(&got).status, 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was not given back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn max_connections_per_ip_exempts_loopback_by_default() {
    let s = Server::start("max_connections_per_ip = 1");
    let mut held: Vec<Conn> = (0..3)
        .map(|_| {
            let mut c = s.connect();
            c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            c
        })
        .collect();
    for c in &mut held {
        assert_eq!(c.response().status, 200);
    }
}

#[test]
fn slow_read_responses_stalled_for_5_s_are_reclaimed_when_slots_run_out() {
    // Four downloads that read nothing hold every slot; once none has taken a byte
    // for 5 s (SEND_STALL), a newcomer gets the slot of one of them.
    const HUGE: usize = 32 * 1024 * 1024;
    let s = Server::start("max_connections = 4\nmax_threads = 1");
    std::fs::write(s.www().join("huge.bin"), vec![7u8; HUGE]).unwrap();
    let mut readers: Vec<Conn> = (0..4)
        .map(|_| {
            let mut c = s.connect();
            c.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assert!(c.poll_data(Duration::from_secs(5)).is_some_and(|n| n > 0));
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5_500));
    let started = Instant::now();
    let r = s.request(GET_CLOSE);
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The victim's response was cut short: what the kernel had buffered, then EOF.
    // (The first to stall goes first; the others finish their download and stay.)
    let cut = readers
        .iter_mut()
        .any(|c| c.read_until_close(Duration::from_secs(3)).len() < HUGE);
    assert!(cut, "no stalled download was reclaimed");
}
