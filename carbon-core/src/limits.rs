//! Every bound the engines enforce, with its default and the reason for it.
//!
//! Hitting a bound gives the peer the status the RFC names and never grows memory.

use std::time::Duration;

/// Size and count bounds for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version). Beyond it: 414 (RFC 9112 §3,
    /// RFC 9110 §15.5.15). 8 KiB like nginx's `large_client_header_buffers`.
    pub max_request_line: usize,
    /// Longest single header field line. Beyond it: 431 (RFC 6585 §5).
    pub max_header_line: usize,
    /// All header lines together. Beyond it: 431.
    pub max_headers_size: usize,
    /// Number of header fields. Beyond it: 431.
    pub max_headers: usize,
    /// Largest request body accepted (after chunked decoding). Beyond it: 413
    /// (RFC 9110 §15.5.14). The static-file service needs no bodies, so 1 MiB is ample.
    pub max_body: usize,
    /// Output queued per connection before the engine stops reading further pipelined
    /// requests (backpressure). File bodies count only as references, not bytes.
    pub max_output_queued: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_line: 16 * 1024,
            max_headers_size: 64 * 1024,
            max_headers: 100,
            max_body: 1024 * 1024,
            max_output_queued: 256 * 1024,
        }
    }
}

/// Every state where a peer can stall has one of these (defaults follow nginx's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request until its head is complete (slowloris).
    pub request_header: Duration,
    /// From the end of a request head until its whole body has arrived (slow POST).
    pub request_body: Duration,
    /// Idle keep-alive connection between requests.
    pub keep_alive: Duration,
    /// A write that makes no progress for this long closes the connection.
    pub write: Duration,
    /// A TLS handshake must complete within this time.
    pub tls_handshake: Duration,
    /// On SIGTERM/SIGINT, in-flight responses get this long before the workers exit.
    pub shutdown_drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request_header: Duration::from_secs(30),
            request_body: Duration::from_secs(60),
            keep_alive: Duration::from_secs(75),
            write: Duration::from_secs(60),
            tls_handshake: Duration::from_secs(10),
            shutdown_drain: Duration::from_secs(30),
        }
    }
}

/// Bounds and timers of one HTTP/2 connection (RFC 9113), each with its reason. A peer
/// that pushes against one is answered with the error code the RFC names, or with
/// GOAWAY(ENHANCE_YOUR_CALM) for abuse the RFC leaves to the implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http2Limits {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise; a HEADERS frame beyond it gets
    /// RST_STREAM(REFUSED_STREAM) (RFC 9113 §5.1.2). 128 like nginx and h2o.
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: what a client may send on one stream
    /// before we grant more (RFC 9113 §6.9.2). The RFC default, 65,535.
    pub initial_window_size: u32,
    /// Receive window of the whole connection, raised from 65,535 by a WINDOW_UPDATE
    /// right after our SETTINGS (RFC 9113 §6.9.1): uploads to several streams at once.
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise; larger frames are FRAME_SIZE_ERROR
    /// (RFC 9113 §4.2). The RFC minimum and default, 16,384: nothing to gain from more.
    pub max_frame_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the client may use
    /// (RFC 7541 §4.2). 4,096, the RFC default.
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded fields plus 32 bytes each (RFC 9113
    /// §6.5.2), enforced while decoding (HPACK bomb). Beyond it: 431. 64 KiB like the
    /// HTTP/1.1 header limit.
    pub max_header_list_size: u32,
    /// Encoded header block across HEADERS + CONTINUATION frames. Beyond it:
    /// GOAWAY(ENHANCE_YOUR_CALM) (CVE-2024-27316: a block that never ends).
    pub max_header_block_size: usize,
    /// CONTINUATION frames in one header block (CVE-2024-27316, and CVE-2019-9518
    /// floods of empty CONTINUATIONs). Beyond it: GOAWAY(ENHANCE_YOUR_CALM).
    pub max_continuation_frames: u32,
    /// Largest request body buffered for one stream; beyond it the request is answered
    /// 413 and the rest of its DATA is discarded (flow control still credited).
    pub max_request_body: usize,
    /// Request bodies buffered on one connection together: past it, no stream gets
    /// window beyond what it was granted, so memory is bounded by this, not by
    /// `max_concurrent_streams * max_request_body`.
    pub max_buffered_bodies: usize,
    /// Output queued per connection (bytes and file regions alike) before the engine
    /// stops producing DATA frames, and (in memory) before it stops reading: a peer
    /// that never reads cannot pin unbounded output (CVE-2019-9512/9517).
    pub max_output_queued: usize,
    /// Streams reset per `flood_window`, by the peer (rapid reset, CVE-2023-44487) and
    /// by us because of a peer's frame (MadeYouReset, CVE-2025-8671), counted together.
    /// Beyond it: GOAWAY(ENHANCE_YOUR_CALM).
    pub max_resets_per_window: u32,
    /// SETTINGS frames per `flood_window` (CVE-2019-9515 settings flood).
    pub max_settings_per_window: u32,
    /// PING frames per `flood_window` (CVE-2019-9512 ping flood).
    pub max_pings_per_window: u32,
    /// PRIORITY frames per `flood_window` (CVE-2019-9513 resource loop).
    pub max_priority_per_window: u32,
    /// DATA frames without payload or END_STREAM, and HEADERS / CONTINUATION frames
    /// without payload, per `flood_window` (CVE-2019-9518 empty frames flood).
    pub max_empty_frames_per_window: u32,
    /// WINDOW_UPDATE frames per `flood_window`, on top of one per DATA frame we sent
    /// in the window (a downloading client legitimately answers every DATA frame).
    pub max_window_updates_per_window: u32,
    /// The period over which the counters above are taken.
    pub flood_window: Duration,
    /// The client preface and its first SETTINGS must arrive within this time.
    pub preface_timeout: Duration,
    /// Our SETTINGS must be acknowledged within this time, or GOAWAY(SETTINGS_TIMEOUT)
    /// (RFC 9113 §6.5.3).
    pub settings_ack_timeout: Duration,
    /// A connection with no open stream for this long is closed with GOAWAY(NO_ERROR).
    pub idle_timeout: Duration,
    /// A request (headers and body) must be complete within this time of its HEADERS,
    /// or the stream is reset with CANCEL (slow POST over HTTP/2).
    pub request_timeout: Duration,
    /// Responses wait for the client's flow-control window with nothing else to send
    /// for this long: the connection is closed (GOAWAY(NO_ERROR)). A client that
    /// never opens its window cannot pin a connection and its responses; the
    /// driver's write-stall timer only covers writes that block. 60 s like nginx's
    /// send_timeout.
    pub window_stall_timeout: Duration,
    /// Graceful shutdown: how long the first GOAWAY waits for the PING round trip
    /// before the final GOAWAY is sent (RFC 9113 §6.8).
    pub shutdown_ping_timeout: Duration,
    /// Output queued on one extended CONNECT stream (RFC 8441, a WebSocket) before
    /// the WebSocket session is told to wait: a client that never opens that stream's
    /// window pins at most this (plus the session's own `max_send_queue`) until
    /// `window_stall_timeout`. 64 KiB, one default window.
    pub tunnel_send_queue: usize,
    /// After our END_STREAM on an extended CONNECT stream, how long the client's may
    /// take (RFC 8441 §6: both sides end the stream after the close handshake) before
    /// the stream is reset NO_ERROR, so a client cannot hold a stream slot forever.
    pub tunnel_end_stream_linger: Duration,
}

impl Default for Http2Limits {
    fn default() -> Self {
        Http2Limits {
            max_concurrent_streams: 128,
            initial_window_size: 65_535,
            connection_window_size: 1024 * 1024,
            max_frame_size: 16_384,
            header_table_size: 4_096,
            max_header_list_size: 64 * 1024,
            max_header_block_size: 64 * 1024,
            max_continuation_frames: 32,
            max_request_body: 1024 * 1024,
            max_buffered_bodies: 4 * 1024 * 1024,
            max_output_queued: 256 * 1024,
            max_resets_per_window: 200,
            max_settings_per_window: 100,
            max_pings_per_window: 100,
            max_priority_per_window: 1_000,
            max_empty_frames_per_window: 100,
            max_window_updates_per_window: 1_000,
            flood_window: Duration::from_secs(10),
            preface_timeout: Duration::from_secs(10),
            settings_ack_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            request_timeout: Duration::from_secs(60),
            window_stall_timeout: Duration::from_secs(60),
            shutdown_ping_timeout: Duration::from_secs(1),
            tunnel_send_queue: 64 * 1024,
            tunnel_end_stream_linger: Duration::from_secs(10),
        }
    }
}

/// Bounds and timers of one WebSocket connection (RFC 6455), each with its reason. A
/// peer that pushes against a size bound is closed with 1009 (§7.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsLimits {
    /// Largest message delivered whole to a handler, after decompression (the bound
    /// is checked while inflating, so a compression bomb never allocates more).
    /// Beyond it: 1009. 16 MiB, tungstenite's and Autobahn's largest echo case.
    pub max_message: usize,
    /// Largest payload of one frame. Beyond it: 1009, refused from the header alone.
    /// Equal to `max_message`: a larger frame could never form a message.
    pub max_frame: u64,
    /// Largest message a handler that asked for chunks ([`crate::service::ws`])
    /// receives as a stream; nothing of it is buffered whole. 1 GiB.
    pub max_streamed_message: u64,
    /// Output queued for the peer beyond which the engine stops reading and
    /// decoding (backpressure); sends are refused (`SendError::QueueFull`) past twice
    /// it, so answers to messages already decoded still fit. A client that stops
    /// reading cannot grow memory. One message may take the queue past it once.
    /// 1 MiB, four times the HTTP output bound (WebSocket messages come in bursts).
    pub max_send_queue: usize,
    /// Messages queued from other threads (broadcast) and not yet taken by the
    /// connection's worker; beyond it the sender gets `QueueFull`.
    pub max_remote_queue: usize,
    /// Silence from the peer for this long sends a Ping (§5.5.2), so NAT and proxies
    /// keep the connection and a dead peer is found. 30 s, under common 60 s NAT
    /// and proxy timeouts.
    pub ping_interval: std::time::Duration,
    /// No byte from the peer this long after our Ping: closed with 1001 (going away).
    pub pong_timeout: std::time::Duration,
    /// After our Close frame, the peer's Close must arrive within this time, or the
    /// connection is dropped (§7.1.1: the server closes the TCP connection).
    pub close_timeout: std::time::Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_message: 16 << 20,
            max_frame: 16 << 20,
            max_streamed_message: 1 << 30,
            max_send_queue: 1 << 20,
            max_remote_queue: 256,
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
        }
    }
}

/// The connection-slot policy (`driver/slots.rs`) starts reclaiming slots once this
/// share of `max_connections` (in percent) is in use: the last tenth stays free for
/// newcomers, so a client arriving during an attack finds a slot at once instead of
/// waiting for a victim.
pub const SLOT_HIGH_WATER_PERCENT: usize = 90;

/// Under pressure, a request head or body must arrive at this average rate (bytes per
/// second since it started) or its connection may be reclaimed. Apache's
/// mod_reqtimeout uses the same `MinRate=500`; a slowloris (CVE-2007-6750) or slow
/// POST sends a few bytes every several seconds, orders of magnitude below it.
pub const MIN_RECEIVE_RATE: u64 = 500;

/// Under pressure, a head or body younger than this is never reclaimed: a new client
/// must have time to send its first segments (a few round trips on a slow mobile
/// link) before its rate means anything.
pub const MIN_RATE_GRACE: Duration = Duration::from_secs(2);

/// Under pressure, a response the peer has taken nothing of for this long may be
/// reclaimed (the "slow read" attack: a tiny TCP window read a few bytes at a time).
/// Longer than the grace for requests: the kernel reports room to write only once a
/// third of the socket buffer has drained, which on an honest link takes a few round
/// trips, and about 6 s for an 87 KB buffer on a 5 KB/s (2G) link. A slow reader
/// blocks the writer for minutes. nginx's `send_timeout` is 60 s; this applies only
/// when slots are short, where a newcomer is worth more than a nearly dead download.
pub const SEND_STALL: Duration = Duration::from_secs(5);

/// Under pressure, and only when nothing cheaper is left (`driver/slots.rs`), a
/// WebSocket session that has carried no data frame for this long may be closed
/// (1001) for a newcomer; `websocket_reclaim_after` changes it or turns it off.
/// Ten minutes: far above the message gap of a chat or a dashboard in use (and ten
/// times nginx's default `proxy_read_timeout` of 60 s for a proxied session), yet
/// short enough that slots held by abandoned tabs come back within one incident.
pub const WS_RECLAIM_AFTER: Duration = Duration::from_secs(600);

/// A WebSocket data frame's buffer is reserved for its announced length up to this
/// much when its header arrives, so a large message is not copied again each time
/// the buffer doubles (about a third of the server's instructions on 1 MiB echoes).
/// Bounded, and only for frames within the message limit, because the length is
/// what the peer claims: a peer that announces a frame and stalls holds at most this
/// much reserved address space (never touched, so not resident), the size of the
/// send queue it could already fill. Past it the buffer grows as data arrives.
pub const WS_RESERVE_AHEAD: usize = 1 << 20;

/// The longest PROXY protocol v1 header, CRLF included (the specification's own bound:
/// "PROXY UNKNOWN" with two full IPv6 addresses and ports is 107 bytes). A sender that
/// has not ended its line by then is not speaking the protocol.
pub const PROXY_V1_MAX_HEADER: usize = 107;

/// The longest PROXY protocol v2 address block plus TLVs we accept (the 16-byte fixed
/// header not included). The length field allows 65535; the largest address block is
/// 216 bytes (AF_UNIX), and HAProxy's usual TLVs (ALPN, authority, unique id, SSL
/// details) fit well within the rest, so a bigger claim only costs memory.
pub const PROXY_V2_MAX_PAYLOAD: usize = 1024;

/// How long a connection on a PROXY protocol listener may take to send its header.
/// A balancer sends it in its first segment; this bounds a peer that connects and
/// stays silent before the HTTP or TLS timeouts start.
pub const PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many `Forwarded` / `X-Forwarded-For` entries are walked (right to
/// left) looking for the client. Real chains have a handful of proxies; the bound
/// keeps a header padded with trusted-looking entries from costing more.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// HTTP/2 server push (RFC 9113 §8.4): resources promised with one response at most.
/// Each promise costs a stream, a header block and a service call before the page's
/// own HEADERS leave, so a long list delays the page it is meant to speed up; 8 covers
/// a page's style sheets, scripts and fonts. Also the longest `http2_push` list.
pub const H2_MAX_PUSHES_PER_REQUEST: usize = 8;

/// HTTP/2 server push: promises on one connection over its life. A client that
/// requests the same page again and again would otherwise get every resource again
/// each time (it may cancel them, but we have already read and framed them); past
/// the bound, responses go out without pushes.
pub const H2_MAX_PUSHES_PER_CONNECTION: u32 = 100;

/// Pages the `http2_push` key may list: each one costs a comparison on every HTTP/2
/// GET while push is on.
pub const MAX_PUSH_PAGES: usize = 64;

// ----- Bounds that lived next to the code they bound; each module imports its own. -----

/// HTTP/1.1 chunked coding (`proto/h1/chunked.rs`):
/// Longest chunk-size line (size plus extensions).
pub const H1_MAX_CHUNK_LINE: u32 = 4096;

/// HTTP/1.1 chunked coding (`proto/h1/chunked.rs`):
/// Extension bytes accepted over a whole body. Extensions cost the server parsing work
/// without counting toward `max_body`; CVE-2023-39326 (Go net/http) let a client send
/// gigabytes of them for a few bytes of body.
pub const H1_MAX_CHUNK_EXTENSION_BYTES: u32 = 64 * 1024;

/// HTTP/1.1 (`proto/h1/conn.rs`):
/// While a request is outstanding, reading stops once this much pipelined input is
/// buffered: enough for a few pipelined GETs, not a pile of work queued up front.
pub const H1_PIPELINE_READ_PAUSE: usize = 4 * 1024;

/// HTTP/1.1 (`proto/h1/conn.rs`):
/// One read past the pause that a driver may still hand over (its read buffer).
pub const H1_DRIVER_READ_SLACK: usize = 64 * 1024;

/// HTTP/1.1 (`proto/h1/conn.rs`):
/// First allocation for a Content-Length body: a peer announcing a large body but
/// sending nothing must not make us reserve all of it.
pub const H1_INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// Access log of rejected HTTP/1.1 requests (`proto/h1/error.rs`):
/// The longest request line kept for the access log of a rejected request: enough for
/// every ordinary URL, small enough that a flood of 8 KiB garbage lines does not
/// become a flood of 8 KiB log lines.
pub const LOGGED_REQUEST_LINE_MAX: usize = 1024;

/// Access log of rejected HTTP/1.1 requests (`proto/h1/error.rs`):
/// The longest User-Agent kept for the access log of a rejected request.
pub const LOGGED_USER_AGENT_MAX: usize = 256;

/// HTTP/2 streams (`proto/h2/streams/mod.rs`):
/// How many recently closed stream ids are remembered (beyond them, a late frame on a
/// closed stream is judged by its id alone).
pub const H2_RECENTLY_CLOSED_STREAMS: usize = 256;

/// HPACK decoder (`proto/h2/hpack/decoder.rs`):
/// Scratch capacity kept between blocks; a larger buffer (one unusually long
/// Huffman-coded string) is released after its block so idle connections stay small.
pub const HPACK_SCRATCH_KEEP: usize = 16 * 1024;

/// TLS session (`tls/session.rs`):
/// Received bytes held for one unfinished unit: rustls joins handshake messages of up
/// to 64 KiB (its own denial-of-service bound), plus one record being read.
pub const TLS_MAX_INCOMING: usize = 0xffff + 16 * 1024 + 2048;

/// TLS (`tls/client_hello.rs`, `tls/session.rs`):
/// Largest ClientHello whose server name is read when it spans several records: its
/// records' payloads are joined as they arrive (besides them, at most the one
/// record still arriving, of at most 16 KiB, is held). Browsers send 0.5-2 KiB, with
/// post-quantum key shares; beyond this the connection has no SNI for the site
/// router, which then routes by `Host` alone, as for a client that sends no SNI.
pub const TLS_MAX_CLIENT_HELLO: usize = 16 * 1024;

/// TLS session (`tls/session.rs`):
/// Encrypted bytes waiting for the socket before `writer()` pushes back: four full
/// records (16 KiB of plaintext each, RFC 8446 §5.1) with the room `tls/session.rs`
/// reserves for each record's overhead (64), so 64 KiB of plaintext, four whole
/// HTTP/2 frames sized to a record each, is taken in one write (rustls's buffered
/// API uses a flat 64 KiB).
pub const TLS_MAX_OUTGOING: usize = 4 * (16 * 1024 + 64);

/// TLS (`tls/policy.rs`):
/// Entries in the server-side session cache (TLS 1.2 session IDs, RFC 5246 section
/// 7.4.1.2, for clients that do not use tickets). One entry is a few hundred bytes, so
/// the cache stays well under 2 MB; when full, the oldest entry is evicted and that
/// client simply does a full handshake. One cache is shared by all workers.
pub const TLS_SESSION_CACHE_ENTRIES: usize = 4096;

/// Driver (`driver/conn.rs`):
/// Read/write rounds one connection may take per loop turn before yielding to others.
pub const DRIVER_ROUNDS_PER_TURN: usize = 16;

/// Driver (`driver/conn.rs`):
/// After an error response we stop writing and drain the peer's input for at most
/// this long before closing, so the kernel does not answer unread data with a RST
/// that could destroy the response in flight (RFC 9112 §9.6). nginx's
/// `lingering_timeout` is 5 s too.
pub const LINGER: Duration = Duration::from_secs(5);

/// Driver (`driver/conn.rs`):
/// Bytes discarded while lingering, at most: enough for a client that sends a whole
/// over-limit upload before reading the 413 (bounded, so a client cannot keep a
/// connection busy forever by streaming).
pub const LINGER_BYTES: usize = 8 * 1024 * 1024;

/// Driver (`driver/transport.rs`):
/// Bytes one connection may write per round, so a fast reader of a large file does
/// not monopolise the worker.
pub const DRIVER_WRITE_PER_ROUND: u64 = 1024 * 1024;

/// Driver (`driver/transport.rs`):
/// Bytes of plain HTTP/2 output sent in one `sendmsg` (DATA frame heads and their
/// file bytes from the file's mapping, rather than a `sendfile` per frame, so that
/// several frames leave together), at most: the write is cut to a whole number of TCP
/// segments within it (`transport::gather_limit`), i.e. one TSO/GSO packet of up to
/// 64 KiB, the largest the kernel builds by default. A file that cannot be mapped is
/// read into the worker's one shared buffer instead, so no connection holds it.
pub const DRIVER_H2C_GATHER: usize = 64 * 1024;

/// Driver (`driver/sys/mapped.rs`):
/// Files a worker keeps mapped to send plain HTTP/2 DATA straight from the page cache
/// (least recently used unmapped first): a site's large files in flight at once. A
/// file mapped again after its eviction faults its pages in again: with 64 distinct
/// 1 MiB files in turn, a table of 16 cost 1.5x the CPU per response of one that held
/// them all (docs/performance.md, "HTTP/2, seventh round"). An entry is a few dozen
/// bytes; a mapping costs address space and the page tables of the pages sent.
pub const DRIVER_MAPPED_FILES: usize = 256;

/// Driver (`driver/sys/mapped.rs`):
/// Largest file mapped, in bytes; larger ones are read with `pread` as over TLS. A
/// mapping costs address space, not memory (its pages are the page cache's), but the
/// pages a worker has sent count in its RSS, which should stay readable.
pub const DRIVER_MAPPED_FILE_MAX: usize = 256 * 1024 * 1024;

/// Driver (`driver/worker.rs`):
/// New connections accepted per listener per loop turn, so a connection storm cannot
/// starve the connections already being served.
pub const DRIVER_ACCEPTS_PER_TURN: usize = 128;

/// Rate limiting (`service/ratelimit.rs`):
/// Clients tracked at most, all shards together. At roughly 50 bytes per entry
/// (key, instant, hash-table overhead) that is about 5 MB: small next to the file
/// cache, yet far more distinct clients than one server meets within a window.
pub const RATE_LIMIT_MAX_TRACKED: usize = 100_000;

/// Open-file cache (`service/files/cache.rs`):
/// Entries per worker (each one an open file descriptor).
pub const FILE_CACHE_MAX_ENTRIES: usize = 1024;

/// Compression pool (`service/files/compress.rs`):
/// Jobs waiting for a thread, process-wide. A job is a descriptor and a few paths.
pub const COMPRESS_POOL_QUEUE: usize = 64;

/// Compression pool (`service/files/compress.rs`):
/// Large variants (temporary files), process-wide, each one descriptor and its disk.
pub const COMPRESS_LARGE_MAX: usize = 32;

/// HTTP/2 decoded request fields (`proto/h2/request.rs`): buffer capacity kept
/// between header blocks. The buffer never exceeds SETTINGS_MAX_HEADER_LIST_SIZE (the
/// decoder stops handing fields over past it); one larger than this, grown by an
/// unusually large block, is released after the block so idle connections stay small.
pub const H2_FIELDS_KEEP: usize = 16 * 1024;

/// HTTP/2 header block memo (`proto/h2/request.rs`, `Fields::remember_block`): the
/// longest block whose octets are kept so that the same block next time reuses its
/// decoded fields. A repeated request's block is a few dozen octets once the dynamic
/// table holds its fields.
pub const H2_BLOCK_MEMO_MAX: usize = 512;

/// HTTP/2 output staging buffer (`proto/h2/conn.rs`): capacity kept between loop
/// turns. A turn's small frames (HEADERS, DATA of small bodies, control frames) are
/// staged in one buffer and queued as one chunk; keeping up to this much lets the next
/// turn reuse the memory instead of growing a new buffer by doublings. A turn that
/// staged more (many responses at once) releases its larger buffer with the chunk.
pub const H2_STAGE_KEEP: usize = 32 * 1024;

/// An HTTP/2 connection with no stream in flight for this long gives its staging and
/// header-block buffers, its stream table and its memory of the previous request's
/// fields back, so a connection that stays open idle holds none of them; a connection that is busy keeps them from turn to turn (a client with
/// requests in flight comes back well within a second).
pub const H2_SCRATCH_RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// HPACK literal octets kept per worker thread (`proto/h2/hpack/literals.rs`): slots,
/// a power of two. A slot is one field never indexed (a file's `etag`,
/// `last-modified`, ...) and its octets: about as many files as a busy site serves
/// at once.
pub const HPACK_LITERAL_SLOTS: usize = 256;

/// HPACK literal octets: the longest field (name and value) kept; at most about
/// 256 x (128 + 110) octets per thread.
pub const HPACK_LITERAL_FIELD_MAX: usize = 128;

/// Spare allocations (`proto/spare.rs`): request header maps a worker thread keeps
/// between requests. A turn over one HTTP/2 connection builds a request per HEADERS
/// frame it read (ten with `h2load -m10`) before answering any, so this covers a
/// busy connection's batch; more at once are allocated as before.
pub const SPARE_MAPS: usize = 16;

/// Spare allocations: the largest header map kept, in fields. A request with more
/// fields than this returns its map to the allocator, so a thread keeps at most
/// `SPARE_MAPS` maps of this size (a few KiB each).
pub const SPARE_MAP_FIELDS: usize = 32;

/// Spare allocations: drained output queues a worker thread keeps, for the next
/// response on a connection whose queue was empty (each a ring of chunk handles, 40
/// octets a chunk).
pub const SPARE_QUEUES: usize = 64;

/// Spare allocations: the largest output queue ring kept, in chunks.
pub const SPARE_QUEUE_CHUNKS: usize = 16;

/// HPACK encoder, per HTTP/2 connection (`proto/h2/hpack/encoder.rs`, `Seen`): a
/// per-response field (`etag`, `last-modified`, `content-length`, ...) sent once is
/// indexed when it comes again within this many such fields sent as literals: one
/// resource fetched again and again is indexed at its second response, a cycle
/// through more than about ten files (three such fields each) never is. A heuristic,
/// not a bound: a client that asks for each file twice in a row (HEAD then GET, a
/// conditional GET after a GET) gets every file's fields indexed, and they then evict
/// each other and the fields that repeat, as under a plain index-everything encoder.
pub const HPACK_SEEN_WINDOW: u64 = 32;

/// HPACK encoder: slots of that memory, a power of two (16 octets each, 512 per
/// connection that sends such a field).
pub const HPACK_SEEN_SLOTS: usize = 32;
