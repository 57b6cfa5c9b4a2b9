//! Hot reload (SIGHUP) and graceful stop, end to end: a changed document root takes
//! effect, a broken file is refused while the old configuration keeps serving, 20
//! reloads under load (one swapping the certificate) fail no request and reset no
//! connection, and SIGTERM lets an in-flight 50 MiB download finish.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Conn, Server};
use crate::tls::{cert_der, client_config, gen_cert, https_get, TlsServer};

/// Sets `key = value` in the config file, replacing the key's line or appending it
/// (keys are unique in a file). Written to a temporary name and renamed, as an
/// editor or a deploy tool would, so a reload never reads a half-written file.
pub fn set_keys(conf: &Path, pairs: &[(&str, &str)]) {
    let text = std::fs::read_to_string(conf).unwrap();
    let mut out = String::new();
    let mut done = vec![false; pairs.len()];
    for line in text.lines() {
        let key = line.split_once('=').map(|(k, _)| k.trim());
        match pairs.iter().position(|(k, _)| Some(*k) == key) {
            Some(i) => {
                out.push_str(&format!("{} = {}\n", pairs[i].0, pairs[i].1));
                done[i] = true;
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if !done[i] {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    let tmp = conf.with_extension("tmp");
    std::fs::write(&tmp, out).unwrap();
    std::fs::rename(&tmp, conf).unwrap();
}

/// Sends SIGHUP and waits for the log line reporting `generation`, or for a refusal
/// (returned as `Err` with the daemon's output).
pub fn reload(s: &Server, generation: u64) -> Result<(), String> {
    let before = s.output().matches("reload refused").count();
    s.signal("HUP");
    let want = format!("configuration reloaded (generation {generation})");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = s.output();
        if out.contains(&want) {
            return Ok(());
        }
        if out.matches("reload refused").count() > before {
            // Let the lines naming the problems arrive too.
            thread::sleep(Duration::from_millis(100));
            return Err(s.output());
        }
        assert!(
            Instant::now() < deadline,
            "no reload result 15 s after SIGHUP:\n{out}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn make_root(dir: &Path, marker: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), format!("<p>{marker}</p>\n")).unwrap();
}

#[test]
fn sighup_reload_with_changed_document_root_takes_effect() {
    let s = Server::start("");
    let conf = s.base().join("carbon.conf");
    let second = s.base().join("second");
    make_root(&second, "the second root");
    assert!(!s.get("/", "").body_str().contains("the second root"));
    set_keys(&conf, &[("www_path", second.to_str().unwrap())]);
    reload(&s, 2).unwrap();
    let r = s.get("/", "");
    assert_eq!(r.status, 200);
    assert!(r.body_str().contains("the second root"), "{}", r.body_str());
}

#[test]
fn sighup_reload_of_a_broken_file_is_refused_naming_file_line_and_key() {
    let mut s = Server::start("");
    let conf = s.base().join("carbon.conf");
    let before = s.get("/index.html", "").body;
    let second = s.base().join("second");
    make_root(&second, "must not be served");
    set_keys(&conf, &[("www_path", second.to_str().unwrap())]);
    let good = std::fs::read_to_string(&conf).unwrap();
    let line = good.lines().count() + 1;
    std::fs::write(&conf, format!("{good}bogus_reload_key = 1\n")).unwrap();
    let out = reload(&s, 2).expect_err("a broken file must be refused");
    assert!(out.contains("bogus_reload_key"), "key not named:\n{out}");
    assert!(
        out.contains(&format!("carbon.conf:{line}")),
        "file:line not named:\n{out}"
    );
    // Nothing of the new file applies, not even its valid www_path line.
    assert!(s.is_running());
    assert_eq!(s.get("/index.html", "").body, before);
    // Fixed, the file loads as generation 2: the refusal consumed no generation.
    std::fs::write(&conf, good).unwrap();
    reload(&s, 2).unwrap();
    assert!(s.get("/", "").body_str().contains("must not be served"));
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String) {
        self.failures.lock().unwrap().push(what);
    }
}

/// Load for the reload test: keep-alive and new-connection HTTP/1.1 plus new TLS
/// connections, bounded by `stop` (set after the reloads) and a hard 60 s cap.
fn spawn_load(
    ts: &TlsServer,
    tls_roots: Vec<std::path::PathBuf>,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> Vec<thread::JoinHandle<()>> {
    let addr = ts.server.addr();
    let https = ts.https_addr();
    let cap = Instant::now() + Duration::from_secs(60);
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (stop, tally) = (stop.clone(), tally.clone());
        threads.push(thread::spawn(move || {
            let mut c = Conn::connect(addr);
            while !stop.load(Ordering::Relaxed) && Instant::now() < cap {
                c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                match c.try_response(false) {
                    Ok(r) if r.status == 200 => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => tally.fail(format!("keep-alive: status {}", r.status)),
                    Err(e) => {
                        tally.fail(format!("keep-alive: {e}"));
                        c = Conn::connect(addr);
                    }
                }
            }
        }));
    }
    {
        let (stop, tally) = (stop.clone(), tally.clone());
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && Instant::now() < cap {
                let mut c = Conn::connect(addr);
                c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                match c.try_response(false) {
                    Ok(r) if r.status == 200 => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => tally.fail(format!("new connection: status {}", r.status)),
                    Err(e) => tally.fail(format!("new connection: {e}")),
                }
            }
        }));
    }
    {
        let roots: Vec<&Path> = tls_roots.iter().map(|p| p.as_path()).collect();
        let cfg = Arc::new(client_config(rustls::ALL_VERSIONS, &roots));
        threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && Instant::now() < cap {
                match https_get(https, &cfg, "localhost", "/index.html") {
                    Ok(x) if x.response.status == 200 => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(x) => tally.fail(format!("https: status {}", x.response.status)),
                    Err(e) => tally.fail(format!("https: {e}")),
                }
            }
        }));
    }
    threads
}

#[test]
fn twenty_reloads_under_load_fail_no_request_and_reset_no_connection() {
    let ts = TlsServer::start("");
    let s = &ts.server;
    let conf = s.base().join("carbon.conf");
    let www = s.www();
    let second = s.base().join("second");
    make_root(&second, "second root");
    let new_certs = tempfile::tempdir().unwrap();
    let (cert_b, key_b) = gen_cert(new_certs.path(), &[]);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let load = spawn_load(
        &ts,
        vec![ts.cert.clone(), cert_b.clone()],
        stop.clone(),
        tally.clone(),
    );
    let started = Instant::now();
    for i in 0..20u64 {
        let root = if i % 2 == 0 { &second } else { &www };
        let mut pairs = vec![("www_path", root.to_str().unwrap())];
        if i == 10 {
            pairs.push(("ssl_cert_path", cert_b.to_str().unwrap()));
            pairs.push(("ssl_key_path", key_b.to_str().unwrap()));
        }
        set_keys(&conf, &pairs);
        reload(s, i + 2).unwrap_or_else(|out| panic!("reload {i} refused:\n{out}"));
        thread::sleep(Duration::from_millis(200));
    }
    // At least ~5 s of load in all.
    while started.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    let failures = tally.failures.lock().unwrap();
    let ok = tally.ok.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} failed requests (of {}): {:?}",
        failures.len(),
        ok + failures.len() as u64,
        &failures[..failures.len().min(10)]
    );
    assert!(ok > 100, "too little load to prove anything: {ok} requests");

    // The certificate swap took effect for new connections.
    let only_b = Arc::new(client_config(rustls::ALL_VERSIONS, &[&cert_b]));
    let x = https_get(ts.https_addr(), &only_b, "localhost", "/index.html").unwrap();
    assert_eq!(x.peer_cert.unwrap(), cert_der(&cert_b));
    // The last reload (i = 19) pointed at the original root.
    assert!(s
        .get("/", "")
        .body_str()
        .contains("hello from the e2e index"));
}

#[test]
fn sigterm_lets_an_in_flight_50_mib_download_finish() {
    const SIZE: usize = 50 * 1024 * 1024;
    let mut s = Server::start("");
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(s.www().join("fifty.bin"), &data).unwrap();
    let mut c = s.connect();
    c.send(b"GET /fifty.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut got = Vec::with_capacity(SIZE + 1024);
    let mut buf = vec![0u8; 64 * 1024];
    while got.len() < 1024 * 1024 {
        let n = c.stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    s.signal("TERM");
    // Slow down a little so the drain really overlaps the transfer.
    thread::sleep(Duration::from_millis(300));
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("download cut after {} bytes: {e}", got.len()),
        }
    }
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert_eq!(got.len() - head_end, SIZE, "body length");
    assert!(got[head_end..] == data[..], "body content differs");
    let st = s.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|st| st.success()), "exit status {st:?}");
    assert!(
        s.output().contains("SIGTERM: stopping gracefully"),
        "{}",
        s.output()
    );
}

#[test]
fn reload_moving_the_port_binds_the_new_one_and_lets_open_connections_finish() {
    let s = Server::start("");
    let conf = s.base().join("carbon.conf");
    let old = s.addr();
    // A keep-alive connection opened before the move.
    let mut kept = s.connect();
    kept.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(kept.response().status, 200);

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    set_keys(&conf, &[("port", &port.to_string())]);
    reload(&s, 2).unwrap();
    assert!(
        s.output()
            .contains(&format!("listening on http://127.0.0.1:{port}")),
        "{}",
        s.output()
    );
    let mut c = Conn::connect(([127, 0, 0, 1], port).into());
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response().status, 200);
    // The connection from before still works, under its own generation.
    kept.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(kept.response().status, 200);
    // Every worker has dropped the old socket: nobody listens there any more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(old).is_ok() {
        assert!(Instant::now() < deadline, "old port {old} still accepting");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reload_with_an_unreadable_certificate_is_refused_and_tls_keeps_serving() {
    let ts = TlsServer::start("");
    let s = &ts.server;
    let conf = s.base().join("carbon.conf");
    let missing = s.base().join("no-such-cert.pem");
    set_keys(&conf, &[("ssl_cert_path", missing.to_str().unwrap())]);
    let line = std::fs::read_to_string(&conf)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("ssl_cert_path"))
        .unwrap()
        + 1;
    let out = reload(s, 2).expect_err("a missing certificate must refuse the reload");
    assert!(
        out.contains(&format!("carbon.conf:{line}: ssl_cert_path")),
        "file, line and key not named:\n{out}"
    );
    assert!(out.contains(&missing.display().to_string()), "{out}");
    let cfg = Arc::new(ts.client(rustls::ALL_VERSIONS));
    let x = https_get(ts.https_addr(), &cfg, "localhost", "/index.html").unwrap();
    assert_eq!(x.response.status, 200);
    assert_eq!(x.peer_cert.unwrap(), cert_der(&ts.cert));
}
