//! `ServerHandle::reload` as a library user meets it: new connections get the new
//! generation's service and limits, a keep-alive connection opened before keeps its
//! limits, the heartbeats move, and a service that cannot be built refuses the
//! reload without changing anything (docs/architecture.md, "The driver").

// A test: an unwrap that fails is a test failure with its message.
#![allow(clippy::unwrap_used)]
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use carbon_core::config::Config;
use carbon_core::driver::{ReloadError, Server, ServiceFactory, Update};
use carbon_core::service::{Body, Request, RequestContext, Response, Service};

struct Says(&'static [u8]);

impl Service for Says {
    fn call(&mut self, _req: &Request, _ctx: &RequestContext) -> Response {
        http::Response::new(Body::Bytes(Bytes::from_static(self.0)))
    }
}

fn says(text: &'static [u8]) -> ServiceFactory {
    Arc::new(move |_| Ok(Box::new(Says(text)) as Box<dyn Service>))
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// One keep-alive exchange; the response is small, so one read usually holds it.
fn exchange(s: &mut TcpStream, target: &str) -> String {
    write!(s, "GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::new();
    while !out.windows(4).any(|w| w == b"\r\n\r\n") || !ends_body(&out) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ends_body(out: &[u8]) -> bool {
    let text = String::from_utf8_lossy(out);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    body.len() >= len
}

#[test]
fn reload_switches_new_connections_and_keeps_open_ones_under_their_limits() {
    let cfg = Config {
        port: 0,
        max_threads: 2,
        access_log: None,
        ..Config::default()
    };
    let server = Server::bind(Arc::new(cfg.clone()), None).unwrap();
    let addr = server.local_addrs()[0].1;
    let handle = server.handle();
    let running = server.start(says(b"one")).unwrap();

    let mut before = connect(addr);
    assert!(exchange(&mut before, "/").ends_with("one"));
    assert_eq!(handle.generation(), 1);

    // Generation 2: another service, and request lines limited to 300 bytes.
    let mut cfg2 = cfg.clone();
    cfg2.limits.max_request_line = 300;
    let gen = handle
        .reload(
            Update {
                cfg: Arc::new(cfg2),
                tls: None,
                factory: says(b"two"),
            },
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(gen, 2);
    assert_eq!(handle.generation(), 2);
    assert_eq!(handle.config().limits.max_request_line, 300);

    let long = format!("/{}", "a".repeat(400));
    let mut after = connect(addr);
    assert!(exchange(&mut after, "/").ends_with("two"));
    assert!(exchange(&mut after, &long).starts_with("HTTP/1.1 414"));
    // The connection from generation 1 keeps its request-line limit (8 KiB).
    assert!(exchange(&mut before, &long).starts_with("HTTP/1.1 200"));

    // The workers keep turning (the watchdog's liveness signal).
    let beats = handle.heartbeats();
    assert_eq!(beats.len(), 2);
    std::thread::sleep(Duration::from_millis(1200));
    assert!(handle.heartbeats().iter().zip(&beats).all(|(n, b)| n > b));

    // A factory that fails refuses the reload: nothing changes.
    let broken: ServiceFactory = Arc::new(|_| Err(io::Error::other("no document root")));
    let err = handle
        .reload(
            Update {
                cfg: Arc::new(cfg),
                tls: None,
                factory: broken,
            },
            Duration::from_secs(5),
        )
        .unwrap_err();
    assert!(matches!(err, ReloadError::Service(_)), "{err}");
    assert_eq!(handle.generation(), 2);
    assert!(exchange(&mut connect(addr), "/").ends_with("two"));

    handle.shutdown();
    drop((before, after));
    running.wait().unwrap();
}
