//! One request, one response over the control socket, with every failure mapped to
//! a message an operator can act on and an exit code.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use carbon_control::{Command, ErrorCode, Reply, Request, Response, MAX_RESPONSE_LINE};

use crate::exit;

/// How long a reply may take. A reload validates the whole configuration (TLS
/// material included) before answering, so it gets longer.
fn reply_timeout(cmd: Command) -> Duration {
    match cmd {
        Command::Reload => Duration::from_secs(120),
        _ => Duration::from_secs(10),
    }
}

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub fn call(socket: &Path, cmd: Command) -> Result<Reply, Failure> {
    let mut stream = connect(socket)?;
    let io_fail = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            Failure::new(
                exit::NO_ANSWER,
                format!("carbond did not answer within {:?}", reply_timeout(cmd)),
            )
        } else {
            Failure::new(
                exit::NO_ANSWER,
                format!("control socket {}: {e}", socket.display()),
            )
        }
    };
    stream
        .set_read_timeout(Some(reply_timeout(cmd)))
        .map_err(io_fail)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(io_fail)?;
    stream
        .write_all(Request::new(cmd).to_line().as_bytes())
        .map_err(io_fail)?;
    let mut buf = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE_LINE as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io_fail)?;
    if buf.len() > MAX_RESPONSE_LINE {
        return Err(Failure::new(
            exit::NO_ANSWER,
            format!("reply longer than {MAX_RESPONSE_LINE} bytes"),
        ));
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    if line.is_empty() {
        return Err(Failure::new(
            exit::NO_ANSWER,
            "carbond closed the control connection without answering",
        ));
    }
    let resp: Response = serde_json::from_slice(line).map_err(|e| {
        Failure::new(
            exit::NO_ANSWER,
            format!("carbond's reply is not valid protocol JSON: {e}"),
        )
    })?;
    match (resp.ok, resp.result, resp.error) {
        (true, Some(reply), _) => Ok(reply),
        (_, _, Some(err)) => Err(server_error(socket, err.code, err.message)),
        _ => Err(Failure::new(
            exit::NO_ANSWER,
            "carbond's reply has neither a result nor an error",
        )),
    }
}

fn server_error(socket: &Path, code: ErrorCode, message: String) -> Failure {
    match code {
        ErrorCode::PermissionDenied => permission_denied(socket),
        ErrorCode::ReloadFailed => Failure::new(
            exit::FAILED,
            format!("reload refused; carbond keeps serving with the old configuration:\n{message}"),
        ),
        ErrorCode::Busy | ErrorCode::Timeout => Failure::new(exit::NO_ANSWER, message),
        _ => Failure::new(
            exit::FAILED,
            format!("carbond: {message} ({})", code.as_str()),
        ),
    }
}

fn connect(socket: &Path) -> Result<UnixStream, Failure> {
    match UnixStream::connect(socket) {
        Ok(s) => Ok(s),
        Err(e) => Err(match e.kind() {
            io::ErrorKind::NotFound => Failure::new(
                exit::NOT_RUNNING,
                format!("carbond is not running (no socket at {})", socket.display()),
            ),
            io::ErrorKind::ConnectionRefused => Failure::new(
                exit::NOT_RUNNING,
                format!(
                    "carbond is not running (nothing listens on {}; a stale socket?)",
                    socket.display()
                ),
            ),
            io::ErrorKind::PermissionDenied => permission_denied(socket),
            _ => Failure::new(
                exit::NOT_RUNNING,
                format!("cannot connect to {}: {e}", socket.display()),
            ),
        }),
    }
}

/// Names the socket's group, which is the one to join.
fn permission_denied(socket: &Path) -> Failure {
    let group = std::fs::metadata(socket)
        .ok()
        .and_then(|m| nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(m.gid())).ok())
        .flatten()
        .map(|g| g.name)
        .filter(|n| n != "root")
        .unwrap_or_else(|| "carbon".to_owned());
    Failure::new(
        exit::PERMISSION,
        format!(
            "permission denied on {} (add yourself to group {group}, or run as root)",
            socket.display()
        ),
    )
}

/// `--socket`, else `control_socket` of `--config`, else the default.
pub fn socket_path(socket: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(s) = socket {
        return Ok(s);
    }
    if let Some(file) = config {
        let cfg = carbon_core::config::Config::load(file).map_err(|e| {
            Failure::new(
                exit::FAILED,
                format!("cannot read control_socket from {}:\n{e}", file.display()),
            )
        })?;
        return cfg.control_socket.ok_or_else(|| {
            Failure::new(
                exit::NOT_RUNNING,
                format!(
                    "{}: control_socket is empty (no control socket)",
                    file.display()
                ),
            )
        });
    }
    Ok(PathBuf::from(carbon_control::DEFAULT_SOCKET))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;

    /// A one-shot server that answers any request line with `reply`.
    fn answer_once(reply: Response) -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join("c.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut line = String::new();
            std::io::BufReader::new(&s).read_line(&mut line).unwrap();
            (&s).write_all(reply.to_line().as_bytes()).unwrap();
        });
        (dir, path)
    }

    /// A private directory under the system temp dir, removed on drop.
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "carbonctl-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn refused_reload_shows_the_config_line_and_exits_1() {
        let why = "/etc/carbon/carbon.conf:12: key `port`: `x` is not a whole number";
        let (_dir, path) = answer_once(Response::error(ErrorCode::ReloadFailed, why));
        let f = call(&path, Command::Reload).unwrap_err();
        assert_eq!(f.code, exit::FAILED);
        assert!(f.message.contains(why), "{}", f.message);
        assert!(f.message.contains("old configuration"), "{}", f.message);
    }

    #[test]
    fn permission_refusal_from_carbond_exits_4() {
        let (_dir, path) = answer_once(Response::error(ErrorCode::PermissionDenied, "no"));
        let f = call(&path, Command::Stats).unwrap_err();
        assert_eq!(f.code, exit::PERMISSION);
        assert!(f.message.contains("add yourself to group"), "{}", f.message);
    }

    #[test]
    fn garbage_reply_is_a_protocol_error_exit_5() {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join("c.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        });
        let f = call(&path, Command::Status).unwrap_err();
        assert_eq!(f.code, exit::NO_ANSWER);
    }
}
