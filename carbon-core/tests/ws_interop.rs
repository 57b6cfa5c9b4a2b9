//! The WebSocket engine and handler API against independent clients (tungstenite,
//! Python `websockets`) over real loopback TCP.
//!
//! carbond's driver does not run WebSocket connections yet, so this file has its own
//! small blocking test server: one thread per connection, the HTTP/1.1 request head
//! parsed with httparse, `WebSocketService` answering it, then a `WsSession` pumped
//! with the real clock. Everything protocol-related is the library's code.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use carbon_core::proto::out::Chunk;
use carbon_core::proto::ws::handshake::HandshakeConfig;
use carbon_core::service::ws::{
    EchoHandler, WebSocketService, WsHandler, WsSession, WsSettings, WsUpgrade,
};
use carbon_core::service::{error_response, Body, Request, RequestContext, Response, Service};

struct NotFound;

impl Service for NotFound {
    fn call(&mut self, _req: &Request, _ctx: &RequestContext) -> Response {
        error_response(http::StatusCode::NOT_FOUND)
    }
}

/// Starts the test server; returns its port. Connections are served until the
/// test process ends (threads are detached, each bounded by its read timeouts).
fn server(settings: WsSettings) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let settings = settings.clone();
            std::thread::spawn(move || serve(stream, settings));
        }
    });
    port
}

fn serve(mut s: TcpStream, settings: WsSettings) {
    let limits = settings.limits.clone();
    let factory = Arc::new(|_: &Request| Box::new(EchoHandler) as Box<dyn WsHandler>);
    let mut svc = WebSocketService::new(NotFound, settings, factory);
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if Instant::now() > deadline {
            return;
        }
        match s.read(&mut tmp) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    parsed.parse(&buf[..head_end]).unwrap();
    let mut b = http::Request::builder()
        .method(parsed.method.unwrap())
        .uri(parsed.path.unwrap());
    for h in parsed.headers.iter() {
        b = b.header(h.name, h.value);
    }
    let req = b.body(Bytes::new()).unwrap();
    let ctx = RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    };
    let resp = svc.call(&req, &ctx);
    let mut head = format!("HTTP/1.1 {} x\r\n", resp.status().as_u16());
    for (k, v) in resp.headers() {
        head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
    }
    let Some(up) = resp.extensions().get::<WsUpgrade>() else {
        let body = match resp.body() {
            Body::Bytes(b) => b.clone(),
            _ => Bytes::new(),
        };
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
        return;
    };
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut session = WsSession::from_upgrade(up, limits, Arc::new(|| {}), Instant::now()).unwrap();
    session.handle_input(Instant::now(), &buf[head_end..]);
    let stop = Instant::now() + Duration::from_secs(60);
    while Instant::now() < stop {
        let mut wrote = false;
        let out = session.out();
        while let Some(c) = out.front().cloned() {
            if let Chunk::Bytes(b) = &c {
                if s.write_all(b).is_err() {
                    return;
                }
            }
            out.advance(c.len());
            wrote = true;
        }
        if wrote {
            session.handle_output_drained(Instant::now());
        }
        if session.is_closed() {
            // §7.1.1: the server closes the TCP connection first.
            let _ = s.shutdown(std::net::Shutdown::Both);
            return;
        }
        match s.read(&mut tmp) {
            Ok(0) => session.handle_read_closed(Instant::now()),
            Ok(n) => session.handle_input(Instant::now(), &tmp[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                session.handle_timeout(Instant::now())
            }
            Err(_) => session.handle_read_closed(Instant::now()),
        }
    }
}

fn default_server() -> u16 {
    server(WsSettings {
        handshake: HandshakeConfig {
            permessage_deflate: true,
            ..Default::default()
        },
        ..Default::default()
    })
}

mod tungstenite_client {
    use super::*;
    use tungstenite::protocol::frame::coding::CloseCode as TCode;
    use tungstenite::Message;

    #[test]
    fn rfc6455_echo_of_each_length_form_and_8_mib() {
        let port = default_server();
        let (mut ws, resp) = tungstenite::connect(format!("ws://127.0.0.1:{port}/echo")).unwrap();
        assert_eq!(resp.status(), 101);
        for len in [0usize, 125, 126, 65535, 65536, 8 << 20] {
            let text: String = "abcdefghij".chars().cycle().take(len).collect();
            ws.send(Message::text(text.clone())).unwrap();
            assert_eq!(ws.read().unwrap(), Message::text(text), "text {len}");
            let bin: Vec<u8> = (0..len).map(|i| i as u8).collect();
            ws.send(Message::binary(bin.clone())).unwrap();
            assert_eq!(ws.read().unwrap(), Message::binary(bin), "binary {len}");
        }
        ws.send(Message::Ping(Bytes::from_static(b"are you there")))
            .unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::Pong(Bytes::from_static(b"are you there"))
        );
        ws.close(None).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Close(Some(f))) => {
                    assert_eq!(f.code, TCode::Normal);
                }
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => break,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn rfc6455_7_4_close_code_echoed() {
        let port = default_server();
        let (mut ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
        ws.close(Some(tungstenite::protocol::CloseFrame {
            code: TCode::Library(4000),
            reason: "done".into(),
        }))
        .unwrap();
        let mut seen = None;
        loop {
            match ws.read() {
                Ok(Message::Close(f)) => seen = f.map(|f| f.code),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert_eq!(seen, Some(TCode::Library(4000)));
    }

    #[test]
    fn rfc6455_4_2_2_wrong_version_gets_426_over_tcp() {
        let port = default_server();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 426"), "{resp}");
        assert!(
            resp.to_ascii_lowercase()
                .contains("sec-websocket-version: 13"),
            "{resp}"
        );
    }
}

/// Raw frames after a real handshake: protocol errors and limits, the Close code read
/// back from the wire.
mod raw {
    use super::*;

    fn handshake(port: u16) -> TcpStream {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));
        s
    }

    /// Masked with a zero key, so the payload is written as is.
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b0];
        if payload.len() < 126 {
            f.push(0x80 | payload.len() as u8);
        } else {
            f.push(0x80 | 126);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(payload);
        f
    }

    /// Reads until the server closes; returns the code of its Close frame.
    fn close_code(s: &mut TcpStream) -> Option<u16> {
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        let mut i = 0;
        while i + 2 <= all.len() {
            let len = usize::from(all[i + 1] & 0x7f);
            if all[i] & 0x0f == 8 && len >= 2 {
                return Some(u16::from_be_bytes([all[i + 2], all[i + 3]]));
            }
            i += 2 + len;
        }
        None
    }

    #[test]
    fn rfc6455_8_1_invalid_utf8_is_1007_before_the_message_ends() {
        let mut s = handshake(default_server());
        s.write_all(&frame(0x01, "κόσμε".as_bytes())).unwrap();
        s.write_all(&frame(0x00, b"\xed\xa0\x80")).unwrap();
        // No final fragment: the server must not wait for it.
        assert_eq!(close_code(&mut s), Some(1007));
    }

    #[test]
    fn rfc6455_5_2_single_byte_writes_then_reserved_opcode_is_1002() {
        let mut s = handshake(default_server());
        s.set_nodelay(true).unwrap();
        // A frame in 1-byte TCP writes is echoed whole.
        for b in frame(0x81, b"Hello") {
            s.write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut echo = [0u8; 7];
        s.read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"\x81\x05Hello");
        // The reserved opcode fails at its first byte: the server may close before
        // the rest is written, so later write errors are expected.
        for b in frame(0x83, b"") {
            let _ = s.write_all(&[b]);
        }
        assert_eq!(close_code(&mut s), Some(1002));
    }

    #[test]
    fn rfc6455_7_4_1_oversized_message_is_1009() {
        let port = server(WsSettings {
            limits: carbon_core::limits::WsLimits {
                max_message: 1000,
                max_frame: 1000,
                ..Default::default()
            },
            ..Default::default()
        });
        let mut s = handshake(port);
        s.write_all(&frame(0x82, &[0; 1001])).unwrap();
        assert_eq!(close_code(&mut s), Some(1009));
    }
}

/// Python `websockets` (pip): permessage-deflate with each parameter.
mod python_websockets {
    use super::*;

    fn have_websockets() -> bool {
        let ok = std::process::Command::new("python3")
            .args(["-c", "import websockets.sync.client"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: python3 with the `websockets` package is not installed (pip install websockets)");
        }
        ok
    }

    const SCRIPT: &str = r#"
import sys
from websockets.sync.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
port, params = int(sys.argv[1]), sys.argv[2]
kw = {}
for p in params.split(",") if params else []:
    k, _, v = p.partition("=")
    kw[k] = int(v) if v else True
ext = [ClientPerMessageDeflateFactory(**kw)]
with connect(f"ws://127.0.0.1:{port}/", extensions=ext, max_size=None) as ws:
    print(ws.response.headers.get("Sec-WebSocket-Extensions", ""))
    msg = "compress me, compress me again " * 4000
    for _ in range(3):
        ws.send(msg)
        assert ws.recv() == msg
    data = bytes(range(256)) * 300
    ws.send(data)
    assert ws.recv() == data
    ws.close(1000)
    print("close", ws.close_code)
"#;

    fn run(params: &str) -> String {
        let port = default_server();
        let out = std::process::Command::new("python3")
            .args(["-c", SCRIPT, &port.to_string(), params])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn rfc7692_compressed_echo_with_each_parameter() {
        if !have_websockets() {
            return;
        }
        for (params, expect) in [
            ("", "permessage-deflate"),
            (
                "server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover",
            ),
            (
                "client_no_context_takeover",
                "permessage-deflate; client_no_context_takeover",
            ),
            (
                "server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=10",
            ),
            (
                "client_max_window_bits=9",
                "permessage-deflate; client_max_window_bits=9",
            ),
        ] {
            let out = run(params);
            let mut lines = out.lines();
            assert_eq!(lines.next(), Some(expect), "{params}");
            assert_eq!(lines.next(), Some("close 1000"), "{params}");
        }
    }
}
