//! The control socket and carbonctl, end to end: the real carbonctl binary against a
//! real carbond (docs/carbonctl.md, docs/control-protocol.md).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::harness::{Server, CARBOND};

/// An unused uid/gid for "someone outside the control group".
const OUTSIDER: u32 = 65533;

/// The carbonctl binary next to carbond. This test target belongs to carbond's
/// package, so cargo does not hand it carbonctl's path: build it once (a no-op when
/// `cargo test --workspace` already did) with the cargo that runs the tests, into the
/// same target directory and profile.
pub fn carbonctl() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bin_dir = Path::new(CARBOND).parent().unwrap().to_path_buf();
        let profile = bin_dir.file_name().unwrap().to_string_lossy().to_string();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "carbonctl", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(bin_dir.parent().unwrap());
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p carbonctl");
        assert!(status.success(), "cargo build -p carbonctl failed");
        let path = bin_dir.join("carbonctl");
        assert!(path.exists(), "{} missing after build", path.display());
        path
    })
}

fn ctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(carbonctl())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run carbonctl")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sock(s: &Server) -> PathBuf {
    s.base().join("carbond.sock")
}

fn stats_json(s: &Server) -> serde_json::Value {
    let o = ctl(&sock(s), &["stats", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// One raw request line on the control socket; the reply line as JSON.
fn raw_control(socket: &Path, bytes: &[u8]) -> serde_json::Value {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let line = out.split(|&b| b == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap_or_else(|e| panic!("{e}: {:?}", out))
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn carbonctl_status_reports_the_running_daemon() {
    let s = Server::start("");
    let o = ctl(&sock(&s), &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(&format!("pid {}", s.pid())), "{out}");
    assert!(
        out.contains(&format!("http://127.0.0.1:{}", s.port())),
        "{out}"
    );
    let o = ctl(&sock(&s), &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pid"], s.pid());
    assert_eq!(v["config_generation"], 1);
    assert_eq!(v["workers"], 2);
}

/// Issue 17.8: one 200, one 404 and one request without Host (400, rejected by the
/// engine, RFC 9112 §3.2) are three answered requests: 2xx=1, 4xx=2.
#[test]
fn stats_count_every_answered_request_once() {
    let s = Server::start("");
    assert_eq!(s.get("/", "").status, 200);
    assert_eq!(s.get("/no-such-file", "").status, 404);
    let r = s.request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 400);
    // The counters are updated before each response is written, so they are final.
    let v = stats_json(&s);
    let t = &v["total"];
    assert_eq!(t["requests"], 3, "{v}");
    assert_eq!(t["responses"]["2xx"], 1, "{v}");
    assert_eq!(t["responses"]["4xx"], 2, "{v}");
    assert_eq!(t["rejected"], 1, "{v}");
    assert_eq!(t["connections"]["http"]["total"], 3, "{v}");
    let per_worker: u64 = v["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(per_worker, 3, "{v}");
    assert!(t["bytes_in"].as_u64().unwrap() > 0, "{v}");
    assert!(t["bytes_out"].as_u64().unwrap() > 0, "{v}");
    assert!(t["file_cache_misses"].as_u64().unwrap() >= 1, "{v}");

    let o = ctl(&sock(&s), &["stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let human = text(&o);
    assert!(human.contains("2xx"), "{human}");
    let o = ctl(&sock(&s), &["stats", "--prometheus"]);
    let prom = text(&o);
    assert!(prom.contains("carbon_requests_total 3\n"), "{prom}");
    assert!(
        prom.contains("carbon_responses_total{class=\"4xx\"} 2\n"),
        "{prom}"
    );
}

#[test]
fn metrics_path_serves_prometheus_text_to_loopback() {
    let s = Server::start("metrics_path = /metrics");
    assert_eq!(s.get("/", "").status, 200);
    let r = s.get("/metrics", "");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let body = String::from_utf8(r.body).unwrap();
    assert!(
        body.contains("# TYPE carbon_requests_total counter"),
        "{body}"
    );
    assert!(
        body.contains("carbon_responses_total{class=\"2xx\"} 1\n"),
        "{body}"
    );
}

#[test]
fn carbonctl_stop_stops_carbond_and_removes_the_socket() {
    let mut s = Server::start("");
    let o = ctl(&sock(&s), &["stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let st = s.wait_exit(Duration::from_secs(10)).expect("carbond exits");
    assert!(st.success(), "{st:?}\n{}", s.output());
    assert!(!sock(&s).exists(), "socket file left behind");
    let o = ctl(&sock(&s), &["status"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn carbonctl_reopen_logs_reopens_the_access_log() {
    let s = Server::start("access_log = {base}/access.log");
    let log = s.base().join("access.log");
    assert_eq!(s.get("/", "").status, 200);
    let rotated = s.base().join("access.log.1");
    wait_for(
        || std::fs::metadata(&log).is_ok_and(|m| m.len() > 0),
        "first line",
    );
    std::fs::rename(&log, &rotated).unwrap();
    let o = ctl(&sock(&s), &["reopen-logs"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(s.get("/sub/", "").status, 200);
    wait_for(
        || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("GET /sub/")),
        "line in the reopened log",
    );
}

#[test]
fn carbonctl_reload_applies_the_edited_file_and_refuses_a_broken_one_with_its_line() {
    let s = Server::start("");
    let conf = s.base().join("carbon.conf");
    // A second document root: the reload must make it the one served.
    let other = s.base().join("www2");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("index.html"), "second root\n").unwrap();
    let text0 = std::fs::read_to_string(&conf).unwrap();
    let www_line = text0
        .lines()
        .find(|l| l.starts_with("www_path"))
        .unwrap()
        .to_owned();
    std::fs::write(
        &conf,
        text0.replace(&www_line, &format!("www_path = {}", other.display())),
    )
    .unwrap();
    let o = ctl(&sock(&s), &["reload"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("generation 2"), "{}", text(&o));
    assert_eq!(s.get("/", "").body_str(), "second root\n");
    // The reloaded service still counts its file cache: a second GET of the same
    // file is a hit.
    let hits = |v: &serde_json::Value| v["total"]["file_cache_hits"].as_u64().unwrap_or(0);
    let before = hits(&stats_json(&s));
    for _ in 0..2 {
        assert_eq!(s.get("/", "").body_str(), "second root\n");
    }
    let after = stats_json(&s);
    assert!(
        hits(&after) > before,
        "no cache hit counted after the reload: {after}"
    );

    // A broken edit: refused with file and line, exit 1, the old root keeps serving.
    let good = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{good}port = not-a-port\n")).unwrap();
    let bad_line = good.lines().count() + 1;
    let o = ctl(&sock(&s), &["reload"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("carbon.conf:{bad_line}")) && text(&o).contains("port"),
        "{}",
        text(&o)
    );
    assert_eq!(s.get("/", "").body_str(), "second root\n");
    let o = ctl(&sock(&s), &["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["config_generation"], 2, "{v}");
    assert_eq!(v["last_reload"]["ok"], false, "{v}");
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn carbonctl_without_carbond_says_not_running_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("carbond.sock");
    let o = ctl(&missing, &["status"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains(&format!(
            "carbond is not running (no socket at {})",
            missing.display()
        )),
        "{}",
        text(&o)
    );
    // A socket file nobody listens on (left by a crash).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let o = ctl(&stale, &["stats"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("carbond is not running"), "{}", text(&o));
}

/// A second carbond configured with the same control socket serves, but leaves the
/// first one's socket alone and says so.
#[test]
fn second_carbond_never_takes_over_a_live_control_socket() {
    let s = Server::start("");
    let conf = s.base().join("second.conf");
    std::fs::write(
        &conf,
        format!(
            "port = 0\nallow_root = true\nwww_path = {}\ncontrol_socket = {}\n",
            s.www().display(),
            sock(&s).display()
        ),
    )
    .unwrap();
    let mut second = Command::new(CARBOND)
        .arg("--config")
        .arg(&conf)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read its standard error on a thread, so a missing line fails after 10 s
    // instead of blocking on a daemon that keeps running.
    let err = second.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(err)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = false;
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("another carbond is running") {
            found = true;
            break;
        }
    }
    let still_running = second.try_wait().unwrap().is_none();
    let _ = second.kill();
    let _ = second.wait();
    assert!(found, "no warning about the live control socket");
    assert!(still_running, "the second carbond should keep serving");
    // The first one still answers on its socket, which is still its own.
    let o = ctl(&sock(&s), &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("pid {}", s.pid())),
        "{}",
        text(&o)
    );
}

#[test]
fn control_socket_is_mode_0660() {
    let s = Server::start("");
    let mode = std::fs::metadata(sock(&s)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
}

/// Runs carbonctl as `uid`/`gid` with no supplementary groups (std drops them when
/// root changes uid). `None` (with a loud skip) when that is impossible here.
fn ctl_as(uid: u32, gid: u32, socket: &Path, args: &[&str]) -> Option<Output> {
    if !is_root() {
        eprintln!("SKIPPED: needs root to run carbonctl as another user");
        return None;
    }
    let res = Command::new(carbonctl())
        .uid(uid)
        .gid(gid)
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output();
    match res {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "SKIPPED: uid {uid} cannot execute {}: {e}",
                carbonctl().display()
            );
            None
        }
        Err(e) => panic!("run carbonctl as {uid}: {e}"),
    }
}

/// Lets other users reach the socket file through the test's private directory.
fn open_base(s: &Server) {
    std::fs::set_permissions(s.base(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The socket's mode (0660, root's group here) keeps an outsider from connecting.
#[test]
fn control_socket_refuses_a_user_outside_the_group() {
    let s = Server::start("");
    open_base(&s);
    let Some(o) = ctl_as(OUTSIDER, OUTSIDER, &sock(&s), &["stats"]) else {
        return;
    };
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("permission denied"), "{}", text(&o));
    assert!(text(&o).contains("add yourself to group"), "{}", text(&o));
}

/// SO_PEERCRED is checked too: with the socket's mode loosened by hand, an outsider
/// connects but is refused by carbond, which logs it.
#[test]
fn peer_credentials_refuse_an_outsider_even_on_a_loosened_socket() {
    let s = Server::start("");
    open_base(&s);
    std::fs::set_permissions(sock(&s), std::fs::Permissions::from_mode(0o666)).unwrap();
    let Some(o) = ctl_as(OUTSIDER, OUTSIDER, &sock(&s), &["stop"]) else {
        return;
    };
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("permission denied"), "{}", text(&o));
    wait_for(
        || s.output().contains("control: refused pid"),
        "refusal log line",
    );
    // Still running and serving: the refused `stop` did nothing.
    assert_eq!(s.get("/", "").status, 200);
}

/// A member of `control_group` (here by primary group) may control carbond.
#[test]
fn control_group_member_is_allowed() {
    let Ok(Some(group)) = nix::unistd::Group::from_name("nogroup") else {
        eprintln!("SKIPPED: no group `nogroup` on this machine");
        return;
    };
    let s = Server::start("control_group = nogroup");
    open_base(&s);
    let Some(o) = ctl_as(OUTSIDER, group.gid.as_raw(), &sock(&s), &["status"]) else {
        return;
    };
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("pid {}", s.pid())),
        "{}",
        text(&o)
    );
}

#[test]
fn malformed_oversized_and_unversioned_requests_get_errors_and_serving_goes_on() {
    let s = Server::start("");
    let socket = sock(&s);
    let v = raw_control(&socket, b"hello\n");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "bad_request");
    let v = raw_control(&socket, b"{\"v\":99,\"cmd\":\"stats\"}\n");
    assert_eq!(v["error"]["code"], "unsupported_version");
    let v = raw_control(&socket, b"{\"v\":1,\"cmd\":\"rm-rf\"}\n");
    assert_eq!(v["error"]["code"], "bad_request");
    let v = raw_control(&socket, &vec![b'{'; 100_000]);
    assert_eq!(v["error"]["code"], "too_large");
    let v = raw_control(&socket, b"{\"v\":1,\"cmd\":\"stats\"}\n");
    assert_eq!(v["ok"], true);
    assert_eq!(v["result"]["type"], "stats");
    assert_eq!(s.get("/", "").status, 200);
}

/// A client that connects and sends nothing is answered with a timeout and closed;
/// meanwhile other clients are served.
#[test]
fn slow_control_client_times_out_without_blocking_others() {
    let s = Server::start("");
    let socket = sock(&s);
    let mut slow = UnixStream::connect(&socket).unwrap();
    slow.write_all(b"{\"v\":1,").unwrap();
    let started = Instant::now();
    assert_eq!(ctl(&socket, &["status"]).status.code(), Some(0));
    assert_eq!(s.get("/", "").status, 200);
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut out = String::new();
    let _ = slow.read_to_string(&mut out);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["code"], "timeout");
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[test]
fn carbonctl_check_config_reports_errors_with_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.conf");
    std::fs::write(&good, "port = 8080\nwww_path = .\n").unwrap();
    let o = Command::new(carbonctl())
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("ok: listening on 127.0.0.1:8080"),
        "{}",
        text(&o)
    );
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "port = 8080\nlisten_backlog = lots\n").unwrap();
    let o = Command::new(carbonctl())
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(":2"), "{}", text(&o));
    assert!(text(&o).contains("listen_backlog"), "{}", text(&o));
}

#[test]
fn carbonctl_generates_completions_and_man_pages() {
    let o = Command::new(carbonctl())
        .args(["generate", "completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("reopen-logs"));
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(carbonctl())
        .args(["generate", "man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = std::fs::read_to_string(dir.path().join("carbonctl.1")).unwrap();
    assert!(page.contains(".TH carbonctl"), "{page}");
}

/// A log the disk refuses (`/dev/full`: every write fails with ENOSPC) shows up in
/// `log_write_errors` instead of being lost silently; serving goes on.
#[test]
fn failed_access_log_writes_are_counted() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full on this machine");
        return;
    }
    let s = Server::start("access_log = /dev/full");
    assert_eq!(s.get("/", "").status, 200);
    // Lines are handed to the writer about once a second.
    wait_for(
        || stats_json(&s)["log_write_errors"].as_u64().unwrap() >= 1,
        "a counted log write error",
    );
    assert_eq!(s.get("/", "").status, 200);
}

/// `stats --json --watch 1` prints one JSON object per line and interval, with live
/// numbers, until it is stopped.
#[test]
fn carbonctl_stats_watch_streams_one_json_object_per_interval() {
    let s = Server::start("");
    let mut child = Command::new(carbonctl())
        .arg("--socket")
        .arg(sock(&s))
        .args(["stats", "--json", "--watch", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first: serde_json::Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(s.get("/", "").status, 200);
    let second: serde_json::Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let requests = |v: &serde_json::Value| v["total"]["requests"].as_u64().unwrap();
    assert_eq!(requests(&second), requests(&first) + 1);
}

/// HTTPS connections are counted under `https`, a completed handshake in
/// `tls_handshakes`, a peer that sends a non-TLS, non-HTTP byte in
/// `tls_handshake_failures`; plain HTTP sent to the TLS port is a rejected request.
#[test]
fn tls_connections_and_handshakes_are_counted() {
    let t = crate::tls::TlsServer::start("");
    let cfg = Arc::new(t.client(&[&rustls::version::TLS13]));
    let r = t.get(&cfg, "localhost", "/");
    assert_eq!(r.response.status, 200);
    // Not a TLS record and not an HTTP request line: the handshake fails.
    let mut c = crate::tls::tcp(t.https_addr());
    c.write_all(&[0x01, 0x02, 0x03, 0x04, 0x05]).unwrap();
    let _ = c.read_to_end(&mut Vec::new());
    // Plain HTTP on the TLS port gets a 400 and counts as a rejected request.
    let mut c = crate::tls::tcp(t.https_addr());
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut plain = Vec::new();
    let _ = c.read_to_end(&mut plain);
    assert!(plain.starts_with(b"HTTP/1.1 400"), "{plain:?}");
    wait_for(
        || stats_json(&t.server)["total"]["connections"]["https"]["open"] == 0,
        "the https connections to close",
    );
    let v = stats_json(&t.server);
    let tot = &v["total"];
    assert_eq!(tot["connections"]["https"]["total"], 3, "{v}");
    assert_eq!(tot["connections"]["http"]["total"], 0, "{v}");
    assert_eq!(tot["tls_handshakes"], 1, "{v}");
    assert_eq!(tot["tls_handshake_failures"], 1, "{v}");
    assert_eq!(tot["requests"], 2, "{v}");
    assert_eq!(tot["rejected"], 1, "{v}");
}

/// `carbonctl ... | head -1`: a reader that closed its end of the pipe is not an
/// error worth a panic; carbonctl stops quietly, like other Unix tools.
#[test]
fn carbonctl_writing_into_a_closed_pipe_exits_without_a_panic() {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    // Closed before carbonctl writes anything: every write gets EPIPE.
    drop(read_end);
    let out = Command::new(carbonctl())
        .args(["generate", "completions", "bash"])
        .stdout(std::process::Stdio::from(write_end))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
