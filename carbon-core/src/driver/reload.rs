//! Hot reload: hand a configuration that the caller has already validated to every
//! worker without stopping any of them.
//!
//! Everything that can fail is done here, before any worker hears of it: binding
//! listeners for changed addresses, building one service per worker, duplicating the
//! listening sockets. Only then is each worker sent its [`WorkerUpdate`] through its
//! mailbox and woken with its `mio::Waker`. A worker switches at the top of its next
//! loop turn: connections accepted from then on get the new limits, timeouts and TLS
//! configuration; connections already open keep the ones they started with.
//! Listeners whose address did not change are the same kernel socket before and
//! after, so no connection waiting in their backlog is lost; new listeners are up
//! before the old ones close.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    bind_wanted, https_port_of, lock, wanted_listeners, Generation, Listener, Scheme,
    ServiceFactory, Shared,
};
use crate::config::Config;
use crate::service::Service;

/// Reload updates a worker may have queued. A reload waits for every worker to
/// confirm, so more than one pending means a worker is stuck; the bound keeps a stuck
/// worker from piling up configurations.
pub(crate) const MAILBOX: usize = 2;

/// A validated configuration for [`super::ServerHandle::reload`].
pub struct Update {
    pub cfg: Arc<Config>,
    /// The TLS configuration built from `cfg` (certificates already loaded), or
    /// `None` when `cfg` has HTTPS off.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Builds each worker's service for the new configuration.
    pub factory: ServiceFactory,
}

/// What one worker receives.
pub(crate) struct WorkerUpdate {
    pub gen: Arc<Generation>,
    pub service: Box<dyn Service>,
    pub factory: ServiceFactory,
    /// `Some` only when the set of listening addresses changed.
    pub listeners: Option<Vec<(std::net::TcpListener, Scheme)>>,
    pub ack: mpsc::Sender<usize>,
}

/// Why a reload was not applied (or, for `NotConfirmed`, not confirmed).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadError {
    /// The server is shutting down.
    Stopping,
    /// A new listening address could not be bound; nothing was changed.
    Listen(io::Error),
    /// The addresses changed but the sockets came from the service manager.
    Adopted {
        wanted: Vec<SocketAddr>,
        have: Vec<SocketAddr>,
    },
    /// A worker's service could not be built for the new configuration; nothing
    /// was changed.
    Service(io::Error),
    /// The new generation was handed over, but these workers had not switched to
    /// it when the wait ran out (they will when they next turn).
    NotConfirmed {
        generation: u64,
        workers: Vec<usize>,
    },
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Stopping => write!(f, "the server is shutting down"),
            ReloadError::Listen(e) => write!(f, "{e}"),
            ReloadError::Adopted { wanted, have } => write!(
                f,
                "the listeners changed ({}; the service manager passed {}), but \
                 socket-activated listeners cannot be added or moved: change the \
                 .socket unit and restart",
                join(wanted),
                join(have)
            ),
            ReloadError::Service(e) => write!(f, "cannot build the file service: {e}"),
            ReloadError::NotConfirmed {
                generation,
                workers,
            } => write!(
                f,
                "generation {generation} handed over, but worker(s) {workers:?} did not \
                 confirm in time"
            ),
        }
    }
}

impl std::error::Error for ReloadError {}

fn join(a: &[SocketAddr]) -> String {
    a.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn apply(
    shared: &Shared,
    update: Update,
    confirm: Duration,
) -> Result<u64, ReloadError> {
    let _one_at_a_time = lock(&shared.reload_lock);
    if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ReloadError::Stopping);
    }
    let wanted = wanted_listeners(&update.cfg, update.tls.is_some());
    let new_listeners = {
        let current = lock(&shared.listeners);
        plan_listeners(&current, &wanted, shared.adopted, &update.cfg)?
    };
    let https_port = match &new_listeners {
        Some(ls) => https_port_of(ls, &update.cfg),
        None => https_port_of(&lock(&shared.listeners), &update.cfg),
    };
    let number = lock(&shared.current).number + 1;
    let gen = Arc::new(Generation::new(
        number,
        update.cfg.clone(),
        update.tls.clone(),
        https_port,
    ));

    let (ack_tx, ack_rx) = mpsc::channel();
    let workers = lock(&shared.workers);
    let mut parcels = Vec::with_capacity(workers.len());
    for w in workers.iter() {
        let service = (update.factory)(w.id).map_err(ReloadError::Service)?;
        let listeners = match &new_listeners {
            Some(ls) => Some(
                ls.iter()
                    .map(|l| Ok((l.for_worker(w.id).try_clone()?, l.scheme)))
                    .collect::<io::Result<Vec<_>>>()
                    .map_err(ReloadError::Listen)?,
            ),
            None => None,
        };
        parcels.push(WorkerUpdate {
            gen: gen.clone(),
            service,
            factory: update.factory.clone(),
            listeners,
            ack: ack_tx.clone(),
        });
    }
    drop(ack_tx);

    // A stop that began meanwhile wins: its drain must not be handed new listeners.
    if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ReloadError::Stopping);
    }
    // Nothing can fail any more: publish, then tell the workers.
    *lock(&shared.current) = gen;
    if let Some(ls) = new_listeners {
        *lock(&shared.listeners) = ls;
    }
    // Kept listeners take a changed `listen_defer_accept` too (new ones have it).
    for l in lock(&shared.listeners).iter() {
        if let Err(e) = l.set_defer_accept(update.cfg.listen_defer_accept) {
            log::warn!("listen_defer_accept on {}: {e}", l.wanted);
        }
    }
    let mut waiting: Vec<usize> = Vec::with_capacity(workers.len());
    for (w, parcel) in workers.iter().zip(parcels) {
        match w.updates.try_send(parcel) {
            Ok(()) => waiting.push(w.id),
            Err(_) => log::warn!(
                "worker {}: reload mailbox full or closed; it keeps its configuration",
                w.id
            ),
        }
        if let Err(e) = w.waker.wake() {
            log::warn!("cannot wake worker {} for a reload: {e}", w.id);
        }
    }
    drop(workers);

    let deadline = Instant::now() + confirm;
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match ack_rx.recv_timeout(left) {
            Ok(id) => waiting.retain(|&w| w != id),
            Err(_) => break,
        }
    }
    if waiting.is_empty() {
        Ok(number)
    } else {
        Err(ReloadError::NotConfirmed {
            generation: number,
            workers: waiting,
        })
    }
}

/// The drain of a worker's existing connections has begun, because a reload replaced
/// their configuration or `drain_period` started: every HTTP/2 connection that is
/// serving gets the two-step graceful GOAWAY (RFC 9113 §6.8), so its client opens its
/// next requests on a new connection (which gets the new configuration, or, while
/// draining before a stop, another instance behind the balancer) while the streams
/// in flight finish. HTTP/1.1 connections are not interrupted: they finish their
/// exchange under the configuration they started with (and, while draining, close
/// after their next response, `respond::finish_h1`). Each touched connection is
/// queued in `again` so the GOAWAY goes out this loop turn.
pub(crate) fn goaway_h2(
    conns: &mut slab::Slab<super::conn::Conn>,
    again: &mut Vec<usize>,
    now: Instant,
) {
    for (key, c) in conns.iter_mut() {
        if c.engine.start_h2_drain(now) && !c.queued {
            c.queued = true;
            again.push(key);
        }
    }
}

/// `None` when the listening addresses stay as they are; otherwise the new set, with
/// the sockets of unchanged addresses reused (a dup of the same socket) and the
/// others freshly bound.
fn plan_listeners(
    current: &[Listener],
    wanted: &[(Scheme, SocketAddr)],
    adopted: bool,
    cfg: &Config,
) -> Result<Option<Vec<Listener>>, ReloadError> {
    let same = current.len() == wanted.len()
        && wanted
            .iter()
            .all(|(s, a)| current.iter().any(|l| l.scheme == *s && l.wanted == *a));
    if same {
        return Ok(None);
    }
    if adopted {
        // With socket activation the configured addresses only served to match the
        // passed sockets at start-up; what must stay true is that every scheme the
        // new configuration wants has a socket, and no socket speaks a scheme the
        // configuration dropped.
        let schemes_match = wanted
            .iter()
            .all(|(s, _)| current.iter().any(|l| l.scheme == *s))
            && current
                .iter()
                .all(|l| wanted.iter().any(|(s, _)| *s == l.scheme));
        if schemes_match {
            return Ok(None);
        }
        return Err(ReloadError::Adopted {
            wanted: wanted.iter().map(|(_, a)| *a).collect(),
            have: current.iter().map(|l| l.wanted).collect(),
        });
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (scheme, addr) in wanted {
        match current
            .iter()
            .find(|l| l.scheme == *scheme && l.wanted == *addr)
        {
            Some(l) => out.push(l.try_clone().map_err(ReloadError::Listen)?),
            None => out.push(bind_wanted(*scheme, *addr, cfg).map_err(ReloadError::Listen)?),
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn listener(scheme: Scheme) -> Listener {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        bind_wanted(scheme, addr, &Config::default()).unwrap()
    }

    #[test]
    fn unchanged_addresses_keep_their_sockets() {
        let current = vec![listener(Scheme::Http)];
        let wanted = vec![(Scheme::Http, "127.0.0.1:0".parse().unwrap())];
        assert!(plan_listeners(&current, &wanted, false, &Config::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_added_https_listener_is_bound_and_the_old_one_reused() {
        let current = vec![listener(Scheme::Http)];
        let before = current[0].socket.local_addr().unwrap();
        let wanted = vec![
            (Scheme::Http, "127.0.0.1:0".parse().unwrap()),
            (Scheme::Https, "127.0.0.1:0".parse().unwrap()),
        ];
        let new = plan_listeners(&current, &wanted, false, &Config::default())
            .unwrap()
            .unwrap();
        assert_eq!(new.len(), 2);
        assert_eq!(new[0].socket.local_addr().unwrap(), before);
        assert_eq!(new[1].scheme, Scheme::Https);
    }

    #[test]
    fn adopted_sockets_stay_and_cannot_gain_a_scheme() {
        let mut l = listener(Scheme::Http);
        l.wanted = l.socket.local_addr().unwrap();
        let current = [l];
        // Another configured port: the passed socket stays as it is.
        let moved = vec![(Scheme::Http, "127.0.0.1:1".parse().unwrap())];
        assert!(plan_listeners(&current, &moved, true, &Config::default())
            .unwrap()
            .is_none());
        // HTTPS switched on: no socket was passed for it.
        let more = vec![
            (Scheme::Http, "127.0.0.1:1".parse().unwrap()),
            (Scheme::Https, "127.0.0.1:2".parse().unwrap()),
        ];
        let err = plan_listeners(&current, &more, true, &Config::default()).unwrap_err();
        assert!(err.to_string().contains("socket-activated"), "{err}");
    }
}
