#!/usr/bin/env python3
"""Measure a server's memory cost per idle keep-alive connection.

Reads the server process's VmRSS, opens N connections to 127.0.0.1:PORT, sends one
HTTP/1.1 request on each and reads the whole response (so the server has parsed a
request, answered it and parked the connection in its keep-alive state), reads VmRSS
again, and prints the delta. Everything is bounded: the connection count is capped,
every socket has a timeout and the whole run has a deadline.

Output, one `key=value` per line, for run.sh to read:
    rss_before_kib, rss_after_kib, opened, alive, errors, per_conn_bytes ("n/a" if none stayed open)

With --tls (and --cafile to trust the server's certificate), every connection is
HTTPS: the handshake completes and one request is answered before the connection idles,
so the delta includes what the server's TLS library keeps per idle connection.

Only loopback addresses are accepted: this is a local benchmark helper.
"""

import argparse
import socket
import ssl
import sys
import time

MAX_CONNS = 5000


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_response(sock):
    """Read one response with a Content-Length body; return the status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        body += chunk
    return status


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pid", type=int, required=True, help="server process to measure")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--path", default="/1k.bin")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--settle", type=float, default=1.0, help="seconds to wait before reading RSS")
    p.add_argument("--deadline", type=float, default=60.0, help="give up after this many seconds")
    p.add_argument("--tls", action="store_true", help="connect with TLS (HTTPS)")
    p.add_argument("--cafile", help="PEM certificate to trust with --tls")
    args = p.parse_args()

    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("idle_conns.py: loopback only")
    count = min(args.count, MAX_CONNS)
    deadline = time.monotonic() + args.deadline
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        "User-Agent: carbon-bench-idle\r\n\r\n"
    ).encode()

    tls = None
    if args.tls:
        tls = ssl.create_default_context(cafile=args.cafile)
        # Each connection does a full handshake, as a browser's first visit does.
        tls.options |= ssl.OP_NO_TICKET

    def connect():
        s = socket.create_connection((args.host, args.port), timeout=5)
        return tls.wrap_socket(s, server_hostname="localhost") if tls else s

    # One request on a throwaway connection first, so the server's first-request
    # one-off costs (file cache fill, lazy allocations) are not charged to the idle set.
    with connect() as s:
        s.sendall(request)
        read_response(s)
    time.sleep(args.settle)
    before = vm_rss_kib(args.pid)

    socks = []
    errors = 0
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            try:
                s = connect()
                s.sendall(request)
                if read_response(s) != 200:
                    errors += 1
                socks.append(s)
            except OSError:
                errors += 1
                # Keep going: a refused connection is a finding (e.g. a connection cap),
                # reported through `opened` and `errors`.
        time.sleep(args.settle)
        after = vm_rss_kib(args.pid)
        # Every connection must still be open for the number to mean anything: a server
        # that already closed them would show a falsely low cost.
        alive = 0
        for s in socks:
            s.setblocking(False)
            try:
                alive += 0 if s.recv(1) == b"" else 1
            except (BlockingIOError, ssl.SSLWantReadError):
                alive += 1
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()

    opened = len(socks)
    # With no connection left open there is nothing to divide by: say so rather than 0.
    per_conn = f"{(after - before) * 1024 / alive:.0f}" if alive else "n/a"
    print(f"rss_before_kib={before}")
    print(f"rss_after_kib={after}")
    print(f"opened={opened}")
    print(f"alive={alive}")
    print(f"errors={errors}")
    print(f"per_conn_bytes={per_conn}")


if __name__ == "__main__":
    main()
