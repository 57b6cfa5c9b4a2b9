//! PROXY protocol listeners driven by a raw client writing the header by hand (the
//! bytes of HAProxy's specification, §2.1 and §2.2): the client address it carries is
//! the one logged, rate limited and counted per IP; a sender outside
//! `proxy_protocol_from`, a missing header and a malformed one are closed with a log
//! line. `balancer.rs` does the same through a real HAProxy.

use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{wait_for_output, wait_for_text, CloseOutcome, Conn, Server};

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";

fn v1(client: &str, port: u16) -> Vec<u8> {
    format!("PROXY TCP4 {client} 127.0.0.1 {port} 80\r\n").into_bytes()
}

/// A v2 PROXY TCP4 header with an ALPN TLV the server must skip.
fn v2(client: [u8; 4], port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0x00, 12 + 5]);
    h.extend_from_slice(&client);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&port.to_be_bytes());
    h.extend_from_slice(&80u16.to_be_bytes());
    h.extend_from_slice(b"\x01\x00\x02h2");
    h
}

fn proxied(extra: &str) -> Server {
    Server::start(&format!(
        "proxy_protocol = on\nproxy_protocol_from = 127.0.0.1\naccess_log = {{base}}/access.log\n{extra}"
    ))
}

#[test]
fn proxy_protocol_v1_and_v2_client_address_is_logged() {
    let s = proxied("");
    let mut c = Conn::connect(s.addr());
    c.send(&[v1("203.0.113.7", 40000), GET.to_vec()].concat());
    assert_eq!(c.response().status, 200);
    // v2, split inside the fixed header and again inside the address block.
    let mut c2 = Conn::connect(s.addr());
    let header = v2([198, 51, 100, 9], 40001);
    for part in [&header[..7], &header[7..20], &header[20..]] {
        c2.send(part);
        thread::sleep(Duration::from_millis(30));
    }
    c2.send(GET);
    assert_eq!(c2.response().status, 200);
    let log = wait_for_text(&s.base().join("access.log"), "198.51.100.9 ");
    assert!(
        log.lines().any(|l| l.starts_with("203.0.113.7 ")),
        "v1 client missing:\n{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("127.0.0.1 ")),
        "balancer address logged:\n{log}"
    );
}

#[test]
fn proxy_protocol_header_from_an_untrusted_peer_is_refused() {
    let s = Server::start("proxy_protocol = on\nproxy_protocol_from = 192.0.2.0/24");
    let mut c = Conn::connect(s.addr());
    let _ = c.try_send(&[v1("203.0.113.7", 40000), GET.to_vec()].concat());
    assert_eq!(c.wait_closed(Duration::from_secs(5)), CloseOutcome::Closed);
    assert!(
        c.pending().is_empty(),
        "answered: {:?}",
        String::from_utf8_lossy(c.pending())
    );
    wait_for_output(&s, "not in proxy_protocol_from");
}

#[test]
fn proxy_protocol_missing_or_malformed_header_closes_with_a_log_line() {
    let s = proxied("");
    let mut plain = Conn::connect(s.addr());
    let _ = plain.try_send(GET);
    assert_eq!(
        plain.wait_closed(Duration::from_secs(5)),
        CloseOutcome::Closed
    );
    assert!(plain.pending().is_empty());
    wait_for_output(&s, "no PROXY protocol header");

    let mut bad = Conn::connect(s.addr());
    let _ = bad.try_send(b"PROXY TCP4 203.0.113.7 127.0.0.1 040000 80\r\n");
    assert_eq!(
        bad.wait_closed(Duration::from_secs(5)),
        CloseOutcome::Closed
    );
    assert!(bad.pending().is_empty());
}

#[test]
fn proxy_protocol_header_timeout_closes_a_silent_connection() {
    let s = proxied("");
    let mut c = Conn::connect(s.addr());
    c.send(b"PROXY TCP4 203.0");
    // The header timeout is 5 s; the ordinary request timeouts do not apply yet.
    let started = Instant::now();
    assert_eq!(c.wait_closed(Duration::from_secs(9)), CloseOutcome::Closed);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "closed too early"
    );
    wait_for_output(&s, "no PROXY protocol header in time");
}

#[test]
fn proxy_protocol_rate_limit_counts_the_client_not_the_balancer() {
    let s = proxied("rate_limit = 2\nrate_limit_window = 60\nrate_limit_exempt =");
    let get_as = |client: &str| {
        let mut c = Conn::connect(s.addr());
        c.send(&[v1(client, 40000), GET.to_vec()].concat());
        c.response().status
    };
    assert_eq!(get_as("203.0.113.7"), 200);
    assert_eq!(get_as("203.0.113.7"), 200);
    assert_eq!(get_as("203.0.113.7"), 429);
    // Same balancer, another client: its own budget.
    assert_eq!(get_as("203.0.113.8"), 200);
}

#[test]
fn proxy_protocol_per_ip_limit_counts_the_client_not_the_balancer() {
    let s = proxied("max_connections_per_ip = 1\nrate_limit_exempt =");
    let mut first = Conn::connect(s.addr());
    first.send(&[v1("203.0.113.7", 40000), GET.to_vec()].concat());
    assert_eq!(first.response().status, 200);
    // A second connection for the same client is refused once its header is read...
    let mut second = Conn::connect(s.addr());
    let _ = second.try_send(&[v1("203.0.113.7", 40001), GET.to_vec()].concat());
    assert_eq!(
        second.wait_closed(Duration::from_secs(5)),
        CloseOutcome::Closed
    );
    assert!(second.pending().is_empty());
    // ...while another client behind the same balancer is served.
    let mut other = Conn::connect(s.addr());
    other.send(&[v1("203.0.113.8", 40002), GET.to_vec()].concat());
    assert_eq!(other.response().status, 200);
}
