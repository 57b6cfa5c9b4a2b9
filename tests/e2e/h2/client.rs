//! Negotiation: ALPN `h2` over TLS, the h2c preface on the plain port, and HTTP/1.1
//! staying what it was on both.

use std::sync::Arc;

use super::{connect_h2c, connect_tls, fetch, h2c_authority, rt, start, tls_authority};
use crate::harness::{Server, INDEX_HTML};
use crate::tls::client_config;

#[test]
fn rfc9113_3_2_alpn_h2_selected_when_offered_first_by_client_and_server() {
    let s = start("");
    let mut cfg = client_config(&[&rustls::version::TLS13], &[&s.cert]);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut tls = crate::tls::handshake(s.https_addr(), &Arc::new(cfg), "localhost").unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"h2"[..]));
    // The server speaks HTTP/2 from its first byte: its SETTINGS frame (type 4 on
    // stream 0) comes before we send anything.
    use std::io::Read;
    let mut head = [0u8; 9];
    tls.read_exact(&mut head).unwrap();
    assert_eq!(head[3], 0x4, "first frame is not SETTINGS: {head:?}");
    assert_eq!(&head[5..9], &[0, 0, 0, 0]);
}

#[test]
fn rfc9113_3_2_h2_crate_over_tls_gets_index_with_hsts() {
    let s = start("");
    let r = rt().block_on(async {
        let mut send = connect_tls(&s, Default::default()).await;
        fetch(&mut send, "GET", &tls_authority(&s), "/", &[]).await
    });
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
    assert_eq!(r.header("server"), Some("carbon"));
    assert!(r.header("date").is_some());
    assert!(r.header("strict-transport-security").is_some());
}

#[test]
fn rfc9113_3_3_h2c_prior_knowledge_served_and_http11_still_works_on_the_same_port() {
    let s = start("");
    let r = rt().block_on(async {
        let mut send = connect_h2c(s.server.addr(), Default::default()).await;
        fetch(&mut send, "GET", &h2c_authority(&s.server), "/", &[]).await
    });
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
    // HSTS only over TLS (RFC 6797 §7.2).
    assert!(r.header("strict-transport-security").is_none());
    let h1 = s.server.get("/", "");
    assert_eq!(h1.version, "HTTP/1.1");
    assert_eq!(h1.body, INDEX_HTML.as_bytes());
}

#[test]
fn h2c_off_by_default_preface_on_plain_port_is_http11_505() {
    let s = Server::start("");
    let r = s.raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let text = String::from_utf8_lossy(&r);
    assert!(text.starts_with("HTTP/1.1 505"), "{text}");
}

/// RFC 9113 §3.4 on the shared plain port: a first line that is not HTTP/1.x (no
/// HTTP-version) is closed without a response (h2spec's "invalid connection preface");
/// HTTP/1.1 requests with a malformed version still get 400, and without h2c so does
/// that line (RFC 9112 §3).
#[test]
fn rfc9113_3_4_invalid_preface_on_the_h2c_port_is_closed_without_a_response() {
    let s = start("");
    let r = s.server.raw(b"INVALID CONNECTION PREFACE\r\n\r\n");
    assert!(r.is_empty(), "{}", String::from_utf8_lossy(&r));
    let r = s.server.raw(b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n");
    assert!(
        r.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    let plain = Server::start("");
    let r = plain.raw(b"INVALID CONNECTION PREFACE\r\n\r\n");
    assert!(
        r.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&r)
    );
}

#[test]
fn enable_http2_false_keeps_tls_on_http11_only() {
    let s = crate::tls::TlsServer::start("enable_http2 = false");
    let mut cfg = client_config(&[&rustls::version::TLS13], &[&s.cert]);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let x = s.get(&Arc::new(cfg), "localhost", "/");
    assert_eq!(x.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(x.response.status, 200);
}
