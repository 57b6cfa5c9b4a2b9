//! `TCP_DEFER_ACCEPT` on listening sockets (tcp(7)): the kernel queues a new
//! connection for `accept` only once its first bytes have arrived, so the worker
//! wakes once per connection and its first read finds the request, instead of waking
//! at the end of the TCP handshake and again when the request follows. Measured in
//! docs/performance.md ("New connections: TCP_DEFER_ACCEPT").
//!
//! Neither std (its `set_deferaccept` is unstable) nor `nix` 0.29 nor `socket2` 0.6
//! wraps this option, so this module makes the two system calls itself. It is the
//! only place in carbon-core that needs `unsafe`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::libc;

/// Sets `TCP_DEFER_ACCEPT` on listener `fd`: connections that stay silent wait in the
/// kernel up to about `wait` (rounded up to whole SYN-ACK retransmissions) before
/// they are queued anyway. `None` turns deferral off.
pub(crate) fn set(fd: &impl AsFd, wait: Option<Duration>) -> io::Result<()> {
    // tcp(7): the value is in seconds; 0 disables. Sub-second waits round up to one.
    let secs = wait.map_or(0, |d| d.as_secs_f64().ceil().max(1.0) as u64);
    let value = libc::c_int::try_from(secs).unwrap_or(libc::c_int::MAX);
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is borrowed for the duration of the call, so it is open;
    // the option value points at a live `c_int` on this stack frame and `len` is its
    // exact size, which is what the kernel reads for TCP_DEFER_ACCEPT.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
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

/// The `TCP_DEFER_ACCEPT` value the kernel holds for `fd`, in seconds (0 = off). The
/// kernel stores a retransmission count, so this is the setting rounded up.
#[cfg(test)]
pub(crate) fn get(fd: &impl AsFd) -> io::Result<u32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is borrowed, so open; `value` and `len` are live locals,
    // `len` holds the size of `value`, and the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(u32::try_from(value).unwrap_or(0))
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
        assert_eq!(get(&l).unwrap(), 0, "a fresh listener does not defer");
        set(&l, Some(Duration::from_secs(1))).unwrap();
        assert!(get(&l).unwrap() >= 1);
        set(&l, Some(Duration::from_millis(200))).unwrap();
        assert!(
            get(&l).unwrap() >= 1,
            "sub-second waits round up, never to off"
        );
        set(&l, None).unwrap();
        assert_eq!(get(&l).unwrap(), 0);
    }

    #[test]
    fn a_socket_that_is_not_tcp_gets_an_error_not_a_crash() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // Not TCP: the kernel refuses the option; the error comes back as io::Error.
        assert!(set(&sock, Some(Duration::from_secs(1))).is_err());
    }
}
