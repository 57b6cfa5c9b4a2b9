//! A small pool of threads for work that must not run on a worker's event loop
//! (compressing a file, reading one from disk).
//!
//! Owns the threads and one bounded job queue; it knows nothing about what a job
//! does. Bounds, so that a flood of requests cannot grow memory:
//! * at most `queue` jobs wait; [`BlockingPool::try_submit`] refuses more at once
//!   (the caller serves without the result and may try again on a later request);
//! * a job is small (it holds what it needs to start, such as an open file, never the
//!   data it will produce), so the waiting jobs cost little whatever their size.
//!
//! Threads are started on the first job, so a server that never compresses never
//! starts them. They are shared by every worker of the process and leave when the pool
//! is dropped. A panicking job is logged and does not take its thread down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

/// One unit of blocking work.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// See the module docs.
#[derive(Debug)]
pub struct BlockingPool {
    name: &'static str,
    threads: usize,
    queue: usize,
    /// Set on the first submit; `None` inside when the threads could not be started.
    sender: OnceLock<Option<SyncSender<Job>>>,
}

impl BlockingPool {
    /// A pool of `threads` threads (at least one) with room for `queue` waiting jobs.
    pub const fn new(name: &'static str, threads: usize, queue: usize) -> Self {
        BlockingPool {
            name,
            threads,
            queue,
            sender: OnceLock::new(),
        }
    }

    /// Queues `job`, or hands it back when the queue is full (or no thread could be
    /// started). Never blocks.
    pub fn try_submit(&self, job: Job) -> Result<(), Job> {
        let Some(sender) = self.sender.get_or_init(|| self.start()) else {
            return Err(job);
        };
        match sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Err(job),
        }
    }

    fn start(&self) -> Option<SyncSender<Job>> {
        let (tx, rx) = mpsc::sync_channel::<Job>(self.queue);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..self.threads.max(1) {
            let rx = rx.clone();
            let name = self.name;
            match thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run(name, &rx))
            {
                Ok(_) => started += 1,
                Err(err) => log::warn!("{name}: cannot start a pool thread: {err}"),
            }
        }
        (started > 0).then_some(tx)
    }
}

fn run(name: &str, rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while one runs.
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = next else {
            return; // the pool was dropped
        };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            log::error!("{name}: a job panicked; the pool goes on");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn jobs_run_off_the_calling_thread() {
        let pool = BlockingPool::new("test-pool", 2, 4);
        let (tx, rx) = channel();
        let caller = thread::current().id();
        pool.try_submit(Box::new(move || tx.send(thread::current().id()).unwrap()))
            .map_err(|_| "refused")
            .unwrap();
        let ran_on = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_ne!(ran_on, caller);
    }

    #[test]
    fn a_full_queue_refuses_at_once() {
        let pool = BlockingPool::new("test-pool", 1, 2);
        let (release_tx, release_rx) = channel::<()>();
        let (started_tx, started_rx) = channel();
        // Occupy the only thread until released.
        pool.try_submit(Box::new(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
        }))
        .map_err(|_| "refused")
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(pool.try_submit(Box::new(|| {})).is_ok());
        assert!(pool.try_submit(Box::new(|| {})).is_ok());
        assert!(
            pool.try_submit(Box::new(|| {})).is_err(),
            "queue of 2 is full"
        );
        release_tx.send(()).unwrap();
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_pool() {
        let pool = BlockingPool::new("test-pool", 1, 4);
        pool.try_submit(Box::new(|| panic!("job failure on purpose")))
            .map_err(|_| "refused")
            .unwrap();
        let (tx, rx) = channel();
        pool.try_submit(Box::new(move || tx.send(7).unwrap()))
            .map_err(|_| "refused")
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
    }
}
