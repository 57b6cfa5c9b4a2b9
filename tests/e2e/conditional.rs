//! Conditional requests (RFC 9110 section 13) and freshness of served files after they
//! change on disk.

use std::time::{Duration, Instant};

use crate::harness::*;

#[test]
fn rfc9110_13_1_2_if_none_match_etag_is_304_without_body() {
    let s = Server::start("");
    let etag = s.get("/index.html", "").header("etag").unwrap().to_string();
    let bytes = s.raw(
        format!(
            "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: {etag}\r\n\
             Connection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    let r = parse_first(&bytes);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_date_and_server(&r);
    let head_len = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        bytes.len(),
        head_len,
        "304 must not carry a body: {:?}",
        String::from_utf8_lossy(&bytes[head_len..])
    );
}

#[test]
fn rfc9110_13_1_2_if_none_match_list_and_star() {
    let s = Server::start("");
    let etag = s.get("/index.html", "").header("etag").unwrap().to_string();
    let r = s.get(
        "/index.html",
        &format!("If-None-Match: \"nope\", {etag}\r\n"),
    );
    assert_eq!(r.status, 304);
    let r = s.get("/index.html", "If-None-Match: *\r\n");
    assert_eq!(r.status, 304);
}

#[test]
fn rfc9110_13_1_2_if_none_match_other_etag_is_200() {
    let s = Server::start("");
    let r = s.get("/index.html", "If-None-Match: \"definitely-not-it\"\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_13_1_3_if_modified_since_is_304() {
    let s = Server::start("");
    let lm = s
        .get("/index.html", "")
        .header("last-modified")
        .unwrap()
        .to_string();
    let r = s.get("/index.html", &format!("If-Modified-Since: {lm}\r\n"));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
}

#[test]
fn rfc9110_13_1_3_if_modified_since_in_the_past_is_200() {
    let s = Server::start("");
    let r = s.get(
        "/index.html",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_13_2_2_if_none_match_takes_precedence_over_if_modified_since() {
    let s = Server::start("");
    let lm = s
        .get("/index.html", "")
        .header("last-modified")
        .unwrap()
        .to_string();
    let r = s.get(
        "/index.html",
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {lm}\r\n"),
    );
    assert_eq!(
        r.status, 200,
        "If-Modified-Since must be ignored when If-None-Match is present"
    );
}

#[test]
fn modified_file_is_served_fresh() {
    let s = Server::start("");
    let first = s.get("/index.html", "");
    assert_eq!(first.body, INDEX_HTML.as_bytes());
    let old_etag = first.header("etag").unwrap().to_string();
    // Past the one-second granularity of Last-Modified and of many ETag schemes.
    std::thread::sleep(Duration::from_millis(1100));
    let new_body = "<!doctype html>\n<p>rewritten with a different length, much longer</p>\n";
    std::fs::write(s.www().join("index.html"), new_body).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = s.get("/index.html", "");
        if r.body == new_body.as_bytes() {
            assert_ne!(r.header("etag"), Some(old_etag.as_str()), "ETag unchanged");
            assert_eq!(
                r.header("content-length"),
                Some(new_body.len().to_string().as_str())
            );
            // The old validator no longer matches.
            let c = s.get("/index.html", &format!("If-None-Match: {old_etag}\r\n"));
            assert_eq!(c.status, 200);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still serving the old content 10 s after the change: {:?}",
            r.body_str()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rfc9110_13_1_1_if_match_mismatch_is_412() {
    let s = Server::start("");
    let r = s.get("/index.html", "If-Match: \"not-the-etag\"\r\n");
    assert_eq!(r.status, 412);
    let etag = s.get("/index.html", "").header("etag").unwrap().to_string();
    let r = s.get("/index.html", &format!("If-Match: {etag}\r\n"));
    assert_eq!(r.status, 200);
}

#[test]
fn rfc9110_13_1_4_if_unmodified_since_in_the_past_is_412() {
    let s = Server::start("");
    let r = s.get(
        "/index.html",
        "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
    );
    assert_eq!(r.status, 412);
}

#[test]
fn rfc9110_8_8_3_gzip_variant_has_its_own_strong_etag() {
    // A strong ETag identifies exact bytes: the gzip and identity representations
    // must not share one (or a cache may splice ranges of one into the other).
    let s = Server::start("");
    let plain = s.get("/style.css", "");
    let gz = s.get("/style.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let (a, b) = (plain.header("etag").unwrap(), gz.header("etag").unwrap());
    if !a.starts_with("W/") && !b.starts_with("W/") {
        assert_ne!(a, b, "identity and gzip share a strong ETag");
    }
    // The gzip ETag revalidates the gzip representation.
    let r = s.get(
        "/style.css",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {b}\r\n"),
    );
    assert_eq!(r.status, 304);
}
