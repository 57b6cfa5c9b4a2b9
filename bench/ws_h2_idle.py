#!/usr/bin/env python3
"""Measure a server's memory cost per idle WebSocket stream over HTTP/2 (RFC 8441).

Reads the server process's VmRSS, opens CONNS h2c connections (prior knowledge) to
127.0.0.1:PORT with STREAMS extended CONNECT WebSocket streams each, echoes one
small masked text message on every stream (so each session has handled a message
and is parked idle), reads VmRSS again and prints the delta per stream. Bounded:
stream and connection counts are capped, every socket has a timeout and the whole
run has a deadline. Needs Python's `h2` package.

Output, one `key=value` per line:
    rss_before_kib, rss_after_kib, connections, streams, per_stream_bytes

Only loopback addresses are accepted: this is a local benchmark helper.
"""

import argparse
import os
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

MAX_STREAMS = 5000


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def masked_text(payload):
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


def open_conn(host, port, streams, deadline):
    """One h2c connection with `streams` WebSocket streams, each echoed once."""
    s = socket.create_connection((host, port), timeout=5)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    got, echoed, ready = {}, set(), [False]

    def pump(pred):
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("deadline")
            data = s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.RemoteSettingsChanged):
                    ready[0] = True
                elif isinstance(ev, h2.events.DataReceived):
                    got[ev.stream_id] = got.get(ev.stream_id, b"") + ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if len(got[ev.stream_id]) >= 6:
                        echoed.add(ev.stream_id)
            s.sendall(c.data_to_send())

    pump(lambda: ready[0])
    for i in range(streams):
        sid = 1 + 2 * i
        c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                             (":scheme", "http"), (":path", "/"),
                             (":authority", host), ("sec-websocket-version", "13")])
        c.send_data(sid, masked_text(b"idle"))
    s.sendall(c.data_to_send())
    pump(lambda: len(echoed) == streams)
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pid", type=int, required=True, help="server process to measure")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--streams", type=int, default=100, help="per connection (max 128)")
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--deadline", type=float, default=60.0)
    args = p.parse_args()
    if not args.host.startswith("127.") and args.host != "::1":
        sys.exit("ws_h2_idle.py: loopback only")
    streams = max(1, min(args.streams, 128))
    conns = max(1, min(args.connections, MAX_STREAMS // streams))
    deadline = time.monotonic() + args.deadline
    # One throwaway connection first, so one-off costs are not charged to the set.
    open_conn(args.host, args.port, 1, deadline).close()
    time.sleep(args.settle)
    before = vm_rss_kib(args.pid)
    socks = [open_conn(args.host, args.port, streams, deadline) for _ in range(conns)]
    time.sleep(args.settle)
    after = vm_rss_kib(args.pid)
    total = conns * streams
    print(f"rss_before_kib={before}")
    print(f"rss_after_kib={after}")
    print(f"connections={conns}")
    print(f"streams={total}")
    print(f"per_stream_bytes={(after - before) * 1024 // total}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
