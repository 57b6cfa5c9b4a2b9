//! Listeners: `listen_address` as a list of IPv4 and IPv6 addresses, `::` as
//! dual-stack, one SO_REUSEPORT socket per worker, and the statistics per worker.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::harness::{Conn, Server};

fn ipv6_available() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// The addresses carbond announced on standard output, once there are `n`.
fn announced(s: &Server, n: usize) -> Vec<SocketAddr> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let addrs: Vec<SocketAddr> = s
            .output()
            .lines()
            .filter(|l| l.starts_with("[out]"))
            .filter_map(|l| l.split("listening on http://").nth(1))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        if addrs.len() >= n || std::time::Instant::now() >= deadline {
            return addrs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get_200(addr: SocketAddr) {
    let mut c = Conn::connect(addr);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response().status, 200, "via {addr}");
}

#[test]
fn listen_address_list_serves_ipv4_and_ipv6() {
    if !ipv6_available() {
        eprintln!("SKIPPED: no IPv6 loopback on this machine");
        return;
    }
    let s = Server::start("listen_address = 127.0.0.1, ::1");
    let addrs = announced(&s, 2);
    assert!(
        addrs.iter().any(|a| a.is_ipv4()),
        "{addrs:?}\n{}",
        s.output()
    );
    assert!(
        addrs.iter().any(|a| a.is_ipv6()),
        "{addrs:?}\n{}",
        s.output()
    );
    for a in addrs {
        get_200(a);
    }
}

/// docs/configuration.md: `::` alone accepts IPv4 clients too (dual-stack).
#[test]
fn wildcard_ipv6_alone_accepts_ipv4_clients() {
    if !ipv6_available() {
        eprintln!("SKIPPED: no IPv6 on this machine");
        return;
    }
    let s = Server::start("listen_address = ::");
    get_200(SocketAddr::from(([127, 0, 0, 1], s.port())));
    get_200(format!("[::1]:{}", s.port()).parse().unwrap());
}

/// Each worker has its own listening socket on the one port: new connections are
/// spread by the kernel, and every one is served (and counted once).
#[test]
fn per_worker_listeners_share_the_port_and_serve_every_connection() {
    let s = Server::start("max_threads = 4\nlisten_backlog = 64\nworker_cpu_affinity = auto");
    let mut n = 0;
    for _ in 0..40 {
        let r = s.get("/", "");
        assert_eq!(r.status, 200);
        n += 1;
    }
    // The accept queue of a busy worker holds connections without loss.
    let conns: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(s.addr()).unwrap())
        .collect();
    for mut c in conns {
        use std::io::{Read, Write};
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        c.read_to_end(&mut buf).unwrap();
        assert!(buf.starts_with(b"HTTP/1.1 200"));
        n += 1;
    }
    let sock = s.base().join("carbond.sock");
    let o = std::process::Command::new(crate::control::carbonctl())
        .arg("--socket")
        .arg(&sock)
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["total"]["requests"], n);
    let workers = v["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 4);
    let accepted: u64 = workers
        .iter()
        .map(|w| w["connections_total"].as_u64().unwrap())
        .sum();
    assert_eq!(accepted, n);
}

/// Connections accepted so far, summed over the workers (`carbonctl stats --json`).
fn accepted(s: &Server) -> u64 {
    let o = std::process::Command::new(crate::control::carbonctl())
        .arg("--socket")
        .arg(s.base().join("carbond.sock"))
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["connections_total"].as_u64().unwrap())
        .sum()
}

/// `listen_defer_accept` (TCP_DEFER_ACCEPT, tcp(7)): a client that connects and says
/// nothing stays in the kernel, holding no worker slot; its first bytes hand it over,
/// and the request is answered as usual.
#[test]
fn defer_accept_hands_over_a_connection_with_its_first_bytes() {
    use std::io::{Read, Write};
    let s = Server::start("listen_defer_accept = 10s");
    let mut c = TcpStream::connect(s.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        accepted(&s),
        0,
        "a silent connection was handed to a worker"
    );
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    c.read_to_end(&mut buf).unwrap();
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    assert_eq!(accepted(&s), 1);
}

/// `listen_defer_accept = off`: accepted at the end of the TCP handshake, before any
/// byte arrives (so `request_header_timeout` runs from the connect).
#[test]
fn defer_accept_off_accepts_at_the_handshake() {
    let s = Server::start("listen_defer_accept = off");
    let _silent = TcpStream::connect(s.addr()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while accepted(&s) == 0 {
        assert!(std::time::Instant::now() < deadline, "never accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
}
