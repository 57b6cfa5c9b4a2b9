//! Byte movement between a socket and an engine, in plain TCP or through rustls.
//!
//! Plain TCP: `read` into the worker's buffer, `writev` for in-memory chunks and
//! `sendfile` for file regions; plain HTTP/2, whose file bodies are many small DATA
//! frames, sends a packet's worth of frames per `sendmsg`, the file bytes straight
//! from a mapping of the file (`write_plain_gathered`, `sys/mapped.rs`). TLS:
//! `read_tls`/`process_new_packets`/`reader()` in, `writer()`/`write_tls` out, with
//! file regions read by `pread` into the worker's buffer (no sendfile through TLS). `tls::TlsSession` (rustls's unbuffered API) bounds
//! what it holds per connection and frees its buffers whenever they are empty.
//!
//! Every function returns `Ok(progress)` or `Err` when the connection must close.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use nix::sys::socket::MsgFlags;
use std::time::Instant;

use super::access_log::PendingLines;
use super::conn::Conn;
use super::engine::Engine;
use super::stats::{Stats, WorkerCounters};
use crate::config::Config;
use crate::proto::h2::PREFACE;
use crate::proto::out::{Chunk, OutQueue};
use bytes::Bytes;

use crate::limits::DRIVER_H2C_GATHER as H2C_GATHER;
use crate::limits::DRIVER_WRITE_PER_ROUND as WRITE_PER_ROUND;
/// Segment size assumed when `TCP_MAXSEG` cannot be read (Ethernet's, with
/// timestamps).
const DEFAULT_MSS: usize = 1448;
/// In-memory chunks gathered into one `writev`.
const IOV_MAX: usize = 16;

pub(crate) fn read(
    c: &mut Conn,
    buf: &mut [u8],
    now: Instant,
    cfg: &Config,
    stats: &WorkerCounters,
) -> io::Result<bool> {
    if c.tls.is_some() && !c.sniffed {
        sniff_plain_http(c)?;
    }
    let buf = if c.engine.is_websocket() {
        buf
    } else {
        let n = super::worker::HTTP_READ.min(buf.len());
        &mut buf[..n]
    };
    if c.h2c_sniff && !sniff_h2c_preface(c, cfg, now, stats)? {
        return Ok(false);
    }
    if c.tls.is_some() {
        read_tls(c, buf, now, cfg, stats)
    } else {
        read_plain(c, buf, now, stats)
    }
}

fn read_plain(
    c: &mut Conn,
    buf: &mut [u8],
    now: Instant,
    stats: &WorkerCounters,
) -> io::Result<bool> {
    if !c.readiness.readable() || c.read_eof || !c.engine.wants_read() {
        return Ok(false);
    }
    loop {
        match c.sock.read(buf) {
            Ok(0) => {
                c.read_eof = true;
                c.engine.handle_read_closed(now);
                return Ok(true);
            }
            Ok(n) => {
                WorkerCounters::add(&stats.bytes_in, n as u64);
                // A short read drained the socket's receive queue. On Linux, data that
                // arrives later raises a new edge, so the usual extra read that only
                // returns EAGAIN can be skipped: one system call less per request.
                // Not when the FIN came with this edge: it raises no further edge, and
                // only a read returning 0 reveals it.
                if n < buf.len() && !c.readiness.hup() {
                    c.readiness.read_drained();
                }
                c.engine.handle_input(now, &buf[..n]);
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.readiness.read_drained();
                return Ok(false);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A TLS connection starts with a handshake record (content type 22). A first byte
/// that is an ASCII letter is a plain-HTTP request line sent to the HTTPS port: drop
/// the TLS layer so the HTTP engine can parse it and the client gets a readable 400
/// instead of an alert its HTTP parser cannot show.
fn sniff_plain_http(c: &mut Conn) -> io::Result<()> {
    if !c.readiness.readable() {
        return Ok(());
    }
    let mut first = [0u8; 1];
    match c.sock.peek(&mut first) {
        Ok(0) => c.sniffed = true,
        Ok(_) => {
            c.sniffed = true;
            if first[0].is_ascii_alphabetic() {
                c.tls = None;
                c.plain_on_tls = true;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.readiness.read_drained(),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Bytes of the preface that tell it from every HTTP/1.1 request line: no method
/// starts with "PRI " but the preface's (RFC 9113 §3.4).
const H2C_SNIFF_LEN: usize = 4;

/// Plain port with h2c on: peeks at the first bytes. The HTTP/2 client preface
/// switches the connection to HTTP/2 (prior knowledge, RFC 9113 §3.3); anything else
/// stays HTTP/1.1. Returns false while too few bytes have arrived to tell (a new edge
/// comes with more). The bytes stay in the socket for the chosen engine.
fn sniff_h2c_preface(
    c: &mut Conn,
    cfg: &Config,
    now: Instant,
    stats: &WorkerCounters,
) -> io::Result<bool> {
    if !c.readiness.readable() {
        return Ok(false);
    }
    let mut first = [0u8; H2C_SNIFF_LEN];
    match c.sock.peek(&mut first) {
        Ok(0) => c.h2c_sniff = false,
        Ok(n) => {
            if first[..n] != PREFACE[..n] {
                c.h2c_sniff = false;
            } else if n == H2C_SNIFF_LEN {
                c.h2c_sniff = false;
                start_h2(&mut c.engine, &c.sock, false, cfg, now, stats);
            } else if c.readiness.hup() {
                // No more bytes will come: let HTTP/1.1 answer what there is.
                c.h2c_sniff = false;
            } else {
                c.readiness.read_drained();
                return Ok(false);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            c.readiness.read_drained();
            return Ok(false);
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
        Err(e) => return Err(e),
    }
    Ok(true)
}

fn read_tls(
    c: &mut Conn,
    buf: &mut [u8],
    now: Instant,
    cfg: &Config,
    stats: &WorkerCounters,
) -> io::Result<bool> {
    let Some(tls) = c.tls.as_mut() else {
        return Ok(false);
    };
    let mut progress = false;
    // Plaintext rustls already decrypted comes first: it may be there without a new
    // socket edge (we stopped taking it while the engine applied backpressure).
    if c.engine.wants_read() {
        progress |= drain_plaintext(tls, &mut c.engine, buf, now, &mut c.read_eof)?;
    }
    if !c.readiness.readable() || c.read_eof || !c.engine.wants_read() {
        return Ok(progress);
    }
    match tls.read_tls(&mut c.sock) {
        Ok(0) => {
            c.read_eof = true;
            c.engine.handle_read_closed(now);
            return Ok(true);
        }
        Ok(n) => {
            WorkerCounters::add(&stats.bytes_in, n as u64);
            progress = true;
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            c.readiness.read_drained();
            return Ok(progress);
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(progress),
        Err(e) => return Err(e),
    }
    if let Err(e) = tls.process_new_packets() {
        // The alert describing the failure is queued; flush it best-effort.
        log::debug!("TLS error from {}: {e}", c.peer);
        let _ = tls.write_tls(&mut c.sock);
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    if c.alpn_pending && !tls.is_handshaking() {
        // RFC 9113 §3.2: "h2" agreed in ALPN means HTTP/2 from the first byte.
        c.alpn_pending = false;
        if tls.app_protocol() == crate::tls::AppProtocol::H2 {
            start_h2(&mut c.engine, &c.sock, true, cfg, now, stats);
        }
    }
    drain_plaintext(tls, &mut c.engine, buf, now, &mut c.read_eof)?;
    Ok(progress)
}

/// The connection speaks HTTP/2 from now on (ALPN `h2`, or the h2c preface): its
/// engine, its count, and its socket's `TCP_NOTSENT_LOWAT` (`http2_notsent_lowat`,
/// `sys/sockopt.rs`; a socket that refuses it is served all the same).
fn start_h2(
    engine: &mut Engine,
    sock: &mio::net::TcpStream,
    tls: bool,
    cfg: &Config,
    now: Instant,
    stats: &WorkerCounters,
) {
    engine.switch_to_h2(cfg, now);
    Stats::inc(&stats.connections_h2);
    if tls {
        // One frame, header included, fills one record: a write of whole records is
        // one of whole frames (`fill_tls`); h2c sizes them to its writes instead.
        let payload = crate::tls::MAX_FRAGMENT - crate::proto::h2::frame::head::HEAD_LEN;
        engine.set_data_frame_target(payload as u32);
    }
    if cfg.http2_notsent_lowat > 0 {
        if let Err(e) = super::sys::sockopt::set_notsent_lowat(sock, cfg.http2_notsent_lowat) {
            log::debug!("TCP_NOTSENT_LOWAT: {e}");
        }
    }
}

fn drain_plaintext(
    tls: &mut crate::tls::TlsSession,
    engine: &mut Engine,
    buf: &mut [u8],
    now: Instant,
    eof: &mut bool,
) -> io::Result<bool> {
    let mut progress = false;
    while engine.wants_read() {
        match tls.reader().read(buf) {
            Ok(0) => {
                // close_notify received: a clean end of the peer's stream.
                if !*eof {
                    *eof = true;
                    engine.handle_read_closed(now);
                    progress = true;
                }
                break;
            }
            Ok(n) => {
                engine.handle_input(now, &buf[..n]);
                progress = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // UnexpectedEof: the peer closed without close_notify; the socket read
            // path reports the EOF.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(progress)
}

/// Bytes written to the socket (TLS records included) are added to `bytes_out`.
pub(crate) fn write(
    c: &mut Conn,
    buf: &mut [u8],
    now: Instant,
    stats: &WorkerCounters,
) -> io::Result<bool> {
    let (res, written) = if c.tls.is_some() {
        write_tls(c, buf, now)
    } else if c.engine.is_h2() {
        write_plain_gathered(c, buf, now)
    } else {
        write_plain(c, now)
    };
    WorkerCounters::add(&stats.bytes_out, written);
    res
}

/// Returns the outcome and the bytes written before it.
fn write_plain(c: &mut Conn, now: Instant) -> (io::Result<bool>, u64) {
    let mut written: u64 = 0;
    while c.readiness.writable() && written < WRITE_PER_ROUND {
        let out = c.engine.transmit(now);
        let res = match out.front() {
            None => break,
            Some(Chunk::File(region)) => {
                let mut off = region.offset as i64;
                let count = region.len.min(WRITE_PER_ROUND) as usize;
                match nix::sys::sendfile::sendfile(&c.sock, &*region.file, Some(&mut off), count) {
                    // The file shrank under us: we promised more bytes than exist, so the
                    // only honest end is closing the connection.
                    Ok(0) => {
                        return (
                            Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "file truncated while sending",
                            )),
                            written,
                        )
                    }
                    Ok(n) => Ok(n),
                    Err(e) => Err(io::Error::from(e)),
                }
            }
            Some(Chunk::Bytes(_)) => writev_front(&mut c.sock, out),
        };
        match sent(c, res, &mut written) {
            Ok(Wrote::Blocked) => break,
            Ok(_) => {}
            Err(e) => return (Err(e), written),
        }
    }
    (Ok(written > 0), written)
}

/// What one write of queued output did.
enum Wrote {
    /// This many bytes left; the queue and the byte counts moved on.
    Sent(usize),
    /// Interrupted before anything was written: try again.
    Again,
    /// The socket is full (now marked so); wait for the next writable edge.
    Blocked,
}

/// Accounts one write of the output queue's front: advances the queue and the
/// access log's byte count, or marks the socket blocked on `WouldBlock`.
fn sent(c: &mut Conn, res: io::Result<usize>, written: &mut u64) -> io::Result<Wrote> {
    match res {
        Ok(n) => {
            c.engine.out().advance(n as u64);
            c.pending_log.note_sent(n as u64);
            *written += n as u64;
            Ok(Wrote::Sent(n))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            c.readiness.write_blocked();
            Ok(Wrote::Blocked)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Wrote::Again),
        Err(e) => Err(e),
    }
}

/// Bytes per gathered write: the largest whole number of the connection's segments
/// (`TCP_MAXSEG`) in [`H2C_GATHER`], so that a write leaves as one TSO/GSO packet.
/// A write one byte over makes a second, tiny packet that TCP pacing (BBR, fq) then
/// holds back behind a timer: on loopback (65,483-byte segments) a 65,536-byte gather
/// cost about twice the server CPU per request of a 65,483-byte one, and a 256 KiB
/// gather (five packets) 1.4x (docs/performance.md, "HTTP/2 large files, h2c").
/// Smaller writes make smaller segments, which cost the reader more per byte.
fn gather_limit(sock: &mio::net::TcpStream) -> usize {
    let mss = nix::sys::socket::getsockopt(sock, nix::sys::socket::sockopt::TcpMaxSeg)
        .map_or(DEFAULT_MSS, |m| m as usize)
        .max(1);
    (H2C_GATHER / mss).max(1) * mss
}

/// One `writev` of the in-memory chunks at the front of `out` (at most [`IOV_MAX`]).
fn writev_front(sock: &mut mio::net::TcpStream, out: &OutQueue) -> io::Result<usize> {
    let mut iov: [IoSlice<'_>; IOV_MAX] = [IoSlice::new(&[]); IOV_MAX];
    let mut n = 0;
    let mut file_follows = false;
    for chunk in out.iter() {
        match chunk {
            Chunk::Bytes(b) if n < IOV_MAX => {
                iov[n] = IoSlice::new(b);
                n += 1;
            }
            Chunk::File(_) => {
                file_follows = true;
                break;
            }
            Chunk::Bytes(_) => break,
        }
    }
    if file_follows {
        // A head followed by a sendfile body: MSG_MORE lets the kernel put
        // the head into the body's first segment instead of sending a small
        // packet of its own (what nginx's tcp_nopush achieves with TCP_CORK).
        nix::sys::socket::sendmsg::<()>(
            sock.as_raw_fd(),
            &iov[..n],
            &[],
            MsgFlags::from_bits_retain(nix::libc::MSG_MORE) | MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(io::Error::from)
    } else {
        sock.write_vectored(&iov[..n])
    }
}

/// Plain HTTP/2 (h2c). A file body is queued as DATA frames of at most the peer's
/// SETTINGS_MAX_FRAME_SIZE (16 KiB for h2load, curl and browsers), each a 9-byte
/// head and a file region. Sent chunk by chunk, every frame cost a `sendmsg` and a
/// `sendfile` and left as a TCP segment of its own, which made the client's kernel
/// spend about 2.8x h2o's CPU per byte received (docs/performance.md, "HTTP/2 large
/// files, h2c"). Here the queue's front leaves in one `sendmsg` of up to one TSO/GSO
/// packet (`gather_limit`): heads from where they are, file bytes from the file's
/// mapping (`sys::mapped::send_front`), so the kernel copies them once, straight from
/// the page cache. A file that cannot be mapped is `gather`ed instead (heads copied,
/// file bytes `pread`) into the worker's buffer and written from there. Output
/// without file regions near the front (small responses the file cache holds in
/// memory) keeps `writev`.
fn write_plain_gathered(c: &mut Conn, buf: &mut [u8], now: Instant) -> (io::Result<bool>, u64) {
    let mut written: u64 = 0;
    let mut limit = 0;
    while c.readiness.writable() && written < WRITE_PER_ROUND {
        let out = c.engine.transmit(now);
        if !out
            .iter()
            .take(IOV_MAX)
            .any(|ch| matches!(ch, Chunk::File(_)))
        {
            // Only in-memory frames ahead (HEADERS, small bodies from the file
            // cache, control frames): written from where they are, no copy.
            if out.front().is_none() {
                break;
            }
            let res = writev_front(&mut c.sock, out);
            match sent(c, res, &mut written) {
                Ok(Wrote::Blocked) => break,
                Ok(_) => continue,
                Err(e) => return (Err(e), written),
            }
        }
        if limit == 0 {
            limit = gather_limit(&c.sock).min(buf.len());
        }
        let (res, len) = match super::sys::mapped::send_front(&c.sock, out, limit) {
            Some(sent) => sent,
            None => match gather_and_write(c, &mut buf[..limit]) {
                Ok(Some(sent)) => sent,
                Ok(None) => break,
                Err(e) => return (Err(e), written),
            },
        };
        match sent(c, res, &mut written) {
            Ok(Wrote::Sent(n)) if n < len => {
                // Linux takes part of a non-blocking write only when the send buffer
                // is full (or, with TCP_NOTSENT_LOWAT, its unsent bytes reached the
                // mark), and marks the socket so that freed space raises a new
                // EPOLLOUT edge (tokio relies on the same). Trying again now would
                // build the same write again for an EAGAIN.
                c.readiness.write_blocked();
                break;
            }
            Ok(Wrote::Blocked) => break,
            Ok(_) => {}
            Err(e) => return (Err(e), written),
        }
    }
    (Ok(written > 0), written)
}

/// The write's worth at the front of the queue `gather`ed into `buf` (file regions
/// read with `pread`) and written, for a file that cannot be mapped: the result and
/// the bytes offered, `None` when nothing is queued.
fn gather_and_write(
    c: &mut Conn,
    buf: &mut [u8],
) -> io::Result<Option<(io::Result<usize>, usize)>> {
    let gathered = gather(c.engine.out(), buf, false)?;
    let data = match &gathered {
        Gathered::Single(b) => &b[..],
        Gathered::Filled(0) => return Ok(None),
        Gathered::Filled(n) => &buf[..*n],
    };
    Ok(Some((c.sock.write(data), data.len())))
}

fn write_tls(c: &mut Conn, buf: &mut [u8], now: Instant) -> (io::Result<bool>, u64) {
    let Some(tls) = c.tls.as_mut() else {
        return (Ok(false), 0);
    };
    let mut written: u64 = 0;
    loop {
        // Hand plaintext to rustls until its buffer limit pushes back.
        if !tls.is_handshaking() {
            if let Err(e) = fill_tls(tls, &mut c.engine, &mut c.pending_log, buf, now) {
                return (Err(e), written);
            }
        }
        if !tls.wants_write() || !c.readiness.writable() || written >= WRITE_PER_ROUND {
            break;
        }
        match tls.write_tls(&mut c.sock) {
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.readiness.write_blocked();
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), written),
        }
    }
    // The response is out: free the session's output buffer while the connection
    // waits (it is kept between records of one response so they reuse it), unless
    // the engine is busy with request after request (HTTP/2).
    tls.keep_buffers(c.engine.keeps_scratch());
    if !tls.wants_write() && c.engine.out().front().is_none() {
        tls.release_idle_buffers();
    }
    (Ok(written > 0), written)
}

/// Hands the engine's output to rustls, gathered (`gather`) up to what the session
/// accepts, then encrypted in one call: a turn's small responses, or a DATA frame
/// header and its file bytes, so become full 16 KiB records instead of one record per
/// chunk (each record costs a header, a tag and a cipher setup).
fn fill_tls(
    tls: &mut crate::tls::TlsSession,
    engine: &mut Engine,
    pending_log: &mut PendingLines,
    buf: &mut [u8],
    now: Instant,
) -> io::Result<()> {
    loop {
        let limit = tls.send_room().min(buf.len());
        if limit == 0 {
            return Ok(());
        }
        let gathered = gather(engine.transmit(now), &mut buf[..limit], true)?;
        let data = match &gathered {
            Gathered::Single(b) => &b[..],
            Gathered::Filled(0) => return Ok(()),
            Gathered::Filled(n) => &buf[..*n],
        };
        let accepted = tls.writer().write(data)?;
        if accepted == 0 {
            return Ok(());
        }
        engine.out().advance(accepted as u64);
        pending_log.note_sent(accepted as u64);
        if accepted < data.len() {
            return Ok(());
        }
    }
}

/// What [`gather`] prepared for one write.
enum Gathered {
    /// The front chunk fills the write by itself, or is all there is: sent from where
    /// it is, no copy.
    Single(Bytes),
    /// The first `n` bytes of the buffer (0: nothing queued).
    Filled(usize),
}

/// Copies the in-memory chunks at the front of `out` and `pread`s its file regions
/// into `buf`, in order, until `buf` is full or a file read comes up short. Nothing
/// is consumed: the caller `advance`s by what the socket or session took, and what
/// it did not take is gathered again next time. `whole_regions` (TLS, whose HTTP/2
/// frames are sized to a record each, so four fill the session's room): a region
/// that does not fit whole, once half of `buf` is filled, is left for the next write
/// instead of being read in two parts. h2c writes are sized to TCP segments instead,
/// which frames cannot match, so there a write always fills its packet.
fn gather(out: &OutQueue, buf: &mut [u8], whole_regions: bool) -> io::Result<Gathered> {
    let limit = buf.len();
    // A lone chunk is written from where it is, whatever its size: copying it would
    // only move the same octets to another buffer (a turn's small HTTP/2 frames are
    // one staged chunk).
    let mut chunks = out.iter();
    if let (Some(Chunk::Bytes(b)), None) = (chunks.next(), chunks.next()) {
        return Ok(Gathered::Single(b.clone()));
    }
    let mut filled = 0;
    for chunk in out.iter() {
        if filled == limit {
            break;
        }
        match chunk {
            Chunk::Bytes(b) if filled == 0 && b.len() >= limit => {
                return Ok(Gathered::Single(b.clone()));
            }
            Chunk::Bytes(b) => {
                let n = b.len().min(limit - filled);
                buf[filled..filled + n].copy_from_slice(&b[..n]);
                filled += n;
            }
            // A region that does not fit whole waits for the next write once half of
            // this one is gathered: split, it would be read twice (two `pread`s of
            // the same frame), and the writes after it would split every frame.
            Chunk::File(r)
                if whole_regions && filled >= limit / 2 && r.len as usize > limit - filled =>
            {
                break
            }
            Chunk::File(r) => {
                let want = (r.len as usize).min(limit - filled);
                let got = r.file.read_at(&mut buf[filled..filled + want], r.offset)?;
                if got == 0 {
                    return Err(super::sys::mapped::truncated());
                }
                filled += got;
                if got < want {
                    break;
                }
            }
        }
    }
    Ok(Gathered::Filled(filled))
}

#[cfg(test)]
mod h2_socket_tests {
    #![allow(clippy::unwrap_used)]
    use super::super::conn::Conn;
    use super::super::stats::{Protocol, WorkerCounters};
    use super::super::sys::sockopt::notsent_lowat;
    use super::sniff_h2c_preface;
    use crate::config::Config;
    use std::io::Write;
    use std::time::{Duration, Instant};

    /// The server side of a real loopback connection whose client sent `first`, as
    /// the worker holds it once the bytes are there.
    fn accepted(cfg: &Config, first: &[u8]) -> (Conn, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, peer) = l.accept().unwrap();
        client.write_all(first).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Wait for the bytes while blocking, then hand the socket over non-blocking.
        let mut peek = [0u8; 4];
        while s.peek(&mut peek).unwrap() < peek.len().min(first.len()) {}
        s.set_nonblocking(true).unwrap();
        let sock = mio::net::TcpStream::from_std(s);
        let mut c = Conn::new(0, sock, peer, None, Protocol::Http, cfg, Instant::now());
        c.readiness.note(true, false, false);
        (c, client)
    }

    fn h2c(lowat: usize) -> Config {
        Config {
            enable_h2c: true,
            http2_notsent_lowat: lowat,
            ..Config::default()
        }
    }

    /// `http2_notsent_lowat`: a connection that turns out to speak HTTP/2 gets
    /// TCP_NOTSENT_LOWAT on its socket; one that speaks HTTP/1.1, or with the key at 0,
    /// keeps the kernel's default.
    #[test]
    fn http2_connection_gets_its_notsent_lowat_http11_and_zero_do_not() {
        let stats = WorkerCounters::default();
        let cfg = h2c(32 * 1024);
        let (mut c, _client) = accepted(&cfg, crate::proto::h2::PREFACE);
        let default = notsent_lowat(&c.sock).unwrap();
        assert_ne!(default, 32 * 1024);
        sniff_h2c_preface(&mut c, &cfg, Instant::now(), &stats).unwrap();
        assert!(c.engine.is_h2());
        assert_eq!(notsent_lowat(&c.sock).unwrap(), 32 * 1024);

        let (mut c, _client) = accepted(&cfg, b"GET / HTTP/1.1\r\n\r\n");
        sniff_h2c_preface(&mut c, &cfg, Instant::now(), &stats).unwrap();
        assert!(!c.engine.is_h2());
        assert_eq!(notsent_lowat(&c.sock).unwrap(), default);

        let off = h2c(0);
        let (mut c, _client) = accepted(&off, crate::proto::h2::PREFACE);
        sniff_h2c_preface(&mut c, &off, Instant::now(), &stats).unwrap();
        assert!(c.engine.is_h2());
        assert_eq!(notsent_lowat(&c.sock).unwrap(), default);
    }
}

#[cfg(test)]
mod tests {
    use super::{gather, Gathered};
    use crate::proto::out::OutQueue;
    use crate::service::FileRegion;
    use bytes::Bytes;
    use std::io::Write;
    use std::sync::Arc;

    /// A file holding 0, 1, 2, ... (mod 251), so any misplaced byte shows.
    fn file(len: usize) -> (Arc<std::fs::File>, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        (Arc::new(f), data)
    }

    /// The queue an HTTP/2 body becomes: per frame a 9-byte head, then a file region.
    fn frames(f: &Arc<std::fs::File>, frame: u64, count: u64) -> (OutQueue, Vec<u8>) {
        let (mut q, mut wire) = (OutQueue::new(), Vec::new());
        let data: Vec<u8> = (0..frame * count).map(|i| (i % 251) as u8).collect();
        for i in 0..count {
            let head = Bytes::from(vec![i as u8; 9]);
            wire.extend_from_slice(&head);
            q.push_bytes(head);
            q.push_file(FileRegion {
                file: f.clone(),
                offset: i * frame,
                len: frame,
            });
            wire.extend_from_slice(&data[(i * frame) as usize..((i + 1) * frame) as usize]);
        }
        (q, wire)
    }

    fn filled(g: Gathered) -> usize {
        match g {
            Gathered::Filled(n) => n,
            Gathered::Single(_) => panic!("expected gathered bytes"),
        }
    }

    #[test]
    fn a_lone_chunk_is_written_in_place_and_several_are_gathered() {
        let mut buf = vec![0u8; 16 * 1024];
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from_static(b"one small turn of frames"));
        match gather(&q, &mut buf, false).unwrap() {
            Gathered::Single(b) => assert_eq!(&b[..], b"one small turn of frames"),
            Gathered::Filled(_) => panic!("a lone chunk was copied"),
        }
        q.push_bytes(Bytes::from_static(b", and another"));
        let n = filled(gather(&q, &mut buf, false).unwrap());
        assert_eq!(&buf[..n], b"one small turn of frames, and another");
    }

    #[test]
    fn h2c_gather_puts_many_data_frames_in_wire_order_in_one_buffer() {
        let (f, _) = file(64 * 1024);
        let (q, wire) = frames(&f, 16_384, 4);
        let mut buf = vec![0u8; 256 * 1024];
        let n = filled(gather(&q, &mut buf, false).unwrap());
        assert_eq!(n, wire.len());
        assert!(buf[..n] == wire[..]);
        // Nothing consumed: the caller advances by what the socket took.
        assert_eq!(q.total(), wire.len() as u64);
    }

    #[test]
    fn h2c_gather_stops_at_the_buffer_and_resumes_after_a_partial_advance() {
        let (f, _) = file(64 * 1024);
        let (mut q, wire) = frames(&f, 16_384, 4);
        // A buffer ending inside the second frame's file bytes.
        let mut buf = vec![0u8; 20_000];
        let n = filled(gather(&q, &mut buf, false).unwrap());
        assert_eq!(n, 20_000);
        assert!(buf[..] == wire[..20_000]);
        // The socket took 17,000 bytes: the next gather starts exactly there.
        q.advance(17_000);
        let mut rest = vec![0u8; 256 * 1024];
        let m = filled(gather(&q, &mut rest, false).unwrap());
        assert!(rest[..m] == wire[17_000..]);
    }

    /// TLS: a file region that does not fit whole, once half the write is gathered,
    /// waits for the next write: read in two parts it would cost a second `pread`.
    #[test]
    fn tls_gather_takes_whole_frames_and_resumes_after_a_partial_advance() {
        let (f, _) = file(64 * 1024);
        let (mut q, wire) = frames(&f, 16_384, 4);
        // A buffer ending inside the second frame's file bytes: the write ends with
        // the first frame and the second one's header.
        let mut buf = vec![0u8; 20_000];
        let n = filled(gather(&q, &mut buf, true).unwrap());
        assert_eq!(n, 16_393 + 9);
        assert!(buf[..n] == wire[..n]);
        // The socket took 10,000 bytes: the next gather starts exactly there (the rest
        // of a region at the front is read in part, so a write always progresses).
        q.advance(10_000);
        let mut rest = vec![0u8; 256 * 1024];
        let m = filled(gather(&q, &mut rest, true).unwrap());
        assert_eq!(m, wire.len() - 10_000);
        assert!(rest[..m] == wire[10_000..]);
    }

    /// TLS, before half the write is gathered, a region is read in part: a frame
    /// larger than the write still goes out.
    #[test]
    fn tls_gather_reads_part_of_a_region_that_could_never_fit() {
        let (f, _) = file(64 * 1024);
        let (q, wire) = frames(&f, 16_384, 2);
        let mut buf = vec![0u8; 8_000];
        let n = filled(gather(&q, &mut buf, true).unwrap());
        assert_eq!(n, 8_000);
        assert!(buf[..] == wire[..8_000]);
    }

    /// One gathered write is one TSO/GSO packet: whole segments, never a tiny
    /// second packet for pacing to hold back.
    #[test]
    fn h2c_gather_limit_is_a_whole_number_of_segments_within_the_bound() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let _peer = l.accept().unwrap();
        let sock = mio::net::TcpStream::from_std(s);
        let mss = nix::sys::socket::getsockopt(&sock, nix::sys::socket::sockopt::TcpMaxSeg).unwrap()
            as usize;
        let limit = super::gather_limit(&sock);
        assert_eq!(limit % mss, 0, "limit {limit}, mss {mss}");
        assert!(limit <= super::H2C_GATHER.max(mss));
        assert!(
            limit + mss > super::H2C_GATHER,
            "limit {limit} wastes a segment"
        );
    }

    #[test]
    fn gather_sends_a_chunk_that_fills_the_write_from_where_it_is() {
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from(vec![7u8; 4096]));
        let mut buf = vec![0u8; 1024];
        match gather(&q, &mut buf, false).unwrap() {
            Gathered::Single(b) => assert_eq!(b.len(), 4096),
            Gathered::Filled(_) => panic!("a chunk larger than the write is not copied"),
        }
        assert!(matches!(
            gather(&OutQueue::new(), &mut buf, false).unwrap(),
            Gathered::Filled(0)
        ));
    }

    #[test]
    fn gather_of_a_file_truncated_under_us_is_an_error_not_short_data() {
        let (f, _) = file(1000);
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from_static(b"head"));
        q.push_file(FileRegion {
            file: f,
            offset: 1000,
            len: 500,
        });
        let mut buf = vec![0u8; 4096];
        let e = gather(&q, &mut buf, false)
            .err()
            .expect("truncated file must fail");
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
