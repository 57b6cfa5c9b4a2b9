//! Listening sockets: created once, then one handle (a dup of the same socket) per
//! worker, so every worker accepts from the same queue without locks and a
//! socket-activated descriptor can be shared the same way.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;

use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

/// Accept queue length; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 1024;

/// Bind a non-blocking TCP listener with `SO_REUSEADDR` (so a restart does not fail
/// on connections in TIME_WAIT) and, for IPv6, `IPV6_V6ONLY` (one address family
/// per listener, as configured).
pub fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd: OwnedFd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(addr),
    )?;
    listen(&fd, Backlog::new(BACKLOG).unwrap_or(Backlog::MAXCONN))?;
    Ok(TcpListener::from(fd))
}
