//! The error log as an operator reads it: a failed reopen is not reported as a
//! success, `advanced` shows no internal tokens, debug lines name the client, and
//! under journald standard-error lines carry `<N>` priority prefixes. Also SIGQUIT.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{wait_for_text, Server, CARBOND};
use crate::systemd::{site, Proc};

#[test]
fn failed_log_reopen_is_not_reported_as_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (_site, conf) = site(&format!("log_file = {}/error.log\n", logs.display()));
    let mut p = Proc::spawn(Command::new(CARBOND).arg("-c").arg(&conf));
    p.wait_output("listening on http://", Duration::from_secs(10));
    let old = dir.path().join("logs.old");
    wait_for_text(&logs.join("error.log"), "started");
    // Rotation gone wrong: the directory is moved away and a file takes its name,
    // so the log cannot be opened again by name.
    std::fs::rename(&logs, &old).unwrap();
    std::fs::write(&logs, "not a directory").unwrap();
    p.signal("USR1");
    let text = wait_for_text(&old.join("error.log"), "cannot reopen the error log");
    thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(old.join("error.log")).unwrap_or(text);
    assert!(
        !text.contains("log files reopened"),
        "a failed reopen reported as success:\n{text}"
    );
    assert!(text.contains("SIGUSR1"), "signal not named:\n{text}");
    p.signal("TERM");
    assert!(p.wait_exit(Duration::from_secs(10)).is_some());
    let text = std::fs::read_to_string(old.join("error.log")).unwrap();
    assert!(text.contains("SIGTERM: stopping gracefully"), "{text}");
    assert!(!text.contains("signal 15"), "{text}");
}

#[test]
fn advanced_log_mode_shows_no_internal_tokens_and_debug_lines_name_the_client() {
    let s = Server::start("log_mode = advanced");
    assert_eq!(s.get("/index.html", "").status, 200);
    // A request the engine rejects: its debug line comes from code that does not
    // know the peer.
    let _ = s.raw(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.output().contains("rejecting request") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let out = s.output();
    assert!(
        !out.contains("Token("),
        "internal tokens in the log:\n{out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("rejecting request"))
        .unwrap_or_else(|| panic!("no debug line for the rejected request:\n{out}"));
    assert!(line.contains("client 127.0.0.1:"), "{line}");
}

#[test]
fn under_journald_stderr_lines_carry_priority_prefixes() {
    let (dir, conf) = site("");
    let err_path = dir.path().join("stderr.txt");
    let err = std::fs::File::create(&err_path).unwrap();
    use std::os::unix::fs::MetadataExt;
    let md = err.metadata().unwrap();
    let mut child = Command::new(CARBOND)
        .arg("-c")
        .arg(&conf)
        .env("JOURNAL_STREAM", format!("{}:{}", md.dev(), md.ino()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let text = wait_for_text(&err_path, "started");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    let started = text.lines().find(|l| l.contains("started")).unwrap();
    assert!(started.starts_with("<6>carbond"), "{started}");
    // No timestamp: the journal adds its own.
    assert!(!started.contains("[info]"), "{started}");
}

#[test]
fn stderr_without_journald_keeps_timestamps() {
    let s = Server::start("");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.output().contains("started") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let out = s.output();
    let started = out
        .lines()
        .find(|l| l.contains("started"))
        .unwrap_or_else(|| panic!("no start line:\n{out}"));
    assert!(started.contains("[info]"), "{started}");
    assert!(!started.contains("<6>"), "{started}");
}

#[test]
fn sigquit_stops_at_once_without_draining() {
    let mut s = Server::start("shutdown_timeout = 60s");
    // A connection in the middle of a request: a graceful stop would wait for it.
    let mut c = s.connect();
    c.stream.write_all(b"GET /index.html HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    s.signal("QUIT");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(st.is_some(), "still running 5 s after SIGQUIT");
    assert!(t.elapsed() < Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.output().contains("SIGQUIT: stopping at once") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        s.output().contains("SIGQUIT: stopping at once"),
        "{}",
        s.output()
    );
}

#[test]
fn log_target_syslog_without_a_syslog_daemon_fails_clearly() {
    if std::path::Path::new("/dev/log").exists() {
        eprintln!("SKIPPED: /dev/log exists here; this test needs a machine without syslog");
        return;
    }
    let (_dir, conf) = site("log_target = syslog\n");
    let mut p = Proc::spawn(Command::new(CARBOND).arg("-c").arg(&conf));
    let st = p.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{}", p.output());
    assert!(
        p.output()
            .contains("log_target = syslog: cannot reach syslog"),
        "{}",
        p.output()
    );
}
