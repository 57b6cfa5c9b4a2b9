//! Range requests (RFC 9110 section 14) against the 1 MiB file.

use crate::harness::*;

fn range(s: &Server, spec: &str, extra: &str) -> Response {
    s.get("/big.bin", &format!("Range: {spec}\r\n{extra}"))
}

#[test]
fn rfc9110_14_2_first_bytes() {
    let s = Server::start("");
    let r = range(&s, "bytes=0-99", "");
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 0-99/1048576"));
    assert_eq!(r.header("content-length"), Some("100"));
    assert!(r.body == big_bin()[..100]);
}

#[test]
fn rfc9110_14_2_middle_bytes() {
    let s = Server::start("");
    let r = range(&s, "bytes=500000-500999", "");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 500000-500999/1048576")
    );
    assert!(r.body == big_bin()[500_000..501_000]);
}

#[test]
fn rfc9110_14_1_2_suffix_range() {
    let s = Server::start("");
    let r = range(&s, "bytes=-100", "");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1048476-1048575/1048576")
    );
    assert!(r.body == big_bin()[BIG_LEN - 100..]);
}

#[test]
fn rfc9110_14_1_2_open_ended_range() {
    let s = Server::start("");
    let r = range(&s, "bytes=1048000-", "");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1048000-1048575/1048576")
    );
    assert!(r.body == big_bin()[1_048_000..]);
}

#[test]
fn rfc9110_14_1_2_last_pos_past_end_is_clamped() {
    let s = Server::start("");
    let r = range(&s, "bytes=1048570-2000000", "");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1048570-1048575/1048576")
    );
    assert!(r.body == big_bin()[1_048_570..]);
}

#[test]
fn rfc9110_15_5_17_unsatisfiable_range_is_416() {
    let s = Server::start("");
    let r = range(&s, "bytes=2000000-3000000", "");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */1048576"));
}

#[test]
fn rfc9110_14_2_unknown_range_unit_is_ignored() {
    // "An origin server MUST ignore a Range header field that contains a range unit it
    // does not understand": the full 200 response.
    let s = Server::start("");
    let r = range(&s, "pages=1-2", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG_LEN);
}

#[test]
fn rfc9110_14_2_invalid_ranges_specifier_is_ignored_or_rejected() {
    let s = Server::start("");
    let r = range(&s, "bytes=abc-def", "");
    assert!(matches!(r.status, 200 | 416), "{}", r.status);
    if r.status == 200 {
        assert_eq!(r.body.len(), BIG_LEN);
    }
}

#[test]
fn rfc9110_13_1_5_if_range_mismatch_is_200_full() {
    let s = Server::start("");
    let r = range(&s, "bytes=0-99", "If-Range: \"not-the-etag\"\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG_LEN);
    assert!(r.body == big_bin());
}

#[test]
fn rfc9110_13_1_5_if_range_match_is_206() {
    let s = Server::start("");
    let etag = s.get("/big.bin", "").header("etag").unwrap().to_string();
    if etag.starts_with("W/") {
        // A weak validator never matches If-Range (RFC 9110 section 13.1.5).
        let r = range(&s, "bytes=0-9", &format!("If-Range: {etag}\r\n"));
        assert_eq!(r.status, 200);
        return;
    }
    let r = range(&s, "bytes=0-9", &format!("If-Range: {etag}\r\n"));
    assert_eq!(r.status, 206);
    assert!(r.body == big_bin()[..10]);
}

#[test]
fn head_with_range_has_no_body() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"HEAD /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-99\r\n\r\n");
    let r = c.head_response();
    // RFC 9110 §9.3.2: the headers GET would get, so 206 with Content-Range.
    assert_eq!(r.status, 206, "{r:?}");
    assert_eq!(r.header("content-range"), Some("bytes 0-99/1048576"));
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let next = c.response();
    assert_eq!(
        next.status, 200,
        "bytes after a HEAD response broke framing"
    );
    assert_eq!(next.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_14_6_multiple_ranges_are_multipart_or_full() {
    let s = Server::start("");
    let r = range(&s, "bytes=0-0,2-2", "");
    match r.status {
        200 => assert_eq!(r.body.len(), BIG_LEN),
        206 => assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("multipart/byteranges"),
            "several ranges need multipart/byteranges: {r:?}"
        ),
        st => panic!("multiple ranges answered {st}"),
    }
}

#[test]
fn cve_2011_3192_many_overlapping_ranges_do_not_amplify() {
    // "Apache Killer": hundreds of overlapping ranges must not multiply the response.
    let s = Server::start("");
    let spec = format!("bytes={}", vec!["0-"; 200].join(","));
    let r = s.get("/style.css", &format!("Range: {spec}\r\n"));
    assert!(matches!(r.status, 200 | 206 | 416), "{}", r.status);
    assert!(
        r.body.len() <= 2 * style_css().len() + 4096,
        "{} bytes for a {}-byte file",
        r.body.len(),
        style_css().len()
    );
}

#[test]
fn empty_file_range_is_416() {
    let s = Server::start("");
    std::fs::write(s.www().join("empty.txt"), "").unwrap();
    let r = s.get("/empty.txt", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    let r = s.get("/empty.txt", "Range: bytes=0-\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */0"));
}
