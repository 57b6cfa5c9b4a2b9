//! The error log: standard error or a file, at the verbosity of `log_mode`.
//!
//! It is low-volume (start-up, warnings, errors), so lines are written synchronously
//! under a lock; the high-volume access log has its own buffered writer in the driver.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_core::config::LogMode;
use log::{Level, LevelFilter, Log, Metadata, Record};

enum Sink {
    Stderr,
    File(File),
}

struct Logger {
    sink: Mutex<Sink>,
    path: Option<PathBuf>,
    level: LevelFilter,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

pub fn level_for(mode: LogMode) -> LevelFilter {
    match mode {
        LogMode::Off => LevelFilter::Off,
        LogMode::Classic => LevelFilter::Info,
        LogMode::Debug => LevelFilter::Debug,
        LogMode::Advanced => LevelFilter::Trace,
    }
}

/// Install the process-wide logger. Called once, after the configuration is known.
pub fn install(mode: LogMode, file: Option<&Path>) -> io::Result<()> {
    let sink = match file {
        Some(p) => Sink::File(open(p)?),
        None => Sink::Stderr,
    };
    let level = level_for(mode);
    let logger = LOGGER.get_or_init(|| Logger {
        sink: Mutex::new(sink),
        path: file.map(Path::to_path_buf),
        level,
    });
    log::set_logger(logger).map_err(io::Error::other)?;
    log::set_max_level(level);
    Ok(())
}

fn open(p: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| io::Error::new(e.kind(), format!("log_file {}: {e}", p.display())))
}

/// Reopen the error log by name (after log rotation moved it away). On failure the
/// old file is kept and the error is logged there.
pub fn reopen() {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    let Some(path) = &logger.path else {
        return;
    };
    match open(path) {
        Ok(f) => {
            let mut sink = match logger.sink.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            *sink = Sink::File(f);
        }
        Err(e) => log::error!("cannot reopen the error log: {e}"),
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

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        effective_level(m) <= self.level
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let level = match effective_level(r.metadata()) {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let line = format!("{} [{level}] {}\n", rfc3339_now(), r.args());
        let mut sink = match self.sink.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // A failing log write has nowhere better to go; never let it stop serving.
        let _ = match &mut *sink {
            Sink::Stderr => io::stderr().write_all(line.as_bytes()),
            Sink::File(f) => f.write_all(line.as_bytes()),
        };
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
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_utc_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(784_887_151), "1994-11-15T08:12:31Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
