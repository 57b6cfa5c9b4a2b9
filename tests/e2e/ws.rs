//! WebSocket end to end (RFC 6455, RFC 7692): a real carbond with
//! `enable_websocket = true` serving the built-in echo endpoint, driven by
//! independent clients: `tungstenite` over TCP and over rustls (wss://), Python
//! `websockets` for permessage-deflate, and raw frames written here for the protocol
//! violations no well-behaved client sends.

mod chromium;
mod echo;
mod http;
mod lifecycle;
mod protocol;
mod python;
mod wss;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tungstenite::protocol::WebSocket;

use crate::harness::Server;

/// Upper bound for any one read in these tests: a missing answer fails, never hangs.
pub const WS_TIMEOUT: Duration = Duration::from_secs(20);

/// carbond with WebSocket on; `extra` adds config lines.
pub fn start(extra: &str) -> Server {
    Server::start(&format!("enable_websocket = true\n{extra}"))
}

fn tcp(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(WS_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(WS_TIMEOUT)).unwrap();
    s
}

/// A tungstenite client on `path`, after a checked handshake.
pub fn connect(server: &Server, path: &str) -> WebSocket<TcpStream> {
    let url = format!("ws://127.0.0.1:{}{path}", server.port());
    let (ws, resp) = tungstenite::client::client(url, tcp(server))
        .unwrap_or_else(|e| panic!("handshake failed: {e}\n{}", server.output()));
    assert_eq!(resp.status(), 101);
    ws
}

/// The upgrade request of a raw client, with `extra` header lines.
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

/// A raw connection after the handshake (`first` goes out in the same write as the
/// request, before the 101 is seen); returns the socket and the 101 head.
pub fn raw_upgrade(server: &Server, first: &[u8]) -> (TcpStream, String) {
    let mut s = tcp(server);
    let mut req = upgrade_request("/", "Sec-WebSocket-Version: 13\r\n").into_bytes();
    req.extend_from_slice(first);
    s.write_all(&req).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    (s, head)
}

/// A client frame (masked, RFC 6455 §5.3) with FIN/opcode byte `b0`.
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![b0];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// One server frame: (FIN/opcode byte, payload). Server frames are never masked
/// (RFC 6455 §5.1), which is checked.
pub fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    assert_eq!(h[1] & 0x80, 0, "server frame masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l)?;
            u64::from(u16::from_be_bytes(l))
        }
        127 => {
            let mut l = [0u8; 8];
            s.read_exact(&mut l)?;
            u64::from_be_bytes(l)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload)?;
    Ok((h[0], payload))
}

/// Reads frames until a Close; returns its code (`None`: a Close without code, or
/// the connection ended without a Close).
pub fn close_code(s: &mut TcpStream) -> Option<u16> {
    while let Ok((b0, payload)) = read_frame(s) {
        if b0 & 0x0f == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
    None
}

/// After the server's Close, the connection ends (RFC 6455 §7.1.1: the server closes
/// the TCP connection first).
pub fn assert_tcp_closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    let r = s.read_to_end(&mut rest);
    assert!(
        r.is_ok() || rest.is_empty(),
        "connection not closed after the Close: {r:?}"
    );
}
