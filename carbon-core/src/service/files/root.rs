//! The document root as an open directory, and the one step that opens files under it.
//!
//! Owns two things:
//!
//! 1. **Kernel-enforced containment.** A file that `resolve::locate` proved to lie
//!    under the root is opened with `openat2(root_fd, path_under_root,
//!    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` (Linux 5.6). The kernel then refuses
//!    (`EXDEV`, served as 404) any resolution that would leave the directory, whatever
//!    changed since the check: a parent directory swapped for a symlink to `/etc`
//!    between `locate` and the open is no longer followed. This closes the
//!    check-then-open race `resolve.rs` describes. Symlinks that stay beneath the root
//!    keep working; `/proc/self/fd/N`-style magic links never resolve. The final
//!    component is still opened with `O_NOFOLLOW` (a file swapped for a symlink after
//!    the hidden-name check could point at a dotfile), and with `O_NONBLOCK` (a FIFO
//!    swapped in must not block the worker).
//!
//!    Fallback: on a kernel without `openat2` (`ENOSYS`: before 5.6, or a seccomp
//!    filter that does not know it; `EPERM` from a filter that blocks it, told apart
//!    from a real refusal by the open by path succeeding) the file is opened by its
//!    canonical path with `O_NOFOLLOW`, exactly as before, and one warning is logged
//!    for the process. The race is then open again, as documented in `resolve.rs`.
//!
//! 2. **Following a switched root.** A root configured as a symlink (the deploy
//!    pattern `www_path = /srv/site/current`, `current -> releases/N`, switched with
//!    `ln -sfn releases/N+1 current.tmp && mv -T current.tmp current`) is re-resolved
//!    by its configured path once [`REVALIDATE_AFTER`](super::cache::REVALIDATE_AFTER) has passed, the same interval
//!    at which cached files are re-checked. When it now names another directory, the
//!    directory is reopened and [`DocumentRoot::refresh`] reports the switch, so the
//!    service drops every cache entry of the old root. Containment then holds against
//!    the new directory. A root that cannot be resolved at a check (being replaced
//!    by hand, say) keeps the current directory and logs one warning until it can.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use http::StatusCode;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::cache::recheck_after;
use super::resolve::{status_for_io, FileIdentity};

/// Set once a kernel answered `ENOSYS` to `openat2`: every later open in the process
/// uses the path checks, and the warning is logged once.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// The directory requests are served from. See the module docs.
#[derive(Debug)]
pub(super) struct DocumentRoot {
    /// As configured (may be or contain a symlink); re-resolved on [`Self::refresh`].
    configured: PathBuf,
    /// What `configured` resolved to at the last check; every located path starts
    /// with it.
    canonical: PathBuf,
    dir: File,
    /// `(st_dev, st_ino)` of `dir`: tells a switched root from the same one.
    id: (u64, u64),
    /// When the configured path must be resolved again ([`REVALIDATE_AFTER`](super::cache::REVALIDATE_AFTER) after a
    /// request last did); `None` before the first (the service reads no clock of its
    /// own, so the first request checks).
    recheck_at: Option<Instant>,
    /// The last re-resolution failed (so its warning is not repeated every second).
    unresolved: bool,
    /// Open by path even where `openat2` exists (tests of the fallback).
    path_checks_only: bool,
}

impl DocumentRoot {
    /// Fails when the root does not exist or is not a directory.
    pub fn open(configured: &Path) -> io::Result<Self> {
        let (canonical, dir, id) = resolve_dir(configured)?;
        Ok(DocumentRoot {
            configured: configured.to_path_buf(),
            canonical,
            dir,
            id,
            recheck_at: None,
            unresolved: false,
            path_checks_only: false,
        })
    }

    /// The canonical path of the directory currently served.
    pub fn canonical(&self) -> &Path {
        &self.canonical
    }

    /// Re-resolves the configured path when the last check is [`REVALIDATE_AFTER`](super::cache::REVALIDATE_AFTER)
    /// old. Returns true when the root now is another directory: the caller must drop
    /// everything it cached from the old one.
    pub fn refresh(&mut self, now: Instant) -> bool {
        if self.recheck_at.is_some_and(|at| now < at) {
            return false;
        }
        self.recheck_at = Some(recheck_after(now));
        // Cheap path first: one canonicalize and one stat per second when nothing moved.
        if let Ok(canonical) = std::fs::canonicalize(&self.configured) {
            if let Ok(meta) = std::fs::metadata(&canonical) {
                if canonical == self.canonical && (meta.dev(), meta.ino()) == self.id {
                    self.unresolved = false;
                    return false;
                }
            }
        }
        match resolve_dir(&self.configured) {
            Ok((canonical, dir, id)) => {
                self.unresolved = false;
                if canonical == self.canonical && id == self.id {
                    return false;
                }
                log::info!(
                    "document root {} now resolves to {} (was {})",
                    self.configured.display(),
                    canonical.display(),
                    self.canonical.display()
                );
                self.canonical = canonical;
                self.dir = dir;
                self.id = id;
                true
            }
            Err(err) => {
                if !self.unresolved {
                    log::warn!(
                        "document root {} cannot be resolved ({err}); still serving {}",
                        self.configured.display(),
                        self.canonical.display()
                    );
                }
                self.unresolved = true;
                false
            }
        }
    }

    /// Opens the regular file at `canonical` (a path `resolve::locate` returned, so it
    /// starts with [`Self::canonical`]). The identity comes from the open descriptor,
    /// so it describes exactly the bytes that will be sent.
    pub fn open_file(&self, canonical: &Path) -> Result<(File, FileIdentity), StatusCode> {
        let Ok(inside) = canonical.strip_prefix(&self.canonical) else {
            return Err(StatusCode::NOT_FOUND);
        };
        let file = if !self.path_checks_only && !OPENAT2_MISSING.load(Ordering::Relaxed) {
            match open_beneath(&self.dir, inside) {
                Err(Errno::NOSYS) => {
                    openat2_missing("ENOSYS");
                    open_by_path(canonical)
                }
                // A read-only open is refused with EACCES, not EPERM; EPERM here is a
                // seccomp filter that blocks openat2 (older container runtimes), which
                // the same open by path tells apart from a real refusal.
                Err(Errno::PERM) => {
                    let by_path = open_by_path(canonical);
                    if by_path.is_ok() {
                        openat2_missing("EPERM");
                    }
                    by_path
                }
                other => other.map_err(io::Error::from),
            }
        } else {
            open_by_path(canonical)
        };
        regular(file.map_err(|e| status_for_io(&e))?)
    }

    /// Test hook: the fallback used on kernels without `openat2`.
    #[cfg(test)]
    pub fn use_path_checks_only(&mut self) {
        self.path_checks_only = true;
    }
}

/// Records (once per process, with one warning) that `openat2` cannot be used.
fn openat2_missing(errno: &str) {
    if !OPENAT2_MISSING.swap(true, Ordering::Relaxed) {
        log::warn!(
            "openat2 failed with {errno} (it needs Linux 5.6, and a seccomp filter may \
             block it): files are opened by path after a containment check, which a \
             writer of the document root could race"
        );
    }
}

/// Flags of every file open: read-only, never blocking (a FIFO), never a final
/// symlink, never inherited by a child process.
fn file_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn open_beneath(dir: &File, inside: &Path) -> Result<File, Errno> {
    let fd = rustix::fs::openat2(
        dir,
        inside,
        file_flags(),
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    )?;
    Ok(File::from(fd))
}

fn open_by_path(canonical: &Path) -> io::Result<File> {
    let fd = rustix::fs::open(canonical, file_flags(), Mode::empty())?;
    Ok(File::from(fd))
}

fn regular(file: File) -> Result<(File, FileIdentity), StatusCode> {
    let meta = file.metadata().map_err(|e| status_for_io(&e))?;
    if !meta.is_file() {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok((file, FileIdentity::of(&meta)))
}

/// Opens the directory `configured` names now. The canonical path and the opened
/// directory must be the same inode: a switch between the two steps is retried, so
/// the path used for checks and the descriptor used for opens never disagree.
fn resolve_dir(configured: &Path) -> io::Result<(PathBuf, File, (u64, u64))> {
    let mut last = None;
    for _ in 0..3 {
        let canonical = std::fs::canonicalize(configured)?;
        let fd = rustix::fs::open(
            &canonical,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == Errno::NOTDIR {
                io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("document root {} is not a directory", canonical.display()),
                )
            } else {
                io::Error::from(e)
            }
        })?;
        let dir = File::from(fd);
        let meta = dir.metadata()?;
        let id = (meta.dev(), meta.ino());
        let again = std::fs::canonicalize(configured)?;
        if again == canonical {
            return Ok((canonical, dir, id));
        }
        last = Some(again);
    }
    Err(io::Error::other(format!(
        "document root {} kept changing while it was opened (last: {})",
        configured.display(),
        last.map(|p| p.display().to_string()).unwrap_or_default()
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use crate::service::files::cache::REVALIDATE_AFTER;
    use crate::service::files::resolve;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::time::Duration;

    fn read(file: &mut File) -> String {
        let mut s = String::new();
        file.read_to_string(&mut s).unwrap();
        s
    }

    /// The tree of the race: `root/sub/page.txt` located, then `root/sub` replaced by
    /// a symlink to `outside/` (which has a `page.txt` of its own) before the open.
    fn swapped_after_check() -> (tempfile::TempDir, DocumentRoot, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("sub/page.txt"), "inside").unwrap();
        std::fs::write(outside.join("page.txt"), "SECRET").unwrap();
        let doc_root = DocumentRoot::open(&root).unwrap();
        let located =
            resolve::locate(doc_root.canonical(), Path::new("sub/page.txt"), false).unwrap();
        // The swap happens after the check, before the open.
        std::fs::rename(root.join("sub"), dir.path().join("sub.old")).unwrap();
        symlink(&outside, root.join("sub")).unwrap();
        (dir, doc_root, located.canonical)
    }

    #[test]
    fn openat2_refuses_a_parent_swapped_for_a_symlink_to_outside_after_the_check() {
        let (_dir, root, canonical) = swapped_after_check();
        match root.open_file(&canonical) {
            Err(status) => assert_eq!(status, StatusCode::NOT_FOUND),
            Ok((mut file, _)) => {
                let content = read(&mut file);
                if OPENAT2_MISSING.load(Ordering::Relaxed) {
                    eprintln!("SKIPPED: this kernel has no openat2; the fallback read {content:?}");
                    return;
                }
                panic!("opened {content:?} outside the root through the swapped symlink");
            }
        }
    }

    #[test]
    fn path_fallback_is_racy_which_is_why_openat2_is_used() {
        // The same swap defeats the path checks: this is the race the kernel closes.
        let (_dir, mut root, canonical) = swapped_after_check();
        root.use_path_checks_only();
        let (mut file, _) = root.open_file(&canonical).unwrap();
        assert_eq!(read(&mut file), "SECRET");
    }

    #[test]
    fn symlinks_that_stay_beneath_the_root_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir_all(root.join("assets/v1")).unwrap();
        std::fs::write(root.join("assets/v1/app.js"), "js").unwrap();
        symlink("assets/v1", root.join("current")).unwrap();
        let doc_root = DocumentRoot::open(&root).unwrap();
        let located =
            resolve::locate(doc_root.canonical(), Path::new("current/app.js"), false).unwrap();
        let (mut file, identity) = doc_root.open_file(&located.canonical).unwrap();
        assert_eq!(read(&mut file), "js");
        assert_eq!(identity.size, 2);
        // A path that is not under the root at all is refused before any open.
        assert_eq!(
            doc_root.open_file(Path::new("/etc/passwd")).unwrap_err(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_switched_root_symlink_is_followed_after_the_revalidation_interval() {
        let dir = tempfile::tempdir().unwrap();
        for (release, text) in [("r1", "one"), ("r2", "two")] {
            std::fs::create_dir_all(dir.path().join(release)).unwrap();
            std::fs::write(dir.path().join(release).join("page.txt"), text).unwrap();
        }
        let current = dir.path().join("current");
        symlink("r1", &current).unwrap();
        let t0 = Instant::now();
        let mut root = DocumentRoot::open(&current).unwrap();
        assert!(!root.refresh(t0), "the first request checks: nothing moved");
        assert!(root.canonical().ends_with("r1"));

        // `ln -sfn r2 current.tmp && mv -T current.tmp current`
        symlink("r2", dir.path().join("current.tmp")).unwrap();
        std::fs::rename(dir.path().join("current.tmp"), &current).unwrap();
        assert!(!root.refresh(t0 + Duration::from_millis(500)), "too early");
        assert!(root.canonical().ends_with("r1"));
        assert!(root.refresh(t0 + REVALIDATE_AFTER));
        assert!(root.canonical().ends_with("r2"));
        // The old release can go: opens use the new directory.
        std::fs::remove_dir_all(dir.path().join("r1")).unwrap();
        let located = resolve::locate(root.canonical(), Path::new("page.txt"), false).unwrap();
        let (mut file, _) = root.open_file(&located.canonical).unwrap();
        assert_eq!(read(&mut file), "two");
        // Nothing moved since: no switch reported.
        assert!(!root.refresh(t0 + REVALIDATE_AFTER * 2));
    }

    #[test]
    fn an_unresolvable_root_keeps_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("r1")).unwrap();
        let current = dir.path().join("current");
        symlink("r1", &current).unwrap();
        let t0 = Instant::now();
        let mut root = DocumentRoot::open(&current).unwrap();
        assert!(!root.refresh(t0));
        std::fs::remove_file(&current).unwrap();
        assert!(!root.refresh(t0 + REVALIDATE_AFTER));
        assert!(root.canonical().ends_with("r1"));
    }
}
