//! HTTP/2 server push (RFC 9113 §8.4) end to end: `http2_push` pages fetched by
//! nghttp (which accepts push and prints PUSH_PROMISE with `-v`) and by Python `h2`
//! (SETTINGS_ENABLE_PUSH = 0, RST_STREAM of a promised stream), over h2c and TLS.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::h2::start;
use crate::harness::{python_h2_or_skip, tool_runs, INDEX_HTML};

const PUSH: &str = "http2_push = /index.html: /style.css /app.js\n";

/// A Python `h2` client: GETs `/` on stream 1 (then `/style.css` on stream 3 once
/// the first is done) and prints one line per event: `promise ID PATH AUTHORITY`,
/// `response ID STATUS ENCODING ETAG`, `end ID BYTES`, `goaway CODE`.
/// Arguments: port, tls (0/1), enable_push (0/1), cancel promised streams (0/1).
const CLIENT: &str = r#"
import socket, ssl, sys, h2.connection, h2.events, h2.config, h2.settings, h2.errors, h2.exceptions
port, tls, push, cancel = int(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4] == "1"
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
if tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(sock, server_hostname="localhost")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: push})
def get(sid, path):
    c.send_headers(sid, [(":method", "GET"), (":scheme", "https" if tls else "http"),
                         (":authority", "localhost"), (":path", path),
                         ("accept-encoding", "gzip")], end_stream=True)
get(1, "/")
sock.sendall(c.data_to_send())
sizes, ended, second = {}, set(), False
while True:
    data = sock.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.PushedStreamReceived):
            h = dict(ev.headers)
            print("promise", ev.pushed_stream_id, h[b":path"].decode(), h[b":authority"].decode())
            if cancel:
                try:
                    c.reset_stream(ev.pushed_stream_id, h2.errors.ErrorCodes.CANCEL)
                except h2.exceptions.StreamClosedError:
                    pass  # already complete within the same read
                print("cancel", ev.pushed_stream_id)
        elif isinstance(ev, h2.events.ResponseReceived):
            h = dict(ev.headers)
            print("response", ev.stream_id, h[b":status"].decode(),
                  h.get(b"content-encoding", b"-").decode(), h.get(b"etag", b"-").decode())
        elif isinstance(ev, h2.events.DataReceived):
            sizes[ev.stream_id] = sizes.get(ev.stream_id, 0) + len(ev.data)
            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            print("end", ev.stream_id, sizes.get(ev.stream_id, 0))
            ended.add(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            ended.add(ev.stream_id)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            print("goaway", int(ev.error_code))
    if 1 in ended and not second:
        second = True
        get(3, "/style.css")
    sock.sendall(c.data_to_send())
    if 3 in ended:
        break
"#;

fn python(port: u16, tls: bool, push: bool, cancel: bool) -> Vec<String> {
    let out = Command::new("python3")
        .args(["-c", CLIENT, &port.to_string()])
        .arg(if tls { "1" } else { "0" })
        .arg(if push { "1" } else { "0" })
        .arg(if cancel { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn lines_starting<'a>(lines: &'a [String], word: &str) -> Vec<&'a String> {
    lines.iter().filter(|l| l.starts_with(word)).collect()
}

#[test]
fn rfc9113_8_4_python_h2_gets_promises_and_pushed_responses_like_a_get_over_h2c_and_tls() {
    if !python_h2_or_skip("rfc9113_8_4_python_h2_gets_promises_and_pushed_responses") {
        return;
    }
    let s = start(PUSH);
    for (port, tls) in [(s.server.port(), false), (s.https_port, true)] {
        let lines = python(port, tls, true, false);
        let promises = lines_starting(&lines, "promise");
        assert_eq!(
            promises,
            vec![
                "promise 2 /style.css localhost",
                "promise 4 /app.js localhost"
            ],
            "tls={tls}: {lines:?}"
        );
        let response = |id: u32| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("response {id} ")))
                .cloned()
                .unwrap_or_else(|| panic!("no response on {id}: {lines:?}"))
        };
        // Both pushed streams completed with 200, as gzip variants (the page's
        // accept-encoding goes with the promised request).
        assert!(response(1).starts_with("response 1 200"), "{lines:?}");
        assert!(response(2).starts_with("response 2 200 gzip "), "{lines:?}");
        assert!(response(4).starts_with("response 4 200 gzip "), "{lines:?}");
        assert!(
            lines.contains(&format!("end 1 {}", INDEX_HTML.len())),
            "{lines:?}"
        );
        // The same resource requested normally has the pushed one's ETag.
        let pushed_etag = response(2).rsplit(' ').next().unwrap().to_owned();
        let normal_etag = response(3).rsplit(' ').next().unwrap().to_owned();
        assert_ne!(pushed_etag, "-");
        assert_eq!(pushed_etag, normal_etag, "{lines:?}");
        assert!(lines_starting(&lines, "goaway").is_empty(), "{lines:?}");
    }
}

#[test]
fn rfc9113_6_5_2_python_h2_with_enable_push_0_gets_no_promise() {
    if !python_h2_or_skip("rfc9113_6_5_2_python_h2_with_enable_push_0_gets_no_promise") {
        return;
    }
    let s = start(PUSH);
    for (port, tls) in [(s.server.port(), false), (s.https_port, true)] {
        let lines = python(port, tls, false, false);
        assert!(lines_starting(&lines, "promise").is_empty(), "{lines:?}");
        assert!(
            lines.contains(&format!("end 1 {}", INDEX_HTML.len())),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("response 3 200")),
            "{lines:?}"
        );
    }
}

#[test]
fn rfc9113_8_4_2_python_h2_rst_stream_of_promised_streams_keeps_the_connection() {
    if !python_h2_or_skip("rfc9113_8_4_2_python_h2_rst_stream_of_promised_streams") {
        return;
    }
    // A 1 MiB resource cannot finish within the 64 KiB initial window, so the
    // client's RST_STREAM meets a pushed response in flight.
    let s = start("http2_push = /index.html: /big.bin /style.css\n");
    for (port, tls) in [(s.server.port(), false), (s.https_port, true)] {
        let lines = python(port, tls, true, true);
        assert_eq!(lines_starting(&lines, "promise").len(), 2, "{lines:?}");
        assert!(lines.contains(&"cancel 2".to_owned()), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.starts_with("end 2 ")),
            "the cancelled 1 MiB push did not complete: {lines:?}"
        );
        // The page and the next request are served on the same connection.
        assert!(
            lines.contains(&format!("end 1 {}", INDEX_HTML.len())),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("response 3 200")),
            "{lines:?}"
        );
        assert!(lines_starting(&lines, "goaway").is_empty(), "{lines:?}");
    }
}

#[test]
fn rfc9113_8_4_nghttp_shows_push_promise_before_the_page_headers() {
    if !tool_runs("nghttp") {
        eprintln!("SKIPPED: `nghttp` is not installed (.ci/run installs it)");
        return;
    }
    let s = start(&format!("{PUSH}metrics_path = /metrics\n"));
    for url in [
        s.server.url("/"),
        format!("https://127.0.0.1:{}/", s.https_port),
    ] {
        let out = Command::new("nghttp")
            .args(["-v", "-n", "-t", "10"])
            .arg(&url)
            .output()
            .unwrap();
        assert!(out.status.success(), "nghttp {url}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let promise = text
            .find("recv PUSH_PROMISE frame")
            .unwrap_or_else(|| panic!("no PUSH_PROMISE from {url}: {text}"));
        let page_headers = text
            .find("recv HEADERS frame <length=")
            .unwrap_or_else(|| panic!("no HEADERS from {url}: {text}"));
        assert!(promise < page_headers, "{text}");
        assert!(text.contains("promised_stream_id=2)"), "{text}");
        assert!(text.contains(":path: /style.css"), "{text}");
        assert!(text.contains(":path: /app.js"), "{text}");
    }
    // Two promises per connection, counted when the connection closes.
    let want = "carbon_http2_streams_total{outcome=\"pushed\"} 4\n";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = String::from_utf8(s.server.get("/metrics", "").body).unwrap();
        if body.contains(want) {
            break;
        }
        assert!(Instant::now() < deadline, "{want} not in:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rfc9113_8_4_no_push_for_head_other_pages_or_no_store_resources() {
    if !tool_runs("nghttp") {
        eprintln!("SKIPPED: `nghttp` is not installed (.ci/run installs it)");
        return;
    }
    let s = start(&format!("{PUSH}cache_control = /style.css: no-store\n"));
    let run = |args: &[&str], path: &str| {
        let out = Command::new("nghttp")
            .args(["-v", "-n", "-t", "10"])
            .args(args)
            .arg(s.server.url(path))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // style.css may not be stored: only app.js is pushed.
    let page = run(&[], "/");
    assert!(page.contains(":path: /app.js"), "{page}");
    assert!(!page.contains(":path: /style.css"), "{page}");
    // HEAD of the page, and a page without a push list: no promise.
    let head = run(&["-H", ":method: HEAD"], "/");
    assert!(!head.contains("PUSH_PROMISE"), "{head}");
    let other = run(&[], "/style.css");
    assert!(!other.contains("PUSH_PROMISE"), "{other}");
}

#[test]
fn http2_push_with_a_cross_origin_resource_is_a_config_error() {
    let out = Command::new(crate::harness::CARBOND)
        .args(["--check-config", "/dev/null"])
        .env(
            "CARBON_HTTP2_PUSH",
            "/index.html: https://cdn.example/a.css",
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        err.contains("http2_push") && err.contains("same-origin"),
        "{err}"
    );
}
