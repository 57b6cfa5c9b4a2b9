//! Closing a TLS connection must not cut off what rustls still buffers: the end of
//! the response and close_notify (RFC 8446 §6.1) go out before the socket closes,
//! also for a slow reader of a response larger than the kernel's socket buffers.
//! (The exact moment that once lost data, the socket full just as the engine's queue
//! empties into rustls, depends on kernel buffer sizing and is not forced here.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{
    connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn,
};
use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use super::*;

/// A TCP connection with a small receive buffer (set before connecting, so the
/// window stays small and the server's socket stays full while we read slowly).
fn small_window_tcp(addr: SocketAddr) -> TcpStream {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    setsockopt(&fd, sockopt::RcvBuf, &8192).unwrap();
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 expected")
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(v4)).unwrap();
    let sock = TcpStream::from(fd);
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock
}

/// Fetch `path` with `Connection: close` and read it slowly to a clean close_notify,
/// so the server's socket stays full until the very end. Returns the body length, or
/// what went wrong.
fn slow_fetch(
    addr: SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<usize, String> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(cfg.clone(), name).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, small_window_tcp(addr));
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    tls.flush().map_err(|e| format!("flush: {e}"))?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut chunk) {
            // rustls reports Ok(0) only after close_notify.
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("after {} bytes: {e}", out.len())),
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let r = parse_first(&out);
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    Ok(r.body.len())
}

#[test]
fn rfc8446_6_1_slow_reader_gets_the_whole_body_then_close_notify() {
    // Larger than what the kernel buffers between server and client can hold
    // (net.ipv4.tcp_wmem allows 4 MiB here), so the server is still writing, with a
    // full socket, when the last of the file moves into rustls.
    let s = TlsServer::start("max_threads = 1");
    let sizes: Vec<usize> = vec![
        6 * 1024 * 1024 + 1,
        6 * 1024 * 1024 + 40_000,
        7 * 1024 * 1024 + 5,
    ];
    for &n in &sizes {
        let body: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        std::fs::write(s.server.www().join(format!("close-{n}.bin")), body).unwrap();
    }
    let cfg = Arc::new(s.client(&[&rustls::version::TLS13]));
    let addr = s.https_addr();
    let handles: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let cfg = cfg.clone();
            std::thread::spawn(move || (n, slow_fetch(addr, &cfg, &format!("/close-{n}.bin"))))
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        let (n, got) = h.join().unwrap();
        match got {
            Ok(len) if len == n => {}
            Ok(len) => failures.push(format!("{n}: body {len} bytes")),
            Err(e) => failures.push(format!("{n}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "truncated or unclean closes: {failures:?}"
    );
}
