//! The two TCP socket options neither std (its `set_deferaccept` is unstable) nor
//! `nix` 0.29 nor `socket2` 0.6 wraps, set with `setsockopt` directly: two `unsafe`
//! calls, [`set_int`] and [`get_int`] (the folder's other module is `mapped.rs`).
//!
//! * `TCP_DEFER_ACCEPT` on listening sockets (tcp(7)): the kernel queues a new
//!   connection for `accept` only once its first bytes have arrived, so the worker
//!   wakes once per connection and its first read finds the request, instead of
//!   waking at the end of the TCP handshake and again when the request follows.
//!   Measured in docs/performance.md ("New connections: TCP_DEFER_ACCEPT").
//! * `TCP_NOTSENT_LOWAT` on HTTP/2 connections (tcp(7)): the socket takes more
//!   output only while less than this many of its bytes wait unsent, so the
//!   connection's streams are interleaved by our scheduler (RFC 9218) close to the
//!   wire rather than megabytes ahead of it, and segments leave from the worker's own
//!   `write` instead of being released later by the client's ACKs on the client's
//!   CPU. Measured in docs/performance.md ("HTTP/2 large files: TCP_NOTSENT_LOWAT").
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::libc;

/// Sets `TCP_DEFER_ACCEPT` on listener `fd`: connections that stay silent wait in the
/// kernel up to about `wait` (rounded up to whole SYN-ACK retransmissions) before
/// they are queued anyway. `None` turns deferral off.
pub(crate) fn set_defer_accept(fd: &impl AsFd, wait: Option<Duration>) -> io::Result<()> {
    // tcp(7): the value is in seconds; 0 disables. Sub-second waits round up to one.
    let secs = wait.map_or(0, |d| d.as_secs_f64().ceil().max(1.0) as u64);
    let value = libc::c_int::try_from(secs).unwrap_or(libc::c_int::MAX);
    set_int(fd, libc::TCP_DEFER_ACCEPT, value)
}

/// The `TCP_DEFER_ACCEPT` value the kernel holds for `fd`, in seconds (0 = off). The
/// kernel stores a retransmission count, so this is the setting rounded up.
#[cfg(test)]
pub(crate) fn defer_accept(fd: &impl AsFd) -> io::Result<u32> {
    get_int(fd, libc::TCP_DEFER_ACCEPT).map(|v| u32::try_from(v).unwrap_or(0))
}

/// Sets `TCP_NOTSENT_LOWAT` on connection `fd` to `bytes` (at most `i32::MAX`).
pub(crate) fn set_notsent_lowat(fd: &impl AsFd, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    set_int(fd, libc::TCP_NOTSENT_LOWAT, value)
}

/// The `TCP_NOTSENT_LOWAT` set on `fd`; 0 when it never was (the sysctl
/// `net.ipv4.tcp_notsent_lowat` then applies, `u32::MAX`, no limit, unless tuned).
#[cfg(test)]
pub(crate) fn notsent_lowat(fd: &impl AsFd) -> io::Result<u32> {
    get_int(fd, libc::TCP_NOTSENT_LOWAT).map(|v| v as u32)
}

/// `setsockopt(fd, IPPROTO_TCP, name, &value, sizeof(int))`.
fn set_int(fd: &impl AsFd, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is borrowed for the duration of the call, so it is open;
    // the option value points at a live `c_int` on this stack frame and `len` is its
    // exact size, which is what the kernel reads for both options.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            name,
            (&value as *const libc::c_int).cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
fn get_int(fd: &impl AsFd, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is borrowed, so open; `value` and `len` are live locals,
    // `len` holds the size of `value`, and the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn defer_accept_is_set_read_back_and_cleared() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            defer_accept(&l).unwrap(),
            0,
            "a fresh listener does not defer"
        );
        set_defer_accept(&l, Some(Duration::from_secs(1))).unwrap();
        assert!(defer_accept(&l).unwrap() >= 1);
        set_defer_accept(&l, Some(Duration::from_millis(200))).unwrap();
        assert!(
            defer_accept(&l).unwrap() >= 1,
            "sub-second waits round up, never to off"
        );
        set_defer_accept(&l, None).unwrap();
        assert_eq!(defer_accept(&l).unwrap(), 0);
    }

    #[test]
    fn notsent_lowat_is_set_and_read_back_on_a_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        set_notsent_lowat(&s, 64 * 1024).unwrap();
        assert_eq!(notsent_lowat(&s).unwrap(), 64 * 1024);
        assert_ne!(
            notsent_lowat(&c).unwrap(),
            64 * 1024,
            "set on one socket only"
        );
        // Values beyond what the kernel's int holds are clamped, not wrapped.
        set_notsent_lowat(&s, usize::MAX).unwrap();
        assert_eq!(notsent_lowat(&s).unwrap(), i32::MAX as u32);
    }

    #[test]
    fn a_socket_that_is_not_tcp_gets_an_error_not_a_crash() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // Not TCP: the kernel refuses the options; the error comes back as io::Error.
        assert!(set_defer_accept(&sock, Some(Duration::from_secs(1))).is_err());
        assert!(set_notsent_lowat(&sock, 1).is_err());
    }
}
