//! Debian's HAProxy on loopback in front of two carbond instances, as in
//! docs/scaling.md: with `send-proxy-v2` the access logs show the client's address
//! (the client binds 127.0.0.2, HAProxy connects from 127.0.0.1), rate limiting
//! counts the client, and an instance that does not trust the sender refuses it.
//! The client is curl (`--interface 127.0.0.2`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{curl, wait_for_text, Server};

/// A running haproxy (foreground, `-db`), killed by its own PID on drop.
pub struct HaProxy {
    child: Child,
    pub port: u16,
}

impl HaProxy {
    /// Starts haproxy with a TCP frontend on a free loopback port balancing over
    /// `backends` with `server_opts` (e.g. `send-proxy-v2`). Panics if haproxy is
    /// missing: the test must not pass silently (`.ci/run` installs it).
    pub fn start(dir: &Path, backends: &[u16], server_opts: &str) -> HaProxy {
        Self::start_with(dir, backends, server_opts, "")
    }

    /// As [`HaProxy::start`], with `backend_lines` (e.g. health-check options) added
    /// to the backend section.
    pub fn start_with(
        dir: &Path,
        backends: &[u16],
        server_opts: &str,
        backend_lines: &str,
    ) -> HaProxy {
        let port = free_port();
        let mut cfg = format!(
            "global\n    maxconn 256\n\
             defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    retries 3\n    option redispatch\n\
             frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
             backend be\n    balance roundrobin\n{backend_lines}"
        );
        for (i, b) in backends.iter().enumerate() {
            cfg.push_str(&format!("    server c{i} 127.0.0.1:{b} {server_opts}\n"));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run haproxy ({e}): install it (`apt-get install haproxy`)")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen on {port}"
            );
            thread::sleep(Duration::from_millis(50));
        }
        HaProxy { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One GET from 127.0.0.2 through the balancer: the status, or 0 on a failure.
pub fn get_from_client(url: &str) -> u16 {
    let out = curl()
        .args([
            "--interface",
            "127.0.0.2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

const BACKEND: &str = "proxy_protocol = on\nproxy_protocol_from = 127.0.0.1\n\
                       access_log = {base}/access.log\nrate_limit_exempt =\n";

#[test]
fn haproxy_send_proxy_v2_access_logs_show_the_client_address() {
    let a = Server::start(BACKEND);
    let b = Server::start(BACKEND);
    let dir = tempfile::tempdir().unwrap();
    let hp = HaProxy::start(dir.path(), &[a.port(), b.port()], "send-proxy-v2");
    for _ in 0..4 {
        assert_eq!(get_from_client(&hp.url("/index.html")), 200);
    }
    // Round robin: both instances served, and both logged the client, not HAProxy.
    for s in [&a, &b] {
        let log = wait_for_text(&s.base().join("access.log"), "GET /index.html");
        for line in log.lines() {
            assert!(
                line.starts_with("127.0.0.2 "),
                "not the client's address: {line}"
            );
        }
    }
}

#[test]
fn haproxy_rate_limit_counts_the_client_not_the_balancer() {
    let a = Server::start(&format!("{BACKEND}rate_limit = 3\nrate_limit_window = 60"));
    let dir = tempfile::tempdir().unwrap();
    let hp = HaProxy::start(dir.path(), &[a.port()], "send-proxy-v2");
    let statuses: Vec<u16> = (0..4)
        .map(|_| get_from_client(&hp.url("/index.html")))
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    // HAProxy's own address (another client, through the same balancer) still has
    // its whole budget.
    let own = curl()
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(hp.url("/index.html"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&own.stdout).trim(), "200");
}

#[test]
fn haproxy_untrusted_proxy_sender_is_refused() {
    let a = Server::start(
        "proxy_protocol = on\nproxy_protocol_from = 192.0.2.10\naccess_log = {base}/access.log",
    );
    let dir = tempfile::tempdir().unwrap();
    let hp = HaProxy::start(dir.path(), &[a.port()], "send-proxy-v2");
    assert_eq!(get_from_client(&hp.url("/index.html")), 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.output().contains("not in proxy_protocol_from") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            a.output()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(a.base().join("access.log")).unwrap_or_default();
    assert!(!log.contains("GET /index.html"), "served anyway:\n{log}");
}

#[test]
fn haproxy_rolling_drain_and_two_reloads_lose_no_request() {
    let conf = "proxy_protocol = on\nproxy_protocol_from = 127.0.0.1\n\
                health_path = /healthz\ndrain_period = 3s\nrate_limit = 0";
    let mut a = Server::start(conf);
    let b = Server::start(conf);
    let dir = tempfile::tempdir().unwrap();
    // HAProxy checks /healthz every 200 ms (with its own PROXY header) and takes a
    // server out after one 503, as docs/scaling.md describes.
    let hp = HaProxy::start_with(
        dir.path(),
        &[a.port(), b.port()],
        "send-proxy-v2 check check-send-proxy inter 200 fall 1 rise 2",
        "    option httpchk\n    http-check send meth GET uri /healthz\n",
    );
    let url = hp.url("/index.html");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        thread::spawn(move || {
            // Bounded: at most 3000 requests, one at a time, each on a new connection.
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && statuses.len() < 3000 {
                statuses.push(get_from_client(&url));
            }
            statuses
        })
    };
    thread::sleep(Duration::from_millis(800));
    a.signal("TERM");
    thread::sleep(Duration::from_millis(1000));
    b.signal("HUP");
    thread::sleep(Duration::from_millis(1500));
    b.signal("HUP");
    let st = a.wait_exit(Duration::from_secs(15));
    assert!(
        st.is_some_and(|st| st.success()),
        "a: exit {st:?}\n{}",
        a.output()
    );
    thread::sleep(Duration::from_millis(1000));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = load.join().unwrap();
    let failed: Vec<&u16> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(statuses.len() >= 20, "too few requests: {}", statuses.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        statuses.len()
    );
    eprintln!(
        "rolling test: {} requests through HAProxy, none failed",
        statuses.len()
    );
    let reloads = b
        .output()
        .matches("SIGHUP: reloading the configuration")
        .count();
    assert!(reloads >= 2, "b did not reload twice:\n{}", b.output());
}
