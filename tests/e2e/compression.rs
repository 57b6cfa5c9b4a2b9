//! Compression off the event loop: large text files get a gzip variant made in the
//! pool (identity is served until it is ready), including files above
//! `file_cache_max_file`, streamed into a temporary file.

use std::time::{Duration, Instant};

use crate::harness::*;

fn text_of(len: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while s.len() < len {
        s.extend_from_slice(
            format!("{i:08} the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    s.truncate(len);
    s
}

/// Requests `path` with gzip until the variant is served (at most 300 tries over about
/// 30 s: a debug build on a loaded machine compresses slowly); every answer on the way
/// must be a correct identity or gzip body.
fn until_gzip(s: &Server, path: &str, data: &[u8]) -> Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..300 {
        let r = s.get(path, "Accept-Encoding: gzip\r\n");
        assert_eq!(r.status, 200);
        assert!(r.header_has_token("vary", "accept-encoding"));
        match r.header("content-encoding") {
            Some("gzip") => {
                assert_eq!(gunzip(&r.body), data, "{path}: gzip body");
                return r;
            }
            None => assert!(r.body == data, "{path}: identity body differs"),
            Some(other) => panic!("{path}: unexpected coding {other}"),
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{path}: no gzip variant within 30 s");
}

#[test]
fn rfc9110_12_5_3_multi_mib_text_is_compressed_in_the_background() {
    let s = Server::start("max_threads = 1");
    let data = text_of(2 * 1024 * 1024);
    std::fs::write(s.www().join("big.txt"), &data).unwrap();
    let r = until_gzip(&s, "/big.txt", &data);
    assert!(r.body.len() < data.len() / 3);
    // Identity stays available for clients that do not take gzip.
    assert_eq!(s.get("/big.txt", "").body, data);
}

#[test]
fn rfc9110_12_5_3_text_above_file_cache_max_file_is_compressed_too() {
    let s = Server::start("max_threads = 1\nfile_cache_max_file = 1m\ngzip_max_file = 64m");
    // Above file_cache_max_file: streamed into a temporary file.
    let data = text_of(3 * 1024 * 1024);
    std::fs::write(s.www().join("huge.txt"), &data).unwrap();
    let r = until_gzip(&s, "/huge.txt", &data);
    assert!(r.body.len() < data.len() / 3);
    let etag = r.header("etag").unwrap().to_string();
    assert!(etag.ends_with("-gz\""), "{etag}");
    let again = s.get(
        "/huge.txt",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(again.status, 304);
}

#[test]
fn text_above_gzip_max_file_is_sent_as_is() {
    let s = Server::start("max_threads = 1\nfile_cache_max_file = 1m\ngzip_max_file = 2m");
    let data = text_of(3 * 1024 * 1024);
    std::fs::write(s.www().join("huge.txt"), &data).unwrap();
    for _ in 0..5 {
        let r = s.get("/huge.txt", "Accept-Encoding: gzip\r\n");
        assert_eq!(r.header("content-encoding"), None);
        assert!(r.body == data);
        std::thread::sleep(Duration::from_millis(100));
    }
}
