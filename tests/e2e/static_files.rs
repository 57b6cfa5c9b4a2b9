//! Serving files as seen by an independent client (ureq) and on raw sockets:
//! representation metadata (RFC 9110 section 8), redirects for directories, security
//! headers, the 1 MiB file through the sendfile path.

use std::io::Read;

use crate::harness::*;

fn body_bytes(resp: ureq::Response) -> Vec<u8> {
    let mut v = Vec::new();
    resp.into_reader()
        .take(4 * 1024 * 1024)
        .read_to_end(&mut v)
        .unwrap();
    v
}

#[test]
fn get_root_serves_index_with_representation_metadata() {
    let s = Server::start("");
    let resp = ureq_any(agent().get(&s.url("/")).set("Accept-Encoding", "identity"));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        resp.header("content-length"),
        Some(INDEX_HTML.len().to_string().as_str())
    );
    let etag = resp.header("etag").expect("ETag (RFC 9110 8.8.3)");
    assert!(
        etag.starts_with('"') || etag.starts_with("W/\""),
        "ETag must be a quoted entity-tag: {etag:?}"
    );
    let lm = resp.header("last-modified").expect("Last-Modified");
    assert!(
        lm.ends_with(" GMT"),
        "Last-Modified not an HTTP-date: {lm:?}"
    );
    assert_eq!(resp.header("accept-ranges"), Some("bytes"));
    assert!(resp.header("date").is_some());
    assert!(resp.header("server").unwrap_or("").starts_with("carbon"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert!(
        !resp.header("x-frame-options").unwrap_or("").is_empty(),
        "security headers on by default: X-Frame-Options"
    );
    assert_eq!(body_bytes(resp), INDEX_HTML.as_bytes());
}

#[test]
fn rfc9110_9_3_2_head_has_get_headers_and_no_body() {
    let s = Server::start("");
    let get = s.get("/index.html", "");
    let mut c = s.connect();
    c.send(b"HEAD /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let head = c.head_response();
    assert_eq!(head.status, 200);
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "accept-ranges",
    ] {
        assert_eq!(
            head.header(name),
            get.header(name),
            "HEAD and GET differ in {name}"
        );
    }
    assert_date_and_server(&head);
    // Nothing may follow the head: the server closes with no body bytes.
    let rest = c.read_until_close(std::time::Duration::from_secs(5));
    assert!(
        rest.is_empty(),
        "HEAD response carried a body: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn head_with_ureq_reports_get_length() {
    let s = Server::start("");
    let resp = ureq_any(agent().head(&s.url("/big.bin")));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.header("content-length"),
        Some(BIG_LEN.to_string().as_str())
    );
    assert!(body_bytes(resp).is_empty());
}

#[test]
fn rfc9110_15_5_5_missing_file_is_404_with_date_and_server() {
    let s = Server::start("");
    let resp = ureq_any(agent().get(&s.url("/no-such-file.html")));
    assert_eq!(resp.status(), 404);
    let r = s.get("/no-such-file.html", "");
    assert_eq!(r.status, 404);
    assert_date_and_server(&r);
}

#[test]
fn directory_without_slash_redirects_301() {
    let s = Server::start("");
    let resp = ureq_any(agent().get(&s.url("/sub")));
    assert_eq!(resp.status(), 301);
    let loc = resp
        .header("location")
        .expect("Location on 301")
        .to_string();
    assert!(
        loc == "/sub/" || loc.ends_with(&format!("127.0.0.1:{}/sub/", s.port())),
        "Location should point at /sub/: {loc:?}"
    );
}

#[test]
fn directory_with_slash_serves_its_index() {
    let s = Server::start("");
    let resp = ureq_any(agent().get(&s.url("/sub/")));
    assert_eq!(resp.status(), 200);
    assert!(resp
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert_eq!(body_bytes(resp), SUB_INDEX_HTML.as_bytes());
}

#[test]
fn content_type_from_extension() {
    let s = Server::start("");
    let css = s.get("/style.css", "");
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .unwrap_or("")
            .starts_with("text/css"),
        "{:?}",
        css.header("content-type")
    );
    let js = s.get("/app.js", "");
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .unwrap_or("")
            .contains("javascript"),
        "{:?}",
        js.header("content-type")
    );
}

#[test]
fn ureq_agent_keep_alive_several_requests() {
    let s = Server::start("");
    let a = agent();
    for path in ["/", "/style.css", "/sub/", "/index.html", "/"] {
        let resp = ureq_any(a.get(&s.url(path)));
        assert_eq!(resp.status(), 200, "{path}");
        assert!(!body_bytes(resp).is_empty());
    }
}

#[test]
fn rfc9112_9_3_persistent_connection_serves_sequential_requests() {
    let s = Server::start("");
    let mut c = s.connect();
    for path in ["/index.html", "/style.css", "/sub/"] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes());
        let r = c.response();
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.header_has_token("connection", "close"), "{path}: {r:?}");
    }
}

#[test]
fn large_file_is_byte_exact() {
    let s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("1048576"));
    assert_eq!(r.body.len(), BIG_LEN);
    assert!(r.body == big_bin(), "1 MiB body differs from the file");
    // The connection stays usable after a sendfile body.
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(c.response().body, INDEX_HTML.as_bytes());
}

#[test]
fn large_file_with_ureq() {
    let s = Server::start("");
    let resp = ureq_any(agent().get(&s.url("/big.bin")));
    assert_eq!(resp.status(), 200);
    assert!(body_bytes(resp) == big_bin());
}

#[test]
fn security_headers_are_configurable() {
    let s = Server::start("header_x_frame_options = DENY");
    let r = s.get("/", "");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));

    let s = Server::start("security_headers = off");
    let r = s.get("/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-content-type-options"), None);
    assert_eq!(r.header("x-frame-options"), None);
}

#[test]
fn index_file_setting_picks_the_directory_index() {
    let s = Server::start("index_file = home.html");
    std::fs::write(s.www().join("home.html"), "home page\n").unwrap();
    let r = s.get("/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"home page\n");
}

#[test]
fn serve_dotfiles_on_serves_dotfile() {
    let s = Server::start("serve_dotfiles = on");
    let r = s.get("/.secret", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, SECRET.as_bytes());
}

#[test]
fn rfc3986_2_1_percent_decoding_happens_once() {
    // `%252e%252e` decodes once to the literal name `%2e%2e`, a file in the root.
    let s = Server::start("");
    let r = s.get("/%252e%252e", "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(r.body, LITERAL_PERCENT.as_bytes());
}

#[test]
fn query_string_is_not_part_of_the_path() {
    let s = Server::start("");
    let r = s.get("/index.html?v=1&x=%2e%2e", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc3986_2_1_percent_encoded_utf8_and_space_names() {
    let s = Server::start("");
    std::fs::write(s.www().join("café.html"), "unicode name\n").unwrap();
    std::fs::write(s.www().join("with space.txt"), "space name\n").unwrap();
    let r = s.get("/caf%C3%A9.html", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"unicode name\n");
    let r = s.get("/with%20space.txt", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"space name\n");
}

#[test]
fn over_long_file_name_is_404_not_500() {
    // ENAMETOOLONG from the file system is "not found" to the client.
    let s = Server::start("");
    let r = s.get(&format!("/{}", "a".repeat(300)), "");
    assert_eq!(r.status, 404);
    let r = s.get(&format!("/{}/x", "b".repeat(5000)), "");
    assert_eq!(r.status, 404);
}

#[test]
fn file_used_as_directory_is_404() {
    // ENOTDIR: /index.html/x must not be 500.
    let s = Server::start("");
    assert_eq!(s.get("/index.html/x", "").status, 404);
    assert_eq!(s.get("/index.html/", "").status, 404);
}

#[test]
fn directory_without_index_is_not_listed() {
    let s = Server::start("");
    std::fs::create_dir(s.www().join("noindex")).unwrap();
    std::fs::write(s.www().join("noindex/file-in-listing.txt"), "x").unwrap();
    let r = s.get("/noindex/", "");
    assert!(matches!(r.status, 403 | 404), "{}", r.status);
    assert!(
        !r.body_str().contains("file-in-listing"),
        "directory listed"
    );
}

#[test]
fn fifo_in_root_does_not_block_the_worker() {
    // Opening a FIFO for reading blocks until a writer appears; a worker that does so
    // stops serving every connection it owns.
    let s = Server::start("max_threads = 1");
    let st = std::process::Command::new("mkfifo")
        .arg(s.www().join("pipe.txt"))
        .status()
        .expect("run mkfifo");
    assert!(st.success());
    let r = s.get("/pipe.txt", "");
    assert!(matches!(r.status, 403 | 404), "FIFO answered {}", r.status);
    assert_eq!(s.get("/index.html", "").status, 200);
}

#[test]
fn empty_file_is_200_with_zero_length() {
    let s = Server::start("");
    std::fs::write(s.www().join("empty.txt"), "").unwrap();
    let mut c = s.connect();
    c.send(b"GET /empty.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(c.response().body, INDEX_HTML.as_bytes());
}
