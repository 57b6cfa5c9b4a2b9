//! Brotli (RFC 7932) end to end: a precompressed `.br` sibling chosen by q-value
//! against gzip (with its own ETag and `Vary`), brotli made on the fly and decoded by
//! curl's own brotli decoder (libbrotli, independent of the crate carbond uses), and
//! `brotli = true` switched on by a reload.

use std::io::Read;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{app_js, curl, style_css, Server, GZ_MARKER_NAME};
use crate::reload::reload;

const BR_MARKER: &str = "carbon-e2e-precompressed-br";

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        std::io::Write::write_all(&mut w, data).unwrap();
    }
    out
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ::brotli::Decompressor::new(data, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Writes `app.js.br` (never older than `app.js`, so it is not taken for stale).
fn write_br_sibling(s: &Server) {
    std::fs::write(s.www().join("app.js.br"), brotli(BR_MARKER.as_bytes())).unwrap();
}

#[test]
fn rfc9110_12_5_3_br_sibling_chosen_by_q_value_against_gzip() {
    let s = Server::start("");
    write_br_sibling(&s);
    // What browsers send: equal weights, so the smaller coding, br.
    let r = s.get("/app.js", "Accept-Encoding: gzip, deflate, br, zstd\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(unbrotli(&r.body), BR_MARKER.as_bytes());
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    let br_tag = r.header("etag").unwrap().to_owned();
    assert!(br_tag.ends_with("-br\""), "{br_tag}");
    // gzip preferred by weight: the .gz sibling.
    let r = s.get("/app.js", "Accept-Encoding: br;q=0.4, gzip;q=0.9\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    // The .gz fixture carries its marker in the gzip header's file name field.
    assert!(r
        .body
        .windows(GZ_MARKER_NAME.len())
        .any(|w| w == GZ_MARKER_NAME.as_bytes()));
    assert!(crate::harness::gunzip(&r.body) == app_js().as_bytes());
    assert_ne!(r.header("etag"), Some(br_tag.as_str()));
    // br refused: never br.
    let r = s.get("/app.js", "Accept-Encoding: br;q=0, gzip\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    // No Accept-Encoding: identity.
    let r = s.get("/app.js", "");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body_str(), app_js());
    // The br tag revalidates the br representation (RFC 9110 §8.8.3.3).
    let r = s.get(
        "/app.js",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {br_tag}\r\n"),
    );
    assert_eq!(r.status, 304);
}

fn curl_has_brotli() -> bool {
    let out = Command::new("curl").arg("-V").output();
    let has = out
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("brotli"))
        .unwrap_or(false);
    if !has {
        eprintln!(
            "SKIPPED: curl on PATH is built without brotli (see `curl -V`), so it cannot \
             act as the independent br decoder of this test"
        );
    }
    has
}

/// `curl --compressed` (which offers br and decodes it) until carbond answers with
/// br: the first answers may be gzip while the pool makes the br variant. Returns
/// the headers and the body curl decoded.
fn curl_until_br(s: &Server, path: &str) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut c = curl();
        c.args(["--compressed", "-H", "Accept-Encoding: br", "-D", "-", "-o"])
            .arg(&body)
            .arg(s.url(path));
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
        if headers.contains("content-encoding: br") {
            return (headers, std::fs::read(&body).unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "no br response within 20 s:\n{headers}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rfc7932_brotli_on_the_fly_decoded_by_curl() {
    if !curl_has_brotli() {
        return;
    }
    let s = Server::start("brotli = true\n");
    let (headers, body) = curl_until_br(&s, "/style.css");
    assert!(headers.contains("vary: accept-encoding"), "{headers}");
    assert!(headers.contains("-br\""), "{headers}");
    assert!(
        body == style_css().as_bytes(),
        "curl's decoded body differs"
    );
    // Each worker makes its own in-memory variant, so the other worker may still
    // answer identity at first.
    let r = raw_until_br(&s, "/style.css");
    assert!(r.body.len() < style_css().len() / 4, "{}", r.body.len());
    assert!(unbrotli(&r.body) == style_css().as_bytes());
}

/// A raw `GET` offering only br until carbond answers with br (bounded).
fn raw_until_br(s: &Server, path: &str) -> crate::harness::Response {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.get(path, "Accept-Encoding: br\r\n");
        assert_eq!(r.status, 200);
        if r.header("content-encoding") == Some("br") {
            return r;
        }
        assert!(Instant::now() < deadline, "no br response within 20 s");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn brotli_switched_on_by_a_reload() {
    let s = Server::start("");
    let r = s.get("/style.css", "Accept-Encoding: br\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-encoding"),
        None,
        "brotli is off by default"
    );
    let conf = s.base().join("carbon.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{text}brotli = true\n")).unwrap();
    reload(&s, 2).unwrap();
    let r = raw_until_br(&s, "/style.css");
    assert!(unbrotli(&r.body) == style_css().as_bytes());
}
