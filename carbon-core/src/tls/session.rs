//! One server-side TLS connection, on rustls's unbuffered API, with the buffered API's
//! calls (`read_tls`, `process_new_packets`, `reader`, `writer`, `write_tls`) so the
//! driver pumps it exactly as it would a `rustls::ServerConnection`.
//!
//! Why not `rustls::ServerConnection`: its receive buffer is a `Vec` of at least 4 KiB
//! that it keeps for the life of the connection, half of what an idle TLS keep-alive
//! connection costs (docs/tls.md, "Idle connections"). Here every buffer is ours and
//! is released as soon as it is empty, so an idle connection holds only rustls's
//! connection state and record keys.
//!
//! Bounds: received TLS bytes wait here only while a record or a handshake message is
//! incomplete ([`MAX_INCOMING`]); decrypted data only until the driver reads it, which
//! it does right after every `read_tls`; bytes to send up to [`MAX_OUTGOING`], beyond
//! which `writer()` accepts nothing (backpressure, as rustls's buffer limit does).

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};
use rustls::{Error, ServerConfig};

/// Bytes asked of the socket per `read_tls`, as rustls's own buffered reader does.
const READ_SIZE: usize = 4096;
use super::client_hello::Joiner;
pub use crate::limits::TLS_MAX_INCOMING as MAX_INCOMING;
pub use crate::limits::TLS_MAX_OUTGOING as MAX_OUTGOING;
/// TLS 1.3 record overhead (RFC 8446 section 5.2: header 5, content type 1, AEAD tag
/// 16), rounded up; the exact size is retried if rustls needs more.
const RECORD_OVERHEAD: usize = 64;
/// Plaintext per record (RFC 8446 section 5.1).
pub(crate) const MAX_FRAGMENT: usize = 16 * 1024;

pub struct TlsSession {
    conn: UnbufferedServerConnection,
    /// Received TLS bytes not yet processed: a partial record or handshake message.
    incoming: Vec<u8>,
    /// Decrypted application data; `plaintext_pos` is where the reader stands.
    plaintext: Vec<u8>,
    plaintext_pos: usize,
    /// Encrypted bytes to send.
    outgoing: OutBuf,
    /// close_notify received (RFC 8446 section 6.1): the reader returns end of stream.
    peer_closed: bool,
    /// The first fatal error. rustls's unbuffered connection does not remember every
    /// error (a malformed record is skipped on the next call) and must not be driven
    /// after one, so the session stops here for good.
    error: Option<Error>,
    /// The ClientHello's server name (`client_hello.rs`), read before rustls
    /// consumes the records that carry it.
    sni: Option<Arc<str>>,
    /// The ClientHello's server name is still to be read.
    sni_pending: bool,
    /// A ClientHello that spans records, joined from the moment its first record is
    /// whole (rustls then consumes the records as they complete) until the name is
    /// read (`client_hello::Joiner`, bounded there).
    hello: Option<Box<Joiner>>,
    /// Keep empty buffers for the next records ([`Self::keep_buffers`]).
    keep: bool,
}

/// What to do when the connection can send application data.
enum Send<'a> {
    Nothing,
    Data(&'a [u8]),
    CloseNotify,
}

impl TlsSession {
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, Error> {
        Ok(TlsSession {
            conn: UnbufferedServerConnection::new(config)?,
            incoming: Vec::new(),
            plaintext: Vec::new(),
            plaintext_pos: 0,
            outgoing: OutBuf::default(),
            peer_closed: false,
            error: None,
            sni: None,
            sni_pending: true,
            hello: None,
            keep: false,
        })
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// True while encrypted bytes wait for `write_tls`.
    pub fn wants_write(&self) -> bool {
        self.outgoing.len() > 0
    }

    /// The server name the client sent in its ClientHello (RFC 6066 §3), lowercase.
    /// Shared, so a request can hold it while the connection is borrowed mutably.
    pub fn server_name(&self) -> Option<Arc<str>> {
        self.sni.clone()
    }

    /// Plaintext bytes `writer()` would accept now (0 during the handshake): what a
    /// caller may gather for one write, so its bytes become full records at once.
    pub fn send_room(&self) -> usize {
        if self.error.is_some() || self.is_handshaking() {
            return 0;
        }
        let room = MAX_OUTGOING.saturating_sub(self.outgoing.len());
        // Every record of the write costs its overhead in the output buffer: whole
        // records first, then what is left of a last one.
        let per_record = MAX_FRAGMENT + RECORD_OVERHEAD;
        (room / per_record) * MAX_FRAGMENT + (room % per_record).saturating_sub(RECORD_OVERHEAD)
    }

    /// The ALPN protocol agreed in the handshake, if any (RFC 7301).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// Which engine to run once `is_handshaking()` is false; see [`super::app_protocol`].
    pub fn app_protocol(&self) -> super::AppProtocol {
        match self.alpn_protocol() {
            Some(super::policy::ALPN_H2) => super::AppProtocol::H2,
            _ => super::AppProtocol::Http11,
        }
    }

    /// Reads what the socket has (up to 4 KiB); `Ok(0)` is the peer's end of stream.
    /// Call `process_new_packets` next.
    pub fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        if self.incoming.len() >= MAX_INCOMING {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS input beyond the bound for one record or handshake message",
            ));
        }
        let start = self.incoming.len();
        self.incoming.resize(start + READ_SIZE, 0);
        let res = rd.read(&mut self.incoming[start..]);
        let n = *res.as_ref().unwrap_or(&0);
        self.incoming.truncate(start + n);
        if let Some(hello) = self.hello.as_mut() {
            hello.push(&self.incoming[start..]);
        }
        self.release_empty_input();
        res
    }

    /// Processes every complete record received: handshake messages (queuing the
    /// answers for `write_tls`), application data (for `reader()`), alerts. An error is
    /// fatal and sticky; the alert that reports it is queued, so still call `write_tls`.
    pub fn process_new_packets(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        // rustls consumes complete records only, so the first record is still at the
        // start of `incoming` until it is complete, and read here before rustls does.
        if self.sni_pending {
            self.look_for_sni();
        }
        match self.pump(Send::Nothing) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.fail(e.clone());
                Err(e)
            }
        }
    }

    /// Queues a close_notify alert (RFC 8446 section 6.1) once the handshake is done.
    pub fn send_close_notify(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.pump(Send::CloseNotify) {
                self.fail(e);
            }
        }
    }

    /// Records the error and queues the fatal alert rustls prepared for it, if any.
    ///
    /// rustls hands out queued records (a ServerHello already written, then the alert)
    /// before it looks at input again, and `CommonState::wants_write` says whether any
    /// is queued. Only while one is, is it asked again: with none queued it would parse
    /// input after a fatal error and could raise a second fatal alert, which it
    /// forbids. The input is kept until then because rustls still refers to the bytes
    /// it has parsed but not released.
    fn fail(&mut self, e: Error) {
        self.error = Some(e);
        // Nothing more is read: a ClientHello being joined never completes.
        self.sni_pending = false;
        self.hello = None;
        // A TLS 1.3 server flight is a handful of records; the bound only guards
        // against a rustls change that kept producing them.
        for _ in 0..16 {
            // `wants_write` of rustls's `CommonState`: its queue of records to encode.
            if !self.conn.wants_write() {
                break;
            }
            let status = self.conn.process_tls_records(&mut self.incoming);
            let Ok(ConnectionState::EncodeTlsData(mut data)) = status.state else {
                break;
            };
            let out = &mut self.outgoing;
            if out
                .append(512, |buf| data.encode(buf).map_err(encode_err))
                .is_err()
            {
                break;
            }
        }
        self.incoming = Vec::new();
        self.plaintext = Vec::new();
        self.plaintext_pos = 0;
    }

    pub fn reader(&mut self) -> Reader<'_> {
        Reader(self)
    }

    pub fn writer(&mut self) -> Writer<'_> {
        Writer(self)
    }

    /// Writes queued encrypted bytes to `wr`.
    pub fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        let n = wr.write(self.outgoing.pending())?;
        self.outgoing.consume(n);
        Ok(n)
    }

    /// Reads the server name once the ClientHello is whole (`client_hello.rs`).
    fn look_for_sni(&mut self) {
        use super::client_hello::{first_record_complete, server_name, Sni};
        let sni = match self.hello.as_mut() {
            Some(hello) => hello.advance(),
            None => match server_name(&self.incoming) {
                // The message goes on in records still to come, and rustls is about
                // to consume the ones here: join them from now on.
                Sni::NeedMore if first_record_complete(&self.incoming) => {
                    let mut hello = Box::<Joiner>::default();
                    hello.push(&self.incoming);
                    let sni = hello.advance();
                    self.hello = Some(hello);
                    sni
                }
                sni => sni,
            },
        };
        match sni {
            Sni::NeedMore => {}
            Sni::Name(n) => self.end_sni_look(Some(Arc::from(n))),
            Sni::None => self.end_sni_look(None),
        }
    }

    fn end_sni_look(&mut self, sni: Option<Arc<str>>) {
        self.sni = sni;
        self.sni_pending = false;
        self.hello = None;
    }

    /// Drives rustls until it needs input or the peer: returns how many bytes of `send`
    /// data were encrypted (0 before the handshake completes or with no room).
    fn pump(&mut self, send: Send<'_>) -> Result<usize, Error> {
        let mut sent = 0;
        let result = loop {
            let status = self.conn.process_tls_records(&mut self.incoming);
            let discard = status.discard;
            let state = match status.state {
                Ok(state) => state,
                Err(e) => {
                    self.incoming.drain(..discard);
                    break Err(e);
                }
            };
            let stop = match state {
                ConnectionState::ReadTraffic(mut records) => {
                    let mut failed = None;
                    while let Some(record) = records.next_record() {
                        match record {
                            Ok(record) => self.plaintext.extend_from_slice(record.payload),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    if let Some(e) = failed {
                        self.incoming.drain(..discard);
                        break Err(e);
                    }
                    false
                }
                ConnectionState::EncodeTlsData(mut data) => {
                    let out = &mut self.outgoing;
                    if let Err(e) = out.append(512, |buf| data.encode(buf).map_err(encode_err)) {
                        break Err(e);
                    }
                    false
                }
                ConnectionState::TransmitTlsData(transmit) => {
                    // The encoded bytes are queued in order in `outgoing`; `write_tls`
                    // sends them before anything encoded later.
                    transmit.done();
                    false
                }
                ConnectionState::WriteTraffic(mut traffic) => {
                    let room = MAX_OUTGOING.saturating_sub(self.outgoing.len());
                    match send {
                        Send::Data(data) if room > RECORD_OVERHEAD => {
                            let take = data.len().min(room - RECORD_OVERHEAD);
                            let chunk = &data[..take];
                            let records = take.div_ceil(MAX_FRAGMENT).max(1);
                            let guess = take + records * RECORD_OVERHEAD;
                            let out = &mut self.outgoing;
                            match out.append(guess, |buf| {
                                traffic.encrypt(chunk, buf).map_err(encrypt_err)
                            }) {
                                Ok(()) => sent = take,
                                Err(e) => break Err(e),
                            }
                        }
                        Send::CloseNotify => {
                            let out = &mut self.outgoing;
                            if let Err(e) = out.append(RECORD_OVERHEAD, |buf| {
                                traffic.queue_close_notify(buf).map_err(encrypt_err)
                            }) {
                                break Err(e);
                            }
                        }
                        _ => {}
                    }
                    true
                }
                ConnectionState::PeerClosed => {
                    self.peer_closed = true;
                    false
                }
                ConnectionState::Closed => {
                    self.peer_closed = true;
                    true
                }
                // BlockedHandshake (needs more input), ReadEarlyData (0-RTT is off, see
                // mod.rs) and states a later rustls may add: nothing to do until input.
                _ => true,
            };
            self.incoming.drain(..discard);
            // WriteTraffic ends the loop, so `send` is acted on at most once.
            if stop {
                break Ok(sent);
            }
        };
        self.release_empty_input();
        result
    }

    /// Frees every buffer that holds nothing: what makes an idle connection small.
    ///
    /// The receive side frees itself as soon as it is empty. The output buffer is kept
    /// while a response is being sent, so that a large body reuses it record after
    /// record; call this when the engine above has nothing more to send.
    pub fn release_idle_buffers(&mut self) {
        if self.keep {
            return;
        }
        self.release_empty_input();
        if self.outgoing.len() == 0 {
            self.outgoing = OutBuf::default();
        }
    }

    /// While `on`, empty buffers are kept rather than freed: for a connection whose
    /// engine is busy with one request after another (HTTP/2 with streams in flight),
    /// freeing the output buffer after every turn and growing it again, zero-filled,
    /// at the next costs more than the records themselves. Turning it off frees what
    /// is empty at once.
    pub fn keep_buffers(&mut self, on: bool) {
        if self.keep != on {
            self.keep = on;
            self.release_idle_buffers();
        }
    }

    /// Frees the receive-side buffers that hold nothing (not the output buffer: see
    /// [`Self::release_idle_buffers`]).
    fn release_empty_input(&mut self) {
        if self.keep {
            return;
        }
        if self.incoming.is_empty() && self.incoming.capacity() > 0 {
            self.incoming = Vec::new();
        }
        if self.plaintext_pos >= self.plaintext.len() && self.plaintext.capacity() > 0 {
            self.plaintext = Vec::new();
            self.plaintext_pos = 0;
        }
    }
}

/// Bytes queued for the socket: `buf[start..end]`. `buf` stays initialised up to its
/// length, so appending does not zero-fill memory again for every record.
#[derive(Default)]
struct OutBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl OutBuf {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Appends what `fill` writes into a slice of `guess` bytes, growing it once to the
    /// exact size if rustls reports the slice too small.
    fn append(
        &mut self,
        guess: usize,
        mut fill: impl FnMut(&mut [u8]) -> Result<usize, Fill>,
    ) -> Result<(), Error> {
        let mut size = guess;
        for _ in 0..2 {
            if self.buf.len() < self.end + size && self.start > 0 {
                // Move what is still queued to the front before growing, so the
                // buffer stays within MAX_OUTGOING plus one write's worth.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < self.end + size {
                self.buf.resize(self.end + size, 0);
            }
            match fill(&mut self.buf[self.end..self.end + size]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(Fill::TooSmall(InsufficientSizeError { required_size })) => {
                    size = required_size
                }
                Err(Fill::Fatal(e)) => return Err(e),
            }
        }
        Err(Error::General("TLS output size grew while encoding".into()))
    }
}

enum Fill {
    TooSmall(InsufficientSizeError),
    Fatal(Error),
}

fn encode_err(e: EncodeError) -> Fill {
    match e {
        EncodeError::InsufficientSize(s) => Fill::TooSmall(s),
        other => Fill::Fatal(Error::General(other.to_string())),
    }
}

fn encrypt_err(e: EncryptError) -> Fill {
    match e {
        EncryptError::InsufficientSize(s) => Fill::TooSmall(s),
        other => Fill::Fatal(Error::General(other.to_string())),
    }
}

/// Decrypted application data. `Ok(0)` after the peer's close_notify; `WouldBlock`
/// when nothing is buffered.
pub struct Reader<'a>(&'a mut TlsSession);

impl Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let s = &mut *self.0;
        let available = &s.plaintext[s.plaintext_pos..];
        if available.is_empty() {
            return if s.peer_closed {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        s.plaintext_pos += n;
        s.release_empty_input();
        Ok(n)
    }
}

/// Application data to encrypt. Accepts nothing (`Ok(0)`) during the handshake or
/// while [`MAX_OUTGOING`] bytes wait for the socket.
pub struct Writer<'a>(&'a mut TlsSession);

impl Write for Writer<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.0.error {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        if data.is_empty() || self.0.is_handshaking() {
            return Ok(0);
        }
        match self.0.pump(Send::Data(data)) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.0.fail(e.clone());
                Err(io::Error::new(io::ErrorKind::InvalidData, e))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::super::test_util::*;
    use super::super::TlsSettings;
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore};
    use std::time::SystemTime;

    struct Pair {
        _dir: tempfile::TempDir,
        client: ClientConnection,
        server: TlsSession,
    }

    impl TlsSession {
        /// Bytes held in this session's own buffers (capacity, not length).
        fn buffered(&self) -> usize {
            self.incoming.capacity()
                + self.plaintext.capacity()
                + self.outgoing.buf.capacity()
                + self.hello.as_ref().map_or(0, |h| h.capacity())
        }
    }

    fn pair() -> Pair {
        pair_with_alpn(&[])
    }

    fn pair_with_alpn(alpn: &[&[u8]]) -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let pem = pem_for("localhost", &PKCS_ECDSA_P256_SHA256, yesterday());
        let (cert, key) = write_pem(dir.path(), "site", &pem);
        let settings = TlsSettings {
            cert: cert.clone(),
            key,
            sni: Vec::new(),
            offer_h2: false,
            session_cache_entries: 16,
            ticket_key_file: None,
        };
        let server = TlsSession::new(settings.build(SystemTime::now()).unwrap().config).unwrap();
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&cert).unwrap())
            .unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut config = config;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let name = ServerName::try_from("localhost").unwrap();
        let client = ClientConnection::new(Arc::new(config), name).unwrap();
        Pair {
            _dir: dir,
            client,
            server,
        }
    }

    /// Client to server, `piece` bytes per `read_tls`, then server to client.
    fn exchange(p: &mut Pair, piece: usize) {
        let mut wire = Vec::new();
        while p.client.wants_write() {
            p.client.write_tls(&mut wire).unwrap();
        }
        for part in wire.chunks(piece) {
            let mut part = part;
            while !part.is_empty() {
                p.server.read_tls(&mut part).unwrap();
                p.server.process_new_packets().unwrap();
            }
        }
        let mut back = Vec::new();
        while p.server.wants_write() {
            p.server.write_tls(&mut back).unwrap();
        }
        let mut back = &back[..];
        while !back.is_empty() {
            p.client.read_tls(&mut back).unwrap();
            p.client.process_new_packets().unwrap();
        }
    }

    fn handshake(p: &mut Pair, piece: usize) {
        for _ in 0..10 {
            exchange(p, piece);
            if !p.client.is_handshaking() && !p.server.is_handshaking() {
                return;
            }
        }
        panic!("handshake did not complete");
    }

    fn server_reads_all(p: &mut Pair) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match p.server.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        got
    }

    #[test]
    fn rfc8446_handshake_and_data_both_ways_even_one_byte_at_a_time() {
        for piece in [1, 7, 4096] {
            let mut p = pair();
            handshake(&mut p, piece);
            assert_eq!(p.server.app_protocol(), super::super::AppProtocol::Http11);
            let request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(50);
            p.client.writer().write_all(&request).unwrap();
            exchange(&mut p, piece);
            assert_eq!(server_reads_all(&mut p), request, "piece {piece}");

            let body = vec![b'x'; 100_000];
            let mut left = &body[..];
            let mut got = Vec::new();
            while !left.is_empty() {
                // 8 KiB per turn: the rustls client buffers at most 16 KiB it has
                // not been asked for.
                let n = p
                    .server
                    .writer()
                    .write(&left[..left.len().min(8192)])
                    .unwrap();
                assert!(n > 0);
                left = &left[n..];
                exchange(&mut p, piece);
                let mut buf = vec![0; 200_000];
                while let Ok(n) = p.client.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            }
            assert_eq!(got, body, "piece {piece}");
        }
    }

    /// The client's first flight, its one ClientHello record re-cut into records of
    /// at most `fragment` payload bytes each.
    fn fragmented_client_hello(p: &mut Pair, fragment: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        while p.client.wants_write() {
            p.client.write_tls(&mut wire).unwrap();
        }
        let len = usize::from(u16::from_be_bytes([wire[3], wire[4]]));
        assert_eq!(wire.len(), 5 + len, "one record");
        super::super::client_hello::split_into_records(&wire, fragment)
    }

    /// RFC 6066 §3 with RFC 8446 §5.1: the server name of a ClientHello split over
    /// many records, arriving in pieces that rustls consumes record by record, is read
    /// all the same, and the handshake completes.
    #[test]
    fn rfc6066_3_sni_of_a_client_hello_split_over_records_is_read() {
        for (fragment, piece) in [(100, 4096), (100, 7), (512, 1), (1, 4096)] {
            let mut p = pair();
            let wire = fragmented_client_hello(&mut p, fragment);
            for part in wire.chunks(piece) {
                let mut part = part;
                while !part.is_empty() {
                    p.server.read_tls(&mut part).unwrap();
                    p.server.process_new_packets().unwrap();
                }
            }
            assert_eq!(
                p.server.server_name().as_deref(),
                Some("localhost"),
                "fragment {fragment}, piece {piece}"
            );
            assert!(p.server.hello.is_none(), "the joiner is dropped");
            handshake(&mut p, 4096);
        }
    }

    #[test]
    fn idle_session_holds_no_buffer_after_a_request_and_response() {
        // The point of this type: rustls's ServerConnection keeps a 4 KiB receive
        // buffer for as long as the connection lives; an idle session keeps none.
        let mut p = pair();
        handshake(&mut p, 4096);
        p.client
            .writer()
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .unwrap();
        exchange(&mut p, 4096);
        assert_eq!(server_reads_all(&mut p), b"GET / HTTP/1.1\r\n\r\n");
        p.server.writer().write_all(&[b'y'; 5000]).unwrap();
        exchange(&mut p, 4096);
        assert!(!p.server.wants_write());
        // The driver calls this once the engine has nothing more to send.
        p.server.release_idle_buffers();
        assert_eq!(p.server.buffered(), 0);
    }

    /// A busy HTTP/2 connection keeps its buffers from turn to turn; once its engine
    /// is idle they go, as for any idle session.
    #[test]
    fn buffers_kept_while_busy_and_freed_when_keeping_ends() {
        let mut p = pair();
        handshake(&mut p, 4096);
        p.server.keep_buffers(true);
        p.client.writer().write_all(b"request").unwrap();
        exchange(&mut p, 4096);
        assert_eq!(server_reads_all(&mut p), b"request");
        p.server.writer().write_all(&[b'y'; 5000]).unwrap();
        exchange(&mut p, 4096);
        assert!(!p.server.wants_write());
        p.server.release_idle_buffers();
        assert!(p.server.buffered() > 0, "kept while busy");
        p.server.keep_buffers(false);
        assert_eq!(p.server.buffered(), 0);
    }

    #[test]
    fn writer_pushes_back_beyond_max_outgoing() {
        let mut p = pair();
        handshake(&mut p, 4096);
        let big = vec![0u8; 4 * MAX_OUTGOING];
        let mut accepted = 0;
        loop {
            let n = p.server.writer().write(&big[accepted..]).unwrap();
            if n == 0 {
                break;
            }
            accepted += n;
        }
        assert!(accepted <= MAX_OUTGOING, "{accepted}");
        assert!(accepted > MAX_OUTGOING / 2, "{accepted}");
        assert!(p.server.outgoing.buf.len() <= MAX_OUTGOING + 4 * RECORD_OVERHEAD);
    }

    /// A socket that takes at most `n` bytes per write.
    struct Trickle(usize, Vec<u8>);
    impl Write for Trickle {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(self.0);
            self.1.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_buffer_stays_bounded_when_the_socket_never_drains_it() {
        let mut p = pair();
        handshake(&mut p, 4096);
        let mut socket = Trickle(3000, Vec::new());
        for _ in 0..200 {
            let _ = p.server.writer().write(&[b'z'; 9000]).unwrap();
            p.server.write_tls(&mut socket).unwrap();
            assert!(
                p.server.outgoing.buf.len() <= MAX_OUTGOING + 9000 + 4 * RECORD_OVERHEAD,
                "{}",
                p.server.outgoing.buf.len()
            );
        }
        assert!(p.server.wants_write());
    }

    #[test]
    fn rfc8446_6_1_close_notify_both_ways() {
        let mut p = pair();
        handshake(&mut p, 4096);
        p.client.send_close_notify();
        exchange(&mut p, 4096);
        let mut buf = [0u8; 16];
        assert_eq!(p.server.reader().read(&mut buf).unwrap(), 0);
        p.server.send_close_notify();
        assert!(p.server.wants_write());
        exchange(&mut p, 4096);
        assert_eq!(p.client.reader().read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn garbage_instead_of_a_client_hello_is_a_sticky_error() {
        let mut p = pair();
        let mut junk: &[u8] = &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
        p.server.read_tls(&mut junk).unwrap();
        assert!(p.server.process_new_packets().is_err());
        assert!(p.server.process_new_packets().is_err(), "errors are sticky");
    }

    #[test]
    fn rfc7301_3_2_failed_handshake_queues_the_fatal_alert() {
        let mut p = pair_with_alpn(&[b"h2"]);
        let mut wire = Vec::new();
        while p.client.wants_write() {
            p.client.write_tls(&mut wire).unwrap();
        }
        let mut input = &wire[..];
        p.server.read_tls(&mut input).unwrap();
        assert!(p.server.process_new_packets().is_err());
        assert!(p.server.wants_write(), "no alert queued");
        let mut back = Vec::new();
        p.server.write_tls(&mut back).unwrap();
        let mut back = &back[..];
        p.client.read_tls(&mut back).unwrap();
        assert_eq!(
            p.client.process_new_packets().unwrap_err(),
            Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
        );
    }

    #[test]
    fn input_beyond_max_incoming_is_refused() {
        // A handshake record header announcing a message rustls waits for: the bytes
        // pile up until the bound.
        let mut p = pair();
        let mut fed = 0;
        let header = [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0xff, 0xff];
        let mut first: &[u8] = &header;
        p.server.read_tls(&mut first).unwrap();
        fed += header.len();
        let filler = [0u8; 4096];
        let err = loop {
            let mut input: &[u8] = &filler;
            match p.server.read_tls(&mut input) {
                Ok(n) => fed += n,
                Err(e) => break e,
            }
            if p.server.process_new_packets().is_err() {
                return; // rustls refused it first: also bounded
            }
            assert!(fed <= MAX_INCOMING + 4096, "{fed}");
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// Inline xorshift64: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Feeds `input` in random pieces, driving the session the way the driver does,
    /// and checks the bounds. A panic (rustls's debug assertions included) fails.
    fn feed_like_the_driver(server: &mut TlsSession, input: &[u8], rng: &mut Rng) {
        let mut rest = input;
        while !rest.is_empty() {
            let n = (1 + rng.below(600)).min(rest.len());
            let mut piece = &rest[..n];
            rest = &rest[n..];
            while !piece.is_empty() {
                if server.read_tls(&mut piece).is_err() {
                    return;
                }
                let failed = server.process_new_packets().is_err();
                let mut sink = [0u8; 512];
                while let Ok(n) = server.reader().read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
                if !server.is_handshaking() {
                    let _ = server.writer().write(b"HTTP/1.1 400 Bad Request\r\n\r\n");
                }
                let mut out = Vec::new();
                while server.wants_write() {
                    server.write_tls(&mut out).unwrap();
                }
                assert!(server.incoming.len() <= MAX_INCOMING);
                if failed {
                    assert!(server.process_new_packets().is_err(), "error not sticky");
                    return;
                }
            }
        }
        server.send_close_notify();
    }

    #[test]
    fn robustness_mutated_client_flights_never_panic() {
        // A real ClientHello, then application data after a real handshake, each with
        // a few random bytes changed, fed in random pieces.
        let mut rng = Rng(0x5eed_7153_5e55_1011);
        let mut p = pair();
        let mut hello = Vec::new();
        while p.client.wants_write() {
            p.client.write_tls(&mut hello).unwrap();
        }
        for i in 0..300 {
            let mut input = hello.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(input.len());
                input[at] = rng.next() as u8;
            }
            if i % 10 == 0 {
                input.truncate(rng.below(input.len()));
            }
            let mut server = pair().server;
            feed_like_the_driver(&mut server, &input, &mut rng);
        }
        // After a completed handshake: corrupt the application-data records.
        for _ in 0..100 {
            let mut q = pair();
            handshake(&mut q, 4096);
            let mut wire = Vec::new();
            q.client
                .writer()
                .write_all(b"GET / HTTP/1.1\r\n\r\n")
                .unwrap();
            while q.client.wants_write() {
                q.client.write_tls(&mut wire).unwrap();
            }
            let at = rng.below(wire.len());
            wire[at] ^= 1 + rng.next() as u8 % 255;
            feed_like_the_driver(&mut q.server, &wire, &mut rng);
        }
    }

    #[test]
    fn robustness_random_bytes_never_panic() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for _ in 0..300 {
            let len = rng.below(3000);
            let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Half of the inputs look like a handshake record to get past the first
            // byte check.
            if rng.below(2) == 0 && input.len() > 5 {
                input[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
            }
            let mut server = pair().server;
            feed_like_the_driver(&mut server, &input, &mut rng);
        }
    }
}
