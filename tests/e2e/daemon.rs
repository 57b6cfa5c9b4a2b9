//! Start-up modes and privileges: `--daemon` detaches only once listening, the pid
//! file is written, locked and refused to a second instance, and a carbond started
//! as root serves as `user` (or refuses to serve as root).

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{run_carbond, Conn, Server};
use crate::systemd::{site, Proc};

const T: Duration = Duration::from_secs(20);

fn alive(pid: u32) -> bool {
    // A zombie has no cwd link; a reaped process has no directory at all.
    Path::new(&format!("/proc/{pid}/cwd")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .contains("State:\tZ")
}

fn port_from(out: &str) -> u16 {
    out.lines()
        .find_map(|l| l.split("listening on http://").nth(1))
        .and_then(|a| a.trim().rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no listening line in:\n{out}"))
}

/// Stops a daemon we started (by its own pid) and waits until it is gone.
struct Daemon(u32);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(self.0) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn daemon_detaches_once_listening_and_the_pid_file_refuses_a_second_instance() {
    let (dir, conf) = site("");
    let pid_file = dir.path().join("run/carbond.pid");
    std::fs::create_dir(dir.path().join("run")).unwrap();
    let log = dir.path().join("error.log");
    let text = std::fs::read_to_string(&conf).unwrap();
    // Relative paths: the daemon runs in / but they keep meaning the start directory.
    std::fs::write(
        &conf,
        format!("{text}pid_file = run/carbond.pid\nlog_file = error.log\n"),
    )
    .unwrap();

    let out = Command::new(crate::harness::CARBOND)
        .args(["--daemon", "--config", "carbon.conf"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{text}", out.status);
    let pid: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("carbond: running in the background, pid "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid line:\n{text}"));
    let _stop = Daemon(pid);
    // When the parent returned, the daemon was already serving.
    let port = port_from(&text);
    let mut c = Conn::connect(([127, 0, 0, 1], port).into());
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(c.response().status, 200);

    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        Path::new("/")
    );
    // setsid ran in the intermediate process: the daemon is in a session it does
    // not lead (field 6 of /proc/PID/stat is the session id).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let session: u32 = after.split(' ').nth(3).unwrap().parse().unwrap();
    assert_ne!(session, pid, "the daemon must not be a session leader");
    let own_session = std::fs::read_to_string("/proc/self/stat").unwrap();
    let own = &own_session[own_session.rfind(')').unwrap() + 2..];
    assert_ne!(own.split(' ').nth(3).unwrap(), session.to_string());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("carbond 0.1.0 started"));

    // A second instance with the same pid file refuses, naming the first.
    let second = Command::new(crate::harness::CARBOND)
        .args(["--config", "carbon.conf"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(!second.status.success(), "{text}");
    assert!(text.contains("refusing"), "{text}");
    assert!(text.contains(&pid.to_string()), "{text}");

    // SIGTERM: the daemon stops and removes its pid file.
    drop(_stop);
    assert!(!alive(pid));
    assert!(!pid_file.exists(), "pid file left behind");
}

#[test]
fn daemon_start_failure_reaches_the_terminal_and_exits_non_zero() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_dir, conf) = site(&format!("port = {port}\n"));
    let (st, out) = run_carbond(&["--daemon", "--config", conf.to_str().unwrap()], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    assert!(out.contains(&port.to_string()), "{out}");
    assert!(out.contains("did not start"), "{out}");
}

fn is_root() -> bool {
    let st = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = st.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let root = uid.split_whitespace().nth(2) == Some("0");
    if !root {
        eprintln!("SKIPPED: privilege tests need root (the CI runs as root)");
    }
    root
}

#[test]
fn started_as_root_with_user_serves_as_that_user() {
    if !is_root() {
        eprintln!("SKIPPED: privilege drop needs the tests to run as root");
        return;
    }
    // A document root nobody can read: outside the harness's 0700 temp directory.
    let root = tempfile::Builder::new()
        .prefix("carbond-e2e-priv-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.path().join("index.html"), "<p>as nobody</p>\n").unwrap();
    let s = Server::start(&format!(
        "www_path = {}\nuser = nobody\nallow_root = false\naccess_log = {{base}}/access.log\n",
        root.path().display()
    ));
    // Created as root before the drop, then handed over: a reopen after rotation
    // (as nobody) must still be able to write it.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(s.base().join("access.log")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("Uid:"), ["65534"; 4], "{status}");
    assert_eq!(line("Gid:"), ["65534"; 4], "{status}");
    assert_eq!(line("Groups:"), ["65534"], "{status}");
    let r = s.get("/", "");
    assert_eq!(r.status, 200);
    assert!(r.body_str().contains("as nobody"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.output().contains("switched to user nobody") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        s.output().contains("switched to user nobody"),
        "{}",
        s.output()
    );
}

#[test]
fn serving_as_root_is_refused_without_allow_root() {
    if !is_root() {
        return;
    }
    let (_dir, conf) = site("allow_root = false\n");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text = text.replace("allow_root = true\n", "");
    std::fs::write(&conf, text).unwrap();
    let mut p = Proc::spawn(Command::new(crate::harness::CARBOND).arg("-c").arg(&conf));
    let st = p.wait_exit(T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{}", p.output());
    let out = p.output();
    assert!(out.contains("refusing to serve as root"), "{out}");
    assert!(out.contains("allow_root = true"), "{out}");
}
