//! URLs as browsers send them (WHATWG URL Standard percent-encode sets): `|`, `{`, `}`,
//! `^`, backquote and the like arrive unencoded and must be served, as nginx does.
//! A request that is still refused leaves its request line and User-Agent in the
//! access log.

use std::time::{Duration, Instant};

use crate::harness::{parse_first, Server};

fn site() -> Server {
    let s = Server::start("access_log = {base}/access.log");
    std::fs::create_dir_all(s.www().join("blog")).unwrap();
    std::fs::write(s.www().join("blog/index.html"), "blog\n").unwrap();
    std::fs::write(s.www().join("a|b{c}.txt"), "odd name\n").unwrap();
    s
}

/// The access log once it holds `n` lines (it is flushed about once a second).
fn access_log(s: &Server, n: usize) -> String {
    let path = s.base().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= n || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn whatwg_url_query_bytes_browsers_send_unencoded_get_200() {
    let s = site();
    for target in [
        "/?fonts=Roboto|Open+Sans",
        "/blog/?a={1}",
        "/?q=\"<x>\"&t=`a`^\\",
        "/a|b{c}.txt",
        "/a%7Cb%7Bc%7D.txt",
    ] {
        let raw = s.raw(
            format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let r = parse_first(&raw);
        assert_eq!(r.status, 200, "{target}: {}", String::from_utf8_lossy(&raw));
    }
    // Raw UTF-8 in the path names the file with that name, as its encoded form does.
    std::fs::write(s.www().join("café.txt"), "accent\n").unwrap();
    let raw =
        s.raw("GET /café.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".as_bytes());
    assert_eq!(parse_first(&raw).body_str(), "accent\n");
}

#[test]
fn rfc9112_3_2_control_bytes_in_target_are_400_and_logged_with_request_line_and_agent() {
    let s = site();
    let raw = s.raw(b"GET /a\x01b HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: probe/1.0\r\n\r\n");
    assert_eq!(parse_first(&raw).status, 400);
    let raw = s.raw(b"GET /a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(parse_first(&raw).status, 400, "backslash in the path");
    let log = access_log(&s, 2);
    assert!(
        log.contains("\"GET /a\\x01b HTTP/1.1\" 400 ") && log.contains("\"probe/1.0\""),
        "{log}"
    );
    assert!(log.contains("\"GET /a\\\\b HTTP/1.1\" 400 "), "{log}");
}
