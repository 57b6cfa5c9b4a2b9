//! WebSocket echo load generator (RFC 6455 client side, no extensions).
//!
//! Opens `--conns` connections to a loopback echo server, keeps `--inflight`
//! messages of `--size` bytes in flight on each, and counts the echoes that come
//! back. Cheap by construction, so the server is what gets measured: every frame is
//! masked and encoded once and the same bytes are re-sent (up to `--inflight` frames
//! per write call), and echoes are parsed in place, never copied or unmasked
//! (server frames are unmasked). Each echo's length and opcode are checked.
//!
//! Bounded in time (`--warmup` + `--duration`, then at most `DRAIN` to collect the
//! messages still in flight) and in count (`--messages` in total).
//!
//! Output, one `key=value` per line (MB = 10^6 bytes of payload echoed back, one
//! direction): `conns`, `size`, `inflight`, `seconds`, `messages`, `msgs_per_s`,
//! `mb_per_s` (all over the measured window), `total_messages` (the whole run,
//! warm-up and drain included: what a server's CPU time is divided by), `errors`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// After the measured window: how long to wait for echoes still in flight.
const DRAIN: Duration = Duration::from_secs(10);
/// A client frame's masking key (RFC 6455 section 5.3). Fixed, as the frame is
/// encoded once; non-zero so the server does the same unmasking work as always.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Frames batched into one write when they are small.
const BATCH_BYTES: usize = 64 * 1024;

struct Args {
    addr: SocketAddr,
    path: String,
    conns: usize,
    size: usize,
    inflight: usize,
    threads: usize,
    warmup: Duration,
    duration: Duration,
    messages: u64,
    text: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: ws-load --addr 127.0.0.1:PORT [--path /] [--conns 64] [--size 64] \
         [--inflight 4] [--threads 1] [--warmup 1] [--duration 10] [--messages 50000000] [--text]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        path: "/".into(),
        conns: 64,
        size: 64,
        inflight: 4,
        threads: 1,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(10),
        messages: 50_000_000,
        text: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "--text" {
            a.text = true;
            continue;
        }
        let v = it.next().unwrap_or_else(|| usage());
        let secs = |v: &str| Duration::from_secs_f64(v.parse().unwrap_or_else(|_| usage()));
        match k.as_str() {
            "--addr" => a.addr = v.parse().unwrap_or_else(|_| usage()),
            "--path" => a.path = v,
            "--conns" => a.conns = v.parse().unwrap_or_else(|_| usage()),
            "--size" => a.size = v.parse().unwrap_or_else(|_| usage()),
            "--inflight" => a.inflight = v.parse().unwrap_or_else(|_| usage()),
            "--threads" => a.threads = v.parse().unwrap_or_else(|_| usage()),
            "--warmup" => a.warmup = secs(&v),
            "--duration" => a.duration = secs(&v),
            "--messages" => a.messages = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if !a.addr.ip().is_loopback() {
        eprintln!("ws-load: loopback addresses only");
        std::process::exit(2);
    }
    if a.conns == 0 || a.inflight == 0 || a.threads == 0 || a.conns > 10_000 {
        usage();
    }
    a.threads = a.threads.min(a.conns);
    a
}

/// One masked frame carrying `size` bytes.
fn encode_frame(size: usize, text: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(size + 14);
    f.push(0x80 | if text { 0x1 } else { 0x2 });
    match size {
        0..=125 => f.push(0x80 | size as u8),
        126..=0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    // Printable ASCII (valid UTF-8 for text), varied so nothing compresses to nothing.
    let mut x: u32 = 0x9e37_79b9;
    for i in 0..size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = b' ' + (x % 95) as u8;
        f.push(b ^ MASK[i % 4]);
    }
    f
}

/// Incremental parser of the server's frames; counts complete data messages.
#[derive(Default)]
struct Rx {
    hdr: [u8; 10],
    hdr_len: usize,
    payload_left: u64,
    opcode: u8,
    fin: bool,
    msg_len: u64,
}

impl Rx {
    /// Consumes `buf`; returns the data messages completed, or what was wrong.
    fn feed(&mut self, mut buf: &[u8], size: u64) -> Result<u64, String> {
        let mut done = 0;
        while !buf.is_empty() {
            if self.payload_left > 0 {
                let take = (buf.len() as u64).min(self.payload_left);
                self.payload_left -= take;
                buf = &buf[take as usize..];
                if self.payload_left == 0 {
                    done += self.frame_end(size)?;
                }
                continue;
            }
            self.hdr[self.hdr_len] = buf[0];
            self.hdr_len += 1;
            buf = &buf[1..];
            if self.hdr_len < 2 {
                continue;
            }
            if self.hdr[1] & 0x80 != 0 {
                return Err("the server masked a frame".into());
            }
            let need = match self.hdr[1] & 0x7f {
                126 => 4,
                127 => 10,
                _ => 2,
            };
            if self.hdr_len < need {
                continue;
            }
            let len = match need {
                4 => u64::from(u16::from_be_bytes([self.hdr[2], self.hdr[3]])),
                10 => u64::from_be_bytes(self.hdr[2..10].try_into().unwrap_or_default()),
                _ => u64::from(self.hdr[1] & 0x7f),
            };
            self.fin = self.hdr[0] & 0x80 != 0;
            self.opcode = self.hdr[0] & 0x0f;
            self.hdr_len = 0;
            if matches!(self.opcode, 0..=2) {
                self.msg_len += len;
            }
            self.payload_left = len;
            if len == 0 {
                done += self.frame_end(size)?;
            }
        }
        Ok(done)
    }

    fn frame_end(&mut self, size: u64) -> Result<u64, String> {
        match self.opcode {
            0..=2 if self.fin => {
                let len = std::mem::take(&mut self.msg_len);
                if len != size {
                    return Err(format!("echo of {len} bytes, sent {size}"));
                }
                Ok(1)
            }
            0..=2 | 9 | 10 => Ok(0),
            8 => Err("the server closed the connection".into()),
            op => Err(format!("unexpected opcode {op}")),
        }
    }
}

struct Conn {
    sock: TcpStream,
    rx: Rx,
    in_flight: usize,
    /// Bytes of the current batch already written, and the batch's length (0: none).
    off: usize,
    batch_len: usize,
    batch_msgs: usize,
    writable: bool,
    sent: u64,
    dead: bool,
}

fn handshake(addr: SocketAddr, path: &str) -> io::Result<(StdStream, Vec<u8>)> {
    let mut s = StdStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.set_nodelay(true)?;
    // The key is fixed: the accept value is the server's business, not measured here.
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::other("closed before the 101"));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 101") {
                let line = String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned();
                return Err(io::Error::other(format!("no upgrade: {line}")));
            }
            let rest = head.split_off(end + 4);
            s.set_nonblocking(true)?;
            return Ok((s, rest));
        }
        if head.len() > 8192 {
            return Err(io::Error::other("response head too large"));
        }
    }
}

struct Shared {
    received: AtomicU64,
    stop: AtomicBool,
    errors: AtomicU64,
}

fn run_thread(
    a: &Args,
    conns: usize,
    cap: u64,
    batch: &[u8],
    frame_len: usize,
    shared: &Shared,
    ready: &Barrier,
) -> u64 {
    let size = a.size as u64;
    let frames_in_batch = batch.len() / frame_len;
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ws-load: poll: {e}");
            shared.errors.fetch_add(1, Ordering::Relaxed);
            ready.wait();
            return 0;
        }
    };
    let mut list: Vec<Conn> = Vec::with_capacity(conns);
    for i in 0..conns {
        match handshake(a.addr, &a.path) {
            Ok((s, rest)) => {
                let mut c = Conn {
                    sock: TcpStream::from_std(s),
                    rx: Rx::default(),
                    in_flight: 0,
                    off: 0,
                    batch_len: 0,
                    batch_msgs: 0,
                    writable: true,
                    sent: 0,
                    dead: false,
                };
                if let Err(e) = c.rx.feed(&rest, size) {
                    eprintln!("ws-load: {e}");
                    continue;
                }
                let interest = Interest::READABLE | Interest::WRITABLE;
                if poll
                    .registry()
                    .register(&mut c.sock, Token(i), interest)
                    .is_err()
                {
                    continue;
                }
                list.push(c);
            }
            Err(e) => {
                eprintln!("ws-load: connection {i}: {e}");
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    ready.wait();
    let mut started: u64 = 0;
    let mut received: u64 = 0;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    let mut drain_deadline: Option<Instant> = None;
    // Kick every connection once: each is writable from the start.
    let mut todo: Vec<usize> = (0..list.len()).collect();
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed) || started >= cap;
        if stopping {
            let deadline = *drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN);
            let pending = list.iter().any(|c| !c.dead && (c.in_flight > 0));
            if !pending || Instant::now() >= deadline {
                break;
            }
        }
        for &i in &todo {
            let c = &mut list[i];
            if c.dead {
                continue;
            }
            // Read every echo available.
            loop {
                match c.sock.read(&mut buf) {
                    Ok(0) => {
                        eprintln!("ws-load: the server closed a connection");
                        c.dead = true;
                        break;
                    }
                    Ok(n) => match c.rx.feed(&buf[..n], size) {
                        Ok(m) => {
                            c.in_flight = c.in_flight.saturating_sub(m as usize);
                            received += m;
                            shared.received.fetch_add(m, Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("ws-load: {e}");
                            c.dead = true;
                            break;
                        }
                    },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        eprintln!("ws-load: read: {e}");
                        c.dead = true;
                        break;
                    }
                }
            }
            // Keep `inflight` messages in flight.
            while c.writable && !c.dead {
                if c.batch_len == 0 {
                    let room = a.inflight.saturating_sub(c.in_flight);
                    let left = cap.saturating_sub(started) as usize;
                    let n = room.min(frames_in_batch).min(left);
                    if stopping || n == 0 {
                        break;
                    }
                    c.batch_len = n * frame_len;
                    c.batch_msgs = n;
                    c.off = 0;
                    c.in_flight += n;
                    started += n as u64;
                }
                match c.sock.write(&batch[c.off..c.batch_len]) {
                    Ok(n) => {
                        c.off += n;
                        if c.off == c.batch_len {
                            c.sent += c.batch_msgs as u64;
                            c.batch_len = 0;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.writable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        eprintln!("ws-load: write: {e}");
                        c.dead = true;
                    }
                }
            }
            if c.dead {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                let _ = poll.registry().deregister(&mut c.sock);
            }
        }
        todo.clear();
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
            if e.kind() != io::ErrorKind::Interrupted {
                eprintln!("ws-load: poll: {e}");
                break;
            }
        }
        for ev in events.iter() {
            let i = ev.token().0;
            if ev.is_writable() {
                list[i].writable = true;
            }
            todo.push(i);
        }
        if stopping {
            // Nothing new is started; read what is still coming on every connection.
            todo.clear();
            todo.extend(0..list.len());
        }
    }
    let lost: usize = list.iter().filter(|c| !c.dead).map(|c| c.in_flight).sum();
    if lost > 0 {
        eprintln!("ws-load: {lost} echoes still missing after the drain period");
    }
    received
}

fn main() {
    let a = Arc::new(parse_args());
    let frame = encode_frame(a.size, a.text);
    let frame_len = frame.len();
    let per_batch = (BATCH_BYTES / frame_len).clamp(1, a.inflight);
    let batch: Arc<Vec<u8>> = Arc::new(frame.repeat(per_batch));
    let shared = Arc::new(Shared {
        received: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        errors: AtomicU64::new(0),
    });
    let ready = Arc::new(Barrier::new(a.threads + 1));
    let mut handles = Vec::new();
    for t in 0..a.threads {
        let conns = a.conns / a.threads + usize::from(t < a.conns % a.threads);
        let cap = a.messages / a.threads as u64;
        let (a, batch, shared, ready) = (a.clone(), batch.clone(), shared.clone(), ready.clone());
        handles.push(std::thread::spawn(move || {
            run_thread(&a, conns, cap, &batch, frame_len, &shared, &ready)
        }));
    }
    ready.wait();
    let t0 = Instant::now();
    std::thread::sleep(a.warmup);
    let (m0, w0) = (shared.received.load(Ordering::Relaxed), Instant::now());
    // Sleep in short steps so a run capped by `--messages` ends when it is done.
    let end = w0 + a.duration;
    while Instant::now() < end && handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(
            Duration::from_millis(20).min(end.saturating_duration_since(Instant::now())),
        );
    }
    let (m1, w1) = (shared.received.load(Ordering::Relaxed), Instant::now());
    shared.stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let secs = (w1 - w0).as_secs_f64().max(1e-9);
    let msgs = m1 - m0;
    println!("conns={}", a.conns);
    println!("size={}", a.size);
    println!("inflight={}", a.inflight);
    println!("seconds={secs:.3}");
    println!("messages={msgs}");
    println!("msgs_per_s={:.0}", msgs as f64 / secs);
    println!("mb_per_s={:.1}", msgs as f64 * a.size as f64 / secs / 1e6);
    println!("total_messages={total}");
    println!("total_seconds={:.3}", t0.elapsed().as_secs_f64());
    println!("errors={}", shared.errors.load(Ordering::Relaxed));
}
