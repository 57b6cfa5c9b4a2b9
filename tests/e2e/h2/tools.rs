//! Independent HTTP/2 tools: curl (`--http2` over TLS, `--http2-prior-knowledge`),
//! nghttp, h2load and Python `h2`. A missing tool skips its test loudly.

use std::process::Command;

use super::start;
use crate::harness::{big_bin, curl, python_h2_or_skip, INDEX_HTML};

fn have(tool: &str, arg: &str) -> bool {
    let ok = Command::new(tool).arg(arg).output().is_ok();
    if !ok {
        eprintln!("SKIPPED: `{tool}` is not installed (.ci/run installs it)");
    }
    ok
}

#[test]
fn curl_http2_over_tls_and_prior_knowledge_get_the_same_bytes() {
    let s = start("");
    let tls = curl()
        .args(["-s", "--http2", "--cacert"])
        .arg(&s.cert)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", s.https_port))
        .args(["-w", "%{http_version}", "-o"])
        .arg(s.server.base().join("tls.out"))
        .arg(format!("https://localhost:{}/big.bin", s.https_port))
        .output()
        .unwrap();
    assert!(tls.status.success(), "{tls:?}");
    assert_eq!(String::from_utf8_lossy(&tls.stdout), "2");
    assert!(std::fs::read(s.server.base().join("tls.out")).unwrap() == big_bin());
    let h2c = curl()
        .args(["-s", "--http2-prior-knowledge", "-w", "\n%{http_version}"])
        .arg(s.server.url("/"))
        .output()
        .unwrap();
    assert!(h2c.status.success(), "{h2c:?}");
    let out = String::from_utf8_lossy(&h2c.stdout);
    assert_eq!(out, format!("{INDEX_HTML}\n2"));
}

#[test]
fn nghttp_fetches_over_h2c_and_tls() {
    if !have("nghttp", "--version") {
        return;
    }
    let s = start("");
    for url in [
        s.server.url("/style.css"),
        format!("https://127.0.0.1:{}/style.css", s.https_port),
    ] {
        let out = Command::new("nghttp")
            .args(["-n", "-s", "-t", "10"])
            .arg(&url)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "nghttp {url}: {out:?}");
        // The statistics table lists one response with status 200.
        assert!(text.contains("200"), "nghttp {url}: {text}");
    }
}

#[test]
fn h2load_bounded_run_over_h2c_has_no_failures() {
    if !have("h2load", "--version") {
        return;
    }
    let s = start("");
    let out = Command::new("h2load")
        .args(["-n", "2000", "-c", "4", "-m", "10", "-T", "10"])
        .arg(s.server.url("/index.html"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2000 succeeded, 0 failed, 0 errored"),
        "{text}"
    );
    assert!(text.contains("status codes: 2000 2xx"), "{text}");
}

/// Python's `h2` state machine as an independent client over h2c: it checks our
/// frames and HPACK as strictly as it builds its own.
#[test]
fn python_h2_client_gets_index_over_h2c() {
    if !python_h2_or_skip("python_h2_client_gets_index_over_h2c") {
        return;
    }
    let s = start("");
    let script = r#"
import socket, sys, h2.connection, h2.events, h2.config
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":scheme", "http"),
                   (":authority", "127.0.0.1"), (":path", "/")], end_stream=True)
sock.sendall(c.data_to_send())
body, status, done = b"", None, False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers)[b":status"]
        elif isinstance(ev, h2.events.DataReceived):
            body += ev.data
            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            done = True
    sock.sendall(c.data_to_send())
sys.stdout.write(status.decode() + "\n" + body.decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script, &s.server.port().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("200\n{INDEX_HTML}")
    );
}

/// RFC 9113 §3.1 deprecates `Upgrade: h2c`; Carbon answers such a request as plain
/// HTTP/1.1 (no 101), which curl's `--http2` on an http:// URL accepts.
#[test]
fn rfc9113_3_1_upgrade_h2c_request_is_answered_as_plain_http11() {
    let s = start("");
    let out = curl()
        .args(["-s", "--http2", "-w", "\n%{http_version}"])
        .arg(s.server.url("/"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{INDEX_HTML}\n1.1")
    );
    let raw = s.server.raw(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
