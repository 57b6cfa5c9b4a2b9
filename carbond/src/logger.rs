//! The error log: a file, standard error or syslog (`log_target`), at the verbosity
//! of `log_mode`.
//!
//! `log_mode` levels: `off` logs nothing; `classic` logs start-up, stop, reloads,
//! warnings and errors (info and above); `debug` adds per-connection events such as
//! a client's failed TLS handshake (each line names the client address); `advanced`
//! adds trace lines from the libraries (rustls) for deep troubleshooting.
//!
//! It is low-volume, so lines are written synchronously under a lock; the
//! high-volume access log has its own buffered writer in the driver. A line that
//! cannot be written is counted ([`write_errors`]) and, when the destination was a
//! file or syslog, written to standard error instead, so it is never silently lost.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_core::config::{Config, LogMode, LogTarget};
use carbon_core::driver::access_log::LineSink;
use log::{Level, LevelFilter, Log, Metadata, Record};

type Syslog = syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>;

enum Sink {
    /// `journal`: standard error is the journal's stream (`JOURNAL_STREAM`), so
    /// lines carry `<N>` priority prefixes (sd-daemon(3)) and no timestamp.
    Stderr {
        journal: bool,
    },
    File(File),
    Syslog(Box<Syslog>),
}

struct Logger {
    sink: Mutex<Sink>,
    path: Option<PathBuf>,
    level: LevelFilter,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static WRITE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Error-log lines that could not be written to their destination so far.
pub fn write_errors() -> u64 {
    WRITE_ERRORS.load(Ordering::Relaxed)
}

pub fn level_for(mode: LogMode) -> LevelFilter {
    match mode {
        LogMode::Off => LevelFilter::Off,
        LogMode::Classic => LevelFilter::Info,
        LogMode::Debug => LevelFilter::Debug,
        LogMode::Advanced => LevelFilter::Trace,
    }
}

/// Install the process-wide logger. Called once, after the configuration is known.
pub fn install(cfg: &Config) -> io::Result<()> {
    let (sink, path) = match (cfg.log_target, cfg.log_file.as_deref()) {
        (LogTarget::Syslog, _) => (
            Sink::Syslog(Box::new(open_syslog(cfg).map_err(|e| {
                io::Error::other(format!("log_target = syslog: {e}"))
            })?)),
            None,
        ),
        (LogTarget::File, Some(p)) => (Sink::File(open(p)?), Some(p.to_path_buf())),
        (LogTarget::File, None) | (LogTarget::Stderr, _) => (
            Sink::Stderr {
                journal: stderr_is_journal(),
            },
            None,
        ),
    };
    let level = level_for(cfg.log_mode);
    let logger = LOGGER.get_or_init(|| Logger {
        sink: Mutex::new(sink),
        path,
        level,
    });
    log::set_logger(logger).map_err(io::Error::other)?;
    log::set_max_level(level);
    Ok(())
}

fn open_syslog(cfg: &Config) -> io::Result<Syslog> {
    open_syslog_at(cfg, None)
}

/// `at`: a socket path instead of the system's (`/dev/log`), for tests.
fn open_syslog_at(cfg: &Config, at: Option<&Path>) -> io::Result<Syslog> {
    use syslog::Facility::*;
    let facility = match cfg.syslog_facility.as_str() {
        "user" => LOG_USER,
        "local0" => LOG_LOCAL0,
        "local1" => LOG_LOCAL1,
        "local2" => LOG_LOCAL2,
        "local3" => LOG_LOCAL3,
        "local4" => LOG_LOCAL4,
        "local5" => LOG_LOCAL5,
        "local6" => LOG_LOCAL6,
        "local7" => LOG_LOCAL7,
        _ => LOG_DAEMON,
    };
    let formatter = syslog::Formatter3164 {
        facility,
        hostname: None,
        process: "carbond".into(),
        pid: std::process::id(),
    };
    match at {
        None => syslog::unix(formatter),
        Some(p) => syslog::unix_custom(formatter, p),
    }
    .map_err(|e| io::Error::other(format!("cannot reach syslog: {e}")))
}

/// `access_log = syslog`: each access-log line becomes one syslog message (info
/// severity, `syslog_facility`), tagged `carbond`.
pub fn access_log_syslog(cfg: &Config) -> io::Result<Box<dyn LineSink>> {
    Ok(Box::new(SyslogLines(open_syslog(cfg)?)))
}

struct SyslogLines(Syslog);

impl LineSink for SyslogLines {
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
        let mut result = Ok(());
        for line in batch.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // Keep going after a failed line: the others may still get through; the
            // error is reported (and counted) once for the batch.
            if let Err(e) = self.0.info(String::from_utf8_lossy(line)) {
                result = Err(io::Error::other(e.to_string()));
            }
        }
        result
    }

    fn describe(&self) -> String {
        "syslog".into()
    }
}

/// systemd sets `JOURNAL_STREAM=dev:inode` for the stream it connected; it is the
/// journal only if our standard error is still that very file.
fn stderr_is_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(2) else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(st.st_dev) && ino.parse::<u64>().ok() == Some(st.st_ino)
}

fn open(p: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| io::Error::new(e.kind(), format!("log_file {}: {e}", p.display())))
}

/// Reopen the error log by name (after log rotation moved it away). On failure the
/// old file is kept, the error is logged there and false is returned.
pub fn reopen() -> bool {
    let Some(logger) = LOGGER.get() else {
        return true;
    };
    let Some(path) = &logger.path else {
        return true;
    };
    match open(path) {
        Ok(f) => {
            let mut sink = match logger.sink.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            *sink = Sink::File(f);
            true
        }
        Err(e) => {
            log::error!("cannot reopen the error log, still writing to the old file: {e}");
            false
        }
    }
}

/// rustls logs a peer's misbehaviour (an IP address as SNI, a renegotiation attempt)
/// at warn level; any client could fill the error log with those, so they count as
/// debug lines here.
fn effective_level(m: &Metadata) -> Level {
    if m.target().starts_with("rustls") && m.level() < Level::Debug {
        Level::Debug
    } else {
        m.level()
    }
}

/// mio's trace lines (registrations, with internal tokens such as
/// `Token(18446744073709551614)`) mean nothing to an operator, even in `advanced`.
fn is_internal(m: &Metadata) -> bool {
    m.target().starts_with("mio") && m.level() > Level::Warn
}

/// The `<N>` prefix of sd-daemon(3): syslog severities.
fn journal_priority(l: Level) -> u8 {
    match l {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        effective_level(m) <= self.level && !is_internal(m)
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let lvl = effective_level(r.metadata());
        let level = match lvl {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let mut sink = match self.sink.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // Per-connection lines name the client (the engines that log them do not
        // know it; the driver records whose connection is being handled).
        let mut msg = r.args().to_string();
        if let Some(peer) = carbon_core::driver::current_peer() {
            let peer = peer.to_string();
            if lvl >= Level::Debug && !msg.contains(&peer) {
                msg = format!("client {peer}: {msg}");
            }
        }
        let line = format!("{} [{level}] {msg}\n", rfc3339_now());
        let result = match &mut *sink {
            Sink::Stderr { journal: true } => {
                io::stderr().write_all(format!("<{}>{msg}\n", journal_priority(lvl)).as_bytes())
            }
            Sink::Stderr { journal: false } => io::stderr().write_all(line.as_bytes()),
            Sink::File(f) => f.write_all(line.as_bytes()),
            Sink::Syslog(s) => {
                let msg = msg.clone();
                match lvl {
                    Level::Error => s.err(msg),
                    Level::Warn => s.warning(msg),
                    Level::Info => s.info(msg),
                    Level::Debug | Level::Trace => s.debug(msg),
                }
                .map_err(io::Error::other)
            }
        };
        if result.is_err() {
            // Counted, and not lost: standard error is the last resort.
            let n = WRITE_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
            if !matches!(&*sink, Sink::Stderr { .. }) {
                let _ = io::stderr().write_all(
                    format!("{line}(error log write failed; {n} failed so far)\n").as_bytes(),
                );
            }
        }
    }

    fn flush(&self) {
        if let Ok(mut s) = self.sink.lock() {
            if let Sink::File(f) = &mut *s {
                let _ = f.flush();
            }
        }
    }
}

/// `2026-11-24T04:38:53Z`: UTC, so lines sort and compare across machines.
fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_log_lines_become_one_syslog_message_each_with_the_facility() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let cfg = Config::from_text("syslog_facility = local3\n").unwrap();
        let mut sink = SyslogLines(open_syslog_at(&cfg, Some(&path)).unwrap());
        sink.write_batch(b"first line\nsecond line\n").unwrap();
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        for _ in 0..2 {
            let n = rx.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        // local3 = 19, info = 6: PRI 19 * 8 + 6 = 158 (RFC 5424 section 6.2.1).
        assert!(got[0].starts_with("<158>"), "{got:?}");
        assert!(got[0].contains("carbond["), "{got:?}");
        assert!(got[0].ends_with("first line"), "{got:?}");
        assert!(got[1].ends_with("second line"), "{got:?}");
    }

    #[test]
    fn journal_priorities_follow_syslog_severities() {
        assert_eq!(journal_priority(Level::Error), 3);
        assert_eq!(journal_priority(Level::Warn), 4);
        assert_eq!(journal_priority(Level::Info), 6);
        assert_eq!(journal_priority(Level::Debug), 7);
    }

    #[test]
    fn rfc3339_utc_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(784_887_151), "1994-11-15T08:12:31Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
