//! `worker_cpu_affinity`: pinning worker threads to CPUs, so a worker's connections,
//! caches and counters stay on one core (the kernel's SO_REUSEPORT hashing already
//! keeps each connection on one worker).

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::config::CpuAffinity;

/// The CPU worker `id` should run on, or `None` to leave it to the scheduler.
/// `allowed` is the set the process may use (for `auto`).
pub fn cpu_for(id: usize, setting: &CpuAffinity, allowed: &[usize]) -> Option<usize> {
    let list = match setting {
        CpuAffinity::Off => return None,
        CpuAffinity::Auto => allowed,
        CpuAffinity::List(l) => l.as_slice(),
    };
    if list.is_empty() {
        return None;
    }
    Some(list[id % list.len()])
}

/// CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Pins the calling thread (a worker) to `cpu`. A failure (a CPU that does not exist
/// or is outside the process's cgroup) is logged and the worker runs unpinned: a
/// placement hint must not stop the server.
pub fn pin_current_thread(worker: usize, cpu: usize) {
    let mut set = CpuSet::new();
    let res = set
        .set(cpu)
        .and_then(|()| sched_setaffinity(Pid::from_raw(0), &set));
    match res {
        Ok(()) => log::debug!("worker {worker} pinned to CPU {cpu}"),
        Err(e) => log::warn!("worker_cpu_affinity: cannot pin worker {worker} to CPU {cpu}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_wrap_around_the_cpu_list() {
        let list = CpuAffinity::List(vec![2, 5]);
        assert_eq!(cpu_for(0, &list, &[]), Some(2));
        assert_eq!(cpu_for(1, &list, &[]), Some(5));
        assert_eq!(cpu_for(2, &list, &[]), Some(2));
        assert_eq!(cpu_for(3, &CpuAffinity::Auto, &[0, 1, 2]), Some(0));
        assert_eq!(cpu_for(0, &CpuAffinity::Off, &[0]), None);
        assert_eq!(cpu_for(0, &CpuAffinity::Auto, &[]), None);
    }

    #[test]
    fn this_process_may_run_somewhere() {
        assert!(!allowed_cpus().is_empty());
    }
}
