//! `103 Early Hints` (RFC 8297) for configured paths, over HTTP/1.1 (raw bytes) and
//! HTTP/2 (Python `h2`, which reports interim responses as their own event).

use std::process::Command;

use super::start;
use crate::harness::{python_h2_or_skip, Server, INDEX_HTML};

const HINTS: &str =
    "early_hints = / </style.css>; rel=preload; as=style | /app.js </x.js>; rel=preload";

#[test]
fn rfc8297_http11_get_of_configured_path_gets_103_with_link_then_200() {
    let s = Server::start(HINTS);
    let r = s.raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let text = String::from_utf8_lossy(&r);
    assert!(
        text.starts_with(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n"
        ),
        "{text}"
    );
    assert!(text.ends_with(INDEX_HTML), "{text}");
}

#[test]
fn rfc8297_no_103_for_http10_other_paths_errors_or_head() {
    let s = Server::start(HINTS);
    for req in [
        &b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"[..],
        b"GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ] {
        let text = String::from_utf8_lossy(&s.raw(req)).to_string();
        assert!(!text.contains(" 103 "), "{text}");
        assert!(text.contains(" 200 OK"), "{text}");
    }
    // /app.js is configured, but a missing file gets its 404 alone.
    std::fs::remove_file(s.www().join("app.js")).unwrap();
    std::fs::remove_file(s.www().join("app.js.gz")).unwrap();
    let text = String::from_utf8_lossy(
        &s.raw(b"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
    .to_string();
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
}

#[test]
fn rfc8297_h2c_stream_gets_103_headers_before_the_final_response() {
    if !python_h2_or_skip("rfc8297_h2c_stream_gets_103_headers_before_the_final_response") {
        return;
    }
    let s = start(HINTS);
    let script = r#"
import socket, sys, h2.connection, h2.events, h2.config
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":scheme", "http"),
                   (":authority", "127.0.0.1"), (":path", "/")], end_stream=True)
sock.sendall(c.data_to_send())
out, done = [], False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.InformationalResponseReceived):
            h = dict(ev.headers)
            out.append(h[b":status"].decode() + " " + h[b"link"].decode())
        elif isinstance(ev, h2.events.ResponseReceived):
            out.append(dict(ev.headers)[b":status"].decode())
        elif isinstance(ev, h2.events.DataReceived):
            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            done = True
    sock.sendall(c.data_to_send())
print("\n".join(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &s.server.port().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "103 </style.css>; rel=preload; as=style\n200\n"
    );
}
