//! HTTP/2 end to end: a real carbond over TLS (ALPN `h2`) and h2c (prior knowledge,
//! `enable_h2c = true`), driven by independent clients: the `h2` crate (on tokio,
//! with tokio-rustls for TLS), curl, nghttp / h2load, Python `h2`, and raw frames
//! written here byte by byte for the abuse patterns no well-behaved client sends.

mod chromium;
mod client;
mod defences;
mod early_hints;
mod serving;
mod shutdown;
mod tools;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpStream as TokioTcp;

use crate::harness::Server;
use crate::tls::{client_config, TlsServer};

/// Upper bound for one whole HTTP/2 exchange in these tests.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// carbond with TLS and h2c both on; `extra` adds config lines.
pub fn start(extra: &str) -> TlsServer {
    TlsServer::start(&format!("enable_h2c = true\n{extra}"))
}

/// A single-threaded tokio runtime for one test's client side.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Options of the `h2` crate client.
#[derive(Clone, Copy)]
pub struct ClientOpts {
    pub stream_window: u32,
    pub conn_window: u32,
}

impl Default for ClientOpts {
    fn default() -> Self {
        ClientOpts {
            stream_window: 1024 * 1024,
            conn_window: 4 * 1024 * 1024,
        }
    }
}

pub type Sender = h2::client::SendRequest<Bytes>;

/// An `h2` crate connection over h2c (prior knowledge) to carbond's plain port.
pub async fn connect_h2c(addr: SocketAddr, opts: ClientOpts) -> Sender {
    let tcp = TokioTcp::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(opts.stream_window)
        .initial_connection_window_size(opts.conn_window)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// An `h2` crate connection over TLS, offering only `h2` in ALPN; panics unless the
/// server selected it.
pub async fn connect_tls(s: &TlsServer, opts: ClientOpts) -> Sender {
    let mut cfg = client_config(&[&rustls::version::TLS13], &[&s.cert]);
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TokioTcp::connect(s.https_addr()).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(opts.stream_window)
        .initial_connection_window_size(opts.conn_window)
        .handshake::<_, Bytes>(tls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// A response read whole through the `h2` crate.
pub struct H2Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl H2Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request (no body) and reads the whole response, releasing flow-control
/// capacity as data arrives.
pub async fn fetch(
    send: &mut Sender,
    method: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> H2Response {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{authority}{path}"));
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let req = req.body(()).unwrap();
    let mut ready = send.clone().ready().await.unwrap();
    let (resp, _) = ready.send_request(req, true).unwrap();
    let resp = resp.await.unwrap();
    let (parts, mut body) = resp.into_parts();
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    H2Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: out,
    }
}

/// `http://127.0.0.1:PORT` for the plain port.
pub fn h2c_authority(s: &Server) -> String {
    format!("http://127.0.0.1:{}", s.port())
}

/// `https://localhost:PORT` for the TLS port.
pub fn tls_authority(s: &TlsServer) -> String {
    format!("https://localhost:{}", s.https_port)
}

// ---------------------------------------------------------------------------------
// Raw frames, for sequences no well-behaved client library produces.
// ---------------------------------------------------------------------------------

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

pub mod code {
    pub const NO_ERROR: u32 = 0x0;
    pub const PROTOCOL_ERROR: u32 = 0x1;
    pub const ENHANCE_YOUR_CALM: u32 = 0xb;
}

pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman;
/// names and values under 127 bytes.
pub fn literal(out: &mut Vec<u8>, name: &str, value: &str) {
    assert!(name.len() < 127 && value.len() < 127);
    out.push(0x00);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(value.len() as u8);
    out.extend_from_slice(value.as_bytes());
}

/// The header block of `GET path` (literal fields only, so no table state).
pub fn get_block(path: &str) -> Vec<u8> {
    let mut b = Vec::new();
    literal(&mut b, ":method", "GET");
    literal(&mut b, ":scheme", "http");
    literal(&mut b, ":authority", "127.0.0.1");
    literal(&mut b, ":path", path);
    b
}

/// One frame read from the server.
#[derive(Debug)]
pub struct RawFrame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The error code of a GOAWAY or RST_STREAM.
    pub fn error_code(&self) -> u32 {
        let at = if self.kind == kind::GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// A raw HTTP/2 client connection on plain TCP (h2c).
pub struct Raw {
    pub sock: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects, sends the preface and an empty SETTINGS, and ACKs the server's.
    pub fn connect(addr: SocketAddr) -> Raw {
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sock.set_nodelay(true).unwrap();
        let mut r = Raw {
            sock,
            buf: Vec::new(),
        };
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(kind::SETTINGS, 0, 0, &[]));
        hello.extend(frame(kind::SETTINGS, 0x1, 0, &[]));
        r.send(&hello);
        r
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).unwrap();
    }

    /// Like `send`, but a write refused because the server already closed is fine.
    pub fn send_lossy(&mut self, bytes: &[u8]) -> bool {
        self.sock.write_all(bytes).is_ok()
    }

    /// The next frame, or None at EOF / reset / timeout.
    pub fn next(&mut self) -> Option<RawFrame> {
        loop {
            if self.buf.len() >= 9 {
                let len = (usize::from(self.buf[0]) << 16)
                    | (usize::from(self.buf[1]) << 8)
                    | usize::from(self.buf[2]);
                if self.buf.len() >= 9 + len {
                    let f: Vec<u8> = self.buf.drain(..9 + len).collect();
                    return Some(RawFrame {
                        kind: f[3],
                        flags: f[4],
                        stream: u32::from_be_bytes(f[5..9].try_into().unwrap()) & 0x7fff_ffff,
                        payload: f[9..].to_vec(),
                    });
                }
            }
            let mut chunk = [0u8; 16384];
            match self.sock.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads frames until a GOAWAY (returned) or the end of the connection (None),
    /// within `limit`.
    pub fn until_goaway(&mut self, limit: Duration) -> Option<RawFrame> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            let f = self.next()?;
            if f.kind == kind::GOAWAY {
                return Some(f);
            }
        }
        None
    }

    /// After a GOAWAY the server closes: reading ends (EOF or reset) within `limit`.
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.next().is_none() {
                return true;
            }
        }
        false
    }
}
