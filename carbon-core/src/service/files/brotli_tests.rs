//! Service tests of brotli (RFC 7932): `.br` siblings chosen by q-value against gzip,
//! and variants made on the fly in the pool (never on the worker), decoded by the
//! brotli crate's own decompressor.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::*;
use http::{Method, StatusCode};
use tempfile::TempDir;

use super::*;
use crate::config::Config;

fn write(root: &Path, name: &str, data: &[u8], mtime: u64) {
    let path = root.join(name);
    std::fs::write(&path, data).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
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

fn service(root: &Path, conf: &str) -> FileService {
    let text = format!(
        "www_path = {}\ngzip_min_length = 64\n{conf}",
        root.display()
    );
    FileService::new(FileOptions::from_config(&Config::from_text(&text).unwrap())).unwrap()
}

fn get(svc: &mut FileService, uri: &str, accept: &str) -> Response {
    let req = http::Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(ACCEPT_ENCODING, accept)
        .body(Bytes::new())
        .unwrap();
    let ctx = RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    };
    svc.call(&req, &ctx)
}

fn body(resp: &Response) -> Vec<u8> {
    match resp.body() {
        Body::Empty => Vec::new(),
        Body::Bytes(b) => b.to_vec(),
        Body::File(region) => {
            let mut buf = vec![0; region.len as usize];
            region.file.read_exact_at(&mut buf, region.offset).unwrap();
            buf
        }
    }
}

fn coding(resp: &Response) -> Option<&str> {
    resp.headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap())
}

/// app.js with both precompressed siblings, each holding a marker text so the test
/// sees which file was sent.
fn site_with_siblings() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app.js",
        "x".repeat(500).as_bytes(),
        1_700_000_000,
    );
    let gz = {
        let mut enc = libflate::gzip::Encoder::new(Vec::new()).unwrap();
        std::io::Write::write_all(&mut enc, b"from the .gz").unwrap();
        enc.finish().into_result().unwrap()
    };
    write(dir.path(), "app.js.gz", &gz, 1_700_000_001);
    write(
        dir.path(),
        "app.js.br",
        &brotli(b"from the .br"),
        1_700_000_001,
    );
    dir
}

#[test]
fn rfc9110_12_5_3_br_sibling_chosen_by_q_value_against_gzip() {
    let dir = site_with_siblings();
    let mut svc = service(dir.path(), "");
    let r = get(&mut svc, "/app.js", "gzip, deflate, br");
    assert_eq!(coding(&r), Some("br"));
    assert_eq!(unbrotli(&body(&r)), b"from the .br");
    assert_eq!(r.headers()[VARY], "Accept-Encoding");
    let br_tag = r.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(br_tag.ends_with("-br\""), "{br_tag}");
    // gzip weighted higher: the .gz sibling.
    let r = get(&mut svc, "/app.js", "br;q=0.5, gzip");
    assert_eq!(coding(&r), Some("gzip"));
    let gz_tag = r.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(gz_tag.ends_with("-gz\""), "{gz_tag}");
    assert_ne!(br_tag, gz_tag);
    // br refused, or not offered: never br.
    assert_eq!(
        coding(&get(&mut svc, "/app.js", "br;q=0, gzip")),
        Some("gzip")
    );
    assert_eq!(coding(&get(&mut svc, "/app.js", "identity")), None);
    // br only: the sibling, nothing compressed on the fly (brotli is off by default).
    assert_eq!(coding(&get(&mut svc, "/app.js", "br")), Some("br"));
    assert_eq!(svc.cache.stats.compressions, 0);
}

#[test]
fn br_sibling_can_be_switched_off_and_stale_ones_are_ignored() {
    let dir = site_with_siblings();
    let mut svc = service(dir.path(), "brotli_static = false\n");
    assert_eq!(coding(&get(&mut svc, "/app.js", "br, gzip")), Some("gzip"));
    // A .br older than its file is a stale build artefact.
    write(dir.path(), "app.js.br", &brotli(b"old"), 1_600_000_000);
    let mut svc = service(dir.path(), "");
    assert_eq!(coding(&get(&mut svc, "/app.js", "br, gzip")), Some("gzip"));
}

#[test]
fn rfc7932_brotli_on_the_fly_in_the_pool_never_on_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let small = b"body { color: red; }\n".repeat(100);
    let large: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!(".c{i} {{ margin: {}px }}\n", i % 7).into_bytes())
        .collect();
    write(dir.path(), "small.css", &small, 1_700_000_000);
    write(dir.path(), "large.css", &large, 1_700_000_000);
    let mut svc = service(dir.path(), "brotli = true\n");
    // Small: gzip is made on the spot, brotli never on the worker (its encoder's
    // set-up alone is too long a pause): the first response is gzip.
    let r = get(&mut svc, "/small.css", "gzip, br");
    assert_eq!(coding(&r), Some("gzip"));
    svc.finish_compressions("small.css");
    let r = get(&mut svc, "/small.css", "gzip, br");
    assert_eq!(coding(&r), Some("br"));
    assert_eq!(unbrotli(&body(&r)), small);
    assert!(r.headers()[ETAG].to_str().unwrap().ends_with("-br\""));
    // Large: made in the pool; a client that accepts only br gets identity meanwhile
    // (the worker never waits for the pool).
    let r = get(&mut svc, "/large.css", "br");
    assert_eq!(coding(&r), None);
    assert_eq!(r.headers()[VARY], "Accept-Encoding");
    svc.finish_compressions("large.css");
    let r = get(&mut svc, "/large.css", "gzip, br");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(coding(&r), Some("br"));
    assert_eq!(unbrotli(&body(&r)), large);
    // Cached: a further request compresses nothing more.
    let before = svc.cache.stats.compressions;
    let r = get(&mut svc, "/large.css", "br");
    assert_eq!(coding(&r), Some("br"));
    assert_eq!(svc.cache.stats.compressions, before);
    assert_eq!(svc.cache.used(), svc.cache.recount());
    // Off by default: without `brotli = true` nothing is made with br.
    let mut svc = service(dir.path(), "");
    assert_eq!(coding(&get(&mut svc, "/small.css", "br")), None);
}
