//! The driver as a library user meets it: a custom service on an ephemeral port.
//! A panic while handling one connection closes that connection, is counted, and
//! leaves the worker serving everyone else (docs/architecture.md, "The driver").

// A test: an unwrap that fails is a test failure with its message.
#![allow(clippy::unwrap_used)]
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use carbon_core::config::Config;
use carbon_core::driver::{Server, ServiceFactory};
use carbon_core::service::{Body, Request, RequestContext, Response, Service};

struct Panicky;

impl Service for Panicky {
    fn call(&mut self, req: &Request, _ctx: &RequestContext) -> Response {
        if req.uri().path() == "/panic" {
            panic!("service bug triggered on purpose");
        }
        http::Response::new(Body::Bytes(Bytes::from_static(b"fine")))
    }
}

fn get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn a_panicking_service_closes_one_connection_and_the_worker_keeps_serving() {
    let cfg = Config {
        port: 0,
        max_threads: 1,
        access_log: None,
        ..Config::default()
    };
    let server = Server::bind(Arc::new(cfg), None).unwrap();
    let addr = server.local_addrs()[0].1;
    let handle = server.handle();
    let built = Arc::new(AtomicUsize::new(0));
    let counter = built.clone();
    let factory: ServiceFactory = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Panicky) as Box<dyn Service>)
    });
    let runner = std::thread::spawn(move || server.run(factory));

    assert!(get(addr, "/ok").starts_with(b"HTTP/1.1 200 "));
    let answer = get(addr, "/panic");
    assert!(
        answer.is_empty(),
        "a panicked request gets no (partial) response"
    );
    assert!(
        get(addr, "/ok").ends_with(b"fine"),
        "the same worker still serves"
    );

    let stats = handle.stats();
    assert_eq!(stats.total.panics, 1);
    assert_eq!(
        built.load(Ordering::SeqCst),
        2,
        "service rebuilt after the panic"
    );
    handle.shutdown();
    runner.join().unwrap().unwrap();
}
