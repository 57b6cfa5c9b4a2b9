//! The one table of configuration keys: name, default as written in the file, a
//! one-line meaning, and the setter that parses the value.
//!
//! Parsing, environment overrides and "did you mean" suggestions are all driven by
//! [`KEYS`]; tests check that every key here appears in `etc/carbon.conf` (with this
//! default) and in `docs/configuration.md`, and that each default text parses to
//! [`Config::default`], so the table, the code and the docs cannot drift apart.

use std::time::Duration;

use super::error::ValueError;
use super::pattern;
use super::value::{self, fmt_size};
use super::Config;

/// Settings being assembled, plus the facts that only matter until validation
/// (whether `log_mode`/`listen_address` were given, the raw `verbose`).
#[derive(Debug, Clone)]
pub(super) struct Builder {
    pub cfg: Config,
    pub verbose: bool,
    pub log_mode_given: bool,
    pub listen_address_given: bool,
    /// `max_threads` as written; `0` is resolved to the CPU count at the end.
    pub max_threads_raw: usize,
}

type Setter = fn(&mut Builder, &str) -> Result<(), ValueError>;

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// The key as written in the file; the environment variable is `CARBON_` plus
    /// this in uppercase.
    pub name: &'static str,
    /// The default, spelled as it would be written in the file (empty = unset).
    pub default: &'static str,
    /// One line for `carbond --help-config` style listings.
    pub help: &'static str,
    pub(super) set: Setter,
}

impl KeyDoc {
    /// `CARBON_<NAME>`.
    pub fn env_var(&self) -> String {
        format!("CARBON_{}", self.name.to_ascii_uppercase())
    }
}

/// Looks a key up by its exact (lowercase) name.
pub fn key(name: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.name == name)
}

/// The known key closest to `name`, if it is a plausible typo (edit distance <= 2).
pub fn suggest(name: &str) -> Option<&'static str> {
    const MAX: usize = 2;
    let lower = name.to_ascii_lowercase();
    KEYS.iter()
        // The length difference is a lower bound of the edit distance: skipping keys it
        // already rules out keeps a long unknown key from costing O(len) per known key.
        .filter(|k| k.name.len().abs_diff(lower.len()) <= MAX)
        .filter_map(|k| edit_distance_at_most(&lower, k.name, MAX).map(|d| (d, k.name)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance if it is at most `max`, else `None`; keys are short ASCII, so
/// the O(n*m) table is small. A row whose smallest entry exceeds `max` ends the work:
/// entries never decrease along an edit path, so the distance cannot come back under.
/// (Without the cut-off, a file of many unknown keys cost the config fuzz target most
/// of its time.)
fn edit_distance_at_most(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
        if prev.iter().all(|&d| d > max) {
            return None;
        }
    }
    Some(prev[b.len()]).filter(|&d| d <= max)
}

// Ranges. Each bound says why it is there; they are repeated in docs/configuration.md.

/// Port 0 asks the OS for any free port (tests and socket activation use it).
const PORT_MAX: u64 = 65_535;
/// Each worker owns a poll instance and a connection slab; beyond this it is a typo.
const MAX_THREADS_MAX: u64 = 1024;
const MAX_CONNECTIONS_MIN: u64 = 1;
const MAX_CONNECTIONS_MAX: u64 = 1_000_000;
/// RFC 6797 §6.1.1 max-age is delta-seconds; a u32 already spans 136 years.
const HSTS_MAX: u64 = u32::MAX as u64;
/// Zero would expire every connection at once; a day is longer than any sane stall.
const TIMEOUT_MIN: Duration = Duration::from_millis(1);
const TIMEOUT_MAX: Duration = Duration::from_secs(24 * 3600);
/// Retry-After (RFC 9110 §10.2.3) has whole-second resolution, so shorter windows
/// cannot be told to clients.
const RATE_WINDOW_MIN: Duration = Duration::from_secs(1);
/// Per-window request budgets above this are indistinguishable from "off".
const RATE_LIMIT_MAX: u64 = 10_000_000;
/// The kernel stores the backlog in an unsigned short on older kernels and caps it
/// at `net.core.somaxconn` anyway.
const LISTEN_BACKLOG_MAX: u64 = 65_535;
/// A silent client waits in the kernel, not in a worker, for this long at most before
/// it is accepted anyway (and `request_header_timeout` starts): longer would only
/// hide it from the slot accounting.
const LISTEN_DEFER_ACCEPT_MAX: Duration = Duration::from_secs(60);
/// A balancer's health checks notice a 503 within a few intervals (HAProxy's default
/// `inter` is 2 s); minutes of draining would only delay a deploy.
const DRAIN_PERIOD_MAX: Duration = Duration::from_secs(600);
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

fn timeout(v: &str) -> Result<Duration, ValueError> {
    value::duration(v, TIMEOUT_MIN, TIMEOUT_MAX)
}

fn port(v: &str) -> Result<u16, ValueError> {
    // In range 0..=65535, so the conversion cannot fail.
    value::integer(v, 0, PORT_MAX).map(|n| n as u16)
}

fn boolean(v: &str) -> Result<bool, ValueError> {
    value::boolean(v)
}

/// A size that lands in a `usize` field: on 32-bit targets the range shrinks.
fn size_usize(v: &str, min: u64, max: u64) -> Result<usize, ValueError> {
    let max = max.min(usize::MAX as u64);
    let n = value::size(v, min, max)?;
    usize::try_from(n).map_err(|_| ValueError::OutOfRange {
        value: v.to_owned(),
        range: format!("{}..={}", fmt_size(min), fmt_size(max)),
    })
}

/// The facilities RFC 5424 section 6.2.1 names that a daemon may log under.
pub const SYSLOG_FACILITIES: &[&str] = &[
    "daemon", "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

/// `user` / `group`: a name or a numeric id; empty = not set.
fn account_name(v: &str) -> Result<Option<String>, ValueError> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && v.len() <= 32
    {
        return Ok(Some(v.to_owned()));
    }
    Err(ValueError::Invalid {
        value: v.to_owned(),
        expected: "a user or group name (letters, digits, _ - .) or a numeric id".into(),
    })
}

/// `websocket_*` lists: comma-separated, trimmed, empty entries skipped, each checked.
fn ws_list(v: &str, expected: &str, ok: fn(&str) -> bool) -> Result<Vec<String>, ValueError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if ok(s) {
                Ok(s.to_owned())
            } else {
                Err(ValueError::Invalid {
                    value: s.to_owned(),
                    expected: expected.to_owned(),
                })
            }
        })
        .collect()
}

/// Every key Carbon understands, in the order of `etc/carbon.conf`.
pub const KEYS: &[KeyDoc] = &[
    // Listening.
    KeyDoc {
        name: "port",
        default: "8080",
        help: "HTTP port (0 = any free port)",
        set: |b, v| {
            b.cfg.port = port(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "use_https",
        default: "false",
        help: "also listen for HTTPS on https_port",
        set: |b, v| {
            b.cfg.use_https = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "https_port",
        default: "8443",
        help: "HTTPS port (0 = any free port)",
        set: |b, v| {
            b.cfg.https_port = port(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "server_name",
        default: "127.0.0.1",
        help: "host name announced in redirects; also the bind address when it is an IP",
        set: |b, v| {
            b.cfg.server_name = value::server_name(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "listen_address",
        default: "127.0.0.1",
        help: "addresses to bind, comma-separated (default: server_name if it is an IP, else 127.0.0.1)",
        set: |b, v| {
            b.cfg.listen_addresses = super::listen::ip_addrs(v)?;
            b.cfg.listen_address = b.cfg.listen_addresses[0];
            b.listen_address_given = true;
            Ok(())
        },
    },
    KeyDoc {
        name: "enable_http2",
        default: "true",
        help: "HTTP/2 over TLS: offer ALPN `h2` before `http/1.1`",
        set: |b, v| {
            b.cfg.enable_http2 = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "enable_h2c",
        default: "false",
        help: "HTTP/2 with prior knowledge (h2c) on the plain port",
        set: |b, v| {
            b.cfg.enable_h2c = boolean(v)?;
            Ok(())
        },
    },
    // HTTP/2 bounds and defences (docs/http2.md); the rest of `Http2Limits` keeps
    // its defaults.
    KeyDoc {
        name: "http2_max_concurrent_streams",
        default: "128",
        help: "SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it get REFUSED_STREAM",
        set: |b, v| {
            // RFC 9113 §6.5.2 recommends at least 100; 1 still works, only slowly.
            b.cfg.http2.max_concurrent_streams = value::integer(v, 1, 10_000)? as u32;
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_max_header_list_size",
        default: "64k",
        help: "SETTINGS_MAX_HEADER_LIST_SIZE, enforced while decoding; beyond it 431",
        set: |b, v| {
            b.cfg.http2.max_header_list_size = value::size(v, 4 * KIB, MIB)? as u32;
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_max_request_body",
        default: "1m",
        help: "request body buffered per HTTP/2 stream; beyond it 413",
        set: |b, v| {
            b.cfg.http2.max_request_body = size_usize(v, 0, GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_max_resets_per_window",
        default: "200",
        help: "stream resets per 10 s (rapid reset, MadeYouReset); beyond it GOAWAY(ENHANCE_YOUR_CALM)",
        set: |b, v| {
            b.cfg.http2.max_resets_per_window = value::integer(v, 1, 1_000_000)? as u32;
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_idle_timeout",
        default: "75s",
        help: "an HTTP/2 connection with no stream for this long gets GOAWAY(NO_ERROR)",
        set: |b, v| {
            b.cfg.http2.idle_timeout = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_notsent_lowat",
        default: "64k",
        help: "TCP_NOTSENT_LOWAT on HTTP/2 connections: unsent bytes the kernel queues before the socket takes more; 0 = the sysctl net.ipv4.tcp_notsent_lowat (no limit unless tuned)",
        set: |b, v| {
            b.cfg.http2_notsent_lowat = size_usize(v, 0, 64 * MIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "enable_websocket",
        default: "false",
        help: "WebSocket support (not available in this version yet)",
        set: |b, v| {
            b.cfg.enable_websocket = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_threads",
        default: "0",
        help: "worker threads (0 = one per CPU)",
        set: |b, v| {
            b.max_threads_raw = value::integer(v, 0, MAX_THREADS_MAX)? as usize;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_connections",
        default: "1024",
        help: "concurrent connections, all workers together",
        set: |b, v| {
            b.cfg.max_connections =
                value::integer(v, MAX_CONNECTIONS_MIN, MAX_CONNECTIONS_MAX)? as usize;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_connections_per_ip",
        default: "0",
        help: "open connections per client address, all workers together (0 = off; rate_limit_exempt addresses are exempt)",
        set: |b, v| {
            b.cfg.max_connections_per_ip = value::integer(v, 0, MAX_CONNECTIONS_MAX)? as u32;
            Ok(())
        },
    },
    // Files and TLS material.
    KeyDoc {
        name: "www_path",
        default: "www",
        help: "document root (relative paths are from the working directory)",
        set: |b, v| {
            b.cfg.www_path = value::path(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "ssl_cert_path",
        default: "ssl/cert/cert.pem",
        help: "PEM certificate chain for HTTPS",
        set: |b, v| {
            b.cfg.ssl_cert_path = value::path(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "ssl_key_path",
        default: "ssl/key/key.key",
        help: "PEM private key for HTTPS",
        set: |b, v| {
            b.cfg.ssl_key_path = value::path(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "ssl_sni",
        default: "",
        help: "extra certificate for a server name: name=cert.pem,key.pem (repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                let sni = value::sni_cert(v)?;
                if b.cfg.ssl_sni.iter().any(|s| s.name == sni.name) {
                    return Err(ValueError::Invalid {
                        value: v.to_owned(),
                        expected: format!("a server name not already given (`{}`)", sni.name),
                    });
                }
                b.cfg.ssl_sni.push(sni);
            }
            Ok(())
        },
    },
    KeyDoc {
        name: "redirect_http_to_https",
        default: "false",
        help: "answer plain HTTP with a redirect to HTTPS (needs use_https)",
        set: |b, v| {
            b.cfg.redirect_http_to_https = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "hsts_max_age",
        default: "31536000",
        help: "Strict-Transport-Security max-age in seconds, sent over HTTPS only (0 = off)",
        set: |b, v| {
            b.cfg.hsts_max_age = value::integer(v, 0, HSTS_MAX)?;
            Ok(())
        },
    },
    // Logging.
    KeyDoc {
        name: "log_file",
        default: "",
        help: "error log file (empty, - or stderr = standard error)",
        set: |b, v| {
            b.cfg.log_file = value::log_file(v);
            Ok(())
        },
    },
    KeyDoc {
        name: "log_mode",
        default: "classic",
        help: "error log verbosity: off, classic, debug or advanced",
        set: |b, v| {
            b.cfg.log_mode = value::log_mode(v)?;
            b.log_mode_given = true;
            Ok(())
        },
    },
    KeyDoc {
        name: "verbose",
        default: "false",
        help: "old switch: true means log_mode = debug unless log_mode is given",
        set: |b, v| {
            b.verbose = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "access_log",
        default: "",
        help: "access log file in the combined format (empty = off; syslog = to syslog)",
        set: |b, v| {
            b.cfg.access_log = value::optional_path(v);
            Ok(())
        },
    },
    KeyDoc {
        name: "running",
        default: "true",
        help: "false makes carbond exit at once with a message",
        set: |b, v| {
            b.cfg.running = boolean(v)?;
            Ok(())
        },
    },
    // Timeouts.
    KeyDoc {
        name: "request_header_timeout",
        default: "30s",
        help: "time allowed from a request's first byte to the end of its head",
        set: |b, v| {
            b.cfg.timeouts.request_header = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "request_body_timeout",
        default: "60s",
        help: "time allowed from the end of a request head to the end of its body",
        set: |b, v| {
            b.cfg.timeouts.request_body = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "keep_alive_timeout",
        default: "75s",
        help: "idle time allowed between requests on a kept-alive connection",
        set: |b, v| {
            b.cfg.timeouts.keep_alive = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "write_timeout",
        default: "60s",
        help: "a write that makes no progress for this long closes the connection",
        set: |b, v| {
            b.cfg.timeouts.write = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "tls_handshake_timeout",
        default: "10s",
        help: "time allowed for a TLS handshake",
        set: |b, v| {
            b.cfg.timeouts.tls_handshake = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "shutdown_timeout",
        default: "30s",
        help: "on SIGTERM, time in-flight responses get before workers exit (0 = none)",
        set: |b, v| {
            b.cfg.timeouts.shutdown_drain = value::duration(v, Duration::ZERO, TIMEOUT_MAX)?;
            Ok(())
        },
    },
    // Request limits.
    KeyDoc {
        name: "max_request_line",
        default: "8k",
        help: "longest request line; longer gets 414",
        set: |b, v| {
            b.cfg.limits.max_request_line = size_usize(v, 256, MIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_header_line",
        default: "16k",
        help: "longest header field line; longer gets 431",
        set: |b, v| {
            b.cfg.limits.max_header_line = size_usize(v, 256, MIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_headers_size",
        default: "64k",
        help: "all header lines together; more gets 431",
        set: |b, v| {
            b.cfg.limits.max_headers_size = size_usize(v, KIB, 16 * MIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_headers",
        default: "100",
        help: "number of header fields; more gets 431",
        set: |b, v| {
            b.cfg.limits.max_headers = value::integer(v, 1, 10_000)? as usize;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_body_size",
        default: "1m",
        help: "largest request body; larger gets 413",
        set: |b, v| {
            b.cfg.limits.max_body = size_usize(v, 0, 16 * GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "max_output_queued",
        default: "256k",
        help: "response bytes queued per connection before reading pauses",
        set: |b, v| {
            b.cfg.limits.max_output_queued = size_usize(v, 4 * KIB, GIB)?;
            Ok(())
        },
    },
    // Static files.
    KeyDoc {
        name: "gzip",
        default: "true",
        help: "compress text responses for clients that accept gzip",
        set: |b, v| {
            b.cfg.gzip = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "gzip_min_length",
        default: "256",
        help: "smallest body worth compressing",
        set: |b, v| {
            b.cfg.gzip_min_length = value::size(v, 0, GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "file_cache_size",
        default: "64m",
        help: "memory per worker for cached files and gzip variants (0 = no cache)",
        set: |b, v| {
            b.cfg.file_cache_size = value::size(v, 0, 64 * GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "file_cache_max_file",
        default: "10m",
        help: "files larger than this are never held in memory",
        set: |b, v| {
            b.cfg.file_cache_max_file = value::size(v, 0, GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "gzip_max_file",
        default: "64m",
        help: "files larger than this are never compressed on the fly",
        set: |b, v| {
            // 16 GiB: compressing more than that on one pool thread takes minutes.
            b.cfg.gzip_max_file = value::size(v, 0, 16 * GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "serve_dotfiles",
        default: "false",
        help: "serve files and directories whose name starts with a dot",
        set: |b, v| {
            b.cfg.serve_dotfiles = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "index_file",
        default: "index.html",
        help: "file served for a directory request",
        set: |b, v| {
            b.cfg.index_file = value::file_name(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "error_page_404",
        default: "",
        help: "file served as the body of 404 answers (empty = built-in text)",
        set: |b, v| {
            b.cfg.error_page_404 = value::optional_path_inside_root(v)?;
            Ok(())
        },
    },
    // Security headers.
    KeyDoc {
        name: "early_hints",
        default: "",
        help: "103 Early Hints: PATH LINK entries separated by | (RFC 8297)",
        set: |b, v| {
            b.cfg.early_hints = super::early_hints::parse(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "security_headers",
        default: "true",
        help: "send the header_* security headers below",
        set: |b, v| {
            b.cfg.security_headers = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "header_x_content_type_options",
        default: "nosniff",
        help: "X-Content-Type-Options value (empty = omit)",
        set: |b, v| {
            b.cfg.header_x_content_type_options = value::header_value(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "header_x_frame_options",
        default: "SAMEORIGIN",
        help: "X-Frame-Options value (empty = omit)",
        set: |b, v| {
            b.cfg.header_x_frame_options = value::header_value(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "header_referrer_policy",
        default: "strict-origin-when-cross-origin",
        help: "Referrer-Policy value (empty = omit)",
        set: |b, v| {
            b.cfg.header_referrer_policy = value::header_value(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "header_content_security_policy",
        default: "default-src 'self'",
        help: "Content-Security-Policy value (empty = omit)",
        set: |b, v| {
            b.cfg.header_content_security_policy = value::header_value(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "header_permissions_policy",
        default: "camera=(), microphone=(), geolocation=()",
        help: "Permissions-Policy value (empty = omit)",
        set: |b, v| {
            b.cfg.header_permissions_policy = value::header_value(v)?;
            Ok(())
        },
    },
    // Rate limiting.
    KeyDoc {
        name: "rate_limit",
        default: "500",
        help: "requests allowed per client address per window (0 = off); more get 429",
        set: |b, v| {
            b.cfg.rate_limit = value::integer(v, 0, RATE_LIMIT_MAX)? as u32;
            Ok(())
        },
    },
    KeyDoc {
        name: "rate_limit_window",
        default: "60s",
        help: "the window rate_limit counts over",
        set: |b, v| {
            b.cfg.rate_limit_window = value::duration(v, RATE_WINDOW_MIN, TIMEOUT_MAX)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "rate_limit_exempt",
        default: "127.0.0.0/8, ::1",
        help: "comma-separated addresses or CIDR blocks never rate limited",
        set: |b, v| {
            b.cfg.rate_limit_exempt = value::ip_nets(v)?;
            Ok(())
        },
    },
    // Daemon (read by carbond at start-up; see docs/operations.md).
    KeyDoc {
        name: "daemon",
        default: "false",
        help: "detach from the terminal (like --daemon); foreground is the default",
        set: |b, v| {
            b.cfg.daemon = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "pid_file",
        default: "",
        help: "file holding carbond's process id, locked while it runs (empty = none)",
        set: |b, v| {
            b.cfg.pid_file = value::optional_path(v);
            Ok(())
        },
    },
    KeyDoc {
        name: "user",
        default: "",
        help: "started as root: switch to this user after binding (empty = stay)",
        set: |b, v| {
            b.cfg.user = account_name(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "group",
        default: "",
        help: "started as root: switch to this group (empty = the user's group)",
        set: |b, v| {
            b.cfg.group = account_name(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "allow_root",
        default: "false",
        help: "let carbond serve as root (refused otherwise; set user instead)",
        set: |b, v| {
            b.cfg.allow_root = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "log_target",
        default: "file",
        help: "error log destination: file (log_file, or stderr when empty), stderr or syslog",
        set: |b, v| {
            b.cfg.log_target = match v.to_ascii_lowercase().as_str() {
                "file" => super::LogTarget::File,
                "stderr" => super::LogTarget::Stderr,
                "syslog" => super::LogTarget::Syslog,
                _ => {
                    return Err(ValueError::Invalid {
                        value: v.to_owned(),
                        expected: "file, stderr or syslog".into(),
                    })
                }
            };
            Ok(())
        },
    },
    KeyDoc {
        name: "syslog_facility",
        default: "daemon",
        help: "syslog facility for log_target = syslog and access_log = syslog",
        set: |b, v| {
            let lower = v.to_ascii_lowercase();
            if !SYSLOG_FACILITIES.contains(&lower.as_str()) {
                return Err(ValueError::Invalid {
                    value: v.to_owned(),
                    expected: format!("one of {}", SYSLOG_FACILITIES.join(", ")),
                });
            }
            b.cfg.syslog_facility = lower;
            Ok(())
        },
    },
    // Listeners and workers.
    KeyDoc {
        name: "listen_backlog",
        default: "4096",
        help: "accept queue length per listening socket (capped by net.core.somaxconn)",
        set: |b, v| {
            b.cfg.listen_backlog = value::integer(v, 1, LISTEN_BACKLOG_MAX)? as u32;
            Ok(())
        },
    },
    KeyDoc {
        name: "listen_defer_accept",
        default: "1s",
        help: "hand a new connection to a worker only once its first bytes arrive, waiting at most about this long (TCP_DEFER_ACCEPT; off = at once)",
        set: |b, v| {
            b.cfg.listen_defer_accept = match v.to_ascii_lowercase().as_str() {
                "off" => None,
                _ => Some(value::duration(v, Duration::from_secs(1), LISTEN_DEFER_ACCEPT_MAX)?),
            };
            Ok(())
        },
    },
    KeyDoc {
        name: "worker_cpu_affinity",
        default: "off",
        help: "pin workers to CPUs: off, auto (one CPU each) or a CPU list such as 0,2,4-7",
        set: |b, v| {
            b.cfg.worker_cpu_affinity = super::listen::cpu_affinity(v)?;
            Ok(())
        },
    },
    // Control plane.
    KeyDoc {
        name: "control_socket",
        default: "/run/carbon/carbond.sock",
        help: "Unix socket carbonctl talks to (empty = none)",
        set: |b, v| {
            b.cfg.control_socket = value::optional_path(v);
            Ok(())
        },
    },
    KeyDoc {
        name: "control_group",
        default: "carbon",
        help: "group allowed to use the control socket besides root (empty = root only)",
        set: |b, v| {
            b.cfg.control_group = super::listen::group_name(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "metrics_path",
        default: "",
        help: "serve Prometheus metrics at this path to loopback and rate_limit_exempt clients (empty = off)",
        set: |b, v| {
            b.cfg.metrics_path = super::listen::metrics_path(v)?;
            Ok(())
        },
    },
    // Response headers from the configuration (docs/sites.md).
    KeyDoc {
        name: "hsts_include_subdomains",
        default: "false",
        help: "add includeSubDomains to Strict-Transport-Security",
        set: |b, v| {
            b.cfg.hsts_include_subdomains = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "hsts_preload",
        default: "false",
        help: "add preload to Strict-Transport-Security (needs includeSubDomains, 1 year)",
        set: |b, v| {
            b.cfg.hsts_preload = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "cache_control",
        default: "",
        help: "Cache-Control by path: PATTERNS: VALUE, first match wins (repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                b.cfg.cache_control.push(pattern::cache_rule(v)?);
            }
            Ok(())
        },
    },
    KeyDoc {
        name: "header_add",
        default: "",
        help: "add a response header field: NAME: VALUE (repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                b.cfg.header_add.push(pattern::header_line(v)?);
            }
            Ok(())
        },
    },
    KeyDoc {
        name: "header_set",
        default: "",
        help: "set a response header field, replacing any of that name: NAME: VALUE (repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                b.cfg.header_set.push(pattern::header_line(v)?);
            }
            Ok(())
        },
    },
    KeyDoc {
        name: "header_remove",
        default: "",
        help: "remove a response header field by name (repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                b.cfg.header_remove.push(pattern::header_name(v)?);
            }
            Ok(())
        },
    },
    // Single-page applications.
    KeyDoc {
        name: "spa_fallback",
        default: "",
        help: "file served for GET/HEAD of a missing path, e.g. /index.html (empty = off)",
        set: |b, v| {
            // Written as a URL path (`/index.html`) or relative to www_path: both name
            // a file inside the root, never one elsewhere.
            let rel = v.trim_start_matches('/');
            if rel.is_empty() && !v.is_empty() {
                return Err(ValueError::Invalid {
                    value: v.to_owned(),
                    expected: "a file inside www_path, e.g. /index.html".to_owned(),
                });
            }
            b.cfg.spa_fallback = value::optional_path_inside_root(rel)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "spa_fallback_exclude",
        default: "*.*",
        help: "paths that never fall back: comma-separated patterns (default: names with a dot)",
        set: |b, v| {
            b.cfg.spa_fallback_exclude = pattern::pattern_list(v)?;
            Ok(())
        },
    },
    // Brotli.
    KeyDoc {
        name: "brotli_static",
        default: "true",
        help: "serve a precompressed NAME.br next to a file to clients that accept br",
        set: |b, v| {
            b.cfg.brotli_static = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "brotli",
        default: "false",
        help: "compress text responses with brotli on the fly for clients that accept br",
        set: |b, v| {
            b.cfg.brotli = boolean(v)?;
            Ok(())
        },
    },
    // WebSocket (RFC 6455; see docs/websocket.md).
    KeyDoc {
        name: "websocket_paths",
        default: "",
        help: "comma-separated paths accepting upgrades (an entry ending in / covers the paths below it); empty = every path",
        set: |b, v| {
            b.cfg.websocket.paths = ws_list(v, "a path starting with /", |p| p.starts_with('/'))?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_subprotocols",
        default: "",
        help: "comma-separated subprotocols we speak, preferred first; empty = none",
        set: |b, v| {
            b.cfg.websocket.handshake.subprotocols =
                ws_list(v, "a token (RFC 9110 section 5.6.2)", |p| {
                    p.bytes().all(|c| c.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&c))
                })?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_origins",
        default: "",
        help: "comma-separated origins allowed to connect (scheme://host[:port]); empty = any",
        set: |b, v| {
            b.cfg.websocket.handshake.origins = ws_list(v, "an origin such as https://example.com", |p| {
                (p.starts_with("http://") || p.starts_with("https://")) && !p.ends_with('/')
            })?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_deflate",
        default: "true",
        help: "accept permessage-deflate (RFC 7692) when a client offers it",
        set: |b, v| {
            b.cfg.websocket.handshake.permessage_deflate = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_max_message",
        default: "16m",
        help: "largest message and frame (after inflation); larger closes with 1009",
        set: |b, v| {
            let n = size_usize(v, 125, GIB)?;
            b.cfg.websocket.limits.max_message = n;
            b.cfg.websocket.limits.max_frame = n as u64;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_send_queue",
        default: "1m",
        help: "output queued per WebSocket connection before reading pauses (sends refused past twice it)",
        set: |b, v| {
            b.cfg.websocket.limits.max_send_queue = size_usize(v, 4 * KIB, GIB)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_ping_interval",
        default: "30s",
        help: "silence from a client before we ping it",
        set: |b, v| {
            b.cfg.websocket.limits.ping_interval = timeout(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_reclaim_after",
        default: "10m",
        help: "near max_connections, a session with no message this long may be closed (1001) for a newcomer, after every cheaper connection (off = never)",
        set: |b, v| {
            b.cfg.websocket.reclaim_after = match v.to_ascii_lowercase().as_str() {
                "off" | "never" => None,
                _ => Some(value::duration(v, Duration::from_secs(1), TIMEOUT_MAX)?),
            };
            Ok(())
        },
    },
    KeyDoc {
        name: "websocket_pong_timeout",
        default: "30s",
        help: "no answer this long after our ping closes the connection with 1001",
        set: |b, v| {
            b.cfg.websocket.limits.pong_timeout = timeout(v)?;
            Ok(())
        },
    },
    // Behind a load balancer (docs/scaling.md).
    KeyDoc {
        name: "proxy_protocol",
        default: "off",
        help: "the HTTP listener reads a PROXY protocol v1/v2 header first (needs proxy_protocol_from)",
        set: |b, v| {
            b.cfg.proxy_protocol = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "https_proxy_protocol",
        default: "off",
        help: "the HTTPS listener reads a PROXY protocol v1/v2 header before the TLS handshake",
        set: |b, v| {
            b.cfg.https_proxy_protocol = boolean(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "proxy_protocol_from",
        default: "",
        help: "comma-separated addresses or CIDR blocks allowed to send a PROXY protocol header",
        set: |b, v| {
            b.cfg.proxy_protocol_from = value::ip_nets(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "trusted_proxies",
        default: "",
        help: "peers whose Forwarded / X-Forwarded-For headers name the client (right-most untrusted address)",
        set: |b, v| {
            b.cfg.trusted_proxies = value::ip_nets(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "health_path",
        default: "",
        help: "answer 200 here while serving and 503 once stopping, before rate limiting (empty = off)",
        set: |b, v| {
            b.cfg.health_path = super::listen::metrics_path(v)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "drain_period",
        default: "0s",
        help: "on SIGTERM, keep serving this long with the health path at 503 before stopping",
        set: |b, v| {
            b.cfg.drain_period = value::duration(v, Duration::ZERO, DRAIN_PERIOD_MAX)?;
            Ok(())
        },
    },
    KeyDoc {
        name: "ssl_ticket_key_file",
        default: "",
        help: "file of 80-byte session-ticket keys shared by instances (first seals, all open; empty = per-process keys)",
        set: |b, v| {
            b.cfg.ssl_ticket_key_file = value::optional_path(v);
            Ok(())
        },
    },
    KeyDoc {
        name: "unknown_host",
        default: "default",
        help: "a request for a name no [site] section lists: default (the global site serves it) or refuse (421)",
        set: |b, v| {
            b.cfg.unknown_host = match v.to_ascii_lowercase().as_str() {
                "default" => super::UnknownHost::Default,
                "refuse" => super::UnknownHost::Refuse,
                _ => {
                    return Err(ValueError::Invalid {
                        value: v.to_owned(),
                        expected: "default or refuse".into(),
                    })
                }
            };
            Ok(())
        },
    },
    KeyDoc {
        name: "http2_push",
        default: "",
        help: "HTTP/2 server push for a page: PAGE: RESOURCE... (same-origin paths; repeatable)",
        set: |b, v| {
            if !v.is_empty() {
                super::push::parse_line(v, &mut b.cfg.http2_push)?;
            }
            Ok(())
        },
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn key_names_are_unique_and_lowercase() {
        for (i, k) in KEYS.iter().enumerate() {
            assert!(
                k.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                k.name
            );
            assert!(KEYS[i + 1..].iter().all(|o| o.name != k.name), "{}", k.name);
        }
    }

    #[test]
    fn every_config_key_has_an_env_var() {
        assert_eq!(
            key("keep_alive_timeout").unwrap().env_var(),
            "CARBON_KEEP_ALIVE_TIMEOUT"
        );
    }

    #[test]
    fn suggestions_within_edit_distance_two() {
        assert_eq!(suggest("keepalive_timeout"), Some("keep_alive_timeout"));
        assert_eq!(suggest("prot"), Some("port"));
        assert_eq!(suggest("max_thread"), Some("max_threads"));
        assert_eq!(suggest("PORT"), Some("port"));
        assert_eq!(suggest("completely_unrelated"), None);
    }

    #[test]
    fn edit_distance_basics() {
        let edit_distance = |a, b| edit_distance_at_most(a, b, usize::MAX).unwrap();
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("port", "prot"), 2);
    }

    #[test]
    fn edit_distance_cut_off_agrees_with_the_full_table() {
        let words = [
            "",
            "a",
            "port",
            "prot",
            "ports",
            "sport",
            "max_threads",
            "kitten",
            "sitting",
        ];
        for a in words {
            for b in words {
                let full = edit_distance_at_most(a, b, usize::MAX).unwrap();
                for max in 0..4 {
                    let want = Some(full).filter(|&d| d <= max);
                    assert_eq!(edit_distance_at_most(a, b, max), want, "{a:?} {b:?} {max}");
                }
            }
        }
    }
}
