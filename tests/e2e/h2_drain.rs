//! The two-step graceful GOAWAY (RFC 9113 §6.8) at the start of a drain: when a
//! reload (SIGHUP) replaces the configuration, HTTP/2 connections of the old one
//! are told to move to new connections while their streams in flight finish; when
//! SIGTERM starts `drain_period`, the GOAWAY goes out at once, not when the stop
//! itself begins. The client is Python writing and reading raw frames (with the
//! `hpack` package that comes with `h2`), so every frame is seen as sent.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::h2::start;
use crate::harness::{curl, python_h2_or_skip, BIG_LEN};

/// h2c client: GET /big.bin without opening any window, print `ready` once the
/// 65,535-byte initial window has arrived; on the first GOAWAY open both windows
/// wide. Prints `goaway CODE LAST_ID` per GOAWAY, `end BYTES` when stream 1 ends,
/// `closed` when the server closes. Argument: port.
const CLIENT: &str = r#"
import socket, struct, sys, hpack
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def frame(t, f, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, f]) + struct.pack(">I", sid) + payload
block = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"),
                                (":authority", "localhost"), (":path", "/big.bin")])
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(1, 5, 1, block))
buf, got, ready, opened = b"", 0, False, False
while True:
    try:
        data = s.recv(65536)
    except socket.timeout:
        print("timeout", flush=True)
        break
    if not data:
        print("closed", flush=True)
        break
    buf += data
    while len(buf) >= 9:
        n = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + n:
            break
        t, f, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff
        p, buf = buf[9:9 + n], buf[9 + n:]
        if t == 4 and not f & 1:
            s.sendall(frame(4, 1, 0))
        elif t == 6 and not f & 1:
            s.sendall(frame(6, 1, 0, p))
        elif t == 7:
            last = int.from_bytes(p[:4], "big") & 0x7fffffff
            print("goaway", int.from_bytes(p[4:8], "big"), last, flush=True)
            if not opened:
                opened = True
                s.sendall(frame(8, 0, 0, struct.pack(">I", 1 << 24)) +
                          frame(8, 0, 1, struct.pack(">I", 1 << 24)))
        elif t == 0 and sid == 1:
            got += n
            if f & 1:
                print("end", got, flush=True)
    if got >= 65535 and not ready:
        ready = True
        print("ready", flush=True)
"#;

/// Runs the client against `port`, calls `trigger` once the download is under way,
/// and returns the client's lines after `ready` with the time each arrived.
fn download_across(port: u16, trigger: impl FnOnce()) -> Vec<(String, Duration)> {
    let mut child = Command::new("python3")
        .args(["-c", CLIENT, &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, "ready");
    let t0 = Instant::now();
    trigger();
    let out: Vec<(String, Duration)> = lines.map(|l| (l.unwrap(), t0.elapsed())).collect();
    assert!(child.wait().unwrap().success());
    out
}

fn texts(out: &[(String, Duration)]) -> Vec<&str> {
    out.iter().map(|(l, _)| l.as_str()).collect()
}

#[test]
fn rfc9113_6_8_reload_sends_old_h2_connections_the_graceful_goaway_and_the_stream_finishes() {
    if !python_h2_or_skip("rfc9113_6_8_reload_sends_old_h2_connections_the_graceful_goaway") {
        return;
    }
    let s = start("");
    let out = download_across(s.server.port(), || s.server.signal("HUP"));
    let lines = texts(&out);
    let goaways: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("goaway"))
        .collect();
    // First GOAWAY with the largest id, then the final one naming stream 1.
    assert_eq!(
        goaways,
        vec!["goaway 0 2147483647", "goaway 0 1"],
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("end {BIG_LEN}").as_str()),
        "the stream in flight completes: {lines:?}"
    );
    assert_eq!(lines.last(), Some(&"closed"), "{lines:?}");
    // The server goes on serving new connections under the new configuration.
    let r = curl()
        .args([
            "-s",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(s.server.url("/style.css"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&r.stdout), "200");
}

#[test]
fn rfc9113_6_8_drain_period_sends_the_graceful_goaway_when_the_drain_starts() {
    if !python_h2_or_skip("rfc9113_6_8_drain_period_sends_the_graceful_goaway") {
        return;
    }
    let mut s = start("drain_period = 4s\n");
    let out = download_across(s.server.port(), || s.server.signal("TERM"));
    let lines = texts(&out);
    let first = out
        .iter()
        .find(|(l, _)| l.starts_with("goaway"))
        .unwrap_or_else(|| panic!("no GOAWAY: {lines:?}"));
    assert_eq!(first.0, "goaway 0 2147483647", "{lines:?}");
    // At the start of the drain (workers notice within a loop turn), not at the
    // stop 4 s later.
    assert!(
        first.1 < Duration::from_secs(2),
        "GOAWAY after {:?}",
        first.1
    );
    assert!(lines.contains(&"goaway 0 1"), "{lines:?}");
    assert!(
        lines.contains(&format!("end {BIG_LEN}").as_str()),
        "{lines:?}"
    );
    assert!(s.server.wait_exit(Duration::from_secs(15)).is_some());
}
