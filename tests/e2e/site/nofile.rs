//! The open-file limit: carbond raises its soft RLIMIT_NOFILE to the hard limit at
//! start-up, and warns, naming both numbers, when the hard limit is too low for
//! `max_connections`. The daemon is started under `prlimit` (util-linux) so the
//! limits are the test's, not the machine's.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::CARBOND;

/// Starts carbond under `prlimit --nofile=SOFT:HARD` and returns its output up to the
/// `listening` line, plus the soft limit read from /proc while it runs.
fn start_limited(soft: u64, hard: u64, max_connections: usize) -> (String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let conf = dir.path().join("carbon.conf");
    std::fs::write(
        &conf,
        format!(
            "port = 0\nwww_path = {}\nmax_threads = 2\nmax_connections = {max_connections}\nallow_root = true\n",
            www.display()
        ),
    )
    .unwrap();
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(CARBOND)
        .arg("--config")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prlimit (util-linux)");
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(l);
        }
    });
    let mut out = String::new();
    let mut listening = false;
    // Until the listening line, then a short while for stderr lines still in flight.
    while let Ok(l) = rx.recv_timeout(if listening {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(10)
    }) {
        listening |= l.contains("listening on http://");
        out.push_str(&l);
        out.push('\n');
    }
    assert!(listening, "carbond did not start:\n{out}");
    // prlimit execs carbond, so the child's PID is carbond's.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let soft_now = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    (out, soft_now)
}

#[test]
fn nofile_hard_limit_too_low_for_max_connections_warns_naming_both_numbers() {
    let (out, soft) = start_limited(100, 300, 5000);
    assert_eq!(soft, 300, "soft limit not raised to the hard limit");
    let line = out
        .lines()
        .find(|l| l.contains("open-file limit"))
        .unwrap_or_else(|| panic!("no warning:\n{out}"));
    assert!(
        line.contains("open-file limit 300 (soft; hard limit 300)")
            && line.contains("max_connections = 5000")
            && line.contains("10072"),
        "{line}"
    );
}

#[test]
fn nofile_soft_limit_is_raised_silently_when_the_hard_limit_suffices() {
    let (out, soft) = start_limited(100, 4096, 1000);
    assert_eq!(soft, 4096, "soft limit not raised:\n{out}");
    assert!(!out.contains("open-file limit"), "{out}");
}
