//! The daemon's life: graceful stop on SIGTERM/SIGINT (in-flight responses finish,
//! exit status 0) and the combined-format access log.

use std::time::{Duration, Instant};

use crate::harness::*;

#[test]
fn sigterm_idle_server_exits_zero() {
    let mut s = Server::start("");
    assert_eq!(s.get("/index.html", "").status, 200);
    s.signal("TERM");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(st.is_some(), "carbond still running 5 s after SIGTERM");
    assert!(st.unwrap().success(), "exit status {:?}", st);
}

#[test]
fn sigint_exits_zero() {
    let mut s = Server::start("");
    s.signal("INT");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(st.is_some(), "carbond still running 5 s after SIGINT");
    assert!(st.unwrap().success(), "exit status {:?}", st);
}

#[test]
fn sigterm_closes_idle_keep_alive_connections_promptly() {
    // An idle keep-alive connection is not in flight: stopping must not wait for the
    // keep-alive timeout (75 s by default).
    let mut s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(c.response().status, 200);
    s.signal("TERM");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(
        st.is_some(),
        "an idle keep-alive connection held the shutdown"
    );
    assert!(st.unwrap().success());
    assert_eq!(c.wait_closed(Duration::from_secs(2)), CloseOutcome::Closed);
}

#[test]
fn sigterm_lets_an_inflight_download_finish() {
    let mut s = Server::start("");
    let mut c = s.connect();
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    // Read only the start of the response, so the rest is still in flight.
    while c.pending().len() < 16 * 1024 {
        match c.poll_data(Duration::from_secs(5)) {
            Some(n) if n > 0 => {}
            other => panic!("download did not start: {other:?}"),
        }
    }
    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    // Slow reader: small pauses between reads.
    let start = Instant::now();
    loop {
        match c.poll_data(Duration::from_secs(5)) {
            Some(0) => break,
            Some(_) => std::thread::sleep(Duration::from_millis(5)),
            None => panic!("download stalled after SIGTERM"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "download too slow"
        );
    }
    let r = parse_first(c.pending());
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG_LEN, "download truncated by shutdown");
    assert!(r.body == big_bin(), "download corrupted");
    let st = s.wait_exit(Duration::from_secs(10));
    assert!(
        st.is_some(),
        "carbond did not exit after the download finished"
    );
    assert!(st.unwrap().success(), "exit status {:?}", st);
}

#[test]
fn sigterm_waits_for_a_download_larger_than_socket_buffers() {
    // 24 MiB cannot sit in loopback socket buffers while the client has read only a
    // little, so the daemon itself must still be running to finish it: a daemon that
    // exits at once on SIGTERM fails here even though the kernel would flush a small
    // file for it.
    const COPIES: usize = 24;
    let mut s = Server::start("");
    let mut file = Vec::with_capacity(COPIES * BIG_LEN);
    for _ in 0..COPIES {
        file.extend_from_slice(big_bin());
    }
    std::fs::write(s.www().join("huge.bin"), &file).unwrap();
    drop(file);

    let mut c = s.connect();
    c.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    while c.pending().len() < 16 * 1024 {
        match c.poll_data(Duration::from_secs(5)) {
            Some(n) if n > 0 => {}
            other => panic!("download did not start: {other:?}"),
        }
    }
    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.is_running(),
        "carbond exited with most of a 24 MiB response unsent"
    );
    let start = Instant::now();
    loop {
        match c.poll_data(Duration::from_secs(5)) {
            Some(0) => break,
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
            None => panic!("download stalled after SIGTERM"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "download too slow"
        );
    }
    let r = parse_first(c.pending());
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.len(),
        COPIES * BIG_LEN,
        "download truncated by shutdown"
    );
    for (i, chunk) in r.body.chunks(BIG_LEN).enumerate() {
        assert!(chunk == big_bin(), "download corrupted in MiB {i}");
    }
    let st = s.wait_exit(Duration::from_secs(10));
    assert!(
        st.is_some(),
        "carbond did not exit after the download finished"
    );
    assert!(st.unwrap().success(), "exit status {:?}", st);
}

/// Checks `[10/Oct/2000:13:55:36 +0000]`-shaped timestamps (without the brackets).
fn assert_clf_time(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 26, "timestamp {t:?}");
    assert!(
        b[2] == b'/'
            && b[6] == b'/'
            && b[11] == b':'
            && b[14] == b':'
            && b[17] == b':'
            && b[20] == b' '
            && (b[21] == b'+' || b[21] == b'-'),
        "timestamp {t:?}"
    );
}

/// Splits a combined-format line into (timestamp, the part after `] `).
fn split_combined(line: &str) -> (&str, &str) {
    let rest = line
        .strip_prefix("127.0.0.1 - - [")
        .unwrap_or_else(|| panic!("not a combined-format line from 127.0.0.1: {line:?}"));
    let (time, after) = rest
        .split_once("] ")
        .unwrap_or_else(|| panic!("no timestamp close in {line:?}"));
    assert_clf_time(time);
    (time, after)
}

#[test]
fn access_log_has_combined_format_lines() {
    let mut s = Server::start("access_log = {base}/access.log");
    let r = s.get("/index.html", "User-Agent: e2e-agent/1.0\r\n");
    assert_eq!(r.status, 200);
    let r = s.get(
        "/missing.html",
        "User-Agent: e2e-agent/1.0\r\nReferer: http://ref.example/page\r\n",
    );
    assert_eq!(r.status, 404);
    let missing_len = r.body.len();
    s.signal("TERM");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(st.is_some_and(|st| st.success()), "exit {st:?}");

    let log = std::fs::read_to_string(s.base().join("access.log"))
        .unwrap_or_else(|e| panic!("no access log: {e}"));
    let lines: Vec<&str> = log.lines().collect();
    let ok = lines
        .iter()
        .find(|l| l.contains("\"GET /index.html HTTP/1.1\""))
        .unwrap_or_else(|| panic!("no line for GET /index.html in:\n{log}"));
    let (_, after) = split_combined(ok);
    assert_eq!(
        after,
        format!(
            "\"GET /index.html HTTP/1.1\" 200 {} \"-\" \"e2e-agent/1.0\"",
            INDEX_HTML.len()
        )
    );
    let miss = lines
        .iter()
        .find(|l| l.contains("\"GET /missing.html HTTP/1.1\""))
        .unwrap_or_else(|| panic!("no line for GET /missing.html in:\n{log}"));
    let (_, after) = split_combined(miss);
    assert_eq!(
        after,
        format!(
            "\"GET /missing.html HTTP/1.1\" 404 {missing_len} \"http://ref.example/page\" \"e2e-agent/1.0\""
        )
    );
}

#[test]
fn access_log_escapes_quotes_in_user_agent() {
    // A quote in a logged field must not let a client forge log fields.
    let mut s = Server::start("access_log = {base}/access.log");
    let r = s.get("/index.html", "User-Agent: evil\" 200 1 \"x\r\n");
    assert_eq!(r.status, 200);
    s.signal("TERM");
    assert!(s.wait_exit(Duration::from_secs(5)).is_some());
    let log = std::fs::read_to_string(s.base().join("access.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("/index.html"))
        .unwrap_or_else(|| panic!("no line in:\n{log}"));
    assert!(
        !line.contains("\"evil\" 200"),
        "unescaped quote in access log: {line}"
    );
    assert!(line.ends_with('"'), "{line}");
    // Exactly the six quote characters of the format remain unescaped.
    let unescaped = line
        .char_indices()
        .filter(|(i, ch)| *ch == '"' && (*i == 0 || line.as_bytes()[i - 1] != b'\\'))
        .count();
    assert_eq!(unescaped, 6, "{line}");
}

#[test]
fn sigusr1_reopens_the_access_log_and_keeps_serving() {
    // logrotate moves the file away and sends SIGUSR1 (SIGHUP reloads the
    // configuration); the default disposition would kill the server and lose the
    // buffered log lines.
    let mut s = Server::start("access_log = {base}/access.log");
    assert_eq!(s.get("/index.html", "").status, 200);
    // Buffered lines reach the file within about a second; rotate only once this one
    // is there (a line still buffered in a worker would rightly go to the new file).
    let log = s.base().join("access.log");
    let rotated = s.base().join("access.log.1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("GET /index.html ")
    {
        assert!(
            Instant::now() < deadline,
            "GET /index.html not in the access log 10 s after the request"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::rename(&log, &rotated).unwrap();
    s.signal("USR1");
    // The reopen is asynchronous: wait for the new file to show up.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(log.exists(), "no new access log 5 s after SIGUSR1");
    assert_eq!(s.get("/style.css", "").status, 200, "served after SIGUSR1");
    assert!(s.is_running(), "SIGUSR1 must not stop carbond");
    s.signal("TERM");
    let st = s.wait_exit(Duration::from_secs(5));
    assert!(st.is_some_and(|st| st.success()), "exit status {st:?}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(old.contains("GET /index.html "), "rotated file: {old}");
    assert!(new.contains("GET /style.css "), "new file: {new}");
}
