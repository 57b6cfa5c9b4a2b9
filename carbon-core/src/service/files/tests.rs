//! Whole-service tests: a temporary document root, requests in, responses checked.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::*;
use http::{HeaderValue, Method, StatusCode};
use tempfile::TempDir;

use super::*;

const CSS: &str = "body { color: red; }\n";

fn options(root: &Path) -> FileOptions {
    FileOptions {
        root: root.to_path_buf(),
        index_file: "index.html".into(),
        serve_dotfiles: false,
        gzip: true,
        gzip_min_length: 64,
        cache_size: 1 << 20,
        cache_max_file: 1 << 16,
        gzip_max_file: 1 << 20,
        error_page_404: None,
        security_headers: vec![(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"))],
        cache_control: Vec::new(),
        header_remove: Vec::new(),
        header_set: Vec::new(),
        header_add: Vec::new(),
        spa_fallback: None,
        spa_fallback_exclude: Vec::new(),
        brotli_static: true,
        brotli: false,
    }
}

fn ctx() -> RequestContext<'static> {
    RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    }
}

/// A root with a few typical files; mtimes fixed so validators are predictable.
fn site() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "index.html", b"<h1>home</h1>");
    write(root, "style.css", CSS.repeat(20).as_bytes());
    write(root, "small.css", b"a{}");
    write(root, "image.png", &[0x89; 500]);
    write(root, "ten.txt", b"0123456789");
    std::fs::create_dir(root.join("docs")).unwrap();
    write(root, "docs/index.html", b"<h1>docs</h1>");
    std::fs::create_dir(root.join("empty")).unwrap();
    write(root, ".env", b"SECRET=1");
    std::fs::create_dir_all(root.join(".well-known/acme-challenge")).unwrap();
    write(root, ".well-known/acme-challenge/tok", b"tok");
    write(root, "%2e%2e", b"literal");
    dir
}

fn write(root: &Path, name: &str, data: &[u8]) {
    let path = root.join(name);
    std::fs::write(&path, data).unwrap();
    set_mtime(&path, 1_700_000_000);
}

fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn service(dir: &TempDir) -> FileService {
    FileService::new(options(dir.path())).unwrap()
}

fn request(method: Method, uri: &str, fields: &[(HeaderName, &str)]) -> Request {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (name, value) in fields {
        b = b.header(name, *value);
    }
    b.body(Bytes::new()).unwrap()
}

fn get(svc: &mut FileService, uri: &str, fields: &[(HeaderName, &str)]) -> Response {
    svc.call(&request(Method::GET, uri, fields), &ctx())
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

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = libflate::gzip::Encoder::new(Vec::new())?;
    std::io::Write::write_all(&mut enc, data)?;
    enc.finish().into_result()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    libflate::gzip::Decoder::new(data)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn header<'a>(resp: &'a Response, name: &HeaderName) -> &'a str {
    resp.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

// ---- Path safety -------------------------------------------------------------

#[test]
fn rfc3986_5_2_4_traversal_spellings_are_refused() {
    let dir = site();
    let mut svc = service(&dir);
    for uri in [
        "/../etc/passwd",
        "/%2e%2e/",
        "/%2e%2e/etc/passwd",
        "/%2E%2E%2F",
        "/%2E%2E%2Fetc%2Fpasswd",
        "/..%2f",
        "/..%2fetc%2fpasswd",
        "/docs/../../etc/passwd",
        "/%00",
        "/index.html%00.png",
        "/%5c..%5cetc",
        "/%zz",
    ] {
        let resp = get(&mut svc, uri, &[]);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY", "{uri}");
    }
}

#[test]
fn rfc3986_2_4_double_encoding_is_decoded_once() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/%252e%252e", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"literal");
}

#[test]
fn symlink_escaping_root_is_404_inside_is_served() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", b"secret");
    let dir = site();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("leakdir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("ten.txt"), dir.path().join("alias.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path().join(".env"), dir.path().join("env.txt")).unwrap();
    let mut svc = service(&dir);
    assert_eq!(
        get(&mut svc, "/leak.txt", &[]).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&mut svc, "/leakdir/secret.txt", &[]).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&mut svc, "/env.txt", &[]).status(),
        StatusCode::NOT_FOUND,
        "symlink to dotfile"
    );
    let resp = get(&mut svc, "/alias.txt", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"0123456789");
}

#[test]
fn dotfiles_hidden_by_default_well_known_served() {
    let dir = site();
    let mut svc = service(&dir);
    assert_eq!(get(&mut svc, "/.env", &[]).status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&mut svc, "/%2eenv", &[]).status(),
        StatusCode::NOT_FOUND
    );
    let resp = get(&mut svc, "/.well-known/acme-challenge/tok", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"tok");

    let mut opts = options(dir.path());
    opts.serve_dotfiles = true;
    let mut svc = FileService::new(opts).unwrap();
    assert_eq!(get(&mut svc, "/.env", &[]).status(), StatusCode::OK);
}

#[test]
fn query_string_is_ignored_for_lookup() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/ten.txt?v=3&x=..%2f", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"0123456789");
}

#[test]
fn fifo_and_missing_files_are_404() {
    let dir = site();
    nix::unistd::mkfifo(&dir.path().join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut svc = service(&dir);
    assert_eq!(get(&mut svc, "/pipe", &[]).status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&mut svc, "/missing", &[]).status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&mut svc, "/ten.txt/x", &[]).status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn non_utf8_file_names_are_served() {
    let dir = site();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(dir.path().join(name), b"bytes").unwrap();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/caf%E9.txt", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"bytes");
}

#[test]
fn new_rejects_missing_or_non_directory_root() {
    let dir = site();
    assert!(FileService::new(options(&dir.path().join("nope"))).is_err());
    assert!(FileService::new(options(&dir.path().join("ten.txt"))).is_err());
}

// ---- Directories ---------------------------------------------------------------

#[test]
fn rfc9110_15_4_2_directory_without_slash_redirects() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/docs?lang=en", &[]);
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&resp, &LOCATION), "/docs/?lang=en");
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
    std::fs::create_dir(dir.path().join("a b")).unwrap();
    let resp = get(&mut svc, "/a%20b", &[]);
    assert_eq!(header(&resp, &LOCATION), "/a%20b/");
}

#[test]
fn directory_with_slash_serves_index_or_404() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/docs/", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"<h1>docs</h1>");
    assert_eq!(header(&resp, &CONTENT_TYPE), "text/html; charset=utf-8");
    let resp = get(&mut svc, "/", &[]);
    assert_eq!(body(&resp), b"<h1>home</h1>");
    assert_eq!(
        get(&mut svc, "/empty/", &[]).status(),
        StatusCode::NOT_FOUND
    );
}

// ---- Methods -------------------------------------------------------------------

#[test]
fn rfc9110_9_3_7_options_lists_allowed_methods() {
    let dir = site();
    let mut svc = service(&dir);
    for uri in [
        "*",
        "/",
        "/ten.txt",
        "/docs",
        "/docs/",
        "/empty/",
        "/docs/../ten.txt",
    ] {
        let resp = svc.call(&request(Method::OPTIONS, uri, &[]), &ctx());
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{uri}");
        assert_eq!(header(&resp, &ALLOW), "GET, HEAD, OPTIONS");
        assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY", "{uri}");
        assert!(resp.body().is_empty());
    }
}

#[test]
fn rfc9110_9_3_7_options_on_missing_resource_is_404() {
    let dir = site();
    let mut svc = service(&dir);
    for (uri, status) in [
        ("/missing", StatusCode::NOT_FOUND),
        ("/docs/missing.html", StatusCode::NOT_FOUND),
        ("/ten.txt/", StatusCode::NOT_FOUND),
        ("/.env", StatusCode::NOT_FOUND),
        ("/%zz", StatusCode::BAD_REQUEST),
        ("/../etc/passwd", StatusCode::BAD_REQUEST),
    ] {
        let resp = svc.call(&request(Method::OPTIONS, uri, &[]), &ctx());
        assert_eq!(resp.status(), status, "{uri}");
        assert!(!resp.headers().contains_key(ALLOW), "{uri}");
        assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY", "{uri}");
    }
    // Other methods are refused for every path, existing or not.
    let resp = svc.call(&request(Method::POST, "/missing", &[]), &ctx());
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&resp, &ALLOW), "GET, HEAD, OPTIONS");
}

#[test]
fn rfc9110_15_5_6_other_methods_are_405_with_allow() {
    let dir = site();
    let mut svc = service(&dir);
    for method in ["POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE", "BREW"] {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let req = request(m, "/ten.txt", &[(COOKIE, "session=topsecret")]);
        let resp = svc.call(&req, &ctx());
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(header(&resp, &ALLOW), "GET, HEAD, OPTIONS");
        assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
        // TRACE must never reflect the request (cross-site tracing).
        assert!(!String::from_utf8_lossy(&body(&resp)).contains("topsecret"));
    }
}

#[test]
fn rfc9110_9_3_2_head_has_length_and_no_body() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = svc.call(&request(Method::HEAD, "/ten.txt", &[]), &ctx());
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, &CONTENT_LENGTH), "10");
    assert!(matches!(resp.body(), Body::Empty));
    let get_resp = get(&mut svc, "/ten.txt", &[]);
    for name in [CONTENT_TYPE, ETAG, LAST_MODIFIED, ACCEPT_RANGES] {
        assert_eq!(header(&resp, &name), header(&get_resp, &name), "{name}");
    }
    // HEAD of the gzip variant states the compressed length.
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let gz = get(&mut svc, "/style.css", &fields);
    let head = svc.call(&request(Method::HEAD, "/style.css", &fields), &ctx());
    assert_eq!(header(&head, &CONTENT_ENCODING), "gzip");
    assert_eq!(header(&head, &CONTENT_LENGTH), body(&gz).len().to_string());
    assert!(matches!(head.body(), Body::Empty));
}

#[test]
fn rfc9110_9_3_2_head_with_range_gets_the_headers_get_would() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = svc.call(
        &request(Method::HEAD, "/ten.txt", &[(RANGE, "bytes=0-1")]),
        &ctx(),
    );
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&resp, &CONTENT_LENGTH), "2");
    assert_eq!(header(&resp, &CONTENT_RANGE), "bytes 0-1/10");
    assert!(matches!(resp.body(), Body::Empty));
}

// ---- Representation metadata ---------------------------------------------------

#[test]
fn rfc9110_8_3_content_type_and_file_headers() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/style.css", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, &CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(header(&resp, &ACCEPT_RANGES), "bytes");
    assert_eq!(
        header(&resp, &LAST_MODIFIED),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert!(header(&resp, &ETAG).starts_with('"'));
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
    // Left to the engine and driver.
    for name in [DATE, SERVER, CONNECTION, CONTENT_LENGTH] {
        assert!(!resp.headers().contains_key(&name), "{name}");
    }
    let resp = get(&mut svc, "/image.png", &[]);
    assert_eq!(header(&resp, &CONTENT_TYPE), "image/png");
    assert!(
        !resp.headers().contains_key(VARY),
        "png is not compressible"
    );
    std::fs::write(dir.path().join("blob"), b"x").unwrap();
    let resp = get(&mut svc, "/blob", &[]);
    assert_eq!(header(&resp, &CONTENT_TYPE), "application/octet-stream");
}

#[test]
fn small_identity_bodies_come_from_memory_large_ones_are_file_regions() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/ten.txt", &[]);
    let Body::Bytes(bytes) = resp.body() else {
        panic!("expected the small file from memory");
    };
    assert_eq!(bytes.len(), 10);
    assert_eq!(
        &bytes[..],
        &std::fs::read(dir.path().join("ten.txt")).unwrap()[..]
    );

    let big = vec![7u8; 64 * 1024 + 1];
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    let resp = get(&mut svc, "/big.bin", &[]);
    let Body::File(region) = resp.body() else {
        panic!("expected a file region for a file over 64 KiB");
    };
    assert_eq!((region.offset, region.len), (0, big.len() as u64));
}

// ---- Conditional requests -------------------------------------------------------

#[test]
fn rfc9110_13_1_2_if_none_match_gives_304() {
    let dir = site();
    let mut svc = service(&dir);
    let first = get(&mut svc, "/style.css", &[]);
    let etag = header(&first, &ETAG).to_owned();
    let resp = get(&mut svc, "/style.css", &[(IF_NONE_MATCH, &etag)]);
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&resp, &ETAG), etag);
    assert_eq!(
        header(&resp, &LAST_MODIFIED),
        header(&first, &LAST_MODIFIED)
    );
    assert_eq!(header(&resp, &VARY), "Accept-Encoding");
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
    assert!(resp.body().is_empty());
    let weak = format!("W/{etag}");
    let resp = get(&mut svc, "/style.css", &[(IF_NONE_MATCH, &weak)]);
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let head = svc.call(
        &request(Method::HEAD, "/style.css", &[(IF_NONE_MATCH, "*")]),
        &ctx(),
    );
    assert_eq!(head.status(), StatusCode::NOT_MODIFIED);
    let resp = get(&mut svc, "/style.css", &[(IF_NONE_MATCH, "\"other\"")]);
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn rfc9110_13_1_3_if_modified_since_gives_304() {
    let dir = site();
    let mut svc = service(&dir);
    let same = "Tue, 14 Nov 2023 22:13:20 GMT";
    let earlier = "Tue, 14 Nov 2023 22:13:19 GMT";
    assert_eq!(
        get(&mut svc, "/ten.txt", &[(IF_MODIFIED_SINCE, same)]).status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        get(&mut svc, "/ten.txt", &[(IF_MODIFIED_SINCE, earlier)]).status(),
        StatusCode::OK
    );
    // Ignored when If-None-Match is present (§13.1.3).
    let fields = [(IF_MODIFIED_SINCE, same), (IF_NONE_MATCH, "\"x\"")];
    assert_eq!(get(&mut svc, "/ten.txt", &fields).status(), StatusCode::OK);
}

#[test]
fn rfc9110_13_1_1_if_match_failure_is_412() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/ten.txt", &[(IF_MATCH, "\"stale\"")]);
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
    let etag = header(&get(&mut svc, "/ten.txt", &[]), &ETAG).to_owned();
    assert_eq!(
        get(&mut svc, "/ten.txt", &[(IF_MATCH, &etag)]).status(),
        StatusCode::OK
    );
}

#[test]
fn rfc9110_13_1_4_if_unmodified_since_failure_is_412() {
    let dir = site();
    let mut svc = service(&dir);
    let earlier = "Tue, 14 Nov 2023 22:13:19 GMT";
    let same = "Tue, 14 Nov 2023 22:13:20 GMT";
    assert_eq!(
        get(&mut svc, "/ten.txt", &[(IF_UNMODIFIED_SINCE, earlier)]).status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        get(&mut svc, "/ten.txt", &[(IF_UNMODIFIED_SINCE, same)]).status(),
        StatusCode::OK
    );
}

// ---- Ranges ----------------------------------------------------------------------

#[test]
fn rfc9110_14_1_2_single_ranges_give_206() {
    let dir = site();
    let mut svc = service(&dir);
    for (range, content_range, bytes) in [
        ("bytes=2-5", "bytes 2-5/10", &b"2345"[..]),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=8-100", "bytes 8-9/10", b"89"),
    ] {
        let resp = get(&mut svc, "/ten.txt", &[(RANGE, range)]);
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&resp, &CONTENT_RANGE), content_range);
        assert_eq!(body(&resp), bytes);
        assert_eq!(header(&resp, &CONTENT_TYPE), "text/plain; charset=utf-8");
    }
}

#[test]
fn rfc9110_15_5_17_unsatisfiable_range_is_416() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/ten.txt", &[(RANGE, "bytes=10-")]);
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&resp, &CONTENT_RANGE), "bytes */10");
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
}

#[test]
fn rfc9110_14_2_multiple_or_malformed_ranges_give_200() {
    let dir = site();
    let mut svc = service(&dir);
    for range in ["bytes=0-1,3-4", "bytes=5-2", "bytes=x", "lines=1-2"] {
        let resp = get(&mut svc, "/ten.txt", &[(RANGE, range)]);
        assert_eq!(resp.status(), StatusCode::OK, "{range}");
        assert_eq!(body(&resp), b"0123456789");
    }
}

#[test]
fn rfc9110_13_1_5_if_range_match_and_mismatch() {
    let dir = site();
    let mut svc = service(&dir);
    let etag = header(&get(&mut svc, "/ten.txt", &[]), &ETAG).to_owned();
    let resp = get(
        &mut svc,
        "/ten.txt",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, &etag)],
    );
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let resp = get(
        &mut svc,
        "/ten.txt",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, "\"old\"")],
    );
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp).len(), 10);
    let date = "Tue, 14 Nov 2023 22:13:20 GMT";
    let resp = get(
        &mut svc,
        "/ten.txt",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, date)],
    );
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let older = "Tue, 14 Nov 2023 22:13:19 GMT";
    let resp = get(
        &mut svc,
        "/ten.txt",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, older)],
    );
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn rfc9110_14_1_1_range_is_served_from_identity() {
    let dir = site();
    let mut svc = service(&dir);
    let fields = [(RANGE, "bytes=0-3"), (ACCEPT_ENCODING, "gzip")];
    let resp = get(&mut svc, "/style.css", &fields);
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert!(!resp.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(body(&resp), b"body");
}

// ---- Content coding ----------------------------------------------------------------

#[test]
fn rfc9110_12_5_3_gzip_negotiation() {
    let dir = site();
    let mut svc = service(&dir);
    let plain = get(&mut svc, "/style.css", &[]);
    let resp = get(
        &mut svc,
        "/style.css",
        &[(ACCEPT_ENCODING, "br, gzip;q=0.8, *;q=0.1")],
    );
    assert_eq!(header(&resp, &CONTENT_ENCODING), "gzip");
    assert_eq!(header(&resp, &VARY), "Accept-Encoding");
    assert_eq!(header(&resp, &CONTENT_TYPE), "text/css; charset=utf-8");
    assert!(matches!(resp.body(), Body::Bytes(_)));
    assert_eq!(gunzip(&body(&resp)), CSS.repeat(20).as_bytes());
    // §8.8.3.3: the variant has its own strong entity-tag.
    assert_ne!(header(&resp, &ETAG), header(&plain, &ETAG));

    for refused in [
        "gzip;q=0",
        "identity",
        "br",
        "*;q=0",
        "gzip;q=0.5, identity;q=1",
    ] {
        let resp = get(&mut svc, "/style.css", &[(ACCEPT_ENCODING, refused)]);
        assert!(!resp.headers().contains_key(CONTENT_ENCODING), "{refused}");
        assert_eq!(header(&resp, &VARY), "Accept-Encoding", "{refused}");
        assert_eq!(body(&resp), CSS.repeat(20).as_bytes());
    }
    assert!(!plain.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(header(&plain, &VARY), "Accept-Encoding");
}

#[test]
fn rfc9110_12_5_5_small_or_packed_files_stay_identity() {
    let dir = site();
    let mut svc = service(&dir);
    let small = get(&mut svc, "/small.css", &[(ACCEPT_ENCODING, "gzip")]);
    assert!(!small.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(header(&small, &VARY), "Accept-Encoding");
    let png = get(&mut svc, "/image.png", &[(ACCEPT_ENCODING, "gzip")]);
    assert!(!png.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(svc.cache.stats.compressions, 0);
}

#[test]
fn rfc9110_13_1_2_gzip_variant_revalidates_with_its_own_etag() {
    let dir = site();
    let mut svc = service(&dir);
    let gz_fields = [(ACCEPT_ENCODING, "gzip")];
    let gz_etag = header(&get(&mut svc, "/style.css", &gz_fields), &ETAG).to_owned();
    let resp = get(
        &mut svc,
        "/style.css",
        &[(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, &gz_etag)],
    );
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&resp, &VARY), "Accept-Encoding");
    // The identity representation does not match the gzip tag.
    let resp = get(&mut svc, "/style.css", &[(IF_NONE_MATCH, &gz_etag)]);
    assert_eq!(resp.status(), StatusCode::OK);
}

#[test]
fn gzip_variant_is_compressed_once_and_reused() {
    let dir = site();
    let mut svc = service(&dir);
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let a = get(&mut svc, "/style.css", &fields);
    let b = get(&mut svc, "/style.css", &fields);
    let (Body::Bytes(a), Body::Bytes(b)) = (a.body(), b.body()) else {
        panic!("gzip bodies are bytes");
    };
    assert_eq!(a.as_ptr(), b.as_ptr());
    assert_eq!(svc.cache.stats.compressions, 1);
}

#[test]
fn precompressed_sibling_is_served_without_compressing() {
    let dir = site();
    let packed = gzip(b"precompressed!").unwrap();
    std::fs::write(dir.path().join("app.js"), "x".repeat(500)).unwrap();
    set_mtime(&dir.path().join("app.js"), 1_700_000_000);
    std::fs::write(dir.path().join("app.js.gz"), &packed).unwrap();
    set_mtime(&dir.path().join("app.js.gz"), 1_700_000_001);
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/app.js", &[(ACCEPT_ENCODING, "gzip")]);
    assert_eq!(header(&resp, &CONTENT_ENCODING), "gzip");
    assert_eq!(
        header(&resp, &CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(matches!(resp.body(), Body::File(_)));
    assert_eq!(gunzip(&body(&resp)), b"precompressed!");
    assert_eq!(svc.cache.stats.compressions, 0);
    let plain = get(&mut svc, "/app.js", &[]);
    assert_eq!(body(&plain), "x".repeat(500).as_bytes());
}

#[test]
fn stale_precompressed_sibling_is_ignored() {
    let dir = site();
    std::fs::write(dir.path().join("app.js"), "y".repeat(500)).unwrap();
    set_mtime(&dir.path().join("app.js"), 1_700_000_010);
    std::fs::write(dir.path().join("app.js.gz"), gzip(b"old").unwrap()).unwrap();
    set_mtime(&dir.path().join("app.js.gz"), 1_700_000_000);
    let mut svc = service(&dir);
    let resp = get(&mut svc, "/app.js", &[(ACCEPT_ENCODING, "gzip")]);
    assert_eq!(gunzip(&body(&resp)), "y".repeat(500).as_bytes());
    assert_eq!(svc.cache.stats.compressions, 1);
}

#[test]
fn files_above_cache_max_file_are_served_identity_uncached() {
    let dir = site();
    let mut opts = options(dir.path());
    opts.cache_max_file = 100;
    let mut svc = FileService::new(opts).unwrap();
    let resp = get(&mut svc, "/style.css", &[(ACCEPT_ENCODING, "gzip")]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!resp.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(body(&resp).len(), CSS.len() * 20);
    assert_eq!(svc.cache.len(), 0);
    assert_eq!(svc.cache.stats.compressions, 0);
}

// ---- Cache -------------------------------------------------------------------------

#[test]
fn modified_file_is_seen_after_revalidation() {
    let dir = site();
    let mut svc = service(&dir);
    let t0 = ctx();
    let first = svc.call(&request(Method::GET, "/ten.txt", &[]), &t0);
    std::fs::write(dir.path().join("ten.txt"), b"changed!").unwrap();
    // Within the revalidation interval the cached entry may still answer.
    let within = RequestContext {
        now: t0.now + Duration::from_millis(500),
        ..t0
    };
    let cached = svc.call(&request(Method::GET, "/ten.txt", &[]), &within);
    assert_eq!(header(&cached, &ETAG), header(&first, &ETAG));
    let later = RequestContext {
        now: t0.now + Duration::from_millis(1100),
        ..t0
    };
    let fresh = svc.call(&request(Method::GET, "/ten.txt", &[]), &later);
    assert_ne!(header(&fresh, &ETAG), header(&first, &ETAG));
    assert_eq!(body(&fresh), b"changed!");
}

#[test]
fn replaced_file_is_seen_after_revalidation() {
    let dir = site();
    let mut svc = service(&dir);
    let t0 = ctx();
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let first = svc.call(&request(Method::GET, "/style.css", &fields), &t0);
    let tmp = dir.path().join("style.css.new");
    std::fs::write(&tmp, "p { margin: 0 }\n".repeat(20)).unwrap();
    std::fs::rename(&tmp, dir.path().join("style.css")).unwrap();
    let later = RequestContext {
        now: t0.now + Duration::from_secs(2),
        ..t0
    };
    let resp = svc.call(&request(Method::GET, "/style.css", &fields), &later);
    assert_ne!(header(&resp, &ETAG), header(&first, &ETAG));
    assert_eq!(
        gunzip(&body(&resp)),
        "p { margin: 0 }\n".repeat(20).as_bytes()
    );
    assert_eq!(svc.cache.stats.compressions, 2);
}

#[test]
fn deleted_file_is_404_after_revalidation() {
    let dir = site();
    let mut svc = service(&dir);
    let t0 = ctx();
    assert_eq!(
        svc.call(&request(Method::GET, "/ten.txt", &[]), &t0)
            .status(),
        StatusCode::OK
    );
    std::fs::remove_file(dir.path().join("ten.txt")).unwrap();
    let later = RequestContext {
        now: t0.now + Duration::from_secs(2),
        ..t0
    };
    let resp = svc.call(&request(Method::GET, "/ten.txt", &[]), &later);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(svc.cache.len(), 0);
}

#[test]
fn cache_stays_within_its_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 8 * 1024;
    for i in 0..60 {
        let text = format!("line {i} of some repetitive css text\n").repeat(40);
        write(dir.path(), &format!("f{i}.css"), text.as_bytes());
    }
    let mut opts = options(dir.path());
    opts.cache_size = budget;
    let mut svc = FileService::new(opts).unwrap();
    for i in 0..60 {
        let resp = get(
            &mut svc,
            &format!("/f{i}.css"),
            &[(ACCEPT_ENCODING, "gzip")],
        );
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            svc.cache.used() <= budget,
            "used {} after f{i}",
            svc.cache.used()
        );
        assert_eq!(svc.cache.used(), svc.cache.recount());
    }
    assert!(svc.cache.stats.evictions > 0);
    assert!(svc.cache.len() < 60);
}

// ---- Errors ------------------------------------------------------------------------

#[test]
fn custom_404_page_relative_to_root() {
    let dir = site();
    write(dir.path(), "404.html", b"<h1>lost</h1>");
    let mut opts = options(dir.path());
    opts.error_page_404 = Some(PathBuf::from("404.html"));
    let mut svc = FileService::new(opts).unwrap();
    let resp = get(&mut svc, "/nope", &[]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(&resp), b"<h1>lost</h1>");
    assert_eq!(header(&resp, &CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
    // Other statuses keep the default body.
    let resp = get(&mut svc, "/%zz", &[]);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body(&resp)).starts_with("400"));
}

#[test]
fn custom_404_page_absolute_and_missing() {
    let dir = site();
    let pages = tempfile::tempdir().unwrap();
    write(pages.path(), "missing.txt", b"gone");
    let mut opts = options(dir.path());
    opts.error_page_404 = Some(pages.path().join("missing.txt"));
    let mut svc = FileService::new(opts).unwrap();
    let resp = svc.error(StatusCode::NOT_FOUND, &ctx());
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(&resp), b"gone");

    let mut opts = options(dir.path());
    opts.error_page_404 = Some(PathBuf::from("no-such-page.html"));
    let mut svc = FileService::new(opts).unwrap();
    let resp = get(&mut svc, "/nope", &[]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body(&resp)).starts_with("404"));
}

#[test]
fn error_responses_carry_security_headers() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = svc.error(StatusCode::TOO_MANY_REQUESTS, &ctx());
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, &X_FRAME_OPTIONS), "DENY");
}

// ---- Probe findings ------------------------------------------------------------------

#[test]
fn same_second_rewrite_serves_new_bytes_though_the_etag_is_unchanged() {
    // ETags are `"<mtime secs>-<size>"` (as nginx's) so that copies agree across hosts
    // (issue: ETags must not depend on the inode). The known price is that a rewrite
    // in place within the same second keeping the length keeps the tag; the body
    // served must still be the new one, because the cache compares the full identity.
    let dir = site();
    let path = dir.path().join("same.txt");
    let second = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    std::fs::write(&path, b"first").unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(second + Duration::from_millis(100)).unwrap();
    let mut svc = service(&dir);
    let t0 = ctx();
    let first = svc.call(&request(Method::GET, "/same.txt", &[]), &t0);
    assert_eq!(header(&first, &ETAG), "\"6553f100-5\"");

    // Same inode, same length, same second: only the nanoseconds differ.
    std::fs::write(&path, b"other").unwrap();
    f.set_modified(second + Duration::from_millis(600)).unwrap();
    let later = RequestContext {
        now: t0.now + Duration::from_secs(2),
        ..t0
    };
    let fresh = svc.call(&request(Method::GET, "/same.txt", &[]), &later);
    assert_eq!(body(&fresh), b"other");
    assert_eq!(header(&fresh, &ETAG), header(&first, &ETAG));
}

#[test]
fn rfc9110_8_8_2_2_if_range_date_of_just_modified_file_is_weak() {
    let dir = site();
    let t0 = ctx();
    let path = dir.path().join("fresh.txt");
    std::fs::write(&path, b"0123456789").unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(t0.wall - Duration::from_millis(300))
        .unwrap();
    let mut svc = service(&dir);
    let lm = header(
        &svc.call(&request(Method::GET, "/fresh.txt", &[]), &t0),
        &LAST_MODIFIED,
    )
    .to_owned();
    let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, lm.as_str())];
    // Within a second of the response's Date the date may hide a second change.
    let resp = svc.call(&request(Method::GET, "/fresh.txt", &fields), &t0);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"0123456789");
    // Once the file is a second older than Date, the same date is strong.
    let later = RequestContext {
        wall: t0.wall + Duration::from_secs(2),
        ..t0
    };
    let resp = svc.call(&request(Method::GET, "/fresh.txt", &fields), &later);
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(&resp), b"01");
}

#[test]
fn rfc9110_13_1_5_if_range_with_weak_etag_gives_200() {
    let dir = site();
    let mut svc = service(&dir);
    let etag = header(&get(&mut svc, "/ten.txt", &[]), &ETAG).to_owned();
    let weak = format!("W/{etag}");
    let resp = get(
        &mut svc,
        "/ten.txt",
        &[(RANGE, "bytes=0-1"), (IF_RANGE, &weak)],
    );
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"0123456789");
}

#[test]
fn rfc9110_14_1_1_suffix_range_on_empty_file_is_200() {
    let dir = site();
    write(dir.path(), "empty.txt", b"");
    let mut svc = service(&dir);
    for range in ["bytes=-1", "bytes=-500"] {
        let resp = get(&mut svc, "/empty.txt", &[(RANGE, range)]);
        assert_eq!(resp.status(), StatusCode::OK, "{range}");
        assert!(resp.body().is_empty(), "{range}");
        assert!(!resp.headers().contains_key(CONTENT_RANGE), "{range}");
    }
    for range in ["bytes=0-0", "bytes=0-", "bytes=-0"] {
        let resp = get(&mut svc, "/empty.txt", &[(RANGE, range)]);
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&resp, &CONTENT_RANGE), "bytes */0", "{range}");
    }
}

#[test]
fn rfc3986_5_2_4_dot_segments_inside_the_root_resolve() {
    let dir = site();
    let mut svc = service(&dir);
    for uri in [
        "/docs/../ten.txt",
        "/docs/%2e%2e/ten.txt",
        "/docs/.%2E/ten.txt",
        "/docs/..%2Ften.txt",
        "/docs/./../empty/../ten.txt",
    ] {
        let resp = get(&mut svc, uri, &[]);
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(body(&resp), b"0123456789", "{uri}");
    }
    // A trailing `..` names the directory above, with its slash: its index.
    for uri in ["/docs/..", "/docs/%2e%2e", "/docs/../"] {
        let resp = get(&mut svc, uri, &[]);
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(body(&resp), b"<h1>home</h1>", "{uri}");
    }
    // Removal is lexical and done before the hidden-name rule.
    assert_eq!(
        get(&mut svc, "/docs/../.env", &[]).status(),
        StatusCode::NOT_FOUND
    );
    // Decoded once: `%252e%252e` stays the literal name `%2e%2e`.
    let resp = get(&mut svc, "/docs/../%252e%252e", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"literal");
}

#[test]
fn rfc3986_5_2_4_climbing_above_the_root_never_escapes() {
    // `base/www` is the root; `base/secret.txt` and `base/www-out/secret.txt` are
    // what a climb would reach.
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("www");
    std::fs::create_dir_all(root.join("sub/deep")).unwrap();
    std::fs::create_dir_all(base.path().join("www-out")).unwrap();
    std::fs::write(base.path().join("secret.txt"), b"OUTSIDE").unwrap();
    std::fs::write(base.path().join("www-out/secret.txt"), b"OUTSIDE").unwrap();
    std::fs::write(root.join("secret.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    let mut svc = FileService::new(options(&root)).unwrap();
    let climbs = [
        "..", "%2e%2e", "%2E%2E", "%2e%2E", ".%2e", ".%2E", "%2e.", "%2E.",
    ];
    let mut tried = 0;
    for up in climbs {
        for sep in ["/", "%2f", "%2F"] {
            for prefix in ["", "sub/", "sub/deep/", "sub/./deep/"] {
                let depth = prefix.matches('/').count() - prefix.matches("./").count();
                let ups = format!("{up}{sep}").repeat(depth + 1);
                for tail in ["secret.txt", "www-out/secret.txt", "www/secret.txt"] {
                    let uri = format!("/{prefix}{ups}{tail}");
                    let resp = get(&mut svc, &uri, &[]);
                    tried += 1;
                    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{uri}");
                    assert!(!body(&resp).starts_with(b"OUTSIDE"), "{uri}");
                }
            }
        }
    }
    assert_eq!(tried, climbs.len() * 3 * 4 * 3);
    // Dot segments are removed lexically: `sub/up/..` is `sub`, whatever `up` is.
    assert_eq!(
        get(&mut svc, "/sub/up/../secret.txt", &[]).status(),
        StatusCode::NOT_FOUND
    );
    // A symlink named `up` is not a dot segment: the kernel follows it, and the
    // containment check refuses whatever ends up above the root.
    let resp = get(&mut svc, "/sub/up/secret.txt", &[]);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(&resp), b"inside");
    let resp = get(&mut svc, "/sub/up/up/secret.txt", &[]);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!body(&resp).starts_with(b"OUTSIDE"));
}

#[test]
fn rfc9110_12_5_3_client_preferring_identity_gets_identity() {
    let dir = site();
    let mut svc = service(&dir);
    let resp = get(
        &mut svc,
        "/style.css",
        &[(ACCEPT_ENCODING, "gzip;q=0.5, identity;q=1")],
    );
    assert!(!resp.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(header(&resp, &VARY), "Accept-Encoding");
    assert_eq!(body(&resp), CSS.repeat(20).as_bytes());
    let resp = get(
        &mut svc,
        "/style.css",
        &[(ACCEPT_ENCODING, "gzip;q=0.5, identity;q=0.5")],
    );
    assert_eq!(header(&resp, &CONTENT_ENCODING), "gzip");
}

#[test]
fn rfc9110_8_6_file_rewritten_in_place_is_never_framed_with_its_old_length() {
    // Within the one-second revalidation window, a large file (served from its
    // descriptor) rewritten in place keeps its inode: its new length and validators
    // must still be what the response says.
    let dir = site();
    let mut opts = options(dir.path());
    opts.cache_max_file = 1 << 20;
    let mut svc = FileService::new(opts).unwrap();
    let path = dir.path().join("grow.bin");
    std::fs::write(&path, vec![b'a'; 200_000]).unwrap();
    let first = get(&mut svc, "/grow.bin", &[]);
    assert_eq!(body(&first).len(), 200_000);
    let old_etag = header(&first, &ETAG).to_owned();

    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"short now").unwrap();
    // A different mtime even on coarse-timestamp file systems.
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    let second = get(&mut svc, "/grow.bin", &[]);
    assert_eq!(body(&second), b"short now");
    assert_ne!(header(&second, &ETAG), old_etag);
}

// ---- Compression off the event loop ----------------------------------------------------

/// A compressible text of `len` bytes that does not fit the inline limit.
fn text_of(len: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(len);
    let mut i = 0u32;
    while s.len() < len {
        s.extend_from_slice(format!(".rule-{i} {{ margin: 0 auto; }}\n").as_bytes());
        i += 1;
    }
    s.truncate(len);
    s
}

#[test]
fn gzip_of_a_file_above_the_inline_limit_is_made_in_the_pool_identity_served_meanwhile() {
    let dir = site();
    let data = text_of(200_000);
    write(dir.path(), "big.css", &data);
    let mut opts = options(dir.path());
    opts.cache_max_file = 1 << 20;
    let mut svc = FileService::new(opts).unwrap();
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let first = get(&mut svc, "/big.css", &fields);
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        !first.headers().contains_key(CONTENT_ENCODING),
        "the worker compressed 200 kB itself instead of handing it to the pool"
    );
    assert_eq!(header(&first, &VARY), "Accept-Encoding");
    assert_eq!(body(&first), data);
    // A second request before the job is done neither waits nor queues it again.
    let _ = get(&mut svc, "/big.css", &fields);
    assert_eq!(svc.cache.stats.compressions, 1);
    svc.finish_compressions("big.css");
    let second = get(&mut svc, "/big.css", &fields);
    assert_eq!(header(&second, &CONTENT_ENCODING), "gzip");
    assert_eq!(gunzip(&body(&second)), data);
    assert!(header(&second, &ETAG).ends_with("-gz\""));
    assert_eq!(svc.cache.stats.compressions, 1);
    assert_eq!(svc.cache.used(), svc.cache.recount());
}

#[test]
fn files_above_cache_max_file_are_compressed_into_a_temporary_file() {
    let dir = site();
    let data = text_of(300_000);
    write(dir.path(), "huge.txt", &data);
    let mut opts = options(dir.path());
    opts.cache_max_file = 100_000;
    opts.gzip_max_file = 1 << 20;
    let mut svc = FileService::new(opts).unwrap();
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let first = get(&mut svc, "/huge.txt", &fields);
    assert!(!first.headers().contains_key(CONTENT_ENCODING));
    assert_eq!(body(&first), data);
    svc.finish_compressions("huge.txt");
    let second = get(&mut svc, "/huge.txt", &fields);
    assert_eq!(header(&second, &CONTENT_ENCODING), "gzip");
    assert!(matches!(second.body(), Body::File(_)), "sent from the file");
    let packed = body(&second);
    assert!(packed.len() < data.len() / 4);
    assert_eq!(gunzip(&packed), data);
    // HEAD states the compressed length; identity is still there for others.
    let head = svc.call(&request(Method::HEAD, "/huge.txt", &fields), &ctx());
    assert_eq!(
        header(&head, &CONTENT_LENGTH),
        packed.len().to_string().as_str()
    );
    assert_eq!(body(&get(&mut svc, "/huge.txt", &[])), data);
}

#[test]
fn files_above_gzip_max_file_are_never_compressed() {
    let dir = site();
    write(dir.path(), "huge.txt", &text_of(300_000));
    let mut opts = options(dir.path());
    opts.cache_max_file = 100_000;
    opts.gzip_max_file = 200_000;
    let mut svc = FileService::new(opts).unwrap();
    let fields = [(ACCEPT_ENCODING, "gzip")];
    let _ = get(&mut svc, "/huge.txt", &fields);
    svc.finish_compressions("huge.txt");
    let again = get(&mut svc, "/huge.txt", &fields);
    assert!(!again.headers().contains_key(CONTENT_ENCODING));
    let canonical = std::fs::canonicalize(dir.path().join("huge.txt")).unwrap();
    assert!(!compress::large_known(&canonical), "no job was queued");
}

// ---- Symlinked document root -----------------------------------------------------------

#[test]
fn switched_root_symlink_drops_the_old_roots_cache_after_the_revalidation_interval() {
    let dir = tempfile::tempdir().unwrap();
    for (release, text) in [("r1", "one"), ("r2", "two")] {
        std::fs::create_dir_all(dir.path().join(release)).unwrap();
        write(&dir.path().join(release), "page.txt", text.as_bytes());
    }
    let current = dir.path().join("current");
    std::os::unix::fs::symlink("r1", &current).unwrap();
    let mut svc = FileService::new(options(&current)).unwrap();
    let t0 = ctx();
    let at = |ms| RequestContext {
        now: t0.now + Duration::from_millis(ms),
        ..t0
    };
    let page = request(Method::GET, "/page.txt", &[]);
    assert_eq!(body(&svc.call(&page, &t0)), b"one");
    std::os::unix::fs::symlink("r2", dir.path().join("tmp")).unwrap();
    std::fs::rename(dir.path().join("tmp"), &current).unwrap();
    // Within the interval the cached file of the old root may still be served.
    assert_eq!(body(&svc.call(&page, &at(500))), b"one");
    // Once it has passed: the new root, even with the old one gone.
    std::fs::remove_dir_all(dir.path().join("r1")).unwrap();
    assert_eq!(body(&svc.call(&page, &at(1000))), b"two");
    assert_eq!(svc.cache.len(), 1);
}

// ---- Cached response fields (template.rs) ---------------------------------------

fn fields_in_order(resp: &Response) -> Vec<(String, String)> {
    resp.headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// The first answer builds its fields, the second builds the template, the third
/// clones it: all three carry the same fields in the same order, for identity and
/// for gzip, and a HEAD (never templated) still gets the GET's fields plus its
/// Content-Length. With the security headers and a `header_add` line, so the
/// configured fields are part of what is compared.
#[test]
fn cached_200_fields_are_the_freshly_built_ones_in_the_same_order() {
    let dir = site();
    let mut opts = options(dir.path());
    opts.header_add = vec![crate::config::HeaderLine {
        name: HeaderName::from_static("x-served-by"),
        value: HeaderValue::from_static("carbon-test"),
    }];
    let mut svc = FileService::new(opts).unwrap();
    for accept in [&[][..], &[(ACCEPT_ENCODING, "gzip")][..]] {
        let answers: Vec<_> = (0..3)
            .map(|_| fields_in_order(&get(&mut svc, "/style.css", accept)))
            .collect();
        assert_eq!(answers[0], answers[1], "{accept:?}");
        assert_eq!(answers[1], answers[2], "{accept:?}");
        assert!(answers[2].contains(&("x-frame-options".into(), "DENY".into())));
        assert!(answers[2].contains(&("x-served-by".into(), "carbon-test".into())));
        let gzip = answers[2].contains(&("content-encoding".into(), "gzip".into()));
        assert_eq!(gzip, !accept.is_empty());
        let head = svc.call(&request(Method::HEAD, "/style.css", accept), &ctx());
        let mut head = fields_in_order(&head);
        head.retain(|(n, _)| n != "content-length");
        assert_eq!(head, answers[2], "{accept:?}");
    }
}

/// A file replaced on disk gets a new cache entry, so its answers never carry the
/// old template's validators.
#[test]
fn cached_200_fields_follow_a_replaced_file() {
    let dir = site();
    let mut svc = service(&dir);
    let t0 = ctx();
    let a = svc.call(&request(Method::GET, "/ten.txt", &[]), &t0);
    let b = svc.call(&request(Method::GET, "/ten.txt", &[]), &t0);
    assert_eq!(header(&a, &ETAG), header(&b, &ETAG));
    write(dir.path(), "ten.txt", b"0123456789abcdef");
    let later = RequestContext {
        now: t0.now + Duration::from_secs(2),
        ..t0
    };
    for _ in 0..2 {
        let c = svc.call(&request(Method::GET, "/ten.txt", &[]), &later);
        assert_ne!(header(&c, &ETAG), header(&a, &ETAG));
        assert_eq!(body(&c), b"0123456789abcdef");
    }
}

/// `call_pre_encoded` hands a cached `200`'s template over aside, and the merged
/// fields are exactly those `call` puts in the map, over HTTP/1.1 and HTTP/2 alike;
/// `call` never keeps anything aside.
#[test]
fn pre_encoded_fields_equal_the_map_over_http1_and_http2() {
    let dir = site();
    let mut svc = service(&dir);
    let mut h2 = request(Method::GET, "/style.css", &[]);
    *h2.version_mut() = http::Version::HTTP_2;
    let h1 = request(Method::GET, "/style.css", &[]);
    for round in 0..3 {
        let expected = svc.call(&h1, &ctx());
        assert_eq!(expected.status(), StatusCode::OK);
        for req in [&h1, &h2] {
            let (mut got, pre) = svc.call_pre_encoded(req, &ctx());
            assert_eq!(got.status(), StatusCode::OK);
            // `call` above filled the cache: every answer here is a cached `200`.
            {
                let pre = pre.unwrap_or_else(|| panic!("round {round}: no template"));
                assert!(got.headers().is_empty(), "the map holds only later fields");
                assert!(std::str::from_utf8(pre.h1())
                    .unwrap()
                    .starts_with("Content-Type: text/css"));
                crate::service::merge_pre_encoded(&mut got, pre);
            }
            assert_eq!(got.headers(), expected.headers());
        }
    }
    // A response that is not a cached `200` keeps all its fields in its map.
    let (missing, pre) = svc.call_pre_encoded(&request(Method::GET, "/nope", &[]), &ctx());
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(pre.is_none());
}
