//! The socket, its accept thread and one short-lived thread per connection.
//!
//! Bounds: at most [`MAX_CLIENTS`] connections are served at once (more get a `busy`
//! error); a request must arrive, whole, within [`REQUEST_DEADLINE`] and fit in
//! `MAX_REQUEST_LINE` bytes; a reply that the client does not read within
//! [`WRITE_TIMEOUT`] is abandoned.

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use carbon_control::{parse_request, Command, ErrorCode, Reply, Response, MAX_REQUEST_LINE};

use super::auth::{self, Policy};
use super::{ControlHandler, ControlOptions, ReloadRefused};

/// Control connections served at once. carbonctl opens one per command; a handful
/// covers an operator plus monitoring, and caps threads a local flood can start.
const MAX_CLIENTS: usize = 8;
/// Time for the whole request line to arrive, however it is split.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Time a reply may wait on a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Socket file mode: owner and group read/write (connecting needs write permission).
const SOCKET_MODE: u32 = 0o660;

/// A running control socket; dropping it removes the socket file (if it is still
/// the one this process created). The accept thread ends with the process.
pub struct ControlServer {
    path: PathBuf,
    identity: (u64, u64),
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Another instance may have replaced the file since; leave theirs alone.
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.identity {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Creates the socket (mode 0660, group `opts.group`) and starts serving it.
pub fn spawn(opts: ControlOptions, handler: Arc<dyn ControlHandler>) -> io::Result<ControlServer> {
    let path = opts.path.clone();
    let ctx = |e: io::Error, what: &str| {
        io::Error::new(
            e.kind(),
            format!("control_socket {}: {what}: {e}", path.display()),
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ctx(e, "cannot create its directory"))?;
    }
    remove_stale(&path)?;
    let listener = UnixListener::bind(&path).map_err(|e| ctx(e, "cannot listen"))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|e| ctx(e, "cannot set its mode"))?;
    let group = resolve_group(&path, &opts.group);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| ctx(e, "cannot stat"))?;
    let policy = Policy {
        own_uid: nix::unistd::geteuid().as_raw(),
        group,
    };
    let server = ControlServer {
        path: path.clone(),
        identity: (meta.dev(), meta.ino()),
    };
    std::thread::Builder::new()
        .name("carbon-control".into())
        .spawn(move || accept_loop(listener, policy, handler))
        .map_err(|e| ctx(e, "cannot start its thread"))?;
    Ok(server)
}

/// A socket file left by a carbond that died is removed; one that still answers
/// belongs to a running carbond, and starting a second one is refused.
fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "control_socket {}: exists and is not a socket; remove it or choose another path",
                path.display()
            ),
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "control_socket {}: another carbond is running (its control socket answers)",
                path.display()
            ),
        ));
    }
    std::fs::remove_file(path)
}

/// Gives the socket file to `control_group`; a missing group is not fatal (only root
/// and carbond's user may control then), and is said once in the log.
fn resolve_group(path: &Path, name: &str) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    let group = match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => g,
        Ok(None) => {
            log::warn!(
                "control_group `{name}` does not exist: only root and carbond's own user may use {}",
                path.display()
            );
            return None;
        }
        Err(e) => {
            log::warn!("control_group `{name}`: cannot look it up: {e}");
            return None;
        }
    };
    if let Err(e) = nix::unistd::chown(path, None, Some(group.gid)) {
        log::warn!(
            "control_socket {}: cannot give it to group `{name}`: {e}",
            path.display()
        );
    }
    Some(group.gid.as_raw())
}

fn accept_loop(listener: UnixListener, policy: Policy, handler: Arc<dyn ControlHandler>) {
    let active = Arc::new(AtomicUsize::new(0));
    let mut last_error: Option<Instant> = None;
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: say so at most once a second and back off.
                if last_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    log::warn!("control socket: accept failed: {e}");
                    last_error = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
            active.fetch_sub(1, Ordering::AcqRel);
            let mut s = stream;
            let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
            let msg = format!("too many control connections (at most {MAX_CLIENTS}); retry");
            let _ = s.write_all(Response::error(ErrorCode::Busy, msg).to_line().as_bytes());
            continue;
        }
        let handler = handler.clone();
        let guard = ActiveGuard(active.clone());
        let spawned = std::thread::Builder::new()
            .name("carbon-control-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve(stream, policy, handler.as_ref());
            });
        if let Err(e) = spawned {
            log::warn!("control socket: cannot start a connection thread: {e}");
        }
    }
}

/// Releases a connection slot however its thread ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn serve(mut stream: UnixStream, policy: Policy, handler: &dyn ControlHandler) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let peer = match auth::peer_of(&stream) {
        Ok(p) => p,
        Err(e) => {
            log::warn!("control: cannot read peer credentials: {e}");
            return;
        }
    };
    // The request is read (bounded) before anything is answered, refusals included:
    // closing a Unix socket with unread input makes the peer's read fail with
    // ECONNRESET, and the client would never see why it was refused.
    let line = read_line(&mut stream);
    let mut stop_after_reply = false;
    let response = if !policy.allows(&peer) {
        log::warn!(
            "control: refused pid {} uid {} gid {}: not root, carbond's user or in control_group",
            peer.pid,
            peer.uid,
            peer.gid
        );
        Response::error(
            ErrorCode::PermissionDenied,
            "permission denied: only root, carbond's user and members of control_group may control carbond",
        )
    } else {
        match line {
            Ok(line) => match parse_request(&line) {
                Ok(req) => {
                    log::debug!(
                        "control: {:?} from pid {} uid {}",
                        req.command,
                        peer.pid,
                        peer.uid
                    );
                    stop_after_reply = req.command == Command::Stop;
                    dispatch(req.command, handler)
                }
                Err(e) => Response::error(e.code, e.message),
            },
            Err(LineError::TooLarge) => Response::error(
                ErrorCode::TooLarge,
                format!("request longer than {MAX_REQUEST_LINE} bytes"),
            ),
            Err(LineError::Timeout) => Response::error(
                ErrorCode::Timeout,
                format!("no complete request line within {REQUEST_DEADLINE:?}"),
            ),
            Err(LineError::Empty) => return,
            Err(LineError::Io(e)) => {
                log::debug!("control: read failed: {e}");
                return;
            }
        }
    };
    let _ = stream.write_all(response.to_line().as_bytes());
    let _ = stream.flush();
    // The reply goes out first: once the workers have drained, the process exits,
    // and a reply still unwritten would be lost.
    if stop_after_reply {
        handler.stop();
    }
    drain(&mut stream);
}

/// After the reply: signal the end, then discard (bounded) whatever the client still
/// sends, so an oversized request does not turn the close into a reset that would
/// destroy the reply before the client reads it.
fn drain(stream: &mut UnixStream) {
    const DRAIN_BYTES: usize = 1024 * 1024;
    const DRAIN_TIME: Duration = Duration::from_secs(1);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(DRAIN_TIME));
    let deadline = Instant::now() + DRAIN_TIME;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < DRAIN_BYTES && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

fn dispatch(cmd: Command, handler: &dyn ControlHandler) -> Response {
    match cmd {
        Command::Status => Response::ok(Reply::Status(handler.status())),
        Command::Stats => Response::ok(Reply::Stats(handler.stats())),
        Command::Metrics => Response::ok(Reply::Metrics {
            text: handler.metrics(),
        }),
        Command::Reload => match handler.reload() {
            Ok(r) => Response::ok(Reply::Reload(r)),
            Err(ReloadRefused::Invalid(m)) => Response::error(ErrorCode::ReloadFailed, m),
            Err(ReloadRefused::Unavailable(m)) => Response::error(ErrorCode::Unavailable, m),
        },
        // The stop itself is started by `serve`, after this reply is written.
        Command::Stop => Response::ok(Reply::Done {
            message: "stopping gracefully".into(),
        }),
        Command::ReopenLogs => {
            handler.reopen_logs();
            Response::ok(Reply::Done {
                message: "log files reopened".into(),
            })
        }
    }
}

#[derive(Debug)]
enum LineError {
    TooLarge,
    Timeout,
    /// The client closed without sending anything.
    Empty,
    Io(io::Error),
}

/// Reads up to the first newline (or EOF), within [`REQUEST_DEADLINE`] in total and
/// at most `MAX_REQUEST_LINE` bytes.
fn read_line(stream: &mut UnixStream) -> Result<Vec<u8>, LineError> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut line = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LineError::Timeout);
        }
        stream.set_read_timeout(Some(left)).map_err(LineError::Io)?;
        match stream.read(&mut chunk) {
            Ok(0) if line.is_empty() => return Err(LineError::Empty),
            Ok(0) => return Ok(line),
            Ok(n) => {
                let data = &chunk[..n];
                if let Some(i) = data.iter().position(|&b| b == b'\n') {
                    line.extend_from_slice(&data[..i]);
                    return if line.len() >= MAX_REQUEST_LINE {
                        Err(LineError::TooLarge)
                    } else {
                        Ok(line)
                    };
                }
                line.extend_from_slice(data);
                if line.len() >= MAX_REQUEST_LINE {
                    return Err(LineError::TooLarge);
                }
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                return Err(LineError::Timeout)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LineError::Io(e)),
        }
    }
}
