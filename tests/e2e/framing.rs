//! HTTP/1.1 message syntax and framing on raw sockets (RFC 9112): malformed and
//! smuggling-shaped input, size limits, pipelining, `Expect`, persistence.

use std::time::Duration;

use crate::harness::*;

/// How long to wait for a close the server owes at once. Only a failure waits this
/// long; the default keep-alive timeout (75 s) is far longer, so a connection left
/// open still fails.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Sends `req`, expects exactly one response with `status`, then the server closing
/// the connection (nothing smuggled behind the bad request is answered).
fn expect_status_then_close(s: &Server, req: &[u8], status: u16) {
    let mut c = s.connect();
    // The server may close before reading everything; a failed write is fine.
    let _ = c.try_send(req);
    let r = c
        .try_response(false)
        .unwrap_or_else(|e| panic!("expected a {status} response, got {e}"));
    assert_eq!(r.status, status, "{}", r.body_str());
    assert_date_and_server(&r);
    let outcome = c.wait_closed(CLOSE_WAIT);
    let rest = c.pending().to_vec();
    assert_eq!(
        count_status_lines(&rest),
        0,
        "a second response followed the {status}: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(
        outcome,
        CloseOutcome::Closed,
        "the server must close the connection after a {status} for malformed framing"
    );
}

/// Sends `req` and returns the first response's status.
fn first_status(s: &Server, req: &[u8]) -> u16 {
    let mut c = s.connect();
    let _ = c.try_send(req);
    c.try_response(false)
        .unwrap_or_else(|e| panic!("expected a response: {e}"))
        .status
}

const SMUGGLED: &str = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

#[test]
fn rfc9112_6_3_cl_and_te_together_is_400_and_close() {
    let s = Server::start("");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
    );
    expect_status_then_close(&s, req.as_bytes(), 400);
}

#[test]
fn rfc9112_6_3_differing_duplicate_content_length_is_400() {
    let s = Server::start("");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\
         Content-Length: 6\r\n\r\nhello!{SMUGGLED}"
    );
    expect_status_then_close(&s, req.as_bytes(), 400);
}

#[test]
fn rfc9112_6_3_content_length_list_with_differing_values_is_400() {
    let s = Server::start("");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5, 6\r\n\r\nhello!{SMUGGLED}"
    );
    expect_status_then_close(&s, req.as_bytes(), 400);
}

#[test]
fn rfc9112_6_1_unknown_transfer_coding_is_rejected() {
    // A transfer coding the server does not understand (or chunked not last) makes
    // the body length unknowable: 501 or 400, and the connection closes.
    let s = Server::start("");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\
         0\r\n\r\n{SMUGGLED}"
    );
    let mut c = s.connect();
    let _ = c.try_send(req.as_bytes());
    let r = c.response();
    assert!(r.status == 400 || r.status == 501, "{r:?}");
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
    assert_eq!(count_status_lines(c.pending()), 0);
}

#[test]
fn rfc9112_7_1_invalid_chunk_size_is_400() {
    let s = Server::start("");
    // GET (with a body): a POST would be refused with 405 before its body is read.
    let req = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         zz\r\nhello\r\n0\r\n\r\n{SMUGGLED}"
    );
    expect_status_then_close(&s, req.as_bytes(), 400);
}

#[test]
fn rfc9112_7_1_chunk_size_overflow_is_400() {
    let s = Server::start("");
    // GET (with a body): a POST would be refused with 405 before its body is read.
    let req = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         10000000000000005\r\nhello\r\n0\r\n\r\n{SMUGGLED}"
    );
    let st = first_status(&s, req.as_bytes());
    assert!(st == 400 || st == 413, "chunk size overflow answered {st}");
}

#[test]
fn rfc9112_5_2_obs_fold_is_400() {
    let s = Server::start("");
    expect_status_then_close(
        &s,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: a\r\n b\r\n\r\n",
        400,
    );
}

#[test]
fn rfc9112_5_1_whitespace_before_colon_is_400() {
    let s = Server::start("");
    expect_status_then_close(
        &s,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Foo : bar\r\n\r\n",
        400,
    );
}

#[test]
fn rfc9112_3_2_missing_host_in_http11_is_400() {
    let s = Server::start("");
    expect_status_then_close(&s, b"GET / HTTP/1.1\r\nUser-Agent: e2e\r\n\r\n", 400);
}

#[test]
fn rfc9112_3_2_two_host_fields_is_400() {
    let s = Server::start("");
    expect_status_then_close(
        &s,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.com\r\n\r\n",
        400,
    );
}

#[test]
fn rfc9112_3_2_http10_without_host_is_served() {
    let s = Server::start("");
    let bytes = s.raw(b"GET /index.html HTTP/1.0\r\n\r\n");
    let r = parse_first(&bytes);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_15_6_6_unsupported_major_version_is_505() {
    let s = Server::start("");
    let st = first_status(&s, b"GET / HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(st, 505);
}

#[test]
fn rfc9112_3_long_request_line_is_414() {
    let s = Server::start("");
    let req = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let st = first_status(&s, req.as_bytes());
    assert_eq!(st, 414);
}

#[test]
fn rfc6585_5_oversized_header_line_is_431() {
    let s = Server::start("");
    let req = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(17 * 1024)
    );
    assert_eq!(first_status(&s, req.as_bytes()), 431);
}

#[test]
fn rfc6585_5_too_many_headers_is_431() {
    let s = Server::start("");
    let mut req = String::from("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..101 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(first_status(&s, req.as_bytes()), 431);
}

#[test]
fn exactly_max_headers_is_accepted() {
    // 100 fields (Host included) is the default bound, not over it.
    let s = Server::start("");
    let mut req =
        String::from("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for i in 0..98 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(first_status(&s, req.as_bytes()), 200);
}

#[test]
fn rfc9110_15_5_14_content_length_over_max_body_is_413() {
    let s = Server::start("max_body_size = 1k");
    // The whole body is sent, so a server may refuse on the declared length or after
    // counting; either way the answer is 413.
    let mut req = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 5000));
    assert_eq!(first_status(&s, &req), 413);
}

#[test]
fn rfc9110_15_5_14_chunked_body_over_max_body_is_413() {
    let s = Server::start("max_body_size = 1k");
    // GET (with a body): a POST would be refused with 405 before its body is read.
    let mut req =
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 0x800));
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    let st = first_status(&s, &req);
    assert_eq!(st, 413);
}

#[test]
fn chunked_post_is_405_and_nothing_behind_it_is_answered() {
    // The 405 is sent as soon as the head is parsed; the body is never read, so the
    // connection closes and nothing after it (here a pipelined GET) is answered.
    let s = Server::start("");
    expect_status_then_close(
        &s,
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n\
          GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        405,
    );
}

#[test]
fn chunked_get_body_is_decoded_and_framing_stays_in_sync() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n\
          GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    let first = c.response();
    assert_eq!(first.status, 200);
    assert_eq!(first.body, INDEX_HTML.as_bytes());
    let second = c.response();
    assert_eq!(second.status, 200, "the body was parsed as a request");
    assert_eq!(second.body, style_css().as_bytes());
}

#[test]
fn content_length_post_is_405_and_nothing_behind_it_is_answered() {
    let s = Server::start("");
    let body = "GET /smuggled HTTP/1.1\r\n\r\n";
    let req = format!(
        "POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n\
         {body}GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        body.len()
    );
    expect_status_then_close(&s, req.as_bytes(), 405);
}

#[test]
fn content_length_get_body_is_skipped_and_framing_stays_in_sync() {
    let s = Server::start("");
    let mut c = s.connect();
    let body = "GET /smuggled HTTP/1.1\r\n\r\n";
    let req = format!(
        "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n\
         {body}GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        body.len()
    );
    c.send(req.as_bytes());
    assert_eq!(c.response().body, INDEX_HTML.as_bytes());
    let second = c.response();
    assert_eq!(second.status, 200, "the body was parsed as a request");
    assert_eq!(second.body, style_css().as_bytes());
}

#[test]
fn rfc9112_9_3_2_pipelined_requests_answered_in_order() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /sub/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    let bodies = [
        INDEX_HTML.as_bytes(),
        style_css().as_bytes(),
        SUB_INDEX_HTML.as_bytes(),
    ];
    for (i, want) in bodies.iter().enumerate() {
        let r = c.response();
        assert_eq!(r.status, 200, "response {i}");
        assert_eq!(&r.body[..], *want, "response {i} out of order or wrong");
    }
}

#[test]
fn rfc9110_10_1_1_expect_100_continue() {
    let s = Server::start("");
    let mut c = s.connect();
    // A request the service accepts: a POST would get its 405 at once, without 100.
    c.send(
        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let interim = c.response();
    assert_eq!(interim.status, 100, "{interim:?}");
    assert_eq!(interim.version, "HTTP/1.1");
    assert_eq!(interim.reason, "Continue");
    c.send(b"hello");
    let fin = c.response();
    assert_eq!(fin.status, 200);
    // Still in sync afterwards.
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(c.response().status, 200);
}

#[test]
fn rfc9112_3_2_2_absolute_form_target_is_served() {
    let s = Server::start("");
    let req = format!(
        "GET http://127.0.0.1:{}/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        s.port()
    );
    let r = parse_first(&s.raw(req.as_bytes()));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9112_9_6_connection_close_is_honoured() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(r.header_has_token("connection", "close"), "{r:?}");
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
}

#[test]
fn rfc9112_9_3_http10_keep_alive() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(r.header_has_token("connection", "keep-alive"), "{r:?}");
    c.send(b"GET /sub/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SUB_INDEX_HTML.as_bytes());
}

#[test]
fn rfc9112_9_3_http10_without_keep_alive_closes() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().status, 200);
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
}

#[test]
fn garbage_request_line_is_400_or_closed() {
    // A TLS ClientHello-like prefix on the plain port: a 400 or a silent close, never a
    // hang and never a success.
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n");
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
    if !c.pending().is_empty() {
        assert_eq!(parse_first(c.pending()).status, 400);
    }
}

#[test]
fn request_split_byte_by_byte_is_served() {
    let s = Server::start("");
    let mut c = s.connect();
    for b in b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" {
        c.send(&[*b]);
        std::thread::sleep(Duration::from_millis(1));
    }
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9112_9_3_2_pipelined_requests_until_close() {
    let s = Server::start("");
    let bytes = s.raw(
        b"GET /sub/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n\
          GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    let rs = parse_all(&bytes);
    let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
    // Nothing after the request that asked to close (RFC 9112 section 9.6).
    assert_eq!(statuses, [200, 404, 200]);
    assert_eq!(rs[2].body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9112_9_6_request_then_half_close_is_answered() {
    // A client may shut down its sending side after a complete request; the response
    // is still owed.
    let s = Server::start("");
    let r = parse_first(&s.raw_half_close(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9112_6_1_http10_with_transfer_encoding_closes_after_response() {
    // "A server ... that receives an HTTP/1.0 message containing a Transfer-Encoding
    // header field MUST treat the message as if the framing is faulty ... and close
    // the connection after processing the message."
    let s = Server::start("");
    let mut c = s.connect();
    let _ = c.try_send(
        b"POST /index.html HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    let r = c.response();
    assert!(r.status >= 400, "{r:?}");
    assert_eq!(c.wait_closed(CLOSE_WAIT), CloseOutcome::Closed);
    assert_eq!(
        count_status_lines(c.pending()),
        0,
        "answered a smuggled request"
    );
}

#[test]
fn rfc9110_9_1_methods_are_case_sensitive() {
    let s = Server::start("");
    let bytes = s.raw(b"get /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let r = parse_first(&bytes);
    assert!(
        matches!(r.status, 400 | 405 | 501),
        "`get` answered {}",
        r.status
    );
}

#[test]
fn rfc9110_8_6_malformed_content_length_is_400() {
    let s = Server::start("");
    for cl in ["-1", "+5", "5x", "0x5", "99999999999999999999999"] {
        let req = format!(
            "POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {cl}\r\n\r\nhello"
        );
        let mut c = s.connect();
        let _ = c.try_send(req.as_bytes());
        let r = c.response();
        assert!(
            r.status == 400 || (r.status == 413 && cl.len() > 10),
            "Content-Length {cl:?} answered {}",
            r.status
        );
    }
}

#[test]
fn rfc9112_3_2_origin_form_must_start_with_slash() {
    let s = Server::start("");
    let bytes = s.raw(b"GET index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(parse_first(&bytes).status, 400);
}

#[test]
fn rfc9112_3_2_invalid_host_is_400() {
    let s = Server::start("");
    for host in ["a b", "exa mple.com:80", "[::1", "host:port"] {
        let req = format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let r = parse_first(&s.raw(req.as_bytes()));
        assert_eq!(r.status, 400, "Host: {host:?}");
    }
}

#[test]
fn many_pipelined_requests_survive_backpressure() {
    // More responses than the output queue holds: the engine must stop reading, then
    // resume, without losing or reordering anything.
    let s = Server::start("");
    let mut c = s.connect();
    let mut reqs = Vec::new();
    for i in 0..300 {
        let path = if i % 3 == 0 {
            "/style.css"
        } else {
            "/index.html"
        };
        reqs.extend_from_slice(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        );
    }
    c.send(&reqs);
    for i in 0..300 {
        let r = c.response();
        assert_eq!(r.status, 200, "response {i}");
        let want = if i % 3 == 0 {
            style_css().as_bytes()
        } else {
            INDEX_HTML.as_bytes()
        };
        assert_eq!(r.body, want, "response {i}");
    }
}

#[test]
fn pipelined_file_bodies_stay_in_order() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(
        b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=10-19\r\n\r\n\
          HEAD /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\
          GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    assert!(c.response().body == big_bin());
    assert_eq!(c.response().body, INDEX_HTML.as_bytes());
    assert!(c.response().body == big_bin()[10..20]);
    assert_eq!(c.head_response().header("content-length"), Some("1048576"));
    assert!(c.response().body == big_bin());
}

#[test]
fn rfc9110_10_1_1_expect_with_oversized_body_gets_413_not_100() {
    // The server can refuse before the body is sent: a final status instead of 100.
    let s = Server::start("max_body_size = 1k");
    let mut c = s.connect();
    c.send(
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let r = c.response();
    assert_eq!(r.status, 413, "{r:?}");
}

#[test]
fn head_404_has_no_body_and_keeps_framing() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"HEAD /missing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let h = c.head_response();
    assert_eq!(h.status, 404);
    let r = c.response();
    assert_eq!(r.status, 200, "bytes after a HEAD 404 broke framing");
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn not_modified_keeps_framing() {
    let s = Server::start("");
    let etag = s.get("/index.html", "").header("etag").unwrap().to_string();
    let mut c = s.connect();
    c.send(
        format!(
            "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: {etag}\r\n\r\n\
             GET /sub/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(c.response().status, 304);
    let r = c.response();
    assert_eq!(r.status, 200, "bytes after a 304 broke framing");
    assert_eq!(r.body, SUB_INDEX_HTML.as_bytes());
}
