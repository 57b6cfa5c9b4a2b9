//! The event loop's corner cases: a FIN that arrives with the last request bytes,
//! listeners closed during a graceful stop, and idle timers that start only once a
//! response has been written.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{send, MsgFlags};

use crate::harness::*;

/// Larger than the kernel's socket buffers on both sides (4 MiB + 6 MiB here), so a
/// client that reads slowly keeps the server writing.
const HUGE_LEN: usize = 24 * 1024 * 1024;

fn write_huge(s: &Server) {
    let body: Vec<u8> = (0..HUGE_LEN).map(|i| (i % 253) as u8).collect();
    std::fs::write(s.www().join("huge.bin"), body).unwrap();
}

#[test]
fn fin_in_the_same_segment_as_the_request_is_seen() {
    // MSG_MORE holds the request in the kernel until shutdown() adds the FIN, so
    // both arrive in one segment and raise one readiness edge. A server that trusts a
    // short read to have drained the socket never reads the EOF and keeps the
    // connection open until its keep-alive timeout (RFC 9112 §9.6: the server should
    // close once the client has closed and the response is sent).
    let s = Server::start("");
    let mut c = s.connect();
    std::thread::sleep(Duration::from_millis(100));
    let req = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let more = MsgFlags::from_bits_retain(nix::libc::MSG_MORE);
    assert_eq!(send(c.stream.as_raw_fd(), req, more).unwrap(), req.len());
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    // Far below the 75 s default keep-alive timeout a missed EOF would wait for, far
    // above what a loaded machine needs to answer and close.
    let started = Instant::now();
    assert!(
        matches!(c.wait_closed(Duration::from_secs(10)), CloseOutcome::Closed),
        "no close {:?} after the client's FIN",
        started.elapsed()
    );
    let r = parse_first(c.pending());
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), INDEX_HTML);
}

#[test]
fn graceful_stop_refuses_new_connections_at_once() {
    // While in-flight responses drain, a new client must be refused (and can fail
    // over) rather than wait in a backlog nobody accepts from.
    let mut s = Server::start("shutdown_timeout = 10");
    write_huge(&s);
    let mut slow = s.connect();
    // A client that reads nothing keeps a response larger than the socket buffers
    // in flight.
    slow.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert!(slow.poll_data(Duration::from_secs(3)).is_some());
    s.signal("TERM");
    // The daemon handles the signal asynchronously; on a loaded machine that may take
    // a moment, so retry until the listener is gone. The drain lasts up to 10 s (the
    // slow client never reads), so 5 s of connections still being accepted means the
    // listener stayed open during the drain.
    let signalled = Instant::now();
    let deadline = signalled + Duration::from_secs(5);
    loop {
        assert!(
            s.is_running(),
            "exited instead of draining the slow download"
        );
        match std::net::TcpStream::connect_timeout(&s.addr(), Duration::from_secs(2)) {
            // Refused, or reset when the SYN had reached a worker's SO_REUSEPORT
            // listener just as it closed (the kernel resets what that listener's
            // backlog held): either way the client learns at once and can fail over.
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ),
                    "{e}"
                );
                break;
            }
            Ok(mut late) => {
                if Instant::now() >= deadline {
                    // Accepted by the kernel: say what the daemon did with it.
                    late.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let _ = late.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                    let mut buf = [0u8; 16];
                    let got = late.read(&mut buf);
                    panic!(
                        "connections still accepted {:?} after SIGTERM, during the drain ({got:?})",
                        signalled.elapsed()
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(s.is_running(), "still draining the slow download");
    drop(slow);
    let st = s.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|st| st.success()), "exit status {st:?}");
}

#[test]
fn keep_alive_timer_starts_after_a_long_download_is_written() {
    // The idle time between requests is measured from the end of the previous
    // response, not from when it was queued: a download slower than
    // keep_alive_timeout must not cost the client its connection.
    let s = Server::start("keep_alive_timeout = 1");
    write_huge(&s);
    let mut c = s.connect();
    c.send(b"GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let mut got = 0usize;
    let mut chunk = [0u8; 64 * 1024];
    let started = Instant::now();
    let mut head_and_body = Vec::new();
    let mut read_some = |limit: usize, got: &mut usize| {
        let n = c.stream.read(&mut chunk[..limit]).unwrap();
        assert!(n > 0, "closed after {got} bytes, {:?}", started.elapsed());
        head_and_body.extend_from_slice(&chunk[..n]);
        if let Some(i) = head_and_body.windows(4).position(|w| w == b"\r\n\r\n") {
            *got = head_and_body.len() - (i + 4);
        }
    };
    // For 1.5 s read slowly (at most 16 KiB per 5 ms, about 3 MiB/s, so at most
    // about a fifth of the file): the rest is far more than the socket buffers
    // hold, so the server is still writing, its socket full, well past the 1 s
    // keep-alive timeout.
    while started.elapsed() < Duration::from_millis(1500) {
        read_some(16 * 1024, &mut got);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        got < HUGE_LEN / 2,
        "read {got} bytes in the slow phase: download too fast to test"
    );
    // Then read the rest at full speed, so what the kernel buffered after the server's
    // last write (when its idle timer starts) is drained well within the 1 s.
    while got < HUGE_LEN {
        read_some(64 * 1024, &mut got);
    }
    c.send(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), INDEX_HTML);
}
