//! Methods a static-file server supports (RFC 9110 section 9): GET, HEAD, OPTIONS;
//! everything else is 405 with `Allow` (section 15.5.6).

use crate::harness::*;

#[test]
fn rfc9110_9_3_7_options_lists_allow() {
    let s = Server::start("");
    let r =
        s.request(b"OPTIONS /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert!(matches!(r.status, 200 | 204), "{r:?}");
    assert!(r.header_has_token("allow", "GET"), "{r:?}");
    assert!(r.header_has_token("allow", "HEAD"), "{r:?}");
    assert!(!r.header_has_token("allow", "POST"), "{r:?}");
}

#[test]
fn rfc9110_9_3_7_options_asterisk() {
    let s = Server::start("");
    let r = s.request(b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert!(matches!(r.status, 200 | 204), "{r:?}");
    assert!(r.header_has_token("allow", "GET"), "{r:?}");
}

#[test]
fn rfc9110_9_3_8_trace_is_405_without_echo() {
    // Echoing TRACE enables cross-site tracing (CVE-2004-2320 and friends).
    let s = Server::start("");
    let bytes = s.raw(
        b"TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: e2e-secret-cookie\r\n\
          Connection: close\r\n\r\n",
    );
    let r = parse_first(&bytes);
    assert_eq!(r.status, 405);
    assert!(r.header_has_token("allow", "GET"), "{r:?}");
    assert!(
        !String::from_utf8_lossy(&bytes).contains("e2e-secret-cookie"),
        "TRACE echoed the request"
    );
    assert_ne!(r.header("content-type"), Some("message/http"));
}

#[test]
fn rfc9110_15_5_6_post_put_delete_are_405_with_allow() {
    let s = Server::start("");
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let req = format!(
            "{m} /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        );
        let r = s.request(req.as_bytes());
        assert_eq!(r.status, 405, "{m}");
        assert!(r.header_has_token("allow", "GET"), "{m}: {r:?}");
        assert!(r.header_has_token("allow", "HEAD"), "{m}: {r:?}");
    }
    // The file was not touched.
    assert_eq!(s.get("/index.html", "").body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_15_6_2_unknown_method_is_rejected() {
    let s = Server::start("");
    let r = s.request(b"BREW /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert!(matches!(r.status, 405 | 501), "{r:?}");
}

#[test]
fn post_with_ureq_is_405() {
    let s = Server::start("");
    let resp = match agent().post(&s.url("/index.html")).send_string("x=1") {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(resp.status(), 405);
    assert!(resp.header("allow").unwrap_or("").contains("GET"));
}
