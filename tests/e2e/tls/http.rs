//! HTTP-level behaviour that depends on TLS: HSTS, the HTTP -> HTTPS redirect and a
//! plain-HTTP request sent to the HTTPS port.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::version::TLS13;

use super::TlsServer;
use crate::harness::{parse_first, CloseOutcome, Conn};

#[test]
fn rfc6797_7_1_hsts_on_https_with_configured_max_age() {
    let s = TlsServer::start("hsts_max_age = 31536000");
    let cfg = Arc::new(s.client(&[&TLS13]));
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.response.status, 200);
    assert_eq!(
        x.response.header_all("strict-transport-security"),
        vec!["max-age=31536000"],
        "{:?}",
        x.response.headers
    );
    // Error responses carry it too: HSTS is a property of the host, not the resource.
    let x = s.get(&cfg, "localhost", "/no-such-file");
    assert_eq!(x.response.status, 404);
    assert_eq!(
        x.response.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}

#[test]
fn rfc6797_7_2_no_hsts_over_plain_http() {
    let s = TlsServer::start("hsts_max_age = 31536000");
    let r = s.server.get("/", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("strict-transport-security"),
        None,
        "{:?}",
        r.headers
    );
}

#[test]
fn hsts_max_age_zero_sends_no_header() {
    let s = TlsServer::start("hsts_max_age = 0");
    let cfg = Arc::new(s.client(&[&TLS13]));
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.response.status, 200);
    assert_eq!(
        x.response.header("strict-transport-security"),
        None,
        "{:?}",
        x.response.headers
    );
}

/// The redirect names the port the TLS listener really bound, so an ephemeral
/// `https_port = 0` works (see [`redirect_with_ephemeral_https_port_names_the_bound_port`]).
fn redirect_server() -> TlsServer {
    let s = TlsServer::start("redirect_http_to_https = true");
    assert_ne!(s.https_port, 0);
    s
}

#[test]
fn rfc9110_15_4_2_redirect_get_and_head_to_https_is_301_with_same_target() {
    let s = redirect_server();
    let port = s.server.port();
    let want = format!("https://127.0.0.1:{}/a?b=c", s.https_port);
    let r = s.server.request(
        format!("GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some(want.as_str()));
    // No HSTS on the plain answer even while redirecting (RFC 6797 section 7.2).
    assert_eq!(r.header("strict-transport-security"), None);

    let mut c = s.server.connect();
    c.send(
        format!("HEAD /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    let r = c.head_response();
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some(want.as_str()));

    // The host comes from the Host header, not from the server's own name.
    let r = s.server.request(
        format!("GET /x HTTP/1.1\r\nHost: www.example.test:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some(format!("https://www.example.test:{}/x", s.https_port).as_str())
    );
}

#[test]
fn rfc9110_15_4_9_redirect_post_to_https_is_308() {
    let s = redirect_server();
    let port = s.server.port();
    let r = s.server.request(
        format!(
            "POST /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 5\r\n\
             Content-Type: text/plain\r\nConnection: close\r\n\r\nhello"
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 308, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some(format!("https://127.0.0.1:{}/a?b=c", s.https_port).as_str())
    );
}

#[test]
fn redirect_with_ephemeral_https_port_names_the_bound_port() {
    let s = TlsServer::start("redirect_http_to_https = true");
    let r = s.server.get("/a", "");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some(format!("https://127.0.0.1:{}/a", s.https_port).as_str())
    );
}

#[test]
fn redirect_does_not_apply_to_https_requests() {
    let s = TlsServer::start("redirect_http_to_https = true");
    let cfg = Arc::new(s.client(&[&TLS13]));
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.response.status, 200, "{:?}", x.response);
}

#[test]
fn plain_http_on_https_port_gets_readable_400_and_close() {
    let s = TlsServer::start("");
    let mut c = Conn::connect(s.https_addr());
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let start = Instant::now();
    let outcome = c.wait_closed(Duration::from_secs(8));
    let bytes = c.pending().to_vec();
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "still open after {:?}; got {:?}",
        start.elapsed(),
        String::from_utf8_lossy(&bytes)
    );
    let r = parse_first(&bytes);
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body_str().contains("HTTPS"), "{:?}", r.body_str());
    assert!(r.header_has_token("connection", "close"), "{:?}", r.headers);
}

#[test]
fn rfc9110_9_3_7_options_asterisk_is_answered_not_redirected() {
    let s = redirect_server();
    let r = s
        .server
        .request(b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 204, "{r:?}");
    assert!(r.header("allow").is_some(), "{r:?}");
    assert_eq!(r.header("location"), None);
}

#[test]
fn rfc9110_4_2_3_redirect_of_an_empty_absolute_path_is_slash() {
    let s = redirect_server();
    let r = s.server.request(
        b"GET http://127.0.0.1?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 301, "{r:?}");
    let want = format!("https://127.0.0.1:{}/?x=1", s.https_port);
    assert_eq!(r.header("location"), Some(want.as_str()));
}
