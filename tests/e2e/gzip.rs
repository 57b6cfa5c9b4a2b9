//! Content coding (RFC 9110 sections 8.4 and 12.5.3): gzip on the fly for compressible
//! types, `q=0` refusals, `Vary`, and precompressed `.gz` siblings.

use crate::harness::*;

#[test]
fn rfc9110_12_5_3_gzip_when_accepted() {
    let s = Server::start("");
    let r = s.get("/style.css", "Accept-Encoding: gzip, deflate\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.header_has_token("vary", "accept-encoding"), "{r:?}");
    assert!(
        r.body.len() < style_css().len(),
        "gzip did not shrink the CSS"
    );
    assert_eq!(gunzip(&r.body), style_css().as_bytes());
}

#[test]
fn rfc9110_12_5_3_gzip_q0_means_identity() {
    let s = Server::start("");
    let r = s.get("/style.css", "Accept-Encoding: gzip;q=0\r\n");
    assert_eq!(r.status, 200);
    let ce = r.header("content-encoding");
    assert!(ce.is_none() || ce == Some("identity"), "{ce:?}");
    assert_eq!(r.body, style_css().as_bytes());
}

#[test]
fn rfc9110_12_5_3_no_accept_encoding_means_identity() {
    let s = Server::start("");
    let r = s.get("/style.css", "");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, style_css().as_bytes());
}

#[test]
fn rfc9110_12_5_5_vary_on_identity_response_too() {
    // A cache must learn that the representation depends on Accept-Encoding even from
    // the uncompressed answer.
    let s = Server::start("");
    let r = s.get("/style.css", "");
    assert!(r.header_has_token("vary", "accept-encoding"), "{r:?}");
}

#[test]
fn gzip_off_in_config_disables_compression() {
    let s = Server::start("gzip = off");
    let r = s.get("/style.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, style_css().as_bytes());
}

#[test]
fn gzip_not_applied_below_min_length() {
    let s = Server::start("gzip_min_length = 100000");
    let r = s.get("/style.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, style_css().as_bytes());
}

#[test]
fn gzip_head_matches_get_length() {
    let s = Server::start("");
    let get = s.get("/style.css", "Accept-Encoding: gzip\r\n");
    let mut c = s.connect();
    c.send(b"HEAD /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n");
    let head = c.head_response();
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("content-length"), get.header("content-length"));
}

#[test]
fn precompressed_gz_sibling_is_served() {
    let s = Server::start("");
    let r = s.get("/app.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.header_has_token("vary", "accept-encoding"));
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .contains("javascript"),
        "type is that of app.js, not of a .gz: {:?}",
        r.header("content-type")
    );
    assert!(
        r.body == app_js_gz(),
        "body is not the precompressed app.js.gz (marker {GZ_MARKER_NAME:?} missing)"
    );
    assert_eq!(gunzip(&r.body), app_js().as_bytes());
}

#[test]
fn precompressed_sibling_not_used_without_gzip() {
    let s = Server::start("");
    let r = s.get("/app.js", "");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, app_js().as_bytes());
}

#[test]
fn ranges_apply_to_the_identity_representation_only() {
    // A Range with Accept-Encoding: gzip must still return exact bytes of *some*
    // representation; the simple, interoperable choice is identity for ranges.
    let s = Server::start("");
    let r = s.get(
        "/style.css",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(r.status, 206);
    if r.header("content-encoding") == Some("gzip") {
        // Then the bytes are of the gzip representation; at least they are 10.
        assert_eq!(r.body.len(), 10);
    } else {
        assert_eq!(r.body, &style_css().as_bytes()[..10]);
    }
}

#[test]
fn rfc9110_8_4_1_content_codings_are_case_insensitive() {
    let s = Server::start("");
    let r = s.get("/style.css", "Accept-Encoding: GZIP\r\n");
    assert_eq!(
        r.header("content-encoding")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("gzip")
    );
    assert_eq!(gunzip(&r.body), style_css().as_bytes());
}

#[test]
fn rfc9110_12_5_3_identity_q0_with_gzip_available() {
    let s = Server::start("");
    let r = s.get(
        "/style.css",
        "Accept-Encoding: gzip;q=0.5, identity;q=0\r\n",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&r.body), style_css().as_bytes());
}

#[test]
fn binary_files_are_not_gzipped() {
    let s = Server::start("");
    let r = s.get("/big.bin", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.body == big_bin());
}
