//! The access log in the combined log format.
//!
//! Workers never write to disk: each formats lines into its own buffer and hands full
//! buffers (or, once a second, whatever it has) to one writer thread over a bounded
//! channel. If the disk cannot keep up and the channel is full, the batch is dropped
//! and counted rather than stalling a worker (a slow disk must not slow the server).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Flush a worker's buffer once it holds this much.
const BATCH_BYTES: usize = 32 * 1024;
/// Batches in flight to the writer thread (so at most ~2 MiB queued).
const QUEUE_BATCHES: usize = 64;

/// What the writer thread is asked to do.
enum Msg {
    Batch(Vec<u8>),
    /// Reopen the file by name (after log rotation moved it away).
    Reopen,
    /// Flush and stop: sent by `close`, after every worker's last batch. (Waiting for
    /// the channel to disconnect would hang while a `Reopener` is still held.)
    Close,
}

/// The writer side, owned by the driver.
pub struct AccessLog {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    /// Writes (and reopens) that failed, for the statistics.
    errors: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl AccessLog {
    /// Open (append) `path` and start the writer thread.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let file = open_append(path)?;
        let (tx, rx) = sync_channel(QUEUE_BATCHES);
        let path = path.to_path_buf();
        let errors = Arc::new(AtomicU64::new(0));
        let writer_errors = errors.clone();
        let thread = std::thread::Builder::new()
            .name("carbon-access-log".into())
            .spawn(move || writer_loop(file, &path, rx, &writer_errors))?;
        Ok(AccessLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            errors,
            thread: Some(thread),
        })
    }

    /// A per-worker buffer feeding this log.
    pub fn worker_sink(&self) -> LogSink {
        LogSink {
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
            buf: Vec::new(),
            last_flush: None,
        }
    }

    /// A handle that asks the writer to reopen the file (SIGHUP after rotation).
    pub fn reopener(&self) -> Reopener {
        Reopener {
            tx: self.tx.clone(),
        }
    }

    pub fn dropped_batches(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The counters of lost log output: batches dropped because the writer fell
    /// behind, and failed writes or reopens. Summed into `log_write_errors`.
    pub fn loss_counters(&self) -> [Arc<AtomicU64>; 2] {
        [self.dropped.clone(), self.errors.clone()]
    }

    /// Wait for every queued line to reach the file. Workers must have dropped their
    /// sinks (which flushes them) before this returns.
    pub fn close(mut self) {
        let _ = self.tx.send(Msg::Close);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asks the access-log writer to reopen its file; cheap to clone.
#[derive(Clone)]
pub struct Reopener {
    tx: SyncSender<Msg>,
}

impl Reopener {
    /// Queue a reopen behind the batches already sent, so no line goes to the wrong
    /// file. Never blocks (the caller is the signal thread, which must stay free to
    /// handle SIGTERM even if the disk hangs): returns false when the queue is full.
    pub fn reopen(&self) -> bool {
        self.tx.try_send(Msg::Reopen).is_ok()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn writer_loop(mut file: File, path: &Path, rx: Receiver<Msg>, errors: &AtomicU64) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Batch(batch) => {
                if let Err(e) = file.write_all(&batch) {
                    errors.fetch_add(1, Ordering::Relaxed);
                    log::error!("access log {}: write failed: {e}", path.display());
                }
            }
            // On failure keep writing to the old file: losing lines is worse.
            Msg::Reopen => match open_append(path) {
                Ok(f) => file = f,
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    log::error!("access log {}: cannot reopen: {e}", path.display());
                }
            },
            Msg::Close => break,
        }
    }
    let _ = file.flush();
}

/// One worker's buffer.
pub struct LogSink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    buf: Vec<u8>,
    last_flush: Option<Instant>,
}

/// What one combined-format line needs.
pub struct Entry<'a> {
    pub peer: std::net::IpAddr,
    pub time_clf: &'a str,
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

impl LogSink {
    pub fn record(&mut self, e: &Entry<'_>, now: Instant) {
        let mut line = String::with_capacity(160);
        let _ = write!(line, "{} - - [{}] \"", e.peer, e.time_clf);
        escape_into(&mut line, e.method.as_bytes());
        line.push(' ');
        escape_into(&mut line, e.target.as_bytes());
        line.push(' ');
        line.push_str(e.version);
        let _ = write!(line, "\" {} {} \"", e.status, e.bytes);
        escape_into(&mut line, e.referer.unwrap_or(b"-"));
        line.push_str("\" \"");
        escape_into(&mut line, e.user_agent.unwrap_or(b"-"));
        line.push_str("\"\n");
        self.buf.extend_from_slice(line.as_bytes());
        if self.buf.len() >= BATCH_BYTES {
            self.flush(now);
        } else if self.last_flush.is_none() {
            self.last_flush = Some(now);
        }
    }

    /// Hand the buffer to the writer thread if it is older than a second.
    pub fn tick(&mut self, now: Instant) {
        if let Some(t) = self.last_flush {
            if now.saturating_duration_since(t).as_secs() >= 1 {
                self.flush(now);
            }
        }
    }

    /// When the next time-based flush is due, for the worker's poll timeout.
    pub fn deadline(&self) -> Option<Instant> {
        if self.buf.is_empty() {
            return None;
        }
        self.last_flush
            .map(|t| t + std::time::Duration::from_secs(1))
    }

    pub fn flush(&mut self, now: Instant) {
        self.last_flush = None;
        if self.buf.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buf);
        match self.tx.try_send(Msg::Batch(batch)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = now;
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let batch = std::mem::take(&mut self.buf);
            // At shutdown, block: losing the last lines would be data loss.
            let _ = self.tx.send(Msg::Batch(batch));
        }
    }
}

/// Peer-controlled text (target, Referer, User-Agent) must not forge log lines or
/// break the quoting: escape `"`, `\`, control bytes and non-ASCII as `\xHH`.
fn escape_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_after_rotation_writes_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let rotated = dir.path().join("access.log.1");
        let log = AccessLog::open(&path).unwrap();
        let mut sink = log.worker_sink();
        let now = Instant::now();
        let entry = |target| Entry {
            peer: "127.0.0.1".parse().unwrap(),
            time_clf: "15/Nov/1994:08:12:31 +0000",
            method: "GET",
            target,
            version: "HTTP/1.1",
            status: 200,
            bytes: 1,
            referer: None,
            user_agent: None,
        };
        sink.record(&entry("/before"), now);
        sink.flush(now);
        // logrotate's `create` mode: move the file away, then signal.
        std::fs::rename(&path, &rotated).unwrap();
        let reopener = log.reopener();
        reopener.reopen();
        sink.record(&entry("/after"), now);
        drop(sink);
        // A reopener still held (as the server's handle holds one) must not keep
        // `close` from returning.
        log.close();
        drop(reopener);
        let old = std::fs::read_to_string(&rotated).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(old.contains("/before") && !old.contains("/after"), "{old}");
        assert!(new.contains("/after") && !new.contains("/before"), "{new}");
    }

    #[test]
    fn combined_format_line_escapes_peer_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&path).unwrap();
        let mut sink = log.worker_sink();
        let now = Instant::now();
        sink.record(
            &Entry {
                peer: "127.0.0.1".parse().unwrap(),
                time_clf: "15/Nov/1994:08:12:31 +0000",
                method: "GET",
                target: "/a\"b",
                version: "HTTP/1.1",
                status: 200,
                bytes: 12,
                referer: None,
                user_agent: Some(b"ua\n\"x"),
            },
            now,
        );
        drop(sink);
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(
            text,
            "127.0.0.1 - - [15/Nov/1994:08:12:31 +0000] \"GET /a\\\"b HTTP/1.1\" 200 12 \"-\" \"ua\\x0A\\\"x\"\n"
        );
    }
}
