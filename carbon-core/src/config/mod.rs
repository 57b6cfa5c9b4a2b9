//! Carbon's configuration: the `key = value` file format, environment overrides and
//! validation. Every key, its default and its meaning are listed in
//! `docs/configuration.md`; `etc/carbon.conf` is the commented default file.
//!
//! Loading is all-or-nothing: [`Config::load`] either returns a fully validated
//! configuration or every error it found, each naming the file, line and key.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::{Limits, Timeouts};

/// Error-log verbosity (Carbon's `log_mode`; `verbose = true` means `debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    Off,
    Classic,
    Debug,
    Advanced,
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
    pub enable_websocket: bool,
    /// Worker threads; `0` in the file means "number of CPUs" and is resolved at load.
    pub max_threads: usize,
    pub max_connections: usize,
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

    // Static files.
    pub gzip: bool,
    /// Smallest body worth compressing.
    pub gzip_min_length: u64,
    /// Upper bound of the open-file / compressed-variant cache, in bytes, per worker.
    pub file_cache_size: u64,
    /// Files larger than this are not held in memory (Carbon cached up to 10 MB).
    pub file_cache_max_file: u64,
    pub serve_dotfiles: bool,
    pub index_file: String,
    pub error_page_404: Option<PathBuf>,

    // Security headers; an empty value omits that header.
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
}
