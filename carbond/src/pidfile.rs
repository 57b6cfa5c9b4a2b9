//! The pid file: written and locked (`flock`) for as long as carbond runs, so a
//! second instance configured with the same file refuses to start instead of
//! fighting over the ports, and scripts can find the process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

pub struct PidFile {
    path: PathBuf,
    lock: Flock<File>,
    /// Removed once only: after that the name may belong to a new instance.
    removed: AtomicBool,
}

impl PidFile {
    /// Lock `path` (creating it) and write our pid into it. Fails with a message
    /// naming the running instance when another process holds the lock.
    pub fn acquire(path: &Path) -> Result<PidFile, String> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("pid_file {}: {e}", path.display()))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut held = String::new();
                let _ = file.read_to_string(&mut held);
                let who = match held.trim() {
                    "" => String::from("another carbond"),
                    pid => format!("another carbond (pid {pid})"),
                };
                return Err(format!(
                    "pid_file {}: {who} is running with this pid file; refusing to start a second instance",
                    path.display()
                ));
            }
            Err((_, e)) => return Err(format!("pid_file {}: cannot lock: {e}", path.display())),
        };
        let pid = std::process::id();
        let written = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| writeln!(lock, "{pid}"))
            .and_then(|()| lock.flush());
        written.map_err(|e| format!("pid_file {}: cannot write: {e}", path.display()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
            lock,
            removed: AtomicBool::new(false),
        })
    }

    /// Remove the file while still holding the lock (so no other instance can have
    /// taken it over in between). Also used before an immediate exit.
    pub fn remove(&self) {
        if !self.removed.swap(true, Ordering::SeqCst) {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = &self.lock;
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_naming_the_first_pid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pid");
        let first = PidFile::acquire(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let err = PidFile::acquire(&p).err().unwrap();
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        assert!(err.contains("refusing"), "{err}");
        drop(first);
        assert!(!p.exists());
        let _again = PidFile::acquire(&p).unwrap();
    }
}
