#!/usr/bin/env python3
"""Start a server on one socket-activated listener, optionally with TCP_DEFER_ACCEPT.

Usage: bench/defer_listener.py PORT DEFER_SECS PROGRAM [ARGS...]

Binds 127.0.0.1:PORT, sets TCP_DEFER_ACCEPT to DEFER_SECS when it is above 0 (as
systemd's DeferAcceptSec= does), and execs PROGRAM with the socket as descriptor 3
and LISTEN_FDS=1, LISTEN_PID (this process, kept by exec) and LISTEN_FDNAMES=http,
so carbond adopts it as it would under systemd. For A/B measurements of the accept
path (docs/performance.md); loopback only.
"""
import os
import socket
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    port, secs = int(sys.argv[1]), int(sys.argv[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if secs > 0:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, secs)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="http")
    os.execvp(sys.argv[3], sys.argv[3:])


main()
