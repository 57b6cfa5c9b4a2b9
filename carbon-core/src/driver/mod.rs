//! The driver: the only layer that talks to the OS for networking.
//!
//! [`Server::bind`] opens the listeners (so the caller can report the addresses and
//! fail early), or [`Server::from_listeners`] takes sockets opened elsewhere (socket
//! activation). [`Server::start`] starts `max_threads` workers and returns once they
//! run; [`Running::wait`] (or [`Server::run`], both at once) blocks until they have
//! all stopped. Each worker owns a `mio::Poll`, a handle on every listener, a slab of
//! connections and a deadline set; a connection lives its whole life on the worker
//! that accepted it. [`ServerHandle::shutdown`] asks for a graceful stop and
//! [`ServerHandle::reload`] hands the workers a new configuration (`reload.rs`).
//!
//! Embedding it with a service of your own:
//!
//! ```no_run
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use carbon_core::config::Config;
//! use carbon_core::driver::{Server, ServiceFactory};
//! use carbon_core::service::{Body, Request, RequestContext, Response, Service};
//!
//! struct Hello;
//!
//! impl Service for Hello {
//!     fn call(&mut self, _req: &Request, _ctx: &RequestContext) -> Response {
//!         http::Response::new(Body::Bytes(Bytes::from_static(b"hello\n")))
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let cfg = Config { port: 8080, ..Config::default() };
//! let server = Server::bind(Arc::new(cfg), None)?;
//! let handle = server.handle(); // handle.shutdown() from another thread stops it
//! let factory: ServiceFactory = Arc::new(|_worker| Ok(Box::new(Hello) as Box<dyn Service>));
//! server.run(factory)?; // blocks until shutdown
//! # drop(handle);
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::service::ratelimit::RateLimiter;
use crate::service::Service;

pub mod access_log;
mod affinity;
mod conn;
mod date;
mod early_hints;
mod engine;
mod h2_log;
mod listen;
mod per_ip;
mod proxied;
mod push;
mod readiness;
mod reload;
mod respond;
mod respond_h2;
mod slots;
pub mod stats;
mod sys;
mod timer;
mod transport;
mod worker;
mod ws_h2;
mod ws_wake;

pub use reload::{ReloadError, Update};
pub use stats::{Counters, Protocol, ReloadOutcome, Stats, StatsSnapshot, WorkerCounters};

/// Builds one service instance per worker (the argument is the worker index).
pub type ServiceFactory = Arc<dyn Fn(usize) -> io::Result<Box<dyn Service>> + Send + Sync>;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Listener {
    /// Worker 0's socket; also the one every worker shares when `per_worker` is empty.
    pub(crate) socket: std::net::TcpListener,
    pub(crate) scheme: Scheme,
    /// The address the configuration asked for (port 0 stays 0), so a reload can
    /// tell whether this listener is still wanted. Adopted sockets: their own address.
    pub(crate) wanted: SocketAddr,
    /// Sockets of workers 1.. on the same address and port (`SO_REUSEPORT`), so each
    /// new connection wakes one worker (see `listen`).
    pub(crate) per_worker: Vec<std::net::TcpListener>,
}

impl Listener {
    /// `TCP_DEFER_ACCEPT` on every socket of this listener (`listen_defer_accept`).
    pub(crate) fn set_defer_accept(&self, wait: Option<std::time::Duration>) -> io::Result<()> {
        sys::sockopt::set_defer_accept(&self.socket, wait)?;
        for s in &self.per_worker {
            sys::sockopt::set_defer_accept(s, wait)?;
        }
        Ok(())
    }

    /// One socket shared by every worker (an inherited, socket-activated one).
    fn shared(socket: std::net::TcpListener, scheme: Scheme, wanted: SocketAddr) -> Listener {
        Listener {
            socket,
            scheme,
            wanted,
            per_worker: Vec::new(),
        }
    }

    /// The socket worker `id` accepts from.
    pub(crate) fn for_worker(&self, id: usize) -> &std::net::TcpListener {
        match id.checked_sub(1).and_then(|i| self.per_worker.get(i)) {
            Some(s) => s,
            None => &self.socket,
        }
    }

    /// Another handle on the same kernel sockets: a reload keeps a listener whose
    /// address did not change, so nothing waiting in its backlog is lost.
    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(Listener {
            socket: self.socket.try_clone()?,
            scheme: self.scheme,
            wanted: self.wanted,
            per_worker: self
                .per_worker
                .iter()
                .map(|s| s.try_clone())
                .collect::<io::Result<_>>()?,
        })
    }
}

/// Everything a reload replaces, built once and shared by every worker. A connection
/// takes what it needs (limits, timeouts, TLS config) when it is accepted, so a
/// reload changes new connections only.
pub(crate) struct Generation {
    pub number: u64,
    pub cfg: Arc<Config>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The port the TLS listener really bound (differs from the config with
    /// `https_port = 0`), for redirects.
    pub https_port: u16,
    /// Per-address counts start afresh with each generation (a reload may change
    /// the limit and the window).
    pub rate: RateLimiter,
}

impl Generation {
    fn new(
        number: u64,
        cfg: Arc<Config>,
        tls: Option<Arc<rustls::ServerConfig>>,
        https_port: u16,
    ) -> Generation {
        let rate = RateLimiter::new(
            cfg.rate_limit,
            cfg.rate_limit_window,
            cfg.rate_limit_exempt.clone(),
        );
        Generation {
            number,
            cfg,
            tls,
            https_port,
            rate,
        }
    }
}

/// One worker as the rest of the server reaches it: its waker, its mailbox for
/// reloads and the heartbeat it bumps every loop turn.
pub(crate) struct WorkerLink {
    pub id: usize,
    pub waker: Arc<mio::Waker>,
    pub updates: std::sync::mpsc::SyncSender<reload::WorkerUpdate>,
    pub heartbeat: Arc<AtomicU64>,
}

/// State every worker reads; mutated only through atomics and short locks off the
/// hot path.
pub(crate) struct Shared {
    /// The start-up configuration: `max_threads`, `max_connections` and
    /// `shutdown_timeout` are read from it and need a restart to change.
    pub cfg: Arc<Config>,
    pub active: AtomicUsize,
    pub stop: AtomicBool,
    /// A stop is coming (`drain_period`) or under way: the health path answers 503
    /// and HTTP/1.1 responses close their connection.
    pub draining: AtomicBool,
    /// `max_connections_per_ip`, counted across workers (start-up value; a
    /// restart changes it).
    pub per_ip: per_ip::PerIp,
    pub stats: Arc<Stats>,
    pub workers: Mutex<Vec<WorkerLink>>,
    pub access_log: Mutex<Option<access_log::Reopener>>,
    /// The generation workers start with and the one a reload builds on.
    pub current: Mutex<Arc<Generation>>,
    /// The listening sockets of the current generation (workers hold dups). Emptied
    /// at shutdown so the sockets close once the workers drop theirs.
    pub listeners: Mutex<Vec<Listener>>,
    /// Sockets handed over by a service manager cannot be re-bound by us.
    pub adopted: bool,
    /// Serialises reloads.
    pub reload_lock: Mutex<()>,
}

/// Listeners bound, workers not started yet.
pub struct Server {
    listeners: Vec<Listener>,
    shared: Arc<Shared>,
    access_log: Option<access_log::AccessLog>,
}

/// Workers started; [`Running::wait`] blocks until they have all stopped.
pub struct Running {
    handles: Vec<std::thread::JoinHandle<io::Result<()>>>,
    handle: ServerHandle,
    access_log: Option<access_log::AccessLog>,
}

/// Asks a running server to stop; cheap to clone, usable from a signal thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// Graceful stop: stop accepting, let in-flight responses finish (up to the
    /// `shutdown_timeout`), close idle keep-alive connections, then return from `run`.
    /// Graceful stop after the current configuration's `drain_period`: meanwhile
    /// the server keeps serving, its health path answers 503 and HTTP/1.1 responses
    /// close their connections, so a balancer moves the traffic away first.
    pub fn drain_then_shutdown(&self) {
        let period = lock(&self.shared.current).cfg.drain_period;
        if period.is_zero() {
            return self.shutdown();
        }
        self.shared.draining.store(true, Ordering::SeqCst);
        log::info!("draining for {period:?} before stopping");
        // Workers send HTTP/2 connections their GOAWAY as soon as they see the flag.
        for w in lock(&self.shared.workers).iter() {
            if let Err(e) = w.waker.wake() {
                log::warn!("cannot wake a worker for the drain: {e}");
            }
        }
        let handle = ServerHandle {
            shared: self.shared.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("carbon-drain".into())
            .spawn(move || {
                std::thread::sleep(period);
                handle.shutdown();
            });
        if let Err(e) = spawned {
            log::warn!("cannot wait for the drain period ({e}); stopping now");
            self.shutdown();
        }
    }

    pub fn shutdown(&self) {
        self.shared.draining.store(true, Ordering::SeqCst);
        self.shared.stop.store(true, Ordering::SeqCst);
        // Under the workers lock, as a reload publishes its listeners: either the
        // reload saw the stop, or its listeners are cleared here.
        let workers = lock(&self.shared.workers);
        lock(&self.shared.listeners).clear();
        for w in workers.iter() {
            if let Err(e) = w.waker.wake() {
                log::warn!("cannot wake a worker for shutdown: {e}");
            }
        }
    }

    /// How many loop turns each worker has made so far, by worker index. A worker
    /// turns at least every [`LIVENESS_TICK`] while it is healthy, so a counter
    /// that stops moving for longer means that worker is stuck.
    pub fn heartbeats(&self) -> Vec<u64> {
        lock(&self.shared.workers)
            .iter()
            .map(|w| w.heartbeat.load(Ordering::Relaxed))
            .collect()
    }

    /// The addresses the server listens on now (they change when a reload moves a
    /// listener); empty once stopping.
    pub fn local_addrs(&self) -> Vec<(Scheme, SocketAddr)> {
        lock(&self.shared.listeners)
            .iter()
            .filter_map(|l| l.socket.local_addr().ok().map(|a| (l.scheme, a)))
            .collect()
    }

    /// The configuration generation new connections get (1 at start-up).
    pub fn generation(&self) -> u64 {
        lock(&self.shared.current).number
    }

    /// The configuration new connections get.
    pub fn config(&self) -> Arc<Config> {
        lock(&self.shared.current).cfg.clone()
    }

    /// Hand a validated configuration to every worker: see [`Update`]. Blocks until
    /// every worker has switched (bounded by `confirm`), so a request sent after
    /// this returns is served under the new configuration.
    pub fn reload(&self, update: Update, confirm: Duration) -> Result<u64, ReloadError> {
        reload::apply(&self.shared, update, confirm)
    }

    /// Ask the access-log writer to reopen its file by name (after log rotation
    /// moved it away); the writer logs the outcome. False when the request could not
    /// be queued (the writer is busy: try again).
    pub fn reopen_logs(&self) -> bool {
        match &*lock(&self.shared.access_log) {
            Some(r) => {
                let queued = r.reopen();
                if !queued {
                    log::warn!("access log writer is busy; reopen not queued, send SIGUSR1 again");
                }
                queued
            }
            None => true,
        }
    }

    /// Access-log lines lost so far: (batches dropped on a full queue, failed writes).
    pub fn access_log_losses(&self) -> (u64, u64) {
        lock(&self.shared.access_log)
            .as_ref()
            .map_or((0, 0), |r| r.losses())
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The live counters, for the daemon's hooks (config generation, reload outcome,
    /// log write errors) and for services that count into a worker's block.
    pub fn stats_handle(&self) -> Arc<Stats> {
        self.shared.stats.clone()
    }

    /// Connections open right now, across all workers.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }
}

thread_local! {
    static CURRENT_PEER: std::cell::Cell<Option<SocketAddr>> = const { std::cell::Cell::new(None) };
}

/// The client whose connection this worker thread is handling right now, if any:
/// lets a logger put the client address on lines from code that does not know it
/// (the sans-IO engines).
pub fn current_peer() -> Option<SocketAddr> {
    CURRENT_PEER.with(|p| p.get())
}

pub(crate) fn set_current_peer(peer: Option<SocketAddr>) {
    CURRENT_PEER.with(|p| p.set(peer));
}

/// How long a worker may go without a loop turn while healthy: its poll timeout
/// never exceeds this, so the heartbeat moves even on an idle server.
pub const LIVENESS_TICK: Duration = Duration::from_millis(500);

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The listeners a configuration asks for: plain HTTP always, HTTPS with `tls`.
pub(crate) fn wanted_listeners(cfg: &Config, tls: bool) -> Vec<(Scheme, SocketAddr)> {
    let mut schemes = vec![(Scheme::Http, cfg.port)];
    if tls {
        schemes.push((Scheme::Https, cfg.https_port));
    }
    let mut v = Vec::new();
    for (scheme, port) in schemes {
        for &ip in &cfg.listen_addresses {
            v.push((scheme, SocketAddr::new(ip, port)));
        }
    }
    v
}

/// Binds one listener: with several workers, one `SO_REUSEPORT` socket per worker on
/// the same address and port (with `port = 0`, the port the first one got).
pub(crate) fn bind_wanted(scheme: Scheme, addr: SocketAddr, cfg: &Config) -> io::Result<Listener> {
    let opts = listen::BindOptions {
        backlog: cfg.listen_backlog,
        v6only: listen::v6only_for(addr.ip(), &cfg.listen_addresses),
        count: cfg.max_threads.max(1),
    };
    let mut group = listen::bind_group(addr, opts)
        .map_err(|e| annotate(e, addr))?
        .into_iter();
    let Some(socket) = group.next() else {
        return Err(annotate(io::Error::other("no socket bound"), addr));
    };
    let listener = Listener {
        socket,
        scheme,
        wanted: addr,
        per_worker: group.collect(),
    };
    listener
        .set_defer_accept(cfg.listen_defer_accept)
        .map_err(|e| annotate(e, addr))?;
    Ok(listener)
}

/// The port the HTTPS listener really has, for redirects.
pub(crate) fn https_port_of(listeners: &[Listener], cfg: &Config) -> u16 {
    listeners
        .iter()
        .find(|l| l.scheme == Scheme::Https)
        .and_then(|l| l.socket.local_addr().ok())
        .map_or(cfg.https_port, |a| a.port())
}

impl Server {
    /// Bind the plain listeners on `port` and, when `tls` is given, the TLS listeners
    /// on `https_port`, on every address of `listen_address`; each address gets one
    /// socket per worker (see `listen`).
    pub fn bind(cfg: Arc<Config>, tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<Server> {
        let mut listeners = Vec::new();
        for (scheme, addr) in wanted_listeners(&cfg, tls.is_some()) {
            listeners.push(bind_wanted(scheme, addr, &cfg)?);
        }
        Server::build(cfg, tls, listeners, false)
    }

    /// Serve on sockets that are already listening (socket activation: the service
    /// manager bound them). Each is made non-blocking; the scheme says what it speaks.
    /// A reload cannot move these to another address. Every worker shares each one.
    pub fn from_listeners(
        cfg: Arc<Config>,
        tls: Option<Arc<rustls::ServerConfig>>,
        sockets: Vec<(std::net::TcpListener, Scheme)>,
    ) -> io::Result<Server> {
        let mut listeners = Vec::with_capacity(sockets.len());
        for (socket, scheme) in sockets {
            socket.set_nonblocking(true)?;
            let wanted = socket.local_addr()?;
            let listener = Listener::shared(socket, scheme, wanted);
            // The configuration decides, as for sockets carbond binds itself; a
            // `DeferAcceptSec=` in the socket unit is overridden.
            listener
                .set_defer_accept(cfg.listen_defer_accept)
                .map_err(|e| annotate(e, wanted))?;
            listeners.push(listener);
        }
        Server::build(cfg, tls, listeners, true)
    }

    fn build(
        cfg: Arc<Config>,
        tls: Option<Arc<rustls::ServerConfig>>,
        listeners: Vec<Listener>,
        adopted: bool,
    ) -> io::Result<Server> {
        let https_port = https_port_of(&listeners, &cfg);
        let access_log = match &cfg.access_log {
            // Not a file: the program supplies the sink (`Server::set_access_log`).
            Some(p) if p.as_os_str() == access_log::SYSLOG => None,
            Some(p) => Some(access_log::AccessLog::open(p).map_err(|e| {
                io::Error::new(e.kind(), format!("access_log {}: {e}", p.display()))
            })?),
            None => None,
        };
        let generation = Generation::new(1, cfg.clone(), tls, https_port);
        let per_ip = per_ip::PerIp::new(cfg.max_connections_per_ip, cfg.rate_limit_exempt.clone());
        let stats = Arc::new(Stats::new(cfg.max_threads.max(1)));
        if let Some(log) = &access_log {
            for c in log.loss_counters() {
                stats.add_log_loss_counter(c);
            }
        }
        Ok(Server {
            listeners,
            shared: Arc::new(Shared {
                cfg,
                active: AtomicUsize::new(0),
                stop: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                per_ip,
                stats,
                workers: Mutex::new(Vec::new()),
                access_log: Mutex::new(access_log.as_ref().map(|l| l.reopener())),
                current: Mutex::new(Arc::new(generation)),
                listeners: Mutex::new(Vec::new()),
                adopted,
                reload_lock: Mutex::new(()),
            }),
            access_log,
        })
    }

    /// Send the access log to `sink` instead of the file `access_log` names (carbond
    /// uses this for `access_log = syslog`). Call before [`Server::start`].
    pub fn set_access_log(&mut self, sink: Box<dyn access_log::LineSink>) -> io::Result<()> {
        let log = access_log::AccessLog::with_sink(sink)?;
        *lock(&self.shared.access_log) = Some(log.reopener());
        if let Some(old) = self.access_log.replace(log) {
            old.close();
        }
        Ok(())
    }

    /// The bound addresses (with the real port when `port = 0` asked for any).
    pub fn local_addrs(&self) -> Vec<(Scheme, SocketAddr)> {
        self.listeners
            .iter()
            .filter_map(|l| l.socket.local_addr().ok().map(|a| (l.scheme, a)))
            .collect()
    }

    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Start the workers and block until all have stopped (after `shutdown`).
    /// A worker that fails to start stops the others and the error is returned.
    pub fn run(self, factory: ServiceFactory) -> io::Result<()> {
        self.start(factory)?.wait()
    }

    /// Start the workers and return once every one of them is serving: the
    /// moment to announce readiness. [`Running::wait`] then blocks until they stop.
    pub fn start(self, factory: ServiceFactory) -> io::Result<Running> {
        let threads = self.shared.cfg.max_threads.max(1);
        let mut workers = Vec::with_capacity(threads);
        let allowed = affinity::allowed_cpus();
        let mut cpus = Vec::with_capacity(threads);
        for id in 0..threads {
            cpus.push(affinity::cpu_for(
                id,
                &self.shared.cfg.worker_cpu_affinity,
                &allowed,
            ));
            let w = worker::Worker::new(
                id,
                &self.listeners,
                self.shared.clone(),
                factory.clone(),
                self.access_log.as_ref().map(|l| l.worker_sink()),
            )?;
            workers.push(w);
        }
        // Each worker holds its own handle on every listening socket; the shared copy
        // is dropped at shutdown, so the sockets close as soon as the workers close
        // theirs and clients arriving during the drain are refused at once instead
        // of waiting in a backlog nobody accepts from.
        let handle = self.handle();
        *lock(&self.shared.listeners) = self.listeners;
        let mut handles = Vec::with_capacity(threads);
        for (w, cpu) in workers.into_iter().zip(cpus) {
            let id = w.id();
            match std::thread::Builder::new()
                .name(format!("carbon-worker-{id}"))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        affinity::pin_current_thread(id, cpu);
                    }
                    w.run()
                }) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    handle.shutdown();
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Running {
            handles,
            handle,
            access_log: self.access_log,
        })
    }
}

impl Running {
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Block until every worker has stopped (after [`ServerHandle::shutdown`]).
    pub fn wait(self) -> io::Result<()> {
        let mut first_err = None;
        for h in self.handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    log::error!("worker stopped with an error: {e}");
                    first_err.get_or_insert(e);
                    self.handle.shutdown();
                }
                Err(_) => {
                    log::error!("a worker thread panicked outside connection handling");
                    first_err.get_or_insert(io::Error::other("worker panicked"));
                    self.handle.shutdown();
                }
            }
        }
        if let Some(log) = self.access_log {
            log.close();
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn annotate(e: io::Error, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
}
