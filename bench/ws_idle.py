#!/usr/bin/env python3
"""Measure a server's memory cost per idle WebSocket connection.

Reads the server process's VmRSS, opens N connections to 127.0.0.1:PORT, upgrades
each to WebSocket (RFC 6455 handshake) and echoes one small masked text message on
it (so the server has run its session, handled a message and parked it idle), reads
VmRSS again and prints the delta. Bounded: the connection count is capped, every
socket has a timeout and the whole run has a deadline.

Output, one `key=value` per line:
    rss_before_kib, rss_after_kib, opened, alive, errors, per_conn_bytes

Only loopback addresses are accepted: this is a local benchmark helper.
"""

import argparse
import base64
import os
import socket
import sys
import time

MAX_CONNS = 5000


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def upgrade_and_echo(host, port, path):
    s = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            raise ConnectionError("closed before the 101")
        head += b
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
    payload = b"idle"
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    h = recv_exact(s, 2)
    if recv_exact(s, h[1] & 0x7F) != payload:
        raise ConnectionError("bad echo")
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pid", type=int, required=True, help="server process to measure")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--path", default="/")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--deadline", type=float, default=60.0)
    args = p.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("ws_idle.py: loopback only")
    count = min(args.count, MAX_CONNS)
    deadline = time.monotonic() + args.deadline

    # One throwaway session first, so one-off costs are not charged to the idle set.
    upgrade_and_echo(args.host, args.port, args.path).close()
    time.sleep(args.settle)
    before = vm_rss_kib(args.pid)
    socks, errors = [], 0
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            socks.append(upgrade_and_echo(args.host, args.port, args.path))
        except OSError as e:
            errors += 1
            print(f"error: {e}", file=sys.stderr)
    time.sleep(args.settle)
    after = vm_rss_kib(args.pid)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    print(f"rss_before_kib={before}")
    print(f"rss_after_kib={after}")
    print(f"opened={len(socks)}")
    print(f"alive={alive}")
    print(f"errors={errors}")
    print("per_conn_bytes=" + (str((after - before) * 1024 // alive) if alive else "n/a"))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
