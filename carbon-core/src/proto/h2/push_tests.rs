//! Server push driven by bytes (RFC 9113 §8.4, §6.6, §5.1): the client of
//! `conn_tests.rs` reads the PUSH_PROMISE frames and the pushed responses.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use bytes::Bytes;
use http::header::HOST;

use super::super::tests::Pair;
use super::*;
use crate::limits::Http2Limits;
use crate::proto::h2::error::ErrorCode;
use crate::proto::h2::frame::settings::id as setting;
use crate::proto::h2::frame::Frame;
use crate::proto::h2::hpack;
use crate::service::Body;

fn pushed_get(path: &str) -> http::Request<()> {
    http::Request::builder()
        .method("GET")
        .uri(path)
        .header(HOST, "example.com")
        .header("accept-encoding", "gzip")
        .body(())
        .unwrap()
}

/// A client that asked for `/` on stream 1 and got the request event.
fn page_requested(limits: Http2Limits) -> Pair {
    let mut p = Pair::connected_with(limits);
    p.get(1, "/");
    assert_eq!(p.requests().len(), 1);
    p
}

/// (frame kind, stream, promised id, decoded fields).
type Block = (&'static str, u32, u32, Vec<(String, String)>);

/// Every header block the engine sent, decoded in wire order with one decoder (the
/// HPACK context is the connection's, PUSH_PROMISE blocks included): (frame kind,
/// stream, promised id, fields).
fn blocks(p: &Pair) -> Vec<Block> {
    let mut dec = hpack::Decoder::new(4096);
    let mut out = Vec::new();
    let mut pending: Option<(&'static str, u32, u32, Vec<u8>)> = None;
    let mut finish = |k, id, promised, block: &[u8], out: &mut Vec<_>| {
        let mut fields = Vec::new();
        dec.decode(block, 1 << 20, &mut |f| {
            fields.push((
                String::from_utf8_lossy(f.name).into_owned(),
                String::from_utf8_lossy(f.value).into_owned(),
            ))
        })
        .unwrap();
        out.push((k, id, promised, fields));
    };
    for f in &p.frames {
        match f {
            Frame::Headers(h) if h.end_headers => {
                finish("HEADERS", h.stream_id, 0, &h.fragment, &mut out)
            }
            Frame::Headers(h) => pending = Some(("HEADERS", h.stream_id, 0, h.fragment.to_vec())),
            Frame::PushPromise(pp) if pp.end_headers => finish(
                "PUSH_PROMISE",
                pp.stream_id,
                pp.promised_id,
                &pp.fragment,
                &mut out,
            ),
            Frame::PushPromise(pp) => {
                pending = Some((
                    "PUSH_PROMISE",
                    pp.stream_id,
                    pp.promised_id,
                    pp.fragment.to_vec(),
                ))
            }
            Frame::Continuation(c) => {
                if let Some((k, id, promised, mut block)) = pending.take() {
                    block.extend_from_slice(&c.fragment);
                    if c.end_headers {
                        finish(k, id, promised, &block, &mut out);
                    } else {
                        pending = Some((k, id, promised, block));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn body(s: &'static str) -> Body {
    Body::Bytes(Bytes::from_static(s.as_bytes()))
}

#[test]
fn rfc9113_8_4_2_push_promise_precedes_the_page_headers_on_the_client_stream() {
    let mut p = page_requested(Http2Limits::default());
    let id = p
        .conn
        .push_promise(1, "https", &pushed_get("/style.css"))
        .unwrap();
    assert_eq!(id, 2, "§5.1.1: server-initiated streams are even");
    p.respond(1, 200, body("<html>"));
    p.respond(id, 200, body("body{}"));
    let b = blocks(&p);
    assert_eq!(b[0].0, "PUSH_PROMISE");
    assert_eq!((b[0].1, b[0].2), (1, 2), "promise on the page's stream");
    let promised = &b[0].3;
    assert_eq!(field(promised, ":method"), Some("GET"));
    assert_eq!(field(promised, ":scheme"), Some("https"));
    assert_eq!(field(promised, ":authority"), Some("example.com"));
    assert_eq!(field(promised, ":path"), Some("/style.css"));
    assert_eq!(field(promised, "accept-encoding"), Some("gzip"));
    assert_eq!(field(promised, "host"), None, "host becomes :authority");
    assert_eq!((b[1].0, b[1].1), ("HEADERS", 1));
    assert_eq!((b[2].0, b[2].1), ("HEADERS", 2));
    assert_eq!(p.data_on(2), (b"body{}".to_vec(), true));
    assert_eq!(p.data_on(1), (b"<html>".to_vec(), true));
    assert_eq!(p.conn.open_streams(), 0, "both streams closed");
    assert_eq!(p.conn.stats().streams_pushed, 1);
    assert!(p.goaway().is_none());
}

#[test]
fn rfc9113_6_5_2_enable_push_0_means_no_push_promise() {
    let mut p = Pair::connected();
    p.settings(&[(setting::ENABLE_PUSH, 0)]);
    p.get(1, "/");
    assert_eq!(
        p.conn.push_promise(1, "https", &pushed_get("/a.css")),
        Err(NoPush::Disabled)
    );
    p.respond(1, 200, body("x"));
    assert!(!p.frames.iter().any(|f| matches!(f, Frame::PushPromise(_))));
}

#[test]
fn rfc9113_8_4_1_promised_requests_are_safe_and_cacheable() {
    let mut p = page_requested(Http2Limits::default());
    let mut post = pushed_get("/a.css");
    *post.method_mut() = http::Method::POST;
    assert_eq!(
        p.conn.push_promise(1, "https", &post),
        Err(NoPush::NotPushable)
    );
    let mut no_host = pushed_get("/a.css");
    no_host.headers_mut().remove(HOST);
    assert_eq!(
        p.conn.push_promise(1, "https", &no_host),
        Err(NoPush::NotPushable)
    );
    assert!(p
        .conn
        .push_promise(1, "https", &pushed_get("/a.css"))
        .is_ok());
}

#[test]
fn rfc9113_8_4_2_no_promise_once_the_page_response_is_sent() {
    let mut p = page_requested(Http2Limits::default());
    p.respond(1, 200, body("x"));
    assert_eq!(
        p.conn.push_promise(1, "https", &pushed_get("/a.css")),
        Err(NoPush::Stream)
    );
    assert_eq!(
        p.conn.push_promise(3, "https", &pushed_get("/a.css")),
        Err(NoPush::Stream),
        "a stream that does not exist"
    );
}

#[test]
fn rfc9113_5_1_1_promised_ids_are_even_and_increase() {
    let mut p = page_requested(Http2Limits::default());
    let ids: Vec<u32> = ["/a", "/b", "/c"]
        .iter()
        .map(|path| p.conn.push_promise(1, "http", &pushed_get(path)).unwrap())
        .collect();
    assert_eq!(ids, vec![2, 4, 6]);
}

#[test]
fn rfc9113_5_1_2_pushes_count_against_the_clients_max_concurrent_streams() {
    let mut p = Pair::connected();
    p.settings(&[(setting::MAX_CONCURRENT_STREAMS, 1)]);
    p.get(1, "/");
    let first = p.conn.push_promise(1, "https", &pushed_get("/a")).unwrap();
    assert_eq!(
        p.conn.push_promise(1, "https", &pushed_get("/b")),
        Err(NoPush::Limit)
    );
    p.respond(1, 200, body("page"));
    p.respond(first, 200, body("a"));
    // The pushed stream is closed: the next page may push again.
    p.get(3, "/");
    assert!(p.conn.push_promise(3, "https", &pushed_get("/b")).is_ok());
}

#[test]
fn rfc9113_5_1_2_pushed_streams_do_not_count_against_our_limit() {
    let mut limits = Http2Limits::default();
    limits.max_concurrent_streams = 1;
    let mut p = page_requested(limits);
    p.conn.push_promise(1, "https", &pushed_get("/a")).unwrap();
    p.respond(1, 200, body("page"));
    // Stream 2 is still reserved; the client's next stream is not refused.
    p.get(3, "/other");
    assert_eq!(p.rst_code(3), None);
    assert_eq!(p.requests().len(), 1);
}

#[test]
fn rfc9113_8_4_2_client_rst_stream_cancels_a_promise_without_counting_as_rapid_reset() {
    let mut limits = Http2Limits::default();
    limits.max_resets_per_window = 1;
    let mut p = Pair::connected_with(limits);
    for (i, page) in [1u32, 3, 5].into_iter().enumerate() {
        p.get(page, "/");
        let promised = p
            .conn
            .push_promise(page, "https", &pushed_get("/a"))
            .unwrap();
        p.respond(page, 200, body("page"));
        let code = if i == 0 {
            ErrorCode::CANCEL
        } else {
            ErrorCode::REFUSED_STREAM
        };
        p.rst(promised, code);
        // The response the driver hands over afterwards is dropped.
        p.respond(promised, 200, body("never sent"));
        assert_eq!(p.data_on(promised).0, b"");
    }
    assert!(p.goaway().is_none(), "{:?}", p.goaway());
    assert_eq!(p.conn.open_streams(), 0);
    assert_eq!(p.conn.stats().streams_reset_by_peer, 3);
}

#[test]
fn rfc9113_5_1_data_on_a_reserved_stream_is_a_connection_error() {
    let mut p = page_requested(Http2Limits::default());
    let id = p.conn.push_promise(1, "https", &pushed_get("/a")).unwrap();
    p.data(id, b"x", false);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn rfc9113_5_1_data_on_a_half_closed_remote_pushed_stream_is_stream_closed() {
    let mut p = page_requested(Http2Limits::default());
    let id = p.conn.push_promise(1, "https", &pushed_get("/a")).unwrap();
    p.respond(1, 200, body("page"));
    // Headers sent, a body larger than the window keeps the stream open.
    let big = Body::Bytes(Bytes::from(vec![b'a'; 100_000]));
    p.respond(id, 200, big);
    p.data(id, b"x", false);
    assert_eq!(p.rst_code(id), Some(ErrorCode::STREAM_CLOSED));
    assert!(p.goaway().is_none());
}

#[test]
fn rfc9113_5_1_even_ids_not_promised_are_idle() {
    let mut p = page_requested(Http2Limits::default());
    p.conn.push_promise(1, "https", &pushed_get("/a")).unwrap();
    p.rst(4, ErrorCode::CANCEL);
    assert_eq!(p.goaway_code(), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn pushes_per_request_and_per_connection_are_bounded() {
    let mut p = page_requested(Http2Limits::default());
    for i in 0..H2_MAX_PUSHES_PER_REQUEST {
        let path = format!("/{i}");
        let id = p.conn.push_promise(1, "https", &pushed_get(&path)).unwrap();
        p.respond(id, 200, Body::Empty);
    }
    assert_eq!(
        p.conn.push_promise(1, "https", &pushed_get("/more")),
        Err(NoPush::Limit)
    );
    p.respond(1, 200, Body::Empty);
    let mut page = 3;
    let mut pushed = H2_MAX_PUSHES_PER_REQUEST as u32;
    let refused = loop {
        p.get(page, "/");
        let r = p.conn.push_promise(page, "https", &pushed_get("/x"));
        if let Ok(id) = r {
            p.respond(id, 200, Body::Empty);
            pushed += 1;
        }
        p.respond(page, 200, Body::Empty);
        page += 2;
        if r.is_err() {
            break r;
        }
        assert!(pushed <= H2_MAX_PUSHES_PER_CONNECTION, "bound not enforced");
    };
    assert_eq!(refused, Err(NoPush::Limit));
    assert_eq!(pushed, H2_MAX_PUSHES_PER_CONNECTION);
}

#[test]
fn rfc9113_6_8_no_push_once_shutting_down() {
    let mut p = page_requested(Http2Limits::default());
    let now = p.now;
    p.conn.start_shutdown(now);
    assert_eq!(
        p.conn.push_promise(1, "https", &pushed_get("/a")),
        Err(NoPush::Closing)
    );
}

#[test]
fn rfc9113_6_6_a_large_promise_is_split_into_continuations() {
    let mut p = page_requested(Http2Limits::default());
    let mut r = pushed_get("/a");
    // Larger than one 16,384-byte frame even Huffman-coded.
    let long: String = (0..40_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    r.headers_mut()
        .insert("x-long", http::HeaderValue::from_str(&long).unwrap());
    p.conn.push_promise(1, "https", &r).unwrap();
    p.drain();
    assert!(p
        .frames
        .iter()
        .any(|f| matches!(f, Frame::PushPromise(pp) if !pp.end_headers)));
    assert!(p.frames.iter().any(|f| matches!(f, Frame::Continuation(_))));
    let b = blocks(&p);
    assert_eq!(field(&b[0].3, "x-long").map(str::len), Some(40_000));
}
