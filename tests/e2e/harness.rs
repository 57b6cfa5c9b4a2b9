//! The test harness: starts a real `carbond` on 127.0.0.1 with an ephemeral port and a
//! freshly populated document root, and talks to it over raw sockets.
//!
//! Every read has a timeout, so a server that stops answering fails a test instead of
//! hanging the suite. The daemon's stdout and stderr are drained by background threads
//! (a full pipe would stall the daemon) and printed when a test panics.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Path of the daemon under test, built by cargo before this test target.
pub const CARBOND: &str = env!("CARGO_BIN_EXE_carbond");

/// Upper bound for any single socket read; no test may wait longer on one read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon has to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

pub const INDEX_HTML: &str =
    "<!doctype html>\n<html><head><title>carbon e2e</title></head>\n<body><p>hello from the e2e index</p></body></html>\n";
pub const SUB_INDEX_HTML: &str = "<!doctype html>\n<p>sub index</p>\n";
pub const SECRET: &str = "top secret dotfile content\n";
pub const LITERAL_PERCENT: &str = "literal file named %2e%2e\n";
/// Content of the file just outside the document root that traversal attempts target.
pub const OUTSIDE: &str = "root:x:0:0:outside-the-document-root:/root:/bin/sh\n";
pub const BIG_LEN: usize = 1024 * 1024;
/// Name written into the gzip header of the precompressed `app.js.gz`, so a test can
/// tell the precompressed file apart from an on-the-fly compression of `app.js`.
pub const GZ_MARKER_NAME: &str = "carbon-e2e-precompressed";

/// A compressible stylesheet well over any sensible `gzip_min_length`.
pub fn style_css() -> &'static str {
    static CSS: OnceLock<String> = OnceLock::new();
    CSS.get_or_init(|| {
        let mut s = String::new();
        for i in 0..200 {
            s.push_str(&format!(
                ".rule-{i} {{ color: #333333; margin: 0 auto; padding: 4px 8px; }}\n"
            ));
        }
        s
    })
}

pub fn app_js() -> &'static str {
    static JS: OnceLock<String> = OnceLock::new();
    JS.get_or_init(|| {
        let mut s = String::new();
        for i in 0..150 {
            s.push_str(&format!("function f{i}() {{ return {i} * 2; }}\n"));
        }
        s
    })
}

/// The precompressed sibling of `app.js`, marked with [`GZ_MARKER_NAME`].
pub fn app_js_gz() -> &'static [u8] {
    static GZ: OnceLock<Vec<u8>> = OnceLock::new();
    GZ.get_or_init(|| {
        use libflate::gzip::{EncodeOptions, Encoder, HeaderBuilder};
        let header = HeaderBuilder::new()
            .filename(std::ffi::CString::new(GZ_MARKER_NAME).unwrap())
            .finish();
        let mut enc =
            Encoder::with_options(Vec::new(), EncodeOptions::new().header(header)).unwrap();
        enc.write_all(app_js().as_bytes()).unwrap();
        enc.finish().into_result().unwrap()
    })
}

/// 1 MiB of deterministic pseudo-random bytes (xorshift64*), incompressible.
pub fn big_bin() -> &'static [u8] {
    static BIG: OnceLock<Vec<u8>> = OnceLock::new();
    BIG.get_or_init(|| {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut v = Vec::with_capacity(BIG_LEN);
        while v.len() < BIG_LEN {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        v.truncate(BIG_LEN);
        v
    })
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut dec = libflate::gzip::Decoder::new(data).expect("gzip header");
    let mut out = Vec::new();
    dec.read_to_end(&mut out).expect("gzip body");
    out
}

/// Populates `base` with `www/` (the document root) and files outside it.
fn write_fixtures(base: &Path) -> PathBuf {
    let www = base.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(www.join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(www.join("style.css"), style_css()).unwrap();
    std::fs::write(www.join("big.bin"), big_bin()).unwrap();
    std::fs::write(www.join("sub/index.html"), SUB_INDEX_HTML).unwrap();
    std::fs::write(www.join(".secret"), SECRET).unwrap();
    std::fs::write(www.join("app.js"), app_js()).unwrap();
    // Written after app.js so it is never older than the file it compresses.
    std::fs::write(www.join("app.js.gz"), app_js_gz()).unwrap();
    std::fs::write(www.join("%2e%2e"), LITERAL_PERCENT).unwrap();
    // Outside the root: what traversal and symlink escapes would reach.
    std::fs::write(base.join("passwd"), OUTSIDE).unwrap();
    std::fs::create_dir_all(base.join("outside-dir")).unwrap();
    std::fs::write(base.join("outside-dir/passwd"), OUTSIDE).unwrap();
    std::os::unix::fs::symlink(base.join("passwd"), www.join("escape-link")).unwrap();
    std::os::unix::fs::symlink(base.join("outside-dir"), www.join("escape-dir")).unwrap();
    www
}

// ---------------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------------

/// Captured daemon output, shared with the draining threads.
type Output = Arc<Mutex<Vec<String>>>;

fn drain<R: Read + Send + 'static>(
    pipe: R,
    tag: &'static str,
    output: Output,
    listening: Option<mpsc::Sender<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = io::BufReader::new(pipe);
        let mut line = String::new();
        loop {
            line.clear();
            match io::BufRead::read_line(&mut reader, &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let l = line.trim_end().to_string();
                    if let Some(tx) = &listening {
                        if l.contains("listening on http://") {
                            let _ = tx.send(l.clone());
                        }
                    }
                    output.lock().unwrap().push(format!("[{tag}] {l}"));
                }
            }
        }
    })
}

/// A running carbond. Dropping it kills the process (by its own PID) and reaps it.
pub struct Server {
    child: Option<Child>,
    port: u16,
    base: tempfile::TempDir,
    output: Output,
}

/// The config lines every test starts from; `extra` lines with the same key replace them.
fn base_config(www: &Path) -> Vec<(String, String)> {
    [
        ("port", "0".to_string()),
        ("server_name", "127.0.0.1".to_string()),
        ("www_path", www.display().to_string()),
        ("max_threads", "2".to_string()),
        ("log_mode", "classic".to_string()),
        ("log_file", String::new()),
        // The tests run as root in CI; carbond refuses that unless told.
        ("allow_root", "true".to_string()),
        // Each daemon its own control socket, next to its document root.
        (
            "control_socket",
            www.with_file_name("carbond.sock").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn render_config(www: &Path, extra: &str) -> String {
    let extra_keys: Vec<String> = extra
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_string())
        .collect();
    let mut text = String::from("# written by the carbond e2e harness\n");
    for (k, v) in base_config(www) {
        if !extra_keys.contains(&k) {
            text.push_str(&format!("{k} = {v}\n"));
        }
    }
    for l in extra.lines() {
        text.push_str(l.trim());
        text.push('\n');
    }
    text
}

impl Server {
    /// Starts carbond with the default test config plus `extra` (`key = value` lines;
    /// a key given here replaces the default). Panics (with the daemon's output) when
    /// it does not announce a listener within 10 s.
    pub fn start(extra: &str) -> Server {
        let base = tempfile::Builder::new()
            .prefix("carbond-e2e-")
            .tempdir()
            .unwrap();
        let www = write_fixtures(base.path());
        let extra = extra.replace("{base}", &base.path().display().to_string());
        let conf = base.path().join("carbon.conf");
        std::fs::write(&conf, render_config(&www, &extra)).unwrap();

        let mut child = Command::new(CARBOND)
            .arg("--config")
            .arg(&conf)
            .current_dir(base.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn carbond");
        let output: Output = Arc::default();
        let (tx, rx) = mpsc::channel();
        drain(
            child.stdout.take().unwrap(),
            "out",
            output.clone(),
            Some(tx),
        );
        drain(child.stderr.take().unwrap(), "err", output.clone(), None);

        let mut server = Server {
            child: Some(child),
            port: 0,
            base,
            output,
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(l) => l,
            Err(e) => panic!(
                "carbond did not print `listening on http://...` within {STARTUP_TIMEOUT:?} ({e}); \
                 config:\n{}\noutput:\n{}",
                std::fs::read_to_string(&conf).unwrap_or_default(),
                server.output()
            ),
        };
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().trim_end_matches('/').parse::<u16>().ok());
        server.port = match port {
            Some(p) if p != 0 => p,
            _ => panic!("cannot read a port from {line:?}"),
        };
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The temporary directory holding `www/`, the config and anything a test writes.
    pub fn base(&self) -> &Path {
        self.base.path()
    }

    pub fn www(&self) -> PathBuf {
        self.base.path().join("www")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Everything the daemon printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Sends `sig` (e.g. "TERM", "INT") to the daemon's own PID.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{sig} {} failed", self.pid());
    }

    /// Waits up to `timeout` for the daemon to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// A fresh raw connection with read and write timeouts.
    pub fn connect(&self) -> Conn {
        Conn::connect(self.addr())
    }

    /// Writes `req` on a new connection and returns every byte until the server closes
    /// (or [`READ_TIMEOUT`] passes without data). Use `Connection: close` to finish fast.
    pub fn raw(&self, req: &[u8]) -> Vec<u8> {
        let mut c = self.connect();
        c.send(req);
        c.read_until_close(Duration::from_secs(10))
    }

    /// Like [`Server::raw`], half-closing the write side after the request.
    pub fn raw_half_close(&self, req: &[u8]) -> Vec<u8> {
        let mut c = self.connect();
        c.send(req);
        let _ = c.stream.shutdown(Shutdown::Write);
        c.read_until_close(Duration::from_secs(10))
    }

    /// Sends `req` on a new connection and parses the first response.
    pub fn request(&self, req: &[u8]) -> Response {
        let mut c = self.connect();
        c.send(req);
        c.response()
    }

    /// `GET path` with `Connection: close` plus `extra_headers` (each ending in CRLF).
    pub fn get(&self, path: &str, extra_headers: &str) -> Response {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}Connection: close\r\n\r\n"
        );
        self.request(req.as_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "---- carbond output (port {}) ----\n{}\n----",
                self.port,
                self.output()
            );
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs carbond with `args` to completion (killing it after `timeout`) and returns its
/// exit status (`None` on timeout) and combined stdout+stderr.
pub fn run_carbond<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    timeout: Duration,
) -> (Option<ExitStatus>, String) {
    let mut child = Command::new(CARBOND)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn carbond");
    let output: Output = Arc::default();
    let drains = [
        drain(child.stdout.take().unwrap(), "out", output.clone(), None),
        drain(child.stderr.take().unwrap(), "err", output.clone(), None),
    ];
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    // The pipes close with the process, which ends the drain threads once they have
    // read everything; wait for that (bounded) instead of guessing how long it takes.
    let drained_by = Instant::now() + Duration::from_secs(10);
    while drains.iter().any(|d| !d.is_finished()) && Instant::now() < drained_by {
        thread::sleep(Duration::from_millis(5));
    }
    let text = output.lock().unwrap().join("\n");
    (status, text)
}

// ---------------------------------------------------------------------------------
// Raw connections and response parsing
// ---------------------------------------------------------------------------------

/// A parsed HTTP/1.x response.
#[derive(Debug, Clone)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when a comma-separated header (all its lines) lists `token`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses every complete response in `bytes` (as read until close). `head_only` marks
/// responses to HEAD requests (no body whatever the headers say).
pub fn parse_all(bytes: &[u8]) -> Vec<Response> {
    let mut buf = bytes.to_vec();
    let mut out = Vec::new();
    while !buf.is_empty() {
        match parse_one(&mut buf, &mut |_| Ok(0), false) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    out
}

/// Parses the first response in `bytes`, panicking with the raw text if there is none.
pub fn parse_first(bytes: &[u8]) -> Response {
    let mut buf = bytes.to_vec();
    parse_one(&mut buf, &mut |_| Ok(0), false).unwrap_or_else(|e| {
        panic!(
            "no complete response ({e}) in {:?}",
            String::from_utf8_lossy(bytes)
        )
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

type Fill<'a> = dyn FnMut(&mut Vec<u8>) -> io::Result<usize> + 'a;

fn eof(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_string())
}

/// Parses one response from the front of `buf`, calling `fill` for more bytes (it
/// returns 0 at end of stream), and removes the response's bytes from `buf`.
fn parse_one(buf: &mut Vec<u8>, fill: &mut Fill<'_>, head_only: bool) -> io::Result<Response> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if fill(buf)? == 0 {
            return Err(eof(
                "connection ended before the response head was complete",
            ));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("bad header line {l:?}")))?;
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    if head_only || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(resp);
    }
    let chunked = resp.header_has_token("transfer-encoding", "chunked");
    if chunked {
        resp.body = read_chunked(buf, fill)?;
    } else if let Some(cl) = resp.header("content-length") {
        let n: usize = cl
            .parse()
            .map_err(|_| io::Error::other(format!("bad Content-Length {cl:?}")))?;
        while buf.len() < n {
            if fill(buf)? == 0 {
                return Err(eof("connection ended inside the body"));
            }
        }
        resp.body = buf.drain(..n).collect();
    } else {
        // Delimited by close (RFC 9112 section 6.3, rule 8).
        while fill(buf)? != 0 {}
        resp.body = std::mem::take(buf);
    }
    Ok(resp)
}

fn read_chunked(buf: &mut Vec<u8>, fill: &mut Fill<'_>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if fill(buf)? == 0 {
                return Err(eof("connection ended inside a chunk size"));
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        buf.drain(..line_end + 2);
        let size_hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailer section, ending in an empty line.
            loop {
                let end = loop {
                    if let Some(i) = find(buf, b"\r\n") {
                        break i;
                    }
                    if fill(buf)? == 0 {
                        return Err(eof("connection ended inside the trailers"));
                    }
                };
                buf.drain(..end + 2);
                if end == 0 {
                    return Ok(body);
                }
            }
        }
        while buf.len() < size + 2 {
            if fill(buf)? == 0 {
                return Err(eof("connection ended inside a chunk"));
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
}

/// How a wait for the server to close a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum CloseOutcome {
    /// FIN (read returned 0) or a reset.
    Closed,
    /// Still open when the wait ended.
    StillOpen,
}

/// A raw client connection with timeouts on every read and write.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Like [`Conn::send`], but reports a failure (the server may have closed already).
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn fill_from(stream: &mut TcpStream) -> impl FnMut(&mut Vec<u8>) -> io::Result<usize> + '_ {
        move |buf: &mut Vec<u8>| {
            let mut chunk = [0u8; 64 * 1024];
            let n = stream.read(&mut chunk)?;
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
    }

    /// Reads one response (an interim 1xx is returned on its own).
    pub fn try_response(&mut self, head_only: bool) -> io::Result<Response> {
        let mut fill = Self::fill_from(&mut self.stream);
        parse_one(&mut self.buf, &mut fill, head_only)
    }

    /// Reads one response; panics if none arrives within the read timeout.
    pub fn response(&mut self) -> Response {
        self.try_response(false)
            .unwrap_or_else(|e| panic!("reading a response: {e}"))
    }

    /// Reads one response to a HEAD request (no body follows the head).
    pub fn head_response(&mut self) -> Response {
        self.try_response(true)
            .unwrap_or_else(|e| panic!("reading a HEAD response: {e}"))
    }

    /// Bytes received but not yet parsed into a response.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Reads until the server closes or `limit` passes; returns everything unparsed.
    pub fn read_until_close(&mut self, limit: Duration) -> Vec<u8> {
        let _ = self.wait_closed(limit);
        std::mem::take(&mut self.buf)
    }

    /// Waits up to `limit` for the server to close the connection, keeping any bytes
    /// that arrive meanwhile (see [`Conn::pending`]).
    pub fn wait_closed(&mut self, limit: Duration) -> CloseOutcome {
        let deadline = Instant::now() + limit;
        let mut chunk = [0u8; 64 * 1024];
        let outcome = loop {
            let now = Instant::now();
            if now >= deadline {
                break CloseOutcome::StillOpen;
            }
            let slice = (deadline - now).min(Duration::from_millis(250));
            self.stream
                .set_read_timeout(Some(slice.max(Duration::from_millis(1))))
                .unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => break CloseOutcome::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break CloseOutcome::Closed,
            }
        };
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        outcome
    }

    /// Waits up to `limit` for any byte (or close). Returns `None` when nothing happened.
    pub fn poll_data(&mut self, limit: Duration) -> Option<usize> {
        self.stream.set_read_timeout(Some(limit)).unwrap();
        let mut chunk = [0u8; 64 * 1024];
        let r = match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(n)
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                None
            }
            Err(_) => Some(0),
        };
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        r
    }
}

/// Counts status lines (`HTTP/1.x NNN`) at response starts in a raw byte stream that
/// carries no bodies containing such text.
pub fn count_status_lines(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut n = 0;
    for (i, _) in text.match_indices("HTTP/1.") {
        if i == 0 || text[..i].ends_with('\n') {
            n += 1;
        }
    }
    n
}

/// Asserts the conventional framing headers every response carries (contract: `Date`
/// and a `Server` starting with "carbon").
pub fn assert_date_and_server(r: &Response) {
    let date = r
        .header("date")
        .unwrap_or_else(|| panic!("no Date in {r:?}"));
    // IMF-fixdate, RFC 9110 section 5.6.7: "Sun, 06 Nov 1994 08:49:37 GMT".
    assert_eq!(date.len(), 29, "Date not IMF-fixdate: {date:?}");
    assert!(date.ends_with(" GMT"), "Date not IMF-fixdate: {date:?}");
    let server = r
        .header("server")
        .unwrap_or_else(|| panic!("no Server in {r:?}"));
    assert!(server.starts_with("carbon"), "Server: {server:?}");
}

/// A ureq agent that does not follow redirects and gives up after 10 s.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(10))
        .user_agent("carbon-e2e-ureq")
        .build()
}

/// A ureq response whatever its status (ureq turns 4xx/5xx into errors).
pub fn ureq_any(req: ureq::Request) -> ureq::Response {
    match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("ureq transport error: {e}"),
    }
}

/// The `curl` binary; a test that needs it fails (never passes silently) without it.
pub fn curl() -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("curl").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "curl is not on PATH: install curl (e.g. `apt-get install curl`) to run the curl e2e tests"
    );
    let mut c = Command::new("curl");
    c.args(["--noproxy", "*", "--max-time", "10", "-sS"]);
    c
}

/// Polls `path` until it holds `what` (log lines are written after the response is
/// sent), and returns its text; fails the test after 10 s.
pub fn wait_for_text(path: &Path, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(what) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no `{what}` in {}:\n{text}",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Polls the server's captured output until it holds `what`; fails after 10 s.
pub fn wait_for_output(s: &Server, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.output().contains(what) {
        assert!(
            Instant::now() < deadline,
            "no `{what}` in the output:\n{}",
            s.output()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether python3 can import the `h2` package; says SKIPPED (naming `test`) when not.
pub fn python_h2_or_skip(test: &str) -> bool {
    let probe = Command::new("python3").args(["-c", "import h2"]).output();
    let ok = probe.is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED {test}: python3 with the `h2` package is not installed (.ci/run installs it)"
        );
    }
    ok
}

/// Whether `tool --version` runs and succeeds (the tool is installed and usable).
pub fn tool_runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether Debian's `chromium` runs; says SKIPPED (naming `test`) when not.
pub fn chromium_or_skip(test: &str) -> bool {
    let ok = tool_runs("chromium");
    if !ok {
        eprintln!("SKIPPED {test}: `chromium` is not installed (apt-get install chromium)");
    }
    ok
}

/// Loads `url` in headless Chromium with a throw-away profile and returns the DOM it
/// dumps; `extra` adds command-line switches. Fails the test after 60 s.
pub fn chromium_dump_dom(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
