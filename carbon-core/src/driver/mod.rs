//! The driver: the only layer that talks to the OS for networking.
//!
//! [`Server::bind`] opens the listeners (so the caller can report the addresses and
//! fail early), [`Server::run`] starts `max_threads` workers and blocks until they
//! have all stopped. Each worker owns a `mio::Poll`, a handle on every listener, a
//! slab of connections and a deadline set; a connection lives its whole life on the
//! worker that accepted it. [`ServerHandle::shutdown`] asks for a graceful stop.
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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::service::ratelimit::RateLimiter;
use crate::service::Service;

pub mod access_log;
mod affinity;
mod conn;
mod date;
mod listen;
mod respond;
pub mod stats;
mod timer;
mod transport;
mod worker;

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

struct Listener {
    /// Worker 0's socket; also the one every worker shares when `per_worker` is empty.
    socket: std::net::TcpListener,
    scheme: Scheme,
    /// Sockets of workers 1.. on the same address and port (`SO_REUSEPORT`), so each
    /// new connection wakes one worker (see `listen`).
    per_worker: Vec<std::net::TcpListener>,
}

impl Listener {
    /// One socket shared by every worker (an inherited, socket-activated one).
    #[allow(dead_code)] // used by the constructor from inherited sockets
    fn shared(socket: std::net::TcpListener, scheme: Scheme) -> Listener {
        Listener {
            socket,
            scheme,
            per_worker: Vec::new(),
        }
    }

    /// The socket worker `id` accepts from.
    fn for_worker(&self, id: usize) -> &std::net::TcpListener {
        match id.checked_sub(1).and_then(|i| self.per_worker.get(i)) {
            Some(s) => s,
            None => &self.socket,
        }
    }
}

/// State every worker reads; mutated only through atomics.
pub(crate) struct Shared {
    pub cfg: Arc<Config>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The port the TLS listener really bound (differs from the config with
    /// `https_port = 0`), for redirects.
    pub https_port: u16,
    /// `Strict-Transport-Security`, formatted once; `None` when `hsts_max_age = 0`.
    pub hsts: Option<http::HeaderValue>,
    pub active: AtomicUsize,
    pub stop: AtomicBool,
    pub rate: RateLimiter,
    pub stats: Arc<Stats>,
    pub wakers: Mutex<Vec<Arc<mio::Waker>>>,
    pub access_log: Option<access_log::Reopener>,
}

/// Listeners bound, workers not started yet.
pub struct Server {
    listeners: Vec<Listener>,
    shared: Arc<Shared>,
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
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let wakers = match self.shared.wakers.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        for w in wakers.iter() {
            if let Err(e) = w.wake() {
                log::warn!("cannot wake a worker for shutdown: {e}");
            }
        }
    }

    /// Reopen the access log by name (after log rotation moved it away).
    pub fn reopen_logs(&self) {
        if let Some(r) = &self.shared.access_log {
            if !r.reopen() {
                log::warn!("access log writer is busy; reopen not queued, send SIGHUP again");
            }
        }
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

impl Server {
    /// Bind the plain listeners on `port` and, when `tls` is given, the TLS listeners
    /// on `https_port`, on every address of `listen_address`; each address gets one
    /// socket per worker (see `listen`).
    pub fn bind(cfg: Arc<Config>, tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<Server> {
        let mut listeners = Vec::new();
        let mut https_port = cfg.https_port;
        let mut schemes = vec![(Scheme::Http, cfg.port)];
        if tls.is_some() {
            schemes.push((Scheme::Https, cfg.https_port));
        }
        for (scheme, port) in schemes {
            for &ip in &cfg.listen_addresses {
                let addr = SocketAddr::new(ip, port);
                let opts = listen::BindOptions {
                    backlog: cfg.listen_backlog,
                    v6only: listen::v6only_for(ip, &cfg.listen_addresses),
                    count: cfg.max_threads.max(1),
                };
                let mut group = listen::bind_group(addr, opts)
                    .map_err(|e| annotate(e, addr))?
                    .into_iter();
                let Some(socket) = group.next() else {
                    return Err(annotate(io::Error::other("no socket bound"), addr));
                };
                if scheme == Scheme::Https && https_port == 0 {
                    // Redirects name one port: with `https_port = 0` and several
                    // addresses, the first address's port.
                    https_port = socket.local_addr()?.port();
                }
                listeners.push(Listener {
                    socket,
                    scheme,
                    per_worker: group.collect(),
                });
            }
        }
        let access_log = match &cfg.access_log {
            Some(p) => Some(access_log::AccessLog::open(p).map_err(|e| {
                io::Error::new(e.kind(), format!("access_log {}: {e}", p.display()))
            })?),
            None => None,
        };
        let rate = RateLimiter::new(
            cfg.rate_limit,
            cfg.rate_limit_window,
            cfg.rate_limit_exempt.clone(),
        );
        let hsts = match cfg.hsts_max_age {
            0 => None,
            age => http::HeaderValue::from_str(&format!("max-age={age}")).ok(),
        };
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
                tls,
                https_port,
                hsts,
                active: AtomicUsize::new(0),
                stop: AtomicBool::new(false),
                rate,
                stats,
                wakers: Mutex::new(Vec::new()),
                access_log: access_log.as_ref().map(|l| l.reopener()),
            }),
            access_log,
        })
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
        // Each worker holds its own handle on every listening socket; dropping ours
        // means the sockets close as soon as the workers close theirs at shutdown,
        // so clients arriving during the drain are refused at once instead of
        // waiting in a backlog nobody accepts from.
        let handle = self.handle();
        drop(self.listeners);
        let mut handles = Vec::with_capacity(threads);
        let mut first_err = None;
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
                    first_err = Some(e);
                    handle.shutdown();
                    break;
                }
            }
        }
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    log::error!("worker stopped with an error: {e}");
                    first_err.get_or_insert(e);
                    handle.shutdown();
                }
                Err(_) => {
                    log::error!("a worker thread panicked outside connection handling");
                    first_err.get_or_insert(io::Error::other("worker panicked"));
                    handle.shutdown();
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
