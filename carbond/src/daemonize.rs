//! `--daemon`: detach from the terminal, for init systems that do not supervise.
//!
//! The classic double fork is done by re-executing carbond (no `fork` in a process
//! that may already have threads, and no unsafe code):
//!
//! 1. the command the operator ran (the *parent*) starts stage 1 with its standard
//!    output on a pipe, and relays whatever comes through it;
//! 2. stage 1 calls `setsid` (a new session, no controlling terminal) and starts
//!    stage 2, then exits: stage 2 is not a session leader, so it can never acquire
//!    a terminal again;
//! 3. stage 2 is the daemon. It moves to `/`, sets its umask, starts up with its
//!    standard error still on the operator's terminal (so start-up errors reach
//!    it), prints the listening addresses and a ready line on the pipe, and only
//!    then points its standard streams at `/dev/null`.
//!
//! The parent exits 0 once it has seen the ready line, non-zero when the pipe
//! closes without it (the daemon failed and said why on the terminal).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

/// Set in the environment of the re-executed stages.
const STAGE_VAR: &str = "CARBOND_DAEMON_STAGE";
/// The line stage 2 prints once it serves.
const READY_PREFIX: &str = "carbond: running in the background, pid ";
/// Files the daemon creates are not world-writable or world-readable by default.
const UMASK: u32 = 0o027;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not detaching, or the operator's own process before detaching.
    None,
    One,
    Two,
}

/// Which stage this process is, read once at start-up (and removed from the
/// environment, so nothing started later inherits it).
pub fn stage() -> Stage {
    let s = match std::env::var(STAGE_VAR).as_deref() {
        Ok("1") => Stage::One,
        Ok("2") => Stage::Two,
        _ => Stage::None,
    };
    std::env::remove_var(STAGE_VAR);
    s
}

fn reexec(stage: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1))
        .env(STAGE_VAR, stage)
        .stdin(Stdio::null());
    cmd
}

/// The operator's process: start stage 1 and wait for the daemon's ready line.
pub fn detach() -> ExitCode {
    let mut child = match reexec("1").stdout(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("carbond: cannot start the background process: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(out) = child.stdout.take() else {
        eprintln!("carbond: cannot read from the background process");
        return ExitCode::FAILURE;
    };
    let mut ready = false;
    let mut stdout = std::io::stdout();
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
        if line.starts_with(READY_PREFIX) {
            ready = true;
        }
    }
    let _ = child.wait();
    if ready {
        ExitCode::SUCCESS
    } else {
        eprintln!("carbond: the server did not start (see the messages above)");
        ExitCode::FAILURE
    }
}

/// Stage 1: new session, start stage 2 (inheriting the pipe and the terminal's
/// standard error), exit.
pub fn stage_one() -> ExitCode {
    if let Err(e) = nix::unistd::setsid() {
        eprintln!("carbond: setsid: {e}");
        return ExitCode::FAILURE;
    }
    match reexec("2").spawn() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carbond: cannot start the daemon process: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Stage 2, before loading anything: remember where we were started (relative
/// paths keep meaning that), then move to `/` so the daemon holds no directory
/// busy, and set the umask.
pub fn settle() -> Result<PathBuf, String> {
    let base =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(UMASK));
    Ok(base)
}

/// Stage 2, serving: tell the parent, then let go of the terminal and the pipe.
pub fn ready() {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{READY_PREFIX}{}", std::process::id());
    let _ = out.flush();
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        Ok(null) => {
            use std::os::fd::AsRawFd;
            for fd in 0..=2 {
                if let Err(e) = nix::unistd::dup2(null.as_raw_fd(), fd) {
                    log::warn!("cannot point fd {fd} at /dev/null: {e}");
                }
            }
        }
        Err(e) => log::warn!("cannot open /dev/null: {e}"),
    }
}
