//! Carbon's configuration: the `key = value` file format, environment overrides and
//! validation. Every key, its default and its meaning are listed in
//! `docs/configuration.md`; `etc/carbon.conf` is the commented default file.
//!
//! Loading is all-or-nothing: [`Config::load`] either returns a fully validated
//! configuration or every error it found, each naming the file, line and key.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::limits::{Http2Limits, Limits, Timeouts};

pub mod early_hints;
mod env;
mod error;
mod ipnet;
mod keys;
mod listen;
mod load;
mod parse;
mod pattern;
pub mod push;
mod site;
mod value;

#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod site_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests;

pub use error::{ConfigError, ConfigErrors, ErrorKind, Origin, ValueError};
pub use ipnet::IpNetParseError;
pub use keys::{key, suggest, KeyDoc, KEYS};
pub use listen::CpuAffinity;
pub use pattern::{any_matches, CacheRule, HeaderLine, PathPattern};
pub use site::{is_site_key, Site, UnknownHost, SITE_KEYS};

/// Error-log verbosity (Carbon's `log_mode`; `verbose = true` means `debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    Off,
    Classic,
    Debug,
    Advanced,
}

/// Where the error log goes (`log_target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// `log_file`, or standard error when it is empty.
    File,
    Stderr,
    Syslog,
}

/// An address or CIDR block, for `rate_limit_exempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// An extra SNI certificate: `server name = cert, key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniCert {
    pub name: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The validated configuration. Field names are the config keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this was loaded from, for messages.
    pub source: Option<PathBuf>,

    // Carbon's documented keys.
    pub port: u16,
    pub use_https: bool,
    pub https_port: u16,
    /// Host name announced and, when it is an address, bound.
    pub server_name: String,
    /// Address the listeners bind (key `listen_address`; default: `server_name` when it
    /// parses as an IP address, else 127.0.0.1).
    pub listen_address: IpAddr,
    pub enable_http2: bool,
    /// HTTP/2 with prior knowledge on the plain port (h2c, RFC 9113 §3.3).
    pub enable_h2c: bool,
    /// `TCP_NOTSENT_LOWAT` on HTTP/2 connections, in bytes; 0 leaves the kernel's
    /// (`driver/sys/sockopt.rs`).
    pub http2_notsent_lowat: usize,
    pub enable_websocket: bool,
    /// Worker threads; `0` in the file means "number of CPUs" and is resolved at load.
    pub max_threads: usize,
    pub max_connections: usize,
    /// Open connections per client (IPv4 address or IPv6 /64); `0` = no limit.
    /// Addresses in `rate_limit_exempt` are not counted.
    pub max_connections_per_ip: u32,
    pub www_path: PathBuf,
    pub ssl_cert_path: PathBuf,
    pub ssl_key_path: PathBuf,
    /// `None` = standard error.
    pub log_file: Option<PathBuf>,
    pub log_mode: LogMode,
    pub running: bool,

    // HTTPS behaviour.
    pub ssl_sni: Vec<SniCert>,
    pub redirect_http_to_https: bool,
    /// Seconds; 0 disables `Strict-Transport-Security`.
    pub hsts_max_age: u64,

    // Access log in the combined format; `None` = off.
    pub access_log: Option<PathBuf>,

    pub timeouts: Timeouts,
    pub limits: Limits,
    /// HTTP/2 bounds and defences (`docs/http2.md`).
    pub http2: Http2Limits,

    // Static files.
    pub gzip: bool,
    /// Smallest body worth compressing.
    pub gzip_min_length: u64,
    /// Upper bound of the open-file / compressed-variant cache, in bytes, per worker.
    pub file_cache_size: u64,
    /// Files larger than this are not held in memory (Carbon cached up to 10 MB).
    pub file_cache_max_file: u64,
    /// Files larger than this are never compressed on the fly; between
    /// `file_cache_max_file` and this, the variant is made into a temporary file.
    pub gzip_max_file: u64,
    pub serve_dotfiles: bool,
    pub index_file: String,
    pub error_page_404: Option<PathBuf>,

    // Security headers; an empty value omits that header.
    /// `103 Early Hints` (RFC 8297) per path; empty = none are sent.
    pub early_hints: Vec<early_hints::EarlyHint>,
    pub security_headers: bool,
    pub header_x_content_type_options: String,
    pub header_x_frame_options: String,
    pub header_referrer_policy: String,
    pub header_content_security_policy: String,
    pub header_permissions_policy: String,

    // Per-IP rate limiting; `rate_limit = 0` turns it off.
    pub rate_limit: u32,
    pub rate_limit_window: Duration,
    pub rate_limit_exempt: Vec<IpNet>,

    // Daemon (carbond only; read at start-up).
    pub daemon: bool,
    pub pid_file: Option<PathBuf>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub allow_root: bool,
    pub log_target: LogTarget,
    /// Lowercase, one of `keys::SYSLOG_FACILITIES`.
    pub syslog_facility: String,

    // Listeners and workers.
    /// Every address to bind (key `listen_address`, a list); `listen_address` above is
    /// the first of them.
    pub listen_addresses: Vec<IpAddr>,
    /// Accept queue length per listening socket (the kernel caps it at
    /// `net.core.somaxconn`). It also bounds the handshakes waiting for their first
    /// bytes under `listen_defer_accept`: a burst past it gets SYN cookies, which
    /// cost those connections their TCP options (docs/performance.md).
    pub listen_backlog: u32,
    /// `TCP_DEFER_ACCEPT`: a new connection is handed to a worker once its first bytes
    /// arrive, waiting at most about this long for them; `None` = at once.
    pub listen_defer_accept: Option<Duration>,
    pub worker_cpu_affinity: CpuAffinity,

    // Control plane.
    /// The control socket carbonctl talks to; `None` = no control socket.
    pub control_socket: Option<PathBuf>,
    /// Group allowed to use the control socket (besides root); empty = only root and
    /// the user carbond runs as.
    pub control_group: String,
    /// Path answering with the Prometheus text format to loopback and
    /// `rate_limit_exempt` clients; `None` = off.
    pub metrics_path: Option<String>,

    // Response headers from the configuration (see docs/sites.md).
    /// `Strict-Transport-Security: ...; includeSubDomains`.
    pub hsts_include_subdomains: bool,
    /// `Strict-Transport-Security: ...; preload` (needs the two above, checked).
    pub hsts_preload: bool,
    /// `Cache-Control` by path; the first rule that matches wins.
    pub cache_control: Vec<CacheRule>,
    /// Appended to every response of the file service.
    pub header_add: Vec<HeaderLine>,
    /// Replace any field of the same name (the security headers included).
    pub header_set: Vec<HeaderLine>,
    /// Removed from every response of the file service.
    pub header_remove: Vec<http::HeaderName>,

    // Single-page applications.
    /// Served (200) for a GET/HEAD of a path that does not exist; relative to
    /// `www_path`. `None` = off.
    pub spa_fallback: Option<PathBuf>,
    /// Paths that never fall back (they look like asset files).
    pub spa_fallback_exclude: Vec<PathPattern>,

    // Brotli.
    /// Serve a `.br` sibling to clients that accept br.
    pub brotli_static: bool,
    /// Compress with brotli on the fly (cached like gzip variants).
    pub brotli: bool,
    // WebSocket (`websocket_*` keys; used when `enable_websocket` is on).
    pub websocket: crate::service::ws::WsSettings,

    // Behind a load balancer (docs/scaling.md).
    /// The HTTP listener expects a PROXY protocol header on every connection.
    pub proxy_protocol: bool,
    /// The HTTPS listener expects a PROXY protocol header (before the TLS handshake).
    pub https_proxy_protocol: bool,
    /// Peers allowed to send a PROXY protocol header; others are closed.
    pub proxy_protocol_from: Vec<IpNet>,
    /// Direct peers whose `Forwarded`/`X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Answered 200 while serving, 503 once a stop (or its drain) has begun, before
    /// rate limiting and file work; `None` = off.
    pub health_path: Option<String>,
    /// On SIGTERM, keep serving this long (health 503, `Connection: close`) first.
    pub drain_period: Duration,
    /// Session-ticket keys shared by the instances behind one balancer.
    pub ssl_ticket_key_file: Option<PathBuf>,

    // Virtual hosts (docs/sites.md).
    /// The `[site ...]` sections, in file order; empty: one site, the global one.
    pub sites: Vec<Site>,
    /// A host no section names: the global site serves it, or 421.
    pub unknown_host: UnknownHost,
    /// HTTP/2 server push (RFC 9113 §8.4) per page; empty = off.
    pub http2_push: Vec<push::PushRule>,
}

/// Worker threads when `max_threads = 0`: one per CPU the process may use. If the OS
/// cannot tell, one worker still serves.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The defaults of `etc/carbon.conf`; `max_threads` holds the resolved CPU count.
impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            port: 8080,
            use_https: false,
            // Carbon fixed HTTPS at 443, which needs root; 8443 pairs with 8080.
            https_port: 8443,
            server_name: "127.0.0.1".to_owned(),
            listen_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            // On wherever TLS is on, like nginx's and h2o's defaults (ALPN picks).
            enable_http2: true,
            // Off: prior-knowledge h2c is for tests, benchmarks and proxies on a
            // trusted link; nginx and h2o do not offer it on a port by default.
            enable_h2c: false,
            http2_notsent_lowat: 64 * 1024,
            enable_websocket: false,
            max_threads: default_threads(),
            max_connections: 1024,
            max_connections_per_ip: 0,
            www_path: PathBuf::from("www"),
            ssl_cert_path: PathBuf::from("ssl/cert/cert.pem"),
            ssl_key_path: PathBuf::from("ssl/key/key.key"),
            log_file: None,
            log_mode: LogMode::Classic,
            running: true,
            ssl_sni: Vec::new(),
            redirect_http_to_https: false,
            // One year: the minimum the HSTS preload list accepts.
            hsts_max_age: 31_536_000,
            access_log: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            http2: Http2Limits::default(),
            gzip: true,
            // Below a few hundred bytes the gzip header and trailer eat the gain.
            gzip_min_length: 256,
            file_cache_size: 64 * 1024 * 1024,
            file_cache_max_file: 10 * 1024 * 1024,
            gzip_max_file: 64 * 1024 * 1024,
            serve_dotfiles: false,
            index_file: "index.html".to_owned(),
            error_page_404: None,
            early_hints: Vec::new(),
            security_headers: true,
            header_x_content_type_options: "nosniff".to_owned(),
            header_x_frame_options: "SAMEORIGIN".to_owned(),
            header_referrer_policy: "strict-origin-when-cross-origin".to_owned(),
            header_content_security_policy: "default-src 'self'".to_owned(),
            header_permissions_policy: "camera=(), microphone=(), geolocation=()".to_owned(),
            rate_limit: 500,
            rate_limit_window: Duration::from_secs(60),
            // Loopback is exempt by default: a local reverse proxy or health checker
            // speaks for many clients from one address and must not be limited as one.
            rate_limit_exempt: vec![
                IpNet {
                    addr: IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)),
                    prefix: 8,
                },
                IpNet {
                    addr: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
            daemon: false,
            pid_file: None,
            user: None,
            group: None,
            allow_root: false,
            log_target: LogTarget::File,
            syslog_facility: "daemon".to_owned(),
            listen_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            // The value Carbon has always used; nginx uses 511.
            listen_backlog: 4096,
            listen_defer_accept: Some(Duration::from_secs(1)),
            worker_cpu_affinity: CpuAffinity::Off,
            control_socket: Some(PathBuf::from("/run/carbon/carbond.sock")),
            control_group: "carbon".to_owned(),
            metrics_path: None,
            hsts_include_subdomains: false,
            hsts_preload: false,
            cache_control: Vec::new(),
            header_add: Vec::new(),
            header_set: Vec::new(),
            header_remove: Vec::new(),
            spa_fallback: None,
            // A last segment with a dot looks like a file (app.3f2a.js, logo.png): a
            // missing one is a broken link, and HTML in its place breaks the page.
            spa_fallback_exclude: vec![PathPattern::last_segment_has_dot()],
            brotli_static: true,
            brotli: false,
            websocket: crate::service::ws::WsSettings {
                handshake: crate::proto::ws::handshake::HandshakeConfig {
                    permessage_deflate: true,
                    ..Default::default()
                },
                reclaim_after: Some(crate::limits::WS_RECLAIM_AFTER),
                ..Default::default()
            },
            proxy_protocol: false,
            https_proxy_protocol: false,
            proxy_protocol_from: Vec::new(),
            trusted_proxies: Vec::new(),
            health_path: None,
            drain_period: Duration::ZERO,
            ssl_ticket_key_file: None,
            sites: Vec::new(),
            unknown_host: UnknownHost::Default,
            http2_push: Vec::new(),
        }
    }
}

/// Keys accepted by the parser for capabilities that are still being built: each
/// pair is (key, why). Loading fails while any of them is switched on. When a
/// capability lands, delete its line here; nothing else needs to change.
pub fn unavailable_features(cfg: &Config) -> Vec<(&'static str, &'static str)> {
    // None at the moment: WebSocket (the last one) runs in the driver now.
    let _ = cfg;
    Vec::new()
}

impl Config {
    /// Reads `path`, applies `CARBON_<KEY>` variables from the process environment
    /// and validates. On failure the error lists every problem found, one per line,
    /// each naming the file and line or the variable; a file that cannot be read is
    /// one such error. Relative paths in the result are kept as written: they are
    /// relative to the working directory of the process, as in Carbon.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let (cfg, errors) = Config::load_lenient(path)?;
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// [`Config::load`] for callers that report every problem in one pass: when the
    /// file can be read, returns the configuration built from every valid value
    /// (defaults where a value was refused) together with every error found (empty
    /// when the file is valid). Checks that need the file system (directories, TLS
    /// files) can then run on it, skipping keys named in the errors. Only an unreadable
    /// file is an `Err`.
    pub fn load_lenient(path: &Path) -> Result<(Config, ConfigErrors), ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line: None,
                },
                key: None,
                kind: ErrorKind::Unreadable(e.to_string()),
            }])
        })?;
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Ok(load::load_lenient(path, &text, &env))
    }

    /// [`Config::load`] without touching the file system or the process environment:
    /// `text` is the file's content, `path` is only used in messages, and `env` stands
    /// for the environment (only `CARBON_*` entries are looked at).
    pub fn load_from(
        path: &Path,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Config, ConfigErrors> {
        load::load_from(path, text, env)
    }

    /// Parses configuration text with no environment overrides; messages name the
    /// file `<text>`. Meant for tests of other modules.
    pub fn from_text(text: &str) -> Result<Config, ConfigErrors> {
        Config::load_from(Path::new("<text>"), text, &[])
    }

    /// One line for `carbond --check-config` and the start-up log, e.g.
    /// `listening on 127.0.0.1:8080 (http), serving /srv/www with 2 workers, max 1024
    /// connections`.
    pub fn summary(&self) -> String {
        let mut listen = String::new();
        for (i, &addr) in self.listen_addresses.iter().enumerate() {
            if i > 0 {
                listen.push_str(", ");
            }
            listen.push_str(&format!("{} (http)", SocketAddr::new(addr, self.port)));
            if self.use_https {
                let https = SocketAddr::new(addr, self.https_port);
                listen.push_str(&format!(" and {https} (https)"));
            }
        }
        // Shown absolute so the operator sees which directory a relative path meant.
        let www = if self.www_path.is_absolute() {
            self.www_path.clone()
        } else {
            std::env::current_dir()
                .map(|d| d.join(&self.www_path))
                .unwrap_or_else(|_| self.www_path.clone())
        };
        let workers = if self.max_threads == 1 {
            "worker"
        } else {
            "workers"
        };
        let sites = match self.sites.len() {
            0 => String::new(),
            1 => " and 1 [site] section".to_owned(),
            n => format!(" and {n} [site] sections"),
        };
        format!(
            "listening on {listen}, serving {}{sites} with {} {workers}, max {} connections",
            www.display(),
            self.max_threads,
            self.max_connections
        )
    }
}
