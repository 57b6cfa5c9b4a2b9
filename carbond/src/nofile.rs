//! The open-file limit (RLIMIT_NOFILE) against `max_connections`.
//!
//! Every connection holds a socket, and one sending a file holds that file open too
//! (sendfile, or pread over TLS), so a busy connection costs two descriptors. With a
//! soft limit below that, carbond would start fine and later fail every `accept` with
//! EMFILE while new clients time out. So at start-up the soft limit is raised to the
//! hard limit (what nginx's `worker_rlimit_nofile` and systemd's `LimitNOFILE=` do;
//! only the hard limit needs privileges), and a warning names both numbers when even
//! the hard limit is too low.

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// Descriptors per connection: its socket and the file it may be sending. (A worker's
/// mapped files, for plain HTTP/2, are these same files: a mapping holds a file that
/// nothing else does for at most a second, `carbon-core/src/driver/sys/mapped.rs`.)
const FDS_PER_CONNECTION: u64 = 2;
/// Descriptors that are not connections: standard streams, log files, listeners, and
/// per worker an epoll instance, a waker and a handle on each listener; plus room
/// for the file cache and the configuration and certificates read at start-up.
const FIXED_FDS: u64 = 64;
const FDS_PER_WORKER: u64 = 4;
/// Cap when the hard limit is "unlimited": the kernel's default `fs.nr_open`.
const UNLIMITED_CAP: u64 = 1 << 20;

/// Descriptors carbond may need with this configuration, roughly.
pub fn needed(max_connections: usize, workers: usize) -> u64 {
    FDS_PER_CONNECTION * max_connections as u64 + FIXED_FDS + FDS_PER_WORKER * workers as u64
}

/// Raises the soft limit to the hard limit and returns a warning when the result is
/// still below what `max_connections` needs (or when the limit cannot be read or set).
pub fn raise(max_connections: usize, workers: usize) -> Option<String> {
    let need = needed(max_connections, workers);
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(l) => l,
        Err(e) => {
            return Some(format!(
                "cannot read the open-file limit (RLIMIT_NOFILE): {e}"
            ))
        }
    };
    let target = if hard == RLIM_INFINITY {
        UNLIMITED_CAP
    } else {
        hard
    };
    let mut soft_now = soft;
    if soft < target {
        match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
            Ok(()) => soft_now = target,
            Err(e) => log::debug!("cannot raise RLIMIT_NOFILE from {soft} to {target}: {e}"),
        }
    }
    if soft_now >= need {
        return None;
    }
    Some(format!(
        "open-file limit {soft_now} (soft; hard limit {hard}) is too low for \
         max_connections = {max_connections}: about {need} descriptors are needed \
         ({FDS_PER_CONNECTION} per connection, for its socket and the file it sends, plus \
         {FIXED_FDS} and {FDS_PER_WORKER} per worker); new clients will be refused with \
         \"Too many open files\" before max_connections is reached. Raise the hard limit \
         (systemd: LimitNOFILE=; shell: ulimit -Hn; /etc/security/limits.conf) or lower \
         max_connections"
    ))
}

/// Start-up: raise the limit, and show the warning on the terminal and in the log.
pub fn check_at_startup(max_connections: usize, workers: usize, logs_to_file: bool) {
    if let Some(w) = raise(max_connections, workers) {
        eprintln!("carbond: warning: {w}");
        if logs_to_file {
            log::warn!("{w}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_two_per_connection_plus_overhead() {
        assert_eq!(needed(1000, 2), 2000 + 64 + 8);
        assert_eq!(needed(0, 1), 68);
    }

    #[test]
    fn soft_limit_is_raised_to_hard_and_huge_max_connections_warns() {
        // Raising the soft limit up to the hard one needs no privileges.
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(raise(1, 1), None);
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(
            soft,
            if hard == RLIM_INFINITY {
                UNLIMITED_CAP
            } else {
                hard
            }
        );
        let w = raise(usize::MAX / 4, 1).unwrap();
        assert!(w.contains(&format!("open-file limit {soft}")), "{w}");
        assert!(w.contains("max_connections"), "{w}");
    }
}
