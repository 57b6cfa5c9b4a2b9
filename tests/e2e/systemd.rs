//! carbond under a service manager, without systemd as PID 1: socket activation
//! through `systemd-socket-activate` (Debian's systemd package), and the sd_notify
//! protocol received on a `NOTIFY_SOCKET` datagram socket the test owns.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{tool_runs, Conn, CARBOND};
use crate::tls::{client_config, gen_cert, https_get};

/// A process the test started, with its output captured; killed (by its own PID)
/// and reaped when dropped.
pub struct Proc {
    child: Option<Child>,
    output: Arc<Mutex<Vec<String>>>,
    drains: Vec<thread::JoinHandle<()>>,
}

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let output: Arc<Mutex<Vec<String>>> = Arc::default();
        fn drain(
            r: impl Read + Send + 'static,
            out: Arc<Mutex<Vec<String>>>,
        ) -> thread::JoinHandle<()> {
            thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    out.lock().unwrap().push(line);
                }
            })
        }
        let drains = vec![
            drain(child.stdout.take().unwrap(), output.clone()),
            drain(child.stderr.take().unwrap(), output.clone()),
        ];
        Proc {
            child: Some(child),
            output,
            drains,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                // The pipes close with the process (unless it left children holding
                // them): wait, bounded, until everything it wrote has been read.
                let drained_by = Instant::now() + Duration::from_secs(5);
                while self.drains.iter().any(|d| !d.is_finished()) && Instant::now() < drained_by {
                    thread::sleep(Duration::from_millis(5));
                }
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the output has a line containing `what`.
    pub fn wait_output(&self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.output();
            if out.contains(what) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "no `{what}` within {limit:?}:\n{out}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("---- process output ----\n{}\n----", self.output());
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A document root and a config file in a fresh temporary directory.
pub fn site(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("carbond-e2e-sd-")
        .tempdir()
        .unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "<p>activated</p>\n").unwrap();
    let conf = dir.path().join("carbon.conf");
    let keys: Vec<&str> = extra
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let mut text = format!(
        "server_name = 127.0.0.1\nwww_path = {}\nallow_root = true\n",
        www.display()
    );
    if !keys.contains(&"max_threads") {
        text.push_str("max_threads = 2\n");
    }
    if !keys.contains(&"port") {
        text.push_str("port = 0\n");
    }
    text.push_str(extra);
    std::fs::write(&conf, text).unwrap();
    (dir, conf)
}

/// Two ports free right now (bound and released; the window for a clash is tiny
/// and a clash fails the test loudly rather than passing it).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn socket_activate_available() -> bool {
    let ok = tool_runs("systemd-socket-activate");
    if !ok {
        eprintln!(
            "SKIPPED: systemd-socket-activate is not installed (Debian package `systemd`; \
             .ci/run installs it)"
        );
    }
    ok
}

/// The sd_notify messages carbond sent, as received on our datagram socket.
struct NotifyListener {
    path: PathBuf,
    messages: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl NotifyListener {
    fn bind(dir: &Path) -> NotifyListener {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let messages: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (messages.clone(), stop.clone());
        thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let end = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && Instant::now() < end {
                if let Ok(n) = sock.recv(&mut buf) {
                    m.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        NotifyListener {
            path,
            messages,
            stop,
        }
    }

    fn all(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits for a message (after the first `skip`) for which `pred` holds; returns
    /// its index.
    fn wait(&self, skip: usize, limit: Duration, pred: impl Fn(&str) -> bool) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = self.all().iter().skip(skip).position(|m| pred(m)) {
                return skip + i;
            }
            assert!(
                Instant::now() < deadline,
                "no matching sd_notify message within {limit:?}; got {:?}",
                self.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NotifyListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| l.strip_prefix(key))
}

#[test]
fn sd_notify_ready_status_reloading_watchdog_and_stopping() {
    let (dir, conf) = site("");
    let notify = NotifyListener::bind(dir.path());
    let mut p = Proc::spawn(
        Command::new(CARBOND)
            .arg("--config")
            .arg(&conf)
            .env("NOTIFY_SOCKET", &notify.path)
            .env("WATCHDOG_USEC", "2000000"),
    );
    p.wait_output("listening on http://", Duration::from_secs(10));

    let ready = notify.wait(0, Duration::from_secs(10), |m| m.contains("READY=1"));
    let first = &notify.all()[ready];
    let status = field(first, "STATUS=").expect("STATUS= with READY=1");
    assert!(status.contains("config generation 1"), "{status}");
    assert!(status.contains("requests/s"), "{status}");

    // STATUS= is refreshed on its own from the status thread (every second here,
    // with the watchdog's tick), not only with READY=1.
    notify.wait(ready + 1, Duration::from_secs(8), |m| {
        m.starts_with("STATUS=") && !m.contains("READY=1") && m.contains("requests/s")
    });

    // WATCHDOG_USEC = 2 s: pings every second while the workers turn.
    let w1 = notify.wait(0, Duration::from_secs(5), |m| m.contains("WATCHDOG=1"));
    notify.wait(w1 + 1, Duration::from_secs(5), |m| m.contains("WATCHDOG=1"));

    // Reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 with the new generation.
    let before = notify.all().len();
    p.signal("HUP");
    let r = notify.wait(before, Duration::from_secs(10), |m| {
        m.contains("RELOADING=1")
    });
    let seen_first = Instant::now();
    let mono = |i: usize| -> u64 {
        field(&notify.all()[i], "MONOTONIC_USEC=")
            .expect("MONOTONIC_USEC with RELOADING=1")
            .parse()
            .unwrap()
    };
    let mono_first = mono(r);
    let again = notify.wait(r + 1, Duration::from_secs(10), |m| m.contains("READY=1"));
    let status = field(&notify.all()[again], "STATUS=")
        .unwrap_or_default()
        .to_string();
    assert!(status.contains("config generation 2"), "{status}");

    // A refused reload shows in STATUS=.
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{text}no_such_key = 1\n")).unwrap();
    thread::sleep(Duration::from_millis(1500));
    let before = notify.all().len();
    p.signal("HUP");
    let r2 = notify.wait(before, Duration::from_secs(10), |m| {
        m.contains("RELOADING=1")
    });
    let seen_second = Instant::now();
    notify.wait(r2 + 1, Duration::from_secs(10), |m| {
        m.contains("READY=1") && m.contains("last reload failed") && m.contains("no_such_key")
    });
    // MONOTONIC_USEC is CLOCK_MONOTONIC: two readings are as far apart as the
    // moments we received them (give or take our polling).
    let apart = mono(r2).saturating_sub(mono_first);
    let seen = seen_second.duration_since(seen_first).as_micros() as u64;
    assert!(
        apart.abs_diff(seen) < 500_000,
        "MONOTONIC_USEC readings {apart} µs apart, received {seen} µs apart"
    );

    let before = notify.all().len();
    p.signal("TERM");
    notify.wait(before, Duration::from_secs(10), |m| {
        m.contains("STOPPING=1")
    });
    let st = p.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|s| s.success()), "{st:?}");
}

#[test]
fn socket_activation_adopts_named_http_and_https_sockets() {
    if !socket_activate_available() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = gen_cert(certs.path(), &[]);
    // The configured ports differ from the passed sockets': named sockets are
    // adopted by name, whatever the file says.
    let (dir, conf) = site(&format!(
        "use_https = true\nhttps_port = 0\nssl_cert_path = {}\nssl_key_path = {}\n",
        cert.display(),
        key.display()
    ));
    let notify = NotifyListener::bind(dir.path());
    let (http, https) = free_ports();
    let p = Proc::spawn(
        Command::new("systemd-socket-activate")
            .arg(format!("--listen=127.0.0.1:{http}"))
            .arg(format!("--listen=127.0.0.1:{https}"))
            .arg("--fdname=http:https")
            .arg(format!("--setenv=NOTIFY_SOCKET={}", notify.path.display()))
            .arg(CARBOND)
            .arg("--config")
            .arg(&conf),
    );
    p.wait_output("Listening on", Duration::from_secs(10));
    // The first connection makes systemd-socket-activate start carbond, which
    // accepts it from the socket it never bound.
    let mut c = Conn::connect(SocketAddr::from(([127, 0, 0, 1], http)));
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert!(r.body_str().contains("activated"));
    notify.wait(0, Duration::from_secs(10), |m| m.contains("READY=1"));
    let out = p.wait_output(
        &format!("listening on https://127.0.0.1:{https}"),
        Duration::from_secs(5),
    );
    assert!(
        out.contains(&format!("listening on http://127.0.0.1:{http}")),
        "{out}"
    );

    let cfg = Arc::new(client_config(rustls::ALL_VERSIONS, &[&cert]));
    let x = https_get(
        SocketAddr::from(([127, 0, 0, 1], https)),
        &cfg,
        "localhost",
        "/",
    )
    .unwrap();
    assert_eq!(x.response.status, 200);
}

#[test]
fn socket_activation_matches_an_unnamed_socket_by_address() {
    if !socket_activate_available() {
        return;
    }
    let (http, _) = free_ports();
    let (_dir, conf) = site(&format!("port = {http}\n"));
    let _carbond = activate_on(http, &conf);
    let mut c = Conn::connect(SocketAddr::from(([127, 0, 0, 1], http)));
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response().status, 200);
}

#[test]
fn socket_activation_with_a_socket_matching_no_listener_fails_clearly() {
    if !socket_activate_available() {
        return;
    }
    let (http, other) = free_ports();
    let (_dir, conf) = site(&format!("port = {other}\n"));
    let mut p = Proc::spawn(
        Command::new("systemd-socket-activate")
            .arg(format!("--listen=127.0.0.1:{http}"))
            .arg(CARBOND)
            .arg("--config")
            .arg(&conf),
    );
    p.wait_output("Listening on", Duration::from_secs(10));
    // Start it; the connection is then dropped with the socket.
    let _c = std::net::TcpStream::connect(("127.0.0.1", http)).unwrap();
    let st = p.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{}", p.output());
    let out = p.output();
    assert!(out.contains("matches no configured listener"), "{out}");
    assert!(out.contains(&format!("127.0.0.1:{http}")), "{out}");
}

#[test]
fn socket_activation_binds_a_configured_listener_no_socket_was_passed_for() {
    if !socket_activate_available() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = gen_cert(certs.path(), &[]);
    let (_dir, conf) = site(&format!(
        "use_https = true\nhttps_port = 0\nssl_cert_path = {}\nssl_key_path = {}\n",
        cert.display(),
        key.display()
    ));
    let (http, _) = free_ports();
    let p = Proc::spawn(
        Command::new("systemd-socket-activate")
            .arg(format!("--listen=127.0.0.1:{http}"))
            .arg("--fdname=http")
            .arg(CARBOND)
            .arg("--config")
            .arg(&conf),
    );
    p.wait_output("Listening on", Duration::from_secs(10));
    let mut c = Conn::connect(SocketAddr::from(([127, 0, 0, 1], http)));
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response().status, 200);
    let out = p.wait_output("listening on https://", Duration::from_secs(5));
    assert!(out.contains("no socket for https was passed"), "{out}");
    let https: u16 = out
        .lines()
        .find_map(|l| l.split("listening on https://127.0.0.1:").nth(1))
        .and_then(|p| p.trim().parse().ok())
        .unwrap();
    let cfg = Arc::new(client_config(rustls::ALL_VERSIONS, &[&cert]));
    let x = https_get(
        SocketAddr::from(([127, 0, 0, 1], https)),
        &cfg,
        "localhost",
        "/",
    )
    .unwrap();
    assert_eq!(x.response.status, 200);
}

/// Sum of one per-worker counter in the Prometheus text (`name{worker="i"} v`), and
/// how many workers reported it.
/// carbond under `systemd-socket-activate` with one plain socket on `port`, once the
/// socket is listening (carbond itself starts on the first connection).
fn activate_on(port: u16, conf: &Path) -> Proc {
    let p = Proc::spawn(
        Command::new("systemd-socket-activate")
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(CARBOND)
            .arg("--config")
            .arg(conf),
    );
    p.wait_output("Listening on", Duration::from_secs(10));
    p
}

/// GET `path` on a new connection to `addr`; the status must be 200. The body.
fn get_200(addr: SocketAddr, path: &str) -> String {
    let mut c = Conn::connect(addr);
    c.send(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let r = c.response();
    assert_eq!(r.status, 200);
    r.body_str()
}

fn per_worker_sum(metrics: &str, name: &str) -> (u64, usize) {
    let prefix = format!("{name}{{worker=");
    let values: Vec<u64> = metrics
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (values.iter().sum(), values.len())
}

/// Voluntary context switches (sleeps ended by a wake-up) of each worker thread of
/// process `pid`, summed: `/proc/PID/task/*/status`, threads named `carbon-worker-N`.
fn worker_wakeups(pid: u32) -> (u64, usize) {
    let mut total = 0;
    let mut workers = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("carbon-worker-") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let n: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        total += n;
        workers += 1;
    }
    (total, workers)
}

/// With socket activation every worker shares the one inherited socket. Watched
/// with EPOLLEXCLUSIVE (`listen::register_listener`), a new connection wakes one
/// idle worker rather than all four. Measured by the workers' voluntary context
/// switches: with a herd each connection wakes all four workers (measured: 420-500
/// wake-ups for 100 connections; the three losers mostly find nothing and sleep
/// again inside `epoll_wait`, never seeing an event), with exclusive wake-ups about
/// one per connection for the whole process (measured: 101-104).
#[test]
fn socket_activation_with_four_workers_wakes_one_worker_per_connection() {
    if !socket_activate_available() {
        return;
    }
    let (http, _) = free_ports();
    let (_dir, conf) = site(&format!(
        "port = {http}\nmax_threads = 4\nmetrics_path = /metrics\n"
    ));
    let p = activate_on(http, &conf);
    let addr = SocketAddr::from(([127, 0, 0, 1], http));
    let get = |path: &str| get_200(addr, path);
    // The first connection starts carbond (systemd-socket-activate execs it in
    // its own process, so the PID is carbond's).
    assert!(get("/").contains("activated"));
    thread::sleep(Duration::from_millis(100));
    let (before, workers) = worker_wakeups(p.pid());
    assert_eq!(workers, 4);
    const CONNECTIONS: u64 = 100;
    for _ in 0..CONNECTIONS {
        assert!(get("/").contains("activated"));
        // Let the worker finish the close and block in epoll_wait again, so every
        // connection meets four idle workers: the case where a herd wakes them all.
        thread::sleep(Duration::from_millis(3));
    }
    let (after, _) = worker_wakeups(p.pid());
    let wakeups = after - before;
    let metrics = get("/metrics");
    let (accepted, workers) = per_worker_sum(&metrics, "carbon_worker_connections_accepted_total");
    assert_eq!(workers, 4, "{metrics}");
    assert!(accepted > CONNECTIONS, "{metrics}");
    eprintln!("{CONNECTIONS} connections, 4 workers: {wakeups} worker wake-ups");
    // Exclusive: one wake-up per connection, two when the request lags the accept,
    // plus the workers' 500 ms liveness ticks. A herd: at least four per connection.
    assert!(
        wakeups < CONNECTIONS * 3,
        "{wakeups} worker wake-ups for {CONNECTIONS} connections"
    );
}

/// `listen_defer_accept` (TCP_DEFER_ACCEPT) applies to a socket passed by socket
/// activation as to one carbond binds: a client that connects and stays silent is
/// not handed to a worker.
#[test]
fn socket_activated_listener_defers_accept_until_the_first_bytes() {
    if !socket_activate_available() {
        return;
    }
    let (http, _) = free_ports();
    let (_dir, conf) = site(&format!(
        "port = {http}\nmetrics_path = /metrics\nlisten_defer_accept = 10s\n"
    ));
    let _carbond = activate_on(http, &conf);
    let addr = SocketAddr::from(([127, 0, 0, 1], http));
    let get = |path: &str| get_200(addr, path);
    // The first connection starts carbond, which then sets the option.
    assert!(get("/").contains("activated"));
    let accepted = || {
        let metrics = get("/metrics");
        per_worker_sum(&metrics, "carbon_worker_connections_accepted_total").0
    };
    let before = accepted();
    let _silent = std::net::TcpStream::connect(addr).unwrap();
    thread::sleep(Duration::from_millis(500));
    // Only the second metrics request's own connection was accepted meanwhile.
    assert_eq!(accepted(), before + 1, "the silent connection was accepted");
}
