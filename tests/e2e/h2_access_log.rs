//! The access log and `bytes_sent_body` of HTTP/2 streams report the body bytes
//! sent, not the file's length, when the client resets a stream mid-body
//! (RST_STREAM, RFC 9113 §6.4), as HTTP/1.1 logs what left the socket.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::h2::start;
use crate::harness::{python_h2_or_skip, style_css, BIG_LEN};

/// GETs /big.bin without ever opening a window, so the server sends at most the
/// 65,535-byte initial window; resets the stream once that much arrived, reads
/// what was in flight, reopens the connection window and GETs /style.css to
/// completion, and prints the byte
/// count received on stream 1. Arguments: port, tls (0/1).
const CLIENT: &str = r#"
import socket, ssl, sys, time, h2.connection, h2.events, h2.config, h2.errors
port, tls = int(sys.argv[1]), sys.argv[2] == "1"
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
if tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(sock, server_hostname="localhost")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
def get(sid, path):
    c.send_headers(sid, [(":method", "GET"), (":scheme", "https" if tls else "http"),
                         (":authority", "localhost"), (":path", path)], end_stream=True)
get(1, "/big.bin")
sock.sendall(c.data_to_send())
got, reset, done = 0, False, False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.DataReceived) and ev.stream_id == 1:
            got += len(ev.data)
        elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 3:
            done = True
    if got >= 65535 and not reset:
        reset = True
        c.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
        sock.sendall(c.data_to_send())
        time.sleep(0.3)
        # The connection window is spent: give it back so /style.css can come.
        c.increment_flow_control_window(1 << 20)
        get(3, "/style.css")
    sock.sendall(c.data_to_send())
print(got)
"#;

#[test]
fn rfc9113_6_4_access_log_of_a_stream_reset_mid_body_has_the_bytes_sent() {
    if !python_h2_or_skip("rfc9113_6_4_access_log_of_a_stream_reset_mid_body") {
        return;
    }
    let s = start("access_log = {base}/access.log\n");
    for (port, tls) in [(s.server.port(), false), (s.https_port, true)] {
        let out = Command::new("python3")
            .args(["-c", CLIENT, &port.to_string()])
            .arg(if tls { "1" } else { "0" })
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let got: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(got >= 65_535, "received {got}");
        // The log is written in batches, at least once a second.
        let path = s.server.base().join("access.log");
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let n = text.lines().filter(|l| l.contains("/style.css")).count();
            let expected = if tls { 2 } else { 1 };
            if n >= expected {
                break text
                    .lines()
                    .filter(|l| l.contains("\"GET /big.bin HTTP/2.0\""))
                    .nth(expected - 1)
                    .unwrap_or_else(|| panic!("no /big.bin line: {text}"))
                    .to_owned();
            }
            assert!(Instant::now() < deadline, "log not written: {text}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let after = line.split("HTTP/2.0\" ").nth(1).unwrap();
        let mut fields = after.split(' ');
        assert_eq!(fields.next(), Some("200"), "{line}");
        let size: u64 = fields.next().unwrap().parse().unwrap();
        assert!(size < BIG_LEN as u64, "{line}");
        assert_eq!(
            size, got,
            "tls={tls}: logged size is what the client received: {line}"
        );
    }
}

/// GETs /big.bin over h2c without opening a window, and drops the connection once the
/// 65,535-byte initial window has arrived, the stream still in flight; prints the
/// byte count received. Argument: port.
const DROP: &str = r#"
import socket, sys, h2.connection, h2.events, h2.config
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "localhost"),
                   (":path", "/big.bin")], end_stream=True)
sock.sendall(c.data_to_send())
got = 0
while got < 65535:
    data = sock.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.DataReceived):
            got += len(ev.data)
sock.close()
print(got)
"#;

/// Without an access log no line is kept per stream, yet every stream's body bytes
/// are counted in `bytes_sent_body`: a stream reset mid-body with what it was sent, a
/// complete one in full, and one in flight when its connection dropped with what it
/// was sent by then.
#[test]
fn body_bytes_of_every_stream_are_counted_without_an_access_log() {
    if !python_h2_or_skip("body_bytes_of_every_stream_are_counted_without_an_access_log") {
        return;
    }
    let s = start("access_log =\nmetrics_path = /metrics\n");
    let port = s.server.port().to_string();
    let run = |script: &str, args: &[&str]| -> u64 {
        let out = Command::new("python3")
            .args(["-c", script])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    // Stream 1 reset after the initial window (RFC 9113 §6.4), stream 3 complete.
    let reset = run(CLIENT, &[&port, "0"]);
    assert_eq!(reset, 65_535, "at most the initial window is sent");
    let dropped = run(DROP, &[&port]);
    assert_eq!(dropped, 65_535);
    let want = reset + style_css().len() as u64 + dropped;
    // Each reading of /metrics is itself a response body, counted once it has left.
    let mut read_before = 0u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = String::from_utf8(s.server.get("/metrics", "").body).unwrap();
        let counted: u64 = body
            .lines()
            .find_map(|l| l.strip_prefix("carbon_body_sent_bytes_total "))
            .unwrap_or_else(|| panic!("no body_sent_bytes_total in:\n{body}"))
            .parse()
            .unwrap();
        if counted == want + read_before {
            break;
        }
        assert!(
            counted < want + read_before && Instant::now() < deadline,
            "counted {counted}, want {want} + {read_before} of earlier /metrics bodies"
        );
        read_before += body.len() as u64;
        std::thread::sleep(Duration::from_millis(100));
    }
}
