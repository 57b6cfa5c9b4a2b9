//! One client connection as the driver sees it: the socket, an optional TLS layer,
//! the protocol engine, remembered readiness and the deadlines the driver owns
//! (TLS handshake, write stall, lingering close).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::access_log::PendingLines;
use super::respond;
use super::stats::{Protocol, Stats};
use super::transport;
use super::worker::Worker;
use crate::config::Config;
use crate::proto::h1::H1Conn;
use crate::proto::{Phase, Progress};

/// Read/write rounds one connection may take per loop turn before yielding to others.
const ROUNDS_PER_TURN: usize = 16;
/// After an error response we stop writing and drain the peer's input for at most
/// this long before closing, so the kernel does not answer unread data with a RST
/// that could destroy the response in flight (RFC 9112 §9.6). nginx's
/// `lingering_timeout` is 5 s too.
const LINGER: Duration = Duration::from_secs(5);
/// Bytes discarded while lingering, at most: enough for a client that sends a whole
/// over-limit upload before reading the 413 (bounded, so a client cannot keep a
/// connection busy forever by streaming).
const LINGER_BYTES: usize = 8 * 1024 * 1024;

pub(crate) struct Conn {
    token: usize,
    pub(crate) sock: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) tls: Option<Box<crate::tls::TlsSession>>,
    pub(crate) engine: H1Conn,
    /// Edge-triggered readiness we have seen and not yet consumed to WouldBlock.
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    write_interest: bool,
    pub(crate) read_eof: bool,
    /// The deadline currently armed in the worker's timer set.
    pub(crate) armed: Option<Instant>,
    /// Last time pending output made progress (or became pending).
    write_since: Option<Instant>,
    write_timeout: Duration,
    handshake_deadline: Option<Instant>,
    linger: Option<Linger>,
    /// Whether the first byte on a TLS listener has been looked at yet.
    pub(crate) sniffed: bool,
    /// A plain-HTTP request arrived on the TLS port: answer it with 400 and close.
    pub(crate) plain_on_tls: bool,
    /// The engine rejected a request: the peer may still be sending, so closing
    /// needs a lingering drain.
    pub(crate) rejected: bool,
    /// TLS close_notify queued (it goes out after the rest of the response).
    close_notify_sent: bool,
    /// The peer's FIN was reported with the last readiness event: read to EOF
    /// instead of trusting a short read to have emptied the socket.
    pub(crate) peer_closing: bool,
    /// Already in the worker's list of connections to revisit next turn.
    pub(crate) queued: bool,
    /// Access-log lines waiting for their response to leave (`access_log.rs`).
    pub(crate) pending_log: PendingLines,
    /// The current request was counted by the rate limiter when its head arrived
    /// (`Event::Head`), so the complete request is not counted twice.
    pub(crate) rate_checked: bool,
    /// Counted by `max_connections_per_ip`: released when the connection closes.
    pub(crate) ip_counted: bool,
    /// The completed TLS handshake has been counted.
    handshake_counted: bool,
    /// `TCP_NODELAY` is set. Plain connections get it before their first write unless
    /// that response ends the connection: then Nagle's algorithm cannot delay
    /// anything (the FIN pushes the last segment out), and a connection that closes
    /// after one response saves a system call. TLS connections set it at once
    /// (handshake flights and session tickets are written back to back).
    pub(crate) nodelay: bool,
    /// The listener's protocol, for the statistics (kept even when a plain request on
    /// the TLS port drops the TLS layer, so accept and close count alike).
    pub(crate) protocol: Protocol,
}

struct Linger {
    until: Instant,
    discarded: usize,
}

pub(crate) enum Outcome {
    Close,
    /// `more`: the per-turn budget ran out with work left.
    Keep {
        more: bool,
    },
}

impl Conn {
    pub fn new(
        token: usize,
        sock: TcpStream,
        peer: SocketAddr,
        tls: Option<Box<crate::tls::TlsSession>>,
        protocol: Protocol,
        cfg: &Config,
        now: Instant,
    ) -> Conn {
        let handshake_deadline = tls.as_ref().map(|_| now + cfg.timeouts.tls_handshake);
        Conn {
            token,
            sock,
            peer,
            tls,
            engine: H1Conn::new(cfg.limits.clone(), cfg.timeouts, now),
            readable: false,
            writable: false,
            write_interest: false,
            read_eof: false,
            armed: None,
            write_since: None,
            write_timeout: cfg.timeouts.write,
            handshake_deadline,
            linger: None,
            sniffed: false,
            plain_on_tls: false,
            rejected: false,
            close_notify_sent: false,
            peer_closing: false,
            queued: false,
            pending_log: PendingLines::default(),
            rate_checked: false,
            ip_counted: false,
            handshake_counted: false,
            nodelay: false,
            protocol,
        }
    }

    pub fn note_event(&mut self, readable: bool, writable: bool, read_closed: bool) {
        self.readable |= readable || read_closed;
        self.writable |= writable;
        self.peer_closing |= read_closed;
    }

    pub fn secure(&self) -> bool {
        self.tls.is_some()
    }

    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    pub fn start_shutdown(&mut self) {
        self.engine.start_shutdown();
    }

    /// Output the connection still has to flush (engine queue or TLS records).
    pub fn pending_output(&self) -> bool {
        !self.engine_out_empty() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    fn engine_out_empty(&self) -> bool {
        self.engine.out_is_empty()
    }

    /// Where the connection stands, for the slot policy (`slots.rs`).
    pub fn progress(&self) -> Progress {
        if let Some(l) = &self.linger {
            return Progress {
                phase: Phase::Lingering,
                since: l.until.checked_sub(LINGER).unwrap_or(l.until),
                received: 0,
            };
        }
        if let Some(since) = self.write_since.filter(|_| self.pending_output()) {
            return Progress {
                phase: Phase::Sending,
                since,
                received: 0,
            };
        }
        let p = self.engine.progress();
        if p.phase == Phase::Idle && self.pending_output() {
            // rustls still holds the end of the response.
            return Progress {
                phase: Phase::Responding,
                ..p
            };
        }
        p
    }

    /// The earliest of the engine's deadline and the driver's own.
    pub fn deadline(&self) -> Option<Instant> {
        if let Some(l) = &self.linger {
            return Some(l.until);
        }
        let mut d = self.engine.poll_timeout();
        let mut take = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        if self.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
            take(self.handshake_deadline);
        }
        take(self.write_since.map(|t| t + self.write_timeout));
        d
    }

    /// A deadline passed. Returns true when the connection must be closed now;
    /// otherwise the engine was told and the caller drives the connection.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if let Some(l) = &self.linger {
            return now >= l.until;
        }
        if self.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
            if let Some(d) = self.handshake_deadline {
                if now >= d {
                    return true;
                }
            }
        }
        if let Some(t) = self.write_since {
            if now >= t + self.write_timeout {
                return true;
            }
        }
        self.engine.handle_timeout(now);
        false
    }

    pub fn update_interest(&mut self, registry: &Registry) -> io::Result<()> {
        let want_write = self.pending_output() && !self.writable && self.linger.is_none();
        if want_write != self.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let token = Token(self.token);
            registry.reregister(&mut self.sock, token, interest)?;
            self.write_interest = want_write;
        }
        Ok(())
    }

    /// Nothing to undo in the poll: closing the socket (when the connection is
    /// dropped) removes it from epoll, since no other descriptor refers to it, so an
    /// `EPOLL_CTL_DEL` would be one system call per connection for nothing.
    pub fn close(&mut self, registry: &Registry) {
        let _ = registry;
    }
}

/// Move bytes for connection `key` until it blocks, closes, or spends its budget.
pub(crate) fn drive(w: &mut Worker, key: usize, now: Instant, wall: SystemTime) -> Outcome {
    let Some(c) = w.conns.get_mut(key) else {
        return Outcome::Close;
    };
    if c.linger.is_some() {
        return linger(c, &mut w.buf);
    }
    for _ in 0..ROUNDS_PER_TURN {
        let mut progress = false;
        match transport::read(c, &mut w.buf, now, &w.counters) {
            Ok(p) => progress |= p,
            Err(_) => {
                if c.handshaking() {
                    Stats::inc(&w.counters.tls_handshake_failures);
                }
                return Outcome::Close;
            }
        }
        if c.tls.as_ref().is_some_and(|t| t.is_handshaking()) && c.read_eof {
            Stats::inc(&w.counters.tls_handshake_failures);
            return Outcome::Close;
        }
        if !c.handshake_counted && c.tls.as_ref().is_some_and(|t| !t.is_handshaking()) {
            c.handshake_counted = true;
            Stats::inc(&w.counters.tls_handshakes);
        }
        while let Some(ev) = c.engine.poll_event() {
            progress = true;
            respond::respond(
                c,
                ev,
                respond::Ctx {
                    shared: &w.shared,
                    gen: &w.gen,
                    stats: &w.counters,
                    service: w.service.as_mut(),
                    date: &w.date,
                    log: w.log.as_mut(),
                    now,
                    wall,
                },
            );
        }
        let had_output = c.pending_output();
        match transport::write(c, &mut w.buf, &w.counters) {
            Ok(p) => {
                if p {
                    c.write_since = Some(now);
                    progress = true;
                }
            }
            Err(_) => return Outcome::Close,
        }
        c.pending_log.complete(w.log.as_mut(), &w.counters, now);
        if !c.pending_output() {
            c.write_since = None;
            if had_output {
                c.engine.handle_output_drained(now);
            }
        } else if !had_output || c.write_since.is_none() {
            c.write_since = Some(now);
        }
        if c.engine.is_closed() {
            // Over TLS the engine's queue may be empty while rustls still holds the
            // end of the response: queue close_notify behind it and close only once
            // everything is on the wire (the write-stall timer bounds the wait).
            if let Some(tls) = c.tls.as_mut() {
                if !c.close_notify_sent {
                    tls.send_close_notify();
                    c.close_notify_sent = true;
                    continue;
                }
                if tls.wants_write() {
                    if c.write_since.is_none() {
                        c.write_since = Some(now);
                    }
                    if progress {
                        continue;
                    }
                    return Outcome::Keep { more: false };
                }
            }
            return begin_close(c, now);
        }
        if !progress {
            return Outcome::Keep { more: false };
        }
    }
    Outcome::Keep { more: true }
}

/// The engine is done with the connection. If the peer may still be sending (we
/// rejected its request), shut down our side and drain briefly instead of closing
/// with unread data. Idle and orderly closes need no drain.
fn begin_close(c: &mut Conn, now: Instant) -> Outcome {
    if c.read_eof || !c.rejected {
        return Outcome::Close;
    }
    if c.sock.shutdown(Shutdown::Write).is_err() {
        return Outcome::Close;
    }
    c.linger = Some(Linger {
        until: now + LINGER,
        discarded: 0,
    });
    c.write_since = None;
    Outcome::Keep { more: c.readable }
}

fn linger(c: &mut Conn, buf: &mut [u8]) -> Outcome {
    use std::io::Read;
    let Some(l) = c.linger.as_mut() else {
        return Outcome::Close;
    };
    loop {
        match c.sock.read(buf) {
            Ok(0) => return Outcome::Close,
            Ok(n) => {
                l.discarded += n;
                if l.discarded > LINGER_BYTES {
                    return Outcome::Close;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.readable = false;
                return Outcome::Keep { more: false };
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Outcome::Close,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Conn;

    /// An idle keep-alive connection costs its slab slot and nothing else (the engine
    /// frees its buffers between requests), so the slot size is the per-connection
    /// memory floor; nginx needs about 600 bytes per idle connection.
    #[test]
    fn idle_connection_slot_is_smaller_than_nginx_per_connection_memory() {
        let size = std::mem::size_of::<Conn>();
        eprintln!("size_of::<Conn>() = {size}");
        assert!(size <= 512, "Conn grew to {size} bytes");
    }
}
