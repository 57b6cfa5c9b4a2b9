//! The access log in the combined log format.
//!
//! Workers never write to disk: each formats lines into its own buffer and hands full
//! buffers (or, once a second, whatever it has) to one writer thread over a bounded
//! channel. If the disk cannot keep up and the channel is full, the batch is dropped
//! and counted rather than stalling a worker (a slow disk must not slow the server).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::stats::WorkerCounters;

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
    /// Failed writes and reopens (each also logged to the error log).
    errors: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Where the writer thread puts the lines: a file by default; an embedding program
/// may supply another (carbond's syslog sink).
pub trait LineSink: Send {
    /// Write one batch of complete lines (each ends in `\n`).
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()>;
    /// Reopen by name after log rotation; a sink without a name does nothing.
    fn reopen(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) {}
    /// For messages: the path, or what the sink is.
    fn describe(&self) -> String;
}

/// The access-log value that means "not a file: the program supplies a sink".
pub const SYSLOG: &str = "syslog";

/// The default sink: a file opened for appending, reopened by name.
struct FileSink {
    file: File,
    path: PathBuf,
}

impl LineSink for FileSink {
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
        self.file.write_all(batch)
    }

    // On failure keep writing to the old file: losing lines is worse.
    fn reopen(&mut self) -> io::Result<()> {
        self.file = open_append(&self.path)?;
        Ok(())
    }

    fn flush(&mut self) {
        let _ = self.file.flush();
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

impl AccessLog {
    /// Open (append) `path` and start the writer thread.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let file = open_append(path)?;
        AccessLog::with_sink(Box::new(FileSink {
            file,
            path: path.to_path_buf(),
        }))
    }

    /// Start the writer thread on `sink`.
    pub fn with_sink(sink: Box<dyn LineSink>) -> io::Result<AccessLog> {
        let (tx, rx) = sync_channel(QUEUE_BATCHES);
        let errors = Arc::new(AtomicU64::new(0));
        let counted = errors.clone();
        let thread = std::thread::Builder::new()
            .name("carbon-access-log".into())
            .spawn(move || writer_loop(sink, rx, &counted))?;
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
            last_tick: None,
        }
    }

    /// A handle that asks the writer to reopen the file (SIGHUP after rotation).
    pub fn reopener(&self) -> Reopener {
        Reopener {
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
            errors: self.errors.clone(),
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
    dropped: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
}

impl Reopener {
    /// Queue a reopen behind the batches already sent, so no line goes to the wrong
    /// file. Never blocks (the caller is the signal thread, which must stay free to
    /// handle SIGTERM even if the disk hangs): returns false when the queue is full.
    pub fn reopen(&self) -> bool {
        self.tx.try_send(Msg::Reopen).is_ok()
    }

    /// Lines lost so far: batches dropped on a full queue plus failed writes. Each
    /// failed write is also in the error log.
    pub fn losses(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn writer_loop(mut sink: Box<dyn LineSink>, rx: Receiver<Msg>, errors: &AtomicU64) {
    let name = sink.describe();
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Batch(batch) => {
                if let Err(e) = sink.write_batch(&batch) {
                    let n = errors.fetch_add(1, Ordering::Relaxed) + 1;
                    log::error!("access log {name}: write failed ({n} failed writes so far): {e}");
                }
            }
            Msg::Reopen => match sink.reopen() {
                Ok(()) => log::info!("access log {name}: reopened"),
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    log::error!(
                        "access log {name}: cannot reopen, still writing to the old file: {e}"
                    )
                }
            },
            Msg::Close => break,
        }
    }
    sink.flush();
}

/// One worker's buffer.
pub struct LogSink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    buf: Vec<u8>,
    last_flush: Option<Instant>,
    /// The time of the worker's last loop turn (from `tick`), for lines written where
    /// no `now` is at hand (a connection being closed).
    pub(super) last_tick: Option<Instant>,
}

/// The `"%r"` field of a line.
pub enum RequestLine<'a> {
    /// A parsed request.
    Parts {
        method: &'a str,
        target: &'a str,
        version: &'a str,
    },
    /// A rejected request: its line as read, if any of it arrived (`"-"` otherwise).
    Raw(Option<&'a [u8]>),
}

/// What one combined-format line needs.
pub struct Entry<'a> {
    pub peer: std::net::IpAddr,
    pub time_clf: &'a str,
    pub request: RequestLine<'a>,
    pub status: u16,
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

impl Entry<'_> {
    /// The line without its size field: `(text, at)`, the size goes at byte `at`.
    /// The size is only known once the response is sent or cut off.
    pub fn format_without_size(&self) -> (String, usize) {
        let e = self;
        let mut line = String::with_capacity(160);
        let _ = write!(line, "{} - - [{}] \"", e.peer, e.time_clf);
        match e.request {
            RequestLine::Parts {
                method,
                target,
                version,
            } => {
                escape_into(&mut line, method.as_bytes());
                line.push(' ');
                escape_into(&mut line, target.as_bytes());
                line.push(' ');
                line.push_str(version);
            }
            RequestLine::Raw(raw) => escape_into(&mut line, raw.unwrap_or(b"-")),
        }
        let _ = write!(line, "\" {} ", e.status);
        let at = line.len();
        line.push_str(" \"");
        escape_into(&mut line, e.referer.unwrap_or(b"-"));
        line.push_str("\" \"");
        escape_into(&mut line, e.user_agent.unwrap_or(b"-"));
        line.push_str("\"\n");
        (line, at)
    }
}

impl LogSink {
    pub fn record(&mut self, e: &Entry<'_>, now: Instant) {
        let (line, at) = e.format_without_size();
        self.record_sized(&line, at, e.bytes, now);
    }

    /// Writes a line from [`Entry::format_without_size`] with its size filled in.
    pub fn record_sized(&mut self, line: &str, at: usize, bytes: u64, now: Instant) {
        let (head, tail) = line.split_at(at.min(line.len()));
        self.buf.extend_from_slice(head.as_bytes());
        self.buf.extend_from_slice(bytes.to_string().as_bytes());
        self.buf.extend_from_slice(tail.as_bytes());
        if self.buf.len() >= BATCH_BYTES {
            self.flush(now);
        } else if self.last_flush.is_none() {
            self.last_flush = Some(now);
        }
    }

    /// Hand the buffer to the writer thread if it is older than a second.
    pub fn tick(&mut self, now: Instant) {
        self.last_tick = Some(now);
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

/// The access-log lines of one connection's responses that are still being sent.
///
/// nginx's `$body_bytes_sent`: a line is written when its response has left
/// completely, with the full body size, or when the connection closes first, with
/// the body bytes that did leave (so a 2 GiB download cut after 16 MB logs 16 MB).
/// Positions count the bytes taken from the engine's output queue since the
/// connection opened: on plain TCP what the kernel accepted, over TLS what rustls
/// accepted for encryption (at most its 64 KiB buffer ahead of the socket). The
/// statistics (`bytes_sent_body`) count the same number, whether or not an access
/// log is configured. Bounded: one entry per queued response, and the engine stops
/// reading pipelined requests while responses are pending.
#[derive(Debug, Default)]
pub(crate) struct PendingLines {
    sent: u64,
    lines: VecDeque<PendingLine>,
}

#[derive(Debug)]
struct PendingLine {
    /// `None` when no access log is configured: only the statistics need the entry.
    text: Option<(String, usize)>,
    /// Where the body starts and how long it is, in `sent` positions.
    body_start: u64,
    body_len: u64,
}

impl PendingLines {
    /// `n` more bytes were taken from the output queue.
    pub fn note_sent(&mut self, n: u64) {
        self.sent += n;
    }

    /// A response was just queued: it ends `queued` bytes after what has been sent
    /// (the output queue's length), and its last `body_len` bytes are the body.
    pub fn push(&mut self, text: Option<(String, usize)>, queued: u64, body_len: u64) {
        let end = self.sent + queued;
        let body_len = body_len.min(queued);
        self.lines.push_back(PendingLine {
            text,
            body_start: end - body_len,
            body_len,
        });
    }

    /// Writes the lines of the responses sent completely.
    pub fn complete(
        &mut self,
        mut log: Option<&mut LogSink>,
        stats: &WorkerCounters,
        now: Instant,
    ) {
        while self
            .lines
            .front()
            .is_some_and(|l| self.sent >= l.body_start + l.body_len)
        {
            if let Some(l) = self.lines.pop_front() {
                let n = l.body_len;
                Self::write(l, n, log.as_deref_mut(), stats, Some(now));
            }
        }
        if self.lines.is_empty() && self.lines.capacity() > 0 {
            // An idle keep-alive connection holds no heap memory.
            self.lines = VecDeque::new();
        }
    }

    /// The connection closes: every line left is written with what was sent of it.
    pub fn abort(&mut self, mut log: Option<&mut LogSink>, stats: &WorkerCounters) {
        let sent = self.sent;
        for l in std::mem::take(&mut self.lines) {
            let n = sent.saturating_sub(l.body_start).min(l.body_len);
            Self::write(l, n, log.as_deref_mut(), stats, None);
        }
    }

    fn write(
        l: PendingLine,
        body_sent: u64,
        log: Option<&mut LogSink>,
        stats: &WorkerCounters,
        now: Option<Instant>,
    ) {
        WorkerCounters::add(&stats.bytes_sent_body, body_sent);
        if let (Some(log), Some((text, at))) = (log, l.text) {
            // Before the first loop turn no line can be pending; a fresh Instant is
            // only a fallback for the flush timer, not a timestamp in the line.
            let now = now.or(log.last_tick).unwrap_or_else(Instant::now);
            log.record_sized(&text, at, body_sent, now);
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

    /// A GET line of the combined format for `target`, the same in every test.
    fn get_entry(target: &str, bytes: u64) -> Entry<'_> {
        Entry {
            peer: "127.0.0.1".parse().unwrap(),
            time_clf: "15/Nov/1994:08:12:31 +0000",
            request: RequestLine::Parts {
                method: "GET",
                target,
                version: "HTTP/1.1",
            },
            status: 200,
            bytes,
            referer: None,
            user_agent: None,
        }
    }

    #[test]
    fn reopen_after_rotation_writes_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let rotated = dir.path().join("access.log.1");
        let log = AccessLog::open(&path).unwrap();
        let mut sink = log.worker_sink();
        let now = Instant::now();
        let entry = |target| get_entry(target, 1);
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
                request: RequestLine::Parts {
                    method: "GET",
                    target: "/a\"b",
                    version: "HTTP/1.1",
                },
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

    #[test]
    fn rejected_request_line_is_logged_escaped_or_as_a_dash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&path).unwrap();
        let mut sink = log.worker_sink();
        let now = Instant::now();
        for raw in [Some(&b"GET /a\x01b\xff HTTP/1.1"[..]), None] {
            sink.record(
                &Entry {
                    peer: "127.0.0.1".parse().unwrap(),
                    time_clf: "15/Nov/1994:08:12:31 +0000",
                    request: RequestLine::Raw(raw),
                    status: 400,
                    bytes: 3,
                    referer: None,
                    user_agent: Some(b"curl/8"),
                },
                now,
            );
        }
        drop(sink);
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "127.0.0.1 - - [15/Nov/1994:08:12:31 +0000] \"GET /a\\x01b\\xFF HTTP/1.1\" 400 3 \"-\" \"curl/8\""
        );
        assert!(lines[1].contains("] \"-\" 400 3 "), "{}", lines[1]);
    }

    #[test]
    fn body_bytes_sent_is_what_left_when_the_connection_closes_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&path).unwrap();
        let mut sink = log.worker_sink();
        let stats = WorkerCounters::default();
        let now = Instant::now();
        let line = |target| get_entry(target, 0).format_without_size();
        let mut p = PendingLines::default();
        // A 100-byte head and a 1000-byte body, then a pipelined 50 + 10.
        p.push(Some(line("/big")), 1100, 1000);
        p.push(Some(line("/small")), 1100 + 60, 10);
        p.note_sent(600);
        p.complete(Some(&mut sink), &stats, now);
        p.note_sent(500);
        p.complete(Some(&mut sink), &stats, now);
        // The first response has left whole; the second is cut after 5 of its 10
        // body bytes (55 of its 60 bytes).
        p.note_sent(55);
        p.complete(Some(&mut sink), &stats, now);
        p.abort(Some(&mut sink), &stats);
        drop(sink);
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].contains("\"GET /big HTTP/1.1\" 200 1000 \"-\""),
            "{text}"
        );
        assert!(
            lines[1].contains("\"GET /small HTTP/1.1\" 200 5 \"-\""),
            "{text}"
        );
        assert_eq!(
            stats
                .bytes_sent_body
                .load(std::sync::atomic::Ordering::Relaxed),
            1005
        );
        assert!(p.lines.is_empty());
    }
}
