//! One client connection as the driver sees it: the socket, an optional TLS layer,
//! the protocol engine, remembered readiness and the deadlines the driver owns
//! (TLS handshake, write stall, lingering close).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::access_log::PendingLines;
use super::engine::{Engine, EngineEvent};
use super::readiness::{Readiness, Ready};
use super::respond;
use super::respond_h2;
use super::stats::{Protocol, Stats};
use super::transport;
use super::worker::Worker;
use crate::config::Config;
use crate::proto::{Phase, Progress};

use crate::limits::DRIVER_ROUNDS_PER_TURN as ROUNDS_PER_TURN;
use crate::limits::LINGER;
use crate::limits::LINGER_BYTES;

pub(crate) struct Conn {
    token: usize,
    pub(crate) sock: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) tls: Option<Box<crate::tls::TlsSession>>,
    /// HTTP/1.1 until the transport says otherwise (`engine.rs`).
    pub(crate) engine: Engine,
    /// Edge-triggered readiness seen and not yet consumed, and the interest
    /// registered (`readiness.rs`).
    pub(crate) readiness: Readiness,
    pub(crate) read_eof: bool,
    /// This connection's entry in the worker's timer set: at or before its real
    /// deadline (`timer.rs`).
    pub(crate) armed: Option<Instant>,
    /// Last time pending output made progress (or became pending).
    write_since: Option<Instant>,
    write_timeout: Duration,
    handshake_deadline: Option<Instant>,
    linger: Option<Linger>,
    /// Whether the first byte on a TLS listener has been looked at yet.
    pub(crate) sniffed: bool,
    /// Plain port with `enable_h2c`: the first bytes decide between HTTP/1.1 and the
    /// HTTP/2 preface (RFC 9113 §3.3); cleared once decided.
    pub(crate) h2c_sniff: bool,
    /// TLS: the engine is chosen from ALPN once the handshake completes; cleared then.
    pub(crate) alpn_pending: bool,
    /// A plain-HTTP request arrived on the TLS port: answer it with 400 and close.
    pub(crate) plain_on_tls: bool,
    /// The engine rejected a request: the peer may still be sending, so closing
    /// needs a lingering drain.
    pub(crate) rejected: bool,
    /// TLS close_notify queued (it goes out after the rest of the response).
    close_notify_sent: bool,
    /// Already in the worker's list of connections to revisit next turn.
    pub(crate) queued: bool,
    /// Access-log lines waiting for their response to leave (`access_log.rs`).
    pub(crate) pending_log: PendingLines,
    /// HTTP/2 streams answered and not over yet, for the access log.
    pub(crate) h2_log: super::h2_log::H2PendingLines,
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
        let h2c_sniff = cfg.enable_h2c && handshake_deadline.is_none();
        let mut engine = Engine::h1(cfg, now);
        if h2c_sniff {
            engine.expect_h2_prior_knowledge();
        }
        Conn {
            token,
            sock,
            peer,
            tls,
            engine,
            // Not registered yet: `update_interest` registers on the first turn that
            // keeps the connection (`Worker::add_conn`).
            readiness: Readiness {
                event: Ready::EMPTY,
                interest: Ready::EMPTY,
            },
            read_eof: false,
            armed: None,
            write_since: None,
            write_timeout: cfg.timeouts.write,
            handshake_deadline,
            linger: None,
            sniffed: false,
            h2c_sniff,
            alpn_pending: handshake_deadline.is_some(),
            plain_on_tls: false,
            rejected: false,
            close_notify_sent: false,
            queued: false,
            pending_log: PendingLines::default(),
            h2_log: Default::default(),
            rate_checked: false,
            ip_counted: false,
            handshake_counted: false,
            nodelay: false,
            protocol,
        }
    }

    pub fn note_event(&mut self, readable: bool, writable: bool, read_closed: bool) {
        self.readiness.note(readable, writable, read_closed);
    }

    pub fn secure(&self) -> bool {
        self.tls.is_some()
    }

    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    pub fn start_shutdown(&mut self, now: Instant) {
        self.engine.start_shutdown(now);
    }

    /// Output the connection still has to flush (engine queue or TLS records).
    pub fn pending_output(&self) -> bool {
        self.engine.has_output() || self.tls.as_ref().is_some_and(|t| t.wants_write())
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
        // The engine may have given its scratch memory back (idle): the TLS buffers
        // follow.
        if let Some(t) = self.tls.as_mut() {
            t.keep_buffers(self.engine.keeps_scratch());
        }
        false
    }

    /// Registers the socket with the poller on first use (READABLE, plus WRITABLE
    /// while output waits on a full socket), and re-registers when that changes.
    pub fn update_interest(&mut self, registry: &Registry) -> io::Result<()> {
        let want_write =
            self.pending_output() && !self.readiness.writable() && self.linger.is_none();
        if self.readiness.interest == Ready::EMPTY {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.register(&mut self.sock, Token(self.token), interest)?;
            self.readiness.interest = Ready::READABLE;
            if want_write {
                self.readiness.interest.insert(Ready::WRITABLE);
            }
            return Ok(());
        }
        if want_write != self.readiness.interest.contains(Ready::WRITABLE) {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let token = Token(self.token);
            registry.reregister(&mut self.sock, token, interest)?;
            if want_write {
                self.readiness.interest.insert(Ready::WRITABLE);
            } else {
                self.readiness.interest.remove(Ready::WRITABLE);
            }
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
        match transport::read(c, &mut w.buf, now, &w.gen.cfg, &w.counters) {
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
            let x = respond::Ctx {
                shared: &w.shared,
                gen: &w.gen,
                stats: &w.counters,
                service: w.service.as_mut(),
                date: &w.date,
                log: w.log.as_mut(),
                ws_wake: &w.ws_wake,
                key,
                now,
                wall,
            };
            match ev {
                EngineEvent::H1(ev) => respond::respond(c, ev, x),
                EngineEvent::H2(ev) => respond_h2::respond(c, ev, x),
            }
        }
        let had_output = c.pending_output();
        match transport::write(c, &mut w.buf, now, &w.counters) {
            Ok(p) => {
                if p {
                    c.write_since = Some(now);
                    progress = true;
                }
            }
            Err(_) => return Outcome::Close,
        }
        c.pending_log.complete(w.log.as_mut(), &w.counters, now);
        c.h2_log
            .complete(&mut c.engine, w.log.as_mut(), &w.counters, now);
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
    if c.read_eof || !(c.rejected || c.engine.closed_on_error()) {
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
    Outcome::Keep {
        more: c.readiness.readable(),
    }
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
                c.readiness.read_drained();
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
