//! Listening sockets.
//!
//! Each configured address gets one socket per worker, all bound to the same port
//! with `SO_REUSEPORT`: the kernel hashes every new connection to exactly one of them,
//! so a new connection wakes one worker instead of every worker's epoll (the
//! thundering herd that a single shared socket causes) and the accept queues are not
//! shared between cores. The first socket is bound to the configured port (or to any
//! free port for `port = 0`); the others join it on the port it actually got.
//!
//! A socket handed over by the service manager (socket activation) is a single
//! socket shared by every worker (each holds a dup of it). Each worker watches it
//! with `EPOLLEXCLUSIVE` (Linux 4.5) in its own epoll instance: a new connection
//! then wakes one worker blocked in `epoll_wait` instead of all of them. Workers busy
//! elsewhere still find the listener in their ready list on their next turn (the
//! kernel queues the event for them without waking them), so exclusivity saves
//! wake-ups, never a connection. See `register_listener`.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mio::{Interest, Registry, Token};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags};
use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

/// How to bind one address.
#[derive(Debug, Clone, Copy)]
pub struct BindOptions {
    pub backlog: u32,
    /// `IPV6_V6ONLY` for IPv6 sockets. Only matters for the wildcard `::`, which with
    /// `false` also accepts IPv4 clients (as `::ffff:a.b.c.d`).
    pub v6only: bool,
    /// Sockets to bind on the same address and port (one per worker); at least one.
    pub count: usize,
}

/// Whether the wildcard `::` should be dual-stack: yes, unless the list also names an
/// IPv4 address (then IPv4 is bound explicitly, and a dual-stack `::` would clash
/// with it on the same port).
pub fn v6only_for(addr: IpAddr, all: &[IpAddr]) -> bool {
    match addr {
        IpAddr::V6(a) if a.is_unspecified() => all.iter().any(IpAddr::is_ipv4),
        _ => true,
    }
}

/// Binds `opts.count` non-blocking listeners on `addr` sharing one port through
/// `SO_REUSEPORT` (the first decides the port when `addr` has port 0). Where the
/// kernel refuses `SO_REUSEPORT`, a single socket is returned; the caller shares it.
pub fn bind_group(addr: SocketAddr, opts: BindOptions) -> io::Result<Vec<TcpListener>> {
    let first = bind_one(addr, opts, true).or_else(|e| match e.raw_os_error() {
        Some(nix::libc::ENOPROTOOPT) => bind_one(addr, opts, false),
        _ => Err(e),
    })?;
    let reuse = nix::sys::socket::getsockopt(&first, sockopt::ReusePort).unwrap_or(false);
    let actual = first.local_addr()?;
    let mut group = vec![first];
    if reuse {
        for _ in 1..opts.count.max(1) {
            group.push(bind_one(actual, opts, true)?);
        }
    }
    Ok(group)
}

/// Watches listener `l` for new connections with `token` in the worker's poll.
///
/// Registered directly in mio's epoll instance (through a duplicate of its
/// descriptor, which names the same instance) with `EPOLLIN | EPOLLET |
/// EPOLLEXCLUSIVE`: the edge-triggered readability mio's `Interest::READABLE` gives,
/// plus the exclusive wake-up. mio reads the token back from the event's data as for
/// its own registrations; `deregister_listener` removes it.
///
/// The exclusive flag has to sit in the epoll instance the thread blocks on: the
/// kernel stops waking after the first exclusive waiter whose *own* `epoll_wait` is
/// active, so a separate inner epoll instance nested in mio's poll would never count
/// as such a waiter and every worker would still be woken.
///
/// Kernels before 4.5 refuse the flag (`EINVAL`): then the plain registration, where
/// every worker is woken.
pub(crate) fn register_listener(
    registry: &Registry,
    l: &mut mio::net::TcpListener,
    token: Token,
) -> io::Result<()> {
    let epoll = Epoll(registry.as_fd().try_clone_to_owned()?);
    let flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLET | EpollFlags::EPOLLEXCLUSIVE;
    let data = u64::try_from(token.0).unwrap_or(u64::MAX);
    match epoll.add(&*l, EpollEvent::new(flags, data)) {
        Ok(()) => Ok(()),
        Err(Errno::EINVAL) => registry.register(l, token, Interest::READABLE),
        Err(e) => Err(e.into()),
    }
}

/// Stops watching listener `l` (registered by `register_listener`). mio's own
/// `deregister` cannot be used: its debug builds refuse a source it did not
/// register itself.
pub(crate) fn deregister_listener(
    registry: &Registry,
    l: &mio::net::TcpListener,
) -> io::Result<()> {
    let epoll = Epoll(registry.as_fd().try_clone_to_owned()?);
    epoll.delete(l).map_err(io::Error::from)
}

/// A non-blocking TCP listener with `SO_REUSEADDR` (so a restart does not fail on
/// connections in TIME_WAIT) and, when asked, `SO_REUSEPORT`.
fn bind_one(addr: SocketAddr, opts: BindOptions, reuse_port: bool) -> io::Result<TcpListener> {
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
    if reuse_port {
        setsockopt(&fd, sockopt::ReusePort, &true)?;
    }
    if addr.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &opts.v6only)?;
    }
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    let backlog = i32::try_from(opts.backlog).unwrap_or(i32::MAX);
    listen(&fd, Backlog::new(backlog).unwrap_or(Backlog::MAXCONN))?;
    Ok(TcpListener::from(fd))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn reuseport_group_shares_the_port_chosen_for_port_zero() {
        let opts = BindOptions {
            backlog: 16,
            v6only: true,
            count: 3,
        };
        let group = bind_group("127.0.0.1:0".parse().unwrap(), opts).unwrap();
        assert_eq!(group.len(), 3);
        let port = group[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        for l in &group {
            assert_eq!(l.local_addr().unwrap().port(), port);
        }
    }

    #[test]
    fn wildcard_ipv6_is_dual_stack_unless_ipv4_is_listed() {
        let any6: IpAddr = "::".parse().unwrap();
        let lo6: IpAddr = "::1".parse().unwrap();
        let any4: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(!v6only_for(any6, &[any6]));
        assert!(v6only_for(any6, &[any4, any6]));
        assert!(v6only_for(lo6, &[lo6]));
    }

    /// The exclusive registration reports a new connection with the listener's token,
    /// as mio's own registration would, and `deregister_listener` removes it.
    #[test]
    fn exclusive_registration_reports_the_token_and_deregisters() {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_l.set_nonblocking(true).unwrap();
        let addr = std_l.local_addr().unwrap();
        let mut l = mio::net::TcpListener::from_std(std_l);
        let mut poll = mio::Poll::new().unwrap();
        let mut events = mio::Events::with_capacity(8);
        register_listener(poll.registry(), &mut l, Token(7)).unwrap();
        let _c = std::net::TcpStream::connect(addr).unwrap();
        poll.poll(&mut events, Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
        assert_eq!(tokens, vec![Token(7)]);
        assert!(events.iter().all(|e| e.is_readable()));
        l.accept().unwrap();
        deregister_listener(poll.registry(), &l).unwrap();
        let _d = std::net::TcpStream::connect(addr).unwrap();
        poll.poll(&mut events, Some(std::time::Duration::from_millis(50)))
            .unwrap();
        assert!(events.is_empty());
    }

    /// `::` alone accepts an IPv4 client (through a v4-mapped address).
    #[test]
    fn dual_stack_wildcard_accepts_ipv4() {
        let opts = BindOptions {
            backlog: 16,
            v6only: false,
            count: 1,
        };
        let group = match bind_group("[::]:0".parse().unwrap(), opts) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("SKIPPED: no IPv6 on this machine ({e})");
                return;
            }
        };
        let port = group[0].local_addr().unwrap().port();
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    }
}
