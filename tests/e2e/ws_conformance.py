#!/usr/bin/env python3
"""A WebSocket conformance client in the style of the Autobahn testsuite.

Runs against any echo server (what arrives comes back: text as text, binary as
binary) and checks every case strictly:

* echo cases: exactly the expected events (echoed messages, Pongs), nothing else;
  then our Close 1000 is answered with Close 1000 and the server closes TCP first
  (RFC 6455 section 7.1.1), with a FIN, never a reset;
* failure cases: the events before the violation, then the server's Close with the
  code RFC 6455 names (section 7.4.1), sent at once (fail fast: we never send the
  rest of a message the server should already have refused), then TCP closed after
  our answering Close, with a FIN;
* every server frame is checked too: unmasked, minimal length, RSV bits, opcodes,
  control frames short and unfragmented, text valid UTF-8, Close payload valid.

Case ids follow Autobahn's numbering (1 framing, 2 pings, 3 reserved bits, 4
opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits and performance, 10
auto-fragmentation, 12 and 13 permessage-deflate); cases of ours that Autobahn does
not have use the category "X" (limits, RFC 7692 negotiation and framing). The code is
written from RFC 6455 and RFC 7692 and the published case descriptions.

Only the Python standard library is used (socket, ssl, zlib), so the deflate peer is
zlib, independent of the server's own deflate.

    python3 tests/e2e/ws_conformance.py --url ws://127.0.0.1:8080/ [--cases 1,2,6.4]
    python3 tests/e2e/ws_conformance.py --url wss://localhost:8443/ --cafile cert.pem
    python3 tests/e2e/ws_conformance.py --list

Exit status 0 when every selected case passed, 1 otherwise; one line per case, and
with --json a machine-readable summary.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import socket
import ssl
import struct
import sys
import time
import urllib.parse
import zlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Close codes (RFC 6455 section 7.4.1).
NORMAL, PROTOCOL_ERROR, INVALID_PAYLOAD, MESSAGE_TOO_BIG = 1000, 1002, 1007, 1009

# How long an answer may take on a loaded machine. Fail-fast is checked by never
# sending what would let a lazy server detect the error, not by a stopwatch.
ANSWER = 10.0
# After the close handshake the server must close TCP within this.
TCP_CLOSE = 5.0
# A valid prefix must not make the server close: we watch for this long.
QUIET = 0.5


class Fail(Exception):
    pass


class Eof(Exception):
    pass


class Reset(Exception):
    pass


class Timeout(Exception):
    pass


def apply_mask(key, data):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(op, payload=b"", fin=True, rsv=0, masked=True, key=None, length=None,
                 len_form=None):
    """A client frame. `rsv` is the 3-bit RSV field (4 = RSV1); `length` overrides the
    announced length; `len_form` forces the 7/16/64-bit form (for minimal-encoding
    checks)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (op & 0xF)
    mbit = 0x80 if masked else 0
    form = len_form or (7 if n < 126 else 16 if n < 65536 else 64)
    if form == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not masked:
        return head + payload
    key = key or os.urandom(4)
    return head + key + apply_mask(key, payload)


class Deflate:
    """The client side of permessage-deflate (RFC 7692) on zlib."""

    def __init__(self, params):
        self.params = params
        self.server_nct = "server_no_context_takeover" in params
        self.client_nct = "client_no_context_takeover" in params
        # We decompress with exactly the window the server promised: a server that
        # uses a larger one makes zlib fail with "invalid distance too far back".
        self.server_bits = int(params.get("server_max_window_bits") or 15)
        cb = params.get("client_max_window_bits")
        self.client_bits = int(cb) if cb else 15
        self.comp = None
        self.decomp = None

    def compress(self, data):
        if self.comp is None or self.client_nct:
            if self.client_bits == 8:
                # zlib cannot deflate with a 256-byte window; stored blocks (level 0)
                # have no back-references, so they respect any window.
                self.comp = zlib.compressobj(0, zlib.DEFLATED, -9)
            else:
                self.comp = zlib.compressobj(6, zlib.DEFLATED, -self.client_bits)
        out = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    def decompress(self, data, limit):
        if self.decomp is None or self.server_nct:
            # With server_no_context_takeover every message must decode alone.
            self.decomp = zlib.decompressobj(-self.server_bits)
        try:
            out = self.decomp.decompress(data + b"\x00\x00\xff\xff", limit + 1)
        except zlib.error as e:
            raise Fail("server's compressed message does not inflate within its promised "
                       "window (%d bits): %s" % (self.server_bits, e))
        if len(out) > limit:
            raise Fail("server's compressed message inflates past %d bytes" % limit)
        return out


def parse_extensions(value):
    """`Sec-WebSocket-Extensions` of the 101: a list of (name, {param: value})."""
    exts = []
    for item in value.split(","):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            k, eq, v = p.partition("=")
            params[k.strip()] = v.strip().strip('"') if eq else None
        exts.append((parts[0], params))
    return exts


class Skip(Exception):
    """The server cannot run this transport (exit status 77)."""


class H2Tunnel:
    """One WebSocket over an HTTP/2 stream (RFC 8441): extended CONNECT, then the
    stream's DATA carries the frames; the server's END_STREAM stands for TCP's FIN
    and RST_STREAM for a reset (RFC 8441 section 6). Needs Python's `h2`."""

    def __init__(self, sock, authority, path, scheme, offer):
        import h2.config
        import h2.connection
        self.h2events = __import__("h2.events", fromlist=["events"])
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.inbox = b""
        self.ended = False
        self.reset = False
        self.response = None
        deadline = time.monotonic() + ANSWER
        import h2.exceptions
        try:
            while not _settings_seen(self.conn, self):
                self.pump(deadline)
        except (h2.exceptions.ProtocolError, Eof, Reset) as e:
            raise Skip("the server does not speak HTTP/2 here (%s)" % type(e).__name__)
        if self.conn.remote_settings.enable_connect_protocol != 1:
            raise Skip("the server does not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1")
        self.sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
                   (":path", path), (":authority", authority), ("sec-websocket-version", "13")]
        if offer:
            headers.append(("sec-websocket-extensions", offer))
        self.conn.send_headers(self.sid, headers)
        self.flush()
        while self.response is None:
            if self.reset or self.ended:
                raise Fail("extended CONNECT refused (stream ended or reset)")
            self.pump(deadline)

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, deadline):
        """Reads once from the socket and handles the HTTP/2 events."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Timeout()
        except (ConnectionResetError, BrokenPipeError):
            raise Reset()
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            data = b""
        if not data:
            raise Eof()
        ev = self.h2events
        for e in self.conn.receive_data(data):
            if isinstance(e, ev.RemoteSettingsChanged):
                self.settings_seen = True
            elif isinstance(e, ev.ResponseReceived) and e.stream_id == getattr(self, "sid", None):
                self.response = dict(e.headers)
                if self.response.get(":status") != "200":
                    raise Fail("extended CONNECT answered %s" % self.response.get(":status"))
            elif isinstance(e, ev.DataReceived) and e.stream_id == self.sid:
                self.inbox += e.data
                self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif isinstance(e, ev.StreamEnded) and e.stream_id == getattr(self, "sid", None):
                self.ended = True
            elif isinstance(e, ev.StreamReset) and e.stream_id == getattr(self, "sid", None):
                # After END_STREAM everything the server sent has arrived (frames
                # are in order); a reset then only says it needs nothing more from
                # us (RFC 9113 section 8.1 names NO_ERROR; proxies use CANCEL).
                if not self.ended:
                    self.reset = True
                if os.environ.get("WS_CONFORMANCE_DEBUG"):
                    print("     RST_STREAM %s after END_STREAM=%s" % (e.error_code, self.ended))
            elif isinstance(e, ev.ConnectionTerminated):
                self.reset = True
        self.flush()

    def recv(self, deadline):
        while not self.inbox:
            if self.ended and not self.reset:
                # Our side ends too, as a client closes TCP after the server did.
                try:
                    self.conn.end_stream(self.sid)
                    self.flush()
                except Exception:
                    pass
                raise Eof()
            if self.reset:
                raise Reset()
            self.pump(deadline)
        data, self.inbox = self.inbox, b""
        return data

    def sendall(self, data):
        deadline = time.monotonic() + ANSWER * 6
        while data:
            if self.reset or self.ended:
                raise BrokenPipeError()
            n = min(len(data), self.conn.local_flow_control_window(self.sid),
                    self.conn.max_outbound_frame_size)
            if n <= 0:
                # Wait for WINDOW_UPDATE; whatever arrives meanwhile is kept.
                self.pump(deadline)
                continue
            self.conn.send_data(self.sid, data[:n])
            self.flush()
            data = data[n:]

    def close(self):
        self.sock.close()


def _settings_seen(conn, tunnel):
    return getattr(tunnel, "settings_seen", False)


class Conn:
    """One WebSocket connection of the conformance client, on raw frames."""

    def __init__(self, opts, offer=None):
        self.opts = opts
        self.buf = b""
        self.deflate = None
        self.events = []
        self.close_code = None
        self.close_reason = None
        self.got_close = False
        self.in_msg = None  # (opcode, compressed, [payloads]) of a fragmented message
        u = urllib.parse.urlparse(opts.url)
        host, port = u.hostname, u.port or (443 if u.scheme == "wss" else 80)
        s = socket.create_connection((host, port), timeout=ANSWER)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if u.scheme == "wss":
            ctx = ssl.create_default_context(cafile=opts.cafile)
            if opts.h2:
                ctx.set_alpn_protocols(["h2"])
            s = ctx.wrap_socket(s, server_hostname=opts.sni or host)
            if opts.h2 and s.selected_alpn_protocol() != "h2":
                raise Skip("the server did not select h2 by ALPN")
        self.sock = s
        self.tunnel = None
        path = u.path or "/"
        if opts.h2:
            # RFC 8441: no key and no Sec-WebSocket-Accept; the extensions are
            # negotiated with the same header.
            self.tunnel = H2Tunnel(s, "%s:%d" % (host, port), path,
                                   "https" if u.scheme == "wss" else "http", offer)
            self.extensions = parse_extensions(
                self.tunnel.response.get("sec-websocket-extensions", ""))
            self._check_extensions(offer)
            return
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n" % (path, host, port, key))
        if offer:
            req += "Sec-WebSocket-Extensions: %s\r\n" % offer
        self.sock.sendall((req + "\r\n").encode())
        deadline = time.monotonic() + ANSWER
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise Fail("handshake answered %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != [accept]:
            raise Fail("wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
        self.extensions = parse_extensions(", ".join(headers.get("sec-websocket-extensions", [])))
        self._check_extensions(offer)

    def _check_extensions(self, offer):
        for name, params in self.extensions:
            if name != "permessage-deflate" or self.deflate is not None or not offer:
                raise Fail("server answered an extension we did not offer: %r" % self.extensions)
            self.deflate = Deflate(params)

    # ---- transport

    def _fill(self, deadline):
        if self.tunnel is not None:
            self.buf += self.tunnel.recv(deadline)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Timeout()
        except (ConnectionResetError, BrokenPipeError):
            raise Reset()
        except ssl.SSLZeroReturnError:
            data = b""
        except ssl.SSLEOFError:
            data = b""
        if not data:
            raise Eof()
        self.buf += data

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data, chop=None, pause=0.0):
        """Writes `data`, in writes of `chop` bytes when given (TCP_NODELAY is on, and
        `pause` seconds between writes make each its own segment). A server that has
        already failed the connection may refuse the rest: that is not our error."""
        out = self.tunnel or self.sock
        try:
            if not chop:
                out.sendall(data)
                return
            for i in range(0, len(data), chop):
                out.sendall(data[i:i + chop])
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def frame(self, op, payload=b"", chop=None, pause=0.0, **kw):
        self.send(encode_frame(op, payload, **kw), chop, pause)

    def message(self, data, binary, frag=None, compress=False):
        """A data message, compressed when asked (RFC 7692 section 7.2.1), split into
        frames of `frag` bytes of (compressed) payload."""
        op = OP_BINARY if binary else OP_TEXT
        rsv = 0
        if compress:
            data = self.deflate.compress(data)
            rsv = 4
        if not frag or len(data) <= frag:
            self.frame(op, data, rsv=rsv)
            return
        parts = [data[i:i + frag] for i in range(0, len(data), frag)]
        out = []
        for i, p in enumerate(parts):
            out.append(encode_frame(op if i == 0 else OP_CONT, p, fin=i == len(parts) - 1,
                                    rsv=rsv if i == 0 else 0))
        self.send(b"".join(out))

    # ---- reading and checking server frames

    def read_frame(self, deadline):
        h = self._take(2, deadline)
        fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 0xF
        if h[1] & 0x80:
            raise Fail("server frame is masked (RFC 6455 section 5.1)")
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2, deadline))[0]
            if n < 126:
                raise Fail("server frame length not minimally encoded")
        elif n == 127:
            n = struct.unpack("!Q", self._take(8, deadline))[0]
            if n < 65536 or n >> 63:
                raise Fail("server frame 64-bit length invalid")
        payload = self._take(n, deadline)
        if op not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise Fail("server frame with reserved opcode %d" % op)
        if rsv & 3 or (rsv & 4 and (self.deflate is None or op not in (OP_TEXT, OP_BINARY))):
            raise Fail("server frame with RSV bits %d not negotiated" % rsv)
        if op >= 8 and (not fin or n > 125):
            raise Fail("server control frame fragmented or over 125 bytes")
        return fin, rsv, op, payload

    def next_event(self, deadline, limit=1 << 26):
        """Reads until one event: ("message", binary, data), ("pong", data),
        ("ping", data) or ("close", code). Raises Eof / Reset / Timeout."""
        while True:
            fin, rsv, op, payload = self.read_frame(deadline)
            if op == OP_CLOSE:
                self.got_close = True
                if len(payload) == 1:
                    raise Fail("server Close with a 1-byte payload")
                if payload:
                    self.close_code = struct.unpack("!H", payload[:2])[0]
                    try:
                        self.close_reason = payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise Fail("server Close reason is not UTF-8")
                    if self.close_code < 1000 or self.close_code in (1004, 1005, 1006, 1015):
                        raise Fail("server sent close code %d" % self.close_code)
                return ("close", self.close_code)
            if op == OP_PING:
                return ("ping", payload)
            if op == OP_PONG:
                return ("pong", payload)
            if op == OP_CONT:
                if self.in_msg is None:
                    raise Fail("server sent a continuation with no message")
                self.in_msg[2].append(payload)
            else:
                if self.in_msg is not None:
                    raise Fail("server started a message inside another")
                self.in_msg = (op, bool(rsv & 4), [payload])
            if fin:
                mop, compressed, parts = self.in_msg
                self.in_msg = None
                data = b"".join(parts)
                if compressed:
                    data = self.deflate.decompress(data, limit)
                if mop == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise Fail("server text message is not UTF-8")
                return ("message", mop == OP_BINARY, data)

    def expect(self, expected, timeout=ANSWER):
        """The next events are exactly `expected` (a list of event tuples)."""
        deadline = time.monotonic() + timeout
        got = []
        for want in expected:
            try:
                ev = self.next_event(deadline)
            except Timeout:
                raise Fail("timed out waiting for %s; got %s" % (show(want), show_all(got)))
            except (Eof, Reset) as e:
                raise Fail("connection ended (%s) waiting for %s; got %s"
                           % (type(e).__name__, show(want), show_all(got)))
            got.append(ev)
            if ev != want:
                raise Fail("expected %s, got %s" % (show(want), show(ev)))
        self.events.extend(got)

    def expect_quiet(self, secs=QUIET):
        """Nothing arrives and the connection stays open for `secs`."""
        try:
            ev = self.next_event(time.monotonic() + secs)
        except Timeout:
            return
        except (Eof, Reset) as e:
            raise Fail("connection ended (%s) where it should stay open" % type(e).__name__)
        raise Fail("unexpected %s where nothing should arrive" % show(ev))

    def close_normal(self, code=NORMAL, reason=b"", want=(NORMAL,)):
        """Our Close; the server answers with a code in `want` and then closes TCP."""
        payload = struct.pack("!H", code) + reason if code is not None else b""
        self.frame(OP_CLOSE, payload)
        self.expect_close(want, initiated_by_server=False)

    def expect_close(self, codes, initiated_by_server=True, timeout=ANSWER):
        """The server's Close with a code in `codes` (None in `codes`: no code) arrives
        next; when the server initiated it we answer, then TCP must end with a FIN."""
        deadline = time.monotonic() + timeout
        try:
            ev = self.next_event(deadline)
        except Timeout:
            raise Fail("no Close from the server within %ss" % timeout)
        except Eof:
            raise Fail("TCP closed without a Close frame")
        except Reset:
            raise Fail("connection reset before the Close frame arrived")
        if ev[0] != "close":
            raise Fail("expected the server's Close, got %s" % show(ev))
        if self.close_code not in codes:
            raise Fail("server closed with %s, expected one of %s" % (self.close_code, list(codes)))
        if initiated_by_server:
            # Answer as a client does (section 5.5.1), echoing the code.
            echo = struct.pack("!H", self.close_code) if self.close_code else b""
            self.frame(OP_CLOSE, echo)
        self.expect_tcp_closed()

    def expect_tcp_closed(self):
        deadline = time.monotonic() + TCP_CLOSE
        try:
            while True:
                fin, rsv, op, payload = self.read_frame(deadline)
                raise Fail("frame (opcode %d) after the server's Close" % op)
        except Eof:
            return
        except Reset:
            raise Fail("server reset TCP after the close handshake instead of a clean close")
        except Timeout:
            raise Fail("server did not close TCP within %ss of the close handshake" % TCP_CLOSE)

    def shut(self):
        try:
            self.sock.close()
        except OSError:
            pass


def show(ev):
    if ev[0] == "message":
        d = ev[2]
        kind = "binary" if ev[1] else "text"
        if len(d) > 40:
            return "%s(%d bytes, sha1 %s)" % (kind, len(d), hashlib.sha1(d).hexdigest()[:10])
        return "%s(%r)" % (kind, d)
    return "%s(%r)" % ev


def show_all(evs):
    return "[" + ", ".join(show(e) for e in evs) + "]"


def text(s):
    return ("message", False, s.encode() if isinstance(s, str) else s)


def binary(b):
    return ("message", True, b)


def pong(p):
    return ("pong", p.encode() if isinstance(p, str) else p)


# ---- the case registry

CASES = []


def case(cid, desc, transports=("ws", "wss"), offer=None, slow=False):
    def reg(fn):
        CASES.append({"id": cid, "desc": desc, "fn": fn, "transports": transports,
                      "offer": offer, "slow": slow})
        return fn
    return reg


def echo_case(cid, desc, send, expected, **kw):
    """Send with `send(c)`, expect exactly `expected`, close 1000 cleanly."""
    def fn(c):
        send(c)
        c.expect(expected)
        c.close_normal()
    case(cid, desc, **kw)(fn)


def fail_case(cid, desc, send, expected, codes, **kw):
    """Send with `send(c)`: the events `expected` arrive, then the server fails the
    connection with a code in `codes`."""
    def fn(c):
        send(c)
        c.expect(expected)
        c.expect_close(codes)
    case(cid, desc, **kw)(fn)


def frames(*specs, chop=None, pause=0.0, sync=False):
    """A sender writing frames given as (op, payload, kwargs) tuples; with `sync`
    each frame is its own write (Autobahn's frame-wise chops)."""
    def send(c):
        data = []
        for spec in specs:
            op, payload = spec[0], spec[1]
            kw = spec[2] if len(spec) > 2 else {}
            f = encode_frame(op, payload.encode() if isinstance(payload, str) else payload, **kw)
            if sync or chop:
                c.send(f, chop, pause)
                if sync:
                    time.sleep(0.01)
            else:
                data.append(f)
        if data:
            c.send(b"".join(data))
    return send


PL = "Hello, world!"

# ---- 1 framing: text and binary of every length form, in one write and in chops

for i, n in enumerate([0, 125, 126, 127, 128, 65535, 65536], 1):
    echo_case("1.1.%d" % i, "text message of %d bytes" % n,
              frames((OP_TEXT, "*" * n)), [text("*" * n)])
    echo_case("1.2.%d" % i, "binary message of %d bytes" % n,
              frames((OP_BINARY, b"\xfe" * n)), [binary(b"\xfe" * n)])
echo_case("1.1.8", "text message of 65536 bytes in 997-byte writes",
          frames((OP_TEXT, "*" * 65536), chop=997), [text("*" * 65536)])
echo_case("1.2.8", "binary message of 65536 bytes in 997-byte writes",
          frames((OP_BINARY, b"\xfe" * 65536), chop=997), [binary(b"\xfe" * 65536)])

# ---- 2 pings and pongs (RFC 6455 sections 5.5.2, 5.5.3)

echo_case("2.1", "ping without payload", frames((OP_PING, "")), [pong("")])
echo_case("2.2", "ping with text payload", frames((OP_PING, PL)), [pong(PL)])
echo_case("2.3", "ping with binary payload", frames((OP_PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")),
          [pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")])
echo_case("2.4", "ping with 125-byte payload", frames((OP_PING, b"\xfe" * 125)), [pong(b"\xfe" * 125)])
fail_case("2.5", "ping with 126-byte payload: control frames carry at most 125 bytes",
          frames((OP_PING, b"\xfe" * 126)), [], [PROTOCOL_ERROR])
echo_case("2.6", "ping with 125-byte payload, one byte per write",
          frames((OP_PING, b"\xfe" * 125), chop=1, pause=0.001), [pong(b"\xfe" * 125)])
echo_case("2.7", "unsolicited pong without payload is ignored", frames((OP_PONG, "")), [])
echo_case("2.8", "unsolicited pong with payload is ignored",
          frames((OP_PONG, "unsolicited pong payload")), [])
echo_case("2.9", "unsolicited pong, then ping: only the ping is answered",
          frames((OP_PONG, "unsolicited pong payload"), (OP_PING, "ping payload")),
          [pong("ping payload")])
echo_case("2.10", "10 pings, each answered with its own payload",
          frames(*[(OP_PING, "payload-%d" % i) for i in range(10)]),
          [pong("payload-%d" % i) for i in range(10)])
echo_case("2.11", "10 pings in one-byte writes",
          frames(*[(OP_PING, "payload-%d" % i) for i in range(10)], chop=1),
          [pong("payload-%d" % i) for i in range(10)])

# ---- 3 reserved bits (section 5.2: non-zero RSV without a negotiated extension fails)

fail_case("3.1", "text with RSV=1", frames((OP_TEXT, PL, {"rsv": 4})), [], [PROTOCOL_ERROR])
fail_case("3.2", "text, then text with RSV=2, then ping: echo, then 1002, no pong",
          frames((OP_TEXT, PL), (OP_TEXT, PL, {"rsv": 2}), (OP_PING, "")),
          [text(PL)], [PROTOCOL_ERROR])
fail_case("3.3", "as 3.2 with RSV=3, frame-wise writes",
          frames((OP_TEXT, PL), (OP_TEXT, PL, {"rsv": 6}), (OP_PING, ""), sync=True),
          [text(PL)], [PROTOCOL_ERROR])
fail_case("3.4", "as 3.2 with RSV=4, byte-wise writes",
          frames((OP_TEXT, PL), (OP_TEXT, PL, {"rsv": 1}), (OP_PING, ""), chop=1),
          [text(PL)], [PROTOCOL_ERROR])
fail_case("3.5", "binary with RSV=5", frames((OP_BINARY, b"\x00\xff\xfe", {"rsv": 5})),
          [], [PROTOCOL_ERROR])
fail_case("3.6", "ping with RSV=6", frames((OP_PING, PL, {"rsv": 3})), [], [PROTOCOL_ERROR])
fail_case("3.7", "close with RSV=7", frames((OP_CLOSE, b"\x03\xe8", {"rsv": 7})),
          [], [PROTOCOL_ERROR])

# ---- 4 opcodes (section 5.2: an unknown opcode fails the connection)

for i, op in enumerate([3, 4, 5, 6, 7], 1):
    fail_case("4.1.%d" % i, "reserved data opcode %d%s" % (op, ", after a text" if i > 2 else ""),
              frames(*([(OP_TEXT, PL)] if i > 2 else []), (op, PL if i % 2 == 0 else ""),
                     (OP_PING, ""), chop=1 if i == 5 else None),
              [text(PL)] if i > 2 else [], [PROTOCOL_ERROR])
for i, op in enumerate([0xB, 0xC, 0xD, 0xE, 0xF], 1):
    fail_case("4.2.%d" % i, "reserved control opcode %d%s" % (op, ", after a text" if i > 2 else ""),
              frames(*([(OP_TEXT, PL)] if i > 2 else []), (op, PL if i % 2 == 0 else ""),
                     (OP_PING, ""), chop=1 if i == 5 else None),
              [text(PL)] if i > 2 else [], [PROTOCOL_ERROR])

# ---- 5 fragmentation (section 5.4)

fail_case("5.1", "ping in 2 fragments: control frames are never fragmented",
          frames((OP_PING, "fragment1", {"fin": False}), (OP_CONT, "fragment2")),
          [], [PROTOCOL_ERROR])
fail_case("5.2", "pong in 2 fragments",
          frames((OP_PONG, "fragment1", {"fin": False}), (OP_CONT, "fragment2")),
          [], [PROTOCOL_ERROR])
for cid, kw in [("5.3", {}), ("5.4", {"sync": True}), ("5.5", {"chop": 1})]:
    echo_case(cid, "text in 2 fragments %s" % kw,
              frames((OP_TEXT, "fragment1", {"fin": False}), (OP_CONT, "fragment2"), **kw),
              [text("fragment1fragment2")])
for cid, kw in [("5.6", {}), ("5.7", {"sync": True}), ("5.8", {"chop": 1})]:
    echo_case(cid, "text in 2 fragments with a ping between %s" % kw,
              frames((OP_TEXT, "fragment1", {"fin": False}), (OP_PING, "ping payload"),
                     (OP_CONT, "fragment2"), **kw),
              [pong("ping payload"), text("fragment1fragment2")])
for cid, fin, kw in [("5.9", True, {}), ("5.10", True, {"sync": True}), ("5.11", True, {"chop": 1}),
                     ("5.12", False, {}), ("5.13", False, {"sync": True}),
                     ("5.14", False, {"chop": 1})]:
    fail_case(cid, "continuation (FIN=%s) with nothing to continue, then a text %s" % (fin, kw),
              frames((OP_CONT, "non-continuation payload", {"fin": fin}), (OP_TEXT, PL), **kw),
              [], [PROTOCOL_ERROR])
fail_case("5.15", "2-fragment text, then an orphan continuation, then a text",
          frames((OP_TEXT, "fragment1", {"fin": False}), (OP_CONT, "fragment2"),
                 (OP_CONT, "fragment3", {"fin": False}), (OP_TEXT, "fragment4")),
          [text("fragment1fragment2")], [PROTOCOL_ERROR])
fail_case("5.16", "orphan continuation (FIN=0), then a 2-fragment text, twice",
          frames(*[(OP_CONT, "fragment1", {"fin": False}), (OP_TEXT, "fragment2", {"fin": False}),
                   (OP_CONT, "fragment3")] * 2), [], [PROTOCOL_ERROR])
fail_case("5.17", "orphan continuation (FIN=1), then a 2-fragment text, twice",
          frames(*[(OP_CONT, "fragment1"), (OP_TEXT, "fragment2", {"fin": False}),
                   (OP_CONT, "fragment3")] * 2), [], [PROTOCOL_ERROR])
fail_case("5.18", "text in 2 fragments both with opcode text",
          frames((OP_TEXT, "fragment1", {"fin": False}), (OP_TEXT, "fragment2")),
          [], [PROTOCOL_ERROR])


def fragments_with_pings(sync):
    def fn(c):
        f = ["fragment%d" % i for i in range(1, 6)]
        frames((OP_TEXT, f[0], {"fin": False}), (OP_CONT, f[1], {"fin": False}),
               (OP_PING, "pongme 1!"), sync=sync)(c)
        # The Ping is answered before the message is complete (section 5.4).
        c.expect([pong("pongme 1!")])
        c.expect_quiet()
        frames((OP_CONT, f[2], {"fin": False}), (OP_CONT, f[3], {"fin": False}),
               (OP_PING, "pongme 2!"), (OP_CONT, f[4]), sync=sync)(c)
        c.expect([pong("pongme 2!"), text("".join(f))])
        c.close_normal()
    return fn


case("5.19", "fragmented text with pings between, sent in two bursts")(fragments_with_pings(False))
case("5.20", "as 5.19, each frame its own write")(fragments_with_pings(True))

# ---- 6 UTF-8 (section 8.1), fail fast at the first invalid byte

echo_case("6.1.1", "empty text", frames((OP_TEXT, "")), [text("")])
echo_case("6.1.2", "text of 3 empty fragments",
          frames((OP_TEXT, "", {"fin": False}), (OP_CONT, "", {"fin": False}), (OP_CONT, "")),
          [text("")])
echo_case("6.1.3", "text of 3 fragments, only the middle one non-empty",
          frames((OP_TEXT, "", {"fin": False}), (OP_CONT, "middle frame payload", {"fin": False}),
                 (OP_CONT, "")), [text("middle frame payload")])

U1 = "Hello-µ@ßöä".encode()
U2 = "üàá-UTF-8!!".encode()
KAPPA = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε", ό as U+1F79


def per_byte_text(data):
    """A text message with one byte per frame (code points split across frames)."""
    specs = [(OP_TEXT if i == 0 else OP_CONT, data[i:i + 1], {"fin": i == len(data) - 1})
             for i in range(len(data))]
    return frames(*specs)


echo_case("6.2.1", "valid UTF-8 in one frame", frames((OP_TEXT, U1 + U2)), [text(U1 + U2)])
echo_case("6.2.2", "valid UTF-8 in 2 fragments split on a code point boundary",
          frames((OP_TEXT, U1, {"fin": False}), (OP_CONT, U2)), [text(U1 + U2)])
echo_case("6.2.3", "valid UTF-8, one byte per frame", per_byte_text(U1 + U2), [text(U1 + U2)])
echo_case("6.2.4", "valid Greek UTF-8, one byte per frame", per_byte_text(KAPPA), [text(KAPPA)])

# The invalid byte is the 13th (a surrogate's second byte, ED A0).
BAD = KAPPA + b"\xed\xa0\x80" + b"edited"
fail_case("6.3.1", "invalid UTF-8 (encoded surrogate) in one frame",
          frames((OP_TEXT, BAD)), [], [INVALID_PAYLOAD])
fail_case("6.3.2", "invalid UTF-8, one byte per frame", per_byte_text(BAD), [], [INVALID_PAYLOAD])

# 6.4: fail fast. The message is invalid from its 13th byte (F4 90: above U+10FFFF);
# what follows is never sent, so a server that only checks whole messages never
# closes and the case fails on the timeout.
FF = KAPPA + b"\xf4\x90\x80\x80" + b"edited"


def fail_fast(first, second, one_frame):
    def fn(c):
        if one_frame:
            # One frame announcing the whole length; its payload arrives in parts.
            key = os.urandom(4)
            wire = encode_frame(OP_TEXT, FF, key=key)
            head = len(wire) - len(FF)
            c.send(wire[:head + first])
            c.expect_quiet()
            c.send(wire[head + first:head + second])
        else:
            c.frame(OP_TEXT, FF[:first], fin=False)
            c.expect_quiet()
            c.frame(OP_CONT, FF[first:second], fin=False)
        c.expect_close([INVALID_PAYLOAD])
    return fn


case("6.4.1", "valid frame, then a frame making it invalid: 1007 before the rest")(
    fail_fast(11, 15, False))
case("6.4.2", "as 6.4.1, the second frame ends at the invalid byte")(fail_fast(12, 13, False))
case("6.4.3", "as 6.4.1 in one frame whose payload arrives in parts")(fail_fast(11, 15, True))
case("6.4.4", "as 6.4.2 in one frame whose payload arrives in parts")(fail_fast(12, 13, True))


def utf8_tables():
    """Sections of Markus Kuhn's UTF-8 decoder stress test (the vectors behind
    Autobahn 6.5-6.21) plus code-point classes; validity is decided by Python's
    strict decoder, not by hand."""
    t = []
    t.append(("valid sequences", [b"hello\x24world", b"hello\xc2\xa2world",
                                  b"hello\xe2\x82\xacworld", b"hello\xf0\xa4\xad\xa2world", KAPPA]))
    t.append(("prefixes of a valid multi-byte string", [KAPPA[:i] for i in range(1, len(KAPPA) + 1)]))
    t.append(("first sequence of each length", [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80",
                                                b"\xf0\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
                                                b"\xfc\x84\x80\x80\x80\x80"]))
    t.append(("last sequence of each length", [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf",
                                               b"\xf4\x8f\xbf\xbf", b"\xf7\xbf\xbf\xbf",
                                               b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]))
    t.append(("boundaries", [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd",
                             b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80"]))
    t.append(("unexpected continuation bytes", [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80",
                                                b"\x80\xbf\x80\xbf", bytes(range(0x80, 0xc0))]))
    t.append(("lonely start bytes followed by a space",
              [b"".join(bytes([b, 0x20]) for b in range(lo, hi))
               for lo, hi in [(0xc0, 0xe0), (0xe0, 0xf0), (0xf0, 0xf8), (0xf8, 0xfc), (0xfc, 0xfe)]]))
    trunc = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
             b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    t.append(("last continuation byte missing", trunc))
    t.append(("concatenated incomplete sequences", [b"".join(trunc)]))
    t.append(("impossible bytes", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]))
    t.append(("overlong slash", [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",
                                 b"\xf8\x80\x80\x80\xaf", b"\xfc\x80\x80\x80\x80\xaf"]))
    t.append(("maximum overlong", [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf",
                                   b"\xf8\x87\xbf\xbf\xbf", b"\xfc\x83\xbf\xbf\xbf\xbf"]))
    t.append(("overlong NUL", [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80",
                               b"\xf8\x80\x80\x80\x80", b"\xfc\x80\x80\x80\x80\x80"]))
    sur = [0xd800, 0xdb7f, 0xdb80, 0xdbff, 0xdc00, 0xdf80, 0xdfff]

    def enc3(cp):
        return bytes([0xe0 | cp >> 12, 0x80 | (cp >> 6) & 0x3f, 0x80 | cp & 0x3f])
    t.append(("single surrogates", [enc3(s) for s in sur]))
    t.append(("paired surrogates", [enc3(h) + enc3(l) for h in (0xd800, 0xdb7f, 0xdb80, 0xdbff)
                                    for l in (0xdc00, 0xdfff)]))
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for plane in range(1, 17):
        cp = plane * 0x10000 + 0xfffe
        nonchars += [chr(cp).encode(), chr(cp + 1).encode()]
    t.append(("non-characters (valid UTF-8)", nonchars))
    t.append(("specials (valid)", [chr(c).encode() for c in range(0xfff9, 0x10000)]))
    return t


for si, (label, seqs) in enumerate(utf8_tables(), 5):
    for j, seq in enumerate(seqs, 1):
        try:
            seq.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        cid = "6.%d.%d" % (si, j)
        desc = "%s: %s %s" % (label, seq[:24].hex(), "valid" if valid else "invalid")
        if valid:
            echo_case(cid, desc, frames((OP_TEXT, seq)), [text(seq)], transports=("ws",))
        else:
            fail_case(cid, desc, frames((OP_TEXT, seq)), [], [INVALID_PAYLOAD], transports=("ws",))
            # The same, one byte per frame: the validator must carry state across
            # frames and still fail at the first impossible byte.
            fail_case(cid + "f", desc + ", one byte per frame", per_byte_text(seq), [],
                      [INVALID_PAYLOAD], transports=("ws",))


def all_code_points(c):
    """Every Unicode scalar value, in messages of 4096 code points each, split into
    fragments at odd byte offsets (mid code point)."""
    cps = [cp for cp in range(0x110000) if not 0xd800 <= cp <= 0xdfff]
    msgs = ["".join(map(chr, cps[i:i + 4096])).encode() for i in range(0, len(cps), 4096)]
    for m in msgs:
        c.message(m, False, frag=1021)
    c.expect([text(m) for m in msgs], timeout=ANSWER * 6)
    c.close_normal()


case("6.22.1", "every Unicode scalar value, fragmented mid code point", slow=True)(all_code_points)

# ---- 7 close handling (sections 5.5.1, 7.1, 7.4)

echo_case("7.1.1", "text, then close", frames((OP_TEXT, "Hello World!")), [text("Hello World!")])


def close_then(*after):
    def fn(c):
        c.send(encode_frame(OP_CLOSE, struct.pack("!H", NORMAL))
               + b"".join(encode_frame(op, p.encode(), **kw) for op, p, kw in after))
        c.expect_close([NORMAL], initiated_by_server=False)
    return fn


case("7.1.2", "close, then a second close: ignored")(close_then((OP_CLOSE, "", {})))
case("7.1.3", "close, then ping: no pong")(close_then((OP_PING, "", {})))
case("7.1.4", "close, then text: ignored")(close_then((OP_TEXT, "Hello World!", {})))


def close_mid_message(c):
    c.send(encode_frame(OP_TEXT, b"fragment1", fin=False) + encode_frame(OP_CLOSE, b"\x03\xe8")
           + encode_frame(OP_CONT, b"fragment2"))
    c.expect_close([NORMAL], initiated_by_server=False)


case("7.1.5", "close between the fragments of a message")(close_mid_message)


def big_then_close(c):
    # Autobahn's 7.1.6 is informational; strictly, everything before our Close is
    # processed in order, so both echoes arrive before the Close echo.
    big = ("BAsd7&jh23" * 26215)[:256 * 1024]
    c.send(encode_frame(OP_TEXT, big.encode()) + encode_frame(OP_TEXT, b"Hello World!")
           + encode_frame(OP_CLOSE, b"\x03\xe8") + encode_frame(OP_PING, b""))
    c.expect([text(big), text("Hello World!")])
    c.expect_close([NORMAL], initiated_by_server=False)


case("7.1.6", "256 KiB text, text, close, ping: echoes in order, then the Close")(big_then_close)


def close_with(payload, want):
    def fn(c):
        c.frame(OP_CLOSE, payload)
        if want == (NORMAL,) or want == (None,):
            c.expect_close(want, initiated_by_server=False)
        else:
            c.expect_close(want)
    return fn


case("7.3.1", "close without payload: answered without code")(close_with(b"", (None,)))
case("7.3.2", "close with a 1-byte payload: 1002")(close_with(b"\x03", (PROTOCOL_ERROR,)))
case("7.3.3", "close 1000 without reason")(close_with(b"\x03\xe8", (NORMAL,)))
case("7.3.4", "close 1000 with a reason")(close_with(b"\x03\xe8Hello World!", (NORMAL,)))
case("7.3.5", "close 1000 with a 123-byte reason")(close_with(b"\x03\xe8" + b"*" * 123, (NORMAL,)))


def close_124(c):
    # 126 bytes of payload: a control frame over 125 bytes (section 5.5).
    c.frame(OP_CLOSE, b"\x03\xe8" + b"*" * 124)
    c.expect_close([PROTOCOL_ERROR])


case("7.3.6", "close with a 124-byte reason (126-byte payload): 1002")(close_124)
case("7.5.1", "close with a reason that is not UTF-8: 1007")(
    close_with(b"\x03\xe8" + BAD, (INVALID_PAYLOAD,)))

for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
                          4000, 4999], 1):
    case("7.7.%d" % i, "close with valid code %d: echoed" % code)(
        close_with(struct.pack("!H", code), (code,)))
# Codes RFC 6455 section 7.4 reserves or leaves unassigned, and out of range.
for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015, 5000, 65535],
                         1):
    case("7.9.%d" % i, "close with invalid code %d: 1002" % code)(
        close_with(struct.pack("!H", code), (PROTOCOL_ERROR,)))

# ---- 9 limits and performance (large messages, many fragments, many round trips)


def big_echo(n, binary_msg, frag=None, chop=None):
    def fn(c):
        data = (b"\x00\xfe\x23\xfa\xf0" * (n // 5 + 1))[:n] if binary_msg else \
            (b"BAsd7&jh23" * (n // 10 + 1))[:n]
        if frag:
            c.message(data, binary_msg, frag=frag)
        else:
            c.frame(OP_BINARY if binary_msg else OP_TEXT, data, chop=chop)
        c.expect([("message", binary_msg, data)], timeout=ANSWER * 12)
        c.close_normal()
    return fn


SIZES = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20]
for i, n in enumerate(SIZES, 1):
    case("9.1.%d" % i, "text message of %d bytes" % n, slow=n > (1 << 20),
         transports=("ws", "wss") if n <= (1 << 20) else ("ws",))(big_echo(n, False))
    case("9.2.%d" % i, "binary message of %d bytes" % n, slow=n > (1 << 20),
         transports=("ws", "wss") if n <= (1 << 20) else ("ws",))(big_echo(n, True))
for i, f in enumerate([64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20], 1):
    case("9.3.%d" % i, "4 MiB text in fragments of %d bytes" % f, slow=True,
         transports=("ws",))(big_echo(4 << 20, False, frag=f))
    case("9.4.%d" % i, "4 MiB binary in fragments of %d bytes" % f, slow=True,
         transports=("ws",))(big_echo(4 << 20, True, frag=f))
for i, ch in enumerate([64, 128, 256, 512, 1024, 2048], 1):
    case("9.5.%d" % i, "1 MiB text in writes of %d bytes" % ch, slow=True,
         transports=("ws",))(big_echo(1 << 20, False, chop=ch))
    case("9.6.%d" % i, "1 MiB binary in writes of %d bytes" % ch, slow=True,
         transports=("ws",))(big_echo(1 << 20, True, chop=ch))


def round_trips(n, binary_msg, count):
    def fn(c):
        data = (b"\xfe" if binary_msg else b"*") * n
        for _ in range(c.opts.scale(count)):
            c.frame(OP_BINARY if binary_msg else OP_TEXT, data)
            c.expect([("message", binary_msg, data)])
        c.close_normal()
    return fn


for i, n in enumerate([0, 16, 64, 256, 1024, 4096], 1):
    case("9.7.%d" % i, "1000 round trips of %d-byte text" % n)(round_trips(n, False, 1000))
    case("9.8.%d" % i, "1000 round trips of %d-byte binary" % n)(round_trips(n, True, 1000))

# ---- 10 auto-fragmentation


def autofrag(c):
    data = b"*" * 65536
    c.message(data, False, frag=1300)
    c.expect([text(data)])
    c.close_normal()


case("10.1.1", "64 KiB text in 1300-byte fragments")(autofrag)

# ---- 12 and 13 permessage-deflate (RFC 7692): compressed echo of many messages


def corpus():
    """Deterministic stand-ins for Autobahn's data files: readable text with
    non-ASCII letters, JSON, HTML, a bitmap-like binary and incompressible bytes."""
    rng = random.Random(7692)
    words = ("der die das und Faust Gretchen Mephistopheles Grüße Straße schön über "
             "Nacht Himmel Erde Geist Wissenschaft Bücher Träume").split()
    prose = " ".join(rng.choice(words) for _ in range(60000))
    js = json.dumps([{"id": i, "name": "item-%d" % i, "tags": ["α", "β", "γ"][: i % 4],
                      "price": round(rng.random() * 100, 2), "ok": i % 3 == 0}
                     for i in range(4000)])
    html = "".join("<div class=\"row r%d\"><p>%s</p><a href=\"/p/%d\">ß→%d</a></div>\n"
                   % (i % 7, " ".join(rng.choice(words) for _ in range(8)), i, i)
                   for i in range(3000))
    bmp = bytes((x * y // 7 + rng.randrange(4)) & 0xff for y in range(512) for x in range(512))
    noise = bytes(rng.getrandbits(8) for _ in range(300000))
    return [("json", js, False), ("bitmap", bmp, True), ("prose", prose, False),
            ("html", html, False), ("random", noise, True)]


MSG_SIZES = [(16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0),
             (32768, 0), (65536, 0), (131072, 0), (8192, 256), (16384, 256), (32768, 256),
             (65536, 256), (131072, 256), (131072, 1024), (131072, 4096), (131072, 32768)]
CORPUS = None


def deflate_echo(dataset, size, frag, count=1000):
    def fn(c):
        global CORPUS
        if c.deflate is None:
            raise Fail("permessage-deflate was not negotiated (offer %r)" % c.offer)
        CORPUS = CORPUS or corpus()
        name, data, is_binary = [d for d in CORPUS if d[0] == dataset][0]
        pos = 0
        for _ in range(c.opts.scale(count)):
            # Slices of the text are taken in code points, as a text message must be.
            end = (pos + size) % len(data)
            piece = data[pos:end] if end > pos else data[pos:] + data[:end]
            pos = end
            msg = piece if is_binary else piece.encode()
            c.message(msg, is_binary, frag=frag or None, compress=True)
            c.expect([("message", is_binary, msg)])
        c.close_normal()
    return fn


for j, ds in enumerate(["json", "bitmap", "prose", "html", "random"], 1):
    for i, (size, frag) in enumerate(MSG_SIZES, 1):
        case("12.%d.%d" % (j, i), "%s: compressed messages of %d bytes, fragments of %s"
             % (ds, size, frag or "-"), offer="permessage-deflate; client_max_window_bits",
             slow=True, transports=("ws",) if i > 3 else ("ws", "wss"))(deflate_echo(ds, size, frag))

# Autobahn 13.x: the offers of Autobahn's client (which always says it accepts
# client_no_context_takeover and client_max_window_bits) with each server parameter.
OFFERS = [
    "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_max_window_bits=15",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_no_context_takeover; server_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_no_context_takeover; server_max_window_bits=15",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_no_context_takeover; server_max_window_bits=9, "
    "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
    "server_no_context_takeover, "
    "permessage-deflate; client_no_context_takeover; client_max_window_bits",
]
for j, offer in enumerate(OFFERS, 1):
    for i, (size, frag) in enumerate(MSG_SIZES, 1):
        case("13.%d.%d" % (j, i), "json: compressed messages of %d bytes, fragments of %s, "
             "offer %r" % (size, frag or "-", offer), offer=offer, slow=True,
             transports=("ws",))(deflate_echo("json", size, frag))

# ---- X: cases Autobahn does not have (limits, RFC 7692 negotiation, framing)


def answer_problem(offers, answer):
    """What is wrong with `answer` (the accepted extension's parameters) as the
    answer to one of the comma-separated `offers`; None when it is valid for one."""
    problems = [offer_problem(params, answer) for _, params in parse_extensions(offers)]
    return None if None in problems else problems[0]


def offer_problem(offered, answer):
    """What is wrong with `answer` as the answer to the offer with parameters
    `offered`, by RFC 7692 section 7.1; None when it is valid."""
    for k, v in answer.items():
        if k in ("server_no_context_takeover", "client_no_context_takeover"):
            if v is not None:
                return "%s with a value" % k
        elif k in ("server_max_window_bits", "client_max_window_bits"):
            if v is None or not v.isdigit() or not 8 <= int(v) <= 15 or v.startswith("0"):
                return "%s=%r is not 8..15" % (k, v)
        else:
            return "unknown parameter %s in the answer" % k
    if "server_no_context_takeover" in offered and "server_no_context_takeover" not in answer:
        return "server_no_context_takeover offered but not in the answer (7.1.1.1)"
    smwb = offered.get("server_max_window_bits")
    if smwb is not None:
        got = answer.get("server_max_window_bits")
        if got is None or int(got) > int(smwb):
            return "server_max_window_bits=%s offered, answered %r (7.1.2.1)" % (smwb, got)
    if "client_max_window_bits" not in offered and "client_max_window_bits" in answer:
        return "client_max_window_bits answered but not offered (7.1.2.2)"
    cmwb = offered.get("client_max_window_bits")
    if cmwb and "client_max_window_bits" in answer and int(answer["client_max_window_bits"]) > int(cmwb):
        return "client_max_window_bits above the offered %s" % cmwb
    return None


def negotiated(offer, accept):
    """`accept` True: the offer is valid and must be accepted with an answer RFC 7692
    allows; False: it is malformed (section 7.1: unknown or duplicated parameter,
    invalid value) and must be declined; None: either. Then a compressed echo (or,
    declined, a plain one) within the windows the answer promised."""
    def fn(c):
        got = c.extensions[0] if c.extensions else None
        if got is None and accept:
            raise Fail("valid offer %r declined" % offer)
        if got is not None and accept is False:
            raise Fail("malformed offer %r accepted: %r" % (offer, got))
        if got is None:
            c.frame(OP_TEXT, b"plain " * 50)
            c.expect([text(b"plain " * 50)])
        else:
            why = answer_problem(offer, got[1])
            if why:
                raise Fail("answer %r to %r: %s" % (got, offer, why))
            for _ in range(3):
                msg = ("compress me " * 400).encode()
                c.message(msg, False, compress=True)
                c.expect([text(msg)])
        c.close_normal()
    return fn


for bits in range(8, 16):
    offer = "permessage-deflate; server_max_window_bits=%d" % bits
    # 8: zlib cannot deflate with a 256-byte window, so declining is allowed.
    case("X.13.s%d" % bits, "server_max_window_bits=%d" % bits, offer=offer)(
        negotiated(offer, None if bits == 8 else True))
    offer = "permessage-deflate; client_max_window_bits=%d" % bits
    case("X.13.c%d" % bits, "client_max_window_bits=%d" % bits, offer=offer)(
        negotiated(offer, True))
for i, (offer, accept) in enumerate([
    ("permessage-deflate", True),
    ("permessage-deflate; client_max_window_bits", True),
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", True),
    ("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10",
     True),
    ("permessage-deflate; server_max_window_bits", False),
    ("permessage-deflate; server_max_window_bits=16", False),
    ("permessage-deflate; client_max_window_bits=7", False),
    ("permessage-deflate; server_max_window_bits=010", False),
    ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", False),
    ("permessage-deflate; no_such_parameter", False),
    ("permessage-deflate; server_no_context_takeover=1", False),
    ("x-webkit-deflate-frame", False),
], 1):
    case("X.13.n%d" % i, "offer %r" % offer, offer=offer)(negotiated(offer, accept))

# Every server window with each context-takeover combination, the client limiting
# its own window to the same size.
for bits in range(8, 16):
    for k, extra in enumerate(["", "; server_no_context_takeover", "; client_no_context_takeover",
                               "; server_no_context_takeover; client_no_context_takeover"]):
        offer = "permessage-deflate; server_max_window_bits=%d; client_max_window_bits=%d%s" % (
            bits, bits, extra)
        case("X.13.m%d.%d" % (bits, k), "offer %r" % offer, offer=offer)(
            negotiated(offer, None if bits == 8 else True))

DEFLATE = "permessage-deflate"


def rsv1_on(op, fin_first=True):
    def fn(c):
        if op == OP_CONT:
            c.send(encode_frame(OP_TEXT, c.deflate.compress(b"part one "), fin=False, rsv=4)
                   + encode_frame(OP_CONT, c.deflate.compress(b"part two"), rsv=4))
        else:
            c.frame(op, b"", rsv=4)
        c.expect_close([PROTOCOL_ERROR])
    return fn


case("X.6.1", "RSV1 on a ping with deflate negotiated: 1002", offer=DEFLATE)(rsv1_on(OP_PING))
case("X.6.2", "RSV1 on a close with deflate negotiated: 1002", offer=DEFLATE)(rsv1_on(OP_CLOSE))
case("X.6.3", "RSV1 on a continuation: 1002 (RFC 7692 section 6.1)", offer=DEFLATE)(
    rsv1_on(OP_CONT))


def compressed_cases():
    def uncompressed_allowed(c):
        c.frame(OP_TEXT, b"not compressed")
        c.expect([text("not compressed")])
        c.close_normal()
    case("X.6.4", "uncompressed message with deflate negotiated: echoed", offer=DEFLATE)(
        uncompressed_allowed)

    def empty_compressed(c):
        c.frame(OP_BINARY, b"\x00", rsv=4)  # an empty stored block, section 7.2.3.6
        c.frame(OP_TEXT, b"", rsv=4)
        c.expect([binary(b""), text("")])
        c.close_normal()
    case("X.6.5", "empty compressed messages (RFC 7692 section 7.2.3.6)", offer=DEFLATE)(
        empty_compressed)

    def fragmented_with_ping(c):
        z = c.deflate.compress(("fragmented and compressed " * 100).encode())
        c.send(encode_frame(OP_TEXT, z[:10], fin=False, rsv=4) + encode_frame(OP_PING, b"mid")
               + encode_frame(OP_CONT, z[10:20], fin=False) + encode_frame(OP_CONT, z[20:]))
        c.expect([pong("mid"), text("fragmented and compressed " * 100)])
        c.close_normal()
    case("X.6.6", "compressed message in 3 fragments with a ping between", offer=DEFLATE)(
        fragmented_with_ping)

    def corrupt(c):
        c.frame(OP_BINARY, b"\xff\xff\xff\xff\xff", rsv=4)
        c.expect_close([INVALID_PAYLOAD, PROTOCOL_ERROR])
    case("X.6.7", "compressed data that does not inflate: the connection fails",
         offer=DEFLATE)(corrupt)

    def bad_utf8_compressed(c):
        c.message(BAD, False, compress=True)
        c.expect_close([INVALID_PAYLOAD])
    case("X.6.8", "compressed text that inflates to invalid UTF-8: 1007", offer=DEFLATE)(
        bad_utf8_compressed)

    def bomb(c):
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        wire = z.compress(b"\x00" * (64 << 20)) + z.flush(zlib.Z_SYNC_FLUSH)
        c.frame(OP_BINARY, wire[:-4], rsv=4)
        c.expect_close([MESSAGE_TOO_BIG])
    case("X.9.3", "compression bomb (64 MiB of zeros in %s): 1009" % "about 64 KiB",
         offer=DEFLATE)(bomb)


compressed_cases()


def over_limit_frame(c):
    # Only the header announcing 16 MiB + 1 is sent: the server refuses it from the
    # header, before any payload (section 7.4.1, 1009).
    c.send(encode_frame(OP_BINARY, b"", length=(16 << 20) + 1))
    c.expect_close([MESSAGE_TOO_BIG])


case("X.9.1", "frame header announcing 16 MiB + 1: 1009 before the payload")(over_limit_frame)


def over_limit_message(c):
    part = b"\xab" * (4 << 20)
    for i in range(4):
        c.frame(OP_BINARY if i == 0 else OP_CONT, part, fin=False)
    c.frame(OP_CONT, b"!")
    c.expect_close([MESSAGE_TOO_BIG])


case("X.9.2", "message of 16 MiB + 1 in fragments: 1009", slow=True, transports=("ws",))(
    over_limit_message)


def tiny_fragments(n, binary_msg):
    def fn(c):
        # Text with 2-, 3- and 4-byte code points, so most fragments split one.
        data = bytes(range(256)) * (n // 256) if binary_msg else \
            ("aß€😀" * (n // 10 + 1)).encode()[:n]
        if not binary_msg:
            data = data.decode("utf-8", "ignore").encode()
        c.message(data, binary_msg, frag=1)
        c.expect([("message", binary_msg, data)], timeout=ANSWER * 6)
        c.close_normal()
    return fn


case("X.9.4", "64 KiB binary message in 65,536 one-byte fragments", slow=True)(
    tiny_fragments(1 << 16, True))
case("X.9.5", "64 KiB text message in one-byte fragments (code points split)", slow=True)(
    tiny_fragments(1 << 16, False))


def bad_length(form, n):
    def fn(c):
        c.send(encode_frame(OP_BINARY, b"\x01" * n, len_form=form))
        c.expect_close([PROTOCOL_ERROR])
    return fn


case("X.1.1", "16-bit length form for 5 bytes (not minimal): 1002")(bad_length(16, 5))
case("X.1.2", "64-bit length form for 200 bytes (not minimal): 1002")(bad_length(64, 200))


def msb_length(c):
    c.send(bytes([0x82, 0xff]) + struct.pack("!Q", 1 << 63) + b"\x00\x00\x00\x00")
    c.expect_close([PROTOCOL_ERROR])


case("X.1.3", "64-bit length with the most significant bit set: 1002")(msb_length)


def unmasked(c):
    c.send(encode_frame(OP_TEXT, b"unmasked", masked=False))
    c.expect_close([PROTOCOL_ERROR])


case("X.1.4", "unmasked client frame: 1002 (section 5.1)")(unmasked)


def text_ends_mid_code_point(c):
    c.frame(OP_TEXT, "ab€".encode()[:-1])
    c.expect_close([INVALID_PAYLOAD])


case("X.6.9", "text message ending inside a code point: 1007")(text_ends_mid_code_point)


# ---- runner

def selected(cases, patterns, transport, include_slow):
    out = []
    for cs in cases:
        if transport not in cs["transports"]:
            continue
        if patterns and not any(cs["id"] == p or cs["id"].startswith(p + ".") for p in patterns):
            continue
        if cs["slow"] and not include_slow and not patterns:
            continue
        out.append(cs)
    return out


def run_case(cs, opts):
    t0 = time.monotonic()
    c = None
    try:
        c = Conn(opts, cs["offer"])
        c.offer = cs["offer"]
        cs["fn"](c)
        return True, "", time.monotonic() - t0
    except Fail as e:
        return False, str(e), time.monotonic() - t0
    except (Eof, Reset, Timeout) as e:
        return False, "unexpected %s" % type(e).__name__, time.monotonic() - t0
    except Skip:
        raise
    except OSError as e:
        return False, "socket error: %s" % e, time.monotonic() - t0
    finally:
        if c is not None:
            c.shut()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="ws://127.0.0.1:8080/")
    ap.add_argument("--cafile", help="CA (or self-signed certificate) for wss://")
    ap.add_argument("--sni", help="server name for wss:// (default: the URL's host)")
    ap.add_argument("--cases", default="", help="comma-separated ids or prefixes (6.4, 12.1)")
    ap.add_argument("--slow", action="store_true", help="include the slow cases (9.x, 12.x, 13.x)")
    ap.add_argument("--count", type=int, default=0,
                    help="messages per 9.7/9.8/12/13 case (default: Autobahn's 1000)")
    ap.add_argument("--h2", action="store_true",
                    help="WebSocket over HTTP/2 (RFC 8441): ALPN h2 on wss://, prior "
                         "knowledge (h2c) on ws://; exit status 77 when the server does "
                         "not offer extended CONNECT")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--json", help="write the results to this file")
    opts = ap.parse_args()
    opts.scale = lambda n: min(n, opts.count) if opts.count else n
    transport = "wss" if opts.url.startswith("wss:") else "ws"
    if opts.h2:
        # Over HTTP/2 the categories of the TLS subset run (both schemes).
        try:
            Conn(opts).shut()
        except Skip as e:
            print("SKIPPED: %s" % e)
            return 77
        transport = "wss"
    label = ("h2, " if opts.h2 else "") + transport
    patterns = [p.strip() for p in opts.cases.split(",") if p.strip()]
    todo = selected(CASES, patterns, transport, opts.slow)
    if opts.list:
        for cs in todo:
            print("%-10s %s" % (cs["id"], cs["desc"]))
        return 0
    results = []
    failed = 0
    for cs in todo:
        ok, why, secs = run_case(cs, opts)
        failed += not ok
        results.append({"id": cs["id"], "ok": ok, "why": why, "secs": round(secs, 3)})
        print("%-4s %-10s %6.2fs %s%s" % ("ok" if ok else "FAIL", cs["id"], secs, cs["desc"][:70],
                                          "" if ok else "\n     -> " + why), flush=True)
    print("%d cases, %d passed, %d failed (%s)" % (len(todo), len(todo) - failed, failed, label))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"transport": transport, "cases": results}, f, indent=1)
    return 1 if failed or not todo else 0


if __name__ == "__main__":
    sys.exit(main())
