//! Connections on a PROXY protocol listener (`proxy_protocol`, `https_proxy_protocol`)
//! before their header has arrived.
//!
//! Such a connection is held here, not in the connection table: it is watched under
//! its own token, its header is read with `MSG_PEEK` (so the bytes after the header
//! stay in the socket for TLS or HTTP, whatever the split), and once the header is
//! complete exactly its length is consumed and the connection joins the ordinary path
//! (`Worker::add_conn`) under the client's address from the header. That address is
//! then what the access log, the rate limiter, the per-IP limit and the service see.
//!
//! The per-IP limit is applied here, to the client's address, instead of at accept
//! (where only the balancer's address is known). The connection's slot in
//! `max_connections` is taken at accept as for any other.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Token};
use slab::Slab;

use super::per_ip::Admit;
use super::stats::Stats;
use super::worker::Worker;
use super::Scheme;
use crate::limits::PROXY_HEADER_TIMEOUT;
use crate::proto::proxy::{self, MAX_HEADER};

/// Tokens of connections waiting for their header start here: far above any
/// connection slab key (bounded by `max_connections`), below the listeners' tokens.
pub(crate) const PROXIED_BASE: usize = usize::MAX / 2;

/// Refusals are logged at most this often (with a count of the ones not logged), so
/// a stream of bad connections cannot flood the error log.
const LOG_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Pending {
    sock: TcpStream,
    peer: SocketAddr,
    scheme: Scheme,
    deadline: Instant,
}

#[derive(Default)]
pub(crate) struct Proxied {
    pending: Slab<Pending>,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl Proxied {
    /// The earliest header deadline, for the poll timeout.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|(_, p)| p.deadline).min()
    }

    /// A refused connection, logged unless another was in the last second.
    fn refuse(&mut self, now: Instant, peer: SocketAddr, why: &dyn std::fmt::Display) {
        if self
            .last_log
            .is_some_and(|t| now.saturating_duration_since(t) < LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        let more = std::mem::take(&mut self.unlogged);
        let also = if more > 0 {
            format!(" ({more} more refused since the last report)")
        } else {
            String::new()
        };
        self.last_log = Some(now);
        log::warn!("PROXY protocol listener: connection from {peer} closed: {why}{also}");
    }
}

/// Whether connections to a `scheme` listener start with a PROXY protocol header.
pub(crate) fn expects_header(cfg: &crate::config::Config, scheme: Scheme) -> bool {
    match scheme {
        Scheme::Http => cfg.proxy_protocol,
        Scheme::Https => cfg.https_proxy_protocol,
    }
}

enum Step {
    Wait,
    Done(SocketAddr),
    Refuse(String),
}

impl Worker {
    /// A connection accepted on a PROXY protocol listener; its slot is already taken.
    pub(crate) fn accept_proxied(
        &mut self,
        mut sock: TcpStream,
        peer: SocketAddr,
        scheme: Scheme,
        now: Instant,
    ) {
        let allowed = &self.gen.cfg.proxy_protocol_from;
        if !allowed.iter().any(|n| n.contains(peer.ip())) {
            self.proxied
                .refuse(now, peer, &"not in proxy_protocol_from");
            self.release_slot();
            return;
        }
        let key = self.proxied.pending.vacant_key();
        if let Err(e) =
            self.poll_registry()
                .register(&mut sock, Token(PROXIED_BASE + key), Interest::READABLE)
        {
            log::warn!("cannot register connection from {peer}: {e}");
            self.release_slot();
            return;
        }
        self.proxied.pending.insert(Pending {
            sock,
            peer,
            scheme,
            deadline: now + PROXY_HEADER_TIMEOUT,
        });
        // A balancer sends the header with its first segment: it is usually there.
        self.proxied_ready(PROXIED_BASE + key, false, now);
    }

    /// Readiness on a waiting connection's token.
    pub(crate) fn proxied_ready(&mut self, token: usize, read_closed: bool, now: Instant) {
        let key = token - PROXIED_BASE;
        let Some(p) = self.proxied.pending.get_mut(key) else {
            return;
        };
        let step = read_header(&mut p.sock, read_closed);
        match step {
            Step::Wait => {}
            Step::Refuse(why) => {
                let peer = p.peer;
                self.proxied.refuse(now, peer, &why);
                self.drop_pending(key);
            }
            Step::Done(client) => {
                let mut p = self.proxied.pending.remove(key);
                let _ = self.poll_registry().deregister(&mut p.sock);
                let admit = self.shared.per_ip.admit(client.ip());
                if admit == Admit::Refused {
                    Stats::inc(&self.counters.refused_per_ip);
                    self.release_slot();
                    return;
                }
                log::debug!("PROXY protocol: {} speaks for {client}", p.peer);
                self.add_conn(p.sock, client, p.scheme, admit == Admit::Counted, now);
            }
        }
    }

    /// Closes the connections whose header is overdue.
    pub(crate) fn proxied_expire(&mut self, now: Instant) {
        let late: Vec<usize> = self
            .proxied
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| k)
            .collect();
        for key in late {
            if let Some(p) = self.proxied.pending.get(key) {
                let peer = p.peer;
                Stats::inc(&self.counters.timeouts);
                self.proxied
                    .refuse(now, peer, &"no PROXY protocol header in time");
                self.drop_pending(key);
            }
        }
    }

    /// Closes every waiting connection (a graceful stop: none has sent a request).
    pub(crate) fn proxied_close_all(&mut self) {
        let keys: Vec<usize> = self.proxied.pending.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.drop_pending(key);
        }
    }

    fn drop_pending(&mut self, key: usize) {
        if self.proxied.pending.contains(key) {
            let mut p = self.proxied.pending.remove(key);
            let _ = self.poll_registry().deregister(&mut p.sock);
            self.release_slot();
        }
    }

    /// Gives back the `max_connections` slot of a connection that never joined the
    /// connection table.
    fn release_slot(&mut self) {
        // Never counted as accepted (that happens when it joins the table), so not
        // counted as closed either.
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        self.note_slot_freed();
    }
}

/// Looks at what has arrived; once the header is complete, consumes exactly it.
fn read_header(sock: &mut TcpStream, read_closed: bool) -> Step {
    let mut buf = [0u8; MAX_HEADER];
    let n = loop {
        match sock.peek(&mut buf) {
            Ok(0) => return Step::Refuse("closed before the PROXY protocol header".into()),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return if read_closed {
                    Step::Refuse("closed before the PROXY protocol header".into())
                } else {
                    Step::Wait
                };
            }
            Err(e) => return Step::Refuse(e.to_string()),
        }
    };
    match proxy::parse(&buf[..n]) {
        Ok(None) if read_closed => Step::Refuse("closed inside the PROXY protocol header".into()),
        Ok(None) => Step::Wait,
        Err(e) => Step::Refuse(e.to_string()),
        Ok(Some((header, len))) => {
            // The bytes were peeked, so this read returns them at once.
            if let Err(e) = sock.read_exact(&mut buf[..len]) {
                return Step::Refuse(e.to_string());
            }
            let peer = sock.peer_addr();
            match (header.source(), peer) {
                (Some(client), _) => Step::Done(client),
                // LOCAL, UNKNOWN: the connection speaks for itself.
                (None, Ok(own)) => Step::Done(own),
                (None, Err(e)) => Step::Refuse(e.to_string()),
            }
        }
    }
}
