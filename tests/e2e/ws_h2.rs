//! WebSocket over HTTP/2 (RFC 8441) end to end: a real carbond with
//! `enable_websocket = true`, driven over h2c and TLS by Python's `h2` state machine
//! (an independent HTTP/2 implementation that checks our frames strictly) with
//! WebSocket frames written here in Python: extended CONNECT, then masked frames in
//! DATA. The headless-Chromium run of the test page over RFC 8441 is in
//! `ws/chromium.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::python_h2_or_skip;
use crate::tls::TlsServer;

/// The client: `python3 -c CLIENT <tls|h2c> <port> <scenario>`. Prints one line per
/// check; exits non-zero (with a traceback) when an expectation fails.
const CLIENT: &str = r#"
import os, socket, ssl, struct, sys
import h2.config, h2.connection, h2.events, h2.settings, h2.errors

mode, port, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port), timeout=20)
if mode == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(sock, server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2"
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
if scenario == "window":
    # A small receive window: the server's echo must wait for our WINDOW_UPDATEs.
    c.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 4096})
c.initiate_connection()
sock.sendall(c.data_to_send())

heads, data, ended, resets, settings = {}, {}, set(), {}, {}
terminated = [None]

def pump(pred):
    while not pred():
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by carbond")
        for ev in c.receive_data(chunk):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                for k, v in ev.changed_settings.items():
                    settings[int(k)] = v.new_value
            elif isinstance(ev, h2.events.ResponseReceived):
                heads[ev.stream_id] = {k.decode(): v.decode() for k, v in ev.headers}
            elif isinstance(ev, h2.events.DataReceived):
                data.setdefault(ev.stream_id, bytearray()).extend(ev.data)
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                resets[ev.stream_id] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                terminated[0] = ev.error_code
        sock.sendall(c.data_to_send())

def send(sid, payload, end=False):
    """DATA within the server's windows, waiting for WINDOW_UPDATEs as needed."""
    view = memoryview(payload)
    while view:
        pump(lambda: c.local_flow_control_window(sid) > 0)
        n = min(len(view), c.local_flow_control_window(sid), c.max_outbound_frame_size)
        c.send_data(sid, bytes(view[:n]))
        sock.sendall(c.data_to_send())
        view = view[n:]
    if end:
        c.end_stream(sid)
        sock.sendall(c.data_to_send())

def frame(op, payload, mask=True, fin=True):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n <= 0xffff:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
        (int.from_bytes(payload, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
    return head + key + body

def read_frame(sid):
    """The next server frame on `sid`: (opcode, payload). Server frames are unmasked."""
    def complete():
        b = data.get(sid, b"")
        if len(b) < 2:
            return None
        assert b[1] & 0x80 == 0, "server frames are never masked"
        n, at = b[1] & 0x7f, 2
        if n == 126:
            if len(b) < 4: return None
            n, at = struct.unpack("!H", bytes(b[2:4]))[0], 4
        elif n == 127:
            if len(b) < 10: return None
            n, at = struct.unpack("!Q", bytes(b[2:10]))[0], 10
        return (at, n) if len(b) >= at + n else None
    pump(lambda: complete() is not None)
    at, n = complete()
    b = data[sid]
    op, payload = b[0] & 0x0f, bytes(b[at:at + n])
    del b[:at + n]
    return op, payload

sid_next = [1]
def open_ws(path="/echo", extra=()):
    sid = sid_next[0]
    sid_next[0] += 2
    c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                         (":scheme", "https" if mode == "tls" else "http"),
                         (":path", path), (":authority", "127.0.0.1"),
                         ("sec-websocket-version", "13")] + list(extra))
    sock.sendall(c.data_to_send())
    pump(lambda: sid in heads or sid in resets)
    return sid

def get(path="/"):
    sid = sid_next[0]
    sid_next[0] += 2
    c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", path),
                         (":authority", "127.0.0.1")], end_stream=True)
    sock.sendall(c.data_to_send())
    return sid

def close_1000(sid):
    send(sid, frame(0x8, struct.pack("!H", 1000)))
    op, payload = read_frame(sid)
    assert (op, payload[:2]) == (0x8, struct.pack("!H", 1000)), (op, payload)
    # RFC 8441 §6: the server ends its side after the close handshake...
    pump(lambda: sid in ended)
    # ...and so do we.
    c.end_stream(sid)
    sock.sendall(c.data_to_send())
    print("closed 1000 with END_STREAM")

pump(lambda: 8 in settings)
print("SETTINGS_ENABLE_CONNECT_PROTOCOL", settings[8])

if scenario == "echo":
    sid = open_ws()
    h = heads[sid]
    assert h[":status"] == "200", h
    assert "content-length" not in h and "sec-websocket-accept" not in h, h
    assert sid not in ended, "no END_STREAM on the 200"
    print("status 200 open")
    for n in (0, 125, 126, 65535, 65536):
        msg = bytes(i % 251 for i in range(n))
        send(sid, frame(0x2, msg))
        op, back = read_frame(sid)
        assert (op, back) == (0x2, msg), (n, op, len(back))
        print("binary echo", n)
    send(sid, frame(0x1, "héllo".encode()))
    assert read_frame(sid) == (0x1, "héllo".encode())
    print("text echo")
    send(sid, frame(0x9, b"are you there"))
    assert read_frame(sid) == (0xA, b"are you there")
    print("pong")
    close_1000(sid)
    # The connection still serves requests.
    g = get()
    pump(lambda: g in ended)
    print("then GET", heads[g][":status"])

elif scenario == "window":
    sid = open_ws()
    big = os.urandom(1 << 20)
    send(sid, frame(0x2, big))
    op, back = read_frame(sid)
    assert op == 0x2 and back == big, (op, len(back))
    print("1 MiB echo through a 4096-byte window")
    close_1000(sid)

elif scenario == "multi":
    ids = [open_ws() for _ in range(3)]
    g = get()
    for i, sid in enumerate(ids):
        send(sid, frame(0x1, f"stream {sid} message {i}".encode()))
    for i, sid in reversed(list(enumerate(ids))):
        assert read_frame(sid) == (0x1, f"stream {sid} message {i}".encode())
    pump(lambda: g in ended)
    assert heads[g][":status"] == "200" and len(data.get(g, b"")) > 0
    print("3 echoes and a GET on one connection")
    for sid in ids:
        close_1000(sid)

elif scenario == "rst":
    sid = open_ws()
    # Half of a 1000-byte frame, then the client gives up on the stream.
    send(sid, frame(0x2, bytes(1000))[:500])
    c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    sock.sendall(c.data_to_send())
    print("reset mid-message")
    # The connection goes on: a new WebSocket and a GET are served.
    sid2 = open_ws()
    send(sid2, frame(0x1, b"after the reset"))
    assert read_frame(sid2) == (0x1, b"after the reset")
    g = get()
    pump(lambda: g in ended)
    print("then echo and GET", heads[g][":status"])
    close_1000(sid2)

elif scenario == "nomasking":
    sid = open_ws(extra=[("sec-websocket-extensions", "no-masking")])
    ext = heads[sid].get("sec-websocket-extensions", "")
    print("extensions [" + ext + "]")
    if ext == "no-masking":
        send(sid, frame(0x1, b"bare", mask=False))
        assert read_frame(sid) == (0x1, b"bare")
        print("unmasked echo")
        # draft section 3: a masked frame is then a protocol error.
        send(sid, frame(0x1, b"masked"))
    else:
        # Cleartext: masking stays mandatory (RFC 6455 §5.1).
        send(sid, frame(0x1, b"bare", mask=False))
    op, payload = read_frame(sid)
    print("close", op, struct.unpack("!H", payload[:2])[0])

elif scenario == "handshake":
    # The HTTP/1.1 handshake rules, over HTTP/2 (RFC 8441 §5).
    sid = open_ws(extra=[("origin", "https://evil.test")])
    pump(lambda: sid in ended)
    print("bad origin", heads[sid][":status"])
    sid = open_ws(extra=[("origin", "https://good.test"),
                         ("sec-websocket-protocol", "mqtt, chat")])
    print("subprotocol", heads[sid][":status"], heads[sid].get("sec-websocket-protocol"))
    close_1000(sid)
    c.send_headers(sid_next[0], [(":method", "CONNECT"), (":protocol", "websocket"),
                                 (":scheme", "http"), (":path", "/echo"),
                                 (":authority", "127.0.0.1"), ("origin", "https://good.test"),
                                 ("sec-websocket-version", "8")])
    sock.sendall(c.data_to_send())
    sid = sid_next[0]
    pump(lambda: sid in ended)
    print("version 8", heads[sid][":status"], heads[sid].get("sec-websocket-version"))

elif scenario == "deflate":
    import zlib
    sid = open_ws(extra=[("sec-websocket-extensions", "permessage-deflate")])
    print("extensions [" + heads[sid].get("sec-websocket-extensions", "") + "]")
    text = ("compress me, compress me again " * 2000).encode()
    # The server keeps its context across messages (no server_no_context_takeover
    # offered), so one inflater reads every echo.
    d = zlib.decompressobj(wbits=-15)
    for _ in range(2):
        # RFC 7692 §7.2.1: raw deflate, sync flush, the 4-byte tail removed.
        z = zlib.compressobj(wbits=-15)
        body = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
        send(sid, frame(0x1 | 0x40, body[:-4]))
        op, back = read_frame(sid)
        assert op == 0x1 and d.decompress(back + b"\x00\x00\xff\xff") == text
    print("compressed echo")
    close_1000(sid)

elif scenario == "shutdown":
    sid = open_ws()
    print("open", flush=True)
    # The test sends SIGTERM now. Python's h2 treats a GOAWAY as the end of the
    # connection (it refuses to send after one), while RFC 9113 §6.8 lets streams
    # below its id finish: from here frames are read and written raw.
    buf, got, end_seen, goaway = bytearray(), bytearray(), False, False
    def raw(kind, flags, stream, payload=b""):
        sock.sendall(struct.pack("!I", len(payload))[1:] + bytes([kind, flags]) +
                     struct.pack("!I", stream) + payload)
    def read_raw(pred):
        global end_seen, goaway
        while not pred():
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                n, kind, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
                stream = int.from_bytes(buf[5:9], "big") & 0x7fffffff
                payload = bytes(buf[9:9 + n])
                del buf[:9 + n]
                if kind == 0x0 and stream == sid:
                    got.extend(payload)
                    end_seen |= bool(flags & 0x1)
                elif kind == 0x6 and not flags & 0x1:
                    raw(0x6, 0x1, 0, payload)
                elif kind == 0x7:
                    goaway = True
                if pred():
                    return
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by carbond")
            buf.extend(chunk)
    # Bytes python's h2 already took off the socket for this stream come first.
    got.extend(data.get(sid, b""))
    read_raw(lambda: len(got) >= 4)
    assert got[0] == 0x88, got
    print("close", got[0] & 0x0f, struct.unpack("!H", bytes(got[2:4]))[0])
    read_raw(lambda: goaway)
    print("GOAWAY")
    raw(0x0, 0, sid, frame(0x8, bytes(got[2:4])))
    read_raw(lambda: end_seen)
    raw(0x0, 0x1, sid)
    print("END_STREAM after 1001")

sys.stdout.flush()
"#;

fn run(mode: &str, port: u16, scenario: &str) -> Vec<String> {
    let out = Command::new("timeout")
        .args(["90", "python3", "-c", CLIENT, mode])
        .arg(port.to_string())
        .arg(scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{mode} {scenario} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

fn start(extra: &str) -> TlsServer {
    TlsServer::start(&format!(
        "enable_websocket = true\nenable_h2c = true\naccess_log = {{base}}/access.log\n{extra}"
    ))
}

/// Both transports: h2c on the plain port, h2 over TLS (ALPN).
fn each_transport(s: &TlsServer) -> [(&'static str, u16); 2] {
    [("h2c", s.server.port()), ("tls", s.https_port)]
}

fn access_log(s: &TlsServer) -> String {
    let path = s.server.base().join("access.log");
    // Workers write their lines in batches: wait for the CONNECT lines.
    for _ in 0..100 {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        if log.contains("\"CONNECT ") {
            return log;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(&path).unwrap_or_default()
}

#[test]
fn rfc8441_5_echo_of_each_length_ping_and_close_1000_over_h2c_and_tls() {
    if !python_h2_or_skip("rfc8441_5_echo_of_each_length_ping_and_close_1000_over_h2c_and_tls") {
        return;
    }
    let s = start("");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "echo");
        assert_eq!(
            lines,
            [
                "SETTINGS_ENABLE_CONNECT_PROTOCOL 1",
                "status 200 open",
                "binary echo 0",
                "binary echo 125",
                "binary echo 126",
                "binary echo 65535",
                "binary echo 65536",
                "text echo",
                "pong",
                "closed 1000 with END_STREAM",
                "then GET 200",
            ],
            "{mode}"
        );
    }
    // The access log shows the extended CONNECT over HTTP/2, answered 200.
    let log = access_log(&s);
    assert!(
        log.contains("\"CONNECT /echo HTTP/2.0\" 200 "),
        "no extended CONNECT in the access log:\n{log}"
    );
    // Both WebSocket streams count as WebSocket connections.
    assert_eq!(websockets_counted(&s), 2);
}

/// `carbon_websocket_connections_total` from `carbonctl stats --prometheus`.
fn websockets_counted(s: &TlsServer) -> u64 {
    let out = Command::new(crate::control::carbonctl())
        .arg("--socket")
        .arg(s.server.base().join("carbond.sock"))
        .args(["stats", "--prometheus"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("carbon_websocket_connections_total "))
        .unwrap_or_else(|| panic!("no WebSocket counter in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn rfc8441_5_large_message_through_a_small_window() {
    if !python_h2_or_skip("rfc8441_5_large_message_through_a_small_window") {
        return;
    }
    let s = start("");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "window");
        assert_eq!(
            &lines[1..],
            [
                "1 MiB echo through a 4096-byte window",
                "closed 1000 with END_STREAM"
            ],
            "{mode}"
        );
    }
}

#[test]
fn rfc8441_5_several_websockets_and_a_get_share_one_connection() {
    if !python_h2_or_skip("rfc8441_5_several_websockets_and_a_get_share_one_connection") {
        return;
    }
    let s = start("");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "multi");
        assert_eq!(lines[1], "3 echoes and a GET on one connection", "{mode}");
        assert_eq!(
            lines[2..]
                .iter()
                .filter(|l| *l == "closed 1000 with END_STREAM")
                .count(),
            3,
            "{mode}: {lines:?}"
        );
    }
}

#[test]
fn rfc8441_6_rst_stream_mid_message_ends_only_that_websocket() {
    if !python_h2_or_skip("rfc8441_6_rst_stream_mid_message_ends_only_that_websocket") {
        return;
    }
    let s = start("");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "rst");
        assert_eq!(
            &lines[1..],
            [
                "reset mid-message",
                "then echo and GET 200",
                "closed 1000 with END_STREAM"
            ],
            "{mode}"
        );
    }
}

#[test]
fn nomasking_accepted_over_tls_only() {
    if !python_h2_or_skip("nomasking_accepted_over_tls_only") {
        return;
    }
    let s = start("");
    let tls = run("tls", s.https_port, "nomasking");
    assert_eq!(
        &tls[1..],
        ["extensions [no-masking]", "unmasked echo", "close 8 1002"]
    );
    // Over cleartext the offer is ignored and an unmasked frame is a 1002.
    let h2c = run("h2c", s.server.port(), "nomasking");
    assert_eq!(&h2c[1..], ["extensions []", "close 8 1002"]);
}

#[test]
fn rfc8441_5_origin_subprotocol_and_version_rules_as_over_http11() {
    if !python_h2_or_skip("rfc8441_5_origin_subprotocol_and_version_rules_as_over_http11") {
        return;
    }
    let s = start("websocket_origins = https://good.test\nwebsocket_subprotocols = chat\n");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "handshake");
        assert_eq!(
            &lines[1..],
            [
                "bad origin 403",
                "subprotocol 200 chat",
                "closed 1000 with END_STREAM",
                "version 8 426 13"
            ],
            "{mode}"
        );
    }
}

#[test]
fn rfc7692_compressed_echo_over_http2() {
    if !python_h2_or_skip("rfc7692_compressed_echo_over_http2") {
        return;
    }
    let s = start("");
    for (mode, port) in each_transport(&s) {
        let lines = run(mode, port, "deflate");
        assert_eq!(
            &lines[1..],
            [
                "extensions [permessage-deflate]",
                "compressed echo",
                "closed 1000 with END_STREAM"
            ],
            "{mode}"
        );
    }
}

#[test]
fn rfc8441_3_no_setting_without_enable_websocket() {
    if !python_h2_or_skip("rfc8441_3_no_setting_without_enable_websocket") {
        return;
    }
    let s = TlsServer::start("enable_h2c = true\n");
    let script = r#"
import socket, sys, h2.config, h2.connection, h2.events
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
sock.sendall(c.data_to_send())
changed = None
while changed is None:
    for e in c.receive_data(sock.recv(65536)):
        if isinstance(e, h2.events.RemoteSettingsChanged):
            changed = {int(k) for k in e.changed_settings}
print("advertised" if 8 in changed else "not advertised")
"#;
    let out = Command::new("timeout")
        .args(["60", "python3", "-c", script])
        .arg(s.server.port().to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "not advertised"
    );
}

#[test]
fn rfc6455_7_4_1_shutdown_sends_1001_on_each_h2_websocket() {
    if !python_h2_or_skip("rfc6455_7_4_1_shutdown_sends_1001_on_each_h2_websocket") {
        return;
    }
    let mut s = start("");
    let mut child = Command::new("timeout")
        .args(["60", "python3", "-c", CLIENT, "tls"])
        .arg(s.https_port.to_string())
        .arg("shutdown")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "SETTINGS_ENABLE_CONNECT_PROTOCOL 1"
    );
    assert_eq!(lines.next().unwrap().unwrap(), "open");
    s.server.signal("TERM");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{rest:?}\n{err}\n{}", s.server.output());
    assert_eq!(rest, ["close 8 1001", "GOAWAY", "END_STREAM after 1001"]);
    assert!(
        s.server.wait_exit(Duration::from_secs(20)).is_some(),
        "carbond did not stop after the WebSocket closed"
    );
}
