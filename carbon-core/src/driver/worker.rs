//! One worker thread: a `mio::Poll`, a handle on every listener, a slab of
//! connections and their deadlines. The clock is read here, once per loop turn, and
//! passed down to the engines as `now`.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::net::TcpListener;
use mio::{Events, Poll, Token, Waker};
use slab::Slab;

use super::access_log::LogSink;
use super::conn::Conn;
use super::date::DateCache;
use super::per_ip::Admit;
use super::reload::{WorkerUpdate, MAILBOX};
use super::slots::{Eviction, SlotPolicy};
use super::stats::{Protocol, Stats, WorkerCounters};
use super::timer::Timers;
use super::ws_wake::{Woken, WsWake};
use super::{lock, Generation, Listener, Scheme, ServiceFactory, Shared, WorkerLink};
use crate::service::Service;

const WAKER: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENER_BASE - i`; connections use their slab key.
const LISTENER_BASE: usize = usize::MAX - 1;
/// Size of the worker's shared read buffer: connections own no read buffer while idle.
/// An upgraded WebSocket reads up to all of it at once: with 64 KiB reads a 1 MiB
/// echo cost about 30% more CPU per message in the kernel than with 256 KiB
/// (docs/performance.md). The HTTP engines get [`HTTP_READ`] of it.
pub(crate) const READ_BUF: usize = 256 * 1024;
/// What one read hands an HTTP/1.1 or HTTP/2 engine (over TLS: one plaintext drain):
/// HTTP/1.1 sizes its pipelining slack for one read of this size.
pub(crate) const HTTP_READ: usize = 64 * 1024;
/// While at `max_connections`, retry accepting this often (a close elsewhere may have
/// freed a slot on another worker).
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
use crate::limits::DRIVER_ACCEPTS_PER_TURN as ACCEPTS_PER_TURN;
/// Connection slots reserved per worker at start-up (address space, not memory).
const PREALLOCATED_SLOTS: usize = 65_536;

pub(crate) struct Worker {
    id: usize,
    poll: Poll,
    listeners: Vec<(TcpListener, Scheme)>,
    pub(crate) conns: Slab<Conn>,
    pub(crate) timers: Timers,
    pub(crate) shared: Arc<Shared>,
    /// The configuration new connections get; replaced by a reload.
    pub(crate) gen: Arc<Generation>,
    updates: mpsc::Receiver<WorkerUpdate>,
    heartbeat: Arc<AtomicU64>,
    /// This worker's statistics block (see `stats`).
    pub(crate) counters: Arc<WorkerCounters>,
    pub(crate) service: Box<dyn Service>,
    /// Builds a fresh service after a panic, whose caches may be half-updated.
    factory: ServiceFactory,
    pub(crate) buf: Vec<u8>,
    pub(crate) date: DateCache,
    pub(crate) log: Option<LogSink>,
    /// Connections that still had work when their per-turn budget ran out.
    pub(crate) again: Vec<usize>,
    accept_paused: bool,
    /// Accepting stopped on its per-turn budget, not on a limit: retry without delay.
    accept_soon: bool,
    last_accept_warning: Option<Instant>,
    drain_deadline: Option<Instant>,
    /// The HTTP/2 GOAWAY of `drain_period` went out (`reload::goaway_h2`).
    drain_goaway_sent: bool,
    /// Cross-thread WebSocket sends waiting for this worker (`ws_wake.rs`).
    pub(crate) ws_wake: Arc<WsWake>,
    /// Connections on PROXY protocol listeners still waiting for their header.
    pub(crate) proxied: super::proxied::Proxied,
}

impl Worker {
    pub fn new(
        id: usize,
        listeners: &[Listener],
        shared: Arc<Shared>,
        factory: ServiceFactory,
        log: Option<LogSink>,
    ) -> io::Result<Worker> {
        let mut service = factory(id)?;
        service.attach_counters(shared.stats.worker(id).service.clone());
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, updates) = mpsc::sync_channel(MAILBOX);
        let heartbeat = Arc::new(AtomicU64::new(0));
        let ws_wake = WsWake::new(waker.clone());
        lock(&shared.workers).push(WorkerLink {
            id,
            waker,
            updates: tx,
            heartbeat: heartbeat.clone(),
        });
        let gen = lock(&shared.current).clone();
        let mut ls = Vec::with_capacity(listeners.len());
        for (i, l) in listeners.iter().enumerate() {
            let std_l = l.for_worker(id).try_clone()?;
            std_l.set_nonblocking(true)?;
            let mut ml = TcpListener::from_std(std_l);
            super::listen::register_listener(poll.registry(), &mut ml, Token(LISTENER_BASE - i))?;
            ls.push((ml, l.scheme));
        }
        Ok(Worker {
            id,
            poll,
            listeners: ls,
            // Reserved up front: the allocator maps a block this size lazily, so
            // untouched slots cost no resident memory, and the table never has to grow
            // by copying (which would leave the old copy resident in the heap).
            conns: Slab::with_capacity(shared.cfg.max_connections.min(PREALLOCATED_SLOTS)),
            timers: Timers::default(),
            counters: shared.stats.worker(id).clone(),
            shared,
            gen,
            updates,
            heartbeat,
            service,
            factory,
            buf: vec![0; READ_BUF],
            date: DateCache::new(SystemTime::now()),
            log,
            again: Vec::new(),
            accept_paused: false,
            accept_soon: false,
            last_accept_warning: None,
            drain_deadline: None,
            drain_goaway_sent: false,
            ws_wake,
            proxied: Default::default(),
        })
    }

    pub fn id(&self) -> usize {
        self.id
    }

    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<usize> = Vec::new();
        loop {
            let timeout = self.poll_timeout(Instant::now());
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            // The one place the clock is read for this turn.
            let now = Instant::now();
            let wall = SystemTime::now();
            self.date.update(wall);
            self.heartbeat.fetch_add(1, Ordering::Relaxed);
            self.apply_updates(now);
            if !self.drain_goaway_sent && self.shared.draining.load(Ordering::Relaxed) {
                self.drain_goaway_sent = true;
                super::reload::goaway_h2(&mut self.conns, &mut self.again, now);
            }

            if self.shared.stop.load(Ordering::Relaxed) && self.drain_deadline.is_none() {
                self.begin_drain(now);
            }

            ready.clear();
            let mut woken = false;
            for ev in events.iter() {
                let t = ev.token();
                if t == WAKER {
                    woken = true;
                    continue;
                }
                if t.0 > LISTENER_BASE - self.listeners.len() && t.0 <= LISTENER_BASE {
                    if self.drain_deadline.is_none() {
                        let paused = self.accept(LISTENER_BASE - t.0, now);
                        self.accept_paused |= paused;
                    }
                    continue;
                }
                if t.0 >= super::proxied::PROXIED_BASE {
                    self.proxied_ready(t.0, ev.is_read_closed() || ev.is_error(), now);
                    continue;
                }
                if let Some(c) = self.conns.get_mut(t.0) {
                    c.note_event(
                        ev.is_readable() || ev.is_error(),
                        ev.is_writable() || ev.is_write_closed() || ev.is_error(),
                        ev.is_read_closed(),
                    );
                    ready.push(t.0);
                }
            }
            let again = std::mem::take(&mut self.again);
            for &key in &again {
                if let Some(c) = self.conns.get_mut(key) {
                    c.queued = false;
                }
            }
            ready.extend(again);
            ready.sort_unstable();
            ready.dedup();
            for &key in &ready {
                self.drive_guarded(key, now, wall);
            }
            if woken {
                self.wake_websockets(now, wall);
            }

            while let Some(key) = self.timers.pop_expired(now) {
                let Some(c) = self.conns.get_mut(key) else {
                    continue;
                };
                c.armed = None;
                // The entry may be earlier than the deadline (`timer.rs`): only a
                // deadline that has really passed is a timeout.
                match c.deadline() {
                    Some(d) if d <= now => self.timeout_guarded(key, now, wall),
                    Some(d) => c.armed = self.timers.arm(key, None, Some(d)),
                    None => {}
                }
            }
            self.proxied_expire(now);

            if self.accept_paused && self.drain_deadline.is_none() {
                self.accept_soon = false;
                let mut paused = false;
                for i in 0..self.listeners.len() {
                    paused |= self.accept(i, now);
                }
                self.accept_paused = paused;
            }
            if let Some(log) = self.log.as_mut() {
                log.tick(now);
            }
            super::sys::mapped::release_unused(now);
            if let Some(d) = self.drain_deadline {
                if self.conns.is_empty() || now >= d {
                    if !self.conns.is_empty() {
                        log::warn!(
                            "worker {}: shutdown timeout, closing {} connection(s)",
                            self.id,
                            self.conns.len()
                        );
                    }
                    let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
                    for k in keys {
                        self.close(k);
                    }
                    if let Some(log) = self.log.as_mut() {
                        log.flush(now);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// `WsSender`s on other threads queued commands: each named session takes its
    /// mail, then its connection is driven to write the frames.
    fn wake_websockets(&mut self, now: Instant, wall: SystemTime) {
        let keys = match self.ws_wake.take() {
            Woken::Keys(keys) => keys,
            Woken::All => self
                .conns
                .iter()
                .filter(|(_, c)| c.engine.is_websocket())
                .map(|(k, _)| k)
                .collect(),
        };
        for key in keys {
            self.guarded(key, |w| {
                let Some(c) = w.conns.get_mut(key) else {
                    return;
                };
                if !c.engine.is_websocket() {
                    return;
                }
                c.engine.handle_wake(now);
                w.drive(key, now, wall);
            });
        }
    }

    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        // A stop requested before this worker's waker existed woke nobody: the flag
        // itself must end the wait.
        let stop_pending =
            self.drain_deadline.is_none() && self.shared.stop.load(Ordering::Relaxed);
        if stop_pending || !self.again.is_empty() || (self.accept_paused && self.accept_soon) {
            return Some(Duration::ZERO);
        }
        let mut next = self.timers.next_deadline();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.log.as_ref().and_then(|l| l.deadline()));
        consider(self.drain_deadline);
        consider(self.proxied.next_deadline());
        consider(Some(now + super::LIVENESS_TICK));
        if self.accept_paused {
            consider(Some(now + ACCEPT_RETRY));
        }
        // Round up to the next millisecond: epoll's resolution, and waking a hair
        // early would spin until the deadline.
        next.map(|t| t.saturating_duration_since(now) + Duration::from_millis(1))
    }

    fn begin_drain(&mut self, now: Instant) {
        self.drain_deadline = Some(now + self.shared.cfg.timeouts.shutdown_drain);
        for (l, _) in &self.listeners {
            let _ = super::listen::deregister_listener(self.poll.registry(), l);
        }
        self.listeners.clear();
        self.accept_paused = false;
        self.proxied_close_all();
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            if let Some(c) = self.conns.get_mut(k) {
                c.start_shutdown(now);
                if !c.queued {
                    c.queued = true;
                    self.again.push(k);
                }
            }
        }
    }

    /// Switch to the configurations a reload sent (normally one), confirming each.
    fn apply_updates(&mut self, now: Instant) {
        let mut replaced = false;
        while let Ok(u) = self.updates.try_recv() {
            replaced = true;
            self.gen = u.gen;
            self.service = u.service;
            // The new service counts into this worker's block, as the first one did
            // (file cache hits and misses, responses per site).
            self.service.attach_counters(self.counters.service.clone());
            self.factory = u.factory;
            if let Some(ls) = u.listeners {
                self.replace_listeners(ls, now);
            }
            let _ = u.ack.send(self.id);
        }
        if replaced {
            // Every connection open now started under the old configuration.
            super::reload::goaway_h2(&mut self.conns, &mut self.again, now);
        }
    }

    /// The listening addresses changed: register the new sockets (unchanged
    /// addresses come back as the same socket), after taking what is already
    /// queued on the old ones, so nothing waiting there is reset when they close.
    fn replace_listeners(&mut self, new: Vec<(std::net::TcpListener, Scheme)>, now: Instant) {
        if self.drain_deadline.is_some() {
            return;
        }
        for i in 0..self.listeners.len() {
            self.accept_paused |= self.accept(i, now);
        }
        for (l, _) in &self.listeners {
            let _ = super::listen::deregister_listener(self.poll.registry(), l);
        }
        self.listeners.clear();
        for (i, (socket, scheme)) in new.into_iter().enumerate() {
            if let Err(e) = socket.set_nonblocking(true) {
                log::warn!("worker {}: listener unusable after reload: {e}", self.id);
                continue;
            }
            let mut ml = TcpListener::from_std(socket);
            match super::listen::register_listener(
                self.poll.registry(),
                &mut ml,
                Token(LISTENER_BASE - i),
            ) {
                Ok(()) => self.listeners.push((ml, scheme)),
                Err(e) => log::warn!("worker {}: cannot watch a new listener: {e}", self.id),
            }
        }
        // A connection may have arrived between binding and registering.
        self.accept_paused = true;
        self.accept_soon = true;
    }

    /// Accept from listener `index` until it would block. Returns true when accepting
    /// stopped early (at `max_connections` with nothing to reclaim, on an error, or
    /// out of budget), so connections may still be queued and the caller must retry
    /// later.
    ///
    /// Under pressure (see `slots.rs`) each accepted connection costs this worker one
    /// victim among its own connections, if it has one; at the limit a connection is
    /// accepted only in exchange for a victim (accept first, then evict, so a victim
    /// is never closed for a newcomer that is not there). `max_connections` may thus
    /// be exceeded by one per worker for the instant between the two.
    fn accept(&mut self, index: usize, now: Instant) -> bool {
        let policy = SlotPolicy::new(self.shared.cfg.max_connections)
            .with_ws_quiet(self.gen.cfg.websocket.reclaim_after);
        // Ranked once per call, lazily: the connections it names are not driven
        // before this call ends (only the newcomers are), so the order stays valid.
        let mut victims: Option<Vec<(usize, Eviction)>> = None;
        for _ in 0..ACCEPTS_PER_TURN {
            // Reserve a slot before accepting so concurrent workers cannot overshoot.
            let active = self.shared.active.fetch_add(1, Ordering::AcqRel);
            let mut victim = None;
            if policy.under_pressure(active) {
                victim = self.next_victim(&policy, now, &mut victims);
                if victim.is_none() && policy.at_limit(active) {
                    self.shared.active.fetch_sub(1, Ordering::AcqRel);
                    return true;
                }
            }
            let Some((listener, scheme)) = self.listeners.get(index) else {
                self.shared.active.fetch_sub(1, Ordering::AcqRel);
                return false;
            };
            let scheme = *scheme;
            match listener.accept() {
                Ok((sock, peer)) => {
                    if super::proxied::expects_header(&self.gen.cfg, scheme) {
                        // Counted per IP once the header names the client.
                        self.accept_proxied(sock, peer, scheme, now);
                        if let Some((key, why)) = victim {
                            self.evict(key, why, now);
                        }
                        continue;
                    }
                    let admit = self.shared.per_ip.admit(peer.ip());
                    if admit == Admit::Refused {
                        // Closed before anything is read or written; the victim
                        // stays for the next newcomer.
                        Stats::inc(&self.counters.refused_per_ip);
                        self.shared.active.fetch_sub(1, Ordering::AcqRel);
                        if let (Some(v), Some(list)) = (victim, victims.as_mut()) {
                            list.push(v);
                        }
                        drop(sock);
                        continue;
                    }
                    self.add_conn(sock, peer, scheme, admit == Admit::Counted, now);
                    if let Some((key, why)) = victim {
                        self.evict(key, why, now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.shared.active.fetch_sub(1, Ordering::AcqRel);
                    return false;
                }
                // The client gave up while queued: nothing to do, keep accepting.
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionAborted
                        || e.kind() == io::ErrorKind::Interrupted =>
                {
                    self.shared.active.fetch_sub(1, Ordering::AcqRel);
                }
                Err(e) => {
                    self.shared.active.fetch_sub(1, Ordering::AcqRel);
                    // EMFILE/ENFILE and friends: back off instead of spinning on a
                    // listener that stays readable, and say so at most once a second.
                    if self
                        .last_accept_warning
                        .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1))
                    {
                        self.last_accept_warning = Some(now);
                        log::warn!("accept failed: {e}; retrying every {ACCEPT_RETRY:?}");
                    }
                    return true;
                }
            }
        }
        // Budget spent with connections possibly still queued: come back right after
        // serving the connections that are ready.
        self.accept_soon = true;
        true
    }

    /// The next connection to reclaim, still eligible at `now`; `victims` is this
    /// accept call's ranking, computed on first use.
    fn next_victim(
        &self,
        policy: &SlotPolicy,
        now: Instant,
        victims: &mut Option<Vec<(usize, Eviction)>>,
    ) -> Option<(usize, Eviction)> {
        let list = victims.get_or_insert_with(|| {
            let conns = self.conns.iter().map(|(k, c)| (k, c.progress()));
            let mut v = policy.victims(now, conns, ACCEPTS_PER_TURN);
            v.reverse(); // popped from the end: first victim last
            v
        });
        while let Some((key, _)) = list.pop() {
            let why = self
                .conns
                .get(key)
                .and_then(|c| policy.classify(now, &c.progress()));
            if let Some(why) = why {
                return Some((key, why));
            }
        }
        None
    }

    /// Closes `key` to make room for a newcomer, counted by reason. A WebSocket
    /// session is first told why (Close 1001), in one write attempt: the socket is
    /// idle, so the few bytes fit its send buffer and leave before the FIN.
    fn evict(&mut self, key: usize, why: Eviction, now: Instant) {
        let stats = &self.counters;
        Stats::inc(match why {
            Eviction::Lingering => &stats.evicted_lingering,
            Eviction::Idle => &stats.evicted_idle,
            Eviction::SlowHead => &stats.evicted_slow_head,
            Eviction::SlowBody => &stats.evicted_slow_body,
            Eviction::SlowRead => &stats.evicted_slow_read,
            Eviction::QuietWebSocket => &stats.evicted_websocket,
        });
        if why == Eviction::QuietWebSocket {
            if let Some(c) = self.conns.get_mut(key) {
                c.engine.evict(now);
                let _ = super::transport::write(c, &mut self.buf, now, &self.counters);
            }
        }
        log::debug!("reclaiming a connection slot ({why:?})");
        self.close(key);
    }

    pub(crate) fn poll_registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// A slot was given back: if we were at the limit, connections may be waiting in
    /// the accept queue, and no new edge will tell us about them.
    pub(crate) fn note_slot_freed(&mut self) {
        let active = self.shared.active.load(Ordering::Acquire);
        if active + 1 >= self.shared.cfg.max_connections && self.drain_deadline.is_none() {
            self.accept_paused = true;
        }
    }

    pub(crate) fn add_conn(
        &mut self,
        sock: mio::net::TcpStream,
        peer: std::net::SocketAddr,
        scheme: Scheme,
        ip_counted: bool,
        now: Instant,
    ) {
        let release = |w: &Self| {
            w.shared.active.fetch_sub(1, Ordering::AcqRel);
            if ip_counted {
                w.shared.per_ip.release(peer.ip());
            }
        };
        // Plain connections get TCP_NODELAY only if they stay open (`Conn::nodelay`).
        let nodelay = scheme == Scheme::Https;
        if nodelay {
            let _ = sock.set_nodelay(true);
        }
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if key >= LISTENER_BASE - 64 {
            release(self);
            return;
        }
        let tls = match scheme {
            Scheme::Https => match self.gen.tls.as_ref() {
                Some(cfg) => match crate::tls::TlsSession::new(cfg.clone()) {
                    Ok(t) => Some(Box::new(t)),
                    Err(e) => {
                        log::warn!("cannot start TLS for {peer}: {e}");
                        release(self);
                        return;
                    }
                },
                None => None,
            },
            Scheme::Http => None,
        };
        let cfg = &self.gen.cfg;
        let mut conn = Conn::new(key, sock, peer, tls, protocol(scheme), cfg, now);
        conn.ip_counted = ip_counted;
        conn.nodelay = nodelay;
        entry.insert(conn);
        // Counted once the connection holds a slot, so every accept has its close.
        Stats::inc(&self.counters.connections_accepted[protocol(scheme) as usize]);
        let defer = self.gen.cfg.listen_defer_accept.is_some();
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.armed = self.timers.arm(key, c.armed, c.deadline());
        if defer {
            // With TCP_DEFER_ACCEPT the kernel queued the connection once its first
            // bytes arrived: read them this turn. The socket is registered with the
            // poller only if the connection outlives this turn (`update_interest`),
            // so one that closes after its response never costs an `epoll_ctl`.
            c.note_event(true, true, false);
            c.queued = true;
            self.again.push(key);
        } else {
            // Accepted at the end of the handshake: the request often follows later,
            // so wait for the poller rather than read nothing now. A new socket can be
            // written to.
            c.note_event(false, true, false);
            if let Err(e) = c.update_interest(self.poll.registry()) {
                log::warn!("cannot register connection from {peer}: {e}");
                self.close(key);
            }
        }
    }

    /// Run `f` on one connection; a panic closes that connection only (it is logged and
    /// counted) and never takes the worker down.
    fn guarded(&mut self, key: usize, f: impl FnOnce(&mut Self)) {
        super::set_current_peer(self.conns.get(key).map(|c| c.peer));
        let result = catch_unwind(AssertUnwindSafe(|| f(self)));
        super::set_current_peer(None);
        if result.is_err() {
            Stats::inc(&self.counters.panics);
            log::error!("panic while handling a connection; connection closed");
            self.close(key);
            // The panic may have left the service's caches half-updated: start over
            // with a fresh one rather than serve from them.
            match (self.factory)(self.id) {
                Ok(mut s) => {
                    s.attach_counters(self.counters.service.clone());
                    self.service = s;
                }
                Err(e) => log::error!("cannot rebuild the service after a panic: {e}"),
            }
        }
    }

    fn drive_guarded(&mut self, key: usize, now: Instant, wall: SystemTime) {
        self.guarded(key, |w| w.drive(key, now, wall));
    }

    fn timeout_guarded(&mut self, key: usize, now: Instant, wall: SystemTime) {
        self.guarded(key, |w| {
            let (expired, handshaking) = match w.conns.get_mut(key) {
                Some(c) => (c.handle_timeout(now), c.handshaking()),
                None => return,
            };
            if expired {
                Stats::inc(&w.counters.timeouts);
                if handshaking {
                    Stats::inc(&w.counters.tls_handshake_failures);
                }
                w.close(key);
            } else {
                w.drive(key, now, wall);
            }
        });
    }

    /// Move bytes for one connection until it blocks or spends its budget, then re-arm
    /// its deadline or close it.
    fn drive(&mut self, key: usize, now: Instant, wall: SystemTime) {
        let outcome = super::conn::drive(self, key, now, wall);
        match outcome {
            super::conn::Outcome::Close => self.close(key),
            super::conn::Outcome::Keep { more } => {
                let Some(c) = self.conns.get_mut(key) else {
                    return;
                };
                // One entry per connection, so revisiting cannot multiply its budget.
                if more && !c.queued {
                    c.queued = true;
                    self.again.push(key);
                }
                if let Err(e) = c.update_interest(self.poll.registry()) {
                    log::warn!("cannot update interest: {e}");
                    self.close(key);
                    return;
                }
                c.armed = self.timers.arm(key, c.armed, c.deadline());
            }
        }
    }

    pub(crate) fn close(&mut self, key: usize) {
        if !self.conns.contains(key) {
            return;
        }
        let mut c = self.conns.remove(key);
        c.pending_log.abort(self.log.as_mut(), &self.counters);
        c.h2_log
            .abort(&mut c.engine, self.log.as_mut(), &self.counters);
        c.engine.record_stats(&self.counters);
        self.timers.rearm(key, c.armed, None);
        c.close(self.poll.registry());
        if c.ip_counted {
            self.shared.per_ip.release(c.peer.ip());
        }
        let before = self.shared.active.fetch_sub(1, Ordering::AcqRel);
        Stats::inc(&self.counters.connections_closed[c.protocol as usize]);
        // We were at the limit and a slot is free now: connections may be waiting in
        // the accept queue, and no new edge will tell us about them.
        if before >= self.shared.cfg.max_connections && self.drain_deadline.is_none() {
            self.accept_paused = true;
        }
    }
}

fn protocol(scheme: Scheme) -> Protocol {
    match scheme {
        Scheme::Http => Protocol::Http,
        Scheme::Https => Protocol::Https,
    }
}
